/*
 * Excel import of the observation list (import.c, docs/cases.md "Import
 * and export"): private to case/, used by import_api.c and cli.c.
 */
#ifndef FK_CASE_IMPORT_H
#define FK_CASE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

#define CASE_IMPORT_SHEET    "观察对象"
#define CASE_IMPORT_MAX_ROWS 100000

/* The template, written to an unlinked temporary file: *fd_r at offset 0. */
err case_import_template(int *fd_r, int64_t *size_r) MUST_USE;

/* The upload's structure (the reader's caps, the sheet, the header, at
 * least one data row) before a job is queued; *rows_r the data rows. */
err case_import_check(const void *data, size_t n, long *rows_r) MUST_USE;

/* Queue the job (the bytes are copied); without a worker it runs here.
 * rows: case_import_check's count, for the progress bar. */
err case_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                       size_t n, long rows, bool dry_run, bool update) MUST_USE;

/* The row error report: job/import.h (import_report_path), served by
 * GET /api/v1/jobs/{id}/errors.xlsx (job/api.c). */

#endif

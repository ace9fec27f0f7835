/*
 * Export jobs (docs/cases.md "Exports"): a list's export written by a
 * background thread with its own database connection to a file under
 * <data dir>/exports/, so an export of a million rows never holds an event
 * loop, and downloaded when done (GET /api/v1/jobs/{id}/file). The rows
 * come from the list's export source (http/export.h): its own filter
 * parser, its page walk in the principal's scope, its one row writer.
 *
 * The finished file is also stored in the database (job/export_store.h)
 * before the job reads done, so any server serves the download; the file
 * on disk is this server's copy. Both are removed FK_EXPORT_KEEP seconds
 * after the job ended (the purges run every FK_EXPORT_PURGE seconds: the
 * database's once across servers, each server's own copies on its own
 * thread) and when their job is deleted.
 */
#ifndef FK_JOB_EXPORT_H
#define FK_JOB_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "http/export.h"
#include "security/auth.h"

#define EXPORT_KEEP_DEFAULT  86400 /* s: a day */
#define EXPORT_PURGE_DEFAULT 600   /* s */

/*
 * Where the files go (<data_dir>/exports, created 0700) and how long they
 * stay; call before the server starts. Then start the worker and the purge
 * (purge_s 0: no purge thread). E_IO when the directory cannot be made,
 * E_DB, E_INTERNAL.
 */
void export_jobs_configure(const char *data_dir, int keep_s);
err export_jobs_start(const char *db_url, int purge_s) MUST_USE;
void export_jobs_stop(void);

/*
 * Queue job `job_id` (created by the caller, kind src->kind): the list's
 * filters (a JSON object, already checked with src->parse), the format and
 * whether names are revealed. `ip` goes in the audit entry of its end.
 * E_UNAVAILABLE when the queue is full; without a worker (tools) it runs
 * here.
 */
err export_job_submit(db *d, int64_t job_id, const struct principal *who, const char *ip,
                      const struct export_source *src, const char *filters, enum export_format fmt,
                      bool reveal) MUST_USE;

/* The finished file of job_id in format fmt. */
void export_job_path(int64_t job_id, enum export_format fmt, char out[600]);

/* Remove job_id's files (its job is deleted). */
void export_job_remove_files(int64_t job_id);

/* The purge's run: files older than the keep time removed; *n_r how many. */
err export_jobs_purge(int64_t now_ms, int64_t *n_r) MUST_USE;

#endif

/*
 * The machinery every spreadsheet import job shares (the observation list,
 * docs/cases.md "Import and export"; the hotline tickets, docs/hotline.md):
 *
 *   - reading an upload, xlsx or CSV, row by row through one callback
 *     (import_read: a CSV record is handed over as cells of text, so a
 *     row parser serves both formats);
 *   - the rows that failed, kept with their cells and their marks (the
 *     column at fault and why) for the error report, in bounded memory
 *     (only failed rows are ever copied);
 *   - the error report: the failed rows in row order as a workbook with
 *     the cells at fault marked, kept a day under a path per job id, served
 *     by GET /api/v1/jobs/{id}/errors.xlsx (job/api.c);
 *   - a failed job's result, and the one worker thread (with its own
 *     connection) that runs queued import jobs off the event loops.
 *
 * What a row means, and how it is written, stays the importer's.
 */
#ifndef FK_JOB_IMPORT_H
#define FK_JOB_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/xlsx.h"
#include "db/db.h"
#include "security/auth.h"

/* ---- reading ------------------------------------------------------------------------ */

/*
 * Read an upload: a workbook (sheet `sheet`, limits `lim`, errors as
 * xlsx_read_buffer) or, when `csv`, RFC 4180 text whose records are handed
 * to fn as cells of type XLSX_STRING (XLSX_EMPTY for an empty field), the
 * record's line as the row number. A CSV past lim->max_rows records is
 * E_INPUT "too_many_rows"; a malformed record (csv.h's refusals) or text
 * that is not UTF-8 is E_INPUT "invalid_csv" naming its line.
 */
err import_read(const void *data, size_t n, bool csv, const char *sheet,
                const struct xlsx_limits *lim, xlsx_row_fn fn, void *ctx) MUST_USE;

/* ---- failed rows -------------------------------------------------------------------- */

#define IMPORT_MARKS_MAX 6

struct import_mark {
    int col; /* 0-based column at fault; -1: the row as a whole */
    const char *msg;
};

struct import_failed {
    long row;
    size_t n;
    struct xlsx_cell *cells; /* copies */
    int nmarks;
    struct import_mark marks[IMPORT_MARKS_MAX];
};

/* The failed rows of one job. Zero-initialise with the arena the copies
 * live in (owned by the caller); import_failures_free frees the array. */
struct import_failures {
    arena *a;
    struct import_failed *v;
    size_t n, cap;
};

/* Keep row `row`: its cells and marks are copied into f->a. E_NOMEM. */
err import_failures_keep(struct import_failures *f, long row, const struct xlsx_cell *cells,
                         size_t n, const struct import_mark *marks, int nmarks) MUST_USE;

/* Sort the kept rows by row number (passes that keep out of order). */
void import_failures_sort(struct import_failures *f);

/* Free the array (not the arena). */
void import_failures_free(struct import_failures *f);

/* ---- the report ------------------------------------------------------------------------ */

/* Where the error report of job_id is kept (a day). */
void import_report_path(int64_t job_id, char out[600]);

/* Remove reports older than a day (each worker run calls it). */
void import_reports_prune(void);

/*
 * Write f's rows as the report of job_id: sheet `sheet`, a column 行号,
 * the template's ncols columns `heads` with the marked cells in red and
 * their message as a comment, and a column 错误说明 with every message.
 * E_IO, E_NOMEM.
 */
err import_report_write(int64_t job_id, const char *sheet, const char *const *heads, int ncols,
                        const struct import_failures *f) MUST_USE;

/*
 * An import's template, to a temporary file (*fd_r, *size_r): one sheet
 * `sheet` with the n column heads (bold), a row of hints under them (NULL
 * hints: none) and the columns' widths (NULL: 24 each).
 */
err import_template(const char *sheet, const char *const *heads, const char *const *hints,
                    const double *widths, size_t n, int *fd_r, int64_t *size_r) MUST_USE;

/*
 * A row's cells as n columns into out[0..n): the row's, then empty ones for
 * columns it does not reach, each with its column set. Whether all are
 * empty (a blank row).
 */
bool import_cells(const struct xlsx_cell *cells, size_t have, struct xlsx_cell *out, size_t n);

/* ---- the job ------------------------------------------------------------------------------ */

/* Mark job_id failed with e's slug and message as its result, and log it
 * under `kind`. */
void import_job_fail(db *d, int64_t job_id, const char *kind, err e);

/* The audit entry of an import job by its uploader, in the job's
 * transaction (so it commits with the rows): action on ("job", job id). */
struct import_upload;
err import_job_audit(db *d, const struct import_upload *j, const char *action,
                     const char *detail) MUST_USE;

/* The failed rows, sorted, as the job's error report: true when one was
 * written (a failure to write it is logged; the job still succeeds). */
bool import_report_done(int64_t job_id, const char *sheet, const char *const *heads, int ncols,
                        struct import_failures *f);

/* Mark the job done with `result` (taken) after `total` rows. */
void import_job_done(db *d, int64_t job_id, int64_t total, json_t *result);

/*
 * An upload's job: who uploaded what, and what the upload's check in the
 * request found. The importers' own options ride in `ref` and `opt`.
 */
struct import_upload {
    int64_t job_id;
    struct principal who;
    const void *data; /* the file (NULL, 0: a job without one, the hotline's rematch) */
    size_t n;
    bool csv;     /* else xlsx */
    bool dry_run; /* every row checked, nothing written */
    long rows;    /* data rows, from the upload's check */
    int64_t ref;  /* what the rows go into (a historical round) */
    unsigned opt; /* the importer's flags (the observation list: update) */
};

/*
 * The import worker: one thread with its own connection to db_url, running
 * queued jobs in order (at most 16 waiting). import_upload_submit queues
 * run(d, u) on it with a copy of *u and of its file (the request's body
 * dies with the request), freed after run; with no worker (tools, unit
 * tests) or a full queue it runs here, on d, before it returns. E_NOMEM.
 */
err import_worker_start(const char *db_url) MUST_USE;
void import_worker_stop(void);
err import_upload_submit(db *d, const struct import_upload *u,
                         void (*run)(db *d, const struct import_upload *u)) MUST_USE;

/* ---- the upload's request (job/api.c) ------------------------------------------------------
 *
 * Every import handler reads its body (req_raw_body), checks the whole
 * file in the request (whole-file faults answer 400 before any job
 * exists), then accepts it: a job and the upload's audit entry committed
 * together, the rows queued with import_upload_submit, and 202
 * {job_id, rows}.
 */
struct req;

/* ?format=xlsx|csv: xlsx when absent, or with `sniff` CSV when the body is
 * not a zip. E_INPUT "invalid_parameter" (field format) otherwise. */
err import_format(struct req *r, bool sniff, bool *csv_r) MUST_USE;

struct import_accept {
    const char *action;        /* a refusal's audit action ("trace.trip.import") */
    const char *queued_action; /* the accepted upload's ("trace.trip.import_upload") */
    const char *kind;          /* the job's kind ("trace.trip_import") */
    const char *object_type;   /* a refusal's object; NULL: "job" */
    int64_t object_id;
};

/*
 * `e` is the outcome of the handler's parameters and check: when set, the
 * refusal is audited (detail "bytes=N") and returned. Otherwise the job is
 * created and the upload audited (detail "bytes=N rows=R" then `more`,
 * e.g. " csv dry_run") in one commit; *job_r is its id.
 */
err import_accept(struct req *r, err e, const struct import_accept *a, size_t n, long rows,
                  const char *more, int64_t *job_r) MUST_USE;

/* 202 {job_id, rows} and the members of `extra` (taken; NULL for none). */
err import_accepted(struct req *r, int64_t job, long rows, json_t *extra) MUST_USE;

/* ---- a template's rows: header, hints, data (every template import) ------------------------
 *
 * Every import reads a file made from its template (import_template): the
 * first row with a value is the template's header, the row under it may be
 * the hints row, then come the data rows. import_header is that reading for
 * all of them; an import whose rows go one by one into one transaction
 * (the trips, the employees, the cameras) also takes its check and its job
 * from here (import_kind_check, import_kind_run) and writes only its row.
 */
struct import_run;

struct import_kind {
    const char *sheet;        /* the template's sheet, and the error report's */
    const char *title;        /* the template's name in messages: "出行记录" */
    const char *rows_name;    /* what its rows are, for an empty file: "出行记录" */
    const char *const *heads; /* the header row */
    const char *const *hints; /* the hints row; hints[0] identifies it in column 0 */
    int ncols;                /* columns of heads and hints */
    int min_cols;             /* cells a header row has at least */
    int key1, key2;           /* the columns whose header texts identify the template */
    /* for import_kind_check and import_kind_run */
    long max_rows;         /* data rows at most (the limits add the header and hints) */
    bool skip_blank;       /* a row with every cell empty is not a data row */
    int progress_every;    /* rows between two progress updates of the job */
    const char *action;    /* the audit action of the job ("trace.trip.import") */
    const char *fail_kind; /* the kind import_job_fail logs ("trace.trip_import") */
    /* write one data row in the job's transaction: st->written++ when it
     * was, a failed row kept in st->fail (and E_OK); an error ends the job */
    err (*row)(struct import_run *st, long row, const struct xlsx_cell *cells, size_t n);
};

/* Where a file's reading is: past its header (and which row that was). */
struct import_header {
    bool ok;    /* the header was read */
    bool hints; /* the hints row was seen */
    long row;   /* the header's row */
};

/*
 * Row `row` of a file of kind k (csv: a CSV upload): E_INPUT "invalid_csv" or
 * "invalid_xlsx" (naming the row and the template) when the first row with a
 * value is not k's header; otherwise *data_r says whether it is a data row
 * (false for the header and the hints row).
 */
err import_header(const struct import_kind *k, struct import_header *h, bool csv, long row,
                  const struct xlsx_cell *cells, size_t n, bool *data_r) MUST_USE;

/* One run of a file of kind k: the check in the request, or the job. */
struct import_run {
    const struct import_kind *k;
    struct import_header h;
    bool csv, check_only;
    long data_rows;
    struct import_failures fail;
    arena *ra; /* one row's, reset between rows */
    db *d;
    int64_t job_id;
    const struct principal *who;
    void *ctx; /* the importer's (the employees: their enterprise) */
    size_t written;
    err fatal;
};

/* The check in the request: the file read whole, its data rows counted into
 * *rows_r; E_INPUT "empty" when there is none, the reading's errors. */
err import_kind_check(const struct import_kind *k, const void *data, size_t n, bool csv,
                      long *rows_r) MUST_USE;

/*
 * The job of upload j (on the import worker): every data row through
 * k->row in one transaction, committed with the audit entry k->action
 * (detail: `detail_prefix`, then "total=… written=… failed=…"), the failed
 * rows as the error report, the job marked done with {total, written,
 * failed, report}; or failed as a whole (k->fail_kind), nothing written.
 */
void import_kind_run(db *d, const struct import_upload *j, const struct import_kind *k, void *ctx,
                     const char *detail_prefix);

#endif

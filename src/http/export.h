/*
 * Exports of a list as CSV or as an Excel workbook, written once for every
 * list (docs/api.md: lists take format=csv or format=xlsx). A list handler
 * reads `format` with req_export_format, then writes its rows cell by cell
 * through one row function that serves both formats:
 *
 *     struct export_out x;
 *     static const char *const head[] = {"编号", "姓名", "开始时间"};
 *     if ((e = export_begin(r, &x, fmt, "任务", head, 3)))
 *         return e;
 *     for (...) {
 *         export_int(&x, t->id);
 *         export_text(&x, reveal ? name : mask_name(r->a, name));
 *         export_time(&x, t->created_at);
 *         export_row_end(&x);
 *     }
 *     return export_send(&x, e, "tasks");    // tasks.csv or tasks.xlsx
 *
 * CSV is built in the request's arena (reply_csv: UTF-8 with BOM, formulas
 * defused). A workbook is written in constant memory to a temporary file
 * (base/xlsx.h) and sent from it (reply_file), so a list streamed page by
 * page (the observation list) costs flat memory however long it is. Both
 * neutralise cells beginning with = + - @ (csv_formula_risk).
 */
#ifndef FK_HTTP_EXPORT_H
#define FK_HTTP_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/xlsx.h"
#include "http/http.h"
#include "security/rbac.h"

enum export_format { EXPORT_NONE = 0, EXPORT_CSV, EXPORT_XLSX };

/*
 * The query's `format`: absent or "json" is EXPORT_NONE (the JSON page),
 * "csv" or "xlsx" an export. Anything else: E_INPUT "invalid_parameter" on
 * field "format".
 */
err req_export_format(struct req *r, enum export_format *f_r) MUST_USE;

/*
 * The query's `reveal`: absent, "0" or "false" is false; "1" or "true" asks
 * for full personal data, which needs person.reveal (E_FORBIDDEN
 * "reveal_forbidden" on field "reveal"); anything else is E_INPUT
 * "invalid_parameter". The caller audits the reveal.
 */
err req_reveal(struct req *r, bool *reveal_r) MUST_USE;

struct export_out {
    struct req *r; /* the reply; NULL when writing a file (export_begin_file) */
    enum export_format format;
    struct csv_out csv; /* EXPORT_CSV */
    xlsx_writer *x;     /* EXPORT_XLSX, until export_send or export_end_file */
    int64_t rows;       /* data rows written (the header not counted) */
    int64_t max;        /* rows allowed (export_room), 0: no cap */
    int64_t total;      /* rows expected, when the source knows (progress), else 0 */
    int fd;             /* a file's CSV: flushed as it grows; -1 otherwise */
    err werr;           /* the first failure of a flush or of progress: export_room returns it */
    /* a file export's progress, every EXPORT_PROGRESS_ROWS rows; a
     * non-E_OK return (the server stopping) stops the export */
    err (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
};

#define EXPORT_PROGRESS_ROWS 1000

/*
 * The synchronous export's cap (FK_EXPORT_SYNC_MAX, default 10,000 rows):
 * a reply built while its event loop waits must stay small; longer
 * exports are background jobs (POST /api/v1/exports, docs/cases.md).
 */
#define EXPORT_SYNC_MAX_DEFAULT 10000
void export_sync_max_set(int64_t n);
int64_t export_sync_max(void);

/*
 * E_TOO_LARGE "export_too_large" (413) on field "format": a synchronous
 * export of more than export_sync_max() rows; the message sends the user
 * to 导出任务. export_check_total: that error when total exceeds the cap.
 */
err export_too_large(void) MUST_USE;
err export_check_total(int64_t total) MUST_USE;

/*
 * Whether another row may be written: E_OK, or the error that must stop
 * the export (the synchronous cap reached: export_too_large; a file
 * export's write or progress failure). A streaming row callback calls it
 * before each row.
 */
err export_room(const struct export_out *x) MUST_USE;

/*
 * Start an export of `format` (EXPORT_CSV or EXPORT_XLSX) with its header
 * row; `sheet` names the workbook's one sheet (Excel's rules: at most 31
 * characters). Errors: E_NOMEM, E_IO (no temporary file). After success,
 * export_send must follow (it frees the writer on every path).
 */
err export_begin(struct req *r, struct export_out *x, enum export_format format, const char *sheet,
                 const char *const *head, size_t n) MUST_USE;

/* Cells of the current row, left to right. NULL text is an empty cell. */
void export_text(struct export_out *x, const char *s);
void export_int(struct export_out *x, int64_t v);
/* A number with `places` decimals (a temperature); a number cell in both. */
void export_decimal(struct export_out *x, double v, int places);
/* China time of epoch ms `ms` ("2024-05-01 08:00:00" in CSV, a real date
 * and time in a workbook); 0 is an empty cell. export_date: the day only. */
void export_time(struct export_out *x, int64_t ms);
void export_date(struct export_out *x, int64_t ms);
void export_empty(struct export_out *x);
/* End the row (counted in x->rows). */
void export_row_end(struct export_out *x);

/*
 * Send the export as an attachment named `<basename>.csv` or
 * `<basename>.xlsx` (ASCII), or, when `e` (the caller's error while
 * writing rows) is set, discard it and return e. Always frees the writer.
 */
err export_send(struct export_out *x, err e, const char *basename) MUST_USE;

/*
 * An export written to the file `path` (the export jobs, job/export.h)
 * instead of a reply; the row functions are the same. CSV is built in
 * arena `a` and flushed to the file as it grows, a workbook in constant
 * memory: both flat for any length. Errors: E_IO, E_NOMEM. After success,
 * export_end_file must follow.
 */
err export_begin_file(arena *a, struct export_out *x, enum export_format format, const char *sheet,
                      const char *const *head, size_t n, const char *path) MUST_USE;

/* Finish the file (or, when `e` is set, remove it and return e). Always
 * frees the writer and closes the file. */
err export_end_file(struct export_out *x, err e, const char *path) MUST_USE;

/* "format=csv" or "format=xlsx", for an audit entry's detail. */
const char *export_format_name(enum export_format f);

/*
 * A list that can be exported by a background job (POST /api/v1/exports):
 * each list's module defines one next to its synchronous export, with the
 * same row writer, and src/app.c registers it. The job parses the filters
 * with the list's own parser on a detached request (req_detached), then
 * walks the rows in the principal's scope page by page.
 */
struct export_source {
    const char *list;  /* the POST body's `list`: "observations" */
    const char *kind;  /* the job kind: "export.observations" */
    const char *audit; /* the audit object: "observation" (<audit>.export_job…) */
    enum perm perm;    /* the permission of the list */
    const char *sheet; /* the workbook's sheet */
    const char *const *head;
    size_t ncols;
    /* A header that depends on the parsed filter (a custom report's title)
     * instead of head and ncols; NULL for a list's fixed header. */
    void (*header)(const void *filter, const char *const **head_r, size_t *ncols_r);
    /* The filters from r's query, parsed and checked as the list does
     * (errors name the parameter); *filter_r lives in r->a. */
    err (*parse)(struct req *r, void **filter_r);
    /* Every row of the filter in who's scope into x, read page by page in
     * arena a (reset between pages); sets x->total when it can. */
    err (*each)(db *d, arena *a, const struct principal *who, const void *filter, bool reveal,
                struct export_out *x);
};

/* Register a source (src/app.c); E_INTERNAL when the table is full. */
err export_source_add(const struct export_source *s) MUST_USE;
/* The source of list `list`, or NULL. */
const struct export_source *export_source_find(const char *list);
/* The source of job kind `kind`, or NULL. */
const struct export_source *export_source_of_kind(const char *kind);

/*
 * A request tied to no connection, whose query parameters are the members
 * of `params` (a JSON object of strings, integers or booleans; NULL: none),
 * for a list's parser to read filters from off the event loop. Lives in
 * arena a. E_INPUT "invalid_parameter" on field "filters.<name>" when a
 * member is not a scalar.
 */
err req_detached(arena *a, db *d, const struct principal *who, const json_t *params,
                 struct req **r_r) MUST_USE;

#endif

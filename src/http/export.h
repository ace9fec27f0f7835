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
    struct req *r;
    enum export_format format;
    struct csv_out csv; /* EXPORT_CSV */
    xlsx_writer *x;     /* EXPORT_XLSX, until export_send */
    int64_t rows;       /* data rows written (the header not counted) */
};

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

/* "format=csv" or "format=xlsx", for an audit entry's detail. */
const char *export_format_name(enum export_format f);

#endif

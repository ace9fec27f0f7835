/*
 * Excel workbooks (.xlsx) with no epidemic knowledge: a streaming writer for
 * exports, import templates and error reports (libxlsxwriter), and a
 * streaming reader for imports (libzip + expat). Every import and export of
 * a spreadsheet goes through this header; no other file of src/ includes the
 * libraries. docs/xlsx.md has the limits, the reasons and the formats tested.
 *
 * Writing an import template and, later, a row error report:
 *
 *     xlsx_writer *w;
 *     if ((e = xlsx_writer_open(path, NULL, &w)) != E_OK)
 *         return e;
 *     static const char *const head[] = {"姓名", "证件号码", "管控措施", "开始日期"};
 *     static const char *const hint[] = {"必填", "18 位身份证号", "从列表中选择", "如 2024-05-01"};
 *     static const char *const kinds[] = {"居家隔离", "居家医学观察", "集中隔离"};
 *     e = xlsx_sheet_add(w, "观察对象");
 *     xlsx_row_header(w, head, 4);            // row 1, bold
 *     xlsx_row_hints(w, hint, 4);             // row 2, grey
 *     if (e == E_OK)
 *         e = xlsx_validation_list(w, 2, 2, 1001, kinds, 3); // C3:C1002
 *     xlsx_col_width(w, 1, 22);
 *     xlsx_cell_text(w, "张三");               // row 3, column A
 *     xlsx_cell_text(w, "11010119900101123X");
 *     xlsx_cell_text(w, "居家隔离");
 *     xlsx_cell_date(w, started_ms);          // a real Excel date, China time
 *     if (e == E_OK)
 *         e = xlsx_mark(w, 1, "证件号码校验位不正确"); // red fill and a comment on B3
 *     xlsx_row_end(w);
 *     err e2 = xlsx_close(&w);                // always frees w
 *     return e != E_OK ? e : e2;
 *
 * Reading an upload:
 *
 *     static err on_row(void *ctx, long row, const struct xlsx_cell *c, size_t n)
 *     {
 *         // c[i].col == i; columns the row lacks are XLSX_EMPTY
 *         if (n > 3 && c[3].type == XLSX_DATE) use(c[3].ms);
 *         return E_OK;                        // anything else stops the read
 *     }
 *     struct xlsx_limits lim = {.max_rows = 10000};
 *     e = xlsx_read_buffer(body, body_len, NULL, &lim, on_row, &state);
 */
#ifndef FK_BASE_XLSX_H
#define FK_BASE_XLSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* ---- writer ------------------------------------------------------------- */

/* The media type of a workbook, for replies and uploads. */
#define XLSX_CONTENT_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

typedef struct xlsx_writer xlsx_writer;

struct xlsx_write_opts {
    /*
     * Flush each row to a temporary file as soon as the next one begins, so
     * memory stays flat however many rows are written (exports). The cost:
     * rows are written in order only (this API never goes back anyway),
     * strings are stored inline rather than shared (a larger file), and
     * xlsx_validation_list's values must fit in Excel's 255 characters.
     */
    bool constant_memory;
    const char *tmpdir; /* where libxlsxwriter keeps its temporary files; NULL: the system's */
    /*
     * Bulk rows (a million-row result): the sheet's XML is written here,
     * buffered, with inline strings, and zipped with the fastest deflate
     * level (libzip), instead of libxlsxwriter's per-cell formatting and
     * default compression: 2.5 times less CPU, a file about 30% larger.
     * The zipping runs on a thread of its own from the first megabyte of
     * rows on, while the next rows are written (no temporary files; the
     * memory stays at a few megabytes). Implies constant_memory. Only one
     * sheet, no xlsx_mark and no xlsx_validation_list (both E_INTERNAL);
     * text, numbers, dates, the header and hint rows as usual; column widths
     * before the first megabyte of rows (E_INTERNAL after: the sheet's head
     * is already zipped). tmpdir is not used.
     */
    bool fast_rows;
};

/*
 * Start a workbook that xlsx_close will write to `path` (created or
 * replaced). `opt` may be NULL (no constant_memory). On success *w_r owns
 * the workbook until xlsx_close.
 * Errors: E_NOMEM, E_IO (the path cannot be written: checked now, not at
 * close).
 */
err xlsx_writer_open(const char *path, const struct xlsx_write_opts *opt,
                     xlsx_writer **w_r) MUST_USE;

/*
 * As xlsx_writer_open, to a new temporary file (in opt->tmpdir, else
 * $TMPDIR, else /tmp) that xlsx_close_fd hands back: for a reply whose bytes
 * are sent from the file (evbuffer_add_file) without a path to clean up.
 */
err xlsx_writer_open_temp(const struct xlsx_write_opts *opt, xlsx_writer **w_r) MUST_USE;

/*
 * Add a sheet and make it the current one (the first sheet needs this
 * too); its rows start at the first. Names follow Excel: at most 31
 * characters, none of [ ] : * ? / \, unique in the workbook.
 * Errors: E_INTERNAL for a name Excel refuses (a bug of the caller).
 */
err xlsx_sheet_add(xlsx_writer *w, const char *name) MUST_USE;

/*
 * Cells of the current row, left to right from column A (0). These do not
 * return an error: the first failure (a bug: no sheet; or out of memory) is
 * kept and xlsx_close returns it, and the cells after it are ignored.
 */

/* Text. Text a spreadsheet would take for a formula (csv_formula_risk:
 * = + - @, leading blanks, their full-width forms) is written behind an
 * apostrophe, as base/csv.c does, so it is shown and never evaluated once
 * edited or saved as CSV. NULL is an empty cell. */
void xlsx_cell_text(xlsx_writer *w, const char *s);
/* A number; NaN and infinities are written empty (Excel has neither). */
void xlsx_cell_num(xlsx_writer *w, double v);
/* An integer; one of more than 11 digits (an id, a code) is written as text,
 * since Excel shows it as 1.1E+17 and keeps only 15 digits. */
void xlsx_cell_int(xlsx_writer *w, int64_t v);
/* A real Excel date (a number formatted yyyy-mm-dd) of the China day of
 * epoch milliseconds `ms`; xlsx_cell_datetime keeps the time of day
 * (yyyy-mm-dd hh:mm:ss), to the second. Any ms, before 1970 too. */
void xlsx_cell_date(xlsx_writer *w, int64_t ms);
void xlsx_cell_datetime(xlsx_writer *w, int64_t ms);
/* Skip a column. */
void xlsx_cell_empty(xlsx_writer *w);

/* A cell as the reader gave it (struct xlsx_cell, below), for an error
 * report that gives an upload back with its faults marked: text, number,
 * date (with its time when it has one) as they were; a boolean, an error
 * value and a formula's result as their text. */
struct xlsx_cell;
void xlsx_cell_from(xlsx_writer *w, const struct xlsx_cell *c);

/* End the current row; the next cell goes to column A of the next row. */
void xlsx_row_end(xlsx_writer *w);

/* A whole row of text cells (xlsx_cell_text each), ended. */
void xlsx_row_strings(xlsx_writer *w, const char *const *cells, size_t n);
/* The same in bold: the header row of a list or template. */
void xlsx_row_header(xlsx_writer *w, const char *const *cells, size_t n);
/* The same in grey italics, wrapped: the hints row under a template's header. */
void xlsx_row_hints(xlsx_writer *w, const char *const *cells, size_t n);

/* The width of column `col` (0 is A) of the current sheet, in characters
 * of the default font (a CJK character counts about two). */
void xlsx_col_width(xlsx_writer *w, int col, double width);

/*
 * A drop-down list on column `col` from row first_row to last_row (0-based,
 * inclusive) of the current sheet: Excel and WPS offer `values` and refuse
 * anything else typed there. Values may not contain commas. Excel keeps an
 * inline list to 255 characters; a longer one is written to a hidden sheet
 * "_lists" and referred to, which needs a writer without constant_memory.
 * Errors: E_INTERNAL (no values, a comma, a long list in constant_memory).
 */
err xlsx_validation_list(xlsx_writer *w, int col, int first_row, int last_row,
                         const char *const *values, size_t n) MUST_USE;

/*
 * Mark cell `col` of the current row for an error report: a red fill and a
 * comment (`comment`, shown on hover). Call it before or after writing the
 * cell, before xlsx_row_end; an unwritten marked cell is marked empty.
 * Errors: E_INTERNAL (no sheet, col out of range), E_NOMEM.
 */
err xlsx_mark(xlsx_writer *w, int col, const char *comment) MUST_USE;

/*
 * Write the file and free the writer (always, even on error); *wp is set to
 * NULL. Returns the first error of the cells, else the write's: E_IO.
 * On error the file is removed.
 */
err xlsx_close(xlsx_writer **wp) MUST_USE;

/*
 * As xlsx_close, for a writer of xlsx_writer_open_temp: on success *fd_r is
 * the finished file opened for reading at offset 0 (already unlinked: closing
 * the descriptor deletes it) and *size_r its length in bytes.
 */
err xlsx_close_fd(xlsx_writer **wp, int *fd_r, int64_t *size_r) MUST_USE;

/* ---- reader ------------------------------------------------------------- */

enum xlsx_type {
    XLSX_EMPTY = 0, /* no value (a gap, or a cell with only a style) */
    XLSX_STRING,    /* text: shared, inline or a formula's string result */
    XLSX_NUMBER,    /* num holds it; text is the digits as stored */
    XLSX_BOOL,      /* num is 0 or 1; text "FALSE" or "TRUE" */
    XLSX_DATE,      /* a number in a date format: ms holds it, text is China time */
    XLSX_ERROR,     /* a formula's error value: text is e.g. "#DIV/0!" */
};

struct xlsx_cell {
    int col; /* 0-based: 0 is column A */
    enum xlsx_type type;
    /* The cell has a formula: the values are its cached result (what the
     * writer last computed). An importer usually refuses such cells. */
    bool formula;
    /* Never NULL, NUL-terminated, valid during the callback only. For a
     * date: "YYYY-MM-DD", or "YYYY-MM-DD HH:MM:SS" when it has a time. */
    const char *text;
    size_t len; /* strlen(text) */
    double num; /* XLSX_NUMBER, XLSX_BOOL, XLSX_DATE (the Excel serial) */
    int64_t ms; /* XLSX_DATE: epoch milliseconds (the value read as China time) */
};

/*
 * Limits on what a read accepts; a zero member takes its default. They
 * bound the memory and time an upload can cost (docs/xlsx.md says why each
 * default is what it is).
 */
struct xlsx_limits {
    uint64_t max_bytes;   /* uncompressed bytes read, all parts together (256 MiB) */
    uint32_t max_ratio;   /* uncompressed : compressed of one part (200) */
    long max_rows;        /* rows with a value (100,000) */
    int max_cols;         /* columns: A is 1, so 256 is up to IV (256) */
    size_t max_cell;      /* bytes of one cell's text (32,767: Excel's own cap, in
                           * characters, is less in bytes for Chinese text) */
    uint64_t max_strings; /* shared strings, all together, in bytes (64 MiB) */
};

/*
 * Called once per row that holds at least one value, in order. `row` is the
 * sheet's 1-based row number (gaps are rows with no value); cells[i].col ==
 * i for i < n, n is one past the last column with a value, and a column
 * the row lacks is XLSX_EMPTY with text "". Returning anything but E_OK stops
 * the read, which returns that error as it is (its detail untouched).
 */
typedef err (*xlsx_row_fn)(void *ctx, long row, const struct xlsx_cell *cells, size_t n);

/*
 * Read sheet `sheet` (by name; NULL: the first in the workbook's order) of
 * the workbook in file `path` or in the `n` bytes at `data` (not copied,
 * not changed), streaming its rows to `fn`. `lim` may be NULL.
 *
 * Errors (E_INPUT, with Chinese messages and no field):
 *   "invalid_xlsx"          not a zip, no workbook or sheet, malformed or
 *                           refused XML (a DOCTYPE: entities are never
 *                           expanded), a cell reference out of order
 *   "xlsx_sheet_not_found"  no sheet of that name
 *   "xlsx_too_large"        past max_bytes, max_ratio or max_strings
 *   "too_many_rows"         past max_rows (found as soon as the row is read)
 *   "too_many_columns"      a value past max_cols
 *   "xlsx_cell_too_long"    a cell past max_cell
 * E_IO when the file cannot be opened or read; E_NOMEM; whatever fn returns.
 */
err xlsx_read_file(const char *path, const char *sheet, const struct xlsx_limits *lim,
                   xlsx_row_fn fn, void *ctx) MUST_USE;
err xlsx_read_buffer(const void *data, size_t n, const char *sheet, const struct xlsx_limits *lim,
                     xlsx_row_fn fn, void *ctx) MUST_USE;

/*
 * An upload's cheap first look (the check a request makes before its job
 * reads the whole file): the sheet's first `rows` rows with a value, handed
 * to fn as xlsx_read_buffer would, then it stops (E_OK) without reading the
 * rest; `declared` is the last row the sheet's <dimension> element names
 * (0 when absent or unreadable). That is the writer's claim, not a count:
 * good for a progress bar and for a full count when it is missing or too
 * large, never for trusting what the job will read.
 */
struct xlsx_peek {
    long rows;     /* in: rows with a value to read (at least 1) */
    long declared; /* out */
};
err xlsx_peek_buffer(const void *data, size_t n, const char *sheet, const struct xlsx_limits *lim,
                     struct xlsx_peek *peek, xlsx_row_fn fn, void *ctx) MUST_USE;

/* The letters of 0-based column `col` ("A" for 0, "AA" for 26), for
 * messages such as "第 3 行 B 列". */
#define XLSX_COL_NAME 8
void xlsx_col_name(int col, char out[XLSX_COL_NAME]);

/*
 * The epoch milliseconds of Excel serial `serial` read as China time, with
 * Excel's 1900 leap-year bug (serial 60, the 29th of February 1900 that never
 * was, reads as the 1st of March). False for a serial outside 0..2958465
 * (9999-12-31). xlsx_serial is the inverse, for a China time `ms`.
 */
bool xlsx_serial_ms(double serial, int64_t *ms_r);
double xlsx_serial(int64_t ms);

#endif

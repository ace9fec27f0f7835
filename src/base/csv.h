/*
 * CSV (RFC 4180) with no epidemic knowledge: a streaming reader for imports
 * and a writer for exports (the second half of this header).
 *
 * Reader: records are pulled one at a time from memory or from a read
 * callback, so a file of any length is read in bounded memory: every buffer
 * is sized once when the reader is opened, from the limits below, and a
 * field or record that would exceed them is an error, never a reallocation.
 *
 * Accepted input: fields separated by commas, records ended by CRLF, LF or a
 * lone CR; a field may be enclosed in double quotes, inside which commas,
 * line breaks and doubled quotes ("") stand for themselves. A UTF-8 byte
 * order mark at the very start is skipped. Lines that are entirely empty are
 * skipped (a spreadsheet's trailing blank rows are not records). The last
 * record needs no line break. Bytes are passed through as they are: checking
 * the text encoding is the caller's business.
 *
 * Refused (the record is reported as an error, the reader skips to the end
 * of its line and carries on with the next record): a quote inside an
 * unquoted field, anything but a comma or line break after a closing quote,
 * end of input inside a quoted field, a NUL byte, a field longer than
 * max_field bytes, a record longer than max_record bytes or with more than
 * max_fields fields.
 */
#ifndef FK_BASE_CSV_H
#define FK_BASE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"

typedef struct csv_reader csv_reader;

struct csv_limits {
    size_t max_field;  /* bytes in one field (default 64 KiB) */
    size_t max_record; /* bytes in one record, separators included (default 1 MiB) */
    size_t max_fields; /* fields in one record (default 256) */
};

/* Results of csv_next. */
enum csv_result {
    CSV_END = 0,            /* no more records */
    CSV_RECORD = 1,         /* a record is available */
    CSV_E_QUOTE = -1,       /* misplaced quote or unterminated quoted field */
    CSV_E_FIELD_LONG = -2,  /* a field exceeds max_field */
    CSV_E_RECORD_LONG = -3, /* the record exceeds max_record */
    CSV_E_TOO_MANY = -4,    /* the record has more than max_fields fields */
    CSV_E_NUL = -5,         /* a NUL byte */
    CSV_E_IO = -6,          /* the read callback failed; the reader stops */
};

/*
 * A source of bytes: copy up to `cap` bytes into buf and return how many,
 * 0 at the end of input, -1 on failure.
 */
typedef ssize_t (*csv_read_fn)(void *ctx, char *buf, size_t cap);

/*
 * Open a reader over `n` bytes at `data` (not copied: they must outlive the
 * reader), or over a read callback. `lim` may be NULL for the defaults, and
 * zero members take their default. The reader and its buffers belong to
 * arena `a` and die with it.
 */
csv_reader *csv_open_mem(arena *a, const char *data, size_t n, const struct csv_limits *lim);
csv_reader *csv_open(arena *a, csv_read_fn read, void *ctx, const struct csv_limits *lim);

/*
 * The next record. On CSV_RECORD, *fields_r points to *n_r NUL-terminated
 * fields, valid until the next call (an empty line never produces a record;
 * a line holding only "" produces one empty field). On an error the record
 * is skipped; call again to go on. After CSV_END or CSV_E_IO every further
 * call returns the same.
 */
int csv_next(csv_reader *r, char ***fields_r, size_t *n_r);

/* The 1-based line on which the last record (or failed record) began. */
long csv_line(const csv_reader *r);

/* An English description of a csv_next result, for logs and tools. */
const char *csv_strerror(int result);

/*
 * Writer: a document built in an arena, cell by cell, for an export reply.
 *
 * Cells are separated by commas automatically and rows end with CRLF. A cell
 * holding a comma, quote, CR or LF is quoted with inner quotes doubled, so
 * the reader above gives every cell back as written. Text a spreadsheet
 * would evaluate as a formula (CSV injection: a leading = + - @ TAB or CR)
 * is written quoted behind an apostrophe, so an exported name such as
 * =HYPERLINK(...) is shown, never run. The same guard covers a leading
 * space, tab, line break, vertical tab or form feed, an ideographic or
 * no-break space, and the full-width ＝ ＋ － ＠ (spreadsheets skip the
 * first and read the second as their ASCII twins).
 *
 * A value of more than 11 digits and nothing else (an id number, a region
 * code, a record id), whether given to csv_text, csv_num or csv_int, is
 * written quoted behind a tab ("\t110101199001011234"): Excel and WPS show
 * it as text with every digit, where as a number they would show 1.1E+17
 * and drop the digits past the 15th. The reader above gives the tab back:
 * importers of our own exports trim it (region/region.c does).
 *
 * The document is c->p[0..c->n), always NUL-terminated; it lives in the
 * arena, grows by doubling and is never freed piecemeal. The writer sets no
 * size limit: callers bound their exports by rows. Allocation aborts on
 * exhaustion like every arena allocation, so no call fails.
 */
struct csv_out {
    arena *a;
    char *p;
    size_t n, cap;
    size_t row_start; /* offset of the current row, to spot a lone empty cell */
    bool mid_row;     /* a cell of the current row is written: the next needs a comma */
};

/* Start a document in arena `a`. With `bom`, it begins with the UTF-8 byte
 * order mark, without which spreadsheet programs in Chinese locales read
 * the file as GBK. */
void csv_out_init(struct csv_out *c, arena *a, bool bom);

/*
 * Whether a spreadsheet could take text `s` for a formula, or trim its way
 * to one: a leading = + - @, any leading whitespace or line break, the
 * ideographic or no-break space, or the full-width ＝ ＋ － ＠. The one rule
 * for every export: csv_text and base/xlsx.h's xlsx_cell_text both write
 * such text behind an apostrophe.
 */
bool csv_formula_risk(const char *s);

/* A text cell, guarded against formulas and long digits as above; NULL is
 * an empty cell. */
void csv_text(struct csv_out *c, const char *s);

/*
 * A number cell, written without the formula guard so that "-3.5" stays a
 * number. Only an optional '-' then digits, with at most one '.' between
 * digits, counts as a number: anything else is written as csv_text would,
 * so a mislabelled cell cannot carry a formula. NULL or "" is an empty cell.
 */
void csv_num(struct csv_out *c, const char *s);

/* An integer cell. */
void csv_int(struct csv_out *c, int64_t v);

/* End the row. A row whose only cell is empty is written as "" so that
 * readers do not skip it as a blank line; a row with no cell is a blank
 * line. */
void csv_row_end(struct csv_out *c);

#endif

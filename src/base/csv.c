/*
 * The CSV reader and writer of csv.h. The reader is a byte-at-a-time state
 * machine over a fixed record buffer, so memory is bounded by the limits
 * given at open time whatever the input. The writer appends to one arena
 * buffer grown by doubling.
 */
#include "base/csv.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define READ_CHUNK (64 * 1024)
#define C_EOF      (-1)
#define C_IOERR    (-2)

struct csv_reader {
    struct csv_limits lim;

    /* the source: memory, or a callback filling buf */
    const char *data;
    size_t n, pos;
    csv_read_fn read;
    void *ctx;
    char *buf;
    bool eof, ioerr;

    int back[4]; /* bytes pushed back, already counted in `line` */
    int nback;
    bool started; /* the byte order mark has been looked for */
    bool prev_cr;
    long line;     /* the line of the next byte */
    long rec_line; /* the line on which the last record began */
    int final;     /* CSV_END or CSV_E_IO once the input is over, else 1 */

    char *rec; /* the fields of the current record, NUL-separated */
    size_t rec_n;
    char **fields;
    size_t nfields;
};

static void set_limits(struct csv_limits *dst, const struct csv_limits *src)
{
    *dst = src ? *src : (struct csv_limits){0};
    if (!dst->max_field)
        dst->max_field = 64 * 1024;
    if (!dst->max_record)
        dst->max_record = 1024 * 1024;
    if (!dst->max_fields)
        dst->max_fields = 256;
}

static csv_reader *reader_new(arena *a, const struct csv_limits *lim)
{
    csv_reader *r = arena_zalloc(a, sizeof *r);
    set_limits(&r->lim, lim);
    /* +1 for the NUL that ends the last field */
    r->rec = arena_alloc(a, r->lim.max_record + 1);
    r->fields = arena_alloc(a, r->lim.max_fields * sizeof *r->fields);
    r->line = 1;
    r->final = 1;
    return r;
}

csv_reader *csv_open_mem(arena *a, const char *data, size_t n, const struct csv_limits *lim)
{
    csv_reader *r = reader_new(a, lim);
    r->data = data;
    r->n = n;
    return r;
}

csv_reader *csv_open(arena *a, csv_read_fn read, void *ctx, const struct csv_limits *lim)
{
    csv_reader *r = reader_new(a, lim);
    r->read = read;
    r->ctx = ctx;
    r->buf = arena_alloc(a, READ_CHUNK);
    return r;
}

/* The next raw byte of the source, C_EOF or C_IOERR. */
static int raw(csv_reader *r)
{
    if (r->pos < r->n)
        return (unsigned char)r->data[r->pos++];
    if (!r->read || r->eof)
        return C_EOF;
    if (r->ioerr)
        return C_IOERR;
    ssize_t got = r->read(r->ctx, r->buf, READ_CHUNK);
    if (got < 0) {
        r->ioerr = true;
        return C_IOERR;
    }
    if (got == 0) {
        r->eof = true;
        return C_EOF;
    }
    r->data = r->buf;
    r->n = (size_t)got;
    r->pos = 0;
    return (unsigned char)r->data[r->pos++];
}

/* The next byte, counting lines (CRLF, LF and a lone CR each end one). */
static int get(csv_reader *r)
{
    if (r->nback)
        return r->back[--r->nback];
    int c = raw(r);
    if (c == '\r' || (c == '\n' && !r->prev_cr))
        r->line++;
    r->prev_cr = c == '\r';
    return c;
}

static void unget(csv_reader *r, int c)
{
    if (c >= 0 && r->nback < 4)
        r->back[r->nback++] = c;
}

/* Skip a byte order mark at the very start of the input. */
static void skip_bom(csv_reader *r)
{
    int b0 = get(r);
    if (b0 != 0xEF) {
        unget(r, b0);
        return;
    }
    int b1 = get(r);
    if (b1 != 0xBB) {
        unget(r, b1);
        unget(r, b0);
        return;
    }
    int b2 = get(r);
    if (b2 != 0xBF) {
        unget(r, b2);
        unget(r, b1);
        unget(r, b0);
    }
}

/* After a CR that ended a record, swallow the LF of a CRLF pair. */
static void finish_line(csv_reader *r, int c)
{
    if (c != '\r')
        return;
    int d = get(r);
    if (d != '\n')
        unget(r, d);
}

/* Skip the rest of a bad record's line; returns `result`. */
static int skip_line(csv_reader *r, int c, int result)
{
    while (c != '\r' && c != '\n' && c != C_EOF && c != C_IOERR)
        c = get(r);
    if (c == C_IOERR)
        return r->final = CSV_E_IO;
    if (c == C_EOF)
        r->final = CSV_END;
    finish_line(r, c);
    return result;
}

/* Append a byte to the current field; `field_start` is where it began. */
static int append(csv_reader *r, size_t field_start, int c)
{
    if (r->rec_n - field_start >= r->lim.max_field)
        return CSV_E_FIELD_LONG;
    if (r->rec_n >= r->lim.max_record)
        return CSV_E_RECORD_LONG;
    r->rec[r->rec_n++] = (char)c;
    return 0;
}

/* End the current field: NUL-terminate it and add it to the record. */
static int end_field(csv_reader *r, size_t *field_start)
{
    if (r->nfields >= r->lim.max_fields)
        return CSV_E_TOO_MANY;
    if (r->rec_n >= r->lim.max_record + 1)
        return CSV_E_RECORD_LONG;
    r->rec[r->rec_n++] = '\0';
    r->fields[r->nfields++] = r->rec + *field_start;
    *field_start = r->rec_n;
    return 0;
}

int csv_next(csv_reader *r, char ***fields_r, size_t *n_r)
{
    if (r->final != 1)
        return r->final;
    if (!r->started) {
        r->started = true;
        skip_bom(r);
    }

    int c;
    /* empty lines are not records */
    for (;;) {
        r->rec_line = r->line;
        c = get(r);
        if (c == C_IOERR)
            return r->final = CSV_E_IO;
        if (c == C_EOF)
            return r->final = CSV_END;
        if (c != '\r' && c != '\n')
            break;
        finish_line(r, c);
    }

    enum { FIELD_START, UNQUOTED, QUOTED, AFTER_QUOTE } state = FIELD_START;
    size_t field_start = 0;
    int rc;
    r->rec_n = 0;
    r->nfields = 0;
    for (;; c = get(r)) {
        if (c == C_IOERR)
            return r->final = CSV_E_IO;
        if (c == 0)
            return skip_line(r, c, CSV_E_NUL);
        switch (state) {
        case FIELD_START:
            if (c == '"') {
                state = QUOTED;
                continue;
            }
            state = UNQUOTED;
            /* fall through */
        case UNQUOTED:
            if (c == '"')
                return skip_line(r, c, CSV_E_QUOTE);
            break;
        case QUOTED:
            if (c == C_EOF) {
                r->final = CSV_END;
                return CSV_E_QUOTE;
            }
            if (c == '"')
                state = AFTER_QUOTE;
            else if ((rc = append(r, field_start, c)))
                return skip_line(r, c, rc);
            continue;
        case AFTER_QUOTE:
            if (c == '"') {
                state = QUOTED;
                if ((rc = append(r, field_start, c)))
                    return skip_line(r, c, rc);
                continue;
            }
            if (c != ',' && c != '\r' && c != '\n' && c != C_EOF)
                return skip_line(r, c, CSV_E_QUOTE);
            break;
        }
        /* UNQUOTED, or AFTER_QUOTE at a separator */
        if (c == ',') {
            if ((rc = end_field(r, &field_start)))
                return skip_line(r, c, rc);
            state = FIELD_START;
            continue;
        }
        if (c == '\r' || c == '\n' || c == C_EOF) {
            if ((rc = end_field(r, &field_start)))
                return skip_line(r, c, rc);
            if (c == C_EOF)
                r->final = CSV_END;
            finish_line(r, c);
            *fields_r = r->fields;
            *n_r = r->nfields;
            return CSV_RECORD;
        }
        if ((rc = append(r, field_start, c)))
            return skip_line(r, c, rc);
    }
}

long csv_line(const csv_reader *r)
{
    return r->rec_line;
}

const char *csv_strerror(int result)
{
    switch (result) {
    case CSV_END:
        return "end of input";
    case CSV_RECORD:
        return "record";
    case CSV_E_QUOTE:
        return "misplaced or unterminated quote";
    case CSV_E_FIELD_LONG:
        return "field too long";
    case CSV_E_RECORD_LONG:
        return "record too long";
    case CSV_E_TOO_MANY:
        return "too many fields";
    case CSV_E_NUL:
        return "NUL byte";
    case CSV_E_IO:
        return "read error";
    }
    return "unknown";
}

/* ---- writer ------------------------------------------------------------- */

#define OUT_INITIAL 4096 /* bytes: a header and a few rows before the first doubling */
/* Excel's General format shows at most 11 digits of a number (a phone
 * number); a 12-digit region code already turns into 1.10101E+11 and more
 * than 15 digits lose the tail for good. */
#define LONG_DIGITS 11

/* Append n bytes, keeping the document NUL-terminated. */
static void out_put(struct csv_out *c, const char *s, size_t n)
{
    if (c->n + n + 1 > c->cap) {
        size_t cap = c->cap;
        while (cap < c->n + n + 1)
            cap *= 2;
        char *p = arena_alloc(c->a, cap);
        memcpy(p, c->p, c->n);
        c->p = p;
        c->cap = cap;
    }
    memcpy(c->p + c->n, s, n);
    c->n += n;
    c->p[c->n] = '\0';
}

void csv_out_init(struct csv_out *c, arena *a, bool bom)
{
    *c = (struct csv_out){.a = a, .cap = OUT_INITIAL};
    c->p = arena_alloc(a, c->cap);
    c->p[0] = '\0';
    if (bom)
        out_put(c, "\xEF\xBB\xBF", 3);
    c->row_start = c->n;
}

static void cell_start(struct csv_out *c)
{
    if (c->mid_row)
        out_put(c, ",", 1);
    c->mid_row = true;
}

/* The cell s, quoted when needed; with `guard`, behind an apostrophe. */
static void put_cell(struct csv_out *c, const char *s, bool guard)
{
    cell_start(c);
    bool quote = guard || s[strcspn(s, ",\"\r\n")];
    if (quote)
        out_put(c, "\"", 1);
    if (guard)
        out_put(c, "'", 1);
    for (const char *p = s;;) {
        size_t run = strcspn(p, "\"");
        out_put(c, p, run);
        p += run;
        if (!*p)
            break;
        out_put(c, "\"\"", 2);
        p++;
    }
    if (quote)
        out_put(c, "\"", 1);
}

/*
 * ASCII = + - @, any leading whitespace or line break (Excel and WPS skip
 * it and evaluate what follows), and the full-width forms ＝ ＋ － ＠ that
 * Chinese input methods type and WPS treats as their ASCII twins. The
 * ideographic space (U+3000) and no-break space (U+00A0) count as
 * whitespace.
 */
bool csv_formula_risk(const char *s)
{
    static const char *const wide[] = {
        "\xEF\xBC\x9D", /* U+FF1D ＝ */
        "\xEF\xBC\x8B", /* U+FF0B ＋ */
        "\xEF\xBC\x8D", /* U+FF0D － */
        "\xEF\xBC\xA0", /* U+FF20 ＠ */
        "\xE3\x80\x80", /* U+3000 ideographic space */
        "\xC2\xA0",     /* U+00A0 no-break space */
    };
    if (!*s)
        return false;
    if (strchr("=+-@ \t\r\n\v\f", *s))
        return true;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (!strncmp(s, wide[i], strlen(wide[i])))
            return true;
    return false;
}

/* An optional '-' then more than LONG_DIGITS digits and nothing else. */
static bool long_digits(const char *s)
{
    if (*s == '-')
        s++;
    size_t n = strspn(s, "0123456789");
    return n > LONG_DIGITS && !s[n];
}

/*
 * A long all-digit value as text: quoted behind a tab. Excel and WPS read a
 * CSV cell that does not parse as a number as text and show it as is, so
 * all 18 digits of an id number stay; the tab is invisible in the cell.
 * A leading apostrophe would show (CSV has no cell types, the apostrophe
 * convention is only for typing), and ="…" is itself a formula.
 */
static void put_long_digits(struct csv_out *c, const char *s)
{
    cell_start(c);
    out_put(c, "\"\t", 2);
    out_put(c, s, strlen(s));
    out_put(c, "\"", 1);
}

void csv_text(struct csv_out *c, const char *s)
{
    if (!s)
        s = "";
    if (long_digits(s) && *s != '-')
        put_long_digits(c, s);
    else
        put_cell(c, s, csv_formula_risk(s));
}

/* -?digits(.digits)? */
static bool is_number(const char *s)
{
    if (*s == '-')
        s++;
    size_t whole = strspn(s, "0123456789");
    if (!whole)
        return false;
    s += whole;
    if (*s == '.')
        s++;
    else
        return !*s;
    size_t frac = strspn(s, "0123456789");
    return frac && !s[frac];
}

void csv_num(struct csv_out *c, const char *s)
{
    if (s && *s && long_digits(s)) {
        put_long_digits(c, s);
    } else if (s && *s && is_number(s)) {
        cell_start(c);
        out_put(c, s, strlen(s));
    } else {
        csv_text(c, s);
    }
}

void csv_int(struct csv_out *c, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    if (long_digits(b)) {
        put_long_digits(c, b);
        return;
    }
    cell_start(c);
    out_put(c, b, (size_t)n);
}

void csv_row_end(struct csv_out *c)
{
    if (c->mid_row && c->n == c->row_start)
        out_put(c, "\"\"", 2);
    out_put(c, "\r\n", 2);
    c->mid_row = false;
    c->row_start = c->n;
}

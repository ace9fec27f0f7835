/*
 * The xlsx writer of xlsx.h over libxlsxwriter.
 *
 * The cells of the current row are kept here until xlsx_row_end, then
 * handed to libxlsxwriter in one go: a cell can be marked (xlsx_mark)
 * before or after it is written, and in constant_memory mode libxlsxwriter
 * only ever sees whole rows in order, which is all it accepts. The row
 * buffer is the only memory that grows with the input, and only with the
 * width of one row.
 */
#include "base/xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "base/csv.h"
#include "base/grow.h"
#include "base/log.h"

#define MAX_COLS    16384 /* Excel's last column, XFD */
#define MAX_ROWS    1048576
#define MAX_TEXT    32767 /* characters in a cell (Excel) */
#define MAX_INLINE  255   /* characters of an inline validation list (Excel) */
#define LISTS_SHEET "_lists"
#define LONG_DIGITS 11 /* as base/csv.c: more digits show as 1.1E+11 */

enum kind { K_NONE, K_TEXT, K_NUM, K_DATE, K_DATETIME };
enum style { S_PLAIN, S_HEADER, S_HINT };

struct wcell {
    enum kind kind;
    bool marked;
    double num;
    size_t off; /* K_TEXT: offset in the row's text */
};

struct xlsx_writer {
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_worksheet *lists; /* the hidden sheet of long validation lists */
    int nlists;
    bool constant_memory;
    char *path;
    bool temp;
    err e; /* the first failure of a cell call */

    lxw_format *f_red, *f_date, *f_date_red, *f_dt, *f_dt_red, *f_header, *f_hint;

    uint32_t row; /* of the current sheet */
    enum style style;
    struct wcell *cells; /* the current row: written or marked so far */
    size_t ncells, cap_cells;
    size_t next; /* the column the next cell call writes */
    char *text;
    size_t ntext, cap_text;

    /* fast_rows: the sheet's rows go to `buf`, handed a chunk at a time to
     * the zip thread of `zs` (started with the first full chunk, or at
     * close), which deflates while the next rows are written. */
    bool fast;
    bool fast_sheet; /* the sheet was added */
    char *buf;
    size_t nbuf, cap_buf;
    struct zstream *zs;
    char *sheet_name;
    char *tmpdir;
    double *widths; /* per column, 0: default */
    size_t nwidths;
};

/* Keep the first failure; the cells after it are ignored. */
static void fail(xlsx_writer *w, err e, const char *what, lxw_error le)
{
    if (w->e == E_OK) {
        log_event(LOG_ERROR, "xlsx_write_failed", "what", what, "detail",
                  le ? lxw_strerror(le) : "", NULL);
        w->e = e;
    }
}

static lxw_format *format_new(xlsx_writer *w, const char *num_format, bool red)
{
    lxw_format *f = workbook_add_format(w->wb);
    if (!f)
        return NULL;
    if (num_format)
        format_set_num_format(f, num_format);
    if (red) {
        /* Excel's own "Bad" cell style: readable, and red to anyone */
        format_set_pattern(f, LXW_PATTERN_SOLID);
        format_set_bg_color(f, 0xFFC7CE);
        format_set_font_color(f, 0x9C0006);
    }
    return f;
}

static err formats_new(xlsx_writer *w)
{
    w->f_red = format_new(w, NULL, true);
    w->f_date = format_new(w, "yyyy-mm-dd", false);
    w->f_date_red = format_new(w, "yyyy-mm-dd", true);
    w->f_dt = format_new(w, "yyyy-mm-dd hh:mm:ss", false);
    w->f_dt_red = format_new(w, "yyyy-mm-dd hh:mm:ss", true);
    w->f_header = format_new(w, NULL, false);
    w->f_hint = format_new(w, NULL, false);
    if (!w->f_red || !w->f_date || !w->f_date_red || !w->f_dt || !w->f_dt_red || !w->f_header ||
        !w->f_hint)
        return E_NOMEM;
    format_set_bold(w->f_header);
    format_set_italic(w->f_hint);
    format_set_font_color(w->f_hint, 0x808080);
    format_set_text_wrap(w->f_hint);
    return E_OK;
}

static err open_at(const char *path, bool temp, const struct xlsx_write_opts *opt,
                   xlsx_writer **w_r)
{
    xlsx_writer *w = calloc(1, sizeof *w);
    if (!w)
        return E_NOMEM;
    w->path = strdup(path);
    w->temp = temp;
    w->constant_memory = opt && (opt->constant_memory || opt->fast_rows);
    w->fast = opt && opt->fast_rows;
    if (w->fast) {
        const char *dir = opt->tmpdir ? opt->tmpdir : getenv("TMPDIR");
        w->tmpdir = strdup(dir && *dir ? dir : "/tmp");
        if (!w->path || !w->tmpdir) {
            free(w->path);
            free(w->tmpdir);
            free(w);
            return E_NOMEM;
        }
        *w_r = w;
        return E_OK;
    }
    lxw_workbook_options o = {.constant_memory = w->constant_memory,
                              .tmpdir = opt ? (char *)opt->tmpdir : NULL,
                              /* a million rows of exports pass 4 GiB uncompressed */
                              .use_zip64 = LXW_TRUE};
    if (w->path)
        w->wb = workbook_new_opt(w->path, &o);
    if (!w->path || !w->wb) {
        free(w->path);
        free(w);
        return E_NOMEM;
    }
    err e = formats_new(w);
    if (e != E_OK) {
        lxw_workbook_free(w->wb);
        free(w->path);
        free(w);
        return e;
    }
    *w_r = w;
    return E_OK;
}

err xlsx_writer_open(const char *path, const struct xlsx_write_opts *opt, xlsx_writer **w_r)
{
    /* libxlsxwriter opens the file only when closing: find out now */
    FILE *f = fopen(path, "wb");
    if (!f) {
        log_event(LOG_ERROR, "xlsx_open_failed", "error", strerror(errno), NULL);
        return E_IO;
    }
    fclose(f);
    err e = open_at(path, false, opt, w_r);
    if (e != E_OK)
        unlink(path);
    return e;
}

err xlsx_writer_open_temp(const struct xlsx_write_opts *opt, xlsx_writer **w_r)
{
    const char *dir = opt && opt->tmpdir ? opt->tmpdir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/fk-xlsx-XXXXXX", dir) >= sizeof path)
        return E_IO;
    int fd = mkstemp(path);
    if (fd < 0) {
        log_event(LOG_ERROR, "xlsx_open_failed", "error", strerror(errno), NULL);
        return E_IO;
    }
    close(fd);
    err e = open_at(path, true, opt, w_r);
    if (e != E_OK)
        unlink(path);
    return e;
}

static void fast_flush_row(xlsx_writer *w);

/* Write the buffered row to libxlsxwriter and empty the buffer. */
static void flush_row(xlsx_writer *w)
{
    if (w->fast) {
        fast_flush_row(w);
        return;
    }
    for (size_t i = 0; i < w->ncells && w->e == E_OK; i++) {
        const struct wcell *c = &w->cells[i];
        lxw_col_t col = (lxw_col_t)i;
        lxw_format *plain = w->style == S_HEADER ? w->f_header
                            : w->style == S_HINT ? w->f_hint
                                                 : NULL;
        lxw_error le = LXW_NO_ERROR;
        switch (c->kind) {
        case K_NONE:
            if (c->marked)
                le = worksheet_write_blank(w->ws, w->row, col, w->f_red);
            break;
        case K_TEXT:
            le = worksheet_write_string(w->ws, w->row, col, w->text + c->off,
                                        c->marked ? w->f_red : plain);
            break;
        case K_NUM:
            le = worksheet_write_number(w->ws, w->row, col, c->num, c->marked ? w->f_red : plain);
            break;
        case K_DATE:
            le = worksheet_write_number(w->ws, w->row, col, c->num,
                                        c->marked ? w->f_date_red : w->f_date);
            break;
        case K_DATETIME:
            le = worksheet_write_number(w->ws, w->row, col, c->num,
                                        c->marked ? w->f_dt_red : w->f_dt);
            break;
        }
        if (le != LXW_NO_ERROR)
            fail(w, E_INTERNAL, "cell", le);
    }
    w->ncells = 0;
    w->next = 0;
    w->ntext = 0;
}

static err fast_sheet_add(xlsx_writer *w, const char *name);

err xlsx_sheet_add(xlsx_writer *w, const char *name)
{
    if (w->fast)
        return fast_sheet_add(w, name);
    if (w->ws)
        flush_row(w);
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, name);
    if (!ws) {
        fail(w, E_INTERNAL, "sheet", LXW_NO_ERROR);
        return E_INTERNAL;
    }
    w->ws = ws;
    w->row = 0;
    w->style = S_PLAIN;
    return E_OK;
}

/* The cell `col` of the current row, growing the row up to it; NULL after a
 * failure (recorded). */
static struct wcell *cell_at(xlsx_writer *w, size_t col)
{
    if (w->e != E_OK)
        return NULL;
    if (!w->ws && !w->fast_sheet) {
        fail(w, E_INTERNAL, "cell before xlsx_sheet_add", LXW_NO_ERROR);
        return NULL;
    }
    if (col >= MAX_COLS || w->row >= MAX_ROWS) {
        fail(w, E_INTERNAL, "cell past the sheet's edge", LXW_NO_ERROR);
        return NULL;
    }
    if (col >= w->ncells && !GROW(&w->cells, &w->cap_cells, w->ncells, col + 1 - w->ncells, 32)) {
        fail(w, E_NOMEM, "row", LXW_NO_ERROR);
        return NULL;
    }
    while (w->ncells <= col)
        w->cells[w->ncells++] = (struct wcell){.kind = K_NONE};
    return &w->cells[col];
}

/* The next cell of the row, to be filled (marks made on it are kept). */
static struct wcell *next_cell(xlsx_writer *w, enum kind kind)
{
    struct wcell *c = cell_at(w, w->next);
    if (c) {
        w->next++;
        c->kind = kind;
    }
    return c;
}

/* Append `pre` (pn bytes), then `s` (n bytes) and a NUL to the row's text;
 * the offset, or false after a failure (recorded). */
static bool text_put(xlsx_writer *w, const char *pre, size_t pn, const char *s, size_t n,
                     size_t *off_r)
{
    size_t need = w->ntext + pn + n + 1;
    if (!GROW(&w->text, &w->cap_text, w->ntext, pn + n + 1, 1024)) {
        fail(w, E_NOMEM, "row", LXW_NO_ERROR);
        return false;
    }
    *off_r = w->ntext;
    memcpy(w->text + w->ntext, pre, pn);
    memcpy(w->text + w->ntext + pn, s, n);
    w->text[need - 1] = '\0';
    w->ntext = need;
    return true;
}

/* The bytes of the first `room` characters of UTF-8 text s: Excel refuses
 * a cell of more than MAX_TEXT, and an export must not fail for one long
 * note. */
static size_t text_cap(const char *s, size_t n, size_t room)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == room)
                return i;
            chars++;
        }
    }
    return n;
}

void xlsx_cell_text(xlsx_writer *w, const char *s)
{
    if (!s || !*s) {
        xlsx_cell_empty(w);
        return;
    }
    bool guard = csv_formula_risk(s);
    size_t n = text_cap(s, strlen(s), MAX_TEXT - (guard ? 1 : 0));
    struct wcell *c = next_cell(w, K_TEXT);
    size_t off;
    if (c && text_put(w, "'", guard ? 1 : 0, s, n, &off))
        c->off = off;
}

void xlsx_cell_num(xlsx_writer *w, double v)
{
    if (!isfinite(v)) {
        xlsx_cell_empty(w);
        return;
    }
    struct wcell *c = next_cell(w, K_NUM);
    if (c)
        c->num = v;
}

void xlsx_cell_int(xlsx_writer *w, int64_t v)
{
    if (v > 99999999999LL || v < -99999999999LL) {
        char b[24];
        snprintf(b, sizeof b, "%lld", (long long)v);
        xlsx_cell_text(w, b);
        return;
    }
    xlsx_cell_num(w, (double)v);
}

void xlsx_cell_date(xlsx_writer *w, int64_t ms)
{
    struct wcell *c = next_cell(w, K_DATE);
    if (c)
        c->num = floor(xlsx_serial(ms));
}

void xlsx_cell_datetime(xlsx_writer *w, int64_t ms)
{
    struct wcell *c = next_cell(w, K_DATETIME);
    if (c) {
        /* to the second, so Excel shows no rounded-up 59.9995 */
        int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        c->num = xlsx_serial(s * 1000);
    }
}

void xlsx_cell_empty(xlsx_writer *w)
{
    struct wcell *c = next_cell(w, K_NONE);
    (void)c;
}

void xlsx_cell_from(xlsx_writer *w, const struct xlsx_cell *c)
{
    switch (c->type) {
    case XLSX_EMPTY:
        xlsx_cell_empty(w);
        break;
    case XLSX_NUMBER:
        xlsx_cell_num(w, c->num);
        break;
    case XLSX_DATE:
        if (c->len > 10) /* "YYYY-MM-DD HH:MM:SS" */
            xlsx_cell_datetime(w, c->ms);
        else
            xlsx_cell_date(w, c->ms);
        break;
    case XLSX_STRING:
    case XLSX_BOOL:
    case XLSX_ERROR:
        xlsx_cell_text(w, c->text);
        break;
    }
}

void xlsx_row_end(xlsx_writer *w)
{
    if (!w->ws && !w->fast_sheet) {
        fail(w, E_INTERNAL, "row before xlsx_sheet_add", LXW_NO_ERROR);
        return;
    }
    flush_row(w);
    w->row++;
    w->style = S_PLAIN;
}

static void row_styled(xlsx_writer *w, enum style style, const char *const *cells, size_t n)
{
    w->style = style;
    for (size_t i = 0; i < n; i++)
        xlsx_cell_text(w, cells[i]);
    xlsx_row_end(w);
}

void xlsx_row_strings(xlsx_writer *w, const char *const *cells, size_t n)
{
    row_styled(w, S_PLAIN, cells, n);
}

void xlsx_row_header(xlsx_writer *w, const char *const *cells, size_t n)
{
    row_styled(w, S_HEADER, cells, n);
}

void xlsx_row_hints(xlsx_writer *w, const char *const *cells, size_t n)
{
    row_styled(w, S_HINT, cells, n);
}

void xlsx_col_width(xlsx_writer *w, int col, double width)
{
    if ((!w->ws && !w->fast_sheet) || col < 0 || col >= MAX_COLS) {
        fail(w, E_INTERNAL, "column width", LXW_NO_ERROR);
        return;
    }
    if (w->fast) {
        if (w->zs) { /* the sheet's head is written */
            fail(w, E_INTERNAL, "column width after the first rows", LXW_NO_ERROR);
            return;
        }
        if ((size_t)col >= w->nwidths) {
            double *p = realloc(w->widths, ((size_t)col + 1) * sizeof *p);
            if (!p) {
                fail(w, E_NOMEM, "column width", LXW_NO_ERROR);
                return;
            }
            for (size_t i = w->nwidths; i <= (size_t)col; i++)
                p[i] = 0;
            w->widths = p;
            w->nwidths = (size_t)col + 1;
        }
        w->widths[col] = width;
        return;
    }
    lxw_error le = worksheet_set_column(w->ws, (lxw_col_t)col, (lxw_col_t)col, width, NULL);
    if (le != LXW_NO_ERROR)
        fail(w, E_INTERNAL, "column width", le);
}

/* UTF-8 characters in s. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Write a long list down a new column of the hidden sheet; its range as a
 * formula into buf. */
static err list_sheet(xlsx_writer *w, const char *const *values, size_t n, char *buf, size_t cap)
{
    if (!w->lists) {
        w->lists = workbook_add_worksheet(w->wb, LISTS_SHEET);
        if (!w->lists)
            return E_INTERNAL;
        worksheet_hide(w->lists);
    }
    if (w->nlists >= 26 || n > MAX_ROWS)
        return E_INTERNAL;
    lxw_col_t col = (lxw_col_t)w->nlists++;
    for (size_t i = 0; i < n; i++)
        if (worksheet_write_string(w->lists, (lxw_row_t)i, col, values[i], NULL) != LXW_NO_ERROR)
            return E_INTERNAL;
    snprintf(buf, cap, "='%s'!$%c$1:$%c$%zu", LISTS_SHEET, 'A' + col, 'A' + col, n);
    return E_OK;
}

err xlsx_validation_list(xlsx_writer *w, int col, int first_row, int last_row,
                         const char *const *values, size_t n)
{
    if (w->fast || !w->ws || !n || col < 0 || col >= MAX_COLS || first_row < 0 ||
        last_row < first_row || last_row >= MAX_ROWS)
        return E_INTERNAL;
    size_t chars = n - 1;
    for (size_t i = 0; i < n; i++) {
        if (!values[i] || !*values[i] || strchr(values[i], ','))
            return E_INTERNAL;
        chars += utf8_chars(values[i]);
    }
    lxw_data_validation dv = {
        .validate = LXW_VALIDATION_TYPE_LIST,
        .show_error = LXW_VALIDATION_ON,
        .error_type = LXW_VALIDATION_ERROR_TYPE_STOP,
        .error_title = "输入有误",
        .error_message = "请从下拉列表中选择",
    };
    char formula[64];
    char **list = NULL;
    if (chars > MAX_INLINE) {
        if (w->constant_memory)
            return E_INTERNAL;
        err e = list_sheet(w, values, n, formula, sizeof formula);
        if (e != E_OK)
            return e;
        dv.validate = LXW_VALIDATION_TYPE_LIST_FORMULA;
        dv.value_formula = formula;
    } else {
        list = calloc(n + 1, sizeof *list);
        if (!list)
            return E_NOMEM;
        for (size_t i = 0; i < n; i++)
            list[i] = (char *)values[i];
        dv.value_list = list;
    }
    lxw_error le = worksheet_data_validation_range(w->ws, (lxw_row_t)first_row, (lxw_col_t)col,
                                                   (lxw_row_t)last_row, (lxw_col_t)col, &dv);
    free(list);
    if (le != LXW_NO_ERROR) {
        log_event(LOG_ERROR, "xlsx_write_failed", "what", "validation", "detail", lxw_strerror(le),
                  NULL);
        return E_INTERNAL;
    }
    return E_OK;
}

err xlsx_mark(xlsx_writer *w, int col, const char *comment)
{
    if (w->e != E_OK)
        return w->e;
    if (w->fast || col < 0 || col >= MAX_COLS)
        return E_INTERNAL;
    struct wcell *c = cell_at(w, (size_t)col);
    if (!c)
        return w->e;
    c->marked = true;
    if (comment && *comment) {
        lxw_error le = worksheet_write_comment(w->ws, w->row, (lxw_col_t)col, comment);
        if (le != LXW_NO_ERROR) {
            log_event(LOG_ERROR, "xlsx_write_failed", "what", "comment", "detail", lxw_strerror(le),
                      NULL);
            return E_INTERNAL;
        }
    }
    return E_OK;
}

/* ---- fast_rows: the sheet's XML written here, zipped by libzip --------- */

#define FAST_CHUNK (1u << 20) /* the rows' XML handed to the zip thread at a time */
#define ZS_QUEUE   4          /* chunks waiting for it at most */

/* A growing buffer of XML. */
struct sbuf {
    char *p;
    size_t n, cap;
    bool bad; /* out of memory: the buffer is incomplete */
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (!GROW(&b->p, &b->cap, b->n, n, 4096)) {
        b->bad = true;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
#define SB_LIT(b, lit) sb_put(b, lit, sizeof lit - 1)

/*
 * The zip thread: libzip writes the workbook (zip_close) while the writer
 * is still producing rows; the sheet's part is a source reading the queued
 * chunks in order, so deflating one chunk overlaps writing the next.
 */
struct zstream {
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sbuf q[ZS_QUEUE]; /* a ring of chunks */
    size_t qhead, qn;
    bool end;        /* the writer pushed the last chunk */
    bool abort;      /* the writer failed: the part fails, nothing is kept */
    bool done;       /* the thread returned: nothing reads any more */
    struct sbuf cur; /* the chunk being read */
    size_t cur_off;
    zip_uint64_t size; /* the part's size when known at the start, else 0 */
    zip_error_t ze;
    const char *path;
    struct sbuf wb; /* xl/workbook.xml */
    err e;          /* the thread's */
};

static zip_int64_t zs_read(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct zstream *zs = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->mtime = time(NULL);
        st->valid |= ZIP_STAT_MTIME;
        if (zs->size) {
            st->size = zs->size;
            st->valid |= ZIP_STAT_SIZE;
        }
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&zs->ze, data, len);
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
    case ZIP_SOURCE_READ:
        break;
    default:
        zip_error_set(&zs->ze, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
    if (zs->cur_off == zs->cur.n) {
        free(zs->cur.p);
        zs->cur = (struct sbuf){0};
        zs->cur_off = 0;
        pthread_mutex_lock(&zs->mu);
        while (!zs->qn && !zs->end && !zs->abort)
            pthread_cond_wait(&zs->cv, &zs->mu);
        if (zs->abort) {
            pthread_mutex_unlock(&zs->mu);
            zip_error_set(&zs->ze, ZIP_ER_CANCELLED, 0);
            return -1;
        }
        if (!zs->qn) { /* the end */
            pthread_mutex_unlock(&zs->mu);
            return 0;
        }
        zs->cur = zs->q[zs->qhead];
        zs->qhead = (zs->qhead + 1) % ZS_QUEUE;
        zs->qn--;
        pthread_cond_broadcast(&zs->cv); /* room for the writer */
        pthread_mutex_unlock(&zs->mu);
    }
    size_t n = zs->cur.n - zs->cur_off;
    if (n > len)
        n = (size_t)len;
    memcpy(data, zs->cur.p + zs->cur_off, n);
    zs->cur_off += n;
    return (zip_int64_t)n;
}

static bool zip_add_text(zip_t *z, const char *name, const char *text, size_t n)
{
    zip_source_t *src = zip_source_buffer(z, text, n, 0);
    if (!src)
        return false;
    zip_int64_t i = zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8);
    if (i < 0) {
        zip_source_free(src);
        return false;
    }
    return zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_DEFLATE, 1) == 0;
}

static const char CONTENT_TYPES[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"rels\" ContentType=\"application/"
    "vnd.openxmlformats-package.relationships+xml\"/>"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/"
    "vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
    "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/"
    "vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
    "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/"
    "vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
    "</Types>";

static const char ROOT_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
    "</Relationships>";

static const char WORKBOOK_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/styles\" Target=\"styles.xml\"/>"
    "</Relationships>";

/* The cell styles fast_flush_row refers to: 0 plain, 1 header (bold), 2 hint
 * (grey italics, wrapped), 3 date, 4 date and time; as the other path's. */
static const char STYLES[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"yyyy-mm-dd hh:mm:ss\"/></numFmts>"
    "<fonts count=\"3\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>"
    "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>"
    "<font><i/><sz val=\"11\"/><color rgb=\"FF808080\"/><name val=\"Calibri\"/>"
    "<family val=\"2\"/></font></fonts>"
    "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>"
    "<fill><patternFill patternType=\"gray125\"/></fill></fills>"
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/>"
    "</cellStyleXfs>"
    "<cellXfs count=\"5\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
    "<xf numFmtId=\"0\" fontId=\"2\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
    "applyAlignment=\"1\"><alignment wrapText=\"1\"/></xf>"
    "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
    "applyNumberFormat=\"1\"/>"
    "<xf numFmtId=\"165\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
    "applyNumberFormat=\"1\"/></cellXfs>"
    "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
    "</styleSheet>";

static const char SHEET_TAIL[] =
    "</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" "
    "header=\"0.3\" footer=\"0.3\"/></worksheet>";

static void *zs_main(void *arg)
{
    struct zstream *zs = arg;
    int ze = 0;
    zip_t *z = zip_open(zs->path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    bool ok = z != NULL;
    ok = ok && zip_add_text(z, "[Content_Types].xml", CONTENT_TYPES, sizeof CONTENT_TYPES - 1);
    ok = ok && zip_add_text(z, "_rels/.rels", ROOT_RELS, sizeof ROOT_RELS - 1);
    ok = ok && zip_add_text(z, "xl/workbook.xml", zs->wb.p, zs->wb.n);
    ok = ok &&
         zip_add_text(z, "xl/_rels/workbook.xml.rels", WORKBOOK_RELS, sizeof WORKBOOK_RELS - 1);
    ok = ok && zip_add_text(z, "xl/styles.xml", STYLES, sizeof STYLES - 1);
    if (ok) {
        zip_source_t *src = zip_source_function(z, zs_read, zs);
        zip_int64_t i = src ? zip_file_add(z, "xl/worksheets/sheet1.xml", src, 0) : -1;
        if (i < 0) {
            zip_source_free(src);
            ok = false;
        } else {
            ok = zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_DEFLATE, 1) == 0;
        }
    }
    if (ok && zip_close(z) == 0)
        z = NULL; /* written and freed */
    else
        ok = false;
    pthread_mutex_lock(&zs->mu);
    bool aborted = zs->abort;
    pthread_mutex_unlock(&zs->mu);
    if (!ok) {
        if (!aborted) /* the writer's own failure is logged where it happened */
            log_event(LOG_ERROR, "xlsx_write_failed", "what", "close", "detail",
                      z ? zip_strerror(z) : "zip_open", NULL);
        if (z)
            zip_discard(z);
        zs->e = E_IO;
    }
    pthread_mutex_lock(&zs->mu);
    zs->done = true;
    pthread_cond_broadcast(&zs->cv);
    pthread_mutex_unlock(&zs->mu);
    return NULL;
}

/* Queue the rows written so far (ownership passes); false: the thread
 * is gone (it failed), the chunk is dropped. */
static bool zs_push(struct zstream *zs, struct sbuf *b)
{
    pthread_mutex_lock(&zs->mu);
    while (zs->qn == ZS_QUEUE && !zs->done)
        pthread_cond_wait(&zs->cv, &zs->mu);
    bool ok = !zs->done;
    if (ok) {
        zs->q[(zs->qhead + zs->qn) % ZS_QUEUE] = *b;
        zs->qn++;
        pthread_cond_broadcast(&zs->cv);
    }
    pthread_mutex_unlock(&zs->mu);
    if (!ok)
        free(b->p);
    *b = (struct sbuf){0};
    return ok;
}

/* s as XML character data (attr: inside double quotes too); characters XML
 * cannot hold are written _xHHHH_, as Excel reads them. */
static void xml_put(struct sbuf *b, const char *s, bool attr)
{
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *rep = NULL;
        char hex[8];
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"' && attr)
            rep = "&quot;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            snprintf(hex, sizeof hex, "_x%04X_", c);
            rep = hex;
        } else
            continue;
        sb_put(b, run, (size_t)(s - run));
        sb_put(b, rep, strlen(rep));
        run = s + 1;
    }
    sb_put(b, run, (size_t)(s - run));
}

/*
 * Start the zip thread: the sheet's head (its column widths: none can be
 * set after this) goes first. known: the whole sheet is in w->buf, so the
 * part's size is known (no zip64 record for a small workbook).
 */
static err zs_start(xlsx_writer *w, bool known)
{
    struct zstream *zs = calloc(1, sizeof *zs);
    if (!zs)
        return E_NOMEM;
    zs->path = w->path;
    SB_LIT(&zs->wb,
           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
           "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
           "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
           "<sheets><sheet name=\"");
    xml_put(&zs->wb, w->sheet_name, true);
    SB_LIT(&zs->wb, "\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>");
    struct sbuf head = {0};
    SB_LIT(&head,
           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
           "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
           "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">");
    bool any = false;
    for (size_t i = 0; i < w->nwidths; i++) {
        if (w->widths[i] <= 0)
            continue;
        if (!any)
            SB_LIT(&head, "<cols>");
        any = true;
        /* Excel's stored width of `width` characters of the default font */
        double stored = w->widths[i] + 0.7109375;
        char col[128];
        int k = snprintf(col, sizeof col,
                         "<col min=\"%zu\" max=\"%zu\" width=\"%.8g\" customWidth=\"1\"/>", i + 1,
                         i + 1, stored);
        sb_put(&head, col, (size_t)k);
    }
    if (any)
        SB_LIT(&head, "</cols>");
    SB_LIT(&head, "<sheetData>");
    if (known)
        zs->size = head.n + w->nbuf + sizeof SHEET_TAIL - 1;
    zs->q[0] = head;
    zs->qn = 1;
    if (zs->wb.bad || head.bad) {
        free(zs->wb.p);
        free(head.p);
        free(zs);
        return E_NOMEM;
    }
    pthread_mutex_init(&zs->mu, NULL);
    pthread_cond_init(&zs->cv, NULL);
    if (pthread_create(&zs->t, NULL, zs_main, zs)) {
        pthread_cond_destroy(&zs->cv);
        pthread_mutex_destroy(&zs->mu);
        free(zs->wb.p);
        free(head.p);
        free(zs);
        return E_NOMEM;
    }
    w->zs = zs;
    return E_OK;
}

/* The rows written so far to the zip thread (started now if need be). */
static void zs_hand_over(xlsx_writer *w, bool known)
{
    if (w->e != E_OK)
        return;
    if (!w->zs) {
        err e = zs_start(w, known);
        if (e != E_OK) {
            log_event(LOG_ERROR, "xlsx_write_failed", "what", "zip thread", "detail",
                      strerror(errno), NULL);
            fail(w, e, "zip thread", LXW_NO_ERROR);
            return;
        }
    }
    struct sbuf b = {.p = w->buf, .n = w->nbuf, .cap = w->cap_buf};
    w->buf = NULL;
    w->nbuf = w->cap_buf = 0;
    if (b.n && !zs_push(w->zs, &b))
        fail(w, E_IO, "zip thread", LXW_NO_ERROR);
    free(b.p);
}

/* Wait for the zip thread: ok, the sheet ends here; else its part fails
 * and nothing is kept. Its error, or E_OK. */
static err zs_finish(xlsx_writer *w, bool ok)
{
    struct zstream *zs = w->zs;
    w->zs = NULL;
    if (ok) {
        struct sbuf tail = {0};
        SB_LIT(&tail, SHEET_TAIL);
        ok = !tail.bad && zs_push(zs, &tail);
    }
    pthread_mutex_lock(&zs->mu);
    zs->end = true;
    zs->abort = !ok;
    pthread_cond_broadcast(&zs->cv);
    pthread_mutex_unlock(&zs->mu);
    pthread_join(zs->t, NULL);
    err e = ok ? zs->e : E_IO;
    for (size_t i = 0; i < zs->qn; i++)
        free(zs->q[(zs->qhead + i) % ZS_QUEUE].p);
    free(zs->cur.p);
    free(zs->wb.p);
    pthread_cond_destroy(&zs->cv);
    pthread_mutex_destroy(&zs->mu);
    free(zs);
    return e;
}

static err fast_sheet_add(xlsx_writer *w, const char *name)
{
    /* Excel's rules on a name, as libxlsxwriter checks them */
    if (w->fast_sheet || !name || !*name || utf8_chars(name) > 31 || strpbrk(name, "[]:*?/\\")) {
        fail(w, E_INTERNAL, "sheet", LXW_NO_ERROR);
        return E_INTERNAL;
    }
    w->sheet_name = strdup(name);
    if (!w->sheet_name) {
        fail(w, E_NOMEM, "sheet", LXW_NO_ERROR);
        return E_NOMEM;
    }
    w->fast_sheet = true;
    w->row = 0;
    w->style = S_PLAIN;
    return E_OK;
}

/* The decimal digits of v into buf; their count. */
static size_t put_u32(char *buf, uint32_t v)
{
    char t[10];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (size_t i = 0; i < n; i++)
        buf[i] = t[n - 1 - i];
    return n;
}

/* "A1"-style reference of column col, row row (0-based) into buf. */
static size_t cell_ref(char *buf, size_t col, uint32_t row)
{
    char letters[4];
    size_t n = 0;
    for (size_t c = col + 1; c; c = (c - 1) / 26)
        letters[n++] = (char)('A' + (c - 1) % 26);
    size_t k = 0;
    while (n)
        buf[k++] = letters[--n];
    return k + put_u32(buf + k, row + 1);
}

/* A date-time serial of whole seconds (xlsx_cell_datetime) as its day, a
 * point and eleven decimals (0.9 us), trailing zeros dropped: exact for
 * every second, where "%.16g" cost a multi-precision division per cell. */
static size_t put_serial(char *buf, double v)
{
    if (!(v >= 1 && v < 2958466)) /* outside 1900..9999 */
        return (size_t)snprintf(buf, 32, "%.16g", v);
    uint32_t day = (uint32_t)v;
    int64_t sec = llround((v - day) * 86400);
    if (sec >= 86400) {
        day++;
        sec -= 86400;
    }
    size_t k = put_u32(buf, day);
    if (!sec)
        return k;
    int64_t frac = (sec * 100000000000 + 43200) / 86400;
    char d[11];
    for (int i = 10; i >= 0; i--, frac /= 10)
        d[i] = (char)('0' + frac % 10);
    size_t n = 11;
    while (d[n - 1] == '0')
        n--;
    buf[k++] = '.';
    memcpy(buf + k, d, n);
    return k + n;
}

/* Append the n bytes at s to buf at *k. */
static void put(char *buf, size_t *k, const char *s, size_t n)
{
    memcpy(buf + *k, s, n);
    *k += n;
}
#define PUT(buf, k, lit) put(buf, k, lit, sizeof lit - 1)

/* The cells' XML without fprintf: a million rows of seven cells cost
 * seconds of format parsing otherwise. */
static void fast_flush_row(xlsx_writer *w)
{
    if (w->e == E_OK && w->ncells) {
        struct sbuf f = {.p = w->buf, .n = w->nbuf, .cap = w->cap_buf};
        int plain = w->style == S_HEADER ? 1 : w->style == S_HINT ? 2 : 0;
        char b[160];
        size_t k = 0;
        PUT(b, &k, "<row r=\"");
        k += put_u32(b + k, w->row + 1);
        PUT(b, &k, "\">");
        sb_put(&f, b, k);
        for (size_t i = 0; i < w->ncells; i++) {
            const struct wcell *c = &w->cells[i];
            if (c->kind == K_NONE)
                continue;
            k = 0;
            PUT(b, &k, "<c r=\"");
            k += cell_ref(b + k, i, w->row);
            int st = c->kind == K_DATE ? 3 : c->kind == K_DATETIME ? 4 : plain;
            if (st) {
                PUT(b, &k, "\" s=\"");
                b[k++] = (char)('0' + st);
            }
            if (c->kind == K_TEXT) {
                const char *t = w->text + c->off;
                size_t n = strlen(t);
                if (n && (t[0] == ' ' || t[n - 1] == ' '))
                    PUT(b, &k, "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">");
                else
                    PUT(b, &k, "\" t=\"inlineStr\"><is><t>");
                sb_put(&f, b, k);
                xml_put(&f, t, false);
                SB_LIT(&f, "</t></is></c>");
                continue;
            }
            PUT(b, &k, "\"><v>");
            if (c->kind == K_DATETIME)
                k += put_serial(b + k, c->num);
            else if (c->num == floor(c->num) && fabs(c->num) < 1e15)
                k += (size_t)snprintf(b + k, 24, "%lld", (long long)c->num);
            else
                k += (size_t)snprintf(b + k, 32, "%.16g", c->num);
            PUT(b, &k, "</v></c>");
            sb_put(&f, b, k);
        }
        SB_LIT(&f, "</row>");
        w->buf = f.p;
        w->nbuf = f.n;
        w->cap_buf = f.cap;
        if (f.bad)
            fail(w, E_NOMEM, "row", LXW_NO_ERROR);
        else if (w->nbuf >= FAST_CHUNK)
            zs_hand_over(w, false);
    }
    w->ncells = 0;
    w->next = 0;
    w->ntext = 0;
}

static err fast_finish(xlsx_writer *w)
{
    if (w->fast_sheet && w->ncells)
        flush_row(w);
    if (!w->fast_sheet && w->e == E_OK)
        fail(w, E_INTERNAL, "workbook without a sheet", LXW_NO_ERROR);
    /* a small sheet starts (and ends) the thread here, its size known */
    zs_hand_over(w, true);
    err e = w->e;
    if (w->zs) {
        err e2 = zs_finish(w, e == E_OK);
        if (e == E_OK)
            e = e2;
    }
    if (e != E_OK)
        unlink(w->path);
    return e;
}

/*
 * libxlsxwriter 1.1.4 (Debian 12) loses one copy of a list formula in
 * worksheet_data_validation_range (20 bytes or so per long drop-down list,
 * once per template): its bug, out of our reach, and not growing with any
 * input. Under AddressSanitizer that one is not reported, so that the
 * sanitizer runs still fail on every leak of ours. The library has no frame
 * pointers, so the stack the sanitizer records ends at lxw_strdup: the
 * suppression names it (a workbook we failed to close would still be
 * reported, by the allocations of workbook_new_opt).
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(FK_ASAN)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:lxw_strdup\n";
}
#endif

static void writer_free(xlsx_writer *w)
{
    free(w->buf);
    free(w->sheet_name);
    free(w->tmpdir);
    free(w->widths);
    free(w->cells);
    free(w->text);
    free(w->path);
    free(w);
}

/* Write the workbook; the writer stays for the caller to free. */
static err fast_finish(xlsx_writer *w);

static err finish(xlsx_writer *w)
{
    if (w->fast)
        return fast_finish(w);
    if (w->ws && w->ncells)
        flush_row(w);
    if (!w->ws && w->e == E_OK)
        fail(w, E_INTERNAL, "workbook without a sheet", LXW_NO_ERROR);
    err e = w->e;
    if (e != E_OK) {
        lxw_workbook_free(w->wb); /* nothing written */
    } else {
        errno = 0;
        lxw_error le = workbook_close(w->wb);
        if (le != LXW_NO_ERROR && err_errno_disk_full(errno)) {
            e = err_disk_full("xlsx export"); /* the zip's write or close */
        } else if (le != LXW_NO_ERROR) {
            log_event(LOG_ERROR, "xlsx_write_failed", "what", "close", "detail", lxw_strerror(le),
                      NULL);
            e = E_IO;
        }
    }
    w->wb = NULL;
    if (e != E_OK)
        unlink(w->path);
    return e;
}

err xlsx_close(xlsx_writer **wp)
{
    xlsx_writer *w = *wp;
    *wp = NULL;
    if (!w)
        return E_OK;
    err e = finish(w);
    if (e == E_OK && w->temp)
        unlink(w->path); /* nobody would know its name */
    writer_free(w);
    return e;
}

err xlsx_close_fd(xlsx_writer **wp, int *fd_r, int64_t *size_r)
{
    xlsx_writer *w = *wp;
    *wp = NULL;
    if (!w)
        return E_INTERNAL;
    err e = finish(w);
    if (e == E_OK) {
        int fd = open(w->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            log_event(LOG_ERROR, "xlsx_write_failed", "what", "reopen", "detail", strerror(errno),
                      NULL);
            if (fd >= 0)
                close(fd);
            e = E_IO;
        } else {
            *fd_r = fd;
            *size_r = (int64_t)st.st_size;
        }
        unlink(w->path);
    }
    writer_free(w);
    return e;
}

/*
 * The xlsx reader of xlsx.h: libzip for the package, expat for its XML,
 * both streamed.
 *
 * A workbook is a zip of XML parts found through relationships: _rels/.rels
 * names the workbook part, whose own .rels names its sheets, shared strings
 * and styles. The small parts (relationships, workbook, styles) and the
 * shared strings are read whole into memory (the strings under their own
 * cap); the sheet is parsed as it is decompressed, 64 KiB at a time, and
 * each row is handed to the caller as soon as it ends, so a sheet's size
 * costs time, not memory, and the row cap stops the read at the first row
 * past it.
 *
 * Every byte decompressed is counted against max_bytes, and against the
 * part's compressed size times max_ratio: the sizes a zip declares are not
 * trusted. Expat never sees a DOCTYPE through (no part of a workbook has
 * one), so no entity, internal or external, is ever expanded.
 */
#include "base/xlsx.h"

/* expat.h declares its DTD functions (the amplification limit below) only
 * with XML_DTD, which is how Debian builds the library */
#define XML_DTD 1
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "base/grow.h"
#include "base/time.h"

#define CHUNK         (64 * 1024)
#define RATIO_FLOOR   (1024 * 1024) /* a part is held to max_ratio past this many bytes */
#define EXCEL_ROWS    1048576
#define EXCEL_COLS    16384
#define EPOCH_SERIAL  25569     /* 1970-01-01 in Excel's 1900 date system */
#define SERIAL_MAX    2958466.0 /* 10000-01-01 */
#define DATE1904_DAYS 1462      /* from the 1900 to the 1904 date system */

static const struct xlsx_limits DEFAULTS = {
    .max_bytes = 256ull << 20,
    .max_ratio = 200,
    .max_rows = 100000,
    .max_cols = 256,
    .max_cell = 32767,
    .max_strings = 64ull << 20,
};

/* A growable byte buffer with a cap. */
struct buf {
    char *p;
    size_t n, cap;
};

static bool buf_put(struct buf *b, const char *s, size_t n)
{
    if (!GROW(&b->p, &b->cap, b->n, n + 1, 256))
        return false;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return true;
}

struct reader {
    zip_t *z;
    struct xlsx_limits lim;
    uint64_t total; /* bytes decompressed so far, all parts */
    char *chunk;

    /* from the relationships and the workbook */
    char *workbook;   /* part name of the workbook */
    const char *want; /* the sheet name asked for, or NULL */
    char *sheet_rid;  /* relationship id of the sheet to read */
    char *sheet_part, *strings_part, *styles_part;
    bool date1904;

    /* shared strings: NUL-terminated, one after the other */
    struct buf ss;
    size_t *ss_off;
    size_t ss_count, ss_cap;

    /* styles: which cell formats (xf index) show a date */
    bool *xf_date;
    size_t nxf, xf_cap;
    int *date_fmts; /* custom numFmtIds whose code is a date */
    size_t ndate_fmts, date_fmts_cap;

    xlsx_row_fn fn;
    void *ctx;
    struct xlsx_peek *peek; /* xlsx_peek_buffer's: stop after peek->rows rows */
};

/* The state of one part's parse. */
struct xp {
    struct reader *r;
    XML_Parser p;
    err e;     /* why the parse stopped */
    bool done; /* stopped on purpose: the rest of the part is not needed */
    const char *part;

    int depth;
    bool text_on; /* collect character data into `text` */
    int skip;     /* > 0 inside an <rPh> (phonetic run, not the text) */
    struct buf text;

    /* styles */
    bool in_numfmts, in_cellxfs;

    /* workbook relationships, resolved when read */
    /* sheet */
    bool in_sheetdata, in_c, in_v, in_is, in_f;
    long row, rows, prev_row;
    int col, prev_col;
    char ctype[16];
    long style;
    bool cell_formula, cell_has_v, cell_has_is;
    struct xlsx_cell *cells;
    size_t *cell_off; /* offset of each cell's text in rowtext, or SIZE_MAX: set */
    size_t ncells;
    bool row_value;
    struct buf rowtext;
};

/* ---- errors -------------------------------------------------------------- */

static err invalid(const char *fmt, const char *arg)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, arg);
    return err_set(E_INPUT, "invalid_xlsx", NULL, "文件不是有效的 Excel（.xlsx）文件：%s", msg);
}

/* Stop the parse with error e (the first one wins). */
static void stop(struct xp *x, err e)
{
    if (x->e == E_OK && !x->done)
        x->e = e;
    XML_StopParser(x->p, XML_FALSE);
}

static bool stopped(const struct xp *x)
{
    return x->e != E_OK || x->done;
}

void xlsx_col_name(int col, char out[XLSX_COL_NAME])
{
    char tmp[8];
    int n = 0;
    for (col = col < 0 ? 0 : col + 1; col > 0 && n < 7; col = (col - 1) / 26)
        tmp[n++] = (char)('A' + (col - 1) % 26);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

/* ---- names --------------------------------------------------------------- */

/* The local part of an expat name "namespace|local". */
static const char *local(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

/* The attribute whose local name is `name` (and, with `ns_tail`, whose
 * namespace ends with it), or NULL. */
static const char *attr(const char **atts, const char *name, const char *ns_tail)
{
    for (size_t i = 0; atts[i]; i += 2) {
        const char *a = atts[i];
        const char *bar = strrchr(a, '|');
        const char *l = bar ? bar + 1 : a;
        if (strcmp(l, name))
            continue;
        if (!ns_tail && !bar)
            return atts[i + 1];
        if (ns_tail && bar) {
            size_t nl = strlen(ns_tail), al = (size_t)(bar - a);
            if (al >= nl && !memcmp(bar - nl, ns_tail, nl))
                return atts[i + 1];
        }
    }
    return NULL;
}

/* Does `type` (a relationship type URI) end with "/" tail? */
static bool type_is(const char *type, const char *tail)
{
    size_t t = strlen(type), n = strlen(tail);
    return t > n && type[t - n - 1] == '/' && !strcmp(type + t - n, tail);
}

/*
 * The part name of relationship target `target` from a part in directory
 * `dir` ("" or "xl/"): an absolute target starts at the package root; ".."
 * climbs. NULL when it climbs out of the package or memory runs out.
 */
static char *resolve(const char *dir, const char *target)
{
    struct buf b = {0};
    const char *t = target;
    if (*t == '/') {
        t++;
    } else if (!buf_put(&b, dir, strlen(dir))) {
        return NULL;
    }
    while (!strncmp(t, "../", 3) || !strncmp(t, "./", 2)) {
        if (t[1] == '/') {
            t += 2;
            continue;
        }
        t += 3;
        /* drop the last directory of b ("xl/" -> "") */
        if (!b.n) {
            free(b.p);
            return NULL;
        }
        b.n--;
        while (b.n && b.p[b.n - 1] != '/')
            b.n--;
        b.p[b.n] = '\0';
    }
    if (!buf_put(&b, t, strlen(t))) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- reading a part ------------------------------------------------------ */

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    struct xp *x = ud;
    stop(x, invalid("含有不允许的文档类型声明（%s）", x->part));
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xp *x = ud;
    if (!x->text_on || x->skip || stopped(x))
        return;
    if (x->text.n + (size_t)len > x->r->lim.max_cell) {
        char c[XLSX_COL_NAME];
        xlsx_col_name(x->col, c);
        if (x->in_sheetdata)
            stop(x, err_set(E_INPUT, "xlsx_cell_too_long", NULL,
                            "第 %ld 行 %s 列的内容超过 %zu 字节的上限", x->row, c,
                            x->r->lim.max_cell));
        else
            stop(x, err_set(E_INPUT, "xlsx_cell_too_long", NULL,
                            "Excel 文件中有一段文字超过 %zu 字节的上限", x->r->lim.max_cell));
        return;
    }
    if (!buf_put(&x->text, s, (size_t)len))
        stop(x, E_NOMEM);
}

static void xp_init(struct xp *x, struct reader *r, const char *part)
{
    *x = (struct xp){.r = r, .part = part, .style = -1};
}

/*
 * Parse part `name` with the handlers set on x->p, counting its bytes.
 * *found_r (when not NULL) says whether the part exists; without it a
 * missing part is invalid_xlsx.
 */
static err parse_part(struct xp *x, const char *name, bool *found_r)
{
    struct reader *r = x->r;
    zip_int64_t idx = zip_name_locate(r->z, name, ZIP_FL_NOCASE);
    if (found_r)
        *found_r = idx >= 0;
    if (idx < 0)
        return found_r ? E_OK : invalid("缺少 %s", name);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(r->z, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_COMP_SIZE))
        return invalid("无法读取 %s", name);
    zip_file_t *f = zip_fopen_index(r->z, (zip_uint64_t)idx, 0);
    if (!f)
        return invalid("无法读取 %s（加密或不支持的压缩方式）", name);

    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    XML_SetUserData(x->p, x);
    uint64_t part = 0;
    err e = E_OK;
    for (;;) {
        zip_int64_t got = zip_fread(f, r->chunk, CHUNK);
        if (got < 0) {
            e = invalid("%s 已损坏", name);
            break;
        }
        part += (uint64_t)got;
        r->total += (uint64_t)got;
        if (r->total > r->lim.max_bytes) {
            e = err_set(E_INPUT, "xlsx_too_large", NULL, "Excel 文件解压后超过 %llu MB 的上限",
                        (unsigned long long)(r->lim.max_bytes >> 20));
            break;
        }
        if (part > RATIO_FLOOR && part / r->lim.max_ratio > st.comp_size) {
            e = err_set(E_INPUT, "xlsx_too_large", NULL,
                        "Excel 文件的压缩比异常（超过 %u 倍），已拒绝", r->lim.max_ratio);
            break;
        }
        if (XML_Parse(x->p, r->chunk, (int)got, got == 0) != XML_STATUS_OK) {
            if (x->done)
                break;
            e = x->e != E_OK ? x->e : invalid("%s 的 XML 格式错误", name);
            break;
        }
        if (got == 0)
            break;
    }
    zip_fclose(f);
    return e;
}

/* A namespace-aware parser (local names compared) for x. */
static err parser_new(struct xp *x)
{
    x->p = XML_ParserCreateNS(NULL, '|');
    if (!x->p)
        return E_NOMEM;
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 4)
    /* Never reached while a DOCTYPE is refused (on_doctype), so no entity
     * is ever declared; kept tight should that refusal ever go. */
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(x->p, 10.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(x->p, 64 * 1024);
#endif
    return E_OK;
}

static void xp_free(struct xp *x)
{
    if (x->p)
        XML_ParserFree(x->p);
    free(x->text.p);
    free(x->rowtext.p);
    free(x->cells);
    free(x->cell_off);
}

/* ---- relationships and the workbook -------------------------------------- */

struct rels {
    struct xp x;
    const char *dir;
    /* what is looked for */
    const char *want_type; /* _rels/.rels: the type of the workbook */
    const char *want_id;   /* workbook rels: the sheet's id */
    char **type_r, **id_r, **strings_r, **styles_r;
};

static void set_once(struct xp *x, char **slot, const char *dir, const char *target)
{
    if (*slot)
        return;
    *slot = resolve(dir, target);
    if (!*slot)
        stop(x, invalid("关系目标 %s 无效", target));
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct rels *rl = ud;
    if (strcmp(local(name), "Relationship"))
        return;
    const char *id = attr(atts, "Id", NULL), *type = attr(atts, "Type", NULL),
               *target = attr(atts, "Target", NULL), *mode = attr(atts, "TargetMode", NULL);
    if (!id || !type || !target || (mode && !strcmp(mode, "External")))
        return;
    if (rl->want_type && type_is(type, rl->want_type))
        set_once(&rl->x, rl->type_r, rl->dir, target);
    if (rl->want_id && !strcmp(id, rl->want_id))
        set_once(&rl->x, rl->id_r, rl->dir, target);
    if (rl->strings_r && type_is(type, "sharedStrings"))
        set_once(&rl->x, rl->strings_r, rl->dir, target);
    if (rl->styles_r && type_is(type, "styles"))
        set_once(&rl->x, rl->styles_r, rl->dir, target);
}

static err read_rels(struct rels *rl, const char *part, bool *found_r)
{
    err e = parser_new(&rl->x);
    if (e == E_OK) {
        XML_SetStartElementHandler(rl->x.p, rels_start);
        /* the handlers get the struct rels: x is its first member */
        e = parse_part(&rl->x, part, found_r);
    }
    xp_free(&rl->x);
    return e;
}

struct wb {
    struct xp x;
    bool any;
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct wb *w = ud;
    struct reader *r = w->x.r;
    const char *l = local(name);
    if (!strcmp(l, "workbookPr")) {
        const char *d = attr(atts, "date1904", NULL);
        r->date1904 = d && (!strcmp(d, "1") || !strcmp(d, "true"));
    } else if (!strcmp(l, "sheet") && !r->sheet_rid) {
        const char *nm = attr(atts, "name", NULL);
        const char *rid = attr(atts, "id", "/relationships");
        if (!nm || !rid)
            return;
        w->any = true;
        if (r->want && strcmp(r->want, nm))
            return;
        r->sheet_rid = strdup(rid);
        if (!r->sheet_rid)
            stop(&w->x, E_NOMEM);
    }
}

/* The directory of part `name`, "xl/" for "xl/workbook.xml", into out. */
static void dir_of(const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(name, '/');
    size_t n = slash ? (size_t)(slash - name + 1) : 0;
    if (n >= cap)
        n = 0;
    memcpy(out, name, n);
    out[n] = '\0';
}

static err find_sheet(struct reader *r)
{
    /* _rels/.rels names the workbook; xl/workbook.xml when it does not */
    struct rels root = {.dir = "", .want_type = "officeDocument", .type_r = &r->workbook};
    xp_init(&root.x, r, "_rels/.rels");
    bool found;
    err e = read_rels(&root, "_rels/.rels", &found);
    if (e != E_OK)
        return e;
    if (!r->workbook && !(r->workbook = strdup("xl/workbook.xml")))
        return E_NOMEM;

    struct wb w = {0};
    xp_init(&w.x, r, r->workbook);
    e = parser_new(&w.x);
    if (e == E_OK) {
        XML_SetStartElementHandler(w.x.p, wb_start);
        e = parse_part(&w.x, r->workbook, &found);
        if (e == E_OK && !found)
            e = invalid("缺少工作簿（%s）", r->workbook);
    }
    xp_free(&w.x);
    if (e != E_OK)
        return e;
    if (!r->sheet_rid) {
        if (!w.any || !r->want)
            return invalid("%s", "没有工作表");
        return err_set(E_INPUT, "xlsx_sheet_not_found", NULL, "Excel 文件中没有名为“%.60s”的工作表",
                       r->want);
    }

    /* the workbook's relationships: xl/_rels/workbook.xml.rels */
    char dir[512], relspart[1024];
    dir_of(r->workbook, dir, sizeof dir);
    const char *base = r->workbook + strlen(dir);
    snprintf(relspart, sizeof relspart, "%s_rels/%s.rels", dir, base);
    struct rels wr = {.dir = dir,
                      .want_id = r->sheet_rid,
                      .id_r = &r->sheet_part,
                      .strings_r = &r->strings_part,
                      .styles_r = &r->styles_part};
    xp_init(&wr.x, r, relspart);
    e = read_rels(&wr, relspart, NULL);
    if (e != E_OK)
        return e;
    if (!r->sheet_part)
        return invalid("%s", "没有工作表");
    return E_OK;
}

/* ---- styles -------------------------------------------------------------- */

/*
 * Does number format code `code` show a date or time? Text in quotes,
 * escaped and padding characters, and [bracketed] parts (colours, locales,
 * elapsed-time counts) say nothing; a d, m, y or h elsewhere does.
 */
static bool code_is_date(const char *code)
{
    for (const char *s = code; *s; s++) {
        switch (*s) {
        case '"': {
            const char *q = strchr(s + 1, '"');
            if (!q)
                return false;
            s = q;
            break;
        }
        case '\\':
        case '_':
        case '*':
            if (!s[1])
                return false;
            s++;
            break;
        case '[': {
            const char *q = strchr(s + 1, ']');
            if (!q)
                return false;
            s = q;
            break;
        }
        case 'd':
        case 'D':
        case 'm':
        case 'M':
        case 'y':
        case 'Y':
        case 'h':
        case 'H':
            return true;
        }
    }
    return false;
}

/* Built-in formats that show dates: 14-22 everywhere, 27-36 and 50-58 in
 * the Chinese, Japanese and Korean Excels (yyyy"年"m"月"d"日" and kin),
 * 45-47 minutes and seconds. */
static bool builtin_is_date(long id)
{
    return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
           (id >= 50 && id <= 58);
}

static bool parse_long(const char *s, long *v_r)
{
    if (!s || !*s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0)
        return false;
    *v_r = v;
    return true;
}

static void XMLCALL st_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xp *x = ud;
    struct reader *r = x->r;
    const char *l = local(name);
    if (!strcmp(l, "numFmts")) {
        x->in_numfmts = true;
    } else if (!strcmp(l, "cellXfs")) {
        x->in_cellxfs = true;
    } else if (x->in_numfmts && !strcmp(l, "numFmt")) {
        long id;
        const char *code = attr(atts, "formatCode", NULL);
        if (!parse_long(attr(atts, "numFmtId", NULL), &id) || !code || !code_is_date(code))
            return;
        if (!GROW(&r->date_fmts, &r->date_fmts_cap, r->ndate_fmts, 1, 16)) {
            stop(x, E_NOMEM);
            return;
        }
        r->date_fmts[r->ndate_fmts++] = (int)(id > 1000000 ? 1000000 : id);
    } else if (x->in_cellxfs && !strcmp(l, "xf")) {
        long id = 0;
        bool date = false;
        if (parse_long(attr(atts, "numFmtId", NULL), &id)) {
            date = builtin_is_date(id);
            for (size_t i = 0; !date && i < r->ndate_fmts; i++)
                date = r->date_fmts[i] == id;
        }
        if (!GROW(&r->xf_date, &r->xf_cap, r->nxf, 1, 64)) {
            stop(x, E_NOMEM);
            return;
        }
        r->xf_date[r->nxf++] = date;
    }
}

static void XMLCALL st_end(void *ud, const XML_Char *name)
{
    struct xp *x = ud;
    const char *l = local(name);
    if (!strcmp(l, "numFmts"))
        x->in_numfmts = false;
    else if (!strcmp(l, "cellXfs")) {
        x->in_cellxfs = false;
        x->done = true; /* the rest (fonts, fills, …) is not needed */
        XML_StopParser(x->p, XML_FALSE);
    }
}

static err read_styles(struct reader *r)
{
    if (!r->styles_part)
        return E_OK; /* no styles: nothing is a date */
    struct xp x;
    xp_init(&x, r, r->styles_part);
    err e = parser_new(&x);
    if (e == E_OK) {
        XML_SetElementHandler(x.p, st_start, st_end);
        bool found;
        e = parse_part(&x, r->styles_part, &found);
    }
    xp_free(&x);
    return e;
}

/* ---- text ---------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Undo OOXML's escape of characters XML cannot carry: "_x000D_" is a
 * carriage return, "_x005F_" an underscore. In place (never longer); the
 * new length.
 */
static size_t unescape(char *s, size_t n)
{
    if (!memchr(s, '_', n))
        return n;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '_' && i + 7 <= n && s[i + 1] == 'x' && s[i + 6] == '_') {
            int v = 0, k;
            for (k = 2; k < 6; k++) {
                int h = hexval(s[i + k]);
                if (h < 0)
                    break;
                v = v * 16 + h;
            }
            if (k == 6 && v > 0 && (v < 0xD800 || v > 0xDFFF)) {
                /* UTF-8 of v (at most 3 bytes for 4 hex digits, < 7) */
                if (v < 0x80) {
                    s[o++] = (char)v;
                } else if (v < 0x800) {
                    s[o++] = (char)(0xC0 | (v >> 6));
                    s[o++] = (char)(0x80 | (v & 0x3F));
                } else {
                    s[o++] = (char)(0xE0 | (v >> 12));
                    s[o++] = (char)(0x80 | ((v >> 6) & 0x3F));
                    s[o++] = (char)(0x80 | (v & 0x3F));
                }
                i += 7;
                continue;
            }
        }
        s[o++] = s[i++];
    }
    s[o] = '\0';
    return o;
}

/* ---- shared strings ------------------------------------------------------ */

static void XMLCALL ss_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    struct xp *x = ud;
    const char *l = local(name);
    if (!strcmp(l, "si")) {
        x->text.n = 0;
        if (x->text.p)
            x->text.p[0] = '\0';
    } else if (!strcmp(l, "rPh")) {
        x->skip++;
    } else if (!strcmp(l, "t")) {
        x->text_on = true;
    }
}

static void XMLCALL ss_end(void *ud, const XML_Char *name)
{
    struct xp *x = ud;
    struct reader *r = x->r;
    const char *l = local(name);
    if (!strcmp(l, "t")) {
        x->text_on = false;
    } else if (!strcmp(l, "rPh")) {
        x->skip--;
    } else if (!strcmp(l, "si")) {
        size_t n = x->text.p ? unescape(x->text.p, x->text.n) : 0;
        if (r->ss.n + n + 1 > r->lim.max_strings) {
            stop(x, err_set(E_INPUT, "xlsx_too_large", NULL, "Excel 文件的文字超过 %llu MB 的上限",
                            (unsigned long long)(r->lim.max_strings >> 20)));
            return;
        }
        if (!GROW(&r->ss_off, &r->ss_cap, r->ss_count, 1, 256)) {
            stop(x, E_NOMEM);
            return;
        }
        r->ss_off[r->ss_count++] = r->ss.n;
        if (!buf_put(&r->ss, x->text.p ? x->text.p : "", n) || !buf_put(&r->ss, "", 1))
            stop(x, E_NOMEM);
        x->text.n = 0;
    }
}

static err read_strings(struct reader *r)
{
    if (!r->strings_part)
        return E_OK; /* LibreOffice and streaming writers inline their strings */
    struct xp x;
    xp_init(&x, r, r->strings_part);
    err e = parser_new(&x);
    if (e == E_OK) {
        XML_SetElementHandler(x.p, ss_start, ss_end);
        XML_SetCharacterDataHandler(x.p, on_text);
        bool found;
        e = parse_part(&x, r->strings_part, &found);
    }
    xp_free(&x);
    return e;
}

/* ---- dates --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y_r = (int)(y + (m <= 2));
    *m_r = m;
    *d_r = d;
}

bool xlsx_serial_ms(double serial, int64_t *ms_r)
{
    if (!(serial >= 0 && serial < SERIAL_MAX))
        return false;
    double whole = floor(serial);
    int64_t day = (int64_t)whole;
    /* Excel counts a 29 February 1900: serials before 61 are a day early */
    if (day < 61)
        day++;
    int64_t in_day = llround((serial - whole) * (double)DAY_MS);
    *ms_r = (day - EPOCH_SERIAL) * DAY_MS + in_day - CHINA_OFFSET_MS;
    return true;
}

double xlsx_serial(int64_t ms)
{
    double real = (double)(ms + CHINA_OFFSET_MS) / (double)DAY_MS + EPOCH_SERIAL;
    return real < 61 ? real - 1 : real;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" of China time `ms`, to the second. */
static int date_text(int64_t ms, char out[24])
{
    int64_t local_s = ms + CHINA_OFFSET_MS;
    local_s = local_s >= 0 ? (local_s + 500) / 1000 : -((-local_s + 499) / 1000);
    int64_t day = local_s >= 0 ? local_s / 86400 : -((-local_s + 86399) / 86400);
    int64_t sec = local_s - day * 86400;
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    if (!sec)
        return snprintf(out, 24, "%04d-%02d-%02d", y, m, d);
    return snprintf(out, 24, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(sec / 3600),
                    (int)(sec / 60 % 60), (int)(sec % 60));
}

/* An ISO 8601 date or date-time of a t="d" cell, read as China time. */
static bool iso_ms(const char *s, int64_t *ms_r)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return false;
    s += n;
    if (*s == 'T' || *s == ' ') {
        int k = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
            return false;
        s += 1 + k;
        if (*s == ':') {
            if (sscanf(s + 1, "%2d%n", &sec, &k) != 1 || k != 2)
                return false;
            s += 1 + k;
            if (*s == '.')
                for (s++; *s >= '0' && *s <= '9'; s++)
                    ;
        }
        if (*s == 'Z')
            s++;
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1)
        return false;
    *ms_r =
        (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000LL - CHINA_OFFSET_MS;
    return true;
}

/* ---- the sheet ----------------------------------------------------------- */

/* Column (0-based) and row of a reference "B3"; false when malformed. */
static bool parse_ref(const char *s, int *col_r, long *row_r)
{
    long col = 0;
    const char *p = s;
    for (; *p >= 'A' && *p <= 'Z'; p++) {
        col = col * 26 + (*p - 'A' + 1);
        if (col > EXCEL_COLS)
            return false;
    }
    if (p == s)
        return false;
    long row;
    if (!parse_long(p, &row) || row < 1 || row > EXCEL_ROWS)
        return false;
    *col_r = (int)(col - 1);
    *row_r = row;
    return true;
}

static void row_reset(struct xp *x)
{
    x->ncells = 0;
    x->rowtext.n = 0;
    x->row_value = false;
    x->prev_col = -1;
}

/* Hand the row to the caller if it holds a value. */
static void row_end(struct xp *x)
{
    struct reader *r = x->r;
    if (!x->row_value)
        return;
    if (++x->rows > r->lim.max_rows) {
        stop(x, err_set(E_INPUT, "too_many_rows", NULL, "Excel 文件超过 %ld 行的上限（第 %ld 行）",
                        r->lim.max_rows, x->row));
        return;
    }
    for (size_t i = 0; i < x->ncells; i++)
        if (x->cell_off[i] != SIZE_MAX)
            x->cells[i].text = x->rowtext.p + x->cell_off[i];
    err e = r->fn(r->ctx, x->row, x->cells, x->ncells);
    if (e != E_OK) {
        stop(x, e);
    } else if (r->peek && x->rows >= r->peek->rows) {
        x->done = true; /* peeked: the rest is not read */
        XML_StopParser(x->p, XML_FALSE);
    }
}

static void XMLCALL sh_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xp *x = ud;
    if (stopped(x))
        return;
    const char *l = local(name);
    if (!x->in_sheetdata) {
        if (!strcmp(l, "sheetData")) {
            x->in_sheetdata = true;
        } else if (x->r->peek && !strcmp(l, "dimension")) {
            /* "A1:V100002", or "A1" for one cell: its last row */
            const char *ref = attr(atts, "ref", NULL), *c = ref ? strchr(ref, ':') : NULL;
            int col;
            long row;
            if (ref && parse_ref(c ? c + 1 : ref, &col, &row))
                x->r->peek->declared = row;
        }
        return;
    }
    if (!strcmp(l, "row")) {
        long row;
        const char *ra = attr(atts, "r", NULL);
        if (!ra)
            row = x->prev_row + 1;
        else if (!parse_long(ra, &row))
            row = 0;
        if (row <= x->prev_row || row > EXCEL_ROWS) {
            stop(x, invalid("第 %s 行的行号无效或顺序错乱", ra ? ra : "?"));
            return;
        }
        x->row = x->prev_row = row;
        row_reset(x);
    } else if (!strcmp(l, "c")) {
        const char *ra = attr(atts, "r", NULL), *t = attr(atts, "t", NULL),
                   *s = attr(atts, "s", NULL);
        int col = x->prev_col + 1;
        long row = x->row;
        if (ra && (!parse_ref(ra, &col, &row) || row != x->row)) {
            stop(x, invalid("单元格位置 %s 无效", ra));
            return;
        }
        if (col <= x->prev_col || col >= EXCEL_COLS) {
            stop(x, invalid("单元格 %s 的位置顺序错乱", ra ? ra : "?"));
            return;
        }
        x->col = x->prev_col = col;
        /* truncated as snprintf would (an over-long type is refused by
         * cell_end either way); not snprintf: once a cell */
        size_t tn = t ? strnlen(t, sizeof x->ctype - 1) : 1;
        memcpy(x->ctype, t ? t : "n", tn);
        x->ctype[tn] = '\0';
        if (!s || !parse_long(s, &x->style))
            x->style = -1;
        x->in_c = true;
        x->cell_formula = x->cell_has_v = x->cell_has_is = false;
        x->text.n = 0;
        if (x->text.p)
            x->text.p[0] = '\0';
    } else if (!x->in_c) {
        return;
    } else if (!strcmp(l, "v")) {
        x->in_v = x->text_on = x->cell_has_v = true;
    } else if (!strcmp(l, "f")) {
        x->cell_formula = true;
    } else if (!strcmp(l, "is")) {
        x->in_is = x->cell_has_is = true;
    } else if (x->in_is && !strcmp(l, "rPh")) {
        x->skip++;
    } else if (x->in_is && !strcmp(l, "t")) {
        x->text_on = true;
    }
}

/* Room for cell `col` in the row, gaps filled with empty cells. */
static struct xlsx_cell *cell_slot(struct xp *x, int col)
{
    struct reader *r = x->r;
    if (col >= r->lim.max_cols) { /* cell_end checks first: a bug if reached */
        stop(x, E_INTERNAL);
        return NULL;
    }
    if (!x->cells) {
        x->cells = calloc((size_t)r->lim.max_cols, sizeof *x->cells);
        x->cell_off = calloc((size_t)r->lim.max_cols, sizeof *x->cell_off);
        if (!x->cells || !x->cell_off) {
            stop(x, E_NOMEM);
            return NULL;
        }
    }
    while (x->ncells <= (size_t)col) {
        x->cells[x->ncells] = (struct xlsx_cell){.col = (int)x->ncells, .text = ""};
        x->cell_off[x->ncells] = SIZE_MAX;
        x->ncells++;
    }
    return &x->cells[col];
}

/* The cell just ended, typed and stored in the row. */
static void cell_end(struct xp *x)
{
    struct reader *r = x->r;
    const char *t = x->ctype;
    size_t n = x->text.p ? x->text.n : 0;
    char *v = x->text.p ? x->text.p : (char *)"";
    enum xlsx_type type = XLSX_EMPTY;
    const char *shared = NULL;
    double num = 0;
    int64_t ms = 0;
    char datebuf[24];

    if (!strcmp(t, "inlineStr")) {
        if (x->cell_has_is) {
            n = unescape(v, n);
            type = n ? XLSX_STRING : XLSX_EMPTY;
        }
    } else if (!x->cell_has_v || !n) {
        type = XLSX_EMPTY; /* a style only, or a formula never computed */
    } else if (!strcmp(t, "s")) {
        long i;
        if (!parse_long(v, &i) || (size_t)i >= r->ss_count) {
            stop(x, invalid("共享字符串序号 %s 无效", v));
            return;
        }
        shared = r->ss.p + r->ss_off[i];
        n = strlen(shared);
        type = n ? XLSX_STRING : XLSX_EMPTY;
    } else if (!strcmp(t, "str")) {
        n = unescape(v, n);
        type = n ? XLSX_STRING : XLSX_EMPTY;
    } else if (!strcmp(t, "b")) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            stop(x, invalid("逻辑值 %s 无效", v));
            return;
        }
        type = XLSX_BOOL;
        num = v[0] == '1';
        shared = v[0] == '1' ? "TRUE" : "FALSE";
        n = strlen(shared);
    } else if (!strcmp(t, "e")) {
        type = XLSX_ERROR;
    } else if (!strcmp(t, "d")) {
        if (!iso_ms(v, &ms)) {
            stop(x, invalid("日期 %s 无效", v));
            return;
        }
        type = XLSX_DATE;
        num = xlsx_serial(ms);
        n = (size_t)date_text(ms, datebuf);
        shared = datebuf;
    } else if (!strcmp(t, "n")) {
        char *end;
        num = strtod(v, &end);
        if (!n || *end || !isfinite(num)) {
            stop(x, invalid("数值 %s 无效", v));
            return;
        }
        type = XLSX_NUMBER;
        bool date = x->style >= 0 && (size_t)x->style < r->nxf && r->xf_date[x->style];
        if (date && xlsx_serial_ms(num + (r->date1904 ? DATE1904_DAYS : 0), &ms)) {
            type = XLSX_DATE;
            n = (size_t)date_text(ms, datebuf);
            shared = datebuf;
        }
    } else {
        stop(x, invalid("单元格类型 %s 无效", t));
        return;
    }

    if (type == XLSX_EMPTY && !x->cell_formula)
        return; /* nothing to report: the gap is filled when a later cell comes */
    if (x->col >= r->lim.max_cols) {
        char c[XLSX_COL_NAME];
        xlsx_col_name(x->col, c);
        stop(x, err_set(E_INPUT, "too_many_columns", NULL, "第 %ld 行 %s 列超出了 %d 列的上限",
                        x->row, c, r->lim.max_cols));
        return;
    }
    struct xlsx_cell *c = cell_slot(x, x->col);
    if (!c)
        return;
    c->type = type;
    c->formula = x->cell_formula;
    c->num = num;
    c->ms = ms;
    c->len = type == XLSX_EMPTY ? 0 : n;
    if (type == XLSX_EMPTY) {
        c->text = "";
    } else if (shared && shared != datebuf) {
        c->text = shared; /* the shared strings and literals outlive the row */
    } else {
        size_t off = x->rowtext.n;
        if (!buf_put(&x->rowtext, shared ? shared : v, n) || !buf_put(&x->rowtext, "", 1)) {
            stop(x, E_NOMEM);
            return;
        }
        x->cell_off[x->col] = off;
    }
    x->row_value = true;
}

static void XMLCALL sh_end(void *ud, const XML_Char *name)
{
    struct xp *x = ud;
    if (stopped(x) || !x->in_sheetdata)
        return;
    const char *l = local(name);
    if (x->in_c && !strcmp(l, "v")) {
        x->in_v = x->text_on = false;
    } else if (x->in_is && !strcmp(l, "t")) {
        x->text_on = false;
    } else if (x->in_is && !strcmp(l, "rPh")) {
        x->skip--;
    } else if (x->in_c && !strcmp(l, "is")) {
        x->in_is = false;
    } else if (x->in_c && !strcmp(l, "c")) {
        x->in_c = false;
        cell_end(x);
    } else if (!x->in_c && !strcmp(l, "row")) {
        row_end(x);
    } else if (!x->in_c && !strcmp(l, "sheetData")) {
        x->done = true; /* merged cells, hyperlinks, … are not needed */
        XML_StopParser(x->p, XML_FALSE);
    }
}

static err read_sheet(struct reader *r)
{
    struct xp x;
    xp_init(&x, r, r->sheet_part);
    err e = parser_new(&x);
    if (e == E_OK) {
        XML_SetElementHandler(x.p, sh_start, sh_end);
        XML_SetCharacterDataHandler(x.p, on_text);
        e = parse_part(&x, r->sheet_part, NULL);
    }
    xp_free(&x);
    return e;
}

/* ---- entry points -------------------------------------------------------- */

static void set_limits(struct xlsx_limits *dst, const struct xlsx_limits *src)
{
    *dst = src ? *src : DEFAULTS;
    if (!dst->max_bytes)
        dst->max_bytes = DEFAULTS.max_bytes;
    if (!dst->max_ratio)
        dst->max_ratio = DEFAULTS.max_ratio;
    if (dst->max_rows <= 0)
        dst->max_rows = DEFAULTS.max_rows;
    if (dst->max_cols <= 0)
        dst->max_cols = DEFAULTS.max_cols;
    if (dst->max_cols > EXCEL_COLS)
        dst->max_cols = EXCEL_COLS;
    if (!dst->max_cell)
        dst->max_cell = DEFAULTS.max_cell;
    if (!dst->max_strings)
        dst->max_strings = DEFAULTS.max_strings;
}

static err read_all(zip_t *z, const char *sheet, const struct xlsx_limits *lim, xlsx_row_fn fn,
                    void *ctx, struct xlsx_peek *peek)
{
    struct reader r = {.z = z, .want = sheet, .fn = fn, .ctx = ctx, .peek = peek};
    if (peek)
        peek->declared = 0;
    set_limits(&r.lim, lim);
    err e = (r.chunk = malloc(CHUNK)) ? E_OK : E_NOMEM;
    if (e == E_OK)
        e = find_sheet(&r);
    if (e == E_OK)
        e = read_styles(&r);
    if (e == E_OK)
        e = read_strings(&r);
    if (e == E_OK)
        e = read_sheet(&r);
    free(r.chunk);
    free(r.workbook);
    free(r.sheet_rid);
    free(r.sheet_part);
    free(r.strings_part);
    free(r.styles_part);
    free(r.ss.p);
    free(r.ss_off);
    free(r.xf_date);
    free(r.date_fmts);
    return e;
}

/* The error of a zip that could not be opened. */
/* The error of a zip that could not be opened; `head` holds its first n
 * bytes. An old .xls and an encrypted .xlsx are both OLE compound files:
 * users upload them often, and can fix it when told so. */
static err open_failed(int code, const void *head, size_t n)
{
    static const unsigned char ole[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    switch (code) {
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return E_IO;
    case ZIP_ER_MEMORY:
        return E_NOMEM;
    }
    if (n >= sizeof ole && !memcmp(head, ole, sizeof ole))
        return invalid(
            "%s",
            "这是旧版 .xls 或加了密码的文件，请用 Excel 或 WPS 另存为不加密的 .xlsx 后再上传");
    return invalid("%s", "无法作为 zip 压缩包打开");
}

err xlsx_read_file(const char *path, const char *sheet, const struct xlsx_limits *lim,
                   xlsx_row_fn fn, void *ctx)
{
    int code = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &code);
    if (!z) {
        unsigned char head[8];
        size_t n = 0;
        FILE *f = code == ZIP_ER_NOZIP ? fopen(path, "rb") : NULL;
        if (f) {
            n = fread(head, 1, sizeof head, f);
            fclose(f);
        }
        return open_failed(code, head, n);
    }
    err e = read_all(z, sheet, lim, fn, ctx, NULL);
    zip_discard(z);
    return e;
}

/* A workbook in memory, read through read_all. */
static err read_buffer(const void *data, size_t n, const char *sheet, const struct xlsx_limits *lim,
                       xlsx_row_fn fn, void *ctx, struct xlsx_peek *peek)
{
    if (!n)
        return invalid("%s", "文件为空");
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, n, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return E_NOMEM;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!z) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        zip_error_fini(&ze);
        return open_failed(code == ZIP_ER_READ || code == ZIP_ER_SEEK ? ZIP_ER_NOZIP : code, data,
                           n);
    }
    zip_error_fini(&ze);
    err e = read_all(z, sheet, lim, fn, ctx, peek);
    zip_discard(z); /* frees src too */
    return e;
}

err xlsx_read_buffer(const void *data, size_t n, const char *sheet, const struct xlsx_limits *lim,
                     xlsx_row_fn fn, void *ctx)
{
    return read_buffer(data, n, sheet, lim, fn, ctx, NULL);
}

err xlsx_peek_buffer(const void *data, size_t n, const char *sheet, const struct xlsx_limits *lim,
                     struct xlsx_peek *peek, xlsx_row_fn fn, void *ctx)
{
    if (peek->rows < 1)
        peek->rows = 1;
    return read_buffer(data, n, sheet, lim, fn, ctx, peek);
}

/*
 * Historical testing rounds (历史轮次; nat.h "historical rounds", docs/nat.md
 * "Historical rounds"): the rounds, their figures per street or school,
 * the figures' rules, the comparison of two rounds, and the spreadsheet
 * import of figures on the shared import worker (job/import.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "db/query.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "security/audit.h"

static const struct vocab_word round_kinds[] = {
    [NAT_ROUND_SCHOOL] = {"school", "中小学"},
    [NAT_ROUND_STREET] = {"street", "街道轮次"},
};
const struct vocab nat_round_kind_vocab = VOCAB("nat_round_kinds", "历史轮次类型", round_kinds);

/* ---- the pure rules ------------------------------------------------------------------------ */

err nat_round_figure_check(const struct nat_round_figure *f)
{
    if (f->planned < 0)
        return err_set(E_INPUT, "out_of_range", "planned", "应检人数不能为负数");
    if (f->tested < 0)
        return err_set(E_INPUT, "out_of_range", "tested", "已检人数不能为负数");
    if (f->positive < 0)
        return err_set(E_INPUT, "out_of_range", "positive", "阳性人数不能为负数");
    if (f->untested < -1)
        return err_set(E_INPUT, "out_of_range", "untested", "未检人数不能为负数");
    if (f->tested > f->planned)
        return err_set(E_INPUT, "tested_over_planned", "tested",
                       "已检人数（%lld）不能多于应检人数（%lld）", (long long)f->tested,
                       (long long)f->planned);
    if (f->positive > f->tested)
        return err_set(E_INPUT, "positive_over_tested", "positive",
                       "阳性人数（%lld）不能多于已检人数（%lld）", (long long)f->positive,
                       (long long)f->tested);
    if (f->untested > f->planned)
        return err_set(E_INPUT, "untested_over_planned", "untested",
                       "未检人数（%lld）不能多于应检人数（%lld）", (long long)f->untested,
                       (long long)f->planned);
    return E_OK;
}

/* ---- rounds -------------------------------------------------------------------------------- */

static err unknown_round(void)
{
    return err_set(E_NOT_FOUND, "unknown_round", NULL, "历史轮次不存在");
}

err nat_round_create(db *d, const struct principal *who, const struct nat_round_input *in,
                     int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO nat_rounds (id, name, kind, first_day, last_day, source, "
                       "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->name);
    db_bind_text(s, 3, vocab_name(&nat_round_kind_vocab, (size_t)in->kind));
    db_bind_int64(s, 4, in->first_day);
    db_bind_int64(s, 5, in->last_day);
    db_bind_text(s, 6, in->source ? in->source : "");
    db_bind_int64(s, 7, who->user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if (!(e = db_run(s, NULL)))
        *id_r = id;
    return e;
}

#define ROUND_COLS                                                                                 \
    "SELECT r.id, r.name, r.kind, r.first_day, r.last_day, r.source, r.created_at, r.updated_at"

static err round_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct nat_round *r = item;
    int k = vocab_parse(&nat_round_kind_vocab, db_col_text(s, 2));
    *r = (struct nat_round){
        .id = db_col_int64(s, 0),
        .name = arena_strdup(a, db_col_text(s, 1)),
        .kind = k > 0 ? (enum nat_round_kind)k : NAT_ROUND_STREET,
        .first_day = db_col_int64(s, 3),
        .last_day = db_col_int64(s, 4),
        .source = arena_strdup(a, db_col_text(s, 5)),
        .created_at = db_col_int64(s, 6),
        .updated_at = db_col_int64(s, 7),
    };
    return E_OK;
}

/* r->units: round r's figures rows in sc. */
static err units_count(db *d, const struct scope *sc, struct nat_round *r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM nat_round_figures WHERE round_id = ? AND street_code "
                       ">= ? AND street_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        r->units = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err nat_round_find(db *d, arena *a, const struct scope *sc, int64_t id, struct nat_round *r)
{
    db_stmt *s;
    err e = db_prepare(d, ROUND_COLS " FROM nat_rounds r WHERE r.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        e = round_read(s, a, r, NULL);
    db_done(s);
    if (!e && !row)
        e = unknown_round();
    return e ? e : units_count(d, sc, r);
}

err nat_round_list(db *d, arena *a, const struct scope *sc, const struct nat_round_filter *f,
                   struct nat_round **items_r, size_t *n_r, int64_t *total_r)
{
    /* a round is city-wide: the scope counts its units only */
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM nat_rounds r WHERE 1 = 1");
    if (f->kind) {
        query_sql(&w, " AND r.kind = ?");
        query_text(&w, vocab_name(&nat_round_kind_vocab, (size_t)f->kind));
    }
    if (f->from) {
        query_sql(&w, " AND r.last_day >= ?");
        query_int(&w, f->from);
    }
    if (f->to) {
        query_sql(&w, " AND r.first_day <= ?");
        query_int(&w, f->to);
    }
    void *page;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = ROUND_COLS,
                                            .order = " ORDER BY r.first_day DESC, r.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_round),
                                            .read = round_read},
                       &page, n_r, total_r);
    struct nat_round *v = page;
    for (size_t i = 0; !e && i < *n_r; i++)
        e = units_count(d, sc, &v[i]);
    if (!e)
        *items_r = v;
    return e;
}

/* ---- figures ------------------------------------------------------------------------------- */

static err unknown_street(void)
{
    return err_set(E_INPUT, "unknown_region", "region_code",
                   "街道不存在、不是街道级区划或不在您的管辖范围内");
}

/* E_OK when `code` is a street-level region in sc. */
static err street_check(db *d, const struct scope *sc, int64_t code)
{
    if (code < sc->lo || code >= sc->hi)
        return unknown_street();
    db_stmt *s;
    err e = db_prepare(d, "SELECT level FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    bool row;
    int64_t level = 0;
    if (!(e = db_row(s, &row)) && row)
        level = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    return level == LEVEL_STREET ? E_OK : unknown_street();
}

err nat_round_street(db *d, const struct scope *sc, const char *text, int64_t *code_r)
{
    enum region_level lv;
    int64_t code = regcode_parse(text, &lv);
    if (code > 0) {
        err e = street_check(d, sc, code);
        if (!e)
            *code_r = code;
        return e;
    }
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT code FROM regions WHERE name = ? AND level = ? AND code >= ? AND "
                       "code < ? ORDER BY code LIMIT 2",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, text);
    db_bind_int64(s, 2, LEVEL_STREET);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    bool row;
    int n = 0;
    int64_t found = 0;
    while (!(e = db_row(s, &row)) && row)
        if (n++ == 0)
            found = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (n > 1)
        return err_set(E_INPUT, "ambiguous_street", "region_code",
                       "管辖范围内有多个街道名为“%s”，请填写街道的区划代码", text);
    if (!n)
        return unknown_street();
    *code_r = found;
    return E_OK;
}

err nat_round_figure_put(db *d, const struct principal *who, const struct nat_round *r,
                         const struct nat_round_figure *f, bool *created_r)
{
    const char *school = f->school ? f->school : "";
    if (r->kind == NAT_ROUND_SCHOOL && !*school)
        return err_set(E_INPUT, "required", "school", "中小学轮次请填写学校名称");
    if (r->kind == NAT_ROUND_STREET && *school)
        return err_set(E_INPUT, "invalid_value", "school", "街道轮次不填写学校");
    err e = nat_round_figure_check(f);
    if (e || (e = street_check(d, &who->scope, f->street_code)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id FROM nat_round_figures WHERE round_id = ? AND street_code = ? "
                        "AND school = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, r->id);
    db_bind_int64(s, 2, f->street_code);
    db_bind_text(s, 3, school);
    bool row;
    int64_t id = 0;
    if (!(e = db_row(s, &row)) && row)
        id = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    int64_t now = now_ms();
    if (id)
        e = db_prepare(d,
                       "UPDATE nat_round_figures SET planned = ?, tested = ?, positive = ?, "
                       "untested = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                       &s);
    else
        e = db_prepare(d,
                       "INSERT INTO nat_round_figures (planned, tested, positive, untested, "
                       "updated_by, updated_at, id, round_id, street_code, school) VALUES (?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, f->planned);
    db_bind_int64(s, 2, f->tested);
    db_bind_int64(s, 3, f->positive);
    db_bind_int64(s, 4, f->untested);
    db_bind_int64(s, 5, who->user_id);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, id ? id : id_new());
    if (!id) {
        db_bind_int64(s, 8, r->id);
        db_bind_int64(s, 9, f->street_code);
        db_bind_text(s, 10, school);
    }
    if ((e = db_run(s, NULL)))
        return e;
    if (created_r)
        *created_r = !id;
    return E_OK;
}

err nat_round_touch(db *d, int64_t id)
{
    int64_t args[] = {now_ms(), id};
    return nat_run_ints(d, "UPDATE nat_rounds SET updated_at = ? WHERE id = ?", args, 2, NULL);
}

/* untested sums only the rows that gave it; -1 when none did */
#define FIGURE_SUMS                                                                                \
    "SUM(f.planned), SUM(f.tested), SUM(f.positive), COALESCE(SUM(CASE WHEN f.untested >= 0 "      \
    "THEN f.untested END), -1)"

static void figure_add_to(struct nat_round_figure *t, const struct nat_round_figure *x)
{
    t->planned += x->planned;
    t->tested += x->tested;
    t->positive += x->positive;
    if (x->untested >= 0)
        t->untested = (t->untested < 0 ? 0 : t->untested) + x->untested;
}

err nat_round_figures(db *d, arena *a, const struct scope *sc, int64_t round_id, bool by_street,
                      struct nat_round_figure **items_r, size_t *n_r,
                      struct nat_round_figure *total_r)
{
    static const char *const sql[2] = {
        "SELECT f.street_code, COALESCE(g.name, ''), f.school, f.planned, f.tested, f.positive, "
        "f.untested FROM nat_round_figures f LEFT JOIN regions g ON g.code = f.street_code WHERE "
        "f.round_id = ? AND f.street_code >= ? AND f.street_code < ? ORDER BY f.street_code, "
        "f.school",
        "SELECT f.street_code, COALESCE(MAX(g.name), ''), '', " FIGURE_SUMS
        " FROM nat_round_figures f LEFT JOIN regions g ON g.code = f.street_code WHERE f.round_id "
        "= ? AND f.street_code >= ? AND f.street_code < ? GROUP BY f.street_code ORDER BY "
        "f.street_code",
    };
    db_stmt *s;
    err e = db_prepare(d, sql[by_street], &s);
    if (e)
        return e;
    db_bind_int64(s, 1, round_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    struct nat_round_figure *v = NULL, t = {.untested = -1};
    size_t n = 0, cap = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            struct nat_round_figure *nv = arena_alloc(a, nc * sizeof *nv);
            if (n)
                memcpy(nv, v, n * sizeof *v);
            v = nv;
            cap = nc;
        }
        v[n] = (struct nat_round_figure){
            .street_code = db_col_int64(s, 0),
            .street_name = arena_strdup(a, db_col_text(s, 1)),
            .school = arena_strdup(a, db_col_text(s, 2)),
            .planned = db_col_int64(s, 3),
            .tested = db_col_int64(s, 4),
            .positive = db_col_int64(s, 5),
            .untested = db_col_int64(s, 6),
        };
        figure_add_to(&t, &v[n++]);
    }
    db_done(s);
    if (e)
        return e;
    *items_r = v;
    *n_r = n;
    *total_r = t;
    return E_OK;
}

err nat_round_compare(db *d, arena *a, const struct scope *sc, int64_t round_a, int64_t round_b,
                      struct nat_round_pair **items_r, size_t *n_r)
{
    struct nat_round_figure *fa, *fb, ta, tb;
    size_t na, nb;
    err e = nat_round_figures(d, a, sc, round_a, true, &fa, &na, &ta);
    if (e || (e = nat_round_figures(d, a, sc, round_b, true, &fb, &nb, &tb)))
        return e;
    /* both lists are ordered by street: merge them */
    struct nat_round_pair *v = arena_alloc(a, (na + nb + 1) * sizeof *v);
    const struct nat_round_figure none = {.planned = -1, .untested = -1, .school = ""};
    size_t i = 0, j = 0, n = 0;
    while (i < na || j < nb) {
        struct nat_round_pair *p = &v[n++];
        if (j == nb || (i < na && fa[i].street_code < fb[j].street_code)) {
            *p = (struct nat_round_pair){fa[i].street_code, fa[i].street_name, fa[i], none};
            i++;
        } else if (i == na || fb[j].street_code < fa[i].street_code) {
            *p = (struct nat_round_pair){fb[j].street_code, fb[j].street_name, none, fb[j]};
            j++;
        } else {
            *p = (struct nat_round_pair){fa[i].street_code, fa[i].street_name, fa[i], fb[j]};
            i++;
            j++;
        }
    }
    *items_r = v;
    *n_r = n;
    return E_OK;
}

/* ---- import -------------------------------------------------------------------------------- */

enum { C_STREET, C_SCHOOL, C_PLANNED, C_TESTED, C_POSITIVE, C_UNTESTED, C__COUNT };
static const char *const heads[C__COUNT] = {"街道",     "学校",     "应检人数",
                                            "已检人数", "阳性人数", "未检人数"};
/* the template's grey second row; a file that keeps it is read without it */
static const char *const hints[C__COUNT] = {
    "必填：街道名称或12位区划代码", "中小学轮次必填，街道轮次留空", "必填，整数",
    "必填，不多于应检人数",         "必填，不多于已检人数",         "选填"};
static const char *const col_fields[C__COUNT] = {"region_code", "school",   "planned",
                                                 "tested",      "positive", "untested"};

/* The header and NAT_ROUND_ROWS_MAX rows; one more is too many. */
static const struct xlsx_limits limits = {.max_rows = NAT_ROUND_ROWS_MAX + 2, .max_cols = 16};

struct run {
    bool apply; /* false: the request's check (header, rows) */
    bool header_seen;
    long data_rows;
    /* the apply pass */
    db *d;
    arena *a; /* reset between rows */
    const struct principal *who;
    const struct nat_round *round;
    int64_t job_id, total, created, replaced;
    struct import_failures fail;
    json_t *errors;
    err fatal;
};

static err row_fail(struct run *st, long row, const struct xlsx_cell *c, const char *field,
                    const char *slug, const char *msg)
{
    int col = -1;
    for (int i = 0; i < C__COUNT; i++)
        if (field && !strcmp(field, col_fields[i]))
            col = i;
    struct import_mark m = {col, msg};
    err e = import_failures_keep(&st->fail, row, c, C__COUNT, &m, 1);
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:s}", "row", (json_int_t)row, "code", slug, "field",
                  field ? field : "", "message", arena_printf(st->a, "第%ld行：%s", row, msg));
    if (o)
        json_array_append_new(st->errors, o);
    return e;
}

/* A count cell: a whole number (text, or a workbook's number); an empty
 * one is -1 (not given) when `optional`, else refused. */
static bool count_of(const struct xlsx_cell *c, bool optional, int64_t *v_r)
{
    const char *t = c->text;
    if (!*t) {
        *v_r = -1;
        return optional;
    }
    char *end;
    long long v = strtoll(t, &end, 10);
    if (*end == '.' && end[1] == '0' && !end[2]) /* a workbook's 12.0 */
        end += 2;
    if (end == t || *end || v < 0 || v > 1000000000LL)
        return false;
    *v_r = v;
    return true;
}

static err apply_row(struct run *st, long row, const struct xlsx_cell *c)
{
    struct nat_round_figure f = {.school = c[C_SCHOOL].text};
    static const int cols[] = {C_PLANNED, C_TESTED, C_POSITIVE, C_UNTESTED};
    int64_t *dst[] = {&f.planned, &f.tested, &f.positive, &f.untested};
    if (!*c[C_STREET].text)
        return row_fail(st, row, c, "region_code", "required", "请填写街道名称或区划代码");
    for (int i = 0; i < 4; i++)
        if (!count_of(&c[cols[i]], cols[i] == C_UNTESTED, dst[i]))
            return row_fail(st, row, c, col_fields[cols[i]], "invalid_value",
                            arena_printf(st->a, "%s应为不小于0的整数", heads[cols[i]]));
    err e = nat_round_street(st->d, &st->who->scope, c[C_STREET].text, &f.street_code);
    bool created = false;
    if (!e) {
        /* each row a savepoint: a refused one leaves nothing, the others go on */
        if (!(e = db_begin(st->d))) {
            e = nat_round_figure_put(st->d, st->who, st->round, &f, &created);
            if (e)
                db_rollback(st->d);
            else
                e = db_commit(st->d);
        }
    }
    if (e == E_INPUT) {
        const struct err_detail *x = err_last();
        char msg[sizeof x->message + 32];
        snprintf(msg, sizeof msg, "%s", x->message);
        e = row_fail(st, row, c, x->field, x->slug, arena_strdup(st->a, msg));
        err_clear();
        return e;
    }
    if (!e)
        *(created ? &st->created : &st->replaced) += 1;
    return e;
}

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    struct xlsx_cell c[C__COUNT];
    bool blank = import_cells(cells, n, c, C__COUNT);
    if (!st->header_seen) {
        st->header_seen = true;
        for (int i = 0; i < C_UNTESTED; i++)
            if (strcmp(c[i].text, heads[i]))
                return err_set(E_INPUT, "invalid_xlsx", NULL,
                               "第%ld行应为表头：街道、学校、应检人数、已检人数、阳性人数、"
                               "未检人数（请使用导入模板）",
                               row);
        return E_OK;
    }
    if (blank || !strcmp(c[C_STREET].text, hints[C_STREET]))
        return E_OK;
    if (st->data_rows++ == NAT_ROUND_ROWS_MAX)
        return err_set(E_INPUT, "too_many_rows", NULL, "一次最多导入%d行历史轮次数据",
                       NAT_ROUND_ROWS_MAX);
    if (!st->apply)
        return E_OK;
    if (st->data_rows % 1000 == 0)
        err_ignore(job_update(st->d, st->job_id, "running", st->data_rows, st->total, NULL));
    arena_reset(st->a);
    err e = apply_row(st, row, c);
    if (e && !st->fatal)
        st->fatal = e;
    return e;
}

static err read_all(const void *data, size_t n, bool csv, struct run *st)
{
    return import_read(data, n, csv, csv ? NULL : NAT_ROUND_SHEET, &limits, on_row, st);
}

err nat_round_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的文件");
    struct run st = {.apply = false};
    err e = read_all(data, n, csv, &st);
    if (e == E_INPUT && !csv && !strcmp(err_last()->slug, "xlsx_sheet_not_found")) {
        st = (struct run){.apply = false};
        e = import_read(data, n, false, NULL, &limits, on_row, &st);
    }
    if (!e && !st.data_rows)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有数据：请按模板填写后再导入");
    if (!e)
        *rows_r = st.data_rows;
    return e;
}

static void run_import(db *d, const struct import_upload *j)
{
    /* the round's id and kind: its texts are not read by the job */
    const struct nat_round round = {.id = j->ref, .kind = (enum nat_round_kind)j->opt};
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *kept = arena_new(1 << 16);
    arena *per_row = arena_new(1 << 12); /* one row's messages, reset between rows */
    struct run st = {.apply = true,
                     .d = d,
                     .a = per_row,
                     .who = &j->who,
                     .round = &round,
                     .job_id = j->job_id,
                     .total = j->rows,
                     .fail = {.a = kept},
                     .errors = json_array()};
    err_ignore(job_update(d, j->job_id, "running", 0, st.total, NULL)); /* display only */
    err e = kept && per_row && st.errors ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
    /* one transaction (each row a savepoint in it): one commit however
     * many rows, and a job that fails half-way leaves nothing */
    bool began = !e && !(e = db_begin(d));
    if (!e) {
        e = read_all(j->data, j->n, j->csv, &st);
        if (e == E_INPUT && !j->csv && !strcmp(err_last()->slug, "xlsx_sheet_not_found")) {
            st.header_seen = false;
            st.data_rows = 0;
            e = import_read(j->data, j->n, false, NULL, &limits, on_row, &st);
        }
    }
    if (!e && st.fatal)
        e = st.fatal;
    char detail[160];
    snprintf(detail, sizeof detail, "round=%lld total=%ld created=%lld replaced=%lld failed=%zu",
             (long long)round.id, st.data_rows, (long long)st.created, (long long)st.replaced,
             st.fail.n);
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action = "nat.round.import",
                             .object_type = "nat_round",
                             .object_id = round.id,
                             .result = "ok",
                             .detail = detail};
    if (!e && (st.created || st.replaced))
        e = nat_round_touch(d, round.id);
    if (!e && !(e = audit_log(d, &ae)))
        e = db_commit(d);
    if (e) {
        if (began)
            db_rollback(d);
        ae.result = "error"; /* nothing written: the attempt is still on record */
        snprintf(detail, sizeof detail, "round=%lld slug=%s", (long long)round.id, err_slug(e));
        err_ignore(audit_log(d, &ae));
        import_job_fail(d, j->job_id, "nat.round_import", e);
        json_decref(st.errors);
        goto out;
    }
    bool written = import_report_done(j->job_id, NAT_ROUND_SHEET, heads, C__COUNT, &st.fail);
    json_t *res =
        json_pack("{s:I,s:I,s:I,s:I,s:b,s:o}", "total", (json_int_t)st.data_rows, "created",
                  (json_int_t)st.created, "replaced", (json_int_t)st.replaced, "failed",
                  (json_int_t)st.fail.n, "report", written, "errors", st.errors);
    import_job_done(d, j->job_id, st.data_rows, res);
out:
    import_failures_free(&st.fail);
    arena_free(&kept);
    arena_free(&per_row);
}

err nat_round_template(int *fd_r, int64_t *size_r)
{
    return import_template(NAT_ROUND_SHEET, heads, hints, NULL, C__COUNT, fd_r, size_r);
}

err nat_round_import_submit(db *d, int64_t job_id, const struct principal *who,
                            const struct nat_round *r, const void *data, size_t n, bool csv,
                            long rows)
{
    struct import_upload u = {.job_id = job_id,
                              .who = *who,
                              .data = data,
                              .n = n,
                              .csv = csv,
                              .rows = rows,
                              .ref = r->id,
                              .opt = (unsigned)r->kind};
    return import_upload_submit(d, &u, run_import);
}

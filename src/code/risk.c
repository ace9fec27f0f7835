/*
 * Designated risk areas (中高风险地区, code.h "risk areas"): the published
 * list the risk_area_* rules read through the stays that name an area.
 * Create, list with filters, change (level, window: lift and reopen),
 * delete while unreferenced, and the spreadsheet import on the shared
 * import worker (job/import.h). A change of level or window recomputes the
 * codes of the people with a stay in the area in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "code/code.h"
#include "db/query.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"

static const char *const level_names[] = {"", "medium", "high"};
static const char *const level_labels[] = {"", "中风险", "高风险"};

static int level_of(const char *s)
{
    return !s ? 0 : !strcmp(s, "high") ? 2 : !strcmp(s, "medium") ? 1 : 0;
}

static err region_count(db *d, int64_t code, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    bool row;
    if (!(e = db_row(s, &row)))
        *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/*
 * The region of an area: a well-formed code, and one of the tree when the
 * tree holds its district (an unknown street of a district we keep is a
 * mistake). Risk areas are published for the whole country, so a code of
 * a district the tree does not hold is taken as it is (no name to show).
 * E_INPUT "invalid_region" naming field otherwise.
 */
static err region_known(db *d, const char *text, const char *field, int64_t *code_r)
{
    enum region_level l;
    int64_t code = regcode_parse(text, &l), n = 0, nd = 0;
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", field, "区划代码格式不正确");
    err e = region_count(d, code, &n);
    if (!e && !n && l > LEVEL_DISTRICT)
        e = region_count(d, regcode_at_most(code, LEVEL_DISTRICT), &nd);
    if (e)
        return e;
    if (!n && nd)
        return err_set(E_INPUT, "invalid_region", field, "所在区划不存在");
    *code_r = code;
    return E_OK;
}

static err window_check(int64_t from, int64_t to, const char *field)
{
    if (to && to < from)
        return err_set(E_INPUT, "invalid_time", field, "解除时间不能早于生效时间");
    return E_OK;
}

static err insert_area(db *d, int64_t user_id, const char *name, int level, int64_t region,
                       int64_t from, int64_t to, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO risk_areas (id, region_code, name, level, valid_from, "
                       "valid_to, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                       "?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, region);
    db_bind_text(s, 3, name);
    db_bind_int64(s, 4, level);
    db_bind_int64(s, 5, from);
    db_bind_int64(s, 6, to);
    db_bind_int64(s, 7, user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)) || (e = code_written(d, CODE_REC_RISK_AREA, id, region, false)))
        return e;
    *id_r = id;
    return E_OK;
}

err code_risk_area_add(db *d, const struct principal *who, json_t *b, int64_t *id_r)
{
    int64_t code = 0, from = json_int(b, "valid_from", 0), to = json_int(b, "valid_to", 0);
    const char *rc = json_str(b, "region_code");
    err e = rc ? region_known(d, rc, "region_code", &code) : E_OK;
    if (e || (e = window_check(from, to, "valid_to")) || (e = db_begin(d)))
        return e;
    /* one transaction: the area and its change-log entry (code_on_write) */
    if ((e = insert_area(d, who->user_id, json_str(b, "name"), level_of(json_str(b, "level")), code,
                         from, to, id_r)) ||
        (e = db_commit(d)))
        db_rollback(d);
    return e;
}

/* ---- reading ------------------------------------------------------------------------ */

#define AREA_COLS                                                                                  \
    "SELECT a.id, a.region_code, r.name, a.name, a.level, a.valid_from, a.valid_to, "              \
    "a.created_at, a.updated_at FROM risk_areas a LEFT JOIN regions r ON r.code = a.region_code"

static json_t *area_json(db_stmt *s, int64_t now)
{
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    int64_t code = db_col_int64(s, 1);
    if (code) {
        char out[19];
        regcode_format(code, out);
        json_object_set_new(o, "region_code", json_string(out));
    } else {
        json_object_set_new(o, "region_code", json_null());
    }
    json_object_set_new(o, "region_name", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "name", json_string(db_col_text(s, 3)));
    int level = db_col_int64(s, 4) == 2 ? 2 : 1;
    int64_t from = db_col_int64(s, 5), to = db_col_int64(s, 6);
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "level_label", json_string(level_labels[level]));
    json_object_set_new(o, "valid_from", json_integer(from));
    json_object_set_new(o, "valid_to", json_integer(to));
    const char *state = to && to <= now ? "ended" : from > now ? "pending" : "active";
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 7)));
    json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 8)));
    return o;
}

static void in_force(struct query *w, int64_t t)
{
    query_sql(w, " AND a.valid_from <= ? AND (a.valid_to = 0 OR a.valid_to > ?)");
    query_int(w, t);
    query_int(w, t);
}

err code_risk_areas(db *d, arena *a, const struct code_risk_filter *f, json_t **items_r,
                    int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    int64_t now = now_ms();
    query_sql(w, " WHERE 1 = 1");
    if (f->level) {
        query_sql(w, " AND a.level = ?");
        query_int(w, f->level);
    }
    if (f->q && *f->q) {
        query_sql(w, " AND lower(a.name) LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, true));
    }
    if (f->region_code) {
        query_sql(w, " AND a.region_code >= ? AND a.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->active_at)
        in_force(w, f->active_at);
    if (f->state == CODE_RISK_ACTIVE)
        in_force(w, now);
    else if (f->state == CODE_RISK_ENDED) {
        query_sql(w, " AND a.valid_to <> 0 AND a.valid_to <= ?");
        query_int(w, now);
    }
    struct query *count = arena_alloc(a, sizeof *count);
    *count = (struct query)QUERY_INIT;
    query_sql(count, "SELECT COUNT(*) FROM risk_areas a");
    query_append(count, w);
    int64_t total;
    err e = query_count(d, count, &total);
    if (e)
        return e;
    struct query *q = arena_alloc(a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    query_sql(q, AREA_COLS);
    query_append(q, w);
    query_sql(q, " ORDER BY a.valid_from DESC, a.id DESC");
    if (f->page_size) {
        query_sql(q, " LIMIT ? OFFSET ?");
        query_int(q, f->page_size);
        query_int(q, paging_offset(f->page, f->page_size));
    }
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row)
        json_array_append_new(arr, area_json(s, now));
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    *total_r = total;
    return E_OK;
}

err code_risk_area_get(db *d, int64_t id, json_t **o_r)
{
    db_stmt *s;
    err e = db_prepare(d, AREA_COLS " WHERE a.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    json_t *o = NULL;
    if (!(e = db_row(s, &row)) && row)
        o = area_json(s, now_ms());
    db_done(s);
    if (!e && !o)
        e = E_NOT_FOUND;
    if (!e)
        *o_r = o;
    return e;
}

/* ---- changes ------------------------------------------------------------------------ */

/* Recompute everyone with a stay in area `id` (one deferred batch), inside
 * the caller's transaction. */
static err refresh_stayers(db *d, arena *a, int64_t id, int64_t user_id)
{
    err e = code_defer_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if (!(e = db_prepare(d, "SELECT DISTINCT person_id FROM stays WHERE area_id = ?", &s))) {
        db_bind_int64(s, 1, id);
        bool row;
        while (!(e = db_row(s, &row)) && row)
            if ((e = code_refresh(d, a, db_col_int64(s, 0), "risk_area", user_id)))
                break;
        db_done(s);
    }
    if (!e)
        e = code_defer_flush(d, a);
    code_defer_end(d);
    return e;
}

struct area_row {
    int64_t region, from, to;
    int level;
    const char *name;
};

static err area_read(db *d, arena *a, int64_t id, struct area_row *r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT region_code, name, level, valid_from, valid_to FROM risk_areas WHERE id = ?",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        r->region = db_col_int64(s, 0);
        r->name = arena_strdup(a, db_col_text(s, 1));
        r->level = db_col_int64(s, 2) == 2 ? 2 : 1;
        r->from = db_col_int64(s, 3);
        r->to = db_col_int64(s, 4);
    }
    db_done(s);
    return e ? e : row ? E_OK : E_NOT_FOUND;
}

static const char *change(arena *a, const char *acc, const char *field, int64_t was, int64_t now)
{
    if (was == now)
        return acc;
    return arena_printf(a, "%s%s%s=%lld->%lld", acc, *acc ? " " : "", field, (long long)was,
                        (long long)now);
}

/*
 * Check the PATCH body against area `id` and, when something changed, write
 * it, inside the caller's transaction. *changed_r: "field=old->new …" ("":
 * nothing changed, nothing written); *rules_see_r: the level or the window
 * changed (the rules read them).
 */
static err area_apply(db *d, arena *a, int64_t id, json_t *b, const char **changed_r,
                      bool *rules_see_r)
{
    struct area_row old, neu;
    err e = area_read(d, a, id, &old);
    if (e)
        return e;
    neu = old;
    const char *s;
    if ((s = json_str(b, "name")))
        neu.name = s;
    if ((s = json_str(b, "level")))
        neu.level = level_of(s);
    json_t *rc = json_object_get(b, "region_code");
    if (rc && json_is_null(rc))
        neu.region = 0;
    else if (rc && (e = region_known(d, json_string_value(rc), "region_code", &neu.region)))
        return e;
    neu.from = json_int(b, "valid_from", old.from);
    neu.to = json_int(b, "valid_to", old.to);
    if ((e = window_check(neu.from, neu.to,
                          json_object_get(b, "valid_to") ? "valid_to" : "valid_from")))
        return e;
    const char *acc = "";
    if (strcmp(old.name, neu.name))
        acc = arena_printf(a, "name=%s->%s", old.name, neu.name);
    acc = change(a, acc, "level", old.level, neu.level);
    acc = change(a, acc, "region_code", old.region, neu.region);
    acc = change(a, acc, "valid_from", old.from, neu.from);
    acc = change(a, acc, "valid_to", old.to, neu.to);
    *changed_r = acc;
    *rules_see_r = old.level != neu.level || old.from != neu.from || old.to != neu.to;
    if (!*acc)
        return E_OK;
    db_stmt *st;
    if ((e = db_prepare(d,
                        "UPDATE risk_areas SET name = ?, level = ?, region_code = ?, valid_from "
                        "= ?, valid_to = ?, updated_at = ? WHERE id = ?",
                        &st)))
        return e;
    db_bind_text(st, 1, neu.name);
    db_bind_int64(st, 2, neu.level);
    db_bind_int64(st, 3, neu.region);
    db_bind_int64(st, 4, neu.from);
    db_bind_int64(st, 5, neu.to);
    db_bind_int64(st, 6, now_ms());
    db_bind_int64(st, 7, id);
    if ((e = db_run(st, NULL)))
        return e;
    /* a preview rolls this back with the change */
    return code_written(d, CODE_REC_RISK_AREA, id, neu.region, false);
}

err code_risk_area_update(db *d, arena *a, const struct principal *who, int64_t id, json_t *b,
                          const char **changed_r)
{
    bool rules_see = false;
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = area_apply(d, a, id, b, changed_r, &rules_see)) ||
        (rules_see && (e = refresh_stayers(d, a, id, who->user_id))) || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    return E_OK;
}

err code_risk_area_preview(db *d, arena *a, const struct principal *who, int64_t id, json_t *b,
                           const char **changed_r, json_t **o_r)
{
    (void)who; /* the list is national: anyone with zone.write may preview */
    bool rules_see = false;
    struct code_zone_effect x = {0};
    err e = db_begin(d);
    if (e)
        return e;
    /* the change is seen by the evaluation inside this transaction, and
     * never committed */
    if (!(e = area_apply(d, a, id, b, changed_r, &rules_see)) && rules_see)
        e = code_effect_of(d, a,
                           "SELECT id, region_code, status FROM persons WHERE deleted_at = 0 AND "
                           "id IN (SELECT person_id FROM stays WHERE area_id = ?)",
                           id, &x);
    db_rollback(d);
    return e ? e : code_effect_json(d, a, &x, o_r);
}

err code_risk_area_delete(db *d, arena *a, int64_t id, const char **detail_r)
{
    struct area_row old;
    err e = area_read(d, a, id, &old);
    if (e)
        return e;
    int64_t n = 0;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT COUNT(*) FROM stays WHERE area_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)))
        n = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if (n)
        return err_set(E_CONFLICT, "risk_area_in_use", NULL,
                       "该地区已有%lld条旅居记录引用，不能删除；请改为解除", (long long)n);
    /* the stay test again in the statement: a stay written since the count
     * keeps the area; the delete and its change-log entry in one transaction */
    if ((e = db_begin(d)))
        return e;
    if ((e = db_prepare(d,
                        "DELETE FROM risk_areas WHERE id = ? AND NOT EXISTS (SELECT 1 FROM "
                        "stays WHERE area_id = ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, id);
    int64_t gone = 0;
    if ((e = db_run(s, &gone)))
        goto fail;
    if (!gone) {
        e = err_set(E_CONFLICT, "risk_area_in_use", NULL,
                    "该地区已有旅居记录引用，不能删除；请改为解除");
        goto fail;
    }
    if ((e = code_written(d, CODE_REC_RISK_AREA, id, old.region, true)) || (e = db_commit(d)))
        goto fail;
    *detail_r = arena_printf(a, "name=%s level=%s", old.name, level_names[old.level]);
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- import ----------------------------------------------------------------------------- */

#define RISK_SHEET    "中高风险地区"
#define RISK_ROWS_MAX 10000

enum { C_NAME, C_LEVEL, C_REGION, C_FROM, C_TO, C__COUNT };
/* the template's heads: an asterisk marks a required column (a file may drop it) */
static const char *const heads[C__COUNT] = {"地区名称*", "风险等级*", "所在区划代码", "生效时间*",
                                            "解除时间"};
static const char *const hints[C__COUNT] = {"必填，不超过100字", "必填：中风险 或 高风险",
                                            "选填：12位区划代码", "必填：如 2026-12-01 08:00",
                                            "选填：留空表示未解除"};
static const char *const col_fields[C__COUNT] = {"name", "level", "region_code", "valid_from",
                                                 "valid_to"};

static const struct xlsx_limits limits = {.max_rows = RISK_ROWS_MAX + 2, .max_cols = 16};

err code_risk_template(int *fd_r, int64_t *size_r)
{
    static const double widths[C__COUNT] = {30, 16, 20, 22, 22};
    return import_template(RISK_SHEET, heads, hints, widths, C__COUNT, fd_r, size_r);
}

struct run {
    bool apply; /* false: the request's check (header, rows) */
    bool header_seen;
    long data_rows;
    /* the apply pass */
    db *d;
    arena *a; /* reset between rows */
    const struct principal *who;
    int64_t job_id, total, created, existing;
    struct import_failures fail;
    json_t *errors;
    err fatal;
};

static err row_fail(struct run *st, long row, const struct xlsx_cell *c, int col, const char *slug,
                    const char *msg)
{
    struct import_mark m = {col, msg};
    err e = import_failures_keep(&st->fail, row, c, C__COUNT, &m, 1);
    json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "row", (json_int_t)row, "code", slug, "field",
                          col >= 0 ? col_fields[col] : "", "message",
                          arena_printf(st->a, "第%ld行：%s", row, msg));
    if (o)
        json_array_append_new(st->errors, o);
    return e;
}

/* The trimmed text of a cell, in st->a. */
static const char *trimmed(struct run *st, const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return arena_strndup(st->a, s, n);
}

/* An area with this name, level and start already listed. */
static err listed(db *d, const char *name, int level, int64_t from, bool *yes_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT COUNT(*) FROM risk_areas WHERE name = ? AND level = ? AND valid_from = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, level);
    db_bind_int64(s, 3, from);
    bool row;
    if (!(e = db_row(s, &row)))
        *yes_r = row && db_col_int64(s, 0) > 0;
    db_done(s);
    return e;
}

static err apply_row(struct run *st, long row, const struct xlsx_cell *c)
{
    const char *name = trimmed(st, c[C_NAME].text);
    const char *lv = trimmed(st, c[C_LEVEL].text);
    const char *rc = trimmed(st, c[C_REGION].text);
    const char *from_t = trimmed(st, c[C_FROM].text), *to_t = trimmed(st, c[C_TO].text);
    int level = !strcmp(lv, "高风险") ? 2 : !strcmp(lv, "中风险") ? 1 : 0;
    int64_t from = 0, to = 0, region = 0;
    for (int i = 0; i < C__COUNT; i++)
        if (c[i].formula)
            return row_fail(st, row, c, i, "invalid_value",
                            "单元格含有公式，请复制后“粘贴为数值”再导入");
    if (!*name)
        return row_fail(st, row, c, C_NAME, "required", "请填写地区名称");
    if (!utf8_valid_text(name) || utf8_len(name) > 100)
        return row_fail(st, row, c, C_NAME, "too_long", "地区名称不能超过100个字");
    if (!level)
        return row_fail(st, row, c, C_LEVEL, "invalid_value", "风险等级应为“中风险”或“高风险”");
    if (!*from_t)
        return row_fail(st, row, c, C_FROM, "required", "请填写生效时间");
    if (!china_time_parse(from_t, &from) || from <= 0 || from > CODE_TIME_MAX)
        return row_fail(st, row, c, C_FROM, "invalid_value",
                        "生效时间格式不正确，应如 2026-12-01 08:00");
    if (*to_t && (!china_time_parse(to_t, &to) || to <= 0 || to > CODE_TIME_MAX))
        return row_fail(st, row, c, C_TO, "invalid_value",
                        "解除时间格式不正确，应如 2026-12-15 08:00");
    if (to && to < from)
        return row_fail(st, row, c, C_TO, "invalid_time", "解除时间不能早于生效时间");
    err e;
    if (*rc && (e = region_known(st->d, rc, "region_code", &region))) {
        if (e != E_INPUT)
            return e;
        const char *msg = arena_strdup(st->a, err_last()->message);
        err_clear();
        return row_fail(st, row, c, C_REGION, "invalid_region", msg);
    }
    bool seen = false;
    if ((e = listed(st->d, name, level, from, &seen)))
        return e;
    if (seen) {
        st->existing++;
        return E_OK;
    }
    int64_t id;
    if ((e = insert_area(st->d, st->who->user_id, name, level, region, from, to, &id)))
        return e;
    st->created++;
    return E_OK;
}

static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct run *st = ctx;
    struct xlsx_cell c[C__COUNT];
    bool blank = import_cells(cells, n, c, C__COUNT);
    if (!st->header_seen) {
        st->header_seen = true;
        for (int i = 0; i < C__COUNT; i++) {
            const char *t = c[i].text;
            size_t hn = strcspn(heads[i], "*");
            if (strncmp(t, heads[i], hn) || (t[hn] && strcmp(t + hn, "*")))
                return err_set(E_INPUT, "invalid_xlsx", NULL,
                               "第%ld行应为表头：地区名称、风险等级、所在区划代码、生效时间、"
                               "解除时间（请使用导入模板）",
                               row);
        }
        return E_OK;
    }
    if (blank || !strcmp(c[C_NAME].text, hints[C_NAME]))
        return E_OK;
    if (st->data_rows++ == RISK_ROWS_MAX)
        return err_set(E_INPUT, "too_many_rows", NULL, "一次最多导入%d行", RISK_ROWS_MAX);
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
    err e = import_read(data, n, csv, csv ? NULL : RISK_SHEET, &limits, on_row, st);
    if (e == E_INPUT && !csv && !strcmp(err_last()->slug, "xlsx_sheet_not_found")) {
        st->header_seen = false;
        st->data_rows = 0;
        e = import_read(data, n, false, NULL, &limits, on_row, st);
    }
    return e;
}

err code_risk_import_check(const void *data, size_t n, bool csv, long *rows_r)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的文件");
    struct run st = {.apply = false};
    err e = read_all(data, n, csv, &st);
    if (!e && !st.data_rows)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有数据：请按模板填写后再导入");
    if (!e)
        *rows_r = st.data_rows;
    return e;
}

static void run_import(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *kept = arena_new(1 << 16);
    arena *per_row = arena_new(1 << 12); /* one row's messages, reset between rows */
    struct run st = {.apply = true,
                     .d = d,
                     .a = per_row,
                     .who = &j->who,
                     .job_id = j->job_id,
                     .total = j->rows,
                     .fail = {.a = kept},
                     .errors = json_array()};
    err_ignore(job_update(d, j->job_id, "running", 0, st.total, NULL)); /* display only */
    err e = kept && per_row && st.errors ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
    /* one transaction: a job that fails half-way leaves nothing (new areas
     * need no recompute: no stay names them yet) */
    bool began = !e && !(e = db_begin(d));
    if (!e)
        e = read_all(j->data, j->n, j->csv, &st);
    if (!e && st.fatal)
        e = st.fatal;
    char detail[160];
    snprintf(detail, sizeof detail, "total=%ld created=%lld existing=%lld failed=%zu", st.data_rows,
             (long long)st.created, (long long)st.existing, st.fail.n);
    struct audit_entry ae = {.user_id = j->who.user_id,
                             .username = j->who.username,
                             .role = j->who.roles,
                             .ip = "",
                             .action = "risk_area.import",
                             .object_type = "job",
                             .object_id = j->job_id,
                             .result = "ok",
                             .detail = detail};
    if (!e && !(e = audit_log(d, &ae)))
        e = db_commit(d);
    if (e) {
        if (began)
            db_rollback(d);
        ae.result = "error"; /* nothing written: the attempt is still on record */
        snprintf(detail, sizeof detail, "slug=%s", err_slug(e));
        err_ignore(audit_log(d, &ae));
        import_job_fail(d, j->job_id, "risk_area.import", e);
        json_decref(st.errors);
        goto out;
    }
    bool written = import_report_done(j->job_id, RISK_SHEET, heads, C__COUNT, &st.fail);
    json_t *res =
        json_pack("{s:I,s:I,s:I,s:I,s:b,s:o}", "total", (json_int_t)st.data_rows, "created",
                  (json_int_t)st.created, "existing", (json_int_t)st.existing, "failed",
                  (json_int_t)st.fail.n, "report", written, "errors", st.errors);
    import_job_done(d, j->job_id, st.data_rows, res);
out:
    import_failures_free(&st.fail);
    arena_free(&kept);
    arena_free(&per_row);
}

err code_risk_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                            size_t n, bool csv, long rows)
{
    struct import_upload u = {
        .job_id = job_id, .who = *who, .data = data, .n = n, .csv = csv, .rows = rows};
    return import_upload_submit(d, &u, run_import);
}

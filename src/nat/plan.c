/*
 * Industries and mass-testing plans (nat.h): the plan, its planned figures
 * per street and industry (entered, or derived from the registry), the
 * actual counter the sampling part increments, and the streets'
 * corrections kept beside it.
 *
 * A plan's region is its creator's; it is visible to every scope that
 * overlaps it (a street reads its district's plan) but changed only by a
 * scope that holds it. Its figures are rows keyed by street: a reader sees
 * and a street corrects only the rows of streets inside its scope.
 */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/query.h"
#include "nat/nat.h"

/* ---- industries -------------------------------------------------------------------- */

static err check_industry_name(const char *name)
{
    return check_text(name, "name", "行业名称", NAT_INDUSTRY_NAME_MAX, TEXT_REQUIRED);
}

static err industry_name_free(db *d, const char *name, int64_t except)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT 1 FROM nat_industries WHERE name = ? AND deleted_at = 0 AND id <> ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, except);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (!e && row)
        e = err_set(E_CONFLICT, "duplicate_industry", "name", "行业“%s”已存在", name);
    return e;
}

#define INDUSTRY_COLS                                                                              \
    "SELECT i.id, i.name, i.sort, (SELECT COUNT(*) FROM enterprises e WHERE e.deleted_at = 0 AND " \
    "e.industry = i.name) FROM nat_industries i WHERE i.deleted_at = 0"

static void industry_read(db_stmt *s, arena *a, struct nat_industry *i)
{
    *i = (struct nat_industry){
        .id = db_col_int64(s, 0),
        .name = arena_strdup(a, db_col_text(s, 1)),
        .sort = db_col_int64(s, 2),
        .enterprises = db_col_int64(s, 3),
    };
}

err nat_industry_list(db *d, arena *a, struct nat_industry **items_r, size_t *n_r)
{
    int64_t total;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM nat_industries WHERE deleted_at = 0", &total);
    if (e)
        return e;
    struct nat_industry *items = arena_alloc(a, (size_t)(total + 1) * sizeof *items);
    db_stmt *s;
    if ((e = db_prepare(d, INDUSTRY_COLS " ORDER BY i.sort, i.name, i.id", &s)))
        return e;
    size_t n = 0;
    bool row;
    while ((int64_t)n < total && !(e = db_row(s, &row)) && row)
        industry_read(s, a, &items[n++]);
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err nat_industry_find(db *d, arena *a, int64_t id, struct nat_industry *i_r)
{
    db_stmt *s;
    err e = db_prepare(d, INDUSTRY_COLS " AND i.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        industry_read(s, a, i_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return e;
}

err nat_industry_create(db *d, const char *name, int64_t sort, int64_t *id_r)
{
    err e = check_industry_name(name);
    if (!e && (sort < 0 || sort > 10000))
        e = err_set(E_INPUT, "out_of_range", "sort", "排序应在0到10000之间");
    if (!e)
        e = industry_name_free(d, name, 0);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO nat_industries (id, name, sort, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, name);
    db_bind_int64(s, 3, sort);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err nat_industry_update(db *d, int64_t id, const char *name, int64_t sort)
{
    err e = E_OK;
    if (!name && sort < 0)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    if (name && (e = check_industry_name(name)))
        return e;
    if (sort > 10000)
        return err_set(E_INPUT, "out_of_range", "sort", "排序应在0到10000之间");
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT name FROM nat_industries WHERE id = ? AND deleted_at = 0", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    char old[256] = "";
    if (!(e = db_row(s, &row)) && row)
        snprintf(old, sizeof old, "%s", db_col_text(s, 0));
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!e && name)
        e = industry_name_free(d, name, id);
    if (e)
        return e;
    if ((e = db_prepare(
             d,
             "UPDATE nat_industries SET name = COALESCE(?, name), sort = CASE WHEN ? < 0 "
             "THEN sort ELSE ? END, updated_at = ? WHERE id = ?",
             &s)))
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, sort);
    db_bind_int64(s, 3, sort);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    if ((e = db_run(s, NULL)) || !name || !strcmp(old, name))
        return e;
    /* enterprises name their industry by its name: they follow the rename */
    if ((e = db_prepare(
             d, "UPDATE enterprises SET industry = ? WHERE industry = ? AND deleted_at = 0", &s)))
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, old);
    return db_run(s, NULL);
}

err nat_industry_delete(db *d, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM nat_plan_figures WHERE industry_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "industry_in_use", NULL,
                       "已有应检计划使用该行业的统计数据，不能删除");
    if ((e = db_prepare(d,
                        "UPDATE nat_industries SET deleted_at = ?, updated_at = ? WHERE id = ? AND "
                        "deleted_at = 0",
                        &s)))
        return e;
    int64_t now = now_ms(), changed;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    if ((e = db_run(s, &changed)))
        return e;
    return changed ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}

/* ---- plans ------------------------------------------------------------------------- */

static err check_plan_input(const struct nat_plan_input *in, bool create, int64_t starts,
                            int64_t ends)
{
    err e = E_OK, x;
    err_collect_begin();
    if (create && !in->number)
        e = err_add(e, E_INPUT, "required", "number", "请填写计划编号");
    if (in->number) {
        size_t n = strlen(in->number);
        bool ok = n >= 1 && n <= NAT_PLAN_NUMBER_MAX &&
                  strspn(in->number, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == n;
        if (!ok)
            e = err_add(e, E_INPUT, "invalid_value", "number",
                        "计划编号应为1到%d位字母、数字、“-”或“_”", NAT_PLAN_NUMBER_MAX);
    }
    if (create && !in->name)
        e = err_add(e, E_INPUT, "required", "name", "请填写计划名称");
    if (in->name && (x = check_text(in->name, "name", "计划名称", 100, TEXT_REQUIRED)))
        e = e ? e : x;
    if (create && !in->starts_at)
        e = err_add(e, E_INPUT, "required", "starts_at", "请填写开始时间");
    if (create && !in->ends_at)
        e = err_add(e, E_INPUT, "required", "ends_at", "请填写结束时间");
    if (starts > 0 && ends > 0 && starts >= ends)
        e = err_add(e, E_INPUT, "invalid_value", "ends_at", "结束时间应晚于开始时间");
    err_collect_end();
    return e;
}

static err number_free(db *d, const char *number, int64_t except)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM nat_plans WHERE number = ? AND id <> ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, number);
    db_bind_int64(s, 2, except);
    bool row;
    int64_t other = 0;
    if (!(e = db_row(s, &row)) && row)
        other = db_col_int64(s, 0);
    db_done(s);
    if (!e && row)
        e = err_set_ref(E_CONFLICT, "duplicate_plan_number", other, "计划编号“%s”已被使用", number);
    return e;
}

err nat_plan_create(db *d, int64_t region_code, int64_t user_id, const struct nat_plan_input *in,
                    int64_t *id_r)
{
    err e = check_plan_input(in, true, in->starts_at, in->ends_at);
    if (!e)
        e = number_free(d, in->number, 0);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO nat_plans (id, number, name, region_code, region_end, "
                        "starts_at, ends_at, created_by, created_at, updated_at) VALUES (?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->number);
    db_bind_text(s, 3, in->name);
    db_bind_int64(s, 4, region_code);
    db_bind_int64(s, 5, regcode_end(region_code));
    db_bind_int64(s, 6, in->starts_at);
    db_bind_int64(s, 7, in->ends_at);
    db_bind_int64(s, 8, user_id);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

/* The totals are over the residents' rows (industry 0) of the streets
 * inside scope: the industries' rows are a breakdown of the same people. */
#define PLAN_COLS                                                                                  \
    "SELECT p.id, p.number, p.name, p.region_code, r.name, p.starts_at, p.ends_at, p.created_by, " \
    "p.version, p.created_at, p.updated_at, "                                                      \
    "(SELECT COALESCE(SUM(f.planned), 0) FROM nat_plan_figures f WHERE f.plan_id = p.id AND "      \
    "f.industry_id = 0 AND f.region_code >= ? AND f.region_code < ?), "                            \
    "(SELECT COALESCE(SUM(f.actual), 0) FROM nat_plan_figures f WHERE f.plan_id = p.id AND "       \
    "f.industry_id = 0 AND f.region_code >= ? AND f.region_code < ?), "                            \
    "(SELECT COALESCE(SUM(COALESCE(f.corrected, f.actual)), 0) FROM nat_plan_figures f WHERE "     \
    "f.plan_id = p.id AND f.industry_id = 0 AND f.region_code >= ? AND f.region_code < ?) "        \
    "FROM nat_plans p LEFT JOIN regions r ON r.code = p.region_code "

static void plan_read(db_stmt *s, arena *a, struct nat_plan *p)
{
    *p = (struct nat_plan){
        .id = db_col_int64(s, 0),
        .number = arena_strdup(a, db_col_text(s, 1)),
        .name = arena_strdup(a, db_col_text(s, 2)),
        .region_code = db_col_int64(s, 3),
        .region_name = arena_strdup(a, db_col_text(s, 4)),
        .starts_at = db_col_int64(s, 5),
        .ends_at = db_col_int64(s, 6),
        .created_by = db_col_int64(s, 7),
        .version = db_col_int64(s, 8),
        .created_at = db_col_int64(s, 9),
        .updated_at = db_col_int64(s, 10),
        .planned = db_col_int64(s, 11),
        .actual = db_col_int64(s, 12),
        .effective = db_col_int64(s, 13),
    };
}

/* plan_read as query_page reads a list's row. */
static err plan_read_item(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    plan_read(s, a, item);
    return E_OK;
}

static void bind_scope3(struct query *q, const struct scope *scope)
{
    for (int i = 0; i < 3; i++) {
        query_int(q, scope->lo);
        query_int(q, scope->hi);
    }
}

/* Plans overlapping scope: [region_code, region_end) meets [lo, hi). */
#define PLAN_VISIBLE " p.deleted_at = 0 AND p.region_code < ? AND p.region_end > ?"

err nat_plan_find(db *d, arena *a, const struct scope *scope, int64_t id, struct nat_plan *p_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, PLAN_COLS);
    bind_scope3(&q, scope);
    query_sql(&q, "WHERE p.id = ? AND" PLAN_VISIBLE);
    query_int(&q, id);
    query_int(&q, scope->hi);
    query_int(&q, scope->lo);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    if (!(e = db_row(s, &row)) && row)
        plan_read(s, a, p_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return e;
}

err nat_plan_list(db *d, arena *a, const struct scope *scope, const char *q, int64_t page,
                  int64_t page_size, struct nat_plan **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w), *x = arena_alloc(a, sizeof *x);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE" PLAN_VISIBLE);
    query_int(w, scope->hi);
    query_int(w, scope->lo);
    if (q && *q) {
        const char *like = query_like_contains(a, q, true);
        query_sql(w,
                  " AND (lower(p.number) LIKE ? ESCAPE '\\' OR lower(p.name) LIKE ? ESCAPE '\\')");
        query_text(w, like);
        query_text(w, like);
    }
    *x = (struct query)QUERY_INIT;
    query_sql(x, PLAN_COLS);
    bind_scope3(x, scope);
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_plans p",
                                            .select_q = x,
                                            .order = " ORDER BY p.starts_at DESC, p.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_plan),
                                            .read = plan_read_item},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* The plan's region and times when the plan is one scope may change (its
 * region inside scope); E_NOT_FOUND otherwise. */
static err plan_writable(db *d, const struct scope *scope, int64_t id, int64_t *region_r,
                         int64_t *starts_r, int64_t *ends_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, starts_at, ends_at FROM nat_plans WHERE id = ? AND "
                       "deleted_at = 0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        if (region_r)
            *region_r = db_col_int64(s, 0);
        if (starts_r)
            *starts_r = db_col_int64(s, 1);
        if (ends_r)
            *ends_r = db_col_int64(s, 2);
    }
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return e;
}

err nat_plan_update(db *d, const struct scope *scope, int64_t id, const struct nat_plan_input *in)
{
    if (!in->number && !in->name && !in->starts_at && !in->ends_at)
        return err_set(E_INPUT, "empty_update", NULL, "请至少修改一个字段");
    int64_t starts, ends;
    err e = plan_writable(d, scope, id, NULL, &starts, &ends);
    if (e)
        return e;
    if ((e = check_plan_input(in, false, in->starts_at ? in->starts_at : starts,
                              in->ends_at ? in->ends_at : ends)))
        return e;
    if (in->number && (e = number_free(d, in->number, id)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE nat_plans SET number = COALESCE(?, number), name = COALESCE(?, "
                        "name), starts_at = ?, ends_at = ?, version = version + 1, updated_at = ? "
                        "WHERE id = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, in->number);
    db_bind_text(s, 2, in->name);
    db_bind_int64(s, 3, in->starts_at ? in->starts_at : starts);
    db_bind_int64(s, 4, in->ends_at ? in->ends_at : ends);
    db_bind_int64(s, 5, now_ms());
    db_bind_int64(s, 6, id);
    return db_run(s, NULL);
}

err nat_plan_delete(db *d, const struct scope *scope, int64_t id)
{
    err e = plan_writable(d, scope, id, NULL, NULL, NULL);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM nat_plan_figures WHERE plan_id = ? AND actual > 0", &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        return e;
    if (row)
        return err_set(E_CONFLICT, "plan_counted", NULL, "该计划已有实检数据，不能删除");
    if ((e = db_prepare(d, "UPDATE nat_plans SET deleted_at = ?, updated_at = ? WHERE id = ?", &s)))
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return db_run(s, NULL);
}

/* ---- figures ------------------------------------------------------------------------ */

/* The registry's figure of (street, industry): live residents of the
 * street, or the employees of its live enterprises of the industry. */
static err registry_figure(db *d, int64_t street, int64_t industry, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       industry ? "SELECT COALESCE(SUM(e.employees), 0) FROM enterprises e JOIN "
                                  "nat_industries i ON i.id = ? AND i.name = e.industry WHERE "
                                  "e.deleted_at = 0 AND e.region_code >= ? AND e.region_code < ?"
                                : "SELECT COUNT(*) FROM persons WHERE ? = 0 AND deleted_at = 0 "
                                  "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, industry);
    db_bind_int64(s, 2, street);
    db_bind_int64(s, 3, regcode_end(street));
    bool row;
    if (!(e = db_row(s, &row)))
        *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/* Each target names a street inside scope and the plan's region, and an
 * industry that is 0 or live; the first at fault is reported with its row. */
static err check_target(db *d, const struct scope *scope, int64_t plan_region, size_t i,
                        const struct nat_target *t)
{
    char field[48];
    snprintf(field, sizeof field, "targets[%zu].region_code", i);
    bool street = t->region_code > 0 && regcode_level(t->region_code) == LEVEL_STREET;
    if (!street || !scope_has(scope, t->region_code) ||
        !regcode_within(t->region_code, plan_region))
        return err_set(E_INPUT, "invalid_region", field, "第%zu行：应为计划范围内、您管辖的街道",
                       i + 1);
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, t->region_code);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_INPUT, "invalid_region", field, "第%zu行：街道不存在", i + 1);
    if (e || !t->industry_id)
        return e;
    snprintf(field, sizeof field, "targets[%zu].industry_id", i);
    if ((e = db_prepare(d, "SELECT 1 FROM nat_industries WHERE id = ? AND deleted_at = 0", &s)))
        return e;
    db_bind_int64(s, 1, t->industry_id);
    e = db_row(s, &row);
    db_done(s);
    if (!e && !row)
        e = err_set(E_INPUT, "invalid_industry", field, "第%zu行：行业不存在", i + 1);
    return e;
}

err nat_plan_set_targets(db *d, const struct scope *scope, int64_t id, const struct nat_target *t,
                         size_t n, bool derive)
{
    int64_t region;
    err e = plan_writable(d, scope, id, &region, NULL, NULL);
    if (e)
        return e;
    if (n == 0 || n > NAT_PLAN_FIGURES_MAX)
        return err_set(E_INPUT, "out_of_range", "targets", "应检数据应有1到%d行",
                       NAT_PLAN_FIGURES_MAX);
    for (size_t i = 0; i < n; i++) {
        if ((e = check_target(d, scope, region, i, &t[i])))
            return e;
        if (!derive && (t[i].planned < 0 || t[i].planned > 1000000000)) {
            char field[48];
            snprintf(field, sizeof field, "targets[%zu].planned", i);
            return err_set(E_INPUT, "out_of_range", field, "第%zu行：应检人数应在0到10亿之间",
                           i + 1);
        }
        for (size_t j = 0; j < i; j++)
            if (t[j].region_code == t[i].region_code && t[j].industry_id == t[i].industry_id) {
                char field[48];
                snprintf(field, sizeof field, "targets[%zu].region_code", i);
                return err_set(E_INPUT, "duplicate_target", field,
                               "第%zu行与第%zu行是同一街道和行业", i + 1, j + 1);
            }
    }
    for (size_t i = 0; i < n; i++) {
        int64_t planned = t[i].planned;
        if (derive && (e = registry_figure(d, t[i].region_code, t[i].industry_id, &planned)))
            return e;
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, "
                            "planned, planned_source, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON "
                            "CONFLICT (plan_id, region_code, industry_id) DO UPDATE SET planned = "
                            "excluded.planned, planned_source = excluded.planned_source, "
                            "updated_at = excluded.updated_at",
                            &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, t[i].region_code);
        db_bind_int64(s, 3, t[i].industry_id);
        db_bind_int64(s, 4, planned);
        db_bind_text(s, 5, derive ? "registry" : "entered");
        db_bind_int64(s, 6, now_ms());
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

err nat_plan_figures(db *d, arena *a, const struct scope *scope, int64_t id,
                     struct nat_figure **items_r, size_t *n_r)
{
    struct nat_plan p;
    err e = nat_plan_find(d, a, scope, id, &p);
    if (e)
        return e;
    int64_t total;
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COUNT(*) FROM nat_plan_figures WHERE plan_id = ? AND region_code >= ? "
                  "AND region_code < ?");
    query_int(&q, id);
    query_int(&q, scope->lo);
    query_int(&q, scope->hi);
    if ((e = query_count(d, &q, &total)))
        return e;
    struct nat_figure *items = arena_alloc(a, (size_t)(total + 1) * sizeof *items);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT f.region_code, r.name, f.industry_id, i.name, f.planned, "
                        "f.planned_source, f.actual, f.corrected, f.reason, f.corrected_by, "
                        "f.corrected_at, u.display_name, f.negative, f.positive, f.retest, "
                        "f.invalid, f.reported, f.reported_at FROM nat_plan_figures f LEFT JOIN "
                        "regions "
                        "r ON r.code = f.region_code LEFT JOIN nat_industries i ON i.id = "
                        "f.industry_id LEFT JOIN users u ON u.id = f.corrected_by WHERE f.plan_id "
                        "= ? AND f.region_code >= ? AND f.region_code < ? ORDER BY f.region_code, "
                        "f.industry_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    size_t n = 0;
    bool row;
    while ((int64_t)n < total && !(e = db_row(s, &row)) && row) {
        struct nat_figure *f = &items[n++];
        int64_t industry = db_col_int64(s, 2);
        *f = (struct nat_figure){
            .region_code = db_col_int64(s, 0),
            .region_name = arena_strdup(a, db_col_text(s, 1)),
            .industry_id = industry,
            .industry_name = industry ? arena_strdup(a, db_col_text(s, 3)) : "",
            .planned = db_col_int64(s, 4),
            .planned_source = arena_strdup(a, db_col_text(s, 5)),
            .actual = db_col_int64(s, 6),
            .corrected_set = !db_col_null(s, 7),
            .corrected = db_col_int64(s, 7),
            .reason = arena_strdup(a, db_col_text(s, 8)),
            .corrected_by = db_col_int64(s, 9),
            .corrected_at = db_col_int64(s, 10),
            .corrected_by_name = arena_strdup(a, db_col_text(s, 11)),
            .negative = db_col_int64(s, 12),
            .positive = db_col_int64(s, 13),
            .retest = db_col_int64(s, 14),
            .invalid = db_col_int64(s, 15),
            .reported_set = !db_col_null(s, 16),
            .reported = db_col_null(s, 16) ? 0 : db_col_int64(s, 16),
            .reported_at = db_col_int64(s, 17),
        };
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

size_t nat_figures_by_industry(arena *a, const struct nat_figure *in, size_t n,
                               struct nat_figure **out_r)
{
    struct nat_figure *out = arena_alloc(a, (n + 1) * sizeof *out);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].industry_id)
            continue;
        size_t j = 0;
        while (j < m && out[j].industry_id != in[i].industry_id)
            j++;
        if (j == m) {
            out[m++] = (struct nat_figure){.industry_id = in[i].industry_id,
                                           .industry_name = in[i].industry_name,
                                           .region_name = "",
                                           .planned_source = in[i].planned_source,
                                           .reason = "",
                                           .corrected_by_name = ""};
        }
        out[j].planned += in[i].planned;
        out[j].actual += in[i].actual;
        out[j].negative += in[i].negative;
        out[j].positive += in[i].positive;
        out[j].retest += in[i].retest;
        out[j].invalid += in[i].invalid;
        out[j].reported += in[i].reported;
        out[j].reported_set |= in[i].reported_set;
        /* the sum of what each street stands by: corrected where corrected */
        out[j].corrected += (in[i].corrected_set ? in[i].corrected : in[i].actual);
        out[j].corrected_set |= in[i].corrected_set;
        if (strcmp(out[j].planned_source, in[i].planned_source))
            out[j].planned_source = "mixed";
    }
    for (size_t j = 0; j < m; j++)
        if (!out[j].corrected_set)
            out[j].corrected = 0;
    *out_r = out;
    return m;
}

err nat_plan_count(db *d, int64_t plan_id, int64_t street_code, int64_t industry_id, int64_t delta)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, actual, "
                       "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (plan_id, region_code, "
                       "industry_id) DO UPDATE SET actual = nat_plan_figures.actual + "
                       "excluded.actual, updated_at = excluded.updated_at",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, plan_id);
    db_bind_int64(s, 2, street_code);
    db_bind_int64(s, 3, industry_id);
    db_bind_int64(s, 4, delta);
    db_bind_int64(s, 5, now_ms());
    return db_run(s, NULL);
}

err nat_plan_report(db *d, int64_t plan_id, int64_t street_code, int64_t industry_id,
                    int64_t reported)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, reported, "
                       "reported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (plan_id, region_code, "
                       "industry_id) DO UPDATE SET reported = excluded.reported, reported_at = "
                       "excluded.reported_at",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, plan_id);
    db_bind_int64(s, 2, street_code);
    db_bind_int64(s, 3, industry_id);
    db_bind_int64(s, 4, reported);
    db_bind_int64(s, 5, now_ms());
    return db_run(s, NULL);
}

err nat_plan_correct(db *d, const struct scope *scope, int64_t plan_id, int64_t street_code,
                     int64_t industry_id, int64_t corrected, const char *reason, int64_t user_id,
                     int64_t *actual_r)
{
    err e = E_OK, x;
    err_collect_begin();
    if (corrected < 0 || corrected > 1000000000)
        e = err_add(e, E_INPUT, "out_of_range", "actual", "实检人数应在0到10亿之间");
    if ((x = check_text(reason, "reason", "修改原因", NAT_REASON_MAX, TEXT_REQUIRED)))
        e = e ? e : x;
    err_collect_end();
    if (e)
        return e;
    if (street_code <= 0 || !scope_has(scope, street_code))
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    arena *a = arena_new(2048); /* the plan's visibility check reads one row */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct nat_plan p;
    e = nat_plan_find(d, a, scope, plan_id, &p);
    arena_free(&a);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "UPDATE nat_plan_figures SET corrected = ?, reason = ?, corrected_by = ?, "
             "corrected_at = ?, updated_at = ? WHERE plan_id = ? AND region_code = ? AND "
             "industry_id = ?",
             &s)))
        return e;
    db_bind_int64(s, 1, corrected);
    db_bind_text(s, 2, reason);
    db_bind_int64(s, 3, user_id);
    int64_t now = now_ms();
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, plan_id);
    db_bind_int64(s, 7, street_code);
    db_bind_int64(s, 8, industry_id);
    int64_t changed;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!actual_r)
        return E_OK;
    if ((e = db_prepare(d,
                        "SELECT actual FROM nat_plan_figures WHERE plan_id = ? AND region_code = ? "
                        "AND industry_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, plan_id);
    db_bind_int64(s, 2, street_code);
    db_bind_int64(s, 3, industry_id);
    bool row;
    if (!(e = db_row(s, &row)))
        *actual_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/*
 * Departments (部门, seed 001 §4.2.2): the tree of organisations users
 * belong to, its rules and its SQL.
 *
 * Every department carries a region code, and a parent's region contains
 * its children's, so the department tree nests inside the region tree and a
 * caller's scope (a region subtree) is one range condition on
 * departments.region_code, bound in every statement that reads or changes a
 * department on the caller's behalf.
 */
#include "user/user.h"

#include <stdlib.h>
#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/regcode.h"
#include "db/query.h"

/* Longest parent chain walked when looking for a cycle; deeper trees are
 * refused rather than walked without bound. */
#define DEPTH_MAX 64

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "department_not_found", NULL, "部门不存在");
}

static err invalid_region(void)
{
    return err_set(E_INPUT, "invalid_region", "region_code", "所属区划不存在或不在您的管辖范围内");
}

static err invalid_parent(void)
{
    return err_set(E_INPUT, "invalid_parent", "parent_id", "上级部门不存在或不在您的管辖范围内");
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

#define DEPT_COLUMNS                                                                               \
    "dp.id, dp.parent_id, dp.region_code, dp.name, rg.name, "                                      \
    "(SELECT COUNT(*) FROM departments c WHERE c.parent_id = dp.id), "                             \
    "(SELECT COUNT(*) FROM users u WHERE u.department_id = dp.id), dp.created_at, dp.updated_at "

static void read_department(db_stmt *s, arena *a, struct department *r)
{
    *r = (struct department){
        .id = db_col_int64(s, 0),
        .parent_id = db_col_null(s, 1) ? 0 : db_col_int64(s, 1),
        .region_code = db_col_int64(s, 2),
        .name = arena_strdup(a, db_col_text(s, 3)),
        .region_name = arena_strdup(a, db_col_text(s, 4)),
        .child_count = db_col_int64(s, 5),
        .user_count = db_col_int64(s, 6),
        .created_at = db_col_int64(s, 7),
        .updated_at = db_col_int64(s, 8),
    };
}

/* The ORDER BY fragment of a sort parameter, from a fixed allow-list. */
static const char *order_by(const char *sort)
{
    static const struct {
        const char *key, *sql;
    } sorts[] = {
        {"name", " ORDER BY dp.name, dp.id"},
        {"-name", " ORDER BY dp.name DESC, dp.id DESC"},
        {"region_code", " ORDER BY dp.region_code, dp.name, dp.id"},
        {"-region_code", " ORDER BY dp.region_code DESC, dp.name, dp.id"},
        {"created_at", " ORDER BY dp.created_at, dp.id"},
        {"-created_at", " ORDER BY dp.created_at DESC, dp.id DESC"},
    };
    if (!sort)
        return sorts[2].sql;
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (!strcmp(sorts[i].key, sort))
            return sorts[i].sql;
    return NULL;
}

err department_list(db *d, arena *a, const struct scope *scope, const struct department_filter *f,
                    struct department **items_r, size_t *n_r, int64_t *total_r)
{
    const char *order = order_by(f->sort);
    if (!order)
        return err_set(E_INPUT, "invalid_parameter", "sort",
                       "排序字段只能是 name、region_code 或 created_at（前加 - 为倒序）");
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM departments dp LEFT JOIN regions rg ON rg.code = dp.region_code"
                 " WHERE dp.region_code >= ? AND dp.region_code < ?");
    query_int(w, scope->lo);
    query_int(w, scope->hi);
    if (f->region_code) {
        query_sql(w, " AND dp.region_code >= ? AND dp.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->has_parent && f->parent_id) {
        query_sql(w, " AND dp.parent_id = ?");
        query_int(w, f->parent_id);
    } else if (f->has_parent) {
        query_sql(w, " AND dp.parent_id IS NULL");
    }
    if (f->q && *f->q) {
        query_sql(w, " AND dp.name LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, f->q, false));
    }
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    int64_t total;
    err e = query_count(d, q, &total);
    if (e)
        return e;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT " DEPT_COLUMNS);
    query_append(q, w);
    query_sql(q, order);
    if (f->page_size) {
        query_sql(q, " LIMIT ? OFFSET ?");
        query_int(q, f->page_size);
        query_int(q, paging_offset(f->page, f->page_size));
    }
    struct department *items = NULL;
    size_t n = 0, cap = 0;
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            struct department *grown = arena_alloc(a, ncap * sizeof *grown);
            if (n)
                memcpy(grown, items, n * sizeof *items);
            items = grown;
            cap = ncap;
        }
        read_department(s, a, &items[n++]);
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

/* One department within [lo, hi), or E_NOT_FOUND. */
static err find_in(db *d, arena *a, int64_t lo, int64_t hi, int64_t id, struct department *r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " DEPT_COLUMNS
                       "FROM departments dp LEFT JOIN regions rg ON rg.code = dp.region_code "
                       "WHERE dp.id = ? AND dp.region_code >= ? AND dp.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            read_department(s, a, r);
        else
            e = not_found();
    }
    db_done(s);
    return e;
}

err department_find(db *d, arena *a, const struct scope *scope, int64_t id, struct department *r)
{
    struct department found;
    err e = find_in(d, a, scope->lo, scope->hi, id, &found);
    if (!e)
        *r = found;
    return e;
}

/* The parent's region code when the parent exists within [lo, hi). */
static err parent_region(db *d, int64_t lo, int64_t hi, int64_t parent_id, int64_t *region_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code FROM departments WHERE id = ? AND region_code >= ? "
                       "AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, parent_id);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            *region_r = db_col_int64(s, 0);
        else
            e = invalid_parent();
    }
    db_done(s);
    return e;
}

static err check_region(db *d, const struct scope *scope, int64_t code)
{
    if (!scope_has(scope, code))
        return invalid_region();
    db_stmt *s;
    err e = db_prepare(d, "SELECT code FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = invalid_region();
    db_done(s);
    return e;
}

static err check_parent_contains(int64_t parent_region, int64_t child_region)
{
    if (!regcode_within(child_region, parent_region))
        return err_set(E_INPUT, "invalid_parent", "parent_id",
                       "部门的所属区划必须在上级部门的区划范围内");
    return E_OK;
}

/* A sibling (same parent; for roots, same region) with the same name,
 * other than `self`: E_CONFLICT "duplicate_department". */
static err check_duplicate(db *d, int64_t self, int64_t parent_id, int64_t region_code,
                           const char *name)
{
    db_stmt *s;
    err e = db_prepare(d,
                       parent_id ? "SELECT id FROM departments WHERE parent_id = ? AND name = ? "
                                   "AND id <> ?"
                                 : "SELECT id FROM departments WHERE parent_id IS NULL AND "
                                   "region_code = ? AND name = ? AND id <> ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, parent_id ? parent_id : region_code);
    db_bind_text(s, 2, name);
    db_bind_int64(s, 3, self);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        e = err_set_ref(E_CONFLICT, "duplicate_department", db_col_int64(s, 0),
                        "同一上级下已有同名部门");
    db_done(s);
    return e;
}

err department_create(db *d, const struct scope *scope, const struct department_input *in,
                      int64_t *id_r)
{
    if (!in->name || blank(in->name))
        return err_set(E_INPUT, "invalid_name", "name", "请填写部门名称");
    err e = check_region(d, scope, in->region_code);
    if (e)
        return e;
    if ((e = db_begin(d)))
        return e;
    int64_t parent = in->has_parent ? in->parent_id : 0, preg = 0;
    if (parent && ((e = parent_region(d, scope->lo, scope->hi, parent, &preg)) ||
                   (e = check_parent_contains(preg, in->region_code))))
        goto fail;
    if ((e = check_duplicate(d, 0, parent, in->region_code, in->name)))
        goto fail;
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO departments (id, parent_id, region_code, name, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    if (parent)
        db_bind_int64(s, 2, parent);
    else
        db_bind_null(s, 2);
    db_bind_int64(s, 3, in->region_code);
    db_bind_text(s, 4, in->name);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    *id_r = id;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/*
 * Would making `parent` the parent of `id` close a loop? Walk up from
 * `parent` (ignoring scope: the chain is a fact of the table) until a root.
 */
static err check_cycle(db *d, int64_t id, int64_t parent)
{
    int64_t at = parent;
    for (int depth = 0; at; depth++) {
        if (at == id)
            return err_set(E_INPUT, "parent_cycle", "parent_id",
                           "上级部门不能是本部门或其下级部门");
        if (depth >= DEPTH_MAX)
            return err_set(E_INPUT, "too_deep", "parent_id", "部门层级不能超过%d级", DEPTH_MAX);
        db_stmt *s;
        err e = db_prepare(d, "SELECT parent_id FROM departments WHERE id = ?", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, at);
        bool row;
        if (!(e = db_row(s, &row)))
            at = row && !db_col_null(s, 0) ? db_col_int64(s, 0) : 0;
        db_done(s);
        if (e)
            return e;
    }
    return E_OK;
}

/* Children whose region falls outside `region`'s subtree. */
static err check_children_within(db *d, int64_t id, int64_t region)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM departments WHERE parent_id = ? AND "
                       "(region_code < ? OR region_code >= ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, regcode_end(region));
    bool row;
    if (!(e = db_row(s, &row)) && row && db_col_int64(s, 0) > 0)
        e = err_set(E_INPUT, "invalid_region", "region_code",
                    "有下级部门的所属区划不在新区划范围内，请先调整下级部门");
    db_done(s);
    return e;
}

err department_update(db *d, arena *a, const struct scope *scope, int64_t id,
                      const struct department_input *in)
{
    if (in->name && blank(in->name))
        return err_set(E_INPUT, "invalid_name", "name", "请填写部门名称");
    err e = db_begin(d);
    if (e)
        return e;
    struct department cur;
    if ((e = find_in(d, a, scope->lo, scope->hi, id, &cur)))
        goto fail;
    const char *name = in->name ? in->name : cur.name;
    int64_t region = in->region_code ? in->region_code : cur.region_code;
    int64_t parent = in->has_parent ? in->parent_id : cur.parent_id;
    bool region_changed = region != cur.region_code, parent_changed = parent != cur.parent_id;
    if (region_changed &&
        ((e = check_region(d, scope, region)) || (e = check_children_within(d, id, region))))
        goto fail;
    if (parent) {
        /* a new parent must be the caller's to choose; the current one may
         * sit above the caller's scope and still contain the region */
        int64_t preg = 0;
        if (parent_changed)
            e = parent_region(d, scope->lo, scope->hi, parent, &preg);
        else
            e = parent_region(d, 0, INT64_MAX, parent, &preg);
        if (e || (parent_changed && (e = check_cycle(d, id, parent))) ||
            (e = check_parent_contains(preg, region)))
            goto fail;
    }
    if ((e = check_duplicate(d, id, parent, region, name)))
        goto fail;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE departments SET name = ?, region_code = ?, parent_id = ?, "
                        "updated_at = ? WHERE id = ? AND region_code >= ? AND region_code < ?",
                        &s)))
        goto fail;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, region);
    if (parent)
        db_bind_int64(s, 3, parent);
    else
        db_bind_null(s, 3);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    db_bind_int64(s, 6, scope->lo);
    db_bind_int64(s, 7, scope->hi);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err department_delete(db *d, arena *a, const struct scope *scope, int64_t id)
{
    err e = db_begin(d);
    if (e)
        return e;
    struct department cur;
    if ((e = find_in(d, a, scope->lo, scope->hi, id, &cur)))
        goto fail;
    if (cur.child_count || cur.user_count) {
        e = err_set(E_CONFLICT, "department_in_use", NULL,
                    "该部门还有%lld个下级部门和%lld个用户，请先移走后再删除",
                    (long long)cur.child_count, (long long)cur.user_count);
        goto fail;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "DELETE FROM departments WHERE id = ? AND region_code >= ? AND "
                        "region_code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, scope->lo);
    db_bind_int64(s, 3, scope->hi);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/*
 * The rules and SQL of region/region.h: boundaries and centroids, the
 * scoped queries, create/update/delete, and CSV and GeoJSON import.
 *
 * Every statement that reads or writes regions binds the caller's scope
 * range next to its own conditions; writes bind it with a strict lower
 * bound (code > lo) so the scope's own root is never written by its users.
 */
#include "region/region.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/catchup.h"
#include "base/paging.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/geo.h"
#include "base/json.h"
#include "db/query.h"

static bool unscoped(const struct scope *sc)
{
    return sc->lo <= 0 && sc->hi >= REGCODE_SPACE;
}

/* A written code as a number ("110101001001" -> 110101001001), for the
 * existing_id of a duplicate: the same digits the client sent. */
static int64_t written_number(int64_t code)
{
    char buf[19];
    regcode_format(code, buf);
    return strtoll(buf, NULL, 10);
}

/* Step a statement that returns no rows, then return it to the cache. */
/* ---- boundaries ----------------------------------------------------------- */

/* The area centroid of a shape (outer rings add, holes subtract, whichever
 * way they wind), its moments taken relative to the first position for
 * precision; the vertex average for a shape of zero area. */
static void centroid(const struct geo_shape *g, double *x_r, double *y_r)
{
    const double x0 = g->polygons[0].rings[0].x[0], y0 = g->polygons[0].rings[0].y[0];
    double area = 0, mx = 0, my = 0, sx = 0, sy = 0;
    size_t nv = 0;
    for (size_t p = 0; p < g->n_polygons; p++)
        for (size_t k = 0; k < g->polygons[p].n_rings; k++) {
            const struct geo_ring *r = &g->polygons[p].rings[k];
            double a = 0, rx = 0, ry = 0;
            for (size_t i = 0; i + 1 < r->n; i++) {
                double x = r->x[i] - x0, y = r->y[i] - y0;
                double x1 = r->x[i + 1] - x0, y1 = r->y[i + 1] - y0;
                double cross = x * y1 - x1 * y;
                a += cross / 2;
                rx += (x + x1) * cross / 6;
                ry += (y + y1) * cross / 6;
                sx += x;
                sy += y;
                nv++;
            }
            double sign = (a < 0 ? -1 : 1) * (k > 0 ? -1 : 1);
            area += sign * a;
            mx += sign * rx;
            my += sign * ry;
        }
    if (fabs(area) > 1e-14) {
        *x_r = mx / area + x0;
        *y_r = my / area + y0;
    } else {
        *x_r = sx / (double)nv + x0;
        *y_r = sy / (double)nv + y0;
    }
}

/* Check a parsed geometry (base/geo.h reads it); see region_boundary_check. */
static err boundary_check_json(json_t *g, const char *field, arena *a, const char **norm_r,
                               double *lng_r, double *lat_r)
{
    struct geo_shape shape;
    err e = geo_parse(g, field, REGION_BOUNDARY_POINTS, a, &shape);
    if (e)
        return e;
    *norm_r = geo_text(&shape, a);
    double x, y;
    centroid(&shape, &x, &y);
    /* a centre to about a centimetre is plenty, and reads well */
    *lng_r = round(x * 1e7) / 1e7;
    *lat_r = round(y * 1e7) / 1e7;
    return E_OK;
}

static err bad_boundary(const char *field, const char *why)
{
    return err_set(E_INPUT, "invalid_boundary", field, "边界不是有效的 GeoJSON 多边形：%s", why);
}

err region_boundary_check(const char *text, const char *field, arena *a, const char **norm_r,
                          double *lng_r, double *lat_r)
{
    json_error_t je;
    json_t *g = json_loads(text, 0, &je);
    if (!g)
        return bad_boundary(field, "不是有效的 JSON");
    err e = boundary_check_json(g, field, a, norm_r, lng_r, lat_r);
    json_decref(g);
    return e;
}

err region_center_check(double lng, double lat, const char *field)
{
    if (!isfinite(lng) || !isfinite(lat) || lng < -180 || lng > 180 || lat < -90 || lat > 90)
        return err_set(E_INPUT, "invalid_center", field,
                       "中心点应为 [经度, 纬度]，经度在 -180 到 180 之间，纬度在 -90 到 90 之间");
    return E_OK;
}

/* ---- reading -------------------------------------------------------------- */

/* The columns every read selects, in the order row_read expects. */
#define COLS                                                                                       \
    "r.code, r.parent_code, r.level, r.name, r.center_lng, r.center_lat, "                         \
    "EXISTS (SELECT 1 FROM regions c WHERE c.parent_code = r.code), "
#define WITH_BOUNDARY    "r.boundary"
#define WITHOUT_BOUNDARY "NULL"

static void row_read(db_stmt *s, arena *a, struct region *r)
{
    *r = (struct region){0};
    r->code = db_col_int64(s, 0);
    r->parent_code = db_col_null(s, 1) ? 0 : db_col_int64(s, 1);
    r->level = (enum region_level)db_col_int64(s, 2);
    r->name = arena_strdup(a, db_col_text(s, 3));
    r->has_center = !db_col_null(s, 4) && !db_col_null(s, 5);
    if (r->has_center) {
        r->center_lng = db_col_double(s, 4);
        r->center_lat = db_col_double(s, 5);
    }
    r->has_children = db_col_int64(s, 6) != 0;
    r->boundary = db_col_null(s, 7) ? NULL : arena_strdup(a, db_col_text(s, 7));
}

err region_path(db *d, int64_t code, enum region_level from, arena *a, const char **path_r)
{
    int64_t chain[LEVEL_BUILDING];
    int n = 0;
    for (int64_t c = code; c > 0 && n < LEVEL_BUILDING && regcode_level(c) >= from;
         c = regcode_parent(c))
        chain[n++] = c;
    *path_r = "";
    if (!n)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT level, name FROM regions WHERE code IN (?, ?, ?, ?, ?, ?, ?) "
                       "ORDER BY level",
                       &s);
    if (e)
        return e;
    for (int i = 0; i < LEVEL_BUILDING; i++)
        db_bind_int64(s, i + 1, chain[i < n ? i : 0]);
    const char *path = "";
    bool row;
    while (!(e = db_row(s, &row)) && row)
        path = *path ? arena_concat(a, path, " · ", db_col_text(s, 1), NULL)
                     : arena_strdup(a, db_col_text(s, 1));
    db_done(s);
    if (!e)
        *path_r = path;
    return e;
}

err region_find(db *d, const struct scope *sc, int64_t code, bool with_boundary, arena *a,
                struct region *r_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       with_boundary ? "SELECT " COLS WITH_BOUNDARY " FROM regions r "
                                       "WHERE r.code = ? AND r.code >= ? AND r.code < ?"
                                     : "SELECT " COLS WITHOUT_BOUNDARY " FROM regions r "
                                       "WHERE r.code = ? AND r.code >= ? AND r.code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            row_read(s, a, r_r);
        else
            e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    db_done(s);
    return e;
}

/* `x` with LIKE's wildcards and the escape character escaped by '\', inside
 * '%…%' for a substring match. */
static char *like_pattern(arena *a, const char *x)
{
    char *p = arena_alloc(a, strlen(x) * 2 + 3), *o = p;
    *o++ = '%';
    for (; *x; x++) {
        if (*x == '%' || *x == '_' || *x == '\\')
            *o++ = '\\';
        *o++ = *x;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

err region_list(db *d, const struct scope *sc, const struct region_filter *f, arena *a,
                struct region **items_r, size_t *n_r, int64_t *total_r)
{
    static const char *const orders[][2] = {
        [REGION_SORT_CODE] = {" ORDER BY r.code", " ORDER BY r.code DESC"},
        [REGION_SORT_NAME] = {" ORDER BY r.name, r.code", " ORDER BY r.name DESC, r.code DESC"},
        [REGION_SORT_LEVEL] = {" ORDER BY r.level, r.code", " ORDER BY r.level DESC, r.code DESC"},
    };
    /* the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " FROM regions r WHERE r.code >= ? AND r.code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->parent_code) {
        query_sql(w, " AND r.parent_code = ?");
        query_int(w, f->parent_code);
    }
    if (f->level) {
        query_sql(w, " AND r.level = ?");
        query_int(w, f->level);
    }
    if (f->q) {
        query_sql(w, " AND r.name LIKE ? ESCAPE '\\'");
        query_text(w, like_pattern(a, f->q));
    }
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    err e = query_count(d, q, total_r);
    if (e)
        return e;

    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT " COLS);
    query_sql(q, f->with_boundary ? WITH_BOUNDARY : WITHOUT_BOUNDARY);
    query_append(q, w);
    query_sql(q, orders[f->sort][f->desc]);
    query_sql(q, " LIMIT ? OFFSET ?");
    query_int(q, f->page_size);
    query_int(q, paging_offset(f->page, f->page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    struct region *items = arena_alloc(a, (size_t)f->page_size * sizeof *items);
    size_t n = 0;
    bool row;
    while (n < (size_t)f->page_size && !(e = db_row(s, &row)) && row)
        row_read(s, a, &items[n++]);
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err region_tree(db *d, const struct scope *sc, int64_t root, int depth, bool with_boundary,
                arena *a, struct region **items_r, size_t *n_r)
{
    struct region top;
    err e = region_find(d, sc, root, false, a, &top);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        with_boundary
                            ? "SELECT " COLS WITH_BOUNDARY " FROM regions r "
                              "WHERE r.code >= ? AND r.code < ? AND r.code >= ? AND r.code < ? "
                              "AND r.level <= ? ORDER BY r.code LIMIT ?"
                            : "SELECT " COLS WITHOUT_BOUNDARY " FROM regions r "
                              "WHERE r.code >= ? AND r.code < ? AND r.code >= ? AND r.code < ? "
                              "AND r.level <= ? ORDER BY r.code LIMIT ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, root);
    db_bind_int64(s, 2, regcode_end(root));
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    db_bind_int64(s, 5, top.level + depth);
    db_bind_int64(s, 6, REGION_TREE_MAX_NODES + 1);
    /* grow by doubling: most trees are small */
    size_t cap = 64, n = 0;
    struct region *items = arena_alloc(a, cap * sizeof *items);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == REGION_TREE_MAX_NODES) {
            db_done(s);
            return err_set(E_INPUT, "tree_too_large", "depth",
                           "区划树节点超过 %d 个，请减小层数或选择更下级的根节点",
                           REGION_TREE_MAX_NODES);
        }
        if (n == cap) {
            struct region *bigger = arena_alloc(a, cap * 2 * sizeof *items);
            memcpy(bigger, items, cap * sizeof *items);
            items = bigger;
            cap *= 2;
        }
        row_read(s, a, &items[n++]);
    }
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

/* ---- writing -------------------------------------------------------------- */

/*
 * Where `code` lies relative to a write scope: E_OK strictly inside,
 * E_FORBIDDEN "scope_root" on its root, else `outside` (the caller's choice
 * of error: 404 for an existing record, 400 for a new one).
 */
static err write_scope_check(const struct scope *sc, int64_t code, err outside)
{
    if (code == sc->lo)
        return err_set(E_FORBIDDEN, "scope_root", "code",
                       "不能修改或删除您本人所属的区划，请联系上级管理员");
    if (code > sc->lo && code < sc->hi)
        return E_OK;
    if (outside == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return err_set(E_INPUT, "invalid_region", "code", "区划不存在或不在您的管辖范围内");
}

/* A name: trimmed of spaces by the caller; 1..REGION_NAME_MAX characters of
 * text. */
static err name_check(const char *name, const char *field)
{
    if (!name || !name[strspn(name, " \t")])
        return err_set(E_INPUT, "required", field, "请填写区划名称");
    if (!utf8_valid_text(name) || strchr(name, '\n') || strchr(name, '\r'))
        return err_set(E_INPUT, "invalid_value", field, "区划名称含有不允许的字符");
    if (utf8_len(name) > REGION_NAME_MAX)
        return err_set(E_INPUT, "too_long", field, "区划名称不能超过%d个字符", REGION_NAME_MAX);
    return E_OK;
}

/*
 * Begin a write transaction by touching the row `code` (it may not exist):
 * on PostgreSQL this locks the row (the parent of a new region, the region
 * being changed) against a concurrent delete until commit.
 */
static err begin_write(db *d, int64_t code)
{
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if (!(e = db_prepare(d, "UPDATE regions SET updated_at = updated_at WHERE code = ?", &s))) {
        db_bind_int64(s, 1, code);
        e = db_run(s, NULL);
    }
    if (e)
        db_rollback(d);
    return e;
}

/* Is `code` a region, inside [lo, hi)? */
static err exists_in(db *d, int64_t code, int64_t lo, int64_t hi, bool *yes_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    bool row;
    if (!(e = db_row(s, &row)))
        *yes_r = row;
    db_done(s);
    return e;
}

/*
 * May a region at `code` be added now? Its parent must exist inside the
 * scope, except for the roots region.h allows; `others_pending` says that
 * rows not yet written count as regions (an import's batch), so the table
 * is not empty. *parent_found_r (may be NULL) tells whether the parent
 * itself exists. E_INPUT "parent_not_found".
 */
static err parent_check(db *d, const struct scope *sc, int64_t code, bool others_pending,
                        bool *parent_found_r)
{
    int64_t parent = regcode_parent(code);
    bool yes = false;
    err e = parent ? exists_in(d, parent, sc->lo, sc->hi, &yes) : E_OK;
    if (parent_found_r)
        *parent_found_r = yes;
    if (e || yes || !parent)
        return e; /* a province has no parent */
    if (unscoped(sc) && regcode_level(code) == LEVEL_CITY)
        return E_OK;
    int64_t any = 0;
    e = others_pending ? E_OK : db_query_int64(d, "SELECT code FROM regions LIMIT 1", &any);
    if (e == E_NOT_FOUND)
        return E_OK; /* the first region of a deployment */
    if (e)
        return e;
    char buf[19];
    regcode_format(parent, buf);
    return err_set(E_INPUT, "parent_not_found", "parent_code",
                   "上级区划 %s 不存在，请先创建上级区划", buf);
}

/* Bind a centre (or NULLs) at positions i, i + 1. */
static void bind_center(db_stmt *s, int i, bool has, double lng, double lat)
{
    if (has) {
        db_bind_double(s, i, lng);
        db_bind_double(s, i + 1, lat);
    } else {
        db_bind_null(s, i);
        db_bind_null(s, i + 1);
    }
}

static err insert_row(db *d, const struct region_input *in, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO regions (code, parent_code, level, name, boundary, center_lng, "
                       "center_lat, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t parent = regcode_parent(in->code);
    db_bind_int64(s, 1, in->code);
    if (parent)
        db_bind_int64(s, 2, parent);
    else
        db_bind_null(s, 2);
    db_bind_int64(s, 3, in->level);
    db_bind_text(s, 4, in->name);
    db_bind_text(s, 5, in->boundary); /* NULL binds SQL NULL */
    bind_center(s, 6, in->has_center, in->center_lng, in->center_lat);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    return db_run(s, NULL);
}

/*
 * Check an input's own fields (not the database): the level matches the
 * code, the parent given is the code's parent, the name, the boundary
 * (normalised in place, centre computed when not given), the centre.
 */
static err input_check(struct region_input *in, arena *a)
{
    enum region_level lv = regcode_level(in->code);
    if (!lv)
        return err_set(E_INPUT, "invalid_region_code", "code", "区划代码格式不正确");
    if (in->level != lv)
        return err_set(E_INPUT, "level_mismatch", "level", "层级与区划代码不符：该代码是%s级",
                       region_level_label(lv));
    if (in->parent_code >= 0 && in->parent_code != regcode_parent(in->code))
        return err_set(E_INPUT, "parent_mismatch", "parent_code",
                       "上级代码与区划代码不符：上级应为代码的前缀");
    err e = name_check(in->name, "name");
    if (e)
        return e;
    if (in->has_center && (e = region_center_check(in->center_lng, in->center_lat, "center")))
        return e;
    if (in->boundary) {
        double lng, lat;
        if ((e = region_boundary_check(in->boundary, "boundary", a, &in->boundary, &lng, &lat)))
            return e;
        if (!in->has_center) {
            in->has_center = true;
            in->center_lng = lng;
            in->center_lat = lat;
        }
    }
    return E_OK;
}

err region_create(db *d, const struct scope *sc, const struct region_input *input, arena *a,
                  struct region *r_r)
{
    struct region_input in = *input;
    err e = write_scope_check(sc, in.code, E_INPUT);
    if (e || (e = input_check(&in, a)))
        return e;
    if ((e = begin_write(d, regcode_parent(in.code))))
        return e;
    bool dup;
    if ((e = exists_in(d, in.code, sc->lo, sc->hi, &dup)))
        goto fail;
    if (dup) {
        e = err_set_ref(E_CONFLICT, "duplicate_region", written_number(in.code), "区划代码已存在");
        goto fail;
    }
    if ((e = parent_check(d, sc, in.code, false, NULL)) || (e = insert_row(d, &in, now_ms())))
        goto fail;
    if ((e = db_commit(d)))
        goto fail;
    *r_r = (struct region){
        .code = in.code,
        .parent_code = regcode_parent(in.code),
        .level = in.level,
        .name = arena_strdup(a, in.name),
        .has_center = in.has_center,
        .center_lng = in.center_lng,
        .center_lat = in.center_lat,
    };
    return E_OK;
fail:
    db_rollback(d);
    /* two creators racing past the check: the loser sees the key conflict */
    if (e == E_CONFLICT && strcmp(err_last()->slug, "duplicate_region"))
        e = err_set_ref(E_CONFLICT, "duplicate_region", written_number(in.code), "区划代码已存在");
    return e;
}

err region_update(db *d, const struct scope *sc, int64_t code, const struct region_patch *p,
                  arena *a, struct region *r_r, const char **changed_r)
{
    err e = write_scope_check(sc, code, E_NOT_FOUND);
    if (e)
        return e;
    const char *boundary = NULL;
    double blng = 0, blat = 0;
    if (p->name && (e = name_check(p->name, "name")))
        return e;
    if (p->set_boundary && p->boundary &&
        (e = region_boundary_check(p->boundary, "boundary", a, &boundary, &blng, &blat)))
        return e;
    if (p->set_center && p->has_center &&
        (e = region_center_check(p->center_lng, p->center_lat, "center")))
        return e;
    if (!p->name && !p->set_boundary && !p->set_center)
        return err_set(E_INPUT, "empty_update", NULL, "没有需要修改的字段");

    if ((e = begin_write(d, code)))
        return e;
    db_stmt *s;
    struct region cur;
    if ((e = db_prepare(d,
                        "SELECT " COLS WITH_BOUNDARY " FROM regions r "
                        "WHERE r.code = ? AND r.code > ? AND r.code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            row_read(s, a, &cur);
        else
            e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    }
    db_done(s);
    if (e)
        goto fail;

    const char *changed = "";
    if (p->name) {
        cur.name = p->name;
        changed = "name";
    }
    if (p->set_boundary) {
        cur.boundary = boundary;
        changed = *changed ? arena_printf(a, "%s,boundary", changed) : "boundary";
        if (boundary && !p->set_center) {
            cur.has_center = true;
            cur.center_lng = blng;
            cur.center_lat = blat;
        }
    }
    if (p->set_center) {
        cur.has_center = p->has_center;
        cur.center_lng = p->center_lng;
        cur.center_lat = p->center_lat;
    }
    if (p->set_center || (p->set_boundary && boundary))
        changed = *changed ? arena_printf(a, "%s,center", changed) : "center";

    if ((e = db_prepare(d,
                        "UPDATE regions SET name = ?, boundary = ?, center_lng = ?, "
                        "center_lat = ?, updated_at = ? WHERE code = ? AND code > ? AND code < ?",
                        &s)))
        goto fail;
    db_bind_text(s, 1, cur.name);
    db_bind_text(s, 2, cur.boundary);
    bind_center(s, 3, cur.has_center, cur.center_lng, cur.center_lat);
    db_bind_int64(s, 5, now_ms());
    db_bind_int64(s, 6, code);
    db_bind_int64(s, 7, sc->lo);
    db_bind_int64(s, 8, sc->hi);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    *r_r = cur;
    if (changed_r)
        *changed_r = changed;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* Tables whose rows hang from a region by region_code. */
static const char *const referencing[] = {
    "UPDATE persons SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE places SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE enterprises SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE users SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE departments SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE jobs SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE declarations SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE temperatures SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE isolations SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE contacts SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE stays SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE test_results SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE zones SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE zone_regions SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE health_codes SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE code_history SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE venues SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE access_records SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE alerts SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE visitors SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE visitor_passages SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE vehicles SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE vehicle_passages SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE devices SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE device_readings SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* the observation list, status and timeline (case/, sql/019) */
    "UPDATE observations SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE quarantine_rooms SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE status_changes SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE case_events SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* reports (case/incident.c, sql/020) */
    "UPDATE incidents SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* release certificates (by the person's region and the issuing
     * community) and follow-up notes (case/, sql/022) */
    "UPDATE certificates SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE certificates SET unit_code = unit_code + ? WHERE unit_code >= ? AND unit_code < ?",
    "UPDATE observation_notes SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* tasks (task/, sql/017), claimed attachments (attach/, sql/016; an
     * unclaimed upload has region 0, outside every range), checks and the
     * messages of observed people (case/check.c, sql/021) */
    "UPDATE tasks SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE attachments SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE checks SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE check_messages SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* nucleic-acid testing (nat/, sql/024): sites, clock-ins, a plan's
     * figures by street, plans (their end moved before, by plan_end_move:
     * the same rows, counted once) */
    "UPDATE nat_sites SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE nat_clockins SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE nat_plan_figures SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* retests (sql/032), withdrawn results and the test results they
     * took (sql/037) */
    "UPDATE nat_retests SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE nat_withdrawals SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE test_results_withdrawn SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE nat_plans SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* key persons' trips (the person's residence, sql/038) and risk areas
     * inside the tree (sql/004, sql/039) */
    "UPDATE trips SET region_code = region_code + ? WHERE region_code >= ? AND region_code < ?",
    "UPDATE risk_areas SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* contact tracing: a run's case region, a contact's residence */
    "UPDATE trace_runs SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE trace_contacts SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    /* investigations, case links and clusters (sql/041) */
    "UPDATE investigations SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE case_links SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
    "UPDATE clusters SET region_code = region_code + ? WHERE region_code >= ? AND "
    "region_code < ?",
};

/* A plan's end moves with its code, first, while the code still selects
 * it; its rows are the plans the list above counts, so not counted here. */
static const char plan_end_move[] = "UPDATE nat_plans SET region_end = region_end + ? WHERE "
                                    "region_code >= ? AND region_code < ?";

static err bad_move(const char *why)
{
    return err_set(E_INPUT, "invalid_region_code", "code", "%s", why);
}

/*
 * The street rollup of the counters (stats/stats.h) when the subtree
 * [code, end) moves to new_code: a subtree at the street or above takes its
 * streets' rows along (zero rows left at the new codes dropped first, as for
 * the counters); one below a street takes its counters' sums out of the old
 * street's rows into the new street's. Before the counters move.
 */
static err move_street_counters(db *d, int64_t code, int64_t end, int64_t new_code, int64_t delta)
{
    db_stmt *s;
    err e;
    if (regcode_level(code) <= LEVEL_STREET) {
        if ((e = db_prepare(d,
                            "DELETE FROM street_counters WHERE region_code >= ? AND region_code "
                            "< ? AND n = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, new_code);
        db_bind_int64(s, 2, regcode_end(new_code));
        if ((e = db_run(s, NULL)) ||
            (e = db_prepare(d,
                            "UPDATE street_counters SET region_code = region_code + ? WHERE "
                            "region_code >= ? AND region_code < ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, delta);
        db_bind_int64(s, 2, code);
        db_bind_int64(s, 3, end);
        return db_run(s, NULL);
    }
    int64_t from = regcode_at_most(code, LEVEL_STREET),
            to = regcode_at_most(new_code, LEVEL_STREET);
    for (int k = 0; k < 2 && from != to; k++) {
        if ((e = db_prepare(d,
                            "INSERT INTO street_counters (measure, region_code, day, n) "
                            "SELECT measure, ?, day, CAST(SUM(n) * ? AS BIGINT) FROM counters "
                            "WHERE region_code >= ? AND region_code < ? GROUP BY measure, day "
                            "ON CONFLICT (measure, region_code, day) DO UPDATE SET n = "
                            "street_counters.n + excluded.n",
                            &s)))
            return e;
        db_bind_int64(s, 1, k ? to : from);
        db_bind_int64(s, 2, k ? 1 : -1);
        db_bind_int64(s, 3, code);
        db_bind_int64(s, 4, end);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

err region_move(db *d, const struct scope *sc, int64_t code, int64_t new_code, arena *a,
                struct region *r_r, int64_t *moved_r)
{
    /* journalled scans moved with the rest (db/catchup.h) */
    db_catch_up();
    err e = write_scope_check(sc, code, E_NOT_FOUND);
    if (e)
        return e;
    if (new_code <= 0 || regcode_level(new_code) != regcode_level(code))
        return bad_move("新代码应与原区划同一层级");
    if (new_code == code)
        return bad_move("新代码与原代码相同");
    if (!(new_code > sc->lo && new_code < sc->hi))
        return bad_move("新代码不在您的管辖范围内");
    int64_t end = regcode_end(code), new_end = regcode_end(new_code);
    int64_t delta = new_code - code, parent = regcode_parent(new_code);
    /* the new place must not sit inside the subtree being moved */
    if (new_code >= code && new_code < end)
        return bad_move("不能移动到本区划的下级");

    /* Lock the region (PostgreSQL: against a concurrent delete or move). */
    if ((e = begin_write(d, code)))
        return e;
    bool yes;
    if ((e = exists_in(d, code, sc->lo + 1, sc->hi, &yes)))
        goto fail;
    if (!yes) {
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
        goto fail;
    }
    if ((e = exists_in(d, parent, sc->lo, sc->hi, &yes)))
        goto fail;
    if (!yes) {
        e = err_set(E_INPUT, "parent_not_found", "code", "新代码的上级区划不存在");
        goto fail;
    }
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM regions WHERE code >= ? AND code < ? LIMIT 1", &s)))
        goto fail;
    db_bind_int64(s, 1, new_code);
    db_bind_int64(s, 2, new_end);
    bool taken;
    e = db_row(s, &taken);
    db_done(s);
    if (e)
        goto fail;
    if (taken) {
        e = err_set(E_CONFLICT, "region_exists", "code", "新代码已被其他区划使用");
        goto fail;
    }

    /* Copy the subtree to its new codes, move every reference, then drop
     * the old rows: users and departments reference regions by foreign
     * key, so the new codes must exist before the references move. */
    int64_t now = now_ms();
    if ((e = db_prepare(d,
                        "INSERT INTO regions (code, parent_code, level, name, boundary, "
                        "center_lng, center_lat, created_at, updated_at) "
                        "SELECT code + ?, CASE WHEN code = ? THEN ? ELSE parent_code + ? END, "
                        "level, name, boundary, center_lng, center_lat, created_at, ? "
                        "FROM regions WHERE code >= ? AND code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, code);
    db_bind_int64(s, 3, parent);
    db_bind_int64(s, 4, delta);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, code);
    db_bind_int64(s, 7, end);
    if ((e = db_run(s, NULL)))
        goto fail;
    if ((e = db_prepare(d, plan_end_move, &s)))
        goto fail;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, code);
    db_bind_int64(s, 3, end);
    if ((e = db_run(s, NULL)))
        goto fail;
    int64_t moved = 0;
    for (size_t i = 0; i < sizeof referencing / sizeof referencing[0]; i++) {
        if ((e = db_prepare(d, referencing[i], &s)))
            goto fail;
        db_bind_int64(s, 1, delta);
        db_bind_int64(s, 2, code);
        db_bind_int64(s, 3, end);
        int64_t n;
        if ((e = db_run(s, &n)))
            goto fail;
        moved += n;
    }
    /* the counters kept at these regions (stats/stats.h) move with them:
     * figures, not records, so not in *moved_r. Zero counters left where
     * people lived before a region was deleted would collide with them. */
    if ((e = db_prepare(
             d, "DELETE FROM counters WHERE region_code >= ? AND region_code < ? AND n = 0", &s)))
        goto fail;
    db_bind_int64(s, 1, new_code);
    db_bind_int64(s, 2, new_end);
    if ((e = db_run(s, NULL)))
        goto fail;
    if ((e = move_street_counters(d, code, end, new_code, delta)))
        goto fail;
    if ((e = db_prepare(d,
                        "UPDATE counters SET region_code = region_code + ? WHERE region_code >= ? "
                        "AND region_code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, delta);
    db_bind_int64(s, 2, code);
    db_bind_int64(s, 3, end);
    if ((e = db_run(s, NULL)))
        goto fail;
    if ((e = db_prepare(d, "DELETE FROM regions WHERE code >= ? AND code < ?", &s)))
        goto fail;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, end);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    auth_changed_at_commit(d); /* users under it now have other scopes */
    if (moved_r)
        *moved_r = moved;
    return region_find(d, sc, new_code, false, a, r_r);
fail:
    db_rollback(d);
    return e;
}

err region_delete(db *d, const struct scope *sc, int64_t code)
{
    err e = write_scope_check(sc, code, E_NOT_FOUND);
    if (e || (e = begin_write(d, code)))
        return e;
    bool yes;
    int64_t end = regcode_end(code);
    if ((e = exists_in(d, code, sc->lo + 1, sc->hi, &yes)))
        goto fail;
    if (!yes) {
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
        goto fail;
    }
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT 1 FROM regions WHERE code > ? AND code < ? LIMIT 1", &s)))
        goto fail;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, end);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    if (e)
        goto fail;
    if (row) {
        e = err_set(E_CONFLICT, "region_in_use", NULL, "该区划下还有下级区划，不能删除");
        goto fail;
    }
    /* every table whose rows hang from a region; a soft-deleted record no
     * longer holds its region */
    if ((e = db_prepare(d,
                        "SELECT "
                        "(SELECT COUNT(*) FROM persons WHERE region_code >= ? AND "
                        "region_code < ? AND deleted_at = 0) + "
                        "(SELECT COUNT(*) FROM places WHERE region_code >= ? AND "
                        "region_code < ? AND deleted_at = 0) + "
                        "(SELECT COUNT(*) FROM enterprises WHERE region_code >= ? AND "
                        "region_code < ? AND deleted_at = 0) + "
                        "(SELECT COUNT(*) FROM users WHERE region_code >= ? AND region_code < ?) + "
                        "(SELECT COUNT(*) FROM departments WHERE region_code >= ? AND "
                        "region_code < ?)",
                        &s)))
        goto fail;
    for (int i = 1; i <= 10; i += 2) {
        db_bind_int64(s, i, code);
        db_bind_int64(s, i + 1, end);
    }
    int64_t refs = 0;
    if (!(e = db_row(s, &row)))
        refs = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        goto fail;
    if (refs > 0) {
        e = err_set(E_CONFLICT, "region_in_use", NULL,
                    "该区划仍有人员、场所、企业、用户或部门（共 %lld 条），不能删除",
                    (long long)refs);
        goto fail;
    }
    if ((e = db_prepare(d, "DELETE FROM regions WHERE code = ? AND code > ? AND code < ?", &s)))
        goto fail;
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- import --------------------------------------------------------------- */

enum region_level region_level_parse_any(const char *s)
{
    static const struct {
        const char *name;
        enum region_level lv;
    } aliases[] = {
        {"省", LEVEL_PROVINCE}, {"市", LEVEL_CITY},        {"区县", LEVEL_DISTRICT},
        {"区", LEVEL_DISTRICT}, {"县", LEVEL_DISTRICT},    {"街道", LEVEL_STREET},
        {"乡镇", LEVEL_STREET}, {"社区", LEVEL_COMMUNITY}, {"村", LEVEL_COMMUNITY},
        {"网格", LEVEL_GRID},   {"楼栋", LEVEL_BUILDING},
    };
    if (!s)
        return 0;
    enum region_level lv = region_level_parse(s);
    for (size_t i = 0; !lv && i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(s, aliases[i].name))
            lv = aliases[i].lv;
    return lv;
}

/* One row of a document, checked on its own. */
struct row {
    long row;
    size_t order;
    bool exists; /* the code is already a region */
    struct region_input in;
};

/* An open-addressing set of codes (0 marks an empty slot). */
struct codeset {
    int64_t *t;
    size_t cap, n;
};

struct importer {
    db *d;
    const struct scope *sc;
    arena *a;
    struct row *rows;
    size_t n, cap;
    struct region_import_error *errs;
    size_t nerr, errcap;
    struct codeset seen;    /* codes met in the document so far */
    struct codeset applied; /* codes stored by this import: parents need no look-up */
};

static void report(struct importer *im, long row, const char *field, const char *code,
                   const char *message)
{
    if (im->nerr == im->errcap) {
        size_t cap = im->errcap ? im->errcap * 2 : 32;
        struct region_import_error *e = arena_alloc(im->a, cap * sizeof *e);
        if (im->nerr)
            memcpy(e, im->errs, im->nerr * sizeof *e);
        im->errs = e;
        im->errcap = cap;
    }
    im->errs[im->nerr++] = (struct region_import_error){
        .row = row,
        .field = arena_strdup(im->a, field ? field : ""),
        .code = arena_strdup(im->a, code),
        .message = arena_strdup(im->a, message),
    };
}

/* Report the thread's last error detail against a row. */
static void report_last(struct importer *im, long row)
{
    const struct err_detail *d = err_last();
    report(im, row, d->field, d->slug, d->message);
}

static size_t codeset_slot(const struct codeset *cs, int64_t code)
{
    size_t h = (size_t)((uint64_t)code * 0x9E3779B97F4A7C15ull) & (cs->cap - 1);
    while (cs->t[h] && cs->t[h] != code)
        h = (h + 1) & (cs->cap - 1);
    return h;
}

/* Add a code to a set; false if it was there already. */
static bool codeset_add(struct codeset *cs, arena *a, int64_t code)
{
    if ((cs->n + 1) * 2 > cs->cap) {
        struct codeset bigger = {.cap = cs->cap ? cs->cap * 2 : 1024};
        bigger.t = arena_zalloc(a, bigger.cap * sizeof *bigger.t);
        for (size_t i = 0; i < cs->cap; i++)
            if (cs->t[i])
                bigger.t[codeset_slot(&bigger, cs->t[i])] = cs->t[i];
        bigger.n = cs->n;
        *cs = bigger;
    }
    size_t h = codeset_slot(cs, code);
    if (cs->t[h])
        return false;
    cs->t[h] = code;
    cs->n++;
    return true;
}

static bool codeset_has(const struct codeset *cs, int64_t code)
{
    return cs->cap && cs->t[codeset_slot(cs, code)] == code;
}

static void add_row(struct importer *im, const struct row *r)
{
    if (im->n == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 256;
        struct row *rows = arena_alloc(im->a, cap * sizeof *rows);
        if (im->n)
            memcpy(rows, im->rows, im->n * sizeof *rows);
        im->rows = rows;
        im->cap = cap;
    }
    im->rows[im->n] = *r;
    im->rows[im->n].order = im->n;
    im->n++;
}

/* The raw text of one row's fields, as both formats deliver them. */
struct raw_row {
    long row;
    const char *code, *name, *level, *parent_code; /* NULL or "" when absent */
    const char *lng, *lat;                         /* CSV centre cells */
    bool has_center;                               /* GeoJSON centre */
    double center_lng, center_lat;
    const char *boundary; /* geometry text */
};

/* Check a row's own fields and queue it, or report its first error. */
static void take_row(struct importer *im, const struct raw_row *rr)
{
    struct row r = {.row = rr->row};
    struct region_input *in = &r.in;
    in->parent_code = -1;
    if (!rr->code || !*rr->code) {
        report(im, rr->row, "code", "required", "请填写区划代码");
        return;
    }
    enum region_level lv;
    in->code = regcode_parse(rr->code, &lv);
    if (in->code < 0) {
        report(im, rr->row, "code", "invalid_region_code",
               "区划代码格式不正确：应为 12、15 或 18 位数字，且下级代码不能挂在为零的上级段下");
        return;
    }
    if (!codeset_add(&im->seen, im->a, in->code)) {
        report(im, rr->row, "code", "duplicate_in_file", "区划代码在文件中重复出现");
        return;
    }
    if (!rr->level || !*rr->level) {
        report(im, rr->row, "level", "required", "请填写层级");
        return;
    }
    in->level = region_level_parse_any(rr->level);
    if (!in->level) {
        report(im, rr->row, "level", "invalid_level",
               "层级不正确：应为 province/city/district/street/community/grid/building 或 "
               "省/市/区县/街道/社区/网格/楼栋");
        return;
    }
    if (rr->parent_code && *rr->parent_code) {
        in->parent_code = regcode_parse(rr->parent_code, NULL);
        if (in->parent_code < 0)
            in->parent_code = 1; /* malformed: cannot be the parent of a valid code */
    }
    in->name = rr->name;
    if (rr->has_center) {
        in->has_center = true;
        in->center_lng = rr->center_lng;
        in->center_lat = rr->center_lat;
    } else if ((rr->lng && *rr->lng) || (rr->lat && *rr->lat)) {
        char *end1 = NULL, *end2 = NULL;
        in->center_lng = rr->lng ? strtod(rr->lng, &end1) : 0;
        in->center_lat = rr->lat ? strtod(rr->lat, &end2) : 0;
        if (!rr->lng || !*rr->lng || *end1 || !rr->lat || !*rr->lat || *end2) {
            report(im, rr->row, rr->lng && *rr->lng ? "center_lat" : "center_lng", "invalid_center",
                   "经度和纬度应同时填写，且为数字");
            return;
        }
        in->has_center = true;
    }
    in->boundary = rr->boundary && *rr->boundary ? rr->boundary : NULL;
    if ((in->has_center && region_center_check(in->center_lng, in->center_lat,
                                               rr->has_center ? "center" : "center_lng")) ||
        input_check(in, im->a) || write_scope_check(im->sc, in->code, E_INPUT)) {
        report_last(im, rr->row);
        return;
    }
    add_row(im, &r);
}

/* Trim ASCII blanks at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

enum { COL_CODE, COL_NAME, COL_LEVEL, COL_PARENT, COL_LNG, COL_LAT, COL_BOUNDARY, NCOLS };

static int column_of(const char *h)
{
    static const char *const names[NCOLS][2] = {
        [COL_CODE] = {"code", "区划代码"},     [COL_NAME] = {"name", "名称"},
        [COL_LEVEL] = {"level", "层级"},       [COL_PARENT] = {"parent_code", "上级代码"},
        [COL_LNG] = {"center_lng", "经度"},    [COL_LAT] = {"center_lat", "纬度"},
        [COL_BOUNDARY] = {"boundary", "边界"},
    };
    for (int c = 0; c < NCOLS; c++)
        if (!strcasecmp(h, names[c][0]) || !strcmp(h, names[c][1]))
            return c;
    return -1;
}

static err read_csv(struct importer *im, const char *data, size_t n)
{
    /* a boundary may hold up to 10000 positions, each ~40 bytes of text */
    struct csv_limits lim = {.max_field = 1024 * 1024, .max_record = 1100 * 1024, .max_fields = 64};
    csv_reader *cr = csv_open_mem(im->a, data, n, &lim);
    char **f;
    size_t nf;
    int rc = csv_next(cr, &f, &nf);
    if (rc != CSV_RECORD)
        return err_set(E_INPUT, "invalid_csv", NULL,
                       rc == CSV_END ? "文件为空：第一行应为表头（code,name,level,parent_code）"
                                     : "第 1 行表头格式不正确");
    int map[64];
    bool have[NCOLS] = {0};
    for (size_t i = 0; i < nf; i++) {
        char *h = trim(f[i]);
        if (!utf8_valid_text(h))
            return err_set(E_INPUT, "invalid_encoding", NULL, "文件应为 UTF-8 编码");
        map[i] = column_of(h);
        if (map[i] < 0)
            return err_set(E_INPUT, "invalid_csv", NULL,
                           "表头含有不支持的列“%.40s”：支持 code,name,level,parent_code,"
                           "center_lng,center_lat,boundary",
                           h);
        if (have[map[i]])
            return err_set(E_INPUT, "invalid_csv", NULL, "表头中的列“%.40s”重复", h);
        have[map[i]] = true;
    }
    if (!have[COL_CODE] || !have[COL_NAME] || !have[COL_LEVEL])
        return err_set(E_INPUT, "invalid_csv", NULL, "表头必须包含 code、name、level 三列");

    size_t nh = nf;

    while ((rc = csv_next(cr, &f, &nf)) != CSV_END) {
        long line = csv_line(cr);
        if (rc == CSV_E_IO)
            return err_set(E_IO, NULL, NULL, NULL);
        if (rc != CSV_RECORD) {
            report(im, line, NULL, "invalid_row",
                   rc == CSV_E_QUOTE ? "引号使用不正确"
                   : rc == CSV_E_NUL ? "含有不允许的字符"
                                     : "行或字段过长");
            continue;
        }
        if (nf > nh) {
            report(im, line, NULL, "invalid_row", "列数多于表头");
            continue;
        }
        /* cells a spreadsheet left off the end of a row are empty */
        struct raw_row rr = {.row = line};
        const char *cells[NCOLS] = {0};
        bool bad = false;
        for (size_t i = 0; i < nf && !bad; i++) {
            cells[map[i]] = trim(f[i]);
            bad = !utf8_valid_text(cells[map[i]]);
        }
        if (bad) {
            report(im, line, NULL, "invalid_encoding", "不是有效的 UTF-8 文本");
            continue;
        }
        rr.code = cells[COL_CODE];
        rr.name = cells[COL_NAME];
        rr.level = cells[COL_LEVEL];
        rr.parent_code = cells[COL_PARENT];
        rr.lng = cells[COL_LNG];
        rr.lat = cells[COL_LAT];
        rr.boundary = cells[COL_BOUNDARY];
        /* fields live until the next csv_next: keep what the row needs */
        rr.name = rr.name ? arena_strdup(im->a, rr.name) : NULL;
        rr.boundary = rr.boundary ? arena_strdup(im->a, rr.boundary) : NULL;
        take_row(im, &rr);
    }
    return E_OK;
}

static void free_json(void *p)
{
    json_decref(p);
}

/* A property holding a code: a string, or an integer (JSON numbers keep
 * 18 digits exactly in jansson); "" for anything else, so it fails as
 * malformed. NULL when absent. */
static const char *code_text(json_t *v, arena *a)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return arena_printf(a, "%lld", (long long)json_integer_value(v));
    return "?";
}

static err read_geojson(struct importer *im, const char *data, size_t n)
{
    json_error_t je;
    json_t *doc = json_loadb(data, n, 0, &je);
    if (!doc)
        return err_set(E_INPUT, "invalid_geojson", NULL, "GeoJSON 格式错误（第 %d 行第 %d 列）",
                       je.line, je.column);
    arena_on_free(im->a, free_json, doc);
    const char *type = json_string_value(json_object_get(doc, "type"));
    json_t *features = json_object_get(doc, "features");
    if (!type || strcmp(type, "FeatureCollection") || !json_is_array(features))
        return err_set(E_INPUT, "invalid_geojson", NULL,
                       "GeoJSON 应为 FeatureCollection，并包含 features 数组");
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f)
    {
        long row = (long)i + 1;
        const char *ftype = json_string_value(json_object_get(f, "type"));
        json_t *props = json_object_get(f, "properties");
        if (!ftype || strcmp(ftype, "Feature")) {
            report(im, row, "type", "invalid_row", "要素的 type 应为 Feature");
            continue;
        }
        if (!json_is_object(props)) {
            report(im, row, "properties", "invalid_row", "要素缺少 properties 对象");
            continue;
        }
        json_t *name = json_object_get(props, "name"), *level = json_object_get(props, "level");
        if ((name && !json_is_string(name) && !json_is_null(name)) ||
            (level && !json_is_string(level) && !json_is_null(level))) {
            report(im, row, name && !json_is_string(name) ? "name" : "level", "invalid_type",
                   "名称和层级应为字符串");
            continue;
        }
        struct raw_row rr = {
            .row = row,
            .code = code_text(json_object_get(props, "code"), im->a),
            .name = json_string_value(name),
            .level = json_string_value(level),
            .parent_code = code_text(json_object_get(props, "parent_code"), im->a),
        };
        json_t *c = json_object_get(props, "center");
        if (c && !json_is_null(c)) {
            if (!json_is_array(c) || json_array_size(c) != 2 ||
                !json_is_number(json_array_get(c, 0)) || !json_is_number(json_array_get(c, 1))) {
                report(im, row, "center", "invalid_center", "中心点应为 [经度, 纬度]");
                continue;
            }
            rr.has_center = true;
            rr.center_lng = json_number_value(json_array_get(c, 0));
            rr.center_lat = json_number_value(json_array_get(c, 1));
        }
        json_t *g = json_object_get(f, "geometry");
        if (g && !json_is_null(g)) {
            /* checked again (and normalised) by take_row, like CSV text */
            char *text = json_dumps(g, JSON_COMPACT | JSON_REAL_PRECISION(17));
            if (!text)
                return err_set(E_NOMEM, NULL, NULL, NULL);
            rr.boundary = arena_strdup(im->a, text);
            free(text);
        }
        take_row(im, &rr);
    }
    return E_OK;
}

/* Level first, then the document's order: parents before children. */
static int row_cmp(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    if (a->in.level != b->in.level)
        return a->in.level < b->in.level ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int err_cmp(const void *x, const void *y)
{
    const struct region_import_error *a = x, *b = y;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* An existing region gets the row's name, and its boundary and centre only
 * when the row gives them. */
static err update_row(db *d, const struct scope *sc, const struct region_input *in, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE regions SET name = ?, boundary = COALESCE(?, boundary), "
                       "center_lng = COALESCE(?, center_lng), "
                       "center_lat = COALESCE(?, center_lat), updated_at = ? "
                       "WHERE code = ? AND code > ? AND code < ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, in->name);
    db_bind_text(s, 2, in->boundary);
    bind_center(s, 3, in->has_center, in->center_lng, in->center_lat);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, in->code);
    db_bind_int64(s, 7, sc->lo);
    db_bind_int64(s, 8, sc->hi);
    return db_run(s, NULL);
}

/*
 * Writing row by row costs a round trip per statement, which on PostgreSQL
 * dominates an import; rows are therefore looked up and inserted
 * IMPORT_BATCH at a time, with statements whose text is fixed.
 */
#define IMPORT_BATCH 32
#define P4           "?, ?, ?, ?"
#define P32          P4 ", " P4 ", " P4 ", " P4 ", " P4 ", " P4 ", " P4 ", " P4
#define ROW1         "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define ROW4         ROW1 ", " ROW1 ", " ROW1 ", " ROW1
#define ROW32        ROW4 ", " ROW4 ", " ROW4 ", " ROW4 ", " ROW4 ", " ROW4 ", " ROW4 ", " ROW4
#define INSERT_HEAD                                                                                \
    "INSERT INTO regions (code, parent_code, level, name, boundary, center_lng, center_lat, "      \
    "created_at, updated_at) VALUES "

/* Set rows[].exists, looking codes up IMPORT_BATCH at a time. */
static err mark_existing(struct importer *im)
{
    struct codeset found = {0};
    for (size_t at = 0; at < im->n; at += IMPORT_BATCH) {
        db_stmt *s;
        err e = db_prepare(
            im->d, "SELECT code FROM regions WHERE code > ? AND code < ? AND code IN (" P32 ")",
            &s);
        if (e)
            return e;
        db_bind_int64(s, 1, im->sc->lo);
        db_bind_int64(s, 2, im->sc->hi);
        for (size_t k = 0; k < IMPORT_BATCH; k++) /* 0 is never a code: padding */
            db_bind_int64(s, 3 + (int)k, at + k < im->n ? im->rows[at + k].in.code : 0);
        bool row;
        while (!(e = db_row(s, &row)) && row)
            codeset_add(&found, im->a, db_col_int64(s, 0));
        db_done(s);
        if (e)
            return e;
    }
    for (size_t i = 0; i < im->n; i++)
        im->rows[i].exists = codeset_has(&found, im->rows[i].in.code);
    return E_OK;
}

/* Insert the pending rows: a full batch in one statement, a remainder one
 * by one (so there is a single batch statement text to cache). */
static err flush_inserts(struct importer *im, const struct region_input **pend, size_t *np,
                         int64_t now)
{
    err e = E_OK;
    if (*np == IMPORT_BATCH) {
        db_stmt *s;
        if ((e = db_prepare(im->d, INSERT_HEAD ROW32, &s)))
            return e;
        for (size_t k = 0; k < IMPORT_BATCH; k++) {
            const struct region_input *in = pend[k];
            int b = (int)k * 9;
            int64_t parent = regcode_parent(in->code);
            db_bind_int64(s, b + 1, in->code);
            if (parent)
                db_bind_int64(s, b + 2, parent);
            else
                db_bind_null(s, b + 2);
            db_bind_int64(s, b + 3, in->level);
            db_bind_text(s, b + 4, in->name);
            db_bind_text(s, b + 5, in->boundary);
            bind_center(s, b + 6, in->has_center, in->center_lng, in->center_lat);
            db_bind_int64(s, b + 8, now);
            db_bind_int64(s, b + 9, now);
        }
        e = db_run(s, NULL);
    } else {
        for (size_t k = 0; k < *np && !e; k++)
            e = insert_row(im->d, pend[k], now);
    }
    *np = 0;
    return e;
}

/* Store the checked rows, level by level, in one transaction. */
static err apply(struct importer *im, struct region_import_report *rep)
{
    if (im->n > 1)
        qsort(im->rows, im->n, sizeof *im->rows, row_cmp);
    err e = begin_write(im->d, im->sc->lo);
    if (e)
        return e;
    if ((e = mark_existing(im)))
        goto fail;
    int64_t now = now_ms();
    const struct region_input *pend[IMPORT_BATCH];
    size_t np = 0;
    struct codeset known = {0}; /* parents found in the database */
    for (size_t i = 0; i < im->n; i++) {
        const struct region_input *in = &im->rows[i].in;
        /* a level's rows are written before the next level's parents are
         * looked for */
        if (np && pend[0]->level != in->level && (e = flush_inserts(im, pend, &np, now)))
            goto fail;
        if (im->rows[i].exists) {
            if ((e = update_row(im->d, im->sc, in, now)))
                goto fail;
            rep->updated++;
            codeset_add(&im->applied, im->a, in->code);
            continue;
        }
        int64_t parent = regcode_parent(in->code);
        if (!codeset_has(&im->applied, parent) && !codeset_has(&known, parent)) {
            bool found;
            e = parent_check(im->d, im->sc, in->code, im->applied.n > 0, &found);
            if (e == E_INPUT) {
                report_last(im, im->rows[i].row);
                continue;
            }
            if (e)
                goto fail;
            if (found)
                codeset_add(&known, im->a, parent);
        }
        pend[np++] = in;
        codeset_add(&im->applied, im->a, in->code);
        rep->imported++;
        if (np == IMPORT_BATCH && (e = flush_inserts(im, pend, &np, now)))
            goto fail;
    }
    if ((e = flush_inserts(im, pend, &np, now)) || (e = db_commit(im->d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(im->d);
    return e;
}

err region_import(db *d, const struct scope *sc, enum region_format fmt, const char *data, size_t n,
                  arena *a, struct region_import_report *rep_r)
{
    struct importer im = {.d = d, .sc = sc, .a = a};
    struct region_import_report rep = {0};
    err e = fmt == REGION_GEOJSON ? read_geojson(&im, data, n) : read_csv(&im, data, n);
    if (e || (e = apply(&im, &rep)))
        return e;
    if (im.nerr > 1)
        qsort(im.errs, im.nerr, sizeof *im.errs, err_cmp);
    rep.error_count = (int64_t)im.nerr;
    rep.errors = im.errs;
    rep.n_errors = im.nerr < REGION_IMPORT_MAX_ERRORS ? im.nerr : REGION_IMPORT_MAX_ERRORS;
    *rep_r = rep;
    return E_OK;
}

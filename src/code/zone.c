/*
 * Zones (code/code.h "zones"): a region's subtree or a polygon drawn on the
 * map, what each covers (zone_regions, zone_places), their effect on codes
 * previewed and applied, lifts with a reason, the lists and the GeoJSON
 * import. docs/zones.md.
 *
 * A drawn zone's coverage is looked up once, when it is saved: the
 * buildings (regions of level building) whose centre and the places whose
 * position lie inside the polygon, found through the centre and position
 * indexes by the polygon's bounding box, then tested one by one
 * (geo_contains). The engine never sees polygons: only code ranges.
 */
#include "code/code.h"

#include <stdio.h>
#include <string.h>

#include "base/geo.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "person/person.h"
#include "region/region.h"

/* Buildings and places listed in a zone's reply. */
#define LIST_MAX 2000
/* Residences and communities listed in a preview. */
#define EFFECT_LIST_MAX 200

/* A zone as checked, with what it covers. */
struct draft {
    enum zone_kind kind;
    const char *name;
    int64_t region;       /* the region given (padded), 0 when none */
    const char *boundary; /* compact GeoJSON text, NULL for a region zone */
    int64_t from, to;
    int64_t anchor; /* the region the zone is scoped by */
    struct code_range *ranges;
    size_t n_ranges;
    int64_t *places;
    size_t n_places;
};

/* The field names an error reports: a body's own (`plain`), or the
 * member's place inside an import's file ("features[2].geometry"). The
 * values are always read from a body with the plain names. */
struct names {
    const char *kind, *name, *region, *boundary, *from, *to;
};
static const struct names plain = {"kind",     "name",       "region_code",
                                   "boundary", "valid_from", "valid_to"};

/* The deepest region holding both codes (0: none, different provinces). */
static int64_t common_ancestor(int64_t a, int64_t b)
{
    for (int lv = LEVEL_BUILDING; lv >= LEVEL_PROVINCE; lv--)
        if ((int)regcode_level(a) >= lv && (int)regcode_level(b) >= lv &&
            regcode_at_most(a, (enum region_level)lv) == regcode_at_most(b, (enum region_level)lv))
            return regcode_at_most(a, (enum region_level)lv);
    return 0;
}

/* The geometry `g` read and checked for simplicity (base/geo.h), into
 * *shape_r and its compact text *text_r. */
static err shape_read(json_t *g, const char *field, arena *a, const char **text_r,
                      struct geo_shape *shape_r)
{
    err e = geo_parse(g, field, GEO_VERTICES_MAX, a, shape_r);
    if (!e)
        e = geo_check(shape_r, field);
    if (!e)
        *text_r = geo_text(shape_r, a);
    return e;
}

/* What lies inside the shape within [lo, hi): the buildings as ranges and
 * the places, into dr. */
static err cover(db *d, arena *a, const struct geo_shape *g, int64_t lo, int64_t hi,
                 const char *field, struct draft *dr)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT code, center_lng, center_lat FROM regions WHERE center_lng >= ? "
                       "AND center_lng <= ? AND center_lat >= ? AND center_lat <= ? AND level = ? "
                       "AND code >= ? AND code < ? ORDER BY code",
                       &s);
    if (e)
        return e;
    db_bind_double(s, 1, g->min_x);
    db_bind_double(s, 2, g->max_x);
    db_bind_double(s, 3, g->min_y);
    db_bind_double(s, 4, g->max_y);
    db_bind_int64(s, 5, LEVEL_BUILDING);
    db_bind_int64(s, 6, lo);
    db_bind_int64(s, 7, hi);
    size_t n = 0, cap = 64;
    struct code_range *r = arena_alloc(a, cap * sizeof *r);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!geo_contains(g, db_col_double(s, 1), db_col_double(s, 2)))
            continue;
        if (n == ZONE_BUILDINGS_MAX) {
            e = err_set(E_INPUT, "zone_too_large", field, "区域内的楼栋不能超过 %d 栋",
                        ZONE_BUILDINGS_MAX);
            break;
        }
        if (n == cap) {
            struct code_range *more = arena_alloc(a, 2 * cap * sizeof *r);
            memcpy(more, r, n * sizeof *r);
            r = more;
            cap *= 2;
        }
        int64_t code = db_col_int64(s, 0);
        r[n++] = (struct code_range){code, regcode_end(code)};
    }
    db_done(s);
    if (e)
        return e;
    dr->ranges = r;
    dr->n_ranges = n;
    int64_t anchor = n ? r[0].lo : -1;
    for (size_t i = 1; i < n; i++)
        anchor = common_ancestor(anchor, r[i].lo);

    if ((e = db_prepare(d,
                        "SELECT id, region_code, lng, lat FROM places WHERE lng >= ? AND lng <= ? "
                        "AND lat >= ? AND lat <= ? AND region_code >= ? AND region_code < ? AND "
                        "deleted_at = 0 ORDER BY id",
                        &s)))
        return e;
    db_bind_double(s, 1, g->min_x);
    db_bind_double(s, 2, g->max_x);
    db_bind_double(s, 3, g->min_y);
    db_bind_double(s, 4, g->max_y);
    db_bind_int64(s, 5, lo);
    db_bind_int64(s, 6, hi);
    n = 0;
    cap = 16;
    int64_t *p = arena_alloc(a, cap * sizeof *p);
    while (!(e = db_row(s, &row)) && row) {
        if (!geo_contains(g, db_col_double(s, 2), db_col_double(s, 3)))
            continue;
        if (n == cap) {
            int64_t *more = arena_alloc(a, 2 * cap * sizeof *p);
            memcpy(more, p, n * sizeof *p);
            p = more;
            cap *= 2;
        }
        p[n++] = db_col_int64(s, 0);
        int64_t code = db_col_int64(s, 1);
        anchor = anchor < 0 ? code : common_ancestor(anchor, code);
    }
    db_done(s);
    if (e)
        return e;
    dr->places = p;
    dr->n_places = n;
    if (!dr->n_ranges && !dr->n_places)
        return err_set(E_INPUT, "zone_empty", field, "所绘区域内没有楼栋或场所");
    dr->anchor = dr->region ? dr->region : anchor;
    return E_OK;
}

/* Read and check a zone's members from b (errors name nm's fields), and
 * look up what it covers. */
static err draft_read(db *d, arena *a, const struct principal *who, json_t *b,
                      const struct names *nm, struct draft *dr)
{
    *dr = (struct draft){0};
    const char *kind = json_str(b, plain.kind);
    if (!(dr->kind = zone_kind_parse(kind)))
        return err_set(E_INPUT, kind ? "invalid_value" : "required", nm->kind,
                       "区域类型应为封控区、管控区或防范区");
    dr->name = json_str(b, plain.name);
    if (!dr->name)
        dr->name = "";
    if (utf8_len(dr->name) > 100)
        return err_set(E_INPUT, "too_long", nm->name, "名称不能超过 100 个字符");
    int64_t now = now_ms();
    dr->from = json_int(b, plain.from, 0);
    dr->to = json_int(b, plain.to, 0);
    if (!dr->from)
        dr->from = now;
    if (dr->to && dr->to < dr->from)
        return err_set(E_INPUT, "invalid_time", nm->to, "结束时间不能早于开始时间");
    const char *rc = json_str(b, plain.region);
    json_t *g = json_object_get(b, plain.boundary);
    if (g && json_is_null(g))
        g = NULL;
    if (!rc && !g)
        return err_set(E_INPUT, "required", nm->region, "请选择区划或在地图上绘制区域");
    err e;
    if (rc) {
        enum region_level lv;
        dr->region = regcode_parse(rc, &lv);
        if ((e = person_region_check(d, &who->scope, dr->region, nm->region)))
            return e;
    }
    if (!g) {
        dr->anchor = dr->region;
        dr->ranges = arena_alloc(a, sizeof *dr->ranges);
        dr->ranges[0] = (struct code_range){dr->region, regcode_end(dr->region)};
        dr->n_ranges = 1;
        return E_OK;
    }
    struct geo_shape shape;
    if ((e = shape_read(g, nm->boundary, a, &dr->boundary, &shape)))
        return e;
    int64_t lo = who->scope.lo, hi = who->scope.hi;
    if (dr->region) {
        lo = dr->region;
        hi = regcode_end(dr->region);
    }
    return cover(d, a, &shape, lo, hi, nm->boundary, dr);
}

/* Write the zone and what it covers (inside the caller's transaction). */
static code_write_fn on_write;

err code_on_write(code_write_fn fn)
{
    if (fn && on_write && on_write != fn)
        return err_set(E_INTERNAL, NULL, NULL, "code_on_write 已有订阅者：每个钩子只能注册一个");
    on_write = fn;
    return E_OK;
}

err code_written(db *d, enum code_record kind, int64_t id, int64_t region_code, bool deleted)
{
    return on_write ? on_write(d, kind, id, region_code, deleted) : E_OK;
}

static err draft_insert(db *d, const struct principal *who, const struct draft *dr, int64_t now,
                        int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO zones (id, region_code, span, kind, name, valid_from, "
                       "valid_to, user_id, created_at, boundary, updated_at) VALUES (?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, dr->anchor);
    /* 0: what it covers spans provinces (an unscoped caller): every code */
    db_bind_int64(s, 3, dr->anchor > 0 ? regcode_end(dr->anchor) - dr->anchor : REGCODE_SPACE);
    db_bind_text(s, 4, zone_kind_name(dr->kind));
    db_bind_text(s, 5, dr->name);
    db_bind_int64(s, 6, dr->from);
    db_bind_int64(s, 7, dr->to);
    db_bind_int64(s, 8, who->user_id);
    db_bind_int64(s, 9, now);
    if (dr->boundary)
        db_bind_text(s, 10, dr->boundary);
    else
        db_bind_null(s, 10);
    db_bind_int64(s, 11, now);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < dr->n_ranges && !e; i++) {
        if ((e = db_prepare(
                 d, "INSERT INTO zone_regions (zone_id, region_code, span) VALUES (?, ?, ?)", &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, dr->ranges[i].lo);
        db_bind_int64(s, 3, dr->ranges[i].hi - dr->ranges[i].lo);
        e = db_run(s, NULL);
    }
    for (size_t i = 0; i < dr->n_places && !e; i++) {
        if ((e = db_prepare(d, "INSERT INTO zone_places (zone_id, place_id) VALUES (?, ?)", &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, dr->places[i]);
        e = db_run(s, NULL);
    }
    if (!e)
        e = code_written(d, CODE_REC_ZONE, id, dr->anchor, false);
    if (!e)
        *id_r = id;
    return e;
}

err code_zone_add(db *d, arena *a, const struct principal *who, json_t *b, int64_t *id_r)
{
    struct draft dr;
    err e = draft_read(d, a, who, b, &plain, &dr);
    if (e || (e = db_begin(d)))
        return e;
    int64_t id;
    if ((e = draft_insert(d, who, &dr, now_ms(), &id)) ||
        (e = code_refresh_ranges(d, a, dr.ranges, dr.n_ranges, "zone", who->user_id)) ||
        (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    *id_r = id;
    return E_OK;
}

/* ---- previews ------------------------------------------------------------------------- */

static json_t *transitions_json(const int64_t changes[3][3])
{
    json_t *arr = json_array();
    for (int f = CODE_GREEN; f <= CODE_RED; f++)
        for (int t = CODE_GREEN; t <= CODE_RED; t++)
            if (f != t && changes[f][t])
                json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "from",
                                                     code_colour_name((enum code_colour)f), "to",
                                                     code_colour_name((enum code_colour)t), "count",
                                                     (json_int_t)changes[f][t]));
    return arr;
}

static int by_changed_then_people(const void *x, const void *y)
{
    const struct code_effect_region *a = x, *b = y;
    if (a->changed != b->changed)
        return (a->changed < b->changed) - (a->changed > b->changed);
    if (a->people != b->people)
        return (a->people < b->people) - (a->people > b->people);
    return (a->region_code > b->region_code) - (a->region_code < b->region_code);
}

/* The first EFFECT_LIST_MAX of v (sorted in place), with names. */
static err effect_regions_json(db *d, arena *a, struct code_effect_region *v, size_t n,
                               enum region_level from, json_t **arr_r)
{
    if (n)
        qsort(v, n, sizeof *v, by_changed_then_people);
    json_t *arr = json_array();
    err e = E_OK;
    for (size_t i = 0; i < n && i < EFFECT_LIST_MAX && !e; i++) {
        const char *name = "";
        if ((e = region_path(d, v[i].region_code, from, a, &name)))
            break;
        json_t *o =
            json_pack("{s:I,s:I,s:o}", "people", (json_int_t)v[i].people, "changed",
                      (json_int_t)v[i].changed, "transitions", transitions_json(v[i].changes));
        json_set_region(o, v[i].region_code, name);
        json_array_append_new(arr, o);
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    *arr_r = arr;
    return E_OK;
}

/* The effect as the previews answer it: totals, transitions, by residence
 * and by community. */
err code_effect_json(db *d, arena *a, struct code_zone_effect *x, json_t **o_r)
{
    /* by community: the residences folded into their community (or kept,
     * when above one) */
    struct code_effect_region *c = arena_alloc(a, (x->n_regions + 1) * sizeof *c);
    size_t m = 0;
    for (size_t i = 0; i < x->n_regions; i++) {
        int64_t code = regcode_at_most(x->regions[i].region_code, LEVEL_COMMUNITY);
        size_t k = 0;
        while (k < m && c[k].region_code != code)
            k++;
        if (k == m)
            c[m++] = (struct code_effect_region){.region_code = code};
        c[k].people += x->regions[i].people;
        c[k].changed += x->regions[i].changed;
        for (int f = 0; f < 3; f++)
            for (int t = 0; t < 3; t++)
                c[k].changes[f][t] += x->regions[i].changes[f][t];
    }
    json_t *by_res = NULL, *by_com = NULL;
    err e = effect_regions_json(d, a, x->regions, x->n_regions, LEVEL_COMMUNITY, &by_res);
    if (e || (e = effect_regions_json(d, a, c, m, LEVEL_STREET, &by_com))) {
        json_decref(by_res);
        return e;
    }
    *o_r = json_pack("{s:I,s:I,s:I,s:o,s:o,s:o}", "total", (json_int_t)x->total, "changed",
                     (json_int_t)x->changed, "reasons_only", (json_int_t)x->reasons_only,
                     "transitions", transitions_json(x->changes), "by_residence", by_res,
                     "by_community", by_com);
    return *o_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

/* COUNT(*) of `sql` over the range r (two bindings). */
static err range_count(db *d, const char *sql, const struct code_range *r, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, r->lo);
    db_bind_int64(s, 2, r->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

err code_zone_preview(db *d, arena *a, const struct principal *who, json_t *b, json_t **o_r)
{
    struct draft dr;
    struct code_zone_effect x;
    json_t *o;
    err e = draft_read(d, a, who, b, &plain, &dr);
    struct code_zone z = {dr.kind, dr.from, dr.to};
    if (e || (e = code_zone_effect(d, a, dr.ranges, dr.n_ranges, &z, 0, &x)) ||
        (e = code_effect_json(d, a, &x, &o)))
        return e;
    int64_t buildings = (int64_t)dr.n_ranges, places = (int64_t)dr.n_places;
    /* a region zone covers every building and place of the subtree */
    if (!dr.boundary &&
        ((e = range_count(d,
                          "SELECT COUNT(*) FROM regions WHERE code >= ? AND code < ? AND level = 7",
                          &dr.ranges[0], &buildings)) ||
         (e = range_count(d,
                          "SELECT COUNT(*) FROM places WHERE region_code >= ? AND region_code < ? "
                          "AND deleted_at = 0",
                          &dr.ranges[0], &places)))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "buildings", json_integer(buildings));
    json_object_set_new(o, "places", json_integer(places));
    const char *name = "";
    if ((e = region_path(d, dr.anchor, LEVEL_DISTRICT, a, &name))) {
        json_decref(o);
        return e;
    }
    json_set_region(o, dr.anchor, name);
    *o_r = o;
    return E_OK;
}

/* ---- one zone -------------------------------------------------------------------------- */

struct zone_head {
    int64_t id, anchor, span, from, to, user_id, created_at, lifted_by;
    const char *kind, *name, *boundary, *lift_reason;
};

/* Zone `id` inside the scope; E_NOT_FOUND otherwise. */
static err head_find(db *d, arena *a, const struct scope *sc, int64_t id, struct zone_head *h)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, span, valid_from, valid_to, user_id, created_at, "
                       "lifted_by, kind, name, boundary, lift_reason FROM zones WHERE id = ? AND "
                       "region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *h = (struct zone_head){db_col_int64(s, 0),
                                db_col_int64(s, 1),
                                db_col_int64(s, 2),
                                db_col_int64(s, 3),
                                db_col_int64(s, 4),
                                db_col_int64(s, 5),
                                db_col_int64(s, 6),
                                db_col_int64(s, 7),
                                arena_strdup(a, db_col_text(s, 8)),
                                arena_strdup(a, db_col_text(s, 9)),
                                db_col_null(s, 10) ? NULL : arena_strdup(a, db_col_text(s, 10)),
                                arena_strdup(a, db_col_text(s, 11))};
    db_done(s);
    if (!e && !row)
        e = E_NOT_FOUND;
    return e;
}

/* The code ranges zone `id` covers, into the arena. */
static err ranges_load(db *d, arena *a, int64_t id, struct code_range **r_r, size_t *n_r)
{
    int64_t n;
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM zone_regions WHERE zone_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    e = db_row(s, &row);
    n = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT region_code, region_code + span FROM zone_regions WHERE "
                             "zone_id = ? ORDER BY region_code",
                             &s)))
        return e;
    db_bind_int64(s, 1, id);
    struct code_range *r = arena_alloc(a, (size_t)(n + 1) * sizeof *r);
    size_t k = 0;
    while (!(e = db_row(s, &row)) && row && k < (size_t)n + 1)
        r[k++] = (struct code_range){db_col_int64(s, 0), db_col_int64(s, 1)};
    db_done(s);
    if (e)
        return e;
    *r_r = r;
    *n_r = k;
    return E_OK;
}

err code_zone_end(db *d, arena *a, const struct principal *who, int64_t id, int64_t valid_to,
                  const char *reason)
{
    int64_t now = now_ms();
    bool lift = reason && *reason, at_now = !valid_to;
    err e = db_begin(d);
    if (e)
        return e;
    struct zone_head h;
    struct code_range *r;
    size_t n;
    db_stmt *s;
    if ((e = head_find(d, a, &who->scope, id, &h)))
        goto fail;
    if (lift && h.to && (h.to <= now || h.to <= h.from)) {
        e = err_set(E_CONFLICT, "zone_ended", NULL, "该区域已于此前解除");
        goto fail;
    }
    /* lifting now a zone that has not started yet cancels it: it ends as it starts */
    if (at_now)
        valid_to = now < h.from ? h.from : now;
    if (valid_to < h.from) {
        e = err_set(E_INPUT, "invalid_time", "valid_to", "结束时间不能早于开始时间");
        goto fail;
    }
    if ((e = db_prepare(d,
                        "UPDATE zones SET valid_to = ?, lifted_by = ?, lift_reason = ?, "
                        "updated_at = ? WHERE id = ? AND region_code >= ? AND region_code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, valid_to);
    db_bind_int64(s, 2, who->user_id);
    db_bind_text(s, 3, reason ? reason : "");
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    db_bind_int64(s, 6, who->scope.lo);
    db_bind_int64(s, 7, who->scope.hi);
    if ((e = db_run(s, NULL)) || (e = ranges_load(d, a, id, &r, &n)) ||
        (e = code_refresh_ranges(d, a, r, n, "zone", who->user_id)) ||
        (e = code_written(d, CODE_REC_ZONE, id, h.anchor, false)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err code_zone_lift_preview(db *d, arena *a, const struct principal *who, int64_t id, json_t **o_r)
{
    struct zone_head h;
    struct code_range *r;
    size_t n;
    struct code_zone_effect x;
    err e = head_find(d, a, &who->scope, id, &h);
    if (e || (e = ranges_load(d, a, id, &r, &n)) ||
        (e = code_zone_effect(d, a, r, n, NULL, id, &x)))
        return e;
    return code_effect_json(d, a, &x, o_r);
}

/* ---- lists ------------------------------------------------------------------------------ */

/* A zone ending where it starts was cancelled before it started: ended. */
static const char *zone_state(int64_t from, int64_t to, int64_t now)
{
    if (to && (to <= now || to <= from))
        return "ended";
    return from > now ? "pending" : "active";
}

/*
 * The people living in a zone, inside a scope. The scope is bound on the
 * zone's ranges, never as a second range on persons.region_code: given two
 * ranges on the one indexed column, the planner may take the scope's (a
 * district: everyone) and filter it once per covered building. A range
 * starting inside the scope lies wholly inside it (a range is a subtree).
 * CROSS JOIN keeps the ranges as the outer loop on SQLite.
 */
#define PEOPLE_COUNT_SQL                                                                           \
    "SELECT COUNT(*) FROM zone_regions r CROSS JOIN persons p WHERE r.zone_id = ? AND "            \
    "r.region_code >= ? AND r.region_code < ? AND p.region_code >= r.region_code AND "             \
    "p.region_code < r.region_code + r.span AND p.deleted_at = 0"

/* One int64 from a statement with the zone id and a scope bound. */
static err count_of(db *d, const char *sql, int64_t id, const struct scope *sc, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if (sc) {
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
    }
    bool row;
    e = db_row(s, &row);
    *n_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/* The list item of a zone: what it is and what it covers, people counted
 * inside the scope. */
static err item_json(db *d, arena *a, const struct scope *sc, const struct zone_head *h,
                     int64_t now, json_t **o_r)
{
    int64_t buildings, places, people;
    const char *region_name = "";
    err e = count_of(d,
                     "SELECT COUNT(*) FROM zone_regions r CROSS JOIN regions g WHERE r.zone_id "
                     "= ? AND g.code >= r.region_code AND g.code < r.region_code + r.span AND "
                     "g.level = 7",
                     h->id, NULL, &buildings);
    if (!e)
        e = count_of(d,
                     h->boundary
                         ? "SELECT COUNT(*) FROM zone_places z JOIN places p ON p.id = "
                           "z.place_id WHERE z.zone_id = ? AND p.deleted_at = 0"
                         : "SELECT COUNT(*) FROM zone_regions r CROSS JOIN places p WHERE "
                           "r.zone_id = ? AND p.region_code >= r.region_code AND p.region_code "
                           "< r.region_code + r.span AND p.deleted_at = 0",
                     h->id, NULL, &places);
    if (!e)
        e = count_of(d, PEOPLE_COUNT_SQL, h->id, sc, &people);
    if (!e)
        e = region_path(d, h->anchor, LEVEL_DISTRICT, a, &region_name);
    if (e)
        return e;
    enum zone_kind k = zone_kind_parse(h->kind);
    json_t *o = json_object();
    json_set_id(o, "id", h->id);
    json_object_set_new(o, "kind", json_string(h->kind));
    json_object_set_new(o, "kind_label", json_string(zone_kind_label(k)));
    json_object_set_new(o, "name", json_string(h->name));
    json_set_region(o, h->anchor, region_name);
    json_object_set_new(o, "drawn", json_boolean(h->boundary != NULL));
    json_object_set_new(o, "valid_from", json_integer(h->from));
    json_object_set_new(o, "valid_to", json_integer(h->to));
    json_object_set_new(o, "state", json_string(zone_state(h->from, h->to, now)));
    json_object_set_new(o, "buildings", json_integer(buildings));
    json_object_set_new(o, "places", json_integer(places));
    json_object_set_new(o, "people", json_integer(people));
    json_object_set_new(o, "lift_reason", json_string(h->lift_reason));
    json_object_set_new(o, "created_at", json_integer(h->created_at));
    *o_r = o;
    return E_OK;
}

err code_zones(db *d, arena *a, const struct scope *sc, const char *state, int64_t page,
               int64_t page_size, json_t **items_r, int64_t *total_r)
{
    int64_t now = now_ms();
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM zones WHERE region_code >= ? AND region_code < ?");
    query_int(&w, sc->lo);
    query_int(&w, sc->hi);
    if (state && !strcmp(state, "active")) {
        query_sql(&w, " AND valid_from <= ? AND (valid_to = 0 OR valid_to > ?)");
        query_int(&w, now);
        query_int(&w, now);
    } else if (state && !strcmp(state, "ended")) {
        query_sql(&w, " AND valid_to <> 0 AND (valid_to <= ? OR valid_to <= valid_from)");
        query_int(&w, now);
    } else if (state && !strcmp(state, "pending")) {
        query_sql(&w, " AND valid_from > ? AND (valid_to = 0 OR valid_to > valid_from)");
        query_int(&w, now);
    }
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COUNT(*)");
    query_append(&q, &w);
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    e = db_row(s, &row);
    int64_t total = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    /* page_size 0: every zone (an export, its size checked by the caller) */
    int64_t limit = page_size ? page_size : total;
    q = (struct query)QUERY_INIT;
    query_sql(&q,
              "SELECT id, region_code, span, valid_from, valid_to, user_id, created_at, "
              "lifted_by, kind, name, CASE WHEN boundary IS NULL THEN 0 ELSE 1 END, lift_reason");
    query_append(&q, &w);
    query_sql(&q, " ORDER BY id DESC LIMIT ? OFFSET ?");
    query_int(&q, limit);
    query_int(&q, page_size ? paging_offset(page, page_size) : 0);
    if ((e = query_prepare(d, &q, &s)))
        return e;
    size_t n = 0;
    struct zone_head *hs = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof *hs);
    while (n < (size_t)limit && !(e = db_row(s, &row)) && row)
        hs[n++] = (struct zone_head){db_col_int64(s, 0),
                                     db_col_int64(s, 1),
                                     db_col_int64(s, 2),
                                     db_col_int64(s, 3),
                                     db_col_int64(s, 4),
                                     db_col_int64(s, 5),
                                     db_col_int64(s, 6),
                                     db_col_int64(s, 7),
                                     arena_strdup(a, db_col_text(s, 8)),
                                     arena_strdup(a, db_col_text(s, 9)),
                                     db_col_int64(s, 10) ? "" : NULL,
                                     arena_strdup(a, db_col_text(s, 11))};
    db_done(s);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n && !e; i++) {
        json_t *o;
        if (!(e = item_json(d, a, sc, &hs[i], now, &o)))
            json_array_append_new(arr, o);
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    *total_r = total;
    return E_OK;
}

err code_zone_get(db *d, arena *a, const struct scope *sc, int64_t id, json_t **o_r)
{
    struct zone_head h;
    json_t *o = NULL;
    err e = head_find(d, a, sc, id, &h);
    if (e || (e = item_json(d, a, sc, &h, now_ms(), &o)))
        return e;
    json_t *g = h.boundary ? json_loads(h.boundary, 0, NULL) : NULL;
    json_object_set_new(o, "boundary", g ? g : json_null());
    json_set_id_or_null(o, "lifted_by", h.lifted_by);

    /* the buildings with their people (inside the scope) */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT g.code, COUNT(p.id) FROM zone_regions r CROSS JOIN regions g "
                        "LEFT JOIN persons p ON p.region_code = g.code AND p.deleted_at = 0 "
                        "WHERE r.region_code >= ? AND r.region_code < ? AND r.zone_id = ? AND "
                        "g.code >= r.region_code AND g.code < r.region_code + r.span AND g.level "
                        "= 7 GROUP BY g.code ORDER BY g.code LIMIT ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, LIST_MAX);
    json_t *arr = json_array();
    json_object_set_new(o, "building_list", arr);
    bool row;
    size_t n = 0;
    int64_t *codes = arena_alloc(a, LIST_MAX * sizeof *codes),
            *counts = arena_alloc(a, LIST_MAX * sizeof *counts);
    while (n < LIST_MAX && !(e = db_row(s, &row)) && row) {
        codes[n] = db_col_int64(s, 0);
        counts[n++] = db_col_int64(s, 1);
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++) {
        const char *name;
        if ((e = region_path(d, codes[i], LEVEL_COMMUNITY, a, &name)))
            break;
        json_t *b = json_pack("{s:I}", "people", (json_int_t)counts[i]);
        json_set_region(b, codes[i], name);
        json_array_append_new(arr, b);
    }
    if (e)
        goto fail;

    /* the places: by position for a drawn zone, by region otherwise */
    if ((e = db_prepare(d,
                        h.boundary
                            ? "SELECT p.id, p.name, p.kind FROM zone_places z JOIN places p ON "
                              "p.id = z.place_id WHERE z.zone_id = ? AND p.deleted_at = 0 ORDER "
                              "BY p.id LIMIT ?"
                            : "SELECT p.id, p.name, p.kind FROM zone_regions r CROSS JOIN "
                              "places p WHERE r.zone_id = ? AND p.region_code >= r.region_code "
                              "AND p.region_code < r.region_code + r.span AND p.deleted_at = 0 "
                              "ORDER BY p.id LIMIT ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, LIST_MAX);
    arr = json_array();
    json_object_set_new(o, "place_list", arr);
    while (!(e = db_row(s, &row)) && row) {
        json_t *p = json_pack("{s:s,s:s}", "name", db_col_text(s, 1), "kind", db_col_text(s, 2));
        json_set_id(p, "id", db_col_int64(s, 0));
        json_array_append_new(arr, p);
    }
    db_done(s);
    if (e)
        goto fail;
    *o_r = o;
    return E_OK;
fail:
    json_decref(o);
    return e;
}

err code_zone_people(db *d, arena *a, const struct scope *sc, int64_t id, int64_t page,
                     int64_t page_size, json_t **items_r, int64_t *total_r)
{
    struct zone_head h;
    int64_t total;
    err e = head_find(d, a, sc, id, &h);
    if (e || (e = count_of(d, PEOPLE_COUNT_SQL, id, sc, &total)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT p.id, p.region_code, p.name_enc, c.colour FROM zone_regions r "
                        "CROSS JOIN persons p LEFT JOIN health_codes c ON c.person_id = p.id "
                        "WHERE r.zone_id = ? AND r.region_code >= ? AND r.region_code < ? AND "
                        "p.region_code >= r.region_code AND p.region_code < r.region_code + "
                        "r.span AND p.deleted_at = 0 ORDER BY p.region_code, p.id LIMIT ? OFFSET "
                        "?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *name, *region_name = "";
        int64_t code = db_col_int64(s, 1);
        if ((e = person_name_masked_col(a, s, 2, &name)) ||
            (e = region_path(d, code, LEVEL_COMMUNITY, a, &region_name)))
            break;
        const char *colour = db_col_null(s, 3) ? "green" : db_col_text(s, 3);
        json_t *o = json_pack("{s:s,s:s}", "name", name, "colour", colour);
        json_set_id(o, "id", db_col_int64(s, 0));
        json_set_region(o, code, region_name);
        json_array_append_new(arr, o);
    }
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    *total_r = total;
    return E_OK;
}

/* ---- GeoJSON import --------------------------------------------------------------------- */

/* A feature's properties: only those the import reads, with their types. */
static err feature_body(arena *a, json_t *f, size_t i, json_t **body_r, struct names *nm)
{
    const char *fp = arena_printf(a, "features[%zu]", i);
    *nm = (struct names){arena_printf(a, "%s.properties.kind", fp),
                         arena_printf(a, "%s.properties.name", fp),
                         arena_printf(a, "%s.properties.region_code", fp),
                         arena_printf(a, "%s.geometry", fp),
                         arena_printf(a, "%s.properties.valid_from", fp),
                         arena_printf(a, "%s.properties.valid_to", fp)};
    if (!json_is_object(f) || !json_is_object(json_object_get(f, "properties")))
        return err_set(E_INPUT, "invalid_value", fp, "要素应为带 properties 的 GeoJSON Feature");
    json_t *p = json_object_get(f, "properties");
    json_t *b = json_object();
    *body_r = b;
    const char *name = json_str(p, "name");
    if (!name || !*name)
        return err_set(E_INPUT, "required", nm->name, "请填写区域名称");
    const char *str[] = {"name", "kind", "region_code"};
    const char *fields[] = {nm->name, nm->kind, nm->region};
    for (size_t k = 0; k < 3; k++) {
        json_t *v = json_object_get(p, str[k]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return err_set(E_INPUT, "invalid_type", fields[k], "应为文字");
        if (json_is_string(v))
            json_object_set(b, str[k], v);
    }
    /* times: epoch ms, or China time text as spreadsheets and GIS tools write it */
    const char *tn[] = {"valid_from", "valid_to"};
    const char *tf[] = {nm->from, nm->to};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(p, tn[k]);
        int64_t ms = 0;
        if (!v || json_is_null(v))
            continue;
        if (json_is_integer(v))
            ms = json_integer_value(v);
        else if (!json_is_string(v) || !china_time_parse(json_string_value(v), &ms))
            return err_set(E_INPUT, "invalid_time", tf[k],
                           "时间应为毫秒数或“YYYY-MM-DD HH:MM”格式的北京时间");
        if (ms < 1 || ms > CODE_TIME_MAX)
            return err_set(E_INPUT, "out_of_range", tf[k], "时间超出范围");
        json_object_set_new(b, tn[k], json_integer(ms));
    }
    json_t *g = json_object_get(f, "geometry");
    if (g)
        json_object_set(b, "boundary", g);
    return E_OK;
}

/* The last error again, its message prefixed with the feature's number. */
static err in_feature(err e, size_t i)
{
    const struct err_detail *x = err_last();
    if (e != E_INPUT || !x || x->code != E_INPUT)
        return e;
    char slug[sizeof x->slug], field[sizeof x->field], msg[sizeof x->message];
    snprintf(slug, sizeof slug, "%s", x->slug);
    snprintf(field, sizeof field, "%s", x->field);
    snprintf(msg, sizeof msg, "%s", x->message);
    return err_set(E_INPUT, slug, field, "第 %zu 个区域：%s", i + 1, msg);
}

err code_zone_import(db *d, arena *a, const struct principal *who, json_t *fc, json_t **items_r)
{
    const char *type = json_str(fc, "type");
    json_t *features = json_object_get(fc, "features");
    if (!type || strcmp(type, "FeatureCollection") || !json_is_array(features))
        return err_set(E_INPUT, "invalid_value", "type", "应为 GeoJSON FeatureCollection");
    size_t n = json_array_size(features);
    if (!n)
        return err_set(E_INPUT, "empty", "features", "文件中没有区域");
    if (n > ZONE_IMPORT_MAX)
        return err_set(E_INPUT, "too_many_rows", "features", "一次最多导入 %d 个区域",
                       ZONE_IMPORT_MAX);
    struct draft *dr = arena_alloc(a, n * sizeof *dr);
    size_t n_ranges = 0;
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        json_t *b = NULL;
        struct names nm;
        if (!(e = feature_body(a, json_array_get(features, i), i, &b, &nm)))
            e = draft_read(d, a, who, b, &nm, &dr[i]);
        json_decref(b);
        if (e)
            return in_feature(e, i);
        n_ranges += dr[i].n_ranges;
    }
    struct code_range *all = arena_alloc(a, (n_ranges + 1) * sizeof *all);
    n_ranges = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(all + n_ranges, dr[i].ranges, dr[i].n_ranges * sizeof *all);
        n_ranges += dr[i].n_ranges;
    }
    if ((e = db_begin(d)))
        return e;
    json_t *items = json_array();
    int64_t now = now_ms();
    for (size_t i = 0; i < n && !e; i++) {
        int64_t id;
        if ((e = draft_insert(d, who, &dr[i], now, &id)))
            break;
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I}", "index", (json_int_t)i, "name", dr[i].name,
                              "kind", zone_kind_name(dr[i].kind), "buildings",
                              (json_int_t)dr[i].n_ranges, "places", (json_int_t)dr[i].n_places);
        json_set_id(o, "id", id);
        json_array_append_new(items, o);
    }
    if (e || (e = code_refresh_ranges(d, a, all, n_ranges, "zone", who->user_id)) ||
        (e = db_commit(d))) {
        db_rollback(d);
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

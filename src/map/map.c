/*
 * The one-map's reads (map.h, docs/map.md): the region map from the stored
 * boundaries and the counters, the layers, the cards. A read model over
 * the capabilities' tables (places, venues, nat_sites, quarantine_rooms,
 * zones, cameras): columns that are not personal data only, each query
 * bound to the caller's scope and capped at MAP_POINTS_MAX + 1 rows.
 */
#include "map/map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "code/code.h"
#include "medical/medical.h"
#include "region/region.h"
#include "nat/nat.h"
#include "place/place.h"
#include "user/user.h"
#include "venue/venue.h"
#include "video/video.h"

static const struct vocab_word layers[] = {
    {NULL, NULL},
    {"controlled", "管控人员"},
    {"isolated", "隔离人员"},
    {"venues", "卡口与场所"},
    {"nat_sites", "核酸采样点"},
    {"quarantine_sites", "隔离点"},
    {"medical", "医疗资源"},
    {"zones", "封控管控区域"},
    {"cameras", "视频监控"},
};
const struct vocab map_layer_vocab = VOCAB("map_layers", "地图图层", layers);
_Static_assert(sizeof layers / sizeof layers[0] == MAP_LAYER__COUNT, "a word for every layer");

static const struct vocab_word cards[] = {
    {NULL, NULL},
    {"region", "区划"},
    {"venue", "卡口/场所码点位"},
    {"nat_site", "核酸采样点"},
    {"quarantine_site", "隔离点"},
    {"place", "场所"},
    {"zone", "封控管控区域"},
    {"camera", "摄像头"},
};
const struct vocab map_card_vocab = VOCAB("map_cards", "地图对象", cards);
_Static_assert(sizeof cards / sizeof cards[0] == MAP_CARD__COUNT, "a word for every card");

/* The statuses a per-grid layer adds up (person.status.<s>, src/person). */
static const char *const controlled_statuses[] = {"observation", "suspected", "confirmed",
                                                  "asymptomatic", NULL};
static const char *const isolated_statuses[] = {"home_isolation", "central_quarantine", NULL};

/* The figures of a region's card. */
static const char *const card_measures[] = {"person.registered",
                                            "person.status.observation",
                                            "person.status.home_isolation",
                                            "person.status.central_quarantine",
                                            "person.status.suspected",
                                            "person.status.confirmed",
                                            "person.status.asymptomatic",
                                            NULL};

/* ---- GeoJSON pieces ---- */

static json_t *geometry_of(const char *boundary)
{
    json_t *g = boundary && *boundary ? json_loads(boundary, 0, NULL) : NULL;
    return g ? g : json_null();
}

static json_t *point(double lng, double lat)
{
    return json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates", lng, lat);
}

static json_t *feature(const char *id, json_t *props, json_t *geometry)
{
    return json_pack("{s:s,s:s,s:o,s:o}", "type", "Feature", "id", id, "properties", props,
                     "geometry", geometry);
}

static const char *code_text(arena *a, int64_t code)
{
    char *w = arena_alloc(a, 19);
    regcode_format(code, w);
    return w;
}

static const char *id_text(arena *a, int64_t id)
{
    return arena_printf(a, "%lld", (long long)id);
}

/* ---- figures ---- */

/* A measure's value over [lo, hi): a level's now, a flow's total and
 * today's count (*today_r, -1 for a level). */
static err value_of(db *d, const struct stats_measure *m, int64_t lo, int64_t hi, int64_t today,
                    int64_t *value_r, int64_t *today_r)
{
    int64_t v = 0, t = -1;
    err e = stats_sum(d, m->name, lo, hi, STATS_NOW, STATS_NOW, &v);
    if (!e && !m->level) {
        t = 0;
        e = stats_sum(d, m->name, lo, hi, today, today, &t);
    }
    if (!e) {
        *value_r = v;
        *today_r = t;
    }
    return e;
}

static void set_value(json_t *o, int64_t v, int64_t today)
{
    json_object_set_new(o, "value", json_integer(v));
    if (today >= 0)
        json_object_set_new(o, "today", json_integer(today));
}

static json_t *region_props(arena *a, const struct region *g)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b}", "region_code", code_text(a, g->code), "name", g->name,
                     "level", region_level_name(g->level), "level_label",
                     region_level_label(g->level), "has_children", g->has_children);
}

/* The regions from the scope's root down to code, [{region_code, name}]. */
static err path_of(db *d, arena *a, const struct scope *sc, int64_t code, json_t **path_r)
{
    json_t *path = json_array();
    enum region_level top = regcode_level(sc->lo), lv = regcode_level(code);
    if (!top)
        top = LEVEL_PROVINCE; /* the whole tree */
    for (enum region_level l = top; l <= lv; l++) {
        int64_t c = regcode_at_most(code, l);
        if (c != code && regcode_level(c) != l)
            continue; /* code lies above l */
        struct region g;
        err e = region_find(d, sc, c, false, a, &g);
        if (e == E_NOT_FOUND) {
            err_clear();
            continue; /* an ancestor the deployment does not hold */
        }
        if (e) {
            json_decref(path);
            return e;
        }
        json_array_append_new(
            path, json_pack("{s:s,s:s}", "region_code", code_text(a, c), "name", g.name));
    }
    *path_r = path;
    return E_OK;
}

err map_regions(db *d, arena *a, const struct scope *sc, int64_t code,
                const struct stats_measure *m, json_t **fc_r)
{
    struct region *rs;
    size_t rn;
    err e = region_tree(d, sc, code, 1, true, a, &rs, &rn);
    if (e)
        return e;
    int64_t today = china_day(now_ms()), max = 0, v, t;
    json_t *features = json_array(), *path = NULL;
    for (size_t i = 1; i < rn; i++) {
        if ((e = value_of(d, m, rs[i].code, regcode_end(rs[i].code), today, &v, &t)))
            goto fail;
        if (v > max)
            max = v;
        json_t *props = region_props(a, &rs[i]);
        set_value(props, v, t);
        json_array_append_new(
            features, feature(code_text(a, rs[i].code), props, geometry_of(rs[i].boundary)));
    }
    if ((e = value_of(d, m, code, regcode_end(code), today, &v, &t)) ||
        (e = path_of(d, a, sc, code, &path)))
        goto fail;
    json_t *self = region_props(a, &rs[0]);
    set_value(self, v, t);
    json_object_set_new(self, "geometry", geometry_of(rs[0].boundary));
    json_object_set_new(self, "center",
                        rs[0].has_center ? json_pack("[f,f]", rs[0].center_lng, rs[0].center_lat)
                                         : json_null());
    *fc_r =
        json_pack("{s:s,s:o,s:o,s:{s:s,s:s,s:s},s:I,s:o}", "type", "FeatureCollection", "features",
                  features, "region", self, "measure", "name", m->name, "label", m->label, "kind",
                  m->level ? "level" : "flow", "max", (json_int_t)max, "path", path);
    return E_OK;
fail:
    json_decref(features);
    return e;
}

/* ---- layers ---- */

struct layer_out {
    arena *a;
    json_t *features;
    int64_t unplaced;
    bool truncated;
};

static void add_point(struct layer_out *o, const char *kind, int64_t id, json_t *props, bool has,
                      double lng, double lat)
{
    if (!has || !isfinite(lng) || !isfinite(lat)) {
        o->unplaced++;
        json_decref(props);
        return;
    }
    if (json_array_size(o->features) >= MAP_POINTS_MAX) {
        o->truncated = true;
        json_decref(props);
        return;
    }
    json_object_set_new(props, "kind", json_string(kind));
    /* a region (a grid's point) is named by its code, like everywhere */
    json_object_set_new(
        props, "id",
        json_string(!strcmp(kind, "region") ? code_text(o->a, id) : id_text(o->a, id)));
    json_array_append_new(o->features, feature(arena_printf(o->a, "%s-%lld", kind, (long long)id),
                                               props, point(lng, lat)));
}

/* Sum of one status per leaf region, for the per-grid layers. */
struct leaf {
    int64_t key; /* the grid, or the region itself above a grid */
    int status;  /* index into the layer's status list */
    int64_t n;
};

struct leaves {
    struct leaf *v;
    size_t n, cap;
    int status;
    bool nomem;
};

static void leaf_add(int64_t region_code, int64_t n, void *ctx)
{
    struct leaves *l = ctx;
    if (!GROW(&l->v, &l->cap, l->n, 1, 1024)) {
        l->nomem = true;
        return;
    }
    l->v[l->n++] = (struct leaf){regcode_at_most(region_code, LEVEL_GRID), l->status, n};
}

static int leaf_cmp(const void *x, const void *y)
{
    const struct leaf *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

static const struct region *region_at(const struct region *rs, size_t n, int64_t code)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rs[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && rs[lo].code == code ? &rs[lo] : NULL;
}

/* Regions by code for the per-grid layers: the subtree read at once when
 * it fits a tree reply, else each region read when asked for. */
struct regions_at {
    db *d;
    const struct scope *sc;
    arena *a;
    struct region *rs;
    size_t rn;
    bool whole;
};

static const struct region *lookup(struct regions_at *x, int64_t code)
{
    if (x->whole)
        return region_at(x->rs, x->rn, code);
    struct region *g = arena_alloc(x->a, sizeof *g);
    if (region_find(x->d, x->sc, code, false, x->a, g)) {
        err_clear(); /* gone meanwhile: the point is unplaced */
        return NULL;
    }
    return g;
}

static err per_grid(db *d, const struct scope *sc, int64_t code, const char *const *statuses,
                    struct layer_out *o)
{
    struct leaves l = {0};
    err e = E_OK;
    char name[64];
    const char *labels[8];
    int ns = 0;
    for (; statuses[ns] && !e; ns++) {
        snprintf(name, sizeof name, "person.status.%s", statuses[ns]);
        const struct stats_measure *m = stats_measure_find(name);
        labels[ns] = m ? m->label : statuses[ns];
        l.status = ns;
        if (m)
            e = stats_leaves(d, name, code, regcode_end(code), STATS_NOW, leaf_add, &l);
    }
    if (!e && l.nomem)
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    /* the centres of the regions down to the grids: the tree at once, or
     * (a city's scope larger than REGION_TREE_MAX_NODES) one by one */
    struct regions_at x = {.d = d, .sc = sc, .a = o->a, .whole = true};
    enum region_level lv = regcode_level(code);
    if (!e && l.n &&
        (e = region_tree(d, sc, code, lv < LEVEL_GRID ? (int)(LEVEL_GRID - lv) : 0, false, o->a,
                         &x.rs, &x.rn)) == E_INPUT) {
        err_clear();
        e = E_OK;
        x.whole = false;
    }
    if (e) {
        free(l.v);
        return e;
    }
    qsort(l.v, l.n, sizeof *l.v, leaf_cmp);
    for (size_t i = 0; i < l.n;) {
        int64_t key = l.v[i].key, total = 0, by[8] = {0};
        for (; i < l.n && l.v[i].key == key; i++) {
            by[l.v[i].status] += l.v[i].n;
            total += l.v[i].n;
        }
        if (total <= 0)
            continue;
        const struct region *g = lookup(&x, key);
        json_t *props = json_object();
        json_object_set_new(props, "region_code", json_string(code_text(o->a, key)));
        if (g) {
            /* a grid is read with its community: "前海社区 · 第1网格" */
            const struct region *up =
                g->level == LEVEL_GRID ? lookup(&x, regcode_parent(g->code)) : NULL;
            json_object_set_new(
                props, "name",
                json_string(up ? arena_printf(o->a, "%s · %s", up->name, g->name) : g->name));
            json_object_set_new(props, "level", json_string(region_level_name(g->level)));
        }
        json_object_set_new(props, "count", json_integer(total));
        json_t *parts = json_array();
        for (int k = 0; k < ns; k++)
            json_array_append_new(parts, json_pack("{s:s,s:s,s:I}", "status", statuses[k], "label",
                                                   labels[k], "count", (json_int_t)by[k]));
        json_object_set_new(props, "by_status", parts);
        /* the card of a grid is its region's */
        add_point(o, "region", key, props, g && g->has_center, g ? g->center_lng : NAN,
                  g ? g->center_lat : NAN);
    }
    free(l.v);
    return E_OK;
}

/* A venue's spot: its place's position (or its region's centre), moved a
 * few metres in a direction of its own so gates of one compound do not
 * hide each other. */
static void spread(int64_t id, double *lng, double *lat)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    double angle = (double)(h >> 40) / (double)(1ull << 24) * 6.283185307179586;
    *lng += 0.00008 * cos(angle);
    *lat += 0.00008 * sin(angle);
}

static err rows_venues(db *d, int64_t lo, int64_t hi, struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT v.id, v.name, v.kind, v.enabled, v.region_code, p.name,"
                       " COALESCE(p.lng, g.center_lng), COALESCE(p.lat, g.center_lat), g.name"
                       " FROM venues v LEFT JOIN places p ON p.id = v.place_id"
                       " LEFT JOIN regions g ON g.code = v.region_code"
                       " WHERE v.deleted_at = 0 AND v.region_code >= ? AND v.region_code < ?"
                       " ORDER BY v.region_code, v.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *kind = db_col_text(s, 2);
        bool gate = !strcmp(kind, "community_gate");
        double lng = db_col_double(s, 6), lat = db_col_double(s, 7);
        bool has = !db_col_null(s, 6) && !db_col_null(s, 7);
        if (has)
            spread(db_col_int64(s, 0), &lng, &lat);
        json_t *props =
            json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "name", db_col_text(s, 1), "venue_kind",
                      kind, "venue_kind_label", venue_kind_label(venue_kind_parse(kind)),
                      "checkpoint", gate, "enabled", db_col_int64(s, 3) != 0, "place_name",
                      db_col_text(s, 5), "region_name", db_col_text(s, 8));
        add_point(o, "venue", db_col_int64(s, 0), props, has, lng, lat);
    }
    db_done(s);
    return e;
}

static err rows_nat_sites(db *d, int64_t lo, int64_t hi, struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT n.id, n.name, n.kind, n.state, n.queue_length, n.queue_at,"
                       " n.capacity, n.on_duty, COALESCE(n.lng, g.center_lng),"
                       " COALESCE(n.lat, g.center_lat), g.name, n.address"
                       " FROM nat_sites n LEFT JOIN regions g ON g.code = n.region_code"
                       " WHERE n.deleted_at = 0 AND n.region_code >= ? AND n.region_code < ?"
                       " ORDER BY n.region_code, n.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *kind = db_col_text(s, 2), *state = db_col_text(s, 3);
        json_t *props = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:s}", "name", db_col_text(s, 1), "site_kind",
            kind, "site_kind_label", vocab_label_of(&nat_site_kind_vocab, kind), "state", state,
            "state_label", vocab_label_of(&nat_site_state_vocab, state), "queue_length",
            (json_int_t)db_col_int64(s, 4), "queue_at", (json_int_t)db_col_int64(s, 5), "capacity",
            (json_int_t)db_col_int64(s, 6), "on_duty", (json_int_t)db_col_int64(s, 7),
            "region_name", db_col_text(s, 10), "address", db_col_text(s, 11));
        add_point(o, "nat_site", db_col_int64(s, 0), props,
                  !db_col_null(s, 8) && !db_col_null(s, 9), db_col_double(s, 8),
                  db_col_double(s, 9));
    }
    db_done(s);
    return e;
}

/* Places of one kind; quarantine sites with their rooms. */
static err rows_places_of(db *d, int64_t lo, int64_t hi, const char *kind, bool rooms,
                          struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.id, p.name, p.kind, COALESCE(p.lng, g.center_lng),"
                       " COALESCE(p.lat, g.center_lat), g.name, p.address,"
                       " (SELECT COUNT(*) FROM quarantine_rooms q WHERE q.site_id = p.id),"
                       " (SELECT COUNT(*) FROM quarantine_rooms q WHERE q.site_id = p.id"
                       "  AND q.state = 'occupied')"
                       " FROM places p LEFT JOIN regions g ON g.code = p.region_code"
                       " WHERE p.deleted_at = 0 AND p.kind = ? AND p.region_code >= ?"
                       " AND p.region_code < ? ORDER BY p.region_code, p.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, kind);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, hi);
    db_bind_int64(s, 4, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *props =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", db_col_text(s, 1), "place_kind", kind,
                      "place_kind_label", place_kind_label(place_kind_parse(kind)), "region_name",
                      db_col_text(s, 5), "address", db_col_text(s, 6));
        if (rooms) {
            int64_t total = db_col_int64(s, 7), used = db_col_int64(s, 8);
            json_object_set_new(props, "rooms", json_integer(total));
            json_object_set_new(props, "occupied", json_integer(used));
            /* percent, rounded down; null without rooms */
            json_object_set_new(props, "occupancy",
                                total ? json_integer(used * 100 / total) : json_null());
        }
        add_point(o, rooms ? "quarantine_site" : "place", db_col_int64(s, 0), props,
                  !db_col_null(s, 3) && !db_col_null(s, 4), db_col_double(s, 3),
                  db_col_double(s, 4));
    }
    db_done(s);
    return e;
}

/* The places of every kind of `kinds` (NULL-terminated), kind by kind. */
static err rows_places(db *d, int64_t lo, int64_t hi, const char *const *kinds, bool rooms,
                       struct layer_out *o)
{
    err e = E_OK;
    for (size_t i = 0; !e && kinds[i]; i++)
        e = rows_places_of(d, lo, hi, kinds[i], rooms, o);
    return e;
}

/* The medical layer: hospitals, fever clinics, designated hospitals and
 * CDC institutions of the registry, and every place registered as a
 * medical institution (src/medical), with its reported beds, ICU beds and
 * testing capacity and the free-bed level the page colours it by. */
static err rows_medical(db *d, int64_t lo, int64_t hi, struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.id, p.name, p.kind, COALESCE(p.lng, g.center_lng),"
                       " COALESCE(p.lat, g.center_lat), g.name, p.address, m.kind,"
                       " m.beds_total, m.beds_occupied, m.icu_total, m.icu_free,"
                       " m.testing_per_day, m.reported_at"
                       " FROM places p LEFT JOIN regions g ON g.code = p.region_code"
                       " LEFT JOIN medical_institutions m ON m.place_id = p.id"
                       " WHERE p.deleted_at = 0 AND p.region_code >= ? AND p.region_code < ?"
                       " AND (m.place_id IS NOT NULL OR p.kind IN ('hospital', 'fever_clinic',"
                       " 'designated_hospital', 'cdc')) ORDER BY p.region_code, p.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *kind = db_col_text(s, 2);
        json_t *props =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", db_col_text(s, 1), "place_kind", kind,
                      "place_kind_label", place_kind_label(place_kind_parse(kind)), "region_name",
                      db_col_text(s, 5), "address", db_col_text(s, 6));
        if (!db_col_null(s, 7)) {
            int64_t total = db_col_int64(s, 8), used = db_col_int64(s, 9);
            int64_t free = total > used ? total - used : 0;
            const char *mk = db_col_text(s, 7), *level = medical_level(total, free);
            json_object_set_new(props, "medical_kind", json_string(mk));
            json_object_set_new(props, "medical_kind_label",
                                json_string(vocab_label_of(&medical_kind_vocab, mk)));
            json_object_set_new(props, "beds_total", json_integer(total));
            json_object_set_new(props, "beds_free", json_integer(free));
            json_object_set_new(props, "icu_total", json_integer(db_col_int64(s, 10)));
            json_object_set_new(props, "icu_free", json_integer(db_col_int64(s, 11)));
            json_object_set_new(props, "testing_per_day", json_integer(db_col_int64(s, 12)));
            json_object_set_new(props, "free_ratio",
                                total ? json_integer(free * 100 / total) : json_null());
            json_object_set_new(props, "level", json_string(level));
            json_object_set_new(props, "level_label",
                                json_string(vocab_label_of(&medical_level_vocab, level)));
            json_object_set_new(props, "reported_at",
                                db_col_int64(s, 13) ? json_integer(db_col_int64(s, 13))
                                                    : json_null());
        }
        add_point(o, "place", db_col_int64(s, 0), props, !db_col_null(s, 3) && !db_col_null(s, 4),
                  db_col_double(s, 3), db_col_double(s, 4));
    }
    db_done(s);
    return e;
}

/* Zones in force that reach into [lo, hi): their region's outline. */
static err rows_zones(db *d, int64_t lo, int64_t hi, struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT z.id, z.kind, z.name, z.valid_from, z.valid_to, g.name, "
                       "COALESCE(z.boundary, g.boundary),"
                       " g.center_lng, g.center_lat FROM zones z"
                       " LEFT JOIN regions g ON g.code = z.region_code"
                       " WHERE z.region_code < ? AND z.region_code + z.span > ?"
                       " AND z.valid_from <= ? AND (z.valid_to = 0 OR z.valid_to > ?)"
                       " ORDER BY z.region_code, z.id LIMIT ?",
                       &s);
    if (e)
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, hi);
    db_bind_int64(s, 2, lo);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *kind = db_col_text(s, 1);
        int64_t id = db_col_int64(s, 0);
        const char *name = *db_col_text(s, 2) ? db_col_text(s, 2) : db_col_text(s, 5);
        json_t *props =
            json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "name", name, "zone_kind", kind,
                      "zone_kind_label", vocab_label_of(&zone_kind_vocab, kind), "region_name",
                      db_col_text(s, 5), "valid_from", (json_int_t)db_col_int64(s, 3), "valid_to",
                      (json_int_t)db_col_int64(s, 4), "kind", "zone", "id", id_text(o->a, id));
        json_t *g = geometry_of(db_col_text(s, 6));
        if (json_is_null(g) && !db_col_null(s, 7) && !db_col_null(s, 8))
            g = point(db_col_double(s, 7), db_col_double(s, 8));
        if (json_is_null(g)) {
            o->unplaced++;
            json_decref(props);
        } else if (json_array_size(o->features) >= MAP_POINTS_MAX) {
            o->truncated = true;
            json_decref(props);
            json_decref(g);
        } else {
            json_array_append_new(
                o->features, feature(arena_printf(o->a, "zone-%lld", (long long)id), props, g));
        }
    }
    db_done(s);
    return e;
}

static err rows_cameras(db *d, int64_t lo, int64_t hi, struct layer_out *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.id, c.name, c.kind, c.state, c.lng, c.lat,"
                       " COALESCE((SELECT MIN(o.object_name) FROM camera_objects o"
                       " WHERE o.camera_id = c.id), ''),"
                       " c.checked_at, g.name FROM cameras c"
                       " LEFT JOIN regions g ON g.code = c.region_code"
                       " WHERE c.deleted_at = 0 AND c.region_code >= ? AND c.region_code < ?"
                       " ORDER BY c.region_code, c.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, lo);
    db_bind_int64(s, 2, hi);
    db_bind_int64(s, 3, MAP_POINTS_MAX + 1);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *kind = db_col_text(s, 2), *state = db_col_text(s, 3);
        json_t *props =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "name", db_col_text(s, 1), "camera_kind",
                      kind, "camera_kind_label", vocab_label_of(&camera_kind_vocab, kind), "state",
                      state, "state_label", vocab_label_of(&camera_state_vocab, state),
                      "object_name", db_col_text(s, 6), "checked_at",
                      (json_int_t)db_col_int64(s, 7), "region_name", db_col_text(s, 8));
        add_point(o, "camera", db_col_int64(s, 0), props, true, db_col_double(s, 4),
                  db_col_double(s, 5));
    }
    db_done(s);
    return e;
}

err map_layer(db *d, arena *a, const struct scope *sc, int64_t code, enum map_layer layer,
              json_t **fc_r)
{
    struct region g;
    /* the region inside the scope, else 404 as for one that does not exist */
    err e = region_find(d, sc, code, false, a, &g);
    if (e)
        return e;
    int64_t lo = code, hi = regcode_end(code);
    struct layer_out o = {.a = a, .features = json_array()};
    switch (layer) {
    case MAP_CONTROLLED:
        e = per_grid(d, sc, code, controlled_statuses, &o);
        break;
    case MAP_ISOLATED:
        e = per_grid(d, sc, code, isolated_statuses, &o);
        break;
    case MAP_VENUES:
        e = rows_venues(d, lo, hi, &o);
        break;
    case MAP_NAT_SITES:
        e = rows_nat_sites(d, lo, hi, &o);
        break;
    case MAP_QUARANTINE:
        e = rows_places(d, lo, hi, (const char *const[]){"quarantine_site", NULL}, true, &o);
        break;
    case MAP_MEDICAL:
        /* CDC and medical resources, with their beds (src/medical) */
        e = rows_medical(d, lo, hi, &o);
        break;
    case MAP_ZONES:
        e = rows_zones(d, lo, hi, &o);
        break;
    case MAP_CAMERAS:
        e = rows_cameras(d, lo, hi, &o);
        break;
    default:
        e = err_set(E_INTERNAL, NULL, NULL, "未知的地图图层");
    }
    if (e) {
        json_decref(o.features);
        return e;
    }
    *fc_r =
        json_pack("{s:s,s:o,s:s,s:s,s:s,s:I,s:b}", "type", "FeatureCollection", "features",
                  o.features, "layer", vocab_name(&map_layer_vocab, (size_t)layer), "label",
                  vocab_label(&map_layer_vocab, (size_t)layer), "region_code", code_text(a, code),
                  "unplaced", (json_int_t)o.unplaced, "truncated", o.truncated);
    return E_OK;
}

/* ---- cards ---- */

static void row(json_t *rows, const char *label, json_t *value)
{
    json_array_append_new(rows, json_pack("{s:s,s:o}", "label", label, "value", value));
}

static err card_region(db *d, arena *a, const struct principal *who, int64_t code, json_t *card)
{
    const struct scope *sc = &who->scope;
    struct region g;
    err e = region_find(d, sc, code, false, a, &g);
    if (e)
        return e;
    const char *path = "";
    if ((e = region_path(d, code, LEVEL_STREET, a, &path)))
        return e;
    json_object_set_new(card, "name", json_string(g.name));
    json_object_set_new(card, "title", json_string(*path ? path : g.name));
    json_object_set_new(card, "level", json_string(region_level_name(g.level)));
    json_object_set_new(card, "has_children", json_boolean(g.has_children));
    json_t *rows = json_object_get(card, "rows");
    row(rows, "层级", json_string(region_level_label(g.level)));
    json_t *figures = json_array();
    int64_t today = china_day(now_ms());
    for (size_t i = 0; card_measures[i]; i++) {
        const struct stats_measure *m = stats_measure_find(card_measures[i]);
        int64_t v, t;
        if (!m)
            continue;
        if ((e = value_of(d, m, code, regcode_end(code), today, &v, &t))) {
            json_decref(figures);
            return e;
        }
        json_t *f = json_pack("{s:s,s:s}", "measure", m->name, "label", m->label);
        set_value(f, v, t);
        json_array_append_new(figures, f);
        row(rows, m->label, json_integer(v));
    }
    json_object_set_new(card, "figures", figures);
    if (g.level == LEVEL_GRID) {
        /* the grid's own workers: accounts of the role assigned to it */
        struct user_filter f = {.role = "grid_worker",
                                .region_code = code,
                                .locked = -1,
                                .disabled = 0,
                                .kind = "staff",
                                .sort = USER_SORT_DISPLAY_NAME,
                                .page = 1,
                                .page_size = 20};
        struct user *us;
        size_t un;
        int64_t total;
        if ((e = user_list(d, a, who, &f, &us, &un, &total)))
            return e;
        json_t *workers = json_array();
        for (size_t i = 0; i < un; i++)
            json_array_append_new(workers, json_pack("{s:s}", "name", us[i].display_name));
        row(rows, "网格员", json_string(un ? us[0].display_name : "未配置"));
        json_object_set_new(card, "grid_workers", workers);
    }
    return E_OK;
}

/* One row of a record inside the scope, by a statement whose first two
 * parameters are the id and whose 3rd and 4th the scope's range. */
static err find_row(db *d, const char *sql, int64_t id, const struct scope *sc, db_stmt **s_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool has;
    if ((e = db_row(s, &has)) || !has) {
        db_done(s);
        return e ? e : E_NOT_FOUND;
    }
    *s_r = s;
    return E_OK;
}

static err card_record(db *d, arena *a, const struct scope *sc, enum map_card_kind kind, int64_t id,
                       json_t *card)
{
    json_t *rows = json_object_get(card, "rows");
    db_stmt *s;
    err e;
    switch (kind) {
    case MAP_CARD_NAT_SITE:
        if ((e = find_row(d,
                          "SELECT n.name, n.kind, n.state, n.queue_length, n.queue_at, n.capacity,"
                          " n.on_duty, n.address, g.name, n.hours FROM nat_sites n"
                          " LEFT JOIN regions g ON g.code = n.region_code WHERE n.id = ?"
                          " AND n.deleted_at = 0 AND n.region_code >= ? AND n.region_code < ?",
                          id, sc, &s)))
            return e;
        json_object_set_new(card, "name", json_string(db_col_text(s, 0)));
        json_object_set_new(card, "queue_length", json_integer(db_col_int64(s, 3)));
        json_object_set_new(card, "queue_at", json_integer(db_col_int64(s, 4)));
        json_object_set_new(card, "state", json_string(db_col_text(s, 2)));
        row(rows, "类型", json_string(vocab_label_of(&nat_site_kind_vocab, db_col_text(s, 1))));
        row(rows, "状态", json_string(vocab_label_of(&nat_site_state_vocab, db_col_text(s, 2))));
        row(rows, "排队人数", json_integer(db_col_int64(s, 3)));
        row(rows, "在岗人员", json_integer(db_col_int64(s, 6)));
        row(rows, "每小时采样能力", json_integer(db_col_int64(s, 5)));
        row(rows, "开放时间", json_string(*db_col_text(s, 9) ? db_col_text(s, 9) : "全天"));
        row(rows, "所属区划", json_string(db_col_text(s, 8)));
        row(rows, "地址", json_string(db_col_text(s, 7)));
        break;
    case MAP_CARD_QUARANTINE:
    case MAP_CARD_PLACE:
        if ((e = find_row(d,
                          "SELECT p.name, p.kind, p.address, g.name,"
                          " (SELECT COUNT(*) FROM quarantine_rooms q WHERE q.site_id = p.id),"
                          " (SELECT COUNT(*) FROM quarantine_rooms q WHERE q.site_id = p.id"
                          "  AND q.state = 'occupied'),"
                          " (SELECT COUNT(*) FROM quarantine_rooms q WHERE q.site_id = p.id"
                          "  AND q.state = 'free'),"
                          " m.kind, m.beds_total, m.beds_occupied, m.icu_total, m.icu_free,"
                          " m.testing_per_day, m.reported_at"
                          " FROM places p LEFT JOIN regions g ON g.code = p.region_code"
                          " LEFT JOIN medical_institutions m ON m.place_id = p.id"
                          " WHERE p.id = ? AND p.deleted_at = 0 AND p.region_code >= ?"
                          " AND p.region_code < ?",
                          id, sc, &s)))
            return e;
        json_object_set_new(card, "name", json_string(db_col_text(s, 0)));
        row(rows, "类型", json_string(place_kind_label(place_kind_parse(db_col_text(s, 1)))));
        if (!strcmp(db_col_text(s, 1), "quarantine_site")) {
            int64_t total = db_col_int64(s, 4), used = db_col_int64(s, 5);
            json_object_set_new(card, "rooms", json_integer(total));
            json_object_set_new(card, "occupied", json_integer(used));
            json_object_set_new(card, "occupancy",
                                total ? json_integer(used * 100 / total) : json_null());
            row(rows, "房间总数", json_integer(total));
            row(rows, "已入住", json_integer(used));
            row(rows, "空闲", json_integer(db_col_int64(s, 6)));
            row(rows, "入住率",
                json_string(total ? arena_printf(a, "%lld%%", (long long)(used * 100 / total))
                                  : "—"));
        }
        if (!db_col_null(s, 7)) {
            /* a medical institution: its reported figures (src/medical) */
            int64_t total = db_col_int64(s, 8), used = db_col_int64(s, 9);
            int64_t free = total > used ? total - used : 0, at = db_col_int64(s, 13);
            const char *level = medical_level(total, free);
            json_object_set_new(card, "level", json_string(level));
            row(rows, "机构类型",
                json_string(vocab_label_of(&medical_kind_vocab, db_col_text(s, 7))));
            row(rows, "总床位", json_integer(total));
            row(rows, "空床位", json_integer(free));
            row(rows, "ICU空闲/总数",
                json_string(arena_printf(a, "%lld/%lld", (long long)db_col_int64(s, 11),
                                         (long long)db_col_int64(s, 10))));
            row(rows, "日检测能力", json_integer(db_col_int64(s, 12)));
            row(rows, "床位余量", json_string(vocab_label_of(&medical_level_vocab, level)));
            char when[CHINA_TIME_LEN] = "未填报";
            if (at)
                china_time(at, when);
            row(rows, "填报时间", json_string(when));
        }
        row(rows, "所属区划", json_string(db_col_text(s, 3)));
        row(rows, "地址", json_string(db_col_text(s, 2)));
        break;
    case MAP_CARD_VENUE:
        if ((e = find_row(d,
                          "SELECT v.name, v.kind, v.enabled, p.name, g.name, v.address"
                          " FROM venues v LEFT JOIN places p ON p.id = v.place_id"
                          " LEFT JOIN regions g ON g.code = v.region_code WHERE v.id = ?"
                          " AND v.deleted_at = 0 AND v.region_code >= ? AND v.region_code < ?",
                          id, sc, &s)))
            return e;
        json_object_set_new(card, "name", json_string(db_col_text(s, 0)));
        row(rows, "类型", json_string(venue_kind_label(venue_kind_parse(db_col_text(s, 1)))));
        row(rows, "状态", json_string(db_col_int64(s, 2) ? "启用" : "停用"));
        row(rows, "所属场所", json_string(db_col_text(s, 3)));
        row(rows, "所属区划", json_string(db_col_text(s, 4)));
        break;
    case MAP_CARD_CAMERA: {
        struct camera c;
        if ((e = camera_find(d, a, sc, id, &c)))
            return e;
        json_object_set_new(card, "name", json_string(c.name));
        json_object_set_new(card, "state", json_string(vocab_name(&camera_state_vocab, c.state)));
        json_object_set_new(card, "checked_at", json_integer(c.checked_at));
        row(rows, "类型", json_string(vocab_label(&camera_kind_vocab, c.kind)));
        row(rows, "状态", json_string(vocab_label(&camera_state_vocab, c.state)));
        const char *watched = "";
        for (size_t i = 0; i < c.n_objects; i++)
            watched = arena_printf(a, "%s%s%s", watched, i ? "、" : "", c.objects[i].name);
        row(rows, "监控对象", json_string(*watched ? watched : "—"));
        row(rows, "所属区划", json_string(c.region_name ? c.region_name : ""));
        return E_OK; /* no statement of its own to finish */
    }
    case MAP_CARD_ZONE:
        /* a zone is seen by whoever sees a part of what it covers, as in
         * the layer */
        if ((e = find_row(d,
                          "SELECT z.name, z.kind, z.valid_from, z.valid_to, g.name FROM zones z"
                          " LEFT JOIN regions g ON g.code = z.region_code WHERE z.id = ?"
                          " AND z.region_code + z.span > ? AND z.region_code < ?",
                          id, sc, &s)))
            return e;
        json_object_set_new(
            card, "name", json_string(*db_col_text(s, 0) ? db_col_text(s, 0) : db_col_text(s, 4)));
        row(rows, "类型", json_string(vocab_label_of(&zone_kind_vocab, db_col_text(s, 1))));
        row(rows, "范围", json_string(db_col_text(s, 4)));
        json_object_set_new(card, "valid_from", json_integer(db_col_int64(s, 2)));
        json_object_set_new(card, "valid_to", json_integer(db_col_int64(s, 3)));
        break;
    default:
        return err_set(E_INTERNAL, NULL, NULL, "未知的地图对象");
    }
    db_done(s);
    return E_OK;
}

err map_card(db *d, arena *a, const struct principal *who, enum map_card_kind kind, int64_t id,
             json_t **card_r)
{
    json_t *card = json_pack("{s:s,s:s,s:s,s:[]}", "kind", vocab_name(&map_card_vocab, kind),
                             "kind_label", vocab_label(&map_card_vocab, kind), "id",
                             kind == MAP_CARD_REGION ? code_text(a, id) : id_text(a, id), "rows");
    err e = kind == MAP_CARD_REGION ? card_region(d, a, who, id, card)
                                    : card_record(d, a, &who->scope, kind, id, card);
    if (e) {
        json_decref(card);
        return e;
    }
    if (!json_object_get(card, "title"))
        json_object_set_new(card, "title", json_copy(json_object_get(card, "name")));
    *card_r = card;
    return E_OK;
}

/*
 * Medical resources (medical.h): institutions keyed by their place, their
 * reported figures with history, and the hospital proposals of the case
 * transfer.
 */
#include "medical/medical.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "nat/nat.h" /* nat_distance_m: the one great-circle distance */

static const struct vocab_word kind_words[] = {
    {NULL, NULL},
    {"designated_hospital", "定点医院"},
    {"fever_clinic", "发热门诊"},
    {"fangcang", "方舱医院"},
};
const struct vocab medical_kind_vocab = VOCAB("medical_kinds", "医疗机构类型", kind_words);

static const struct vocab_word level_words[] = {
    {NULL, NULL},         {"ample", "床位充足"}, {"tight", "床位紧张"},
    {"full", "床位已满"}, {"unknown", "未填报"},
};
const struct vocab medical_level_vocab = VOCAB("medical_levels", "床位余量", level_words);

const char *medical_level(int64_t total, int64_t free)
{
    if (total <= 0)
        return "unknown";
    if (free <= 0)
        return "full";
    return free * 100 / total >= MEDICAL_AMPLE_PCT ? "ample" : "tight";
}

/* The columns every institution reply reads, from m (medical_institutions),
 * p (places) and g (the institution's region). */
#define INSTITUTION_COLS                                                                           \
    "p.id, p.name, m.kind, p.region_code, COALESCE(g.name, ''), p.address, m.beds_total, "         \
    "m.beds_occupied, m.icu_total, m.icu_free, m.testing_per_day, m.reported_at, "                 \
    "COALESCE(p.lng, g.center_lng), COALESCE(p.lat, g.center_lat) "                                \
    "FROM medical_institutions m JOIN places p ON p.id = m.place_id AND p.deleted_at = 0 "         \
    "LEFT JOIN regions g ON g.code = p.region_code "

/* One row of INSTITUTION_COLS as its JSON item. */
static json_t *institution_json(db_stmt *s)
{
    json_t *o = json_object();
    const char *kind = db_col_text(s, 2);
    int64_t total = db_col_int64(s, 6), used = db_col_int64(s, 7);
    int64_t free = total > used ? total - used : 0, at = db_col_int64(s, 11);
    const char *level = medical_level(total, free);
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "kind_name", json_string(vocab_label_of(&medical_kind_vocab, kind)));
    json_set_region(o, db_col_int64(s, 3), db_col_text(s, 4));
    json_object_set_new(o, "address", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "beds_total", json_integer(total));
    json_object_set_new(o, "beds_occupied", json_integer(used));
    json_object_set_new(o, "beds_free", json_integer(free));
    json_object_set_new(o, "icu_total", json_integer(db_col_int64(s, 8)));
    json_object_set_new(o, "icu_free", json_integer(db_col_int64(s, 9)));
    json_object_set_new(o, "testing_per_day", json_integer(db_col_int64(s, 10)));
    json_object_set_new(o, "free_ratio", total ? json_integer(free * 100 / total) : json_null());
    json_object_set_new(o, "level", json_string(level));
    json_object_set_new(o, "level_name", json_string(vocab_label_of(&medical_level_vocab, level)));
    json_object_set_new(o, "reported_at", at ? json_integer(at) : json_null());
    /* the staff's phone page asks for today's report (China day) */
    json_object_set_new(o, "reported_today", json_boolean(at && at >= china_day_start(now_ms())));
    return o;
}

/* The institution place_id in sc: E_NOT_FOUND otherwise. */
static err institution_check(db *d, const struct scope *sc, int64_t place_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT 1 FROM medical_institutions m JOIN places p ON p.id = m.place_id"
                       " AND p.deleted_at = 0 WHERE m.place_id = ? AND p.region_code >= ?"
                       " AND p.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, place_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    e = db_row(s, &found);
    db_done(s);
    if (!e && !found)
        e = err_set(E_NOT_FOUND, "not_found", "id", "医疗机构不存在");
    return e;
}

err medical_institution_add(db *d, const struct scope *sc, int64_t place_id, const char *kind,
                            int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT (SELECT COUNT(*) FROM medical_institutions m"
                       " WHERE m.place_id = p.id) FROM places p WHERE p.id = ?"
                       " AND p.deleted_at = 0 AND p.region_code >= ? AND p.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, place_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    int64_t already = 0;
    if (!(e = db_row(s, &found)) && found)
        already = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!found)
        return err_set(E_NOT_FOUND, "not_found", "place_id", "场所不存在");
    if (already)
        return err_set(E_CONFLICT, "duplicate", "place_id", "该场所已登记为医疗机构");
    if ((e = db_prepare(d,
                        "INSERT INTO medical_institutions (place_id, kind, created_by, created_at)"
                        " VALUES (?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, place_id);
    db_bind_text(s, 2, kind);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, now_ms());
    return db_run(s, NULL);
}

err medical_report(db *d, const struct scope *sc, int64_t place_id, const struct medical_figures *f,
                   int64_t user_id, int64_t *id_r)
{
    err e = E_OK;
    if (f->beds_occupied > f->beds_total)
        e = err_add(e, E_INPUT, "out_of_range", "beds_occupied", "在用床位不能多于总床位");
    if (f->icu_free > f->icu_total)
        e = err_add(e, E_INPUT, "out_of_range", "icu_free", "空闲ICU床位不能多于ICU总床位");
    if (e || (e = institution_check(d, sc, place_id)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO medical_reports (id, place_id, beds_total, beds_occupied,"
                        " icu_total, icu_free, testing_per_day, note, user_id, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, place_id);
    db_bind_int64(s, 3, f->beds_total);
    db_bind_int64(s, 4, f->beds_occupied);
    db_bind_int64(s, 5, f->icu_total);
    db_bind_int64(s, 6, f->icu_free);
    db_bind_int64(s, 7, f->testing_per_day);
    db_bind_text(s, 8, f->note ? f->note : "");
    db_bind_int64(s, 9, user_id);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d,
                        "UPDATE medical_institutions SET beds_total = ?, beds_occupied = ?,"
                        " icu_total = ?, icu_free = ?, testing_per_day = ?, reported_at = ?,"
                        " reported_by = ? WHERE place_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, f->beds_total);
    db_bind_int64(s, 2, f->beds_occupied);
    db_bind_int64(s, 3, f->icu_total);
    db_bind_int64(s, 4, f->icu_free);
    db_bind_int64(s, 5, f->testing_per_day);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, user_id);
    db_bind_int64(s, 8, place_id);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err medical_institutions(db *d, const struct scope *sc, const char *kind, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " INSTITUTION_COLS
                       "WHERE p.region_code >= ? AND p.region_code < ? AND (? = '' OR m.kind = ?)"
                       " ORDER BY p.region_code, p.name, p.id LIMIT 2000",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, kind ? kind : "");
    db_bind_text(s, 4, kind ? kind : "");
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row)
        json_array_append_new(items, institution_json(s));
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err medical_history(db *d, const struct scope *sc, int64_t place_id, json_t **items_r)
{
    err e = institution_check(d, sc, place_id);
    db_stmt *s;
    if (e || (e = db_prepare(d,
                             "SELECT r.id, r.beds_total, r.beds_occupied, r.icu_total, r.icu_free,"
                             " r.testing_per_day, r.note, r.created_at, COALESCE(u.display_name,"
                             " '') FROM medical_reports r LEFT JOIN users u ON u.id = r.user_id"
                             " WHERE r.place_id = ? ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
                             &s)))
        return e;
    db_bind_int64(s, 1, place_id);
    db_bind_int64(s, 2, MEDICAL_HISTORY_MAX);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t total = db_col_int64(s, 1), used = db_col_int64(s, 2);
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "beds_total", json_integer(total));
        json_object_set_new(o, "beds_occupied", json_integer(used));
        json_object_set_new(o, "beds_free", json_integer(total > used ? total - used : 0));
        json_object_set_new(o, "icu_total", json_integer(db_col_int64(s, 3)));
        json_object_set_new(o, "icu_free", json_integer(db_col_int64(s, 4)));
        json_object_set_new(o, "testing_per_day", json_integer(db_col_int64(s, 5)));
        json_object_set_new(o, "note", json_string(db_col_text(s, 6)));
        json_object_set_new(o, "reported_at", json_integer(db_col_int64(s, 7)));
        json_object_set_new(o, "reported_by", json_string(db_col_text(s, 8)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- proposals ---- */

struct proposal {
    json_t *item;
    double km;     /* < 0: no position */
    int64_t ratio; /* free beds per hundred */
    int64_t free;
};

static int proposal_cmp(const void *pa, const void *pb)
{
    const struct proposal *a = pa, *b = pb;
    if ((a->km < 0) != (b->km < 0))
        return a->km < 0 ? 1 : -1; /* the placed ones first */
    if (a->km >= 0 && fabs(a->km - b->km) >= 0.05)
        return a->km < b->km ? -1 : 1;
    if (a->ratio != b->ratio)
        return a->ratio > b->ratio ? -1 : 1;
    return a->free > b->free ? -1 : a->free < b->free ? 1 : 0;
}

/* The centre of `code`, else of its nearest ancestor with one: *has_r
 * false when none has. */
static err centre_of(db *d, int64_t code, double *lng_r, double *lat_r, bool *has_r)
{
    *has_r = false;
    for (; code > 0 && !*has_r; code = regcode_parent(code)) {
        db_stmt *s;
        err e = db_prepare(d,
                           "SELECT center_lng, center_lat FROM regions WHERE code = ?"
                           " AND center_lng IS NOT NULL AND center_lat IS NOT NULL",
                           &s);
        if (e)
            return e;
        db_bind_int64(s, 1, code);
        bool row = false;
        if (!(e = db_row(s, &row)) && row) {
            *lng_r = db_col_double(s, 0);
            *lat_r = db_col_double(s, 1);
            *has_r = true;
        }
        db_done(s);
        if (e)
            return e;
    }
    return E_OK;
}

err medical_proposals(db *d, const struct scope *sc, int64_t region_code, json_t **items_r)
{
    if (!scope_has(sc, region_code))
        return err_set(E_NOT_FOUND, "not_found", "region", "区划不存在");
    bool exists = false;
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, region_code);
    e = db_row(s, &exists);
    db_done(s);
    if (e)
        return e;
    if (!exists)
        return err_set(E_NOT_FOUND, "not_found", "region", "区划不存在");
    double lng = 0, lat = 0;
    bool has_centre;
    if ((e = centre_of(d, region_code, &lng, &lat, &has_centre)))
        return e;
    int64_t district = regcode_at_most(region_code, LEVEL_DISTRICT);
    if ((e = db_prepare(d,
                        "SELECT " INSTITUTION_COLS "WHERE p.region_code >= ? AND p.region_code < ?"
                        " AND m.beds_total > m.beds_occupied ORDER BY p.id LIMIT 2000",
                        &s)))
        return e;
    db_bind_int64(s, 1, district);
    db_bind_int64(s, 2, regcode_end(district));
    size_t n = 0, cap = 16;
    struct proposal *ps = malloc(cap * sizeof *ps);
    bool row;
    while (ps && !(e = db_row(s, &row)) && row) {
        if (!GROW(&ps, &cap, n, 1, 16))
            break;
        struct proposal *p = &ps[n++];
        int64_t total = db_col_int64(s, 6), used = db_col_int64(s, 7);
        p->item = institution_json(s);
        p->free = total - used;
        p->ratio = p->free * 100 / total;
        p->km = has_centre && !db_col_null(s, 12) && !db_col_null(s, 13)
                    ? nat_distance_m(lng, lat, db_col_double(s, 12), db_col_double(s, 13)) / 1000
                    : -1;
    }
    db_done(s);
    if (!ps || (!e && n == cap && row)) {
        for (size_t i = 0; ps && i < n; i++)
            json_decref(ps[i].item);
        free(ps);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (!e)
        qsort(ps, n, sizeof *ps, proposal_cmp);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!e && i < MEDICAL_PROPOSALS) {
            /* a tenth of a kilometre is what a dispatcher reads */
            json_object_set_new(ps[i].item, "distance_km",
                                ps[i].km < 0 ? json_null() : json_real(round(ps[i].km * 10) / 10));
            json_array_append(items, ps[i].item);
        }
        json_decref(ps[i].item);
    }
    free(ps);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

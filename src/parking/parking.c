/*
 * Garages, their gates and counts, and the plate reads that move them
 * (parking.h). The HTTP handlers and the public display are in api.c.
 */
#include "parking/parking.h"

#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "security/crypto.h"
#include "vehicle/vehicle.h"

#define L_CAR_PLATE "parking_cars.plate"

/* ---- reading ---------------------------------------------------------------------------- */

#define GARAGE_COLS "id, region_code, name, total, reserved, occupied, token, updated_at"

static void row_garage(db_stmt *s, arena *a, struct parking_garage *g)
{
    g->id = db_col_int64(s, 0);
    g->region_code = db_col_int64(s, 1);
    g->name = arena_strdup(a, db_col_text(s, 2));
    g->total = db_col_int64(s, 3);
    g->reserved = db_col_int64(s, 4);
    g->occupied = db_col_int64(s, 5);
    g->token = arena_strdup(a, db_col_text(s, 6));
    g->updated_at = db_col_int64(s, 7);
    int64_t free = g->total - g->reserved - g->occupied;
    g->free = free > 0 ? free : 0;
}

static err one(db_stmt *s, arena *a, struct parking_garage *g_r)
{
    bool row = false;
    err e = db_row(s, &row);
    if (!e && row)
        row_garage(s, a, g_r);
    db_done(s);
    if (e)
        return e;
    return row ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "车库不存在");
}

err parking_find(db *d, arena *a, const struct scope *sc, int64_t id, struct parking_garage *g_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " GARAGE_COLS " FROM parking_garages WHERE id = ? AND deleted_at = "
                       "0 AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    return one(s, a, g_r);
}

err parking_by_token(db *d, arena *a, const char *token, struct parking_garage *g_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " GARAGE_COLS " FROM parking_garages WHERE token = ? AND deleted_at = 0", &s);
    if (e)
        return e;
    db_bind_text(s, 1, token);
    return one(s, a, g_r);
}

/* ---- writing ---------------------------------------------------------------------------- */

static err check_spaces(int64_t total, int64_t reserved)
{
    if (total < 1 || total > PARKING_SPACES_MAX)
        return err_set(E_INPUT, "out_of_range", "total", "车位总数须为 1–%d", PARKING_SPACES_MAX);
    if (reserved < 0 || reserved > total)
        return err_set(E_INPUT, "reserved_over_total", "reserved", "预留车位须在 0 与车位总数之间");
    return E_OK;
}

static err move(db *d, int64_t garage, int64_t delta, int64_t occupied, const char *reason)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO parking_moves (id, garage_id, at, delta, occupied, reason) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, garage);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, delta);
    db_bind_int64(s, 5, occupied);
    db_bind_text(s, 6, reason);
    return db_run(s, NULL);
}

/* gates (1..PARKING_GATES_MAX live venues inside sc and the garage's
 * community, distinct, none another garage's than `garage`) */
static err check_gates(db *d, arena *a, const struct scope *sc, int64_t garage, int64_t region_code,
                       const struct parking_gate *gates, size_t n_gates)
{
    if (n_gates < 1 || n_gates > PARKING_GATES_MAX)
        return err_set(E_INPUT, "invalid_gates", "gates", "车库须有 1–%d 个出入口",
                       PARKING_GATES_MAX);
    struct scope community = scope_of(access_community(region_code));
    db_stmt *s;
    err e;
    for (size_t i = 0; i < n_gates; i++) {
        const char *field = arena_printf(a, "gates[%zu]", i);
        int64_t region = 0, taken = 0;
        bool row = false;
        if ((e = db_prepare(d,
                            "SELECT v.region_code, (SELECT COUNT(*) FROM parking_gates g WHERE "
                            "g.venue_id = v.id AND g.garage_id <> ?) FROM venues v WHERE v.id = ? "
                            "AND v.deleted_at = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, garage);
        db_bind_int64(s, 2, gates[i].venue_id);
        if (!(e = db_row(s, &row)) && row) {
            region = db_col_int64(s, 0);
            taken = db_col_int64(s, 1);
        }
        db_done(s);
        if (e)
            return e;
        if (!row || !scope_has(sc, region) || !scope_has(&community, region))
            return err_set(E_INPUT, "unknown_venue", field, "出入口须为本社区的点位");
        if (taken)
            return err_set(E_CONFLICT, "gate_taken", field, "该点位已是其他车库的出入口");
        for (size_t j = 0; j < i; j++)
            if (gates[j].venue_id == gates[i].venue_id)
                return err_set(E_INPUT, "invalid_gates", field, "出入口重复");
    }
    return E_OK;
}

static err insert_gates(db *d, arena *a, int64_t garage, const struct parking_gate *gates,
                        size_t n_gates)
{
    err e = E_OK;
    db_stmt *s;
    for (size_t i = 0; i < n_gates && !e; i++) {
        if ((e = db_prepare(d,
                            "INSERT INTO parking_gates (venue_id, garage_id, direction) VALUES "
                            "(?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, gates[i].venue_id);
        db_bind_int64(s, 2, garage);
        db_bind_text(s, 3, gates[i].direction);
        e = db_run(s, NULL);
        if (e == E_CONFLICT) /* two garages racing for one venue */
            e = err_set(E_CONFLICT, "gate_taken", arena_printf(a, "gates[%zu]", i),
                        "该点位已是其他车库的出入口");
    }
    return e;
}

err parking_create(db *d, arena *a, const struct scope *sc, int64_t user_id,
                   struct parking_garage *g, const struct parking_gate *gates, size_t n_gates)
{
    err e = check_spaces(g->total, g->reserved);
    if (e)
        return e;
    if (!scope_has(sc, g->region_code) || regcode_level(g->region_code) < LEVEL_COMMUNITY)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "车库须属于您管辖范围内的社区（或其下的网格、楼栋）");
    if ((e = check_gates(d, a, sc, 0, g->region_code, gates, n_gates)))
        return e;
    uint8_t raw[PARKING_TOKEN_HEX / 2];
    if ((e = random_bytes(raw, sizeof raw)))
        return e;
    char *token = arena_alloc(a, PARKING_TOKEN_HEX + 1);
    hex_encode(raw, sizeof raw, token);
    int64_t now = now_ms();
    g->id = id_new();
    g->token = token;
    g->occupied = 0;
    g->free = g->total - g->reserved;
    g->updated_at = now;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO parking_garages (id, region_code, name, total, reserved, "
                        "token, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, g->id);
    db_bind_int64(s, 2, g->region_code);
    db_bind_text(s, 3, g->name);
    db_bind_int64(s, 4, g->total);
    db_bind_int64(s, 5, g->reserved);
    db_bind_text(s, 6, token);
    db_bind_int64(s, 7, user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)))
        return e;
    return insert_gates(d, a, g->id, gates, n_gates);
}

err parking_set_gates(db *d, arena *a, const struct scope *sc, int64_t id,
                      const struct parking_gate *gates, size_t n_gates)
{
    struct parking_garage g;
    err e = parking_find(d, a, sc, id, &g);
    if (e || (e = check_gates(d, a, sc, id, g.region_code, gates, n_gates)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "DELETE FROM parking_gates WHERE garage_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)) || (e = insert_gates(d, a, id, gates, n_gates)))
        return e;
    if ((e = db_prepare(d, "UPDATE parking_garages SET updated_at = ? WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    return db_run(s, NULL);
}

err parking_delete(db *d, arena *a, const struct scope *sc, int64_t id)
{
    struct parking_garage g;
    err e = parking_find(d, a, sc, id, &g);
    if (e)
        return e;
    /* the gates are detached (their venues free for another garage, their
     * reads moving nothing), the cars' sealed plates deleted; the moves
     * (counts only) stay as the garage's history */
    static const char *const sql[] = {
        "DELETE FROM parking_gates WHERE garage_id = ?",
        "DELETE FROM parking_cars WHERE garage_id = ?",
    };
    db_stmt *s;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        if ((e = db_prepare(d, sql[i], &s)))
            return e;
        db_bind_int64(s, 1, id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    if ((e = db_prepare(d,
                        "UPDATE parking_garages SET deleted_at = ?, updated_at = ? WHERE id = ? "
                        "AND deleted_at = 0",
                        &s)))
        return e;
    int64_t now = now_ms();
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, id);
    return db_run(s, NULL);
}

err parking_update(db *d, arena *a, const struct scope *sc, int64_t id, const char *name,
                   int64_t total, int64_t reserved)
{
    struct parking_garage g;
    err e = parking_find(d, a, sc, id, &g);
    if (!e)
        e = check_spaces(total >= 0 ? total : g.total, reserved >= 0 ? reserved : g.reserved);
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "UPDATE parking_garages SET name = ?, total = ?, reserved = ?, "
                               "updated_at = ? WHERE id = ?",
                               &s))) {
        db_bind_text(s, 1, name ? name : g.name);
        db_bind_int64(s, 2, total >= 0 ? total : g.total);
        db_bind_int64(s, 3, reserved >= 0 ? reserved : g.reserved);
        db_bind_int64(s, 4, now_ms());
        db_bind_int64(s, 5, id);
        e = db_run(s, NULL);
    }
    return e;
}

err parking_recount(db *d, arena *a, const struct scope *sc, int64_t id, int64_t occupied)
{
    struct parking_garage g;
    err e = parking_find(d, a, sc, id, &g);
    if (!e && (occupied < 0 || occupied > g.total))
        e = err_set(E_INPUT, "out_of_range", "occupied", "在场车辆数须在 0 与车位总数之间");
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "UPDATE parking_garages SET occupied = ?, updated_at = ? WHERE id "
                               "= ?",
                               &s))) {
        db_bind_int64(s, 1, occupied);
        db_bind_int64(s, 2, now_ms());
        db_bind_int64(s, 3, id);
        e = db_run(s, NULL);
    }
    if (!e)
        e = move(d, id, occupied - g.occupied, occupied, "recount");
    return e;
}

/* ---- plate reads -------------------------------------------------------------------------- */

err parking_on_plate_read(db *d, arena *a, const struct vehicle_passage *p,
                          const uint8_t plate_bidx[BLIND_LEN])
{
    db_stmt *s;
    int64_t garage = 0;
    char dir[8] = "";
    bool row = false;
    err e = db_prepare(d,
                       "SELECT g.garage_id, g.direction FROM parking_gates g JOIN parking_garages "
                       "p ON p.id = g.garage_id AND p.deleted_at = 0 WHERE g.venue_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, p->venue_id);
    if (!(e = db_row(s, &row)) && row) {
        garage = db_col_int64(s, 0);
        snprintf(dir, sizeof dir, "%s", db_col_text(s, 1));
    }
    db_done(s);
    if (e || !row) /* not a garage's gate */
        return e;
    bool in = !strcmp(p->direction, "in");
    if (strcmp(dir, "both") && strcmp(dir, p->direction))
        return err_set(E_INPUT, "wrong_direction", "direction", "该出入口仅用于%s",
                       !strcmp(dir, "in") ? "驶入" : "驶出");
    if (p->verdict != VEHICLE_ALLOW)
        return E_OK;
    /* a car is counted once: a second "in" of a car inside changes nothing,
     * an "out" of a car not seen coming in still frees a space (it came in
     * before the garage was counted) unless the garage is empty */
    int64_t changed = 0;
    /* a car that came in before a key rotation may still be indexed under
     * the previous version (docs/keys.md): it is looked for under both */
    uint8_t both[BLIND_MAX][BLIND_LEN];
    int nb = 1;
    memcpy(both[0], plate_bidx, BLIND_LEN);
    if (blind_rotating()) {
        nb = blind_search(PLATE_BLIND_LABEL, p->plate, both);
        memcpy(both[0], plate_bidx, BLIND_LEN);
    }
    struct query q = QUERY_INIT;
    if (in) {
        uint8_t *ct;
        size_t ctn;
        if ((e = seal(a, L_CAR_PLATE, p->plate, strlen(p->plate), &ct, &ctn)))
            return e;
        query_sql(&q, "INSERT INTO parking_cars (garage_id, plate_bidx, plate_enc, entered_at) "
                      "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM parking_cars WHERE "
                      "garage_id = ? AND plate_bidx");
        query_int(&q, garage);
        query_blob(&q, plate_bidx, BLIND_LEN);
        query_blob(&q, ct, ctn);
        query_int(&q, p->at);
        query_int(&q, garage);
        query_blobs(&q, both, BLIND_LEN, nb);
        query_sql(&q, ")");
        if ((e = query_prepare(d, &q, &s)) || (e = db_run(s, &changed)) || !changed)
            return e;
    } else {
        query_sql(&q, "DELETE FROM parking_cars WHERE garage_id = ? AND plate_bidx");
        query_int(&q, garage);
        query_blobs(&q, both, BLIND_LEN, nb);
        if ((e = query_prepare(d, &q, &s)) || (e = db_run(s, NULL)))
            return e;
    }
    if ((e = db_prepare(d,
                        in ? "UPDATE parking_garages SET occupied = occupied + 1, updated_at = ? "
                             "WHERE id = ?"
                           : "UPDATE parking_garages SET occupied = occupied - 1, updated_at = ? "
                             "WHERE id = ? AND occupied > 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, garage);
    if ((e = db_run(s, &changed)) || !changed)
        return e;
    int64_t occupied = 0;
    if ((e = db_prepare(d, "SELECT occupied FROM parking_garages WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, garage);
    if (!(e = db_row(s, &row)) && row)
        occupied = db_col_int64(s, 0);
    db_done(s);
    return e ? e : move(d, garage, in ? 1 : -1, occupied, in ? "in" : "out");
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static const char *direction_label(const char *d)
{
    return !strcmp(d, "in") ? "入口" : !strcmp(d, "out") ? "出口" : "出入口";
}

err parking_json(db *d, arena *a, const struct parking_garage *g, bool with_token, json_t **o_r)
{
    json_t *o = json_object();
    json_set_id(o, "id", g->id);
    json_object_set_new(o, "name", json_string(g->name));
    json_object_set_new(o, "total", json_integer(g->total));
    json_object_set_new(o, "reserved", json_integer(g->reserved));
    json_object_set_new(o, "occupied", json_integer(g->occupied));
    json_object_set_new(o, "free", json_integer(g->free));
    json_object_set_new(o, "updated_at", json_integer(g->updated_at));
    db_stmt *s;
    bool row;
    const char *region = "";
    err e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s);
    if (!e) {
        db_bind_int64(s, 1, g->region_code);
        if (!(e = db_row(s, &row)) && row)
            region = arena_strdup(a, db_col_text(s, 0));
        db_done(s);
    }
    json_set_region(o, g->region_code, region);
    if (with_token) {
        json_object_set_new(o, "token", json_string(g->token));
        json_t *gates = json_array();
        if (!e && !(e = db_prepare(d,
                                   "SELECT g.venue_id, g.direction, COALESCE(v.name, '') FROM "
                                   "parking_gates g LEFT JOIN venues v ON v.id = g.venue_id "
                                   "WHERE g.garage_id = ? ORDER BY g.venue_id",
                                   &s))) {
            db_bind_int64(s, 1, g->id);
            while (!(e = db_row(s, &row)) && row) {
                json_t *x = json_object();
                json_set_id(x, "venue_id", db_col_int64(s, 0));
                json_object_set_new(x, "direction", json_string(db_col_text(s, 1)));
                json_object_set_new(x, "direction_label",
                                    json_string(direction_label(db_col_text(s, 1))));
                json_object_set_new(x, "venue_name", json_string(db_col_text(s, 2)));
                json_array_append_new(gates, x);
            }
            db_done(s);
        }
        json_object_set_new(o, "gates", gates);
    }
    if (e) {
        json_decref(o);
        return e;
    }
    *o_r = o;
    return E_OK;
}

err parking_list(db *d, arena *a, const struct scope *sc, bool with_token, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " GARAGE_COLS " FROM parking_garages WHERE deleted_at = 0 AND "
                       "region_code >= ? AND region_code < ? ORDER BY name, id LIMIT 200",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    struct parking_garage gs[200];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < sizeof gs / sizeof gs[0])
        row_garage(s, a, &gs[n++]);
    db_done(s);
    json_t *items = json_array();
    for (size_t i = 0; i < n && !e; i++) {
        json_t *o;
        if (!(e = parking_json(d, a, &gs[i], with_token, &o)))
            json_array_append_new(items, o);
    }
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* 京A12345 → 京A***45: enough for staff to tell cars apart at a glance */
static const char *plate_masked(arena *a, const char *plate)
{
    size_t n = strlen(plate);
    if (n < 7) /* a CJK character (3 bytes) and at least 4 more */
        return arena_strdup(a, "***");
    return arena_printf(a, "%.4s***%s", plate, plate + n - 2);
}

err parking_today(db *d, arena *a, const struct parking_garage *g, json_t **hours_r,
                  json_t **cars_r)
{
    int64_t start = china_day_start(now_ms());
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT (at - ?) / 3600000, MAX(occupied), COUNT(*) FROM parking_moves "
                       "WHERE garage_id = ? AND at >= ? GROUP BY 1 ORDER BY 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, start);
    db_bind_int64(s, 2, g->id);
    db_bind_int64(s, 3, start);
    json_t *hours = json_array(), *cars = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *h = json_object();
        json_object_set_new(h, "hour", json_integer(db_col_int64(s, 0)));
        json_object_set_new(h, "occupied", json_integer(db_col_int64(s, 1)));
        json_object_set_new(h, "moves", json_integer(db_col_int64(s, 2)));
        json_array_append_new(hours, h);
    }
    db_done(s);
    if (!e && !(e = db_prepare(d,
                               "SELECT plate_enc, entered_at FROM parking_cars WHERE garage_id = "
                               "? ORDER BY entered_at DESC LIMIT 500",
                               &s))) {
        db_bind_int64(s, 1, g->id);
        while (!(e = db_row(s, &row)) && row) {
            const char *plate;
            if ((e = unseal_col(a, s, 0, L_CAR_PLATE, &plate)))
                break;
            json_t *c = json_object();
            json_object_set_new(c, "plate", json_string(plate_masked(a, plate ? plate : "")));
            json_object_set_new(c, "entered_at", json_integer(db_col_int64(s, 1)));
            json_array_append_new(cars, c);
        }
        db_done(s);
    }
    if (e) {
        json_decref(hours);
        json_decref(cars);
        return e;
    }
    *hours_r = hours;
    *cars_r = cars;
    return E_OK;
}

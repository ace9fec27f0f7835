/*
 * Key-person trips (trace.h): the vocabularies, the number rules, the body
 * parser, the checks and the SQL of trips and their waypoints.
 *
 * Every statement binds the caller's scope on the trip's region_code; a
 * write first finds the person (or the trip) inside the scope, so another
 * region's record is E_NOT_FOUND before anything is checked against it.
 * Writes run inside the caller's transaction (the handler commits them
 * with their audit entry): a trip and its waypoints are written together
 * or not at all.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/fields.h"
#include "db/query.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"

/* ---- vocabularies ----------------------------------------------------------------- */

static const struct vocab_word modes[] = {
    [TRIP_FLIGHT] = {"flight", "飞机"},   [TRIP_TRAIN] = {"train", "火车"},
    [TRIP_COACH] = {"coach", "长途汽车"}, [TRIP_CAR] = {"car", "自驾/汽车"},
    [TRIP_SHIP] = {"ship", "轮船"},       [TRIP_OTHER] = {"other", "其他"},
};
const struct vocab trip_mode_vocab = VOCAB("trip_modes", "出行工具", modes);
_Static_assert(sizeof modes / sizeof modes[0] == TRIP_MODE__COUNT, "a word for every mode");

static const struct vocab_word wp_kinds[] = {
    [TRIP_WP_BUS_STOP] = {"bus_stop", "公交站点"},
    [TRIP_WP_MALL] = {"mall", "商场"},
    [TRIP_WP_PARK] = {"park", "公园"},
    [TRIP_WP_RESTAURANT] = {"restaurant", "餐馆"},
    [TRIP_WP_STATION] = {"station", "车站/机场"},
    [TRIP_WP_HOSPITAL] = {"hospital", "医院"},
    [TRIP_WP_VENUE] = {"venue", "登记场所"},
    [TRIP_WP_OTHER] = {"other", "其他"},
};
const struct vocab trip_waypoint_kind_vocab = VOCAB("trip_waypoint_kinds", "途径点类型", wp_kinds);
_Static_assert(sizeof wp_kinds / sizeof wp_kinds[0] == TRIP_WP__COUNT, "a word for every kind");

static const struct vocab_word sources[] = {
    [TRIP_STAFF] = {"staff", "工作人员登记"},
    [TRIP_SELF] = {"self", "本人填报"},
    [TRIP_IMPORT] = {"import", "批量导入"},
};
const struct vocab trip_source_vocab = VOCAB("trip_sources", "出行记录来源", sources);
_Static_assert(sizeof sources / sizeof sources[0] == TRIP_SOURCE__COUNT, "a word for every source");

/* ---- numbers ---------------------------------------------------------------------- */

/* Train classes: 高速 G, 动车 D, 城际 C, 直达 Z, 特快 T, 快速 K, 旅游 Y,
 * 临客 L, 市郊 S. */
static bool train_ok(const char *s, size_t n)
{
    size_t i = strchr("GDCZTKYLS", s[0]) && isalpha((unsigned char)s[0]) ? 1 : 0;
    size_t digits = n - i;
    if (digits < 1 || digits > 4 || s[i] == '0')
        return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* IATA: two characters of letters or digits, one a letter at least; one to
 * four digits (no leading zero unless alone); an optional letter. */
static bool flight_ok(const char *s, size_t n)
{
    if (n < 3 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[1]) ||
        (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])))
        return false;
    size_t end = isalpha((unsigned char)s[n - 1]) ? n - 1 : n, digits = end - 2;
    if (digits < 1 || digits > 4 || (s[2] == '0' && digits > 1))
        return false;
    for (size_t i = 2; i < end; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

err trip_number_normalise(enum trip_mode mode, const char *in, const char *field,
                          char out[TRIP_NUMBER_OUT])
{
    size_t n = in ? strlen(in) : 0;
    if (!n) {
        out[0] = 0;
        return E_OK;
    }
    if (mode != TRIP_FLIGHT && mode != TRIP_TRAIN) {
        /* characters are counted, bytes copied: a character is up to four
         * bytes (found by tests/fuzz/fuzz_trip.c) */
        err e = check_text(in, field, "班次/车次", TRIP_NUMBER_TEXT, TEXT_ONE_LINE);
        if (!e && n >= TRIP_NUMBER_OUT)
            e = err_set(E_INPUT, "too_long", field, "班次/车次不能超过%d个字符", TRIP_NUMBER_TEXT);
        if (!e)
            memcpy(out, in, n + 1);
        return e;
    }
    char up[TRIP_NUMBER_MAX];
    bool ok = n < sizeof up;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isascii((unsigned char)in[i]) || !isalnum((unsigned char)in[i]))
            ok = false;
        else
            up[i] = (char)toupper((unsigned char)in[i]);
    }
    if (ok) {
        up[n] = 0;
        ok = mode == TRIP_FLIGHT ? flight_ok(up, n) : train_ok(up, n);
    }
    if (!ok)
        return mode == TRIP_FLIGHT ? err_set(E_INPUT, "invalid_number", field,
                                             "航班号格式不正确，应如 CA1234、MU5101")
                                   : err_set(E_INPUT, "invalid_number", field,
                                             "车次格式不正确，应如 G123、D7、K1234");
    memcpy(out, up, n + 1);
    return E_OK;
}

/* ---- the body --------------------------------------------------------------------- */

static const char *path_of(arena *a, const char *prefix, const char *name)
{
    return arena_printf(a, "%s.%s", prefix, name);
}

/* A text member of o at `field`: NULL when absent or null, else checked. */
static err text_member(arena *a, json_t *o, const char *key, const char *field, const char *label,
                       size_t max, const char **v_r)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *v_r = "";
        return E_OK;
    }
    if (!json_is_string(v))
        return err_set(E_INPUT, "invalid_type", field, "%s应为字符串", label);
    const char *s = field_trim(a, json_string_value(v));
    err e = check_text(s, field, label, max, TEXT_ONE_LINE);
    if (!e)
        *v_r = s;
    return e;
}

static err leg_from(arena *a, json_t *o, const char *name, struct trip_leg *leg)
{
    const char *label = !strcmp(name, "out") ? "去程" : "返程";
    if (!json_is_object(o))
        return err_set(E_INPUT, "invalid_type", name, "%s交通应为对象", label);
    struct trip_leg l = {0};
    const char *f = path_of(a, name, "mode"), *s = json_str(o, "mode");
    int m = s ? vocab_parse(&trip_mode_vocab, s) : -1;
    if (m <= 0)
        return err_set(E_INPUT, s ? "invalid_value" : "required", f,
                       "请选择%s交通方式（飞机、火车、长途汽车、汽车、轮船或其他）", label);
    l.mode = (enum trip_mode)m;
    const char *number;
    err e = text_member(a, o, "number", path_of(a, name, "number"), "班次/车次", TRIP_NUMBER_TEXT,
                        &number);
    if (!e) {
        char *buf = arena_alloc(a, TRIP_NUMBER_OUT);
        if (!(e = trip_number_normalise(l.mode, number, path_of(a, name, "number"), buf)))
            l.number = buf;
    }
    if (!e)
        e = text_member(a, o, "seat", path_of(a, name, "seat"), "座位号", TRIP_SEAT_MAX, &l.seat);
    if (!e)
        e = text_member(a, o, "note", path_of(a, name, "note"), "备注", TRIP_NOTE_MAX, &l.note);
    const char *plate = "";
    if (!e)
        e = text_member(a, o, "plate", path_of(a, name, "plate"), "车牌号", 16, &plate);
    if (!e && *plate) {
        if (l.mode != TRIP_CAR)
            return err_set(E_INPUT, "invalid_value", path_of(a, name, "plate"),
                           "只有自驾/汽车出行才填写车牌号");
        char *p = arena_alloc(a, PLATE_MAX);
        if (!(e = plate_normalise(plate, path_of(a, name, "plate"), p, NULL)))
            l.plate = p;
    } else if (!e)
        l.plate = "";
    if (!e)
        *leg = l;
    return e;
}

static err waypoint_from(arena *a, json_t *o, size_t i, struct trip_waypoint *w)
{
    const char *at = arena_printf(a, "waypoints[%zu]", i);
    if (!json_is_object(o))
        return err_set(E_INPUT, "invalid_type", at, "第%zu个途径点应为对象", i + 1);
    struct trip_waypoint x = {0};
    const char *s = json_str(o, "kind");
    int k = s ? vocab_parse(&trip_waypoint_kind_vocab, s) : -1;
    if (k <= 0)
        return err_set(E_INPUT, s ? "invalid_value" : "required", path_of(a, at, "kind"),
                       "请选择第%zu个途径点的类型", i + 1);
    x.kind = (enum trip_waypoint_kind)k;
    err e =
        text_member(a, o, "place", path_of(a, at, "place"), "途径地点", TRIP_TEXT_MAX, &x.place);
    if (e)
        return e;
    json_t *v = json_object_get(o, "venue_id");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || (x.venue_id = id_parse(json_string_value(v))) <= 0)
            return err_set(E_INPUT, "invalid_value", path_of(a, at, "venue_id"), "场所编号不正确");
    }
    if (!*x.place && !x.venue_id)
        return err_set(E_INPUT, "required", path_of(a, at, "place"),
                       "第%zu个途径点请填写地点或选择登记场所", i + 1);
    v = json_object_get(o, "arrived_at");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > 4102444800000LL)
            return err_set(E_INPUT, "invalid_value", path_of(a, at, "arrived_at"),
                           "到达时间不正确");
        x.arrived_at = json_integer_value(v);
    }
    v = json_object_get(o, "stay_minutes");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v))
            return err_set(E_INPUT, "invalid_type", path_of(a, at, "stay_minutes"),
                           "停留时长应为整数（分钟）");
        if (json_integer_value(v) < 0 || json_integer_value(v) > TRIP_STAY_MAX)
            return err_set(E_INPUT, "out_of_range", path_of(a, at, "stay_minutes"),
                           "停留时长应在0到%d分钟之间", TRIP_STAY_MAX);
        x.stay_minutes = (int)json_integer_value(v);
    }
    *w = x;
    return E_OK;
}

/* A day member "YYYY-MM-DD" as yyyymmdd; null is 0 when `nullable`. */
static err day_member(json_t *v, const char *field, const char *label, bool nullable,
                      int32_t *day_r)
{
    if (json_is_null(v) && nullable) {
        *day_r = 0;
        return E_OK;
    }
    int32_t d = json_is_string(v) ? field_date_parse(json_string_value(v)) : 0;
    if (!d)
        return err_set(E_INPUT, "invalid_date", field, "%s应为“2026-01-31”形式的日期", label);
    *day_r = d;
    return E_OK;
}

err trip_apply_json(arena *a, json_t *body, struct trip *t)
{
    if (!json_is_object(body))
        return err_set(E_INPUT, "invalid_json", NULL, "请求体应为 JSON 对象");
    struct trip x = *t;
    err e = E_OK;
    json_t *v;
    if ((v = json_object_get(body, "person_id"))) {
        int64_t id = json_is_string(v) ? id_parse(json_string_value(v)) : 0;
        if (id <= 0)
            return err_set(E_INPUT, "invalid_value", "person_id", "人员编号不正确");
        x.person_id = id;
    }
    if ((v = json_object_get(body, "departed_on")) &&
        (e = day_member(v, "departed_on", "出行日期", false, &x.departed_on)))
        return e;
    if ((v = json_object_get(body, "returned_on")) &&
        (e = day_member(v, "returned_on", "返回日期", true, &x.returned_on)))
        return e;
    if (json_has(body, "origin") &&
        (e = text_member(a, body, "origin", "origin", "出发地", TRIP_TEXT_MAX, &x.origin)))
        return e;
    if (json_has(body, "destination") && (e = text_member(a, body, "destination", "destination",
                                                          "目的地", TRIP_TEXT_MAX, &x.destination)))
        return e;
    if (json_has(body, "note") &&
        (e = text_member(a, body, "note", "note", "备注", TRIP_NOTE_MAX, &x.note)))
        return e;
    if ((v = json_object_get(body, "out")) && (e = leg_from(a, v, "out", &x.out)))
        return e;
    if ((v = json_object_get(body, "back"))) {
        if (json_is_null(v))
            x.back = (struct trip_leg){.number = "", .seat = "", .plate = "", .note = ""};
        else if ((e = leg_from(a, v, "back", &x.back)))
            return e;
    }
    if ((v = json_object_get(body, "waypoints"))) {
        if (!json_is_array(v))
            return err_set(E_INPUT, "invalid_type", "waypoints", "途径点应为数组");
        size_t n = json_array_size(v);
        if (n > TRIP_WAYPOINTS_MAX)
            return err_set(E_INPUT, "too_many_waypoints", "waypoints", "途径点最多%d个",
                           TRIP_WAYPOINTS_MAX);
        x.waypoints = n ? arena_alloc(a, n * sizeof *x.waypoints) : NULL;
        x.n_waypoints = n;
        for (size_t i = 0; i < n; i++)
            if ((e = waypoint_from(a, json_array_get(v, i), i, &x.waypoints[i])))
                return e;
    }
    *t = x;
    return E_OK;
}

err trip_check(const struct trip *t)
{
    if (t->person_id <= 0)
        return err_set(E_INPUT, "required", "person_id", "请选择出行人员");
    if (!t->departed_on)
        return err_set(E_INPUT, "required", "departed_on", "请填写出行日期");
    if (t->returned_on && t->returned_on < t->departed_on)
        return err_set(E_INPUT, "invalid_range", "returned_on", "返回日期不能早于出行日期");
    if (!t->destination || !*t->destination)
        return err_set(E_INPUT, "required", "destination", "请填写目的地");
    if (t->out.mode <= TRIP_MODE_NONE || t->out.mode >= TRIP_MODE__COUNT)
        return err_set(E_INPUT, "required", "out.mode", "请选择去程交通方式");
    if (t->n_waypoints > TRIP_WAYPOINTS_MAX)
        return err_set(E_INPUT, "too_many_waypoints", "waypoints", "途径点最多%d个",
                       TRIP_WAYPOINTS_MAX);
    return E_OK;
}

/* ---- writing ------------------------------------------------------------------------ */

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Every waypoint's venue is a live venue (any region: a trip passes venues
 * of other communities; a venue's name is no personal data). */
static err check_venues(db *d, arena *a, const struct trip *t)
{
    for (size_t i = 0; i < t->n_waypoints; i++) {
        if (!t->waypoints[i].venue_id)
            continue;
        db_stmt *s;
        err e = db_prepare(d, "SELECT 1 FROM venues WHERE id = ? AND deleted_at = 0", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, t->waypoints[i].venue_id);
        bool row;
        e = db_row(s, &row);
        db_done(s);
        if (e)
            return e;
        if (!row)
            return err_set(E_INPUT, "unknown_venue", arena_printf(a, "waypoints[%zu].venue_id", i),
                           "第%zu个途径点的场所不存在", i + 1);
    }
    return E_OK;
}

static err write_waypoints(db *d, const struct trip *t, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM trip_waypoints WHERE trip_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < t->n_waypoints; i++) {
        const struct trip_waypoint *w = &t->waypoints[i];
        if ((e = db_prepare(d,
                            "INSERT INTO trip_waypoints (trip_id, seq, kind, place, venue_id, "
                            "arrived_at, stay_minutes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, (int64_t)i + 1);
        db_bind_text(s, 3, vocab_name(&trip_waypoint_kind_vocab, w->kind));
        db_bind_text(s, 4, nz(w->place));
        db_bind_int64(s, 5, w->venue_id);
        db_bind_int64(s, 6, w->arrived_at);
        db_bind_int64(s, 7, w->stay_minutes);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* Bind the trip's columns from parameter i (as TRIP_COLS lists them). */
static err bind_cols(db_stmt *s, arena *a, int i, const struct trip *t)
{
    db_bind_int64(s, i++, t->departed_on);
    db_bind_int64(s, i++, t->returned_on);
    db_bind_text(s, i++, nz(t->origin));
    db_bind_text(s, i++, nz(t->destination));
    const struct trip_leg *legs[2] = {&t->out, &t->back};
    for (int k = 0; k < 2; k++) {
        db_bind_text(s, i++, vocab_name(&trip_mode_vocab, legs[k]->mode));
        db_bind_text(s, i++, nz(legs[k]->number));
        db_bind_text(s, i++, nz(legs[k]->seat));
        err e = seal_bind(a, s, i++, k ? "trips.back_plate" : "trips.out_plate", legs[k]->plate);
        if (e)
            return e;
        db_bind_text(s, i++, nz(legs[k]->note));
    }
    db_bind_int64(s, i++, (int64_t)t->n_waypoints);
    db_bind_text(s, i, nz(t->note));
    return E_OK;
}

static trace_write_fn on_write;

err trace_on_write(trace_write_fn fn)
{
    if (fn && on_write && on_write != fn)
        return err_set(E_INTERNAL, NULL, NULL, "trace_on_write 已有订阅者：每个钩子只能注册一个");
    on_write = fn;
    return E_OK;
}

err trace_written(db *d, enum trace_record kind, int64_t id, int64_t region_code, bool deleted)
{
    return on_write ? on_write(d, kind, id, region_code, deleted) : E_OK;
}

err trip_create(db *d, arena *a, const struct scope *sc, struct trip *t, enum trip_source source,
                int64_t user_id, int64_t *id_r)
{
    int64_t region;
    err e = trip_check(t);
    if (!e && t->person_id > 0)
        e = person_region(d, sc, t->person_id, &region);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_found", "person_id", "人员不存在或不在您的管辖范围内");
    if (!e)
        e = check_venues(d, a, t);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO trips (id, person_id, region_code, source, created_by, "
                        "created_at, updated_at, departed_on, returned_on, origin, destination, "
                        "out_mode, out_number, out_seat, out_plate_enc, out_note, back_mode, "
                        "back_number, back_seat, back_plate_enc, back_note, waypoint_count, note) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?)",
                        &s)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, t->person_id);
    db_bind_int64(s, 3, region);
    db_bind_text(s, 4, vocab_name(&trip_source_vocab, source));
    db_bind_int64(s, 5, user_id);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, now);
    if ((e = bind_cols(s, a, 8, t))) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, NULL)) || (e = write_waypoints(d, t, id)) ||
        (e = trace_written(d, TRACE_REC_TRIP, id, region, false)))
        return e;
    *id_r = id;
    return E_OK;
}

err trip_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version, json_t *body)
{
    struct trip t;
    err e = trip_find(d, a, sc, id, &t);
    if (e)
        return e;
    if (version > 0 && version != t.version)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    int64_t person = t.person_id;
    if ((e = trip_apply_json(a, body, &t)))
        return e;
    if (t.person_id != person)
        return err_set(E_INPUT, "invalid_value", "person_id", "出行记录的人员不能修改");
    if ((e = trip_check(&t)) || (e = check_venues(d, a, &t)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE trips SET departed_on = ?, returned_on = ?, origin = ?, "
                        "destination = ?, out_mode = ?, out_number = ?, out_seat = ?, "
                        "out_plate_enc = ?, out_note = ?, back_mode = ?, back_number = ?, "
                        "back_seat = ?, back_plate_enc = ?, back_note = ?, waypoint_count = ?, "
                        "note = ?, version = version + 1, updated_at = ? WHERE id = ? AND "
                        "version = ? AND deleted_at = 0 AND region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    if ((e = bind_cols(s, a, 1, &t))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 17, now_ms());
    db_bind_int64(s, 18, id);
    db_bind_int64(s, 19, t.version);
    db_bind_int64(s, 20, sc->lo);
    db_bind_int64(s, 21, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该记录已被他人修改或删除，请刷新后重试");
    if (json_has(body, "waypoints") && (e = write_waypoints(d, &t, id)))
        return e;
    return trace_written(d, TRACE_REC_TRIP, id, t.region_code, false);
}

err trip_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE trips SET deleted_at = ?, version = version + 1 WHERE id = ? AND "
                       "deleted_at = 0 AND region_code >= ? AND region_code < ? RETURNING "
                       "region_code",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    bool row = false;
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row)
        region = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return trace_written(d, TRACE_REC_TRIP, id, region, true);
}

/* ---- reading ------------------------------------------------------------------------ */

#define TRIP_SELECT                                                                                \
    "SELECT t.id, t.person_id, t.region_code, r.name, p.name_enc, p.id_number_enc, "               \
    "t.departed_on, t.returned_on, t.origin, t.destination, t.out_mode, t.out_number, "            \
    "t.out_seat, t.out_plate_enc, t.out_note, t.back_mode, t.back_number, t.back_seat, "           \
    "t.back_plate_enc, t.back_note, t.waypoint_count, t.source, t.note, t.created_by, "            \
    "t.version, t.created_at, t.updated_at "
#define TRIP_FROM                                                                                  \
    " FROM trips t LEFT JOIN persons p ON p.id = t.person_id "                                     \
    "LEFT JOIN regions r ON r.code = t.region_code "

static const char *text_col(arena *a, db_stmt *s, int c)
{
    return arena_strdup(a, db_col_text(s, c));
}

static err read_leg(arena *a, db_stmt *s, int c, const char *plate_label, struct trip_leg *l)
{
    int m = vocab_parse(&trip_mode_vocab, db_col_text(s, c));
    l->mode = m > 0 ? (enum trip_mode)m : TRIP_MODE_NONE;
    l->number = text_col(a, s, c + 1);
    l->seat = text_col(a, s, c + 2);
    err e = unseal_col(a, s, c + 3, plate_label, &l->plate);
    if (!e && !l->plate)
        l->plate = "";
    l->note = text_col(a, s, c + 4);
    return e;
}

static err read_row(db_stmt *s, arena *a, struct trip *t)
{
    memset(t, 0, sizeof *t);
    t->id = db_col_int64(s, 0);
    t->person_id = db_col_int64(s, 1);
    t->region_code = db_col_int64(s, 2);
    t->region_name = text_col(a, s, 3);
    err e = unseal_col(a, s, 4, "persons.name", &t->person_name);
    if (!e)
        e = unseal_col(a, s, 5, "persons.id_number", &t->id_number);
    t->departed_on = (int32_t)db_col_int64(s, 6);
    t->returned_on = (int32_t)db_col_int64(s, 7);
    t->origin = text_col(a, s, 8);
    t->destination = text_col(a, s, 9);
    if (!e)
        e = read_leg(a, s, 10, "trips.out_plate", &t->out);
    if (!e)
        e = read_leg(a, s, 15, "trips.back_plate", &t->back);
    t->n_waypoints = (size_t)db_col_int64(s, 20);
    int src = vocab_parse(&trip_source_vocab, db_col_text(s, 21));
    t->source = src > 0 ? (enum trip_source)src : TRIP_SOURCE_NONE;
    t->note = text_col(a, s, 22);
    t->created_by = db_col_int64(s, 23);
    t->version = db_col_int64(s, 24);
    t->created_at = db_col_int64(s, 25);
    t->updated_at = db_col_int64(s, 26);
    return e;
}

/* read_row as query_page reads a list's row. */
static err trip_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return read_row(s, a, item);
}

static err read_waypoints(db *d, arena *a, struct trip *t)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT w.kind, w.place, w.venue_id, v.name, w.arrived_at, w.stay_minutes "
                       "FROM trip_waypoints w LEFT JOIN venues v ON v.id = w.venue_id "
                       "WHERE w.trip_id = ? ORDER BY w.seq",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, t->id);
    size_t cap = t->n_waypoints ? t->n_waypoints : 1, n = 0;
    struct trip_waypoint *w = arena_alloc(a, cap * sizeof *w);
    bool row;
    while (!(e = db_row(s, &row)) && row && n < cap) {
        int k = vocab_parse(&trip_waypoint_kind_vocab, db_col_text(s, 0));
        w[n] = (struct trip_waypoint){
            .kind = k > 0 ? (enum trip_waypoint_kind)k : TRIP_WP_OTHER,
            .place = text_col(a, s, 1),
            .venue_id = db_col_int64(s, 2),
            .venue_name = text_col(a, s, 3),
            .arrived_at = db_col_int64(s, 4),
            .stay_minutes = (int)db_col_int64(s, 5),
        };
        n++;
    }
    db_done(s);
    t->waypoints = w;
    t->n_waypoints = n;
    return e;
}

err trip_find(db *d, arena *a, const struct scope *sc, int64_t id, struct trip *t_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       TRIP_SELECT TRIP_FROM "WHERE t.id = ? AND t.deleted_at = 0 AND "
                                             "t.region_code >= ? AND t.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    struct trip t;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, &t) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        e = read_waypoints(d, a, &t);
    if (!e)
        *t_r = t;
    return e;
}

err trip_list(db *d, arena *a, const struct scope *sc, const struct trip_filter *f,
              struct trip **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    query_sql(w, " WHERE t.deleted_at = 0 AND t.region_code >= ? AND t.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->region_code) {
        if (!scope_has(sc, f->region_code))
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
        query_sql(w, " AND t.region_code >= ? AND t.region_code < ?");
        query_int(w, f->region_code);
        query_int(w, regcode_end(f->region_code));
    }
    if (f->person_id) {
        query_sql(w, " AND t.person_id = ?");
        query_int(w, f->person_id);
    }
    if (f->from) {
        query_sql(w, " AND t.departed_on >= ?");
        query_int(w, f->from);
    }
    if (f->to) {
        query_sql(w, " AND t.departed_on <= ?");
        query_int(w, f->to);
    }
    if (f->mode) {
        query_sql(w, " AND (t.out_mode = ? OR t.back_mode = ?)");
        query_text(w, vocab_name(&trip_mode_vocab, f->mode));
        query_text(w, vocab_name(&trip_mode_vocab, f->mode));
    }
    if (f->number && *f->number) {
        query_sql(w, " AND (t.out_number = ? OR t.back_number = ?)");
        query_text(w, f->number);
        query_text(w, f->number);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM trips t",
                                            .select = TRIP_SELECT TRIP_FROM,
                                            .order = " ORDER BY t.departed_on DESC, t.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = TRIP_EXPORT_MAX,
                                            .size = sizeof(struct trip),
                                            .read = trip_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static json_t *day_json(int32_t day)
{
    if (!day)
        return json_null();
    char buf[11];
    field_date_format(day, buf);
    return json_string(buf);
}

static json_t *leg_json(const struct trip_leg *l)
{
    if (l->mode == TRIP_MODE_NONE)
        return json_null();
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "mode", vocab_name(&trip_mode_vocab, l->mode),
                     "mode_label", vocab_label(&trip_mode_vocab, l->mode), "number", nz(l->number),
                     "seat", nz(l->seat), "plate", nz(l->plate), "note", nz(l->note));
}

json_t *trip_json(arena *a, const struct trip *t, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", t->id);
    json_set_id(o, "person_id", t->person_id);
    const char *name = nz(t->person_name), *idno = nz(t->id_number);
    json_object_set_new(o, "person_name", json_string(reveal ? name : mask_name(a, name)));
    json_object_set_new(o, "id_number", json_string(reveal ? idno : mask_id_number(a, idno)));
    json_set_region(o, t->region_code, t->region_name);
    json_object_set_new(o, "departed_on", day_json(t->departed_on));
    json_object_set_new(o, "returned_on", day_json(t->returned_on));
    json_object_set_new(o, "origin", json_string(nz(t->origin)));
    json_object_set_new(o, "destination", json_string(nz(t->destination)));
    json_object_set_new(o, "out", leg_json(&t->out));
    json_object_set_new(o, "back", leg_json(&t->back));
    json_object_set_new(o, "waypoint_count", json_integer((json_int_t)t->n_waypoints));
    if (t->waypoints) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t->n_waypoints; i++) {
            const struct trip_waypoint *w = &t->waypoints[i];
            json_t *x =
                json_pack("{s:s,s:s,s:s}", "kind", vocab_name(&trip_waypoint_kind_vocab, w->kind),
                          "kind_label", vocab_label(&trip_waypoint_kind_vocab, w->kind), "place",
                          nz(w->place));
            json_set_id_or_null(x, "venue_id", w->venue_id);
            json_object_set_new(x, "venue_name",
                                w->venue_id ? json_string(nz(w->venue_name)) : json_null());
            json_object_set_new(x, "arrived_at",
                                w->arrived_at ? json_integer(w->arrived_at) : json_null());
            json_object_set_new(x, "stay_minutes", json_integer(w->stay_minutes));
            json_array_append_new(arr, x);
        }
        json_object_set_new(o, "waypoints", arr);
    }
    json_object_set_new(o, "source", json_string(vocab_name(&trip_source_vocab, t->source)));
    json_object_set_new(o, "source_label", json_string(vocab_label(&trip_source_vocab, t->source)));
    json_object_set_new(o, "note", json_string(nz(t->note)));
    json_object_set_new(o, "version", json_integer(t->version));
    json_object_set_new(o, "created_at", json_integer(t->created_at));
    json_object_set_new(o, "updated_at", json_integer(t->updated_at));
    return o;
}

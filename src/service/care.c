/*
 * Elderly care: the duty roster of community staff and residents'
 * emergency calls (service.h). A call's state is read from its alerts, so
 * an acknowledgement on the console's alert page handles the call too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "db/query.h"
#include "person/person.h"
#include "region/region.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "service/service.h"

/* ---- duty roster ------------------------------------------------------------ */

err service_duty_add(db *d, const struct scope *sc, const struct service_duty_new *n, int64_t *id_r)
{
    if (n->region_code <= 0 || regcode_level(n->region_code) != LEVEL_COMMUNITY ||
        !scope_has(sc, n->region_code))
        return err_set(E_INPUT, "invalid_region", "region_code", "请选择辖区内的社区");
    int64_t now = now_ms();
    if (n->to_at <= n->from_at || n->to_at <= now || n->to_at - n->from_at > SERVICE_DUTY_MAX_MS)
        return err_set(E_INPUT, "invalid_period", "to",
                       "值班时间不正确：结束时间须晚于开始时间和当前时间，且不超过31天");
    db_stmt *s;
    /* the region exists, and the user is an enabled staff account whose
     * scope (its region's subtree) holds the community */
    err e = db_prepare(d,
                       "SELECT (SELECT COUNT(*) FROM regions WHERE code = ?), region_code FROM "
                       "users WHERE id = ? AND kind = 'staff' AND disabled = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, n->region_code);
    db_bind_int64(s, 2, n->user_id);
    bool row;
    int64_t exists = 0, user_region = 0;
    if (!(e = db_row(s, &row)) && row) {
        exists = db_col_int64(s, 0);
        user_region = db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    if (!row || !regcode_within(n->region_code, user_region))
        return err_set(E_INPUT, "invalid_user", "user_id", "值班人员须为管辖该社区的工作人员");
    if (!exists)
        return err_set(E_INPUT, "invalid_region", "region_code", "请选择辖区内的社区");
    if ((e = db_prepare(d,
                        "INSERT INTO service_duty (id, region_code, user_id, from_at, to_at, "
                        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, n->region_code);
    db_bind_int64(s, 3, n->user_id);
    db_bind_int64(s, 4, n->from_at);
    db_bind_int64(s, 5, n->to_at);
    db_bind_int64(s, 6, n->created_by);
    db_bind_int64(s, 7, now);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err service_duty_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(
        d, "DELETE FROM service_duty WHERE id = ? AND region_code >= ? AND region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "值班记录不存在");
}

err service_duty_list(db *d, const struct scope *sc, int64_t region_code, int64_t after,
                      int64_t now, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT t.id, t.region_code, COALESCE(g.name, ''), t.user_id, "
        "COALESCE(u.display_name, ''), t.from_at, t.to_at FROM service_duty t "
        "LEFT JOIN regions g ON g.code = t.region_code LEFT JOIN users u ON u.id = "
        "t.user_id WHERE t.region_code >= ? AND t.region_code < ? AND (CAST(? AS BIGINT) = 0 OR "
        "t.region_code = ?) AND t.to_at > ? ORDER BY t.from_at, t.id LIMIT 500",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, region_code);
    db_bind_int64(s, 4, region_code);
    db_bind_int64(s, 5, after);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        char code[19];
        regcode_format(db_col_int64(s, 1), code);
        int64_t from = db_col_int64(s, 5), to = db_col_int64(s, 6);
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "region_code", json_string(code));
        json_object_set_new(o, "region_name", json_string(db_col_text(s, 2)));
        json_set_id(o, "user_id", db_col_int64(s, 3));
        json_object_set_new(o, "user_name", json_string(db_col_text(s, 4)));
        json_object_set_new(o, "from", json_integer(from));
        json_object_set_new(o, "to", json_integer(to));
        json_object_set_new(o, "on_duty", json_boolean(from <= now && now < to));
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

err service_duty_candidates(db *d, const struct scope *sc, int64_t community, json_t **items_r)
{
    if (community <= 0 || regcode_level(community) != LEVEL_COMMUNITY || !scope_has(sc, community))
        return err_set(E_INPUT, "invalid_region", "region", "请选择辖区内的社区");
    /* the community and its four ancestors (street, district, city, province) */
    int64_t up[5] = {community, 0, 0, 0, 0};
    for (int i = 1; i < 5; i++)
        up[i] = regcode_parent(up[i - 1]);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT u.id, u.display_name, COALESCE(g.name, '') FROM users u LEFT JOIN "
                       "regions g ON g.code = u.region_code WHERE u.kind = 'staff' AND u.disabled "
                       "= 0 AND u.region_code IN (?, ?, ?, ?, ?) ORDER BY u.region_code DESC, "
                       "u.display_name, u.id LIMIT 500",
                       &s);
    if (e)
        return e;
    for (int i = 0; i < 5; i++)
        db_bind_int64(s, i + 1, up[i]);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
        json_object_set_new(o, "region_name", json_string(db_col_text(s, 2)));
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

/* The display names of the staff on duty for `community` at `now`,
 * "、"-joined ("" for nobody), from a. */
static err on_duty_names(db *d, arena *a, int64_t community, int64_t now, const char **names_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT DISTINCT u.display_name, u.id FROM service_duty t JOIN users u ON "
                       "u.id = t.user_id WHERE t.region_code = ? AND t.from_at <= ? AND t.to_at "
                       "> ? AND u.disabled = 0 ORDER BY u.id LIMIT 10",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, community);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now);
    const char *names = "";
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *n = db_col_text(s, 0);
        names = *names ? arena_printf(a, "%s、%s", names, n) : arena_strdup(a, n);
    }
    db_done(s);
    if (!e)
        *names_r = names;
    return e;
}

/* ---- emergency call ------------------------------------------------------------ */

/* The columns every read of a call selects; c the call, a its community
 * alert, x its street alert, p the person. */
#define CALL_COLS                                                                                  \
    "c.id, c.created_at, c.place, c.on_duty, c.street_alert_id, c.region_code, "                   \
    "a.acked_at, a.ack_note, COALESCE(ua.display_name, ''), "                                      \
    "COALESCE(x.acked_at, 0), COALESCE(x.ack_note, ''), COALESCE(ux.display_name, ''), "           \
    "p.name_enc, p.address_enc, p.emergency_name_enc, p.emergency_phone_enc, c.person_id"
#define CALL_FROM                                                                                  \
    " FROM emergency_calls c JOIN alerts a ON a.id = c.alert_id LEFT JOIN users ua ON ua.id = "    \
    "a.acked_by LEFT JOIN alerts x ON x.id = c.street_alert_id AND c.street_alert_id <> 0 LEFT "   \
    "JOIN users ux ON ux.id = x.acked_by LEFT JOIN persons p ON p.id = c.person_id"
/* open: neither alert acknowledged */
#define CALL_OPEN "(a.acked_at = 0 AND COALESCE(x.acked_at, 0) = 0)"

enum {
    K_ID,
    K_AT,
    K_PLACE,
    K_ON_DUTY,
    K_STREET,
    K_REGION,
    K_A_AT,
    K_A_NOTE,
    K_A_BY,
    K_X_AT,
    K_X_NOTE,
    K_X_BY,
    K_NAME,
    K_ADDRESS,
    K_CONTACT,
    K_CONTACT_PHONE,
    K_PERSON
};

/* The state and outcome of a call row: the first acknowledgement wins. */
static void call_state_json(db_stmt *s, json_t *o)
{
    int64_t a_at = db_col_int64(s, K_A_AT), x_at = db_col_int64(s, K_X_AT);
    bool use_x = x_at && (!a_at || x_at < a_at);
    int64_t at = use_x ? x_at : a_at;
    json_set_id(o, "id", db_col_int64(s, K_ID));
    json_object_set_new(o, "at", json_integer(db_col_int64(s, K_AT)));
    json_object_set_new(o, "state", json_string(at ? "handled" : "open"));
    json_object_set_new(o, "state_label", json_string(at ? "已处理" : "处理中"));
    json_object_set_new(o, "on_duty", json_string(db_col_text(s, K_ON_DUTY)));
    json_object_set_new(o, "street_notified", json_boolean(db_col_int64(s, K_STREET) != 0));
    json_object_set_new(o, "handled_at", at ? json_integer(at) : json_null());
    json_object_set_new(o, "handled_by_name",
                        at ? json_string(db_col_text(s, use_x ? K_X_BY : K_A_BY)) : json_null());
    json_object_set_new(
        o, "note", at ? json_string(db_col_text(s, use_x ? K_X_NOTE : K_A_NOTE)) : json_null());
}

static err sealed_col(arena *a, db_stmt *s, int col, const char *label,
                      char *(*mask)(arena *, const char *), bool reveal, json_t *o, const char *key)
{
    const char *plain = NULL;
    err e = unseal_col(a, s, col, label, &plain);
    if (e)
        return e;
    json_object_set_new(
        o, key, plain && *plain ? json_string(reveal ? plain : mask(a, plain)) : json_null());
    return E_OK;
}

/* A call row as staff read it: the state, where, whom to call. */
static err call_staff_json(arena *a, db_stmt *s, bool reveal, json_t **o_r)
{
    json_t *o = json_object();
    call_state_json(s, o);
    char code[19];
    regcode_format(db_col_int64(s, K_REGION), code);
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "place", json_string(db_col_text(s, K_PLACE)));
    json_set_id(o, "person_id", db_col_int64(s, K_PERSON));
    err e;
    if ((e = sealed_col(a, s, K_NAME, "persons.name", mask_name, reveal, o, "person_name")) ||
        (e = sealed_col(a, s, K_ADDRESS, "persons.address", mask_address, reveal, o, "address")) ||
        (e = sealed_col(a, s, K_CONTACT, "persons.emergency_name", mask_name, reveal, o,
                        "emergency_contact_name")) ||
        (e = sealed_col(a, s, K_CONTACT_PHONE, "persons.emergency_phone", mask_phone, reveal, o,
                        "emergency_contact_phone"))) {
        json_decref(o);
        return e;
    }
    *o_r = o;
    return E_OK;
}

/* The open call of person_id, 0 when none. */
static err open_call(db *d, int64_t person_id, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.id" CALL_FROM " WHERE c.person_id = ? AND " CALL_OPEN
                       " ORDER BY c.id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    *id_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* Raise the call's alert on region `code`; the detail carries only masked
 * personal data (every alert reader in scope sees it). */
static err raise(db *d, arena *a, const struct person *p, int64_t code, int64_t call_id,
                 const char *place, const char *on_duty, bool street, int64_t now, int64_t *alert_r)
{
    json_t *det = json_object();
    json_set_id(det, "call_id", call_id);
    json_object_set_new(det, "place", json_string(place));
    json_object_set_new(det, "address", json_string(mask_address(a, p->address ? p->address : "")));
    json_object_set_new(
        det, "emergency_contact_name",
        json_string(mask_name(a, p->emergency_contact_name ? p->emergency_contact_name : "")));
    json_object_set_new(
        det, "emergency_contact_phone",
        json_string(mask_phone(a, p->emergency_contact_phone ? p->emergency_contact_phone : "")));
    json_object_set_new(det, "on_duty", json_string(on_duty));
    json_object_set_new(det, "street", json_boolean(street));
    char *detail = json_dumps(det, JSON_COMPACT);
    json_decref(det);
    if (!detail)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    const char *who = mask_name(a, p->name ? p->name : "");
    const char *msg =
        street ? arena_printf(a, "紧急呼叫：%s（%s），社区当前无人值班，请街道协调处置", who, place)
        : *on_duty
            ? arena_printf(a, "紧急呼叫：%s（%s），值班人员：%s", who, place, on_duty)
            : arena_printf(a, "紧急呼叫：%s（%s），当前无人值班，已同时通知街道", who, place);
    /* the message is capped; place names can be long */
    if (utf8_len(msg) > ALERT_MESSAGE_MAX)
        msg = arena_printf(a, "紧急呼叫：%s，请立即处置", who);
    struct alert_new an = {.kind = ALERT_EMERGENCY_CALL,
                           .level = ALERT_CRITICAL,
                           .region_code = code,
                           .person_id = p->id,
                           .message = msg,
                           .detail = detail,
                           .at = now};
    err e = alert_raise(d, &an, alert_r);
    free(detail);
    return e;
}

err service_emergency_call(db *d, arena *a, const struct principal *who, int64_t now, int64_t *id_r,
                           bool *created_r)
{
    struct person p;
    err e = person_self_find(d, a, who, &p);
    if (e)
        return e;
    struct scope all = scope_of(regcode_at_most(p.region_code, LEVEL_PROVINCE));
    if ((e = db_begin(d)))
        return e;
    int64_t region = 0, id = 0;
    /* the person's row lock first: two presses at once make one call */
    if ((e = person_lock(d, &all, p.id, &region)) || (e = open_call(d, p.id, &id)))
        goto out;
    if (id) {
        *created_r = false;
        goto out;
    }
    int64_t community = regcode_at_most(region, LEVEL_COMMUNITY);
    int64_t street = regcode_level(community) == LEVEL_COMMUNITY ? regcode_parent(community) : 0;
    const char *place = "", *on_duty = "";
    if ((e = region_path(d, region, LEVEL_COMMUNITY, a, &place)) ||
        (e = on_duty_names(d, a, community, now, &on_duty)))
        goto out;
    id = id_new();
    int64_t alert_id = 0, street_alert = 0;
    if ((e = raise(d, a, &p, community, id, place, on_duty, false, now, &alert_id)))
        goto out;
    /* nobody on duty: the street's staff are alerted too */
    if (!*on_duty && street > 0 &&
        (e = raise(d, a, &p, street, id, place, on_duty, true, now, &street_alert)))
        goto out;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO emergency_calls (id, person_id, user_id, region_code, "
                        "community_code, place, alert_id, street_alert_id, on_duty, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto out;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, p.id);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, region);
    db_bind_int64(s, 5, community);
    db_bind_text(s, 6, place);
    db_bind_int64(s, 7, alert_id);
    db_bind_int64(s, 8, street_alert);
    db_bind_text(s, 9, on_duty);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        goto out;
    *created_r = true;
out:
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *id_r = id;
    return E_OK;
}

err service_emergency_mine(db *d, const struct principal *who, json_t **item_r)
{
    *item_r = NULL;
    if (!who->person_id)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " CALL_COLS CALL_FROM
                       " WHERE c.person_id = ? AND c.user_id = ? ORDER BY c.id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, who->person_id);
    db_bind_int64(s, 2, who->user_id);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        call_state_json(s, o);
        *item_r = o;
    }
    db_done(s);
    return e;
}

err service_emergency_list(db *d, arena *a, const struct scope *sc,
                           const struct emergency_filter *f, bool reveal, json_t **items_r,
                           int64_t *total_r)
{
    /* the state filter adds its own fragment (open, handled or either);
     * the queries are large: arena, not stack */
    struct query *w = arena_alloc(a, sizeof *w), *q = arena_alloc(a, sizeof *q);
    *w = (struct query)QUERY_INIT;
    query_sql(w, CALL_FROM " WHERE c.region_code >= ? AND c.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->state == 0)
        query_sql(w, " AND " CALL_OPEN);
    else if (f->state == 1)
        query_sql(w, " AND NOT " CALL_OPEN);
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    int64_t total = 0;
    err e = query_count(d, q, &total);
    if (e)
        return e;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT " CALL_COLS);
    query_append(q, w);
    query_sql(q, " ORDER BY c.id DESC LIMIT ? OFFSET ?");
    query_int(q, f->page_size);
    query_int(q, paging_offset(f->page, f->page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    bool row;
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        json_t *o;
        if ((e = call_staff_json(a, s, reveal, &o)))
            break;
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    if (total_r)
        *total_r = total;
    return E_OK;
}

err service_emergency_get(db *d, arena *a, const struct scope *sc, int64_t id, bool reveal,
                          json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " CALL_COLS CALL_FROM
                       " WHERE c.id = ? AND c.region_code >= ? AND c.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? call_staff_json(a, s, reveal, item_r)
                : err_set(E_NOT_FOUND, "not_found", NULL, "紧急呼叫不存在");
    db_done(s);
    return e;
}

err service_emergency_handle(db *d, arena *a, const struct scope *sc, int64_t id, int64_t user_id,
                             const char *note)
{
    (void)a;
    if (!note || utf8_len(note) < 1 || utf8_len(note) > ALERT_NOTE_MAX)
        return err_set(E_INPUT, "invalid_note", "note", "请填写处置结果（1-200字）");
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    int64_t alert_id = 0, street_alert = 0, street_acked = 0, a_acked = 0, community = 0;
    bool row = false;
    if (!(e = db_prepare(d,
                         "SELECT c.alert_id, c.street_alert_id, a.acked_at, COALESCE(x.acked_at, "
                         "0), c.community_code" CALL_FROM
                         " WHERE c.id = ? AND c.region_code >= ? AND c.region_code < ?",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
        if (!(e = db_row(s, &row)) && row) {
            alert_id = db_col_int64(s, 0);
            street_alert = db_col_int64(s, 1);
            a_acked = db_col_int64(s, 2);
            street_acked = db_col_int64(s, 3);
            community = db_col_int64(s, 4);
        }
        db_done(s);
    }
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "紧急呼叫不存在");
    else if (!e && (a_acked || street_acked))
        e = err_set(E_CONFLICT, "already_handled", NULL, "该紧急呼叫已处置");
    /* the call is in the caller's scope, so is the community's alert; the
     * street's (when one was raised) is closed by the same hand: nothing is
     * left for the street to do */
    struct scope cs = scope_of(community);
    if (!e)
        e = alert_ack(d, &cs, alert_id, user_id, note, NULL);
    if (!e && street_alert) {
        struct scope ss = scope_of(regcode_parent(community));
        e = alert_ack(d, &ss, street_alert, user_id, note, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

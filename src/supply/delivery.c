/*
 * Deliveries seen from outside a request (supply/supply.h "deliveries from
 * outside a request"; docs/supplies.md): the supplier's own electronic
 * orders, which its bound enterprise account accepts (接单) and ships, and
 * the deliveries to a requester's regions, which community staff sign on
 * their phone.
 *
 * Both lists read the same columns under a different WHERE: the supplier's
 * by its enterprise id (the binding is the licence, wherever the requester
 * is), the requester's by the request's region inside the scope. Neither
 * holds personal data (the driver's sealed phone is not read here).
 */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "supply/supply_private.h"

#define DAY_MS         (24LL * 3600 * 1000)
#define ACCEPT_REFUSAL "只有待发货且尚未接单的订单可以接单"

/* The columns of a list item, from v (supply_deliveries), q (the request),
 * g (its region), w / en (the warehouse or supplier). */
#define LIST_COLS                                                                                  \
    "v.id, v.request_id, v.source, COALESCE(w.name, en.name, ''), v.state, v.carrier, "            \
    "v.vehicle, v.shortfall, v.created_at, v.accepted_at, v.shipped_at, v.arrived_at, "            \
    "v.signed_at, q.region_code, COALESCE(g.name, ''), q.site_name, q.urgency, q.needed_by "       \
    "FROM supply_deliveries v JOIN supply_requests q ON q.id = v.request_id "                      \
    "LEFT JOIN regions g ON g.code = q.region_code "                                               \
    "LEFT JOIN supply_warehouses w ON w.id = v.warehouse_id "                                      \
    "LEFT JOIN enterprises en ON en.id = v.enterprise_id "

/* The two lists' filters: the owner first, then the recent-signed bound. */
#define WHERE_ORDERS   "WHERE v.source = 'order' AND v.enterprise_id = ? "
#define WHERE_TO       "WHERE v.region_code >= ? AND v.region_code < ? "
#define WHERE_UNSIGNED "AND (v.state <> 'signed' OR v.signed_at >= ?) "

static json_t *item_json(db_stmt *s)
{
    json_t *o = json_object();
    const char *source = db_col_text(s, 2), *state = db_col_text(s, 4);
    const char *urgency = db_col_text(s, 16);
    json_set_id(o, "id", db_col_int64(s, 0));
    json_set_id(o, "request_id", db_col_int64(s, 1));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "source_label",
                        json_string(!strcmp(source, "order") ? "电子订货" : "仓库调拨"));
    json_object_set_new(o, "source_name", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label_of(&supply_delivery_state_vocab, state)));
    json_object_set_new(o, "carrier", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "vehicle", json_string(db_col_text(s, 6)));
    json_object_set_new(o, "shortfall", json_integer(db_col_int64(s, 7)));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 8)));
    json_object_set_new(o, "accepted", json_boolean(db_col_int64(s, 9) != 0));
    json_object_set_new(o, "accepted_at", supply_time_json(db_col_int64(s, 9)));
    json_object_set_new(o, "shipped_at", supply_time_json(db_col_int64(s, 10)));
    json_object_set_new(o, "arrived_at", supply_time_json(db_col_int64(s, 11)));
    json_object_set_new(o, "signed_at", supply_time_json(db_col_int64(s, 12)));
    json_set_region(o, db_col_int64(s, 13), db_col_text(s, 14));
    json_object_set_new(o, "site_name", json_string(db_col_text(s, 15)));
    json_object_set_new(o, "urgency", json_string(urgency));
    json_object_set_new(o, "urgency_label",
                        json_string(vocab_label_of(&supply_urgency_vocab, urgency)));
    json_object_set_new(o, "needed_by", json_integer(db_col_int64(s, 17)));
    json_object_set_new(o, "lines", json_array());
    return o;
}

/* Bind a list's filter from parameter 1: the owner (enterprise, or the
 * scope's two bounds), then the oldest signing still listed. */
static void bind_filter(db_stmt *s, int64_t enterprise_id, const struct scope *sc)
{
    int i = 1;
    if (sc) {
        db_bind_int64(s, i++, sc->lo);
        db_bind_int64(s, i++, sc->hi);
    } else {
        db_bind_int64(s, i++, enterprise_id);
    }
    db_bind_int64(s, i, now_ms() - SUPPLY_RECENT_DAYS * DAY_MS);
}

/* The list under `where` (WHERE_ORDERS or WHERE_TO, then WHERE_UNSIGNED),
 * with each delivery's lines read under the same filter. */
static err list(db *d, const char *where, int64_t enterprise_id, const struct scope *sc,
                json_t **items_r)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " LIST_COLS "%s" WHERE_UNSIGNED
             "ORDER BY v.created_at DESC, v.id DESC LIMIT %d",
             where, SUPPLY_LIST_MAX);
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    bind_filter(s, enterprise_id, sc);
    json_t *items = json_array(), *by_id = json_object();
    bool has = false;
    while (!(e = db_row(s, &has)) && has) {
        json_t *o = item_json(s);
        json_array_append_new(items, o);
        json_object_set(by_id, json_string_value(json_object_get(o, "id")), o);
    }
    db_done(s);
    snprintf(sql, sizeof sql,
             "SELECT dl.delivery_id, dl.line_id, p.name, p.spec, p.unit, dl.quantity, dl.received "
             "FROM supply_delivery_lines dl JOIN supply_deliveries v ON v.id = dl.delivery_id "
             "JOIN supply_products p ON p.id = dl.product_id %s" WHERE_UNSIGNED
             "ORDER BY dl.delivery_id, dl.line_id",
             where);
    if (!e && !(e = db_prepare(d, sql, &s))) {
        bind_filter(s, enterprise_id, sc);
        while (!(e = db_row(s, &has)) && has) {
            char key[24];
            snprintf(key, sizeof key, "%lld", (long long)db_col_int64(s, 0));
            json_t *o = json_object_get(by_id, key);
            if (!o) /* beyond SUPPLY_LIST_MAX */
                continue;
            json_t *l = json_object();
            json_set_id(l, "line_id", db_col_int64(s, 1));
            json_object_set_new(l, "product_name", json_string(db_col_text(s, 2)));
            json_object_set_new(l, "spec", json_string(db_col_text(s, 3)));
            json_object_set_new(l, "unit", json_string(db_col_text(s, 4)));
            json_object_set_new(l, "quantity", json_integer(db_col_int64(s, 5)));
            json_object_set_new(l, "received", json_integer(db_col_int64(s, 6)));
            json_array_append_new(json_object_get(o, "lines"), l);
        }
        db_done(s);
    }
    json_decref(by_id);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err supply_orders(db *d, int64_t enterprise_id, json_t **items_r)
{
    return list(d, WHERE_ORDERS, enterprise_id, NULL, items_r);
}

err supply_deliveries_to(db *d, const struct scope *sc, json_t **items_r)
{
    return list(d, WHERE_TO, 0, sc, items_r);
}

/* Order delivery id placed with enterprise_id: its request, state and
 * acceptance time; E_NOT_FOUND for any other (or enterprise_id 0). */
static err order_find(db *d, int64_t enterprise_id, int64_t id, int64_t *request_r,
                      char state_r[16], int64_t *accepted_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT request_id, state, accepted_at FROM supply_deliveries "
                       "WHERE id = ? AND source = 'order' AND enterprise_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, enterprise_id);
    bool found = false;
    if (!(e = db_row(s, &found)) && found) {
        *request_r = db_col_int64(s, 0);
        snprintf(state_r, 16, "%s", db_col_text(s, 1));
        *accepted_r = db_col_int64(s, 2);
    }
    db_done(s);
    if (!e && (!found || !enterprise_id))
        e = err_set(E_NOT_FOUND, "not_found", "id", "订单不存在");
    return e;
}

err supply_order_accept(db *d, int64_t enterprise_id, int64_t id, int64_t user_id,
                        int64_t *request_id_r)
{
    int64_t request_id = 0, accepted = 0;
    char cur[16] = "";
    err e = order_find(d, enterprise_id, id, &request_id, cur, &accepted);
    if (e)
        return e;
    if (strcmp(cur, "pending") || accepted)
        return err_set(E_CONFLICT, "invalid_transition", "state", ACCEPT_REFUSAL);
    /* conditional: of two accepts (or an accept and the district's ship)
     * racing, the later one changes nothing and is refused */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE supply_deliveries SET accepted_at = ?, accepted_by = ? "
                        "WHERE id = ? AND state = 'pending' AND accepted_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "invalid_transition", "state", ACCEPT_REFUSAL);
    if ((e = supply_event(d, request_id, id, "accepted", "", user_id)))
        return e;
    *request_id_r = request_id;
    return E_OK;
}

err supply_order_ship(db *d, arena *a, int64_t enterprise_id, int64_t id, const char *carrier,
                      const char *vehicle, const char *driver_phone, int64_t user_id,
                      int64_t *request_id_r)
{
    int64_t request_id = 0, accepted = 0;
    char cur[16] = "";
    err e = order_find(d, enterprise_id, id, &request_id, cur, &accepted);
    if (e)
        return e;
    if (!accepted && !strcmp(cur, "pending"))
        return err_set(E_CONFLICT, "not_accepted", "state", "请先接单再发货");
    if ((e = supply_delivery_step(d, a, id, request_id, cur, "shipping", carrier, vehicle,
                                  driver_phone, user_id)))
        return e;
    *request_id_r = request_id;
    return E_OK;
}

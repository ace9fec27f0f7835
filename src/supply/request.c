/*
 * Requests (需求), their dispatch (调度: allocations from warehouses and
 * electronic orders to suppliers, 电子订货), deliveries and their logistics
 * states, the requester's receipt, each request's chain, and the supply /
 * demand balance (supply.h). Tables: sql/066_supply.sql.
 */
#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "supply/supply_private.h"

/* ---- filing ------------------------------------------------------------------- */

err supply_request_file(db *d, const struct scope *sc, const struct supply_request_in *in,
                        int64_t user_id, int64_t *id_r)
{
    err e = supply_region_check(d, sc, in->region_code, "region_code");
    for (size_t i = 0; !e && i < in->n_lines; i++) {
        char field[48];
        snprintf(field, sizeof field, "lines[%zu].product_id", i);
        e = supply_product_check(d, in->lines[i].product_id, field);
        for (size_t j = 0; !e && j < i; j++)
            if (in->lines[j].product_id == in->lines[i].product_id)
                e = err_set(E_INPUT, "duplicate_product", field, "同一物资只能填写一行");
    }
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO supply_requests (id, region_code, requester, site_name, "
                        "urgency, needed_by, note, state, created_by, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->region_code);
    db_bind_text(s, 3, in->requester);
    db_bind_text(s, 4, in->site_name ? in->site_name : "");
    db_bind_text(s, 5, in->urgency);
    db_bind_int64(s, 6, in->needed_by);
    db_bind_text(s, 7, in->note ? in->note : "");
    db_bind_int64(s, 8, user_id);
    db_bind_int64(s, 9, now);
    db_bind_int64(s, 10, now);
    if ((e = db_run(s, NULL)))
        return e;
    for (size_t i = 0; i < in->n_lines; i++) {
        if ((e = db_prepare(d,
                            "INSERT INTO supply_request_lines (id, request_id, product_id, "
                            "quantity) VALUES (?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, id);
        db_bind_int64(s, 3, in->lines[i].product_id);
        db_bind_int64(s, 4, in->lines[i].quantity);
        if ((e = db_run(s, NULL)))
            return e;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "%zu 种物资", in->n_lines);
    if ((e = supply_event(d, id, 0, "filed", detail, user_id)))
        return e;
    *id_r = id;
    return E_OK;
}

/* ---- reading ------------------------------------------------------------------- */

#define REQUEST_COLS                                                                               \
    "q.id, q.region_code, r.name, q.requester, q.site_name, q.urgency, q.needed_by, q.note, "      \
    "q.state, COALESCE(u.display_name, ''), q.created_at, q.updated_at, "                          \
    "(SELECT COUNT(*) FROM supply_request_lines l WHERE l.request_id = q.id), "                    \
    "(SELECT COALESCE(SUM(l.quantity), 0) FROM supply_request_lines l WHERE l.request_id = "       \
    "q.id), "                                                                                      \
    "(SELECT COALESCE(SUM(l.allocated + l.ordered), 0) FROM supply_request_lines l "               \
    "WHERE l.request_id = q.id), "                                                                 \
    "(SELECT COALESCE(SUM(l.received), 0) FROM supply_request_lines l WHERE l.request_id = q.id) " \
    "FROM supply_requests q JOIN regions r ON r.code = q.region_code "                             \
    "LEFT JOIN users u ON u.id = q.created_by "

static json_t *request_json(db_stmt *s)
{
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_set_region(o, db_col_int64(s, 1), db_col_text(s, 2));
    json_object_set_new(o, "requester", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "requester_label",
                        json_string(vocab_label_of(&supply_requester_vocab, db_col_text(s, 3))));
    json_object_set_new(o, "site_name", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "urgency", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "urgency_label",
                        json_string(vocab_label_of(&supply_urgency_vocab, db_col_text(s, 5))));
    json_object_set_new(o, "needed_by", json_integer(db_col_int64(s, 6)));
    json_object_set_new(o, "note", json_string(db_col_text(s, 7)));
    json_object_set_new(o, "state", json_string(db_col_text(s, 8)));
    json_object_set_new(
        o, "state_label",
        json_string(vocab_label_of(&supply_request_state_vocab, db_col_text(s, 8))));
    json_object_set_new(o, "created_by_name", json_string(db_col_text(s, 9)));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 10)));
    json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 11)));
    json_object_set_new(o, "lines_count", json_integer(db_col_int64(s, 12)));
    json_object_set_new(o, "quantity", json_integer(db_col_int64(s, 13)));
    json_object_set_new(o, "covered", json_integer(db_col_int64(s, 14)));
    json_object_set_new(o, "received", json_integer(db_col_int64(s, 15)));
    return o;
}

err supply_requests(db *d, const struct scope *sc, const char *state, int64_t page, int64_t size,
                    json_t **items_r, int64_t *total_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM supply_requests WHERE region_code >= ? "
                       "AND region_code < ? AND (? = '' OR state = ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, state ? state : "");
    db_bind_text(s, 4, state ? state : "");
    bool has = false;
    int64_t total = 0;
    if (!(e = db_row(s, &has)) && has)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e ||
        (e = db_prepare(d,
                        "SELECT " REQUEST_COLS "WHERE q.region_code >= ? AND q.region_code < ? "
                        "AND (? = '' OR q.state = ?) ORDER BY q.created_at DESC, q.id DESC "
                        "LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, state ? state : "");
    db_bind_text(s, 4, state ? state : "");
    db_bind_int64(s, 5, size);
    db_bind_int64(s, 6, paging_offset(page, size));
    json_t *items = json_array();
    while (!(e = db_row(s, &has)) && has)
        json_array_append_new(items, request_json(s));
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    return E_OK;
}

/* Run `s` (one id bound at 1 by the caller) and append what row_fn makes of
 * each row to `arr`. */
static err rows_into(db_stmt *s, json_t *arr, json_t *(*row_fn)(db_stmt *s, arena *a, err *e_r),
                     arena *a)
{
    bool has = false;
    err e;
    while (!(e = db_row(s, &has)) && has) {
        json_t *o = row_fn(s, a, &e);
        if (!o)
            break;
        json_array_append_new(arr, o);
    }
    db_done(s);
    return e;
}

static json_t *line_json(db_stmt *s, arena *a, err *e_r)
{
    (void)a;
    (void)e_r;
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_set_id(o, "product_id", db_col_int64(s, 1));
    json_object_set_new(o, "product_name", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "spec", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "unit", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "category", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "quantity", json_integer(db_col_int64(s, 6)));
    json_object_set_new(o, "allocated", json_integer(db_col_int64(s, 7)));
    json_object_set_new(o, "ordered", json_integer(db_col_int64(s, 8)));
    json_object_set_new(o, "received", json_integer(db_col_int64(s, 9)));
    json_object_set_new(o, "remaining",
                        json_integer(db_col_int64(s, 6) - db_col_int64(s, 7) - db_col_int64(s, 8)));
    return o;
}

static json_t *delivery_json(db_stmt *s, arena *a, err *e_r)
{
    const char *phone = NULL;
    if ((*e_r = unseal_col(a, s, 8, L_DRIVER_PHONE, &phone)))
        return NULL;
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "source", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "source_label",
                        json_string(!strcmp(db_col_text(s, 1), "order") ? "电子订货" : "仓库调拨"));
    json_object_set_new(o, "source_name", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "state", json_string(db_col_text(s, 3)));
    json_object_set_new(
        o, "state_label",
        json_string(vocab_label_of(&supply_delivery_state_vocab, db_col_text(s, 3))));
    json_object_set_new(o, "carrier", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "vehicle", json_string(db_col_text(s, 5)));
    json_object_set_new(o, "shortfall", json_integer(db_col_int64(s, 6)));
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 7)));
    json_object_set_new(o, "driver_phone", phone ? json_string(mask_phone(a, phone)) : json_null());
    json_object_set_new(o, "shipped_at", supply_time_json(db_col_int64(s, 9)));
    json_object_set_new(o, "arrived_at", supply_time_json(db_col_int64(s, 10)));
    json_object_set_new(o, "signed_at", supply_time_json(db_col_int64(s, 11)));
    json_object_set_new(o, "lines", json_array());
    return o;
}

static json_t *event_json(db_stmt *s, arena *a, err *e_r)
{
    (void)a;
    (void)e_r;
    static const struct {
        const char *action, *label;
    } labels[] = {{"filed", "提交需求"}, {"allocated", "仓库调拨"}, {"ordered", "电子订货"},
                  {"shipping", "发货"},  {"arrived", "送达"},       {"signed", "签收"},
                  {"cancelled", "取消"}, {"accepted", "供应商接单"}};
    const char *action = db_col_text(s, 1), *label = action;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (!strcmp(labels[i].action, action))
            label = labels[i].label;
    json_t *o = json_object();
    json_set_id_or_null(o, "delivery_id", db_col_int64(s, 0));
    json_object_set_new(o, "action", json_string(action));
    json_object_set_new(o, "action_label", json_string(label));
    json_object_set_new(o, "detail", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "user_name", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "at", json_integer(db_col_int64(s, 4)));
    return o;
}

err supply_request_get(db *d, arena *a, const struct scope *sc, int64_t id, json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " REQUEST_COLS "WHERE q.id = ? AND q.region_code >= ? AND q.region_code < ?",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    json_t *o = NULL;
    if (!(e = db_row(s, &found)) && found)
        o = request_json(s);
    db_done(s);
    if (e)
        return e;
    if (!found)
        return err_set(E_NOT_FOUND, "not_found", "id", "物资需求不存在");
    json_t *lines = json_array(), *deliveries = json_array(), *chain = json_array();
    json_object_set_new(o, "lines", lines);
    json_object_set_new(o, "deliveries", deliveries);
    json_object_set_new(o, "chain", chain);
    if (!(e = db_prepare(
              d,
              "SELECT l.id, l.product_id, p.name, p.spec, p.unit, p.category, "
              "l.quantity, l.allocated, l.ordered, l.received FROM supply_request_lines l "
              "JOIN supply_products p ON p.id = l.product_id WHERE l.request_id = ? "
              "ORDER BY l.id",
              &s))) {
        db_bind_int64(s, 1, id);
        e = rows_into(s, lines, line_json, a);
    }
    if (!e && !(e = db_prepare(d,
                               "SELECT v.id, v.source, COALESCE(w.name, en.name, ''), v.state, "
                               "v.carrier, v.vehicle, v.shortfall, v.created_at, "
                               "v.driver_phone_enc, v.shipped_at, v.arrived_at, v.signed_at "
                               "FROM supply_deliveries v "
                               "LEFT JOIN supply_warehouses w ON w.id = v.warehouse_id "
                               "LEFT JOIN enterprises en ON en.id = v.enterprise_id "
                               "WHERE v.request_id = ? ORDER BY v.created_at, v.id",
                               &s))) {
        db_bind_int64(s, 1, id);
        e = rows_into(s, deliveries, delivery_json, a);
    }
    if (!e && !(e = db_prepare(d,
                               "SELECT dl.delivery_id, dl.line_id, p.name, p.unit, dl.quantity, "
                               "dl.received FROM supply_delivery_lines dl "
                               "JOIN supply_deliveries v ON v.id = dl.delivery_id "
                               "JOIN supply_products p ON p.id = dl.product_id "
                               "WHERE v.request_id = ? ORDER BY dl.delivery_id, dl.line_id",
                               &s))) {
        db_bind_int64(s, 1, id);
        bool has = false;
        while (!(e = db_row(s, &has)) && has) {
            size_t i;
            json_t *v;
            json_array_foreach(deliveries, i, v)
            {
                if (id_parse(json_string_value(json_object_get(v, "id"))) != db_col_int64(s, 0))
                    continue;
                json_t *l = json_object();
                json_set_id(l, "line_id", db_col_int64(s, 1));
                json_object_set_new(l, "product_name", json_string(db_col_text(s, 2)));
                json_object_set_new(l, "unit", json_string(db_col_text(s, 3)));
                json_object_set_new(l, "quantity", json_integer(db_col_int64(s, 4)));
                json_object_set_new(l, "received", json_integer(db_col_int64(s, 5)));
                json_array_append_new(json_object_get(v, "lines"), l);
            }
        }
        db_done(s);
    }
    if (!e && !(e = db_prepare(d,
                               "SELECT ev.delivery_id, ev.action, ev.detail, "
                               "COALESCE(u.display_name, ''), ev.at FROM supply_events ev "
                               "LEFT JOIN users u ON u.id = ev.user_id WHERE ev.request_id = ? "
                               "ORDER BY ev.at, ev.id",
                               &s))) {
        db_bind_int64(s, 1, id);
        e = rows_into(s, chain, event_json, a);
    }
    if (e) {
        json_decref(o);
        return e;
    }
    *item_r = o;
    return E_OK;
}

/* ---- dispatch ------------------------------------------------------------------- */

struct line {
    int64_t id, product_id, quantity, allocated, ordered, adding;
};

/* The request's region and state, inside sc: E_NOT_FOUND outside. */
static err request_find(db *d, const struct scope *sc, int64_t id, int64_t *region_r,
                        char state_r[16])
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, state FROM supply_requests WHERE id = ? "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    if (!(e = db_row(s, &found)) && found) {
        *region_r = db_col_int64(s, 0);
        snprintf(state_r, 16, "%s", db_col_text(s, 1));
    }
    db_done(s);
    if (!e && !found)
        e = err_set(E_NOT_FOUND, "not_found", "id", "物资需求不存在");
    return e;
}

static err lines_load(db *d, arena *a, int64_t id, struct line **lines_r, size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, product_id, quantity, allocated, ordered FROM "
                       "supply_request_lines WHERE request_id = ? ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    struct line *lines = arena_zalloc(a, SUPPLY_LINES_MAX * sizeof *lines);
    size_t n = 0;
    bool has = false;
    while (n < SUPPLY_LINES_MAX && !(e = db_row(s, &has)) && has) {
        lines[n].id = db_col_int64(s, 0);
        lines[n].product_id = db_col_int64(s, 1);
        lines[n].quantity = db_col_int64(s, 2);
        lines[n].allocated = db_col_int64(s, 3);
        lines[n].ordered = db_col_int64(s, 4);
        n++;
    }
    db_done(s);
    *lines_r = lines;
    *n_r = n;
    return e;
}

static struct line *line_of(struct line *lines, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (lines[i].id == id)
            return &lines[i];
    return NULL;
}

/* Check allocations or orders `v` against the lines (scope, line, quantity
 * left); `orders` says which. Adds each to its line's `adding`. */
static err check_allocs(db *d, const struct scope *sc, struct line *lines, size_t n_lines,
                        const struct supply_alloc_in *v, size_t n, bool orders)
{
    const char *what = orders ? "orders" : "allocations";
    err e = E_OK;
    for (size_t i = 0; !e && i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "%s[%zu].line_id", what, i);
        struct line *l = line_of(lines, n_lines, v[i].line_id);
        if (!l)
            return err_set(E_INPUT, "invalid_line", field, "需求中没有这一行");
        for (size_t j = 0; j < i; j++)
            if (v[j].line_id == v[i].line_id && (orders ? v[j].enterprise_id == v[i].enterprise_id
                                                        : v[j].warehouse_id == v[i].warehouse_id))
                return err_set(E_INPUT, "duplicate_line", field, "同一来源的同一行只能填写一次");
        if (orders) {
            snprintf(field, sizeof field, "%s[%zu].enterprise_id", what, i);
            e = supply_enterprise_check(d, sc, v[i].enterprise_id, field);
        } else {
            snprintf(field, sizeof field, "%s[%zu].warehouse_id", what, i);
            e = supply_warehouse_check(d, sc, v[i].warehouse_id, field, NULL);
        }
        l->adding += v[i].quantity;
        if (!e && l->allocated + l->ordered + l->adding > l->quantity) {
            snprintf(field, sizeof field, "%s[%zu].quantity", what, i);
            e = err_set(E_INPUT, "over_quantity", field, "调度数量超过需求剩余数量");
        }
    }
    return e;
}

/* One delivery per distinct warehouse (or supplier) of v, its lines, the
 * lines' allocated (or ordered) figures, and the chain's event. */
static err make_deliveries(db *d, arena *a, int64_t request_id, int64_t region,
                           const struct supply_alloc_in *v, size_t n, bool orders,
                           const struct supply_dispatch_in *in, int64_t user_id, struct line *lines,
                           size_t n_lines, int64_t *made_r)
{
    err e = E_OK;
    for (size_t i = 0; !e && i < n; i++) {
        int64_t src = orders ? v[i].enterprise_id : v[i].warehouse_id;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= (orders ? v[j].enterprise_id : v[j].warehouse_id) == src;
        if (seen)
            continue;
        int64_t did = id_new(), units = 0;
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO supply_deliveries (id, request_id, region_code, source, "
                            "warehouse_id, enterprise_id, state, carrier, vehicle, "
                            "driver_phone_enc, created_by, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, did);
        db_bind_int64(s, 2, request_id);
        db_bind_int64(s, 3, region);
        db_bind_text(s, 4, orders ? "order" : "warehouse");
        db_bind_int64(s, 5, orders ? 0 : src);
        db_bind_int64(s, 6, orders ? src : 0);
        db_bind_text(s, 7, in->carrier ? in->carrier : "");
        db_bind_text(s, 8, in->vehicle ? in->vehicle : "");
        if ((e = seal_bind(a, s, 9, L_DRIVER_PHONE, in->driver_phone))) {
            db_done(s);
            return e;
        }
        db_bind_int64(s, 10, user_id);
        db_bind_int64(s, 11, now_ms());
        if ((e = db_run(s, NULL)))
            return e;
        for (size_t j = i; !e && j < n; j++) {
            if ((orders ? v[j].enterprise_id : v[j].warehouse_id) != src)
                continue;
            struct line *l = line_of(lines, n_lines, v[j].line_id);
            if ((e = db_prepare(d,
                                "INSERT INTO supply_delivery_lines (delivery_id, line_id, "
                                "product_id, quantity) VALUES (?, ?, ?, ?)",
                                &s)))
                return e;
            db_bind_int64(s, 1, did);
            db_bind_int64(s, 2, l->id);
            db_bind_int64(s, 3, l->product_id);
            db_bind_int64(s, 4, v[j].quantity);
            if ((e = db_run(s, NULL)))
                return e;
            if ((e = db_prepare(d,
                                orders ? "UPDATE supply_request_lines SET ordered = ordered + ? "
                                         "WHERE id = ?"
                                       : "UPDATE supply_request_lines SET allocated = allocated + "
                                         "? WHERE id = ?",
                                &s)))
                return e;
            db_bind_int64(s, 1, v[j].quantity);
            db_bind_int64(s, 2, l->id);
            e = db_run(s, NULL);
            units += v[j].quantity;
        }
        const char *name = "";
        if (!e && !(e = db_prepare(d,
                                   orders ? "SELECT name FROM enterprises WHERE id = ?"
                                          : "SELECT name FROM supply_warehouses WHERE id = ?",
                                   &s))) {
            db_bind_int64(s, 1, src);
            bool has = false;
            if (!(e = db_row(s, &has)) && has)
                name = arena_strdup(a, db_col_text(s, 0));
            db_done(s);
        }
        if (!e)
            e = supply_event(d, request_id, did, orders ? "ordered" : "allocated",
                             arena_printf(a, "%s：%lld 件", name, (long long)units), user_id);
        /* the supplier is told (its bound accounts' stream and list), and
         * the region's staff see the order placed (docs/supplies.md
         * "Telling the supplier") */
        if (!e && orders) {
            char detail[96];
            snprintf(detail, sizeof detail, "{\"delivery_id\":\"%lld\",\"request_id\":\"%lld\"}",
                     (long long)did, (long long)request_id);
            struct alert_new al = {.kind = ALERT_SUPPLY_ORDER,
                                   .level = ALERT_INFO,
                                   .region_code = region,
                                   .message =
                                       arena_printf(a, "向%s下达电子订货：%lld 件，请及时接单",
                                                    name, (long long)units),
                                   .detail = detail,
                                   .enterprise_id = src};
            e = alert_raise(d, &al, NULL);
        }
        ++*made_r;
    }
    return e;
}

err supply_dispatch(db *d, arena *a, const struct scope *sc, int64_t id,
                    const struct supply_dispatch_in *in, int64_t user_id, int64_t *deliveries_r)
{
    int64_t region = 0;
    char state[16] = "";
    struct line *lines = NULL;
    size_t n_lines = 0;
    err e = request_find(d, sc, id, &region, state);
    if (!e && strcmp(state, "open"))
        e = err_set(E_CONFLICT, "invalid_transition", "state", "该需求已调度或已结束");
    if (!e && in->n_allocs + in->n_orders == 0)
        e = err_set(E_INPUT, "required", "allocations", "请至少填写一项调拨或订货");
    if (e || (e = lines_load(d, a, id, &lines, &n_lines)) ||
        (e = check_allocs(d, sc, lines, n_lines, in->allocs, in->n_allocs, false)) ||
        (e = check_allocs(d, sc, lines, n_lines, in->orders, in->n_orders, true)))
        return e;
    /* stock leaves the warehouses first: a short one stops everything */
    for (size_t i = 0; i < in->n_allocs; i++) {
        char field[48];
        snprintf(field, sizeof field, "allocations[%zu].quantity", i);
        struct line *l = line_of(lines, n_lines, in->allocs[i].line_id);
        if ((e = supply_stock_take(d, in->allocs[i].warehouse_id, l->product_id,
                                   in->allocs[i].quantity, field)))
            return e;
    }
    int64_t made = 0;
    if ((e = make_deliveries(d, a, id, region, in->allocs, in->n_allocs, false, in, user_id, lines,
                             n_lines, &made)) ||
        (e = make_deliveries(d, a, id, region, in->orders, in->n_orders, true, in, user_id, lines,
                             n_lines, &made)))
        return e;
    bool covered = true;
    for (size_t i = 0; i < n_lines; i++)
        covered &= lines[i].allocated + lines[i].ordered + lines[i].adding >= lines[i].quantity;
    db_stmt *s;
    /* still open: a cancellation that landed meanwhile wins (supply_request_cancel) */
    if ((e = db_prepare(d,
                        "UPDATE supply_requests SET state = ?, updated_at = ? WHERE id = ?"
                        " AND state = 'open'",
                        &s)))
        return e;
    db_bind_text(s, 1, covered ? "dispatched" : "open");
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (changed != 1)
        return err_set(E_CONFLICT, "invalid_transition", "state", "该需求已调度或已结束");
    *deliveries_r = made;
    return E_OK;
}

err supply_request_cancel(db *d, const struct scope *sc, int64_t id, const char *reason,
                          int64_t user_id)
{
    int64_t region = 0;
    char state[16] = "";
    err e = request_find(d, sc, id, &region, state);
    if (e)
        return e;
    if (strcmp(state, "open"))
        return err_set(E_CONFLICT, "invalid_transition", "state", "该需求已调度或已结束，不能取消");
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "UPDATE supply_requests SET state = 'cancelled', updated_at = ? WHERE id = ?"
             " AND state = 'open'",
             &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (changed != 1)
        return err_set(E_CONFLICT, "invalid_transition", "state", "该需求已调度或已结束，不能取消");
    /* read after the row is ours: a dispatch committed before is seen */
    if ((e = db_prepare(d,
                        "SELECT COALESCE(SUM(allocated + ordered), 0) FROM supply_request_lines"
                        " WHERE request_id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    bool row = false;
    int64_t covered = 0;
    if (!(e = db_row(s, &row)) && row)
        covered = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (covered > 0)
        return err_set(E_CONFLICT, "invalid_transition", "state",
                       "该需求已部分调度，不能取消；请签收已发出的物资");
    return supply_event(d, id, 0, "cancelled", reason, user_id);
}

/* ---- deliveries ------------------------------------------------------------------- */

/* The delivery's request, region and state, inside sc. */
static err delivery_find(db *d, const struct scope *sc, int64_t id, int64_t *request_r,
                         char state_r[16])
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT request_id, state FROM supply_deliveries WHERE id = ? "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    if (!(e = db_row(s, &found)) && found) {
        *request_r = db_col_int64(s, 0);
        snprintf(state_r, 16, "%s", db_col_text(s, 1));
    }
    db_done(s);
    if (!e && !found)
        e = err_set(E_NOT_FOUND, "not_found", "id", "配送单不存在");
    return e;
}

err supply_delivery_move(db *d, arena *a, const struct scope *sc, int64_t id, const char *state,
                         const char *carrier, const char *vehicle, const char *driver_phone,
                         int64_t user_id, int64_t *request_id_r)
{
    int64_t request_id = 0;
    char cur[16] = "";
    err e = delivery_find(d, sc, id, &request_id, cur);
    if (e)
        return e;
    if ((e = supply_delivery_step(d, a, id, request_id, cur, state, carrier, vehicle, driver_phone,
                                  user_id)))
        return e;
    *request_id_r = request_id;
    return E_OK;
}

err supply_delivery_step(db *d, arena *a, int64_t id, int64_t request_id, const char *cur,
                         const char *state, const char *carrier, const char *vehicle,
                         const char *driver_phone, int64_t user_id)
{
    bool shipping = !strcmp(state, "shipping");
    const char *from = shipping ? "pending" : "shipping";
    if (strcmp(cur, from))
        return err_set(E_CONFLICT, "invalid_transition", "state", "%s",
                       shipping ? "只有待发货的配送单可以发货" : "只有运输中的配送单可以送达");
    /* conditional on the state read: of two movers (the district and the
     * supplier) racing, one moves it and the other is refused */
    db_stmt *s;
    err e =
        db_prepare(d,
                   shipping ? "UPDATE supply_deliveries SET state = 'shipping', shipped_at = ?, "
                              "carrier = CASE WHEN ? = '' THEN carrier ELSE ? END, "
                              "vehicle = CASE WHEN ? = '' THEN vehicle ELSE ? END, "
                              "driver_phone_enc = COALESCE(?, driver_phone_enc) "
                              "WHERE id = ? AND state = 'pending'"
                            : "UPDATE supply_deliveries SET state = 'arrived', arrived_at = ? "
                              "WHERE id = ? AND state = 'shipping'",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now_ms());
    if (shipping) {
        db_bind_text(s, 2, carrier ? carrier : "");
        db_bind_text(s, 3, carrier ? carrier : "");
        db_bind_text(s, 4, vehicle ? vehicle : "");
        db_bind_text(s, 5, vehicle ? vehicle : "");
        if ((e = seal_bind(a, s, 6, L_DRIVER_PHONE, driver_phone))) {
            db_done(s);
            return e;
        }
        db_bind_int64(s, 7, id);
    } else {
        db_bind_int64(s, 2, id);
    }
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "invalid_transition", "state", "%s",
                       shipping ? "只有待发货的配送单可以发货" : "只有运输中的配送单可以送达");
    const char *detail = shipping && carrier && *carrier
                             ? arena_printf(a, "承运：%s %s", carrier, vehicle ? vehicle : "")
                             : "";
    return supply_event(d, request_id, id, state, detail, user_id);
}

err supply_receipt(db *d, const struct scope *sc, int64_t id, const struct supply_receipt_in *in,
                   size_t n, int64_t user_id, int64_t *request_id_r)
{
    int64_t request_id = 0;
    char cur[16] = "";
    err e = delivery_find(d, sc, id, &request_id, cur);
    if (e)
        return e;
    if (strcmp(cur, "shipping") && strcmp(cur, "arrived"))
        return err_set(E_CONFLICT, "invalid_transition", "state",
                       "只有运输中或已送达的配送单可以签收");
    /* the delivery's lines: every one received in full unless given */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT line_id, quantity FROM supply_delivery_lines WHERE "
                        "delivery_id = ? ORDER BY line_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    int64_t ids[SUPPLY_LINES_MAX], sent[SUPPLY_LINES_MAX], got[SUPPLY_LINES_MAX];
    size_t k = 0;
    bool has = false;
    while (k < SUPPLY_LINES_MAX && !(e = db_row(s, &has)) && has) {
        ids[k] = db_col_int64(s, 0);
        sent[k] = got[k] = db_col_int64(s, 1);
        k++;
    }
    db_done(s);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        char field[40];
        size_t j = 0;
        while (j < k && ids[j] != in[i].line_id)
            j++;
        if (j == k) {
            snprintf(field, sizeof field, "lines[%zu].line_id", i);
            return err_set(E_INPUT, "invalid_line", field, "配送单中没有这一行");
        }
        if (in[i].received > sent[j]) {
            snprintf(field, sizeof field, "lines[%zu].received", i);
            return err_set(E_INPUT, "over_quantity", field, "实收数量不能超过发货数量");
        }
        got[j] = in[i].received;
    }
    int64_t shortfall = 0, total = 0, now = now_ms();
    for (size_t j = 0; j < k; j++) {
        shortfall += sent[j] - got[j];
        total += got[j];
        if ((e = db_prepare(d,
                            "UPDATE supply_delivery_lines SET received = ? WHERE delivery_id = ? "
                            "AND line_id = ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, got[j]);
        db_bind_int64(s, 2, id);
        db_bind_int64(s, 3, ids[j]);
        if ((e = db_run(s, NULL)) ||
            (e = db_prepare(
                 d, "UPDATE supply_request_lines SET received = received + ? WHERE id = ?", &s)))
            return e;
        db_bind_int64(s, 1, got[j]);
        db_bind_int64(s, 2, ids[j]);
        if ((e = db_run(s, NULL)))
            return e;
    }
    if ((e = db_prepare(d,
                        "UPDATE supply_deliveries SET state = 'signed', signed_at = ?, "
                        "signed_by = ?, shortfall = ?, arrived_at = CASE WHEN arrived_at = 0 "
                        "THEN ? ELSE arrived_at END WHERE id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, shortfall);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, id);
    if ((e = db_run(s, NULL)))
        return e;
    char detail[96];
    if (shortfall)
        snprintf(detail, sizeof detail, "实收 %lld 件，短缺 %lld 件", (long long)total,
                 (long long)shortfall);
    else
        snprintf(detail, sizeof detail, "实收 %lld 件", (long long)total);
    if ((e = supply_event(d, request_id, id, "signed", detail, user_id)))
        return e;
    /* the request is received when it is dispatched and its last delivery signed */
    if ((e = db_prepare(d,
                        "UPDATE supply_requests SET state = 'received', updated_at = ? "
                        "WHERE id = ? AND state = 'dispatched' AND NOT EXISTS (SELECT 1 FROM "
                        "supply_deliveries v WHERE v.request_id = ? AND v.state <> 'signed')",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, request_id);
    db_bind_int64(s, 3, request_id);
    if ((e = db_run(s, NULL)))
        return e;
    *request_id_r = request_id;
    return E_OK;
}

/* ---- balance ----------------------------------------------------------------------- */

err supply_balance(db *d, const struct scope *sc, json_t **items_r)
{
    enum { STOCK, ON_ORDER, IN_TRANSIT, NEED, DAILY, N_FIG };
    static const char *const sql[N_FIG] = {
        [STOCK] = "SELECT p.category, COALESCE(SUM(t.quantity), 0) FROM supply_stock t "
                  "JOIN supply_warehouses w ON w.id = t.warehouse_id "
                  "JOIN supply_products p ON p.id = t.product_id "
                  "WHERE w.region_code >= ? AND w.region_code < ? GROUP BY p.category",
        [ON_ORDER] = "SELECT p.category, COALESCE(SUM(dl.quantity), 0) FROM supply_delivery_lines "
                     "dl JOIN supply_deliveries v ON v.id = dl.delivery_id "
                     "JOIN supply_products p ON p.id = dl.product_id WHERE v.region_code >= ? "
                     "AND v.region_code < ? AND v.source = 'order' AND v.state <> 'signed' "
                     "GROUP BY p.category",
        [IN_TRANSIT] = "SELECT p.category, COALESCE(SUM(dl.quantity), 0) FROM "
                       "supply_delivery_lines dl JOIN supply_deliveries v ON v.id = "
                       "dl.delivery_id JOIN supply_products p ON p.id = dl.product_id WHERE "
                       "v.region_code >= ? AND v.region_code < ? AND v.source = 'warehouse' "
                       "AND v.state <> 'signed' GROUP BY p.category",
        [NEED] = "SELECT p.category, COALESCE(SUM(l.quantity - l.allocated - l.ordered), 0) "
                 "FROM supply_request_lines l JOIN supply_requests q ON q.id = l.request_id "
                 "JOIN supply_products p ON p.id = l.product_id WHERE q.region_code >= ? "
                 "AND q.region_code < ? AND q.state = 'open' GROUP BY p.category",
        /* the daily need: each site's (region's) latest need report per product */
        [DAILY] = "SELECT p.category, COALESCE(SUM(r.quantity), 0) FROM supply_reports r "
                  "JOIN supply_products p ON p.id = r.product_id WHERE r.kind = 'need' "
                  "AND r.region_code >= ? AND r.region_code < ? AND NOT EXISTS (SELECT 1 "
                  "FROM supply_reports n WHERE n.kind = 'need' AND n.region_code = "
                  "r.region_code AND n.product_id = r.product_id AND (n.reported_at > "
                  "r.reported_at OR (n.reported_at = r.reported_at AND n.id > r.id))) "
                  "GROUP BY p.category",
    };
    int64_t fig[16][N_FIG] = {{0}};
    for (int f = 0; f < N_FIG; f++) {
        db_stmt *s;
        err e = db_prepare(d, sql[f], &s);
        if (e)
            return e;
        db_bind_int64(s, 1, sc->lo);
        db_bind_int64(s, 2, sc->hi);
        bool has = false;
        while (!(e = db_row(s, &has)) && has) {
            int k = vocab_parse(&supply_category_vocab, db_col_text(s, 0));
            if (k > 0 && k < 16)
                fig[k][f] = db_col_int64(s, 1);
        }
        db_done(s);
        if (e)
            return e;
    }
    json_t *items = json_array();
    for (size_t k = 1; k < supply_category_vocab.n && k < 16; k++) {
        json_t *o = json_object();
        json_object_set_new(o, "category", json_string(vocab_name(&supply_category_vocab, k)));
        json_object_set_new(o, "category_name",
                            json_string(vocab_label(&supply_category_vocab, k)));
        json_object_set_new(o, "stock", json_integer(fig[k][STOCK]));
        json_object_set_new(o, "on_order", json_integer(fig[k][ON_ORDER]));
        json_object_set_new(o, "in_transit", json_integer(fig[k][IN_TRANSIT]));
        json_object_set_new(o, "open_need", json_integer(fig[k][NEED]));
        int64_t gap = fig[k][NEED] - fig[k][STOCK] - fig[k][ON_ORDER];
        int64_t daily = fig[k][DAILY], stock = fig[k][STOCK];
        /* days of cover: the warehouses' stock over the daily need, a tenth of a
         * day rounded down; null without a need reported */
        bool cover_short = daily > 0 && stock < daily * SUPPLY_COVER_DAYS;
        json_object_set_new(o, "gap", json_integer(gap > 0 ? gap : 0));
        json_object_set_new(o, "daily_need", json_integer(daily));
        json_object_set_new(o, "days_of_cover",
                            daily > 0 ? json_real((double)(stock * 10 / daily) / 10) : json_null());
        json_object_set_new(o, "cover_short", json_boolean(cover_short));
        json_object_set_new(o, "short", json_boolean(gap > 0 || cover_short));
        json_array_append_new(items, o);
    }
    *items_r = items;
    return E_OK;
}

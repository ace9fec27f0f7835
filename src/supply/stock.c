/*
 * The catalogue (categories and products), warehouses and their stock, the
 * reports (填报) with their history, the shortage alert at a threshold's
 * crossing, and the look-ups the other files of supply/ share
 * (supply_private.h). Tables: sql/066_supply.sql.
 */
#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "supply/supply_private.h"

static const struct vocab_word category_words[] = {
    {NULL, NULL},
    {"protective", "防护用品"},
    {"disinfection", "消杀用品"},
    {"testing", "检测试剂"},
    {"device", "医疗器械"},
    {"medicine", "药品"},
    {"sampling", "采样耗材"},
    {"isolation", "隔离物资"},
    {"living", "生活保障物资"},
    {"other", "其他"},
};
const struct vocab supply_category_vocab = VOCAB("supply_categories", "物资类别", category_words);

static const struct vocab_word requester_words[] = {
    {NULL, NULL},
    {"community", "社区"},
    {"quarantine", "隔离点"},
    {"testing", "核酸检测点"},
};
const struct vocab supply_requester_vocab =
    VOCAB("supply_requesters", "物资需求方", requester_words);

static const struct vocab_word urgency_words[] = {
    {NULL, NULL},
    {"normal", "一般"},
    {"urgent", "紧急"},
    {"critical", "特急"},
};
const struct vocab supply_urgency_vocab = VOCAB("supply_urgencies", "紧急程度", urgency_words);

static const struct vocab_word request_state_words[] = {
    {NULL, NULL},           {"open", "待调度"},      {"dispatched", "已调度"},
    {"received", "已签收"}, {"cancelled", "已取消"},
};
const struct vocab supply_request_state_vocab =
    VOCAB("supply_request_states", "物资需求状态", request_state_words);

static const struct vocab_word delivery_state_words[] = {
    {NULL, NULL},          {"pending", "待发货"}, {"shipping", "运输中"},
    {"arrived", "已送达"}, {"signed", "已签收"},
};
const struct vocab supply_delivery_state_vocab =
    VOCAB("supply_delivery_states", "物流状态", delivery_state_words);

static const struct vocab_word report_kind_words[] = {
    {NULL, NULL},
    {"stock", "库存填报"},
    {"production", "产能填报"},
    {"need", "需求填报"},
};
const struct vocab supply_report_kind_vocab =
    VOCAB("supply_report_kinds", "物资填报类型", report_kind_words);

/* ---- look-ups ----------------------------------------------------------------- */

/* One row exists for `sql` bound to the int64 values v[0..n): *found_r. */
static err exists(db *d, const char *sql, const int64_t *v, int n, bool *found_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, v[i]);
    e = db_row(s, found_r);
    db_done(s);
    return e;
}

err supply_product_check(db *d, int64_t id, const char *field)
{
    bool found = false;
    err e = exists(d, "SELECT 1 FROM supply_products WHERE id = ?", &id, 1, &found);
    if (!e && !found)
        e = err_set(E_INPUT, "invalid_product", field, "物资不存在");
    return e;
}

err supply_region_check(db *d, const struct scope *sc, int64_t code, const char *field)
{
    bool found = false;
    err e = E_OK;
    if (code > 0 && scope_has(sc, code))
        e = exists(d, "SELECT 1 FROM regions WHERE code = ?", &code, 1, &found);
    if (!e && !found)
        e = err_set(E_INPUT, "invalid_region", field, "区划不存在或不在辖区内");
    return e;
}

err supply_warehouse_check(db *d, const struct scope *sc, int64_t id, const char *field,
                           int64_t *region_r)
{
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT region_code FROM supply_warehouses WHERE id = ? AND region_code >= ? "
                   "AND region_code < ?",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found = false;
    if (!(e = db_row(s, &found)) && found && region_r)
        *region_r = db_col_int64(s, 0);
    db_done(s);
    if (!e && !found)
        e = field ? err_set(E_INPUT, "invalid_warehouse", field, "仓库不存在或不在辖区内")
                  : err_set(E_NOT_FOUND, "not_found", "id", "仓库不存在");
    return e;
}

err supply_enterprise_check(db *d, const struct scope *sc, int64_t id, const char *field)
{
    int64_t v[3] = {id, sc->lo, sc->hi};
    bool found = false;
    err e = exists(d,
                   "SELECT 1 FROM enterprises WHERE id = ? AND deleted_at = 0 "
                   "AND region_code >= ? AND region_code < ?",
                   v, 3, &found);
    if (!e && !found)
        e = field ? err_set(E_INPUT, "invalid_enterprise", field, "企业不存在或不在辖区内")
                  : err_set(E_NOT_FOUND, "not_found", "enterprise_id", "企业不存在");
    return e;
}

err supply_event(db *d, int64_t request_id, int64_t delivery_id, const char *action,
                 const char *detail, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO supply_events (id, request_id, delivery_id, action, detail, "
                       "user_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, request_id);
    db_bind_int64(s, 3, delivery_id);
    db_bind_text(s, 4, action);
    db_bind_text(s, 5, detail ? detail : "");
    db_bind_int64(s, 6, user_id);
    db_bind_int64(s, 7, now_ms());
    return db_run(s, NULL);
}

/* ---- stock and the shortage alert ------------------------------------------------ */

/* The alert when warehouse w's stock of product p went from `before` to
 * under its threshold (raised once at the crossing, not again while it
 * stays under). */
static err shortage_check(db *d, int64_t w, int64_t p, int64_t before)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT t.quantity, t.threshold, w.region_code, w.name, p.name, p.unit "
                       "FROM supply_stock t JOIN supply_warehouses w ON w.id = t.warehouse_id "
                       "JOIN supply_products p ON p.id = t.product_id "
                       "WHERE t.warehouse_id = ? AND t.product_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, w);
    db_bind_int64(s, 2, p);
    bool found = false;
    if ((e = db_row(s, &found)) || !found) {
        db_done(s);
        return e;
    }
    int64_t q = db_col_int64(s, 0), t = db_col_int64(s, 1);
    if (t > 0 && q < t && before >= t) {
        char detail[160], msg[ALERT_MESSAGE_MAX * 4];
        snprintf(detail, sizeof detail,
                 "{\"warehouse_id\":%lld,\"product_id\":%lld,\"quantity\":%lld,"
                 "\"threshold\":%lld}",
                 (long long)w, (long long)p, (long long)q, (long long)t);
        snprintf(msg, sizeof msg, "物资库存不足：%.60s %.60s 剩余 %lld%s，低于预警值 %lld",
                 db_col_text(s, 3), db_col_text(s, 4), (long long)q, db_col_text(s, 5),
                 (long long)t);
        struct alert_new a = {.kind = ALERT_SUPPLY_SHORTAGE,
                              .level = q == 0 ? ALERT_CRITICAL : ALERT_WARNING,
                              .region_code = db_col_int64(s, 2),
                              .message = msg,
                              .detail = detail};
        e = alert_raise(d, &a, NULL);
    }
    db_done(s);
    return e;
}

err supply_stock_take(db *d, int64_t warehouse_id, int64_t product_id, int64_t n, const char *field)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE supply_stock SET quantity = quantity - ?, updated_at = ? "
                       "WHERE warehouse_id = ? AND product_id = ? AND quantity >= ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, n);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, warehouse_id);
    db_bind_int64(s, 4, product_id);
    db_bind_int64(s, 5, n);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (changed == 0)
        return err_set(E_CONFLICT, "insufficient_stock", field, "仓库库存不足，未调度");
    /* the quantity before is the one now plus n: read once, in the alert check */
    db_stmt *q;
    if ((e = db_prepare(d,
                        "SELECT quantity FROM supply_stock WHERE warehouse_id = ? "
                        "AND product_id = ?",
                        &q)))
        return e;
    db_bind_int64(q, 1, warehouse_id);
    db_bind_int64(q, 2, product_id);
    bool found = false;
    int64_t now_q = 0;
    if (!(e = db_row(q, &found)) && found)
        now_q = db_col_int64(q, 0);
    db_done(q);
    return e ? e : shortage_check(d, warehouse_id, product_id, now_q + n);
}

err supply_stock_set(db *d, int64_t warehouse_id, int64_t product_id, int64_t quantity,
                     int64_t threshold)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT quantity FROM supply_stock WHERE warehouse_id = ? "
                       "AND product_id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, warehouse_id);
    db_bind_int64(s, 2, product_id);
    bool found = false;
    int64_t before = INT64_MAX; /* a new line: short from the start if under */
    if (!(e = db_row(s, &found)) && found)
        before = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (found)
        e = db_prepare(d,
                       threshold < 0
                           ? "UPDATE supply_stock SET quantity = ?, updated_at = ? "
                             "WHERE warehouse_id = ? AND product_id = ?"
                           : "UPDATE supply_stock SET quantity = ?, updated_at = ?, threshold = ? "
                             "WHERE warehouse_id = ? AND product_id = ?",
                       &s);
    else
        e = db_prepare(d,
                       "INSERT INTO supply_stock (quantity, updated_at, threshold, warehouse_id, "
                       "product_id) VALUES (?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int i = 1;
    db_bind_int64(s, i++, quantity);
    db_bind_int64(s, i++, now_ms());
    if (!found || threshold >= 0)
        db_bind_int64(s, i++, threshold < 0 ? 0 : threshold);
    db_bind_int64(s, i++, warehouse_id);
    db_bind_int64(s, i, product_id);
    if ((e = db_run(s, NULL)))
        return e;
    return shortage_check(d, warehouse_id, product_id, before);
}

/* ---- catalogue ----------------------------------------------------------------- */

err supply_catalogue(db *d, json_t **items_r)
{
    json_t *items = json_array();
    json_t *cats[sizeof category_words / sizeof category_words[0]] = {0};
    for (size_t i = 1; i < supply_category_vocab.n; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "code", json_string(category_words[i].name));
        json_object_set_new(c, "name", json_string(category_words[i].label));
        json_object_set_new(c, "products", json_array());
        cats[i] = c;
        json_array_append_new(items, c);
    }
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, category, name, spec, unit FROM supply_products "
                       "ORDER BY id",
                       &s);
    if (e) {
        json_decref(items);
        return e;
    }
    bool has = false;
    while (!(e = db_row(s, &has)) && has) {
        int k = vocab_parse(&supply_category_vocab, db_col_text(s, 1));
        if (k <= 0)
            continue;
        json_t *p = json_object();
        json_set_id(p, "id", db_col_int64(s, 0));
        json_object_set_new(p, "name", json_string(db_col_text(s, 2)));
        json_object_set_new(p, "spec", json_string(db_col_text(s, 3)));
        json_object_set_new(p, "unit", json_string(db_col_text(s, 4)));
        json_array_append_new(json_object_get(cats[k], "products"), p);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err supply_product_add(db *d, const struct supply_product_in *in, int64_t user_id, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO supply_products (id, category, name, spec, unit, created_by, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->category);
    db_bind_text(s, 3, in->name);
    db_bind_text(s, 4, in->spec ? in->spec : "");
    db_bind_text(s, 5, in->unit);
    db_bind_int64(s, 6, user_id);
    db_bind_int64(s, 7, now_ms());
    if ((e = db_run(s, NULL))) {
        if (e == E_CONFLICT)
            e = err_set(E_CONFLICT, "duplicate", "name", "该类别下已有同名同规格物资");
        return e;
    }
    *id_r = id;
    return E_OK;
}

/* ---- warehouses ------------------------------------------------------------------ */

err supply_warehouse_add(db *d, const struct scope *sc, const struct supply_warehouse_in *in,
                         int64_t user_id, int64_t *id_r)
{
    err e = supply_region_check(d, sc, in->region_code, "region_code");
    if (!e && in->enterprise_id)
        e = supply_enterprise_check(d, sc, in->enterprise_id, "enterprise_id");
    db_stmt *s;
    if (e || (e = db_prepare(d,
                             "INSERT INTO supply_warehouses (id, region_code, name, address, "
                             "enterprise_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->region_code);
    db_bind_text(s, 3, in->name);
    db_bind_text(s, 4, in->address ? in->address : "");
    db_bind_int64(s, 5, in->enterprise_id);
    db_bind_int64(s, 6, user_id);
    db_bind_int64(s, 7, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err supply_warehouses(db *d, const struct scope *sc, json_t **items_r)
{
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT w.id, w.region_code, r.name, w.name, w.address, w.enterprise_id, "
                   "COALESCE(en.name, ''), t.product_id, p.name, p.unit, p.category, t.quantity, "
                   "t.threshold FROM supply_warehouses w JOIN regions r ON r.code = w.region_code "
                   "LEFT JOIN enterprises en ON en.id = w.enterprise_id "
                   "LEFT JOIN supply_stock t ON t.warehouse_id = w.id "
                   "LEFT JOIN supply_products p ON p.id = t.product_id "
                   "WHERE w.region_code >= ? AND w.region_code < ? ORDER BY w.region_code, w.id, "
                   "t.product_id LIMIT 20000",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    json_t *items = json_array(), *w = NULL;
    int64_t last = 0;
    bool has = false;
    while (!(e = db_row(s, &has)) && has) {
        int64_t id = db_col_int64(s, 0);
        if (id != last) {
            w = json_object();
            json_set_id(w, "id", id);
            json_set_region(w, db_col_int64(s, 1), db_col_text(s, 2));
            json_object_set_new(w, "name", json_string(db_col_text(s, 3)));
            json_object_set_new(w, "address", json_string(db_col_text(s, 4)));
            json_set_id_or_null(w, "enterprise_id", db_col_int64(s, 5));
            json_object_set_new(w, "enterprise_name", json_string(db_col_text(s, 6)));
            json_object_set_new(w, "stock", json_array());
            json_object_set_new(w, "short_lines", json_integer(0));
            json_array_append_new(items, w);
            last = id;
        }
        if (db_col_null(s, 7))
            continue;
        int64_t q = db_col_int64(s, 11), t = db_col_int64(s, 12);
        json_t *l = json_object();
        json_set_id(l, "product_id", db_col_int64(s, 7));
        json_object_set_new(l, "product_name", json_string(db_col_text(s, 8)));
        json_object_set_new(l, "unit", json_string(db_col_text(s, 9)));
        json_object_set_new(l, "category", json_string(db_col_text(s, 10)));
        json_object_set_new(
            l, "category_name",
            json_string(vocab_label_of(&supply_category_vocab, db_col_text(s, 10))));
        json_object_set_new(l, "quantity", json_integer(q));
        json_object_set_new(l, "threshold", json_integer(t));
        json_object_set_new(l, "short", json_boolean(t > 0 && q < t));
        json_array_append_new(json_object_get(w, "stock"), l);
        if (t > 0 && q < t)
            json_object_set_new(
                w, "short_lines",
                json_integer(json_integer_value(json_object_get(w, "short_lines")) + 1));
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- reports (填报) --------------------------------------------------------------- */

err supply_report(db *d, const struct scope *sc, const struct supply_report_in *in, int64_t user_id,
                  int64_t *id_r)
{
    int64_t region = 0;
    err e = supply_product_check(d, in->product_id, "product_id");
    if (e)
        return e;
    if (!strcmp(in->kind, "stock")) {
        if ((e = supply_warehouse_check(d, sc, in->warehouse_id, NULL, &region)) ||
            (e = supply_stock_set(d, in->warehouse_id, in->product_id, in->quantity,
                                  in->threshold)))
            return e;
    } else if (!strcmp(in->kind, "production")) {
        db_stmt *s;
        if ((e = supply_enterprise_check(d, sc, in->enterprise_id, NULL)) ||
            (e = db_prepare(d, "SELECT region_code FROM enterprises WHERE id = ?", &s)))
            return e;
        db_bind_int64(s, 1, in->enterprise_id);
        bool found = false;
        if (!(e = db_row(s, &found)) && found)
            region = db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
    } else {
        if ((e = supply_region_check(d, sc, in->region_code, "region_code")))
            return e;
        region = in->region_code;
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO supply_reports (id, kind, region_code, warehouse_id, "
                        "enterprise_id, product_id, quantity, capacity, output, note, "
                        "reported_by, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    bool stock = !strcmp(in->kind, "stock"), prod = !strcmp(in->kind, "production");
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->kind);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, stock ? in->warehouse_id : 0);
    db_bind_int64(s, 5, prod ? in->enterprise_id : 0);
    db_bind_int64(s, 6, in->product_id);
    db_bind_int64(s, 7, prod ? 0 : in->quantity);
    db_bind_int64(s, 8, prod ? in->capacity : 0);
    db_bind_int64(s, 9, prod ? in->output : 0);
    db_bind_text(s, 10, in->note ? in->note : "");
    db_bind_int64(s, 11, user_id);
    db_bind_int64(s, 12, now_ms());
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

err supply_reports(db *d, const struct scope *sc, const char *kind, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        kind ? "SELECT x.id, x.kind, x.region_code, r.name, COALESCE(w.name, ''), "
               "COALESCE(en.name, ''), p.name, p.unit, x.quantity, x.capacity, x.output, x.note, "
               "COALESCE(u.display_name, ''), x.reported_at FROM supply_reports x "
               "JOIN regions r ON r.code = x.region_code "
               "JOIN supply_products p ON p.id = x.product_id "
               "LEFT JOIN supply_warehouses w ON w.id = x.warehouse_id "
               "LEFT JOIN enterprises en ON en.id = x.enterprise_id "
               "LEFT JOIN users u ON u.id = x.reported_by "
               "WHERE x.region_code >= ? AND x.region_code < ? AND x.kind = ? "
               "ORDER BY x.reported_at DESC, x.id DESC LIMIT 500"
             : "SELECT x.id, x.kind, x.region_code, r.name, COALESCE(w.name, ''), "
               "COALESCE(en.name, ''), p.name, p.unit, x.quantity, x.capacity, x.output, x.note, "
               "COALESCE(u.display_name, ''), x.reported_at FROM supply_reports x "
               "JOIN regions r ON r.code = x.region_code "
               "JOIN supply_products p ON p.id = x.product_id "
               "LEFT JOIN supply_warehouses w ON w.id = x.warehouse_id "
               "LEFT JOIN enterprises en ON en.id = x.enterprise_id "
               "LEFT JOIN users u ON u.id = x.reported_by "
               "WHERE x.region_code >= ? AND x.region_code < ? "
               "ORDER BY x.reported_at DESC, x.id DESC LIMIT 500",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    if (kind)
        db_bind_text(s, 3, kind);
    json_t *items = json_array();
    bool has = false;
    while (!(e = db_row(s, &has)) && has) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "kind", json_string(db_col_text(s, 1)));
        json_object_set_new(
            o, "kind_label",
            json_string(vocab_label_of(&supply_report_kind_vocab, db_col_text(s, 1))));
        json_set_region(o, db_col_int64(s, 2), db_col_text(s, 3));
        json_object_set_new(o, "warehouse_name", json_string(db_col_text(s, 4)));
        json_object_set_new(o, "enterprise_name", json_string(db_col_text(s, 5)));
        json_object_set_new(o, "product_name", json_string(db_col_text(s, 6)));
        json_object_set_new(o, "unit", json_string(db_col_text(s, 7)));
        json_object_set_new(o, "quantity", json_integer(db_col_int64(s, 8)));
        json_object_set_new(o, "capacity", json_integer(db_col_int64(s, 9)));
        json_object_set_new(o, "output", json_integer(db_col_int64(s, 10)));
        json_object_set_new(o, "note", json_string(db_col_text(s, 11)));
        json_object_set_new(o, "reported_by_name", json_string(db_col_text(s, 12)));
        json_object_set_new(o, "reported_at", json_integer(db_col_int64(s, 13)));
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

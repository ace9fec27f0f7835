/*
 * HTTP handlers of supplies and dispatch (supply.h; docs/supplies.md):
 *
 *   GET  /api/v1/supply/catalogue                 categories and products (supply.read)
 *   POST /api/v1/supply/products                  add a product (supply.dispatch)
 *   GET  /api/v1/supply/warehouses                warehouses in scope with stock (supply.read)
 *   POST /api/v1/supply/warehouses                add a warehouse (supply.dispatch)
 *   POST /api/v1/supply/reports                   a report (填报): stock, production, need
 *                                                 (supply.report)
 *   GET  /api/v1/supply/reports                   their history in scope; kind= (supply.read)
 *   POST /api/v1/supply/requests                  file a request (supply.report)
 *   GET  /api/v1/supply/requests                  requests in scope; state=, paged (supply.read)
 *   GET  /api/v1/supply/requests/{id}             one with lines, deliveries, chain (supply.read)
 *   POST /api/v1/supply/requests/{id}/dispatch    allocate and order (supply.dispatch)
 *   POST /api/v1/supply/requests/{id}/cancel      cancel one nothing of which was dispatched
 *                                                 (supply.report)
 *   POST /api/v1/supply/deliveries/{id}/ship      pending → shipping (supply.dispatch)
 *   POST /api/v1/supply/deliveries/{id}/arrive    shipping → arrived (supply.dispatch)
 *   POST /api/v1/supply/deliveries/{id}/receipt   the requester's receipt (supply.report)
 *   GET  /api/v1/supply/balance                   supply and demand per category; region=
 *   GET  /api/v1/supply/deliveries                deliveries to the scope's regions, to sign
 *                                                 on a phone (supply.report)
 *   GET  /api/v1/supply/orders                    the bound supplier's electronic orders
 *   POST /api/v1/supply/orders/{id}/accept        the supplier accepts one (接单)
 *   POST /api/v1/supply/orders/{id}/ship          the supplier ships an accepted one
 *                                                 (all three supply.fulfil; another
 *                                                 supplier's order is 404, audited)
 *
 * Every write is audited with its transaction; the reads of a request are
 * audited too (its deliveries carry a masked driver's phone). The bodies
 * are checked here (jfield tables, then the lists item by item) so the
 * capability receives valid values only.
 */
#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/write.h"
#include "enterprise/enterprise.h"
#include "security/audit.h"
#include "supply/supply.h"

/* The same error as the last one, its field placed in list `list` at i. */
static err item_err(err e, const char *list, size_t i)
{
    struct err_detail dt = *err_last();
    char field[64];
    if (dt.field[0])
        snprintf(field, sizeof field, "%s[%zu].%.24s", list, i, dt.field);
    else
        snprintf(field, sizeof field, "%s[%zu]", list, i);
    return err_set(e, dt.slug, field, "第%zu行：%s", i + 1, dt.message);
}

/* An id given as a string member `name` of o: 0 when absent, else E_INPUT
 * "invalid_id" on `field`. */
static err id_member(json_t *o, const char *name, const char *field, int64_t *id_r)
{
    const char *v = json_str(o, name);
    *id_r = 0;
    if (v && !(*id_r = id_parse(v)))
        return err_set(E_INPUT, "invalid_id", field, "编号格式不正确");
    return E_OK;
}

/* A written region code `name` of o into *code_r (padded). */
static err region_member(json_t *o, const char *name, int64_t *code_r)
{
    enum region_level lv;
    const char *v = json_str(o, name);
    if (!v || (*code_r = regcode_parse(v, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", name, "区划代码格式不正确");
    return E_OK;
}

/* A list member `name` of 1..max objects (optional when !required). */
static err list_member(json_t *o, const char *name, size_t max, bool required, json_t **list_r)
{
    json_t *v = json_object_get(o, name);
    *list_r = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return err_set(E_INPUT, "required", name, "请填写%s", name);
        return E_OK;
    }
    if (!json_is_array(v))
        return err_set(E_INPUT, "invalid_type", name, "应为列表");
    if ((required && json_array_size(v) == 0) || json_array_size(v) > max)
        return err_set(E_INPUT, "out_of_range", name, "应有1到%zu行", max);
    *list_r = v;
    return E_OK;
}

/* ---- catalogue ---------------------------------------------------------------- */

static err get_catalogue(struct req *r)
{
    json_t *items;
    err e = supply_catalogue(r->db, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static const struct jfield product_body[] = {
    {"category", J_STRING, JF_REQUIRED, 0, 0, "物资类别", NULL, &supply_category_vocab},
    {"name", J_STRING, JF_REQUIRED, 1, SUPPLY_NAME_MAX, "物资名称", NULL, NULL},
    {"spec", J_STRING, 0, 0, SUPPLY_NAME_MAX, "规格", NULL, NULL},
    {"unit", J_STRING, JF_REQUIRED, 1, 8, "单位", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_product(struct req *r)
{
    json_t *b = r->body;
    struct supply_product_in in = {json_str(b, "category"), json_str(b, "name"),
                                   json_str(b, "spec"), json_str(b, "unit")};
    int64_t id = 0;
    err e = check_text(in.name, "name", "物资名称", SUPPLY_NAME_MAX, TEXT_REQUIRED | TEXT_ONE_LINE);
    if (!e)
        e = check_text(in.spec, "spec", "规格", SUPPLY_NAME_MAX, TEXT_ONE_LINE);
    if (!e)
        e = check_text(in.unit, "unit", "单位", 8, TEXT_REQUIRED | TEXT_ONE_LINE);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, supply_product_add(r->db, &in, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "supply.product.create", "supply_product", id,
                            req_body_fields(r))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

/* ---- warehouses ---------------------------------------------------------------- */

static err get_warehouses(struct req *r)
{
    json_t *items;
    err e = supply_warehouses(r->db, &r->who->scope, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static const struct jfield warehouse_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 12, 18, "所属区划", NULL, NULL},
    {"name", J_STRING, JF_REQUIRED, 1, SUPPLY_NAME_MAX, "仓库名称", NULL, NULL},
    {"address", J_STRING, 0, 0, 100, "地址", NULL, NULL},
    {"enterprise_id", J_STRING, JF_NULLABLE, 1, 20, "供应企业", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_warehouse(struct req *r)
{
    json_t *b = r->body;
    struct supply_warehouse_in in = {.name = json_str(b, "name"),
                                     .address = json_str(b, "address")};
    int64_t id = 0;
    err e = region_member(b, "region_code", &in.region_code);
    if (!e)
        e = id_member(b, "enterprise_id", "enterprise_id", &in.enterprise_id);
    if (!e)
        e = check_text(in.name, "name", "仓库名称", SUPPLY_NAME_MAX, TEXT_REQUIRED | TEXT_ONE_LINE);
    if (!e)
        e = check_text(in.address, "address", "地址", 100, TEXT_ONE_LINE);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, supply_warehouse_add(r->db, &r->who->scope, &in, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "supply.warehouse.create", "supply_warehouse", id,
                            req_body_fields(r))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

/* ---- reports ---------------------------------------------------------------------- */

static const struct jfield report_body[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "填报类型", NULL, &supply_report_kind_vocab},
    {"product_id", J_STRING, JF_REQUIRED, 1, 20, "物资", NULL, NULL},
    {"warehouse_id", J_STRING, 0, 1, 20, "仓库", NULL, NULL},
    {"enterprise_id", J_STRING, 0, 1, 20, "生产企业", NULL, NULL},
    {"region_code", J_STRING, 0, 12, 18, "需求方区划", NULL, NULL},
    {"quantity", J_INT, 0, 0, SUPPLY_QTY_MAX, "数量", NULL, NULL},
    {"threshold", J_INT, 0, 0, SUPPLY_QTY_MAX, "预警值", NULL, NULL},
    {"capacity", J_INT, 0, 0, SUPPLY_QTY_MAX, "日产能", NULL, NULL},
    {"output", J_INT, 0, 0, SUPPLY_QTY_MAX, "当日产量", NULL, NULL},
    {"note", J_STRING, 0, 0, SUPPLY_NOTE_MAX, "备注", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_report(struct req *r)
{
    json_t *b = r->body;
    struct supply_report_in in = {.kind = json_str(b, "kind"),
                                  .quantity = json_int(b, "quantity", 0),
                                  .threshold = json_int(b, "threshold", -1),
                                  .capacity = json_int(b, "capacity", 0),
                                  .output = json_int(b, "output", 0),
                                  .note = json_str(b, "note")};
    int64_t id = 0;
    bool stock = !strcmp(in.kind, "stock"), prod = !strcmp(in.kind, "production");
    err e = id_member(b, "product_id", "product_id", &in.product_id);
    /* each kind names its object and its figures */
    if (!e && stock && !json_has(b, "warehouse_id"))
        e = err_set(E_INPUT, "required", "warehouse_id", "库存填报请选择仓库");
    else if (!e && prod && !json_has(b, "enterprise_id"))
        e = err_set(E_INPUT, "required", "enterprise_id", "产能填报请选择生产企业");
    else if (!e && !stock && !prod)
        e = region_member(b, "region_code", &in.region_code);
    if (!e && !prod && !json_has(b, "quantity"))
        e = err_set(E_INPUT, "required", "quantity", "请填写数量");
    if (!e && prod && !json_has(b, "capacity"))
        e = err_set(E_INPUT, "required", "capacity", "请填写日产能");
    if (!e)
        e = id_member(b, "warehouse_id", "warehouse_id", &in.warehouse_id);
    if (!e)
        e = id_member(b, "enterprise_id", "enterprise_id", &in.enterprise_id);
    if (!e)
        e = check_text(in.note, "note", "备注", SUPPLY_NOTE_MAX, 0);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, supply_report(r->db, &r->who->scope, &in, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "supply.report", "supply_report", id,
                            arena_printf(r->a, "kind=%s", in.kind))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

static err get_reports(struct req *r)
{
    const char *kind = req_query(r, "kind");
    if (kind && *kind && vocab_parse(&supply_report_kind_vocab, kind) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "填报类型不正确");
    json_t *items;
    err e = supply_reports(r->db, &r->who->scope, kind && *kind ? kind : NULL, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

/* ---- requests ---------------------------------------------------------------------- */

static const struct jfield request_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 12, 18, "需求方区划", NULL, NULL},
    {"requester", J_STRING, JF_REQUIRED, 0, 0, "需求方类型", NULL, &supply_requester_vocab},
    {"site_name", J_STRING, 0, 0, SUPPLY_NAME_MAX, "隔离点或检测点名称", NULL, NULL},
    {"urgency", J_STRING, JF_REQUIRED, 0, 0, "紧急程度", NULL, &supply_urgency_vocab},
    {"needed_by", J_STRING, JF_REQUIRED, 10, 19, "需求时间", NULL, NULL},
    {"note", J_STRING, 0, 0, SUPPLY_NOTE_MAX, "备注", NULL, NULL},
    {"lines", J_ARRAY, JF_REQUIRED, 0, 0, "物资明细", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield line_fields[] = {
    {"product_id", J_STRING, JF_REQUIRED, 1, 20, "物资", NULL, NULL},
    {"quantity", J_INT, JF_REQUIRED, 1, SUPPLY_QTY_MAX, "数量", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_request(struct req *r)
{
    json_t *b = r->body, *lines = NULL;
    struct supply_request_in in = {.requester = json_str(b, "requester"),
                                   .site_name = json_str(b, "site_name"),
                                   .urgency = json_str(b, "urgency"),
                                   .note = json_str(b, "note")};
    int64_t id = 0;
    err e = region_member(b, "region_code", &in.region_code);
    if (!e && !china_time_parse(json_str(b, "needed_by"), &in.needed_by))
        e = err_set(E_INPUT, "invalid_time", "needed_by", "需求时间格式应为 YYYY-MM-DD HH:MM");
    if (!e && strcmp(in.requester, "community") && !(in.site_name && *in.site_name))
        e = err_set(E_INPUT, "required", "site_name", "请填写隔离点或检测点名称");
    if (!e)
        e = check_text(in.site_name, "site_name", "名称", SUPPLY_NAME_MAX, TEXT_ONE_LINE);
    if (!e)
        e = check_text(in.note, "note", "备注", SUPPLY_NOTE_MAX, 0);
    if (!e)
        e = list_member(b, "lines", SUPPLY_LINES_MAX, true, &lines);
    if (!e) {
        in.n_lines = json_array_size(lines);
        in.lines = arena_zalloc(r->a, in.n_lines * sizeof *in.lines);
    }
    for (size_t i = 0; !e && i < in.n_lines; i++) {
        json_t *l = json_array_get(lines, i);
        if (!json_is_object(l) || (e = json_check(l, line_fields, false)) ||
            (e = id_member(l, "product_id", "product_id", &in.lines[i].product_id)))
            e = item_err(e ? e : err_set(E_INPUT, "invalid_type", "", "应为对象"), "lines", i);
        else
            in.lines[i].quantity = json_int(l, "quantity", 0);
    }
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, supply_request_file(r->db, &r->who->scope, &in, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "supply.request.create", "supply_request", id,
                            arena_printf(r->a, "lines=%zu", in.n_lines))))
        return e;
    json_t *o;
    if ((e = supply_request_get(r->db, r->a, &r->who->scope, id, &o)))
        return e;
    return reply_json(r, 201, o);
}

static err get_requests(struct req *r)
{
    const char *state = req_query(r, "state");
    if (state && *state && vocab_parse(&supply_request_state_vocab, state) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "需求状态不正确");
    int64_t page, size, total = 0;
    err e = req_paging(r, &page, &size);
    json_t *items;
    if (e || (e = supply_requests(r->db, &r->who->scope, state && *state ? state : NULL, page, size,
                                  &items, &total)))
        return e;
    return reply_page(r, items, total, page, size);
}

static err get_request(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    json_t *o;
    if (!e)
        e = supply_request_get(r->db, r->a, &r->who->scope, id, &o);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "supply.request.read", "supply_request", id, e,
                             NULL);
    req_audit(r, "supply.request.read", "supply_request", id, "ok", NULL);
    return reply_json(r, 200, o);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static const struct jfield dispatch_body[] = {
    {"allocations", J_ARRAY, 0, 0, 0, "仓库调拨", NULL, NULL},
    {"orders", J_ARRAY, 0, 0, 0, "电子订货", NULL, NULL},
    {"carrier", J_STRING, 0, 0, SUPPLY_NAME_MAX, "承运单位", NULL, NULL},
    {"vehicle", J_STRING, 0, 0, 12, "车牌号", NULL, NULL},
    {"driver_phone", J_STRING, 0, 0, 11, "司机电话", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield alloc_fields[] = {
    {"line_id", J_STRING, JF_REQUIRED, 1, 20, "需求行", NULL, NULL},
    {"warehouse_id", J_STRING, JF_REQUIRED, 1, 20, "仓库", NULL, NULL},
    {"quantity", J_INT, JF_REQUIRED, 1, SUPPLY_QTY_MAX, "数量", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield order_fields[] = {
    {"line_id", J_STRING, JF_REQUIRED, 1, 20, "需求行", NULL, NULL},
    {"enterprise_id", J_STRING, JF_REQUIRED, 1, 20, "供应企业", NULL, NULL},
    {"quantity", J_INT, JF_REQUIRED, 1, SUPPLY_QTY_MAX, "数量", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* A list of allocations or orders into *v_r, *n_r. */
static err allocs_parse(struct req *r, const char *name, const struct jfield *fields,
                        const char *source, struct supply_alloc_in **v_r, size_t *n_r)
{
    json_t *list;
    err e = list_member(r->body, name, SUPPLY_LINES_MAX, false, &list);
    *n_r = 0;
    if (e || !list)
        return e;
    size_t n = json_array_size(list);
    struct supply_alloc_in *v = arena_zalloc(r->a, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(list, i);
        int64_t src = 0;
        if (!json_is_object(o) || (e = json_check(o, fields, false)) ||
            (e = id_member(o, "line_id", "line_id", &v[i].line_id)) ||
            (e = id_member(o, source, source, &src)))
            return item_err(e ? e : err_set(E_INPUT, "invalid_type", "", "应为对象"), name, i);
        if (!strcmp(source, "warehouse_id"))
            v[i].warehouse_id = src;
        else
            v[i].enterprise_id = src;
        v[i].quantity = json_int(o, "quantity", 0);
    }
    *v_r = v;
    *n_r = n;
    return E_OK;
}

static err post_dispatch(struct req *r)
{
    int64_t id = 0, made = 0;
    json_t *b = r->body;
    struct supply_dispatch_in in = {.carrier = json_str(b, "carrier"),
                                    .vehicle = json_str(b, "vehicle"),
                                    .driver_phone = json_str(b, "driver_phone")};
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = allocs_parse(r, "allocations", alloc_fields, "warehouse_id", &in.allocs, &in.n_allocs);
    if (!e)
        e = allocs_parse(r, "orders", order_fields, "enterprise_id", &in.orders, &in.n_orders);
    if (!e && in.driver_phone && *in.driver_phone)
        e = check_phone(in.driver_phone, "driver_phone");
    if (!e)
        e = check_text(in.carrier, "carrier", "承运单位", SUPPLY_NAME_MAX, TEXT_ONE_LINE);
    if (!e)
        e = check_text(in.vehicle, "vehicle", "车牌号", 12, TEXT_ONE_LINE);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, supply_dispatch(r->db, r->a, &r->who->scope, id, &in, r->who->user_id, &made));
    if ((e = req_write_done(
             r, e, "supply.request.dispatch", "supply_request", id,
             arena_printf(r->a, "allocations=%zu orders=%zu", in.n_allocs, in.n_orders))))
        return e;
    json_t *o;
    if ((e = supply_request_get(r->db, r->a, &r->who->scope, id, &o)))
        return e;
    return reply_json(r, 200, o);
}

/* ---- cancellation ------------------------------------------------------------------------ */

static const struct jfield cancel_body[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, SUPPLY_NOTE_MAX, "取消原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_cancel(struct req *r)
{
    int64_t id = 0;
    const char *reason = json_str(r->body, "reason");
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = check_text(reason, "reason", "取消原因", SUPPLY_NOTE_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r,
                       supply_request_cancel(r->db, &r->who->scope, id, reason, r->who->user_id));
    if ((e = req_write_done(r, e, "supply.request.cancel", "supply_request", id,
                            req_body_fields(r))))
        return e;
    json_t *o;
    if ((e = supply_request_get(r->db, r->a, &r->who->scope, id, &o)))
        return e;
    return reply_json(r, 200, o);
}

/* ---- deliveries ------------------------------------------------------------------------ */

static const struct jfield ship_body[] = {
    {"carrier", J_STRING, 0, 0, SUPPLY_NAME_MAX, "承运单位", NULL, NULL},
    {"vehicle", J_STRING, 0, 0, 12, "车牌号", NULL, NULL},
    {"driver_phone", J_STRING, 0, 0, 11, "司机电话", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err delivery_move(struct req *r, const char *state)
{
    int64_t id = 0, request_id = 0;
    json_t *b = r->body;
    const char *carrier = b ? json_str(b, "carrier") : NULL,
               *vehicle = b ? json_str(b, "vehicle") : NULL,
               *phone = b ? json_str(b, "driver_phone") : NULL;
    err e = req_param_id(r, 0, &id);
    if (!e && phone && *phone)
        e = check_phone(phone, "driver_phone");
    if (!e)
        e = check_text(carrier, "carrier", "承运单位", SUPPLY_NAME_MAX, TEXT_ONE_LINE);
    if (!e)
        e = check_text(vehicle, "vehicle", "车牌号", 12, TEXT_ONE_LINE);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, supply_delivery_move(r->db, r->a, &r->who->scope, id, state, carrier,
                                               vehicle, phone, r->who->user_id, &request_id));
    if ((e = req_write_done(r, e, arena_printf(r->a, "supply.delivery.%s", state),
                            "supply_delivery", id, NULL)))
        return e;
    json_t *o;
    if ((e = supply_request_get(r->db, r->a, &r->who->scope, request_id, &o)))
        return e;
    return reply_json(r, 200, o);
}

static err post_ship(struct req *r)
{
    return delivery_move(r, "shipping");
}

static err post_arrive(struct req *r)
{
    return delivery_move(r, "arrived");
}

static const struct jfield receipt_body[] = {
    {"lines", J_ARRAY, 0, 0, 0, "实收明细", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield receipt_fields[] = {
    {"line_id", J_STRING, JF_REQUIRED, 1, 20, "需求行", NULL, NULL},
    {"received", J_INT, JF_REQUIRED, 0, SUPPLY_QTY_MAX, "实收数量", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_receipt(struct req *r)
{
    int64_t id = 0, request_id = 0;
    json_t *list = NULL;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = list_member(r->body, "lines", SUPPLY_LINES_MAX, false, &list);
    size_t n = list ? json_array_size(list) : 0;
    struct supply_receipt_in *in = arena_zalloc(r->a, (n ? n : 1) * sizeof *in);
    for (size_t i = 0; !e && i < n; i++) {
        json_t *o = json_array_get(list, i);
        if (!json_is_object(o) || (e = json_check(o, receipt_fields, false)) ||
            (e = id_member(o, "line_id", "line_id", &in[i].line_id)))
            e = item_err(e ? e : err_set(E_INPUT, "invalid_type", "", "应为对象"), "lines", i);
        else
            in[i].received = json_int(o, "received", 0);
    }
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, supply_receipt(r->db, &r->who->scope, id, in, n, r->who->user_id, &request_id));
    if ((e = req_write_done(r, e, "supply.delivery.receipt", "supply_delivery", id,
                            arena_printf(r->a, "lines=%zu", n))))
        return e;
    json_t *o;
    if ((e = supply_request_get(r->db, r->a, &r->who->scope, request_id, &o)))
        return e;
    return reply_json(r, 200, o);
}

/* ---- the requester's deliveries and the supplier's orders ------------------------------- */

static err get_deliveries(struct req *r)
{
    json_t *items;
    err e = supply_deliveries_to(r->db, &r->who->scope, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

/* The supplier the account acts for: its binding (enterprise/enterprise.h),
 * never the scope, so another supplier's orders stay out of reach. */
static err own_supplier(struct req *r, struct enterprise *ent_r)
{
    int64_t own = 0;
    err e = ent_account_of(r->db, r->who->user_id, &own);
    if (e)
        return e;
    if (!own)
        return err_set(E_FORBIDDEN, "enterprise_unbound", NULL,
                       "账号尚未绑定企业，请联系街道工作人员");
    return ent_reach(r->db, r->a, r->who, own, ent_r);
}

static err get_orders(struct req *r)
{
    struct enterprise ent;
    json_t *items;
    err e = own_supplier(r, &ent);
    if (e || (e = supply_orders(r->db, ent.id, &items)))
        return e;
    /* the alerts of orders placed with it, the newest first (the district's
     * staff acknowledge them; the supplier takes the order) */
    json_t *alerts = NULL;
    struct alert_filter f = {.kind = ALERT_SUPPLY_ORDER,
                             .acked = -1,
                             .from = now_ms() - SUPPLY_RECENT_DAYS * 86400000LL,
                             .enterprise_id = ent.id,
                             .page_size = SUPPLY_LIST_MAX};
    struct scope all = scope_all();
    if ((e = alert_list(r->db, &all, &f, &alerts, NULL))) {
        json_decref(items);
        return e;
    }
    json_t *o = json_object(), *en = json_object();
    json_set_id(en, "id", ent.id);
    json_object_set_new(en, "name", json_string(ent.name));
    json_object_set_new(o, "enterprise", en);
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "alerts", alerts);
    return reply_json(r, 200, o);
}

/* The alerts addressed to the bound supplier, live (ALERT_ENTERPRISE_STREAM:
 * this enterprise's only); the page re-reads its orders on each. A resumed
 * stream (Last-Event-ID) first gets the ones it missed, from whichever
 * server it reaches (alert_stream_open). */
static err get_orders_stream(struct req *r)
{
    struct enterprise ent;
    err e = own_supplier(r, &ent);
    if (e)
        return e;
    struct scope sc = alert_enterprise_scope(ent.id), all = scope_all();
    return alert_stream_open(r, ALERT_ENTERPRISE_STREAM, &sc, &all, ent.id, "supply.orders.stream",
                             "enterprise", ent.id);
}

/* Accept or ship order {id} as the bound supplier; the reply is the order
 * as its list shows it. */
static err order_step(struct req *r, bool ship)
{
    int64_t id = 0, request_id = 0;
    json_t *b = r->body;
    const char *carrier = b ? json_str(b, "carrier") : NULL,
               *vehicle = b ? json_str(b, "vehicle") : NULL,
               *phone = b ? json_str(b, "driver_phone") : NULL;
    struct enterprise ent = {0};
    err e = req_param_id(r, 0, &id);
    if (!e && ship && phone && *phone)
        e = check_phone(phone, "driver_phone");
    if (!e && ship)
        e = check_text(carrier, "carrier", "承运单位", SUPPLY_NAME_MAX, TEXT_ONE_LINE);
    if (!e && ship)
        e = check_text(vehicle, "vehicle", "车牌号", 12, TEXT_ONE_LINE);
    if (!e)
        e = own_supplier(r, &ent);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r,
                       ship ? supply_order_ship(r->db, r->a, ent.id, id, carrier, vehicle, phone,
                                                r->who->user_id, &request_id)
                            : supply_order_accept(r->db, ent.id, id, r->who->user_id, &request_id));
    if ((e = req_write_done(r, e, ship ? "supply.order.ship" : "supply.order.accept",
                            "supply_delivery", id, NULL)))
        return e;
    json_t *items, *o = NULL;
    if ((e = supply_orders(r->db, ent.id, &items)))
        return e;
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v)
    {
        if (id_parse(json_string_value(json_object_get(v, "id"))) == id)
            o = json_incref(v);
    }
    json_decref(items);
    return reply_json(r, 200, o ? o : json_object());
}

static err post_order_accept(struct req *r)
{
    return order_step(r, false);
}

static err post_order_ship(struct req *r)
{
    return order_step(r, true);
}

/* ---- balance ------------------------------------------------------------------------------ */

static err get_balance(struct req *r)
{
    struct scope sc = r->who->scope;
    const char *v = req_query(r, "region");
    if (v && *v) {
        enum region_level lv;
        int64_t code = regcode_parse(v, &lv);
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
        if (!scope_has(&sc, code))
            return audit_refusal(r->db, r->who, r->ip, "supply.balance", "region", 0,
                                 err_set(E_NOT_FOUND, "not_found", "region", "区划不存在"), v);
        struct scope narrowed = scope_of(code);
        if (narrowed.hi > sc.hi)
            narrowed.hi = sc.hi;
        sc = narrowed;
    }
    json_t *items;
    err e = supply_balance(r->db, &sc, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

const struct route supply_routes[] = {
    {M_GET, "/api/v1/supply/catalogue", get_catalogue, PERM_SUPPLY_READ, 0, NULL,
     "物资目录（9大类及物资）", "supply", 0},
    {M_POST, "/api/v1/supply/products", post_product, PERM_SUPPLY_DISPATCH, 0, product_body,
     "新增物资", "supply", 0},
    {M_GET, "/api/v1/supply/warehouses", get_warehouses, PERM_SUPPLY_READ, 0, NULL,
     "辖区内仓库及库存", "supply", 0},
    {M_POST, "/api/v1/supply/warehouses", post_warehouse, PERM_SUPPLY_DISPATCH, 0, warehouse_body,
     "新增仓库", "supply", 0},
    {M_POST, "/api/v1/supply/reports", post_report, PERM_SUPPLY_REPORT, 0, report_body,
     "物资填报（库存、产能、需求）", "supply", 0},
    {M_GET, "/api/v1/supply/reports", get_reports, PERM_SUPPLY_READ, 0, NULL,
     "辖区内物资填报记录（kind 筛选）", "supply", 0},
    {M_POST, "/api/v1/supply/requests", post_request, PERM_SUPPLY_REQUEST, 0, request_body,
     "提交物资需求", "supply", 0},
    {M_GET, "/api/v1/supply/requests", get_requests, PERM_SUPPLY_READ, 0, NULL,
     "辖区内物资需求（state 筛选，分页）", "supply", 0},
    {M_GET, "/api/v1/supply/requests/{id}", get_request, PERM_SUPPLY_READ, 0, NULL,
     "物资需求详情：明细、配送单和全链路", "supply", 0},
    {M_POST, "/api/v1/supply/requests/{id}/dispatch", post_dispatch, PERM_SUPPLY_DISPATCH, 0,
     dispatch_body, "调度：仓库调拨和电子订货（库存不足时整单不调度）", "supply", 0},
    {M_POST, "/api/v1/supply/requests/{id}/cancel", post_cancel, PERM_SUPPLY_REQUEST, 0,
     cancel_body, "取消尚未调度的物资需求（填写原因）", "supply", 0},
    {M_POST, "/api/v1/supply/deliveries/{id}/ship", post_ship, PERM_SUPPLY_DISPATCH, 0, ship_body,
     "配送单发货", "supply", 0},
    {M_POST, "/api/v1/supply/deliveries/{id}/arrive", post_arrive, PERM_SUPPLY_DISPATCH, 0, NULL,
     "配送单送达", "supply", 0},
    {M_POST, "/api/v1/supply/deliveries/{id}/receipt", post_receipt, PERM_SUPPLY_REQUEST, 0,
     receipt_body, "需求方签收（按行填写实收数量，记录短缺）", "supply", 0},
    {M_GET, "/api/v1/supply/balance", get_balance, PERM_SUPPLY_READ, 0, NULL,
     "分类供需平衡（库存、在途、订货与未满足需求；region 筛选）", "supply", 0},
    {M_GET, "/api/v1/supply/deliveries", get_deliveries, PERM_SUPPLY_REQUEST, 0, NULL,
     "辖区内待签收及近期签收的配送单（手机签收）", "supply", 0},
    {M_GET, "/api/v1/supply/orders", get_orders, PERM_SUPPLY_FULFIL, 0, NULL,
     "本企业收到的电子订货（供应商账号），附新订货提醒", "supply", 0},
    /* before orders/{id}: the first pattern that matches wins */
    {M_GET, "/api/v1/supply/orders/stream", get_orders_stream, PERM_SUPPLY_FULFIL, ROUTE_STREAM,
     NULL, "新电子订货实时提醒（Server-Sent Events，仅本企业）", "supply", 0},
    {M_POST, "/api/v1/supply/orders/{id}/accept", post_order_accept, PERM_SUPPLY_FULFIL, 0, NULL,
     "供应商接单", "supply", 0},
    {M_POST, "/api/v1/supply/orders/{id}/ship", post_order_ship, PERM_SUPPLY_FULFIL, 0, ship_body,
     "供应商发货（待发货 → 运输中）", "supply", 0},
};
const size_t supply_routes_n = sizeof supply_routes / sizeof supply_routes[0];

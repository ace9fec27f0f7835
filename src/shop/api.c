/*
 * HTTP handlers of daily goods (shop.h; docs/community-life.md):
 *
 * community and street staff (shop.manage), in their scope:
 *   POST  /api/v1/shops                   a shop and its account (201)
 *   GET   /api/v1/shops                   shops (?q=, paging, format=csv|xlsx)
 *   PATCH /api/v1/shops/{id}              enable or disable {enabled}
 *   GET   /api/v1/shops/{id}/goods        a shop's goods (for a group order)
 *   GET   /api/v1/shop-orders             orders delivered in scope (?status=, shop_id=,
 *                                         group=0|1, paging, format=csv|xlsx)
 *   GET   /api/v1/shop-orders/{id}        one, with its lines
 *   POST  /api/v1/shop-orders             a group order for a building (团购, 201)
 *   POST  /api/v1/shop-orders/{id}/receive  a group order received at the building
 *   POST  /api/v1/shop-orders/{id}/cancel   a pending group order cancelled
 * the shop's account (shop.sell), its own shop only:
 *   GET   /api/v1/shop/me                 its shop
 *   GET   /api/v1/shop/goods              its goods;  POST: add one (201)
 *   PATCH /api/v1/shop/goods/{id}         name, unit, price, stock, on_sale
 *   GET   /api/v1/shop/orders             its orders (?status=, paging)
 *   GET   /api/v1/shop/orders/{id}        one, with the full address (audited)
 *   POST  /api/v1/shop/orders/{id}/confirm | deliver | cancel
 * residents (their own person record):
 *   GET   /api/v1/me/shops                shops of their community
 *   GET   /api/v1/me/shops/{id}/goods     its goods on sale
 *   POST  /api/v1/me/orders               order (201); 409 insufficient_stock
 *   GET   /api/v1/me/orders               their orders; GET /api/v1/me/orders/{id}
 *   POST  /api/v1/me/orders/{id}/cancel | receive
 *
 * Orders carry a recipient and an address (sealed): staff read them masked,
 * the shop in full (it delivers), the resident their own; every read of
 * orders and every write is audited, refusals too (audit_refusal).
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/export.h"
#include "http/write.h"
#include "person/person.h"
#include "region/region.h"
#include "security/audit.h"
#include "security/mask.h"
#include "shop/shop.h"

/* ---- JSON ---- */

static json_t *shop_json(const struct shop *s)
{
    json_t *o = json_object();
    json_set_id(o, "id", s->id);
    json_object_set_new(o, "name", json_string(s->name));
    json_set_region(o, s->region_code, s->region_name);
    json_object_set_new(o, "address", json_string(s->address));
    json_object_set_new(o, "phone", json_string(s->phone));
    json_object_set_new(o, "username", json_string(s->username));
    json_object_set_new(o, "enabled", json_boolean(s->enabled));
    json_object_set_new(o, "created_at", json_integer(s->created_at));
    return o;
}

static json_t *goods_json(const struct shop_goods *g)
{
    json_t *o = json_object();
    json_set_id(o, "id", g->id);
    json_set_id(o, "shop_id", g->shop_id);
    json_object_set_new(o, "name", json_string(g->name));
    json_object_set_new(o, "unit", json_string(g->unit));
    json_object_set_new(o, "price", json_integer(g->price));
    json_object_set_new(o, "stock", json_integer(g->stock));
    json_object_set_new(o, "on_sale", json_boolean(g->on_sale));
    return o;
}

/* How much of an order's personal data a reader sees. */
enum order_view { VIEW_MASKED, VIEW_FULL };

static json_t *order_json(arena *a, const struct shop_order *o, enum order_view v)
{
    json_t *j = json_object();
    json_set_id(j, "id", o->id);
    json_set_id(j, "shop_id", o->shop_id);
    json_object_set_new(j, "shop_name", json_string(o->shop_name));
    json_set_region(j, o->region_code, o->region_name);
    json_object_set_new(j, "group", json_boolean(o->group));
    json_object_set_new(j, "households", json_integer(o->households));
    json_object_set_new(j, "delivery", json_string(vocab_name(&shop_delivery_vocab, o->delivery)));
    json_object_set_new(j, "delivery_label",
                        json_string(vocab_label(&shop_delivery_vocab, o->delivery)));
    const char *rc = o->recipient ? o->recipient : "", *ad = o->address ? o->address : "";
    json_object_set_new(j, "recipient", json_string(v == VIEW_FULL ? rc : mask_name(a, rc)));
    json_object_set_new(j, "address", json_string(v == VIEW_FULL ? ad : mask_address(a, ad)));
    json_object_set_new(j, "note", json_string(o->note));
    json_object_set_new(j, "total", json_integer(o->total));
    json_object_set_new(j, "status", json_string(vocab_name(&shop_order_status_vocab, o->status)));
    json_object_set_new(j, "status_label",
                        json_string(vocab_label(&shop_order_status_vocab, o->status)));
    json_object_set_new(j, "paid", json_boolean(o->paid));
    json_object_set_new(j, "created_at", json_integer(o->created_at));
    json_object_set_new(j, "confirmed_at", json_integer(o->confirmed_at));
    json_object_set_new(j, "delivered_at", json_integer(o->delivered_at));
    json_object_set_new(j, "received_at", json_integer(o->received_at));
    json_object_set_new(j, "cancelled_at", json_integer(o->cancelled_at));
    if (o->lines) {
        json_t *ls = json_array();
        for (size_t i = 0; i < o->n_lines; i++) {
            const struct shop_line *l = &o->lines[i];
            json_t *x = json_object();
            json_set_id(x, "goods_id", l->goods_id);
            json_object_set_new(x, "name", json_string(l->name));
            json_object_set_new(x, "unit", json_string(l->unit));
            json_object_set_new(x, "price", json_integer(l->price));
            json_object_set_new(x, "qty", json_integer(l->qty));
            json_array_append_new(ls, x);
        }
        json_object_set_new(j, "items", ls);
    }
    return j;
}

/* ---- common parts ---- */

/* The caller's shop (shop.sell); a refusal is audited under `action`. */
static err own_shop(struct req *r, const char *action, struct shop *s)
{
    err e = shop_of_user(r->db, r->a, r->who->user_id, s);
    return e ? audit_refusal(r->db, r->who, r->ip, action, "shop", 0, e, NULL) : E_OK;
}

/* The resident's own person; a staff account or an unbound one is refused. */
static err residents_person(struct req *r, const char *action, struct person *p)
{
    err e = r->who->resident
                ? person_self_find(r->db, r->a, r->who, p)
                : err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return e ? audit_refusal(r->db, r->who, r->ip, action, "shop_order", 0, e, NULL) : E_OK;
}

/* `items` of an order body: 1..SHOP_ORDER_LINES of {goods_id, qty}. */
static err lines_from(struct req *r, int64_t qty_max, struct shop_line **lines_r, size_t *n_r)
{
    json_t *arr = json_object_get(r->body, "items");
    size_t n = json_array_size(arr);
    if (n == 0 || n > SHOP_ORDER_LINES)
        return err_set(E_INPUT, "out_of_range", "items", "商品应为 1 到 %d 种", SHOP_ORDER_LINES);
    struct shop_line *l = arena_zalloc(r->a, n * sizeof *l);
    if (!l)
        return E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(arr, i);
        json_t *g = json_object_get(it, "goods_id"), *q = json_object_get(it, "qty");
        if (!json_is_object(it) || !json_is_string(g) ||
            (l[i].goods_id = id_parse(json_string_value(g))) <= 0)
            return err_set(E_INPUT, "invalid_value", arena_printf(r->a, "items[%zu].goods_id", i),
                           "商品不正确");
        if (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > qty_max)
            return err_set(E_INPUT, "out_of_range", arena_printf(r->a, "items[%zu].qty", i),
                           "数量应为 1 到 %lld", (long long)qty_max);
        l[i].qty = json_integer_value(q);
    }
    *lines_r = l;
    *n_r = n;
    return E_OK;
}

/* ?status= of an order list: 0 when absent. */
static err status_param(struct req *r, enum shop_order_status *st_r)
{
    const char *v = req_query(r, "status");
    *st_r = 0;
    if (!v || !*v)
        return E_OK;
    int i = vocab_parse(&shop_order_status_vocab, v);
    if (i <= 0)
        return err_set(E_INPUT, "invalid_parameter", "status", "订单状态的取值不正确");
    *st_r = (enum shop_order_status)i;
    return E_OK;
}

static err reply_orders(struct req *r, const struct shop_viewer *v, struct shop_order_filter *f,
                        enum order_view view, const char *action)
{
    int64_t page_size = f->page_size;
    enum export_format fmt = EXPORT_NONE;
    err e;
    if (!v->user_id && !v->shop_id && (e = req_export_format(r, &fmt)))
        return e;
    if (fmt)
        f->page_size = 0;
    struct shop_order *items;
    size_t n;
    int64_t total;
    if ((e = shop_order_list(r->db, r->a, v, f, &items, &n, &total)))
        return e;
    req_audit(r, action, "shop_order", 0, "ok", arena_printf(r->a, "rows=%zu", n));
    if (fmt) {
        static const char *const head[] = {"订单号", "商户",     "配送区域", "类型",
                                           "户数",   "配送方式", "收货人",   "金额(元)",
                                           "状态",   "下单时间", "送达时间", "收货时间"};
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "生活物资订单", head, sizeof head / sizeof *head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct shop_order *o = &items[i];
            export_text(&x, arena_printf(r->a, "%lld", (long long)o->id));
            export_text(&x, o->shop_name);
            export_text(&x, o->region_name);
            export_text(&x, o->group ? "团购" : "居民订单");
            export_int(&x, o->households);
            export_text(&x, vocab_label(&shop_delivery_vocab, o->delivery));
            export_text(&x, mask_name(r->a, o->recipient ? o->recipient : ""));
            export_decimal(&x, (double)o->total / 100.0, 2);
            export_text(&x, vocab_label(&shop_order_status_vocab, o->status));
            export_time(&x, o->created_at);
            export_time(&x, o->delivered_at);
            export_time(&x, o->received_at);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "shop-orders");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, order_json(r->a, &items[i], view));
    return reply_page(r, arr, total, f->page, page_size);
}

static err reply_order(struct req *r, const struct shop_viewer *v, enum order_view view,
                       const char *action)
{
    int64_t id;
    struct shop_order o;
    err e = req_param_id(r, 0, &id);
    if (e || (e = shop_order_find(r->db, r->a, v, id, &o)))
        return audit_refusal(r->db, r->who, r->ip, action, "shop_order", e ? 0 : id, e, NULL);
    req_audit(r, action, "shop_order", id, "ok", "");
    return reply_json(r, 200, order_json(r->a, &o, view));
}

/* Move the order of path parameter 0 as v sees it, audited with the write. */
static err move_order(struct req *r, const struct shop_viewer *v, enum shop_order_status from,
                      enum shop_order_status to, bool group_only, enum order_view view,
                      const char *action)
{
    int64_t id;
    struct shop_order o;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        if (group_only && !(e = shop_order_find(r->db, r->a, v, id, &o)) && !o.group)
            e = err_set(E_CONFLICT, "not_group_order", NULL, "仅团购订单由工作人员处理");
        if (!e)
            e = shop_order_move(r->db, r->a, v, id, from, to, now_ms(), &o);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, action, "shop_order", id, "")))
        return e;
    return reply_json(r, 200, order_json(r->a, &o, view));
}

/* ---- staff ---- */

static const struct jfield shop_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, SHOP_NAME_MAX, "商户名称", NULL, NULL},
    {"region_code", J_STRING, JF_REQUIRED, 1, 20, "所属区划", NULL, NULL},
    {"address", J_STRING, JF_REQUIRED, 1, SHOP_ADDRESS_MAX, "地址", NULL, NULL},
    {"phone", J_STRING, JF_REQUIRED, 1, 20, "联系电话", NULL, NULL},
    {"username", J_STRING, JF_REQUIRED, 1, 32, "商户登录名", NULL, NULL},
    {"password", J_STRING, JF_REQUIRED, 1, 128, "初始密码", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_shop(struct req *r)
{
    struct shop_new in = {.name = json_str(r->body, "name"),
                          .address = json_str(r->body, "address"),
                          .phone = json_str(r->body, "phone"),
                          .username = json_str(r->body, "username"),
                          .password = json_str(r->body, "password")};
    enum region_level lv;
    in.region_code = regcode_parse(json_str(r->body, "region_code"), &lv);
    err e = check_text(in.name, "name", "商户名称", SHOP_NAME_MAX, TEXT_ONE_LINE);
    e = e ? e : check_text(in.address, "address", "地址", SHOP_ADDRESS_MAX, TEXT_ONE_LINE);
    e = e ? e : check_text(in.phone, "phone", "联系电话", 20, TEXT_ONE_LINE);
    if (!e && in.region_code <= 0)
        e = err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    if (e)
        return e;
    struct shop s;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, shop_create(r->db, r->a, r->who, &in, &s));
    if ((e = req_write_done(r, e, "shop.create", "shop", e ? 0 : s.id, "")))
        return e;
    return reply_json(r, 201, shop_json(&s));
}

static err get_shops(struct req *r)
{
    int64_t page, size;
    enum export_format fmt;
    err e = req_paging(r, &page, &size);
    if (e || (e = req_export_format(r, &fmt)))
        return e;
    struct shop *items;
    size_t n;
    int64_t total;
    if ((e = shop_list(r->db, r->a, &r->who->scope, req_query(r, "q"), page, fmt ? 0 : size, &items,
                       &n, &total)))
        return e;
    if (fmt) {
        static const char *const head[] = {"商户名称", "所属区划", "地址",    "联系电话",
                                           "登录名",   "状态",     "创建时间"};
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "商户", head, sizeof head / sizeof *head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            export_text(&x, items[i].name);
            export_text(&x, items[i].region_name);
            export_text(&x, items[i].address);
            export_text(&x, items[i].phone);
            export_text(&x, items[i].username);
            export_text(&x, items[i].enabled ? "营业" : "停用");
            export_time(&x, items[i].created_at);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "shops");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, shop_json(&items[i]));
    return reply_page(r, arr, total, page, size);
}

static const struct jfield shop_patch_body[] = {
    {"enabled", J_BOOL, JF_REQUIRED, 0, 0, "是否营业", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err patch_shop(struct req *r)
{
    int64_t id;
    struct shop s;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, shop_set_enabled(r->db, r->a, &r->who->scope, id,
                                           json_bool(r->body, "enabled", true), &s));
    if ((e = req_write_done(r, e, "shop.update", "shop", id, "fields=enabled")))
        return e;
    return reply_json(r, 200, shop_json(&s));
}

static err reply_goods(struct req *r, int64_t shop_id, bool on_sale_only)
{
    struct shop_goods *items;
    size_t n;
    err e = shop_goods_list(r->db, r->a, shop_id, on_sale_only, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, goods_json(&items[i]));
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static err get_shop_goods(struct req *r)
{
    int64_t id;
    struct shop s;
    err e = req_param_id(r, 0, &id);
    if (e || (e = shop_find(r->db, r->a, &r->who->scope, id, &s)))
        return audit_refusal(r->db, r->who, r->ip, "shop.read", "shop", 0, e, NULL);
    return reply_goods(r, s.id, false);
}

static err order_filter(struct req *r, struct shop_order_filter *f)
{
    memset(f, 0, sizeof *f);
    f->group = -1;
    err e = req_paging(r, &f->page, &f->page_size);
    if (e || (e = status_param(r, &f->status)))
        return e;
    const char *v = req_query(r, "shop_id");
    if (v && *v && (f->shop_id = id_parse(v)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "shop_id", "商户参数不正确");
    v = req_query(r, "group");
    if (v && *v) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            return err_set(E_INPUT, "invalid_parameter", "group", "参数 group 应为 0 或 1");
        f->group = v[0] == '1';
    }
    return E_OK;
}

static err get_orders(struct req *r)
{
    struct shop_order_filter f;
    err e = order_filter(r, &f);
    if (e)
        return e;
    struct shop_viewer v = {.scope = &r->who->scope};
    return reply_orders(r, &v, &f, VIEW_MASKED, "shop.order.list");
}

static err get_order(struct req *r)
{
    struct shop_viewer v = {.scope = &r->who->scope};
    return reply_order(r, &v, VIEW_MASKED, "shop.order.read");
}

static const struct jfield group_body[] = {
    {"shop_id", J_STRING, JF_REQUIRED, 1, 20, "商户", NULL, NULL},
    {"region_code", J_STRING, JF_REQUIRED, 1, 20, "楼栋", NULL, NULL},
    {"households", J_INT, JF_REQUIRED, 1, SHOP_HOUSEHOLDS, "户数", NULL, NULL},
    {"items", J_ARRAY, JF_REQUIRED, 0, 0, "商品", NULL, NULL},
    {"note", J_STRING, JF_NULLABLE, 0, SHOP_NOTE_MAX, "备注", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_group_order(struct req *r)
{
    struct shop_order o = {.group = true,
                           .households = json_int(r->body, "households", 0),
                           .delivery = DELIVERY_BUILDING,
                           .user_id = r->who->user_id,
                           .note = json_str(r->body, "note")};
    enum region_level lv;
    o.region_code = regcode_parse(json_str(r->body, "region_code"), &lv);
    err e = check_text(o.note, "note", "备注", SHOP_NOTE_MAX, TEXT_ONE_LINE);
    if (!e && (o.region_code <= 0 || lv != LEVEL_BUILDING))
        e = err_set(E_INPUT, "invalid_region", "region_code", "请选择楼栋");
    if (!e && (o.shop_id = id_parse(json_str(r->body, "shop_id"))) <= 0)
        e = err_set(E_INPUT, "invalid_value", "shop_id", "商户不正确");
    if (e || (e = lines_from(r, SHOP_QTY_MAX, &o.lines, &o.n_lines)))
        return e;
    struct shop sh;
    const char *path = "";
    db_hold(r->db);
    if (!scope_has(&r->who->scope, o.region_code))
        e = err_set(E_NOT_FOUND, "region_not_found", "region_code", "楼栋不存在或不在管辖范围内");
    else if (!(e = shop_find(r->db, r->a, &r->who->scope, o.shop_id, &sh)) &&
             !(e = region_path(r->db, o.region_code, LEVEL_COMMUNITY, r->a, &path)) &&
             !(e = db_begin(r->db))) {
        o.recipient = "社区工作人员代收";
        o.address = path;
        e = req_tx_end(r, shop_order_place(r->db, r->a, &o));
    }
    if ((e = req_write_done(r, e, "shop.order.group", "shop_order", e ? 0 : o.id,
                            arena_printf(r->a, "lines=%zu", o.n_lines))))
        return e;
    return reply_json(r, 201, order_json(r->a, &o, VIEW_FULL));
}

static err post_group_receive(struct req *r)
{
    struct shop_viewer v = {.scope = &r->who->scope};
    return move_order(r, &v, ORDER_DELIVERED, ORDER_RECEIVED, true, VIEW_MASKED,
                      "shop.order.receive");
}

static err post_group_cancel(struct req *r)
{
    struct shop_viewer v = {.scope = &r->who->scope};
    return move_order(r, &v, ORDER_PENDING, ORDER_CANCELLED, true, VIEW_MASKED,
                      "shop.order.cancel");
}

/* ---- the shop ---- */

static err get_shop_me(struct req *r)
{
    struct shop s;
    err e = own_shop(r, "shop.read", &s);
    return e ? e : reply_json(r, 200, shop_json(&s));
}

static err get_own_goods(struct req *r)
{
    struct shop s;
    err e = own_shop(r, "shop.goods.read", &s);
    return e ? e : reply_goods(r, s.id, false);
}

static const struct jfield goods_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, SHOP_GOODS_MAX, "商品名称", NULL, NULL},
    {"unit", J_STRING, JF_NULLABLE, 0, SHOP_UNIT_MAX, "单位", NULL, NULL},
    {"price", J_INT, JF_REQUIRED, 0, SHOP_PRICE_MAX, "价格（分）", NULL, NULL},
    {"stock", J_INT, JF_REQUIRED, 0, SHOP_STOCK_MAX, "库存", NULL, NULL},
    {"on_sale", J_BOOL, 0, 0, 0, "是否上架", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err goods_text(const struct shop_goods *g)
{
    err e = g->name ? check_text(g->name, "name", "商品名称", SHOP_GOODS_MAX, TEXT_ONE_LINE) : E_OK;
    return e ? e : check_text(g->unit, "unit", "单位", SHOP_UNIT_MAX, TEXT_ONE_LINE);
}

static err post_own_goods(struct req *r)
{
    struct shop s;
    struct shop_goods g = {.name = json_str(r->body, "name"),
                           .unit = json_str(r->body, "unit"),
                           .price = json_int(r->body, "price", 0),
                           .stock = json_int(r->body, "stock", 0),
                           .on_sale = json_bool(r->body, "on_sale", true)};
    err e = goods_text(&g);
    if (e || (e = own_shop(r, "shop.goods.create", &s)))
        return e;
    g.shop_id = s.id;
    db_hold(r->db);
    e = shop_goods_add(r->db, &g);
    if ((e = req_write_done(r, e, "shop.goods.create", "shop_goods", e ? 0 : g.id, "")))
        return e;
    return reply_json(r, 201, goods_json(&g));
}

static err patch_own_goods(struct req *r)
{
    int64_t id;
    struct shop s;
    struct shop_goods g = {.name = json_str(r->body, "name"), .unit = json_str(r->body, "unit")},
                      out;
    unsigned set = 0;
    err e = req_param_id(r, 0, &id);
    if (e || (e = goods_text(&g)))
        return e;
    if (json_has(r->body, "name"))
        set |= SHOP_G_NAME;
    if (json_has(r->body, "unit"))
        set |= SHOP_G_UNIT;
    if (json_has(r->body, "price")) {
        set |= SHOP_G_PRICE;
        g.price = json_int(r->body, "price", 0);
    }
    if (json_has(r->body, "stock")) {
        set |= SHOP_G_STOCK;
        g.stock = json_int(r->body, "stock", 0);
    }
    if (json_has(r->body, "on_sale")) {
        set |= SHOP_G_ON_SALE;
        g.on_sale = json_bool(r->body, "on_sale", true);
    }
    if (!set)
        return err_set(E_INPUT, "required", "name", "没有需要修改的内容");
    if (set & SHOP_G_NAME && !g.name)
        return err_set(E_INPUT, "required", "name", "商品名称不能为空");
    if ((e = own_shop(r, "shop.goods.update", &s)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, shop_goods_update(r->db, r->a, s.id, id, set, &g, &out));
    if ((e = req_write_done(r, e, "shop.goods.update", "shop_goods", id, req_body_fields(r))))
        return e;
    return reply_json(r, 200, goods_json(&out));
}

static err get_own_orders(struct req *r)
{
    struct shop s;
    struct shop_order_filter f;
    err e = order_filter(r, &f);
    if (e || (e = own_shop(r, "shop.order.list", &s)))
        return e;
    struct shop_viewer v = {.shop_id = s.id};
    return reply_orders(r, &v, &f, VIEW_FULL, "shop.order.list");
}

static err get_own_order(struct req *r)
{
    struct shop s;
    err e = own_shop(r, "shop.order.read", &s);
    if (e)
        return e;
    struct shop_viewer v = {.shop_id = s.id};
    return reply_order(r, &v, VIEW_FULL, "shop.order.read");
}

static err shop_move(struct req *r, enum shop_order_status from, enum shop_order_status to,
                     const char *action)
{
    struct shop s;
    err e = own_shop(r, action, &s);
    if (e)
        return e;
    struct shop_viewer v = {.shop_id = s.id};
    return move_order(r, &v, from, to, false, VIEW_FULL, action);
}

static err post_shop_confirm(struct req *r)
{
    return shop_move(r, ORDER_PENDING, ORDER_CONFIRMED, "shop.order.confirm");
}

static err post_shop_deliver(struct req *r)
{
    return shop_move(r, ORDER_CONFIRMED, ORDER_DELIVERED, "shop.order.deliver");
}

static err post_shop_cancel(struct req *r)
{
    return shop_move(r, ORDER_PENDING, ORDER_CANCELLED, "shop.order.cancel");
}

/* ---- residents ---- */

static err get_my_shops(struct req *r)
{
    struct person p;
    err e = residents_person(r, "shop.read", &p);
    if (e)
        return e;
    struct shop *items;
    size_t n;
    if ((e = shop_list_near(r->db, r->a, regcode_at_most(p.region_code, LEVEL_COMMUNITY), &items,
                            &n)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = shop_json(&items[i]);
        json_object_del(o, "username");
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

/* A shop of the resident's community, open. */
static err near_shop(struct req *r, const struct person *p, int64_t id, struct shop *s)
{
    struct scope sc = scope_of(regcode_at_most(p->region_code, LEVEL_COMMUNITY));
    err e = shop_find(r->db, r->a, &sc, id, s);
    if (!e && !s->enabled)
        e = err_set(E_NOT_FOUND, "shop_not_found", "shop_id", "商户不存在");
    return e;
}

static err get_my_shop_goods(struct req *r)
{
    int64_t id;
    struct person p;
    struct shop s;
    err e = req_param_id(r, 0, &id);
    if (e || (e = residents_person(r, "shop.read", &p)))
        return e;
    if ((e = near_shop(r, &p, id, &s)))
        return audit_refusal(r->db, r->who, r->ip, "shop.read", "shop", id, e, NULL);
    return reply_goods(r, s.id, true);
}

static const struct jfield order_body[] = {
    {"shop_id", J_STRING, JF_REQUIRED, 1, 20, "商户", NULL, NULL},
    {"delivery", J_STRING, JF_REQUIRED, 0, 0, "配送方式", NULL, NULL},
    {"items", J_ARRAY, JF_REQUIRED, 0, 0, "商品", NULL, NULL},
    {"note", J_STRING, JF_NULLABLE, 0, SHOP_NOTE_MAX, "备注", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_my_order(struct req *r)
{
    struct shop_order o = {.user_id = r->who->user_id, .note = json_str(r->body, "note")};
    const char *dv = json_str(r->body, "delivery");
    if (!strcmp(dv, "door"))
        o.delivery = DELIVERY_DOOR;
    else if (!strcmp(dv, "pickup"))
        o.delivery = DELIVERY_PICKUP;
    else
        return err_set(E_INPUT, "invalid_value", "delivery", "配送方式只能为送货上门或集中取货点");
    err e = check_text(o.note, "note", "备注", SHOP_NOTE_MAX, TEXT_ONE_LINE);
    if (!e && (o.shop_id = id_parse(json_str(r->body, "shop_id"))) <= 0)
        e = err_set(E_INPUT, "invalid_value", "shop_id", "商户不正确");
    if (e || (e = lines_from(r, SHOP_QTY_MAX, &o.lines, &o.n_lines)))
        return e;
    struct person p;
    struct shop s;
    if ((e = residents_person(r, "shop.order.create", &p)))
        return e;
    o.person_id = p.id;
    o.region_code = p.region_code;
    o.recipient = p.name;
    o.address = p.address ? p.address : "";
    db_hold(r->db);
    if (!(e = near_shop(r, &p, o.shop_id, &s)) && !(e = db_begin(r->db)))
        e = req_tx_end(r, shop_order_place(r->db, r->a, &o));
    if ((e = req_write_done(r, e, "shop.order.create", "shop_order", e ? 0 : o.id,
                            arena_printf(r->a, "lines=%zu", o.n_lines))))
        return e;
    return reply_json(r, 201, order_json(r->a, &o, VIEW_FULL));
}

static err get_my_orders(struct req *r)
{
    struct shop_order_filter f;
    err e = order_filter(r, &f);
    if (e)
        return e;
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct shop_viewer v = {.user_id = r->who->user_id};
    return reply_orders(r, &v, &f, VIEW_FULL, "shop.order.list");
}

static err get_my_order(struct req *r)
{
    struct shop_viewer v = {.user_id = r->who->user_id};
    return reply_order(r, &v, VIEW_FULL, "shop.order.read");
}

static err post_my_cancel(struct req *r)
{
    struct shop_viewer v = {.user_id = r->who->user_id};
    return move_order(r, &v, ORDER_PENDING, ORDER_CANCELLED, false, VIEW_FULL, "shop.order.cancel");
}

static err post_my_receive(struct req *r)
{
    struct shop_viewer v = {.user_id = r->who->user_id};
    return move_order(r, &v, ORDER_DELIVERED, ORDER_RECEIVED, false, VIEW_FULL,
                      "shop.order.receive");
}

const struct route shop_routes[] = {
    {M_POST, "/api/v1/shops", post_shop, PERM_SHOP_MANAGE, 0, shop_body, "创建生活物资商户及其账号",
     "shop", 0},
    {M_GET, "/api/v1/shops", get_shops, PERM_SHOP_MANAGE, 0, NULL,
     "辖区内商户（q 名称，分页，format=csv|xlsx 导出）", "shop", 0},
    {M_PATCH, "/api/v1/shops/{id}", patch_shop, PERM_SHOP_MANAGE, 0, shop_patch_body,
     "启用或停用商户", "shop", 0},
    {M_GET, "/api/v1/shops/{id}/goods", get_shop_goods, PERM_SHOP_MANAGE, 0, NULL, "商户的商品",
     "shop", 0},
    {M_GET, "/api/v1/shop-orders", get_orders, PERM_SHOP_MANAGE, 0, NULL,
     "辖区内生活物资订单（status、shop_id、group 筛选，分页，导出）", "shop", 0},
    {M_POST, "/api/v1/shop-orders", post_group_order, PERM_SHOP_MANAGE, 0, group_body,
     "封控楼栋团购：按户数代居民下单，送至楼栋", "shop", 0},
    {M_GET, "/api/v1/shop-orders/{id}", get_order, PERM_SHOP_MANAGE, 0, NULL, "一个订单", "shop",
     0},
    {M_POST, "/api/v1/shop-orders/{id}/receive", post_group_receive, PERM_SHOP_MANAGE, 0, NULL,
     "团购订单已送达楼栋，工作人员确认收货并分发", "shop", 0},
    {M_POST, "/api/v1/shop-orders/{id}/cancel", post_group_cancel, PERM_SHOP_MANAGE, 0, NULL,
     "取消待确认的团购订单（库存退回）", "shop", 0},
    {M_GET, "/api/v1/shop/me", get_shop_me, PERM_SHOP_SELL, 0, NULL, "本商户", "shop", 0},
    {M_GET, "/api/v1/shop/goods", get_own_goods, PERM_SHOP_SELL, 0, NULL, "本商户的商品", "shop",
     0},
    {M_POST, "/api/v1/shop/goods", post_own_goods, PERM_SHOP_SELL, 0, goods_body, "上架商品",
     "shop", 0},
    {M_PATCH, "/api/v1/shop/goods/{id}", patch_own_goods, PERM_SHOP_SELL, 0, goods_body,
     "修改商品（价格、库存、上下架）", "shop", 0},
    {M_GET, "/api/v1/shop/orders", get_own_orders, PERM_SHOP_SELL, 0, NULL, "本商户的订单", "shop",
     0},
    {M_GET, "/api/v1/shop/orders/{id}", get_own_order, PERM_SHOP_SELL, 0, NULL,
     "本商户的一个订单（完整收货地址）", "shop", 0},
    {M_POST, "/api/v1/shop/orders/{id}/confirm", post_shop_confirm, PERM_SHOP_SELL, 0, NULL,
     "商户确认订单", "shop", 0},
    {M_POST, "/api/v1/shop/orders/{id}/deliver", post_shop_deliver, PERM_SHOP_SELL, 0, NULL,
     "商户送达（货到付款，标记已付款）", "shop", 0},
    {M_POST, "/api/v1/shop/orders/{id}/cancel", post_shop_cancel, PERM_SHOP_SELL, 0, NULL,
     "商户取消待确认订单（库存退回）", "shop", 0},
    {M_GET, "/api/v1/me/shops", get_my_shops, PERM_SELF, 0, NULL, "本社区的生活物资商户", "shop",
     0},
    {M_GET, "/api/v1/me/shops/{id}/goods", get_my_shop_goods, PERM_SELF, 0, NULL, "商户在售商品",
     "shop", 0},
    {M_POST, "/api/v1/me/orders", post_my_order, PERM_SELF, 0, order_body,
     "居民下单（库存不足 409）", "shop", 0},
    {M_GET, "/api/v1/me/orders", get_my_orders, PERM_SELF, 0, NULL, "我的订单", "shop", 0},
    {M_GET, "/api/v1/me/orders/{id}", get_my_order, PERM_SELF, 0, NULL, "我的一个订单", "shop", 0},
    {M_POST, "/api/v1/me/orders/{id}/cancel", post_my_cancel, PERM_SELF, 0, NULL,
     "取消待确认的订单（库存退回）", "shop", 0},
    {M_POST, "/api/v1/me/orders/{id}/receive", post_my_receive, PERM_SELF, 0, NULL, "确认收货",
     "shop", 0},
};
const size_t shop_routes_n = sizeof shop_routes / sizeof shop_routes[0];

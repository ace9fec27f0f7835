/*
 * Daily goods: shops, goods, stock and orders (shop.h has the contract;
 * docs/community-life.md the API). Stock is reserved by conditional
 * UPDATEs inside the order's transaction, so neither driver oversells.
 */
#include <string.h>

#include "base/id.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/query.h"
#include "region/region.h"
#include "security/crypto.h"
#include "shop/shop.h"
#include "user/user.h"

static const struct vocab_word status_words[] = {
    {"", ""},
    {"pending", "待确认"},
    {"confirmed", "已确认"},
    {"delivered", "已送达"},
    {"received", "已收货"},
    {"cancelled", "已取消"},
};
const struct vocab shop_order_status_vocab = VOCAB("shop_order_status", "订单状态", status_words);

static const struct vocab_word delivery_words[] = {
    {"", ""},
    {"door", "送货上门（无接触）"},
    {"pickup", "集中取货点自取"},
    {"building", "送至楼栋（团购）"},
};
const struct vocab shop_delivery_vocab = VOCAB("shop_delivery", "配送方式", delivery_words);

/* ---- shops ---- */

#define SHOP_COLS                                                                                  \
    "s.id, s.name, s.region_code, COALESCE(r.name, ''), s.address, s.phone, s.user_id, "           \
    "COALESCE(u.username, ''), s.enabled, s.created_at"
#define SHOP_FROM                                                                                  \
    " FROM shops s LEFT JOIN regions r ON r.code = s.region_code LEFT JOIN users u ON u.id = "     \
    "s.user_id"

static err shop_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct shop *p = item;
    p->id = db_col_int64(s, 0);
    p->name = arena_strdup(a, db_col_text(s, 1));
    p->region_code = db_col_int64(s, 2);
    p->region_name = arena_strdup(a, db_col_text(s, 3));
    p->address = arena_strdup(a, db_col_text(s, 4));
    p->phone = arena_strdup(a, db_col_text(s, 5));
    p->user_id = db_col_int64(s, 6);
    p->username = arena_strdup(a, db_col_text(s, 7));
    p->enabled = db_col_int64(s, 8) != 0;
    p->created_at = db_col_int64(s, 9);
    return E_OK;
}

static err shop_not_found(void)
{
    return err_set(E_NOT_FOUND, "shop_not_found", "shop_id", "商户不存在");
}

/* The one shop `where` (a fixed fragment binding one id) selects inside sc
 * (NULL: anywhere); E_NOT_FOUND "shop_not_found" when none. */
static err shop_get(db *d, arena *a, const char *where, int64_t v, const struct scope *sc,
                    struct shop *s_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " SHOP_COLS SHOP_FROM " WHERE ");
    query_sql(&q, where);
    query_int(&q, v);
    if (sc) {
        query_sql(&q, " AND s.region_code >= ? AND s.region_code < ?");
        query_int(&q, sc->lo);
        query_int(&q, sc->hi);
    }
    return query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *s_r, .read = shop_read, .not_found = shop_not_found},
        s_r);
}

err shop_create(db *d, arena *a, const struct principal *by, const struct shop_new *in,
                struct shop *s_r)
{
    struct region reg;
    if (!scope_has(&by->scope, in->region_code) ||
        region_find(d, &by->scope, in->region_code, false, a, &reg))
        return err_set(E_INPUT, "invalid_region", "region_code", "所属区划不存在或不在管辖范围内");
    /* The account is the shop's, in the shop's region, holding role shop
     * only: shop.manage grants exactly that, so the account is created as
     * the platform (user_create's NULL caller), after the scope check above. */
    static const char *const roles[] = {"shop"};
    struct user_new un = {.username = in->username,
                          .display_name = in->display_name ? in->display_name : in->name,
                          .password = in->password,
                          .region_code = in->region_code,
                          .roles = roles,
                          .n_roles = 1,
                          .must_change_password = false};
    int64_t uid;
    err e = user_create(d, a, NULL, &un, &uid);
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO shops (id, name, region_code, address, phone, user_id, "
                        "enabled, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
                        "1, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->name);
    db_bind_int64(s, 3, in->region_code);
    db_bind_text(s, 4, in->address ? in->address : "");
    db_bind_text(s, 5, in->phone ? in->phone : "");
    db_bind_int64(s, 6, uid);
    db_bind_int64(s, 7, by->user_id);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)))
        return e;
    return shop_get(d, a, "s.id = ?", id, NULL, s_r);
}

err shop_list(db *d, arena *a, const struct scope *sc, const char *q, int64_t page,
              int64_t page_size, struct shop **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    query_sql(w, SHOP_FROM " WHERE s.region_code >= ? AND s.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (q && *q) {
        query_sql(w, " AND s.name LIKE ? ESCAPE '\\'");
        query_text(w, query_like_contains(a, q, false));
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " SHOP_COLS,
                                            .order = " ORDER BY s.name, s.id",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = SHOP_EXPORT_MAX,
                                            .size = sizeof(struct shop),
                                            .read = shop_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

err shop_set_enabled(db *d, arena *a, const struct scope *sc, int64_t id, bool enabled,
                     struct shop *s_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE shops SET enabled = ?, updated_at = ? WHERE id = ? AND "
                       "region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, enabled);
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, sc->lo);
    db_bind_int64(s, 5, sc->hi);
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0)
        return err_set(E_NOT_FOUND, "shop_not_found", NULL, "商户不存在");
    return shop_get(d, a, "s.id = ?", id, NULL, s_r);
}

err shop_find(db *d, arena *a, const struct scope *sc, int64_t id, struct shop *s_r)
{
    return shop_get(d, a, "s.id = ?", id, sc, s_r);
}

err shop_of_user(db *d, arena *a, int64_t user_id, struct shop *s_r)
{
    err e = shop_get(d, a, "s.user_id = ?", user_id, NULL, s_r);
    if (e == E_NOT_FOUND)
        return err_set(E_FORBIDDEN, "shop_not_linked", NULL, "该账号未关联商户");
    return e;
}

err shop_list_near(db *d, arena *a, int64_t community, struct shop **items_r, size_t *n_r)
{
    struct scope sc = scope_of(community);
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    query_sql(w, SHOP_FROM " WHERE s.region_code >= ? AND s.region_code < ? AND s.enabled = 1");
    query_int(w, sc.lo);
    query_int(w, sc.hi);
    void *items;
    int64_t total;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " SHOP_COLS,
                                            .order = " ORDER BY s.name, s.id",
                                            .page = 1,
                                            .page_size = 100,
                                            .max = 100,
                                            .size = sizeof(struct shop),
                                            .read = shop_read},
                       &items, n_r, &total);
    if (!e)
        *items_r = items;
    return e;
}

/* ---- goods ---- */

#define GOODS_COLS "id, shop_id, name, unit, price, stock, on_sale, updated_at"

static err goods_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct shop_goods *g = item;
    g->id = db_col_int64(s, 0);
    g->shop_id = db_col_int64(s, 1);
    g->name = arena_strdup(a, db_col_text(s, 2));
    g->unit = arena_strdup(a, db_col_text(s, 3));
    g->price = db_col_int64(s, 4);
    g->stock = db_col_int64(s, 5);
    g->on_sale = db_col_int64(s, 6) != 0;
    g->updated_at = db_col_int64(s, 7);
    return E_OK;
}

err shop_goods_list(db *d, arena *a, int64_t shop_id, bool on_sale_only,
                    struct shop_goods **items_r, size_t *n_r)
{
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    query_sql(w, " FROM shop_goods WHERE shop_id = ?");
    query_int(w, shop_id);
    if (on_sale_only)
        query_sql(w, " AND on_sale = 1");
    void *items;
    int64_t total;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " GOODS_COLS,
                                            .order = " ORDER BY id",
                                            .page = 1,
                                            .page_size = 0,
                                            .max = SHOP_EXPORT_MAX,
                                            .size = sizeof(struct shop_goods),
                                            .read = goods_read},
                       &items, n_r, &total);
    if (!e)
        *items_r = items;
    return e;
}

err shop_goods_add(db *d, struct shop_goods *g)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO shop_goods (id, shop_id, name, unit, price, stock, on_sale, "
                       "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    g->id = id_new();
    g->updated_at = now_ms();
    db_bind_int64(s, 1, g->id);
    db_bind_int64(s, 2, g->shop_id);
    db_bind_text(s, 3, g->name);
    db_bind_text(s, 4, g->unit ? g->unit : "");
    db_bind_int64(s, 5, g->price);
    db_bind_int64(s, 6, g->stock);
    db_bind_int64(s, 7, g->on_sale);
    db_bind_int64(s, 8, g->updated_at);
    db_bind_int64(s, 9, g->updated_at);
    return db_run(s, NULL);
}

static err goods_not_found(void)
{
    return err_set(E_NOT_FOUND, "goods_not_found", NULL, "商品不存在");
}

static err goods_get(db *d, arena *a, int64_t shop_id, int64_t id, struct shop_goods *g_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " GOODS_COLS " FROM shop_goods WHERE id = ? AND shop_id = ?");
    query_int(&q, id);
    query_int(&q, shop_id);
    return query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *g_r, .read = goods_read, .not_found = goods_not_found},
        g_r);
}

err shop_goods_update(db *d, arena *a, int64_t shop_id, int64_t id, unsigned set,
                      const struct shop_goods *g, struct shop_goods *g_r)
{
    struct shop_goods cur;
    err e = goods_get(d, a, shop_id, id, &cur);
    if (e)
        return e;
    if (set & SHOP_G_NAME)
        cur.name = g->name;
    if (set & SHOP_G_UNIT)
        cur.unit = g->unit;
    if (set & SHOP_G_PRICE)
        cur.price = g->price;
    if (set & SHOP_G_ON_SALE)
        cur.on_sale = g->on_sale;
    db_stmt *s;
    /* the stock is set only when asked, so a concurrent order's reservation
     * between the read above and this write is never undone by an edit of
     * the name or price */
    if ((e = db_prepare(d,
                        (set & SHOP_G_STOCK)
                            ? "UPDATE shop_goods SET name = ?, unit = ?, price = ?, on_sale = ?, "
                              "updated_at = ?, stock = ? WHERE id = ? AND shop_id = ?"
                            : "UPDATE shop_goods SET name = ?, unit = ?, price = ?, on_sale = ?, "
                              "updated_at = ?, stock = stock + ? WHERE id = ? AND shop_id = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, cur.name);
    db_bind_text(s, 2, cur.unit);
    db_bind_int64(s, 3, cur.price);
    db_bind_int64(s, 4, cur.on_sale);
    db_bind_int64(s, 5, now_ms());
    db_bind_int64(s, 6, (set & SHOP_G_STOCK) ? g->stock : 0);
    db_bind_int64(s, 7, id);
    db_bind_int64(s, 8, shop_id);
    if ((e = db_run(s, NULL)))
        return e;
    return goods_get(d, a, shop_id, id, g_r);
}

/* ---- orders ---- */

static err order_insert(db *d, arena *a, struct shop_order *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO shop_orders (id, shop_id, region_code, user_id, person_id, "
                       "grp, households, delivery, recipient_enc, address_enc, note, total, "
                       "status, paid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, 0, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, o->id);
    db_bind_int64(s, 2, o->shop_id);
    db_bind_int64(s, 3, o->region_code);
    db_bind_int64(s, 4, o->user_id);
    db_bind_int64(s, 5, o->person_id);
    db_bind_int64(s, 6, o->group);
    db_bind_int64(s, 7, o->households);
    db_bind_text(s, 8, vocab_name(&shop_delivery_vocab, o->delivery));
    if ((e = seal_bind(a, s, 9, "shop_orders.recipient", o->recipient)) ||
        (e = seal_bind(a, s, 10, "shop_orders.address", o->address))) {
        db_done(s);
        return e;
    }
    db_bind_text(s, 11, o->note ? o->note : "");
    db_bind_int64(s, 12, o->total);
    db_bind_text(s, 13, vocab_name(&shop_order_status_vocab, ORDER_PENDING));
    db_bind_int64(s, 14, o->created_at);
    db_bind_int64(s, 15, o->created_at);
    return db_run(s, NULL);
}

err shop_order_place(db *d, arena *a, struct shop_order *o)
{
    struct shop sh;
    err e = shop_get(d, a, "s.id = ? AND s.enabled = 1", o->shop_id, NULL, &sh);
    if (e)
        return e;
    o->shop_name = sh.name;
    o->id = id_new();
    o->created_at = now_ms();
    o->total = 0;
    for (size_t i = 0; i < o->n_lines; i++) {
        struct shop_line *l = &o->lines[i];
        for (size_t j = 0; j < i; j++)
            if (o->lines[j].goods_id == l->goods_id)
                return err_set(E_INPUT, "duplicate_goods",
                               arena_printf(a, "items[%zu].goods_id", i), "同一商品重复下单");
        struct shop_goods g;
        e = goods_get(d, a, o->shop_id, l->goods_id, &g);
        if (e == E_NOT_FOUND || (!e && !g.on_sale))
            return err_set(E_INPUT, "goods_not_found", arena_printf(a, "items[%zu].goods_id", i),
                           "商品不存在或已下架");
        if (e)
            return e;
        if (o->group)
            l->qty *= o->households;
        l->name = g.name;
        l->unit = g.unit;
        l->price = g.price;
        o->total += g.price * l->qty;
        /* the reservation: one conditional UPDATE, so two orders for the
         * last item cannot both take it (the row is locked by the first
         * writer on PostgreSQL, the database by it on SQLite) */
        db_stmt *s;
        if ((e = db_prepare(d,
                            "UPDATE shop_goods SET stock = stock - ?, updated_at = ? WHERE id = ? "
                            "AND shop_id = ? AND stock >= ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, l->qty);
        db_bind_int64(s, 2, o->created_at);
        db_bind_int64(s, 3, l->goods_id);
        db_bind_int64(s, 4, o->shop_id);
        db_bind_int64(s, 5, l->qty);
        int64_t n;
        if ((e = db_run(s, &n)))
            return e;
        if (n == 0)
            return err_set(E_CONFLICT, "insufficient_stock", arena_printf(a, "items[%zu].qty", i),
                           "库存不足");
        if ((e = db_prepare(d,
                            "INSERT INTO shop_order_items (order_id, goods_id, name, unit, price, "
                            "qty) VALUES (?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, o->id);
        db_bind_int64(s, 2, l->goods_id);
        db_bind_text(s, 3, l->name);
        db_bind_text(s, 4, l->unit);
        db_bind_int64(s, 5, l->price);
        db_bind_int64(s, 6, l->qty);
        if ((e = db_run(s, NULL)))
            return e;
    }
    o->status = ORDER_PENDING;
    return order_insert(d, a, o);
}

#define ORDER_COLS                                                                                 \
    "o.id, o.shop_id, COALESCE(s.name, ''), o.region_code, COALESCE(r.name, ''), o.user_id, "      \
    "o.person_id, o.grp, o.households, o.delivery, o.recipient_enc, o.address_enc, o.note, "       \
    "o.total, o.status, o.paid, o.created_at, o.confirmed_at, o.delivered_at, o.received_at, "     \
    "o.cancelled_at"
#define ORDER_FROM                                                                                 \
    " FROM shop_orders o LEFT JOIN shops s ON s.id = o.shop_id LEFT JOIN regions r ON r.code = "   \
    "o.region_code"

static err order_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    struct shop_order *o = item;
    memset(o, 0, sizeof *o);
    o->id = db_col_int64(s, 0);
    o->shop_id = db_col_int64(s, 1);
    o->shop_name = arena_strdup(a, db_col_text(s, 2));
    o->region_code = db_col_int64(s, 3);
    o->region_name = arena_strdup(a, db_col_text(s, 4));
    o->user_id = db_col_int64(s, 5);
    o->person_id = db_col_int64(s, 6);
    o->group = db_col_int64(s, 7) != 0;
    o->households = db_col_int64(s, 8);
    int dv = vocab_parse(&shop_delivery_vocab, db_col_text(s, 9));
    o->delivery = dv > 0 ? (enum shop_delivery)dv : DELIVERY_DOOR;
    err e = unseal_col(a, s, 10, "shop_orders.recipient", &o->recipient);
    if (e || (e = unseal_col(a, s, 11, "shop_orders.address", &o->address)))
        return e;
    o->note = arena_strdup(a, db_col_text(s, 12));
    o->total = db_col_int64(s, 13);
    int st = vocab_parse(&shop_order_status_vocab, db_col_text(s, 14));
    o->status = st > 0 ? (enum shop_order_status)st : ORDER_PENDING;
    o->paid = db_col_int64(s, 15) != 0;
    o->created_at = db_col_int64(s, 16);
    o->confirmed_at = db_col_int64(s, 17);
    o->delivered_at = db_col_int64(s, 18);
    o->received_at = db_col_int64(s, 19);
    o->cancelled_at = db_col_int64(s, 20);
    return E_OK;
}

/* The viewer's condition on o, appended to q. */
static void viewer_where(struct query *q, const struct shop_viewer *v)
{
    if (v->user_id) {
        query_sql(q, " AND o.user_id = ?");
        query_int(q, v->user_id);
    } else if (v->shop_id) {
        query_sql(q, " AND o.shop_id = ?");
        query_int(q, v->shop_id);
    } else {
        query_sql(q, " AND o.region_code >= ? AND o.region_code < ?");
        query_int(q, v->scope->lo);
        query_int(q, v->scope->hi);
    }
}

static err order_lines(db *d, arena *a, struct shop_order *o)
{
    db_stmt *s;
    err e;
    struct shop_line *l;
    if ((e = db_prepare(d,
                        "SELECT goods_id, name, unit, price, qty FROM shop_order_items WHERE "
                        "order_id = ? ORDER BY name, goods_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, o->id);
    l = arena_zalloc(a, sizeof *l * SHOP_ORDER_LINES);
    if (!l) {
        db_done(s);
        return E_NOMEM;
    }
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < SHOP_ORDER_LINES) {
        l[n].goods_id = db_col_int64(s, 0);
        l[n].name = arena_strdup(a, db_col_text(s, 1));
        l[n].unit = arena_strdup(a, db_col_text(s, 2));
        l[n].price = db_col_int64(s, 3);
        l[n].qty = db_col_int64(s, 4);
        n++;
    }
    db_done(s);
    if (!e) {
        o->lines = l;
        o->n_lines = n;
    }
    return e;
}

static err order_not_found(void)
{
    return err_set(E_NOT_FOUND, "order_not_found", NULL, "订单不存在");
}

err shop_order_find(db *d, arena *a, const struct shop_viewer *v, int64_t id,
                    struct shop_order *o_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " ORDER_COLS ORDER_FROM " WHERE o.id = ?");
    query_int(&q, id);
    viewer_where(&q, v);
    err e = query_one(
        d, a,
        &(struct query_one){
            .q = &q, .size = sizeof *o_r, .read = order_read, .not_found = order_not_found},
        o_r);
    return e ? e : order_lines(d, a, o_r);
}

err shop_order_list(db *d, arena *a, const struct shop_viewer *v, const struct shop_order_filter *f,
                    struct shop_order **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_zalloc(a, sizeof *w);
    if (!w)
        return E_NOMEM;
    query_sql(w, ORDER_FROM " WHERE 1 = 1");
    viewer_where(w, v);
    if (f->status) {
        query_sql(w, " AND o.status = ?");
        query_text(w, vocab_name(&shop_order_status_vocab, f->status));
    }
    if (f->shop_id) {
        query_sql(w, " AND o.shop_id = ?");
        query_int(w, f->shop_id);
    }
    if (f->group >= 0) {
        query_sql(w, " AND o.grp = ?");
        query_int(w, f->group);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " ORDER_COLS,
                                            .order = " ORDER BY o.created_at DESC, o.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = SHOP_EXPORT_MAX,
                                            .size = sizeof(struct shop_order),
                                            .read = order_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* The column stamped when an order enters `to`. */
static const char *const move_sql[ORDER_STATUS__COUNT] = {
    [ORDER_CONFIRMED] = "UPDATE shop_orders SET status = ?, confirmed_at = ?, updated_at = ? "
                        "WHERE id = ? AND status = ?",
    [ORDER_DELIVERED] = "UPDATE shop_orders SET status = ?, delivered_at = ?, paid = 1, "
                        "updated_at = ? WHERE id = ? AND status = ?",
    [ORDER_RECEIVED] = "UPDATE shop_orders SET status = ?, received_at = ?, updated_at = ? "
                       "WHERE id = ? AND status = ?",
    [ORDER_CANCELLED] = "UPDATE shop_orders SET status = ?, cancelled_at = ?, updated_at = ? "
                        "WHERE id = ? AND status = ?",
};

err shop_order_move(db *d, arena *a, const struct shop_viewer *v, int64_t id,
                    enum shop_order_status from, enum shop_order_status to, int64_t now,
                    struct shop_order *o_r)
{
    struct shop_order o;
    err e = shop_order_find(d, a, v, id, &o);
    if (e)
        return e;
    if (o.status != from || to <= ORDER_PENDING || to >= ORDER_STATUS__COUNT)
        return err_set(E_CONFLICT, "order_state", "status", "订单当前状态不允许此操作");
    db_stmt *s;
    if ((e = db_prepare(d, move_sql[to], &s)))
        return e;
    db_bind_text(s, 1, vocab_name(&shop_order_status_vocab, to));
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, id);
    db_bind_text(s, 5, vocab_name(&shop_order_status_vocab, from));
    int64_t n;
    if ((e = db_run(s, &n)))
        return e;
    if (n == 0) /* moved by someone else since the read */
        return err_set(E_CONFLICT, "order_state", "status", "订单当前状态不允许此操作");
    for (size_t i = 0; to == ORDER_CANCELLED && i < o.n_lines; i++) {
        if ((e = db_prepare(d,
                            "UPDATE shop_goods SET stock = stock + ?, updated_at = ? WHERE id = ? "
                            "AND shop_id = ?",
                            &s)))
            return e;
        db_bind_int64(s, 1, o.lines[i].qty);
        db_bind_int64(s, 2, now);
        db_bind_int64(s, 3, o.lines[i].goods_id);
        db_bind_int64(s, 4, o.shop_id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return shop_order_find(d, a, v, id, o_r);
}

/*
 * Daily goods (生活物资, issue 14; seed 002 二(七); docs/community-life.md):
 * shops near a community, their goods with price and stock, and the orders
 * placed with them.
 *
 * A shop is created by community or street staff (shop.manage) inside
 * their scope together with its account (role `shop`, users.id in
 * shops.user_id); the account sells (shop.sell) and sees its own shop's
 * goods and orders only. Residents of the shop's community (the community
 * of the shop's region, regcode_at_most(LEVEL_COMMUNITY)) see its goods on
 * sale and order for delivery to the door or a collection point; the
 * delivery region is their residence, the scope key of staff lists.
 *
 * Stock: an order reserves the stock of each of its lines in the same
 * transaction, with one conditional UPDATE per line (stock = stock - q
 * WHERE stock >= q): a line above the stock fails the whole order with
 * E_CONFLICT "insufficient_stock" on items[i].qty and nothing is written,
 * and two orders for the last item cannot both succeed on either driver.
 * Cancelling a pending order returns its stock in the same transaction.
 *
 * States: pending -> confirmed (by the shop) -> delivered (by the shop;
 * marked paid: payment happens at the door, out of scope) -> received (by
 * the resident, or by staff for a group order); pending -> cancelled (by
 * the one who placed it, or by the shop). A transition from another state
 * is E_CONFLICT "order_state" and changes nothing.
 *
 * Group orders (团购) for sealed buildings: community staff order for a
 * building in their scope on its residents' behalf, per household
 * quantities times households, delivered to the building, where staff
 * distribute; staff confirm receipt.
 *
 * Personal data: an order's recipient (the resident's name) and address
 * are sealed (labels shop_orders.recipient, shop_orders.address) and masked
 * in lists; the shop sees the full address it must deliver to (its orders
 * only), audited. Nothing here knows HTTP; strings come from the caller's
 * arena.
 */
#ifndef FK_SHOP_SHOP_H
#define FK_SHOP_SHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define SHOP_NAME_MAX    40 /* characters */
#define SHOP_ADDRESS_MAX 100
#define SHOP_GOODS_MAX   60 /* a goods' name */
#define SHOP_UNIT_MAX    10
#define SHOP_PRICE_MAX   10000000 /* fen: 100 000 元 */
#define SHOP_STOCK_MAX   1000000
#define SHOP_ORDER_LINES 20
#define SHOP_QTY_MAX     999
#define SHOP_HOUSEHOLDS  500 /* a building's households in one group order */
#define SHOP_NOTE_MAX    200
#define SHOP_EXPORT_MAX  10000

enum shop_order_status {
    ORDER_PENDING = 1, /* 待确认 */
    ORDER_CONFIRMED,   /* 已确认 */
    ORDER_DELIVERED,   /* 已送达 */
    ORDER_RECEIVED,    /* 已收货 */
    ORDER_CANCELLED,   /* 已取消 */
    ORDER_STATUS__COUNT
};
extern const struct vocab shop_order_status_vocab; /* pending … cancelled */

enum shop_delivery { DELIVERY_DOOR = 1, DELIVERY_PICKUP, DELIVERY_BUILDING, DELIVERY__COUNT };
/* door 送货上门（无接触）, pickup 到集中取货点, building 送至楼栋（团购） */
extern const struct vocab shop_delivery_vocab;

struct shop {
    int64_t id;
    const char *name;
    int64_t region_code; /* padded */
    const char *region_name;
    const char *address, *phone;
    int64_t user_id;
    const char *username; /* the shop's account */
    bool enabled;
    int64_t created_at;
};

struct shop_goods {
    int64_t id, shop_id;
    const char *name, *unit;
    int64_t price; /* fen */
    int64_t stock;
    bool on_sale;
    int64_t updated_at;
};

struct shop_line {
    int64_t goods_id;
    int64_t qty; /* of the order; a group order's per household before shop_order_place */
    const char *name, *unit;
    int64_t price;
};

struct shop_order {
    int64_t id, shop_id;
    const char *shop_name;
    int64_t region_code;
    const char *region_name;
    int64_t user_id, person_id;
    bool group;
    int64_t households;
    enum shop_delivery delivery;
    const char *recipient, *address; /* unsealed; the API masks them for staff */
    const char *note;
    int64_t total;
    enum shop_order_status status;
    bool paid;
    int64_t created_at, confirmed_at, delivered_at, received_at, cancelled_at;
    struct shop_line *lines;
    size_t n_lines;
};

/* ---- shops (shop.manage) ---- */

struct shop_new {
    const char *name, *address, *phone;
    int64_t region_code; /* padded, inside the caller's scope */
    const char *username, *password, *display_name;
};

/*
 * Create a shop and its account (role shop, in the shop's region) inside
 * the caller's transaction. E_INPUT "invalid_region" on region_code (unknown
 * or outside `by`'s scope), the account's errors (user_create: username,
 * password, "duplicate_username" 409). *s_r gets the shop.
 */
err shop_create(db *d, arena *a, const struct principal *by, const struct shop_new *in,
                struct shop *s_r) MUST_USE;

/* Shops inside sc, by name; q: the name contains. Paged (page_size <= 0:
 * all, at most SHOP_EXPORT_MAX). */
err shop_list(db *d, arena *a, const struct scope *sc, const char *q, int64_t page,
              int64_t page_size, struct shop **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* Enable or disable a shop inside sc: a disabled shop is not shown to
 * residents and takes no order. E_NOT_FOUND. */
err shop_set_enabled(db *d, arena *a, const struct scope *sc, int64_t id, bool enabled,
                     struct shop *s_r) MUST_USE;

/* One shop inside sc (enabled or not): E_NOT_FOUND "shop_not_found". */
err shop_find(db *d, arena *a, const struct scope *sc, int64_t id, struct shop *s_r) MUST_USE;

/* The shop whose account is user_id: E_FORBIDDEN "shop_not_linked" when
 * none (a shop role on an account no shop was created with). */
err shop_of_user(db *d, arena *a, int64_t user_id, struct shop *s_r) MUST_USE;

/* Enabled shops of `community` (a community code, padded) for a resident. */
err shop_list_near(db *d, arena *a, int64_t community, struct shop **items_r, size_t *n_r) MUST_USE;

/* ---- goods ---- */

/* Goods of a shop, by id; on_sale_only for residents. */
err shop_goods_list(db *d, arena *a, int64_t shop_id, bool on_sale_only,
                    struct shop_goods **items_r, size_t *n_r) MUST_USE;

/* Add goods to shop g->shop_id (fields checked by the caller); g->id set. */
err shop_goods_add(db *d, struct shop_goods *g) MUST_USE;

/* Change goods `id` of shop `shop_id`: the members flagged in `set`
 * (SHOP_G_* bits) from g. E_NOT_FOUND "goods_not_found" (another shop's
 * goods as well). *g_r gets the goods as stored. */
#define SHOP_G_NAME    1u
#define SHOP_G_UNIT    2u
#define SHOP_G_PRICE   4u
#define SHOP_G_STOCK   8u
#define SHOP_G_ON_SALE 16u
err shop_goods_update(db *d, arena *a, int64_t shop_id, int64_t id, unsigned set,
                      const struct shop_goods *g, struct shop_goods *g_r) MUST_USE;

/* ---- orders ---- */

/*
 * Place order o inside the caller's transaction: o->shop_id (an enabled
 * shop: E_NOT_FOUND "shop_not_found"), o->lines[0..n_lines) with goods_id
 * and qty (per household when o->group: multiplied by o->households
 * here), o->region_code, delivery, recipient, address, note, user_id,
 * person_id. Each line's goods must be the shop's and on sale (E_INPUT
 * "goods_not_found" on items[i].goods_id; a goods twice: "duplicate_goods")
 * and in stock (E_CONFLICT "insufficient_stock" on items[i].qty). The
 * lines get name, unit and price; o gets id, total, status pending, times.
 * On any error the caller rolls back: nothing is kept.
 */
err shop_order_place(db *d, arena *a, struct shop_order *o) MUST_USE;

/* Who looks at an order: exactly one member set. */
struct shop_viewer {
    int64_t user_id;           /* the resident who placed it */
    int64_t shop_id;           /* the shop it was placed with */
    const struct scope *scope; /* staff: the delivery region inside it */
};

/* One order as `v` may see it (lines included); E_NOT_FOUND "order_not_found"
 * otherwise (another shop's, another resident's, outside the scope). */
err shop_order_find(db *d, arena *a, const struct shop_viewer *v, int64_t id,
                    struct shop_order *o_r) MUST_USE;

struct shop_order_filter {
    enum shop_order_status status; /* 0: any */
    int64_t shop_id;               /* staff: one shop; 0 any */
    int group;                     /* -1 any, 0 residents' orders, 1 group orders */
    int64_t page, page_size;       /* page_size <= 0: an export */
};

/* Orders `v` may see, newest first, lines not read. */
err shop_order_list(db *d, arena *a, const struct shop_viewer *v, const struct shop_order_filter *f,
                    struct shop_order **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * Move order `id` as `v` sees it from `from` to `to`, inside the caller's
 * transaction, stamping the time of `to` (delivered also marks it paid);
 * to == ORDER_CANCELLED returns the lines' stock. E_NOT_FOUND when v may
 * not see it, E_CONFLICT "order_state" when it is not in `from`. *o_r
 * gets the order after the change.
 */
err shop_order_move(db *d, arena *a, const struct shop_viewer *v, int64_t id,
                    enum shop_order_status from, enum shop_order_status to, int64_t now,
                    struct shop_order *o_r) MUST_USE;

#endif

/*
 * Supplies and dispatch (物资保障调度, seed 003; issue 14; docs/supplies.md;
 * tables in sql/066_supply.sql).
 *
 * The catalogue: nine categories (supply_category_vocab) and their
 * products, seeded by the migration, more added by the dispatchers.
 * Warehouses belong to a region (who sees them, who dispatches from them),
 * optionally run by a supplier enterprise; stock is kept per warehouse and
 * product with a threshold under which the warehouse is short.
 *
 * Reports (填报) keep their history: a warehouse's counted stock (which
 * also sets the stock), a supplier's daily capacity and output, a site's
 * expected need per day.
 *
 * A request (需求) is filed at a region (a community, quarantine site or
 * testing site) with lines (product, quantity), an urgency and a needed-by
 * time. Dispatch (调度) allocates units of lines from warehouses and orders
 * the rest from supplier enterprises (电子订货), all in one transaction:
 * stock leaves each warehouse by a conditional UPDATE (quantity >= taken),
 * so a dispatch from an empty or short warehouse is E_CONFLICT
 * "insufficient_stock" with nothing written, and of two dispatches racing
 * for the last units exactly one succeeds. Each warehouse and supplier
 * gets one delivery, whose logistics state goes pending (待发货) → shipping
 * (运输中) → arrived (已送达) → signed (已签收, the requester's receipt with
 * the quantities received; a shortfall is recorded). A request is open
 * until its lines are covered (dispatched), received when every delivery
 * is signed. Every step is an event of the request's chain.
 *
 * A warehouse whose stock of a product falls under its threshold through
 * a dispatch or a report raises one alert ALERT_SUPPLY_SHORTAGE at the
 * warehouse's region, at the crossing (not again while it stays under).
 *
 * Scope: warehouses, stock and reports by their region; requests and
 * deliveries by the request's region; a caller outside is E_NOT_FOUND.
 * The driver's phone is sealed and shown masked.
 */
#ifndef FK_SUPPLY_SUPPLY_H
#define FK_SUPPLY_SUPPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* "protective" … "other": the nine categories (slot 0 a hole). */
extern const struct vocab supply_category_vocab;
/* community, quarantine, testing */
extern const struct vocab supply_requester_vocab;
/* normal, urgent, critical */
extern const struct vocab supply_urgency_vocab;
/* open, dispatched, received, cancelled */
extern const struct vocab supply_request_state_vocab;
/* pending, shipping, arrived, signed */
extern const struct vocab supply_delivery_state_vocab;
/* stock, production, need */
extern const struct vocab supply_report_kind_vocab;

#define SUPPLY_NAME_MAX   60 /* characters: products, warehouses, sites, carriers */
#define SUPPLY_NOTE_MAX   200
#define SUPPLY_LINES_MAX  50 /* lines of a request, allocations of a dispatch */
#define SUPPLY_QTY_MAX    100000000
#define SUPPLY_COVER_DAYS 3 /* stock for fewer days of the reported need is short */

/* ---- catalogue -------------------------------------------------------------- */

/* The categories with their products: [{code, name, products: [{id, name,
 * spec, unit}]}]: E_DB. */
err supply_catalogue(db *d, json_t **items_r) MUST_USE;

struct supply_product_in {
    const char *category; /* a supply_category_vocab name */
    const char *name, *spec, *unit;
};
/* Add a product; E_CONFLICT "duplicate" when the category has one of that
 * name and spec. *id_r its id. */
err supply_product_add(db *d, const struct supply_product_in *in, int64_t user_id,
                       int64_t *id_r) MUST_USE;

/* ---- warehouses and stock --------------------------------------------------- */

struct supply_warehouse_in {
    int64_t region_code; /* padded, inside the caller's scope (checked by the caller) */
    const char *name, *address;
    int64_t enterprise_id; /* 0: none; else an enterprise inside the scope */
};
/* E_INPUT "invalid_region" (no such region), "invalid_enterprise". */
err supply_warehouse_add(db *d, const struct scope *sc, const struct supply_warehouse_in *in,
                         int64_t user_id, int64_t *id_r) MUST_USE;

/* Warehouses in sc with region_name, enterprise_name, their stock lines
 * ({product_id, product_name, unit, category, quantity, threshold, short})
 * and totals: E_DB. */
err supply_warehouses(db *d, const struct scope *sc, json_t **items_r) MUST_USE;

/* ---- reports (填报) ---------------------------------------------------------- */

struct supply_report_in {
    const char *kind;      /* stock | production | need */
    int64_t warehouse_id;  /* stock */
    int64_t enterprise_id; /* production */
    int64_t region_code;   /* need: the site's region (padded) */
    int64_t product_id;
    int64_t quantity;         /* stock: counted (sets the stock); need: per day */
    int64_t threshold;        /* stock: -1 keeps the current one */
    int64_t capacity, output; /* production */
    const char *note;
};
/* Record a report inside the caller's transaction; a stock report sets
 * the warehouse's stock (and may raise the shortage alert). E_NOT_FOUND
 * for a warehouse or enterprise outside sc, E_INPUT "invalid_product",
 * "invalid_region". */
err supply_report(db *d, const struct scope *sc, const struct supply_report_in *in, int64_t user_id,
                  int64_t *id_r) MUST_USE;

/* The reports in sc, newest first, of `kind` (NULL: all), at most 500,
 * with names: E_DB. */
err supply_reports(db *d, const struct scope *sc, const char *kind, json_t **items_r) MUST_USE;

/* ---- requests ---------------------------------------------------------------- */

struct supply_line_in {
    int64_t product_id;
    int64_t quantity;
};
struct supply_request_in {
    int64_t region_code; /* padded, inside the scope */
    const char *requester, *site_name, *urgency, *note;
    int64_t needed_by; /* epoch ms */
    struct supply_line_in *lines;
    size_t n_lines;
};
/* File a request. E_INPUT "invalid_region", "invalid_product" (field
 * lines[i].product_id), "duplicate_product". */
err supply_request_file(db *d, const struct scope *sc, const struct supply_request_in *in,
                        int64_t user_id, int64_t *id_r) MUST_USE;

/* Requests in sc (state NULL: all), newest first, paged, with region_name,
 * lines summary and figures: E_DB. */
err supply_requests(db *d, const struct scope *sc, const char *state, int64_t page, int64_t size,
                    json_t **items_r, int64_t *total_r) MUST_USE;

/* One request with its lines, deliveries (lines, masked driver phone) and
 * chain (events in order, with user names): E_NOT_FOUND outside sc. */
err supply_request_get(db *d, arena *a, const struct scope *sc, int64_t id,
                       json_t **item_r) MUST_USE;

/* ---- dispatch ---------------------------------------------------------------- */

struct supply_alloc_in {
    int64_t line_id;
    int64_t warehouse_id;  /* allocations */
    int64_t enterprise_id; /* orders */
    int64_t quantity;
};
struct supply_dispatch_in {
    struct supply_alloc_in *allocs; /* from warehouses */
    size_t n_allocs;
    struct supply_alloc_in *orders; /* to supplier enterprises */
    size_t n_orders;
    const char *carrier, *vehicle, *driver_phone; /* optional, on every delivery made */
};
/*
 * Dispatch request id inside the caller's transaction (see the header's
 * paragraph). E_NOT_FOUND for the request outside sc; E_CONFLICT
 * "invalid_transition" unless it is open; E_INPUT "invalid_line",
 * "invalid_warehouse", "invalid_enterprise" (outside sc or unknown, with
 * the field allocations[i].… / orders[i].…), "over_quantity" (more than
 * the line still needs); E_CONFLICT "insufficient_stock" (field
 * allocations[i].quantity). On error the caller rolls back: nothing is
 * written. *deliveries_r the number of deliveries made.
 */
err supply_dispatch(db *d, arena *a, const struct scope *sc, int64_t id,
                    const struct supply_dispatch_in *in, int64_t user_id,
                    int64_t *deliveries_r) MUST_USE;

/*
 * Cancel request id (in sc, else E_NOT_FOUND) inside the caller's
 * transaction, with `reason` in its chain. Only an open request nothing of
 * which was dispatched or ordered can be: else E_CONFLICT
 * "invalid_transition" (deliveries under way are received, not undone).
 * The state changes by a conditional UPDATE and the lines are read after
 * it, and a dispatch changes the state the same way, so of a cancel and a
 * dispatch racing exactly one wins.
 */
err supply_request_cancel(db *d, const struct scope *sc, int64_t id, const char *reason,
                          int64_t user_id) MUST_USE;

/* Move delivery id on (shipping or arrived; carrier, vehicle, driver_phone
 * may be given with shipping). E_NOT_FOUND outside sc, E_CONFLICT
 * "invalid_transition" for a step that is not the next. */
err supply_delivery_move(db *d, arena *a, const struct scope *sc, int64_t id, const char *state,
                         const char *carrier, const char *vehicle, const char *driver_phone,
                         int64_t user_id, int64_t *request_id_r) MUST_USE;

struct supply_receipt_in {
    int64_t line_id;
    int64_t received; /* 0..sent */
};
/* The requester's receipt of delivery id (shipping or arrived): the
 * quantities received per line (a line not given: all received), the
 * shortfall recorded; the request becomes received when its last delivery
 * is signed. E_NOT_FOUND outside sc, E_CONFLICT "invalid_transition",
 * E_INPUT "invalid_line", "over_quantity". */
err supply_receipt(db *d, const struct scope *sc, int64_t id, const struct supply_receipt_in *in,
                   size_t n, int64_t user_id, int64_t *request_id_r) MUST_USE;

/* ---- deliveries from outside a request (delivery.c) ------------------------------ */

#define SUPPLY_LIST_MAX    200 /* deliveries a list returns at most, newest first */
#define SUPPLY_RECENT_DAYS 7   /* signed deliveries stay on the lists this long */

/*
 * The electronic orders (deliveries of source "order") placed with
 * enterprise_id, the supplier the caller's account is bound to (the API
 * reads the binding, enterprise/enterprise.h): the unsigned ones and those
 * signed in the last SUPPLY_RECENT_DAYS, newest first, each {id,
 * request_id, state, state_label, accepted (bool), accepted_at, region_code,
 * region_name, site_name, urgency, urgency_label, needed_by, carrier,
 * vehicle, shortfall, created_at, shipped_at, arrived_at, signed_at, lines:
 * [{line_id, product_name, spec, unit, quantity, received}]}. E_DB.
 */
err supply_orders(db *d, int64_t enterprise_id, json_t **items_r) MUST_USE;

/*
 * The supplier accepts (接单) its order delivery id inside the caller's
 * transaction: a mark and a chain event, the delivery stays pending.
 * E_NOT_FOUND for a delivery not ordered from enterprise_id (another
 * supplier's looks like none); E_CONFLICT "invalid_transition" unless it
 * is pending and not yet accepted.
 */
err supply_order_accept(db *d, int64_t enterprise_id, int64_t id, int64_t user_id,
                        int64_t *request_id_r) MUST_USE;

/* The supplier ships its accepted order delivery id (pending → shipping),
 * as supply_delivery_move does for the district. E_NOT_FOUND as above;
 * E_CONFLICT "not_accepted" before acceptance, "invalid_transition" when
 * it is no longer pending. */
err supply_order_ship(db *d, arena *a, int64_t enterprise_id, int64_t id, const char *carrier,
                      const char *vehicle, const char *driver_phone, int64_t user_id,
                      int64_t *request_id_r) MUST_USE;

/* The deliveries to the regions of sc (the requesters' side, who sign the
 * receipts): unsigned ones and those signed in the last SUPPLY_RECENT_DAYS,
 * newest first, items as supply_orders' plus source, source_label and
 * source_name (the warehouse or supplier). E_DB. */
err supply_deliveries_to(db *d, const struct scope *sc, json_t **items_r) MUST_USE;

/* ---- balance ----------------------------------------------------------------- */

/* Supply and demand per category inside sc: stock (warehouses), on_order
 * (order deliveries not signed), in_transit (warehouse deliveries not
 * signed), open_need (open request lines not yet covered), gap =
 * open_need - stock - on_order, daily_need (the sum of each region's latest
 * `need` report per product), days_of_cover = stock / daily_need (null
 * without a need), cover_short (fewer than SUPPLY_COVER_DAYS), and short
 * (a gap, or cover_short): E_DB. */
err supply_balance(db *d, const struct scope *sc, json_t **items_r) MUST_USE;

#endif

/*
 * What the files of src/supply/ share and nobody else needs: the look-ups
 * of a product, a region and a warehouse in scope, and the one place stock
 * changes (so the shortage alert is raised at every crossing).
 */
#ifndef FK_SUPPLY_PRIVATE_H
#define FK_SUPPLY_PRIVATE_H

#include "supply/supply.h"

/* Product id exists: E_OK; E_INPUT "invalid_product" on `field`; E_DB. */
err supply_product_check(db *d, int64_t id, const char *field) MUST_USE;

/* Region `code` (padded) exists and lies in sc: E_OK; else E_INPUT
 * "invalid_region" on `field`; E_DB. */
err supply_region_check(db *d, const struct scope *sc, int64_t code, const char *field) MUST_USE;

/* Warehouse id in sc: its region into *region_r (may be NULL); E_INPUT
 * "invalid_warehouse" on `field` when `field` is given, else E_NOT_FOUND. */
err supply_warehouse_check(db *d, const struct scope *sc, int64_t id, const char *field,
                           int64_t *region_r) MUST_USE;

/* Enterprise id (not deleted) in sc: E_INPUT "invalid_enterprise" on `field`
 * when given, else E_NOT_FOUND. */
err supply_enterprise_check(db *d, const struct scope *sc, int64_t id, const char *field) MUST_USE;

/*
 * Take n units of product from warehouse inside the caller's transaction:
 * one conditional UPDATE (quantity >= n), so of concurrent takers of the
 * last units one wins. E_CONFLICT "insufficient_stock" on `field` (nothing
 * changed) when the warehouse holds fewer. Raises the shortage alert when
 * the stock crosses its threshold.
 */
err supply_stock_take(db *d, int64_t warehouse_id, int64_t product_id, int64_t n,
                      const char *field) MUST_USE;

/* Set the counted stock (threshold < 0 keeps it) inside the caller's
 * transaction, raising the shortage alert at a crossing. */
err supply_stock_set(db *d, int64_t warehouse_id, int64_t product_id, int64_t quantity,
                     int64_t threshold) MUST_USE;

/* Append an event to request_id's chain. */
err supply_event(db *d, int64_t request_id, int64_t delivery_id, const char *action,
                 const char *detail, int64_t user_id) MUST_USE;

/*
 * Move delivery id of request_id, now in state `cur`, on to `state`
 * (shipping or arrived) inside the caller's transaction, with its chain
 * event: the one step both the district (supply_delivery_move) and the
 * supplier (supply_order_ship) take. E_CONFLICT "invalid_transition" for a
 * step that is not the next, also when another mover got there first.
 */
err supply_delivery_step(db *d, arena *a, int64_t id, int64_t request_id, const char *cur,
                         const char *state, const char *carrier, const char *vehicle,
                         const char *driver_phone, int64_t user_id) MUST_USE;

/* A time of a step (epoch ms) as JSON: null before the step. */
static inline json_t *supply_time_json(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

/* The sealed driver's phone of a delivery (seal_bind/unseal_col label). */
#define L_DRIVER_PHONE "supply_deliveries.driver_phone"

#endif

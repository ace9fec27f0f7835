/*
 * Maintained counters (统计, issue 9 and issue 12; docs/stats.md): every
 * figure a dashboard shows is read from `counters` (measure, region_code,
 * day) -> n, which the change that moves it updates in its own transaction
 * (stats_add), never recounted from the source tables on a request.
 *
 * Two sorts of measure:
 *   - flows ("case.confirmed.new"): events per China day (day = china_day
 *     of the event); a trend is the days' values, a cumulative trend their
 *     running sum; stats_add also keeps each region's total over all days
 *     at day STATS_NOW, so the cumulative figure is one range as well;
 *   - levels ("case.status.confirmed"): how many are in a state now, kept
 *     with day = STATS_NOW by +1/-1 as things enter and leave.
 *
 * Counters are kept at the leaf region of the thing counted (a person's
 * residence, an incident's address); a region's figure is the sum over its
 * code range [code, code + span) (base/regcode.h), one index range
 * (counters_by_day, sql/018), so a new level of the tree costs nothing
 * here; region_move shifts a moved subtree's counters with its records.
 * Beside each leaf counter stats_add keeps its street's rollup
 * (street_counters, sql/047: the sum at the street ancestor, or at the
 * region itself when it lies at the street or above), and stats_sum and
 * stats_series read the range of a region at the street level or above
 * from the rollup: a row per street instead of one per building, which is
 * what keeps a city's figures in milliseconds at 10,000,000 people.
 *
 * Each measure is described once (struct stats_measure): its name, label
 * and the SQL that recounts it from the source tables, so `fangkong stats
 * verify` and the tests compare every counter with a recount.
 */
#ifndef FK_STATS_STATS_H
#define FK_STATS_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

#define STATS_NOW 0 /* the day of a level measure */

/* Measures one process may register. */
#define STATS_MEASURES_MAX 256

struct stats_measure;

/* What GET /api/v1/stats/list asks of a measure's list (the records behind
 * a figure, docs/stats.md "Drill-down"). */
struct stats_list_query {
    const struct stats_measure *measure;
    int64_t lo, hi;          /* the region range: inside the caller's scope */
    int64_t page, page_size; /* a page (req_paging's), never an export */
};

/*
 * The records behind a figure of q->measure over [q->lo, q->hi), as the
 * capability's own list shows them (people masked as its list masks them):
 * one page into *items_r (a new array of objects, each with its
 * "region_code"; "region_name" is added by the caller when missing) and
 * the number of matches into *total_r.
 */
typedef err (*stats_list_fn)(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                             int64_t *total_r);

struct stats_measure {
    const char *name;  /* "case.status.confirmed": [a-z0-9_.] */
    const char *label; /* 确诊 */
    bool level;        /* a level (day STATS_NOW) rather than a daily flow */
    /*
     * The recount: a SELECT giving rows (region_code, day, n) from the
     * source tables, grouped by leaf region_code (and the China day number
     * for a flow: day STATS_NOW for a level), for `stats verify`.
     */
    const char *recount_sql;
    /*
     * A family of measures, one per key (the hotline's matches per
     * extraction rule, docs/hotline.md): counters are kept under
     * "<name>.<key>" for a key of decimal digits, which stats_add, stats_sum
     * and stats_series take like any name; its recount_sql gives rows
     * (key, region_code, day, n). A family is not a measure of its own:
     * stats_measure_find and stats_measures leave it out.
     */
    bool family;
    /* The list behind a level's figure (NULL: none, 400 from the API), and
     * whether it lists people (the read is then audited as person.list). */
    stats_list_fn list;
    bool personal;
};

/* Register measure m (static storage) at start-up. E_INTERNAL for a
 * duplicate name, a malformed definition or a full table; the same m
 * again is a no-op, so a capability whose writes also run in tools that
 * never start the server (the demo, unit tests) may register from its
 * write path. Thread-safe. */
err stats_measure_register(const struct stats_measure *m) MUST_USE;
const struct stats_measure *stats_measure_find(const char *name);

/* The registered measures in registration order, families left out: up to
 * max pointers into out; returns how many. */
size_t stats_measures(const struct stats_measure **out, size_t max);

/*
 * Add delta to measure's counter at (region_code, day) inside the caller's
 * transaction (an upsert). day: china_day() of the event for a flow (whose
 * total at STATS_NOW moves too), STATS_NOW for a level. E_INTERNAL for an
 * unregistered measure, a day of the wrong sort, or when no transaction is
 * open (a counter must commit with the change it counts).
 */
err stats_add(db *d, const char *measure, int64_t region_code, int64_t day, int64_t delta) MUST_USE;

/*
 * Deferred counters, for a writer of many rows in one transaction (the
 * observation import, docs/cases.md): between stats_defer_begin(d) and
 * stats_defer_end(d) on this thread, stats_add(d, …) checks its arguments
 * as always but only sums the delta in memory, per counter; stats_defer_flush
 * writes each summed counter with one upsert (a net zero too, so the rows
 * are those the one-by-one upserts leave). The caller flushes before the
 * transaction (or the savepoint the deltas belong to) commits; deltas not
 * flushed are dropped by stats_defer_end, which a rollback of that work
 * calls for. Counters read in between do not show the deltas yet.
 */
err stats_defer_begin(db *d) MUST_USE;
err stats_defer_flush(db *d) MUST_USE;
void stats_defer_end(db *d);

/* Sum of measure over the region range [lo, hi) and days [day_from,
 * day_to] into *sum_r (0 when no counter; untouched on failure):
 * STATS_NOW, STATS_NOW for a level's value or a flow's total; a window of
 * days (from 1 on, leaving the total out) for a flow. */
err stats_sum(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day_from, int64_t day_to,
              int64_t *sum_r) MUST_USE;

/* Per-day values of measure over [lo, hi), days day_from..day_to, into
 * out[day - day_from] (room for day_to - day_from + 1; missing days 0). */
err stats_series(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day_from,
                 int64_t day_to, int64_t *out) MUST_USE;

/*
 * Recount every registered measure and compare with the counters (a
 * flow's totals at STATS_NOW with the sums of its recount); each
 * difference goes to report (may be NULL) as (measure, region, day,
 * counter, recount). *diff_r counts them. `fix` rewrites the counters from
 * the recounts in the same transaction (committed), otherwise nothing is
 * written. Reads run in one transaction (SQLite: the write lock, held for
 * the recount's duration; PostgreSQL: REPEATABLE READ when d has no
 * transaction open). A counter row whose n is 0 and has no recount is no
 * difference.
 */
err stats_verify(db *d, bool fix,
                 void (*report)(const char *measure, int64_t region, int64_t day, int64_t have,
                                int64_t want, void *ctx),
                 void *ctx, int64_t *diff_r) MUST_USE;

/* ---- for the one-map big screen (src/map/, docs/map.md) ---- */

/*
 * The one subscriber told of every counter stats_add moves (a non-zero
 * delta, deferred or not): fn(d, region_code) runs inside the writer's
 * transaction, on its thread, and must not fail or write; the map uses it
 * to learn which areas changed (dependency inversion: stats never includes
 * the map). E_INTERNAL when a subscriber is already set.
 */
err stats_on_add(void (*fn)(db *d, int64_t region_code)) MUST_USE;

/*
 * The counters of measure at `day` over the region range [lo, hi), one
 * (leaf region, n) pair per region holding a non-zero count, in region
 * order, to fn(region_code, n, ctx): the same index range as stats_sum,
 * for a caller that groups leaves itself (a map's per-grid points).
 */
err stats_leaves(db *d, const char *measure, int64_t lo, int64_t hi, int64_t day,
                 void (*fn)(int64_t region_code, int64_t n, void *ctx), void *ctx) MUST_USE;

/* ?<name>=<code> of a statistics request: a region inside the caller's
 * scope (default: the scope's root) with its name into *g_r; E_INPUT
 * "invalid_region" for a malformed code, E_NOT_FOUND "not_found" for one
 * above or beside the scope or that does not exist (api.c). */
struct req;
struct region;
err stats_region_param(struct req *r, const char *name, struct region *g_r) MUST_USE;

#endif

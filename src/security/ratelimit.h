/*
 * Fixed-window counters shared by every server through the database
 * (table rate_limits, sql/001_foundation.sql): one row per key, reset when
 * its window has passed. Keys are namespaced by their user, e.g.
 * "exact_search:<user id>"; they hold no personal data. Sign-in and SMS
 * limits (security/auth.c) and exact searches (person/) use it.
 */
#ifndef FK_SECURITY_RATELIMIT_H
#define FK_SECURITY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

/*
 * Count one hit on `key` in a window of `window_ms`: a single upsert both
 * resets an expired window and counts the hit, so servers racing on the
 * same key never lose a count. Every hit counts, refused ones included.
 * *count_r gets the hits in the current window including this one (so
 * the first hit over a limit L sees L + 1 exactly once per window).
 * E_DB when the database fails; *count_r is then untouched.
 */
err rate_limit_hit(db *d, const char *key, int64_t window_ms, int64_t *count_r) MUST_USE;

/*
 * The same counter for a key hit on a hot path (exact searches: every
 * look-up by id number), where a database write per hit would cost more
 * than the look-up itself. Far below `limit` the hits are counted in this
 * process and written in batches of up to RATE_BATCH_MAX (a quarter of the
 * limit at most); within a batch of the limit every hit is written at
 * once (after any batch still being written), so on one server the limit
 * is exact. Several servers on one database may each let through up to a
 * batch beyond it before they see each other's counts, and a crash
 * forgets at most two batches per key (one counted, one being written):
 * both bounded, and documented in docs/security.md.
 *
 * With the batch writer running (rate_limit_start: the server) a full
 * batch far below the limit is handed to its thread and this call does
 * not touch the database; without it (the CLI, unit tests) the hit that
 * fills a batch writes it.
 *
 * *count_r gets the hits of the window as far as this process knows,
 * including this one (the hit is refused when it exceeds `limit`);
 * *first_over_r is true for the one hit that crossed the limit in this
 * window (the caller's moment to raise an alert). Keys beyond the
 * process's table (RATE_SLOTS) fall back to one write per hit.
 */
#define RATE_BATCH_MAX 32
err rate_limit_hit_often(db *d, const char *key, int64_t window_ms, int64_t limit, int64_t *count_r,
                         bool *first_over_r) MUST_USE;

/* The batch writer: a thread with its own connection to db_url that writes
 * the batches of rate_limit_hit_often off the request threads. Stopping
 * writes every hit still counted in this process, then ends the thread;
 * harmless when not started. */
err rate_limit_start(const char *db_url) MUST_USE;
void rate_limit_stop(void);

#endif

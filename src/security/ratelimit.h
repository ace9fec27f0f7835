/*
 * Fixed-window counters shared by every server through the database
 * (table rate_limits, sql/001_foundation.sql): one row per key, reset when
 * its window has passed. Keys are namespaced by their user, e.g.
 * "exact_search:<user id>"; they hold no personal data. Sign-in and SMS
 * limits (security/auth.c) and exact searches (person/) use it.
 */
#ifndef FK_SECURITY_RATELIMIT_H
#define FK_SECURITY_RATELIMIT_H

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

#endif

/*
 * Fixed-window rate counters in the database (see ratelimit.h).
 */
#include "security/ratelimit.h"

#include "base/id.h"

err rate_limit_hit(db *d, const char *key, int64_t window_ms, int64_t *count_r)
{
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
                       "ON CONFLICT (key) DO UPDATE SET "
                       "count = CASE WHEN rate_limits.window_start <= ? THEN 1 "
                       "ELSE rate_limits.count + 1 END, "
                       "window_start = CASE WHEN rate_limits.window_start <= ? "
                       "THEN excluded.window_start ELSE rate_limits.window_start END "
                       "RETURNING count",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, now - window_ms);
    db_bind_int64(s, 4, now - window_ms);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row)
            *count_r = db_col_int64(s, 0);
        else /* an upsert with RETURNING always gives its row */
            e = err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    db_done(s);
    return e;
}

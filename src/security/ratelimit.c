/*
 * Fixed-window rate counters in the database (see ratelimit.h).
 */
#include "security/ratelimit.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"

/* Add n hits to key's row; *count_r and *start_r get the row after. */
static err add_hits(db *d, const char *key, int64_t window_ms, int64_t n, int64_t *count_r,
                    int64_t *start_r)
{
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET "
                       "count = CASE WHEN rate_limits.window_start <= ? THEN excluded.count "
                       "ELSE rate_limits.count + excluded.count END, "
                       "window_start = CASE WHEN rate_limits.window_start <= ? "
                       "THEN excluded.window_start ELSE rate_limits.window_start END "
                       "RETURNING count, window_start",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, n);
    db_bind_int64(s, 4, now - window_ms);
    db_bind_int64(s, 5, now - window_ms);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (row) {
            *count_r = db_col_int64(s, 0);
            *start_r = db_col_int64(s, 1);
        } else { /* an upsert with RETURNING always gives its row */
            e = err_set(E_INTERNAL, NULL, NULL, NULL);
        }
    }
    db_done(s);
    return e;
}

err rate_limit_hit(db *d, const char *key, int64_t window_ms, int64_t *count_r)
{
    int64_t start;
    return add_hits(d, key, window_ms, 1, count_r, &start);
}

/* ---- hot keys: counted here, written in batches ----------------------------------- */

#define RATE_SLOTS  4096 /* a power of two */
#define RATE_PROBES 16
#define RATE_KEY    64

static struct slot {
    char key[RATE_KEY];
    int64_t start;   /* the window's start as the database said; 0: not known */
    int64_t known;   /* the database's count at this process's last write */
    int64_t pending; /* hits counted here and not yet written */
} slots[RATE_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h;
}

/* The key's slot, or a free or expired one claimed for it; NULL when the
 * probe finds neither (the caller then writes every hit). */
static struct slot *slot_for(const char *key, int64_t now, int64_t window_ms)
{
    struct slot *spare = NULL;
    uint32_t h = key_hash(key);
    for (int i = 0; i < RATE_PROBES; i++) {
        struct slot *sl = &slots[(h + (uint32_t)i) & (RATE_SLOTS - 1)];
        if (!strcmp(sl->key, key))
            return sl;
        bool idle = !sl->key[0] || (sl->pending == 0 && sl->start + window_ms <= now);
        if (idle && !spare)
            spare = sl;
    }
    if (spare) {
        snprintf(spare->key, sizeof spare->key, "%s", key);
        spare->start = spare->known = spare->pending = 0;
    }
    return spare;
}

err rate_limit_hit_often(db *d, const char *key, int64_t window_ms, int64_t limit, int64_t *count_r,
                         bool *first_over_r)
{
    assert(window_ms > 0 && limit > 0);
    int64_t batch = limit / 4 < RATE_BATCH_MAX ? limit / 4 : RATE_BATCH_MAX;
    int64_t now = now_ms(), n = 1, count, start;
    *first_over_r = false;

    pthread_mutex_lock(&slots_mu);
    struct slot *sl = strlen(key) < RATE_KEY ? slot_for(key, now, window_ms) : NULL;
    if (sl) {
        if (sl->start && sl->start + window_ms <= now) /* the window passed: ask again */
            sl->start = sl->known = 0;
        if (sl->start && sl->pending + 1 < batch && sl->known + sl->pending + 1 <= limit - batch) {
            sl->pending++;
            *count_r = sl->known + sl->pending;
            pthread_mutex_unlock(&slots_mu);
            return E_OK;
        }
        n += sl->pending; /* this hit carries the batch to the database */
        sl->pending = 0;
    }
    pthread_mutex_unlock(&slots_mu);

    err e = add_hits(d, key, window_ms, n, &count, &start);

    pthread_mutex_lock(&slots_mu);
    if (sl && !strcmp(sl->key, key)) {
        if (e) {
            sl->pending += n - 1; /* the served hits stay counted; this one failed */
        } else {
            sl->known = count;
            sl->start = start;
        }
    }
    pthread_mutex_unlock(&slots_mu);
    if (e)
        return e;
    *count_r = count;
    *first_over_r = count > limit && count - n <= limit;
    return E_OK;
}

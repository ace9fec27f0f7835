/*
 * Fixed-window rate counters in the database (see ratelimit.h).
 */
#include "security/ratelimit.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"

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
    int64_t start;     /* the window's start as the database said; 0: not known */
    int64_t known;     /* the database's count at this process's last write */
    int64_t pending;   /* hits counted here and not yet written */
    int64_t inflight;  /* hits handed to the batch writer, not yet written */
    int64_t window_ms; /* the key's window, for the batch writer */
    int64_t batch;     /* the hits of a full batch */
} slots[RATE_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * The batch writer (rate_limit_start): a thread with a connection of its
 * own that writes the batches the hot path hands it. Written on the event
 * loop, a batch was a commit with its fsync every 32 look-ups, waiting
 * behind the audit writer's commit for the write lock: the loop stalled
 * for milliseconds and the look-up served a third of what it serves
 * without (docs/benchmarks.md, "The look-up at half of nginx", 2026-12-06).
 * The hits counted while a slot's batch is being written wait for that
 * write to end (the writer then takes them), so a slow disk costs hits not
 * yet written, never a stalled request thread; near the limit every hit is
 * written at once as before. Queued slots wait in a ring of slot numbers;
 * a slot is in it at most once (it is queued only with no batch in
 * flight), so RATE_SLOTS entries are enough.
 */
static struct {
    pthread_cond_t work; /* a batch was handed over, or stop */
    pthread_cond_t done; /* a batch was written (or given back) */
    pthread_t thread;
    db *db;
    bool running, stop;
    uint16_t ring[RATE_SLOTS];
    size_t head, n;
} bw = {.work = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

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
        bool idle =
            !sl->key[0] || (sl->pending == 0 && sl->inflight == 0 && sl->start + window_ms <= now);
        if (idle && !spare)
            spare = sl;
    }
    if (spare) {
        snprintf(spare->key, sizeof spare->key, "%s", key);
        spare->start = spare->known = spare->pending = spare->inflight = 0;
    }
    return spare;
}

/* Queue a slot for the batch writer (slots_mu held), which takes the hits
 * counted by then. */
static void hand_over(struct slot *sl)
{
    sl->inflight = sl->pending;
    sl->pending = 0;
    bw.ring[(bw.head + bw.n++) % RATE_SLOTS] = (uint16_t)(sl - slots);
    pthread_cond_signal(&bw.work);
}

err rate_limit_hit_often(db *d, const char *key, int64_t window_ms, int64_t limit, int64_t *count_r,
                         bool *first_over_r)
{
    assert(window_ms > 0 && limit > 0);
    int64_t batch = limit / 4 < RATE_BATCH_MAX ? limit / 4 : RATE_BATCH_MAX;
    int64_t now = now_ms(), n = 1, count, start, in_flight = 0;
    *first_over_r = false;

    pthread_mutex_lock(&slots_mu);
    struct slot *sl = strlen(key) < RATE_KEY ? slot_for(key, now, window_ms) : NULL;
    if (sl) {
        sl->window_ms = window_ms;
        if (sl->start && sl->start + window_ms <= now) /* the window passed: ask again */
            sl->start = sl->known = 0;
        int64_t here = sl->known + sl->inflight + sl->pending + 1;
        /* (a batch of one or none: a small limit, every hit written) */
        if (sl->start && batch > 1 && here <= limit - batch &&
            (sl->pending + 1 < batch || bw.running)) {
            /* far below the limit: counted here; a full batch goes to the
             * writer, or waits for the write in flight to end (the writer
             * then takes it), and this thread goes on serving */
            sl->batch = batch;
            if (++sl->pending >= batch && !sl->inflight)
                hand_over(sl);
            *count_r = here;
            pthread_mutex_unlock(&slots_mu);
            return E_OK;
        }
        /* Written here, and the count must include every hit: a batch in
         * flight is waited for, unless this connection holds a transaction
         * (the writer may need the lock it holds); then the batch is added
         * to what the database answers, which can only count it twice
         * (a refusal a batch early), never miss it. */
        while (sl->inflight && !db_in_tx(d))
            pthread_cond_wait(&bw.done, &slots_mu);
        in_flight = sl->inflight; /* as it is now: the writer may land it before or after */
        n += sl->pending;         /* this hit carries the batch to the database */
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
    count += in_flight; /* 0 unless a batch was in flight inside a transaction */
    *count_r = count;
    *first_over_r = count > limit && count - n <= limit;
    return E_OK;
}

static void *batch_writer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&slots_mu);
    for (;;) {
        while (!bw.n && !bw.stop)
            pthread_cond_wait(&bw.work, &slots_mu);
        if (!bw.n)
            break; /* stopping, and every batch written */
        struct slot *sl = &slots[bw.ring[bw.head]];
        bw.head = (bw.head + 1) % RATE_SLOTS;
        bw.n--;
        char key[RATE_KEY];
        memcpy(key, sl->key, sizeof key);
        /* the hits counted since the slot was queued go too */
        int64_t n = sl->inflight + sl->pending, window_ms = sl->window_ms, count, start;
        sl->inflight = n;
        sl->pending = 0;
        pthread_mutex_unlock(&slots_mu);
        err e = add_hits(bw.db, key, window_ms, n, &count, &start);
        if (e) {
            log_event(LOG_ERROR, "rate_batch_failed", "key", key, "slug", err_last()->slug, NULL);
            err_clear();
        }
        pthread_mutex_lock(&slots_mu);
        if (e) {
            sl->pending += n; /* still counted here; the next batch carries them */
        } else {
            sl->known = count;
            sl->start = start;
        }
        sl->inflight = 0;
        /* a batch counted while this one was written goes next (all of
         * them when stopping) */
        if (!e && sl->pending && (sl->pending >= sl->batch || bw.stop))
            hand_over(sl);
        pthread_cond_broadcast(&bw.done);
    }
    pthread_mutex_unlock(&slots_mu);
    return NULL;
}

err rate_limit_start(const char *db_url)
{
    db *d;
    err e = db_open(db_url, &d);
    if (e)
        return e;
    pthread_mutex_lock(&slots_mu);
    bw.db = d;
    bw.stop = false;
    bw.running = true;
    if (pthread_create(&bw.thread, NULL, batch_writer, NULL)) {
        bw.running = false;
        bw.db = NULL;
        pthread_mutex_unlock(&slots_mu);
        db_close(&d);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&slots_mu);
    pthread_setname_np(bw.thread, "fk-ratelimit");
    return E_OK;
}

void rate_limit_stop(void)
{
    pthread_mutex_lock(&slots_mu);
    if (!bw.running) {
        pthread_mutex_unlock(&slots_mu);
        return;
    }
    /* the hits counted here go to the database too: a restart forgets none */
    for (size_t i = 0; i < RATE_SLOTS; i++)
        if (slots[i].key[0] && slots[i].pending && !slots[i].inflight)
            hand_over(&slots[i]);
    bw.stop = true;
    pthread_cond_signal(&bw.work);
    pthread_mutex_unlock(&slots_mu);
    pthread_join(bw.thread, NULL);
    pthread_mutex_lock(&slots_mu);
    bw.running = false;
    pthread_mutex_unlock(&slots_mu);
    db_close(&bw.db);
}

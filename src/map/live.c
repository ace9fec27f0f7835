/*
 * Live updates of the one-map (map.h, docs/map.md "Live updates"): which
 * areas' counters moved, told to the open map streams at most once a
 * second per community.
 *
 * stats_add tells map_counter_moved of each counter it moves, inside the
 * writer's transaction. The community of the counter (the region itself
 * when it lies above a community) is kept per thread until the
 * transaction ends (one db_after_commit hook per transaction), then marked
 * in a shared set; a thread publishes the set every second and empties it.
 * So a page is told only after the change is committed (its refetch sees
 * it), many changes in a second cost one event per community, and a
 * writer pays a few comparisons per counter; a rolled-back transaction
 * tells nobody.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "db/periodic.h"
#include "http/http.h"
#include "map/map.h"

/* Communities one transaction remembers; more and the whole district of
 * the first is marked instead (a bulk write: everything changed). */
#define TX_MAX 32
/* Communities marked between two publications; more and each district of
 * them is marked instead. */
#define MARKED_MAX 1024

struct tx_marks {
    bool hooked; /* the after-commit hook is registered */
    size_t n;
    int64_t codes[TX_MAX];
};

static _Thread_local struct tx_marks tx;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t marked[MARKED_MAX];
static size_t n_marked;

static void mark(int64_t code)
{
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < n_marked && marked[i] != code)
        i++;
    if (i == n_marked) {
        if (n_marked < MARKED_MAX)
            marked[n_marked++] = code;
        else /* too many: the last slot becomes its district */
            marked[MARKED_MAX - 1] = regcode_at_most(code, LEVEL_DISTRICT);
    }
    pthread_mutex_unlock(&mu);
}

static void tx_ended(void *ctx, bool committed)
{
    (void)ctx;
    /* rolled back: nothing changed. The hook was registered at the first
     * counter of its transaction, or of the savepoint it ran in, so what a
     * rollback drops is exactly what that (sub)transaction counted */
    for (size_t i = 0; committed && i < tx.n; i++)
        mark(tx.codes[i]);
    tx.n = 0;
    tx.hooked = false;
}

void map_counter_moved(db *d, int64_t region_code)
{
    int64_t code = regcode_at_most(region_code, LEVEL_COMMUNITY);
    if (!tx.hooked) {
        if (db_after_commit(d, tx_ended, NULL)) {
            /* no memory for the hook: mark now (a refetch may come early) */
            err_clear();
            mark(code);
            return;
        }
        tx.hooked = true;
    }
    for (size_t i = 0; i < tx.n; i++)
        if (tx.codes[i] == code)
            return;
    if (tx.n < TX_MAX)
        tx.codes[tx.n++] = code;
    else /* a bulk write: its district stands for the rest */
        tx.codes[TX_MAX - 1] = regcode_at_most(code, LEVEL_DISTRICT);
}

static err publish(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)d;
    (void)now;
    (void)ctx;
    int64_t codes[MARKED_MAX];
    pthread_mutex_lock(&mu);
    size_t n = n_marked;
    memcpy(codes, marked, n * sizeof codes[0]);
    n_marked = 0;
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n; i++) {
        char w[19], data[64];
        regcode_format(codes[i], w);
        snprintf(data, sizeof data, "{\"region_code\":\"%s\"}", w);
        http_stream_publish("map", codes[i], id_new(), "changed", data);
    }
    *count_r = 0; /* nothing worth a log line every second */
    return E_OK;
}

static struct periodic publisher = PERIODIC_INIT("map_live", publish, NULL);

err map_live_start(const char *db_url)
{
    return periodic_start(&publisher, db_url, 1);
}

void map_live_stop(void)
{
    periodic_stop(&publisher);
}

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
 * tells nobody. On PostgreSQL the same thread NOTIFYs the other servers
 * ("origin code code …" on fk_map, from its own connection, outside any
 * writer's transaction), which publish what they hear to their streams.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "db/periodic.h"
#include "http/http.h"
#include "map/map.h"
#include "security/crypto.h"

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

/* ---- other servers on the same PostgreSQL database ---- */

#define CHANNEL "fk_map"
/* A notification's payload stays well below NOTIFY's 8000 bytes. */
#define NOTIFY_MAX 7000

/* This process's mark on what it notifies: its own changes it has already
 * published, the others' it publishes when heard. */
static char origin[17] = "-";

/* "origin code code …" (padded codes in decimal) */
static void heard(const char *payload, void *ctx)
{
    (void)ctx;
    char from[17];
    int used = 0;
    if (sscanf(payload, "%16s%n", from, &used) != 1 || !strcmp(from, origin))
        return; /* malformed, or ours: already published after its commit */
    const char *p = payload + used;
    for (;;) {
        char *end;
        long long code = strtoll(p, &end, 10);
        if (end == p || code <= 0)
            break;
        char w[19], data[64];
        regcode_format(code, w);
        snprintf(data, sizeof data, "{\"region_code\":\"%s\"}", w);
        http_stream_publish("map", code, id_new(), "changed", data);
        p = end;
    }
}

static err publish(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)now;
    (void)ctx;
    int64_t codes[MARKED_MAX];
    pthread_mutex_lock(&mu);
    size_t n = n_marked;
    memcpy(codes, marked, n * sizeof codes[0]);
    n_marked = 0;
    pthread_mutex_unlock(&mu);
    char payload[NOTIFY_MAX + 32];
    size_t len = (size_t)snprintf(payload, sizeof payload, "%s", origin);
    err e = E_OK;
    for (size_t i = 0; i < n; i++) {
        char w[19], data[64];
        regcode_format(codes[i], w);
        snprintf(data, sizeof data, "{\"region_code\":\"%s\"}", w);
        http_stream_publish("map", codes[i], id_new(), "changed", data);
        /* the other servers, in notifications of a few hundred codes (no-op
         * on SQLite); one that fails is logged by the runner, the pages of
         * the other servers then see the change at their next refresh */
        len += (size_t)snprintf(payload + len, sizeof payload - len, " %lld", (long long)codes[i]);
        if (!e && (len > NOTIFY_MAX || i == n - 1)) {
            e = db_notify(d, CHANNEL, payload);
            len = (size_t)snprintf(payload, sizeof payload, "%s", origin);
        }
    }
    *count_r = 0; /* nothing worth a log line every second */
    return e;
}

static struct periodic publisher = PERIODIC_LOCAL("map_live", publish, NULL);

err map_live_start(const char *db_url)
{
    uint8_t r[8];
    err e = random_bytes(r, sizeof r);
    if (e)
        return e;
    for (int i = 0; i < 8; i++)
        snprintf(origin + 2 * i, 3, "%02x", r[i]);
    /* heard until db_listen_stop (stop_workers, with the alerts' listener) */
    if ((e = db_listen_start(db_url, CHANNEL, heard, NULL)))
        return e;
    return periodic_start(&publisher, db_url, 1);
}

void map_live_stop(void)
{
    periodic_stop(&publisher);
}

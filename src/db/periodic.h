/*
 * Periodic work on its own thread and database connection: the sweeps that
 * find what time alone has changed, with no request to notice it — devices
 * gone silent, tasks past their deadline, checks missed, observations whose
 * period is over, uploads nobody claimed.
 *
 *     static err purge(db *d, int64_t now, void *ctx, int64_t *n_r) { … }
 *     static struct periodic purger = PERIODIC_INIT("attach_purge", purge, NULL);
 *     …
 *     if ((e = periodic_start(&purger, db_url, every_s))) …   // 0 s: no thread
 *     periodic_stop(&purger);                                 // at shutdown
 *
 * Each period the thread calls run(d, now, ctx, &count) on its own
 * connection, opened at the first tick (the event loops never wait for it). A failure is logged
 * ("<name>_failed" with the error's slug) and the run is tried again at
 * the next period; a run that did something logs "<name>" with the count.
 * periodic_stop wakes the thread, waits for a run in progress to end and
 * closes the connection; it is a no-op when the thread never started.
 *
 * Several servers on one database: a sweep made with PERIODIC_INIT runs
 * once across the servers. Before each run the thread takes or renews the
 * sweep's lease (db/lease.h, named after the sweep) for 3 periods; a
 * server that does not hold it skips the run, and takes the lease over at
 * its first tick after the holder stopped renewing it: within 4 periods of
 * the holder's death (docs/cluster.md). A holder whose lease was taken
 * logs "lease_lost", one that takes it "lease_acquired"; a clean stop gives
 * the lease up. A run that wants the fence calls periodic_fence(d) inside
 * its transaction. Runs still claim their rows in their own transaction
 * (UPDATE … WHERE <not yet done>): a holder that hung past its lease and
 * wakes up mid-run acts on no row the new holder already did.
 * PERIODIC_LOCAL makes a sweep every server runs for itself (it serves
 * what this process holds: its own SSE clients, its own files).
 *
 * periodic_metrics writes each sweep's state for /metrics:
 * fangkong_lease_held{lease} (1 when this server holds it; per-server
 * sweeps always 1) and fangkong_lease_runs_total{lease} (runs done here).
 */
#ifndef FK_DB_PERIODIC_H
#define FK_DB_PERIODIC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

typedef err (*periodic_fn)(db *d, int64_t now, void *ctx, int64_t *count_r);

struct periodic {
    const char *name; /* [a-z_]: the thread is "fk-<name>" (cut to 15 bytes), and the log events */
    periodic_fn run;
    void *ctx;
    /* the thread's state, owned by periodic.c */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    bool local; /* PERIODIC_LOCAL: every server runs it, no lease */
    int every_s;
    char url[1024];     /* the database, connected to at the first tick */
    db *d;              /* NULL until then */
    int64_t generation; /* of the lease held, 0 when not held */
    _Atomic bool held;  /* for /metrics */
    _Atomic uint64_t runs;
    struct periodic *next; /* the started sweeps (periodic_metrics) */
};

#define PERIODIC_INIT(name_, run_, ctx_)                                                           \
    {                                                                                              \
        .name = (name_), .run = (run_), .ctx = (ctx_), .mu = PTHREAD_MUTEX_INITIALIZER,            \
        .cv = PTHREAD_COND_INITIALIZER                                                             \
    }

#define PERIODIC_LOCAL(name_, run_, ctx_)                                                          \
    {                                                                                              \
        .name = (name_), .run = (run_), .ctx = (ctx_), .mu = PTHREAD_MUTEX_INITIALIZER,            \
        .cv = PTHREAD_COND_INITIALIZER, .local = true                                              \
    }

/* Start running p every every_s seconds on a connection to db_url, opened
 * at the first tick (not here: a server that stops before a sweep's first
 * period holds no connection for it; one that cannot be opened is logged as
 * "<name>_failed" and tried again at the next tick); every_s <= 0 starts
 * nothing (the sweep is off). E_INTERNAL when db_url is over 1023 bytes or
 * the thread cannot be made. */
err periodic_start(struct periodic *p, const char *db_url, int every_s) MUST_USE;

void periodic_stop(struct periodic *p);

/*
 * Inside a run's transaction: E_OK when the run's server still holds the
 * sweep's lease at the generation the run began with (lease_fence), else
 * E_CONFLICT "lease_lost". E_OK outside a lease-held run (a per-server
 * sweep, a tool or test calling the run function itself).
 */
err periodic_fence(db *d) MUST_USE;

/* The lease lines of every started sweep, Prometheus text, into out (cap
 * bytes, cut at a line's end); returns the length written. */
size_t periodic_metrics(char *out, size_t cap);

#endif

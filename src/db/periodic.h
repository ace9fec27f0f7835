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
 * connection (the event loops never wait for it). A failure is logged
 * ("<name>_failed" with the error's slug) and the run is tried again at
 * the next period; a run that did something logs "<name>" with the count.
 * periodic_stop wakes the thread, waits for a run in progress to end and
 * closes the connection; it is a no-op when the thread never started.
 * Several servers on one PostgreSQL database each run their own sweeps:
 * every run must claim its rows in its own transaction (UPDATE … WHERE
 * <not yet done>), so a row is acted on once whoever gets there first.
 */
#ifndef FK_DB_PERIODIC_H
#define FK_DB_PERIODIC_H

#include <pthread.h>
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
    int every_s;
    db *d;
};

#define PERIODIC_INIT(name_, run_, ctx_)                                                           \
    {                                                                                              \
        .name = (name_), .run = (run_), .ctx = (ctx_), .mu = PTHREAD_MUTEX_INITIALIZER,            \
        .cv = PTHREAD_COND_INITIALIZER                                                             \
    }

/* Start running p every every_s seconds on a connection to db_url; every_s
 * <= 0 starts nothing (the sweep is off). E_DB when the connection cannot
 * be opened, E_INTERNAL when the thread cannot be made. */
err periodic_start(struct periodic *p, const char *db_url, int every_s) MUST_USE;

void periodic_stop(struct periodic *p);

#endif

/*
 * The recompute worker: one thread with its own database connection runs
 * queued "code.recompute" jobs one after another, so a rule edit never
 * makes an event loop wait. Progress goes to the job's row after every
 * batch; the console polls GET /api/v1/jobs/{id}. A job runs on the server
 * that was asked (its queue is in this process): should that server die,
 * the job's row is marked failed by job_sweep_orphans on another one.
 * The time-driven sweep runs once across servers (sweeper, below).
 */
#include "code/code.h"

#include <pthread.h>
#include <stdio.h>

#include "base/id.h"
#include "base/log.h"
#include "db/periodic.h"
#include "job/job.h"

#define QUEUE_MAX 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    db *d;
    struct {
        int64_t job_id, user_id;
    } q[QUEUE_MAX];
    size_t head, n;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

struct progress_ctx {
    db *d;
    int64_t job_id;
};

static void progress(int64_t done, int64_t total, void *p)
{
    struct progress_ctx *c = p;
    if (job_update(c->d, c->job_id, "running", done, total, NULL))
        log_event(LOG_WARN, "job_progress_lost", "kind", "code.recompute", NULL);
}

/* Run one job to its end on connection d. */
static void run(db *d, int64_t job_id, int64_t user_id)
{
    struct progress_ctx pc = {d, job_id};
    int64_t changed = 0, total = 0;
    uint64_t t0 = mono_us();
    /* the job's status is for display; the recompute runs whatever it says */
    err_ignore(job_update(d, job_id, "running", 0, 0, NULL));
    err e = code_recompute_all(d, user_id, progress, &pc, &changed);
    /* the count is for the job's progress display only */
    err_ignore(db_query_int64(d, "SELECT COUNT(*) FROM persons WHERE deleted_at = 0", &total));
    char result[128];
    long long ms = (long long)((mono_us() - t0) / 1000);
    if (e) {
        snprintf(result, sizeof result, "{\"error\":\"%s\"}", err_slug(e));
        /* nothing more to do than the log line below if this fails too */
        err_ignore(job_update(d, job_id, "failed", 0, total, result));
        log_event(LOG_ERROR, "job_failed", "kind", "code.recompute", "slug", err_slug(e), NULL);
        return;
    }
    snprintf(result, sizeof result, "{\"changed\":%lld,\"ms\":%lld}", (long long)changed, ms);
    /* the recompute is done and committed; only its display is lost */
    err_ignore(job_update(d, job_id, "done", total, total, result));
}

/* The time-driven pass: codes whose windows ran out change colour. A
 * periodic sweep of its own (db/periodic.h), so that of several servers on
 * one database one recomputes under the lease "code_sweep"; a recompute is
 * idempotent (each code follows from the person's state), so a holder that
 * hung past its lease and a new one overlapping do no harm but the work. */
static err sweep(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)now;
    (void)ctx;
    return code_recompute_all(d, 0, NULL, NULL, n_r);
}

static struct periodic sweeper = PERIODIC_INIT("code_sweep", sweep, NULL);

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w.mu);
    for (;;) {
        while (!w.n && !w.stopping)
            pthread_cond_wait(&w.cv, &w.mu);
        if (!w.n && w.stopping)
            break;
        int64_t job = w.q[w.head].job_id, user = w.q[w.head].user_id;
        w.head = (w.head + 1) % QUEUE_MAX;
        w.n--;
        pthread_mutex_unlock(&w.mu);
        run(w.d, job, user);
        pthread_mutex_lock(&w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

err code_worker_start(const char *db_url, int sweep_s)
{
    err e = db_open(db_url, &w.d);
    if (e)
        return e;
    w.stopping = false;
    if (pthread_create(&w.thread, NULL, worker_main, NULL)) {
        db_close(&w.d);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    pthread_setname_np(w.thread, "fk-code");
    w.running = true;
    if ((e = periodic_start(&sweeper, db_url, sweep_s)))
        code_worker_stop();
    return e;
}

void code_worker_stop(void)
{
    periodic_stop(&sweeper);
    if (!w.running)
        return;
    pthread_mutex_lock(&w.mu);
    w.stopping = true;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    db_close(&w.d);
    w.running = false;
}

size_t code_worker_queued(void)
{
    pthread_mutex_lock(&w.mu);
    size_t n = w.n;
    pthread_mutex_unlock(&w.mu);
    return n;
}

void code_worker_submit(db *d, int64_t job_id, int64_t user_id)
{
    pthread_mutex_lock(&w.mu);
    bool queued = false;
    if (w.running && w.n < QUEUE_MAX) {
        w.q[(w.head + w.n) % QUEUE_MAX].job_id = job_id;
        w.q[(w.head + w.n) % QUEUE_MAX].user_id = user_id;
        w.n++;
        queued = true;
        pthread_cond_signal(&w.cv);
    }
    pthread_mutex_unlock(&w.mu);
    if (!queued) /* no worker (tools, unit tests) or a full queue: run here */
        run(d, job_id, user_id);
}

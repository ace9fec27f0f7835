/*
 * The job worker (worker.h): a ring of queued tasks under a mutex, one
 * thread asleep on a condition variable until a task or the stop arrives.
 */
#include "job/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"

struct task {
    job_task_fn run;
    void (*free_fn)(void *arg);
    void *arg;
};

struct job_worker {
    struct job_worker_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stopping;
    db *d; /* NULL until the first task (o.setup: opened at start) */
    char url[1024];
    size_t head, n;
    struct task q[]; /* o.queue_max */
};

/* The worker's connection, opened at its first task when job_worker_start
 * did not (a test server runs hundreds of seconds of these opens, each
 * reading the whole schema, for workers most servers never use). Called
 * with w->mu held; false when it cannot be opened (logged). */
static bool worker_connect(struct job_worker *w)
{
    if (w->d)
        return true;
    pthread_mutex_unlock(&w->mu);
    db *d = NULL;
    err e = db_open(w->url, &d);
    pthread_mutex_lock(&w->mu);
    if (e) {
        log_event(LOG_ERROR, "job_worker_db_failed", "worker", w->o.name, "slug", err_slug(e),
                  NULL);
        return false;
    }
    w->d = d;
    return true;
}

static void *worker_main(void *arg)
{
    struct job_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->n && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->n || (w->stopping && w->o.drop))
            break;
        if (!worker_connect(w)) {
            /* try again in a second (a stop wakes it sooner) */
            struct timespec at;
            clock_gettime(CLOCK_REALTIME, &at);
            at.tv_sec++;
            if (!w->stopping)
                pthread_cond_timedwait(&w->cv, &w->mu, &at);
            if (w->stopping)
                break;
            continue;
        }
        struct task t = w->q[w->head];
        w->head = (w->head + 1) % w->o.queue_max;
        w->n--;
        pthread_mutex_unlock(&w->mu);
        if (w->o.each)
            w->o.each();
        t.run(w->d, t.arg);
        t.free_fn(t.arg);
        pthread_mutex_lock(&w->mu);
    }
    bool connected = w->n && worker_connect(w);
    while (w->n) { /* stopping, with drop (or with no connection) */
        struct task t = w->q[w->head];
        w->head = (w->head + 1) % w->o.queue_max;
        w->n--;
        if (connected)
            (w->o.drop ? w->o.drop : t.run)(w->d, t.arg);
        t.free_fn(t.arg);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

err job_worker_start(const struct job_worker_opts *o, const char *db_url, struct job_worker **w_r)
{
    size_t max = o->queue_max ? o->queue_max : 16;
    struct job_worker *w = calloc(1, sizeof *w + max * sizeof w->q[0]);
    if (!w)
        return E_NOMEM;
    w->o = *o;
    w->o.queue_max = max;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    err e = E_OK;
    if (snprintf(w->url, sizeof w->url, "%s", db_url) >= (int)sizeof w->url)
        e = err_set(E_INTERNAL, "db_url", NULL, "数据库地址过长");
    /* a setup runs at start, so its worker connects at start too */
    if (!e && o->setup && !(e = db_open(db_url, &w->d)) && (e = o->setup(w->d)))
        db_close(&w->d);
    if (!e && pthread_create(&w->thread, NULL, worker_main, w)) {
        db_close(&w->d);
        e = err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    if (e) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return e;
    }
    pthread_setname_np(w->thread, o->name);
    *w_r = w;
    return E_OK;
}

void job_worker_stop(struct job_worker **wp)
{
    struct job_worker *w = *wp;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    db_close(&w->d);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    *wp = NULL;
}

err job_worker_submit(struct job_worker *w, db *d, job_task_fn run, void (*free_fn)(void *arg),
                      void *arg)
{
    if (!w) {
        run(d, arg);
        free_fn(arg);
        return E_OK;
    }
    pthread_mutex_lock(&w->mu);
    bool full = w->n >= w->o.queue_max || w->stopping;
    if (!full) {
        w->q[(w->head + w->n) % w->o.queue_max] = (struct task){run, free_fn, arg};
        w->n++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return full ? E_UNAVAILABLE : E_OK;
}

/*
 * The job worker (worker.h): a ring of queued tasks under a mutex, one
 * thread asleep on a condition variable until a task or the stop arrives.
 */
#include "job/worker.h"

#include <pthread.h>
#include <stdlib.h>

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
    db *d;
    size_t head, n;
    struct task q[]; /* o.queue_max */
};

static void *worker_main(void *arg)
{
    struct job_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->n && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->n || (w->stopping && w->o.drop))
            break;
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
    while (w->n) { /* stopping, with drop */
        struct task t = w->q[w->head];
        w->head = (w->head + 1) % w->o.queue_max;
        w->n--;
        w->o.drop(w->d, t.arg);
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
    err e = db_open(db_url, &w->d);
    if (!e && o->setup && (e = o->setup(w->d)))
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

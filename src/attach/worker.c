/*
 * The purge of unclaimed uploads (attach.h): a thread that wakes every
 * few minutes, like the device silence worker (device/device.c). An
 * upload nobody claimed within ATTACH_UNCLAIMED_MS is a form the phone
 * never sent; keeping it would keep personal data without a purpose.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "attach/attach.h"
#include "base/id.h"
#include "base/log.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    int every_s;
    db *d;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w.mu);
    while (!w.stopping) {
        struct timespec next;
        clock_gettime(CLOCK_REALTIME, &next);
        next.tv_sec += w.every_s;
        if (pthread_cond_timedwait(&w.cv, &w.mu, &next) != ETIMEDOUT || w.stopping)
            continue;
        pthread_mutex_unlock(&w.mu);
        int64_t n = 0;
        err e = attach_purge(w.d, now_ms(), &n);
        if (e) {
            log_event(LOG_WARN, "attach_purge_failed", "slug", err_slug(e), NULL);
        } else if (n) {
            char count[24];
            snprintf(count, sizeof count, "%lld", (long long)n);
            log_event(LOG_INFO, "attach_purged", "count", count, NULL);
        }
        pthread_mutex_lock(&w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

err attach_worker_start(const char *db_url, int every_s)
{
    if (every_s <= 0)
        return E_OK;
    err e = db_open(db_url, &w.d);
    if (e)
        return e;
    w.every_s = every_s;
    w.stopping = false;
    if (pthread_create(&w.thread, NULL, worker_main, NULL)) {
        db_close(&w.d);
        return err_set(E_INTERNAL, "thread", NULL, "无法启动附件清理线程");
    }
    pthread_setname_np(w.thread, "fk-attach");
    w.running = true;
    return E_OK;
}

void attach_worker_stop(void)
{
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

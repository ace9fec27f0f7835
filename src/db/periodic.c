/*
 * The periodic runner (periodic.h): one thread per sweep, asleep on a
 * condition variable so that stop wakes it at once instead of after a
 * period.
 */
#include "db/periodic.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "base/id.h"
#include "base/log.h"

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;
    char failed[64];
    snprintf(failed, sizeof failed, "%s_failed", p->name);
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec next;
        clock_gettime(CLOCK_REALTIME, &next);
        next.tv_sec += p->every_s;
        if (pthread_cond_timedwait(&p->cv, &p->mu, &next) != ETIMEDOUT || p->stopping)
            continue;
        pthread_mutex_unlock(&p->mu);
        int64_t n = 0;
        err e = p->run(p->d, now_ms(), p->ctx, &n);
        if (e) {
            log_event(LOG_WARN, failed, "slug", err_slug(e), NULL);
        } else if (n > 0) {
            char count[24];
            snprintf(count, sizeof count, "%lld", (long long)n);
            log_event(LOG_INFO, p->name, "count", count, NULL);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

err periodic_start(struct periodic *p, const char *db_url, int every_s)
{
    if (every_s <= 0)
        return E_OK;
    err e = db_open(db_url, &p->d);
    if (e)
        return e;
    p->every_s = every_s;
    p->stopping = false;
    if (pthread_create(&p->thread, NULL, periodic_main, p)) {
        db_close(&p->d);
        return err_set(E_INTERNAL, "thread", NULL, "无法启动后台线程 %s", p->name);
    }
    char tname[16];
    snprintf(tname, sizeof tname, "fk-%s", p->name);
    pthread_setname_np(p->thread, tname);
    p->running = true;
    return E_OK;
}

void periodic_stop(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    db_close(&p->d);
    p->running = false;
}

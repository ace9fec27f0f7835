/*
 * The periodic runner (periodic.h): one thread per sweep, asleep on a
 * condition variable so that stop wakes it at once instead of after a
 * period; before each run of a once-across-servers sweep, its lease.
 */
#include "db/periodic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/id.h"
#include "base/log.h"
#include "db/lease.h"

/* The started sweeps, for /metrics. */
static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct periodic *list;

/* The sweep whose run this thread is in (periodic_fence). */
static _Thread_local struct periodic *current;

/* Take or renew p's lease: true when this server may run it now. */
static bool lease_take(struct periodic *p)
{
    int64_t gen = 0;
    err e = lease_acquire(p->d, p->name, now_ms(), 3000LL * p->every_s, &gen);
    char g[24];
    snprintf(g, sizeof g, "%lld", (long long)gen);
    if (gen && gen != p->generation)
        log_event(LOG_INFO, "lease_acquired", "lease", p->name, "generation", g, "host",
                  lease_host(), NULL);
    else if (!gen && p->generation)
        log_event(LOG_WARN, "lease_lost", "lease", p->name, "slug", e ? err_slug(e) : "taken",
                  NULL);
    p->generation = gen;
    atomic_store(&p->held, gen != 0);
    return gen != 0;
}

/* The connection, made at the first tick rather than at the start: most
 * sweeps run every minute or less often, and a server that lives a few
 * seconds (a test's) held 26 of its 39 connections for them
 * (on PostgreSQL each costs a backend and its catalog caches). A failure
 * is logged like a failed run and tried again at the next tick. */
static bool connect_once(struct periodic *p)
{
    err e = db_open(p->url, &p->d);
    if (e) {
        char failed[64];
        snprintf(failed, sizeof failed, "%s_failed", p->name);
        log_event(LOG_WARN, failed, "slug", err_slug(e), NULL);
        return false;
    }
    return true;
}

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;
    current = p;
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
        if (!p->d && !connect_once(p)) {
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (p->local || lease_take(p)) {
            int64_t n = 0;
            err e = p->run(p->d, now_ms(), p->ctx, &n);
            atomic_fetch_add(&p->runs, 1);
            if (e) {
                log_event(LOG_WARN, failed, "slug", err_slug(e), NULL);
            } else if (n > 0) {
                char count[24];
                snprintf(count, sizeof count, "%lld", (long long)n);
                log_event(LOG_INFO, p->name, "count", count, NULL);
            }
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
    if (strlen(db_url) >= sizeof p->url)
        return err_set(E_INTERNAL, "db_url", NULL, "数据库地址过长");
    memcpy(p->url, db_url, strlen(db_url) + 1);
    p->d = NULL;
    p->every_s = every_s;
    p->stopping = false;
    p->generation = 0;
    atomic_store(&p->held, p->local);
    if (pthread_create(&p->thread, NULL, periodic_main, p))
        return err_set(E_INTERNAL, "thread", NULL, "无法启动后台线程 %s", p->name);
    char tname[16];
    snprintf(tname, sizeof tname, "fk-%s", p->name);
    pthread_setname_np(p->thread, tname);
    p->running = true;
    pthread_mutex_lock(&list_mu);
    p->next = list;
    list = p;
    pthread_mutex_unlock(&list_mu);
    return E_OK;
}

void periodic_stop(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&list_mu);
    for (struct periodic **pp = &list; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&list_mu);
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    /* a clean stop: another server takes the sweep at its next tick rather
     * than 3 periods on (a failure here leaves it to expire) */
    if (p->generation && !lease_release(p->d, p->name))
        log_event(LOG_INFO, "lease_released", "lease", p->name, NULL);
    p->generation = 0;
    atomic_store(&p->held, false);
    db_close(&p->d);
    p->running = false;
}

err periodic_fence(db *d)
{
    struct periodic *p = current;
    if (!p || p->local || p->d != d || !p->generation)
        return E_OK;
    return lease_fence(d, p->name, p->generation);
}

size_t periodic_metrics(char *out, size_t cap)
{
    size_t len = 0;
    char line[256];
    const char *heads[] = {
        "# HELP fangkong_lease_held 1 when this server holds the sweep's lease (per-server "
        "sweeps: always).\n# TYPE fangkong_lease_held gauge\n",
        "# HELP fangkong_lease_runs_total Runs of the sweep on this server.\n"
        "# TYPE fangkong_lease_runs_total counter\n"};
    pthread_mutex_lock(&list_mu);
    for (int k = 0; k < 2; k++) {
        int w = snprintf(line, sizeof line, "%s", heads[k]);
        if (len + (size_t)w >= cap)
            break;
        memcpy(out + len, line, (size_t)w + 1);
        len += (size_t)w;
        for (struct periodic *p = list; p; p = p->next) {
            w = k ? snprintf(line, sizeof line, "fangkong_lease_runs_total{lease=\"%s\"} %llu\n",
                             p->name, (unsigned long long)atomic_load(&p->runs))
                  : snprintf(line, sizeof line, "fangkong_lease_held{lease=\"%s\"} %d\n", p->name,
                             atomic_load(&p->held) ? 1 : 0);
            if (w < 0 || (size_t)w >= sizeof line || len + (size_t)w >= cap)
                break;
            memcpy(out + len, line, (size_t)w + 1);
            len += (size_t)w;
        }
    }
    pthread_mutex_unlock(&list_mu);
    return len;
}

/*
 * Group commit of scans. Handlers on the event loops check a scan (token,
 * venue, scope) and queue it here; one thread with its own connection takes
 * everything queued, applies it in one transaction and commits once: one
 * fsync (SQLite synchronous=FULL, PostgreSQL's WAL flush) for the whole
 * batch. Only after that commit is each scan answered (its done callback
 * hands the reply back to the loop that owns the request), so an answered
 * scan survives kill -9 the instant after.
 *
 * A batch that fails is rolled back and its scans applied one by one, each
 * in its own transaction, so one bad scan fails alone.
 *
 * The queue is bounded (FK_SCAN_QUEUE scans waiting or being written): a
 * writer that cannot keep up refuses new scans with 503 "queue_full"
 * rather than holding memory and replies without end.
 */
#include "access/access.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "security/audit.h"

#define BATCH_MAX     512
#define QUEUE_DEFAULT 10000

struct job {
    struct access_scan s;
    void (*done)(const struct access_scan *s, err e, void *ctx);
    void *ctx;
    struct job *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *head, **tail = &head;
static bool running, stopping;
static size_t pending;                   /* queued or in the batch being written */
static size_t queue_max = QUEUE_DEFAULT; /* the cap on pending */
static pthread_t thread;
static db *wdb;

static void job_free(struct job *j)
{
    free((char *)j->s.venue_name);
    free((char *)j->s.masked_name);
    free(j);
}

static err apply_one(db *d, arena *a, struct job *j)
{
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = access_apply(d, a, &j->s)) || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    return E_OK;
}

static void run_batch(db *d, arena *a, struct job *list)
{
    err e = db_begin(d);
    for (struct job *j = list; j && !e; j = j->next)
        e = access_apply(d, a, &j->s);
    if (!e) /* the audit entries queued meanwhile share this commit */
        e = audit_join(d);
    if (!e)
        e = db_commit(d);
    if (!e) {
        for (struct job *j = list; j; j = j->next)
            j->done(&j->s, E_OK, j->ctx);
    } else {
        db_rollback(d);
        for (struct job *j = list; j; j = j->next) {
            err_clear();
            arena_reset(a);
            err je = apply_one(d, a, j);
            j->done(&j->s, je, j->ctx);
        }
    }
    while (list) {
        struct job *next = list->next;
        job_free(list);
        list = next;
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    /* the thread's own, reset per batch: it outlives every request */
    arena *a = arena_new(256 * 1024);
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (!head && stopping) {
            pthread_mutex_unlock(&mu);
            break;
        }
        /* everything queued so far, up to BATCH_MAX: the batch grows with the load */
        struct job *list = head, *last = head;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        head = last->next;
        if (!head)
            tail = &head;
        last->next = NULL;
        assert(pending >= (size_t)n); /* every queued job was counted */
        pthread_mutex_unlock(&mu);
        err_clear();
        arena_reset(a);
        run_batch(wdb, a, list);
        pthread_mutex_lock(&mu);
        assert(pending >= (size_t)n);
        pending -= (size_t)n;
        pthread_mutex_unlock(&mu);
    }
    arena_free(&a);
    return NULL;
}

err access_writer_start(const char *db_url)
{
    err e = db_open(db_url, &wdb);
    if (e)
        return e;
    stopping = false;
    if (pthread_create(&thread, NULL, writer_main, NULL) != 0) {
        db_close(&wdb);
        return err_set(E_INTERNAL, NULL, NULL, "无法启动出入记录写入线程");
    }
    pthread_setname_np(thread, "fk-access");
    running = true;
    return E_OK;
}

void access_writer_set_queue_max(size_t n)
{
    pthread_mutex_lock(&mu);
    queue_max = n ? n : QUEUE_DEFAULT;
    pthread_mutex_unlock(&mu);
}

bool access_writer_full(void)
{
    pthread_mutex_lock(&mu);
    bool full = running && pending >= queue_max;
    pthread_mutex_unlock(&mu);
    return full;
}

size_t access_writer_pending(void)
{
    pthread_mutex_lock(&mu);
    size_t n = pending;
    pthread_mutex_unlock(&mu);
    return n;
}

static err queue_full(void)
{
    return err_set(E_UNAVAILABLE, "queue_full", NULL,
                   "系统繁忙（出入记录写入排队已满），请稍后重试");
}

void access_writer_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    running = false;
    db_close(&wdb);
}

err access_submit(db *d, const struct access_scan *s,
                  void (*done)(const struct access_scan *s, err e, void *ctx), void *ctx)
{
    if (access_writer_full()) /* before copying anything */
        return queue_full();
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    j->s = *s;
    j->s.venue_name = strdup(s->venue_name ? s->venue_name : "");
    j->s.masked_name = strdup(s->masked_name ? s->masked_name : "");
    j->done = done;
    j->ctx = ctx;
    if (!j->s.venue_name || !j->s.masked_name) {
        job_free(j);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    pthread_mutex_lock(&mu);
    if (running && !stopping && pending >= queue_max) { /* filled meanwhile */
        pthread_mutex_unlock(&mu);
        job_free(j);
        return queue_full();
    }
    if (running && !stopping) {
        pending++;
        *tail = j;
        tail = &j->next;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
        return E_OK;
    }
    pthread_mutex_unlock(&mu);
    /* no writer: apply here, in its own transaction, with the arena the
     * writer thread would use (a scan job carries no request's arena:
     * queued jobs outlive their request) */
    arena *a = arena_new(64 * 1024);
    err e = apply_one(d, a, j);
    done(&j->s, e, ctx);
    arena_free(&a);
    job_free(j);
    return E_OK;
}

/*
 * Group commit of scans. Handlers on the event loops check a scan (token,
 * venue, scope) and queue it here; one thread with its own connection takes
 * everything queued, applies it in one transaction and commits once: one
 * fsync (SQLite synchronous=FULL, PostgreSQL's WAL flush) for the whole
 * batch. Only after that commit is each scan answered (its done callback
 * hands the reply back to the loop that owns the request), so an answered
 * scan survives kill -9 the instant after.
 *
 * On SQLite with the access journal (journal.h), the scans of a batch that
 * write nothing but their record are decided outside the transaction,
 * appended to the journal with one fdatasync and answered; only the others
 * (a temperature, an alert, another instance's code) go through the
 * transaction, after them.
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

#include "access/journal.h"
#include "base/log.h"
#include "security/audit.h"

#define BATCH_MAX     512
#define QUEUE_DEFAULT 10000

struct job {
    struct access_scan s;
    struct audit_entry audit; /* s.audit points here when the scan carries its entry */
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
    if (j->s.audit) {
        free((char *)j->audit.username);
        free((char *)j->audit.role);
        free((char *)j->audit.ip);
        free((char *)j->audit.action);
        free((char *)j->audit.object_type);
        free((char *)j->audit.result);
        free((char *)j->audit.detail);
    }
    free(j);
}

/* Copy the scan's audit entry into the job; false when out of memory. */
static bool audit_copy(struct job *j, const struct audit_entry *a)
{
    j->audit = (struct audit_entry){.user_id = a->user_id, .object_id = a->object_id};
    j->s.audit = &j->audit;
    const char *from[] = {a->username,    a->role,   a->ip,    a->action,
                          a->object_type, a->result, a->detail};
    const char **to[] = {&j->audit.username,    &j->audit.role,   &j->audit.ip,    &j->audit.action,
                         &j->audit.object_type, &j->audit.result, &j->audit.detail};
    bool ok = true;
    for (size_t i = 0; i < sizeof from / sizeof *from; i++)
        if (from[i] && !(*to[i] = strdup(from[i])))
            ok = false;
    return ok;
}

/* The scan applied in the caller's transaction, with its audit entry when
 * it carries one (journal mode: the handler did not queue it). */
static err apply_audited(db *d, arena *a, struct job *j)
{
    err e = access_apply(d, a, &j->s);
    return !e && j->s.audit ? audit_log(d, j->s.audit) : e;
}

/* The journal record of a decided scan. */
static void journal_rec_of(const struct access_scan *s, struct journal_rec *r)
{
    unsigned deny = s->decision.deny;
    *r = (struct journal_rec){
        .id = s->record_id,
        .venue_id = s->venue_id,
        .region_code = s->venue_region,
        .person_id = s->person_id,
        .at = s->at,
        .operator_user_id = s->operator_user_id,
        .device_id = s->device_id,
        .created_at = s->at,
        .temperature = s->temperature,
        .direction = (uint8_t)s->direction,
        .colour = (uint8_t)s->colour,
        .pass = s->decision.pass,
        .reason = (uint8_t)(deny & -deny),
        .method = (uint8_t)s->method,
        .audited = s->audit != NULL,
    };
    if (s->audit)
        r->audit = *s->audit;
}

/*
 * Journal mode: the scans that write nothing but their record (no
 * temperature to keep, no alert to raise, not another instance's code) are
 * decided here, outside any transaction, appended to the journal with one
 * fdatasync and answered; the rest are returned for the transaction, where
 * they are applied after these (their counts see these in the journal's
 * tail: one serial order for the batch).
 */
static struct job *run_journal(db *d, arena *a, struct job *list)
{
    struct journal_rec recs[BATCH_MAX];
    struct job *done[BATCH_MAX];
    size_t n = 0;
    struct job *rest = NULL, **rt = &rest;
    for (struct job *j = list, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        if (n < BATCH_MAX && j->s.temperature < 0 && !j->s.remote) {
            err_clear();
            if (!access_decide(d, a, &j->s, recs, n) && !j->s.decision.alerts) {
                journal_rec_of(&j->s, &recs[n]);
                done[n++] = j;
                continue;
            }
        }
        *rt = j; /* applied in the transaction (access_apply decides again) */
        rt = &j->next;
    }
    if (n) {
        err_clear();
        err e = access_journal_append(recs, n);
        for (size_t i = 0; i < n; i++) {
            done[i]->done(&done[i]->s, e, done[i]->ctx);
            job_free(done[i]);
        }
    }
    return rest;
}

static err apply_one(db *d, arena *a, struct job *j)
{
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = apply_audited(d, a, j)) || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    return E_OK;
}

static void run_batch(db *d, arena *a, struct job *list)
{
    if (access_journal_on() && !(list = run_journal(d, a, list)))
        return;
    err_clear();
    err e = db_begin(d);
    for (struct job *j = list; j && !e; j = j->next)
        e = apply_audited(d, a, j);
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
    /* SQLite: the journal's records of the last run indexed before anything
     * is answered, then its indexer started (journal.h) */
    if ((e = access_journal_open(db_url, wdb))) {
        db_close(&wdb);
        return e;
    }
    stopping = false;
    if (pthread_create(&thread, NULL, writer_main, NULL) != 0) {
        access_journal_close();
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
    access_journal_close(); /* indexes what the writer journalled */
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
    j->s.audit = NULL;
    if (!j->s.venue_name || !j->s.masked_name || (s->audit && !audit_copy(j, s->audit))) {
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

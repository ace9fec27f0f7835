/*
 * The offload worker (job/offload.h): a request's long work on a thread of
 * its own, its reply sent by the request's loop.
 */
#include "job/offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/worker.h"
#include "security/audit.h"

struct task {
    struct http_deferred *df;
    offload_fn run;
    const void *arg;
    struct principal who;
    char ip[64];
    json_t *body;
};

static struct job_worker *worker;

/* On the worker: run, then hand the reply (or the error) to the loop. */
static void task_run(db *d, void *arg)
{
    struct task *t = arg;
    arena *a = arena_new(0); /* the worker's task: the request's arena is gone */
    struct offload q = {
        .d = d, .a = a, .who = &t->who, .ip = t->ip, .body = t->body, .arg = t->arg};
    int status = 200;
    json_t *reply = NULL;
    err e = a ? t->run(&q, &status, &reply) : err_set(E_NOMEM, NULL, NULL, NULL);
    if (db_in_tx(d)) /* a run that left its transaction open wrote nothing */
        db_rollback(d);
    char *text = NULL;
    size_t len = 0;
    if (!e) {
        text = json_dumps(reply, JSON_COMPACT);
        len = text ? strlen(text) : 0;
        if (!text)
            e = err_set(E_NOMEM, NULL, NULL, NULL);
    }
    json_decref(reply);
    if (e)
        text = http_error_text(e, &status, &len); /* the detail is this thread's */
    err_clear();
    http_deferred_reply(t->df, text ? status : 500, "application/json; charset=utf-8", text, len);
    arena_free(&a);
}

err offload_commit(struct offload *q, err e, const char *action, const char *object_type,
                   int64_t object_id, const char *detail)
{
    if (e) {
        db_rollback(q->d);
        return e;
    }
    struct audit_entry ae = {.user_id = q->who->user_id,
                             .username = q->who->username,
                             .role = q->who->roles,
                             .ip = q->ip,
                             .action = action,
                             .object_type = object_type,
                             .object_id = object_id,
                             .result = "ok",
                             .detail = detail};
    if (!(e = audit_log(q->d, &ae)))
        e = db_commit(q->d);
    if (e)
        db_rollback(q->d);
    return e;
}

static void task_free(void *arg)
{
    struct task *t = arg;
    json_decref(t->body);
    free(t);
}

err job_offload_start(const char *db_url)
{
    static const struct job_worker_opts o = {.name = "fk-offload", .queue_max = OFFLOAD_QUEUE_MAX};
    err e = job_worker_start(&o, db_url, &worker);
    if (!e && (e = http_on_stop(job_offload_stop)))
        job_offload_stop();
    return e;
}

void job_offload_stop(void)
{
    job_worker_stop(&worker); /* the queued tasks run first: their clients get replies */
}

err job_offload(struct req *r, offload_fn run, const void *arg)
{
    if (!worker) { /* no worker: here, on the request's connection */
        struct offload q = {
            .d = r->db, .a = r->a, .who = r->who, .ip = r->ip, .body = r->body, .arg = arg};
        int status = 200;
        json_t *reply = NULL;
        err e = run(&q, &status, &reply);
        if (db_in_tx(r->db))
            db_rollback(r->db);
        return e ? e : reply_json(r, status, reply);
    }
    struct task *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    t->run = run;
    t->arg = arg;
    t->who = *r->who;
    snprintf(t->ip, sizeof t->ip, "%s", r->ip ? r->ip : "");
    t->body = json_incref(r->body);
    if (!(t->df = req_defer(r))) {
        task_free(t);
        err ea = req_audit_failed(r);
        return ea ? ea : err_set(E_NOMEM, NULL, NULL, NULL);
    }
    err e = job_worker_submit(worker, r->db, task_run, task_free, t);
    if (e) {
        req_undefer(r, t->df);
        task_free(t);
        return err_set(E_UNAVAILABLE, "queue_full", NULL,
                       "系统繁忙（批量数据排队已满），请稍后重试");
    }
    return E_OK;
}

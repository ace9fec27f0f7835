/*
 * Request work too long for an event loop, run on the offload worker (a
 * thread with its own database connection, job/worker.h) while the loop
 * serves its other connections. A batch of 10,000 records from an outside
 * system takes a second on SQLite and tens of seconds on PostgreSQL; run in
 * its handler, it held the loop, and every connection on it, as long.
 *
 * The handler checks on the loop what it cheaply can (the batch's size,
 * refused and audited there), then returns job_offload(r, run, arg). run(q)
 * executes on the worker with its own arena and copies of what it needs of
 * the request; its reply, or its error answered as a handler's would be, is
 * sent by the request's loop (http.h, req_defer). run ends its
 * transaction with offload_commit, which writes the audit entry inside it,
 * so the records and their entry commit together.
 *
 * Tasks run one at a time, in order (they write; on SQLite they would queue
 * for the write lock anyway). At stop, the tasks queued still run before the
 * loops exit, so their replies reach their clients.
 */
#ifndef FK_JOB_OFFLOAD_H
#define FK_JOB_OFFLOAD_H

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "http/http.h"
#include "security/auth.h"

#define OFFLOAD_QUEUE_MAX 64 /* requests waiting; one more is 503 queue_full */

struct offload {
    db *d;                       /* the worker's connection */
    arena *a;                    /* the task's: freed after the reply */
    const struct principal *who; /* a copy of the request's */
    const char *ip;
    json_t *body;    /* the request's body */
    const void *arg; /* job_offload's: static data, the handler's choice */
};

/* On the worker: E_OK with *reply_r (taken) and *status_r, or an error. */
typedef err (*offload_fn)(struct offload *q, int *status_r, json_t **reply_r);

/*
 * On the worker, after a run's writes in the transaction it began on q->d:
 * with e E_OK, the audit entry (result "ok", audit_log) and the commit; with
 * e an error, or either of them failing, the rollback. Returns e or that
 * failure.
 */
err offload_commit(struct offload *q, err e, const char *action, const char *object_type,
                   int64_t object_id, const char *detail) MUST_USE;

/* Start the worker (E_DB, E_NOMEM, E_INTERNAL) and register its stop with
 * http_on_stop; without it (the tools, the unit tests) job_offload runs
 * run on the request's own connection, at once. */
err job_offload_start(const char *db_url) MUST_USE;
void job_offload_stop(void);

/*
 * Answer r later with run's result: E_OK (the reply is deferred), or
 * E_UNAVAILABLE "queue_full" when OFFLOAD_QUEUE_MAX requests wait already,
 * E_NOMEM (nothing run either way).
 */
err job_offload(struct req *r, offload_fn run, const void *arg) MUST_USE;

#endif

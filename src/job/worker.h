/*
 * A job worker: one thread with its own database connection running queued
 * tasks in order, off the event loops. The import jobs (job/import.h), the
 * export jobs (job/export.h) and the result look-ups (nat/nat.h) each have
 * one. A task is run(d, arg) and then free_fn(arg), on the worker's
 * connection.
 */
#ifndef FK_JOB_WORKER_H
#define FK_JOB_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "db/db.h"

typedef void (*job_task_fn)(db *d, void *arg);

struct job_worker_opts {
    const char *name;   /* the thread's name, "fk-import" (at most 15 characters) */
    size_t queue_max;   /* tasks waiting at most (16) */
    void (*each)(void); /* called before each task, on the worker (NULL: none) */
    /* called once on the worker's new connection before its thread starts
     * (NULL: none); an error fails job_worker_start */
    err (*setup)(db *d);
    /* At stop, the tasks still queued: given to drop(d, arg) then freed when
     * set (a queue lives in this process's memory: an export marks its job
     * failed), else run before the worker ends. */
    job_task_fn drop;
};

struct job_worker;

/* Start a worker on a connection of its own to db_url. E_DB, E_NOMEM, E_INTERNAL. */
err job_worker_start(const struct job_worker_opts *o, const char *db_url,
                     struct job_worker **w_r) MUST_USE;

/* Stop *w (NULL: nothing) after its current task, as opts.drop says, and free it. */
void job_worker_stop(struct job_worker **w);

/*
 * Queue run(d, arg) then free_fn(arg) on w. With no worker (w NULL: the
 * tools, the unit tests) they run here, on d, before it returns (E_OK).
 * E_UNAVAILABLE when w's queue is full: nothing run, nothing freed (the
 * caller runs it itself or refuses).
 */
err job_worker_submit(struct job_worker *w, db *d, job_task_fn run, void (*free_fn)(void *arg),
                      void *arg) MUST_USE;

#endif

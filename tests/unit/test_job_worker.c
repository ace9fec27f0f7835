/*
 * The job worker (src/job/worker.h): tasks run in order on the worker's own
 * connection, a full queue is refused, no worker runs the task here, and
 * stop drains the queue or drops it as the options say. The connection is
 * opened at the first task, not at start; a worker that cannot open it
 * runs nothing, and its stop still frees what was queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "job/worker.h"

static char path[64];

/* What the tasks did, in order; the first task waits for the gate so the
 * queue fills behind it. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
    int started; /* tasks begun (the first one then waits at the gate) */
    char log[64];
    size_t n;
    int freed;
    db *seen;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void task(db *d, void *arg)
{
    pthread_mutex_lock(&T.mu);
    T.started++;
    pthread_cond_broadcast(&T.cv);
    while (!T.open)
        pthread_cond_wait(&T.cv, &T.mu);
    T.log[T.n++] = *(char *)arg;
    T.seen = d;
    pthread_mutex_unlock(&T.mu);
}

static void dropped(db *d, void *arg)
{
    (void)d;
    pthread_mutex_lock(&T.mu);
    T.log[T.n++] = (char)(*(char *)arg - 'a' + 'A'); /* dropped: upper case */
    pthread_mutex_unlock(&T.mu);
}

static void task_free(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&T.mu);
    T.freed++;
    pthread_mutex_unlock(&T.mu);
}

static void reset(bool open)
{
    pthread_mutex_lock(&T.mu);
    T.open = open;
    T.started = 0;
    memset(T.log, 0, sizeof T.log);
    T.n = 0;
    T.freed = 0;
    T.seen = NULL;
    pthread_mutex_unlock(&T.mu);
}

/* Wait until the worker holds its first task, blocked at the gate. */
static void first_taken(void)
{
    pthread_mutex_lock(&T.mu);
    while (!T.started)
        pthread_cond_wait(&T.cv, &T.mu);
    pthread_mutex_unlock(&T.mu);
}

static void open_gate(void)
{
    pthread_mutex_lock(&T.mu);
    T.open = true;
    pthread_cond_broadcast(&T.cv);
    pthread_mutex_unlock(&T.mu);
}

static void *open_later(void *unused)
{
    (void)unused;
    usleep(500000);
    open_gate();
    return NULL;
}

static char ids[] = "abcdef";

static void no_worker_runs_here(void **state)
{
    (void)state;
    reset(true);
    db *mine = (db *)&path; /* never used as a connection by task() */
    assert_int_equal(job_worker_submit(NULL, mine, task, task_free, &ids[0]), E_OK);
    assert_string_equal(T.log, "a");
    assert_ptr_equal(T.seen, mine);
    assert_int_equal(T.freed, 1);
}

static void in_order_full_and_drained(void **state)
{
    (void)state;
    reset(false);
    struct job_worker *w = NULL;
    struct job_worker_opts o = {.name = "fk-test", .queue_max = 2};
    assert_int_equal(job_worker_start(&o, path, &w), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[0]), E_OK);
    first_taken(); /* a is running: b and c fill the queue of 2, d does not fit */
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[1]), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[2]), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[3]), E_UNAVAILABLE);
    open_gate();
    job_worker_stop(&w); /* no drop: the queue is run before the worker ends */
    assert_null(w);
    assert_string_equal(T.log, "abc");
    assert_int_equal(T.freed, 3);
    assert_non_null(T.seen); /* the worker's own connection */
}

static void stop_drops(void **state)
{
    (void)state;
    reset(false);
    struct job_worker *w = NULL;
    struct job_worker_opts o = {.name = "fk-test", .queue_max = 4, .drop = dropped};
    assert_int_equal(job_worker_start(&o, path, &w), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[0]), E_OK);
    first_taken();
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[1]), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[2]), E_OK);
    /* the gate opens while stop waits (half a second after stop began:
     * stop marks the worker stopping at once): a ends, b and c are dropped */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_later, NULL), 0);
    job_worker_stop(&w);
    pthread_join(opener, NULL);
    assert_string_equal(T.log, "aBC");
    assert_int_equal(T.freed, 3);
}

static void connects_at_first_task(void **state)
{
    (void)state;
    reset(true);
    unlink(path);
    struct job_worker *w = NULL;
    struct job_worker_opts o = {.name = "fk-test"};
    assert_int_equal(job_worker_start(&o, path, &w), E_OK);
    assert_int_equal(access(path, F_OK), -1); /* no connection yet: SQLite made no file */
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[0]), E_OK);
    job_worker_stop(&w);
    assert_string_equal(T.log, "a");
    assert_non_null(T.seen);
    assert_int_equal(access(path, F_OK), 0);
}

static void no_connection_runs_nothing(void **state)
{
    (void)state;
    reset(true);
    struct job_worker *w = NULL;
    struct job_worker_opts o = {.name = "fk-test"};
    /* a database in a folder that does not exist: the open fails */
    assert_int_equal(job_worker_start(&o, "/nonexistent-fk-test/worker.db", &w), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[0]), E_OK);
    assert_int_equal(job_worker_submit(w, NULL, task, task_free, &ids[1]), E_OK);
    job_worker_stop(&w);
    assert_null(w);
    assert_string_equal(T.log, "");
    assert_int_equal(T.freed, 2);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/fk-test-worker-%d.db", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_worker_runs_here),
        cmocka_unit_test(in_order_full_and_drained),
        cmocka_unit_test(stop_drops),
        cmocka_unit_test(connects_at_first_task),
        cmocka_unit_test(no_connection_runs_nothing),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    char wal[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    return r;
}

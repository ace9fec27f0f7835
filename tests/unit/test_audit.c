/*
 * The audit log's hash chain (security/audit.c): entries appended without a
 * writer thread verify; an edited, a removed middle and a removed newest
 * entry are each found and named; a restarted writer links to the durable
 * head; the asynchronous writer fed from two threads leaves one intact
 * chain; and entries joined into another transaction commit or return with
 * it. Runs against a temporary SQLite database and, when FK_DB names a
 * PostgreSQL database (scripts/with-postgres.sh), against PostgreSQL too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/audit.h"
#include "security/crypto.h"

#define N_SYNC        10
#define ASYNC_THREADS 2
#define ASYNC_EACH    2500

static db *D;
static struct fixture_db F;
static const char *url; /* what audit_start opens: the same database as D */

/* ---- helpers ------------------------------------------------------------- */

static void exec_id(const char *sql, int64_t id)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    db_bind_int64(s, 1, id);
    int rc = db_step(s);
    assert_int_equal(rc, DB_DONE);
    assert_int_equal(db_changes(s), 1);
    db_done(s);
}

/* The writer keeps the chain head in memory; starting and stopping it
 * drops that cache, as a new process would. */
static void forget_head(void)
{
    assert_int_equal(audit_start(url), E_OK);
    audit_stop();
}

/* Every test starts from an empty log. */
static int reset(void **state)
{
    (void)state;
    if (db_exec(D, "DELETE FROM audit_log") ||
        db_exec(D, "DELETE FROM settings WHERE key LIKE 'audit_head:%'"))
        return -1;
    forget_head();
    return 0;
}

static void log_one(int i, const char *detail)
{
    char action[32];
    snprintf(action, sizeof action, "%s", i % 2 ? "person.read" : "person.update");
    struct audit_entry e = {
        .user_id = 1000 + i,
        .username = "alice",
        .role = "grid_worker",
        .ip = "10.0.0.1",
        .action = action,
        .object_type = "person",
        .object_id = 5000 + i,
        .result = "ok",
        .detail = detail,
    };
    audit_log(D, &e);
}

/* Append n entries synchronously; ids_r (n of them) get their ids in chain
 * order. */
static void append_sync(int n, int64_t *ids_r)
{
    for (int i = 0; i < n; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "fields=name count=%d", i);
        log_one(i, detail);
    }
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT id FROM audit_log ORDER BY node, seq", &s), E_OK);
    int k = 0;
    while (db_step(s) == DB_ROW && k < n)
        ids_r[k++] = db_col_int64(s, 0);
    db_done(s);
    assert_int_equal(k, n);
}

static void verify(struct audit_verify_result *v)
{
    assert_int_equal(audit_verify(D, v), E_OK);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, 0);
}

static void test_intact(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, N_SYNC);
    /* ids are time-ordered, so the chain order is creation order */
    for (int i = 1; i < N_SYNC; i++)
        assert_true(ids[i] > ids[i - 1]);
}

static void test_edited(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    exec_id("UPDATE audit_log SET detail = 'x' WHERE id = ?", ids[4]);
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, ids[4]);
    assert_int_equal(v.node, 0);
    assert_int_equal(v.checked, 4);
    assert_non_null(strstr(v.reason, "edited"));
}

static void test_edited_other_column(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    /* rewriting who did it is as visible as rewriting what was done */
    exec_id("UPDATE audit_log SET user_id = 1 WHERE id = ?", ids[0]);
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, ids[0]);
    assert_int_equal(v.checked, 0);
}

static void test_long_detail_hashed_whole(void **state)
{
    (void)state;
    /* a detail far longer than the formatting buffer: editing its last
     * character must still break the link */
    char *detail = malloc(9001);
    memset(detail, 'a', 9000);
    detail[9000] = '\0';
    log_one(0, detail);
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, 1);
    detail[8999] = 'b';
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE audit_log SET detail = ?", &s), E_OK);
    db_bind_text(s, 1, detail);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    free(detail);
    verify(&v);
    assert_int_not_equal(v.broken_id, 0);
    assert_non_null(strstr(v.reason, "edited"));
}

static void test_gap(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    exec_id("DELETE FROM audit_log WHERE id = ?", ids[5]);
    struct audit_verify_result v;
    verify(&v);
    /* the entry after the hole is the first whose link cannot be followed */
    assert_int_equal(v.broken_id, ids[6]);
    assert_int_equal(v.checked, 5);
    assert_non_null(strstr(v.reason, "gap"));
}

static void test_newest_removed(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    exec_id("DELETE FROM audit_log WHERE id = ?", ids[N_SYNC - 1]);
    struct audit_verify_result v;
    verify(&v);
    /* every remaining link holds; only the recorded head shows the loss */
    assert_int_equal(v.broken_id, ids[N_SYNC - 2]);
    assert_int_equal(v.checked, N_SYNC - 1);
    assert_non_null(strstr(v.reason, "removed"));
}

static void test_restart_continues_chain(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(3, ids);
    forget_head();
    for (int i = 0; i < 3; i++)
        log_one(i, "after restart");
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, 6);
}

static void *producer(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < ASYNC_EACH; i++) {
        char detail[48];
        snprintf(detail, sizeof detail, "thread=%d n=%d", t, i);
        log_one(t * ASYNC_EACH + i, detail);
    }
    return NULL;
}

static void test_async_writer(void **state)
{
    (void)state;
    assert_int_equal(audit_start(url), E_OK);
    pthread_t th[ASYNC_THREADS];
    for (int t = 0; t < ASYNC_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, producer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < ASYNC_THREADS; t++)
        pthread_join(th[t], NULL);
    audit_flush();
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, ASYNC_THREADS * ASYNC_EACH);
    int64_t n = 0;
    assert_int_equal(db_query_int64(D, "SELECT COUNT(*) FROM audit_log", &n), E_OK);
    assert_int_equal(n, ASYNC_THREADS * ASYNC_EACH);
    audit_stop();
}

/*
 * audit_join: entries queued while a transaction is open are appended in
 * it. Committed, they are in the log once, in order; rolled back, they go
 * back to the queue and the writer appends them. Whoever appends (the
 * joining transaction or the writer thread, which races it), nothing is
 * lost or doubled and the chain stays intact.
 */
static void test_join(void **state)
{
    (void)state;
    assert_int_equal(audit_start(url), E_OK);
    int64_t before, inside, logged = 0, joined = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 3; i++)
            log_one(round * 3 + i, "fields=name");
        logged += 3;
        assert_int_equal(db_query_int64(D, "SELECT COUNT(*) FROM audit_log", &before), E_OK);
        assert_int_equal(db_begin(D), E_OK);
        assert_int_equal(audit_join(D), E_OK);
        assert_int_equal(db_query_int64(D, "SELECT COUNT(*) FROM audit_log", &inside), E_OK);
        joined += inside > before;
        if (round % 2)
            assert_int_equal(db_commit(D), E_OK);
        else
            db_rollback(D);
    }
    assert_int_equal(audit_join(D), E_OK); /* outside a transaction: nothing */
    audit_flush();
    int64_t n = 0;
    assert_int_equal(db_query_int64(D, "SELECT COUNT(*) FROM audit_log", &n), E_OK);
    assert_int_equal(n, logged);
    struct audit_verify_result v;
    verify(&v);
    assert_int_equal(v.broken_id, 0);
    assert_int_equal(v.checked, logged);
    /* in the order logged: user ids rise with the chain */
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT user_id FROM audit_log ORDER BY node, seq", &s), E_OK);
    int64_t prev = 0;
    while (db_step(s) == DB_ROW) {
        assert_true(db_col_int64(s, 0) > prev);
        prev = db_col_int64(s, 0);
    }
    db_done(s);
    audit_stop();
    /* the writer waits 20 ms before taking a batch, so the transaction
     * nearly always wins; if it never did, join would be untested */
    assert_true(joined > 0);
}

/* ---- groups ---------------------------------------------------------------- */

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "audit", &D))
        return -1;
    url = F.path;
    return db_migrate(D) == E_OK ? 0 : -1;
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    url = getenv("FK_DB");
    if (db_open(url, &D) != E_OK)
        return -1;
    return db_migrate(D) == E_OK ? 0 : -1;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

#define T(f) cmocka_unit_test_setup(f, reset)
#define TESTS                                                                                      \
    T(test_empty), T(test_intact), T(test_edited), T(test_edited_other_column),                    \
        T(test_long_detail_hashed_whole), T(test_gap), T(test_newest_removed),                     \
        T(test_restart_continues_chain), T(test_async_writer), T(test_join)

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x5A ^ i);
    keys_set_master(master);
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    int failed =
        cmocka_run_group_tests_name("audit/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed += cmocka_run_group_tests_name("audit/postgres", pg_tests, open_pg, close_pg);
    }
    return failed ? 1 : 0;
}

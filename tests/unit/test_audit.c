/*
 * The audit log's hash chain (security/audit.c): entries appended without a
 * writer thread verify; an edited, a removed middle and a removed newest
 * entry are each found and named; a restarted writer links to the durable
 * head; the asynchronous writer fed from two threads leaves one intact
 * chain; and entries joined into another transaction commit or return with
 * it. A write's entry is appended in the write's own transaction: rolled
 * back with it, durable with its commit (no audit_flush), interleaving with
 * the writer thread without forking the chain. The chain is keyed, and the
 * signed checkpoints and retention markers of the anchor file find a cut
 * tail, a wiped log and oldest entries removed without a marker, while a
 * pruned log verifies. Runs against a temporary SQLite database and, when
 * FK_DB names a PostgreSQL database (scripts/with-postgres.sh), against
 * PostgreSQL too.
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
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "security/audit.h"
#include "security/crypto.h"

#define N_SYNC        10
#define ASYNC_THREADS 2
#define ASYNC_EACH    2500

static db *D;
static struct fixture_db F;
static char anchors[96]; /* the anchor file of the tests that use one */
static const char *url;  /* what audit_start opens: the same database as D */

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
    if (db_exec(D, "DELETE FROM audit_log") || db_exec(D, "DELETE FROM audit_marker") ||
        db_exec(D, "DELETE FROM settings WHERE key LIKE 'audit_head:%'") ||
        db_exec(D, "DELETE FROM settings WHERE key = 'inline_probe'") ||
        db_exec(D, "INSERT INTO settings (key, value) VALUES ('audit_chain', 'hmac-sm3') "
                   "ON CONFLICT (key) DO NOTHING"))
        return -1;
    audit_configure(NULL, 60);
    unlink(anchors);
    forget_head();
    return 0;
}

static err log_on(db *d, int i, const char *detail);
static void log_one(int i, const char *detail)
{
    assert_int_equal(log_on(D, i, detail), E_OK);
}

static err log_on(db *d, int i, const char *detail)
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
    return audit_log(d, &e);
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

/* ---- a write's entry in the write's transaction ----------------------------- */

static int64_t count_of(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

/* A write (a settings row stands for any record) and its audit entry. */
static void write_with_entry(const char *value)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO settings (key, value) VALUES ('inline_probe', ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                &s),
                     E_OK);
    db_bind_text(s, 1, value);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    log_one(0, value);
}

static void test_inline_rollback_and_commit(void **state)
{
    (void)state;
    assert_int_equal(audit_start(url), E_OK); /* as in the server: a writer runs */
    assert_int_equal(db_begin(D), E_OK);
    write_with_entry("rolled-back");
    /* appended inside the transaction, visible to it */
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), 1);
    db_rollback(D);
    /* give a queueing writer every chance to write it anyway */
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), 0);

    assert_int_equal(db_begin(D), E_OK);
    write_with_entry("committed");
    assert_int_equal(db_commit(D), E_OK);
    /* no audit_flush: the entry is durable with the write */
    assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 1);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'committed'"), 1);
    audit_stop();
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
    assert_int_equal(v.checked, 1);
}

static void test_inline_failure_poisons(void **state)
{
    (void)state;
    assert_int_equal(db_begin(D), E_OK);
    write_with_entry("first");
    /* the next append fails (its table is gone for this transaction), and
     * the write must not commit without its entry */
    assert_int_equal(db_exec(D, "ALTER TABLE audit_log RENAME TO audit_log_away"), E_OK);
    assert_int_not_equal(log_on(D, 1, "second"), E_OK); /* the caller is told too */
    assert_int_not_equal(db_commit(D), E_OK);
    assert_false(db_in_tx(D));
    assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), 0);
}

/* A CLI command of the same node (a backup beside the server) makes the
 * same first ids of a millisecond: an entry whose id is taken gets a fresh
 * one inside the caller's transaction, which commits with it. The next
 * 300 ms of this node's first ids are taken here by another node's rows. */
static void test_inline_id_taken_retries(void **state)
{
    (void)state;
    int64_t t0 = now_ms();
    db_stmt *s;
    assert_int_equal(db_begin(D), E_OK);
    for (int64_t k = 0; k < 300; k++)
        for (int64_t q = 0; q < 3; q++) {
            assert_int_equal(
                db_prepare(D,
                           "INSERT INTO audit_log (id, node, seq, at, user_id, username, role, "
                           "ip, action, object_type, object_id, result, detail, prev_hash, hash) "
                           "VALUES (?, 999, ?, ?, 0, 'cli', '', '', 'backup.create', '', 0, 'ok', "
                           "'', ?, ?)",
                           &s),
                E_OK);
            int64_t id = id_min_at(t0 + k) | ((int64_t)id_node() << 12) | q;
            static const uint8_t zero[32];
            db_bind_int64(s, 1, id);
            db_bind_int64(s, 2, k * 3 + q + 1);
            db_bind_int64(s, 3, t0 + k);
            db_bind_blob(s, 4, zero, 32);
            db_bind_blob(s, 5, zero, 32);
            assert_int_equal(db_step(s), DB_DONE);
            db_done(s);
        }
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(db_begin(D), E_OK);
    write_with_entry("after a taken id");
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'after a taken id'"),
                     1);
}

/* Reads of personal data on another thread, with its own connection (as
 * each event loop has), outside any transaction: queued. */
static void *async_reader(void *arg)
{
    int *n = arg;
    db *d;
    if (db_open(url, &d))
        abort();
    for (int i = 0; i < *n; i++)
        if (log_on(d, 1, "fields=name read"))
            abort();
    db_close(&d);
    return NULL;
}

/* Inline appends of transactions and the writer thread's batches, on one
 * node at once: one intact chain holding every entry. */
static void test_inline_interleaves_with_writer(void **state)
{
    (void)state;
    assert_int_equal(audit_start(url), E_OK);
    int reads = 3000;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, async_reader, &reads), 0);
    int writes = 0;
    for (int i = 0; i < 60; i++) {
        assert_int_equal(db_begin(D), E_OK);
        write_with_entry("write");
        log_one(2, "write second entry");
        assert_int_equal(db_commit(D), E_OK);
        writes += 2;
    }
    pthread_join(th, NULL);
    audit_flush();
    audit_stop();
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), reads + writes);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
    assert_int_equal(v.checked, reads + writes);
}

/*
 * The writer's queue is bounded: with the writer stalled (another
 * connection's transaction holds the chain head: SQLite's write lock, the
 * head row on PostgreSQL), entries are accepted up to the cap and then
 * refused with E_UNAVAILABLE "queue_full", nothing of the refused one
 * written; once the writer catches up, entries are accepted again and the
 * chain holds exactly the accepted ones.
 */
static void test_queue_cap(void **state)
{
    (void)state;
    enum { CAP = 3 };
    audit_set_queue_max(CAP);
    assert_int_equal(audit_start(url), E_OK);
    db *d2;
    assert_int_equal(db_open(url, &d2), E_OK);
    assert_int_equal(db_begin(D), E_OK);
    log_one(0, "holds the head"); /* inline: the head is locked until commit */
    for (int i = 0; i < CAP; i++)
        assert_int_equal(log_on(d2, 1 + i, "queued"), E_OK);
    /* the writer may have taken them as a batch: they still count until written */
    struct timespec ts = {0, 60 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(log_on(d2, 9, "refused"), E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "queue_full");
    assert_true(err_last()->message[0] != '\0');
    assert_int_equal(db_commit(D), E_OK);
    audit_flush();
    assert_int_equal(log_on(d2, 10, "after"), E_OK); /* room again */
    audit_flush();
    audit_stop();
    db_close(&d2);
    audit_set_queue_max(0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'refused'"), 0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), 1 + CAP + 1);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
}

/* A probe write the way a capability does it: its own transaction, or
 * (own_tx false) a lone autocommitted statement. */
static void callee_write(bool own_tx, const char *value)
{
    if (own_tx)
        assert_int_equal(db_begin(D), E_OK);
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO settings (key, value) VALUES ('inline_probe', ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                &s),
                     E_OK);
    db_bind_text(s, 1, value);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    if (own_tx)
        assert_int_equal(db_commit(D), E_OK);
}

/*
 * What the API handlers do (person/api.c, user/api.c): hold the
 * capability's transaction past its commit, append the entry, release.
 * Released with commit, both are there at once; released without (the
 * handler failed after the capability committed), neither is. A capability
 * writing without a transaction of its own gets one at its first write.
 */
static void test_hold_release(void **state)
{
    (void)state;
    assert_int_equal(audit_start(url), E_OK);
    for (int own = 0; own < 2; own++) {
        db_hold(D);
        callee_write(own, "undone");
        assert_true(db_in_tx(D)); /* held open */
        log_one(0, "undone");
        assert_int_equal(db_release(D, false), E_OK);
        assert_false(db_in_tx(D));
        assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 0);
        assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'undone'"), 0);

        db_hold(D);
        callee_write(own, "kept");
        log_one(0, "kept");
        assert_int_equal(db_release(D, true), E_OK);
        assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 1);
        assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'kept'"), own + 1);
        assert_int_equal(db_exec(D, "DELETE FROM settings WHERE key = 'inline_probe'"), E_OK);
    }
    /* a capability that failed and rolled back: nothing to release, and
     * the refusal's entry (outside any transaction) is queued */
    db_hold(D);
    assert_int_equal(db_begin(D), E_OK);
    db_rollback(D);
    assert_int_equal(db_release(D, true), E_OK);
    assert_false(db_in_tx(D));
    audit_stop();
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
    assert_int_equal(v.checked, 2);
}

/* db_begin inside a transaction is a savepoint: undone alone, the outer
 * transaction goes on and commits what it added. */
static void test_nested_is_savepoint(void **state)
{
    (void)state;
    assert_int_equal(db_begin(D), E_OK);
    callee_write(true, "inner committed");
    assert_int_equal(db_begin(D), E_OK);
    log_one(0, "inner rolled back");
    db_rollback(D);
    assert_true(db_in_tx(D));
    log_one(1, "outer");
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(count_of("SELECT COUNT(*) FROM settings WHERE key = 'inline_probe'"), 1);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log"), 1);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE detail = 'outer'"), 1);
    struct audit_verify_result v;
    forget_head();
    verify(&v);
    assert_string_equal(v.code, "");
}

/* ---- keyed chain and anchors ------------------------------------------------ */

static void test_rehashed_without_key_is_found(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    /* the old attack: rewrite an entry and recompute every hash after it
     * with plain SM3, as the unkeyed chain allowed */
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE audit_log SET detail = 'forged' WHERE id = ?", &s),
                     E_OK);
    db_bind_int64(s, 1, ids[3]);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "edited");
    assert_int_equal(v.broken_id, ids[3]);
}

static void use_anchors(void)
{
    audit_configure(anchors, 60);
}

static void test_checkpoint_finds_cut_tail_and_wipe(void **state)
{
    (void)state;
    use_anchors();
    assert_int_equal(audit_start(url), E_OK);
    int64_t ids[N_SYNC];
    for (int i = 0; i < N_SYNC; i++)
        log_one(i, "x");
    audit_flush();
    audit_stop(); /* writes the last checkpoint */
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
    assert_true(v.anchored >= 1);
    /* cut the tail and move the recorded head with it */
    assert_int_equal(db_exec(D, "DELETE FROM audit_log WHERE seq > 7"), E_OK);
    assert_int_equal(db_exec(D, "UPDATE settings SET value = (SELECT '7:' || '' FROM "
                                "audit_log WHERE seq = 7) WHERE key = 'audit_head:0'"),
                     E_OK);
    verify(&v);
    assert_string_equal(v.code, "tail_cut");
    (void)ids;
    assert_int_equal(db_exec(D, "DELETE FROM audit_log"), E_OK);
    assert_int_equal(db_exec(D, "DELETE FROM settings WHERE key LIKE 'audit_head:%'"), E_OK);
    verify(&v);
    assert_string_equal(v.code, "wiped");
}

static void test_prune_marker(void **state)
{
    (void)state;
    use_anchors();
    /* four old entries, then six newer ones */
    for (int i = 0; i < 4; i++)
        log_one(i, "old");
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    for (int i = 4; i < N_SYNC; i++)
        log_one(i, "new");
    /* prune everything before the 5th entry's time */
    int64_t at5 = 0;
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT at FROM audit_log WHERE seq = 5", &s), E_OK);
    assert_int_equal(db_step(s), DB_ROW);
    at5 = db_col_int64(s, 0);
    db_done(s);
    int64_t removed = 0;
    assert_int_equal(audit_prune(D, at5, &removed), E_OK);
    assert_int_equal(removed, 4);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "");
    assert_int_equal(v.pruned, removed);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.prune'"), 1);
    /* removing one more old entry is not covered by the marker */
    assert_int_equal(db_exec(D, "DELETE FROM audit_log WHERE seq = (SELECT MIN(seq) FROM "
                                "audit_log)"),
                     E_OK);
    verify(&v);
    assert_string_equal(v.code, "oldest_removed");
    /* a pruned log does not prune again while it is broken */
    assert_int_not_equal(audit_prune(D, at5, &removed), E_OK);
}

static void test_oldest_removed_without_marker(void **state)
{
    (void)state;
    int64_t ids[N_SYNC];
    append_sync(N_SYNC, ids);
    exec_id("DELETE FROM audit_log WHERE id = ?", ids[0]);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "oldest_removed");
    assert_int_equal(v.broken_id, ids[1]);
}

/* ---- databases from before migration 009 ---------------------------------- */

/* Append n entries chained the old way: plain SM3, as before the key. */
static void append_legacy(int n)
{
    uint8_t prev[SM3_LEN] = {0};
    for (int i = 1; i <= n; i++) {
        char text[256];
        int64_t id = 1000 + i;
        int len = snprintf(text, sizeof text,
                           "%lld\x1f%d\x1f%d\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%lld"
                           "\x1f%s\x1f%s",
                           (long long)id, 0, i, 1700000000000LL + i, 7LL, "old", "grid_worker",
                           "10.0.0.9", "person.read", "person", 42LL, "ok", "legacy");
        uint8_t buf[SM3_LEN + 256], hash[SM3_LEN];
        memcpy(buf, prev, SM3_LEN);
        memcpy(buf + SM3_LEN, text, (size_t)len);
        sm3(buf, SM3_LEN + (size_t)len, hash);
        db_stmt *s;
        assert_int_equal(
            db_prepare(D,
                       "INSERT INTO audit_log (id, node, seq, at, user_id, username, role, ip, "
                       "action, object_type, object_id, result, detail, prev_hash, hash) VALUES "
                       "(?, 0, ?, ?, 7, 'old', 'grid_worker', '10.0.0.9', 'person.read', "
                       "'person', 42, 'ok', 'legacy', ?, ?)",
                       &s),
            E_OK);
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, i);
        db_bind_int64(s, 3, 1700000000000LL + i);
        db_bind_blob(s, 4, prev, SM3_LEN);
        db_bind_blob(s, 5, hash, SM3_LEN);
        assert_int_equal(db_step(s), DB_DONE);
        db_done(s);
        memcpy(prev, hash, SM3_LEN);
    }
}

static void test_upgrade_rekeys_legacy_chain(void **state)
{
    (void)state;
    assert_int_equal(db_exec(D, "DELETE FROM settings WHERE key = 'audit_chain'"), E_OK);
    append_legacy(5);
    struct audit_verify_result v;
    verify(&v);
    assert_string_equal(v.code, "edited"); /* not a keyed chain */
    assert_int_equal(audit_upgrade(D), E_OK);
    verify(&v);
    assert_string_equal(v.code, "");
    assert_int_equal(v.checked, 6);
    assert_int_equal(
        count_of("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.rekey' AND detail = "
                 "'entries=5 legacy=intact'"),
        1);
    /* once only */
    assert_int_equal(audit_upgrade(D), E_OK);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.rekey'"), 1);
}

static void test_upgrade_records_broken_legacy_chain(void **state)
{
    (void)state;
    assert_int_equal(db_exec(D, "DELETE FROM settings WHERE key = 'audit_chain'"), E_OK);
    append_legacy(5);
    assert_int_equal(db_exec(D, "UPDATE audit_log SET detail = 'edited' WHERE seq = 3"), E_OK);
    assert_int_equal(audit_upgrade(D), E_OK);
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.rekey' AND "
                              "detail = 'entries=5 legacy=broken first_bad=1003'"),
                     1);
}

static void test_upgrade_refused_once_anchored(void **state)
{
    (void)state;
    use_anchors();
    log_one(0, "anchored");
    audit_checkpoint(); /* the anchor file now holds a checkpoint */
    assert_int_equal(db_exec(D, "DELETE FROM audit_log"), E_OK);
    assert_int_equal(db_exec(D, "DELETE FROM settings WHERE key = 'audit_chain'"), E_OK);
    append_legacy(3);
    assert_int_equal(audit_upgrade(D), E_OK);
    /* not re-keyed: that would launder whatever was edited meanwhile */
    assert_int_equal(count_of("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.rekey'"), 0);
    struct audit_verify_result v;
    verify(&v);
    assert_string_not_equal(v.code, "");
    assert_int_equal(db_exec(D, "INSERT INTO settings (key, value) VALUES ('audit_chain', "
                                "'hmac-sm3')"),
                     E_OK);
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
        T(test_restart_continues_chain), T(test_async_writer), T(test_join),                       \
        T(test_inline_rollback_and_commit), T(test_inline_failure_poisons),                        \
        T(test_inline_id_taken_retries), T(test_inline_interleaves_with_writer),                   \
        T(test_queue_cap), T(test_hold_release), T(test_nested_is_savepoint),                      \
        T(test_rehashed_without_key_is_found), T(test_checkpoint_finds_cut_tail_and_wipe),         \
        T(test_prune_marker), T(test_oldest_removed_without_marker),                               \
        T(test_upgrade_rekeys_legacy_chain), T(test_upgrade_records_broken_legacy_chain),          \
        T(test_upgrade_refused_once_anchored)

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x5A ^ i);
    keys_set_master(master);
    char dir[] = "/tmp/fk-test-anchors.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(anchors, sizeof anchors, "%s/audit-anchors.log", dir);
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    int failed =
        cmocka_run_group_tests_name("audit/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed += cmocka_run_group_tests_name("audit/postgres", pg_tests, open_pg, close_pg);
    }
    unlink(anchors);
    rmdir(dir);
    return failed ? 1 : 0;
}

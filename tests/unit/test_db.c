/*
 * The db layer against SQLite (a temporary file) and, when FK_DB names a
 * PostgreSQL database (scripts/with-postgres.sh), against PostgreSQL too:
 * the same tests, so both drivers keep one behaviour. In that database it
 * creates and drops dbtest_* tables and applies the migrations.
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
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "db/db.h"
#include "db/query.h"

static db *D;
static enum db_kind expected_kind;
static struct fixture_db F;

static const char create_rows[] = "CREATE TABLE dbtest_rows ("
                                  "id BIGINT PRIMARY KEY, "
                                  "name TEXT, "
                                  "data BYTEA, "
                                  "data2 BYTEA, "
                                  "score DOUBLE PRECISION, "
                                  "n BIGINT, "
                                  "code TEXT UNIQUE)";

static const char insert_rows[] =
    "INSERT INTO dbtest_rows (id, name, data, data2, score, n, code) VALUES (?, ?, ?, ?, ?, ?, ?)";

static int reset_tables(void **state)
{
    (void)state;
    assert_int_equal(db_exec(D, "DROP TABLE IF EXISTS dbtest_rows"), E_OK);
    assert_int_equal(db_exec(D, "DROP TABLE IF EXISTS dbtest_canary"), E_OK);
    assert_int_equal(db_exec(D, create_rows), E_OK);
    assert_int_equal(db_exec(D, "CREATE TABLE dbtest_canary (v INTEGER)"), E_OK);
    assert_int_equal(db_exec(D, "INSERT INTO dbtest_canary (v) VALUES (1)"), E_OK);
    return 0;
}

static int open_sqlite(void **state)
{
    (void)state;
    expected_kind = DB_SQLITE;
    if (fixture_sqlite_open(&F, "db", &D))
        return -1;
    return 0;
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
    expected_kind = DB_POSTGRES;
    return fixture_pg_open(&D);
}

static int close_pg(void **state)
{
    (void)state;
    if (D) {
        /* clean-up: a failure shows in the next test's CREATE */
        err_ignore(db_exec(D, "DROP TABLE IF EXISTS dbtest_rows"));
        err_ignore(db_exec(D, "DROP TABLE IF EXISTS dbtest_canary"));
    }
    db_close(&D);
    return 0;
}

static void insert(int64_t id, const char *name, const void *data, size_t n, double score)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, name);
    db_bind_blob(s, 3, data, n);
    db_bind_null(s, 4);
    db_bind_double(s, 5, score);
    db_bind_int64(s, 6, id);
    db_bind_null(s, 7);
    assert_int_equal(db_step(s), DB_DONE);
    assert_int_equal(db_changes(s), 1);
    db_done(s);
}

static int64_t count(const char *sql)
{
    int64_t v = -1;
    assert_int_equal(db_query_int64(D, sql, &v), E_OK);
    return v;
}

static void test_kind(void **state)
{
    (void)state;
    assert_int_equal(db_kind(D), expected_kind);
}

static void test_roundtrip(void **state)
{
    (void)state;
    static const unsigned char blob[] = {0, 1, 0, 0xff, '\'', '\\', 'x', 0, '?', 0x80};
    static const unsigned char blob2[] = {0xde, 0xad, 0, 0xbe, 0xef};
    const char *quotes = "O'Brien \"q\" it's ? \\x00 'x'";
    const char *inject = "'; DROP TABLE dbtest_canary; --";
    const char *chinese = "张三，北京市朝阳区";

    db_stmt *s;
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, INT64_MIN);
    db_bind_text(s, 2, quotes);
    db_bind_blob(s, 3, blob, sizeof blob);
    db_bind_blob(s, 4, blob2, sizeof blob2);
    db_bind_double(s, 5, -1.7976931348623157e308);
    db_bind_int64(s, 6, INT64_MIN);
    db_bind_text(s, 7, "a");
    assert_int_equal(db_step(s), DB_DONE);
    assert_int_equal(db_changes(s), 1);
    db_done(s);

    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, INT64_MAX);
    db_bind_text(s, 2, inject);
    db_bind_blob(s, 3, "", 0);
    db_bind_text(s, 4, NULL);
    db_bind_double(s, 5, 0.1);
    db_bind_int64(s, 6, INT64_MAX);
    db_bind_text(s, 7, chinese);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    /* Unbound parameters are NULL. */
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 0);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_canary"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 3);

    assert_int_equal(
        db_prepare(D, "SELECT id, name, data, data2, score, n, code FROM dbtest_rows ORDER BY id",
                   &s),
        E_OK);

    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_column_count(s), 7);
    assert_true(db_col_int64(s, 0) == INT64_MIN);
    assert_string_equal(db_col_text(s, 1), quotes);
    size_t n1, n2;
    const void *p1 = db_col_blob(s, 2, &n1);
    const void *p2 = db_col_blob(s, 3, &n2); /* both stay valid until the next step */
    assert_int_equal(n1, sizeof blob);
    assert_int_equal(n2, sizeof blob2);
    assert_memory_equal(p1, blob, sizeof blob);
    assert_memory_equal(p2, blob2, sizeof blob2);
    assert_true(db_col_double(s, 4) == -1.7976931348623157e308);
    assert_true(db_col_int64(s, 5) == INT64_MIN);
    assert_false(db_col_null(s, 1));

    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_col_int64(s, 0), 0);
    for (int i = 1; i < 7; i++)
        assert_true(db_col_null(s, i));
    assert_string_equal(db_col_text(s, 1), "");
    assert_int_equal(db_col_int64(s, 5), 0);
    assert_true(db_col_double(s, 4) == 0);
    size_t n = 99;
    assert_null(db_col_blob(s, 2, &n));
    assert_int_equal(n, 0);

    assert_int_equal(db_step(s), DB_ROW);
    assert_true(db_col_int64(s, 0) == INT64_MAX);
    assert_string_equal(db_col_text(s, 1), inject);
    assert_false(db_col_null(s, 2));
    n = 99;
    (void)db_col_blob(s, 2, &n);
    assert_int_equal(n, 0);
    assert_true(db_col_null(s, 3));
    assert_true(db_col_double(s, 4) == 0.1);
    assert_true(db_col_int64(s, 5) == INT64_MAX);
    assert_string_equal(db_col_text(s, 6), chinese);

    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    /* The value is bound, the table survives. */
    assert_int_equal(db_prepare(D, "SELECT COUNT(*) FROM dbtest_rows WHERE name = ?", &s), E_OK);
    db_bind_text(s, 1, inject);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_col_int64(s, 0), 1);
    db_done(s);
    assert_int_equal(count("SELECT v FROM dbtest_canary"), 1);
}

static void test_text_is_copied(void **state)
{
    (void)state;
    char buf[32] = "before";
    unsigned char bytes[3] = {1, 2, 3};
    db_stmt *s;
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 7);
    db_bind_text(s, 2, buf);
    db_bind_blob(s, 3, bytes, sizeof bytes);
    strcpy(buf, "after");
    memset(bytes, 9, sizeof bytes);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    assert_int_equal(db_prepare(D, "SELECT name, data FROM dbtest_rows WHERE id = ?", &s), E_OK);
    db_bind_int64(s, 1, 7);
    assert_int_equal(db_step(s), DB_ROW);
    assert_string_equal(db_col_text(s, 0), "before");
    size_t n;
    const unsigned char *p = db_col_blob(s, 1, &n);
    assert_int_equal(n, 3);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[2], 3);
    db_done(s);
}

static void test_placeholders_in_literals(void **state)
{
    (void)state;
    insert(1, "what?", NULL, 0, 1.5);
    insert(2, "it's", NULL, 0, 2.5);
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "SELECT id FROM dbtest_rows /* ? */ WHERE name <> 'a?''b?' -- ?\n"
                                "AND (name = ? OR name = 'what?') AND id >= ? ORDER BY id",
                                &s),
                     E_OK);
    db_bind_text(s, 1, "it's");
    db_bind_int64(s, 2, 1);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_col_int64(s, 0), 1);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_col_int64(s, 0), 2);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    assert_int_equal(db_prepare(D, "SELECT score FROM dbtest_rows WHERE score > ? ORDER BY id", &s),
                     E_OK);
    db_bind_double(s, 1, 2.0);
    assert_int_equal(db_step(s), DB_ROW);
    assert_true(db_col_double(s, 0) == 2.5);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
}

static void test_changes(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++)
        insert(i, "n", NULL, 0, i);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE dbtest_rows SET score = ? WHERE id >= ?", &s), E_OK);
    db_bind_double(s, 1, 9.5);
    db_bind_int64(s, 2, 2);
    assert_int_equal(db_step(s), DB_DONE);
    assert_int_equal(db_changes(s), 2);
    db_done(s);

    assert_int_equal(db_prepare(D, "DELETE FROM dbtest_rows WHERE id > ?", &s), E_OK);
    db_bind_int64(s, 1, 100);
    assert_int_equal(db_step(s), DB_DONE);
    assert_int_equal(db_changes(s), 0);
    db_done(s);

    assert_int_equal(db_prepare(D, "DELETE FROM dbtest_rows WHERE id > ?", &s), E_OK);
    db_bind_int64(s, 1, 0);
    assert_int_equal(db_step(s), DB_DONE);
    assert_int_equal(db_changes(s), 3);
    db_done(s);
}

static void test_conflicts(void **state)
{
    (void)state;
    insert(1, "a", NULL, 0, 0);
    db_stmt *s;
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 1);
    int rc = db_step(s);
    assert_true(rc != DB_ROW && rc != DB_DONE);
    assert_int_equal(db_step_err(s), E_CONFLICT);
    assert_string_equal(err_last()->slug, "duplicate");
    db_done(s);

    /* The statement is usable again after a failure. */
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 2);
    db_bind_text(s, 7, "c");
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    /* A UNIQUE column other than the key. */
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 3);
    db_bind_text(s, 7, "c");
    rc = db_step(s);
    assert_true(rc != DB_ROW && rc != DB_DONE);
    assert_int_equal(db_step_err(s), E_CONFLICT);
    assert_string_equal(err_last()->slug, "duplicate");
    db_done(s);

    assert_int_equal(db_exec(D, "INSERT INTO dbtest_rows (id) VALUES (1)"), E_CONFLICT);
    assert_string_equal(err_last()->slug, "duplicate");

    assert_int_equal(db_exec(D, "CREATE TABLE dbtest_notnull (v INTEGER NOT NULL)"), E_OK);
    assert_int_equal(db_prepare(D, "INSERT INTO dbtest_notnull (v) VALUES (?)", &s), E_OK);
    rc = db_step(s);
    assert_true(rc != DB_ROW && rc != DB_DONE);
    assert_int_equal(db_step_err(s), E_CONFLICT);
    assert_string_equal(err_last()->slug, "constraint");
    db_done(s);
    assert_int_equal(db_exec(D, "DROP TABLE dbtest_notnull"), E_OK);

    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 2);
}

static void test_errors(void **state)
{
    (void)state;
    db_stmt *s = NULL;
    assert_int_equal(db_prepare(D, "SELEC nothing", &s), E_DB);
    assert_int_equal(db_exec(D, "SELEC nothing"), E_DB);
    int64_t v = 42;
    assert_int_equal(db_query_int64(D, "SELECT id FROM dbtest_rows WHERE id = 12345", &v),
                     E_NOT_FOUND);
    assert_int_equal(v, 42);
    /* The connection still works. */
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_canary"), 1);
}

static void test_transactions(void **state)
{
    (void)state;
    assert_int_equal(db_begin(D), E_OK);
    insert(1, "rolled back", NULL, 0, 0);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 1);
    db_rollback(D);
    db_rollback(D);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 0);

    assert_int_equal(db_begin(D), E_OK);
    insert(2, "kept", NULL, 0, 0);
    insert(3, "kept", NULL, 0, 0);
    assert_int_equal(db_commit(D), E_OK);
    db_rollback(D);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 2);

    assert_int_equal(db_exec_script(D, "BEGIN; INSERT INTO dbtest_rows (id) VALUES (4); "
                                       "INSERT INTO dbtest_rows (id) VALUES (5); COMMIT;"),
                     E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 4);
}

/* PostgreSQL discards a transaction at its first error: COMMIT must not
 * report success then. */
static void test_commit_after_error(void **state)
{
    (void)state;
    insert(1, "a", NULL, 0, 0);
    assert_int_equal(db_begin(D), E_OK);
    insert(2, "b", NULL, 0, 0);
    assert_int_equal(db_exec(D, "INSERT INTO dbtest_rows (id) VALUES (1)"), E_CONFLICT);
    assert_int_not_equal(db_commit(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 1);
}

static void test_statement_cache(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++)
        insert(i, "row", NULL, 0, i);
    const char *sql = "SELECT id FROM dbtest_rows WHERE id >= ? ORDER BY id";
    db_stmt *a, *b;
    assert_int_equal(db_prepare(D, sql, &a), E_OK);
    db_bind_int64(a, 1, 2);
    assert_int_equal(db_step(a), DB_ROW);
    assert_int_equal(db_col_int64(a, 0), 2);
    db_done(a);

    /* Reused, reset and unbound: NULL matches nothing. */
    assert_int_equal(db_prepare(D, sql, &b), E_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(db_step(b), DB_DONE);
    db_done(b);

    /* Nested use of the same SQL: two live statements. */
    assert_int_equal(db_prepare(D, sql, &a), E_OK);
    db_bind_int64(a, 1, 1);
    int outer = 0;
    while (db_step(a) == DB_ROW) {
        int64_t id = db_col_int64(a, 0);
        assert_int_equal(id, ++outer);
        assert_int_equal(db_prepare(D, sql, &b), E_OK);
        assert_ptr_not_equal(a, b);
        db_bind_int64(b, 1, id);
        int inner = 0;
        while (db_step(b) == DB_ROW)
            inner++;
        assert_int_equal(inner, 3 - id + 1);
        assert_int_equal(db_col_int64(a, 0), id);
        db_done(b);
    }
    assert_int_equal(outer, 3);
    db_done(a);

    assert_int_equal(db_prepare(D, sql, &b), E_OK);
    assert_ptr_equal(a, b);
    db_done(b);
    db_done(NULL);
}

static void test_migrate(void **state)
{
    (void)state;
    assert_int_equal(db_migrate(D), E_OK);
    int64_t applied = count("SELECT COUNT(*) FROM schema_migrations");
    assert_true(applied >= 1);
    assert_int_equal(db_migrate(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM schema_migrations"), applied);
    assert_int_equal(count("SELECT COUNT(*) FROM regions"), 0);
}

/* A server-side disconnect fails the statement in flight as the database
 * being down (503 database_down, docs/ha.md); the next one reconnects and
 * prepares again. */
static void test_pg_reconnect(void **state)
{
    (void)state;
    insert(1, "a", NULL, 0, 0);
    db *admin;
    assert_int_equal(db_open(getenv("FK_DB"), &admin), E_OK);
    int64_t pid = count("SELECT pg_backend_pid()");
    db_stmt *s;
    assert_int_equal(db_prepare(admin, "SELECT pg_terminate_backend(?, 5000)", &s), E_OK);
    db_bind_int64(s, 1, pid);
    assert_int_equal(db_step(s), DB_ROW);
    db_done(s);
    db_close(&admin);

    int64_t v;
    assert_int_equal(db_query_int64(D, "SELECT COUNT(*) FROM dbtest_rows", &v), E_UNAVAILABLE);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 1);
    assert_int_not_equal(count("SELECT pg_backend_pid()"), pid);
    insert(2, "b", NULL, 0, 0);
}

/* SQLite: ids are rowids (db/migrate.c), so a table keyed by id has no
 * separate key index. */
static void test_rowid_keys(void **state)
{
    (void)state;
    assert_int_equal(db_migrate(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'persons' AND sql LIKE "
                           "'%INTEGER PRIMARY KEY%'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE "
                           "'%BIGINT PRIMARY KEY%' AND name NOT LIKE 'dbtest%'"),
                     0);
    assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = "
                           "'sqlite_autoindex_persons_1'"),
                     0);
    /* the marker of a table stored in its key (sql/025) is spelled out, and
     * no marker is left as a comment */
    assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'person_name_tokens' "
                           "AND sql LIKE '%) WITHOUT ROWID'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%/*sqlite:%'"), 0);
}

struct waiter {
    int rc;
    int64_t seen;
};

static void *begin_on_second(void *arg)
{
    struct waiter *w = arg;
    db *d2;
    w->rc = -1;
    if (db_open(F.path, &d2))
        return NULL;
    if (db_begin(d2) == E_OK) { /* waits for the main thread's commit */
        /* a failed count leaves seen unset, which the assert on it catches */
        err_ignore(db_query_int64(d2, "SELECT COUNT(*) FROM dbtest_rows", &w->seen));
        w->rc = db_commit(d2);
    }
    db_close(&d2);
    return NULL;
}

/* SQLite: connections of one process share a writer lock; a second
 * writer waits for the first's commit and then sees its rows; a thread
 * beginning on a second connection while its first is in a transaction
 * fails at once instead of after the 10 s busy timeout. */
static void test_writer_lock(void **state)
{
    (void)state;
    assert_int_equal(db_begin(D), E_OK);
    pthread_t th;
    struct waiter w = {0, 0};
    assert_int_equal(pthread_create(&th, NULL, begin_on_second, &w), 0);
    usleep(50 * 1000);
    insert(1, "first", NULL, 0, 0);
    assert_int_equal(db_commit(D), E_OK);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, E_OK);
    assert_int_equal(w.seen, 1);

    db *d2;
    assert_int_equal(db_open(F.path, &d2), E_OK);
    assert_int_equal(db_begin(D), E_OK);
    time_t t0 = time(NULL);
    assert_int_equal(db_begin(d2), E_DB);
    assert_true(time(NULL) - t0 < 5);
    db_rollback(D);
    assert_int_equal(db_begin(d2), E_OK); /* free again */
    db_rollback(d2);
    db_close(&d2);
}

/* A write on a second connection, on its own thread: `sql` in a transaction
 * committed (or rolled back: commit false) after a wait of wait_ms at most;
 * its error, the error's slug and how long it took. */
struct busy_try {
    const char *url, *sql;
    int wait_ms;
    bool commit;
    err e;
    char slug[48]; /* the error detail is per thread: copied here */
    int64_t waited_ms;
};

static void *write_on_second(void *arg)
{
    struct busy_try *t = arg;
    db *d2;
    t->e = E_INTERNAL;
    if (db_open(t->url, &d2))
        return NULL;
    db_set_wait(d2, t->wait_ms);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    db_stmt *s;
    if (!(t->e = db_begin(d2)) && !(t->e = db_prepare(d2, t->sql, &s)) &&
        !(t->e = db_run(s, NULL)) && t->commit)
        t->e = db_commit(d2);
    db_rollback(d2); /* after a commit: nothing */
    clock_gettime(CLOCK_MONOTONIC, &b);
    t->waited_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    snprintf(t->slug, sizeof t->slug, "%s", t->e ? err_last()->slug : "");
    db_close(&d2);
    return NULL;
}

static const char *url_of_d(void)
{
    return db_kind(D) == DB_SQLITE ? F.path : getenv("FK_DB");
}

/* A write that finds the database held past its wait is 503-busy, never a
 * database failure, and the wait is what db_set_wait said. */
static void test_busy_wait(void **state)
{
    (void)state;
    insert(1, "held", NULL, 0, 0);
    assert_int_equal(db_begin(D), E_OK);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE dbtest_rows SET score = 1 WHERE id = 1", &s), E_OK);
    assert_int_equal(db_run(s, NULL), E_OK);
    struct busy_try t = {
        .url = url_of_d(), .sql = "UPDATE dbtest_rows SET score = 2 WHERE id = 1", .wait_ms = 300};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_on_second, &t), 0);
    pthread_join(th, NULL);
    db_rollback(D);
    assert_int_equal(t.e, E_UNAVAILABLE);
    assert_string_equal(t.slug, "database_busy");
    assert_true(t.waited_ms >= 250 && t.waited_ms < 3000);
}

/* A read-only transaction holds no writer lock: another connection writes
 * and commits meanwhile (at once, not after the reader ends), the reader
 * keeps its snapshot until it ends, and nothing nests inside it. */
static void test_read_tx(void **state)
{
    (void)state;
    insert(1, "first", NULL, 0, 0);
    assert_int_equal(db_begin_read(D), E_OK);
    assert_true(db_in_tx(D));
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 1); /* the snapshot */
    struct busy_try t = {.url = url_of_d(),
                         .sql = "INSERT INTO dbtest_rows (id, name) VALUES (2, 'second')",
                         .wait_ms = 2000,
                         .commit = true};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_on_second, &t), 0);
    pthread_join(th, NULL);
    assert_int_equal(t.e, E_OK);
    assert_true(t.waited_ms < 1000);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 1); /* still the snapshot */
    assert_int_equal(db_begin(D), E_DB);
    assert_int_equal(db_begin_read(D), E_DB);
    err_clear();
    db_rollback(D);
    assert_false(db_in_tx(D));
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 2);
    /* the writer lock was never taken: a write transaction begins at once */
    assert_int_equal(db_begin(D), E_OK);
    db_rollback(D);
    assert_int_equal(db_begin_read(D), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    assert_false(db_in_tx(D));
}

/* SQLite maps the file only inside a long read (db/sqlite.c: another
 * connection's commit unmaps it at the next read transaction, which every
 * short request paid): no map outside, the full map inside db_begin_read,
 * none again after it ends by commit or by rollback. */
static void test_mmap_in_long_reads(void **state)
{
    (void)state;
    assert_int_equal(count("PRAGMA mmap_size"), 0);
    assert_int_equal(db_begin_read(D), E_OK);
    assert_int_equal(count("PRAGMA mmap_size"), 2147418112);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(count("PRAGMA mmap_size"), 0);
    assert_int_equal(db_begin_read(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM dbtest_rows"), 0);
    db_rollback(D);
    assert_int_equal(count("PRAGMA mmap_size"), 0);
    /* a write transaction never maps it */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(count("PRAGMA mmap_size"), 0);
    db_rollback(D);
}

/* A PostgreSQL deadlock aborts one of the two transactions: that one is
 * told "database_busy" (retry later), as after a lock timeout, never a
 * database failure (E_DB, a 500), and the other goes on. */
struct deadlock_side {
    const char *url;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool locked;
    err e;
    char slug[48];
};

static void *lock_two_then_one(void *arg)
{
    struct deadlock_side *t = arg;
    db *d2;
    t->e = E_INTERNAL;
    if (db_open(t->url, &d2))
        return NULL;
    db_set_wait(d2, 5000); /* longer than the server's deadlock_timeout (1 s) */
    db_stmt *s;
    t->e = db_begin(d2);
    if (!t->e && !(t->e = db_prepare(d2, "UPDATE dbtest_rows SET score = 2 WHERE id = 2", &s)))
        t->e = db_run(s, NULL);
    pthread_mutex_lock(&t->mu);
    t->locked = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!t->e && !(t->e = db_prepare(d2, "UPDATE dbtest_rows SET score = 2 WHERE id = 1", &s)))
        t->e = db_run(s, NULL);
    snprintf(t->slug, sizeof t->slug, "%s", t->e ? err_last()->slug : "");
    db_rollback(d2);
    db_close(&d2);
    return NULL;
}

static void test_pg_deadlock_is_busy(void **state)
{
    (void)state;
    insert(1, "a", NULL, 0, 0);
    insert(2, "b", NULL, 0, 0);
    struct deadlock_side t = {
        .url = getenv("FK_DB"), .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    db_set_wait(D, 5000);
    assert_int_equal(db_begin(D), E_OK);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE dbtest_rows SET score = 1 WHERE id = 1", &s), E_OK);
    assert_int_equal(db_run(s, NULL), E_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, lock_two_then_one, &t), 0);
    pthread_mutex_lock(&t.mu);
    while (!t.locked)
        pthread_cond_wait(&t.cv, &t.mu);
    pthread_mutex_unlock(&t.mu);
    err mine = db_prepare(D, "UPDATE dbtest_rows SET score = 1 WHERE id = 2", &s);
    if (!mine)
        mine = db_run(s, NULL);
    char slug[48];
    snprintf(slug, sizeof slug, "%s", mine ? err_last()->slug : "");
    db_rollback(D); /* lets the other side finish when it was the one waiting */
    pthread_join(th, NULL);
    db_set_wait(D, DB_WAIT_DEFAULT_MS);
    /* exactly one side was chosen as the victim */
    assert_true((mine == E_OK) != (t.e == E_OK));
    assert_int_equal(mine ? mine : t.e, E_UNAVAILABLE);
    assert_string_equal(mine ? slug : t.slug, "database_busy");
}

/* db_run and db_row: the outcome of a step, never an error read as "no row". */
static void test_run_and_row(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++)
        insert(i, "n", NULL, 0, i);
    db_stmt *s;
    int64_t changes = -1;
    assert_int_equal(db_prepare(D, "UPDATE dbtest_rows SET score = ? WHERE id >= ?", &s), E_OK);
    db_bind_double(s, 1, 1.5);
    db_bind_int64(s, 2, 2);
    assert_int_equal(db_run(s, &changes), E_OK);
    assert_int_equal(changes, 2);

    /* a failing statement: the error, changes untouched */
    changes = -1;
    assert_int_equal(db_prepare(D, insert_rows, &s), E_OK);
    db_bind_int64(s, 1, 1); /* duplicate key */
    for (int i = 2; i <= 7; i++)
        db_bind_null(s, i);
    assert_int_equal(db_run(s, &changes), E_CONFLICT);
    assert_int_equal(changes, -1);

    bool row = true;
    assert_int_equal(db_prepare(D, "SELECT id FROM dbtest_rows WHERE id > ? ORDER BY id", &s),
                     E_OK);
    db_bind_int64(s, 1, 1);
    int64_t seen = 0;
    while (db_row(s, &row) == E_OK && row)
        seen = seen * 10 + db_col_int64(s, 0);
    assert_false(row);
    assert_int_equal(seen, 23);
    db_done(s);

    /* a statement failing at its step is an error, not an empty result */

    assert_int_equal(
        db_prepare(D, "INSERT INTO dbtest_rows (id, code) SELECT id + 10, 'same' FROM dbtest_rows",
                   &s),
        E_OK);
    assert_int_equal(db_run(s, NULL), E_CONFLICT);
    if (db_kind(D) == DB_POSTGRES)
        assert_int_equal(db_exec(D, "SELECT 1"), E_OK); /* autocommit: the connection goes on */
}

/* The bounded builder: fragments and bindings in order, a WHERE clause reused
 * by a count and a page, and a query past its bounds refused. */
static void test_query_builder(void **state)
{
    (void)state;
    for (int i = 1; i <= 5; i++)
        insert(i, i % 2 ? "odd" : "even", "\x01\x02", 2, i * 1.5);
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM dbtest_rows WHERE id >= ? AND id <= ?");
    query_int(&w, 2);
    query_int(&w, 5);
    query_sql(&w, " AND name = ? AND score > ?");
    query_text(&w, "odd");
    query_double(&w, 1.0);
    query_sql(&w, " AND data = ? AND data2 IS NULL");
    query_blob(&w, "\x01\x02", 2);

    struct query c = QUERY_INIT;
    query_sql(&c, "SELECT COUNT(*)");
    query_append(&c, &w);
    int64_t n = -1;
    assert_int_equal(query_count(D, &c, &n), E_OK);
    assert_int_equal(n, 2); /* ids 3 and 5 */

    struct query p = QUERY_INIT;
    query_sql(&p, "SELECT id");
    query_append(&p, &w);
    query_sql(&p, " ORDER BY id DESC LIMIT ?");
    query_int(&p, 1);
    db_stmt *s;
    bool row;
    assert_int_equal(query_prepare(D, &p, &s), E_OK);
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(s, 0), 5);
    assert_int_equal(db_row(s, &row), E_OK);
    assert_false(row);
    db_done(s);

    /* a NULL text binds NULL */
    struct query z = QUERY_INIT;
    query_sql(&z, "SELECT COUNT(*) FROM dbtest_rows WHERE code IS NOT DISTINCT FROM ?");
    query_text(&z, NULL);
    if (db_kind(D) == DB_SQLITE) { /* SQLite spells it IS */
        z = (struct query)QUERY_INIT;
        query_sql(&z, "SELECT COUNT(*) FROM dbtest_rows WHERE code IS ?");
        query_text(&z, NULL);
    }
    assert_int_equal(query_count(D, &z, &n), E_OK);
    assert_int_equal(n, 5);

    /* past the bounds: refused, never truncated */
    struct query big = QUERY_INIT;
    query_sql(&big, "SELECT COUNT(*) FROM dbtest_rows WHERE id IN (0");
    for (int i = 0; i <= QUERY_BINDS_MAX; i++) {
        query_sql(&big, ", ?");
        query_int(&big, i);
    }
    query_sql(&big, ")");
    assert_true(big.full);
    assert_int_equal(query_prepare(D, &big, &s), E_INTERNAL);
    struct query longq = QUERY_INIT;
    for (int i = 0; i < QUERY_SQL_MAX; i++)
        query_sql(&longq, " ");
    assert_true(longq.full);
    struct query both = QUERY_INIT;
    query_append(&both, &longq);
    assert_true(both.full);

    /* a binding short or over is refused, not run with values shifted;
     * a `?` inside a literal is not a placeholder */
    struct query shortq = QUERY_INIT;
    query_sql(&shortq, "SELECT COUNT(*) FROM dbtest_rows WHERE id >= ? AND id <= ?");
    query_int(&shortq, 1);
    assert_false(shortq.full);
    assert_int_equal(query_prepare(D, &shortq, &s), E_INTERNAL);
    query_int(&shortq, 5);
    query_int(&shortq, 9);
    assert_int_equal(query_prepare(D, &shortq, &s), E_INTERNAL);
    struct query lit = QUERY_INIT;
    query_sql(&lit, "SELECT COUNT(*) FROM dbtest_rows WHERE name <> 'why?' AND id >= ?");
    query_int(&lit, 1);
    assert_int_equal(query_count(D, &lit, &n), E_OK);
    assert_int_equal(n, 5);
}

/* query_page's reader: the id into an int64_t item; ctx counts the calls
 * and, when it holds a positive id, fails at that row. */
struct page_ctx {
    int calls;
    int64_t fail_at;
};

static err read_id(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)a;
    struct page_ctx *c = ctx;
    c->calls++;
    int64_t id = db_col_int64(s, 0);
    if (c->fail_at && id == c->fail_at)
        return err_set(E_CONFLICT, "read_failed", NULL, "读取失败");
    *(int64_t *)item = id;
    return E_OK;
}

/* One page of five rows (ids 1-5, newest id first) of `size` 2 from
 * `page`, or every row (page_size 0) up to `max`. */
static err page_of(arena *a, int64_t page, int64_t page_size, int64_t max, struct page_ctx *c,
                   int64_t **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM dbtest_rows r WHERE r.id >= ?");
    query_int(&w, 1);
    void *items;
    err e = query_page(D, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT r.id",
                                            .order = " ORDER BY r.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = max,
                                            .size = sizeof(int64_t),
                                            .read = read_id,
                                            .ctx = c},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* query_page: the total, the window of a page, a page past the end, a whole
 * export and its cap, a reader's error, and bindings in the SELECT and the
 * ORDER BY around the WHERE's. */
static void test_query_page(void **state)
{
    (void)state;
    for (int i = 1; i <= 5; i++)
        insert(i, i % 2 ? "odd" : "even", "", 0, i);
    arena *a = arena_new(0);
    int64_t *items = NULL, total = -1;
    size_t n = 99;
    struct page_ctx c = {0};

    assert_int_equal(page_of(a, 1, 2, 100, &c, &items, &n, &total), E_OK);
    assert_int_equal(total, 5);
    assert_int_equal(n, 2);
    assert_int_equal(items[0], 5);
    assert_int_equal(items[1], 4);
    assert_int_equal(page_of(a, 2, 2, 100, &c, &items, &n, &total), E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0], 3);
    assert_int_equal(items[1], 2);
    assert_int_equal(page_of(a, 3, 2, 100, &c, &items, &n, &total), E_OK);
    assert_int_equal(n, 1); /* the last page holds the rest */
    assert_int_equal(items[0], 1);
    assert_int_equal(c.calls, 5);

    /* past the end: no row, the total still counted, an array all the same */
    items = NULL;
    assert_int_equal(page_of(a, 4, 2, 100, &c, &items, &n, &total), E_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 5);
    assert_non_null(items);
    assert_int_equal(c.calls, 5);

    /* the whole export, up to its cap and not one beyond */
    assert_int_equal(page_of(a, 1, 0, 5, &c, &items, &n, &total), E_OK);
    assert_int_equal(n, 5);
    assert_int_equal(items[4], 1);
    items = NULL, n = 99, total = -1, c.calls = 0;
    assert_int_equal(page_of(a, 1, 0, 4, &c, &items, &n, &total), E_TOO_LARGE);
    assert_string_equal(err_last()->slug, "export_too_large");
    assert_null(items);
    assert_int_equal(n, 99);
    assert_int_equal(total, -1);
    assert_int_equal(c.calls, 0);

    /* a reader's error stops the list and is the result */
    c.fail_at = 3;
    assert_int_equal(page_of(a, 1, 0, 5, &c, &items, &n, &total), E_CONFLICT);
    assert_string_equal(err_last()->slug, "read_failed");
    assert_int_equal(c.calls, 3);
    assert_null(items);
    assert_int_equal(n, 99);
    assert_int_equal(total, -1);

    /* a SELECT and an ORDER BY that bind values: in order around the WHERE */
    struct query w = QUERY_INIT, head = QUERY_INIT, order = QUERY_INIT;
    query_sql(&w, " FROM dbtest_rows r WHERE r.name = ?");
    query_text(&w, "odd");
    query_sql(&head, "SELECT r.id * ?");
    query_int(&head, 10);
    query_sql(&order, " ORDER BY CASE WHEN r.id = ? THEN 0 ELSE 1 END, r.id DESC");
    query_int(&order, 3);
    c = (struct page_ctx){0};
    void *page;
    assert_int_equal(query_page(D, a, &w,
                                &(struct query_page){.count = "SELECT COUNT(*)",
                                                     .select_q = &head,
                                                     .order_q = &order,
                                                     .page = 1,
                                                     .page_size = 10,
                                                     .max = 100,
                                                     .size = sizeof(int64_t),
                                                     .read = read_id,
                                                     .ctx = &c},
                                &page, &n, &total),
                     E_OK);
    items = page;
    assert_int_equal(total, 3);
    assert_int_equal(n, 3);
    assert_int_equal(items[0], 30);
    assert_int_equal(items[1], 50);
    assert_int_equal(items[2], 10);
    arena_free(&a);
}

/* One page of the five rows (ids 1-5, newest first) with the big lists'
 * options: the total capped at `cap`, the page's ids chosen before the
 * (self) join, and a walk that leaves out id 5, so a page tells which WHERE
 * read it. */
static err capped_of(arena *a, const char *count, int64_t page, int64_t page_size, int64_t cap,
                     bool *capped_r, int64_t **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT, walk = QUERY_INIT;
    query_sql(&w, " WHERE r.id >= ?");
    query_int(&w, 1);
    query_sql(&walk, " WHERE r.id >= ? AND r.id <> 5");
    query_int(&walk, 1);
    struct page_ctx c = {0};
    void *items;
    err e = query_page(D, a, &w,
                       &(struct query_page){.count = count,
                                            .select = "SELECT r.id FROM dbtest_rows r JOIN "
                                                      "dbtest_rows o ON o.id = r.id",
                                            .order = " ORDER BY r.id DESC",
                                            .page = page,
                                            .page_size = page_size,
                                            .max = 100,
                                            .size = sizeof(int64_t),
                                            .read = read_id,
                                            .ctx = &c,
                                            .count_cap = cap,
                                            .capped_r = capped_r,
                                            .walk = &walk,
                                            .key = "r.id"},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

/* query_page's count_cap, walk and key: the total stops at the cap and
 * says so, pages past the cap are still read, the walk reads only a capped
 * list's page, an export counts exactly, and a count not written "SELECT
 * COUNT(*) FROM ..." is refused rather than guessed at. */
static void test_query_page_capped(void **state)
{
    (void)state;
    for (int i = 1; i <= 5; i++)
        insert(i, "row", "", 0, i);
    arena *a = arena_new(0);
    const char *count = "SELECT COUNT(*) FROM dbtest_rows r";
    int64_t *items = NULL, total = -1;
    size_t n = 99;
    bool capped = false;

    /* 5 matches over a cap of 3: "3+", and the walk's page (no id 5) */
    assert_int_equal(capped_of(a, count, 1, 2, 3, &capped, &items, &n, &total), E_OK);
    assert_true(capped);
    assert_int_equal(total, 3);
    assert_int_equal(n, 2);
    assert_int_equal(items[0], 4);
    assert_int_equal(items[1], 3);
    /* a page past the cap: read all the same */
    assert_int_equal(capped_of(a, count, 2, 2, 3, &capped, &items, &n, &total), E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0], 2);
    assert_int_equal(items[1], 1);
    assert_int_equal(capped_of(a, count, 3, 2, 3, &capped, &items, &n, &total), E_OK);
    assert_int_equal(n, 0);
    assert_true(capped);

    /* exactly the cap, and under it: exact, not capped, from_where's page */
    assert_int_equal(capped_of(a, count, 1, 2, 5, &capped, &items, &n, &total), E_OK);
    assert_false(capped);
    assert_int_equal(total, 5);
    assert_int_equal(items[0], 5);
    assert_int_equal(items[1], 4);
    capped = true;
    assert_int_equal(capped_of(a, count, 3, 2, 10, &capped, &items, &n, &total), E_OK);
    assert_false(capped);
    assert_int_equal(total, 5);
    assert_int_equal(n, 1); /* the window of an exact total: the last page holds the rest */
    assert_int_equal(items[0], 1);

    /* an export (page_size 0) is never capped: every match, counted */
    capped = true;
    assert_int_equal(capped_of(a, count, 1, 0, 3, &capped, &items, &n, &total), E_OK);
    assert_false(capped);
    assert_int_equal(total, 5);
    assert_int_equal(n, 5);
    assert_int_equal(items[0], 5);

    /* a count that does not name its FROM: a bug, refused, nothing set */
    items = NULL, n = 99, total = -1;
    assert_int_equal(capped_of(a, "SELECT COUNT(*)", 1, 2, 3, &capped, &items, &n, &total),
                     E_INTERNAL);
    assert_null(items);
    assert_int_equal(n, 99);
    assert_int_equal(total, -1);

    /* the lists' cap: its default, and a setting */
    assert_int_equal(query_count_cap(), QUERY_COUNT_CAP_DEFAULT);
    query_count_cap_set(5);
    assert_int_equal(query_count_cap(), 5);
    query_count_cap_set(0);
    assert_int_equal(query_count_cap(), QUERY_COUNT_CAP_DEFAULT);
    arena_free(&a);
}

/* query_one's reader: the id and the name, or the reader's error at
 * fail_at; `spare` is left for query_one to have zeroed. */
struct one {
    int64_t id;
    const char *name;
    int64_t spare;
};

static err read_one(db_stmt *s, arena *a, void *item, void *ctx)
{
    struct page_ctx *c = ctx;
    c->calls++;
    struct one *o = item;
    o->id = db_col_int64(s, 0);
    if (c->fail_at && o->id == c->fail_at)
        return err_set(E_CONFLICT, "read_failed", NULL, "读取失败");
    o->name = arena_strdup(a, db_col_text(s, 1));
    return E_OK;
}

static err row_gone(void)
{
    return err_set(E_CONFLICT, "row_gone", NULL, "记录已删除");
}

/* Row `id` if its n (= its id) is in [lo, hi). */
static err one_of(arena *a, int64_t id, int64_t lo, int64_t hi, struct page_ctx *c, struct one *o)
{
    return query_one(D, a,
                     &(struct query_one){.select = "SELECT r.id, r.name FROM dbtest_rows r WHERE "
                                                   "r.id = ? AND r.n >= ? AND r.n < ?",
                                         .id = id,
                                         .lo = lo,
                                         .hi = hi,
                                         .size = sizeof *o,
                                         .read = read_one,
                                         .ctx = c,
                                         .missing = "记录不存在"},
                     o);
}

/* query_one: the row in scope, zeroed then read; out of scope or absent,
 * not found with the caller's message; a reader's error; the result
 * untouched on every error; a statement of the caller's with other
 * bindings, and one whose bindings do not match its text. */
static void test_query_one(void **state)
{
    (void)state;
    for (int i = 1; i <= 5; i++)
        insert(i, i % 2 ? "odd" : "even", "", 0, i);
    arena *a = arena_new(0);
    struct page_ctx c = {0};
    struct one o = {.id = -1, .name = "before", .spare = 7}, before = o;

    assert_int_equal(one_of(a, 4, 1, 6, &c, &o), E_OK);
    assert_int_equal(o.id, 4);
    assert_string_equal(o.name, "even");
    assert_int_equal(o.spare, 0); /* zeroed before read() */
    assert_int_equal(c.calls, 1);

    /* outside the scope: the same answer as no such row */
    o = before;
    assert_int_equal(one_of(a, 4, 1, 4, &c, &o), E_NOT_FOUND);
    assert_string_equal(err_last()->slug, "not_found");
    assert_string_equal(err_last()->field, "id");
    assert_string_equal(err_last()->message, "记录不存在");
    assert_int_equal(o.id, -1);
    assert_string_equal(o.name, "before");
    assert_int_equal(o.spare, 7);
    assert_int_equal(one_of(a, 9, 1, 100, &c, &o), E_NOT_FOUND);
    assert_int_equal(o.id, -1);
    assert_int_equal(c.calls, 1);
    /* the module's own refusal instead */
    assert_int_equal(query_one(D, a,
                               &(struct query_one){.select = "SELECT r.id, r.name FROM dbtest_rows "
                                                             "r WHERE r.id = ? AND r.n >= ? AND "
                                                             "r.n < ?",
                                                   .id = 9,
                                                   .lo = 1,
                                                   .hi = 100,
                                                   .size = sizeof o,
                                                   .read = read_one,
                                                   .ctx = &c,
                                                   .not_found = row_gone},
                               &o),
                     E_CONFLICT);
    assert_string_equal(err_last()->slug, "row_gone");
    assert_int_equal(o.id, -1);

    /* a reader's error is the result, the item untouched */
    c.fail_at = 3;
    assert_int_equal(one_of(a, 3, 1, 6, &c, &o), E_CONFLICT);
    assert_string_equal(err_last()->slug, "read_failed");
    assert_int_equal(o.id, -1);
    assert_int_equal(c.calls, 2);
    c.fail_at = 0;

    /* the caller's statement with other bindings */
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT r.id, r.name FROM dbtest_rows r WHERE r.name = ? AND r.id > ?");
    query_text(&q, "odd");
    query_int(&q, 4);
    assert_int_equal(
        query_one(
            D, a,
            &(struct query_one){
                .q = &q, .size = sizeof o, .read = read_one, .ctx = &c, .missing = "记录不存在"},
            &o),
        E_OK);
    assert_int_equal(o.id, 5);
    assert_string_equal(o.name, "odd");

    /* a select whose `?` are not the id and the two bounds: refused */
    o = before;
    assert_int_equal(query_one(D, a,
                               &(struct query_one){.select = "SELECT r.id, r.name FROM "
                                                             "dbtest_rows r WHERE r.id = ?",
                                                   .id = 1,
                                                   .size = sizeof o,
                                                   .read = read_one,
                                                   .ctx = &c,
                                                   .missing = "记录不存在"},
                               &o),
                     E_INTERNAL);
    assert_int_equal(o.id, -1);
    arena_free(&a);
}

/* query_page_json's row: {"id": id}; the row with id 3 fails when
 * json_fail is set. */
static bool json_fail;

static err id_json(arena *a, db_stmt *s, json_t **o_r)
{
    (void)a;
    int64_t id = db_col_int64(s, 0);
    if (json_fail && id == 3)
        return err_set(E_CONFLICT, "read_failed", NULL, "读取失败");
    *o_r = json_pack("{sI}", "id", (json_int_t)id);
    return E_OK;
}

static err json_page_of(arena *a, int64_t page, int64_t page_size, json_t **items_r,
                        int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, " FROM dbtest_rows r WHERE r.name = ?");
    query_text(&w, "odd");
    return query_page_json(D, a, &w,
                           &(struct query_page){.count = "SELECT COUNT(*)",
                                                .select = "SELECT r.id",
                                                .order = " ORDER BY r.id DESC",
                                                .page = page,
                                                .page_size = page_size},
                           id_json, items_r, total_r);
}

/* query_page_json: a page of objects in order, the total of every match,
 * an empty array past the end, and on a row's error nothing kept. */
static void test_query_page_json(void **state)
{
    (void)state;
    for (int i = 1; i <= 5; i++)
        insert(i, i % 2 ? "odd" : "even", "", 0, i);
    arena *a = arena_new(0);
    json_t *items = NULL;
    int64_t total = -1;
    json_fail = false;
    assert_int_equal(json_page_of(a, 1, 2, &items, &total), E_OK);
    assert_int_equal(total, 3);
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), 5);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 1), "id")), 3);
    json_decref(items);
    assert_int_equal(json_page_of(a, 2, 2, &items, &total), E_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), 1);
    json_decref(items);
    items = NULL, total = -1;
    assert_int_equal(json_page_of(a, 3, 2, &items, &total), E_OK);
    assert_non_null(items);
    assert_int_equal(json_array_size(items), 0);
    assert_int_equal(total, 3);
    json_decref(items);

    json_fail = true;
    items = NULL, total = -1;
    assert_int_equal(json_page_of(a, 1, 2, &items, &total), E_CONFLICT);
    assert_string_equal(err_last()->slug, "read_failed");
    assert_null(items);
    assert_int_equal(total, -1);
    json_fail = false;
    arena_free(&a);
}

#define TESTS                                                                                      \
    cmocka_unit_test(test_kind), cmocka_unit_test_setup(test_roundtrip, reset_tables),             \
        cmocka_unit_test_setup(test_text_is_copied, reset_tables),                                 \
        cmocka_unit_test_setup(test_placeholders_in_literals, reset_tables),                       \
        cmocka_unit_test_setup(test_changes, reset_tables),                                        \
        cmocka_unit_test_setup(test_conflicts, reset_tables),                                      \
        cmocka_unit_test_setup(test_errors, reset_tables),                                         \
        cmocka_unit_test_setup(test_transactions, reset_tables),                                   \
        cmocka_unit_test_setup(test_statement_cache, reset_tables),                                \
        cmocka_unit_test_setup(test_run_and_row, reset_tables),                                    \
        cmocka_unit_test_setup(test_busy_wait, reset_tables),                                      \
        cmocka_unit_test_setup(test_read_tx, reset_tables),                                        \
        cmocka_unit_test_setup(test_query_builder, reset_tables),                                  \
        cmocka_unit_test_setup(test_query_page, reset_tables),                                     \
        cmocka_unit_test_setup(test_query_page_capped, reset_tables),                              \
        cmocka_unit_test_setup(test_query_one, reset_tables),                                      \
        cmocka_unit_test_setup(test_query_page_json, reset_tables), cmocka_unit_test(test_migrate)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        TESTS,
        cmocka_unit_test_setup(test_writer_lock, reset_tables),
        cmocka_unit_test(test_rowid_keys),
        cmocka_unit_test_setup(test_mmap_in_long_reads, reset_tables),
    };
    int failed = cmocka_run_group_tests_name("db/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {
            TESTS,
            cmocka_unit_test_setup(test_commit_after_error, reset_tables),
            cmocka_unit_test_setup(test_pg_reconnect, reset_tables),
            cmocka_unit_test_setup(test_pg_deadlock_is_busy, reset_tables),
        };
        failed += cmocka_run_group_tests_name("db/postgres", pg_tests, open_pg, close_pg);
    }
    return failed ? 1 : 0;
}

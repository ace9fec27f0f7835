/*
 * A full disk maps to 503 disk_full (issue 15, docs/operations.md "Disk
 * full"): the SQLSTATE classes of PostgreSQL (53100 disk full, the rest of
 * class 53 busy), a real SQLITE_FULL (SQLite's max_page_count reached inside
 * a transaction: rolled back, nothing written, the connection usable
 * again), a real SQLSTATE 53100 from the PostgreSQL server when FK_DB names
 * one (raised by a DO block, through the driver's error path), ENOSPC and
 * EDQUOT as a full disk and other errno values not, and the log's pacing
 * counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <errno.h>

#include "base/error.h"
#include "db/db.h"
#include "db/db_private.h"

static db *D;
static struct fixture_db F;

static void test_sqlstate_classes(void **state)
{
    (void)state;
    assert_int_equal(db_pg_sqlstate_resource("53100"), 'd');
    assert_int_equal(db_pg_sqlstate_resource("53000"), 'r');
    assert_int_equal(db_pg_sqlstate_resource("53200"), 'r'); /* out of memory */
    assert_int_equal(db_pg_sqlstate_resource("53300"), 'r'); /* too many connections */
    assert_int_equal(db_pg_sqlstate_resource("53400"), 'r'); /* configuration limit */
    assert_int_equal(db_pg_sqlstate_resource("23505"), 0);
    assert_int_equal(db_pg_sqlstate_resource("08006"), 0);
    assert_int_equal(db_pg_sqlstate_resource("5310"), 0);
    assert_int_equal(db_pg_sqlstate_resource(""), 0);
    assert_int_equal(db_pg_sqlstate_resource(NULL), 0);
}

static void test_errno(void **state)
{
    (void)state;
    assert_true(err_errno_disk_full(ENOSPC));
    assert_true(err_errno_disk_full(EDQUOT));
    assert_false(err_errno_disk_full(EIO));
    assert_false(err_errno_disk_full(EACCES));
    assert_false(err_errno_disk_full(0));
}

static void test_disk_full_detail(void **state)
{
    (void)state;
    uint64_t n = err_disk_full_count();
    assert_int_equal(err_disk_full("test"), E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "disk_full");
    assert_string_equal(err_last()->message, "服务器存储空间不足，请稍后重试并联系运维");
    assert_int_equal(err_disk_full_count(), n + 1);
    assert_true(err_disk_full_last() > 0);
    /* a clean-up's error does not replace it */
    struct err_detail kept = *err_last();
    err_ignore(err_set(E_DB, NULL, NULL, NULL));
    err_restore(&kept);
    assert_string_equal(err_last()->slug, "disk_full");
}

static int count_rows(void)
{
    db_stmt *s;
    if (db_prepare(D, "SELECT COUNT(*) FROM dftest", &s))
        return -1;
    bool row;
    int n = db_row(s, &row) == E_OK && row ? (int)db_col_int64(s, 0) : -1;
    db_done(s);
    return n;
}

static err insert_blob(int id)
{
    static char big[8192];
    memset(big, 'x', sizeof big);
    db_stmt *s;
    err e = db_prepare(D, "INSERT INTO dftest (id, data) VALUES (?, ?)", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_blob(s, 2, big, sizeof big);
    e = db_run(s, NULL);
    db_done(s);
    return e;
}

/* SQLite: the file may not grow past its size now (max_page_count), so a
 * transaction of large rows fails with SQLITE_FULL part-way: disk_full,
 * the rows of the transaction gone, the connection writing again once the
 * limit is lifted (space freed). */
static void test_sqlite_full(void **state)
{
    (void)state;
    assert_int_equal(db_exec(D, "CREATE TABLE dftest (id BIGINT PRIMARY KEY, data BYTEA)"), E_OK);
    assert_int_equal(insert_blob(1), E_OK); /* positive control */
    assert_int_equal(count_rows(), 1);
    assert_int_equal(db_exec(D, "PRAGMA max_page_count = 1"), E_OK); /* = its size now */
    assert_int_equal(db_begin(D), E_OK);
    err e = E_OK;
    for (int i = 2; i < 10 && !e; i++)
        e = insert_blob(i);
    assert_int_equal(e, E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "disk_full");
    db_rollback(D);
    assert_string_equal(err_last()->slug, "disk_full"); /* the rollback keeps it */
    assert_int_equal(count_rows(), 1);                  /* nothing half-written */
    assert_int_equal(db_exec(D, "PRAGMA max_page_count = 1073741823"), E_OK);
    assert_int_equal(insert_blob(2), E_OK); /* recovered, same connection */
    assert_int_equal(count_rows(), 2);
}

/* PostgreSQL: a statement failing with a real SQLSTATE of class 53 from
 * the server, through the driver's error path. */
static void test_pg_sqlstates(void **state)
{
    (void)state;
    assert_int_equal(db_begin(D), E_OK);
    err e =
        db_exec(D, "DO $$ BEGIN RAISE EXCEPTION 'no space' USING ERRCODE = 'disk_full'; END $$");
    assert_int_equal(e, E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "disk_full");
    db_rollback(D);
    assert_string_equal(err_last()->slug, "disk_full");
    e = db_exec(D, "DO $$ BEGIN RAISE EXCEPTION 'oom' USING ERRCODE = 'out_of_memory'; END $$");
    assert_int_equal(e, E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "database_busy");
    /* positive control: another error stays a 500 */
    e = db_exec(D, "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'internal_error'; END $$");
    assert_int_equal(e, E_DB);
    assert_int_equal(db_exec(D, "SELECT 1"), E_OK); /* the connection is fine */
}

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "diskfull", &D);
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
    return fixture_pg_open(&D);
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstate_classes),
        cmocka_unit_test(test_errno),
        cmocka_unit_test(test_disk_full_detail),
        cmocka_unit_test(test_sqlite_full),
    };
    int failed = cmocka_run_group_tests_name("disk_full/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg[] = {cmocka_unit_test(test_pg_sqlstates)};
        failed += cmocka_run_group_tests_name("disk_full/postgres", pg, open_pg, close_pg);
    }
    return failed ? 1 : 0;
}

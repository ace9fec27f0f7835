/*
 * Unit tests of access_records' monthly partitions (sql/042, made by
 * retention_partitions_ensure since sql/094: retention.h): on SQLite the step is recorded and
 * nothing else happens; on PostgreSQL (FK_DB) each passage lands in its China month's table, a
 * month made late takes the rows the default caught for it, and the migration run over an
 * unpartitioned table with rows keeps every row and every index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"
#include "retention/retention.h"

#define DAY 86400000LL

static struct fixture_db F;
static db *D;
/* the first ms of this China month and of the next (PostgreSQL) */
static int64_t M0 = 1796054400000LL, M1; /* SQLite: any month */

/* The name of the month table of `at`, as PostgreSQL spells the month. */
static const char *month_of(int64_t at)
{
    static char name[64];
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "SELECT 'access_records_' || to_char(to_timestamp(? / 1000.0) AT "
                                "TIME ZONE 'UTC' + INTERVAL '8 hours', 'YYYYMM')",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, at);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    snprintf(name, sizeof name, "%s", db_col_text(s, 0));
    db_done(s);
    return name;
}

static void add(int64_t id, int64_t at)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO access_records (id, venue_id, region_code, person_id, "
                                "direction, at, verdict, method, created_at) "
                                "VALUES (?, 1, 440305001001, 7, 'in', ?, 'pass', 'manual', ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, at);
    db_bind_int64(s, 3, at);
    assert_int_equal(db_run(s, NULL), E_OK);
}

/* The table that holds the passage `id` ("access_records" on SQLite). */
static void where(int64_t id, const char *want)
{
    db_stmt *s;
    assert_int_equal(
        db_prepare(D,
                   db_kind(D) == DB_POSTGRES
                       ? "SELECT tableoid::regclass::text FROM access_records WHERE id = ?"
                       : "SELECT 'access_records' FROM access_records WHERE id = ?",
                   &s),
        E_OK);
    db_bind_int64(s, 1, id);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    assert_string_equal(db_col_text(s, 0), want);
    db_done(s);
}

static int64_t count(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

static void months(void **state)
{
    (void)state;
    int64_t made = -1;
    if (db_kind(D) != DB_POSTGRES) {
        assert_int_equal(retention_partitions_ensure(D, M0 - 400 * DAY, M0, &made), E_OK);
        assert_int_equal(made, 0);
        assert_int_equal(count("SELECT COUNT(*) FROM schema_migrations WHERE version = 42"), 1);
        add(1, M0);
        where(1, "access_records");
        return;
    }
    /* this month made (the migration did), the one before not yet */
    assert_int_equal(retention_partitions_ensure(D, M0, M0 + 1, NULL), E_OK);
    add(1, M0);
    add(2, M0 - 1);         /* the last ms of the month before */
    add(3, M0 - 800 * DAY); /* long before: no month, the default */
    add(4, M1 - 1);         /* the month's last ms */
    char this_month[64], last_month[64];
    snprintf(this_month, sizeof this_month, "%s", month_of(M0));
    snprintf(last_month, sizeof last_month, "%s", month_of(M0 - DAY));
    assert_string_not_equal(this_month, last_month);
    where(1, this_month);
    where(4, this_month);
    where(3, "access_records_default");
    /* November existed from the migration (now) or is made now; either
     * way the row is in it after ensure, not in the default */
    assert_int_equal(retention_partitions_ensure(D, M0 - DAY, M0, NULL), E_OK);
    where(2, last_month);
    /* a month made late: its row moves out of the default (the month is
     * made for the three partitioned tables: retention.h) */
    assert_int_equal(retention_partitions_ensure(D, M0 - 800 * DAY, M0 - 800 * DAY, &made), E_OK);
    assert_int_equal(made, 3);
    where(3, month_of(M0 - 800 * DAY));
    assert_int_equal(count("SELECT COUNT(*) FROM access_records_default"), 0);
    /* the months between, then nothing the second time */
    assert_int_equal(retention_partitions_ensure(D, M0 - 800 * DAY, M0, &made), E_OK);
    assert_in_range(made, 3 * 20, 3 * 26);
    assert_int_equal(retention_partitions_ensure(D, M0 - 800 * DAY, M0, &made), E_OK);
    assert_int_equal(made, 0);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), 4);
}

/* The migration over an unpartitioned table with rows (as every database
 * before sql/042 has it): the rows and the indexes survive. */
static void migration_keeps_rows(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    assert_int_equal(db_exec_script(D, "ALTER TABLE access_records RENAME TO ar_p;"
                                       "CREATE TABLE access_records (LIKE ar_p INCLUDING DEFAULTS,"
                                       " PRIMARY KEY (id));"
                                       "INSERT INTO access_records SELECT * FROM ar_p;"
                                       "DROP TABLE ar_p;"
                                       "CREATE INDEX access_records_region ON access_records "
                                       "(region_code, at);"
                                       "CREATE INDEX access_records_person ON access_records "
                                       "(person_id, venue_id, at);"
                                       "DELETE FROM schema_migrations WHERE version = 42;"),
                     E_OK);
    assert_int_equal(
        count("SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'access_records'::regclass"), 0);
    add(5, M0 + 2 * DAY);
    assert_int_equal(db_migrate(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), 5);
    where(1, month_of(M0));
    where(5, month_of(M0));
    where(3, "access_records_default"); /* older than the migration's two years */
    assert_int_equal(count("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'access_records' "
                           "AND indexname IN ('access_records_region', 'access_records_person', "
                           "'access_records_pkey')"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_class WHERE relname = 'access_records' "
                           "AND relkind = 'p'"),
                     1);
    /* the key includes the month: (id, at) */
    assert_int_equal(count("SELECT COUNT(*) FROM pg_constraint c JOIN pg_class t ON t.oid = "
                           "c.conrelid WHERE t.relname = 'access_records' AND c.contype = 'p' "
                           "AND array_length(c.conkey, 1) = 2"),
                     1);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "partitions", &D))
        return -1;
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
    if (fixture_pg_open(&D) || db_migrate(D))
        return -1;
    const char *month = "date_trunc('month', now() AT TIME ZONE 'UTC' + INTERVAL '8 hours')";
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT (extract(epoch FROM %s - INTERVAL '8 hours') * 1000)::BIGINT",
             month);
    if (db_query_int64(D, sql, &M0))
        return -1;
    snprintf(
        sql, sizeof sql,
        "SELECT (extract(epoch FROM %s + INTERVAL '1 month' - INTERVAL '8 hours') * 1000)::BIGINT",
        month);
    return db_query_int64(D, sql, &M1) ? -1 : 0;
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
        cmocka_unit_test(months),
        cmocka_unit_test(migration_keeps_rows),
    };
    int failed = cmocka_run_group_tests_name("partitions/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("partitions/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

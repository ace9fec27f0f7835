/*
 * Unit tests of nat_sample_delete (nat.h, the ingest's 取样数据删除) on a
 * migrated database (SQLite, and PostgreSQL when FK_DB names one): a sample
 * taken by nat_sample_take at a given site and time, then deleted, leaves
 * every counter it moved equal to a recount of the rows — the plan's
 * actual, the tube's fill, the site's scans and its hours — and a deleted
 * first sample of a round hands its place (and its count) to the next one.
 * A packed tube's sample and a sample outside scope are refused unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/regcode.h"
#include "fixture.h"
#include "nat/nat.h"

#define HOUR_MS 3600000LL

static struct fixture_db F;
static db *D;
static arena *A;
static int64_t street1, community1, street2, district;
static int64_t t0; /* the first sample's time: an hour's start plus ten minutes */

static int64_t code(const char *s)
{
    enum region_level lv;
    int64_t c = regcode_parse(s, &lv);
    assert_true(c > 0);
    return c;
}

static void exec_ok(const char *sql)
{
    assert_int_equal(db_exec(D, sql), E_OK);
}

static int64_t scalar(const char *sql)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    int64_t v = row && !db_col_null(s, 0) ? db_col_int64(s, 0) : -1;
    db_done(s);
    return v;
}

/* Every counter equal to its recount. */
static void recount(void)
{
    assert_int_equal(
        scalar("SELECT COALESCE(SUM(actual), 0) FROM nat_plan_figures WHERE industry_id = 0"),
        scalar("SELECT COUNT(*) FROM nat_samples WHERE plan_id <> 0 AND duplicate = 0"));
    assert_int_equal(scalar("SELECT COUNT(*) FROM nat_tubes t WHERE filled <> (SELECT COUNT(*) "
                            "FROM nat_samples x WHERE x.tube_id = t.id)"),
                     0);
    assert_int_equal(scalar("SELECT COUNT(*) FROM nat_tubes WHERE filled = 0"), 0);
    assert_int_equal(scalar("SELECT COALESCE(SUM(scans), 0) FROM nat_sites"),
                     scalar("SELECT COUNT(*) FROM nat_samples"));
    assert_int_equal(scalar("SELECT COUNT(*) FROM nat_site_hours h WHERE n <> (SELECT COUNT(*) "
                            "FROM nat_samples x WHERE x.site_id = h.site_id AND x.at >= h.hour "
                            "AND x.at < h.hour + 3600000)"),
                     0);
    assert_int_equal(scalar("SELECT COALESCE(SUM(n), 0) FROM nat_site_hours"),
                     scalar("SELECT COUNT(*) FROM nat_samples"));
    assert_int_equal(scalar("SELECT COUNT(*) FROM (SELECT person_id FROM nat_samples GROUP BY "
                            "person_id, visitor_id, plan_id, round_day HAVING SUM(CASE WHEN "
                            "duplicate = 0 THEN 1 ELSE 0 END) <> 1) x"),
                     0);
}

/* A visitor's sample at site 1 (the ingest's way: site and time given). */
static int64_t take(int64_t visitor, const char *barcode, enum nat_tube_kind kind, int64_t plan,
                    int64_t at)
{
    struct nat_sample_input in = {.visitor_id = visitor,
                                  .method = NAT_BY_VISITOR,
                                  .barcode = barcode,
                                  .kind = kind,
                                  .plan_id = plan,
                                  .staff_id = 1,
                                  .site_id = 1,
                                  .at = at,
                                  .ingest = true};
    struct nat_sample_result r;
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(nat_sample_take(D, A, &in, &r), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    return r.id;
}

static err delete_in(const struct scope *sc, int64_t id)
{
    assert_int_equal(db_begin(D), E_OK);
    err e = nat_sample_delete(D, A, sc, id, NULL);
    if (e)
        db_rollback(D);
    else
        assert_int_equal(db_commit(D), E_OK);
    return e;
}

static int64_t actual(void)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT actual FROM nat_plan_figures WHERE plan_id = 7 AND region_code = %lld AND "
             "industry_id = 0",
             (long long)street1);
    return scalar(sql);
}

static int64_t duplicate_of(int64_t id)
{
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT duplicate FROM nat_samples WHERE id = %lld", (long long)id);
    return scalar(sql);
}

static void test_delete_counters(void **state)
{
    (void)state;
    struct scope all = scope_all(), other = scope_of(street2);
    int64_t a1 = take(101, "POOL-0001", NAT_TUBE_POOL5, 7, t0);
    int64_t a2 = take(102, "POOL-0001", NAT_TUBE_POOL5, 7, t0 + 60000);
    int64_t a3 = take(101, "SINGLE-0001", NAT_TUBE_SINGLE, 7, t0 + HOUR_MS); /* again: duplicate */
    int64_t a4 = take(103, "SINGLE-0002", NAT_TUBE_SINGLE, 0, t0 + 2 * 60000);
    assert_int_equal(duplicate_of(a3), 1);
    assert_int_equal(actual(), 2);
    assert_int_equal(scalar("SELECT scans FROM nat_sites WHERE id = 1"), 4);
    recount();

    /* outside scope: not found, nothing moves */
    assert_int_equal(delete_in(&other, a1), E_NOT_FOUND);
    assert_int_equal(scalar("SELECT COUNT(*) FROM nat_samples"), 4);

    /* the first of visitor 101's round goes: the later one becomes first, still counted once */
    assert_int_equal(delete_in(&all, a1), E_OK);
    assert_int_equal(duplicate_of(a3), 0);
    assert_int_equal(actual(), 2);
    assert_int_equal(scalar("SELECT filled FROM nat_tubes WHERE barcode = 'POOL-0001'"), 1);
    assert_int_equal(scalar("SELECT scans FROM nat_sites WHERE id = 1"), 3);
    recount();

    /* its last sample goes: no longer counted; the emptied closed single tube goes, its hour too */
    assert_int_equal(delete_in(&all, a3), E_OK);
    assert_int_equal(actual(), 1);
    assert_int_equal(scalar("SELECT COUNT(*) FROM nat_tubes WHERE barcode = 'SINGLE-0001'"), 0);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM nat_site_hours WHERE hour = %lld",
             (long long)(t0 + HOUR_MS - (t0 + HOUR_MS) % HOUR_MS));
    assert_int_equal(scalar(sql), 0);
    recount();

    /* the barcode is free again */
    (void)take(104, "SINGLE-0001", NAT_TUBE_SINGLE, 7, t0 + 3 * 60000);
    recount();

    /* a packed tube's sample stays */
    exec_ok("UPDATE nat_tubes SET state = 'packed' WHERE barcode = 'POOL-0001'");
    assert_int_equal(delete_in(&all, a2), E_CONFLICT);
    assert_string_equal(err_last()->slug, "tube_packed");
    assert_int_equal(scalar("SELECT filled FROM nat_tubes WHERE barcode = 'POOL-0001'"), 1);
    recount();

    /* a sample without a plan: only the tube, the scans and the hour move */
    assert_int_equal(delete_in(&all, a4), E_OK);
    recount();
}

static int reset(void **state)
{
    (void)state;
    const char *tables[] = {"nat_samples",      "nat_tubes", "nat_site_hours",
                            "nat_plan_figures", "nat_plans", "nat_sites"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        if (db_exec(D, sql))
            return -1;
    }
    int64_t now = now_ms();
    t0 = now - 3 * HOUR_MS - now % HOUR_MS + 10 * 60000;
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO nat_sites (id, region_code, name, kind, created_at, updated_at) VALUES "
             "(1, %lld, '测试点', 'fixed', 0, 0)",
             (long long)community1);
    if (db_exec(D, sql))
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO nat_plans (id, number, name, region_code, region_end, starts_at, "
             "ends_at, created_by, created_at, updated_at) VALUES (7, 'U-1', '测试计划', %lld, "
             "%lld, %lld, %lld, 1, 0, 0)",
             (long long)district, (long long)regcode_end(district), (long long)(now - 24 * HOUR_MS),
             (long long)(now + 24 * HOUR_MS));
    return db_exec(D, sql) ? -1 : 0;
}

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "nat-ingest", &D) || db_migrate(D) != E_OK ? -1 : 0;
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
    return fixture_pg_open(&D) || db_migrate(D) != E_OK ? -1 : 0;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

int main(void)
{
    street1 = code("110101001000");
    community1 = code("110101001001");
    street2 = code("110101002000");
    district = code("110101000000");
    A = arena_new(1 << 16);
    if (!A)
        return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup(test_delete_counters, reset)};
    int failed = cmocka_run_group_tests_name("nat_ingest/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("nat_ingest/postgres", tests, open_pg, close_pg);
    arena_free(&A);
    return failed ? 1 : 0;
}

/*
 * Unit tests of stats/stats.h: the registry of measures, the upsert of a
 * counter inside a transaction, range sums over a subtree and a window of
 * days, the per-day series, and the recount that finds and repairs a
 * planted difference (SQLite, and PostgreSQL when FK_DB names one).
 *
 * The measures here count rows of two tables the tests create: t_items (a
 * level: how many items each region holds now) and t_events (a flow: events
 * per region and China day).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/regcode.h"
#include "fixture.h"
#include "stats/stats.h"

static struct fixture_db F;
static db *D;

static const struct stats_measure level_m = {
    "test.items", "测试存量", true,
    "SELECT region_code, 0, COUNT(*) FROM t_items GROUP BY region_code"};
static const struct stats_measure flow_m = {
    "test.events.new", "测试新增", false,
    "SELECT region_code, day, COUNT(*) FROM t_events GROUP BY region_code, day"};

/* A family: one flow per kind of t_kinds, counters "test.kind.<kind>". */
static const struct stats_measure family_m = {
    "test.kind", "测试分类", false,
    "SELECT kind, region_code, day, COUNT(*) FROM t_kinds GROUP BY kind, region_code, day", true};

/* Two streets of one district, a community and a building in the first. */
static int64_t street1, street2, community1, building1;

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

static void add_ok(const char *m, int64_t region, int64_t day, int64_t delta)
{
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_add(D, m, region, day, delta), E_OK);
    assert_int_equal(db_commit(D), E_OK);
}

static int64_t sum_of(const char *m, int64_t lo, int64_t hi, int64_t from, int64_t to)
{
    int64_t v = -12345;
    assert_int_equal(stats_sum(D, m, lo, hi, from, to, &v), E_OK);
    return v;
}

/* An event of the flow: its source row and its counter, as a writer does. */
static void event(int64_t region, int64_t day)
{
    db_stmt *s;
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(db_prepare(D, "INSERT INTO t_events (region_code, day) VALUES (?, ?)", &s),
                     E_OK);
    db_bind_int64(s, 1, region);
    db_bind_int64(s, 2, day);
    assert_int_equal(db_run(s, NULL), E_OK);
    assert_int_equal(stats_add(D, flow_m.name, region, day, 1), E_OK);
    assert_int_equal(db_commit(D), E_OK);
}

static void item(int64_t region)
{
    db_stmt *s;
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(db_prepare(D, "INSERT INTO t_items (region_code) VALUES (?)", &s), E_OK);
    db_bind_int64(s, 1, region);
    assert_int_equal(db_run(s, NULL), E_OK);
    assert_int_equal(stats_add(D, level_m.name, region, STATS_NOW, 1), E_OK);
    assert_int_equal(db_commit(D), E_OK);
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(stats_measure_find("test.items"), &level_m);
    assert_null(stats_measure_find("test.nothing"));
    assert_null(stats_measure_find(NULL));
    /* the same definition again is fine (lazy registration) */
    assert_int_equal(stats_measure_register(&level_m), E_OK);
    /* another definition under a taken name is a bug */
    static const struct stats_measure twin = {"test.items", "重复", true, "SELECT 1, 0, 1"};
    assert_int_equal(stats_measure_register(&twin), E_INTERNAL);
    assert_ptr_equal(stats_measure_find("test.items"), &level_m);
    static const struct stats_measure bad = {"Test Items", "坏名字", true, "SELECT 1, 0, 1"};
    assert_int_equal(stats_measure_register(&bad), E_INTERNAL);
    static const struct stats_measure no_sql = {"test.nosql", "无重算", true, NULL};
    assert_int_equal(stats_measure_register(&no_sql), E_INTERNAL);
    const struct stats_measure *all[8];
    size_t n = stats_measures(all, 8);
    assert_int_equal(n, 2); /* the family is not a measure of its own */
    assert_ptr_equal(all[0], &level_m);
    assert_ptr_equal(all[1], &flow_m);
    assert_null(stats_measure_find("test.kind"));
    assert_null(stats_measure_find("test.kind.7"));
}

struct seen {
    int n;
    char measure[8][32];
    int64_t region[8], day[8], have[8], want[8];
};

static void seen_report(const char *measure, int64_t region, int64_t day, int64_t have,
                        int64_t want, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->measure[s->n], sizeof s->measure[0], "%s", measure);
        s->region[s->n] = region;
        s->day[s->n] = day;
        s->have[s->n] = have;
        s->want[s->n] = want;
    }
    s->n++;
}

static void kind_row(int64_t kind, int64_t region, int64_t day)
{
    db_stmt *s;
    assert_int_equal(
        db_prepare(D, "INSERT INTO t_kinds (kind, region_code, day) VALUES (?, ?, ?)", &s), E_OK);
    db_bind_int64(s, 1, kind);
    db_bind_int64(s, 2, region);
    db_bind_int64(s, 3, day);
    assert_int_equal(db_run(s, NULL), E_OK);
}

/* A family's members are counters like any other (added, deferred, summed)
 * and verified against the family's recount by key. */
static void test_family(void **state)
{
    (void)state;
    int64_t district = regcode_parent(street1);
    assert_int_equal(db_begin(D), E_OK);
    /* the family's own name, a key that is not a number, an unknown family */
    assert_int_equal(stats_add(D, "test.kind", building1, 20000, 1), E_INTERNAL);
    assert_int_equal(stats_add(D, "test.kind.x7", building1, 20000, 1), E_INTERNAL);
    assert_int_equal(stats_add(D, "test.other.7", building1, 20000, 1), E_INTERNAL);
    assert_int_equal(stats_add(D, "test.kind.7", building1, STATS_NOW, 1), E_INTERNAL);
    kind_row(7, building1, 20000);
    assert_int_equal(stats_add(D, "test.kind.7", building1, 20000, 1), E_OK);
    assert_int_equal(stats_defer_begin(D), E_OK);
    for (int i = 0; i < 3; i++) {
        kind_row(12, street2, 20001);
        assert_int_equal(stats_add(D, "test.kind.12", street2, 20001, 1), E_OK);
        kind_row(7, community1, 20001);
        assert_int_equal(stats_add(D, "test.kind.7", community1, 20001, 1), E_OK);
    }
    assert_int_equal(stats_defer_flush(D), E_OK);
    stats_defer_end(D);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(sum_of("test.kind.7", district, regcode_end(district), 20000, 20001), 4);
    assert_int_equal(sum_of("test.kind.7", street1, regcode_end(street1), 20001, 20001), 3);
    assert_int_equal(sum_of("test.kind.12", district, regcode_end(district), STATS_NOW, STATS_NOW),
                     3);
    assert_int_equal(sum_of("test.kind.12", street1, regcode_end(street1), 1, 30000), 0);
    int64_t diff = -1;
    assert_int_equal(stats_verify(D, false, NULL, NULL, &diff), E_OK);
    assert_int_equal(diff, 0);
    /* a member off by one on a day, and a member no recount knows */
    exec_ok("UPDATE counters SET n = n + 1 WHERE measure = 'test.kind.12' AND day = 20001");
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_add(D, "test.kind.99", building1, 20003, 2), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    struct seen s = {0};
    assert_int_equal(stats_verify(D, false, seen_report, &s, &diff), E_OK);
    /* 12's day (planted in the leaf row only); 99's day and total, in the
     * leaf rows and in their street's rollup */
    assert_int_equal(diff, 5);
    assert_string_equal(s.measure[0], "test.kind.12");
    assert_int_equal(s.have[0], 4);
    assert_int_equal(s.want[0], 3);
    assert_string_equal(s.measure[1], "test.kind.99");
    assert_string_equal(s.measure[3], "test.kind.99@street");
    assert_int_equal(s.region[3], street1);
    assert_int_equal(stats_verify(D, true, NULL, NULL, &diff), E_OK);
    assert_int_equal(diff, 5);
    assert_int_equal(sum_of("test.kind.12", district, regcode_end(district), 20001, 20001), 3);
    assert_int_equal(sum_of("test.kind.99", district, regcode_end(district), 1, 30000), 0);
    assert_int_equal(stats_verify(D, false, NULL, NULL, &diff), E_OK);
    assert_int_equal(diff, 0);
}

static void test_add_and_sum(void **state)
{
    (void)state;
    /* outside a transaction, or an unregistered measure: a bug, nothing written */
    assert_int_equal(stats_add(D, level_m.name, building1, STATS_NOW, 1), E_INTERNAL);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_add(D, "test.unknown", building1, STATS_NOW, 1), E_INTERNAL);
    /* a level lives at STATS_NOW, a flow's events on a day */
    assert_int_equal(stats_add(D, level_m.name, building1, 20000, 1), E_INTERNAL);
    assert_int_equal(stats_add(D, flow_m.name, building1, STATS_NOW, 1), E_INTERNAL);
    db_rollback(D);
    assert_int_equal(sum_of(level_m.name, 0, REGCODE_SPACE, STATS_NOW, STATS_NOW), 0);

    add_ok(level_m.name, building1, STATS_NOW, 1);
    add_ok(level_m.name, building1, STATS_NOW, 1); /* the upsert adds */
    add_ok(level_m.name, community1, STATS_NOW, 3);
    add_ok(level_m.name, street2, STATS_NOW, 5);
    add_ok(level_m.name, building1, STATS_NOW, -1);
    add_ok(level_m.name, street2, STATS_NOW, 0); /* a no-op */
    /* a subtree is its code range: the building's 1, the community's 1 + 3 */
    assert_int_equal(sum_of(level_m.name, building1, regcode_end(building1), 0, 0), 1);
    assert_int_equal(sum_of(level_m.name, community1, regcode_end(community1), 0, 0), 4);
    assert_int_equal(sum_of(level_m.name, street1, regcode_end(street1), 0, 0), 4);
    assert_int_equal(sum_of(level_m.name, street2, regcode_end(street2), 0, 0), 5);
    int64_t district = regcode_parent(street1);
    assert_int_equal(sum_of(level_m.name, district, regcode_end(district), 0, 0), 9);
    /* the range's upper bound is exclusive: street2 starts where street1 ends */
    assert_int_equal(regcode_end(street1), street2);
    /* another measure's counters are not summed */
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), 0, 100000), 0);
    assert_int_equal(sum_of(level_m.name, district, regcode_end(district), 1, 100000), 0);

    /* days: the window's edges belong to it */
    add_ok(flow_m.name, building1, 20000, 2);
    add_ok(flow_m.name, building1, 20001, 3);
    add_ok(flow_m.name, street2, 20003, 7);
    assert_int_equal(sum_of(flow_m.name, street1, regcode_end(street1), 20000, 20001), 5);
    assert_int_equal(sum_of(flow_m.name, street1, regcode_end(street1), 20001, 20001), 3);
    assert_int_equal(sum_of(flow_m.name, street1, regcode_end(street1), 20002, 20010), 0);
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), 1, 20003), 12);
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), 1, 20002), 5);
    /* a flow's total over all days is kept at STATS_NOW */
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), STATS_NOW, STATS_NOW),
                     12);
    assert_int_equal(sum_of(flow_m.name, street1, regcode_end(street1), STATS_NOW, STATS_NOW), 5);
}

static void test_series(void **state)
{
    (void)state;
    add_ok(flow_m.name, building1, 20000, 2);
    add_ok(flow_m.name, community1, 20002, 4);
    add_ok(flow_m.name, street2, 20002, 100);
    add_ok(flow_m.name, building1, 20005, 9); /* after the window */
    add_ok(flow_m.name, building1, 19999, 9); /* before it */
    int64_t out[4] = {-1, -1, -1, -1};
    assert_int_equal(stats_series(D, flow_m.name, street1, regcode_end(street1), 20000, 20003, out),
                     E_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0); /* a day without counters */
    assert_int_equal(out[2], 4);
    assert_int_equal(out[3], 0);
    int64_t one[1] = {-1};
    assert_int_equal(stats_series(D, flow_m.name, street2, regcode_end(street2), 20002, 20002, one),
                     E_OK);
    assert_int_equal(one[0], 100);
}

/* The counter rows of a measure (a net zero leaves its row). */
static int64_t rows_of(const char *m)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT COUNT(*) FROM counters WHERE measure = ?", &s), E_OK);
    db_bind_text(s, 1, m);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    int64_t n = db_col_int64(s, 0);
    db_done(s);
    return n;
}

/* A bulk writer's batch: summed in memory, one upsert per counter at the
 * flush, the same counters (net zeros included) as the adds one by one;
 * what is not flushed is dropped. */
static void test_defer(void **state)
{
    (void)state;
    int64_t district = regcode_parent(street1);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_defer_begin(D), E_OK);
    /* checked at once as always */
    assert_int_equal(stats_add(D, "test.unknown", building1, STATS_NOW, 1), E_INTERNAL);
    assert_int_equal(stats_add(D, level_m.name, building1, 20000, 1), E_INTERNAL);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(stats_add(D, level_m.name, building1, STATS_NOW, 1), E_OK);
        assert_int_equal(stats_add(D, flow_m.name, community1, 20000 + i % 2, 2), E_OK);
    }
    assert_int_equal(stats_add(D, level_m.name, street2, STATS_NOW, 1), E_OK);
    assert_int_equal(stats_add(D, level_m.name, street2, STATS_NOW, -1), E_OK);
    /* nothing written before the flush */
    assert_int_equal(rows_of(level_m.name) + rows_of(flow_m.name), 0);
    assert_int_equal(stats_defer_flush(D), E_OK);
    assert_int_equal(sum_of(level_m.name, building1, regcode_end(building1), 0, 0), 5);
    assert_int_equal(sum_of(level_m.name, street2, regcode_end(street2), 0, 0), 0);
    assert_int_equal(rows_of(level_m.name), 2); /* the net zero's row too */
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), 20000, 20000), 6);
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), 20001, 20001), 4);
    assert_int_equal(sum_of(flow_m.name, district, regcode_end(district), STATS_NOW, STATS_NOW),
                     10);
    /* after a flush the batch starts again; unflushed deltas are dropped */
    assert_int_equal(stats_add(D, level_m.name, building1, STATS_NOW, 7), E_OK);
    stats_defer_end(D);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(sum_of(level_m.name, building1, regcode_end(building1), 0, 0), 5);
    /* after the end, adds are written at once again */
    add_ok(level_m.name, building1, STATS_NOW, 1);
    assert_int_equal(sum_of(level_m.name, building1, regcode_end(building1), 0, 0), 6);
}

static void test_verify(void **state)
{
    (void)state;
    item(building1);
    item(building1);
    item(street2);
    event(building1, 20000);
    event(building1, 20000);
    event(community1, 20001);
    int64_t diff = -1;
    struct seen s = {0};
    assert_int_equal(stats_verify(D, false, seen_report, &s, &diff), E_OK);
    assert_int_equal(diff, 0);
    assert_int_equal(s.n, 0);

    /* plant three differences: a counter off by 5, a counter missing, and
     * a counter left where nothing is counted */
    exec_ok("UPDATE counters SET n = n + 5 WHERE measure = 'test.items'");
    exec_ok("DELETE FROM counters WHERE measure = 'test.events.new' AND day = 20001");
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_add(D, flow_m.name, street2, 20002, 4), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    /* a zero counter without a recount is no difference */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(stats_add(D, flow_m.name, street2, 20009, 1), E_OK);
    assert_int_equal(stats_add(D, flow_m.name, street2, 20009, -1), E_OK);
    assert_int_equal(db_commit(D), E_OK);

    memset(&s, 0, sizeof s);
    assert_int_equal(stats_verify(D, false, seen_report, &s, &diff), E_OK);
    /* the items at two regions; two event cells and street2's total; the
     * stats_add of street2 also moved its street's rollup (day and total),
     * which no recount has either (the planted SQL touched leaf rows only) */
    assert_int_equal(diff, 7);
    assert_int_equal(s.n, 7);
    /* measures in registration order, cells in (region, day) order */
    assert_string_equal(s.measure[0], "test.items");
    assert_int_equal(s.region[0], building1);
    assert_int_equal(s.have[0], 7);
    assert_int_equal(s.want[0], 2);
    assert_int_equal(s.region[1], street2);
    assert_int_equal(s.have[1], 6);
    assert_int_equal(s.want[1], 1);
    assert_string_equal(s.measure[2], "test.events.new");
    assert_int_equal(s.region[2], community1);
    assert_int_equal(s.day[2], 20001);
    assert_int_equal(s.have[2], 0);
    assert_int_equal(s.want[2], 1);
    assert_int_equal(s.region[3], street2);
    assert_int_equal(s.day[3], STATS_NOW); /* the flow's total */
    assert_int_equal(s.have[3], 4);
    assert_int_equal(s.want[3], 0);
    assert_int_equal(s.region[4], street2);
    assert_int_equal(s.day[4], 20002);
    assert_int_equal(s.have[4], 4);
    assert_int_equal(s.want[4], 0);
    assert_string_equal(s.measure[5], "test.events.new@street");
    assert_int_equal(s.region[5], street2);
    assert_int_equal(s.day[5], STATS_NOW);
    assert_int_equal(s.have[5], 4);
    assert_string_equal(s.measure[6], "test.events.new@street");
    assert_int_equal(s.day[6], 20002);
    /* without fix nothing changed */
    assert_int_equal(sum_of(level_m.name, 0, REGCODE_SPACE, 0, 0), 13);

    /* fix rewrites them from the recount; a second verify agrees */
    assert_int_equal(stats_verify(D, true, NULL, NULL, &diff), E_OK);
    assert_int_equal(diff, 7);
    assert_int_equal(sum_of(level_m.name, 0, REGCODE_SPACE, 0, 0), 3);
    assert_int_equal(sum_of(flow_m.name, 0, REGCODE_SPACE, 1, 30000), 3);
    assert_int_equal(sum_of(flow_m.name, 0, REGCODE_SPACE, STATS_NOW, STATS_NOW), 3);
    assert_int_equal(sum_of(flow_m.name, community1, regcode_end(community1), 20001, 20001), 1);
    assert_int_equal(stats_verify(D, false, NULL, NULL, &diff), E_OK);
    assert_int_equal(diff, 0);
}

static int reset(void **state)
{
    (void)state;
    exec_ok("DELETE FROM counters");
    exec_ok("DELETE FROM street_counters");
    exec_ok("DELETE FROM t_items");
    exec_ok("DELETE FROM t_events");
    exec_ok("DELETE FROM t_kinds");
    return 0;
}

static int tables(void)
{
    return db_exec(D, "CREATE TABLE t_items (region_code BIGINT NOT NULL)") ||
                   db_exec(D, "CREATE TABLE t_kinds (kind BIGINT NOT NULL, region_code BIGINT "
                              "NOT NULL, day BIGINT NOT NULL)") ||
                   db_exec(D, "CREATE TABLE t_events (region_code BIGINT NOT NULL, day BIGINT "
                              "NOT NULL)")
               ? -1
               : 0;
}

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "stats", &D) || db_migrate(D) != E_OK || tables() ? -1 : 0;
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
    if (fixture_pg_open(&D) || db_migrate(D) != E_OK)
        return -1;
    /* a database left by an earlier run of this program */
    if (db_exec(D, "DROP TABLE IF EXISTS t_items") || db_exec(D, "DROP TABLE IF EXISTS t_events") ||
        db_exec(D, "DROP TABLE IF EXISTS t_kinds"))
        return -1;
    return tables();
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
    street2 = code("110101002000");
    community1 = code("110101001001");
    building1 = code("110101001001001001");
    if (stats_measure_register(&level_m) || stats_measure_register(&flow_m) ||
        stats_measure_register(&family_m))
        return 1;
#define TESTS                                                                                      \
    cmocka_unit_test_setup(test_registry, reset), cmocka_unit_test_setup(test_add_and_sum, reset), \
        cmocka_unit_test_setup(test_series, reset), cmocka_unit_test_setup(test_verify, reset),    \
        cmocka_unit_test_setup(test_defer, reset), cmocka_unit_test_setup(test_family, reset)
    const struct CMUnitTest tests[] = {TESTS};
    int failed = cmocka_run_group_tests_name("stats/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("stats/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

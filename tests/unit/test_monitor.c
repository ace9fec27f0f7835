/*
 * Unit tests of monitor/monitor.h at the edges the API tests cannot place
 * by the clock: each kind's threshold exactly at and one short of it (the
 * occupancy's percentage in exact integers, closed rooms left out), the
 * China day's first and last millisecond for checks and fever alerts, a
 * rule's from_hour at the minute before and the hour itself, one alert per
 * rule, object and day (a new one the next day), a breach that clears and
 * holds again, and the bounds of an edited rule list (SQLite, and
 * PostgreSQL when FK_DB names one).
 *
 * The tables are filled by SQL: what the rules read, not how it got there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "fixture.h"
#include "monitor/monitor.h"

static struct fixture_db F;
static db *D;

/* the China midnight of a fixed day the tests live in (2026-12-05) */
static int64_t DAY0;
#define HOUR 3600000LL
#define MIN  60000LL

static const char *const CODES[] = {
    "110101001001", "110101001001001", "110101001001001001",
    "110101001002", "110101001001002", "110101002001",
};
static int64_t community, grid, building, community2, grid2, other;

static void exec_ok(const char *sql)
{
    assert_int_equal(db_exec(D, sql), E_OK);
}

static void sql_ok(const char *fmt, long long a, long long b, long long c, long long d)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, a, b, c, d);
    exec_ok(sql);
}

static int64_t count(const char *sql)
{
    int64_t v = -1;
    assert_int_equal(db_query_int64(D, sql, &v), E_OK);
    return v;
}

/* Replace the rules with one of `kind` (every other field as given). */
static void rule(const char *kind, long long threshold, int from_hour)
{
    char text[256];
    snprintf(text, sizeof text,
             "[{\"kind\":\"%s\",\"label\":\"测试规则\",\"threshold\":%lld,\"level\":\"warning\","
             "\"enabled\":true,\"from_hour\":%d}]",
             kind, threshold, from_hour);
    json_t *rules = json_loads(text, 0, NULL);
    arena *a = arena_new(4096);
    struct monitor_rule *items;
    size_t n;
    assert_int_equal(monitor_rules_parse(rules, a, &items, &n), E_OK);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(monitor_rules_save(D, a, items, n, 1), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    arena_free(&a);
    json_decref(rules);
}

static struct monitor_result run(int64_t now)
{
    struct monitor_result r;
    assert_int_equal(monitor_evaluate(D, now, &r), E_OK);
    return r;
}

static int64_t alerts_of(const char *kind)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM alerts WHERE kind = '%s'", kind);
    return count(sql);
}

static int reset(void **state)
{
    (void)state;
    static const char *const tables[] = {"monitor_breaches", "monitor_rules",    "alerts",
                                         "counters",         "quarantine_rooms", "places",
                                         "observations",     "checks",           "venues"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        if (db_exec(D, sql))
            return -1;
    }
    return 0;
}

/* ---- reports ------------------------------------------------------------------------------ */

static void counter(int64_t region, int64_t day, int64_t n)
{
    sql_ok("INSERT INTO counters (measure, region_code, day, n) VALUES ('case.incident.new', "
           "%lld, %lld, %lld)",
           region, day, n, 0);
}

static void test_reports_more_than(void **state)
{
    (void)state;
    int64_t day = china_day(DAY0);
    rule("reports", 3, 0);
    counter(building, day, 1); /* a building, a grid and the community itself: one community */
    counter(grid, day, 1);
    counter(community, day, 1);
    counter(community2, day, 3); /* the community next door: 3 is not more than 3 */
    counter(other, day - 1, 9);  /* yesterday's */
    struct monitor_result r = run(DAY0 + 10 * HOUR);
    assert_int_equal(r.rules, 1);
    assert_int_equal(r.breaches, 0);
    counter(grid2, day, 1); /* a second grid of the first community: 4 > 3 */
    r = run(DAY0 + 10 * HOUR);
    assert_int_equal(r.breaches, 1);
    assert_int_equal(r.raised, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM monitor_breaches WHERE object_id = "
                           "110101001001000000 AND figure = 4"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'monitor_reports' AND "
                           "region_code = 110101001001000000 AND message LIKE "
                           "'%110101001001今日新增疫情上报4件，超过阈值3件'"),
                     1);
}

/* ---- occupancy ---------------------------------------------------------------------------- */

/* A site with `occupied`, `free` and `closed` rooms. */
static void site(int64_t id, int occupied, int free_, int closed)
{
    sql_ok("INSERT INTO places (id, region_code, kind, name, created_at, updated_at) VALUES "
           "(%lld, %lld, 'quarantine_site', '隔离酒店', 0, 0)",
           id, community, 0, 0);
    int room = 0;
    for (int k = 0; k < 3; k++) {
        int n = k == 0 ? occupied : k == 1 ? free_ : closed;
        for (int i = 0; i < n; i++, room++)
            sql_ok(k == 0   ? "INSERT INTO quarantine_rooms (id, site_id, room_no, region_code, "
                              "state, created_at, updated_at) VALUES (%lld, %lld, '%lld', %lld, "
                              "'occupied', 0, 0)"
                   : k == 1 ? "INSERT INTO quarantine_rooms (id, site_id, room_no, region_code, "
                              "state, created_at, updated_at) VALUES (%lld, %lld, '%lld', %lld, "
                              "'free', 0, 0)"
                            : "INSERT INTO quarantine_rooms (id, site_id, room_no, region_code, "
                              "state, created_at, updated_at) VALUES (%lld, %lld, '%lld', %lld, "
                              "'closed', 0, 0)",
                   id * 1000 + room, id, room, community);
    }
}

static void test_occupancy_exact(void **state)
{
    (void)state;
    rule("occupancy", 90, 0);
    site(1, 8, 2, 5);  /* 80 % of 10 (closed rooms left out) */
    site(2, 9, 1, 0);  /* exactly 90 % */
    site(3, 26, 3, 0); /* 89.66 %: no rounding up */
    site(4, 0, 0, 4);  /* every room closed: no percentage */
    struct monitor_result r = run(DAY0 + HOUR);
    assert_int_equal(r.breaches, 1);
    assert_int_equal(count("SELECT object_id FROM monitor_breaches"), 2);
    assert_int_equal(count("SELECT base FROM monitor_breaches"), 10);
    /* a room freed: the breach clears, no alert; taken again: holds again, still one alert */
    exec_ok("UPDATE quarantine_rooms SET state = 'free' WHERE id = 2000");
    r = run(DAY0 + 2 * HOUR);
    assert_int_equal(r.breaches, 0);
    assert_int_equal(count("SELECT cleared_at FROM monitor_breaches"), DAY0 + 2 * HOUR);
    exec_ok("UPDATE quarantine_rooms SET state = 'occupied' WHERE id = 2000");
    r = run(DAY0 + 3 * HOUR);
    assert_int_equal(r.breaches, 1);
    assert_int_equal(r.raised, 0);
    assert_int_equal(count("SELECT cleared_at FROM monitor_breaches"), 0);
    assert_int_equal(alerts_of("monitor_occupancy"), 1);
    /* the next China day: a new breach and its alert */
    r = run(DAY0 + DAY_MS);
    assert_int_equal(r.raised, 1);
    assert_int_equal(alerts_of("monitor_occupancy"), 2);
    /* a deleted site is no object */
    exec_ok("UPDATE places SET deleted_at = 1 WHERE id = 2");
    assert_int_equal(run(DAY0 + DAY_MS + HOUR).breaches, 0);
}

/* ---- unchecked ---------------------------------------------------------------------------- */

static void observation(int64_t id, int64_t region, const char *kind, const char *state)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO observations (id, person_id, region_code, kind, source, state, "
             "start_at, created_by, created_at, updated_at) VALUES (%lld, %lld, %lld, '%s', "
             "'grid_patrol', '%s', 0, 1, 0, 0)",
             (long long)id, (long long)id, (long long)region, kind, state);
    exec_ok(sql);
}

static void check(int64_t id, int64_t observation_id, int64_t at)
{
    sql_ok("INSERT INTO checks (id, observation_id, person_id, region_code, at, by_whom, user_id, "
           "temperature) VALUES (%lld, %lld, %lld, 0, %lld, 'doctor', 1, 36.5)",
           id, observation_id, observation_id, at);
}

static void test_unchecked_day_and_hour(void **state)
{
    (void)state;
    rule("unchecked", 2, 18);
    observation(1, building, "home_isolation", "active");   /* grid */
    observation(2, grid, "home_observation", "active");     /* grid */
    observation(3, building, "central", "active");          /* not at home */
    observation(4, building, "home_isolation", "released"); /* closed */
    observation(5, other, "home_isolation", "active");      /* a community without a grid */
    check(1, 1, DAY0 - 1);                                  /* yesterday's last millisecond */
    /* 17:59: the rule waits for its hour */
    struct monitor_result r = run(DAY0 + 18 * HOUR - MIN);
    assert_int_equal(r.rules, 0);
    r = run(DAY0 + 18 * HOUR);
    assert_int_equal(r.rules, 1);
    assert_int_equal(r.breaches, 1); /* the grid's two; the other community's one is below 2 */
    assert_int_equal(count("SELECT object_id FROM monitor_breaches"), 110101001001001000LL);
    assert_int_equal(count("SELECT figure FROM monitor_breaches"), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'monitor_unchecked' AND "
                           "region_code = 110101001001001000"),
                     1);
    check(2, 1, DAY0); /* today's first millisecond: checked */
    r = run(DAY0 + 19 * HOUR);
    assert_int_equal(r.breaches, 0);
    assert_int_equal(alerts_of("monitor_unchecked"), 1);
}

/* ---- fever -------------------------------------------------------------------------------- */

static void alert(int64_t id, const char *kind, int64_t venue, int64_t at)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO alerts (id, kind, level, region_code, venue_id, message, at) VALUES "
             "(%lld, '%s', 'critical', %lld, %lld, '体温', %lld)",
             (long long)id, kind, (long long)community, (long long)venue, (long long)at);
    exec_ok(sql);
}

static void test_fever_window(void **state)
{
    (void)state;
    rule("fever", 3, 0);
    sql_ok("INSERT INTO venues (id, region_code, place_id, kind, name, code_issued_at, "
           "created_at, updated_at) VALUES (77, %lld, 1, 'community_gate', '东门', 0, 0, 0)",
           community, 0, 0, 0);
    alert(1, "device_fever", 77, DAY0 - 1);             /* yesterday */
    alert(2, "device_fever", 77, DAY0);                 /* today's first millisecond */
    alert(3, "fever", 77, DAY0 + HOUR);                 /* a checkpoint's */
    alert(4, "code_colour", 77, DAY0 + HOUR);           /* not a fever */
    alert(5, "device_fever", 77, DAY0 + DAY_MS);        /* tomorrow's */
    assert_int_equal(run(DAY0 + 2 * HOUR).breaches, 0); /* 2 of 3 */
    alert(6, "device_fever", 77, DAY0 + DAY_MS - 1);    /* today's last millisecond */
    struct monitor_result r = run(DAY0 + 2 * HOUR);
    assert_int_equal(r.breaches, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'monitor_fever' AND "
                           "venue_id = 77 AND level = 'warning'"),
                     1);
}

/* ---- the rule list ------------------------------------------------------------------------ */

static err parse(const char *text)
{
    json_t *rules = json_loads(text, 0, NULL);
    arena *a = arena_new(4096);
    struct monitor_rule *items;
    size_t n;
    err e = monitor_rules_parse(rules, a, &items, &n);
    arena_free(&a);
    json_decref(rules);
    return e;
}

#define RULE(kind, threshold, hour)                                                                \
    "[{\"kind\":\"" kind "\",\"label\":\"规则\",\"threshold\":" threshold                          \
    ",\"level\":\"info\",\"enabled\":true,\"from_hour\":" hour "}]"

static void expect(const char *text, const char *slug, const char *field)
{
    assert_int_equal(parse(text), E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
}

static void test_rule_bounds(void **state)
{
    (void)state;
    assert_int_equal(parse(RULE("reports", "0", "0")), E_OK); /* any report */
    assert_int_equal(parse(RULE("occupancy", "100", "23")), E_OK);
    assert_int_equal(parse(RULE("occupancy", "1", "0")), E_OK);
    expect(RULE("reports", "-1", "0"), "out_of_range", "rules[0].threshold");
    expect(RULE("occupancy", "0", "0"), "out_of_range", "rules[0].threshold");
    expect(RULE("occupancy", "101", "0"), "out_of_range", "rules[0].threshold");
    expect(RULE("fever", "0", "0"), "out_of_range", "rules[0].threshold");
    expect(RULE("fever", "1", "24"), "out_of_range", "rules[0].from_hour");
    expect(RULE("rain", "1", "0"), "invalid_value", "rules[0].kind");
    expect("[]", "out_of_range", "rules");
    expect("[{\"id\":\"5\",\"kind\":\"fever\",\"label\":\"a\",\"threshold\":1,\"level\":\"info\","
           "\"enabled\":true},{\"id\":\"5\",\"kind\":\"fever\",\"label\":\"b\",\"threshold\":1,"
           "\"level\":\"info\",\"enabled\":true}]",
           "duplicate_rule", "rules[1].id");
    /* an unknown id is found by the save, inside the transaction, which then writes nothing */
    json_t *rules = json_loads("[{\"id\":\"5\",\"kind\":\"fever\",\"label\":\"a\",\"threshold\":"
                               "1,\"level\":\"info\",\"enabled\":true}]",
                               0, NULL);
    arena *a = arena_new(4096);
    struct monitor_rule *items;
    size_t n;
    assert_int_equal(monitor_rules_parse(rules, a, &items, &n), E_OK);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(monitor_rules_save(D, a, items, n, 1), E_INPUT);
    assert_string_equal(err_last()->slug, "unknown_rule");
    db_rollback(D);
    arena_free(&a);
    json_decref(rules);
}

/* ---- groups ------------------------------------------------------------------------------- */

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "monitor", &D) || db_migrate(D) != E_OK ||
                   fixture_regions(D, CODES, sizeof CODES / sizeof *CODES)
               ? -1
               : 0;
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
    if (db_exec(D, "DELETE FROM regions"))
        return -1;
    return fixture_regions(D, CODES, sizeof CODES / sizeof *CODES);
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

int main(void)
{
    DAY0 = china_day_start(1796429669746LL);
    enum region_level lv;
    community = regcode_parse(CODES[0], &lv);
    grid = regcode_parse(CODES[1], &lv);
    building = regcode_parse(CODES[2], &lv);
    community2 = regcode_parse(CODES[3], &lv);
    grid2 = regcode_parse(CODES[4], &lv);
    other = regcode_parse(CODES[5], &lv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reports_more_than, reset),
        cmocka_unit_test_setup(test_occupancy_exact, reset),
        cmocka_unit_test_setup(test_unchecked_day_and_hour, reset),
        cmocka_unit_test_setup(test_fever_window, reset),
        cmocka_unit_test_setup(test_rule_bounds, reset),
    };
    int failed = cmocka_run_group_tests_name("monitor/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("monitor/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

/*
 * Unit tests of the exchange monitoring (exchange/watch.c): the anomaly rule
 * at each of its edges (minimum counts, the rate rise and its deviation
 * floor, z at exactly the sigmas, the history a volume judgement needs), the
 * p99 of latency buckets, the counting of reported calls into /metrics and
 * into the per-minute aggregates (added to, never replaced, so servers sum
 * up), the sweep raising one alert per caller and hour, and the summary's
 * scope (SQLite, and PostgreSQL when FK_DB names one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "exchange/exchange.h"
#include "fixture.h"
#include "http/internal.h"

static struct fixture_db F;
static db *D;
static int64_t REGION, OTHER;

static const struct exchange_anomaly_rule RULE = {
    .min_calls = 20, .min_errors = 10, .min_history = 6, .sigmas = 4, .rate_rise = 0.2};

static void fill(struct exchange_window *h, int n, int64_t calls, int64_t errors)
{
    for (int i = 0; i < n; i++)
        h[i] = (struct exchange_window){calls, errors};
}

static enum exchange_anomaly_kind judge(int64_t calls, int64_t errors,
                                        const struct exchange_window *h, int n)
{
    struct exchange_anomaly_verdict v;
    enum exchange_anomaly_kind k =
        exchange_anomaly_judge(&RULE, (struct exchange_window){calls, errors}, h, n, &v);
    assert_int_equal(k, v.kind);
    return k;
}

static void test_rule_errors(void **state)
{
    (void)state;
    struct exchange_window h[EXCHANGE_BASELINE_WINDOWS] = {0};
    /* a new caller (no history): the base rate is 0, the minimum counts hold */
    assert_int_equal(judge(20, 10, h, 0), EXCHANGE_ANOMALY_ERRORS);
    assert_int_equal(judge(19, 19, h, 0), EXCHANGE_ANOMALY_NONE); /* too few calls */
    assert_int_equal(judge(100, 9, h, 0), EXCHANGE_ANOMALY_NONE); /* too few errors */
    /* a steady base rate of 30 %: the rise must reach 20 points */
    fill(h, EXCHANGE_BASELINE_WINDOWS, 100, 30);
    assert_int_equal(judge(100, 50, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_ERRORS);
    assert_int_equal(judge(100, 49, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    /* per-window rates that swing (0 % and 20 %: sd 10 points) raise the bar to 4 sd = 40 */
    for (int i = 0; i < EXCHANGE_BASELINE_WINDOWS; i++)
        h[i] = (struct exchange_window){100, i % 2 ? 20 : 0};
    struct exchange_anomaly_verdict v;
    assert_int_equal(exchange_anomaly_judge(&RULE, (struct exchange_window){100, 50}, h,
                                            EXCHANGE_BASELINE_WINDOWS, &v),
                     EXCHANGE_ANOMALY_ERRORS);
    assert_true(v.sd_rate > 0.099 && v.sd_rate < 0.101);
    assert_true(v.base_rate > 0.099 && v.base_rate < 0.101);
    assert_int_equal(judge(100, 49, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
}

static void test_rule_volume(void **state)
{
    (void)state;
    struct exchange_window h[EXCHANGE_BASELINE_WINDOWS] = {0};
    /* steady 100 a window: sd 0, so the scale is sqrt(100) = 10 and 4 sigmas are 40 calls */
    fill(h, EXCHANGE_BASELINE_WINDOWS, 100, 0);
    assert_int_equal(judge(140, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_VOLUME_HIGH);
    assert_int_equal(judge(139, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    assert_int_equal(judge(60, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_VOLUME_LOW);
    assert_int_equal(judge(61, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    /* the history a volume judgement needs: 6 windows, not 5 */
    assert_int_equal(judge(1000, 0, h, 6), EXCHANGE_ANOMALY_VOLUME_HIGH);
    assert_int_equal(judge(1000, 0, h, 5), EXCHANGE_ANOMALY_NONE);
    assert_int_equal(judge(0, 0, h, 5), EXCHANGE_ANOMALY_NONE);
    /* a quiet caller: 2 a window; 19 calls are far above but under the minimum */
    fill(h, EXCHANGE_BASELINE_WINDOWS, 2, 0);
    assert_int_equal(judge(19, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    assert_int_equal(judge(20, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_VOLUME_HIGH);
    /* silence after a quiet day is no drop: the mean is under the minimum */
    fill(h, EXCHANGE_BASELINE_WINDOWS, 19, 0);
    assert_int_equal(judge(0, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    fill(h, EXCHANGE_BASELINE_WINDOWS, 20, 0);
    assert_int_equal(judge(0, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_VOLUME_LOW);
    /* a noisy caller: alternating 50 and 150 (sd 50): 300 is z = 4, 299 is not */
    for (int i = 0; i < EXCHANGE_BASELINE_WINDOWS; i++)
        h[i] = (struct exchange_window){i % 2 ? 150 : 50, 0};
    assert_int_equal(judge(300, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_VOLUME_HIGH);
    assert_int_equal(judge(299, 0, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_NONE);
    /* errors come first when both hold */
    fill(h, EXCHANGE_BASELINE_WINDOWS, 100, 0);
    assert_int_equal(judge(1000, 900, h, EXCHANGE_BASELINE_WINDOWS), EXCHANGE_ANOMALY_ERRORS);
    assert_string_equal(exchange_anomaly_name(EXCHANGE_ANOMALY_VOLUME_LOW), "volume_low");
    assert_string_equal(exchange_anomaly_name(EXCHANGE_ANOMALY_NONE), "");
}

static void test_p99(void **state)
{
    (void)state;
    int64_t b[EXCHANGE_LAT_BUCKETS] = {0};
    assert_true(exchange_p99_ms(b) == 0);
    b[0] = 99;
    b[5] = 1; /* the 100th call is the 1 % above: p99 is still bucket 0 (0.5 ms) */
    assert_true(exchange_p99_ms(b) == 0.5);
    b[0] = 98;
    b[5] = 2; /* now the 99th lies in bucket 5 (25 ms) */
    assert_true(exchange_p99_ms(b) == 25);
    b[5] = 0;
    b[EXCHANGE_LAT_BUCKETS - 1] = 2; /* above 5 s */
    assert_true(exchange_p99_ms(b) == -1);
}

/* ---- with a database ------------------------------------------------------------------- */

static int64_t count(const char *sql)
{
    int64_t v = -1;
    assert_int_equal(db_query_int64(D, sql, &v), E_OK);
    return v;
}

static int reset(void **state)
{
    (void)state;
    return db_exec(D, "DELETE FROM exchange_minutes") ||
                   db_exec(D, "DELETE FROM exchange_anomalies") || db_exec(D, "DELETE FROM alerts")
               ? -1
               : 0;
}

static void call(int64_t caller, const char *name, const char *result, int status, int64_t us)
{
    exchange_record_call(&(struct exchange_call_record){.front = "http",
                                                        .caller_id = caller,
                                                        .caller_name = name,
                                                        .region_code = caller ? REGION : 0,
                                                        .op = "persons.put",
                                                        .dataset = DS_PERSONS,
                                                        .status = status,
                                                        .result = result,
                                                        .records = 1000,
                                                        .latency_us = us});
}

#define OUT_005                                                                                    \
    "fangkong_exchange_call_seconds_bucket{direction=\"out\",party=\"gov\",dataset=\"cases\","     \
    "result=\"ok\",le=\"0.05\"} "
#define OUT_0025                                                                                   \
    "fangkong_exchange_call_seconds_bucket{direction=\"out\",party=\"gov\",dataset=\"cases\","     \
    "result=\"ok\",le=\"0.025\"} "

/* The value of the series line starting with prefix in /metrics now, 0 when absent (the
 * families live as long as the process: the PostgreSQL group sees the SQLite group's). */
static long long metric_now(const char *prefix)
{
    arena *a = arena_new(0);
    const char *p = strstr(metrics_render(a, D), prefix);
    long long v = p ? strtoll(p + strlen(prefix), NULL, 10) : 0;
    arena_free(&a);
    return v;
}

static void test_counting(void **state)
{
    (void)state;
    long long out005 = metric_now(OUT_005), out0025 = metric_now(OUT_0025);
    call(7, "市卫健委", "ok", 200, 3000); /* 3 ms: bucket 5 ms */
    call(7, "市卫健委", "ok", 200, 3000);
    call(7, "市卫健委", "signature_invalid", 401, 200); /* rejected, still the caller's */
    call(0, NULL, "unknown_caller", 401, 100);
    exchange_record_call(&(struct exchange_call_record){.front = "outbox",
                                                        .outbound = true,
                                                        .peer = "gov",
                                                        .dataset = DS_CASES,
                                                        .status = 200,
                                                        .result = "ok",
                                                        .latency_us = 40000});
    assert_int_equal(exchange_watch_flush(D), E_OK);
    assert_int_equal(count("SELECT SUM(calls) FROM exchange_minutes WHERE caller_id = 7 AND "
                           "party = '市卫健委' AND result = 'ok' AND dataset = 'persons'"),
                     2);
    assert_int_equal(count("SELECT SUM(b3) FROM exchange_minutes WHERE caller_id = 7"), 2);
    assert_int_equal(count("SELECT SUM(records) FROM exchange_minutes WHERE caller_id = 7"), 3000);
    assert_int_equal(count("SELECT SUM(calls) FROM exchange_minutes WHERE caller_id = 7 AND "
                           "result = 'signature_invalid'"),
                     1);
    assert_int_equal(count("SELECT SUM(calls) FROM exchange_minutes WHERE caller_id = 0 AND "
                           "party = '' AND direction = 'in' AND region_code = 0"),
                     1);
    assert_int_equal(count("SELECT SUM(b6) FROM exchange_minutes WHERE direction = 'out' AND "
                           "party = 'gov' AND dataset = 'cases'"),
                     1);
    /* a second flush (another server, or the next period) adds to the rows */
    call(7, "市卫健委", "ok", 200, 3000);
    assert_int_equal(exchange_watch_flush(D), E_OK);
    assert_int_equal(exchange_watch_flush(D), E_OK); /* nothing new: nothing added */
    assert_int_equal(count("SELECT SUM(calls) FROM exchange_minutes WHERE caller_id = 7 AND "
                           "result = 'ok'"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM exchange_minutes WHERE region_code <> 0 AND "
                           "caller_id = 7 AND region_code <> "
                           "(SELECT MAX(region_code) FROM "
                           "exchange_minutes)"),
                     0);
    /* /metrics holds the family with the caller's name and its histogram */
    arena *a = arena_new(0);
    char *text = metrics_render(a, D);
    assert_non_null(strstr(text, "# TYPE fangkong_exchange_call_seconds histogram"));
    assert_non_null(strstr(text, "fangkong_exchange_call_seconds_count{direction=\"in\",party="
                                 "\"市卫健委\",dataset=\"persons\",result=\"signature_invalid\"}"));
    assert_int_equal(metric_now(OUT_005), out005 + 1); /* 40 ms: in the 50 ms bucket, */
    assert_int_equal(metric_now(OUT_0025), out0025);   /* not in the 25 ms one */
    assert_non_null(strstr(text, "fangkong_exchange_records_total{direction=\"in\",party="
                                 "\"市卫健委\",dataset=\"persons\"}"));
    arena_free(&a);
}

static void test_metric_escape(void **state)
{
    (void)state;
    static const char *const labels[] = {"x", NULL};
    struct http_metric_family *f =
        http_metric_family("fangkong_test_total", "A test family.", HTTP_METRIC_COUNTER, labels);
    assert_non_null(f);
    http_metric_add(f, (const char *[]){"a\"b\\c\nd"}, 2);
    http_metric_add(f, (const char *[]){"a\"b\\c\nd"}, 3);
    arena *a = arena_new(0);
    char *text = metrics_render(a, D);
    assert_non_null(strstr(text, "fangkong_test_total{x=\"a\\\"b\\\\c\\nd\"} 5\n"));
    arena_free(&a);
}

/* Minutes of caller id in region, calls and errors each minute from..to (inclusive). */
static void seed(int64_t id, const char *name, int64_t region, int64_t from, int64_t to,
                 int64_t calls, int64_t errors)
{
    assert_int_equal(db_begin(D), E_OK);
    for (int64_t m = from; m <= to; m++)
        for (int ok = 0; ok < 2; ok++) {
            int64_t n = ok ? calls - errors : errors;
            if (!n)
                continue;
            db_stmt *s;
            assert_int_equal(db_prepare(D,
                                        "INSERT INTO exchange_minutes (minute, direction, "
                                        "caller_id, party, dataset, result, region_code, calls, "
                                        "b3, last_at) VALUES (?, 'in', ?, ?, 'persons', ?, ?, ?, "
                                        "?, ?)",
                                        &s),
                             E_OK);
            db_bind_int64(s, 1, m);
            db_bind_int64(s, 2, id);
            db_bind_text(s, 3, name);
            db_bind_text(s, 4, ok ? "ok" : "dataset_not_granted");
            db_bind_int64(s, 5, region);
            db_bind_int64(s, 6, n);
            db_bind_int64(s, 7, n);
            db_bind_int64(s, 8, m * 60000);
            assert_int_equal(db_run(s, NULL), E_OK);
        }
    assert_int_equal(db_commit(D), E_OK);
}

static void test_sweep(void **state)
{
    (void)state;
    int64_t now = 1796429669746LL, cur = now / 60000;
    int64_t window0 = cur - EXCHANGE_WINDOW_MIN + 1, day0 = window0 - 1440;
    /* caller 11: 3 calls a minute all day, then errors on 25 of 30 in the window */
    seed(11, "区公安分局", REGION, day0, window0 - 1, 3, 0);
    seed(11, "区公安分局", REGION, window0, cur, 3, 0);
    seed(11, "区公安分局", REGION, cur, cur, 25, 25);
    /* caller 12: quiet, every call failing, too few to judge */
    seed(12, "街道办", REGION, window0, cur, 1, 1);
    /* caller 13: a steady day, a steady window */
    seed(13, "疾控中心", OTHER, day0, cur, 5, 0);
    int64_t raised = -1;
    assert_int_equal(exchange_anomaly_sweep(D, now, &RULE, &raised), E_OK);
    assert_int_equal(raised, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'exchange_anomaly'"), 1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM alerts WHERE kind = 'exchange_anomaly' AND region_code = %lld "
             "AND message LIKE '%%区公安分局%%失败25次%%'",
             (long long)REGION);
    assert_int_equal(count(sql), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM exchange_anomalies WHERE caller_id = 11 AND "
                           "kind = 'errors' AND calls = 55 AND errors = 25"),
                     1);
    /* the same hour: no second alert; the next hour: one more */
    assert_int_equal(exchange_anomaly_sweep(D, now + 60000, &RULE, &raised), E_OK);
    assert_int_equal(raised, 0);
    int64_t next_hour = (now / 3600000 + 1) * 3600000 + 1000;
    seed(11, "区公安分局", REGION, next_hour / 60000, next_hour / 60000, 30, 30);
    assert_int_equal(exchange_anomaly_sweep(D, next_hour, &RULE, &raised), E_OK);
    /* caller 11 again, and caller 13, whose steady 50 a window stopped (the
     * seed ended before this window): a drop */
    assert_int_equal(raised, 2);
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'exchange_anomaly'"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM exchange_anomalies WHERE caller_id = 13 AND "
                           "kind = 'volume_low' AND calls = 0"),
                     1);
}

static void test_summary_scope(void **state)
{
    (void)state;
    int64_t now = 1796429669746LL, cur = now / 60000;
    seed(21, "甲", REGION, cur - 2, cur, 10, 1);
    seed(22, "乙", OTHER, cur - 2, cur, 4, 0);
    struct scope sc = scope_of(REGION);
    json_t *o;
    arena *a = arena_new(0);
    assert_int_equal(exchange_monitor_summary(D, a, &sc, now, 5, &o), E_OK);
    json_t *tot = json_object_get(o, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "calls")), 30);
    assert_int_equal(json_integer_value(json_object_get(tot, "errors")), 3);
    assert_int_equal(json_array_size(json_object_get(o, "series")), 5);
    json_t *callers = json_object_get(o, "callers");
    assert_int_equal(json_array_size(callers), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(callers, 0), "name")),
                        "甲");
    assert_true(json_real_value(json_object_get(json_array_get(callers, 0), "p99_ms")) == 5);
    json_decref(o);
    sc = scope_all();
    assert_int_equal(exchange_monitor_summary(D, a, &sc, now, 5, &o), E_OK);
    assert_int_equal(json_array_size(json_object_get(o, "callers")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "totals"), "calls")),
                     42);
    json_decref(o);
    assert_int_equal(exchange_monitor_summary(D, a, &sc, now, 0, &o), E_INPUT);
    assert_int_equal(exchange_monitor_summary(D, a, &sc, now, 1441, &o), E_INPUT);
    arena_free(&a);
}

/* ---- groups ------------------------------------------------------------------------------- */

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "exchange_watch", &D) || db_migrate(D) != E_OK ? -1 : 0;
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
    enum region_level lv;
    REGION = regcode_parse("110101001001", &lv);
    OTHER = regcode_parse("110102001001", &lv);
    if (exchange_watch_register())
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_rule_volume),
        cmocka_unit_test(test_p99),
        cmocka_unit_test(test_metric_escape),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counting, reset),
        cmocka_unit_test_setup(test_sweep, reset),
        cmocka_unit_test_setup(test_summary_scope, reset),
    };
    int failed = cmocka_run_group_tests_name("exchange_watch/rule", pure, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("exchange_watch/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("exchange_watch/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

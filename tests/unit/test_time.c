/*
 * China time (base/time.h) at the edges of a China day, whatever the
 * server's own time zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/id.h"
#include "base/time.h"

/* 2024-05-01 00:00:00 in China is 2024-04-30 16:00:00 UTC. */
static const int64_t MAY1_CN = 1714492800000LL;

static void test_format(void **state)
{
    (void)state;
    char b[CHINA_TIME_LEN];
    china_time(MAY1_CN, b);
    assert_string_equal(b, "2024-05-01 00:00:00");
    china_time(MAY1_CN - 1, b);
    assert_string_equal(b, "2024-04-30 23:59:59");
    china_time(MAY1_CN + 8 * 3600 * 1000LL + 61000, b);
    assert_string_equal(b, "2024-05-01 08:01:01");
    china_time(0, b); /* never set */
    assert_string_equal(b, "");
    china_time(-5, b);
    assert_string_equal(b, "");
}

static void test_dates_and_days(void **state)
{
    (void)state;
    assert_int_equal(china_date(MAY1_CN), 20240501);
    assert_int_equal(china_date(MAY1_CN - 1), 20240430);
    assert_int_equal(china_day(MAY1_CN) - china_day(MAY1_CN - 1), 1);
    assert_int_equal(china_day_start(MAY1_CN + 5 * 3600 * 1000LL), MAY1_CN);
    assert_int_equal(china_day_start(MAY1_CN), MAY1_CN);
    assert_int_equal(china_day_start(MAY1_CN - 1), MAY1_CN - DAY_MS);
    /* the first China day began at 1969-12-31 16:00 UTC */
    assert_int_equal(china_day(0), 0);
    assert_int_equal(china_day(-CHINA_OFFSET_MS), 0);
    assert_int_equal(china_day(-CHINA_OFFSET_MS - 1), -1);
    assert_int_equal(china_date(-CHINA_OFFSET_MS - 1), 19691231);
    int32_t today = china_today();
    assert_true(today == china_date(now_ms()) || today == china_date(now_ms() - 1000));
}

/* The server's zone does not move China time. */
static void test_zone_independent(void **state)
{
    (void)state;
    setenv("TZ", "America/New_York", 1);
    tzset();
    char b[CHINA_TIME_LEN];
    china_time(MAY1_CN, b);
    assert_string_equal(b, "2024-05-01 00:00:00");
    assert_int_equal(china_date(MAY1_CN), 20240501);
    unsetenv("TZ");
    tzset();
}

/* China time text read back: both forms, the 'T', and impossible dates. */
static void test_parse(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(china_time_parse("2024-05-01 00:00", &ms));
    assert_int_equal(ms, MAY1_CN);
    assert_true(china_time_parse("2024-05-01T00:00:01", &ms));
    assert_int_equal(ms, MAY1_CN + 1000);
    assert_true(china_time_parse("2024-02-29 23:59:59", &ms));
    char b[CHINA_TIME_LEN];
    china_time(ms, b);
    assert_string_equal(b, "2024-02-29 23:59:59");
    ms = 7;
    const char *bad[] = {
        "2023-02-29 00:00",    "2024-05-01 24:00",  "2024-05-01", "2024/05/01 00:00",
        "2024-05-01 00:00:60", "2024-05-01 00:00 ", "",           "2024-13-01 00:00",
        "2024-05-01x00:00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(china_time_parse(bad[i], &ms));
    assert_int_equal(ms, 7); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_dates_and_days),
        cmocka_unit_test(test_zone_independent),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests_name("base/time", tests, NULL, NULL);
}

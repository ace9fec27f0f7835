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

/* Text a spreadsheet or a person writes, read as China time; anything else
 * refused with the output untouched. */
static void test_parse(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_true(china_time_parse("2024-05-01", &ms));
    assert_int_equal(ms, MAY1_CN);
    assert_true(china_time_parse("2024/05/01 08:01", &ms));
    assert_int_equal(ms, MAY1_CN + 8 * 3600 * 1000LL + 60000);
    assert_true(china_time_parse("2024-05-01T08:01:01", &ms));
    assert_int_equal(ms, MAY1_CN + 8 * 3600 * 1000LL + 61000);
    assert_true(china_time_parse("2024-04-30 23:59:59", &ms));
    assert_int_equal(ms, MAY1_CN - 1000);
    assert_true(china_time_parse("2024-02-29", &ms));
    ms = 7;
    static const char *const bad[] = {"2023-02-29",
                                      "2024-13-01",
                                      "2024-00-10",
                                      "2024-04-31",
                                      "2024-05-01 24:00",
                                      "2024-05-01 08:60",
                                      "2024-05-01 08",
                                      "2024-05/01",
                                      "2024-05-01x",
                                      "昨天下午",
                                      "",
                                      "1969-12-31",
                                      "2024-05-01 08:00:60",
                                      "2100-02-29"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(china_time_parse(bad[i], &ms));
        assert_int_equal(ms, 7);
    }
    assert_false(china_time_parse(NULL, &ms));
    /* a date parameter: exactly yyyy-mm-dd, as its China day number */
    int64_t day = -1;
    assert_true(china_date_day("2024-05-01", &day));
    assert_int_equal(day, china_day(MAY1_CN));
    day = -1;
    assert_false(china_date_day("2024-05-01 08:00", &day));
    assert_false(china_date_day("2024/05/01", &day));
    assert_false(china_date_day("2024-5-1", &day));
    assert_false(china_date_day("2024-02-30", &day));
    assert_int_equal(day, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_dates_and_days),
        cmocka_unit_test(test_zone_independent),
    };
    return cmocka_run_group_tests_name("base/time", tests, NULL, NULL);
}

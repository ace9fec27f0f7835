/*
 * Unit tests of base/regcode: parsing, formatting, levels, subtree ranges,
 * parents and containment at every level, and malformed codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/regcode.h"

/* One written code per level, each the parent of the next. */
static const struct {
    const char *written;
    int64_t padded;
    enum region_level level;
    int64_t span; /* size of the subtree's range */
    const char *name, *label;
} chain[] = {
    {"110000000000", 110000000000000000LL, LEVEL_PROVINCE, 10000000000000000LL, "province", "省"},
    {"110100000000", 110100000000000000LL, LEVEL_CITY, 100000000000000LL, "city", "市"},
    {"110101000000", 110101000000000000LL, LEVEL_DISTRICT, 1000000000000LL, "district", "区县"},
    {"110101001000", 110101001000000000LL, LEVEL_STREET, 1000000000LL, "street", "街道"},
    {"110101001001", 110101001001000000LL, LEVEL_COMMUNITY, 1000000LL, "community", "社区"},
    {"110101001001001", 110101001001001000LL, LEVEL_GRID, 1000LL, "grid", "网格"},
    {"110101001001001001", 110101001001001001LL, LEVEL_BUILDING, 1LL, "building", "楼栋"},
};
#define NCHAIN (sizeof chain / sizeof chain[0])

static void parse_each_level(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHAIN; i++) {
        enum region_level lv = 0;
        assert_int_equal(regcode_parse(chain[i].written, &lv), chain[i].padded);
        assert_int_equal(lv, chain[i].level);
        assert_int_equal(regcode_level(chain[i].padded), chain[i].level);
    }
    /* the level output is optional */
    assert_int_equal(regcode_parse("110101001001", NULL), 110101001001000000LL);
}

static void format_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHAIN; i++) {
        char buf[19];
        regcode_format(chain[i].padded, buf);
        assert_string_equal(buf, chain[i].written);
        assert_int_equal(regcode_parse(buf, NULL), chain[i].padded);
    }
    /* other provinces, including the largest segment values */
    char buf[19];
    regcode_format(regcode_parse("659999999999", NULL), buf);
    assert_string_equal(buf, "659999999999");
    regcode_format(regcode_parse("999999999999999999", NULL), buf);
    assert_string_equal(buf, "999999999999999999");
}

static void digits_per_level(void **state)
{
    (void)state;
    static const int want[] = {0, 2, 4, 6, 9, 12, 15, 18};
    for (int lv = LEVEL_PROVINCE; lv <= LEVEL_BUILDING; lv++)
        assert_int_equal(regcode_digits((enum region_level)lv), want[lv]);
    assert_int_equal(regcode_digits(0), 0);
    assert_int_equal(regcode_digits((enum region_level)8), 0);
}

static void end_is_subtree_bound(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHAIN; i++)
        assert_int_equal(regcode_end(chain[i].padded), chain[i].padded + chain[i].span);
    /* the next sibling starts exactly at the end */
    assert_int_equal(regcode_end(regcode_parse("110101001000", NULL)),
                     regcode_parse("110101002000", NULL));
    assert_int_equal(regcode_end(regcode_parse("110101001001001", NULL)),
                     regcode_parse("110101001001002", NULL));
}

static void parent_per_level(void **state)
{
    (void)state;
    assert_int_equal(regcode_parent(chain[0].padded), 0);
    for (size_t i = 1; i < NCHAIN; i++)
        assert_int_equal(regcode_parent(chain[i].padded), chain[i - 1].padded);
    /* a street's parent is its district even with a non-zero last digit */
    assert_int_equal(regcode_parent(regcode_parse("110105123000", NULL)),
                     regcode_parse("110105000000", NULL));
    assert_int_equal(regcode_parent(0), 0);
    assert_int_equal(regcode_parent(-5), 0);
}

static void within_per_level(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHAIN; i++) {
        for (size_t j = 0; j < NCHAIN; j++)
            assert_int_equal(regcode_within(chain[j].padded, chain[i].padded), j >= i);
    }
    int64_t s1 = regcode_parse("110101001000", NULL), s2 = regcode_parse("110101002000", NULL);
    int64_t d2 = regcode_parse("110102000000", NULL);
    assert_false(regcode_within(s2, s1));
    assert_false(regcode_within(s1, s2));
    assert_false(regcode_within(d2, s1));
    assert_false(regcode_within(regcode_parse("110101002001", NULL), s1));
    assert_true(regcode_within(regcode_parse("110101001999", NULL), s1));
    /* the last building of the street is inside, the next street is not */
    assert_true(regcode_within(regcode_parse("110101001999999999", NULL), s1));
    assert_false(regcode_within(regcode_end(s1), s1));
}

static void malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        NULL,
        "",
        "11010100100",         /* 11 digits */
        "1101010010010",       /* 13 */
        "11010100100100",      /* 14 */
        "1101010010010010",    /* 16 */
        "11010100100100100",   /* 17 */
        "1101010010010010011", /* 19 */
        "11010100100a",        /* a letter */
        "11010100100 ",        /* a blank */
        " 110101001001",
        "-11010100100",
        "+11010100100",
        "110101001001\n",
        "000000000000",       /* no province */
        "001100000000",       /* a city under a zero province */
        "110000001000",       /* a street under a zero city and district */
        "110001001000",       /* a street under a zero district */
        "110100001000",       /* a street under a zero district */
        "110101000001",       /* a community under a zero street */
        "110101001000001",    /* a grid under a zero community */
        "110101001001000001", /* a building under a zero grid */
        "110101001001000",    /* 15 digits must name a grid */
        "110101001001001000", /* 18 digits must name a building */
        "110101001001000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum region_level lv = 99;
        assert_int_equal(regcode_parse(bad[i], &lv), -1);
        assert_int_equal(lv, 99); /* untouched on failure */
    }
    /* padded values that are not codes */
    assert_int_equal(regcode_level(0), 0);
    assert_int_equal(regcode_level(-1), 0);
    assert_int_equal(regcode_level(1000000000000000000LL), 0);
    assert_int_equal(regcode_level(110000001000000000LL), 0);
    assert_int_equal(regcode_level(1), 0); /* a building under zero everything */
}

static void level_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHAIN; i++) {
        assert_string_equal(region_level_name(chain[i].level), chain[i].name);
        assert_string_equal(region_level_label(chain[i].level), chain[i].label);
        assert_int_equal(region_level_parse(chain[i].name), chain[i].level);
    }
    assert_string_equal(region_level_name(0), "");
    assert_string_equal(region_level_label((enum region_level)8), "");
    assert_int_equal(region_level_parse("Province"), 0);
    assert_int_equal(region_level_parse(""), 0);
    assert_int_equal(region_level_parse(NULL), 0);
    assert_int_equal(region_level_parse("county"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_each_level), cmocka_unit_test(format_round_trips),
        cmocka_unit_test(digits_per_level), cmocka_unit_test(end_is_subtree_bound),
        cmocka_unit_test(parent_per_level), cmocka_unit_test(within_per_level),
        cmocka_unit_test(malformed),        cmocka_unit_test(level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

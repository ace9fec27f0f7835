/*
 * Unit tests of vehicle/vehicle.h plate validation (ordinary, special and
 * new-energy plates, normalisation) and of visitor/visitor.h window rules
 * and areas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/regcode.h"
#include "vehicle/vehicle.h"
#include "visitor/visitor.h"

static void plate_ok(const char *in, const char *want, bool nev)
{
    char out[PLATE_MAX];
    bool got_nev = !nev;
    assert_int_equal(plate_normalise(in, "plate", out, &got_nev), E_OK);
    assert_string_equal(out, want);
    assert_int_equal(got_nev, nev);
}

static void plate_bad(const char *in)
{
    char out[PLATE_MAX] = "untouched";
    assert_int_equal(plate_normalise(in, "plate", out, NULL), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_plate");
    assert_string_equal(err_last()->field, "plate");
    assert_string_equal(out, "untouched");
}

static void test_plates(void **state)
{
    (void)state;
    plate_ok("京A12345", "京A12345", false);
    plate_ok("粤b·8z9x2", "粤B8Z9X2", false);
    plate_ok(" 沪 A-123 45 ", "沪A12345", false);
    plate_ok("京A1234学", "京A1234学", false);
    plate_ok("粤Z1234港", "粤Z1234港", false);
    plate_ok("京AD12345", "京AD12345", true); /* small new-energy */
    plate_ok("京AFA1234", "京AFA1234", true); /* a letter after F */
    plate_ok("粤B12345D", "粤B12345D", true); /* large new-energy */
    plate_bad("");
    plate_bad(NULL);
    plate_bad("京A1234");      /* too short */
    plate_bad("京A123456");    /* 6 ordinary characters */
    plate_bad("XA12345");      /* no province */
    plate_bad("港A12345");     /* not a province abbreviation */
    plate_bad("京112345");     /* authority must be a letter */
    plate_bad("京A1234O");     /* O is not a serial letter */
    plate_bad("京A12I45");     /* nor I */
    plate_bad("京AD1234X");    /* small new-energy ends with digits */
    plate_bad("京A12345X");    /* large new-energy ends with D or F */
    plate_bad("京AA12345");    /* 8 characters without D/F */
    plate_bad("京A123456789"); /* far too long */
    plate_bad("京A1234挂挂");
}

#define H   3600000LL
#define NOW 1772330400000LL

static void test_windows(void **state)
{
    (void)state;
    assert_int_equal(visitor_window_check(NOW - H, NOW + H, NOW), E_OK);
    assert_int_equal(visitor_window_check(NOW + H, NOW + H, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_window");
    assert_int_equal(visitor_window_check(NOW, NOW + VISITOR_WINDOW_MAX_MS + 1, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "window_too_long");
    assert_int_equal(visitor_window_check(NOW, NOW + VISITOR_WINDOW_MAX_MS, NOW), E_OK);
    assert_int_equal(visitor_window_check(NOW - 2 * H, NOW, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "window_ended");
    assert_int_equal(
        visitor_window_check(NOW + VISITOR_AHEAD_MAX_MS + 1, NOW + VISITOR_AHEAD_MAX_MS + H, NOW),
        E_INPUT);
    assert_string_equal(err_last()->field, "valid_from");
    /* at the gate: the edges belong to the window */
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW), E_OK);
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW + H), E_OK);
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW - 1), E_CONFLICT);
    assert_string_equal(err_last()->slug, "visitor_window_not_started");
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW + H + 1), E_CONFLICT);
    assert_string_equal(err_last()->slug, "visitor_window_ended");
}

static void test_areas(void **state)
{
    (void)state;
    enum region_level lv;
    int64_t community = regcode_parse("110101001001", &lv);
    int64_t building = regcode_parse("110101001001001001", &lv);
    int64_t street = regcode_parse("110101001000", &lv);
    assert_true(community > 0 && building > 0 && street > 0);
    assert_int_equal(visitor_area(building), community);
    assert_int_equal(visitor_area(community), community);
    assert_int_equal(visitor_area(street), street);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plates),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_areas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

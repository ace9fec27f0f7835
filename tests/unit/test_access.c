/*
 * The scan policy (access_evaluate): colours, fever threshold, the
 * per-person limit, and the alerts each implies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "access/access.h"
#include "venue/venue.h"

static const struct access_policy gate = {VENUE_GREEN, 2, 24, 37.3};

static void green_passes(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, -1, 0);
    assert_true(d.pass);
    assert_int_equal(d.deny, 0);
    assert_int_equal(d.alerts, 0);
    d = access_evaluate(&gate, CODE_GREEN, 37.2, 1);
    assert_true(d.pass);
}

static void colour_denied_and_alerted(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_YELLOW, -1, 0);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_COLOUR);
    assert_int_equal(d.alerts, ACCESS_ALERT_COLOUR);
    /* a venue letting yellow through still alerts */
    struct access_policy market = {VENUE_GREEN | VENUE_YELLOW, 0, 0, 37.3};
    d = access_evaluate(&market, CODE_YELLOW, -1, 100);
    assert_true(d.pass);
    assert_int_equal(d.alerts, ACCESS_ALERT_COLOUR);
    d = access_evaluate(&market, CODE_RED, -1, 0);
    assert_false(d.pass);
}

static void fever_at_threshold(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, 37.3, 0);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_FEVER);
    assert_int_equal(d.alerts, ACCESS_ALERT_FEVER);
}

static void limit_counts(void **state)
{
    (void)state;
    assert_true(access_evaluate(&gate, CODE_GREEN, -1, 1).pass);
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, -1, 2);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_LIMIT);
    assert_int_equal(d.alerts, ACCESS_ALERT_LIMIT);
    struct access_policy none = {VENUE_GREEN, 0, 0, 37.3};
    assert_true(access_evaluate(&none, CODE_GREEN, -1, 1000).pass);
    /* several reasons at once, first one names the record */
    d = access_evaluate(&gate, CODE_RED, 39.0, 5);
    assert_int_equal(d.deny, ACCESS_DENY_COLOUR | ACCESS_DENY_FEVER | ACCESS_DENY_LIMIT);
    assert_string_equal(access_deny_slug(ACCESS_DENY_COLOUR), "colour_not_allowed");
}

static void names(void **state)
{
    (void)state;
    assert_int_equal(access_method_parse("self_scan"), ACCESS_SELF_SCAN);
    assert_int_equal(access_method_parse("x"), 0);
    assert_string_equal(access_method_name(ACCESS_DEVICE), "device");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(green_passes),
        cmocka_unit_test(colour_denied_and_alerted),
        cmocka_unit_test(fever_at_threshold),
        cmocka_unit_test(limit_counts),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The health-code engine without a database: every rule kind, the order of
 * the reasons, the worst colour, fever cleared by a later normal reading,
 * the time windows at their edges, and the rule definitions' checks.
 * tests/api/code.test.mjs runs the same rules end to end through HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "code/code.h"
#include "person/person.h"

#define H   ((int64_t)3600 * 1000)
#define DAY (24 * H)
#define NOW ((int64_t)1767225600000) /* 2026-01-01 00:00 UTC */

static struct code_rule R[CODE_RULES_MAX];
static size_t NR;

static int setup(void **state)
{
    (void)state;
    const struct code_rule *d = code_rules_default(&NR);
    memcpy(R, d, NR * sizeof *d);
    return 0;
}

static struct code_input fresh(void)
{
    struct code_input in;
    memset(&in, 0, sizeof in);
    in.now = NOW;
    in.status = PERSON_NORMAL;
    return in;
}

static size_t find(const char *key)
{
    for (size_t i = 0; i < NR; i++)
        if (!strcmp(R[i].key, key))
            return i;
    fail_msg("no rule %s", key);
    return 0;
}

/* Evaluate with the defaults; the keys of the matching rules joined by ','. */
static enum code_colour eval(const struct code_input *in, char *keys, size_t size)
{
    uint8_t m[CODE_RULES_MAX];
    size_t n;
    enum code_colour c = code_eval(R, NR, in, m, &n);
    keys[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(keys);
        snprintf(keys + used, size - used, "%s%s", i ? "," : "", R[m[i]].key);
    }
    return c;
}

#define EXPECT(in, colour, keys_expected)                                                          \
    do {                                                                                           \
        char k_[256];                                                                              \
        assert_int_equal(eval(&(in), k_, sizeof k_), (colour));                                    \
        assert_string_equal(k_, (keys_expected));                                                  \
    } while (0)

static void test_green_by_default(void **state)
{
    (void)state;
    struct code_input in = fresh();
    EXPECT(in, CODE_GREEN, "");
    /* the testing rule is off by default: nobody turns yellow for want of a test */
    assert_false(R[find("no_negative_test")].enabled);
}

static void test_case_status(void **state)
{
    (void)state;
    int red[] = {PERSON_CONFIRMED, PERSON_SUSPECTED, PERSON_ASYMPTOMATIC};
    for (size_t i = 0; i < 3; i++) {
        struct code_input in = fresh();
        in.status = red[i];
        EXPECT(in, CODE_RED, "case");
    }
    struct code_input in = fresh();
    in.status = PERSON_HOME_ISOLATION;
    EXPECT(in, CODE_RED, "isolation_status");
    in.status = PERSON_CURED;
    EXPECT(in, CODE_GREEN, "");
}

static void test_isolation_window(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.isolations[0] = (struct code_span){NOW - DAY, 0};
    in.n_isolations = 1;
    EXPECT(in, CODE_RED, "isolation");
    in.isolations[0].to = NOW; /* ended at this instant: released */
    EXPECT(in, CODE_GREEN, "");
    in.isolations[0].to = NOW + 1;
    EXPECT(in, CODE_RED, "isolation");
    in.isolations[0] = (struct code_span){NOW + 1, 0}; /* starts later */
    EXPECT(in, CODE_GREEN, "");
}

static void test_contacts(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.contacts[0] = (struct code_contact){2, NOW - H, 0};
    in.n_contacts = 1;
    EXPECT(in, CODE_YELLOW, "contact_2");
    in.contacts[1] = (struct code_contact){1, NOW - 14 * DAY, 0}; /* the window's first instant */
    in.n_contacts = 2;
    EXPECT(in, CODE_RED, "contact_1,contact_2");
    in.contacts[1].at = NOW - 14 * DAY - 1;
    EXPECT(in, CODE_YELLOW, "contact_2");
    in.contacts[0].end_at = NOW - 1; /* released */
    EXPECT(in, CODE_GREEN, "");
}

static void test_fever_then_normal(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.readings[0] = (struct code_reading){NOW - 2 * H, 37.3}; /* the threshold counts */
    in.n_readings = 1;
    EXPECT(in, CODE_YELLOW, "fever");
    in.readings[1] = (struct code_reading){NOW - H, 36.5}; /* a later normal reading clears it */
    in.n_readings = 2;
    EXPECT(in, CODE_GREEN, "");
    in.readings[2] = (struct code_reading){NOW - 30 * 60 * 1000, 38.2}; /* fever again */
    in.n_readings = 3;
    EXPECT(in, CODE_YELLOW, "fever");
    /* a normal reading earlier than the fever does not clear it */
    struct code_input x = fresh();
    x.readings[0] = (struct code_reading){NOW - H, 38.0};
    x.readings[1] = (struct code_reading){NOW - 3 * H, 36.4};
    x.n_readings = 2;
    EXPECT(x, CODE_YELLOW, "fever");
    x.readings[0].celsius = 37.2;
    EXPECT(x, CODE_GREEN, "");
}

static void test_fever_window_edges(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.readings[0] = (struct code_reading){NOW - 24 * H, 39.0};
    in.n_readings = 1;
    EXPECT(in, CODE_YELLOW, "fever");
    in.readings[0].at = NOW - 24 * H - 1;
    EXPECT(in, CODE_GREEN, "");
    /* the threshold is a parameter */
    R[find("fever")].threshold = 38.0;
    in.readings[0] = (struct code_reading){NOW - H, 37.8};
    EXPECT(in, CODE_GREEN, "");
    in.readings[0].celsius = 38.0;
    EXPECT(in, CODE_YELLOW, "fever");
    assert_true(code_fever_threshold(R, NR) == 38.0);
    R[find("fever")].threshold = 37.3;
}

static void test_risk_area_stays(void **state)
{
    (void)state;
    struct code_input in = fresh();
    /* a medium-risk area, risky since 20 days, left 14 days ago exactly */
    in.stays[0] = (struct code_stay){NOW - 16 * DAY, NOW - 14 * DAY, 1, NOW - 20 * DAY, 0};
    in.n_stays = 1;
    EXPECT(in, CODE_YELLOW, "risk_area_medium");
    in.stays[0].left_at = NOW - 14 * DAY - 1;
    EXPECT(in, CODE_GREEN, "");
    /* still there (left_at 0), a high-risk area: both stay rules match */
    in.stays[0] = (struct code_stay){NOW - DAY, 0, 2, NOW - 20 * DAY, 0};
    EXPECT(in, CODE_RED, "risk_area_high,risk_area_medium");
    /* the area became risky only after the person left */
    in.stays[0] = (struct code_stay){NOW - 5 * DAY, NOW - 4 * DAY, 2, NOW - 3 * DAY, 0};
    EXPECT(in, CODE_GREEN, "");
    /* the area stopped being risky before the person arrived */
    in.stays[0] = (struct code_stay){NOW - 5 * DAY, NOW - 4 * DAY, 2, NOW - 9 * DAY, NOW - 6 * DAY};
    EXPECT(in, CODE_GREEN, "");
}

static void test_negative_test(void **state)
{
    (void)state;
    size_t k = find("no_negative_test");
    R[k].enabled = true;
    struct code_input in = fresh();
    EXPECT(in, CODE_YELLOW, "no_negative_test");
    in.tests[0] = (struct code_test){CODE_TEST_NEGATIVE, NOW - 72 * H};
    in.n_tests = 1;
    EXPECT(in, CODE_GREEN, "");
    in.tests[0].sampled_at = NOW - 72 * H - 1;
    EXPECT(in, CODE_YELLOW, "no_negative_test");
    in.tests[0] =
        (struct code_test){CODE_TEST_POSITIVE, NOW - H}; /* a positive one is no negative */
    EXPECT(in, CODE_RED, "no_negative_test,positive_test");
    R[k].hours = 48;
    in.tests[0] = (struct code_test){CODE_TEST_NEGATIVE, NOW - 50 * H};
    EXPECT(in, CODE_YELLOW, "no_negative_test");
    R[k].hours = 72;
    R[k].enabled = false;
}

/* A positive result is red for `days` from its sampling, whatever follows. */
static void test_positive_test(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.tests[0] = (struct code_test){CODE_TEST_POSITIVE, NOW - 14 * DAY};
    in.n_tests = 1;
    EXPECT(in, CODE_RED, "positive_test");
    in.tests[0].sampled_at = NOW - 14 * DAY - 1;
    EXPECT(in, CODE_GREEN, "");
    in.tests[0].sampled_at = NOW + 1; /* sampled in the future: not yet */
    EXPECT(in, CODE_GREEN, "");
    /* a later negative does not clear a positive */
    in.tests[0] = (struct code_test){CODE_TEST_NEGATIVE, NOW - H};
    in.tests[1] = (struct code_test){CODE_TEST_POSITIVE, NOW - DAY};
    in.n_tests = 2;
    EXPECT(in, CODE_RED, "positive_test");
}

/* A positive pool is yellow until a test sampled after it answers: a
 * negative retest ends it (green), a positive one turns it into red. */
static void test_pool_positive(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.tests[0] = (struct code_test){CODE_TEST_POOL_POSITIVE, NOW - 14 * DAY};
    in.n_tests = 1;
    EXPECT(in, CODE_YELLOW, "pool_positive");
    in.tests[0].sampled_at = NOW - 14 * DAY - 1; /* out of the window */
    EXPECT(in, CODE_GREEN, "");
    /* an earlier negative leaves the mark */
    in.tests[0] = (struct code_test){CODE_TEST_POOL_POSITIVE, NOW - DAY};
    in.tests[1] = (struct code_test){CODE_TEST_NEGATIVE, NOW - DAY - 1};
    in.n_tests = 2;
    EXPECT(in, CODE_YELLOW, "pool_positive");
    /* the retest, sampled 1 ms after the pool, negative: back to green */
    in.tests[1] = (struct code_test){CODE_TEST_NEGATIVE, NOW - DAY + 1};
    EXPECT(in, CODE_GREEN, "");
    /* sampled at the same instant: the retest still wins */
    in.tests[1].sampled_at = NOW - DAY;
    EXPECT(in, CODE_GREEN, "");
    /* the retest positive: red by the positive rule, the pool mark gone */
    in.tests[1] = (struct code_test){CODE_TEST_POSITIVE, NOW - DAY + 1};
    EXPECT(in, CODE_RED, "positive_test");
    assert_int_equal(code_test_result_parse("pool_positive"), CODE_TEST_POOL_POSITIVE);
    assert_int_equal(code_test_result_parse("invalid"), 0);
}

static void test_zones(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.zones[0] = (struct code_zone){ZONE_CONTROLLED, NOW - DAY, 0};
    in.n_zones = 1;
    EXPECT(in, CODE_YELLOW, "controlled_zone");
    in.zones[1] = (struct code_zone){ZONE_SEALED, NOW, NOW + DAY};
    in.n_zones = 2;
    EXPECT(in, CODE_RED, "sealed_zone,controlled_zone");
    in.zones[1].valid_to = NOW; /* lifted */
    EXPECT(in, CODE_YELLOW, "controlled_zone");
    in.zones[0].kind = ZONE_PREVENTION; /* no default rule for a prevention zone */
    EXPECT(in, CODE_GREEN, "");
}

static void test_worst_colour_and_order(void **state)
{
    (void)state;
    struct code_input in = fresh();
    in.readings[0] = (struct code_reading){NOW - H, 38.5};
    in.n_readings = 1;
    in.zones[0] = (struct code_zone){ZONE_SEALED, NOW - DAY, 0};
    in.n_zones = 1;
    in.status = PERSON_CONFIRMED;
    EXPECT(in, CODE_RED, "case,fever,sealed_zone");
    /* a disabled rule does not count; reasons follow the rule order */
    R[find("case")].enabled = false;
    R[find("sealed_zone")].enabled = false;
    EXPECT(in, CODE_YELLOW, "fever");
    R[find("case")].enabled = true;
    R[find("sealed_zone")].enabled = true;
    /* reordering the list reorders the reasons */
    size_t c = find("case"), z = find("sealed_zone");
    struct code_rule tmp = R[c];
    R[c] = R[z];
    R[z] = tmp;
    EXPECT(in, CODE_RED, "sealed_zone,fever,case");
    setup(NULL);
}

static void test_reasons_text(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    uint8_t m[2] = {(uint8_t)find("contact_1"), (uint8_t)find("fever")};
    const char *t = code_reasons_text(a, R, m, 2);
    json_t *v = json_loads(t, 0, NULL);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "rule")),
                        "contact_1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "colour")), "red");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "text")),
                        "14天内为密切接触者");
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "text")),
                        "24小时内体温达到37.3℃及以上，之后无正常体温记录");
    json_decref(v);
    assert_string_equal(code_reasons_text(a, R, m, 0), "[]");
    char buf[256];
    code_rule_text(&R[find("case")], buf, sizeof buf);
    assert_string_equal(buf, "人员状态为疑似、确诊、无症状");
    arena_free(&a);
}

/* Each default rule survives its JSON form unchanged. */
static void test_rule_json_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NR; i++) {
        json_t *o = code_rule_json(&R[i]);
        struct code_rule r;
        assert_int_equal(code_rule_from_json(o, i, &r), E_OK);
        json_decref(o);
        assert_string_equal(r.key, R[i].key);
        assert_int_equal(r.kind, R[i].kind);
        assert_int_equal(r.colour, R[i].colour);
        assert_int_equal(r.enabled, R[i].enabled);
        assert_int_equal(r.statuses, R[i].statuses);
        assert_int_equal(r.degree, R[i].degree);
        assert_int_equal(r.hours, R[i].hours);
        assert_int_equal(r.days, R[i].days);
        assert_int_equal(r.level, R[i].level);
        assert_int_equal(r.zone, R[i].zone);
        assert_true(r.threshold == R[i].threshold);
    }
}

static void bad_rule(const char *text, const char *slug, const char *field)
{
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    struct code_rule r;
    assert_int_equal(code_rule_from_json(o, 2, &r), E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
    json_decref(o);
}

static void test_invalid_rules(void **state)
{
    (void)state;
    bad_rule("{\"key\":\"x\",\"kind\":\"astrology\",\"colour\":\"red\"}", "invalid_value",
             "rules[2].kind");
    bad_rule("{\"key\":\"X y\",\"kind\":\"in_isolation\",\"colour\":\"red\"}", "invalid_value",
             "rules[2].key");
    bad_rule("{\"key\":\"x\",\"kind\":\"in_isolation\",\"colour\":\"green\"}", "invalid_value",
             "rules[2].colour");
    bad_rule("{\"key\":\"x\",\"kind\":\"in_isolation\",\"colour\":\"red\",\"extra\":1}",
             "unknown_field", "rules[2].extra");
    bad_rule("{\"key\":\"x\",\"kind\":\"contact_degree\",\"colour\":\"red\",\"params\":{\"degree\":"
             "3,\"days\":14}}",
             "out_of_range", "rules[2].params.degree");
    bad_rule("{\"key\":\"x\",\"kind\":\"contact_degree\",\"colour\":\"red\",\"params\":{\"degree\":"
             "1}}",
             "required", "rules[2].params.days");
    bad_rule("{\"key\":\"x\",\"kind\":\"fever_within_hours\",\"colour\":\"yellow\",\"params\":{"
             "\"hours\":24,\"threshold\":\"hot\"}}",
             "out_of_range", "rules[2].params.threshold");
    bad_rule(
        "{\"key\":\"x\",\"kind\":\"in_isolation\",\"colour\":\"red\",\"params\":{\"hours\":1}}",
        "unknown_field", "rules[2].params.hours");
    bad_rule("{\"key\":\"x\",\"kind\":\"case_status\",\"colour\":\"red\",\"params\":{\"statuses\":["
             "\"zombie\"]}}",
             "invalid_value", "rules[2].params.statuses");
    bad_rule("{\"key\":\"x\",\"kind\":\"lives_in_zone\",\"colour\":\"red\",\"params\":{\"zone\":"
             "\"moon\"}}",
             "invalid_value", "rules[2].params.zone");
    bad_rule("{\"key\":\"x\",\"kind\":\"risk_area_stay\",\"colour\":\"red\",\"params\":{\"level\":"
             "\"low\",\"days\":14}}",
             "invalid_value", "rules[2].params.level");
}

static void test_window(void **state)
{
    (void)state;
    /* the loader reads far enough back for the longest rule */
    assert_true(code_inputs_window_ms(R, NR) >= 14 * DAY);
    R[find("no_negative_test")].hours = 720;
    assert_true(code_inputs_window_ms(R, NR) >= 30 * DAY);
    setup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_green_by_default),
        cmocka_unit_test(test_case_status),
        cmocka_unit_test(test_isolation_window),
        cmocka_unit_test(test_contacts),
        cmocka_unit_test(test_fever_then_normal),
        cmocka_unit_test(test_fever_window_edges),
        cmocka_unit_test(test_risk_area_stays),
        cmocka_unit_test(test_negative_test),
        cmocka_unit_test(test_positive_test),
        cmocka_unit_test(test_pool_positive),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_worst_colour_and_order),
        cmocka_unit_test(test_reasons_text),
        cmocka_unit_test(test_rule_json_round_trip),
        cmocka_unit_test(test_invalid_rules),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

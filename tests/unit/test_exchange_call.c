/*
 * Unit tests of the pure parts of a signed call (exchange/internal.h,
 * exchange.h): the timestamp window at its exact edges, the query of a
 * read as the operation's input, a caller row's region list, and the
 * checks of a caller's registration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"

static void test_timestamp_window(void **state)
{
    (void)state;
    const int64_t now = 1700000000000, skew = 300000;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)(now - skew));
    assert_true(exchange_timestamp_ok(buf, now, skew)); /* the edges are inside */
    snprintf(buf, sizeof buf, "%lld", (long long)(now + skew));
    assert_true(exchange_timestamp_ok(buf, now, skew));
    snprintf(buf, sizeof buf, "%lld", (long long)(now - skew - 1));
    assert_false(exchange_timestamp_ok(buf, now, skew));
    snprintf(buf, sizeof buf, "%lld", (long long)(now + skew + 1));
    assert_false(exchange_timestamp_ok(buf, now, skew));
    snprintf(buf, sizeof buf, "%lld", (long long)now);
    assert_true(exchange_timestamp_ok(buf, now, skew));
    /* anything but plain digits */
    assert_false(exchange_timestamp_ok("", now, skew));
    assert_false(exchange_timestamp_ok("+1700000000000", now, skew));
    assert_false(exchange_timestamp_ok(" 1700000000000", now, skew));
    assert_false(exchange_timestamp_ok("1700000000000 ", now, skew));
    assert_false(exchange_timestamp_ok("1.7e12", now, skew));
    assert_false(exchange_timestamp_ok("99999999999999999999", now, skew));
    assert_false(exchange_timestamp_ok("1700000000", now, skew)); /* seconds, not ms */
}

static void test_query_object(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    json_t *o = NULL;
    assert_int_equal(exchange_query_object(
                         a, "region=110101&q=%E4%B8%9C+%E5%9F%8E&&cursor=5&region=2&=x&flag", &o),
                     E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "region")), "2");
    assert_string_equal(json_string_value(json_object_get(o, "q")), "东 城");
    assert_string_equal(json_string_value(json_object_get(o, "cursor")), "5");
    assert_string_equal(json_string_value(json_object_get(o, "flag")), "");
    assert_int_equal(json_object_size(o), 4); /* the empty name dropped */
    json_decref(o);
    /* a truncated escape stays as sent */
    assert_int_equal(exchange_query_object(a, "a=%4&b=%zz&c=%", &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "a")), "%4");
    assert_string_equal(json_string_value(json_object_get(o, "b")), "%zz");
    assert_string_equal(json_string_value(json_object_get(o, "c")), "%");
    json_decref(o);
    assert_int_equal(exchange_query_object(a, NULL, &o), E_OK);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
    /* not UTF-8: refused, naming the query */
    assert_int_equal(exchange_query_object(a, "q=%FF%FE", &o), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_parameter");
    assert_int_equal(exchange_query_object(a, "%FF=1", &o), E_INPUT);
    arena_free(&a);
}

static void test_regions_parse(void **state)
{
    (void)state;
    int64_t out[EXCHANGE_REGIONS_MAX];
    assert_int_equal(exchange_regions_parse("110101000000000000,110102001000000000", out, 8), 2);
    assert_true(out[0] == 110101000000000000LL && out[1] == 110102001000000000LL);
    assert_int_equal(exchange_regions_parse("", out, 8), 0);
    assert_int_equal(exchange_regions_parse("1,2,3", out, 2), 2); /* bounded */
    assert_int_equal(exchange_regions_parse("7,x", out, 8), 1);
}

static json_t *caller(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[s,s],s:[s],s:i}", "name", "政务平台",
                     "organisation", "政务服务局", "contact_name", "王工", "contact_phone",
                     "13800138000", "regions", "110101000000", "read", "persons", "cases", "write",
                     "nat", "rate_per_min", 60);
}

/* Read-only regions: optional (0..8, distinct, codes), set on a create
 * even when absent (none), only when named on an update; a reader's check
 * covers them, a writer's does not. */
static void test_read_regions(void **state)
{
    (void)state;
    struct exchange_caller_input in;
    json_t *b = caller();
    assert_int_equal(exchange_caller_parse(b, false, &in), E_OK);
    assert_true(in.set & EXCHANGE_SET_READ_REGIONS);
    assert_int_equal(in.nread_regions, 0);
    json_object_set_new(b, "read_regions", json_pack("[s,s]", "110101000000", "110102000000"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_OK);
    assert_int_equal(in.nread_regions, 2);
    assert_int_equal(in.read_regions[1], 110102000000000000LL);
    json_object_set_new(b, "read_regions", json_pack("[s,s]", "110101000000", "110101000000"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    assert_string_equal(err_last()->field, "read_regions");
    json_object_set_new(b, "read_regions", json_pack("[i]", 110101));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_region");
    json_object_set_new(b, "read_regions", json_string("110101000000"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_type");
    json_decref(b);
    b = json_pack("{s:i}", "rate_per_min", 5);
    assert_int_equal(exchange_caller_parse(b, true, &in), E_OK);
    assert_false(in.set & EXCHANGE_SET_READ_REGIONS);
    json_object_set_new(b, "read_regions", json_pack("[]"));
    assert_int_equal(exchange_caller_parse(b, true, &in), E_OK);
    assert_true(in.set & EXCHANGE_SET_READ_REGIONS);
    json_decref(b);
    /* the checks of a call */
    struct exchange_caller c = {.nregions = 1,
                                .regions = {110101001000000000LL},
                                .nread_regions = 1,
                                .read_regions = {110101000000000000LL}};
    assert_true(exchange_caller_has_region(&c, 110101001001000000LL));
    assert_true(exchange_caller_reads_region(&c, 110101001001000000LL));
    assert_false(exchange_caller_has_region(&c, 110101002001000000LL)); /* read-only */
    assert_true(exchange_caller_reads_region(&c, 110101002001000000LL));
    assert_false(exchange_caller_reads_region(&c, 110102001001000000LL)); /* neither */
    assert_false(exchange_caller_reads_region(&c, 110100000000000000LL)); /* above */
}

static void test_caller_parse(void **state)
{
    (void)state;
    struct exchange_caller_input in;
    json_t *b = caller();
    assert_int_equal(exchange_caller_parse(b, false, &in), E_OK);
    assert_int_equal(in.nregions, 1);
    assert_int_equal(in.read_sets, (1u << DS_PERSONS) | (1u << DS_CASES));
    assert_int_equal(in.write_sets, 1u << DS_NAT);
    assert_int_equal(in.rate_per_min, 60);
    assert_int_equal(in.expires_at, 0);
    /* every field at fault at once */
    json_object_set_new(b, "name", json_string(""));
    json_object_set_new(b, "read", json_pack("[s]", "secrets"));
    json_object_set_new(b, "rate_per_min", json_integer(0));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    assert_string_equal(err_last()->field, "name");
    assert_int_equal(err_last()->nmore, 2);
    json_decref(b);
    /* regions: 1..8, distinct, codes */
    b = caller();
    json_object_set_new(b, "regions", json_pack("[]"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    assert_string_equal(err_last()->slug, "out_of_range");
    json_object_set_new(b, "regions", json_pack("[s,s]", "110101000000", "110101000000"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    json_object_set_new(
        b, "regions",
        json_pack("[s,s,s,s,s,s,s,s,s]", "11", "12", "13", "14", "15", "21", "22", "23", "31"));
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    json_decref(b);
    /* an update takes only what it names; unknown members are refused */
    b = json_pack("{s:i}", "rate_per_min", 5);
    assert_int_equal(exchange_caller_parse(b, true, &in), E_OK);
    assert_int_equal(in.set, EXCHANGE_SET_RATE);
    json_object_set_new(b, "secret", json_true());
    assert_int_equal(exchange_caller_parse(b, true, &in), E_INPUT);
    assert_string_equal(err_last()->slug, "unknown_field");
    json_decref(b);
    /* a create needs every required member */
    b = json_pack("{s:s}", "name", "x");
    assert_int_equal(exchange_caller_parse(b, false, &in), E_INPUT);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamp_window), cmocka_unit_test(test_query_object),
        cmocka_unit_test(test_regions_parse),    cmocka_unit_test(test_caller_parse),
        cmocka_unit_test(test_read_regions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

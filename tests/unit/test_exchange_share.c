/*
 * Unit tests of 共享互认's pure parts (exchange/share.c): the node lists of
 * peers (exchange_nodes_parse, exchange_nodes_has) and the answer cache:
 * kept until its deadline, bounded, least recently used out first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "exchange/exchange.h"
#include "exchange/internal.h"

static void test_nodes_parse(void **state)
{
    (void)state;
    char out[EXCHANGE_NODES_MAX + 1];
    static const struct {
        const char *in, *want;
    } good[] = {
        {"32", "32"},
        {" 32 , 40 - 47 ", "32,40-47"},
        {"0,1023", "0,1023"},
        {"5-5", "5"},
        {"", ""},
        {"1,2,3", "1,2,3"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(exchange_nodes_parse(good[i].in, out), E_OK);
        assert_string_equal(out, good[i].want);
    }
    assert_int_equal(exchange_nodes_parse(NULL, out), E_OK);
    assert_string_equal(out, "");
    static const char *const bad[] = {"abc", "40-32", "1024", "3,,4", "-1",          "3,", ",3",
                                      "3-",  "3-4-5", "+3",   "3;4",  "99999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(exchange_nodes_parse(bad[i], out), E_INPUT);
        assert_string_equal(err_last()->slug, "invalid_nodes");
        assert_string_equal(err_last()->field, "nodes");
    }
    /* too long a list, though every item is valid */
    char longer[4 * EXCHANGE_NODES_MAX];
    size_t n = 0;
    for (int i = 100; n + 5 < sizeof longer && i < 1000; i++)
        n += (size_t)snprintf(longer + n, sizeof longer - n, "%s%d", n ? "," : "", i);
    assert_int_equal(exchange_nodes_parse(longer, out), E_INPUT);
}

static void test_nodes_has(void **state)
{
    (void)state;
    assert_true(exchange_nodes_has("32", 32));
    assert_false(exchange_nodes_has("32", 3));
    assert_false(exchange_nodes_has("32", 320));
    assert_true(exchange_nodes_has("32,40-47", 40));
    assert_true(exchange_nodes_has("32,40-47", 44));
    assert_true(exchange_nodes_has("32,40-47", 47));
    assert_false(exchange_nodes_has("32,40-47", 48));
    assert_false(exchange_nodes_has("32,40-47", 39));
    assert_false(exchange_nodes_has("", 0));
    assert_false(exchange_nodes_has(NULL, 0));
    assert_true(exchange_nodes_has("0", 0));
}

static json_t *answer(int i)
{
    return json_pack("{s:i,s:s}", "n", i, "colour", "green");
}

static void test_cache(void **state)
{
    (void)state;
    exchange_share_cache_clear();
    assert_int_equal(exchange_share_cache_size(), 0);
    json_t *a = answer(1);
    exchange_share_cache_put("FK1.TOKENA", a, 2000);
    json_decref(a);
    json_t *got = exchange_share_cache_get("FK1.TOKENA", 1999);
    assert_non_null(got);
    assert_int_equal(json_integer_value(json_object_get(got, "n")), 1);
    json_decref(got);
    /* at its deadline it is gone; another token was never there */
    assert_null(exchange_share_cache_get("FK1.TOKENA", 2000));
    assert_null(exchange_share_cache_get("FK1.TOKENB", 0));
    /* a newer answer for the same token replaces the old */
    a = answer(2);
    exchange_share_cache_put("FK1.TOKENA", a, 5000);
    json_decref(a);
    got = exchange_share_cache_get("FK1.TOKENA", 3000);
    assert_int_equal(json_integer_value(json_object_get(got, "n")), 2);
    json_decref(got);
    assert_int_equal(exchange_share_cache_size(), 1);

    /* bounded: twice the capacity put, at most the capacity kept, and the
     * one used all along survives its set's evictions */
    char t[32];
    for (int i = 0; i < 2 * SHARE_CACHE_MAX; i++) {
        snprintf(t, sizeof t, "FK1.T%d", i);
        a = answer(i);
        exchange_share_cache_put(t, a, 10000);
        json_decref(a);
        json_decref(exchange_share_cache_get("FK1.TOKENA", 3000)); /* recently used */
    }
    assert_true(exchange_share_cache_size() <= SHARE_CACHE_MAX);
    assert_true(exchange_share_cache_size() > SHARE_CACHE_MAX / 2);
    got = exchange_share_cache_get("FK1.TOKENA", 3000);
    assert_non_null(got);
    json_decref(got);
    snprintf(t, sizeof t, "FK1.T%d", 2 * SHARE_CACHE_MAX - 1);
    got = exchange_share_cache_get(t, 3000);
    assert_non_null(got); /* the newest is kept */
    json_decref(got);
    exchange_share_cache_clear();
    assert_int_equal(exchange_share_cache_size(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_parse),
        cmocka_unit_test(test_nodes_has),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

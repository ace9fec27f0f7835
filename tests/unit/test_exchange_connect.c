/*
 * Unit tests of the connectors' readers of outside answers
 * (exchange/connect.h): the telecom operator's places (dates, window edges,
 * limits), a row of the situation source, a platform's answer. Each
 * accepting case has its refused neighbour, so no check passes vacuously.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/time.h"
#include "exchange/connect.h"

static json_t *parse(const char *text)
{
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    return o;
}

/* The telecom places of a window ending at now (2026-12-05 12:00 China). */
static bool places(const char *text, size_t *n_r, struct itinerary_span **sp_r)
{
    int64_t now;
    assert_true(china_time_parse("2026-12-05 12:00:00", &now));
    static arena *a;
    if (!a)
        a = arena_new(4096);
    json_t *o = parse(text);
    struct itinerary_span *sp = NULL;
    size_t n = 0;
    bool ok =
        telecom_places_parse(a, json_object_get(o, "places"), now - 14 * 86400000LL, now, &sp, &n);
    json_decref(o);
    if (n_r)
        *n_r = n;
    if (sp_r)
        *sp_r = sp;
    return ok;
}

static void test_telecom_places(void **state)
{
    (void)state;
    size_t n;
    struct itinerary_span *sp;
    assert_true(
        places("{\"places\":[{\"name\":\"上海市\",\"from\":\"2026-12-01\",\"to\":\"2026-12-02\"}]}",
               &n, &sp));
    assert_int_equal(n, 1);
    assert_string_equal(sp[0].place, "上海市");
    int64_t from, to;
    assert_true(china_time_parse("2026-12-01", &from));
    assert_true(china_time_parse("2026-12-03", &to));
    assert_int_equal(sp[0].from, from);
    assert_int_equal(sp[0].to, to - 1); /* the last day, inclusive, to its last millisecond */
    /* none visited: an empty list is an answer */
    assert_true(places("{\"places\":[]}", &n, NULL));
    assert_int_equal(n, 0);
    /* the window's edges: today is in, tomorrow is not; 2026-11-20 (its
     * last day ends inside the grace day before the window) in, 2026-11-19 out */
    assert_true(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-12-05\",\"to\":\"2026-12-05\"}]}",
               NULL, NULL));
    assert_false(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-12-06\",\"to\":\"2026-12-06\"}]}",
               NULL, NULL));
    assert_true(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-11-20\",\"to\":\"2026-11-20\"}]}",
               NULL, NULL));
    assert_false(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-11-19\",\"to\":\"2026-11-19\"}]}",
               NULL, NULL));
    /* malformed: not a list, no name, a bad date, to before from */
    assert_false(places("{\"places\":\"上海市\"}", NULL, NULL));
    assert_false(places("{}", NULL, NULL));
    assert_false(
        places("{\"places\":[{\"from\":\"2026-12-01\",\"to\":\"2026-12-01\"}]}", NULL, NULL));
    assert_false(
        places("{\"places\":[{\"name\":\"\",\"from\":\"2026-12-01\",\"to\":\"2026-12-01\"}]}", NULL,
               NULL));
    assert_false(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-02-30\",\"to\":\"2026-12-01\"}]}",
               NULL, NULL));
    assert_false(
        places("{\"places\":[{\"name\":\"A\",\"from\":\"2026-12-02\",\"to\":\"2026-12-01\"}]}",
               NULL, NULL));
    /* at most TELECOM_PLACES_MAX places */
    char big[16384];
    size_t off = (size_t)snprintf(big, sizeof big, "{\"places\":[");
    for (int i = 0; i < TELECOM_PLACES_MAX + 1; i++)
        off += (size_t)snprintf(
            big + off, sizeof big - off,
            "%s{\"name\":\"C%d\",\"from\":\"2026-12-01\",\"to\":\"2026-12-01\"}", i ? "," : "", i);
    snprintf(big + off, sizeof big - off, "]}");
    assert_false(places(big, NULL, NULL));
    /* one fewer is accepted */
    char *last = strrchr(big, '{');
    snprintf(last - 1, sizeof big - (size_t)(last - 1 - big), "]}");
    assert_true(places(big, &n, NULL));
    assert_int_equal(n, TELECOM_PLACES_MAX);
}

static bool row(const char *text)
{
    json_t *o = parse(text);
    struct situation_row r;
    bool ok = situation_row_parse(o, &r);
    json_decref(o);
    return ok;
}

#define COUNTS "\"suspected\":0,\"cured\":1,\"deaths\":0,\"asymptomatic\":0,\"new_confirmed\":2"

static void test_situation_row(void **state)
{
    (void)state;
    json_t *o = parse("{\"area\":\"000000\",\"area_name\":\"全国\",\"day\":\"2026-12-01\","
                      "\"confirmed\":5," COUNTS "}");
    struct situation_row r;
    assert_true(situation_row_parse(o, &r));
    assert_string_equal(r.area, "000000");
    assert_int_equal(r.v[0], 5);
    assert_int_equal(r.v[2], 1);
    assert_int_equal(r.v[5], 2);
    json_decref(o);
    assert_true(row("{\"area\":\"310000\",\"area_name\":\"上海市\",\"day\":\"2026-12-01\","
                    "\"confirmed\":0," COUNTS "}"));
    /* a city, not a province; a code of letters; too short */
    assert_false(row("{\"area\":\"310100\",\"area_name\":\"上海市\",\"day\":\"2026-12-01\","
                     "\"confirmed\":0," COUNTS "}"));
    assert_false(row("{\"area\":\"ab0000\",\"area_name\":\"x\",\"day\":\"2026-12-01\","
                     "\"confirmed\":0," COUNTS "}"));
    assert_false(row("{\"area\":\"31000\",\"area_name\":\"x\",\"day\":\"2026-12-01\","
                     "\"confirmed\":0," COUNTS "}"));
    /* a negative count, a fraction, a missing count, a bad day, no name */
    assert_false(row("{\"area\":\"000000\",\"area_name\":\"全国\",\"day\":\"2026-12-01\","
                     "\"confirmed\":-1," COUNTS "}"));
    assert_false(row("{\"area\":\"000000\",\"area_name\":\"全国\",\"day\":\"2026-12-01\","
                     "\"confirmed\":1.5," COUNTS "}"));
    assert_false(
        row("{\"area\":\"000000\",\"area_name\":\"全国\",\"day\":\"2026-12-01\"," COUNTS "}"));
    assert_false(row("{\"area\":\"000000\",\"area_name\":\"全国\",\"day\":\"2026-12-32\","
                     "\"confirmed\":1," COUNTS "}"));
    assert_false(row("{\"area\":\"000000\",\"day\":\"2026-12-01\",\"confirmed\":1," COUNTS "}"));
}

static bool answer(const char *text)
{
    json_t *o = parse(text);
    bool ok = platform_answer_ok(o);
    json_decref(o);
    return ok;
}

static void test_platform_answer(void **state)
{
    (void)state;
    assert_true(answer("{\"platform\":\"邻市\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                       "\"figures\":[{\"label\":\"确诊\",\"value\":3}]}"));
    assert_true(answer("{\"platform\":\"邻市\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                       "\"figures\":[],\"trend\":[{\"label\":\"新增\",\"points\":[{\"date\":"
                       "\"2026-12-04\",\"value\":1}]}]}"));
    /* no platform name; figures not a list; a figure without a value; a
     * trend point with a bad date */
    assert_false(answer("{\"platform\":\"\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                        "\"figures\":[]}"));
    assert_false(answer("{\"platform\":\"邻市\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                        "\"figures\":{}}"));
    assert_false(answer("{\"platform\":\"邻市\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                        "\"figures\":[{\"label\":\"确诊\"}]}"));
    assert_false(answer("{\"platform\":\"邻市\",\"region_name\":\"邻市\",\"date\":\"2026-12-04\","
                        "\"figures\":[],\"trend\":[{\"label\":\"新增\",\"points\":[{\"date\":"
                        "\"12/04\",\"value\":1}]}]}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telecom_places),
        cmocka_unit_test(test_situation_row),
        cmocka_unit_test(test_platform_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

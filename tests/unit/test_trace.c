/*
 * Unit tests of trace/trace.h's pure rules: flight and train numbers at
 * the edges of their formats, and a trip body's checks (the return on the
 * day of departure and the day before, 50 and 51 waypoints, stays of 1440
 * and 1441 minutes, the field each error names); contact tracing's seat
 * rows, overlaps, interval merging and rule ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "trace/trace.h"

static void number_ok(enum trip_mode m, const char *in, const char *want)
{
    char out[TRIP_NUMBER_OUT];
    err e = trip_number_normalise(m, in, "out.number", out);
    if (e)
        fail_msg("%s refused: %s", in, err_last()->message);
    assert_string_equal(out, want);
}

static void number_bad(enum trip_mode m, const char *in)
{
    char out[TRIP_NUMBER_OUT] = "untouched";
    if (trip_number_normalise(m, in, "back.number", out) != E_INPUT)
        fail_msg("%s accepted as %s", in, out);
    assert_string_equal(err_last()->slug, "invalid_number");
    assert_string_equal(err_last()->field, "back.number");
    assert_string_equal(out, "untouched");
}

static void test_flights(void **state)
{
    (void)state;
    number_ok(TRIP_FLIGHT, "CA1234", "CA1234");
    number_ok(TRIP_FLIGHT, "mu5101", "MU5101");
    number_ok(TRIP_FLIGHT, "3U8888", "3U8888"); /* a digit first, a letter second */
    number_ok(TRIP_FLIGHT, "9C1", "9C1");       /* one digit */
    number_ok(TRIP_FLIGHT, "CA0", "CA0");       /* zero alone */
    number_ok(TRIP_FLIGHT, "HU7181A", "HU7181A");
    number_ok(TRIP_FLIGHT, "", "");
    number_bad(TRIP_FLIGHT, "CA");       /* no digits */
    number_bad(TRIP_FLIGHT, "CA12345");  /* five digits */
    number_bad(TRIP_FLIGHT, "CA01");     /* a leading zero */
    number_bad(TRIP_FLIGHT, "12345");    /* no airline letter */
    number_bad(TRIP_FLIGHT, "CA12AB");   /* two suffix letters */
    number_bad(TRIP_FLIGHT, "CA 123");   /* a space */
    number_bad(TRIP_FLIGHT, "ＣＡ1234"); /* full-width letters */
    number_bad(TRIP_FLIGHT, "CA1234AB9");
}

static void test_trains(void **state)
{
    (void)state;
    number_ok(TRIP_TRAIN, "G123", "G123");
    number_ok(TRIP_TRAIN, "d7", "D7");
    number_ok(TRIP_TRAIN, "K1234", "K1234");
    number_ok(TRIP_TRAIN, "Z1", "Z1");
    number_ok(TRIP_TRAIN, "T8", "T8");
    number_ok(TRIP_TRAIN, "C2001", "C2001");
    number_ok(TRIP_TRAIN, "Y1", "Y1");
    number_ok(TRIP_TRAIN, "1461", "1461"); /* an ordinary train: digits only */
    number_bad(TRIP_TRAIN, "G");           /* no digits */
    number_bad(TRIP_TRAIN, "G12345");      /* five digits */
    number_bad(TRIP_TRAIN, "G0");          /* a leading zero */
    number_bad(TRIP_TRAIN, "X123");        /* not a class of train */
    number_bad(TRIP_TRAIN, "GD12");
    number_bad(TRIP_TRAIN, "12345");
    /* other modes take any short text as it is */
    number_ok(TRIP_COACH, "京沪线 08:30", "京沪线 08:30");
    number_ok(TRIP_SHIP, "ab12", "ab12");
    /* twenty characters of three bytes each fit the output (the fuzzer's find) */
    number_ok(TRIP_COACH, "探亲探亲探亲探亲探亲探亲探亲探亲探亲探亲",
              "探亲探亲探亲探亲探亲探亲探亲探亲探亲探亲");
    char out[TRIP_NUMBER_OUT];
    assert_int_equal(trip_number_normalise(TRIP_COACH, "探亲探亲探亲探亲探亲探亲探亲探亲探亲探亲探",
                                           "out.number", out),
                     E_INPUT);
    assert_string_equal(err_last()->slug, "too_long");
}

/* A trip body's rules: apply then check, E_OK or the slug and field. */
static err body(arena *a, const char *text, struct trip *t_r)
{
    json_error_t je;
    json_t *b = json_loads(text, 0, &je);
    assert_non_null(b);
    struct trip t = {0};
    err e = trip_apply_json(a, b, &t);
    if (!e)
        e = trip_check(&t);
    json_decref(b);
    if (t_r)
        *t_r = t;
    return e;
}

static void expect(arena *a, const char *text, const char *slug, const char *field)
{
    if (body(a, text, NULL) != E_INPUT)
        fail_msg("accepted: %s", text);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
}

#define HEAD "{\"person_id\":\"7\",\"destination\":\"上海\",\"out\":{\"mode\":\"train\"},"

static char *waypoints(arena *a, int n, int stay)
{
    char *s = arena_printf(a, HEAD "\"departed_on\":\"2026-11-20\",\"waypoints\":[");
    for (int i = 0; i < n; i++)
        s = arena_printf(a, "%s%s{\"kind\":\"park\",\"place\":\"公园%d\",\"stay_minutes\":%d}", s,
                         i ? "," : "", i, stay);
    return arena_printf(a, "%s]}", s);
}

static void test_trip_rules(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    struct trip t;
    /* the return on the day of departure is fine, the day before is not */
    assert_int_equal(
        body(a, HEAD "\"departed_on\":\"2026-11-20\",\"returned_on\":\"2026-11-20\"}", &t), E_OK);
    assert_int_equal(t.departed_on, 20261120);
    assert_int_equal(t.returned_on, 20261120);
    expect(a, HEAD "\"departed_on\":\"2026-11-20\",\"returned_on\":\"2026-11-19\"}",
           "invalid_range", "returned_on");
    /* 50 waypoints and a stay of a whole day are fine; 51 or a minute more are not */
    assert_int_equal(body(a, waypoints(a, TRIP_WAYPOINTS_MAX, TRIP_STAY_MAX), &t), E_OK);
    assert_int_equal(t.n_waypoints, 50);
    assert_int_equal(t.waypoints[49].stay_minutes, 1440);
    expect(a, waypoints(a, TRIP_WAYPOINTS_MAX + 1, 0), "too_many_waypoints", "waypoints");
    expect(a, waypoints(a, 2, TRIP_STAY_MAX + 1), "out_of_range", "waypoints[0].stay_minutes");
    expect(a, waypoints(a, 1, -1), "out_of_range", "waypoints[0].stay_minutes");
    /* the fields named inside the legs and waypoints */
    expect(a,
           HEAD "\"departed_on\":\"2026-11-20\",\"back\":{\"mode\":\"flight\",\"number\":\"G1\"}}",
           "invalid_number", "back.number");
    expect(a, HEAD "\"departed_on\":\"2026-11-20\",\"back\":{\"mode\":\"car\",\"plate\":\"京A1\"}}",
           "invalid_plate", "back.plate");
    expect(a,
           HEAD
           "\"departed_on\":\"2026-11-20\",\"waypoints\":[{\"kind\":\"zoo\",\"place\":\"x\"}]}",
           "invalid_value", "waypoints[0].kind");
    expect(a, HEAD "\"departed_on\":\"2026-11-20\",\"waypoints\":[{\"kind\":\"mall\"}]}",
           "required", "waypoints[0].place");
    expect(a, HEAD "\"departed_on\":\"2026-02-29\"}", "invalid_date", "departed_on");
    expect(a, "{\"person_id\":\"7\",\"destination\":\"上海\",\"departed_on\":\"2026-11-20\"}",
           "required", "out.mode");
    /* a car's plate is normalised as vehicles do */
    assert_int_equal(body(a,
                          HEAD
                          "\"departed_on\":\"2026-11-20\",\"back\":{\"mode\":\"car\",\"plate\":"
                          "\"京a12345\"}}",
                          &t),
                     E_OK);
    assert_string_equal(t.back.plate, "京A12345");
    arena_free(&a);
}

/* ---- contact tracing's pure parts ---- */

static void test_seat_rows(void **state)
{
    (void)state;
    assert_int_equal(trace_seat_row("12A"), 12);
    assert_int_equal(trace_seat_row("03F"), 3);
    assert_int_equal(trace_seat_row("7"), 7);
    assert_int_equal(trace_seat_row("112C"), 112);
    assert_int_equal(trace_seat_row("A12"), 0); /* not a row first: unknown */
    assert_int_equal(trace_seat_row(""), 0);
    assert_int_equal(trace_seat_row(NULL), 0);
    assert_int_equal(trace_seat_row("无座"), 0);
}

static void test_overlap(void **state)
{
    (void)state;
    assert_int_equal(trace_overlap_ms(0, 10, 5, 20), 5);
    assert_int_equal(trace_overlap_ms(5, 20, 0, 10), 5);
    assert_int_equal(trace_overlap_ms(0, 10, 10, 20), 0); /* touching: nothing shared */
    assert_int_equal(trace_overlap_ms(0, 10, 11, 20), 0);
    assert_int_equal(trace_overlap_ms(0, 100, 20, 30), 10); /* inside */
}

static void test_intervals_merge(void **state)
{
    (void)state;
    struct trace_interval iv[] = {{50, 60}, {0, 10},  {10, 20},   {30, 40},
                                  {35, 45}, {44, 44}, {100, 200}, {150, 160}};
    size_t n = trace_intervals_merge(iv, sizeof iv / sizeof *iv);
    assert_int_equal(n, 4);
    /* sorted, disjoint: touching ones merged, contained ones absorbed */
    int64_t want[][2] = {{0, 20}, {30, 45}, {50, 60}, {100, 200}};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(iv[i].lo, want[i][0]);
        assert_int_equal(iv[i].hi, want[i][1]);
    }
    struct trace_interval one = {5, 6};
    assert_int_equal(trace_intervals_merge(&one, 1), 1);
    assert_int_equal(trace_intervals_merge(NULL, 0), 0);
}

static void test_trace_rules_json(void **state)
{
    (void)state;
    struct trace_rules r = {4, 30, 15, 3, 5, false, true}, before = r;
    json_t *b = json_pack("{s:i}", "seat_rows", 31);
    assert_int_equal(trace_rules_apply_json(b, &r), E_INPUT);
    assert_string_equal(err_last()->slug, "out_of_range");
    assert_string_equal(err_last()->field, "seat_rows");
    assert_memory_equal(&r, &before, sizeof r);
    json_decref(b);
    b = json_pack("{s:i, s:b, s:i}", "seat_rows", 0, "building", 1, "window_minutes", 240);
    assert_int_equal(trace_rules_apply_json(b, &r), E_OK);
    assert_int_equal(r.seat_rows, 0);
    assert_true(r.building);
    assert_int_equal(r.window_minutes, 240);
    json_decref(b);
    b = json_pack("{s:s}", "lookback_days", "4");
    assert_int_equal(trace_rules_apply_json(b, &r), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_type");
    json_decref(b);
    b = json_pack("{s:i}", "window_minutes", 0);
    assert_int_equal(trace_rules_apply_json(b, &r), E_INPUT);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flights),          cmocka_unit_test(test_trains),
        cmocka_unit_test(test_trip_rules),       cmocka_unit_test(test_seat_rows),
        cmocka_unit_test(test_overlap),          cmocka_unit_test(test_intervals_merge),
        cmocka_unit_test(test_trace_rules_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

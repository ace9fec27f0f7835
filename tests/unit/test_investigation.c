/*
 * Unit tests of trace/trace.h's investigation and chain rules, pure parts:
 * an investigation body's checks at their edges (the onset on the China day
 * of the investigation and the day after, a place leaving the instant it
 * arrived and a millisecond before, 100 and 101 places, the contacts' id
 * numbers and phones, the field each error names), the venue name
 * normalisation, and the cycle walk of case links on hand-built chains
 * (self, long chain, diamond, the walk's bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "trace/trace.h"

/* 2026-11-20 00:00:00 China time (2026-11-19 16:00 UTC) */
#define MIDNIGHT 1795104000000LL

static err body(arena *a, const char *text, struct investigation *v_r)
{
    json_error_t je;
    json_t *b = json_loads(text, 0, &je);
    if (!b)
        fail_msg("bad JSON in the test: %s", je.text);
    struct investigation v = {0};
    err e = investigation_apply_json(a, b, &v);
    if (!e)
        e = investigation_check(&v);
    json_decref(b);
    if (v_r)
        *v_r = v;
    return e;
}

static void expect(arena *a, const char *text, const char *slug, const char *field)
{
    if (body(a, text, NULL) != E_INPUT)
        fail_msg("accepted: %s", text);
    assert_string_equal(err_last()->slug, slug);
    if (field)
        assert_string_equal(err_last()->field, field);
    else
        assert_null(err_last()->field);
}

/* a body investigated at `at` with `rest` appended (",\"places\":[…]") */
static const char *with(arena *a, long long at, const char *rest)
{
    return arena_printf(a, "{\"person_id\":\"7\",\"investigated_at\":%lld%s}", at, rest);
}

static void test_onset_edges(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    struct investigation v;
    /* the onset on the investigation's China day is fine, the day after is not */
    assert_int_equal(body(a, with(a, MIDNIGHT, ",\"onset_on\":\"2026-11-20\""), &v), E_OK);
    assert_int_equal(v.onset_on, 20261120);
    expect(a, with(a, MIDNIGHT, ",\"onset_on\":\"2026-11-21\""), "invalid_range", "onset_on");
    /* a millisecond before midnight is still the 19th in China */
    expect(a, with(a, MIDNIGHT - 1, ",\"onset_on\":\"2026-11-20\""), "invalid_range", "onset_on");
    assert_int_equal(body(a, with(a, MIDNIGHT - 1, ",\"onset_on\":\"2026-11-19\""), NULL), E_OK);
    /* null clears; no onset is fine */
    assert_int_equal(body(a, with(a, MIDNIGHT, ",\"onset_on\":null"), &v), E_OK);
    assert_int_equal(v.onset_on, 0);
    expect(a, with(a, MIDNIGHT, ",\"onset_on\":\"2026-02-29\""), "invalid_date", "onset_on");
    expect(a, "{\"person_id\":\"7\"}", "required", "investigated_at");
    expect(a, "{\"investigated_at\":1795104000000}", "required", "person_id");
    expect(a, with(a, 0, ""), "invalid_value", "investigated_at");
    /* symptoms: the health capability's names, as bits */
    assert_int_equal(body(a, with(a, MIDNIGHT, ",\"symptoms\":[\"fever\",\"diarrhoea\"]"), &v),
                     E_OK);
    assert_int_equal(v.symptoms, SYM_FEVER | SYM_DIARRHOEA);
    expect(a, with(a, MIDNIGHT, ",\"symptoms\":[\"fever\",\"sneezing\"]"), "invalid_value",
           "symptoms");
    expect(a, with(a, MIDNIGHT, ",\"symptoms\":\"fever\""), "invalid_type", "symptoms");
    arena_free(&a);
}

static char *places(arena *a, int n, long long from, long long to)
{
    char *s = arena_printf(a, ",\"places\":[");
    const char *end = to ? arena_printf(a, "%lld", to) : "null"; /* 0: not known */
    for (int i = 0; i < n; i++)
        s = arena_printf(a, "%s%s{\"place\":\"超市%d\",\"from_at\":%lld,\"to_at\":%s}", s,
                         i ? "," : "", i, from, end);
    return arena_printf(a, "%s]", s);
}

static void test_places(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    struct investigation v;
    /* leaving the instant one arrived is fine, a millisecond before is not */
    assert_int_equal(body(a, with(a, MIDNIGHT, places(a, 1, MIDNIGHT, MIDNIGHT)), &v), E_OK);
    assert_int_equal(v.n_places, 1);
    assert_string_equal(v.places[0].place, "超市0");
    expect(a, with(a, MIDNIGHT, places(a, 2, MIDNIGHT, MIDNIGHT - 1)), "invalid_range",
           "places[0].to_at");
    /* 100 places, not 101 */
    assert_int_equal(body(a, with(a, MIDNIGHT, places(a, INV_PLACES_MAX, MIDNIGHT, 0)), &v), E_OK);
    assert_int_equal(v.n_places, INV_PLACES_MAX);
    assert_int_equal(v.places[99].to_at, 0);
    expect(a, with(a, MIDNIGHT, places(a, INV_PLACES_MAX + 1, MIDNIGHT, 0)), "too_many_places",
           "places");
    /* the members of one place, named */
    expect(a, with(a, MIDNIGHT, ",\"places\":[{\"from_at\":1}]"), "required", "places[0].place");
    expect(a, with(a, MIDNIGHT, ",\"places\":[{\"place\":\"x\"}]"), "required",
           "places[0].from_at");
    expect(a, with(a, MIDNIGHT, ",\"places\":[{\"place\":\"x\",\"from_at\":1,\"venue_id\":\"0\"}]"),
           "invalid_value", "places[0].venue_id");
    expect(a, with(a, MIDNIGHT, ",\"places\":[{\"place\":\"a\\nb\",\"from_at\":1}]"),
           "invalid_value", "places[0].place");
    assert_int_equal(
        body(a,
             with(a, MIDNIGHT,
                  ",\"places\":[{\"place\":\" 超市 \",\"from_at\":1,\"venue_id\":\"42\"}]"),
             &v),
        E_OK);
    assert_int_equal(v.places[0].venue_id, 42);
    assert_string_equal(v.places[0].place, "超市");
    arena_free(&a);
}

static void test_contacts(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    struct investigation v;
    /* an id number typed with a lower-case x and spaces is normalised, then checked */
    assert_int_equal(body(a,
                          with(a, MIDNIGHT,
                               ",\"contacts\":[{\"name\":\"李四\",\"id_number\":\"1101011990030 "
                               "7109x\",\"phone\":\"13800138000\",\"relation\":\"同事\"}]"),
                          &v),
                     E_OK);
    assert_string_equal(v.contacts[0].id_number, "11010119900307109X");
    assert_string_equal(v.contacts[0].phone, "13800138000");
    expect(a,
           with(a, MIDNIGHT,
                ",\"contacts\":[{\"name\":\"李四\"},{\"name\":\"王五\",\"id_number\":"
                "\"110101199003076630\"}]"),
           "invalid_id_number", "contacts[1].id_number");
    expect(a, with(a, MIDNIGHT, ",\"contacts\":[{\"name\":\"李四\",\"phone\":\"1380013800\"}]"),
           "invalid_phone", "contacts[0].phone");
    expect(a, with(a, MIDNIGHT, ",\"contacts\":[{\"phone\":\"13800138000\"}]"), "required",
           "contacts[0].name");
    expect(a, with(a, MIDNIGHT, ",\"contacts\":{}"), "invalid_type", "contacts");
    arena_free(&a);
}

static void normalised(const char *in, const char *want)
{
    char out[64];
    size_t n = investigation_name_normalise(in, out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_normalise(void **state)
{
    (void)state;
    normalised("多福巷便利店", "多福巷便利店");
    normalised(" 多福巷 便利店 ", "多福巷便利店");
    normalised("多福巷，便利店（东四店）", "多福巷便利店东四店");
    normalised("ＫＦＣ 王府井店", "kfc王府井店"); /* full-width folded, lower-cased */
    normalised("7-Eleven·东单", "7eleven东单");   /* ASCII and CJK punctuation dropped */
    normalised("“老北京”炸酱面、", "老北京炸酱面");
    normalised("", "");
    normalised("，。、", "");
    /* the output is bounded: a whole character or none */
    char small[5];
    assert_int_equal(investigation_name_normalise("多福巷", small, sizeof small), 3);
    assert_string_equal(small, "多");
}

/* ---- the cycle walk over a hand-built list of links (case, source) ---- */

struct edges {
    const int64_t (*e)[2];
    size_t n;
    arena *a;
    int calls;
};

static err sources(void *ctx, int64_t id, int64_t **ids_r, size_t *n_r)
{
    struct edges *g = ctx;
    int64_t *ids = arena_alloc(g->a, (g->n + 1) * sizeof *ids);
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->e[i][0] == id)
            ids[n++] = g->e[i][1];
    g->calls++;
    *ids_r = ids;
    *n_r = n;
    return E_OK;
}

static bool reaches(const int64_t (*e)[2], size_t n, int64_t from, int64_t to)
{
    arena *a = arena_new(0);
    struct edges g = {e, n, a, 0};
    bool r = false;
    assert_int_equal(case_link_reaches(a, sources, &g, from, to, &r), E_OK);
    arena_free(&a);
    return r;
}

static void test_cycles(void **state)
{
    (void)state;
    /* 2 ← 1 ... : case 2's source is 1, 3's is 2, 4's is 3; 5's sources are 2 and 4 */
    static const int64_t chain[][2] = {{2, 1}, {3, 2}, {4, 3}, {5, 2}, {5, 4}};
    const size_t n = sizeof chain / sizeof chain[0];
    /* linking 1 to source 4 closes 1 → 4 → 3 → 2 → 1: the walk from 4 reaches 1 */
    assert_true(reaches(chain, n, 4, 1));
    assert_true(reaches(chain, n, 5, 1)); /* through either branch of the diamond */
    assert_true(reaches(chain, n, 3, 3)); /* a self-link */
    /* linking 4 to source 5 closes 4 → 5 → 4 */
    assert_true(reaches(chain, n, 5, 4));
    /* nothing above 1, and a case never reaches its own descendants upwards */
    assert_false(reaches(chain, n, 1, 2));
    assert_false(reaches(chain, n, 2, 5));
    assert_false(reaches(chain, n, 4, 5));
    assert_false(reaches(chain, n, 9, 1)); /* unknown case */
}

/* A chain longer than the walk's bound is refused, not walked for ever. */
static err long_sources(void *ctx, int64_t id, int64_t **ids_r, size_t *n_r)
{
    arena *a = ctx;
    int64_t *ids = arena_alloc(a, sizeof *ids);
    ids[0] = id + 1; /* every case has a source: an endless chain */
    *ids_r = ids;
    *n_r = 1;
    return E_OK;
}

static void test_chain_bound(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    bool r = true;
    assert_int_equal(case_link_reaches(a, long_sources, a, 1, 0, &r), E_CONFLICT);
    assert_string_equal(err_last()->slug, "chain_too_long");
    /* a target within the bound is found */
    assert_int_equal(case_link_reaches(a, long_sources, a, 1, CASE_CHAIN_MAX - 1, &r), E_OK);
    assert_true(r);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onset_edges), cmocka_unit_test(test_places),
        cmocka_unit_test(test_contacts),    cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_cycles),      cmocka_unit_test(test_chain_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the 14-day itinerary's pure part (trace.h: itinerary_pair,
 * itinerary_compute) and its token: access records paired into visits, the
 * stay rule at its exact edge, per China day (a visit across midnight
 * counts on each day for its part), the three levels of a tree place and
 * the city of an outside one, the window's clipping, the risk marks at the
 * edges of an area's window, by tree and by name, the higher level kept;
 * the card's token valid to the end of its day, kept apart from health
 * codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/time.h"
#include "security/crypto.h"
#include "trace/trace.h"

/* 2026-03-01 00:00 China time */
#define D0   1772294400000LL
#define H    3600000LL
#define DAY  (24 * H)
#define RULE (4 * H)

#define COMMUNITY 110101001001000000LL /* 东华门街道 多福巷社区 */
#define STREET    110101001000000000LL
#define DISTRICT  110101000000000000LL
#define CITY      110100000000000000LL
#define XC_STREET 110102001000000000LL

static arena *A;

static int setup(void **state)
{
    (void)state;
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 5 + 3);
    keys_set_master(master);
    A = arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

static struct itinerary_span visit(int64_t code, int64_t from, int64_t to)
{
    return (struct itinerary_span){
        .region_code = code, .place = "", .from = from, .to = to, .source = ITIN_ACCESS};
}

/* The place of `level` and `code` (or `name` outside the tree) in the result. */
static const struct itinerary_place *find(const struct itinerary_place *p, size_t n,
                                          enum region_level level, int64_t code, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].level == level && p[i].region_code == code && (code || !strcmp(p[i].name, name)))
            return &p[i];
    return NULL;
}

static void compute(const struct itinerary_span *s, size_t n, const struct itinerary_area *ar,
                    size_t na, struct itinerary_place **p, size_t *np)
{
    itinerary_compute(A, s, n, D0, D0 + 14 * DAY, RULE, ar, na, p, np);
}

static void test_pair(void **state)
{
    (void)state;
    /* in A, in B, out A (A's visit spans B's passage), out without in, an
     * in whose out comes more than a day later */
    int64_t venues[] = {1, 2, 1, 3, 4, 4};
    int64_t regions[] = {COMMUNITY, COMMUNITY, COMMUNITY, STREET, STREET, STREET};
    bool in[] = {true, true, false, false, true, false};
    int64_t at[] = {D0 + 9 * H,  D0 + 10 * H, D0 + 12 * H,
                    D0 + 13 * H, D0 + 14 * H, D0 + 14 * H + DAY + 1};
    struct itinerary_span out[6];
    size_t k = itinerary_pair(A, 6, venues, regions, in, at, out);
    assert_int_equal(k, 5);
    assert_int_equal(out[0].from, D0 + 9 * H);
    assert_int_equal(out[0].to, D0 + 12 * H);
    assert_int_equal(out[1].from, out[1].to); /* B: a passage */
    assert_int_equal(out[2].from, D0 + 13 * H);
    assert_int_equal(out[2].to, D0 + 13 * H); /* an out alone */
    assert_int_equal(out[3].to, out[3].from); /* the late out is another passage */
    assert_int_equal(out[4].from, D0 + 14 * H + DAY + 1);
    assert_int_equal(out[0].source, ITIN_ACCESS);
    /* exactly a day apart still pairs */
    int64_t at2[] = {D0, D0 + ITINERARY_PAIR_MAX_MS};
    int64_t venues2[] = {7, 7};
    bool in2[] = {true, false};
    assert_int_equal(itinerary_pair(A, 2, venues2, regions, in2, at2, out), 1);
    assert_int_equal(out[0].to, D0 + DAY);
}

static void test_rule_edge(void **state)
{
    (void)state;
    struct itinerary_place *p;
    size_t n;
    /* exactly four hours: a stay; one millisecond less: a passage */
    struct itinerary_span s[] = {visit(COMMUNITY, D0 + 8 * H, D0 + 12 * H),
                                 visit(XC_STREET, D0 + 13 * H, D0 + 17 * H - 1)};
    compute(s, 2, NULL, 0, &p, &n);
    assert_int_equal(n, 5); /* one city, two districts, two streets */
    assert_true(find(p, n, LEVEL_STREET, STREET, NULL)->stay);
    assert_true(find(p, n, LEVEL_DISTRICT, DISTRICT, NULL)->stay);
    assert_false(find(p, n, LEVEL_STREET, XC_STREET, NULL)->stay);
    assert_false(find(p, n, LEVEL_DISTRICT, 110102000000000000LL, NULL)->stay);
    const struct itinerary_place *c = find(p, n, LEVEL_CITY, CITY, NULL);
    assert_true(c->stay);
    assert_int_equal(c->longest_ms, 8 * H - 1);
    assert_int_equal(c->first_at, D0 + 8 * H);
    assert_int_equal(c->last_at, D0 + 17 * H - 1);
    assert_int_equal(c->city_code, CITY);
    /* cities first, then districts, then streets, each by first presence */
    assert_int_equal(p[0].level, LEVEL_CITY);
    assert_int_equal(p[1].region_code, DISTRICT);
    assert_int_equal(p[3].region_code, STREET);
    assert_int_equal(p[4].region_code, XC_STREET);

    /* two visits of two hours in one street on one day add up */
    struct itinerary_span two[] = {visit(COMMUNITY, D0 + 8 * H, D0 + 10 * H),
                                   visit(STREET, D0 + 15 * H, D0 + 17 * H)};
    compute(two, 2, NULL, 0, &p, &n);
    assert_true(find(p, n, LEVEL_STREET, STREET, NULL)->stay);
    /* on two days they do not */
    two[1] = visit(STREET, D0 + DAY + 15 * H, D0 + DAY + 17 * H);
    compute(two, 2, NULL, 0, &p, &n);
    const struct itinerary_place *st = find(p, n, LEVEL_STREET, STREET, NULL);
    assert_false(st->stay);
    assert_int_equal(st->days, 2);
    assert_int_equal(st->longest_ms, 2 * H);
}

static void test_midnight(void **state)
{
    (void)state;
    struct itinerary_place *p;
    size_t n;
    /* 22:00 to 02:00: four hours, two on each China day: a passage */
    struct itinerary_span s[] = {visit(COMMUNITY, D0 + 22 * H, D0 + DAY + 2 * H)};
    compute(s, 1, NULL, 0, &p, &n);
    const struct itinerary_place *st = find(p, n, LEVEL_STREET, STREET, NULL);
    assert_false(st->stay);
    assert_int_equal(st->days, 2);
    assert_int_equal(st->longest_ms, 2 * H);
    /* 20:00 to 02:00: four hours on the first day */
    s[0].from = D0 + 20 * H;
    compute(s, 1, NULL, 0, &p, &n);
    assert_true(find(p, n, LEVEL_STREET, STREET, NULL)->stay);
}

static void test_levels_and_window(void **state)
{
    (void)state;
    struct itinerary_place *p;
    size_t n;
    struct itinerary_span s[] = {
        /* a trip: a stay by its source, outside the tree, city level only */
        {.place = "上海市",
         .from = D0 + DAY,
         .to = D0 + 3 * DAY,
         .source = ITIN_TRIP,
         .stay = true},
        /* a declared region, a district: no street below it */
        {.region_code = 110102000000000000LL,
         .place = "",
         .from = D0 + H,
         .to = D0 + H,
         .source = ITIN_DECLARATION},
        /* before the window and after it: ignored */
        visit(COMMUNITY, D0 - 6 * H, D0 - H),
        visit(COMMUNITY, D0 + 14 * DAY, D0 + 14 * DAY + 6 * H),
        /* a province: no city to count it in */
        {.region_code = 110000000000000000LL,
         .place = "",
         .from = D0 + H,
         .to = D0 + H,
         .source = ITIN_NAT},
    };
    compute(s, 5, NULL, 0, &p, &n);
    assert_int_equal(n, 3);
    const struct itinerary_place *sh = find(p, n, LEVEL_CITY, 0, "上海市");
    assert_non_null(sh);
    assert_true(sh->stay);
    assert_int_equal(sh->days, 2);
    assert_int_equal(sh->sources, ITIN_TRIP);
    assert_int_equal(sh->city_code, 0);
    const struct itinerary_place *xc = find(p, n, LEVEL_DISTRICT, 110102000000000000LL, NULL);
    assert_false(xc->stay);
    assert_int_equal(xc->sources, ITIN_DECLARATION);
    assert_int_equal(xc->longest_ms, 0);
    assert_non_null(find(p, n, LEVEL_CITY, CITY, NULL));
    /* a span across the window's start counts for its part inside */
    struct itinerary_span across[] = {visit(COMMUNITY, D0 - 2 * H, D0 + 3 * H)};
    compute(across, 1, NULL, 0, &p, &n);
    assert_int_equal(find(p, n, LEVEL_STREET, STREET, NULL)->longest_ms, 3 * H);
    assert_int_equal(find(p, n, LEVEL_STREET, STREET, NULL)->first_at, D0);
}

static void test_risk(void **state)
{
    (void)state;
    struct itinerary_place *p;
    size_t n;
    struct itinerary_span s[] = {
        visit(COMMUNITY, D0 + 8 * H, D0 + 13 * H),
        {.place = "上海市",
         .from = D0 + DAY,
         .to = D0 + 2 * DAY,
         .source = ITIN_TRIP,
         .stay = true},
    };
    struct itinerary_area areas[] = {
        /* ended the instant the visit began: no mark */
        {.id = 1,
         .region_code = STREET,
         .name = "旧",
         .level = 2,
         .valid_from = D0,
         .valid_to = D0 + 8 * H},
        /* begins the instant the visit ended: no mark */
        {.id = 2, .region_code = STREET, .name = "新", .level = 2, .valid_from = D0 + 13 * H},
        /* another street: no mark */
        {.id = 3, .region_code = XC_STREET, .name = "西", .level = 2, .valid_from = D0},
        /* a medium area over the last hour of the visit: marks */
        {.id = 4, .region_code = DISTRICT, .name = "东城区", .level = 1, .valid_from = D0 + 12 * H},
        /* by name, outside the tree */
        {.id = 5, .region_code = 0, .name = "上海市浦东新区", .level = 1, .valid_from = D0},
        /* a name match never marks a tree place */
        {.id = 6, .region_code = 0, .name = "东华门街道", .level = 2, .valid_from = D0},
    };
    compute(s, 2, areas, 6, &p, &n);
    const struct itinerary_place *st = find(p, n, LEVEL_STREET, STREET, NULL);
    assert_non_null(st->risk);
    assert_int_equal(st->risk->id, 4);
    assert_int_equal(find(p, n, LEVEL_CITY, CITY, NULL)->risk->id, 4);
    assert_int_equal(find(p, n, LEVEL_CITY, 0, "上海市")->risk->id, 5);
    /* a high area over the same visit wins over the medium one */
    areas[1].valid_from = D0 + 13 * H - 1;
    compute(s, 2, areas, 6, &p, &n);
    assert_int_equal(find(p, n, LEVEL_DISTRICT, DISTRICT, NULL)->risk->id, 2);
    /* no areas: no marks */
    compute(s, 2, NULL, 0, &p, &n);
    for (size_t i = 0; i < n; i++)
        assert_null(p[i].risk);
}

static void test_token(void **state)
{
    (void)state;
    char tok[TOKEN_MAX];
    int64_t until = 0, at = D0 + 10 * H;
    assert_int_equal(itinerary_token(42, at, tok, &until), E_OK);
    assert_int_equal(until, D0 + DAY);
    struct token t;
    assert_int_equal(token_verify(tok, TOKEN_ITINERARY, D0 + DAY - 1, &t), E_OK);
    assert_int_equal(t.subject, 42);
    assert_int_equal(t.expires_at, D0 + DAY);
    /* the next China day: expired; the day after: yesterday's key is gone too */
    assert_int_not_equal(token_verify(tok, TOKEN_ITINERARY, D0 + DAY, &t), E_OK);
    assert_string_equal(err_last()->slug, "token_expired");
    assert_int_not_equal(token_verify(tok, TOKEN_ITINERARY, D0 + 2 * DAY + H, &t), E_OK);
    assert_string_equal(err_last()->slug, "token_key_expired");
    /* a card is no health code, and the reverse */
    assert_int_not_equal(token_verify(tok, TOKEN_HEALTH, at, &t), E_OK);
    assert_string_equal(err_last()->slug, "token_wrong_kind");
    struct token h = {.kind = TOKEN_HEALTH, .subject = 42, .issued_at = at, .expires_at = at + H};
    char htok[TOKEN_MAX];
    assert_int_equal(token_issue(&h, htok), E_OK);
    assert_int_not_equal(token_verify(htok, TOKEN_ITINERARY, at, &t), E_OK);
    assert_string_equal(err_last()->slug, "token_wrong_kind");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair),     cmocka_unit_test(test_rule_edge),
        cmocka_unit_test(test_midnight), cmocka_unit_test(test_levels_and_window),
        cmocka_unit_test(test_risk),     cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

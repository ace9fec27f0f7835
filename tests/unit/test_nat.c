/*
 * Unit tests of the pure parts of nat/ (nat.h): opening hours parsed and
 * tested at the exact edges of their ranges in China time, the distance of
 * a clock-in, the site input check field by field, and the sampling rules:
 * tube sizes, barcodes, a tube's admission of a sample and the duplicate
 * round at the China midnight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "base/id.h"
#include "base/time.h"
#include "nat/nat.h"

#define MIN_MS 60000LL

/* 2026-12-04 00:00 China time, as epoch ms, plus `minute` minutes. */
static int64_t at(int minute)
{
    return 1796313600000LL + minute * MIN_MS;
}

static void hours_parse_forms(void **state)
{
    (void)state;
    int from[NAT_HOURS_RANGES_MAX], to[NAT_HOURS_RANGES_MAX];
    size_t n;
    assert_int_equal(nat_hours_parse("", from, to, &n), E_OK);
    assert_int_equal(n, 1);
    assert_int_equal(from[0], 0);
    assert_int_equal(to[0], 1440);
    assert_int_equal(nat_hours_parse("08:00-12:00,14:00-24:00", from, to, &n), E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(from[0], 480);
    assert_int_equal(to[0], 720);
    assert_int_equal(from[1], 840);
    assert_int_equal(to[1], 1440);
    /* spaces around ranges and the full-width comma */
    assert_int_equal(nat_hours_parse(" 08:00-12:00 ， 12:00-13:00 ", from, to, &n), E_OK);
    assert_int_equal(n, 2);
    /* touching ranges are allowed, overlapping ones not */
    assert_int_equal(nat_hours_parse("08:00-12:00,11:59-13:00", from, to, &n), E_INPUT);
    const char *bad[] = {
        "8:00-12:00",
        "08:00-12:00,",
        "08:00 - 12:00",
        "12:00-08:00",
        "08:00-08:00",
        "24:00-24:00",
        "08:00-24:01",
        "08:60-09:00",
        "08:00-12:00;13:00-14:00",
        "x",
        "08:00-12:00,14:00",
        "00:00-01:00,01:00-02:00,02:00-03:00,03:00-04:00,04:00-05:00,05:00-06:00,06:00-07:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err e = nat_hours_parse(bad[i], from, to, &n);
        assert_int_equal(e, E_INPUT);
        assert_string_equal(err_last()->slug, "invalid_hours");
        assert_string_equal(err_last()->field, "hours");
    }
}

static void hours_open_at_edges(void **state)
{
    (void)state;
    const char *h = "08:00-12:00,14:00-18:00";
    assert_false(nat_hours_open_at(h, at(8 * 60) - 1));
    assert_true(nat_hours_open_at(h, at(8 * 60)));
    assert_true(nat_hours_open_at(h, at(12 * 60) - 1));
    assert_false(nat_hours_open_at(h, at(12 * 60)));
    assert_true(nat_hours_open_at(h, at(14 * 60)));
    assert_false(nat_hours_open_at(h, at(18 * 60)));
    /* all day, and to midnight */
    assert_true(nat_hours_open_at("", at(0)));
    assert_true(nat_hours_open_at("", at(1439)));
    assert_true(nat_hours_open_at("20:00-24:00", at(1439)));
    assert_false(nat_hours_open_at("20:00-24:00", at(1440)));
    /* malformed hours are never open (the sweep does not flag on them) */
    assert_false(nat_hours_open_at("junk", at(600)));
}

static void distance(void **state)
{
    (void)state;
    /* 0.01° of latitude is about 1112 m everywhere */
    double m = nat_distance_m(116.4, 39.91, 116.4, 39.92);
    assert_true(m > 1111 && m < 1113);
    assert_true(nat_distance_m(116.4, 39.91, 116.4, 39.91) < 0.001);
    /* 0.001° of longitude at 40° north is about 85 m */
    m = nat_distance_m(116.400, 40.0, 116.401, 40.0);
    assert_true(m > 84 && m < 86);
}

static void site_input_check(void **state)
{
    (void)state;
    struct nat_site_input ok = {.set = NSF_NAME | NSF_KIND | NSF_REGION,
                                .name = "采样点",
                                .kind = NAT_SITE_FIXED,
                                .region_code = 110101001001000000LL};
    assert_int_equal(nat_site_input_check(&ok, true), E_OK);
    struct nat_site_input none = {0};
    assert_int_equal(nat_site_input_check(&none, true), E_INPUT);
    assert_string_equal(err_last()->slug, "required");
    assert_int_equal(nat_site_input_check(&none, false), E_OK);
    struct {
        struct nat_site_input in;
        const char *field, *slug;
    } cases[] = {
        {{.set = NSF_KIND, .kind = NAT_SITE_KIND__COUNT}, "kind", "invalid_value"},
        {{.set = NSF_STATE, .state = 0}, "state", "invalid_value"},
        {{.set = NSF_CAPACITY, .capacity = -1}, "capacity", "out_of_range"},
        {{.set = NSF_CAPACITY, .capacity = NAT_SITE_CAPACITY_MAX + 1}, "capacity", "out_of_range"},
        {{.set = NSF_LNG, .lng = 116.4}, "lat", "required"},
        {{.set = NSF_LNG | NSF_LAT, .lng = 116.4, .lat = NAN}, "lat", "required"},
        {{.set = NSF_LNG | NSF_LAT, .lng = 72.9, .lat = 39.9}, "lng", "out_of_range"},
        {{.set = NSF_LNG | NSF_LAT, .lng = 116.4, .lat = 54.1}, "lat", "out_of_range"},
        {{.set = NSF_LNG | NSF_LAT, .lng = INFINITY, .lat = 39.9}, "lng", "out_of_range"},
        {{.set = NSF_HOURS, .hours = "8-9"}, "hours", "invalid_hours"},
        {{.set = NSF_REGION, .region_code = 0}, "region_code", "invalid_region"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(nat_site_input_check(&cases[i].in, false), E_INPUT);
        assert_string_equal(err_last()->field, cases[i].field);
        assert_string_equal(err_last()->slug, cases[i].slug);
    }
    /* clearing the position: both NAN */
    struct nat_site_input clear = {.set = NSF_LNG | NSF_LAT, .lng = NAN, .lat = NAN};
    assert_int_equal(nat_site_input_check(&clear, false), E_OK);
}

static void tube_sizes(void **state)
{
    (void)state;
    assert_int_equal(nat_tube_size(NAT_TUBE_SINGLE), 1);
    assert_int_equal(nat_tube_size(NAT_TUBE_POOL5), 5);
    assert_int_equal(nat_tube_size(NAT_TUBE_POOL10), 10);
    assert_int_equal(nat_tube_size(NAT_TUBE_POOL20), 20);
    assert_int_equal(vocab_parse(&nat_tube_kind_vocab, "pool10"), NAT_TUBE_POOL10);
    assert_true(vocab_parse(&nat_tube_kind_vocab, "pool7") <= 0);
}

static void barcodes(void **state)
{
    (void)state;
    const char *good[] = {"ABC123", "SG-000001", "a-b-c-", "01234567890123456789012345678901"};
    const char *bad[] = {NULL,      "",        "ABC12",      "012345678901234567890123456789012",
                         "ABC 123", "AB_1234", "条码123456", "ABC123\n",
                         "ABC/123"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(nat_barcode_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(nat_barcode_valid(bad[i]));
}

static void tube_admission(void **state)
{
    (void)state;
    const int64_t site = 7, plan = 9;
    struct {
        struct nat_tube t;
        int64_t plan;
        const char *slug, *field; /* NULL: admitted */
    } cases[] = {
        {{.site_id = site, .plan_id = plan, .size = 10, .filled = 9, .state = NAT_TUBE_OPEN},
         plan,
         NULL,
         NULL},
        {{.site_id = site, .size = 5, .filled = 0, .state = NAT_TUBE_OPEN}, 0, NULL, NULL},
        /* another site's tube, even an open one with room */
        {{.site_id = 8, .plan_id = plan, .size = 10, .filled = 1, .state = NAT_TUBE_OPEN},
         plan,
         "tube_used",
         "barcode"},
        /* full: whatever the plan asked */
        {{.site_id = site, .size = 10, .filled = 10, .state = NAT_TUBE_CLOSED},
         plan,
         "tube_full",
         "barcode"},
        {{.site_id = site, .size = 1, .filled = 1, .state = NAT_TUBE_CLOSED},
         0,
         "tube_full",
         "barcode"},
        /* closed early by staff */
        {{.site_id = site, .size = 20, .filled = 3, .state = NAT_TUBE_CLOSED},
         0,
         "tube_used",
         "barcode"},
        /* another plan, or a plan's sample into a tube of none and back */
        {{.site_id = site, .plan_id = plan, .size = 10, .filled = 1, .state = NAT_TUBE_OPEN},
         10,
         "tube_plan_mismatch",
         "plan_id"},
        {{.site_id = site, .size = 10, .filled = 1, .state = NAT_TUBE_OPEN},
         plan,
         "tube_plan_mismatch",
         "plan_id"},
        {{.site_id = site, .plan_id = plan, .size = 10, .filled = 1, .state = NAT_TUBE_OPEN},
         0,
         "tube_plan_mismatch",
         "plan_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err e = nat_tube_admit(&cases[i].t, site, cases[i].plan);
        if (!cases[i].slug) {
            assert_int_equal(e, E_OK);
            continue;
        }
        assert_int_equal(e, E_CONFLICT);
        assert_string_equal(err_last()->slug, cases[i].slug);
        assert_string_equal(err_last()->field, cases[i].field);
    }
}

/* A result meeting a tube: every state, and the same result again. */
static void result_admission(void **state)
{
    (void)state;
    bool repeat = true;
    assert_int_equal(nat_result_admit(NAT_TUBE_OPEN, 0, NAT_RESULT_NEGATIVE, &repeat), E_CONFLICT);
    assert_string_equal(err_last()->slug, "tube_open");
    assert_string_equal(err_last()->field, "barcode");
    assert_false(repeat);
    const enum nat_tube_state ok[] = {NAT_TUBE_CLOSED, NAT_TUBE_PACKED, NAT_TUBE_IN_TRANSIT,
                                      NAT_TUBE_RECEIVED};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(nat_result_admit(ok[i], 0, NAT_RESULT_POSITIVE, &repeat), E_OK);
        assert_false(repeat);
    }
    /* resulted: the same again is a no-op, another refused */
    assert_int_equal(
        nat_result_admit(NAT_TUBE_RESULTED, NAT_RESULT_INVALID, NAT_RESULT_INVALID, &repeat), E_OK);
    assert_true(repeat);
    assert_int_equal(
        nat_result_admit(NAT_TUBE_RESULTED, NAT_RESULT_NEGATIVE, NAT_RESULT_POSITIVE, &repeat),
        E_CONFLICT);
    assert_string_equal(err_last()->slug, "result_conflict");
    assert_string_equal(err_last()->field, "result");
    assert_false(repeat);
}

/* The person's outcome: a positive pool is a retest, a single tube its result. */
static void outcomes(void **state)
{
    (void)state;
    assert_int_equal(nat_outcome_of(NAT_RESULT_NEGATIVE, 1), NAT_OUTCOME_NEGATIVE);
    assert_int_equal(nat_outcome_of(NAT_RESULT_NEGATIVE, 10), NAT_OUTCOME_NEGATIVE);
    assert_int_equal(nat_outcome_of(NAT_RESULT_POSITIVE, 1), NAT_OUTCOME_POSITIVE);
    assert_int_equal(nat_outcome_of(NAT_RESULT_POSITIVE, 5), NAT_OUTCOME_RETEST);
    assert_int_equal(nat_outcome_of(NAT_RESULT_POSITIVE, 20), NAT_OUTCOME_RETEST);
    assert_int_equal(nat_outcome_of(NAT_RESULT_INVALID, 1), NAT_OUTCOME_INVALID);
    assert_int_equal(nat_outcome_of(NAT_RESULT_INVALID, 10), NAT_OUTCOME_INVALID);
    assert_int_equal(nat_outcome_of((enum nat_result)0, 10), 0);
}

static void duplicate_round(void **state)
{
    (void)state;
    /* without a plan: the China day, which turns at 16:00 UTC */
    assert_int_equal(nat_sample_round_day(0, at(0)), nat_sample_round_day(0, at(1439)));
    assert_int_equal(nat_sample_round_day(0, at(0) - 1) + 1, nat_sample_round_day(0, at(0)));
    assert_int_equal(nat_sample_round_day(0, at(1440)), nat_sample_round_day(0, at(0)) + 1);
    assert_true(nat_sample_round_day(0, at(0)) > 0);
    /* with a plan: one round whatever the days, the China day the plan's
     * id was made (a real day: nat_samples' partition, docs/retention.md) */
    int64_t plan = id_min_at(at(3 * 1440 + 30)) + 7; /* made on the 4th day */
    assert_int_equal(nat_sample_round_day(plan, at(0)), nat_sample_round_day(0, at(3 * 1440)));
    assert_int_equal(nat_sample_round_day(plan, at(9 * 1440 + 5)),
                     nat_sample_round_day(plan, at(0)));
    /* a plan made two days later: its own round day */
    assert_int_equal(nat_sample_round_day(id_min_at(at(5 * 1440 + 1)), at(0)),
                     nat_sample_round_day(plan, at(0)) + 2);
}

/* Overdue transit: strictly more than the limit, at its exact edge; only a
 * box in transit; the limit knob and its fallback. */
static void transit_overdue(void **state)
{
    (void)state;
    int64_t t = 1700000000000LL, min = 60000;
    assert_false(nat_box_overdue(NAT_BOX_IN_TRANSIT, t, t + 240 * min, 240));
    assert_true(nat_box_overdue(NAT_BOX_IN_TRANSIT, t, t + 240 * min + 1, 240));
    assert_false(nat_box_overdue(NAT_BOX_IN_TRANSIT, t, t, 1));
    assert_true(nat_box_overdue(NAT_BOX_IN_TRANSIT, t, t + min + 1, 1));
    assert_false(nat_box_overdue(NAT_BOX_PACKED, t, t + 10000 * min, 240));
    assert_false(nat_box_overdue(NAT_BOX_RECEIVED, t, t + 10000 * min, 240));
    assert_int_equal(nat_transit_limit(), NAT_TRANSIT_LIMIT_DEFAULT);
    nat_set_transit_limit(30);
    assert_int_equal(nat_transit_limit(), 30);
    nat_set_transit_limit(0); /* not a limit: the default */
    assert_int_equal(nat_transit_limit(), NAT_TRANSIT_LIMIT_DEFAULT);
}

/* The box states' words: what the lists and the push send. */
static void box_states(void **state)
{
    (void)state;
    assert_string_equal(vocab_name(&nat_box_state_vocab, NAT_BOX_PACKED), "packed");
    assert_string_equal(vocab_name(&nat_box_state_vocab, NAT_BOX_IN_TRANSIT), "in_transit");
    assert_string_equal(vocab_label(&nat_box_state_vocab, NAT_BOX_RECEIVED), "已签收");
    assert_int_equal(vocab_parse(&nat_box_state_vocab, "in_transit"), NAT_BOX_IN_TRANSIT);
    assert_true(vocab_parse(&nat_box_state_vocab, "lost") <= 0);
}

/* The hand-over rule, in its order: received first, then the double
 * hand-over, then the seal; a receipt needs the box in transit. */
static void box_admission(void **state)
{
    (void)state;
    struct nat_box b = {.state = NAT_BOX_PACKED, .sealed_at = 0, .holder_name = "张三"};
    assert_int_equal(nat_box_admit(&b, NAT_BOX_IN_TRANSIT), E_CONFLICT);
    assert_string_equal(err_last()->slug, "box_not_sealed");
    assert_string_equal(err_last()->field, "barcode");
    assert_int_equal(nat_box_admit(&b, NAT_BOX_RECEIVED), E_CONFLICT);
    assert_string_equal(err_last()->slug, "box_not_in_transit");
    b.sealed_at = 1;
    assert_int_equal(nat_box_admit(&b, NAT_BOX_IN_TRANSIT), E_OK);
    b.state = NAT_BOX_IN_TRANSIT;
    assert_int_equal(nat_box_admit(&b, NAT_BOX_IN_TRANSIT), E_CONFLICT);
    assert_string_equal(err_last()->slug, "box_in_transit");
    assert_int_equal(nat_box_admit(&b, NAT_BOX_RECEIVED), E_OK);
    b.state = NAT_BOX_RECEIVED;
    assert_int_equal(nat_box_admit(&b, NAT_BOX_RECEIVED), E_CONFLICT);
    assert_string_equal(err_last()->slug, "box_received");
    assert_int_equal(nat_box_admit(&b, NAT_BOX_IN_TRANSIT), E_CONFLICT);
    assert_string_equal(err_last()->slug, "box_received");
}

/* A historical round's unit: each rule at its exact edge, the field named. */
static void round_figures(void **state)
{
    (void)state;
    struct nat_round_figure f = {.planned = 10, .tested = 10, .positive = 10, .untested = -1};
    assert_int_equal(nat_round_figure_check(&f), E_OK); /* every bound reached, none passed */
    f.untested = 10;
    assert_int_equal(nat_round_figure_check(&f), E_OK);
    f.untested = 11;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->slug, "untested_over_planned");
    assert_string_equal(err_last()->field, "untested");
    f.untested = -2;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->slug, "out_of_range");
    f.untested = -1;
    f.tested = 11;
    f.positive = 0;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->slug, "tested_over_planned");
    assert_string_equal(err_last()->field, "tested");
    f.tested = 5;
    f.positive = 6;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->slug, "positive_over_tested");
    assert_string_equal(err_last()->field, "positive");
    f.positive = -1;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->field, "positive");
    f.positive = 0;
    f.planned = -1;
    assert_int_equal(nat_round_figure_check(&f), E_INPUT);
    assert_string_equal(err_last()->slug, "out_of_range");
    assert_string_equal(err_last()->field, "planned");
    f = (struct nat_round_figure){.untested = -1};
    assert_int_equal(nat_round_figure_check(&f), E_OK); /* an empty unit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hours_parse_forms), cmocka_unit_test(hours_open_at_edges),
        cmocka_unit_test(distance),          cmocka_unit_test(site_input_check),
        cmocka_unit_test(tube_sizes),        cmocka_unit_test(barcodes),
        cmocka_unit_test(tube_admission),    cmocka_unit_test(duplicate_round),
        cmocka_unit_test(transit_overdue),   cmocka_unit_test(box_states),
        cmocka_unit_test(box_admission),     cmocka_unit_test(result_admission),
        cmocka_unit_test(outcomes),          cmocka_unit_test(round_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

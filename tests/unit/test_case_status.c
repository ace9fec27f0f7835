/*
 * Unit tests of the status state machine's table (case/status.c,
 * docs/cases.md): every (from, to) pair of the nine statuses against the
 * matrix below, written out independently of the code's bit masks, and
 * out-of-range statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "case/internal.h"
#include "person/person.h"

/* want[from - 1][to - 1]; order: normal, observation, home_isolation,
 * central_quarantine, suspected, confirmed, asymptomatic, cured, dead */
static const char want[9][10] = {
    /*           NOHCSFACD */
    /* normal */ "011100000",
    /* obs    */ "101111100",
    /* home   */ "110111100",
    /* central*/ "111011100",
    /* susp   */ "111101100",
    /* conf   */ "000001011",
    /* asym   */ "000001010",
    /* cured  */ "111100000",
    /* dead   */ "000000000",
};

static void every_pair(void **state)
{
    (void)state;
    int allowed = 0;
    for (int from = PERSON_NORMAL; from <= PERSON_DEAD; from++) {
        for (int to = PERSON_NORMAL; to <= PERSON_DEAD; to++) {
            bool w = want[from - 1][to - 1] == '1';
            if (case_status_allowed(from, to) != w) {
                print_error("%s -> %s: want %d\n", person_status_name(from), person_status_name(to),
                            w);
                fail();
            }
            allowed += w;
        }
    }
    assert_int_equal(allowed, 3 + 3 * 6 + 6 + 3 + 2 + 4);
}

static void dead_is_final(void **state)
{
    (void)state;
    for (int to = 0; to <= PERSON_DEAD + 1; to++)
        assert_false(case_status_allowed(PERSON_DEAD, to));
}

static void out_of_range(void **state)
{
    (void)state;
    assert_false(case_status_allowed(0, PERSON_OBSERVATION));
    assert_false(case_status_allowed(PERSON_NORMAL, 0));
    assert_false(case_status_allowed(PERSON_NORMAL, PERSON_DEAD + 1));
    assert_false(case_status_allowed(PERSON_DEAD + 1, PERSON_NORMAL));
    assert_false(case_status_allowed(-1, -1));
}

/* only a confirmed case may "change" to its own status (its severity) */
static void same_status(void **state)
{
    (void)state;
    for (int s = PERSON_NORMAL; s <= PERSON_DEAD; s++)
        assert_int_equal(case_status_allowed(s, s), s == PERSON_CONFIRMED);
}

static void observation_states(void **state)
{
    (void)state;
    assert_true(case_status_is_observation(PERSON_OBSERVATION));
    assert_true(case_status_is_observation(PERSON_HOME_ISOLATION));
    assert_true(case_status_is_observation(PERSON_CENTRAL_QUARANTINE));
    assert_false(case_status_is_observation(PERSON_NORMAL));
    assert_false(case_status_is_observation(PERSON_SUSPECTED));
    assert_false(case_status_is_observation(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair),         cmocka_unit_test(dead_is_final),
        cmocka_unit_test(out_of_range),       cmocka_unit_test(same_status),
        cmocka_unit_test(observation_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

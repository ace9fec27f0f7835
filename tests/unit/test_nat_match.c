/*
 * Unit tests of the city-site matcher's pure parts (nat.h "the city's site
 * list"): the name normaliser (folding, punctuation, brackets, suffixes),
 * the bigram Dice score, and the combined score at the exact edges of the
 * near and far distances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "nat/nat.h"

/* The normalised name as UTF-8, for comparisons. */
static const char *norm(const char *s)
{
    static char out[512];
    uint32_t cps[128];
    size_t n = nat_name_normalise(s, cps, 128), k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 0x80)
            out[k++] = (char)c;
        else if (c < 0x800) {
            out[k++] = (char)(0xC0 | c >> 6);
            out[k++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (char)(0xE0 | c >> 12);
            out[k++] = (char)(0x80 | (c >> 6 & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[k] = '\0';
    return out;
}

static void normalise_drops_forms_and_suffixes(void **state)
{
    (void)state;
    assert_string_equal(norm("多福巷核酸检测点"), "多福巷");
    assert_string_equal(norm("多福巷 核酸采样点"), "多福巷");
    assert_string_equal(norm("多福巷核酸点位"), "多福巷");
    assert_string_equal(norm("（隆福寺）核酸检测点"), "隆福寺");
    assert_string_equal(norm("【景山】公园·东门采样站"), "景山公园东门");
    assert_string_equal(norm("ＡＢＣ小区３号 采样点"), "abc小区3号");
    assert_string_equal(norm("A-B_c (2)"), "abc2");
    /* suffixes stacked, taken off one after the other */
    assert_string_equal(norm("东门采样点点位"), "东门");
    /* a suffix is taken off only while something is left */
    assert_string_equal(norm("核酸检测点"), "核酸");
    assert_string_equal(norm("点位"), "点位");
    assert_string_equal(norm(""), "");
    assert_string_equal(norm("、。！"), "");
    /* an invalid byte is dropped, the rest kept */
    assert_string_equal(norm("东\xff门"), "东门");
}

static void name_score_is_bigram_dice(void **state)
{
    (void)state;
    assert_true(nat_name_score("多福巷核酸检测点", "多福巷核酸采样点") == 1.0);
    /* {景山,山公,公园,园东,东门} and {景山,山公,公园}: 2·3 / 8 */
    assert_true(fabs(nat_name_score("景山公园东门核酸点", "景山公园采样点") - 0.75) < 1e-9);
    assert_true(nat_name_score("多福巷", "隆福寺") == 0.0);
    /* repeated bigrams count as often as they occur on both sides */
    assert_true(fabs(nat_name_score("甲乙甲乙", "甲乙") - 2.0 * 1 / (3 + 1)) < 1e-9);
    /* one character: compared as characters */
    assert_true(nat_name_score("东", "东门") == 2.0 / 3);
    assert_true(nat_name_score("", "东门") == 0.0);
    assert_true(nat_name_score("、", "、") == 0.0);
    /* symmetric */
    assert_true(nat_name_score("北新桥三条", "北新桥") == nat_name_score("北新桥", "北新桥三条"));
}

static void match_score_edges(void **state)
{
    (void)state;
    struct nat_match_params p = nat_match_params_get();
    assert_true(p.near_m == 300 && p.far_m == 2000);
    assert_true(nat_match_score(0.6, -1) == 0.6); /* no position: the name alone */
    assert_true(fabs(nat_match_score(0.6, 0) - 0.75) < 1e-9);
    assert_true(fabs(nat_match_score(0.6, 300) - 0.75) < 1e-9);
    assert_true(nat_match_score(0.95, 100) == 1.0); /* capped */
    /* just past near: no bonus, hardly lowered */
    assert_true(nat_match_score(0.6, 300.5) < 0.6 && nat_match_score(0.6, 300.5) > 0.599);
    assert_true(fabs(nat_match_score(0.8, 1150) - 0.8 * 0.875) < 1e-9);
    assert_true(fabs(nat_match_score(0.8, 2000) - 0.6) < 1e-9);
    assert_true(nat_match_score(1.0, 2000.5) == -1); /* ruled out */
    /* the thresholds follow the configuration */
    nat_match_configure(&(struct nat_match_params){0.9, 0.1, 0.5, 100, 1000});
    assert_true(fabs(nat_match_score(0.6, 100) - 0.75) < 1e-9);
    assert_true(nat_match_score(0.6, 150) < 0.6);
    assert_true(nat_match_score(1.0, 1001) == -1);
    nat_match_configure(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalise_drops_forms_and_suffixes),
        cmocka_unit_test(name_score_is_bigram_dice),
        cmocka_unit_test(match_score_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

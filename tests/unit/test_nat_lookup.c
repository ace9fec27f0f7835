/*
 * Unit tests of the pure parts of the result look-up (nat.h "result
 * look-up"): an uploaded id number normalised and checked, the start of the
 * 3-day window at its exact China-day edges, the labels, and the cheap
 * checks of an upload at the row cap's edge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/time.h"
#include "base/validate.h"
#include "nat/nat.h"

#define DAY_MS 86400000LL
/* 2026-12-04 00:00 China time, as epoch ms */
#define DEC4 1796313600000LL

/* A valid resident id of birth 1985-05-05 and sequence `seq`. */
static void valid_id(int seq, char out[19])
{
    snprintf(out, 19, "11010119850505%03d", seq);
    out[17] = resident_id_check_char(out);
    out[18] = '\0';
}

static void id_check(void **state)
{
    (void)state;
    char id[19], out[NAT_ID_NORMAL], raw[64];
    valid_id(401, id);
    assert_int_equal(nat_lookup_id_check(id, out), NAT_ID_OK);
    assert_string_equal(out, id);
    /* blanks anywhere, a lower-case x: the same number */
    snprintf(raw, sizeof raw, " %.6s %.8s\t%s\r\n", id, id + 6, id + 14);
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_OK);
    assert_string_equal(out, id);
    for (int seq = 0; seq < 1000; seq++) { /* find one whose check is X */
        valid_id(seq, id);
        if (id[17] == 'X')
            break;
    }
    assert_int_equal(id[17], 'X');
    strcpy(raw, id);
    raw[17] = 'x';
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_OK);
    assert_string_equal(out, id);
    /* a wrong check character, one short, one long, letters, a bad date */
    valid_id(401, id);
    strcpy(raw, id);
    raw[17] = raw[17] == '0' ? '1' : '0';
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_MALFORMED);
    raw[17] = '\0';
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_MALFORMED);
    snprintf(raw, sizeof raw, "%s1", id);
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_MALFORMED);
    assert_int_equal(nat_lookup_id_check("11010119850505401Z", out), NAT_ID_MALFORMED);
    strcpy(raw, "11010119851305401");
    raw[17] = resident_id_check_char(raw);
    raw[18] = '\0';
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_MALFORMED);
    /* a long cell never overruns out */
    memset(raw, '1', 63);
    raw[63] = '\0';
    assert_int_equal(nat_lookup_id_check(raw, out), NAT_ID_MALFORMED);
    /* nothing */
    assert_int_equal(nat_lookup_id_check("", out), NAT_ID_EMPTY);
    assert_int_equal(nat_lookup_id_check("  \t", out), NAT_ID_EMPTY);
    /* the check leaves no error detail behind */
    assert_int_equal(err_last()->code, E_OK);
}

static void recent_window(void **state)
{
    (void)state;
    /* today and the two China days before: from 00:00 of Dec 2 */
    assert_int_equal(nat_recent_since(DEC4), DEC4 - 2 * DAY_MS);
    assert_int_equal(nat_recent_since(DEC4 + DAY_MS - 1), DEC4 - 2 * DAY_MS);
    assert_int_equal(nat_recent_since(DEC4 + DAY_MS), DEC4 - DAY_MS);
    assert_int_equal(nat_recent_since(DEC4 - 1), DEC4 - 3 * DAY_MS);
}

static void labels(void **state)
{
    (void)state;
    assert_string_equal(nat_result_label("negative"), "阴性");
    assert_string_equal(nat_result_label("positive"), "阳性");
    assert_string_equal(nat_result_label("pool_positive"), "混管阳性待复核");
    assert_string_equal(nat_result_label("invalid"), "invalid");
}

static void probe(void **state)
{
    (void)state;
    assert_int_equal(nat_lookup_probe("", 0, true), E_INPUT);
    assert_string_equal(err_last()->slug, "empty");
    assert_int_equal(nat_lookup_probe("", 0, false), E_INPUT);
    assert_int_equal(nat_lookup_probe("身份证号\n", strlen("身份证号\n"), true), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_xlsx");
    assert_int_equal(nat_lookup_probe("PK\3\4rest", 8, true), E_OK);
    /* a header and NAT_LOOKUP_MAX_ROWS rows pass; one more line does not,
     * with or without the last line's break */
    size_t lines = NAT_LOOKUP_MAX_ROWS + 1, n = lines * 2;
    char *csv = malloc(n + 2);
    assert_non_null(csv);
    for (size_t i = 0; i < lines; i++)
        memcpy(csv + 2 * i, "1\n", 2);
    assert_int_equal(nat_lookup_probe(csv, n, false), E_OK);
    assert_int_equal(nat_lookup_probe(csv, n - 1, false), E_OK);
    memcpy(csv + n, "1\n", 2);
    assert_int_equal(nat_lookup_probe(csv, n + 2, false), E_INPUT);
    assert_string_equal(err_last()->slug, "too_many_rows");
    assert_int_equal(nat_lookup_probe(csv, n + 1, false), E_INPUT);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(id_check),
        cmocka_unit_test(recent_window),
        cmocka_unit_test(labels),
        cmocka_unit_test(probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

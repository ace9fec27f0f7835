/*
 * The access journal's frames (access/journal.h): a record with its audit
 * entry encodes and decodes to itself; a torn frame (cut anywhere), a
 * flipped byte and a record outside the enums are refused, so start-up
 * drops them rather than indexing garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "access/journal.h"

static struct journal_rec sample(void)
{
    return (struct journal_rec){
        .id = 387714286492846244LL,
        .venue_id = 42,
        .region_code = 110101001001000000LL,
        .person_id = 7,
        .at = 1796486400000LL,
        .operator_user_id = 3,
        .created_at = 1796486400000LL,
        .temperature = -1,
        .direction = ACCESS_IN,
        .colour = CODE_GREEN,
        .pass = 1,
        .method = ACCESS_STAFF_SCAN,
        .audited = true,
        .audit = {.user_id = 3,
                  .username = "gate_1",
                  .role = "checkpoint_staff",
                  .ip = "127.0.0.1",
                  .action = "access.scan",
                  .object_type = "access_record",
                  .object_id = 387714286492846244LL,
                  .result = "ok",
                  .detail = NULL},
    };
}

static void round_trip(void **state)
{
    (void)state;
    struct journal_rec in = sample(), out;
    uint8_t *buf;
    size_t len, used;
    assert_int_equal(journal_frame_encode(&in, &buf, &len), E_OK);
    assert_true(journal_frame_decode(buf, len, &out, &used));
    assert_int_equal(used, len);
    assert_int_equal(out.id, in.id);
    assert_int_equal(out.region_code, in.region_code);
    assert_int_equal(out.at, in.at);
    assert_true(out.temperature < 0);
    assert_int_equal(out.direction, ACCESS_IN);
    assert_int_equal(out.pass, 1);
    assert_true(out.audited);
    assert_string_equal(out.audit.username, "gate_1");
    assert_string_equal(out.audit.action, "access.scan");
    assert_int_equal(out.audit.object_id, in.id);
    assert_null(out.audit.detail); /* NULL stays NULL, not "" */
    journal_rec_free(&out);
    /* two frames back to back: the first's size is where the second starts */
    uint8_t *two = malloc(2 * len);
    memcpy(two, buf, len);
    memcpy(two + len, buf, len);
    assert_true(journal_frame_decode(two, 2 * len, &out, &used));
    journal_rec_free(&out);
    assert_true(journal_frame_decode(two + used, 2 * len - used, &out, &used));
    journal_rec_free(&out);
    free(two);
    free(buf);
}

static void torn_and_corrupt_refused(void **state)
{
    (void)state;
    struct journal_rec in = sample(), out;
    uint8_t *buf;
    size_t len, used;
    assert_int_equal(journal_frame_encode(&in, &buf, &len), E_OK);
    for (size_t cut = 0; cut < len; cut++) /* a write torn anywhere */
        assert_false(journal_frame_decode(buf, cut, &out, &used));
    for (size_t i = 0; i < len; i++) { /* any byte changed */
        buf[i] ^= 0x5A;
        assert_false(journal_frame_decode(buf, len, &out, &used));
        buf[i] ^= 0x5A;
    }
    assert_true(journal_frame_decode(buf, len, &out, &used)); /* positive control */
    journal_rec_free(&out);
    free(buf);
    /* a checksummed record outside the enums is refused too */
    in.direction = 9;
    assert_int_equal(journal_frame_encode(&in, &buf, &len), E_OK);
    assert_false(journal_frame_decode(buf, len, &out, &used));
    free(buf);
}

static void unaudited_record(void **state)
{
    (void)state;
    struct journal_rec in = sample(), out;
    in.audited = false; /* a face terminal's passage carries no entry */
    in.temperature = 36.6;
    uint8_t *buf;
    size_t len, used;
    assert_int_equal(journal_frame_encode(&in, &buf, &len), E_OK);
    assert_true(journal_frame_decode(buf, len, &out, &used));
    assert_false(out.audited);
    assert_true(out.temperature > 36.5 && out.temperature < 36.7);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(torn_and_corrupt_refused),
        cmocka_unit_test(unaudited_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The venue capability below HTTP: the kind and direction tables, the input
 * checks, and against a temporary SQLite database the place and region
 * rules, scope, the venue code with the organisation's credit code, its
 * verification and revocation by regeneration. tests/api/venue.test.mjs
 * runs the same rules through HTTP on both databases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/regcode.h"
#include "base/validate.h"
#include "place/place.h"
#include "security/crypto.h"
#include "venue/venue.h"

static db *D;
static arena *A;
static struct fixture_db F;

/* 东城区 > street > community > grid > building; 西城区 > street > community */
static const char *const regions[] = {
    "110101000000",       "110101001000", "110101001001", "110101001001001",
    "110101001001001001", "110102000000", "110102001000", "110102001001",
};

static int64_t code(const char *s)
{
    enum region_level lv;
    return regcode_parse(s, &lv);
}

static int setup(void **state)
{
    (void)state;
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 5 + 3);
    keys_set_master(master);
    if (fixture_sqlite_open(&F, "venue", &D))
        return -1;
    if (db_migrate(D) != E_OK || fixture_regions(D, regions, sizeof regions / sizeof *regions))
        return -1;
    A = arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    fixture_sqlite_close(&F, &D);
    return 0;
}

static void assert_err(err e, err code_, const char *slug, const char *field)
{
    assert_int_equal(e, code_);
    assert_string_equal(err_last()->slug, slug);
    if (field)
        assert_string_equal(err_last()->field, field);
}

/* ---- pure ------------------------------------------------------------------------- */

static void test_tables(void **state)
{
    (void)state;
    int n = 0;
    for (size_t i = 1; i < venue_kind_vocab.n; i++, n++) {
        const char *k = venue_kind_vocab.words[i].name;
        enum venue_kind kind = venue_kind_parse(k);
        assert_int_equal(kind, n + 1);
        assert_string_equal(venue_kind_name(kind), k);
        assert_true(strlen(venue_kind_label(kind)) > 0);
    }
    assert_int_equal(n, VENUE_KIND__COUNT - 1);
    assert_string_equal(venue_kind_label(VENUE_COMMUNITY_GATE), "小区出入口");
    assert_int_equal(venue_kind_parse("Shop"), 0);
    assert_int_equal(venue_kind_parse(NULL), 0);
    assert_string_equal(venue_kind_name(VENUE_KIND__COUNT), "");
    assert_int_equal(venue_direction_parse("in"), VENUE_IN);
    assert_int_equal(venue_direction_parse("both"), VENUE_BOTH);
    assert_int_equal(venue_direction_parse("sideways"), 0);
    assert_string_equal(venue_direction_label(VENUE_OUT), "出");
    assert_string_equal(venue_direction_name(0), "");
}

static void test_check(void **state)
{
    (void)state;
    const struct venue_input ok = {.set = VF_NAME | VF_KIND | VF_PLACE,
                                   .name = "东门",
                                   .kind = VENUE_COMMUNITY_GATE,
                                   .place_id = 1};
    assert_int_equal(venue_input_check(&ok, true), E_OK);
    struct venue_input x = ok;
    x.set &= ~VF_PLACE;
    assert_err(venue_input_check(&x, true), E_INPUT, "required", "place_id");
    assert_int_equal(venue_input_check(&x, false), E_OK);
    x = ok;
    x.name = "";
    assert_err(venue_input_check(&x, true), E_INPUT, "required", "name");
    x = ok;
    x.set |= VF_COLORS;
    x.allowed_colors = 0;
    assert_err(venue_input_check(&x, true), E_INPUT, "invalid_value", "allowed_colors");
    x.allowed_colors = 8;
    assert_err(venue_input_check(&x, true), E_INPUT, "invalid_value", "allowed_colors");
    x = ok;
    x.set |= VF_LIMIT;
    x.limit_count = 3;
    assert_err(venue_input_check(&x, true), E_INPUT, "out_of_range", "limit_hours");
    x.limit_hours = 24;
    assert_int_equal(venue_input_check(&x, true), E_OK);
    x.limit_count = 0;
    assert_err(venue_input_check(&x, true), E_INPUT, "invalid_value", "limit_hours");
    x = ok;
    x.set |= VF_FEVER;
    x.fever_threshold = NAN;
    assert_err(venue_input_check(&x, true), E_INPUT, "out_of_range", "fever_threshold");
    x.fever_threshold = 37.3;
    assert_int_equal(venue_input_check(&x, true), E_OK);
    x = ok;
    x.set |= VF_DIRECTION;
    x.direction = 9;
    assert_err(venue_input_check(&x, true), E_INPUT, "invalid_value", "direction");
}

/* ---- SQL ---------------------------------------------------------------------------- */

static void test_venues_and_codes(void **state)
{
    (void)state;
    struct scope all = scope_all(), east = scope_of(code("110101000000")),
                 west = scope_of(code("110102000000"));
    char cc[19];
    memcpy(cc, "51110101MJ0000001", 17);
    cc[17] = credit_code_check_char(cc);
    cc[18] = '\0';
    int64_t ent, place, west_place, id;
    struct enterprise_input ei = {.set = EF_NAME | EF_CREDIT_CODE | EF_REGION,
                                  .name = "居委会",
                                  .credit_code = cc,
                                  .region_code = code("110101001001")};
    assert_int_equal(enterprise_create(D, A, &all, &ei, &ent), E_OK);
    struct place_input pi = {.set = PL_NAME | PL_KIND | PL_REGION | PL_ENTERPRISE,
                             .name = "小区",
                             .kind = PLACE_COMMUNITY,
                             .region_code = code("110101001001"),
                             .enterprise_id = ent};
    assert_int_equal(place_create(D, A, &all, &pi, &place), E_OK);
    pi.set &= ~PL_ENTERPRISE;
    pi.region_code = code("110102001001");
    assert_int_equal(place_create(D, A, &all, &pi, &west_place), E_OK);

    struct venue_input in = {.set = VF_NAME | VF_KIND | VF_PLACE,
                             .name = "东门",
                             .kind = VENUE_COMMUNITY_GATE,
                             .place_id = place};
    /* the place must be visible, the region inside it and existing */
    in.place_id = west_place;
    assert_err(venue_create(D, A, &east, &in, &id), E_INPUT, "invalid_place", "place_id");
    in.place_id = place;
    in.set |= VF_REGION;
    in.region_code = code("110102001001");
    assert_err(venue_create(D, A, &all, &in, &id), E_INPUT, "invalid_region", "region_code");
    in.region_code = code("110101001001001002");
    assert_err(venue_create(D, A, &all, &in, &id), E_INPUT, "invalid_region", "region_code");
    in.region_code = code("110101001001001001");
    assert_int_equal(venue_create(D, A, &east, &in, &id), E_OK);

    struct venue v;
    assert_int_equal(venue_find(D, A, &east, id, &v), E_OK);
    assert_int_equal(v.region_code, code("110101001001001001"));
    assert_string_equal(v.credit_code, cc);
    assert_int_equal(v.allowed_colors, VENUE_GREEN);
    assert_true(fabs(v.fever_threshold - VENUE_FEVER_DEFAULT) < 1e-9);
    assert_int_equal(v.direction, VENUE_BOTH);
    assert_true(v.enabled);
    assert_int_equal(v.code_version, 1);
    assert_int_equal(venue_find(D, A, &west, id, &v), E_NOT_FOUND);
    assert_int_equal(venue_find(D, A, &east, id, &v), E_OK);

    /* the code: deterministic, carries the credit code, verifies */
    char t1[TOKEN_MAX], t2[TOKEN_MAX];
    assert_int_equal(venue_code(&v, t1), E_OK);
    assert_int_equal(venue_code(&v, t2), E_OK);
    assert_string_equal(t1, t2);
    struct venue got;
    struct token tok;
    assert_int_equal(venue_code_verify(D, A, t1, &got, &tok), E_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(tok.credit_code, cc);

    /* regenerate: the old code is revoked, outside scope is not found */
    assert_int_equal(venue_code_regenerate(D, A, &west, id, &got), E_NOT_FOUND);
    assert_int_equal(venue_code_regenerate(D, A, &east, id, &got), E_OK);
    assert_int_equal(got.code_version, 2);
    assert_err(venue_code_verify(D, A, t1, &v, NULL), E_INPUT, "venue_code_revoked", "token");
    assert_int_equal(venue_code(&got, t2), E_OK);
    assert_string_not_equal(t1, t2);
    assert_int_equal(venue_code_verify(D, A, t2, &v, NULL), E_OK);

    /* disabled, then deleted */
    struct venue_input off = {.set = VF_ENABLED, .enabled = false};
    assert_int_equal(venue_update(D, A, &east, id, &off), E_OK);
    assert_err(venue_code_verify(D, A, t2, &v, NULL), E_CONFLICT, "venue_disabled", NULL);
    assert_int_equal(venue_delete(D, &west, id), E_NOT_FOUND);
    assert_int_equal(venue_delete(D, &east, id), E_OK);
    assert_err(venue_code_verify(D, A, t2, &v, NULL), E_NOT_FOUND, "unknown_venue", NULL);
    assert_err(venue_code_verify(D, A, "FK1.X.Y", &v, NULL), E_INPUT, "token_malformed", "token");

    /* list: scope and filters */
    in.set = VF_NAME | VF_KIND | VF_PLACE;
    in.name = "西门";
    assert_int_equal(venue_create(D, A, &east, &in, &id), E_OK);
    struct venue *items;
    size_t n;
    int64_t total;
    struct venue_filter f = {.enabled = -1, .page = 1, .page_size = 20};
    assert_int_equal(venue_list(D, A, &east, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 1);
    assert_string_equal(items[0].name, "西门");
    assert_int_equal(venue_list(D, A, &west, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 0);
    f.enabled = 0;
    assert_int_equal(venue_list(D, A, &east, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 0);
    f.enabled = -1;
    f.sort = "-secret";
    assert_err(venue_list(D, A, &east, &f, &items, &n, &total), E_INPUT, "invalid_parameter",
               "sort");
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_check),
    };
    const struct CMUnitTest sql[] = {
        cmocka_unit_test(test_venues_and_codes),
    };
    int failed = cmocka_run_group_tests_name("venue", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("venue/sqlite", sql, setup, teardown);
    return failed;
}

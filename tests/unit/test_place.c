/*
 * The place capability below HTTP: the kind table, the input checks, the
 * LIKE and ORDER BY builders, and the SQL against a temporary SQLite
 * database (scope, sealing, credit-code uniqueness, the enterprise link).
 * The black-box suites (tests/api/place.test.mjs, enterprise.test.mjs) run
 * the same rules through HTTP on both databases.
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
#include "db/query.h"
#include "place/internal.h"
#include "security/crypto.h"

static db *D;
static arena *A;
static struct fixture_db F;

/* 110101 东城区 > 110101001 street > 110101001001 community; 110102 西城区. */
static const char *const regions[] = {"110101000000", "110101001000", "110101001001",
                                      "110102000000"};

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
        master[i] = (uint8_t)(i * 7 + 1);
    keys_set_master(master);
    if (fixture_sqlite_open(&F, "place", &D))
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

/* The GB 32100 check character appended to 17 characters. */
static const char *credit(const char *first17)
{
    char *s = arena_printf(A, "%s?", first17);
    s[17] = credit_code_check_char(first17);
    return s;
}

static void assert_err(err e, err code, const char *slug, const char *field)
{
    assert_int_equal(e, code);
    assert_string_equal(err_last()->slug, slug);
    if (field)
        assert_string_equal(err_last()->field, field);
}

/* ---- pure ------------------------------------------------------------------------- */

static void test_kinds(void **state)
{
    (void)state;
    int n = 0;
    for (size_t i = 1; i < place_kind_vocab.n; i++, n++) {
        const char *k = place_kind_vocab.words[i].name;
        enum place_kind kind = place_kind_parse(k);
        assert_int_equal(kind, n + 1);
        assert_string_equal(place_kind_name(kind), k);
        assert_true(strlen(place_kind_label(kind)) > 0);
    }
    assert_int_equal(n, PLACE_KIND__COUNT - 1);
    assert_string_equal(place_kind_label(PLACE_FACTORY), "工厂/厂房");
    assert_string_equal(place_kind_label(PLACE_QUARANTINE_SITE), "隔离点");
    assert_int_equal(place_kind_parse("Community"), 0);
    assert_int_equal(place_kind_parse(NULL), 0);
    assert_string_equal(place_kind_name(0), "");
    assert_string_equal(place_kind_label(PLACE_KIND__COUNT), "");
}

static void test_place_check(void **state)
{
    (void)state;
    struct place_input in = {.set = PL_NAME | PL_KIND | PL_REGION,
                             .name = "小区",
                             .kind = PLACE_COMMUNITY,
                             .region_code = code("110101001001")};
    assert_int_equal(place_input_check(&in, true), E_OK);

    struct place_input x = in;
    x.set &= ~PL_KIND;
    assert_err(place_input_check(&x, true), E_INPUT, "required", "kind");
    assert_int_equal(place_input_check(&x, false), E_OK); /* an update may leave it */

    x = in;
    x.name = "";
    assert_err(place_input_check(&x, true), E_INPUT, "required", "name");
    x.name = "\x01";
    assert_err(place_input_check(&x, true), E_INPUT, "invalid_value", "name");

    x = in;
    x.set |= PL_AREA;
    x.area = -0.5;
    assert_err(place_input_check(&x, true), E_INPUT, "out_of_range", "area");
    x.area = NAN;
    assert_err(place_input_check(&x, true), E_INPUT, "out_of_range", "area");
    x.area = 0;
    assert_int_equal(place_input_check(&x, true), E_OK);

    x = in;
    x.set |= PL_POSITION;
    x.has_position = true;
    x.lng = 180;
    x.lat = -90;
    assert_int_equal(place_input_check(&x, true), E_OK);
    x.lng = 180.000001;
    assert_err(place_input_check(&x, true), E_INPUT, "out_of_range", "lng");
    x.lng = 0;
    x.lat = 90.5;
    assert_err(place_input_check(&x, true), E_INPUT, "out_of_range", "lat");
    x.has_position = false; /* clearing ignores the numbers */
    assert_int_equal(place_input_check(&x, true), E_OK);

    x = in;
    x.set |= PL_CONTACT_PHONE;
    x.contact_phone = "13812345678";
    assert_int_equal(place_input_check(&x, true), E_OK);
    x.contact_phone = "23812345678";
    assert_err(place_input_check(&x, true), E_INPUT, "invalid_phone", "contact_phone");
    x.contact_phone = NULL; /* clears */
    assert_int_equal(place_input_check(&x, true), E_OK);

    x = in;
    x.set |= PL_HOUSEHOLDS;
    x.households = PLACE_HOUSEHOLDS_MAX + 1;
    assert_err(place_input_check(&x, true), E_INPUT, "out_of_range", "households");
    x.kind = 0;
    x.households = 0;
    assert_err(place_input_check(&x, true), E_INPUT, "invalid_value", "kind");
}

static void test_enterprise_check(void **state)
{
    (void)state;
    const char *good = credit("91110101MA0000001");
    struct enterprise_input in = {.set = EF_NAME | EF_CREDIT_CODE | EF_REGION,
                                  .name = "企业",
                                  .credit_code = good,
                                  .region_code = code("110101001001")};
    assert_int_equal(enterprise_input_check(&in, true), E_OK);
    struct enterprise_input x = in;
    char *lower = arena_strdup(A, good);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    x.credit_code = lower;
    assert_int_equal(enterprise_input_check(&x, true), E_OK);

    const char *bad[] = {"", "91110101MA000000", "91110101MA00000011", NULL};
    for (int i = 0; bad[i]; i++) {
        x.credit_code = bad[i];
        assert_err(enterprise_input_check(&x, true), E_INPUT, "invalid_credit_code", "credit_code");
    }
    for (const char *l = "IOZSV"; *l; l++) {
        char *c = arena_strdup(A, good);
        c[9] = *l;
        x.credit_code = c;
        assert_err(enterprise_input_check(&x, true), E_INPUT, "invalid_credit_code", "credit_code");
    }
    char *wrong = arena_strdup(A, good);
    wrong[17] = wrong[17] == '0' ? '1' : '0';
    x.credit_code = wrong;
    assert_err(enterprise_input_check(&x, true), E_INPUT, "invalid_credit_code", "credit_code");

    x = in;
    x.set |= EF_EMPLOYEES | EF_LEGAL_REP_PHONE;
    x.employees = -1;
    assert_err(enterprise_input_check(&x, true), E_INPUT, "out_of_range", "employees");
    x.employees = 5;
    x.legal_rep_phone = "1391234567";
    assert_err(enterprise_input_check(&x, true), E_INPUT, "invalid_phone", "legal_rep_phone");
}

static void test_like_and_order(void **state)
{
    (void)state;
    assert_string_equal(query_like_contains(A, NULL, true), "%%");
    assert_string_equal(query_like_contains(A, "AbC", true), "%abc%");
    assert_string_equal(query_like_contains(A, "AbC", false), "%AbC%");
    assert_string_equal(query_like_contains(A, "5%_\\x", true), "%5\\%\\_\\\\x%");
    assert_string_equal(query_like_contains(A, "小区'", true), "%小区'%");

    static const struct pl_sort keys[] = {{"name", "by name asc", "by name desc"},
                                          {"area", "by area asc", "by area desc"},
                                          {NULL, NULL, NULL}};
    const char *sql;
    assert_int_equal(pl_sort_sql(keys, NULL, "-area", &sql), E_OK);
    assert_string_equal(sql, "by area desc");
    assert_int_equal(pl_sort_sql(keys, "", "-area", &sql), E_OK);
    assert_string_equal(sql, "by area desc");
    assert_int_equal(pl_sort_sql(keys, "name", "-area", &sql), E_OK);
    assert_string_equal(sql, "by name asc");
    assert_int_equal(pl_sort_sql(keys, "-name", "-area", &sql), E_OK);
    assert_string_equal(sql, "by name desc");
    assert_err(pl_sort_sql(keys, "name; DROP TABLE places", "-area", &sql), E_INPUT,
               "invalid_parameter", "sort");
    assert_err(pl_sort_sql(keys, "--name", "-area", &sql), E_INPUT, "invalid_parameter", "sort");
    assert_err(pl_sort_sql(keys, "NAME", "-area", &sql), E_INPUT, "invalid_parameter", "sort");

    assert_string_equal(field_trim(A, " \t 小区 \r\n"), "小区");
    assert_null(field_trim(A, NULL));
    assert_string_equal(pl_upper(A, "91abc"), "91ABC");
}

/* ---- against SQLite ------------------------------------------------------------------ */

static void test_enterprises_and_scope(void **state)
{
    (void)state;
    struct scope east = scope_of(code("110101000000"));
    struct scope west = scope_of(code("110102000000"));
    struct scope street = scope_of(code("110101001000"));
    const char *c1 = credit("91110101MA0000011");
    struct enterprise_input in = {.set = EF_NAME | EF_CREDIT_CODE | EF_REGION | EF_LEGAL_REP,
                                  .name = "东城企业",
                                  .credit_code = pl_upper(A, c1),
                                  .region_code = code("110101001001"),
                                  .legal_rep = "王五六"};
    int64_t id = 0;
    assert_int_equal(enterprise_create(D, A, &east, &in, &id), E_OK);
    assert_true(id > 0);

    /* sealed at rest */
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT legal_rep_enc FROM enterprises WHERE id = ?", &s), E_OK);
    db_bind_int64(s, 1, id);
    assert_int_equal(db_step(s), DB_ROW);
    size_t n;
    const char *ct = db_col_blob(s, 0, &n);
    assert_int_equal(n, strlen("王五六") + SEAL_OVERHEAD);
    assert_null(memmem(ct, n, "王五六", strlen("王五六")));
    db_done(s);

    /* found by a lower-case code inside scope only */
    char *lower = arena_strdup(A, c1);
    lower[8] = 'm', lower[9] = 'a';
    struct enterprise e;
    assert_int_equal(enterprise_find_by_credit_code(D, A, &street, lower, &e), E_OK);
    assert_int_equal(e.id, id);
    assert_string_equal(e.legal_rep, "王五六");
    assert_null(e.contact_name);
    assert_int_equal(enterprise_find_by_credit_code(D, A, &west, c1, &e), E_NOT_FOUND);
    assert_int_equal(enterprise_find(D, A, &west, id, &e), E_NOT_FOUND);

    /* duplicates: the id only inside scope */
    int64_t id2 = 0;
    assert_err(enterprise_create(D, A, &east, &in, &id2), E_CONFLICT, "duplicate_enterprise", NULL);
    assert_int_equal(err_last()->ref, id);
    in.region_code = code("110102000000");
    assert_err(enterprise_create(D, A, &west, &in, &id2), E_CONFLICT, "duplicate_enterprise", NULL);
    assert_int_equal(err_last()->ref, 0);
    assert_int_equal(id2, 0);

    /* a region outside scope, or missing */
    in.credit_code = credit("91110101MA0000022");
    in.region_code = code("110102000000");
    assert_err(enterprise_create(D, A, &east, &in, &id2), E_INPUT, "invalid_region", "region_code");
    in.region_code = code("110101009000");
    assert_err(enterprise_create(D, A, &east, &in, &id2), E_INPUT, "invalid_region", "region_code");

    in.region_code = code("110101001001");

    /* places link to it and show its code; deletion hides the link */
    struct place_input p = {.set = PL_NAME | PL_KIND | PL_REGION | PL_ENTERPRISE | PL_CONTACT_PHONE,
                            .name = "居委会小区",
                            .kind = PLACE_COMMUNITY,
                            .region_code = code("110101001001"),
                            .contact_phone = "13812345678",
                            .enterprise_id = id};
    int64_t pid = 0;
    assert_int_equal(place_create(D, A, &(struct scope){0, REGCODE_SPACE}, &p, &pid), E_OK);
    struct place got;
    assert_int_equal(place_find(D, A, &street, pid, &got), E_OK);
    assert_int_equal(got.enterprise_id, id);
    assert_string_equal(got.credit_code, pl_upper(A, c1));
    assert_string_equal(got.contact_phone, "13812345678");
    assert_string_equal(got.region_name, "110101001001");
    assert_int_equal(place_find(D, A, &west, pid, &got), E_NOT_FOUND);

    struct place_filter f = {.enterprise_id = id, .page = 1, .page_size = 20};
    struct place *items;
    size_t count;
    int64_t total;
    assert_int_equal(place_list(D, A, &east, &f, &items, &count, &total), E_OK);
    assert_int_equal(total, 1);
    assert_int_equal(place_list(D, A, &west, &f, &items, &count, &total), E_OK);
    assert_int_equal(total, 0);

    assert_int_equal(enterprise_delete(D, &west, id), E_NOT_FOUND);
    assert_int_equal(enterprise_delete(D, &east, id), E_OK);
    assert_int_equal(place_find(D, A, &east, pid, &got), E_OK);
    assert_int_equal(got.enterprise_id, 0);
    assert_null(got.credit_code);
    /* the code is free again */
    in.credit_code = c1;
    assert_int_equal(enterprise_create(D, A, &east, &in, &id2), E_OK);
    assert_true(id2 != id);
}

static void test_place_update(void **state)
{
    (void)state;
    struct scope east = scope_of(code("110101000000"));
    struct place_input p = {.set = PL_NAME | PL_KIND | PL_REGION | PL_POSITION,
                            .name = "更新小区",
                            .kind = PLACE_DORMITORY,
                            .region_code = code("110101001001"),
                            .has_position = true,
                            .lng = 116.4,
                            .lat = 39.9};
    int64_t id;
    assert_int_equal(place_create(D, A, &east, &p, &id), E_OK);

    struct place_input u = {.set = 0};
    assert_err(place_update(D, A, &east, id, &u), E_INPUT, "empty_update", NULL);
    u.set = PL_AREA | PL_POSITION;
    u.area = 99.5;
    u.has_position = false;
    assert_int_equal(place_update(D, A, &east, id, &u), E_OK);
    struct place got;
    assert_int_equal(place_find(D, A, &east, id, &got), E_OK);
    assert_true(got.area == 99.5);
    assert_false(got.has_position);
    assert_string_equal(got.name, "更新小区");
    assert_int_equal(got.kind, PLACE_DORMITORY);
    assert_int_equal(got.version, 2);

    /* moving out of scope is refused and changes nothing */
    u.set = PL_REGION;
    u.region_code = code("110102000000");
    assert_err(place_update(D, A, &east, id, &u), E_INPUT, "invalid_region", "region_code");
    assert_int_equal(place_find(D, A, &east, id, &got), E_OK);
    assert_int_equal(got.version, 2);

    assert_int_equal(place_delete(D, &east, id), E_OK);
    assert_int_equal(place_delete(D, &east, id), E_NOT_FOUND);
    u.set = PL_NAME;
    u.name = "x";
    assert_int_equal(place_update(D, A, &east, id, &u), E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_place_check),
        cmocka_unit_test(test_enterprise_check),
        cmocka_unit_test(test_like_and_order),
    };
    const struct CMUnitTest sql[] = {
        cmocka_unit_test(test_enterprises_and_scope),
        cmocka_unit_test(test_place_update),
    };
    int failed = cmocka_run_group_tests_name("place", pure, setup, teardown);
    failed += cmocka_run_group_tests_name("place/sqlite", sql, setup, teardown);
    return failed;
}

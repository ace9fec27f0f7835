/*
 * Unit tests of person/: the name tokens that make encrypted names
 * searchable (full name, surname, bigrams; queries; the final substring
 * check), identity-number normalisation, the record's checks (derived birth
 * date and gender, phones, lengths), the vocabularies and vulnerable flags,
 * ages and birth dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "person/internal.h"
#include "person/person.h"

/* ---- tokens ------------------------------------------------------------------ */

static char buf[PERSON_TOKEN_BUF];
static const char *tok[PERSON_TOKENS_MAX];

/* Tokenise `name` and compare with the expected list (in order). */
static void expect_tokens(const char *name, const char *const *want, size_t n)
{
    size_t got = person_name_tokens(name, buf, sizeof buf, tok, PERSON_TOKENS_MAX);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tok[i], want[i]);
}

static void tokens_one_char(void **state)
{
    (void)state;
    /* the full name and the surname token differ by kind, never collide */
    static const char *const want[] = {"f:丹", "s:丹"};
    expect_tokens("丹", want, 2);
}

static void tokens_two_chars(void **state)
{
    (void)state;
    static const char *const want[] = {"f:张三", "s:张", "b:张三"};
    expect_tokens("张三", want, 3);
}

static void tokens_three_chars(void **state)
{
    (void)state;
    static const char *const want[] = {"f:张三丰", "s:张", "b:张三", "b:三丰"};
    expect_tokens("张三丰", want, 4);
}

static void tokens_four_chars(void **state)
{
    (void)state;
    static const char *const want[] = {"f:欧阳娜娜", "s:欧", "b:欧阳", "b:阳娜", "b:娜娜"};
    expect_tokens("欧阳娜娜", want, 5);
}

static void tokens_repeated_bigrams_once(void **state)
{
    (void)state;
    /* 哈哈哈哈 has three bigrams, all equal: one token row, not three */
    static const char *const want[] = {"f:哈哈哈哈", "s:哈", "b:哈哈"};
    expect_tokens("哈哈哈哈", want, 3);
}

static void tokens_mixed_ascii(void **state)
{
    (void)state;
    /* ASCII letters fold to lower case; a space and the middle dot of
     * minority names are characters like any other */
    static const char *const want[] = {"f:tom李", "s:t", "b:to", "b:om", "b:m李"};
    expect_tokens("Tom李", want, 5);
    static const char *const want2[] = {"f:阿·木", "s:阿", "b:阿·", "b:·木"};
    expect_tokens("阿·木", want2, 4);
    static const char *const want3[] = {"f:a b", "s:a", "b:a ", "b: b"};
    expect_tokens("A B", want3, 4);
}

static void tokens_empty_and_small_buffer(void **state)
{
    (void)state;
    assert_int_equal(person_name_tokens("", buf, sizeof buf, tok, PERSON_TOKENS_MAX), 0);
    assert_int_equal(person_name_tokens(NULL, buf, sizeof buf, tok, PERSON_TOKENS_MAX), 0);
    char small[8];
    assert_int_equal(person_name_tokens("张三丰", small, sizeof small, tok, PERSON_TOKENS_MAX), 0);
    assert_int_equal(person_name_tokens("张三丰", buf, sizeof buf, tok, 2), 0);
}

static void tokens_longest_name_fits(void **state)
{
    (void)state;
    /* 50 distinct four-byte characters: the worst case of PERSON_TOKEN_BUF */
    char name[50 * 4 + 1];
    for (int i = 0; i < 50; i++) {
        unsigned cp = 0x20000 + (unsigned)i;
        name[i * 4] = (char)(0xF0 | (cp >> 18));
        name[i * 4 + 1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        name[i * 4 + 2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        name[i * 4 + 3] = (char)(0x80 | (cp & 0x3F));
    }
    name[200] = '\0';
    assert_int_equal(person_name_tokens(name, buf, sizeof buf, tok, PERSON_TOKENS_MAX), 51);
}

static void query_tokens(void **state)
{
    (void)state;
    size_t n = person_name_query_tokens("张", buf, sizeof buf, tok, 8);
    assert_int_equal(n, 1);
    assert_string_equal(tok[0], "s:张");
    n = person_name_query_tokens("三丰", buf, sizeof buf, tok, 8);
    assert_int_equal(n, 1);
    assert_string_equal(tok[0], "b:三丰");
    n = person_name_query_tokens("张三丰", buf, sizeof buf, tok, 8);
    assert_int_equal(n, 2);
    assert_string_equal(tok[0], "b:张三");
    assert_string_equal(tok[1], "b:三丰");
    n = person_name_query_tokens("JO", buf, sizeof buf, tok, 8);
    assert_int_equal(n, 1);
    assert_string_equal(tok[0], "b:jo");
    assert_int_equal(person_name_query_tokens("", buf, sizeof buf, tok, 8), 0);
}

static void query_tokens_spread(void **state)
{
    (void)state;
    /* 11 characters, 10 distinct bigrams, 4 looked up: first and last kept */
    size_t n = person_name_query_tokens("abcdefghijk", buf, sizeof buf, tok, 4);
    assert_int_equal(n, 4);
    assert_string_equal(tok[0], "b:ab");
    assert_string_equal(tok[1], "b:de");
    assert_string_equal(tok[2], "b:gh");
    assert_string_equal(tok[3], "b:jk");
}

static void name_matches(void **state)
{
    (void)state;
    assert_true(person_name_matches("张三丰", "三丰"));
    assert_true(person_name_matches("张三丰", "张三丰"));
    assert_true(person_name_matches("Tom李", "tom"));
    /* every bigram of the query occurs, the query does not: the case the
     * decrypting check exists for */
    assert_false(person_name_matches("张三三丰", "张三丰"));
    assert_false(person_name_matches("张三", "张三丰"));
    assert_false(person_name_matches(NULL, "张"));
}

/* ---- identity numbers and the record's checks ------------------------------ */

static void id_normalise(void **state)
{
    (void)state;
    char a[] = " 110101 19900307 001x ";
    assert_string_equal(person_id_normalise(a), "11010119900307001X");
    char b[] = "e1234567";
    assert_string_equal(person_id_normalise(b), "E1234567");
}

static arena *A;

static int setup(void **state)
{
    (void)state;
    A = arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

static struct person valid(void)
{
    return (struct person){
        .name = "张三丰",
        .id_type = ID_RESIDENT,
        .id_number = "110101199003070011",
        .region_code = 110101001001000000LL,
    };
}

static void assert_input(err e, const char *slug, const char *field)
{
    assert_int_equal(e, E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
}

static void check_derives_and_defaults(void **state)
{
    (void)state;
    struct person p = valid();
    p.id_number = "11010119900307001 1";
    p.address = "";
    assert_int_equal(person_check(A, &p, 0), E_OK);
    assert_string_equal(p.id_number, "110101199003070011");
    assert_int_equal(p.birth_date, 19900307);
    assert_int_equal(p.gender, GENDER_MALE);
    assert_int_equal(p.category, PERSON_RESIDENT);
    assert_int_equal(p.status, PERSON_NORMAL);
    assert_string_equal(p.source, "staff");
    assert_null(p.address);
}

static void check_lower_case_x(void **state)
{
    (void)state;
    struct person p = valid();
    p.id_number = "11010519491231002x";
    assert_int_equal(person_check(A, &p, 0), E_OK);
    assert_string_equal(p.id_number, "11010519491231002X");
    assert_int_equal(p.gender, GENDER_FEMALE);
}

static void check_mismatch(void **state)
{
    (void)state;
    struct person p = valid();
    p.birth_date = 19900308;
    assert_input(person_check(A, &p, PF_BIT(PF_BIRTH_DATE)), "birth_date_mismatch", "birth_date");
    p = valid();
    p.birth_date = 19900307;
    assert_int_equal(person_check(A, &p, PF_BIT(PF_BIRTH_DATE)), E_OK);
    p = valid();
    p.gender = GENDER_FEMALE;
    assert_input(person_check(A, &p, PF_BIT(PF_GENDER)), "gender_mismatch", "gender");
    /* "unknown" states nothing */
    p = valid();
    p.gender = GENDER_UNKNOWN;
    assert_int_equal(person_check(A, &p, PF_BIT(PF_GENDER)), E_OK);
    assert_int_equal(p.gender, GENDER_MALE);
    /* a value not supplied by the client (stored from an older number) is
     * replaced, not refused */
    p = valid();
    p.birth_date = 20000101;
    assert_int_equal(person_check(A, &p, 0), E_OK);
    assert_int_equal(p.birth_date, 19900307);
}

static void check_bad_ids(void **state)
{
    (void)state;
    struct person p = valid();
    p.id_number = "110101199003070012"; /* check character */
    assert_input(person_check(A, &p, 0), "invalid_id_number", "id_number");
    p = valid();
    p.id_number = "110101199002300014"; /* 30 February */
    assert_input(person_check(A, &p, 0), "invalid_id_number", "id_number");
    p = valid();
    p.id_number = "  ";
    assert_input(person_check(A, &p, 0), "required", "id_number");
    p = valid();
    p.id_type = ID_PASSPORT;
    p.id_number = "e1234567";
    p.birth_date = 19800101;
    p.gender = GENDER_FEMALE;
    assert_int_equal(person_check(A, &p, PF_BIT(PF_BIRTH_DATE)), E_OK);
    assert_string_equal(p.id_number, "E1234567");
    assert_int_equal(p.birth_date, 19800101); /* kept: not derived */
    assert_int_equal(p.gender, GENDER_FEMALE);
    p = valid();
    p.id_type = 0;
    assert_input(person_check(A, &p, 0), "invalid_id_type", "id_type");
}

static void check_fields(void **state)
{
    (void)state;
    struct person p = valid();
    p.phone = "1380013800";
    assert_input(person_check(A, &p, 0), "invalid_phone", "phone");
    p = valid();
    p.emergency_contact_phone = "12800138000";
    assert_input(person_check(A, &p, 0), "invalid_phone", "emergency_contact_phone");
    p = valid();
    p.phone = "13800138000";
    p.emergency_contact_phone = "19912345678";
    assert_int_equal(person_check(A, &p, 0), E_OK);

    p = valid();
    p.name = "   ";
    assert_input(person_check(A, &p, 0), "required", "name");
    p = valid();
    p.name = "张\n三";
    assert_input(person_check(A, &p, 0), "invalid_value", "name");
    char long_name[52 * 3 + 1] = "";
    for (int i = 0; i < 51; i++)
        memcpy(long_name + i * 3, "张", 4);
    p = valid();
    p.name = long_name;
    assert_input(person_check(A, &p, 0), "too_long", "name");
    long_name[50 * 3] = '\0'; /* exactly 50 characters */
    p = valid();
    p.name = long_name;
    assert_int_equal(person_check(A, &p, 0), E_OK);

    char addr[202];
    memset(addr, 'a', 201);
    addr[201] = '\0';
    p = valid();
    p.address = addr;
    assert_input(person_check(A, &p, 0), "too_long", "address");
    addr[200] = '\0';
    p = valid();
    p.address = addr;
    assert_int_equal(person_check(A, &p, 0), E_OK);

    p = valid();
    p.id_type = ID_OTHER;
    p.id_number = "X-1";
    p.birth_date = 21000101;
    assert_input(person_check(A, &p, PF_BIT(PF_BIRTH_DATE)), "invalid_birth_date", "birth_date");
    p = valid();
    p.region_code = 123;
    assert_input(person_check(A, &p, 0), "invalid_region", "region_code");
    p = valid();
    p.vulnerable = 1u << 7;
    assert_input(person_check(A, &p, 0), "invalid_value", "vulnerable");
    p = valid();
    p.source = "rumour";
    assert_input(person_check(A, &p, 0), "invalid_value", "source");
    p = valid();
    p.status = PERSON_DEAD + 1;
    assert_input(person_check(A, &p, 0), "invalid_value", "status");
}

/* ---- vocabularies ------------------------------------------------------------ */

static void vulnerable_flags(void **state)
{
    (void)state;
    static const char *const names[] = {"pregnant", "elderly_alone", "chronic_disease", "disabled",
                                        "child"};
    unsigned all = 0;
    for (size_t i = 0; i < 5; i++) {
        unsigned b = vulnerable_parse(names[i]);
        assert_int_equal(b, 1u << i);
        assert_string_equal(vulnerable_name(b), names[i]);
        assert_true(strlen(vulnerable_label(b)) > 0);
        all |= b;
    }
    assert_int_equal(all, VULN_ALL);
    assert_int_equal(vulnerable_parse("Pregnant"), 0);
    assert_int_equal(vulnerable_parse(""), 0);
    assert_int_equal(vulnerable_parse(NULL), 0);
    assert_string_equal(vulnerable_name(VULN_PREGNANT | VULN_CHILD), "");
}

static void vocabularies(void **state)
{
    (void)state;
    static const char *const st[] = {
        "normal",    "observation", "home_isolation", "central_quarantine",
        "suspected", "confirmed",   "asymptomatic",   "cured",
        "dead"};
    for (int i = 0; i < 9; i++) {
        assert_int_equal(person_status_parse(st[i]), PERSON_NORMAL + i);
        assert_string_equal(person_status_name(PERSON_NORMAL + i), st[i]);
    }
    assert_int_equal(person_status_parse("healthy"), 0);
    assert_int_equal(person_category_parse("transit"), PERSON_TRANSIT);
    assert_string_equal(person_category_label(PERSON_VISITOR), "外来人员");
    assert_int_equal(person_category_parse(""), 0);
    assert_int_equal(person_gender_parse("female"), GENDER_FEMALE);
    assert_int_equal(person_gender_parse("unknown"), GENDER_UNKNOWN);
    assert_int_equal(person_gender_parse("x"), -1);
    for (int f = 0; f < PF__COUNT; f++)
        assert_int_equal(person_field_parse(person_field_name((enum person_field)f)), f);
    assert_int_equal(person_field_parse("id"), PF__COUNT);
}

static void ages_and_dates(void **state)
{
    (void)state;
    assert_int_equal(person_age(19900307, 20240306), 33);
    assert_int_equal(person_age(19900307, 20240307), 34);
    assert_int_equal(person_age(20000229, 20230228), 22);
    assert_int_equal(person_age(20000229, 20230301), 23);
    assert_int_equal(person_age(0, 20240101), -1);
    assert_int_equal(person_birth_parse("1990-03-07"), 19900307);
    assert_int_equal(person_birth_parse("1990-02-30"), 0);
    assert_int_equal(person_birth_parse("19900307"), 0);
    assert_int_equal(person_birth_parse("1990-3-7"), 0);
    char out[11];
    person_birth_format(19900307, out);
    assert_string_equal(out, "1990-03-07");
    person_birth_format(0, out);
    assert_string_equal(out, "");
}

static void masking_of_values(void **state)
{
    (void)state;
    json_t *v = json_string("1990-03-07");
    json_t *m = person_value_mask(A, PF_BIRTH_DATE, v);
    assert_string_equal(json_string_value(m), "****-**-**");
    json_decref(m);
    json_decref(v);
    v = json_string("13800138000");
    m = person_value_mask(A, PF_EMERGENCY_CONTACT_PHONE, v);
    assert_string_equal(json_string_value(m), "138****8000");
    json_decref(m);
    json_decref(v);
    v = json_string("多福巷社区");
    m = person_value_mask(A, PF_CURRENT_LOCATION, v);
    assert_string_equal(json_string_value(m), "多福巷社区");
    json_decref(m);
    json_decref(v);
}

/* What the registration wrote before person_created_changes: the object
 * of {field: [null, value]} for the fields that differ from an empty
 * record, dumped by jansson with sorted keys. */
static char *created_by_jansson(const struct person *p)
{
    const struct person none = {0};
    json_t *o = json_object();
    for (int f = 0; f < PF__COUNT; f++) {
        json_t *x = person_field_json(&none, (enum person_field)f);
        json_t *y = person_field_json(p, (enum person_field)f);
        if (!json_equal(x, y))
            json_object_set_new(o, person_field_name((enum person_field)f), json_pack("[no]", y));
        else
            json_decref(y);
        json_decref(x);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static void expect_created(const struct person *p)
{
    size_t n = 0;
    const char *got = person_created_changes(A, p, &n);
    char *want = created_by_jansson(p);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(n, strlen(want));
    free(want);
}

/* A new person's history entry is the text jansson wrote: the fields set,
 * in name order, escapes and non-ASCII text as json_dumps writes them. */
static void created_changes(void **state)
{
    (void)state;
    struct person p = {0};
    expect_created(&p); /* nothing set: {} */
    p.name = "张三";
    p.id_type = ID_RESIDENT;
    p.id_number = "110101199003074514";
    p.region_code = 110101001001;
    p.gender = GENDER_MALE;
    p.birth_date = 19900307;
    p.phone = "13800138000";
    p.address = "多福巷 \"3\" 号\n2 单元\t\\";
    p.category = PERSON_RESIDENT;
    p.vulnerable = VULN_PREGNANT | VULN_CHRONIC_DISEASE;
    p.inbound = true;
    p.source = "import";
    p.consent_at = 1764000000000;
    expect_created(&p);
    size_t n;
    const char *got = person_created_changes(A, &p, &n);
    assert_non_null(strstr(got, "\"name\":[null,\"张三\"]"));
    /* written as it is: three- and four-byte characters at the edges
     * jansson accepts (U+D7FF, U+E000, U+10FFFF), DEL; and through jansson
     * (escaped): a quote, a backslash, a control character */
    p.household = "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80 a\x7f/";
    p.employer = "甲\"乙\\丙\x01";
    p.work_address = "";
    expect_created(&p);
    /* a value longer than the first buffer grows it */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    p.employer = big;
    expect_created(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_one_char),
        cmocka_unit_test(tokens_two_chars),
        cmocka_unit_test(tokens_three_chars),
        cmocka_unit_test(tokens_four_chars),
        cmocka_unit_test(tokens_repeated_bigrams_once),
        cmocka_unit_test(tokens_mixed_ascii),
        cmocka_unit_test(tokens_empty_and_small_buffer),
        cmocka_unit_test(tokens_longest_name_fits),
        cmocka_unit_test(query_tokens),
        cmocka_unit_test(query_tokens_spread),
        cmocka_unit_test(name_matches),
        cmocka_unit_test(id_normalise),
        cmocka_unit_test(check_derives_and_defaults),
        cmocka_unit_test(check_lower_case_x),
        cmocka_unit_test(check_mismatch),
        cmocka_unit_test(check_bad_ids),
        cmocka_unit_test(check_fields),
        cmocka_unit_test(vulnerable_flags),
        cmocka_unit_test(vocabularies),
        cmocka_unit_test(ages_and_dates),
        cmocka_unit_test(masking_of_values),
        cmocka_unit_test(created_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

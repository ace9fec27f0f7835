/*
 * Unit tests of base/validate: GB 11643 resident identity numbers, GB 32100
 * unified social credit codes, mobile numbers, the other identity documents
 * and calendar dates. Valid numbers below were computed by hand (and checked
 * with a separate script) from the published weights.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/validate.h"

/* Assert an E_INPUT failure with this slug and message, on `field`. */
static void assert_fails(err e, const char *slug, const char *message)
{
    assert_int_equal(e, E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    if (message)
        assert_string_equal(err_last()->message, message);
}

/* first17 followed by its correct check character, so that a test of some
 * other rule does not fail on the check character instead. */
static const char *with_check(const char *first17)
{
    static char buf[19];
    snprintf(buf, sizeof buf, "%s%c", first17, resident_id_check_char(first17));
    return buf;
}

static err rid(const char *s)
{
    err_clear();
    return check_resident_id(s, "id_number", NULL, NULL);
}

/* ---- resident identity numbers ---------------------------------------------- */

static void resident_valid(void **state)
{
    (void)state;
    static const char *ok[] = {
        "11010519491231002X", /* ends in X */
        "110101199003070011", "440304198510126632",
        "320106200002291230",                       /* 29 Feb 2000, a leap year */
        "650102197001010018", "810000199001010019", /* Hong Kong */
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int32_t birth = 0;
        bool male = true;
        assert_int_equal(check_resident_id(ok[i], "id_number", &birth, &male), E_OK);
        assert_int_equal(check_id_number(ID_RESIDENT, ok[i], "id_number"), E_OK);
    }
    int32_t birth = 0;
    bool male = true;
    assert_int_equal(check_resident_id("11010519491231002X", "x", &birth, &male), E_OK);
    assert_int_equal(birth, 19491231);
    assert_false(male); /* 17th digit 2: female */
    assert_int_equal(check_resident_id("110101199003070011", "x", &birth, &male), E_OK);
    assert_int_equal(birth, 19900307);
    assert_true(male);
    /* NULL outputs are allowed. */
    assert_int_equal(check_resident_id("110101199003070011", "x", NULL, NULL), E_OK);
}

static void resident_check_char(void **state)
{
    (void)state;
    assert_int_equal(resident_id_check_char("11010519491231002"), 'X');
    assert_int_equal(resident_id_check_char("11010119900307001"), '1');
    assert_int_equal(resident_id_check_char("1101011990030700a"), '\0');

    assert_fails(rid("110105194912310021"), "invalid_id_number", "身份证号码校验位错误");
    assert_fails(rid("110101199003070012"), "invalid_id_number", "身份证号码校验位错误");
    assert_string_equal(err_last()->field, "id_number");
    /* Every wrong check character is caught. */
    const char *digits = "0123456789X";
    char s[19] = "11010119900307001?";
    for (int i = 0; digits[i]; i++) {
        s[17] = digits[i];
        assert_int_equal(rid(s), digits[i] == '1' ? E_OK : E_INPUT);
    }
}

/* The first 17 digits of someone born `days` from today (China time). */
static const char *born_days_from_now(int days)
{
    static char first17[18];
    time_t t = time(NULL) + 8 * 3600 + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    assert_int_equal(strftime(first17, sizeof first17, "110101%Y%m%d001", &tm), 17);
    return first17;
}

static void resident_dates(void **state)
{
    (void)state;
    const char *date = "身份证号码出生日期无效";
    assert_fails(rid(with_check("11010119990229001")), "invalid_id_number", date);
    assert_fails(rid(with_check("11010119000229001")), "invalid_id_number", date); /* 1900 */
    assert_fails(rid(with_check("11010119901301001")), "invalid_id_number", date); /* month 13 */
    assert_fails(rid(with_check("11010119900001001")), "invalid_id_number", date); /* month 0 */
    assert_fails(rid(with_check("11010119900100001")), "invalid_id_number", date); /* day 0 */
    assert_fails(rid(with_check("11010119900431001")), "invalid_id_number", date); /* 31 Apr */
    assert_fails(rid(with_check("11010118991231001")), "invalid_id_number", date); /* < 1900 */
    assert_int_equal(rid(with_check("11010119000101001")), E_OK);
    assert_int_equal(rid(with_check("11010120240229001")), E_OK);

    /* In the future: far off, and tomorrow. */
    assert_fails(rid("110105209912310010"), "invalid_id_number", "身份证号码出生日期晚于今天");
    assert_int_equal(rid(with_check(born_days_from_now(2))), E_INPUT);
    assert_int_equal(rid(with_check(born_days_from_now(-2))), E_OK);
}

static void resident_province(void **state)
{
    (void)state;
    const char *msg = "身份证号码地区码无效";
    static const char *bad[] = {"00", "10", "16", "20", "24", "30", "38", "40", "47", "49",
                                "55", "60", "66", "70", "72", "80", "83", "91", "99"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char first17[18];
        snprintf(first17, sizeof first17, "%s0101199003070%02zu", bad[i], i);
        assert_fails(rid(with_check(first17)), "invalid_id_number", msg);
    }
    static const char *good[] = {"11", "15", "21", "23", "31", "37", "41", "46",
                                 "50", "54", "61", "65", "71", "81", "82"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char first17[18];
        snprintf(first17, sizeof first17, "%s0101199003070%02zu", good[i], i);
        assert_int_equal(rid(with_check(first17)), E_OK);
    }
}

static void resident_shape(void **state)
{
    (void)state;
    const char *len = "身份证号码长度应为18位";
    assert_fails(rid(NULL), "invalid_id_number", len);
    assert_fails(rid(""), "invalid_id_number", len);
    assert_fails(rid("11010519491231002"), "invalid_id_number", len);
    assert_fails(rid("11010519491231002X1"), "invalid_id_number", len);
    assert_fails(rid("110105491231002"), "invalid_id_number", len); /* old 15-digit form */
    /* Lower-case x: callers upper-case, so here it is an error. */
    assert_fails(rid("11010519491231002x"), "invalid_id_number", NULL);
    assert_fails(rid("1101051949123100X2"), "invalid_id_number", NULL);
    assert_fails(rid("11010519491231 02X"), "invalid_id_number", NULL);
    assert_fails(rid("１１０１０５１９"), "invalid_id_number", NULL); /* full-width, 24 bytes */
    assert_fails(rid("X10105194912310021"), "invalid_id_number", NULL);
}

/* ---- other documents -------------------------------------------------------- */

static err doc(enum id_type t, const char *s)
{
    err_clear();
    return check_id_number(t, s, "id_number");
}

static void id_type_names(void **state)
{
    (void)state;
    static const char *names[] = {"resident_id",   "passport",        "hk_macao_permit",
                                  "taiwan_permit", "foreign_pr_card", "other"};
    for (int i = 0; i < 6; i++) {
        enum id_type t = id_type_parse(names[i]);
        assert_int_equal(t, ID_RESIDENT + i);
        assert_string_equal(id_type_name(t), names[i]);
    }
    assert_int_equal(id_type_parse("Passport"), 0);
    assert_int_equal(id_type_parse(""), 0);
    assert_int_equal(id_type_parse(NULL), 0);
    assert_null(id_type_name(0));
    assert_null(id_type_name(99));
    assert_fails(doc(0, "E12345678"), "invalid_id_type", NULL);
    assert_fails(doc(42, "E12345678"), "invalid_id_type", NULL);
}

static void passports(void **state)
{
    (void)state;
    static const char *ok[] = {"E12345678", "G12345678", "PE1234567",
                               "EA1234567", "12345",     "X1234567890123456"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(doc(ID_PASSPORT, ok[i]), E_OK);
    static const char *bad[] = {"",           "1234",       "X12345678901234567", "e12345678",
                                "E1234 5678", "E-12345678", "护照12345"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_fails(doc(ID_PASSPORT, bad[i]), "invalid_id_number", NULL);
    assert_fails(doc(ID_PASSPORT, NULL), "invalid_id_number", NULL);
}

static void hk_macao(void **state)
{
    (void)state;
    assert_int_equal(doc(ID_HK_MACAO, "H12345678"), E_OK);
    assert_int_equal(doc(ID_HK_MACAO, "M1234567890"), E_OK);
    assert_int_equal(doc(ID_HK_MACAO, "H123456789"), E_OK);
    static const char *bad[] = {"",          "H",         "H1234567",  "H12345678901",
                                "h12345678", "K12345678", "H1234567X", "12345678"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_fails(doc(ID_HK_MACAO, bad[i]), "invalid_id_number", NULL);
}

static void taiwan(void **state)
{
    (void)state;
    assert_int_equal(doc(ID_TAIWAN, "12345678"), E_OK);
    assert_int_equal(doc(ID_TAIWAN, "1234567890"), E_OK);
    static const char *bad[] = {"", "1234567", "123456789", "12345678901", "T1234567", "1234567X"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_fails(doc(ID_TAIWAN, bad[i]), "invalid_id_number", NULL);
}

static void foreign_pr(void **state)
{
    (void)state;
    assert_int_equal(doc(ID_FOREIGN_PR, "USA123456789012"), E_OK);
    assert_int_equal(doc(ID_FOREIGN_PR, "910000199001011234"), E_OK);
    static const char *bad[] = {
        "",
        "US1234567890123",    /* two letters */
        "usa123456789012",    /* lower case */
        "USA12345678901",     /* 14 characters */
        "USA1234567890123",   /* 16 characters */
        "910000199001011235", /* wrong check character */
        "810000199001010019", /* a resident number, not 9… */
        "9100001990010112X4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_fails(doc(ID_FOREIGN_PR, bad[i]), "invalid_id_number", NULL);
}

static void other_documents(void **state)
{
    (void)state;
    assert_int_equal(doc(ID_OTHER, "A"), E_OK);
    assert_int_equal(doc(ID_OTHER, "军字第 123456 号-/#"), E_INPUT); /* not ASCII */
    assert_int_equal(doc(ID_OTHER, "No. 123-456/A"), E_OK);
    assert_int_equal(doc(ID_OTHER, "12345678901234567890123456789012"), E_OK);
    assert_fails(doc(ID_OTHER, "123456789012345678901234567890123"), "invalid_id_number", NULL);
    assert_fails(doc(ID_OTHER, ""), "invalid_id_number", NULL);
    assert_fails(doc(ID_OTHER, "ab\tc"), "invalid_id_number", NULL);
    assert_fails(doc(ID_OTHER, "ab\x7f"), "invalid_id_number", NULL);
    assert_fails(doc(ID_OTHER, "ab\xc3\xa9"), "invalid_id_number", NULL);
}

/* ---- unified social credit codes -------------------------------------------- */

static err credit(const char *s)
{
    err_clear();
    return check_credit_code(s, "credit_code");
}

static void credit_codes(void **state)
{
    (void)state;
    static const char *ok[] = {
        "91350100M000100Y43", "91110000600001760P", "91440300708461136T",
        "12100000400000624D", "91110108551385082Q", "911100007109288314",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(credit(ok[i]), E_OK);
        assert_int_equal(credit_code_check_char(ok[i]), ok[i][17]);
    }
    /* The check character of the first ends 3, and 31 - 0 maps to '0'. */
    assert_int_equal(credit_code_check_char("91350100M000100Y4"), '3');
    assert_int_equal(credit_code_check_char("00000000000000000"), '0');

    assert_fails(credit("9111000071092841XX"), "invalid_credit_code", "统一社会信用代码校验位错误");
    assert_string_equal(err_last()->field, "credit_code");
    assert_fails(credit("91350100M000100Y44"), "invalid_credit_code", NULL);

    const char *chars = "统一社会信用代码含有无效字符（不使用I、O、Z、S、V）";
    assert_fails(credit("91350100I000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100O000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100Z000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100S000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100V000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100m000100Y43"), "invalid_credit_code", chars);
    assert_fails(credit("91350100M000100Y4-"), "invalid_credit_code", chars);
    assert_int_equal(credit_code_check_char("91350100I000100Y4"), '\0');

    const char *len = "统一社会信用代码长度应为18位";
    assert_fails(credit(NULL), "invalid_credit_code", len);
    assert_fails(credit(""), "invalid_credit_code", len);
    assert_fails(credit("91350100M000100Y4"), "invalid_credit_code", len);
    assert_fails(credit("91350100M000100Y433"), "invalid_credit_code", len);
}

/* ---- phones and dates ------------------------------------------------------------ */

static void phones(void **state)
{
    (void)state;
    static const char *ok[] = {"13800138000", "15912345678", "19999999999", "16600000000"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(check_phone(ok[i], "phone"), E_OK);
    static const char *bad[] = {"",
                                "12800138000",
                                "10800138000",
                                "23800138000",
                                "1380013800",
                                "138001380000",
                                "+8613800138000",
                                "138-0013-8000",
                                "1380013800a",
                                "１３８００１３８０００"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear();
        assert_fails(check_phone(bad[i], "phone"), "invalid_phone", "手机号码格式不正确");
        assert_string_equal(err_last()->field, "phone");
    }
    assert_fails(check_phone(NULL, "phone"), "invalid_phone", NULL);
}

static void dates(void **state)
{
    (void)state;
    assert_true(date_valid(20240229));
    assert_true(date_valid(20000229));
    assert_false(date_valid(19000229));
    assert_false(date_valid(20230229));
    assert_true(date_valid(20231231));
    assert_false(date_valid(20231232));
    assert_false(date_valid(20230631));
    assert_true(date_valid(20230630));
    assert_false(date_valid(20231301));
    assert_false(date_valid(20230001));
    assert_false(date_valid(20230100));
    assert_false(date_valid(0));
    assert_false(date_valid(-20230101));
    assert_false(date_valid(100000101));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resident_valid),  cmocka_unit_test(resident_check_char),
        cmocka_unit_test(resident_dates),  cmocka_unit_test(resident_province),
        cmocka_unit_test(resident_shape),  cmocka_unit_test(id_type_names),
        cmocka_unit_test(passports),       cmocka_unit_test(hk_macao),
        cmocka_unit_test(taiwan),          cmocka_unit_test(foreign_pr),
        cmocka_unit_test(other_documents), cmocka_unit_test(credit_codes),
        cmocka_unit_test(phones),          cmocka_unit_test(dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of security/mask: the masked shapes of names, identity numbers,
 * phones and addresses, counted in UTF-8 characters, and the handling of
 * empty, NULL and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "security/mask.h"

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

static void names(void **state)
{
    (void)state;
    assert_string_equal(mask_name(A, "欧阳娜娜"), "欧**娜");
    assert_string_equal(mask_name(A, "张三丰"), "张*丰");
    assert_string_equal(mask_name(A, "张三"), "张*");
    assert_string_equal(mask_name(A, "欧阳"), "欧*");
    assert_string_equal(mask_name(A, "张"), "*");
    assert_string_equal(mask_name(A, "买买提·艾力"), "买****力");
    assert_string_equal(mask_name(A, "John Smith"), "J********h");
    assert_string_equal(mask_name(A, "Li"), "L*");
    assert_string_equal(mask_name(A, "X"), "*");
    assert_string_equal(mask_name(A, ""), "");
    assert_null(mask_name(A, NULL));
    /* A 4-byte character (U+20BB7 𠮷) is one character. */
    assert_string_equal(mask_name(A, "\xF0\xA0\xAE\xB7"
                                     "大大"),
                        "\xF0\xA0\xAE\xB7"
                        "*大");
}

static void id_numbers(void **state)
{
    (void)state;
    assert_string_equal(mask_id_number(A, "11010519491231002X"), "11***************X");
    assert_string_equal(mask_id_number(A, "110105491231002"), "11************2"); /* 15 */
    assert_string_equal(mask_id_number(A, "USA123456789012"), "US************2");
    assert_string_equal(mask_id_number(A, "12345678901234"), "12***********4"); /* 14 */
    assert_string_equal(mask_id_number(A, "1234567890123"), "1**********23");   /* 13 */
    assert_string_equal(mask_id_number(A, "E12345678"), "E******78");
    assert_string_equal(mask_id_number(A, "H12345678"), "H******78");
    assert_string_equal(mask_id_number(A, "123456"), "1***56");
    assert_string_equal(mask_id_number(A, "12345"), "*****");
    assert_string_equal(mask_id_number(A, "1"), "*");
    assert_string_equal(mask_id_number(A, ""), "");
    assert_null(mask_id_number(A, NULL));
    /* Counted in characters: 6 Chinese characters + 8 digits = 14. */
    assert_string_equal(mask_id_number(A, "军字第一二三45678901"), "军字***********1");
}

static void phones(void **state)
{
    (void)state;
    assert_string_equal(mask_phone(A, "13800138000"), "138****8000");
    assert_string_equal(mask_phone(A, "19912345678"), "199****5678");
    assert_string_equal(mask_phone(A, "010-12345678"), "****5678");
    assert_string_equal(mask_phone(A, "+8613800138000"), "****8000");
    assert_string_equal(mask_phone(A, "1380013800a"), "****800a"); /* 11, not all digits */
    assert_string_equal(mask_phone(A, "1234567"), "****4567");
    assert_string_equal(mask_phone(A, "123456"), "****");
    assert_string_equal(mask_phone(A, "110"), "****");
    assert_string_equal(mask_phone(A, ""), "");
    assert_null(mask_phone(A, NULL));
    /* Full-width digits: 11 characters but not ASCII digits. */
    assert_string_equal(mask_phone(A, "１３８００１３８０００"), "****８０００");
}

static void addresses(void **state)
{
    (void)state;
    assert_string_equal(mask_address(A, "北京市朝阳区建国路88号"), "北京市朝阳区****");
    assert_string_equal(mask_address(A, "北京市朝阳区X"), "北京市朝阳区****");
    assert_string_equal(mask_address(A, "北京市朝阳区"), "北京市****");
    assert_string_equal(mask_address(A, "朝阳区"), "朝****");
    assert_string_equal(mask_address(A, "北"), "****");
    assert_string_equal(mask_address(A, "12 Main Street"), "12 Mai****");
    assert_string_equal(mask_address(A, ""), "");
    assert_null(mask_address(A, NULL));
}

static void invalid_utf8(void **state)
{
    (void)state;
    /* A lone continuation byte, a truncated sequence, an overlong form and a
     * surrogate: each bad byte is one character and comes out as U+FFFD. */
    assert_string_equal(mask_name(A, "\x80"), "*");
    assert_string_equal(mask_name(A, "\x80\x80"), "\xEF\xBF\xBD*");
    assert_string_equal(mask_name(A, "\xE5\xBC"), "\xEF\xBF\xBD*"); /* 张 cut short */
    assert_string_equal(mask_name(A, "\xE5\xBC"
                                     "a"),
                        "\xEF\xBF\xBD*a");
    assert_string_equal(mask_name(A, "\xC0\xAF"
                                     "x"),
                        "\xEF\xBF\xBD*x"); /* overlong '/' */
    assert_string_equal(mask_name(A, "\xED\xA0\x80"), "\xEF\xBF\xBD*\xEF\xBF\xBD"); /* surrogate */
    assert_string_equal(mask_name(A, "\xF5\x80\x80\x80"), "\xEF\xBF\xBD**\xEF\xBF\xBD");
    assert_string_equal(mask_name(A, "\xFF"), "*");
    /* A sequence cut by the terminator is not read past. */
    assert_string_equal(mask_name(A, "ab\xF0\x9F"), "a**\xEF\xBF\xBD");
    assert_string_equal(mask_address(A, "\xE5\xBC\xA0\xE5"), "\xE5\xBC\xA0****");
    assert_string_equal(
        mask_id_number(A, "\xFF\xFE\xFD\xFC\xFB\xFA\xF9\xF8\xF7\xF6\xF5\xF4\xF3\xF2"),
        "\xEF\xBF\xBD\xEF\xBF\xBD"
        "***********"
        "\xEF\xBF\xBD");
    assert_string_equal(mask_phone(A, "\xE5\xE5\xE5\xE5\xE5\xE5\xE5"),
                        "****\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");

    /* Exactly sized input with nothing after the NUL: run under ASan, any
     * read past the end is caught. */
    static const char *cases[] = {"\xF0", "\xF0\x9F", "\xF0\x9F\x98", "\xE5", "\xE5\xBC", "\xC3"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i]);
        char *exact = test_malloc(n + 1);
        memcpy(exact, cases[i], n + 1);
        assert_non_null(mask_name(A, exact));
        assert_non_null(mask_id_number(A, exact));
        assert_non_null(mask_phone(A, exact));
        assert_non_null(mask_address(A, exact));
        test_free(exact);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),     cmocka_unit_test(id_numbers),   cmocka_unit_test(phones),
        cmocka_unit_test(addresses), cmocka_unit_test(invalid_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Format and check-character rules of Chinese identifiers: GB 11643 resident
 * identity numbers, GB 32100 unified social credit codes, mobile numbers and
 * the other identity documents. Pure functions of their input, except that
 * "not in the future" reads the clock.
 */
#include "base/time.h"
#include "base/validate.h"

#include "base/json.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

#define ID_LEN      18
#define CREDIT_LEN  18
#define SLUG_ID     "invalid_id_number"
#define SLUG_CREDIT "invalid_credit_code"

static const struct vocab_word id_types[] = {
    [ID_RESIDENT] = {"resident_id", "居民身份证"},
    [ID_PASSPORT] = {"passport", "护照"},
    [ID_HK_MACAO] = {"hk_macao_permit", "港澳居民来往内地通行证"},
    [ID_TAIWAN] = {"taiwan_permit", "台湾居民来往大陆通行证"},
    [ID_FOREIGN_PR] = {"foreign_pr_card", "外国人永久居留身份证"},
    [ID_OTHER] = {"other", "其他证件"},
};
const struct vocab id_type_vocab = VOCAB("id_types", "证件类型", id_types);

enum id_type id_type_parse(const char *s)
{
    int i = vocab_parse(&id_type_vocab, s);
    return i > 0 ? (enum id_type)i : 0;
}

const char *id_type_name(enum id_type t)
{
    return (unsigned)t < id_type_vocab.n ? id_types[t].name : NULL;
}

const char *id_type_label(enum id_type t)
{
    return vocab_label(&id_type_vocab, (size_t)t);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* ---- dates ------------------------------------------------------------------ */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool date_valid(int32_t yyyymmdd)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (yyyymmdd < 10101 || yyyymmdd > 99991231)
        return false;
    int y = yyyymmdd / 10000, m = yyyymmdd / 100 % 100, d = yyyymmdd % 100;
    if (m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && leap(y));
}

/* ---- GB 11643 --------------------------------------------------------------- */

static const int id_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

char resident_id_check_char(const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (!is_digit(first17[i]))
            return '\0';
        sum += (first17[i] - '0') * id_weights[i];
    }
    return "10X98765432"[sum % 11];
}

/* Province-level divisions of GB/T 2260 (71 Taiwan, 81 Hong Kong, 82 Macao). */
static bool province_valid(int code)
{
    static const unsigned char provinces[] = {
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
        43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    };
    for (size_t i = 0; i < sizeof provinces; i++)
        if (provinces[i] == code)
            return true;
    return false;
}

err check_resident_id(const char *s, const char *field, int32_t *birth_r, bool *male_r)
{
    if (!s || strlen(s) != ID_LEN)
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码长度应为18位");
    /* Lower-case x is refused here: callers upper-case first, so that the
     * stored form and the blind index are the same for both spellings. */
    if (!all_digits(s, 17) || !(is_digit(s[17]) || s[17] == 'X'))
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码只能包含数字和末位X");
    if (!province_valid((s[0] - '0') * 10 + (s[1] - '0')))
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码地区码无效");
    int32_t birth = 0;
    for (int i = 6; i < 14; i++)
        birth = birth * 10 + (s[i] - '0');
    if (birth < 19000101 || !date_valid(birth))
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码出生日期无效");
    if (birth > china_today()) /* a birth date is a Chinese date */
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码出生日期晚于今天");
    if (resident_id_check_char(s) != s[17])
        return err_set(E_INPUT, SLUG_ID, field, "身份证号码校验位错误");
    if (birth_r)
        *birth_r = birth;
    if (male_r)
        *male_r = (s[16] - '0') % 2 == 1;
    return E_OK;
}

/* ---- other documents ------------------------------------------------------ */

/* The 2023 foreign permanent resident card: 18 characters beginning with 9,
 * checked like a resident identity number. */
static bool foreign_pr_new(const char *s, size_t n)
{
    return n == 18 && s[0] == '9' && all_digits(s, 17) && resident_id_check_char(s) == s[17];
}

/* The 2004 card: three letters (nationality) and twelve digits. */
static bool foreign_pr_old(const char *s, size_t n)
{
    return n == 15 && is_upper(s[0]) && is_upper(s[1]) && is_upper(s[2]) && all_digits(s + 3, 12);
}

static bool passport_valid(const char *s, size_t n)
{
    /* Chinese passports are E/G + 8 digits or two letters + 7 digits, but
     * foreign passports vary, so any 5-17 upper-case letters and digits. */
    if (n < 5 || n > 17)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]) && !is_upper(s[i]))
            return false;
    return true;
}

static bool printable_ascii(const char *s, size_t n)
{
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

err check_id_number(enum id_type t, const char *s, const char *field)
{
    size_t n = s ? strlen(s) : 0;
    if (!s)
        s = "";
    switch (t) {
    case ID_RESIDENT:
        return check_resident_id(s, field, NULL, NULL);
    case ID_PASSPORT:
        if (passport_valid(s, n))
            return E_OK;
        return err_set(E_INPUT, SLUG_ID, field, "护照号码格式不正确，应为5-17位大写字母或数字");
    case ID_HK_MACAO:
        if ((s[0] == 'H' || s[0] == 'M') && n >= 9 && n <= 11 && all_digits(s + 1, n - 1))
            return E_OK;
        return err_set(E_INPUT, SLUG_ID, field,
                       "港澳居民来往内地通行证号码格式不正确，应为H或M加8-10位数字");
    case ID_TAIWAN:
        if ((n == 8 || n == 10) && all_digits(s, n))
            return E_OK;
        return err_set(E_INPUT, SLUG_ID, field,
                       "台湾居民来往大陆通行证号码格式不正确，应为8位或10位数字");
    case ID_FOREIGN_PR:
        if (foreign_pr_old(s, n) || foreign_pr_new(s, n))
            return E_OK;
        return err_set(E_INPUT, SLUG_ID, field, "外国人永久居留身份证号码格式不正确");
    case ID_OTHER:
        if (printable_ascii(s, n))
            return E_OK;
        return err_set(E_INPUT, SLUG_ID, field, "证件号码应为1-32位字母、数字或符号");
    }
    return err_set(E_INPUT, "invalid_id_type", field, "证件类型无效");
}

/* ---- GB 32100 ----------------------------------------------------------------- */

/* The code's 31 characters: digits and capitals without I, O, Z, S, V. */
static const char credit_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int credit_weights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                       29, 25, 13, 8,  24, 10, 30, 28};

static int credit_value(char c)
{
    const char *p = c ? strchr(credit_alphabet, c) : NULL;
    return p ? (int)(p - credit_alphabet) : -1;
}

char credit_code_check_char(const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int v = credit_value(first17[i]);
        if (v < 0)
            return '\0';
        sum += v * credit_weights[i];
    }
    return credit_alphabet[(31 - sum % 31) % 31];
}

err check_credit_code(const char *s, const char *field)
{
    if (!s || strlen(s) != CREDIT_LEN)
        return err_set(E_INPUT, SLUG_CREDIT, field, "统一社会信用代码长度应为18位");
    for (int i = 0; i < CREDIT_LEN; i++)
        if (credit_value(s[i]) < 0)
            return err_set(E_INPUT, SLUG_CREDIT, field,
                           "统一社会信用代码含有无效字符（不使用I、O、Z、S、V）");
    if (credit_code_check_char(s) != s[17])
        return err_set(E_INPUT, SLUG_CREDIT, field, "统一社会信用代码校验位错误");
    return E_OK;
}

/* ---- phone ---------------------------------------------------------------- */

err check_phone(const char *s, const char *field)
{
    if (s && strlen(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && all_digits(s, 11))
        return E_OK;
    return err_set(E_INPUT, "invalid_phone", field, "手机号码格式不正确");
}

err check_text(const char *s, const char *field, const char *label, size_t max, unsigned flags)
{
    if (!s || !*s)
        return flags & TEXT_REQUIRED ? err_set(E_INPUT, "required", field, "请填写%s", label)
                                     : E_OK;
    if (!utf8_valid_text(s) || (flags & TEXT_ONE_LINE && strpbrk(s, "\t\r\n")))
        return err_set(E_INPUT, "invalid_value", field, "%s含有不允许的字符", label);
    if (utf8_len(s) > max)
        return err_set(E_INPUT, "too_long", field, "%s不能超过%zu个字符", label, max);
    return E_OK;
}

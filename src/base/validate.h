/*
 * Checks of Chinese identifiers, with no epidemic knowledge: resident
 * identity card numbers (GB 11643-1999), unified social credit codes
 * (GB 32100-2015), mainland mobile numbers, other identity documents by
 * format, and 12-digit statistical division codes.
 *
 * Each returns E_OK or an E_INPUT error whose slug and Chinese message say
 * what is wrong, with `field` as the error's field.
 */
#ifndef FK_BASE_VALIDATE_H
#define FK_BASE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/vocab.h"

/* Identity document types (the `id_type` field). */
enum id_type {
    ID_RESIDENT = 1, /* 居民身份证 */
    ID_PASSPORT,     /* 护照 */
    ID_HK_MACAO,     /* 港澳居民来往内地通行证 */
    ID_TAIWAN,       /* 台湾居民来往大陆通行证 */
    ID_FOREIGN_PR,   /* 外国人永久居留身份证 */
    ID_OTHER,        /* 其他 */
};

/* Parse the JSON name ("resident_id", "passport", …); 0 if unknown. */
enum id_type id_type_parse(const char *s);
/* The JSON name; NULL for an invalid type. */
const char *id_type_name(enum id_type t);
/* The Chinese label ("居民身份证"); "" for an invalid type. */
const char *id_type_label(enum id_type t);
/* The table behind the three (base/vocab.h), indexed by enum id_type. */
extern const struct vocab id_type_vocab;

/*
 * GB 11643: 18 characters, 17 digits and a check character (0-9 or X; a
 * lower-case x is refused, as callers upper-case first), a valid birth date
 * from 1900 on and not in the future (China time), and an address code whose
 * province part exists. On success *birth_r (if not NULL) gets the birth date
 * as yyyymmdd and *male_r (if not NULL) the sex from the 17th digit.
 */
err check_resident_id(const char *s, const char *field, int32_t *birth_r, bool *male_r) MUST_USE;

/* The GB 11643 check character of the first 17 digits ('\0' if one is not a
 * digit). */
char resident_id_check_char(const char *first17);

/*
 * Any document type by format (ID_RESIDENT: check_resident_id):
 *   passport           5-17 upper-case letters or digits (E12345678, PE1234567)
 *   hk_macao_permit    H or M and 8-10 digits
 *   taiwan_permit      8 or 10 digits
 *   foreign_pr_card    3 letters and 12 digits, or (the 2023 card) 9, 16
 *                      digits and the GB 11643 check character
 *   other              1-32 printable ASCII characters
 * An unknown type fails with slug "invalid_id_type".
 */
err check_id_number(enum id_type t, const char *s, const char *field) MUST_USE;

/* GB 32100: 18 characters from the code's alphabet, valid check character. */
err check_credit_code(const char *s, const char *field) MUST_USE;
/* '\0' if a character is outside the code's alphabet. */
char credit_code_check_char(const char *first17);

/* Mainland mobile: 11 digits starting 13-19. */
err check_phone(const char *s, const char *field) MUST_USE;

/* A free-text field: valid UTF-8 without control characters (and, with
 * TEXT_ONE_LINE, without tab or line breaks), at most `max` characters;
 * NULL or "" is "required" with TEXT_REQUIRED, else fine. Errors name
 * `field` and say `label` in Chinese. */
enum { TEXT_REQUIRED = 1, TEXT_ONE_LINE = 2 };
err check_text(const char *s, const char *field, const char *label, size_t max,
               unsigned flags) MUST_USE;

/* Valid calendar date given as yyyymmdd. */
bool date_valid(int32_t yyyymmdd);

#endif

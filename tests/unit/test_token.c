/*
 * Unit tests of security/token.h: round trips of every kind, every
 * single-character tamper refused, expiry edges, daily key rotation with a
 * simulated clock, kinds kept apart, the QR-friendly alphabet, and the
 * untrusted decode that routes another instance's code (共享互认).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/validate.h"
#include "security/crypto.h"
#include "security/token.h"

/* 2026-03-01 10:00:00 China time */
#define T0  1772330400000LL
#define MIN 60000LL
#define CC  "91110101MA01234567" /* check char fixed up in setup */

static char credit[19];

static int setup(void **state)
{
    (void)state;
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 7 + 1);
    keys_set_master(master);
    memcpy(credit, CC, 17);
    credit[17] = credit_code_check_char(credit);
    credit[18] = '\0';
    return 0;
}

static struct token health(int64_t at)
{
    return (struct token){.kind = TOKEN_HEALTH,
                          .subject = 384649373482483712LL,
                          .issued_at = at,
                          .expires_at = at + 5 * MIN};
}

static const char *slug_of(const char *s, enum token_kind want, int64_t now)
{
    struct token t;
    err e = token_verify(s, want, now, &t);
    return e ? err_last()->slug : "ok";
}

static void test_round_trip(void **state)
{
    (void)state;
    char s[TOKEN_MAX];
    struct token in = health(T0), out;
    assert_int_equal(token_issue(&in, s), E_OK);
    assert_true(strlen(s) < 80);
    assert_int_equal(strncmp(s, "FK1.", 4), 0);
    /* QR alphanumeric set: digits, upper case, '.' */
    for (const char *p = s; *p; p++)
        assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .$%*+-/:", *p));
    assert_int_equal(token_verify(s, TOKEN_HEALTH, T0 + MIN, &out), E_OK);
    assert_int_equal(out.kind, TOKEN_HEALTH);
    assert_int_equal(out.subject, in.subject);
    assert_int_equal(out.issued_at, T0);
    assert_int_equal(out.expires_at, T0 + 5 * MIN);
    assert_int_equal(out.key_id, token_day(T0));
    assert_string_equal(out.credit_code, "");

    /* a venue code with the credit code, no expiry, a version as key id */
    struct token v = {.kind = TOKEN_VENUE, .key_id = 7, .subject = 42, .issued_at = T0};
    memcpy(v.credit_code, credit, sizeof credit);
    assert_int_equal(token_issue(&v, s), E_OK);
    assert_true(strlen(s) < 80);
    assert_int_equal(token_verify(s, TOKEN_VENUE, T0 + 3650 * TOKEN_DAY_MS, &out), E_OK);
    assert_int_equal(out.subject, 42);
    assert_int_equal(out.key_id, 7);
    assert_int_equal(out.expires_at, 0);
    assert_string_equal(out.credit_code, credit);

    /* deterministic: the same input gives the same token */
    char s2[TOKEN_MAX];
    assert_int_equal(token_issue(&v, s2), E_OK);
    assert_string_equal(s, s2);
}

/* Every character replaced by every other character of the alphabet, and
 * every character dropped: refused, never accepted as another token. */
static void test_tamper(void **state)
{
    (void)state;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.1a";
    struct token v = {.kind = TOKEN_VENUE, .key_id = 1, .subject = 99, .issued_at = T0};
    memcpy(v.credit_code, credit, sizeof credit);
    struct token toks[2] = {health(T0), v};
    for (int k = 0; k < 2; k++) {
        char s[TOKEN_MAX], t[TOKEN_MAX];
        assert_int_equal(token_issue(&toks[k], s), E_OK);
        size_t n = strlen(s);
        for (size_t i = 0; i < n; i++) {
            for (const char *c = alpha; *c; c++) {
                if (*c == s[i])
                    continue;
                memcpy(t, s, n + 1);
                t[i] = *c;
                const char *slug = slug_of(t, toks[k].kind, T0 + MIN);
                if (strcmp(slug, "token_malformed") && strcmp(slug, "token_forged"))
                    fail_msg("position %zu '%c': %s", i, *c, slug);
            }
            /* a byte flipped below the alphabet too */
            memcpy(t, s, n + 1);
            t[i] ^= 0x01;
            assert_string_not_equal(slug_of(t, toks[k].kind, T0 + MIN), "ok");
            /* dropped */
            memcpy(t, s, i);
            memcpy(t + i, s + i + 1, n - i);
            assert_string_not_equal(slug_of(t, toks[k].kind, T0 + MIN), "ok");
        }
        /* appended and truncated */
        memcpy(t, s, n);
        t[n] = 'A';
        t[n + 1] = '\0';
        assert_string_not_equal(slug_of(t, toks[k].kind, T0 + MIN), "ok");
        assert_string_equal(slug_of("", toks[k].kind, T0), "token_malformed");
        assert_string_equal(slug_of("FK1.", toks[k].kind, T0), "token_malformed");
        assert_string_equal(slug_of("FK1..", toks[k].kind, T0), "token_malformed");
        assert_string_equal(slug_of(NULL, toks[k].kind, T0), "token_malformed");
    }
    /* lower case is another spelling: refused */
    char s[TOKEN_MAX];
    struct token h = health(T0);
    assert_int_equal(token_issue(&h, s), E_OK);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "token_malformed");
}

static void test_expiry(void **state)
{
    (void)state;
    char s[TOKEN_MAX];
    struct token h = health(T0);
    assert_int_equal(token_issue(&h, s), E_OK);
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "ok");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0 + 5 * MIN - 1), "ok");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0 + 5 * MIN), "token_expired");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0 + 6 * MIN), "token_expired");
    /* a health code must expire */
    h.expires_at = 0;
    assert_int_equal(token_issue(&h, s), E_INPUT);
    h.expires_at = T0;
    assert_int_equal(token_issue(&h, s), E_INPUT);
    /* bad inputs */
    h = health(T0);
    h.subject = 0;
    assert_int_equal(token_issue(&h, s), E_INPUT);
    h = health(T0);
    h.kind = 9;
    assert_int_equal(token_issue(&h, s), E_INPUT);
    struct token v = {.kind = TOKEN_VENUE, .key_id = 1, .subject = 5, .issued_at = T0};
    memcpy(v.credit_code, "91110101MA0123456X", 19); /* a wrong check character */
    assert_int_equal(token_issue(&v, s), E_INPUT);
}

/* The daily key: a code issued just before midnight still verifies just
 * after it (yesterday's key is accepted), but not the day after, even when
 * its own expiry is far away. */
static void test_rotation(void **state)
{
    (void)state;
    char s[TOKEN_MAX];
    /* 23:58 China time on the day of T0 */
    int64_t midnight = ((T0 + 8 * 3600000LL) / TOKEN_DAY_MS + 1) * TOKEN_DAY_MS - 8 * 3600000LL;
    struct token h = health(midnight - 2 * MIN);
    h.expires_at = midnight + 3 * TOKEN_DAY_MS; /* a long expiry: the key must still stop it */
    assert_int_equal(token_issue(&h, s), E_OK);
    assert_int_equal(token_day(midnight - 1) + 1, token_day(midnight));
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight - MIN), "ok");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight + MIN), "ok");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight + TOKEN_DAY_MS - 1), "ok");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight + TOKEN_DAY_MS), "token_key_expired");
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight + 2 * TOKEN_DAY_MS), "token_key_expired");
    /* a server whose clock runs behind by less than the skew accepts a code
     * another server signed with tomorrow's key; by more, it does not */
    char ahead[TOKEN_MAX];
    struct token a = health(midnight + MIN);
    assert_int_equal(token_issue(&a, ahead), E_OK);
    assert_string_equal(slug_of(ahead, TOKEN_HEALTH, midnight - MIN), "ok");
    assert_string_equal(slug_of(ahead, TOKEN_HEALTH, midnight - 10 * MIN), "token_key_expired");
    /* far in the past (before issue): refused */
    assert_string_equal(slug_of(s, TOKEN_HEALTH, midnight - 2 * TOKEN_DAY_MS), "token_key_expired");

    /* days differ in their keys: two codes one day apart have different tags */
    char s2[TOKEN_MAX];
    struct token h2 = health(T0), h3 = health(T0 + TOKEN_DAY_MS);
    h3.issued_at = T0;
    h3.expires_at = T0 + 5 * MIN;
    assert_int_equal(token_issue(&h2, s), E_OK);
    assert_int_equal(token_issue(&h3, s2), E_OK);
    assert_string_equal(s, s2);

    /* another master key: every token is forged */
    uint8_t other[32] = {9};
    assert_int_equal(token_issue(&h2, s), E_OK);
    /* the day's key is now cached on this thread (token.c): the new master
     * must still refuse what the old one signed */
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "ok");
    keys_set_master(other);
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "token_forged");
    setup(NULL);
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "ok");
}

static void test_kinds(void **state)
{
    (void)state;
    char s[TOKEN_MAX];
    struct token h = health(T0);
    assert_int_equal(token_issue(&h, s), E_OK);
    assert_string_equal(slug_of(s, TOKEN_VENUE, T0), "token_wrong_kind");
    assert_string_equal(slug_of(s, TOKEN_VISITOR, T0), "token_wrong_kind");
    struct token v = {.kind = TOKEN_VISITOR,
                      .key_id = 3,
                      .subject = 77,
                      .issued_at = T0,
                      .expires_at = T0 + 2 * TOKEN_DAY_MS};
    assert_int_equal(token_issue(&v, s), E_OK);
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "token_wrong_kind");
    /* fixed keys do not rotate: valid the next day, until its expiry */
    assert_string_equal(slug_of(s, TOKEN_VISITOR, T0 + TOKEN_DAY_MS + MIN), "ok");
    assert_string_equal(slug_of(s, TOKEN_VISITOR, T0 + 2 * TOKEN_DAY_MS), "token_expired");
    /* a certificate never expires by itself (revoked by version) and is
     * signed apart from visitor codes of the same subject and version */
    struct token c = {.kind = TOKEN_CERT, .key_id = 3, .subject = 77, .issued_at = T0};
    assert_int_equal(token_issue(&c, s), E_OK);
    assert_string_equal(slug_of(s, TOKEN_CERT, T0 + 400 * TOKEN_DAY_MS), "ok");
    assert_string_equal(slug_of(s, TOKEN_VISITOR, T0), "token_wrong_kind");
    char forged[TOKEN_MAX];
    v.expires_at = 0;
    assert_int_equal(token_issue(&v, forged), E_OK);
    /* a visitor code relabelled as a certificate (its first payload
     * characters, which carry the kind, taken from the certificate) */
    memcpy(forged + 4, s + 4, 2);
    assert_string_not_equal(slug_of(forged, TOKEN_CERT, T0), "ok");
}

/* Another instance's token (another master key) is forged here, yet its
 * subject decodes untrusted, for routing by the subject's node; a broken
 * token does not decode at all. */
static void test_decode_untrusted(void **state)
{
    (void)state;
    char s[TOKEN_MAX];
    struct token h = health(T0), out;
    uint8_t other[32] = {5};
    keys_set_master(other);
    assert_int_equal(token_issue(&h, s), E_OK);
    setup(NULL);
    assert_string_equal(slug_of(s, TOKEN_HEALTH, T0), "token_forged");
    assert_int_equal(token_decode_untrusted(s, &out), E_OK);
    assert_int_equal(out.kind, TOKEN_HEALTH);
    assert_int_equal(out.subject, h.subject);
    assert_int_equal(out.issued_at, T0 / 1000 * 1000);
    assert_int_equal(out.expires_at, h.expires_at);
    assert_int_equal((out.subject >> 12) & 1023, (384649373482483712LL >> 12) & 1023);
    /* a tampered tag still decodes (nothing is trusted); the format is
     * checked as token_verify checks it */
    s[strlen(s) - 1] = s[strlen(s) - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(token_decode_untrusted(s, &out), E_OK);
    static const char *const bad[] = {
        "", "FK1.", "FK2.AAAA.BBBB", "FK1.AAAA", "FK1.A.B", "FK1.!!!!.AAAA", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(token_decode_untrusted(bad[i], &out), E_INPUT);
        assert_string_equal(err_last()->slug, "token_malformed");
    }
    assert_int_equal(token_decode_untrusted(NULL, &out), E_INPUT);
    /* a payload of a kind that does not exist */
    char k[TOKEN_MAX];
    assert_int_equal(token_issue(&h, k), E_OK);
    k[4] = '7'; /* the first 5 bits of the kind byte: 11111 */
    assert_int_equal(token_decode_untrusted(k, &out), E_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_expiry),     cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_kinds),      cmocka_unit_test(test_decode_untrusted),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

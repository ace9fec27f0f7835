/*
 * Signed code tokens: the text inside the QR codes residents, visitors and
 * venues show (docs/codes.md has the format and the reasons).
 *
 *     FK1.<payload, base32>.<tag, base32>          e.g. 55-74 characters
 *
 * The payload is a fixed binary record (kind, key id, subject, issue time,
 * expiry, and for venue codes the organisation's unified social credit
 * code); the tag is HMAC-SM3 over "FK1." || payload, truncated to
 * TOKEN_TAG_LEN bytes. Base32 is RFC 4648's upper-case alphabet without
 * padding, so a whole token is in the QR alphanumeric set and encodes in
 * alphanumeric mode (5.5 bits a character instead of 8).
 *
 * Keys, all derived from the master key's KEY_TOKEN (crypto.h), never
 * stored, so every server holding the key file computes the same ones:
 *   - health codes and itinerary cards: one key per China-time day and kind (the key id is the day
 *     number); a token verifies only under today's or yesterday's key (the
 *     latter for codes issued just before midnight), so a screenshot taken
 *     yesterday fails today whatever its expiry says;
 *   - venue and visitor codes, certificates: one fixed key per kind, and the key id is the
 *     record's code version: bumping the version revokes every code printed
 *     before (the caller compares it with the record).
 *
 * Everything here is pure computation: no database, no allocation.
 */
#ifndef FK_SECURITY_TOKEN_H
#define FK_SECURITY_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define TOKEN_PREFIX  "FK1."
#define TOKEN_TAG_LEN 10 /* bytes of HMAC-SM3 kept: 80 bits */
#define TOKEN_MAX     96 /* a buffer for any token, NUL included */
#define TOKEN_DAY_MS  86400000LL
/* A key id from at most this far in the future is still accepted, for the
 * clocks of several servers that disagree around midnight. */
#define TOKEN_SKEW_MS 300000LL

enum token_kind {
    TOKEN_HEALTH = 1,    /* a person's health code: rotating daily key */
    TOKEN_VENUE = 2,     /* a venue's printed code: fixed key, key id = code version */
    TOKEN_VISITOR = 3,   /* a confirmed visitor's code: fixed key, key id = version */
    TOKEN_CERT = 4,      /* a release certificate (解除隔离通知书): fixed key, subject = the
                            certificate, key id = its version (revoking bumps it) */
    TOKEN_ITINERARY = 5, /* a person's 14-day itinerary card (行程卡): rotating daily key of
                           its own, subject = the person, expires at the end of the day */
    TOKEN_STAFF_PASS = 6 /* an enterprise pass (通行证, enterprise.h): rotating daily key of
                            its own, subject = the employee, expires at the shift's end */
};

struct token {
    enum token_kind kind;
    uint32_t key_id;      /* day number (health) or record version (others);
                             token_issue sets it for TOKEN_HEALTH */
    int64_t subject;      /* person, venue or visitor id; > 0 */
    int64_t issued_at;    /* epoch ms (kept to the second) */
    int64_t expires_at;   /* epoch ms (kept to the second); 0: never */
    char credit_code[19]; /* venue codes: the organisation's USCC, or "" */
};

/* The China-time (UTC+8) day number of an epoch-ms instant: the key id of
 * the health-code key in force at that instant. */
uint32_t token_day(int64_t ms);

/*
 * Write the token for `t` into `out` (NUL-terminated, < TOKEN_MAX bytes).
 * TOKEN_HEALTH, TOKEN_ITINERARY (the rotating kinds): the key id is set to
 * token_day(t->issued_at) and the token must expire (expires_at > issued_at). A non-empty credit
 * code must be a valid USCC (E_INPUT "invalid_credit_code"). E_INPUT "invalid_token_input" for an
 * unknown kind, a subject <= 0 or times outside 1970..2106.
 */
err token_issue(const struct token *t, char out[TOKEN_MAX]) MUST_USE;

/*
 * Check `s` at instant `now` (epoch ms) as a token of kind `want` and
 * decode it into *t_r (untouched on failure). The checks, in order, each
 * E_INPUT with field "token" and its own slug:
 *   "token_malformed"   not a token of this format (length, alphabet,
 *                       prefix, non-canonical base32, bad field values);
 *   "token_forged"      the tag does not match (constant-time compare);
 *   "token_wrong_kind"  a valid token of another kind;
 *   "token_key_expired" a rotating kind's token signed under a key no longer
 *                       accepted (another day: a replayed screenshot);
 *   "token_expired"     past its expiry;
 *   "token_key_retired" no key held verifies it and it was issued before
 *                       the current key version (a key rotation destroyed
 *                       the one that signed it): refresh or reprint.
 * Revocation by version is the caller's: compare t_r->key_id.
 */
err token_verify(const char *s, enum token_kind want, int64_t now, struct token *t_r) MUST_USE;

/*
 * UNTRUSTED: ROUTING ONLY. Decode `s` without checking its tag, for a token
 * another instance issued (its key is not ours, so token_verify answers
 * "token_forged"): the subject's id names the node that made it (base/id.h),
 * which says where to ask (共享互认, src/exchange/share.c). Nothing decoded
 * here may be shown, stored or acted on as true: the issuer verifies. Only
 * the format is checked: E_INPUT "token_malformed" (field "token") as
 * token_verify answers it; E_OK with *t_r filled otherwise.
 */
err token_decode_untrusted(const char *s, struct token *t_r) MUST_USE;

#endif

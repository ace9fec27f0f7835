/*
 * Signed code tokens (token.h): the binary payload, its base32 text and the
 * keys. Payload layout (big-endian):
 *
 *   0  kind        1 byte
 *   1  key id      4
 *   5  subject     8
 *  13  issued at   4  epoch seconds
 *  17  expires at  4  epoch seconds, 0: never
 *  21  credit code 12 optional: 18 characters of the USCC alphabet (31
 *                     symbols), 5 bits each, 6 zero bits of padding
 *
 * so a payload is 21 or 33 bytes: 34 or 53 base32 characters.
 */
#include "security/token.h"

#include <string.h>

#include "base/time.h"
#include "base/validate.h"
#include "security/crypto.h"

#define PAYLOAD_BASE 21
#define PAYLOAD_CC   33
#define CC_LEN       18
#define PREFIX_LEN   (sizeof TOKEN_PREFIX - 1)

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/* GB 32100's alphabet: digits and upper-case letters without I, O, S, V, Z. */
static const char uscc[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* ---- base32 (RFC 4648, no padding, canonical) ------------------------------------ */

static size_t b32_len(size_t n)
{
    return (n * 8 + 4) / 5;
}

static void b32_encode(const uint8_t *in, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            *out++ = b32[(acc >> bits) & 31];
        }
    }
    if (bits)
        *out++ = b32[(acc << (5 - bits)) & 31];
    *out = '\0';
}

/* Decode exactly `len` characters into `n` bytes (len == b32_len(n)); false
 * on a character outside the alphabet or non-zero padding bits, so each
 * byte string has exactly one accepted spelling. */
static bool b32_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
    if (len != b32_len(n))
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = in[i] ? strchr(b32, in[i]) : NULL;
        if (!p)
            return false;
        acc = acc << 5 | (uint32_t)(p - b32);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o == n && (acc & ((1u << bits) - 1)) == 0;
}

/* ---- fields ------------------------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void cc_pack(const char *cc, uint8_t out[12])
{
    memset(out, 0, 12);
    for (int i = 0; i < CC_LEN; i++) {
        unsigned v = (unsigned)(strchr(uscc, cc[i]) - uscc);
        for (int b = 0; b < 5; b++)
            if (v >> (4 - b) & 1) {
                int bit = i * 5 + b;
                out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
            }
    }
}

static bool cc_unpack(const uint8_t in[12], char out[19])
{
    for (int i = 0; i < CC_LEN; i++) {
        unsigned v = 0;
        for (int b = 0; b < 5; b++) {
            int bit = i * 5 + b;
            v = v << 1 | (in[bit / 8] >> (7 - bit % 8) & 1);
        }
        if (v >= sizeof uscc - 1)
            return false;
        out[i] = uscc[v];
    }
    out[CC_LEN] = '\0';
    return (in[11] & 0x3f) == 0;
}

/* ---- keys ---------------------------------------------------------------------------- */

uint32_t token_day(int64_t ms)
{
    int64_t d = china_day(ms);
    return d < 0 ? 0 : (uint32_t)d;
}

static bool rotating(enum token_kind k)
{
    return k == TOKEN_HEALTH || k == TOKEN_ITINERARY || k == TOKEN_STAFF_PASS;
}

/* The signing key of a token: rotating kinds derive one per day from the
 * key id, the others one per kind; the labels keep them independent of each
 * other and of other KEY_TOKEN uses. */
static void token_key(const uint8_t *base, enum token_kind kind, uint32_t key_id,
                      uint8_t out[SM3_LEN])
{
    uint8_t label[24] = "fangkong/token/";
    size_t n = 15;
    if (rotating(kind)) {
        memcpy(label + n, "day", 3);
        n += 3;
        put32(label + n, key_id);
        n += 4;
        /* the health code's label predates the other rotating kinds */
        if (kind != TOKEN_HEALTH)
            label[n++] = (uint8_t)kind;
    } else {
        memcpy(label + n, "kind", 4);
        n += 4;
        label[n++] = (uint8_t)kind;
    }
    hmac_sm3(base, SM3_LEN, label, n, out);
}

/*
 * The signing keys derived last on this thread, by (base key, kind, key
 * id): a checkpoint verifies thousands of codes signed with today's key,
 * and deriving it is an HMAC-SM3 as dear as the tag's (docs/benchmarks.md,
 * "The scan's token"). The keys' generation (keys_generation) is part of
 * the match; when it changes the thread wipes every entry first, so a
 * destroyed key version leaves no derived key behind on a thread that
 * verifies again.
 */
#define TOKEN_KEY_CACHE 4
struct token_key_entry {
    unsigned gen; /* 0: empty */
    const uint8_t *base;
    enum token_kind kind;
    uint32_t key_id;
    uint8_t key[SM3_LEN];
};
static _Thread_local struct token_key_entry key_cache[TOKEN_KEY_CACHE];
static _Thread_local unsigned key_cache_gen, key_cache_next;

static void token_key_cached(const uint8_t *base, enum token_kind kind, uint32_t key_id,
                             uint8_t out[SM3_LEN])
{
    unsigned g = keys_generation();
    if (g != key_cache_gen) {
        memset(key_cache, 0, sizeof key_cache);
        key_cache_gen = g;
    }
    for (int i = 0; i < TOKEN_KEY_CACHE; i++) {
        const struct token_key_entry *c = &key_cache[i];
        if (c->gen == g && c->base == base && c->kind == kind && c->key_id == key_id) {
            memcpy(out, c->key, SM3_LEN);
            return;
        }
    }
    token_key(base, kind, key_id, out);
    struct token_key_entry *c = &key_cache[key_cache_next++ % TOKEN_KEY_CACHE];
    *c = (struct token_key_entry){.gen = g, .base = base, .kind = kind, .key_id = key_id};
    memcpy(c->key, out, SM3_LEN);
}

/* base: the master's KEY_TOKEN of the current version, or of the previous
 * one during a key rotation (docs/keys.md, "Tokens") */
static void tag(const uint8_t *base, enum token_kind kind, uint32_t key_id, const uint8_t *payload,
                size_t n, uint8_t out[SM3_LEN])
{
    uint8_t key[SM3_LEN], msg[PREFIX_LEN + PAYLOAD_CC];
    token_key_cached(base, kind, key_id, key);
    memcpy(msg, TOKEN_PREFIX, PREFIX_LEN);
    memcpy(msg + PREFIX_LEN, payload, n);
    hmac_sm3(key, sizeof key, msg, PREFIX_LEN + n, out);
    memset(key, 0, sizeof key);
}

static bool kind_valid(int k)
{
    return k == TOKEN_HEALTH || k == TOKEN_VENUE || k == TOKEN_VISITOR || k == TOKEN_CERT ||
           k == TOKEN_ITINERARY || k == TOKEN_STAFF_PASS;
}

/* ---- issue and verify --------------------------------------------------------------- */

err token_issue(const struct token *t, char out[TOKEN_MAX])
{
    int64_t iat = t->issued_at / 1000, exp = t->expires_at / 1000;
    if (!kind_valid(t->kind) || t->subject <= 0 || iat <= 0 || iat > UINT32_MAX || exp < 0 ||
        exp > UINT32_MAX || (rotating(t->kind) && exp <= iat))
        return err_set(E_INPUT, "invalid_token_input", NULL, "无法生成二维码");
    bool has_cc = t->credit_code[0] != '\0';
    err e;
    if (has_cc && (e = check_credit_code(t->credit_code, "credit_code")))
        return e;
    uint8_t p[PAYLOAD_CC];
    uint32_t kid = rotating(t->kind) ? token_day(t->issued_at) : t->key_id;
    p[0] = (uint8_t)t->kind;
    put32(p + 1, kid);
    put32(p + 5, (uint32_t)((uint64_t)t->subject >> 32));
    put32(p + 9, (uint32_t)t->subject);
    put32(p + 13, (uint32_t)iat);
    put32(p + 17, (uint32_t)exp);
    size_t n = PAYLOAD_BASE;
    if (has_cc) {
        cc_pack(t->credit_code, p + PAYLOAD_BASE);
        n = PAYLOAD_CC;
    }
    uint8_t mac[SM3_LEN];
    tag(keys_get(KEY_TOKEN), t->kind, kid, p, n, mac);
    char *o = out;
    memcpy(o, TOKEN_PREFIX, PREFIX_LEN);
    o += PREFIX_LEN;
    b32_encode(p, n, o);
    o += b32_len(n);
    *o++ = '.';
    b32_encode(mac, TOKEN_TAG_LEN, o);
    return E_OK;
}

static err bad(const char *slug, const char *msg)
{
    return err_set(E_INPUT, slug, "token", "%s", msg);
}

static const char malformed[] = "二维码无法识别";

/* Split and decode the text of a token: its payload (n bytes) and tag. */
static err split(const char *s, uint8_t p[PAYLOAD_CC], size_t *n_r, uint8_t got[TOKEN_TAG_LEN])
{
    size_t len = s ? strnlen(s, TOKEN_MAX) : 0;
    if (len < PREFIX_LEN || len >= TOKEN_MAX || memcmp(s, TOKEN_PREFIX, PREFIX_LEN))
        return bad("token_malformed", malformed);
    const char *body = s + PREFIX_LEN, *dot = memchr(body, '.', len - PREFIX_LEN);
    if (!dot)
        return bad("token_malformed", malformed);
    size_t plen = (size_t)(dot - body), tlen = len - PREFIX_LEN - plen - 1;
    size_t n = plen == b32_len(PAYLOAD_BASE) ? PAYLOAD_BASE
               : plen == b32_len(PAYLOAD_CC) ? PAYLOAD_CC
                                             : 0;
    if (!n || !b32_decode(body, plen, p, n) || !b32_decode(dot + 1, tlen, got, TOKEN_TAG_LEN) ||
        !kind_valid(p[0]))
        return bad("token_malformed", malformed);
    *n_r = n;
    return E_OK;
}

/* The fields of a payload split() accepted. */
static bool fields(const uint8_t *p, size_t n, struct token *t)
{
    *t = (struct token){.kind = (enum token_kind)p[0], .key_id = get32(p + 1)};
    t->subject = (int64_t)((uint64_t)get32(p + 5) << 32 | get32(p + 9));
    t->issued_at = (int64_t)get32(p + 13) * 1000;
    t->expires_at = (int64_t)get32(p + 17) * 1000;
    return n != PAYLOAD_CC || cc_unpack(p + PAYLOAD_BASE, t->credit_code);
}

err token_decode_untrusted(const char *s, struct token *t_r)
{
    uint8_t p[PAYLOAD_CC], got[TOKEN_TAG_LEN];
    size_t n;
    struct token t;
    err e = split(s, p, &n, got);
    if (e)
        return e;
    if (!fields(p, n, &t) || t.subject <= 0)
        return bad("token_malformed", malformed);
    *t_r = t;
    return E_OK;
}

/*
 * A tag no key held matches. When the token says it was issued before the
 * current key version became current, it was most likely signed under a
 * version since destroyed (a key rotation, docs/keys.md): the same refusal,
 * worded so that the holder refreshes it (a venue reprints its code). The
 * issue time is unauthenticated here, so it picks the wording only.
 */
static err retired(const uint8_t *p, size_t n)
{
    struct token t;
    int64_t since = keys_current_since();
    if (since > 0 && fields(p, n, &t) && t.issued_at > 0 && t.issued_at < since) {
        if (t.kind == TOKEN_VENUE)
            return bad("token_key_retired",
                       "该场所码的签发密钥已更换，已失效：请场所管理员在系统中重新打印场所码");
        return bad("token_key_retired", "二维码的签发密钥已更换，已失效：请刷新后重新出示");
    }
    return bad("token_forged", "二维码无效（签名不符），可能是伪造的");
}

err token_verify(const char *s, enum token_kind want, int64_t now, struct token *t_r)
{
    uint8_t p[PAYLOAD_CC], got[TOKEN_TAG_LEN], mac[SM3_LEN];
    size_t n;
    err e = split(s, p, &n, got);
    if (e)
        return e;
    tag(keys_get(KEY_TOKEN), (enum token_kind)p[0], get32(p + 1), p, n, mac);
    if (!ct_equal(mac, got, TOKEN_TAG_LEN)) {
        /* signed before a key rotation: valid until the old version is
         * destroyed (the second tag is computed only then) */
        const uint8_t *prev = keys_get_previous(KEY_TOKEN);
        if (prev)
            tag(prev, (enum token_kind)p[0], get32(p + 1), p, n, mac);
        if (!prev || !ct_equal(mac, got, TOKEN_TAG_LEN))
            return retired(p, n);
    }

    /* authentic from here: the fields are the server's own */
    struct token t;
    if (!fields(p, n, &t))
        return bad("token_malformed", malformed);
    if (t.kind != want)
        return bad("token_wrong_kind", "这不是此处可用的二维码");
    if (rotating(t.kind)) {
        uint32_t today = token_day(now), ahead = token_day(now + TOKEN_SKEW_MS);
        if (t.key_id + 1 < today || t.key_id > ahead)
            return bad("token_key_expired", "二维码已失效（不是当天生成的），请刷新后重新出示");
    }
    if (t.expires_at && now >= t.expires_at)
        return bad("token_expired", "二维码已过期，请刷新后重新出示");
    *t_r = t;
    return E_OK;
}

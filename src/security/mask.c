/*
 * Masking (脱敏) of names, identity numbers, phones and addresses for
 * replies. Works on UTF-8 characters. Input is expected to be valid UTF-8
 * (it arrived as JSON), but nothing here trusts that: a byte that does not
 * begin a well-formed sequence counts as one character, is never read past,
 * and if kept is written as U+FFFD so the reply is still valid JSON text.
 */
#include "security/mask.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Bytes in the character at p (never 0 unless *p is the terminator); *ok
 * is false when p does not begin a well-formed sequence and the byte stands
 * alone. Overlong forms, surrogates and code points above U+10FFFF are not
 * well formed. Each continuation byte is checked before the next is read, so
 * the terminating NUL (never a continuation byte) stops the scan. */
static size_t char_len(const char *s, bool *ok)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    *ok = true;
    if (c < 0x80)
        return c ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *ok = false;
        return 1;
    }
    if (p[1] < lo || p[1] > hi) {
        *ok = false;
        return 1;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            *ok = false;
            return 1;
        }
    }
    return n;
}

static size_t count_chars(const char *s)
{
    size_t n = 0, len;
    bool ok;
    while ((len = char_len(s, &ok)) > 0) {
        s += len;
        n++;
    }
    return n;
}

static const char *skip_chars(const char *s, size_t k)
{
    bool ok;
    for (; k > 0; k--)
        s += char_len(s, &ok);
    return s;
}

/* The output under construction; `p` has room for the worst case (see
 * start()), so the appenders need no bounds checks. */
struct out {
    char *buf;
    size_t n;
};

static struct out start(arena *a, const char *s)
{
    /* Each input byte becomes at most 3 (U+FFFD), each character at most
     * one star, plus a "****" suffix and the terminator. */
    size_t len = strlen(s);
    return (struct out){arena_alloc(a, 4 * len + 5), 0};
}

static void put_stars(struct out *o, size_t k)
{
    memset(o->buf + o->n, '*', k);
    o->n += k;
}

/* Copy k characters of s; returns where they end in s. */
static const char *put_chars(struct out *o, const char *s, size_t k)
{
    bool ok;
    for (; k > 0; k--) {
        size_t len = char_len(s, &ok);
        if (ok) {
            memcpy(o->buf + o->n, s, len);
            o->n += len;
        } else {
            memcpy(o->buf + o->n, REPLACEMENT, 3);
            o->n += 3;
        }
        s += len;
    }
    return s;
}

static char *finish(struct out *o)
{
    o->buf[o->n] = '\0';
    return o->buf;
}

/* Keep `head` characters, star `n - head - tail`, keep `tail`. */
static char *keep_ends(arena *a, const char *s, size_t n, size_t head, size_t tail)
{
    struct out o = start(a, s);
    s = put_chars(&o, s, head);
    put_stars(&o, n - head - tail);
    put_chars(&o, skip_chars(s, n - head - tail), tail);
    return finish(&o);
}

char *mask_name(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = count_chars(s);
    if (n == 0)
        return arena_strdup(a, "");
    if (n == 1)
        return arena_strdup(a, "*");
    return keep_ends(a, s, n, 1, n == 2 ? 0 : 1);
}

char *mask_id_number(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = count_chars(s);
    /* A resident id is 6 area + 8 birth date + 3 sequence + 1 check
     * digit. Showing the area and the last four (the old 110101********1234)
     * left only the birth date hidden, which the age in the same reply pins
     * to a year: a few hundred candidates, searchable one by one. The
     * province and the check digit leave over 10^7 (docs/security.md). */
    if (n >= 14)
        return keep_ends(a, s, n, 2, 1);
    if (n >= 6)
        return keep_ends(a, s, n, 1, 2);
    return keep_ends(a, s, n, 0, 0);
}

static bool ascii_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[n] == '\0';
}

char *mask_phone(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = count_chars(s);
    if (n == 0)
        return arena_strdup(a, "");
    if (n == 11 && ascii_digits(s, 11)) {
        struct out o = start(a, s);
        put_chars(&o, s, 3);
        put_stars(&o, 4);
        put_chars(&o, s + 7, 4);
        return finish(&o);
    }
    /* Other shapes (landlines, foreign numbers): a fixed "****" hides the
     * length too; short ones keep nothing, as the last 4 would be most of it. */
    struct out o = start(a, s);
    put_stars(&o, 4);
    if (n >= 7)
        put_chars(&o, skip_chars(s, n - 4), 4);
    return finish(&o);
}

char *mask_address(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = count_chars(s);
    if (n == 0)
        return arena_strdup(a, "");
    struct out o = start(a, s);
    put_chars(&o, s, n > 6 ? 6 : n / 2);
    put_stars(&o, 4);
    return finish(&o);
}

json_t *mask_field_json(arena *a, enum field_mask m, json_t *v)
{
    if (!json_is_string(v))
        return json_incref(v);
    const char *s = json_string_value(v);
    switch (m) {
    case MK_NONE:
        return json_incref(v);
    case MK_NAME:
        return json_string(mask_name(a, s));
    case MK_ID:
        return json_string(mask_id_number(a, s));
    case MK_PHONE:
        return json_string(mask_phone(a, s));
    case MK_ADDRESS:
        return json_string(mask_address(a, s));
    case MK_BIRTH:
        /* not even the year: the reply shows the age, and age and year
         * together can pin the date to a single day (docs/security.md) */
        return json_string("****-**-**");
    }
    return json_incref(v);
}

/* Field d of rec as the reply shows it: masked by its rule unless reveal. */
static json_t *field_shown(arena *a, const struct field *d, const void *rec, bool reveal)
{
    json_t *v = field_json(d, rec);
    if (reveal)
        return v;
    json_t *m = mask_field_json(a, d->mask, v);
    json_decref(v);
    return m;
}

void mask_fields_json(arena *a, const struct field *t, size_t n, const void *rec, bool reveal,
                      json_t *o)
{
    for (size_t f = 0; f < n; f++)
        json_object_set_new(o, t[f].name, field_shown(a, &t[f], rec, reveal));
}

void mask_fields_jsonw(struct jsonw *w, arena *a, const struct field *t, size_t n, const void *rec,
                       bool reveal)
{
    for (size_t f = 0; f < n; f++) {
        json_t *v = field_shown(a, &t[f], rec, reveal);
        jsonw_key(w, t[f].name);
        jsonw_json(w, v);
        json_decref(v);
    }
}

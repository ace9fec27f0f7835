/*
 * Name tokenisation for searching names that stay encrypted: the text of
 * the tokens (full name, surname, bigrams) that person.c blind-indexes into
 * person_name_tokens, the tokens of a query, and the final substring check
 * that removes false positives. Pure functions; docs/security.md gives the
 * reasoning.
 */
#include <string.h>

#include "person/person.h"

/* Bytes of the UTF-8 character at s (1..4; a malformed byte counts as one
 * character of one byte, and a truncated sequence never reads past NUL). */
static size_t char_bytes(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Appends token text to a bounded buffer; `ok` turns false (and stays
 * false) when something does not fit. */
struct out {
    char *buf;
    size_t size, used;
    const char **tok;
    size_t max, n;
    bool ok;
};

static const char *begin(struct out *o, char kind)
{
    if (o->n >= o->max || o->size - o->used < 3) {
        o->ok = false;
        return NULL;
    }
    char *t = o->buf + o->used;
    t[0] = kind;
    t[1] = ':';
    o->used += 2;
    return t;
}

static void put(struct out *o, const char *s, size_t n)
{
    if (!o->ok || o->size - o->used < n + 1) {
        o->ok = false;
        return;
    }
    for (size_t i = 0; i < n; i++)
        o->buf[o->used + i] = fold(s[i]);
    o->used += n;
}

/* Terminate the token begun at t; drop it if an equal one exists. */
static void end(struct out *o, const char *t)
{
    if (!o->ok)
        return;
    o->buf[o->used++] = '\0';
    for (size_t i = 0; i < o->n; i++) {
        if (!strcmp(o->tok[i], t)) {
            o->used = (size_t)(t - o->buf);
            return;
        }
    }
    o->tok[o->n++] = t;
}

size_t person_name_tokens(const char *name, char *buf, size_t bufsize, const char **tok_r,
                          size_t max)
{
    if (!name || !*name)
        return 0;
    struct out o = {buf, bufsize, 0, tok_r, max, 0, true};
    const char *t = begin(&o, 'f');
    put(&o, name, strlen(name));
    end(&o, t);
    size_t first = char_bytes(name);
    t = begin(&o, 's');
    put(&o, name, first);
    end(&o, t);
    for (const char *p = name; *p;) {
        size_t a = char_bytes(p);
        if (!p[a])
            break;
        size_t b = char_bytes(p + a);
        t = begin(&o, 'b');
        put(&o, p, a + b);
        end(&o, t);
        p += a;
    }
    return o.ok ? o.n : 0;
}

size_t person_name_query_tokens(const char *query, char *buf, size_t bufsize, const char **tok_r,
                                size_t max)
{
    if (!query || !*query || max == 0)
        return 0;
    struct out o = {buf, bufsize, 0, tok_r, max, 0, true};
    size_t first = char_bytes(query);
    if (!query[first]) {
        const char *t = begin(&o, 's');
        put(&o, query, first);
        end(&o, t);
        return o.ok ? o.n : 0;
    }
    /* Every distinct bigram first (into a local list), then an even spread
     * of at most `max` of them: the first and last always, so the
     * candidates are pinned at both ends of the query. */
    const char *all[PERSON_TOKENS_MAX];
    char tmp[PERSON_TOKEN_BUF];
    struct out b = {tmp, sizeof tmp, 0, all, PERSON_TOKENS_MAX, 0, true};
    for (const char *p = query; *p;) {
        size_t x = char_bytes(p);
        if (!p[x])
            break;
        size_t y = char_bytes(p + x);
        const char *t = begin(&b, 'b');
        put(&b, p, x + y);
        end(&b, t);
        p += x;
    }
    if (!b.ok)
        return 0;
    size_t take = b.n < max ? b.n : max;
    for (size_t i = 0; i < take; i++) {
        size_t k = take == 1 ? 0 : i * (b.n - 1) / (take - 1);
        const char *t = begin(&o, 'b');
        put(&o, all[k] + 2, strlen(all[k] + 2));
        end(&o, t);
    }
    return o.ok ? o.n : 0;
}

bool person_name_matches(const char *name, const char *query)
{
    if (!name || !query)
        return false;
    size_t n = strlen(name), q = strlen(query);
    if (q == 0)
        return true;
    for (size_t i = 0; i + q <= n; i++) {
        size_t k = 0;
        while (k < q && fold(name[i + k]) == fold(query[k]))
            k++;
        if (k == q)
            return true;
    }
    return false;
}

/*
 * The one-buffer JSON writer (base/jsonw.h): the rules of jansson's
 * compact dump (dump.c, utf.c, strconv.c of jansson 2.14) applied while
 * appending, so that a reply written here is byte for byte the one a tree
 * would have given.
 */
#include "base/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONW_MAX_DEFAULT ((size_t)64 << 20)
#define JSONW_FIRST_CAP   1024

void jsonw_init(struct jsonw *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max ? max : JSONW_MAX_DEFAULT;
}

void jsonw_free(struct jsonw *w)
{
    free(w->p);
    w->p = NULL;
    w->n = w->cap = 0;
}

static void fail(struct jsonw *w)
{
    w->failed = true;
}

bool jsonw_failed(const struct jsonw *w)
{
    return w->failed;
}

/* Room for `more` bytes and the final NUL, within the bound. */
static bool reserve(struct jsonw *w, size_t more)
{
    if (w->failed)
        return false;
    if (more > w->max - w->n) { /* n <= max always; the NUL is beyond max */
        fail(w);
        return false;
    }
    size_t need = w->n + more + 1;
    if (need <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : JSONW_FIRST_CAP;
    while (cap < need)
        cap = cap > w->max / 2 ? w->max + 1 : cap * 2;
    char *p = realloc(w->p, cap);
    if (!p) {
        fail(w);
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
    if (reserve(w, n)) {
        memcpy(w->p + w->n, s, n);
        w->n += n;
    }
}

static void put_c(struct jsonw *w, char c)
{
    if (reserve(w, 1))
        w->p[w->n++] = c;
}

static bool in_object(const struct jsonw *w)
{
    return w->depth && (w->objects >> (w->depth - 1) & 1);
}

/* Before a value: its separator, and whether one may stand here. */
static bool value_starts(struct jsonw *w)
{
    if (w->failed)
        return false;
    if (w->done || (in_object(w) && !w->keyed)) {
        fail(w);
        return false;
    }
    if (w->comma && !in_object(w))
        put_c(w, ',');
    w->keyed = false;
    return !w->failed;
}

/* After a value: the next member needs a comma; at the top it is the end. */
static void value_ends(struct jsonw *w)
{
    w->comma = true;
    if (!w->depth)
        w->done = true;
}

static void begin(struct jsonw *w, bool object, char c)
{
    if (!value_starts(w))
        return;
    if (w->depth == JSONW_DEPTH_MAX) {
        fail(w);
        return;
    }
    put_c(w, c);
    if (object)
        w->objects |= (uint64_t)1 << w->depth;
    else
        w->objects &= ~((uint64_t)1 << w->depth);
    w->depth++;
    w->comma = false;
}

static void end(struct jsonw *w, bool object, char c)
{
    if (w->failed)
        return;
    if (!w->depth || in_object(w) != object || w->keyed) {
        fail(w);
        return;
    }
    put_c(w, c);
    w->depth--;
    value_ends(w);
}

void jsonw_object(struct jsonw *w)
{
    begin(w, true, '{');
}

void jsonw_object_end(struct jsonw *w)
{
    end(w, true, '}');
}

void jsonw_array(struct jsonw *w)
{
    begin(w, false, '[');
}

void jsonw_array_end(struct jsonw *w)
{
    end(w, false, ']');
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 when it is not
 * one jansson accepts (utf8_check_first and utf8_check_full). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char u = s[0];
    size_t len;
    uint32_t v;
    if (u >= 0xC2 && u <= 0xDF) {
        len = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        len = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        len = 4;
        v = u & 0x07;
    } else {
        return 0; /* a continuation byte, 0xC0/0xC1 (overlong) or above 0xF4 */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
        return 0;
    return len;
}

/* A quoted, escaped string; fails on invalid UTF-8. */
static void put_string(struct jsonw *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *end = s + n;
    /* the common case, plain text, in one reservation */
    if (!reserve(w, n + 2))
        return;
    w->p[w->n++] = '"';
    while (s < end) {
        const unsigned char *run = s;
        while (s < end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        while (s < end && *s >= 0x80) {
            size_t k = utf8_seq(s, (size_t)(end - s));
            if (!k) {
                fail(w);
                return;
            }
            s += k;
            while (s < end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
                s++;
        }
        if (s > run)
            put(w, (const char *)run, (size_t)(s - run));
        if (s == end)
            break;
        char esc[6] = {'\\', 0};
        size_t k = 2;
        switch (*s) {
        case '"':
        case '\\':
            esc[1] = (char)*s;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default: /* below 0x20 */
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*s >> 4];
            esc[5] = hex[*s & 15];
            k = 6;
        }
        put(w, esc, k);
        s++;
    }
    put_c(w, '"');
}

static void keyn(struct jsonw *w, const char *k, size_t n)
{
    if (w->failed)
        return;
    if (!k || !in_object(w) || w->keyed) {
        fail(w);
        return;
    }
    if (w->comma)
        put_c(w, ',');
    put_string(w, k, n);
    put_c(w, ':');
    w->keyed = true;
}

void jsonw_key(struct jsonw *w, const char *k)
{
    keyn(w, k, k ? strlen(k) : 0);
}

void jsonw_stringn(struct jsonw *w, const char *s, size_t n)
{
    if (!s) {
        fail(w);
        return;
    }
    if (!value_starts(w))
        return;
    put_string(w, s, n);
    value_ends(w);
}

void jsonw_string(struct jsonw *w, const char *s)
{
    jsonw_stringn(w, s, s ? strlen(s) : 0);
}

void jsonw_string_or_null(struct jsonw *w, const char *s)
{
    if (s)
        jsonw_string(w, s);
    else
        jsonw_null(w);
}

static void literal(struct jsonw *w, const char *s, size_t n)
{
    if (!value_starts(w))
        return;
    put(w, s, n);
    value_ends(w);
}

/* The decimal digits of v (with '-') into the end of buf; returns the start. */
static char *digits(int64_t v, char *end)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = end;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char buf[24], *p = digits(v, buf + sizeof buf);
    literal(w, p, (size_t)(buf + sizeof buf - p));
}

void jsonw_id(struct jsonw *w, int64_t id)
{
    char buf[24], *p = digits(id, buf + sizeof buf - 1);
    *--p = '"';
    buf[sizeof buf - 1] = '"';
    literal(w, p, (size_t)(buf + sizeof buf - p));
}

void jsonw_id_or_null(struct jsonw *w, int64_t id)
{
    if (id)
        jsonw_id(w, id);
    else
        jsonw_null(w);
}

void jsonw_real(struct jsonw *w, double v)
{
    if (!isfinite(v)) {
        fail(w);
        return;
    }
    /* jansson's jsonp_dtostr at its default precision */
    char buf[100];
    int r = snprintf(buf, sizeof buf, "%.17g", v);
    if (r < 0 || (size_t)r >= sizeof buf - 3) {
        fail(w);
        return;
    }
    size_t len = (size_t)r;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(buf, 'e');
    if (start) {
        /* no '+' and no leading zeros in the exponent */
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    literal(w, buf, len);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    if (v)
        literal(w, "true", 4);
    else
        literal(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
    literal(w, "null", 4);
}

void jsonw_json(struct jsonw *w, const json_t *cv)
{
    json_t *v = (json_t *)cv; /* jansson's getters take non-const */
    if (!v) {
        fail(w);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        jsonw_object(w);
        for (void *it = json_object_iter(v); it && !w->failed; it = json_object_iter_next(v, it)) {
            keyn(w, json_object_iter_key(it), json_object_iter_key_len(it));
            jsonw_json(w, json_object_iter_value(it));
        }
        jsonw_object_end(w);
        break;
    }
    case JSON_ARRAY:
        jsonw_array(w);
        for (size_t i = 0; i < json_array_size(v) && !w->failed; i++)
            jsonw_json(w, json_array_get(v, i));
        jsonw_array_end(w);
        break;
    case JSON_STRING:
        jsonw_stringn(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jsonw_int(w, json_integer_value(v));
        break;
    case JSON_REAL:
        jsonw_real(w, json_real_value(v));
        break;
    case JSON_TRUE:
        jsonw_bool(w, true);
        break;
    case JSON_FALSE:
        jsonw_bool(w, false);
        break;
    case JSON_NULL:
        jsonw_null(w);
        break;
    }
}

char *jsonw_finish(struct jsonw *w, size_t *len_r)
{
    if (w->failed || !w->done || !reserve(w, 0)) {
        jsonw_free(w);
        return NULL;
    }
    char *p = w->p;
    p[w->n] = '\0';
    if (len_r)
        *len_r = w->n;
    w->p = NULL;
    w->n = w->cap = 0;
    return p;
}

json_t *jsonw_parse(struct jsonw *w)
{
    size_t n;
    char *text = jsonw_finish(w, &n);
    json_t *v = text ? json_loadb(text, n, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    return v;
}

/*
 * Unit tests of base/jsonw: the writer's text against json_dumps(tree,
 * JSON_COMPACT) of the same values, for every string edge jansson has a
 * rule for (escapes, control characters, UTF-8 boundaries, invalid
 * sequences, U+2028), reals at the edges of "%.17g", integers at their
 * limits, and random documents; then the writer's own refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* The writer's text of v through the primitives (not jsonw_json), so that
 * each primitive is compared with jansson's dump of the same value. */
static void write_value(struct jsonw *w, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        jsonw_object(w);
        json_object_foreach(v, k, m)
        {
            jsonw_key(w, k);
            write_value(w, m);
        }
        jsonw_object_end(w);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *m;
        jsonw_array(w);
        json_array_foreach(v, i, m) write_value(w, m);
        jsonw_array_end(w);
        break;
    }
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
    case JSON_FALSE:
        jsonw_bool(w, json_is_true(v));
        break;
    case JSON_NULL:
        jsonw_null(w);
        break;
    }
}

/* Both ways of writing v give jansson's text, or both fail as its dump
 * does; v is released. Returns whether jansson could dump it. */
static bool same_as_jansson(json_t *v)
{
    char *want = json_dumps(v, DUMP_FLAGS);
    for (int way = 0; way < 2; way++) {
        struct jsonw w;
        jsonw_init(&w, 0);
        if (way)
            jsonw_json(&w, v);
        else
            write_value(&w, v);
        size_t n = 0;
        char *got = jsonw_finish(&w, &n);
        if (!want) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, want);
            assert_int_equal(n, strlen(want));
        }
        free(got);
    }
    json_decref(v);
    bool ok = want != NULL;
    free(want);
    return ok;
}

/* A string value of n bytes, unchecked (jansson's dump checks it). */
static bool string_same(const char *s, size_t n)
{
    return same_as_jansson(json_stringn_nocheck(s, n));
}

static void strings_escaped(void **state)
{
    (void)state;
    /* every byte below 0x80 alone and inside text */
    for (int c = 0; c < 0x80; c++) {
        char one[1] = {(char)c};
        assert_true(string_same(one, 1));
        char mid[5] = {'a', (char)c, 'b', (char)c, 'c'};
        assert_true(string_same(mid, sizeof mid));
    }
    static const char *const texts[] = {
        "",
        "plain",
        "张三",
        "110101********1234",
        "a\"b\\c/d",
        "\x7f",
        "line\nbreak\r\ttab",
        "\xe2\x80\xa8 and \xe2\x80\xa9", /* U+2028, U+2029: as they are */
        "\xc2\x80",
        "\xdf\xbf",
        "\xe0\xa0\x80",
        "\xef\xbf\xbf",
        "\xf0\x90\x80\x80",
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "\xed\x9f\xbf",     /* U+D7FF */
        "\xee\x80\x80",     /* U+E000 */
        "😀 emoji",
        "mixed 中文 \x01 \x1f end",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        assert_true(string_same(texts[i], strlen(texts[i])));
    /* an embedded NUL is \u0000 */
    assert_true(string_same("a\0b", 3));
}

static void strings_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\x80", /* a lone continuation byte */
        "\xbf",
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong 3 bytes */
        "\xf0\x80\x80\x80", /* overlong 4 bytes */
        "\xed\xa0\x80",     /* U+D800, a surrogate */
        "\xed\xbf\xbf",     /* U+DFFF */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80",
        "\xff",
        "\xfe",
        "\xc3",         /* cut short */
        "\xe4\xb8",     /* cut short */
        "\xe4\x41\x41", /* a continuation that is not */
        "ok \xe5\xbc\xa0 then \x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(string_same(bad[i], strlen(bad[i])));
    /* the same as a key: the writer refuses what jansson cannot hold */
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    jsonw_key(&w, "\xc3\x28");
    jsonw_int(&w, 1);
    jsonw_object_end(&w);
    assert_true(jsonw_failed(&w));
    assert_null(jsonw_finish(&w, NULL));
}

static void numbers(void **state)
{
    (void)state;
    static const int64_t ints[] = {0,
                                   1,
                                   -1,
                                   9,
                                   10,
                                   -10,
                                   123456789,
                                   INT64_MAX,
                                   INT64_MIN,
                                   INT64_MIN + 1,
                                   4294967296LL,
                                   -2147483648LL};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        assert_true(same_as_jansson(json_integer(ints[i])));
    static const double reals[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   36.5,
                                   37.25,
                                   0.1,
                                   1e-5,
                                   1e-7,
                                   1e16,
                                   1e17,
                                   1e22,
                                   1e100,
                                   1e300,
                                   1.5e-300,
                                   5e-324,
                                   2.2250738585072014e-308,
                                   1.7976931348623157e308,
                                   -1e-100,
                                   123456789012345678.0,
                                   3.141592653589793,
                                   1.0 / 3};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        assert_true(same_as_jansson(json_real(reals[i])));
    /* json_real refuses what is not finite; so does the writer */
    static const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(json_real(bad[i]));
        struct jsonw w;
        jsonw_init(&w, 0);
        jsonw_real(&w, bad[i]);
        assert_null(jsonw_finish(&w, NULL));
    }
}

static void ids_and_literals(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string("7391827364519283745"));
    json_object_set_new(o, "none", json_null());
    json_object_set_new(o, "t", json_true());
    json_object_set_new(o, "f", json_false());
    json_object_set_new(o, "empty_object", json_object());
    json_object_set_new(o, "empty_array", json_array());
    char *want = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    jsonw_key(&w, "id");
    jsonw_id(&w, 7391827364519283745LL);
    jsonw_key(&w, "none");
    jsonw_id_or_null(&w, 0);
    jsonw_key(&w, "t");
    jsonw_bool(&w, true);
    jsonw_key(&w, "f");
    jsonw_bool(&w, false);
    jsonw_key(&w, "empty_object");
    jsonw_object(&w);
    jsonw_object_end(&w);
    jsonw_key(&w, "empty_array");
    jsonw_array(&w);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    char *got = jsonw_finish(&w, NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

/* jsonw_parse: the tree of what was written, NULL when the writer failed */
static void parsed(void **state)
{
    (void)state;
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    jsonw_key(&w, "name");
    jsonw_string(&w, "张*");
    jsonw_key(&w, "t");
    jsonw_real(&w, 36.6);
    jsonw_object_end(&w);
    json_t *got = jsonw_parse(&w), *want = json_pack("{s:s,s:f}", "name", "张*", "t", 36.6);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    jsonw_init(&w, 0);
    jsonw_string(&w, "\xff");
    assert_null(jsonw_parse(&w));
}

/* ---- random documents ---------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Valid UTF-8 of random characters: ASCII with control characters, two-,
 * three- and four-byte sequences (U+2028 among them now and then). */
static json_t *random_string(void)
{
    char b[64];
    size_t n = 0, want = next() % 12;
    for (size_t i = 0; i < want; i++) {
        uint32_t c, kind = next() % 6;
        if (kind == 0)
            c = next() % 0x20;
        else if (kind == 1)
            c = 0x80 + next() % 0x780;
        else if (kind == 2)
            c = next() % 8 ? 0x800 + next() % 0xD000 : 0x2028;
        else if (kind == 3)
            c = 0x10000 + next() % 0x100000;
        else
            c = 0x20 + next() % 0x60;
        if (c >= 0xD800 && c <= 0xDFFF)
            c = 'x';
        if (c < 0x80) {
            b[n++] = (char)c;
        } else if (c < 0x800) {
            b[n++] = (char)(0xC0 | c >> 6);
            b[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            b[n++] = (char)(0xE0 | c >> 12);
            b[n++] = (char)(0x80 | (c >> 6 & 0x3F));
            b[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            b[n++] = (char)(0xF0 | c >> 18);
            b[n++] = (char)(0x80 | (c >> 12 & 0x3F));
            b[n++] = (char)(0x80 | (c >> 6 & 0x3F));
            b[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return json_stringn(b, n);
}

static json_t *random_value(int depth)
{
    switch (next() % (depth < 4 ? 8 : 6)) {
    case 0:
        return json_integer((json_int_t)((uint64_t)next() << 32 | next()));
    case 1: {
        double d;
        uint64_t bits = (uint64_t)next() << 32 | next();
        memcpy(&d, &bits, sizeof d);
        return isfinite(d) ? json_real(d) : json_real((double)next() / 7);
    }
    case 2:
        return random_string();
    case 3:
        return json_boolean(next() & 1);
    case 4:
        return json_null();
    case 5:
        return json_integer(next() % 100);
    case 6: {
        json_t *o = json_object();
        for (uint32_t i = 0, n = next() % 6; i < n; i++) {
            json_t *k = random_string();
            json_object_set_new(o, json_string_value(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (uint32_t i = 0, n = next() % 6; i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

static void random_documents(void **state)
{
    (void)state;
    for (int i = 0; i < 5000; i++)
        assert_true(same_as_jansson(random_value(0)));
}

/* ---- the writer's refusals ----------------------------------------------------- */

static void refuses_misuse(void **state)
{
    (void)state;
    struct jsonw w;
    /* a value where a key is due */
    jsonw_init(&w, 0);
    jsonw_object(&w);
    jsonw_int(&w, 1);
    assert_true(jsonw_failed(&w));
    assert_null(jsonw_finish(&w, NULL));
    /* a key in an array */
    jsonw_init(&w, 0);
    jsonw_array(&w);
    jsonw_key(&w, "k");
    assert_null(jsonw_finish(&w, NULL));
    /* two keys in a row, and an object closed after its key */
    jsonw_init(&w, 0);
    jsonw_object(&w);
    jsonw_key(&w, "a");
    jsonw_object_end(&w);
    assert_null(jsonw_finish(&w, NULL));
    /* the wrong closer */
    jsonw_init(&w, 0);
    jsonw_array(&w);
    jsonw_object_end(&w);
    assert_null(jsonw_finish(&w, NULL));
    /* not complete */
    jsonw_init(&w, 0);
    jsonw_array(&w);
    jsonw_int(&w, 1);
    assert_false(jsonw_failed(&w));
    assert_null(jsonw_finish(&w, NULL));
    /* a second top-level value */
    jsonw_init(&w, 0);
    jsonw_int(&w, 1);
    jsonw_int(&w, 2);
    assert_null(jsonw_finish(&w, NULL));
    /* NULL strings and values */
    jsonw_init(&w, 0);
    jsonw_string(&w, NULL);
    assert_null(jsonw_finish(&w, NULL));
    jsonw_init(&w, 0);
    jsonw_json(&w, NULL);
    assert_null(jsonw_finish(&w, NULL));
    jsonw_init(&w, 0);
    jsonw_string_or_null(&w, NULL);
    char *s = jsonw_finish(&w, NULL);
    assert_string_equal(s, "null");
    free(s);
    /* a later call after a failure does nothing, not even crash */
    jsonw_init(&w, 0);
    jsonw_array_end(&w);
    jsonw_array(&w);
    jsonw_string(&w, "x");
    assert_null(jsonw_finish(&w, NULL));
}

static void depth_and_bound(void **state)
{
    (void)state;
    struct jsonw w;
    jsonw_init(&w, 0);
    for (int i = 0; i < JSONW_DEPTH_MAX; i++)
        jsonw_array(&w);
    assert_false(jsonw_failed(&w));
    jsonw_array(&w); /* one level too deep */
    assert_true(jsonw_failed(&w));
    jsonw_free(&w);
    jsonw_init(&w, 0);
    for (int i = 0; i < JSONW_DEPTH_MAX; i++)
        jsonw_array(&w);
    for (int i = 0; i < JSONW_DEPTH_MAX; i++)
        jsonw_array_end(&w);
    char *s = jsonw_finish(&w, NULL);
    assert_int_equal(strlen(s), 2 * JSONW_DEPTH_MAX);
    free(s);
    /* the bound: exactly max bytes pass, one more fails */
    jsonw_init(&w, 7);
    jsonw_string(&w, "abcde"); /* 7 bytes with the quotes */
    s = jsonw_finish(&w, NULL);
    assert_string_equal(s, "\"abcde\"");
    free(s);
    jsonw_init(&w, 7);
    jsonw_string(&w, "abcdef");
    assert_null(jsonw_finish(&w, NULL));
    /* growth well past the first buffer */
    jsonw_init(&w, 0);
    jsonw_array(&w);
    for (int i = 0; i < 10000; i++)
        jsonw_string(&w, "a somewhat longer string to grow the buffer");
    jsonw_array_end(&w);
    size_t n;
    s = jsonw_finish(&w, &n);
    assert_non_null(s);
    assert_int_equal(n, 2 + 10000 * 45 + 9999);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_escaped), cmocka_unit_test(strings_invalid_utf8),
        cmocka_unit_test(numbers),         cmocka_unit_test(ids_and_literals),
        cmocka_unit_test(parsed),          cmocka_unit_test(random_documents),
        cmocka_unit_test(refuses_misuse),  cmocka_unit_test(depth_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

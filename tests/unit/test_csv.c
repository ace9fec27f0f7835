/*
 * Unit tests of base/csv: RFC 4180 quoting, line endings, the byte order
 * mark, blank lines, line numbers, the limits, recovery after a bad record,
 * and reading through a callback in chunks of every size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/csv.h"

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

/*
 * Read every record of `text` and render it as "line:[f1|f2]" items joined
 * by spaces, errors as "line:E<n>", so a whole parse is one string compare.
 */
static const char *render(csv_reader *r)
{
    static char out[4096];
    size_t o = 0;
    out[0] = '\0';
    while (o < sizeof out - 256) { /* a reader that never ends fails the compare */
        char **f;
        size_t n;
        int rc = csv_next(r, &f, &n);
        if (rc == CSV_END)
            break;
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%ld:", o ? " " : "", csv_line(r));
        if (rc != CSV_RECORD) {
            o += (size_t)snprintf(out + o, sizeof out - o, "E%d", -rc);
            if (rc == CSV_E_IO)
                break;
            continue;
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "[");
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "|" : "", f[i]);
        o += (size_t)snprintf(out + o, sizeof out - o, "]");
    }
    return out;
}

static const char *parse(const char *text)
{
    return render(csv_open_mem(A, text, strlen(text), NULL));
}

static void simple_records(void **state)
{
    (void)state;
    assert_string_equal(parse("a,b,c\n1,2,3\n"), "1:[a|b|c] 2:[1|2|3]");
    /* no final line break */
    assert_string_equal(parse("a,b\n1,2"), "1:[a|b] 2:[1|2]");
    /* empty fields, leading and trailing */
    assert_string_equal(parse(",x,\n,,\n"), "1:[|x|] 2:[||]");
    assert_string_equal(parse(""), "");
    /* blanks are data, not trimmed */
    assert_string_equal(parse(" a , b \n"), "1:[ a | b ]");
}

static void line_endings(void **state)
{
    (void)state;
    assert_string_equal(parse("a\r\nb\r\nc"), "1:[a] 2:[b] 3:[c]");
    assert_string_equal(parse("a\rb\rc\r"), "1:[a] 2:[b] 3:[c]");
    assert_string_equal(parse("a\nb\r\nc\rd"), "1:[a] 2:[b] 3:[c] 4:[d]");
}

static void blank_lines_skipped(void **state)
{
    (void)state;
    assert_string_equal(parse("\n\na\n\r\n\nb\n\n"), "3:[a] 6:[b]");
    /* a line holding only an empty quoted field is a record */
    assert_string_equal(parse("\"\"\n"), "1:[]");
}

static void quoting(void **state)
{
    (void)state;
    assert_string_equal(parse("\"a,b\",c\n"), "1:[a,b|c]");
    assert_string_equal(parse("\"say \"\"hi\"\"\",x\n"), "1:[say \"hi\"|x]");
    assert_string_equal(parse("\"\",\"\"\n"), "1:[|]");
    /* line breaks inside quotes belong to the field; lines still count */
    assert_string_equal(parse("\"l1\nl2\",b\nnext\n"), "1:[l1\nl2|b] 3:[next]");
    assert_string_equal(parse("\"l1\r\nl2\"\r\nnext"), "1:[l1\r\nl2] 3:[next]");
    /* quoted field at the end of input without a line break */
    assert_string_equal(parse("a,\"b\""), "1:[a|b]");
    /* UTF-8 passes through */
    assert_string_equal(parse("区划代码,名称\n\"110101\",\"东城区\"\n"),
                        "1:[区划代码|名称] 2:[110101|东城区]");
}

static void byte_order_mark(void **state)
{
    (void)state;
    assert_string_equal(parse("\xEF\xBB\xBF"
                              "code,name\n1,x\n"),
                        "1:[code|name] 2:[1|x]");
    /* only at the very start, and only the whole mark */
    assert_string_equal(parse("\xEF\xBB"
                              "x\n"),
                        "1:[\xEF\xBBx]");
    assert_string_equal(parse("a\n\xEF\xBB\xBF"
                              "b\n"),
                        "1:[a] 2:[\xEF\xBB\xBF"
                        "b]");
}

static void bad_quotes_recover(void **state)
{
    (void)state;
    /* a quote inside an unquoted field */
    assert_string_equal(parse("a\"b,c\nok\n"), "1:E1 2:[ok]");
    /* text after a closing quote */
    assert_string_equal(parse("\"a\"b,c\nok\n"), "1:E1 2:[ok]");
    /* unterminated at the end of input: the rest is consumed */
    assert_string_equal(parse("ok\n\"abc\ndef\n"), "1:[ok] 2:E1");
}

static void nul_byte(void **state)
{
    (void)state;
    static const char text[] = "a,b\nx\0y,z\nok\n";
    csv_reader *r = csv_open_mem(A, text, sizeof text - 1, NULL);
    assert_string_equal(render(r), "1:[a|b] 2:E5 3:[ok]");
}

static void limits(void **state)
{
    (void)state;
    struct csv_limits lim = {.max_field = 4, .max_record = 10, .max_fields = 3};
    const char *text = "abcd,e\nabcde\n\"abcde\"\nabcd,abcd,a\na,b,c,d\nok\n";
    csv_reader *r = csv_open_mem(A, text, strlen(text), &lim);
    /* 1 fits exactly; 2 and 3 have a 5-byte field; 4 is 11 bytes; 5 has 4 fields */
    assert_string_equal(render(r), "1:[abcd|e] 2:E2 3:E2 4:E3 5:E4 6:[ok]");
    /* defaults apply to zero members */
    struct csv_limits zero = {0};
    r = csv_open_mem(A, "a,b\n", 4, &zero);
    assert_string_equal(render(r), "1:[a|b]");
}

static void after_end(void **state)
{
    (void)state;
    csv_reader *r = csv_open_mem(A, "a\n", 2, NULL);
    char **f;
    size_t n;
    assert_int_equal(csv_next(r, &f, &n), CSV_RECORD);
    assert_int_equal(csv_next(r, &f, &n), CSV_END);
    assert_int_equal(csv_next(r, &f, &n), CSV_END);
}

/* A callback source handing out `chunk` bytes at a time. */
struct src {
    const char *text;
    size_t pos, n, chunk;
    int fail_at; /* fail when pos reaches this (-1 never) */
};

static ssize_t src_read(void *ctx, char *buf, size_t cap)
{
    struct src *s = ctx;
    if (s->fail_at >= 0 && s->pos >= (size_t)s->fail_at)
        return -1;
    size_t k = s->n - s->pos;
    if (k > s->chunk)
        k = s->chunk;
    if (k > cap)
        k = cap;
    memcpy(buf, s->text + s->pos, k);
    s->pos += k;
    return (ssize_t)k;
}

static void callback_any_chunking(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF"
                       "code,\"na\"\"me\"\r\n\r\n1,\"x\r\ny\"\r\n2,z";
    const char *want = "1:[code|na\"me] 3:[1|x\r\ny] 5:[2|z]";
    assert_string_equal(parse(text), want);
    for (size_t chunk = 1; chunk <= strlen(text); chunk++) {
        struct src s = {text, 0, strlen(text), chunk, -1};
        assert_string_equal(render(csv_open(A, src_read, &s, NULL)), want);
    }
}

static void callback_failure(void **state)
{
    (void)state;
    struct src s = {"a,b\nc,d\n", 0, 8, 4, 4};
    csv_reader *r = csv_open(A, src_read, &s, NULL);
    assert_string_equal(render(r), "1:[a|b] 2:E6");
    char **f;
    size_t n;
    assert_int_equal(csv_next(r, &f, &n), CSV_E_IO);
    assert_string_equal(csv_strerror(CSV_E_IO), "read error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_records),
        cmocka_unit_test(line_endings),
        cmocka_unit_test(blank_lines_skipped),
        cmocka_unit_test(quoting),
        cmocka_unit_test(byte_order_mark),
        cmocka_unit_test(bad_quotes_recover),
        cmocka_unit_test(nul_byte),
        cmocka_unit_test(limits),
        cmocka_unit_test(after_end),
        cmocka_unit_test(callback_any_chunking),
        cmocka_unit_test(callback_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

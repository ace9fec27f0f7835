/*
 * Unit tests of base/csv. Reader: RFC 4180 quoting, line endings, the byte
 * order mark, blank lines, line numbers, the limits, recovery after a bad
 * record, and reading through a callback in chunks of every size. Writer:
 * quoting, the formula guard, number cells, the byte order mark, empty
 * cells, growth, and reading its output back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
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

/* ---- writer ------------------------------------------------------------- */

static struct csv_out out_new(bool bom)
{
    struct csv_out c;
    csv_out_init(&c, A, bom);
    return c;
}

/* The document so far, checked to be NUL-terminated at its length. */
static const char *doc(const struct csv_out *c)
{
    assert_int_equal(strlen(c->p), c->n);
    return c->p;
}

/* One text cell alone on a row, as written. */
static const char *text_row(const char *s)
{
    struct csv_out c = out_new(false);
    csv_text(&c, s);
    csv_row_end(&c);
    return doc(&c);
}

static const char *num_row(const char *s)
{
    struct csv_out c = out_new(false);
    csv_num(&c, s);
    csv_row_end(&c);
    return doc(&c);
}

static void writer_cells_and_rows(void **state)
{
    (void)state;
    struct csv_out c = out_new(false);
    assert_string_equal(doc(&c), "");
    csv_text(&c, "a");
    csv_text(&c, "b c");
    csv_int(&c, 3);
    csv_row_end(&c);
    csv_text(&c, "编号");
    csv_row_end(&c);
    assert_string_equal(doc(&c), "a,b c,3\r\n编号\r\n");
}

static void writer_quoting(void **state)
{
    (void)state;
    assert_string_equal(text_row("a,b"), "\"a,b\"\r\n");
    assert_string_equal(text_row("say \"hi\""), "\"say \"\"hi\"\"\"\r\n");
    assert_string_equal(text_row("\""), "\"\"\"\"\r\n");
    assert_string_equal(text_row("\"\""), "\"\"\"\"\"\"\r\n");
    assert_string_equal(text_row("two\nlines"), "\"two\nlines\"\r\n");
    assert_string_equal(text_row("x\r\ny"), "\"x\r\ny\"\r\n");
    /* nothing to quote: spaces, apostrophes, a formula character inside */
    assert_string_equal(text_row("a' b=c "), "a' b=c \r\n");
}

static void writer_formula_guard(void **state)
{
    (void)state;
    assert_string_equal(text_row("=1+2"), "\"'=1+2\"\r\n");
    assert_string_equal(text_row("+86"), "\"'+86\"\r\n");
    assert_string_equal(text_row("-1"), "\"'-1\"\r\n");
    assert_string_equal(text_row("@SUM(A1)"), "\"'@SUM(A1)\"\r\n");
    assert_string_equal(text_row("\tx"), "\"'\tx\"\r\n");
    assert_string_equal(text_row("\rx"), "\"'\rx\"\r\n");
    assert_string_equal(text_row("=HYPERLINK(\"http://x\")"),
                        "\"'=HYPERLINK(\"\"http://x\"\")\"\r\n");
    /* whitespace or a line break first: spreadsheets skip it, then evaluate */
    assert_string_equal(text_row(" =1+2"), "\"' =1+2\"\r\n");
    assert_string_equal(text_row("\n=1+2"), "\"'\n=1+2\"\r\n");
    assert_string_equal(text_row("\v=1"), "\"'\v=1\"\r\n");
    assert_string_equal(text_row("\xE3\x80\x80=1"), "\"'\xE3\x80\x80=1\"\r\n");
    assert_string_equal(text_row("\xC2\xA0=1"), "\"'\xC2\xA0=1\"\r\n");
    /* full-width ＝ ＋ － ＠, which WPS reads as = + - @ */
    assert_string_equal(text_row("＝1+2"), "\"'＝1+2\"\r\n");
    assert_string_equal(text_row("＋86"), "\"'＋86\"\r\n");
    assert_string_equal(text_row("－1"), "\"'－1\"\r\n");
    assert_string_equal(text_row("＠SUM(A1)"), "\"'＠SUM(A1)\"\r\n");
    assert_string_equal(num_row("＝1"), "\"'＝1\"\r\n");
    /* other full-width characters first are plain text */
    assert_string_equal(text_row("（备注）"), "（备注）\r\n");
    /* a number cell that is not a number is guarded like text */
    assert_string_equal(num_row("-1+2"), "\"'-1+2\"\r\n");
    assert_string_equal(num_row("=1"), "\"'=1\"\r\n");
    assert_string_equal(num_row("-"), "\"'-\"\r\n");
    assert_string_equal(num_row("+1"), "\"'+1\"\r\n");
}

static void writer_numbers_not_guarded(void **state)
{
    (void)state;
    assert_string_equal(num_row("-3.5"), "-3.5\r\n");
    assert_string_equal(num_row("42"), "42\r\n");
    assert_string_equal(num_row("-0.00"), "-0.00\r\n");
    assert_string_equal(num_row("116.397128"), "116.397128\r\n");
    /* not numbers, but harmless: written as text */
    assert_string_equal(num_row("1."), "1.\r\n");
    assert_string_equal(num_row(".5"), ".5\r\n");
    assert_string_equal(num_row("nan"), "nan\r\n");
    assert_string_equal(num_row("1,5"), "\"1,5\"\r\n");
    struct csv_out c = out_new(false);
    csv_int(&c, -7);
    csv_int(&c, 0);
    csv_int(&c, INT64_MIN);
    csv_int(&c, INT64_MAX);
    csv_row_end(&c);
    /* the long ones as text (writer_long_digits) */
    assert_string_equal(doc(&c), "-7,0,\"\t-9223372036854775808\",\"\t9223372036854775807\"\r\n");
}

static void writer_byte_order_mark(void **state)
{
    (void)state;
    struct csv_out c = out_new(true);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.p, "\xEF\xBB\xBF", 4); /* with the NUL */
    csv_text(&c, "a");
    csv_row_end(&c);
    assert_string_equal(doc(&c), "\xEF\xBB\xBF"
                                 "a\r\n");
    /* the mark is not a cell: the first row's lone empty cell is still seen */
    c = out_new(true);
    csv_text(&c, "");
    csv_row_end(&c);
    assert_string_equal(doc(&c), "\xEF\xBB\xBF\"\"\r\n");
}

static void writer_empty_cells(void **state)
{
    (void)state;
    struct csv_out c = out_new(false);
    csv_text(&c, NULL);
    csv_num(&c, NULL);
    csv_text(&c, "");
    csv_num(&c, "");
    csv_row_end(&c);
    csv_text(&c, "x");
    csv_text(&c, NULL);
    csv_row_end(&c);
    csv_num(&c, NULL); /* alone on its row: written "" so it is not a blank line */
    csv_row_end(&c);
    csv_row_end(&c); /* no cell: a blank line */
    assert_string_equal(doc(&c), ",,,\r\nx,\r\n\"\"\r\n\r\n");
}

/* Far past the initial capacity, in cells of every size up to 300 bytes,
 * some quoted: the bytes written are exactly the expected ones. */
static void writer_grows(void **state)
{
    (void)state;
    size_t cap = 4 * 1024 * 1024;
    char *want = malloc(cap), *cell = malloc(301);
    assert_non_null(want);
    assert_non_null(cell);
    size_t w = 0;
    struct csv_out c = out_new(true);
    memcpy(want, "\xEF\xBB\xBF", 3);
    w = 3;
    for (size_t i = 0; i < 20000; i++) {
        size_t len = i % 301;
        for (size_t k = 0; k < len; k++)
            cell[k] = (char)('a' + (i + k) % 26);
        cell[len] = '\0';
        bool comma = i % 7 == 3 && len;
        if (comma)
            cell[len / 2] = ',';
        csv_text(&c, cell);
        if (i % 10)
            want[w++] = ',';
        if (comma)
            want[w++] = '"';
        memcpy(want + w, cell, len);
        w += len;
        if (comma)
            want[w++] = '"';
        if (i % 10 == 9) {
            csv_row_end(&c);
            memcpy(want + w, "\r\n", 2);
            w += 2;
        }
        assert_true(w < cap);
    }
    assert_true(c.n > 1024 * 1024);
    assert_int_equal(c.n, w);
    assert_memory_equal(c.p, want, w);
    assert_int_equal(c.p[c.n], '\0');
    free(cell);
    free(want);
}

/* What the writer writes, the reader gives back (guarded cells with their
 * apostrophe). */
/* More than 11 digits: text behind a tab, so a spreadsheet keeps every
 * digit; 11 digits (a phone number) and fewer stay as they are. */
static void writer_long_digits(void **state)
{
    (void)state;
    assert_string_equal(text_row("110101199001011234"), "\"\t110101199001011234\"\r\n");
    assert_string_equal(text_row("110101001001"), "\"\t110101001001\"\r\n");
    assert_string_equal(text_row("13800138000"), "13800138000\r\n");
    assert_string_equal(text_row("11010119900101123X"), "11010119900101123X\r\n");
    assert_string_equal(num_row("7270000000000000001"), "\"\t7270000000000000001\"\r\n");
    assert_string_equal(num_row("123456789012.5"), "123456789012.5\r\n");
    assert_string_equal(num_row("12345678901"), "12345678901\r\n");
    struct csv_out c = out_new(false);
    csv_int(&c, INT64_C(7270000000000000001));
    csv_int(&c, INT64_C(-123456789012));
    csv_int(&c, 12345678901);
    csv_row_end(&c);
    assert_string_equal(c.p, "\"\t7270000000000000001\",\"\t-123456789012\",12345678901\r\n");
    /* a negative long text still starts with '-': the formula guard */
    assert_string_equal(text_row("-123456789012"), "\"'-123456789012\"\r\n");
    /* the reader gives the tab back */
    assert_string_equal(parse("\"\t110101199001011234\"\r\n"), "1:[\t110101199001011234]");
}

static void writer_round_trip(void **state)
{
    (void)state;
    struct csv_out c = out_new(true);
    const char *cells[] = {"plain", "a,b", "\"q\"", "x\r\ny", "=1+2", "", NULL, "名称"};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        csv_text(&c, cells[i]);
    csv_row_end(&c);
    csv_num(&c, "-3.5");
    csv_int(&c, -1);
    csv_row_end(&c);
    csv_text(&c, "");
    csv_row_end(&c);
    assert_string_equal(parse(c.p), "1:[plain|a,b|\"q\"|x\r\ny|'=1+2|||名称] 3:[-3.5|-1] 4:[]");
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
        cmocka_unit_test(writer_cells_and_rows),
        cmocka_unit_test(writer_quoting),
        cmocka_unit_test(writer_formula_guard),
        cmocka_unit_test(writer_numbers_not_guarded),
        cmocka_unit_test(writer_byte_order_mark),
        cmocka_unit_test(writer_empty_cells),
        cmocka_unit_test(writer_grows),
        cmocka_unit_test(writer_long_digits),
        cmocka_unit_test(writer_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

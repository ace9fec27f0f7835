/*
 * Unit tests of base/html (the rich-text sanitiser): each case is an input
 * and the exact output, nasty ones (scripts, handlers, javascript: URLs
 * with entities and controls, unclosed and misnested tags, comments,
 * CDATA, svg, iframe) and positive controls (allowed tags and links kept),
 * then idempotence over all of them, the size cap and the summary text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/html.h"

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

static const struct {
    const char *in, *out;
} cases[] = {
    /* positive controls */
    {"<p>防疫<strong>通知</strong></p>", "<p>防疫<strong>通知</strong></p>"},
    {"<h3>a</h3><h4>b</h4><blockquote>c</blockquote><u>d</u><em>e</em>",
     "<h3>a</h3><h4>b</h4><blockquote>c</blockquote><u>d</u><em>e</em>"},
    {"<ul><li>一</li><li>二</li></ul><ol><li>x</li></ol>",
     "<ul><li>一</li><li>二</li></ul><ol><li>x</li></ol>"},
    {"a<br>b<br/>c<BR />", "a<br>b<br>c<br>"},
    {"<a href=\"https://example.cn/a?b=1&amp;c=2\">l</a>",
     "<a href=\"https://example.cn/a?b=1&amp;c=2\" rel=\"noopener\">l</a>"},
    {"<a HREF='mailto:x@y.cn' target=_blank rel=opener>m</a>",
     "<a href=\"mailto:x@y.cn\" rel=\"noopener\">m</a>"},
    {"<img src=\"/api/v1/attachments/42\" alt=\"图\" width=1>",
     "<img src=\"/api/v1/attachments/42\" alt=\"图\">"},
    {"<b>b</b><i>i</i><div>d</div>", "<strong>b</strong><em>i</em><p>d</p>"},
    /* scripts and handlers */
    {"<script>alert(1)</script>ok", "ok"},
    {"<SCRIPT type=x>alert('</scr'+'ipt>')</SCRIPT >ok", "ok"},
    {"<script>never closed", ""},
    {"<img src=x onerror=alert(1)>", ""},
    {"<img src=\"/api/v1/attachments/42\" onerror=\"alert(1)\">",
     "<img src=\"/api/v1/attachments/42\">"},
    {"<img src=\"/api/v1/attachments/../x\">", ""},
    {"<img src=\"https://evil.example/x.png\">", ""},
    {"<p onclick=\"x()\" style=\"color:red\">t</p>", "<p>t</p>"},
    {"<a href=\"javascript:alert(1)\">x</a>", "<a rel=\"noopener\">x</a>"},
    {"<a href=\"java&#x09;script:alert(1)\">x</a>", "<a rel=\"noopener\">x</a>"},
    {"<a href=\"&#106;avascript:alert(1)\">x</a>", "<a rel=\"noopener\">x</a>"},
    {"<a href=\" JavaScript:alert(1)\">x</a>", "<a rel=\"noopener\">x</a>"},
    {"<a href=\"data:text/html,<script>\">x</a>", "<a rel=\"noopener\">x</a>"},
    {"<a href=\"http:\">x</a>", "<a rel=\"noopener\">x</a>"},
    /* elements dropped with their content */
    {"<svg><script>a</script><g onload=x></g></svg>b", "b"},
    {"<iframe src=\"//evil\"></iframe>c", "c"},
    {"<style>p{}</style><object>o</object><embed>d", "d"},
    {"<math><mi>x</mi></math>y", "y"},
    /* comments, CDATA, doctype, processing instructions */
    {"a<!-- <script>x</script> -->b", "ab"},
    {"a<!-- never closed", "a"},
    {"a<![CDATA[<script>x</script>]]>b", "ab"},
    {"<!DOCTYPE html><?xml x?>t", "t"},
    /* unclosed and misnested */
    {"<p><strong>x", "<p><strong>x</strong></p>"},
    {"<em><u>x</em>y</u>", "<em><u>x</u></em>y"},
    {"</p></li>x</strong>", "x"},
    {"<p unclosed", ""},
    /* an attribute decoded once, escaped once (found by fuzz_html) */
    {"<img src=\"/api/v1/attachments/1\" alt=\"a&amp;quot;b&quo\x17t;\">",
     "<img src=\"/api/v1/attachments/1\" alt=\"a&amp;quot;b&amp;quot;\">"},
    {"<p title=\"never closed>x", ""},
    /* unknown tags dropped, text kept and escaped */
    {"<span class=x>s</span><font>f</font>", "sf"},
    {"1 < 2 > 0 & \"q\" 'a'", "1 &lt; 2 &gt; 0 &amp; &quot;q&quot; &#39;a&#39;"},
    {"a</ b", "a&lt;/ b"},
    {"<3 <> <", "&lt;3 &lt;&gt; &lt;"},
    /* entities normalised */
    {"&lt;script&gt;&amp;&#x4e2d;&#25991;&nbsp;&copy", "&lt;script&gt;&amp;中文\xc2\xa0&amp;copy"},
    {"&#0;&#xD800;&#x110000;&#99999999999;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"a\x01\x7f\tb\xff", "a\tb\xef\xbf\xbd"},
    {"\xe4\xb8", "\xef\xbf\xbd\xef\xbf\xbd"},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *out;
        size_t n;
        assert_int_equal(html_sanitize(A, cases[k].in, strlen(cases[k].in), 4096, "body", &out, &n),
                         E_OK);
        if (strcmp(out, cases[k].out))
            fail_msg("case %zu: %s\n  got  %s\n  want %s", k, cases[k].in, out, cases[k].out);
        assert_int_equal(n, strlen(out));
    }
}

static void test_idempotent(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *once, *twice;
        size_t n1, n2;
        assert_int_equal(
            html_sanitize(A, cases[k].in, strlen(cases[k].in), 4096, "body", &once, &n1), E_OK);
        assert_int_equal(html_sanitize(A, once, n1, 4096, "body", &twice, &n2), E_OK);
        assert_string_equal(once, twice);
    }
}

static void test_depth_and_cap(void **state)
{
    (void)state;
    char deep[40 * 3 + 1] = "";
    for (int k = 0; k < 40; k++)
        strcat(deep, "<u>");
    const char *out;
    size_t n;
    assert_int_equal(html_sanitize(A, deep, strlen(deep), 4096, "body", &out, &n), E_OK);
    assert_int_equal(n, (size_t)HTML_DEPTH_MAX * strlen("<u></u>")); /* 32 open, 32 closed */
    const char *big = "<p>0123456789</p>";
    assert_int_equal(html_sanitize(A, big, strlen(big), 10, "body", &out, &n), E_INPUT);
    assert_string_equal(err_last()->field, "body");
    assert_int_equal(html_sanitize(A, big, strlen(big), 17, "body", &out, &n), E_OK);
    assert_int_equal(html_sanitize(A, "", 0, 10, "body", &out, &n), E_OK);
    assert_string_equal(out, "");
}

static void test_text(void **state)
{
    (void)state;
    assert_string_equal(html_text(A, "<p>a&amp;b</p><p>c</p>", 100), "a&b c");
    assert_string_equal(html_text(A, "<p>防疫知识宣传</p>", 2), "防疫…");
    assert_string_equal(html_text(A, "", 5), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_depth_and_cap),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

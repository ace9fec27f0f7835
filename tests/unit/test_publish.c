/*
 * Unit tests of publish/: the feed reader (RSS 2.0 and Atom items, markup
 * of descriptions dropped, times with their offsets, DOCTYPE and entities
 * refused whatever their spelling, not well-formed and foreign documents),
 * the check of a publication's blocks (every kind, each refusal with its
 * field) and the escaping of everything the public page writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "publish/internal.h"
#include "publish/publish.h"
#include "stats/stats.h"

static arena *A;

static const struct stats_measure level = {
    .name = "test.level", .label = "当前", .level = true, .recount_sql = "SELECT 0, 0, 0"};
static const struct stats_measure flow = {
    .name = "test.flow", .label = "新增", .level = false, .recount_sql = "SELECT 0, 0, 0"};

static int setup(void **state)
{
    (void)state;
    A = arena_new(0);
    return stats_measure_register(&level) || stats_measure_register(&flow);
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

static err parse(const char *xml, struct feed_input **items, size_t *n)
{
    return feed_parse(xml, strlen(xml), FEED_NEWS, A, items, n);
}

static void rss_items(void **state)
{
    (void)state;
    struct feed_input *it;
    size_t n;
    assert_int_equal(
        parse("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>频道</title>"
              "<item><title> 标题 &amp; 更多 </title><link>https://a.example/1</link>"
              "<guid isPermaLink=\"false\">g-1</guid>"
              "<description><![CDATA[<p>第一段</p><p>第二&nbsp;段&lt;</p>]]></description>"
              "<pubDate>Fri, 04 Dec 2026 09:30:00 +0800</pubDate><source url=\"x\">来源</source>"
              "</item><item><title>二</title><link>https://a.example/2</link>"
              "<pubDate>Fri, 04 Dec 2026 01:30:00 GMT</pubDate></item></channel></rss>",
              &it, &n),
        E_OK);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].title, "标题 & 更多");
    assert_string_equal(it[0].link, "https://a.example/1");
    assert_string_equal(it[0].guid, "g-1");
    assert_string_equal(it[0].summary, "第一段 第二 段<");
    assert_string_equal(it[0].source, "来源");
    assert_int_equal(it[0].kind, FEED_NEWS);
    /* 09:30 in China and 01:30 UTC are the same instant */
    assert_int_equal(it[0].published_at, 1796347800000LL);
    assert_int_equal(it[1].published_at, it[0].published_at);
    assert_string_equal(it[1].guid, "");
    assert_string_equal(it[1].summary, "");
}

static void atom_entries(void **state)
{
    (void)state;
    struct feed_input *it;
    size_t n;
    assert_int_equal(
        parse("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>f</title><id>urn:f</id>"
              "<entry><title type=\"text\">舆情</title><id>urn:1</id>"
              "<link rel=\"self\" href=\"https://a.example/self\"/>"
              "<link href=\"https://a.example/o/1\"/>"
              "<updated>2026-12-04T01:30:00Z</updated><published>2026-12-04T09:30:00.250+08:00"
              "</published><summary>摘要</summary><content>正文</content>"
              "<source><id>urn:s</id><title>微博</title></source></entry></feed>",
              &it, &n),
        E_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].title, "舆情");
    assert_string_equal(it[0].link, "https://a.example/o/1");
    assert_string_equal(it[0].guid, "urn:1");
    assert_string_equal(it[0].summary, "摘要");
    assert_string_equal(it[0].source, "微博");
    /* the first of updated / published */
    assert_int_equal(it[0].published_at, 1796347800000LL);
}

static void refusals(void **state)
{
    (void)state;
    struct feed_input *it;
    size_t n;
    static const char *const doctypes[] = {
        "<!DOCTYPE rss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><rss><channel><item>"
        "<title>&x;</title></item></channel></rss>",
        "<?xml version=\"1.0\"?>\n<!doctype rss><rss/>",
        "<rss><!ENTITY a \"b\"></rss>",
        /* behind a comment and a processing instruction */
        "<!-- c --><?pi x?><!DocType feed SYSTEM \"http://evil.example/x.dtd\"><feed/>",
    };
    for (size_t i = 0; i < sizeof doctypes / sizeof doctypes[0]; i++) {
        assert_int_equal(parse(doctypes[i], &it, &n), E_INPUT);
        assert_string_equal(err_last()->slug, "feed_doctype");
        assert_string_equal(err_last()->field, "file");
    }
    static const char *const invalid[] = {
        "<rss><channel><item><title>x</title></channel></rss>", /* not well-formed */
        "<html><body/></html>",                                 /* neither RSS nor Atom */
        "",
        "<rss",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        assert_int_equal(parse(invalid[i], &it, &n), E_INPUT);
        assert_string_equal(err_last()->slug, "invalid_feed");
    }
    /* an item with a link of another scheme is parsed, then refused by the check */
    assert_int_equal(parse("<rss><channel><item><title>t</title><link>javascript:alert(1)</link>"
                           "</item></channel></rss>",
                           &it, &n),
                     E_OK);
    assert_int_equal(feed_input_check(&it[0], "items[0]", A), E_INPUT);
    assert_string_equal(err_last()->field, "items[0].link");
}

static err check(const char *json)
{
    json_t *b = json_loads(json, 0, NULL);
    assert_non_null(b);
    err e = publish_blocks_check(b);
    json_decref(b);
    return e;
}

static void expect_refused(const char *json, const char *slug, const char *field)
{
    assert_int_equal(check(json), E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
}

static void blocks(void **state)
{
    (void)state;
    assert_int_equal(
        check("[{\"kind\":\"title\",\"text\":\"标题\"},{\"kind\":\"text\",\"text\":\"a\\n\\nb\"},"
              "{\"kind\":\"figures\",\"measures\":[\"test.level\",\"test.flow\"]},"
              "{\"kind\":\"trend\",\"measure\":\"test.flow\",\"days\":7,\"cumulative\":true},"
              "{\"kind\":\"regions\",\"measures\":[\"test.level\"]},"
              "{\"kind\":\"map\",\"measure\":\"test.level\"}]"),
        E_OK);
    expect_refused("[]", "invalid_block", "blocks");
    expect_refused("{}", "invalid_block", "blocks");
    expect_refused("[{\"kind\":\"poster\"}]", "unknown_block", "blocks[0].kind");
    expect_refused("[{\"text\":\"x\"}]", "unknown_block", "blocks[0].kind");
    expect_refused("[1]", "invalid_block", "blocks[0]");
    expect_refused("[{\"kind\":\"title\",\"text\":\"a\\nb\"}]", "invalid_block", "blocks[0].text");
    expect_refused("[{\"kind\":\"text\",\"text\":\"\"}]", "invalid_block", "blocks[0].text");
    expect_refused("[{\"kind\":\"text\",\"text\":\"x\",\"html\":\"<b>\"}]", "invalid_block",
                   "blocks[0]");
    expect_refused("[{\"kind\":\"title\",\"text\":\"x\"},{\"kind\":\"figures\",\"measures\":["
                   "\"test.level\",\"nope\"]}]",
                   "unknown_measure", "blocks[1].measures");
    expect_refused("[{\"kind\":\"figures\",\"measures\":\"test.level\"}]", "invalid_block",
                   "blocks[0].measures");
    expect_refused(
        "[{\"kind\":\"regions\",\"measures\":[\"test.level\",\"test.level\",\"test.level\","
        "\"test.level\",\"test.level\",\"test.level\",\"test.level\"]}]",
        "invalid_block", "blocks[0].measures");
    /* a level has no days to draw */
    expect_refused("[{\"kind\":\"trend\",\"measure\":\"test.level\"}]", "invalid_block",
                   "blocks[0].measure");
    expect_refused("[{\"kind\":\"trend\",\"measure\":\"test.flow\",\"days\":6}]", "invalid_block",
                   "blocks[0].days");
    expect_refused("[{\"kind\":\"trend\",\"measure\":\"test.flow\",\"days\":91}]", "invalid_block",
                   "blocks[0].days");
    expect_refused("[{\"kind\":\"trend\",\"measure\":\"test.flow\",\"cumulative\":1}]",
                   "invalid_block", "blocks[0].cumulative");
    expect_refused("[{\"kind\":\"map\",\"measure\":7}]", "invalid_block", "blocks[0].measure");
}

static void escaping(void **state)
{
    (void)state;
    struct sbuf b;
    sbuf_init(&b, A, 80);
    sbuf_html(&b, "<script>alert('x')</script> & \"q\"");
    assert_string_equal(b.p, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    assert_false(b.full);
    /* past its bound the buffer says so rather than growing */
    sbuf_html(&b, "<<<<<<<<<<<<<<<<<<<<<<<<");
    assert_true(b.full);

    /* a snapshot's texts reach the page escaped */
    json_t *snap = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:[s]},{s:s,s:[{s:s,s:i}]}]}", "title",
                             "<t>", "region_name", "区&", "date", "2026-12-05", "rendered_at", "x",
                             "blocks", "kind", "text", "paragraphs", "<img src=x onerror=1>",
                             "kind", "figures", "items", "label", "<b>", "value", 3);
    struct sbuf page;
    sbuf_init(&page, A, PUBLISH_HTML_MAX);
    publish_html_article(&page, snap);
    json_decref(snap);
    assert_non_null(strstr(page.p, "<h2>&lt;t&gt;</h2>"));
    assert_non_null(strstr(page.p, "区&amp;"));
    assert_non_null(strstr(page.p, "<p>&lt;img src=x onerror=1&gt;</p>"));
    assert_non_null(strstr(page.p, "<b>3</b><span>&lt;b&gt;</span>"));
    assert_null(strstr(page.p, "<img"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rss_items), cmocka_unit_test(atom_entries), cmocka_unit_test(refusals),
        cmocka_unit_test(blocks),    cmocka_unit_test(escaping),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

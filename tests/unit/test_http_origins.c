/*
 * http_set_media_origins (src/http/server.c): the video network's origins
 * that join the page policy (FK_VIDEO_ORIGINS, docs/video.md). Only
 * http(s)://host[:port] is accepted, so a mistyped setting can never widen
 * the policy: a path, a wildcard, a quote or a semicolon is refused whole.
 * tests/api/cameras.test.mjs checks the header a server sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"

static void accepted(const char *list)
{
    if (http_set_media_origins(list) != E_OK)
        fail_msg("refused: %s", list ? list : "(null)");
}

static void refused(const char *list)
{
    if (http_set_media_origins(list) != E_INPUT)
        fail_msg("accepted: %s", list);
    assert_string_equal(err_last()->field, "FK_VIDEO_ORIGINS");
    err_clear();
}

static void test_origins(void **state)
{
    (void)state;
    accepted(NULL);
    accepted("");
    accepted("  ,  ");
    accepted("http://127.0.0.1:8080");
    accepted("https://video.example.gov.cn");
    accepted("https://video.example.gov.cn:443, http://10.0.0.9:8080 https://cam-2.example.gov.cn");
    accepted("https://[::1]:8443");
    accepted("http://h:65535");
    refused("https://*.example.gov.cn");
    refused("https://video.example.gov.cn/live");
    refused("https://video.example.gov.cn/");
    refused("https://a';script-src");
    refused("https://a;b");
    refused("ftp://video.example.gov.cn");
    refused("video.example.gov.cn");
    refused("http://");
    refused("https://:8080");
    refused("http://h:");
    refused("http://h:123456");
    refused("http://h:80x");
    refused("http://[::1");
    refused("https://ok.example.gov.cn, https://bad/path");
    refused("*");
    refused("data:");
    refused("'self'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

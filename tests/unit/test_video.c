/*
 * The camera ledger's checks without a database: stream URLs at the edges
 * of what is accepted (scheme, host, white space, length) and positions at
 * the edges of their ranges. tests/api/cameras.test.mjs runs them through
 * HTTP.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "video/video.h"

static void refused(const char *url)
{
    err e = camera_url_check(url, "stream_url");
    if (e != E_INPUT)
        fail_msg("accepted: %s", url ? url : "(null)");
    assert_string_equal(err_last()->slug, "invalid_url");
    assert_string_equal(err_last()->field, "stream_url");
    err_clear();
}

static void test_url(void **state)
{
    (void)state;
    assert_int_equal(camera_url_check("http://10.0.0.1/live/1.m3u8", "u"), E_OK);
    assert_int_equal(camera_url_check("HTTPS://video.example.gov.cn:8443/a.m3u8?t=1", "u"), E_OK);
    assert_int_equal(camera_url_check("rtsp://admin@10.0.0.8:554/ch1", "u"), E_OK);
    assert_int_equal(camera_url_check("http://h", "u"), E_OK);
    refused(NULL);
    refused("");
    refused("http://");
    refused("https:///path");
    refused("http://?q");
    refused("ftp://video.example.gov.cn/a.m3u8");
    refused("javascript:alert(1)");
    refused("file:///etc/passwd");
    refused("//video.example.gov.cn/a.m3u8");
    refused("http://a b/c");
    refused("http://a/\tc");
    refused("http://a/\x7f");
    refused(" http://a/c");
    /* CAMERA_URL_MAX bytes pass, one more does not */
    char url[CAMERA_URL_MAX + 2];
    memset(url, 'a', sizeof url);
    memcpy(url, "http://", 7);
    url[CAMERA_URL_MAX] = '\0';
    assert_int_equal(camera_url_check(url, "u"), E_OK);
    url[CAMERA_URL_MAX] = 'a';
    url[CAMERA_URL_MAX + 1] = '\0';
    refused(url);
}

static void test_position(void **state)
{
    (void)state;
    assert_int_equal(camera_position_check(180, 90), E_OK);
    assert_int_equal(camera_position_check(-180, -90), E_OK);
    assert_int_equal(camera_position_check(116.397428, 39.90923), E_OK);
    assert_int_equal(camera_position_check(180.000001, 0), E_INPUT);
    assert_string_equal(err_last()->field, "lng");
    err_clear();
    assert_int_equal(camera_position_check(0, -90.000001), E_INPUT);
    assert_string_equal(err_last()->field, "lat");
    err_clear();
    assert_int_equal(camera_position_check(NAN, 0), E_INPUT);
    err_clear();
    assert_int_equal(camera_position_check(0, INFINITY), E_INPUT);
    err_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * http_set_trusted_proxies and http_client_addr (src/http/proxy.c): the
 * client address behind nginx (docs/deploy.md "Client addresses").
 * X-Forwarded-For is believed only from a listed proxy and read from the
 * right, so what a client prepends never wins; a malformed list is refused
 * whole. tests/api/cluster-nginx.test.mjs checks the audit trail through a
 * real nginx.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static const char *addr(const char *peer, const char *xff)
{
    static char out[64];
    http_client_addr(peer, xff, out, sizeof out);
    return out;
}

static void refused(const char *list)
{
    if (http_set_trusted_proxies(list) != E_INPUT)
        fail_msg("accepted: %s", list);
    assert_string_equal(err_last()->field, "FK_TRUSTED_PROXIES");
    err_clear();
}

static void test_untrusted(void **state)
{
    (void)state;
    assert_int_equal(http_set_trusted_proxies(NULL), E_OK);
    /* nobody trusted: the header is ignored, whoever sends it */
    assert_string_equal(addr("127.0.0.1", "203.0.113.7"), "127.0.0.1");
    assert_int_equal(http_set_trusted_proxies("10.0.0.0/8"), E_OK);
    /* a client reaching the server directly cannot name itself */
    assert_string_equal(addr("198.51.100.1", "203.0.113.7"), "198.51.100.1");
    assert_string_equal(addr("", NULL), "");
}

static void test_trusted(void **state)
{
    (void)state;
    assert_int_equal(http_set_trusted_proxies("127.0.0.1, 10.0.0.0/8 ::1"), E_OK);
    assert_string_equal(addr("127.0.0.1", "203.0.113.7"), "203.0.113.7");
    assert_string_equal(addr("127.0.0.1", NULL), "127.0.0.1");
    assert_string_equal(addr("::1", " 2001:db8::5 "), "2001:db8::5");
    /* what the client prepended is left of what the proxy saw */
    assert_string_equal(addr("127.0.0.1", "6.6.6.6, 203.0.113.7"), "203.0.113.7");
    /* two proxies: the inner one's entry is skipped */
    assert_string_equal(addr("10.1.2.3", "6.6.6.6,203.0.113.7, 10.9.9.9"), "203.0.113.7");
    /* only proxies: the outermost of them */
    assert_string_equal(addr("127.0.0.1", "10.0.0.1"), "10.0.0.1");
    /* garbage where the proxy's entry should be: the proxy's own address */
    assert_string_equal(addr("127.0.0.1", "unknown"), "127.0.0.1");
    assert_string_equal(addr("127.0.0.1", "203.0.113.7:5555"), "127.0.0.1");
    assert_string_equal(addr("127.0.0.1", "10.0.0.0/8"), "127.0.0.1");
    assert_string_equal(addr("127.0.0.1", ""), "127.0.0.1");
    /* a network's edge */
    assert_int_equal(http_set_trusted_proxies("192.168.4.0/22"), E_OK);
    assert_string_equal(addr("192.168.7.255", "203.0.113.7"), "203.0.113.7");
    assert_string_equal(addr("192.168.8.0", "203.0.113.7"), "192.168.8.0");
    assert_int_equal(http_set_trusted_proxies(""), E_OK);
}

static void test_bad_lists(void **state)
{
    (void)state;
    assert_int_equal(http_set_trusted_proxies("127.0.0.1"), E_OK);
    refused("localhost");
    refused("10.0.0.0/33");
    refused("10.0.0.0/");
    refused("10.0.0.0/x");
    refused("::1/129");
    refused("127.0.0.1;10.0.0.1");
    refused("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17");
    /* a refused list leaves the previous one in force */
    assert_string_equal(addr("127.0.0.1", "203.0.113.7"), "203.0.113.7");
    assert_int_equal(http_set_trusted_proxies(NULL), E_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted),
        cmocka_unit_test(test_trusted),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the exchange signatures: SM2 over OpenSSL 3 against a key
 * and a signature made by the OpenSSL command line (so the default signer
 * identity and the key format are pinned independently of this code), and
 * the canonical texts of calls and answers.
 *
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out k.pem
 *   printf 'FK-SM2-SM3\nGET' | openssl pkeyutl -sign -rawin -digest sm3 -inkey k.pem | base64
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/arena.h"
#include "base/regcode.h"
#include "exchange/exchange.h"
#include "security/crypto.h"

static const char cli_private[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgUuasTbuiu+VYaiTB\n"
    "kLVDzcgnMgrohPKUHhl6JxqRe/+hRANCAATGgQnqMSsP+/x2wkVqxIEnc+VCFCNd\n"
    "p3tUh2uU30UbW17HE6SrZEJEDTg+vI5tGuTMvJQaXneWQLgadfwevyYM\n"
    "-----END PRIVATE KEY-----\n";
static const char cli_public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAExoEJ6jErD/v8dsJFasSBJ3PlQhQj\n"
    "Xad7VIdrlN9FG1texxOkq2RCRA04PryObRrkzLyUGl53lkC4GnX8Hr8mDA==\n"
    "-----END PUBLIC KEY-----\n";
static const char cli_msg[] = "FK-SM2-SM3\nGET";
static const char cli_sig[] = "MEUCIEUEG7d6emWyfSRlfb+uHrm35AFfeYYSY+U7vN6s8VTOAiEA8FOzZ4ztJmJ8f3Qc"
                              "oakCanyI+PTAtPZzEwksM6ZDbfs=";

static void test_cli_signature_verifies(void **state)
{
    (void)state;
    sm2_key *pub;
    assert_int_equal(sm2_key_parse(cli_public, strlen(cli_public), false, &pub), E_OK);
    uint8_t sig[SM2_SIG_MAX];
    size_t n;
    assert_true(base64_decode(cli_sig, strlen(cli_sig), sig, sizeof sig, &n));
    assert_true(sm2_verify(pub, cli_msg, strlen(cli_msg), sig, n));
    /* positive control's negative: one byte of the message changed */
    assert_false(sm2_verify(pub, "FK-SM2-SM3\nPUT", strlen(cli_msg), sig, n));
    sig[n - 1] ^= 1;
    assert_false(sm2_verify(pub, cli_msg, strlen(cli_msg), sig, n));
    /* and a signature made here with the command line's private key
     * verifies under its public key */
    sm2_key *priv;
    assert_int_equal(sm2_key_parse(cli_private, strlen(cli_private), true, &priv), E_OK);
    assert_int_equal(sm2_sign(priv, cli_msg, strlen(cli_msg), sig, &n), E_OK);
    assert_true(sm2_verify(pub, cli_msg, strlen(cli_msg), sig, n));
    sm2_key_free(priv);
    sm2_key_free(pub);
}

static void test_sign_round_trip(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    char *priv_pem, *pub_pem;
    assert_int_equal(sm2_keygen(a, &priv_pem, &pub_pem), E_OK);
    assert_non_null(strstr(priv_pem, "BEGIN PRIVATE KEY"));
    assert_non_null(strstr(pub_pem, "BEGIN PUBLIC KEY"));
    sm2_key *priv, *pub, *other;
    assert_int_equal(sm2_key_parse(priv_pem, strlen(priv_pem), true, &priv), E_OK);
    assert_int_equal(sm2_key_parse(pub_pem, strlen(pub_pem), false, &pub), E_OK);
    assert_int_equal(sm2_key_parse(cli_public, strlen(cli_public), false, &other), E_OK);
    uint8_t sig[SM2_SIG_MAX];
    size_t n;
    assert_int_equal(sm2_sign(priv, "hello", 5, sig, &n), E_OK);
    assert_true(sm2_verify(pub, "hello", 5, sig, n));
    assert_true(sm2_verify(priv, "hello", 5, sig, n));
    assert_false(sm2_verify(other, "hello", 5, sig, n)); /* the wrong key */
    /* the public half of the private key is the public key */
    char *again;
    assert_int_equal(sm2_key_public_pem(a, priv, &again), E_OK);
    assert_string_equal(again, pub_pem);
    /* a public key is not a private key, nor text a key */
    sm2_key *bad;
    assert_int_equal(sm2_key_parse(pub_pem, strlen(pub_pem), true, &bad), E_INPUT);
    assert_null(bad);
    assert_int_equal(sm2_key_parse("not a key", 9, false, &bad), E_INPUT);
    sm2_key_free(priv);
    sm2_key_free(pub);
    sm2_key_free(other);
    arena_free(&a);
}

static void test_base64(void **state)
{
    (void)state;
    char out[16];
    base64_encode("ab", 2, out);
    assert_string_equal(out, "YWI=");
    uint8_t b[8];
    size_t n;
    assert_true(base64_decode("YWI=", 4, b, sizeof b, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(b, "ab", 2);
    assert_true(base64_decode("YWJj", 4, b, sizeof b, &n));
    assert_int_equal(n, 3);
    assert_false(base64_decode("YWI", 3, b, sizeof b, &n));  /* not a multiple of 4 */
    assert_false(base64_decode("Y=JJ", 4, b, sizeof b, &n)); /* padding inside */
    assert_false(base64_decode("YW I", 4, b, sizeof b, &n));
    assert_false(base64_decode("YWJjYWJj", 8, b, 5, &n)); /* does not fit */
}

static void test_canonical(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    char *t;
    size_t n;
    assert_int_equal(exchange_canonical(a, "GET", "/exchange/v1/persons/changes",
                                        "since=5&region=440300&limit=100", NULL, 0, "7",
                                        "1764900000000", "abcdefghijklmnop", &t, &n),
                     E_OK);
    assert_string_equal(t, "FK-SM2-SM3\nGET\n/exchange/v1/persons/changes\n"
                           "limit=100&region=440300&since=5\n"
                           "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b\n"
                           "7\n1764900000000\nabcdefghijklmnop");
    assert_int_equal(n, strlen(t));
    /* a body: SM3("abc") (GB/T 32905 A.1); empty pairs dropped */
    assert_int_equal(
        exchange_canonical(a, "POST", "/p", "b=2&&a=1", "abc", 3, "c", "1", "n", &t, &n), E_OK);
    assert_string_equal(t, "FK-SM2-SM3\nPOST\n/p\na=1&b=2\n"
                           "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0\n"
                           "c\n1\nn");
    assert_int_equal(exchange_canonical_reply(a, 200, "abc", 3, "n", "2", &t, &n), E_OK);
    assert_string_equal(t,
                        "FK-SM2-SM3-REPLY\n200\n"
                        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0\nn\n2");
    arena_free(&a);
}

static void test_dataset_names(void **state)
{
    (void)state;
    for (int i = 0; i < DS__COUNT; i++) {
        assert_true(*exchange_dataset_name(i));
        assert_int_equal(exchange_dataset_of(exchange_dataset_name(i)), i);
    }
    assert_int_equal(exchange_dataset_of("secrets"), -1);
    struct exchange_caller c = {
        .nregions = 2,
        .regions = {regcode_parse("440303000000", NULL), regcode_parse("440305001000", NULL)}};
    assert_true(exchange_caller_has_region(&c, regcode_parse("440303001001", NULL)));
    assert_true(exchange_caller_has_region(&c, regcode_parse("440305001002", NULL)));
    assert_false(exchange_caller_has_region(&c, regcode_parse("440304000000", NULL)));
    assert_false(exchange_caller_has_region(&c, regcode_parse("440305002000", NULL)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_signature_verifies),
        cmocka_unit_test(test_sign_round_trip),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_dataset_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * SM2 key pairs and signatures, and base64, over OpenSSL 3 (contract in
 * crypto.h). The data-exchange interface signs and verifies every call with
 * these (docs/exchange.md).
 *
 * OpenSSL 3 gives an SM2 key its own key type ("SM2"), whether it was made
 * here or by `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2`,
 * and its SM2 signature uses the default identity 1234567812345678 with the
 * Z value hashed in, so nothing needs setting per call.
 */
#include "security/crypto.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct sm2_key {
    EVP_PKEY *pkey;
};

static err crypto_failed(void)
{
    return err_set(E_CRYPTO, "crypto_failed", NULL, "密码运算失败");
}

/* The PEM text of a BIO's contents, copied into a. */
static err bio_text(arena *a, BIO *b, char **out_r)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0)
        return crypto_failed();
    char *s = arena_alloc(a, (size_t)n + 1);
    if (!s)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    *out_r = s;
    return E_OK;
}

static err pem_of(arena *a, EVP_PKEY *k, bool private, char **pem_r)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return crypto_failed();
    int ok = private ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_PUBKEY(b, k);
    err e = ok == 1 ? bio_text(a, b, pem_r) : crypto_failed();
    BIO_free(b);
    return e;
}

err sm2_keygen(arena *a, char **priv_pem_r, char **pub_pem_r)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    if (!k)
        return crypto_failed();
    err e = pem_of(a, k, true, priv_pem_r);
    if (!e)
        e = pem_of(a, k, false, pub_pem_r);
    EVP_PKEY_free(k);
    return e;
}

err sm2_key_parse(const char *pem, size_t n, bool want_private, sm2_key **k_r)
{
    *k_r = NULL;
    if (!pem || n == 0 || n > 8192)
        return err_set(E_INPUT, "invalid_key", NULL, "不是有效的SM2密钥");
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    if (!b)
        return crypto_failed();
    EVP_PKEY *k = want_private ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
                               : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!k || !EVP_PKEY_is_a(k, "SM2")) {
        EVP_PKEY_free(k);
        return err_set(E_INPUT, "invalid_key", NULL, "不是有效的SM2密钥");
    }
    sm2_key *r = malloc(sizeof *r);
    if (!r) {
        EVP_PKEY_free(k);
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    }
    r->pkey = k;
    *k_r = r;
    return E_OK;
}

void sm2_key_free(sm2_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

err sm2_key_public_pem(arena *a, const sm2_key *k, char **pem_r)
{
    return pem_of(a, k->pkey, false, pem_r);
}

err sm2_sign(const sm2_key *k, const void *msg, size_t n, uint8_t sig[SM2_SIG_MAX],
             size_t *siglen_r)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t len = SM2_SIG_MAX;
    bool ok = c && EVP_DigestSignInit_ex(c, NULL, "SM3", NULL, NULL, k->pkey, NULL) == 1 &&
              EVP_DigestSign(c, sig, &len, msg, n) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return crypto_failed();
    *siglen_r = len;
    return E_OK;
}

bool sm2_verify(const sm2_key *k, const void *msg, size_t n, const uint8_t *sig, size_t siglen)
{
    if (!sig || siglen == 0 || siglen > SM2_SIG_MAX)
        return false;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestVerifyInit_ex(c, NULL, "SM3", NULL, NULL, k->pkey, NULL) == 1 &&
              EVP_DigestVerify(c, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

void base64_encode(const void *in, size_t n, char *out)
{
    /* EVP_EncodeBlock takes an int length; callers encode signatures and
     * digests, far below it */
    EVP_EncodeBlock((unsigned char *)out, in, n > INT_MAX / 2 ? 0 : (int)n);
}

bool base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *n_r)
{
    if (inlen == 0 || inlen % 4 != 0 || inlen > 4096 || inlen / 4 * 3 > cap + 2)
        return false;
    for (size_t i = 0; i < inlen; i++) {
        char c = in[i];
        bool pad = c == '=' && i >= inlen - 2 && (i == inlen - 1 || in[inlen - 1] == '=');
        if (!(pad || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    /* EVP_DecodeBlock writes whole groups, padding included: decode into a
     * buffer of the full size, then drop the pad bytes */
    uint8_t tmp[inlen / 4 * 3];
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen);
    if (got < 0)
        return false;
    size_t m = (size_t)got - (in[inlen - 1] == '=') - (in[inlen - 2] == '=');
    if (m > cap)
        return false;
    memcpy(out, tmp, m);
    *n_r = m;
    return true;
}

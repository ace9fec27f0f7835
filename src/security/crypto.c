/*
 * SM3, HMAC-SM3 and SM4 over OpenSSL 3 EVP; the master key file and the
 * purpose keys derived from it; field sealing and blind indexes.
 *
 * Cost model. Fetching an algorithm (EVP_MD_fetch and friends) searches the
 * provider store under a lock, and creating a context allocates, so both are
 * kept out of the per-call path: algorithms are fetched once (pthread_once)
 * and each thread keeps its own contexts. The contexts for the derived keys
 * are keyed once per thread and then only re-initialised, which skips the
 * HMAC pad computation and the SM4 key schedule on every call. A generation
 * counter tells a thread that keys_set_master() replaced the keys (tests do
 * this; the server loads its key once, before any worker thread starts).
 */
#include "security/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define MASTER_LEN   32
#define SEAL_VERSION 0x01
#define IV_LEN       16
#define TAG_LEN      16
#define KEY_HEX_LEN  (2 * MASTER_LEN)
/* Random bytes drawn at once for IVs. One RAND_bytes call costs about as
 * much as the rest of seal() together, so IVs come from a per-thread pool
 * refilled every 256 seals. IVs are public, so holding them is harmless. */
#define IV_POOL (256 * IV_LEN)

/* Labels of the purpose keys. Changing one makes every stored value under
 * that purpose unreadable, so they are fixed forever. */
static const char *const labels[KEY__COUNT] = {
    [KEY_FIELD_ENC] = "fangkong/field-enc", [KEY_FIELD_MAC] = "fangkong/field-mac",
    [KEY_BLIND] = "fangkong/blind-index",   [KEY_TOKEN] = "fangkong/token",
    [KEY_AUDIT] = "fangkong/audit",         [KEY_AUDIT_ANCHOR] = "fangkong/audit-anchor",
};

/* Written by keys_set_master() before threads start; read-only afterwards. */
static uint8_t derived[KEY__COUNT][SM3_LEN];
/* 0 while no key is loaded; bumped on every keys_set_master(). */
static atomic_uint key_generation;

/* Fetched once, never freed: they live as long as the process. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sm3;
static EVP_MAC *mac_hmac;
static EVP_CIPHER *cipher_ctr, *cipher_ecb;

/* Per-thread contexts, freed by the thread-exit destructor of tls_key. */
struct tls {
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;                   /* HMAC-SM3, re-keyed per hmac_sm3() call */
    EVP_MAC_CTX *keyed_mac[KEY__COUNT]; /* HMAC-SM3 keyed with a derived key */
    EVP_CIPHER_CTX *ctr;                /* SM4-CTR keyed with KEY_FIELD_ENC */
    EVP_CIPHER_CTX *ecb;                /* SM4-ECB, for sm4_encrypt_block() */
    unsigned generation;                /* key generation of keyed_mac and ctr */
    size_t iv_left;                     /* unused bytes at the end of iv_pool */
    uint8_t iv_pool[IV_POOL];
};
static pthread_key_t tls_key;
static _Thread_local struct tls *tls_cur;

/* A primitive that cannot fail short of memory exhaustion or a broken
 * OpenSSL installation failed. As with arena allocation, stopping is better
 * than carrying on with a wrong digest. */
static _Noreturn void fatal(const char *what)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"event\":\"crypto\",\"msg\":\"%s\"}\n", what);
    abort();
}

static void tls_free(void *p)
{
    struct tls *t = p;
    EVP_MD_CTX_free(t->md);
    EVP_MAC_CTX_free(t->mac);
    for (int i = 0; i < KEY__COUNT; i++)
        EVP_MAC_CTX_free(t->keyed_mac[i]);
    EVP_CIPHER_CTX_free(t->ctr);
    EVP_CIPHER_CTX_free(t->ecb);
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

/* A forked child would otherwise hand out the same IVs as its parent, and
 * an IV used twice under one key leaks the XOR of two plaintexts. Only the
 * forking thread exists in the child, so emptying its pool is enough. */
static void iv_pool_after_fork(void)
{
    if (tls_cur)
        tls_cur->iv_left = 0;
}

static void fetch_all(void)
{
    md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    cipher_ctr = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    cipher_ecb = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    if (!md_sm3 || !mac_hmac || !cipher_ctr || !cipher_ecb)
        fatal("OpenSSL lacks SM3, HMAC or SM4 (the default provider is required)");
    if (pthread_key_create(&tls_key, tls_free) != 0 ||
        pthread_atfork(NULL, NULL, iv_pool_after_fork) != 0)
        fatal("thread-local setup failed");
}

/* An HMAC context whose digest is SM3; the digest is set here, once, as
 * setting it per init would fetch SM3 again on every call. */
static EVP_MAC_CTX *new_hmac_ctx(void)
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac_hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SM3", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!c || !EVP_MAC_CTX_set_params(c, params))
        fatal("HMAC-SM3 context");
    return c;
}

static struct tls *tls_get(void)
{
    if (tls_cur)
        return tls_cur;
    pthread_once(&fetch_once, fetch_all);
    struct tls *t = calloc(1, sizeof *t);
    if (!t)
        fatal("out of memory");
    t->md = EVP_MD_CTX_new();
    t->mac = new_hmac_ctx();
    t->ctr = EVP_CIPHER_CTX_new();
    t->ecb = EVP_CIPHER_CTX_new();
    if (!t->md || !t->ctr || !t->ecb)
        fatal("out of memory");
    /* The cipher is bound now so that later inits can pass NULL for it:
     * passing the cipher again would free and reallocate the provider
     * context on every call. */
    if (!EVP_EncryptInit_ex2(t->ecb, cipher_ecb, NULL, NULL, NULL) ||
        !EVP_CIPHER_CTX_set_padding(t->ecb, 0) ||
        !EVP_EncryptInit_ex2(t->ctr, cipher_ctr, NULL, NULL, NULL))
        fatal("SM4 context");
    if (pthread_setspecific(tls_key, t) != 0)
        fatal("pthread_setspecific failed");
    tls_cur = t;
    return t;
}

static unsigned current_generation(void)
{
    unsigned g = atomic_load_explicit(&key_generation, memory_order_acquire);
    if (g == 0)
        fatal("crypto used before keys_load()");
    return g;
}

/* This thread's contexts, keyed with the current derived keys. */
static struct tls *tls_keyed(void)
{
    struct tls *t = tls_get();
    unsigned g = current_generation();
    if (t->generation == g)
        return t;
    for (int i = 0; i < KEY__COUNT; i++) {
        if (!t->keyed_mac[i])
            t->keyed_mac[i] = new_hmac_ctx();
        if (!EVP_MAC_init(t->keyed_mac[i], derived[i], SM3_LEN, NULL))
            fatal("HMAC-SM3 init");
    }
    if (!EVP_EncryptInit_ex2(t->ctr, NULL, derived[KEY_FIELD_ENC], NULL, NULL))
        fatal("SM4-CTR init");
    t->generation = g;
    return t;
}

/* ---- primitives ---------------------------------------------------------- */

void sm3(const void *data, size_t n, uint8_t out[SM3_LEN])
{
    struct tls *t = tls_get();
    unsigned int len = 0;
    if (!EVP_DigestInit_ex2(t->md, md_sm3, NULL) || !EVP_DigestUpdate(t->md, data, n) ||
        !EVP_DigestFinal_ex(t->md, out, &len) || len != SM3_LEN)
        fatal("SM3");
}

static void mac_final(EVP_MAC_CTX *c, uint8_t out[SM3_LEN])
{
    size_t len = 0;
    if (!EVP_MAC_final(c, out, &len, SM3_LEN) || len != SM3_LEN)
        fatal("HMAC-SM3 final");
}

void hmac_sm3(const uint8_t *key, size_t klen, const void *data, size_t n, uint8_t out[SM3_LEN])
{
    struct tls *t = tls_get();
    /* A NULL key means "reuse the previous key" to EVP_MAC_init, so an empty
     * key must still be passed as a real pointer. */
    static const uint8_t empty[1];
    if (!EVP_MAC_init(t->mac, klen ? key : empty, klen, NULL) || !EVP_MAC_update(t->mac, data, n))
        fatal("HMAC-SM3");
    mac_final(t->mac, out);
}

void sm4_encrypt_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    struct tls *t = tls_get();
    int len = 0;
    if (!EVP_EncryptInit_ex2(t->ecb, NULL, key, NULL, NULL) ||
        !EVP_EncryptUpdate(t->ecb, out, &len, in, 16) || len != 16)
        fatal("SM4");
}

err random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return err_set(E_CRYPTO, "random_failed", NULL, "随机数生成失败");
        p += chunk;
        n -= (size_t)chunk;
    }
    return E_OK;
}

bool ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool hex_decode(const char *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* hi is checked before lo is read, so a short string stops at its NUL. */
        int hi = hex_value(in[2 * i]);
        if (hi < 0)
            return false;
        int lo = hex_value(in[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- keys ---------------------------------------------------------------- */

void keys_set_master(const uint8_t master[32])
{
    for (int i = 0; i < KEY__COUNT; i++)
        hmac_sm3(master, MASTER_LEN, labels[i], strlen(labels[i]), derived[i]);
    unsigned g = atomic_load_explicit(&key_generation, memory_order_relaxed) + 1;
    if (g == 0)
        g = 1; /* 0 means "no key"; never wrap to it */
    atomic_store_explicit(&key_generation, g, memory_order_release);
}

const uint8_t *keys_get(enum key_purpose p)
{
    if ((unsigned)p >= KEY__COUNT)
        fatal("keys_get: no such key purpose");
    current_generation();
    return derived[p];
}

err keys_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(E_IO, "key_missing", NULL,
                           "主密钥文件不存在 / master key file not found");
        return err_set(E_IO, "key_unreadable", NULL,
                       "无法读取主密钥文件 / cannot open key file: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(E_IO, "key_invalid", NULL,
                       "主密钥文件不是普通文件 / master key path is not a regular file");
    }
    if (st.st_mode & 077) {
        close(fd);
        return err_set(E_IO, "key_permissions", NULL,
                       "主密钥文件权限过宽（%04o），应为 0600 或 0400 / master key file is "
                       "accessible by group or others (mode %04o); run chmod 600",
                       (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 07777));
    }

    /* One byte more than the longest valid file, to notice trailing junk. */
    char buf[KEY_HEX_LEN + 2];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            return err_set(E_IO, "key_unreadable", NULL,
                           "无法读取主密钥文件 / cannot read key file: %s", strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);

    uint8_t master[MASTER_LEN];
    bool ok = (got == KEY_HEX_LEN || (got == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')) &&
              hex_decode(buf, master, MASTER_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok) {
        OPENSSL_cleanse(master, sizeof master);
        return err_set(E_IO, "key_invalid", NULL,
                       "主密钥文件格式错误，应为 64 个十六进制字符 / master key file must hold "
                       "exactly 64 hex characters and an optional newline");
    }
    keys_set_master(master);
    OPENSSL_cleanse(master, sizeof master);
    return E_OK;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

err keys_create(const char *path)
{
    uint8_t master[MASTER_LEN];
    char text[KEY_HEX_LEN + 2];
    err e = random_bytes(master, sizeof master);
    if (e != E_OK)
        return e;
    hex_encode(master, sizeof master, text);
    OPENSSL_cleanse(master, sizeof master);
    text[KEY_HEX_LEN] = '\n';

    /* O_EXCL: an existing key must never be replaced, as that would make
     * every sealed value in the database unreadable. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int en = errno;
        OPENSSL_cleanse(text, sizeof text);
        if (en == EEXIST)
            return err_set(E_CONFLICT, "key_exists", NULL,
                           "主密钥文件已存在，拒绝覆盖 / master key file already exists; "
                           "refusing to overwrite");
        return err_set(E_IO, "key_create_failed", NULL,
                       "无法创建主密钥文件 / cannot create key file: %s", strerror(en));
    }
    bool ok = write_all(fd, text, KEY_HEX_LEN + 1) && fsync(fd) == 0;
    int en = errno;
    OPENSSL_cleanse(text, sizeof text);
    if (close(fd) != 0 && ok) {
        ok = false;
        en = errno;
    }
    if (!ok) {
        unlink(path); /* a truncated key file would only fail later, less clearly */
        return err_set(E_IO, "key_create_failed", NULL,
                       "无法写入主密钥文件 / cannot write key file: %s", strerror(en));
    }
    return E_OK;
}

/* ---- sealing and blind indexes ----------------------------------------- */

/* tag = HMAC-SM3(KEY_FIELD_MAC, field || 0x00 || body)[0..16). The field
 * name and its terminating zero come first so that "a"+"bc" and "ab"+"c"
 * cannot collide. */
static void field_tag(struct tls *t, const char *field, const uint8_t *body, size_t n,
                      uint8_t tag[TAG_LEN])
{
    EVP_MAC_CTX *c = t->keyed_mac[KEY_FIELD_MAC];
    uint8_t full[SM3_LEN];
    /* NULL key: restart with the key set in tls_keyed(). */
    if (!EVP_MAC_init(c, NULL, 0, NULL) ||
        !EVP_MAC_update(c, (const uint8_t *)field, strlen(field) + 1) ||
        !EVP_MAC_update(c, body, n))
        fatal("HMAC-SM3");
    mac_final(c, full);
    memcpy(tag, full, TAG_LEN);
}

/* SM4-CTR with the field key; encryption and decryption are the same. */
static void ctr_apply(struct tls *t, const uint8_t iv[IV_LEN], const uint8_t *in, size_t n,
                      uint8_t *out)
{
    /* NULL cipher and key: keep the key schedule, only restart at this IV. */
    if (!EVP_EncryptInit_ex2(t->ctr, NULL, NULL, iv, NULL))
        fatal("SM4-CTR init");
    while (n > 0) {
        int chunk = n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;
        int len = 0;
        if (!EVP_EncryptUpdate(t->ctr, out, &len, in, chunk) || len != chunk)
            fatal("SM4-CTR");
        in += chunk;
        out += chunk;
        n -= (size_t)chunk;
    }
}

static err next_iv(struct tls *t, uint8_t iv[IV_LEN])
{
    if (t->iv_left < IV_LEN) {
        err e = random_bytes(t->iv_pool, IV_POOL);
        if (e != E_OK)
            return e;
        t->iv_left = IV_POOL;
    }
    t->iv_left -= IV_LEN;
    memcpy(iv, t->iv_pool + t->iv_left, IV_LEN);
    return E_OK;
}

static err no_keys(void)
{
    return err_set(E_INTERNAL, "keys_not_loaded", NULL, "服务器内部错误");
}

err seal_buf(const char *field, const void *plain, size_t n, uint8_t *out)
{
    if (atomic_load_explicit(&key_generation, memory_order_acquire) == 0)
        return no_keys();
    struct tls *t = tls_keyed();
    out[0] = SEAL_VERSION;
    err e = next_iv(t, out + 1);
    if (e != E_OK)
        return e;
    ctr_apply(t, out + 1, plain, n, out + 1 + IV_LEN);
    field_tag(t, field, out, 1 + IV_LEN + n, out + 1 + IV_LEN + n);
    return E_OK;
}

err unseal_buf(const char *field, const void *ct, size_t n, char *out, size_t *len_r)
{
    const uint8_t *c = ct;
    if (atomic_load_explicit(&key_generation, memory_order_acquire) == 0)
        return no_keys();
    if (n < SEAL_OVERHEAD || c[0] != SEAL_VERSION)
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    struct tls *t = tls_keyed();
    size_t body = n - TAG_LEN, plain = n - SEAL_OVERHEAD;
    uint8_t tag[TAG_LEN];
    /* Authenticate before decrypting: nothing derived from an altered
     * ciphertext is ever produced. */
    field_tag(t, field, c, body, tag);
    if (!ct_equal(tag, c + body, TAG_LEN))
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    ctr_apply(t, c + 1, c + 1 + IV_LEN, plain, (uint8_t *)out);
    out[plain] = '\0';
    if (len_r)
        *len_r = plain;
    return E_OK;
}

err seal(arena *a, const char *field, const void *plain, size_t n, uint8_t **out_r,
         size_t *outlen_r)
{
    if (n > SIZE_MAX - SEAL_OVERHEAD)
        return err_set(E_TOO_LARGE, NULL, NULL, NULL);
    uint8_t *out = arena_alloc(a, n + SEAL_OVERHEAD);
    err e = seal_buf(field, plain, n, out);
    if (e != E_OK)
        return e;
    *out_r = out;
    if (outlen_r)
        *outlen_r = n + SEAL_OVERHEAD;
    return E_OK;
}

err unseal(arena *a, const char *field, const void *ct, size_t n, char **plain_r, size_t *len_r)
{
    if (n < SEAL_OVERHEAD)
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    char *out = arena_alloc(a, n - SEAL_OVERHEAD + 1);
    err e = unseal_buf(field, ct, n, out, len_r);
    if (e != E_OK)
        return e;
    *plain_r = out;
    return E_OK;
}

void blind_index(const char *field, const char *value, uint8_t out[BLIND_LEN])
{
    struct tls *t = tls_keyed();
    EVP_MAC_CTX *c = t->keyed_mac[KEY_BLIND];
    uint8_t full[SM3_LEN];
    if (!EVP_MAC_init(c, NULL, 0, NULL) ||
        !EVP_MAC_update(c, (const uint8_t *)field, strlen(field) + 1) ||
        !EVP_MAC_update(c, (const uint8_t *)value, strlen(value)))
        fatal("HMAC-SM3");
    mac_final(c, full);
    memcpy(out, full, BLIND_LEN);
}

err seal_bind(arena *a, db_stmt *s, int i, const char *field, const char *text)
{
    if (!text || !*text) {
        db_bind_null(s, i);
        return E_OK;
    }
    uint8_t *ct;
    size_t n;
    err e = seal(a, field, text, strlen(text), &ct, &n);
    if (!e)
        db_bind_blob(s, i, ct, n);
    return e;
}

err unseal_col(arena *a, db_stmt *s, int i, const char *field, const char **text_r)
{
    *text_r = NULL;
    if (db_col_null(s, i))
        return E_OK;
    size_t n;
    const void *ct = db_col_blob(s, i, &n);
    char *plain;
    err e = unseal(a, field, ct, n, &plain, NULL);
    if (!e)
        *text_r = plain;
    return e;
}

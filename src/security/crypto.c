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
 * this, and a key rotation adds and destroys versions while the server
 * runs: docs/keys.md).
 */
#include "security/crypto.h"

#include "base/id.h"

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

#define MASTER_LEN  32
#define IV_LEN      16
#define TAG_LEN     16
#define KEY_HEX_LEN (2 * MASTER_LEN)
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

/*
 * The key set. derived[] holds the purpose keys that do not rotate (the
 * audit chain and its anchor: docs/keys.md says why) and, in the slots of
 * the rotating ones (field encryption and MAC, blind index, token), the
 * current version's; ver[] holds the rotating keys of every version loaded;
 * prev_blind and prev_token the previous version's while a rotation holds
 * it (prev_version, 0: none). Written only under keys_mu (write); a thread
 * copies what it needs into its own contexts under keys_mu (read) when the
 * generation changed, so the per-call path takes no lock.
 */
struct key_version {
    int version; /* 1..KEY_VERSION_MAX; 0: slot empty */
    uint8_t master[MASTER_LEN];
    uint8_t enc[SM3_LEN], mac[SM3_LEN];
    uint8_t blind[SM3_LEN], token[SM3_LEN];
    /* blind and token carried over from an older version (a key file
     * written before they rotated pinned them): kept as "blind <v>" and
     * "token <v>" lines, since they are not this master's derivation */
    bool carried;
    int64_t since; /* epoch ms it became current; 0: unknown (version 1) */
};
/* An audit key version other than the first: its seed and the two keys
 * derived from it with the labels of KEY_AUDIT and KEY_AUDIT_ANCHOR. */
struct audit_key {
    int version; /* 2..KEY_VERSION_MAX; 0: slot empty */
    uint8_t seed[MASTER_LEN];
    uint8_t chain[SM3_LEN], anchor[SM3_LEN];
};
static pthread_rwlock_t keys_mu = PTHREAD_RWLOCK_INITIALIZER;
static uint8_t derived[KEY__COUNT][SM3_LEN];
static struct key_version ver[KEYS_LOADED_MAX];
static int current_version, prev_version;
static int64_t current_since;
static uint8_t prev_blind[SM3_LEN], prev_token[SM3_LEN];
/* The non-rotating keys came from a destroyed version: kept as derived
 * keys in the key file ("derived" lines), no longer from a master. */
static bool pinned;
/* Audit key versions after the first (docs/keys.md, "The audit key"):
 * a random seed each, from which its chain and anchor keys derive; version
 * 1 is derived[KEY_AUDIT] and derived[KEY_AUDIT_ANCHOR] unless audit1_gone. */
static struct audit_key audit_ver[AUDIT_KEYS_MAX];
static bool audit1_gone;
static char key_path[PATH_MAX];
static struct stat key_stat; /* of key_path when last read or written */
/* 0 while no key is loaded; bumped on every change of the key set. */
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
    EVP_CIPHER_CTX *ecb;                /* SM4-ECB, for sm4_encrypt_block() */
    /* per key version loaded: SM4-CTR keyed with its field key and
     * HMAC-SM3 keyed with its field MAC key; version 0: slot unused */
    int ver[KEYS_LOADED_MAX];
    EVP_CIPHER_CTX *ctr[KEYS_LOADED_MAX];
    EVP_MAC_CTX *vmac[KEYS_LOADED_MAX];
    int cur;                 /* the slot that seals */
    EVP_MAC_CTX *prev_blind; /* keyed with the previous version's blind key */
    bool has_prev;           /* a rotation holds a previous version */
    unsigned generation;     /* key generation of keyed_mac, ctr and vmac */
    size_t iv_left;          /* unused bytes at the end of iv_pool */
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
    EVP_MAC_CTX_free(t->prev_blind);
    for (int i = 0; i < KEYS_LOADED_MAX; i++) {
        EVP_CIPHER_CTX_free(t->ctr[i]);
        EVP_MAC_CTX_free(t->vmac[i]);
    }
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
    t->ecb = EVP_CIPHER_CTX_new();
    if (!t->md || !t->ecb)
        fatal("out of memory");
    /* The cipher is bound now so that later inits can pass NULL for it:
     * passing the cipher again would free and reallocate the provider
     * context on every call. */
    if (!EVP_EncryptInit_ex2(t->ecb, cipher_ecb, NULL, NULL, NULL) ||
        !EVP_CIPHER_CTX_set_padding(t->ecb, 0))
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

/* This thread's contexts, keyed with the current key set. */
static struct tls *tls_keyed(void)
{
    struct tls *t = tls_get();
    unsigned g = current_generation();
    if (t->generation == g)
        return t;
    pthread_rwlock_rdlock(&keys_mu);
    g = atomic_load_explicit(&key_generation, memory_order_acquire);
    for (int i = 0; i < KEY__COUNT; i++) {
        if (!t->keyed_mac[i])
            t->keyed_mac[i] = new_hmac_ctx();
        if (!EVP_MAC_init(t->keyed_mac[i], derived[i], SM3_LEN, NULL))
            fatal("HMAC-SM3 init");
    }
    t->has_prev = prev_version != 0;
    if (t->has_prev) {
        if (!t->prev_blind)
            t->prev_blind = new_hmac_ctx();
        if (!EVP_MAC_init(t->prev_blind, prev_blind, SM3_LEN, NULL))
            fatal("HMAC-SM3 init");
    }
    t->cur = 0;
    for (int i = 0; i < KEYS_LOADED_MAX; i++) {
        t->ver[i] = ver[i].version;
        if (!ver[i].version)
            continue;
        if (!t->ctr[i]) {
            /* the cipher is bound once, so later inits pass NULL for it */
            t->ctr[i] = EVP_CIPHER_CTX_new();
            if (!t->ctr[i] || !EVP_EncryptInit_ex2(t->ctr[i], cipher_ctr, NULL, NULL, NULL))
                fatal("SM4 context");
            t->vmac[i] = new_hmac_ctx();
        }
        if (!EVP_EncryptInit_ex2(t->ctr[i], NULL, ver[i].enc, NULL, NULL) ||
            !EVP_MAC_init(t->vmac[i], ver[i].mac, SM3_LEN, NULL))
            fatal("SM4-CTR init");
        if (ver[i].version == current_version)
            t->cur = i;
    }
    t->generation = g;
    pthread_rwlock_unlock(&keys_mu);
    return t;
}

/* The slot of key version v in t, or -1 when it is not loaded. */
static int tls_slot(const struct tls *t, int v)
{
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (v && t->ver[i] == v)
            return i;
    return -1;
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

/* A key set being built (parse, add, destroy) before it is installed. */
struct keyset {
    struct key_version ver[KEYS_LOADED_MAX];
    int current;
    bool pinned;
    uint8_t fixed[KEY__COUNT][SM3_LEN];     /* the non-rotating purposes, when pinned */
    struct audit_key audit[AUDIT_KEYS_MAX]; /* audit key versions 2.. ("audit-key" lines) */
    bool audit1_gone; /* audit key version 1 destroyed ("audit-destroyed 1") */
};

static bool rotates(int purpose)
{
    return purpose == KEY_FIELD_ENC || purpose == KEY_FIELD_MAC || purpose == KEY_BLIND ||
           purpose == KEY_TOKEN;
}

static void derive(const uint8_t master[MASTER_LEN], int purpose, uint8_t out[SM3_LEN])
{
    hmac_sm3(master, MASTER_LEN, labels[purpose], strlen(labels[purpose]), out);
}

static void audit_key_fill(struct audit_key *k, int v, const uint8_t seed[MASTER_LEN])
{
    k->version = v;
    memcpy(k->seed, seed, MASTER_LEN);
    hmac_sm3(seed, MASTER_LEN, labels[KEY_AUDIT], strlen(labels[KEY_AUDIT]), k->chain);
    hmac_sm3(seed, MASTER_LEN, labels[KEY_AUDIT_ANCHOR], strlen(labels[KEY_AUDIT_ANCHOR]),
             k->anchor);
}

static void version_fill(struct key_version *k, int v, const uint8_t master[MASTER_LEN])
{
    k->version = v;
    memcpy(k->master, master, MASTER_LEN);
    derive(master, KEY_FIELD_ENC, k->enc);
    derive(master, KEY_FIELD_MAC, k->mac);
    derive(master, KEY_BLIND, k->blind);
    derive(master, KEY_TOKEN, k->token);
    k->carried = false;
    k->since = 0;
}

/* The slot of the lowest version: the source of the non-rotating keys
 * until it is destroyed (then they are pinned). -1 for an empty set. */
static int lowest_slot(const struct keyset *ks)
{
    int best = -1;
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (ks->ver[i].version && (best < 0 || ks->ver[i].version < ks->ver[best].version))
            best = i;
    return best;
}

/* Make ks the key set of the process (keys_mu held for writing). */
static void install_locked(const struct keyset *ks)
{
    int lo = lowest_slot(ks);
    for (int p = 0; p < KEY__COUNT; p++) {
        if (rotates(p))
            continue;
        if (ks->pinned)
            memcpy(derived[p], ks->fixed[p], SM3_LEN);
        else
            derive(ks->ver[lo].master, p, derived[p]);
    }
    prev_version = 0;
    for (int i = 0; i < KEYS_LOADED_MAX; i++) {
        ver[i] = ks->ver[i];
        if (ver[i].version == ks->current) {
            memcpy(derived[KEY_FIELD_ENC], ver[i].enc, SM3_LEN);
            memcpy(derived[KEY_FIELD_MAC], ver[i].mac, SM3_LEN);
            memcpy(derived[KEY_BLIND], ver[i].blind, SM3_LEN);
            memcpy(derived[KEY_TOKEN], ver[i].token, SM3_LEN);
            current_since = ver[i].since;
        }
    }
    /* the previous version: the highest one held besides the current (a
     * rotation is refused while another is unfinished, so there is one) */
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (ver[i].version && ver[i].version != ks->current && ver[i].version > prev_version) {
            prev_version = ver[i].version;
            memcpy(prev_blind, ver[i].blind, SM3_LEN);
            memcpy(prev_token, ver[i].token, SM3_LEN);
        }
    if (!prev_version) {
        OPENSSL_cleanse(prev_blind, SM3_LEN);
        OPENSSL_cleanse(prev_token, SM3_LEN);
    }
    current_version = ks->current;
    pinned = ks->pinned;
    memcpy(audit_ver, ks->audit, sizeof audit_ver);
    audit1_gone = ks->audit1_gone;
    unsigned g = atomic_load_explicit(&key_generation, memory_order_relaxed) + 1;
    if (g == 0)
        g = 1; /* 0 means "no key"; never wrap to it */
    atomic_store_explicit(&key_generation, g, memory_order_release);
}

/* The process's key set as a keyset (keys_mu held). */
static void snapshot_locked(struct keyset *ks)
{
    memset(ks, 0, sizeof *ks);
    memcpy(ks->ver, ver, sizeof ver);
    ks->current = current_version;
    ks->pinned = pinned;
    memcpy(ks->fixed, derived, sizeof derived);
    memcpy(ks->audit, audit_ver, sizeof audit_ver);
    ks->audit1_gone = audit1_gone;
}

static void keyset_wipe(struct keyset *ks)
{
    OPENSSL_cleanse(ks, sizeof *ks);
}

void keys_set_master(const uint8_t master[32])
{
    struct keyset ks = {.current = 1};
    version_fill(&ks.ver[0], 1, master);
    pthread_rwlock_wrlock(&keys_mu);
    install_locked(&ks);
    key_path[0] = '\0'; /* a key given directly lives in memory only */
    pthread_rwlock_unlock(&keys_mu);
    keyset_wipe(&ks);
}

const uint8_t *keys_get(enum key_purpose p)
{
    if ((unsigned)p >= KEY__COUNT)
        fatal("keys_get: no such key purpose");
    current_generation();
    return derived[p];
}

unsigned keys_generation(void)
{
    return current_generation();
}

int keys_current_version(void)
{
    pthread_rwlock_rdlock(&keys_mu);
    int v = current_version;
    pthread_rwlock_unlock(&keys_mu);
    return v;
}

int keys_versions(int *out, int cap)
{
    int n = 0;
    pthread_rwlock_rdlock(&keys_mu);
    for (int v = 1; v <= KEY_VERSION_MAX; v++)
        for (int i = 0; i < KEYS_LOADED_MAX; i++)
            if (ver[i].version == v && n < cap)
                out[n++] = v;
    pthread_rwlock_unlock(&keys_mu);
    return n;
}

/* "derived" lines: the audit keys once their source version is destroyed;
 * blind and token only in files written before those keys rotated (they
 * then hold for every version of the file: parse_versioned) */
static const char *const fixed_names[KEY__COUNT] = {
    [KEY_BLIND] = "blind",
    [KEY_TOKEN] = "token",
    [KEY_AUDIT] = "audit",
    [KEY_AUDIT_ANCHOR] = "audit-anchor",
};

/* The version v's slot in ks, or -1. */
static int keyset_slot(const struct keyset *ks, int v)
{
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (v && ks->ver[i].version == v)
            return i;
    return -1;
}

static err key_invalid(void)
{
    return err_set(E_IO, "key_invalid", NULL,
                   "主密钥文件格式错误 / master key file must hold 64 hex characters and an "
                   "optional newline, or the versioned format of docs/keys.md");
}

/*
 * The versioned format (docs/keys.md), one item a line:
 *     fangkong-keys 2
 *     current <v>
 *     key <v> <64 hex>                  one per version still held
 *     since <v> <epoch ms>              when it became current
 *     blind <v> <64 hex>, token <v> <64 hex>   carried-over keys of a version
 *     derived <purpose> <64 hex>        audit keys, once the first version is destroyed
 *     audit-key <v> <64 hex>            an audit key version after the first (its seed)
 *     audit-destroyed 1                 the first audit key version was destroyed
 */
static err parse_versioned(char *text, struct keyset *ks)
{
    int nfixed = 0, n = 0;
    bool fixed_seen[KEY__COUNT] = {false};
    /* per-version lines, applied once every key line is read */
    struct {
        int v, what; /* 0 since, KEY_BLIND, KEY_TOKEN */
        long long ms;
        uint8_t key[SM3_LEN];
    } extra[3 * KEYS_LOADED_MAX];
    int nextra = 0;
    char *save = NULL;
    bool first = true;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char word[16], hex[KEY_HEX_LEN + 2];
        int v = 0;
        long long ms = 0;
        if (first) {
            if (strcmp(line, "fangkong-keys 2") != 0)
                return key_invalid();
            first = false;
        } else if (sscanf(line, "current %d", &v) == 1 && v >= 1 && v <= KEY_VERSION_MAX) {
            ks->current = v;
        } else if (sscanf(line, "key %d %65s", &v, hex) == 2 && v >= 1 && v <= KEY_VERSION_MAX &&
                   strlen(hex) == KEY_HEX_LEN && n < KEYS_LOADED_MAX) {
            uint8_t m[MASTER_LEN];
            for (int i = 0; i < n; i++)
                if (ks->ver[i].version == v)
                    return key_invalid();
            if (!hex_decode(hex, m, MASTER_LEN))
                return key_invalid();
            version_fill(&ks->ver[n++], v, m);
            OPENSSL_cleanse(m, sizeof m);
        } else if (sscanf(line, "audit-key %d %65s", &v, hex) == 2 && v >= 2 &&
                   v <= KEY_VERSION_MAX && strlen(hex) == KEY_HEX_LEN) {
            uint8_t seed[MASTER_LEN];
            int slot = -1;
            for (int i = 0; i < AUDIT_KEYS_MAX; i++) {
                if (ks->audit[i].version == v)
                    return key_invalid();
                if (!ks->audit[i].version && slot < 0)
                    slot = i;
            }
            if (slot < 0 || !hex_decode(hex, seed, MASTER_LEN))
                return key_invalid();
            audit_key_fill(&ks->audit[slot], v, seed);
            OPENSSL_cleanse(seed, sizeof seed);
        } else if (!strcmp(line, "audit-destroyed 1")) {
            ks->audit1_gone = true;
        } else if (sscanf(line, "since %d %lld", &v, &ms) == 2 && v >= 1 && v <= KEY_VERSION_MAX &&
                   ms >= 0 && nextra < (int)(sizeof extra / sizeof *extra)) {
            extra[nextra].v = v;
            extra[nextra].what = 0;
            extra[nextra++].ms = ms;
        } else if (sscanf(line, "%15s %d %65s", word, &v, hex) == 3 &&
                   (!strcmp(word, "blind") || !strcmp(word, "token")) && v >= 1 &&
                   v <= KEY_VERSION_MAX && strlen(hex) == KEY_HEX_LEN &&
                   nextra < (int)(sizeof extra / sizeof *extra)) {
            extra[nextra].v = v;
            extra[nextra].what = word[0] == 'b' ? KEY_BLIND : KEY_TOKEN;
            if (!hex_decode(hex, extra[nextra++].key, SM3_LEN))
                return key_invalid();
        } else if (sscanf(line, "derived %15s %65s", word, hex) == 2 &&
                   strlen(hex) == KEY_HEX_LEN) {
            int p = 0;
            while (p < KEY__COUNT && !(fixed_names[p] && !strcmp(fixed_names[p], word)))
                p++;
            if (p == KEY__COUNT || fixed_seen[p] || !hex_decode(hex, ks->fixed[p], SM3_LEN))
                return key_invalid();
            fixed_seen[p] = true;
            nfixed++;
        } else {
            return key_invalid();
        }
        OPENSSL_cleanse(hex, sizeof hex);
    }
    ks->pinned = nfixed > 0;
    bool has_current = false;
    for (int i = 0; i < n; i++)
        has_current |= ks->ver[i].version == ks->current;
    /* the audit pair together, or neither; blind and token together too */
    if (!has_current || fixed_seen[KEY_AUDIT] != fixed_seen[KEY_AUDIT_ANCHOR] ||
        fixed_seen[KEY_BLIND] != fixed_seen[KEY_TOKEN] ||
        (fixed_seen[KEY_BLIND] && !fixed_seen[KEY_AUDIT]))
        return key_invalid();
    /* a file from before blind and token keys rotated: the pinned ones are
     * every version's (they were until now) */
    for (int i = 0; fixed_seen[KEY_BLIND] && i < n; i++) {
        memcpy(ks->ver[i].blind, ks->fixed[KEY_BLIND], SM3_LEN);
        memcpy(ks->ver[i].token, ks->fixed[KEY_TOKEN], SM3_LEN);
        ks->ver[i].carried = true;
    }
    for (int i = 0; i < nextra; i++) {
        int slot = keyset_slot(ks, extra[i].v);
        if (slot < 0)
            return key_invalid();
        struct key_version *k = &ks->ver[slot];
        if (extra[i].what == 0)
            k->since = extra[i].ms;
        else {
            memcpy(extra[i].what == KEY_BLIND ? k->blind : k->token, extra[i].key, SM3_LEN);
            k->carried = true;
        }
    }
    OPENSSL_cleanse(extra, sizeof extra);
    return E_OK;
}

err keys_load(const char *path)
{
    if (strlen(path) >= sizeof key_path)
        return err_set(E_IO, "key_unreadable", NULL, "主密钥文件路径过长 / key path too long");
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
    char buf[KEY_FILE_MAX + 1];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
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
    buf[got] = '\0';

    struct keyset ks = {.current = 1};
    err e = E_OK;
    if (got == KEY_HEX_LEN || (got == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')) {
        /* the original format: one key, version 1 */
        uint8_t master[MASTER_LEN];
        if (hex_decode(buf, master, MASTER_LEN))
            version_fill(&ks.ver[0], 1, master);
        else
            e = key_invalid();
        OPENSSL_cleanse(master, sizeof master);
    } else if (got < sizeof buf - 1 && strlen(buf) == got) {
        e = parse_versioned(buf, &ks);
    } else {
        e = key_invalid();
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!e) {
        pthread_rwlock_wrlock(&keys_mu);
        install_locked(&ks);
        snprintf(key_path, sizeof key_path, "%s", path);
        key_stat = st;
        pthread_rwlock_unlock(&keys_mu);
    }
    keyset_wipe(&ks);
    return e;
}

err keys_reload_if_changed(void)
{
    char path[PATH_MAX];
    struct stat was, st;
    pthread_rwlock_rdlock(&keys_mu);
    snprintf(path, sizeof path, "%s", key_path);
    was = key_stat;
    pthread_rwlock_unlock(&keys_mu);
    if (!path[0] || stat(path, &st) != 0)
        return E_OK; /* in memory only, or gone: keep what is loaded (doctor reports it) */
    if (st.st_ino == was.st_ino && st.st_size == was.st_size &&
        st.st_mtim.tv_sec == was.st_mtim.tv_sec && st.st_mtim.tv_nsec == was.st_mtim.tv_nsec)
        return E_OK;
    return keys_load(path);
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

/* Write ks to key_path atomically: a temporary file beside it, fsynced,
 * renamed over it, and the directory fsynced, so a crash leaves the old
 * file or the new one, never a torn one (keys_mu held for writing). */
static err save_locked(const struct keyset *ks)
{
    if (!key_path[0])
        return E_OK; /* keys given directly (tests): memory only */
    char text[KEY_FILE_MAX], line[160], hex[KEY_HEX_LEN + 1];
    size_t n = (size_t)snprintf(text, sizeof text, "fangkong-keys 2\ncurrent %d\n", ks->current);
    for (int v = 1; v <= KEY_VERSION_MAX; v++)
        for (int i = 0; i < KEYS_LOADED_MAX; i++)
            if (ks->ver[i].version == v) {
                const struct key_version *k = &ks->ver[i];
                hex_encode(k->master, MASTER_LEN, hex);
                n += (size_t)snprintf(text + n, sizeof text - n, "key %d %s\n", v, hex);
                if (k->since)
                    n += (size_t)snprintf(text + n, sizeof text - n, "since %d %lld\n", v,
                                          (long long)k->since);
                if (k->carried) {
                    hex_encode(k->blind, SM3_LEN, hex);
                    n += (size_t)snprintf(text + n, sizeof text - n, "blind %d %s\n", v, hex);
                    hex_encode(k->token, SM3_LEN, hex);
                    n += (size_t)snprintf(text + n, sizeof text - n, "token %d %s\n", v, hex);
                }
            }
    for (int p = 0; ks->pinned && p < KEY__COUNT; p++)
        if (fixed_names[p] && !rotates(p) && !ks->audit1_gone) {
            hex_encode(ks->fixed[p], SM3_LEN, hex);
            n +=
                (size_t)snprintf(text + n, sizeof text - n, "derived %s %s\n", fixed_names[p], hex);
        }
    for (int v = 2; v <= KEY_VERSION_MAX; v++)
        for (int i = 0; i < AUDIT_KEYS_MAX; i++)
            if (ks->audit[i].version == v) {
                hex_encode(ks->audit[i].seed, MASTER_LEN, hex);
                n += (size_t)snprintf(text + n, sizeof text - n, "audit-key %d %s\n", v, hex);
            }
    if (ks->audit1_gone)
        n += (size_t)snprintf(text + n, sizeof text - n, "audit-destroyed 1\n");
    OPENSSL_cleanse(hex, sizeof hex);
    OPENSSL_cleanse(line, sizeof line);
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.new", key_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write_all(fd, text, n) && fsync(fd) == 0;
    int en = errno;
    OPENSSL_cleanse(text, sizeof text);
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        en = errno;
    }
    if (ok && rename(tmp, key_path) != 0) {
        ok = false;
        en = errno;
    }
    if (!ok) {
        unlink(tmp);
        return err_set(E_IO, "key_write_failed", NULL, "无法写入主密钥文件：%s", strerror(en));
    }
    /* the rename is durable once the directory is */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", key_path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    (void)stat(key_path, &key_stat);
    return E_OK;
}

err keys_add_version(int *version_r)
{
    uint8_t master[MASTER_LEN];
    err e = random_bytes(master, sizeof master);
    if (e)
        return e;
    struct keyset ks;
    pthread_rwlock_wrlock(&keys_mu);
    snapshot_locked(&ks);
    int free_slot = -1, top = 0;
    for (int i = 0; i < KEYS_LOADED_MAX; i++) {
        if (!ks.ver[i].version && free_slot < 0)
            free_slot = i;
        if (ks.ver[i].version > top)
            top = ks.ver[i].version;
    }
    if (free_slot < 0 || top >= KEY_VERSION_MAX) {
        e = err_set(E_CONFLICT, "key_versions_full", NULL,
                    "密钥版本已满：请先销毁已完成轮换的旧版本");
    } else {
        /* the non-rotating keys stay what they are: pin them if the lowest
         * version is not their source any more (it always is here, as a new
         * version is the highest) */
        version_fill(&ks.ver[free_slot], top + 1, master);
        ks.ver[free_slot].since = now_ms();
        ks.current = top + 1;
        if (!(e = save_locked(&ks))) {
            install_locked(&ks);
            *version_r = top + 1;
        }
    }
    pthread_rwlock_unlock(&keys_mu);
    OPENSSL_cleanse(master, sizeof master);
    keyset_wipe(&ks);
    return e;
}

err keys_destroy_version(int version)
{
    struct keyset ks;
    err e = E_OK;
    pthread_rwlock_wrlock(&keys_mu);
    snapshot_locked(&ks);
    int slot = -1;
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (version && ks.ver[i].version == version)
            slot = i;
    if (slot < 0) {
        e = err_set(E_NOT_FOUND, "key_version_unknown", NULL, "没有这个密钥版本");
    } else if (version == ks.current) {
        e = err_set(E_CONFLICT, "key_version_current", NULL, "不能销毁当前使用的密钥版本");
    } else {
        /* the source of the non-rotating keys goes: keep them as derived
         * keys (snapshot_locked copied them into fixed[]) */
        if (slot == lowest_slot(&ks))
            ks.pinned = true;
        OPENSSL_cleanse(&ks.ver[slot], sizeof ks.ver[slot]);
        if (!(e = save_locked(&ks)))
            install_locked(&ks);
    }
    pthread_rwlock_unlock(&keys_mu);
    keyset_wipe(&ks);
    return e;
}

/* The highest audit key version in ks (the one new entries use), 0 when
 * every version was destroyed (never: the current one cannot be). */
static int audit_top(const struct keyset *ks)
{
    int top = ks->audit1_gone ? 0 : 1;
    for (int i = 0; i < AUDIT_KEYS_MAX; i++)
        if (ks->audit[i].version > top)
            top = ks->audit[i].version;
    return top;
}

int keys_audit_current(void)
{
    struct keyset ks;
    pthread_rwlock_rdlock(&keys_mu);
    snapshot_locked(&ks);
    pthread_rwlock_unlock(&keys_mu);
    int v = audit_top(&ks);
    keyset_wipe(&ks);
    return v;
}

int keys_audit_versions(int *out, int cap)
{
    int n = 0;
    pthread_rwlock_rdlock(&keys_mu);
    if (!audit1_gone && n < cap)
        out[n++] = 1;
    for (int v = 2; v <= KEY_VERSION_MAX; v++)
        for (int i = 0; i < AUDIT_KEYS_MAX; i++)
            if (audit_ver[i].version == v && n < cap)
                out[n++] = v;
    pthread_rwlock_unlock(&keys_mu);
    return n;
}

bool keys_audit_key(int version, enum key_purpose p, uint8_t out[SM3_LEN])
{
    if (p != KEY_AUDIT && p != KEY_AUDIT_ANCHOR)
        fatal("keys_audit_key: not an audit key purpose");
    current_generation();
    bool found = false;
    pthread_rwlock_rdlock(&keys_mu);
    if (version == 1 && !audit1_gone) {
        memcpy(out, derived[p], SM3_LEN);
        found = true;
    }
    for (int i = 0; !found && version > 1 && i < AUDIT_KEYS_MAX; i++)
        if (audit_ver[i].version == version) {
            memcpy(out, p == KEY_AUDIT ? audit_ver[i].chain : audit_ver[i].anchor, SM3_LEN);
            found = true;
        }
    pthread_rwlock_unlock(&keys_mu);
    return found;
}

bool keys_audit_in_master(void)
{
    pthread_rwlock_rdlock(&keys_mu);
    bool in = !pinned && !audit1_gone;
    pthread_rwlock_unlock(&keys_mu);
    return in;
}

err keys_audit_add_version(int *version_r)
{
    uint8_t seed[MASTER_LEN];
    err e = random_bytes(seed, sizeof seed);
    if (e)
        return e;
    struct keyset ks;
    pthread_rwlock_wrlock(&keys_mu);
    snapshot_locked(&ks);
    int slot = -1, top = audit_top(&ks);
    for (int i = 0; i < AUDIT_KEYS_MAX; i++)
        if (!ks.audit[i].version && slot < 0)
            slot = i;
    if (slot < 0 || top >= KEY_VERSION_MAX) {
        e = err_set(E_CONFLICT, "audit_key_versions_full", NULL,
                    "审计密钥版本已满：请先销毁日志段已过保留期的旧版本");
    } else {
        audit_key_fill(&ks.audit[slot], top + 1, seed);
        if (!(e = save_locked(&ks))) {
            install_locked(&ks);
            *version_r = top + 1;
        }
    }
    pthread_rwlock_unlock(&keys_mu);
    OPENSSL_cleanse(seed, sizeof seed);
    keyset_wipe(&ks);
    return e;
}

/* Remove audit key version `version`; `undo`: also the highest (a version
 * just added whose first use did not commit). */
static err audit_remove(int version, bool undo)
{
    struct keyset ks;
    err e = E_OK;
    pthread_rwlock_wrlock(&keys_mu);
    snapshot_locked(&ks);
    int slot = -1;
    for (int i = 0; version > 1 && i < AUDIT_KEYS_MAX; i++)
        if (ks.audit[i].version == version)
            slot = i;
    if (version == audit_top(&ks) && !(undo && slot >= 0)) {
        e = err_set(E_CONFLICT, "audit_key_current", NULL, "不能销毁当前使用的审计密钥版本");
    } else if (version == 1 && !ks.audit1_gone && !ks.pinned) {
        e = err_set(E_CONFLICT, "audit_key_in_master", NULL,
                    "审计密钥版本 1 由主密钥版本 %d 派生：须先完成一次主密钥轮换并销毁该主密钥，"
                    "它才能随之销毁",
                    ks.ver[lowest_slot(&ks)].version);
    } else if (version == 1 && !ks.audit1_gone) {
        ks.audit1_gone = true;
        OPENSSL_cleanse(ks.fixed[KEY_AUDIT], SM3_LEN);
        OPENSSL_cleanse(ks.fixed[KEY_AUDIT_ANCHOR], SM3_LEN);
        if (!(e = save_locked(&ks)))
            install_locked(&ks);
    } else if (slot < 0) {
        e = err_set(E_NOT_FOUND, "audit_key_unknown", NULL, "没有这个审计密钥版本");
    } else {
        OPENSSL_cleanse(&ks.audit[slot], sizeof ks.audit[slot]);
        if (!(e = save_locked(&ks)))
            install_locked(&ks);
    }
    pthread_rwlock_unlock(&keys_mu);
    keyset_wipe(&ks);
    return e;
}

err keys_audit_destroy_version(int version)
{
    return audit_remove(version, false);
}

err keys_audit_withdraw(int version)
{
    return audit_remove(version, true);
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
static void field_tag(struct tls *t, int slot, const char *field, const uint8_t *body, size_t n,
                      uint8_t tag[TAG_LEN])
{
    EVP_MAC_CTX *c = t->vmac[slot];
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
static void ctr_apply(struct tls *t, int slot, const uint8_t iv[IV_LEN], const uint8_t *in,
                      size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *ctr = t->ctr[slot];
    /* NULL cipher and key: keep the key schedule, only restart at this IV. */
    if (!EVP_EncryptInit_ex2(ctr, NULL, NULL, iv, NULL))
        fatal("SM4-CTR init");
    while (n > 0) {
        int chunk = n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;
        int len = 0;
        if (!EVP_EncryptUpdate(ctr, out, &len, in, chunk) || len != chunk)
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
    /* the first byte names the key version (1 is the original format) */
    out[0] = (uint8_t)t->ver[t->cur];
    err e = next_iv(t, out + 1);
    if (e != E_OK)
        return e;
    ctr_apply(t, t->cur, out + 1, plain, n, out + 1 + IV_LEN);
    field_tag(t, t->cur, field, out, 1 + IV_LEN + n, out + 1 + IV_LEN + n);
    return E_OK;
}

err unseal_buf(const char *field, const void *ct, size_t n, char *out, size_t *len_r)
{
    const uint8_t *c = ct;
    if (atomic_load_explicit(&key_generation, memory_order_acquire) == 0)
        return no_keys();
    if (n < SEAL_OVERHEAD)
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    struct tls *t = tls_keyed();
    int slot = tls_slot(t, c[0]);
    if (slot < 0) {
        /* another server may have added a version since this one read the
         * key file (docs/keys.md, several servers): look once more */
        err re = keys_reload_if_changed();
        if (re)
            return re;
        t = tls_keyed();
        if ((slot = tls_slot(t, c[0])) < 0)
            return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    }
    size_t body = n - TAG_LEN, plain = n - SEAL_OVERHEAD;
    uint8_t tag[TAG_LEN];
    /* Authenticate before decrypting: nothing derived from an altered
     * ciphertext is ever produced. */
    field_tag(t, slot, field, c, body, tag);
    if (!ct_equal(tag, c + body, TAG_LEN))
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    ctr_apply(t, slot, c + 1, c + 1 + IV_LEN, plain, (uint8_t *)out);
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

static void blind_with(EVP_MAC_CTX *c, const char *field, const char *value, uint8_t out[BLIND_LEN])
{
    uint8_t full[SM3_LEN];
    /* NULL key: restart with the key set in tls_keyed() */
    if (!EVP_MAC_init(c, NULL, 0, NULL) ||
        !EVP_MAC_update(c, (const uint8_t *)field, strlen(field) + 1) ||
        !EVP_MAC_update(c, (const uint8_t *)value, strlen(value)))
        fatal("HMAC-SM3");
    mac_final(c, full);
    memcpy(out, full, BLIND_LEN);
}

void blind_index(const char *field, const char *value, uint8_t out[BLIND_LEN])
{
    struct tls *t = tls_keyed();
    blind_with(t->keyed_mac[KEY_BLIND], field, value, out);
}

int blind_search(const char *field, const char *value, uint8_t out[BLIND_MAX][BLIND_LEN])
{
    struct tls *t = tls_keyed();
    blind_with(t->keyed_mac[KEY_BLIND], field, value, out[0]);
    /* the second digest only while a rotation holds the previous version:
     * outside one a search costs what it always did */
    if (!t->has_prev)
        return 1;
    blind_with(t->prev_blind, field, value, out[1]);
    return 2;
}

bool blind_rotating(void)
{
    return tls_keyed()->has_prev;
}

bool blind_index_version(int version, const char *field, const char *value, uint8_t out[BLIND_LEN])
{
    uint8_t key[SM3_LEN];
    bool found = false;
    pthread_rwlock_rdlock(&keys_mu);
    for (int i = 0; i < KEYS_LOADED_MAX; i++)
        if (version && ver[i].version == version) {
            memcpy(key, ver[i].blind, SM3_LEN);
            found = true;
        }
    pthread_rwlock_unlock(&keys_mu);
    if (!found)
        return false;
    /* the rotation's walk, not a hot path: an unkeyed context per call */
    size_t fl = strlen(field), vl = strlen(value);
    char stackbuf[256];
    char *msg = fl + 1 + vl <= sizeof stackbuf ? stackbuf : malloc(fl + 1 + vl);
    if (!msg)
        fatal("out of memory");
    memcpy(msg, field, fl + 1);
    memcpy(msg + fl + 1, value, vl);
    uint8_t full[SM3_LEN];
    hmac_sm3(key, SM3_LEN, msg, fl + 1 + vl, full);
    if (msg != stackbuf)
        free(msg);
    OPENSSL_cleanse(key, sizeof key);
    memcpy(out, full, BLIND_LEN);
    return true;
}

const uint8_t *keys_get_previous(enum key_purpose p)
{
    if (p != KEY_BLIND && p != KEY_TOKEN)
        return NULL;
    current_generation();
    if (!atomic_load_explicit(&key_generation, memory_order_acquire) || !prev_version)
        return NULL;
    return p == KEY_BLIND ? prev_blind : prev_token;
}

int64_t keys_current_since(void)
{
    pthread_rwlock_rdlock(&keys_mu);
    int64_t v = current_since;
    pthread_rwlock_unlock(&keys_mu);
    return v;
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

int seal_version(const void *ct, size_t n)
{
    return n >= SEAL_OVERHEAD ? ((const uint8_t *)ct)[0] : 0;
}

/*
 * Unit tests of security/crypto: SM3 (GB/T 32905), SM4 (GB/T 32907) and
 * HMAC-SM3 against published or independently computed vectors, the sealed
 * field format, blind indexes, and the master key file rules.
 *
 * HMAC-SM3 and derived-key references were computed with the OpenSSL command
 * line, independently of this code, e.g.
 *   printf abc | openssl mac -digest SM3 -macopt hexkey:000102…1f HMAC
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/id.h"
#include "security/crypto.h"

/* 00 01 02 … 1f: the master key of most tests. */
static uint8_t master[32];
static const char master_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void hex(const uint8_t *b, size_t n, char *out)
{
    hex_encode(b, n, out);
}

static void assert_hex(const uint8_t *b, size_t n, const char *want)
{
    char got[2 * 64 + 1];
    assert_true(n <= 64);
    hex(b, n, got);
    assert_string_equal(got, want);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)i;
    keys_set_master(master);
    return 0;
}

/* ---- SM3 ------------------------------------------------------------------ */

static void sm3_abc(void **state)
{
    (void)state;
    uint8_t d[SM3_LEN];
    sm3("abc", 3, d);
    assert_hex(d, sizeof d, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

static void sm3_abcd16(void **state)
{
    (void)state;
    char msg[65] = "";
    for (int i = 0; i < 16; i++)
        strcat(msg, "abcd");
    uint8_t d[SM3_LEN];
    sm3(msg, 64, d);
    assert_hex(d, sizeof d, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
    /* Twice on the same thread: the reused context must start afresh. */
    sm3(msg, 64, d);
    assert_hex(d, sizeof d, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

/* ---- SM4 ------------------------------------------------------------------ */

static void sm4_single(void **state)
{
    (void)state;
    uint8_t key[16], out[16];
    assert_true(hex_decode("0123456789abcdeffedcba9876543210", key, 16));
    sm4_encrypt_block(key, key, out);
    assert_hex(out, 16, "681edf34d206965e86b3e94f536e4246");
}

static void sm4_million(void **state)
{
    (void)state;
    uint8_t key[16], block[16];
    assert_true(hex_decode("0123456789abcdeffedcba9876543210", key, 16));
    memcpy(block, key, 16);
    for (int i = 0; i < 1000000; i++)
        sm4_encrypt_block(key, block, block);
    assert_hex(block, 16, "595298c7c6fd271f0402f804c33d3f66");
}

/* ---- HMAC-SM3 ------------------------------------------------------------- */

static void hmac_vectors(void **state)
{
    (void)state;
    uint8_t d[SM3_LEN];
    const char *msg = "what do ya want for nothing?";
    hmac_sm3((const uint8_t *)"Jefe", 4, msg, strlen(msg), d);
    assert_hex(d, sizeof d, "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882");

    hmac_sm3(master, 32, "abc", 3, d);
    assert_hex(d, sizeof d, "a8f95cf26f204957e7ca73c9602a25dda35f168b28103b51dfc968c810416b63");

    /* A key longer than the 64-byte block is hashed first. */
    uint8_t longkey[131];
    memset(longkey, 0xaa, sizeof longkey);
    msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sm3(longkey, sizeof longkey, msg, strlen(msg), d);
    assert_hex(d, sizeof d, "b4fd844e13342002f0b2e0690ea7741f1497d993a70494cea601e657bedf67a0");

    /* The empty key is valid HMAC (padded with zeros), not "reuse the last". */
    hmac_sm3(NULL, 0, "abc", 3, d);
    assert_hex(d, sizeof d, "36525058ca466791502435c910517f1a7e86613d5f35ac1f18a94def0eaac81f");
    hmac_sm3((const uint8_t *)"key", 3, "", 0, d);
    assert_hex(d, sizeof d, "4deb29b9be17bd4fd2aca21f908885b9f849bc61e8fbd101e04fd9987528d4df");
}

static void derived_keys(void **state)
{
    (void)state;
    assert_hex(keys_get(KEY_FIELD_ENC), SM3_LEN,
               "0c304aea90e2aa2622558c6175356a72247e094db0d7e9417999a4fcafe42d12");
    assert_hex(keys_get(KEY_FIELD_MAC), SM3_LEN,
               "e06e5192d36e028d2a385a26dcf4b0cea786370bab1f9806907d708bb3c7504d");
    assert_hex(keys_get(KEY_BLIND), SM3_LEN,
               "9a9c2cafffcf7bace95a3647c5a8d70844f15382a0867cf55167b5b696c184ce");
    /* Every purpose has its own key. */
    for (int i = 0; i < KEY__COUNT; i++)
        for (int j = i + 1; j < KEY__COUNT; j++)
            assert_memory_not_equal(keys_get(i), keys_get(j), SM3_LEN);
}

/* ---- seal / unseal ---------------------------------------------------------- */

/* Recompute a sealed value from its parts with the raw primitives, so the
 * format in crypto.h is checked independently of seal_buf's code path. */
static void check_format(const char *field, const uint8_t *plain, size_t n, const uint8_t *ct)
{
    assert_int_equal(ct[0], 0x01);
    const uint8_t *iv = ct + 1;
    uint8_t counter[16], ks[16];
    memcpy(counter, iv, 16);
    for (size_t off = 0; off < n; off += 16) {
        sm4_encrypt_block(keys_get(KEY_FIELD_ENC), counter, ks);
        for (size_t i = off; i < n && i < off + 16; i++)
            assert_int_equal(ct[17 + i], plain[i] ^ ks[i - off]);
        for (int k = 15; k >= 0 && ++counter[k] == 0; k--)
            ; /* 128-bit big-endian counter */
    }
    size_t flen = strlen(field);
    uint8_t *msg = malloc(flen + 1 + 17 + n);
    memcpy(msg, field, flen + 1);
    memcpy(msg + flen + 1, ct, 17 + n);
    uint8_t tag[SM3_LEN];
    hmac_sm3(keys_get(KEY_FIELD_MAC), SM3_LEN, msg, flen + 1 + 17 + n, tag);
    free(msg);
    assert_memory_equal(ct + 17 + n, tag, 16);
}

static void seal_round_trip(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 20, 31, 32, 33, 100, 1000, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        uint8_t *plain = arena_alloc(a, n + 1);
        for (size_t i = 0; i < n; i++)
            plain[i] = (uint8_t)('A' + i % 26);
        uint8_t *ct = NULL;
        size_t ctlen = 0;
        assert_int_equal(seal(a, "person.name", plain, n, &ct, &ctlen), E_OK);
        assert_int_equal(ctlen, n + SEAL_OVERHEAD);
        check_format("person.name", plain, n, ct);

        char *back = NULL;
        size_t len = 99;
        assert_int_equal(unseal(a, "person.name", ct, ctlen, &back, &len), E_OK);
        assert_int_equal(len, n);
        assert_memory_equal(back, plain, n);
        assert_int_equal(back[n], '\0');
    }
    /* UTF-8 text comes back as a string. */
    const char *name = "欧阳娜娜";
    uint8_t *ct;
    size_t ctlen;
    char *back;
    assert_int_equal(seal(a, "person.name", name, strlen(name), &ct, &ctlen), E_OK);
    assert_int_equal(unseal(a, "person.name", ct, ctlen, &back, NULL), E_OK);
    assert_string_equal(back, name);
    arena_free(&a);
}

static void seal_buf_round_trip(void **state)
{
    (void)state;
    const char *v = "13800138000";
    uint8_t ct[11 + SEAL_OVERHEAD];
    char back[11 + 1];
    size_t len = 0;
    assert_int_equal(seal_buf("person.phone", v, 11, ct), E_OK);
    assert_int_equal(unseal_buf("person.phone", ct, sizeof ct, back, &len), E_OK);
    assert_int_equal(len, 11);
    assert_string_equal(back, v);
}

static void seal_is_randomised(void **state)
{
    (void)state;
    uint8_t a[5 + SEAL_OVERHEAD], b[5 + SEAL_OVERHEAD];
    assert_int_equal(seal_buf("f", "hello", 5, a), E_OK);
    assert_int_equal(seal_buf("f", "hello", 5, b), E_OK);
    assert_memory_not_equal(a + 1, b + 1, 16); /* fresh IV */
    assert_memory_not_equal(a + 17, b + 17, 5);
}

/* IVs come from a per-thread pool; a forked child must not reuse the
 * parent's next IVs. */
static void seal_after_fork(void **state)
{
    (void)state;
    uint8_t ct[1 + SEAL_OVERHEAD], child_ct[1 + SEAL_OVERHEAD];
    assert_int_equal(seal_buf("f", "x", 1, ct), E_OK); /* fills the pool */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int ok = seal_buf("f", "x", 1, child_ct) == E_OK &&
                 write(fds[1], child_ct, sizeof child_ct) == (ssize_t)sizeof child_ct;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child_ct, sizeof child_ct), (ssize_t)sizeof child_ct);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(seal_buf("f", "x", 1, ct), E_OK);
    assert_memory_not_equal(ct + 1, child_ct + 1, 16);
}

static void tamper_any_byte(void **state)
{
    (void)state;
    const char *v = "110105194912310021";
    size_t n = strlen(v);
    uint8_t ct[64];
    char out[64];
    assert_int_equal(seal_buf("person.id_number", v, n, ct), E_OK);
    for (size_t i = 0; i < n + SEAL_OVERHEAD; i++) {
        for (int bit = 0; bit < 8; bit++) {
            ct[i] ^= (uint8_t)(1u << bit);
            err_clear();
            assert_int_equal(unseal_buf("person.id_number", ct, n + SEAL_OVERHEAD, out, NULL),
                             E_CRYPTO);
            assert_string_equal(err_last()->slug, "decrypt_failed");
            ct[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncated or extended by a byte. */
    assert_int_equal(unseal_buf("person.id_number", ct, n + SEAL_OVERHEAD - 1, out, NULL),
                     E_CRYPTO);
    assert_int_equal(unseal_buf("person.id_number", ct, n + SEAL_OVERHEAD, out, NULL), E_OK);
    assert_string_equal(out, v);
}

static void wrong_field(void **state)
{
    (void)state;
    uint8_t ct[5 + SEAL_OVERHEAD];
    char out[8];
    assert_int_equal(seal_buf("person.name", "hello", 5, ct), E_OK);
    assert_int_equal(unseal_buf("person.address", ct, sizeof ct, out, NULL), E_CRYPTO);
    assert_int_equal(unseal_buf("person.nam", ct, sizeof ct, out, NULL), E_CRYPTO);
    assert_int_equal(unseal_buf("person.names", ct, sizeof ct, out, NULL), E_CRYPTO);
    assert_int_equal(unseal_buf("", ct, sizeof ct, out, NULL), E_CRYPTO);
    assert_int_equal(unseal_buf("person.name", ct, sizeof ct, out, NULL), E_OK);
}

static void wrong_key(void **state)
{
    (void)state;
    uint8_t ct[5 + SEAL_OVERHEAD];
    char out[8];
    assert_int_equal(seal_buf("f", "hello", 5, ct), E_OK);
    uint8_t other[32];
    memset(other, 7, sizeof other);
    keys_set_master(other);
    assert_int_equal(unseal_buf("f", ct, sizeof ct, out, NULL), E_CRYPTO);
    keys_set_master(master);
    assert_int_equal(unseal_buf("f", ct, sizeof ct, out, NULL), E_OK);
}

static void short_input(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    uint8_t junk[SEAL_OVERHEAD];
    memset(junk, 0x01, sizeof junk);
    char out[SEAL_OVERHEAD + 1];
    char *p = NULL;
    for (size_t n = 0; n < SEAL_OVERHEAD; n++) {
        assert_int_equal(unseal_buf("f", junk, n, out, NULL), E_CRYPTO);
        assert_int_equal(unseal(a, "f", junk, n, &p, NULL), E_CRYPTO);
        assert_null(p);
    }
    /* Long enough, but the tag is wrong; then a wrong version byte. */
    assert_int_equal(unseal_buf("f", junk, sizeof junk, out, NULL), E_CRYPTO);
    uint8_t ct[SEAL_OVERHEAD];
    assert_int_equal(seal_buf("f", "", 0, ct), E_OK);
    assert_int_equal(unseal_buf("f", ct, sizeof ct, out, NULL), E_OK);
    assert_string_equal(out, "");
    ct[0] = 0x02;
    assert_int_equal(unseal_buf("f", ct, sizeof ct, out, NULL), E_CRYPTO);
    arena_free(&a);
}

/* ---- blind index ---------------------------------------------------------- */

static void blind_index_rules(void **state)
{
    (void)state;
    uint8_t a[BLIND_LEN], b[BLIND_LEN];
    blind_index("person.id_number", "11010519491231002X", a);
    blind_index("person.id_number", "11010519491231002X", b);
    assert_memory_equal(a, b, BLIND_LEN);

    /* It is HMAC-SM3(KEY_BLIND, field || 0 || value), truncated. */
    const char msg[] = "person.id_number\0"
                       "11010519491231002X";
    uint8_t full[SM3_LEN];
    hmac_sm3(keys_get(KEY_BLIND), SM3_LEN, msg, sizeof msg - 1, full);
    assert_memory_equal(a, full, BLIND_LEN);

    blind_index("person.phone", "11010519491231002X", b);
    assert_memory_not_equal(a, b, BLIND_LEN);
    blind_index("person.id_number", "110105194912310021", b);
    assert_memory_not_equal(a, b, BLIND_LEN);

    /* The separator keeps field and value apart. */
    blind_index("ab", "c", a);
    blind_index("a", "bc", b);
    assert_memory_not_equal(a, b, BLIND_LEN);

    /* Not the field MAC key: a blind index is not a field tag. */
    blind_index("x", "y", a);
    hmac_sm3(keys_get(KEY_FIELD_MAC), SM3_LEN, "x\0y", 3, full);
    assert_memory_not_equal(a, full, BLIND_LEN);

    /* A different master key gives different indexes. */
    blind_index("x", "y", a);
    uint8_t other[32];
    memset(other, 9, sizeof other);
    keys_set_master(other);
    blind_index("x", "y", b);
    keys_set_master(master);
    assert_memory_not_equal(a, b, BLIND_LEN);
    blind_index("x", "y", b);
    assert_memory_equal(a, b, BLIND_LEN);
}

/* ---- key files ------------------------------------------------------------ */

static char tmpdir[64];

static int key_setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/fk-crypto-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int key_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    keys_set_master(master);
    return 0;
}

static const char *tmp_path(const char *name)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *text, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void keys_load_good(void **state)
{
    (void)state;
    const char *p = tmp_path("good");
    char text[66];
    snprintf(text, sizeof text, "%s\n", master_hex);

    uint8_t other[32];
    memset(other, 3, sizeof other);
    keys_set_master(other);
    write_file(p, text, 65, 0600);
    assert_int_equal(keys_load(p), E_OK);
    assert_hex(keys_get(KEY_FIELD_ENC), SM3_LEN,
               "0c304aea90e2aa2622558c6175356a72247e094db0d7e9417999a4fcafe42d12");

    /* Without the newline, read-only, and in upper case. */
    keys_set_master(other);
    write_file(p, text, 64, 0400);
    assert_int_equal(keys_load(p), E_OK);
    for (int i = 0; i < 64; i++)
        if (text[i] >= 'a' && text[i] <= 'f')
            text[i] = (char)(text[i] - 'a' + 'A');
    keys_set_master(other);
    write_file(p, text, 65, 0600);
    assert_int_equal(keys_load(p), E_OK);
    assert_hex(keys_get(KEY_FIELD_ENC), SM3_LEN,
               "0c304aea90e2aa2622558c6175356a72247e094db0d7e9417999a4fcafe42d12");
}

static void keys_load_refuses(void **state)
{
    (void)state;
    const char *p = tmp_path("bad");
    char text[80];
    snprintf(text, sizeof text, "%s\n", master_hex);

    err_clear();
    assert_int_equal(keys_load(tmp_path("missing")), E_IO);
    assert_string_equal(err_last()->slug, "key_missing");
    assert_non_null(strstr(err_last()->message, "不存在"));
    assert_non_null(strstr(err_last()->message, "not found"));

    static const mode_t loose[] = {0644, 0640, 0604, 0660, 0601, 0610};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        write_file(p, text, 65, loose[i]);
        err_clear();
        assert_int_equal(keys_load(p), E_IO);
        assert_string_equal(err_last()->slug, "key_permissions");
        assert_non_null(strstr(err_last()->message, "chmod 600"));
    }

    /* Malformed: short, long, not hex, junk after the newline, empty. */
    const struct {
        const char *text;
        size_t n;
    } bad[] = {
        {text, 63},
        {"", 0},
        {"zz", 2},
        {"0123", 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(p, bad[i].text, bad[i].n, 0600);
        assert_int_equal(keys_load(p), E_IO);
        assert_string_equal(err_last()->slug, "key_invalid");
    }
    char t2[80];
    snprintf(t2, sizeof t2, "%s\n\n", master_hex);
    write_file(p, t2, 66, 0600);
    assert_int_equal(keys_load(p), E_IO);
    snprintf(t2, sizeof t2, "%s00", master_hex);
    write_file(p, t2, 66, 0600);
    assert_int_equal(keys_load(p), E_IO);
    snprintf(t2, sizeof t2, "%s", master_hex);
    t2[10] = 'g';
    write_file(p, t2, 64, 0600);
    assert_int_equal(keys_load(p), E_IO);
    assert_non_null(strstr(err_last()->message, "64"));

    /* A directory is not a key file. */
    assert_int_equal(keys_load(tmpdir), E_IO);
}

static void keys_create_rules(void **state)
{
    (void)state;
    const char *p = tmp_path("new.key");
    assert_int_equal(keys_create(p), E_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    char before[65], after[65];
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_int_equal(fread(before, 1, 65, f), 65);
    fclose(f);

    err_clear();
    assert_int_equal(keys_create(p), E_CONFLICT);
    assert_string_equal(err_last()->slug, "key_exists");
    f = fopen(p, "r");
    assert_int_equal(fread(after, 1, 65, f), 65);
    fclose(f);
    assert_memory_equal(before, after, 65);

    assert_int_equal(keys_load(p), E_OK);
    uint8_t ct[3 + SEAL_OVERHEAD];
    char out[4];
    assert_int_equal(seal_buf("f", "abc", 3, ct), E_OK);
    assert_int_equal(unseal_buf("f", ct, sizeof ct, out, NULL), E_OK);

    /* Two new keys differ. */
    const char *q = tmp_path("other.key");
    assert_int_equal(keys_create(q), E_OK);
    f = fopen(q, "r");
    assert_int_equal(fread(after, 1, 65, f), 65);
    fclose(f);
    assert_memory_not_equal(before, after, 64);

    assert_int_equal(keys_create(tmp_path("no/such/dir")), E_IO);
}

/* ---- key versions (docs/keys.md) -------------------------------------------- */

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

/* A rotation's life on the key file: an original-format file is version 1;
 * a new version seals, both open; the old one destroyed leaves only the new;
 * the blind-index and token keys rotate with it (a search gives both
 * digests while the old version is held, then the new one alone); the
 * non-rotating keys (audit, anchor) never change and survive a reload of
 * the rewritten file. */
static void key_versions_rotate(void **state)
{
    (void)state;
    char p[160], tmp[170];
    snprintf(p, sizeof p, "%s", tmp_path("rot.key"));
    snprintf(tmp, sizeof tmp, "%s.new", p);
    char text[1100];
    snprintf(text, sizeof text, "%s\n", master_hex);
    write_file(p, text, strlen(text), 0600);
    assert_int_equal(keys_load(p), E_OK);
    assert_int_equal(keys_current_version(), 1);

    uint8_t old_ct[5 + SEAL_OVERHEAD], new_ct[5 + SEAL_OVERHEAD];
    assert_int_equal(seal_buf("persons.name", "alpha", 5, old_ct), E_OK);
    assert_int_equal(old_ct[0], 0x01); /* the original format byte */
    assert_int_equal(seal_version(old_ct, sizeof old_ct), 1);
    uint8_t bi1[BLIND_LEN], bi2[BLIND_LEN], keep[4][SM3_LEN];
    blind_index("persons.name", "alpha", bi1);
    memcpy(keep[0], keys_get(KEY_TOKEN), SM3_LEN);
    memcpy(keep[1], keys_get(KEY_AUDIT), SM3_LEN);
    memcpy(keep[2], keys_get(KEY_AUDIT_ANCHOR), SM3_LEN);
    memcpy(keep[3], keys_get(KEY_FIELD_ENC), SM3_LEN);

    /* outside a rotation: one digest, blind_index's, and no previous key */
    uint8_t both[BLIND_MAX][BLIND_LEN];
    assert_int_equal(blind_search("persons.name", "alpha", both), 1);
    assert_memory_equal(both[0], bi1, BLIND_LEN);
    assert_false(blind_rotating());
    assert_null(keys_get_previous(KEY_TOKEN));
    assert_int_equal(keys_current_since(), 0);

    int v = 0;
    int64_t before = now_ms();
    assert_int_equal(keys_add_version(&v), E_OK);
    assert_int_equal(v, 2);
    assert_true(keys_current_since() >= before);
    assert_int_equal(keys_current_version(), 2);
    int vs[8];
    assert_int_equal(keys_versions(vs, 8), 2);
    assert_int_equal(vs[0], 1);
    assert_int_equal(vs[1], 2);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    read_file(p, text, sizeof text);
    assert_non_null(strstr(text, "fangkong-keys 2\ncurrent 2\nkey 1 "));
    assert_null(strstr(text, "derived"));

    assert_int_equal(seal_buf("persons.name", "bravo", 5, new_ct), E_OK);
    assert_int_equal(seal_version(new_ct, sizeof new_ct), 2);
    assert_memory_not_equal(keys_get(KEY_FIELD_ENC), keep[3], SM3_LEN);
    char out[8];
    assert_int_equal(unseal_buf("persons.name", old_ct, sizeof old_ct, out, NULL), E_OK);
    assert_string_equal(out, "alpha");
    assert_int_equal(unseal_buf("persons.name", new_ct, sizeof new_ct, out, NULL), E_OK);
    assert_string_equal(out, "bravo");
    /* the version byte is authenticated: relabelled, a value does not open */
    uint8_t moved[5 + SEAL_OVERHEAD];
    memcpy(moved, new_ct, sizeof moved);
    moved[0] = 1;
    assert_int_equal(unseal_buf("persons.name", moved, sizeof moved, out, NULL), E_CRYPTO);
    moved[0] = 9; /* a version not loaded */
    assert_int_equal(unseal_buf("persons.name", moved, sizeof moved, out, NULL), E_CRYPTO);
    /* during the rotation: writes index under the new version, a search
     * looks for both, the old one second; the token key is the new one and
     * the old one is still at hand for verifying */
    blind_index("persons.name", "alpha", bi2);
    assert_memory_not_equal(bi1, bi2, BLIND_LEN);
    assert_true(blind_rotating());
    assert_int_equal(blind_search("persons.name", "alpha", both), 2);
    assert_memory_equal(both[0], bi2, BLIND_LEN);
    assert_memory_equal(both[1], bi1, BLIND_LEN);
    uint8_t bv[BLIND_LEN];
    assert_true(blind_index_version(1, "persons.name", "alpha", bv));
    assert_memory_equal(bv, bi1, BLIND_LEN);
    assert_true(blind_index_version(2, "persons.name", "alpha", bv));
    assert_memory_equal(bv, bi2, BLIND_LEN);
    assert_false(blind_index_version(9, "persons.name", "alpha", bv));
    assert_memory_not_equal(keys_get(KEY_TOKEN), keep[0], SM3_LEN);
    assert_non_null(keys_get_previous(KEY_TOKEN));
    assert_memory_equal(keys_get_previous(KEY_TOKEN), keep[0], SM3_LEN);
    uint8_t tok2[SM3_LEN];
    memcpy(tok2, keys_get(KEY_TOKEN), SM3_LEN);

    /* another process reads the same file: both versions */
    assert_int_equal(keys_load(p), E_OK);
    assert_int_equal(keys_current_version(), 2);
    assert_int_equal(unseal_buf("persons.name", old_ct, sizeof old_ct, out, NULL), E_OK);
    assert_int_equal(blind_search("persons.name", "alpha", both), 2);
    assert_memory_equal(both[0], bi2, BLIND_LEN);
    assert_true(keys_current_since() >= before);

    err_clear();
    assert_int_equal(keys_destroy_version(2), E_CONFLICT);
    assert_string_equal(err_last()->slug, "key_version_current");
    assert_int_equal(keys_destroy_version(7), E_NOT_FOUND);
    assert_int_equal(keys_destroy_version(1), E_OK);
    assert_int_equal(keys_versions(vs, 8), 1);
    assert_int_equal(unseal_buf("persons.name", old_ct, sizeof old_ct, out, NULL), E_CRYPTO);
    assert_int_equal(unseal_buf("persons.name", new_ct, sizeof new_ct, out, NULL), E_OK);
    read_file(p, text, sizeof text);
    assert_null(strstr(text, "key 1 "));
    assert_null(strstr(text, master_hex)); /* the old master is gone from the file */
    assert_non_null(strstr(text, "derived audit-anchor "));
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary file left */

    /* after the destruction: one digest again, the new version's; no
     * previous token key */
    assert_false(blind_rotating());
    assert_int_equal(blind_search("persons.name", "alpha", both), 1);
    assert_memory_equal(both[0], bi2, BLIND_LEN);
    assert_null(keys_get_previous(KEY_TOKEN));
    assert_false(blind_index_version(1, "persons.name", "alpha", bv));

    /* reloaded from the rewritten file: same non-rotating keys, the new
     * version's blind and token keys */
    keys_set_master((const uint8_t *)"0123456789abcdef0123456789abcdef");
    assert_int_equal(keys_load(p), E_OK);
    assert_memory_equal(keys_get(KEY_TOKEN), tok2, SM3_LEN);
    assert_memory_equal(keys_get(KEY_AUDIT), keep[1], SM3_LEN);
    assert_memory_equal(keys_get(KEY_AUDIT_ANCHOR), keep[2], SM3_LEN);
    uint8_t bi3[BLIND_LEN];
    blind_index("persons.name", "alpha", bi3);
    assert_memory_equal(bi3, bi2, BLIND_LEN);
    assert_int_equal(unseal_buf("persons.name", new_ct, sizeof new_ct, out, NULL), E_OK);
    assert_string_equal(out, "bravo");

    /* a second rotation keeps the pinned keys */
    assert_int_equal(keys_add_version(&v), E_OK);
    assert_int_equal(v, 3);
    assert_int_equal(keys_destroy_version(2), E_OK);
    assert_int_equal(keys_load(p), E_OK);
    assert_memory_equal(keys_get(KEY_AUDIT), keep[1], SM3_LEN);
    assert_int_equal(unseal_buf("persons.name", new_ct, sizeof new_ct, out, NULL), E_CRYPTO);
}

/* Audit key versions (docs/keys.md, "The audit key"): version 1 is the
 * first master's derivation; a new version is a random seed written to the
 * key file as an "audit-key" line, and reloads as the same keys; version 1
 * cannot be destroyed while the master it derives from is held, nor the
 * newest ever; once the master is rotated away, version 1 goes as an
 * "audit-destroyed 1" line and its derived lines leave the file. */
static void audit_key_versions(void **state)
{
    (void)state;
    char p[160], text[KEY_FILE_MAX + 1];
    snprintf(p, sizeof p, "%s", tmp_path("audit.key"));
    snprintf(text, sizeof text, "%s\n", master_hex);
    write_file(p, text, strlen(text), 0600);
    assert_int_equal(keys_load(p), E_OK);
    int vs[8];
    uint8_t k1[SM3_LEN], a1[SM3_LEN], k2[SM3_LEN], a2[SM3_LEN], again[SM3_LEN];
    assert_int_equal(keys_audit_current(), 1);
    assert_int_equal(keys_audit_versions(vs, 8), 1);
    assert_true(keys_audit_key(1, KEY_AUDIT, k1));
    assert_memory_equal(k1, keys_get(KEY_AUDIT), SM3_LEN);
    assert_true(keys_audit_key(1, KEY_AUDIT_ANCHOR, a1));
    assert_false(keys_audit_key(2, KEY_AUDIT, k2));
    assert_true(keys_audit_in_master());

    int v = 0;
    assert_int_equal(keys_audit_add_version(&v), E_OK);
    assert_int_equal(v, 2);
    assert_int_equal(keys_audit_current(), 2);
    assert_true(keys_audit_key(2, KEY_AUDIT, k2));
    assert_true(keys_audit_key(2, KEY_AUDIT_ANCHOR, a2));
    assert_memory_not_equal(k1, k2, SM3_LEN);
    assert_memory_not_equal(k2, a2, SM3_LEN); /* chain and anchor keys differ */
    /* the master's keys are untouched by it */
    assert_int_equal(keys_current_version(), 1);
    assert_memory_equal(keys_get(KEY_AUDIT), k1, SM3_LEN);
    read_file(p, text, sizeof text);
    assert_non_null(strstr(text, "\naudit-key 2 "));

    /* reloaded (another server): the same keys under both versions */
    keys_set_master((const uint8_t *)"0123456789abcdef0123456789abcdef");
    assert_false(keys_audit_key(2, KEY_AUDIT, again));
    assert_int_equal(keys_load(p), E_OK);
    assert_true(keys_audit_key(2, KEY_AUDIT, again));
    assert_memory_equal(again, k2, SM3_LEN);
    assert_true(keys_audit_key(1, KEY_AUDIT, again));
    assert_memory_equal(again, k1, SM3_LEN);
    assert_int_equal(keys_audit_versions(vs, 8), 2);

    /* refused: the newest; version 1 while its master is held; unknown */
    err_clear();
    assert_int_equal(keys_audit_destroy_version(2), E_CONFLICT);
    assert_string_equal(err_last()->slug, "audit_key_current");
    assert_int_equal(keys_audit_destroy_version(1), E_CONFLICT);
    assert_string_equal(err_last()->slug, "audit_key_in_master");
    assert_int_equal(keys_audit_destroy_version(9), E_NOT_FOUND);

    /* a third, then the second destroyed: the third's keys still load */
    assert_int_equal(keys_audit_add_version(&v), E_OK);
    assert_int_equal(v, 3);
    uint8_t k3[SM3_LEN];
    assert_true(keys_audit_key(3, KEY_AUDIT, k3));
    assert_int_equal(keys_audit_destroy_version(2), E_OK);
    assert_false(keys_audit_key(2, KEY_AUDIT, again));
    assert_int_equal(keys_load(p), E_OK);
    assert_false(keys_audit_key(2, KEY_AUDIT, again));
    assert_true(keys_audit_key(3, KEY_AUDIT, again));
    assert_memory_equal(again, k3, SM3_LEN);
    read_file(p, text, sizeof text);
    assert_null(strstr(text, "audit-key 2 "));

    /* a version taken back (its rotation did not commit) may be the newest */
    assert_int_equal(keys_audit_add_version(&v), E_OK);
    assert_int_equal(v, 4);
    assert_int_equal(keys_audit_withdraw(4), E_OK);
    assert_int_equal(keys_audit_current(), 3);

    /* the master rotated and its first version destroyed: version 1 is
     * pinned, and then it can go */
    assert_int_equal(keys_add_version(&v), E_OK);
    assert_int_equal(keys_destroy_version(1), E_OK);
    assert_false(keys_audit_in_master());
    assert_true(keys_audit_key(1, KEY_AUDIT, again));
    assert_memory_equal(again, k1, SM3_LEN);
    assert_int_equal(keys_audit_destroy_version(1), E_OK);
    assert_false(keys_audit_key(1, KEY_AUDIT, again));
    read_file(p, text, sizeof text);
    assert_non_null(strstr(text, "\naudit-destroyed 1\n"));
    assert_null(strstr(text, "derived audit "));
    assert_int_equal(keys_load(p), E_OK);
    assert_false(keys_audit_key(1, KEY_AUDIT, again));
    assert_true(keys_audit_key(3, KEY_AUDIT, again));
    assert_int_equal(keys_audit_versions(vs, 8), 1);
    assert_int_equal(vs[0], 3);
}

/* A key file written before blind and token keys rotated (wave one of
 * issue 15 pinned them as "derived" lines once version 1 was destroyed):
 * its versions keep the pinned keys, which a new version's rotation then
 * replaces, and which are kept as "blind <v>"/"token <v>" lines meanwhile. */
static void key_versions_legacy_pinned(void **state)
{
    (void)state;
    char p[160];
    snprintf(p, sizeof p, "%s", tmp_path("legacy.key"));
    uint8_t pin_b[SM3_LEN], pin_t[SM3_LEN];
    memset(pin_b, 0x42, sizeof pin_b);
    memset(pin_t, 0x24, sizeof pin_t);
    char hb[2 * SM3_LEN + 1], ht[2 * SM3_LEN + 1], text[1200];
    hex_encode(pin_b, SM3_LEN, hb);
    hex_encode(pin_t, SM3_LEN, ht);
    snprintf(text, sizeof text,
             "fangkong-keys 2\ncurrent 2\nkey 2 %s\nderived blind %s\nderived token %s\n"
             "derived audit %s\nderived audit-anchor %s\n",
             master_hex, hb, ht, hb, ht);
    write_file(p, text, strlen(text), 0600);
    assert_int_equal(keys_load(p), E_OK);
    assert_memory_equal(keys_get(KEY_BLIND), pin_b, SM3_LEN);
    assert_memory_equal(keys_get(KEY_TOKEN), pin_t, SM3_LEN);
    int v = 0;
    assert_int_equal(keys_add_version(&v), E_OK);
    assert_int_equal(v, 3);
    assert_memory_not_equal(keys_get(KEY_BLIND), pin_b, SM3_LEN);
    assert_memory_equal(keys_get_previous(KEY_BLIND), pin_b, SM3_LEN);
    assert_memory_equal(keys_get_previous(KEY_TOKEN), pin_t, SM3_LEN);
    read_file(p, text, sizeof text);
    assert_non_null(strstr(text, "blind 2 "));
    assert_null(strstr(text, "derived blind"));
    assert_int_equal(keys_load(p), E_OK); /* the rewritten file reads back */
    assert_memory_equal(keys_get_previous(KEY_BLIND), pin_b, SM3_LEN);
    assert_int_equal(keys_destroy_version(2), E_OK);
    read_file(p, text, sizeof text);
    assert_null(strstr(text, "blind 2 "));
    assert_null(keys_get_previous(KEY_BLIND));
    assert_memory_equal(keys_get(KEY_AUDIT), pin_b, SM3_LEN); /* the audit keys stay */
}

/* Versioned files that are not well formed are refused, with the message
 * of the original format's errors. */
static void key_versions_refused(void **state)
{
    (void)state;
    const char *p = tmp_path("bad2.key");
    char k[80];
    snprintf(k, sizeof k, "key 1 %s\n", master_hex);
    const char *bad[] = {
        "fangkong-keys 3\ncurrent 1\n",
        "fangkong-keys 2\ncurrent 2\n%s",        /* current not held */
        "fangkong-keys 2\ncurrent 1\n%s%s",      /* version twice */
        "fangkong-keys 2\ncurrent 1\n%sextra\n", /* unknown line */
        "fangkong-keys 2\ncurrent 1\n%sderived audit 00\n",
        "fangkong-keys 2\ncurrent 1\n%ssince 3 5\n", /* a version not held */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[400];
        snprintf(text, sizeof text, bad[i], k, k);
        write_file(p, text, strlen(text), 0600);
        err_clear();
        assert_int_equal(keys_load(p), E_IO);
        assert_string_equal(err_last()->slug, "key_invalid");
    }
    /* positive control: the same lines well formed load */
    char text[400];
    snprintf(text, sizeof text, "fangkong-keys 2\ncurrent 1\n%s", k);
    write_file(p, text, strlen(text), 0600);
    assert_int_equal(keys_load(p), E_OK);
    write_file(p, text, strlen(text), 0640);
    assert_int_equal(keys_load(p), E_IO);
}

/* ---- helpers --------------------------------------------------------------- */

static void hex_helpers(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char s[13];
    hex_encode(bytes, sizeof bytes, s);
    assert_string_equal(s, "00017f80abff");
    uint8_t back[6];
    assert_true(hex_decode("00017f80abff", back, 6));
    assert_memory_equal(back, bytes, 6);
    assert_true(hex_decode("00017F80ABFF", back, 6));
    assert_memory_equal(back, bytes, 6);
    assert_false(hex_decode("00017f80abf", back, 6)); /* short: stops at the NUL */
    assert_false(hex_decode("0g", back, 1));
    assert_false(hex_decode("g0", back, 1));
    assert_false(hex_decode(" 0", back, 1));
    assert_true(hex_decode("", back, 0));
    hex_encode(bytes, 0, s);
    assert_string_equal(s, "");
}

static void ct_equal_and_random(void **state)
{
    (void)state;
    assert_true(ct_equal("abc", "abc", 3));
    assert_false(ct_equal("abc", "abd", 3));
    assert_true(ct_equal("a", "b", 0));
    uint8_t x[32] = {0}, y[32] = {0};
    assert_int_equal(random_bytes(x, sizeof x), E_OK);
    assert_int_equal(random_bytes(y, sizeof y), E_OK);
    assert_memory_not_equal(x, y, sizeof x);
}

/* Several threads seal and open at once: each has its own contexts. */
static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char v[32], out[32];
    uint8_t ct[32 + SEAL_OVERHEAD];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(v, sizeof v, "t%ld-%d", (long)id, i);
        if (seal_buf("f", v, (size_t)n, ct) != E_OK)
            return (void *)1;
        if (unseal_buf("f", ct, (size_t)n + SEAL_OVERHEAD, out, NULL) != E_OK ||
            strcmp(out, v) != 0)
            return (void *)1;
        uint8_t d[SM3_LEN];
        sm3("abc", 3, d);
        if (d[0] != 0x66 || d[31] != 0xe0)
            return (void *)1;
    }
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sm3_abc),
        cmocka_unit_test(sm3_abcd16),
        cmocka_unit_test(sm4_single),
        cmocka_unit_test(sm4_million),
        cmocka_unit_test(hmac_vectors),
        cmocka_unit_test(derived_keys),
        cmocka_unit_test(seal_round_trip),
        cmocka_unit_test(seal_buf_round_trip),
        cmocka_unit_test(seal_is_randomised),
        cmocka_unit_test(seal_after_fork),
        cmocka_unit_test(tamper_any_byte),
        cmocka_unit_test(wrong_field),
        cmocka_unit_test(wrong_key),
        cmocka_unit_test(short_input),
        cmocka_unit_test(blind_index_rules),
        cmocka_unit_test_setup_teardown(keys_load_good, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(keys_load_refuses, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(keys_create_rules, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(key_versions_rotate, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(key_versions_legacy_pinned, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(key_versions_refused, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(audit_key_versions, key_setup, key_teardown),
        cmocka_unit_test(hex_helpers),
        cmocka_unit_test(ct_equal_and_random),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

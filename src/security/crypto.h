/*
 * The national algorithms fangkong uses, over OpenSSL 3's EVP interfaces:
 * SM3 (hash), HMAC-SM3 (keyed hash: blind indexes, tokens, the audit chain
 * key derivation), SM4 (field encryption at rest).
 *
 * Keys. Numbered 32-byte master keys live in a file outside the database
 * (keys_load; docs/keys.md). Purpose keys are derived from a master with
 * HMAC-SM3(master, label), so the field-encryption key, the blind-index key
 * and the token key are independent: leaking a blind index reveals nothing
 * about the cipher.
 *
 * Versions. Field encryption, blind indexes and tokens use the current
 * version's keys; a rotation (keyrot/keyrot.h) adds a version, re-seals
 * every sealed column and re-computes every blind index under it, and
 * destroys the old one; until then a search computes the blind index under
 * both (blind_search) and a token signed under the old version verifies
 * (keys_get_previous). The audit and anchor keys do not rotate with the
 * master: they stay those of the first version, kept as derived keys in the
 * key file once that version's master is destroyed (docs/keys.md says why).
 * They have versions of their own instead (keys_audit_*): after a suspected
 * leak of the audit key, a new audit key version (a random seed in the key
 * file, "audit-key" lines) continues the chain in a new segment
 * (security/audit.h, audit_key_rotate); version 1 is the one derived from
 * the first master.
 *
 * Field encryption is SM4-CTR with a random 16-byte IV, then HMAC-SM3 over
 * version||IV||ciphertext (encrypt-then-MAC; OpenSSL 3.0 has no SM4-GCM):
 *     ct = v | iv[16] | sm4ctr(plain) | tag[16]
 * where v (1..255) is the key version that sealed it; 1 is the original
 * format, so every value sealed before versions existed still opens. A
 * ciphertext that was altered, moved between fields or relabelled with
 * another version fails to open. The field name is bound into the tag as
 * associated data.
 */
#ifndef FK_SECURITY_CRYPTO_H
#define FK_SECURITY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"

#define SM3_LEN         32
#define SM4_KEY_LEN     16
#define BLIND_LEN       16 /* bytes of a blind index kept (truncated HMAC-SM3) */
#define SEAL_OVERHEAD   (1 + 16 + 16)
#define KEY_VERSION_MAX 255 /* a sealed value names its version in one byte */
#define KEYS_LOADED_MAX 4   /* versions held at once (two during a rotation) */
#define KEY_FILE_MAX    2048
#define BLIND_MAX       2 /* digests of one blind index during a rotation */
#define AUDIT_KEYS_MAX  4 /* audit key versions after the first held at once */

/* KEY_AUDIT keys the audit hash chain; KEY_AUDIT_ANCHOR signs its checkpoints
 * and retention markers (security/audit.c). */
enum key_purpose {
    KEY_FIELD_ENC,
    KEY_FIELD_MAC,
    KEY_BLIND,
    KEY_TOKEN,
    KEY_AUDIT,
    KEY_AUDIT_ANCHOR,
    KEY__COUNT
};

/*
 * Load the master keys from `path`: 64 hex characters, optionally followed
 * by one newline (the original format: version 1 only), or the versioned
 * format of docs/keys.md. Fails with E_IO and a clear message when the file
 * is missing, unreadable, not a key file, or readable by group or others
 * (mode must be 0600 or 0400). Call before any thread uses the functions
 * below; a later call (keys_reload_if_changed) replaces the set in place.
 */
err keys_load(const char *path) MUST_USE;

/* Read the key file again when it changed since this process last read or
 * wrote it (another server rotated): the periodic rotation sweep calls it. */
err keys_reload_if_changed(void) MUST_USE;

/* A new random master key as version max+1, made current (seal uses it
 * from now on; every loaded version still opens), written to the key file
 * atomically (temporary file, fsync, rename, directory fsync) before it is
 * used. E_CONFLICT "key_versions_full" when KEYS_LOADED_MAX are held. */
err keys_add_version(int *version_r) MUST_USE;

/* Remove a version that is not current from the key file (rewritten
 * atomically) and from memory: nothing sealed under it opens afterwards.
 * E_NOT_FOUND "key_version_unknown", E_CONFLICT "key_version_current". */
err keys_destroy_version(int version) MUST_USE;

/* The version seal() uses; the versions loaded, ascending (their count). */
int keys_current_version(void);
int keys_versions(int *out, int cap);

/* The key version a sealed value names (0 when it is too short to be one). */
int seal_version(const void *ct, size_t n);

/* Create a new random master key file at `path` with mode 0600; refuses to
 * overwrite an existing file (E_CONFLICT). */
err keys_create(const char *path) MUST_USE;

/* Use this master key directly (unit tests, tools). */
void keys_set_master(const uint8_t master[32]);

/* The derived key for a purpose (32 bytes; SM4 uses the first 16). Using a
 * derived key (here, in seal/unseal or blind_index) before a master key is
 * set is a bug and aborts; seal/unseal return E_INTERNAL instead. */
const uint8_t *keys_get(enum key_purpose p);

/* A number that changes whenever what keys_get and keys_get_previous give
 * changes (a new master key, each step of a rotation): a cache of values
 * derived from those keys keeps the number it was made under and drops
 * them when it differs. Aborts before a master key is set, as keys_get. */
unsigned keys_generation(void);

void sm3(const void *data, size_t n, uint8_t out[SM3_LEN]);
void hmac_sm3(const uint8_t *key, size_t klen, const void *data, size_t n, uint8_t out[SM3_LEN]);

/* Raw SM4 block encryption of one 16-byte block (test vectors). */
void sm4_encrypt_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

/*
 * Encrypt `n` bytes of `plain` for column `field` (e.g. "person.name").
 * Writes n + SEAL_OVERHEAD bytes into `out` (allocated from `a`).
 */
err seal(arena *a, const char *field, const void *plain, size_t n, uint8_t **out_r,
         size_t *outlen_r) MUST_USE;

/* Decrypt and authenticate under the key version the value names; the
 * result is NUL-terminated text. E_CRYPTO when the input is shorter than
 * SEAL_OVERHEAD, names a version not loaded, or the tag does not match (the
 * tag is checked before anything is decrypted). */
err unseal(arena *a, const char *field, const void *ct, size_t n, char **plain_r,
           size_t *len_r) MUST_USE;

/* As seal/unseal for callers without an arena: out must hold n+SEAL_OVERHEAD
 * (seal) or n-SEAL_OVERHEAD+1 (unseal) bytes. */
err seal_buf(const char *field, const void *plain, size_t n, uint8_t *out) MUST_USE;

/* The one way a sealed column is written and read: bind `text` sealed
 * under `field` as parameter i of s (NULL or "" binds SQL NULL); read
 * column i of s unsealed under `field` into *text_r (NULL for SQL NULL),
 * allocated in a. */
err seal_bind(arena *a, db_stmt *s, int i, const char *field, const char *text) MUST_USE;
err unseal_col(arena *a, db_stmt *s, int i, const char *field, const char **text_r) MUST_USE;
err unseal_buf(const char *field, const void *ct, size_t n, char *out, size_t *len_r) MUST_USE;

/*
 * Keyed blind index for exact search: HMAC-SM3(KEY_BLIND, field || 0 ||
 * normalised value) truncated to BLIND_LEN bytes. Equal inputs in the same
 * field give equal indexes; nothing about the value is learnt without the key.
 */
void blind_index(const char *field, const char *value, uint8_t out[BLIND_LEN]);

/*
 * The digests a search by blind index must look for: out[0] under the
 * current version (what writes store) and, only while a rotation holds the
 * previous version (from its start to the old key's destruction), out[1]
 * under that one, as rows not yet re-indexed still hold it. Returns how
 * many (1 or 2). Outside a rotation it costs one digest, as blind_index.
 * Use it for every search and every uniqueness check by blind index
 * (docs/keys.md, "Blind indexes"), with "col = ?" for 1 and
 * "col IN (?, ?)" for 2 (db/query.h query_blobs), or one look-up each.
 */
int blind_search(const char *field, const char *value, uint8_t out[BLIND_MAX][BLIND_LEN]);
/* True while a rotation holds a previous version (blind_search gives 2). */
bool blind_rotating(void);
/* The blind index under key version `version` (the rotation's walk); false
 * when that version is not loaded. */
bool blind_index_version(int version, const char *field, const char *value, uint8_t out[BLIND_LEN]);

/* The previous version's key for KEY_TOKEN or KEY_BLIND while a rotation
 * holds it, else NULL: a token signed before the rotation verifies until
 * the old version is destroyed (security/token.c). */
const uint8_t *keys_get_previous(enum key_purpose p);
/* When the current version became current (epoch ms; 0 for the original
 * version): a token issued before it and not verifying under any key held
 * was signed under a destroyed version (token.c words its refusal so). */
int64_t keys_current_since(void);

/* ---- audit key versions (docs/keys.md, "The audit key") -------------------
 *
 * Version 1 is KEY_AUDIT and KEY_AUDIT_ANCHOR as keys_get gives them (from
 * the first master, or its "derived" lines); later versions are random seeds
 * ("audit-key <v> <64 hex>" lines) from which both keys derive with the same
 * labels. The audit module decides which version a chain entry uses (its
 * segments, in the database); this only holds the keys. */

/* The highest audit key version held (what a new segment uses). */
int keys_audit_current(void);
/* The audit key versions held, ascending (their count). */
int keys_audit_versions(int *out, int cap);
/* Copy audit version `version`'s key for p (KEY_AUDIT or KEY_AUDIT_ANCHOR)
 * into out; false when that version is not held (destroyed, or added by
 * another server to a key file this process has not re-read). */
bool keys_audit_key(int version, enum key_purpose p, uint8_t out[SM3_LEN]);
/* True while audit version 1 is still derived from a master key this file
 * holds: destroying it then would destroy nothing (the master makes it). */
bool keys_audit_in_master(void);
/* A new random audit key version (highest + 1), written to the key file
 * atomically before it is used. E_CONFLICT "audit_key_versions_full". */
err keys_audit_add_version(int *version_r) MUST_USE;
/* Remove an audit key version from the key file and from memory.
 * E_CONFLICT "audit_key_current" (the highest), "audit_key_in_master"
 * (version 1 while its master is held); E_NOT_FOUND "audit_key_unknown". */
err keys_audit_destroy_version(int version) MUST_USE;
/* Take back the version keys_audit_add_version just added when what was to
 * use it did not commit (it may be the highest). */
err keys_audit_withdraw(int version) MUST_USE;

/* Fill `buf` with `n` cryptographically random bytes. */
err random_bytes(void *buf, size_t n) MUST_USE;

/* Lower-case hex of `n` bytes into `out` (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode 2n hex characters; false on bad input. */
bool hex_decode(const char *in, uint8_t *out, size_t n);

/* Compare in time independent of where the inputs differ. */
bool ct_equal(const void *a, const void *b, size_t n);

/* ---- SM2 signatures (security/sm2.c) ----------------------------------------
 *
 * SM2 with SM3 and the default signer identity "1234567812345678" (GB/T
 * 35276), as OpenSSL 3's command line (`openssl pkeyutl -sign -rawin
 * -digest sm3`) and Node's crypto.sign("sm3", …) make them, so a caller may
 * use either. Keys travel as PEM (PKCS#8 private, SubjectPublicKeyInfo
 * public); signatures are DER (at most SM2_SIG_MAX bytes), sent as base64.
 * A parsed key is immutable and may be shared by threads.
 */
#define SM2_SIG_MAX 80

typedef struct sm2_key sm2_key;

/* A new key pair as two NUL-terminated PEM texts in a. */
err sm2_keygen(arena *a, char **priv_pem_r, char **pub_pem_r) MUST_USE;
/* Parse a PEM key (private when want_private); E_INPUT "invalid_key" for
 * anything that is not an SM2 key of that kind. Free with sm2_key_free. */
err sm2_key_parse(const char *pem, size_t n, bool want_private, sm2_key **k_r) MUST_USE;
void sm2_key_free(sm2_key *k);
/* The public half of k as PEM in a. */
err sm2_key_public_pem(arena *a, const sm2_key *k, char **pem_r) MUST_USE;
/* Sign msg with private key k: sig gets up to SM2_SIG_MAX bytes. */
err sm2_sign(const sm2_key *k, const void *msg, size_t n, uint8_t sig[SM2_SIG_MAX],
             size_t *siglen_r) MUST_USE;
/* True when sig is k's signature of msg (k private or public). */
bool sm2_verify(const sm2_key *k, const void *msg, size_t n, const uint8_t *sig, size_t siglen);

/* Standard base64 with padding. base64_encode writes 4*ceil(n/3)+1 bytes
 * (NUL-terminated); base64_decode takes up to `cap` bytes of output and
 * answers false on bad input (spaces and newlines are not skipped) and on
 * input over 4096 characters: it is for short values (signatures, digests). */
void base64_encode(const void *in, size_t n, char *out);
bool base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *n_r);

#endif

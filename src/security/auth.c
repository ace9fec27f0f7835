/*
 * Passwords (argon2id), sessions (SM3-hashed random tokens), TOTP (liboath),
 * SMS sign-in for residents, and the per-request principal.
 */
#include "security/auth.h"
#include "security/ratelimit.h"

#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "security/crypto.h"

#define ARGON_T    2     /* the defaults: OWASP's argon2id minimum (m=19 MiB, t=2, p=1) */
#define ARGON_M    19456 /* KiB */
#define ARGON_P    1
#define SALT_LEN   16
#define HASH_LEN   32
#define TOKEN_LEN  32
#define TOTP_LEN   20 /* secret bytes (160 bits, RFC 4226's recommendation) */
#define TOTP_STEP  30
#define TOTP_DIGIT 6
#define SMS_DIGITS 6
#define MINUTE_MS  60000
#define HOUR_MS    3600000
/* the longest wait the sign-in slow-down imposes */
#define BACKOFF_CAP_MS 60000
/* last_seen is refreshed at most this often: a write per request is wasted. */
#define TOUCH_MS 30000

/* The defaults of auth.h; the SMS file is relative to the working directory. */
#define AUTH_DEFAULTS                                                                              \
    {                                                                                              \
        .session_idle_s = 1800, .session_max_s = 43200, .max_failures = 5, .lock_s = 1800,         \
        .backoff_ms = 1000, .ip_attempts = 30, .ip_failures = 100, .sms_ttl_s = 300,               \
        .sms_max_tries = 5, .sms_per_ip = 20, .sms_resend_s = 60, .sms_phone_day = 10,             \
        .sms_ip_day = 50, .sms_driver = "file", .sms_file = "sms-codes.log", .sms_url = "",        \
    }

static struct auth_config cfg = AUTH_DEFAULTS;

void auth_configure(const struct auth_config *c)
{
    struct auth_config d = AUTH_DEFAULTS;
    if (c) {
        if (c->session_idle_s)
            d.session_idle_s = c->session_idle_s;
        if (c->session_max_s)
            d.session_max_s = c->session_max_s;
        if (c->backoff_ms)
            d.backoff_ms = c->backoff_ms < 0 ? 0 : c->backoff_ms;
        if (c->ip_failures)
            d.ip_failures = c->ip_failures;
        if (c->sms_resend_s)
            d.sms_resend_s = c->sms_resend_s;
        if (c->sms_phone_day)
            d.sms_phone_day = c->sms_phone_day;
        if (c->sms_ip_day)
            d.sms_ip_day = c->sms_ip_day;
        d.cookie_insecure = c->cookie_insecure;
        if (c->max_failures)
            d.max_failures = c->max_failures;
        if (c->lock_s)
            d.lock_s = c->lock_s;
        if (c->ip_attempts)
            d.ip_attempts = c->ip_attempts;
        if (c->sms_ttl_s)
            d.sms_ttl_s = c->sms_ttl_s;
        if (c->sms_max_tries)
            d.sms_max_tries = c->sms_max_tries;
        if (c->sms_per_ip)
            d.sms_per_ip = c->sms_per_ip;
        if (c->sms_driver && *c->sms_driver)
            d.sms_driver = c->sms_driver;
        if (c->sms_file && *c->sms_file)
            d.sms_file = c->sms_file;
        if (c->sms_url)
            d.sms_url = c->sms_url;
    }
    cfg = d;
}

const struct auth_config *auth_get_config(void)
{
    return &cfg;
}

/* ---- small helpers ---------------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Step a statement that returns no rows (or whose rows we ignore) and give
 * it back to the cache. */
static void log_id(enum log_level lv, const char *event, int64_t user_id)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)user_id);
    log_event(lv, event, "user_id", id, NULL);
}

static int64_t idle_ms(void)
{
    return (int64_t)cfg.session_idle_s * 1000;
}

static int64_t max_ms(void)
{
    return (int64_t)cfg.session_max_s * 1000;
}

/*
 * One fixed-window counter per key, shared by every server through the
 * database. A single upsert both resets an old window and counts the hit,
 * so two servers racing on the same key never lose a count. Every hit
 * counts, including the ones that are refused.
 */
static err rate_hit(db *d, const char *key, int64_t window_ms, int limit, bool *over_r)
{
    int64_t count;
    err e = rate_limit_hit(d, key, window_ms, &count);
    if (!e)
        *over_r = count > limit;
    return e;
}

/* ---- scope --------------------------------------------------------------- */

struct scope scope_all(void)
{
    return (struct scope){0, REGCODE_SPACE};
}

struct scope scope_of(int64_t region_code)
{
    return (struct scope){region_code, regcode_end(region_code)};
}

bool scope_has(const struct scope *s, int64_t region_code)
{
    return region_code >= s->lo && region_code < s->hi;
}

/* ---- passwords ----------------------------------------------------------- */

/* The cost new hashes get (password_cost_set); verification always uses
 * the parameters stored in the hash itself. */
static uint32_t argon_t = ARGON_T, argon_m = ARGON_M;

/* Verified against when the user name is unknown, so that answer takes as
 * long as a wrong password: made at the first sign-in with the current
 * cost, so it stays equal to a real hash's after password_cost_set. */
static char dummy_hash[160];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    if (password_hash("fangkong-dummy-password", dummy_hash, sizeof dummy_hash))
        dummy_hash[0] = 0; /* password_verify then refuses at once: logged by password_hash */
}

bool password_cost_set(unsigned memory_kib, unsigned passes)
{
    if (memory_kib < 8 * ARGON_P || passes < 1)
        return false;
    argon_m = memory_kib;
    argon_t = passes;
    return true;
}

bool password_cost_weak(void)
{
    return argon_m < ARGON_M || argon_t < ARGON_T;
}

err password_hash(const char *password, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN];
    if (!password)
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    if (outlen < argon2_encodedlen(argon_t, argon_m, ARGON_P, SALT_LEN, HASH_LEN, Argon2_id))
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    err e = random_bytes(salt, sizeof salt);
    if (e)
        return e;
    int rc = argon2id_hash_encoded(argon_t, argon_m, ARGON_P, password, strlen(password), salt,
                                   sizeof salt, HASH_LEN, out, outlen);
    if (rc != ARGON2_OK) {
        log_event(LOG_ERROR, "argon2_failed", "detail", argon2_error_message(rc), NULL);
        return err_set(E_CRYPTO, NULL, NULL, NULL);
    }
    return E_OK;
}

bool password_verify(const char *encoded, const char *password)
{
    if (!encoded || !*encoded || !password)
        return false;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

bool password_needs_rehash(const char *encoded)
{
    char want[64];
    snprintf(want, sizeof want, "$argon2id$v=%d$m=%u,t=%u,p=%d$", ARGON2_VERSION_NUMBER, argon_m,
             argon_t, ARGON_P);
    return !encoded || strncmp(encoded, want, strlen(want)) != 0;
}

err password_policy(const char *password, const char *field)
{
    size_t chars = 0;
    bool lower = false, upper = false, digit = false, other = false;
    for (const unsigned char *p = (const unsigned char *)(password ? password : ""); *p; p++) {
        if ((*p & 0xC0) != 0x80) /* count lead bytes: UTF-8 characters */
            chars++;
        if (*p >= 'a' && *p <= 'z')
            lower = true;
        else if (*p >= 'A' && *p <= 'Z')
            upper = true;
        else if (*p >= '0' && *p <= '9')
            digit = true;
        else
            other = true;
    }
    if (chars < 8 || lower + upper + digit + other < 3)
        return err_set(E_INPUT, "weak_password", field,
                       "密码至少8位，且须包含大写字母、小写字母、数字、符号中的至少三类");
    /* the classes rule lets "Password123!" through: the first guesses of
     * anyone trying passwords are on the list */
    if (password_is_common(password))
        return err_set(E_INPUT, "password_too_common", field,
                       "该密码过于常见，容易被猜中，请换一个");
    return E_OK;
}

/* ---- principal ------------------------------------------------------------ */

static err disabled_err(void)
{
    return err_set(E_AUTH, "account_disabled", NULL, "账号已停用，请联系管理员");
}

err auth_principal_load(db *d, int64_t user_id, struct principal *p_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT u.person_id, u.region_code, u.kind, u.username, u.display_name, "
                       "u.must_change_password, u.totp_enabled, u.disabled, "
                       "r.key, r.require_totp, rp.permission "
                       "FROM users u "
                       "LEFT JOIN user_roles ur ON ur.user_id = u.id "
                       "LEFT JOIN roles r ON r.id = ur.role_id "
                       "LEFT JOIN role_permissions rp ON rp.role_id = r.id "
                       "WHERE u.id = ? ORDER BY r.key, rp.permission",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    struct principal p = {.user_id = user_id};
    bool found = false, disabled = false;
    char last_role[64] = "";
    size_t rlen = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (!found) {
            found = true;
            p.person_id = db_col_null(s, 0) ? 0 : db_col_int64(s, 0);
            p.region_code = db_col_int64(s, 1);
            p.scope = scope_of(p.region_code);
            p.resident = !strcmp(db_col_text(s, 2), "resident");
            copy_str(p.display_name, sizeof p.display_name, db_col_text(s, 4));
            /* residents have no login name: show their masked phone */
            copy_str(p.username, sizeof p.username,
                     p.resident ? p.display_name : db_col_text(s, 3));
            p.must_change_password = db_col_int64(s, 5) != 0;
            p.totp_enabled = db_col_int64(s, 6) != 0;
            disabled = db_col_int64(s, 7) != 0;
        }
        if (db_col_null(s, 8))
            continue; /* a user without roles: one row of NULLs */
        const char *key = db_col_text(s, 8);
        if (strcmp(key, last_role) != 0) {
            copy_str(last_role, sizeof last_role, key);
            size_t k = strlen(key);
            /* rows are ordered by role key, so each role starts once */
            if (rlen + (rlen ? 1 : 0) + k < sizeof p.roles) {
                if (rlen)
                    p.roles[rlen++] = ',';
                memcpy(p.roles + rlen, key, k + 1);
                rlen += k;
            }
            if (db_col_int64(s, 9))
                p.totp_required = true;
        }
        if (!db_col_null(s, 10)) {
            enum perm perm = perm_parse(db_col_text(s, 10));
            if (perm != PERM_NONE)
                perm_set_add(&p.perms, perm);
        }
    }
    db_done(s);
    if (e)
        return e;
    if (!found)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    if (disabled)
        return disabled_err();
    *p_r = p;
    return E_OK;
}

/* ---- sessions -------------------------------------------------------------- */

static err session_expired(void)
{
    return err_set(E_AUTH, "session_expired", NULL, "登录已过期，请重新登录");
}

/* The stored form of a hex token; false when it is not a token at all. */
static bool token_hash(const char *token, uint8_t h[SM3_LEN])
{
    uint8_t raw[TOKEN_LEN];
    if (!token || strlen(token) != TOKEN_HEX_LEN || !hex_decode(token, raw, sizeof raw))
        return false;
    sm3(raw, sizeof raw, h);
    explicit_bzero(raw, sizeof raw);
    return true;
}

static err session_create(db *d, int64_t user_id, const char *ip, char token_r[TOKEN_HEX_LEN + 1])
{
    uint8_t raw[TOKEN_LEN], h[SM3_LEN];
    err e = random_bytes(raw, sizeof raw);
    if (e)
        return e;
    sm3(raw, sizeof raw, h);
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, ip) "
                        "VALUES (?, ?, ?, ?, ?)",
                        &s))) {
        explicit_bzero(raw, sizeof raw);
        return e;
    }
    int64_t now = now_ms();
    db_bind_blob(s, 1, h, sizeof h);
    db_bind_int64(s, 2, user_id);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_text(s, 5, ip ? ip : "");
    if ((e = db_run(s, NULL)) == E_OK)
        hex_encode(raw, sizeof raw, token_r);
    explicit_bzero(raw, sizeof raw);
    return e;
}

static err session_delete(db *d, const uint8_t h[SM3_LEN])
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM sessions WHERE token_hash = ?", &s);
    if (e)
        return e;
    db_bind_blob(s, 1, h, SM3_LEN);
    if (!(e = db_run(s, NULL)))
        auth_changed_at_commit(d);
    return e;
}

/* ---- the principal cache -------------------------------------------------- */

#define PCACHE_SIZE 256 /* per thread; direct-mapped by user id */

struct pcache_entry {
    int64_t user_id;
    uint64_t gen;
    int64_t at;
    struct principal p;
};

static _Atomic uint64_t auth_gen = 1;
static _Thread_local struct pcache_entry pcache[PCACHE_SIZE];

static void (*_Atomic on_change)(void);

err auth_on_change(void (*fn)(void))
{
    void (*expected)(void) = NULL;
    /* compare-and-set: the loops register from their own threads */
    if (!fn || atomic_compare_exchange_strong(&on_change, &expected, fn) || expected == fn) {
        if (!fn)
            on_change = NULL;
        return E_OK;
    }
    return err_set(E_INTERNAL, NULL, NULL, "auth_on_change 已有订阅者：每个钩子只能注册一个");
}

void auth_changed(void)
{
    atomic_fetch_add(&auth_gen, 1);
    void (*fn)(void) = on_change;
    if (fn)
        fn();
}

static void bump(void *ctx, bool committed)
{
    (void)ctx;
    (void)committed; /* a rolled-back delete costs a reload, nothing more */
    auth_changed();
}

/* Other servers on one PostgreSQL database drop theirs when they hear of
 * it: NOTIFY is sent at this commit (a rolled-back change tells nobody, as
 * the hook above). The listener hears this process's own too: one more drop
 * of caches it has just dropped, at the rate of account changes. */
#define AUTH_CHANNEL "fk_auth"

void auth_changed_at_commit(db *d)
{
    if (db_after_commit(d, bump, NULL))
        auth_changed(); /* out of memory for the hook: drop them now */
    if (db_notify(d, AUTH_CHANNEL, "changed")) {
        /* the others then see it within AUTH_PRINCIPAL_TTL_MS, as before */
        log_event(LOG_WARN, "auth_not_notified", "slug", err_last()->slug, NULL);
        err_clear();
    }
}

static void auth_heard(const char *payload, void *ctx)
{
    (void)payload;
    (void)ctx;
    auth_changed();
}

err auth_live_start(const char *db_url)
{
    err e = db_listen_start(db_url, AUTH_CHANNEL, auth_heard, NULL);
    /* after a gap in listening every cached session and principal is suspect */
    return e ? e : db_listen_on_gap(db_url, auth_changed);
}

/* Sessions as auth_session_find last read them, per thread, direct-mapped
 * by token hash: a request costs no query while its session is cached. */
#define SCACHE_SIZE 256

struct scache_entry {
    uint8_t hash[SM3_LEN];
    int64_t user_id, last_seen, created_at;
    uint64_t gen;
    int64_t at;
};

static _Thread_local struct scache_entry scache[SCACHE_SIZE];

static err principal_cached(db *d, int64_t user_id, struct principal *p_r)
{
    struct pcache_entry *c = &pcache[((uint64_t)user_id * 0x9E3779B97F4A7C15u) >> 56];
    /* the generation is read before loading: a change committed while we
     * load leaves this entry one generation behind, so it is not trusted */
    uint64_t gen = atomic_load(&auth_gen);
    int64_t now = now_ms();
    if (c->user_id == user_id && c->gen == gen && now - c->at < AUTH_PRINCIPAL_TTL_MS) {
        *p_r = c->p;
        return E_OK;
    }
    err e = auth_principal_load(d, user_id, p_r);
    if (!e)
        *c = (struct pcache_entry){.user_id = user_id, .gen = gen, .at = now, .p = *p_r};
    return e;
}

/* A session's row: who, when last used, when opened. */
static err session_row(db *d, const uint8_t h[SM3_LEN], bool *found_r, int64_t *user_id_r,
                       int64_t *last_seen_r, int64_t *created_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT user_id, last_seen, created_at FROM sessions WHERE token_hash = ?", &s);
    if (e)
        return e;
    db_bind_blob(s, 1, h, SM3_LEN);
    bool row;
    e = db_row(s, &row);
    *found_r = row;
    if (row) {
        *user_id_r = db_col_int64(s, 0);
        *last_seen_r = db_col_int64(s, 1);
        *created_r = db_col_int64(s, 2);
    }
    db_done(s);
    return e;
}

/* Idle too long, or older than the absolute lifetime (a stolen cookie kept
 * busy must still die). */
static bool session_dead(int64_t now, int64_t last_seen, int64_t created_at)
{
    return now - last_seen > idle_ms() || now - created_at > max_ms();
}

err auth_session_find(db *d, const char *token, struct principal *p_r)
{
    uint8_t h[SM3_LEN];
    if (!token_hash(token, h))
        return session_expired();
    int64_t now = now_ms();
    /* With a short idle limit (tests) refresh sooner, or a busy session
     * would expire between two refreshes. */
    int64_t touch = idle_ms() / 2 < TOUCH_MS ? idle_ms() / 2 : TOUCH_MS;
    struct scache_entry *c = &scache[h[0]];
    uint64_t gen = atomic_load(&auth_gen);
    if (c->gen == gen && now - c->at < AUTH_PRINCIPAL_TTL_MS && now - c->last_seen <= touch &&
        now - c->created_at <= max_ms() && !memcmp(c->hash, h, SM3_LEN)) {
        err e = principal_cached(d, c->user_id, p_r);
        return e == E_NOT_FOUND ? session_expired() : e;
    }
    bool found;
    int64_t user_id = 0, last_seen = 0, created_at = 0;
    err e = session_row(d, h, &found, &user_id, &last_seen, &created_at);
    if (e)
        return e;
    if (!found)
        return session_expired();
    if (session_dead(now, last_seen, created_at)) {
        if ((e = session_delete(d, h)))
            return e;
        return session_expired();
    }
    if (now - last_seen > touch) {
        db_stmt *s;
        if ((e = db_prepare(d, "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", &s)))
            return e;
        db_bind_int64(s, 1, now);
        db_bind_blob(s, 2, h, sizeof h);
        e = db_run(s, NULL);
        if (e && strcmp(err_last()->slug, "disk_full"))
            return e;
        /* on a full disk the session stays valid unrefreshed: reads go on
         * (docs/operations.md, "Disk full"), the next request tries again */
        if (!e)
            last_seen = now;
    }
    /* the generation read before the query: a delete committed meanwhile
     * leaves this entry behind, so it is not trusted */
    *c = (struct scache_entry){.user_id = user_id,
                               .last_seen = last_seen,
                               .created_at = created_at,
                               .gen = gen,
                               .at = now};
    memcpy(c->hash, h, SM3_LEN);
    e = principal_cached(d, user_id, p_r);
    if (e == E_NOT_FOUND)
        return session_expired();
    return e;
}

err auth_session_check(db *d, const char *token, struct principal *p_r)
{
    uint8_t h[SM3_LEN];
    if (!token_hash(token, h))
        return session_expired();
    bool found;
    int64_t user_id = 0, last_seen = 0, created_at = 0;
    err e = session_row(d, h, &found, &user_id, &last_seen, &created_at);
    if (e)
        return e;
    if (!found || session_dead(now_ms(), last_seen, created_at))
        return session_expired();
    e = auth_principal_load(d, user_id, p_r);
    return e == E_NOT_FOUND ? session_expired() : e;
}

err auth_logout(db *d, const char *token)
{
    uint8_t h[SM3_LEN];
    if (!token_hash(token, h))
        return E_OK; /* nothing to end */
    return session_delete(d, h);
}

err auth_logout_all(db *d, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM sessions WHERE user_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    if (!(e = db_run(s, NULL)))
        auth_changed_at_commit(d);
    return e;
}

/* ---- TOTP --------------------------------------------------------------- */

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc;

static void oath_setup(void)
{
    oath_init_rc = oath_init();
}

static err oath_ready(void)
{
    pthread_once(&oath_once, oath_setup);
    if (oath_init_rc != OATH_OK) {
        log_event(LOG_ERROR, "oath_init_failed", "detail", oath_strerror(oath_init_rc), NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    return E_OK;
}

static bool code_shape(const char *code, size_t digits)
{
    if (!code || strlen(code) != digits)
        return false;
    for (size_t i = 0; i < digits; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return true;
}

/*
 * Check a code against a sealed secret, one step either side of now, and
 * refuse a step already used (a code seen over a shoulder or replayed).
 * *ok_r says whether it matched; *step_r gets the matched step.
 */
static err totp_check(const void *sealed, size_t n, const char *code, int64_t last_step, bool *ok_r,
                      int64_t *step_r)
{
    *ok_r = false;
    err e = oath_ready();
    if (e)
        return e;
    char secret[64];
    size_t len;
    if (n < SEAL_OVERHEAD || n - SEAL_OVERHEAD >= sizeof secret)
        return err_set(E_CRYPTO, "decrypt_failed", NULL, "数据解密失败");
    if ((e = unseal_buf("users.totp_secret", sealed, n, secret, &len)))
        return e;
    if (!code_shape(code, TOTP_DIGIT)) {
        explicit_bzero(secret, sizeof secret);
        return E_OK;
    }
    int pos;
    uint64_t counter = 0;
    int rc = oath_totp_validate3(secret, len, (time_t)(now_ms() / 1000), TOTP_STEP, 0, 1, &pos,
                                 &counter, code);
    explicit_bzero(secret, sizeof secret);
    if (rc < 0 && rc != OATH_INVALID_OTP) {
        log_event(LOG_ERROR, "oath_failed", "detail", oath_strerror(rc), NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    if (rc >= 0 && (int64_t)counter > last_step) {
        *ok_r = true;
        *step_r = (int64_t)counter;
    }
    return E_OK;
}

err totp_now(const char *secret_b32, char code_r[7])
{
    err e = oath_ready();
    if (e)
        return e;
    char *secret = NULL;
    size_t len = 0;
    if (!secret_b32 || oath_base32_decode(secret_b32, strlen(secret_b32), &secret, &len) != OATH_OK)
        return err_set(E_INPUT, "invalid_secret", NULL, "密钥格式不正确");
    char out[TOTP_DIGIT + 1];
    int rc =
        oath_totp_generate(secret, len, (time_t)(now_ms() / 1000), TOTP_STEP, 0, TOTP_DIGIT, out);
    explicit_bzero(secret, len);
    free(secret);
    if (rc != OATH_OK)
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    memcpy(code_r, out, sizeof out);
    return E_OK;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static bool pct_encode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= cap)
            return false;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return true;
}

err auth_totp_begin(db *d, int64_t user_id, const char *account, char secret_b32_r[64],
                    char uri_r[256])
{
    err e = oath_ready();
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT totp_enabled FROM users WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    e = db_row(s, &row);
    bool enabled = row && db_col_int64(s, 0) != 0;
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    /* Replacing a working secret would drop the second factor on the word
     * of a session alone; an administrator resets it first. */
    if (enabled)
        return err_set(E_CONFLICT, "totp_already_enabled", NULL,
                       "已启用动态验证码，如需更换请联系管理员重置");

    char label[160];
    if (!pct_encode(account ? account : "", label, sizeof label))
        return err_set(E_INPUT, "too_long", "account", "账号名称过长");
    uint8_t secret[TOTP_LEN], sealed[TOTP_LEN + SEAL_OVERHEAD];
    if ((e = random_bytes(secret, sizeof secret)))
        return e;
    char *b32 = NULL;
    size_t b32len = 0;
    if (oath_base32_encode((const char *)secret, sizeof secret, &b32, &b32len) != OATH_OK ||
        b32len >= 64) {
        free(b32);
        explicit_bzero(secret, sizeof secret);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }
    e = seal_buf("users.totp_secret", secret, sizeof secret, sealed);
    explicit_bzero(secret, sizeof secret);
    if (!e && (e = db_prepare(d,
                              "UPDATE users SET totp_secret_enc = ?, totp_enabled = 0, "
                              "totp_last_step = 0 WHERE id = ?",
                              &s)) == E_OK) {
        db_bind_blob(s, 1, sealed, sizeof sealed);
        db_bind_int64(s, 2, user_id);
        e = db_run(s, NULL);
    }
    if (!e) {
        memcpy(secret_b32_r, b32, b32len + 1);
        int n = snprintf(uri_r, 256,
                         "otpauth://totp/fangkong:%s?secret=%s&issuer=fangkong&digits=6&period=30",
                         label, b32);
        if (n < 0 || n >= 256)
            e = err_set(E_INPUT, "too_long", "account", "账号名称过长");
    }
    explicit_bzero(b32, b32len);
    free(b32);
    if (!e) {
        auth_changed_at_commit(d);
        log_id(LOG_INFO, "totp_begin", user_id);
    }
    return e;
}

err auth_totp_confirm(db *d, int64_t user_id, const char *code)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT totp_secret_enc, totp_enabled, totp_last_step FROM users WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    e = db_row(s, &row);
    uint8_t sealed[128];
    size_t n = 0;
    bool enabled = false, has_secret = false;
    int64_t last_step = 0;
    if (row) {
        has_secret = !db_col_null(s, 0);
        const void *b = has_secret ? db_col_blob(s, 0, &n) : NULL;
        if (n > sizeof sealed)
            n = 0, has_secret = false;
        if (b && n)
            memcpy(sealed, b, n);
        enabled = db_col_int64(s, 1) != 0;
        last_step = db_col_int64(s, 2);
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    if (enabled)
        return err_set(E_CONFLICT, "totp_already_enabled", NULL, "已启用动态验证码");
    if (!has_secret)
        return err_set(E_CONFLICT, "totp_not_started", NULL, "请先获取动态验证码密钥");
    bool ok;
    int64_t step = 0;
    if ((e = totp_check(sealed, n, code, last_step, &ok, &step)))
        return e;
    /* An input error, not 401: the user is signed in and simply mistyped. */
    if (!ok)
        return err_set(E_INPUT, "bad_totp", "code", "动态验证码错误");
    if ((e = db_prepare(d, "UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, step);
    db_bind_int64(s, 2, user_id);
    if ((e = db_run(s, NULL)) == E_OK) {
        auth_changed_at_commit(d);
        log_id(LOG_INFO, "totp_enabled", user_id);
    }
    return e;
}

err auth_totp_reset(db *d, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE users SET totp_secret_enc = NULL, totp_enabled = 0, "
                       "totp_last_step = 0 WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    auth_changed_at_commit(d);
    log_id(LOG_INFO, "totp_reset", user_id);
    return E_OK;
}

/* ---- staff sign-in -------------------------------------------------------- */

/* Beijing time of an epoch-ms instant, rounded up to the minute so that
 * "after HH:MM" is never too early. */
static void cn_hhmm(int64_t at, int *h_r, int *m_r)
{
    time_t t = (time_t)(((at + MINUTE_MS - 1) / MINUTE_MS * MINUTE_MS + CHINA_OFFSET_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    *h_r = tm.tm_hour;
    *m_r = tm.tm_min;
}

/* An account an administrator locked (said only to whoever knows its
 * password, so it reveals nothing to a stranger). */
static err admin_locked_err(int64_t locked_until)
{
    if (locked_until >= AUTH_LOCKED_FOREVER)
        return err_set_ref(E_LOCKED, "account_locked", locked_until,
                           "账号已被管理员锁定，请联系系统管理员解锁");
    int h, m;
    cn_hhmm(locked_until, &h, &m);
    return err_set_ref(E_LOCKED, "account_locked", locked_until,
                       "账号已锁定，请于 %02d:%02d 后再试", h, m);
}

/* Too many failures of this name from this address: the same words for a
 * real account and for an unknown name. */
static err pair_locked_err(int64_t locked_until)
{
    int h, m;
    cn_hhmm(locked_until, &h, &m);
    return err_set_ref(E_LOCKED, "account_locked", locked_until,
                       "登录失败次数过多，该账号在本机已暂停登录，请于 %02d:%02d "
                       "后再试，或联系管理员解锁",
                       h, m);
}

static err bad_credentials(void)
{
    return err_set(E_AUTH, "bad_credentials", NULL, "用户名或密码错误");
}

/*
 * The pair a failed sign-in is counted against: the name as typed (as a
 * keyed hash, since people type passwords into that field) and the source
 * address.
 */
struct login_pair {
    char account[2 * SM3_LEN + 1];
    const char *ip;
};

static void login_pair_init(struct login_pair *lp, const char *username, const char *ip)
{
    char buf[200];
    int n = snprintf(buf, sizeof buf, "login-name:%s", username ? username : "");
    if (n < 0 || n >= (int)sizeof buf)
        n = (int)sizeof buf - 1;
    uint8_t h[SM3_LEN];
    hmac_sm3(keys_get(KEY_TOKEN), 32, buf, (size_t)n, h);
    explicit_bzero(buf, sizeof buf);
    hex_encode(h, sizeof h, lp->account);
    lp->ip = ip ? ip : "";
}

/* The wait after `failures` failures in a row: none after the first, then
 * backoff_ms doubling, at most BACKOFF_CAP_MS. */
static int64_t backoff_for(int64_t failures)
{
    if (cfg.backoff_ms <= 0 || failures < 2)
        return 0;
    int64_t w = cfg.backoff_ms;
    for (int64_t i = 2; i < failures && w < BACKOFF_CAP_MS; i++)
        w *= 2;
    return w < BACKOFF_CAP_MS ? w : BACKOFF_CAP_MS;
}

/* Reads a fixed-window counter without counting (0 when its window is
 * over). */
static err rate_peek(db *d, const char *key, int64_t window_ms, int64_t *count_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT count FROM rate_limits WHERE key = ? AND window_start > ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, key);
    db_bind_int64(s, 2, now_ms() - window_ms);
    bool found;
    e = db_row(s, &found);
    *count_r = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

/*
 * May this pair try now? Refuses (without looking at the password) a pair
 * that is locked or still within its wait, and an address past its
 * failures for the hour. Nothing here depends on whether the name is an
 * account, so the answers are the same for both.
 */
static err login_gate(db *d, const struct login_pair *lp)
{
    char key[96];
    snprintf(key, sizeof key, "login:fail:%s", lp->ip);
    int64_t ip_failed;
    err e = rate_peek(d, key, HOUR_MS, &ip_failed);
    if (e)
        return e;
    if (ip_failed >= cfg.ip_failures) {
        log_event(LOG_WARN, "login_rate_limited", "ip", lp->ip, NULL);
        return err_set(E_RATE, "rate_limited", NULL, "此地址登录失败次数过多，请1小时后再试");
    }
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT failures, last_at, locked_until FROM login_failures "
                        "WHERE account = ? AND ip = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, lp->account);
    db_bind_text(s, 2, lp->ip);
    bool row;
    e = db_row(s, &row);
    int64_t failures = 0, last_at = 0, locked_until = 0;
    if (row) {
        failures = db_col_int64(s, 0);
        last_at = db_col_int64(s, 1);
        locked_until = db_col_int64(s, 2);
    }
    db_done(s);
    if (e || !row)
        return e;
    int64_t now = now_ms();
    if (locked_until > now)
        return pair_locked_err(locked_until);
    if (last_at <= now - (int64_t)cfg.lock_s * 1000)
        return E_OK; /* forgotten */
    int64_t wait = backoff_for(failures);
    if (now < last_at + wait) {
        int64_t secs = (last_at + wait - now + 999) / 1000;
        return err_set(E_RATE, "login_throttled", NULL, "登录失败次数较多，请 %lld 秒后再试",
                       (long long)secs);
    }
    return E_OK;
}

/*
 * Count a failure of the pair (and of its address). One statement: a
 * failure older than lock_s starts the count again, and the one that
 * reaches max_failures locks the pair for lock_s, so concurrent attempts
 * cannot both read the same count. *locked_until_r gets the lock end when
 * this failure locked the pair, else 0. user_id: the account the name is
 * (0 if none), for the administrator's view and unlock.
 */
static err login_failed(db *d, const struct login_pair *lp, int64_t user_id,
                        int64_t *locked_until_r)
{
    *locked_until_r = 0;
    char key[96];
    snprintf(key, sizeof key, "login:fail:%s", lp->ip);
    bool over;
    err e = rate_hit(d, key, HOUR_MS, cfg.ip_failures, &over);
    if (e)
        return e;
    int64_t now = now_ms(), forget = now - (int64_t)cfg.lock_s * 1000;
    int64_t until = now + (int64_t)cfg.lock_s * 1000;
    db_stmt *s;
    /* the lock end is cast to BIGINT because PostgreSQL types its
     * placeholder from the CASE, where a bare 0 would make it 32-bit */
    if ((e = db_prepare(
             d,
             "INSERT INTO login_failures (account, ip, user_id, failures, last_at, "
             "locked_until) VALUES (?, ?, ?, 1, ?, ?) "
             "ON CONFLICT (account, ip) DO UPDATE SET "
             "failures = CASE WHEN login_failures.last_at <= ? THEN 1 "
             "ELSE login_failures.failures + 1 END, "
             "locked_until = CASE WHEN (CASE WHEN login_failures.last_at <= ? THEN 1 "
             "ELSE login_failures.failures + 1 END) >= ? THEN ? ELSE CAST(0 AS BIGINT) END, "
             "last_at = excluded.last_at, user_id = excluded.user_id "
             "RETURNING locked_until",
             &s)))
        return e;
    db_bind_text(s, 1, lp->account);
    db_bind_text(s, 2, lp->ip);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, cfg.max_failures <= 1 ? until : 0);
    db_bind_int64(s, 6, forget);
    db_bind_int64(s, 7, forget);
    db_bind_int64(s, 8, cfg.max_failures);
    db_bind_int64(s, 9, until);
    bool row;
    e = db_row(s, &row);
    if (row && db_col_int64(s, 0) > now)
        *locked_until_r = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (user_id)
        log_id(LOG_WARN, *locked_until_r ? "login_locked" : "login_failed", user_id);
    else
        log_event(LOG_WARN, *locked_until_r ? "login_locked" : "login_unknown_user", NULL);
    return E_OK;
}

/* Count a failure and answer it: locked if this one locked the pair, else
 * bad credentials (or a bad second-factor code when `totp`). */
static err refused(db *d, const struct login_pair *lp, int64_t user_id, bool totp)
{
    int64_t until;
    err e = login_failed(d, lp, user_id, &until);
    if (e)
        return e;
    if (until)
        return pair_locked_err(until);
    return totp ? err_set(E_AUTH, "bad_totp", "totp", "动态验证码错误") : bad_credentials();
}

static err login_rate(db *d, const char *ip)
{
    char key[96];
    snprintf(key, sizeof key, "login:ip:%s", ip ? ip : "");
    bool over;
    err e = rate_hit(d, key, MINUTE_MS, cfg.ip_attempts, &over);
    if (e)
        return e;
    if (over) {
        log_event(LOG_WARN, "login_rate_limited", "ip", ip ? ip : "", NULL);
        return err_set(E_RATE, "rate_limited", NULL, "尝试次数过多，请1分钟后再试");
    }
    return E_OK;
}

/* Data-exchange accounts are for other systems calling the API, never for
 * a person at the console. */
static bool exchange_only(const struct principal *p)
{
    const char *k = "exchange_client";
    size_t n = strlen(k);
    for (const char *r = p->roles; (r = strstr(r, k)); r += n)
        if ((r == p->roles || r[-1] == ',') && (r[n] == ',' || r[n] == '\0'))
            return true;
    return false;
}

static err login(db *d, const char *username, const char *password, const char *totp,
                 const char *ip, bool hold, char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r)
{
    err e = login_rate(d, ip);
    if (e)
        return e;
    if (!username || !password)
        return bad_credentials();
    struct login_pair lp;
    login_pair_init(&lp, username, ip);
    if ((e = login_gate(d, &lp)))
        return e;

    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT id, password_hash, locked_until, totp_enabled, totp_secret_enc, "
                        "totp_last_step FROM users WHERE username = ? AND kind = 'staff'",
                        &s)))
        return e;
    db_bind_text(s, 1, username);
    bool row;
    e = db_row(s, &row);
    int64_t user_id = 0, locked_until = 0, last_step = 0;
    char hash[160] = "";
    uint8_t sealed[128];
    size_t sealed_n = 0;
    bool totp_enabled = false;
    if (row) {
        user_id = db_col_int64(s, 0);
        copy_str(hash, sizeof hash, db_col_text(s, 1));
        locked_until = db_col_int64(s, 2);
        totp_enabled = db_col_int64(s, 3) != 0;
        if (!db_col_null(s, 4)) {
            const void *b = db_col_blob(s, 4, &sealed_n);
            if (sealed_n > sizeof sealed)
                sealed_n = 0;
            else
                memcpy(sealed, b, sealed_n);
        }
        last_step = db_col_int64(s, 5);
    }
    db_done(s);
    if (e)
        return e;
    /* an unknown name takes as long as a wrong password, and is counted the
     * same way */
    pthread_once(&dummy_once, dummy_make);
    bool verified = password_verify(row ? hash : dummy_hash, password) && row;
    /* a hash of another cost than the configured one is replaced below;
     * hashed here, before the write the caller may hold */
    char rehash[160] = "";
    if (verified && password_needs_rehash(hash) && password_hash(password, rehash, sizeof rehash))
        rehash[0] = 0; /* logged by password_hash; the stored hash keeps working */
    if (hold)
        db_hold(d); /* what follows writes the outcome (auth_login_held) */
    if (!verified)
        return refused(d, &lp, user_id, false);
    if (locked_until > now_ms())
        return admin_locked_err(locked_until);

    /*
     * The second factor is asked for once the user enrolled. A role that
     * requires TOTP but a user who has not enrolled yet still signs in: the
     * principal then says totp_required && !totp_enabled, and the client
     * walks the user through enrolment before anything else.
     */
    int64_t step = last_step;
    if (totp_enabled) {
        if (!totp || !*totp)
            return err_set(E_AUTH, "totp_required", "totp", "请输入动态验证码");
        bool ok;
        if ((e = totp_check(sealed, sealed_n, totp, last_step, &ok, &step)))
            return e;
        if (!ok)
            return refused(d, &lp, user_id, true);
    }

    struct principal p;
    if ((e = auth_principal_load(d, user_id, &p)))
        return e == E_NOT_FOUND ? bad_credentials() : e;
    if (exchange_only(&p)) {
        log_id(LOG_WARN, "login_exchange_refused", user_id);
        return err_set(E_FORBIDDEN, "console_login_forbidden", NULL,
                       "数据交换账号仅供其他系统调用接口，不能登录管理控制台");
    }

    /* totp_last_step > ? makes two concurrent sign-ins with the same code
     * race to one winner. */
    if ((e = db_prepare(d,
                        "UPDATE users SET failed_logins = 0, last_login_at = ?, "
                        "totp_last_step = ? WHERE id = ? AND (totp_last_step < ? OR ? = 0)",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, step);
    db_bind_int64(s, 3, user_id);
    db_bind_int64(s, 4, step);
    db_bind_int64(s, 5, totp_enabled ? 1 : 0);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_AUTH, "bad_totp", "totp", "动态验证码错误");
    if (*rehash) {
        if ((e = db_prepare(d, "UPDATE users SET password_hash = ? WHERE id = ?", &s)))
            return e;
        db_bind_text(s, 1, rehash);
        db_bind_int64(s, 2, user_id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    /* the pair starts again from nothing */
    if ((e = db_prepare(d, "DELETE FROM login_failures WHERE account = ? AND ip = ?", &s)))
        return e;
    db_bind_text(s, 1, lp.account);
    db_bind_text(s, 2, lp.ip);
    if ((e = db_run(s, NULL)))
        return e;

    if ((e = session_create(d, user_id, ip, token_r)))
        return e;
    *p_r = p;
    log_id(LOG_INFO, "login", user_id);
    return E_OK;
}

err auth_login(db *d, const char *username, const char *password, const char *totp, const char *ip,
               char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r)
{
    return login(d, username, password, totp, ip, false, token_r, p_r);
}

err auth_login_held(db *d, const char *username, const char *password, const char *totp,
                    const char *ip, char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r)
{
    return login(d, username, password, totp, ip, true, token_r, p_r);
}

/* ---- passwords of an account --------------------------------------------- */

static err store_password(db *d, int64_t user_id, const char *pw, bool must_change)
{
    char hash[160];
    err e = password_hash(pw, hash, sizeof hash);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE users SET password_hash = ?, must_change_password = ?, "
                        "password_changed_at = ?, updated_at = ? WHERE id = ?",
                        &s)))
        return e;
    int64_t now = now_ms();
    db_bind_text(s, 1, hash);
    db_bind_int64(s, 2, must_change ? 1 : 0);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, user_id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    auth_changed_at_commit(d);
    return E_OK;
}

err auth_change_password(db *d, int64_t user_id, const char *old_pw, const char *new_pw,
                         const char *keep_token)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT password_hash FROM users WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    bool row;
    e = db_row(s, &row);
    char hash[160] = "";
    if (row)
        copy_str(hash, sizeof hash, db_col_text(s, 0));
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    if (!password_verify(hash, old_pw))
        return err_set(E_INPUT, "bad_password", "old_password", "原密码错误");
    if ((e = password_policy(new_pw, "new_password")))
        return e;
    if (!strcmp(old_pw, new_pw))
        return err_set(E_INPUT, "same_password", "new_password", "新密码不能与原密码相同");
    if ((e = store_password(d, user_id, new_pw, false)))
        return e;

    uint8_t keep[SM3_LEN];
    if (keep_token && token_hash(keep_token, keep)) {
        if ((e = db_prepare(d, "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", &s)))
            return e;
        db_bind_int64(s, 1, user_id);
        db_bind_blob(s, 2, keep, sizeof keep);
        if (!(e = db_run(s, NULL)))
            auth_changed_at_commit(d);
    } else {
        e = auth_logout_all(d, user_id);
    }
    if (!e)
        log_id(LOG_INFO, "password_changed", user_id);
    return e;
}

err auth_set_password(db *d, int64_t user_id, const char *new_pw, bool must_change)
{
    err e = password_policy(new_pw, "password");
    if (e)
        return e;
    if ((e = store_password(d, user_id, new_pw, must_change)))
        return e;
    /* whoever knew the old password must not stay signed in */
    if ((e = auth_logout_all(d, user_id)))
        return e;
    log_id(LOG_INFO, "password_set", user_id);
    return E_OK;
}

err auth_unlock(db *d, int64_t user_id)
{
    db_stmt *s;
    err e = db_prepare(d, "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user_id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_NOT_FOUND, "user_not_found", NULL, "用户不存在");
    if ((e = db_prepare(d, "DELETE FROM login_failures WHERE user_id = ?", &s)))
        return e;
    db_bind_int64(s, 1, user_id);
    if ((e = db_run(s, NULL)))
        return e;
    log_id(LOG_INFO, "account_unlocked", user_id);
    return E_OK;
}

/* ---- SMS ------------------------------------------------------------------ */

static err sms_failed(void)
{
    return err_set(E_UNAVAILABLE, "sms_failed", NULL, "短信发送失败，请稍后再试");
}

/* The stand-in gateway of demos and tests: codes are appended to a file
 * (deliberately outside the database), one JSON line each. */
static err sms_deliver_file(const char *phone, const char *code)
{
    int fd = open(cfg.sms_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_event(LOG_ERROR, "sms_file_failed", "detail", strerror(errno), NULL);
        return sms_failed();
    }
    char line[160];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char iso[32];
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(line, sizeof line, "{\"time\":\"%s\",\"phone\":\"%s\",\"code\":\"%s\"}\n", iso,
                     phone, code);
    /* one write: lines from several servers appending never interleave */
    bool ok = n > 0 && n < (int)sizeof line && write(fd, line, (size_t)n) == n;
    if (!ok)
        log_event(LOG_ERROR, "sms_file_failed", "detail", strerror(errno), NULL);
    close(fd);
    return ok ? E_OK : sms_failed();
}

static auth_http_post_fn sms_http_post;

err auth_on_sms_http(auth_http_post_fn fn)
{
    sms_http_post = fn;
    return E_OK;
}

/* POST {"phone","text"} to the gateway through the wired client, blocking
 * the calling thread for at most a few seconds. */
static err sms_deliver_http(const char *phone, const char *code)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"phone\":\"%s\",\"text\":\"【防控】您的验证码是%s，5分钟内有效。\"}", phone, code);
    int status = 0;
    err e = sms_http_post ? sms_http_post(cfg.sms_url, body, 5, &status)
                          : err_set(E_INTERNAL, "sms_http_unwired", NULL, "内部错误");
    explicit_bzero(body, sizeof body);
    if (e || status < 200 || status > 299) {
        char st[16];
        snprintf(st, sizeof st, "%d", e ? 0 : status);
        log_event(LOG_ERROR, "sms_http_failed", "status", st, "why", e ? err_last()->slug : "",
                  NULL);
        return sms_failed();
    }
    return E_OK;
}

static void sms_code_hash(const uint8_t bidx[BLIND_LEN], const char *code, uint8_t out[SM3_LEN])
{
    uint8_t buf[BLIND_LEN + SMS_DIGITS];
    memcpy(buf, bidx, BLIND_LEN);
    memcpy(buf + BLIND_LEN, code, SMS_DIGITS);
    hmac_sm3(keys_get(KEY_TOKEN), 32, buf, sizeof buf, out);
    explicit_bzero(buf, sizeof buf);
}

err auth_sms_send(db *d, const char *phone, const char *ip)
{
    err e = check_phone(phone, "phone");
    if (e)
        return e;
    char key[96];
    bool over;
    snprintf(key, sizeof key, "sms:ip:%s", ip ? ip : "");
    if ((e = rate_hit(d, key, HOUR_MS, cfg.sms_per_ip, &over)))
        return e;
    if (over) {
        log_event(LOG_WARN, "sms_rate_limited", "ip", ip ? ip : "", NULL);
        return err_set(E_RATE, "rate_limited", NULL, "获取验证码次数过多，请稍后再试");
    }
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", phone, bidx);
    char bhex[2 * BLIND_LEN + 1];
    hex_encode(bidx, sizeof bidx, bhex);
    snprintf(key, sizeof key, "sms:phone:%s", bhex);
    if ((e = rate_hit(d, key, (int64_t)cfg.sms_resend_s * 1000, 1, &over)))
        return e;
    if (over) {
        int n = cfg.sms_resend_s;
        return n % 60 == 0
                   ? err_set(E_RATE, "rate_limited", NULL, "验证码已发送，请%d分钟后再试", n / 60)
                   : err_set(E_RATE, "rate_limited", NULL, "验证码已发送，请%d秒后再试", n);
    }
    /* the daily caps: a phone cannot be flooded, an address cannot spray
     * codes at many phones (each code is another guess at a phone) */
    snprintf(key, sizeof key, "sms:phone-day:%s", bhex);
    if ((e = rate_hit(d, key, DAY_MS, cfg.sms_phone_day, &over)))
        return e;
    if (over) {
        log_event(LOG_WARN, "sms_phone_daily_cap", NULL);
        return err_set(E_RATE, "sms_daily_limit", "phone", "该手机号今日获取验证码次数已达上限");
    }
    snprintf(key, sizeof key, "sms:ip-day:%s", ip ? ip : "");
    if ((e = rate_hit(d, key, DAY_MS, cfg.sms_ip_day, &over)))
        return e;
    if (over) {
        log_event(LOG_WARN, "sms_ip_daily_cap", "ip", ip ? ip : "", NULL);
        return err_set(E_RATE, "sms_daily_limit", NULL, "今日获取验证码次数已达上限");
    }

    /* uniform over 000000..999999: 4294 * 10^6 is the largest multiple
     * of 10^6 below 2^32 */
    uint32_t r;
    do {
        if ((e = random_bytes(&r, sizeof r)))
            return e;
    } while (r >= 4294000000u);
    char code[SMS_DIGITS + 1];
    snprintf(code, sizeof code, "%06u", r % 1000000u);
    uint8_t h[SM3_LEN];
    sms_code_hash(bidx, code, h);

    /*
     * A new code replaces the old one, but within the window of the first
     * (created_at + sms_ttl_s) the wrong tries already spent stay spent: a
     * resend must not buy sms_max_tries more guesses.
     */
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "INSERT INTO sms_codes (phone_bidx, code_hash, expires_at, tries, "
             "created_at) VALUES (?, ?, ?, 0, ?) "
             "ON CONFLICT (phone_bidx) DO UPDATE SET code_hash = excluded.code_hash, "
             "expires_at = excluded.expires_at, "
             "tries = CASE WHEN sms_codes.created_at > ? THEN sms_codes.tries ELSE 0 END, "
             "created_at = CASE WHEN sms_codes.created_at > ? THEN sms_codes.created_at "
             "ELSE excluded.created_at END",
             &s))) {
        explicit_bzero(code, sizeof code);
        return e;
    }
    int64_t now = now_ms(), window = now - (int64_t)cfg.sms_ttl_s * 1000;
    db_bind_blob(s, 1, bidx, sizeof bidx);
    db_bind_blob(s, 2, h, sizeof h);
    db_bind_int64(s, 3, now + (int64_t)cfg.sms_ttl_s * 1000);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, window);
    db_bind_int64(s, 6, window);
    if ((e = db_run(s, NULL))) {
        explicit_bzero(code, sizeof code);
        return e;
    }

    e = !strcmp(cfg.sms_driver, "http") ? sms_deliver_http(phone, code)
                                        : sms_deliver_file(phone, code);
    explicit_bzero(code, sizeof code);
    if (e)
        return e;
    log_event(LOG_INFO, "sms_sent", NULL);
    return E_OK;
}

static err bad_sms_code(void)
{
    return err_set(E_AUTH, "bad_sms_code", "code", "验证码错误或已过期");
}

/*
 * Spend one try of the phone's code and say whether `code` is it. The try
 * is counted before comparing and a match is consumed with a conditional
 * delete, so concurrent guesses can neither exceed sms_max_tries nor use
 * one code twice.
 */
static err sms_consume(db *d, const uint8_t bidx[BLIND_LEN], const char *code, bool *ok_r)
{
    *ok_r = false;
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE sms_codes SET tries = tries + 1 "
                       "WHERE phone_bidx = ? AND expires_at > ? RETURNING tries, code_hash",
                       &s);
    if (e)
        return e;
    db_bind_blob(s, 1, bidx, BLIND_LEN);
    db_bind_int64(s, 2, now);
    bool row;
    e = db_row(s, &row);
    int64_t tries = 0;
    uint8_t stored[SM3_LEN];
    bool have = false;
    if (row) {
        size_t n;
        const void *b = db_col_blob(s, 1, &n);
        tries = db_col_int64(s, 0);
        if (b && n == SM3_LEN) {
            memcpy(stored, b, SM3_LEN);
            have = true;
        }
    }
    db_done(s);
    if (e || !have)
        return e;

    uint8_t h[SM3_LEN];
    bool match = false;
    if (tries <= cfg.sms_max_tries && code_shape(code, SMS_DIGITS)) {
        sms_code_hash(bidx, code, h);
        match = ct_equal(h, stored, SM3_LEN);
    }
    /* Out of tries, the row stays (tries past the limit never match) until
     * its window ends, so a resend cannot start the count again. */
    if (!match)
        return E_OK;
    /* used: gone, and the next code starts a new window */
    if ((e = db_prepare(d, "DELETE FROM sms_codes WHERE phone_bidx = ? AND code_hash = ?", &s)))
        return e;
    db_bind_blob(s, 1, bidx, BLIND_LEN);
    db_bind_blob(s, 2, stored, SM3_LEN);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    *ok_r = match && changed == 1;
    return E_OK;
}

/* Find the resident user of a phone or create it with the citizen role. */
static err resident_user(db *d, const char *phone, const uint8_t bidx[BLIND_LEN],
                         int64_t *user_id_r)
{
    /* key rotation (docs/keys.md): a user not re-indexed yet holds the
     * previous version's index; look under it too, or a second account
     * would be created for the phone */
    uint8_t both[BLIND_MAX][BLIND_LEN];
    int nb = blind_rotating() ? blind_search("users.phone", phone, both) : 1;
    bool row = false, staff = false;
    err e = E_OK;
    db_stmt *s;
    for (int k = 0; !e && !row && k < nb; k++) {
        if ((e = db_prepare(d, "SELECT id, kind FROM users WHERE phone_bidx = ?", &s)))
            return e;
        db_bind_blob(s, 1, k ? both[k] : bidx, BLIND_LEN);
        e = db_row(s, &row);
        if (!e && row) {
            *user_id_r = db_col_int64(s, 0);
            staff = strcmp(db_col_text(s, 1), "resident") != 0;
        }
        db_done(s);
    }
    if (e)
        return e;
    /* An SMS code must never open a staff account: that would skip its
     * password and second factor. */
    if (row && staff)
        return err_set(E_FORBIDDEN, "staff_phone", "phone",
                       "该手机号已绑定工作人员账号，请使用账号密码登录");
    if (row)
        return E_OK;

    /* Residents' own data is scoped by their person record, not by the
     * user's region: they get the root region. */
    int64_t root = 0, role_id = 0;
    if ((e = db_prepare(d,
                        "SELECT MIN(code) FROM regions WHERE parent_code IS NULL OR "
                        "parent_code = 0",
                        &s)))
        return e;
    bool have_root = !(e = db_row(s, &row)) && row && !db_col_null(s, 0);
    if (have_root)
        root = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d, "SELECT id FROM roles WHERE key = 'citizen'", &s)))
        return e;
    if (!(e = db_row(s, &row)) && row)
        role_id = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!have_root || !role_id) {
        log_event(LOG_ERROR, "resident_setup_missing", "what",
                  !have_root ? "root region" : "citizen role", NULL);
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    }

    uint8_t sealed[32 + SEAL_OVERHEAD];
    size_t plen = strlen(phone);
    if (plen > 32)
        return err_set(E_INTERNAL, NULL, NULL, NULL);
    if ((e = seal_buf("users.phone", phone, plen, sealed)))
        return e;
    char masked[16];
    snprintf(masked, sizeof masked, "%.3s****%s", phone, phone + plen - 4);

    int64_t id = id_new(), now = now_ms();
    if ((e = db_begin(d)))
        return e;
    if ((e = db_prepare(d,
                        "INSERT INTO users (id, username, display_name, kind, region_code, "
                        "phone_enc, phone_bidx, created_at, updated_at) "
                        "VALUES (?, NULL, ?, 'resident', ?, ?, ?, ?, ?)",
                        &s)) == E_OK) {
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, masked);
        db_bind_int64(s, 3, root);
        db_bind_blob(s, 4, sealed, plen + SEAL_OVERHEAD);
        db_bind_blob(s, 5, bidx, BLIND_LEN);
        db_bind_int64(s, 6, now);
        db_bind_int64(s, 7, now);
        e = db_run(s, NULL);
    }
    if (!e && (e = db_prepare(d, "INSERT INTO user_roles (user_id, role_id) VALUES (?, ?)", &s)) ==
                  E_OK) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, role_id);
        e = db_run(s, NULL);
    }
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        return e;
    }
    *user_id_r = id;
    log_id(LOG_INFO, "resident_created", id);
    return E_OK;
}

err auth_sms_login(db *d, const char *phone, const char *code, const char *ip,
                   char token_r[TOKEN_HEX_LEN + 1], struct principal *p_r)
{
    err e = login_rate(d, ip);
    if (e)
        return e;
    if ((e = check_phone(phone, "phone")))
        return e;
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", phone, bidx);
    bool ok;
    if ((e = sms_consume(d, bidx, code, &ok)))
        return e;
    if (!ok)
        return bad_sms_code();
    int64_t user_id = 0;
    if ((e = resident_user(d, phone, bidx, &user_id)))
        return e;
    struct principal p;
    if ((e = auth_principal_load(d, user_id, &p)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "UPDATE users SET last_login_at = ? WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, user_id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = session_create(d, user_id, ip, token_r)))
        return e;
    *p_r = p;
    log_id(LOG_INFO, "login_sms", user_id);
    return E_OK;
}

err auth_sms_verify(db *d, const char *phone, const char *code, const char *field)
{
    err e = check_phone(phone, "phone");
    if (e)
        return e;
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", phone, bidx);
    bool ok;
    if ((e = sms_consume(d, bidx, code, &ok)))
        return e;
    return ok ? E_OK : err_set(E_INPUT, "bad_sms_code", field, "验证码错误或已过期");
}

/* ---- housekeeping ------------------------------------------------------- */

err auth_sweep(db *d)
{
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM sessions WHERE last_seen < ? OR created_at < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now - idle_ms());
    db_bind_int64(s, 2, now - max_ms());
    if ((e = db_run(s, NULL)))
        return e;
    auth_changed_at_commit(d);
    /* a day is the longest window any counter uses */
    if ((e = db_prepare(d, "DELETE FROM rate_limits WHERE window_start < ?", &s)))
        return e;
    db_bind_int64(s, 1, now - DAY_MS);
    if ((e = db_run(s, NULL)))
        return e;
    /* failures are remembered lock_s, and a lock lasts lock_s from the
     * failure that set it */
    if ((e = db_prepare(d, "DELETE FROM login_failures WHERE last_at < ? AND locked_until < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, now - (int64_t)cfg.lock_s * 1000);
    db_bind_int64(s, 2, now);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = db_prepare(d, "DELETE FROM sms_codes WHERE expires_at <= ?", &s)))
        return e;
    db_bind_int64(s, 1, now);
    return db_run(s, NULL);
}

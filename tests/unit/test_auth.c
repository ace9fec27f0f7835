/*
 * Passwords, sign-in, lockout, rate limits, sessions, TOTP and SMS sign-in
 * against a migrated SQLite database and, when FK_DB names a PostgreSQL
 * database (scripts/with-postgres.sh), against PostgreSQL too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "http/client.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "security/ratelimit.h"

#define REGION  110101000000000000LL /* 110101000000: 东城区 */
#define ALICE   "alice"
#define ALICE_P "Gr1d-w0rker!" /* passes the rule, not on the common list */
#define ROOT    "root"
#define ROOT_P  "Adm1n#pass"

static db *D;
static struct fixture_db F;
static char sms_file[128];
static int64_t alice_id, root_id;

/* ---- database helpers ---------------------------------------------------- */

static void exec_i(const char *sql, int n, const int64_t *args)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, args[i]);
    int rc = db_step(s);
    assert_true(rc == DB_DONE || rc == DB_ROW);
    db_done(s);
}

/* The int64 in the first column of the first row, -1 when there is none. */
static int64_t q_i(const char *sql, int n, const int64_t *args)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    for (int i = 0; i < n; i++)
        db_bind_int64(s, i + 1, args[i]);
    int rc = db_step(s);
    assert_true(rc == DB_DONE || rc == DB_ROW);
    int64_t v = rc == DB_ROW ? db_col_int64(s, 0) : -1;
    db_done(s);
    return v;
}

static int64_t user_col(const char *col, int64_t user_id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM users WHERE id = ?", col);
    return q_i(sql, 1, &user_id);
}

static void set_user_col(const char *col, int64_t v, int64_t user_id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE users SET %s = ? WHERE id = ?", col);
    int64_t a[] = {v, user_id};
    exec_i(sql, 2, a);
}

static int64_t count(const char *sql)
{
    return q_i(sql, 0, NULL);
}

static void seed_role(const char *key)
{
    const struct builtin_role *r = builtin_role_find(key);
    assert_non_null(r);
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO roles (id, key, name, builtin, require_totp, "
                                "created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, r->key);
    db_bind_text(s, 3, r->name);
    db_bind_int64(s, 4, r->require_totp);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    for (int p = 1; p < PERM__COUNT; p++) {
        if (!perm_set_has(builtin_role_perms(r), (enum perm)p))
            continue;
        assert_int_equal(
            db_prepare(D, "INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)", &s),
            E_OK);
        db_bind_int64(s, 1, id);
        db_bind_text(s, 2, perm_name((enum perm)p));
        assert_int_equal(db_step(s), DB_DONE);
        db_done(s);
    }
}

static int64_t seed_user(const char *username, const char *password, const char *role)
{
    char hash[128];
    assert_int_equal(password_hash(password, hash, sizeof hash), E_OK);
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO users (id, username, display_name, password_hash, "
                                "region_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, username);
    db_bind_text(s, 3, username);
    db_bind_text(s, 4, hash);
    db_bind_int64(s, 5, REGION);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, now);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    assert_int_equal(db_prepare(D,
                                "INSERT INTO user_roles (user_id, role_id) "
                                "SELECT ?, id FROM roles WHERE key = ?",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, role);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    return id;
}

static void configure(int idle_s, int ip_attempts, int sms_per_ip)
{
    struct auth_config c = {
        .session_idle_s = idle_s,
        .ip_attempts = ip_attempts,
        .sms_per_ip = sms_per_ip,
        .sms_file = sms_file,
        .backoff_ms = -1, /* tests of the slow-down turn it on */
    };
    auth_configure(&c);
}

/* Failures counted against a user's (name, address) pairs. */
static int64_t failures_of(int64_t user_id)
{
    return q_i("SELECT COALESCE(SUM(failures), 0) FROM login_failures WHERE user_id = ?", 1,
               &user_id);
}

/* Every test starts from the same data: one district, three roles, alice
 * (grid worker) and root (system admin, TOTP required). */
static int reset(void **state)
{
    (void)state;
    static const char *const wipe[] = {
        "DELETE FROM sessions",         "DELETE FROM rate_limits", "DELETE FROM sms_codes",
        "DELETE FROM login_failures",   "DELETE FROM user_roles",  "DELETE FROM users",
        "DELETE FROM role_permissions", "DELETE FROM roles",       "DELETE FROM regions",
    };
    for (size_t i = 0; i < sizeof wipe / sizeof *wipe; i++)
        if (db_exec(D, wipe[i]))
            return -1;
    int64_t a[] = {REGION, now_ms(), now_ms()};
    exec_i("INSERT INTO regions (code, parent_code, level, name, created_at, updated_at) "
           "VALUES (?, NULL, 3, '东城区', ?, ?)",
           3, a);
    seed_role("citizen");
    seed_role("grid_worker");
    seed_role("system_admin");
    alice_id = seed_user(ALICE, ALICE_P, "grid_worker");
    root_id = seed_user(ROOT, ROOT_P, "system_admin");
    unlink(sms_file);
    configure(0, 0, 0);
    err_clear();
    return 0;
}

static void expect_err(err got, err code, const char *slug)
{
    assert_int_equal(got, code);
    assert_string_equal(err_last()->slug, slug);
}

/* ---- passwords ------------------------------------------------------------ */

static void test_password_policy(void **state)
{
    (void)state;
    expect_err(password_policy("Ab1!xyz", "password"), E_INPUT, "weak_password"); /* 7 */
    assert_string_equal(err_last()->field, "password");
    assert_non_null(strstr(err_last()->message, "密码"));
    expect_err(password_policy("abcdefghij", "pw"), E_INPUT, "weak_password");
    expect_err(password_policy("abcdefgh12", "pw"), E_INPUT, "weak_password");
    expect_err(password_policy("", "pw"), E_INPUT, "weak_password");
    expect_err(password_policy(NULL, "pw"), E_INPUT, "weak_password");
    /* 12 bytes but 4 characters */
    expect_err(password_policy("密码a1", "pw"), E_INPUT, "weak_password");
    assert_int_equal(password_policy("abcdefG1", "pw"), E_OK);
    assert_int_equal(password_policy("abcdef!1", "pw"), E_OK);
    assert_int_equal(password_policy("ABCDEF!1", "pw"), E_OK);
    assert_int_equal(password_policy("密码密码密码a1", "pw"), E_OK);
    assert_int_equal(password_policy(ALICE_P, "pw"), E_OK);
    /* the classes rule passes these; the list of common passwords does not */
    static const char *const common[] = {"Password123!", "P@ssw0rd2024", "P@SSW0RD", "Admin@123",
                                         "Woaini1314!",  "Qwerty123!",   "1qaz@WSX"};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++) {
        expect_err(password_policy(common[i], "pw"), E_INPUT, "password_too_common");
        assert_string_equal(err_last()->field, "pw");
        assert_non_null(strstr(err_last()->message, "常见"));
    }
    assert_true(password_is_common("woaini1314"));
    assert_true(password_is_common("12345678"));
    assert_false(password_is_common("Tide-Lantern-47"));
    assert_false(password_is_common(""));
    assert_false(password_is_common(NULL));
    char longpw[300];
    memset(longpw, 'a', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    assert_false(password_is_common(longpw));
}

static void test_password_hash(void **state)
{
    (void)state;
    char h1[128], h2[128], tiny[32];
    assert_int_equal(password_hash("Secret#123", h1, sizeof h1), E_OK);
    assert_int_equal(password_hash("Secret#123", h2, sizeof h2), E_OK);
    assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_string_not_equal(h1, h2); /* random salt */
    assert_true(password_verify(h1, "Secret#123"));
    assert_true(password_verify(h2, "Secret#123"));
    assert_false(password_verify(h1, "Secret#124"));
    assert_false(password_verify(h1, ""));
    assert_false(password_verify("", "Secret#123"));
    assert_false(password_verify(NULL, "Secret#123"));
    assert_false(password_verify("garbage", "Secret#123"));
    assert_int_not_equal(password_hash("Secret#123", tiny, sizeof tiny), E_OK);
}

static void test_scope(void **state)
{
    (void)state;
    struct scope s = scope_of(REGION);
    assert_true(s.lo == REGION);
    assert_true(s.hi == 110102000000000000LL);
    assert_true(scope_has(&s, REGION));
    assert_true(scope_has(&s, 110101001001000000LL));
    assert_true(scope_has(&s, 110101999999999999LL));
    assert_false(scope_has(&s, 110102000000000000LL));
    assert_false(scope_has(&s, 110100000000000000LL));
}

/* ---- sign-in ---------------------------------------------------------------- */

static void test_login_ok(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.1", tok, &p), E_OK);
    assert_int_equal(strlen(tok), TOKEN_HEX_LEN);
    assert_true(p.user_id == alice_id);
    assert_string_equal(p.username, ALICE);
    assert_string_equal(p.roles, "grid_worker");
    assert_true(p.region_code == REGION);
    assert_true(p.scope.lo == REGION && p.scope.hi == 110102000000000000LL);
    assert_false(p.resident);
    assert_false(p.totp_required);
    assert_false(p.totp_enabled);
    assert_true(principal_can(&p, PERM_PERSON_READ));
    assert_true(principal_can(&p, PERM_PERSON_WRITE));
    assert_true(principal_can(&p, PERM_NONE));
    assert_false(principal_can(&p, PERM_USER_WRITE));
    assert_true(perm_set_equal(p.perms, builtin_role_perms(builtin_role_find("grid_worker"))));
    assert_true(user_col("last_login_at", alice_id) > 0);

    /* the database holds SM3(raw token), never the token */
    uint8_t raw[32], h[SM3_LEN];
    assert_true(hex_decode(tok, raw, sizeof raw));
    sm3(raw, sizeof raw, h);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT user_id, ip FROM sessions WHERE token_hash = ?", &s),
                     E_OK);
    db_bind_blob(s, 1, h, sizeof h);
    assert_int_equal(db_step(s), DB_ROW);
    assert_true(db_col_int64(s, 0) == alice_id);
    assert_string_equal(db_col_text(s, 1), "10.0.0.1");
    db_done(s);

    struct principal q;
    assert_int_equal(auth_session_find(D, tok, &q), E_OK);
    assert_true(q.user_id == alice_id);
    assert_true(perm_set_equal(q.perms, p.perms));

    /* a role that requires TOTP, not enrolled yet: sign-in succeeds and the
     * principal tells the client to enrol */
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.0.1", tok, &p), E_OK);
    assert_true(p.totp_required);
    assert_false(p.totp_enabled);
    assert_true(principal_can(&p, PERM_USER_WRITE));
    assert_false(principal_can(&p, PERM_AUDIT_READ));
}

static void test_login_bad(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, "nobody", ALICE_P, NULL, "10.0.0.2", tok, &p), E_AUTH,
               "bad_credentials");
    assert_string_equal(err_last()->message, "用户名或密码错误");
    expect_err(auth_login(D, ALICE, "Passw0rd?", NULL, "10.0.0.2", tok, &p), E_AUTH,
               "bad_credentials");
    assert_string_equal(err_last()->message, "用户名或密码错误");
    assert_int_equal(failures_of(alice_id), 1);
    expect_err(auth_login(D, ALICE, "", NULL, "10.0.0.2", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, ALICE, NULL, NULL, "10.0.0.2", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, NULL, ALICE_P, NULL, "10.0.0.2", tok, &p), E_AUTH, "bad_credentials");
    /* a success resets the count */
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.2", tok, &p), E_OK);
    assert_int_equal(failures_of(alice_id), 0);

    /* a disabled account signs in no more, and its sessions stop working */
    set_user_col("disabled", 1, alice_id);
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "account_disabled");
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.2", tok, &p), E_AUTH,
               "account_disabled");
}

static void test_lockout(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    for (int i = 0; i < 4; i++)
        expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.0.3", tok, &p), E_AUTH,
                   "bad_credentials");
    assert_int_equal(failures_of(alice_id), 4);
    int64_t t0 = now_ms();
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.0.3", tok, &p), E_LOCKED,
               "account_locked");
    int64_t until = q_i("SELECT locked_until FROM login_failures WHERE user_id = ?", 1, &alice_id);
    assert_true(until >= t0 + 1800 * 1000 && until <= now_ms() + 1800 * 1000);
    assert_true(err_last()->ref == until);
    assert_non_null(strstr(err_last()->message, "登录失败次数过多"));
    assert_non_null(strstr(err_last()->message, " 后再试"));
    /* the account itself is not locked: only this name from this address */
    assert_int_equal(user_col("locked_until", alice_id), 0);

    /* the unlock time is Beijing time, rounded up to the minute */
    time_t t = (time_t)((until + 59999) / 60000 * 60) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    char hhmm[64];
    snprintf(hhmm, sizeof hhmm, "请于 %02d:%02d 后再试", tm.tm_hour, tm.tm_min);
    assert_non_null(strstr(err_last()->message, hhmm));

    /* the right password does not help from there while locked */
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_LOCKED,
               "account_locked");
    assert_true(err_last()->ref == until);
    /* from another address the owner signs in */
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.9.9", tok, &p), E_OK);

    /* an administrator unlocks */
    assert_int_equal(auth_unlock(D, alice_id), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM login_failures"), 0);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_OK);
    expect_err(auth_unlock(D, 12345), E_NOT_FOUND, "user_not_found");

    /* or the lock runs out, and the count starts again */
    for (int i = 0; i < 5; i++)
        err_ignore(
            auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.0.3", tok, &p)); /* failures wanted */
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_LOCKED,
               "account_locked");
    assert_int_equal(db_exec(D, "UPDATE login_failures SET locked_until = locked_until - 1800001, "
                                "last_at = last_at - 1800001"),
                     E_OK);
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.0.3", tok, &p), E_AUTH,
               "bad_credentials");
    assert_int_equal(failures_of(alice_id), 1);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_OK);

    /* an administrator's lock is said only to whoever has the password */
    set_user_col("locked_until", AUTH_LOCKED_FOREVER, alice_id);
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.0.3", tok, &p), E_AUTH,
               "bad_credentials");
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_LOCKED,
               "account_locked");
    assert_non_null(strstr(err_last()->message, "管理员锁定"));
    assert_int_equal(auth_unlock(D, alice_id), E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.3", tok, &p), E_OK);
}

/* Unknown names are counted and answered exactly like real ones. */
static void test_lockout_unknown_same(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    for (int i = 0; i < 5; i++) {
        err a = auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.5.1", tok, &p);
        struct err_detail da = *err_last();
        err b = auth_login(D, "nobody", "wrong-Pass1", NULL, "10.0.5.1", tok, &p);
        struct err_detail db_ = *err_last();
        assert_int_equal(a, b);
        assert_string_equal(da.slug, db_.slug);
        assert_string_equal(da.message, db_.message);
        assert_int_equal(a, i < 4 ? E_AUTH : E_LOCKED);
    }
    expect_err(auth_login(D, "nobody", ALICE_P, NULL, "10.0.5.1", tok, &p), E_LOCKED,
               "account_locked");
    /* the name is stored as a keyed hash, never as typed */
    assert_int_equal(count("SELECT COUNT(*) FROM login_failures WHERE account = 'nobody' OR "
                           "account = 'alice'"),
                     0);
    assert_int_equal(count("SELECT COUNT(*) FROM login_failures WHERE user_id = 0"), 1);
}

/* From the second failure in a row the pair waits, doubling. */
static void test_backoff(void **state)
{
    (void)state;
    struct auth_config c = {.backoff_ms = 1000, .sms_file = sms_file};
    auth_configure(&c);
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.6.1", tok, &p), E_AUTH,
               "bad_credentials");
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.6.1", tok, &p), E_AUTH,
               "bad_credentials");
    /* even the right password waits, and the wait is not a failure */
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.6.1", tok, &p), E_RATE, "login_throttled");
    assert_non_null(strstr(err_last()->message, "请 1 秒后再试"));
    assert_int_equal(failures_of(alice_id), 2);
    /* another address does not wait */
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.6.2", tok, &p), E_OK);
    /* the wait over, a third failure: the next wait is 2 s */
    assert_int_equal(db_exec(D, "UPDATE login_failures SET last_at = last_at - 1001"), E_OK);
    expect_err(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.6.1", tok, &p), E_AUTH,
               "bad_credentials");
    assert_int_equal(db_exec(D, "UPDATE login_failures SET last_at = last_at - 1001"), E_OK);
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.6.1", tok, &p), E_RATE, "login_throttled");
    assert_non_null(strstr(err_last()->message, "请 1 秒后再试"));
    assert_int_equal(db_exec(D, "UPDATE login_failures SET last_at = last_at - 1000"), E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.6.1", tok, &p), E_OK);
    assert_int_equal(failures_of(alice_id), 0);
}

/* An address past its failures for the hour is refused for any name. */
static void test_ip_failures(void **state)
{
    (void)state;
    struct auth_config c = {.ip_failures = 3, .backoff_ms = -1, .sms_file = sms_file};
    auth_configure(&c);
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, "a1", "x", NULL, "10.0.7.1", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, "a2", "x", NULL, "10.0.7.1", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, ALICE, "x", NULL, "10.0.7.1", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.7.1", tok, &p), E_RATE, "rate_limited");
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.7.2", tok, &p), E_OK);
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 3600001"),
                     E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.7.1", tok, &p), E_OK);
}

/* Data-exchange accounts are refused at sign-in, after the password. */
static void test_exchange_refused(void **state)
{
    (void)state;
    seed_role("exchange_client");
    (void)seed_user("camera", ALICE_P, "exchange_client");
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, "camera", "wrong-Pass1", NULL, "10.0.8.1", tok, &p), E_AUTH,
               "bad_credentials");
    expect_err(auth_login(D, "camera", ALICE_P, NULL, "10.0.8.1", tok, &p), E_FORBIDDEN,
               "console_login_forbidden");
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 0);
}

static void test_ip_rate_limit(void **state)
{
    (void)state;
    configure(0, 3, 0);
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, ALICE, "bad", NULL, "10.0.0.4", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, "ghost", "bad", NULL, "10.0.0.4", tok, &p), E_AUTH, "bad_credentials");
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.0.4", tok, &p), E_OK);
    /* every attempt counts, including successful ones */
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.4", tok, &p), E_RATE, "rate_limited");
    assert_string_equal(err_last()->message, "尝试次数过多，请1分钟后再试");
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.4", tok, &p), E_RATE, "rate_limited");
    /* refused attempts never reached the account */
    assert_int_equal(failures_of(alice_id), 1);
    /* another address is not affected */
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.5", tok, &p), E_OK);
    assert_int_equal(count("SELECT count FROM rate_limits WHERE key = 'login:ip:10.0.0.4'"), 5);
    /* the window ends after a minute */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.4", tok, &p), E_OK);
    assert_int_equal(count("SELECT count FROM rate_limits WHERE key = 'login:ip:10.0.0.4'"), 1);
}

/* A hot counter (exact searches) is exact on one server, writes far fewer
 * rows than hits while far from its limit, and writes every hit near it. */
static void test_hot_counter(void **state)
{
    (void)state;
    /* this process's counts outlive the database of one group: a key per run */
    static int run;
    char k[32], small[32], sql[96];
    snprintf(k, sizeof k, "hot:test:%d", run);
    snprintf(small, sizeof small, "hot:small:%d", run++);
    snprintf(sql, sizeof sql, "SELECT count FROM rate_limits WHERE key = '%s'", k);
    int64_t n;
    bool first;
    for (int64_t i = 1; i <= 100; i++) {
        assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
        assert_int_equal(n, i);
        assert_false(first);
        if (i == 50) /* batched: the database is behind this process */
            assert_true(count(sql) < 50);
    }
    /* near the limit every hit is written: the database has them all */
    assert_int_equal(count(sql), 100);
    assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
    assert_int_equal(n, 101);
    assert_true(first);
    assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
    assert_int_equal(n, 102);
    assert_false(first);
    /* a new window starts from one, in the database and here */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 3600001"),
                     E_OK);
    assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
    assert_int_equal(n, 1);
    /* a small limit is counted in the database at every hit */
    for (int64_t i = 1; i <= 4; i++) {
        assert_int_equal(rate_limit_hit_often(D, small, 3600000, 3, &n, &first), E_OK);
        assert_int_equal(first, i == 4);
    }
    snprintf(sql, sizeof sql, "SELECT count FROM rate_limits WHERE key = '%s'", small);
    assert_int_equal(count(sql), 4);
}

/* With the batch writer running (as in the server), full batches far from
 * the limit are written by its thread: the count stays exact on this
 * server, the database catches up, every hit is written near the limit,
 * and stopping the writer writes the hits still counted here. */
static void test_hot_counter_writer(void **state)
{
    (void)state;
    static int run;
    char k[32], far[32], small[32], sql[96], sql_far[96], sql_small[96];
    snprintf(k, sizeof k, "hot:writer:%d", run);
    snprintf(small, sizeof small, "hot:wsmall:%d", run);
    snprintf(far, sizeof far, "hot:far:%d", run++);
    snprintf(sql, sizeof sql, "SELECT count FROM rate_limits WHERE key = '%s'", k);
    snprintf(sql_far, sizeof sql_far, "SELECT count FROM rate_limits WHERE key = '%s'", far);
    snprintf(sql_small, sizeof sql_small, "SELECT count FROM rate_limits WHERE key = '%s'", small);
    assert_int_equal(rate_limit_start(db_kind(D) == DB_SQLITE ? F.path : getenv("FK_DB")), E_OK);
    int64_t n;
    bool first;
    for (int64_t i = 1; i <= 100; i++) {
        assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
        assert_int_equal(n, i);
        assert_false(first);
    }
    /* near the limit every hit was written after the writer's batches */
    assert_int_equal(count(sql), 100);
    assert_int_equal(rate_limit_hit_often(D, k, 3600000, 100, &n, &first), E_OK);
    assert_int_equal(n, 101);
    assert_true(first);
    /* a small limit is written at every hit, writer or not: another
     * server's hits (two, written behind this process's back) count at once */
    assert_int_equal(rate_limit_hit_often(D, small, 3600000, 3, &n, &first), E_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count(sql_small), 1);
    snprintf(sql, sizeof sql, "UPDATE rate_limits SET count = count + 2 WHERE key = '%s'", small);
    assert_int_equal(db_exec(D, sql), E_OK);
    assert_int_equal(rate_limit_hit_often(D, small, 3600000, 3, &n, &first), E_OK);
    assert_int_equal(n, 4);
    assert_true(first);
    /* far from a large limit: 1,000 hits, none refused, counted exactly */
    for (int64_t i = 1; i <= 1000; i++) {
        assert_int_equal(rate_limit_hit_often(D, far, 3600000, 1000000, &n, &first), E_OK);
        assert_int_equal(n, i);
    }
    /* the writer has written some batches, not necessarily all of them;
     * stopping writes the rest */
    rate_limit_stop();
    assert_int_equal(count(sql_far), 1000);
    /* without the writer the hot path writes its own batches again */
    assert_int_equal(rate_limit_hit_often(D, far, 3600000, 1000000, &n, &first), E_OK);
    assert_int_equal(n, 1001);
    rate_limit_stop(); /* harmless when not running */
}

/* ---- sessions ------------------------------------------------------------- */

static int64_t last_seen(void)
{
    return count("SELECT MAX(last_seen) FROM sessions");
}

static void test_session_expiry(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.6", tok, &p), E_OK);

    /* Time passes by editing last_seen behind the module's back, so each
     * edit is followed by auth_changed(): the session cache would otherwise
     * (rightly) trust what it read within the last second. */
    /* recently seen: no write */
    assert_int_equal(db_exec(D, "UPDATE sessions SET last_seen = last_seen - 10000"), E_OK);
    auth_changed();
    int64_t before = last_seen();
    assert_int_equal(auth_session_find(D, tok, &p), E_OK);
    assert_true(last_seen() == before);
    /* seen over 30 s ago: refreshed */
    assert_int_equal(db_exec(D, "UPDATE sessions SET last_seen = last_seen - 30000"), E_OK);
    auth_changed();
    int64_t t0 = now_ms();
    assert_int_equal(auth_session_find(D, tok, &p), E_OK);
    assert_true(last_seen() >= t0);

    /* idle past the limit: gone */
    configure(1, 0, 0);
    assert_int_equal(auth_session_find(D, tok, &p), E_OK);
    assert_int_equal(db_exec(D, "UPDATE sessions SET last_seen = last_seen - 1100"), E_OK);
    auth_changed();
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "session_expired");
    assert_string_equal(err_last()->message, "登录已过期，请重新登录");
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 0);
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "session_expired");

    /* not tokens at all */
    char other[TOKEN_HEX_LEN + 1];
    memset(other, 'a', TOKEN_HEX_LEN);
    other[TOKEN_HEX_LEN] = '\0';
    expect_err(auth_session_find(D, other, &p), E_AUTH, "session_expired");
    expect_err(auth_session_find(D, "abc", &p), E_AUTH, "session_expired");
    expect_err(auth_session_find(D, "", &p), E_AUTH, "session_expired");
    expect_err(auth_session_find(D, NULL, &p), E_AUTH, "session_expired");
    other[5] = 'z';
    expect_err(auth_session_find(D, other, &p), E_AUTH, "session_expired");
}

static void test_logout(void **state)
{
    (void)state;
    char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1], r[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.7", a, &p), E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.7", b, &p), E_OK);
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.0.7", r, &p), E_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(auth_logout(D, a), E_OK);
    expect_err(auth_session_find(D, a, &p), E_AUTH, "session_expired");
    assert_int_equal(auth_session_find(D, b, &p), E_OK);
    assert_int_equal(auth_logout(D, a), E_OK);      /* twice is fine */
    assert_int_equal(auth_logout(D, "junk"), E_OK); /* so is nonsense */
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.7", a, &p), E_OK);
    assert_int_equal(auth_logout_all(D, alice_id), E_OK);
    expect_err(auth_session_find(D, a, &p), E_AUTH, "session_expired");
    expect_err(auth_session_find(D, b, &p), E_AUTH, "session_expired");
    assert_int_equal(auth_session_find(D, r, &p), E_OK); /* root unaffected */
}

static void test_change_password(void **state)
{
    (void)state;
    char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.8", a, &p), E_OK);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.8", b, &p), E_OK);
    set_user_col("must_change_password", 1, alice_id);

    expect_err(auth_change_password(D, alice_id, "nope", "N3w-secret", a), E_INPUT, "bad_password");
    assert_string_equal(err_last()->field, "old_password");
    assert_string_equal(err_last()->message, "原密码错误");
    expect_err(auth_change_password(D, alice_id, ALICE_P, "weak", a), E_INPUT, "weak_password");
    assert_string_equal(err_last()->field, "new_password");
    expect_err(auth_change_password(D, alice_id, ALICE_P, ALICE_P, a), E_INPUT, "same_password");
    assert_string_equal(err_last()->field, "new_password");
    assert_int_equal(auth_session_find(D, b, &p), E_OK); /* nothing changed yet */
    assert_true(p.must_change_password);

    int64_t t0 = now_ms();
    assert_int_equal(auth_change_password(D, alice_id, ALICE_P, "N3w-secret", a), E_OK);
    assert_int_equal(auth_session_find(D, a, &p), E_OK);
    assert_false(p.must_change_password);
    expect_err(auth_session_find(D, b, &p), E_AUTH, "session_expired");
    assert_true(user_col("password_changed_at", alice_id) >= t0);
    expect_err(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.8", b, &p), E_AUTH, "bad_credentials");
    assert_int_equal(auth_login(D, ALICE, "N3w-secret", NULL, "10.0.0.8", b, &p), E_OK);

    /* without a session to keep, all end */
    assert_int_equal(auth_change_password(D, alice_id, "N3w-secret", "Th1rd-secret", NULL), E_OK);
    expect_err(auth_session_find(D, a, &p), E_AUTH, "session_expired");
    expect_err(auth_session_find(D, b, &p), E_AUTH, "session_expired");
    expect_err(auth_change_password(D, 12345, "x", "Th1rd-secret", NULL), E_NOT_FOUND,
               "user_not_found");
}

static void test_set_password(void **state)
{
    (void)state;
    char a[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.9", a, &p), E_OK);
    expect_err(auth_set_password(D, alice_id, "short", true), E_INPUT, "weak_password");
    assert_string_equal(err_last()->field, "password");
    assert_int_equal(auth_set_password(D, alice_id, "Reset-Pass9", true), E_OK);
    expect_err(auth_session_find(D, a, &p), E_AUTH, "session_expired");
    assert_int_equal(auth_login(D, ALICE, "Reset-Pass9", NULL, "10.0.0.9", a, &p), E_OK);
    assert_true(p.must_change_password);
    expect_err(auth_set_password(D, 12345, "Reset-Pass9", false), E_NOT_FOUND, "user_not_found");
}

/* ---- TOTP --------------------------------------------------------------- */

static void test_totp(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1], secret[64], uri[256], code[7], wrong[7];
    struct principal p;

    expect_err(auth_totp_confirm(D, root_id, "123456"), E_CONFLICT, "totp_not_started");
    assert_int_equal(auth_totp_begin(D, root_id, "root@东城", secret, uri), E_OK);
    assert_int_equal(strlen(secret), 32); /* 20 bytes in base32 */
    char want[256];
    snprintf(want, sizeof want,
             "otpauth://totp/fangkong:root%%40%%E4%%B8%%9C%%E5%%9F%%8E?secret=%s"
             "&issuer=fangkong&digits=6&period=30",
             secret);
    assert_string_equal(uri, want);
    /* the secret is sealed at rest: not there in the clear */
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT totp_secret_enc FROM users WHERE id = ?", &s), E_OK);
    db_bind_int64(s, 1, root_id);
    assert_int_equal(db_step(s), DB_ROW);
    size_t n;
    const void *ct = db_col_blob(s, 0, &n);
    assert_int_equal(n, 20 + SEAL_OVERHEAD);
    char plain[64];
    size_t plen;
    assert_int_equal(unseal_buf("users.totp_secret", ct, n, plain, &plen), E_OK);
    assert_int_equal(plen, 20);
    db_done(s);

    /* not enabled until proven: sign-in still needs no code */
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.1.1", tok, &p), E_OK);
    assert_true(p.totp_required && !p.totp_enabled);

    assert_int_equal(totp_now(secret, code), E_OK);
    assert_int_equal(strlen(code), 6);
    memcpy(wrong, code, sizeof wrong);
    wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
    expect_err(auth_totp_confirm(D, root_id, wrong), E_INPUT, "bad_totp");
    expect_err(auth_totp_confirm(D, root_id, "12345"), E_INPUT, "bad_totp");
    expect_err(auth_totp_confirm(D, root_id, NULL), E_INPUT, "bad_totp");
    assert_int_equal(auth_totp_confirm(D, root_id, code), E_OK);
    assert_int_equal(user_col("totp_enabled", root_id), 1);
    assert_true(user_col("totp_last_step", root_id) > 0);
    expect_err(auth_totp_begin(D, root_id, "root", secret, uri), E_CONFLICT,
               "totp_already_enabled");

    /* the code is now required */
    expect_err(auth_login(D, ROOT, ROOT_P, NULL, "10.0.1.1", tok, &p), E_AUTH, "totp_required");
    assert_string_equal(err_last()->field, "totp");
    assert_string_equal(err_last()->message, "请输入动态验证码");
    expect_err(auth_login(D, ROOT, ROOT_P, "", "10.0.1.1", tok, &p), E_AUTH, "totp_required");
    /* the code that confirmed enrolment cannot be replayed */
    expect_err(auth_login(D, ROOT, ROOT_P, code, "10.0.1.1", tok, &p), E_AUTH, "bad_totp");
    assert_string_equal(err_last()->message, "动态验证码错误");
    assert_int_equal(failures_of(root_id), 1); /* counts as a failure */
    expect_err(auth_login(D, ROOT, ROOT_P, wrong, "10.0.1.1", tok, &p), E_AUTH, "bad_totp");
    assert_int_equal(failures_of(root_id), 2);
    /* a wrong password is still a wrong password, code or not */
    expect_err(auth_login(D, ROOT, "Adm1n#nope", code, "10.0.1.1", tok, &p), E_AUTH,
               "bad_credentials");

    /* pretend enrolment happened long ago: the current code works once */
    set_user_col("totp_last_step", 0, root_id);
    assert_int_equal(totp_now(secret, code), E_OK);
    assert_int_equal(auth_login(D, ROOT, ROOT_P, code, "10.0.1.1", tok, &p), E_OK);
    assert_true(p.totp_required && p.totp_enabled);
    assert_int_equal(user_col("failed_logins", root_id), 0);
    int64_t step = user_col("totp_last_step", root_id);
    assert_true(step >= now_ms() / 30000 - 1 && step <= now_ms() / 30000 + 1);
    expect_err(auth_login(D, ROOT, ROOT_P, code, "10.0.1.1", tok, &p), E_AUTH, "bad_totp");

    /* wrong codes lock the account like wrong passwords */
    for (int i = 0; i < 3; i++)
        expect_err(auth_login(D, ROOT, ROOT_P, wrong, "10.0.1.1", tok, &p), E_AUTH, "bad_totp");
    expect_err(auth_login(D, ROOT, ROOT_P, wrong, "10.0.1.1", tok, &p), E_LOCKED, "account_locked");
    assert_int_equal(auth_unlock(D, root_id), E_OK);

    /* reset: back to password only */
    assert_int_equal(auth_totp_reset(D, root_id), E_OK);
    assert_int_equal(user_col("totp_enabled", root_id), 0);
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.1.1", tok, &p), E_OK);
    assert_true(p.totp_required && !p.totp_enabled);
    expect_err(auth_totp_reset(D, 12345), E_NOT_FOUND, "user_not_found");
    expect_err(totp_now("not base32!", code), E_INPUT, "invalid_secret");
}

/* ---- SMS ----------------------------------------------------------------- */

/* The code of the last line for `phone` in the SMS file. */
static void sms_code(const char *phone, char code[7])
{
    FILE *f = fopen(sms_file, "r");
    assert_non_null(f);
    char line[256], want[64];
    snprintf(want, sizeof want, "\"phone\":\"%s\"", phone);
    code[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        const char *c = strstr(line, "\"code\":\"");
        assert_non_null(strstr(line, "{\"time\":\""));
        if (strstr(line, want) && c) {
            memcpy(code, c + 8, 6);
            code[6] = '\0';
        }
    }
    fclose(f);
    assert_int_equal(strlen(code), 6);
}

static void test_sms_login(void **state)
{
    (void)state;
    const char *phone = "13812345678";
    char code[7], wrong[7], tok[TOKEN_HEX_LEN + 1];
    struct principal p;

    assert_int_equal(auth_sms_send(D, phone, "10.0.2.1"), E_OK);
    struct stat st;
    assert_int_equal(stat(sms_file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sms_code(phone, code);
    assert_int_equal(count("SELECT COUNT(*) FROM sms_codes"), 1);

    /* one code per phone per minute */
    expect_err(auth_sms_send(D, phone, "10.0.2.1"), E_RATE, "rate_limited");

    memcpy(wrong, code, sizeof wrong);
    wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
    for (int i = 0; i < 4; i++) {
        expect_err(auth_sms_login(D, phone, wrong, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
        assert_string_equal(err_last()->field, "code");
        assert_string_equal(err_last()->message, "验证码错误或已过期");
    }
    assert_int_equal(count("SELECT tries FROM sms_codes"), 4);
    expect_err(auth_sms_login(D, phone, wrong, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
    /* spent: the row stays until its window ends, so a resend cannot reset it */
    assert_int_equal(count("SELECT tries FROM sms_codes"), 5);
    /* the right code is no use once the tries are spent */
    expect_err(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
    assert_int_equal(count("SELECT COUNT(*) FROM users WHERE kind = 'resident'"), 0);

    /* a new code after the minute, within the window: the tries stay spent */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    assert_int_equal(auth_sms_send(D, phone, "10.0.2.1"), E_OK);
    assert_true(count("SELECT tries FROM sms_codes") > 5);
    sms_code(phone, code);
    expect_err(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");

    /* a new code once the window is over */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    assert_int_equal(db_exec(D, "UPDATE sms_codes SET created_at = created_at - 300001"), E_OK);
    assert_int_equal(auth_sms_send(D, phone, "10.0.2.1"), E_OK);
    assert_int_equal(count("SELECT tries FROM sms_codes"), 0);
    sms_code(phone, code);
    expect_err(auth_sms_login(D, phone, "12345", "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
    expect_err(auth_sms_login(D, phone, NULL, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
    expect_err(auth_sms_login(D, "13812345679", code, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
    assert_int_equal(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_OK);
    assert_true(p.resident);
    assert_string_equal(p.roles, "citizen");
    /* their own record, and the region names to choose a community from */
    assert_true(perm_set_equal(p.perms, PERMS(PERM_SELF, PERM_REGION_READ)));
    assert_int_equal(auth_pending(&p), AUTH_PENDING_NONE);
    assert_string_equal(p.display_name, "138****5678");
    assert_string_equal(p.username, "138****5678");
    assert_true(p.region_code == REGION);
    assert_true(p.person_id == 0);
    assert_false(p.totp_required);
    int64_t resident = p.user_id;
    assert_int_equal(count("SELECT COUNT(*) FROM sms_codes"), 0);
    assert_int_equal(auth_session_find(D, tok, &p), E_OK);
    assert_true(p.user_id == resident);
    /* a code is good once */
    expect_err(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");

    /* the phone is sealed and blind-indexed, not stored in the clear */
    db_stmt *s;
    assert_int_equal(
        db_prepare(D, "SELECT phone_enc, phone_bidx, username FROM users WHERE id = ?", &s), E_OK);
    db_bind_int64(s, 1, resident);
    assert_int_equal(db_step(s), DB_ROW);
    size_t n;
    const void *ct = db_col_blob(s, 0, &n);
    char plain[64];
    size_t plen;
    assert_int_equal(unseal_buf("users.phone", ct, n, plain, &plen), E_OK);
    assert_string_equal(plain, phone);
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", phone, bidx);
    const void *b = db_col_blob(s, 1, &n);
    assert_int_equal(n, BLIND_LEN);
    assert_memory_equal(b, bidx, BLIND_LEN);
    assert_true(db_col_null(s, 2));
    db_done(s);

    /* signing in again finds the same user */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    assert_int_equal(auth_sms_send(D, phone, "10.0.2.1"), E_OK);
    sms_code(phone, code);
    assert_int_equal(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_OK);
    assert_true(p.user_id == resident);
    assert_int_equal(count("SELECT COUNT(*) FROM users WHERE kind = 'resident'"), 1);

    /* an expired code is refused */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    assert_int_equal(auth_sms_send(D, phone, "10.0.2.1"), E_OK);
    sms_code(phone, code);
    assert_int_equal(db_exec(D, "UPDATE sms_codes SET expires_at = expires_at - 300001"), E_OK);
    expect_err(auth_sms_login(D, phone, code, "10.0.2.1", tok, &p), E_AUTH, "bad_sms_code");
}

static void test_sms_limits(void **state)
{
    (void)state;
    configure(0, 0, 2);
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_sms_send(D, "12345", "10.0.2.2"), E_INPUT, "invalid_phone");
    assert_string_equal(err_last()->field, "phone");
    expect_err(auth_sms_login(D, "2345", "123456", "10.0.2.2", tok, &p), E_INPUT, "invalid_phone");
    assert_int_equal(auth_sms_send(D, "13900000001", "10.0.2.2"), E_OK);
    assert_int_equal(auth_sms_send(D, "13900000002", "10.0.2.2"), E_OK);
    expect_err(auth_sms_send(D, "13900000003", "10.0.2.2"), E_RATE, "rate_limited");
    assert_int_equal(auth_sms_send(D, "13900000003", "10.0.2.3"), E_OK);
    /* the per-address count spans an hour */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 61000"),
                     E_OK);
    expect_err(auth_sms_send(D, "13900000004", "10.0.2.2"), E_RATE, "rate_limited");
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 3600000"),
                     E_OK);
    assert_int_equal(auth_sms_send(D, "13900000004", "10.0.2.2"), E_OK);
    /* no phone, code or token in the database's counters */
    assert_int_equal(count("SELECT COUNT(*) FROM rate_limits WHERE key LIKE '%1390000%'"), 0);
}

static void test_sms_daily_caps(void **state)
{
    (void)state;
    struct auth_config c = {
        .sms_phone_day = 2, .sms_ip_day = 3, .backoff_ms = -1, .sms_file = sms_file};
    auth_configure(&c);
    const char *const next_minute =
        "UPDATE rate_limits SET window_start = window_start - 61000 WHERE key LIKE 'sms:phone:%'";
    assert_int_equal(auth_sms_send(D, "13700000001", "10.0.9.1"), E_OK);
    assert_int_equal(db_exec(D, next_minute), E_OK);
    assert_int_equal(auth_sms_send(D, "13700000001", "10.0.9.2"), E_OK);
    assert_int_equal(db_exec(D, next_minute), E_OK);
    expect_err(auth_sms_send(D, "13700000001", "10.0.9.3"), E_RATE, "sms_daily_limit");
    assert_string_equal(err_last()->field, "phone");
    /* per address: three codes a day, whatever the phones */
    for (int i = 2; i <= 4; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "1370000000%d", i);
        assert_int_equal(auth_sms_send(D, phone, "10.0.9.4"), E_OK);
    }
    expect_err(auth_sms_send(D, "13700000005", "10.0.9.4"), E_RATE, "sms_daily_limit");
    assert_int_equal(auth_sms_send(D, "13700000006", "10.0.9.5"), E_OK);
    /* the next day */
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 86400000"),
                     E_OK);
    assert_int_equal(auth_sms_send(D, "13700000001", "10.0.9.4"), E_OK);
}

static void test_session_max(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.6", tok, &p), E_OK);
    /* used a second ago, opened 12 h ago: gone */
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at - 43199000"), E_OK);
    auth_changed();
    assert_int_equal(auth_session_find(D, tok, &p), E_OK);
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at - 2000"), E_OK);
    auth_changed();
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "session_expired");
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 0);
    /* configurable */
    struct auth_config c = {.session_max_s = 60, .sms_file = sms_file};
    auth_configure(&c);
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.6", tok, &p), E_OK);
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at - 61000"), E_OK);
    auth_changed();
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "session_expired");
}

/* The stream's re-check: read-only and uncached, ended by sign-out, expiry
 * and a disabled account, and a database failure is an error, not "ended". */
static void test_session_check(void **state)
{
    (void)state;
    char tok[TOKEN_HEX_LEN + 1], other[TOKEN_HEX_LEN + 1];
    struct principal p, q, now;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.0.9", tok, &p), E_OK);
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.0.9", other, &q), E_OK);
    assert_int_equal(auth_session_check(D, tok, &now), E_OK);
    assert_int_equal(now.user_id, p.user_id);
    assert_true(perm_set_equal(now.perms, p.perms) && now.scope.lo == p.scope.lo &&
                now.scope.hi == p.scope.hi);
    /* it does not refresh the idle timer */
    assert_int_equal(db_exec(D, "UPDATE sessions SET last_seen = last_seen - 60000"), E_OK);
    int64_t seen = count("SELECT MIN(last_seen) FROM sessions");
    assert_int_equal(auth_session_check(D, tok, &now), E_OK);
    assert_true(count("SELECT MIN(last_seen) FROM sessions") == seen);
    /* past the absolute lifetime */
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at - 86400000"), E_OK);
    expect_err(auth_session_check(D, tok, &now), E_AUTH, "session_expired");
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at + 86400000"), E_OK);
    /* disabled, or signed out */
    set_user_col("disabled", 1, alice_id);
    assert_int_equal(auth_session_check(D, tok, &now), E_AUTH);
    set_user_col("disabled", 0, alice_id);
    assert_int_equal(auth_session_check(D, tok, &now), E_OK);
    assert_int_equal(auth_logout(D, tok), E_OK);
    expect_err(auth_session_check(D, tok, &now), E_AUTH, "session_expired");
    assert_int_equal(auth_session_check(D, "junk", &now), E_AUTH);
    /* the database failing is an error, not "no session" */
    assert_int_equal(db_exec(D, "ALTER TABLE sessions RENAME TO sessions_away"), E_OK);
    err e = auth_session_check(D, other, &q);
    err f = auth_session_find(D, other, &q);
    assert_int_equal(db_exec(D, "ALTER TABLE sessions_away RENAME TO sessions"), E_OK);
    assert_int_equal(e, E_DB);
    assert_int_equal(f, E_DB);
}

static void test_sms_staff_phone(void **state)
{
    (void)state;
    const char *phone = "13700000000";
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", phone, bidx);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE users SET phone_bidx = ? WHERE id = ?", &s), E_OK);
    db_bind_blob(s, 1, bidx, sizeof bidx);
    db_bind_int64(s, 2, alice_id);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    char code[7], tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_sms_send(D, phone, "10.0.2.4"), E_OK);
    sms_code(phone, code);
    expect_err(auth_sms_login(D, phone, code, "10.0.2.4", tok, &p), E_FORBIDDEN, "staff_phone");
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 0);
}

static void test_sms_missing_setup(void **state)
{
    (void)state;
    assert_int_equal(db_exec(D, "DELETE FROM roles WHERE key = 'citizen'"), E_OK);
    char code[7], tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_sms_send(D, "13600000000", "10.0.2.5"), E_OK);
    sms_code("13600000000", code);
    assert_int_equal(auth_sms_login(D, "13600000000", code, "10.0.2.5", tok, &p), E_INTERNAL);
    assert_int_equal(count("SELECT COUNT(*) FROM users WHERE kind = 'resident'"), 0);
}

/* A one-request SMS gateway on a private event loop in its own thread. */
struct gateway {
    struct event_base *base;
    struct evhttp *http;
    int port;
    int status;
    char body[512];
    char path[64];
    char ctype[64];
};

static void gateway_cb(struct evhttp_request *req, void *arg)
{
    struct gateway *g = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n >= sizeof g->body)
        n = sizeof g->body - 1;
    evbuffer_remove(in, g->body, n);
    g->body[n] = '\0';
    snprintf(g->path, sizeof g->path, "%s", evhttp_request_get_uri(req));
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    snprintf(g->ctype, sizeof g->ctype, "%s", ct ? ct : "");
    evhttp_send_reply(req, g->status, "X", NULL);
    struct timeval tv = {0, 100000};
    event_base_loopexit(g->base, &tv);
}

static void *gateway_run(void *arg)
{
    struct gateway *g = arg;
    event_base_dispatch(g->base);
    return NULL;
}

static void gateway_start(struct gateway *g, int status, pthread_t *th)
{
    memset(g, 0, sizeof *g);
    g->status = status;
    g->base = event_base_new();
    g->http = evhttp_new(g->base);
    assert_non_null(g->http);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(g->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len), 0);
    g->port = ntohs(sa.sin_port);
    evhttp_set_gencb(g->http, gateway_cb, g);
    assert_int_equal(pthread_create(th, NULL, gateway_run, g), 0);
}

static void gateway_stop(struct gateway *g, pthread_t th)
{
    pthread_join(th, NULL);
    evhttp_free(g->http);
    event_base_free(g->base);
}

static void test_sms_http(void **state)
{
    (void)state;
    struct gateway g;
    pthread_t th;
    char url[128];
    gateway_start(&g, 200, &th);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/sms/send?k=1", g.port);
    struct auth_config c = {.sms_driver = "http", .sms_url = url, .sms_file = sms_file};
    auth_configure(&c);
    /* unwired (no client), the http driver fails rather than pretend */
    assert_int_equal(auth_on_sms_http(NULL), E_OK);
    expect_err(auth_sms_send(D, "13512345679", "10.0.2.6"), E_UNAVAILABLE, "sms_failed");
    assert_int_equal(auth_on_sms_http(http_client_post_json), E_OK); /* as src/app.c wires it */
    assert_int_equal(auth_sms_send(D, "13512345678", "10.0.2.6"), E_OK);
    gateway_stop(&g, th);
    assert_string_equal(g.path, "/sms/send?k=1");
    assert_non_null(strstr(g.ctype, "application/json"));
    assert_non_null(strstr(g.body, "\"phone\":\"13512345678\""));
    const char *t = strstr(g.body, "\"text\":\"【防控】您的验证码是");
    assert_non_null(t);
    assert_non_null(strstr(g.body, "，5分钟内有效。\"}"));
    /* the code sent is the code that signs in */
    char code[7];
    memcpy(code, t + strlen("\"text\":\"【防控】您的验证码是"), 6);
    code[6] = '\0';
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_sms_login(D, "13512345678", code, "10.0.2.6", tok, &p), E_OK);
    assert_true(access(sms_file, F_OK) != 0); /* the file driver was not used */

    /* the gateway refuses */
    gateway_start(&g, 500, &th);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", g.port);
    auth_configure(&c);
    expect_err(auth_sms_send(D, "13512345670", "10.0.2.6"), E_UNAVAILABLE, "sms_failed");
    assert_string_equal(err_last()->message, "短信发送失败，请稍后再试");
    gateway_stop(&g, th);
    /* nobody listens (the port was just released) */
    expect_err(auth_sms_send(D, "13512345671", "10.0.2.6"), E_UNAVAILABLE, "sms_failed");
    /* not a usable URL */
    c.sms_url = "https://example.invalid/";
    auth_configure(&c);
    expect_err(auth_sms_send(D, "13512345672", "10.0.2.6"), E_UNAVAILABLE, "sms_failed");
}

/* ---- housekeeping ------------------------------------------------------- */

static void test_sweep(void **state)
{
    (void)state;
    char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, ALICE, ALICE_P, NULL, "10.0.3.1", a, &p), E_OK);
    assert_int_equal(auth_login(D, ROOT, ROOT_P, NULL, "10.0.3.1", b, &p), E_OK);
    assert_int_equal(auth_sms_send(D, "13800000001", "10.0.3.1"), E_OK);
    assert_int_equal(auth_sms_send(D, "13800000002", "10.0.3.1"), E_OK);
    int64_t uid = root_id;
    exec_i("UPDATE sessions SET last_seen = last_seen - 1801000 WHERE user_id = ?", 1, &uid);
    assert_int_equal(db_exec(D, "UPDATE rate_limits SET window_start = window_start - 86400001 "
                                "WHERE key LIKE 'sms:phone:%'"),
                     E_OK);
    int64_t rows = count("SELECT COUNT(*) FROM rate_limits");
    /* login ip, sms ip (hour and day), two phones (minute and day) */
    assert_int_equal(rows, 7);
    uint8_t bidx[BLIND_LEN];
    blind_index("users.phone", "13800000001", bidx);
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE sms_codes SET expires_at = 1 WHERE phone_bidx = ?", &s),
                     E_OK);
    db_bind_blob(s, 1, bidx, sizeof bidx);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    assert_int_equal(auth_sweep(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 1);
    assert_int_equal(auth_session_find(D, a, &p), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM rate_limits"), 5);
    assert_int_equal(count("SELECT COUNT(*) FROM sms_codes"), 1);

    /* a session past its lifetime, however recently used, and spent failures */
    assert_int_equal(db_exec(D, "UPDATE sessions SET created_at = created_at - 43200001"), E_OK);
    /* failures wanted: they are what is spent */
    err_ignore(auth_login(D, ALICE, "wrong-Pass1", NULL, "10.0.3.2", a, &p));
    err_ignore(auth_login(D, ROOT, "wrong-Pass1", NULL, "10.0.3.2", a, &p));
    exec_i("UPDATE login_failures SET last_at = last_at - 1800001 WHERE user_id = ?", 1, &uid);
    assert_int_equal(auth_sweep(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM sessions"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM login_failures"), 1);
}

static void test_config(void **state)
{
    (void)state;
    struct auth_config c = {.max_failures = 2, .sms_file = sms_file};
    auth_configure(&c);
    const struct auth_config *g = auth_get_config();
    assert_int_equal(g->max_failures, 2);
    assert_int_equal(g->session_idle_s, 1800);
    assert_int_equal(g->lock_s, 1800);
    assert_int_equal(g->ip_attempts, 30);
    assert_int_equal(g->sms_ttl_s, 300);
    assert_int_equal(g->sms_max_tries, 5);
    assert_int_equal(g->sms_per_ip, 20);
    assert_int_equal(g->session_max_s, 43200);
    assert_int_equal(g->backoff_ms, 1000);
    assert_int_equal(g->ip_failures, 100);
    assert_int_equal(g->sms_resend_s, 60);
    assert_int_equal(g->sms_phone_day, 10);
    assert_int_equal(g->sms_ip_day, 50);
    assert_false(g->cookie_insecure);
    assert_string_equal(g->sms_driver, "file");
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    expect_err(auth_login(D, ALICE, "x", NULL, "10.0.4.1", tok, &p), E_AUTH, "bad_credentials");
    expect_err(auth_login(D, ALICE, "x", NULL, "10.0.4.1", tok, &p), E_LOCKED, "account_locked");
}

/* ---- groups --------------------------------------------------------------- */

static int open_common(void)
{
    if (db_migrate(D) != E_OK)
        return -1;
    return 0;
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "auth", &D))
        return -1;
    snprintf(sms_file, sizeof sms_file, "%s/sms.log", F.dir);
    return open_common();
}

static int close_sqlite(void **state)
{
    (void)state;
    unlink(sms_file);
    fixture_sqlite_close(&F, &D);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    snprintf(F.dir, sizeof F.dir, "%s", "/tmp/fk-test-auth.XXXXXX"); /* for the SMS file */
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(sms_file, sizeof sms_file, "%s/sms.log", F.dir);
    if (fixture_pg_open(&D))
        return -1;
    return open_common();
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    unlink(sms_file);
    rmdir(F.dir);
    return 0;
}

#define T(f) cmocka_unit_test_setup(f, reset)
#define TESTS                                                                                      \
    cmocka_unit_test(test_password_policy), cmocka_unit_test(test_scope), T(test_login_ok),        \
        T(test_login_bad), T(test_lockout), T(test_lockout_unknown_same), T(test_backoff),         \
        T(test_ip_failures), T(test_exchange_refused), T(test_ip_rate_limit), T(test_hot_counter), \
        T(test_hot_counter_writer), T(test_session_expiry), T(test_session_max),                   \
        T(test_session_check), T(test_sms_daily_caps), T(test_logout), T(test_change_password),    \
        T(test_set_password), T(test_totp), T(test_sms_login), T(test_sms_limits),                 \
        T(test_sms_staff_phone), T(test_sms_missing_setup), T(test_sms_http), T(test_sweep),       \
        T(test_config)

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0xA0 + i);
    keys_set_master(master);
    /* The default cost checked first, as a fresh process has it; then every
     * hash at the API suite's cost (FK_PASSWORD_MEMORY_KIB=64 in
     * tests/api/lib.mjs): a hash carries its cost, so sign-in and
     * verification take the same paths, without ~50 ms of argon2 each. */
    const struct CMUnitTest cost_tests[] = {cmocka_unit_test(test_password_hash)};
    int failed = cmocka_run_group_tests_name("auth/cost", cost_tests, NULL, NULL);
    if (!password_cost_set(64, 1))
        return 1;
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    failed += cmocka_run_group_tests_name("auth/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed += cmocka_run_group_tests_name("auth/postgres", pg_tests, open_pg, close_pg);
    }
    return failed ? 1 : 0;
}

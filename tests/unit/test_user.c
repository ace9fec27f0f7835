/*
 * The users section of user/user.h against a migrated SQLite database (and
 * PostgreSQL when FK_DB names one): checks of new accounts, the caller's
 * scope, the grant rules of the three administrators, self-modification,
 * all-or-nothing changes, list filters, lock/delete and CLI TOTP enrolment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "user/user.h"

#define CITY   110100000000000000LL /* 110100000000 */
#define EAST   110101000000000000LL /* 东城区 */
#define EAST_C 110101001001000000LL /* a community in it */
#define WEST   110102000000000000LL /* 西城区 */
#define PW     "Passw0rd!u"

static db *D;
static struct fixture_db F;
static arena *A;

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

static int64_t q_i(const char *sql, int64_t arg)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    db_bind_int64(s, 1, arg);
    int64_t v = db_step(s) == DB_ROW ? db_col_int64(s, 0) : -1;
    db_done(s);
    return v;
}

static void region(int64_t code, int64_t parent, int level)
{
    int64_t a[] = {code, parent, level, now_ms(), now_ms()};
    exec_i("INSERT INTO regions (code, parent_code, level, name, created_at, updated_at) "
           "VALUES (?, ?, ?, 'r', ?, ?)",
           5, a);
}

static void expect_err(err got, err code, const char *slug)
{
    assert_int_equal(got, code);
    assert_string_equal(err_last()->slug, slug);
}

/* A caller as the router would give it to user.c. */
static struct principal caller(int64_t id, int64_t code, perm_set perms)
{
    return (struct principal){
        .user_id = id, .region_code = code, .scope = scope_of(code), .perms = perms};
}

#define USER_ADMIN PERMS(PERM_USER_READ, PERM_USER_WRITE)
#define SEC_ADMIN  PERMS(PERM_USER_READ, PERM_USER_WRITE, PERM_ROLE_WRITE)

static int64_t add(const struct principal *by, const char *name, int64_t code, const char *role)
{
    const char *roles[] = {role};
    struct user_new in = {.username = name,
                          .display_name = name,
                          .password = PW,
                          .region_code = code,
                          .roles = roles,
                          .n_roles = 1};
    int64_t id = 0;
    assert_int_equal(user_create(D, A, by, &in, &id), E_OK);
    return id;
}

static int reset(void **state)
{
    (void)state;
    static const char *const wipe[] = {"DELETE FROM sessions", "DELETE FROM user_roles",
                                       "DELETE FROM users", "DELETE FROM departments",
                                       "DELETE FROM regions"};
    for (size_t i = 0; i < sizeof wipe / sizeof *wipe; i++)
        if (db_exec(D, wipe[i]))
            return -1;
    region(CITY, 0, 2);
    region(EAST, CITY, 3);
    region(EAST_C, EAST, 5);
    region(WEST, CITY, 3);
    arena_reset(A);
    err_clear();
    return 0;
}

static void test_username_shape(void **state)
{
    (void)state;
    assert_int_equal(user_check_username("a.b-c_9", "username"), E_OK);
    assert_int_equal(user_check_username("abc", "username"), E_OK);
    assert_int_equal(user_check_username("a234567890123456789012345678901b", "u"), E_OK);
    const char *bad[] = {"", "ab", "a b", "张三", "a'--", "a/b", "x%", NULL};
    for (const char **b = bad; *b; b++)
        expect_err(user_check_username(*b, "username"), E_INPUT, "invalid_username");
    expect_err(user_check_username(NULL, "username"), E_INPUT, "invalid_username");
    expect_err(user_check_username("a23456789012345678901234567890123", "u"), E_INPUT,
               "invalid_username");
    assert_string_equal(err_last()->field, "u");
}

static void test_create_checks(void **state)
{
    (void)state;
    int64_t id = add(NULL, "alice", EAST_C, "grid_worker");
    struct user u;
    assert_int_equal(user_find(D, A, NULL, id, &u), E_OK);
    assert_string_equal(u.username, "alice");
    assert_int_equal(u.region_code, EAST_C);
    assert_int_equal(u.n_roles, 1);
    assert_string_equal(u.roles[0].key, "grid_worker");
    assert_false(u.must_change_password);
    assert_null(u.phone_masked);

    const char *roles[] = {"grid_worker", "grid_worker"};
    struct user_new in = {.username = "ALICE",
                          .display_name = "x",
                          .password = PW,
                          .region_code = EAST_C,
                          .roles = roles,
                          .n_roles = 2};
    int64_t got = 0;
    expect_err(user_create(D, A, NULL, &in, &got), E_CONFLICT, "duplicate_username");
    assert_int_equal(err_last()->ref, id);
    in.username = "bob";
    in.password = "password";
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "weak_password");
    in.password = PW;
    in.display_name = " ";
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "required");
    in.display_name = "Bob";
    in.region_code = 110199000000000000LL;
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "invalid_region");
    in.region_code = EAST_C;
    in.department_id = 42;
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "invalid_department");
    in.department_id = 0;
    const char *unknown[] = {"grid_worker", "nope"};
    in.roles = unknown;
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "invalid_role");
    assert_string_equal(err_last()->field, "roles");
    in.n_roles = 0;
    expect_err(user_create(D, A, NULL, &in, &got), E_INPUT, "required");
    assert_int_equal(q_i("SELECT COUNT(*) FROM users WHERE id <> ?", 0), 1);
    /* repeated keys collapse into one role */
    in.roles = roles;
    in.n_roles = 2;
    assert_int_equal(user_create(D, A, NULL, &in, &got), E_OK);
    assert_int_equal(q_i("SELECT COUNT(*) FROM user_roles WHERE user_id = ?", got), 1);
}

static void test_scope(void **state)
{
    (void)state;
    int64_t e = add(NULL, "east_user", EAST_C, "grid_worker");
    int64_t w = add(NULL, "west_user", WEST, "grid_worker");
    struct principal p = caller(add(NULL, "eastadm", EAST, "system_admin"), EAST, USER_ADMIN);
    struct user u;
    assert_int_equal(user_find(D, A, &p.scope, e, &u), E_OK);
    expect_err(user_find(D, A, &p.scope, w, &u), E_NOT_FOUND, "user_not_found");
    expect_err(user_lock(D, A, &p, w), E_NOT_FOUND, "user_not_found");
    expect_err(user_unlock(D, A, &p, w), E_NOT_FOUND, "user_not_found");
    expect_err(user_delete(D, A, &p, w), E_NOT_FOUND, "user_not_found");
    expect_err(user_reset_password(D, A, &p, w, "An0ther-pass", true), E_NOT_FOUND,
               "user_not_found");
    struct user_patch patch = {.display_name = "x"};
    expect_err(user_update(D, A, &p, w, &patch), E_NOT_FOUND, "user_not_found");
    assert_int_equal(q_i("SELECT disabled + locked_until FROM users WHERE id = ?", w), 0);
    /* nor create or move into the other district */
    const char *roles[] = {"grid_worker"};
    struct user_new in = {.username = "carol",
                          .display_name = "c",
                          .password = PW,
                          .region_code = WEST,
                          .roles = roles,
                          .n_roles = 1};
    int64_t got;
    expect_err(user_create(D, A, &p, &in, &got), E_INPUT, "invalid_region");
    patch = (struct user_patch){.set_region = true, .region_code = WEST};
    expect_err(user_update(D, A, &p, e, &patch), E_INPUT, "invalid_region");
    assert_int_equal(q_i("SELECT region_code FROM users WHERE id = ?", e), EAST_C);

    struct user_filter f = {.page = 1, .page_size = 50, .locked = -1, .disabled = -1};
    struct user *items;
    size_t n;
    int64_t total;
    assert_int_equal(user_list(D, A, &p, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 2); /* east_user and eastadm */
    for (size_t i = 0; i < n; i++)
        assert_true(scope_has(&p.scope, items[i].region_code));
}

static void test_grant_rules(void **state)
{
    (void)state;
    struct principal sys = caller(add(NULL, "sys", CITY, "system_admin"), CITY, USER_ADMIN);
    struct principal sec = caller(add(NULL, "sec", CITY, "security_admin"), CITY, SEC_ADMIN);
    /* the auditor's right combines with no other, over several roles too */
    const char *mixed[] = {"grid_worker", "audit_admin"};
    struct user_new in = {.username = "aud",
                          .display_name = "a",
                          .password = PW,
                          .region_code = CITY,
                          .roles = mixed,
                          .n_roles = 2};
    int64_t aud = 0;
    expect_err(user_create(D, A, &sec, &in, &aud), E_INPUT, "separation_of_duties");
    const char *audit[] = {"audit_admin"};
    in.roles = audit;
    in.n_roles = 1;
    expect_err(user_create(D, A, &sys, &in, &aud), E_FORBIDDEN, "role_grant_forbidden");
    assert_int_equal(q_i("SELECT COUNT(*) FROM users WHERE username = 'aud' AND ? = 0", 0), 0);
    assert_int_equal(user_create(D, A, &sec, &in, &aud), E_OK);

    /* the system admin cannot take the auditor's account over */
    expect_err(user_reset_password(D, A, &sys, aud, "T4keover-pass", false), E_FORBIDDEN,
               "protected_account");
    expect_err(user_totp_reset(D, A, &sys, aud), E_FORBIDDEN, "protected_account");
    expect_err(user_lock(D, A, &sys, aud), E_FORBIDDEN, "protected_account");
    expect_err(user_delete(D, A, &sys, aud), E_FORBIDDEN, "protected_account");
    const char *plain[] = {"grid_worker"};
    struct user_patch p = {.set_roles = true, .roles = plain, .n_roles = 1};
    expect_err(user_update(D, A, &sys, aud, &p), E_FORBIDDEN, "protected_account");
    p = (struct user_patch){.set_disabled = true, .disabled = true};
    expect_err(user_update(D, A, &sys, aud, &p), E_FORBIDDEN, "protected_account");
    assert_int_equal(q_i("SELECT COUNT(*) FROM user_roles WHERE user_id = ?", aud), 1);
    /* nor rename, sign out or unlock it (issue 8) */
    expect_err(user_unlock(D, A, &sys, aud), E_FORBIDDEN, "protected_account");
    expect_err(user_logout_all(D, A, &sys, aud), E_FORBIDDEN, "protected_account");
    p = (struct user_patch){.display_name = "审计员"};
    expect_err(user_update(D, A, &sys, aud, &p), E_FORBIDDEN, "protected_account");
    /* the security administrator's right may; and its holder renames itself */
    assert_int_equal(user_unlock(D, A, &sec, aud), E_OK);
    assert_int_equal(user_logout_all(D, A, &sec, aud), E_OK);
    struct principal self = caller(aud, CITY, (perm_set){{0}});
    assert_int_equal(user_update(D, A, &self, aud, &p), E_OK);
    /* no citizen role on a staff account */
    const char *citizen[] = {"grid_worker", "citizen"};
    struct user_new cit = {.username = "cit",
                           .display_name = "c",
                           .password = PW,
                           .region_code = CITY,
                           .roles = citizen,
                           .n_roles = 2};
    int64_t cid = 0;
    expect_err(user_create(D, A, NULL, &cit, &cid), E_INPUT, "citizen_role_for_staff");
    assert_string_equal(err_last()->field, "roles");
    /* the security admin's right may */
    p = (struct user_patch){.set_roles = true, .roles = plain, .n_roles = 1};
    assert_int_equal(user_update(D, A, &sec, aud, &p), E_OK);
    assert_int_equal(q_i("SELECT COUNT(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
                         "WHERE ur.user_id = ? AND r.key = 'grid_worker'",
                         aud),
                     1);

    /* granting a protected role to an ordinary account */
    int64_t g = add(&sys, "grid", EAST_C, "grid_worker");
    const char *up[] = {"grid_worker", "system_admin"};
    p = (struct user_patch){.set_roles = true, .roles = up, .n_roles = 2};
    expect_err(user_update(D, A, &sys, g, &p), E_FORBIDDEN, "role_grant_forbidden");
    assert_int_equal(q_i("SELECT COUNT(*) FROM user_roles WHERE user_id = ?", g), 1);
}

static void test_self(void **state)
{
    (void)state;
    int64_t id = add(NULL, "myself", CITY, "command_center");
    struct principal me = caller(id, CITY, SEC_ADMIN);
    const char *more[] = {"command_center", "grid_worker"};
    struct user_patch p = {.set_roles = true, .roles = more, .n_roles = 2};
    expect_err(user_update(D, A, &me, id, &p), E_FORBIDDEN, "self_modification");
    p = (struct user_patch){.set_region = true, .region_code = EAST};
    expect_err(user_update(D, A, &me, id, &p), E_FORBIDDEN, "self_modification");
    p = (struct user_patch){.set_disabled = true, .disabled = true};
    expect_err(user_update(D, A, &me, id, &p), E_FORBIDDEN, "self_modification");
    expect_err(user_lock(D, A, &me, id), E_FORBIDDEN, "self_modification");
    expect_err(user_delete(D, A, &me, id), E_FORBIDDEN, "self_modification");
    expect_err(user_totp_reset(D, A, &me, id), E_FORBIDDEN, "self_modification");
    expect_err(user_reset_password(D, A, &me, id, "An0ther-pass", false), E_FORBIDDEN,
               "self_modification");
    /* the same values sent back are no change */
    const char *same[] = {"command_center"};
    p = (struct user_patch){.display_name = "Me",
                            .set_roles = true,
                            .roles = same,
                            .n_roles = 1,
                            .set_region = true,
                            .region_code = CITY};
    assert_int_equal(user_update(D, A, &me, id, &p), E_OK);
}

static void test_update_all_or_nothing(void **state)
{
    (void)state;
    int64_t id = add(NULL, "victim", EAST_C, "grid_worker");
    const char *bad[] = {"doctor", "no_such"};
    struct user_patch p = {
        .display_name = "Changed", .set_roles = true, .roles = bad, .n_roles = 2};
    expect_err(user_update(D, A, NULL, id, &p), E_INPUT, "invalid_role");
    struct user u;
    assert_int_equal(user_find(D, A, NULL, id, &u), E_OK);
    assert_string_equal(u.display_name, "victim");
    assert_int_equal(u.n_roles, 1);
    const char *good[] = {"doctor", "grid_worker"};
    p.roles = good;
    assert_int_equal(user_update(D, A, NULL, id, &p), E_OK);
    assert_int_equal(user_find(D, A, NULL, id, &u), E_OK);
    assert_string_equal(u.display_name, "Changed");
    assert_int_equal(u.n_roles, 2);
    assert_string_equal(u.roles[0].key, "doctor");
}

static void test_list_filters(void **state)
{
    (void)state;
    add(NULL, "ann", EAST_C, "grid_worker");
    add(NULL, "ANDY", EAST, "doctor");
    add(NULL, "bo_b", WEST, "grid_worker");
    struct user *items;
    size_t n;
    int64_t total;
    struct user_filter f = {.q = "an",
                            .page = 1,
                            .page_size = 10,
                            .locked = -1,
                            .disabled = -1,
                            .sort = USER_SORT_USERNAME};
    assert_int_equal(user_list(D, A, NULL, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 2);
    assert_string_equal(items[0].username, "ANDY");
    assert_string_equal(items[1].username, "ann");
    f.q = "_"; /* LIKE's own wildcard, matched literally */
    assert_int_equal(user_list(D, A, NULL, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 1);
    assert_string_equal(items[0].username, "bo_b");
    f = (struct user_filter){.role = "grid_worker",
                             .region_code = CITY,
                             .page = 1,
                             .page_size = 1,
                             .locked = -1,
                             .disabled = -1,
                             .sort = USER_SORT_USERNAME,
                             .desc = true};
    assert_int_equal(user_list(D, A, NULL, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 2);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].username, "bo_b");
    assert_int_equal(items[0].n_roles, 1);
    f.page = 3;
    assert_int_equal(user_list(D, A, NULL, &f, &items, &n, &total), E_OK);
    assert_int_equal(n, 0);
    f = (struct user_filter){
        .region_code = WEST, .page = 1, .page_size = 10, .locked = 1, .disabled = -1};
    assert_int_equal(user_list(D, A, NULL, &f, &items, &n, &total), E_OK);
    assert_int_equal(total, 0);
}

static void test_lock_delete(void **state)
{
    (void)state;
    int64_t id = add(NULL, "target", EAST_C, "grid_worker");
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, "target", PW, NULL, "10.1.0.1", tok, &p), E_OK);
    assert_int_equal(user_lock(D, A, NULL, id), E_OK);
    assert_int_equal(q_i("SELECT locked_until FROM users WHERE id = ?", id), USER_LOCKED_FOREVER);
    expect_err(auth_session_find(D, tok, &p), E_AUTH, "session_expired");
    expect_err(auth_login(D, "target", PW, NULL, "10.1.0.1", tok, &p), E_LOCKED, "account_locked");
    assert_int_equal(user_unlock(D, A, NULL, id), E_OK);
    assert_int_equal(auth_login(D, "target", PW, NULL, "10.1.0.1", tok, &p), E_OK);
    assert_int_equal(user_delete(D, A, NULL, id), E_OK);
    assert_int_equal(q_i("SELECT disabled FROM users WHERE id = ?", id), 1);
    assert_int_equal(q_i("SELECT COUNT(*) FROM sessions WHERE user_id = ?", id), 0);
    expect_err(auth_login(D, "target", PW, NULL, "10.1.0.1", tok, &p), E_AUTH, "account_disabled");
}

static void test_totp_enrol(void **state)
{
    (void)state;
    int64_t id = add(NULL, "admin", CITY, "system_admin");
    char secret[64], uri[256], code[7];
    assert_int_equal(user_totp_enrol(D, id, "admin", secret, uri), E_OK);
    assert_int_equal(q_i("SELECT totp_enabled FROM users WHERE id = ?", id), 1);
    assert_non_null(strstr(uri, secret));
    /* the first sign-in works within the same 30 s as the enrolment */
    assert_int_equal(totp_now(secret, code), E_OK);
    char tok[TOKEN_HEX_LEN + 1];
    struct principal p;
    assert_int_equal(auth_login(D, "admin", PW, code, "10.1.0.2", tok, &p), E_OK);
    expect_err(auth_login(D, "admin", PW, code, "10.1.0.2", tok, &p), E_AUTH, "bad_totp");
    int64_t got = -1;
    assert_int_equal(user_id_by_username(D, "admin", &got), E_OK);
    assert_int_equal(got, id);
    assert_int_equal(user_id_by_username(D, "nobody", &got), E_OK);
    assert_int_equal(got, 0);
    assert_int_equal(user_check_password(D, id, PW, "password"), E_OK);
    expect_err(user_check_password(D, id, "nope", "password"), E_INPUT, "bad_password");
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "user", &D))
        return -1;
    if (db_migrate(D) != E_OK || rbac_seed(D) != E_OK)
        return -1;
    return 0;
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    if (fixture_pg_open(&D) || db_migrate(D) != E_OK || rbac_seed(D) != E_OK)
        return -1;
    return 0;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

#define T(f) cmocka_unit_test_setup(f, reset)
#define TESTS                                                                                      \
    cmocka_unit_test(test_username_shape), T(test_create_checks), T(test_scope),                   \
        T(test_grant_rules), T(test_self), T(test_update_all_or_nothing), T(test_list_filters),    \
        T(test_lock_delete), T(test_totp_enrol)

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x50 + i);
    keys_set_master(master);
    /* the API suite's argon2 cost (tests/api/lib.mjs): nothing here tests
     * the cost (test_auth's test_password_hash does) */
    if (!password_cost_set(64, 1))
        return 1;
    A = arena_new(0);
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    int failed =
        cmocka_run_group_tests_name("user/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed += cmocka_run_group_tests_name("user/postgres", pg_tests, open_pg, close_pg);
    }
    arena_free(&A);
    return failed ? 1 : 0;
}

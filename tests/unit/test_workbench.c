/*
 * The workbench's day (midnight in China time, at its exact edges) and
 * migration 014: a custom role that already used a key of the two new
 * built-in roles keeps its rights under another key, and the built-in role
 * takes the key with its own permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include "base/id.h"
#include "db/migrations.h"
#include "fixture.h"
#include "security/rbac.h"
#include "workbench/workbench.h"

static struct fixture_db F;
static db *D;

static const char *migration_sql(int version)
{
    for (int i = 0; i < migrations_count; i++)
        if (migrations[i].version == version)
            return migrations[i].sql;
    return NULL;
}

static int64_t count(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

static void test_custom_role_renamed(void **state)
{
    (void)state;
    /* a deployment from before 014 with a custom community_staff role,
     * and no built-in one yet */
    assert_int_equal(db_exec(D, "DELETE FROM roles WHERE key IN ('community_staff', "
                                "'street_staff')"),
                     E_OK);
    assert_int_equal(db_exec(D,
                             "INSERT INTO roles (id, key, name, builtin, require_totp, "
                             "created_at, updated_at) VALUES (7, 'community_staff', '自定义', 0, "
                             "0, 1, 1)"),
                     E_OK);
    assert_int_equal(db_exec(D, "INSERT INTO role_permissions (role_id, permission) VALUES (7, "
                                "'person.reveal')"),
                     E_OK);
    /* 014 again (its indexes dropped first so that it runs as on the day) */
    assert_int_equal(db_exec(D, "DROP INDEX test_results_region"), E_OK);
    const char *sql = migration_sql(14);
    assert_non_null(sql);
    assert_int_equal(db_exec_script(D, sql), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM roles WHERE id = 7 AND key = "
                           "'community_staff_custom' AND builtin = 0"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM role_permissions WHERE role_id = 7"), 1);
    /* the start-up seeding then creates the built-in role with its own rights */
    assert_int_equal(rbac_seed(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM roles WHERE key = 'community_staff' AND "
                           "builtin = 1 AND id <> 7"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM role_permissions rp JOIN roles r ON r.id = "
                           "rp.role_id WHERE r.key = 'community_staff' AND rp.permission = "
                           "'person.reveal'"),
                     0);
    assert_int_equal(count("SELECT COUNT(*) FROM role_permissions rp JOIN roles r ON r.id = "
                           "rp.role_id WHERE r.key = 'community_staff' AND rp.permission = "
                           "'visitor.confirm'"),
                     1);
}

static void test_builtin_roles(void **state)
{
    (void)state;
    const struct builtin_role *cs = builtin_role_find("community_staff");
    const struct builtin_role *ss = builtin_role_find("street_staff");
    assert_non_null(cs);
    assert_non_null(ss);
    assert_string_equal(cs->name, "社区工作人员");
    assert_string_equal(ss->name, "街道工作人员");
    const enum perm never[] = {PERM_PERSON_REVEAL, PERM_PERSON_DELETE, PERM_USER_WRITE,
                               PERM_ROLE_WRITE,    PERM_AUDIT_READ,    PERM_KEY_ADMIN,
                               PERM_CONFIG,        PERM_CODE_RULES,    PERM_ZONE_WRITE};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        assert_false(perm_set_has(builtin_role_perms(cs), never[i]));
        assert_false(perm_set_has(builtin_role_perms(ss), never[i]));
    }
    assert_true(perm_set_has(builtin_role_perms(cs), PERM_VISITOR_CONFIRM));
    assert_true(perm_set_has(builtin_role_perms(ss), PERM_VISITOR_CONFIRM));
    assert_true(perm_set_has(builtin_role_perms(cs), PERM_PERSON_WRITE));
    assert_false(perm_set_has(builtin_role_perms(ss), PERM_PERSON_WRITE));
    assert_false(cs->require_totp || ss->require_totp);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "workbench", &D))
        return -1;
    return db_migrate(D) == E_OK && rbac_seed(D) == E_OK ? 0 : -1;
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_roles),
        cmocka_unit_test(test_custom_role_renamed),
    };
    return cmocka_run_group_tests_name("workbench/sqlite", tests, open_sqlite, close_sqlite);
}

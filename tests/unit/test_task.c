/*
 * Tasks (task.h) below HTTP: the kinds' registry (the built-in kind, a
 * duplicate name refused, a full table refused), task_create's checks, the
 * overdue sweep marking each late task once with one alert, and the
 * owner's helpers task_open_exists and task_cancel_for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include <stdio.h>

#include "base/id.h"
#include "fixture.h"
#include "security/crypto.h"
#include "task/task.h"

static struct fixture_db F;
static db *D;

static const struct task_kind probe_kind = {.name = "probe", .label = "测试任务"};

static void test_kinds(void **state)
{
    (void)state;
    const struct task_kind *g = task_kind_find("general");
    assert_non_null(g);
    assert_true(g->dispatchable);
    assert_string_equal(g->label, "一般任务");
    assert_null(task_kind_find("probe"));
    assert_int_equal(task_kind_register(&probe_kind), E_OK);
    assert_ptr_equal(task_kind_find("probe"), &probe_kind);
    assert_int_equal(task_kind_register(&probe_kind), E_OK); /* the same again: no-op */
    static const struct task_kind twin = {.name = "probe", .label = "重复"};
    assert_int_equal(task_kind_register(&twin), E_INTERNAL);
    assert_ptr_equal(task_kind_find("probe"), &probe_kind);
    static char names[40][16];
    static struct task_kind many[40];
    err e = E_OK;
    int i;
    for (i = 0; i < 40 && !e; i++) {
        snprintf(names[i], sizeof names[i], "filler_%d", i);
        many[i] = (struct task_kind){.name = names[i], .label = "填充"};
        e = task_kind_register(&many[i]);
    }
    assert_int_equal(e, E_INTERNAL); /* the table filled before 40 */
    assert_true(i < 40);
}

static int64_t count(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

static int64_t region, worker;

static void setup_people(void)
{
    static const char *const codes[] = {"110101001001", "110102001001"};
    assert_int_equal(fixture_regions(D, codes, 2), 0);
    enum region_level lv;
    region = regcode_parse("110101001001", &lv);
    worker = id_new();
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (id, username, display_name, kind, region_code, created_at, "
             "updated_at) VALUES (%lld, 'w%lld', '网格员甲', 'staff', %lld, 1, 1)",
             (long long)worker, (long long)worker, (long long)region);
    assert_int_equal(db_exec(D, sql), E_OK);
    snprintf(sql, sizeof sql,
             "INSERT INTO roles (id, key, name, created_at, updated_at) VALUES (%lld, "
             "'task_tester', '任务测试', 1, 1)",
             (long long)worker);
    assert_int_equal(db_exec(D, sql), E_OK);
    snprintf(sql, sizeof sql,
             "INSERT INTO role_permissions (role_id, permission) VALUES (%lld, 'task.work')",
             (long long)worker);
    assert_int_equal(db_exec(D, sql), E_OK);
    snprintf(sql, sizeof sql, "INSERT INTO user_roles (user_id, role_id) VALUES (%lld, %lld)",
             (long long)worker, (long long)worker);
    assert_int_equal(db_exec(D, sql), E_OK);
}

static struct task_new probe(int64_t deadline, int64_t subject)
{
    return (struct task_new){.kind = "probe",
                             .region_code = region,
                             .assignee_user_id = worker,
                             .priority = TASK_NORMAL,
                             .deadline = deadline,
                             .title = "测试任务",
                             .subject_id = subject,
                             .phone = "13912345678"};
}

static void test_create_checks(void **state)
{
    (void)state;
    int64_t id = 0, now = now_ms();
    struct task_new t = probe(now - 1, 0);
    assert_int_equal(task_create(D, &t, &id), E_INPUT);
    assert_string_equal(err_last()->field, "deadline");
    t = probe(now + 60000, 0);
    t.kind = "nonesuch";
    assert_int_equal(task_create(D, &t, &id), E_INPUT);
    assert_string_equal(err_last()->slug, "unknown_kind");
    t = probe(now + 60000, 0);
    enum region_level lv;
    t.region_code = regcode_parse("110102001001", &lv); /* outside the worker's scope */
    assert_int_equal(task_create(D, &t, &id), E_INPUT);
    assert_string_equal(err_last()->slug, "assignee_out_of_region");
    t = probe(now + 60000, 0);
    t.assignee_user_id = 0;
    t.assignee_role = "task_tester";
    assert_int_equal(task_create(D, &t, &id), E_OK);
    assert_true(id > 0);
    /* sealed: the phone is not stored in clear */
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM tasks WHERE id = %lld AND phone_enc IS NOT NULL", (long long)id);
    assert_int_equal(count(sql), 1);
    arena *a = arena_new(1024); /* the test's own */
    struct task got;
    struct scope sc = scope_of(region), other = scope_of(regcode_parse("110102001001", &lv));
    assert_int_equal(task_find(D, a, &sc, id, &got), E_OK);
    assert_string_equal(got.assignee_role, "task_tester");
    assert_int_equal(got.state, TASK_PENDING);
    assert_int_equal(task_find(D, a, &other, id, &got), E_NOT_FOUND);
    arena_free(&a);
}

static void test_sweep_once(void **state)
{
    (void)state;
    int64_t now = now_ms(), a = 0, b = 0, n = -1;
    struct task_new t = probe(now + 1000, 0);
    assert_int_equal(task_create(D, &t, &a), E_OK);
    t = probe(now + 2000, 0);
    assert_int_equal(task_create(D, &t, &b), E_OK);
    int64_t alerts = count("SELECT COUNT(*) FROM alerts WHERE kind = 'task_overdue'");
    assert_int_equal(task_sweep_overdue(D, now + 1500, &n), E_OK);
    assert_int_equal(n, 1); /* only the first is late */
    assert_int_equal(task_sweep_overdue(D, now + 5000, &n), E_OK);
    assert_int_equal(n, 1);
    assert_int_equal(task_sweep_overdue(D, now + 9000, &n), E_OK);
    assert_int_equal(n, 0); /* each once */
    assert_int_equal(count("SELECT COUNT(*) FROM alerts WHERE kind = 'task_overdue'"), alerts + 2);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM tasks WHERE id IN (%lld, %lld) AND state = 'overdue' AND "
             "overdue_alerted = 1",
             (long long)a, (long long)b);
    assert_int_equal(count(sql), 2);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM task_events WHERE task_id = %lld AND action = 'overdue'",
             (long long)a);
    assert_int_equal(count(sql), 1);
}

static void test_owner_helpers(void **state)
{
    (void)state;
    int64_t now = now_ms(), id = 0;
    bool yes = true;
    assert_int_equal(task_open_exists(D, "probe", 4242, &yes), E_OK);
    assert_false(yes);
    for (int i = 0; i < 2; i++) {
        struct task_new t = probe(now + 60000, 4242);
        assert_int_equal(task_create(D, &t, &id), E_OK);
    }
    assert_int_equal(task_open_exists(D, "probe", 4242, &yes), E_OK);
    assert_true(yes);
    arena *a = arena_new(1024); /* the test's own */
    assert_int_equal(task_cancel_for(D, a, NULL, "probe", 4242, "已结案"), E_OK);
    arena_free(&a);
    assert_int_equal(task_open_exists(D, "probe", 4242, &yes), E_OK);
    assert_false(yes);
    assert_int_equal(count("SELECT COUNT(*) FROM tasks WHERE subject_id = 4242 AND state = "
                           "'cancelled'"),
                     2);
    assert_int_equal(count("SELECT COUNT(*) FROM task_events e JOIN tasks t ON t.id = e.task_id "
                           "WHERE t.subject_id = 4242 AND e.action = 'cancelled' AND e.note = "
                           "'已结案'"),
                     2);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "task", &D) || db_migrate(D) != E_OK)
        return -1;
    setup_people();
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
    if (fixture_pg_open(&D) || db_migrate(D) != E_OK)
        return -1;
    setup_people();
    return 0;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x40 + i);
    keys_set_master(master);
    const struct CMUnitTest kinds[] = {cmocka_unit_test(test_kinds)};
    int failed = cmocka_run_group_tests_name("task/kinds", kinds, NULL, NULL);
    const struct CMUnitTest db_tests[] = {
        cmocka_unit_test(test_create_checks),
        cmocka_unit_test(test_sweep_once),
        cmocka_unit_test(test_owner_helpers),
    };
    failed += cmocka_run_group_tests_name("task/sqlite", db_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("task/postgres", db_tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

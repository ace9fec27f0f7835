/*
 * The exchange's change log and dataset operations (exchange/changes.c,
 * records.c, datasets.c) against a migrated SQLite database (and PostgreSQL
 * when FK_DB names one), wired as the server wires them (app_routes): every
 * write path of every dataset records exactly one change, numbered per
 * dataset; exchange_record_json sends the current record, unmasked, and
 * E_NOT_FOUND once it is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include "app.h"
#include "base/id.h"
#include "exchange/exchange.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/rbac.h"

#define CITY      110100000000000000LL
#define EAST      110101000000000000LL
#define STREET    110101001000000000LL
#define COMMUNITY 110101001001000000LL
#define WEST      110102000000000000LL

static db *D;
static arena *A;
static struct fixture_db F;

/* perms set in main: a perm_set is built at run time */
static struct principal staff = {
    .user_id = 7,
    .region_code = CITY,
    .scope = {CITY, 110200000000000000LL},
};

static int64_t q_i(const char *sql, const char *arg)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    if (arg)
        db_bind_text(s, 1, arg);
    int64_t v = db_step(s) == DB_ROW ? db_col_int64(s, 0) : -1;
    db_done(s);
    return v;
}

/* The number of changes of dataset `ds` logged so far. */
static int64_t changes(enum exchange_dataset ds)
{
    return q_i("SELECT COUNT(*) FROM exchange_changes WHERE dataset = ?",
               exchange_dataset_name(ds));
}

/* The last change of ds: its object, region and op. */
static void last_change(enum exchange_dataset ds, int64_t *seq, int64_t *id, int64_t *region,
                        char op[8])
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "SELECT seq, object_id, region_code, op FROM exchange_changes "
                                "WHERE dataset = ? ORDER BY seq DESC LIMIT 1",
                                &s),
                     E_OK);
    db_bind_text(s, 1, exchange_dataset_name(ds));
    assert_int_equal(db_step(s), DB_ROW);
    *seq = db_col_int64(s, 0);
    *id = db_col_int64(s, 1);
    *region = db_col_int64(s, 2);
    snprintf(op, 8, "%s", db_col_text(s, 3));
    db_done(s);
}

static void region(int64_t code, int64_t parent, int level, const char *name)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO regions (code, parent_code, level, name, created_at, "
                                "updated_at) VALUES (?, ?, ?, ?, 0, 0)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, parent);
    db_bind_int64(s, 3, level);
    db_bind_text(s, 4, name);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
}

static int reset(void **state)
{
    (void)state;
    static const char *const wipe[] = {
        "DELETE FROM exchange_changes", "UPDATE exchange_seq SET seq = 0",
        "DELETE FROM person_history",   "DELETE FROM person_name_tokens",
        "DELETE FROM health_codes",     "DELETE FROM persons",
        "DELETE FROM regions"};
    for (size_t i = 0; i < sizeof wipe / sizeof *wipe; i++)
        if (db_exec(D, wipe[i]))
            return -1;
    region(CITY, 0, 2, "北京市");
    region(EAST, CITY, 3, "东城区");
    region(STREET, EAST, 4, "东华门街道");
    region(COMMUNITY, STREET, 5, "多福巷社区");
    region(WEST, CITY, 3, "西城区");
    arena_reset(A);
    err_clear();
    return 0;
}

static int64_t new_person(const char *name, const char *idn, int64_t where)
{
    struct person p = {.name = name,
                       .id_type = ID_RESIDENT,
                       .id_number = idn,
                       .region_code = where,
                       .phone = "13800000001",
                       .address = "多福巷1号"};
    assert_int_equal(person_create(D, A, &staff, &p, 0, NULL), E_OK);
    return p.id;
}

/* ---- the log itself ------------------------------------------------------------- */

static void test_change_numbers(void **state)
{
    (void)state;
    /* outside a transaction a number could commit apart from its write */
    assert_int_equal(exchange_change(D, DS_ZONES, 1, EAST, "upsert"), E_INTERNAL);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(exchange_change(D, DS_ZONES, 1, EAST, "upsert"), E_OK);
    assert_int_equal(exchange_change(D, DS_ZONES, 2, WEST, "delete"), E_OK);
    assert_int_equal(exchange_change(D, DS_RESULTS, 3, WEST, "upsert"), E_OK);
    assert_int_equal(exchange_change(D, DS_ZONES, 4, EAST, "patch"), E_INTERNAL);
    assert_int_equal(exchange_change(D, DS__COUNT, 4, EAST, "upsert"), E_INTERNAL);
    assert_int_equal(db_commit(D), E_OK);
    /* numbered per dataset from 1 */
    int64_t seq, id, reg;
    char op[8];
    last_change(DS_ZONES, &seq, &id, &reg, op);
    assert_int_equal(seq, 2);
    assert_int_equal(id, 2);
    assert_int_equal(reg, WEST);
    assert_string_equal(op, "delete");
    last_change(DS_RESULTS, &seq, &id, &reg, op);
    assert_int_equal(seq, 1);
    /* a rolled-back write leaves neither its change nor its number */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(exchange_change(D, DS_ZONES, 5, EAST, "upsert"), E_OK);
    db_rollback(D);
    assert_int_equal(changes(DS_ZONES), 2);
    assert_int_equal(q_i("SELECT seq FROM exchange_seq WHERE dataset = ?", "zones"), 2);
}

/* ---- persons -------------------------------------------------------------------- */

static void test_person_writes(void **state)
{
    (void)state;
    int64_t seq, id, reg;
    char op[8];
    int64_t pid = new_person("张三", "110101199001011237", COMMUNITY);
    assert_int_equal(changes(DS_PERSONS), 1);
    last_change(DS_PERSONS, &seq, &id, &reg, op);
    assert_int_equal(id, pid);
    assert_int_equal(reg, COMMUNITY);
    assert_string_equal(op, "upsert");

    /* a change: one more; a change that changes nothing: none */
    struct person_patch pt = {.v = {.address = "多福巷2号"}, .set = PF_BIT(PF_ADDRESS)};
    struct person nv;
    assert_int_equal(person_update(D, A, &staff, pid, &pt, &nv, NULL), E_OK);
    assert_int_equal(changes(DS_PERSONS), 2);
    assert_int_equal(person_update(D, A, &staff, pid, &pt, &nv, NULL), E_OK);
    assert_int_equal(changes(DS_PERSONS), 2);
    /* a move is logged in the new region */
    pt = (struct person_patch){.v = {.region_code = WEST}, .set = PF_BIT(PF_REGION_CODE)};
    assert_int_equal(person_update(D, A, &staff, pid, &pt, &nv, NULL), E_OK);
    last_change(DS_PERSONS, &seq, &id, &reg, op);
    assert_int_equal(seq, 3);
    assert_int_equal(reg, WEST);
    /* a refused change logs nothing */
    pt = (struct person_patch){.v = {.phone = "123"}, .set = PF_BIT(PF_PHONE)};
    assert_int_equal(person_update(D, A, &staff, pid, &pt, &nv, NULL), E_INPUT);
    assert_int_equal(changes(DS_PERSONS), 3);
    /* the consent, in a transaction of the caller's */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(person_consent_set(D, A, &staff, pid, 1767225600000LL), E_OK);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(changes(DS_PERSONS), 4);

    /* the record, unmasked */
    json_t *o = NULL;
    assert_int_equal(exchange_record_json(D, A, DS_PERSONS, pid, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "张三");
    assert_string_equal(json_string_value(json_object_get(o, "id_number")), "110101199001011237");
    assert_string_equal(json_string_value(json_object_get(o, "phone")), "13800000001");
    assert_string_equal(json_string_value(json_object_get(o, "address")), "多福巷2号");
    json_decref(o);

    /* the delete */
    assert_int_equal(person_delete(D, A, &staff, pid), E_OK);
    assert_int_equal(changes(DS_PERSONS), 5);
    last_change(DS_PERSONS, &seq, &id, &reg, op);
    assert_string_equal(op, "delete");
    assert_int_equal(reg, WEST);
    assert_int_equal(exchange_record_json(D, A, DS_PERSONS, pid, &o), E_NOT_FOUND);
    /* a delete refused (already gone) logs nothing */
    assert_int_equal(person_delete(D, A, &staff, pid), E_NOT_FOUND);
    assert_int_equal(changes(DS_PERSONS), 5);
    /* a duplicate create is refused and logs nothing */
    new_person("李四", "110101199001011253", COMMUNITY);
    struct person dup = {.name = "李四",
                         .id_type = ID_RESIDENT,
                         .id_number = "110101199001011253",
                         .region_code = COMMUNITY};
    assert_int_equal(person_create(D, A, &staff, &dup, 0, NULL), E_CONFLICT);
    assert_int_equal(changes(DS_PERSONS), 6);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "xdata", &D))
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

#define T(f)  cmocka_unit_test_setup(f, reset)
#define TESTS T(test_change_numbers), T(test_person_writes)

int main(void)
{
    staff.perms = PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE);
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x31 + i);
    keys_set_master(master);
    /* the hooks between capabilities, as the server sets them */
    if (app_routes() != E_OK)
        return 1;
    A = arena_new(0);
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    int failed = cmocka_run_group_tests_name("exchange_data/sqlite", sqlite_tests, open_sqlite,
                                             close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed +=
            cmocka_run_group_tests_name("exchange_data/postgres", pg_tests, open_pg, close_pg);
    }
    arena_free(&A);
    return failed ? 1 : 0;
}

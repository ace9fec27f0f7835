/*
 * Residents' self-service (person/self.c) against a migrated SQLite database
 * (and PostgreSQL when FK_DB names one): the consent states and their
 * history, consent_at copied onto the bound record, self-registration with
 * the account's phone, binding to a staff record only on the same name and
 * phone, the one refusal for every mismatch, the fields a resident may
 * change, and that nothing is written when a step is refused.
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
#include <unistd.h>

#include "base/id.h"
#include "person/person.h"
#include "security/crypto.h"

#define CITY      110100000000000000LL
#define EAST      110101000000000000LL
#define STREET    110101001000000000LL
#define COMMUNITY 110101001001000000LL

static db *D;
static arena *A;
static struct fixture_db F;

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
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO regions (code, parent_code, level, name, created_at, "
                                "updated_at) VALUES (?, ?, ?, 'r', 0, 0)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, code);
    db_bind_int64(s, 2, parent);
    db_bind_int64(s, 3, level);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
}

/* A resident account as the first SMS sign-in makes it. */
static struct principal resident(const char *phone)
{
    uint8_t sealed[32 + SEAL_OVERHEAD], bidx[BLIND_LEN];
    assert_int_equal(seal_buf("users.phone", phone, strlen(phone), sealed), E_OK);
    blind_index("users.phone", phone, bidx);
    int64_t id = id_new();
    db_stmt *s;
    assert_int_equal(
        db_prepare(D,
                   "INSERT INTO users (id, display_name, kind, region_code, phone_enc, "
                   "phone_bidx, created_at, updated_at) VALUES (?, 'r', 'resident', ?, "
                   "?, ?, 0, 0)",
                   &s),
        E_OK);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, CITY);
    db_bind_blob(s, 3, sealed, strlen(phone) + SEAL_OVERHEAD);
    db_bind_blob(s, 4, bidx, BLIND_LEN);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    return (struct principal){.user_id = id,
                              .region_code = CITY,
                              .scope = scope_of(CITY),
                              .perms = PERMS(PERM_SELF, PERM_REGION_READ),
                              .resident = true};
}

/* perms set in main: a perm_set is built at run time */
static struct principal staff = {
    .user_id = 7,
    .region_code = EAST,
    .scope = {EAST, 110102000000000000LL},
};

static void expect_err(err got, err code, const char *slug)
{
    assert_int_equal(got, code);
    assert_string_equal(err_last()->slug, slug);
}

static void consent(const struct principal *who)
{
    struct person_consent c;
    bool changed;
    assert_int_equal(person_consent_give(D, A, who, person_purpose()->version, &c, &changed), E_OK);
}

/* A staff entry of a person with an optional phone. */
static int64_t staff_person(const char *name, const char *idn, const char *phone)
{
    struct person p = {.name = name,
                       .id_type = ID_RESIDENT,
                       .id_number = idn,
                       .region_code = COMMUNITY,
                       .phone = phone,
                       .address = "社区登记的地址"};
    assert_int_equal(person_create(D, A, &staff, &p, 0, NULL), E_OK);
    return p.id;
}

static struct person self_entry(const char *name, const char *idn)
{
    return (struct person){.name = name,
                           .id_type = ID_RESIDENT,
                           .id_number = idn,
                           .region_code = COMMUNITY,
                           .address = "自己填写的地址"};
}

#define GIVEN (PF_BIT(PF_NAME) | PF_BIT(PF_ID_NUMBER) | PF_BIT(PF_REGION_CODE) | PF_BIT(PF_ADDRESS))

static int reset(void **state)
{
    (void)state;
    static const char *const wipe[] = {
        "DELETE FROM consents", "DELETE FROM person_history", "DELETE FROM person_name_tokens",
        "DELETE FROM persons",  "DELETE FROM sessions",       "DELETE FROM user_roles",
        "DELETE FROM users",    "DELETE FROM regions"};
    for (size_t i = 0; i < sizeof wipe / sizeof *wipe; i++)
        if (db_exec(D, wipe[i]))
            return -1;
    region(CITY, 0, 2);
    region(EAST, CITY, 3);
    region(STREET, EAST, 4);
    region(COMMUNITY, STREET, 5);
    arena_reset(A);
    err_clear();
    return 0;
}

static void test_consent_states(void **state)
{
    (void)state;
    struct principal r = resident("13800000001");
    struct person_consent c;
    bool changed = true;
    assert_int_equal(person_consent_find(D, A, r.user_id, &c), E_OK);
    assert_int_equal(c.state, CONSENT_NONE);
    assert_null(c.version);
    expect_err(person_consent_require(D, A, r.user_id, NULL), E_FORBIDDEN, "consent_required");
    expect_err(person_consent_withdraw(D, A, &r, &c), E_CONFLICT, "consent_not_given");

    expect_err(person_consent_give(D, A, &r, "v0", &c, &changed), E_CONFLICT,
               "consent_version_mismatch");
    assert_string_equal(err_last()->field, "version");
    expect_err(person_consent_give(D, A, &r, NULL, &c, &changed), E_CONFLICT,
               "consent_version_mismatch");
    assert_int_equal(q_i("SELECT COUNT(*) FROM consents WHERE user_id = ?", r.user_id), 0);

    assert_int_equal(person_consent_give(D, A, &r, "v1", &c, &changed), E_OK);
    assert_true(changed);
    assert_int_equal(c.state, CONSENT_GIVEN);
    int64_t at = c.given_at;
    assert_true(at > 0);
    assert_int_equal(person_consent_require(D, A, r.user_id, NULL), E_OK);
    /* again: nothing written */
    assert_int_equal(person_consent_give(D, A, &r, "v1", &c, &changed), E_OK);
    assert_false(changed);
    assert_int_equal(c.given_at, at);
    assert_int_equal(q_i("SELECT COUNT(*) FROM consents WHERE user_id = ?", r.user_id), 1);

    assert_int_equal(person_consent_withdraw(D, A, &r, &c), E_OK);
    assert_int_equal(person_consent_find(D, A, r.user_id, &c), E_OK);
    assert_int_equal(c.state, CONSENT_WITHDRAWN);
    assert_int_equal(c.given_at, at);
    assert_true(c.withdrawn_at >= at);
    assert_string_equal(c.version, "v1");
    expect_err(person_consent_require(D, A, r.user_id, NULL), E_FORBIDDEN, "consent_required");
    expect_err(person_consent_withdraw(D, A, &r, &c), E_CONFLICT, "consent_not_given");

    assert_int_equal(person_consent_give(D, A, &r, "v1", &c, &changed), E_OK);
    assert_true(changed);
    assert_int_equal(person_consent_find(D, A, r.user_id, &c), E_OK);
    assert_int_equal(c.state, CONSENT_GIVEN);
    assert_int_equal(c.withdrawn_at, 0);
    assert_int_equal(q_i("SELECT COUNT(*) FROM consents WHERE user_id = ?", r.user_id), 3);

    /* a consent to an earlier text: outdated, asked again, still withdrawable */
    struct principal o = resident("13800000002");
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO consents (id, user_id, person_id, action, version, "
                                "at) VALUES (?, ?, 0, 'given', 'v0', 5)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, o.user_id);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    assert_int_equal(person_consent_find(D, A, o.user_id, &c), E_OK);
    assert_int_equal(c.state, CONSENT_OUTDATED);
    expect_err(person_consent_require(D, A, o.user_id, NULL), E_FORBIDDEN, "consent_required");
    assert_int_equal(person_consent_give(D, A, &o, "v1", &c, &changed), E_OK);
    assert_true(changed);
    assert_int_equal(c.state, CONSENT_GIVEN);
    assert_string_equal(person_consent_state_name(CONSENT_OUTDATED), "outdated");
}

static void test_register_created(void **state)
{
    (void)state;
    struct principal r = resident("13800000011");
    struct person in = self_entry("王五", "110101199003070011"), p;
    enum person_self_result how = 0;
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_FORBIDDEN,
               "consent_required");
    assert_int_equal(q_i("SELECT COUNT(*) FROM persons WHERE id > ?", 0), 0);
    consent(&r);
    struct person_consent c;
    assert_int_equal(person_consent_find(D, A, r.user_id, &c), E_OK);

    in = self_entry("王五", "110101199003070011");
    assert_int_equal(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_CREATED);
    assert_string_equal(p.phone, "13800000011");
    assert_string_equal(p.source, "self");
    assert_int_equal(p.consent_at, c.given_at);
    assert_int_equal(p.created_by, r.user_id);
    assert_int_equal(q_i("SELECT person_id FROM users WHERE id = ?", r.user_id), p.id);

    struct person mine;
    assert_int_equal(person_self_find(D, A, &r, &mine), E_OK);
    assert_int_equal(mine.id, p.id);
    in = self_entry("王五", "110101199003070011");
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_CONFLICT,
               "already_registered");

    /* withdrawal clears consent_at on the record (with a history entry);
     * consenting again sets it */
    int64_t hist = q_i("SELECT COUNT(*) FROM person_history WHERE person_id = ?", mine.id);
    assert_int_equal(person_consent_withdraw(D, A, &r, &c), E_OK);
    assert_int_equal(q_i("SELECT consent_at FROM persons WHERE id = ?", mine.id), 0);
    assert_int_equal(q_i("SELECT COUNT(*) FROM person_history WHERE person_id = ?", mine.id),
                     hist + 1);
    assert_int_equal(q_i("SELECT COUNT(*) FROM persons WHERE id = ? AND deleted_at = 0", mine.id),
                     1);
    consent(&r);
    assert_true(q_i("SELECT consent_at FROM persons WHERE id = ?", mine.id) > 0);
    assert_int_equal(q_i("SELECT person_id FROM consents WHERE user_id = ? ORDER BY id DESC "
                         "LIMIT 1",
                         r.user_id),
                     mine.id);
}

static void test_register_checks(void **state)
{
    (void)state;
    struct principal r = resident("13800000021");
    consent(&r);
    struct person p;
    enum person_self_result how;
    struct person in = self_entry("李四", "110101199003070011");
    expect_err(person_self_register(D, A, &r, &in, GIVEN | PF_BIT(PF_STATUS), &p, &how), E_INPUT,
               "field_not_editable");
    assert_string_equal(err_last()->field, "status");
    in = self_entry("李四", "110101199003070011");
    expect_err(person_self_register(D, A, &r, &in, GIVEN | PF_BIT(PF_PHONE), &p, &how), E_INPUT,
               "field_not_editable");
    in = self_entry("李四", "110101199003070011");
    in.region_code = STREET;
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_INPUT, "invalid_region");
    in = self_entry("李四", "110101199003070011");
    in.region_code = COMMUNITY + 1000; /* a grid that is not in the tree */
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_INPUT, "invalid_region");
    in = self_entry("李四", "110101199003070012");
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_INPUT, "invalid_id_number");
    assert_string_equal(err_last()->field, "id_number");
    in = self_entry("", "110101199003070011");
    expect_err(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_INPUT, "required");
    assert_string_equal(err_last()->field, "name");
    assert_int_equal(q_i("SELECT COUNT(*) FROM persons WHERE id > ?", 0), 0);
    assert_int_equal(q_i("SELECT COUNT(*) FROM users WHERE person_id IS NOT NULL AND id > ?", 0),
                     0);
}

static void test_register_binds(void **state)
{
    (void)state;
    int64_t a = staff_person("周杰", "110101199003070011", "13800000031");
    int64_t b = staff_person("吴敏", "110101199003070046", NULL);
    struct person p;
    enum person_self_result how;

    /* right name, another phone; right phone, another name; no phone,
     * another name: one answer, nothing of the record in it */
    struct principal other = resident("13800000032");
    consent(&other);
    struct person in = self_entry("周杰", "110101199003070011");
    expect_err(person_self_register(D, A, &other, &in, GIVEN, &p, &how), E_CONFLICT,
               "identity_mismatch");
    struct err_detail first = *err_last();
    assert_int_equal(first.ref, 0);
    assert_string_equal(first.field, "");
    struct principal owner = resident("13800000031");
    consent(&owner);
    in = self_entry("周洁", "110101199003070011");
    expect_err(person_self_register(D, A, &owner, &in, GIVEN, &p, &how), E_CONFLICT,
               "identity_mismatch");
    assert_string_equal(err_last()->message, first.message);
    in = self_entry("吴明", "110101199003070046");
    expect_err(person_self_register(D, A, &other, &in, GIVEN, &p, &how), E_CONFLICT,
               "identity_mismatch");
    assert_int_equal(err_last()->ref, 0);
    assert_int_equal(q_i("SELECT version FROM persons WHERE id = ?", a), 1);
    assert_int_equal(q_i("SELECT version FROM persons WHERE id = ?", b), 1);

    /* the right name (spaces around it do not count) and phone: bound */
    in = self_entry(" 周杰 ", "110101199003070011");
    assert_int_equal(person_self_register(D, A, &owner, &in, GIVEN, &p, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_BOUND);
    assert_int_equal(p.id, a);
    assert_string_equal(p.address, "社区登记的地址"); /* the record keeps its fields */
    assert_string_equal(p.source, "staff");
    assert_true(p.consent_at > 0);
    assert_int_equal(q_i("SELECT person_id FROM users WHERE id = ?", owner.user_id), a);

    /* no phone on record: bound, and the phone filled in */
    in = self_entry("吴敏", "110101199003070046");
    assert_int_equal(person_self_register(D, A, &other, &in, GIVEN, &p, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_BOUND);
    assert_string_equal(p.phone, "13800000032");
    /* ... so no second account can claim it */
    struct principal third = resident("13800000033");
    consent(&third);
    in = self_entry("吴敏", "110101199003070046");
    expect_err(person_self_register(D, A, &third, &in, GIVEN, &p, &how), E_CONFLICT,
               "identity_mismatch");
    assert_int_equal(q_i("SELECT COUNT(*) FROM users WHERE person_id = ?", b), 1);
}

static void test_self_update(void **state)
{
    (void)state;
    struct principal r = resident("13800000041");
    struct person p;
    person_fields changed;
    struct person_patch pt = {.set = PF_BIT(PF_ADDRESS)};
    pt.v.address = "新地址";
    expect_err(person_self_update(D, A, &r, &pt, &p, &changed), E_FORBIDDEN, "consent_required");
    consent(&r);
    expect_err(person_self_update(D, A, &r, &pt, &p, &changed), E_NOT_FOUND,
               "person_not_registered");
    expect_err(person_self_find(D, A, &r, &p), E_NOT_FOUND, "person_not_registered");

    struct person in = self_entry("郑一", "110101199003070011");
    enum person_self_result how;
    assert_int_equal(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_OK);
    int64_t id = p.id;

    static const enum person_field locked[] = {PF_NAME,       PF_ID_NUMBER, PF_REGION_CODE,
                                               PF_PHONE,      PF_STATUS,    PF_SOURCE,
                                               PF_CONSENT_AT, PF_VULNERABLE};
    for (size_t i = 0; i < sizeof locked / sizeof *locked; i++) {
        struct person_patch bad = {.set = PF_BIT(PF_ADDRESS) | PF_BIT(locked[i])};
        bad.v.address = "x";
        bad.v.name = "郑二";
        expect_err(person_self_update(D, A, &r, &bad, &p, &changed), E_INPUT, "field_not_editable");
        assert_string_equal(err_last()->field, person_field_name(locked[i]));
    }
    assert_int_equal(q_i("SELECT version FROM persons WHERE id = ?", id), 1);

    pt = (struct person_patch){.set = PF_BIT(PF_ADDRESS) | PF_BIT(PF_EMERGENCY_CONTACT_PHONE)};
    pt.v.address = "新地址";
    pt.v.emergency_contact_phone = "123";
    expect_err(person_self_update(D, A, &r, &pt, &p, &changed), E_INPUT, "invalid_phone");
    pt.v.emergency_contact_phone = "13900000000";
    assert_int_equal(person_self_update(D, A, &r, &pt, &p, &changed), E_OK);
    assert_int_equal(p.id, id);
    assert_string_equal(p.address, "新地址");
    assert_int_equal(changed, PF_BIT(PF_ADDRESS) | PF_BIT(PF_EMERGENCY_CONTACT_PHONE));
    assert_int_equal(p.updated_by, r.user_id);

    /* deleted by staff: the resident's record is gone, and they may register again */
    assert_int_equal(person_delete(D, A, &staff, id), E_OK);
    expect_err(person_self_find(D, A, &r, &p), E_NOT_FOUND, "person_not_registered");
    expect_err(person_self_update(D, A, &r, &pt, &p, &changed), E_NOT_FOUND,
               "person_not_registered");
    in = self_entry("郑一", "110101199003070011");
    assert_int_equal(person_self_register(D, A, &r, &in, GIVEN, &p, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_CREATED);
    assert_true(p.id != id);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "self", &D))
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
/*
 * Issue 8 item 5: a self-asserted identity is unverified until staff verify
 * it; binding on an empty phone makes a staff record unverified, on the
 * same phone leaves it verified; staff take over an unverified claim.
 */
static void test_unverified_identities(void **state)
{
    (void)state;
    struct person p_r;
    enum person_self_result how;

    /* a new self-registration */
    struct principal r1 = resident("13800000011");
    consent(&r1);
    struct person p = self_entry("钱自登", "110101199001010015");
    assert_int_equal(person_self_register(D, A, &r1, &p, GIVEN, &p_r, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_CREATED);
    assert_true(p_r.unverified);
    expect_err(person_require_verified(D, p_r.id), E_FORBIDDEN, "identity_unverified");
    assert_int_equal(person_verify(D, A, &staff, p_r.id, &p_r), E_OK);
    assert_false(p_r.unverified);
    assert_int_equal(person_require_verified(D, p_r.id), E_OK);
    expect_err(person_verify(D, A, &staff, p_r.id, &p_r), E_CONFLICT, "already_verified");
    assert_int_equal(person_require_verified(D, 12345), E_NOT_FOUND);

    /* binding on an empty phone, and on the same phone */
    int64_t none = staff_person("孙无号", "110101198001010010", NULL);
    struct principal r2 = resident("13800000012");
    consent(&r2);
    p = self_entry("孙无号", "110101198001010010");
    assert_int_equal(person_self_register(D, A, &r2, &p, GIVEN, &p_r, &how), E_OK);
    assert_int_equal(how, PERSON_SELF_BOUND);
    assert_int_equal(p_r.id, none);
    assert_true(p_r.unverified);
    int64_t same = staff_person("孙有号", "110101198001010037", "13800000013");
    struct principal r3 = resident("13800000013");
    consent(&r3);
    p = self_entry("孙有号", "110101198001010037");
    assert_int_equal(person_self_register(D, A, &r3, &p, GIVEN, &p_r, &how), E_OK);
    assert_int_equal(p_r.id, same);
    assert_false(p_r.unverified);

    /* staff take over an unverified claim (r1's was verified: a duplicate) */
    struct person dup = {.name = "钱自登",
                         .id_type = ID_RESIDENT,
                         .id_number = "110101199001010015",
                         .region_code = COMMUNITY};
    bool taken = true;
    expect_err(person_create(D, A, &staff, &dup, 0, &taken), E_CONFLICT, "duplicate_person");
    assert_false(taken);
    struct principal r4 = resident("13800000014");
    consent(&r4);
    p = self_entry("李冒名", "110101199202020025");
    assert_int_equal(person_self_register(D, A, &r4, &p, GIVEN, &p_r, &how), E_OK);
    int64_t claim = p_r.id;
    struct person real = {.name = "李真名",
                          .id_type = ID_RESIDENT,
                          .id_number = "110101199202020025",
                          .region_code = COMMUNITY};
    assert_int_equal(person_create(D, A, &staff, &real, PF_BIT(PF_NAME), &taken), E_OK);
    assert_true(taken);
    assert_int_equal(real.id, claim);
    assert_false(real.unverified);
    assert_string_equal(real.name, "李真名");
    assert_int_equal(q_i("SELECT COUNT(*) FROM users WHERE person_id = ?", claim), 0);
}

/*
 * A sealed name or address that does not open is an error for the caller
 * to answer, never an empty name (issue 8: no failure read as "no value"):
 * the masked-column helpers return it and leave their output as it was.
 */
static void test_masked_col_error(void **state)
{
    (void)state;
    int64_t id = staff_person("周破损", "110101198505050016", NULL);
    static const uint8_t junk[40] = {1, 2, 3};
    db_stmt *s;
    assert_int_equal(
        db_prepare(D, "UPDATE persons SET name_enc = ?, address_enc = ? WHERE id = ?", &s), E_OK);
    db_bind_blob(s, 1, junk, sizeof junk);
    db_bind_blob(s, 2, junk, sizeof junk);
    db_bind_int64(s, 3, id);
    assert_int_equal(db_run(s, NULL), E_OK);
    assert_int_equal(db_prepare(D, "SELECT name_enc, address_enc FROM persons WHERE id = ?", &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    bool row = false;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    const char *name = "untouched", *address = "untouched";
    assert_int_not_equal(person_name_masked_col(A, s, 0, &name), E_OK);
    assert_string_equal(name, "untouched");
    assert_int_not_equal(person_address_masked_col(A, s, 1, &address), E_OK);
    assert_string_equal(address, "untouched");
    db_done(s);
}

#define TESTS                                                                                      \
    T(test_consent_states), T(test_register_created), T(test_register_checks),                     \
        T(test_register_binds), T(test_self_update), T(test_unverified_identities),                \
        T(test_masked_col_error)

int main(void)
{
    staff.perms = PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE);
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x60 + i);
    keys_set_master(master);
    A = arena_new(0);
    const struct CMUnitTest sqlite_tests[] = {TESTS};
    int failed =
        cmocka_run_group_tests_name("person_self/sqlite", sqlite_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        const struct CMUnitTest pg_tests[] = {TESTS};
        failed += cmocka_run_group_tests_name("person_self/postgres", pg_tests, open_pg, close_pg);
    }
    arena_free(&A);
    return failed ? 1 : 0;
}

/*
 * Unit tests of vehicle/vehicle.h plate validation (ordinary, special and
 * new-energy plates, normalisation), of visitor/visitor.h window rules
 * and areas, and of the sealing of plates and notes stored in the clear
 * before sql/013 (SQLite, and PostgreSQL when FK_DB names one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/regcode.h"
#include "fixture.h"
#include "security/crypto.h"
#include "security/rbac.h"
#include "vehicle/vehicle.h"
#include "visitor/visitor.h"

static struct fixture_db F;
static db *D;

static void plate_ok(const char *in, const char *want, bool nev)
{
    char out[PLATE_MAX];
    bool got_nev = !nev;
    assert_int_equal(plate_normalise(in, "plate", out, &got_nev), E_OK);
    assert_string_equal(out, want);
    assert_int_equal(got_nev, nev);
}

static void plate_bad(const char *in)
{
    char out[PLATE_MAX] = "untouched";
    assert_int_equal(plate_normalise(in, "plate", out, NULL), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_plate");
    assert_string_equal(err_last()->field, "plate");
    assert_string_equal(out, "untouched");
}

static void test_plates(void **state)
{
    (void)state;
    plate_ok("京A12345", "京A12345", false);
    plate_ok("粤b·8z9x2", "粤B8Z9X2", false);
    plate_ok(" 沪 A-123 45 ", "沪A12345", false);
    plate_ok("京A1234学", "京A1234学", false);
    plate_ok("粤Z1234港", "粤Z1234港", false);
    plate_ok("京AD12345", "京AD12345", true); /* small new-energy */
    plate_ok("京AFA1234", "京AFA1234", true); /* a letter after F */
    plate_ok("粤B12345D", "粤B12345D", true); /* large new-energy */
    plate_bad("");
    plate_bad(NULL);
    plate_bad("京A1234");      /* too short */
    plate_bad("京A123456");    /* 6 ordinary characters */
    plate_bad("XA12345");      /* no province */
    plate_bad("港A12345");     /* not a province abbreviation */
    plate_bad("京112345");     /* authority must be a letter */
    plate_bad("京A1234O");     /* O is not a serial letter */
    plate_bad("京A12I45");     /* nor I */
    plate_bad("京AD1234X");    /* small new-energy ends with digits */
    plate_bad("京A12345X");    /* large new-energy ends with D or F */
    plate_bad("京AA12345");    /* 8 characters without D/F */
    plate_bad("京A123456789"); /* far too long */
    plate_bad("京A1234挂挂");
}

#define H   3600000LL
#define NOW 1772330400000LL

static void test_windows(void **state)
{
    (void)state;
    assert_int_equal(visitor_window_check(NOW - H, NOW + H, NOW), E_OK);
    assert_int_equal(visitor_window_check(NOW + H, NOW + H, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_time");
    assert_int_equal(visitor_window_check(NOW, NOW + VISITOR_WINDOW_MAX_MS + 1, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "window_too_long");
    assert_int_equal(visitor_window_check(NOW, NOW + VISITOR_WINDOW_MAX_MS, NOW), E_OK);
    assert_int_equal(visitor_window_check(NOW - 2 * H, NOW, NOW), E_INPUT);
    assert_string_equal(err_last()->slug, "window_ended");
    assert_int_equal(
        visitor_window_check(NOW + VISITOR_AHEAD_MAX_MS + 1, NOW + VISITOR_AHEAD_MAX_MS + H, NOW),
        E_INPUT);
    assert_string_equal(err_last()->field, "valid_from");
    /* at the gate: the edges belong to the window */
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW), E_OK);
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW + H), E_OK);
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW - 1), E_CONFLICT);
    assert_string_equal(err_last()->slug, "visitor_window_not_started");
    assert_int_equal(visitor_window_admit(NOW, NOW + H, NOW + H + 1), E_CONFLICT);
    assert_string_equal(err_last()->slug, "visitor_window_ended");
}

static void test_areas(void **state)
{
    (void)state;
    enum region_level lv;
    int64_t community = regcode_parse("110101001001", &lv);
    int64_t building = regcode_parse("110101001001001001", &lv);
    int64_t street = regcode_parse("110101001000", &lv);
    assert_true(community > 0 && building > 0 && street > 0);
    assert_int_equal(visitor_area(building), community);
    assert_int_equal(visitor_area(community), community);
    assert_int_equal(visitor_area(street), street);
}

/* ---- rows written before plates were sealed ---------------------------------------- */

static void exec_ok(const char *sql)
{
    assert_int_equal(db_exec(D, sql), E_OK);
}

static int64_t count_of(const char *sql)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    assert_int_equal(db_step(s), DB_ROW);
    int64_t n = db_col_int64(s, 0);
    db_done(s);
    return n;
}

static int reset(void **state)
{
    (void)state;
    exec_ok("DELETE FROM vehicles");
    exec_ok("DELETE FROM vehicle_passages");
    exec_ok("DELETE FROM visitors");
    return 0;
}

static void test_plaintext_sealed(void **state)
{
    (void)state;
    enum region_level lv;
    int64_t community = regcode_parse("110101001001", &lv);
    db_stmt *s;
    /* what an older server wrote: plate and note in the clear */
    assert_int_equal(db_prepare(D,
                                "INSERT INTO vehicles (id, region_code, plate, kind, "
                                "owner_person_id, note, created_by, created_at, updated_at) "
                                "VALUES (11, ?, '京A12345', 'car', 5, '白色轿车', 1, 1, 1)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, community);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    assert_int_equal(db_prepare(D,
                                "INSERT INTO vehicle_passages (id, region_code, venue_id, plate, "
                                "direction, at, verdict, reason) VALUES (12, ?, 3, '京A12345', "
                                "'in', 1000, 'allow', 'registered')",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, community);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);
    assert_int_equal(db_prepare(D,
                                "INSERT INTO visitors (id, region_code, host_user_id, "
                                "host_person_id, name_enc, id_type, id_number_enc, "
                                "id_number_bidx, phone_enc, purpose, plate, valid_from, valid_to, "
                                "status, created_at, updated_at) VALUES (13, ?, 1, 5, ?, "
                                "'resident_id', ?, ?, ?, '送货', '津A99999', 0, 5000, "
                                "'confirmed', 1, 1)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, community);
    for (int i = 2; i <= 5; i++)
        db_bind_blob(s, i, "x", 1);
    assert_int_equal(db_step(s), DB_DONE);
    db_done(s);

    int64_t n = 0;
    assert_int_equal(vehicle_plaintext_seal(D, &n), E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(visitor_plaintext_seal(D, &n), E_OK);
    assert_int_equal(n, 1);
    /* nothing left in the clear */
    assert_int_equal(count_of("SELECT COUNT(*) FROM vehicles WHERE plate <> '' OR note <> ''"), 0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM vehicle_passages WHERE plate <> ''"), 0);
    assert_int_equal(count_of("SELECT COUNT(*) FROM visitors WHERE plate <> ''"), 0);

    /* and everything still reads and matches */
    arena *a = arena_new(0);
    struct scope all = scope_all();
    struct vehicle v;
    assert_int_equal(vehicle_find(D, a, &all, 11, &v), E_OK);
    assert_string_equal(v.plate, "京A12345");
    assert_string_equal(v.note, "白色轿车");
    struct vehicle *items;
    size_t k;
    int64_t total;
    assert_int_equal(vehicle_list(D, a, &all, 0, "京A12345", 1, 20, &items, &k, &total), E_OK);
    assert_int_equal(total, 1);
    assert_int_equal(items[0].id, 11);
    assert_int_equal(vehicle_list(D, a, &all, 0, "京A12346", 1, 20, &items, &k, &total), E_OK);
    assert_int_equal(total, 0);
    struct vehicle_passage *ps;
    assert_int_equal(vehicle_passages(D, a, &all, 0, 1, 20, &ps, &k, &total), E_OK);
    assert_int_equal(k, 1);
    assert_string_equal(ps[0].plate, "京A12345");
    uint8_t bidx[BLIND_LEN];
    int64_t visitor = 0;
    plate_blind("津A99999", bidx);
    assert_int_equal(visitor_plate_find(D, bidx, community, 1000, &visitor), E_OK);
    assert_int_equal(visitor, 13);
    arena_free(&a);

    /* a second start finds nothing to do */
    assert_int_equal(vehicle_plaintext_seal(D, &n), E_OK);
    assert_int_equal(n, 0);
    assert_int_equal(visitor_plaintext_seal(D, &n), E_OK);
    assert_int_equal(n, 0);
}

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "vehicle", &D) || db_migrate(D) != E_OK ? -1 : 0;
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
    return fixture_pg_open(&D) || db_migrate(D) != E_OK ? -1 : 0;
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
        master[i] = (uint8_t)(0x30 + i);
    keys_set_master(master);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plates),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_areas),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const struct CMUnitTest db_tests[] = {
        cmocka_unit_test_setup(test_plaintext_sealed, reset),
    };
    failed += cmocka_run_group_tests_name("vehicle/sqlite", db_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("vehicle/postgres", db_tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

/*
 * The field-table machinery (db/fields.h) on a small table of its own:
 * the SQL fragments, a body into a struct (trimming, set bits, the
 * malformed values jfield cannot catch), a struct as JSON (ids, NAN,
 * empty text), the copy between two structs of the same rows, and a row
 * written and read back through SQLite with a sealed column, a NULL real
 * and a NULL reference. The capabilities' own tables are exercised by
 * their suites (test_person, test_place and the API suites).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#include <math.h>

#include "db/fields.h"
#include "security/crypto.h"
#include "security/mask.h"

static db *D;
static arena *A;
static struct fixture_db F;

static const struct vocab_word word_list[] = {{"red", "红"}, {"blue", "蓝"}};
static const struct vocab colours = VOCAB("colours", "颜色", word_list);

struct thing {
    const char *name;
    int colour;
    int64_t region_code;
    double weight;
    int64_t count;
    const char *owner; /* sealed */
    int64_t parent_id;
    bool on;
};

/* The same rows over another struct, as place_input beside place. */
struct thing_input {
    unsigned set;
    const char *name;
    int colour;
    int64_t region_code;
    double weight;
    int64_t count;
    const char *owner;
    int64_t parent_id;
    bool on;
};

#define THING_FIELDS(X)                                                                            \
    X(name, FD_TEXT, J_STRING, 1, 20, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE, "名称",     \
      "name", NULL)                                                                                \
    X(colour, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME, &colours, MK_NONE, "颜色", "colour", NULL)      \
    X(region_code, FD_REGION, J_STRING, 0, 18, 0, NULL, MK_NONE, "所属区划", "region_code", NULL)  \
    X(weight, FD_REAL, J_NUMBER, 0, 100, JF_NULLABLE, NULL, MK_NONE, "重量", "weight", NULL)       \
    X(count, FD_INT, J_INT, 0, 10, 0, NULL, MK_NONE, "数量", "count", NULL)                        \
    X(owner, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME, "负责人",             \
      "owner_enc", NULL)                                                                           \
    X(parent_id, FD_ID, J_STRING, 0, 20, JF_NULLABLE, NULL, MK_NONE, "上级", "parent_id",          \
      "invalid_parent")                                                                            \
    X(on, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "启用", "on_flag", NULL)

#define ROW_OF(strct, m, k, jt, min_, max_, fl, voc, mk, lab, col, bad_)                           \
    {#m,                                                                                           \
     lab,                                                                                          \
     k,                                                                                            \
     jt,                                                                                           \
     min_,                                                                                         \
     max_,                                                                                         \
     fl,                                                                                           \
     voc,                                                                                          \
     mk,                                                                                           \
     col,                                                                                          \
     bad_,                                                                                         \
     offsetof(strct, m),                                                                           \
     sizeof(((strct *)0)->m)},
#define THING_ROW(...) ROW_OF(struct thing, __VA_ARGS__)
#define INPUT_ROW(...) ROW_OF(struct thing_input, __VA_ARGS__)
static const struct field rows[] = {THING_FIELDS(THING_ROW)};
static const struct field input_rows[] = {THING_FIELDS(INPUT_ROW)};
#define N (sizeof rows / sizeof rows[0])

static int setup(void **state)
{
    (void)state;
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(i * 5 + 3);
    keys_set_master(master);
    if (fixture_sqlite_open(&F, "fields", &D))
        return -1;
    A = arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    fixture_sqlite_close(&F, &D);
    return 0;
}

static void test_sql(void **state)
{
    (void)state;
    char b[512] = "";
    fields_sql_cols(rows, N, "t.", b, sizeof b);
    assert_string_equal(b, "t.name, t.colour, t.region_code, t.weight, t.count, t.owner_enc, "
                           "t.parent_id, t.on_flag");
    b[0] = '\0';
    fields_sql_assign(rows, 3, b, sizeof b);
    assert_string_equal(b, "name = ?, colour = ?, region_code = ?");
    b[0] = '\0';
    fields_sql_params(3, b, sizeof b);
    assert_string_equal(b, "?, ?, ?");
    char label[64];
    field_seal_label("things", &rows[5], label);
    assert_string_equal(label, "things.owner");
    assert_true(FIELD_SEALED(&rows[5]));
    assert_false(FIELD_SEALED(&rows[0]));
    struct jfield j = field_jfield(&rows[0]);
    assert_string_equal(j.name, "name");
    assert_int_equal(j.flags, JF_REQUIRED);
    assert_int_equal(j.max, 20);
    j = field_jfield(&rows[3]);
    assert_int_equal(j.flags, JF_NULLABLE);
}

static void test_from_json(void **state)
{
    (void)state;
    json_t *b = json_pack("{s:s, s:s, s:s, s:n, s:i, s:s, s:s}", "name", "  灯塔 \t", "colour",
                          "blue", "region_code", "110101001001", "weight", "count", 7, "owner",
                          " 张三 ", "parent_id", "");
    struct thing_input in = {0};
    assert_int_equal(fields_from_json(input_rows, N, b, A, &in, &in.set), E_OK);
    /* every row present but `on` (bit 7) */
    assert_int_equal(in.set, 0x7fu);
    assert_string_equal(in.name, "灯塔");
    assert_int_equal(in.colour, 1);
    assert_true(in.region_code > 0);
    assert_true(isnan(in.weight)); /* null for a nullable real */
    assert_int_equal(in.count, 7);
    assert_string_equal(in.owner, "张三");
    assert_int_equal(in.parent_id, 0);
    json_decref(b);

    /* what jfield cannot say: the slug the row names, or the kind's */
    b = json_pack("{s:s}", "parent_id", "12x");
    assert_int_equal(fields_from_json(input_rows, N, b, A, &in, &in.set), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_parent");
    assert_string_equal(err_last()->field, "parent_id");
    json_decref(b);
    b = json_pack("{s:s}", "region_code", "1101");
    assert_int_equal(fields_from_json(input_rows, N, b, A, &in, &in.set), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_region");
    json_decref(b);
    b = json_pack("{s:s}", "colour", "green");
    assert_int_equal(fields_from_json(input_rows, N, b, A, &in, &in.set), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_value");
    assert_string_equal(err_last()->field, "colour");
    json_decref(b);
}

static void test_json_and_copy(void **state)
{
    (void)state;
    struct thing t = {.name = NULL, .weight = NAN, .parent_id = 1234567890123LL, .owner = "张三丰"};
    json_t *v = field_json(&rows[0], &t);
    assert_string_equal(json_string_value(v), ""); /* FL_EMPTY: never null */
    json_decref(v);
    v = field_json(&rows[3], &t);
    assert_true(json_is_null(v));
    json_decref(v);
    v = field_json(&rows[6], &t);
    assert_string_equal(json_string_value(v), "1234567890123"); /* ids are strings */
    json_decref(v);

    json_t *o = json_object();
    mask_fields_json(A, rows, N, &t, false, o);
    assert_string_equal(json_string_value(json_object_get(o, "owner")), "张*丰");
    json_object_clear(o);
    mask_fields_json(A, rows, N, &t, true, o);
    assert_string_equal(json_string_value(json_object_get(o, "owner")), "张三丰");
    json_decref(o);

    struct thing_input in = {.name = "新", .count = 3, .owner = "李四"};
    fields_copy(rows, &t, input_rows, &in, N, 1u << 0 | 1u << 4);
    assert_string_equal(t.name, "新");
    assert_int_equal(t.count, 3);
    assert_string_equal(t.owner, "张三丰"); /* not in the set */
}

static void test_sqlite_round_trip(void **state)
{
    (void)state;
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                                "colour TEXT NOT NULL, region_code INTEGER NOT NULL, weight REAL, "
                                "count INTEGER NOT NULL, owner_enc BLOB, parent_id INTEGER, "
                                "on_flag INTEGER NOT NULL)",
                                &s),
                     E_OK);
    assert_int_equal(db_run(s, NULL), E_OK);

    char sql[512] = "INSERT INTO things (id, ";
    fields_sql_cols(rows, N, "", sql, sizeof sql);
    fields_sql_put(sql, sizeof sql, ") VALUES (?, ");
    fields_sql_params(N, sql, sizeof sql);
    fields_sql_put(sql, sizeof sql, ")");
    struct thing t = {"名", 1, 110101001001LL, NAN, 4, "王五", 0, true};
    for (int id = 1; id <= 2; id++) {
        assert_int_equal(db_prepare(D, sql, &s), E_OK);
        db_bind_int64(s, 1, id);
        int next;
        assert_int_equal(fields_bind(s, 2, A, "things", rows, N, &t, seal_bind, &next), E_OK);
        assert_int_equal(next, 2 + (int)N);
        assert_int_equal(db_run(s, NULL), E_OK);
        t = (struct thing){"二", 0, 110101000000LL, 2.5, 0, NULL, 77, false};
    }

    /* stored as it should be: the owner sealed, NULLs for none */
    assert_int_equal(db_prepare(D,
                                "SELECT owner_enc IS NULL, weight IS NULL, parent_id IS NULL, "
                                "colour FROM things ORDER BY id",
                                &s),
                     E_OK);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(s, 0), 0);
    assert_int_equal(db_col_int64(s, 1), 1);
    assert_int_equal(db_col_int64(s, 2), 1);
    assert_string_equal(db_col_text(s, 3), "blue");
    assert_int_equal(db_row(s, &row), E_OK);
    assert_int_equal(db_col_int64(s, 0), 1);
    assert_int_equal(db_col_int64(s, 1), 0);
    assert_int_equal(db_col_int64(s, 2), 0);
    db_done(s);

    char sel[512] = "SELECT ";
    fields_sql_cols(rows, N, "", sel, sizeof sel);
    fields_sql_put(sel, sizeof sel, " FROM things ORDER BY id");
    assert_int_equal(db_prepare(D, sel, &s), E_OK);
    struct thing r[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(db_row(s, &row), E_OK);
        assert_true(row);
        assert_int_equal(fields_read(s, 0, A, "things", rows, N, &r[i], unseal_col), E_OK);
    }
    db_done(s);
    assert_string_equal(r[0].name, "名");
    assert_int_equal(r[0].colour, 1);
    assert_int_equal(r[0].region_code, 110101001001LL);
    assert_true(isnan(r[0].weight));
    assert_int_equal(r[0].count, 4);
    assert_string_equal(r[0].owner, "王五");
    assert_int_equal(r[0].parent_id, 0);
    assert_true(r[0].on);
    assert_null(r[1].owner);
    assert_true(r[1].weight == 2.5);
    assert_int_equal(r[1].parent_id, 77);
    assert_false(r[1].on);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_json_and_copy),
        cmocka_unit_test(test_sqlite_round_trip),
    };
    return cmocka_run_group_tests_name("fields", tests, setup, teardown);
}

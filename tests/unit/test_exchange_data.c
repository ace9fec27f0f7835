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
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "exchange/exchange.h"
#include "case/case.h"
#include "code/code.h"
#include "person/person.h"
#include "trace/trace.h"
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
    static const char *const wipe[] = {"DELETE FROM exchange_changes",
                                       "UPDATE exchange_seq SET seq = 0",
                                       "DELETE FROM person_history",
                                       "DELETE FROM person_name_tokens",
                                       "DELETE FROM health_codes",
                                       "DELETE FROM persons",
                                       "DELETE FROM trips",
                                       "DELETE FROM test_results",
                                       "DELETE FROM risk_areas",
                                       "DELETE FROM counters",
                                       "DELETE FROM street_counters",
                                       "DELETE FROM status_changes",
                                       "DELETE FROM observations",
                                       "DELETE FROM isolations",
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

/* ---- the other capabilities' write paths ------------------------------------------ */

/* Run `call` in a transaction of the test's own (the callers' contract for
 * functions that write inside the caller's transaction). */
#define IN_TX(call)                                                                                \
    do {                                                                                           \
        assert_int_equal(db_begin(D), E_OK);                                                       \
        err e_ = (call);                                                                           \
        if (e_)                                                                                    \
            db_rollback(D);                                                                        \
        else                                                                                       \
            assert_int_equal(db_commit(D), E_OK);                                                  \
        assert_int_equal(e_, E_OK);                                                                \
    } while (0)

static void test_trip_writes(void **state)
{
    (void)state;
    int64_t pid = new_person("张三", "110101199001011237", COMMUNITY);
    struct scope sc = scope_of(EAST);
    json_t *b = json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "departed_on", "2026-11-01", "origin",
                          "北京", "destination", "上海", "out", "mode", "train", "number", "G1");
    struct trip t = {.person_id = pid};
    assert_int_equal(trip_apply_json(A, b, &t), E_OK);
    int64_t tid = 0;
    IN_TX(trip_create(D, A, &sc, &t, TRIP_STAFF, 7, &tid));
    assert_int_equal(changes(DS_RETURNS), 1);
    json_t *ch = json_pack("{s:s}", "returned_on", "2026-11-05");
    IN_TX(trip_update(D, A, &sc, tid, 0, ch));
    assert_int_equal(changes(DS_RETURNS), 2);
    json_t *o;
    assert_int_equal(exchange_record_json(D, A, DS_RETURNS, tid, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "destination")), "上海");
    json_decref(o);
    /* a refused change logs nothing */
    json_t *bad = json_pack("{s:s}", "returned_on", "2026-10-01");
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(trip_update(D, A, &sc, tid, 0, bad), E_INPUT);
    db_rollback(D);
    assert_int_equal(changes(DS_RETURNS), 2);
    IN_TX(trip_delete(D, &sc, tid));
    int64_t seq, id, reg;
    char op[8];
    last_change(DS_RETURNS, &seq, &id, &reg, op);
    assert_int_equal(seq, 3);
    assert_int_equal(id, tid);
    assert_int_equal(reg, COMMUNITY);
    assert_string_equal(op, "delete");
    assert_int_equal(exchange_record_json(D, A, DS_RETURNS, tid, &o), E_NOT_FOUND);
    json_decref(b);
    json_decref(ch);
    json_decref(bad);
}

static void test_risk_area_writes(void **state)
{
    (void)state;
    json_t *b = json_pack("{s:s,s:s,s:s,s:I}", "name", "东华门街道多福巷", "level", "high",
                          "region_code", "110101001001", "valid_from", (json_int_t)1764547200000LL);
    int64_t id = 0;
    assert_int_equal(code_risk_area_add(D, &staff, b, &id), E_OK);
    assert_int_equal(changes(DS_RISK_AREAS), 1);
    const char *changed = NULL;
    json_t *ch = json_pack("{s:s}", "level", "medium");
    assert_int_equal(code_risk_area_update(D, A, &staff, id, ch, &changed), E_OK);
    assert_int_equal(changes(DS_RISK_AREAS), 2);
    json_t *o;
    assert_int_equal(exchange_record_json(D, A, DS_RISK_AREAS, id, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "medium");
    json_decref(o);
    const char *detail;
    assert_int_equal(code_risk_area_delete(D, A, id, &detail), E_OK);
    int64_t seq, oid, reg;
    char op[8];
    last_change(DS_RISK_AREAS, &seq, &oid, &reg, op);
    assert_int_equal(seq, 3);
    assert_string_equal(op, "delete");
    assert_int_equal(reg, COMMUNITY);
    /* a refused add (an end before the start) logs nothing */
    json_t *bad = json_pack("{s:s,s:s,s:I,s:I}", "name", "某地", "level", "high", "valid_from",
                            (json_int_t)1764547200000LL, "valid_to", (json_int_t)1764500000000LL);
    assert_int_equal(code_risk_area_add(D, &staff, bad, &id), E_INPUT);
    assert_int_equal(changes(DS_RISK_AREAS), 3);
    json_decref(b);
    json_decref(ch);
    json_decref(bad);
}

static void test_result_writes(void **state)
{
    (void)state;
    int64_t pid = new_person("张三", "110101199001011237", COMMUNITY);
    json_t *b = json_pack("{s:s,s:I,s:I}", "result", "negative", "sampled_at",
                          (json_int_t)1764547200000LL, "reported_at", (json_int_t)1764550000000LL);
    int64_t id = 0;
    assert_int_equal(code_input_add(D, A, &staff, &code_tests, pid, b, &id), E_OK);
    assert_int_equal(changes(DS_RESULTS), 1);
    json_t *o;
    assert_int_equal(exchange_record_json(D, A, DS_RESULTS, id, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "result")), "negative");
    json_decref(o);
    /* the other code inputs are not results */
    json_t *iso = json_pack("{s:s,s:I}", "kind", "home", "start_at", (json_int_t)1764547200000LL);
    int64_t iid;
    assert_int_equal(code_input_add(D, A, &staff, &code_isolations, pid, iso, &iid), E_OK);
    assert_int_equal(changes(DS_RESULTS), 1);
    json_decref(b);
    json_decref(iso);
}

static void test_case_writes(void **state)
{
    (void)state;
    int64_t pid = new_person("张三", "110101199001011237", COMMUNITY);
    int64_t persons0 = changes(DS_PERSONS);
    struct case_observe_in in = {
        .person_id = pid, .kind = OBSERVE_HOME_ISOLATION, .source = SOURCE_GRID_PATROL};
    int64_t oid = 0;
    IN_TX(case_observe(D, A, &staff, &in, &oid));
    /* the observation, and the status change it makes (with the person) */
    assert_int_equal(changes(DS_ISOLATIONS), 1);
    assert_int_equal(changes(DS_CASES), 1);
    assert_int_equal(changes(DS_PERSONS), persons0 + 1);
    json_t *o;
    assert_int_equal(exchange_record_json(D, A, DS_ISOLATIONS, oid, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "home_isolation");
    assert_string_equal(json_string_value(json_object_get(o, "person_name")), "张三");
    json_decref(o);
    int64_t seq, cid, reg;
    char op[8];
    last_change(DS_CASES, &seq, &cid, &reg, op);
    assert_int_equal(exchange_record_json(D, A, DS_CASES, cid, &o), E_OK);
    json_decref(o);
    /* a second observation is refused and logs nothing */
    int64_t again;
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(case_observe(D, A, &staff, &in, &again), E_CONFLICT);
    db_rollback(D);
    assert_int_equal(changes(DS_ISOLATIONS), 1);
    /* the end: the observation closed, the person back to normal */
    IN_TX(case_observe_end(D, A, &staff, oid, OBSERVE_RELEASED, RELEASE_FREE, "期满解除"));
    assert_true(changes(DS_ISOLATIONS) >= 2);
    assert_int_equal(changes(DS_CASES), 2);
}

/* ---- operations, called as exchange_handle calls them ---------------------------------- */

/* A caller granted the East district (and, with two, West too). */
static struct exchange_caller caller = {
    .id = 1, .user_id = 99, .name = "市大数据局", .nregions = 1, .regions = {EAST, WEST}};

static struct exchange_ctx ctx(int64_t region)
{
    struct exchange_ctx x = {.d = D, .a = A, .caller = &caller, .region_code = region};
    x.who = (struct principal){.user_id = caller.user_id,
                               .region_code = region,
                               .scope = scope_of(region),
                               .perms = staff.perms};
    return x;
}

static const struct exchange_op *op(const char *name)
{
    size_t n;
    const struct exchange_op *t = exchange_data_ops(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    fail_msg("no operation %s", name);
    return NULL;
}

static err run(const char *name, int64_t region, json_t *in, json_t **out_r)
{
    struct exchange_ctx x = ctx(region);
    *out_r = NULL;
    err e = op(name)->run(&x, in, out_r);
    json_decref(in);
    return e;
}

static json_t *result(json_t *out, size_t i)
{
    return json_array_get(json_object_get(out, "results"), i);
}

static const char *result_code(json_t *out, size_t i)
{
    return json_string_value(json_object_get(json_object_get(result(out, i), "error"), "code"));
}

static void test_person_batch(void **state)
{
    (void)state;
    caller.nregions = 1;
    json_t *out;
    json_t *in = json_pack(
        "{s:[{s:s,s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},i,{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]}",
        "records",
        /* 0: new, inside the grant */
        "name", "王五", "id_number", "110101199001011237", "region_code", "110101001001", "address",
        "多福巷3号",
        /* 1: outside the grant */
        "name", "赵六", "id_number", "110101198505050016", "region_code", "110102000000",
        /* 2: a bad identity number */
        "name", "钱七", "id_number", "110101199001011238", "region_code", "110101000000",
        /* 3: not an object */
        5,
        /* 4: the same document again: a change of the same person */
        "name", "王五", "id_number", "110101199001011237", "region_code", "110101001001", "address",
        "多福巷4号",
        /* 5: the resident's own declaration is not the exchange's to make */
        "name", "孙八", "id_number", "110101199001011253", "region_code", "110101000000", "source",
        "self");
    assert_int_equal(run("persons.post", EAST, in, &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "accepted")), 2);
    assert_int_equal(json_integer_value(json_object_get(out, "rejected")), 4);
    assert_true(json_is_true(json_object_get(result(out, 0), "ok")));
    const char *id0 = json_string_value(json_object_get(result(out, 0), "id"));
    assert_non_null(id0);
    assert_string_equal(result_code(out, 1), "region_not_granted");
    assert_string_equal(result_code(out, 2), "invalid_id_number");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(result(out, 2), "error"), "field")),
        "id_number");
    assert_string_equal(result_code(out, 3), "invalid_record");
    assert_true(json_is_true(json_object_get(result(out, 4), "ok")));
    assert_string_equal(json_string_value(json_object_get(result(out, 4), "id")), id0);
    assert_string_equal(result_code(out, 5), "not_allowed");
    assert_int_equal(json_integer_value(json_object_get(result(out, 5), "index")), 5);
    int64_t pid = id_parse(id0);
    json_decref(out);
    /* one person, two changes; the refused records wrote nothing */
    assert_int_equal(q_i("SELECT COUNT(*) FROM persons WHERE deleted_at = 0", NULL), 1);
    assert_int_equal(changes(DS_PERSONS), 2);
    json_t *o;
    assert_int_equal(exchange_record_json(D, A, DS_PERSONS, pid, &o), E_OK);
    assert_string_equal(json_string_value(json_object_get(o, "address")), "多福巷4号");
    assert_string_equal(json_string_value(json_object_get(o, "source")), "exchange");
    json_decref(o);

    /* a document held in a region outside the grant: refused, no id given */
    new_person("赵六", "110101198505050016", WEST);
    in = json_pack("{s:[{s:s,s:s,s:s}]}", "records", "name", "赵六", "id_number",
                   "110101198505050016", "region_code", "110101000000");
    assert_int_equal(run("persons.post", EAST, in, &out), E_OK);
    assert_string_equal(result_code(out, 0), "duplicate_person");
    assert_null(json_object_get(result(out, 0), "id"));
    json_decref(out);

    /* the batch's own shape (its size is exchange_handle's: the API test) */
    assert_int_equal(run("persons.post", EAST, json_pack("{s:i}", "records", 1), &out), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_batch");
    assert_int_equal(run("persons.post", EAST, json_pack("{}"), &out), E_INPUT);
    assert_int_equal(changes(DS_PERSONS), 3);
}

/* Page through persons.changes with `limit`, collecting the seqs seen. */
static size_t read_all(int64_t region, bool with_region, int limit, int64_t *seqs, size_t cap)
{
    int64_t since = 0;
    size_t n = 0;
    for (;;) {
        json_t *in = json_pack("{s:s,s:s}", "since", arena_printf(A, "%lld", (long long)since),
                               "limit", arena_printf(A, "%d", limit));
        if (with_region) {
            char code[19];
            regcode_format(region, code);
            json_object_set_new(in, "region", json_string(code));
        }
        json_t *out;
        assert_int_equal(run("persons.changes", region, in, &out), E_OK);
        json_t *items = json_object_get(out, "items");
        assert_true(json_array_size(items) <= (size_t)limit);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            assert_true(n < cap);
            seqs[n++] = json_integer_value(json_object_get(it, "seq"));
        }
        since = json_integer_value(json_object_get(out, "next"));
        bool more = json_is_true(json_object_get(out, "more"));
        json_decref(out);
        if (!more)
            return n;
    }
}

static void test_changes_cursor(void **state)
{
    (void)state;
    caller.nregions = 1; /* East only */
    int64_t a = new_person("张三", "110101199001011237", COMMUNITY);
    int64_t w = new_person("赵六", "110101198505050016", WEST);
    int64_t b = new_person("李四", "110101199001011253", EAST);
    assert_int_equal(person_delete(D, A, &staff, b), E_OK);
    (void)w;
    /* East's changes only: 1 (a), 3 (b), 4 (b deleted); not 2 (West) */
    json_t *out;
    assert_int_equal(run("persons.changes", EAST, json_pack("{s:s}", "since", "0"), &out), E_OK);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 3);
    json_t *i0 = json_array_get(items, 0), *i2 = json_array_get(items, 2);
    assert_int_equal(json_integer_value(json_object_get(i0, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(i0, "op")), "upsert");
    assert_int_equal(id_parse(json_string_value(json_object_get(i0, "id"))), a);
    assert_string_equal(json_string_value(json_object_get(i0, "region")), "110101001001");
    assert_string_equal(json_string_value(json_object_get(json_object_get(i0, "record"), "name")),
                        "张三");
    /* b was deleted: its first change too reads as deleted now */
    json_t *i1 = json_array_get(items, 1);
    assert_true(json_is_true(json_object_get(json_object_get(i1, "record"), "deleted")));
    assert_string_equal(json_string_value(json_object_get(i2, "op")), "delete");
    assert_true(json_is_true(json_object_get(json_object_get(i2, "record"), "deleted")));
    assert_int_equal(json_integer_value(json_object_get(out, "next")), 4);
    assert_false(json_is_true(json_object_get(out, "more")));
    json_decref(out);
    /* nothing after the end: next stays */
    assert_int_equal(run("persons.changes", EAST, json_pack("{s:s}", "since", "4"), &out), E_OK);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "next")), 4);
    json_decref(out);

    /* pages of one: every change once, in order */
    int64_t seqs[16];
    size_t n = read_all(EAST, false, 1, seqs, 16);
    assert_int_equal(n, 3);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[1], 3);
    assert_int_equal(seqs[2], 4);
    /* the region parameter narrows to its subtree */
    n = read_all(COMMUNITY, true, 2, seqs, 16);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 1);
    /* both districts granted: all four */
    caller.nregions = 2;
    n = read_all(EAST, false, 3, seqs, 16);
    assert_int_equal(n, 4);
    caller.nregions = 1;

    /* bad parameters */
    static const char *const bad[][2] = {{"since", "-1"},
                                         {"since", "x"},
                                         {"since", ""},
                                         {"limit", "0"},
                                         {"limit", "1001"},
                                         {"limit", "1e2"},
                                         {"since", "99999999999999999999"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(
            run("persons.changes", EAST, json_pack("{s:s}", bad[i][0], bad[i][1]), &out), E_INPUT);
        assert_string_equal(err_last()->field, bad[i][0]);
    }
    assert_int_equal(run("persons.changes", EAST, json_pack("{s:i}", "since", 1), &out), E_INPUT);
}

/* Batches of returns and results, and the reads. */
static void test_other_batches_and_reads(void **state)
{
    (void)state;
    caller.nregions = 1;
    int64_t pin = new_person("张三", "110101199001011237", COMMUNITY);
    int64_t pout = new_person("赵六", "110101198505050016", WEST);
    char in_id[24], out_id[24];
    snprintf(in_id, sizeof in_id, "%lld", (long long)pin);
    snprintf(out_id, sizeof out_id, "%lld", (long long)pout);
    json_t *out;
    json_t *in = json_pack("{s:[{s:s,s:s,s:s,s:{s:s}},{s:s,s:s,s:s,s:{s:s}},{s:s,s:s,s:s},{s:s}]}",
                           "records", "person_id", in_id, "departed_on", "2026-11-01",
                           "destination", "上海", "out", "mode", "train",
                           /* a person outside the grant reads as missing */
                           "person_id", out_id, "departed_on", "2026-11-01", "destination", "上海",
                           "out", "mode", "train",
                           /* trace's own rule: the way out is required */
                           "person_id", in_id, "departed_on", "2026-11-01", "destination", "上海",
                           /* no person */
                           "destination", "上海");
    assert_int_equal(run("returns.post", EAST, in, &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "accepted")), 1);
    assert_string_equal(result_code(out, 1), "not_found");
    assert_string_equal(result_code(out, 2), "required");
    assert_string_equal(result_code(out, 3), "required");
    json_decref(out);
    assert_int_equal(changes(DS_RETURNS), 1);
    assert_int_equal(q_i("SELECT COUNT(*) FROM trips", NULL), 1);

    in = json_pack(
        "{s:[{s:s,s:s,s:I,s:I},{s:s,s:s,s:I,s:I},{s:s,s:s,s:I,s:I},{s:s,s:s,s:I}]}", "records",
        "person_id", in_id, "result", "negative", "sampled_at", (json_int_t)1764547200000LL,
        "reported_at", (json_int_t)1764550000000LL, "person_id", in_id, "result", "unknown",
        "sampled_at", (json_int_t)1764547200000LL, "reported_at", (json_int_t)1764550000000LL,
        /* reported before it was sampled */
        "person_id", in_id, "result", "positive", "sampled_at", (json_int_t)1764550000000LL,
        "reported_at", (json_int_t)1764547200000LL, "person_id", out_id, "result", "negative",
        "sampled_at", (json_int_t)1764547200000LL);
    assert_int_equal(run("results.post", EAST, in, &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "accepted")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "rejected")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(result(out, 1), "error"), "field")),
        "result");
    assert_string_equal(result_code(out, 3), "not_found");
    json_decref(out);
    assert_int_equal(changes(DS_RESULTS), 1);
    assert_int_equal(q_i("SELECT COUNT(*) FROM test_results", NULL), 1);

    /* cases: the person's status changes, inside the grant only */
    IN_TX(case_status_change(D, A, &staff, pin, PERSON_OBSERVATION, 0, "密接待观察"));
    assert_int_equal(run("cases.get", EAST, json_pack("{s:s}", "person_id", in_id), &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    assert_int_equal(run("cases.get", EAST, json_pack("{s:s}", "person_id", out_id), &out),
                     E_NOT_FOUND);
    assert_int_equal(run("cases.get", EAST, json_pack("{s:s}", "page", "0"), &out), E_INPUT);

    /* risk areas: the national list */
    json_t *b = json_pack("{s:s,s:s,s:I}", "name", "上海市某街道", "level", "high", "valid_from",
                          (json_int_t)1764547200000LL);
    int64_t rid;
    assert_int_equal(code_risk_area_add(D, &staff, b, &rid), E_OK);
    json_decref(b);
    assert_int_equal(run("risk_areas.get", EAST, json_pack("{s:s}", "level", "high"), &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 1);
    json_decref(out);
    assert_int_equal(run("risk_areas.get", EAST, json_pack("{s:s}", "level", "low"), &out),
                     E_INPUT);
    /* ... and its cursor, though the area lies outside the tree */
    assert_int_equal(run("risk_areas.changes", EAST, json_pack("{}"), &out), E_OK);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
    json_decref(out);

    /* zones: none drawn; a bad state */
    assert_int_equal(run("zones.get", EAST, json_pack("{}"), &out), E_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "total")), 0);
    json_decref(out);
    assert_int_equal(run("zones.get", EAST, json_pack("{s:s}", "state", "x"), &out), E_INPUT);

    /* statistics of East: the observed person counts, West's normal one not */
    assert_int_equal(run("stats.get", EAST, json_pack("{}"), &out), E_OK);
    json_t *f;
    size_t i;
    int64_t suspected = -1, normal = -1;
    json_array_foreach(json_object_get(out, "figures"), i, f)
    {
        const char *m = json_string_value(json_object_get(f, "measure"));
        if (!strcmp(m, "person.status.observation"))
            suspected = json_integer_value(json_object_get(f, "value"));
        if (!strcmp(m, "person.status.normal"))
            normal = json_integer_value(json_object_get(f, "value"));
    }
    assert_string_equal(json_string_value(json_object_get(out, "region_code")), "110101000000");
    json_decref(out);
    assert_int_equal(suspected, 1);
    assert_int_equal(normal, 0);
}

/* ---- the cursor under concurrent writes ---------------------------------------------- */

#define WRITERS_N 120

/* A resident id of birth 1990-01-01 with sequence n and its check digit. */
static void resident_id(int n, char out[19])
{
    snprintf(out, 19, "11010119900101%03d", n);
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

static const char *db_url(void);

/* Staff writing people on a connection of their own while the caller pages. */
static void *writer(void *arg)
{
    (void)arg;
    db *w = NULL;
    if (db_open(db_url(), &w) != E_OK)
        return (void *)1;
    arena *a = arena_new(0);
    intptr_t bad = 0;
    for (int i = 0; i < WRITERS_N && !bad; i++) {
        char idn[19];
        resident_id(i, idn);
        struct person p = {.name = "并发",
                           .id_type = ID_RESIDENT,
                           .id_number = idn,
                           .region_code = i % 3 ? COMMUNITY : WEST};
        err e = person_create(w, a, &staff, &p, 0, NULL);
        if (!e && i % 5 == 0) {
            struct person_patch pt = {.v = {.address = "改"}, .set = PF_BIT(PF_ADDRESS)};
            struct person nv;
            e = person_update(w, a, &staff, p.id, &pt, &nv, NULL);
        }
        if (e == E_UNAVAILABLE) /* busy: try the same person again */
            i--;
        else if (e)
            bad = 1;
        arena_reset(a);
    }
    arena_free(&a);
    db_close(&w);
    return (void *)bad;
}

static void test_cursor_concurrent(void **state)
{
    (void)state;
    caller.nregions = 1; /* East: two in three of the writes */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    static int64_t seen[2 * WRITERS_N];
    size_t n = 0;
    int64_t since = 0;
    bool done = false;
    for (int rounds = 0; rounds < 100000; rounds++) {
        json_t *in = json_pack("{s:s,s:s}", "since", arena_printf(A, "%lld", (long long)since),
                               "limit", "7");
        json_t *out;
        assert_int_equal(run("persons.changes", EAST, in, &out), E_OK);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(out, "items"), i, it)
        {
            assert_true(n < 2 * WRITERS_N);
            seen[n++] = json_integer_value(json_object_get(it, "seq"));
        }
        since = json_integer_value(json_object_get(out, "next"));
        bool more = json_is_true(json_object_get(out, "more"));
        json_decref(out);
        arena_reset(A);
        if (!more && done)
            break;
        if (!more) {
            /* the writer may still be going: one more pass after it ends */
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            void *rv;
            if (pthread_tryjoin_np(t, &rv) == 0) {
                assert_null(rv);
                done = true;
            }
        }
    }
    assert_true(done);
    /* strictly increasing: no change twice, none out of order */
    for (size_t i = 1; i < n; i++)
        assert_true(seen[i] > seen[i - 1]);
    /* and exactly East's changes: none missed */
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "SELECT seq FROM exchange_changes WHERE dataset = 'persons' AND "
                                "region_code >= ? AND region_code < ? ORDER BY seq",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, EAST);
    db_bind_int64(s, 2, WEST);
    size_t k = 0;
    while (db_step(s) == DB_ROW) {
        assert_true(k < n);
        assert_int_equal(db_col_int64(s, 0), seen[k]);
        k++;
    }
    db_done(s);
    assert_int_equal(k, n);
    /* 80 creates and 16 changes in East */
    assert_int_equal(n, 80 + 16);
}

static const char *db_url(void)
{
    return fixture_pg_wanted() && !F.path[0] ? getenv("FK_DB") : F.path;
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
    F.path[0] = '\0'; /* the PostgreSQL group next: db_url gives FK_DB */
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
    T(test_change_numbers), T(test_person_writes), T(test_person_batch), T(test_changes_cursor),   \
        T(test_trip_writes), T(test_risk_area_writes), T(test_result_writes), T(test_case_writes), \
        T(test_other_batches_and_reads), T(test_cursor_concurrent)

int main(void)
{
    staff.perms = PERMS(PERM_PERSON_READ, PERM_PERSON_WRITE, PERM_ZONE_WRITE, PERM_NAT_WRITE,
                        PERM_CASE_MANAGE, PERM_CASE_STATUS, PERM_TRACE_WRITE);
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

/*
 * The inputs of the code rules that later capabilities will own (case
 * workflow: isolations; trace: contacts, stays; NAT: test results; map:
 * zones, risk areas), kept as small tables written through the API now.
 * Every write refreshes the codes it affects in the same transaction.
 */
#include "code/code.h"

#include <string.h>

#include "base/paging.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "person/person.h"

/* An optional end time must not precede its start. */
static err order(json_t *b, const char *start, const char *end, const char *msg)
{
    json_t *v = json_object_get(b, end);
    if (v && json_is_integer(v) && json_integer_value(v) &&
        json_integer_value(v) < json_integer_value(json_object_get(b, start)))
        return err_set(E_INPUT, "invalid_time", end, "%s", msg);
    return E_OK;
}

static err check_isolation(db *d, const struct scope *sc, json_t *b)
{
    (void)d;
    (void)sc;
    return order(b, "start_at", "end_at", "隔离结束时间不能早于开始时间");
}

/* The case a contact names must be a live person the caller may see: an id
 * from elsewhere would link a person to a case the caller cannot read. */
static err check_contact(db *d, const struct scope *sc, json_t *b)
{
    const char *c = json_str(b, "case_person_id");
    int64_t id = c ? id_parse(c) : 0, region;
    if (c && !id)
        return err_set(E_INPUT, "invalid_value", "case_person_id", "病例编号格式不正确");
    if (id) {
        err e = person_region(d, sc, id, &region);
        if (e == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_case_person", "case_person_id",
                           "病例人员不存在或不在您的管辖范围内");
        if (e)
            return e;
    }
    return order(b, "at", "end_at", "解除管理时间不能早于接触时间");
}

/* Risk areas are published for the whole country, so any caller may name
 * one; it must exist (and a failed look-up is a failure, not "absent"). */
static err check_stay(db *d, const struct scope *sc, json_t *b)
{
    (void)sc;
    int64_t area = id_parse(json_str(b, "area_id")), n = 0;
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*) FROM risk_areas WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, area);
    bool row;
    if (!(e = db_row(s, &row)))
        n = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if (!n)
        return err_set(E_NOT_FOUND, "unknown_area", "area_id", "风险地区不存在");
    return order(b, "arrived_at", "left_at", "离开时间不能早于到达时间");
}

static err check_test(db *d, const struct scope *sc, json_t *b)
{
    (void)d;
    (void)sc;
    return order(b, "sampled_at", "reported_at", "报告时间不能早于采样时间");
}

static const char *const test_values[] = {"negative", "positive", NULL};

/* up to 2100-01-01 */
const struct jfield code_test_body[] = {
    {"result", J_STRING, JF_REQUIRED, 0, 0, "检测结果", test_values},
    {"sampled_at", J_INT, JF_REQUIRED, 1, 4102444800000LL, "采样时间", NULL},
    {"reported_at", J_INT, JF_REQUIRED, 1, 4102444800000LL, "报告时间", NULL},
    {"institution", J_STRING, 0, 1, 100, "检测机构", NULL},
    {NULL},
};

const struct code_input_kind code_isolations = {
    "isolations",
    "isolation",
    {{"kind", CC_TEXT}, {"start_at", CC_INT}, {"end_at", CC_INT}, {NULL, 0}},
    "INSERT INTO isolations (id, person_id, region_code, user_id, created_at, kind, start_at, "
    "end_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, user_id, created_at, kind, start_at, end_at FROM isolations WHERE person_id = ? "
    "AND region_code >= ? AND region_code < ? ORDER BY id DESC LIMIT ? OFFSET ?",
    "SELECT COUNT(*) FROM isolations WHERE person_id = ? AND region_code >= ? AND region_code < ?",
    check_isolation,
};

const struct code_input_kind code_contacts = {
    "contacts",
    "contact",
    {{"degree", CC_INT}, {"case_person_id", CC_ID}, {"at", CC_INT}, {"end_at", CC_INT}, {NULL, 0}},
    "INSERT INTO contacts (id, person_id, region_code, user_id, created_at, degree, "
    "case_person_id, at, end_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, user_id, created_at, degree, case_person_id, at, end_at FROM contacts WHERE "
    "person_id = ? AND region_code >= ? AND region_code < ? ORDER BY id DESC LIMIT ? OFFSET ?",
    "SELECT COUNT(*) FROM contacts WHERE person_id = ? AND region_code >= ? AND region_code < ?",
    check_contact,
};

const struct code_input_kind code_stays = {
    "stays",
    "stay",
    {{"area_id", CC_ID}, {"arrived_at", CC_INT}, {"left_at", CC_INT}, {NULL, 0}},
    "INSERT INTO stays (id, person_id, region_code, user_id, created_at, area_id, arrived_at, "
    "left_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, user_id, created_at, area_id, arrived_at, left_at FROM stays WHERE person_id = ? "
    "AND region_code >= ? AND region_code < ? ORDER BY id DESC LIMIT ? OFFSET ?",
    "SELECT COUNT(*) FROM stays WHERE person_id = ? AND region_code >= ? AND region_code < ?",
    check_stay,
};

const struct code_input_kind code_tests = {
    "test-results",
    "test_result",
    {{"result", CC_TEXT},
     {"sampled_at", CC_INT},
     {"reported_at", CC_INT},
     {"institution", CC_TEXT},
     {NULL, 0}},
    "INSERT INTO test_results (id, person_id, region_code, user_id, created_at, result, "
    "sampled_at, reported_at, institution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, user_id, created_at, result, sampled_at, reported_at, institution FROM "
    "test_results WHERE "
    "person_id = ? AND region_code >= ? AND region_code < ? ORDER BY id DESC LIMIT ? OFFSET ?",
    "SELECT COUNT(*) FROM test_results WHERE person_id = ? AND region_code >= ? AND "
    "region_code < ?",
    check_test,
};

err code_input_add(db *d, arena *a, const struct principal *who, const struct code_input_kind *k,
                   int64_t person_id, json_t *body, int64_t *id_r)
{
    int64_t region = 0, id = id_new(), now = now_ms();
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = person_lock(d, &who->scope, person_id, &region)) ||
        (e = k->check(d, &who->scope, body)))
        goto fail;
    db_stmt *s;
    if ((e = db_prepare(d, k->insert_sql, &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, who->user_id);
    db_bind_int64(s, 5, now);
    for (int i = 0; k->cols[i].name; i++) {
        json_t *v = json_object_get(body, k->cols[i].name);
        switch (k->cols[i].type) {
        case CC_INT:
            db_bind_int64(s, 6 + i, json_is_integer(v) ? json_integer_value(v) : 0);
            break;
        case CC_TEXT:
            db_bind_text(s, 6 + i, json_is_string(v) ? json_string_value(v) : "");
            break;
        case CC_ID:
            db_bind_int64(s, 6 + i, json_is_string(v) ? id_parse(json_string_value(v)) : 0);
            break;
        }
    }
    if ((e = db_run(s, NULL)) || (e = code_refresh(d, a, person_id, k->object, who->user_id)) ||
        (k == &code_tests && (e = code_written(d, CODE_REC_TEST_RESULT, id, region, false))))
        goto fail;
    if ((e = db_commit(d)))
        goto fail;
    *id_r = id;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

static err count(db *d, const char *sql, int64_t person_id, const struct scope *sc, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool found;
    e = db_row(s, &found);
    *n_r = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    return e;
}

err code_input_list(db *d, const struct scope *sc, const struct code_input_kind *k,
                    int64_t person_id, int64_t page, int64_t page_size, json_t **items_r,
                    int64_t *total_r)
{
    int64_t region = 0, total;
    err e = person_region(d, sc, person_id, &region);
    if (e || (e = count(d, k->count_sql, person_id, sc, &total)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, k->list_sql, &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_set_id(o, "person_id", person_id);
        for (int i = 0; k->cols[i].name; i++) {
            const char *name = k->cols[i].name;
            switch (k->cols[i].type) {
            case CC_INT:
                json_object_set_new(o, name, json_integer(db_col_int64(s, 3 + i)));
                break;
            case CC_TEXT:
                json_object_set_new(o, name, json_string(db_col_text(s, 3 + i)));
                break;
            case CC_ID:
                if (db_col_int64(s, 3 + i))
                    json_set_id(o, name, db_col_int64(s, 3 + i));
                else
                    json_object_set_new(o, name, json_null());
                break;
            }
        }
        json_set_id(o, "user_id", db_col_int64(s, 1));
        json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 2)));
        json_array_append_new(arr, o);
    }
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    *total_r = total;
    return E_OK;
}

err code_latest_test(db *d, int64_t person_id, json_t **test_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT result, sampled_at, reported_at FROM test_results WHERE "
                       "person_id = ? ORDER BY sampled_at DESC, id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    json_t *o = NULL;
    bool row;
    if (!(e = db_row(s, &row)) && row &&
        !(o = json_pack("{s:s,s:I,s:I}", "result", db_col_text(s, 0), "sampled_at",
                        (json_int_t)db_col_int64(s, 1), "reported_at",
                        (json_int_t)db_col_int64(s, 2))))
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    db_done(s);
    if (!e)
        *test_r = o;
    return e;
}

err code_test_result_delete(db *d, arena *a, const struct scope *sc, int64_t id, int64_t user_id)
{
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "DELETE FROM test_results WHERE id = ? AND region_code >= ? AND "
                        "region_code < ? RETURNING person_id, region_code",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t person = 0, region = 0;
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        person = db_col_int64(s, 0);
        region = db_col_int64(s, 1);
    }
    db_done(s);
    if (!e && !person)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (e || (e = code_written(d, CODE_REC_TEST_RESULT, id, region, true)) ||
        (e = code_refresh(d, a, person, code_tests.object, user_id)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err code_test_result_json(db *d, int64_t id, json_t **o_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, person_id, region_code, result, sampled_at, reported_at, "
                       "institution, created_at FROM test_results WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!e) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_set_id(o, "person_id", db_col_int64(s, 1));
        json_set_region(o, db_col_int64(s, 2), NULL);
        json_object_set_new(o, "result", json_string(db_col_text(s, 3)));
        json_object_set_new(o, "sampled_at", json_integer(db_col_int64(s, 4)));
        json_object_set_new(o, "reported_at", json_integer(db_col_int64(s, 5)));
        json_object_set_new(o, "institution", json_string(db_col_text(s, 6)));
        json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 7)));
        *o_r = o;
    }
    db_done(s);
    return e;
}

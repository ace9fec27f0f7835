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
    if ((e = db_run(s, NULL)) || (e = code_refresh(d, a, person_id, k->object, who->user_id)))
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

static json_t *code_or_null(int64_t code)
{
    if (!code)
        return json_null();
    char out[19];
    regcode_format(code, out);
    return json_string(out);
}

/* ---- zones ------------------------------------------------------------------------ */

err code_zone_add(db *d, arena *a, const struct principal *who, json_t *b, int64_t *id_r)
{
    enum region_level lv;
    int64_t code = regcode_parse(json_str(b, "region_code"), &lv), now = now_ms();
    int64_t from = json_int(b, "valid_from", 0), to = json_int(b, "valid_to", 0);
    if (!from)
        from = now;
    if (to && to < from)
        return err_set(E_INPUT, "invalid_time", "valid_to", "结束时间不能早于开始时间");
    err e = person_region_check(d, &who->scope, code, "region_code");
    if (e || (e = db_begin(d)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO zones (id, region_code, span, kind, name, valid_from, "
                        "valid_to, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto fail;
    int64_t id = id_new();
    const char *name = json_str(b, "name");
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, code);
    db_bind_int64(s, 3, regcode_end(code) - code);
    db_bind_text(s, 4, json_str(b, "kind"));
    db_bind_text(s, 5, name ? name : "");
    db_bind_int64(s, 6, from);
    db_bind_int64(s, 7, to);
    db_bind_int64(s, 8, who->user_id);
    db_bind_int64(s, 9, now);
    if ((e = db_run(s, NULL)) ||
        (e = code_refresh_range(d, a, code, regcode_end(code), "zone", who->user_id)) ||
        (e = db_commit(d)))
        goto fail;
    *id_r = id;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err code_zone_end(db *d, arena *a, const struct principal *who, int64_t id, int64_t valid_to)
{
    if (!valid_to)
        valid_to = now_ms();
    err e = db_begin(d);
    if (e)
        return e;
    db_stmt *s;
    int64_t lo = 0, hi = 0;
    if ((e = db_prepare(
             d,
             "SELECT region_code, region_code + span, valid_from FROM zones WHERE id = ? AND "
             "region_code >= ? AND region_code < ?",
             &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->scope.lo);
    db_bind_int64(s, 3, who->scope.hi);
    bool row;
    int64_t from = 0;
    if (!(e = db_row(s, &row)) && row) {
        lo = db_col_int64(s, 0);
        hi = db_col_int64(s, 1);
        from = db_col_int64(s, 2);
    }
    if (!e && !row)
        e = E_NOT_FOUND;
    db_done(s);
    if (e)
        goto fail;
    if (valid_to < from) {
        e = err_set(E_INPUT, "invalid_time", "valid_to", "结束时间不能早于开始时间");
        goto fail;
    }
    if ((e = db_prepare(d,
                        "UPDATE zones SET valid_to = ? WHERE id = ? AND region_code >= ? AND "
                        "region_code < ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, valid_to);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, who->scope.lo);
    db_bind_int64(s, 4, who->scope.hi);
    if ((e = db_run(s, NULL)) || (e = code_refresh_range(d, a, lo, hi, "zone", who->user_id)) ||
        (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err code_zones(db *d, const struct scope *sc, int64_t page, int64_t page_size, json_t **items_r,
               int64_t *total_r)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT COUNT(*) FROM zones WHERE region_code >= ? AND region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    bool found;
    e = db_row(s, &found);
    int64_t total = found ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e || (e = db_prepare(d,
                             "SELECT id, region_code, kind, name, valid_from, valid_to, "
                             "created_at FROM zones WHERE region_code >= ? AND region_code < ? "
                             "ORDER BY id DESC LIMIT ? OFFSET ?",
                             &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, page_size);
    db_bind_int64(s, 4, paging_offset(page, page_size));
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "region_code", code_or_null(db_col_int64(s, 1)));
        json_object_set_new(o, "kind", json_string(db_col_text(s, 2)));
        json_object_set_new(o, "name", json_string(db_col_text(s, 3)));
        json_object_set_new(o, "valid_from", json_integer(db_col_int64(s, 4)));
        json_object_set_new(o, "valid_to", json_integer(db_col_int64(s, 5)));
        json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 6)));
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

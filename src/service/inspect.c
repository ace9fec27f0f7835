/*
 * Disinfection and inspection records (service.h "disinfection and
 * inspection"; docs/community-services.md "Disinfection and inspection"):
 * objects with one schedule each, the records staff make on the phone, the
 * next due time derived from the last record, and the periodic sweep that
 * turns an overdue object into one task for the community staff. The task
 * board, its deadlines and 我的任务 are the task module's.
 */
#include <math.h>
#include <string.h>

#include "attach/attach.h"
#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"
#include "service/service.h"
#include "task/task.h"

static const struct vocab_word object_kinds[] = {
    {NULL, NULL},          {"space", "公共空间"}, {"market", "集贸市场"},
    {"stall", "便民摊点"}, {"other", "其他"},
};
const struct vocab inspect_object_kind_vocab =
    VOCAB("inspect_object_kinds", "消杀巡查对象类别", object_kinds);

static const struct vocab_word record_kinds[] = {
    {NULL, NULL}, {"disinfect", "消杀"}, {"patrol", "巡查"}};
const struct vocab inspect_record_kind_vocab =
    VOCAB("inspect_record_kinds", "消杀巡查记录类别", record_kinds);

static const struct vocab_word results[] = {{NULL, NULL}, {"ok", "正常"}, {"issue", "发现问题"}};
const struct vocab inspect_result_vocab = VOCAB("inspect_results", "消杀巡查结果", results);

static const struct vocab_word units[] = {{NULL, NULL}, {"hour", "小时"}, {"day", "天"}};
const struct vocab inspect_unit_vocab = VOCAB("inspect_units", "消杀巡查周期单位", units);

#define HOUR_MS (3600LL * 1000)

#define YEAR_MS (366 * DAY_MS)
#define OWNER   "inspect_record"

static int64_t period_ms(int64_t n, const char *unit)
{
    return n * (!strcmp(unit, "hour") ? HOUR_MS : DAY_MS);
}

static bool in_vocab(const struct vocab *v, int i)
{
    return i > 0 && (size_t)i < v->n;
}

/* ---- objects --------------------------------------------------------------------- */

/* Whether place `id` lies inside the community's subtree. */
static err place_in(db *d, int64_t id, int64_t community, bool *yes_r)
{
    struct scope c = scope_of(community);
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT COUNT(*) FROM places WHERE id = ? AND region_code >= ? AND region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, c.lo);
    db_bind_int64(s, 3, c.hi);
    bool row;
    if (!(e = db_row(s, &row)))
        *yes_r = row && db_col_int64(s, 0) > 0;
    db_done(s);
    return e;
}

/* The fields an object is added with and may change to (0/NULL: not
 * given, for a change): name, kind, record kind, and the schedule. */
static err check_fields(const char *name, int kind, int record_kind, int unit, int every_n)
{
    if (name && (!*name || !utf8_valid_text(name) || utf8_len(name) > INSPECT_NAME_MAX))
        return err_set(E_INPUT, "invalid_value", "name", "名称须为1至40个字");
    if (kind >= 0 && !in_vocab(&inspect_object_kind_vocab, kind))
        return err_set(E_INPUT, "invalid_value", "kind", "请选择对象类别");
    if (record_kind >= 0 && !in_vocab(&inspect_record_kind_vocab, record_kind))
        return err_set(E_INPUT, "invalid_value", "record_kind", "请选择消杀或巡查");
    if (!in_vocab(&inspect_unit_vocab, unit))
        return err_set(E_INPUT, "invalid_value", "every_unit", "周期单位只能为小时或天");
    bool hour = !strcmp(vocab_name(&inspect_unit_vocab, (size_t)unit), "hour");
    if (every_n < 1 || every_n > (hour ? INSPECT_HOURS_MAX : INSPECT_DAYS_MAX))
        return err_set(E_INPUT, "out_of_range", "every_n",
                       hour ? "周期须为1至168小时" : "周期须为1至90天");
    return E_OK;
}

/* The responsible account gets the overdue task: the task module's rule
 * for one assignee (an enabled staff account holding task.work whose scope
 * holds the community), checked here so a bad choice is refused at entry
 * rather than at the first sweep. */
static err check_responsible(db *d, int64_t user, int64_t region)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT u.region_code FROM users u WHERE u.id = ? AND u.kind = 'staff' AND "
                       "u.disabled = 0 AND EXISTS (SELECT 1 FROM user_roles ur JOIN "
                       "role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = u.id "
                       "AND rp.permission = 'task.work')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, user);
    bool row;
    int64_t ureg = 0;
    if (!(e = db_row(s, &row)) && row)
        ureg = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    struct scope us = scope_of(ureg);
    if (!row || !scope_has(&us, region))
        return err_set(E_INPUT, "invalid_value", "responsible_id",
                       "责任人须为管辖该社区、可执行任务的在用工作人员账号");
    return E_OK;
}

err service_inspect_object_add(db *d, const struct scope *sc, const struct inspect_object_new *n,
                               int64_t by, int64_t now, int64_t *id_r)
{
    if (n->region <= 0 || regcode_level(n->region) != LEVEL_COMMUNITY || !scope_has(sc, n->region))
        return err_set(E_INPUT, "invalid_region", "region", "请选择您管辖范围内的社区");
    err e = check_fields(n->name ? n->name : "", n->kind, n->record_kind, n->unit, n->every_n);
    if (e)
        return e;
    const char *unit = vocab_name(&inspect_unit_vocab, (size_t)n->unit);
    if (n->has_pos && (!(fabs(n->lat) <= 90) || !(fabs(n->lng) <= 180)))
        return err_set(E_INPUT, "invalid_position", "lat", "经纬度超出范围");
    if (n->last_at && (n->last_at > now || n->last_at < now - YEAR_MS))
        return err_set(E_INPUT, "out_of_range", "last_at", "上次完成时间须在一年内且不晚于现在");
    if (n->responsible_id && (e = check_responsible(d, n->responsible_id, n->region)))
        return e;
    if (n->place_id) {
        bool ok = false;
        if ((e = place_in(d, n->place_id, n->region, &ok)))
            return e;
        if (!ok)
            return err_set(E_INPUT, "invalid_value", "place_id", "所选场所不在该社区");
    }
    int64_t id = id_new();
    int64_t from = n->last_at ? n->last_at : now;
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "INSERT INTO inspect_objects (id, region_code, name, kind, record_kind, "
             "every_n, every_unit, place_id, lat, lng, last_at, due_at, created_at, "
             "created_by, responsible_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
             "?, ?)",
             &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, n->region);
    db_bind_text(s, 3, n->name);
    db_bind_text(s, 4, vocab_name(&inspect_object_kind_vocab, (size_t)n->kind));
    db_bind_text(s, 5, vocab_name(&inspect_record_kind_vocab, (size_t)n->record_kind));
    db_bind_int64(s, 6, n->every_n);
    db_bind_text(s, 7, unit);
    db_bind_int64(s, 8, n->place_id);
    if (n->has_pos) {
        db_bind_double(s, 9, n->lat);
        db_bind_double(s, 10, n->lng);
    } else {
        db_bind_null(s, 9);
        db_bind_null(s, 10);
    }
    /* a time done before entry is not a record: last_at stays 0 */
    db_bind_int64(s, 11, 0);
    db_bind_int64(s, 12, from + period_ms(n->every_n, unit));
    db_bind_int64(s, 13, now);
    db_bind_int64(s, 14, by);
    db_bind_int64(s, 15, n->responsible_id);
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

#define OBJ_COLS                                                                                   \
    "o.id, o.name, o.kind, o.record_kind, o.every_n, o.every_unit, o.region_code, "                \
    "COALESCE((SELECT name FROM regions g WHERE g.code = o.region_code), ''), "                    \
    "COALESCE((SELECT name FROM places pl WHERE pl.id = o.place_id), ''), o.lat, o.lng, "          \
    "o.last_at, o.due_at, o.task_id, o.place_id, "                                                 \
    "COALESCE((SELECT r.result FROM inspect_records r WHERE r.object_id = o.id AND r.done_at = "   \
    "o.last_at ORDER BY r.id DESC LIMIT 1), ''), "                                                 \
    "COALESCE((SELECT u.display_name FROM inspect_records r JOIN users u ON u.id = r.done_by "     \
    "WHERE r.object_id = o.id AND r.done_at = o.last_at ORDER BY r.id DESC LIMIT 1), ''), "        \
    "o.version, o.responsible_id, "                                                                \
    "COALESCE((SELECT u.display_name FROM users u WHERE u.id = o.responsible_id), ''), "           \
    "o.retired_at"

static json_t *object_json(db_stmt *s, int64_t now)
{
    const char *kind = db_col_text(s, 2), *rk = db_col_text(s, 3), *unit = db_col_text(s, 5);
    const char *res = db_col_text(s, 15);
    int64_t n = db_col_int64(s, 4), due = db_col_int64(s, 12), last = db_col_int64(s, 11);
    int64_t task = db_col_int64(s, 13);
    char code[19];
    regcode_format(db_col_int64(s, 6), code);
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label_of(&inspect_object_kind_vocab, kind)));
    json_object_set_new(o, "record_kind", json_string(rk));
    json_object_set_new(o, "record_kind_label",
                        json_string(vocab_label_of(&inspect_record_kind_vocab, rk)));
    json_object_set_new(o, "every_n", json_integer(n));
    json_object_set_new(o, "every_unit", json_string(unit));
    json_object_set_new(o, "every_label",
                        json_string(n == 1 ? (!strcmp(unit, "hour") ? "每小时" : "每天") : ""));
    if (n != 1) {
        char buf[48];
        snprintf(buf, sizeof buf, "每%lld%s", (long long)n,
                 vocab_label_of(&inspect_unit_vocab, unit));
        json_object_set_new(o, "every_label", json_string(buf));
    }
    json_object_set_new(o, "region_code", json_string(code));
    json_object_set_new(o, "region_name", json_string(db_col_text(s, 7)));
    json_set_id_or_null(o, "place_id", db_col_int64(s, 14));
    json_object_set_new(o, "place_name", json_string(db_col_text(s, 8)));
    json_object_set_new(o, "lat", db_col_null(s, 9) ? json_null() : json_real(db_col_double(s, 9)));
    json_object_set_new(o, "lng",
                        db_col_null(s, 10) ? json_null() : json_real(db_col_double(s, 10)));
    json_object_set_new(o, "last_at", last ? json_integer(last) : json_null());
    json_object_set_new(o, "last_result", json_string(res));
    json_object_set_new(o, "last_result_label",
                        json_string(vocab_label_of(&inspect_result_vocab, res)));
    json_object_set_new(o, "last_by_name", json_string(db_col_text(s, 16)));
    json_object_set_new(o, "due_at", json_integer(due));
    json_object_set_new(o, "overdue", json_boolean(due < now));
    json_set_id_or_null(o, "task_id", task > 0 ? task : 0);
    json_object_set_new(o, "version", json_integer(db_col_int64(s, 17)));
    json_set_id_or_null(o, "responsible_id", db_col_int64(s, 18));
    json_object_set_new(o, "responsible_name", json_string(db_col_text(s, 19)));
    int64_t retired = db_col_int64(s, 20);
    json_object_set_new(o, "retired", json_boolean(retired > 0));
    json_object_set_new(o, "retired_at", retired ? json_integer(retired) : json_null());
    /* a retired object is due nothing: never shown late */
    if (retired)
        json_object_set_new(o, "overdue", json_false());
    return o;
}

#define OBJ_FROM                                                                                   \
    " FROM inspect_objects o WHERE o.region_code >= ? AND o.region_code < ? AND o.region_code >= " \
    "? AND o.region_code < ? AND (CAST(? AS TEXT) = '' OR o.kind = ?) AND (? = 0 OR o.due_at < "   \
    "?) "                                                                                          \
    "AND (? = 2 OR (? = 1) = (o.retired_at > 0))"

static void bind_objects(db_stmt *s, const struct scope *sc, const struct inspect_filter *f,
                         int64_t now)
{
    struct scope in = f->region ? scope_of(f->region) : *sc;
    const char *kind = f->kind > 0 ? vocab_name(&inspect_object_kind_vocab, (size_t)f->kind) : "";
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, in.lo);
    db_bind_int64(s, 4, in.hi);
    db_bind_text(s, 5, kind);
    db_bind_text(s, 6, kind);
    db_bind_int64(s, 7, f->overdue ? 1 : 0);
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, f->retired);
    db_bind_int64(s, 10, f->retired);
}

err service_inspect_objects(db *d, const struct scope *sc, const struct inspect_filter *f,
                            int64_t now, json_t **items_r, int64_t *total_r)
{
    db_stmt *s;
    bool row;
    int64_t total = 0;
    err e = db_prepare(d, "SELECT COUNT(*)" OBJ_FROM, &s);
    if (e)
        return e;
    bind_objects(s, sc, f, now);
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e || (e = db_prepare(
                  d, "SELECT " OBJ_COLS OBJ_FROM " ORDER BY o.due_at, o.id LIMIT ? OFFSET ?", &s)))
        return e;
    bind_objects(s, sc, f, now);
    db_bind_int64(s, 11, f->page_size);
    db_bind_int64(s, 12, paging_offset(f->page, f->page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row)
        json_array_append_new(items, object_json(s, now));
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    return E_OK;
}

static err records_json(db *d, int64_t id, json_t **items_r)
{
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT r.id, r.kind, r.result, r.notes, r.done_at, COALESCE(u.display_name, "
                   "'') FROM inspect_records r LEFT JOIN users u ON u.id = r.done_by WHERE "
                   "r.object_id = ? ORDER BY r.done_at DESC, r.id DESC LIMIT ?",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, INSPECT_RECENT);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *k = db_col_text(s, 1), *res = db_col_text(s, 2);
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "kind", json_string(k));
        json_object_set_new(o, "kind_label",
                            json_string(vocab_label_of(&inspect_record_kind_vocab, k)));
        json_object_set_new(o, "result", json_string(res));
        json_object_set_new(o, "result_label",
                            json_string(vocab_label_of(&inspect_result_vocab, res)));
        json_object_set_new(o, "notes", json_string(db_col_text(s, 3)));
        json_object_set_new(o, "done_at", json_integer(db_col_int64(s, 4)));
        json_object_set_new(o, "done_by_name", json_string(db_col_text(s, 5)));
        json_array_append_new(items, o);
    }
    db_done(s);
    for (size_t i = 0; !e && i < json_array_size(items); i++) {
        json_t *o = json_array_get(items, i), *att;
        int64_t rid = id_parse(json_string_value(json_object_get(o, "id")));
        if (!(e = attach_list(d, OWNER, rid, &att)))
            json_object_set_new(o, "attachments", att);
    }
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err service_inspect_object_get(db *d, const struct scope *sc, int64_t id, int64_t now,
                               json_t **item_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " OBJ_COLS " FROM inspect_objects o WHERE o.id = ? AND "
                       "o.region_code >= ? AND o.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    json_t *o = NULL, *recs;
    if (!(e = db_row(s, &row)))
        e = row ? E_OK : err_set(E_NOT_FOUND, "not_found", NULL, "消杀巡查对象不存在");
    if (!e)
        o = object_json(s, now);
    db_done(s);
    if (!e && !(e = records_json(d, id, &recs)))
        json_object_set_new(o, "records", recs);
    if (e) {
        json_decref(o);
        return e;
    }
    *item_r = o;
    return E_OK;
}

/* ---- records --------------------------------------------------------------------- */

err service_inspect_record(db *d, arena *a, const struct principal *who, int64_t id,
                           const struct inspect_record_new *n, int64_t now, int64_t *record_r)
{
    if (!in_vocab(&inspect_result_vocab, n->result))
        return err_set(E_INPUT, "invalid_value", "result", "请选择结果");
    if (n->kind && !in_vocab(&inspect_record_kind_vocab, n->kind))
        return err_set(E_INPUT, "invalid_value", "kind", "请选择消杀或巡查");
    const char *notes = n->notes ? n->notes : "";
    if (!utf8_valid_text(notes) || utf8_len(notes) > INSPECT_NOTES_MAX)
        return err_set(E_INPUT, "too_long", "notes", "说明不能超过500个字");
    const char *result = vocab_name(&inspect_result_vocab, (size_t)n->result);
    if (!strcmp(result, "issue") && !*notes)
        return err_set(E_INPUT, "required", "notes", "发现问题时请填写说明");
    db_stmt *s;
    bool row;
    err e = db_prepare(d,
                       "SELECT region_code, record_kind, every_n, every_unit, retired_at FROM "
                       "inspect_objects WHERE id = ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, who->scope.lo);
    db_bind_int64(s, 3, who->scope.hi);
    int64_t region = 0, every = 0, retired = 0;
    char kind[16] = "", unit[8] = "";
    if (!(e = db_row(s, &row)) && row) {
        region = db_col_int64(s, 0);
        snprintf(kind, sizeof kind, "%s", db_col_text(s, 1));
        every = db_col_int64(s, 2);
        snprintf(unit, sizeof unit, "%s", db_col_text(s, 3));
        retired = db_col_int64(s, 4);
    }
    db_done(s);
    if (e)
        return e;
    if (!region)
        return err_set(E_NOT_FOUND, "not_found", NULL, "消杀巡查对象不存在");
    if (retired)
        return err_set(E_CONFLICT, "object_retired", NULL, "该对象已停用，不再登记记录");
    if (n->kind)
        snprintf(kind, sizeof kind, "%s", vocab_name(&inspect_record_kind_vocab, (size_t)n->kind));
    if ((e = db_begin(d)))
        return e;
    int64_t rid = id_new();
    if ((e = db_prepare(d,
                        "INSERT INTO inspect_records (id, object_id, region_code, kind, result, "
                        "notes, done_at, done_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        goto out;
    db_bind_int64(s, 1, rid);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, region);
    db_bind_text(s, 4, kind);
    db_bind_text(s, 5, result);
    db_bind_text(s, 6, notes);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, who->user_id);
    if ((e = db_run(s, NULL)))
        goto out;
    if ((e = attach_claim_all(d, who, n->attachments, OWNER, rid, region)))
        goto out;
    /* the schedule runs from the latest record; a record made while a
     * sweep holds the row (-1) leaves the claim to the sweep */
    if ((e = db_prepare(d,
                        "UPDATE inspect_objects SET last_at = ?, due_at = ?, task_id = CASE WHEN "
                        "task_id > 0 THEN 0 ELSE task_id END WHERE id = ? AND last_at <= ?",
                        &s)))
        goto out;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now + period_ms(every, unit));
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, now);
    if ((e = db_run(s, NULL)))
        goto out;
    /* complete the overdue task, if any (read in this transaction: a
     * sweep may have raised one since the object was read) */
    e = task_done_for(d, a, who, SERVICE_TASK_INSPECT, id,
                      !strcmp(kind, "disinfect") ? "已登记消杀记录" : "已登记巡查记录");
out:
    if (e) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *record_r = rid;
    return E_OK;
}

/* ---- editing and retiring ------------------------------------------------------- */

struct object_row {
    int64_t region, every_n, last_at, due_at, version, retired_at, task_id;
    char name[256], kind[16], record_kind[16], unit[8];
};

/* The object inside the scope, read in the caller's transaction. */
static err object_row(db *d, const struct scope *sc, int64_t id, struct object_row *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, name, kind, record_kind, every_n, every_unit, last_at, "
                       "due_at, version, retired_at, task_id FROM inspect_objects WHERE id = ? AND "
                       "region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        o->region = db_col_int64(s, 0);
        snprintf(o->name, sizeof o->name, "%s", db_col_text(s, 1));
        snprintf(o->kind, sizeof o->kind, "%s", db_col_text(s, 2));
        snprintf(o->record_kind, sizeof o->record_kind, "%s", db_col_text(s, 3));
        o->every_n = db_col_int64(s, 4);
        snprintf(o->unit, sizeof o->unit, "%s", db_col_text(s, 5));
        o->last_at = db_col_int64(s, 6);
        o->due_at = db_col_int64(s, 7);
        o->version = db_col_int64(s, 8);
        o->retired_at = db_col_int64(s, 9);
        o->task_id = db_col_int64(s, 10);
    }
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "消杀巡查对象不存在");
    return e;
}

static err stale(void)
{
    return err_set(E_CONFLICT, "version_conflict", "version", "该记录已被他人修改，请刷新后重试");
}

static err update(db *d, arena *a, const struct principal *who, int64_t id,
                  const struct inspect_object_patch *p, int64_t now)
{
    struct object_row o;
    err e = object_row(d, &who->scope, id, &o);
    if (e)
        return e;
    if (o.retired_at)
        return err_set(E_CONFLICT, "object_retired", NULL, "该对象已停用，不能修改");
    if (p->version > 0 && p->version != o.version)
        return stale();
    int kind = p->kind ? p->kind : vocab_parse(&inspect_object_kind_vocab, o.kind);
    int rk =
        p->record_kind ? p->record_kind : vocab_parse(&inspect_record_kind_vocab, o.record_kind);
    int unit = p->unit ? p->unit : vocab_parse(&inspect_unit_vocab, o.unit);
    int every = p->every_n ? p->every_n : (int)o.every_n;
    const char *name = p->name ? p->name : o.name;
    if ((e = check_fields(name, kind, rk, unit, every)))
        return e;
    if (p->set_responsible && p->responsible_id &&
        (e = check_responsible(d, p->responsible_id, o.region)))
        return e;
    /* a new period counts from the same start: the last record, else the
     * start the first due time was counted from */
    const char *uname = vocab_name(&inspect_unit_vocab, (size_t)unit);
    int64_t from = o.last_at ? o.last_at : o.due_at - period_ms(o.every_n, o.unit);
    int64_t due = from + period_ms(every, uname);
    bool drop_task = o.task_id > 0 && due >= now;
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "UPDATE inspect_objects SET name = ?, kind = ?, record_kind = ?, every_n = "
             "?, every_unit = ?, due_at = ?, responsible_id = CASE WHEN ? = 1 THEN ? "
             "ELSE responsible_id END, task_id = CASE WHEN ? = 1 THEN 0 ELSE task_id "
             "END, version = version + 1 WHERE id = ? AND version = ? AND retired_at = 0",
             &s)))
        return e;
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, vocab_name(&inspect_object_kind_vocab, (size_t)kind));
    db_bind_text(s, 3, vocab_name(&inspect_record_kind_vocab, (size_t)rk));
    db_bind_int64(s, 4, every);
    db_bind_text(s, 5, uname);
    db_bind_int64(s, 6, due);
    db_bind_int64(s, 7, p->set_responsible ? 1 : 0);
    db_bind_int64(s, 8, p->responsible_id);
    db_bind_int64(s, 9, drop_task ? 1 : 0);
    db_bind_int64(s, 10, id);
    db_bind_int64(s, 11, o.version);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return stale();
    /* no longer late under the new schedule: its overdue task goes */
    return drop_task ? task_cancel_for(d, a, who, SERVICE_TASK_INSPECT, id, "周期已修改，不再逾期")
                     : E_OK;
}

err service_inspect_object_update(db *d, arena *a, const struct principal *who, int64_t id,
                                  const struct inspect_object_patch *p, int64_t now)
{
    if (!p->name && !p->kind && !p->record_kind && !p->unit && !p->every_n && !p->set_responsible)
        return err_set(E_INPUT, "empty_update", NULL, "没有要修改的内容");
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = update(d, a, who, id, p, now))) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static err retire(db *d, arena *a, const struct principal *who, int64_t id, int64_t version,
                  int64_t now)
{
    struct object_row o;
    err e = object_row(d, &who->scope, id, &o);
    if (e)
        return e;
    if (o.retired_at)
        return err_set(E_CONFLICT, "object_retired", NULL, "该对象已停用");
    if (version > 0 && version != o.version)
        return stale();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE inspect_objects SET retired_at = ?, retired_by = ?, task_id = 0, "
                        "version = version + 1 WHERE id = ? AND version = ? AND retired_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, id);
    db_bind_int64(s, 4, o.version);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return stale();
    /* nothing is due any more: the open overdue task is cancelled (not
     * completed: nobody did the work) */
    return task_cancel_for(d, a, who, SERVICE_TASK_INSPECT, id, "对象已停用");
}

err service_inspect_object_retire(db *d, arena *a, const struct principal *who, int64_t id,
                                  int64_t version, int64_t now)
{
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = retire(d, a, who, id, version, now))) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* ---- statistics ------------------------------------------------------------------ */

err service_inspect_stats(db *d, const struct scope *sc, int64_t now,
                          err (*fn)(void *ctx, const struct inspect_stat *st), void *ctx)
{
    int64_t week = china_day_start(now) - 6 * DAY_MS;
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT o.region_code, COALESCE((SELECT name FROM regions g WHERE g.code = o.region_code), "
        "''), COUNT(*), SUM(CASE WHEN o.due_at < ? THEN 1 ELSE 0 END), (SELECT COUNT(*) FROM "
        "inspect_records r WHERE r.region_code = o.region_code AND r.done_at >= ?) FROM "
        "inspect_objects o WHERE o.region_code >= ? AND o.region_code < ? AND o.retired_at = 0 "
        "GROUP BY o.region_code "
        "ORDER BY o.region_code",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, week);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        struct inspect_stat st = {
            .region_code = db_col_int64(s, 0),
            .region_name = db_col_text(s, 1),
            .objects = db_col_int64(s, 2),
            .overdue = db_col_int64(s, 3),
            .records_week = db_col_int64(s, 4),
        };
        if ((e = fn(ctx, &st)))
            break;
    }
    db_done(s);
    return e;
}

/* ---- the overdue sweep and its task kind ---------------------------------------- */

err service_inspect_sweep(db *d, int64_t now, int64_t *n_r)
{
    int64_t ids[INSPECT_SWEEP_MAX], made = 0;
    size_t n = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM inspect_objects WHERE due_at < ? AND task_id = 0 AND "
                       "retired_at = 0 ORDER BY due_at, id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, INSPECT_SWEEP_MAX);
    bool row;
    while (!(e = db_row(s, &row)) && row)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    arena *a = arena_new(4096); /* the sweep's thread has no request arena */
    for (size_t i = 0; !e && i < n; i++) {
        /* each object in its own transaction: claim (task_id 0 -> -1), so a
         * second server sweeping the same database skips it, then the task */
        if ((e = db_begin(d)))
            break;
        int64_t changed = 0, task_id = 0, region = 0, responsible = 0;
        if (!(e = db_prepare(d,
                             "UPDATE inspect_objects SET task_id = -1 WHERE id = ? AND task_id = 0 "
                             "AND due_at < ? AND retired_at = 0",
                             &s))) {
            db_bind_int64(s, 1, ids[i]);
            db_bind_int64(s, 2, now);
            e = db_run(s, &changed);
        }
        char name[256] = "", rk[16] = "";
        double lat = 0, lng = 0;
        if (!e && changed &&
            !(e = db_prepare(d,
                             "SELECT region_code, name, record_kind, lat, lng, responsible_id FROM "
                             "inspect_objects WHERE id = ?",
                             &s))) {
            db_bind_int64(s, 1, ids[i]);
            if (!(e = db_row(s, &row)) && row) {
                region = db_col_int64(s, 0);
                snprintf(name, sizeof name, "%s", db_col_text(s, 1));
                snprintf(rk, sizeof rk, "%s", db_col_text(s, 2));
                if (!db_col_null(s, 3)) {
                    lat = db_col_double(s, 3);
                    lng = db_col_double(s, 4);
                }
                responsible = db_col_int64(s, 5);
            }
            db_done(s);
        }
        if (!e && changed) {
            /* the title names the object (a place), never a person */
            struct task_new t = {
                .kind = SERVICE_TASK_INSPECT,
                .region_code = region,
                .assignee_role = "community_staff",
                .priority = TASK_NORMAL,
                .deadline = now + DAY_MS,
                .title = arena_printf(a, "%s逾期：%s",
                                      vocab_label_of(&inspect_record_kind_vocab, rk), name),
                .subject_id = ids[i],
                .lat = lat,
                .lng = lng,
                .note = "已过应做时间，请尽快完成并在手机“消杀巡查”中登记",
            };
            /* to the responsible account; should the task module no longer
             * take it (disabled, moved away, lost task.work: its checks run
             * before any write) to the community staff as before */
            if (responsible) {
                t.assignee_user_id = responsible;
                t.assignee_role = NULL;
                if ((e = task_create(d, &t, &task_id)) == E_INPUT) {
                    t.assignee_user_id = 0;
                    t.assignee_role = "community_staff";
                    e = E_OK;
                }
            }
            if (!e && !task_id)
                e = task_create(d, &t, &task_id);
            if (!e &&
                !(e = db_prepare(d, "UPDATE inspect_objects SET task_id = ? WHERE id = ?", &s))) {
                db_bind_int64(s, 1, task_id);
                db_bind_int64(s, 2, ids[i]);
                e = db_run(s, NULL);
            }
        }
        if (e) {
            db_rollback(d);
            if (e != E_INPUT)
                break;
            /* a task the task module refuses (an object's data it will not
             * take): skip that object rather than stall every run on it */
            e = E_OK;
            continue;
        }
        if ((e = db_commit(d)))
            break;
        if (changed)
            made++;
    }
    arena_free(&a);
    if (n_r)
        *n_r = made;
    return e;
}

/* The task ended without a record (staff completed or cancelled it on the
 * task board): free the object so the next sweep may raise it again. */
static err release(db *d, const struct task *t)
{
    db_stmt *s;
    err e =
        db_prepare(d, "UPDATE inspect_objects SET task_id = 0 WHERE id = ? AND task_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, t->subject_id);
    db_bind_int64(s, 2, t->id);
    return db_run(s, NULL);
}

static err inspect_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                            json_t *result)
{
    (void)a;
    (void)who;
    (void)result;
    return release(d, t);
}

static err inspect_cancelled(db *d, arena *a, const struct principal *who, const struct task *t)
{
    (void)a;
    (void)who;
    return release(d, t);
}

static const struct task_kind inspect_kind = {
    .name = SERVICE_TASK_INSPECT,
    .label = "消杀巡查逾期",
    .complete = inspect_complete,
    .cancelled = inspect_cancelled,
    .dispatchable = false,
};

err service_inspect_task_kind_register(void)
{
    return task_kind_register(&inspect_kind);
}

static err sweep_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return service_inspect_sweep(d, now, n_r);
}

static struct periodic sweeper = PERIODIC_INIT("inspect_sweep", sweep_run, NULL);

err service_inspect_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&sweeper, db_url, every_s);
}

void service_inspect_worker_stop(void)
{
    periodic_stop(&sweeper);
}

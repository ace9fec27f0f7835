/*
 * HTTP handlers of disinfection and inspection records (service.h
 * "disinfection and inspection"; docs/community-services.md "Disinfection
 * and inspection"):
 *
 *   GET  /api/v1/service/inspect/objects              objects in scope, most overdue first:
 *                                                      region, kind, overdue=1, retired=0|1|all,
 *                                                      paging
 *   POST /api/v1/service/inspect/objects              add one (service.manage)
 *   GET  /api/v1/service/inspect/objects/{id}         one with its latest records and photos
 *   PATCH /api/v1/service/inspect/objects/{id}        change name, kind, schedule, responsible
 *                                                      (service.manage; optional "version")
 *   POST /api/v1/service/inspect/objects/{id}/retire  停用 (service.manage; optional "version")
 *   POST /api/v1/service/inspect/objects/{id}/records record one done (assist.work): 201
 *   GET  /api/v1/service/inspect/stats                per community: objects, records in the
 *                                                      last 7 days, overdue; format=csv|xlsx
 *   POST /api/v1/service/inspect/sweep                raise the overdue tasks now (service.manage)
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/export.h"
#include "http/write.h"
#include "security/audit.h"
#include "service/service.h"

static err region_param(struct req *r, const char *v, int64_t *region_r)
{
    enum region_level lv;
    *region_r = 0;
    if (v && *v && (*region_r = regcode_parse(v, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region", "地区编码不正确");
    (void)r;
    return E_OK;
}

static err get_objects(struct req *r)
{
    struct inspect_filter f = {0};
    const char *k = req_query(r, "kind"), *o = req_query(r, "overdue");
    const char *ret = req_query(r, "retired");
    err e = region_param(r, req_query(r, "region"), &f.region);
    if (!e && k && *k && (f.kind = vocab_parse(&inspect_object_kind_vocab, k)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "kind", "对象类别的取值不正确");
    if (!e && o && *o && strcmp(o, "0") && strcmp(o, "1"))
        e = err_set(E_INPUT, "invalid_parameter", "overdue", "overdue 只能为 0 或 1");
    if (!e && ret && *ret && strcmp(ret, "0") && strcmp(ret, "1") && strcmp(ret, "all"))
        e = err_set(E_INPUT, "invalid_parameter", "retired", "retired 只能为 0、1 或 all");
    if (e || (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    f.overdue = o && *o == '1';
    f.retired = !ret || !*ret || *ret == '0' ? INSPECT_IN_SERVICE
                : *ret == '1'                ? INSPECT_RETIRED
                                             : INSPECT_ANY;
    int64_t total = 0;
    json_t *items;
    if ((e = service_inspect_objects(r->db, &r->who->scope, &f, now_ms(), &items, &total)))
        return e;
    return reply_page(r, items, total, f.page, f.page_size);
}

static const struct jfield object_body[] = {
    {"region", J_STRING, JF_REQUIRED, 1, 18, "社区", NULL, NULL},
    {"name", J_STRING, JF_REQUIRED, 1, INSPECT_NAME_MAX, "名称", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "对象类别", NULL, &inspect_object_kind_vocab},
    {"record_kind", J_STRING, JF_REQUIRED, 0, 0, "消杀或巡查", NULL, &inspect_record_kind_vocab},
    {"every_n", J_INT, JF_REQUIRED, 1, INSPECT_HOURS_MAX, "周期", NULL, NULL},
    {"every_unit", J_STRING, JF_REQUIRED, 0, 0, "周期单位", NULL, &inspect_unit_vocab},
    {"place_id", J_STRING, JF_NULLABLE, 1, 20, "场所", NULL, NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL, NULL},
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL, NULL},
    {"last_at", J_INT, JF_NULLABLE, 0, 0, "上次完成时间", NULL, NULL},
    {"responsible_id", J_STRING, JF_NULLABLE, 1, 20, "责任人", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* An optional id in the body: absent or null 0, malformed -1. */
static int64_t body_id(struct req *r, const char *key)
{
    const char *v = json_str(r->body, key);
    if (!v)
        return 0;
    int64_t id = id_parse(v);
    return id > 0 ? id : -1;
}

static err bad_responsible(void)
{
    return err_set(E_INPUT, "invalid_value", "responsible_id",
                   "责任人须为管辖该社区、可执行任务的在用工作人员账号");
}

static err post_object(struct req *r)
{
    bool lat = json_is_number(json_object_get(r->body, "lat"));
    bool lng = json_is_number(json_object_get(r->body, "lng"));
    const char *place = json_str(r->body, "place_id");
    struct inspect_object_new n = {
        .name = json_str(r->body, "name"),
        .kind = vocab_parse(&inspect_object_kind_vocab, json_str(r->body, "kind")),
        .record_kind = vocab_parse(&inspect_record_kind_vocab, json_str(r->body, "record_kind")),
        .unit = vocab_parse(&inspect_unit_vocab, json_str(r->body, "every_unit")),
        .every_n = (int)json_int(r->body, "every_n", 0),
        .place_id = place ? id_parse(place) : 0,
        .has_pos = lat,
        .lat = json_num(r->body, "lat", 0),
        .lng = json_num(r->body, "lng", 0),
        .last_at = json_int(r->body, "last_at", 0),
        .responsible_id = body_id(r, "responsible_id"),
    };
    int64_t id = 0;
    err e = region_param(r, json_str(r->body, "region"), &n.region);
    if (!e && lat != lng)
        e = err_set(E_INPUT, "invalid_position", lat ? "lng" : "lat", "经纬度须同时提供");
    if (!e && place && n.place_id <= 0)
        e = err_set(E_INPUT, "invalid_value", "place_id", "所选场所不在该社区");
    if (!e && n.responsible_id < 0)
        e = bad_responsible();
    db_hold(r->db);
    if (!e)
        e = service_inspect_object_add(r->db, &r->who->scope, &n, r->who->user_id, now_ms(), &id);
    if ((e = req_write_done(r, e, "inspect.object_add", "inspect_object", id, req_body_fields(r))))
        return e;
    json_t *item;
    if ((e = service_inspect_object_get(r->db, &r->who->scope, id, now_ms(), &item)))
        return e;
    return reply_json(r, 201, item);
}

static err get_object(struct req *r)
{
    int64_t id;
    json_t *item;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if ((e = service_inspect_object_get(r->db, &r->who->scope, id, now_ms(), &item)))
        return audit_refusal(r->db, r->who, r->ip, "inspect.read", "inspect_object", id, e, NULL);
    return reply_json(r, 200, item);
}

static const struct jfield object_patch[] = {
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {"name", J_STRING, 0, 1, INSPECT_NAME_MAX, "名称", NULL, NULL},
    {"kind", J_STRING, 0, 0, 0, "对象类别", NULL, &inspect_object_kind_vocab},
    {"record_kind", J_STRING, 0, 0, 0, "消杀或巡查", NULL, &inspect_record_kind_vocab},
    {"every_n", J_INT, 0, 1, INSPECT_HOURS_MAX, "周期", NULL, NULL},
    {"every_unit", J_STRING, 0, 0, 0, "周期单位", NULL, &inspect_unit_vocab},
    {"responsible_id", J_STRING, JF_NULLABLE, 1, 20, "责任人", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err reply_object(struct req *r, int status, int64_t id)
{
    json_t *item;
    err e = service_inspect_object_get(r->db, &r->who->scope, id, now_ms(), &item);
    return e ? e : reply_json(r, status, item);
}

static err patch_object(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    const char *k = json_str(r->body, "kind"), *rk = json_str(r->body, "record_kind");
    const char *u = json_str(r->body, "every_unit");
    struct inspect_object_patch p = {
        .version = json_int(r->body, "version", 0),
        .name = json_str(r->body, "name"),
        .kind = k ? vocab_parse(&inspect_object_kind_vocab, k) : 0,
        .record_kind = rk ? vocab_parse(&inspect_record_kind_vocab, rk) : 0,
        .unit = u ? vocab_parse(&inspect_unit_vocab, u) : 0,
        .every_n = (int)json_int(r->body, "every_n", 0),
        .set_responsible = json_object_get(r->body, "responsible_id") != NULL,
        .responsible_id = body_id(r, "responsible_id"),
    };
    if (!e && p.responsible_id < 0)
        e = bad_responsible();
    db_hold(r->db); /* the entry commits with the change (security/audit.h) */
    if (!e)
        e = service_inspect_object_update(r->db, r->a, r->who, id, &p, now_ms());
    if ((e = req_write_done(r, e, "inspect.object_update", "inspect_object", id,
                            req_body_fields(r))))
        return e;
    return reply_object(r, 200, id);
}

static const struct jfield retire_body[] = {
    {"version", J_INT, JF_NULLABLE, 1, INT32_MAX, "版本号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_retire(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = service_inspect_object_retire(r->db, r->a, r->who, id, json_int(r->body, "version", 0),
                                          now_ms());
    if ((e = req_write_done(r, e, "inspect.object_retire", "inspect_object", id, "")))
        return e;
    return reply_object(r, 200, id);
}

static const struct jfield record_body[] = {
    {"kind", J_STRING, JF_NULLABLE, 0, 0, "消杀或巡查", NULL, &inspect_record_kind_vocab},
    {"result", J_STRING, JF_REQUIRED, 0, 0, "结果", NULL, &inspect_result_vocab},
    {"notes", J_STRING, JF_NULLABLE, 0, INSPECT_NOTES_MAX, "说明", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_record(struct req *r)
{
    int64_t id = 0, rid = 0;
    err e = req_param_id(r, 0, &id);
    const char *k = json_str(r->body, "kind");
    struct inspect_record_new n = {
        .kind = k ? vocab_parse(&inspect_record_kind_vocab, k) : 0,
        .result = vocab_parse(&inspect_result_vocab, json_str(r->body, "result")),
        .notes = json_str(r->body, "notes"),
        .attachments = json_object_get(r->body, "attachments"),
    };
    db_hold(r->db); /* the entry commits with the record (security/audit.h) */
    if (!e)
        e = service_inspect_record(r->db, r->a, r->who, id, &n, now_ms(), &rid);
    if ((e = req_write_done(r, e, "inspect.record", "inspect_object", id,
                            arena_printf(r->a, "record=%lld", (long long)rid))))
        return e;
    json_t *item;
    if ((e = service_inspect_object_get(r->db, &r->who->scope, id, now_ms(), &item)))
        return e;
    return reply_json(r, 201, item);
}

static const char *const stats_head[] = {"社区", "对象数", "近7日记录", "逾期对象"};

struct stats_ctx {
    struct export_out *x;
    json_t *items;
};

static err stat_row(void *ctx, const struct inspect_stat *st)
{
    struct stats_ctx *c = ctx;
    if (c->x) {
        err e = export_room(c->x);
        if (e)
            return e;
        export_text(c->x, st->region_name);
        export_int(c->x, st->objects);
        export_int(c->x, st->records_week);
        export_int(c->x, st->overdue);
        export_row_end(c->x);
        return E_OK;
    }
    char code[19];
    regcode_format(st->region_code, code);
    json_array_append_new(
        c->items, json_pack("{s:s,s:s,s:I,s:I,s:I}", "region_code", code, "region_name",
                            st->region_name, "objects", (json_int_t)st->objects, "records_week",
                            (json_int_t)st->records_week, "overdue", (json_int_t)st->overdue));
    return E_OK;
}

static err get_stats(struct req *r)
{
    enum export_format fmt;
    err e = req_export_format(r, &fmt);
    if (e)
        return e;
    int64_t now = now_ms();
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "消杀巡查统计", stats_head,
                              sizeof stats_head / sizeof stats_head[0])))
            return e;
        struct stats_ctx c = {&x, NULL};
        e = service_inspect_stats(r->db, &r->who->scope, now, stat_row, &c);
        if (!e)
            req_audit(
                r, "inspect.stats", "inspect_object", 0, "ok",
                arena_printf(r->a, "%s count=%lld", export_format_name(fmt), (long long)x.rows));
        return export_send(&x, e, "inspect-stats");
    }
    struct stats_ctx c = {NULL, json_array()};
    if ((e = service_inspect_stats(r->db, &r->who->scope, now, stat_row, &c))) {
        json_decref(c.items);
        return e;
    }
    return reply_json(r, 200, json_pack("{s:o}", "items", c.items));
}

static err post_sweep(struct req *r)
{
    int64_t n = 0;
    err e = service_inspect_sweep(r->db, now_ms(), &n);
    if (e)
        return e;
    req_audit(r, "inspect.sweep", "inspect_object", 0, "ok",
              arena_printf(r->a, "tasks=%lld", (long long)n));
    return reply_json(r, 200, json_pack("{s:I}", "tasks", (json_int_t)n));
}

const struct route service_inspect_routes[] = {
    {M_GET, "/api/v1/service/inspect/objects", get_objects, PERM_SERVICE_READ, 0, NULL,
     "消杀巡查对象（region, kind, overdue, retired）", "service", 0},
    {M_POST, "/api/v1/service/inspect/objects", post_object, PERM_SERVICE_MANAGE, 0, object_body,
     "添加消杀巡查对象及周期", "service", 0},
    {M_GET, "/api/v1/service/inspect/objects/{id}", get_object, PERM_SERVICE_READ, 0, NULL,
     "消杀巡查对象详情及最近记录", "service", 0},
    {M_POST, "/api/v1/service/inspect/objects/{id}/records", post_record, PERM_ASSIST_WORK, 0,
     record_body, "登记消杀或巡查记录", "service", 0},
    {M_PATCH, "/api/v1/service/inspect/objects/{id}", patch_object, PERM_SERVICE_MANAGE, 0,
     object_patch, "修改消杀巡查对象（名称、类别、周期、责任人）", "service", 0},
    {M_POST, "/api/v1/service/inspect/objects/{id}/retire", post_retire, PERM_SERVICE_MANAGE, 0,
     retire_body, "停用消杀巡查对象", "service", 0},
    {M_GET, "/api/v1/service/inspect/stats", get_stats, PERM_SERVICE_READ, 0, NULL,
     "消杀巡查统计（按社区；可导出）", "service", 0},
    {M_POST, "/api/v1/service/inspect/sweep", post_sweep, PERM_SERVICE_MANAGE, 0, NULL,
     "立即检查逾期对象并派发任务", "service", 0},
};
const size_t service_inspect_routes_n =
    sizeof service_inspect_routes / sizeof service_inspect_routes[0];

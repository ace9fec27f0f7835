/*
 * HTTP handlers of zones (code/code.h "zones", docs/zones.md):
 *
 *   POST  /api/v1/zones                   create over a region or a drawn polygon
 *   POST  /api/v1/zones/preview           what creating would do to codes (nothing saved)
 *   POST  /api/v1/zones/import            a GeoJSON FeatureCollection (file or body)
 *   GET   /api/v1/zones                   the list (state=active|ended|pending, format=csv|xlsx)
 *   GET   /api/v1/zones/{id}              one, with its buildings and places
 *   GET   /api/v1/zones/{id}/persons      the people living there (masked, audited)
 *   GET   /api/v1/zones/{id}/lift-preview what lifting now would do
 *   POST  /api/v1/zones/{id}/lift         lift with a reason
 *   PATCH /api/v1/zones/{id}              {valid_to}: the older lift, without a reason
 *
 * Writes are audited with the zone as object (refusals too); the people list
 * is audited as a read of personal data.
 */
#include <string.h>

#include "app.h"
#include "base/json.h"
#include "code/code.h"
#include "http/export.h"
#include "security/audit.h"

#define TIME_MAX   4102444800000LL /* 2100-01-01 */
#define IMPORT_MAX (8u * 1024 * 1024)
#define REASON_MAX 200

static const char *const zone_kinds[] = {"sealed", "controlled", "prevention", NULL};

static const struct jfield zone_body[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "区域类型", zone_kinds},
    {"name", J_STRING, 0, 0, 100, "名称", NULL},
    {"region_code", J_STRING, 0, 1, 18, "区划", NULL},
    {"boundary", J_OBJECT, JF_NULLABLE, 0, 0, "边界（GeoJSON 多边形）", NULL},
    {"valid_from", J_INT, 0, 1, TIME_MAX, "生效时间", NULL},
    {"valid_to", J_INT, 0, 1, TIME_MAX, "解除时间", NULL},
    {NULL},
};

static const struct jfield zone_patch[] = {
    {"valid_to", J_INT, JF_REQUIRED, 0, TIME_MAX, "解除时间", NULL},
    {NULL},
};

static const struct jfield lift_body[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, REASON_MAX, "解除原因", NULL},
    {"valid_to", J_INT, 0, 0, TIME_MAX, "解除时间", NULL},
    {NULL},
};

/* End a held write: commit with its audit entry, or roll back and audit
 * the refusal. */
static err zone_done(struct req *r, err e, const char *action, int64_t id, const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "zone", id, e, detail);
    }
    req_audit(r, action, "zone", id, "ok", detail);
    return db_release(r->db, true);
}

static err reply_zone(struct req *r, int status, int64_t id)
{
    json_t *o;
    err e = code_zone_get(r->db, r->a, &r->who->scope, id, &o);
    return e ? e : reply_json(r, status, o);
}

static err post_zone(struct req *r)
{
    int64_t id = 0;
    const char *rc = json_str(r->body, "region_code");
    bool drawn = json_is_object(json_object_get(r->body, "boundary"));
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    err e = code_zone_add(r->db, r->a, r->who, r->body, &id);
    if ((e = zone_done(r, e, "zone.create", id,
                       arena_printf(r->a,
                                    "kind=%s region_code=%s drawn=%d valid_from=%lld "
                                    "valid_to=%lld",
                                    json_str(r->body, "kind"), rc ? rc : "", drawn,
                                    (long long)json_int(r->body, "valid_from", 0),
                                    (long long)json_int(r->body, "valid_to", 0)))))
        return e;
    return reply_zone(r, 201, id);
}

/* The counts of a preview for its audit entry. */
static const char *effect_detail(struct req *r, json_t *o)
{
    return arena_printf(r->a, "total=%lld changed=%lld", (long long)json_int(o, "total", 0),
                        (long long)json_int(o, "changed", 0));
}

static err post_zone_preview(struct req *r)
{
    json_t *o;
    err e = code_zone_preview(r->db, r->a, r->who, r->body, &o);
    if (e)
        return e;
    req_audit(r, "zone.preview", "zone", 0, "ok", effect_detail(r, o));
    return reply_json(r, 200, o);
}

static err post_zone_import(struct req *r)
{
    size_t n;
    const char *body = req_raw_body(r, &n);
    json_t *fc = NULL, *items = NULL;
    err e = json_parse_body(body, n, &fc);
    if (!e && !json_is_object(fc))
        e = err_set(E_INPUT, "invalid_json", NULL, "应为 GeoJSON FeatureCollection 对象");
    if (e) {
        json_decref(fc);
        return e;
    }
    db_hold(r->db);
    e = code_zone_import(r->db, r->a, r->who, fc, &items);
    json_decref(fc);
    if ((e = zone_done(
             r, e, "zone.import", 0,
             arena_printf(r->a, "bytes=%zu zones=%zu", n, items ? json_array_size(items) : 0)))) {
        json_decref(items);
        return e;
    }
    return reply_json(
        r, 201,
        json_pack("{s:o,s:I}", "items", items, "created", (json_int_t)json_array_size(items)));
}

static const char *const zone_head[] = {"类型",     "名称",   "所属区划", "划定方式", "生效时间",
                                        "解除时间", "楼栋数", "居住人数", "状态",     "解除原因"};

static err zones_export(struct req *r, enum export_format fmt, json_t *items)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "封控区管控区防范区", zone_head,
                         sizeof zone_head / sizeof *zone_head);
    if (e) {
        json_decref(items);
        return e;
    }
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *state = json_str(o, "state");
        export_text(&x, json_str(o, "kind_label"));
        export_text(&x, json_str(o, "name"));
        export_text(&x, json_str(o, "region_name"));
        export_text(&x, json_bool(o, "drawn", false) ? "地图绘制" : "按区划");
        export_time(&x, json_int(o, "valid_from", 0));
        if (json_int(o, "valid_to", 0))
            export_time(&x, json_int(o, "valid_to", 0));
        else
            export_empty(&x);
        export_int(&x, json_int(o, "buildings", 0));
        export_int(&x, json_int(o, "people", 0));
        export_text(&x, !strcmp(state, "ended")     ? "已解除"
                        : !strcmp(state, "pending") ? "未生效"
                                                    : "生效中");
        export_text(&x, json_str(o, "lift_reason"));
        export_row_end(&x);
    }
    json_decref(items);
    return export_send(&x, E_OK, "zones");
}

static err get_zones(struct req *r)
{
    int64_t page, size, total;
    enum export_format fmt;
    json_t *items;
    const char *state = req_query(r, "state");
    if (state && !strcmp(state, "all"))
        state = NULL;
    if (state && strcmp(state, "active") && strcmp(state, "ended") && strcmp(state, "pending"))
        return err_set(E_INPUT, "invalid_parameter", "state",
                       "状态应为 active、ended、pending 或 all");
    err e = req_paging(r, &page, &size);
    if (e || (e = req_export_format(r, &fmt)) ||
        (e = code_zones(r->db, r->a, &r->who->scope, state, page, fmt ? 0 : size, &items, &total)))
        return e;
    if (fmt) {
        if ((e = export_check_total(total))) {
            json_decref(items);
            return e;
        }
        return zones_export(r, fmt, items);
    }
    return reply_page(r, items, total, page, size);
}

static err get_zone(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_zone(r, 200, id);
}

static err get_zone_people(struct req *r)
{
    int64_t id, page, size, total;
    json_t *items;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_paging(r, &page, &size)) ||
        (e = code_zone_people(r->db, r->a, &r->who->scope, id, page, size, &items, &total)))
        return e;
    req_audit(r, "zone.persons", "zone", id, "ok",
              arena_printf(r->a, "page=%lld rows=%zu", (long long)page, json_array_size(items)));
    return reply_page(r, items, total, page, size);
}

static err get_lift_preview(struct req *r)
{
    int64_t id;
    json_t *o;
    err e = req_param_id(r, 0, &id);
    if (e || (e = code_zone_lift_preview(r->db, r->a, r->who, id, &o)))
        return e;
    req_audit(r, "zone.lift_preview", "zone", id, "ok", effect_detail(r, o));
    return reply_json(r, 200, o);
}

static err post_lift(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    const char *reason = json_str(r->body, "reason");
    if (!utf8_valid_text(reason) || !*reason || strspn(reason, " \t\r\n") == strlen(reason))
        return err_set(E_INPUT, "required", "reason", "请填写解除原因");
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    e = code_zone_end(r->db, r->a, r->who, id, json_int(r->body, "valid_to", 0), reason);
    /* the reason is the command centre's own text about the zone, not about a person */
    if ((e = zone_done(r, e, "zone.lift", id, arena_printf(r->a, "reason=%s", reason))))
        return e;
    return reply_zone(r, 200, id);
}

static err patch_zone(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    e = code_zone_end(r->db, r->a, r->who, id, json_int(r->body, "valid_to", 0), "");
    if ((e = zone_done(r, e, "zone.end", id, NULL)))
        return e;
    return reply_empty(r);
}

const struct route code_zone_routes[] = {
    {M_POST, "/api/v1/zones", post_zone, PERM_ZONE_WRITE, 0, zone_body,
     "划定封控区、管控区、防范区（按区划或绘制多边形）", "code", 0},
    {M_POST, "/api/v1/zones/preview", post_zone_preview, PERM_ZONE_WRITE, 0, zone_body,
     "预览划定区域对健康码的影响（不保存）", "code", 0},
    {M_POST, "/api/v1/zones/import", post_zone_import, PERM_ZONE_WRITE, ROUTE_RAW_BODY, NULL,
     "导入区域（GeoJSON FeatureCollection）", "code", IMPORT_MAX},
    {M_GET, "/api/v1/zones", get_zones, PERM_CODE_READ, 0, NULL, "封控区、管控区、防范区", "code",
     0},
    {M_GET, "/api/v1/zones/{id}", get_zone, PERM_CODE_READ, 0, NULL, "区域详情（楼栋、场所、人数）",
     "code", 0},
    {M_GET, "/api/v1/zones/{id}/persons", get_zone_people, PERM_HEALTH_READ, 0, NULL,
     "区域内居住人员（脱敏）", "code", 0},
    {M_GET, "/api/v1/zones/{id}/lift-preview", get_lift_preview, PERM_ZONE_WRITE, 0, NULL,
     "预览解除区域对健康码的影响", "code", 0},
    {M_POST, "/api/v1/zones/{id}/lift", post_lift, PERM_ZONE_WRITE, 0, lift_body,
     "解除区域（填写原因）", "code", 0},
    {M_PATCH, "/api/v1/zones/{id}", patch_zone, PERM_ZONE_WRITE, 0, zone_patch, "解除区域", "code",
     0},
};
const size_t code_zone_routes_n = sizeof code_zone_routes / sizeof code_zone_routes[0];

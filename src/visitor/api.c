/*
 * HTTP handlers of visitors (visitor.h):
 *
 *   POST   /api/v1/me/visitors              a resident submits a visitor (201)
 *   GET    /api/v1/me/visitors              the resident's visitors
 *   DELETE /api/v1/me/visitors/{id}         the resident cancels one
 *   GET    /api/v1/visitors                 staff: visitors in scope (?status=pending)
 *   GET    /api/v1/visitors/{id}            staff: one visitor
 *   POST   /api/v1/visitors/{id}/confirm    staff: confirm {reason?}
 *   POST   /api/v1/visitors/{id}/refuse     staff: refuse {reason}
 *   GET    /api/v1/visitors/{id}/code[.png|.svg]  the host or staff: the visitor code
 *   POST   /api/v1/visitors/scan            checkpoint: scan a visitor code
 *
 * Replies mask the visitor's name, document and phone; every read and
 * write of visitors is audited (ids and counts only).
 */
#include <math.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/qr.h"
#include "base/regcode.h"
#include "person/person.h"
#include "region/region.h"
#include "security/audit.h"
#include "security/mask.h"
#include "visitor/visitor.h"

static json_t *visitor_json(arena *a, const struct visitor *v)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_object_set_new(o, "name", json_string(mask_name(a, v->name)));
    json_object_set_new(o, "id_type", json_string(id_type_name(v->id_type)));
    json_object_set_new(o, "id_number", json_string(mask_id_number(a, v->id_number)));
    json_object_set_new(o, "phone", json_string(mask_phone(a, v->phone)));
    json_object_set_new(o, "purpose", json_string(v->purpose));
    json_object_set_new(o, "plate", *v->plate ? json_string(v->plate) : json_null());
    json_object_set_new(o, "valid_from", json_integer(v->valid_from));
    json_object_set_new(o, "valid_to", json_integer(v->valid_to));
    json_object_set_new(o, "status", json_string(visitor_status_name(v->status)));
    json_object_set_new(o, "status_label", json_string(visitor_status_label(v->status)));
    json_object_set_new(o, "reason", json_string(v->reason));
    json_set_region(o, v->region_code, NULL);
    json_set_id(o, "host_person_id", v->host_person_id);
    json_object_set_new(o, "decided_at", v->decided_at ? json_integer(v->decided_at) : json_null());
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    return o;
}

static err residents_only(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return E_OK;
}

/* ---- residents ---------------------------------------------------------------------- */

static const char *const id_types[] = {
    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_pr_card",
    "other",       NULL};

static const struct jfield submit_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 50, "访客姓名", NULL},
    {"id_type", J_STRING, 0, 0, 0, "证件类型", id_types},
    {"id_number", J_STRING, JF_REQUIRED, 1, 32, "证件号码", NULL},
    {"phone", J_STRING, JF_REQUIRED, 1, 20, "手机号码", NULL},
    {"purpose", J_STRING, JF_REQUIRED, 1, VISITOR_PURPOSE_MAX, "来访事由", NULL},
    {"plate", J_STRING, JF_NULLABLE, 0, 16, "车牌号码", NULL},
    {"valid_from", J_INT, JF_REQUIRED, 0, 0, "来访开始时间", NULL},
    {"valid_to", J_INT, JF_REQUIRED, 0, 0, "来访结束时间", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_me_visitor(struct req *r)
{
    struct person host;
    err e = residents_only(r);
    if (e || (e = person_self_find(r->db, r->a, r->who, &host)) ||
        (e = person_require_verified(r->db, host.id))) /* self-asserted identity: no invitations */
        return e;
    json_t *b = r->body;
    const char *idt = json_str(b, "id_type");
    struct visitor v = {
        .name = json_str(b, "name"),
        .id_type = idt ? id_type_parse(idt) : ID_RESIDENT,
        .id_number = json_str(b, "id_number"),
        .phone = json_str(b, "phone"),
        .purpose = json_str(b, "purpose"),
        .plate = json_str(b, "plate"),
        .valid_from = json_int(b, "valid_from", 0),
        .valid_to = json_int(b, "valid_to", 0),
    };
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = visitor_check(r->a, &v, now_ms())) ||
        (e = visitor_submit(r->db, r->a, r->who, host.id, host.region_code, &v))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "visitor.create", "visitor", v.id, "ok", "fields=name,id_number,phone");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 201, visitor_json(r->a, &v));
}

static err reply_list(struct req *r, const struct scope *sc, int64_t host_user_id,
                      int64_t host_person_id, enum visitor_status status)
{
    int64_t page, size, total;
    struct visitor *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e || (e = visitor_list(r->db, r->a, sc, host_user_id, host_person_id, status, page, size,
                               &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    /* the host's community by name, looked up once per distinct community
     * of the page (names of regions are public, region.h) */
    int64_t *areas = arena_alloc(r->a, sizeof *areas * (n ? n : 1));
    const char **area_names = arena_alloc(r->a, sizeof *area_names * (n ? n : 1));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = visitor_json(r->a, &items[i]);
        json_array_append_new(arr, o);
        int64_t area = visitor_area(items[i].region_code);
        size_t j = 0;
        while (j < k && areas[j] != area)
            j++;
        if (j == k) {
            enum region_level lv = regcode_level(area);
            areas[k] = area;
            if ((e = region_path(r->db, area, lv ? lv : LEVEL_COMMUNITY, r->a, &area_names[k]))) {
                json_decref(arr);
                return e;
            }
            k++;
        }
        json_object_set_new(o, "host_community", json_string(area_names[j]));
        json_object_set_new(o, "host_name", json_string(items[i].host_name));
        json_object_set_new(o, "host_address", json_string(items[i].host_address));
    }
    /* a person's visitors are a read of that person's data: name them */
    req_audit(r, "visitor.list", host_person_id ? "person" : "visitor", host_person_id, "ok",
              arena_printf(r->a, "count=%zu", n));
    return reply_page(r, arr, total, page, size);
}

static err status_param(struct req *r, enum visitor_status *st_r)
{
    const char *s = req_query(r, "status");
    *st_r = 0;
    if (s && !(*st_r = visitor_status_parse(s)))
        return err_set(E_INPUT, "invalid_parameter", "status",
                       "参数 status 应为 pending、confirmed、refused 或 cancelled");
    return E_OK;
}

static err get_me_visitors(struct req *r)
{
    enum visitor_status st;
    struct scope all = scope_all();
    err e = residents_only(r);
    if (e || (e = status_param(r, &st)))
        return e;
    return reply_list(r, &all, r->who->user_id, 0, st);
}

static err delete_me_visitor(struct req *r)
{
    int64_t id;
    err e = residents_only(r);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = visitor_cancel(r->db, r->a, r->who->user_id, id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "visitor.cancel", "visitor", id, e, NULL);
    }
    req_audit(r, "visitor.cancel", "visitor", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* ---- staff ----------------------------------------------------------------------------- */

static err get_visitors(struct req *r)
{
    enum visitor_status st;
    int64_t host = 0; /* a person's page: the visitors they invited */
    err e = status_param(r, &st);
    if (e || (e = req_query_int64(r, "host_person_id", 1, INT64_MAX, &host)))
        return e;
    return reply_list(r, &r->who->scope, 0, host, st);
}

static err get_visitor(struct req *r)
{
    int64_t id;
    struct visitor v;
    err e = req_param_id(r, 0, &id);
    if (e || (e = visitor_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return audit_refusal(r->db, r->who, r->ip, "visitor.read", "visitor", id, e, NULL);
    req_audit(r, "visitor.read", "visitor", id, "ok", "");
    return reply_json(r, 200, visitor_json(r->a, &v));
}

static const struct jfield decide_fields[] = {
    {"reason", J_STRING, JF_NULLABLE, 0, VISITOR_REASON_MAX, "原因", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err decide(struct req *r, bool confirm)
{
    int64_t id;
    struct visitor v;
    const char *action = confirm ? "visitor.confirm" : "visitor.refuse";
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    const char *reason = r->body ? json_str(r->body, "reason") : NULL;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = visitor_decide(r->db, r->a, &r->who->scope, id, r->who->user_id, confirm, reason))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "visitor", id, e, NULL);
    }
    req_audit(r, action, "visitor", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = visitor_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return e;
    return reply_json(r, 200, visitor_json(r->a, &v));
}

static err post_confirm(struct req *r)
{
    return decide(r, true);
}

static err post_refuse(struct req *r)
{
    return decide(r, false);
}

/* ---- codes ------------------------------------------------------------------------------ */

/* The visitor of path parameter 0 as its host (resident) or staff with
 * visitor.confirm in scope sees it, and its code. */
static err visitor_and_code(struct req *r, struct visitor *v, char token[TOKEN_MAX])
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if (r->who->resident) {
        struct scope all = scope_all();
        e = visitor_find(r->db, r->a, &all, r->who->user_id, id, v);
    } else if (principal_can(r->who, PERM_VISITOR_CONFIRM)) {
        e = visitor_find(r->db, r->a, &r->who->scope, 0, id, v);
    } else {
        return err_set(E_FORBIDDEN, "forbidden", NULL, "您没有查看访客码的权限");
    }
    if (!e)
        e = visitor_code(v, now_ms(), token);
    if (!e)
        req_audit(r, "visitor.code", "visitor", id, "ok", "");
    return audit_refusal(r->db, r->who, r->ip, "visitor.code", "visitor", id, e, NULL);
}

static err get_code(struct req *r)
{
    struct visitor v;
    char token[TOKEN_MAX];
    err e = visitor_and_code(r, &v, token);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "visitor_id", v.id);
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "valid_from", json_integer(v.valid_from));
    json_object_set_new(o, "valid_to", json_integer(v.valid_to));
    json_object_set_new(o, "name", json_string(mask_name(r->a, v.name)));
    return reply_json(r, 200, o);
}

static err get_code_png(struct req *r)
{
    struct visitor v;
    char token[TOKEN_MAX];
    int64_t scale = QR_SCALE_DEFAULT;
    uint8_t *png;
    size_t n;
    err e = req_query_int64(r, "scale", 1, QR_SCALE_MAX, &scale);
    if (e || (e = visitor_and_code(r, &v, token)) ||
        (e = qr_png(r->a, token, (int)scale, QR_BLACK, &png, &n)))
        return e;
    return reply_bytes(r, 200, "image/png", png, n);
}

static err get_code_svg(struct req *r)
{
    struct visitor v;
    char token[TOKEN_MAX], *svg;
    size_t n;
    err e = visitor_and_code(r, &v, token);
    if (e || (e = qr_svg(r->a, token, &svg, &n)))
        return e;
    return reply_bytes(r, 200, "image/svg+xml", svg, n);
}

/* ---- scan -------------------------------------------------------------------------------- */

static const char *const directions[] = {"in", "out", NULL};

static const struct jfield scan_fields[] = {
    {"venue_id", J_STRING, JF_REQUIRED, 1, 20, "点位", NULL},
    {"token", J_STRING, JF_REQUIRED, 1, 200, "访客码", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", directions},
    {"temperature", J_NUMBER, JF_NULLABLE, 0, 0, "体温", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_scan(struct req *r)
{
    json_t *b = r->body;
    struct visitor_scan s = {
        .venue_id = id_parse(json_str(b, "venue_id")),
        .token = json_str(b, "token"),
        .direction = json_str(b, "direction"),
        .operator_id = r->who->user_id,
    };
    json_t *t = json_object_get(b, "temperature");
    if (t && !json_is_null(t)) {
        s.has_temperature = true;
        s.temperature = json_number_value(t);
    }
    err e = s.venue_id > 0 ? E_OK
                           : err_set(E_NOT_FOUND, "unknown_venue", "venue_id",
                                     "点位不存在或不在您的管辖范围内");
    db_hold(r->db); /* the passage and its entry commit together (security/audit.h) */
    if (e || (e = visitor_scan(r->db, r->a, &r->who->scope, &s))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "visitor.scan", "visitor", s.v.id, e, NULL);
    }
    req_audit(r, "visitor.scan", "visitor", s.v.id, "ok",
              arena_printf(r->a, "verdict=%s", s.allowed ? "allow" : "deny"));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(s.allowed ? "allow" : "deny"));
    json_object_set_new(o, "reason", json_string(s.reason));
    json_object_set_new(
        o, "message",
        json_string(s.allowed ? "访客码有效，准予通行" : "体温异常，禁止通行，请按规定处置"));
    json_set_id(o, "passage_id", s.passage_id);
    json_object_set_new(o, "at", json_integer(s.at));
    json_object_set_new(o, "temperature",
                        s.has_temperature ? json_real(round(s.temperature * 10) / 10)
                                          : json_null());
    json_object_set_new(o, "venue",
                        json_pack("{s:s, s:s}", "name", s.venue_name, "id",
                                  arena_printf(r->a, "%lld", (long long)s.venue_id)));
    json_object_set_new(o, "visitor", visitor_json(r->a, &s.v));
    return reply_json(r, 200, o);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route visitor_routes[] = {
    {M_POST, "/api/v1/me/visitors", post_me_visitor, PERM_SELF, 0, submit_fields,
     "居民登记访客（待社区审核）", "visitor", 0},
    {M_GET, "/api/v1/me/visitors", get_me_visitors, PERM_SELF, 0, NULL, "我登记的访客", "visitor",
     0},
    {M_DELETE, "/api/v1/me/visitors/{id}", delete_me_visitor, PERM_SELF, 0, NULL,
     "取消访客登记（访客码作废）", "visitor", 0},
    {M_GET, "/api/v1/visitors", get_visitors, PERM_VISITOR_CONFIRM, 0, NULL,
     "访客列表（status 筛选）", "visitor", 0},
    {M_GET, "/api/v1/visitors/{id}", get_visitor, PERM_VISITOR_CONFIRM, 0, NULL, "访客详情",
     "visitor", 0},
    {M_POST, "/api/v1/visitors/{id}/confirm", post_confirm, PERM_VISITOR_CONFIRM, 0, decide_fields,
     "审核通过访客", "visitor", 0},
    {M_POST, "/api/v1/visitors/{id}/refuse", post_refuse, PERM_VISITOR_CONFIRM, 0, decide_fields,
     "拒绝访客（须填写原因）", "visitor", 0},
    {M_GET, "/api/v1/visitors/{id}/code", get_code, PERM_NONE, 0, NULL, "访客码（签名令牌）",
     "visitor", 0},
    {M_GET, "/api/v1/visitors/{id}/code.png", get_code_png, PERM_NONE, 0, NULL, "访客码图片 PNG",
     "visitor", 0},
    {M_GET, "/api/v1/visitors/{id}/code.svg", get_code_svg, PERM_NONE, 0, NULL, "访客码图片 SVG",
     "visitor", 0},
    {M_POST, "/api/v1/visitors/scan", post_scan, PERM_VISITOR_SCAN, 0, scan_fields,
     "卡口核验访客码", "visitor", 0},
};
const size_t visitor_routes_n = sizeof visitor_routes / sizeof visitor_routes[0];

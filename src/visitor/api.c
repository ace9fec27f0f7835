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
 * Enterprises as hosts (issue 14, seed 003; docs/enterprise.md "Visitors"):
 *
 *   GET    /api/v1/me/visit-enterprises?q=  a resident finds an enterprise to visit
 *   GET    /api/v1/me/visit-enterprises/{id} the one an enterprise's link names
 *   POST   /api/v1/me/visitors {enterprise_id, …}  a visitor of that enterprise
 *   GET    /api/v1/enterprise-visitors?enterprise_id=&date=&format=  a day's visitors
 *   POST   /api/v1/enterprise-visitors/{id}/confirm|refuse  the enterprise decides
 *   POST   /api/v1/enterprise-visitors/scan  the enterprise's gate checks a code
 *
 * The enterprise is reached as everywhere else (enterprise.h ent_reach): an
 * enterprise account its own only (another's visitors are 404, audited),
 * street staff the enterprises of their scope.
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
#include "base/time.h"
#include "enterprise/enterprise.h"
#include "http/export.h"
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
    json_object_set_new(o, "host_kind", json_string(v->enterprise_id ? "enterprise" : "resident"));
    if (v->enterprise_id)
        json_set_id(o, "enterprise_id", v->enterprise_id);
    else
        json_object_set_new(o, "enterprise_id", json_null());
    json_object_set_new(o, "enterprise_name",
                        v->enterprise_name && *v->enterprise_name ? json_string(v->enterprise_name)
                                                                  : json_null());
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
    {"enterprise_id", J_STRING, JF_NULLABLE, 0, 20, "来访企业", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The live enterprise of a resident's visitor form (any: enterprises'
 * names and addresses are public); E_INPUT "invalid_enterprise". */
static err visit_enterprise(struct req *r, const char *id, struct enterprise *ent)
{
    struct scope all = scope_all();
    int64_t eid = id ? id_parse(id) : 0;
    err e = eid > 0 ? enterprise_find(r->db, r->a, &all, eid, ent) : E_NOT_FOUND;
    if (e == E_NOT_FOUND)
        return err_set(E_INPUT, "invalid_enterprise", "enterprise_id", "来访企业不存在");
    return e;
}

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
    /* the host kind: an enterprise named by the form, else the resident */
    int64_t region = host.region_code;
    const char *ent_id = json_str(b, "enterprise_id");
    if (ent_id && *ent_id) {
        struct enterprise ent;
        if ((e = visit_enterprise(r, ent_id, &ent)))
            return e;
        v.enterprise_id = ent.id;
        v.enterprise_name = ent.name;
        region = ent.region_code;
    }
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = visitor_check(r->a, &v, now_ms())) ||
        (e = visitor_submit(r->db, r->a, r->who, host.id, region, &v))) {
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
    /* the pending queue is community staff's: an enterprise decides its own */
    bool community_only = !host_user_id && status == VISITOR_PENDING;
    if (e || (e = visitor_list(r->db, r->a, sc, host_user_id, host_person_id, community_only,
                               status, page, size, &items, &n, &total)))
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

/* The temperature of a scan's body (both gates): measured, or not. */
static void scan_temperature(json_t *b, struct visitor_scan *s)
{
    json_t *t = json_object_get(b, "temperature");
    if (t && !json_is_null(t)) {
        s->has_temperature = true;
        s->temperature = json_number_value(t);
    }
}

/* The reply to a recorded scan (both gates): the verdict, its reason and
 * message, the passage, the temperature rounded as recorded, the visitor;
 * the caller adds what its gate adds. */
static json_t *scan_reply(struct req *r, const struct visitor_scan *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(s->allowed ? "allow" : "deny"));
    json_object_set_new(o, "reason", json_string(s->reason));
    json_object_set_new(
        o, "message",
        json_string(s->allowed ? "访客码有效，准予通行" : "体温异常，禁止通行，请按规定处置"));
    json_set_id(o, "passage_id", s->passage_id);
    json_object_set_new(o, "at", json_integer(s->at));
    json_object_set_new(o, "temperature",
                        s->has_temperature ? json_real(round(s->temperature * 10) / 10)
                                           : json_null());
    json_object_set_new(o, "visitor", visitor_json(r->a, &s->v));
    return o;
}

static err post_scan(struct req *r)
{
    json_t *b = r->body;
    struct visitor_scan s = {
        .venue_id = id_parse(json_str(b, "venue_id")),
        .token = json_str(b, "token"),
        .direction = json_str(b, "direction"),
        .operator_id = r->who->user_id,
    };
    scan_temperature(b, &s);
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
    json_t *o = scan_reply(r, &s);
    json_object_set_new(o, "venue",
                        json_pack("{s:s, s:s}", "name", s.venue_name, "id",
                                  arena_printf(r->a, "%lld", (long long)s.venue_id)));
    return reply_json(r, 200, o);
}

/* ---- enterprises as hosts ------------------------------------------------------------------- */

static json_t *visit_enterprise_json(const struct enterprise *ent)
{
    json_t *o = json_object();
    json_set_id(o, "id", ent->id);
    json_object_set_new(o, "name", json_string(ent->name));
    json_object_set_new(o, "address", json_string(ent->address ? ent->address : ""));
    json_object_set_new(o, "region_name", json_string(ent->region_name ? ent->region_name : ""));
    return o;
}

/* The resident's search for an enterprise to visit: names only, ten at most. */
static err get_visit_enterprises(struct req *r)
{
    const char *q = req_query(r, "q");
    err e = residents_only(r);
    if (e)
        return e;
    if (!q || !*q || utf8_len(q) > 50)
        return err_set(E_INPUT, "invalid_parameter", "q", "请输入企业名称（50字以内）");
    struct scope all = scope_all();
    struct enterprise_filter f = {.q = q, .sort = "name", .page = 1, .page_size = 10};
    struct enterprise *items;
    size_t n;
    int64_t total;
    if ((e = enterprise_list(r->db, r->a, &all, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, visit_enterprise_json(&items[i]));
    return reply_page(r, arr, total, 1, 10);
}

/* The enterprise an enterprise's shared link or QR names. */
static err get_visit_enterprise(struct req *r)
{
    struct enterprise ent;
    struct scope all = scope_all();
    int64_t id;
    err e = residents_only(r);
    if (e || (e = req_param_id(r, 0, &id)) || (e = enterprise_find(r->db, r->a, &all, id, &ent)))
        return e;
    return reply_json(r, 200, visit_enterprise_json(&ent));
}

/* The enterprise of ?enterprise_id= (a bound account: its own) as
 * ent_reach allows it; a refusal is audited under `action`. */
static err ent_of_query(struct req *r, const char *action, struct enterprise *ent)
{
    const char *q = req_query(r, "enterprise_id");
    int64_t id = q && *q ? id_parse(q) : 0;
    if (q && *q && !id)
        return err_set(E_INPUT, "invalid_parameter", "enterprise_id", "企业编号格式不正确");
    err e = ent_reach(r->db, r->a, r->who, id, ent);
    if (e == E_NOT_FOUND)
        return audit_refusal(r->db, r->who, r->ip, action, "enterprise", id, e, NULL);
    return e;
}

static json_t *day_row_json(struct req *r, const struct visitor_day_row *x)
{
    json_t *o = visitor_json(r->a, &x->v);
    json_object_set_new(o, "presence",
                        json_string(vocab_name(&visitor_presence_vocab, (size_t)x->presence)));
    json_object_set_new(o, "presence_label",
                        json_string(vocab_label(&visitor_presence_vocab, (size_t)x->presence)));
    json_object_set_new(o, "arrived_at", x->arrived_at ? json_integer(x->arrived_at) : json_null());
    json_object_set_new(o, "left_at", x->left_at ? json_integer(x->left_at) : json_null());
    return o;
}

static const char *const day_head[] = {"访客姓名", "证件号码", "手机号码", "来访事由",
                                       "车牌",     "来访开始", "来访结束", "审核状态",
                                       "到访状态", "到达时间", "离开时间"};
#define DAY_COLS (sizeof day_head / sizeof day_head[0])

static err export_day(struct req *r, enum export_format fmt, const struct visitor_day_row *rows,
                      size_t n)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "企业访客", day_head, DAY_COLS);
    if (e)
        return e;
    for (size_t i = 0; i < n && !(e = export_room(&x)); i++) {
        const struct visitor *v = &rows[i].v;
        export_text(&x, mask_name(r->a, v->name));
        export_text(&x, mask_id_number(r->a, v->id_number));
        export_text(&x, mask_phone(r->a, v->phone));
        export_text(&x, v->purpose);
        export_text(&x, v->plate);
        export_time(&x, v->valid_from);
        export_time(&x, v->valid_to);
        export_text(&x, visitor_status_label(v->status));
        export_text(&x, vocab_label(&visitor_presence_vocab, (size_t)rows[i].presence));
        if (rows[i].arrived_at)
            export_time(&x, rows[i].arrived_at);
        else
            export_text(&x, "");
        if (rows[i].left_at)
            export_time(&x, rows[i].left_at);
        else
            export_text(&x, "");
        export_row_end(&x);
    }
    return export_send(&x, e, "enterprise-visitors");
}

/* A day's visitors of an enterprise (?date=YYYY-MM-DD, default today),
 * masked, with the counts the enterprise's tiles show; format=csv|xlsx the
 * same list as a file. */
static err get_ent_visitors(struct req *r)
{
    enum export_format fmt;
    int64_t day = china_day(now_ms());
    const char *date = req_query(r, "date");
    err e = req_export_format(r, &fmt);
    if (e)
        return e;
    if (date && *date && !china_date_day(date, &day))
        return err_set(E_INPUT, "invalid_parameter", "date", "日期格式应为 YYYY-MM-DD");
    struct enterprise ent;
    if ((e = ent_of_query(r, "visitor.enterprise_list", &ent)))
        return e;
    int64_t from = china_day_start(day * 86400000LL); /* that date's China midnight */
    struct visitor_day_row *rows;
    size_t n;
    if ((e = visitor_day(r->db, r->a, ent.id, from, from + 86400000LL, &rows, &n)))
        return e;
    char ymd[CHINA_TIME_LEN];
    china_time(from, ymd);
    ymd[10] = '\0';
    req_audit(r, fmt != EXPORT_NONE ? "visitor.enterprise_export" : "visitor.enterprise_list",
              "enterprise", ent.id, "ok", arena_printf(r->a, "date=%s rows=%zu", ymd, n));
    if (fmt != EXPORT_NONE)
        return export_day(r, fmt, rows, n);
    json_t *arr = json_array();
    int64_t count[5] = {0};
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, day_row_json(r, &rows[i]));
        count[rows[i].presence]++;
        if (rows[i].v.status == VISITOR_PENDING)
            count[0]++;
    }
    json_t *o = json_object();
    json_object_set_new(o, "date", json_string(ymd));
    json_set_id(o, "enterprise_id", ent.id);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    json_object_set_new(o, "total", json_integer((json_int_t)n));
    json_object_set_new(o, "pending", json_integer(count[0]));
    json_object_set_new(o, "expected", json_integer(count[VISITOR_EXPECTED]));
    json_object_set_new(o, "arrived", json_integer(count[VISITOR_ARRIVED]));
    json_object_set_new(o, "left", json_integer(count[VISITOR_LEFT]));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

/* The enterprise decides a visitor of its own: another enterprise's, or a
 * community visitor, is 404 (audited). */
static err ent_decide(struct req *r, bool confirm)
{
    const char *action = confirm ? "visitor.confirm" : "visitor.refuse";
    int64_t id;
    struct visitor v;
    struct enterprise ent;
    struct scope all = scope_all();
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    /* the visitor's enterprise, then whether the caller reaches it */
    if ((e = visitor_find(r->db, r->a, &all, 0, id, &v)) == E_OK)
        e = v.enterprise_id ? ent_reach(r->db, r->a, r->who, v.enterprise_id, &ent) : E_NOT_FOUND;
    if (e == E_NOT_FOUND || e == E_INPUT)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "访客登记不存在");
    if (e)
        return audit_refusal(r->db, r->who, r->ip, action, "visitor", id, e, NULL);
    const char *reason = r->body ? json_str(r->body, "reason") : NULL;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = visitor_enterprise_decide(r->db, r->a, ent.id, id, r->who->user_id, confirm,
                                       reason))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "visitor", id, e, NULL);
    }
    req_audit(r, action, "visitor", id, "ok", "enterprise");
    if ((e = db_release(r->db, true)) || (e = visitor_find(r->db, r->a, &all, 0, id, &v)))
        return e;
    v.enterprise_name = ent.name;
    return reply_json(r, 200, visitor_json(r->a, &v));
}

static err post_ent_confirm(struct req *r)
{
    return ent_decide(r, true);
}

static err post_ent_refuse(struct req *r)
{
    return ent_decide(r, false);
}

static const struct jfield gate_fields[] = {
    {"token", J_STRING, JF_REQUIRED, 1, 200, "访客码", NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", directions},
    {"temperature", J_NUMBER, JF_NULLABLE, 0, 0, "体温", NULL},
    {"enterprise_id", J_STRING, JF_NULLABLE, 0, 20, "企业", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The enterprise's gate (its account, or staff holding
 * employee.pass_verify for the enterprises of their scope) checks a code.
 * The enterprise is the account's, the body's, or for staff the code's
 * own; a code for another enterprise is 409 visitor_wrong_area. */
static err post_ent_scan(struct req *r)
{
    json_t *b = r->body;
    struct visitor_scan s = {
        .token = json_str(b, "token"),
        .direction = json_str(b, "direction"),
        .operator_id = r->who->user_id,
    };
    scan_temperature(b, &s);
    const char *q = json_str(b, "enterprise_id");
    int64_t ent_id = q && *q ? id_parse(q) : 0, own = 0;
    if (q && *q && !ent_id)
        return err_set(E_INPUT, "invalid_value", "enterprise_id", "企业编号格式不正确");
    struct visitor v;
    struct enterprise ent;
    err e = ent_account_of(r->db, r->who->user_id, &own);
    /* staff name no enterprise: the code's own, if they reach it */
    if (!e && !own && !ent_id && !(e = visitor_of_token(r->db, r->a, s.token, &v)))
        ent_id = v.enterprise_id;
    if (!e && (e = ent_reach(r->db, r->a, r->who, ent_id, &ent)) == E_INPUT)
        e = err_set(E_CONFLICT, "visitor_wrong_area", "token", "该访客预约的不是企业来访");
    db_hold(r->db); /* the passage and its entry commit together (security/audit.h) */
    if (e || (e = visitor_gate(r->db, r->a, ent.id, ent.region_code, &s))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "visitor.gate", "visitor", s.v.id, e, NULL);
    }
    req_audit(r, "visitor.gate", "visitor", s.v.id, "ok",
              arena_printf(r->a, "verdict=%s", s.allowed ? "allow" : "deny"));
    if ((e = db_release(r->db, true)))
        return e;
    s.v.enterprise_name = ent.name;
    json_t *o = scan_reply(r, &s);
    json_object_set_new(o, "direction", json_string(s.direction));
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
    {M_GET, "/api/v1/me/visit-enterprises", get_visit_enterprises, PERM_SELF, 0, NULL,
     "查找来访企业（q 企业名称）", "visitor", 0},
    {M_GET, "/api/v1/me/visit-enterprises/{id}", get_visit_enterprise, PERM_SELF, 0, NULL,
     "来访企业（企业分享的登记链接）", "visitor", 0},
    {M_GET, "/api/v1/enterprise-visitors", get_ent_visitors, PERM_EMPLOYEE_READ, 0, NULL,
     "企业某日访客（date，默认今天；format=csv/xlsx 导出）", "visitor", 0},
    {M_POST, "/api/v1/enterprise-visitors/scan", post_ent_scan, PERM_STAFF_PASS_VERIFY, 0,
     gate_fields, "企业门岗核验访客码", "visitor", 0},
    {M_POST, "/api/v1/enterprise-visitors/{id}/confirm", post_ent_confirm, PERM_EMPLOYEE_WRITE, 0,
     decide_fields, "企业审核通过访客", "visitor", 0},
    {M_POST, "/api/v1/enterprise-visitors/{id}/refuse", post_ent_refuse, PERM_EMPLOYEE_WRITE, 0,
     decide_fields, "企业拒绝访客（须填写原因）", "visitor", 0},
};
const size_t visitor_routes_n = sizeof visitor_routes / sizeof visitor_routes[0];

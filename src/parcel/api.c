/*
 * HTTP handlers of parcels and take-away notices (parcel.h;
 * docs/community-life.md):
 *
 *   POST /api/v1/parcels                  the delivery account records an arrival (201)
 *   GET  /api/v1/parcels/recorded         the arrivals it recorded (paging)
 *   GET  /api/v1/parcels                  staff: parcels in scope (?status=, overdue_days=,
 *                                         paging, format=csv|xlsx), phones masked
 *   GET  /api/v1/parcels/counts           staff: per region, waiting and older than
 *                                         ?days= (default 3) days
 *   GET  /api/v1/me/parcels               the resident's (?status=waiting), code in full
 *   POST /api/v1/me/parcels/{id}/pickup   the resident picked it up
 *
 * Phones and codes are personal: every read of a list that holds them and
 * every write is audited, refusals too.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/export.h"
#include "http/write.h"
#include "parcel/parcel.h"
#include "security/audit.h"
#include "security/mask.h"

#define DAY_MS_ (86400000LL)

static json_t *parcel_json(arena *a, const struct parcel *p, bool full)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "kind", json_string(vocab_name(&parcel_kind_vocab, p->kind)));
    json_object_set_new(o, "kind_label", json_string(vocab_label(&parcel_kind_vocab, p->kind)));
    json_object_set_new(o, "carrier", json_string(p->carrier));
    json_object_set_new(o, "locker", json_string(p->locker));
    const char *code = p->code ? p->code : "", *phone = p->phone ? p->phone : "";
    /* staff see that a code exists, not the code: it opens the locker */
    json_object_set_new(o, "code", json_string(full ? code : (*code ? "******" : "")));
    json_object_set_new(o, "phone", json_string(full ? phone : mask_phone(a, phone)));
    json_object_set_new(o, "status", json_string(vocab_name(&parcel_status_vocab, p->status)));
    json_object_set_new(o, "status_label",
                        json_string(vocab_label(&parcel_status_vocab, p->status)));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "picked_at", json_integer(p->picked_at));
    return o;
}

static const struct jfield parcel_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 20, "楼栋", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "类型", NULL, &parcel_kind_vocab},
    {"carrier", J_STRING, JF_NULLABLE, 0, PARCEL_CARRIER_MAX, "快递公司或平台", NULL, NULL},
    {"locker", J_STRING, JF_REQUIRED, 1, PARCEL_LOCKER_MAX, "柜号或存放位置", NULL, NULL},
    {"code", J_STRING, JF_NULLABLE, 0, PARCEL_CODE_MAX, "取件码", NULL, NULL},
    {"phone", J_STRING, JF_REQUIRED, 1, 20, "收件人手机号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_parcel(struct req *r)
{
    enum region_level lv;
    struct parcel p = {
        .region_code = regcode_parse(json_str(r->body, "region_code"), &lv),
        .kind = (enum parcel_kind)vocab_parse(&parcel_kind_vocab, json_str(r->body, "kind")),
        .carrier = json_str(r->body, "carrier"),
        .locker = json_str(r->body, "locker"),
        .code = json_str(r->body, "code"),
        .phone = json_str(r->body, "phone")};
    err e = check_phone(p.phone, "phone");
    e = e ? e
          : check_text(p.carrier, "carrier", "快递公司或平台", PARCEL_CARRIER_MAX, TEXT_ONE_LINE);
    e = e ? e : check_text(p.locker, "locker", "柜号或存放位置", PARCEL_LOCKER_MAX, TEXT_ONE_LINE);
    e = e ? e : check_text(p.code, "code", "取件码", PARCEL_CODE_MAX, TEXT_ONE_LINE);
    if (!e && p.region_code <= 0)
        e = err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    if (e)
        return e;
    db_hold(r->db);
    e = parcel_record(r->db, r->a, &r->who->scope, r->who->user_id, &p);
    if ((e = req_write_done(r, e, "parcel.record", "parcel", e ? 0 : p.id, "")))
        return e;
    return reply_json(r, 201, parcel_json(r->a, &p, true));
}

static err status_param(struct req *r, enum parcel_status *st_r)
{
    const char *v = req_query(r, "status");
    *st_r = 0;
    if (!v || !*v)
        return E_OK;
    int i = vocab_parse(&parcel_status_vocab, v);
    if (i <= 0)
        return err_set(E_INPUT, "invalid_parameter", "status", "取件状态的取值不正确");
    *st_r = (enum parcel_status)i;
    return E_OK;
}

static err reply_parcels(struct req *r, const struct parcel_viewer *v, bool full, bool exportable)
{
    struct parcel_filter f = {0};
    enum export_format fmt = EXPORT_NONE;
    int64_t days = 0;
    err e = req_paging(r, &f.page, &f.page_size);
    if (e || (e = status_param(r, &f.status)) ||
        (e = req_query_int64(r, "overdue_days", 1, PARCEL_DAYS_MAX, &days)) ||
        (exportable && (e = req_export_format(r, &fmt))))
        return e;
    if (days)
        f.older_than = now_ms() - days * DAY_MS_;
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct parcel *items;
    size_t n;
    int64_t total;
    if ((e = parcel_list(r->db, r->a, v, &f, &items, &n, &total)))
        return e;
    req_audit(r, "parcel.list", "parcel", 0, "ok", arena_printf(r->a, "rows=%zu", n));
    if (fmt) {
        static const char *const head[] = {"登记时间", "楼栋",         "类型", "快递公司或平台",
                                           "柜号",     "收件人手机号", "状态", "取件时间"};
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "快递外卖", head, sizeof head / sizeof *head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct parcel *p = &items[i];
            export_time(&x, p->created_at);
            export_text(&x, p->region_name);
            export_text(&x, vocab_label(&parcel_kind_vocab, p->kind));
            export_text(&x, p->carrier);
            export_text(&x, p->locker);
            export_text(&x, mask_phone(r->a, p->phone ? p->phone : ""));
            export_text(&x, vocab_label(&parcel_status_vocab, p->status));
            export_time(&x, p->picked_at);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "parcels");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, parcel_json(r->a, &items[i], full));
    return reply_page(r, arr, total, f.page, page_size);
}

static err get_recorded(struct req *r)
{
    struct parcel_viewer v = {.recorder_id = r->who->user_id};
    return reply_parcels(r, &v, false, false);
}

static err get_parcels(struct req *r)
{
    struct parcel_viewer v = {.scope = &r->who->scope};
    return reply_parcels(r, &v, false, true);
}

static err get_counts(struct req *r)
{
    int64_t days = PARCEL_OVERDUE_DAYS;
    err e = req_query_int64(r, "days", 1, PARCEL_DAYS_MAX, &days);
    if (e)
        return e;
    struct parcel_count *items;
    size_t n;
    if ((e = parcel_counts(r->db, r->a, &r->who->scope, now_ms() - days * DAY_MS_, &items, &n)))
        return e;
    json_t *arr = json_array();
    int64_t waiting = 0, overdue = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_set_region(o, items[i].region_code, items[i].region_name);
        json_object_set_new(o, "waiting", json_integer(items[i].waiting));
        json_object_set_new(o, "overdue", json_integer(items[i].overdue));
        json_array_append_new(arr, o);
        waiting += items[i].waiting;
        overdue += items[i].overdue;
    }
    json_t *o = json_object();
    json_object_set_new(o, "days", json_integer(days));
    json_object_set_new(o, "waiting", json_integer(waiting));
    json_object_set_new(o, "overdue", json_integer(overdue));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static err get_mine(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct parcel_viewer v = {.resident_user_id = r->who->user_id};
    return reply_parcels(r, &v, true, false);
}

static err post_pickup(struct req *r)
{
    int64_t id;
    struct parcel p;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, parcel_pickup(r->db, r->a, r->who->user_id, id, now_ms(), &p));
    if ((e = req_write_done(r, e, "parcel.pickup", "parcel", id, "")))
        return e;
    return reply_json(r, 200, parcel_json(r->a, &p, true));
}

const struct route parcel_routes[] = {
    {M_POST, "/api/v1/parcels", post_parcel, PERM_PARCEL_RECORD, 0, parcel_body,
     "登记快递或外卖到达（柜号、取件码、收件人手机号）", "parcel", 0},
    {M_GET, "/api/v1/parcels/recorded", get_recorded, PERM_PARCEL_RECORD, 0, NULL,
     "本人登记的快递外卖", "parcel", 0},
    {M_GET, "/api/v1/parcels/counts", get_counts, PERM_PARCEL_READ, 0, NULL,
     "辖区内各楼栋待取快递数和超期数（days 天）", "parcel", 0},
    {M_GET, "/api/v1/parcels", get_parcels, PERM_PARCEL_READ, 0, NULL,
     "辖区内快递外卖（status、overdue_days 筛选，分页，导出）", "parcel", 0},
    {M_GET, "/api/v1/me/parcels", get_mine, PERM_SELF, 0, NULL, "我的快递外卖（柜号和取件码）",
     "parcel", 0},
    {M_POST, "/api/v1/me/parcels/{id}/pickup", post_pickup, PERM_SELF, 0, NULL, "确认已取件",
     "parcel", 0},
};
const size_t parcel_routes_n = sizeof parcel_routes / sizeof parcel_routes[0];

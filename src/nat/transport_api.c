/*
 * HTTP handlers of transport (转运, nat.h "transport"): a site staff's
 * phone starts a box, packs closed tubes into it and seals it; a courier's
 * phone takes it over (交接); the laboratory's signs for it (签收). The
 * console lists boxes (with export) and shows one with its tubes and its
 * chain. An outside system posts hand-over records in batches
 * (POST /api/v1/nat/transport/batch, the exchange_client role).
 *
 * Every write is audited with it, in its transaction (db_hold); a refusal
 * is audited too. Boxes hold no personal data: no masking to do.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/export.h"
#include "job/offload.h"
#include "nat/nat.h"
#include "security/audit.h"

#define BATCH_MAX_BODY (8u << 20) /* 10,000 records of ~300 bytes, with room */

/* Reply the box `barcode` as it is now (after a write). */
static err reply_box(struct req *r, const char *barcode, int status)
{
    struct nat_box b;
    err e = nat_box_find(r->db, r->a, &r->who->scope, barcode, &b);
    return e ? e : reply_json(r, status, nat_box_json(&b));
}

/* A write's end: its audit entry in its transaction, or its refusal. */
static err write_end(struct req *r, err e, const char *action, const char *barcode,
                     const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "nat_box", 0, e, NULL);
    }
    struct nat_box b;
    if ((e = nat_box_find(r->db, r->a, &r->who->scope, barcode, &b))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, action, "nat_box", b.id, "ok",
              arena_printf(r->a, "box=%s %s", barcode, detail ? detail : ""));
    return db_release(r->db, true);
}

/* The optional position of a hand-over: both or neither, in range. */
static err position(json_t *b, double *lng_r, double *lat_r)
{
    json_t *x = json_object_get(b, "lng"), *y = json_object_get(b, "lat");
    *lng_r = *lat_r = NAN;
    if ((!x || json_is_null(x)) && (!y || json_is_null(y)))
        return E_OK;
    if (!json_is_number(x) || !json_is_number(y))
        return err_set(E_INPUT, "invalid_position", json_is_number(x) ? "lat" : "lng",
                       "经纬度应同时填写");
    double lng = json_number_value(x), lat = json_number_value(y);
    if (lng < -180 || lng > 180)
        return err_set(E_INPUT, "invalid_position", "lng", "经度应在-180到180之间");
    if (lat < -90 || lat > 90)
        return err_set(E_INPUT, "invalid_position", "lat", "纬度应在-90到90之间");
    *lng_r = lng;
    *lat_r = lat;
    return E_OK;
}

/* ---- the phone's scans ------------------------------------------------------------------- */

static const struct jfield box_fields[] = {
    {"barcode", J_STRING, JF_REQUIRED, 1, 64, "转运箱条码", NULL, NULL},
    {"site_id", J_STRING, JF_NULLABLE, 1, 20, "核酸点位", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_box(struct req *r)
{
    const char *barcode = json_str(r->body, "barcode"), *site = json_str(r->body, "site_id");
    int64_t site_id = 0, id = 0;
    err e = E_OK;
    if (site && (site_id = id_parse(site)) <= 0)
        e = err_set(E_INPUT, "invalid_value", "site_id", "核酸点位编号不正确");
    db_hold(r->db);
    if (!e)
        e = nat_box_create(r->db, r->a, &r->who->scope, barcode, site_id, r->who->user_id, &id);
    if ((e = write_end(r, e, "nat.box.create", barcode, NULL)))
        return e;
    return reply_box(r, barcode, 201);
}

static const struct jfield pack_fields[] = {
    {"tube", J_STRING, JF_REQUIRED, 1, 64, "试管条码", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_pack(struct req *r)
{
    const char *box = r->params[0], *tube = json_str(r->body, "tube");
    db_hold(r->db);
    err e = nat_box_pack(r->db, r->a, &r->who->scope, box, tube); /* who: the audit */
    if ((e = write_end(r, e, "nat.box.pack", box, arena_printf(r->a, "tube=%s", tube))))
        return e;
    return reply_box(r, box, 200);
}

static err post_seal(struct req *r)
{
    const char *box = r->params[0];
    db_hold(r->db);
    err e = nat_box_seal(r->db, r->a, &r->who->scope, box, r->who->user_id);
    if ((e = write_end(r, e, "nat.box.seal", box, NULL)))
        return e;
    return reply_box(r, box, 200);
}

static const struct jfield handover_fields[] = {
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL, NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The caller scans the box and takes it: from its holder to the caller. */
static err handover(struct req *r, enum nat_box_state to, const char *action)
{
    const char *box = r->params[0];
    struct nat_handover_input in = {.to_state = to,
                                    .to_id = r->who->user_id,
                                    .lng = NAN,
                                    .lat = NAN,
                                    .recorded_by = r->who->user_id};
    err e = r->body ? position(r->body, &in.lng, &in.lat) : E_OK;
    db_hold(r->db);
    if (!e)
        e = nat_box_handover(r->db, r->a, &r->who->scope, box, &in, NULL);
    if ((e = write_end(r, e, action, box, NULL)))
        return e;
    return reply_box(r, box, 200);
}

static err post_take(struct req *r)
{
    return handover(r, NAT_BOX_IN_TRANSIT, "nat.box.take");
}

static err post_receive(struct req *r)
{
    return handover(r, NAT_BOX_RECEIVED, "nat.box.receive");
}

/* ---- the console ------------------------------------------------------------------------- */

static const char *const box_head[] = {
    "转运箱条码", "点位",     "所属区划", "状态",     "试管数",   "装箱人员",
    "装箱时间",   "封箱时间", "当前持有", "转运时间", "签收时间", "超时",
};

static err get_boxes(struct req *r)
{
    struct nat_box_filter f = {0};
    enum export_format fmt;
    const char *s;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = req_query_int64(r, "from", 0, INT64_MAX / 2, &f.from);
    if (!e)
        e = req_query_int64(r, "to", 0, INT64_MAX / 2, &f.to);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    enum region_level lv;
    if ((s = req_query(r, "region_code")) && (f.region_code = regcode_parse(s, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    if ((s = req_query(r, "site_id")) && (f.site_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "site_id", "参数 site_id 不正确");
    if ((s = req_query(r, "state"))) {
        int v = vocab_parse(&nat_box_state_vocab, s);
        if (v <= 0)
            return err_set(E_INPUT, "invalid_parameter", "state", "转运箱状态的取值不正确");
        f.state = (enum nat_box_state)v;
    }
    if ((s = req_query(r, "overdue"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "overdue", "参数 overdue 应为 1 或 0");
        f.overdue = s[0] == '1';
    }
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct nat_box *items;
    size_t n;
    int64_t total;
    if ((e = nat_box_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "转运箱", box_head, sizeof box_head / sizeof *box_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_box *b = &items[i];
            export_text(&x, b->barcode);
            export_text(&x, b->site_name);
            export_text(&x, b->region_name);
            export_text(&x, vocab_label(&nat_box_state_vocab, (size_t)b->state));
            export_int(&x, b->tubes);
            export_text(&x, b->packed_by_name);
            export_time(&x, b->packed_at);
            export_time(&x, b->sealed_at);
            export_text(&x, b->holder_name);
            export_time(&x, b->transit_at);
            export_time(&x, b->received_at);
            export_text(&x, b->overdue ? "是" : "否");
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-boxes");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_box_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

/* A box with its tubes and its chain (交接链). */
static err get_box(struct req *r)
{
    struct nat_box b;
    err e = nat_box_find(r->db, r->a, &r->who->scope, r->params[0], &b);
    if (e)
        return e;
    struct nat_tube_filter f = {.box_id = b.id};
    struct nat_tube *tubes;
    struct nat_handover *chain;
    size_t nt, nc;
    int64_t total;
    if ((e = nat_tube_list(r->db, r->a, &r->who->scope, &f, &tubes, &nt, &total)) ||
        (e = nat_box_chain(r->db, r->a, b.id, &chain, &nc)))
        return e;
    json_t *o = nat_box_json(&b), *arr = json_array();
    for (size_t i = 0; i < nt; i++)
        json_array_append_new(arr, nat_tube_json(&tubes[i]));
    json_object_set_new(o, "tube_list", arr);
    arr = json_array();
    for (size_t i = 0; i < nc; i++)
        json_array_append_new(arr, nat_handover_json(&chain[i]));
    json_object_set_new(o, "chain", arr);
    return reply_json(r, 200, o);
}

/* ---- an outside system's batch (转运数据接入) ----------------------------------------------- */

static const struct jfield batch_fields[] = {
    {"records", J_ARRAY, JF_REQUIRED, 0, 0, "交接记录", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Shape record `j` (index i) into *x, or set the error of its first bad field. */
static err record_shape(arena *a, json_t *j, size_t i, struct nat_transport_record *x)
{
    *x = (struct nat_transport_record){.index = i, .record_id = ""};
    if (!json_is_object(j))
        return err_set(E_INPUT, "invalid_record", "records", "交接记录应为对象");
    const char *id = json_str(j, "id");
    if (id)
        x->record_id = arena_strdup(a, id);
    if (!id || !*id || strlen(id) > 64)
        return err_set(E_INPUT, "invalid_value", "id", "记录编号应为1到64个字符");
    x->box = json_str(j, "box");
    if (!nat_barcode_valid(x->box))
        return err_set(E_INPUT, "invalid_barcode", "box",
                       "转运箱条码应为6到32位数字、字母或连字符");
    const char *st = json_str(j, "state");
    x->to_state = st ? (enum nat_box_state)vocab_parse(&nat_box_state_vocab, st) : 0;
    if (x->to_state != NAT_BOX_IN_TRANSIT && x->to_state != NAT_BOX_RECEIVED)
        return err_set(E_INPUT, "invalid_value", "state", "交接后状态应为 in_transit 或 received");
    x->from_name = json_str(j, "from");
    x->to_name = json_str(j, "to");
    err e = check_text(x->from_name, "from", "交出人", NAT_PERSON_NAME_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    if (!e)
        e = check_text(x->to_name, "to", "接收人", NAT_PERSON_NAME_MAX,
                       TEXT_REQUIRED | TEXT_ONE_LINE);
    if (e)
        return e;
    json_t *at = json_object_get(j, "at");
    if (!json_is_integer(at) || json_integer_value(at) <= 0)
        return err_set(E_INPUT, "invalid_time", "at", "交接时间应为毫秒时间戳");
    x->at = json_integer_value(at);
    return position(j, &x->lng, &x->lat);
}

/* On the offload worker: shape every record, apply the good ones and the
 * audit entry of the counts in one transaction. */
err nat_transport_json(db *d, arena *a, const struct principal *who, json_t *recs, json_t **reply_r,
                       const char **detail_r)
{
    size_t n = json_array_size(recs);
    struct nat_transport_record *xs = arena_alloc(a, n * sizeof *xs + 1);
    if (!xs)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct nat_batch_result res = {.errors = json_array()};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        struct nat_transport_record x;
        err se = record_shape(a, json_array_get(recs, i), i, &x);
        if (se) {
            json_batch_error(res.errors, se, i, x.record_id, NULL);
            continue;
        }
        xs[ok++] = x;
    }
    err e = nat_transport_batch(d, a, &who->scope, who->user_id, xs, ok, &res);
    if (e) {
        json_decref(res.errors);
        return e;
    }
    size_t rejected = json_array_size(res.errors);
    *detail_r = arena_printf(a, "records=%zu applied=%lld repeated=%lld rejected=%zu", n,
                             (long long)res.applied, (long long)res.repeated, rejected);
    *reply_r = json_pack("{s:I,s:I,s:I,s:I,s:o}", "received", (json_int_t)n, "applied",
                         (json_int_t)res.applied, "repeated", (json_int_t)res.repeated, "rejected",
                         (json_int_t)rejected, "errors", json_batch_errors_sorted(res.errors));
    return *reply_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

static err run_batch(struct offload *q, int *status_r, json_t **reply_r)
{
    json_t *reply = NULL;
    const char *detail = NULL;
    err e = db_begin(q->d);
    if (!e)
        e = nat_transport_json(q->d, q->a, q->who, json_object_get(q->body, "records"), &reply,
                               &detail);
    if ((e = offload_commit(q, e, "nat.transport.batch", "nat_box", 0, detail))) {
        json_decref(reply);
        return e;
    }
    *status_r = 200;
    *reply_r = reply;
    return E_OK;
}

/* On the loop: the batch's size (refused and audited here), then the rest
 * on the offload worker. */
static err post_batch(struct req *r)
{
    size_t n = json_array_size(json_object_get(r->body, "records"));
    if (n == 0 || n > NAT_BATCH_MAX) {
        err e =
            err_set(E_INPUT, "invalid_batch", "records", "每批交接记录应为1到%d条", NAT_BATCH_MAX);
        return audit_refusal(r->db, r->who, r->ip, "nat.transport.batch", "nat_box", 0, e, NULL);
    }
    return job_offload(r, run_batch, NULL);
}

/* ---- routes -------------------------------------------------------------------------------- */

const struct route nat_transport_routes[] = {
    {M_POST, "/api/v1/nat/boxes", post_box, PERM_NAT_WRITE, 0, box_fields,
     "开始装箱（扫转运箱条码；点位缺省为当前打卡点位）", "nat", 0},
    {M_POST, "/api/v1/nat/boxes/{barcode}/tubes", post_pack, PERM_NAT_WRITE, 0, pack_fields,
     "装箱（扫试管条码，已封管的本点位试管）", "nat", 0},
    {M_POST, "/api/v1/nat/boxes/{barcode}/seal", post_seal, PERM_NAT_WRITE, 0, NULL, "封箱", "nat",
     0},
    {M_POST, "/api/v1/nat/boxes/{barcode}/take", post_take, PERM_NAT_TRANSPORT, 0, handover_fields,
     "转运人员交接（从点位接收转运箱）", "nat", 0},
    {M_POST, "/api/v1/nat/boxes/{barcode}/receive", post_receive, PERM_NAT_RECEIVE, 0,
     handover_fields, "检测机构签收转运箱", "nat", 0},
    {M_GET, "/api/v1/nat/boxes", get_boxes, PERM_NAT_READ, 0, NULL,
     "转运箱列表（region_code、site_id、state、overdue、from、to 筛选，可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/boxes/{barcode}", get_box, PERM_NAT_READ, 0, NULL,
     "转运箱及其试管和交接链", "nat", 0},
    {M_POST, "/api/v1/nat/transport/batch", post_batch, PERM_NAT_INGEST, 0, batch_fields,
     "转运数据接入（每批至多10000条交接记录，按记录编号幂等）", "nat", BATCH_MAX_BODY},
};
const size_t nat_transport_routes_n = sizeof nat_transport_routes / sizeof nat_transport_routes[0];

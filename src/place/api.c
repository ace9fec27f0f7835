/*
 * HTTP handlers of the place capability: /api/v1/places and
 * /api/v1/enterprises. JSON in, place.h calls, JSON (or CSV) out.
 *
 * Contact names and phones leave the server masked. A caller holding
 * person.reveal may ask for the full values of one record with
 * `?reveal=1`; that read is audited separately as place.reveal /
 * enterprise.reveal. Every single read and list is audited (they carry
 * personal data, if masked), every write too, with field names and counts
 * only in the detail.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "http/export.h"
#include "http/write.h"
#include "base/time.h"
#include "base/csv.h"
#include "base/regcode.h"
#include "place/internal.h"
#include "region/region.h"
#include "security/audit.h"
#include "security/mask.h"

/* ---- request helpers ------------------------------------------------------------ */

/* The query parameters every list shares. */
struct list_query {
    int64_t page, page_size;
    int64_t region_code;
    const char *q, *sort;
    bool csv;
};

static err list_query(struct req *r, struct list_query *lq)
{
    memset(lq, 0, sizeof *lq);
    err e = req_paging(r, &lq->page, &lq->page_size);
    if (e)
        return e;
    const char *rc = req_query(r, "region_code");
    if (rc) {
        enum region_level lv;
        lq->region_code = regcode_parse(rc, &lv);
        if (lq->region_code <= 0)
            return err_set(E_INPUT, "invalid_region", "region_code",
                           "所属区划不存在或不在您的管辖范围内");
    }
    lq->q = field_trim(r->a, req_query(r, "q"));
    if (lq->q && (!utf8_valid_text(lq->q) || utf8_len(lq->q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    lq->sort = req_query(r, "sort");
    const char *fmt = req_query(r, "format");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "csv"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 json 或 csv");
    lq->csv = fmt && !strcmp(fmt, "csv");
    return E_OK;
}

/* ---- CSV ---------------------------------------------------------------------------- */

/* Epoch milliseconds as China time, "2024-05-01 08:00:00". */
static void time_cell(struct csv_out *c, int64_t ms)
{
    char b[CHINA_TIME_LEN];
    china_time(ms, b);
    csv_text(c, b);
}

/* A decimal with `prec` digits after the point. */
static void decimal_cell(struct csv_out *c, double v, int prec)
{
    char b[64];
    snprintf(b, sizeof b, "%.*f", prec, v);
    csv_num(c, b);
}

/* Start a CSV reply with its header row (cols NULL-terminated). */
static void csv_head(struct csv_out *c, struct req *r, const char *const *cols)
{
    reply_csv_begin(r, c);
    for (size_t i = 0; cols[i]; i++)
        csv_text(c, cols[i]);
    csv_row_end(c);
}

/* Adds region_path ("东华门街道 · 多福巷社区 · 1号楼", from the street down)
 * to a single record's reply: the phone's detail pages show where a place
 * or an enterprise is by name (region names are public facts, region.h). */
static err set_region_path(struct req *r, json_t *o, int64_t code)
{
    enum region_level lv = regcode_level(code);
    const char *path;
    err e = region_path(r->db, code, lv && lv < LEVEL_STREET ? lv : LEVEL_STREET, r->a, &path);
    if (e)
        return e;
    json_object_set_new(o, "region_path", json_string(path));
    return E_OK;
}

/* ---- places: JSON ------------------------------------------------------------------ */

static const struct jfield place_fields[] = {
    PLACE_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The body as a place_input (place/internal.h): members present set their
 * row's bit, null clears. */
static err place_input_from(struct req *r, struct place_input *in)
{
    json_t *b = r->body;
    memset(in, 0, sizeof *in);
    err e = fields_from_json(place_input_rows, PLACE_FIELD_COUNT, b, r->a, in, &in->set);
    if (e)
        return e;
    if (in->set & PL_POSITION) {
        bool lng_num = json_is_number(json_object_get(b, "lng")),
             lat_num = json_is_number(json_object_get(b, "lat"));
        /* a point needs both coordinates; null for both removes it */
        if (lng_num != lat_num || (in->set & PL_POSITION) != PL_POSITION)
            return err_set(E_INPUT, "invalid_position", lng_num ? "lat" : "lng",
                           "经度和纬度需同时填写或同时清空");
        in->has_position = lng_num;
    }
    return E_OK;
}

/* A place as the API replies: the table's fields, personal ones masked
 * unless `reveal`, with the kind's label, the region's name and the
 * linked enterprise. */
static json_t *place_json(struct req *r, const struct place *p, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    mask_fields_json(r->a, place_rows, PLACE_FIELD_COUNT, p, reveal, o);
    json_object_set_new(o, "kind_label", json_string(place_kind_label(p->kind)));
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "enterprise_name",
                        p->enterprise_id ? json_string(p->enterprise_name) : json_null());
    json_object_set_new(o, "credit_code",
                        p->enterprise_id ? json_string(p->credit_code) : json_null());
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "updated_at", json_integer(p->updated_at));
    return o;
}

static const char *const place_csv_cols[] = {
    "编号",     "场所名称", "场所类型",           "所属区划代码",
    "所属区划", "地址",     "物业面积（平方米）", "户数",
    "楼栋数",   "联系人",   "联系人手机",         "经度",
    "纬度",     "所属企业", "统一社会信用代码",   "创建时间",
    "更新时间", NULL,
};

static err place_csv(struct req *r, const struct place *items, size_t n)
{
    struct csv_out c;
    csv_head(&c, r, place_csv_cols);
    for (size_t i = 0; i < n; i++) {
        const struct place *p = &items[i];
        char code[19];
        regcode_format(p->region_code, code);
        csv_int(&c, p->id);
        csv_text(&c, p->name);
        csv_text(&c, place_kind_label(p->kind));
        csv_text(&c, code);
        csv_text(&c, p->region_name);
        csv_text(&c, p->address);
        decimal_cell(&c, p->area, 2);
        csv_int(&c, p->households);
        csv_int(&c, p->buildings);
        csv_text(&c, mask_name(r->a, p->contact_name));
        csv_text(&c, mask_phone(r->a, p->contact_phone));
        if (p->has_position) {
            decimal_cell(&c, p->lng, 6);
            decimal_cell(&c, p->lat, 6);
        } else {
            csv_num(&c, NULL);
            csv_num(&c, NULL);
        }
        csv_text(&c, p->enterprise_name);
        csv_text(&c, p->credit_code);
        time_cell(&c, p->created_at);
        time_cell(&c, p->updated_at);
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "places.csv");
}

/* ---- places: handlers ---------------------------------------------------------- */

static err place_reply(struct req *r, int status, int64_t id)
{
    struct place p;
    err e = place_find(r->db, r->a, &r->who->scope, id, &p);
    if (e)
        return e;
    return reply_json(r, status, place_json(r, &p, false));
}

static err post_place(struct req *r)
{
    struct place_input in;
    int64_t id;
    err e = place_input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = place_create(r->db, r->a, &r->who->scope, &in, &id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "place.create", "place", 0, e,
                             req_body_fields(r));
    }
    req_audit(r, "place.create", "place", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return place_reply(r, 201, id);
}

static err get_place(struct req *r)
{
    int64_t id;
    bool reveal;
    struct place p;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = place_find(r->db, r->a, &r->who->scope, id, &p);
    if (e)
        return e;
    req_audit(r, "place.read", "place", id, "ok", "");
    if (reveal)
        req_audit(r, "place.reveal", "place", id, "ok", "fields=contact_name,contact_phone");
    json_t *o = place_json(r, &p, reveal);
    if ((e = set_region_path(r, o, p.region_code))) {
        json_decref(o);
        return e;
    }
    return reply_json(r, 200, o);
}

static err patch_place(struct req *r)
{
    int64_t id;
    struct place_input in;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = place_input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = place_update(r->db, r->a, &r->who->scope, id, &in);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "place.update", "place", id, e,
                             req_body_fields(r));
    }
    req_audit(r, "place.update", "place", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return place_reply(r, 200, id);
}

static err delete_place(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = place_delete(r->db, &r->who->scope, id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "place.delete", "place", id, e, NULL);
    }
    req_audit(r, "place.delete", "place", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* A list of places: the shared query, `kind`, and a fixed enterprise
 * (0: any); audited under `type`/`object_id`. */
static err list_places(struct req *r, int64_t enterprise_id)
{
    struct list_query lq;
    err e = list_query(r, &lq);
    if (e)
        return e;
    struct place_filter f = {
        .region_code = lq.region_code,
        .q = lq.q,
        .enterprise_id = enterprise_id,
        .sort = lq.sort,
        .page = lq.page,
        .page_size = lq.csv ? 0 : lq.page_size,
    };
    const char *kind = req_query(r, "kind");
    if (kind && !(f.kind = place_kind_parse(kind)))
        return err_set(E_INPUT, "invalid_parameter", "kind", "场所类型的取值不正确");
    struct place *items;
    size_t n;
    int64_t total;
    if ((e = place_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    req_audit(r, "place.list", enterprise_id ? "enterprise" : "place", enterprise_id, "ok",
              arena_printf(r->a, "%scount=%zu total=%lld", lq.csv ? "format=csv " : "", n,
                           (long long)total));
    if (lq.csv)
        return place_csv(r, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, place_json(r, &items[i], false));
    return reply_page(r, arr, total, lq.page, lq.page_size);
}

static err get_places(struct req *r)
{
    return list_places(r, 0);
}

/* ---- enterprises ----------------------------------------------------------------- */

static const struct jfield enterprise_fields[] = {
    ENTERPRISE_FIELDS(FIELD_JFIELD){NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The body as an enterprise_input: members present set their row's bit. */
static err enterprise_input_from(struct req *r, struct enterprise_input *in)
{
    memset(in, 0, sizeof *in);
    return fields_from_json(enterprise_input_rows, ENTERPRISE_FIELD_COUNT, r->body, r->a, in,
                            &in->set);
}

/* An enterprise as the API replies: the table's fields, personal ones
 * masked unless `reveal`, with the region's name. */
static json_t *enterprise_json(struct req *r, const struct enterprise *x, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    mask_fields_json(r->a, enterprise_rows, ENTERPRISE_FIELD_COUNT, x, reveal, o);
    json_set_region(o, x->region_code, x->region_name);
    json_object_set_new(o, "version", json_integer(x->version));
    json_object_set_new(o, "created_at", json_integer(x->created_at));
    json_object_set_new(o, "updated_at", json_integer(x->updated_at));
    return o;
}

static const char *const enterprise_csv_cols[] = {
    "编号",     "企业名称",   "统一社会信用代码", "所属区划代码",   "所属区划",
    "联系人",   "联系人手机", "法定代表人",       "法定代表人手机", "员工人数",
    "办公地址", "所属行业",   "创建时间",         "更新时间",       NULL,
};

static err enterprise_csv(struct req *r, const struct enterprise *items, size_t n)
{
    struct csv_out c;
    csv_head(&c, r, enterprise_csv_cols);
    for (size_t i = 0; i < n; i++) {
        const struct enterprise *x = &items[i];
        char code[19];
        regcode_format(x->region_code, code);
        csv_int(&c, x->id);
        csv_text(&c, x->name);
        csv_text(&c, x->credit_code);
        csv_text(&c, code);
        csv_text(&c, x->region_name);
        csv_text(&c, mask_name(r->a, x->contact_name));
        csv_text(&c, mask_phone(r->a, x->contact_phone));
        csv_text(&c, mask_name(r->a, x->legal_rep));
        csv_text(&c, mask_phone(r->a, x->legal_rep_phone));
        csv_int(&c, x->employees);
        csv_text(&c, x->address);
        csv_text(&c, x->industry);
        time_cell(&c, x->created_at);
        time_cell(&c, x->updated_at);
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "enterprises.csv");
}

static err enterprise_reply(struct req *r, int status, int64_t id)
{
    struct enterprise x;
    err e = enterprise_find(r->db, r->a, &r->who->scope, id, &x);
    if (e)
        return e;
    return reply_json(r, status, enterprise_json(r, &x, false));
}

static err post_enterprise(struct req *r)
{
    struct enterprise_input in;
    int64_t id;
    err e = enterprise_input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = enterprise_create(r->db, r->a, &r->who->scope, &in, &id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "enterprise.create", "enterprise", 0, e,
                             req_body_fields(r));
    }
    req_audit(r, "enterprise.create", "enterprise", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return enterprise_reply(r, 201, id);
}

static err get_enterprise(struct req *r)
{
    int64_t id;
    bool reveal;
    struct enterprise x;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = enterprise_find(r->db, r->a, &r->who->scope, id, &x);
    if (e)
        return e;
    req_audit(r, "enterprise.read", "enterprise", id, "ok", "");
    if (reveal)
        req_audit(r, "enterprise.reveal", "enterprise", id, "ok",
                  "fields=contact_name,contact_phone,legal_rep,legal_rep_phone");
    json_t *o = enterprise_json(r, &x, reveal);
    if ((e = set_region_path(r, o, x.region_code))) {
        json_decref(o);
        return e;
    }
    return reply_json(r, 200, o);
}

static err patch_enterprise(struct req *r)
{
    int64_t id;
    struct enterprise_input in;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = enterprise_input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = enterprise_update(r->db, r->a, &r->who->scope, id, &in);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "enterprise.update", "enterprise", id, e,
                             req_body_fields(r));
    }
    req_audit(r, "enterprise.update", "enterprise", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return enterprise_reply(r, 200, id);
}

static err delete_enterprise(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = enterprise_delete(r->db, &r->who->scope, id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "enterprise.delete", "enterprise", id, e, NULL);
    }
    req_audit(r, "enterprise.delete", "enterprise", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

static err get_enterprises(struct req *r)
{
    struct list_query lq;
    err e = list_query(r, &lq);
    if (e)
        return e;
    struct enterprise_filter f = {
        .region_code = lq.region_code,
        .q = lq.q,
        .credit_code = field_trim(r->a, req_query(r, "credit_code")),
        .industry = field_trim(r->a, req_query(r, "industry")),
        .sort = lq.sort,
        .page = lq.page,
        .page_size = lq.csv ? 0 : lq.page_size,
    };
    if (f.industry && (!utf8_valid_text(f.industry) || utf8_len(f.industry) > 50))
        return err_set(E_INPUT, "invalid_parameter", "industry",
                       "所属行业的查询条件不能超过50个字符");
    struct enterprise *items;
    size_t n;
    int64_t total;
    if ((e = enterprise_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    req_audit(r, "enterprise.list", "enterprise", 0, "ok",
              arena_printf(r->a, "%scount=%zu total=%lld", lq.csv ? "format=csv " : "", n,
                           (long long)total));
    if (lq.csv)
        return enterprise_csv(r, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, enterprise_json(r, &items[i], false));
    return reply_page(r, arr, total, lq.page, lq.page_size);
}

/* The places an enterprise runs: the enterprise must be visible, and the
 * caller needs place.read as well (the route asks for enterprise.read). */
static err get_enterprise_places(struct req *r)
{
    int64_t id;
    struct enterprise x;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if (!principal_can(r->who, PERM_PLACE_READ))
        return err_set(E_FORBIDDEN, NULL, NULL, NULL);
    if ((e = enterprise_find(r->db, r->a, &r->who->scope, id, &x)))
        return e;
    return list_places(r, id);
}

/* ---- route tables ------------------------------------------------------------------ */

const struct route place_routes[] = {
    {M_POST, "/api/v1/places", post_place, PERM_PLACE_WRITE, 0, place_fields, "登记场所", "place",
     0},
    {M_GET, "/api/v1/places", get_places, PERM_PLACE_READ, 0, NULL,
     "场所列表（region_code、kind、q 筛选，format=csv 导出）", "place", 0},
    {M_GET, "/api/v1/places/{id}", get_place, PERM_PLACE_READ, 0, NULL,
     "场所详情（含区划路径 region_path；reveal=1 查看完整联系人信息）", "place", 0},
    {M_PATCH, "/api/v1/places/{id}", patch_place, PERM_PLACE_WRITE, 0, place_fields, "修改场所",
     "place", 0},
    {M_DELETE, "/api/v1/places/{id}", delete_place, PERM_PLACE_WRITE, 0, NULL, "删除场所", "place",
     0},
};
const size_t place_routes_n = sizeof place_routes / sizeof place_routes[0];

const struct route enterprise_routes[] = {
    {M_POST, "/api/v1/enterprises", post_enterprise, PERM_ENTERPRISE_WRITE, 0, enterprise_fields,
     "登记企业", "enterprise", 0},
    {M_GET, "/api/v1/enterprises", get_enterprises, PERM_ENTERPRISE_READ, 0, NULL,
     "企业列表（region_code、q、credit_code、industry 筛选，format=csv 导出）", "enterprise", 0},
    {M_GET, "/api/v1/enterprises/{id}", get_enterprise, PERM_ENTERPRISE_READ, 0, NULL,
     "企业详情（含区划路径 region_path；reveal=1 查看完整个人信息）", "enterprise", 0},
    {M_PATCH, "/api/v1/enterprises/{id}", patch_enterprise, PERM_ENTERPRISE_WRITE, 0,
     enterprise_fields, "修改企业", "enterprise", 0},
    {M_DELETE, "/api/v1/enterprises/{id}", delete_enterprise, PERM_ENTERPRISE_WRITE, 0, NULL,
     "删除企业", "enterprise", 0},
    {M_GET, "/api/v1/enterprises/{id}/places", get_enterprise_places, PERM_ENTERPRISE_READ, 0, NULL,
     "企业名下场所", "enterprise", 0},
};
const size_t enterprise_routes_n = sizeof enterprise_routes / sizeof enterprise_routes[0];

/*
 * HTTP handlers of the ingest interfaces of outside systems (数据接入, nat.h
 * "ingest"): POST /api/v1/nat/{sites,plans,samples,clockins}/batch with the
 * session of an exchange_client account (permission nat.ingest).
 *
 * A handler checks the batch's size; the offload worker (job/offload.h)
 * shapes each record without the database (a malformed record is reported
 * with its index and the others go on), then applies the batch in one
 * transaction (nat_ingest_batch) with one audit entry of its counts;
 * the answer is the transport batch's: {received, applied, repeated,
 * rejected, errors} with the errors in the order of the records. Replies
 * carry no personal data.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/fields.h"
#include "job/offload.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "security/audit.h"

#define BATCH_MAX_BODY (8u << 20) /* 10,000 records of ~500 bytes, with room */

static const struct jfield batch_fields[] = {
    {"records", J_ARRAY, JF_REQUIRED, 0, 0, "记录", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- shaping ------------------------------------------------------------------------------- */

/* The record's object and id into *h, or the error of either. */
static err head_shape(arena *a, json_t *j, size_t i, struct nat_ingest_head *h)
{
    *h = (struct nat_ingest_head){.index = i, .record_id = ""};
    if (!json_is_object(j))
        return err_set(E_INPUT, "invalid_record", "records", "记录应为对象");
    const char *id = json_str(j, "id");
    if (id)
        h->record_id = arena_strdup(a, id);
    if (!id || !*id || strlen(id) > 64)
        return err_set(E_INPUT, "invalid_value", "id", "记录编号应为1到64个字符");
    return E_OK;
}

/* The op of `j`: 0 for the first of the two names, 1 for the second. */
static err op_shape(json_t *j, const char *first, const char *second, bool *second_r)
{
    const char *op = json_str(j, "op");
    if (!op || (strcmp(op, first) && strcmp(op, second)))
        return err_set(E_INPUT, "invalid_value", "op", "操作应为 %s 或 %s", first, second);
    *second_r = !strcmp(op, second);
    return E_OK;
}

static err key_shape(json_t *j, const char *name, const char **key_r)
{
    const char *k = json_str(j, name);
    size_t n = k ? strlen(k) : 0;
    if (!n || n > NAT_SOURCE_KEY_MAX ||
        strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                  "wxyz0123456789-_.:") != n)
        return err_set(E_INPUT, "invalid_value", name, "点位编码应为1到%d位字母、数字或“-_.:”",
                       NAT_SOURCE_KEY_MAX);
    *key_r = k;
    return E_OK;
}

static err at_shape(json_t *j, int64_t *at_r)
{
    json_t *at = json_object_get(j, "at");
    if (!json_is_integer(at) || json_integer_value(at) <= 0)
        return err_set(E_INPUT, "invalid_time", "at", "时间应为毫秒时间戳");
    *at_r = json_integer_value(at);
    return E_OK;
}

static err position(json_t *b, double *lng_r, double *lat_r)
{
    json_t *x = json_object_get(b, "lng"), *y = json_object_get(b, "lat");
    *lng_r = *lat_r = NAN;
    if ((!x || json_is_null(x)) && (!y || json_is_null(y)))
        return E_OK;
    if (!json_is_number(x) || !json_is_number(y))
        return err_set(E_INPUT, "invalid_position", json_is_number(x) ? "lat" : "lng",
                       "经纬度应同时填写");
    *lng_r = json_number_value(x);
    *lat_r = json_number_value(y);
    return E_OK;
}

/* {id, op: upsert|delete, key, site: {the console's site fields}} */
static err site_shape(arena *a, json_t *j, size_t i, void *out)
{
    struct nat_site_record *x = out;
    *x = (struct nat_site_record){0};
    err e = head_shape(a, j, i, &x->h);
    if (!e)
        e = op_shape(j, "upsert", "delete", &x->remove);
    if (!e)
        e = key_shape(j, "key", &x->key);
    if (e || x->remove)
        return e;
    json_t *site = json_object_get(j, "site");
    if (!json_is_object(site))
        return err_set(E_INPUT, "required", "site", "请提供点位信息");
    if ((e = fields_from_json(nat_site_input_rows, NAT_SITE_FIELD_COUNT, site, a, &x->in,
                              &x->in.set)))
        return e;
    if (!x->in.set)
        return err_set(E_INPUT, "empty_update", "site", "请至少提供一个点位字段");
    return nat_site_input_check(&x->in, false);
}

/* {id, number, name?, starts_at?, ends_at?, rows?: [{region_code, industry_id?, planned,
 * reported?}]} */
static err plan_shape(arena *a, json_t *j, size_t i, void *out)
{
    struct nat_plan_record *x = out;
    *x = (struct nat_plan_record){0};
    err e = head_shape(a, j, i, &x->h);
    if (e)
        return e;
    x->in.number = json_str(j, "number");
    if (!x->in.number || !*x->in.number)
        return err_set(E_INPUT, "required", "number", "请填写计划编号");
    x->in.name = json_str(j, "name");
    x->in.starts_at = json_int(j, "starts_at", 0);
    x->in.ends_at = json_int(j, "ends_at", 0);
    json_t *rows = json_object_get(j, "rows");
    if (rows && !json_is_array(rows))
        return err_set(E_INPUT, "invalid_value", "rows", "rows 应为数组");
    x->n = json_array_size(rows);
    if (x->n > NAT_PLAN_FIGURES_MAX)
        return err_set(E_INPUT, "out_of_range", "rows", "每个计划至多%d行", NAT_PLAN_FIGURES_MAX);
    struct nat_report_row *v = arena_alloc(a, (x->n + 1) * sizeof *v);
    for (size_t k = 0; k < x->n; k++) {
        json_t *row = json_array_get(rows, k), *p, *rep;
        char field[48];
        snprintf(field, sizeof field, "rows[%zu]", k);
        if (!json_is_object(row))
            return err_set(E_INPUT, "invalid_value", field, "第%zu行应为对象", k + 1);
        const char *region = json_str(row, "region_code"), *industry = json_str(row, "industry_id");
        enum region_level level;
        v[k] = (struct nat_report_row){.region_code = region ? regcode_parse(region, &level) : -1,
                                       .industry_id = industry ? id_parse(industry) : 0};
        snprintf(field, sizeof field, "rows[%zu].region_code", k);
        if (v[k].region_code <= 0)
            return err_set(E_INPUT, "invalid_region", field, "第%zu行：街道编码不正确", k + 1);
        snprintf(field, sizeof field, "rows[%zu].industry_id", k);
        if (v[k].industry_id < 0)
            return err_set(E_INPUT, "invalid_industry", field, "第%zu行：行业不正确", k + 1);
        snprintf(field, sizeof field, "rows[%zu].planned", k);
        p = json_object_get(row, "planned");
        if (!json_is_integer(p))
            return err_set(E_INPUT, "required", field, "第%zu行：请填写应检人数", k + 1);
        v[k].planned = json_integer_value(p);
        rep = json_object_get(row, "reported");
        if (rep && !json_is_null(rep)) {
            snprintf(field, sizeof field, "rows[%zu].reported", k);
            if (!json_is_integer(rep) || json_integer_value(rep) < 0 ||
                json_integer_value(rep) > 1000000000)
                return err_set(E_INPUT, "out_of_range", field,
                               "第%zu行：实检报送人数应在0到10亿之间", k + 1);
            v[k].reported_set = true;
            v[k].reported = json_integer_value(rep);
        }
    }
    x->rows = v;
    return E_OK;
}

/* add: {id, op: add, site, id_number (id_type?) | visitor_code, barcode, tube_kind?, plan?, at}
 * delete: {id, op: delete, record | sample_id} */
static err sample_shape(arena *a, json_t *j, size_t i, void *out)
{
    struct nat_sample_record *x = out;
    *x = (struct nat_sample_record){0};
    err e = head_shape(a, j, i, &x->h);
    if (!e)
        e = op_shape(j, "add", "delete", &x->remove);
    if (e)
        return e;
    if (x->remove) {
        x->of_record = json_str(j, "record");
        const char *sid = json_str(j, "sample_id");
        if (!x->of_record == !sid)
            return err_set(E_INPUT, "required", "record",
                           "请提供新增时的记录编号或采样记录编号，二者取其一");
        if (sid && (x->sample_id = id_parse(sid)) <= 0)
            return err_set(E_INPUT, "invalid_value", "sample_id", "采样记录编号不正确");
        return E_OK;
    }
    if ((e = key_shape(j, "site", &x->site_key)) || (e = at_shape(j, &x->at)))
        return e;
    x->id_number = json_str(j, "id_number");
    x->id_type = json_str(j, "id_type");
    x->visitor_code = json_str(j, "visitor_code");
    if (!x->id_number == !x->visitor_code)
        return err_set(E_INPUT, "required", "id_number", "请提供证件号码或访客码，二者取其一");
    x->barcode = json_str(j, "barcode");
    if (!nat_barcode_valid(x->barcode))
        return err_set(E_INPUT, "invalid_barcode", "barcode",
                       "试管条码应为6到32位数字、字母或连字符");
    const char *kind = json_str(j, "tube_kind");
    if (kind) {
        int k = vocab_parse(&nat_tube_kind_vocab, kind);
        if (k <= 0)
            return err_set(E_INPUT, "invalid_value", "tube_kind",
                           "试管类型应为 single、pool5、pool10 或 pool20");
        x->kind = (enum nat_tube_kind)k;
    }
    x->plan_number = json_str(j, "plan");
    return E_OK;
}

/* {id, op: in|out, site, staff (login name), at, lng?, lat?} */
static err clockin_shape(arena *a, json_t *j, size_t i, void *out)
{
    struct nat_clockin_record *x = out;
    *x = (struct nat_clockin_record){0};
    err e = head_shape(a, j, i, &x->h);
    if (!e)
        e = op_shape(j, "in", "out", &x->out);
    if (!e)
        e = key_shape(j, "site", &x->site_key);
    if (!e)
        e = at_shape(j, &x->at);
    if (e)
        return e;
    x->staff = json_str(j, "staff");
    if (!x->staff || !*x->staff || strlen(x->staff) > 64)
        return err_set(E_INPUT, "required", "staff", "请填写工作人员登录名");
    return position(j, &x->lng, &x->lat);
}

/* ---- the batch ----------------------------------------------------------------------------- */

typedef err (*shape_fn)(arena *a, json_t *j, size_t i, void *out);

struct ingest_kind {
    enum nat_ingest_kind kind;
    shape_fn shape;
    size_t size; /* of a shaped record */
    const char *action, *type;
};

static const struct ingest_kind sites = {
    NAT_INGEST_SITE, site_shape, sizeof(struct nat_site_record), "nat.ingest.sites", "nat_site"};
static const struct ingest_kind plans = {
    NAT_INGEST_PLAN, plan_shape, sizeof(struct nat_plan_record), "nat.ingest.plans", "nat_plan"};
static const struct ingest_kind samples = {NAT_INGEST_SAMPLE, sample_shape,
                                           sizeof(struct nat_sample_record), "nat.ingest.samples",
                                           "nat_sample"};
static const struct ingest_kind clockins = {NAT_INGEST_CLOCKIN, clockin_shape,
                                            sizeof(struct nat_clockin_record),
                                            "nat.ingest.clockins", "nat_clockin"};

static const struct ingest_kind *const kinds[] = {
    [NAT_INGEST_SITE] = &sites,
    [NAT_INGEST_PLAN] = &plans,
    [NAT_INGEST_SAMPLE] = &samples,
    [NAT_INGEST_CLOCKIN] = &clockins,
};

err nat_ingest_json(db *d, arena *a, const struct principal *who, enum nat_ingest_kind kind,
                    json_t *recs, json_t **reply_r, const char **detail_r)
{
    const struct ingest_kind *k =
        (size_t)kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : NULL;
    if (!k)
        return err_set(E_INTERNAL, "invalid_kind", NULL, NULL);
    size_t n = json_array_size(recs);
    char *xs = arena_alloc(a, n * k->size + 1), *one = arena_alloc(a, k->size);
    if (!xs || !one)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct nat_batch_result res = {.errors = json_array()};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        err se = k->shape(a, json_array_get(recs, i), i, one);
        if (se) {
            json_batch_error(res.errors, se, i, ((const struct nat_ingest_head *)one)->record_id,
                             NULL);
            continue;
        }
        memcpy(xs + ok++ * k->size, one, k->size);
    }
    err e = nat_ingest_batch(d, a, who, k->kind, xs, k->size, ok, &res);
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

/* On the offload worker: shape every record, apply the good ones and the
 * audit entry of the counts in one transaction. */
static err run_batch(struct offload *q, int *status_r, json_t **reply_r)
{
    const struct ingest_kind *k = q->arg;
    json_t *reply = NULL;
    const char *detail = NULL;
    err e = db_begin(q->d);
    if (!e)
        e = nat_ingest_json(q->d, q->a, q->who, k->kind, json_object_get(q->body, "records"),
                            &reply, &detail);
    if ((e = offload_commit(q, e, k->action, k->type, 0, detail))) {
        json_decref(reply);
        return e;
    }
    *status_r = 200;
    *reply_r = reply;
    return E_OK;
}

/* On the loop: the batch's size (refused and audited here), then the rest
 * on the offload worker. */
static err post_batch(struct req *r, const struct ingest_kind *k)
{
    size_t n = json_array_size(json_object_get(r->body, "records"));
    if (n == 0 || n > NAT_BATCH_MAX) {
        err e = err_set(E_INPUT, "invalid_batch", "records", "每批记录应为1到%d条", NAT_BATCH_MAX);
        return audit_refusal(r->db, r->who, r->ip, k->action, k->type, 0, e, NULL);
    }
    return job_offload(r, run_batch, k);
}

static err post_sites(struct req *r)
{
    return post_batch(r, &sites);
}

static err post_plans(struct req *r)
{
    return post_batch(r, &plans);
}

static err post_samples(struct req *r)
{
    return post_batch(r, &samples);
}

static err post_clockins(struct req *r)
{
    return post_batch(r, &clockins);
}

/* ---- routes -------------------------------------------------------------------------------- */

const struct route nat_ingest_routes[] = {
    {M_POST, "/api/v1/nat/sites/batch", post_sites, PERM_NAT_INGEST, 0, batch_fields,
     "点位数据接入（增删改，按点位编码；每批至多10000条，按记录编号幂等）", "nat", BATCH_MAX_BODY},
    {M_POST, "/api/v1/nat/plans/batch", post_plans, PERM_NAT_INGEST, 0, batch_fields,
     "应检/实检报送数据接入（按计划编号；每批至多10000条，按记录编号幂等）", "nat", BATCH_MAX_BODY},
    {M_POST, "/api/v1/nat/samples/batch", post_samples, PERM_NAT_INGEST, 0, batch_fields,
     "取样数据接入（增、删；每批至多10000条，按记录编号幂等）", "nat", BATCH_MAX_BODY},
    {M_POST, "/api/v1/nat/clockins/batch", post_clockins, PERM_NAT_INGEST, 0, batch_fields,
     "打卡数据接入（上岗、签退；每批至多10000条，按记录编号幂等）", "nat", BATCH_MAX_BODY},
};
const size_t nat_ingest_routes_n = sizeof nat_ingest_routes / sizeof nat_ingest_routes[0];

/*
 * The operations the exchange itself provides: the signed echo (ping) and
 * the nucleic-acid ingest of outside systems (数据接入, dataset nat), which
 * until now took an exchange_client session and now also takes a signed
 * call. Each ingest operation runs the capability's own contract
 * (nat_ingest_json, nat_transport_json) inside the call's transaction, so
 * the records, their audit entry (as the caller's account, counts only)
 * and the idempotency row commit together or not at all.
 */
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "commission/commission.h"
#include "nat/nat.h"
#include "security/audit.h"

/* GET /exchange/v1/ping: who the server takes the caller for, and what it
 * may do: the first call an integrator makes. */
static err ping(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    (void)in;
    const struct exchange_caller *c = x->caller;
    json_t *regions;
    err e = exchange_region_names(x->d, c->regions, c->nregions, &regions);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "caller_id", c->id);
    json_object_set_new(o, "caller", json_string(c->name));
    json_object_set_new(o, "regions", regions);
    json_object_set_new(o, "read", exchange_sets_json(c->read_sets));
    json_object_set_new(o, "write", exchange_sets_json(c->write_sets));
    json_object_set_new(o, "server_time", json_integer(now_ms()));
    *out_r = o;
    return E_OK;
}

static err records_of(json_t *in, json_t **recs_r)
{
    json_t *recs = json_object_get(in, "records");
    if (!json_is_array(recs))
        return err_set(E_INPUT, recs ? "invalid_type" : "required", "records",
                       "records 应为记录数组");
    *recs_r = recs;
    return E_OK;
}

/* The audit entry of a batch, as the caller's account, in the call's
 * transaction. */
static err audit_batch(struct exchange_ctx *x, const char *action, const char *type,
                       const char *detail)
{
    struct audit_entry ae = {.user_id = x->who.user_id,
                             .username = x->who.username,
                             .role = "exchange_client",
                             .action = action,
                             .object_type = type,
                             .result = "ok",
                             .detail = detail};
    return audit_log(x->d, &ae);
}

static err ingest(struct exchange_ctx *x, json_t *in, json_t **out_r, enum nat_ingest_kind kind,
                  const char *action, const char *type)
{
    json_t *recs = NULL;
    const char *detail = NULL;
    err e = records_of(in, &recs);
    if (!e)
        e = nat_ingest_json(x->d, x->a, &x->who, kind, recs, out_r, &detail);
    if (!e && (e = audit_batch(x, action, type, detail))) {
        json_decref(*out_r);
        *out_r = NULL;
    }
    return e;
}

static err nat_sites(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return ingest(x, in, out_r, NAT_INGEST_SITE, "exchange.nat.sites", "nat_site");
}

static err nat_plans(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return ingest(x, in, out_r, NAT_INGEST_PLAN, "exchange.nat.plans", "nat_plan");
}

static err nat_samples(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return ingest(x, in, out_r, NAT_INGEST_SAMPLE, "exchange.nat.samples", "nat_sample");
}

static err nat_clockins(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return ingest(x, in, out_r, NAT_INGEST_CLOCKIN, "exchange.nat.clockins", "nat_clockin");
}

static err nat_transport(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    json_t *recs = NULL;
    const char *detail = NULL;
    err e = records_of(in, &recs);
    if (!e)
        e = nat_transport_json(x->d, x->a, &x->who, recs, out_r, &detail);
    if (!e && (e = audit_batch(x, "exchange.nat.transport", "nat_box", detail))) {
        json_decref(*out_r);
        *out_r = NULL;
    }
    return e;
}

/* The health commission's doctors and investigations (卫健数据接入): the
 * records as the commission's own batch takes them. */
static err commission(struct exchange_ctx *x, json_t *in, json_t **out_r, enum commission_kind k,
                      const char *action)
{
    json_t *recs = NULL;
    err e = records_of(in, &recs);
    if (e)
        return e;
    struct commission_batch_result res = {.errors = json_array()};
    if ((e = commission_batch(x->d, x->a, &x->who, k, recs, &res))) {
        json_decref(res.errors);
        return e;
    }
    size_t n = json_array_size(recs), rejected = json_array_size(res.errors);
    const char *detail = arena_printf(
        x->a, "records=%zu created=%lld updated=%lld repeated=%lld linked=%lld rejected=%zu", n,
        (long long)res.created, (long long)res.updated, (long long)res.repeated,
        (long long)res.linked, rejected);
    if ((e = audit_batch(x, action, "commission", detail))) {
        json_decref(res.errors);
        return e;
    }
    *out_r = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "received", (json_int_t)n, "created",
                       (json_int_t)res.created, "updated", (json_int_t)res.updated, "repeated",
                       (json_int_t)res.repeated, "linked", (json_int_t)res.linked, "rejected",
                       (json_int_t)rejected, "errors", json_batch_errors_sorted(res.errors));
    return *out_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

static err commission_doctors(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return commission(x, in, out_r, COMMISSION_DOCTOR, "exchange.commission.doctors");
}

static err commission_investigations(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    return commission(x, in, out_r, COMMISSION_INVESTIGATION, "exchange.commission.investigations");
}

static const struct exchange_op core_ops[] = {
    {"ping", "GET", "/exchange/v1/ping", EXCHANGE_DS_NONE, false, ping,
     "连通性测试：返回调用方名称及其授权（区划、数据集）"},
    {"nat.sites", "POST", "/exchange/v1/nat/sites", DS_NAT, true, nat_sites,
     "核酸点位数据接入（增删改，按点位编码；每批至多1000条，按记录编号幂等）"},
    {"nat.plans", "POST", "/exchange/v1/nat/plans", DS_NAT, true, nat_plans,
     "应检/实检报送数据接入（按计划编号；每批至多1000条）"},
    {"nat.samples", "POST", "/exchange/v1/nat/samples", DS_NAT, true, nat_samples,
     "核酸取样数据接入（增、删；每批至多1000条）"},
    {"nat.clockins", "POST", "/exchange/v1/nat/clockins", DS_NAT, true, nat_clockins,
     "核酸点位打卡数据接入（上岗、签退；每批至多1000条）"},
    {"nat.transport", "POST", "/exchange/v1/nat/transport", DS_NAT, true, nat_transport,
     "转运交接数据接入（每批至多1000条交接记录）"},
    /* the brief files the commission's ingest under dataset nat, with the
     * nucleic-acid ingest it came with (issue 10) */
    {"commission.doctors", "POST", "/exchange/v1/commission/doctors", DS_NAT, true,
     commission_doctors, "卫健医生信息接入（每批至多1000条，按记录编号幂等，逐条报错）"},
    {"commission.investigations", "POST", "/exchange/v1/commission/investigations", DS_NAT, true,
     commission_investigations, "卫健流调信息接入（每批至多1000条，按记录编号幂等，逐条报错）"},
};

err exchange_register(void)
{
    err e = exchange_ops_add(core_ops, sizeof core_ops / sizeof core_ops[0]);
    return e ? e : exchange_share_register(); /* 共享互认 (share.c) */
}

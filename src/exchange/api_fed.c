/*
 * HTTP handlers of the federation (exchange.h "federation"; docs/exchange.md
 * "Federation"), with permission exchange.admin:
 *
 *   GET  /api/v1/exchange/federation       the parent and the puller's cursors
 *   POST /api/v1/exchange/federation/pull  pull the parent's zones and risk
 *                                          areas now (立即同步), audited
 *
 * A pull calls the parent and may block for its timeout, so it runs on the
 * offload worker, never on the event loop. Replies hold no personal data.
 */
#include <stdio.h>

#include "app.h"
#include "exchange/exchange.h"
#include "http/write.h"
#include "job/offload.h"
#include "security/audit.h"

static err state(struct req *r)
{
    json_t *o;
    err e = exchange_fed_state(r->db, r->a, &o);
    return e ? e : reply_json(r, 200, o);
}

static err run_pull(struct offload *q, int *status_r, json_t **reply_r)
{
    int64_t applied = 0;
    err e = exchange_fed_pull(q->d, q->a, &applied);
    if (e) /* a refusal is audited (audit_refusal's rule); a dead parent is logged */
        return audit_refusal(q->d, q->who, q->ip, "exchange.fed.pull", "exchange_peer", 0, e, NULL);
    char detail[32];
    snprintf(detail, sizeof detail, "applied=%lld", (long long)applied);
    if ((e = db_begin(q->d)) ||
        (e = offload_commit(q, E_OK, "exchange.fed.pull", "exchange_peer", 0, detail)))
        return e;
    json_t *o;
    if ((e = exchange_fed_state(q->d, q->a, &o)))
        return e;
    json_object_set_new(o, "applied", json_integer(applied));
    *status_r = 200;
    *reply_r = o;
    return E_OK;
}

static err pull(struct req *r)
{
    return job_offload(r, run_pull, NULL);
}

const struct route exchange_fed_routes[] = {
    {M_GET, "/api/v1/exchange/federation", state, PERM_EXCHANGE_ADMIN, 0, NULL,
     "上级平台及下行同步进度（区域、风险地区）", "exchange", 0},
    {M_POST, "/api/v1/exchange/federation/pull", pull, PERM_EXCHANGE_ADMIN, 0, NULL,
     "立即从上级平台同步封控区域与风险地区", "exchange", 0},
};
const size_t exchange_fed_routes_n = sizeof exchange_fed_routes / sizeof exchange_fed_routes[0];

/*
 * HTTP handlers of the peers registry (exchange/peer.h; docs/exchange.md
 * "Peers and the outbox"), all with permission exchange.admin:
 *
 *   GET    /api/v1/exchange/peers            the peers in scope with their state
 *   POST   /api/v1/exchange/peers            register one, audited
 *   GET    /api/v1/exchange/peers/{id}       one, with its outbox and last rejections
 *   PATCH  /api/v1/exchange/peers/{id}       change it, audited
 *   DELETE /api/v1/exchange/peers/{id}       remove it and its outbox cursors, audited
 *   POST   /api/v1/exchange/peers/{id}/test  a signed GET /exchange/v1/ping to the peer
 *                                            (测试连接), audited
 *   POST   /api/v1/exchange/peers/{id}/flush deliver its outbox now, audited
 *
 * Calls to a peer block for up to its timeout, so test and flush run on
 * the offload worker (job/offload.h), never on the event loop. Replies hold
 * no personal data (no private key either: only whether one was uploaded).
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "exchange/peer.h"
#include "http/write.h"
#include "job/offload.h"
#include "security/audit.h"

static err list(struct req *r)
{
    json_t *items;
    err e = exchange_peer_list(r->db, r->a, &r->who->scope, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static err get(struct req *r)
{
    int64_t id;
    json_t *o;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = exchange_peer_get(r->db, r->a, &r->who->scope, id, &o);
    return e ? e : reply_json(r, 200, o);
}

static err reply_peer(struct req *r, int status, int64_t id)
{
    json_t *o;
    err e = exchange_peer_get(r->db, r->a, &r->who->scope, id, &o);
    return e ? e : reply_json(r, status, o);
}

static err create(struct req *r)
{
    int64_t id = 0;
    err e = E_OK;
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, exchange_peer_create(r->db, r->a, &r->who->scope, r->who->region_code,
                                               r->body, r->who->user_id, &id));
    if ((e = req_write_done(r, e, "exchange.peer.create", "exchange_peer", id, req_body_fields(r))))
        return e;
    return reply_peer(r, 201, id);
}

static err update(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, exchange_peer_update(r->db, r->a, &r->who->scope, id, r->body));
    if ((e = req_write_done(r, e, "exchange.peer.update", "exchange_peer", id, req_body_fields(r))))
        return e;
    return reply_peer(r, 200, id);
}

static err delete (struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, exchange_peer_delete(r->db, &r->who->scope, id));
    if ((e = req_write_done(r, e, "exchange.peer.delete", "exchange_peer", id, NULL)))
        return e;
    return reply_empty(r);
}

/* ---- calls to the peer, on the offload worker ---- */

/* The peer of the task, checked in the administrator's scope. */
static err task_peer(struct offload *q, struct exchange_peer **p_r)
{
    int64_t id = id_parse(json_string_value(json_object_get(q->body, "id")));
    struct exchange_peer *p;
    err e = exchange_peer_load(q->d, q->a, id, &p);
    if (!e && !scope_has(&q->who->scope, p->region_code))
        e = err_set(E_NOT_FOUND, "peer_not_found", NULL, "对接系统不存在");
    if (!e)
        *p_r = p;
    return e;
}

static err run_test(struct offload *q, int *status_r, json_t **reply_r)
{
    struct exchange_peer *p;
    err e = task_peer(q, &p);
    if (e)
        return e;
    int64_t t0 = (int64_t)mono_us();
    struct exchange_peer_reply rep;
    err ce = exchange_peer_call(q->d, q->a, p, "GET", "/exchange/v1/ping", NULL, NULL, &rep);
    json_t *o = json_object();
    bool ok = !ce && rep.status >= 200 && rep.status <= 299;
    json_object_set_new(o, "ok", json_boolean(ok));
    json_object_set_new(o, "status", json_integer(rep.status));
    json_object_set_new(o, "verified", json_boolean(rep.verified));
    json_object_set_new(o, "latency_ms", json_integer(((int64_t)mono_us() - t0) / 1000));
    if (ce) {
        json_object_set_new(o, "code", json_string(err_last()->slug));
        json_object_set_new(o, "message", json_string(err_last()->message));
    } else if (!ok) {
        json_t *j = json_loads(rep.body, 0, NULL);
        json_t *eo = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(eo, "code"));
        const char *msg = json_string_value(json_object_get(eo, "message"));
        json_object_set_new(o, "code", json_string(code ? code : "peer_refused"));
        json_object_set_new(o, "message", json_string(msg ? msg : "对方拒绝了请求"));
        json_decref(j);
    } else {
        json_t *j = json_loads(rep.body, 0, NULL);
        json_object_set_new(o, "answer", j ? j : json_null());
    }
    if (!(e = db_begin(q->d)))
        e = offload_commit(q, E_OK, "exchange.peer.test", "exchange_peer", p->id,
                           ok ? "ok" : json_string_value(json_object_get(o, "code")));
    if (e) {
        json_decref(o);
        return e;
    }
    *status_r = 200;
    *reply_r = o;
    return E_OK;
}

static err run_flush(struct offload *q, int *status_r, json_t **reply_r)
{
    struct exchange_peer *p;
    err e = task_peer(q, &p);
    if (e)
        return e;
    int64_t sent = 0;
    if ((e = exchange_outbox_run(q->d, now_ms(), p->id, &sent)))
        return e;
    if (!(e = db_begin(q->d)))
        e = offload_commit(q, E_OK, "exchange.peer.flush", "exchange_peer", p->id,
                           arena_printf(q->a, "sent=%lld", (long long)sent));
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "sent", json_integer(sent));
    *status_r = 200;
    *reply_r = o;
    return E_OK;
}

static void free_json(void *p)
{
    json_decref(p);
}

/* Check the peer is in scope on the loop (404 at once), then hand the call
 * to the worker with the id as its body. */
static err offload_call(struct req *r, offload_fn run)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    json_t *o;
    if ((e = exchange_peer_get(r->db, r->a, &r->who->scope, id, &o)))
        return e;
    json_decref(o);
    json_t *b = json_object();
    json_set_id(b, "id", id);
    arena_on_free(r->a, free_json, b);
    r->body = b;
    return job_offload(r, run, NULL);
}

static err test(struct req *r)
{
    return offload_call(r, run_test);
}

static err flush(struct req *r)
{
    return offload_call(r, run_flush);
}

const struct route exchange_peer_routes[] = {
    {M_GET, "/api/v1/exchange/peers", list, PERM_EXCHANGE_ADMIN, 0, NULL,
     "对接系统列表（含最近成功、最近失败及原因、待发积压）", "exchange", 0},
    {M_POST, "/api/v1/exchange/peers", create, PERM_EXCHANGE_ADMIN, 0, exchange_peer_fields,
     "登记对接系统", "exchange", 64 * 1024},
    {M_GET, "/api/v1/exchange/peers/{id}", get, PERM_EXCHANGE_ADMIN, 0, NULL,
     "对接系统详情（含各数据集推送进度、最近拒收记录）", "exchange", 0},
    {M_PATCH, "/api/v1/exchange/peers/{id}", update, PERM_EXCHANGE_ADMIN, 0, exchange_peer_fields,
     "修改对接系统", "exchange", 64 * 1024},
    {M_DELETE, "/api/v1/exchange/peers/{id}", delete, PERM_EXCHANGE_ADMIN, 0, NULL, "删除对接系统",
     "exchange", 0},
    {M_POST, "/api/v1/exchange/peers/{id}/test", test, PERM_EXCHANGE_ADMIN, 0, NULL,
     "测试连接：向对接系统发送签名的 ping 并校验应答签名", "exchange", 0},
    {M_POST, "/api/v1/exchange/peers/{id}/flush", flush, PERM_EXCHANGE_ADMIN, 0, NULL,
     "立即推送该对接系统的待发数据（不等退避）", "exchange", 0},
};
const size_t exchange_peer_routes_n = sizeof exchange_peer_routes / sizeof exchange_peer_routes[0];

/*
 * HTTP handlers of the data exchange (exchange.h; docs/exchange.md):
 *
 * The signed front, one route per registered operation (exchange_routes,
 * built when every operation is registered): ROUTE_PUBLIC | ROUTE_RAW_BODY,
 * as the signature stands for the session and covers the body's bytes
 * exactly as sent. The handler only copies the request into an
 * exchange_request and the exchange_response into the reply.
 *
 *   <method> /exchange/v1/<operation path>   exchange_handle
 *   GET      /exchange/v1/server-key          the server's public key (PEM in JSON),
 *                                             itself signed (nonce "")
 *
 * The registry of callers (security administrator, exchange.admin), every
 * write audited with the write:
 *
 *   GET    /api/v1/exchange/callers                    q, state, page, page_size, format=csv
 *   POST   /api/v1/exchange/callers                    register; the private key once
 *   GET    /api/v1/exchange/callers/{id}               with its keys
 *   PATCH  /api/v1/exchange/callers/{id}
 *   DELETE /api/v1/exchange/callers/{id}               disabled for good, keys revoked
 *   POST   /api/v1/exchange/callers/{id}/suspend       {reason?}
 *   POST   /api/v1/exchange/callers/{id}/resume
 *   POST   /api/v1/exchange/callers/{id}/rotate        {overlap_days?}; the new private key once
 *   POST   /api/v1/exchange/callers/{id}/keys/{key}/revoke
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/time.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "exchange/soap.h"
#include "http/write.h"
#include "job/worker.h"
#include "security/audit.h"

/* 1,000 records of up to 16 KiB each: a full batch always fits, so the
 * record count, not the byte limit, is what refuses a batch (413
 * batch_too_large with its field). */
#define EXCHANGE_MAX_BODY (16u << 20)
#define CALLER_EXPORT_MAX 10000

/* ---- the signed front ------------------------------------------------------------- */

static const char *method_name(enum http_method m)
{
    switch (m) {
    case M_GET:
        return "GET";
    case M_POST:
        return "POST";
    case M_PUT:
        return "PUT";
    case M_PATCH:
        return "PATCH";
    case M_DELETE:
        return "DELETE";
    }
    return "";
}

static err send(struct req *r, const struct exchange_response *rs)
{
    err e;
    if ((e = req_reply_header(r, EXCHANGE_H_TIMESTAMP, arena_strdup(r->a, rs->timestamp))) ||
        (e = req_reply_header(r, EXCHANGE_H_SIGNATURE, arena_strdup(r->a, rs->signature))) ||
        (rs->replayed && (e = req_reply_header(r, "Idempotency-Replayed", "true"))))
        return e;
    return reply_bytes(r, rs->status, "application/json; charset=utf-8", rs->body, rs->body_len);
}

/* ---- the writer: signed writes off the event loops ----------------------------- */

static struct job_worker *writer;

/* A write waiting for the writer: copies of the request (its arena is
 * gone by the time the writer runs it). */
struct write_task {
    struct http_deferred *df;
    struct exchange_request rq;
    int soap; /* 0: the JSON front; else the envelope's enum soap_version */
    const struct exchange_op *op;
    char *copies[10];
};

static const char *keep(struct write_task *t, int i, const void *p, size_t n)
{
    if (!p)
        return NULL;
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    t->copies[i] = c;
    return c;
}

static void write_task_free(void *arg)
{
    struct write_task *t = arg;
    for (size_t i = 0; i < sizeof t->copies / sizeof *t->copies; i++)
        free(t->copies[i]);
    free(t);
}

/* An unsigned 500, as any reply the server cannot build. */
static void reply_nomem(struct http_deferred *df)
{
    int status;
    size_t len;
    char *text = http_error_text(err_set(E_NOMEM, NULL, NULL, NULL), &status, &len);
    http_deferred_reply(df, status, "application/json; charset=utf-8", text, len);
}

/* The answer of a SOAP write: the envelope carries the signature. */
static void reply_soap(struct write_task *t, arena *a, const struct exchange_response *rs)
{
    char *xml, *copy;
    size_t len;
    int hs;
    if (soap_answer(a, (enum soap_version)t->soap, t->op, rs, &xml, &len, &hs) ||
        !(copy = malloc(len ? len : 1))) {
        reply_nomem(t->df);
        return;
    }
    memcpy(copy, xml, len);
    http_deferred_reply(t->df, hs, soap_content_type((enum soap_version)t->soap), copy, len);
}

static void write_task_run(db *d, void *arg)
{
    struct write_task *t = arg;
    /* the writer thread runs outside the request: no request arena to take,
     * so the task's own, freed once the answer is copied out */
    arena *a = arena_new(0);
    struct exchange_response rs = {0};
    char *body = NULL;
    if (a)
        exchange_handle(d, a, &t->rq, &rs);
    if (a && t->soap)
        reply_soap(t, a, &rs);
    else if (!a || !(body = malloc(rs.body_len ? rs.body_len : 1)) ||
             !http_deferred_header(t->df, EXCHANGE_H_TIMESTAMP, rs.timestamp) ||
             !http_deferred_header(t->df, EXCHANGE_H_SIGNATURE, rs.signature) ||
             (rs.replayed && !http_deferred_header(t->df, "Idempotency-Replayed", "true"))) {
        free(body);
        reply_nomem(t->df);
    } else {
        if (rs.body_len)
            memcpy(body, rs.body, rs.body_len);
        http_deferred_reply(t->df, rs.status, "application/json; charset=utf-8", body, rs.body_len);
    }
    err_clear();
    arena_free(&a);
}

err exchange_writer_submit(struct req *r, const struct exchange_request *rq, int soap,
                           const struct exchange_op *op)
{
    if (!writer)
        return E_UNAVAILABLE;
    struct write_task *t = calloc(1, sizeof *t);
    if (!t)
        return E_NOMEM;
    t->rq = *rq;
    t->soap = soap;
    t->op = op;
    const char *s[] = {rq->path,  rq->query,     rq->caller,          rq->timestamp,
                       rq->nonce, rq->signature, rq->idempotency_key, rq->ip};
    const char **dst[] = {&t->rq.path,  &t->rq.query,     &t->rq.caller,          &t->rq.timestamp,
                          &t->rq.nonce, &t->rq.signature, &t->rq.idempotency_key, &t->rq.ip};
    bool ok = true;
    for (int i = 0; i < 8; i++)
        if (s[i] && !(*dst[i] = keep(t, i, s[i], strlen(s[i]))))
            ok = false;
    if (rq->body && !(t->rq.body = keep(t, 8, rq->body, rq->body_len)))
        ok = false;
    if (!ok || !(t->df = req_defer(r))) {
        write_task_free(t);
        return E_NOMEM;
    }
    if (job_worker_submit(writer, r->db, write_task_run, write_task_free, t)) {
        req_undefer(r, t->df);
        write_task_free(t);
        return E_UNAVAILABLE;
    }
    return E_OK;
}

static void writer_drain(void)
{
    job_worker_stop(&writer); /* the queued writes run first: their callers get answers */
}

err exchange_writer_start(const char *db_url)
{
    static const struct job_worker_opts o = {.name = "fk-exchange", .queue_max = 64};
    err e = job_worker_start(&o, db_url, &writer);
    if (!e && (e = http_on_stop(writer_drain)))
        writer_drain();
    return e;
}

void exchange_writer_stop(void)
{
    writer_drain();
}

static err front(struct req *r)
{
    const char *path, *query;
    req_raw_uri(r, &path, &query);
    size_t n = 0;
    const char *body = req_raw_body(r, &n);
    struct exchange_request rq = {
        .front = "http",
        .method = method_name(r->method),
        .path = path ? path : r->path,
        .query = query,
        .body = body,
        .body_len = body ? n : 0,
        .caller = req_header(r, EXCHANGE_H_CALLER),
        .timestamp = req_header(r, EXCHANGE_H_TIMESTAMP),
        .nonce = req_header(r, EXCHANGE_H_NONCE),
        .signature = req_header(r, EXCHANGE_H_SIGNATURE),
        .idempotency_key = req_header(r, EXCHANGE_H_IDEMPOTENCY),
        .ip = r->ip,
    };
    const struct exchange_op *op = exchange_op_find(rq.method, rq.path);
    if (op && (op->write || op->offload) && exchange_writer_submit(r, &rq, 0, op) == E_OK)
        return E_OK; /* answered by the writer */
    struct exchange_response rs;
    exchange_handle(r->db, r->a, &rq, &rs);
    return send(r, &rs);
}

/* The public key callers verify answers with: no signature asked (it is
 * public), the answer signed like every other. */
static err get_server_key(struct req *r)
{
    char *pem;
    err e = exchange_server_public_pem(r->db, r->a, &pem);
    if (e)
        return e;
    json_t *o = json_pack("{s:s,s:s}", "algorithm", "SM2-SM3", "public_key_pem", pem);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct exchange_response rs = {.status = 200};
    rs.body = arena_strdup(r->a, text);
    rs.body_len = strlen(text);
    free(text);
    snprintf(rs.timestamp, sizeof rs.timestamp, "%lld", (long long)now_ms());
    char *canon;
    size_t clen;
    if ((e = exchange_canonical_reply(r->a, 200, rs.body, rs.body_len, "", rs.timestamp, &canon,
                                      &clen)) ||
        (e = exchange_server_sign(r->db, canon, clen, rs.signature, sizeof rs.signature)))
        return e;
    return send(r, &rs);
}

static struct route front_routes[96 + 1];

static const struct route key_route = {M_GET,
                                       "/exchange/v1/server-key",
                                       get_server_key,
                                       PERM_NONE,
                                       ROUTE_PUBLIC,
                                       NULL,
                                       "服务端 SM2 公钥（用于验证应答签名）",
                                       "exchange",
                                       0};

err exchange_front_routes(void)
{
    size_t n;
    const struct exchange_op *const *ops = exchange_ops_all(&n);
    if (n + 1 > sizeof front_routes / sizeof front_routes[0])
        return err_set(E_INTERNAL, "too_many_operations", NULL, "数据交换接口过多");
    front_routes[0] = key_route;
    for (size_t i = 0; i < n; i++) {
        enum http_method m = !strcmp(ops[i]->method, "GET")    ? M_GET
                             : !strcmp(ops[i]->method, "PUT")  ? M_PUT
                             : !strcmp(ops[i]->method, "POST") ? M_POST
                                                               : 0;
        if (!m)
            return err_set(E_INTERNAL, "invalid_operation", NULL, "数据交换接口方法无效：%s",
                           ops[i]->name);
        front_routes[i + 1] = (struct route){
            m,    ops[i]->path,    front,      PERM_NONE,        ROUTE_PUBLIC | ROUTE_RAW_BODY,
            NULL, ops[i]->summary, "exchange", EXCHANGE_MAX_BODY};
    }
    return router_add(front_routes, n + 1);
}

/* ---- the registry of callers ---------------------------------------------------------- */

static const struct jfield caller_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, EXCHANGE_NAME_MAX, "名称", NULL, NULL},
    {"organisation", J_STRING, JF_REQUIRED, 1, EXCHANGE_NAME_MAX, "单位", NULL, NULL},
    {"contact_name", J_STRING, JF_REQUIRED, 1, 32, "联系人", NULL, NULL},
    {"contact_phone", J_STRING, JF_REQUIRED, 5, 20, "联系电话", NULL, NULL},
    {"regions", J_ARRAY, JF_REQUIRED, 0, 0, "授权区划（区划代码列表）", NULL, NULL},
    {"read", J_ARRAY, JF_REQUIRED, 0, 0, "可读数据集", NULL, NULL},
    {"write", J_ARRAY, JF_REQUIRED, 0, 0, "可写数据集", NULL, NULL},
    {"rate_per_min", J_INT, 0, 1, EXCHANGE_RATE_MAX, "调用频率上限（次/分钟）", NULL, NULL},
    {"expires_at", J_INT, JF_NULLABLE, 0, 0, "有效期至（毫秒时间戳）", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield suspend_body[] = {
    {"reason", J_STRING, 0, 0, 100, "暂停原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield rotate_body[] = {
    {"overlap_days", J_INT, 0, 0, EXCHANGE_OVERLAP_MAX, "旧密钥过渡期（天）", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const char *cn_time(arena *a, int64_t ms)
{
    if (!ms)
        return "";
    char *t = arena_alloc(a, CHINA_TIME_LEN);
    if (t)
        china_time(ms, t);
    return t ? t : "";
}

static void csv_names(struct csv_out *c, arena *a, json_t *arr)
{
    size_t i;
    json_t *v;
    const char *out = "";
    json_array_foreach(arr, i, v)
    {
        out = i ? arena_printf(a, "%s、%s", out, json_string_value(v)) : json_string_value(v);
    }
    csv_text(c, out);
}

static err callers_csv(struct req *r, struct exchange_caller_filter *f)
{
    f->page = 1;
    f->page_size = CALLER_EXPORT_MAX;
    json_t *items;
    int64_t total;
    err e = exchange_caller_list(r->db, r->a, r->who, f, &items, &total);
    if (e)
        return e;
    if (total > CALLER_EXPORT_MAX) {
        json_decref(items);
        return err_set(E_INPUT, "export_too_large", NULL,
                       "导出记录超过%d条，请缩小查询范围后再导出", CALLER_EXPORT_MAX);
    }
    struct csv_out c;
    reply_csv_begin(r, &c);
    static const char *const head[] = {
        "名称",     "单位",       "联系人",     "联系电话",
        "授权区划", "可读数据集", "可写数据集", "频率上限（次/分钟）",
        "状态",     "有效期至",   "登记时间"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        csv_text(&c, head[i]);
    csv_row_end(&c);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        csv_text(&c, json_str(o, "name"));
        csv_text(&c, json_str(o, "organisation"));
        csv_text(&c, json_str(o, "contact_name"));
        csv_text(&c, json_str(o, "contact_phone"));
        csv_names(&c, r->a, json_object_get(o, "regions"));
        csv_names(&c, r->a, json_object_get(o, "read"));
        csv_names(&c, r->a, json_object_get(o, "write"));
        csv_int(&c, json_int(o, "rate_per_min", 0));
        const char *st = json_str(o, "state");
        csv_text(&c, json_bool(o, "expired", false) ? "已过期"
                     : !strcmp(st, "suspended")     ? "已暂停"
                                                    : "正常");
        csv_text(&c, cn_time(r->a, json_int(o, "expires_at", 0)));
        csv_text(&c, cn_time(r->a, json_int(o, "created_at", 0)));
        csv_row_end(&c);
    }
    json_decref(items);
    req_audit(r, "exchange.caller.list", "exchange_caller", 0, "ok",
              arena_printf(r->a, "format=csv count=%zu", i));
    return reply_csv(r, &c, "exchange-callers.csv");
}

static err get_callers(struct req *r)
{
    struct exchange_caller_filter f = {.q = req_query(r, "q"), .state = req_query(r, "state")};
    if (f.state && *f.state && strcmp(f.state, "active") && strcmp(f.state, "suspended") &&
        strcmp(f.state, "expired"))
        return err_set(E_INPUT, "invalid_parameter", "state",
                       "state 应为 active、suspended 或 expired");
    if (f.q && strlen(f.q) > 64)
        return err_set(E_INPUT, "too_long", "q", "搜索内容过长");
    const char *format = req_query(r, "format");
    bool csv = format && !strcmp(format, "csv");
    if (format && !csv && strcmp(format, "json"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 json 或 csv");
    if (csv)
        return callers_csv(r, &f);
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    json_t *items;
    int64_t total;
    if ((e = exchange_caller_list(r->db, r->a, r->who, &f, &items, &total)))
        return e;
    req_audit(r, "exchange.caller.list", "exchange_caller", 0, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static err caller_reply(struct req *r, int status, int64_t id, const char *priv, int64_t key_id)
{
    json_t *o;
    err e = exchange_caller_get(r->db, r->a, r->who, id, &o);
    if (e)
        return e;
    if (priv) {
        /* shown once: the server keeps only the public half */
        json_object_set_new(o, "private_key_pem", json_string(priv));
        json_set_id(o, "key_id", key_id);
    }
    return reply_json(r, status, o);
}

static err post_caller(struct req *r)
{
    struct exchange_caller_input in;
    err e = exchange_caller_parse(r->body, false, &in);
    if (e)
        return e;
    int64_t id = 0;
    char *priv = NULL;
    db_hold(r->db);
    e = exchange_caller_create(r->db, r->a, r->who, &in, &id, &priv);
    if ((e = req_write_done(r, e, "exchange.caller.create", "exchange_caller", id,
                            req_body_fields(r))))
        return e;
    return caller_reply(r, 201, id, priv, 0);
}

static err get_caller(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    json_t *o;
    if ((e = exchange_caller_get(r->db, r->a, r->who, id, &o)))
        return audit_refusal(r->db, r->who, r->ip, "exchange.caller.read", "exchange_caller", id, e,
                             NULL);
    req_audit(r, "exchange.caller.read", "exchange_caller", id, "ok", NULL);
    return reply_json(r, 200, o);
}

static err patch_caller(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    struct exchange_caller_input in;
    if ((e = exchange_caller_parse(r->body, true, &in)))
        return e;
    db_hold(r->db);
    e = exchange_caller_update(r->db, r->a, r->who, id, &in);
    if ((e = req_write_done(r, e, "exchange.caller.update", "exchange_caller", id,
                            req_body_fields(r))))
        return e;
    return caller_reply(r, 200, id, NULL, 0);
}

static err delete_caller(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    e = exchange_caller_delete(r->db, r->a, r->who, id);
    if ((e = req_write_done(r, e, "exchange.caller.delete", "exchange_caller", id, NULL)))
        return e;
    return reply_empty(r);
}

static err set_state(struct req *r, bool suspended)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    const char *reason = r->body ? json_str(r->body, "reason") : NULL;
    db_hold(r->db);
    e = exchange_caller_set_state(r->db, r->who, id, suspended, reason);
    if ((e = req_write_done(r, e, suspended ? "exchange.caller.suspend" : "exchange.caller.resume",
                            "exchange_caller", id, NULL)))
        return e;
    return caller_reply(r, 200, id, NULL, 0);
}

static err post_suspend(struct req *r)
{
    return set_state(r, true);
}

static err post_resume(struct req *r)
{
    return set_state(r, false);
}

static err post_rotate(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    int overlap = (int)(r->body ? json_int(r->body, "overlap_days", EXCHANGE_OVERLAP_DAYS)
                                : EXCHANGE_OVERLAP_DAYS);
    int64_t key_id = 0;
    char *priv = NULL;
    db_hold(r->db);
    e = exchange_caller_rotate(r->db, r->a, r->who, id, overlap, &key_id, &priv);
    if ((e = req_write_done(r, e, "exchange.caller.rotate", "exchange_caller", id,
                            arena_printf(r->a, "overlap_days=%d", overlap))))
        return e;
    return caller_reply(r, 200, id, priv, key_id);
}

static err post_revoke(struct req *r)
{
    int64_t id, key_id;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_param_id(r, 1, &key_id)))
        return e;
    db_hold(r->db);
    e = exchange_caller_revoke_key(r->db, r->who, id, key_id);
    if ((e = req_write_done(r, e, "exchange.caller.revoke_key", "exchange_caller", id,
                            arena_printf(r->a, "key=%lld", (long long)key_id))))
        return e;
    return caller_reply(r, 200, id, NULL, 0);
}

const struct route exchange_routes[] = {
    {M_GET, "/api/v1/exchange/callers", get_callers, PERM_EXCHANGE_ADMIN, 0, NULL,
     "数据交换调用方列表（q、state 筛选，分页，format=csv 导出）", "exchange", 0},
    {M_POST, "/api/v1/exchange/callers", post_caller, PERM_EXCHANGE_ADMIN, ROUTE_BODY_LATE,
     caller_body, "登记调用方（生成 SM2 密钥对，私钥仅在此应答中出现一次）", "exchange", 0},
    {M_GET, "/api/v1/exchange/callers/{id}", get_caller, PERM_EXCHANGE_ADMIN, 0, NULL,
     "调用方详情及其密钥", "exchange", 0},
    {M_PATCH, "/api/v1/exchange/callers/{id}", patch_caller, PERM_EXCHANGE_ADMIN, ROUTE_BODY_LATE,
     caller_body, "修改调用方", "exchange", 0},
    {M_DELETE, "/api/v1/exchange/callers/{id}", delete_caller, PERM_EXCHANGE_ADMIN, 0, NULL,
     "删除调用方（停用，密钥全部吊销）", "exchange", 0},
    {M_POST, "/api/v1/exchange/callers/{id}/suspend", post_suspend, PERM_EXCHANGE_ADMIN, 0,
     suspend_body, "暂停调用方", "exchange", 0},
    {M_POST, "/api/v1/exchange/callers/{id}/resume", post_resume, PERM_EXCHANGE_ADMIN, 0, NULL,
     "恢复调用方", "exchange", 0},
    {M_POST, "/api/v1/exchange/callers/{id}/rotate", post_rotate, PERM_EXCHANGE_ADMIN, 0,
     rotate_body, "轮换密钥（新私钥仅在此应答中出现一次；旧密钥在过渡期内仍有效）", "exchange", 0},
    {M_POST, "/api/v1/exchange/callers/{id}/keys/{key_id}/revoke", post_revoke, PERM_EXCHANGE_ADMIN,
     0, NULL, "立即吊销密钥", "exchange", 0},
};
const size_t exchange_routes_n = sizeof exchange_routes / sizeof exchange_routes[0];

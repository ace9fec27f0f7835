/*
 * Peers and signed calls to them (contracts in exchange/peer.h and
 * exchange.h "calling peers"). A call is signed like any caller's
 * (exchange_canonical), with the key uploaded for the peer or the
 * server's own key, and its answer must carry the peer's signature over
 * exchange_canonical_reply bound to our nonce: an unsigned or forged
 * answer (a proxy's error page, a man in the middle) is never taken for
 * the peer's word.
 */
#include "exchange/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/log.h"
#include "http/client.h"

static const struct vocab_word kind_words[] = {
    {"fangkong", "防控平台（上级或同级）"},
    {"gov", "政务服务平台"},
    {"police", "公安"},
    {"platform", "其他疫情平台"},
    {"urban", "数字城管"},
    {"telecom", "运营商"},
    {"situation", "疫情数据源"},
};
const struct vocab exchange_peer_kind_vocab =
    VOCAB("exchange_peer_kinds", "对接系统类型", kind_words);

#define L_PEER_KEY "exchange_peers.key"

#define SELECT_PEER                                                                                \
    "SELECT id, name, kind, base_url, caller, key_enc, peer_key, ca_file, timeout_s, enabled, "    \
    "datasets, region_code, fail_after_s, stale_after_s FROM exchange_peers "

static err peer_not_found(void)
{
    return err_set(E_NOT_FOUND, "peer_not_found", NULL, "对接系统不存在");
}

/* The unsealed private key does not outlive its arena in memory. */
static void wipe_text(void *p)
{
    explicit_bzero(p, strlen(p));
}

static err read_peer(arena *a, db_stmt *s, struct exchange_peer **p_r)
{
    struct exchange_peer *p = arena_zalloc(a, sizeof *p);
    if (!p)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    p->id = db_col_int64(s, 0);
    snprintf(p->name, sizeof p->name, "%s", db_col_text(s, 1));
    snprintf(p->kind, sizeof p->kind, "%s", db_col_text(s, 2));
    p->base_url = arena_strdup(a, db_col_text(s, 3));
    p->caller = arena_strdup(a, db_col_text(s, 4));
    const char *key = NULL;
    err e = db_col_null(s, 5) ? E_OK : unseal_col(a, s, 5, L_PEER_KEY, &key);
    if (e)
        return e;
    p->key_pem = key && *key ? key : NULL;
    if (p->key_pem)
        arena_on_free(a, wipe_text, (void *)p->key_pem);
    p->peer_key = arena_strdup(a, db_col_text(s, 6));
    p->ca_file =
        db_col_null(s, 7) || !*db_col_text(s, 7) ? NULL : arena_strdup(a, db_col_text(s, 7));
    p->timeout_s = (int)db_col_int64(s, 8);
    p->enabled = db_col_int64(s, 9) != 0;
    p->datasets = (uint32_t)db_col_int64(s, 10);
    p->region_code = db_col_int64(s, 11);
    p->fail_after_s = (int)db_col_int64(s, 12);
    p->stale_after_s = (int)db_col_int64(s, 13);
    p->front = "connector";
    if (!p->base_url || !p->caller || !p->peer_key)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    *p_r = p;
    return E_OK;
}

/* Run a loader's statement (its parameter already bound) for one row. */
static err load_one(arena *a, db_stmt *s, struct exchange_peer **p_r)
{
    bool row;
    err e = db_row(s, &row);
    if (!e && !row)
        e = peer_not_found();
    if (!e)
        e = read_peer(a, s, p_r);
    db_done(s);
    return e;
}

err exchange_peer_load(db *d, arena *a, int64_t id, struct exchange_peer **p_r)
{
    db_stmt *s;
    err e = db_prepare(d, SELECT_PEER "WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    return load_one(a, s, p_r);
}

err exchange_peer_named(db *d, arena *a, const char *name, struct exchange_peer **p_r)
{
    db_stmt *s;
    err e = db_prepare(d, SELECT_PEER "WHERE name = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    return load_one(a, s, p_r);
}

err exchange_peer_of_kind(db *d, arena *a, const char *kind, struct exchange_peer **p_r)
{
    db_stmt *s;
    err e = db_prepare(d, SELECT_PEER "WHERE kind = ? AND enabled = 1 ORDER BY id LIMIT 1", &s);
    if (e)
        return e;
    db_bind_text(s, 1, kind);
    return load_one(a, s, p_r);
}

err exchange_peer_mark(db *d, int64_t peer_id, bool ok, const char *reason)
{
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       ok ? "UPDATE exchange_peers SET last_ok_at = ?, failing_since = 0, "
                            "fail_alerted = 0 WHERE id = ?"
                          : "UPDATE exchange_peers SET last_fail_at = ?, last_error = ?, "
                            "failing_since = CASE WHEN failing_since = 0 THEN ? "
                            "ELSE failing_since END WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    if (ok) {
        db_bind_int64(s, 2, peer_id);
    } else {
        char cut[400];
        snprintf(cut, sizeof cut, "%s", reason ? reason : "");
        db_bind_text(s, 2, cut);
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, peer_id);
    }
    return db_run(s, NULL);
}

/* Sign text with the peer's uploaded key, or the server's own. */
static err sign_text(db *d, const struct exchange_peer *p, const char *text, size_t len,
                     char *sig_b64, size_t cap)
{
    if (!p->key_pem) /* the server's own key: the peer knows our public PEM */
        return exchange_server_sign(d, text, len, sig_b64, cap);
    sm2_key *k;
    err e = sm2_key_parse(p->key_pem, strlen(p->key_pem), true, &k);
    if (e)
        return e;
    uint8_t sig[SM2_SIG_MAX];
    size_t n = 0;
    e = sm2_sign(k, text, len, sig, &n);
    sm2_key_free(k);
    if (e)
        return e;
    if (cap < 4 * ((n + 2) / 3) + 1)
        return err_set(E_INTERNAL, "signature_buffer", NULL, "内部错误");
    base64_encode(sig, n, sig_b64);
    return E_OK;
}

/* Does the answer carry the peer's signature over (status, body, our
 * nonce, its timestamp)? */
static bool reply_verifies(arena *a, const struct exchange_peer *p,
                           const struct http_client_response *rs, const char *nonce)
{
    const char *sig = http_client_header(rs, EXCHANGE_H_SIGNATURE);
    const char *ts = http_client_header(rs, EXCHANGE_H_TIMESTAMP);
    if (!sig || !ts || !*sig || !*ts)
        return false;
    uint8_t der[SM2_SIG_MAX + 8];
    size_t n = 0;
    if (!base64_decode(sig, strlen(sig), der, sizeof der, &n) || !n)
        return false;
    char *text;
    size_t len;
    if (exchange_canonical_reply(a, rs->status, rs->body, rs->len, nonce, ts, &text, &len))
        return false;
    sm2_key *k;
    if (sm2_key_parse(p->peer_key, strlen(p->peer_key), false, &k))
        return false;
    bool ok = sm2_verify(k, text, len, der, n);
    sm2_key_free(k);
    return ok;
}

/* The operation label of a call for the metrics: "<dataset or segment>.<method>",
 * from /exchange/v1/<seg>[/...]; and its dataset. Ids in paths never become
 * labels. */
static const char *op_label(arena *a, const char *method, const char *path, int *dataset_r)
{
    *dataset_r = -1;
    const char *pre = "/exchange/v1/";
    const char *p = strstr(path, pre);
    const char *seg = p ? p + strlen(pre) : path + (*path == '/');
    size_t n = strcspn(seg, "/?");
    char *name = arena_strndup(a, seg, n);
    if (!name)
        return "";
    *dataset_r = exchange_dataset_of(name);
    char m[8];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)(method[i] | 0x20);
    m[i] = '\0';
    return arena_printf(a, "%s.%s", n ? name : "root", m);
}

/* An answer's reason for the operator: "HTTP 503：<the peer's message>". */
static const char *answer_reason(arena *a, int status, const char *body)
{
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    json_t *eo = j ? json_object_get(j, "error") : NULL;
    const char *msg = eo ? json_string_value(json_object_get(eo, "message")) : NULL;
    const char *code = eo ? json_string_value(json_object_get(eo, "code")) : NULL;
    char *r = arena_printf(a, "对方返回 HTTP %d%s%s%s%s", status, code ? "：" : "",
                           code ? code : "", msg ? " " : "", msg ? msg : "");
    json_decref(j);
    return r ? r : "";
}

/* Statuses that say the peer is not working for us (down, overloaded, or
 * refusing our identity): the others are the peer's answer to this call. */
static bool status_failing(int status)
{
    return status >= 500 || status == 401 || status == 403 || status == 407 || status == 429 ||
           status < 100;
}

err exchange_peer_call(db *d, arena *a, const struct exchange_peer *p, const char *method,
                       const char *path_query, const char *body, const char *idempotency_key,
                       struct exchange_peer_reply *reply_r)
{
    memset(reply_r, 0, sizeof *reply_r);
    int64_t t0 = (int64_t)mono_us();
    /* what the peer sees as the path: the base URL's own path prefix too */
    const char *after = strstr(p->base_url, "://");
    const char *prefix = after ? strchr(after + 3, '/') : NULL;
    const char *q = strchr(path_query, '?');
    char *path = arena_printf(a, "%s%.*s", prefix ? prefix : "",
                              (int)(q ? (size_t)(q - path_query) : strlen(path_query)), path_query);
    char *url = arena_printf(a, "%s%s", p->base_url, path_query);
    if (!path || !url)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    int dataset;
    const char *op = op_label(a, method, path_query, &dataset);

    char ts[24], nonce[33];
    snprintf(ts, sizeof ts, "%lld", (long long)now_ms());
    uint8_t rnd[16];
    err e = random_bytes(rnd, sizeof rnd);
    if (e)
        return e;
    hex_encode(rnd, sizeof rnd, nonce);
    size_t blen = body ? strlen(body) : 0;
    char *text;
    size_t tlen;
    char sig[4 * ((SM2_SIG_MAX + 2) / 3) + 1];
    if ((e = exchange_canonical(a, method, path, q ? q + 1 : "", body, blen, p->caller, ts, nonce,
                                &text, &tlen)) ||
        (e = sign_text(d, p, text, tlen, sig, sizeof sig))) {
        struct exchange_call_record rec = {.front = p->front,
                                           .outbound = true,
                                           .peer = p->name,
                                           .op = op,
                                           .dataset = dataset,
                                           .status = 0,
                                           .result = err_last()->slug,
                                           .records = p->call_records,
                                           .latency_us = (int64_t)mono_us() - t0};
        exchange_record_call(&rec);
        return e;
    }

    struct http_header hs[7];
    size_t nh = 0;
    hs[nh++] = (struct http_header){"Accept", "application/json"};
    if (body)
        hs[nh++] = (struct http_header){"Content-Type", "application/json; charset=utf-8"};
    hs[nh++] = (struct http_header){EXCHANGE_H_CALLER, p->caller};
    hs[nh++] = (struct http_header){EXCHANGE_H_TIMESTAMP, ts};
    hs[nh++] = (struct http_header){EXCHANGE_H_NONCE, nonce};
    hs[nh++] = (struct http_header){EXCHANGE_H_SIGNATURE, sig};
    if (idempotency_key)
        hs[nh++] = (struct http_header){EXCHANGE_H_IDEMPOTENCY, idempotency_key};
    struct http_client_request rq = {.method = method,
                                     .url = url,
                                     .headers = hs,
                                     .nheaders = nh,
                                     .body = body,
                                     .body_len = blen,
                                     .timeout_s = p->timeout_s,
                                     .ca_file = p->ca_file};
    struct http_client_response rs;
    err ce = http_client_call(a, &rq, &rs);
    const char *result = "ok", *reason = NULL;
    bool failing;
    if (ce) {
        /* copied: err_set below rewrites the detail it points into */
        const char *why = arena_strdup(a, err_last()->message);
        reason = why ? why : "";
        why = reason;
        failing = true;
        result = ce == E_INPUT ? "invalid_url" : "peer_unreachable";
        e = ce == E_INPUT ? err_set(E_INPUT, "invalid_url", "base_url", "%s", why)
                          : err_set(E_UNAVAILABLE, "peer_unreachable", NULL, "%s", why);
    } else {
        reply_r->status = rs.status;
        reply_r->body = rs.body;
        reply_r->len = rs.len;
        reply_r->verified = reply_verifies(a, p, &rs, nonce);
        if (!reply_r->verified) {
            failing = true;
            result = "peer_signature_invalid";
            reason = arena_printf(a, "对方应答签名无效（HTTP %d）", rs.status);
            e = err_set(E_CRYPTO, "peer_signature_invalid", NULL, "对接系统应答的签名无效");
        } else {
            failing = status_failing(rs.status);
            if (rs.status < 200 || rs.status > 299) {
                json_t *j = json_loads(rs.body, 0, NULL);
                const char *code =
                    json_string_value(json_object_get(json_object_get(j, "error"), "code"));
                result = arena_strdup(a, code ? code : arena_printf(a, "http_%d", rs.status));
                json_decref(j);
            }
            if (failing)
                reason = answer_reason(a, rs.status, rs.body);
        }
    }
    struct exchange_call_record rec = {.front = p->front,
                                       .outbound = true,
                                       .peer = p->name,
                                       .op = op,
                                       .dataset = dataset,
                                       .status = reply_r->status,
                                       .result = result ? result : "",
                                       .records = p->call_records,
                                       .latency_us = (int64_t)mono_us() - t0};
    exchange_record_call(&rec);
    if (failing)
        log_event(LOG_WARN, "exchange_peer_failed", "peer", p->name, "result", rec.result, NULL);
    /* the state is for the console; losing it must not hide the call's outcome */
    struct err_detail keep = *err_last();
    if (exchange_peer_mark(d, p->id, !failing, reason))
        log_event(LOG_ERROR, "exchange_peer_mark_failed", "peer", p->name, NULL);
    if (e)
        return err_set(keep.code, keep.slug, *keep.field ? keep.field : NULL, "%s", keep.message);
    return E_OK;
}

/*
 * One signed call end to end (exchange_handle, contract in exchange.h), the
 * operation table, and the server's own key.
 *
 * Verification runs in a fixed order, each refusal with its own code and
 * none changing anything: the headers, the caller (known, active, not
 * expired), the timestamp window, the signature under one of the caller's
 * valid keys, then the nonce (remembered only once the signature holds,
 * so a forger cannot burn a caller's nonces), the rate limit, the
 * operation's dataset and region grants, the batch size and, on writes,
 * the idempotency key. A write runs in one transaction with its
 * idempotency row, so a repeated key replays the stored answer and two
 * concurrent duplicates never both run (the second insert waits for the
 * first's commit, then finds its row).
 *
 * Costs that matter per call (helper watch benches them): parsing a PEM
 * key. The server's key is parsed once per process; callers' public keys
 * are cached by key id (a key's PEM never changes), while whether a key is
 * still valid is read with the caller in the one statement every call
 * runs, so a revocation on any server is seen by the next call everywhere.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "http/http.h"
#include "security/audit.h"
#include "security/ratelimit.h"

/* ---- the operation table --------------------------------------------------------- */

#define OPS_MAX 96

/* Written before the server starts its threads, read-only afterwards. */
static const struct exchange_op *ops[OPS_MAX];
static size_t nops;

err exchange_ops_add(const struct exchange_op *table, size_t n)
{
    if (nops + n > OPS_MAX)
        return err_set(E_INTERNAL, "too_many_operations", NULL, "数据交换接口过多");
    for (size_t i = 0; i < n; i++) {
        if (exchange_op_named(table[i].name) || exchange_op_find(table[i].method, table[i].path))
            return err_set(E_INTERNAL, "duplicate_operation", NULL, "数据交换接口重复：%s",
                           table[i].name);
    }
    for (size_t i = 0; i < n; i++)
        ops[nops++] = &table[i];
    return E_OK;
}

const struct exchange_op *const *exchange_ops_all(size_t *n_r)
{
    *n_r = nops;
    return ops;
}

const struct exchange_op *exchange_op_find(const char *method, const char *path)
{
    for (size_t i = 0; method && path && i < nops; i++)
        if (!strcmp(ops[i]->method, method) && !strcmp(ops[i]->path, path))
            return ops[i];
    return NULL;
}

const struct exchange_op *exchange_op_named(const char *name)
{
    for (size_t i = 0; name && i < nops; i++)
        if (!strcmp(ops[i]->name, name))
            return ops[i];
    return NULL;
}

/* ---- settings -------------------------------------------------------------------- */

static int64_t env_num(const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v < min || v > max ? dflt : (int64_t)v;
}

int64_t exchange_skew_ms(void)
{
    return env_num("FK_EXCHANGE_SKEW_S", 300, 1, 86400) * 1000;
}

static int64_t bad_sig_max(void)
{
    return env_num("FK_EXCHANGE_BAD_SIG_MAX", 10, 1, 1000000);
}

/* ---- the server's key --------------------------------------------------------------- */

static pthread_mutex_t server_mu = PTHREAD_MUTEX_INITIALIZER;
static sm2_key *server_key; /* parsed once, shared read-only */
static char *server_pub;    /* malloc'd PEM */

/* Read the stored key, or store a new one (the first server wins: the
 * insert does nothing when another server stored its key meanwhile). */
static err server_key_load(db *d)
{
    /* the key outlives any request: not the caller's arena */
    arena *a = arena_new(0);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = E_OK;
    for (int attempt = 0; attempt < 2 && !server_key; attempt++) {
        db_stmt *s;
        if ((e = db_prepare(
                 d, "SELECT public_pem, private_enc FROM exchange_server_keys WHERE id = 1", &s)))
            break;
        bool row;
        const char *priv = NULL;
        if (!(e = db_row(s, &row)) && row) {
            server_pub = strdup(db_col_text(s, 0));
            e = unseal_col(a, s, 1, "exchange_server_keys.private", &priv);
        }
        db_done(s);
        if (e)
            break;
        if (row) {
            if (!server_pub)
                e = err_set(E_NOMEM, NULL, NULL, NULL);
            else
                e = sm2_key_parse(priv, strlen(priv), true, &server_key);
            break;
        }
        char *new_priv, *new_pub;
        if ((e = sm2_keygen(a, &new_priv, &new_pub)) ||
            (e = db_prepare(d,
                            "INSERT INTO exchange_server_keys (id, public_pem, private_enc, "
                            "created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                            &s)))
            break;
        db_bind_text(s, 1, new_pub);
        if ((e = seal_bind(a, s, 2, "exchange_server_keys.private", new_priv))) {
            db_done(s);
            break;
        }
        db_bind_int64(s, 3, now_ms());
        if ((e = db_run(s, NULL)))
            break;
        /* read back whichever key won */
    }
    arena_free(&a);
    if (e) {
        free(server_pub);
        server_pub = NULL;
    } else if (!server_key) {
        e = err_set(E_INTERNAL, "server_key_missing", NULL, NULL);
    }
    return e;
}

static err server_key_get(db *d, const sm2_key **k_r)
{
    pthread_mutex_lock(&server_mu);
    err e = server_key ? E_OK : server_key_load(d);
    pthread_mutex_unlock(&server_mu);
    *k_r = server_key;
    return e;
}

err exchange_server_sign(db *d, const void *msg, size_t n, char *sig_b64, size_t cap)
{
    const sm2_key *k;
    err e = server_key_get(d, &k);
    if (e)
        return e;
    uint8_t sig[SM2_SIG_MAX];
    size_t len;
    if ((e = sm2_sign(k, msg, n, sig, &len)))
        return e;
    if (cap < 4 * ((len + 2) / 3) + 1)
        return err_set(E_INTERNAL, "buffer_too_small", NULL, NULL);
    base64_encode(sig, len, sig_b64);
    return E_OK;
}

err exchange_server_public_pem(db *d, arena *a, char **pem_r)
{
    const sm2_key *k;
    err e = server_key_get(d, &k);
    if (e)
        return e;
    *pem_r = arena_strdup(a, server_pub);
    return *pem_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

/* ---- callers' public keys, cached by key id ------------------------------------------ */

#define KEY_SLOTS 256

static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t id;
    sm2_key *k;
} key_slots[KEY_SLOTS];

/* Verify with key id `id` (PEM pem), parsed once per process: a slot is
 * filled once and its key never freed while the process runs (a key's PEM
 * never changes, and a verification uses it outside the lock). A key whose
 * slot another key holds is parsed for the call and freed after it: a
 * cost, never a wrong answer. Validity is not cached: caller_load reads
 * it on every call. */
static bool verify_with(int64_t id, const char *pem, const void *msg, size_t n, const uint8_t *sig,
                        size_t siglen)
{
    size_t slot = (size_t)((uint64_t)id % KEY_SLOTS);
    pthread_mutex_lock(&keys_mu);
    sm2_key *k = key_slots[slot].id == id ? key_slots[slot].k : NULL;
    pthread_mutex_unlock(&keys_mu);
    bool mine = false;
    if (!k) {
        if (sm2_key_parse(pem, strlen(pem), false, &k)) {
            err_clear();
            return false;
        }
        pthread_mutex_lock(&keys_mu);
        if (!key_slots[slot].k) {
            key_slots[slot].id = id;
            key_slots[slot].k = k;
        } else {
            mine = true; /* the slot is taken: use this one once */
        }
        pthread_mutex_unlock(&keys_mu);
    }
    bool ok = sm2_verify(k, msg, n, sig, siglen);
    if (mine)
        sm2_key_free(k);
    return ok;
}

/* ---- loading the caller -------------------------------------------------------------- */

struct loaded {
    struct exchange_caller c;
    char state[16];
    int64_t expires_at, rate;
    int nkeys;
    int64_t key_ids[EXCHANGE_KEYS_MAX + 2];
    char *key_pems[EXCHANGE_KEYS_MAX + 2];
};

int exchange_regions_parse(const char *text, int64_t *out, int max)
{
    int n = 0;
    for (const char *p = text; p && *p && n < max;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        out[n++] = (int64_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* The caller `id` with its valid keys, in one statement. E_AUTH
 * "unknown_caller" when there is none (or it was deleted). */
static err caller_load(db *d, arena *a, int64_t id, int64_t now, struct loaded *l)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.user_id, c.name, c.regions, c.read_sets, c.write_sets, "
                       "c.rate_per_min, c.state, c.expires_at, k.id, k.public_pem, "
                       "c.read_regions "
                       "FROM exchange_callers c LEFT JOIN exchange_caller_keys k "
                       "ON k.caller_id = c.id AND k.revoked_at = 0 "
                       "AND (k.valid_until = 0 OR k.valid_until > ?) "
                       "WHERE c.id = ? AND c.state <> 'deleted' ORDER BY k.id DESC",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    *l = (struct loaded){.c.id = id};
    bool row, any = false;
    while (!(e = db_row(s, &row)) && row) {
        if (!any) {
            any = true;
            l->c.user_id = db_col_int64(s, 0);
            snprintf(l->c.name, sizeof l->c.name, "%s", db_col_text(s, 1));
            l->c.nregions =
                exchange_regions_parse(db_col_text(s, 2), l->c.regions, EXCHANGE_REGIONS_MAX);
            l->c.read_sets = (uint32_t)db_col_int64(s, 3);
            l->c.write_sets = (uint32_t)db_col_int64(s, 4);
            l->rate = db_col_int64(s, 5);
            snprintf(l->state, sizeof l->state, "%s", db_col_text(s, 6));
            l->expires_at = db_col_int64(s, 7);
            l->c.nread_regions =
                exchange_regions_parse(db_col_text(s, 10), l->c.read_regions, EXCHANGE_REGIONS_MAX);
        }
        if (!db_col_null(s, 8) && l->nkeys < (int)(sizeof l->key_ids / sizeof l->key_ids[0])) {
            l->key_ids[l->nkeys] = db_col_int64(s, 8);
            l->key_pems[l->nkeys] = arena_strdup(a, db_col_text(s, 9));
            l->nkeys++;
        }
    }
    db_done(s);
    if (e)
        return e;
    if (!any)
        return err_set(E_AUTH, "unknown_caller", EXCHANGE_H_CALLER, "调用方不存在");
    return E_OK;
}

/* ---- small helpers ------------------------------------------------------------------- */

bool exchange_timestamp_ok(const char *ts, int64_t now, int64_t skew_ms)
{
    /* decimal digits only: no sign, no spaces, no exponent, at most 15
     * digits (epoch ms until the year 33658) so the value never overflows */
    size_t n = strlen(ts);
    if (n == 0 || n > 15 || strspn(ts, "0123456789") != n)
        return false;
    int64_t v = strtoll(ts, NULL, 10);
    return v >= now - skew_ms && v <= now + skew_ms;
}

static bool nonce_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= EXCHANGE_NONCE_MIN && n <= EXCHANGE_NONCE_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool idem_key_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decode s[0..n) ('+' is a space, as forms send it) into a. */
static char *url_decode(arena *a, const char *s, size_t n)
{
    char *o = arena_alloc(a, n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            o[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    o[k] = '\0';
    return o;
}

err exchange_query_object(arena *a, const char *q, json_t **out_r)
{
    json_t *o = json_object();
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k = url_decode(a, p, klen);
        char *v = eq ? url_decode(a, eq + 1, len - klen - 1) : arena_strdup(a, "");
        if (!k || !v) {
            json_decref(o);
            return err_set(E_NOMEM, NULL, NULL, NULL);
        }
        if (*k) {
            json_t *js = json_string(v);
            if (!js || json_object_set_new(o, k, js)) {
                json_decref(o);
                return err_set(E_INPUT, "invalid_parameter", "query", "参数不是有效的 UTF-8 文本");
            }
        }
        p = amp ? amp + 1 : p + len;
    }
    *out_r = o;
    return E_OK;
}

/* ---- the answer ------------------------------------------------------------------- */

/* Fill rs with status and body (taken from text: copied into a) and the
 * server's signature over them, bound to the request's nonce. */
static void sign_reply(db *d, arena *a, const struct exchange_request *rq,
                       struct exchange_response *rs, int status, const char *body, size_t len)
{
    rs->status = status;
    rs->body = arena_alloc(a, len + 1);
    if (rs->body) {
        memcpy(rs->body, body, len);
        rs->body[len] = '\0';
        rs->body_len = len;
    } else {
        rs->body = "";
        rs->body_len = 0;
    }
    snprintf(rs->timestamp, sizeof rs->timestamp, "%lld", (long long)now_ms());
    const char *nonce = rq->nonce && nonce_ok(rq->nonce) ? rq->nonce : "";
    char *text;
    size_t tlen;
    rs->signature[0] = '\0';
    err e = exchange_canonical_reply(a, rs->status, rs->body, rs->body_len, nonce, rs->timestamp,
                                     &text, &tlen);
    if (!e)
        e = exchange_server_sign(d, text, tlen, rs->signature, sizeof rs->signature);
    if (e) {
        /* an answer that cannot be signed is not sent as if it were */
        log_event(LOG_ERROR, "exchange_reply_unsigned", "slug", err_last()->slug, NULL);
        static const char failed[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"服务器内部错误\"}}";
        rs->status = 500;
        rs->body = (char *)failed;
        rs->body_len = sizeof failed - 1;
        rs->signature[0] = '\0';
    }
}

static void reply_json_value(db *d, arena *a, const struct exchange_request *rq,
                             struct exchange_response *rs, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text) {
        static const char failed[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"服务器内部错误\"}}";
        sign_reply(d, a, rq, rs, 500, failed, sizeof failed - 1);
        return;
    }
    sign_reply(d, a, rq, rs, status, text, strlen(text));
    free(text);
}

static void reply_err(db *d, arena *a, const struct exchange_request *rq,
                      struct exchange_response *rs, err e)
{
    reply_json_value(d, a, rq, rs, http_status(e), http_error_body(e));
}

/* ---- refusals that count ------------------------------------------------------------ */

/* A bad signature of a known caller: the Nth within a minute suspends it
 * and raises ALERT_EXCHANGE_BAD_SIGNATURES at its first region. */
static void bad_signature(db *d, const struct loaded *l)
{
    char key[64];
    snprintf(key, sizeof key, "exchange_badsig:%lld", (long long)l->c.id);
    int64_t count = 0, max = bad_sig_max();
    err e = rate_limit_hit(d, key, 60000, &count);
    if (e || count != max) {
        if (e)
            log_event(LOG_ERROR, "exchange_badsig_count_failed", "slug", err_last()->slug, NULL);
        return;
    }
    char msg[160], detail[160];
    snprintf(msg, sizeof msg, "数据交换调用方“%.60s”1分钟内签名错误%lld次，疑似攻击，已暂停",
             l->c.name, (long long)max);
    snprintf(detail, sizeof detail, "{\"caller_id\":\"%lld\",\"bad_signatures\":%lld}",
             (long long)l->c.id, (long long)max);
    db_stmt *s;
    if (!(e = db_begin(d)) &&
        !(e = db_prepare(d,
                         "UPDATE exchange_callers SET state = 'suspended', state_reason = ?, "
                         "updated_at = ? WHERE id = ? AND state = 'active'",
                         &s))) {
        db_bind_text(s, 1, "bad_signatures");
        db_bind_int64(s, 2, now_ms());
        db_bind_int64(s, 3, l->c.id);
        int64_t changed = 0;
        if (!(e = db_run(s, &changed)) && changed) {
            struct alert_new al = {.kind = ALERT_EXCHANGE_BAD_SIGNATURES,
                                   .level = ALERT_CRITICAL,
                                   .region_code = l->c.nregions ? l->c.regions[0] : 0,
                                   .message = msg,
                                   .detail = detail};
            e = alert_raise(d, &al, NULL);
            if (!e)
                e = audit_log(d, &(struct audit_entry){.user_id = l->c.user_id,
                                                       .role = "exchange_client",
                                                       .action = "exchange.caller.suspend",
                                                       .object_type = "exchange_caller",
                                                       .object_id = l->c.id,
                                                       .result = "bad_signatures",
                                                       .detail = "bad_signatures"});
        }
    }
    if (!e)
        e = db_commit(d);
    if (e) {
        db_rollback(d);
        log_event(LOG_ERROR, "exchange_suspend_failed", "slug", err_last()->slug, NULL);
    } else {
        log_event(LOG_WARN, "exchange_caller_suspended", "caller", l->c.name, NULL);
    }
}

/* ---- the call ----------------------------------------------------------------------- */

static const char *header_missing(const struct exchange_request *rq)
{
    if (!rq->caller || !*rq->caller)
        return EXCHANGE_H_CALLER;
    if (!rq->timestamp || !*rq->timestamp)
        return EXCHANGE_H_TIMESTAMP;
    if (!rq->nonce || !*rq->nonce)
        return EXCHANGE_H_NONCE;
    if (!rq->signature || !*rq->signature)
        return EXCHANGE_H_SIGNATURE;
    return NULL;
}

/* The SM3 of what identifies a write (method, path, query, body), hex. */
static void request_hash(const struct exchange_request *rq, char hex[2 * SM3_LEN + 1])
{
    size_t lm = strlen(rq->method), lp = strlen(rq->path), lq = rq->query ? strlen(rq->query) : 0;
    size_t n = lm + lp + lq + rq->body_len + 3;
    char *buf = malloc(n);
    uint8_t h[SM3_LEN];
    if (!buf) {
        memset(hex, '0', 2 * SM3_LEN);
        hex[2 * SM3_LEN] = '\0';
        return;
    }
    size_t off = 0;
    memcpy(buf + off, rq->method, lm), off += lm, buf[off++] = '\n';
    memcpy(buf + off, rq->path, lp), off += lp, buf[off++] = '\n';
    if (lq)
        memcpy(buf + off, rq->query, lq), off += lq;
    buf[off++] = '\n';
    if (rq->body_len)
        memcpy(buf + off, rq->body, rq->body_len), off += rq->body_len;
    sm3(buf, off, h);
    free(buf);
    hex_encode(h, SM3_LEN, hex);
}

struct call {
    db *d;
    arena *a;
    const struct exchange_request *rq;
    struct exchange_response *rs;
    const struct exchange_op *op;
    struct loaded l;
    bool known; /* the caller was identified (l is filled) */
    int64_t records;
};

/* Audit a refusal of an identified caller as its account. */
static err refuse(struct call *c, err e)
{
    if (!c->known)
        return e;
    struct principal p = {.user_id = c->l.c.user_id};
    snprintf(p.username, sizeof p.username, "%s", c->l.c.name);
    snprintf(p.roles, sizeof p.roles, "exchange_client");
    char action[96];
    snprintf(action, sizeof action, "exchange.%s", c->op ? c->op->name : "call");
    return audit_refusal(c->d, &p, c->rq->ip, action, "exchange_caller", c->l.c.id, e,
                         c->rq->front);
}

/* Identify and verify: E_OK with c->l filled, or the refusal. */
static err verify(struct call *c, int64_t now)
{
    const struct exchange_request *rq = c->rq;
    const char *missing = header_missing(rq);
    if (missing)
        return err_set(E_AUTH, "signature_missing", missing, "缺少签名字段 %s", missing);
    if (!nonce_ok(rq->nonce))
        return err_set(E_AUTH, "signature_missing", EXCHANGE_H_NONCE,
                       "%s 应为16到64位字母、数字、“_”或“-”", EXCHANGE_H_NONCE);
    int64_t id = id_parse(rq->caller);
    if (id <= 0)
        return err_set(E_AUTH, "unknown_caller", EXCHANGE_H_CALLER, "调用方不存在");
    err e = caller_load(c->d, c->a, id, now, &c->l);
    if (e)
        return e;
    c->known = true;
    if (!strcmp(c->l.state, "suspended"))
        return err_set(E_AUTH, "caller_suspended", EXCHANGE_H_CALLER, "调用方已暂停");
    if (c->l.expires_at && c->l.expires_at <= now)
        return err_set(E_AUTH, "caller_expired", EXCHANGE_H_CALLER, "调用方已过期");
    int64_t skew = exchange_skew_ms();
    if (!exchange_timestamp_ok(rq->timestamp, now, skew))
        return err_set(E_AUTH, "timestamp_out_of_window", EXCHANGE_H_TIMESTAMP,
                       "时间戳超出允许范围（±%lld秒）", (long long)(skew / 1000));
    uint8_t sig[SM2_SIG_MAX + 8];
    size_t siglen = 0;
    bool ok = base64_decode(rq->signature, strlen(rq->signature), sig, sizeof sig, &siglen);
    if (ok) {
        char *text;
        size_t tlen;
        if ((e = exchange_canonical(c->a, rq->method, rq->path, rq->query, rq->body, rq->body_len,
                                    rq->caller, rq->timestamp, rq->nonce, &text, &tlen)))
            return e;
        ok = false;
        for (int i = 0; i < c->l.nkeys && !ok; i++)
            ok = verify_with(c->l.key_ids[i], c->l.key_pems[i], text, tlen, sig, siglen);
    }
    if (!ok) {
        bad_signature(c->d, &c->l);
        return err_set(E_AUTH, "signature_invalid", EXCHANGE_H_SIGNATURE, "签名无效");
    }
    db_stmt *s;
    if ((e = db_prepare(c->d, "INSERT INTO exchange_nonces (caller_id, nonce, at) VALUES (?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, rq->nonce);
    db_bind_int64(s, 3, now);
    if ((e = db_run(s, NULL)) == E_CONFLICT)
        return err_set(E_AUTH, "nonce_replayed", EXCHANGE_H_NONCE, "随机数已使用过（重放）");
    return e;
}

/* The call's grants: rate, dataset, region, batch. Fills x. */
static err admit(struct call *c, json_t *in, struct exchange_ctx *x)
{
    char key[64];
    snprintf(key, sizeof key, "exchange:%lld", (long long)c->l.c.id);
    int64_t count = 0;
    bool first_over;
    err e = rate_limit_hit_often(c->d, key, 60000, c->l.rate, &count, &first_over);
    if (e)
        return e;
    if (count > c->l.rate)
        return err_set(E_RATE, "rate_limited", NULL, "调用过于频繁，请稍后再试（每分钟至多%lld次）",
                       (long long)c->l.rate);
    const struct exchange_op *op = c->op;
    if (op->dataset != EXCHANGE_DS_NONE) {
        uint32_t sets = op->write ? c->l.c.write_sets : c->l.c.read_sets;
        if (!(sets & (1u << op->dataset)))
            return err_set(E_FORBIDDEN, "dataset_not_granted", NULL, "未授权%s数据集 %s",
                           op->write ? "写入" : "读取", exchange_dataset_name(op->dataset));
    }
    if (!c->l.c.nregions)
        return err_set(E_FORBIDDEN, "region_not_granted", "region", "调用方没有授权区划");
    x->region_code = c->l.c.regions[0];
    json_t *rv = json_object_get(in, "region");
    if (rv && !json_is_null(rv)) {
        const char *v = json_string_value(rv);
        int64_t code = v ? regcode_parse(v, NULL) : -1;
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
        /* a read may name a read-only region; a write only a written one */
        if (op->write ? !exchange_caller_has_region(&c->l.c, code)
                      : !exchange_caller_reads_region(&c->l.c, code))
            return err_set(E_FORBIDDEN, "region_not_granted", "region", "未授权该区划");
        x->region_code = code;
    }
    json_t *recs = json_object_get(in, "records");
    if (op->write && json_is_array(recs)) {
        c->records = (int64_t)json_array_size(recs);
        if (c->records == 0)
            return err_set(E_INPUT, "invalid_batch", "records", "每批记录应为1到%d条",
                           EXCHANGE_BATCH_MAX);
        if (c->records > EXCHANGE_BATCH_MAX)
            return err_set(E_TOO_LARGE, "batch_too_large", "records", "每批记录应为1到%d条",
                           EXCHANGE_BATCH_MAX);
    }
    return E_OK;
}

/* The principal standing for the caller inside capability contracts. */
static err caller_principal(struct call *c, struct exchange_ctx *x)
{
    err e = auth_principal_load(c->d, c->l.c.user_id, &x->who);
    if (e)
        return e;
    x->who.region_code = x->region_code;
    x->who.scope = scope_of(x->region_code);
    snprintf(x->who.username, sizeof x->who.username, "%s", c->l.c.name);
    return E_OK;
}

/* A stored answer for (caller, key): E_OK with *found; the stored request
 * hash must match. */
static err idem_lookup(struct call *c, const char *hash, bool *found)
{
    db_stmt *s;
    err e = db_prepare(c->d,
                       "SELECT request_hash, status, body FROM exchange_idempotency "
                       "WHERE caller_id = ? AND idem_key = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, c->l.c.id);
    db_bind_text(s, 2, c->rq->idempotency_key);
    bool row;
    *found = false;
    if (!(e = db_row(s, &row)) && row) {
        if (strcmp(db_col_text(s, 0), hash)) {
            e = err_set(E_CONFLICT, "idempotency_key_reused", EXCHANGE_H_IDEMPOTENCY,
                        "幂等键已用于另一个请求");
        } else {
            const char *body = db_col_text(s, 2);
            sign_reply(c->d, c->a, c->rq, c->rs, (int)db_col_int64(s, 1), body, strlen(body));
            *found = true;
        }
    }
    db_done(s);
    return e;
}

/* Run the operation: reads as they are, writes in one transaction with
 * their idempotency row. E_OK with c->rs set, or the refusal/failure. */
static err run(struct call *c, json_t *in, struct exchange_ctx *x, bool *replayed)
{
    json_t *out = NULL;
    err e;
    if (!c->op->write) {
        if ((e = c->op->run(x, in, &out)))
            return e;
        reply_json_value(c->d, c->a, c->rq, c->rs, 200, out);
        return E_OK;
    }
    char hash[2 * SM3_LEN + 1];
    request_hash(c->rq, hash);
    if ((e = idem_lookup(c, hash, replayed)) || *replayed)
        return e;
    if ((e = db_begin(c->d)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(c->d,
                        "INSERT INTO exchange_idempotency (caller_id, idem_key, request_hash, "
                        "status, body, at) VALUES (?, ?, ?, 0, '', ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, c->l.c.id);
    db_bind_text(s, 2, c->rq->idempotency_key);
    db_bind_text(s, 3, hash);
    db_bind_int64(s, 4, now_ms());
    if ((e = db_run(s, NULL))) {
        if (e == E_CONFLICT) {
            /* a concurrent duplicate committed first: replay its answer */
            db_rollback(c->d);
            err_clear();
            if ((e = idem_lookup(c, hash, replayed)))
                return e;
            return *replayed ? E_OK
                             : err_set(E_UNAVAILABLE, "idempotency_in_progress", NULL,
                                       "相同幂等键的请求正在处理，请稍后重试");
        }
        goto fail;
    }
    if ((e = c->op->run(x, in, &out)))
        goto fail;
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (!text) {
        e = err_set(E_NOMEM, NULL, NULL, NULL);
        goto fail;
    }
    if ((e = db_prepare(c->d,
                        "UPDATE exchange_idempotency SET status = 200, body = ? "
                        "WHERE caller_id = ? AND idem_key = ?",
                        &s))) {
        free(text);
        goto fail;
    }
    db_bind_text(s, 1, text);
    db_bind_int64(s, 2, c->l.c.id);
    db_bind_text(s, 3, c->rq->idempotency_key);
    if ((e = db_run(s, NULL)) || (e = db_commit(c->d))) {
        free(text);
        goto fail;
    }
    sign_reply(c->d, c->a, c->rq, c->rs, 200, text, strlen(text));
    free(text);
    return E_OK;
fail:
    db_rollback(c->d);
    return e;
}

void exchange_handle(db *d, arena *a, const struct exchange_request *rq,
                     struct exchange_response *rs)
{
    uint64_t t0 = mono_us();
    int64_t now = now_ms();
    struct call c = {.d = d, .a = a, .rq = rq, .rs = rs};
    *rs = (struct exchange_response){0};
    err_clear();
    c.op = exchange_op_find(rq->method, rq->path);
    json_t *in = NULL;
    bool replayed = false;
    struct exchange_ctx x = {.d = d, .a = a};
    err e = verify(&c, now);
    if (!e && !c.op)
        e = err_set(E_NOT_FOUND, "no_such_operation", NULL, "没有这个接口");
    if (!e) {
        if (c.op->write) {
            if (!rq->idempotency_key || !*rq->idempotency_key)
                e = err_set(E_INPUT, "idempotency_key_required", EXCHANGE_H_IDEMPOTENCY,
                            "写入请求须带幂等键 %s", EXCHANGE_H_IDEMPOTENCY);
            else if (!idem_key_ok(rq->idempotency_key))
                e = err_set(E_INPUT, "invalid_idempotency_key", EXCHANGE_H_IDEMPOTENCY,
                            "幂等键应为1到64位字母、数字或“_.:-”");
            else if ((e = json_parse_body(rq->body, rq->body_len, &in)) == E_OK &&
                     !json_is_object(in))
                e = err_set(E_INPUT, "invalid_body", NULL, "请求内容应为 JSON 对象");
        } else if (c.op->offload) { /* a read with a body: no idempotency to keep */
            if ((e = json_parse_body(rq->body, rq->body_len, &in)) == E_OK && !json_is_object(in))
                e = err_set(E_INPUT, "invalid_body", NULL, "请求内容应为 JSON 对象");
        } else {
            e = exchange_query_object(a, rq->query, &in);
        }
    }
    if (!e)
        e = admit(&c, in, &x);
    if (!e) {
        x.caller = &c.l.c;
        x.idempotency_key = c.op->write ? rq->idempotency_key : NULL;
        e = caller_principal(&c, &x);
    }
    if (!e)
        e = run(&c, in, &x, &replayed);
    json_decref(in);
    char result[48] = "ok";
    if (e) {
        if (http_status(e) >= 500)
            log_event(LOG_ERROR, "exchange_call_failed", "op", c.op ? c.op->name : "", "slug",
                      err_last()->slug, NULL);
        e = refuse(&c, e);
        snprintf(result, sizeof result, "%s",
                 err_last()->code == e && err_last()->slug[0] ? err_last()->slug : err_slug(e));
        reply_err(d, a, rq, rs, e);
    }
    rs->replayed = replayed;
    struct exchange_call_record rec = {
        .front = rq->front ? rq->front : "http",
        .caller_id = c.known ? c.l.c.id : 0,
        /* the monitoring shows callers by name and scopes them by region */
        .caller_name = c.known ? c.l.c.name : NULL,
        .region_code = c.known && c.l.c.nregions > 0 ? c.l.c.regions[0] : 0,
        .op = c.op ? c.op->name : "",
        .dataset = c.op && c.op->dataset != EXCHANGE_DS_NONE ? (int)c.op->dataset : -1,
        .status = rs->status,
        .result = result,
        .records = c.records,
        .latency_us = (int64_t)(mono_us() - t0),
    };
    exchange_record_call(&rec);
}

/*
 * What every connector shares (connect.h): finding the enabled peer of a
 * kind and making one signed call to it, with the peer's failures turned
 * into errors a person can read. The connectors call nothing else of the
 * outside world.
 */
#include "exchange/connect.h"

#include <stdlib.h>
#include <string.h>

#include "exchange/peer.h"

/* The first enabled peer of kind (lowest id: the first configured), 0 when
 * none. */
static err peer_of_kind(db *d, const char *kind, int64_t *id_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT id FROM exchange_peers WHERE kind = ? AND enabled = 1 ORDER BY id LIMIT 1", &s);
    if (e)
        return e;
    db_bind_text(s, 1, kind);
    bool row;
    *id_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

bool connect_configured(db *d, const char *kind)
{
    int64_t id = 0;
    err e = peer_of_kind(d, kind, &id);
    err_ignore(e);
    return !e && id > 0;
}

err connect_call(db *d, arena *a, const char *kind, const char *label, const char *method,
                 const char *path_query, json_t *body, json_t **out_r)
{
    int64_t id;
    err e = peer_of_kind(d, kind, &id);
    if (e)
        return e;
    return connect_call_peer(d, a, id, label, method, path_query, body, out_r);
}

err connect_call_peer(db *d, arena *a, int64_t id, const char *label, const char *method,
                      const char *path_query, json_t *body, json_t **out_r)
{
    struct exchange_peer *p = NULL;
    err e = id ? exchange_peer_load(d, a, id, &p) : E_NOT_FOUND;
    if (e == E_NOT_FOUND || (!e && !p->enabled)) {
        err_clear();
        return err_set(E_UNAVAILABLE, "connector_not_configured", NULL,
                       "尚未配置%s（请在 数据交换 > 对接系统 中添加）", label);
    }
    if (e)
        return e;
    char *text = NULL;
    if (body && !(text = json_dumps(body, JSON_COMPACT)))
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    struct exchange_peer_reply rep = {0};
    e = exchange_peer_call(d, a, p, method, path_query, text, NULL, &rep);
    free(text);
    if (e == E_CRYPTO)
        return err_set(E_UNAVAILABLE, "peer_signature_invalid", NULL,
                       "%s的应答签名验证失败，结果未采用", label);
    if (e == E_UNAVAILABLE)
        return err_set(E_UNAVAILABLE, "peer_unreachable", NULL, "%s暂时无法连接，请稍后再试",
                       label);
    if (e)
        return e;
    json_t *o = NULL;
    if (rep.status >= 200 && rep.status < 300)
        o = json_loadb(rep.body ? rep.body : "", rep.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, "%s未能处理请求（应答状态 %d）", label,
                       rep.status);
    }
    *out_r = o;
    return E_OK;
}

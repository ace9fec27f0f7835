/*
 * HTTP handlers of master key rotation (keyrot.h; docs/keys.md), all behind
 * key.admin (the security administrator's; a system or audit administrator
 * is refused, and the refusal audited, by the router):
 *
 *   GET  /api/v1/security/keys                            versions, rotations, progress,
 *                                                         venue codes to reprint
 *   POST /api/v1/security/keys/rotations                  start {confirm: true}, audited
 *   POST /api/v1/security/keys/rotations/{id}/destroy     confirm the old version's
 *                                                         destruction {confirm_version}, audited
 *   POST /api/v1/security/keys/rotations/{id}/retry       resume a failed rotation, audited
 *   POST /api/v1/security/keys/audit-rotations            start a new audit key version
 *                                                         (suspected leak) {confirm: true},
 *                                                         audited audit.key_rotate
 *   POST /api/v1/security/keys/audit-versions/{id}/destroy  destroy an old audit key once its
 *                                                         segments passed retention
 *                                                         {confirm_version}, audited
 *
 * No personal data passes here: versions, counts, column names.
 */
#include <string.h>

#include "app.h"
#include "http/write.h"
#include "keyrot/keyrot.h"
#include "security/audit.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "venue/venue.h"

/* The printed venue codes a destruction of the previous token key would
 * refuse, across the city (docs/keys.md "Printed venue codes"): `since`, when
 * the current version became current, and how many live venues hold a code
 * issued before it (GET /api/v1/venues?needs_reprint=1 lists them). */
static err reprint_json(struct req *r, json_t **out_r)
{
    struct venue_filter f = {.enabled = -1, .needs_reprint = true, .page = 1, .page_size = 1};
    struct scope all = scope_all();
    struct venue *items;
    size_t n;
    int64_t total;
    err e = venue_list(r->db, r->a, &all, &f, &items, &n, &total);
    if (e)
        return e;
    *out_r = json_pack("{s:I, s:I}", "since", (json_int_t)keys_current_since(), "venues",
                       (json_int_t)total);
    return E_OK;
}

/* The audit key versions for the console (security/audit.h). */
static json_t *audit_keys_json(const struct audit_key_version *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:i, s:I, s:b, s:b, s:I}", "version", v[i].version, "created_at",
                              (json_int_t)v[i].created_at, "held", v[i].held, "current", i == 0,
                              "segments", (json_int_t)v[i].segments);
        json_set_id(o, "created_by", v[i].created_by);
        json_object_set_new(o, "destroyed_at",
                            v[i].destroyed_at ? json_integer(v[i].destroyed_at) : json_null());
        json_set_id_or_null(o, "destroyed_by", v[i].destroyed_by);
        json_array_append_new(arr, o);
    }
    return arr;
}

static err get_keys(struct req *r)
{
    json_t *o, *reprint;
    err e = reprint_json(r, &reprint);
    if (e)
        return e;
    if ((e = keyrot_status(r->db, r->a, &o))) {
        json_decref(reprint);
        return e;
    }
    json_object_set_new(o, "reprint", reprint);
    struct audit_key_version v[KEY_VERSION_MAX];
    size_t n;
    if ((e = audit_key_status(r->db, v, sizeof v / sizeof v[0], &n))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "audit_versions", audit_keys_json(v, n));
    json_object_set_new(o, "audit_current", json_integer(n ? v[0].version : 1));
    return reply_json(r, 200, o);
}

/* A new audit key version: every chain continues under it from a switch
 * entry (audit_key_rotate); the request's own entry, audit.key_rotate, is
 * the first of this server's new segment. */
static err post_audit_rotate(struct req *r)
{
    err e = E_OK;
    if (!json_is_true(json_object_get(r->body, "confirm")))
        e = err_set(E_INPUT, "confirm_required", "confirm", "请确认更换审计密钥");
    int from = 0, to = 0, nodes = 0;
    struct audit_entry who = {.user_id = r->who->user_id,
                              .username = r->who->username,
                              .role = r->who->roles,
                              .ip = r->ip};
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, audit_key_rotate(r->db, &who, &from, &to, &nodes));
    if ((e = req_write_done(
             r, e, "audit.key_rotate", "audit", to,
             arena_printf(r->a, "from_version=%d to_version=%d chains=%d", from, to, nodes))))
        return e;
    return reply_json(
        r, 201,
        json_pack("{s:i, s:i, s:i}", "from_version", from, "to_version", to, "chains", nodes));
}

static err post_audit_destroy(struct req *r)
{
    int64_t v = 0;
    err e = req_param_id(r, 0, &v);
    int confirm = (int)json_integer_value(json_object_get(r->body, "confirm_version"));
    if (!e && (v < 1 || v > KEY_VERSION_MAX))
        e = err_set(E_NOT_FOUND, "audit_key_unknown", NULL, "没有这个审计密钥版本");
    if (!e && confirm != v)
        e = err_set(E_INPUT, "confirm_mismatch", "confirm_version",
                    "输入的版本号与要销毁的审计密钥版本不一致");
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, audit_key_destroy(r->db, (int)v, r->who->user_id));
    if ((e = req_write_done(r, e, "audit.key_destroy", "audit", v,
                            arena_printf(r->a, "version=%lld", (long long)v))))
        return e;
    return reply_json(r, 200,
                      json_pack("{s:I, s:s}", "version", (json_int_t)v, "state", "destroyed"));
}

static const struct jfield start_body[] = {
    {"confirm", J_BOOL, JF_REQUIRED, 0, 0, "确认", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_start(struct req *r)
{
    err e = E_OK;
    if (!json_is_true(json_object_get(r->body, "confirm")))
        e = err_set(E_INPUT, "confirm_required", "confirm", "请确认开始密钥轮换");
    int64_t id = 0;
    int to = 0;
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, keyrot_start(r->db, r->who->user_id, &id, &to));
    if ((e = req_write_done(r, e, "key.rotate", "key_rotation", id,
                            arena_printf(r->a, "to_version=%d", to))))
        return e;
    return reply_json(
        r, 201,
        json_pack("{s:s, s:i}", "id", arena_printf(r->a, "%lld", (long long)id), "to_version", to));
}

static const struct jfield destroy_body[] = {
    {"confirm_version", J_INT, JF_REQUIRED, 1, 255, "确认的旧密钥版本号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_destroy(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    int v = (int)json_integer_value(json_object_get(r->body, "confirm_version"));
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, keyrot_confirm_destroy(r->db, id, v, r->who->user_id));
    if ((e = req_write_done(r, e, "key.destroy_confirm", "key_rotation", id,
                            arena_printf(r->a, "version=%d", v))))
        return e;
    return reply_json(r, 202, json_pack("{s:s}", "state", "verifying"));
}

static err post_retry(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, keyrot_retry(r->db, id));
    if ((e = req_write_done(r, e, "key.rotate_retry", "key_rotation", id, NULL)))
        return e;
    return reply_json(r, 202, json_pack("{s:s}", "state", "running"));
}

const struct route keyrot_routes[] = {
    {M_GET, "/api/v1/security/keys", get_keys, PERM_KEY_ADMIN, 0, NULL,
     "主密钥版本、密钥轮换记录、各列进度和待重新打印的场所码数", "security", 0},
    {M_POST, "/api/v1/security/keys/rotations", post_start, PERM_KEY_ADMIN, 0, start_body,
     "开始密钥轮换：生成新版本主密钥，后台重新加密全部加密字段", "security", 0},
    {M_POST, "/api/v1/security/keys/rotations/{id}/destroy", post_destroy, PERM_KEY_ADMIN, 0,
     destroy_body, "确认销毁旧版本主密钥（最后核对一遍后销毁）", "security", 0},
    {M_POST, "/api/v1/security/keys/rotations/{id}/retry", post_retry, PERM_KEY_ADMIN, 0, NULL,
     "修复后从断点继续失败的密钥轮换", "security", 0},
    {M_POST, "/api/v1/security/keys/audit-rotations", post_audit_rotate, PERM_KEY_ADMIN, 0,
     start_body,
     "更换审计密钥（怀疑泄露时）：生成新版本审计密钥，各节点的审计日志哈希链自一条同时由新旧密钥"
     "担保的切换记录起改用新密钥",
     "security", 0},
    {M_POST, "/api/v1/security/keys/audit-versions/{id}/destroy", post_audit_destroy,
     PERM_KEY_ADMIN, 0, destroy_body,
     "销毁旧版本审计密钥（它校验的日志段须已全部超过保留期并清理）", "security", 0},
};
const size_t keyrot_routes_n = sizeof keyrot_routes / sizeof keyrot_routes[0];

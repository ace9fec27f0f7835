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
    return reply_json(r, 200, o);
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
};
const size_t keyrot_routes_n = sizeof keyrot_routes / sizeof keyrot_routes[0];

/*
 * The HTTP face of signing in and of one's own account: /api/v1/auth/…
 * (password and SMS sign-in, sign-out) and /api/v1/me… (who am I, password
 * change, second-factor enrolment). The session cookie is set and cleared
 * here; everything about credentials is security/auth.h's, and every
 * attempt, successful or not, is audited without the secret it carried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/qr.h"
#include "base/regcode.h"
#include "security/audit.h"
#include "user/user.h"

/* ---- the session cookie --------------------------------------------------------- */

/* Secure unless FK_COOKIE_SECURE=0: browsers keep a Secure cookie on
 * http://localhost (and 127.0.0.1) too, so only other plain-HTTP set-ups
 * need the switch. */
static const char *cookie_flags(void)
{
    return auth_get_config()->cookie_insecure ? "HttpOnly; SameSite=Strict"
                                              : "HttpOnly; SameSite=Strict; Secure";
}

static void set_session_cookie(struct req *r, const char *token)
{
    r->set_cookie = arena_printf(r->a, "fk_session=%s; Path=/; %s", token, cookie_flags());
}

static void clear_session_cookie(struct req *r)
{
    r->set_cookie = arena_printf(r->a, "fk_session=; Path=/; Max-Age=0; %s", cookie_flags());
}

/* ---- who am I ----------------------------------------------------------------------- */

static json_t *me_json(const struct principal *p, const struct user *u)
{
    char code[19];
    regcode_format(p->region_code, code);
    json_t *o = json_object();
    json_set_id(o, "id", p->user_id);
    json_object_set_new(o, "username", u->username ? json_string(u->username) : json_null());
    json_object_set_new(o, "display_name", json_string(u->display_name));
    json_object_set_new(o, "kind", json_string(p->resident ? "resident" : "staff"));
    json_t *roles = json_array();
    for (size_t i = 0; i < u->n_roles; i++)
        json_array_append_new(
            roles, json_pack("{s:s,s:s}", "key", u->roles[i].key, "name", u->roles[i].name));
    json_object_set_new(o, "roles", roles);
    json_t *perms = json_array();
    for (int k = 1; k < PERM__COUNT; k++)
        if (perm_set_has(p->perms, (enum perm)k))
            json_array_append_new(perms, json_string(perm_name((enum perm)k)));
    json_object_set_new(o, "permissions", perms);
    json_object_set_new(o, "region",
                        json_pack("{s:s,s:s,s:s}", "code", code, "name", u->region_name, "level",
                                  region_level_name((enum region_level)u->region_level)));
    char scope[19];
    regcode_format(p->scope.lo, scope);
    json_object_set_new(o, "scope_code", json_string(scope));
    json_object_set_new(o, "must_change_password", json_boolean(p->must_change_password));
    json_object_set_new(o, "totp_enabled", json_boolean(p->totp_enabled));
    json_object_set_new(o, "totp_required", json_boolean(p->totp_required));
    /* the step the client must walk the user through before anything else
     * (the router refuses every other route until it is done) */
    static const char *const pending[] = {
        [AUTH_PENDING_NONE] = NULL,
        [AUTH_PENDING_PASSWORD] = "password_change",
        [AUTH_PENDING_TOTP] = "totp_enrolment",
    };
    const char *step = pending[auth_pending(p)];
    json_object_set_new(o, "pending", step ? json_string(step) : json_null());
    if (p->person_id)
        json_set_id(o, "person_id", p->person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    return o;
}

static err reply_me(struct req *r, const struct principal *p)
{
    struct user u;
    err e = user_find(r->db, r->a, NULL, p->user_id, &u);
    if (e)
        return e;
    return reply_json(r, 200, me_json(p, &u));
}

static err get_me(struct req *r)
{
    return reply_me(r, r->who);
}

/* ---- auditing a sign-in ----------------------------------------------------------------- */

/*
 * Every write of this file is held (db/db.h: db_hold) so that its audit
 * entry commits with it (security/audit.h), except sending an SMS code: its
 * first write (the address's count) comes before the delivery, which may be
 * an HTTP call, and the database's write lock must not wait on it; its
 * entry is queued after the commit.
 */

/*
 * The account a refused sign-in names, as the principal of its audit entry:
 * the account when the username is one (so repeated failures against an
 * account show up under it), else NULL (anonymous): an unknown name is not
 * recorded, since people type passwords into that field.
 */
static err named_account(struct req *r, const char *username, const struct principal **p_r)
{
    int64_t id;
    *p_r = NULL;
    err e = user_id_by_username(r->db, username, &id);
    if (e || !id) /* a failed read is that failure, not an anonymous refusal */
        return e;
    struct principal *p = arena_zalloc(r->a, sizeof *p);
    p->user_id = id;
    snprintf(p->username, sizeof p->username, "%s", username);
    *p_r = p;
    return E_OK;
}

/*
 * End a held write that did not succeed: a refusal is audited inside it and
 * commits with what it wrote (a failure count, a lock, a spent try: they
 * must stay), a failure rolls back. Returns e, or the commit's error.
 */
static err release_audited(struct req *r, const struct principal *who, const char *action,
                           int64_t id, err e, const char *detail)
{
    bool keep = audit_is_refusal(e);
    e = audit_refusal(r->db, who, r->ip, action, "user", id, e, detail);
    err c = db_release(r->db, keep);
    return c ? c : e;
}

/* A session was opened in the held transaction: audit it, commit both,
 * and the request now speaks for its principal. */
static err signed_in(struct req *r, struct principal *p, const char *token, const char *action,
                     const char *method)
{
    r->who = p;
    req_audit(r, action, "user", p->user_id, "ok", method);
    err e = db_release(r->db, true);
    if (e)
        return e;
    set_session_cookie(r, token);
    return reply_me(r, p);
}

/* An action on one's own account, held by the caller, succeeded: audit it
 * and commit both. */
static err own_done(struct req *r, const char *action)
{
    req_audit(r, action, "user", r->who->user_id, "ok", NULL);
    return db_release(r->db, true);
}

/* ---- sign-in and sign-out --------------------------------------------------------------- */

static const struct jfield login_body[] = {
    {"username", J_STRING, JF_REQUIRED, 0, 64, "用户名", NULL},
    {"password", J_STRING, JF_REQUIRED, 0, 128, "密码", NULL},
    {"totp", J_STRING, 0, 0, 16, "动态验证码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_login(struct req *r)
{
    const char *username = json_str(r->body, "username");
    char token[TOKEN_HEX_LEN + 1];
    struct principal *p = arena_zalloc(r->a, sizeof *p);
    err e = auth_login_held(r->db, username, json_str(r->body, "password"),
                            json_str(r->body, "totp"), r->ip, token, p);
    if (e) {
        const struct principal *named;
        err ne = named_account(r, username, &named);
        if (ne) {
            err_ignore(db_release(r->db, false));
            return ne;
        }
        return release_audited(r, named, "auth.login", named ? named->user_id : 0, e,
                               "method=password");
    }
    return signed_in(r, p, token, "auth.login", "method=password");
}

static err post_logout(struct req *r)
{
    db_hold(r->db);
    err e = auth_logout(r->db, req_session_token(r));
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    if ((e = own_done(r, "auth.logout")))
        return e;
    clear_session_cookie(r);
    return reply_empty(r);
}

static err post_logout_all(struct req *r)
{
    db_hold(r->db);
    err e = auth_logout_all(r->db, r->who->user_id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    if ((e = own_done(r, "auth.logout_all")))
        return e;
    clear_session_cookie(r);
    return reply_empty(r);
}

static const struct jfield sms_send_body[] = {
    {"phone", J_STRING, JF_REQUIRED, 0, 20, "手机号码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_sms_send(struct req *r)
{
    err e = auth_sms_send(r->db, json_str(r->body, "phone"), r->ip);
    if (e)
        return audit_refusal(r->db, NULL, r->ip, "auth.sms_send", "user", 0, e, NULL);
    req_audit(r, "auth.sms_send", "", 0, "ok", NULL);
    return reply_json(
        r, 200, json_pack("{s:b,s:i}", "sent", 1, "expires_in", auth_get_config()->sms_ttl_s));
}

static const struct jfield sms_login_body[] = {
    {"phone", J_STRING, JF_REQUIRED, 0, 20, "手机号码", NULL},
    {"code", J_STRING, JF_REQUIRED, 0, 10, "验证码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_sms_login(struct req *r)
{
    char token[TOKEN_HEX_LEN + 1];
    struct principal *p = arena_zalloc(r->a, sizeof *p);
    db_hold(r->db); /* nothing slow in an SMS sign-in: held from its first write */
    err e = auth_sms_login(r->db, json_str(r->body, "phone"), json_str(r->body, "code"), r->ip,
                           token, p);
    if (e)
        return release_audited(r, NULL, "auth.sms_login", 0, e, "method=sms");
    return signed_in(r, p, token, "auth.sms_login", "method=sms");
}

/* ---- one's own account ------------------------------------------------------------------ */

static const struct jfield password_body[] = {
    {"old_password", J_STRING, JF_REQUIRED, 0, 128, "原密码", NULL},
    {"new_password", J_STRING, JF_REQUIRED, 0, 128, "新密码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_me_password(struct req *r)
{
    int64_t id = r->who->user_id;
    if (r->who->resident)
        return err_set(E_FORBIDDEN, "no_password", NULL, "居民账号使用短信验证码登录，无需密码");
    db_hold(r->db); /* its first write comes after both argon2 hashes */
    err e = auth_change_password(r->db, id, json_str(r->body, "old_password"),
                                 json_str(r->body, "new_password"), req_session_token(r));
    if (e)
        return release_audited(r, r->who, "auth.password_change", id, e, NULL);
    if ((e = own_done(r, "auth.password_change")))
        return e;
    return reply_empty(r);
}

static err post_me_totp(struct req *r)
{
    char secret[64], uri[256];
    if (r->who->resident)
        return err_set(E_FORBIDDEN, "no_password", NULL,
                       "居民账号使用短信验证码登录，无需动态验证码");
    db_hold(r->db);
    err e = auth_totp_begin(r->db, r->who->user_id, r->who->username, secret, uri);
    if (e)
        return release_audited(r, r->who, "auth.totp_begin", r->who->user_id, e, NULL);
    /* drawn here, not by the page: a QR service or library fetched from
     * elsewhere would see the secret */
    char *svg = NULL;
    size_t svg_len = 0;
    if ((e = qr_svg(r->a, uri, &svg, &svg_len)) || (e = own_done(r, "auth.totp_begin"))) {
        err_ignore(db_release(r->db, false)); /* after own_done's commit: nothing left */
        explicit_bzero(secret, sizeof secret);
        explicit_bzero(uri, sizeof uri);
        return e;
    }
    /* the one reply that carries the secret: the user scans it now */
    err re =
        reply_json(r, 200, json_pack("{s:s,s:s,s:s}", "secret", secret, "uri", uri, "qr_svg", svg));
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(uri, sizeof uri);
    explicit_bzero(svg, svg_len);
    return re;
}

static const struct jfield totp_confirm_body[] = {
    {"code", J_STRING, JF_REQUIRED, 0, 10, "动态验证码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_me_totp_confirm(struct req *r)
{
    db_hold(r->db);
    err e = auth_totp_confirm(r->db, r->who->user_id, json_str(r->body, "code"));
    if (e)
        return release_audited(r, r->who, "auth.totp_enable", r->who->user_id, e, NULL);
    if ((e = own_done(r, "auth.totp_enable")))
        return e;
    return reply_empty(r);
}

static const struct jfield totp_delete_body[] = {
    {"password", J_STRING, JF_REQUIRED, 0, 128, "密码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err del_me_totp(struct req *r)
{
    int64_t id = r->who->user_id;
    err e;
    db_hold(r->db); /* the password check only reads: the reset is the first write */
    /* A role that demands a second factor keeps it: only an administrator
     * resets it (and the user then enrols again). */
    if (r->who->totp_required)
        e = err_set(E_CONFLICT, "totp_required_by_role", NULL,
                    "您的角色要求使用动态验证码，不能自行关闭；如需更换请联系管理员重置");
    else if (!(e = user_check_password(r->db, id, json_str(r->body, "password"), "password")))
        e = auth_totp_reset(r->db, id);
    if (e)
        return release_audited(r, r->who, "auth.totp_reset", id, e, NULL);
    if ((e = own_done(r, "auth.totp_reset")))
        return e;
    return reply_empty(r);
}

const struct route auth_routes[] = {
    {M_POST, "/api/v1/auth/login", post_login, PERM_NONE, ROUTE_PUBLIC, login_body, "账号密码登录",
     "auth", 4096},
    {M_POST, "/api/v1/auth/logout", post_logout, PERM_NONE, ROUTE_PENDING_OK, NULL, "退出登录",
     "auth", 0},
    {M_POST, "/api/v1/auth/logout-all", post_logout_all, PERM_NONE, ROUTE_PENDING_OK, NULL,
     "退出全部设备", "auth", 0},
    {M_POST, "/api/v1/auth/sms/send", post_sms_send, PERM_NONE, ROUTE_PUBLIC, sms_send_body,
     "发送短信验证码", "auth", 4096},
    {M_POST, "/api/v1/auth/sms/login", post_sms_login, PERM_NONE, ROUTE_PUBLIC, sms_login_body,
     "短信验证码登录（居民）", "auth", 4096},
    {M_GET, "/api/v1/me", get_me, PERM_NONE, ROUTE_PENDING_OK, NULL, "当前用户信息", "auth", 0},
    {M_POST, "/api/v1/me/password", post_me_password, PERM_NONE, ROUTE_PENDING_OK, password_body,
     "修改本人密码", "auth", 4096},
    {M_POST, "/api/v1/me/totp", post_me_totp, PERM_NONE, ROUTE_PENDING_OK, NULL,
     "开始绑定动态验证码", "auth", 0},
    {M_POST, "/api/v1/me/totp/confirm", post_me_totp_confirm, PERM_NONE, ROUTE_PENDING_OK,
     totp_confirm_body, "确认绑定动态验证码", "auth", 4096},
    {M_DELETE, "/api/v1/me/totp", del_me_totp, PERM_NONE, 0, totp_delete_body,
     "关闭动态验证码（须验证密码）", "auth", 4096},
};
const size_t auth_routes_n = sizeof auth_routes / sizeof auth_routes[0];

/*
 * The HTTP face of account administration (/api/v1/users…): thin handlers
 * turning checked JSON and query parameters into user/user.h calls, the
 * account as JSON and CSV, and the audit of every read and write. The rules
 * (scope, separation of duties) live in user.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "security/audit.h"
#include "user/user.h"

/* ---- JSON ------------------------------------------------------------------ */

static void set_str_or_null(json_t *o, const char *key, const char *v)
{
    json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static json_t *roles_json(const struct user *u)
{
    json_t *a = json_array();
    for (size_t i = 0; i < u->n_roles; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "key", u->roles[i].key, "name", u->roles[i].name));
    return a;
}

/* An account as every reply shows it: never a hash or a secret, the phone
 * masked. */
static json_t *user_json(const struct user *u)
{
    json_t *o = json_object();
    json_set_id(o, "id", u->id);
    set_str_or_null(o, "username", u->username);
    json_object_set_new(o, "display_name", json_string(u->display_name));
    json_object_set_new(o, "kind", json_string(u->resident ? "resident" : "staff"));
    json_set_region(o, u->region_code, u->region_name);
    json_set_id_or_null(o, "department_id", u->department_id);
    set_str_or_null(o, "department_name", u->department_name);
    json_object_set_new(o, "roles", roles_json(u));
    set_str_or_null(o, "phone", u->phone_masked);
    json_set_id_or_null(o, "person_id", u->person_id);
    json_object_set_new(o, "must_change_password", json_boolean(u->must_change_password));
    json_object_set_new(o, "totp_enabled", json_boolean(u->totp_enabled));
    json_object_set_new(o, "totp_required", json_boolean(u->totp_required));
    json_object_set_new(o, "disabled", json_boolean(u->disabled));
    json_object_set_new(o, "locked", json_boolean(u->locked_until > now_ms()));
    json_object_set_new(o, "locked_until", json_integer(u->locked_until));
    json_object_set_new(o, "last_login_at", json_integer(u->last_login_at));
    json_object_set_new(o, "password_changed_at", json_integer(u->password_changed_at));
    json_object_set_new(o, "created_at", json_integer(u->created_at));
    json_object_set_new(o, "updated_at", json_integer(u->updated_at));
    return o;
}

/* ---- request fields ---------------------------------------------------------- */

static err region_field(const char *s, int64_t *code_r)
{
    int64_t code = s ? regcode_parse(s, NULL) : -1;
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    *code_r = code;
    return E_OK;
}

static err department_field(const char *s, int64_t *id_r)
{
    int64_t id = s ? id_parse(s) : 0;
    if (id <= 0)
        return err_set(E_INPUT, "invalid_department", "department_id",
                       "所属部门不存在或不在您的管辖范围内");
    *id_r = id;
    return E_OK;
}

/* The role keys of a "roles" array (checked to be an array by the router). */
static err roles_field(struct req *r, const char *const **keys_r, size_t *n_r)
{
    json_t *arr = json_object_get(r->body, "roles");
    size_t n = json_array_size(arr);
    if (n > USER_ROLES_MAX)
        return err_set(E_INPUT, "too_long", "roles", "角色不能超过%d个", USER_ROLES_MAX);
    const char **keys = arena_alloc(r->a, (n ? n : 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            return err_set(E_INPUT, "invalid_type", "roles", "角色应为角色标识的字符串数组");
        keys[i] = json_string_value(v);
    }
    *keys_r = keys;
    *n_r = n;
    return E_OK;
}

static err reply_user(struct req *r, int status, int64_t id)
{
    struct user u;
    err e = user_find(r->db, r->a, &r->who->scope, id, &u);
    if (e)
        return e;
    return reply_json(r, status, user_json(&u));
}

/* ---- handlers ---------------------------------------------------------------- */

static const struct jfield create_body[] = {
    {"username", J_STRING, JF_REQUIRED, 0, USERNAME_MAX, "用户名", NULL},
    {"display_name", J_STRING, JF_REQUIRED, 0, DISPLAY_NAME_MAX, "姓名", NULL},
    {"password", J_STRING, JF_REQUIRED, 0, 128, "密码", NULL},
    {"region_code", J_STRING, JF_REQUIRED, 0, 18, "所属区划", NULL},
    {"department_id", J_STRING, JF_NULLABLE, 0, 20, "所属部门", NULL},
    {"roles", J_ARRAY, JF_REQUIRED, 0, 0, "角色", NULL},
    {"must_change_password", J_BOOL, 0, 0, 0, "首次登录须改密码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_user(struct req *r)
{
    struct user_new in = {
        .username = json_str(r->body, "username"),
        .display_name = json_str(r->body, "display_name"),
        .password = json_str(r->body, "password"),
        .must_change_password = json_bool(r->body, "must_change_password", true),
    };
    err e;
    const char *dept = json_str(r->body, "department_id");
    if ((e = user_check_username(in.username, "username")) ||
        (e = region_field(json_str(r->body, "region_code"), &in.region_code)) ||
        (dept && (e = department_field(dept, &in.department_id))) ||
        (e = roles_field(r, &in.roles, &in.n_roles)))
        return e;
    int64_t id = 0;
    db_hold(r->db); /* the entry commits with the account (security/audit.h) */
    if ((e = user_create(r->db, r->a, r->who, &in, &id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "user.create", "user", 0, e, NULL);
    }
    char detail[160] = "roles=";
    for (size_t i = 0; i < in.n_roles; i++)
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%.32s", i ? "," : "",
                 in.roles[i]);
    req_audit(r, "user.create", "user", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_user(r, 201, id);
}

static const struct jfield patch_body[] = {
    {"display_name", J_STRING, 0, 0, DISPLAY_NAME_MAX, "姓名", NULL},
    {"region_code", J_STRING, 0, 0, 18, "所属区划", NULL},
    {"department_id", J_STRING, JF_NULLABLE, 0, 20, "所属部门", NULL},
    {"roles", J_ARRAY, 0, 0, 0, "角色", NULL},
    {"disabled", J_BOOL, 0, 0, 0, "停用", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err patch_user(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    struct user_patch p = {.display_name = json_str(r->body, "display_name")};
    if (json_has(r->body, "region_code")) {
        p.set_region = true;
        if ((e = region_field(json_str(r->body, "region_code"), &p.region_code)))
            return e;
    }
    if (json_has(r->body, "department_id")) {
        p.set_department = true;
        const char *dept = json_str(r->body, "department_id");
        if (dept && (e = department_field(dept, &p.department_id)))
            return e;
    }
    if (json_has(r->body, "roles")) {
        p.set_roles = true;
        if ((e = roles_field(r, &p.roles, &p.n_roles)))
            return e;
    }
    if (json_has(r->body, "disabled")) {
        p.set_disabled = true;
        p.disabled = json_bool(r->body, "disabled", false);
    }
    db_hold(r->db);
    if ((e = user_update(r->db, r->a, r->who, id, &p))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "user.update", "user", id, e, NULL);
    }
    /* field names only: the values may be personal */
    char detail[128] = "fields=";
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach(r->body, key, v)
    {
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%s", first ? "" : ",",
                 key);
        first = false;
    }
    req_audit(r, "user.update", "user", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_user(r, 200, id);
}

static err get_user(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    struct user u;
    if ((e = user_find(r->db, r->a, &r->who->scope, id, &u)))
        return e;
    req_audit(r, "user.read", "user", id, "ok", NULL);
    return reply_json(r, 200, user_json(&u));
}

static err del_user(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if ((e = user_delete(r->db, r->a, r->who, id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "user.delete", "user", id, e, NULL);
    }
    req_audit(r, "user.delete", "user", id, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

static const struct jfield password_body[] = {
    {"password", J_STRING, JF_REQUIRED, 0, 128, "新密码", NULL},
    {"must_change", J_BOOL, 0, 0, 0, "下次登录须改密码", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_password(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if ((e = user_reset_password(r->db, r->a, r->who, id, json_str(r->body, "password"),
                                 json_bool(r->body, "must_change", true)))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "user.password_reset", "user", id, e, NULL);
    }
    req_audit(r, "user.password_reset", "user", id, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* The bodiless actions on an account share one shape. */
#define ACTION(fn, call, action)                                                                   \
    static err fn(struct req *r)                                                                   \
    {                                                                                              \
        int64_t id;                                                                                \
        err e = req_param_id(r, 0, &id);                                                           \
        if (e)                                                                                     \
            return e;                                                                              \
        db_hold(r->db);                                                                            \
        if ((e = call(r->db, r->a, r->who, id))) {                                                 \
            err_ignore(db_release(r->db, false));                                                  \
            return audit_refusal(r->db, r->who, r->ip, action, "user", id, e, NULL);               \
        }                                                                                          \
        req_audit(r, action, "user", id, "ok", NULL);                                              \
        if ((e = db_release(r->db, true)))                                                         \
            return e;                                                                              \
        return reply_empty(r);                                                                     \
    }

ACTION(post_unlock, user_unlock, "user.unlock")
ACTION(post_lock, user_lock, "user.lock")
ACTION(post_logout_all, user_logout_all, "user.logout_all")
ACTION(post_totp_reset, user_totp_reset, "user.totp_reset")

/* ---- list and export ----------------------------------------------------------- */

static err bool_param(struct req *r, const char *name, int *v_r)
{
    const char *s = req_query(r, name);
    *v_r = -1;
    if (!s)
        return E_OK;
    if (!strcmp(s, "true") || !strcmp(s, "1"))
        *v_r = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0"))
        *v_r = 0;
    else
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为 true 或 false", name);
    return E_OK;
}

static err list_filter(struct req *r, struct user_filter *f)
{
    static const struct {
        const char *name;
        enum user_sort sort;
    } sorts[] = {
        {"created_at", USER_SORT_CREATED_AT},     {"username", USER_SORT_USERNAME},
        {"display_name", USER_SORT_DISPLAY_NAME}, {"last_login_at", USER_SORT_LAST_LOGIN_AT},
        {"region_code", USER_SORT_REGION_CODE},
    };
    err e;
    *f = (struct user_filter){.sort = USER_SORT_CREATED_AT, .desc = true};
    if ((e = req_paging(r, &f->page, &f->page_size)) || (e = bool_param(r, "locked", &f->locked)) ||
        (e = bool_param(r, "disabled", &f->disabled)))
        return e;
    f->q = req_query(r, "q");
    if (f->q && (utf8_len(f->q) > 64 || !utf8_valid_text(f->q)))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索内容不能超过64个字符");
    f->role = req_query(r, "role");
    if (f->role && strlen(f->role) > 64)
        return err_set(E_INPUT, "invalid_parameter", "role", "角色标识不正确");
    const char *kind = req_query(r, "kind");
    if (kind && strcmp(kind, "staff") && strcmp(kind, "resident"))
        return err_set(E_INPUT, "invalid_parameter", "kind", "参数 kind 应为 staff 或 resident");
    f->kind = kind;
    const char *rc = req_query(r, "region_code");
    if (rc && (f->region_code = regcode_parse(rc, NULL)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    const char *dept = req_query(r, "department_id");
    if (dept && (f->department_id = id_parse(dept)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "department_id", "部门编号不正确");
    const char *sort = req_query(r, "sort");
    if (sort) {
        bool desc = *sort == '-';
        const char *name = desc ? sort + 1 : sort;
        size_t i = 0;
        while (i < sizeof sorts / sizeof sorts[0] && strcmp(sorts[i].name, name))
            i++;
        if (i == sizeof sorts / sizeof sorts[0])
            return err_set(E_INPUT, "invalid_parameter", "sort", "不支持按 %.32s 排序", name);
        f->sort = sorts[i].sort;
        f->desc = desc;
    }
    return E_OK;
}

/* Epoch ms as Beijing time, "" for 0. */
static const char *cn_time(arena *a, int64_t ms)
{
    if (ms <= 0 || ms >= USER_LOCKED_FOREVER)
        return ms >= USER_LOCKED_FOREVER ? "长期" : "";
    char buf[CHINA_TIME_LEN];
    china_time(ms, buf);
    return arena_strdup(a, buf);
}

static err users_csv(struct req *r, const struct user *items, size_t n)
{
    static const char *const head[] = {"用户名",   "姓名",   "类型",     "区划代码",
                                       "所属区划", "部门",   "角色",     "手机号",
                                       "状态",     "锁定至", "最近登录", "创建时间"};
    struct csv_out c;
    reply_csv_begin(r, &c);
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        csv_text(&c, head[i]);
    csv_row_end(&c);
    for (size_t i = 0; i < n; i++) {
        const struct user *u = &items[i];
        char code[19];
        regcode_format(u->region_code, code);
        const char *roles = "";
        for (size_t k = 0; k < u->n_roles; k++)
            roles = arena_printf(r->a, "%s%s%s", roles, k ? "、" : "", u->roles[k].name);
        bool locked = u->locked_until > now_ms();
        csv_text(&c, u->username);
        csv_text(&c, u->display_name);
        csv_text(&c, u->resident ? "居民" : "工作人员");
        csv_text(&c, code);
        csv_text(&c, u->region_name);
        csv_text(&c, u->department_name);
        csv_text(&c, roles);
        csv_text(&c, u->phone_masked);
        csv_text(&c, u->disabled ? "停用" : locked ? "锁定" : "正常");
        csv_text(&c, locked ? cn_time(r->a, u->locked_until) : "");
        csv_text(&c, cn_time(r->a, u->last_login_at));
        csv_text(&c, cn_time(r->a, u->created_at));
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "users.csv");
}

static err list_users(struct req *r)
{
    struct user_filter f;
    err e = list_filter(r, &f);
    if (e)
        return e;
    const char *format = req_query(r, "format");
    bool csv = format && !strcmp(format, "csv");
    if (format && !csv && strcmp(format, "json"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 应为 json 或 csv");
    if (csv) {
        f.page = 1;
        f.page_size = USER_EXPORT_MAX;
    }
    struct user *items;
    size_t n;
    int64_t total;
    if ((e = user_list(r->db, r->a, r->who, &f, &items, &n, &total)))
        return e;
    if (csv && total > USER_EXPORT_MAX)
        return err_set(E_INPUT, "export_too_large", NULL,
                       "导出数量超过%d条，请缩小筛选范围后分批导出", USER_EXPORT_MAX);
    char detail[48];
    snprintf(detail, sizeof detail, "count=%zu%s", n, csv ? ",format=csv" : "");
    req_audit(r, "user.list", "user", 0, "ok", detail);
    if (csv)
        return users_csv(r, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_json(&items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

const struct route user_routes[] = {
    {M_GET, "/api/v1/users", list_users, PERM_USER_READ, 0, NULL, "用户列表（可导出 CSV）", "user",
     0},
    {M_POST, "/api/v1/users", post_user, PERM_USER_WRITE, 0, create_body, "新增用户", "user", 0},
    {M_GET, "/api/v1/users/{id}", get_user, PERM_USER_READ, 0, NULL, "查看用户", "user", 0},
    {M_PATCH, "/api/v1/users/{id}", patch_user, PERM_USER_WRITE, 0, patch_body, "修改用户", "user",
     0},
    {M_DELETE, "/api/v1/users/{id}", del_user, PERM_USER_WRITE, 0, NULL,
     "删除用户（停用并注销其全部会话）", "user", 0},
    {M_POST, "/api/v1/users/{id}/password", post_password, PERM_USER_WRITE, 0, password_body,
     "重置用户密码", "user", 0},
    {M_POST, "/api/v1/users/{id}/unlock", post_unlock, PERM_USER_WRITE, 0, NULL, "解锁用户", "user",
     0},
    {M_POST, "/api/v1/users/{id}/lock", post_lock, PERM_USER_WRITE, 0, NULL, "锁定用户", "user", 0},
    {M_POST, "/api/v1/users/{id}/logout-all", post_logout_all, PERM_USER_WRITE, 0, NULL,
     "注销用户的全部会话", "user", 0},
    {M_POST, "/api/v1/users/{id}/totp/reset", post_totp_reset, PERM_USER_WRITE, 0, NULL,
     "重置用户的动态验证码", "user", 0},
};
const size_t user_routes_n = sizeof user_routes / sizeof user_routes[0];

/*
 * HTTP handlers of roles, permissions and departments (route table
 * `role_routes`): JSON in and out, everything else in role.c and
 * department.c through user/user.h.
 *
 * Roles are deployment-wide and guarded by role.read / role.write (the
 * security administrator); departments are regional, guarded by user.read /
 * user.write, and every handler passes the caller's scope down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "http/write.h"
#include "base/csv.h"
#include "base/regcode.h"
#include "base/time.h"
#include "security/audit.h"
#include "user/user.h"

/* ---- shared helpers ------------------------------------------------------ */

/* Epoch ms as China time, in the arena (a role's creation time is never 0). */
static const char *cn_time(arena *a, int64_t ms)
{
    char buf[CHINA_TIME_LEN];
    china_time(ms, buf);
    return arena_strdup(a, buf);
}

/* ---- permissions and roles ----------------------------------------------- */

static err get_permissions(struct req *r)
{
    json_t *items = json_array();
    for (int p = 1; p < PERM__COUNT; p++) {
        /* the area's words ride along, so the editor never shows a key */
        const char *name = perm_name((enum perm)p), *dot = strchr(name, '.');
        const char *area = arena_strndup(r->a, name, dot ? (size_t)(dot - name) : strlen(name));
        const char *area_label = perm_area_label(area);
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s}", "name", name, "label",
                                               perm_label((enum perm)p), "area", area, "area_label",
                                               area_label ? area_label : "其他"));
    }
    size_t n = json_array_size(items);
    return reply_page(r, items, (int64_t)n, 1, (int64_t)n);
}

/* `grantable`: may the caller give the role to a staff account (the user
 * form offers only these; user.c enforces the same rule on save). */
static json_t *role_json(const struct role *ro, const struct principal *who)
{
    json_t *perms = json_array();
    for (int p = 1; p < PERM__COUNT; p++)
        if (perm_set_has(ro->perms, (enum perm)p))
            json_array_append_new(perms, json_string(perm_name((enum perm)p)));
    json_t *o = json_object();
    json_set_id(o, "id", ro->id);
    json_object_set_new(o, "key", json_string(ro->key));
    json_object_set_new(o, "name", json_string(ro->name));
    json_object_set_new(o, "description", json_string(ro->description));
    json_object_set_new(o, "builtin", json_boolean(ro->builtin));
    json_object_set_new(o, "require_totp", json_boolean(ro->require_totp));
    json_object_set_new(o, "permissions", perms);
    json_object_set_new(o, "user_count", json_integer(ro->user_count));
    json_object_set_new(o, "grantable", json_boolean(user_may_grant(who, ro->key, ro->perms)));
    json_object_set_new(o, "created_at", json_integer(ro->created_at));
    json_object_set_new(o, "updated_at", json_integer(ro->updated_at));
    return o;
}

/* The "permissions" array as a set; unknown names are an input error. */
static err parse_perms(json_t *arr, perm_set *perms_r)
{
    perm_set set = {{0}};
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return err_set(E_INPUT, "invalid_type", "permissions", "权限应为权限名称的数组");
        enum perm p = perm_parse(json_string_value(v));
        if (p == PERM_NONE)
            return err_set(E_INPUT, "invalid_permission", "permissions", "未知的权限：%.40s",
                           json_string_value(v));
        perm_set_add(&set, p);
    }
    *perms_r = set;
    return E_OK;
}

static err role_input_from(struct req *r, struct role_input *in)
{
    json_t *b = r->body;
    *in = (struct role_input){
        .key = json_str(b, "key"),
        .name = json_str(b, "name"),
        .description = json_str(b, "description"),
    };
    if (json_has(b, "permissions")) {
        in->has_perms = true;
        err e = parse_perms(json_object_get(b, "permissions"), &in->perms);
        if (e)
            return e;
    }
    if (json_has(b, "require_totp")) {
        in->has_require_totp = true;
        in->require_totp = json_bool(b, "require_totp", false);
    }
    return E_OK;
}

static err reply_role(struct req *r, int status, int64_t id)
{
    struct role ro;
    err e = role_find(r->db, r->a, id, &ro);
    return e ? e : reply_json(r, status, role_json(&ro, r->who));
}

static err get_roles(struct req *r)
{
    int64_t page, size, total;
    struct role *items;
    size_t n;
    err e = req_paging(r, &page, &size);
    if (e || (e = role_list(r->db, r->a, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, role_json(&items[i], r->who));
    return reply_page(r, arr, total, page, size);
}

static err post_role(struct req *r)
{
    struct role_input in;
    int64_t id = 0;
    err e = role_input_from(r, &in);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = role_create(r->db, &in, &id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "role.create", "role", 0, e, NULL);
    }
    req_audit(r, "role.create", "role", id, "ok", arena_printf(r->a, "key=%s", in.key));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_role(r, 201, id);
}

static err get_role(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_role(r, 200, id);
}

static err patch_role(struct req *r)
{
    int64_t id;
    struct role_input in;
    err e = req_param_id(r, 0, &id);
    if (e || (e = role_input_from(r, &in)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = role_update(r->db, id, &in))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "role.update", "role", id, e, NULL);
    }
    const char *detail = req_body_fields(r);
    if (in.has_perms) {
        /* which rights the role's users hold from now on */
        for (int p = 1; p < PERM__COUNT; p++)
            if (perm_set_has(in.perms, (enum perm)p))
                detail = arena_printf(
                    r->a, "%s%s%s", detail,
                    strchr(detail, ' ') ? "," : " permissions=", perm_name((enum perm)p));
    }
    req_audit(r, "role.update", "role", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_role(r, 200, id);
}

static err delete_role(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = role_delete(r->db, id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "role.delete", "role", id, e, NULL);
    }
    req_audit(r, "role.delete", "role", id, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* ---- departments ---------------------------------------------------------- */

static json_t *department_json(const struct department *dp)
{
    json_t *o = json_object();
    json_set_id(o, "id", dp->id);
    json_object_set_new(o, "name", json_string(dp->name));
    json_set_region(o, dp->region_code, dp->region_name);
    if (dp->parent_id)
        json_set_id(o, "parent_id", dp->parent_id);
    else
        json_object_set_new(o, "parent_id", json_null());
    json_object_set_new(o, "child_count", json_integer(dp->child_count));
    json_object_set_new(o, "user_count", json_integer(dp->user_count));
    json_object_set_new(o, "created_at", json_integer(dp->created_at));
    json_object_set_new(o, "updated_at", json_integer(dp->updated_at));
    return o;
}

static err parse_region(const char *s, const char *field, int64_t *code_r)
{
    int64_t code = s ? regcode_parse(s, NULL) : -1;
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", field, "所属区划不存在或不在您的管辖范围内");
    *code_r = code;
    return E_OK;
}

static err department_input_from(struct req *r, struct department_input *in)
{
    json_t *b = r->body;
    *in = (struct department_input){.name = json_str(b, "name")};
    err e;
    if (json_has(b, "region_code") &&
        (e = parse_region(json_str(b, "region_code"), "region_code", &in->region_code)))
        return e;
    if (json_has(b, "parent_id")) {
        in->has_parent = true;
        const char *p = json_str(b, "parent_id"); /* NULL: JSON null, a root */
        if (p && (in->parent_id = id_parse(p)) <= 0)
            return err_set(E_INPUT, "invalid_parent", "parent_id",
                           "上级部门不存在或不在您的管辖范围内");
    }
    return E_OK;
}

static err department_filter_from(struct req *r, struct department_filter *f)
{
    *f = (struct department_filter){.q = req_query(r, "q"), .sort = req_query(r, "sort")};
    const char *rc = req_query(r, "region_code");
    err e;
    if (rc && *rc && (e = parse_region(rc, "region_code", &f->region_code)))
        return e;
    const char *pid = req_query(r, "parent_id");
    if (pid && *pid) {
        f->has_parent = true;
        /* parent_id=0 lists the roots */
        if (strcmp(pid, "0") && (f->parent_id = id_parse(pid)) <= 0)
            return err_set(E_INPUT, "invalid_parameter", "parent_id",
                           "参数 parent_id 应为部门编号");
    }
    if (f->q && utf8_len(f->q) > 64)
        return err_set(E_INPUT, "too_long", "q", "查询内容不能超过64个字符");
    return E_OK;
}

#define DEPARTMENT_EXPORT_MAX 10000

static err departments_csv(struct req *r, struct department_filter *f)
{
    struct department *items;
    size_t n;
    int64_t total;
    f->page = 1;
    f->page_size = DEPARTMENT_EXPORT_MAX;
    err e = department_list(r->db, r->a, &r->who->scope, f, &items, &n, &total);
    if (e)
        return e;
    if (total > DEPARTMENT_EXPORT_MAX)
        return err_set(E_INPUT, "export_too_large", NULL,
                       "导出记录超过%d条，请缩小查询范围后再导出", DEPARTMENT_EXPORT_MAX);
    struct csv_out c;
    reply_csv_begin(r, &c);
    static const char *const head[] = {"部门编号",     "部门名称",   "所属区划代码", "所属区划",
                                       "上级部门编号", "下级部门数", "用户数",       "创建时间"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        csv_text(&c, head[i]);
    csv_row_end(&c);
    for (size_t i = 0; i < n; i++) {
        char code[19];
        regcode_format(items[i].region_code, code);
        csv_int(&c, items[i].id);
        csv_text(&c, items[i].name);
        csv_text(&c, code);
        csv_text(&c, items[i].region_name);
        if (items[i].parent_id)
            csv_int(&c, items[i].parent_id);
        else
            csv_num(&c, NULL);
        csv_int(&c, items[i].child_count);
        csv_int(&c, items[i].user_count);
        csv_text(&c, cn_time(r->a, items[i].created_at));
        csv_row_end(&c);
    }
    req_audit(r, "department.list", "department", 0, "ok",
              arena_printf(r->a, "format=csv count=%zu", n));
    return reply_csv(r, &c, "departments.csv");
}

static err get_departments(struct req *r)
{
    struct department_filter f;
    err e = department_filter_from(r, &f);
    if (e)
        return e;
    const char *format = req_query(r, "format");
    if (format && !strcmp(format, "csv"))
        return departments_csv(r, &f);
    if (format && strcmp(format, "json"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 只能是 json 或 csv");
    if ((e = req_paging(r, &f.page, &f.page_size)))
        return e;
    struct department *items;
    size_t n;
    int64_t total;
    if ((e = department_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, department_json(&items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

struct tree_node {
    int64_t id;
    json_t *json;
};

static int tree_node_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct tree_node *)a)->id, y = ((const struct tree_node *)b)->id;
    return (x > y) - (x < y);
}

/*
 * The departments of the caller's scope, nested. A department whose parent
 * lies outside the scope (above the caller) is a root of the caller's tree.
 */
static err get_department_tree(struct req *r)
{
    struct department_filter f = {0};
    const char *rc = req_query(r, "region_code");
    err e;
    if (rc && *rc && (e = parse_region(rc, "region_code", &f.region_code)))
        return e;
    struct department *items;
    size_t n;
    int64_t total;
    if ((e = department_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    /* nodes sorted by id, so each parent is found by binary search */
    struct tree_node *nodes = arena_alloc(r->a, (n ? n : 1) * sizeof *nodes);
    for (size_t i = 0; i < n; i++) {
        nodes[i].id = items[i].id;
        nodes[i].json = department_json(&items[i]);
        json_object_set_new(nodes[i].json, "children", json_array());
    }
    qsort(nodes, n, sizeof *nodes, tree_node_cmp);
    json_t *roots = json_array();
    for (size_t i = 0; i < n; i++) {
        struct tree_node key = {.id = items[i].parent_id}, *parent = NULL;
        if (key.id)
            parent = bsearch(&key, nodes, n, sizeof *nodes, tree_node_cmp);
        struct tree_node self = {.id = items[i].id};
        struct tree_node *me = bsearch(&self, nodes, n, sizeof *nodes, tree_node_cmp);
        json_array_append(parent ? json_object_get(parent->json, "children") : roots, me->json);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(nodes[i].json);
    return reply_json(r, 200, json_pack("{s:o,s:I}", "items", roots, "total", (json_int_t)n));
}

static err reply_department(struct req *r, int status, int64_t id)
{
    struct department dp;
    err e = department_find(r->db, r->a, &r->who->scope, id, &dp);
    return e ? e : reply_json(r, status, department_json(&dp));
}

static err post_department(struct req *r)
{
    struct department_input in;
    int64_t id = 0;
    err e = department_input_from(r, &in);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = department_create(r->db, &r->who->scope, &in, &id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "department.create", "department", 0, e, NULL);
    }
    req_audit(r, "department.create", "department", id, "ok", "fields=name,region_code,parent_id");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_department(r, 201, id);
}

static err get_department(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_department(r, 200, id);
}

static err patch_department(struct req *r)
{
    int64_t id;
    struct department_input in;
    err e = req_param_id(r, 0, &id);
    if (e || (e = department_input_from(r, &in)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = department_update(r->db, r->a, &r->who->scope, id, &in))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "department.update", "department", id, e, NULL);
    }
    req_audit(r, "department.update", "department", id, "ok", req_body_fields(r));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_department(r, 200, id);
}

static err delete_department(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = department_delete(r->db, r->a, &r->who->scope, id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "department.delete", "department", id, e, NULL);
    }
    req_audit(r, "department.delete", "department", id, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

/* ---- the route table -------------------------------------------------------- */

static const struct jfield role_body[] = {
    {"key", J_STRING, JF_REQUIRED, 3, 32, "角色标识", NULL},
    {"name", J_STRING, JF_REQUIRED, 1, 32, "角色名称", NULL},
    {"description", J_STRING, 0, 0, 200, "角色说明", NULL},
    {"permissions", J_ARRAY, 0, 0, 0, "权限", NULL},
    {"require_totp", J_BOOL, 0, 0, 0, "需要动态口令", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The key names the role in the audit log and in scripts: fixed once made. */
static const struct jfield role_patch_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 32, "角色名称", NULL},
    {"description", J_STRING, 0, 0, 200, "角色说明", NULL},
    {"permissions", J_ARRAY, 0, 0, 0, "权限", NULL},
    {"require_totp", J_BOOL, 0, 0, 0, "需要动态口令", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct jfield department_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 64, "部门名称", NULL},
    {"region_code", J_STRING, JF_REQUIRED, 0, 18, "所属区划", NULL},
    {"parent_id", J_STRING, JF_NULLABLE, 1, 19, "上级部门", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct route role_routes[] = {
    {M_GET, "/api/v1/permissions", get_permissions, PERM_ROLE_READ, 0, NULL,
     "权限清单（名称与中文说明）", "role", 0},
    {M_GET, "/api/v1/roles", get_roles, PERM_ROLE_READ, 0, NULL, "角色列表（含用户数）", "role", 0},
    {M_POST, "/api/v1/roles", post_role, PERM_ROLE_WRITE, 0, role_body, "新增角色", "role", 0},
    {M_GET, "/api/v1/roles/{id}", get_role, PERM_ROLE_READ, 0, NULL, "角色详情", "role", 0},
    {M_PATCH, "/api/v1/roles/{id}", patch_role, PERM_ROLE_WRITE, 0, role_patch_body,
     "修改角色（内置角色不可修改）", "role", 0},
    {M_DELETE, "/api/v1/roles/{id}", delete_role, PERM_ROLE_WRITE, 0, NULL,
     "删除角色（内置或使用中的角色不可删除）", "role", 0},
    {M_GET, "/api/v1/departments", get_departments, PERM_USER_READ, 0, NULL,
     "部门列表（region_code、parent_id（0 为顶级）、q、sort、分页，format=csv 导出）", "department",
     0},
    /* before /{id}, which would otherwise take "tree" for an id */
    {M_GET, "/api/v1/departments/tree", get_department_tree, PERM_USER_READ, 0, NULL,
     "部门树（管辖范围内）", "department", 0},
    {M_POST, "/api/v1/departments", post_department, PERM_USER_WRITE, 0, department_body,
     "新增部门", "department", 0},
    {M_GET, "/api/v1/departments/{id}", get_department, PERM_USER_READ, 0, NULL, "部门详情",
     "department", 0},
    {M_PATCH, "/api/v1/departments/{id}", patch_department, PERM_USER_WRITE, 0, department_body,
     "修改部门", "department", 0},
    {M_DELETE, "/api/v1/departments/{id}", delete_department, PERM_USER_WRITE, 0, NULL,
     "删除部门（有下级部门或用户时不可删除）", "department", 0},
};
const size_t role_routes_n = sizeof role_routes / sizeof role_routes[0];

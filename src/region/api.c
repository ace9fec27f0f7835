/*
 * HTTP handlers of the region capability: JSON <-> region/region.h, and the
 * route table `region_routes`.
 *
 * Codes travel as written strings ("110101001001"); a code in the path that
 * is malformed, unknown or outside the caller's scope answers the same 404.
 * Region data is not personal data, so reads are not audited; every write
 * is ("region.create|update|delete|import", object id the padded code).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "region/region.h"
#include "security/audit.h"

#define TREE_DEFAULT_DEPTH 4
#define TREE_MAX_DEPTH     7
#define IMPORT_MAX_BODY    (16u << 20)

static json_t *code_json(int64_t code)
{
    char buf[19];
    regcode_format(code, buf);
    return json_string(buf);
}

/* The reply object of a region; the boundary member only when asked. */
static json_t *region_json(const struct region *g, bool with_boundary)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", code_json(g->code));
    json_object_set_new(o, "name", json_string(g->name));
    json_object_set_new(o, "level", json_string(region_level_name(g->level)));
    json_object_set_new(o, "level_label", json_string(region_level_label(g->level)));
    json_object_set_new(o, "parent_code", g->parent_code ? code_json(g->parent_code) : json_null());
    json_object_set_new(
        o, "center", g->has_center ? json_pack("[ff]", g->center_lng, g->center_lat) : json_null());
    json_object_set_new(o, "has_children", json_boolean(g->has_children));
    if (with_boundary) {
        json_t *b = g->boundary ? json_loads(g->boundary, 0, NULL) : NULL;
        json_object_set_new(o, "boundary", b ? b : json_null());
    }
    return o;
}

/* The padded code of path parameter 0; a malformed code is not found. */
static err path_code(struct req *r, int64_t *code_r)
{
    int64_t code = regcode_parse(r->params[0], NULL);
    if (code < 0)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    *code_r = code;
    return E_OK;
}

static err query_bool(struct req *r, const char *name, bool *v_r)
{
    int64_t v = 0;
    err e = req_query_int64(r, name, 0, 1, &v);
    *v_r = v == 1;
    return e;
}

/* ---- reads ---------------------------------------------------------------- */

static err reply_regions(struct req *r, struct region *items, size_t n, int64_t total, int64_t page,
                         int64_t size, bool with_boundary)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, region_json(&items[i], with_boundary));
    return reply_page(r, arr, total, page, size);
}

static err list_or_children(struct req *r, struct region_filter *f)
{
    struct region *items;
    size_t n;
    int64_t total;
    err e = region_list(r->db, &r->who->scope, f, r->a, &items, &n, &total);
    if (e)
        return e;
    return reply_regions(r, items, n, total, f->page, f->page_size, f->with_boundary);
}

static err get_regions(struct req *r)
{
    struct region_filter f = {0};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e || (e = query_bool(r, "with_boundary", &f.with_boundary)))
        return e;
    const char *pc = req_query(r, "parent_code");
    if (pc && (f.parent_code = regcode_parse(pc, NULL)) < 0)
        return err_set(E_INPUT, "invalid_parameter", "parent_code", "上级代码格式不正确");
    const char *lv = req_query(r, "level");
    if (lv && !(f.level = region_level_parse_any(lv)))
        return err_set(E_INPUT, "invalid_parameter", "level",
                       "层级应为 province/city/district/street/community/grid/building");
    const char *q = req_query(r, "q");
    if (q && *q) {
        if (!utf8_valid_text(q) || utf8_len(q) > REGION_NAME_MAX)
            return err_set(E_INPUT, "invalid_parameter", "q", "查询名称不能超过%d个字符",
                           REGION_NAME_MAX);
        f.q = q;
    }
    const char *sort = req_query(r, "sort");
    if (sort) {
        static const struct {
            const char *name;
            enum region_sort sort;
        } sorts[] = {
            {"code", REGION_SORT_CODE}, {"name", REGION_SORT_NAME}, {"level", REGION_SORT_LEVEL}};
        f.desc = sort[0] == '-';
        size_t i = 0;
        while (i < sizeof sorts / sizeof sorts[0] && strcmp(sort + f.desc, sorts[i].name))
            i++;
        if (i == sizeof sorts / sizeof sorts[0])
            return err_set(E_INPUT, "invalid_parameter", "sort",
                           "排序字段应为 code、name 或 level（前加 - 表示倒序）");
        f.sort = sorts[i].sort;
    }
    return list_or_children(r, &f);
}

static err get_region(struct req *r)
{
    int64_t code = 0;
    struct region g;
    err e = path_code(r, &code);
    const char *path;
    if (e || (e = region_find(r->db, &r->who->scope, code, true, r->a, &g)) ||
        (e = region_path(r->db, g.code, LEVEL_STREET, r->a, &path)))
        return e;
    json_t *o = region_json(&g, true);
    json_object_set_new(o, "path", json_string(path)); /* street down: where it is, in words */
    return reply_json(r, 200, o);
}

static err get_children(struct req *r)
{
    int64_t code = 0;
    struct region g;
    struct region_filter f = {0};
    err e = path_code(r, &code);
    if (e || (e = region_find(r->db, &r->who->scope, code, false, r->a, &g)))
        return e;
    if ((e = req_paging(r, &f.page, &f.page_size)) ||
        (e = query_bool(r, "with_boundary", &f.with_boundary)))
        return e;
    f.parent_code = code;
    return list_or_children(r, &f);
}

static err get_tree(struct req *r)
{
    int64_t root = r->who->region_code, depth = TREE_DEFAULT_DEPTH;
    bool with_boundary;
    const char *rs = req_query(r, "root");
    if (rs && (root = regcode_parse(rs, NULL)) < 0)
        return err_set(E_INPUT, "invalid_parameter", "root", "根节点区划代码格式不正确");
    err e = req_query_int64(r, "depth", 0, TREE_MAX_DEPTH, &depth);
    if (e || (e = query_bool(r, "with_boundary", &with_boundary)))
        return e;
    struct region *items;
    size_t n;
    if ((e = region_tree(r->db, &r->who->scope, root, (int)depth, with_boundary, r->a, &items, &n)))
        return e;
    /* items come in code order, which is depth first: a stack of open
     * ancestors places each node under the nearest one that contains it */
    enum region_level last = (enum region_level)(items[0].level + depth);
    json_t *stack_node[8];
    int64_t stack_code[8];
    int top = 0;
    json_t *tree = region_json(&items[0], with_boundary);
    if (items[0].level < last)
        json_object_set_new(tree, "children", json_array());
    stack_node[0] = tree;
    stack_code[0] = items[0].code;
    for (size_t i = 1; i < n; i++) {
        while (top > 0 && !regcode_within(items[i].code, stack_code[top]))
            top--;
        json_t *node = region_json(&items[i], with_boundary);
        bool open = items[i].level < last;
        if (open)
            json_object_set_new(node, "children", json_array());
        json_array_append_new(json_object_get(stack_node[top], "children"), node);
        if (open && top < 7) {
            stack_node[++top] = node;
            stack_code[top] = items[i].code;
        }
    }
    return reply_json(r, 200, tree);
}

/* ---- writes --------------------------------------------------------------- */

static const char *const level_names[] = {"province",  "city", "district", "street",
                                          "community", "grid", "building", NULL};

static const struct jfield create_body[] = {
    {"code", J_STRING, JF_REQUIRED, 0, 18, "区划代码", NULL},
    {"name", J_STRING, JF_REQUIRED, 0, REGION_NAME_MAX, "区划名称", NULL},
    {"level", J_STRING, JF_REQUIRED, 0, 0, "层级", level_names},
    {"parent_code", J_STRING, JF_NULLABLE, 0, 18, "上级代码", NULL},
    {"boundary", J_OBJECT, JF_NULLABLE, 0, 0, "边界", NULL},
    {"center", J_ARRAY, JF_NULLABLE, 0, 0, "中心点", NULL},
    {NULL},
};

/* A new code is not an update: POST …/move rewrites the subtree and the
 * records that hang from it. */
static const struct jfield patch_body[] = {
    {"name", J_STRING, JF_REQUIRED, 0, REGION_NAME_MAX, "区划名称", NULL},
    {"boundary", J_OBJECT, JF_NULLABLE, 0, 0, "边界", NULL},
    {"center", J_ARRAY, JF_NULLABLE, 0, 0, "中心点", NULL},
    {NULL},
};

/* "center": [lng, lat] (a null is handled by the caller). */
static err center_from(json_t *v, double *lng_r, double *lat_r)
{
    if (json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1)))
        return err_set(E_INPUT, "invalid_center", "center", "中心点应为 [经度, 纬度]");
    *lng_r = json_number_value(json_array_get(v, 0));
    *lat_r = json_number_value(json_array_get(v, 1));
    return region_center_check(*lng_r, *lat_r, "center");
}

/* The geometry object as text for the contract. */
static const char *boundary_text(struct req *r, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!s)
        return NULL;
    char *copy = arena_strdup(r->a, s);
    free(s);
    return copy;
}

static err post_region(struct req *r)
{
    bool with_boundary;
    err e = query_bool(r, "with_boundary", &with_boundary);
    if (e)
        return e;
    struct region_input in = {.parent_code = -1};
    in.code = regcode_parse(json_str(r->body, "code"), NULL);
    if (in.code < 0)
        return err_set(E_INPUT, "invalid_region_code", "code",
                       "区划代码格式不正确：应为 12、15 或 18 位数字");
    in.level = region_level_parse(json_str(r->body, "level"));
    const char *pc = json_str(r->body, "parent_code");
    if (pc && (in.parent_code = regcode_parse(pc, NULL)) < 0)
        return err_set(E_INPUT, "parent_mismatch", "parent_code", "上级代码格式不正确");
    in.name = json_str(r->body, "name");
    json_t *b = json_object_get(r->body, "boundary");
    if (json_is_object(b) && !(in.boundary = boundary_text(r, b)))
        return err_set(E_NOMEM, NULL, NULL, NULL);
    json_t *c = json_object_get(r->body, "center");
    if (json_is_array(c)) {
        if ((e = center_from(c, &in.center_lng, &in.center_lat)))
            return e;
        in.has_center = true;
    }
    struct region g;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = region_create(r->db, &r->who->scope, &in, r->a, &g))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "region.create", "region", in.code, e, NULL);
    }
    req_audit(r, "region.create", "region", g.code, "ok",
              arena_printf(r->a, "level=%s", region_level_name(g.level)));
    if ((e = db_release(r->db, true)))
        return e;
    if (with_boundary && (e = region_find(r->db, &r->who->scope, g.code, true, r->a, &g)))
        return e;
    return reply_json(r, 201, region_json(&g, with_boundary));
}

static err patch_region(struct req *r)
{
    int64_t code = 0;
    bool with_boundary;
    err e = path_code(r, &code);
    if (e || (e = query_bool(r, "with_boundary", &with_boundary)))
        return e;
    struct region_patch p = {.name = json_str(r->body, "name")};
    json_t *b = json_object_get(r->body, "boundary");
    if (b) {
        p.set_boundary = true;
        if (json_is_object(b) && !(p.boundary = boundary_text(r, b)))
            return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    json_t *c = json_object_get(r->body, "center");
    if (c) {
        p.set_center = true;
        if (json_is_array(c)) {
            if ((e = center_from(c, &p.center_lng, &p.center_lat)))
                return e;
            p.has_center = true;
        }
    }
    struct region g;
    const char *changed;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = region_update(r->db, &r->who->scope, code, &p, r->a, &g, &changed))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "region.update", "region", code, e, NULL);
    }
    req_audit(r, "region.update", "region", code, "ok", arena_printf(r->a, "fields=%s", changed));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, region_json(&g, with_boundary));
}

static err delete_region(struct req *r)
{
    int64_t code = 0;
    err e = path_code(r, &code);
    if (e)
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = region_delete(r->db, &r->who->scope, code))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "region.delete", "region", code, e, NULL);
    }
    req_audit(r, "region.delete", "region", code, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

static const struct jfield move_body[] = {
    {"code", J_STRING, JF_REQUIRED, 0, 18, "新区划代码", NULL},
    {NULL},
};

static err move_region(struct req *r)
{
    int64_t code = 0;
    err e = path_code(r, &code);
    if (e)
        return e;
    int64_t to = regcode_parse(json_str(r->body, "code"), NULL);
    if (to < 0)
        return err_set(E_INPUT, "invalid_region_code", "code",
                       "区划代码格式不正确：应为 12、15 或 18 位数字");
    struct region g;
    int64_t moved = 0;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = region_move(r->db, &r->who->scope, code, to, r->a, &g, &moved))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "region.move", "region", code, e, NULL);
    }
    char from[19], dest[19];
    regcode_format(code, from);
    regcode_format(to, dest);
    req_audit(r, "region.move", "region", to, "ok",
              arena_printf(r->a, "from=%s to=%s records=%lld", from, dest, (long long)moved));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = region_json(&g, false);
    json_object_set_new(o, "records_moved", json_integer(moved));
    return reply_json(r, 200, o);
}

/* Does Content-Type `ct` name media type `type` (parameters ignored)? */
static bool media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct && !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static err post_import(struct req *r)
{
    const char *ct = req_header(r, "Content-Type");
    enum region_format fmt;
    if (media_is(ct, "text/csv"))
        fmt = REGION_CSV;
    else if (media_is(ct, "application/geo+json") || media_is(ct, "application/json"))
        fmt = REGION_GEOJSON;
    else
        return err_set(E_UNSUPPORTED, "unsupported_media_type", NULL,
                       "导入文件类型应为 text/csv 或 application/geo+json");
    size_t n;
    const char *data = req_raw_body(r, &n);
    struct region_import_report rep;
    db_hold(r->db); /* the rows and their entry commit together (security/audit.h) */
    err e = region_import(r->db, &r->who->scope, fmt, data, n, r->a, &rep);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "region.import", "region", 0, e, NULL);
    }
    req_audit(r, "region.import", "region", 0, "ok",
              arena_printf(r->a, "format=%s,imported=%lld,updated=%lld,errors=%lld",
                           fmt == REGION_CSV ? "csv" : "geojson", (long long)rep.imported,
                           (long long)rep.updated, (long long)rep.error_count));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *errs = json_array();
    for (size_t i = 0; i < rep.n_errors; i++) {
        const struct region_import_error *x = &rep.errors[i];
        json_array_append_new(errs,
                              json_pack("{s:I,s:s,s:s,s:s}", "row", (json_int_t)x->row, "field",
                                        x->field, "code", x->code, "message", x->message));
    }
    return reply_json(r, 200,
                      json_pack("{s:I,s:I,s:o,s:I}", "imported", (json_int_t)rep.imported,
                                "updated", (json_int_t)rep.updated, "errors", errs, "error_count",
                                (json_int_t)rep.error_count));
}

/* Fixed paths (tree, import) come before "{code}", which would match them. */
const struct route region_routes[] = {
    {M_GET, "/api/v1/regions", get_regions, PERM_REGION_READ, 0, NULL, "区划列表", "region", 0},
    {M_POST, "/api/v1/regions", post_region, PERM_REGION_WRITE, 0, create_body, "新增区划",
     "region", 0},
    {M_GET, "/api/v1/regions/tree", get_tree, PERM_REGION_READ, 0, NULL, "区划树", "region", 0},
    {M_POST, "/api/v1/regions/import", post_import, PERM_REGION_WRITE, ROUTE_RAW_BODY, NULL,
     "导入区划（CSV 或 GeoJSON）", "region", IMPORT_MAX_BODY},
    {M_GET, "/api/v1/regions/{code}", get_region, PERM_REGION_READ, 0, NULL, "区划详情", "region",
     0},
    {M_PATCH, "/api/v1/regions/{code}", patch_region, PERM_REGION_WRITE, 0, patch_body,
     "修改区划名称、边界或中心点", "region", 0},
    {M_DELETE, "/api/v1/regions/{code}", delete_region, PERM_REGION_WRITE, 0, NULL, "删除区划",
     "region", 0},
    {M_POST, "/api/v1/regions/{code}/move", move_region, PERM_REGION_WRITE, 0, move_body,
     "移动区划（改挂到同级的另一上级，整棵子树及其人员、场所等随之改码）", "region", 0},
    {M_GET, "/api/v1/regions/{code}/children", get_children, PERM_REGION_READ, 0, NULL, "下级区划",
     "region", 0},
};
const size_t region_routes_n = sizeof region_routes / sizeof region_routes[0];

/*
 * The OpenAPI 3 document, generated from the route table and the routes'
 * body descriptors, so it cannot drift from what the router serves.
 */
#include "http/internal.h"

#include <string.h>

static const char *method_key(enum http_method m)
{
    switch (m) {
    case M_GET:
        return "get";
    case M_POST:
        return "post";
    case M_PATCH:
        return "patch";
    case M_PUT:
        return "put";
    case M_DELETE:
        return "delete";
    }
    return "get";
}

static json_t *field_schema(const struct jfield *f)
{
    static const char *types[] = {"", "string", "integer", "number", "boolean", "object", "array"};
    json_t *s = json_pack("{s:s}", "type", types[f->type]);
    if (f->label)
        json_object_set_new(s, "description", json_string(f->label));
    if (f->flags & JF_NULLABLE)
        json_object_set_new(s, "nullable", json_true());
    if (f->type == J_STRING && f->max)
        json_object_set_new(s, "maxLength", json_integer(f->max));
    if (f->type == J_STRING && f->min)
        json_object_set_new(s, "minLength", json_integer(f->min));
    if ((f->type == J_INT || f->type == J_NUMBER) && (f->min || f->max)) {
        json_object_set_new(s, "minimum", json_integer(f->min));
        json_object_set_new(s, "maximum", json_integer(f->max));
    }
    if (f->oneof) {
        json_t *e = json_array();
        for (const char *const *o = f->oneof; *o; o++)
            json_array_append_new(e, json_string(*o));
        json_object_set_new(s, "enum", e);
    }
    if (f->vocab) {
        json_t *e = json_array();
        for (size_t i = 0; i < f->vocab->n; i++)
            if (f->vocab->words[i].name)
                json_array_append_new(e, json_string(f->vocab->words[i].name));
        /* an array's elements are the vocabulary's names (a bit set) */
        if (f->type == J_ARRAY)
            json_object_set_new(s, "items", json_pack("{s:s,s:o}", "type", "string", "enum", e));
        else
            json_object_set_new(s, "enum", e);
    }
    return s;
}

static json_t *body_schema(const struct jfield *fields, bool partial)
{
    json_t *props = json_object(), *req = json_array();
    for (const struct jfield *f = fields; f->name; f++) {
        json_object_set_new(props, f->name, field_schema(f));
        if (!partial && (f->flags & JF_REQUIRED))
            json_array_append_new(req, json_string(f->name));
    }
    json_t *s = json_pack("{s:s,s:o,s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    return s;
}

static json_t *error_response(const char *desc)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/Error");
}

/* The error reply; `code` is one of the table of http/errors.c, each named
 * with its meaning, so a client can switch on codes the document promises. */
static json_t *error_schema(void)
{
    json_t *codes = json_array(), *meanings = json_object();
    for (const struct http_error_code *c = http_error_codes; c->slug; c++) {
        json_array_append_new(codes, json_string(c->slug));
        json_object_set_new(meanings, c->slug, json_string(c->meaning));
    }
    json_t *code = json_pack("{s:s,s:o,s:s,s:o}", "type", "string", "enum", codes, "description",
                             "错误代码（说明见 x-enum-descriptions 与 docs/errors.md）",
                             "x-enum-descriptions", meanings);
    json_t *item = json_pack("{s:s,s:{s:{s:s},s:O,s:{s:s}}}", "type", "object", "properties",
                             "field", "type", "string", "code", code, "message", "type", "string");
    return json_pack("{s:s,s:[s],s:{s:{s:s,s:[s,s],s:{s:o,s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},"
                     "s:{s:s,s:s},s:{s:s,s:o}}}}}",
                     "type", "object", "required", "error", "properties", "error", "type", "object",
                     "required", "code", "message", "properties", "code", code, "message", "type",
                     "string", "description", "给用户看的中文说明", "field", "type", "string",
                     "description", "出错的输入字段", "existing_id", "type", "string",
                     "description", "已存在的记录（409 重复时）", "locked_until", "type", "integer",
                     "description", "锁定到期时间（423）", "fields", "type", "array", "items",
                     item);
}

json_t *openapi_document(void)
{
    size_t n;
    const struct route *const *rs = router_all(&n);
    json_t *paths = json_object();
    for (size_t i = 0; i < n; i++) {
        const struct route *rt = rs[i];
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        json_t *op = json_object();
        json_object_set_new(op, "summary", json_string(rt->summary ? rt->summary : ""));
        json_object_set_new(op, "tags", json_pack("[s]", rt->tag ? rt->tag : "system"));
        if (rt->perm != PERM_NONE)
            json_object_set_new(op, "x-permission", json_string(perm_name(rt->perm)));
        if (rt->flags & ROUTE_PUBLIC)
            json_object_set_new(op, "security", json_array());
        json_t *params = json_array();
        for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *e = strchr(p, '}');
            char name[32];
            size_t len =
                (size_t)(e - p - 1) < sizeof name - 1 ? (size_t)(e - p - 1) : sizeof name - 1;
            memcpy(name, p + 1, len);
            name[len] = '\0';
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in", "path",
                                            "required", 1, "schema", "type", "string"));
        }
        /* every signed-in read may be narrowed to part of the caller's
         * scope (server.c, narrow_within) */
        bool narrows = rt->method == M_GET && !(rt->flags & ROUTE_PUBLIC);
        if (narrows)
            json_array_append_new(params,
                                  json_pack("{s:s}", "$ref", "#/components/parameters/within"));
        if (json_array_size(params))
            json_object_set_new(op, "parameters", params);
        else
            json_decref(params);
        if (rt->body && !(rt->flags & ROUTE_RAW_BODY))
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
                                          "application/json", "schema",
                                          body_schema(rt->body, rt->method == M_PATCH)));
        json_t *resp = json_object();
        json_object_set_new(resp, rt->method == M_POST ? "201" : "200",
                            rt->flags & ROUTE_CAPPED_TOTAL
                                ? json_pack("{s:s,s:{s:{s:{s:s}}}}", "description",
                                            "成功（一页列表，总数可能封顶）", "content",
                                            "application/json", "schema", "$ref",
                                            "#/components/schemas/CappedPage")
                                : json_pack("{s:s}", "description", "成功"));
        json_object_set_new(resp, "400", error_response("请求内容不正确"));
        if (!(rt->flags & ROUTE_PUBLIC)) {
            json_object_set_new(resp, "401", error_response("未登录或登录已过期"));
            json_object_set_new(resp, "403", error_response("没有权限"));
        }
        if (strchr(rt->pattern, '{') || narrows)
            json_object_set_new(resp, "404", error_response("记录不存在或不在辖区内"));
        if (rt->method != M_GET)
            json_object_set_new(resp, "409", error_response("记录已存在、已被他人修改或状态冲突"));
        json_object_set_new(op, "responses", resp);
        json_object_set_new(item, method_key(rt->method), op);
    }
    json_t *within =
        json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:s}}", "name", "within", "in", "query", "required", 0,
                  "description",
                  "只看管辖范围内某个区划（含下级）的数据：列表、统计、导出都随之缩小；"
                  "区划不在管辖范围内时 404（记入审计），格式错误时 400（field=within）",
                  "schema", "type", "string", "pattern", "^([0-9]{12}|[0-9]{15}|[0-9]{18})$");
    /* reply_page_capped's body */
    json_t *capped = json_pack(
        "{s:s,s:[s,s,s,s,s],s:{s:{s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s},s:{s:s}}}", "type", "object",
        "required", "items", "total", "total_capped", "page", "page_size", "properties", "items",
        "type", "array", "total", "type", "integer", "description",
        "符合条件的条数；total_capped 为 true 时为封顶值（FK_LIST_COUNT_CAP，默认 10000），"
        "实际至少这么多",
        "total_capped", "type", "boolean", "description",
        "计数是否在封顶值处停止：为 true 时显示“10000+”，本页满页即可继续翻页", "page", "type",
        "integer", "page_size", "type", "integer");
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:{s:o,s:o},s:{s:o},s:{s:{s:s,s:s,s:s},s:{s:s,s:s}}},"
        "s:[{s:[]},{s:[]}]}",
        "openapi", "3.0.3", "info", "title", "fangkong 多级防控平台 API", "version", "1",
        "description",
        "所有时间为 UTC 毫秒；id 为字符串形式的 64 位整数；错误统一为 "
        "{error:{code,message,field}}。",
        "paths", paths, "components", "schemas", "Error", error_schema(), "CappedPage", capped,
        "parameters", "within", within, "securitySchemes", "cookie", "type", "apiKey", "in",
        "cookie", "name", "fk_session", "bearer", "type", "http", "scheme", "bearer", "security",
        "cookie", "bearer");
}

/*
 * The server's own routes: liveness, metrics and the OpenAPI document.
 */
#include "http/internal.h"

#include <string.h>

static err get_healthz(struct req *r)
{
    int64_t one = 0;
    err e = db_query_int64(r->db, "SELECT 1", &one);
    if (e)
        return err_set(E_UNAVAILABLE, "database_down", NULL, "数据库不可用");
    return reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static err get_metrics(struct req *r)
{
    err e = metrics_admit(r);
    if (e)
        return e;
    char *text = metrics_render(r->a, r->db);
    return reply_bytes(r, 200, "text/plain; version=0.0.4", text, strlen(text));
}

static err get_openapi(struct req *r)
{
    return reply_json(r, 200, openapi_document());
}

const struct route http_builtin_routes[] = {
    {M_GET, "/healthz", get_healthz, PERM_NONE, ROUTE_PUBLIC, NULL, "存活检查", "system", 0},
    {M_GET, "/metrics", get_metrics, PERM_NONE, ROUTE_PUBLIC, NULL, "Prometheus 指标", "system", 0},
    {M_GET, "/api/v1/openapi.json", get_openapi, PERM_NONE, ROUTE_PUBLIC, NULL, "OpenAPI 文档",
     "system", 0},
};
const size_t http_builtin_routes_n = sizeof http_builtin_routes / sizeof http_builtin_routes[0];

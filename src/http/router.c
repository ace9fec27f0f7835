/*
 * The route table: capabilities register declarative tables at start-up;
 * requests are matched segment by segment ("{name}" matches one segment),
 * then admitted by the pending-step gate and the route's permission.
 */
#include "http/internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct route *routes[HTTP_ROUTES_MAX];
static size_t nroutes;

/* The {name} segments of a pattern. */
static int pattern_params(const char *p)
{
    int n = 0;
    for (; *p; p++)
        n += *p == '{';
    return n;
}

err router_add(const struct route *rs, size_t n)
{
    if (n > HTTP_ROUTES_MAX - nroutes)
        return err_set(E_INTERNAL, NULL, NULL,
                       "路由表已满：%zu 条路由放不下另外 %zu 条（HTTP_ROUTES_MAX = %d）", nroutes,
                       n, HTTP_ROUTES_MAX);
    /* checked here, once, so matching never meets a pattern it cannot
     * capture (a parameter past the array would be silently lost) */
    for (size_t i = 0; i < n; i++)
        if (!rs[i].pattern || !rs[i].fn || pattern_params(rs[i].pattern) > HTTP_PARAMS_MAX)
            return err_set(E_INTERNAL, NULL, NULL, "路由 %s 无效：缺少处理函数或路径参数超过 %d 个",
                           rs[i].pattern ? rs[i].pattern : "(null)", HTTP_PARAMS_MAX);
    for (size_t i = 0; i < n; i++)
        routes[nroutes++] = &rs[i];
    return E_OK;
}

const struct route *const *router_all(size_t *n_r)
{
    *n_r = nroutes;
    return routes;
}

/* Match path against pattern; capture {params} into r->params. */
static bool match(struct req *r, const char *pattern, const char *path, bool capture)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!pe || n == 0)
                return false;
            assert(np < HTTP_PARAMS_MAX); /* router_add refused longer patterns */
            if (capture && np < HTTP_PARAMS_MAX)
                r->params[np] = arena_strndup(r->a, s, n);
            np++;
            p = pe + 1;
            s += n;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    return *p == '\0' && *s == '\0';
}

int router_match(struct req *r, const struct route **rt_r, bool *method_mismatch_r)
{
    *rt_r = NULL;
    *method_mismatch_r = false;
    for (size_t i = 0; i < nroutes; i++) {
        if (!match(r, routes[i]->pattern, r->path, false))
            continue;
        if (routes[i]->method != r->method) {
            *method_mismatch_r = true;
            continue;
        }
        match(r, routes[i]->pattern, r->path, true);
        *rt_r = routes[i];
        return (int)i;
    }
    return -1;
}

const struct route *router_find(enum http_method m, const char *path)
{
    for (size_t i = 0; i < nroutes; i++)
        if (routes[i]->method == m && match(NULL, routes[i]->pattern, path, false))
            return routes[i];
    return NULL;
}

size_t router_max_body(size_t dflt)
{
    size_t n = dflt;
    for (size_t i = 0; i < nroutes; i++)
        if (routes[i]->max_body > n)
            n = routes[i]->max_body;
    return n;
}

err router_admit(const struct req *r, const struct route *rt)
{
    const struct principal *who = r->who;
    /* One gate for every route, so no handler can forget it: until the
     * pending step is done the session is good for that step only. */
    if (who && !(rt->flags & (ROUTE_PENDING_OK | ROUTE_PUBLIC))) {
        switch (auth_pending(who)) {
        case AUTH_PENDING_PASSWORD:
            return err_set(E_FORBIDDEN, "password_change_required", NULL,
                           "请先修改密码后再继续操作");
        case AUTH_PENDING_TOTP:
            return err_set(E_FORBIDDEN, "totp_enrolment_required", NULL,
                           "您的角色要求使用动态验证码，请先完成绑定后再继续操作");
        case AUTH_PENDING_NONE:
            break;
        }
    }
    if (rt->perm != PERM_NONE && (!who || !principal_can(who, rt->perm)))
        return err_set(E_FORBIDDEN, NULL, NULL, NULL);
    return E_OK;
}

err req_param_id(struct req *r, int i, int64_t *id_r)
{
    int64_t id = i >= 0 && i < HTTP_PARAMS_MAX ? id_parse(r->params[i]) : 0;
    if (id <= 0)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    *id_r = id;
    return E_OK;
}

err req_query_int64(struct req *r, const char *name, int64_t min, int64_t max, int64_t *v_r)
{
    const char *s = req_query(r, name);
    if (!s)
        return E_OK;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为 %lld 到 %lld 之间的整数",
                       name, (long long)min, (long long)max);
    *v_r = v;
    return E_OK;
}

err req_paging(struct req *r, int64_t *page_r, int64_t *size_r)
{
    *page_r = 1;
    *size_r = 20;
    err e = req_query_int64(r, "page", 1, 1000000, page_r);
    if (!e)
        e = req_query_int64(r, "page_size", 1, 200, size_r);
    return e;
}

/*
 * HTTP handlers of parking guidance (parking.h; docs/parking.md):
 *
 *   POST  /api/v1/parking/garages               a garage with its gates (parking.write)
 *   GET   /api/v1/parking/garages               garages in scope with live counts (parking.read)
 *   GET   /api/v1/parking/garages/{id}          one, with today's occupancy and the cars inside
 *   PATCH /api/v1/parking/garages/{id}          name, total, reserved (parking.write)
 *   POST  /api/v1/parking/garages/{id}/recount  {occupied}: staff counted (parking.write)
 *   PUT   /api/v1/parking/garages/{id}/gates    {gates}: the gates replaced (parking.write)
 *   DELETE /api/v1/parking/garages/{id}         gates detached, cars dropped (parking.write)
 *   GET   /api/v1/me/parking                    the resident's community's garages
 *   GET   /api/v1/public/parking/{token}        the counts, no sign-in
 *   GET   /public/parking/{token}               the gate's display page, no sign-in
 *
 * Counts hold no personal data; the cars inside (masked plates) are audited.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "http/write.h"
#include "parking/parking.h"
#include "person/person.h"
#include "security/audit.h"

static const struct jfield garage_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 60, "车库名称", NULL, NULL},
    {"region_code", J_STRING, JF_REQUIRED, 12, 18, "所属社区", NULL, NULL},
    {"total", J_INT, JF_REQUIRED, 1, PARKING_SPACES_MAX, "车位总数", NULL, NULL},
    {"reserved", J_INT, 0, 0, PARKING_SPACES_MAX, "预留车位", NULL, NULL},
    {"gates", J_ARRAY, JF_REQUIRED, 0, 0, "出入口", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const char *const gate_dirs[] = {"in", "out", "both", NULL};

static err parse_gates(struct req *r, struct parking_gate **gates_r, size_t *n_r)
{
    json_t *arr = json_object_get(r->body, "gates");
    size_t n = json_array_size(arr);
    if (n < 1 || n > PARKING_GATES_MAX)
        return err_set(E_INPUT, "invalid_gates", "gates", "车库须有 1–%d 个出入口",
                       PARKING_GATES_MAX);
    struct parking_gate *g = arena_alloc(r->a, n * sizeof *g);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(arr, i);
        const char *field = arena_printf(r->a, "gates[%zu]", i);
        const char *dir = json_is_object(x) ? json_str(x, "direction") : NULL;
        const char *venue = json_is_object(x) ? json_str(x, "venue_id") : NULL;
        bool ok_dir = false;
        for (size_t k = 0; dir && gate_dirs[k]; k++)
            ok_dir |= !strcmp(dir, gate_dirs[k]);
        if (!venue || id_parse(venue) <= 0 || !ok_dir || json_object_size(x) != 2)
            return err_set(E_INPUT, "invalid_gates", field,
                           "出入口须为 {venue_id, direction: in | out | both}");
        g[i] = (struct parking_gate){id_parse(venue), dir};
    }
    *gates_r = g;
    *n_r = n;
    return E_OK;
}

static err post_garage(struct req *r)
{
    enum region_level lv;
    struct parking_garage g = {
        .name = json_str(r->body, "name"),
        .region_code = regcode_parse(json_str(r->body, "region_code"), &lv),
        .total = json_int(r->body, "total", 0),
        .reserved = json_int(r->body, "reserved", 0),
    };
    struct parking_gate *gates = NULL;
    size_t n = 0;
    err e = parse_gates(r, &gates, &n);
    if (e)
        return e;
    if (g.region_code <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r,
                       parking_create(r->db, r->a, &r->who->scope, r->who->user_id, &g, gates, n));
    if ((e = req_write_done(r, e, "parking.create", "parking_garage", e ? 0 : g.id,
                            req_body_fields(r))))
        return e;
    json_t *o;
    return (e = parking_json(r->db, r->a, &g, true, &o)) ? e : reply_json(r, 201, o);
}

static err get_garages(struct req *r)
{
    json_t *items;
    err e = parking_list(r->db, r->a, &r->who->scope, true, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static err find(struct req *r, const char *action, struct parking_garage *g)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (e || (e = parking_find(r->db, r->a, &r->who->scope, id, g)))
        return audit_refusal(r->db, r->who, r->ip, action, "parking_garage", id, e, NULL);
    return E_OK;
}

static err get_garage(struct req *r)
{
    struct parking_garage g;
    json_t *o, *hours, *cars;
    err e = find(r, "parking.read", &g);
    if (e || (e = parking_json(r->db, r->a, &g, true, &o)))
        return e;
    if ((e = parking_today(r->db, r->a, &g, &hours, &cars))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "hours", hours);
    json_object_set_new(o, "cars", cars);
    /* the cars inside are plates (masked, still personal data): audited */
    req_audit(r, "parking.read", "parking_garage", g.id, "ok",
              arena_printf(r->a, "cars=%zu", json_array_size(cars)));
    return reply_json(r, 200, o);
}

static const struct jfield garage_patch[] = {
    {"name", J_STRING, 0, 1, 60, "车库名称", NULL, NULL},
    {"total", J_INT, 0, 1, PARKING_SPACES_MAX, "车位总数", NULL, NULL},
    {"reserved", J_INT, 0, 0, PARKING_SPACES_MAX, "预留车位", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err reply_garage(struct req *r, int64_t id)
{
    struct parking_garage g;
    json_t *o;
    err e = parking_find(r->db, r->a, &r->who->scope, id, &g);
    return e ? e : (e = parking_json(r->db, r->a, &g, true, &o)) ? e : reply_json(r, 200, o);
}

static err patch_garage(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if (!json_object_size(r->body))
        return err_set(E_INPUT, "empty_update", NULL, "没有要修改的内容");
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, parking_update(r->db, r->a, &r->who->scope, id, json_str(r->body, "name"),
                                         json_int(r->body, "total", -1),
                                         json_int(r->body, "reserved", -1)));
    if ((e = req_write_done(r, e, "parking.update", "parking_garage", id, req_body_fields(r))))
        return e;
    return reply_garage(r, id);
}

static const struct jfield recount_body[] = {
    {"occupied", J_INT, JF_REQUIRED, 0, PARKING_SPACES_MAX, "在场车辆数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_recount(struct req *r)
{
    int64_t id = 0;
    int64_t occupied = json_int(r->body, "occupied", -1);
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, parking_recount(r->db, r->a, &r->who->scope, id, occupied));
    if ((e = req_write_done(r, e, "parking.recount", "parking_garage", id,
                            arena_printf(r->a, "occupied=%lld", (long long)occupied))))
        return e;
    return reply_garage(r, id);
}

static const struct jfield gates_body[] = {
    {"gates", J_ARRAY, JF_REQUIRED, 0, 0, "出入口", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err put_gates(struct req *r)
{
    int64_t id = 0;
    struct parking_gate *gates = NULL;
    size_t n = 0;
    err e = req_param_id(r, 0, &id);
    if (e || (e = parse_gates(r, &gates, &n)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, parking_set_gates(r->db, r->a, &r->who->scope, id, gates, n));
    if ((e = req_write_done(r, e, "parking.gates", "parking_garage", id, req_body_fields(r))))
        return e;
    return reply_garage(r, id);
}

static err delete_garage(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, parking_delete(r->db, r->a, &r->who->scope, id));
    if ((e = req_write_done(r, e, "parking.delete", "parking_garage", id, "")))
        return e;
    return reply_empty(r);
}

static err get_me_parking(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct person p;
    err e = person_self_find(r->db, r->a, r->who, &p);
    if (e)
        return e;
    int64_t community = access_community(p.region_code);
    json_t *items;
    if (!community)
        items = json_array();
    else {
        struct scope sc = scope_of(community);
        if ((e = parking_list(r->db, r->a, &sc, false, &items)))
            return e;
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

/* ---- public ---------------------------------------------------------------------------- */

static err public_garage(struct req *r, struct parking_garage *g)
{
    const char *token = r->params[0];
    if (!token || strlen(token) != PARKING_TOKEN_HEX ||
        strspn(token, "0123456789abcdef") != PARKING_TOKEN_HEX)
        return err_set(E_NOT_FOUND, "not_found", NULL, "车库不存在");
    return parking_by_token(r->db, r->a, token, g);
}

static err get_public_json(struct req *r)
{
    struct parking_garage g;
    err e = public_garage(r, &g);
    if (e)
        return e;
    r->cache_control = "no-cache";
    return reply_json(r, 200,
                      json_pack("{s:s, s:I, s:I, s:I}", "name", g.name, "total",
                                (json_int_t)(g.total - g.reserved), "free", (json_int_t)g.free,
                                "updated_at", (json_int_t)g.updated_at));
}

/* the name is staff's text: escaped for HTML */
static const char *html_escape(arena *a, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"' || *p == '\'') ? 6 : 1;
    char *out = arena_alloc(a, n + 1), *o = out;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&'    ? "&amp;"
                          : *p == '<'  ? "&lt;"
                          : *p == '>'  ? "&gt;"
                          : *p == '"'  ? "&quot;"
                          : *p == '\'' ? "&#39;"
                                       : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static err get_public_page(struct req *r)
{
    struct parking_garage g;
    err e = public_garage(r, &g);
    if (e)
        return e;
    /* a display at the gate: counts only, refreshed by the browser itself
     * every 10 s (no script) */
    const char *html = arena_printf(
        r->a,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"10\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>%s 剩余车位</title><style>body{margin:0;background:#111;color:#fff;"
        "font-family:sans-serif;text-align:center}h1{font-size:6vw;margin:4vh 0}"
        ".free{font-size:30vw;font-weight:bold;color:%s}.sub{font-size:4vw;color:#bbb}</style>"
        "</head><body><h1>%s</h1><div class=\"sub\">剩余车位</div>"
        "<div class=\"free\" data-test=\"free\">%lld</div>"
        "<div class=\"sub\">共 %lld 个车位%s</div></body></html>",
        html_escape(r->a, g.name), g.free ? "#2ecc71" : "#e74c3c", html_escape(r->a, g.name),
        (long long)g.free, (long long)(g.total - g.reserved), g.free ? "" : " · 车位已满");
    r->cache_control = "no-cache";
    return reply_bytes(r, 200, "text/html; charset=utf-8", html, strlen(html));
}

const struct route parking_routes[] = {
    {M_POST, "/api/v1/parking/garages", post_garage, PERM_PARKING_WRITE, 0, garage_body,
     "登记车库（车位与出入口）", "parking", 0},
    {M_GET, "/api/v1/parking/garages", get_garages, PERM_PARKING_READ, 0, NULL,
     "辖区车库与实时空余车位", "parking", 0},
    {M_GET, "/api/v1/parking/garages/{id}", get_garage, PERM_PARKING_READ, 0, NULL,
     "车库详情（今日占用、在场车辆）", "parking", 0},
    {M_PATCH, "/api/v1/parking/garages/{id}", patch_garage, PERM_PARKING_WRITE, 0, garage_patch,
     "修改车库", "parking", 0},
    {M_POST, "/api/v1/parking/garages/{id}/recount", post_recount, PERM_PARKING_WRITE, 0,
     recount_body, "人工盘点在场车辆数", "parking", 0},
    {M_PUT, "/api/v1/parking/garages/{id}/gates", put_gates, PERM_PARKING_WRITE, 0, gates_body,
     "修改车库出入口", "parking", 0},
    {M_DELETE, "/api/v1/parking/garages/{id}", delete_garage, PERM_PARKING_WRITE, 0, NULL,
     "删除车库（解除出入口）", "parking", 0},
    {M_GET, "/api/v1/me/parking", get_me_parking, PERM_SELF, 0, NULL, "本社区车库空余车位",
     "parking", 0},
    {M_GET, "/api/v1/public/parking/{token}", get_public_json, PERM_NONE, ROUTE_PUBLIC, NULL,
     "车库空余车位（无需登录）", "public", 0},
    {M_GET, "/public/parking/{token}", get_public_page, PERM_NONE, ROUTE_PUBLIC, NULL,
     "车库入口空余车位显示屏（无需登录）", "public", 0},
};
const size_t parking_routes_n = sizeof parking_routes / sizeof parking_routes[0];

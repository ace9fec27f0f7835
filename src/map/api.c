/*
 * HTTP handlers of the one-map (map.h, docs/map.md), permission
 * stats.read, every read inside the caller's scope (narrowed by ?within=):
 *
 *   GET /api/v1/map/regions?region=<code>&measure=<name>
 *                             the region's children as GeoJSON, coloured by
 *                             the measure (default person.registered)
 *   GET /api/v1/map/layers/{layer}?region=<code>
 *                             one layer's points (map_layer_vocab)
 *   GET /api/v1/map/card?kind=<kind>&id=<id>
 *                             a clicked thing's card (map_card_vocab; a
 *                             region's id is its code)
 *   GET /api/v1/map/stream    Server-Sent Events: `event: changed`,
 *                             data {"region_code"} of a community whose
 *                             counters moved, at most once a second each
 *
 * Figures are counters and layers hold no person (people are counted per
 * grid): these reads are not audited, like the statistics API's.
 */
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "map/map.h"

#define MAP_DEFAULT_MEASURE "person.registered"

/* ?region=<code>: a well-formed code (default the scope's root). */
static err region_param(struct req *r, int64_t *code_r)
{
    const char *v = req_query(r, "region");
    *code_r = r->who->scope.lo;
    if (!v)
        return E_OK;
    enum region_level lv;
    int64_t code = regcode_parse(v, &lv);
    if (code <= 0)
        return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
    *code_r = code;
    return E_OK;
}

static err not_found_region(err e)
{
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_found", "region", "区划不存在");
    return e;
}

static err get_regions(struct req *r)
{
    const char *name = req_query(r, "measure");
    if (!name || !*name)
        name = MAP_DEFAULT_MEASURE;
    const struct stats_measure *m = stats_measure_find(name);
    if (!m)
        return err_set(E_INPUT, "unknown_measure", "measure", "未知的统计指标：%.64s", name);
    int64_t code;
    json_t *fc;
    err e = region_param(r, &code);
    if (e || (e = not_found_region(map_regions(r->db, r->a, &r->who->scope, code, m, &fc))))
        return e;
    return reply_json(r, 200, fc);
}

static err get_layer(struct req *r)
{
    int layer = vocab_parse(&map_layer_vocab, r->params[0]);
    if (layer <= 0)
        return err_set(E_INPUT, "unknown_layer", "layer", "未知的地图图层：%.64s", r->params[0]);
    int64_t code;
    json_t *fc;
    err e = region_param(r, &code);
    if (e || (e = not_found_region(
                  map_layer(r->db, r->a, &r->who->scope, code, (enum map_layer)layer, &fc))))
        return e;
    return reply_json(r, 200, fc);
}

static err get_card(struct req *r)
{
    const char *k = req_query(r, "kind"), *v = req_query(r, "id");
    if (!k || !*k)
        return err_set(E_INPUT, "required", "kind", "请指定地图对象类型");
    int kind = vocab_parse(&map_card_vocab, k);
    if (kind <= 0)
        return err_set(E_INPUT, "invalid_value", "kind", "未知的地图对象类型：%.64s", k);
    if (!v || !*v)
        return err_set(E_INPUT, "required", "id", "请指定地图对象");
    int64_t id = kind == MAP_CARD_REGION ? regcode_parse(v, NULL) : id_parse(v);
    if (id <= 0)
        return err_set(E_INPUT, kind == MAP_CARD_REGION ? "invalid_region" : "invalid_value", "id",
                       kind == MAP_CARD_REGION ? "区划代码格式不正确" : "编号格式不正确");
    json_t *card;
    err e = map_card(r->db, r->a, r->who, (enum map_card_kind)kind, id, &card);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_found", "id", "对象不存在或不在您的管辖范围内");
    if (e)
        return e;
    return reply_json(r, 200, card);
}

static err get_stream(struct req *r)
{
    /* changes only, nothing to replay: a page refetches what it shows */
    return req_stream_open(r, "map", &r->who->scope, 0);
}

const struct route map_routes[] = {
    {M_GET, "/api/v1/map/regions", get_regions, PERM_STATS_READ, 0, NULL,
     "一张图：下级区划边界及指标（GeoJSON）", "map", 0},
    {M_GET, "/api/v1/map/layers/{layer}", get_layer, PERM_STATS_READ, 0, NULL,
     "一张图：专题图层（GeoJSON）", "map", 0},
    {M_GET, "/api/v1/map/card", get_card, PERM_STATS_READ, 0, NULL, "一张图：点击查看", "map", 0},
    {M_GET, "/api/v1/map/stream", get_stream, PERM_STATS_READ, ROUTE_STREAM, NULL,
     "一张图：数据变化实时推送（Server-Sent Events）", "map", 0},
};
const size_t map_routes_n = sizeof map_routes / sizeof map_routes[0];

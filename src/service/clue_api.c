/*
 * HTTP handlers of environment clues (service.h "environment clues";
 * docs/community-services.md "Environment clues"):
 *
 *   POST /api/v1/me/clues          a resident reports {category, text, lat?, lng?, attachments?}:
 * 201 GET  /api/v1/me/clues          the resident's own clues with the staff's result, paging GET
 * /api/v1/me/clues/{id}     one of them with its photos (404 for another's) GET
 * /api/v1/service/clues     clues in scope: state=open|done|cancelled, category, paging
 *
 * Staff handle a clue as its task (GET/POST /api/v1/tasks…, kind env_clue):
 * completing it with {result: {text}} is the result the resident reads.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "http/write.h"
#include "security/audit.h"
#include "service/service.h"

static const struct jfield clue_body[] = {
    {"category", J_STRING, JF_REQUIRED, 0, 0, "线索类别", NULL, &clue_category_vocab},
    {"text", J_STRING, JF_REQUIRED, 1, CLUE_TEXT_MAX, "问题描述", NULL, NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL, NULL},
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_my_clue(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    bool lat = json_is_number(json_object_get(r->body, "lat"));
    bool lng = json_is_number(json_object_get(r->body, "lng"));
    struct clue_new n = {
        .category = vocab_parse(&clue_category_vocab, json_str(r->body, "category")),
        .text = json_str(r->body, "text"),
        .has_pos = lat,
        .lat = json_num(r->body, "lat", 0),
        .lng = json_num(r->body, "lng", 0),
        .attachments = json_object_get(r->body, "attachments"),
    };
    int64_t id = 0;
    err e = E_OK;
    if (lat != lng)
        e = err_set(E_INPUT, "invalid_position", lat ? "lng" : "lat", "经纬度须同时提供");
    db_hold(r->db); /* the entry commits with the clue (security/audit.h) */
    if (!e)
        e = service_clue_submit(r->db, r->a, r->who, &n, now_ms(), &id);
    if ((e = req_write_done(r, e, "clue.submit", "env_clue", id, NULL)))
        return e;
    json_t *item;
    if ((e = service_clue_mine_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 201, item);
}

static err get_my_clues(struct req *r)
{
    int64_t page, size, total = 0;
    json_t *items;
    err e = req_paging(r, &page, &size);
    if (e || (e = service_clue_mine(r->db, r->a, r->who, page, size, &items, &total)))
        return e;
    return reply_page(r, items, total, page, size);
}

static err get_my_clue(struct req *r)
{
    int64_t id;
    json_t *item;
    err e = req_param_id(r, 0, &id);
    if (e || (e = service_clue_mine_get(r->db, r->a, r->who, id, &item)))
        return e;
    return reply_json(r, 200, item);
}

static err get_clues(struct req *r)
{
    const char *st = req_query(r, "state");
    if (st && *st && strcmp(st, "open") && strcmp(st, "done") && strcmp(st, "cancelled"))
        return err_set(E_INPUT, "invalid_parameter", "state", "状态只能为 open、done 或 cancelled");
    int cat = 0;
    const char *c = req_query(r, "category");
    if (c && *c && (cat = vocab_parse(&clue_category_vocab, c)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "category", "线索类别的取值不正确");
    int64_t page, size, total = 0;
    json_t *items;
    err e = req_paging(r, &page, &size);
    if (e ||
        (e = service_clue_list(r->db, r->a, &r->who->scope, st, cat, page, size, &items, &total)))
        return e;
    req_audit(r, "clue.list", "env_clue", 0, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, page, size);
}

const struct route service_clue_routes[] = {
    {M_POST, "/api/v1/me/clues", post_my_clue, PERM_SELF, 0, clue_body, "提交环境线索（居民）",
     "self", 0},
    {M_GET, "/api/v1/me/clues", get_my_clues, PERM_SELF, 0, NULL, "我的环境线索及处理结果（居民）",
     "self", 0},
    {M_GET, "/api/v1/me/clues/{id}", get_my_clue, PERM_SELF, 0, NULL, "我的环境线索详情（居民）",
     "self", 0},
    {M_GET, "/api/v1/service/clues", get_clues, PERM_SERVICE_READ, 0, NULL,
     "辖区内环境线索（state, category）", "service", 0},
};
const size_t service_clue_routes_n = sizeof service_clue_routes / sizeof service_clue_routes[0];

/*
 * HTTP handlers of automatic monitoring (monitor.h; docs/monitor.md):
 *
 *   GET  /api/v1/monitor/rules      the rules and the kinds (monitor.read)
 *   PUT  /api/v1/monitor/rules      replace them {rules: [...]} (monitor.write), audited
 *   POST /api/v1/monitor/run        evaluate now (monitor.write), audited; the result and
 *                                   the current breaches in scope
 *   GET  /api/v1/monitor/breaches   today's current breaches in scope; region=<code>
 *                                   narrows it, all=1 adds those that cleared since
 *
 * Rules and breaches hold no personal data (regions, sites and venues by
 * name, counts), so reads are not audited, as the statistics are not.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/write.h"
#include "monitor/monitor.h"
#include "security/audit.h"

static err rules_reply(struct req *r, int status)
{
    struct monitor_rule *rules;
    size_t n;
    err e = monitor_rules_load(r->db, r->a, &rules, &n);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, monitor_rule_json(&rules[i]));
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "kinds", monitor_kinds_json());
    return reply_json(r, status, o);
}

static err get_rules(struct req *r)
{
    return rules_reply(r, 200);
}

static const struct jfield rules_body[] = {
    {"rules", J_ARRAY, JF_REQUIRED, 0, 0, "规则列表", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err put_rules(struct req *r)
{
    struct monitor_rule *rules = NULL;
    size_t n = 0;
    err e = monitor_rules_parse(json_object_get(r->body, "rules"), r->a, &rules, &n);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, monitor_rules_save(r->db, r->a, rules, n, r->who->user_id));
    if ((e = req_write_done(r, e, "monitor.rules", "monitor_rule", 0,
                            arena_printf(r->a, "rules=%zu", n))))
        return e;
    return rules_reply(r, 200);
}

/* today's breaches in the scope, narrowed by ?region= like the statistics */
static err breaches(struct req *r, json_t **items_r)
{
    struct scope sc = r->who->scope;
    const char *v = req_query(r, "region");
    if (v && *v) {
        enum region_level lv;
        int64_t code = regcode_parse(v, &lv);
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", "region", "区划代码格式不正确");
        if (!scope_has(&sc, code)) /* refused like a record of another region, audited */
            return audit_refusal(r->db, r->who, r->ip, "monitor.breaches", "region", 0,
                                 err_set(E_NOT_FOUND, "not_found", "region", "区划不存在"), v);
        struct scope narrowed = scope_of(code);
        if (narrowed.hi > sc.hi)
            narrowed.hi = sc.hi;
        sc = narrowed;
    }
    const char *all = req_query(r, "all");
    if (all && *all && strcmp(all, "0") && strcmp(all, "1"))
        return err_set(E_INPUT, "invalid_parameter", "all", "all 只能为 0 或 1");
    struct monitor_filter f = {.day = china_day(now_ms()), .with_cleared = all && *all == '1'};
    return monitor_breaches(r->db, &sc, &f, items_r);
}

static json_t *breaches_reply(json_t *items)
{
    json_t *o = json_object();
    char date[CHINA_TIME_LEN];
    china_time(now_ms(), date);
    date[10] = '\0';
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "total", json_integer((json_int_t)json_array_size(items)));
    json_object_set_new(o, "items", items);
    return o;
}

static err get_breaches(struct req *r)
{
    json_t *items;
    err e = breaches(r, &items);
    return e ? e : reply_json(r, 200, breaches_reply(items));
}

static err post_run(struct req *r)
{
    struct monitor_result res = {0};
    err e = monitor_evaluate(r->db, now_ms(), &res);
    if (e)
        return e;
    req_audit(r, "monitor.run", "monitor_rule", 0, "ok",
              arena_printf(r->a, "rules=%lld breaches=%lld raised=%lld", (long long)res.rules,
                           (long long)res.breaches, (long long)res.raised));
    json_t *items;
    if ((e = breaches(r, &items)))
        return e;
    json_t *o = breaches_reply(items);
    json_object_set_new(o, "rules", json_integer(res.rules));
    json_object_set_new(o, "breaches", json_integer(res.breaches));
    json_object_set_new(o, "raised", json_integer(res.raised));
    return reply_json(r, 200, o);
}

const struct route monitor_routes[] = {
    {M_GET, "/api/v1/monitor/rules", get_rules, PERM_MONITOR_READ, 0, NULL, "监测预警规则",
     "monitor", 0},
    {M_PUT, "/api/v1/monitor/rules", put_rules, PERM_MONITOR_WRITE, 0, rules_body,
     "修改监测预警规则（整表替换：带 id 的修改，不带 id 的新增，未列出的删除）", "monitor", 0},
    {M_POST, "/api/v1/monitor/run", post_run, PERM_MONITOR_WRITE, 0, NULL,
     "立即执行监测预警规则，返回辖区内当前预警", "monitor", 0},
    {M_GET, "/api/v1/monitor/breaches", get_breaches, PERM_MONITOR_READ, 0, NULL,
     "辖区内今日当前预警（region 筛选，all=1 含已解除）", "monitor", 0},
};
const size_t monitor_routes_n = sizeof monitor_routes / sizeof monitor_routes[0];

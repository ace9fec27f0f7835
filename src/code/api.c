/*
 * HTTP handlers of health codes, their rules and their inputs:
 *
 *   GET  /api/v1/persons/{id}/code           current code {person_id, colour, label, reasons,
 * updated_at} GET  /api/v1/persons/{id}/code/history   changes, newest first GET  /api/v1/me/code
 * the resident's own code, masked name, latest test GET  /api/v1/code-rules                  the
 * ordered rules in force PUT  /api/v1/code-rules                  replace them; 202 with the
 * recompute job GET /api/v1/persons/{id}/isolations (written by the observation list,
 * src/case) POST/GET /api/v1/persons/{id}/{contacts|stays|test-results} POST/GET
 * /api/v1/risk-areas (zones: zone_api.c)
 *
 * Reads and writes about a person are audited with the person as object.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/qr.h"
#include "base/regcode.h"
#include "security/token.h"
#include "code/code.h"
#include "region/region.h"
#include "job/import.h"
#include "job/job.h"
#include "person/person.h"
#include "security/mask.h"
#include "security/audit.h"
#include "http/export.h"
#include "base/xlsx.h"

#define UPLOAD_MAX (20u * 1024 * 1024)

#define TIME_MAX 4102444800000LL /* 2100-01-01 */

static json_t *reasons_json(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    return v ? v : json_array();
}

static json_t *code_json(int64_t person_id, const struct code_current *c)
{
    json_t *o = json_object();
    json_set_id(o, "person_id", person_id);
    json_object_set_new(o, "colour", json_string(code_colour_name(c->colour)));
    json_object_set_new(o, "label", json_string(code_colour_label(c->colour)));
    json_object_set_new(o, "reasons", reasons_json(c->reasons));
    json_object_set_new(o, "updated_at", json_integer(c->updated_at));
    return o;
}

static err get_code(struct req *r)
{
    int64_t id;
    struct code_current c;
    err e = req_param_id(r, 0, &id);
    if (e || (e = code_find(r->db, r->a, &r->who->scope, id, &c)))
        return e;
    req_audit(r, "code.read", "person", id, "ok", NULL);
    return reply_json(r, 200, code_json(id, &c));
}

static err get_code_history(struct req *r)
{
    int64_t id, page, size, total;
    struct code_change *items;
    size_t n;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_paging(r, &page, &size)) ||
        (e = code_history(r->db, r->a, &r->who->scope, id, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_set_id(o, "id", items[i].id);
        json_object_set_new(o, "at", json_integer(items[i].at));
        json_object_set_new(o, "colour", json_string(code_colour_name(items[i].colour)));
        json_object_set_new(o, "reasons", reasons_json(items[i].reasons));
        json_object_set_new(o, "cause", json_string(items[i].cause));
        json_set_id(o, "user_id", items[i].user_id);
        json_array_append_new(arr, o);
    }
    req_audit(r, "code.history", "person", id, "ok", arena_printf(r->a, "count=%zu", n));
    return reply_page(r, arr, total, page, size);
}

const char *code_pass_refusal(enum code_colour c)
{
    switch (c) {
    case CODE_GREEN:
        return NULL;
    case CODE_YELLOW:
        return "黄码期间通行证无效，请按要求完成核酸检测，转为绿码后再出行";
    case CODE_RED:
        break;
    }
    return "红码期间通行证无效，请居家不外出并联系社区";
}

static code_pass_fn pass_of;

err code_on_pass(code_pass_fn fn)
{
    if (fn && pass_of && pass_of != fn)
        return err_set(E_INTERNAL, NULL, NULL, "code_on_pass 已有订阅者：每个钩子只能注册一个");
    pass_of = fn;
    return E_OK;
}

static err get_my_code(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct person p;
    struct code_current c;
    struct scope all = scope_all(); /* the record is the account's own */
    err e = person_self_find(r->db, r->a, r->who, &p);
    if (e || (e = code_find(r->db, r->a, &all, p.id, &c)))
        return e;
    json_t *t;
    if ((e = code_latest_test(r->db, p.id, &t)))
        return e;
    json_t *o = code_json(p.id, &c);
    json_object_set_new(o, "name", json_string(mask_name(r->a, p.name)));
    json_object_set_new(o, "latest_test", t ? t : json_null());
    bool valid = false;
    int64_t community = 0;
    const char *why = "通行证服务未启用";
    if (pass_of && (e = pass_of(r->db, p.id, p.region_code, p.status, &valid, &community, &why))) {
        json_decref(o);
        return e;
    }
    if (valid && code_pass_refusal(c.colour)) {
        valid = false;
        why = code_pass_refusal(c.colour);
    }
    char cc[19] = "";
    const char *community_name = "", *residence = "";
    if (community)
        regcode_format(community, cc);
    if ((community && (e = region_path(r->db, community, LEVEL_STREET, r->a, &community_name))) ||
        (e = region_path(r->db, p.region_code, LEVEL_STREET, r->a, &residence))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "pass",
                        json_pack("{s:b,s:s,s:s,s:s}", "valid", valid, "community", cc,
                                  "community_name", community_name, "reason", why));
    json_object_set_new(o, "residence", json_string(residence)); /* "沙河街道 · 前海社区 · 2栋" */
    req_audit(r, "code.read", "person", p.id, "ok", "view=self");
    return reply_json(r, 200, o);
}

/* ---- the resident's dynamic code ---------------------------------------------------- */

#define CODE_TOKEN_TTL_MS  180000 /* a token shown now is refused 3 minutes later */
#define CODE_TOKEN_REFRESH 60000  /* the page fetches a new one every minute */

/* A fresh health-code token of the signed-in resident (consent and a bound
 * record required), with the colour now. */
static err my_token(struct req *r, char tok[TOKEN_MAX], struct token *t_r,
                    enum code_colour *colour_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct person p;
    struct code_current c;
    struct scope all = scope_all();
    err e = person_consent_require(r->db, r->a, r->who->user_id, NULL);
    if (e || (e = person_self_find(r->db, r->a, r->who, &p)) ||
        (e = code_find(r->db, r->a, &all, p.id, &c)))
        return e;
    int64_t now = now_ms();
    *t_r = (struct token){.kind = TOKEN_HEALTH,
                          .subject = p.id,
                          .issued_at = now,
                          .expires_at = now + CODE_TOKEN_TTL_MS};
    if ((e = token_issue(t_r, tok)))
        return e;
    /* the token keeps whole seconds */
    t_r->issued_at = now / 1000 * 1000;
    t_r->expires_at = (now + CODE_TOKEN_TTL_MS) / 1000 * 1000;
    *colour_r = c.colour;
    return E_OK;
}

static err get_my_token(struct req *r)
{
    char tok[TOKEN_MAX];
    struct token t;
    enum code_colour colour;
    err e = my_token(r, tok, &t, &colour);
    if (e)
        return e;
    return reply_json(r, 200,
                      json_pack("{s:s,s:I,s:I,s:s,s:s,s:I}", "token", tok, "issued_at",
                                (json_int_t)t.issued_at, "expires_at", (json_int_t)t.expires_at,
                                "colour", code_colour_name(colour), "label",
                                code_colour_label(colour), "refresh_after",
                                (json_int_t)CODE_TOKEN_REFRESH));
}

static uint32_t qr_colour(enum code_colour c)
{
    return c == CODE_RED ? QR_RED : c == CODE_YELLOW ? QR_YELLOW : QR_GREEN;
}

static err get_my_png(struct req *r)
{
    char tok[TOKEN_MAX];
    struct token t;
    enum code_colour colour;
    int64_t scale = 8;
    uint8_t *png;
    size_t n;
    err e = req_query_int64(r, "scale", 1, 32, &scale);
    if (e || (e = my_token(r, tok, &t, &colour)) ||
        (e = qr_png(r->a, tok, (int)scale, qr_colour(colour), &png, &n)))
        return e;
    return reply_bytes(r, 200, "image/png", png, n);
}

static err get_my_svg(struct req *r)
{
    char tok[TOKEN_MAX];
    struct token t;
    enum code_colour colour;
    char *svg;
    size_t n;
    err e = my_token(r, tok, &t, &colour);
    if (e || (e = qr_svg_color(r->a, tok, qr_colour(colour), &svg, &n)))
        return e;
    return reply_bytes(r, 200, "image/svg+xml", svg, n);
}

/* ---- rules ------------------------------------------------------------------------ */

static json_t *rules_json(const struct code_rule *rules, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, code_rule_json(&rules[i]));
    return arr;
}

static err get_rules(struct req *r)
{
    struct code_rule rules[CODE_RULES_MAX];
    size_t n;
    err e = code_rules_load(r->db, rules, &n);
    if (e)
        return e;
    return reply_json(
        r, 200,
        json_pack("{s:o,s:b}", "rules", rules_json(rules, n), "followed", code_rules_followed()));
}

static const struct jfield rules_body[] = {
    {"rules", J_ARRAY, JF_REQUIRED, 0, 0, "规则", NULL},
    {NULL},
};

/* The body's rules into rules[0..*n_r). */
static err rules_parse(struct req *r, struct code_rule rules[CODE_RULES_MAX], size_t *n_r)
{
    json_t *arr = json_object_get(r->body, "rules"), *v;
    size_t n = json_array_size(arr), i;
    if (n < 1 || n > CODE_RULES_MAX)
        return err_set(E_INPUT, "out_of_range", "rules", "规则应有1到%d条", CODE_RULES_MAX);
    err e;
    json_array_foreach(arr, i, v)
    {
        if ((e = code_rule_from_json(v, i, &rules[i])))
            return e;
    }
    *n_r = n;
    return E_OK;
}

/*
 * The dry run before a rule change: how many codes the proposed rules would
 * change, by colour transition, writing nothing. Synchronous and exact: it
 * is the same walk as the recomputation (batches of people, the engine in
 * memory, no writes), and the number is what the person confirming needs,
 * so a sample or a bound would not do; it reads, so it holds no lock a
 * writer waits for. Counts only, no personal data; audited.
 */
static err post_rules_dry_run(struct req *r)
{
    struct code_rule rules[CODE_RULES_MAX];
    size_t n;
    struct code_dry_run dr;
    err e = rules_parse(r, rules, &n);
    if (e || (e = code_rules_dry_run(r->db, rules, n, &dr)))
        return e;
    json_t *by = json_array();
    for (int f = CODE_GREEN; f <= CODE_RED; f++)
        for (int t = CODE_GREEN; t <= CODE_RED; t++)
            if (f != t)
                json_array_append_new(by, json_pack("{s:s,s:s,s:I}", "from",
                                                    code_colour_name((enum code_colour)f), "to",
                                                    code_colour_name((enum code_colour)t), "count",
                                                    (json_int_t)dr.changes[f][t]));
    req_audit(r, "code.rules_dry_run", "code_rules", 0, "ok",
              arena_printf(r->a, "rules=%zu changed=%lld", n, (long long)dr.changed));
    return reply_json(r, 200,
                      json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)dr.total, "changed",
                                (json_int_t)dr.changed, "reasons_only", (json_int_t)dr.reasons_only,
                                "transitions", by));
}

static err put_rules(struct req *r)
{
    /* the parent's rules are in force here (docs/exchange.md "Federation"):
     * an edit would be overwritten by the next pull, so it is refused */
    if (code_rules_followed())
        return audit_refusal(r->db, r->who, r->ip, "code.rules", "code_rules", 0,
                             err_set(E_CONFLICT, "rules_follow_parent", "rules",
                                     "本平台的赋码规则由上级平台统一下发，不能在本平台修改"),
                             NULL);
    struct code_rule rules[CODE_RULES_MAX];
    size_t n;
    err e = rules_parse(r, rules, &n);
    if (e)
        return e;
    int64_t job;
    db_hold(r->db); /* the rules, their job and the entry commit together (security/audit.h) */
    if ((e = code_rules_save(r->db, rules, n, r->who->user_id)) ||
        (e = job_create(r->db, r->who, "code.recompute", &job))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "code.rules", "job", job, "ok", arena_printf(r->a, "rules=%zu", n));
    if ((e = db_release(r->db, true)))
        return e;
    code_worker_submit(r->db, job, r->who->user_id); /* once the job is committed */
    json_t *o = json_pack("{s:o}", "rules", rules_json(rules, n));
    json_set_id(o, "job_id", job);
    return reply_json(r, 202, o);
}

/* ---- inputs about a person ------------------------------------------------------- */

static err input_post(struct req *r, const struct code_input_kind *k)
{
    int64_t pid, id;
    err e = req_param_id(r, 0, &pid);
    if (e || (e = code_input_add(r->db, r->a, r->who, k, pid, r->body, &id)))
        return e;
    req_audit(r, arena_concat(r->a, k->object, ".create", NULL), "person", pid, "ok",
              arena_printf(r->a, "id=%lld", (long long)id));
    /* reply with the stored row: the first of the newest page */
    json_t *items;
    int64_t total;
    if ((e = code_input_list(r->db, &r->who->scope, k, pid, 1, 1, &items, &total)))
        return e;
    json_t *row = json_incref(json_array_get(items, 0));
    json_decref(items);
    return reply_json(r, 201, row ? row : json_object());
}

static err input_get(struct req *r, const struct code_input_kind *k)
{
    int64_t pid, page, size, total;
    json_t *items;
    err e = req_param_id(r, 0, &pid);
    if (e || (e = req_paging(r, &page, &size)) ||
        (e = code_input_list(r->db, &r->who->scope, k, pid, page, size, &items, &total)))
        return e;
    req_audit(r, arena_concat(r->a, k->object, ".list", NULL), "person", pid, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, page, size);
}

#define INPUT_HANDLERS(var)                                                                        \
    static err post_##var(struct req *r)                                                           \
    {                                                                                              \
        return input_post(r, &code_##var);                                                         \
    }                                                                                              \
    static err get_##var(struct req *r)                                                            \
    {                                                                                              \
        return input_get(r, &code_##var);                                                          \
    }

/* isolations are written by the case workflow's observation list
 * (POST /api/v1/observations, docs/cases.md); the list stays here, it is
 * the engine's input */
static err get_isolations(struct req *r)
{
    return input_get(r, &code_isolations);
}
INPUT_HANDLERS(contacts)
INPUT_HANDLERS(stays)
INPUT_HANDLERS(tests)

static const char *const levels[] = {"medium", "high", NULL};

static const struct jfield contact_body[] = {
    {"degree", J_INT, JF_REQUIRED, 1, 2, "密接程度", NULL},
    {"case_person_id", J_STRING, 0, 1, 20, "关联病例", NULL},
    {"at", J_INT, JF_REQUIRED, 1, TIME_MAX, "接触时间", NULL},
    {"end_at", J_INT, 0, 1, TIME_MAX, "解除管理时间", NULL},
    {NULL},
};
static const struct jfield stay_body[] = {
    {"area_id", J_STRING, JF_REQUIRED, 1, 20, "风险地区", NULL},
    {"arrived_at", J_INT, JF_REQUIRED, 1, TIME_MAX, "到达时间", NULL},
    {"left_at", J_INT, 0, 1, TIME_MAX, "离开时间", NULL},
    {NULL},
};

/* ---- risk areas and zones ---------------------------------------------------------- */

static const struct jfield risk_area_body[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 100, "地区名称", NULL},
    {"level", J_STRING, JF_REQUIRED, 0, 0, "风险等级", levels},
    {"region_code", J_STRING, 0, 1, 18, "区划代码", NULL},
    {"valid_from", J_INT, JF_REQUIRED, 1, TIME_MAX, "生效时间", NULL},
    {"valid_to", J_INT, 0, 1, TIME_MAX, "解除时间", NULL},
    {NULL},
};

static const struct jfield risk_area_patch[] = {
    {"name", J_STRING, 0, 1, 100, "地区名称", NULL},
    {"level", J_STRING, 0, 0, 0, "风险等级", levels},
    {"region_code", J_STRING, JF_NULLABLE, 1, 18, "区划代码", NULL},
    {"valid_from", J_INT, 0, 1, TIME_MAX, "生效时间", NULL},
    {"valid_to", J_INT, 0, 0, TIME_MAX, "解除时间", NULL},
    {NULL},
};

static err reply_area(struct req *r, int status, int64_t id)
{
    json_t *o;
    err e = code_risk_area_get(r->db, id, &o);
    return e ? e : reply_json(r, status, o);
}

/* The end of a write: the refusal audited, or the entry committed with it. */
static err area_done(struct req *r, err e, const char *action, int64_t id, const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "risk_area", id, e, detail);
    }
    req_audit(r, action, "risk_area", id, "ok", detail);
    return db_release(r->db, true);
}

static err post_risk_area(struct req *r)
{
    int64_t id = 0;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    err e = code_risk_area_add(r->db, r->who, r->body, &id);
    const char *to = json_str(r->body, "region_code");
    if ((e = area_done(r, e, "risk_area.create", id,
                       arena_printf(r->a,
                                    "name=%s level=%s region_code=%s valid_from=%lld "
                                    "valid_to=%lld",
                                    json_str(r->body, "name"), json_str(r->body, "level"),
                                    to ? to : "", (long long)json_int(r->body, "valid_from", 0),
                                    (long long)json_int(r->body, "valid_to", 0)))))
        return e;
    return reply_area(r, 201, id);
}

static const char *const area_head[] = {"地区名称", "风险等级", "所在区划",
                                        "生效时间", "解除时间", "状态"};

static err areas_export(struct req *r, enum export_format fmt, json_t *items)
{
    struct export_out x;
    err e =
        export_begin(r, &x, fmt, "中高风险地区", area_head, sizeof area_head / sizeof *area_head);
    if (e) {
        json_decref(items);
        return e;
    }
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        const char *state = json_str(o, "state");
        export_text(&x, json_str(o, "name"));
        export_text(&x, json_str(o, "level_label"));
        export_text(&x, json_str(o, "region_name"));
        export_time(&x, json_int(o, "valid_from", 0));
        if (json_int(o, "valid_to", 0))
            export_time(&x, json_int(o, "valid_to", 0));
        else
            export_empty(&x);
        export_text(&x, !strcmp(state, "ended")     ? "已解除"
                        : !strcmp(state, "pending") ? "未生效"
                                                    : "生效中");
        export_row_end(&x);
    }
    json_decref(items);
    return export_send(&x, E_OK, "risk-areas");
}

static err get_risk_areas(struct req *r)
{
    struct code_risk_filter f = {0};
    enum export_format fmt;
    int64_t total;
    json_t *items;
    const char *s;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = req_export_format(r, &fmt);
    if (!e)
        e = req_query_int64(r, "active_at", 1, TIME_MAX, &f.active_at);
    if (e)
        return e;
    if ((s = req_query(r, "level")) && !(f.level = !strcmp(s, "high") ? 2 : !strcmp(s, "medium")))
        return err_set(E_INPUT, "invalid_parameter", "level", "风险等级应为 medium 或 high");
    if ((s = req_query(r, "state"))) {
        if (!strcmp(s, "active"))
            f.state = CODE_RISK_ACTIVE;
        else if (!strcmp(s, "ended"))
            f.state = CODE_RISK_ENDED;
        else if (strcmp(s, "all"))
            return err_set(E_INPUT, "invalid_parameter", "state", "状态应为 active、ended 或 all");
    }
    enum region_level lv;
    if ((s = req_query(r, "region_code")) && (f.region_code = regcode_parse(s, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确");
    f.q = req_query(r, "q");
    if (f.q && (!utf8_valid_text(f.q) || utf8_len(f.q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    if ((e = code_risk_areas(r->db, r->a, &f, &items, &total)))
        return e;
    if (fmt)
        return areas_export(r, fmt, items);
    return reply_page(r, items, total, f.page, page_size);
}

static err get_risk_area(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_area(r, 200, id);
}

static err patch_risk_area(struct req *r)
{
    int64_t id = 0;
    const char *changed = "";
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = code_risk_area_update(r->db, r->a, r->who, id, r->body, &changed);
    if ((e = area_done(r, e, "risk_area.update", id, changed)))
        return e;
    return reply_area(r, 200, id);
}

/* What a PATCH would do to codes, nothing saved (the console asks before
 * it saves a change of level or window, or a lift). */
static err post_risk_area_preview(struct req *r)
{
    int64_t id = 0;
    const char *changed = "";
    json_t *o = NULL;
    err e = req_param_id(r, 0, &id);
    if (e || (e = code_risk_area_preview(r->db, r->a, r->who, id, r->body, &changed, &o)))
        return e;
    req_audit(r, "risk_area.preview", "risk_area", id, "ok",
              arena_printf(r->a, "%s total=%lld changed=%lld", changed,
                           (long long)json_int(o, "total", 0),
                           (long long)json_int(o, "changed", 0)));
    return reply_json(r, 200, o);
}

static err delete_risk_area(struct req *r)
{
    int64_t id = 0;
    const char *detail = "";
    err e = req_param_id(r, 0, &id);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = code_risk_area_delete(r->db, r->a, id, &detail);
    if ((e = area_done(r, e, "risk_area.delete", id, detail)))
        return e;
    return reply_empty(r);
}

static err get_risk_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = code_risk_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"risk-areas-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

/* Checked here (whole-file faults answer 400), applied on the import
 * worker: 202 {job_id, rows}. */
static err post_risk_import(struct req *r)
{
    static const struct import_accept acc = {"risk_area.import", "risk_area.import_upload",
                                             "risk_area.import", NULL, 0};
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t job;
    err e = import_format(r, true, &csv); /* a CSV is told by the parameter or by not being a zip */
    if (!e)
        e = code_risk_import_check(body, n, csv, &rows);
    if ((e = import_accept(r, e, &acc, n, rows, csv ? " csv" : "", &job)) ||
        (e = code_risk_import_submit(r->db, job, r->who, body, n, csv, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

const struct route code_routes[] = {
    {M_GET, "/api/v1/persons/{id}/code", get_code, PERM_CODE_READ, 0, NULL, "人员健康码", "code",
     0},
    {M_GET, "/api/v1/persons/{id}/code/history", get_code_history, PERM_CODE_READ, 0, NULL,
     "健康码变更记录", "code", 0},
    {M_GET, "/api/v1/me/code", get_my_code, PERM_SELF, 0, NULL, "本人健康码", "code", 0},
    {M_GET, "/api/v1/me/code/token", get_my_token, PERM_SELF, 0, NULL, "本人动态健康码令牌", "code",
     0},
    {M_GET, "/api/v1/me/code.png", get_my_png, PERM_SELF, 0, NULL, "本人健康码图片（PNG）", "code",
     0},
    {M_GET, "/api/v1/me/code.svg", get_my_svg, PERM_SELF, 0, NULL, "本人健康码图片（SVG）", "code",
     0},
    {M_GET, "/api/v1/code-rules", get_rules, PERM_CODE_READ, 0, NULL, "健康码赋码规则", "code", 0},
    {M_POST, "/api/v1/code-rules/dry-run", post_rules_dry_run, PERM_CODE_RULES, 0, rules_body,
     "试算赋码规则变更（不保存）", "code", 0},
    {M_PUT, "/api/v1/code-rules", put_rules, PERM_CODE_RULES, 0, rules_body,
     "修改赋码规则（后台重新赋码）", "code", 0},
    {M_GET, "/api/v1/persons/{id}/isolations", get_isolations, PERM_HEALTH_READ, 0, NULL,
     "隔离记录", "code", 0},
    {M_POST, "/api/v1/persons/{id}/contacts", post_contacts, PERM_TRACE_WRITE, 0, contact_body,
     "登记密接", "code", 0},
    {M_GET, "/api/v1/persons/{id}/contacts", get_contacts, PERM_HEALTH_READ, 0, NULL, "密接记录",
     "code", 0},
    {M_POST, "/api/v1/persons/{id}/stays", post_stays, PERM_TRACE_WRITE, 0, stay_body,
     "登记中高风险地区旅居", "code", 0},
    {M_GET, "/api/v1/persons/{id}/stays", get_stays, PERM_HEALTH_READ, 0, NULL, "风险地区旅居记录",
     "code", 0},
    {M_POST, "/api/v1/persons/{id}/test-results", post_tests, PERM_NAT_WRITE, 0, code_test_body,
     "登记核酸检测结果", "code", 0},
    {M_GET, "/api/v1/persons/{id}/test-results", get_tests, PERM_HEALTH_READ, 0, NULL,
     "核酸检测记录", "code", 0},
    {M_POST, "/api/v1/risk-areas", post_risk_area, PERM_ZONE_WRITE, 0, risk_area_body,
     "登记中高风险地区", "code", 0},
    {M_GET, "/api/v1/risk-areas", get_risk_areas, PERM_CODE_READ, 0, NULL,
     "中高风险地区（等级、名称、区划、生效状态筛选，可导出）", "code", 0},
    {M_GET, "/api/v1/risk-areas/template.xlsx", get_risk_template, PERM_ZONE_WRITE, 0, NULL,
     "中高风险地区导入模板（Excel）", "code", 0},
    {M_POST, "/api/v1/risk-areas/import", post_risk_import, PERM_ZONE_WRITE, ROUTE_RAW_BODY, NULL,
     "导入中高风险地区（Excel 或 CSV）", "code", UPLOAD_MAX},
    {M_GET, "/api/v1/risk-areas/{id}", get_risk_area, PERM_CODE_READ, 0, NULL, "中高风险地区详情",
     "code", 0},
    {M_PATCH, "/api/v1/risk-areas/{id}", patch_risk_area, PERM_ZONE_WRITE, 0, risk_area_patch,
     "修改、解除或重新启用中高风险地区（重新赋码）", "code", 0},
    {M_POST, "/api/v1/risk-areas/{id}/preview", post_risk_area_preview, PERM_ZONE_WRITE, 0,
     risk_area_patch, "预览修改或解除中高风险地区对健康码的影响（不保存）", "code", 0},
    {M_DELETE, "/api/v1/risk-areas/{id}", delete_risk_area, PERM_ZONE_WRITE, 0, NULL,
     "删除未被旅居记录引用的中高风险地区", "code", 0},
};
const size_t code_routes_n = sizeof code_routes / sizeof code_routes[0];

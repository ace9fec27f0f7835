/*
 * HTTP handlers of industries and mass-testing plans:
 * /api/v1/nat/industries (the maintained list) and /api/v1/nat/plans (the
 * plan, its planned figures per street and industry, the figures with the
 * actual counts and the streets' corrections, by street or by industry,
 * exported as CSV or xlsx).
 *
 * No personal data here (counts and staff names); every write is audited
 * with its figures in the detail, a correction with both the counted and
 * the corrected figure.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "http/export.h"
#include "nat/nat.h"
#include "security/audit.h"

#define RESIDENTS_LABEL "居民"

/* The end of a write and its audit entry (one transaction). */
static err finish(struct req *r, err e, const char *action, const char *type, int64_t id,
                  const char *detail)
{
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, type, id, e, detail);
    }
    req_audit(r, action, type, id, "ok", detail ? detail : "");
    return db_release(r->db, true);
}

/* ---- industries ------------------------------------------------------------------------ */

static json_t *industry_json(const struct nat_industry *i)
{
    json_t *o = json_object();
    json_set_id(o, "id", i->id);
    json_object_set_new(o, "name", json_string(i->name));
    json_object_set_new(o, "sort", json_integer(i->sort));
    json_object_set_new(o, "enterprises", json_integer(i->enterprises));
    return o;
}

static const struct jfield industry_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, NAT_INDUSTRY_NAME_MAX, "行业名称", NULL, NULL},
    {"sort", J_INT, 0, 0, 10000, "排序", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err get_industries(struct req *r)
{
    struct nat_industry *items;
    size_t n;
    err e = nat_industry_list(r->db, r->a, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, industry_json(&items[i]));
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static err reply_industry(struct req *r, int status, int64_t id)
{
    struct nat_industry i;
    err e = nat_industry_find(r->db, r->a, id, &i);
    return e ? e : reply_json(r, status, industry_json(&i));
}

static err post_industry(struct req *r)
{
    int64_t id = 0;
    const char *name = json_str(r->body, "name");
    db_hold(r->db);
    err e = nat_industry_create(r->db, name, json_int(r->body, "sort", 100), &id);
    if ((e = finish(r, e, "nat.industry.create", "nat_industry", id, NULL)))
        return e;
    return reply_industry(r, 201, id);
}

static err patch_industry(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_industry_update(r->db, id, json_str(r->body, "name"),
                                json_int(r->body, "sort", -1));
    if ((e = finish(r, e, "nat.industry.update", "nat_industry", id, NULL)))
        return e;
    return reply_industry(r, 200, id);
}

static err delete_industry(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_industry_delete(r->db, id);
    if ((e = finish(r, e, "nat.industry.delete", "nat_industry", id, NULL)))
        return e;
    return reply_empty(r);
}

/* ---- plans ------------------------------------------------------------------------------- */

static const char *plan_state(const struct nat_plan *p, int64_t now)
{
    return now < p->starts_at ? "upcoming" : now < p->ends_at ? "running" : "ended";
}

json_t *nat_plan_json(const struct nat_plan *p)
{
    json_t *o = json_object();
    json_set_id(o, "id", p->id);
    json_object_set_new(o, "number", json_string(p->number));
    json_object_set_new(o, "name", json_string(p->name));
    json_set_region(o, p->region_code, p->region_name);
    json_object_set_new(o, "starts_at", json_integer(p->starts_at));
    json_object_set_new(o, "ends_at", json_integer(p->ends_at));
    json_object_set_new(o, "state", json_string(plan_state(p, now_ms())));
    json_object_set_new(o, "planned", json_integer(p->planned));
    json_object_set_new(o, "actual", json_integer(p->actual));
    json_object_set_new(o, "effective", json_integer(p->effective));
    json_object_set_new(o, "difference", json_integer(p->planned - p->effective));
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "created_at", json_integer(p->created_at));
    json_object_set_new(o, "updated_at", json_integer(p->updated_at));
    return o;
}

static const struct jfield plan_fields[] = {
    {"number", J_STRING, JF_REQUIRED, 1, NAT_PLAN_NUMBER_MAX, "计划编号", NULL, NULL},
    {"name", J_STRING, JF_REQUIRED, 1, 100, "计划名称", NULL, NULL},
    {"starts_at", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "开始时间", NULL, NULL},
    {"ends_at", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "结束时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static void plan_input(struct req *r, struct nat_plan_input *in)
{
    *in = (struct nat_plan_input){
        .number = json_str(r->body, "number"),
        .name = json_str(r->body, "name"),
        .starts_at = json_int(r->body, "starts_at", 0),
        .ends_at = json_int(r->body, "ends_at", 0),
    };
}

static err reply_plan(struct req *r, int status, int64_t id)
{
    struct nat_plan p;
    err e = nat_plan_find(r->db, r->a, &r->who->scope, id, &p);
    return e ? e : reply_json(r, status, nat_plan_json(&p));
}

static err post_plan(struct req *r)
{
    struct nat_plan_input in;
    int64_t id = 0;
    plan_input(r, &in);
    db_hold(r->db);
    err e = nat_plan_create(r->db, r->who->region_code, r->who->user_id, &in, &id);
    if ((e = finish(r, e, "nat.plan.create", "nat_plan", id, NULL)))
        return e;
    return reply_plan(r, 201, id);
}

static err get_plan(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_plan(r, 200, id);
}

static err patch_plan(struct req *r)
{
    int64_t id;
    struct nat_plan_input in;
    plan_input(r, &in);
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_plan_update(r->db, &r->who->scope, id, &in);
    if ((e = finish(r, e, "nat.plan.update", "nat_plan", id, NULL)))
        return e;
    return reply_plan(r, 200, id);
}

static err delete_plan(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_plan_delete(r->db, &r->who->scope, id);
    if ((e = finish(r, e, "nat.plan.delete", "nat_plan", id, NULL)))
        return e;
    return reply_empty(r);
}

static err get_plans(struct req *r)
{
    int64_t page, size;
    err e = req_paging(r, &page, &size);
    if (e)
        return e;
    const char *q = req_query(r, "q");
    if (q && (!utf8_valid_text(q) || utf8_len(q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    struct nat_plan *items;
    size_t n;
    int64_t total;
    if ((e = nat_plan_list(r->db, r->a, &r->who->scope, q, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_plan_json(&items[i]));
    return reply_page(r, arr, total, page, size);
}

/* ---- targets ---------------------------------------------------------------------------- */

static const char *const sources[] = {"entered", "registry", NULL};

static const struct jfield targets_fields[] = {
    {"targets", J_ARRAY, JF_REQUIRED, 0, 0, "应检数据", NULL, NULL},
    {"source", J_STRING, 0, 0, 0, "来源", sources, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* An id member: a string of digits, or absent / null / "" / 0 for none. */
static bool id_member(json_t *o, const char *key, int64_t *v_r)
{
    json_t *v = json_object_get(o, key);
    *v_r = 0;
    if (!v || json_is_null(v))
        return true;
    if (json_is_integer(v) && json_integer_value(v) == 0)
        return true;
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    if (!*s)
        return true;
    return (*v_r = id_parse(s)) > 0;
}

static err targets_from(struct req *r, struct nat_target **t_r, size_t *n_r, bool derive)
{
    json_t *arr = json_object_get(r->body, "targets");
    size_t n = json_array_size(arr);
    if (n == 0 || n > NAT_PLAN_FIGURES_MAX)
        return err_set(E_INPUT, "out_of_range", "targets", "应检数据应有1到%d行",
                       NAT_PLAN_FIGURES_MAX);
    struct nat_target *t = arena_alloc(r->a, n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        char field[48];
        if (!json_is_object(o)) {
            snprintf(field, sizeof field, "targets[%zu]", i);
            return err_set(E_INPUT, "invalid_type", field, "第%zu行应为对象", i + 1);
        }
        const char *code = json_str(o, "region_code");
        enum region_level lv;
        t[i].region_code = code ? regcode_parse(code, &lv) : 0;
        if (t[i].region_code <= 0) {
            snprintf(field, sizeof field, "targets[%zu].region_code", i);
            return err_set(E_INPUT, "invalid_region", field, "第%zu行：请填写正确的街道区划代码",
                           i + 1);
        }
        if (!id_member(o, "industry_id", &t[i].industry_id)) {
            snprintf(field, sizeof field, "targets[%zu].industry_id", i);
            return err_set(E_INPUT, "invalid_industry", field, "第%zu行：行业不存在", i + 1);
        }
        json_t *p = json_object_get(o, "planned");
        if (derive) {
            t[i].planned = 0;
            if (p) {
                snprintf(field, sizeof field, "targets[%zu].planned", i);
                return err_set(E_INPUT, "invalid_value", field,
                               "第%zu行：从人口库计算应检人数时不能同时填写人数", i + 1);
            }
        } else if (!json_is_integer(p)) {
            snprintf(field, sizeof field, "targets[%zu].planned", i);
            return err_set(E_INPUT, p ? "invalid_type" : "required", field,
                           "第%zu行：请填写应检人数（整数）", i + 1);
        } else {
            t[i].planned = json_integer_value(p);
        }
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (strcmp(key, "region_code") && strcmp(key, "industry_id") &&
                strcmp(key, "planned")) {
                snprintf(field, sizeof field, "targets[%zu].%.20s", i, key);
                return err_set(E_INPUT, "unknown_field", field, "第%zu行：不支持的字段", i + 1);
            }
        }
    }
    *t_r = t;
    *n_r = n;
    return E_OK;
}

static err put_targets(struct req *r)
{
    int64_t id;
    struct nat_target *t = NULL;
    size_t n = 0;
    const char *src = json_str(r->body, "source");
    bool derive = src && !strcmp(src, "registry");
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = targets_from(r, &t, &n, derive);
    db_hold(r->db);
    if (!e)
        e = nat_plan_set_targets(r->db, &r->who->scope, id, t, n, derive);
    if ((e = finish(r, e, "nat.plan.targets", "nat_plan", id,
                    arena_printf(r->a, "rows=%zu source=%s", n, derive ? "registry" : "entered"))))
        return e;
    return reply_plan(r, 200, id);
}

/* ---- figures ---------------------------------------------------------------------------- */

static int64_t effective(const struct nat_figure *f)
{
    return f->corrected_set ? f->corrected : f->actual;
}

json_t *nat_figure_json(const struct nat_figure *f)
{
    json_t *o = json_object();
    json_set_region(o, f->region_code, f->region_name);
    if (f->industry_id)
        json_set_id(o, "industry_id", f->industry_id);
    else
        json_object_set_new(o, "industry_id", json_null());
    json_object_set_new(o, "industry_name",
                        json_string(f->industry_id ? f->industry_name : RESIDENTS_LABEL));
    json_object_set_new(o, "planned", json_integer(f->planned));
    json_object_set_new(o, "planned_source", json_string(f->planned_source));
    json_object_set_new(o, "actual", json_integer(f->actual));
    json_object_set_new(o, "corrected",
                        f->corrected_set ? json_integer(f->corrected) : json_null());
    json_object_set_new(o, "effective", json_integer(effective(f)));
    json_object_set_new(o, "difference", json_integer(f->planned - effective(f)));
    json_object_set_new(o, "correction_delta",
                        f->corrected_set ? json_integer(f->corrected - f->actual) : json_null());
    json_object_set_new(o, "reason", f->corrected_set ? json_string(f->reason) : json_null());
    json_object_set_new(o, "corrected_by_name",
                        f->corrected_set ? json_string(f->corrected_by_name) : json_null());
    json_object_set_new(o, "corrected_at",
                        f->corrected_set ? json_integer(f->corrected_at) : json_null());
    json_object_set_new(o, "reported", f->reported_set ? json_integer(f->reported) : json_null());
    json_object_set_new(o, "reported_at",
                        f->reported_set ? json_integer(f->reported_at) : json_null());
    json_object_set_new(o, "negative", json_integer(f->negative));
    json_object_set_new(o, "positive", json_integer(f->positive));
    json_object_set_new(o, "retest", json_integer(f->retest));
    json_object_set_new(o, "invalid", json_integer(f->invalid));
    json_object_set_new(
        o, "pending", json_integer(f->actual - f->negative - f->positive - f->retest - f->invalid));
    return o;
}

static const char *const figure_head[] = {
    "计划编号", "计划名称",     "开始时间",         "街道", "行业",
    "应检",     "实检（统计）", "街道修改后实检",   "差值", "修改原因",
    "修改人",   "修改时间",     "实检（接口报送）",
};

static err get_figures(struct req *r)
{
    int64_t id;
    enum export_format fmt;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    const char *by = req_query(r, "by");
    if (by && strcmp(by, "street") && strcmp(by, "industry") && strcmp(by, "all"))
        return err_set(E_INPUT, "invalid_parameter", "by", "参数 by 应为 street、industry 或 all");
    struct nat_plan p;
    struct nat_figure *items;
    size_t n;
    if ((e = nat_plan_find(r->db, r->a, &r->who->scope, id, &p)) ||
        (e = nat_plan_figures(r->db, r->a, &r->who->scope, id, &items, &n)))
        return e;
    if (by && !strcmp(by, "industry")) {
        n = nat_figures_by_industry(r->a, items, n, &items);
    } else if (by && !strcmp(by, "street")) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!items[i].industry_id)
                items[m++] = items[i];
        n = m;
    }
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "应检实检统计", figure_head,
                              sizeof figure_head / sizeof *figure_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_figure *f = &items[i];
            export_text(&x, p.number);
            export_text(&x, p.name);
            export_time(&x, p.starts_at);
            export_text(&x, f->region_name);
            export_text(&x, f->industry_id ? f->industry_name : RESIDENTS_LABEL);
            export_int(&x, f->planned);
            export_int(&x, f->actual);
            if (f->corrected_set)
                export_int(&x, f->corrected);
            else
                export_empty(&x);
            export_int(&x, f->planned - effective(f));
            export_text(&x, f->corrected_set ? f->reason : "");
            export_text(&x, f->corrected_set ? f->corrected_by_name : "");
            export_time(&x, f->corrected_set ? f->corrected_at : 0);
            if (f->reported_set) /* an outside system's own figure (ingest) */
                export_int(&x, f->reported);
            else
                export_empty(&x);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-plan-figures");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_figure_json(&items[i]));
    json_t *o = json_object();
    json_object_set_new(o, "plan", nat_plan_json(&p));
    json_object_set_new(o, "by", json_string(by ? by : "all"));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static const struct jfield correction_fields[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "街道", NULL, NULL},
    {"industry_id", J_STRING, JF_NULLABLE, 0, 20, "行业", NULL, NULL},
    {"actual", J_INT, JF_REQUIRED, 0, 1000000000, "修改后实检人数", NULL, NULL},
    {"reason", J_STRING, JF_REQUIRED, 1, NAT_REASON_MAX, "修改原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_correction(struct req *r)
{
    int64_t id, street = 0, industry = 0;
    err e = req_param_id(r, 0, &id);
    if (!e) {
        enum region_level lv;
        street = regcode_parse(json_str(r->body, "region_code"), &lv);
        if (street <= 0)
            e = err_set(E_INPUT, "invalid_region", "region_code", "请填写正确的街道区划代码");
        else if (!id_member(r->body, "industry_id", &industry))
            e = err_set(E_INPUT, "invalid_industry", "industry_id", "行业不存在");
    }
    int64_t value = json_int(r->body, "actual", -1), counted = -1;
    db_hold(r->db);
    if (!e)
        e = nat_plan_correct(r->db, &r->who->scope, id, street, industry, value,
                             json_str(r->body, "reason"), r->who->user_id, &counted);
    char code[19] = "";
    if (street > 0)
        regcode_format(street, code);
    if ((e = finish(r, e, "nat.plan.correct", "nat_plan", id,
                    arena_printf(r->a, "street=%s industry=%lld counted=%lld corrected=%lld", code,
                                 (long long)industry, (long long)counted, (long long)value))))
        return e;
    return get_figures(r);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route nat_plan_routes[] = {
    {M_GET, "/api/v1/nat/industries", get_industries, PERM_NAT_READ, 0, NULL, "行业列表", "nat", 0},
    {M_POST, "/api/v1/nat/industries", post_industry, PERM_NAT_PLAN, 0, industry_fields, "新增行业",
     "nat", 0},
    {M_PATCH, "/api/v1/nat/industries/{id}", patch_industry, PERM_NAT_PLAN, 0, industry_fields,
     "修改行业（改名同步企业的行业）", "nat", 0},
    {M_DELETE, "/api/v1/nat/industries/{id}", delete_industry, PERM_NAT_PLAN, 0, NULL, "删除行业",
     "nat", 0},
    {M_POST, "/api/v1/nat/plans", post_plan, PERM_NAT_PLAN, 0, plan_fields,
     "新建大规模核酸应检计划", "nat", 0},
    {M_GET, "/api/v1/nat/plans", get_plans, PERM_NAT_READ, 0, NULL, "应检计划列表（q 搜索）", "nat",
     0},
    {M_GET, "/api/v1/nat/plans/{id}", get_plan, PERM_NAT_READ, 0, NULL, "应检计划详情", "nat", 0},
    {M_PATCH, "/api/v1/nat/plans/{id}", patch_plan, PERM_NAT_PLAN, 0, plan_fields, "修改应检计划",
     "nat", 0},
    {M_DELETE, "/api/v1/nat/plans/{id}", delete_plan, PERM_NAT_PLAN, 0, NULL, "删除应检计划", "nat",
     0},
    {M_PUT, "/api/v1/nat/plans/{id}/targets", put_targets, PERM_NAT_PLAN, 0, targets_fields,
     "设置应检人数（按街道、行业；source=registry 从人口库和企业库计算）", "nat", 0},
    {M_GET, "/api/v1/nat/plans/{id}/figures", get_figures, PERM_NAT_READ, 0, NULL,
     "应检、实检和街道修改后的实检（by=street/industry/all，可导出）", "nat", 0},
    {M_POST, "/api/v1/nat/plans/{id}/corrections", post_correction, PERM_NAT_CORRECT, 0,
     correction_fields, "街道修改实检统计（须填写原因）", "nat", 0},
};
const size_t nat_plan_routes_n = sizeof nat_plan_routes / sizeof nat_plan_routes[0];

/*
 * HTTP handlers of the testing statistics (docs/nat.md "Statistics"):
 * /api/v1/nat/stats/{streets,districts,industries,scans}, each exportable
 * as CSV or xlsx, and the emergency bureau's live figures
 * /api/v1/nat/bureau/{streets,industries} (应急局). The routes are in
 * nat_routes (api.c).
 *
 * Counts only, no personal data: the reads are not audited. Every figure
 * comes from nat/stats.c, which reads the counters the writes keep.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/export.h"
#include "nat/internal.h"
#include "nat/nat.h"

#define RESIDENTS_LABEL "居民"

/* ---- parameters ------------------------------------------------------------------------- */

/* `plan_id` when given (required: E_INPUT "required"), found inside the
 * caller's scope (404 "unknown_plan" on plan_id). *id_r 0 when absent. */
static err plan_query(struct req *r, bool required, struct nat_plan *p_r, int64_t *id_r)
{
    const char *s = req_query(r, "plan_id");
    *id_r = 0;
    if (!s || !*s)
        return required ? err_set(E_INPUT, "required", "plan_id", "请选择检测计划") : E_OK;
    int64_t id = id_parse(s);
    if (id <= 0)
        return err_set(E_INPUT, "invalid_parameter", "plan_id", "参数 plan_id 不正确");
    err e = nat_plan_find(r->db, r->a, &r->who->scope, id, p_r);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_plan", "plan_id", "检测计划不存在");
    if (!e)
        *id_r = id;
    return e;
}

/* A China date parameter "YYYY-MM-DD" as its day number; today when absent. */
static err day_query(struct req *r, const char *name, int64_t *day_r)
{
    const char *s = req_query(r, name);
    if (!s || !*s) {
        *day_r = china_day(now_ms());
        return E_OK;
    }
    if (!china_date_day(s, day_r))
        return err_set(E_INPUT, "invalid_date", name, "日期格式应为 YYYY-MM-DD");
    return E_OK;
}

static const char *day_text(arena *a, int64_t day)
{
    char t[CHINA_TIME_LEN];
    china_time(day * DAY_MS - CHINA_OFFSET_MS, t);
    t[10] = '\0';
    return arena_strdup(a, t);
}

/* ---- streets and districts -------------------------------------------------------------- */

static json_t *street_json(const struct nat_street_stats *t, bool district)
{
    json_t *o = json_object();
    json_set_region(o, t->street_code, t->street_name);
    if (district) {
        json_object_set_new(o, "streets", json_integer(t->streets));
    } else {
        char code[19];
        regcode_format(t->district_code, code);
        json_object_set_new(o, "district_code", json_string(code));
        json_object_set_new(o, "district_name", json_string(t->district_name));
    }
    json_object_set_new(o, "sites", json_integer(t->sites));
    json_object_set_new(o, "sites_open", json_integer(t->sites_open));
    json_object_set_new(o, "sites_paused", json_integer(t->sites_paused));
    json_object_set_new(o, "sites_closed", json_integer(t->sites_closed));
    json_object_set_new(o, "unattended", json_integer(t->unattended));
    json_object_set_new(o, "on_duty", json_integer(t->on_duty));
    json_object_set_new(o, "scans", json_integer(t->scans));
    json_object_set_new(o, "clockins", json_integer(t->clockins));
    json_t *f = NULL;
    if (t->figured) {
        f = nat_figure_json(&t->figure);
        json_object_del(f, "industry_id");
        json_object_del(f, "industry_name");
        json_object_del(f, "region_code");
        json_object_del(f, "region_name");
    }
    json_object_set_new(o, "figures", f ? f : json_null());
    return o;
}

static const char *const street_head[] = {
    "计划编号", "计划名称",     "街道",           "所属区",       "点位数",       "开放",
    "暂停",     "关闭",         "无人值守",       "在岗人数",     "当日扫码人数", "当日打卡次数",
    "应检",     "实检（统计）", "街道修改后实检", "实检（采用）", "差值",
};

static const char *const district_head[] = {
    "计划编号",     "计划名称",     "区",   "街道数",       "点位数",
    "开放",         "暂停",         "关闭", "无人值守",     "在岗人数",
    "当日扫码人数", "当日打卡次数", "应检", "实检（统计）", "街道修改后实检",
    "实检（采用）", "差值",
};

static err export_streets(struct req *r, enum export_format fmt, const struct nat_plan *p,
                          const struct nat_street_stats *items, size_t n, bool district)
{
    struct export_out x;
    err e = district ? export_begin(r, &x, fmt, "核酸区级统计", district_head,
                                    sizeof district_head / sizeof *district_head)
                     : export_begin(r, &x, fmt, "核酸街道统计", street_head,
                                    sizeof street_head / sizeof *street_head);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        const struct nat_street_stats *t = &items[i];
        const struct nat_figure *f = &t->figure;
        export_text(&x, p ? p->number : "");
        export_text(&x, p ? p->name : "");
        export_text(&x, t->street_name);
        if (district)
            export_int(&x, t->streets);
        else
            export_text(&x, t->district_name);
        export_int(&x, t->sites);
        export_int(&x, t->sites_open);
        export_int(&x, t->sites_paused);
        export_int(&x, t->sites_closed);
        export_int(&x, t->unattended);
        export_int(&x, t->on_duty);
        export_int(&x, t->scans);
        export_int(&x, t->clockins);
        if (t->figured) {
            int64_t effective = f->corrected_set ? f->corrected : f->actual;
            export_int(&x, f->planned);
            export_int(&x, f->actual);
            if (f->corrected_set)
                export_int(&x, f->corrected);
            else
                export_empty(&x);
            export_int(&x, effective);
            export_int(&x, f->planned - effective);
        } else {
            for (int k = 0; k < 5; k++)
                export_empty(&x);
        }
        export_row_end(&x);
    }
    return export_send(&x, E_OK, district ? "nat-stats-districts" : "nat-stats-streets");
}

static err streets_or_districts(struct req *r, bool district)
{
    struct nat_plan p;
    int64_t plan_id, day;
    enum export_format fmt;
    err e = day_query(r, "day", &day);
    if (!e)
        e = req_export_format(r, &fmt);
    if (!e)
        e = plan_query(r, false, &p, &plan_id);
    if (e)
        return e;
    struct nat_street_stats *items;
    size_t n;
    if ((e = nat_stats_streets(r->db, r->a, &r->who->scope, plan_id, day, &items, &n)))
        return e;
    if (district)
        n = nat_stats_districts(r->a, items, n, &items);
    if (fmt)
        return export_streets(r, fmt, plan_id ? &p : NULL, items, n, district);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, street_json(&items[i], district));
    json_t *o = json_object();
    json_object_set_new(o, "day", json_string(day_text(r->a, day)));
    json_object_set_new(o, "plan", plan_id ? nat_plan_json(&p) : json_null());
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

err nat_get_stats_streets(struct req *r)
{
    return streets_or_districts(r, false);
}

err nat_get_stats_districts(struct req *r)
{
    return streets_or_districts(r, true);
}

/* ---- industries ------------------------------------------------------------------------- */

static const char *const industry_head[] = {
    "计划编号", "计划名称", "开始时间", "行业", "应检", "实检（统计）", "实检（采用）", "差值",
};

err nat_get_stats_industries(struct req *r)
{
    struct nat_plan p;
    int64_t plan_id;
    enum export_format fmt;
    err e = req_export_format(r, &fmt);
    if (!e)
        e = plan_query(r, true, &p, &plan_id);
    if (e)
        return e;
    struct nat_figure *items;
    size_t n;
    if ((e = nat_stats_industries(r->db, r->a, &r->who->scope, plan_id, &items, &n)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "核酸行业统计", industry_head,
                              sizeof industry_head / sizeof *industry_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_figure *f = &items[i];
            int64_t effective = f->corrected_set ? f->corrected : f->actual;
            export_text(&x, p.number);
            export_text(&x, p.name);
            export_time(&x, p.starts_at);
            export_text(&x, f->industry_name);
            export_int(&x, f->planned);
            export_int(&x, f->actual);
            export_int(&x, effective);
            export_int(&x, f->planned - effective);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-stats-industries");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *f = nat_figure_json(&items[i]);
        json_object_del(f, "region_code");
        json_object_del(f, "region_name");
        json_object_del(f, "reason");
        json_object_del(f, "corrected_by_name");
        json_object_del(f, "corrected_at");
        json_array_append_new(arr, f);
    }
    json_t *o = json_object();
    json_object_set_new(o, "plan", nat_plan_json(&p));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

/* ---- scans ------------------------------------------------------------------------------ */

static const char *const scan_site_head[] = {"点位", "所属区划", "扫码人数"};
static const char *const scan_street_head[] = {"街道", "所属区", "扫码人数"};

err nat_get_stats_scans(struct req *r)
{
    const char *by = req_query(r, "by");
    if (by && strcmp(by, "street") && strcmp(by, "site"))
        return err_set(E_INPUT, "invalid_parameter", "by", "参数 by 应为 street 或 site");
    bool by_site = by && !strcmp(by, "site");
    int64_t from, to;
    enum export_format fmt;
    err e = day_query(r, "from", &from);
    if (!e)
        e = day_query(r, "to", &to);
    if (!e && to < from)
        e = err_set(E_INPUT, "invalid_time", "to", "结束日期不能早于开始日期");
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    struct nat_scan_stats *items;
    size_t n;
    int64_t from_ms = from * DAY_MS - CHINA_OFFSET_MS, to_ms = (to + 1) * DAY_MS - CHINA_OFFSET_MS;
    if ((e = nat_stats_scans(r->db, r->a, &r->who->scope, by_site, from_ms, to_ms, &items, &n)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = by_site ? export_begin(r, &x, fmt, "点位扫码人数统计", scan_site_head, 3)
                         : export_begin(r, &x, fmt, "街道扫码人数统计", scan_street_head, 3)))
            return e;
        for (size_t i = 0; i < n; i++) {
            export_text(&x, items[i].name);
            export_text(&x, items[i].region_name);
            export_int(&x, items[i].n);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, by_site ? "nat-stats-scans-sites" : "nat-stats-scans-streets");
    }
    json_t *arr = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (by_site) {
            json_set_id(o, "site_id", items[i].id);
            json_object_set_new(o, "site_name", json_string(items[i].name));
            json_set_region(o, items[i].region_code, items[i].region_name);
        } else {
            json_set_region(o, items[i].id, items[i].name);
            char code[19];
            regcode_format(items[i].region_code, code);
            json_object_set_new(o, "district_code", json_string(code));
            json_object_set_new(o, "district_name", json_string(items[i].region_name));
        }
        json_object_set_new(o, "n", json_integer(items[i].n));
        total += items[i].n;
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "by", json_string(by_site ? "site" : "street"));
    json_object_set_new(o, "from", json_string(day_text(r->a, from)));
    json_object_set_new(o, "to", json_string(day_text(r->a, to)));
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

/* ---- the emergency bureau (应急局) ------------------------------------------------------- */

static int64_t effective_of(const struct nat_figure *f)
{
    return f->corrected_set ? f->corrected : f->actual;
}

/* The fields every bureau row starts with: the plan's (计划编号, 计划名称, 开始时间). */
static json_t *bureau_row(const struct nat_plan *p)
{
    json_t *o = json_object();
    json_set_id(o, "plan_id", p->id);
    json_object_set_new(o, "plan_number", json_string(p->number));
    json_object_set_new(o, "plan_name", json_string(p->name));
    json_object_set_new(o, "starts_at", json_integer(p->starts_at));
    json_object_set_new(o, "ends_at", json_integer(p->ends_at));
    return o;
}

/* 计划 / 实际 / 差值 of a figure: actual is what the street stands by. */
static void bureau_figures(json_t *o, const struct nat_figure *f)
{
    json_object_set_new(o, "planned", json_integer(f->planned));
    json_object_set_new(o, "actual", json_integer(effective_of(f)));
    json_object_set_new(o, "counted", json_integer(f->actual));
    json_object_set_new(o, "corrected", f->corrected_set ? json_true() : json_false());
    json_object_set_new(o, "difference", json_integer(f->planned - effective_of(f)));
}

static err bureau(struct req *r, bool by_industry)
{
    struct nat_plan p;
    int64_t plan_id;
    err e = plan_query(r, false, &p, &plan_id);
    if (e)
        return e;
    struct nat_bureau_plan *plans;
    size_t np;
    if ((e = nat_bureau_plans(r->db, r->a, &r->who->scope, plan_id, now_ms(), &plans, &np)))
        return e;
    json_t *arr = json_array();
    int64_t updated = 0;
    for (size_t k = 0; k < np; k++) {
        const struct nat_bureau_plan *b = &plans[k];
        if (b->updated_at > updated)
            updated = b->updated_at;
        if (by_industry) {
            struct nat_figure *sums;
            size_t ns = nat_figures_by_industry(r->a, b->figures, b->n, &sums);
            for (size_t j = 0; j < ns; j++) {
                json_t *o = bureau_row(&b->plan);
                json_set_id(o, "industry_id", sums[j].industry_id);
                json_object_set_new(o, "industry_name", json_string(sums[j].industry_name));
                bureau_figures(o, &sums[j]);
                json_t *streets = json_array();
                for (size_t i = 0; i < b->n; i++) {
                    if (b->figures[i].industry_id != sums[j].industry_id)
                        continue;
                    json_t *s = json_object();
                    json_set_region(s, b->figures[i].region_code, b->figures[i].region_name);
                    bureau_figures(s, &b->figures[i]);
                    json_array_append_new(streets, s);
                }
                json_object_set_new(o, "streets", streets);
                json_array_append_new(arr, o);
            }
            continue;
        }
        for (size_t i = 0; i < b->n; i++) {
            const struct nat_figure *f = &b->figures[i];
            if (f->industry_id)
                continue;
            json_t *o = bureau_row(&b->plan);
            json_set_region(o, f->region_code, f->region_name);
            json_object_set_new(o, "street_name", json_string(f->region_name));
            bureau_figures(o, f);
            json_t *industries = json_array();
            /* the figures are by street then industry: this street's
             * industries follow its residents' row */
            for (size_t j = i + 1; j < b->n && b->figures[j].region_code == f->region_code; j++) {
                json_t *s = json_object();
                json_set_id(s, "industry_id", b->figures[j].industry_id);
                json_object_set_new(s, "industry_name", json_string(b->figures[j].industry_name));
                bureau_figures(s, &b->figures[j]);
                json_array_append_new(industries, s);
            }
            json_object_set_new(o, "industries", industries);
            json_array_append_new(arr, o);
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "updated_at", json_integer(updated));
    json_object_set_new(o, "plans", json_integer((json_int_t)np));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

err nat_get_bureau_streets(struct req *r)
{
    return bureau(r, false);
}

err nat_get_bureau_industries(struct req *r)
{
    return bureau(r, true);
}

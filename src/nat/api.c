/*
 * HTTP handlers of testing sites and clock-ins: /api/v1/nat/sites (CRUD,
 * list with search, paging and export, queue reports) and
 * /api/v1/nat/clockins (clock in and out from the mobile page, lists per
 * site and per street, details).
 *
 * Sites hold no personal data, so their reads are not audited; every write
 * is (field names only in the detail), and so is every clock-in and
 * clock-out. Clock-in lists name staff accounts (their display names), not
 * residents: not audited as personal data, but scoped like every list.
 * Every change to a site is pushed live (nat_site_push, event "nat.site").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/export.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "security/audit.h"

/* ---- input ---------------------------------------------------------------------------- */

static const struct jfield site_fields[] = {
    NAT_SITE_FIELDS(FIELD_JFIELD){"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The body as a nat_site_input (nat/internal.h): members present set their
 * row's bit. A null position clears it (NAN). */
static err input_from(struct req *r, struct nat_site_input *in)
{
    memset(in, 0, sizeof *in);
    json_t *body = r->body;
    bool has_version = json_has(body, "version");
    if (has_version) {
        body = json_copy(r->body); /* the request's body stays as sent (audit detail) */
        json_object_del(body, "version");
    }
    err e = fields_from_json(nat_site_input_rows, NAT_SITE_FIELD_COUNT, body, r->a, in, &in->set);
    if (body != r->body)
        json_decref(body);
    return e;
}

static const char *fields_detail(struct req *r)
{
    const char *out = "fields=", *key;
    json_t *v;
    bool first = true;
    json_object_foreach(r->body, key, v)
    {
        out = arena_printf(r->a, "%s%s%s", out, first ? "" : ",", key);
        first = false;
    }
    return out;
}

/* ---- sites ---------------------------------------------------------------------------- */

static err reply_site(struct req *r, int status, int64_t id)
{
    struct nat_site v;
    err e = nat_site_find(r->db, r->a, &r->who->scope, id, &v);
    return e ? e : reply_json(r, status, nat_site_json(&v));
}

/* The end of a write and its audit entry: the push is scheduled in the
 * same transaction, so it goes out exactly when the change commits. */
static err finish(struct req *r, err e, const char *action, int64_t id, const char *change,
                  const char *detail)
{
    if (!e && change)
        e = nat_site_push(r->db, r->a, id, change);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "nat_site", id, e, detail);
    }
    req_audit(r, action, "nat_site", id, "ok", detail);
    return db_release(r->db, true);
}

static err post_site(struct req *r)
{
    struct nat_site_input in;
    int64_t id = 0;
    err e = input_from(r, &in);
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if (!e)
        e = nat_site_create(r->db, r->a, &r->who->scope, &in, &id);
    if ((e = finish(r, e, "nat.site.create", id, "create", fields_detail(r))))
        return e;
    return reply_site(r, 201, id);
}

static err get_site(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_site(r, 200, id);
}

static err patch_site(struct req *r)
{
    int64_t id;
    struct nat_site_input in;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = input_from(r, &in);
    db_hold(r->db);
    if (!e)
        e = nat_site_update(r->db, r->a, &r->who->scope, id, json_int(r->body, "version", 0), &in);
    if ((e = finish(r, e, "nat.site.update", id, "update", fields_detail(r))))
        return e;
    return reply_site(r, 200, id);
}

static err delete_site(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_site_delete(r->db, &r->who->scope, id);
    if ((e = finish(r, e, "nat.site.delete", id, "delete", "")))
        return e;
    return reply_empty(r);
}

static const struct jfield queue_fields[] = {
    {"queue_length", J_INT, JF_REQUIRED, 0, NAT_QUEUE_MAX, "排队人数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_queue(struct req *r)
{
    int64_t id, n = json_int(r->body, "queue_length", -1);
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = nat_site_queue(r->db, &r->who->scope, id, n, r->who->user_id);
    if ((e = finish(r, e, "nat.site.queue", id, "queue",
                    arena_printf(r->a, "queue_length=%lld", (long long)n))))
        return e;
    return reply_site(r, 200, id);
}

static const char *const site_head[] = {
    "点位名称", "点位类型",       "所属区划", "地址",     "经度",     "纬度",     "开放时间",
    "状态",     "每小时采样能力", "排队人数", "在岗人数", "无人值守", "更新时间",
};

static err sites_export(struct req *r, enum export_format fmt, const struct nat_site *items,
                        size_t n)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "核酸点位", site_head, sizeof site_head / sizeof *site_head);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        const struct nat_site *v = &items[i];
        export_text(&x, v->name);
        export_text(&x, vocab_label(&nat_site_kind_vocab, (size_t)v->kind));
        export_text(&x, v->region_name);
        export_text(&x, v->address);
        if (isnan(v->lng)) {
            export_empty(&x);
            export_empty(&x);
        } else {
            export_decimal(&x, v->lng, 6);
            export_decimal(&x, v->lat, 6);
        }
        export_text(&x, *v->hours ? v->hours : "全天");
        export_text(&x, vocab_label(&nat_site_state_vocab, (size_t)v->state));
        export_int(&x, v->capacity);
        export_int(&x, v->queue_length);
        export_int(&x, v->on_duty);
        export_text(&x, v->unattended_since ? "是" : "否");
        export_time(&x, v->updated_at);
        export_row_end(&x);
    }
    return export_send(&x, E_OK, "nat-sites");
}

static err region_query(struct req *r, int64_t *code_r)
{
    const char *s = req_query(r, "region_code");
    *code_r = 0;
    if (!s)
        return E_OK;
    enum region_level lv;
    if ((*code_r = regcode_parse(s, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    return E_OK;
}

static err bool_query(struct req *r, const char *name, int *v_r)
{
    const char *s = req_query(r, name);
    *v_r = -1;
    if (!s)
        return E_OK;
    if (strcmp(s, "0") && strcmp(s, "1"))
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为 1 或 0", name);
    *v_r = s[0] == '1';
    return E_OK;
}

static err get_sites(struct req *r)
{
    struct nat_site_filter f = {.unattended = -1};
    enum export_format fmt;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = region_query(r, &f.region_code);
    if (!e)
        e = bool_query(r, "unattended", &f.unattended);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    const char *s;
    if ((s = req_query(r, "kind")) && vocab_parse(&nat_site_kind_vocab, s) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "点位类型的取值不正确");
    if (s)
        f.kind = (enum nat_site_kind)vocab_parse(&nat_site_kind_vocab, s);
    if ((s = req_query(r, "state")) && vocab_parse(&nat_site_state_vocab, s) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "点位状态的取值不正确");
    if (s)
        f.state = (enum nat_site_state)vocab_parse(&nat_site_state_vocab, s);
    f.q = req_query(r, "q");
    if (f.q && (!utf8_valid_text(f.q) || utf8_len(f.q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    f.sort = req_query(r, "sort");
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct nat_site *items;
    size_t n;
    int64_t total;
    if ((e = nat_site_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (fmt)
        return sites_export(r, fmt, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_site_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

/* ---- clock-ins -------------------------------------------------------------------------- */

static const struct jfield position_fields[] = {
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL, NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static double number_or_nan(json_t *b, const char *key)
{
    json_t *v = b ? json_object_get(b, key) : NULL;
    return v && json_is_number(v) ? json_number_value(v) : NAN;
}

static err reply_clockin(struct req *r, int status, int64_t id)
{
    struct nat_clockin c;
    struct scope all = scope_all(); /* one's own clock-in, wherever the site */
    err e = nat_clockin_find(r->db, r->a, &all, id, &c);
    return e ? e : reply_json(r, status, nat_clockin_json(&c));
}

static const char *position_detail(struct req *r, int64_t clockin)
{
    return arena_printf(r->a, "clockin=%lld", (long long)clockin);
}

static err post_clock_in(struct req *r)
{
    int64_t site, id = 0;
    err e = req_param_id(r, 0, &site);
    db_hold(r->db);
    if (!e)
        e = nat_clock_in(r->db, &r->who->scope, site, r->who->user_id,
                         number_or_nan(r->body, "lng"), number_or_nan(r->body, "lat"), &id);
    if ((e = finish(r, e, "nat.clock_in", site, "clock_in", position_detail(r, id))))
        return e;
    return reply_clockin(r, 201, id);
}

static err post_clock_out(struct req *r)
{
    int64_t id = 0, site = 0;
    struct nat_clockin cur;
    bool found = false;
    err e = nat_clockin_current(r->db, r->a, r->who->user_id, &cur, &found);
    if (!e && found)
        site = cur.site_id;
    db_hold(r->db);
    if (!e)
        e = nat_clock_out(r->db, r->who->user_id, number_or_nan(r->body, "lng"),
                          number_or_nan(r->body, "lat"), &id);
    if ((e = finish(r, e, "nat.clock_out", site, site ? "clock_out" : NULL,
                    position_detail(r, id))))
        return e;
    return reply_clockin(r, 200, id);
}

static err get_my_clockin(struct req *r)
{
    struct nat_clockin c;
    bool found;
    err e = nat_clockin_current(r->db, r->a, r->who->user_id, &c, &found);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "clockin", found ? nat_clockin_json(&c) : json_null());
    json_object_set_new(o, "radius", json_integer(nat_clockin_radius()));
    return reply_json(r, 200, o);
}

static err get_clockin(struct req *r)
{
    int64_t id;
    struct nat_clockin c;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = nat_clockin_find(r->db, r->a, &r->who->scope, id, &c);
    return e ? e : reply_json(r, 200, nat_clockin_json(&c));
}

static err time_query(struct req *r, const char *name, int64_t *v_r)
{
    return req_query_int64(r, name, 0, INT64_MAX / 2, v_r);
}

static const char *const clockin_head[] = {
    "点位",           "所属区划", "人员",           "打卡时间",
    "打卡距离（米）", "签退时间", "签退距离（米）", "位置异常",
};

static err get_clockins(struct req *r)
{
    struct nat_clockin_filter f = {.open = -1, .far = -1};
    enum export_format fmt;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = region_query(r, &f.region_code);
    if (!e)
        e = bool_query(r, "open", &f.open);
    if (!e)
        e = bool_query(r, "far", &f.far);
    if (!e)
        e = time_query(r, "from", &f.from);
    if (!e)
        e = time_query(r, "to", &f.to);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    const char *s;
    if ((s = req_query(r, "site_id")) && (f.site_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "site_id", "参数 site_id 不正确");
    if ((s = req_query(r, "user_id")) && (f.user_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "user_id", "参数 user_id 不正确");
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct nat_clockin *items;
    size_t n;
    int64_t total;
    if ((e = nat_clockin_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "打卡记录", clockin_head,
                              sizeof clockin_head / sizeof *clockin_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_clockin *c = &items[i];
            export_text(&x, c->site_name);
            export_text(&x, c->region_name);
            export_text(&x, c->user_name);
            export_time(&x, c->in_at);
            if (c->in_distance < 0)
                export_empty(&x);
            else
                export_int(&x, c->in_distance);
            export_time(&x, c->out_at);
            if (c->out_distance < 0)
                export_empty(&x);
            else
                export_int(&x, c->out_distance);
            export_text(&x, c->in_far || c->out_far ? "是" : "否");
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-clockins");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_clockin_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

/* ---- routes ------------------------------------------------------------------------------ */

const struct route nat_routes[] = {
    {M_POST, "/api/v1/nat/sites", post_site, PERM_NAT_SITE, 0, site_fields, "新增核酸点位", "nat",
     0},
    {M_GET, "/api/v1/nat/sites", get_sites, PERM_NAT_READ, 0, NULL,
     "核酸点位列表（region_code、kind、state、unattended、q 筛选，format=csv/xlsx 导出）", "nat",
     0},
    {M_GET, "/api/v1/nat/sites/{id}", get_site, PERM_NAT_READ, 0, NULL, "核酸点位详情", "nat", 0},
    {M_PATCH, "/api/v1/nat/sites/{id}", patch_site, PERM_NAT_SITE, 0, site_fields, "修改核酸点位",
     "nat", 0},
    {M_DELETE, "/api/v1/nat/sites/{id}", delete_site, PERM_NAT_SITE, 0, NULL,
     "删除核酸点位（关闭并标记删除）", "nat", 0},
    {M_POST, "/api/v1/nat/sites/{id}/queue", post_queue, PERM_NAT_WRITE, 0, queue_fields,
     "上报排队人数", "nat", 0},
    {M_POST, "/api/v1/nat/sites/{id}/clock-in", post_clock_in, PERM_NAT_WRITE, 0, position_fields,
     "点位人员打卡上岗", "nat", 0},
    {M_POST, "/api/v1/nat/clock-out", post_clock_out, PERM_NAT_WRITE, 0, position_fields,
     "点位人员签退", "nat", 0},
    {M_GET, "/api/v1/nat/clockins/mine", get_my_clockin, PERM_NAT_WRITE, 0, NULL,
     "本人当前在岗打卡", "nat", 0},
    {M_GET, "/api/v1/nat/clockins", get_clockins, PERM_NAT_READ, 0, NULL,
     "打卡记录（site_id、region_code、user_id、open、far、from、to 筛选，可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/clockins/{id}", get_clockin, PERM_NAT_READ, 0, NULL, "打卡记录详情", "nat",
     0},
    {M_GET, "/api/v1/nat/stats/streets", nat_get_stats_streets, PERM_NAT_READ, 0, NULL,
     "核酸街道统计（plan_id、day 当日；点位、扫码、打卡、应检实检；可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/stats/districts", nat_get_stats_districts, PERM_NAT_READ, 0, NULL,
     "核酸区级统计（各街道按区汇总，参数同街道统计，可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/stats/industries", nat_get_stats_industries, PERM_NAT_READ, 0, NULL,
     "核酸行业统计（plan_id 必填，按行业汇总本辖区各街道，可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/stats/scans", nat_get_stats_scans, PERM_NAT_READ, 0, NULL,
     "扫码人数统计（by=street/site，from、to 日期，可导出）", "nat", 0},
    {M_GET, "/api/v1/nat/bureau/streets", nat_get_bureau_streets, PERM_NAT_READ, 0, NULL,
     "应急局：按街道核酸检测情况实时统计（进行中的计划或 plan_id）", "nat", 0},
    {M_GET, "/api/v1/nat/bureau/industries", nat_get_bureau_industries, PERM_NAT_READ, 0, NULL,
     "应急局：按行业核酸检测情况实时统计（进行中的计划或 plan_id）", "nat", 0},
};
const size_t nat_routes_n = sizeof nat_routes / sizeof nat_routes[0];

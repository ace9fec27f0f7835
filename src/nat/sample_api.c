/*
 * HTTP handlers of sampling (采样, nat.h part 2): POST /api/v1/nat/samples
 * from a site staff's phone, the tube close, and the lists of samples,
 * tubes and scans per site and hour (with export).
 *
 * The person is named by their health code (the checkpoint scan's token:
 * any resident's code is accepted, as at a gate), by the identity number
 * typed (the registry's blind index, person_find_by_id_number) or by a
 * visitor code. Every sample is audited with the write, in its
 * transaction (db_hold); a refusal is audited too. The sample list names
 * persons: masked unless ?reveal=1 by a holder of person.reveal, which is
 * audited (person.reveal, one entry naming the page's samples count).
 */
#include <ctype.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "http/export.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "security/token.h"
#include "visitor/visitor.h"

/* ---- taking a sample -------------------------------------------------------------------- */

static const struct jfield sample_fields[] = {
    {"code", J_STRING, 0, 1, 200, "健康码或访客码", NULL, NULL},
    {"id_number", J_STRING, 0, 1, 32, "证件号码", NULL, NULL},
    {"id_type", J_STRING, 0, 0, 0, "证件类型", NULL, &id_type_vocab},
    {"barcode", J_STRING, JF_REQUIRED, 1, 64, "试管条码", NULL, NULL},
    {"tube_kind", J_STRING, 0, 0, 0, "试管类型", NULL, &nat_tube_kind_vocab},
    {"plan_id", J_STRING, JF_NULLABLE, 1, 20, "检测计划", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* A typed code: spaces and dashes dropped, upper-cased (as the checkpoint). */
static char *token_normalise(arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) + 1), *p = out;
    for (; *s; s++)
        if (*s != ' ' && *s != '-' && *s != '\t')
            *p++ = (char)toupper((unsigned char)*s);
    *p = '\0';
    return out;
}

/* A code: a resident's health code, else a confirmed visitor's code in its
 * window. Anyone may be tested anywhere: no scope on the person. */
err nat_sampled_by_code(db *d, arena *a, const char *code, struct nat_sampled *w)
{
    const char *token = token_normalise(a, code);
    struct token t;
    struct scope all = scope_all();
    int64_t now = now_ms();
    err e = token_verify(token, TOKEN_HEALTH, now, &t);
    if (!e) {
        struct person p;
        if ((e = person_find_brief(d, a, &all, t.subject, &p)) == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_person", "code", "该健康码对应的人员不存在");
        if (e)
            return e;
        *w = (struct nat_sampled){p.id, 0, NAT_BY_CODE, p.name};
        return E_OK;
    }
    err he = e;
    if (token_verify(token, TOKEN_VISITOR, now, &t)) {
        err_ignore(he); /* the health code's error is the one to report */
        return err_set(E_NOT_FOUND, "unknown_person", "code", "无法识别的健康码或访客码");
    }
    struct visitor v;
    if ((e = visitor_find(d, a, &all, 0, t.subject, &v)) == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_person", "code", "访客登记不存在");
    if (e)
        return e;
    if ((int64_t)t.key_id != v.code_version)
        return err_set(E_INPUT, "visitor_code_revoked", "code", "访客码已作废");
    if (v.status != VISITOR_CONFIRMED)
        return err_set(E_CONFLICT, "visitor_not_confirmed", "code", "访客登记%s，访客码无效",
                       visitor_status_label(v.status));
    if ((e = visitor_window_admit(v.valid_from, v.valid_to, now)))
        return e;
    *w = (struct nat_sampled){0, v.id, NAT_BY_VISITOR, v.name};
    return E_OK;
}

err nat_sampled_by_id_number(db *d, arena *a, const char *typed, const char *type_name,
                             struct nat_sampled *w)
{
    enum id_type type = type_name ? id_type_parse(type_name) : ID_RESIDENT;
    char *idn = person_id_normalise(arena_strdup(a, typed));
    err e = check_id_number(type, idn, "id_number");
    if (e)
        return e;
    struct person p;
    struct scope all = scope_all();
    if ((e = person_find_by_id_number(d, a, &all, type, idn, &p)) == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_person", "id_number", "该证件号码对应的人员不存在");
    if (e)
        return e;
    *w = (struct nat_sampled){p.id, 0, NAT_BY_ID_NUMBER, p.name};
    return E_OK;
}

static err sample(struct req *r, int64_t *id_r)
{
    json_t *b = r->body;
    const char *code = json_str(b, "code"), *idn = json_str(b, "id_number");
    if (!code == !idn)
        return err_set(E_INPUT, "required", code ? "id_number" : "code",
                       "请扫描健康码（或访客码）或输入证件号码，二者取其一");
    const char *barcode = json_str(b, "barcode"), *plan = json_str(b, "plan_id");
    if (!nat_barcode_valid(barcode))
        return err_set(E_INPUT, "invalid_barcode", "barcode",
                       "试管条码应为6到32位数字、字母或连字符");
    int64_t plan_id = 0;
    if (plan && (plan_id = id_parse(plan)) <= 0)
        return err_set(E_INPUT, "invalid_value", "plan_id", "检测计划编号不正确");
    struct nat_sampled w = {0};
    err e = code ? nat_sampled_by_code(r->db, r->a, code, &w)
                 : nat_sampled_by_id_number(r->db, r->a, idn, json_str(b, "id_type"), &w);
    if (e)
        return e;
    const char *kind = json_str(b, "tube_kind");
    struct nat_sample_input in = {
        .person_id = w.person_id,
        .visitor_id = w.visitor_id,
        .method = w.method,
        .barcode = barcode,
        .kind = kind ? (enum nat_tube_kind)vocab_parse(&nat_tube_kind_vocab, kind) : 0,
        .plan_id = plan_id,
        .staff_id = r->who->user_id,
    };
    struct nat_sample_result res;
    db_hold(r->db); /* the sample and its audit entry commit together */
    if ((e = nat_sample_take(r->db, r->a, &in, &res))) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    *id_r = res.id;
    req_audit(r, "nat.sample", "nat_sample", res.id, "ok",
              arena_printf(r->a, "method=%s person=%lld visitor=%lld tube=%s",
                           w.method == NAT_BY_CODE        ? "code"
                           : w.method == NAT_BY_ID_NUMBER ? "id_number"
                                                          : "visitor",
                           (long long)w.person_id, (long long)w.visitor_id, barcode));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", res.id);
    if (w.person_id)
        json_set_id(o, "person_id", w.person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    json_object_set_new(o, "visitor", json_boolean(w.visitor_id != 0));
    json_object_set_new(o, "name", json_string(mask_name(r->a, w.name)));
    json_object_set_new(o, "barcode", json_string(barcode));
    json_object_set_new(o, "filled", json_integer(res.filled));
    json_object_set_new(o, "size", json_integer(res.size));
    json_object_set_new(o, "tube_opened", json_boolean(res.opened));
    json_object_set_new(o, "tube_closed", json_boolean(res.closed));
    json_object_set_new(o, "duplicate", json_boolean(res.duplicate));
    json_set_id(o, "site_id", res.site_id);
    json_object_set_new(o, "scans_this_hour", json_integer(res.scans));
    json_t *warnings = json_array();
    if (res.duplicate)
        json_array_append_new(
            warnings,
            json_pack("{s:s,s:s}", "code", "duplicate_sample", "message",
                      plan_id ? "重复采样：此人在本计划中已采样" : "重复采样：此人今日已采样"));
    if (res.closed)
        json_array_append_new(
            warnings, json_pack("{s:s,s:s}", "code", "tube_full", "message",
                                arena_printf(r->a, "试管已满（%lld/%lld），已自动封管，请换新试管",
                                             (long long)res.filled, (long long)res.size)));
    json_object_set_new(o, "warnings", warnings);
    return reply_json(r, 201, o);
}

static err post_sample(struct req *r)
{
    int64_t id = 0;
    err e = sample(r, &id);
    return e ? audit_refusal(r->db, r->who, r->ip, "nat.sample", "nat_sample", 0, e, NULL) : e;
}

static err post_tube_close(struct req *r)
{
    const char *barcode = r->params[0];
    struct nat_tube t = {0};
    db_hold(r->db);
    err e = nat_tube_close(r->db, r->a, &r->who->scope, barcode, r->who->user_id, &t);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "nat.tube.close", "nat_tube", 0, e, NULL);
    }
    req_audit(r, "nat.tube.close", "nat_tube", t.id, "ok",
              arena_printf(r->a, "filled=%lld/%lld", (long long)t.filled, (long long)t.size));
    if ((e = db_release(r->db, true)))
        return e;
    if ((e = nat_tube_find(r->db, r->a, &r->who->scope, barcode, &t)))
        return e;
    return reply_json(r, 200, nat_tube_json(&t));
}

/* ---- lists --------------------------------------------------------------------------------- */

static err region_query(struct req *r, int64_t *code_r)
{
    const char *s = req_query(r, "region_code");
    *code_r = 0;
    enum region_level lv;
    if (s && (*code_r = regcode_parse(s, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    return E_OK;
}

static err id_query(struct req *r, const char *name, int64_t *v_r)
{
    const char *s = req_query(r, name);
    *v_r = 0;
    if (s && (*v_r = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 不正确", name);
    return E_OK;
}

static err time_query(struct req *r, const char *name, int64_t *v_r)
{
    return req_query_int64(r, name, 0, INT64_MAX / 2, v_r);
}

static const char *const sample_head[] = {
    "姓名",     "试管条码", "试管类型", "点位",     "所属区划", "检测计划",
    "采样人员", "方式",     "采样时间", "重复采样", "检测结果",
};

static const char *method_label(enum nat_sample_method m)
{
    return m == NAT_BY_VISITOR ? "访客码" : m == NAT_BY_ID_NUMBER ? "证件号码" : "健康码";
}

static err get_samples(struct req *r)
{
    struct nat_sample_filter f = {.duplicate = -1};
    enum export_format fmt;
    bool reveal;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = region_query(r, &f.region_code);
    if (!e)
        e = id_query(r, "site_id", &f.site_id);
    if (!e)
        e = id_query(r, "plan_id", &f.plan_id);
    if (!e)
        e = id_query(r, "person_id", &f.person_id);
    if (!e)
        e = time_query(r, "from", &f.from);
    if (!e)
        e = time_query(r, "to", &f.to);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    const char *s = req_query(r, "barcode");
    if (s) {
        struct nat_tube t;
        if ((e = nat_tube_find(r->db, r->a, &r->who->scope, s, &t)) == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_tube", "barcode", "试管不存在");
        if (e)
            return e;
        f.tube_id = t.id;
    }
    if ((s = req_query(r, "duplicate"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "duplicate", "参数 duplicate 应为 1 或 0");
        f.duplicate = s[0] == '1';
    }
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct nat_sample *items;
    size_t n;
    int64_t total;
    if ((e = nat_sample_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    /* one entry for the page: the samples named, revealed or not */
    const char *action = fmt ? (reveal ? "person.export" : "nat.sample.export")
                             : (reveal ? "person.reveal" : "nat.sample.list");
    req_audit(r, action, "nat_sample", n == 1 ? items[0].id : 0, "ok",
              arena_printf(r->a, "view=nat_samples count=%zu", n));
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "采样记录", sample_head,
                              sizeof sample_head / sizeof *sample_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_sample *v = &items[i];
            export_text(&x, reveal ? v->name : mask_name(r->a, v->name));
            export_text(&x, v->barcode);
            export_text(&x, vocab_label(&nat_tube_kind_vocab, (size_t)v->tube_kind));
            export_text(&x, v->site_name);
            export_text(&x, v->region_name);
            export_text(&x, v->plan_id ? v->plan_name : "");
            export_text(&x, v->staff_name);
            export_text(&x, method_label(v->method));
            export_time(&x, v->at);
            export_text(&x, v->duplicate ? "是" : "否");
            export_text(&x, v->outcome ? vocab_label(&nat_outcome_vocab, (size_t)v->outcome)
                                       : "待检测");
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-samples");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_sample_json(r->a, &items[i], reveal));
    return reply_page(r, arr, total, f.page, page_size);
}

static const char *const tube_head[] = {
    "试管条码", "试管类型", "已采/容量", "点位",     "所属区划", "检测计划",
    "开管人员", "状态",     "开管时间",  "封管时间", "检测结果", "检测机构",
};

static err get_tubes(struct req *r)
{
    struct nat_tube_filter f = {0};
    enum export_format fmt;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = region_query(r, &f.region_code);
    if (!e)
        e = id_query(r, "site_id", &f.site_id);
    if (!e)
        e = id_query(r, "plan_id", &f.plan_id);
    if (!e)
        e = time_query(r, "from", &f.from);
    if (!e)
        e = time_query(r, "to", &f.to);
    if (!e)
        e = time_query(r, "resulted_from", &f.resulted_from);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    const char *s = req_query(r, "state");
    if (s && vocab_parse(&nat_tube_state_vocab, s) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "试管状态的取值不正确");
    if (s)
        f.state = (enum nat_tube_state)vocab_parse(&nat_tube_state_vocab, s);
    const char *aw = req_query(r, "awaiting");
    f.awaiting = aw && !strcmp(aw, "1");
    int64_t page_size = f.page_size;
    if (fmt)
        f.page_size = 0;
    struct nat_tube *items;
    size_t n;
    int64_t total;
    if ((e = nat_tube_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "试管", tube_head, sizeof tube_head / sizeof *tube_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            const struct nat_tube *t = &items[i];
            export_text(&x, t->barcode);
            export_text(&x, vocab_label(&nat_tube_kind_vocab, (size_t)t->kind));
            export_text(&x,
                        arena_printf(r->a, "%lld/%lld", (long long)t->filled, (long long)t->size));
            export_text(&x, t->site_name);
            export_text(&x, t->region_name);
            export_text(&x, t->plan_id ? t->plan_name : "");
            export_text(&x, t->opened_by_name);
            export_text(&x, vocab_label(&nat_tube_state_vocab, (size_t)t->state));
            export_time(&x, t->opened_at);
            export_time(&x, t->closed_at);
            export_text(&x,
                        t->result ? vocab_label(&nat_result_vocab, (size_t)t->result) : "待检测");
            export_text(&x, t->institution);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-tubes");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_tube_json(&items[i]));
    return reply_page(r, arr, total, f.page, page_size);
}

/* A tube with its samples (masked unless revealed, audited as the list). */
static err get_tube(struct req *r)
{
    bool reveal;
    struct nat_tube t;
    err e = req_reveal(r, &reveal);
    if (!e)
        e = nat_tube_find(r->db, r->a, &r->who->scope, r->params[0], &t);
    if (e)
        return e;
    struct nat_sample_filter f = {.tube_id = t.id, .duplicate = -1};
    struct nat_sample *items;
    size_t n;
    int64_t total;
    if ((e = nat_sample_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    req_audit(r, reveal ? "person.reveal" : "nat.tube.read", "nat_tube", t.id, "ok",
              arena_printf(r->a, "view=nat_tube count=%zu", n));
    json_t *o = nat_tube_json(&t), *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_sample_json(r->a, &items[i], reveal));
    json_object_set_new(o, "samples", arr);
    return reply_json(r, 200, o);
}

static const char *const hour_head[] = {"点位", "所属区划", "时段", "扫码人数"};

static err get_scans(struct req *r)
{
    int64_t page, page_size, region, site, from = 0, to = 0;
    enum export_format fmt;
    err e = req_paging(r, &page, &page_size);
    if (!e)
        e = region_query(r, &region);
    if (!e)
        e = id_query(r, "site_id", &site);
    if (!e)
        e = time_query(r, "from", &from);
    if (!e)
        e = time_query(r, "to", &to);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    struct nat_site_hour *items;
    size_t n;
    int64_t total;
    if ((e = nat_site_hours(r->db, r->a, &r->who->scope, region, site, from, to, page,
                            fmt ? 0 : page_size, &items, &n, &total)))
        return e;
    if (fmt) {
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "点位扫码人数", hour_head,
                              sizeof hour_head / sizeof *hour_head)))
            return e;
        for (size_t i = 0; i < n; i++) {
            export_text(&x, items[i].site_name);
            export_text(&x, items[i].region_name);
            export_time(&x, items[i].hour);
            export_int(&x, items[i].n);
            export_row_end(&x);
        }
        return export_send(&x, E_OK, "nat-scans");
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_set_id(o, "site_id", items[i].site_id);
        json_object_set_new(o, "site_name", json_string(items[i].site_name));
        json_set_region(o, items[i].region_code, items[i].region_name);
        json_object_set_new(o, "hour", json_integer(items[i].hour));
        json_object_set_new(o, "n", json_integer(items[i].n));
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, page, page_size);
}

/* ---- routes -------------------------------------------------------------------------------- */

const struct route nat_sample_routes[] = {
    {M_POST, "/api/v1/nat/samples", post_sample, PERM_NAT_WRITE, 0, sample_fields,
     "采样（扫健康码、访客码或输入证件号码，扫试管条码）", "nat", 0},
    {M_GET, "/api/v1/nat/samples", get_samples, PERM_NAT_READ, 0, NULL,
     "采样记录（region_code、site_id、plan_id、person_id、barcode、duplicate、from、to 筛选，"
     "reveal=1 显示全名，可导出）",
     "nat", 0},
    {M_GET, "/api/v1/nat/tubes", get_tubes, PERM_NAT_READ, 0, NULL,
     "试管列表（region_code、site_id、plan_id、state、from、to、resulted_from 筛选，awaiting=1 "
     "待出结果，可导出）",
     "nat", 0},
    {M_GET, "/api/v1/nat/tubes/{barcode}", get_tube, PERM_NAT_READ, 0, NULL, "试管及其采样记录",
     "nat", 0},
    {M_POST, "/api/v1/nat/tubes/{barcode}/close", post_tube_close, PERM_NAT_WRITE, 0, NULL,
     "提前封管", "nat", 0},
    {M_GET, "/api/v1/nat/scans", get_scans, PERM_NAT_READ, 0, NULL,
     "点位扫码人数（按点位、按小时；region_code、site_id、from、to 筛选，可导出）", "nat", 0},
};
const size_t nat_sample_routes_n = sizeof nat_sample_routes / sizeof nat_sample_routes[0];

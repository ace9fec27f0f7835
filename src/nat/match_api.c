/*
 * HTTP handlers of the city's testing-site list and its matching to the
 * district's sites (东软核酸数据匹配; nat.h "the city's site list"):
 *
 *   GET  /api/v1/nat/city-sites/template.xlsx   the import template
 *   POST /api/v1/nat/city-sites/import          xlsx or CSV: 202 {job_id, rows}, on the import
 * worker GET  /api/v1/nat/city-sites                 the list in scope (state, q, paging) GET
 * /api/v1/nat/city-sites/lookup?code=    the district site of a city code GET
 * /api/v1/nat/city-sites/{id}            one, with its candidates POST
 * /api/v1/nat/city-sites/{id}/review     confirm a site, or no match POST
 * /api/v1/nat/city-sites/rematch         re-run matching for the undecided ones
 *
 * The import is checked in the request (whole-file faults answer 400) and
 * applied on the import worker (job/import.h) as the job "nat.city_import",
 * whose result holds the counts and the row errors (the console polls it
 * as every import). City sites hold no personal data: reads are not
 * audited, every write is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/xlsx.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/nat.h"
#include "security/audit.h"

#define UPLOAD_MAX (20u * 1024 * 1024)

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = nat_city_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"city-sites-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

/* Checked here (whole-file faults answer 400), applied on the import
 * worker: 202 {job_id, rows}. */
static err post_import(struct req *r)
{
    static const struct import_accept acc = {"nat.city.import", "nat.city.import_queued",
                                             "nat.city_import", NULL, 0};
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t job;
    err e = nat_city_import_check(r->a, body, n, &rows);
    if ((e = import_accept(r, e, &acc, n, rows, NULL, &job)) ||
        (e = nat_city_import_submit(r->db, job, r->who, body, n, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

static err get_list(struct req *r)
{
    struct nat_city_filter f = {0};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    const char *s = req_query(r, "state");
    if (s && vocab_parse(&nat_match_state_vocab, s) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "匹配状态的取值不正确");
    if (s)
        f.state = (enum nat_match_state)vocab_parse(&nat_match_state_vocab, s);
    f.q = req_query(r, "q");
    if (f.q && (!utf8_valid_text(f.q) || utf8_len(f.q) > 50))
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    struct nat_city_site *items;
    size_t n;
    int64_t total;
    if ((e = nat_city_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_city_json(&items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static err reply_city(struct req *r, int64_t id)
{
    struct nat_city_site c;
    err e = nat_city_find(r->db, r->a, &r->who->scope, id, &c);
    return e ? e : reply_json(r, 200, nat_city_json(&c));
}

static err get_one(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    return e ? e : reply_city(r, id);
}

/* The look-up the ingestion of the city's data uses: the city site and,
 * when matched (auto or confirmed), the district site. */
static err get_lookup(struct req *r)
{
    const char *code = req_query(r, "code");
    if (!code || !*code || strlen(code) > NAT_CITY_CODE_MAX)
        return err_set(E_INPUT, "required", "code", "请提供城市点位编码");
    struct nat_city_site c;
    struct nat_site s;
    err e = nat_city_find_code(r->db, r->a, &r->who->scope, code, &c);
    if (e)
        return e;
    bool matched = c.state == NAT_MATCH_AUTO || c.state == NAT_MATCH_CONFIRMED;
    if (matched && (e = nat_site_find(r->db, r->a, &r->who->scope, c.site_id, &s))) {
        if (e != E_NOT_FOUND)
            return e;
        matched = false; /* the district site was deleted since */
    }
    json_t *o = json_object();
    json_object_set_new(o, "city_site", nat_city_json(&c));
    json_object_set_new(o, "site", matched ? nat_site_json(&s) : json_null());
    return reply_json(r, 200, o);
}

static const char *const decisions[] = {"confirm", "none", NULL};

static const struct jfield review_fields[] = {
    {"decision", J_STRING, JF_REQUIRED, 0, 0, "审核结论", decisions, NULL},
    {"site_id", J_STRING, JF_NULLABLE, 1, 20, "区级核酸点位", NULL, NULL},
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_review(struct req *r)
{
    int64_t id, site = 0;
    err e = req_param_id(r, 0, &id);
    const char *decision = json_str(r->body, "decision");
    bool confirm = decision && !strcmp(decision, "confirm");
    const char *s = json_str(r->body, "site_id");
    if (!e && confirm && (!s || (site = id_parse(s)) <= 0))
        e = err_set(E_INPUT, "invalid_site", "site_id", "请选择对应的区级核酸点位");
    if (!e && !confirm && s)
        e = err_set(E_INPUT, "invalid_value", "site_id", "标记为无对应点位时不应选择点位");
    db_hold(r->db);
    if (!e)
        e = nat_city_review(r->db, r->a, &r->who->scope, id, json_int(r->body, "version", 0), site,
                            r->who->user_id);
    const char *detail = confirm ? arena_printf(r->a, "decision=confirm site=%lld", (long long)site)
                                 : "decision=none";
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "nat.city.review", "nat_city_site", id, e,
                             detail);
    }
    req_audit(r, "nat.city.review", "nat_city_site", id, "ok", detail);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_city(r, id);
}

static err post_rematch(struct req *r)
{
    struct nat_match_counts c = {0};
    db_hold(r->db);
    err e = nat_city_match(r->db, r->a, &c);
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "nat.city.rematch", "nat_city_site", 0, "ok",
              arena_printf(r->a, "matched=%lld auto=%lld to_review=%lld unmatched=%lld",
                           (long long)c.matched, (long long)c.auto_n, (long long)c.to_review,
                           (long long)c.unmatched));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200,
                      json_pack("{s:I,s:I,s:I,s:I}", "matched", (json_int_t)c.matched, "auto",
                                (json_int_t)c.auto_n, "to_review", (json_int_t)c.to_review,
                                "unmatched", (json_int_t)c.unmatched));
}

const struct route nat_match_routes[] = {
    {M_GET, "/api/v1/nat/city-sites/template.xlsx", get_template, PERM_NAT_SITE, 0, NULL,
     "城市点位导入模板（Excel）", "nat", 0},
    {M_POST, "/api/v1/nat/city-sites/import", post_import, PERM_NAT_SITE, ROUTE_RAW_BODY, NULL,
     "导入市级核酸点位清单（Excel 或 CSV，按编码新增或更新）并自动匹配", "nat", UPLOAD_MAX},
    {M_POST, "/api/v1/nat/city-sites/rematch", post_rematch, PERM_NAT_SITE, 0, NULL,
     "重新匹配待审核、未匹配及所匹配点位已删除的城市点位", "nat", 0},
    {M_GET, "/api/v1/nat/city-sites/lookup", get_lookup, PERM_NAT_READ, 0, NULL,
     "按城市点位编码查询对应的区级核酸点位（code）", "nat", 0},
    {M_GET, "/api/v1/nat/city-sites", get_list, PERM_NAT_READ, 0, NULL,
     "城市点位匹配列表（state、q 筛选）", "nat", 0},
    {M_GET, "/api/v1/nat/city-sites/{id}", get_one, PERM_NAT_READ, 0, NULL,
     "城市点位详情（含候选区级点位及得分、距离）", "nat", 0},
    {M_POST, "/api/v1/nat/city-sites/{id}/review", post_review, PERM_NAT_SITE, 0, review_fields,
     "审核城市点位匹配：确认区级点位或标记无对应点位", "nat", 0},
};
const size_t nat_match_routes_n = sizeof nat_match_routes / sizeof nat_match_routes[0];

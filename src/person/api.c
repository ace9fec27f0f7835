/*
 * HTTP handlers of the person registry: JSON and query parameters in,
 * person.h calls, masked JSON or CSV out, one audit entry per request.
 *
 *   POST   /api/v1/persons               register (201)
 *   GET    /api/v1/persons               search, page, sort, format=csv
 *   GET    /api/v1/persons/{id}          one person
 *   PATCH  /api/v1/persons/{id}          change (optional "version")
 *   DELETE /api/v1/persons/{id}          soft delete (204)
 *   GET    /api/v1/persons/{id}/history  changes, newest first
 *   POST   /api/v1/persons/{id}/verify   staff saw the identity document (核验身份)
 *   POST   /api/v1/persons/{id}/confirm  staff checked the record with the resident (核验无误)
 *
 * Searches that single out a person (id number, phone, last four of the
 * phone, name) count against the caller's hourly limit (person_search_hit)
 * and are audited with the fields searched, never the values, so masking
 * cannot be undone by trying the few candidates a mask leaves.
 *
 * Every reply masks personal fields unless the caller holds person.reveal
 * AND asked with ?reveal=1; such a reply is audited as person.reveal, and
 * an export of full values (format=csv&reveal=1) as person.export (asked
 * for without the right: 403, audited as refused).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "http/export.h"
#include "base/csv.h"
#include "base/time.h"
#include "base/regcode.h"
#include "person/internal.h"
#include "region/region.h"
#include "security/audit.h"

/* ---- request body ------------------------------------------------------------ */

/* ---- shared helpers ------------------------------------------------------------- */

static err reply_person(struct req *r, int status, const struct person *p, bool reveal,
                        const char *what)
{
    if (reveal)
        req_audit(r, "person.reveal", "person", p->id, "ok", what);
    return reply_json(r, status, person_json(r->a, p, reveal));
}

/* ---- handlers ---------------------------------------------------------------- */

/* A staff body checked in one pass (person_body_check, person.h). The
 * routes carry ROUTE_BODY_LATE, so the router left the JSON check here. */
static err body_checked(struct req *r, const struct person *cur, struct person *p,
                        person_fields *set_r)
{
    return person_body_check(r->db, r->a, &r->who->scope, r->body, cur, p, set_r);
}

static err post_person(struct req *r)
{
    bool reveal;
    err e = req_reveal(r, &reveal);
    if (e)
        return e;
    struct person p = {.id_type = ID_RESIDENT};
    person_fields set;
    if ((e = body_checked(r, NULL, &p, &set)))
        return e;
    bool taken_over;
    db_hold(r->db); /* the entry commits with the record (security/audit.h) */
    if ((e = person_create(r->db, r->a, r->who, &p, set, &taken_over))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.create", "person", 0, e, NULL);
    }
    if (taken_over) {
        /* a resident's unverified self-registration became this record */
        req_audit(r, "person.takeover", "person", p.id, "ok", person_fields_detail(r->a, "", set));
        if (reveal)
            req_audit(r, "person.reveal", "person", p.id, "ok", "view=create");
        if ((e = db_release(r->db, true)))
            return e;
        json_t *o = person_json(r->a, &p, reveal);
        json_object_set_new(o, "taken_over", json_true());
        return reply_json(r, 200, o);
    }
    req_audit(r, "person.create", "person", p.id, "ok", person_fields_detail(r->a, "", set));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_person(r, 201, &p, reveal, "view=create");
}

static const struct jfield verify_fields[] = {
    {"document_checked", J_BOOL, JF_REQUIRED, 0, 0, "已查验证件", NULL},
    {NULL},
};

static err post_verify(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    if (!json_is_true(json_object_get(r->body, "document_checked")))
        return err_set(E_INPUT, "document_not_checked", "document_checked",
                       "请先当面查验本人的身份证件原件，再确认核验");
    struct person p;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = person_verify(r->db, r->a, r->who, id, &p))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.verify", "person", id, e, NULL);
    }
    req_audit(r, "person.verify", "person", id, "ok", "document_checked=1");
    if ((e = db_release(r->db, true)))
        return e;
    return reply_person(r, 200, &p, false, NULL);
}

static const struct jfield confirm_fields[] = {
    {"version", J_INT, JF_REQUIRED, 1, INT32_MAX, "版本号", NULL},
    {NULL},
};

/* 核验无误: the version the staff member checked is required, so a record
 * changed while they stood at the door is not confirmed unseen. */
static err post_confirm(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    struct person p;
    int64_t at;
    db_hold(r->db); /* the entry commits with the history entry */
    if ((e = person_confirm(r->db, r->a, r->who, id, json_int(r->body, "version", 0), &p, &at))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.confirm", "person", id, e, NULL);
    }
    req_audit(r, "person.confirm", "person", id, "ok",
              arena_printf(r->a, "version=%lld", (long long)p.version));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = person_json(r->a, &p, false);
    json_object_set_new(o, "confirmed_at", json_integer(at));
    return reply_json(r, 200, o);
}

/*
 * Where a person lives, by name: region_path ("东华门街道 · 多福巷社区 ·
 * 1号楼", from the street down; a district's own name when it is above) and
 * region_name, its last part. Region names are public facts (region.h).
 */
static err region_path_of(struct req *r, int64_t code, const char **path_r)
{
    enum region_level lv = regcode_level(code);
    return region_path(r->db, code, lv && lv < LEVEL_STREET ? lv : LEVEL_STREET, r->a, path_r);
}

/* A person's region as the list and the record show it: "region_name",
 * the last part of the path, and "region_path". */
static void write_region_names(struct jsonw *w, const char *path)
{
    const char *name = path;
    for (const char *q = path; (q = strstr(q, " · ")); q += strlen(" · "))
        name = q + strlen(" · ");
    jsonw_key(w, "region_name");
    jsonw_string(w, name);
    jsonw_key(w, "region_path");
    jsonw_string(w, path);
}

static err get_person(struct req *r)
{
    bool reveal;
    int64_t id;
    struct person p;
    err e = req_reveal(r, &reveal);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    const char *path;
    if ((e = person_find(r->db, r->a, &r->who->scope, id, &p)) ||
        (e = region_path_of(r, p.region_code, &path)))
        return e;
    req_audit(r, reveal ? "person.reveal" : "person.read", "person", id, "ok",
              reveal ? "view=read" : NULL);
    /* the list's region names too, so a page of one person needs no look-up */
    struct jsonw w;
    jsonw_init(&w, 0);
    jsonw_object(&w);
    person_jsonw(&w, r->a, &p, reveal);
    write_region_names(&w, path);
    jsonw_object_end(&w);
    return reply_jsonw(r, 200, &w);
}

static err patch_person(struct req *r)
{
    bool reveal;
    int64_t id;
    err e = req_reveal(r, &reveal);
    if (e || (e = req_param_id(r, 0, &id)))
        return e;
    struct person p; /* the record first: the body's checks need it (one pass) */
    if ((e = person_find(r->db, r->a, &r->who->scope, id, &p)))
        return audit_refusal(r->db, r->who, r->ip, "person.update", "person", id, e, NULL);
    /* the epidemic status changes only through the case workflow's state
     * machine (POST /api/v1/persons/{id}/status, docs/cases.md) */
    if (json_has(r->body, "status"))
        return audit_refusal(r->db, r->who, r->ip, "person.update", "person", id,
                             err_set(E_CONFLICT, "status_by_workflow", "status",
                                     "人员状态须通过“状态变更”办理（填写变更原因），不能直接修改"),
                             NULL);
    struct person_patch pt = {.version = json_int(r->body, "version", 0)};
    if ((e = body_checked(r, &p, &pt.v, &pt.set)))
        return e;
    person_fields changed = 0;
    db_hold(r->db);
    if ((e = person_update(r->db, r->a, r->who, id, &pt, &p, &changed))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.update", "person", id, e, NULL);
    }
    req_audit(r, "person.update", "person", id, "ok", person_fields_detail(r->a, "", changed));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_person(r, 200, &p, reveal, "view=update");
}

static err delete_person(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    db_hold(r->db);
    if ((e = person_delete(r->db, r->a, r->who, id))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "person.delete", "person", id, e, NULL);
    }
    req_audit(r, "person.delete", "person", id, "ok", NULL);
    if ((e = db_release(r->db, true)))
        return e;
    return reply_empty(r);
}

static err get_history(struct req *r)
{
    bool reveal;
    int64_t id, page, size, total;
    err e = req_reveal(r, &reveal);
    if (e || (e = req_param_id(r, 0, &id)) || (e = req_paging(r, &page, &size)))
        return e;
    struct person_change *items;
    size_t n;
    if ((e = person_history(r->db, r->a, &r->who->scope, id, reveal, page, size, &items, &n,
                            &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *changes = json_loads(items[i].changes, 0, NULL);
        json_t *o = json_object();
        json_set_id(o, "id", items[i].id);
        json_object_set_new(o, "at", json_integer(items[i].at));
        json_set_id(o, "user_id", items[i].user_id);
        json_object_set_new(o, "user_name", json_string(items[i].user_name));
        json_object_set_new(o, "action", json_string(items[i].action));
        json_object_set_new(o, "changes", changes ? changes : json_object());
        json_array_append_new(arr, o);
    }
    const char *detail = arena_printf(r->a, "view=history count=%zu", n);
    req_audit(r, reveal ? "person.reveal" : "person.history", "person", id, "ok", detail);
    return reply_page(r, arr, total, page, size);
}

/* ---- list and export ------------------------------------------------------------ */

/* A query parameter, NULL when absent or empty (forms send empty fields). */
static const char *param(struct req *r, const char *name)
{
    const char *v = req_query(r, name);
    return v && *v ? v : NULL;
}

static err bad_param(const char *name, const char *message)
{
    return err_set(E_INPUT, "invalid_parameter", name, "%s", message);
}

static err filter_from_query(struct req *r, struct person_filter *f)
{
    const char *v;
    err e;
    if ((v = param(r, "name"))) {
        if (!utf8_valid_text(v) || utf8_len(v) > PERSON_NAME_MAX)
            return bad_param("name", "姓名查询条件应为1-50个字符");
        f->name = v;
    }
    if ((v = param(r, "id_type")) && !(f->id_type = id_type_parse(v)))
        return bad_param("id_type", "证件类型无效");
    if ((v = param(r, "id_number"))) {
        char *idn = person_id_normalise(arena_strdup(r->a, v));
        if (!f->id_type)
            f->id_type = ID_RESIDENT;
        if ((e = check_id_number(f->id_type, idn, "id_number")))
            return e;
        f->id_number = idn;
    }
    if ((v = param(r, "phone"))) {
        if ((e = check_phone(v, "phone")))
            return e;
        f->phone = v;
    }
    if ((v = param(r, "phone_last4"))) {
        bool digits = strlen(v) == 4;
        for (int i = 0; digits && i < 4; i++)
            digits = v[i] >= '0' && v[i] <= '9';
        if (!digits)
            return bad_param("phone_last4", "手机尾号应为4位数字");
        f->phone_last4 = v;
    }
    if ((v = param(r, "region_code"))) {
        enum region_level lv;
        int64_t code = regcode_parse(v, &lv);
        if ((e = person_region_check(r->db, &r->who->scope, code, "region_code")))
            return e;
        f->region_code = code;
    }
    if ((v = param(r, "category")) && !(f->category = person_category_parse(v)))
        return bad_param("category", "人员类型只能是 resident、visitor、returnee 或 transit");
    if ((v = param(r, "status")) && !(f->status = person_status_parse(v)))
        return bad_param("status", "状态的取值不正确");
    if ((v = param(r, "vulnerable")) && !(f->vulnerable = vulnerable_parse(v)))
        return bad_param("vulnerable", "重点人群的取值不正确");
    if ((v = param(r, "code_color"))) {
        const struct vocab *cc = person_code_colours();
        if (!cc || vocab_parse(cc, v) < 0)
            return bad_param("code_color", "健康码颜色只能是 green、yellow 或 red");
        f->code_colour = v;
    }
    f->inbound = -1;
    if ((v = param(r, "inbound"))) {
        if (!strcmp(v, "1") || !strcmp(v, "true"))
            f->inbound = 1;
        else if (!strcmp(v, "0") || !strcmp(v, "false"))
            f->inbound = 0;
        else
            return bad_param("inbound", "参数 inbound 应为 true 或 false");
    }
    return person_sort_parse(param(r, "sort"), f);
}

/* Epoch ms as China time "2024-05-01 08:00:00"; "" for 0. */
static const char *time_text(arena *a, int64_t ms)
{
    char buf[CHINA_TIME_LEN];
    china_time(ms, buf);
    return arena_strdup(a, buf);
}

/* A field of a person, masked unless `reveal`, as a spreadsheet reader
 * expects it. */
static const char *csv_value(arena *a, const struct person *p, enum person_field f, bool reveal)
{
    switch (f) {
    case PF_ID_TYPE:
        return id_type_label(p->id_type);
    case PF_GENDER:
        return person_gender_label(p->gender);
    case PF_CATEGORY:
        return person_category_label(p->category);
    case PF_STATUS:
        return person_status_label(p->status);
    case PF_SOURCE:
        return person_source_label(p->source);
    case PF_INBOUND:
        return p->inbound ? "是" : "否";
    case PF_EMPLOYED:
        return p->employed ? "是" : "否";
    case PF_CONSENT_AT:
        return time_text(a, p->consent_at);
    case PF_VULNERABLE: {
        const char *s = "";
        for (unsigned bit = 1; bit <= VULN_ALL; bit <<= 1) {
            if (p->vulnerable & bit)
                s = arena_printf(a, "%s%s%s", s, *s ? "、" : "", vulnerable_label(bit));
        }
        return s;
    }
    default: {
        json_t *v = person_field_json(p, f);
        json_t *m = reveal ? json_incref(v) : person_value_mask(a, f, v);
        const char *s = json_is_string(m) ? arena_strdup(a, json_string_value(m)) : "";
        json_decref(v);
        json_decref(m);
        return s;
    }
    }
}

static err persons_csv(struct req *r, const struct person *items, size_t n, bool reveal)
{
    struct csv_out c;
    reply_csv_begin(r, &c);
    csv_text(&c, "编号");
    for (int f = 0; f < PF__COUNT; f++)
        csv_text(&c, person_field_label((enum person_field)f));
    csv_text(&c, "年龄");
    csv_text(&c, "登记时间");
    csv_text(&c, "更新时间");
    csv_row_end(&c);
    int32_t today = person_today();
    for (size_t i = 0; i < n; i++) {
        const struct person *p = &items[i];
        csv_int(&c, p->id);
        for (int f = 0; f < PF__COUNT; f++)
            csv_text(&c, csv_value(r->a, p, (enum person_field)f, reveal));
        int age = person_age(p->birth_date, today);
        if (age >= 0)
            csv_int(&c, age);
        else
            csv_num(&c, NULL);
        csv_text(&c, time_text(r->a, p->created_at));
        csv_text(&c, time_text(r->a, p->updated_at));
        csv_row_end(&c);
    }
    return reply_csv(r, &c, "persons.csv");
}

/*
 * The region path of each item of a page (region_name and region_path: a
 * person reads where someone lives by name, not by code), looked up once
 * per distinct code of the page (a page holds a few dozen at most), not
 * once per row. paths_r[i] is item i's.
 */
static err region_paths(struct req *r, const struct person *items, size_t n, const char ***paths_r)
{
    int64_t *codes = arena_alloc(r->a, sizeof *codes * (n ? n : 1));
    const char **paths = arena_alloc(r->a, sizeof *paths * (n ? n : 1));
    const char **of = arena_alloc(r->a, sizeof *of * (n ? n : 1));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && codes[j] != items[i].region_code)
            j++;
        if (j == k) {
            codes[k] = items[i].region_code;
            err e = region_path_of(r, codes[k], &paths[k]);
            if (e)
                return e;
            k++;
        }
        of[i] = paths[j];
    }
    *paths_r = of;
    return E_OK;
}

/* code_color ("green") and code_color_name ("绿码") of an item of a page:
 * the list shows who needs attention without a request per row. */
static void write_code_colour(struct jsonw *w, const struct vocab *cc, const struct person *p)
{
    const char *c = p->code_colour ? p->code_colour : "";
    jsonw_key(w, "code_color");
    jsonw_string(w, c);
    jsonw_key(w, "code_color_name");
    jsonw_string(w, cc ? vocab_label_of(cc, c) : "");
}

static err list_persons(struct req *r)
{
    bool reveal, csv = false;
    const char *fmt = param(r, "format");
    if (fmt && !(csv = !strcmp(fmt, "csv")) && strcmp(fmt, "json"))
        return bad_param("format", "参数 format 只能是 json 或 csv");
    err e = req_reveal(r, &reveal);
    if (e && csv && e == E_FORBIDDEN)
        /* an export of full values asked for without the right: refused,
         * and the attempt is on record */
        return audit_refusal(r->db, r->who, r->ip, "person.export", "person", 0, e,
                             "format=csv reveal=1");
    if (e)
        return e;
    struct person_filter f = {0};
    if ((e = filter_from_query(r, &f)) || (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    if (csv)
        f.page_size = 0; /* every match, up to PERSON_EXPORT_MAX */
    const char *exact = NULL;
    if (person_filter_exact(&f)) {
        exact = arena_printf(r->a, " field=%s", person_filter_exact_fields(r->a, &f));
        if ((e = person_search_hit(r->db, r->who, NULL)))
            return audit_refusal(r->db, r->who, r->ip, "person.list", "person", 0, e, exact + 1);
    }
    struct person *items;
    size_t n;
    int64_t total;
    if ((e = person_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    /* the audit names whom the caller saw: one person as the object, a page
     * by its ids (an export by its count: it can hold thousands) */
    const char *detail = arena_printf(r->a, "view=list count=%zu%s%s", n, csv ? " format=csv" : "",
                                      exact ? exact : "");
    if (!csv && n > 1) {
        for (size_t i = 0; i < n; i++)
            detail =
                arena_printf(r->a, "%s%s%lld", detail, i ? "," : " ids=", (long long)items[i].id);
    }
    /* an export of full values is its own action, so that a reviewer
     * finds every file of unmasked data that left the system */
    const char *action = csv && reveal ? "person.export" : reveal ? "person.reveal" : "person.list";
    if (csv && reveal)
        detail = arena_printf(r->a, "%s reveal=1", detail);
    req_audit(r, action, "person", n == 1 ? items[0].id : 0, "ok", detail);
    if (csv)
        return persons_csv(r, items, n, reveal);
    /* written straight into the reply (the look-up by id number is a hot
     * path: docs/benchmarks.md) */
    const char **paths;
    if ((e = region_paths(r, items, n, &paths)))
        return e;
    const struct vocab *cc = person_code_colours();
    struct jsonw w;
    jsonw_init(&w, 0);
    reply_page_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jsonw_object(&w);
        person_jsonw(&w, r->a, &items[i], reveal);
        write_region_names(&w, paths[i]);
        write_code_colour(&w, cc, &items[i]);
        jsonw_object_end(&w);
    }
    return reply_page_end(r, &w, total, f.page, f.page_size);
}

const struct route person_routes[] = {
    {M_POST, "/api/v1/persons", post_person, PERM_PERSON_WRITE, ROUTE_BODY_LATE,
     person_create_fields, "登记人员", "person", 0},
    {M_GET, "/api/v1/persons", list_persons, PERM_PERSON_READ, 0, NULL,
     "查询人员（姓名、证件号码、手机号码、区划、健康码颜色 code_color 等条件；format=csv "
     "导出，有 person.reveal 权限者加 reveal=1 导出完整信息）",
     "person", 0},
    {M_GET, "/api/v1/persons/{id}", get_person, PERM_PERSON_READ, 0, NULL, "查看人员", "person", 0},
    {M_PATCH, "/api/v1/persons/{id}", patch_person, PERM_PERSON_WRITE, ROUTE_BODY_LATE,
     person_patch_fields, "修改人员", "person", 0},
    {M_DELETE, "/api/v1/persons/{id}", delete_person, PERM_PERSON_DELETE, 0, NULL, "删除人员",
     "person", 0},
    {M_GET, "/api/v1/persons/{id}/history", get_history, PERM_PERSON_READ, 0, NULL,
     "人员信息变更记录", "person", 0},
    {M_POST, "/api/v1/persons/{id}/verify", post_verify, PERM_PERSON_WRITE, 0, verify_fields,
     "核验人员身份（工作人员已当面查验证件）", "person", 0},
    {M_POST, "/api/v1/persons/{id}/confirm", post_confirm, PERM_PERSON_WRITE, 0, confirm_fields,
     "核验人员信息无误（工作人员已与本人当面核对，需提交所核对的版本号）", "person", 0},
};
const size_t person_routes_n = sizeof person_routes / sizeof person_routes[0];

/*
 * HTTP handlers of the hotline tickets (接诉即办, docs/hotline.md):
 *
 *   GET    /api/v1/hotline/template.xlsx   the import template
 *   POST   /api/v1/hotline/import          an upload (xlsx; format=csv for CSV): 202 {job_id, rows}
 *          ?dry_run=1                      check and match only, nothing written
 *   GET    /api/v1/hotline/tickets         the list (street, rule_id, matched, category,
 *                                          from, to (epoch ms), q; paging; format=csv|xlsx;
 *                                          reveal=1)
 *   GET    /api/v1/hotline/tickets/{id}    one ticket (reveal=1)
 *   GET    /api/v1/hotline/rules           the extraction rules
 *   POST   /api/v1/hotline/rules           a rule: 201 {rule, job_id} (the re-application)
 *   PATCH  /api/v1/hotline/rules/{id}      change it: 200 {rule, job_id}
 *   DELETE /api/v1/hotline/rules/{id}      delete it: 200 {job_id}
 *   GET    /api/v1/hotline/counts          tickets, matched tickets and matches per rule by
 *                                          street for days from..to (yyyy-mm-dd, as the
 *                                          statistics take them; format=csv|xlsx)
 *
 * (An import's failed rows: GET /api/v1/jobs/{id}/errors.xlsx, job/api.c.)
 * Callers' names and phones are masked unless the caller holds
 * person.reveal and asks; every read of tickets is audited, and so is
 * every rule change and refusal.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/xlsx.h"
#include "hotline/hotline.h"
#include "http/export.h"
#include "job/import.h"
#include "job/job.h"
#include "security/audit.h"
#include "security/mask.h"

#define UPLOAD_MAX (20u * 1024 * 1024)

/* ---- import -------------------------------------------------------------------------------- */

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = hotline_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"hotline-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err post_import(struct req *r)
{
    static const struct import_accept acc = {"hotline.import", "hotline.import_upload",
                                             "hotline.import", NULL, 0};
    int64_t dry = 0, job;
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    err e = req_query_int64(r, "dry_run", 0, 1, &dry);
    if (!e)
        e = import_format(r, false, &csv);
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    if (!e)
        e = hotline_import_check(body, n, csv, &rows);
    const char *more = arena_printf(r->a, "%s%s", csv ? " csv" : "", dry ? " dry_run" : "");
    if ((e = import_accept(r, e, &acc, n, rows, more, &job)) ||
        (e = hotline_import_submit(r->db, job, r->who, body, n, csv, rows, dry)))
        return e;
    return import_accepted(r, job, rows, json_pack("{s:b}", "dry_run", dry != 0));
}

/* ---- tickets -----------------------------------------------------------------------------------
 */

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *ticket_json(arena *a, const struct hotline_ticket *t, bool reveal)
{
    json_t *o = json_object();
    json_set_id(o, "id", t->id);
    json_object_set_new(o, "ticket_no", json_string(t->ticket_no));
    json_object_set_new(o, "received_at", json_integer(t->received_at));
    json_object_set_new(o, "caller_name",
                        str_or_null(reveal ? t->caller_name : mask_name(a, t->caller_name)));
    json_object_set_new(o, "caller_phone",
                        str_or_null(reveal ? t->caller_phone : mask_phone(a, t->caller_phone)));
    json_object_set_new(o, "address", json_string(t->address));
    json_set_region(o, t->region_code, t->region_name);
    json_object_set_new(o, "street_name", json_string(t->street_name));
    json_object_set_new(o, "category", json_string(t->category));
    json_object_set_new(o, "content", json_string(t->content));
    json_object_set_new(o, "state", json_string(t->state));
    if (t->site_id)
        json_set_id(o, "site_id", t->site_id);
    else
        json_object_set_new(o, "site_id", json_null());
    json_object_set_new(o, "site_name", str_or_null(t->site_name));
    if (t->person_id)
        json_set_id(o, "person_id", t->person_id);
    else
        json_object_set_new(o, "person_id", json_null());
    json_object_set_new(o, "person_name", str_or_null(t->person_name));
    json_object_set_new(o, "rules", json_string(t->rules));
    json_object_set_new(o, "imported_at", json_integer(t->imported_at));
    json_object_set_new(o, "imported_by_name", json_string(t->imported_by_name));
    return o;
}

/* ?name=yyyy-mm-dd as a China day number; *day_r kept when absent. */
static err date_query(struct req *r, const char *name, int64_t *day_r)
{
    const char *s = req_query(r, name);
    if (s && !china_date_day(s, day_r))
        return err_set(E_INPUT, "invalid_parameter", name, "日期应为 yyyy-mm-dd 格式的有效日期");
    return E_OK;
}

/* ?street= : a street (or any region) code inside the caller's scope. */
static err street_query(struct req *r, int64_t *code_r)
{
    const char *s = req_query(r, "street");
    if (!s)
        return E_OK;
    enum region_level lv;
    int64_t code = regcode_parse(s, &lv);
    if (code <= 0 || (!scope_has(&r->who->scope, code) &&
                      !(code <= r->who->scope.lo && regcode_end(code) >= r->who->scope.hi)))
        return err_set(E_INPUT, "invalid_region", "street", "街道不存在或不在您的管辖范围内");
    /* a street above the scope (a community's own street): the scope itself */
    *code_r = scope_has(&r->who->scope, code) ? code : 0;
    return E_OK;
}

static err filter_params(struct req *r, struct hotline_filter *f)
{
    *f = (struct hotline_filter){.matched = -1};
    int64_t matched = -1;
    err e = req_paging(r, &f->page, &f->page_size);
    if (!e)
        e = street_query(r, &f->street_code);
    if (!e)
        e = req_query_int64(r, "matched", 0, 1, &matched);
    /* epoch ms, as every list takes them (the console's day range gives
     * the last millisecond of its end day) */
    if (!e)
        e = req_query_int64(r, "from", 0, INT64_MAX / 2, &f->from);
    if (!e)
        e = req_query_int64(r, "to", 0, INT64_MAX / 2, &f->to);
    if (e)
        return e;
    f->matched = (int)matched;
    const char *s;
    if ((s = req_query(r, "rule_id")) && (f->rule_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "rule_id", "参数 rule_id 不正确");
    if ((s = req_query(r, "category")) && *s) {
        if (!utf8_valid_text(s) || utf8_len(s) > HOTLINE_CATEGORY_MAX)
            return err_set(E_INPUT, "invalid_parameter", "category", "问题分类不能超过%d个字符",
                           HOTLINE_CATEGORY_MAX);
        f->category = s;
    }
    if ((s = req_query(r, "q")) && *s) {
        if (!utf8_valid_text(s) || utf8_len(s) > 50)
            return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
        f->q = s;
    }
    return E_OK;
}

static const char *const ticket_head[] = {
    "工单编号", "受理时间", "来电人",   "来电号码", "诉求地址", "街道",     "所属区划",
    "问题分类", "诉求内容", "办理状态", "命中规则", "关联点位", "关联人员", "导入时间",
};

/* One ticket as an export row, masked unless revealed: the one row writer
 * of the synchronous export and the export job. */
static void ticket_row_out(struct export_out *x, arena *a, const struct hotline_ticket *t,
                           bool reveal)
{
    export_text(x, t->ticket_no);
    export_time(x, t->received_at);
    export_text(x, reveal ? t->caller_name : mask_name(a, t->caller_name));
    export_text(x, reveal ? t->caller_phone : mask_phone(a, t->caller_phone));
    export_text(x, t->address);
    export_text(x, t->street_name);
    export_text(x, t->region_name);
    export_text(x, t->category);
    export_text(x, t->content);
    export_text(x, t->state);
    export_text(x, t->rules);
    export_text(x, t->site_name);
    export_text(x, t->person_name);
    export_time(x, t->imported_at);
    export_row_end(x);
}

#define TICKET_NCOLS (sizeof ticket_head / sizeof *ticket_head)

static err tickets_export(struct req *r, enum export_format fmt, const struct hotline_ticket *items,
                          size_t n, bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "接诉即办工单", ticket_head, TICKET_NCOLS);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++)
        ticket_row_out(&x, r->a, &items[i], reveal);
    return export_send(&x, E_OK, "hotline-tickets");
}

/* ---- the export job's source (POST /api/v1/exports, list "hotline_tickets") ---- */

struct source_filter {
    struct hotline_filter f;
    struct scope sc;
};

static err source_parse(struct req *r, void **filter_r)
{
    struct source_filter *sf = arena_zalloc(r->a, sizeof *sf);
    *filter_r = sf;
    sf->sc = r->who->scope; /* narrowed by filters.within already */
    return filter_params(r, &sf->f);
}

#define SOURCE_PAGE 1000

/* hotline_ticket_list's pages in its order (newest received first) */
static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    (void)who; /* the filter's scope is already the caller's, narrowed */
    const struct source_filter *sf = filter;
    struct hotline_filter f = sf->f;
    f.page_size = SOURCE_PAGE;
    err e = E_OK;
    for (f.page = 1; !e; f.page++) {
        struct hotline_ticket *items;
        size_t n;
        arena_reset(a);
        if ((e = hotline_ticket_list(d, a, &sf->sc, &f, &items, &n, &x->total)))
            break;
        for (size_t i = 0; i < n && !(e = export_room(x)); i++)
            ticket_row_out(x, a, &items[i], reveal);
        if (n < SOURCE_PAGE)
            break;
    }
    return e;
}

const struct export_source hotline_ticket_export = {
    .list = "hotline_tickets",
    .kind = "export.hotline_tickets",
    .audit = "hotline",
    .perm = PERM_HOTLINE_READ,
    .sheet = "接诉即办工单",
    .head = ticket_head,
    .ncols = TICKET_NCOLS,
    .parse = source_parse,
    .each = source_each,
};

static err get_tickets(struct req *r)
{
    struct hotline_filter f;
    enum export_format fmt;
    bool reveal = false;
    err e = filter_params(r, &f);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    if ((e = req_reveal(r, &reveal)))
        return e == E_FORBIDDEN
                   ? audit_refusal(r->db, r->who, r->ip, fmt ? "hotline.export" : "hotline.list",
                                   "hotline_ticket", 0, e, "reveal")
                   : e;
    int64_t page_size = f.page_size;
    if (fmt) { /* at most export_sync_max() rows */
        f.page = 1;
        f.page_size = export_sync_max() + 1;
    }
    struct hotline_ticket *items;
    size_t n;
    int64_t total;
    if ((e = hotline_ticket_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    if (fmt && (e = export_check_total(total)))
        return e;
    req_audit(r,
              fmt      ? (reveal ? "hotline.export_reveal" : "hotline.export")
              : reveal ? "hotline.reveal"
                       : "hotline.list",
              "hotline_ticket", 0, "ok",
              arena_printf(r->a, "%s%scount=%zu%s", fmt ? export_format_name(fmt) : "",
                           fmt ? " " : "", n, reveal ? " reveal=1" : ""));
    if (fmt)
        return tickets_export(r, fmt, items, n, reveal);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, ticket_json(r->a, &items[i], reveal));
    return reply_page(r, arr, total, f.page, page_size);
}

static err get_ticket(struct req *r)
{
    int64_t id = 0;
    bool reveal = false;
    struct hotline_ticket t;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = req_reveal(r, &reveal);
    if (!e)
        e = hotline_ticket_find(r->db, r->a, &r->who->scope, id, &t);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "hotline.read", "hotline_ticket", id, e,
                             reveal ? "reveal=1" : NULL);
    req_audit(r, reveal ? "hotline.reveal" : "hotline.read", "hotline_ticket", id, "ok", "");
    return reply_json(r, 200, ticket_json(r->a, &t, reveal));
}

/* ---- rules ---------------------------------------------------------------------------------- */

static json_t *words_json(const char *const *w, size_t n)
{
    json_t *v = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(v, json_string(w[i]));
    return v;
}

static json_t *rule_json(const struct hotline_rule *x)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_object_set_new(o, "name", json_string(x->name));
    json_object_set_new(o, "categories", words_json(x->categories, x->ncategories));
    json_object_set_new(o, "keywords", words_json(x->keywords, x->nkeywords));
    json_object_set_new(o, "excludes", words_json(x->excludes, x->nexcludes));
    json_object_set_new(o, "enabled", json_boolean(x->enabled));
    json_object_set_new(o, "version", json_integer(x->version));
    json_object_set_new(o, "updated_at", json_integer(x->updated_at));
    return o;
}

static err get_rules(struct req *r)
{
    struct hotline_rule *items;
    size_t n;
    err e = hotline_rule_list(r->db, r->a, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, rule_json(&items[i]));
    return reply_json(r, 200, json_pack("{s:o}", "items", arr));
}

/* Member `key` of the body, an array of strings, into *w_r / *n_r (kept
 * when absent). */
static err words_member(struct req *r, const char *key, const char *label, const char *const **w_r,
                        size_t *n_r)
{
    json_t *v = json_object_get(r->body, key);
    if (!v)
        return E_OK;
    if (!json_is_array(v) || json_array_size(v) > HOTLINE_WORDS_MAX)
        return err_set(E_INPUT, "invalid_type", key, "%s应为最多 %d 项的文字列表", label,
                       HOTLINE_WORDS_MAX);
    size_t n = json_array_size(v);
    const char **w = arena_alloc(r->a, (n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s)
            return err_set(E_INPUT, "invalid_type", key, "%s的每一项都应为文字", label);
        /* trimmed, so " 排队" and "排队" are one word */
        while (*s == ' ')
            s++;
        size_t len = strlen(s);
        while (len && s[len - 1] == ' ')
            len--;
        w[i] = arena_strndup(r->a, s, len);
    }
    *w_r = w;
    *n_r = n;
    return E_OK;
}

static err rule_from_body(struct req *r, struct hotline_rule *x)
{
    const char *name = json_string_value(json_object_get(r->body, "name"));
    if (name)
        x->name = name;
    json_t *en = json_object_get(r->body, "enabled");
    if (en)
        x->enabled = json_is_true(en);
    x->version = json_int(r->body, "version", 0);
    err e = words_member(r, "categories", "问题分类", &x->categories, &x->ncategories);
    if (!e)
        e = words_member(r, "keywords", "关键词", &x->keywords, &x->nkeywords);
    if (!e)
        e = words_member(r, "excludes", "排除词", &x->excludes, &x->nexcludes);
    return e;
}

/* A rule write's end: its audit entry and the re-application job commit
 * with it; the job is queued once they have. */
static err rule_written(struct req *r, err e, const char *action, int64_t id, int status,
                        bool deleted)
{
    int64_t job = 0;
    if (!e)
        e = job_create(r->db, r->who, "hotline.rematch", &job);
    if (e) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, action, "hotline_rule", id, e, NULL);
    }
    req_audit(r, action, "hotline_rule", id, "ok", arena_printf(r->a, "job=%lld", (long long)job));
    if ((e = db_release(r->db, true)) || (e = hotline_rematch_submit(r->db, job, r->who)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "job_id", job);
    struct hotline_rule x;
    if (!deleted) {
        if ((e = hotline_rule_find(r->db, r->a, id, &x))) {
            json_decref(o);
            return e;
        }
        json_object_set_new(o, "rule", rule_json(&x));
    }
    return reply_json(r, status, o);
}

static const struct jfield rule_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, HOTLINE_RULE_NAME_MAX, "规则名称", NULL, NULL},
    {"categories", J_ARRAY, 0, 0, 0, "问题分类", NULL, NULL},
    {"keywords", J_ARRAY, JF_REQUIRED, 0, 0, "关键词", NULL, NULL},
    {"excludes", J_ARRAY, 0, 0, 0, "排除词", NULL, NULL},
    {"enabled", J_BOOL, 0, 0, 0, "启用", NULL, NULL},
    {"version", J_INT, 0, 1, INT32_MAX, "版本号", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_rule(struct req *r)
{
    struct hotline_rule x = {.enabled = true};
    int64_t id = 0;
    err e = rule_from_body(r, &x);
    x.version = 0;
    db_hold(r->db);
    if (!e)
        e = hotline_rule_save(r->db, r->who, &x, &id);
    return rule_written(r, e, "hotline.rule.create", id, 201, false);
}

static err patch_rule(struct req *r)
{
    int64_t id = 0;
    struct hotline_rule x;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = hotline_rule_find(r->db, r->a, id, &x);
    if (!e)
        e = rule_from_body(r, &x);
    db_hold(r->db);
    if (!e)
        e = hotline_rule_save(r->db, r->who, &x, &id);
    return rule_written(r, e, "hotline.rule.update", id, 200, false);
}

static err delete_rule(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e)
        e = hotline_rule_delete(r->db, id);
    return rule_written(r, e, "hotline.rule.delete", id, 200, true);
}

/* ---- counts ------------------------------------------------------------------------------------
 */

#define COUNT_DAYS_MAX 366

static err get_counts(struct req *r)
{
    int64_t dto = china_day(now_ms()), dfrom;
    enum export_format fmt;
    err e = date_query(r, "to", &dto);
    dfrom = dto - 29; /* a month by default */
    if (!e)
        e = date_query(r, "from", &dfrom);
    if (!e)
        e = req_export_format(r, &fmt);
    if (e)
        return e;
    if (dfrom > dto)
        return err_set(E_INPUT, "invalid_parameter", "from", "开始日期不能晚于结束日期");
    if (dto - dfrom + 1 > COUNT_DAYS_MAX)
        return err_set(E_INPUT, "invalid_parameter", "to", "一次最多统计 %d 天", COUNT_DAYS_MAX);
    struct hotline_rule *rules;
    struct hotline_count *items;
    size_t nrules, n;
    if ((e = hotline_rule_list(r->db, r->a, &rules, &nrules)) ||
        (e = hotline_counts(r->db, r->a, &r->who->scope, dfrom, dto, rules, nrules, &items, &n)))
        return e;
    if (fmt) {
        const char **head = arena_alloc(r->a, (3 + nrules) * sizeof *head);
        head[0] = "街道";
        head[1] = "工单数";
        head[2] = "涉疫工单数";
        for (size_t k = 0; k < nrules; k++)
            head[3 + k] = rules[k].name;
        struct export_out x;
        if ((e = export_begin(r, &x, fmt, "接诉即办统计", head, 3 + nrules)))
            return e;
        for (size_t i = 0; i < n; i++) {
            export_text(&x, items[i].name);
            export_int(&x, items[i].tickets);
            export_int(&x, items[i].matched);
            for (size_t k = 0; k < nrules; k++)
                export_int(&x, items[i].by_rule[k]);
            export_row_end(&x);
        }
        req_audit(r, "hotline.counts_export", "hotline_count", 0, "ok", export_format_name(fmt));
        return export_send(&x, E_OK, "hotline-counts");
    }
    json_t *jr = json_array(), *js = json_array();
    int64_t *sum = arena_alloc(r->a, (nrules ? nrules : 1) * sizeof *sum);
    int64_t tickets = 0, matched = 0;
    for (size_t k = 0; k < nrules; k++) {
        sum[k] = 0;
        for (size_t i = 0; i < n; i++)
            sum[k] += items[i].by_rule[k];
    }
    for (size_t k = 0; k < nrules; k++) {
        json_t *o = json_object();
        json_set_id(o, "id", rules[k].id);
        json_object_set_new(o, "name", json_string(rules[k].name));
        json_object_set_new(o, "matches", json_integer(sum[k]));
        json_array_append_new(jr, o);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object(), *by = json_array();
        char code[19];
        regcode_format(items[i].code, code);
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "name", json_string(items[i].name));
        json_object_set_new(o, "tickets", json_integer(items[i].tickets));
        json_object_set_new(o, "matched", json_integer(items[i].matched));
        for (size_t k = 0; k < nrules; k++)
            json_array_append_new(by, json_integer(items[i].by_rule[k]));
        json_object_set_new(o, "by_rule", by);
        json_array_append_new(js, o);
        tickets += items[i].tickets;
        matched += items[i].matched;
    }
    char f[CHINA_TIME_LEN], t[CHINA_TIME_LEN];
    china_time(dfrom * DAY_MS - CHINA_OFFSET_MS, f); /* the day's China midnight */
    china_time(dto * DAY_MS - CHINA_OFFSET_MS, t);
    f[10] = t[10] = 0;
    return reply_json(r, 200,
                      json_pack("{s:s,s:s,s:o,s:o,s:I,s:I}", "from", f, "to", t, "rules", jr,
                                "streets", js, "tickets", (json_int_t)tickets, "matched",
                                (json_int_t)matched));
}

/* ---- routes ------------------------------------------------------------------------------------
 */

const struct route hotline_routes[] = {
    {M_GET, "/api/v1/hotline/template.xlsx", get_template, PERM_HOTLINE_IMPORT, 0, NULL,
     "接诉即办工单导入模板（Excel）", "hotline", 0},
    {M_POST, "/api/v1/hotline/import", post_import, PERM_HOTLINE_IMPORT, ROUTE_RAW_BODY, NULL,
     "导入接诉即办工单（Excel，format=csv 为 CSV；dry_run=1 只校验）", "hotline", UPLOAD_MAX},
    {M_GET, "/api/v1/hotline/tickets", get_tickets, PERM_HOTLINE_READ, 0, NULL,
     "接诉即办工单列表（street、rule_id、matched、category、from、to、q 筛选，可导出）", "hotline",
     0},
    {M_GET, "/api/v1/hotline/tickets/{id}", get_ticket, PERM_HOTLINE_READ, 0, NULL,
     "接诉即办工单详情", "hotline", 0},
    {M_GET, "/api/v1/hotline/rules", get_rules, PERM_HOTLINE_READ, 0, NULL, "接诉即办抽取规则",
     "hotline", 0},
    {M_POST, "/api/v1/hotline/rules", post_rule, PERM_HOTLINE_RULES, 0, rule_fields,
     "新增抽取规则（重新匹配全部工单）", "hotline", 0},
    {M_PATCH, "/api/v1/hotline/rules/{id}", patch_rule, PERM_HOTLINE_RULES, 0, rule_fields,
     "修改抽取规则（重新匹配全部工单）", "hotline", 0},
    {M_DELETE, "/api/v1/hotline/rules/{id}", delete_rule, PERM_HOTLINE_RULES, 0, NULL,
     "删除抽取规则（重新匹配全部工单）", "hotline", 0},
    {M_GET, "/api/v1/hotline/counts", get_counts, PERM_HOTLINE_READ, 0, NULL,
     "接诉即办统计：按街道、按规则（from、to，可导出）", "hotline", 0},
};
const size_t hotline_routes_n = sizeof hotline_routes / sizeof hotline_routes[0];

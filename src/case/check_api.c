/*
 * HTTP handlers of checks, self-checks, messages to the doctor and the
 * check rules (docs/cases.md "Checks"):
 *
 *   POST /api/v1/observations/{id}/checks     a doctor's check (check.write)
 *   GET  /api/v1/observations/{id}/checks     the checks of one observation
 *   GET  /api/v1/checks                       every check in scope (filters, CSV)
 *   GET  /api/v1/checks/round                 the doctor's round of today (due, checked)
 *   GET  /api/v1/observations/{id}/messages   the conversation (check.write)
 *   POST /api/v1/observations/{id}/messages   a doctor's answer
 *   POST /api/v1/me/self-checks               the resident's self-check
 *   GET  /api/v1/me/self-checks               their history
 *   GET  /api/v1/me/observation               am I observed, until when, next check
 *   POST /api/v1/me/messages                  a message to the doctor
 *   GET  /api/v1/me/messages                  the conversation
 *   GET  /api/v1/check-rules                  the rules per observe kind
 *   PUT  /api/v1/check-rules                  change them (case.rules)
 *
 * Writes hold their transaction open for the audit entry (db_hold).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "http/write.h"
#include "base/id.h"
#include "base/time.h"
#include "case/check.h"
#include "http/export.h"
#include "person/person.h"
#include "security/audit.h"

#define TIME_MAX 4102444800000LL /* 2100-01-01 */

/* The resident's own person (403 for staff, 404 before registering). */
static err own_person(struct req *r, int64_t *person_r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    struct person p;
    err e = person_self_find(r->db, r->a, r->who, &p);
    if (!e)
        *person_r = p.id;
    return e;
}

/* ---- checks ------------------------------------------------------------------------ */

/*
 * Record a check and reply 201 with it as the lists show it. A doctor's
 * (CHECK_BY_DOCTOR) is of the path's observation, in the caller's scope; a
 * self-check (CHECK_BY_SELF) is of the resident's own open observation,
 * found inside the write's transaction, and its reply is unmasked (their
 * own record).
 */
static err check_post(struct req *r, enum check_by by)
{
    bool self = by == CHECK_BY_SELF;
    int64_t person = 0, obs = 0, id = 0;
    struct check_in in;
    err e = self ? own_person(r, &person) : req_param_id(r, 0, &obs);
    if (!e)
        e = check_parse(r->body, &in);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db))) {
        if (self)
            e = check_own_observation(r->db, person, &obs);
        if (!e)
            e = check_record(r->db, r->a, r->who, obs, by, &in, 0, &id);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, self ? "self_check.create" : "check.create", "observation", obs,
                            arena_printf(r->a, "check=%lld", (long long)id))))
        return e;
    struct scope all = scope_all(); /* a self-check: the resident's own, by id */
    struct check_filter f = {.id = id, .abnormal = -1, .page = 1, .page_size = 1, .plain = self};
    json_t *items;
    int64_t total;
    if ((e = check_list(r->db, r->a, self ? &all : &r->who->scope, &f, &items, &total)))
        return e;
    json_t *o = json_incref(json_array_get(items, 0));
    json_decref(items);
    return reply_json(r, 201, o ? o : json_object());
}

static err post_check(struct req *r)
{
    return check_post(r, CHECK_BY_DOCTOR);
}

static const char *const export_cols[] = {
    "编号", "姓名", "所属区划", "核查时间", "核查方式", "核查人", "体温", "症状", "是否异常",
};
#define EXPORT_NCOLS (sizeof export_cols / sizeof export_cols[0])

/* One check of check_list as an export row (names masked unless the
 * filter was plain): the one row writer of the reply and the job. */
static void check_row(struct export_out *x, arena *a, json_t *o)
{
    const char *sy = "";
    size_t j;
    json_t *v;
    json_array_foreach(json_object_get(o, "symptom_labels"), j, v) sy =
        arena_printf(a, "%s%s%s", sy, j ? "、" : "", json_string_value(v));
    export_text(x, json_str(o, "id"));
    export_text(x, json_str(o, "person_name"));
    export_text(x, json_str(o, "region_name"));
    export_time(x, json_int(o, "at", 0));
    export_text(x, json_str(o, "by_label"));
    export_text(x, json_str(o, "checker_name"));
    export_decimal(x, json_num(o, "temperature", 0), 1);
    export_text(x, sy);
    export_text(x, json_bool(o, "abnormal", false) ? "异常" : "正常");
    export_row_end(x);
}

/* The checks as CSV or a workbook (http/export.h); items as check_list
 * gave them. */
static err checks_export(struct req *r, enum export_format fmt, json_t *items)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "体征核查", export_cols, EXPORT_NCOLS);
    if (e) {
        json_decref(items);
        return e;
    }
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) check_row(&x, r->a, o);
    json_decref(items);
    return export_send(&x, E_OK, "checks");
}

/* The filters of a check list from the query. */
static err list_filter(struct req *r, struct check_filter *f, enum export_format *fmt_r,
                       bool *reveal_r)
{
    memset(f, 0, sizeof *f);
    f->abnormal = -1;
    err e = req_paging(r, &f->page, &f->page_size);
    const char *ab = req_query(r, "abnormal");
    if (!e && ab) {
        if (!strcmp(ab, "1") || !strcmp(ab, "true"))
            f->abnormal = 1;
        else if (!strcmp(ab, "0") || !strcmp(ab, "false"))
            f->abnormal = 0;
        else
            e = err_set(E_INPUT, "invalid_parameter", "abnormal", "参数 abnormal 应为 1 或 0");
    }
    const char *by = req_query(r, "by");
    if (!e && by) {
        int b = vocab_parse(&check_by_vocab, by);
        if (b > 0)
            f->by = (enum check_by)b;
        else
            e = err_set(E_INPUT, "invalid_parameter", "by", "参数 by 应为 doctor 或 self");
    }
    if (!e)
        e = req_query_int64(r, "from", 1, TIME_MAX, &f->from);
    if (!e)
        e = req_query_int64(r, "to", 1, TIME_MAX, &f->to);
    if (!e && f->from && f->to && f->to <= f->from)
        e = err_set(E_INPUT, "invalid_time", "to", "结束时间不能早于开始时间");
    *fmt_r = EXPORT_NONE;
    *reveal_r = false;
    if (!e)
        e = req_export_format(r, fmt_r);
    /* full names in an export only, with person.reveal */
    if (!e && *fmt_r && (e = req_reveal(r, reveal_r)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "check.export", "observation", 0, e, "reveal");
    f->plain = *reveal_r;
    return e;
}

/* The checks of the filter in the caller's scope: a page, or an export
 * of at most export_sync_max() rows (more: the export job). */
static err list_reply(struct req *r, struct check_filter *f, enum export_format fmt, bool reveal)
{
    int64_t page_size = f->page_size, total;
    if (fmt) {
        f->page = 1;
        f->page_size = export_sync_max() + 1;
    }
    json_t *items;
    err e = check_list(r->db, r->a, &r->who->scope, f, &items, &total);
    if (e)
        return e;
    if (fmt && (e = export_check_total(total))) {
        json_decref(items);
        return e;
    }
    req_audit(
        r,
        !fmt     ? "check.list"
        : reveal ? "check.export_reveal"
                 : "check.export",
        "observation", f->observation_id, "ok",
        fmt ? arena_printf(r->a, "%s count=%zu%s", export_format_name(fmt), json_array_size(items),
                           reveal ? " reveal" : "")
            : arena_printf(r->a, "count=%zu total=%lld", json_array_size(items), (long long)total));
    if (fmt)
        return checks_export(r, fmt, items);
    return reply_page(r, items, total, f->page, page_size);
}

/* GET /observations/{id}/checks (path id) and GET /checks (none). */
static err get_checks(struct req *r)
{
    struct check_filter f;
    enum export_format fmt;
    bool reveal;
    int64_t obs = 0;
    err e = r->params[0] ? req_param_id(r, 0, &obs) : E_OK;
    if (!e)
        e = list_filter(r, &f, &fmt, &reveal);
    if (!e && obs)
        e = check_observation(r->db, &r->who->scope, obs, true, NULL, NULL);
    if (e)
        return e;
    f.observation_id = obs;
    return list_reply(r, &f, fmt, reveal);
}

/* ---- the export job's source (http/export.h) ------------------------------------------------ */

static err source_parse(struct req *r, void **filter_r)
{
    struct check_filter *f = arena_alloc(r->a, sizeof *f);
    enum export_format fmt;
    bool reveal;
    *filter_r = f;
    err e = list_filter(r, f, &fmt, &reveal);
    /* /observations/{id}/checks: one observation, which must be in scope */
    int64_t obs = 0;
    if (!e)
        e = req_query_int64(r, "observation_id", 1, INT64_MAX, &obs);
    if (!e && obs && (e = check_observation(r->db, &r->who->scope, obs, true, NULL, NULL)) &&
        e == E_NOT_FOUND)
        e = err_set(E_NOT_FOUND, "not_found", "observation_id", "隔离观察记录不存在");
    f->observation_id = obs;
    return e;
}

#define SOURCE_PAGE 1000

/* check_list's pages in its order (time, then id, newest first) */
static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    struct check_filter f = *(const struct check_filter *)filter;
    f.plain = reveal;
    f.page_size = SOURCE_PAGE;
    err e = E_OK;
    for (f.page = 1; !e; f.page++) {
        json_t *items;
        int64_t total;
        arena_reset(a);
        if ((e = check_list(d, a, &who->scope, &f, &items, &total)))
            break;
        x->total = total;
        size_t i, n = json_array_size(items);
        json_t *o;
        json_array_foreach(items, i, o)
        {
            if ((e = export_room(x)))
                break;
            check_row(x, a, o);
        }
        json_decref(items);
        if (n < SOURCE_PAGE)
            break;
    }
    return e;
}

const struct export_source case_check_export = {
    .list = "checks",
    .kind = "export.checks",
    .audit = "check",
    .perm = PERM_CASE_READ,
    .sheet = "体征核查",
    .head = export_cols,
    .ncols = EXPORT_NCOLS,
    .parse = source_parse,
    .each = source_each,
};

/* ---- self-checks ---------------------------------------------------------------------- */

static err post_self_check(struct req *r)
{
    return check_post(r, CHECK_BY_SELF);
}

static err get_self_checks(struct req *r)
{
    int64_t person = 0, total;
    struct check_filter f = {.abnormal = -1, .by = CHECK_BY_SELF, .plain = true};
    err e = own_person(r, &person);
    if (!e)
        e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    f.person_id = person;
    struct scope all = scope_all(); /* the resident's own records, by person */
    json_t *items;
    if ((e = check_list(r->db, r->a, &all, &f, &items, &total)))
        return e;
    req_audit(r, "self_check.list", "person", person, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static err get_me_observation(struct req *r)
{
    int64_t person = 0;
    json_t *o;
    err e = own_person(r, &person);
    if (!e)
        e = check_me_json(r->db, person, &o);
    if (e)
        return e;
    req_audit(r, "observation.read_self", "person", person, "ok", "");
    return reply_json(r, 200, o);
}

/* ---- messages -------------------------------------------------------------------------- */

static const struct jfield message_fields[] = {
    {"text", J_STRING, JF_REQUIRED, 1, CHECK_TEXT_MAX, "留言内容", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "附件", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err messages_reply(struct req *r, int status, int64_t obs)
{
    json_t *items;
    err e = check_messages_json(r->db, r->a, obs, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "observation_id", obs);
    json_object_set_new(o, "items", items);
    return reply_json(r, status, o);
}

static json_t *attachments_of(struct req *r)
{
    json_t *v = json_object_get(r->body, "attachments");
    return json_is_null(v) ? NULL : v;
}

/* A message to the conversation of an observation: the resident's own
 * (from: MSG_FROM_PERSON, their open observation) or a doctor's answer
 * (MSG_FROM_STAFF, the path's observation in scope). */
static err message_post(struct req *r, enum msg_from from)
{
    int64_t person = 0, obs = 0, region = 0, id = 0;
    bool self = from == MSG_FROM_PERSON;
    err e = self ? own_person(r, &person) : req_param_id(r, 0, &obs);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db))) {
        struct scope all = scope_all(); /* the resident's own, by person */
        if (self)
            e = check_own_observation(r->db, person, &obs);
        if (!e)
            e = check_observation(r->db, self ? &all : &r->who->scope, obs, false, &person,
                                  &region);
        if (!e)
            e = check_message_add(r->db, r->a, r->who, obs, person, region, from,
                                  json_str(r->body, "text"), attachments_of(r), &id);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "message.create", "observation", obs,
                            arena_printf(r->a, "message=%lld", (long long)id))))
        return e;
    return messages_reply(r, 201, obs);
}

static err post_me_message(struct req *r)
{
    return message_post(r, MSG_FROM_PERSON);
}

static err get_me_messages(struct req *r)
{
    int64_t person = 0, obs = 0;
    err e = own_person(r, &person);
    if (!e)
        e = check_own_observation(r->db, person, &obs);
    if (e)
        return e;
    req_audit(r, "message.list", "observation", obs, "ok", "self");
    return messages_reply(r, 200, obs);
}

static err get_messages(struct req *r)
{
    int64_t obs;
    err e = req_param_id(r, 0, &obs);
    if (!e)
        e = check_observation(r->db, &r->who->scope, obs, true, NULL, NULL);
    if (e)
        return e;
    req_audit(r, "message.list", "observation", obs, "ok", "");
    return messages_reply(r, 200, obs);
}

static err post_message(struct req *r)
{
    return message_post(r, MSG_FROM_STAFF);
}

/* The phone's 巡查与体征检查: who is due today in the doctor's scope. */
static err get_round(struct req *r)
{
    json_t *o;
    err e = check_round(r->db, r->a, &r->who->scope, now_ms(), &o);
    if (e)
        return e;
    json_t *c = json_object_get(o, "counts");
    req_audit(r, "check.round", "observation", 0, "ok",
              arena_printf(r->a, "due=%lld checked=%lld",
                           (long long)json_integer_value(json_object_get(c, "due")),
                           (long long)json_integer_value(json_object_get(c, "checked"))));
    return reply_json(r, 200, o);
}

/* ---- rules ------------------------------------------------------------------------------ */

static err get_rules(struct req *r)
{
    json_t *o;
    err e = check_rules_json(r->db, &o);
    if (e)
        return e;
    return reply_json(r, 200, o);
}

static const struct jfield rules_body[] = {
    {"rules", J_ARRAY, JF_REQUIRED, 0, 0, "核查规则", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err put_rules(struct req *r)
{
    db_hold(r->db);
    err e = db_begin(r->db);
    if (!e)
        e = req_tx_end(r,
                       check_rules_save(r->db, json_object_get(r->body, "rules"), r->who->user_id));
    if ((e = req_write_done(
             r, e, "check_rule.update", "check_rule", 0,
             arena_printf(r->a, "count=%zu", json_array_size(json_object_get(r->body, "rules"))))))
        return e;
    return get_rules(r);
}

/* ---- the route table -------------------------------------------------------------------- */

const struct route case_check_routes[] = {
    {M_POST, "/api/v1/observations/{id}/checks", post_check, PERM_CHECK_WRITE, 0, check_fields,
     "登记体征核查（医生）", "case", 0},
    {M_GET, "/api/v1/observations/{id}/checks", get_checks, PERM_CASE_READ, 0, NULL,
     "隔离观察的核查记录", "case", 0},
    {M_GET, "/api/v1/checks", get_checks, PERM_CASE_READ, 0, NULL,
     "核查结果查询（abnormal、by、from、to 筛选，format=csv|xlsx 导出）", "case", 0},
    {M_GET, "/api/v1/checks/round", get_round, PERM_CHECK_WRITE, 0, NULL,
     "今日巡查：应查与今日已查的隔离观察人员（医生）", "case", 0},
    {M_GET, "/api/v1/observations/{id}/messages", get_messages, PERM_CHECK_WRITE, 0, NULL,
     "隔离人员留言", "case", 0},
    {M_POST, "/api/v1/observations/{id}/messages", post_message, PERM_CHECK_WRITE, 0,
     message_fields, "回复隔离人员留言", "case", 0},
    {M_POST, "/api/v1/me/self-checks", post_self_check, PERM_SELF, 0, check_fields, "隔离自查",
     "case", 0},
    {M_GET, "/api/v1/me/self-checks", get_self_checks, PERM_SELF, 0, NULL, "本人自查记录", "case",
     0},
    {M_GET, "/api/v1/me/observation", get_me_observation, PERM_SELF, 0, NULL, "本人隔离观察状态",
     "case", 0},
    {M_POST, "/api/v1/me/messages", post_me_message, PERM_SELF, 0, message_fields, "给社区医生留言",
     "case", 0},
    {M_GET, "/api/v1/me/messages", get_me_messages, PERM_SELF, 0, NULL, "本人与医生的留言", "case",
     0},
    {M_GET, "/api/v1/check-rules", get_rules, PERM_CASE_READ, 0, NULL, "体征核查规则", "case", 0},
    {M_PUT, "/api/v1/check-rules", put_rules, PERM_CASE_RULES, 0, rules_body, "修改体征核查规则",
     "case", 0},
};
const size_t case_check_routes_n = sizeof case_check_routes / sizeof case_check_routes[0];

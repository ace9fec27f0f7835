/*
 * The audit log's HTTP interface (route table `audit_routes`): searching
 * the log, exporting it as CSV, and verifying its hash chains. The writer
 * and the verifier themselves are security/audit.c.
 *
 * Only the audit administrator (audit.read) reaches these routes; the
 * system and security administrators do not, which is the point of the
 * three separate administrators (三员分立). Every read of the log is itself
 * written to the log (audit.read, also for exports, and audit.verify), so the
 * auditor is audited too.
 *
 * Retention: entries are kept for at least 180 days (等保三级, GB/T
 * 22239-2019 8.1.4.3 asks for at least six months); `fangkong audit prune`
 * removes older ones under signed retention markers (security/audit.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/catchup.h"
#include "app.h"
#include "base/paging.h"
#include "base/csv.h"
#include "base/id.h"
#include "base/time.h"
#include "db/query.h"
#include "security/audit.h"

#define AUDIT_EXPORT_MAX 50000 /* rows of one CSV export */
#define FILTER_TEXT_MAX  64    /* characters of a text filter */

struct audit_filter {
    int64_t user_id, object_id; /* 0: any */
    const char *username, *object_type, *result;
    const char *action; /* exact, or a prefix when `prefix` */
    bool prefix;
    int64_t from, to; /* epoch ms, inclusive; -1: open */
    char names[128];  /* the filters used, for the audit detail */
};

static void note(struct audit_filter *f, const char *name)
{
    size_t n = strlen(f->names);
    snprintf(f->names + n, sizeof f->names - n, "%s%s", n ? "," : "", name);
}

static err text_param(struct req *r, const char *name, const char **v_r, struct audit_filter *f)
{
    const char *s = req_query(r, name);
    if (!s || !*s)
        return E_OK;
    if (!utf8_valid_text(s))
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 含有不允许的字符", name);
    if (utf8_len(s) > FILTER_TEXT_MAX)
        return err_set(E_INPUT, "too_long", name, "参数 %s 不能超过%d个字符", name,
                       FILTER_TEXT_MAX);
    *v_r = s;
    note(f, name);
    return E_OK;
}

static err id_param(struct req *r, const char *name, int64_t *v_r, struct audit_filter *f)
{
    const char *s = req_query(r, name);
    if (!s || !*s)
        return E_OK;
    if ((*v_r = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", name, "参数 %s 应为编号", name);
    note(f, name);
    return E_OK;
}

static err filter_from(struct req *r, struct audit_filter *f)
{
    *f = (struct audit_filter){.from = -1, .to = -1};
    err e;
    if ((e = id_param(r, "user_id", &f->user_id, f)) ||
        (e = id_param(r, "object_id", &f->object_id, f)) ||
        (e = text_param(r, "username", &f->username, f)) ||
        (e = text_param(r, "object_type", &f->object_type, f)) ||
        (e = text_param(r, "result", &f->result, f)) ||
        (e = text_param(r, "action", &f->action, f)) ||
        (e = req_query_int64(r, "from", 0, INT64_MAX, &f->from)) ||
        (e = req_query_int64(r, "to", 0, INT64_MAX, &f->to)))
        return e;
    if (f->from >= 0)
        note(f, "from");
    if (f->to >= 0)
        note(f, "to");
    if (f->from >= 0 && f->to >= 0 && f->from > f->to)
        return err_set(E_INPUT, "invalid_parameter", "to", "结束时间不能早于开始时间");
    if (f->action) {
        size_t n = strlen(f->action);
        /* "person.*" is every action that starts with "person." */
        if (f->action[n - 1] == '*') {
            f->prefix = true;
            f->action = arena_strndup(r->a, f->action, n - 1);
            if (!*f->action)
                f->action = NULL; /* "*" alone: any action */
        }
    }
    return E_OK;
}

/* The WHERE clause of `f` (db/query.h). */
static void add_where(struct query *q, const struct audit_filter *f)
{
    query_sql(q, " WHERE 1 = 1");
    if (f->user_id) {
        query_sql(q, " AND user_id = ?");
        query_int(q, f->user_id);
    }
    if (f->username) {
        query_sql(q, " AND username = ?");
        query_text(q, f->username);
    }
    if (f->action) {
        if (f->prefix) {
            /* substr counts characters in both databases */
            query_sql(q, " AND substr(action, 1, ?) = ?");
            query_int(q, (int64_t)utf8_len(f->action));
        } else {
            query_sql(q, " AND action = ?");
        }
        query_text(q, f->action);
    }
    if (f->object_type) {
        query_sql(q, " AND object_type = ?");
        query_text(q, f->object_type);
    }
    /* a person's scans are entries about their access records (ids are
     * unique across tables); object_id <> 0 lets the partial index serve */
    if (f->object_id) {
        query_sql(q, " AND object_id <> 0 AND object_id IN (SELECT CAST(? AS BIGINT) UNION ALL "
                     "SELECT id FROM access_records WHERE person_id = ?)");
        query_int(q, f->object_id);
        query_int(q, f->object_id);
    }
    if (f->result) {
        query_sql(q, " AND result = ?");
        query_text(q, f->result);
    }
    /* ids are time-ordered: a time range is a range of the primary key */
    if (f->from >= 0) {
        query_sql(q, " AND id >= ?");
        query_int(q, id_min_at(f->from));
    }
    if (f->to >= 0) {
        query_sql(q, " AND id < ?");
        query_int(q, id_min_at(f->to + 1));
    }
}

struct entry {
    int64_t id, at, user_id, object_id, seq;
    int node;
    const char *username, *role, *ip, *action, *object_type, *result, *detail;
};

/* Matching entries, newest first; *total_r gets how many match. */
static err query(struct req *r, const struct audit_filter *f, int64_t page, int64_t size,
                 struct entry **items_r, size_t *n_r, int64_t *total_r)
{
    /* the entries of journalled scans, and their records, are written by
     * the access journal's indexer (db/catchup.h) */
    db_catch_up();
    /* the query is large: arena, not stack */
    struct query *q = arena_alloc(r->a, sizeof *q);
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT COUNT(*) FROM audit_log");
    add_where(q, f);
    int64_t total;
    err e = query_count(r->db, q, &total);
    if (e)
        return e;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT id, at, user_id, username, role, ip, action, object_type, object_id, "
                 "result, detail, node, seq FROM audit_log");
    add_where(q, f);
    query_sql(q, " ORDER BY id DESC LIMIT ? OFFSET ?");
    query_int(q, size);
    query_int(q, paging_offset(page, size));
    db_stmt *s;
    if ((e = query_prepare(r->db, q, &s)))
        return e;
    size_t n = 0, cap = (size_t)(total < size ? total : size);
    struct entry *items = arena_alloc(r->a, (cap ? cap : 1) * sizeof *items);
    bool row;
    while (n < cap && !(e = db_row(s, &row)) && row) {
        struct entry *x = &items[n++];
        *x = (struct entry){
            .id = db_col_int64(s, 0),
            .at = db_col_int64(s, 1),
            .user_id = db_col_int64(s, 2),
            .username = arena_strdup(r->a, db_col_text(s, 3)),
            .role = arena_strdup(r->a, db_col_text(s, 4)),
            .ip = arena_strdup(r->a, db_col_text(s, 5)),
            .action = arena_strdup(r->a, db_col_text(s, 6)),
            .object_type = arena_strdup(r->a, db_col_text(s, 7)),
            .object_id = db_col_int64(s, 8),
            .result = arena_strdup(r->a, db_col_text(s, 9)),
            .detail = arena_strdup(r->a, db_col_text(s, 10)),
            .node = (int)db_col_int64(s, 11),
            .seq = db_col_int64(s, 12),
        };
    }
    /* rows appended between the count and this page are simply not shown */
    db_done(s);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    *total_r = total;
    return E_OK;
}

static json_t *entry_json(const struct entry *x)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_object_set_new(o, "at", json_integer(x->at));
    json_set_id_or_null(o, "user_id", x->user_id);
    json_object_set_new(o, "username", json_string(x->username));
    json_object_set_new(o, "role", json_string(x->role));
    json_object_set_new(o, "ip", json_string(x->ip));
    json_object_set_new(o, "action", json_string(x->action));
    json_object_set_new(o, "object_type", json_string(x->object_type));
    json_set_id_or_null(o, "object_id", x->object_id);
    json_object_set_new(o, "result", json_string(x->result));
    json_object_set_new(o, "detail", json_string(x->detail));
    json_object_set_new(o, "node", json_integer(x->node));
    json_object_set_new(o, "seq", json_integer(x->seq));
    return o;
}

/* ---- CSV ----------------------------------------------------------------------- */

static const char *num(arena *a, int64_t v)
{
    return v ? arena_printf(a, "%lld", (long long)v) : "";
}

/* Epoch ms as China time to the millisecond (an entry's time is never 0). */
static const char *cn_time_ms(arena *a, int64_t ms)
{
    char buf[CHINA_TIME_LEN];
    china_time(ms, buf);
    return arena_printf(a, "%s.%03d", buf, (int)(ms % 1000));
}

static err audit_csv(struct req *r, const struct audit_filter *f)
{
    struct entry *items;
    size_t n;
    int64_t total;
    err e = query(r, f, 1, AUDIT_EXPORT_MAX, &items, &n, &total);
    if (e)
        return e;
    if (total > AUDIT_EXPORT_MAX)
        return err_set(E_INPUT, "export_too_large", NULL,
                       "导出记录超过%d条，请缩小时间范围或增加筛选条件后再导出", AUDIT_EXPORT_MAX);
    struct csv_out c;
    reply_csv_begin(r, &c);
    static const char *const head[] = {"编号",     "时间", "用户编号", "用户名",   "角色",
                                       "来源地址", "操作", "对象类型", "对象编号", "结果",
                                       "详情",     "节点", "序号"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        csv_text(&c, head[i]);
    csv_row_end(&c);
    for (size_t i = 0; i < n; i++) {
        const struct entry *x = &items[i];
        csv_num(&c, num(r->a, x->id));
        csv_text(&c, cn_time_ms(r->a, x->at));
        csv_num(&c, num(r->a, x->user_id));
        csv_text(&c, x->username);
        csv_text(&c, x->role);
        csv_text(&c, x->ip);
        csv_text(&c, x->action);
        csv_text(&c, x->object_type);
        csv_num(&c, num(r->a, x->object_id));
        csv_text(&c, x->result);
        csv_text(&c, x->detail);
        csv_int(&c, x->node);
        csv_num(&c, num(r->a, x->seq));
        csv_row_end(&c);
    }
    req_audit(r, "audit.read", "audit", 0, "ok",
              arena_printf(r->a, "format=csv count=%zu filters=%s", n, f->names));
    return reply_csv(r, &c, "audit.csv");
}

/* ---- handlers ------------------------------------------------------------------ */

static err get_audit(struct req *r)
{
    struct audit_filter f;
    int64_t page, size;
    err e = filter_from(r, &f);
    if (e)
        return e;
    const char *format = req_query(r, "format");
    if (format && strcmp(format, "csv") && strcmp(format, "json"))
        return err_set(E_INPUT, "invalid_parameter", "format", "参数 format 只能是 json 或 csv");
    /* entries queued by this and other requests' writes become visible */
    audit_flush();
    if (format && !strcmp(format, "csv"))
        return audit_csv(r, &f);
    if ((e = req_paging(r, &page, &size)))
        return e;
    struct entry *items;
    size_t n;
    int64_t total;
    if ((e = query(r, &f, page, size, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, entry_json(&items[i]));
    req_audit(r, "audit.read", "audit", 0, "ok",
              arena_printf(r->a, "count=%zu filters=%s", n, f.names));
    return reply_page(r, arr, total, page, size);
}

/* The verifier's finding in Chinese, for the audit administrator's screen
 * (one per code of struct audit_verify_result, docs/audit.md). */
static const char *reason_label(const char *code)
{
    static const struct {
        const char *code, *label;
    } labels[] = {
        {"edited", "记录内容与其带密钥的哈希值不符（记录被篡改，或被改写后重算了哈希）"},
        {"gap", "此条之前的记录缺失（序号不连续，中间记录被删除）"},
        {"link", "与前一条记录的哈希链接不符（记录被删除或被替换）"},
        {"renumbered", "哈希链比签名检查点短且从此处断开（中间记录被删除，其后记录被重新编号）"},
        {"checkpoint", "记录与签名检查点不符（哈希链被改写）"},
        {"tail_cut", "哈希链在签名检查点之前结束（最新的记录被删除）"},
        {"head", "哈希链的末尾与登记的链头不符（最新的记录被删除）"},
        {"oldest_removed", "最早的记录被删除且没有签名的保留期标记（非正常清理）"},
        {"wiped", "审计日志为空，但签名检查点记录了日志（日志被清空）"},
        {"marker", "保留期标记签名无效或与哈希链不符（标记被伪造）"},
        {"anchor_file", "审计锚点文件中有签名无效的行（锚点文件被改动）"},
        {"switch",
         "审计密钥切换记录与登记的日志段不符，或旧密钥对旧链头的担保不符（切换被伪造或挪动）"},
        {"key_destroyed", "已销毁的审计密钥版本仍有记录（从旧备份恢复，或被写回已清理的日志段）"},
        {"key_missing", "本服务器的密钥文件中没有校验该日志段所需的审计密钥版本"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (!strcmp(code, labels[i].code))
            return labels[i].label;
    return "审计日志校验未通过";
}

/* Per segment, what verification did (docs/audit.md, "Rotating the audit
 * key"): a purged segment is not a break. */
static json_t *audit_segments_json(const struct audit_verify_result *v)
{
    static const struct {
        const char *state, *label;
    } labels[] = {
        {"verified", "已校验"},
        {"purged", "已超过保留期并清理"},
        {"broken", "校验未通过"},
        {"unchecked", "未校验（之前已发现问题）"},
    };
    json_t *arr = json_array();
    for (size_t i = 0; i < v->nsegments; i++) {
        const struct audit_segment_result *g = &v->segments[i];
        const char *label = g->state;
        for (size_t j = 0; j < sizeof labels / sizeof labels[0]; j++)
            if (!strcmp(g->state, labels[j].state))
                label = labels[j].label;
        json_array_append_new(
            arr, json_pack("{s:i, s:i, s:I, s:o, s:I, s:I, s:s, s:s}", "node", g->node,
                           "key_version", g->key_version, "first_seq", (json_int_t)g->first_seq,
                           "last_seq", g->last_seq < 0 ? json_null() : json_integer(g->last_seq),
                           "entries", (json_int_t)g->entries, "purged", (json_int_t)g->purged,
                           "state", g->state, "state_label", label));
    }
    return arr;
}

static err get_audit_verify(struct req *r)
{
    /* the newest entries are still queued: make them part of the check */
    audit_flush();
    struct audit_verify_result v;
    err e = audit_verify(r->db, &v);
    if (e)
        return e;
    bool ok = !v.code[0];
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(ok));
    json_object_set_new(o, "checked", json_integer(v.checked));
    if (v.broken_id > 0)
        json_set_id(o, "broken_id", v.broken_id);
    else
        json_object_set_new(o, "broken_id", json_null());
    json_object_set_new(o, "node", json_integer(v.node));
    json_object_set_new(o, "anchored", json_integer(v.anchored));
    json_object_set_new(o, "pruned", json_integer(v.pruned));
    json_object_set_new(o, "code", ok ? json_null() : json_string(v.code));
    json_object_set_new(o, "reason", ok ? json_null() : json_string(reason_label(v.code)));
    json_object_set_new(o, "segments", audit_segments_json(&v));
    json_object_set_new(o, "skipped_anchors", json_integer(v.skipped));
    req_audit(r, "audit.verify", "audit", v.broken_id > 0 ? v.broken_id : 0, "ok",
              arena_printf(r->a, "checked=%lld intact=%d", (long long)v.checked, ok));
    return reply_json(r, 200, o);
}

const struct route audit_routes[] = {
    {M_GET, "/api/v1/audit", get_audit, PERM_AUDIT_READ, 0, NULL,
     "查询审计日志（user_id、username、action（可用 * 结尾作前缀）、object_type、object_id、"
     "result、from、to、分页，format=csv 导出）",
     "audit", 0},
    {M_GET, "/api/v1/audit/verify", get_audit_verify, PERM_AUDIT_READ, 0, NULL,
     "校验审计日志哈希链", "audit", 0},
};
const size_t audit_routes_n = sizeof audit_routes / sizeof audit_routes[0];

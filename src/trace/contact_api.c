/*
 * HTTP handlers of contact tracing (trace.h "contact tracing"; docs/tracing.md):
 *
 *   POST /api/v1/traces                     run a trace (trace.write): 201 the run, first page
 *   GET  /api/v1/traces                     runs of cases in scope (person_id, paging)
 *   GET  /api/v1/traces/{id}                the run and its contacts (degree, class, kind,
 *                                           paging, reveal=1)
 *   GET  /api/v1/traces/{id}/graph          the chain as nodes and links
 *   GET  /api/v1/traces/{id}/grid-counts    contacts per grid, for the map
 *   GET  /api/v1/traces/{id}/export         xlsx (密接人员, 传播关系); reveal=1
 *   POST /api/v1/traces/{id}/commit         contacts → reports, tasks, code inputs
 *   GET  /api/v1/trace/rules                the rules
 *   PUT  /api/v1/trace/rules                change them (trace.rules)
 *
 * A run executes on the offload worker (job/offload.h): the loop checks
 * the request (bad input, scope, a case) and answers those itself, the
 * worker reads and writes. Every read of contacts is audited
 * ("trace.contacts.read"), a reveal also as person.reveal.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/time.h"
#include "http/export.h"
#include "http/write.h"
#include "job/offload.h"
#include "security/audit.h"
#include "trace/trace.h"

static const struct jfield trace_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "病例", NULL, NULL},
    {"from", J_INT, JF_NULLABLE, 0, 0, "开始时间", NULL, NULL},
    {"to", J_INT, JF_NULLABLE, 0, 0, "结束时间", NULL, NULL},
    {"degree", J_INT, JF_NULLABLE, 0, 0, "追踪度数", NULL, NULL},
    {"window_minutes", J_INT, JF_NULLABLE, 0, 0, "同时停留判定窗口", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield commit_body[] = {
    {"contact_ids", J_ARRAY, JF_REQUIRED, 0, 0, "接触者", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const struct jfield rules_body[] = {
    {"lookback_days", J_INT, 0, 0, 0, "追溯天数", NULL, NULL},
    {"window_minutes", J_INT, 0, 0, 0, "同时停留判定窗口", NULL, NULL},
    {"close_overlap_minutes", J_INT, 0, 0, 0, "密接判定停留时长", NULL, NULL},
    {"close_crowd_max", J_INT, 0, 0, 0, "密接判定同场出入人次上限", NULL, NULL},
    {"seat_rows", J_INT, 0, 0, 0, "座位排数", NULL, NULL},
    {"passenger_minutes", J_INT, 0, 0, 0, "同车判定时间", NULL, NULL},
    {"building", J_BOOL, 0, 0, 0, "同楼栋", NULL, NULL},
    {"auto", J_BOOL, 0, 0, 0, "自动追踪", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The request in a body (shapes checked by the route). */
static void request_of(json_t *body, struct trace_request *in)
{
    json_t *v = json_object_get(body, "degree");
    *in = (struct trace_request){
        .person_id = id_parse(json_str(body, "person_id")),
        .from = json_int(body, "from", 0),
        .to = json_int(body, "to", 0),
        .degree = json_is_integer(v) ? (int)json_integer_value(v) : 2,
        .window_minutes = (int)json_int(body, "window_minutes", 0),
    };
    if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > 9))
        in->degree = 0; /* refused as not 1 or 2, whatever it was */
    v = json_object_get(body, "window_minutes");
    if (json_is_integer(v) && (json_integer_value(v) < 1 || json_integer_value(v) > 240))
        in->window_minutes = -1;
}

/* The run with one page of its contacts, as GET /traces/{id} answers. */
static err run_reply(db *d, arena *a, const struct scope *sc, int64_t id,
                     const struct trace_contact_filter *f, bool reveal, json_t **o_r,
                     int64_t *listed_r)
{
    struct trace_run run;
    json_t *items, *outside;
    int64_t total;
    err e = trace_run_find(d, a, sc, id, &run);
    if (!e)
        e = trace_contacts_read(d, a, sc, id, f, reveal, &items, &total, &outside);
    if (e)
        return e;
    *o_r = json_pack("{s:o, s:o, s:I, s:I, s:I, s:o}", "run", trace_run_json(&run), "items", items,
                     "total", (json_int_t)total, "page", (json_int_t)f->page, "page_size",
                     (json_int_t)f->page_size, "outside_scope", outside);
    *listed_r = (int64_t)json_array_size(items);
    return E_OK;
}

/* On the offload worker: plan, compute, store with the entry "trace.run". */
static err run_trace(struct offload *q, int *status_r, json_t **reply_r)
{
    struct trace_request in;
    struct trace_plan p;
    struct trace_result res = {0};
    request_of(q->body, &in);
    uint64_t t0 = mono_us();
    err e = trace_plan(q->d, &q->who->scope, &in, now_ms(), &p);
    if (!e)
        e = trace_compute(q->d, &p, &res);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "trace.run", "person", in.person_id, e, NULL);
    int64_t id = 0, elapsed = (int64_t)((mono_us() - t0) / 1000), listed = 0;
    /* the reply's first page is read inside the run's transaction: the
     * run's entry says how many contacts it showed */
    struct trace_contact_filter f = {.page = 1, .page_size = 20};
    json_t *reply = NULL;
    if (!(e = db_begin(q->d)) &&
        !(e = trace_run_store(q->d, &p, &res, TRACE_MANUAL, 0, q->who->user_id, elapsed, &id)))
        e = run_reply(q->d, q->a, &q->who->scope, id, &f, false, &reply, &listed);
    const char *detail = arena_printf(
        q->a,
        "person=%lld degree=%d close=%lld secondary=%lld general=%lld rows=%lld ms=%lld count=%lld",
        (long long)p.person_id, p.degree, (long long)res.counts[TRACE_CLOSE],
        (long long)res.counts[TRACE_SECONDARY], (long long)res.counts[TRACE_GENERAL],
        (long long)res.rows_read, (long long)elapsed, (long long)listed);
    trace_result_free(&res);
    if ((e = offload_commit(q, e, "trace.run", "trace", id, detail))) {
        json_decref(reply);
        return e;
    }
    *reply_r = reply;
    *status_r = 201;
    return E_OK;
}

static err post_trace(struct req *r)
{
    struct trace_request in;
    struct trace_plan p;
    request_of(r->body, &in);
    /* refused here, on the loop, before anything is queued */
    err e = trace_plan(r->db, &r->who->scope, &in, now_ms(), &p);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "trace.run", "person", in.person_id, e, NULL);
    return job_offload(r, run_trace, NULL);
}

static err get_traces(struct req *r)
{
    int64_t page, page_size, person = 0;
    err e = req_paging(r, &page, &page_size);
    const char *s = req_query(r, "person_id");
    if (!e && s && (person = id_parse(s)) <= 0)
        e = err_set(E_INPUT, "invalid_parameter", "person_id", "参数 person_id 不正确");
    struct trace_run *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    if (!e)
        e = trace_run_list(r->db, r->a, &r->who->scope, person, page, page_size, &items, &n,
                           &total);
    if (e)
        return e;
    req_audit(r, "trace.list", "person", person, "ok",
              arena_printf(r->a, "count=%zu total=%lld", n, (long long)total));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, trace_run_json(&items[i]));
    return reply_page(r, arr, total, page, page_size);
}

static err filter_from(struct req *r, struct trace_contact_filter *f)
{
    err e = req_paging(r, &f->page, &f->page_size);
    int64_t degree = 0;
    if (!e)
        e = req_query_int64(r, "degree", 1, 2, &degree);
    f->degree = (int)degree;
    const char *s;
    if (!e && (s = req_query(r, "class")) && *s) {
        int c = vocab_parse(&trace_class_vocab, s);
        if (c <= 0)
            e = err_set(E_INPUT, "invalid_parameter", "class", "分类的取值不正确");
        else
            f->cls = (enum trace_class)c;
    }
    if (!e && (s = req_query(r, "kind")) && *s) {
        int k = vocab_parse(&trace_reason_vocab, s);
        if (k <= 0)
            e = err_set(E_INPUT, "invalid_parameter", "kind", "接触原因的取值不正确");
        else
            f->kind = (enum trace_reason_kind)k;
    }
    return e;
}

static err get_trace(struct req *r)
{
    int64_t id;
    bool reveal = false;
    struct trace_contact_filter f = {0};
    err e = req_param_id(r, 0, &id);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "trace.contacts.read", "trace", id, e, "reveal");
    if (!e)
        e = filter_from(r, &f);
    json_t *o;
    int64_t listed;
    if (!e)
        e = run_reply(r->db, r->a, &r->who->scope, id, &f, reveal, &o, &listed);
    if (e)
        return e;
    req_audit(r, "trace.contacts.read", "trace", id, "ok",
              arena_printf(r->a, "count=%lld%s", (long long)listed, reveal ? " reveal" : ""));
    if (reveal)
        req_audit(r, "person.reveal", "trace", id, "ok", "fields=trace_contacts");
    return reply_json(r, 200, o);
}

static err get_graph(struct req *r)
{
    int64_t id;
    struct trace_run run;
    json_t *g;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = trace_run_find(r->db, r->a, &r->who->scope, id, &run);
    if (!e)
        e = trace_graph(r->db, r->a, &r->who->scope, &run, &g);
    if (e)
        return e;
    req_audit(r, "trace.contacts.read", "trace", id, "ok",
              arena_printf(r->a, "graph nodes=%zu", json_array_size(json_object_get(g, "nodes"))));
    return reply_json(r, 200, g);
}

static err get_grid_counts(struct req *r)
{
    int64_t id;
    struct trace_run run;
    json_t *items;
    err e = req_param_id(r, 0, &id);
    if (!e)
        e = trace_run_find(r->db, r->a, &r->who->scope, id, &run);
    if (!e)
        e = trace_grid_counts(r->db, r->a, &r->who->scope, id, &items);
    if (e)
        return e;
    req_audit(r, "trace.grid_counts", "trace", id, "ok",
              arena_printf(r->a, "grids=%zu", json_array_size(items)));
    return reply_json(r, 200, items);
}

static err get_export(struct req *r)
{
    int64_t id, size;
    bool reveal = false;
    struct trace_run run;
    int fd;
    err e = req_param_id(r, 0, &id);
    if (!e && (e = req_reveal(r, &reveal)) == E_FORBIDDEN)
        return audit_refusal(r->db, r->who, r->ip, "trace.export", "trace", id, e, "reveal");
    if (!e)
        e = trace_run_find(r->db, r->a, &r->who->scope, id, &run);
    if (!e)
        e = trace_export(r->db, r->a, &r->who->scope, &run, reveal, &fd, &size);
    if (e)
        return e;
    req_audit(r, "trace.export", "trace", id, "ok", reveal ? "xlsx reveal" : "xlsx");
    if (reveal)
        req_audit(r, "person.reveal", "trace", id, "ok", "fields=trace_contacts");
    r->disposition = "attachment; filename=\"trace-contacts.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err post_commit(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (!e && !principal_can(r->who, PERM_CASE_REPORT))
        e = err_set(E_FORBIDDEN, "forbidden", NULL, "您没有上报疫情事件的权限");
    json_t *arr = json_object_get(r->body, "contact_ids");
    size_t n = json_array_size(arr);
    if (!e && !n)
        e = err_set(E_INPUT, "required", "contact_ids", "请选择要转为核查任务的接触者");
    if (!e && n > TRACE_COMMIT_MAX)
        e = err_set(E_INPUT, "too_many_contacts", "contact_ids", "一次最多选择%d名接触者",
                    TRACE_COMMIT_MAX);
    int64_t *ids = n ? arena_alloc(r->a, n * sizeof *ids) : NULL;
    for (size_t i = 0; !e && i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || (ids[i] = id_parse(json_string_value(v))) <= 0)
            e = err_set(E_INPUT, "invalid_value", arena_printf(r->a, "contact_ids[%zu]", i),
                        "接触者编号不正确");
    }
    struct trace_run run;
    if (!e)
        e = trace_run_find(r->db, r->a, &r->who->scope, id, &run);
    json_t *reply = NULL;
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db))) {
        e = trace_commit(r->db, r->a, r->who, &run, ids, n, &reply);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "trace.commit", "trace", id,
                            reply ? arena_printf(r->a, "count=%lld",
                                                 (long long)json_integer_value(
                                                     json_object_get(reply, "committed")))
                                  : arena_printf(r->a, "selected=%zu", n)))) {
        json_decref(reply);
        return e;
    }
    return reply_json(r, 200, reply);
}

static err get_rules(struct req *r)
{
    struct trace_rules ru;
    err e = trace_rules_load(r->db, &ru);
    return e ? e : reply_json(r, 200, trace_rules_json(&ru));
}

static err put_rules(struct req *r)
{
    struct trace_rules ru;
    err e = trace_rules_load(r->db, &ru);
    if (!e)
        e = trace_rules_apply_json(r->body, &ru);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, trace_rules_save(r->db, &ru, r->who->user_id));
    if ((e = req_write_done(r, e, "trace.rules", "trace_rules", 0, req_body_fields(r))))
        return e;
    return reply_json(r, 200, trace_rules_json(&ru));
}

const struct route trace_contact_routes[] = {
    {M_POST, "/api/v1/traces", post_trace, PERM_TRACE_WRITE, 0, trace_body,
     "发起密接追踪（degree 1|2，默认 2；from/to 为毫秒时间戳，默认按病例起病和隔离时间）", "trace",
     0},
    {M_GET, "/api/v1/traces", get_traces, PERM_TRACE_READ, 0, NULL,
     "密接追踪记录（person_id 筛选，分页）", "trace", 0},
    {M_GET, "/api/v1/traces/{id}", get_trace, PERM_TRACE_READ, 0, NULL,
     "追踪结果与接触者（degree、class、kind 筛选，分页，reveal=1 查看完整信息）", "trace", 0},
    {M_GET, "/api/v1/traces/{id}/graph", get_graph, PERM_TRACE_READ, 0, NULL, "传播关系图", "trace",
     0},
    {M_GET, "/api/v1/traces/{id}/grid-counts", get_grid_counts, PERM_TRACE_READ, 0, NULL,
     "接触者按网格分布", "trace", 0},
    {M_GET, "/api/v1/traces/{id}/export", get_export, PERM_TRACE_READ, 0, NULL,
     "导出接触者与传播关系（Excel；reveal=1 查看完整信息）", "trace", 0},
    {M_POST, "/api/v1/traces/{id}/commit", post_commit, PERM_TRACE_WRITE, 0, commit_body,
     "将所选接触者转为核查任务（上报事件、赋码）", "trace", 0},
    {M_GET, "/api/v1/trace/rules", get_rules, PERM_TRACE_READ, 0, NULL, "密接判定规则", "trace", 0},
    {M_PUT, "/api/v1/trace/rules", put_rules, PERM_TRACE_RULES, 0, rules_body, "修改密接判定规则",
     "trace", 0},
};
const size_t trace_contact_routes_n = sizeof trace_contact_routes / sizeof trace_contact_routes[0];

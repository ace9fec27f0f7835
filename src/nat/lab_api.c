/*
 * HTTP handlers of laboratory results (检测结果; nat.h "laboratory results"):
 *
 *   POST /api/v1/nat/results                 one tube's result (the console)
 *   POST /api/v1/nat/results/batch           a laboratory system's batch (up to 10,000, 1,000 on
 *                                            PostgreSQL; dry_run), run on the offload worker
 *                                            (job/offload.h) while the client waits
 *   POST /api/v1/nat/results/upload          an xlsx (?dry_run=1): 202 {job_id, rows}, applied on
 *                                            the import worker (row errors: the job's result
 *                                            and GET /api/v1/jobs/{id}/errors.xlsx)
 *   GET  /api/v1/nat/results/template.xlsx   the upload template
 *   POST /api/v1/nat/tubes/{barcode}/result/withdraw   withdraw a wrongly entered result {reason}
 *   GET  /api/v1/nat/retests                 retests and resamples in scope (masked names)
 *
 * The inbox is the tube list with ?awaiting=1 (sample_api.c). A result
 * writes test results of persons: every write is audited in its
 * transaction (db_hold), a refusal too; a batch or upload is one entry
 * with its counts (no barcodes of persons, no names).
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/xlsx.h"
#include "http/export.h"
#include "http/write.h"
#include "job/offload.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/nat.h"
#include "security/audit.h"

#define UPLOAD_MAX (20u * 1024 * 1024)
#define BATCH_MAX  (4u * 1024 * 1024) /* 10,000 records of about 100 bytes, with room */

static const char *const result_names[] = {"negative", "positive", "invalid", NULL};

static const struct jfield result_fields[] = {
    {"barcode", J_STRING, JF_REQUIRED, 1, 64, "试管条码", NULL, NULL},
    {"result", J_STRING, JF_REQUIRED, 0, 0, "检测结果", result_names, NULL},
    {"at", J_INT, 0, 0, INT64_MAX, "报告时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err institution_of(struct req *r, const char **name_r)
{
    return nat_lab_institution(r->db, r->a, r->who->user_id, name_r);
}

static json_t *outcome_json(const struct nat_result_outcome *o)
{
    return json_pack("{s:b,s:I,s:I,s:I,s:I}", "repeated", o->repeated, "samples",
                     (json_int_t)o->samples, "retests", (json_int_t)o->retests, "closed",
                     (json_int_t)o->closed, "reports", (json_int_t)o->reports);
}

static err post_result(struct req *r)
{
    struct nat_result_input in = {
        .barcode = json_str(r->body, "barcode"),
        .result = (enum nat_result)vocab_parse(&nat_result_vocab, json_str(r->body, "result")),
        .at = json_int(r->body, "at", 0),
    };
    struct nat_result_outcome o = {0};
    const char *inst;
    db_hold(r->db);
    err e = institution_of(r, &inst);
    if (!e)
        e = nat_result_record(r->db, r->a, r->who, inst, &in, &o);
    if ((e = req_write_done(r, e, "nat.result", "nat_tube", o.tube_id,
                            arena_printf(r->a, "result=%s repeated=%d retests=%lld reports=%lld",
                                         json_str(r->body, "result"), o.repeated,
                                         (long long)o.retests, (long long)o.reports))))
        return e;
    struct nat_tube t;
    if ((e = nat_tube_find(r->db, r->a, &r->who->scope, in.barcode, &t)))
        return e;
    json_t *body = nat_tube_json(&t);
    json_object_set_new(body, "outcome", outcome_json(&o));
    return reply_json(r, 200, body);
}

/* A record of a batch, checked at the edge: a malformed one is reported
 * with its position, as the capability reports the others. */
static bool record_take(json_t *v, size_t i, struct nat_result_input *in, json_t *errors)
{
    const char *slug = NULL, *field = NULL, *msg = NULL;
    json_t *b = json_object_get(v, "barcode"), *res = json_object_get(v, "result"),
           *at = json_object_get(v, "at");
    int k = json_is_string(res) ? vocab_parse(&nat_result_vocab, json_string_value(res)) : -1;
    if (!json_is_object(v))
        slug = "invalid_type", field = "", msg = "每条记录应为对象";
    else if (!json_is_string(b) || !nat_barcode_valid(json_string_value(b)))
        slug = "invalid_barcode", field = "barcode", msg = "试管条码应为6到32位字母、数字或连字符";
    else if (k <= 0)
        slug = "invalid_value", field = "result",
        msg = "检测结果只能是 negative、positive 或 invalid";
    else if (at && !json_is_null(at) && (!json_is_integer(at) || json_integer_value(at) < 0))
        slug = "invalid_time", field = "at", msg = "报告时间应为毫秒时间戳";
    if (slug && json_array_size(errors) >= NAT_RESULT_ERRORS_MAX)
        return false; /* counted as failed, not listed */
    if (slug) {
        json_array_append_new(errors,
                              json_pack("{s:I,s:s,s:s,s:s,s:s}", "row", (json_int_t)i + 1,
                                        "barcode", json_is_string(b) ? json_string_value(b) : "",
                                        "code", slug, "field", field, "message", msg));
        return false;
    }
    *in = (struct nat_result_input){json_string_value(b), (enum nat_result)k,
                                    json_is_integer(at) ? json_integer_value(at) : 0};
    return true;
}

static const struct jfield batch_fields[] = {
    {"records", J_ARRAY, JF_REQUIRED, 1, NAT_RESULTS_MAX, "检测结果记录", NULL, NULL},
    {"dry_run", J_BOOL, 0, 0, 0, "仅校验", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The audit detail of a batch's or an upload's report. */
static const char *report_detail(arena *a, json_t *report)
{
    return arena_printf(
        a,
        "total=%lld applied=%lld repeated=%lld failed=%lld retests=%lld "
        "reports=%lld dry_run=%d",
        (long long)json_int(report, "total", 0), (long long)json_int(report, "applied", 0),
        (long long)json_int(report, "repeated", 0), (long long)json_int(report, "failed", 0),
        (long long)json_int(report, "retests", 0), (long long)json_int(report, "reports", 0),
        json_is_true(json_object_get(report, "dry_run")));
}

/* On the offload worker: the records (each alone: a failing one is reported
 * and the others go on) and the audit entry in one transaction; a failure is
 * a refusal, audited. */
static err run_batch(struct offload *q, int *status_r, json_t **reply_r)
{
    json_t *records = json_object_get(q->body, "records"), *v;
    size_t n = json_array_size(records), i, k = 0;
    struct nat_result_input *in = arena_alloc(q->a, n * sizeof *in);
    long *rows = arena_alloc(q->a, n * sizeof *rows);
    json_t *errors = json_array(), *report = NULL;
    if (!errors)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    int64_t bad = 0;
    json_array_foreach(records, i, v)
    {
        if (record_take(v, i, &in[k], errors))
            rows[k++] = (long)i + 1;
        else
            bad++;
    }
    const char *inst;
    err e = db_begin(q->d);
    if (!e && !(e = nat_lab_institution(q->d, q->a, q->who->user_id, &inst))) {
        e = nat_result_batch(q->d, q->a, q->who, inst, in, rows, k,
                             json_is_true(json_object_get(q->body, "dry_run")), errors, bad,
                             &report);
        errors = NULL; /* taken */
    }
    json_decref(errors);
    if ((e = offload_commit(q, e, "nat.result.batch", "job", 0,
                            e ? NULL : report_detail(q->a, report)))) {
        json_decref(report);
        return audit_refusal(q->d, q->who, q->ip, "nat.result.batch", "job", 0, e, NULL);
    }
    *status_r = 200;
    *reply_r = report;
    return E_OK;
}

/* On the loop: the batch's size on PostgreSQL (refused and audited here),
 * then the rest on the offload worker. */
static err post_batch(struct req *r)
{
    size_t n = json_array_size(json_object_get(r->body, "records"));
    if (db_kind(r->db) == DB_POSTGRES && n > NAT_RESULTS_MAX_PG)
        return audit_refusal(
            r->db, r->who, r->ip, "nat.result.batch", "job", 0,
            err_set(E_INPUT, "too_many_rows", "records",
                    "一次最多提交%d条检测结果：请分批提交，或上传 Excel（最多%d行）",
                    NAT_RESULTS_MAX_PG, NAT_RESULTS_MAX),
            arena_printf(r->a, "records=%zu", n));
    return job_offload(r, run_batch, NULL);
}

/* The upload is checked here (whole-file faults answer 400) and applied
 * on the import worker: 202 {job_id, rows, dry_run}. */
static err post_upload(struct req *r)
{
    static const struct import_accept acc = {"nat.result.upload", "nat.result.upload_queued",
                                             "nat.result_upload", NULL, 0};
    int64_t dry = 0, job;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    err e = req_query_int64(r, "dry_run", 0, 1, &dry);
    if (!e)
        e = nat_result_upload_check(body, n, &rows);
    if ((e = import_accept(r, e, &acc, n, rows, dry ? " dry_run" : "", &job)) ||
        (e = nat_result_upload_submit(r->db, job, r->who, body, n, rows, dry)))
        return e;
    return import_accepted(r, job, rows, json_pack("{s:b}", "dry_run", dry != 0));
}

static const struct jfield withdraw_fields[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, NAT_WITHDRAW_REASON_MAX, "撤回原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_withdraw(struct req *r)
{
    const char *barcode = r->params[0];
    struct nat_withdraw_outcome o = {0};
    db_hold(r->db);
    err e = nat_result_withdraw(r->db, r->a, r->who, barcode, json_str(r->body, "reason"), &o);
    if ((e = req_write_done(r, e, "nat.result.withdraw", "nat_tube", o.tube_id,
                            arena_printf(r->a,
                                         "result=%s samples=%lld tests=%lld retests=%lld "
                                         "reports=%lld",
                                         o.result ? o.result : "", (long long)o.samples,
                                         (long long)o.tests, (long long)o.retests,
                                         (long long)o.reports))))
        return e;
    struct nat_tube t;
    if ((e = nat_tube_find(r->db, r->a, &r->who->scope, barcode, &t)))
        return e;
    json_t *body = nat_tube_json(&t);
    json_t *w = json_pack("{s:s,s:I,s:I,s:I,s:I}", "result", o.result, "samples",
                          (json_int_t)o.samples, "tests", (json_int_t)o.tests, "retests",
                          (json_int_t)o.retests, "reports", (json_int_t)o.reports);
    json_set_id(w, "id", o.withdrawal_id);
    json_object_set_new(body, "withdrawal", w);
    return reply_json(r, 200, body);
}

static err get_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = nat_result_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"nat-results-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

static err get_retests(struct req *r)
{
    struct nat_retest_filter f = {0};
    bool reveal = false;
    err e = req_paging(r, &f.page, &f.page_size);
    if (!e)
        e = req_reveal(r, &reveal);
    if (e)
        return e;
    const char *s = req_query(r, "region_code");
    enum region_level lv;
    if (s && (f.region_code = regcode_parse(s, &lv)) <= 0)
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    if ((s = req_query(r, "plan_id")) && (f.plan_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "plan_id", "检测计划编号不正确");
    int k;
    if ((s = req_query(r, "kind")) && (k = vocab_parse(&nat_retest_kind_vocab, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "kind", "复核类型的取值不正确");
    if (s)
        f.kind = (enum nat_retest_kind)vocab_parse(&nat_retest_kind_vocab, s);
    if ((s = req_query(r, "state")) && vocab_parse(&nat_retest_state_vocab, s) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "state", "复核状态的取值不正确");
    if (s)
        f.state = (enum nat_retest_state)vocab_parse(&nat_retest_state_vocab, s);
    struct nat_retest *items;
    size_t n;
    int64_t total;
    if ((e = nat_retest_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    /* one entry for the page: the persons named, revealed or not */
    req_audit(r, reveal ? "person.reveal" : "nat.retest.list", "nat_retest", 0, "ok",
              arena_printf(r->a, "n=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, nat_retest_json(r->a, &items[i], reveal));
    return reply_page(r, arr, total, f.page, f.page_size);
}

const struct route nat_lab_routes[] = {
    {M_POST, "/api/v1/nat/results", post_result, PERM_NAT_RESULT, 0, result_fields,
     "录入一支试管的检测结果（阴性、阳性、无效）", "nat", 0},
    {M_POST, "/api/v1/nat/results/batch", post_batch, PERM_NAT_RESULT, 0, batch_fields,
     "检测机构系统批量回传检测结果（每批最多10000条，PostgreSQL 上1000条，幂等，逐条报错，dry_run "
     "仅校验）",
     "nat", BATCH_MAX},
    {M_POST, "/api/v1/nat/results/upload", post_upload, PERM_NAT_RESULT, ROUTE_RAW_BODY, NULL,
     "上传检测结果 Excel（逐行报错，其余照常录入；dry_run=1 仅校验）", "nat", UPLOAD_MAX},
    {M_POST, "/api/v1/nat/tubes/{barcode}/result/withdraw", post_withdraw, PERM_NAT_RESULT, 0,
     withdraw_fields, "撤回一支试管录错的检测结果（reason 必填；复核已有结果后不能撤回）", "nat",
     0},
    {M_GET, "/api/v1/nat/results/template.xlsx", get_template, PERM_NAT_RESULT, 0, NULL,
     "检测结果导入模板（Excel）", "nat", 0},
    {M_GET, "/api/v1/nat/retests", get_retests, PERM_NAT_READ, 0, NULL,
     "单管复核与重新采样名单（region_code、plan_id、kind、state 筛选，reveal=1 显示全名）", "nat",
     0},
};
const size_t nat_lab_routes_n = sizeof nat_lab_routes / sizeof nat_lab_routes[0];

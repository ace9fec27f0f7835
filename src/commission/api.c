/*
 * HTTP handlers of the health commission's data (commission.h,
 * docs/commission.md):
 *
 *   POST /api/v1/commission/doctors/batch               doctors (医生信息), ≤10,000 records
 *   POST /api/v1/commission/investigations/batch        investigations (流调信息), ≤10,000
 *   POST /api/v1/commission/investigations/relink       link the unlinked to registered persons
 *   GET  /api/v1/commission/doctors                     doctors in scope (masked; reveal=1)
 *   GET  /api/v1/commission/investigations              investigations in scope (masked;
 *                                                       reveal=1; person_id, linked,
 *                                                       classification, region_code)
 *
 * Every batch and every list is audited (a list as one entry for its
 * page, "person.reveal" when revealed), refusals too.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "commission/commission.h"
#include "http/export.h"
#include "http/write.h"
#include "job/offload.h"
#include "security/audit.h"
#include "security/mask.h"

#define BATCH_MAX_BODY (16u << 20) /* 10,000 records with their texts, with room */

static const struct jfield batch_fields[] = {
    {"records", J_ARRAY, JF_REQUIRED, 0, 0, "记录", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

struct batch_kind {
    enum commission_kind kind;
    const char *action;
};

/* On the offload worker: the records and the audit entry of the counts in
 * one transaction. */
static err run_batch(struct offload *q, int *status_r, json_t **reply_r)
{
    const struct batch_kind *k = q->arg;
    json_t *recs = json_object_get(q->body, "records");
    size_t n = json_array_size(recs);
    struct commission_batch_result res = {.errors = json_array()};
    err e = db_begin(q->d);
    if (!e)
        e = commission_batch(q->d, q->a, q->who, k->kind, recs, &res);
    size_t rejected = json_array_size(res.errors);
    if ((e = offload_commit(q, e, k->action, "commission", 0,
                            arena_printf(q->a,
                                         "records=%zu created=%lld updated=%lld repeated=%lld "
                                         "linked=%lld rejected=%zu",
                                         n, (long long)res.created, (long long)res.updated,
                                         (long long)res.repeated, (long long)res.linked,
                                         rejected)))) {
        json_decref(res.errors);
        return e;
    }
    *status_r = 200;
    *reply_r = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "received", (json_int_t)n, "created",
                         (json_int_t)res.created, "updated", (json_int_t)res.updated, "repeated",
                         (json_int_t)res.repeated, "linked", (json_int_t)res.linked, "rejected",
                         (json_int_t)rejected, "errors", json_batch_errors_sorted(res.errors));
    return *reply_r ? E_OK : err_set(E_NOMEM, NULL, NULL, NULL);
}

/* On the loop: the batch's size (refused and audited here), then the rest
 * on the offload worker. */
static err post_batch(struct req *r, const struct batch_kind *k)
{
    size_t n = json_array_size(json_object_get(r->body, "records"));
    if (n == 0 || n > COMMISSION_BATCH_MAX) {
        err e = err_set(E_INPUT, "invalid_batch", "records", "每批记录应为1到%d条",
                        COMMISSION_BATCH_MAX);
        return audit_refusal(r->db, r->who, r->ip, k->action, "commission", 0, e, NULL);
    }
    return job_offload(r, run_batch, k);
}

static err post_doctors(struct req *r)
{
    static const struct batch_kind k = {COMMISSION_DOCTOR, "commission.doctor.batch"};
    return post_batch(r, &k);
}

static err post_investigations(struct req *r)
{
    static const struct batch_kind k = {COMMISSION_INVESTIGATION, "commission.investigation.batch"};
    return post_batch(r, &k);
}

static err post_relink(struct req *r)
{
    int64_t linked = 0;
    db_hold(r->db);
    err e = db_begin(r->db);
    if (!e && (e = commission_relink(r->db, &r->who->scope, &linked)))
        db_rollback(r->db);
    else if (!e)
        e = db_commit(r->db);
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "commission.investigation.relink", "commission", 0, "ok",
              arena_printf(r->a, "linked=%lld", (long long)linked));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_json(r, 200, json_pack("{s:I}", "linked", (json_int_t)linked));
}

/* ---- lists --------------------------------------------------------------------------------- */

static err filter_of(struct req *r, struct commission_filter *f)
{
    *f = (struct commission_filter){.linked = -1};
    err e = req_paging(r, &f->page, &f->page_size);
    if (e)
        return e;
    const char *s = req_query(r, "region_code");
    enum region_level lv;
    if (s && ((f->region_code = regcode_parse(s, &lv)) <= 0 ||
              !scope_has(&r->who->scope, f->region_code)))
        return err_set(E_INPUT, "invalid_region", "region_code",
                       "所属区划不存在或不在您的管辖范围内");
    if ((s = req_query(r, "person_id")) && (f->person_id = id_parse(s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "person_id", "人员编号不正确");
    if ((s = req_query(r, "linked"))) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return err_set(E_INPUT, "invalid_parameter", "linked", "参数 linked 应为 0 或 1");
        f->linked = s[0] - '0';
    }
    int c;
    if ((s = req_query(r, "classification")) && (c = vocab_parse(&commission_class_vocab, s)) <= 0)
        return err_set(E_INPUT, "invalid_parameter", "classification", "人员分类的取值不正确");
    if (s)
        f->classification = (enum commission_class)vocab_parse(&commission_class_vocab, s);
    return E_OK;
}

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static err get_doctors(struct req *r)
{
    struct commission_filter f;
    bool reveal = false;
    err e = filter_of(r, &f);
    if (!e)
        e = req_reveal(r, &reveal);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "commission.doctor.list", "commission", 0, e,
                             NULL);
    struct commission_doctor *v;
    size_t n;
    int64_t total;
    if ((e = commission_doctor_list(r->db, r->a, &r->who->scope, &f, &v, &n, &total)))
        return e;
    req_audit(r, reveal ? "person.reveal" : "commission.doctor.list", "commission", 0, "ok",
              arena_printf(r->a, "doctors=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct commission_doctor *x = &v[i];
        char code[19];
        regcode_format(x->region_code, code);
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:I}", "record_id", x->record_id,
                      "name", reveal ? x->name : mask_name(r->a, x->name), "id_number",
                      reveal ? x->id_number : mask_id_number(r->a, x->id_number), "phone",
                      text_or_null(x->phone && reveal ? x->phone : mask_phone(r->a, x->phone)),
                      "region_code", json_string(code), "region_name", x->region_name,
                      "institution", x->institution, "department", x->department, "title", x->title,
                      "licence_no", x->licence_no, "updated_at", (json_int_t)x->updated_at);
        json_set_id(o, "id", x->id);
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, f.page, f.page_size);
}

/* "YYYY-MM-DD" of China day `day`, null for 0. */
static json_t *day_json(int64_t day)
{
    if (!day)
        return json_null();
    char t[CHINA_TIME_LEN];
    china_time(china_day_start(day * 86400000LL), t);
    t[10] = '\0';
    return json_string(t);
}

static err get_investigations(struct req *r)
{
    struct commission_filter f;
    bool reveal = false;
    err e = filter_of(r, &f);
    if (!e)
        e = req_reveal(r, &reveal);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "commission.investigation.list", "commission", 0,
                             e, NULL);
    struct commission_investigation *v;
    size_t n;
    int64_t total;
    if ((e = commission_investigation_list(r->db, r->a, &r->who->scope, &f, &v, &n, &total)))
        return e;
    /* one entry for the page; a person's own list names the person */
    req_audit(r, reveal ? "person.reveal" : "commission.investigation.list",
              f.person_id ? "person" : "commission", f.person_id, "ok",
              arena_printf(r->a, "investigations=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct commission_investigation *x = &v[i];
        char code[19];
        regcode_format(x->region_code, code);
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:I,s:s,s:s,s:b,s:I}", "record_id", x->record_id,
            "name", reveal ? x->name : mask_name(r->a, x->name), "id_number",
            reveal ? x->id_number : mask_id_number(r->a, x->id_number), "region_code", code,
            "region_name", x->region_name, "investigated_at", (json_int_t)x->investigated_at,
            "investigator", x->investigator, "institution", x->institution, "onset_day",
            day_json(x->onset_day), "close_contacts", (json_int_t)x->close_contacts,
            "classification", vocab_name(&commission_class_vocab, (size_t)x->classification),
            "classification_label", vocab_label(&commission_class_vocab, (size_t)x->classification),
            "linked", x->person_id != 0, "updated_at", (json_int_t)x->updated_at);
        json_set_id_or_null(o, "person_id", x->person_id);
        json_set_id(o, "id", x->id);
        /* the sensitive texts only when revealed */
        json_object_set_new(o, "exposure", reveal ? text_or_null(x->exposure) : json_null());
        json_object_set_new(o, "places", reveal ? text_or_null(x->places) : json_null());
        json_object_set_new(o, "notes", reveal ? text_or_null(x->notes) : json_null());
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, f.page, f.page_size);
}

const struct route commission_routes[] = {
    {M_POST, "/api/v1/commission/doctors/batch", post_doctors, PERM_COMMISSION_INGEST, 0,
     batch_fields, "卫健医生信息接入（每批至多10000条，按记录编号幂等，逐条报错）", "commission",
     BATCH_MAX_BODY},
    {M_POST, "/api/v1/commission/investigations/batch", post_investigations, PERM_COMMISSION_INGEST,
     0, batch_fields,
     "卫健流调信息接入（每批至多10000条，按记录编号幂等，逐条报错，按证件号码关联人员）",
     "commission", BATCH_MAX_BODY},
    {M_POST, "/api/v1/commission/investigations/relink", post_relink, PERM_COMMISSION_INGEST, 0,
     NULL, "将未关联的流调记录关联到已登记的人员", "commission", 0},
    {M_GET, "/api/v1/commission/doctors", get_doctors, PERM_COMMISSION_READ, 0, NULL,
     "医生信息列表（region_code 筛选，分页，reveal=1 显示完整信息）", "commission", 0},
    {M_GET, "/api/v1/commission/investigations", get_investigations, PERM_COMMISSION_READ, 0, NULL,
     "流调信息列表（region_code、person_id、linked、classification 筛选，分页，reveal=1 "
     "显示完整信息）",
     "commission", 0},
};
const size_t commission_routes_n = sizeof commission_routes / sizeof commission_routes[0];

/*
 * HTTP handlers of enterprises resuming work (enterprise.h; docs/enterprise.md):
 *
 *   POST  /api/v1/enterprise-accounts              bind an enterprise account (enterprise.write)
 *   GET   /api/v1/employees?enterprise_id=…        an enterprise's employees, masked
 *   POST  /api/v1/employees                        add one (found or created in the registry)
 *   GET   /api/v1/employees/{id}                   one, masked
 *   PATCH /api/v1/employees/{id}                   department, post, shift
 *   DELETE /api/v1/employees/{id}                  the employee leaves
 *   GET   /api/v1/employees/template.xlsx          the import template
 *   POST  /api/v1/employees/import?enterprise_id=  an upload (xlsx; format=csv): 202 {job_id, rows}
 *   GET   /api/v1/resume-applications              applications in reach, newest first
 *   POST  /api/v1/resume-applications              submit (plan, staff, date, materials)
 *   GET   /api/v1/resume-applications/{id}         one, with its materials
 *   POST  /api/v1/resume-applications/{id}/review  approve or return with reasons
 *   GET   /api/v1/resume-enterprises               enterprises in scope with their status
 *   GET   /api/v1/me/employment                    the resident's own employer, today's clock-in
 *   GET   /api/v1/return-declarations[?flagged=&format=]  declarations in reach (CSV/xlsx too)
 *   GET   /api/v1/return-declarations/{id}         one declaration, masked
 *   GET   /api/v1/staff-clockins?date=…            the enterprise's clock-ins of a day
 *   GET/POST /api/v1/enterprise-shifts, DELETE …/{id}  shifts (排班)
 *   GET/POST /api/v1/enterprise-rosters             who is on which shift on a date
 *   GET   /api/v1/me/staff-pass[/qr.svg]            the employee's pass (signed token) now
 *   POST  /api/v1/staff-passes/verify               the gate's check of a pass
 *
 * An enterprise account is held to its own enterprise (ent_reach): asking
 * for another's is answered 404 like an unknown record and audited as a
 * refusal. Reads of employees carry personal data (masked) and are
 * audited; writes are audited with field names only.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/qr.h"
#include "base/json.h"
#include "base/time.h"
#include "base/validate.h"
#include "db/fields.h"
#include "enterprise/enterprise.h"
#include "http/export.h"
#include "http/write.h"
#include "job/import.h"
#include "security/audit.h"
#include "security/mask.h"
#include "security/token.h"

/* The enterprise the request names (?enterprise_id= or the body's), as
 * ent_reach allows it; a refusal is audited under `action`. */
static err reach(struct req *r, int64_t enterprise_id, const char *action, struct enterprise *ent)
{
    err e = ent_reach(r->db, r->a, r->who, enterprise_id, ent);
    if (e == E_NOT_FOUND)
        return audit_refusal(r->db, r->who, r->ip, action, "enterprise", enterprise_id, e, NULL);
    return e;
}

static err query_enterprise(struct req *r, int64_t *id_r)
{
    *id_r = 0;
    const char *v = req_query(r, "enterprise_id");
    if (v && *v && !(*id_r = id_parse(v)))
        return err_set(E_INPUT, "invalid_parameter", "enterprise_id", "企业编号格式不正确");
    return E_OK;
}

static err body_enterprise(struct req *r, int64_t *id_r)
{
    *id_r = 0;
    const char *v = json_str(r->body, "enterprise_id");
    if (v && !(*id_r = id_parse(v)))
        return err_set(E_INPUT, "invalid_value", "enterprise_id", "企业编号格式不正确");
    return E_OK;
}

/* ---- accounts -------------------------------------------------------------------------------- */

static const struct jfield account_body[] = {
    {"user_id", J_STRING, JF_REQUIRED, 1, 20, "账号", NULL, NULL},
    {"enterprise_id", J_STRING, JF_REQUIRED, 1, 20, "企业", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_account(struct req *r)
{
    int64_t user_id = id_parse(json_str(r->body, "user_id"));
    int64_t ent_id = id_parse(json_str(r->body, "enterprise_id"));
    err e = E_OK;
    if (!user_id)
        e = err_set(E_INPUT, "invalid_user", "user_id", "账号不存在或不是企事业单位账号");
    else if (!ent_id)
        e = err_set(E_INPUT, "invalid_value", "enterprise_id", "企业编号格式不正确");
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, ent_account_bind(r->db, r->a, &r->who->scope, r->who->user_id, user_id, ent_id));
    if ((e = req_write_done(r, e, "enterprise.account", "enterprise", ent_id,
                            arena_printf(r->a, "user=%lld", (long long)user_id))))
        return e;
    json_t *o = json_object();
    json_set_id(o, "user_id", user_id);
    json_set_id(o, "enterprise_id", ent_id);
    return reply_json(r, 200, o);
}

/* ---- employees ------------------------------------------------------------------------------- */

static json_t *employee_json(struct req *r, const struct employee *x)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_set_id(o, "enterprise_id", x->enterprise_id);
    json_set_id(o, "person_id", x->person_id);
    json_object_set_new(o, "name", json_string(x->name ? mask_name(r->a, x->name) : ""));
    json_object_set_new(o, "phone",
                        x->phone ? json_string(mask_phone(r->a, x->phone)) : json_null());
    json_object_set_new(o, "id_number",
                        json_string(x->id_number ? mask_id_number(r->a, x->id_number) : ""));
    json_object_set_new(o, "department", json_string(x->department));
    json_object_set_new(o, "post", json_string(x->post));
    json_object_set_new(o, "shift", json_string(x->shift));
    json_object_set_new(o, "code_colour", json_string(x->code_colour));
    json_object_set_new(o, "created_at", json_integer(x->created_at));
    json_object_set_new(o, "updated_at", json_integer(x->updated_at));
    return o;
}

static err get_employees(struct req *r)
{
    int64_t ent_id;
    struct employee_filter f = {0};
    err e;
    if ((e = query_enterprise(r, &ent_id)) || (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    f.department = req_query(r, "department");
    if (f.department && utf8_len(f.department) > EMPLOYEE_TEXT_MAX)
        return err_set(E_INPUT, "invalid_parameter", "department", "部门不能超过%d个字符",
                       EMPLOYEE_TEXT_MAX);
    struct enterprise ent;
    if ((e = reach(r, ent_id, "employee.list", &ent)))
        return e;
    struct employee *items;
    size_t n;
    int64_t total;
    if ((e = employee_list(r->db, r->a, ent.id, &f, &items, &n, &total)))
        return e;
    req_audit(r, "employee.list", "enterprise", ent.id, "ok", arena_printf(r->a, "rows=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, employee_json(r, &items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static const struct jfield employee_body[] = {
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"id_number", J_STRING, JF_REQUIRED, 1, 30, "身份证号码", NULL, NULL},
    {"name", J_STRING, JF_REQUIRED, 1, 50, "姓名", NULL, NULL},
    {"phone", J_STRING, JF_NULLABLE, 0, 20, "手机号码", NULL, NULL},
    {"department", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "部门", NULL, NULL},
    {"post", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "岗位", NULL, NULL},
    {"shift", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "班次", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_employee(struct req *r)
{
    struct employee_input in = {
        .id_number = json_str(r->body, "id_number"),
        .name = field_trim(r->a, json_str(r->body, "name")),
        .phone = json_str(r->body, "phone"),
        .department = json_str(r->body, "department"),
        .post = json_str(r->body, "post"),
        .shift = json_str(r->body, "shift"),
    };
    int64_t ent_id, id = 0;
    struct enterprise ent;
    err e;
    if ((e = body_enterprise(r, &ent_id)) || (e = employee_input_check(&in, true)))
        return e;
    if ((e = reach(r, ent_id, "employee.create", &ent)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, employee_add(r->db, r->a, r->who, &ent, &in, &id));
    if ((e = req_write_done(r, e, "employee.create", "employee", id, req_body_fields(r))))
        return e;
    struct employee x;
    if ((e = employee_find(r->db, r->a, ent.id, id, &x)))
        return e;
    return reply_json(r, 201, employee_json(r, &x));
}

/* ---- the employee import ---------------------------------------------------------------- */

#define UPLOAD_MAX (10u * 1024 * 1024)

static err get_import_template(struct req *r)
{
    int fd;
    int64_t size;
    err e = employee_import_template(&fd, &size);
    if (e)
        return e;
    r->disposition = "attachment; filename=\"employees-template.xlsx\"";
    return reply_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
}

/* The upload for the enterprise ent_reach gives (?enterprise_id= for
 * staff): the file checked whole here, its rows in the job (import.c). */
static err post_import(struct req *r)
{
    static const struct import_accept acc = {"employee.import", "employee.import_upload",
                                             "employee.import", "enterprise", 0};
    bool csv = false;
    size_t n;
    const char *body = req_raw_body(r, &n);
    long rows = 0;
    int64_t ent_id, job;
    struct enterprise ent;
    err e = query_enterprise(r, &ent_id);
    if (!e && (e = reach(r, ent_id, "employee.import", &ent)))
        return e;
    if (!e)
        e = import_format(r, false, &csv);
    if (!e && !n)
        e = err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    if (!e)
        e = employee_import_check(body, n, csv, &rows);
    struct import_accept a = acc;
    a.object_id = e ? ent_id : ent.id;
    if ((e = import_accept(r, e, &a, n, rows, csv ? " csv" : "", &job)) ||
        (e = employee_import_submit(r->db, job, r->who, ent.id, body, n, csv, rows)))
        return e;
    return import_accepted(r, job, rows, NULL);
}

/* Employee id in an enterprise the caller reaches; a refusal is audited
 * under `action`, answered like an unknown employee. */
static err employee_reach(struct req *r, int64_t id, const char *action, struct enterprise *ent)
{
    int64_t ent_id = 0;
    err e = employee_enterprise(r->db, id, &ent_id);
    if (!e && (e = ent_reach(r->db, r->a, r->who, ent_id, ent)) == E_NOT_FOUND)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "员工不存在");
    if (e == E_NOT_FOUND)
        return audit_refusal(r->db, r->who, r->ip, action, "employee", id, e, NULL);
    return e;
}

/* The employee of path parameter 0 (employee_reach). */
static err employee_path(struct req *r, const char *action, struct enterprise *ent, int64_t *id_r)
{
    err e = req_param_id(r, 0, id_r);
    return e ? e : employee_reach(r, *id_r, action, ent);
}

static err get_employee(struct req *r)
{
    struct enterprise ent;
    int64_t id;
    struct employee x;
    err e = employee_path(r, "employee.read", &ent, &id);
    if (e || (e = employee_find(r->db, r->a, ent.id, id, &x)))
        return e;
    req_audit(r, "employee.read", "employee", id, "ok", NULL);
    return reply_json(r, 200, employee_json(r, &x));
}

static const struct jfield employee_patch[] = {
    {"department", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "部门", NULL, NULL},
    {"post", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "岗位", NULL, NULL},
    {"shift", J_STRING, 0, 0, EMPLOYEE_TEXT_MAX, "班次", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err patch_employee(struct req *r)
{
    struct employee_input in = {
        .department = json_str(r->body, "department"),
        .post = json_str(r->body, "post"),
        .shift = json_str(r->body, "shift"),
    };
    err e;
    if (!in.department && !in.post && !in.shift)
        return err_set(E_INPUT, "empty_update", NULL, "没有要修改的内容");
    if ((e = employee_input_check(&in, false)))
        return e;
    struct enterprise ent;
    int64_t id;
    if ((e = employee_path(r, "employee.update", &ent, &id)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, employee_update(r->db, ent.id, id, &in));
    if ((e = req_write_done(r, e, "employee.update", "employee", id, req_body_fields(r))))
        return e;
    struct employee x;
    if ((e = employee_find(r->db, r->a, ent.id, id, &x)))
        return e;
    return reply_json(r, 200, employee_json(r, &x));
}

static err delete_employee(struct req *r)
{
    struct enterprise ent;
    int64_t id;
    err e = employee_path(r, "employee.delete", &ent, &id);
    if (e)
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, employee_remove(r->db, ent.id, id));
    if ((e = req_write_done(r, e, "employee.delete", "employee", id, NULL)))
        return e;
    return reply_empty(r);
}

/* ---- resume-work applications ---------------------------------------------------------------- */

static json_t *status_json(enum resume_status st)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(vocab_name(&resume_status_vocab, st)));
    json_object_set_new(o, "status_label", json_string(vocab_label(&resume_status_vocab, st)));
    return o;
}

static void set_date(json_t *o, const char *key, int32_t ymd)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", ymd / 10000, ymd / 100 % 100, ymd % 100);
    json_object_set_new(o, key, json_string(buf));
}

static json_t *app_json(const struct application *x)
{
    json_t *o = status_json(x->status);
    json_set_id(o, "id", x->id);
    json_set_id(o, "enterprise_id", x->enterprise_id);
    json_object_set_new(o, "enterprise_name", json_string(x->enterprise_name));
    json_object_set_new(o, "region_name", json_string(x->region_name));
    json_object_set_new(o, "industry", json_string(x->industry ? x->industry : ""));
    json_object_set_new(o, "plan", json_string(x->plan));
    json_object_set_new(o, "staff_count", json_integer(x->staff_count));
    set_date(o, "resume_date", x->resume_date);
    json_object_set_new(o, "reasons", json_string(x->reasons));
    json_object_set_new(o, "submitted_at", json_integer(x->submitted_at));
    json_object_set_new(o, "reviewed_at", json_integer(x->reviewed_at));
    return o;
}

/* The scope of applications a caller lists: a bound account its own
 * enterprise's (every region), staff their scope. */
static err app_reach(struct req *r, int64_t *own_r, struct scope *sc)
{
    err e = ent_account_of(r->db, r->who->user_id, own_r);
    if (e)
        return e;
    *sc = *own_r ? scope_all() : r->who->scope;
    return E_OK;
}

static err get_apps(struct req *r)
{
    struct app_filter f = {0};
    err e;
    if ((e = query_enterprise(r, &f.enterprise_id)) || (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    const char *st = req_query(r, "status");
    if (st && *st) {
        int k = vocab_parse(&resume_status_vocab, st);
        if (k <= 0)
            return err_set(E_INPUT, "invalid_parameter", "status", "复工状态不正确");
        f.status = (enum resume_status)k;
    }
    int64_t own;
    struct scope sc;
    if ((e = app_reach(r, &own, &sc)))
        return e;
    if (own) {
        if (f.enterprise_id && f.enterprise_id != own)
            return audit_refusal(r->db, r->who, r->ip, "resume.list", "enterprise", f.enterprise_id,
                                 err_set(E_NOT_FOUND, "not_found", "enterprise_id", "企业不存在"),
                                 NULL);
        f.enterprise_id = own;
    }
    struct application *items;
    size_t n;
    int64_t total;
    if ((e = app_list(r->db, r->a, &sc, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, app_json(&items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static const struct jfield app_body[] = {
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"plan", J_STRING, JF_REQUIRED, 1, RESUME_PLAN_MAX, "疫情防控方案", NULL, NULL},
    {"staff_count", J_INT, JF_REQUIRED, 0, RESUME_STAFF_MAX, "复工人数", NULL, NULL},
    {"resume_date", J_STRING, JF_REQUIRED, 10, 10, "复工日期", NULL, NULL},
    {"attachments", J_ARRAY, 0, 0, 0, "申请材料", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_app(struct req *r)
{
    int64_t ms, ent_id, id = 0;
    if (!china_time_parse(json_str(r->body, "resume_date"), &ms))
        return err_set(E_INPUT, "invalid_date", "resume_date", "请填写复工日期（年-月-日）");
    err e;
    if ((e = body_enterprise(r, &ent_id)))
        return e;
    struct enterprise ent;
    if ((e = reach(r, ent_id, "resume.submit", &ent)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db))) {
        e = app_submit(r->db, r->who->user_id, &ent, json_str(r->body, "plan"),
                       json_integer_value(json_object_get(r->body, "staff_count")), china_date(ms),
                       &id);
        if (!e)
            e = attach_claim_all(r->db, r->who, json_object_get(r->body, "attachments"),
                                 "enterprise_application", id, ent.region_code);
        e = req_tx_end(r, e);
    }
    if ((e = req_write_done(r, e, "resume.submit", "enterprise_application", id,
                            req_body_fields(r))))
        return e;
    struct application x;
    struct scope all = scope_all();
    if ((e = app_find(r->db, r->a, &all, id, &x)))
        return e;
    return reply_json(r, 201, app_json(&x));
}

static err get_app(struct req *r)
{
    int64_t id, own;
    struct scope sc;
    err e;
    if ((e = req_param_id(r, 0, &id)) || (e = app_reach(r, &own, &sc)))
        return e;
    struct application x;
    e = app_find(r->db, r->a, &sc, id, &x);
    if (!e && own && x.enterprise_id != own)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "复工申请不存在");
    if (e)
        return e == E_NOT_FOUND ? audit_refusal(r->db, r->who, r->ip, "resume.read",
                                                "enterprise_application", id, e, NULL)
                                : e;
    json_t *att;
    if ((e = attach_list(r->db, "enterprise_application", id, &att)))
        return e;
    json_t *o = app_json(&x);
    json_object_set_new(o, "attachments", att);
    return reply_json(r, 200, o);
}

static const char *const decisions[] = {"approve", "return", NULL};
static const struct jfield review_body[] = {
    {"decision", J_STRING, JF_REQUIRED, 0, 0, "审核结论", decisions, NULL},
    {"reasons", J_STRING, 0, 0, RESUME_REASONS_MAX, "退回理由", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_review(struct req *r)
{
    int64_t id, ent_id = 0;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    bool approve = !strcmp(json_str(r->body, "decision"), "approve");
    const char *reasons = field_trim(r->a, json_str(r->body, "reasons"));
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(
            r, app_review(r->db, &r->who->scope, r->who->user_id, id, approve, reasons, &ent_id));
    if ((e = req_write_done(r, e, approve ? "resume.approve" : "resume.return",
                            "enterprise_application", id, NULL)))
        return e;
    struct application x;
    if ((e = app_find(r->db, r->a, &r->who->scope, id, &x)))
        return e;
    return reply_json(r, 200, app_json(&x));
}

/* ---- returning-staff declarations ------------------------------------------------------------ */

static json_t *decl_json(struct req *r, const struct declaration *x)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_set_id(o, "enterprise_id", x->enterprise_id);
    json_set_id(o, "employee_id", x->employee_id);
    json_object_set_new(o, "enterprise_name",
                        json_string(x->enterprise_name ? x->enterprise_name : ""));
    json_object_set_new(o, "name", json_string(x->name ? mask_name(r->a, x->name) : ""));
    json_object_set_new(o, "id_number",
                        json_string(x->id_number ? mask_id_number(r->a, x->id_number) : ""));
    /* a resident id's 17th digit: odd for men (GB 11643) */
    const char *g = "";
    if (x->id_number && strlen(x->id_number) == 18 && x->id_number[16] >= '0' &&
        x->id_number[16] <= '9')
        g = (x->id_number[16] - '0') % 2 ? "男" : "女";
    json_object_set_new(o, "gender_label", json_string(g));
    json_object_set_new(o, "phone", json_string(x->phone ? mask_phone(r->a, x->phone) : ""));
    json_t *travel = x->travel ? json_loads(x->travel, 0, NULL) : NULL;
    json_object_set_new(o, "travel", travel ? travel : json_array());
    json_object_set_new(o, "native_place", json_string(x->native_place ? x->native_place : ""));
    set_date(o, "return_date", x->return_date);
    json_object_set_new(o, "transport_kind", json_string(x->transport_kind));
    int k = vocab_parse(&decl_transport_vocab, x->transport_kind);
    json_object_set_new(o, "transport_label",
                        json_string(k >= 0 ? vocab_label(&decl_transport_vocab, (size_t)k) : ""));
    json_object_set_new(o, "transport_no", json_string(x->transport_no ? x->transport_no : ""));
    json_object_set_new(o, "school", json_string(x->school ? x->school : ""));
    json_object_set_new(o, "grade", json_string(x->grade ? x->grade : ""));
    json_object_set_new(o, "class", json_string(x->class_name ? x->class_name : ""));
    json_object_set_new(o, "code_colour", json_string(x->code_colour));
    json_object_set_new(o, "flagged", json_boolean(x->flag_reasons && *x->flag_reasons));
    json_t *why = json_array();
    if (x->flag_reasons && strstr(x->flag_reasons, "risk_area"))
        json_array_append_new(why, json_string("途经中高风险地区"));
    if (x->flag_reasons && strstr(x->flag_reasons, "code_colour"))
        json_array_append_new(why, json_string("健康码非绿码"));
    json_object_set_new(o, "flag_labels", why);
    json_object_set_new(o, "created_at", json_integer(x->created_at));
    return o;
}

static const struct jfield decl_body[] = {
    {"employee_id", J_STRING, 0, 1, 20, "员工", NULL, NULL},
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"phone", J_STRING, JF_REQUIRED, 1, 20, "手机号码", NULL, NULL},
    {"sms_code", J_STRING, JF_REQUIRED, 1, 10, "短信验证码", NULL, NULL},
    {"travel", J_ARRAY, 0, 0, 0, "旅居史", NULL, NULL},
    {"native_place", J_STRING, 0, 0, DECL_TEXT_MAX, "籍贯", NULL, NULL},
    {"return_date", J_STRING, JF_REQUIRED, 1, 10, "计划返岗日期", NULL, NULL},
    {"transport_kind", J_STRING, JF_REQUIRED, 0, 0, "交通方式", NULL, &decl_transport_vocab},
    {"transport_no", J_STRING, 0, 0, DECL_TRANSPORT_NO, "车次/航班/车牌号", NULL, NULL},
    {"school", J_STRING, 0, 0, DECL_TEXT_MAX, "学校", NULL, NULL},
    {"grade", J_STRING, 0, 0, DECL_TEXT_MAX, "年级", NULL, NULL},
    {"class", J_STRING, 0, 0, DECL_TEXT_MAX, "班级", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Whose declaration: an employee the enterprise names (employee.write), or
 * the signed-in resident's own employment. */
static err decl_employee(struct req *r, struct enterprise *ent, struct employee *emp)
{
    const char *eid = json_str(r->body, "employee_id");
    err e;
    if (eid) {
        if (!principal_can(r->who, PERM_EMPLOYEE_WRITE))
            return err_set(E_FORBIDDEN, "forbidden", "employee_id", "无权代员工申报");
        int64_t id = id_parse(eid);
        if (!id)
            return err_set(E_INPUT, "invalid_value", "employee_id", "员工编号格式不正确");
        if ((e = employee_reach(r, id, "declaration.create", ent)))
            return e;
        return employee_find(r->db, r->a, ent->id, id, emp);
    }
    if (!r->who->resident || !r->who->person_id)
        return err_set(E_INPUT, "required", "employee_id", "请选择员工");
    int64_t ent_id;
    if ((e = body_enterprise(r, &ent_id)))
        return e;
    e = employee_of_person(r->db, r->a, r->who->person_id, ent_id, emp);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_employee", NULL, "您不是登记在册的企业员工，请联系单位");
    struct scope all = scope_all();
    return e ? e : enterprise_find(r->db, r->a, &all, emp->enterprise_id, ent);
}

static err post_decl(struct req *r)
{
    struct declaration x;
    err e;
    if ((e = decl_parse(r->a, r->body, &x)))
        return e;
    x.phone = json_str(r->body, "phone");
    if ((e = check_phone(x.phone, "phone")))
        return e;
    struct enterprise ent;
    struct employee emp;
    if ((e = decl_employee(r, &ent, &emp)))
        return e;
    /* the phone is proven before anything is written; a wrong code spends a
     * try whatever happens next */
    if ((e = auth_sms_verify(r->db, x.phone, json_str(r->body, "sms_code"), "sms_code")))
        return e;
    int64_t id = 0;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, decl_create(r->db, r->a, r->who->user_id, &ent, &emp, &x, &id));
    if ((e = req_write_done(r, e, "declaration.create", "enterprise_declaration", id,
                            req_body_fields(r))))
        return e;
    x.name = emp.name;
    x.id_number = emp.id_number;
    x.enterprise_id = ent.id;
    x.employee_id = emp.id;
    x.created_at = now_ms();
    return reply_json(r, 201, decl_json(r, &x));
}

/* Where the declarations of a request may come from: a bound account's
 * own enterprise (another's named is a refusal, audited), or the
 * enterprises of the caller's scope. */
static err decl_reach(struct req *r, struct decl_filter *f, struct scope *sc, const char *action)
{
    int64_t own;
    err e = app_reach(r, &own, sc);
    if (e || !own)
        return e;
    if (f->enterprise_id && f->enterprise_id != own)
        return audit_refusal(r->db, r->who, r->ip, action, "enterprise", f->enterprise_id,
                             err_set(E_NOT_FOUND, "not_found", "enterprise_id", "企业不存在"),
                             NULL);
    f->enterprise_id = own;
    return E_OK;
}

/* The travel history as one cell: "place from~to; …". */
static const char *travel_text(struct req *r, const char *travel)
{
    json_t *t = travel ? json_loads(travel, 0, NULL) : NULL;
    const char *out = "";
    for (size_t i = 0; i < json_array_size(t); i++) {
        json_t *x = json_array_get(t, i);
        out = arena_printf(r->a, "%s%s%s %s~%s", out, i ? "；" : "", json_str(x, "place"),
                           json_str(x, "from"), json_str(x, "to"));
    }
    json_decref(t);
    return out;
}

static const char *const decl_head[] = {"企业",           "姓名",   "身份证号码",   "性别",
                                        "手机号码",       "籍贯",   "计划返岗日期", "交通方式",
                                        "车次/航班/车牌", "途经地", "申报时健康码", "异常标记",
                                        "申报时间"};
#define DECL_COLS (sizeof decl_head / sizeof decl_head[0])

/* The declarations as CSV or xlsx, masked as on the page. */
static err export_decls(struct req *r, enum export_format fmt, const struct declaration *items,
                        size_t n)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "返岗申报", decl_head, DECL_COLS);
    if (e)
        return e;
    for (size_t i = 0; i < n && !(e = export_room(&x)); i++) {
        json_t *o = decl_json(r, &items[i]);
        const char *labels = "";
        json_t *why = json_object_get(o, "flag_labels");
        for (size_t k = 0; k < json_array_size(why); k++)
            labels = arena_printf(r->a, "%s%s%s", labels, k ? "、" : "",
                                  json_string_value(json_array_get(why, k)));
        export_text(&x, items[i].enterprise_name);
        export_text(&x, json_str(o, "name"));
        export_text(&x, json_str(o, "id_number"));
        export_text(&x, json_str(o, "gender_label"));
        export_text(&x, json_str(o, "phone"));
        export_text(&x, json_str(o, "native_place"));
        export_text(&x, json_str(o, "return_date"));
        export_text(&x, json_str(o, "transport_label"));
        export_text(&x, json_str(o, "transport_no"));
        export_text(&x, travel_text(r, items[i].travel));
        export_text(&x, items[i].code_colour);
        export_text(&x, labels);
        export_time(&x, items[i].created_at);
        export_row_end(&x);
        json_decref(o);
    }
    return export_send(&x, e, "return-declarations");
}

/* The list, filtered flagged=1 (flagged only) or 0 (not flagged); with
 * format=csv|xlsx the whole filtered list as a file. */
static err get_decls(struct req *r)
{
    struct decl_filter f = {0};
    enum export_format fmt;
    err e;
    if ((e = query_enterprise(r, &f.enterprise_id)) || (e = req_paging(r, &f.page, &f.page_size)) ||
        (e = req_export_format(r, &fmt)))
        return e;
    const char *fl = req_query(r, "flagged");
    if (fl && *fl && strcmp(fl, "0") && strcmp(fl, "1"))
        return err_set(E_INPUT, "invalid_parameter", "flagged", "flagged 只能为 0 或 1");
    f.flagged = !fl || !*fl ? DECL_ANY : *fl == '1' ? DECL_FLAGGED : DECL_UNFLAGGED;
    if (fmt != EXPORT_NONE)
        f.page = 1,
        f.page_size = export_sync_max() < EMPLOYEE_LIST_MAX ? export_sync_max() : EMPLOYEE_LIST_MAX;
    struct scope sc;
    if ((e = decl_reach(r, &f, &sc, "declaration.list")))
        return e;
    struct declaration *items;
    size_t n;
    int64_t total;
    if ((e = decl_list(r->db, r->a, &sc, &f, &items, &n, &total)))
        return e;
    /* a file holds the whole filtered list, or is refused (导出任务) */
    if (fmt != EXPORT_NONE && total > f.page_size)
        return export_too_large();
    req_audit(r, fmt != EXPORT_NONE ? "declaration.export" : "declaration.list", "enterprise",
              f.enterprise_id, "ok", arena_printf(r->a, "rows=%zu", n));
    if (fmt != EXPORT_NONE)
        return export_decls(r, fmt, items, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, decl_json(r, &items[i]));
    return reply_page(r, arr, total, f.page, f.page_size);
}

/* One declaration in reach; another enterprise's (for a bound account) or
 * one outside the scope is 404, audited as a refusal. */
static err get_decl(struct req *r)
{
    struct decl_filter f = {.page = 1, .page_size = 1};
    struct scope sc;
    err e = req_param_id(r, 0, &f.id);
    if (!e)
        e = decl_reach(r, &f, &sc, "declaration.read");
    struct declaration *items;
    size_t n = 0;
    int64_t total;
    if (!e && (e = decl_list(r->db, r->a, &sc, &f, &items, &n, &total)))
        return e;
    if (!e && !n)
        return audit_refusal(r->db, r->who, r->ip, "declaration.read", "enterprise_declaration",
                             f.id, err_set(E_NOT_FOUND, "not_found", NULL, "申报记录不存在"), NULL);
    if (e)
        return e;
    req_audit(r, "declaration.read", "enterprise_declaration", f.id, "ok", NULL);
    return reply_json(r, 200, decl_json(r, &items[0]));
}

/* ---- staff health clock-in ---------------------------------------------------------------------
 */

static const struct jfield clockin_body[] = {
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"temperature", J_NUMBER, JF_REQUIRED, 0, 0, "体温", NULL, NULL},
    {"symptoms", J_ARRAY, 0, 0, 0, "症状", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The symptoms array as comma-separated vocabulary names. */
static err symptoms_of(struct req *r, const char **out_r)
{
    json_t *arr = json_object_get(r->body, "symptoms");
    *out_r = "";
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *name = json_string_value(v);
        if (vocab_parse(&clockin_symptom_vocab, name) < 0)
            return err_set(E_INPUT, "invalid_value", arena_printf(r->a, "symptoms[%zu]", i),
                           "症状不正确");
        if (strstr(*out_r, name)) /* each once */
            continue;
        *out_r = **out_r ? arena_printf(r->a, "%s,%s", *out_r, name) : name;
    }
    return E_OK;
}

static json_t *symptom_labels(const char *list)
{
    json_t *arr = json_array();
    for (size_t k = 0; list && *list && k < CLOCKIN_SYMPTOMS; k++) {
        const char *name = vocab_name(&clockin_symptom_vocab, k);
        if (name && *name && strstr(list, name))
            json_array_append_new(arr, json_string(vocab_label(&clockin_symptom_vocab, k)));
    }
    return arr;
}

static json_t *clockin_json(const struct clockin *c)
{
    json_t *o = json_object();
    json_set_id(o, "id", c->id);
    json_object_set_new(o, "temperature", json_real(c->temperature));
    json_object_set_new(o, "symptoms", symptom_labels(c->symptoms));
    json_object_set_new(o, "code_colour", json_string(c->code_colour));
    json_object_set_new(o, "abnormal", json_boolean(c->abnormal));
    json_object_set_new(o, "at", json_integer(c->created_at));
    return o;
}

static err post_clockin(struct req *r)
{
    if (!r->who->resident || !r->who->person_id)
        return err_set(E_FORBIDDEN, "forbidden", NULL, "请使用员工本人的手机账号打卡");
    double t = json_number_value(json_object_get(r->body, "temperature"));
    const char *syms;
    int64_t ent_id;
    err e;
    if ((e = symptoms_of(r, &syms)) || (e = body_enterprise(r, &ent_id)))
        return e;
    if (!(t >= CLOCKIN_TEMP_MIN && t <= CLOCKIN_TEMP_MAX))
        return err_set(E_INPUT, "out_of_range", "temperature", "体温应在%.1f到%.1f℃之间",
                       CLOCKIN_TEMP_MIN, CLOCKIN_TEMP_MAX);
    struct employee emp;
    e = employee_of_person(r->db, r->a, r->who->person_id, ent_id, &emp);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_employee", NULL, "您不是登记在册的企业员工，请联系单位");
    struct enterprise ent;
    struct scope all = scope_all();
    if (e || (e = enterprise_find(r->db, r->a, &all, emp.enterprise_id, &ent)))
        return e;
    struct clockin c;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, clockin_create(r->db, r->a, &ent, &emp, t, syms, &c));
    if ((e = req_write_done(r, e, "clockin.create", "enterprise_clockin", e ? 0 : c.id,
                            req_body_fields(r))))
        return e;
    json_t *o = clockin_json(&c);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    return reply_json(r, 201, o);
}

/* The enterprise's clock-ins of China day `day` (date: its text): every
 * live employee, masked, with the counts the phone's 员工今日打卡 shows. */
static err clockin_day_reply(struct req *r, int64_t day, const char *date)
{
    int64_t ent_id;
    err e = query_enterprise(r, &ent_id);
    if (e)
        return e;
    struct enterprise ent;
    if ((e = reach(r, ent_id, "clockin.day", &ent)))
        return e;
    struct clockin_row *rows;
    size_t n;
    if ((e = clockin_day(r->db, r->a, ent.id, day, &rows, &n)))
        return e;
    req_audit(r, "clockin.day", "enterprise", ent.id, "ok",
              arena_printf(r->a, "date=%s rows=%zu", date, n));
    json_t *arr = json_array();
    int64_t done = 0, abnormal = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = employee_json(r, &rows[i].emp);
        json_object_set_new(o, "clocked_in", json_boolean(rows[i].ci.id != 0));
        json_object_set_new(o, "clockin", rows[i].ci.id ? clockin_json(&rows[i].ci) : json_null());
        done += rows[i].ci.id != 0;
        abnormal += rows[i].ci.abnormal;
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "date", json_string(date));
    json_set_id(o, "enterprise_id", ent.id);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    json_object_set_new(o, "employees", json_integer((json_int_t)n));
    json_object_set_new(o, "clocked_in", json_integer(done));
    json_object_set_new(o, "missing", json_integer((json_int_t)n - done));
    json_object_set_new(o, "abnormal", json_integer(abnormal));
    json_object_set_new(o, "items", arr);
    return reply_json(r, 200, o);
}

static err get_clockin_today(struct req *r)
{
    int64_t now = now_ms();
    char date[CHINA_TIME_LEN];
    china_time(now, date);
    date[10] = '\0';
    return clockin_day_reply(r, china_day(now), date);
}

/* A day's clock-ins (?date=YYYY-MM-DD, default today; not after today):
 * the console's 员工每日打卡 with its date picker. */
static err get_clockin_date(struct req *r)
{
    const char *date = req_query(r, "date");
    if (!date || !*date)
        return get_clockin_today(r);
    int64_t day;
    if (!china_date_day(date, &day))
        return err_set(E_INPUT, "invalid_parameter", "date", "日期格式应为 YYYY-MM-DD");
    if (day > china_day(now_ms()))
        return err_set(E_INPUT, "invalid_parameter", "date", "不能查看今天以后的打卡");
    return clockin_day_reply(r, day, date);
}

/* The signed-in resident's own employment: the enterprise and today's
 * clock-in, what the phone's clock-in page shows before and after. A
 * resident who works nowhere is answered 404 not_employee. */
static err get_my_employment(struct req *r)
{
    if (!r->who->resident || !r->who->person_id)
        return err_set(E_FORBIDDEN, "forbidden", NULL, "请使用员工本人的手机账号");
    struct employee emp;
    err e = employee_of_person(r->db, r->a, r->who->person_id, 0, &emp);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_employee", NULL, "您不是登记在册的企业员工，请联系单位");
    struct enterprise ent;
    struct scope all = scope_all();
    if (e || (e = enterprise_find(r->db, r->a, &all, emp.enterprise_id, &ent)))
        return e;
    struct clockin c;
    e = clockin_of(r->db, r->a, emp.id, china_day(now_ms()), &c);
    if (e && e != E_NOT_FOUND)
        return e;
    bool done = e == E_OK;
    req_audit(r, "employment.self", "enterprise_employee", emp.id, "ok", NULL);
    json_t *o = employee_json(r, &emp);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    json_object_set_new(o, "clocked_in", json_boolean(done));
    json_object_set_new(o, "clockin", done ? clockin_json(&c) : json_null());
    return reply_json(r, 200, o);
}

/* Enterprises in scope with their resume-work status: the street's list. */
static err get_resume_enterprises(struct req *r)
{
    struct enterprise_filter f = {0};
    err e = req_paging(r, &f.page, &f.page_size);
    if (e)
        return e;
    f.q = field_trim(r->a, req_query(r, "q"));
    if (f.q && utf8_len(f.q) > 50)
        return err_set(E_INPUT, "invalid_parameter", "q", "搜索关键词不能超过50个字符");
    /* 所属行业 contains, as GET /api/v1/enterprises (the phone's 企业查询) */
    f.industry = field_trim(r->a, req_query(r, "industry"));
    if (f.industry && (!utf8_valid_text(f.industry) || utf8_len(f.industry) > 50))
        return err_set(E_INPUT, "invalid_parameter", "industry",
                       "所属行业的查询条件不能超过50个字符");
    f.sort = "name";
    struct enterprise *items;
    size_t n;
    int64_t total;
    if ((e = enterprise_list(r->db, r->a, &r->who->scope, &f, &items, &n, &total)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        enum resume_status st;
        if ((e = resume_status_of(r->db, items[i].id, &st))) {
            json_decref(arr);
            return e;
        }
        json_t *o = status_json(st);
        json_set_id(o, "id", items[i].id);
        json_object_set_new(o, "name", json_string(items[i].name));
        json_set_region(o, items[i].region_code, items[i].region_name);
        json_object_set_new(o, "industry", json_string(items[i].industry ? items[i].industry : ""));
        json_array_append_new(arr, o);
    }
    return reply_page(r, arr, total, f.page, f.page_size);
}

/* ---- shifts, rosters and the enterprise pass ------------------------------------------------
 */

static json_t *shift_json(const struct shift *x)
{
    json_t *o = json_object();
    json_set_id(o, "id", x->id);
    json_object_set_new(o, "name", json_string(x->name));
    char t[8];
    snprintf(t, sizeof t, "%02d:%02d", x->start_min / 60 % 24, x->start_min % 60);
    json_object_set_new(o, "start", json_string(t));
    snprintf(t, sizeof t, "%02d:%02d", x->end_min / 60 % 24, x->end_min % 60);
    json_object_set_new(o, "end", json_string(t));
    json_object_set_new(o, "overnight", json_boolean(x->end_min <= x->start_min));
    return o;
}

static err get_shifts(struct req *r)
{
    int64_t ent_id;
    struct enterprise ent;
    err e = query_enterprise(r, &ent_id);
    if (e || (e = reach(r, ent_id, "shift.list", &ent)))
        return e;
    struct shift *v;
    size_t n;
    if ((e = shift_list(r->db, r->a, ent.id, &v, &n)))
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, shift_json(&v[i]));
    return reply_json(r, 200, json_pack("{s:o}", "items", arr));
}

static const struct jfield shift_body[] = {
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"name", J_STRING, JF_REQUIRED, 0, 0, "班次名称", NULL, NULL},
    {"start", J_STRING, JF_REQUIRED, 0, 0, "开始时间", NULL, NULL},
    {"end", J_STRING, JF_REQUIRED, 0, 0, "结束时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_shift(struct req *r)
{
    int64_t ent_id, id = 0;
    struct enterprise ent;
    err e = body_enterprise(r, &ent_id);
    if (e || (e = reach(r, ent_id, "shift.create", &ent)))
        return e;
    const char *name = field_trim(r->a, json_str(r->body, "name"));
    int32_t start = shift_minutes(json_str(r->body, "start"));
    int32_t end = shift_minutes(json_str(r->body, "end"));
    if (start < 0)
        return err_set(E_INPUT, "invalid_value", "start", "开始时间格式应为 HH:MM");
    if (end < 0)
        return err_set(E_INPUT, "invalid_value", "end", "结束时间格式应为 HH:MM");
    e = shift_create(r->db, r->who->user_id, ent.id, name, start, end, &id);
    if ((e = req_write_done(r, e, "shift.create", "enterprise_shift", id, req_body_fields(r))))
        return e;
    struct shift x = {
        .id = id, .enterprise_id = ent.id, .name = name, .start_min = start, .end_min = end};
    return reply_json(r, 201, shift_json(&x));
}

static err delete_shift(struct req *r)
{
    int64_t ent_id, id;
    struct enterprise ent;
    err e = query_enterprise(r, &ent_id);
    if (e || (e = req_param_id(r, 0, &id)) || (e = reach(r, ent_id, "shift.remove", &ent)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r, shift_remove(r->db, ent.id, id, china_day(now_ms())));
    if ((e = req_write_done(r, e, "shift.remove", "enterprise_shift", id, NULL)))
        return e;
    return reply_empty(r);
}

/* ?date= or the body's date (YYYY-MM-DD, default today) as a China day. */
static err day_of(const char *v, const char *field, int64_t *day_r)
{
    *day_r = china_day(now_ms());
    if (v && *v && !china_date_day(v, day_r))
        return err_set(E_INPUT, "invalid_date", field, "日期格式应为 YYYY-MM-DD");
    return E_OK;
}

static err get_rosters(struct req *r)
{
    int64_t ent_id, day;
    struct enterprise ent;
    err e = query_enterprise(r, &ent_id);
    if (e || (e = day_of(req_query(r, "date"), "date", &day)) ||
        (e = reach(r, ent_id, "roster.day", &ent)))
        return e;
    struct roster_row *rows;
    size_t n;
    if ((e = roster_day(r->db, r->a, ent.id, day, &rows, &n)))
        return e;
    req_audit(r, "roster.day", "enterprise", ent.id, "ok", arena_printf(r->a, "rows=%zu", n));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = employee_json(r, &rows[i].emp);
        json_object_set_new(o, "roster",
                            rows[i].shift.id ? shift_json(&rows[i].shift) : json_null());
        json_array_append_new(arr, o);
    }
    return reply_json(r, 200, json_pack("{s:o}", "items", arr));
}

static const struct jfield roster_body[] = {
    {"enterprise_id", J_STRING, 0, 1, 20, "企业", NULL, NULL},
    {"date", J_STRING, JF_REQUIRED, 0, 0, "日期", NULL, NULL},
    {"shift_id", J_STRING, JF_NULLABLE, 0, 20, "班次", NULL, NULL},
    {"employee_ids", J_ARRAY, JF_REQUIRED, 0, 0, "员工", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_roster(struct req *r)
{
    int64_t ent_id, day, shift_id = 0;
    struct enterprise ent;
    err e = body_enterprise(r, &ent_id);
    if (e || (e = day_of(json_str(r->body, "date"), "date", &day)))
        return e;
    const char *sid = json_str(r->body, "shift_id");
    if (sid && *sid && !(shift_id = id_parse(sid)))
        return err_set(E_INPUT, "invalid_value", "shift_id", "班次编号格式不正确");
    json_t *arr = json_object_get(r->body, "employee_ids");
    size_t n = json_array_size(arr);
    if (!n)
        return err_set(E_INPUT, "required", "employee_ids", "请选择员工");
    if (n > ROSTER_BATCH)
        return err_set(E_INPUT, "too_many", "employee_ids", "一次最多排班%d人", ROSTER_BATCH);
    int64_t *ids = arena_alloc(r->a, n * sizeof *ids);
    if (!ids)
        return err_set(E_NOMEM, "no_memory", NULL, "内存不足");
    for (size_t i = 0; i < n; i++)
        if (!(ids[i] = id_parse(json_string_value(json_array_get(arr, i)))))
            return err_set(E_INPUT, "invalid_value", arena_printf(r->a, "employee_ids[%zu]", i),
                           "员工编号格式不正确");
    if ((e = reach(r, ent_id, "roster.assign", &ent)))
        return e;
    db_hold(r->db);
    if (!(e = db_begin(r->db)))
        e = req_tx_end(r,
                       roster_assign(r->db, r->a, r->who->user_id, ent.id, day, shift_id, ids, n));
    if ((e = req_write_done(r, e, "roster.assign", "enterprise", ent.id, req_body_fields(r))))
        return e;
    return reply_json(r, 200, json_pack("{s:I}", "assigned", (json_int_t)n));
}

static const struct vocab_word pass_reasons[] = {
    {"not_on_shift", "今天没有排班"},
    {"off_shift_hours", "不在当班时间内"},
    {"pass_not_clocked_in", "当天尚未健康打卡"},
    {"clockin_abnormal", "当天健康打卡异常"},
    {"code_not_green", "健康码非绿码"},
};

/* The resident's own pass now: their employment, the shift, and a signed
 * token (TOKEN_STAFF_PASS) valid until the shift's end; 409 saying why
 * none may be issued now. */
static err my_pass(struct req *r, struct employee *emp, struct enterprise *ent,
                   struct pass_check *c, char tok[TOKEN_MAX])
{
    if (!r->who->resident || !r->who->person_id)
        return err_set(E_FORBIDDEN, "forbidden", NULL, "请使用员工本人的手机账号");
    err e = employee_of_person(r->db, r->a, r->who->person_id, 0, emp);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "not_employee", NULL, "您不是登记在册的企业员工，请联系单位");
    struct scope all = scope_all();
    int64_t now = now_ms();
    if (e || (e = enterprise_find(r->db, r->a, &all, emp->enterprise_id, ent)) ||
        (e = pass_check(r->db, r->a, emp, now, c)))
        return e;
    struct token t = {
        .kind = TOKEN_STAFF_PASS, .subject = emp->id, .issued_at = now, .expires_at = c->closes_at};
    return token_issue(&t, tok);
}

static err get_my_pass(struct req *r)
{
    struct employee emp;
    struct enterprise ent;
    struct pass_check c;
    char tok[TOKEN_MAX];
    err e = my_pass(r, &emp, &ent, &c, tok);
    if (e)
        return e;
    req_audit(r, "staffpass.issue", "enterprise_employee", emp.id, "ok", NULL);
    json_t *o = employee_json(r, &emp);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    json_object_set_new(o, "token", json_string(tok));
    json_object_set_new(o, "shift", shift_json(&c.shift));
    json_object_set_new(o, "opens_at", json_integer(c.opens_at));
    json_object_set_new(o, "expires_at", json_integer(c.closes_at));
    return reply_json(r, 200, o);
}

/* The same pass as a QR image for the phone page. */
static err get_my_pass_qr(struct req *r)
{
    struct employee emp;
    struct enterprise ent;
    struct pass_check c;
    char tok[TOKEN_MAX], *svg;
    size_t n;
    err e = my_pass(r, &emp, &ent, &c, tok);
    if (e || (e = qr_svg_color(r->a, tok, QR_GREEN, &svg, &n)))
        return e;
    req_audit(r, "staffpass.issue", "enterprise_employee", emp.id, "ok", "qr");
    return reply_bytes(r, 200, "image/svg+xml", svg, n);
}

static const struct jfield verify_body[] = {
    {"token", J_STRING, JF_REQUIRED, 1, TOKEN_MAX, "通行证", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* At the gate: a forged or expired token is refused with the token's code
 * (400); a genuine one is answered with the verdict now, since the holder
 * may have left the shift or turned non-green since it was issued. */
static err post_verify_pass(struct req *r)
{
    struct token t;
    int64_t now = now_ms();
    err e = token_verify(json_str(r->body, "token"), TOKEN_STAFF_PASS, now, &t);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "staffpass.verify", "token", 0, e, NULL);
    struct enterprise ent;
    struct employee emp;
    if ((e = employee_reach(r, t.subject, "staffpass.verify", &ent)) ||
        (e = employee_find(r->db, r->a, ent.id, t.subject, &emp)))
        return e;
    struct pass_check c;
    e = pass_check(r->db, r->a, &emp, now, &c);
    if (e && e != E_CONFLICT)
        return e;
    /* a genuine pass refused now: the verdict, audited as one */
    const char *why = e ? arena_strdup(r->a, err_last()->slug) : NULL;
    req_audit(r, "staffpass.verify", "enterprise_employee", emp.id, e ? "invalid" : "ok", why);
    json_t *o = employee_json(r, &emp);
    json_object_set_new(o, "enterprise_name", json_string(ent.name));
    json_object_set_new(o, "valid", json_boolean(!e));
    json_object_set_new(o, "reason", why ? json_string(why) : json_null());
    const char *label = NULL;
    for (size_t i = 0; why && i < sizeof pass_reasons / sizeof pass_reasons[0]; i++)
        if (!strcmp(pass_reasons[i].name, why))
            label = pass_reasons[i].label;
    json_object_set_new(o, "reason_label", label ? json_string(label) : json_null());
    json_object_set_new(o, "shift", e ? json_null() : shift_json(&c.shift));
    return reply_json(r, 200, o);
}

const struct route enterprise_work_routes[] = {
    {M_POST, "/api/v1/enterprise-accounts", post_account, PERM_ENTERPRISE_WRITE, 0, account_body,
     "绑定企事业单位账号与企业", "enterprise_work", 0},
    {M_GET, "/api/v1/employees", get_employees, PERM_EMPLOYEE_READ, 0, NULL, "企业员工列表（脱敏）",
     "enterprise_work", 0},
    {M_POST, "/api/v1/employees", post_employee, PERM_EMPLOYEE_WRITE, 0, employee_body,
     "添加企业员工（关联人口库）", "enterprise_work", 0},
    /* before /employees/{id}, which would take them */
    {M_GET, "/api/v1/employees/template.xlsx", get_import_template, PERM_EMPLOYEE_WRITE, 0, NULL,
     "员工导入模板（Excel）", "enterprise_work", 0},
    {M_POST, "/api/v1/employees/import", post_import, PERM_EMPLOYEE_WRITE, ROUTE_RAW_BODY, NULL,
     "导入企业员工（Excel，format=csv 为 CSV；错误行见任务的错误报告）", "enterprise_work",
     UPLOAD_MAX},
    {M_GET, "/api/v1/employees/{id}", get_employee, PERM_EMPLOYEE_READ, 0, NULL, "企业员工详情",
     "enterprise_work", 0},
    {M_PATCH, "/api/v1/employees/{id}", patch_employee, PERM_EMPLOYEE_WRITE, 0, employee_patch,
     "修改员工部门、岗位、班次", "enterprise_work", 0},
    {M_DELETE, "/api/v1/employees/{id}", delete_employee, PERM_EMPLOYEE_WRITE, 0, NULL, "员工离职",
     "enterprise_work", 0},
    {M_GET, "/api/v1/resume-applications", get_apps, PERM_EMPLOYEE_READ, 0, NULL, "复工申请列表",
     "enterprise_work", 0},
    {M_POST, "/api/v1/resume-applications", post_app, PERM_EMPLOYEE_WRITE, 0, app_body,
     "提交复工申请", "enterprise_work", 0},
    {M_GET, "/api/v1/resume-applications/{id}", get_app, PERM_EMPLOYEE_READ, 0, NULL,
     "复工申请详情", "enterprise_work", 0},
    {M_POST, "/api/v1/resume-applications/{id}/review", post_review, PERM_ENTERPRISE_REVIEW, 0,
     review_body, "审核复工申请（通过或退回）", "enterprise_work", 0},
    {M_GET, "/api/v1/resume-enterprises", get_resume_enterprises, PERM_EMPLOYEE_READ, 0, NULL,
     "辖区企业及复工状态（q、industry 筛选）", "enterprise_work", 0},
    {M_POST, "/api/v1/return-declarations", post_decl, PERM_SELF, 0, decl_body,
     "返岗申报（员工本人或企业代报，手机号短信验证）", "enterprise_work", 0},
    {M_GET, "/api/v1/return-declarations", get_decls, PERM_EMPLOYEE_READ, 0, NULL,
     "返岗申报列表（flagged=1 仅异常，0 仅无异常；format=csv/xlsx 导出）", "enterprise_work", 0},
    {M_GET, "/api/v1/return-declarations/{id}", get_decl, PERM_EMPLOYEE_READ, 0, NULL,
     "返岗申报详情（脱敏）", "enterprise_work", 0},
    {M_POST, "/api/v1/staff-clockins", post_clockin, PERM_SELF, 0, clockin_body,
     "员工健康打卡（本人，每日一次，关联健康码）", "enterprise_work", 0},
    {M_GET, "/api/v1/staff-clockins/today", get_clockin_today, PERM_EMPLOYEE_READ, 0, NULL,
     "企业今日打卡情况（已打卡、未打卡、异常）", "enterprise_work", 0},
    {M_GET, "/api/v1/staff-clockins", get_clockin_date, PERM_EMPLOYEE_READ, 0, NULL,
     "企业某日打卡情况（date=YYYY-MM-DD）", "enterprise_work", 0},
    {M_GET, "/api/v1/me/employment", get_my_employment, PERM_SELF, 0, NULL,
     "本人就职企业及今日打卡", "enterprise_work", 0},
    {M_GET, "/api/v1/enterprise-shifts", get_shifts, PERM_EMPLOYEE_READ, 0, NULL, "企业班次列表",
     "enterprise_work", 0},
    {M_POST, "/api/v1/enterprise-shifts", post_shift, PERM_EMPLOYEE_WRITE, 0, shift_body,
     "新增班次（名称、开始、结束时间）", "enterprise_work", 0},
    {M_DELETE, "/api/v1/enterprise-shifts/{id}", delete_shift, PERM_EMPLOYEE_WRITE, 0, NULL,
     "停用班次（今天起的排班一并取消）", "enterprise_work", 0},
    {M_GET, "/api/v1/enterprise-rosters", get_rosters, PERM_EMPLOYEE_READ, 0, NULL,
     "某日排班（date，默认今天）", "enterprise_work", 0},
    {M_POST, "/api/v1/enterprise-rosters", post_roster, PERM_EMPLOYEE_WRITE, 0, roster_body,
     "排班：指定日期、班次和员工（shift_id 为空即取消）", "enterprise_work", 0},
    {M_GET, "/api/v1/me/staff-pass", get_my_pass, PERM_SELF, 0, NULL,
     "本人企业通行证（当班且当天绿码打卡时签发）", "enterprise_work", 0},
    {M_GET, "/api/v1/me/staff-pass/qr.svg", get_my_pass_qr, PERM_SELF, 0, NULL,
     "本人企业通行证二维码", "enterprise_work", 0},
    {M_POST, "/api/v1/staff-passes/verify", post_verify_pass, PERM_STAFF_PASS_VERIFY, 0,
     verify_body, "企业门岗核验员工通行证", "enterprise_work", 0},
};
const size_t enterprise_work_routes_n =
    sizeof enterprise_work_routes / sizeof enterprise_work_routes[0];

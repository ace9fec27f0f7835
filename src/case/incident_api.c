/*
 * HTTP handlers of reports and routing (case.h "reports and routing";
 * docs/cases.md "Reports and routing"):
 *
 *   POST /api/v1/me/reports            a resident's report (about themself or someone
 *                                       else), or an enterprise user's declaration
 *   GET  /api/v1/me/reports            my reports, with their state and outcome
 *   GET  /api/v1/me/reports/{id}
 *   POST /api/v1/reports               a staff report (patrol, canvass, doctor, CDC,
 *                                       enterprise, contact; checkpoint one-tap: access_id)
 *   GET  /api/v1/incidents             the inbox (filters, paging, format=csv|xlsx, reveal=1)
 *   GET  /api/v1/incidents/{id}        detail, attachments, timeline, task (reveal=1)
 *   POST /api/v1/incidents/{id}/close  {reason}: a duplicate or false report
 *   POST /api/v1/incidents/{id}/route  {action}: route a waiting report by hand
 *   GET  /api/v1/routing-rules
 *   PUT  /api/v1/routing-rules         {source, action, priority, deadline_hours, enabled}
 *
 * Every read of a report is audited (incident.list, incident.read,
 * incident.reveal, incident.export); names, phones, id numbers and
 * addresses are masked unless the caller holds person.reveal and asks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http/export.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "case/case.h"
#include "health/health.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "security/ratelimit.h"
#include "task/task.h"

/* Reports one resident may file in an hour (FK_REPORTS_PER_HOUR). */
#define REPORTS_PER_HOUR 10

/* ---- the bodies --------------------------------------------------------------------- */

static const char *const about_words[] = {"self", "other", NULL};

#define REPORT_COMMON                                                                              \
    {"category", J_STRING, JF_REQUIRED, 0, 0, "上报类别", NULL, &incident_category_vocab},         \
        {"name", J_STRING, 0, 1, PERSON_NAME_MAX, "姓名", NULL},                                   \
        {"phone", J_STRING, 0, 1, 20, "联系电话", NULL},                                           \
        {"region_code", J_STRING, 0, 1, 20, "所在区划", NULL},                                     \
        {"address", J_STRING, 0, 1, PERSON_ADDRESS_MAX, "详细地址", NULL},                         \
        {"symptoms", J_ARRAY, 0, 0, 8, "症状", NULL},                                              \
        {"temperature", J_NUMBER, 0, 0, 0, "体温", NULL},                                          \
        {"description", J_STRING, 0, 0, INCIDENT_TEXT_MAX, "症状描述", NULL},                      \
        {"lat", J_NUMBER, 0, 0, 0, "纬度", NULL}, {"lng", J_NUMBER, 0, 0, 0, "经度", NULL},        \
    {                                                                                              \
        "attachments", J_ARRAY, 0, 0, ATTACH_PER_OWNER_MAX, "附件", NULL                           \
    }

/* seed 001 §4.1.5: the declaration form of an enterprise or school */
#define DECLARATION                                                                                \
    {"id_number", J_STRING, 0, 1, 32, "身份证号码", NULL},                                         \
        {"gender", J_STRING, 0, 0, 0, "性别", NULL, &person_gender_vocab},                         \
        {"travel", J_BOOL, 0, 0, 0, "是否有中高风险地区旅居史", NULL},                             \
        {"native_place", J_STRING, 0, 1, 50, "籍贯", NULL},                                        \
        {"unit", J_STRING, 0, 1, 100, "学校或单位名称", NULL},                                     \
        {"department", J_STRING, 0, 1, 50, "年级班级或部门", NULL},                                \
        {"return_date", J_STRING, 0, 10, 10, "拟返回时间", NULL},                                  \
    {                                                                                              \
        "return_transport", J_STRING, 0, 1, 50, "返回方式", NULL                                   \
    }

static const struct jfield resident_fields[] = {
    REPORT_COMMON,
    {"about", J_STRING, JF_REQUIRED, 0, 0, "上报对象", about_words},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct jfield declaration_fields[] = {
    REPORT_COMMON,
    DECLARATION,
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const char *const staff_sources[] = {"grid_patrol", "canvass", "doctor",     "cdc",
                                            "enterprise",  "contact", "checkpoint", NULL};

static const struct jfield staff_fields[] = {
    REPORT_COMMON,
    DECLARATION,
    {"source", J_STRING, JF_REQUIRED, 0, 0, "上报来源", staff_sources},
    {"person_id", J_STRING, 0, 1, 20, "人员", NULL},
    {"id_type", J_STRING, 0, 0, 0, "证件类型", NULL, &id_type_vocab},
    {"access_id", J_STRING, 0, 1, 20, "通行记录", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

/* The fields every report checks the same way, all at once (err_collect). */
static err common_check(struct req *r, struct incident_new *in)
{
    json_t *b = r->body;
    err e = E_OK, x;
#define KEEP(call)                                                                                 \
    do {                                                                                           \
        if ((x = (call)) && !e)                                                                    \
            e = x;                                                                                 \
    } while (0)
    in->category =
        (enum incident_category)vocab_parse(&incident_category_vocab, json_str(b, "category"));
    in->subject.name = json_str(b, "name");
    if (in->subject.name)
        KEEP(check_text(in->subject.name, "name", "姓名", PERSON_NAME_MAX, TEXT_ONE_LINE));
    in->subject.phone = json_str(b, "phone");
    if (in->subject.phone)
        KEEP(check_phone(in->subject.phone, "phone"));
    in->subject.address = json_str(b, "address");
    if (in->subject.address)
        KEEP(check_text(in->subject.address, "address", "详细地址", PERSON_ADDRESS_MAX,
                        TEXT_ONE_LINE));
    in->description = json_str(b, "description");
    if (in->description && *in->description)
        KEEP(check_text(in->description, "description", "症状描述", INCIDENT_TEXT_MAX, 0));
    else
        in->description = NULL;
    const char *rc = json_str(b, "region_code");
    if (rc && !(in->region_code = regcode_parse(rc, NULL)))
        KEEP(err_set(E_INPUT, "invalid_region", "region_code", "区划代码格式不正确"));
    json_t *arr = json_object_get(b, "symptoms"), *v;
    size_t i;
    json_array_foreach(arr, i, v)
    {
        unsigned bit = json_is_string(v) ? symptom_parse(json_string_value(v)) : 0;
        if (!bit || bit == SYM_OTHER) {
            KEEP(err_set(E_INPUT, "invalid_value", "symptoms",
                         "症状只能是 fever、cough、fatigue、shortness_of_breath 等"));
            break;
        }
        in->symptoms |= bit;
    }
    in->temperature = -1;
    if (json_has(b, "temperature")) {
        double t = json_num(b, "temperature", -1);
        if (!(t >= INCIDENT_TEMP_MIN && t <= INCIDENT_TEMP_MAX))
            KEEP(err_set(E_INPUT, "out_of_range", "temperature", "体温应在 %.1f 到 %.1f ℃ 之间",
                         INCIDENT_TEMP_MIN, INCIDENT_TEMP_MAX));
        else
            in->temperature = round(t * 10) / 10;
    }
    if (json_has(b, "lat") != json_has(b, "lng")) {
        KEEP(err_set(E_INPUT, "required", json_has(b, "lat") ? "lng" : "lat", "经纬度需同时填写"));
    } else if (json_has(b, "lat")) {
        in->lat = json_num(b, "lat", 0);
        in->lng = json_num(b, "lng", 0);
        if (!(in->lat >= -90 && in->lat <= 90))
            KEEP(err_set(E_INPUT, "out_of_range", "lat", "纬度应在 -90 到 90 之间"));
        else if (!(in->lng >= -180 && in->lng <= 180))
            KEEP(err_set(E_INPUT, "out_of_range", "lng", "经度应在 -180 到 180 之间"));
        else
            in->has_position = true;
    }
    in->attachments = json_object_get(b, "attachments");
    json_array_foreach(in->attachments, i, v)
    {
        if (!json_is_string(v) || id_parse(json_string_value(v)) <= 0) {
            KEEP(err_set(E_INPUT, "invalid_attachment", arena_printf(r->a, "attachments[%zu]", i),
                         "附件编号无效"));
            break;
        }
    }
    return e;
}

/* The declaration form (seed 001 §4.1.5) as the sealed detail, and its
 * subject; every field required when `required`. */
static err declaration_check(struct req *r, struct incident_new *in, bool required, err e)
{
    json_t *b = r->body;
    err x;
    static const char *const keys[] = {"gender",     "travel",      "native_place",     "unit",
                                       "department", "return_date", "return_transport", NULL};
    json_t *detail = json_object();
    bool any = false;
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(b, keys[i]);
        if (v) {
            json_object_set(detail, keys[i], v);
            any = true;
        }
    }
    const char *idn = json_str(b, "id_number");
    if (idn) {
        in->subject.id_number = idn;
        if (!in->subject.id_type)
            in->subject.id_type = ID_RESIDENT;
        KEEP(check_id_number((enum id_type)in->subject.id_type, idn, "id_number"));
    }
    if (json_str(b, "gender"))
        in->subject.gender = person_gender_parse(json_str(b, "gender"));
    const char *rd = json_str(b, "return_date");
    if (rd) {
        int y, m, dd;
        char tail;
        if (sscanf(rd, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 ||
            !date_valid(y * 10000 + m * 100 + dd))
            KEEP(err_set(E_INPUT, "invalid_date", "return_date",
                         "拟返回时间应为 YYYY-MM-DD 格式的日期"));
    }
    if (required) {
        static const char *const need[] = {
            "name",        "gender",           "id_number",   "phone",
            "travel",      "native_place",     "unit",        "department",
            "return_date", "return_transport", "region_code", NULL};
        for (size_t i = 0; need[i]; i++) {
            if (json_has(b, need[i]))
                continue;
            const char *label = need[i];
            for (const struct jfield *f = declaration_fields; f->name; f++)
                if (!strcmp(f->name, need[i]))
                    label = f->label;
            KEEP(err_set(E_INPUT, "required", need[i], "请填写%s", label));
        }
    }
    if (any) {
        char *s = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        in->detail = arena_strdup(r->a, s ? s : "{}");
        free(s);
    }
    json_decref(detail);
    return e;
}

/* ---- replies ------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *incident_json(arena *a, const struct incident *v, bool reveal, bool mine)
{
    json_t *o = json_object();
    const struct incident_subject *sj = &v->subject;
    json_set_id(o, "id", v->id);
    json_object_set_new(o, "source", json_string(vocab_name(&case_source_vocab, v->source)));
    json_object_set_new(o, "source_label", json_string(vocab_label(&case_source_vocab, v->source)));
    json_object_set_new(o, "category",
                        json_string(vocab_name(&incident_category_vocab, v->category)));
    json_object_set_new(o, "category_label",
                        json_string(vocab_label(&incident_category_vocab, v->category)));
    json_object_set_new(o, "state", json_string(vocab_name(&incident_state_vocab, v->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&incident_state_vocab, v->state)));
    json_object_set_new(o, "outcome",
                        v->outcome ? json_string(vocab_name(&incident_outcome_vocab, v->outcome))
                                   : json_null());
    json_object_set_new(o, "outcome_label",
                        json_string(vocab_label(&incident_outcome_vocab, (size_t)v->outcome)));
    json_set_region(o, v->region_code, v->region_name);
    json_object_set_new(o, "name", str_or_null(reveal ? sj->name : mask_name(a, sj->name)));
    json_object_set_new(o, "phone", str_or_null(reveal ? sj->phone : mask_phone(a, sj->phone)));
    json_object_set_new(o, "address",
                        str_or_null(reveal ? sj->address : mask_address(a, sj->address)));
    json_t *sym = json_array();
    for (unsigned bit = 1; bit <= SYM_ALL; bit <<= 1)
        if (v->symptoms & bit)
            json_array_append_new(sym, json_string(symptom_name(bit)));
    json_object_set_new(o, "symptoms", sym);
    json_object_set_new(o, "temperature",
                        v->temperature >= 0 ? json_real(v->temperature) : json_null());
    json_object_set_new(o, "lat", v->has_position ? json_real(v->lat) : json_null());
    json_object_set_new(o, "lng", v->has_position ? json_real(v->lng) : json_null());
    json_object_set_new(o, "about_self", json_boolean(v->about_self));
    json_object_set_new(o, "attachment_count", json_integer(v->attachments));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "updated_at", json_integer(v->updated_at));
    if (mine)
        return o; /* what the reporter entered and where it stands, nothing more */
    json_object_set_new(o, "id_type", json_string(sj->id_type ? id_type_name(sj->id_type) : ""));
    json_object_set_new(o, "id_number",
                        str_or_null(reveal ? sj->id_number : mask_id_number(a, sj->id_number)));
    json_set_id_or_null(o, "person_id", v->person_id);
    json_set_id_or_null(o, "venue_id", v->venue_id);
    json_set_id_or_null(o, "access_id", v->access_id);
    json_set_id_or_null(o, "task_id", v->task_id);
    json_set_id_or_null(o, "observation_id", v->observation_id);
    json_object_set_new(o, "reporter_name", json_string(v->reporter_name ? v->reporter_name : ""));
    json_object_set_new(o, "version", json_integer(v->version));
    return o;
}

/* ---- intake ----------------------------------------------------------------------- */

static err file_report(struct req *r, struct incident_new *in)
{
    int64_t id;
    enum incident_state state;
    db_hold(r->db); /* the entry commits with the report (security/audit.h) */
    err e = incident_report(r->db, r->a, r->who, in, &id, &state);
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "incident.create", "incident", id, "ok",
              arena_printf(r->a, "source=%s state=%s", vocab_name(&case_source_vocab, in->source),
                           vocab_name(&incident_state_vocab, state)));
    if ((e = db_release(r->db, true)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    json_object_set_new(o, "state", json_string(vocab_name(&incident_state_vocab, state)));
    json_object_set_new(o, "state_label", json_string(vocab_label(&incident_state_vocab, state)));
    return reply_json(r, 201, o);
}

static int64_t reports_per_hour(void)
{
    const char *v = getenv("FK_REPORTS_PER_HOUR");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 ? n : REPORTS_PER_HOUR;
}

static err post_my_report(struct req *r)
{
    struct incident_new in = {0};
    const struct principal *who = r->who;
    err e;
    err_collect_begin();
    if (who->resident) {
        e = json_check(r->body, resident_fields, false);
        if (!e)
            e = common_check(r, &in);
        in.source = SOURCE_RESIDENT;
        in.reporter_person_id = who->person_id;
        in.about_self =
            !strcmp(json_str(r->body, "about") ? json_str(r->body, "about") : "", "self");
        if (!e && !in.about_self) {
            if (!in.subject.name)
                e = err_set(E_INPUT, "required", "name", "请填写被上报人员的姓名");
            if (!in.region_code && !json_str(r->body, "region_code"))
                e = err_add(e, E_INPUT, "required", "region_code", "请选择被上报人员所在的区划");
        }
    } else {
        /* an enterprise or school user: the declaration form */
        e = json_check(r->body, declaration_fields, false);
        if (!e)
            e = common_check(r, &in);
        if (!e)
            e = declaration_check(r, &in, true, e);
        in.source = SOURCE_ENTERPRISE;
    }
    /* a neighbour, a student: wherever they live, the report goes there */
    in.any_region = true;
    err_collect_end();
    if (e)
        return e;
    if (in.about_self) {
        if (!who->person_id)
            return err_set(E_INPUT, "not_bound", "about", "请先完成实名登记，再上报本人情况");
        in.person_id = who->person_id;
        in.region_code = 0;
        /* the resident's own record, which their scope (the root) holds */
    }
    if (who->resident) {
        int64_t count;
        if ((e = rate_limit_hit(r->db, arena_printf(r->a, "report:%lld", (long long)who->user_id),
                                3600 * 1000LL, &count)))
            return e;
        if (count > reports_per_hour())
            return err_set(E_RATE, "too_many_reports", NULL, "上报过于频繁，请稍后再试");
    }
    return file_report(r, &in);
}

static err post_report(struct req *r)
{
    struct incident_new in = {0};
    json_t *b = r->body;
    err_collect_begin();
    err e = json_check(b, staff_fields, false);
    if (!e)
        e = common_check(r, &in);
    in.source = (enum case_source)vocab_parse(&case_source_vocab, json_str(b, "source"));
    if (json_str(b, "id_type"))
        in.subject.id_type = id_type_parse(json_str(b, "id_type"));
    if (!e)
        e = declaration_check(r, &in, false, e);
    if (!e && in.source == SOURCE_CHECKPOINT && !json_str(b, "access_id"))
        e = err_set(E_INPUT, "required", "access_id", "卡口一键上报需要通行记录");
    if (!e && in.source != SOURCE_CHECKPOINT && json_str(b, "access_id"))
        e = err_set(E_INPUT, "invalid_value", "access_id", "只有卡口上报可以引用通行记录");
    if (!e && !json_str(b, "person_id") && in.source != SOURCE_CHECKPOINT && !in.subject.name)
        e = err_set(E_INPUT, "required", "name", "请选择人员，或填写被上报人员的姓名");
    err_collect_end();
    if (e)
        return e;
    if (json_str(b, "person_id")) {
        in.person_id = id_parse(json_str(b, "person_id"));
        if (in.person_id <= 0)
            return err_set(E_NOT_FOUND, "unknown_person", "person_id",
                           "人员不存在或不在您的管辖范围内");
    }
    if (in.source == SOURCE_CHECKPOINT) {
        int64_t access = id_parse(json_str(b, "access_id"));
        if (access <= 0)
            return err_set(E_NOT_FOUND, "unknown_access", "access_id",
                           "通行记录不存在或不在您的管辖范围内");
        if ((e = incident_from_access(r->db, r->who, access, &in)))
            return e;
    }
    return file_report(r, &in);
}

/* ---- reading ------------------------------------------------------------------------ */

static err bad_param(const char *name, const char *msg)
{
    return err_set(E_INPUT, "invalid_parameter", name, "%s", msg);
}

static err time_param(struct req *r, const char *name, int64_t *v_r)
{
    return req_query_int64(r, name, 0, INT64_MAX, v_r);
}

/* ?region_code=: the part of the scope under that region (404 outside). */
static err region_param(struct req *r, struct scope *sc)
{
    const char *v = req_query(r, "region_code");
    if (!v)
        return E_OK;
    int64_t code = regcode_parse(v, NULL);
    if (!code)
        return bad_param("region_code", "区划代码格式不正确");
    if (!scope_has(sc, code))
        return err_set(E_NOT_FOUND, "unknown_region", "region_code",
                       "区划不存在或不在您的管辖范围内");
    struct scope sub = scope_of(code);
    if (sub.lo > sc->lo)
        sc->lo = sub.lo;
    if (sub.hi < sc->hi)
        sc->hi = sub.hi;
    return E_OK;
}

static err filter_params(struct req *r, struct incident_filter *f)
{
    const char *v;
    err e;
    if ((v = req_query(r, "source")) && (f->source = vocab_parse(&case_source_vocab, v)) <= 0)
        return bad_param("source", "上报来源的取值不正确");
    if ((v = req_query(r, "category")) &&
        (f->category = vocab_parse(&incident_category_vocab, v)) <= 0)
        return bad_param("category", "上报类别的取值不正确");
    if ((v = req_query(r, "state")) && (f->state = vocab_parse(&incident_state_vocab, v)) <= 0)
        return bad_param("state", "事件状态的取值不正确");
    if ((e = time_param(r, "from", &f->from)) || (e = time_param(r, "to", &f->to)))
        return e;
    if ((v = req_query(r, "q")) && *v) {
        if (utf8_len(v) > 50)
            return bad_param("q", "查询内容过长");
        f->q = v;
    }
    return req_paging(r, &f->page, &f->page_size);
}

static const char *const export_cols[] = {
    "编号",     "来源", "类别", "状态",   "区划",     "姓名",
    "联系电话", "地址", "体温", "附件数", "上报时间",
};
#define EXPORT_NCOLS (sizeof export_cols / sizeof export_cols[0])

/* One incident as an export row, masked unless revealed: the one row
 * writer of the reply and the job. */
static void incident_row_out(struct export_out *x, arena *a, const struct incident *v, bool reveal)
{
    export_int(x, v->id);
    export_text(x, vocab_label(&case_source_vocab, v->source));
    export_text(x, vocab_label(&incident_category_vocab, v->category));
    export_text(x, vocab_label(&incident_state_vocab, v->state));
    export_text(x, v->region_name);
    export_text(x, reveal ? v->subject.name : mask_name(a, v->subject.name));
    export_text(x, reveal ? v->subject.phone : mask_phone(a, v->subject.phone));
    export_text(x, reveal ? v->subject.address : mask_address(a, v->subject.address));
    if (v->temperature >= 0)
        export_decimal(x, v->temperature, 1);
    else
        export_empty(x);
    export_int(x, v->attachments);
    export_time(x, v->created_at);
    export_row_end(x);
}

/* The inbox as CSV or a workbook (http/export.h). */
static err incidents_export(struct req *r, enum export_format fmt, const struct incident *items,
                            size_t n, bool reveal)
{
    struct export_out x;
    err e = export_begin(r, &x, fmt, "事件", export_cols, EXPORT_NCOLS);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++)
        incident_row_out(&x, r->a, &items[i], reveal);
    return export_send(&x, E_OK, "incidents");
}

/* ---- the export job's source (http/export.h) ------------------------------------------------ */

struct source_filter {
    struct incident_filter f;
    struct scope sc; /* the caller's scope under region_code */
};

static err source_parse(struct req *r, void **filter_r)
{
    struct source_filter *sf = arena_zalloc(r->a, sizeof *sf);
    *filter_r = sf;
    sf->sc = r->who->scope;
    err e = filter_params(r, &sf->f);
    return e ? e : region_param(r, &sf->sc);
}

#define SOURCE_PAGE 1000

/* incident_list's pages in its order (newest first) */
static err source_each(db *d, arena *a, const struct principal *who, const void *filter,
                       bool reveal, struct export_out *x)
{
    (void)who; /* the filter's scope is already the caller's, narrowed */
    const struct source_filter *sf = filter;
    struct incident_filter f = sf->f;
    f.page_size = SOURCE_PAGE;
    err e = E_OK;
    for (f.page = 1; !e; f.page++) {
        struct incident *items;
        size_t n;
        arena_reset(a);
        if ((e = incident_list(d, a, &sf->sc, &f, &items, &n, &x->total)))
            break;
        for (size_t i = 0; i < n && !(e = export_room(x)); i++)
            incident_row_out(x, a, &items[i], reveal);
        if (n < SOURCE_PAGE)
            break;
    }
    return e;
}

const struct export_source case_incident_export = {
    .list = "incidents",
    .kind = "export.incidents",
    .audit = "incident",
    .perm = PERM_CASE_READ,
    .sheet = "事件",
    .head = export_cols,
    .ncols = EXPORT_NCOLS,
    .parse = source_parse,
    .each = source_each,
};

static err list_incidents(struct req *r, bool mine)
{
    struct incident_filter f = {0};
    bool reveal = false;
    enum export_format fmt = EXPORT_NONE;
    err e = filter_params(r, &f);
    if (e)
        return e;
    struct scope sc = r->who->scope;
    if (!mine && (e = region_param(r, &sc)))
        return e;
    if (mine) {
        f.reporter_user_id = r->who->user_id;
        sc = scope_all(); /* a resident's own reports, wherever they were about */
    } else {
        if ((e = req_export_format(r, &fmt)))
            return e;
        if ((e = req_reveal(r, &reveal)))
            return e == E_FORBIDDEN ? audit_refusal(r->db, r->who, r->ip,
                                                    fmt ? "incident.export" : "incident.list",
                                                    "incident", 0, e, "reveal")
                                    : e;
        if (fmt) { /* at most export_sync_max() rows: more is the export job's */
            f.page = 1;
            f.page_size = export_sync_max() + 1;
        }
    }
    struct incident *items;
    size_t n;
    int64_t total;
    if ((e = incident_list(r->db, r->a, &sc, &f, &items, &n, &total)))
        return e;
    if (fmt && (e = export_check_total(total)))
        return e;
    req_audit(r,
              mine     ? "incident.read_own"
              : fmt    ? (reveal ? "incident.export_reveal" : "incident.export")
              : reveal ? "incident.reveal"
                       : "incident.list",
              "incident", 0, "ok",
              arena_printf(r->a, "%s%scount=%zu%s", fmt ? export_format_name(fmt) : "",
                           fmt ? " " : "", n, reveal ? (fmt ? " reveal" : " reveal=1") : ""));
    if (fmt)
        return incidents_export(r, fmt, items, n, reveal);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, incident_json(r->a, &items[i], reveal, mine));
    return reply_page(r, arr, total, f.page, f.page_size);
}

static err get_incidents(struct req *r)
{
    return list_incidents(r, false);
}

static err get_my_reports(struct req *r)
{
    return list_incidents(r, true);
}

static err get_my_report(struct req *r)
{
    int64_t id;
    struct incident v;
    struct scope all = scope_all();
    err e = req_param_id(r, 0, &id);
    if (e || (e = incident_find(r->db, r->a, &all, r->who->user_id, id, &v)))
        return e;
    req_audit(r, "incident.read_own", "incident", id, "ok", "");
    json_t *o = incident_json(r->a, &v, false, true);
    json_t *att = NULL;
    if ((e = attach_list(r->db, "incident", id, &att))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "attachments", att);
    return reply_json(r, 200, o);
}

static err get_incident(struct req *r)
{
    int64_t id;
    bool reveal;
    struct incident v;
    err e = req_param_id(r, 0, &id);
    if (e || (e = req_reveal(r, &reveal)))
        return e;
    if ((e = incident_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return audit_refusal(r->db, r->who, r->ip, "incident.read", "incident", id, e, NULL);
    json_t *o = incident_json(r->a, &v, reveal, false), *att = NULL, *tl = NULL;
    if ((e = attach_list(r->db, "incident", id, &att)) || (e = incident_timeline(r->db, id, &tl))) {
        json_decref(att);
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "attachments", att);
    json_object_set_new(o, "timeline", tl);
    json_object_set_new(o, "description",
                        str_or_null(reveal ? v.description : mask_address(r->a, v.description)));
    json_t *detail = v.detail ? json_loads(v.detail, 0, NULL) : NULL;
    if (detail && !reveal) {
        /* the declaration's personal answers stay hidden without reveal */
        json_object_del(detail, "native_place");
        json_object_del(detail, "department");
    }
    json_object_set_new(o, "declaration", detail ? detail : json_null());
    json_object_set_new(o, "close_reason", str_or_null(v.close_reason));
    json_t *task = json_null();
    if (v.task_id) {
        struct task t;
        if (!(e = task_find(r->db, r->a, &r->who->scope, v.task_id, &t))) {
            task = json_object();
            json_set_id(task, "id", t.id);
            json_object_set_new(task, "state", json_string(vocab_name(&task_state_vocab, t.state)));
            json_object_set_new(task, "state_label",
                                json_string(vocab_label(&task_state_vocab, t.state)));
            json_object_set_new(task, "deadline", json_integer(t.deadline));
            json_object_set_new(task, "priority",
                                json_string(vocab_name(&task_priority_vocab, t.priority)));
        } else if (e == E_NOT_FOUND) {
            err_clear(); /* the task's grid lies outside the caller's scope */
        } else {
            json_decref(o);
            return e;
        }
    }
    json_object_set_new(o, "task", task);
    req_audit(r, reveal ? "incident.reveal" : "incident.read", "incident", id, "ok", "");
    return reply_json(r, 200, o);
}

static const struct jfield close_fields[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, INCIDENT_REASON_MAX, "结案原因", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_close(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    const char *reason = json_str(r->body, "reason");
    if (e || (e = check_text(reason, "reason", "结案原因", INCIDENT_REASON_MAX, TEXT_REQUIRED)))
        return e;
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = incident_close(r->db, r->a, r->who, id, reason))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "incident.close", "incident", id, e, NULL);
    }
    req_audit(r, "incident.close", "incident", id, "ok", "");
    if ((e = db_release(r->db, true)))
        return e;
    struct incident v;
    if ((e = incident_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return e;
    return reply_json(r, 200, incident_json(r->a, &v, false, false));
}

static const struct jfield route_fields[] = {
    {"action", J_STRING, JF_REQUIRED, 0, 0, "分流方式", NULL, &routing_action_vocab},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err post_route(struct req *r)
{
    int64_t id;
    enum incident_state state;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    enum routing_action action =
        (enum routing_action)vocab_parse(&routing_action_vocab, json_str(r->body, "action"));
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    if ((e = incident_route(r->db, r->a, r->who, id, action, &state))) {
        err_ignore(db_release(r->db, false));
        return audit_refusal(r->db, r->who, r->ip, "incident.route", "incident", id, e, NULL);
    }
    req_audit(r, "incident.route", "incident", id, "ok",
              arena_printf(r->a, "action=%s", vocab_name(&routing_action_vocab, action)));
    if ((e = db_release(r->db, true)))
        return e;
    struct incident v;
    if ((e = incident_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return e;
    return reply_json(r, 200, incident_json(r->a, &v, false, false));
}

/* ---- routing rules -------------------------------------------------------------------- */

static json_t *rules_json(const struct routing_rule *rules, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct routing_rule *u = &rules[i];
        json_t *o = json_object();
        json_object_set_new(o, "source", json_string(vocab_name(&case_source_vocab, u->source)));
        json_object_set_new(o, "source_label",
                            json_string(vocab_label(&case_source_vocab, u->source)));
        json_object_set_new(o, "action", json_string(vocab_name(&routing_action_vocab, u->action)));
        json_object_set_new(o, "action_label",
                            json_string(vocab_label(&routing_action_vocab, u->action)));
        json_object_set_new(o, "priority",
                            json_string(vocab_name(&task_priority_vocab, (size_t)u->priority)));
        json_object_set_new(o, "deadline_hours", json_integer(u->deadline_hours));
        json_object_set_new(o, "enabled", json_boolean(u->enabled));
        json_object_set_new(o, "updated_at", json_integer(u->updated_at));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:o}", "items", arr);
}

static err reply_rules(struct req *r)
{
    struct routing_rule rules[16];
    size_t n;
    err e = routing_rules_list(r->db, rules, &n);
    return e ? e : reply_json(r, 200, rules_json(rules, n));
}

static err get_rules(struct req *r)
{
    req_audit(r, "routing_rule.read", "routing_rule", 0, "ok", "");
    return reply_rules(r);
}

static const char *const rule_sources[] = {"resident", "self_check", "grid_patrol", "canvass",
                                           "doctor",   "checkpoint", "cdc",         "enterprise",
                                           "contact",  NULL};

static const struct jfield rule_fields[] = {
    {"source", J_STRING, JF_REQUIRED, 0, 0, "上报来源", rule_sources},
    {"action", J_STRING, JF_REQUIRED, 0, 0, "分流方式", NULL, &routing_action_vocab},
    {"priority", J_STRING, JF_REQUIRED, 0, 0, "优先级", NULL, &task_priority_vocab},
    {"deadline_hours", J_INT, JF_REQUIRED, 1, INCIDENT_DEADLINE_HOURS_MAX, "核实时限（小时）",
     NULL},
    {"enabled", J_BOOL, 0, 0, 0, "启用", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static err put_rules(struct req *r)
{
    json_t *b = r->body;
    struct routing_rule u = {
        .source = (enum case_source)vocab_parse(&case_source_vocab, json_str(b, "source")),
        .action = (enum routing_action)vocab_parse(&routing_action_vocab, json_str(b, "action")),
        .priority = vocab_parse(&task_priority_vocab, json_str(b, "priority")),
        .deadline_hours = (int)json_int(b, "deadline_hours", 0),
        .enabled = json_bool(b, "enabled", true),
    };
    db_hold(r->db); /* the entry commits with the write (security/audit.h) */
    err e = routing_rule_set(r->db, &u, r->who->user_id);
    if (e) {
        err_ignore(db_release(r->db, false));
        return e;
    }
    req_audit(r, "routing_rule.update", "routing_rule", 0, "ok",
              arena_printf(r->a, "source=%s action=%s enabled=%d", json_str(b, "source"),
                           json_str(b, "action"), u.enabled));
    if ((e = db_release(r->db, true)))
        return e;
    return reply_rules(r);
}

const struct route incident_routes[] = {
    {M_POST, "/api/v1/me/reports", post_my_report, PERM_SELF, ROUTE_BODY_LATE, resident_fields,
     "市民疫情上报（本人或他人；企事业用户提交人员申报表）", "incident", 0},
    {M_GET, "/api/v1/me/reports", get_my_reports, PERM_SELF, 0, NULL, "我的上报记录", "incident",
     0},
    {M_GET, "/api/v1/me/reports/{id}", get_my_report, PERM_SELF, 0, NULL, "我的上报详情",
     "incident", 0},
    {M_POST, "/api/v1/reports", post_report, PERM_CASE_REPORT, ROUTE_BODY_LATE, staff_fields,
     "工作人员上报（巡查、摸排、医生、疾控、企业、密接；卡口一键上报）", "incident", 0},
    {M_GET, "/api/v1/incidents", get_incidents, PERM_CASE_READ, 0, NULL,
     "上报事件收件箱（来源、类别、状态、区划、时间、姓名或电话筛选；format=csv|xlsx 导出）",
     "incident", 0},
    {M_GET, "/api/v1/incidents/{id}", get_incident, PERM_CASE_READ, 0, NULL,
     "上报事件详情（附件、时间线、核实任务）", "incident", 0},
    {M_POST, "/api/v1/incidents/{id}/close", post_close, PERM_CASE_MANAGE, 0, close_fields,
     "结案（重复或不实上报，无需入户）", "incident", 0},
    {M_POST, "/api/v1/incidents/{id}/route", post_route, PERM_CASE_MANAGE, 0, route_fields,
     "手动分派（纳入观察或派发入户核实）", "incident", 0},
    {M_GET, "/api/v1/routing-rules", get_rules, PERM_CASE_READ, 0, NULL, "上报分流规则", "incident",
     0},
    {M_PUT, "/api/v1/routing-rules", put_rules, PERM_CASE_RULES, 0, rule_fields,
     "修改一个来源的分流规则", "incident", 0},
};
const size_t incident_routes_n = sizeof incident_routes / sizeof incident_routes[0];

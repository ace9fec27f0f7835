/*
 * HTTP handlers of community services (service.h; docs/community-services.md):
 *
 *   POST   /api/v1/me/emergency               a resident's emergency call: 201 a new call,
 *                                             200 the call already open
 *   GET    /api/v1/me/emergency               the resident's newest call and its state
 *   GET    /api/v1/service/emergency          calls in scope; state=open|handled, paging,
 *                                             reveal=1 (person.reveal) for full values
 *   GET    /api/v1/service/emergency/{id}     one call (reveal=1 as the list)
 *   POST   /api/v1/service/emergency/{id}/handle   record the outcome {note} (alert.ack)
 *   GET    /api/v1/service/duty               duty roster in scope; region=, all=1 with past
 *   POST   /api/v1/service/duty               add {region_code, user_id, from, to}
 *   DELETE /api/v1/service/duty/{id}          remove an entry
 *   GET    /api/v1/service/duty/candidates    staff who may be on duty for ?region= (a community)
 *   GET    /api/v1/me/care                    the resident's health monitoring: enrolled, today
 *   POST   /api/v1/me/care/checkin            今日平安 {temperature?, feeling?}: 201, 200 if done
 *   GET    /api/v1/service/care/people        enrolled people in scope with the day's check-in;
 *                                             date=YYYY-MM-DD, state=checked|missing, paging
 *   POST   /api/v1/service/care/checkins      staff record a check-in {person_id, ...}
 *   POST   /api/v1/service/care/enrolments    enrol {person_id}
 *   DELETE /api/v1/service/care/enrolments/{person_id}   remove from monitoring
 *   GET    /api/v1/service/care/stats         per community: enrolled, checked, missing; date=
 *   POST   /api/v1/service/care/sweep         make the missed-day tasks of {date} (default
 *                                             yesterday) now, as the periodic sweep does
 *
 * Calls name people (masked) and where they live: reads are audited, full
 * values as person.reveal. Every write is audited with its refusals.
 */
#include <stdint.h>
#include <string.h>

#include "alert/alert.h"
#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "http/export.h"
#include "http/write.h"
#include "security/audit.h"
#include "service/service.h"
#include "volunteer/volunteer.h"

static err residents_only(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    return E_OK;
}

/* ---- the resident's side ------------------------------------------------------ */

/* created: 1 or 0 after a press (a new call or the open one), -1 for a read */
static err reply_mine(struct req *r, int status, int created)
{
    json_t *call;
    err e = service_emergency_mine(r->db, r->who, &call);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "call", call ? call : json_null());
    if (created >= 0)
        json_object_set_new(o, "created", json_boolean(created));
    return reply_json(r, status, o);
}

static err post_my_emergency(struct req *r)
{
    err e = residents_only(r);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "emergency.call", "person", 0, e, NULL);
    int64_t id = 0;
    bool created = false;
    db_hold(r->db); /* the entry commits with the call (security/audit.h) */
    e = service_emergency_call(r->db, r->a, r->who, now_ms(), &id, &created);
    if ((e = req_write_done(r, e, "emergency.call", "emergency_call", id,
                            created ? "created" : "open")))
        return e;
    return reply_mine(r, created ? 201 : 200, created ? 1 : 0);
}

static err get_my_emergency(struct req *r)
{
    err e = residents_only(r);
    return e ? e : reply_mine(r, 200, -1);
}

/* ---- staff: calls ----------------------------------------------------------- */

static err reveal_of(struct req *r, bool *reveal_r)
{
    return req_reveal(r, reveal_r);
}

static err get_calls(struct req *r)
{
    struct emergency_filter f = {.state = -1};
    const char *st = req_query(r, "state");
    if (st && *st) {
        if (!strcmp(st, "open"))
            f.state = 0;
        else if (!strcmp(st, "handled"))
            f.state = 1;
        else
            return err_set(E_INPUT, "invalid_value", "state", "状态只能为 open 或 handled");
    }
    bool reveal;
    err e = req_paging(r, &f.page, &f.page_size);
    if (e || (e = reveal_of(r, &reveal)))
        return e;
    json_t *items;
    int64_t total = 0;
    if ((e = service_emergency_list(r->db, r->a, &r->who->scope, &f, reveal, &items, &total)))
        return e;
    req_audit(r, reveal ? "person.reveal" : "emergency.list", "emergency_call", 0, "ok",
              arena_printf(r->a, "view=emergency count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static err get_call(struct req *r)
{
    int64_t id;
    bool reveal;
    err e = req_param_id(r, 0, &id);
    if (e || (e = reveal_of(r, &reveal)))
        return e;
    json_t *item;
    if ((e = service_emergency_get(r->db, r->a, &r->who->scope, id, reveal, &item)))
        return audit_refusal(r->db, r->who, r->ip, "emergency.read", "emergency_call", id, e, NULL);
    req_audit(r, reveal ? "person.reveal" : "emergency.read", "emergency_call", id, "ok",
              "view=emergency");
    return reply_json(r, 200, item);
}

static const struct jfield handle_body[] = {
    {"note", J_STRING, JF_REQUIRED, 1, ALERT_NOTE_MAX, "处置结果", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_handle(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "emergency.handle", "emergency_call", id, e,
                             NULL);
    db_hold(r->db);
    e = service_emergency_handle(r->db, r->a, &r->who->scope, id, r->who->user_id,
                                 json_str(r->body, "note"));
    if ((e = req_write_done(r, e, "emergency.handle", "emergency_call", id, NULL)))
        return e;
    json_t *item;
    if ((e = service_emergency_get(r->db, r->a, &r->who->scope, id, false, &item)))
        return e;
    return reply_json(r, 200, item);
}

/* ---- staff: duty roster -------------------------------------------------------- */

static err get_duty(struct req *r)
{
    int64_t region = 0;
    const char *v = req_query(r, "region");
    if (v && *v) {
        enum region_level lv;
        if ((region = regcode_parse(v, &lv)) <= 0 || lv != LEVEL_COMMUNITY)
            return err_set(E_INPUT, "invalid_region", "region", "请选择社区");
    }
    const char *all = req_query(r, "all");
    if (all && *all && strcmp(all, "0") && strcmp(all, "1"))
        return err_set(E_INPUT, "invalid_parameter", "all", "all 只能为 0 或 1");
    int64_t now = now_ms();
    json_t *items;
    err e =
        service_duty_list(r->db, &r->who->scope, region, all && *all == '1' ? 0 : now, now, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static err get_candidates(struct req *r)
{
    enum region_level lv;
    const char *v = req_query(r, "region");
    int64_t code = v ? regcode_parse(v, &lv) : -1;
    json_t *items;
    err e = service_duty_candidates(r->db, &r->who->scope, code, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static const struct jfield duty_body[] = {
    {"region_code", J_STRING, JF_REQUIRED, 1, 18, "社区", NULL, NULL},
    {"user_id", J_STRING, JF_REQUIRED, 1, 20, "值班人员", NULL, NULL},
    {"from", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "开始时间", NULL, NULL},
    {"to", J_INT, JF_REQUIRED, 1, INT64_MAX / 2, "结束时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_duty(struct req *r)
{
    enum region_level lv;
    struct service_duty_new n = {
        .region_code = regcode_parse(json_str(r->body, "region_code"), &lv),
        .user_id = id_parse(json_str(r->body, "user_id")),
        .from_at = json_int(r->body, "from", 0),
        .to_at = json_int(r->body, "to", 0),
        .created_by = r->who->user_id,
    };
    int64_t id = 0;
    err e = E_OK;
    if (n.user_id <= 0)
        e = err_set(E_INPUT, "invalid_user", "user_id", "值班人员须为管辖该社区的工作人员");
    db_hold(r->db);
    if (!e)
        e = service_duty_add(r->db, &r->who->scope, &n, &id);
    if ((e = req_write_done(r, e, "service.duty.add", "service_duty", id, NULL)))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", id);
    return reply_json(r, 201, o);
}

static err delete_duty(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "service.duty.delete", "service_duty", id, e,
                             NULL);
    db_hold(r->db);
    e = service_duty_delete(r->db, &r->who->scope, id);
    if ((e = req_write_done(r, e, "service.duty.delete", "service_duty", id, NULL)))
        return e;
    return reply_empty(r);
}

/* ---- elderly health monitoring ------------------------------------------------- */

static err parse_day(struct req *r, const char *v, int64_t *day_r)
{
    *day_r = china_day(now_ms());
    if (v && *v && !china_date_day(v, day_r))
        return err_set(E_INPUT, "invalid_date", "date", "日期格式应为 YYYY-MM-DD");
    (void)r;
    return E_OK;
}

static const struct jfield checkin_body[] = {
    {"person_id", J_STRING, 0, 1, 20, "人员", NULL, NULL},
    {"temperature", J_NUMBER, JF_NULLABLE, 0, 0, "体温", NULL, NULL},
    {"feeling", J_STRING, JF_NULLABLE, 0, 0, "身体状况", NULL, &care_feeling_vocab},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static void checkin_of_body(struct req *r, struct care_checkin_new *n)
{
    const char *f = json_str(r->body, "feeling");
    int k = f ? vocab_parse(&care_feeling_vocab, f) : 0;
    *n = (struct care_checkin_new){
        .person_id = id_parse(json_str(r->body, "person_id")),
        .temperature = json_num(r->body, "temperature", 0),
        .feeling = k > 0 ? k : CARE_GOOD,
        .by_user = r->who->user_id,
        .by_staff = !r->who->resident,
    };
}

static err get_my_care(struct req *r)
{
    json_t *o;
    err e = residents_only(r);
    if (e || (e = service_care_mine(r->db, r->who, now_ms(), &o)))
        return e;
    return reply_json(r, 200, o);
}

static err post_my_checkin(struct req *r)
{
    err e = residents_only(r);
    if (!e && json_has(r->body, "person_id"))
        e = err_set(E_INPUT, "unknown_field", "person_id", "居民只能为本人报平安");
    if (e)
        return e;
    struct care_checkin_new n;
    checkin_of_body(r, &n);
    json_t *item = NULL;
    bool created = false;
    db_hold(r->db);
    e = service_care_checkin(r->db, r->a, NULL, r->who, &n, now_ms(), &item, &created);
    if ((e = req_write_done(r, e, "care.checkin", "person", r->who->person_id,
                            created ? "self" : "self unchanged"))) {
        json_decref(item);
        return e;
    }
    json_object_set_new(item, "created", json_boolean(created));
    return reply_json(r, created ? 201 : 200, item);
}

static err post_staff_checkin(struct req *r)
{
    struct care_checkin_new n;
    checkin_of_body(r, &n);
    json_t *item = NULL;
    bool created = false;
    err e = n.person_id > 0 ? E_OK : err_set(E_INPUT, "required", "person_id", "请选择人员");
    db_hold(r->db);
    /* A volunteer (a resident: root scope) acts only in their own community:
     * a person elsewhere is not found, as outside a staff member's scope. */
    int64_t community = 0;
    if (!e)
        e = volunteer_region(r->db, r->who, &community);
    struct scope sc = community ? scope_of(community) : r->who->scope;
    if (!e)
        e = service_care_checkin(r->db, r->a, &sc, r->who, &n, now_ms(), &item, &created);
    if ((e = req_write_done(r, e, "care.checkin", "person", n.person_id,
                            created ? "staff" : "staff unchanged"))) {
        json_decref(item);
        return e;
    }
    json_object_set_new(item, "created", json_boolean(created));
    return reply_json(r, created ? 201 : 200, item);
}

static err get_care_people(struct req *r)
{
    struct care_filter f = {.state = -1};
    const char *st = req_query(r, "state");
    if (st && *st) {
        if (!strcmp(st, "missing"))
            f.state = 0;
        else if (!strcmp(st, "checked"))
            f.state = 1;
        else
            return err_set(E_INPUT, "invalid_value", "state", "状态只能为 checked 或 missing");
    }
    err e = parse_day(r, req_query(r, "date"), &f.day);
    if (e || (e = req_paging(r, &f.page, &f.page_size)))
        return e;
    json_t *items;
    int64_t total = 0;
    if ((e = service_care_people(r->db, r->a, &r->who->scope, &f, &items, &total)))
        return e;
    req_audit(r, "care.list", "person", 0, "ok",
              arena_printf(r->a, "count=%zu", json_array_size(items)));
    return reply_page(r, items, total, f.page, f.page_size);
}

static const struct jfield enrol_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "人员", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err enrol(struct req *r, int64_t id, bool active)
{
    err e = id > 0 ? E_OK : err_set(E_NOT_FOUND, "not_found", "person_id", "人员不存在");
    db_hold(r->db);
    if (!e)
        e = service_care_enrol(r->db, &r->who->scope, id, active, r->who->user_id);
    if ((e = req_write_done(r, e, active ? "care.enrol" : "care.unenrol", "person", id, NULL)))
        return e;
    return reply_json(r, 200, json_pack("{s:b}", "enrolled", active));
}

static err post_enrolment(struct req *r)
{
    return enrol(r, id_parse(json_str(r->body, "person_id")), true);
}

static err delete_enrolment(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    return e ? e : enrol(r, id, false);
}

static err get_care_stats(struct req *r)
{
    int64_t day;
    err e = parse_day(r, req_query(r, "date"), &day);
    json_t *items;
    if (e || (e = service_care_stats(r->db, r->a, &r->who->scope, day, &items)))
        return e;
    char date[CHINA_TIME_LEN];
    service_day_text(day, date);
    return reply_json(r, 200, json_pack("{s:s,s:o}", "date", date, "items", items));
}

static const struct jfield sweep_body[] = {
    {"date", J_STRING, 0, 10, 10, "日期", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_care_sweep(struct req *r)
{
    int64_t now = now_ms(), day = china_day(now) - 1, n = 0;
    const char *v = json_str(r->body, "date");
    err e = E_OK;
    if (v && !china_date_day(v, &day))
        e = err_set(E_INPUT, "invalid_date", "date", "日期格式应为 YYYY-MM-DD");
    if (!e)
        e = service_care_sweep(r->db, day, now, &n);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "care.sweep", "person", 0, e, NULL);
    req_audit(r, "care.sweep", "person", 0, "ok", arena_printf(r->a, "tasks=%lld", (long long)n));
    return reply_json(r, 200, json_pack("{s:I}", "tasks", (json_int_t)n));
}

const struct route service_routes[] = {
    {M_POST, "/api/v1/me/emergency", post_my_emergency, PERM_SELF, 0, NULL,
     "紧急呼叫（居民）：通知社区值班人员", "self", 0},
    {M_GET, "/api/v1/me/emergency", get_my_emergency, PERM_SELF, 0, NULL,
     "我的紧急呼叫及处理情况（居民）", "self", 0},
    {M_GET, "/api/v1/service/emergency", get_calls, PERM_SERVICE_READ, 0, NULL,
     "辖区内紧急呼叫（state=open|handled）", "service", 0},
    {M_GET, "/api/v1/service/emergency/{id}", get_call, PERM_SERVICE_READ, 0, NULL, "紧急呼叫详情",
     "service", 0},
    {M_POST, "/api/v1/service/emergency/{id}/handle", post_handle, PERM_ALERT_ACK, 0, handle_body,
     "处置紧急呼叫（记录处置结果）", "service", 0},
    {M_GET, "/api/v1/service/duty", get_duty, PERM_SERVICE_READ, 0, NULL,
     "社区值班表（region 社区，all=1 含已结束）", "service", 0},
    {M_POST, "/api/v1/service/duty", post_duty, PERM_SERVICE_MANAGE, 0, duty_body, "添加值班",
     "service", 0},
    {M_GET, "/api/v1/service/duty/candidates", get_candidates, PERM_SERVICE_MANAGE, 0, NULL,
     "可排班的工作人员（region 社区）", "service", 0},
    {M_DELETE, "/api/v1/service/duty/{id}", delete_duty, PERM_SERVICE_MANAGE, 0, NULL, "删除值班",
     "service", 0},
    {M_GET, "/api/v1/me/care", get_my_care, PERM_SELF, 0, NULL, "我的健康监测（居民）", "self", 0},
    {M_POST, "/api/v1/me/care/checkin", post_my_checkin, PERM_SELF, 0, checkin_body,
     "今日平安打卡（居民）", "self", 0},
    {M_GET, "/api/v1/service/care/people", get_care_people, PERM_SERVICE_READ, 0, NULL,
     "健康监测人员及当日打卡（date, state=checked|missing）", "service", 0},
    {M_POST, "/api/v1/service/care/checkins", post_staff_checkin, PERM_ASSIST_WORK, 0, checkin_body,
     "代老人报平安", "service", 0},
    {M_POST, "/api/v1/service/care/enrolments", post_enrolment, PERM_SERVICE_MANAGE, 0, enrol_body,
     "纳入健康监测", "service", 0},
    {M_DELETE, "/api/v1/service/care/enrolments/{id}", delete_enrolment, PERM_SERVICE_MANAGE, 0,
     NULL, "移出健康监测", "service", 0},
    {M_GET, "/api/v1/service/care/stats", get_care_stats, PERM_SERVICE_READ, 0, NULL,
     "健康监测统计（按社区）", "service", 0},
    {M_POST, "/api/v1/service/care/sweep", post_care_sweep, PERM_SERVICE_MANAGE, 0, sweep_body,
     "立即检查某日未打卡并派发任务", "service", 0},
};
const size_t service_routes_n = sizeof service_routes / sizeof service_routes[0];

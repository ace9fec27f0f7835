/*
 * HTTP handlers of the connectors (connect.h; docs/exchange.md
 * "Connectors"):
 *
 *   GET  /api/v1/exchange/connectors       which connectors are configured
 *                                          (exchange.read)
 *   POST /api/v1/exchange/police-checks    公安核验 of a person {person_id,
 *                                          photo?} (person.write, in scope),
 *                                          audited; a match verifies
 *   GET  /api/v1/persons/{id}/police-checks the person's checks (person.read)
 *   GET  /api/v1/me/telecom                the consent text, whether the
 *                                          service is configured, the latest
 *                                          answer (resident)
 *   POST /api/v1/me/telecom                query one's own visited places
 *                                          {consent: true, version} (resident),
 *                                          audited, rate limited
 *   GET  /api/v1/stats/situation           national and provincial daily
 *                                          figures ?area=&from=&to=
 *                                          (stats.read)
 *   POST /api/v1/exchange/situation/import import now (exchange.admin), audited
 *   GET  /api/v1/stats/platforms           外部平台疫情: each platform's latest
 *                                          figures and trends (stats.read)
 *   POST /api/v1/exchange/platforms/sync   exchange with every platform now
 *                                          (exchange.admin), audited
 *   POST /api/v1/incidents/{id}/urban      推送数字城管 {note} (case.manage, in
 *                                          scope), audited; the case number
 *   GET  /api/v1/incidents/{id}/urban      the city's case and its state
 *   POST /api/v1/exchange/urban/grids      the city's grid division into the
 *                                          region tree {apply}: preview or
 *                                          import (region.write, in scope)
 *
 * Every call to the outside runs on the offload worker (job/offload.h):
 * the handler refuses on its loop what it can (not configured, outside the
 * scope, no consent), then queues the run.
 */
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "base/json.h"
#include "base/time.h"
#include "case/case.h"
#include "exchange/connect.h"
#include "http/write.h"
#include "job/offload.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/crypto.h"

/* The interval between two telecom queries of one resident
 * (FK_TELECOM_INTERVAL, cli.c). */
static int64_t telecom_interval_s = TELECOM_INTERVAL_DEFAULT;

void connect_telecom_interval_set(int64_t s)
{
    telecom_interval_s = s;
}

static err not_configured(const char *label)
{
    return err_set(E_UNAVAILABLE, "connector_not_configured", NULL,
                   "尚未配置%s（请在 数据交换 > 对接系统 中添加）", label);
}

/* ---- the connectors' state ---------------------------------------------------------- */

static err get_connectors(struct req *r)
{
    static const struct {
        const char *kind, *label;
    } all[] = {{CONNECT_POLICE, "公安身份核验"},
               {CONNECT_TELECOM, "运营商到访地查询"},
               {CONNECT_SITUATION, "全国及各省疫情数据"},
               {CONNECT_URBAN, "数字城管"},
               {CONNECT_PLATFORM, "其他疫情平台"}};
    json_t *items = json_array();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        json_array_append_new(items,
                              json_pack("{s:s,s:s,s:b}", "kind", all[i].kind, "label", all[i].label,
                                        "configured", connect_configured(r->db, all[i].kind)));
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* ---- police identity verification ------------------------------------------------------ */

static const struct jfield police_body[] = {
    {"person_id", J_STRING, JF_REQUIRED, 1, 20, "人员", NULL, NULL},
    {"photo", J_STRING, JF_NULLABLE, 0, 4 * (POLICE_PHOTO_MAX / 3) + 4, "人脸照片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const char *photo_of(json_t *body)
{
    const char *s = json_string_value(json_object_get(body, "photo"));
    return s && *s ? s : NULL;
}

static json_t *answer_json(const struct police_answer *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "result", json_string(a->match ? "match" : "no_match"));
    json_object_set_new(o, "result_label", json_string(a->match ? "一致" : "不一致"));
    json_object_set_new(o, "score", a->score >= 0 ? json_real(a->score) : json_null());
    return o;
}

static err run_police(struct offload *q, int *status_r, json_t **reply_r)
{
    int64_t id = id_parse(json_string_value(json_object_get(q->body, "person_id")));
    const char *photo = photo_of(q->body);
    struct person p;
    err e = person_find(q->d, q->a, &q->who->scope, id, &p);
    struct police_answer idn = {0}, face = {.score = -1};
    if (!e)
        e = police_check(q->d, q->a, POLICE_IDENTITY, p.name, p.id_number, NULL, &idn);
    if (!e && photo)
        e = police_check(q->d, q->a, POLICE_FACE, p.name, p.id_number, photo, &face);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "person.police_check", "person", id, e,
                             photo ? "face=1" : NULL);
    bool match = idn.match && (!photo || face.match), verified = false;
    if ((e = db_begin(q->d)))
        return e;
    e = police_check_store(q->d, id, POLICE_IDENTITY, &idn, "staff", q->who->user_id);
    if (!e && photo)
        e = police_check_store(q->d, id, POLICE_FACE, &face, "staff", q->who->user_id);
    if (!e && match && p.unverified && !(e = person_verify(q->d, q->a, q->who, id, &p))) {
        struct audit_entry ae = {.user_id = q->who->user_id,
                                 .username = q->who->username,
                                 .role = q->who->roles,
                                 .ip = q->ip,
                                 .action = "person.verify",
                                 .object_type = "person",
                                 .object_id = id,
                                 .result = "ok",
                                 .detail = "police_check=match"};
        e = audit_log(q->d, &ae);
        verified = true;
    }
    const char *detail = photo
                             ? arena_printf(q->a, "identity=%s face=%s score=%.1f verified=%d",
                                            idn.match ? "match" : "no_match",
                                            face.match ? "match" : "no_match", face.score, verified)
                             : arena_printf(q->a, "identity=%s verified=%d",
                                            idn.match ? "match" : "no_match", verified);
    if ((e = offload_commit(q, e, "person.police_check", "person", id, detail)))
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "match", json_boolean(match));
    json_object_set_new(o, "identity", answer_json(&idn));
    json_object_set_new(o, "face", photo ? answer_json(&face) : json_null());
    json_object_set_new(o, "verified_now", json_boolean(verified));
    json_object_set_new(o, "verified", json_boolean(!p.unverified));
    *reply_r = o;
    *status_r = 200;
    return E_OK;
}

static err post_police_check(struct req *r)
{
    int64_t id = id_parse(json_string_value(json_object_get(r->body, "person_id")));
    if (id <= 0)
        return err_set(E_INPUT, "invalid_id", "person_id", "人员编号不正确");
    const char *photo = photo_of(r->body);
    if (photo) {
        size_t n = strlen(photo), got;
        uint8_t *buf = arena_alloc(r->a, n);
        /* a JPEG (FF D8 FF) or a PNG (89 'P' 'N' 'G'): what a camera or a
         * scan gives; anything else is not a face the police can compare */
        if (!buf || !base64_decode(photo, n, buf, n, &got) || got < 8 || got > POLICE_PHOTO_MAX ||
            !((buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) ||
              (buf[0] == 0x89 && buf[1] == 'P' && buf[2] == 'N' && buf[3] == 'G')))
            return err_set(E_INPUT, "invalid_photo", "photo",
                           "人脸照片应为 JPEG 或 PNG 图片（base64），不超过 2MB");
    }
    struct person p;
    err e = person_find(r->db, r->a, &r->who->scope, id, &p);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "person.police_check", "person", id, e, NULL);
    if (!police_configured(r->db))
        return not_configured("公安核验服务");
    return job_offload(r, run_police, NULL);
}

static err get_police_checks(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    struct person p;
    if (e || (e = person_find(r->db, r->a, &r->who->scope, id, &p)))
        return e;
    json_t *items;
    if ((e = police_checks_json(r->db, id, 20, &items)))
        return e;
    req_audit(r, "person.police_checks", "person", id, "ok", NULL);
    return reply_json(
        r, 200, json_pack("{s:o,s:b}", "items", items, "configured", police_configured(r->db)));
}

/* ---- telecom visited places ------------------------------------------------------------- */

static err get_telecom(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    json_t *latest;
    err e = telecom_latest_json(r->db, r->who->user_id, &latest);
    if (e)
        return e;
    int64_t next = 0;
    json_t *at = json_is_object(latest) ? json_object_get(latest, "at") : NULL;
    if (at)
        next = json_integer_value(at) + telecom_interval_s * 1000;
    json_t *o = json_object();
    json_object_set_new(o, "configured", json_boolean(connect_configured(r->db, CONNECT_TELECOM)));
    json_object_set_new(
        o, "consent",
        json_pack("{s:s,s:s}", "version", TELECOM_CONSENT_VERSION, "text", telecom_consent_text()));
    json_object_set_new(o, "days", json_integer(TELECOM_DAYS));
    json_object_set_new(o, "latest", latest);
    json_object_set_new(o, "next_at", next > now_ms() ? json_integer(next) : json_null());
    return reply_json(r, 200, o);
}

static const struct jfield telecom_body[] = {
    {"consent", J_BOOL, JF_REQUIRED, 0, 0, "同意查询", NULL, NULL},
    {"version", J_STRING, JF_REQUIRED, 1, 20, "告知书版本", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err run_telecom(struct offload *q, int *status_r, json_t **reply_r)
{
    struct telecom_answer ans;
    err e = telecom_fetch(q->d, q->a, q->who, telecom_interval_s, now_ms(), &ans);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "telecom.query", "person", q->who->person_id, e,
                             NULL);
    int64_t id = 0;
    json_t *o = NULL;
    if (!(e = db_begin(q->d)))
        e = telecom_store(q->d, q->who, &ans, &id, &o);
    /* the places are the resident's own: the entry counts them, never names them */
    if ((e = offload_commit(q, e, "telecom.query", "person", q->who->person_id,
                            arena_printf(q->a, "query=%lld places=%zu consent=%s", (long long)id,
                                         ans.n, TELECOM_CONSENT_VERSION)))) {
        json_decref(o);
        return e;
    }
    *reply_r = o;
    *status_r = 201;
    return E_OK;
}

static err post_telecom(struct req *r)
{
    if (!r->who->resident)
        return err_set(E_FORBIDDEN, "residents_only", NULL, "仅居民账号可以使用此功能");
    if (!json_is_true(json_object_get(r->body, "consent")))
        return err_set(E_INPUT, "telecom_consent_required", "consent",
                       "请先阅读并勾选同意查询本人手机号码的到访地");
    if (strcmp(json_string_value(json_object_get(r->body, "version")), TELECOM_CONSENT_VERSION))
        return err_set(E_INPUT, "consent_outdated", "version", "告知内容已更新，请重新阅读并同意");
    if (!r->who->person_id)
        return err_set(E_NOT_FOUND, "person_not_registered", NULL,
                       "请先完成实名登记，再查询到访地");
    if (!connect_configured(r->db, CONNECT_TELECOM))
        return not_configured("运营商到访地查询服务");
    return job_offload(r, run_telecom, NULL);
}

/* ---- national and provincial situation -------------------------------------------------- */

static err get_situation(struct req *r)
{
    const char *area = req_query(r, "area"), *from = req_query(r, "from"), *to = req_query(r, "to");
    int64_t df, dt;
    char dfrom[CHINA_TIME_LEN], dto[CHINA_TIME_LEN];
    if (area && *area && (strlen(area) != 6 || strspn(area, "0123456789") != 6))
        return err_set(E_INPUT, "invalid_parameter", "area", "地区编码应为6位数字");
    if (from && *from && !china_date_day(from, &df))
        return err_set(E_INPUT, "invalid_parameter", "from", "开始日期应为 YYYY-MM-DD");
    if (to && *to && !china_date_day(to, &dt))
        return err_set(E_INPUT, "invalid_parameter", "to", "结束日期应为 YYYY-MM-DD");
    int64_t now = now_ms();
    if (!to || !*to) {
        china_time(now, dto);
        dto[10] = '\0';
        to = dto;
    }
    if (!from || !*from) {
        china_time(now - 30 * 24 * 3600 * 1000LL, dfrom);
        dfrom[10] = '\0';
        from = dfrom;
    }
    if (strcmp(from, to) > 0)
        return err_set(E_INPUT, "invalid_range", "from", "开始日期不能晚于结束日期");
    json_t *items;
    err e = situation_json(r->db, area && *area ? area : NULL, from, to, &items);
    if (e)
        return e;
    json_t *o = json_object();
    json_object_set_new(o, "from", json_string(from));
    json_object_set_new(o, "to", json_string(to));
    json_object_set_new(o, "configured",
                        json_boolean(connect_configured(r->db, CONNECT_SITUATION)));
    json_object_set_new(o, "items", items);
    return reply_json(r, 200, o);
}

static err run_situation(struct offload *q, int *status_r, json_t **reply_r)
{
    int64_t stored = 0, skipped = 0;
    err e = situation_import(q->d, q->a, now_ms(), &stored, &skipped);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "situation.import", "situation", 0, e, NULL);
    if ((e = db_begin(q->d)) ||
        (e = offload_commit(q, E_OK, "situation.import", "situation", 0,
                            arena_printf(q->a, "stored=%lld skipped=%lld", (long long)stored,
                                         (long long)skipped))))
        return e;
    *reply_r = json_pack("{s:I,s:I}", "stored", (json_int_t)stored, "skipped", (json_int_t)skipped);
    *status_r = 200;
    return E_OK;
}

static err post_situation_import(struct req *r)
{
    if (!connect_configured(r->db, CONNECT_SITUATION))
        return not_configured("疫情数据源");
    return job_offload(r, run_situation, NULL);
}

/* ---- digital urban management ------------------------------------------------------------ */

static const struct jfield urban_body[] = {
    {"note", J_STRING, JF_REQUIRED, 1, URBAN_NOTE_MAX, "推送说明", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err run_urban(struct offload *q, int *status_r, json_t **reply_r)
{
    int64_t id = json_integer_value(json_object_get(q->body, "incident_id"));
    json_t *o = NULL;
    err e =
        urban_push(q->d, q->a, q->who, id, json_string_value(json_object_get(q->body, "note")), &o);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "incident.urban_push", "incident", id, e, NULL);
    const char *no = json_string_value(json_object_get(o, "case_no"));
    if ((e = offload_commit(q, E_OK, "incident.urban_push", "incident", id,
                            arena_printf(q->a, "case_no=%s", no)))) {
        json_decref(o);
        return e;
    }
    *reply_r = o;
    *status_r = 201;
    return E_OK;
}

static err post_urban(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e)
        return e;
    struct incident v;
    if ((e = incident_find(r->db, r->a, &r->who->scope, 0, id, &v)) ||
        (e = urban_push_check(r->db, id)))
        return audit_refusal(r->db, r->who, r->ip, "incident.urban_push", "incident", id, e, NULL);
    if (!connect_configured(r->db, CONNECT_URBAN))
        return not_configured("数字城管系统");
    /* the worker gets the body only: the path's id goes with it */
    json_object_set_new(r->body, "incident_id", json_integer(id));
    return job_offload(r, run_urban, NULL);
}

static const struct jfield grids_body[] = {
    {"apply", J_BOOL, 0, 0, 0, "确认导入", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The city's grid division: {apply: false} (the default) previews, {apply:
 * true} imports; both answer region_import's report. */
static err run_grids(struct offload *q, int *status_r, json_t **reply_r)
{
    bool apply = json_is_true(json_object_get(q->body, "apply"));
    struct region_import_report rep;
    err e = urban_grids(q->d, q->a, &q->who->scope, apply, &rep);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "region.import_urban", "region", 0, e, NULL);
    if (apply && ((e = db_begin(q->d)) ||
                  (e = offload_commit(q, E_OK, "region.import_urban", "region", 0,
                                      arena_printf(q->a, "imported=%lld,updated=%lld,errors=%lld",
                                                   (long long)rep.imported, (long long)rep.updated,
                                                   (long long)rep.error_count)))))
        return e;
    json_t *errs = json_array();
    for (size_t i = 0; i < rep.n_errors; i++) {
        const struct region_import_error *x = &rep.errors[i];
        json_array_append_new(errs,
                              json_pack("{s:I,s:s,s:s,s:s}", "row", (json_int_t)x->row, "field",
                                        x->field, "code", x->code, "message", x->message));
    }
    *reply_r = json_pack("{s:b,s:I,s:I,s:o,s:I}", "applied", apply, "imported",
                         (json_int_t)rep.imported, "updated", (json_int_t)rep.updated, "errors",
                         errs, "error_count", (json_int_t)rep.error_count);
    *status_r = 200;
    return E_OK;
}

static err post_grids(struct req *r)
{
    if (!connect_configured(r->db, CONNECT_URBAN))
        return not_configured("数字城管系统");
    return job_offload(r, run_grids, NULL);
}

static err get_urban(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    struct incident v;
    if (e || (e = incident_find(r->db, r->a, &r->who->scope, 0, id, &v)))
        return e;
    json_t *o;
    if ((e = urban_case_find(r->db, r->a, id, &o)))
        return e;
    return reply_json(
        r, 200,
        json_pack("{s:o,s:b}", "case", o, "configured", connect_configured(r->db, CONNECT_URBAN)));
}

/* ---- other epidemic platforms -------------------------------------------------------------- */

static err get_platforms(struct req *r)
{
    json_t *items;
    err e = platform_situation_json(r->db, &items);
    if (e)
        return e;
    return reply_json(r, 200,
                      json_pack("{s:o,s:b}", "items", items, "configured",
                                connect_configured(r->db, CONNECT_PLATFORM)));
}

static err run_platforms(struct offload *q, int *status_r, json_t **reply_r)
{
    int64_t synced = 0, failed = 0;
    err e = platform_sync(q->d, q->a, now_ms(), &synced, &failed);
    if (e)
        return audit_refusal(q->d, q->who, q->ip, "platform.sync", "platform", 0, e, NULL);
    if ((e = db_begin(q->d)) ||
        (e = offload_commit(
             q, E_OK, "platform.sync", "platform", 0,
             arena_printf(q->a, "synced=%lld failed=%lld", (long long)synced, (long long)failed))))
        return e;
    *reply_r = json_pack("{s:I,s:I}", "synced", (json_int_t)synced, "failed", (json_int_t)failed);
    *status_r = 200;
    return E_OK;
}

static err post_platforms_sync(struct req *r)
{
    if (!connect_configured(r->db, CONNECT_PLATFORM))
        return not_configured("其他疫情平台");
    return job_offload(r, run_platforms, NULL);
}

const struct route connect_routes[] = {
    {M_GET, "/api/v1/exchange/connectors", get_connectors, PERM_EXCHANGE_READ, 0, NULL,
     "各对接功能（公安核验、运营商到访地、疫情数据源）是否已配置", "exchange", 0},
    {M_POST, "/api/v1/exchange/police-checks", post_police_check, PERM_PERSON_WRITE, 0, police_body,
     "公安核验：姓名与证件号码比对，可附人脸照片比对；一致时核验身份", "exchange", 3 * 1024 * 1024},
    {M_GET, "/api/v1/persons/{id}/police-checks", get_police_checks, PERM_PERSON_READ, 0, NULL,
     "人员的公安核验记录", "exchange", 0},
    {M_GET, "/api/v1/me/telecom", get_telecom, PERM_SELF, 0, NULL,
     "运营商到访地查询：告知内容、是否可用、最近一次结果（居民）", "self", 0},
    {M_POST, "/api/v1/me/telecom", post_telecom, PERM_SELF, 0, telecom_body,
     "查询本人手机号码近14天到访地（居民，需勾选同意）", "self", 4096},
    {M_GET, "/api/v1/stats/situation", get_situation, PERM_STATS_READ, 0, NULL,
     "全国及各省疫情数据（按日）", "stats", 0},
    {M_POST, "/api/v1/incidents/{id}/urban", post_urban, PERM_CASE_MANAGE, 0, urban_body,
     "将事件推送至数字城管系统（附推送说明，不含当事人姓名、电话、证件号码）", "exchange", 0},
    {M_GET, "/api/v1/incidents/{id}/urban", get_urban, PERM_CASE_READ, 0, NULL,
     "事件在数字城管系统中的案件编号和处置状态", "exchange", 0},
    {M_GET, "/api/v1/stats/platforms", get_platforms, PERM_STATS_READ, 0, NULL,
     "外部平台疫情：各疫情平台最近一次提供的疫情数据和趋势", "stats", 0},
    {M_POST, "/api/v1/exchange/platforms/sync", post_platforms_sync, PERM_EXCHANGE_ADMIN, 0, NULL,
     "立即与其他疫情平台交换疫情数据（发送本平台数据，获取对方数据）", "exchange", 0},
    {M_POST, "/api/v1/exchange/urban/grids", post_grids, PERM_REGION_WRITE, 0, grids_body,
     "从数字城管系统导入网格划分（apply=false 预览，apply=true 导入）", "exchange", 0},
    {M_POST, "/api/v1/exchange/situation/import", post_situation_import, PERM_EXCHANGE_ADMIN, 0,
     NULL, "立即从疫情数据源导入全国及各省疫情数据", "exchange", 0},
};
const size_t connect_routes_n = sizeof connect_routes / sizeof connect_routes[0];

/*
 * Checks (体征核查) of people on the observation list, self-checks, the
 * alerts and tasks they set off, transfer proposals, messages to the
 * doctor and the follow-up of discharged patients (issue 9, seed 001
 * §4.1.6, §4.1.8, seed 002 二(一)2 b-c; docs/cases.md "Checks").
 *
 * Everything here happens inside the caller's transaction: a check and the
 * alert, tasks and timeline steps it causes commit together or not at all.
 * The sweep (check_sweep) claims each occasion with a row update or insert
 * before it alerts, so several servers sweeping one database alert once.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/log.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "case/check.h"
#include "case/internal.h"
#include "health/health.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "stats/stats.h"
#include "task/task.h"
#include "db/periodic.h"

#define HOUR_MS      3600000LL
#define TEMP_MIN     34
#define TEMP_MAX     43
#define DOOR_NO_MAX  50
#define EXPORT_MAX   10000
#define FOLLOW_UPS   4 /* days in a rule's follow_up_days */
#define TRANSFER_DUE (4 * HOUR_MS)

const struct jfield check_fields[] = {
    {"symptoms", J_ARRAY, 0, 0, 0, "症状", NULL, NULL},
    {"temperature", J_NUMBER, JF_REQUIRED, 0, 0, "体温", NULL, NULL},
    {"description", J_STRING, JF_NULLABLE, 0, CHECK_TEXT_MAX, "详细描述", NULL, NULL},
    {"door_no", J_STRING, JF_NULLABLE, 0, DOOR_NO_MAX, "详细门楼号", NULL, NULL},
    {"lat", J_NUMBER, JF_NULLABLE, 0, 0, "纬度", NULL, NULL},
    {"lng", J_NUMBER, JF_NULLABLE, 0, 0, "经度", NULL, NULL},
    {"attachments", J_ARRAY, JF_NULLABLE, 0, 0, "图片", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- counters (src/stats) ---------------------------------------------------------- */

/* Flows per China day at the person's region: checks recorded, the abnormal
 * ones, and missed periods alerted (the sweep's claims). */
static const struct vocab_word by_words[] = {
    {NULL, NULL},
    [CHECK_BY_DOCTOR] = {"doctor", "医生核查"},
    [CHECK_BY_SELF] = {"self", "本人自查"},
};
const struct vocab check_by_vocab = VOCAB("check_methods", "核查方式", by_words);

static const struct stats_measure measures[] = {
    {"check.new", "体征核查", false,
     "SELECT region_code, " CHINA_DAY_SQL(
         "at") ", COUNT(*) FROM checks GROUP BY region_code, " CHINA_DAY_SQL("at")},
    {"check.abnormal.new", "体征异常", false,
     "SELECT region_code, " CHINA_DAY_SQL("at") ", COUNT(*) FROM checks WHERE abnormal = 1 "
                                                "GROUP BY region_code, " CHINA_DAY_SQL("at")},
    {"check.missed.new", "未按时核查", false,
     "SELECT o.region_code, " CHINA_DAY_SQL(
         "m.alerted_at") ", COUNT(*) FROM check_missed m "
                         "JOIN observations o ON o.id = m.observation_id GROUP BY "
                         "o.region_code, " CHINA_DAY_SQL("m.alerted_at")},
};

/* set once every measure is registered, so a write registers no more */
static atomic_bool registered;

static err measures_register(void)
{
    if (atomic_load(&registered))
        return E_OK;
    err e = E_OK;
    for (size_t i = 0; !e && i < sizeof measures / sizeof measures[0]; i++)
        e = stats_measure_register(&measures[i]);
    if (!e)
        atomic_store(&registered, true);
    return e;
}

/* Count one at region on the day of `at`; registering again is a no-op
 * (tools that never ran app_routes write checks too). */
static err count(db *d, const char *measure, int64_t region, int64_t at)
{
    err e = measures_register();
    return e ? e : stats_add(d, measure, region, china_day(at), 1);
}

/* ---- rules ------------------------------------------------------------------------ */

struct rule {
    int64_t every_h, grace_h, limit;
    double fever, delta;
    bool self_expected;
    char symptoms[160], follow[64];
};

static void rule_default(enum observe_kind k, struct rule *r)
{
    *r = (struct rule){.every_h = k == OBSERVE_HOSPITAL ? 0 : 12,
                       .grace_h = 2,
                       .limit = 3,
                       .fever = 37.3,
                       .delta = 1.0,
                       .self_expected = k != OBSERVE_HOSPITAL};
    snprintf(r->symptoms, sizeof r->symptoms, "fever,cough,fatigue,shortness_of_breath");
    snprintf(r->follow, sizeof r->follow, "7,14");
}

#define RULE_COLS                                                                                  \
    "every_hours, grace_hours, abnormal_limit, fever_threshold, transfer_delta, "                  \
    "self_check_expected, symptoms, follow_up_days"

static void rule_read(db_stmt *s, int c, struct rule *r)
{
    r->every_h = db_col_int64(s, c);
    r->grace_h = db_col_int64(s, c + 1);
    r->limit = db_col_int64(s, c + 2);
    r->fever = db_col_double(s, c + 3);
    r->delta = db_col_double(s, c + 4);
    r->self_expected = db_col_int64(s, c + 5) != 0;
    snprintf(r->symptoms, sizeof r->symptoms, "%s", db_col_text(s, c + 6));
    snprintf(r->follow, sizeof r->follow, "%s", db_col_text(s, c + 7));
}

static err rule_load(db *d, enum observe_kind k, struct rule *r)
{
    rule_default(k, r);
    db_stmt *s;
    err e = db_prepare(d, "SELECT " RULE_COLS " FROM check_rules WHERE kind = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&observe_kind_vocab, k));
    bool row;
    if (!(e = db_row(s, &row)) && row)
        rule_read(s, 0, r);
    db_done(s);
    return e;
}

static json_t *symptom_array(unsigned bits, bool labels)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < 9; i++)
        if (bits & (1u << i))
            json_array_append_new(
                a, json_string(labels ? symptom_label(1u << i) : symptom_name(1u << i)));
    return a;
}

err check_rules_json(db *d, json_t **o_r)
{
    json_t *arr = json_array();
    err e = E_OK;
    for (int k = OBSERVE_HOME_ISOLATION; k <= OBSERVE_HOSPITAL && !e; k++) {
        struct rule r;
        if ((e = rule_load(d, (enum observe_kind)k, &r)))
            break;
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(vocab_name(&observe_kind_vocab, (size_t)k)));
        json_object_set_new(o, "kind_label",
                            json_string(vocab_label(&observe_kind_vocab, (size_t)k)));
        json_object_set_new(o, "every_hours", json_integer(r.every_h));
        json_object_set_new(o, "grace_hours", json_integer(r.grace_h));
        json_object_set_new(o, "fever_threshold", json_real(r.fever));
        json_object_set_new(o, "transfer_delta", json_real(r.delta));
        json_object_set_new(o, "abnormal_limit", json_integer(r.limit));
        json_object_set_new(o, "self_check_expected", json_boolean(r.self_expected));
        json_t *sy = json_array();
        char buf[sizeof r.symptoms], *save = NULL;
        snprintf(buf, sizeof buf, "%s", r.symptoms);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(sy, json_string(t));
        json_object_set_new(o, "symptoms", sy);
        json_t *fu = json_array();
        snprintf(buf, sizeof buf, "%s", r.follow);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(fu, json_integer(strtoll(t, NULL, 10)));
        json_object_set_new(o, "follow_up_days", fu);
        json_array_append_new(arr, o);
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    json_t *o = json_object();
    json_object_set_new(o, "rules", arr);
    *o_r = o;
    return E_OK;
}

static const struct jfield rule_fields[] = {
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "隔离观察方式", NULL, &observe_kind_vocab},
    {"every_hours", J_INT, JF_REQUIRED, 0, 168, "核查间隔（小时）", NULL, NULL},
    {"grace_hours", J_INT, 0, 0, 48, "宽限（小时）", NULL, NULL},
    {"fever_threshold", J_NUMBER, 0, 0, 0, "发热阈值", NULL, NULL},
    {"transfer_delta", J_NUMBER, 0, 0, 0, "建议转送的超出温度", NULL, NULL},
    {"abnormal_limit", J_INT, 0, 1, 20, "建议转送的异常次数", NULL, NULL},
    {"self_check_expected", J_BOOL, 0, 0, 0, "需要自查", NULL, NULL},
    {"symptoms", J_ARRAY, 0, 0, 0, "核查症状", NULL, NULL},
    {"follow_up_days", J_ARRAY, 0, 0, 0, "出院随访天数", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* One rule of the PUT body into *r (starting from the stored one). */
static err rule_from(json_t *o, size_t i, struct rule *r)
{
    (void)i;
    err e = json_check(o, rule_fields, false);
    if (e)
        return e;
    r->every_h = json_int(o, "every_hours", r->every_h);
    r->grace_h = json_int(o, "grace_hours", r->grace_h);
    r->limit = json_int(o, "abnormal_limit", r->limit);
    r->fever = json_num(o, "fever_threshold", r->fever);
    r->delta = json_num(o, "transfer_delta", r->delta);
    r->self_expected = json_bool(o, "self_check_expected", r->self_expected);
    if (!(r->fever >= 36.0 && r->fever <= 40.0))
        return err_set(E_INPUT, "out_of_range", "fever_threshold", "发热阈值应在36到40℃之间");
    if (!(r->delta >= 0.1 && r->delta <= 3.0))
        return err_set(E_INPUT, "out_of_range", "transfer_delta",
                       "建议转送的超出温度应在0.1到3℃之间");
    json_t *sy = json_object_get(o, "symptoms");
    if (sy) {
        r->symptoms[0] = 0;
        size_t j;
        json_t *v;
        json_array_foreach(sy, j, v)
        {
            if (!json_is_string(v) || !symptom_parse(json_string_value(v)))
                return err_set(E_INPUT, "invalid_value", "symptoms", "未知的症状：%.20s",
                               json_is_string(v) ? json_string_value(v) : "?");
            size_t n = strlen(r->symptoms);
            snprintf(r->symptoms + n, sizeof r->symptoms - n, "%s%s", n ? "," : "",
                     json_string_value(v));
        }
    }
    json_t *fu = json_object_get(o, "follow_up_days");
    if (fu) {
        if (json_array_size(fu) > FOLLOW_UPS)
            return err_set(E_INPUT, "out_of_range", "follow_up_days", "出院随访最多%d次",
                           FOLLOW_UPS);
        r->follow[0] = 0;
        size_t j;
        json_t *v;
        json_array_foreach(fu, j, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 90)
                return err_set(E_INPUT, "out_of_range", "follow_up_days",
                               "出院随访天数应在1到90之间");
            size_t n = strlen(r->follow);
            snprintf(r->follow + n, sizeof r->follow - n, "%s%lld", n ? "," : "",
                     (long long)json_integer_value(v));
        }
    }
    return E_OK;
}

err check_rules_save(db *d, json_t *rules, int64_t user_id)
{
    if (!json_is_array(rules) || !json_array_size(rules))
        return err_set(E_INPUT, "required", "rules", "请填写核查规则");
    size_t i;
    json_t *o;
    err e = E_OK;
    json_array_foreach(rules, i, o)
    {
        if (!json_is_object(o))
            return err_set(E_INPUT, "invalid_type", "rules", "核查规则格式不正确");
        int k = vocab_parse(&observe_kind_vocab, json_str(o, "kind"));
        struct rule r;
        if (k <= 0)
            return err_set(E_INPUT, "invalid_value", "kind", "未知的隔离观察方式");
        if ((e = rule_load(d, (enum observe_kind)k, &r)) || (e = rule_from(o, i, &r)))
            return e;
        db_stmt *s;
        if ((e = db_prepare(d, "DELETE FROM check_rules WHERE kind = ?", &s)))
            return e;
        db_bind_text(s, 1, vocab_name(&observe_kind_vocab, (size_t)k));
        if ((e = db_run(s, NULL)))
            return e;
        if ((e = db_prepare(d,
                            "INSERT INTO check_rules (kind, " RULE_COLS
                            ", updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s)))
            return e;
        db_bind_text(s, 1, vocab_name(&observe_kind_vocab, (size_t)k));
        db_bind_int64(s, 2, r.every_h);
        db_bind_int64(s, 3, r.grace_h);
        db_bind_int64(s, 4, r.limit);
        db_bind_double(s, 5, r.fever);
        db_bind_double(s, 6, r.delta);
        db_bind_int64(s, 7, r.self_expected);
        db_bind_text(s, 8, r.symptoms);
        db_bind_text(s, 9, r.follow);
        db_bind_int64(s, 10, user_id);
        db_bind_int64(s, 11, now_ms());
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

/* ---- the body ------------------------------------------------------------------------ */

err check_parse(json_t *body, struct check_in *in)
{
    memset(in, 0, sizeof *in);
    if (!json_is_object(body))
        return err_set(E_INPUT, "required", "result", "请填写核查结果");
    err e = json_check(body, check_fields, false);
    if (e)
        return e;
    json_t *sy = json_object_get(body, "symptoms");
    size_t i;
    json_t *v;
    json_array_foreach(sy, i, v)
    {
        unsigned bit = json_is_string(v) ? symptom_parse(json_string_value(v)) : 0;
        if (!bit) {
            char f[32];
            snprintf(f, sizeof f, "symptoms[%zu]", i);
            return err_set(E_INPUT, "invalid_value", f, "未知的症状：%.20s",
                           json_is_string(v) ? json_string_value(v) : "?");
        }
        in->symptoms |= bit;
    }
    in->temperature = json_num(body, "temperature", 0);
    if (!(in->temperature >= TEMP_MIN && in->temperature <= TEMP_MAX))
        return err_set(E_INPUT, "out_of_range", "temperature", "体温应在%d到%d℃之间", TEMP_MIN,
                       TEMP_MAX);
    in->description = json_str(body, "description");
    in->door_no = json_str(body, "door_no");
    bool lat = json_is_number(json_object_get(body, "lat"));
    bool lng = json_is_number(json_object_get(body, "lng"));
    if (lat != lng)
        return err_set(E_INPUT, "invalid_position", lat ? "lng" : "lat",
                       "经度和纬度需同时填写或同时清空");
    if (lat) {
        in->has_position = true;
        in->lat = json_num(body, "lat", 0);
        in->lng = json_num(body, "lng", 0);
        if (!(fabs(in->lat) <= 90) || !(fabs(in->lng) <= 180))
            return err_set(E_INPUT, "invalid_position", "lat", "经纬度超出范围");
    }
    in->attachments = json_object_get(body, "attachments");
    if (json_is_null(in->attachments))
        in->attachments = NULL;
    return E_OK;
}

/* ---- observations ----------------------------------------------------------------------- */

struct obs_row {
    int64_t id, person_id, region, start_at, planned_end_at;
    enum observe_kind kind;
    bool active;
};

static err obs_load(db *d, const struct scope *sc, int64_t id, struct obs_row *o)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT person_id, region_code, kind, state, start_at, planned_end_at "
                       "FROM observations WHERE id = ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "隔离观察记录不存在");
    if (!e) {
        int k = vocab_parse(&observe_kind_vocab, db_col_text(s, 2));
        *o = (struct obs_row){.id = id,
                              .person_id = db_col_int64(s, 0),
                              .region = db_col_int64(s, 1),
                              .start_at = db_col_int64(s, 4),
                              .planned_end_at = db_col_int64(s, 5),
                              .kind = k > 0 ? (enum observe_kind)k : OBSERVE_HOME_ISOLATION,
                              .active = !strcmp(db_col_text(s, 3), "active")};
    }
    db_done(s);
    return e;
}

err check_observation(db *d, const struct scope *sc, int64_t id, bool allow_closed,
                      int64_t *person_r, int64_t *region_r)
{
    struct obs_row o;
    err e = obs_load(d, sc, id, &o);
    if (e)
        return e;
    if (!o.active && !allow_closed)
        return err_set(E_CONFLICT, "observation_closed", NULL,
                       "该人员的隔离观察已结束，不在隔离观察名单中");
    if (person_r)
        *person_r = o.person_id;
    if (region_r)
        *region_r = o.region;
    return E_OK;
}

err check_own_observation(db *d, int64_t person_id, int64_t *observation_id_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM observations WHERE person_id = ? AND state = 'active' "
                       "ORDER BY start_at DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_CONFLICT, "not_observed", NULL, "您当前不在隔离观察名单中，无需自查或留言");
    if (!e)
        *observation_id_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* The newest check of an observation (0: none). */
static err last_check_at(db *d, int64_t obs, int64_t *at_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT COALESCE(MAX(at), 0) FROM checks WHERE observation_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, obs);
    bool row;
    *at_r = 0;
    if (!(e = db_row(s, &row)) && row)
        *at_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err check_me_json(db *d, int64_t person_id, json_t **o_r)
{
    int64_t obs = 0;
    json_t *o = json_object();
    err e = check_own_observation(d, person_id, &obs);
    if (e == E_CONFLICT) {
        err_clear();
        json_object_set_new(o, "observed", json_false());
        *o_r = o;
        return E_OK;
    }
    struct obs_row r;
    struct rule rule;
    struct scope all = scope_all();
    int64_t last = 0;
    if (e || (e = obs_load(d, &all, obs, &r)) || (e = rule_load(d, r.kind, &rule)) ||
        (e = last_check_at(d, obs, &last))) {
        json_decref(o);
        return e;
    }
    int64_t now = now_ms();
    json_object_set_new(o, "observed", json_true());
    json_set_id(o, "observation_id", obs);
    json_object_set_new(o, "kind", json_string(vocab_name(&observe_kind_vocab, r.kind)));
    json_object_set_new(o, "kind_label", json_string(vocab_label(&observe_kind_vocab, r.kind)));
    json_object_set_new(o, "start_at", json_integer(r.start_at));
    json_object_set_new(o, "planned_end_at",
                        r.planned_end_at ? json_integer(r.planned_end_at) : json_null());
    int64_t left = r.planned_end_at - now;
    json_object_set_new(o, "days_left",
                        !r.planned_end_at
                            ? json_null()
                            : json_integer(left <= 0 ? 0 : (left + DAY_MS - 1) / DAY_MS));
    json_object_set_new(o, "every_hours", json_integer(rule.every_h));
    json_object_set_new(o, "self_check_expected", json_boolean(rule.self_expected));
    json_object_set_new(o, "last_check_at", last ? json_integer(last) : json_null());
    json_object_set_new(o, "next_check_due",
                        rule.every_h
                            ? json_integer((last ? last : r.start_at) + rule.every_h * HOUR_MS)
                            : json_null());
    *o_r = o;
    return E_OK;
}

/* ---- the doctor's round of today ------------------------------------------------------ */

/* Urgency of a due observation, most urgent first. */
enum round_urgency { URG_ABNORMAL = 1, URG_OVERDUE, URG_DUE, URG_LATER };
static const char *const urgency_names[] = {"", "abnormal", "overdue", "due", "later"};
static const char *const urgency_labels[] = {"", "上次核查异常", "已逾期", "应查", "今日待查"};

struct round_row {
    int64_t id, start_at, planned_end_at, last_at, next_due;
    enum observe_kind kind;
    const char *name, *address, *region_name, *site_name, *room_no;
    double temperature;
    bool abnormal;
    unsigned symptoms;
    enum round_urgency urgency;
};

static int round_cmp_due(const void *x, const void *y)
{
    const struct round_row *a = x, *b = y;
    if (a->urgency != b->urgency)
        return a->urgency < b->urgency ? -1 : 1;
    if (a->next_due != b->next_due)
        return a->next_due < b->next_due ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int round_cmp_checked(const void *x, const void *y)
{
    const struct round_row *a = x, *b = y;
    if (a->last_at != b->last_at)
        return a->last_at > b->last_at ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static json_t *round_json(const struct round_row *o, int64_t now, bool due)
{
    json_t *j = json_object();
    json_set_id(j, "observation_id", o->id);
    json_object_set_new(j, "person_name", json_string(o->name));
    json_object_set_new(j, "address", json_string(o->address));
    json_object_set_new(j, "region_name", json_string(o->region_name));
    json_object_set_new(j, "kind", json_string(vocab_name(&observe_kind_vocab, o->kind)));
    json_object_set_new(j, "kind_label", json_string(vocab_label(&observe_kind_vocab, o->kind)));
    json_object_set_new(j, "site_name", *o->site_name ? json_string(o->site_name) : json_null());
    json_object_set_new(j, "room_no", *o->room_no ? json_string(o->room_no) : json_null());
    /* 第 N 天 / 共 M 天: China days, the start day is day 1 */
    json_object_set_new(j, "day", json_integer(china_day(now) - china_day(o->start_at) + 1));
    json_object_set_new(j, "days_total",
                        o->planned_end_at > o->start_at
                            ? json_integer((o->planned_end_at - o->start_at + DAY_MS / 2) / DAY_MS)
                            : json_null());
    json_object_set_new(j, "last_check_at", o->last_at ? json_integer(o->last_at) : json_null());
    json_object_set_new(j, "last_temperature",
                        o->last_at ? json_real(o->temperature) : json_null());
    json_object_set_new(j, "last_abnormal", json_boolean(o->last_at && o->abnormal));
    json_object_set_new(j, "last_symptoms", symptom_array(o->symptoms, true));
    json_object_set_new(j, "next_check_due", json_integer(o->next_due));
    if (due) {
        json_object_set_new(j, "urgency", json_string(urgency_names[o->urgency]));
        json_object_set_new(j, "urgency_label", json_string(urgency_labels[o->urgency]));
    }
    return j;
}

err check_round(db *d, arena *a, const struct scope *sc, int64_t now, json_t **o_r)
{
    struct rule rules[OBSERVE_HOSPITAL + 1];
    err e = E_OK;
    for (int k = OBSERVE_HOME_ISOLATION; !e && k <= OBSERVE_HOSPITAL; k++)
        e = rule_load(d, (enum observe_kind)k, &rules[k]);
    if (e)
        return e;
    /* the last check of each observation by its own index (observation_id, at) */
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "SELECT o.id, o.kind, o.start_at, o.planned_end_at, COALESCE(o.room_no, ''), "
             "COALESCE(r.name, ''), COALESCE(pl.name, ''), p.name_enc, p.address_enc, "
             "COALESCE(c.at, 0), COALESCE(c.temperature, 0), COALESCE(c.abnormal, 0), "
             "COALESCE(c.symptoms, 0) FROM observations o "
             "JOIN persons p ON p.id = o.person_id "
             "LEFT JOIN regions r ON r.code = o.region_code "
             "LEFT JOIN places pl ON pl.id = o.site_id "
             "LEFT JOIN checks c ON c.id = (SELECT c2.id FROM checks c2 WHERE "
             "c2.observation_id = o.id ORDER BY c2.at DESC, c2.id DESC LIMIT 1) "
             "WHERE o.state = 'active' AND o.region_code >= ? AND o.region_code < ? "
             "ORDER BY o.id LIMIT ?",
             &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_int64(s, 3, ROUND_MAX + 1);
    int64_t today = china_day_start(now);
    struct round_row *rows = arena_alloc(a, (ROUND_MAX + 1) * sizeof *rows);
    size_t n = 0, read = 0;
    bool row, truncated = false;
    while (!(e = db_row(s, &row)) && row) {
        /* rows read, not kept, decide: the kinds without checks are read too */
        if (read++ == ROUND_MAX) {
            truncated = true;
            break;
        }
        int k = vocab_parse(&observe_kind_vocab, db_col_text(s, 1));
        const struct rule *rule = k > 0 ? &rules[k] : NULL;
        if (!rule || rule->every_h <= 0)
            continue; /* a kind whose rule expects no checks is no one's round */
        struct round_row *o = &rows[n];
        *o = (struct round_row){
            .id = db_col_int64(s, 0),
            .kind = (enum observe_kind)k,
            .start_at = db_col_int64(s, 2),
            .planned_end_at = db_col_int64(s, 3),
            .room_no = arena_strdup(a, db_col_text(s, 4)),
            .region_name = arena_strdup(a, db_col_text(s, 5)),
            .site_name = arena_strdup(a, db_col_text(s, 6)),
            .last_at = db_col_int64(s, 9),
            .temperature = db_col_double(s, 10),
            .abnormal = db_col_int64(s, 11) != 0,
            .symptoms = (unsigned)db_col_int64(s, 12),
        };
        const char *name = NULL, *address = NULL;
        if ((e = unseal_col(a, s, 7, "persons.name", &name)) ||
            (e = unseal_col(a, s, 8, "persons.address", &address)))
            break;
        o->name = name ? mask_name(a, name) : "";
        o->address = address && *address ? mask_address(a, address) : "";
        int64_t every = rule->every_h * HOUR_MS, grace = rule->grace_h * HOUR_MS;
        o->next_due = (o->last_at ? o->last_at : o->start_at) + every;
        o->urgency = o->last_at && (o->abnormal || o->symptoms) ? URG_ABNORMAL
                     : now > o->next_due + grace                ? URG_OVERDUE
                     : now >= o->next_due                       ? URG_DUE
                                                                : URG_LATER;
        n++;
    }
    db_done(s);
    if (e)
        return e;
    /* checked today to the end, the due ones first */
    size_t due = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].last_at < today) {
            struct round_row t = rows[due];
            rows[due++] = rows[i];
            rows[i] = t;
        }
    qsort(rows, due, sizeof *rows, round_cmp_due);
    qsort(rows + due, n - due, sizeof *rows, round_cmp_checked);
    json_t *o = json_object(), *d_arr = json_array(), *c_arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(i < due ? d_arr : c_arr, round_json(&rows[i], now, i < due));
    char day[24];
    int32_t ymd = china_date(now);
    snprintf(day, sizeof day, "%04d-%02d-%02d", (int)(ymd / 10000), (int)(ymd / 100 % 100),
             (int)(ymd % 100));
    json_object_set_new(o, "day", json_string(day));
    json_object_set_new(o, "due", d_arr);
    json_object_set_new(o, "checked", c_arr);
    json_object_set_new(
        o, "counts",
        json_pack("{s:I,s:I}", "due", (json_int_t)due, "checked", (json_int_t)(n - due)));
    json_object_set_new(o, "truncated", json_boolean(truncated));
    *o_r = o;
    return E_OK;
}

/* ---- tasks, alerts, timeline ----------------------------------------------------------- */

/* The person's name masked ("钱*多"), for titles and alert messages. */
static err masked_name(db *d, arena *a, int64_t person_id, const char **name_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT name_enc FROM persons WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    const char *name = NULL;
    if (!(e = db_row(s, &row)) && row)
        e = unseal_col(a, s, 0, "persons.name", &name);
    db_done(s);
    *name_r = name ? mask_name(a, name) : "";
    return e;
}

/* A task for every holder of `role` in the person's community. */
static err role_task(db *d, const char *kind, const char *role, enum task_priority prio,
                     int64_t region, int64_t person, int64_t subject, int64_t deadline,
                     const char *title, const char *detail, int64_t *id_r)
{
    struct task_new t = {
        .kind = kind,
        .region_code = regcode_at_most(region, LEVEL_COMMUNITY),
        .assignee_role = role,
        .priority = prio,
        .deadline = deadline,
        .title = title,
        .person_id = person,
        .subject_id = subject,
        .detail = detail,
    };
    int64_t id = 0;
    err e = task_create(d, &t, &id);
    if (!e && id_r)
        *id_r = id;
    return e;
}

static err event(db *d, const struct obs_row *o, const char *action, const char *detail,
                 int64_t user_id)
{
    return case_event_add(d, 0, o->person_id, o->region, action, detail, user_id);
}

/* After an abnormal check: the transfer proposal, when the rule says so
 * and none is open. Abnormal checks count since the last proposal, so a
 * "keep" decision is not re-proposed at the very next reading. */
static err maybe_propose_transfer(db *d, arena *a, const struct obs_row *o, const struct rule *rule,
                                  double temperature, const char *name)
{
    bool open;
    err e = task_open_exists(d, "transfer", o->id, &open);
    if (e || open)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM checks WHERE observation_id = ? AND abnormal = 1 "
                        "AND at > (SELECT COALESCE(MAX(created_at), 0) FROM tasks WHERE kind = "
                        "'transfer' AND subject_id = ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, o->id);
    db_bind_int64(s, 2, o->id);
    bool row;
    int64_t n = 0;
    if (!(e = db_row(s, &row)) && row)
        n = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    bool high = temperature >= rule->fever + rule->delta - 1e-9;
    if (!high && n < rule->limit)
        return E_OK;
    const char *why = high ? "high_fever" : "abnormal_limit";
    const char *detail = arena_printf(a,
                                      "{\"observation_id\":\"%lld\",\"reason\":\"%s\","
                                      "\"abnormal_checks\":%lld,\"temperature\":%.1f}",
                                      (long long)o->id, why, (long long)n, temperature);
    int64_t tid;
    if ((e = role_task(d, "transfer", "community_staff", TASK_URGENT, o->region, o->person_id,
                       o->id, now_ms() + TRANSFER_DUE,
                       arena_printf(a, "转送定点医院建议：%s", name), detail, &tid)))
        return e;
    return event(d, o, "transfer_proposed",
                 arena_printf(a, "{\"task_id\":\"%lld\",\"reason\":\"%s\"}", (long long)tid, why),
                 0);
}

static err on_abnormal(db *d, arena *a, const struct obs_row *o, const struct rule *rule,
                       const struct check_in *in, int64_t check_id)
{
    const char *name;
    err e = masked_name(d, a, o->person_id, &name);
    if (e)
        return e;
    const char *sy = "";
    for (unsigned i = 0; i < 9; i++)
        if (in->symptoms & (1u << i))
            sy = arena_printf(a, "%s%s%s", sy, *sy ? "、" : "", symptom_label(1u << i));
    bool fever = in->temperature >= rule->fever - 1e-9;
    struct alert_new al = {
        .kind = ALERT_CHECK_ABNORMAL,
        .level = fever ? ALERT_CRITICAL : ALERT_WARNING,
        .region_code = o->region,
        .person_id = o->person_id,
        .message = arena_printf(a, "隔离观察人员%s体征异常：体温%.1f℃%s%s", name, in->temperature,
                                *sy ? "，症状：" : "", sy),
        .detail = arena_printf(a,
                               "{\"check_id\":\"%lld\",\"observation_id\":\"%lld\","
                               "\"temperature\":%.1f}",
                               (long long)check_id, (long long)o->id, in->temperature),
    };
    if ((e = alert_raise(d, &al, NULL)))
        return e;
    bool open;
    if ((e = task_open_exists(d, "check", o->id, &open)))
        return e;
    if (!open &&
        (e = role_task(d, "check", "doctor", TASK_URGENT, o->region, o->person_id, o->id,
                       now_ms() + rule->grace_h * HOUR_MS + HOUR_MS,
                       arena_printf(a, "体征异常复查：%s", name),
                       arena_printf(a, "{\"observation_id\":\"%lld\",\"check_id\":\"%lld\"}",
                                    (long long)o->id, (long long)check_id),
                       NULL)))
        return e;
    return maybe_propose_transfer(d, a, o, rule, in->temperature, name);
}

static err record(db *d, arena *a, const struct principal *who, int64_t observation_id,
                  enum check_by by, const struct check_in *in, int64_t task_id, bool allow_closed,
                  int64_t *check_id_r)
{
    struct obs_row o;
    struct scope all = scope_all();
    /* a resident's own observation was found by person; staff by scope */
    err e = obs_load(d, by == CHECK_BY_SELF ? &all : &who->scope, observation_id, &o);
    if (e)
        return e;
    if (by == CHECK_BY_SELF && o.person_id != who->person_id)
        return err_set(E_NOT_FOUND, "not_found", NULL, "隔离观察记录不存在");
    if (!o.active && !allow_closed)
        return err_set(E_CONFLICT, "observation_closed", NULL,
                       "该人员的隔离观察已结束，不在隔离观察名单中");
    struct rule rule;
    if ((e = rule_load(d, o.kind, &rule)))
        return e;
    bool abnormal = in->symptoms != 0 || in->temperature >= rule.fever - 1e-9;
    int64_t id = id_new();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO checks (id, observation_id, person_id, region_code, at, "
                        "by_whom, user_id, symptoms, temperature, abnormal, lat, lng, "
                        "door_no_enc, description_enc, task_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, o.id);
    db_bind_int64(s, 3, o.person_id);
    db_bind_int64(s, 4, o.region);
    int64_t at = now_ms();
    db_bind_int64(s, 5, at);
    db_bind_text(s, 6, vocab_name(&check_by_vocab, by));
    db_bind_int64(s, 7, who->user_id);
    db_bind_int64(s, 8, in->symptoms);
    db_bind_double(s, 9, round(in->temperature * 10) / 10);
    db_bind_int64(s, 10, abnormal);
    db_bind_double(s, 11, in->has_position ? in->lat : 0);
    db_bind_double(s, 12, in->has_position ? in->lng : 0);
    if ((e = seal_bind(a, s, 13, "checks.door_no", in->door_no)) ||
        (e = seal_bind(a, s, 14, "checks.description", in->description))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 15, task_id);
    if ((e = db_run(s, NULL)) ||
        (e = attach_claim_all(d, who, in->attachments, "check", id, o.region)) ||
        (e = count(d, "check.new", o.region, at)) ||
        (abnormal && (e = count(d, "check.abnormal.new", o.region, at))))
        return e;
    if ((e = event(d, &o, "check",
                   arena_printf(a,
                                "{\"check_id\":\"%lld\",\"by\":\"%s\",\"abnormal\":%s,"
                                "\"temperature\":%.1f}",
                                (long long)id, vocab_name(&check_by_vocab, by),
                                abnormal ? "true" : "false", in->temperature),
                   who->user_id)))
        return e;
    if (abnormal && o.active && (e = on_abnormal(d, a, &o, &rule, in, id)))
        return e;
    if (check_id_r)
        *check_id_r = id;
    return E_OK;
}

err check_record(db *d, arena *a, const struct principal *who, int64_t observation_id,
                 enum check_by by, const struct check_in *in, int64_t task_id, int64_t *check_id_r)
{
    return record(d, a, who, observation_id, by, in, task_id, false, check_id_r);
}

/* ---- task kinds ------------------------------------------------------------------------ */

static err check_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                          json_t *result)
{
    struct check_in in;
    err e = check_parse(result, &in);
    if (e)
        return e;
    /* a follow-up checks someone whose observation has ended */
    return record(d, a, who, t->subject_id, CHECK_BY_DOCTOR, &in, t->id,
                  !strcmp(t->kind, "follow_up"), NULL);
}

static const char *const decisions[] = {"transfer", "keep", NULL};

static const struct jfield transfer_fields[] = {
    {"decision", J_STRING, JF_REQUIRED, 0, 0, "处置决定", decisions, NULL},
    {"hospital", J_STRING, JF_NULLABLE, 0, 100, "定点医院", NULL, NULL},
    {"handover", J_STRING, JF_NULLABLE, 0, 50, "移交确认交接人", NULL, NULL},
    {"reason", J_STRING, JF_REQUIRED, 1, 200, "原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err transfer_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                             json_t *result)
{
    if (!json_is_object(result))
        return err_set(E_INPUT, "required", "result", "请填写处置决定");
    err e = json_check(result, transfer_fields, false);
    if (e)
        return e;
    const char *hospital = json_str(result, "hospital");
    bool transfer = !strcmp(json_str(result, "decision"), "transfer");
    if (transfer && (!hospital || !*hospital))
        return err_set(E_INPUT, "required", "hospital", "请填写定点医院");
    struct obs_row o;
    if ((e = obs_load(d, &who->scope, t->subject_id, &o)))
        return e;
    int64_t next = 0;
    if (transfer) {
        struct case_observe_in in = {.person_id = o.person_id,
                                     .kind = OBSERVE_HOSPITAL,
                                     .source = SOURCE_DOCTOR,
                                     .hospital = hospital,
                                     .handover = json_str(result, "handover"),
                                     .note = json_str(result, "reason")};
        if ((e = case_observe_end(d, a, who, o.id, OBSERVE_TRANSFERRED, 0,
                                  json_str(result, "reason"))) ||
            (e = case_observe(d, a, who, &in, &next)))
            return e;
    }
    return event(
        d, &o, "transfer_decided",
        arena_printf(a, "{\"task_id\":\"%lld\",\"decision\":\"%s\",\"observation_id\":\"%lld\"}",
                     (long long)t->id, transfer ? "transfer" : "keep",
                     (long long)(transfer ? next : o.id)),
        who->user_id);
}

static const struct task_kind check_kind = {
    .name = "check", .label = "体征核查", .complete = check_complete};
static const struct task_kind transfer_kind = {
    .name = "transfer", .label = "转送定点医院建议", .complete = transfer_complete};
static const struct task_kind follow_up_kind = {
    .name = "follow_up", .label = "出院随访", .complete = check_complete};

err check_register(void)
{
    err e = measures_register();
    if (!e)
        e = task_kind_register(&check_kind);
    if (!e)
        e = task_kind_register(&transfer_kind);
    if (!e)
        e = task_kind_register(&follow_up_kind);
    return e;
}

err check_follow_up_plan(db *d, arena *a, int64_t person_id, int64_t region_code,
                         int64_t observation_id, int64_t discharged_at)
{
    /* status changes and releases also run in tools that never ran
     * app_routes (imports, the demo): the kind must be known there too;
     * registering again is a no-op */
    err e = check_register();
    struct rule rule;
    if (e || (e = rule_load(d, OBSERVE_HOSPITAL, &rule)))
        return e;
    if (!observation_id) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id FROM observations WHERE person_id = ? ORDER BY start_at "
                            "DESC, id DESC LIMIT 1",
                            &s)))
            return e;
        db_bind_int64(s, 1, person_id);
        bool row;
        if (!(e = db_row(s, &row)) && row)
            observation_id = db_col_int64(s, 0);
        db_done(s);
        if (e || !observation_id)
            return e;
    }
    bool open;
    if ((e = task_open_exists(d, "follow_up", observation_id, &open)) || open)
        return e;
    const char *name;
    char buf[sizeof rule.follow], *save = NULL;
    snprintf(buf, sizeof buf, "%s", rule.follow);
    if (!(e = masked_name(d, a, person_id, &name)))
        for (char *t = strtok_r(buf, ",", &save); t && !e; t = strtok_r(NULL, ",", &save)) {
            int64_t days = strtoll(t, NULL, 10);
            e = role_task(d, "follow_up", "doctor", TASK_NORMAL, region_code, person_id,
                          observation_id, discharged_at + days * DAY_MS,
                          arena_printf(a, "出院第%lld天随访：%s", (long long)days, name),
                          arena_printf(a, "{\"observation_id\":\"%lld\",\"day\":%lld}",
                                       (long long)observation_id, (long long)days),
                          NULL);
        }
    return e;
}

/* ---- lists -------------------------------------------------------------------------------- */

#define LIST_WHERE                                                                                 \
    " FROM checks c LEFT JOIN persons p ON p.id = c.person_id "                                    \
    "LEFT JOIN regions r ON r.code = c.region_code "                                               \
    "LEFT JOIN users u ON u.id = c.user_id "                                                       \
    "WHERE c.region_code >= ? AND c.region_code < ? AND (CAST(? AS BIGINT) = 0 OR c.id = ?) "      \
    "AND (CAST(? AS BIGINT) = 0 OR c.observation_id = ?) "                                         \
    "AND (CAST(? AS BIGINT) = 0 OR c.person_id = ?) "                                              \
    "AND (CAST(? AS BIGINT) < 0 OR c.abnormal = ?) "                                               \
    "AND (CAST(? AS TEXT) = '' OR c.by_whom = ?) "                                                 \
    "AND (CAST(? AS BIGINT) = 0 OR c.at >= ?) AND (CAST(? AS BIGINT) = 0 OR c.at < ?)"

static void bind_filter(db_stmt *s, const struct scope *sc, const struct check_filter *f)
{
    const char *by = vocab_name(&check_by_vocab, f->by); /* "" for 0: any */
    const int64_t v[] = {
        sc->lo,       sc->hi,       f->id,       f->id,      f->observation_id, f->observation_id,
        f->person_id, f->person_id, f->abnormal, f->abnormal};
    int i = 1;
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        db_bind_int64(s, i++, v[k]);
    db_bind_text(s, i++, by);
    db_bind_text(s, i++, by);
    db_bind_int64(s, i++, f->from);
    db_bind_int64(s, i++, f->from);
    db_bind_int64(s, i++, f->to);
    db_bind_int64(s, i++, f->to);
}

err check_list(db *d, arena *a, const struct scope *sc, const struct check_filter *f,
               json_t **items_r, int64_t *total_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT COUNT(*)" LIST_WHERE, &s);
    if (e)
        return e;
    bind_filter(s, sc, f);
    bool row;
    int64_t total = 0;
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    int64_t limit, offset, want;
    if ((e = paging_window(total, f->page, f->page_size, EXPORT_MAX, &limit, &offset, &want)))
        return e;
    if ((e = db_prepare(d,
                        "SELECT c.id, c.observation_id, c.person_id, c.region_code, c.at, "
                        "c.by_whom, c.symptoms, c.temperature, c.abnormal, c.lat, c.lng, "
                        "c.door_no_enc, c.description_enc, c.task_id, p.name_enc, "
                        "COALESCE(r.name, ''), COALESCE(u.display_name, '')" LIST_WHERE
                        " ORDER BY c.at DESC, c.id DESC LIMIT ? OFFSET ?",
                        &s)))
        return e;
    bind_filter(s, sc, f);
    db_bind_int64(s, 17, limit);
    db_bind_int64(s, 18, offset);
    json_t *arr = json_array();
    while (!(e = db_row(s, &row)) && row) {
        const char *door, *desc, *name;
        if ((e = unseal_col(a, s, 11, "checks.door_no", &door)) ||
            (e = unseal_col(a, s, 12, "checks.description", &desc)) ||
            (e = unseal_col(a, s, 14, "persons.name", &name)))
            break;
        json_t *o = json_object();
        int64_t id = db_col_int64(s, 0);
        json_set_id(o, "id", id);
        json_set_id(o, "observation_id", db_col_int64(s, 1));
        json_set_id(o, "person_id", db_col_int64(s, 2));
        json_object_set_new(o, "person_name",
                            name ? json_string(f->plain ? name : mask_name(a, name)) : json_null());
        json_set_region(o, db_col_int64(s, 3), db_col_text(s, 15));
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 4)));
        int by = vocab_parse(&check_by_vocab, db_col_text(s, 5));
        bool self = by == CHECK_BY_SELF;
        json_object_set_new(o, "by", json_string(vocab_name(&check_by_vocab, (size_t)by)));
        json_object_set_new(o, "by_label", json_string(vocab_label(&check_by_vocab, (size_t)by)));
        json_object_set_new(o, "checker_name",
                            self ? json_null() : json_string(db_col_text(s, 16)));
        unsigned sy = (unsigned)db_col_int64(s, 6);
        json_object_set_new(o, "symptoms", symptom_array(sy, false));
        json_object_set_new(o, "symptom_labels", symptom_array(sy, true));
        json_object_set_new(o, "temperature", json_real(db_col_double(s, 7)));
        json_object_set_new(o, "abnormal", json_boolean(db_col_int64(s, 8) != 0));
        double lat = db_col_double(s, 9), lng = db_col_double(s, 10);
        json_object_set_new(o, "lat", lat || lng ? json_real(lat) : json_null());
        json_object_set_new(o, "lng", lat || lng ? json_real(lng) : json_null());
        json_object_set_new(o, "door_no",
                            door ? json_string(f->plain ? door : mask_address(a, door))
                                 : json_null());
        json_object_set_new(o, "description",
                            desc ? json_string(f->plain ? desc : mask_address(a, desc))
                                 : json_null());
        json_set_id(o, "task_id", db_col_int64(s, 13));
        json_array_append_new(arr, o);
    }
    db_done(s);
    /* the photos of each check, after the rows: one statement at a time */
    for (size_t i = 0; !e && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *att;
        if (!(e = attach_list(d, "check", id_parse(json_str(o, "id")), &att)))
            json_object_set_new(o, "attachments", att);
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    (void)want;
    *items_r = arr;
    *total_r = total;
    return E_OK;
}

/* ---- messages ------------------------------------------------------------------------------ */

err check_message_add(db *d, arena *a, const struct principal *who, int64_t observation_id,
                      int64_t person_id, int64_t region_code, enum msg_from from, const char *text,
                      json_t *attachments, int64_t *id_r)
{
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO check_messages (id, observation_id, person_id, region_code, "
                       "from_whom, user_id, at, text_enc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (!e) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, observation_id);
        db_bind_int64(s, 3, person_id);
        db_bind_int64(s, 4, region_code);
        db_bind_text(s, 5, from == MSG_FROM_PERSON ? "person" : "staff");
        db_bind_int64(s, 6, who->user_id);
        db_bind_int64(s, 7, now);
        if ((e = seal_bind(a, s, 8, "check_messages.text", text)))
            db_done(s);
        else
            e = db_run(s, NULL);
    }
    if (!e && from == MSG_FROM_STAFF &&
        !(e = db_prepare(d,
                         "UPDATE check_messages SET answered_at = ? WHERE observation_id = ? AND "
                         "from_whom = 'person' AND answered_at = 0",
                         &s))) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, observation_id);
        e = db_run(s, NULL);
    }
    if (!e)
        e = attach_claim_all(d, who, attachments, "message", id, region_code);
    if (!e)
        e = case_event_add(d, 0, person_id, region_code,
                           from == MSG_FROM_PERSON ? "message" : "message_answered", "{}",
                           who->user_id);
    if (!e && id_r)
        *id_r = id;
    return e;
}

err check_messages_json(db *d, arena *a, int64_t observation_id, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT m.id, m.from_whom, m.at, m.text_enc, m.answered_at, "
                       "m.escalated_at, COALESCE(u.display_name, '') FROM check_messages m "
                       "LEFT JOIN users u ON u.id = m.user_id WHERE m.observation_id = ? "
                       "ORDER BY m.at, m.id LIMIT 500",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, observation_id);
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *text;
        if ((e = unseal_col(a, s, 3, "check_messages.text", &text)))
            break;
        bool person = !strcmp(db_col_text(s, 1), "person");
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "from", json_string(person ? "person" : "staff"));
        json_object_set_new(o, "from_label", json_string(person ? "隔离人员" : "社区医生"));
        json_object_set_new(o, "staff_name", person ? json_null() : json_string(db_col_text(s, 6)));
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 2)));
        json_object_set_new(o, "text", json_string(text ? text : ""));
        int64_t ans = db_col_int64(s, 4), esc = db_col_int64(s, 5);
        json_object_set_new(o, "answered_at", ans ? json_integer(ans) : json_null());
        json_object_set_new(o, "escalated_at", esc ? json_integer(esc) : json_null());
        json_array_append_new(arr, o);
    }
    db_done(s);
    for (size_t i = 0; !e && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *att;
        if (!(e = attach_list(d, "message", id_parse(json_str(o, "id")), &att)))
            json_object_set_new(o, "attachments", att);
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    return E_OK;
}

/* ---- the sweep --------------------------------------------------------------------------------
 */

#define SWEEP_BATCH 256

struct due {
    int64_t id, person, region, start_at, last;
    enum observe_kind kind;
};

/* One active observation: its next check task when due, its missed-period
 * alert. Inside the sweep's transaction. */
static err sweep_one(db *d, arena *a, const struct due *o, int64_t now,
                     struct check_sweep_result *res)
{
    struct rule rule;
    err e = rule_load(d, o->kind, &rule);
    if (e || rule.every_h <= 0)
        return e;
    int64_t every = rule.every_h * HOUR_MS, grace = rule.grace_h * HOUR_MS;
    int64_t base = o->last ? o->last : o->start_at, due = base + every;
    struct obs_row row = {.id = o->id, .person_id = o->person, .region = o->region};
    if (now >= due) {
        bool open;
        if ((e = task_open_exists(d, "check", o->id, &open)))
            return e;
        const char *name;
        if (!open && !(e = masked_name(d, a, o->person, &name))) {
            int64_t deadline = due + grace > now ? due + grace : now + grace + HOUR_MS;
            if (!(e = role_task(d, "check", "doctor", TASK_NORMAL, o->region, o->person, o->id,
                                deadline, arena_printf(a, "体征核查：%s", name),
                                arena_printf(a, "{\"observation_id\":\"%lld\",\"due_at\":%lld}",
                                             (long long)o->id, (long long)due),
                                NULL)))
                res->tasks++;
        }
        if (e)
            return e;
    }
    if (now <= due + grace)
        return E_OK;
    /* the k-th missed period since the last check: one alert each */
    int64_t k = 1 + (now - due - grace) / every, period_due = base + k * every;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO check_missed (observation_id, due_at, alerted_at) VALUES "
                        "(?, ?, ?) ON CONFLICT DO NOTHING",
                        &s)))
        return e;
    db_bind_int64(s, 1, o->id);
    db_bind_int64(s, 2, period_due);
    db_bind_int64(s, 3, now);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)) || !changed)
        return e;
    const char *name;
    char when[CHINA_TIME_LEN];
    china_time(period_due, when);
    if ((e = masked_name(d, a, o->person, &name)))
        return e;
    struct alert_new al = {
        .kind = ALERT_CHECK_MISSED,
        .level = ALERT_WARNING,
        .region_code = o->region,
        .person_id = o->person,
        .message = arena_printf(a, "隔离观察人员%s未按时核查（应于%s前完成）", name, when),
        .detail = arena_printf(a, "{\"observation_id\":\"%lld\",\"due_at\":%lld}", (long long)o->id,
                               (long long)period_due),
        .at = now,
    };
    if ((e = alert_raise(d, &al, NULL)) || (e = count(d, "check.missed.new", o->region, now)) ||
        (e = event(d, &row, "check_missed",
                   arena_printf(a, "{\"due_at\":%lld}", (long long)period_due), 0)))
        return e;
    res->missed++;
    return E_OK;
}

static err finish(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static err sweep_observations(db *d, arena *a, int64_t now, struct check_sweep_result *res)
{
    struct due *rows = calloc(SWEEP_BATCH, sizeof *rows);
    if (!rows)
        return E_NOMEM;
    int64_t after = 0;
    err e = E_OK;
    for (;;) {
        int n = 0;
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT o.id, o.person_id, o.region_code, o.start_at, o.kind, "
                            "(SELECT COALESCE(MAX(c.at), 0) FROM checks c WHERE c.observation_id "
                            "= o.id) FROM observations o WHERE o.state = 'active' AND o.id > ? "
                            "ORDER BY o.id LIMIT 256",
                            &s)))
            break;
        db_bind_int64(s, 1, after);
        bool row;
        while (n < SWEEP_BATCH && !(e = db_row(s, &row)) && row) {
            int k = vocab_parse(&observe_kind_vocab, db_col_text(s, 4));
            rows[n++] = (struct due){
                db_col_int64(s, 0), db_col_int64(s, 1),
                db_col_int64(s, 2), db_col_int64(s, 3),
                db_col_int64(s, 5), k > 0 ? (enum observe_kind)k : OBSERVE_HOME_ISOLATION};
        }
        db_done(s);
        if (e)
            break;
        for (int i = 0; i < n && !e; i++) {
            /* one transaction per observation: a failure costs that one
             * (logged, retried by the next sweep), not the others */
            if (!(e = db_begin(d)) && (e = finish(d, sweep_one(d, a, &rows[i], now, res)))) {
                log_event(LOG_WARN, "check_sweep_skipped", "slug", err_slug(e), NULL);
                err_clear();
                e = E_OK;
            }
            arena_reset(a);
        }
        if (e || n < SWEEP_BATCH)
            break;
        after = rows[n - 1].id;
    }
    free(rows);
    return e;
}

static err sweep_messages(db *d, arena *a, int64_t now, int64_t escalate_min,
                          struct check_sweep_result *res)
{
    int64_t ids[SWEEP_BATCH], persons[SWEEP_BATCH], regions[SWEEP_BATCH], obs[SWEEP_BATCH];
    int n = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, person_id, region_code, observation_id FROM check_messages "
                       "WHERE from_whom = 'person' AND answered_at = 0 AND escalated_at = 0 AND "
                       "at < ? ORDER BY at LIMIT 256",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now - escalate_min * 60000);
    bool row;
    while (n < SWEEP_BATCH && !(e = db_row(s, &row)) && row) {
        ids[n] = db_col_int64(s, 0);
        persons[n] = db_col_int64(s, 1);
        regions[n] = db_col_int64(s, 2);
        obs[n++] = db_col_int64(s, 3);
    }
    db_done(s);
    for (int i = 0; i < n && !e; i++) {
        if ((e = db_begin(d)))
            break;
        int64_t changed = 0;
        /* claim it first: of several servers sweeping, one alerts */
        if (!(e = db_prepare(d,
                             "UPDATE check_messages SET escalated_at = ? WHERE id = ? AND "
                             "answered_at = 0 AND escalated_at = 0",
                             &s))) {
            db_bind_int64(s, 1, now);
            db_bind_int64(s, 2, ids[i]);
            e = db_run(s, &changed);
        }
        const char *name = "";
        if (!e && changed && !(e = masked_name(d, a, persons[i], &name))) {
            struct alert_new al = {
                .kind = ALERT_MESSAGE_UNANSWERED,
                .level = ALERT_WARNING,
                .region_code = regions[i],
                .person_id = persons[i],
                .message = arena_printf(a, "隔离观察人员%s的留言超过%lld分钟未回复", name,
                                        (long long)escalate_min),
                .detail = arena_printf(a, "{\"message_id\":\"%lld\",\"observation_id\":\"%lld\"}",
                                       (long long)ids[i], (long long)obs[i]),
                .at = now,
            };
            if (!(e = alert_raise(d, &al, NULL)))
                res->escalated++;
        }
        e = finish(d, e);
        arena_reset(a);
    }
    return e;
}

err check_sweep(db *d, int64_t now, int64_t escalate_min, struct check_sweep_result *r)
{
    struct check_sweep_result res = {0};
    /* the sweep runs on its own thread or a command: no request arena */
    arena *a = arena_new(4096);
    if (!a)
        return E_NOMEM;
    err e = sweep_observations(d, a, now, &res);
    if (!e)
        e = sweep_messages(d, a, now, escalate_min, &res);
    arena_free(&a);
    if (r)
        *r = res;
    return e;
}

static int escalate_minutes; /* set once before the thread starts */

static err sweep_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    struct check_sweep_result res = {0};
    err e = check_sweep(d, now, escalate_minutes, &res);
    *n_r = res.tasks + res.missed + res.escalated;
    return e;
}

static struct periodic sweeper = PERIODIC_INIT("check_sweep", sweep_run, NULL);

err check_worker_start(const char *db_url, int every_s, int escalate_min)
{
    escalate_minutes = escalate_min;
    return periodic_start(&sweeper, db_url, every_s);
}

void check_worker_stop(void)
{
    periodic_stop(&sweeper);
}

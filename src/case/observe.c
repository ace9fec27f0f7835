/*
 * The observation list (隔离观察名单, docs/cases.md): one open observation
 * per person, with the §5.1 fields of the field table (internal.h), the
 * isolations row the code engine reads, the rooms of quarantine sites, the
 * periods of each kind, and the end of an observation.
 *
 * Everything that writes runs inside the caller's transaction and takes
 * the caller's principal: the person and the site must lie inside its
 * scope (E_NOT_FOUND / E_INPUT otherwise), and each step lands with its
 * timeline line, its status change and its recomputed code or not at all.
 */
#include "case/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "code/code.h"
#include "db/query.h"
#include "person/person.h"
#include "place/place.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "task/task.h"

/* ---- vocabularies ------------------------------------------------------------------ */

static const struct vocab_word kinds[] = {
    {NULL, NULL},
    {"home_isolation", "居家隔离"},
    {"home_observation", "居家医学观察"},
    {"central", "集中隔离"},
    {"hospital", "定点医院"},
};
const struct vocab observe_kind_vocab = VOCAB("observe_kinds", "隔离观察方式", kinds);

static const struct vocab_word sources[] = {
    {NULL, NULL},
    {"resident", "市民上报"},
    {"self_check", "隔离居民自查"},
    {"grid_patrol", "网格排查"},
    {"canvass", "街道社区摸排"},
    {"doctor", "基层医生"},
    {"checkpoint", "卡口排查"},
    {"cdc", "疾控中心"},
    {"enterprise", "企业自主申报"},
    {"contact", "确诊病例密切接触者"},
    {"import", "批量导入"},
};
const struct vocab case_source_vocab = VOCAB("case_sources", "隔离信息报送来源", sources);

static const struct vocab_word states[] = {
    {NULL, NULL},        {"active", "观察中"}, {"released", "已解除"}, {"transferred", "已转送"},
    {"ended", "已结束"},
};
const struct vocab observe_state_vocab = VOCAB("observe_states", "隔离观察状态", states);

static const struct vocab_word release_statuses[] = {
    {NULL, NULL},
    {"treatment", "集中治疗"},
    {"free", "自由"},
};
const struct vocab release_status_vocab =
    VOCAB("release_statuses", "解除隔离后状态", release_statuses);

static const struct vocab_word room_states[] = {
    {NULL, NULL},
    {"free", "空闲"},
    {"occupied", "已入住"},
    {"closed", "停用"},
};
const struct vocab room_state_vocab = VOCAB("room_states", "房间状态", room_states);

/* Every step kind the timelines hold, each with its label: the one table
 * (incident and person timelines, GET /api/v1/vocabularies "case_actions");
 * a step written under a name missing here would show no label, which
 * tests/api/observe.test.mjs refuses by reading the sources. */
static const struct vocab_word actions[] = {
    {NULL, NULL},
    {"observed", "纳入隔离观察"},
    {"status", "状态变更"},
    {"released", "解除隔离"},
    {"transferred", "转送"},
    {"ended", "结束观察"},
    {"moved", "调换房间"},
    {"updated", "更新观察信息"},
    /* incident.c */
    {"reported", "事件上报"},
    {"routed", "事件分派"},
    {"registered", "登记人员"},
    {"matched", "匹配到已登记人员"},
    {"task_created", "派发任务"},
    {"task_cancelled", "核实任务撤销"},
    {"verified", "入户核实"},
    {"closed", "结案"},
    /* check.c */
    {"check", "体征核查"},
    {"check_missed", "未按时核查"},
    {"transfer_proposed", "建议转送定点医院"},
    {"transfer_decided", "转送处置决定"},
    {"message", "隔离人员留言"},
    {"message_answered", "医生回复留言"},
    /* release.c */
    {"certificate", "出具解除隔离通知书"},
    {"certificate_revoked", "解除隔离通知书作废"},
    {"note", "后续行为记录"},
    /* residence.c */
    {"residence_moved", "迁居"},
    /* exchange/connect_urban.c: the incident as a case of 数字城管 */
    {"urban_pushed", "推送数字城管"},
    {"urban_state", "数字城管处置进展"},
};
const struct vocab case_action_vocab = VOCAB("case_actions", "处置步骤", actions);

const char *case_action_label(const char *action)
{
    int k = vocab_parse(&case_action_vocab, action);
    /* never the raw name: an unknown kind (a newer server's row read by an
     * older one) still reads as a step */
    return k > 0 ? vocab_label(&case_action_vocab, (size_t)k) : "处置记录";
}

/* ---- the field table --------------------------------------------------------------- */

#define OBS_ROW(...) FIELD_ROW_OF(struct observation, __VA_ARGS__)
const struct field obs_rows[OBS_FIELD_COUNT] = {OBS_FIELDS(OBS_ROW)};
#undef OBS_ROW
_Static_assert(sizeof(enum release_status) == sizeof(int), "FD_ENUM members are read as int");

static struct {
    pthread_once_t once;
    char insert[2048], update[2048], cols[2048];
} st = {.once = PTHREAD_ONCE_INIT};

/* The columns before the table's, in the order of read_row. */
#define OBS_HEAD                                                                                   \
    "o.id, o.person_id, o.region_code, o.incident_id, o.kind, o.source, o.state, o.start_at, "     \
    "o.planned_end_at, o.ended_at, o.end_reason_enc, o.site_id, o.room_no, o.hospital, "           \
    "o.isolation_id, "
enum { C_HEAD = 15 };

static void storage_build(void)
{
    const size_t n = OBS_FIELD_COUNT;
    char params[512] = "";
    fields_sql_put(st.insert, sizeof st.insert,
                   "INSERT INTO observations (id, person_id, region_code, incident_id, kind, "
                   "source, state, start_at, planned_end_at, site_id, room_no, hospital, "
                   "isolation_id, version, created_by, created_at, updated_at, ");
    fields_sql_cols(obs_rows, n, "", st.insert, sizeof st.insert);
    fields_sql_put(st.insert, sizeof st.insert,
                   ") VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ");
    fields_sql_params(n, params, sizeof params);
    fields_sql_put(st.insert, sizeof st.insert, params);
    fields_sql_put(st.insert, sizeof st.insert, ")");

    fields_sql_put(st.update, sizeof st.update, "UPDATE observations SET ");
    fields_sql_assign(obs_rows, n, st.update, sizeof st.update);
    fields_sql_put(st.update, sizeof st.update,
                   ", version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND "
                   "region_code >= ? AND region_code < ?");

    fields_sql_put(st.cols, sizeof st.cols, "SELECT " OBS_HEAD);
    fields_sql_cols(obs_rows, n, "o.", st.cols, sizeof st.cols);
    fields_sql_put(st.cols, sizeof st.cols,
                   ", o.version, o.created_by, o.created_at, o.updated_at, p.name_enc, p.status, "
                   "COALESCE(r.name, ''), COALESCE(s.name, '') FROM observations o "
                   "JOIN persons p ON p.id = o.person_id "
                   "LEFT JOIN regions r ON r.code = o.region_code "
                   "LEFT JOIN places s ON s.id = o.site_id ");
}

static void storage_init(void)
{
    pthread_once(&st.once, storage_build);
}

enum {
    C_VERSION = C_HEAD + OBS_FIELD_COUNT,
    C_CREATED_BY,
    C_CREATED_AT,
    C_UPDATED_AT,
    C_NAME,
    C_STATUS,
    C_REGION_NAME,
    C_SITE_NAME
};

static err read_row(db_stmt *s, arena *a, struct observation *o)
{
    memset(o, 0, sizeof *o);
    o->id = db_col_int64(s, 0);
    o->person_id = db_col_int64(s, 1);
    o->region_code = db_col_int64(s, 2);
    o->incident_id = db_col_int64(s, 3);
    int k = vocab_parse(&observe_kind_vocab, db_col_text(s, 4));
    o->kind = k > 0 ? (enum observe_kind)k : 0;
    k = vocab_parse(&case_source_vocab, db_col_text(s, 5));
    o->source = k > 0 ? (enum case_source)k : 0;
    k = vocab_parse(&observe_state_vocab, db_col_text(s, 6));
    o->state = k > 0 ? (enum observe_state)k : 0;
    o->start_at = db_col_int64(s, 7);
    o->planned_end_at = db_col_int64(s, 8);
    o->ended_at = db_col_int64(s, 9);
    err e = unseal_col(a, s, 10, "observations.end_reason", &o->end_reason);
    if (e)
        return e;
    o->site_id = db_col_int64(s, 11);
    o->room_no = arena_strdup(a, db_col_text(s, 12));
    o->hospital = arena_strdup(a, db_col_text(s, 13));
    o->isolation_id = db_col_int64(s, 14);
    if ((e = fields_read(s, C_HEAD, a, "observations", obs_rows, OBS_FIELD_COUNT, o, unseal_col)))
        return e;
    o->version = db_col_int64(s, C_VERSION);
    o->created_by = db_col_int64(s, C_CREATED_BY);
    o->created_at = db_col_int64(s, C_CREATED_AT);
    o->updated_at = db_col_int64(s, C_UPDATED_AT);
    if ((e = unseal_col(a, s, C_NAME, "persons.name", &o->person_name)))
        return e;
    o->person_status = arena_strdup(a, db_col_text(s, C_STATUS));
    o->region_name = arena_strdup(a, db_col_text(s, C_REGION_NAME));
    o->site_name = arena_strdup(a, db_col_text(s, C_SITE_NAME));
    return E_OK;
}

err case_observation_find(db *d, arena *a, const struct scope *sc, int64_t id,
                          struct observation *o_r)
{
    storage_init();
    char sql[2560] = "";
    fields_sql_put(sql, sizeof sql, st.cols);
    fields_sql_put(sql, sizeof sql, "WHERE o.id = ? AND o.region_code >= ? AND o.region_code < ?");
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? read_row(s, a, o_r) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    return e;
}

/* ---- small helpers ----------------------------------------------------------------- */

static err event(db *d, const struct principal *who, int64_t incident_id, int64_t person_id,
                 int64_t region, const char *action, json_t *detail)
{
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = case_event_add(d, incident_id, person_id, region, action, text, who->user_id);
    free(text);
    return e;
}

bool case_status_is_observation(int s)
{
    return s == PERSON_OBSERVATION || s == PERSON_HOME_ISOLATION || s == PERSON_CENTRAL_QUARANTINE;
}

/* The person status an observation of this kind puts a person in. */
static int status_of_kind(enum observe_kind k)
{
    switch (k) {
    case OBSERVE_HOME_ISOLATION:
        return PERSON_HOME_ISOLATION;
    case OBSERVE_CENTRAL:
        return PERSON_CENTRAL_QUARANTINE;
    default:
        return PERSON_OBSERVATION;
    }
}

/* A live quarantine site inside sc; E_INPUT "invalid_site" otherwise. */
static err site_check(db *d, arena *a, const struct scope *sc, int64_t site_id, int64_t *region_r)
{
    struct place p;
    err e = site_id > 0 ? place_find(d, a, sc, site_id, &p) : E_NOT_FOUND;
    if (e == E_NOT_FOUND || (!e && p.kind != PLACE_QUARANTINE_SITE))
        return err_set(E_INPUT, "invalid_site", "site_id", "隔离点不存在或不在您的管辖范围内");
    if (e)
        return e;
    if (region_r)
        *region_r = p.region_code;
    return E_OK;
}

/* Occupy room (site_id, room_no) for observation_id: E_CONFLICT
 * "room_taken" when occupied or closed, E_INPUT "invalid_room" when the
 * site has no such room. */
static err room_take(db *d, int64_t site_id, const char *room_no, int64_t observation_id)
{
    /* the room's region and state, for its counters and the refusal */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT q.id, q.state, q.region_code FROM quarantine_rooms q JOIN places p "
                       "ON p.id = q.site_id AND p.deleted_at = 0 WHERE q.site_id = ? AND "
                       "q.room_no = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, site_id);
    db_bind_text(s, 2, room_no);
    bool row;
    int64_t id = 0, region = 0;
    char state[16] = "";
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        snprintf(state, sizeof state, "%s", db_col_text(s, 1));
        region = db_col_int64(s, 2);
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_INPUT, "invalid_room", "room_no", "该隔离点没有这个房间");
    if (!strcmp(state, "closed"))
        return err_set(E_CONFLICT, "room_closed", "room_no", "该房间已停用");
    int64_t n = 0;
    if (!strcmp(state, "free")) {
        if ((e = db_prepare(d,
                            "UPDATE quarantine_rooms SET state = 'occupied', observation_id = ?, "
                            "updated_at = ? WHERE id = ? AND state = 'free'",
                            &s)))
            return e;
        db_bind_int64(s, 1, observation_id);
        db_bind_int64(s, 2, now_ms());
        db_bind_int64(s, 3, id);
        if ((e = db_run(s, &n)))
            return e;
    }
    if (n != 1) /* occupied, or taken between the read and the write */
        return err_set(E_CONFLICT, "room_taken", "room_no", "该房间已有人入住");
    if ((e = case_room_count(d, site_id, ROOM_FREE, region, -1)))
        return e;
    return case_room_count(d, site_id, ROOM_OCCUPIED, region, 1);
}

static err room_free(db *d, int64_t observation_id)
{
    /* the room the observation holds (none for other kinds); a deleted
     * site's rooms are no longer counted */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT q.id, q.site_id, q.region_code, p.deleted_at FROM quarantine_rooms "
                       "q JOIN places p ON p.id = q.site_id WHERE q.observation_id = ? AND "
                       "q.state = 'occupied'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, observation_id);
    bool row;
    int64_t id = 0, site = 0, region = 0, deleted = 0;
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        site = db_col_int64(s, 1);
        region = db_col_int64(s, 2);
        deleted = db_col_int64(s, 3);
    }
    db_done(s);
    if (e || !row)
        return e;
    if ((e = db_prepare(d,
                        "UPDATE quarantine_rooms SET state = 'free', observation_id = 0, "
                        "updated_at = ? WHERE id = ? AND state = 'occupied'",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, id);
    int64_t n = 0;
    if ((e = db_run(s, &n)) || n != 1 || deleted)
        return e;
    if ((e = case_room_count(d, site, ROOM_OCCUPIED, region, -1)))
        return e;
    return case_room_count(d, site, ROOM_FREE, region, 1);
}

static err check_room_no(const char *room_no, const char *field)
{
    if (!room_no || !*room_no)
        return err_set(E_INPUT, "required", field, "请填写房间号");
    return check_text(room_no, field, "房间号", 20, TEXT_REQUIRED | TEXT_ONE_LINE);
}

/* ---- periods ---------------------------------------------------------------------------- */

#define PERIOD_DEFAULT 14
#define PERIOD_MAX     60

err case_period_days(db *d, enum observe_kind kind, int64_t *days_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT days FROM observation_periods WHERE kind = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&observe_kind_vocab, kind));
    bool row;
    /* the defaults: 14 days; a hospital stay has no planned end */
    *days_r = kind == OBSERVE_HOSPITAL ? 0 : PERIOD_DEFAULT;
    if (!(e = db_row(s, &row)) && row)
        *days_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

err case_periods_json(db *d, json_t **o_r)
{
    json_t *arr = json_array();
    for (int k = OBSERVE_HOME_ISOLATION; k <= OBSERVE_HOSPITAL; k++) {
        int64_t days;
        err e = case_period_days(d, (enum observe_kind)k, &days);
        if (e) {
            json_decref(arr);
            return e;
        }
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(vocab_name(&observe_kind_vocab, (size_t)k)));
        json_object_set_new(o, "kind_label",
                            json_string(vocab_label(&observe_kind_vocab, (size_t)k)));
        json_object_set_new(o, "days", json_integer(days));
        json_array_append_new(arr, o);
    }
    *o_r = arr;
    return E_OK;
}

err case_periods_save(db *d, json_t *periods, int64_t user_id)
{
    size_t i;
    json_t *p;
    err e = E_OK;
    int64_t days[OBSERVE_HOSPITAL + 1] = {0};
    bool seen[OBSERVE_HOSPITAL + 1] = {false};
    if (!json_is_array(periods) || json_array_size(periods) == 0)
        return err_set(E_INPUT, "required", "periods", "请填写各隔离观察方式的天数");
    /* every item checked before anything is written */
    json_array_foreach(periods, i, p)
    {
        char field[32];
        snprintf(field, sizeof field, "periods[%zu]", i);
        const char *kind = json_str(p, "kind");
        int k = json_is_object(p) ? vocab_parse(&observe_kind_vocab, kind) : -1;
        json_t *dv = json_is_object(p) ? json_object_get(p, "days") : NULL;
        if (k <= 0)
            return err_set(E_INPUT, "invalid_value", field, "隔离观察方式的取值不正确");
        if (seen[k])
            return err_set(E_INPUT, "duplicate_kind", "periods", "同一隔离观察方式只能填写一次");
        if (!json_is_integer(dv) || json_integer_value(dv) < 0 ||
            json_integer_value(dv) > PERIOD_MAX)
            return err_set(E_INPUT, "out_of_range", field, "隔离天数应在0到%d之间", PERIOD_MAX);
        seen[k] = true;
        days[k] = json_integer_value(dv);
    }
    for (int k = OBSERVE_HOME_ISOLATION; k <= OBSERVE_HOSPITAL && !e; k++) {
        if (!seen[k])
            continue;
        db_stmt *s;
        if ((e = db_prepare(d, "DELETE FROM observation_periods WHERE kind = ?", &s)))
            break;
        db_bind_text(s, 1, vocab_name(&observe_kind_vocab, (size_t)k));
        if ((e = db_run(s, NULL)))
            break;
        if ((e = db_prepare(d,
                            "INSERT INTO observation_periods (kind, days, updated_by, updated_at) "
                            "VALUES (?, ?, ?, ?)",
                            &s)))
            break;
        db_bind_text(s, 1, vocab_name(&observe_kind_vocab, (size_t)k));
        db_bind_int64(s, 2, days[k]);
        db_bind_int64(s, 3, user_id);
        db_bind_int64(s, 4, now_ms());
        e = db_run(s, NULL);
    }
    return e;
}

/* ---- observe -------------------------------------------------------------------------- */

err case_observe_full(db *d, arena *a, const struct principal *who,
                      const struct case_observe_in *in, const struct observation *fields,
                      unsigned set, int64_t *observation_id_r)
{
    err e = E_OK, x;
    int64_t now = now_ms();
    int64_t start = in->start_at ? in->start_at : now;
    err_collect_begin();
    if (!vocab_name(&observe_kind_vocab, in->kind)[0])
        e = err_add(e, E_INPUT, "invalid_value", "kind", "隔离观察方式的取值不正确");
    if (!vocab_name(&case_source_vocab, in->source)[0])
        e = err_add(e, E_INPUT, "invalid_value", "source", "隔离信息报送来源的取值不正确");
    /* an observation may be recorded after it began, not before it begins */
    if (start > now + 3600 * 1000LL || start < now - 365 * DAY_MS)
        e = err_add(e, E_INPUT, "out_of_range", "start_at", "隔离起始时间应在一年内且不晚于现在");
    if (in->kind == OBSERVE_CENTRAL) {
        if (in->site_id <= 0)
            e = err_add(e, E_INPUT, "required", "site_id", "集中隔离须选择隔离点");
        if ((x = check_room_no(in->room_no, "room_no")))
            e = e ? e : x;
    } else if (in->site_id || (in->room_no && *in->room_no)) {
        e = err_add(e, E_INPUT, "invalid_value", in->site_id ? "site_id" : "room_no",
                    "只有集中隔离可以选择隔离点和房间");
    }
    if (in->kind == OBSERVE_HOSPITAL) {
        if ((x = check_text(in->hospital, "hospital", "定点医院", 100,
                            TEXT_REQUIRED | TEXT_ONE_LINE)))
            e = e ? e : x;
        const char *handover = set & OBS_BIT(handover) ? fields->handover : in->handover;
        if (!handover || !*handover)
            e = err_add(e, E_INPUT, "required", "handover", "转送定点医院须填写移交确认交接人");
    } else if (in->hospital && *in->hospital) {
        e = err_add(e, E_INPUT, "invalid_value", "hospital", "只有定点医院观察可以填写医院");
    }
    err_collect_end();
    if (e)
        return e;
    int64_t region;
    int status;
    if ((e = case_person_in_scope(d, &who->scope, in->person_id, &region, &status)))
        return e;
    /* a dead person is refused before anything is written (the state
     * machine would refuse the status change at the end) */
    if (status == PERSON_DEAD)
        return err_set(E_CONFLICT, "invalid_transition", "person_id", "不能从“%s”变更为“%s”",
                       person_status_label(status), person_status_label(status_of_kind(in->kind)));
    if (in->kind == OBSERVE_CENTRAL && (e = site_check(d, a, &who->scope, in->site_id, NULL)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT id FROM observations WHERE person_id = ? AND state = 'active'",
                        &s)))
        return e;
    db_bind_int64(s, 1, in->person_id);
    bool row;
    int64_t open_id = 0;
    if (!(e = db_row(s, &row)) && row)
        open_id = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (open_id)
        /* the open one is in scope with the person: its id may be told */
        return err_set_ref(E_CONFLICT, "already_observed", open_id, "该人员已在隔离观察名单中");
    int64_t days;
    if ((e = case_period_days(d, in->kind, &days)))
        return e;
    int64_t id = id_new(), iso = id_new();
    if (in->kind == OBSERVE_CENTRAL && (e = room_take(d, in->site_id, in->room_no, id)))
        return e;
    /* the isolations row the code engine reads (sql/004) */
    if ((e = db_prepare(d,
                        "INSERT INTO isolations (id, person_id, region_code, kind, start_at, "
                        "end_at, user_id, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, iso);
    db_bind_int64(s, 2, in->person_id);
    db_bind_int64(s, 3, region);
    db_bind_text(s, 4,
                 in->kind == OBSERVE_HOME_ISOLATION || in->kind == OBSERVE_HOME_OBSERVATION
                     ? "home"
                     : "central");
    db_bind_int64(s, 5, start);
    db_bind_int64(s, 6, who->user_id);
    db_bind_int64(s, 7, now);
    if ((e = db_run(s, NULL)))
        return e;
    /* the §5.1 fields: the body's, with the create's own texts */
    struct observation rec;
    memset(&rec, 0, sizeof rec);
    if (fields)
        fields_copy(obs_rows, &rec, obs_rows, fields, OBS_FIELD_COUNT, set);
    if (!(set & OBS_BIT(handover)) && in->handover)
        rec.handover = in->handover;
    if (!(set & OBS_BIT(evidence)) && in->evidence)
        rec.evidence = in->evidence;
    if (!(set & OBS_BIT(note)) && in->note)
        rec.note = in->note;
    storage_init();
    if ((e = db_prepare(d, st.insert, &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->person_id);
    db_bind_int64(s, 3, region);
    db_bind_int64(s, 4, in->incident_id);
    db_bind_text(s, 5, vocab_name(&observe_kind_vocab, in->kind));
    db_bind_text(s, 6, vocab_name(&case_source_vocab, in->source));
    db_bind_int64(s, 7, start);
    db_bind_int64(s, 8, days ? start + days * DAY_MS : 0);
    db_bind_int64(s, 9, in->kind == OBSERVE_CENTRAL ? in->site_id : 0);
    db_bind_text(s, 10, in->kind == OBSERVE_CENTRAL ? in->room_no : "");
    db_bind_text(s, 11, in->kind == OBSERVE_HOSPITAL ? in->hospital : "");
    db_bind_int64(s, 12, iso);
    db_bind_int64(s, 13, who->user_id);
    db_bind_int64(s, 14, now);
    db_bind_int64(s, 15, now);
    int next;
    if ((e = fields_bind(s, 16, a, "observations", obs_rows, OBS_FIELD_COUNT, &rec, seal_bind,
                         &next))) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, NULL)))
        /* the unique open index: a concurrent observe of the same person */
        return e == E_CONFLICT ? err_set(E_CONFLICT, "already_observed", "person_id",
                                         "该人员已在隔离观察名单中")
                               : e;
    if ((e = case_written(d, CASE_REC_OBSERVATION, id, in->person_id, region)))
        return e;
    if (in->kind == OBSERVE_CENTRAL) { /* a room number is typed text: jansson escapes it */
        json_t *detail = json_object();
        json_set_id(detail, "observation_id", id);
        json_object_set_new(detail, "kind", json_string(vocab_name(&observe_kind_vocab, in->kind)));
        json_object_set_new(detail, "source",
                            json_string(vocab_name(&case_source_vocab, in->source)));
        json_set_id(detail, "site_id", in->site_id);
        json_object_set_new(detail, "room_no", json_string(in->room_no));
        e = event(d, who, in->incident_id, in->person_id, region, "observed", detail);
    } else { /* ids and vocabulary names only: the same text without a JSON object (imports) */
        char detail[160];
        snprintf(detail, sizeof detail,
                 "{\"observation_id\":\"%lld\",\"kind\":\"%s\",\"source\":\"%s\"}", (long long)id,
                 vocab_name(&observe_kind_vocab, in->kind),
                 vocab_name(&case_source_vocab, in->source));
        e = case_event_add(d, in->incident_id, in->person_id, region, "observed", detail,
                           who->user_id);
    }
    if (e)
        return e;
    if ((e = case_count(d, "case.observe.new", region, china_day(now), 1)) ||
        (e = case_observing_count(d, in->kind, in->source, region, 1)))
        return e;
    /* the person's status: into the kind's observation state from normal
     * or cured, moved between observation states; a suspected or worse
     * case stays as it is; dead is refused by the state machine */
    int to = status_of_kind(in->kind);
    if (status != to && (status == PERSON_NORMAL || status == PERSON_CURED ||
                         status == PERSON_DEAD || case_status_is_observation(status))) {
        struct case_status_in sin = {
            .person_id = in->person_id,
            .to = to,
            .reason =
                arena_printf(a, "纳入隔离观察（%s）", vocab_label(&observe_kind_vocab, in->kind)),
            .observation_id = id,
        };
        if ((e = case_status_set(d, a, who, &sin, NULL)))
            return e;
    } else if ((e = code_refresh(d, a, in->person_id, "observation", who->user_id))) {
        return e;
    }
    *observation_id_r = id;
    return E_OK;
}

err case_observe(db *d, arena *a, const struct principal *who, const struct case_observe_in *in,
                 int64_t *observation_id_r)
{
    return case_observe_full(d, a, who, in, NULL, 0, observation_id_r);
}

/* ---- the end ----------------------------------------------------------------------- */

static case_write_fn on_write;

err case_on_write(case_write_fn fn)
{
    if (fn && on_write && on_write != fn)
        return err_set(E_INTERNAL, NULL, NULL, "case_on_write 已有订阅者：每个钩子只能注册一个");
    on_write = fn;
    return E_OK;
}

err case_written(db *d, enum case_record kind, int64_t id, int64_t person_id, int64_t region_code)
{
    return on_write ? on_write(d, kind, id, person_id, region_code) : E_OK;
}

/* Close observation o (active) as `state`: the row, its isolations row,
 * its room, the timeline. */
static err close_one(db *d, arena *a, const struct principal *who, const struct observation *o,
                     enum observe_state state, enum release_status rs, const char *reason)
{
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE observations SET state = ?, ended_at = ?, end_reason_enc = ?, "
                       "release_status = CASE WHEN ? = '' THEN release_status ELSE ? END, "
                       "version = version + 1, updated_at = ? WHERE id = ? AND state = 'active'",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, vocab_name(&observe_state_vocab, state));
    db_bind_int64(s, 2, now);
    if ((e = seal_bind(a, s, 3, "observations.end_reason", reason))) {
        db_done(s);
        return e;
    }
    db_bind_text(s, 4, vocab_name(&release_status_vocab, rs));
    db_bind_text(s, 5, vocab_name(&release_status_vocab, rs));
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, o->id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return err_set(E_CONFLICT, "observation_closed", NULL, "该隔离观察已结束");
    if ((e = case_written(d, CASE_REC_OBSERVATION, o->id, o->person_id, o->region_code)))
        return e;
    if ((e = db_prepare(d, "UPDATE isolations SET end_at = ? WHERE id = ? AND end_at = 0", &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, o->isolation_id);
    if ((e = db_run(s, NULL)))
        return e;
    if ((e = room_free(d, o->id)) ||
        (e = case_observing_count(d, o->kind, o->source, o->region_code, -1)))
        return e;
    /* nobody checks a person who is no longer observed */
    if ((e = task_cancel_for(d, a, who, "check", o->id, "隔离观察已结束")))
        return e;
    if (state == OBS_RELEASED &&
        (e = case_count(d, "case.release.new", o->region_code, china_day(now), 1)))
        return e;
    json_t *detail = json_object();
    json_set_id(detail, "observation_id", o->id);
    if (rs)
        json_object_set_new(detail, "release_status",
                            json_string(vocab_name(&release_status_vocab, rs)));
    const char *action = state == OBS_RELEASED      ? "released"
                         : state == OBS_TRANSFERRED ? "transferred"
                                                    : "ended";
    return event(d, who, o->incident_id, o->person_id, o->region_code, action, detail);
}

err case_observe_close_open(db *d, arena *a, const struct principal *who, int64_t person_id,
                            enum observe_state state)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT id FROM observations WHERE person_id = ? AND state = 'active'", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    int64_t id = 0;
    if (!(e = db_row(s, &row)) && row)
        id = db_col_int64(s, 0);
    db_done(s);
    if (e || !id)
        return e;
    /* the person was found in scope; their observation may carry an older
     * region (they moved), which must not stop the change */
    struct scope all = scope_all();
    struct observation o;
    if ((e = case_observation_find(d, a, &all, id, &o)))
        return e;
    if ((e = close_one(d, a, who, &o, state, 0, "人员状态变更")))
        return e;
    /* ended by a status change, not by its release task */
    return task_cancel_for(d, a, who, "release", o.id, "人员状态变更，隔离观察已结束");
}

err case_observe_end(db *d, arena *a, const struct principal *who, int64_t observation_id,
                     enum observe_end how, enum release_status release_status, const char *reason)
{
    err e = E_OK, x;
    err_collect_begin();
    if (how != OBSERVE_RELEASED && how != OBSERVE_TRANSFERRED)
        e = err_add(e, E_INPUT, "invalid_value", "how", "结束方式的取值不正确");
    if (release_status && !vocab_name(&release_status_vocab, release_status)[0])
        e = err_add(e, E_INPUT, "invalid_value", "release_status", "解除隔离后状态的取值不正确");
    if ((x = check_text(reason, "reason", "原因", 200, TEXT_REQUIRED)))
        e = e ? e : x;
    err_collect_end();
    if (e)
        return e;
    struct observation o;
    if ((e = case_observation_find(d, a, &who->scope, observation_id, &o)))
        return e;
    if (o.state != OBS_ACTIVE)
        return err_set(E_CONFLICT, "observation_closed", NULL, "该隔离观察已结束");
    if ((e = close_one(d, a, who, &o, how == OBSERVE_RELEASED ? OBS_RELEASED : OBS_TRANSFERRED,
                       release_status, reason)))
        return e;
    /* a patient discharged from hospital is followed up (check.c) */
    if (how == OBSERVE_RELEASED && o.kind == OBSERVE_HOSPITAL &&
        (e = check_follow_up_plan(d, a, o.person_id, o.region_code, o.id, now_ms())))
        return e;
    int status = person_status_parse(o.person_status);
    if (how == OBSERVE_RELEASED && case_status_is_observation(status)) {
        struct case_status_in sin = {.person_id = o.person_id,
                                     .to = PERSON_NORMAL,
                                     .reason = reason,
                                     .observation_id = o.id};
        return case_status_set(d, a, who, &sin, NULL);
    }
    return code_refresh(d, a, o.person_id, "observation", who->user_id);
}

/* ---- update ---------------------------------------------------------------------------- */

err case_observation_update(db *d, arena *a, const struct principal *who, int64_t id,
                            int64_t version, const struct observation *in, unsigned set)
{
    if (!set)
        return err_set(E_INPUT, "empty_update", NULL, "没有需要修改的内容");
    struct observation o;
    err e = case_observation_find(d, a, &who->scope, id, &o);
    if (e)
        return e;
    if (version && version != o.version)
        return err_set(E_CONFLICT, "version_conflict", "version",
                       "该记录已被他人修改，请刷新后重试");
    fields_copy(obs_rows, &o, obs_rows, in, OBS_FIELD_COUNT, set);
    storage_init();
    db_stmt *s;
    if ((e = db_prepare(d, st.update, &s)))
        return e;
    int next;
    if ((e = fields_bind(s, 1, a, "observations", obs_rows, OBS_FIELD_COUNT, &o, seal_bind,
                         &next))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, next, now_ms());
    db_bind_int64(s, next + 1, id);
    db_bind_int64(s, next + 2, o.version);
    db_bind_int64(s, next + 3, who->scope.lo);
    db_bind_int64(s, next + 4, who->scope.hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return err_set(E_CONFLICT, "version_conflict", "version",
                       "该记录已被他人修改，请刷新后重试");
    if ((e = case_written(d, CASE_REC_OBSERVATION, id, o.person_id, o.region_code)))
        return e;
    json_t *detail = json_object();
    json_set_id(detail, "observation_id", id);
    json_t *names = json_array();
    for (size_t i = 0; i < OBS_FIELD_COUNT; i++)
        if (set & (1u << i))
            json_array_append_new(names, json_string(obs_rows[i].name));
    json_object_set_new(detail, "fields", names);
    return event(d, who, o.incident_id, o.person_id, o.region_code, "updated", detail);
}

/* ---- the list --------------------------------------------------------------------------- */

#define LIST_MAX 10000 /* rows of one export, and of a name search before paging */

/* " FROM observations o JOIN persons p … WHERE …" of the filter, without
 * the state when `with_state` is false (the counts by state). */
/* walk_ids: the scope written as an expression no index serves, so that
 * the planner walks an index in the order asked (the primary key in id
 * order for an export's pages, observations_started newest first for a
 * wide list's first pages) instead of the region index and a sort of the
 * whole scope per page */
static void list_where_as(struct query *q, const struct scope *sc,
                          const struct case_observe_filter *f, const struct person_name_keys *names,
                          bool with_state, bool walk_ids)
{
    query_sql(q, " FROM observations o JOIN persons p ON p.id = o.person_id "
                 "LEFT JOIN regions r ON r.code = o.region_code "
                 "LEFT JOIN places s ON s.id = o.site_id ");
    query_sql(q, walk_ids ? "WHERE o.region_code + 0 >= ? AND o.region_code + 0 < ?"
                          : "WHERE o.region_code >= ? AND o.region_code < ?");
    query_int(q, sc->lo);
    query_int(q, sc->hi);
    if (with_state && f->state) {
        query_sql(q, " AND o.state = ?");
        query_text(q, vocab_name(&observe_state_vocab, f->state));
    }
    if (f->kind) {
        query_sql(q, " AND o.kind = ?");
        query_text(q, vocab_name(&observe_kind_vocab, f->kind));
    }
    if (f->source) {
        query_sql(q, " AND o.source = ?");
        query_text(q, vocab_name(&case_source_vocab, f->source));
    }
    if (f->site_id) {
        query_sql(q, " AND o.site_id = ?");
        query_int(q, f->site_id);
    }
    if (f->person_status) {
        query_sql(q, " AND p.status = ?");
        query_text(q, person_status_name(f->person_status));
    }
    if (f->planned_end_before) {
        query_sql(q, " AND o.planned_end_at > 0 AND o.planned_end_at < ?");
        query_int(q, f->planned_end_before);
    }
    if (f->person_id) {
        query_sql(q, " AND o.person_id = ?");
        query_int(q, f->person_id);
    }
    if (names->n) {
        person_name_query_where(q, "o.person_id", names);
    }
}

static void list_where(struct query *q, const struct scope *sc, const struct case_observe_filter *f,
                       const struct person_name_keys *names, bool with_state)
{
    list_where_as(q, sc, f, names, with_state, false);
}

/* What a list and an export start with: the name query's blind indexes
 * (by_name: to be confirmed on the decrypted names) and the columns of
 * st.cols without its FROM (list_where has its own). */
static err list_start(const struct case_observe_filter *f, struct person_name_keys *names,
                      bool *by_name, char head[2048])
{
    storage_init();
    memset(names, 0, sizeof *names);
    *by_name = false;
    if (f->q && *f->q && !person_name_query_keys(f->q, names, by_name))
        return err_set(E_INPUT, "invalid_parameter", "q", "姓名查询条件无效");
    const char *from = strstr(st.cols, " FROM observations");
    size_t len = (size_t)(from - st.cols);
    memcpy(head, st.cols, len);
    head[len] = '\0';
    return E_OK;
}

/*
 * The list as it opens (docs/benchmarks.md "At 10,000,000 people"): no
 * filter but the scope and the state, one page. Its counts by state come
 * from the counters (case_observations_counted; the transferred, which have
 * none, from observations_state_kind: few) instead of a COUNT over the
 * scope, into counts[state] and counts[0] (all); and when walking
 * observations_started (sql/103) newest first reads fewer entries than the
 * range holds ((offset + page) x observations of the province / those of
 * the range in the state asked), *by_time_r: the range is written so no
 * index serves it, and the engine walks that index and stops after the
 * page, as person.c's opening_page does. *opening_r false: the old path.
 */
static err opening_counts(db *d, const struct scope *sc, const struct case_observe_filter *f,
                          int64_t counts[OBS_ENDED + 1], bool *opening_r, bool *by_time_r)
{
    *opening_r = *by_time_r = false;
    if (f->kind || f->source || f->site_id || f->person_status || f->planned_end_before ||
        f->person_id || (f->q && *f->q) || f->page_size <= 0)
        return E_OK;
    int64_t province = regcode_at_most(sc->lo, LEVEL_PROVINCE);
    int64_t in_province = 0, province_active, province_released, transferred = 0;
    err e = case_observations_counted(d, sc->lo, sc->hi, &counts[0], &counts[OBS_ACTIVE],
                                      &counts[OBS_RELEASED]);
    if (!e)
        e = case_observations_counted(d, province, regcode_end(province), &in_province,
                                      &province_active, &province_released);
    if (e)
        return e;
    struct query c = QUERY_INIT;
    query_sql(&c, "SELECT COUNT(*) FROM observations o WHERE o.state = 'transferred' AND "
                  "o.region_code + 0 >= ? AND o.region_code + 0 < ?");
    query_int(&c, sc->lo);
    query_int(&c, sc->hi);
    if ((e = query_count(d, &c, &transferred)))
        return e;
    counts[OBS_TRANSFERRED] = transferred;
    counts[OBS_ENDED] = counts[0] - counts[OBS_ACTIVE] - counts[OBS_RELEASED] - transferred;
    int64_t n = counts[f->state ? f->state : 0];
    double walk = (double)(paging_offset(f->page, f->page_size) + f->page_size) *
                  ((double)in_province / (double)(n > 0 ? n : 1));
    *opening_r = true;
    *by_time_r = n > 0 && walk < (double)n;
    return E_OK;
}

err case_observation_list(db *d, arena *a, const struct scope *sc,
                          const struct case_observe_filter *f, struct observation **items_r,
                          size_t *n_r, int64_t *total_r, json_t **counts_r)
{
    /* a name is sealed: its tokens' blind indexes select the candidates,
     * as the person list does; a query of 3 characters or more must then
     * be confirmed on the decrypted names, so that search pages in memory
     * over the candidates (at most LIST_MAX); otherwise SQL pages */
    struct person_name_keys names;
    bool by_name;
    char head[2048];
    err e = list_start(f, &names, &by_name, head);
    if (e)
        return e;
    int64_t counted[OBS_ENDED + 1] = {0};
    bool opening, by_time;
    if ((e = opening_counts(d, sc, f, counted, &opening, &by_time)))
        return e;
    struct query w = QUERY_INIT, q = QUERY_INIT;
    list_where_as(&w, sc, f, &names, true, by_time);
    int64_t total = 0;
    if (opening) {
        total = counted[f->state ? f->state : 0];
    } else if (!by_name) {
        struct query c = QUERY_INIT;
        query_sql(&c, "SELECT COUNT(*)");
        query_append(&c, &w);
        if ((e = query_count(d, &c, &total)))
            return e;
        if (f->page_size == 0 && total > LIST_MAX)
            return err_set(E_INPUT, "export_too_large", NULL, "导出的记录超过%d条，请缩小筛选范围",
                           LIST_MAX);
    }
    query_sql(&q, head);
    query_append(&q, &w);
    query_sql(&q, " ORDER BY o.start_at DESC, o.id DESC");
    int64_t limit = by_name || f->page_size == 0 ? LIST_MAX + 1 : f->page_size;
    int64_t offset = by_name || f->page_size == 0 ? 0 : paging_offset(f->page, f->page_size);
    query_sql(&q, " LIMIT ? OFFSET ?");
    query_int(&q, limit);
    query_int(&q, offset);
    db_stmt *s;
    if ((e = query_prepare(d, &q, &s)))
        return e;
    size_t cap = 32, n = 0;
    struct observation *items = arena_alloc(a, cap * sizeof *items);
    bool row;
    int64_t matched = 0, read = 0,
            skip = by_name && f->page_size ? paging_offset(f->page, f->page_size) : 0;
    while (!(e = db_row(s, &row)) && row) {
        struct observation o;
        if (by_name && ++read > LIST_MAX) {
            e = err_set(E_INPUT, "invalid_parameter", "q",
                        "符合条件的人员过多，请输入更完整的姓名");
            break;
        }
        if ((e = read_row(s, a, &o)))
            break;
        if (by_name) {
            if (!o.person_name || !person_name_matches(o.person_name, f->q))
                continue;
            matched++;
            if (matched <= skip || (f->page_size && (int64_t)n >= f->page_size))
                continue;
        }
        if (n == cap) {
            struct observation *more = arena_alloc(a, 2 * cap * sizeof *items);
            memcpy(more, items, n * sizeof *items);
            items = more;
            cap *= 2;
        }
        items[n++] = o;
    }
    db_done(s);
    if (e)
        return e;
    if (by_name)
        total = matched;
    if (n > LIST_MAX)
        return err_set(E_INPUT, "export_too_large", NULL, "导出的记录超过%d条，请缩小筛选范围",
                       LIST_MAX);
    /* counts by state over the same filters but the state */
    json_t *counts = json_object();
    for (int k = OBS_ACTIVE; k <= OBS_ENDED; k++)
        json_object_set_new(counts, vocab_name(&observe_state_vocab, (size_t)k), json_integer(0));
    if (opening) {
        for (int k = OBS_ACTIVE; k <= OBS_ENDED; k++)
            json_object_set_new(counts, vocab_name(&observe_state_vocab, (size_t)k),
                                json_integer(counted[k]));
    } else if (!by_name) {
        struct query c = QUERY_INIT, cw = QUERY_INIT;
        list_where(&cw, sc, f, &names, false);
        query_sql(&c, "SELECT o.state, COUNT(*)");
        query_append(&c, &cw);
        query_sql(&c, " GROUP BY o.state");
        if ((e = query_prepare(d, &c, &s))) {
            json_decref(counts);
            return e;
        }
        while (!(e = db_row(s, &row)) && row)
            json_object_set_new(counts, db_col_text(s, 0), json_integer(db_col_int64(s, 1)));
        db_done(s);
        if (e) {
            json_decref(counts);
            return e;
        }
    } else {
        /* by name: the counts of the page's filter as matched */
        for (size_t i = 0; i < n; i++) {
            const char *k = vocab_name(&observe_state_vocab, items[i].state);
            json_object_set_new(counts, k,
                                json_integer(json_integer_value(json_object_get(counts, k)) + 1));
        }
    }
    *items_r = items;
    *n_r = n;
    *total_r = total;
    *counts_r = counts;
    return E_OK;
}

#define EACH_PAGE 1000

err case_observation_each(db *d, arena *scratch, const struct scope *sc,
                          const struct case_observe_filter *f,
                          err (*fn)(void *ctx, const struct observation *o), void *ctx,
                          int64_t *n_r)
{
    struct person_name_keys names;
    bool by_name;
    char head[2048];
    *n_r = 0;
    err e = list_start(f, &names, &by_name, head);
    if (e)
        return e;
    /* keyset pages by id, not offsets: an offset reads every row before
     * its page again, quadratic over a million rows. The first page takes
     * the region index (a community's export is one page); once a page is
     * full, the rest walk the ids: on the region index every page would
     * sort the whole remaining scope again (25 us a row at 100,000 rows,
     * 66 us at 500,000: docs/benchmarks.md) */
    int64_t after = 0;
    for (bool walk = false;; walk = true) {
        struct query q = QUERY_INIT;
        arena_reset(scratch);
        query_sql(&q, head);
        list_where_as(&q, sc, f, &names, true, walk);
        query_sql(&q, " AND o.id > ? ORDER BY o.id LIMIT ?");
        query_int(&q, after);
        query_int(&q, EACH_PAGE);
        db_stmt *s;
        if ((e = query_prepare(d, &q, &s)))
            return e;
        struct observation *page = arena_alloc(scratch, EACH_PAGE * sizeof *page);
        size_t n = 0;
        bool row;
        while (!(e = db_row(s, &row)) && row && !(e = read_row(s, scratch, &page[n])))
            n++;
        db_done(s);
        /* fn runs once the statement is done: it may use the database */
        for (size_t i = 0; i < n && !e; i++) {
            if (by_name &&
                (!page[i].person_name || !person_name_matches(page[i].person_name, f->q)))
                continue;
            (*n_r)++;
            e = fn(ctx, &page[i]);
        }
        if (e || n < EACH_PAGE)
            return e;
        after = page[n - 1].id;
    }
}

/* ---- move ------------------------------------------------------------------------------- */

err case_observe_move(db *d, arena *a, const struct principal *who, int64_t id, int64_t site_id,
                      const char *room_no)
{
    err e = check_room_no(room_no, "room_no");
    if (e)
        return e;
    struct observation o;
    if ((e = case_observation_find(d, a, &who->scope, id, &o)))
        return e;
    if (o.state != OBS_ACTIVE)
        return err_set(E_CONFLICT, "observation_closed", NULL, "该隔离观察已结束");
    if (o.kind != OBSERVE_CENTRAL)
        return err_set(E_CONFLICT, "not_central", NULL, "只有集中隔离可以调换房间");
    if ((e = site_check(d, a, &who->scope, site_id, NULL)))
        return e;
    if (site_id == o.site_id && !strcmp(room_no, o.room_no))
        return err_set(E_INPUT, "invalid_value", "room_no", "新房间与当前房间相同");
    if ((e = room_free(d, o.id)) || (e = room_take(d, site_id, room_no, o.id)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE observations SET site_id = ?, room_no = ?, version = version + 1, "
                        "updated_at = ? WHERE id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, site_id);
    db_bind_text(s, 2, room_no);
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, o.id);
    if ((e = db_run(s, NULL)) ||
        (e = case_written(d, CASE_REC_OBSERVATION, o.id, o.person_id, o.region_code)))
        return e;
    json_t *detail = json_object();
    json_set_id(detail, "observation_id", o.id);
    json_set_id(detail, "from_site_id", o.site_id);
    json_object_set_new(detail, "from_room_no", json_string(o.room_no));
    json_set_id(detail, "site_id", site_id);
    json_object_set_new(detail, "room_no", json_string(room_no));
    return event(d, who, o.incident_id, o.person_id, o.region_code, "moved", detail);
}

/* ---- rooms and sites ---------------------------------------------------------------------- */

/* A quarantine site in the path: E_NOT_FOUND unless it is one in scope. */
static err site_in_path(db *d, arena *a, const struct scope *sc, int64_t site_id, int64_t *region_r)
{
    struct place p;
    err e = place_find(d, a, sc, site_id, &p);
    if (!e && p.kind != PLACE_QUARANTINE_SITE)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!e && region_r)
        *region_r = p.region_code;
    return e;
}

#define ROOMS_MAX 500 /* rooms added by one request */

err case_rooms_add(db *d, arena *a, const struct scope *sc, int64_t site_id,
                   const char *const *rooms, size_t n, int64_t *added_r)
{
    int64_t region;
    err e = site_in_path(d, a, sc, site_id, &region);
    if (e)
        return e;
    if (n == 0)
        return err_set(E_INPUT, "required", "rooms", "请填写房间号");
    if (n > ROOMS_MAX)
        return err_set(E_INPUT, "out_of_range", "rooms", "一次最多添加%d个房间", ROOMS_MAX);
    for (size_t i = 0; i < n; i++) {
        char field[32];
        snprintf(field, sizeof field, "rooms[%zu]", i);
        if ((e = check_room_no(rooms[i], field)))
            return e;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rooms[i], rooms[j]))
                return err_set(E_INPUT, "duplicate_room", field, "房间号“%s”重复", rooms[i]);
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO quarantine_rooms (id, site_id, room_no, region_code, "
                            "state, observation_id, created_at, updated_at) "
                            "VALUES (?, ?, ?, ?, 'free', 0, ?, ?)",
                            &s)))
            return e;
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, site_id);
        db_bind_text(s, 3, rooms[i]);
        db_bind_int64(s, 4, region);
        db_bind_int64(s, 5, now);
        db_bind_int64(s, 6, now);
        if ((e = db_run(s, NULL))) {
            if (e == E_CONFLICT)
                e = err_set(E_CONFLICT, "duplicate_room", "rooms", "房间号“%s”已存在", rooms[i]);
            return e;
        }
    }
    if ((e = case_room_count(d, site_id, ROOM_FREE, region, (int64_t)n)))
        return e;
    *added_r = (int64_t)n;
    return E_OK;
}

err case_rooms_list(db *d, arena *a, const struct scope *sc, int64_t site_id, json_t **items_r)
{
    err e = site_in_path(d, a, sc, site_id, NULL);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT q.room_no, q.state, q.observation_id, p.name_enc, o.person_id "
                        "FROM quarantine_rooms q LEFT JOIN observations o ON o.id = "
                        "q.observation_id AND q.state = 'occupied' LEFT JOIN persons p ON p.id = "
                        "o.person_id WHERE q.site_id = ? AND q.region_code >= ? AND "
                        "q.region_code < ? ORDER BY q.room_no",
                        &s)))
        return e;
    db_bind_int64(s, 1, site_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        const char *state = db_col_text(s, 1);
        json_object_set_new(o, "room_no", json_string(db_col_text(s, 0)));
        json_object_set_new(o, "state", json_string(state));
        json_object_set_new(o, "state_label",
                            json_string(vocab_label_of(&room_state_vocab, state)));
        json_set_id(o, "observation_id", db_col_int64(s, 2));
        const char *name = NULL;
        if ((e = unseal_col(a, s, 3, "persons.name", &name))) {
            json_decref(o);
            break;
        }
        /* the occupant by masked name: rooms are read by site staff */
        json_object_set_new(o, "person_name", name ? json_string(mask_name(a, name)) : json_null());
        json_set_id(o, "person_id", db_col_int64(s, 4));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err case_room_set_closed(db *d, const struct scope *sc, int64_t site_id, const char *room_no,
                         bool closed)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT q.state, q.region_code FROM quarantine_rooms q JOIN places p ON "
                       "p.id = q.site_id AND p.deleted_at = 0 WHERE q.site_id = ? AND q.room_no = "
                       "? AND q.region_code >= ? AND q.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, site_id);
    db_bind_text(s, 2, room_no);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    bool row;
    char state[16] = "";
    int64_t region = 0;
    if (!(e = db_row(s, &row)) && row) {
        snprintf(state, sizeof state, "%s", db_col_text(s, 0));
        region = db_col_int64(s, 1);
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!strcmp(state, "occupied"))
        return err_set(E_CONFLICT, "room_occupied", "closed", "房间有人入住，不能停用或启用");
    if ((e = db_prepare(d,
                        "UPDATE quarantine_rooms SET state = ?, updated_at = ? WHERE site_id = ? "
                        "AND room_no = ? AND state = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, closed ? "closed" : "free");
    db_bind_int64(s, 2, now_ms());
    db_bind_int64(s, 3, site_id);
    db_bind_text(s, 4, room_no);
    db_bind_text(s, 5, state); /* as read: its counters move from there */
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    /* taken or changed between the read and the write */
    if (n != 1)
        return err_set(E_CONFLICT, "room_occupied", "closed", "房间有人入住，不能停用或启用");
    enum room_state was =
        vocab_parse(&room_state_vocab, state) == ROOM_CLOSED ? ROOM_CLOSED : ROOM_FREE;
    enum room_state now = closed ? ROOM_CLOSED : ROOM_FREE;
    if (was == now)
        return E_OK;
    if ((e = case_room_count(d, site_id, was, region, -1)))
        return e;
    return case_room_count(d, site_id, now, region, 1);
}

err case_sites(db *d, arena *a, const struct scope *sc, json_t **items_r)
{
    (void)a;
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT p.id, p.name, p.region_code, COALESCE(r.name, ''), "
        "COUNT(q.id), "
        "COALESCE(SUM(CASE WHEN q.state = 'occupied' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN q.state = 'free' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN q.state = 'closed' THEN 1 ELSE 0 END), 0) "
        "FROM places p LEFT JOIN regions r ON r.code = p.region_code "
        "LEFT JOIN quarantine_rooms q ON q.site_id = p.id "
        "WHERE p.kind = 'quarantine_site' AND p.deleted_at = 0 AND p.region_code >= ? AND "
        "p.region_code < ? GROUP BY p.id, p.name, p.region_code, r.name ORDER BY p.name, p.id",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
        json_set_region(o, db_col_int64(s, 2), db_col_text(s, 3));
        int64_t total = db_col_int64(s, 4), closed = db_col_int64(s, 7);
        json_object_set_new(o, "rooms", json_integer(total));
        json_object_set_new(o, "capacity", json_integer(total - closed));
        json_object_set_new(o, "occupied", json_integer(db_col_int64(s, 5)));
        json_object_set_new(o, "free", json_integer(db_col_int64(s, 6)));
        json_object_set_new(o, "closed", json_integer(closed));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

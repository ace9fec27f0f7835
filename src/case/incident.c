/*
 * Reports (疫情上报), their routing and the home verification (入户核实):
 * case.h "reports and routing", docs/cases.md "Reports and routing".
 *
 * A report is filed, routed and counted in one transaction: the incident
 * row, its attachments, its timeline, the counter, and what its source's
 * routing rule says (the observation list at once, or a "verify" task for
 * the grid workers of the grid that holds the address). The verify task's
 * completion (verify_complete) applies the grid worker's result inside the
 * task's own transaction, so a bad result changes nothing.
 *
 * Texts about people are sealed under "incident.<column>"; the subject's
 * name and phone also get blind indexes so the inbox finds them exactly.
 */
#include <math.h>
#include <string.h>

#include "db/catchup.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "case/case.h"
#include "case/internal.h"
#include "db/query.h"
#include "health/health.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "stats/stats.h"
#include "task/task.h"

static const struct vocab_word category_words[] = {
    /* slot 0 a hole: every enum starts at 1 */
    [0] = {NULL, NULL},      {"symptoms", "疑似症状"}, {"risk_area", "中高风险地区旅居"},
    {"contact", "密切接触"}, {"fever", "发热"},        {"other", "其他"},
};
const struct vocab incident_category_vocab =
    VOCAB("incident_categories", "上报类别", category_words);

static const struct vocab_word state_words[] = {
    [0] = {NULL, NULL},         {"reported", "已上报"},        {"verifying", "核实中"},
    {"observed", "已纳入观察"}, {"transferred", "已转送医院"}, {"closed", "已结案"},
};
const struct vocab incident_state_vocab = VOCAB("incident_states", "事件状态", state_words);

static const struct vocab_word outcome_words[] = {
    [0] = {NULL, NULL},
    {"false_report", "不属实"},
    {"confirmed", "属实"},
    {"abnormal", "症状异常"},
};
const struct vocab incident_outcome_vocab = VOCAB("verify_outcomes", "核实结果", outcome_words);

static const struct vocab_word action_words[] = {
    [0] = {NULL, NULL},
    {"observe", "直接纳入隔离观察名单"},
    {"verify", "派发入户核实任务"},
};
const struct vocab routing_action_vocab = VOCAB("routing_actions", "分流方式", action_words);

#define COUNTER_NEW "case.incident.new"

/* Reports per China day at the incident's region (a flow). */
static const struct stats_measure incident_new = {
    COUNTER_NEW, "上报", false,
    "SELECT region_code, day, COUNT(*) FROM incidents GROUP BY region_code, day"};

/* ---- small helpers ------------------------------------------------------------- */

static const char *name_of(const struct vocab *v, int i)
{
    return vocab_name(v, (size_t)(i < 0 ? 0 : i));
}

/* A JSON object {k: v, …} as text for the timeline (ids and vocab names only). */
static const char *event_detail(arena *a, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    const char *r = arena_strdup(a, s ? s : "{}");
    free(s);
    return r;
}

static void bind_bidx(db_stmt *s, int i, const char *field, const char *value)
{
    if (!value || !*value) {
        db_bind_null(s, i);
        return;
    }
    uint8_t b[BLIND_LEN];
    blind_index(field, value, b);
    db_bind_blob(s, i, b, sizeof b);
}

/* ---- routing rules ------------------------------------------------------------- */

static err rule_row(db_stmt *s, struct routing_rule *r)
{
    int src = vocab_parse(&case_source_vocab, db_col_text(s, 0));
    int act = vocab_parse(&routing_action_vocab, db_col_text(s, 1));
    int pri = vocab_parse(&task_priority_vocab, db_col_text(s, 2));
    if (src <= 0 || act <= 0 || pri <= 0)
        return err_set(E_INTERNAL, "bad_rule", NULL, "routing_rules holds an unknown name");
    *r = (struct routing_rule){.source = (enum case_source)src,
                               .action = (enum routing_action)act,
                               .priority = pri,
                               .deadline_hours = (int)db_col_int64(s, 3),
                               .enabled = db_col_int64(s, 4) != 0,
                               .updated_by = db_col_int64(s, 5),
                               .updated_at = db_col_int64(s, 6)};
    return E_OK;
}

#define RULE_COLS "source, action, priority, deadline_hours, enabled, updated_by, updated_at"

err routing_rules_list(db *d, struct routing_rule out[16], size_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT " RULE_COLS " FROM routing_rules ORDER BY source", &s);
    if (e)
        return e;
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < 16) {
        if ((e = rule_row(s, &out[n])))
            break;
        n++;
    }
    db_done(s);
    if (!e)
        *n_r = n;
    return e;
}

/* The rule of a source; a source without a row is left in the inbox. */
static err rule_find(db *d, enum case_source src, struct routing_rule *r, bool *found_r)
{
    db_stmt *s;
    bool row = false;
    err e = db_prepare(d, "SELECT " RULE_COLS " FROM routing_rules WHERE source = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name_of(&case_source_vocab, (int)src));
    if (!(e = db_row(s, &row)) && row)
        e = rule_row(s, r);
    db_done(s);
    if (!e)
        *found_r = row;
    return e;
}

err routing_rule_set(db *d, const struct routing_rule *r, int64_t user_id)
{
    const char *src = name_of(&case_source_vocab, (int)r->source);
    if (!*src || r->source == SOURCE_IMPORT)
        return err_set(E_INPUT, "invalid_value", "source", "上报来源的取值不正确");
    if (!*name_of(&routing_action_vocab, (int)r->action))
        return err_set(E_INPUT, "invalid_value", "action", "分流方式只能是 observe 或 verify");
    if (!*name_of(&task_priority_vocab, r->priority))
        return err_set(E_INPUT, "invalid_value", "priority", "优先级只能是 urgent、high 或 normal");
    if (r->deadline_hours < 1 || r->deadline_hours > INCIDENT_DEADLINE_HOURS_MAX)
        return err_set(E_INPUT, "out_of_range", "deadline_hours", "核实时限应为 1 到 %d 小时",
                       INCIDENT_DEADLINE_HOURS_MAX);
    /* delete + insert: one statement each on both databases, no upsert dialect */
    db_stmt *s;
    err e = db_begin(d);
    if (e)
        return e;
    if (!(e = db_prepare(d, "DELETE FROM routing_rules WHERE source = ?", &s))) {
        db_bind_text(s, 1, src);
        e = db_run(s, NULL);
    }
    if (!e &&
        !(e = db_prepare(
              d, "INSERT INTO routing_rules (" RULE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", &s))) {
        db_bind_text(s, 1, src);
        db_bind_text(s, 2, name_of(&routing_action_vocab, (int)r->action));
        db_bind_text(s, 3, name_of(&task_priority_vocab, r->priority));
        db_bind_int64(s, 4, r->deadline_hours);
        db_bind_int64(s, 5, r->enabled ? 1 : 0);
        db_bind_int64(s, 6, user_id);
        db_bind_int64(s, 7, now_ms());
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* ---- reading ------------------------------------------------------------------- */

#define INCIDENT_COLS                                                                              \
    "i.id, i.region_code, i.source, i.category, i.state, i.person_id, i.name_enc, i.phone_enc, "   \
    "i.id_type, i.id_number_enc, i.symptoms, i.temperature, i.description_enc, i.address_enc, "    \
    "i.lat, i.lng, i.about_self, i.reporter_user_id, i.reporter_person_id, i.venue_id, "           \
    "i.access_id, i.detail_enc, i.task_id, i.outcome, i.close_reason_enc, i.observation_id, "      \
    "i.created_at, i.updated_at, i.version, g.name, "                                              \
    "(SELECT COUNT(*) FROM attachments t WHERE t.owner_kind = 'incident' AND t.owner_id = i.id), " \
    "u.display_name, u.kind, rp.name_enc"
#define INCIDENT_FROM                                                                              \
    " FROM incidents i LEFT JOIN regions g ON g.code = i.region_code"                              \
    " LEFT JOIN users u ON u.id = i.reporter_user_id"                                              \
    " LEFT JOIN persons rp ON rp.id = i.reporter_person_id"

static err incident_row(arena *a, db_stmt *s, struct incident *r)
{
    struct incident v = {0};
    v.id = db_col_int64(s, 0);
    v.region_code = db_col_int64(s, 1);
    v.source = (enum case_source)vocab_parse(&case_source_vocab, db_col_text(s, 2));
    v.category = (enum incident_category)vocab_parse(&incident_category_vocab, db_col_text(s, 3));
    v.state = (enum incident_state)vocab_parse(&incident_state_vocab, db_col_text(s, 4));
    v.person_id = db_col_int64(s, 5);
    v.subject.id_type = id_type_parse(db_col_text(s, 8));
    if (v.subject.id_type < 0)
        v.subject.id_type = 0;
    v.symptoms = (unsigned)db_col_int64(s, 10);
    v.temperature = db_col_null(s, 11) ? -1 : db_col_double(s, 11);
    v.has_position = !db_col_null(s, 14) && !db_col_null(s, 15);
    v.lat = v.has_position ? db_col_double(s, 14) : 0;
    v.lng = v.has_position ? db_col_double(s, 15) : 0;
    v.about_self = db_col_int64(s, 16) != 0;
    v.reporter_user_id = db_col_int64(s, 17);
    v.reporter_person_id = db_col_int64(s, 18);
    v.venue_id = db_col_int64(s, 19);
    v.access_id = db_col_int64(s, 20);
    v.task_id = db_col_int64(s, 22);
    v.outcome = vocab_parse(&incident_outcome_vocab, db_col_text(s, 23));
    if (v.outcome < 0)
        v.outcome = 0;
    v.observation_id = db_col_int64(s, 25);
    v.created_at = db_col_int64(s, 26);
    v.updated_at = db_col_int64(s, 27);
    v.version = db_col_int64(s, 28);
    v.region_name = arena_strdup(a, db_col_text(s, 29));
    v.attachments = db_col_int64(s, 30);
    v.reporter_name =
        strcmp(db_col_text(s, 32), "staff") ? "" : arena_strdup(a, db_col_text(s, 31));
    err e;
    /* a resident reporter by their registered name, masked (a list never
     * shows a raw user id); "居民" when they have no person record */
    if (!*v.reporter_name && v.reporter_user_id) {
        const char *name = NULL;
        if ((e = unseal_col(a, s, 33, "persons.name", &name)))
            return e;
        v.reporter_name = name && *name ? mask_name(a, name) : "居民";
    }
    if ((e = unseal_col(a, s, 6, "incident.name", &v.subject.name)) ||
        (e = unseal_col(a, s, 7, "incident.phone", &v.subject.phone)) ||
        (e = unseal_col(a, s, 9, "incident.id_number", &v.subject.id_number)) ||
        (e = unseal_col(a, s, 12, "incident.description", &v.description)) ||
        (e = unseal_col(a, s, 13, "incident.address", &v.subject.address)) ||
        (e = unseal_col(a, s, 21, "incident.detail", &v.detail)) ||
        (e = unseal_col(a, s, 24, "incident.close_reason", &v.close_reason)))
        return e;
    *r = v;
    return E_OK;
}

/* incident_row as query_page reads a list's row. */
static err incident_read(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    return incident_row(a, s, item);
}

err incident_find(db *d, arena *a, const struct scope *sc, int64_t reporter_user_id, int64_t id,
                  struct incident *r_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT " INCIDENT_COLS INCIDENT_FROM
                  " WHERE i.id = ? AND i.region_code >= ? AND i.region_code < ?");
    query_int(&q, id);
    query_int(&q, sc->lo);
    query_int(&q, sc->hi);
    if (reporter_user_id) {
        query_sql(&q, " AND i.reporter_user_id = ?");
        query_int(&q, reporter_user_id);
    }
    db_stmt *s;
    bool row = false;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    if (!(e = db_row(s, &row)) && row)
        e = incident_row(a, s, r_r);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "上报事件不存在或不在您的管辖范围内");
    return e;
}

err incident_list(db *d, arena *a, const struct scope *sc, const struct incident_filter *f,
                  struct incident **items_r, size_t *n_r, int64_t *total_r)
{
    struct query w = QUERY_INIT;
    query_sql(&w, INCIDENT_FROM " WHERE i.region_code >= ? AND i.region_code < ?");
    query_int(&w, sc->lo);
    query_int(&w, sc->hi);
    if (f->reporter_user_id) {
        query_sql(&w, " AND i.reporter_user_id = ?");
        query_int(&w, f->reporter_user_id);
    }
    if (f->source) {
        query_sql(&w, " AND i.source = ?");
        query_text(&w, name_of(&case_source_vocab, f->source));
    }
    if (f->category) {
        query_sql(&w, " AND i.category = ?");
        query_text(&w, name_of(&incident_category_vocab, f->category));
    }
    if (f->state) {
        query_sql(&w, " AND i.state = ?");
        query_text(&w, name_of(&incident_state_vocab, f->state));
    }
    if (f->from) {
        query_sql(&w, " AND i.created_at >= ?");
        query_int(&w, f->from);
    }
    if (f->to) {
        query_sql(&w, " AND i.created_at < ?");
        query_int(&w, f->to);
    }
    uint8_t nb[BLIND_MAX][BLIND_LEN], pb[BLIND_MAX][BLIND_LEN];
    if (f->q && *f->q) {
        /* exact matches only: the texts are sealed, their blind indexes are
         * not (under both key versions during a rotation: docs/keys.md) */
        int nn = blind_search("incident.name", f->q, nb);
        int np = blind_search("incident.phone", f->q, pb);
        query_sql(&w, " AND (i.name_bidx");
        query_blobs(&w, nb, BLIND_LEN, nn);
        query_sql(&w, " OR i.phone_bidx");
        query_blobs(&w, pb, BLIND_LEN, np);
        query_sql(&w, ")");
    }
    void *items;
    err e = query_page(d, a, &w,
                       &(struct query_page){.count = "SELECT COUNT(*)",
                                            .select = "SELECT " INCIDENT_COLS,
                                            .order = " ORDER BY i.created_at DESC, i.id DESC",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = INCIDENT_EXPORT_MAX,
                                            .size = sizeof(struct incident),
                                            .read = incident_read},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

err incident_timeline(db *d, int64_t id, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT e.action, e.detail, e.at, " CASE_ACTOR_COLS
                       ", e.user_id FROM case_events e"
                       " LEFT JOIN users u ON u.id = e.user_id"
                       " WHERE e.incident_id = ? ORDER BY e.at, e.id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_object_set_new(o, "action", json_string(db_col_text(s, 0)));
        json_object_set_new(o, "action_label", json_string(case_action_label(db_col_text(s, 0))));
        json_t *dv = json_loads(db_col_text(s, 1), 0, NULL);
        json_object_set_new(o, "detail", dv ? dv : json_object());
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 2)));
        /* who, by name; a step of a rule is the system's */
        json_object_set_new(o, "actor", json_string(case_actor_name(s, 3, db_col_int64(s, 5))));
        json_array_append_new(arr, o);
    }
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    return E_OK;
}

/* ---- writing ------------------------------------------------------------------- */

/* The state and what goes with it (person_id, observation_id: 0 kept;
 * task_id: < 0 kept; outcome 0 kept; reason NULL kept); `from` guards
 * against a concurrent change (0: any). Built by fragments: a CASE over
 * an untyped parameter would be typed int4 by PostgreSQL. */
static err set_state(db *d, arena *a, int64_t id, enum incident_state from, enum incident_state to,
                     int64_t person_id, int64_t observation_id, int64_t task_id, int outcome,
                     const char *reason)
{
    struct query q = QUERY_INIT;
    const uint8_t *ct = NULL;
    size_t ctn = 0;
    query_sql(&q, "UPDATE incidents SET state = ?, updated_at = ?, version = version + 1");
    query_text(&q, name_of(&incident_state_vocab, (int)to));
    query_int(&q, now_ms());
    if (person_id) {
        query_sql(&q, ", person_id = ?");
        query_int(&q, person_id);
    }
    if (observation_id) {
        query_sql(&q, ", observation_id = ?");
        query_int(&q, observation_id);
    }
    if (task_id >= 0) {
        query_sql(&q, ", task_id = ?");
        query_int(&q, task_id);
    }
    if (outcome) {
        query_sql(&q, ", outcome = ?");
        query_text(&q, name_of(&incident_outcome_vocab, outcome));
    }
    err e;
    if (reason) {
        uint8_t *out;
        if ((e = seal(a, "incident.close_reason", reason, strlen(reason), &out, &ctn)))
            return e;
        ct = out;
        query_sql(&q, ", close_reason_enc = ?");
        query_blob(&q, ct, ctn);
    }
    query_sql(&q, " WHERE id = ?");
    query_int(&q, id);
    if (from) {
        query_sql(&q, " AND state = ?");
        query_text(&q, name_of(&incident_state_vocab, (int)from));
    }
    db_stmt *s;
    int64_t changed = 0;
    if ((e = query_prepare(d, &q, &s)) || (e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "incident_state_changed", NULL,
                       "上报事件的状态已被他人更改，请刷新后重试");
    return E_OK;
}

static err insert_incident(db *d, arena *a, const struct principal *who,
                           const struct incident_new *in, int64_t id, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "INSERT INTO incidents (id, region_code, source, category, state, person_id, name_enc, "
        "name_bidx, phone_enc, phone_bidx, id_type, id_number_enc, symptoms, temperature, "
        "description_enc, address_enc, lat, lng, about_self, reporter_user_id, "
        "reporter_person_id, venue_id, access_id, detail_enc, created_at, updated_at, day) VALUES "
        "(?, ?, ?, ?, 'reported', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?)",
        &s);
    if (e)
        return e;
    const struct incident_subject *sj = &in->subject;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->region_code);
    db_bind_text(s, 3, name_of(&case_source_vocab, (int)in->source));
    db_bind_text(s, 4, name_of(&incident_category_vocab, (int)in->category));
    db_bind_int64(s, 5, in->person_id);
    bind_bidx(s, 7, "incident.name", sj->name);
    bind_bidx(s, 9, "incident.phone", sj->phone);
    db_bind_text(s, 10, sj->id_type ? id_type_name((enum id_type)sj->id_type) : "");
    db_bind_int64(s, 12, in->symptoms);
    if (in->temperature >= 0)
        db_bind_double(s, 13, in->temperature);
    else
        db_bind_null(s, 13);
    if (in->has_position) {
        db_bind_double(s, 16, in->lat);
        db_bind_double(s, 17, in->lng);
    } else {
        db_bind_null(s, 16);
        db_bind_null(s, 17);
    }
    db_bind_int64(s, 18, in->about_self ? 1 : 0);
    db_bind_int64(s, 19, who->user_id);
    db_bind_int64(s, 20, in->reporter_person_id);
    db_bind_int64(s, 21, in->venue_id);
    db_bind_int64(s, 22, in->access_id);
    db_bind_int64(s, 24, now);
    db_bind_int64(s, 25, now);
    db_bind_int64(s, 26, china_day(now));
    if ((e = seal_bind(a, s, 6, "incident.name", sj->name)) ||
        (e = seal_bind(a, s, 8, "incident.phone", sj->phone)) ||
        (e = seal_bind(a, s, 11, "incident.id_number", sj->id_number)) ||
        (e = seal_bind(a, s, 14, "incident.description", in->description)) ||
        (e = seal_bind(a, s, 15, "incident.address", sj->address)) ||
        (e = seal_bind(a, s, 23, "incident.detail", in->detail))) {
        db_done(s);
        return e;
    }
    e = db_run(s, NULL);
    if (e == E_CONFLICT && in->access_id)
        e = err_set(E_CONFLICT, "already_reported", "access_id", "这条通行记录已经上报过");
    return e;
}

/*
 * The person a report or a verification is about, when it was unknown:
 * matched by identity document inside who's scope, else registered
 * (source "grid": found at the door). *created_r says which.
 */
static err subject_person(db *d, arena *a, const struct principal *who, int64_t region,
                          const struct incident_subject *sj, int64_t *person_r, bool *created_r)
{
    if (!sj->name || !*sj->name || !sj->id_number || !*sj->id_number || !sj->id_type) {
        err_collect_begin();
        err e = E_OK;
        if (!sj->name || !*sj->name)
            e = err_add(e, E_INPUT, "subject_required", "name", "请填写被上报人员的姓名");
        if (!sj->id_type)
            e = err_add(e, E_INPUT, "subject_required", "id_type", "请选择被上报人员的证件类型");
        if (!sj->id_number || !*sj->id_number)
            e = err_add(e, E_INPUT, "subject_required", "id_number",
                        "请填写被上报人员的证件号码（用于登记或匹配人员）");
        err_collect_end();
        return e;
    }
    struct person p;
    err e =
        person_find_by_id_number(d, a, &who->scope, (enum id_type)sj->id_type, sj->id_number, &p);
    if (!e) {
        *person_r = p.id;
        *created_r = false;
        return E_OK;
    }
    if (e != E_NOT_FOUND)
        return e;
    err_clear();
    p = (struct person){.region_code = region,
                        .id_type = (enum id_type)sj->id_type,
                        .id_number = sj->id_number,
                        .name = sj->name,
                        .gender = (enum person_gender)sj->gender,
                        .address = sj->address,
                        .phone = sj->phone,
                        .source = "grid",
                        .created_by = who->user_id,
                        .updated_by = who->user_id};
    person_fields given = PF_BIT(PF_NAME) | PF_BIT(PF_ID_TYPE) | PF_BIT(PF_ID_NUMBER) |
                          PF_BIT(PF_REGION_CODE) | PF_BIT(PF_SOURCE);
    if (sj->gender)
        given |= PF_BIT(PF_GENDER);
    if (sj->address)
        given |= PF_BIT(PF_ADDRESS);
    if (sj->phone)
        given |= PF_BIT(PF_PHONE);
    if ((e = person_create(d, a, who, &p, given, NULL)))
        return e;
    *person_r = p.id;
    *created_r = true;
    return E_OK;
}

/* The grid whose workers verify a report at `region`: the grid above a
 * building, or the region itself at grid level or above. */
static int64_t grid_of(int64_t region)
{
    return regcode_at_most(region, LEVEL_GRID);
}

static err event(db *d, arena *a, int64_t incident, int64_t person, int64_t region,
                 const char *action, json_t *detail, int64_t user)
{
    return case_event_add(d, incident, person, region, action, event_detail(a, detail), user);
}

static err route_observe(db *d, arena *a, const struct principal *who, int64_t id,
                         struct incident_new *in, enum observe_kind kind, int outcome,
                         const char *hospital, const char *handover, enum incident_state from,
                         enum incident_state *state_r)
{
    err e;
    bool created = false;
    int64_t person = in->person_id;
    if (!person) {
        if ((e = subject_person(d, a, who, in->region_code, &in->subject, &person, &created)))
            return e;
        if ((e = event(d, a, id, person, in->region_code, created ? "registered" : "matched",
                       json_pack("{s:s}", "person_id", arena_printf(a, "%lld", (long long)person)),
                       who->user_id)))
            return e;
        /* the report's earlier steps (reported, routed, the visit) were
         * written before anyone knew whom they were about: the person's
         * timeline shows them too from now on */
        db_stmt *s;
        if ((e = db_prepare(d,
                            "UPDATE case_events SET person_id = ? WHERE incident_id = ? AND "
                            "person_id = 0",
                            &s)))
            return e;
        db_bind_int64(s, 1, person);
        db_bind_int64(s, 2, id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    struct case_observe_in ob = {.person_id = person,
                                 .incident_id = id,
                                 .kind = kind,
                                 .source = in->source,
                                 .hospital = hospital,
                                 .handover = handover};
    int64_t obs = 0;
    if ((e = case_observe(d, a, who, &ob, &obs)))
        return e;
    enum incident_state to = kind == OBSERVE_HOSPITAL ? INCIDENT_TRANSFERRED : INCIDENT_OBSERVED;
    if ((e = set_state(d, a, id, from, to, person, obs, -1, outcome, NULL)))
        return e;
    *state_r = to;
    return E_OK;
}

static err route_verify(db *d, arena *a, int64_t id, const struct incident_new *in,
                        const struct routing_rule *rule, int64_t now, enum incident_state *state_r)
{
    bool fever = (in->symptoms & SYM_FEVER) || in->temperature >= INCIDENT_FEVER_C;
    int64_t grid = grid_of(in->region_code);
    const char *who_name = in->subject.name ? mask_name(a, in->subject.name) : "";
    const char *label = vocab_label(&incident_category_vocab, (size_t)in->category);
    struct task_new t = {
        .kind = "verify",
        .region_code = grid,
        .assignee_role = "grid_worker",
        .priority = fever ? TASK_URGENT : (enum task_priority)rule->priority,
        .deadline = now + (int64_t)rule->deadline_hours * 3600 * 1000,
        .title = arena_printf(a, "入户核实：%s%s%s", label, *who_name ? " " : "", who_name),
        .person_id = in->person_id,
        .subject_id = id,
        .address = in->subject.address,
        .phone = in->subject.phone,
        .lat = in->has_position ? in->lat : 0,
        .lng = in->has_position ? in->lng : 0,
        .detail = event_detail(a, json_pack("{s:s, s:s}", "incident_id",
                                            arena_printf(a, "%lld", (long long)id), "category",
                                            name_of(&incident_category_vocab, (int)in->category))),
        .created_by = 0,
    };
    int64_t task = 0;
    err e = task_create(d, &t, &task);
    if (e || (e = set_state(d, a, id, INCIDENT_REPORTED, INCIDENT_VERIFYING, 0, 0, task, 0, NULL)))
        return e;
    char g[19];
    regcode_format(grid, g);
    if ((e = event(d, a, id, in->person_id, in->region_code, "task_created",
                   json_pack("{s:s, s:s, s:s, s:s}", "task_id",
                             arena_printf(a, "%lld", (long long)task), "kind", "verify", "grid", g,
                             "priority", name_of(&task_priority_vocab, (int)t.priority)),
                   0)))
        return e;
    *state_r = INCIDENT_VERIFYING;
    return E_OK;
}

static err check_new(db *d, const struct principal *who, struct incident_new *in)
{
    err e;
    if (in->person_id) {
        /* the subject's residence is the scope key */
        int64_t region;
        if ((e = person_region(d, &who->scope, in->person_id, &region)) == E_NOT_FOUND)
            return err_set(E_NOT_FOUND, "unknown_person", "person_id",
                           "人员不存在或不在您的管辖范围内");
        if (e)
            return e;
        in->region_code = region;
        return E_OK;
    }
    if (!in->region_code)
        return err_set(E_INPUT, "required", "region_code", "请选择被上报人员所在的区划");
    return person_region_check(d, &who->scope, in->region_code, "region_code");
}

err incident_report(db *d, arena *a, const struct principal *who, struct incident_new *in,
                    int64_t *id_r, enum incident_state *state_r)
{
    /* A checkpoint's scan names a person who may live outside the gate
     * staff's scope (a visitor from another district): the report goes to
     * the residence and the rule acts there, under the reporter's name and
     * the residence's scope. Nothing else widens: the scan record was
     * checked in the reporter's scope (incident_from_access). The same for
     * a resident's or a unit's report about someone living anywhere
     * (any_region): the region must exist, and the report is the
     * residence's to handle; the reporter follows it under my reports. */
    struct principal rule_who = *who;
    bool widen = in->access_id || (in->any_region && !in->person_id);
    if (widen)
        rule_who.scope = scope_of(in->region_code);
    const struct principal *actor = widen ? &rule_who : who;
    err e = check_new(d, actor, in);
    if (e)
        return e;
    struct routing_rule rule;
    bool has_rule = false;
    int64_t now = now_ms(), id = id_new();
    enum incident_state state = INCIDENT_REPORTED;
    if ((e = db_begin(d)))
        return e;
    if ((e = rule_find(d, in->source, &rule, &has_rule)) ||
        (e = insert_incident(d, a, who, in, id, now)) ||
        (e = attach_claim_all(d, who, in->attachments, "incident", id, in->region_code)) ||
        (e = stats_measure_register(&incident_new)) ||
        (e = stats_add(d, COUNTER_NEW, in->region_code, china_day(now), 1)) ||
        (e = event(d, a, id, in->person_id, in->region_code, "reported",
                   json_pack("{s:s, s:s}", "source", name_of(&case_source_vocab, (int)in->source),
                             "category", name_of(&incident_category_vocab, (int)in->category)),
                   who->user_id)))
        goto fail;
    if (has_rule && rule.enabled) {
        if ((e = event(
                 d, a, id, in->person_id, in->region_code, "routed",
                 json_pack("{s:s}", "action", name_of(&routing_action_vocab, (int)rule.action)),
                 0)))
            goto fail;
        if (rule.action == ROUTING_OBSERVE)
            e = route_observe(d, a, actor, id, in, OBSERVE_HOME_OBSERVATION, 0, NULL, NULL,
                              INCIDENT_REPORTED, &state);
        else
            e = route_verify(d, a, id, in, &rule, now, &state);
        if (e)
            goto fail;
    }
    if ((e = db_commit(d)))
        return e;
    *id_r = id;
    if (state_r)
        *state_r = state;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err incident_from_access(db *d, const struct principal *who, int64_t access_id,
                         struct incident_new *in)
{
    db_catch_up(); /* a scan answered a moment ago is found (db/catchup.h) */
    db_stmt *s;
    bool row = false;
    err e = db_prepare(d,
                       "SELECT venue_id, region_code, person_id, verdict, temperature FROM "
                       "access_records WHERE id = ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, access_id);
    db_bind_int64(s, 2, who->scope.lo);
    db_bind_int64(s, 3, who->scope.hi);
    int64_t venue = 0, person = 0;
    bool refused = false;
    double temp = -1;
    if (!(e = db_row(s, &row)) && row) {
        venue = db_col_int64(s, 0);
        person = db_col_int64(s, 2);
        refused = !strcmp(db_col_text(s, 3), "deny");
        temp = db_col_null(s, 4) ? -1 : db_col_double(s, 4);
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "unknown_access", "access_id",
                       "通行记录不存在或不在您的管辖范围内");
    bool fever = temp >= INCIDENT_FEVER_C;
    if (!person || !(refused || fever))
        return err_set(E_INPUT, "access_not_reportable", "access_id",
                       "只能上报被拒绝通行或体温异常、且已识别人员的通行记录");
    /* the residence: the scan named the person, wherever they live */
    struct scope all = scope_all();
    int64_t residence;
    if ((e = person_region(d, &all, person, &residence)))
        return e == E_NOT_FOUND ? err_set(E_INPUT, "access_not_reportable", "access_id",
                                          "通行记录中的人员已不在人员库中")
                                : e;
    in->access_id = access_id;
    in->venue_id = venue;
    in->person_id = person;
    in->region_code = residence;
    if (fever) {
        in->symptoms |= SYM_FEVER;
        if (in->temperature < 0)
            in->temperature = round(temp * 10) / 10;
    }
    return E_OK;
}

err incident_route(db *d, arena *a, const struct principal *who, int64_t id,
                   enum routing_action action, enum incident_state *state_r)
{
    struct incident v;
    err e = incident_find(d, a, &who->scope, 0, id, &v);
    if (e)
        return e;
    if (v.state != INCIDENT_REPORTED)
        return err_set(E_CONFLICT, "incident_routed", NULL, "该事件已%s，不能再分派",
                       vocab_label(&incident_state_vocab, (size_t)v.state));
    struct routing_rule rule;
    bool has_rule = false;
    if ((e = rule_find(d, v.source, &rule, &has_rule)))
        return e;
    if (!has_rule) /* a source without a row: the defaults of the table's verify rows */
        rule = (struct routing_rule){.priority = TASK_HIGH, .deadline_hours = 12};
    struct incident_new in = {.source = v.source,
                              .category = v.category,
                              .person_id = v.person_id,
                              .region_code = v.region_code,
                              .subject = v.subject,
                              .symptoms = v.symptoms,
                              .temperature = v.temperature,
                              .has_position = v.has_position,
                              .lat = v.lat,
                              .lng = v.lng};
    enum incident_state state = INCIDENT_REPORTED;
    if ((e = db_begin(d)))
        return e;
    if ((e = event(d, a, id, v.person_id, v.region_code, "routed",
                   json_pack("{s:s, s:b}", "action", name_of(&routing_action_vocab, (int)action),
                             "by_hand", 1),
                   who->user_id)))
        goto fail;
    if (action == ROUTING_OBSERVE)
        e = route_observe(d, a, who, id, &in, OBSERVE_HOME_OBSERVATION, 0, NULL, NULL,
                          INCIDENT_REPORTED, &state);
    else
        e = route_verify(d, a, id, &in, &rule, now_ms(), &state);
    if (e)
        goto fail;
    if ((e = db_commit(d)))
        return e;
    if (state_r)
        *state_r = state;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err incident_close(db *d, arena *a, const struct principal *who, int64_t id, const char *reason)
{
    struct incident v;
    err e = incident_find(d, a, &who->scope, 0, id, &v);
    if (e)
        return e;
    if (v.state != INCIDENT_REPORTED && v.state != INCIDENT_VERIFYING)
        return err_set(E_CONFLICT, "incident_closed", NULL, "该事件已%s，不能再结案",
                       vocab_label(&incident_state_vocab, (size_t)v.state));
    if ((e = db_begin(d)))
        return e;
    if ((v.state == INCIDENT_VERIFYING &&
         (e = task_cancel_for(d, a, who, "verify", id, "事件已结案"))) ||
        (e = set_state(d, a, id, v.state, INCIDENT_CLOSED, 0, 0, -1, 0, reason)) ||
        (e = event(d, a, id, v.person_id, v.region_code, "closed", json_object(), who->user_id))) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* ---- the "verify" task kind -------------------------------------------------------- */

static const char *rstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/* The result's fields, all checked before anything is written; every field
 * at fault answered at once. */
struct verify_result {
    int outcome;
    const char *reason, *hospital, *handover;
    enum observe_kind kind;
    struct incident_subject subject;
    int64_t region_code;
};

static err result_check(db *d, const struct principal *who, json_t *res,
                        const struct incident_subject *given, bool unknown,
                        struct verify_result *vr)
{
    static const char *const known[] = {
        "outcome",   "reason", "kind",   "hospital",    "handover", "name", "id_type",
        "id_number", "phone",  "gender", "region_code", "address",  NULL};
    err e = E_OK;
    *vr = (struct verify_result){.kind = OBSERVE_HOME_OBSERVATION};
    if (res && !json_is_object(res))
        return err_set(E_INPUT, "invalid_type", "result", "核实结果应为对象");
    err_collect_begin();
    const char *k;
    json_t *v;
    json_object_foreach(res, k, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i])
            e = err_add(e, E_INPUT, "unknown_field", k, "不支持的字段：%s", k);
        else if (!json_is_string(v) && !json_is_null(v))
            e = err_add(e, E_INPUT, "invalid_type", k, "字段 %s 应为字符串", k);
    }
    vr->outcome = vocab_parse(&incident_outcome_vocab, rstr(res, "outcome"));
    if (!rstr(res, "outcome"))
        e = err_add(e, E_INPUT, "required", "outcome", "请选择核实结果（不属实、属实或症状异常）");
    else if (vr->outcome <= 0)
        e = err_add(e, E_INPUT, "invalid_value", "outcome",
                    "核实结果只能是 false_report、confirmed 或 abnormal");
    vr->reason = rstr(res, "reason");
    err x;
    if (vr->reason && (x = check_text(vr->reason, "reason", "原因", INCIDENT_REASON_MAX, 0)) && !e)
        e = x;
    if (vr->outcome == OUTCOME_FALSE_REPORT && !vr->reason)
        e = err_add(e, E_INPUT, "required", "reason", "核实不属实时请填写原因");
    if (rstr(res, "kind")) {
        int kind = vocab_parse(&observe_kind_vocab, rstr(res, "kind"));
        if (kind <= 0 || kind == OBSERVE_HOSPITAL)
            e = err_add(e, E_INPUT, "invalid_value", "kind",
                        "观察方式只能是 home_isolation、home_observation 或 central");
        else
            vr->kind = (enum observe_kind)kind;
    }
    vr->hospital = rstr(res, "hospital");
    vr->handover = rstr(res, "handover");
    if (vr->outcome == OUTCOME_ABNORMAL) {
        if (!vr->hospital)
            e = err_add(e, E_INPUT, "required", "hospital", "症状异常时请填写转送的定点医院");
        if (!vr->handover)
            e = err_add(e, E_INPUT, "required", "handover", "症状异常时请填写移交确认交接人");
        vr->kind = OBSERVE_HOSPITAL;
    }
    struct incident_subject *sj = &vr->subject;
    sj->name = rstr(res, "name");
    sj->id_number = rstr(res, "id_number");
    sj->phone = rstr(res, "phone");
    sj->address = rstr(res, "address");
    if (rstr(res, "id_type")) {
        int t = id_type_parse(rstr(res, "id_type"));
        if (t <= 0)
            e = err_add(e, E_INPUT, "invalid_value", "id_type", "证件类型无效");
        else
            sj->id_type = t;
    } else if (sj->id_number) {
        sj->id_type = ID_RESIDENT;
    }
    if (rstr(res, "gender")) {
        int g = person_gender_parse(rstr(res, "gender"));
        if (g < 0)
            e = err_add(e, E_INPUT, "invalid_value", "gender", "性别的取值不正确");
        else
            sj->gender = g;
    }
    if (rstr(res, "region_code")) {
        vr->region_code = regcode_parse(rstr(res, "region_code"), NULL);
        if ((x = person_region_check(d, &who->scope, vr->region_code, "region_code")) && !e)
            e = x;
    }
    if (sj->phone && (x = check_phone(sj->phone, "phone")) && !e)
        e = x;
    /* an unknown subject is registered from the visit's answers, or from
     * what the report already said (a declaration, a patrol) */
    if (unknown && vr->outcome > 0 && vr->outcome != OUTCOME_FALSE_REPORT) {
        if (!sj->name && !given->name)
            e = err_add(e, E_INPUT, "required", "name", "人员未登记：请填写姓名");
        if (!sj->id_number && !given->id_number)
            e = err_add(e, E_INPUT, "required", "id_number", "人员未登记：请填写证件号码");
        else if (sj->id_number && sj->id_type &&
                 (x = check_id_number((enum id_type)sj->id_type, sj->id_number, "id_number")) && !e)
            e = x;
    }
    err_collect_end();
    return e;
}

static err verify_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                           json_t *result)
{
    struct incident v;
    err e = incident_find(d, a, &who->scope, 0, t->subject_id, &v);
    if (e)
        return e;
    if (v.state != INCIDENT_VERIFYING)
        return err_set(E_CONFLICT, "incident_not_verifying", NULL, "该事件已%s，无需再核实",
                       vocab_label(&incident_state_vocab, (size_t)v.state));
    struct verify_result vr;
    if ((e = result_check(d, who, result, &v.subject, v.person_id == 0, &vr)))
        return e;
    if ((e = event(d, a, v.id, v.person_id, v.region_code, "verified",
                   json_pack("{s:s, s:s}", "outcome", name_of(&incident_outcome_vocab, vr.outcome),
                             "task_id", arena_printf(a, "%lld", (long long)t->id)),
                   who->user_id)))
        return e;
    if (vr.outcome == OUTCOME_FALSE_REPORT)
        return set_state(d, a, v.id, INCIDENT_VERIFYING, INCIDENT_CLOSED, 0, 0, -1, vr.outcome,
                         vr.reason);
    /* the visit's answers complete what the reporter gave */
    struct incident_new in = {.source = v.source,
                              .person_id = v.person_id,
                              .region_code = vr.region_code ? vr.region_code : v.region_code,
                              .subject = v.subject};
    const struct incident_subject *sj = &vr.subject;
    if (sj->name)
        in.subject.name = sj->name;
    if (sj->id_type)
        in.subject.id_type = sj->id_type;
    if (sj->id_number)
        in.subject.id_number = sj->id_number;
    if (sj->phone)
        in.subject.phone = sj->phone;
    if (sj->gender)
        in.subject.gender = sj->gender;
    if (sj->address)
        in.subject.address = sj->address;
    enum incident_state state;
    return route_observe(d, a, who, v.id, &in, vr.kind, vr.outcome, vr.hospital, vr.handover,
                         INCIDENT_VERIFYING, &state);
}

/* A cancelled verification leaves the report for the command centre. */
static err verify_cancelled(db *d, arena *a, const struct principal *who, const struct task *t)
{
    struct incident v;
    struct scope all = scope_all();
    err e = incident_find(d, a, &all, 0, t->subject_id, &v);
    if (e == E_NOT_FOUND) {
        err_clear();
        return E_OK;
    }
    if (e || v.state != INCIDENT_VERIFYING)
        return e;
    if ((e = set_state(d, a, v.id, INCIDENT_VERIFYING, INCIDENT_REPORTED, 0, 0, 0, 0, NULL)))
        return e;
    return event(d, a, v.id, v.person_id, v.region_code, "task_cancelled",
                 json_pack("{s:s}", "task_id", arena_printf(a, "%lld", (long long)t->id)),
                 who ? who->user_id : 0);
}

static const struct task_kind verify_kind = {
    .name = "verify",
    .label = "入户核实",
    .complete = verify_complete,
    .cancelled = verify_cancelled,
};

err incident_register(void)
{
    err e = task_kind_register(&verify_kind);
    return e ? e : stats_measure_register(&incident_new);
}

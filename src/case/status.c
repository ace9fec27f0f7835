/*
 * The status state machine (docs/cases.md): persons.status changes only
 * here. The table of allowed transitions is pure (case_status_allowed,
 * unit-tested at every pair); case_status_set applies one inside the
 * caller's transaction: the conditional UPDATE of persons (so two changes
 * racing from the same status cannot both land), the status_changes row
 * (who, when, why sealed, severity, infection route), what the change does
 * to an open observation, the timeline, the counters and the code.
 *
 * The severity of a confirmed case lives on status_changes: the newest
 * row of a person is its current severity (a severity change is a
 * confirmed -> confirmed change), so persons keeps one status column.
 */
#include "case/internal.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/paging.h"
#include "base/validate.h"
#include "code/code.h"
#include "person/person.h"
#include "security/crypto.h"
#include "security/mask.h"

/* ---- vocabularies -------------------------------------------------------------- */

static const struct vocab_word severities[] = {
    {NULL, NULL},
    {"mild", "轻症"},
    {"severe", "重症"},
    {"critical", "危重"},
};
const struct vocab case_severity_vocab = VOCAB("case_severities", "病情程度", severities);

static const struct vocab_word routes[] = {
    {NULL, NULL},
    {"local", "本地感染"},
    {"imported", "境外输入"},
    {"domestic_import", "外地输入"},
    {"cluster", "聚集性"},
    {"unknown", "不明"},
};
const struct vocab infection_route_vocab = VOCAB("infection_routes", "感染途径", routes);

/* ---- the table ------------------------------------------------------------------- */

#define B(s)         (1u << PERSON_##s)
#define OBSERVATIONS (B(OBSERVATION) | B(HOME_ISOLATION) | B(CENTRAL_QUARANTINE))

/* allowed[from]: the statuses `from` may change to. */
static const unsigned allowed[PERSON_DEAD + 1] = {
    /* normal: put under observation */
    [PERSON_NORMAL] = OBSERVATIONS,
    /* observation states: moved between them, found a case, or released */
    [PERSON_OBSERVATION] = OBSERVATIONS | B(SUSPECTED) | B(ASYMPTOMATIC) | B(CONFIRMED) | B(NORMAL),
    [PERSON_HOME_ISOLATION] =
        OBSERVATIONS | B(SUSPECTED) | B(ASYMPTOMATIC) | B(CONFIRMED) | B(NORMAL),
    [PERSON_CENTRAL_QUARANTINE] =
        OBSERVATIONS | B(SUSPECTED) | B(ASYMPTOMATIC) | B(CONFIRMED) | B(NORMAL),
    /* suspected: confirmed either way, or excluded (back to observation or normal) */
    [PERSON_SUSPECTED] = B(CONFIRMED) | B(ASYMPTOMATIC) | OBSERVATIONS | B(NORMAL),
    /* a confirmed case: its severity changes (confirmed -> confirmed), cured or dead */
    [PERSON_CONFIRMED] = B(CONFIRMED) | B(CURED) | B(DEAD),
    [PERSON_ASYMPTOMATIC] = B(CONFIRMED) | B(CURED),
    /* cured: follow-up observation, or back to normal */
    [PERSON_CURED] = OBSERVATIONS | B(NORMAL),
    [PERSON_DEAD] = 0,
};

bool case_status_allowed(int from, int to)
{
    if (from < PERSON_NORMAL || from > PERSON_DEAD || to < PERSON_NORMAL || to > PERSON_DEAD)
        return false;
    if (from == to && from != PERSON_CONFIRMED)
        return false;
    return (allowed[from] & (1u << to)) != 0;
}

/* ---- helpers ----------------------------------------------------------------------- */

err case_status_targets_json(db *d, const struct scope *sc, int64_t person_id, json_t **o_r)
{
    int from = 0;
    err e = case_person_in_scope(d, sc, person_id, NULL, &from);
    if (e)
        return e;
    json_t *targets = json_array();
    for (int to = PERSON_NORMAL; to <= PERSON_DEAD; to++)
        if (case_status_allowed(from, to))
            json_array_append_new(targets, json_pack("{s:s,s:s}", "status", person_status_name(to),
                                                     "name", person_status_label(to)));
    *o_r = json_pack("{s:s,s:s,s:o}", "status", person_status_name(from), "status_name",
                     person_status_label(from), "targets", targets);
    return E_OK;
}

err case_person_in_scope(db *d, const struct scope *sc, int64_t person_id, int64_t *region_r,
                         int *status_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, status FROM persons WHERE id = ? AND deleted_at = 0 "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row))) {
        if (!row) {
            e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
        } else {
            if (region_r)
                *region_r = db_col_int64(s, 0);
            if (status_r)
                *status_r = person_status_parse(db_col_text(s, 1));
        }
    }
    db_done(s);
    return e;
}

/* The severity of the newest change of a person ("" none). */
static err current_severity(db *d, int64_t person_id, int *sev_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT severity FROM status_changes WHERE person_id = ? "
                       "ORDER BY at DESC, id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    *sev_r = 0;
    if (!(e = db_row(s, &row)) && row) {
        int k = vocab_parse(&case_severity_vocab, db_col_text(s, 0));
        *sev_r = k > 0 ? k : 0;
    }
    db_done(s);
    return e;
}

/* The newest recorded infection route of a person (0 none). */
static err last_route(db *d, int64_t person_id, enum infection_route *r_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT infection_route FROM status_changes WHERE person_id = ? AND "
                       "infection_route <> '' ORDER BY at DESC, id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    *r_r = 0;
    if (!(e = db_row(s, &row)) && row) {
        int k = vocab_parse(&infection_route_vocab, db_col_text(s, 0));
        *r_r = k > 0 ? (enum infection_route)k : 0;
    }
    db_done(s);
    return e;
}

const struct jfield case_status_body[] = {
    {"to", J_STRING, JF_REQUIRED, 0, 0, "目标状态", NULL, &person_status_vocab},
    {"severity", J_STRING, 0, 0, 0, "病情程度", NULL, &case_severity_vocab},
    {"infection_route", J_STRING, 0, 0, 0, "感染途径", NULL, &infection_route_vocab},
    {"reason", J_STRING, JF_REQUIRED, 1, 200, "变更原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- the change ---------------------------------------------------------------------- */

static err check_in(const struct case_status_in *in)
{
    err e = E_OK, x;
    err_collect_begin();
    if (!person_status_name(in->to)[0])
        e = err_add(e, E_INPUT, "invalid_value", "to", "目标状态的取值不正确");
    if (in->to == PERSON_CONFIRMED && !in->severity)
        e = err_add(e, E_INPUT, "required", "severity", "确诊须填写病情程度");
    else if (in->to != PERSON_CONFIRMED && in->severity)
        e = err_add(e, E_INPUT, "invalid_value", "severity", "只有确诊病例可以填写病情程度");
    else if (in->severity && !vocab_name(&case_severity_vocab, in->severity)[0])
        e = err_add(e, E_INPUT, "invalid_value", "severity", "病情程度的取值不正确");
    if (in->route && (in->to != PERSON_CONFIRMED && in->to != PERSON_ASYMPTOMATIC))
        e = err_add(e, E_INPUT, "invalid_value", "infection_route",
                    "只有确诊病例和无症状感染者可以填写感染途径");
    if ((x = check_text(in->reason, "reason", "变更原因", 200, TEXT_REQUIRED)))
        e = e ? e : x;
    err_collect_end();
    return e;
}

err case_status_set(db *d, arena *a, const struct principal *who, const struct case_status_in *in,
                    int64_t *change_id_r)
{
    err e = check_in(in);
    if (e)
        return e;
    int64_t region;
    int from;
    if ((e = case_person_in_scope(d, &who->scope, in->person_id, &region, &from)))
        return e;
    int from_sev = 0;
    if (from == PERSON_CONFIRMED && (e = current_severity(d, in->person_id, &from_sev)))
        return e;
    if (!case_status_allowed(from, in->to) ||
        (from == PERSON_CONFIRMED && in->to == PERSON_CONFIRMED && from_sev == (int)in->severity))
        return err_set(E_CONFLICT, "invalid_transition", "to", "不能从“%s”变更为“%s”",
                       person_status_label(from), person_status_label(in->to));
    enum infection_route route = in->route;
    bool new_case = (in->to == PERSON_CONFIRMED || in->to == PERSON_ASYMPTOMATIC) &&
                    from != PERSON_CONFIRMED && from != PERSON_ASYMPTOMATIC;
    if (!route && (in->to == PERSON_CONFIRMED || in->to == PERSON_ASYMPTOMATIC)) {
        if (new_case)
            return err_set(E_INPUT, "required", "infection_route",
                           "确诊或无症状感染须填写感染途径");
        /* an asymptomatic case confirmed, a severity change: the route
         * recorded before (a case registered as such has none: unknown) */
        if ((e = last_route(d, in->person_id, &route)))
            return e;
        if (!route)
            route = ROUTE_UNKNOWN;
    }
    int64_t now = now_ms();
    db_stmt *s;
    /* conditional on the status read: a change that raced us is refused */
    if ((e = db_prepare(d,
                        "UPDATE persons SET status = ?, version = version + 1, updated_at = ?, "
                        "updated_by = ? WHERE id = ? AND status = ? AND deleted_at = 0",
                        &s)))
        return e;
    db_bind_text(s, 1, person_status_name(in->to));
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, who->user_id);
    db_bind_int64(s, 4, in->person_id);
    db_bind_text(s, 5, person_status_name(from));
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return err_set(E_CONFLICT, "version_conflict", NULL,
                       "该人员的状态刚被他人修改，请刷新后重试");
    int64_t id = id_new();
    if ((e = db_prepare(d,
                        "INSERT INTO status_changes (id, person_id, region_code, from_status, "
                        "to_status, severity, infection_route, at, user_id, reason_enc) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, in->person_id);
    db_bind_int64(s, 3, region);
    db_bind_text(s, 4, person_status_name(from));
    db_bind_text(s, 5, person_status_name(in->to));
    db_bind_text(s, 6, vocab_name(&case_severity_vocab, in->severity));
    db_bind_text(s, 7,
                 in->to == PERSON_CONFIRMED || in->to == PERSON_ASYMPTOMATIC
                     ? vocab_name(&infection_route_vocab, route)
                     : "");
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, who->user_id);
    if ((e = seal_bind(a, s, 10, "status_changes.reason", in->reason))) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, NULL)) || (e = case_written(d, CASE_REC_STATUS, id, in->person_id, region)))
        return e;
    /* what the change does to an open observation: released with the
     * person back to normal; ended when the person becomes a confirmed
     * case (treated in hospital) or dies; otherwise it stays open */
    if ((in->to == PERSON_NORMAL || in->to == PERSON_CONFIRMED || in->to == PERSON_DEAD) &&
        !in->observation_id &&
        (e = case_observe_close_open(d, a, who, in->person_id,
                                     in->to == PERSON_NORMAL ? OBS_RELEASED : OBS_ENDED)))
        return e;
    /* a cured patient is followed up after discharge (check.c) */
    if (in->to == PERSON_CURED &&
        (e = check_follow_up_plan(d, a, in->person_id, region, in->observation_id, now)))
        return e;
    /* the event's detail as text: ids as strings (as json_set_id), names
     * from the vocabularies (plain identifiers, nothing to escape); one a
     * row of an import, so no JSON object built and dumped */
    char detail[256], sev[64] = "", obs[48] = "";
    if (in->severity)
        snprintf(sev, sizeof sev, ",\"severity\":\"%s\"",
                 vocab_name(&case_severity_vocab, in->severity));
    if (in->observation_id)
        snprintf(obs, sizeof obs, ",\"observation_id\":\"%lld\"", (long long)in->observation_id);
    snprintf(detail, sizeof detail, "{\"change_id\":\"%lld\",\"from\":\"%s\",\"to\":\"%s\"%s%s}",
             (long long)id, person_status_name(from), person_status_name(in->to), sev, obs);
    if ((e = case_event_add(d, 0, in->person_id, region, "status", detail, who->user_id)))
        return e;
    if ((e = case_status_count(d, region, from, in->to, route, now)))
        return e;
    if ((e = code_refresh(d, a, in->person_id, "status", who->user_id)))
        return e;
    if (change_id_r)
        *change_id_r = id;
    return E_OK;
}

err case_status_change(db *d, arena *a, const struct principal *who, int64_t person_id, int to,
                       enum case_severity severity, const char *reason)
{
    struct case_status_in in = {
        .person_id = person_id, .to = to, .severity = severity, .reason = reason};
    /* callers without a route (a rule, a task) record it as unknown */
    if (to == PERSON_CONFIRMED || to == PERSON_ASYMPTOMATIC)
        in.route = ROUTE_UNKNOWN;
    return case_status_set(d, a, who, &in, NULL);
}

/* ---- reading ------------------------------------------------------------------------- */

#define CHANGE_COLS                                                                                \
    "SELECT c.id, c.person_id, c.from_status, c.to_status, c.severity, c.infection_route, c.at, "  \
    "c.user_id, c.reason_enc, " CASE_ACTOR_COLS " "                                                \
    "FROM status_changes c LEFT JOIN users u ON u.id = c.user_id "

static err change_json(db_stmt *s, arena *a, bool reveal, json_t **o_r)
{
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_set_id(o, "person_id", db_col_int64(s, 1));
    const char *from = db_col_text(s, 2), *to = db_col_text(s, 3);
    json_object_set_new(o, "from", json_string(from));
    json_object_set_new(o, "from_label",
                        json_string(person_status_label(person_status_parse(from))));
    json_object_set_new(o, "to", json_string(to));
    json_object_set_new(o, "to_label", json_string(person_status_label(person_status_parse(to))));
    const char *sev = db_col_text(s, 4), *route = db_col_text(s, 5);
    json_object_set_new(o, "severity", *sev ? json_string(sev) : json_null());
    json_object_set_new(o, "severity_label",
                        *sev ? json_string(vocab_label_of(&case_severity_vocab, sev))
                             : json_null());
    json_object_set_new(o, "infection_route", *route ? json_string(route) : json_null());
    json_object_set_new(o, "infection_route_label",
                        *route ? json_string(vocab_label_of(&infection_route_vocab, route))
                               : json_null());
    json_object_set_new(o, "at", json_integer(db_col_int64(s, 6)));
    json_set_id(o, "user_id", db_col_int64(s, 7));
    json_object_set_new(o, "user_name", json_string(case_actor_name(s, 9, db_col_int64(s, 7))));
    const char *reason = NULL;
    err e = unseal_col(a, s, 8, "status_changes.reason", &reason);
    if (e) {
        json_decref(o);
        return e;
    }
    /* staff's own words about the person: masked like the observation's
     * texts unless revealed (the change's own reply shows its writer's) */
    json_object_set_new(o, "reason",
                        json_string(reason ? (reveal ? reason : mask_address(a, reason)) : ""));
    *o_r = o;
    return E_OK;
}

err case_status_change_json(db *d, arena *a, int64_t change_id, json_t **o_r)
{
    db_stmt *s;
    err e = db_prepare(d, CHANGE_COLS "WHERE c.id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, change_id);
    bool row;
    if (!(e = db_row(s, &row)))
        e = row ? change_json(s, a, true, o_r) : err_set(E_NOT_FOUND, NULL, NULL, NULL);
    db_done(s);
    return e;
}

err case_status_changes(db *d, arena *a, const struct scope *sc, int64_t person_id, bool reveal,
                        int64_t page, int64_t page_size, json_t **items_r, int64_t *total_r)
{
    err e = case_person_in_scope(d, sc, person_id, NULL, NULL);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM status_changes WHERE person_id = ? AND "
                        "region_code >= ? AND region_code < ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    e = db_row(s, &row);
    *total_r = row ? db_col_int64(s, 0) : 0;
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        CHANGE_COLS "WHERE c.person_id = ? AND c.region_code >= ? AND "
                                    "c.region_code < ? ORDER BY c.at DESC, c.id DESC LIMIT ? "
                                    "OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        json_t *o;
        if ((e = change_json(s, a, reveal, &o)))
            break;
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

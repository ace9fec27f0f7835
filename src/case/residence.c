/*
 * A change of residence (docs/cases.md "When a person moves"): when a
 * person's region_code changes (PATCH /persons/{id}), the records the case
 * workflow keeps at the person's residence move with them in the same
 * transaction, so the new region's staff manage them and the old region's
 * no longer see them:
 *   - the open observation, with its isolations row, its checks, messages
 *     and notes (what the staff now in charge need to read), and the
 *     photos of those checks and messages (an attachment is read under its
 *     own region_code, attach/attach.h: left behind, the new region's staff
 *     would see a check whose photos answer 404, the old region's the
 *     reverse);
 *   - the newest status change (the row that states the current status
 *     and severity);
 *   - open tasks of kind verify or follow_up about the person whose region
 *     was the person's (a task sent to the reported address stays there).
 * Only rows kept at the old residence move (region_code = from). Each flow
 * counter the recount attributes to a moved row moves with it (-n at the
 * old region, +n at the new, on the same day), so `fangkong stats verify`
 * stays clean; the person's status level is moved by person/ itself.
 * Closed observations, older status changes and the timeline stay where
 * they happened. Registered as person_on_move (src/app.c): person/ never
 * includes case/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "case/internal.h"
#include "person/person.h"
#include "security/audit.h"
#include "stats/stats.h"

/* Move the flow `measure` of the rows `days_sql` selects ((day, n) pairs,
 * two bindings: the key and the old region) from region `from` to `to`. */
static err move_flow(db *d, arena *a, const char *measure, const char *days_sql, int64_t key,
                     int64_t from, int64_t to)
{
    db_stmt *s;
    err e = db_prepare(d, days_sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, key);
    db_bind_int64(s, 2, from);
    /* read first, then write: no statement stays open while another runs */
    struct day_n {
        int64_t day, n;
    } *rows = NULL;
    size_t n = 0, cap = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct day_n *more = arena_alloc(a, cap * sizeof *more);
            if (n)
                memcpy(more, rows, n * sizeof *more);
            rows = more;
        }
        rows[n].day = db_col_int64(s, 0);
        rows[n++].n = db_col_int64(s, 1);
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++)
        if (!(e = stats_add(d, measure, from, rows[i].day, -rows[i].n)))
            e = stats_add(d, measure, to, rows[i].day, rows[i].n);
    return e;
}

/* UPDATE table SET region_code = to WHERE <key col> = key AND region_code = from. */
static err move_rows(db *d, const char *sql, int64_t key, int64_t from, int64_t to, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, to);
    db_bind_int64(s, 2, key);
    db_bind_int64(s, 3, from);
    int64_t n = 0;
    e = db_run(s, &n);
    if (n_r)
        *n_r = n;
    return e;
}

#define DAY(col) CHINA_DAY_SQL(col)

/* The open observation at the old residence and what hangs on it. */
static err move_observation(db *d, arena *a, int64_t person_id, int64_t from, int64_t to,
                            int64_t *obs_r, int64_t *checks_r, int64_t *attachments_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, kind, source FROM observations WHERE person_id = ? AND state = "
                       "'active' AND region_code = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, from);
    bool row;
    int64_t obs = 0;
    int kind = 0, source = 0;
    if (!(e = db_row(s, &row)) && row) {
        obs = db_col_int64(s, 0);
        kind = vocab_parse(&observe_kind_vocab, db_col_text(s, 1));
        source = vocab_parse(&case_source_vocab, db_col_text(s, 2));
    }
    db_done(s);
    *obs_r = obs;
    *checks_r = *attachments_r = 0;
    if (e || !obs)
        return e;
    /* the flows first, while the rows still say where they were */
    if ((e = move_flow(d, a, "case.observe.new",
                       "SELECT " DAY("created_at") ", COUNT(*) FROM observations WHERE id = ? AND "
                                                   "region_code = ? GROUP BY " DAY("created_at"),
                       obs, from, to)) ||
        (e = move_flow(d, a, "check.new",
                       "SELECT " DAY("at") ", COUNT(*) FROM checks WHERE observation_id = ? AND "
                                           "region_code = ? GROUP BY " DAY("at"),
                       obs, from, to)) ||
        (e = move_flow(d, a, "check.abnormal.new",
                       "SELECT " DAY("at") ", COUNT(*) FROM checks WHERE observation_id = ? AND "
                                           "region_code = ? AND abnormal = 1 GROUP BY " DAY("at"),
                       obs, from, to)) ||
        /* recounted at the observation's region (check.c) */
        (e = move_flow(d, a, "check.missed.new",
                       "SELECT " DAY("m.alerted_at") ", COUNT(*) FROM check_missed m JOIN "
                                                     "observations o ON o.id = m.observation_id "
                                                     "WHERE o.id = ? AND o.region_code = ? GROUP "
                                                     "BY " DAY("m.alerted_at"),
                       obs, from, to)))
        return e;
    if ((e = case_observing_count(d, kind, source, from, -1)) ||
        (e = case_observing_count(d, kind, source, to, 1)) ||
        (e = move_rows(d,
                       "UPDATE observations SET region_code = ? WHERE id = ? AND region_code = ?",
                       obs, from, to, NULL)) ||
        (e = case_written(d, CASE_REC_OBSERVATION, obs, person_id, to)) ||
        (e = move_rows(d,
                       "UPDATE checks SET region_code = ? WHERE observation_id = ? AND "
                       "region_code = ?",
                       obs, from, to, checks_r)) ||
        (e = move_rows(d,
                       "UPDATE check_messages SET region_code = ? WHERE observation_id = ? AND "
                       "region_code = ?",
                       obs, from, to, NULL)) ||
        (e = move_rows(d,
                       "UPDATE observation_notes SET region_code = ? WHERE observation_id = ? AND "
                       "region_code = ?",
                       obs, from, to, NULL)))
        return e;
    /* the photos the checks and messages claimed (attach_claim_all's owners) */
    int64_t n_checks = 0, n_messages = 0;
    if ((e = move_rows(d,
                       "UPDATE attachments SET region_code = ? WHERE owner_kind = 'check' AND "
                       "owner_id IN (SELECT id FROM checks WHERE observation_id = ?) AND "
                       "region_code = ?",
                       obs, from, to, &n_checks)) ||
        (e = move_rows(d,
                       "UPDATE attachments SET region_code = ? WHERE owner_kind = 'message' AND "
                       "owner_id IN (SELECT id FROM check_messages WHERE observation_id = ?) AND "
                       "region_code = ?",
                       obs, from, to, &n_messages)))
        return e;
    *attachments_r = n_checks + n_messages;
    /* the code engine's open isolation of the person */
    return move_rows(d,
                     "UPDATE isolations SET region_code = ? WHERE person_id = ? AND end_at = 0 AND "
                     "region_code = ?",
                     person_id, from, to, NULL);
}

/* The newest status change, when it was kept at the old residence. */
static err move_status_row(db *d, int64_t person_id, int64_t from, int64_t to, int64_t *moved_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, region_code, from_status, to_status, infection_route, at FROM "
                       "status_changes WHERE person_id = ? ORDER BY at DESC, id DESC LIMIT 1",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    int64_t id = 0, region = 0, at = 0;
    char fs[32] = "", ts[32] = "", route[32] = "";
    if (!(e = db_row(s, &row)) && row) {
        id = db_col_int64(s, 0);
        region = db_col_int64(s, 1);
        snprintf(fs, sizeof fs, "%s", db_col_text(s, 2));
        snprintf(ts, sizeof ts, "%s", db_col_text(s, 3));
        snprintf(route, sizeof route, "%s", db_col_text(s, 4));
        at = db_col_int64(s, 5);
    }
    db_done(s);
    *moved_r = 0;
    if (e || !id || region != from)
        return e;
    /* its flows (measures.c): an entry into to_status, a new confirmed case by route */
    char name[80];
    int64_t day = china_day(at);
    if (strcmp(fs, ts)) {
        snprintf(name, sizeof name, "case.enter.%s", ts);
        if ((e = stats_add(d, name, from, day, -1)) || (e = stats_add(d, name, to, day, 1)))
            return e;
        if (!strcmp(ts, "confirmed") && *route) {
            snprintf(name, sizeof name, "case.confirmed_by.%s", route);
            if ((e = stats_add(d, name, from, day, -1)) || (e = stats_add(d, name, to, day, 1)))
                return e;
        }
    }
    return move_rows(d,
                     "UPDATE status_changes SET region_code = ? WHERE id = ? AND region_code = ?",
                     id, from, to, moved_r);
}

err case_person_moved(db *d, arena *a, const struct principal *who, int64_t person_id, int64_t from,
                      int64_t to)
{
    err e = case_register();
    int64_t obs = 0, checks = 0, attachments = 0, status = 0, tasks = 0;
    if (!e)
        e = move_observation(d, a, person_id, from, to, &obs, &checks, &attachments);
    if (!e)
        e = move_status_row(d, person_id, from, to, &status);
    if (!e)
        e = move_rows(
            d,
            "UPDATE tasks SET region_code = ? WHERE person_id = ? AND region_code = ? "
            "AND kind IN ('verify', 'follow_up') AND state IN ('pending', 'accepted', 'overdue')",
            person_id, from, to, &tasks);
    if (e || (!obs && !status && !tasks))
        return e;
    json_t *detail = json_object();
    json_set_id(detail, "observation_id", obs);
    json_object_set_new(detail, "from_region", json_integer(from));
    json_object_set_new(detail, "to_region", json_integer(to));
    json_object_set_new(detail, "tasks", json_integer(tasks));
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    e = case_event_add(d, 0, person_id, to, "residence_moved", text, who->user_id);
    free(text);
    if (e)
        return e;
    struct audit_entry ae = {
        .user_id = who->user_id,
        .username = who->username,
        .role = who->roles,
        .ip = "",
        .action = "case.residence_move",
        .object_type = "person",
        .object_id = person_id,
        .result = "ok",
        .detail = arena_printf(a,
                               "observation=%lld checks=%lld status_changes=%lld tasks=%lld "
                               "attachments=%lld",
                               (long long)obs, (long long)checks, (long long)status,
                               (long long)tasks, (long long)attachments),
    };
    return audit_log(d, &ae);
}

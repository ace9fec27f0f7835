/*
 * The case timeline (case_events, sql/019): one row per step of an
 * incident or of a person's case, written inside the transaction of the
 * step itself so a step and its line in the timeline exist together or not
 * at all. The detail is JSON text of ids and vocabulary names only: the
 * timeline is read by everyone with case.read in scope, masked or not.
 */
#include "case/internal.h"

#include <string.h>

#include "base/id.h"
#include "base/paging.h"

err case_event_add(db *d, int64_t incident_id, int64_t person_id, int64_t region_code,
                   const char *action, const char *detail, int64_t user_id)
{
    if (!action || !*action || strlen(action) > 40)
        return err_set(E_INTERNAL, "bad_event", NULL, "时间线事件无效");
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO case_events (id, incident_id, person_id, region_code, at, "
                       "action, detail, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, incident_id);
    db_bind_int64(s, 3, person_id);
    db_bind_int64(s, 4, region_code);
    db_bind_int64(s, 5, now_ms());
    db_bind_text(s, 6, action);
    db_bind_text(s, 7, detail && *detail ? detail : "{}");
    db_bind_int64(s, 8, user_id);
    return db_run(s, NULL);
}

err case_person_timeline(db *d, const struct scope *sc, int64_t person_id, int64_t page,
                         int64_t page_size, json_t **items_r, int64_t *total_r)
{
    err e = case_person_in_scope(d, sc, person_id, NULL, NULL);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT COUNT(*) FROM case_events WHERE person_id = ? AND "
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
    /* actors by name: the list shows names, never raw ids */
    if ((e = db_prepare(
             d,
             "SELECT c.id, c.incident_id, c.at, c.action, c.detail, c.user_id, " CASE_ACTOR_COLS " "
             "FROM case_events c LEFT JOIN users u ON u.id = c.user_id "
             "WHERE c.person_id = ? AND c.region_code >= ? AND c.region_code < ? "
             "ORDER BY c.at DESC, c.id DESC LIMIT ? OFFSET ?",
             &s)))
        return e;
    db_bind_int64(s, 1, person_id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    db_bind_int64(s, 4, page_size);
    db_bind_int64(s, 5, paging_offset(page, page_size));
    json_t *items = json_array();
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_set_id(o, "incident_id", db_col_int64(s, 1));
        json_object_set_new(o, "at", json_integer(db_col_int64(s, 2)));
        const char *action = db_col_text(s, 3);
        json_object_set_new(o, "action", json_string(action));
        json_object_set_new(o, "action_label", json_string(case_action_label(action)));
        json_t *detail = json_loads(db_col_text(s, 4), 0, NULL);
        json_object_set_new(o, "detail", detail ? detail : json_object());
        json_set_id(o, "user_id", db_col_int64(s, 5));
        json_object_set_new(o, "user_name", json_string(case_actor_name(s, 6, db_col_int64(s, 5))));
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

const char *case_actor_name(db_stmt *s, int col, int64_t user_id)
{
    if (!user_id)
        return "系统规则";
    const char *name = db_col_text(s, col);
    return *name ? name : db_col_text(s, col + 1);
}

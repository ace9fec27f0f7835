/*
 * The digital urban management connector (数字城管, seed 000 §6.3.4; peer
 * kind "urban"; connect.h): an incident that needs the city's street-level
 * services (rubbish at a sealed building, a blocked fire lane) is sent as a
 * case of the city's system; its case number is kept with the incident,
 * and a periodic poll brings the case's state back onto the incident's
 * timeline. What leaves fangkong is chosen by the staff member: the
 * incident's category, its region by name, its position, and the text they
 * write for the city, never the subject's name, phone or id number.
 */
#include "exchange/connect.h"

#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/vocab.h"
#include "case/case.h"
#include "db/periodic.h"
#include "region/region.h"

#define LABEL "数字城管系统"

/* A case number or state as the peer may spell it: [A-Za-z0-9_.-], so it
 * goes into a path and a label unescaped. */
static bool token_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > max)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool label_ok(const char *s)
{
    return s && *s && strlen(s) <= 60;
}

static err region_name(db *d, int64_t code, const char **name_r, arena *a)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, code);
    bool row;
    *name_r = "";
    if (!(e = db_row(s, &row)) && row)
        *name_r = arena_strdup(a, db_col_text(s, 0));
    db_done(s);
    return e;
}

err urban_case_find(db *d, arena *a, int64_t incident_id, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT case_no, state, state_label, done, pushed_at, polled_at, updated_at "
                       "FROM urban_cases WHERE incident_id = ?",
                       &s);
    if (e)
        return e;
    (void)a;
    db_bind_int64(s, 1, incident_id);
    bool row;
    json_t *o = json_null();
    if (!(e = db_row(s, &row)) && row) {
        o = json_object();
        json_object_set_new(o, "case_no", json_string(db_col_text(s, 0)));
        json_object_set_new(o, "state", json_string(db_col_text(s, 1)));
        json_object_set_new(o, "state_label", json_string(db_col_text(s, 2)));
        json_object_set_new(o, "done", json_boolean(db_col_int64(s, 3) != 0));
        json_object_set_new(o, "pushed_at", json_integer(db_col_int64(s, 4)));
        json_object_set_new(o, "polled_at", json_integer(db_col_int64(s, 5)));
        json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 6)));
    }
    db_done(s);
    if (e) {
        json_decref(o);
        return e;
    }
    *out_r = o;
    return E_OK;
}

static err already_pushed(db *d, int64_t incident_id, bool *yes_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM urban_cases WHERE incident_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, incident_id);
    bool row = false;
    e = db_row(s, &row);
    db_done(s);
    *yes_r = row;
    return e;
}

err urban_push_check(db *d, int64_t incident_id)
{
    bool yes;
    err e = already_pushed(d, incident_id, &yes);
    if (!e && yes)
        return err_set(E_CONFLICT, "urban_already_pushed", NULL,
                       "该事件已推送数字城管，无需重复推送");
    return e;
}

err urban_push(db *d, arena *a, const struct principal *who, int64_t incident_id, const char *note,
               json_t **out_r)
{
    struct incident v;
    err e = incident_find(d, a, &who->scope, 0, incident_id, &v);
    if (e || (e = urban_push_check(d, incident_id)))
        return e;
    const char *rname;
    if ((e = region_name(d, v.region_code, &rname, a)))
        return e;
    char code[19];
    regcode_format(v.region_code, code);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "ref", arena_printf(a, "%lld", (long long)incident_id),
        "category", vocab_name(&incident_category_vocab, v.category), "category_label",
        vocab_label(&incident_category_vocab, v.category), "region_code", code, "region_name",
        rname, "description", note, "reported_at", (json_int_t)v.created_at);
    if (!body)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    if (v.has_position) {
        json_object_set_new(body, "lat", json_real(v.lat));
        json_object_set_new(body, "lng", json_real(v.lng));
    }
    json_t *ans = NULL;
    e = connect_call(d, a, CONNECT_URBAN, LABEL, "POST", "/urban/v1/cases", body, &ans);
    json_decref(body);
    if (e)
        return e;
    const char *no = json_string_value(json_object_get(ans, "case_no"));
    const char *st = json_string_value(json_object_get(ans, "state"));
    const char *lb = json_string_value(json_object_get(ans, "state_label"));
    bool ok = token_ok(no, 40) && (!st || token_ok(st, 40)) && (!lb || label_ok(lb));
    char *case_no = ok ? arena_strdup(a, no) : NULL;
    char *state = ok ? arena_strdup(a, st ? st : "accepted") : NULL;
    char *label = ok ? arena_strdup(a, lb ? lb : "已受理") : NULL;
    json_decref(ans);
    if (!ok)
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
    int64_t now = now_ms();
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    if (!(e = db_prepare(d,
                         "INSERT INTO urban_cases (incident_id, region_code, case_no, state, "
                         "state_label, done, pushed_by, pushed_at, updated_at) "
                         "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, incident_id);
        db_bind_int64(s, 2, v.region_code);
        db_bind_text(s, 3, case_no);
        db_bind_text(s, 4, state);
        db_bind_text(s, 5, label);
        db_bind_int64(s, 6, who->user_id);
        db_bind_int64(s, 7, now);
        db_bind_int64(s, 8, now);
        e = db_run(s, NULL);
    }
    json_t *ev = json_pack("{s:s,s:s,s:s}", "case_no", case_no, "state", state, "label", label);
    char *evt = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!e)
        e = evt ? case_event_add(d, incident_id, v.person_id, v.region_code, "urban_pushed", evt,
                                 who->user_id)
                : err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    free(evt);
    if (e) {
        db_rollback(d);
        return e;
    }
    /* the caller commits (with its audit entry) */
    return urban_case_find(d, a, incident_id, out_r);
}

/* ---- the poll ------------------------------------------------------------------------ */

/* The peer's final states: the case is over, the poll stops asking. */
static bool final_state(const char *st)
{
    return !strcmp(st, "closed") || !strcmp(st, "rejected") || !strcmp(st, "cancelled");
}

/* Ask about one open case; a new state is stored and put on the incident's
 * timeline (user 0: the system's step). *changed_r tells. */
static err poll_one(db *d, arena *a, int64_t incident_id, const char *case_no, const char *old,
                    int64_t now, bool *changed_r)
{
    json_t *ans = NULL;
    *changed_r = false;
    err e = connect_call(d, a, CONNECT_URBAN, LABEL, "GET",
                         arena_printf(a, "/urban/v1/cases/%s", case_no), NULL, &ans);
    if (e)
        return e;
    const char *st = json_string_value(json_object_get(ans, "state"));
    const char *lb = json_string_value(json_object_get(ans, "state_label"));
    bool ok = token_ok(st, 40) && label_ok(lb);
    char *state = ok ? arena_strdup(a, st) : NULL, *label = ok ? arena_strdup(a, lb) : NULL;
    json_decref(ans);
    if (!ok)
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
    bool changed = strcmp(state, old) != 0;
    db_stmt *s;
    if ((e = db_begin(d)))
        return e;
    /* "AND state = old": another server's poll that got there first wins,
     * and the step goes on the timeline once */
    if (!(e = db_prepare(d,
                         "UPDATE urban_cases SET state = ?, state_label = ?, done = ?, "
                         "polled_at = ?, updated_at = CASE WHEN state = ? THEN updated_at ELSE ? "
                         "END WHERE incident_id = ? AND state = ?",
                         &s))) {
        db_bind_text(s, 1, state);
        db_bind_text(s, 2, label);
        db_bind_int64(s, 3, final_state(state));
        db_bind_int64(s, 4, now);
        db_bind_text(s, 5, state);
        db_bind_int64(s, 6, now);
        db_bind_int64(s, 7, incident_id);
        db_bind_text(s, 8, old);
        int64_t n = 0;
        e = db_run(s, &n);
        changed = changed && n == 1;
    }
    if (!e && changed) {
        struct incident v;
        json_t *ev = json_pack("{s:s,s:s,s:s}", "case_no", case_no, "state", state, "label", label);
        char *evt = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        json_decref(ev);
        struct scope all = scope_all();
        if (!evt)
            e = err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
        else if (!(e = incident_find(d, a, &all, 0, incident_id, &v)))
            e = case_event_add(d, incident_id, v.person_id, v.region_code, "urban_state", evt, 0);
        free(evt);
    }
    if (e || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    *changed_r = changed;
    return E_OK;
}

err urban_poll(db *d, arena *a, int64_t now, int64_t *changed_r)
{
    /* the open cases asked least recently first, a bounded batch a run */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT incident_id, case_no, state FROM urban_cases WHERE done = 0 "
                       "ORDER BY polled_at, incident_id LIMIT 100",
                       &s);
    if (e)
        return e;
    struct open {
        int64_t id;
        const char *no, *state;
    } *open = arena_alloc(a, 100 * sizeof *open);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < 100)
        open[n++] = (struct open){.id = db_col_int64(s, 0),
                                  .no = arena_strdup(a, db_col_text(s, 1)),
                                  .state = arena_strdup(a, db_col_text(s, 2))};
    db_done(s);
    *changed_r = 0;
    for (size_t i = 0; i < n && !e; i++) {
        bool changed;
        e = poll_one(d, a, open[i].id, open[i].no, open[i].state, now, &changed);
        *changed_r += changed;
    }
    return e;
}

static err poll_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    *n_r = 0;
    if (!connect_configured(d, CONNECT_URBAN))
        return E_OK;
    /* the periodic thread\'s own: a sweep has no request */
    arena *a = arena_new(64 * 1024);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    err e = urban_poll(d, a, now, n_r);
    arena_free(&a);
    return e;
}

static struct periodic poller = PERIODIC_INIT("urban_poll", poll_run, NULL);

err urban_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&poller, db_url, every_s);
}

void urban_worker_stop(void)
{
    periodic_stop(&poller);
}

/* ---- the grid division ------------------------------------------------------------------ */

err urban_grids(db *d, arena *a, const struct scope *sc, bool apply,
                struct region_import_report *rep_r)
{
    json_t *ans = NULL;
    err e = connect_call(d, a, CONNECT_URBAN, LABEL, "GET", "/urban/v1/grids", NULL, &ans);
    if (e)
        return e;
    json_t *features = json_object_get(ans, "features"), *f;
    if (!json_is_array(features) || json_array_size(features) > URBAN_GRIDS_MAX) {
        json_decref(ans);
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的网格数据格式不正确，未导入");
    }
    /* the city's grids as the region tree's GeoJSON rows: level grid, the
     * parent community from community_code (the city's name for it) */
    size_t i;
    json_array_foreach(features, i, f)
    {
        json_t *pr = json_object_get(f, "properties");
        if (!json_is_object(pr))
            continue; /* region_import reports the feature as invalid_row */
        json_object_set_new(pr, "level", json_string("grid"));
        json_t *cc = json_object_get(pr, "community_code");
        if (cc && !json_object_get(pr, "parent_code"))
            json_object_set(pr, "parent_code", cc);
    }
    char *text = json_dumps(ans, JSON_COMPACT);
    json_decref(ans);
    if (!text)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    /* a preview is the import itself, undone: the same checks, the same
     * report, nothing kept */
    if (!(e = db_begin(d))) {
        e = region_import(d, sc, REGION_GEOJSON, text, strlen(text), a, rep_r);
        if (!e && apply)
            e = db_commit(d);
        if (e || !apply)
            db_rollback(d);
    }
    free(text);
    return e;
}

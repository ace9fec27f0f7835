/*
 * The counters of the observation list and the status machine (case.h,
 * "measures"; src/stats), each moved by stats_add in the transaction of
 * the change it counts, with the recount `fangkong stats verify` compares
 * it with:
 *   - "case.enter.<status>": people who entered a status that day (a flow,
 *     from status_changes: a severity change, confirmed -> confirmed, is
 *     not an entry);
 *   - "case.confirmed_by.<route>": new confirmed cases that day by
 *     infection route (an asymptomatic case confirmed later counts then,
 *     with the route recorded before);
 *   - "case.observe.new", "case.release.new": observations opened and
 *     released that day.
 * The level of each status ("how many are confirmed now") is the person
 * registry's "person.status.<status>" (person/measures.c), which the
 * status machine moves too: the header's "case.status.<status>" would
 * have been the same figure from the same column twice.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/time.h"
#include "case/internal.h"
#include "person/person.h"
#include "place/place.h"
#include "security/mask.h"
#include "stats/stats.h"

#define DAY_OF(col) CHINA_DAY_SQL(col)

#define ENTER(s, label)                                                                            \
    {                                                                                              \
        "case.enter." s, "新增" label, false,                                                      \
            "SELECT region_code, " DAY_OF(                                                         \
                "at") ", COUNT(*) FROM status_changes WHERE to_status = '" s                       \
                      "' AND from_status <> to_status GROUP BY region_code, " DAY_OF("at")         \
    }

/* Indexed by enum person_status. */
static const struct stats_measure enter[] = {
    [PERSON_NORMAL] = ENTER("normal", "恢复正常"),
    [PERSON_OBSERVATION] = ENTER("observation", "隔离观察"),
    [PERSON_HOME_ISOLATION] = ENTER("home_isolation", "居家隔离"),
    [PERSON_CENTRAL_QUARANTINE] = ENTER("central_quarantine", "集中隔离"),
    [PERSON_SUSPECTED] = ENTER("suspected", "疑似"),
    [PERSON_CONFIRMED] = ENTER("confirmed", "确诊"),
    [PERSON_ASYMPTOMATIC] = ENTER("asymptomatic", "无症状感染者"),
    [PERSON_CURED] = ENTER("cured", "治愈"),
    [PERSON_DEAD] = ENTER("dead", "死亡"),
};
#define NENTER (sizeof enter / sizeof enter[0])

#define BY_ROUTE(r, label)                                                                         \
    {                                                                                              \
        "case.confirmed_by." r, "新增确诊（" label "）", false,                                    \
            "SELECT region_code, " DAY_OF(                                                         \
                "at") ", COUNT(*) FROM status_changes WHERE to_status = "                          \
                      "'confirmed' AND from_status <> 'confirmed' AND "                            \
                      "infection_route = '" r "' GROUP BY region_code, " DAY_OF("at")              \
    }

/* Indexed by enum infection_route. */
static const struct stats_measure by_route[] = {
    [ROUTE_LOCAL] = BY_ROUTE("local", "本地感染"),
    [ROUTE_IMPORTED] = BY_ROUTE("imported", "境外输入"),
    [ROUTE_DOMESTIC_IMPORT] = BY_ROUTE("domestic_import", "外地输入"),
    [ROUTE_CLUSTER] = BY_ROUTE("cluster", "聚集性"),
    [ROUTE_UNKNOWN] = BY_ROUTE("unknown", "不明"),
};
#define NROUTES (sizeof by_route / sizeof by_route[0])

static const struct stats_measure observe_new = {
    "case.observe.new", "新增隔离观察", false,
    "SELECT region_code, " DAY_OF("created_at") ", COUNT(*) FROM observations GROUP BY "
                                                "region_code, " DAY_OF("created_at")};

static const struct stats_measure release_new = {
    "case.release.new", "解除隔离", false,
    "SELECT region_code, " DAY_OF("ended_at") ", COUNT(*) FROM observations WHERE state = "
                                              "'released' GROUP BY region_code, " DAY_OF(
                                                  "ended_at")};

/* People under observation now by kind (居家隔离, 居家医学观察, 集中隔离,
 * 定点医院): active observations at the person's residence (the
 * observation's region_code, which moves with them, residence.c). */
static err observing_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                          int64_t *total_r);

#define OBSERVING(k, label)                                                                        \
    {                                                                                              \
        "case.observing." k, label, true,                                                          \
            "SELECT region_code, 0, COUNT(*) FROM observations WHERE state = 'active' AND kind = " \
            "'" k "' GROUP BY region_code",                                                        \
            .list = observing_list, .personal = true                                               \
    }

/* Indexed by enum observe_kind. */
static const struct stats_measure observing[] = {
    [OBSERVE_HOME_ISOLATION] = OBSERVING("home_isolation", "居家隔离中"),
    [OBSERVE_HOME_OBSERVATION] = OBSERVING("home_observation", "居家医学观察中"),
    [OBSERVE_CENTRAL] = OBSERVING("central", "集中隔离中"),
    [OBSERVE_HOSPITAL] = OBSERVING("hospital", "定点医院观察中"),
};
#define NOBSERVING (sizeof observing / sizeof observing[0])
/* every kind has its level, so their sum is every active observation */
_Static_assert(NOBSERVING == OBSERVE_HOSPITAL + 1, "a level for every observe_kind");

/* Close contacts under observation now (the source 确诊病例密切接触者). */
static const struct stats_measure contacts = {
    "case.contacts",
    "密切接触者（观察中）",
    true,
    "SELECT region_code, 0, COUNT(*) FROM observations WHERE state = 'active' AND source = "
    "'contact' GROUP BY region_code",
    .list = observing_list,
    .personal = true};

/* The rooms of live quarantine sites by state, at the room's region (the
 * site's when the room was added), and the same per site: the families
 * "case.site.<state>.<site id>", the quarantine-site level of the
 * multi-level figures (GET /api/v1/stats/sites). An occupied room holds
 * one observation, so occupied rooms are the people in the site. */
#define ROOMS(st)                                                                                  \
    "SELECT q.region_code, 0, COUNT(*) FROM quarantine_rooms q JOIN places p ON p.id = "           \
    "q.site_id AND p.deleted_at = 0 WHERE q.state = '" st "' GROUP BY q.region_code"
#define SITE_ROOMS(st)                                                                             \
    "SELECT q.site_id, q.region_code, 0, COUNT(*) FROM quarantine_rooms q JOIN places p ON p.id "  \
    "= q.site_id AND p.deleted_at = 0 WHERE q.state = '" st "' GROUP BY q.site_id, q.region_code"

/* Indexed by enum room_state. */
static const struct stats_measure rooms[] = {
    [ROOM_FREE] = {"case.rooms.free", "隔离房间（空闲）", true, ROOMS("free")},
    [ROOM_OCCUPIED] = {"case.rooms.occupied", "隔离房间（已入住）", true, ROOMS("occupied")},
    [ROOM_CLOSED] = {"case.rooms.closed", "隔离房间（停用）", true, ROOMS("closed")},
};
static const struct stats_measure site_rooms[] = {
    [ROOM_FREE] = {"case.site.free", "空闲房间", true, SITE_ROOMS("free"), true},
    [ROOM_OCCUPIED] = {"case.site.occupied", "已入住房间", true, SITE_ROOMS("occupied"), true},
    [ROOM_CLOSED] = {"case.site.closed", "停用房间", true, SITE_ROOMS("closed"), true},
};
#define NROOMS (sizeof rooms / sizeof rooms[0])

/* set once every measure is registered, so a write registers no more */
static atomic_bool registered;

err case_register(void)
{
    if (atomic_load(&registered))
        return E_OK;
    /* the status levels are the person registry's; registered here too so
     * the status machine can move them wherever start-up never ran */
    err e = person_measures_register();
    if (!e)
        e = stats_measure_register(&observe_new);
    if (!e)
        e = stats_measure_register(&release_new);
    for (size_t i = PERSON_NORMAL; i < NENTER && !e; i++)
        e = stats_measure_register(&enter[i]);
    for (size_t i = ROUTE_LOCAL; i < NROUTES && !e; i++)
        e = stats_measure_register(&by_route[i]);
    for (size_t i = OBSERVE_HOME_ISOLATION; i < NOBSERVING && !e; i++)
        e = stats_measure_register(&observing[i]);
    if (!e)
        e = stats_measure_register(&contacts);
    for (size_t i = ROOM_FREE; i < NROOMS && !e; i++)
        if (!(e = stats_measure_register(&rooms[i])))
            e = stats_measure_register(&site_rooms[i]);
    if (!e)
        atomic_store(&registered, true);
    return e;
}

/* The observations behind a figure: the observation list's active ones of
 * the kind (or of close contacts), the person's name masked as that list
 * masks it. */
static err observing_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                          int64_t *total_r)
{
    struct case_observe_filter f = {
        .state = OBS_ACTIVE, .page = q->page, .page_size = q->page_size};
    if (q->measure == &contacts)
        f.source = SOURCE_CONTACT;
    else
        f.kind = vocab_parse(&observe_kind_vocab, strrchr(q->measure->name, '.') + 1);
    struct scope sc = {q->lo, q->hi};
    struct observation *items;
    size_t n;
    json_t *counts = NULL;
    err e = case_observation_list(d, a, &sc, &f, &items, &n, total_r, &counts);
    json_decref(counts);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct observation *o = &items[i];
        json_t *j = json_object();
        json_set_id(j, "id", o->id);
        json_set_id(j, "person_id", o->person_id);
        json_object_set_new(j, "person_name",
                            o->person_name ? json_string(mask_name(a, o->person_name))
                                           : json_null());
        json_object_set_new(j, "kind_label",
                            json_string(vocab_label(&observe_kind_vocab, o->kind)));
        json_object_set_new(j, "source_label",
                            json_string(vocab_label(&case_source_vocab, o->source)));
        json_object_set_new(j, "start_at", json_integer(o->start_at));
        json_object_set_new(j, "site_name",
                            o->site_id && o->site_name ? json_string(o->site_name) : json_null());
        json_object_set_new(j, "room_no",
                            o->room_no && *o->room_no ? json_string(o->room_no) : json_null());
        json_set_region(j, o->region_code, o->region_name);
        json_array_append_new(arr, j);
    }
    *items_r = arr;
    return E_OK;
}

err case_observing_count(db *d, enum observe_kind kind, enum case_source source, int64_t region,
                         int64_t delta)
{
    err e = case_register();
    if (!e && kind >= OBSERVE_HOME_ISOLATION && (size_t)kind < NOBSERVING)
        e = stats_add(d, observing[kind].name, region, STATS_NOW, delta);
    if (!e && source == SOURCE_CONTACT)
        e = stats_add(d, contacts.name, region, STATS_NOW, delta);
    return e;
}

err case_observations_counted(db *d, int64_t lo, int64_t hi, int64_t *all_r, int64_t *active_r,
                              int64_t *released_r)
{
    err e = case_register();
    int64_t all = 0, active = 0, released = 0;
    if (!e)
        e = stats_sum(d, observe_new.name, lo, hi, STATS_NOW, STATS_NOW, &all);
    if (!e)
        e = stats_sum(d, release_new.name, lo, hi, STATS_NOW, STATS_NOW, &released);
    for (size_t i = OBSERVE_HOME_ISOLATION; i < NOBSERVING && !e; i++) {
        int64_t n = 0;
        if (!(e = stats_sum(d, observing[i].name, lo, hi, STATS_NOW, STATS_NOW, &n)))
            active += n;
    }
    if (e)
        return e;
    *all_r = all;
    *active_r = active;
    *released_r = released;
    return E_OK;
}

err case_room_count(db *d, int64_t site_id, enum room_state state, int64_t region, int64_t delta)
{
    err e = case_register();
    if (e || state < ROOM_FREE || (size_t)state >= NROOMS)
        return e;
    char name[64];
    snprintf(name, sizeof name, "%s.%lld", site_rooms[state].name, (long long)site_id);
    if (!(e = stats_add(d, rooms[state].name, region, STATS_NOW, delta)))
        e = stats_add(d, name, region, STATS_NOW, delta);
    return e;
}

err case_site_deleted(db *d, const struct place *p)
{
    /* its rooms leave the figures with it (the recount joins live places):
     * whatever its kind now, as a site's kind may have changed since its
     * rooms were added */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT region_code, state, COUNT(*) FROM quarantine_rooms WHERE site_id = "
                       "? GROUP BY region_code, state",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, p->id);
    struct {
        int64_t region, n;
        int state;
    } g[16];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == sizeof g / sizeof g[0]) { /* a site's rooms sit at one region or a few */
            e = err_set(E_INTERNAL, NULL, NULL, "隔离点的房间分布在过多区划");
            break;
        }
        g[n].region = db_col_int64(s, 0);
        g[n].state = vocab_parse(&room_state_vocab, db_col_text(s, 1));
        g[n++].n = db_col_int64(s, 2);
    }
    db_done(s);
    for (size_t i = 0; i < n && !e; i++)
        if (g[i].state > 0)
            e = case_room_count(d, p->id, (enum room_state)g[i].state, g[i].region, -g[i].n);
    return e;
}

err case_count(db *d, const char *measure, int64_t region, int64_t day, int64_t delta)
{
    /* writes also run where the server's start-up never ran (the demo,
     * tools): registering again is a no-op */
    err e = case_register();
    return e ? e : stats_add(d, measure, region, day, delta);
}

err case_status_count(db *d, int64_t region, int from, int to, enum infection_route route,
                      int64_t at)
{
    err e = case_register();
    if (e)
        return e;
    char name[64];
    if (from != to) {
        snprintf(name, sizeof name, "person.status.%s", person_status_name(from));
        if ((e = stats_add(d, name, region, STATS_NOW, -1)))
            return e;
        snprintf(name, sizeof name, "person.status.%s", person_status_name(to));
        if ((e = stats_add(d, name, region, STATS_NOW, 1)))
            return e;
        if (to >= PERSON_NORMAL && (size_t)to < NENTER &&
            (e = stats_add(d, enter[to].name, region, china_day(at), 1)))
            return e;
    }
    if (to == PERSON_CONFIRMED && from != PERSON_CONFIRMED && route >= ROUTE_LOCAL &&
        (size_t)route < NROUTES)
        e = stats_add(d, by_route[route].name, region, china_day(at), 1);
    return e;
}

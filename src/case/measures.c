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

#include "base/time.h"
#include "case/internal.h"
#include "person/person.h"
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
    if (!e)
        atomic_store(&registered, true);
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

/*
 * The person registry's counters (stats/stats.h):
 *   - "person.status.<status>", how many live people are in each epidemic
 *     status now, at their region of residence (a level);
 *   - "person.registered", people registered per China day of their
 *     record's creation, at their region now, deleted ones left out (a
 *     flow whose cumulative total is the registry's head count, 人员总览);
 *   - "person.category.<category>" and "person.vulnerable.<group>", live
 *     people by category and by vulnerable group at their region (levels:
 *     the areas of key persons).
 * person.c moves them in the transaction of every write that creates a
 * person, deletes one, or changes a status or a region; the recounts below
 * are what `fangkong stats verify` compares them with, and sql/018 filled
 * them for the people registered before it.
 */
#include <stdatomic.h>
#include <string.h>

#include "base/time.h"
#include "person/internal.h"
#include "stats/stats.h"

#define RECOUNT(s)                                                                                 \
    "SELECT region_code, 0, COUNT(*) FROM persons WHERE deleted_at = 0 AND status = '" s           \
    "' GROUP BY region_code"
#define MEASURE(e, s, label)                                                                       \
    [e] = {"person.status." s, label, true, RECOUNT(s), .list = person_stats_list, .personal = true}

static err person_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                             int64_t *total_r);

/* Indexed by enum person_status; the names are person_status_vocab's. */
static const struct stats_measure measures[] = {
    MEASURE(PERSON_NORMAL, "normal", "正常"),
    MEASURE(PERSON_OBSERVATION, "observation", "隔离观察"),
    MEASURE(PERSON_HOME_ISOLATION, "home_isolation", "居家隔离"),
    MEASURE(PERSON_CENTRAL_QUARANTINE, "central_quarantine", "集中隔离"),
    MEASURE(PERSON_SUSPECTED, "suspected", "疑似"),
    MEASURE(PERSON_CONFIRMED, "confirmed", "确诊"),
    MEASURE(PERSON_ASYMPTOMATIC, "asymptomatic", "无症状"),
    MEASURE(PERSON_CURED, "cured", "治愈"),
    MEASURE(PERSON_DEAD, "dead", "死亡"),
};
#define NMEASURES (sizeof measures / sizeof measures[0])

static const struct stats_measure registered = {
    "person.registered",
    "登记人员",
    false,
    "SELECT region_code, " CHINA_DAY_SQL(
        "created_at") ", COUNT(*) FROM persons WHERE "
                      "deleted_at = 0 GROUP BY region_code, " CHINA_DAY_SQL("created_at"),
    .list = person_stats_list,
    .personal = true};

/* People by category (常住 / 外来 / 返回 / 过境) and by vulnerable group
 * (重点人群, one level per flag), live, at their residence: the areas of key
 * persons. Indexed by enum person_category and by bit position. */
#define CATEGORY(e, c, label)                                                                      \
    [e] = {"person.category." c,                                                                   \
           label,                                                                                  \
           true,                                                                                   \
           "SELECT region_code, 0, COUNT(*) FROM persons WHERE deleted_at = 0 AND category = '" c  \
           "' GROUP BY region_code",                                                               \
           .list = person_stats_list,                                                              \
           .personal = true}
static const struct stats_measure categories[] = {
    CATEGORY(PERSON_RESIDENT, "resident", "常住人员"),
    CATEGORY(PERSON_VISITOR, "visitor", "外来人员"),
    CATEGORY(PERSON_RETURNEE, "returnee", "返回人员"),
    CATEGORY(PERSON_TRANSIT, "transit", "过境人员"),
};
#define NCATEGORIES (sizeof categories / sizeof categories[0])

#define VULNERABLE(bit, v, label)                                                                  \
    {                                                                                              \
        "person.vulnerable." v, label, true,                                                       \
            "SELECT region_code, 0, COUNT(*) FROM persons WHERE deleted_at = 0 AND (vulnerable "   \
            "& " #bit ") <> 0 GROUP BY region_code"                                                \
    }
static const struct stats_measure vulnerables[] = {
    VULNERABLE(1, "pregnant", "孕产妇"),
    VULNERABLE(2, "elderly_alone", "独居老人"),
    VULNERABLE(4, "chronic_disease", "慢性病患者"),
    VULNERABLE(8, "disabled", "残疾人"),
    VULNERABLE(16, "child", "儿童"),
};
#define NVULNERABLE (sizeof vulnerables / sizeof vulnerables[0])
_Static_assert(1u << NVULNERABLE == VULN_ALL + 1, "a measure for every vulnerable flag");

/* set once every measure is registered, so a write registers no more */
static atomic_bool done;

err person_measures_register(void)
{
    if (atomic_load(&done))
        return E_OK;
    err e = stats_measure_register(&registered);
    for (size_t i = PERSON_NORMAL; i < NMEASURES && !e; i++)
        e = stats_measure_register(&measures[i]);
    for (size_t i = PERSON_RESIDENT; i < NCATEGORIES && !e; i++)
        e = stats_measure_register(&categories[i]);
    for (size_t i = 0; i < NVULNERABLE && !e; i++)
        e = stats_measure_register(&vulnerables[i]);
    if (!e)
        atomic_store(&done, true);
    return e;
}

err person_count(db *d, const struct person *p, unsigned what, int64_t delta)
{
    /* writes also run where the server's start-up never ran (the demo,
     * unit tests): registering again is a no-op */
    err e = person_measures_register();
    /* a status person_check refuses is never stored: nothing to count */
    if (!e && what & PERSON_COUNT_STATUS && p->status >= PERSON_NORMAL &&
        (size_t)p->status < NMEASURES)
        e = stats_add(d, measures[p->status].name, p->region_code, STATS_NOW, delta);
    if (!e && what & PERSON_COUNT_REGISTERED)
        e = stats_add(d, registered.name, p->region_code, china_day(p->created_at), delta);
    if (!e && what & PERSON_COUNT_GROUPS) {
        if (p->category >= PERSON_RESIDENT && (size_t)p->category < NCATEGORIES)
            e = stats_add(d, categories[p->category].name, p->region_code, STATS_NOW, delta);
        for (size_t i = 0; i < NVULNERABLE && !e; i++)
            if (p->vulnerable & 1u << i)
                e = stats_add(d, vulnerables[i].name, p->region_code, STATS_NOW, delta);
    }
    return e;
}

/* s past prefix, or NULL when s does not begin with it. */
static const char *after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) ? NULL : s + n;
}

/* The people behind a figure: the person list's filter by status,
 * category or group (all live people for the registrations), masked as
 * the person list masks them. */
static err person_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                             int64_t *total_r)
{
    const char *name = q->measure->name, *rest;
    struct person_filter f = {.inbound = -1, .page = q->page, .page_size = q->page_size};
    if ((rest = after(name, "person.status.")))
        f.status = person_status_parse(rest);
    else if ((rest = after(name, "person.category.")))
        f.category = person_category_parse(rest);
    else if ((rest = after(name, "person.vulnerable.")))
        f.vulnerable = vulnerable_parse(rest);
    struct scope sc = {q->lo, q->hi};
    struct person *items;
    size_t n;
    err e = person_list(d, a, &sc, &f, &items, &n, total_r);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, person_json(a, &items[i], false));
    *items_r = arr;
    return E_OK;
}

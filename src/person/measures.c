/*
 * The person registry's counters (stats/stats.h): "person.status.<status>",
 * how many live people are in each epidemic status now, at their region of
 * residence (a level). person.c moves them in the transaction of every
 * write that creates a person, deletes one, or changes a status or a
 * region; the recounts below are what `fangkong stats verify` compares
 * them with, and sql/018 filled them for the people already registered.
 */
#include "person/internal.h"
#include "stats/stats.h"

#define RECOUNT(s)                                                                                 \
    "SELECT region_code, 0, COUNT(*) FROM persons WHERE deleted_at = 0 AND status = '" s           \
    "' GROUP BY region_code"
#define MEASURE(e, s, label) [e] = {"person.status." s, label, true, RECOUNT(s)}

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

err person_measures_register(void)
{
    for (size_t i = PERSON_NORMAL; i < NMEASURES; i++) {
        err e = stats_measure_register(&measures[i]);
        if (e)
            return e;
    }
    return E_OK;
}

err person_count(db *d, enum person_status status, int64_t region_code, int64_t delta)
{
    if (status < PERSON_NORMAL || (size_t)status >= NMEASURES)
        return E_OK; /* no such status is stored (person_check refuses it) */
    /* writes also run where the server's start-up never ran (the demo,
     * unit tests): registering again is a no-op */
    err e = person_measures_register();
    if (!e)
        e = stats_add(d, measures[status].name, region_code, STATS_NOW, delta);
    return e;
}

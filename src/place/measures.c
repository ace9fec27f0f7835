/*
 * The places' counters (stats/stats.h, docs/stats.md): "place.kind.<kind>",
 * how many live places of each kind there are now, at the place's region (a
 * level): the prevention resources among them (隔离点, 发热门诊, 定点医院,
 * 疾控机构) and every other kind alike. place.c moves them in the
 * transaction of every create, delete, and update that changes the kind or
 * the region; sql/047 filled them for the places recorded before.
 */
#include <stdatomic.h>

#include "place/internal.h"
#include "stats/stats.h"

#define MEASURE(e, k, label)                                                                       \
    [e] = {"place.kind." k, label, true,                                                           \
           "SELECT region_code, 0, COUNT(*) FROM places WHERE deleted_at = 0 AND kind = '" k       \
           "' GROUP BY region_code"}

/* Indexed by enum place_kind; names and labels are place_kind_vocab's. */
static const struct stats_measure measures[] = {
    MEASURE(PLACE_COMMUNITY, "community", "小区"),
    MEASURE(PLACE_URBAN_VILLAGE, "urban_village", "城中村"),
    MEASURE(PLACE_PARK, "park", "园区"),
    MEASURE(PLACE_PROPERTY_COMPANY, "property_company", "物业公司"),
    MEASURE(PLACE_FACTORY, "factory", "工厂/厂房"),
    MEASURE(PLACE_RENTAL_HOUSING, "rental_housing", "出租屋"),
    MEASURE(PLACE_APARTMENT, "apartment", "公寓楼"),
    MEASURE(PLACE_DORMITORY, "dormitory", "集体宿舍"),
    MEASURE(PLACE_MARKET, "market", "农贸市场"),
    MEASURE(PLACE_QUARANTINE_SITE, "quarantine_site", "隔离点"),
    MEASURE(PLACE_OFFICE, "office", "写字楼"),
    MEASURE(PLACE_SCHOOL, "school", "学校"),
    MEASURE(PLACE_HOSPITAL, "hospital", "医院"),
    MEASURE(PLACE_FEVER_CLINIC, "fever_clinic", "发热门诊"),
    MEASURE(PLACE_DESIGNATED_HOSPITAL, "designated_hospital", "定点医院"),
    MEASURE(PLACE_CDC, "cdc", "疾控机构"),
    MEASURE(PLACE_OTHER, "other", "其他场所"),
};
_Static_assert(sizeof measures / sizeof measures[0] == PLACE_KIND__COUNT,
               "a measure for every place kind");

/* set once every measure is registered, so a write registers no more */
static atomic_bool done;

err place_measures_register(void)
{
    if (atomic_load(&done))
        return E_OK;
    err e = E_OK;
    for (size_t i = PLACE_COMMUNITY; i < PLACE_KIND__COUNT && !e; i++)
        e = stats_measure_register(&measures[i]);
    if (!e)
        atomic_store(&done, true);
    return e;
}

err pl_count(db *d, enum place_kind kind, int64_t region_code, int64_t delta)
{
    /* writes also run where the server's start-up never ran (the demo) */
    err e = place_measures_register();
    if (!e && kind >= PLACE_COMMUNITY && kind < PLACE_KIND__COUNT)
        e = stats_add(d, measures[kind].name, region_code, STATS_NOW, delta);
    return e;
}

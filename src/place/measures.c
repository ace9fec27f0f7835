/*
 * The places' counters (stats/stats.h, docs/stats.md): "place.kind.<kind>",
 * how many live places of each kind there are now, at the place's region (a
 * level): the prevention resources among them (隔离点, 发热门诊, 定点医院,
 * 疾控机构) and every other kind alike. place.c moves them in the
 * transaction of every create, delete, and update that changes the kind or
 * the region; sql/047 filled them for the places recorded before.
 */
#include <stdatomic.h>
#include <string.h>

#include "base/json.h"
#include "place/internal.h"
#include "stats/stats.h"

#define MEASURE(e, k, label)                                                                       \
    [e] = {"place.kind." k, label, true,                                                           \
           "SELECT region_code, 0, COUNT(*) FROM places WHERE deleted_at = 0 AND kind = '" k       \
           "' GROUP BY region_code",                                                               \
           .list = place_stats_list}

static err place_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                            int64_t *total_r);

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
    MEASURE(PLACE_TOILET, "toilet", "公共厕所"),
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

/* The places behind a figure: the place list filtered by kind, each with
 * its name, kind, address and region (no contact: a figure's list is not
 * the place record). */
static err place_stats_list(db *d, arena *a, const struct stats_list_query *q, json_t **items_r,
                            int64_t *total_r)
{
    const char *dot = strrchr(q->measure->name, '.');
    struct place_filter f = {
        .kind = place_kind_parse(dot ? dot + 1 : ""), .page = q->page, .page_size = q->page_size};
    struct scope sc = {q->lo, q->hi};
    struct place *items;
    size_t n;
    err e = place_list(d, a, &sc, &f, &items, &n, total_r);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct place *p = &items[i];
        json_t *o = json_object();
        json_set_id(o, "id", p->id);
        json_object_set_new(o, "name", json_string(p->name));
        json_object_set_new(o, "kind", json_string(place_kind_name(p->kind)));
        json_object_set_new(o, "kind_label", json_string(place_kind_label(p->kind)));
        json_object_set_new(o, "address", json_string(p->address ? p->address : ""));
        json_set_region(o, p->region_code, p->region_name);
        json_array_append_new(arr, o);
    }
    *items_r = arr;
    return E_OK;
}

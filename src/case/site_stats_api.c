/*
 * The quarantine-site level of the multi-level figures (隔离点, issue 12;
 * docs/stats.md), permission stats.read:
 *
 *   GET /api/v1/stats/sites?region=<code>&page=&page_size=
 *       {items: [{id, name, address, region_code, region_name, rooms,
 *        capacity, occupied, free, closed, people, occupancy}], total, …}
 *
 * each live quarantine site in the region (default: the caller's scope)
 * with its rooms by state read from the family counters
 * case.site.<state>.<site id> (measures.c), never counted from the rooms.
 * Figures, not personal data: not audited.
 */
#include <stdio.h>

#include "app.h"
#include "base/json.h"
#include "base/regcode.h"
#include "place/place.h"
#include "region/region.h"
#include "stats/stats.h"

/* The quarantine-site level (隔离点): each live site in the region with its
 * rooms by state from the family counters case.site.<state>.<site>. */
static err get_sites(struct req *r)
{
    struct region g;
    int64_t page, size;
    err e = stats_region_param(r, "region", &g);
    if (e || (e = req_paging(r, &page, &size)))
        return e;
    struct place_filter f = {.kind = PLACE_QUARANTINE_SITE, .page = page, .page_size = size};
    struct scope sc = {g.code, regcode_end(g.code)};
    struct place *sites;
    size_t n;
    int64_t total;
    if ((e = place_list(r->db, r->a, &sc, &f, &sites, &n, &total)))
        return e;
    static const char *const states[] = {"free", "occupied", "closed"};
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        int64_t v[3] = {0, 0, 0};
        for (size_t k = 0; k < 3 && !e; k++) {
            char name[64];
            snprintf(name, sizeof name, "case.site.%s.%lld", states[k], (long long)sites[i].id);
            e = stats_sum(r->db, name, r->who->scope.lo, r->who->scope.hi, STATS_NOW, STATS_NOW,
                          &v[k]);
        }
        if (e) {
            json_decref(items);
            return e;
        }
        json_t *o = json_object();
        json_set_id(o, "id", sites[i].id);
        json_object_set_new(o, "name", json_string(sites[i].name));
        json_object_set_new(o, "address", json_string(sites[i].address ? sites[i].address : ""));
        json_set_region(o, sites[i].region_code, sites[i].region_name);
        json_object_set_new(o, "rooms", json_integer(v[0] + v[1] + v[2]));
        json_object_set_new(o, "capacity", json_integer(v[0] + v[1]));
        json_object_set_new(o, "occupied", json_integer(v[1]));
        json_object_set_new(o, "free", json_integer(v[0]));
        json_object_set_new(o, "closed", json_integer(v[2]));
        /* one observation per occupied room */
        json_object_set_new(o, "people", json_integer(v[1]));
        json_object_set_new(o, "occupancy",
                            v[0] + v[1] ? json_real((double)v[1] * 100.0 / (double)(v[0] + v[1]))
                                        : json_null());
        json_array_append_new(items, o);
    }
    return reply_page(r, items, total, page, size);
}

const struct route case_site_stats_routes[] = {
    {M_GET, "/api/v1/stats/sites", get_sites, PERM_STATS_READ, 0, NULL,
     "隔离点统计（房间、入住、空闲、在住人数）", "stats", 0},
};
const size_t case_site_stats_routes_n =
    sizeof case_site_stats_routes / sizeof case_site_stats_routes[0];

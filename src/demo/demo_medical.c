/*
 * Medical resources of the demo district (docs/supplies.md "Medical
 * resources"): the district's designated hospital (beds tight), a fangcang
 * hospital (beds ample) and a fever clinic in each of the first streets
 * (the first one full), each a place of the registry registered as an
 * institution and reported once, so the one-map's medical layer shows all
 * three colours and the transfer dialog has proposals. Everything goes
 * through the capabilities (place/place.h, medical/medical.h).
 */
#include <stdio.h>

#include "base/arena.h"
#include "base/regcode.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "medical/medical.h"
#include "place/place.h"

/* One institution: its place (positioned inside region), registration and
 * first report. */
static err institution(db *d, arena *a, struct rng *r, int64_t region, const char *name,
                       enum place_kind pkind, const char *kind, const struct medical_figures *f,
                       int64_t user)
{
    struct scope all = scope_all();
    double lng = 113.93, lat = 22.54;
    demo_geo_point(region, r, &lng, &lat);
    struct place_input in = {
        .set = PL_NAME | PL_KIND | PL_REGION | PL_POSITION,
        .name = name,
        .kind = pkind,
        .region_code = region,
        .has_position = true,
        .lng = lng,
        .lat = lat,
    };
    int64_t id, report;
    err e = place_create(d, a, &all, &in, &id);
    if (!e)
        e = medical_institution_add(d, &all, id, kind, user);
    if (!e)
        e = medical_report(d, &all, id, f, user, &report);
    return e;
}

err demo_medical(db *d, const struct demo_world *w, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed ^ 0x6d65646963616cull);
    enum region_level lv;
    int64_t district = regcode_parse(DEMO_DISTRICT, &lv);
    /* a private arena: demo steps get none from their caller (demo_video's way) */
    arena *a = arena_new(4096);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = db_begin(d);
    const struct medical_figures hospital = {500, 440, 40, 6, 8000, "日常填报"};
    const struct medical_figures fangcang = {1200, 310, 0, 0, 0, "日常填报"};
    if (!e)
        e = institution(d, a, &r, district, "南山区人民医院", PLACE_DESIGNATED_HOSPITAL,
                        "designated_hospital", &hospital, w->command_user);
    if (!e)
        e = institution(d, a, &r, district, "南山区方舱医院", PLACE_OTHER, "fangcang", &fangcang,
                        w->command_user);
    long n = w->nstreets < 3 ? w->nstreets : 3;
    for (long s = 0; s < n && !e; s++) {
        char name[96];
        snprintf(name, sizeof name, "%s发热门诊", demo_streets[s % 8]);
        /* the first street's clinic is full: the red marker and the workbench count */
        struct medical_figures clinic = {20, s == 0 ? 20 : 6 + s, 0, 0, 1500, "日常填报"};
        e = institution(d, a, &r, w->streets[s], name, PLACE_FEVER_CLINIC, "fever_clinic", &clinic,
                        w->command_user);
    }
    arena_free(&a);
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

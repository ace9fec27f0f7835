/*
 * Cameras of the demo district's video network (issue 12, docs/video.md):
 * one watching each testing site, quarantine site, market and community
 * health centre, a few on public toilets and street corners of every
 * street, each a few metres from what it watches and inside its region, so
 * the big screen's camera layer and the near look-ups have something to
 * show. Stream addresses are on the video network's own (unreachable)
 * host: their state stays "unknown" until someone checks them.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "video/video.h"

static err add_camera(db *d, arena *a, struct rng *r, const char *name, int64_t region, double lng,
                      double lat, enum camera_object obj, int64_t obj_id, const char *obj_name,
                      long n)
{
    char code[32], url[128], full[160];
    snprintf(code, sizeof code, "4403050%06ld", n);
    snprintf(url, sizeof url, "http://video.nanshan.demo/live/%s/index.m3u8", code);
    snprintf(full, sizeof full, "%s", name);
    struct camera_input in = {
        .set = CF_NAME | CF_CODE | CF_KIND | CF_REGION | CF_LNG | CF_LAT | CF_URL | CF_OBJECT_KIND |
               CF_OBJECT_NAME | (obj_id ? CF_OBJECT_ID : 0),
        .name = full,
        .code = code,
        .kind = (enum camera_kind)(1 + rng_below(r, 3)),
        .region_code = region,
        /* some 10-20 m from what it watches */
        .lng = lng + ((double)rng_below(r, 301) - 150) * 1e-6,
        .lat = lat + ((double)rng_below(r, 301) - 150) * 1e-6,
        .stream_url = url,
        .object_kind = obj,
        .object_id = obj_id,
        .object_name = obj_name,
    };
    struct scope all = scope_all();
    int64_t id;
    return camera_create(d, a, &all, &in, &id);
}

err demo_video(db *d, const struct demo_world *w, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed ^ 0x766964656full);
    /* the command's own: `fangkong demo` has no request */
    arena *a = arena_new(1 << 14);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    long n = 0;
    err e = db_begin(d);
    db_stmt *s = NULL;
    /* the testing sites, then the places that have a camera at the door */
    if (!e)
        e = db_prepare(d,
                       "SELECT 1, id, name, region_code, lng, lat FROM nat_sites"
                       " WHERE deleted_at = 0 AND lng IS NOT NULL"
                       " UNION ALL SELECT 2, id, name, region_code, lng, lat FROM places"
                       " WHERE deleted_at = 0 AND lng IS NOT NULL AND kind IN (?, ?, ?)"
                       " ORDER BY 1, 2",
                       &s);
    struct found {
        int what;
        int64_t id, region;
        char name[128];
        double lng, lat;
    } f[256];
    size_t nf = 0;
    if (!e) {
        db_bind_text(s, 1, "quarantine_site");
        db_bind_text(s, 2, "market");
        db_bind_text(s, 3, "hospital");
        bool row;
        while (!(e = db_row(s, &row)) && row && nf < sizeof f / sizeof f[0]) {
            struct found *x = &f[nf++];
            x->what = (int)db_col_int64(s, 0);
            x->id = db_col_int64(s, 1);
            snprintf(x->name, sizeof x->name, "%s", db_col_text(s, 2));
            x->region = db_col_int64(s, 3);
            x->lng = db_col_double(s, 4);
            x->lat = db_col_double(s, 5);
        }
        db_done(s);
    }
    for (size_t i = 0; i < nf && !e; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", f[i].name, f[i].what == 1 ? "监控" : "出入口监控");
        e = add_camera(d, a, &r, name, f[i].region, f[i].lng, f[i].lat,
                       f[i].what == 1 ? CAMERA_OBJ_NAT_SITE : CAMERA_OBJ_PLACE, f[i].id, f[i].name,
                       ++n);
        arena_reset(a);
    }
    /* a public toilet and a street corner in every street */
    for (long k = 0; k < w->nstreets && !e; k++) {
        static const char *const what[] = {"公共厕所", "路口"};
        for (int j = 0; j < 2 && !e; j++) {
            /* in one of the street's communities */
            int64_t region =
                w->communities[k * (w->ncomm / w->nstreets) +
                               (long)rng_below(&r, (uint32_t)(w->ncomm / w->nstreets))];
            double lng = 113.93, lat = 22.54;
            demo_geo_point(region, &r, &lng, &lat);
            char name[96];
            snprintf(name, sizeof name, "%s%ld号%s", demo_streets[k % 8], k * 2 + j + 1, what[j]);
            e = add_camera(d, a, &r, name, region, lng, lat,
                           j ? CAMERA_OBJ_OTHER : CAMERA_OBJ_TOILET, 0, what[j], ++n);
            arena_reset(a);
        }
    }
    if (e)
        db_rollback(d);
    else
        e = db_commit(d);
    arena_free(&a);
    return e;
}

/*
 * Nucleic-acid testing in the demo district (issue 10, docs/nat.md): a few
 * testing sites of every kind in the first streets, the demo site worker
 * clocked in at the first (the others show 无人值守 in their hours), queues
 * reported, and one running plan over the district: residents' targets
 * derived from the registry for every street, 交通运输 derived from the
 * enterprises' employees, 教育 entered; actual figures counted as the
 * sampling part will count them (nat_plan_count) and one street's
 * correction with its reason. All through the capability's functions.
 */
#include <stdio.h>

#include "base/id.h"
#include "base/regcode.h"
#include "demo/demo.h"
#include "demo/rng.h"
#include "nat/nat.h"

/* Nanshan district: positions of the sites, near its streets' centres */
static const struct {
    const char *name, *hours;
    enum nat_site_kind kind;
    double lng, lat;
    int64_t capacity;
} sites[] = {
    {"南头街道核酸采样点（固定）", "07:00-12:00,13:00-22:00", NAT_SITE_FIXED, 113.9190, 22.5446,
     400},
    {"南头街道社区核酸点", "08:00-12:00,14:00-18:00", NAT_SITE_COMMUNITY, 113.9235, 22.5412, 150},
    {"南山街道临时采样点", "", NAT_SITE_TEMPORARY, 113.9304, 22.5195, 300},
    {"南山街道流动采样车", "09:00-17:00", NAT_SITE_MOBILE, 113.9361, 22.5168, 80},
    {"沙河街道核酸采样点", "07:00-21:00", NAT_SITE_FIXED, 113.9745, 22.5397, 350},
};

#define NSITES  (sizeof sites / sizeof sites[0])
#define HOUR_MS 3600000LL

err demo_nat(db *d, const struct demo_world *w, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed ^ 0x6e61747369746573ull);
    struct scope all = scope_all();
    /* the command's own: `fangkong demo` has no request */
    arena *a = arena_new(1 << 14);
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    int64_t ids[NSITES] = {0};
    err e = E_OK;
    for (size_t i = 0; i < NSITES && !e; i++) {
        /* two sites a street, each in a community of it */
        long street = (long)(i / 2) % w->nstreets;
        long per = w->ncomm / w->nstreets; /* communities of a street, in street order */
        int64_t region = w->communities[street * per + (long)(i % 2) % per];
        char address[128];
        snprintf(address, sizeof address, "广东省深圳市南山区%s旁", sites[i].name);
        struct nat_site_input in = {
            .set = NSF_NAME | NSF_KIND | NSF_REGION | NSF_ADDRESS | NSF_LNG | NSF_LAT | NSF_HOURS |
                   NSF_CAPACITY,
            .name = sites[i].name,
            .kind = sites[i].kind,
            .region_code = region,
            .address = address,
            .lng = sites[i].lng,
            .lat = sites[i].lat,
            .hours = sites[i].hours,
            .capacity = sites[i].capacity,
        };
        e = nat_site_create(d, a, &all, &in, &ids[i]);
        if (!e && i < 3)
            e = nat_site_queue(d, &all, ids[i], 5 + rng_below(&r, 60), w->site_user);
        arena_reset(a);
    }
    int64_t clock;
    if (!e) /* the demo site worker is on duty at the first site, 30 m off */
        e = nat_clock_in(d, &all, ids[0], w->site_user, sites[0].lng + 0.0003, sites[0].lat,
                         &clock);

    /* the running plan */
    int64_t plan = 0, now = now_ms();
    struct nat_plan_input pin = {.number = "NS-2026-R1",
                                 .name = "南山区第一轮区域核酸检测",
                                 .starts_at = now - 6 * HOUR_MS,
                                 .ends_at = now + 18 * HOUR_MS};
    if (!e)
        e = nat_plan_create(d, regcode_parse(DEMO_DISTRICT, NULL), w->command_user, &pin, &plan);
    const int64_t transport = 8, education = 1; /* the seeded industries (sql/024) */
    long n = w->nstreets;
    struct nat_target *t = arena_alloc(a, sizeof *t * (size_t)n * 3);
    for (long s = 0; s < n; s++) {
        t[s] = (struct nat_target){.region_code = w->streets[s]};
        t[n + s] = (struct nat_target){.region_code = w->streets[s], .industry_id = transport};
    }
    if (!e)
        e = nat_plan_set_targets(d, &all, plan, t, (size_t)(2 * n), true);
    for (long s = 0; s < n; s++)
        t[s] = (struct nat_target){.region_code = w->streets[s],
                                   .industry_id = education,
                                   .planned = 200 + rng_below(&r, 300)};
    if (!e)
        e = nat_plan_set_targets(d, &all, plan, t, (size_t)n, false);
    /* counted as samples would count them: 60-98 % of each figure */
    struct nat_figure *f;
    size_t nf = 0;
    if (!e)
        e = nat_plan_figures(d, a, &all, plan, &f, &nf);
    for (size_t i = 0; i < nf && !e; i++)
        e = nat_plan_count(d, plan, f[i].region_code, f[i].industry_id,
                           f[i].planned * (60 + rng_below(&r, 39)) / 100);
    if (!e && nf) /* the first street stands by its own figure */
        e = nat_plan_correct(d, &all, plan, w->streets[0], 0, f[0].planned * 97 / 100,
                             "外区检测人员已核实补录", w->street_user, NULL);
    arena_free(&a);
    return e;
}

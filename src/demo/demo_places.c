/*
 * Places and enterprises of the demo district: a residential compound and
 * rental housing in every community; a market, a factory, a quarantine
 * site and a community health centre in every street; enterprises with valid unified social credit
 * codes, each linked to an office place.
 */
#include "demo/demo.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/validate.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "place/place.h"

static err add_place(db *d, arena *a, const char *name, enum place_kind kind, int64_t region,
                     const char *address, struct rng *r, int64_t enterprise, int64_t *id_r)
{
    char contact[16], phone[12];
    snprintf(contact, sizeof contact, "%s%s", demo_surnames[rng_below(r, DEMO_N(demo_surnames))],
             demo_given[rng_below(r, DEMO_N(demo_given))]);
    snprintf(phone, sizeof phone, "13%09u", (unsigned)rng_below(r, 1000000000u));
    struct scope all = scope_all();
    double lng = 113.93, lat = 22.54;
    demo_geo_point(region, r, &lng, &lat); /* inside its region on the map */
    struct place_input in = {
        .set = PL_NAME | PL_KIND | PL_REGION | PL_ADDRESS | PL_AREA | PL_HOUSEHOLDS | PL_BUILDINGS |
               PL_CONTACT_NAME | PL_CONTACT_PHONE | PL_POSITION | (enterprise ? PL_ENTERPRISE : 0),
        .name = name,
        .kind = kind,
        .region_code = region,
        .address = address,
        .area = 2000.0 + rng_below(r, 80000),
        .households = kind == PLACE_COMMUNITY ? 200 + rng_below(r, 1500) : 0,
        .buildings = kind == PLACE_COMMUNITY ? 4 + rng_below(r, 20) : 1,
        .contact_name = contact,
        .contact_phone = phone,
        .has_position = true,
        .lng = lng,
        .lat = lat,
        .enterprise_id = enterprise,
    };
    int64_t id;
    return place_create(d, a, &all, &in, id_r ? id_r : &id);
}

err demo_places(db *d, uint64_t seed, long persons, const int64_t *communities, long ncomm,
                const int64_t *streets, long nstreets, int64_t *community_places_r,
                int64_t *market_places_r)
{
    struct rng r;
    rng_seed(&r, seed ^ 0x706c61636573ull);
    /* the command's own: `fangkong demo` has no request */
    arena *a = arena_new(1 << 16);
    err e = db_begin(d);
    char name[96], address[128];
    for (long i = 0; i < ncomm && !e; i++) {
        snprintf(name, sizeof name, "%s花园%ld期",
                 demo_community_words[i % DEMO_N(demo_community_words)],
                 i / (long)DEMO_N(demo_community_words) + 1);
        snprintf(address, sizeof address, "深圳市南山区%s%ld号",
                 demo_streets[(communities[i] / 1000000000LL % 1000 - 1) % 8], 10 + i);
        e = add_place(d, a, name, PLACE_COMMUNITY, communities[i], address, &r, 0,
                      &community_places_r[i]);
        if (!e) {
            snprintf(name, sizeof name, "%s出租屋%ld号",
                     demo_community_words[i % DEMO_N(demo_community_words)], i + 1);
            e = add_place(d, a, name, PLACE_RENTAL_HOUSING, communities[i], address, &r, 0, NULL);
        }
        arena_reset(a);
    }
    for (long s = 0; s < nstreets && !e; s++) {
        static const struct {
            const char *suffix;
            enum place_kind kind;
        } kinds[] = {{"农贸市场", PLACE_MARKET},
                     {"工业园厂房", PLACE_FACTORY},
                     {"集中隔离点", PLACE_QUARANTINE_SITE},
                     /* the CDC resources layer of the big screen */
                     {"社区健康服务中心", PLACE_HOSPITAL}};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !e; k++) {
            snprintf(name, sizeof name, "%s%s", demo_streets[s % 8], kinds[k].suffix);
            snprintf(address, sizeof address, "深圳市南山区%s%zu号", demo_streets[s % 8], 100 + k);
            e = add_place(d, a, name, kinds[k].kind, streets[s], address, &r, 0,
                          kinds[k].kind == PLACE_MARKET ? &market_places_r[s] : NULL);
        }
        arena_reset(a);
    }
    long nent = persons / 500;
    nent = nent < 8 ? 8 : nent > 2000 ? 2000 : nent;
    for (long i = 0; i < nent && !e; i++) {
        /* 91 (enterprise, company) + 440305 (registration district) + 9
         * organisation characters + check */
        char code[19];
        snprintf(code, sizeof code, "91440305MA5%06ld", i);
        code[17] = credit_code_check_char(code);
        code[18] = '\0';
        snprintf(name, sizeof name, "深圳市%s%s有限公司",
                 demo_community_words[i % DEMO_N(demo_community_words)],
                 (const char *[]){"科技", "贸易", "物流", "医药", "餐饮", "建设", "电子",
                                  "文化"}[(i / 20) % 8]);
        char contact[16], rep[16], p1[12], p2[12];
        snprintf(contact, sizeof contact, "%s%s",
                 demo_surnames[rng_below(&r, DEMO_N(demo_surnames))],
                 demo_given[rng_below(&r, DEMO_N(demo_given))]);
        snprintf(rep, sizeof rep, "%s%s%s", demo_surnames[rng_below(&r, DEMO_N(demo_surnames))],
                 demo_given[rng_below(&r, DEMO_N(demo_given))],
                 demo_given[rng_below(&r, DEMO_N(demo_given))]);
        snprintf(p1, sizeof p1, "139%08u", (unsigned)rng_below(&r, 100000000u));
        snprintf(p2, sizeof p2, "186%08u", (unsigned)rng_below(&r, 100000000u));
        int64_t region = communities[i % ncomm];
        snprintf(address, sizeof address, "深圳市南山区%s%ld号",
                 demo_streets[(region / 1000000000LL % 1000 - 1) % 8], 200 + i);
        struct scope all = scope_all();
        struct enterprise_input in = {
            .set = EF_NAME | EF_CREDIT_CODE | EF_REGION | EF_CONTACT_NAME | EF_CONTACT_PHONE |
                   EF_LEGAL_REP | EF_LEGAL_REP_PHONE | EF_EMPLOYEES | EF_ADDRESS | EF_INDUSTRY,
            .name = name,
            .credit_code = code,
            .region_code = region,
            .contact_name = contact,
            .contact_phone = p1,
            .legal_rep = rep,
            .legal_rep_phone = p2,
            .employees = 5 + rng_below(&r, 800),
            .address = address,
            .industry = (const char *[]){"信息技术", "批发零售", "交通运输", "医药卫生", "住宿餐饮",
                                         "建筑业", "制造业", "文化娱乐"}[(i / 20) % 8],
        };
        int64_t eid;
        e = enterprise_create(d, a, &all, &in, &eid);
        if (!e) {
            snprintf(name + strlen(name), sizeof name - strlen(name), "办公场所");
            e = add_place(d, a, name, PLACE_OFFICE, region, address, &r, eid, NULL);
        }
        arena_reset(a);
    }
    if (e)
        db_rollback(d);
    else
        e = db_commit(d);
    arena_free(&a);
    return e;
}

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
#include <math.h>
#include <stdio.h>

#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "demo/rng.h"
#include "nat/nat.h"
#include "person/person.h"

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

#define NSITES (sizeof sites / sizeof sites[0])

/* Where demo_nat put each site: inside its community (demo_geo_point),
 * the table's position when the community has no polygon. */
static struct {
    double lng, lat;
} site_pos[NSITES];
#define HOUR_MS 3600000LL

/* ---- the round's tubes, boxes and results ---------------------------------------------- */

#define MIN_MS    60000LL
#define PER_SITE  100 /* people sampled at each of the first three sites */
#define MIN_ROUND 20  /* fewer in one of their communities: no round (two pools and retests) */
#define RETESTS   10  /* the positive pool's people */
#define MAX_TUBES (PER_SITE + RETESTS)

/* The process's clock at `at` (the real time R minus something). */
static void clock_to(int64_t at)
{
    clock_shift(0);
    clock_shift(at - now_ms());
}

struct flow {
    db *d;
    arena *a;
    struct scope all;
    struct principal lab;
    const struct demo_world *w;
    int64_t plan;
};

/* Up to `want` live people residing in community `comm` (past its first
 * few, whom demo_activity and the demo resident use), by id. */
static err people_of(db *d, int64_t comm, long want, int64_t *ids, long *n_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM persons WHERE region_code >= ? AND region_code < ? AND "
                       "deleted_at = 0 AND status = 'normal' ORDER BY id LIMIT ? OFFSET 3",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, comm);
    db_bind_int64(s, 2, comm + 1000000LL);
    db_bind_int64(s, 3, want);
    long n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    *n_r = n;
    return e;
}

/* The site worker samples `people` at `site` from `t` on, 10 s apart, into
 * tubes of `kind` named prefix-site-number (the last one closed by hand),
 * packs them into box `box` and seals it. tubes[] gets the barcodes. */
static err sample_site(struct flow *f, int64_t site, double lng, double lat, int64_t t,
                       const int64_t *people, long n, enum nat_tube_kind kind, const char *prefix,
                       const char *box, char tubes[][24], long *ntubes_r)
{
    int64_t staff = f->w->site_user, clock;
    clock_to(t);
    err e = nat_clock_in(f->d, &f->all, site, staff, lng, lat, &clock);
    long nt = 0;
    bool open = false;
    for (long i = 0; i < n && !e; i++) {
        clock_to(t += 10000);
        if (!open) {
            snprintf(tubes[nt], 24, "%s%04ld", prefix, nt + 1);
            nt++;
        }
        struct nat_sample_input in = {.person_id = people[i],
                                      .method = NAT_BY_ID_NUMBER,
                                      .barcode = tubes[nt - 1],
                                      .kind = kind,
                                      .plan_id = f->plan,
                                      .staff_id = staff};
        struct nat_sample_result r;
        if (!(e = db_begin(f->d)))
            e = nat_sample_take(f->d, f->a, &in, &r);
        e = e ? (db_rollback(f->d), e) : db_commit(f->d);
        open = !e && !r.closed;
        arena_reset(f->a);
    }
    clock_to(t += 60000);
    if (!e && open) /* the last tube is sealed short of full */
        e = nat_tube_close(f->d, f->a, &f->all, tubes[nt - 1], staff, NULL);
    if (!e)
        e = nat_clock_out(f->d, staff, lng, lat, &clock);
    int64_t box_id;
    clock_to(t += 5 * MIN_MS);
    if (!e)
        e = nat_box_create(f->d, f->a, &f->all, box, site, staff, &box_id);
    for (long i = 0; i < nt && !e; i++)
        e = nat_box_pack(f->d, f->a, &f->all, box, tubes[i]);
    if (!e)
        e = nat_box_seal(f->d, f->a, &f->all, box, staff);
    arena_reset(f->a);
    *ntubes_r = nt;
    return e;
}

/* Box `box` handed to the courier (to_state in_transit) or signed for by
 * the laboratory (received) at `at`. */
static err hand_over(struct flow *f, const char *box, enum nat_box_state to, int64_t at)
{
    clock_to(at);
    int64_t who = to == NAT_BOX_IN_TRANSIT ? f->w->courier_user : f->w->lab_user;
    struct nat_handover_input in = {
        .to_state = to, .to_id = who, .lng = NAN, .lat = NAN, .recorded_by = who};
    int64_t id;
    err e = nat_box_handover(f->d, f->a, &f->all, box, &in, &id);
    arena_reset(f->a);
    return e;
}

/* The laboratory's results for tubes[0..n) from `at`, a minute apart:
 * negative except tube `positive` (-1 none). */
static err results(struct flow *f, const char *institution, char tubes[][24], long n, long positive,
                   int64_t at)
{
    err e = E_OK;
    for (long i = 0; i < n && !e; i++) {
        clock_to(at + i * MIN_MS);
        struct nat_result_input in = {.barcode = tubes[i],
                                      .result = i == positive ? NAT_RESULT_POSITIVE
                                                              : NAT_RESULT_NEGATIVE};
        struct nat_result_outcome o;
        e = nat_result_record(f->d, f->a, &f->lab, institution, &in, &o);
        arena_reset(f->a);
    }
    return e;
}

/*
 * The round so far, relative to the real time R: the first three sites
 * sample their communities 5.5 hours ago (pooled 10:1, single, pooled 5:1),
 * their boxes go to the courier an hour later; the laboratory signs for the
 * first and third and reports them negative but one pool of the first site; its
 * ten people are sampled again in single tubes two hours ago and one of
 * them is positive (a case report, a red code). The second box is still on
 * the road past the transit limit: the sweep raises the overdue alert.
 */
static err round_flow(struct flow *f, const int64_t *site_ids, int64_t R)
{
    static const enum nat_tube_kind kinds[3] = {NAT_TUBE_POOL10, NAT_TUBE_SINGLE, NAT_TUBE_POOL5};
    static const char *const boxes[3] = {"DMBOX0001", "DMBOX0002", "DMBOX0003"};
    static char tubes[3][MAX_TUBES][24];
    long ntubes[3] = {0};
    int64_t people[3][PER_SITE];
    long npeople[3];
    err e = E_OK;
    for (int k = 0; k < 3 && !e; k++) {
        long street = k / 2 % f->w->nstreets, per = f->w->ncomm / f->w->nstreets;
        e = people_of(f->d, f->w->communities[street * per + k % 2 % per], PER_SITE, people[k],
                      &npeople[k]);
        /* a city too small for the round (a bench's ten people): no round,
         * rather than boxes with nothing to seal */
        if (!e && npeople[k] < MIN_ROUND)
            return E_OK;
    }
    for (int k = 0; k < 3 && !e; k++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "DM%d", k + 1);
        e = sample_site(f, site_ids[k], site_pos[k].lng, site_pos[k].lat,
                        R - 330 * MIN_MS + k * 25 * MIN_MS, people[k], npeople[k], kinds[k], prefix,
                        boxes[k], tubes[k], &ntubes[k]);
    }
    for (int k = 0; k < 3 && !e; k++)
        e = hand_over(f, boxes[k], NAT_BOX_IN_TRANSIT, R - 250 * MIN_MS + k * MIN_MS);
    for (int k = 0; k < 3 && !e; k += 2) /* the second stays on the road (the courier's street) */
        e = hand_over(f, boxes[k], NAT_BOX_RECEIVED, R - 210 * MIN_MS + k * MIN_MS);
    const char *inst = "";
    if (!e)
        e = nat_lab_institution(f->d, f->a, f->w->lab_user, &inst);
    char institution[128];
    snprintf(institution, sizeof institution, "%s", inst);
    /* the second pool of the first site is positive */
    long pos = ntubes[0] > 1 ? 1 : 0;
    if (!e)
        e = results(f, institution, tubes[0], ntubes[0], pos, R - 180 * MIN_MS);
    if (!e)
        e = results(f, institution, tubes[2], ntubes[2], -1, R - 150 * MIN_MS);
    /* its people again, one single tube each */
    long from = pos * nat_tube_size(NAT_TUBE_POOL10), n = npeople[0] - from;
    if (n > RETESTS)
        n = RETESTS;
    char retubes[RETESTS][24];
    long nre = 0;
    if (!e)
        e = sample_site(f, site_ids[0], site_pos[0].lng, site_pos[0].lat, R - 120 * MIN_MS,
                        people[0] + from, n, NAT_TUBE_SINGLE, "DMR", "DMBOX0004", retubes, &nre);
    if (!e)
        e = hand_over(f, "DMBOX0004", NAT_BOX_IN_TRANSIT, R - 100 * MIN_MS);
    if (!e)
        e = hand_over(f, "DMBOX0004", NAT_BOX_RECEIVED, R - 80 * MIN_MS);
    if (!e) /* the fourth of them is positive */
        e = results(f, institution, retubes, nre, nre > 3 ? 3 : 0, R - 60 * MIN_MS);
    clock_shift(0);
    int64_t overdue;
    if (!e)
        e = nat_sweep_transit(f->d, now_ms(), &overdue);
    return e;
}

/* ---- a batch look-up (批量查询) -------------------------------------------------------- */

/* The command centre looks up the first site's people of the round (and
 * one malformed line) as an uploaded CSV; with no worker the run is done
 * here, its workbooks under the data directory. */
static err lookup_batch(db *d, arena *a, const struct demo_world *w, int64_t site, int64_t plan)
{
    struct principal who = {.user_id = w->command_user,
                            .region_code = regcode_parse(DEMO_DISTRICT, NULL),
                            .scope = scope_all()};
    snprintf(who.username, sizeof who.username, "command");
    snprintf(who.roles, sizeof who.roles, "command_center");
    struct nat_sample_filter sf = {
        .site_id = site, .plan_id = plan, .duplicate = 0, .page = 1, .page_size = 200};
    struct nat_sample *items;
    size_t n = 0;
    int64_t total;
    err e = nat_sample_list(d, a, &who.scope, &sf, &items, &n, &total);
    size_t cap = 32 + n * 20, len = 0;
    char *csv = e ? NULL : arena_alloc(a, cap);
    if (!e) {
        len += (size_t)snprintf(csv, cap, "身份证号\n");
        for (size_t i = 0; i < n && !e; i++) {
            struct person p;
            if (!(e = person_find(d, a, &who.scope, items[i].person_id, &p)))
                len += (size_t)snprintf(csv + len, cap - len, "%s\n", p.id_number);
        }
        len += (size_t)snprintf(csv + len, cap - len, "44030519900101\n");
    }
    int64_t id;
    if (!e)
        e = nat_lookup_probe(csv, len, false);
    if (!e)
        e = nat_batch_create(d, &who, "南头街道采样名单.csv", false, false, csv, len, &id);
    if (!e)
        e = nat_batch_submit(d, id, &who, NULL);
    return e;
}

/* ---- the city's site list (东软匹配) --------------------------------------------------- */

/* The city's names for the district's sites: some clearly one site (auto),
 * some between two (to review), one the district does not have. The
 * city's positions are its own survey's: some metres from where the
 * district put each site (site_pos). */
static err city_list(db *d, arena *a)
{
    char csv[2048];
    const double mid_lng = (site_pos[0].lng + site_pos[1].lng) / 2,
                 mid_lat = (site_pos[0].lat + site_pos[1].lat) / 2;
    int n = snprintf(
        csv, sizeof csv,
        "点位编码*,点位名称*,所属区/街道,地址,经度,纬度\n"
        "SZ-NS-0001,南头街道核酸采样点（固定点）,南山区南头街道,深圳市南山区南头街道,%.4f,%.4f\n"
        "SZ-NS-0002,沙河街道核酸检测点,南山区沙河街道,深圳市南山区沙河街道,%.4f,%.4f\n"
        "SZ-NS-0003,南山街道流动采样车,南山区南山街道,,%.4f,%.4f\n"
        "SZ-NS-0004,南山街道临时核酸点,南山区南山街道,,%.4f,%.4f\n"
        "SZ-NS-0005,南头街道核酸点,南山区南头街道,,,\n"
        "SZ-NS-0006,南头社区采样点,南山区南头街道,,%.4f,%.4f\n"
        "SZ-NS-0007,蛇口港核酸采样点,南山区招商街道,深圳市南山区蛇口港,113.9150,22.4790\n",
        site_pos[0].lng + 0.0001, site_pos[0].lat + 0.0001, site_pos[4].lng + 0.0001,
        site_pos[4].lat + 0.0001, site_pos[3].lng + 0.0001, site_pos[3].lat + 0.0001,
        site_pos[2].lng + 0.0001, site_pos[2].lat + 0.0001, mid_lng, mid_lat);
    if (n < 0 || (size_t)n >= sizeof csv)
        return err_set(E_INTERNAL, NULL, NULL, "演示点位清单过长");
    json_t *result = NULL;
    err e = db_begin(d);
    if (!e)
        e = nat_city_import(d, a, csv, (size_t)n, &result);
    e = e ? (db_rollback(d), e) : db_commit(d);
    json_decref(result);
    return e;
}

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
    int64_t R = now_ms(); /* the real time: the round started hours before */
    clock_to(R - 7 * HOUR_MS);
    err e = E_OK;
    for (size_t i = 0; i < NSITES && !e; i++) {
        /* two sites a street, each in a community of it */
        long street = (long)(i / 2) % w->nstreets;
        long per = w->ncomm / w->nstreets; /* communities of a street, in street order */
        int64_t region = w->communities[street * per + (long)(i % 2) % per];
        char address[128];
        snprintf(address, sizeof address, "广东省深圳市南山区%s旁", sites[i].name);
        /* inside its community on the map (docs/map.md "Demo geography") */
        site_pos[i].lng = sites[i].lng;
        site_pos[i].lat = sites[i].lat;
        demo_geo_point(region, &r, &site_pos[i].lng, &site_pos[i].lat);
        struct nat_site_input in = {
            .set = NSF_NAME | NSF_KIND | NSF_REGION | NSF_ADDRESS | NSF_LNG | NSF_LAT | NSF_HOURS |
                   NSF_CAPACITY,
            .name = sites[i].name,
            .kind = sites[i].kind,
            .region_code = region,
            .address = address,
            .lng = site_pos[i].lng,
            .lat = site_pos[i].lat,
            .hours = sites[i].hours,
            .capacity = sites[i].capacity,
        };
        e = nat_site_create(d, a, &all, &in, &ids[i]);
        arena_reset(a);
    }

    /* the running plan */
    int64_t plan = 0, now = R;
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
    /* the command's own, reset after every step of the round */
    arena *fa = e ? NULL : arena_new(1 << 16);
    if (!e && !fa)
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    struct flow fl = {.d = d,
                      .a = fa,
                      .all = all,
                      .lab = {.user_id = w->lab_user, .scope = all},
                      .w = w,
                      .plan = plan};
    if (!e)
        e = round_flow(&fl, ids, R);
    arena_free(&fa);
    clock_shift(0); /* now: queues reported, the worker back on duty */
    for (size_t i = 0; i < 3 && !e; i++)
        e = nat_site_queue(d, &all, ids[i], 5 + rng_below(&r, 60), w->site_user);
    if (!e)
        e = city_list(d, a);
    arena_reset(a);
    if (!e)
        e = lookup_batch(d, a, w, ids[0], plan);
    int64_t clock;
    if (!e) /* the demo site worker is on duty at the first site, 30 m off */
        e = nat_clock_in(d, &all, ids[0], w->site_user, site_pos[0].lng + 0.0003, site_pos[0].lat,
                         &clock);
    arena_free(&a);
    return e;
}

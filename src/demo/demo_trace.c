/*
 * Tracing in the demo district (issue 11, demo_trace.c): what the 流调溯源
 * pages show on a fresh demo, all through the capabilities' own functions
 * after the case week (demo_case.c) has made its cases (suspected, confirmed,
 * cured; the confirmed ones drive the automatic warning):
 *
 *   - every case had lunch at one restaurant (the cluster's
 *     venue) in its tracing window, with co-visitors: two staying long
 *     enough to be close contacts, two passing briefly (general); the
 *     first close contact went on to a supermarket where one more person
 *     stayed beside them (a secondary contact at degree 2). The scans are
 *     written as demo_activity writes them, on the process's clock set to
 *     their time, so the automatic warning (warn.c) finds them when the
 *     server starts;
 *   - an investigation (流调记录) of each case: onset, symptoms, the
 *     restaurant matched to its venue, a named registered contact and an
 *     unregistered one;
 *   - the case links (the first case the source of the others) and one
 *     cluster (聚集性疫情) of the cases sharing the restaurant;
 *   - trips of people on the observation list: three back from Beijing on
 *     the same train and day with neighbouring seats, one by flight, one
 *     by car with waypoints.
 *
 * The tracing window is trace_plan's own (the investigation's onset less
 * the rules' lookback days, to the first observation), so every visit lies
 * inside it. Deterministic from the seed; the cost is a few dozen rows per
 * case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/arena.h"
#include "base/id.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "health/health.h"
#include "person/person.h"
#include "security/mask.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"

#define HOUR_MS    3600000LL
#define MIN_MS     60000LL
#define CASES_MAX  16  /* cases given a tracing story, the confirmed ones first */
#define CASES_READ 512 /* cases considered */
#define COVISITORS 5   /* per case: two close, two general, one secondary */
#define TRIPS      6

struct tctx {
    db *d;
    arena *a;
    struct rng r;
    const struct demo_world *w;
    struct scope all;
    int64_t restaurant, supermarket;
    int64_t restaurant_region, supermarket_region;
    const char *restaurant_name, *supermarket_name;
};

struct tcase {
    int64_t person, region, suspected_at, confirmed_at; /* confirmed_at 0: not (yet) */
    int32_t onset_on;
    bool traceable;   /* a case now (a cured one is no longer traced) */
    int64_t visit_at; /* the lunch at the restaurant */
    int64_t people[COVISITORS];
    int n_people;
};

/* Set the process's clock to `at` (never past the real now). */
static void clock_to(int64_t at)
{
    clock_shift(0);
    int64_t real = now_ms();
    clock_shift(at < real ? at - real : 0);
}

static err tx_end(db *d, err e)
{
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static err venue_at(struct tctx *c, const char *name, enum venue_kind kind, int64_t place,
                    int64_t *id_r, int64_t *region_r)
{
    struct venue_input in = {.set = VF_NAME | VF_KIND | VF_PLACE | VF_COLORS,
                             .name = name,
                             .kind = kind,
                             .place_id = place,
                             .allowed_colors = VENUE_COLORS_ALL};
    struct venue v;
    err e = venue_create(c->d, c->a, &c->all, &in, id_r);
    if (!e)
        e = venue_find(c->d, c->a, &c->all, *id_r, &v);
    if (!e)
        *region_r = v.region_code;
    return e;
}

static void scan_done(const struct access_scan *s, err e, void *ctx)
{
    (void)s;
    *(err *)ctx = e;
}

/* A passage of `pid` at a venue at `at`, written as the checkpoint's scan
 * on the clock set to that time. */
static err pass(struct tctx *c, int64_t venue, int64_t region, const char *venue_name, int64_t pid,
                enum access_dir dir, int64_t at)
{
    struct person p;
    err e = person_find_brief(c->d, c->a, &c->all, pid, &p);
    if (e)
        return e;
    clock_to(at);
    struct access_scan s = {
        .venue_id = venue,
        .venue_region = region,
        .venue_name = venue_name,
        .policy = {VENUE_COLORS_ALL, 0, 0, 37.3},
        .person_id = pid,
        .masked_name = mask_name(c->a, p.name),
        .direction = dir,
        .temperature = dir == ACCESS_IN ? 36.2 + 0.1 * (double)rng_below(&c->r, 7) : -1,
        .method = ACCESS_STAFF_SCAN,
        .operator_user_id = c->w->checkpoint_user,
    };
    err applied = E_OK;
    e = access_submit(c->d, &s, scan_done, &applied);
    clock_shift(0);
    return e ? e : applied;
}

static err visit(struct tctx *c, bool restaurant, int64_t pid, int64_t in_at, int64_t out_at)
{
    int64_t v = restaurant ? c->restaurant : c->supermarket;
    int64_t reg = restaurant ? c->restaurant_region : c->supermarket_region;
    const char *name = restaurant ? c->restaurant_name : c->supermarket_name;
    err e = pass(c, v, reg, name, pid, ACCESS_IN, in_at);
    return e ? e : pass(c, v, reg, name, pid, ACCESS_OUT, out_at);
}

static int by_suspicion(const void *x, const void *y)
{
    const struct tcase *a = x, *b = y;
    return a->suspected_at < b->suspected_at ? -1 : a->suspected_at > b->suspected_at;
}

/* Is the case confirmed now (the automatic warning traces these)? */
static bool confirmed_now(const struct tcase *k)
{
    return k->traceable && k->confirmed_at;
}

/* The cases of the case week (suspected, confirmed, cured): at most max,
 * the confirmed ones first, then by their suspicion. */
static err cases_read(struct tctx *c, struct tcase *out, int max, int *n_r)
{
    struct tcase *all = arena_alloc(c->a, sizeof *all * CASES_READ);
    db_stmt *s;
    err e = db_prepare(c->d,
                       "SELECT p.id, p.region_code, p.status, MIN(sc.at), (SELECT MIN(cf.at) FROM "
                       "status_changes cf WHERE cf.person_id = p.id AND cf.to_status = ?) FROM "
                       "status_changes sc JOIN persons p ON p.id = sc.person_id WHERE "
                       "sc.to_status = ? AND p.deleted_at = 0 AND p.status IN (?, ?, ?) GROUP BY "
                       "p.id, p.region_code, p.status ORDER BY 4, 1",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, person_status_name(PERSON_CONFIRMED));
    db_bind_text(s, 2, person_status_name(PERSON_SUSPECTED));
    db_bind_text(s, 3, person_status_name(PERSON_SUSPECTED));
    db_bind_text(s, 4, person_status_name(PERSON_CONFIRMED));
    db_bind_text(s, 5, person_status_name(PERSON_CURED));
    int n = 0;
    bool row;
    while (n < CASES_READ && !(e = db_row(s, &row)) && row) {
        struct tcase *k = &all[n++];
        const char *st = db_col_text(s, 2);
        *k = (struct tcase){.person = db_col_int64(s, 0),
                            .region = db_col_int64(s, 1),
                            .suspected_at = db_col_int64(s, 3),
                            .confirmed_at = db_col_null(s, 4) ? 0 : db_col_int64(s, 4),
                            .traceable = strcmp(st, person_status_name(PERSON_CURED)) != 0};
        /* the first abnormal check came two ticks (8 hours) before the
         * suspicion (demo_case.c) */
        k->onset_on = china_date(k->suspected_at - 8 * HOUR_MS);
    }
    db_done(s);
    int m = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n && m < max; i++)
            if (confirmed_now(&all[i]) == (pass == 0))
                out[m++] = all[i];
    qsort(out, (size_t)m, sizeof *out, by_suspicion);
    *n_r = m;
    return e;
}

/* Up to COVISITORS people of the case's street who are not cases, from
 * the slice-th stretch of them (so the cases' co-visitors differ). */
static err covisitors(struct tctx *c, struct tcase *k, int slice)
{
    int64_t street = regcode_at_most(k->region, LEVEL_STREET);
    db_stmt *s;
    err e = db_prepare(c->d,
                       "SELECT id FROM persons WHERE region_code >= ? AND region_code < ? AND "
                       "deleted_at = 0 AND status = 'normal' AND id <> ? ORDER BY id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, street);
    db_bind_int64(s, 2, regcode_end(street));
    db_bind_int64(s, 3, k->person);
    long skip = 40 + (long)slice * 17, seen = 0;
    db_bind_int64(s, 4, skip + 3 * COVISITORS + 3); /* every third after the skip */
    bool row;
    k->n_people = 0;
    while (k->n_people < COVISITORS && !(e = db_row(s, &row)) && row)
        if (seen++ >= skip && seen % 3 == 0)
            k->people[k->n_people++] = db_col_int64(s, 0);
    db_done(s);
    return e;
}

static err investigation_of(struct tctx *c, const struct tcase *k, int i)
{
    struct person named;
    err e = person_find(c->d, c->a, &c->all, k->people[0], &named);
    if (e)
        return e;
    char phone[12];
    snprintf(phone, sizeof phone, "139%08u", (unsigned)rng_below(&c->r, 100000000u));
    struct inv_place places[2] = {
        {.place = c->restaurant_name,
         .venue_id = c->restaurant,
         .from_at = k->visit_at,
         .to_at = k->visit_at + 90 * MIN_MS,
         .note = "与同事聚餐"},
        {.place = "家中", .from_at = k->visit_at + 3 * HOUR_MS, .note = "此后居家未外出"},
    };
    struct inv_contact contacts[2] = {
        {.name = named.name,
         .phone = "",
         .id_number = named.id_number,
         .relation = "同事",
         .last_contact_at = k->visit_at + 90 * MIN_MS},
        {.name = i % 2 ? "李晓梅" : "陈志强",
         .phone = phone,
         .id_number = "",
         .relation = "朋友",
         .last_contact_at = k->visit_at - DAY_MS},
    };
    int64_t at = (k->confirmed_at ? k->confirmed_at : k->suspected_at) + 3 * HOUR_MS;
    clock_shift(0);
    if (at > now_ms() - MIN_MS)
        at = now_ms() - MIN_MS;
    struct investigation v = {
        .person_id = k->person,
        .onset_on = k->onset_on,
        .symptoms = SYM_FEVER | SYM_COUGH | (i % 2 ? SYM_FATIGUE : 0),
        .investigated_at = at,
        .institution = "南山区疾病预防控制中心",
        .summary = "病例自述发病前曾在餐厅与同事聚餐约一个半小时，此后居家；"
                   "同餐人员及到店人员已纳入排查。",
        .places = places,
        .n_places = 2,
        .contacts = contacts,
        .n_contacts = 2,
    };
    int64_t id;
    clock_to(at);
    e = investigation_create(c->d, c->a, &c->all, &v, c->w->district_doctor_user, &id);
    clock_shift(0);
    return e;
}

/* The lunch time inside the case's tracing window: the day before the
 * window closes, else as early as the window allows. A cured case (no
 * longer traced): two days before its suspicion. */
static err lunch(struct tctx *c, struct tcase *k)
{
    if (!k->traceable) {
        k->visit_at = china_day_start(k->suspected_at - 2 * DAY_MS) + 12 * HOUR_MS;
        return E_OK;
    }
    struct trace_request rq = {.person_id = k->person, .degree = 2};
    struct trace_plan p;
    err e = trace_plan(c->d, &c->all, &rq, now_ms(), &p);
    if (e)
        return e;
    int64_t at = china_day_start(p.to - 30 * HOUR_MS) + 12 * HOUR_MS;
    if (at < p.from + HOUR_MS)
        at = p.from + HOUR_MS;
    k->visit_at = at;
    return E_OK;
}

/* The restaurant, the close and general co-visitors, and the close
 * contact's supermarket visit with a secondary contact. */
static err exposures(struct tctx *c, const struct tcase *k)
{
    int64_t t = k->visit_at;
    err e = visit(c, true, k->person, t, t + 90 * MIN_MS);
    static const int stay[4][2] = {{0, 80}, {20, 75}, {85, 95}, {-25, 5}}; /* minutes from t */
    for (int j = 0; j < 4 && j < k->n_people && !e; j++)
        e = visit(c, true, k->people[j], t + stay[j][0] * MIN_MS, t + stay[j][1] * MIN_MS);
    if (!e && k->n_people == COVISITORS) {
        int64_t s = t + 3 * HOUR_MS;
        e = visit(c, false, k->people[0], s, s + 50 * MIN_MS);
        if (!e)
            e = visit(c, false, k->people[4], s + 10 * MIN_MS, s + 45 * MIN_MS);
    }
    return e;
}

static err chains(struct tctx *c, const struct tcase *k, int n)
{
    err e = E_OK;
    for (int i = 1; i < n && !e; i++) {
        struct case_link l = {.person_id = k[i].person,
                              .source_id = k[0].person,
                              .kind = i == 1 ? CASE_LINK_CERTAIN : CASE_LINK_POSSIBLE,
                              .note = i == 1 ? "同桌聚餐，首发病例" : "同一餐厅先后就餐"};
        int64_t id;
        e = case_link_create(c->d, c->a, &c->all, &l, c->w->district_doctor_user, &id);
    }
    if (e || n < 2)
        return e;
    char name[CLUSTER_NAME_MAX * 4];
    snprintf(name, sizeof name, "%s聚集性疫情", c->restaurant_name);
    struct cluster cl = {.name = name,
                         .region_code = regcode_parse(DEMO_DISTRICT, NULL),
                         .first_case_on = k[0].onset_on,
                         .status = CLUSTER_OPEN,
                         .note = "多名确诊病例发病前均到过同一餐厅，正在排查传播链"};
    int64_t id;
    e = cluster_create(c->d, c->a, &c->all, &cl, c->w->district_doctor_user, &id);
    for (int i = 0; i < n && !e; i++)
        e = cluster_member_add(c->d, c->a, &c->all, id, k[i].person, c->w->district_doctor_user);
    return e;
}

/* Trips of people on the observation list. */
static err trips(struct tctx *c)
{
    db_stmt *s;
    err e = db_prepare(c->d,
                       "SELECT o.person_id FROM observations o JOIN persons p ON p.id = "
                       "o.person_id WHERE p.status IN (?, ?) AND p.deleted_at = 0 GROUP BY "
                       "o.person_id ORDER BY o.person_id",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, person_status_name(PERSON_NORMAL));
    db_bind_text(s, 2, person_status_name(PERSON_OBSERVATION));
    int64_t ids[TRIPS];
    int n = 0;
    bool row;
    while (n < TRIPS && !(e = db_row(s, &row)) && row)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    int64_t now = now_ms();
    int32_t away = china_date(now - 9 * DAY_MS), back = china_date(now - 4 * DAY_MS);
    static const char *const seats[] = {"12A", "13C", "21F"};
    struct trip_waypoint wps[3] = {
        {.kind = TRIP_WP_OTHER, .place = "广深沿江高速服务区", .stay_minutes = 20},
        {.kind = TRIP_WP_RESTAURANT, .place = "东莞长安镇客家菜馆", .stay_minutes = 60},
        {.kind = TRIP_WP_VENUE, .place = "", .venue_id = c->supermarket, .stay_minutes = 30},
    };
    for (int i = 0; i < n && !e; i++) {
        struct trip t = {.person_id = ids[i], .departed_on = away, .note = ""};
        if (i < 3) { /* fellow travellers: the same train both ways */
            t.origin = "深圳市";
            t.destination = "北京市";
            t.returned_on = back;
            t.out = (struct trip_leg){TRIP_TRAIN, "G80", seats[i], "", ""};
            t.back = (struct trip_leg){TRIP_TRAIN, "G79", seats[i], "", "7车"};
        } else if (i == 3) {
            t.origin = "深圳市";
            t.destination = "上海市";
            t.returned_on = china_date(now - 2 * DAY_MS);
            t.out = (struct trip_leg){TRIP_FLIGHT, "CZ3587", "32K", "", ""};
            t.back = (struct trip_leg){TRIP_FLIGHT, "MU5331", "", "", ""};
        } else if (i == 4) {
            char plate[PLATE_MAX];
            if ((e = plate_normalise("粤B3C8K2", "plate", plate, NULL)))
                break;
            t.origin = "深圳市";
            t.destination = "广州市";
            t.departed_on = china_date(now - 3 * DAY_MS);
            t.returned_on = china_date(now - DAY_MS);
            t.out = (struct trip_leg){TRIP_CAR, "", "", arena_strdup(c->a, plate), "自驾"};
            t.back = t.out;
            for (int w = 0; w < 3; w++)
                wps[w].arrived_at = now - DAY_MS - (int64_t)(3 - w) * 2 * HOUR_MS;
            t.waypoints = wps;
            t.n_waypoints = 3;
        } else { /* still away */
            t.origin = "深圳市";
            t.destination = "长沙市";
            t.departed_on = china_date(now - DAY_MS);
            t.out = (struct trip_leg){TRIP_TRAIN, "G1002", "", "", ""};
            t.back = (struct trip_leg){TRIP_MODE_NONE, "", "", "", ""};
        }
        int64_t id;
        e = trip_create(c->d, c->a, &c->all, &t, i == 5 ? TRIP_SELF : TRIP_STAFF, c->w->grid_user,
                        &id);
    }
    return e;
}

err demo_trace(db *d, const struct demo_world *w, uint64_t seed)
{
    /* the command's own: `fangkong demo` has no request */
    struct tctx c = {.d = d, .a = arena_new(1 << 16), .w = w, .all = scope_all()};
    if (!c.a)
        return E_NOMEM;
    rng_seed(&c.r, seed ^ 0x7472616365646d6full);
    c.restaurant_name = "海岸城潮汕牛肉火锅店";
    c.supermarket_name = "南油华润万家超市";
    struct tcase k[CASES_MAX];
    int n = 0;
    err e = venue_at(&c, c.restaurant_name, VENUE_RESTAURANT, w->market_places[0], &c.restaurant,
                     &c.restaurant_region);
    if (!e)
        e = venue_at(&c, c.supermarket_name, VENUE_MARKET,
                     w->market_places[w->nstreets > 1 ? 1 : 0], &c.supermarket,
                     &c.supermarket_region);
    if (!e)
        e = cases_read(&c, k, CASES_MAX, &n);
    for (int i = 0; i < n && !e; i++)
        e = covisitors(&c, &k[i], i);
    /* the investigations first: their onsets open the tracing windows */
    for (int i = 0; i < n && !e; i++) {
        if ((e = db_begin(d)))
            break;
        e = lunch(&c, &k[i]);
        if (!e && k[i].n_people)
            e = investigation_of(&c, &k[i], i);
        /* the recorded onset only opens the window earlier: the lunch
         * stays inside it */
        e = tx_end(d, e);
        arena_reset(c.a);
    }
    for (int i = 0; i < n && !e; i++) {
        e = exposures(&c, &k[i]);
        arena_reset(c.a);
    }
    if (!e && !(e = db_begin(d))) {
        e = chains(&c, k, n);
        if (!e)
            e = trips(&c);
        e = tx_end(d, e);
    }
    clock_shift(0);
    if (e)
        log_event(LOG_ERROR, "demo_trace_failed", "code", err_last()->slug, "message",
                  err_last()->message, "field", err_last()->field, NULL);
    arena_free(&c.a);
    return e;
}

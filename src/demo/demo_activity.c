/*
 * What the demo district has been doing, so that every page of the console
 * and the mobile pages has something to show: departments, risk areas and
 * zones; a gate venue with a thermometer in every community and a market
 * venue in every street; scans at the gates (passes, a fever refused),
 * device readings, alerts (some handled, some not), visitors (pending,
 * confirmed, refused), vehicles with their plate reads, today's
 * declarations and people of every code colour (the case workflow is
 * demo_case.c's).
 *
 * Everything goes through the capabilities' public functions, the ones the
 * API handlers call, so a red code is what the rules make of a sealed zone
 * or a close contact, an alert is what a fever at a gate raises, and
 * nothing is written behind a capability's back.
 *
 * The cost is per community and per street, never per person, except the
 * people a zone covers (one building each) and the handful with contacts,
 * stays or a fever: a million-person demo adds a few seconds.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "alert/alert.h"
#include "base/arena.h"
#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "code/code.h"
#include "demo/demo.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "device/device.h"
#include "parking/parking.h"
#include "health/health.h"
#include "person/person.h"
#include "security/mask.h"
#include "user/user.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"
#include "visitor/visitor.h"

#define HOUR_MS     3600000LL
#define DAY_MS      (24 * HOUR_MS)
#define PEOPLE      10 /* people of a community the demo acts with */
#define COLOUR_COMM 8  /* communities with contacts and stays */

struct ctx {
    db *d;
    arena *a;
    struct rng r;
    const struct demo_world *w;
    struct principal who; /* the command centre, acting for the deployment */
    struct scope all;
    int64_t now;
    int64_t high_area, medium_area;
};

/* ---- district-wide: departments, risk areas, zones ---------------------------------- */

static err departments(struct ctx *c)
{
    int64_t root;
    int64_t district = regcode_parse(DEMO_DISTRICT, NULL);
    struct department_input in = {.name = "南山区疫情防控指挥部", .region_code = district};
    err e = department_create(c->d, &c->all, &in, &root);
    static const char *const units[] = {"区卫生健康局", "区公安分局", "区政务服务数据管理局",
                                        "区疾病预防控制中心"};
    for (size_t i = 0; i < DEMO_N(units) && !e; i++) {
        int64_t id;
        in = (struct department_input){
            .name = units[i], .region_code = district, .has_parent = true, .parent_id = root};
        e = department_create(c->d, &c->all, &in, &id);
    }
    for (long s = 0; s < c->w->nstreets && !e; s++) {
        char name[64];
        int64_t id;
        snprintf(name, sizeof name, "%s街道办事处", demo_streets[s % 8]);
        in = (struct department_input){
            .name = name, .region_code = c->w->streets[s], .has_parent = true, .parent_id = root};
        e = department_create(c->d, &c->all, &in, &id);
    }
    return e;
}

static err risk_area(struct ctx *c, const char *name, const char *level, int64_t *id_r)
{
    json_t *b = json_pack("{s:s,s:s,s:I}", "name", name, "level", level, "valid_from",
                          (json_int_t)(c->now - 10 * DAY_MS));
    err e = b ? code_risk_area_add(c->d, &c->who, b, id_r) : E_NOMEM;
    json_decref(b);
    return e;
}

static err zone(struct ctx *c, int64_t region, const char *kind, const char *name)
{
    char code[20];
    regcode_format(region, code);
    json_t *b = json_pack("{s:s,s:s,s:s,s:I}", "region_code", code, "kind", kind, "name", name,
                          "valid_from", (json_int_t)(c->now - DAY_MS));
    int64_t id;
    err e = b ? code_zone_add(c->d, c->a, &c->who, b, &id) : E_NOMEM;
    json_decref(b);
    return e;
}

/* ---- one community -------------------------------------------------------------------- */

/* Up to PEOPLE people of a community, oldest records first. */
static err people_of(struct ctx *c, int64_t community, int64_t ids[PEOPLE], int64_t regions[PEOPLE],
                     int *n_r)
{
    db_stmt *s;
    err e = db_prepare(c->d,
                       "SELECT id, region_code FROM persons WHERE region_code >= ? AND "
                       "region_code < ? AND deleted_at = 0 ORDER BY id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, community);
    db_bind_int64(s, 2, regcode_end(community));
    db_bind_int64(s, 3, PEOPLE);
    int n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        ids[n] = db_col_int64(s, 0);
        regions[n++] = db_col_int64(s, 1);
    }
    db_done(s);
    *n_r = n;
    return e;
}

/* What access_submit hands back: the applied scan, or its error. */
struct scan_result {
    err e;
    int n_alerts;
    int64_t alert_ids[3];
};

static void scan_done(const struct access_scan *s, err e, void *ctx)
{
    struct scan_result *out = ctx;
    out->e = e;
    out->n_alerts = s->n_alerts;
    memcpy(out->alert_ids, s->alert_ids, sizeof out->alert_ids);
}

/* A checkpoint scan of person `pid` at gate `v`, applied at once (the
 * demo runs no scan writer); *alerts_r gets the alerts it raised. */
static err scan(struct ctx *c, const struct venue *v, int64_t pid, double temp, int64_t alerts_r[3],
                int *n_alerts_r)
{
    struct person p;
    err e = person_find_brief(c->d, c->a, &c->all, pid, &p);
    if (e)
        return e;
    struct access_scan s = {
        .venue_id = v->id,
        .venue_region = v->region_code,
        .venue_name = v->name,
        .policy = {v->allowed_colors, v->limit_count, v->limit_hours, v->fever_threshold},
        .person_id = pid,
        .masked_name = mask_name(c->a, p.name),
        .direction = ACCESS_IN,
        .temperature = temp,
        .method = ACCESS_STAFF_SCAN,
        .operator_user_id = c->w->checkpoint_user,
    };
    struct scan_result out = {0};
    if ((e = access_submit(c->d, &s, scan_done, &out)) || (e = out.e))
        return e;
    if (alerts_r) {
        *n_alerts_r = out.n_alerts;
        memcpy(alerts_r, out.alert_ids, sizeof out.alert_ids);
    }
    return E_OK;
}

static err gate_venue(struct ctx *c, long i, struct venue *v_r)
{
    char name[96];
    snprintf(name, sizeof name, "%s花园%ld期东门",
             demo_community_words[i % (long)DEMO_N(demo_community_words)],
             i / (long)DEMO_N(demo_community_words) + 1);
    struct venue_input in = {.set = VF_NAME | VF_KIND | VF_PLACE | VF_DIRECTION,
                             .name = name,
                             .kind = VENUE_COMMUNITY_GATE,
                             .place_id = c->w->community_places[i],
                             .direction = VENUE_BOTH};
    int64_t id;
    err e = venue_create(c->d, c->a, &c->all, &in, &id);
    return e ? e : venue_find(c->d, c->a, &c->all, id, v_r);
}

static err device_at(struct ctx *c, const struct venue *v, const char *name, enum device_kind kind,
                     int64_t heartbeat_s, struct device *dev_r)
{
    char secret[DEVICE_SECRET_HEX + 1];
    *dev_r = (struct device){
        .name = name, .kind = kind, .venue_id = v->id, .heartbeat_s = heartbeat_s, .enabled = true};
    return device_create(c->d, c->a, &c->all, dev_r, secret);
}

static err readings(struct ctx *c, const struct device *dev, bool fever)
{
    static const double normal[] = {36.4, 36.7, 36.5};
    err e = E_OK;
    for (size_t i = 0; i < DEMO_N(normal) && !e; i++) {
        struct device_reading r = {.temperature = normal[i],
                                   .at = c->now - (int64_t)(DEMO_N(normal) - i) * 600000};
        e = device_reading_record(c->d, c->a, dev, &r, "http");
    }
    if (!e && fever) {
        struct device_reading r = {.temperature = 38.3};
        e = device_reading_record(c->d, c->a, dev, &r, "http");
    }
    return e;
}

/* A valid identity number of someone from elsewhere (visitors). */
static void outsider_id(struct rng *r, long n, char out[19])
{
    snprintf(out, 19, "440106%04u%02u%02u%03ld", 1960 + rng_below(r, 40), 1 + rng_below(r, 12),
             1 + rng_below(r, 28), n % 1000);
    out[17] = resident_id_check_char(out);
    out[18] = '\0';
}

static err visitors(struct ctx *c, long i, int64_t host, int64_t host_region, const char *plate)
{
    static const char *const purposes[] = {"探亲", "送餐", "维修", "家政服务"};
    static const enum visitor_status outcome[] = {VISITOR_PENDING, VISITOR_CONFIRMED,
                                                  VISITOR_REFUSED};
    /* residents submit their visitors; the demo has no resident account
     * for each host, so the host is named by the person alone */
    struct principal h = {.user_id = 0, .person_id = host, .resident = true};
    err e = E_OK;
    for (size_t k = 0; k < DEMO_N(outcome) && !e; k++) {
        char name[16], id[19], phone[12];
        snprintf(name, sizeof name, "%s%s", demo_surnames[rng_below(&c->r, DEMO_N(demo_surnames))],
                 demo_given[rng_below(&c->r, DEMO_N(demo_given))]);
        outsider_id(&c->r, i * 3 + (long)k, id);
        snprintf(phone, sizeof phone, "137%08u", (unsigned)rng_below(&c->r, 100000000u));
        struct visitor v = {.name = name,
                            .id_type = ID_RESIDENT,
                            .id_number = id,
                            .phone = phone,
                            .purpose = purposes[(i + (long)k) % 4],
                            .plate = outcome[k] == VISITOR_CONFIRMED ? plate : "",
                            .valid_from = c->now - HOUR_MS,
                            .valid_to = c->now + 2 * DAY_MS};
        if ((e = visitor_check(c->a, &v, c->now)) ||
            (e = visitor_submit(c->d, c->a, &h, host, host_region, &v)))
            break;
        if (outcome[k] != VISITOR_PENDING)
            e = visitor_decide(
                c->d, c->a, &c->all, v.id, c->w->community_user, outcome[k] == VISITOR_CONFIRMED,
                outcome[k] == VISITOR_REFUSED ? "户主不在家，无法核实来访事由" : NULL);
    }
    return e;
}

static err plate_read(struct ctx *c, const struct venue *v, const char *plate, const char *dir)
{
    struct vehicle_passage p = {.venue_id = v->id,
                                .plate = plate,
                                .direction = dir,
                                .reader_user_id = c->w->checkpoint_user};
    return vehicle_read(c->d, c->a, &c->all, &p);
}

static err vehicles(struct ctx *c, long i, const int64_t *people, int n, const struct venue *gate,
                    const char *visitor_plate)
{
    err e = E_OK;
    char plates[2][PLATE_MAX];
    for (int k = 0; k < 2 && k + 2 < n && !e; k++) {
        char raw[PLATE_MAX];
        snprintf(raw, sizeof raw, "粤B%05ld", i * 2 + k);
        if ((e = plate_normalise(raw, "plate", plates[k], NULL)))
            break;
        struct vehicle v = {.plate = plates[k],
                            .kind = VEHICLE_CAR,
                            .owner_person_id = people[k + 2],
                            .household_no = "",
                            .note = ""};
        e = vehicle_register(c->d, c->a, &c->all, c->w->community_user, &v);
        if (!e)
            e = plate_read(c, gate, plates[k], "in");
    }
    char stranger[PLATE_MAX], raw[PLATE_MAX];
    snprintf(raw, sizeof raw, "粤E%05ld", i);
    if (!e && n > 3)
        e = plate_read(c, gate, plates[0], "out");
    if (!e && !(e = plate_normalise(raw, "plate", stranger, NULL)))
        e = plate_read(c, gate, stranger, "in"); /* unregistered: refused */
    if (!e && *visitor_plate)
        e = plate_read(c, gate, visitor_plate, "in"); /* the confirmed visitor's car */
    return e;
}

/* A negative test sampled this morning for one person of each community
 * (the testing staff's entry, and the person page's results). */
static err test_result(struct ctx *c, const int64_t *people, int n)
{
    if (n < 5)
        return E_OK;
    int64_t sampled = c->now - 3 * HOUR_MS, id;
    json_t *b = json_pack("{s:s,s:I,s:I}", "result", "negative", "sampled_at", (json_int_t)sampled,
                          "reported_at", (json_int_t)(sampled + HOUR_MS));
    err e = b ? code_input_add(c->d, c->a, &c->who, &code_tests, people[4], b, &id) : E_NOMEM;
    json_decref(b);
    return e;
}

static err declarations(struct ctx *c, const int64_t *people, int n)
{
    err e = E_OK;
    for (int k = 1; k < n && k <= 3 && !e; k++) {
        struct declaration dc = {.person_id = people[k],
                                 .temperature = 36.2 + 0.1 * k,
                                 .travel = "",
                                 .contact_text = "",
                                 .source = "staff"};
        e = health_declare(c->d, c->a, &c->all, &dc, c->w->community_user);
    }
    return e;
}

/* Contacts and stays that the rules turn red or yellow. */
static err colours(struct ctx *c, long i, const int64_t *people, int n)
{
    if (i >= COLOUR_COMM || n < PEOPLE)
        return E_OK;
    err e = E_OK;
    char area[24];
    snprintf(area, sizeof area, "%lld", (long long)(i % 2 ? c->medium_area : c->high_area));
    struct {
        const struct code_input_kind *k;
        json_t *body;
    } in[] = {
        {&code_contacts,
         json_pack("{s:i,s:I}", "degree", 1, "at", (json_int_t)(c->now - 2 * DAY_MS))},
        {&code_contacts,
         json_pack("{s:i,s:I}", "degree", 2, "at", (json_int_t)(c->now - 3 * DAY_MS))},
        {&code_stays, json_pack("{s:s,s:I,s:I}", "area_id", area, "arrived_at",
                                (json_int_t)(c->now - 6 * DAY_MS), "left_at",
                                (json_int_t)(c->now - 4 * DAY_MS))},
    };
    for (size_t k = 0; k < DEMO_N(in); k++) {
        int64_t id;
        if (!e)
            e = in[k].body
                    ? code_input_add(c->d, c->a, &c->who, in[k].k, people[7 + k], in[k].body, &id)
                    : E_NOMEM;
        json_decref(in[k].body);
    }
    return e;
}

static err community(struct ctx *c, long i)
{
    const struct demo_world *w = c->w;
    int64_t people[PEOPLE], regions[PEOPLE];
    int n;
    struct venue gate;
    struct device thermo, dgate;
    err e = people_of(c, w->communities[i], people, regions, &n);
    if (e || (e = gate_venue(c, i, &gate)) ||
        (e = device_at(c, &gate, "东门红外测温仪", DEVICE_THERMOMETER, DEVICE_HEARTBEAT_MAX,
                       &thermo)) ||
        (e = readings(c, &thermo, i == 0)))
        return e;
    /* one device of the district went silent: a gate that stopped calling in */
    if (i == 0 &&
        ((e = device_at(c, &gate, "北门人脸识别闸机", DEVICE_GATE, DEVICE_HEARTBEAT_MIN, &dgate))))
        return e;
    /* 人脸识别通行 (docs/face.md): a face terminal that residents' consented photos go to */
    struct device face;
    if (i == 0 &&
        ((e = device_at(c, &gate, "东门人脸识别终端", DEVICE_FACE, DEVICE_HEARTBEAT_MAX, &face))))
        return e;
    /* 停车引导 (docs/parking.md): a garage whose gate is the community's east gate */
    if (i == 0) {
        struct parking_garage pg = {
            .name = "东门地下车库", .region_code = gate.region_code, .total = 120, .reserved = 20};
        struct parking_gate pgate = {gate.id, "both"};
        if ((e = parking_create(c->d, c->a, &c->all, 0, &pg, &pgate, 1)))
            return e;
    }
    if ((e = declarations(c, people, n)) || (e = test_result(c, people, n)) ||
        (e = colours(c, i, people, n)))
        return e;
    /* passages at the gate: the first people pass, one has a fever */
    for (int k = 0; k < n && k < 5 && !e; k++)
        e = scan(c, &gate, people[k], 36.3 + 0.1 * k, NULL, NULL);
    int64_t raised[3] = {0};
    int n_raised = 0;
    if (!e && n > 5)
        e = scan(c, &gate, people[5], 38.2, raised, &n_raised);
    /* some communities have handled their alerts, some not: every other
     * community, and the first keeps its gate's open for the workbench */
    for (int k = 0; k < n_raised && !e; k++)
        if (i % 2 == 1)
            e = alert_ack(c->d, &c->all, raised[k], w->community_user, "已复测体温并安排就医",
                          NULL);
    char plate[PLATE_MAX] = "", raw[PLATE_MAX];
    snprintf(raw, sizeof raw, "粤A%05ld", i);
    if (!e)
        e = plate_normalise(raw, "plate", plate, NULL);
    if (!e && n > 1)
        e = visitors(c, i, people[1], regions[1], plate);
    if (!e)
        e = vehicles(c, i, people, n, &gate, n > 1 ? plate : "");
    return e;
}

/* The first community's device fever (raised by readings()) is handled. */
static err ack_device_fever(struct ctx *c)
{
    struct alert_filter f = {.kind = ALERT_DEVICE_FEVER, .acked = 0, .page = 1, .page_size = 1};
    struct scope sc = scope_of(c->w->communities[0]);
    json_t *items;
    err e = alert_list(c->d, &sc, &f, &items, NULL);
    if (e)
        return e;
    const char *id = json_string_value(json_object_get(json_array_get(items, 0), "id"));
    if (id)
        e = alert_ack(c->d, &c->all, id_parse(id), c->w->community_user, "已电话联系本人，复测正常",
                      NULL);
    json_decref(items);
    return e;
}

static err street_venue(struct ctx *c, long s)
{
    char name[64];
    snprintf(name, sizeof name, "%s农贸市场入口", demo_streets[s % 8]);
    struct venue_input in = {.set = VF_NAME | VF_KIND | VF_PLACE | VF_COLORS | VF_LIMIT,
                             .name = name,
                             .kind = VENUE_MARKET,
                             .place_id = c->w->market_places[s],
                             .allowed_colors = VENUE_GREEN | VENUE_YELLOW,
                             .limit_count = 2,
                             .limit_hours = 24};
    int64_t id;
    return venue_create(c->d, c->a, &c->all, &in, &id);
}

err demo_activity(db *d, const struct demo_world *w, uint64_t seed)
{
    /* the command's own: `fangkong demo` has no request */
    struct ctx c = {.d = d, .a = arena_new(1 << 16), .w = w, .all = scope_all(), .now = now_ms()};
    if (!c.a)
        return E_NOMEM;
    rng_seed(&c.r, seed ^ 0x6163746976697479ull);
    c.who = (struct principal){.user_id = w->command_user, .scope = c.all};
    err e = departments(&c);
    if (!e)
        e = risk_area(&c, "吉林省长春市宽城区团山街道", "high", &c.high_area);
    if (!e)
        e = risk_area(&c, "广东省广州市番禺区大石街道", "medium", &c.medium_area);
    for (long s = 0; s < w->nstreets && !e; s++) {
        e = street_venue(&c, s);
        arena_reset(c.a);
    }
    for (long i = 0; i < w->ncomm && !e; i++) {
        e = community(&c, i);
        arena_reset(c.a);
    }
    if (!e)
        e = ack_device_fever(&c);
    /* a sealed and a controlled building in the first community (not the
     * demo resident's building: their pass stays valid) */
    if (!e && w->nbuildings > 2)
        e = zone(&c, w->buildings[1], "sealed", "封控楼栋");
    if (!e && w->nbuildings > 2)
        e = zone(&c, w->buildings[2], "controlled", "管控楼栋");
    arena_free(&c.a);
    return e;
}

/*
 * The demo district: regions (imported as one GeoJSON document through the
 * region import, so the demo exercises the real path), people (bulk
 * inserted through person_insert_prepared in large transactions), and the
 * demo accounts. Places and enterprises are in demo_places.c.
 *
 * Identity numbers are unique by construction: person i gets the key
 * perm(i) of a bijection over (birthplace prefix, birth day, sequence slot),
 * so a million people never collide on the unique index.
 */
#include "demo/demo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/time.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "demo/names.h"
#include "demo/rng.h"
#include "person/person.h"
#include "region/region.h"
#include "security/auth.h"
#include "user/user.h"

#define NSTREETS   8
#define GRIDS      4 /* per community, 2 x 2 */
#define BATCH      20000
#define DAY0_YEAR  1940
#define NDAYS      30315 /* 1940-01-01 .. 2022-12-31 */
#define SLOTS      500   /* sequence numbers per gender */
#define SAMPLE_IDS 1000

struct box {
    double x0, y0, x1, y1;
};

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 1;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
}

/* One region of the import document with polygon p as its boundary. */
static void feature(struct buf *b, int64_t code, const char *name, enum region_level lv,
                    const struct demo_poly *p)
{
    char w[19];
    regcode_format(code, w);
    put(b,
        "%s{\"type\":\"Feature\",\"properties\":{\"code\":\"%s\",\"name\":\"%s\",\"level\":\"%s\"},"
        "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
        b->len > 40 ? "," : "", w, name, region_level_name(lv));
    for (int i = 0; i <= p->n; i++)
        put(b, "%s[%.6f,%.6f]", i ? "," : "", p->x[i % p->n], p->y[i % p->n]);
    put(b, "]]}}");
}

static struct demo_poly box_poly(struct box x)
{
    return (struct demo_poly){.n = 4, .x = {x.x0, x.x1, x.x1, x.x0}, .y = {x.y0, x.y0, x.y1, x.y1}};
}

/* The shape of the district for N people. */
struct layout {
    long communities; /* per street */
    long buildings;   /* per grid */
    int64_t *building_codes;
    long nbuildings;
    int64_t *community_codes;
    int64_t street_codes[NSTREETS];
};

static int64_t code_of(int64_t parent, enum region_level lv, long n)
{
    static const int64_t unit[] = {0, 0, 0, 0, 1000000000LL, 1000000LL, 1000LL, 1LL};
    return parent + (int64_t)n * unit[lv];
}

static err build_regions(db *d, const struct demo_config *c, struct layout *L, arena *a)
{
    L->communities = c->persons / NSTREETS / 4000 + 1;
    if (L->communities < 2)
        L->communities = 2;
    if (L->communities > 199)
        L->communities = 199;
    long per_grid = c->persons / (NSTREETS * L->communities * GRIDS * 80) + 1;
    L->buildings = per_grid < 2 ? 2 : per_grid > 99 ? 99 : per_grid;
    L->nbuildings = 0;
    L->building_codes =
        arena_alloc(a, sizeof(int64_t) * NSTREETS * L->communities * GRIDS * L->buildings);
    L->community_codes = arena_alloc(a, sizeof(int64_t) * NSTREETS * L->communities);

    struct buf b = {malloc(1 << 20), 0, 1 << 20};
    if (!b.p)
        abort();
    put(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    int64_t province = regcode_parse("440000000000", NULL);
    int64_t city = regcode_parse("440300000000", NULL);
    int64_t district = regcode_parse(DEMO_DISTRICT, NULL);
    /* the map: the same seed draws the same one (docs/map.md "Demo geography") */
    struct rng r;
    rng_seed(&r, c->seed ^ 0x6d6170ull);
    struct demo_poly prov = box_poly((struct box){109.6, 20.2, 117.3, 25.5});
    /* Shenzhen, long from west to east; only Nanshan is built inside it */
    struct demo_poly city_poly = {
        .n = 10,
        .x = {113.76, 113.92, 114.10, 114.35, 114.62, 114.58, 114.40, 114.10, 113.85, 113.75},
        .y = {22.62, 22.44, 22.50, 22.52, 22.55, 22.66, 22.80, 22.86, 22.84, 22.75}};
    struct demo_poly dist;
    demo_geo_district(&dist);
    feature(&b, province, "广东省", LEVEL_PROVINCE, &prov);
    feature(&b, city, "深圳市", LEVEL_CITY, &city_poly);
    feature(&b, district, "南山区", LEVEL_DISTRICT, &dist);
    demo_geo_put(district, &dist);
    struct demo_poly *streets = malloc(sizeof *streets * NSTREETS);
    struct demo_poly *comms = malloc(sizeof *comms * (size_t)L->communities);
    struct demo_poly grids[GRIDS];
    if (!streets || !comms)
        abort();
    demo_poly_split(&dist, NSTREETS, &r, streets);
    for (long s = 0; s < NSTREETS; s++) {
        int64_t street = code_of(district, LEVEL_STREET, s + 1);
        L->street_codes[s] = street;
        feature(&b, street, demo_streets[s], LEVEL_STREET, &streets[s]);
        demo_geo_put(street, &streets[s]);
        demo_poly_split(&streets[s], (int)L->communities, &r, comms);
        for (long k = 0; k < L->communities; k++) {
            int64_t comm = code_of(street, LEVEL_COMMUNITY, k + 1);
            L->community_codes[s * L->communities + k] = comm;
            char name[64];
            snprintf(name, sizeof name, "%s%s社区",
                     demo_community_words[(s * 7 + k) % DEMO_N(demo_community_words)],
                     k >= (long)DEMO_N(demo_community_words)
                         ? (const char *[]){"一", "二", "三", "四", "五", "六", "七", "八", "九",
                                            "十"}[(k / DEMO_N(demo_community_words)) % 10]
                         : "");
            feature(&b, comm, name, LEVEL_COMMUNITY, &comms[k]);
            demo_geo_put(comm, &comms[k]);
            demo_poly_split(&comms[k], GRIDS, &r, grids);
            for (long g = 0; g < GRIDS; g++) {
                int64_t grid = code_of(comm, LEVEL_GRID, g + 1);
                snprintf(name, sizeof name, "第%ld网格", g + 1);
                feature(&b, grid, name, LEVEL_GRID, &grids[g]);
                demo_geo_put(grid, &grids[g]);
                for (long n = 0; n < L->buildings; n++) {
                    int64_t bld = code_of(grid, LEVEL_BUILDING, n + 1);
                    L->building_codes[L->nbuildings++] = bld;
                    /* a building: its centre inside the grid and a footprint
                     * of some 30 m around it */
                    double x, y, h = 0.00015;
                    demo_poly_point(&grids[g], &r, h, &x, &y);
                    snprintf(name, sizeof name, "%ld栋", n + 1);
                    struct demo_poly foot = box_poly((struct box){x - h, y - h, x + h, y + h});
                    feature(&b, bld, name, LEVEL_BUILDING, &foot);
                }
            }
        }
    }
    free(streets);
    free(comms);
    put(&b, "]}");
    struct scope all_scope = scope_all();
    struct region_import_report rep;
    err e = region_import(d, &all_scope, REGION_GEOJSON, b.p, b.len, a, &rep);
    free(b.p);
    if (!e && rep.error_count) {
        log_event(LOG_ERROR, "demo_regions_rejected", "message",
                  rep.n_errors ? rep.errors[0].message : "", NULL);
        return err_set(E_INTERNAL, "demo_regions", NULL, "演示区划导入失败");
    }
    return e;
}

/* A bijection over [0, K): i -> (i * A + B) mod K with gcd(A, K) = 1. */
static uint64_t perm(uint64_t i, uint64_t k, uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)i * a + b) % k);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void day_to_date(long day, int *y, int *m, int *dd)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = DAY0_YEAR;
    for (;;) {
        int len = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365;
        if (day < len)
            break;
        day -= len;
        year++;
    }
    int leap = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0));
    int month = 0;
    for (;;) {
        int len = mdays[month] + (month == 1 ? leap : 0);
        if (day < len)
            break;
        day -= len;
        month++;
    }
    *y = year;
    *m = month + 1;
    *dd = (int)day + 1;
}

/* The distinct birthplace prefixes (the list weights Nanshan by repeats;
 * the key space needs each prefix once). */
static size_t prefixes(const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < DEMO_N(demo_birth_prefixes); i++) {
        size_t j = 0;
        while (j < n && strcmp(out[j], demo_birth_prefixes[i]))
            j++;
        if (j == n)
            out[n++] = demo_birth_prefixes[i];
    }
    return n;
}

static const char *pick(struct rng *r, const char *const *list, size_t n)
{
    return list[rng_below(r, (uint32_t)n)];
}

static err build_people(db *d, const struct demo_config *c, const struct layout *L)
{
    const char *pre[DEMO_N(demo_birth_prefixes)];
    size_t npre = prefixes(pre);
    uint64_t K = (uint64_t)npre * NDAYS * SLOTS;
    struct rng r;
    rng_seed(&r, c->seed);
    uint64_t A = 1000003 + 2 * rng_below(&r, 1000), B = rng_next(&r) % K;
    while (gcd(A, K) != 1)
        A += 2;
    FILE *sample = c->sample_ids ? fopen(c->sample_ids, "w") : NULL;
    long sample_every = c->persons / SAMPLE_IDS > 0 ? c->persons / SAMPLE_IDS : 1;
    int today = person_today();
    int64_t now = now_ms();
    err e = E_OK;
    for (long i = 0; i < c->persons && !e; i++) {
        if (i % BATCH == 0 && (e = db_begin(d)))
            break;
        uint64_t k = perm((uint64_t)i, K, A, B);
        long slot = (long)(k % SLOTS);
        long day = (long)((k / SLOTS) % NDAYS);
        const char *prefix = pre[k / SLOTS / NDAYS];
        bool male = rng_below(&r, 2);
        int y, m, dd;
        day_to_date(day, &y, &m, &dd);
        char id[40];
        snprintf(id, sizeof id, "%.6s%04d%02d%02d%03ld", prefix, y % 10000, m % 100, dd % 100,
                 slot * 2 + (male ? 1 : 0));
        id[17] = resident_id_check_char(id);
        id[18] = '\0';

        char name[16], phone[12], address[160], household[32], employer[64];
        snprintf(name, sizeof name, "%s%s%s", pick(&r, demo_surnames, DEMO_N(demo_surnames)),
                 pick(&r, demo_given, DEMO_N(demo_given)),
                 rng_pct(&r, 70) ? pick(&r, demo_given, DEMO_N(demo_given)) : "");
        snprintf(phone, sizeof phone, "1%c%09u", "3456789"[rng_below(&r, 7)],
                 (unsigned)rng_below(&r, 1000000000u));
        int64_t bld = L->building_codes[(i * L->nbuildings) / c->persons];
        long street_ix = (long)((bld / 1000000000LL) % 1000) - 1;
        long unit = 1 + rng_below(&r, 4), floor = 1 + rng_below(&r, 30),
             room = 1 + rng_below(&r, 8);
        snprintf(household, sizeof household, "%ld单元%ld%02ld", unit, floor, room);
        snprintf(address, sizeof address, "广东省深圳市南山区%s%ld栋%s室",
                 demo_streets[street_ix % NSTREETS], (long)(bld % 1000), household);

        struct person p = {0};
        p.region_code = bld;
        p.id_type = ID_RESIDENT;
        p.id_number = id;
        p.name = name;
        p.gender = male ? GENDER_MALE : GENDER_FEMALE;
        p.birth_date = y * 10000 + m * 100 + dd;
        int age = person_age(p.birth_date, today);
        bool local = !strcmp(prefix, "440305");
        p.native_place = local ? "广东省深圳市" : "";
        unsigned roll = rng_below(&r, 100);
        p.category = local || roll < 70 ? PERSON_RESIDENT
                     : roll < 90        ? PERSON_VISITOR
                     : roll < 98        ? PERSON_RETURNEE
                                        : PERSON_TRANSIT;
        p.inbound = rng_pct(&r, 1);
        p.address = address;
        p.household = household;
        p.household_relation = rng_pct(&r, 35) ? "户主" : rng_pct(&r, 50) ? "配偶" : "子女";
        p.phone = age >= 12 ? phone : NULL;
        p.employed = age >= 20 && age < 60 && rng_pct(&r, 80);
        if (p.employed) {
            snprintf(employer, sizeof employer, "%s",
                     pick(&r, demo_employers, DEMO_N(demo_employers)));
            p.employer = employer;
        }
        p.current_location = "广东省深圳市南山区";
        if (age < 14)
            p.vulnerable |= VULN_CHILD;
        if (age >= 70 && rng_pct(&r, 15))
            p.vulnerable |= VULN_ELDERLY_ALONE;
        if (age >= 45 && rng_pct(&r, 12))
            p.vulnerable |= VULN_CHRONIC_DISEASE;
        if (!male && age >= 20 && age <= 40 && rng_pct(&r, 4))
            p.vulnerable |= VULN_PREGNANT;
        if (rng_pct(&r, 2))
            p.vulnerable |= VULN_DISABLED;
        p.status = PERSON_NORMAL;
        p.source = "import";
        p.consent_at = now;
        if (i == 0)
            p.phone = DEMO_RESIDENT_PHONE; /* the demo resident who signs in by SMS */
        e = person_insert_prepared(d, &p, id_new(), now);
        if (!e && sample && i % sample_every == 0)
            fprintf(sample, "%s\n", id);
        if (!e && (i % BATCH == BATCH - 1 || i == c->persons - 1))
            e = db_commit(d);
        if (e)
            db_rollback(d);
    }
    if (sample)
        fclose(sample);
    return e;
}

struct account {
    const char *role;
    const char *username;
    const char *display;
    int level; /* 0 district, 1 street, 2 community, 3 grid */
};

static const struct account accounts[] = {
    {"command_center", "command", "区指挥中心", 0},
    {"leader", "leader", "区领导", 0},
    {"street_staff", "street", "街道工作人员", 1},
    {"community_staff", "community", "社区工作人员", 2},
    {"grid_worker", "grid", "第一网格网格员", 3},
    {"doctor", "doctor", "社区医生", 2},
    {"doctor", "cdcdoctor", "区疾控巡诊医生", 0},
    {"checkpoint_staff", "checkpoint", "社区卡口", 2},
    {"site_staff", "site", "核酸点位", 1},
    {"lab", "lab", "检测机构", 0},
    {"courier", "courier", "转运人员", 1},
    {"enterprise", "enterprise", "企业联络员", 2},
    {"exchange_client", "exchange", "数据交换", 0},
    {"system_admin", "sysadmin", "系统管理员", 0},
    {"security_admin", "secadmin", "安全管理员", 0},
    {"audit_admin", "auditor", "审计管理员", 0},
    {"delivery", "kuaidi", "快递外卖员", 2}, /* parcels (demo_life.c) */
    /* reports the demo institutions' beds (docs/supplies.md "Medical resources") */
    {"hospital_staff", "hospital", "南山区人民医院", 0},
};

#define NACCOUNTS (DEMO_N(accounts) + 1) /* and the resident */

/* One line of the accounts table. */
struct account_row {
    const char *cols[4]; /* role, username, password, region */
    char region[19];
    char note[96]; /* TOTP secret or how to sign in; "" none */
    int64_t user_id;
};

static size_t max_width(const struct account_row *rows, size_t n, int col, const char *head)
{
    size_t w = strlen(head);
    for (size_t i = 0; i < n; i++)
        if (strlen(rows[i].cols[col]) > w)
            w = strlen(rows[i].cols[col]);
    return w;
}

/* The table with every column as wide as its longest value plus two
 * spaces, so a long password never runs into the region. */
static void print_accounts(FILE *out, const struct account_row *rows, size_t n)
{
    static const char *const heads[4] = {"# role", "username", "password", "region"};
    int w[4];
    for (int c = 0; c < 4; c++)
        w[c] = (int)max_width(rows, n, c, heads[c]) + 2;
    fprintf(out, "%-*s%-*s%-*s%s\n", w[0], heads[0], w[1], heads[1], w[2], heads[2], heads[3]);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%-*s%-*s%-*s", w[0], rows[i].cols[0], w[1], rows[i].cols[1], w[2],
                rows[i].cols[2]);
        if (rows[i].note[0])
            fprintf(out, "%-*s%s\n", w[3], rows[i].cols[3], rows[i].note);
        else
            fprintf(out, "%s\n", rows[i].cols[3]);
    }
}

static err build_accounts(db *d, arena *a, const struct demo_config *c, const struct layout *L,
                          struct account_row rows[NACCOUNTS])
{
    for (size_t i = 0; i < DEMO_N(accounts); i++) {
        const struct account *ac = &accounts[i];
        struct account_row *row = &rows[i];
        int64_t region = ac->level == 0   ? regcode_parse(DEMO_DISTRICT, NULL)
                         : ac->level == 1 ? L->street_codes[0]
                         : ac->level == 2 ? L->community_codes[0]
                                          : L->community_codes[0] + 1000;
        const char *roles[] = {ac->role};
        struct user_new u = {.username = ac->username,
                             .display_name = ac->display,
                             .password = c->password,
                             .region_code = region,
                             .roles = roles,
                             .n_roles = 1};
        *row = (struct account_row){.cols = {ac->role, ac->username, c->password, NULL}};
        err e = user_create(d, a, NULL, &u, &row->user_id);
        if (e)
            return e;
        regcode_format(region, row->region);
        row->cols[3] = row->region;
        const struct builtin_role *br = builtin_role_find(ac->role);
        if (br && br->require_totp) {
            char secret[64], uri[256];
            if ((e = user_totp_enrol(d, row->user_id, ac->username, secret, uri)))
                return e;
            snprintf(row->note, sizeof row->note, "TOTP secret: %s", secret);
        }
    }
    struct account_row *res = &rows[DEMO_N(accounts)];
    *res = (struct account_row){.cols = {"citizen", DEMO_RESIDENT_PHONE, "(SMS)", DEMO_DISTRICT}};
    snprintf(res->note, sizeof res->note, "(sign in by phone; the code is in sms.log)");
    return E_OK;
}

static int64_t user_of(const struct account_row *rows, const char *username)
{
    for (size_t i = 0; i < DEMO_N(accounts); i++)
        if (!strcmp(rows[i].cols[1], username))
            return rows[i].user_id;
    return 0;
}

err demo_build(db *d, const struct demo_config *c, FILE *const *out, size_t n_out)
{
    int64_t n = 0;
    if (db_query_int64(d, "SELECT COUNT(*) FROM users WHERE username = 'command'", &n) == E_OK &&
        n > 0)
        return err_set(E_CONFLICT, "demo_exists", NULL, "演示数据已存在");
    /* the demo is regenerable: trade durability for speed while building */
    if (db_kind(d) == DB_SQLITE)
        /* speed only: the load is correct either way */
        err_ignore(db_exec(d, "PRAGMA synchronous=OFF"));
    /* The district is built DEMO_DAYS China days ago (and an hour), and
     * demo_case lives the days since through to now: every record keeps
     * the time it was made. Shifted before the first id of the district. */
    clock_shift(0);
    clock_shift(china_day_start(now_ms()) - DEMO_DAYS * DAY_MS - 3600000LL - now_ms());
    /* the command's own: `fangkong demo` has no request */
    arena *a = arena_new(1 << 20);
    struct layout L = {0};
    err e = build_regions(d, c, &L, a);
    if (!e)
        e = build_people(d, c, &L);
    long ncomm = NSTREETS * L.communities;
    int64_t *comm_places = arena_alloc(a, sizeof(int64_t) * (size_t)ncomm);
    int64_t markets[NSTREETS];
    if (!e)
        e = demo_places(d, c->seed, c->persons, L.community_codes, ncomm, L.street_codes, NSTREETS,
                        comm_places, markets);
    struct account_row rows[NACCOUNTS];
    if (!e)
        e = build_accounts(d, a, c, &L, rows);
    if (!e) {
        struct demo_world w = {.communities = L.community_codes,
                               .community_places = comm_places,
                               .ncomm = ncomm,
                               .streets = L.street_codes,
                               .market_places = markets,
                               .nstreets = NSTREETS,
                               .buildings = L.building_codes,
                               .nbuildings = L.nbuildings,
                               .command_user = user_of(rows, "command"),
                               .checkpoint_user = user_of(rows, "checkpoint"),
                               .community_user = user_of(rows, "community"),
                               .doctor_user = user_of(rows, "doctor"),
                               .district_doctor_user = user_of(rows, "cdcdoctor"),
                               .grid_user = user_of(rows, "grid"),
                               .street_user = user_of(rows, "street"),
                               .site_user = user_of(rows, "site"),
                               .courier_user = user_of(rows, "courier"),
                               .lab_user = user_of(rows, "lab"),
                               .delivery_user = user_of(rows, "kuaidi"),
                               .password = c->password,
                               .enterprise_user = user_of(rows, "enterprise")};
        uint64_t t0 = mono_us();
        e = demo_case(d, &w, c->seed, c->persons);
        char took[32];
        snprintf(took, sizeof took, "%.1f", (double)(mono_us() - t0) / 1e6);
        log_event(LOG_INFO, "demo_case_week", "seconds", took, NULL);
        clock_shift(0); /* today's activity happens now */
        if (!e)
            e = demo_activity(d, &w, c->seed);
        if (!e)
            e = demo_nat(d, &w, c->seed);
        if (!e)
            e = demo_video(d, &w, c->seed);
        if (!e)
            e = demo_hotline(d, &w, c->seed);
        if (!e)
            e = demo_supply(d, &w, c->seed); /* supplies (docs/supplies.md) */
        if (!e)
            e = demo_life(d, &w, c->seed); /* shop, parcels, volunteer projects */
        if (!e)
            e = demo_medical(d, &w, c->seed); /* medical resources (docs/supplies.md) */
        if (!e)
            e = demo_enterprise(d, &w, c->seed); /* resume work (docs/enterprise.md) */
        if (!e)
            e = demo_content(d, &w, c->seed); /* inspections, notices, articles, a poll, an order */
        if (!e) {
            t0 = mono_us();
            e = demo_trace(d, &w, c->seed);
            snprintf(took, sizeof took, "%.2f", (double)(mono_us() - t0) / 1e6);
            log_event(LOG_INFO, "demo_trace", "seconds", took, NULL);
        }
    }
    clock_shift(0);
    demo_geo_reset();
    for (size_t i = 0; i < n_out && !e; i++)
        print_accounts(out[i], rows, NACCOUNTS);
    if (db_kind(d) == DB_SQLITE)
        /* back to the default (speed only, as above) */
        err_ignore(db_exec(d, "PRAGMA synchronous=FULL"));
    arena_free(&a);
    return e;
}

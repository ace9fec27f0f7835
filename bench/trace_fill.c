/*
 * The synthetic city of the contact-tracing bench (bench/trace.sh, docs/tracing.md
 * "Benchmark"): PERSONS people in households, VENUES venues of skewed
 * popularity and RECORDS access records (in and out pairs) over the DAYS
 * China days before today, written into a database the demo made (its regions and
 * accounts), with a few confirmed cases to trace.
 *
 *   people     minimal valid rows as person.c stores them (id number and
 *              name sealed, their keyed blind indexes), living in the demo's
 *              buildings, in households of 1 to 4 (`household` shared);
 *   venues     Zipf popularity (s = 1): rank 1 takes ~9% of all visits (at
 *              full size about ten thousand passages an hour at the evening
 *              peak), rank 1,000 a few an hour, most a handful a day; the
 *              first ranks are stations and malls, then markets, hospitals,
 *              schools, then restaurants, shops, offices, community gates;
 *   visits     RECORDS / 2, spread over the days with daily peaks (China
 *              time 07:00 to 22:00), a person drawn uniformly or, for half
 *              the visits, among the fifth of the city that moves most; 70%
 *              at one of the person's three habitual venues; stays as long
 *              as the venue's kind makes them (a gate a few minutes, a mall
 *              up to two hours, an office a working day); an `in` and its
 *              `out`, ids time-ordered as id_new makes them;
 *   cases      confirmed (status and a status change an hour ago), with the
 *              visits of the last 14 days written on purpose:
 *                typical   two visits a day at mid-popularity venues
 *                busy      the same and one evening (90 minutes) at rank 1
 *                commuter  the rank-1 station twice every working day and an
 *                          office: the worst realistic case for degree 2
 *              printed to stdout, one a line: "case KIND PERSON_ID".
 *
 * SQLite (a file path): prepared inserts in one transaction per table with
 * the journal off, the tables' secondary indexes dropped before and created
 * again after the load (whatever the migrations made them), then ANALYZE.
 * PostgreSQL (a postgres:// url): the same rows as COPY text through psql,
 * the indexes dropped and created again the same way, then ANALYZE.
 * Progress and rates go to stderr; the last line of stderr is
 * "fill persons=… records=… persons_s=… records_s=… index_s=… records_per_s=…".
 *
 *   build/bench_trace_fill KEYFILE DB PERSONS RECORDS [VENUES [DAYS [SEED]]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/id.h"
#include "base/validate.h"
#include "db/db.h"
#include "retention/retention.h"
#include "security/crypto.h"

#define PERSON_BASE 2000000000000LL
#define PLACE_BASE  3000000000000LL
#define VENUE_BASE  4000000000000LL
#define DAY_MS      86400000LL
#define CHINA_MS    (8 * 3600000LL)
#define CASE_DAYS   14
#define MAX_REGIONS 4096

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "欧阳"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳"};

/* ---- random numbers: splitmix64, reproducible from the seed ------------------------------ */

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    return mix(rng_state++);
}
static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static long below(long n)
{
    return (long)(rnd() % (uint64_t)n);
}

/* ---- the venues: kinds by rank and Zipf popularity ------------------------------------------ */

struct kind {
    const char *word, *label;
    int min_minutes, max_minutes;
};
static const struct kind kinds[] = {
    {"transport", "交通场站", 5, 30},
    {"market", "购物中心", 20, 120},
    {"market", "农贸市场", 10, 45},
    {"hospital", "医院", 30, 180},
    {"school", "学校", 60, 300},
    {"restaurant", "餐厅", 30, 90},
    {"shop", "商铺", 5, 30},
    {"office", "写字楼", 120, 480},
    {"community_gate", "小区门岗", 1, 5},
    {"public", "公共场所", 20, 120},
    {"testing_site", "核酸采样点", 5, 20},
};
enum { K_STATION, K_MALL, K_MARKET, K_HOSPITAL, K_SCHOOL, K_REST, K_SHOP, K_OFFICE, K_GATE };

static int kind_of_rank(long r)
{
    if (r < 10)
        return r % 2 ? K_MALL : K_STATION;
    if (r < 100)
        return K_MALL;
    if (r < 1000)
        return (int[]){K_MARKET, K_HOSPITAL, K_SCHOOL, K_MARKET}[r % 4];
    return K_REST + (int)(r % 6); /* restaurant, shop, office, gate, public, testing site */
}

static double *zipf_cdf; /* cumulative popularity by rank */
static long n_venues;

static long zipf_draw(double u)
{
    long lo = 0, hi = n_venues - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (zipf_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The person's k-th habitual venue (k < 3): the same draw every time. */
static long habitual(long p, int k)
{
    return zipf_draw((double)(mix(p * 3 + k) >> 11) / 9007199254740992.0);
}

/* ---- rows: prepared inserts (SQLite) or COPY text through psql (PostgreSQL) ------------------ */

struct sink {
    db *d;
    bool pg;
    FILE *copy;      /* psql's stdin while a COPY runs */
    const char *sql; /* the INSERT for SQLite */
    db_stmt *s;
    int col;
};

static err sink_row_begin(struct sink *k)
{
    k->col = 0;
    if (k->pg)
        return E_OK;
    return db_prepare(k->d, k->sql, &k->s);
}

static void sep(struct sink *k)
{
    if (k->col++ > 0)
        fputc('\t', k->copy);
}

static void put_int(struct sink *k, int64_t v)
{
    if (!k->pg) {
        db_bind_int64(k->s, ++k->col, v);
        return;
    }
    sep(k);
    fprintf(k->copy, "%lld", (long long)v);
}

/* Text without tabs, newlines or backslashes (every text here is ours). */
static void put_text(struct sink *k, const char *v)
{
    if (!k->pg) {
        db_bind_text(k->s, ++k->col, v);
        return;
    }
    sep(k);
    fputs(v, k->copy);
}

static void put_blob(struct sink *k, const uint8_t *v, size_t n)
{
    if (!k->pg) {
        db_bind_blob(k->s, ++k->col, v, n);
        return;
    }
    sep(k);
    fputs("\\\\x", k->copy);
    for (size_t i = 0; i < n; i++)
        fprintf(k->copy, "%02x", v[i]);
}

static err sink_row_end(struct sink *k)
{
    if (!k->pg)
        return db_run(k->s, NULL);
    fputc('\n', k->copy);
    return ferror(k->copy) ? E_IO : E_OK;
}

/* Open a table's load: SQLite one transaction, PostgreSQL a COPY of the
 * columns `cols` (psql reads the url from FK_FILL_URL: nothing spliced). */
static err sink_open(struct sink *k, const char *table, const char *cols, const char *insert_sql)
{
    k->sql = insert_sql;
    if (!k->pg)
        return db_begin(k->d);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "psql -q -v ON_ERROR_STOP=1 \"$FK_FILL_URL\" -c 'COPY %s (%s) FROM STDIN'", table,
             cols);
    k->copy = popen(cmd, "w");
    if (!k->copy)
        return E_IO;
    setvbuf(k->copy, NULL, _IOFBF, 1 << 20); /* large writes to psql */
    return E_OK;
}

static err sink_close(struct sink *k, err e)
{
    if (!k->pg) {
        if (e) {
            db_rollback(k->d);
            return e;
        }
        return db_commit(k->d);
    }
    int st = pclose(k->copy);
    k->copy = NULL;
    return e ? e : st ? E_IO : E_OK;
}

/* ---- secondary indexes: dropped before the load, made again after ---------------------------- */

struct index_def {
    char name[128];
    char sql[1024];
};

static struct index_def saved[32];
static int n_saved;

static err drop_indexes(db *d, const char *table)
{
    db_stmt *s;
    err e = db_prepare(d,
                       db_kind(d) == DB_POSTGRES
                           ? "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ? "
                             "AND indexname NOT LIKE '%_pkey'"
                           : "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                             "AND tbl_name = ? AND sql IS NOT NULL",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, table);
    int first = n_saved;
    bool row;
    while (!(e = db_row(s, &row)) && row && n_saved < 32) {
        snprintf(saved[n_saved].name, sizeof saved[0].name, "%s", db_col_text(s, 0));
        /* PostgreSQL spells a partitioned table's index "ON ONLY t", which
         * would make it for the parent alone: made again, it is for all */
        const char *def = db_col_text(s, 1), *only = strstr(def, " ON ONLY ");
        if (only)
            snprintf(saved[n_saved].sql, sizeof saved[0].sql, "%.*s ON %s", (int)(only - def), def,
                     only + strlen(" ON ONLY "));
        else
            snprintf(saved[n_saved].sql, sizeof saved[0].sql, "%s", def);
        n_saved++;
    }
    db_done(s);
    for (int i = first; !e && i < n_saved; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "DROP INDEX %s", saved[i].name); /* a name the catalogue gave */
        e = db_exec(d, sql);
    }
    return e;
}

/* Made again after the load, except those named in FK_FILL_SKIP_INDEXES
 * (comma-separated): a full-size run on a busy machine may leave out the
 * indexes tracing never reads, and says so. */
static err create_indexes(db *d)
{
    const char *skip = getenv("FK_FILL_SKIP_INDEXES");
    err e = E_OK;
    for (int i = 0; !e && i < n_saved; i++) {
        const char *at = skip ? strstr(skip, saved[i].name) : NULL;
        size_t n = strlen(saved[i].name);
        if (at && (at == skip || at[-1] == ',') && (at[n] == ',' || at[n] == '\0')) {
            fprintf(stderr, "fill: index %s left out (FK_FILL_SKIP_INDEXES)\n", saved[i].name);
            continue;
        }
        uint64_t t0 = mono_us();
        e = db_exec(d, saved[i].sql);
        fprintf(stderr, "fill: index %s %.1f s\n", saved[i].name, (mono_us() - t0) / 1e6);
    }
    return e;
}

/* ---- the city ---------------------------------------------------------------------------------
 */

static int64_t buildings[MAX_REGIONS], communities[MAX_REGIONS];
static int n_buildings, n_communities;

static err load_regions(db *d)
{
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT code, level FROM regions WHERE level IN (5, 7) ORDER BY code", &s);
    if (e)
        return e;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t code = db_col_int64(s, 0);
        if (db_col_int64(s, 1) == 7 && n_buildings < MAX_REGIONS)
            buildings[n_buildings++] = code;
        else if (db_col_int64(s, 1) == 5 && n_communities < MAX_REGIONS)
            communities[n_communities++] = code;
    }
    db_done(s);
    if (!e && (!n_buildings || !n_communities))
        e = err_set(E_NOT_FOUND, "no_regions", NULL,
                    "no communities or buildings: run `fangkong demo` first");
    return e;
}

static long n_persons;
static long case_ids[3];
static const char *const case_kinds[] = {"typical", "busy", "commuter"};

static bool is_case(long i)
{
    for (int c = 0; c < 3; c++)
        if (case_ids[c] == i)
            return true;
    return false;
}

/* Households: a new one starts where the hash says so (1 to 4 people). */
static err fill_persons(struct sink *k, int64_t now)
{
    static const char cols[] = "id, region_code, id_type, id_number_enc, id_number_bidx, name_enc, "
                               "name_bidx, household, household_relation, status, source, "
                               "created_at, updated_at";
    err e =
        sink_open(k, "persons", cols,
                  "INSERT INTO persons (id, region_code, id_type, id_number_enc, id_number_bidx, "
                  "name_enc, name_bidx, household, household_relation, status, source, "
                  "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    long family = -1;
    int member = 0;
    for (long i = 0; !e && i < n_persons; i++) {
        if (member == 0 || mix((uint64_t)i ^ 0xF00D) % 3 == 0 || member == 4) {
            family++;
            member = 0;
        }
        member++;
        char idn[19], name[32], household[48];
        int d = 1 + (int)(i % 28), m = 1 + (int)(i / 28 % 12), y = 1950 + (int)(i / 336 % 60);
        snprintf(idn, sizeof idn, "440305%04d%02d%02d%03d", y, m, d, (int)((i / 20160) % 1000));
        idn[17] = resident_id_check_char(idn);
        idn[18] = '\0';
        snprintf(name, sizeof name, "%s%s%s", surnames[i % 9], given[i % 10],
                 i % 3 ? given[(i / 10) % 10] : "");
        snprintf(household, sizeof household, "%ld单元%ld", family % 6 + 1, family / 6 + 101);
        uint8_t ib[BLIND_LEN], nb[BLIND_LEN], ic[64], nc[64];
        blind_index("persons.id_number", idn, ib);
        blind_index("persons.name", name, nb);
        if ((e = seal_buf("persons.id_number", idn, 18, ic)) ||
            (e = seal_buf("persons.name", name, strlen(name), nc)) || (e = sink_row_begin(k)))
            break;
        put_int(k, PERSON_BASE + i);
        put_int(k, buildings[family % n_buildings]);
        put_int(k, 1); /* a resident id card */
        put_blob(k, ic, 18 + SEAL_OVERHEAD);
        put_blob(k, ib, BLIND_LEN);
        put_blob(k, nc, strlen(name) + SEAL_OVERHEAD);
        put_blob(k, nb, BLIND_LEN);
        put_text(k, household);
        put_text(k, member == 1 ? "户主" : "家庭成员");
        put_text(k, is_case(i) ? "confirmed" : "normal");
        put_text(k, "import");
        put_int(k, now - 40 * DAY_MS);
        put_int(k, now - 40 * DAY_MS);
        e = sink_row_end(k);
    }
    return sink_close(k, e);
}

static err fill_venues(struct sink *k, int64_t now)
{
    long n_places = (n_venues + 9) / 10;
    err e = sink_open(k, "places", "id, region_code, kind, name, created_at, updated_at",
                      "INSERT INTO places (id, region_code, kind, name, created_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)");
    for (long p = 0; !e && p < n_places; p++) {
        char name[64];
        snprintf(name, sizeof name, "压测场所%ld", p + 1);
        if ((e = sink_row_begin(k)))
            break;
        put_int(k, PLACE_BASE + p);
        put_int(k, communities[p % n_communities]);
        put_text(k, "other");
        put_text(k, name);
        put_int(k, now - 60 * DAY_MS);
        put_int(k, now - 60 * DAY_MS);
        e = sink_row_end(k);
    }
    if ((e = sink_close(k, e)))
        return e;
    e = sink_open(k, "venues",
                  "id, region_code, place_id, kind, name, code_issued_at, created_at, updated_at",
                  "INSERT INTO venues (id, region_code, place_id, kind, name, code_issued_at, "
                  "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (long v = 0; !e && v < n_venues; v++) {
        const struct kind *kd = &kinds[kind_of_rank(v)];
        char name[64];
        snprintf(name, sizeof name, "%s%ld号", kd->label, v + 1);
        if ((e = sink_row_begin(k)))
            break;
        put_int(k, VENUE_BASE + v);
        put_int(k, communities[(v / 10) % n_communities]);
        put_int(k, PLACE_BASE + v / 10);
        put_text(k, kd->word);
        put_text(k, name);
        put_int(k, now - 60 * DAY_MS);
        put_int(k, now - 60 * DAY_MS);
        put_int(k, now - 60 * DAY_MS);
        e = sink_row_end(k);
    }
    return sink_close(k, e);
}

/* one passage: 24 bytes, a day's worth sorted by time */
struct rec {
    int64_t at;
    int32_t person, venue;
    int32_t in;
};

static int by_time(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static struct rec *day_buf;
static long day_n, day_cap;

static void visit(long person, long venue, int64_t in_at, int minutes)
{
    if (day_n + 2 > day_cap) {
        day_cap = day_cap ? day_cap * 2 : 1 << 20;
        day_buf = realloc(day_buf, (size_t)day_cap * sizeof *day_buf);
        if (!day_buf)
            abort();
    }
    int64_t out_at = in_at + minutes * 60000LL + below(60000);
    day_buf[day_n++] = (struct rec){in_at, (int32_t)person, (int32_t)venue, 1};
    day_buf[day_n++] = (struct rec){out_at, (int32_t)person, (int32_t)venue, 0};
}

/* A start time on day `day0` (China midnight, epoch ms): hours weighted
 * for the morning, lunch and evening peaks. */
static int64_t start_time(int64_t day0)
{
    static const int w[24] = {0, 0, 0, 0, 0, 0, 0, 2, 5, 4, 4, 5, 7, 5, 4, 4, 4, 5, 8, 8, 6, 3};
    int total = 0;
    for (int h = 0; h < 24; h++)
        total += w[h];
    int r = (int)below(total), h = 0;
    while (r >= w[h])
        r -= w[h++];
    return day0 + h * 3600000LL + below(3600000);
}

static int stay(long venue)
{
    const struct kind *kd = &kinds[kind_of_rank(venue)];
    return kd->min_minutes + (int)below(kd->max_minutes - kd->min_minutes + 1);
}

/* The cases' own visits on a day of their last 14. */
static void case_visits(int64_t day0, int day_of_case)
{
    for (int c = 0; c < 3; c++) {
        long p = case_ids[c];
        /* two visits at mid-popularity venues (ranks 200 to 5,000) */
        for (int j = 0; j < 2; j++) {
            long v = 200 + (long)(mix((uint64_t)p * 31 + (uint64_t)(day_of_case * 2 + j)) % 4800);
            visit(p, v, day0 + (j ? 19 : 12) * 3600000LL + below(3600000), stay(v));
        }
        if (c == 1 && day_of_case == CASE_DAYS - 3) /* busy: an evening at rank 1 */
            visit(p, 0, day0 + 18 * 3600000LL, 90);
        if (c == 2 && day_of_case % 7 < 5) { /* commuter: the station, an office */
            visit(p, 0, day0 + 8 * 3600000LL + below(600000), 20);
            visit(p, 1004 /* an office */, day0 + 9 * 3600000LL, 480);
            visit(p, 0, day0 + 18 * 3600000LL + below(600000), 20);
        }
    }
}

static err fill_records(struct sink *k, long records, int days, int64_t first_day0, long *written_r)
{
    static const char cols[] = "id, venue_id, region_code, person_id, direction, at, colour, "
                               "verdict, method, created_at";
    err e =
        sink_open(k, "access_records", cols,
                  "INSERT INTO access_records (id, venue_id, region_code, person_id, direction, "
                  "at, colour, verdict, method, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    long per_day = records / 2 / days, active = n_persons / 5 > 0 ? n_persons / 5 : 1;
    int64_t last_ms = -1, seq = 0;
    long written = 0;
    for (int day = 0; !e && day < days; day++) {
        int64_t day0 = first_day0 + day * DAY_MS;
        day_n = 0;
        for (long i = 0; i < per_day; i++) {
            long p = rnd() & 1 ? below(active) * 5 + below(5) : below(n_persons);
            long v = unit() < 0.7 ? habitual(p, (int)below(3)) : zipf_draw(unit());
            visit(p, v, start_time(day0), stay(v));
        }
        if (day >= days - CASE_DAYS)
            case_visits(day0, day - (days - CASE_DAYS));
        qsort(day_buf, (size_t)day_n, sizeof *day_buf, by_time);
        for (long i = 0; !e && i < day_n; i++) {
            const struct rec *r = &day_buf[i];
            seq = r->at == last_ms ? seq + 1 : 0;
            last_ms = r->at;
            if ((e = sink_row_begin(k)))
                break;
            put_int(k, id_min_at(r->at) + seq);
            put_int(k, VENUE_BASE + r->venue);
            put_int(k, communities[(r->venue / 10) % n_communities]);
            put_int(k, PERSON_BASE + r->person);
            put_text(k, r->in ? "in" : "out");
            put_int(k, r->at);
            put_text(k, "green");
            put_text(k, "pass");
            put_text(k, r->venue % 3 ? "self_scan" : "staff_scan");
            put_int(k, r->at);
            e = sink_row_end(k);
        }
        written += day_n;
        fprintf(stderr, "fill: day %d/%d, %ld records\n", day + 1, days, written);
    }
    *written_r = written;
    return sink_close(k, e);
}

/* The cases' status changes (the engine's default window starts there). */
static err mark_cases(db *d, int64_t now)
{
    err e = db_begin(d);
    for (int c = 0; !e && c < 3; c++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO status_changes (id, person_id, region_code, from_status, "
                            "to_status, infection_route, at, user_id) SELECT ?, id, region_code, "
                            "'normal', 'confirmed', 'local', ?, 1 FROM persons WHERE id = ?",
                            &s)))
            break;
        db_bind_int64(s, 1, id_min_at(now - 3600000) + c);
        db_bind_int64(s, 2, now - 3600000);
        db_bind_int64(s, 3, PERSON_BASE + case_ids[c]);
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static int fail(const char *what)
{
    fprintf(stderr, "trace_fill: %s: %s\n", what, err_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 8) {
        fprintf(stderr, "usage: %s KEYFILE DB PERSONS RECORDS [VENUES [DAYS [SEED]]]\n", argv[0]);
        return 2;
    }
    n_persons = strtol(argv[3], NULL, 10);
    long records = strtol(argv[4], NULL, 10);
    n_venues = argc > 5 ? strtol(argv[5], NULL, 10) : 50000;
    int days = argc > 6 ? atoi(argv[6]) : 30;
    rng_state = argc > 7 ? strtoull(argv[7], NULL, 10) : 1;
    if (n_persons < 100 || n_persons > 20160000 || records < 2 || n_venues < 1100 ||
        days < CASE_DAYS || days > 62) {
        fprintf(stderr, "trace_fill: persons 100..20,160,000, venues >= 1,100, days 14..62\n");
        return 2;
    }
    if (keys_load(argv[1]))
        return fail("keys");
    db *d;
    if (db_open(argv[2], &d))
        return fail("database");
    struct sink k = {.d = d, .pg = db_kind(d) == DB_POSTGRES};
    if (k.pg)
        setenv("FK_FILL_URL", argv[2], 1);
    else if (db_exec(d, "PRAGMA journal_mode=OFF") || db_exec(d, "PRAGMA synchronous=OFF") ||
             db_exec(d, "PRAGMA cache_size=-1048576") || db_exec(d, "PRAGMA threads=2") ||
             db_exec(d, "PRAGMA temp_store=FILE") /* the index sorts spill to disk */ ||
             db_exec(d, "PRAGMA foreign_keys=OFF"))
        return fail("pragmas");
    if (load_regions(d))
        return fail("regions");

    zipf_cdf = malloc((size_t)n_venues * sizeof *zipf_cdf);
    if (!zipf_cdf)
        return 1;
    double sum = 0;
    for (long r = 0; r < n_venues; r++)
        zipf_cdf[r] = sum += 1.0 / (double)(r + 1);
    for (long r = 0; r < n_venues; r++)
        zipf_cdf[r] /= sum;
    /* three cases spread over the city, none in the first households */
    case_ids[0] = n_persons / 2 + 1;
    case_ids[1] = n_persons / 3 + 2;
    case_ids[2] = n_persons * 2 / 3 + 3;

    /* China midnight of the first day: the last day is yesterday */
    int64_t now = now_ms();
    int64_t today0 = (now + CHINA_MS) / DAY_MS * DAY_MS - CHINA_MS;
    int64_t first_day0 = today0 - days * DAY_MS;

    uint64_t t0 = mono_us();
    /* PostgreSQL: the months of the data (sql/049), before the load */
    if (retention_partitions_ensure(d, first_day0, now + RETENTION_AHEAD_MS, NULL))
        return fail("partitions");
    if (drop_indexes(d, "persons") || drop_indexes(d, "access_records"))
        return fail("drop indexes");
    if (fill_venues(&k, now))
        return fail("venues");
    if (fill_persons(&k, now))
        return fail("persons");
    uint64_t t1 = mono_us();
    fprintf(stderr, "fill: %ld persons in %.1f s\n", n_persons, (t1 - t0) / 1e6);
    long written = 0;
    if (fill_records(&k, records, days, first_day0, &written))
        return fail("records");
    uint64_t t2 = mono_us();
    fprintf(stderr, "fill: %ld records in %.1f s (%.0f/s)\n", written, (t2 - t1) / 1e6,
            written / ((t2 - t1) / 1e6));
    if (create_indexes(d) || (!k.pg && db_exec(d, "PRAGMA analysis_limit=1000")) ||
        db_exec(d, "ANALYZE"))
        return fail("indexes");
    uint64_t t3 = mono_us();
    if (mark_cases(d, now))
        return fail("cases");
    if (!k.pg && db_exec(d, "PRAGMA journal_mode=WAL"))
        return fail("journal");
    db_close(&d);
    for (int c = 0; c < 3; c++)
        printf("case %s %lld\n", case_kinds[c], PERSON_BASE + case_ids[c]);
    fprintf(stderr,
            "fill persons=%ld records=%ld persons_s=%.1f records_s=%.1f index_s=%.1f "
            "records_per_s=%.0f\n",
            n_persons, written, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6,
            written / ((t2 - t1) / 1e6));
    return 0;
}

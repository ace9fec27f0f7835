/*
 * The 14-day itinerary (行程卡; trace.h "the 14-day itinerary"; docs/tracing.md):
 * the evidence of where a person was (access records, trips, declarations,
 * nucleic-acid samples) read for a window, the stay rule applied to it per
 * China day and place, the risk areas marked, the tree's places named.
 *
 * itinerary_pair and itinerary_compute are pure (tests/unit/test_itinerary.c
 * tests the rule at its edges); the rest reads the database. Nothing here
 * masks or audits: the handlers (itinerary_api.c) do, as they know who asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/catchup.h"
#include "base/time.h"
#include "trace/trace.h"

#define STAY_HOURS_KEY "itinerary_stay_hours"
/* days a place can touch: a window of ITINERARY_DAYS_MAX days not starting
 * at midnight spans one more */
#define WINDOW_DAYS (ITINERARY_DAYS_MAX + 1)

/* ---- pairing access records ----------------------------------------------------------- */

size_t itinerary_pair(arena *a, size_t n, const int64_t *venues, const int64_t *regions,
                      const bool *in, const int64_t *at, struct itinerary_span *out)
{
    size_t k = 0;
    bool *used = arena_zalloc(a, (n ? n : 1) * sizeof *used); /* an "out" already paired */
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        struct itinerary_span s = {.region_code = regions[i],
                                   .place = "",
                                   .from = at[i],
                                   .to = at[i],
                                   .source = ITIN_ACCESS};
        if (in[i]) {
            /* the person's next record at this venue, if it is the way out */
            for (size_t j = i + 1; j < n && at[j] - at[i] <= ITINERARY_PAIR_MAX_MS; j++) {
                if (venues[j] != venues[i] || used[j])
                    continue;
                if (!in[j]) {
                    s.to = at[j];
                    used[j] = true;
                }
                break;
            }
        }
        out[k++] = s;
    }
    return k;
}

/* ---- the rule ------------------------------------------------------------------------- */

struct acc {
    struct itinerary_place p;
    int64_t ms[WINDOW_DAYS]; /* time in the place per day of the window */
    bool seen[WINDOW_DAYS];
};

/* One name contains the other: a city's name and an area named below it. */
static bool names_match(const char *place, const char *area)
{
    return place && area && *place && *area && (strstr(area, place) || strstr(place, area));
}

static bool area_covers(const struct itinerary_area *ar, const struct itinerary_span *s,
                        int64_t from, int64_t to)
{
    int64_t end = to > from ? to : from + 1;
    if (ar->valid_from >= end || (ar->valid_to && from >= ar->valid_to))
        return false;
    if (ar->region_code)
        return s->region_code && regcode_within(s->region_code, ar->region_code);
    return !s->region_code && names_match(s->place, ar->name);
}

/* The mark a place keeps: the higher level, then the later start. */
static const struct itinerary_area *worse(const struct itinerary_area *a,
                                          const struct itinerary_area *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->level != b->level)
        return a->level > b->level ? a : b;
    return a->valid_from >= b->valid_from ? a : b;
}

static int place_cmp(const void *x, const void *y)
{
    const struct itinerary_place *a = x, *b = y;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->first_at != b->first_at)
        return a->first_at < b->first_at ? -1 : 1;
    if (a->region_code != b->region_code)
        return a->region_code < b->region_code ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The places a span counts in: its city, district and street in the tree
 * (those its code reaches), or its named city outside. */
static size_t keys_of(const struct itinerary_span *s, struct itinerary_place keys[3])
{
    static const enum region_level levels[] = {LEVEL_CITY, LEVEL_DISTRICT, LEVEL_STREET};
    size_t n = 0;
    if (!s->region_code) {
        if (s->place && *s->place)
            keys[n++] = (struct itinerary_place){.level = LEVEL_CITY, .name = s->place};
        return n;
    }
    enum region_level lv = regcode_level(s->region_code);
    for (size_t i = 0; i < 3; i++)
        if (lv >= levels[i])
            keys[n++] =
                (struct itinerary_place){.level = levels[i],
                                         .region_code = regcode_at_most(s->region_code, levels[i]),
                                         .name = "",
                                         .city_code = regcode_at_most(s->region_code, LEVEL_CITY)};
    return n;
}

static struct acc *acc_find(arena *a, struct acc **accs, size_t *n, size_t *cap,
                            const struct itinerary_place *k)
{
    for (size_t i = 0; i < *n; i++) {
        struct itinerary_place *p = &(*accs)[i].p;
        if (p->level == k->level && p->region_code == k->region_code &&
            (k->region_code || !strcmp(p->name, k->name)))
            return &(*accs)[i];
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct acc *grown = arena_alloc(a, nc * sizeof *grown);
        if (*n)
            memcpy(grown, *accs, *n * sizeof *grown);
        *accs = grown;
        *cap = nc;
    }
    struct acc *x = &(*accs)[(*n)++];
    memset(x, 0, sizeof *x);
    x->p = *k;
    x->p.first_at = INT64_MAX;
    return x;
}

void itinerary_compute(arena *a, const struct itinerary_span *spans, size_t n, int64_t from,
                       int64_t to, int64_t stay_ms, const struct itinerary_area *areas,
                       size_t n_areas, struct itinerary_place **places_r, size_t *n_r)
{
    struct acc *accs = NULL;
    size_t na = 0, cap = 0;
    int64_t day0 = china_day(from);
    for (size_t i = 0; i < n; i++) {
        const struct itinerary_span *s = &spans[i];
        int64_t f = s->from, t = s->to;
        if (t > f) {
            f = f > from ? f : from;
            t = t < to ? t : to;
            if (f >= t)
                continue;
        } else if (f < from || f >= to) {
            continue;
        }
        const struct itinerary_area *mark = NULL;
        for (size_t j = 0; j < n_areas; j++)
            if (area_covers(&areas[j], s, f, t))
                mark = worse(mark, &areas[j]);
        struct itinerary_place keys[3];
        size_t nk = keys_of(s, keys);
        for (size_t k = 0; k < nk; k++) {
            struct acc *x = acc_find(a, &accs, &na, &cap, &keys[k]);
            struct itinerary_place *p = &x->p;
            p->sources |= s->source;
            p->stay = p->stay || s->stay;
            p->first_at = f < p->first_at ? f : p->first_at;
            p->last_at = t > p->last_at ? t : p->last_at;
            p->risk = worse(p->risk, mark);
            /* the time of the span on each China day it touches */
            for (int64_t at = f;;) {
                int64_t d = china_day(at) - day0, next = china_day_start(at) + TOKEN_DAY_MS;
                int64_t end = t < next ? t : next;
                if (d >= 0 && d < WINDOW_DAYS) {
                    x->seen[d] = true;
                    x->ms[d] += end - at;
                }
                if (end >= t)
                    break;
                at = end;
            }
        }
    }
    struct itinerary_place *out = arena_alloc(a, (na ? na : 1) * sizeof *out);
    for (size_t i = 0; i < na; i++) {
        struct itinerary_place *p = &accs[i].p;
        for (int d = 0; d < WINDOW_DAYS; d++) {
            p->days += accs[i].seen[d];
            if (accs[i].ms[d] > p->longest_ms)
                p->longest_ms = accs[i].ms[d];
        }
        if (p->longest_ms >= stay_ms)
            p->stay = true;
        out[i] = *p;
    }
    qsort(out, na, sizeof *out, place_cmp);
    *places_r = out;
    *n_r = na;
}

/* ---- the setting ---------------------------------------------------------------------- */

err itinerary_stay_hours(db *d, int *hours_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT value FROM settings WHERE key = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, STAY_HOURS_KEY);
    bool row;
    int h = ITINERARY_STAY_HOURS;
    if (!(e = db_row(s, &row)) && row) {
        long v = strtol(db_col_text(s, 0), NULL, 10);
        if (v >= ITINERARY_STAY_HOURS_MIN && v <= ITINERARY_STAY_HOURS_MAX)
            h = (int)v;
    }
    db_done(s);
    if (!e)
        *hours_r = h;
    return e;
}

err itinerary_stay_hours_set(db *d, int hours)
{
    if (hours < ITINERARY_STAY_HOURS_MIN || hours > ITINERARY_STAY_HOURS_MAX)
        return err_set(E_INPUT, "invalid_value", "stay_hours", "停留时长应为%d到%d小时",
                       ITINERARY_STAY_HOURS_MIN, ITINERARY_STAY_HOURS_MAX);
    char v[16];
    snprintf(v, sizeof v, "%d", hours);
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, STAY_HOURS_KEY);
    db_bind_text(s, 2, v);
    return db_run(s, NULL);
}

/* ---- reading the evidence ------------------------------------------------------------- */

struct spans {
    struct itinerary_span *v;
    size_t n, cap;
};

static void spans_push(arena *a, struct spans *sp, struct itinerary_span s)
{
    if (sp->n == sp->cap) {
        size_t nc = sp->cap ? sp->cap * 2 : 64;
        struct itinerary_span *g = arena_alloc(a, nc * sizeof *g);
        if (sp->n)
            memcpy(g, sp->v, sp->n * sizeof *g);
        sp->v = g;
        sp->cap = nc;
    }
    sp->v[sp->n++] = s;
}

static err read_access(db *d, arena *a, int64_t person, int64_t from, int64_t to, struct spans *sp)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT venue_id, region_code, direction, at FROM access_records "
                       "WHERE person_id = ? AND at >= ? AND at < ? AND verdict = 'pass' "
                       "ORDER BY at, id LIMIT ?",
                       &s);
    if (e)
        return e;
    /* an "in" up to a day before the window pairs with an "out" inside it */
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, from - ITINERARY_PAIR_MAX_MS);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    size_t cap = 64, n = 0;
    int64_t *venues = arena_alloc(a, cap * sizeof *venues),
            *regions = arena_alloc(a, cap * sizeof *regions),
            *at = arena_alloc(a, cap * sizeof *at);
    bool *in = arena_alloc(a, cap * sizeof *in), row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            cap *= 2;
            int64_t *v2 = arena_alloc(a, cap * sizeof *v2), *r2 = arena_alloc(a, cap * sizeof *r2),
                    *t2 = arena_alloc(a, cap * sizeof *t2);
            bool *i2 = arena_alloc(a, cap * sizeof *i2);
            memcpy(v2, venues, n * sizeof *v2);
            memcpy(r2, regions, n * sizeof *r2);
            memcpy(t2, at, n * sizeof *t2);
            memcpy(i2, in, n * sizeof *i2);
            venues = v2, regions = r2, at = t2, in = i2;
        }
        venues[n] = db_col_int64(s, 0);
        regions[n] = db_col_int64(s, 1);
        in[n] = !strcmp(db_col_text(s, 2), "in");
        at[n] = db_col_int64(s, 3);
        n++;
    }
    db_done(s);
    if (e)
        return e;
    struct itinerary_span *out = arena_alloc(a, (n ? n : 1) * sizeof *out);
    size_t k = itinerary_pair(a, n, venues, regions, in, at, out);
    for (size_t i = 0; i < k; i++)
        spans_push(a, sp, out[i]);
    return E_OK;
}

/* The epoch ms at which China date yyyymmdd begins (0 when it is no date). */
static int64_t date_start(int32_t ymd)
{
    char buf[16];
    int64_t ms = 0;
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)(ymd / 10000), (int)(ymd / 100 % 100),
             (int)(ymd % 100));
    return china_time_parse(buf, &ms) ? ms : 0;
}

static err read_trips(db *d, arena *a, int64_t person, int64_t from, int64_t to, int64_t now,
                      struct spans *sp)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT departed_on, returned_on, destination FROM trips "
                       "WHERE person_id = ? AND deleted_at = 0 AND departed_on <= ? "
                       "AND (returned_on = 0 OR returned_on >= ?) ORDER BY departed_on LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, china_date(to - 1));
    db_bind_int64(s, 3, china_date(from));
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int32_t out_on = (int32_t)db_col_int64(s, 0), back_on = (int32_t)db_col_int64(s, 1);
        int64_t f = date_start(out_on), t = back_on ? date_start(back_on) + TOKEN_DAY_MS : now;
        if (f && t > f)
            spans_push(a, sp,
                       (struct itinerary_span){.place = arena_strdup(a, db_col_text(s, 2)),
                                               .from = f,
                                               .to = t,
                                               .source = ITIN_TRIP,
                                               .stay = true});
    }
    db_done(s);
    if (e)
        return e;
    /* the waypoints at venues of the registry: visits of their stay */
    if ((e = db_prepare(d,
                        "SELECT w.arrived_at, w.stay_minutes, v.region_code FROM trip_waypoints w "
                        "JOIN trips t ON t.id = w.trip_id JOIN venues v ON v.id = w.venue_id "
                        "WHERE t.person_id = ? AND t.deleted_at = 0 AND w.venue_id <> 0 "
                        "AND w.arrived_at >= ? AND w.arrived_at < ? LIMIT ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, from - ITINERARY_PAIR_MAX_MS);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    while (!(e = db_row(s, &row)) && row) {
        int64_t at = db_col_int64(s, 0);
        spans_push(a, sp,
                   (struct itinerary_span){.region_code = db_col_int64(s, 2),
                                           .place = "",
                                           .from = at,
                                           .to = at + db_col_int64(s, 1) * 60000,
                                           .source = ITIN_TRIP});
    }
    db_done(s);
    return e;
}

/* The regions a declaration names as passed through (途经地区): passages. */
static err read_declarations(db *d, arena *a, int64_t person, int64_t from, int64_t to,
                             struct spans *sp)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT at, travel_regions FROM declarations WHERE person_id = ? "
                       "AND at >= ? AND at < ? AND travel_regions <> '' LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t at = db_col_int64(s, 0);
        const char *list = db_col_text(s, 1);
        while (*list) {
            size_t len = strcspn(list, ",");
            char buf[24];
            enum region_level lv;
            int64_t code = -1;
            if (len < sizeof buf) {
                memcpy(buf, list, len);
                buf[len] = '\0';
                code = regcode_parse(buf, &lv);
            }
            if (code > 0)
                spans_push(a, sp,
                           (struct itinerary_span){.region_code = code,
                                                   .place = "",
                                                   .from = at,
                                                   .to = at,
                                                   .source = ITIN_DECLARATION});
            list += len + (list[len] == ',');
        }
    }
    db_done(s);
    return e;
}

static err read_samples(db *d, arena *a, int64_t person, int64_t from, int64_t to, struct spans *sp)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT at, region_code FROM nat_samples WHERE person_id = ? "
                       "AND at >= ? AND at < ? LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        int64_t at = db_col_int64(s, 0);
        spans_push(a, sp,
                   (struct itinerary_span){.region_code = db_col_int64(s, 1),
                                           .place = "",
                                           .from = at,
                                           .to = at,
                                           .source = ITIN_NAT});
    }
    db_done(s);
    return e;
}

/* The operator's visited places (itinerary_telecom_store): stays by name. */
static err read_telecom(db *d, arena *a, int64_t person, int64_t from, int64_t to, struct spans *sp)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT place, from_at, to_at FROM itinerary_telecom WHERE person_id = ? "
                       "AND to_at >= ? AND from_at < ? LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, to);
    db_bind_int64(s, 4, ITINERARY_SPANS_MAX);
    bool row;
    while (!(e = db_row(s, &row)) && row)
        spans_push(a, sp,
                   (struct itinerary_span){.region_code = 0,
                                           .place = arena_strdup(a, db_col_text(s, 0)),
                                           .from = db_col_int64(s, 1),
                                           .to = db_col_int64(s, 2),
                                           .source = ITIN_TELECOM,
                                           .stay = true});
    db_done(s);
    return e;
}

err itinerary_telecom_store(db *d, int64_t query_id, int64_t person_id,
                            const struct itinerary_span *spans, size_t n)
{
    err e = E_OK;
    for (size_t i = 0; i < n && !e; i++) {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO itinerary_telecom (query_id, seq, person_id, place, "
                            "from_at, to_at) VALUES (?, ?, ?, ?, ?, ?)",
                            &s)))
            break;
        db_bind_int64(s, 1, query_id);
        db_bind_int64(s, 2, (int64_t)i);
        db_bind_int64(s, 3, person_id);
        db_bind_text(s, 4, spans[i].place);
        db_bind_int64(s, 5, spans[i].from);
        db_bind_int64(s, 6, spans[i].to);
        e = db_run(s, NULL);
    }
    return e;
}

/* The risk areas whose window overlaps [from, to). */
static err read_areas(db *d, arena *a, int64_t from, int64_t to, struct itinerary *it)
{
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT id, region_code, name, level, valid_from, valid_to FROM risk_areas "
                   "WHERE valid_from < ? AND (valid_to = 0 OR valid_to > ?) ORDER BY id LIMIT ?",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, to);
    db_bind_int64(s, 2, from);
    db_bind_int64(s, 3, ITINERARY_SPANS_MAX);
    size_t cap = 16, n = 0;
    struct itinerary_area *v = arena_alloc(a, cap * sizeof *v);
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        if (n == cap) {
            struct itinerary_area *g = arena_alloc(a, 2 * cap * sizeof *g);
            memcpy(g, v, n * sizeof *g);
            v = g;
            cap *= 2;
        }
        v[n++] = (struct itinerary_area){.id = db_col_int64(s, 0),
                                         .region_code = db_col_int64(s, 1),
                                         .name = arena_strdup(a, db_col_text(s, 2)),
                                         .level = (int)db_col_int64(s, 3),
                                         .valid_from = db_col_int64(s, 4),
                                         .valid_to = db_col_int64(s, 5)};
    }
    db_done(s);
    it->areas = v;
    it->n_areas = n;
    return e;
}

static err name_places(db *d, arena *a, struct itinerary *it)
{
    err e = E_OK;
    for (size_t i = 0; !e && i < it->n_places; i++) {
        struct itinerary_place *p = &it->places[i];
        db_stmt *s;
        if (!p->region_code || (e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s)))
            continue;
        db_bind_int64(s, 1, p->region_code);
        bool row;
        if (!(e = db_row(s, &row))) {
            if (row) {
                p->name = arena_strdup(a, db_col_text(s, 0));
            } else {
                /* a code the tree lacks (an older declaration): shown by its code */
                char code[19];
                regcode_format(p->region_code, code);
                p->name = arena_strdup(a, code);
            }
        }
        db_done(s);
    }
    return e;
}

err itinerary_build(db *d, arena *a, int64_t person_id, int days, int64_t now,
                    struct itinerary *it_r)
{
    if (days < 1 || days > ITINERARY_DAYS_MAX)
        return err_set(E_INPUT, "invalid_parameter", "days", "天数应为1到%d", ITINERARY_DAYS_MAX);
    struct itinerary it = {
        .person_id = person_id, .days = days, .from = now - days * TOKEN_DAY_MS, .to = now + 1};
    struct spans sp = {0};
    db_catch_up(); /* every acknowledged scan (db/catchup.h) */
    err e = itinerary_stay_hours(d, &it.stay_hours);
    if (!e)
        e = read_access(d, a, person_id, it.from, it.to, &sp);
    if (!e)
        e = read_trips(d, a, person_id, it.from, it.to, now, &sp);
    if (!e)
        e = read_declarations(d, a, person_id, it.from, it.to, &sp);
    if (!e)
        e = read_samples(d, a, person_id, it.from, it.to, &sp);
    if (!e)
        e = read_telecom(d, a, person_id, it.from, it.to, &sp);
    if (!e)
        e = read_areas(d, a, it.from, it.to, &it);
    if (!e) {
        itinerary_compute(a, sp.v, sp.n, it.from, it.to, it.stay_hours * 3600000LL, it.areas,
                          it.n_areas, &it.places, &it.n_places);
        e = name_places(d, a, &it);
    }
    if (!e)
        *it_r = it;
    return e;
}

/* ---- the card ------------------------------------------------------------------------- */

err itinerary_token(int64_t person_id, int64_t now, char out[TOKEN_MAX], int64_t *valid_until_r)
{
    int64_t until = china_day_start(now) + TOKEN_DAY_MS;
    struct token t = {
        .kind = TOKEN_ITINERARY, .subject = person_id, .issued_at = now, .expires_at = until};
    err e = token_issue(&t, out);
    if (!e)
        *valid_until_r = until;
    return e;
}

static const char *level_api(enum region_level lv)
{
    return region_level_name(lv);
}

static json_t *risk_json(const struct itinerary_area *r)
{
    if (!r)
        return json_null();
    json_t *o = json_object();
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "name", json_string(r->name));
    json_object_set_new(o, "level", json_string(r->level >= 2 ? "high" : "medium"));
    json_object_set_new(o, "level_label", json_string(r->level >= 2 ? "高风险" : "中风险"));
    json_object_set_new(o, "valid_from", json_integer(r->valid_from));
    json_object_set_new(o, "valid_to", json_integer(r->valid_to));
    return o;
}

static json_t *sources_json(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{ITIN_ACCESS, "access"},
                 {ITIN_TRIP, "trip"},
                 {ITIN_DECLARATION, "declaration"},
                 {ITIN_NAT, "nat"},
                 {ITIN_TELECOM, "telecom"}};
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bits & names[i].bit)
            json_array_append_new(arr, json_string(names[i].name));
    return arr;
}

static json_t *place_json(const struct itinerary_place *p)
{
    json_t *o = json_object();
    char code[19];
    json_object_set_new(o, "level", json_string(level_api(p->level)));
    if (p->region_code) {
        regcode_format(p->region_code, code);
        json_object_set_new(o, "region_code", json_string(code));
    } else {
        json_object_set_new(o, "region_code", json_null());
    }
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "first_at", json_integer(p->first_at));
    json_object_set_new(o, "last_at", json_integer(p->last_at));
    json_object_set_new(o, "longest_minutes", json_integer(p->longest_ms / 60000));
    json_object_set_new(o, "days", json_integer(p->days));
    json_object_set_new(o, "sources", sources_json(p->sources));
    json_object_set_new(o, "risk", risk_json(p->risk));
    return o;
}

json_t *itinerary_cities_json(const struct itinerary *it, bool *risky_r)
{
    json_t *arr = json_array();
    bool risky = false;
    for (size_t i = 0; i < it->n_places; i++) {
        const struct itinerary_place *c = &it->places[i];
        if (c->level != LEVEL_CITY || !c->stay)
            continue;
        /* a city is marked when a stay inside it is (a street's stay in a
         * risk area marks the city even when the city's own mark came from
         * a passage elsewhere) */
        const struct itinerary_area *mark = c->risk;
        if (c->region_code) {
            mark = NULL;
            for (size_t j = 0; j < it->n_places; j++)
                if (it->places[j].stay && it->places[j].city_code == c->region_code)
                    mark = worse(mark, it->places[j].risk);
        }
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "risk", json_boolean(mark != NULL));
        json_object_set_new(o, "risk_level",
                            mark ? json_string(mark->level >= 2 ? "high" : "medium") : json_null());
        json_object_set_new(o, "risk_area", mark ? json_string(mark->name) : json_null());
        json_array_append_new(arr, o);
        risky = risky || mark;
    }
    if (risky_r)
        *risky_r = risky;
    return arr;
}

json_t *itinerary_json(const struct itinerary *it)
{
    json_t *o = json_object(), *stays = json_array(), *passages = json_array();
    json_object_set_new(o, "days", json_integer(it->days));
    json_object_set_new(o, "from", json_integer(it->from));
    json_object_set_new(o, "to", json_integer(it->to - 1));
    json_object_set_new(o, "stay_hours", json_integer(it->stay_hours));
    for (size_t i = 0; i < it->n_places; i++)
        json_array_append_new(it->places[i].stay ? stays : passages, place_json(&it->places[i]));
    json_object_set_new(o, "stays", stays);
    json_object_set_new(o, "passages", passages);
    bool risky;
    json_object_set_new(o, "cities", itinerary_cities_json(it, &risky));
    json_object_set_new(o, "risk", json_boolean(risky));
    return o;
}

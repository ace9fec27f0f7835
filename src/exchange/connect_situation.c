/*
 * National and provincial situation data (全国疫情实时数据, seed 001 §5.2;
 * peer kind "situation"; connect.h): the daily figures of the country and
 * of each province, fetched on a schedule from the configured source and
 * kept per (area, day) for the trend pages. The seed's "crawl the
 * internet" becomes a source that answers one documented JSON form (an
 * adapter in front of whatever site or feed the operator chooses), signed
 * like every peer, so figures of unknown origin never reach the charts.
 */
#include "exchange/connect.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "db/periodic.h"

#define LABEL     "疫情数据源"
#define BACK_DAYS 30 /* each import asks again for this many days: late corrections land */

static const char *const counts[] = {"confirmed", "suspected",    "cured",
                                     "deaths",    "asymptomatic", "new_confirmed"};
#define NCOUNTS (sizeof counts / sizeof counts[0])
_Static_assert(NCOUNTS == SITUATION_COUNTS, "connect.h counts the figures");

/* A 6-digit area code: the country, or a province (two digits then
 * "0000"). */
static bool area_ok(const char *s)
{
    if (!s || strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return !strcmp(s + 2, "0000");
}

bool situation_row_parse(json_t *r, struct situation_row *row_r)
{
    const char *area = json_string_value(json_object_get(r, "area"));
    const char *day = json_string_value(json_object_get(r, "day"));
    const char *name = json_string_value(json_object_get(r, "area_name"));
    int64_t dn;
    if (!area_ok(area) || !day || strlen(day) != 10 || !china_date_day(day, &dn) || !name ||
        !*name || strlen(name) > 60)
        return false;
    for (size_t k = 0; k < NCOUNTS; k++) {
        json_t *x = json_object_get(r, counts[k]);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return false;
        row_r->v[k] = json_integer_value(x);
    }
    row_r->area = area;
    row_r->day = day;
    row_r->area_name = name;
    return true;
}

static err upsert(db *d, const char *area, const char *day, const char *name,
                  const int64_t v[SITUATION_COUNTS], const char *source, int64_t now)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO situation_daily (area, day, area_name, confirmed, suspected, "
                       "cured, deaths, asymptomatic, new_confirmed, source, fetched_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (area, day) DO UPDATE SET area_name = excluded.area_name, "
                       "confirmed = excluded.confirmed, suspected = excluded.suspected, "
                       "cured = excluded.cured, deaths = excluded.deaths, "
                       "asymptomatic = excluded.asymptomatic, "
                       "new_confirmed = excluded.new_confirmed, source = excluded.source, "
                       "fetched_at = excluded.fetched_at",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, area);
    db_bind_text(s, 2, day);
    db_bind_text(s, 3, name);
    for (size_t i = 0; i < NCOUNTS; i++)
        db_bind_int64(s, 4 + (int)i, v[i]);
    db_bind_text(s, 10, source);
    db_bind_int64(s, 11, now);
    return db_run(s, NULL);
}

err situation_import(db *d, arena *a, int64_t now, int64_t *stored_r, int64_t *skipped_r)
{
    char since[CHINA_TIME_LEN];
    china_time(now - BACK_DAYS * 24 * 3600 * 1000LL, since);
    since[10] = '\0';
    json_t *ans = NULL;
    err e = connect_call(d, a, CONNECT_SITUATION, LABEL, "GET",
                         arena_printf(a, "/situation/v1/daily?since=%s", since), NULL, &ans);
    if (e)
        return e;
    json_t *rows = json_object_get(ans, "items");
    const char *source = json_string_value(json_object_get(ans, "source"));
    if (!json_is_array(rows)) {
        json_decref(ans);
        return err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
    }
    int64_t stored = 0, skipped = 0;
    if ((e = db_begin(d))) {
        json_decref(ans);
        return e;
    }
    for (size_t i = 0; i < json_array_size(rows) && !e; i++) {
        json_t *r = json_array_get(rows, i);
        struct situation_row row;
        bool ok = i < SITUATION_ROWS_MAX && situation_row_parse(r, &row);
        if (!ok) {
            skipped++;
            continue;
        }
        e = upsert(d, row.area, row.day, row.area_name, row.v,
                   source && strlen(source) <= 100 ? source : "", now);
        stored += !e;
    }
    json_decref(ans);
    if (e || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    *stored_r = stored;
    *skipped_r = skipped;
    return E_OK;
}

/* ---- the schedule ------------------------------------------------------------------ */

static err import_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    *n_r = 0;
    if (!connect_configured(d, CONNECT_SITUATION))
        return E_OK; /* nothing to do until a source is configured */
    /* the periodic thread\'s own: a sweep has no request */
    arena *a = arena_new(64 * 1024);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    int64_t skipped = 0;
    err e = situation_import(d, a, now, n_r, &skipped);
    arena_free(&a);
    return e;
}

static struct periodic importer = PERIODIC_INIT("situation", import_run, NULL);

err situation_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&importer, db_url, every_s);
}

void situation_worker_stop(void)
{
    periodic_stop(&importer);
}

/* ---- reading ------------------------------------------------------------------------ */

err situation_json(db *d, const char *area, const char *from, const char *to, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT area, area_name, day, confirmed, suspected, cured, deaths, "
                       "asymptomatic, new_confirmed, source, fetched_at FROM situation_daily "
                       "WHERE (? = '' OR area = ?) AND day >= ? AND day <= ? "
                       "ORDER BY area, day LIMIT 20000",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, area ? area : "");
    db_bind_text(s, 2, area ? area : "");
    db_bind_text(s, 3, from);
    db_bind_text(s, 4, to);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_object_set_new(o, "area", json_string(db_col_text(s, 0)));
        json_object_set_new(o, "area_name", json_string(db_col_text(s, 1)));
        json_object_set_new(o, "day", json_string(db_col_text(s, 2)));
        for (size_t k = 0; k < NCOUNTS; k++)
            json_object_set_new(o, counts[k], json_integer(db_col_int64(s, 3 + (int)k)));
        json_object_set_new(o, "source", json_string(db_col_text(s, 9)));
        json_object_set_new(o, "fetched_at", json_integer(db_col_int64(s, 10)));
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *out_r = items;
    return E_OK;
}

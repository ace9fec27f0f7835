/*
 * Other epidemic platforms (其他疫情平台, seed 000 §6.3.3; peer kind
 * "platform"; connect.h): on a schedule, each configured platform gets our
 * situation (every statistics measure over the whole tree), our trends
 * (the daily flows of the last PLATFORM_TREND_DAYS days) and our key
 * persons (people under observation or isolation now), and we fetch its
 * own situation into platform_situation for the console's 外部平台疫情.
 *
 * Key persons are sent masked, always: a masked name, the observation's
 * kind, the region by name and the start day; no id number, phone or
 * address. A platform that needs a person in full asks through the signed
 * exchange interface as a caller with a grant, where each read is scoped
 * and audited (docs/exchange.md "Connectors"). A schedule has no one to
 * scope or audit a full disclosure to.
 */
#include "exchange/connect.h"

#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/regcode.h"
#include "base/time.h"
#include "case/case.h"
#include "db/periodic.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "stats/stats.h"

#define LABEL "其他疫情平台"

/* ---- what we share ---------------------------------------------------------------------- */

/* today: china_day of now; today_start: the epoch ms its China day began. */
static err figures_json(db *d, int64_t today, int64_t today_start, json_t **figs_r,
                        json_t **trend_r)
{
    const struct stats_measure *ms[STATS_MEASURES_MAX];
    size_t n = stats_measures(ms, STATS_MEASURES_MAX);
    json_t *figs = json_array(), *trend = json_array();
    err e = E_OK;
    int64_t series[PLATFORM_TREND_DAYS];
    for (size_t i = 0; i < n && !e; i++) {
        int64_t v = 0;
        if ((e = stats_sum(d, ms[i]->name, 0, REGCODE_SPACE, STATS_NOW, STATS_NOW, &v)))
            break;
        json_array_append_new(figs, json_pack("{s:s,s:s,s:I}", "measure", ms[i]->name, "label",
                                              ms[i]->label, "value", (json_int_t)v));
        if (ms[i]->level)
            continue;
        int64_t from = today - PLATFORM_TREND_DAYS + 1;
        if ((e = stats_series(d, ms[i]->name, 0, REGCODE_SPACE, from, today, series)))
            break;
        json_t *pts = json_array();
        for (int k = 0; k < PLATFORM_TREND_DAYS; k++) {
            char day[CHINA_TIME_LEN];
            china_time(today_start - (int64_t)(PLATFORM_TREND_DAYS - 1 - k) * 86400000LL, day);
            day[10] = '\0';
            json_array_append_new(
                pts, json_pack("{s:s,s:I}", "date", day, "value", (json_int_t)series[k]));
        }
        json_array_append_new(trend, json_pack("{s:s,s:s,s:o}", "measure", ms[i]->name, "label",
                                               ms[i]->label, "points", pts));
    }
    if (e) {
        json_decref(figs);
        json_decref(trend);
        return e;
    }
    *figs_r = figs;
    *trend_r = trend;
    return E_OK;
}

static err key_persons_json(db *d, arena *a, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT o.person_id, o.kind, o.start_at, r.name FROM observations o "
                       "LEFT JOIN regions r ON r.code = o.region_code "
                       "WHERE o.state = 'active' ORDER BY o.start_at, o.id LIMIT ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, PLATFORM_PERSONS_MAX);
    struct row {
        int64_t person;
        int kind;
        int64_t at;
        const char *region;
    } *rows = arena_alloc(a, PLATFORM_PERSONS_MAX * sizeof *rows);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < PLATFORM_PERSONS_MAX)
        rows[n++] = (struct row){.person = db_col_int64(s, 0),
                                 .kind = vocab_parse(&observe_kind_vocab, db_col_text(s, 1)),
                                 .at = db_col_int64(s, 2),
                                 .region = arena_strdup(a, db_col_text(s, 3))};
    db_done(s);
    if (e)
        return e;
    json_t *arr = json_array();
    struct scope all = scope_all();
    for (size_t i = 0; i < n && !e; i++) {
        struct person p;
        if ((e = person_find(d, a, &all, rows[i].person, &p))) {
            if (e != E_NOT_FOUND)
                break;
            e = E_OK; /* deleted meanwhile: not a key person any more */
            err_clear();
            continue;
        }
        char day[CHINA_TIME_LEN];
        china_time(rows[i].at, day);
        day[10] = '\0';
        json_array_append_new(
            arr, json_pack(
                     "{s:s,s:s,s:s,s:s,s:s}", "name", mask_name(a, p.name), "kind",
                     rows[i].kind > 0 ? vocab_name(&observe_kind_vocab, (size_t)rows[i].kind) : "",
                     "kind_label",
                     rows[i].kind > 0 ? vocab_label(&observe_kind_vocab, (size_t)rows[i].kind) : "",
                     "region_name", rows[i].region, "since", day));
    }
    if (e) {
        json_decref(arr);
        return e;
    }
    *out_r = arr;
    return E_OK;
}

err platform_share_body(db *d, arena *a, int64_t now, json_t **body_r)
{
    json_t *figs, *trend, *persons;
    int64_t today = china_day(now);
    err e = figures_json(d, today, china_day_start(now), &figs, &trend);
    if (e)
        return e;
    if ((e = key_persons_json(d, a, &persons))) {
        json_decref(figs);
        json_decref(trend);
        return e;
    }
    char date[CHINA_TIME_LEN];
    china_time(now, date);
    date[10] = '\0';
    *body_r = json_pack("{s:s,s:I,s:o,s:o,s:o}", "date", date, "generated_at", (json_int_t)now,
                        "figures", figs, "trend", trend, "key_persons", persons);
    return *body_r ? E_OK : err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
}

/* ---- what we fetch ----------------------------------------------------------------------- */

bool platform_answer_ok(json_t *o)
{
    const char *pf = json_string_value(json_object_get(o, "platform"));
    const char *rn = json_string_value(json_object_get(o, "region_name"));
    const char *dt = json_string_value(json_object_get(o, "date"));
    json_t *figs = json_object_get(o, "figures"), *trend = json_object_get(o, "trend");
    int64_t day;
    if (!pf || !*pf || strlen(pf) > 100 || !rn || strlen(rn) > 100 || !dt ||
        !china_date_day(dt, &day) || !json_is_array(figs) || json_array_size(figs) > 100 ||
        (trend && !json_is_null(trend) && (!json_is_array(trend) || json_array_size(trend) > 100)))
        return false;
    size_t i;
    json_t *f;
    json_array_foreach(figs, i, f)
    {
        const char *l = json_string_value(json_object_get(f, "label"));
        if (!l || !*l || strlen(l) > 60 || !json_is_integer(json_object_get(f, "value")))
            return false;
    }
    if (json_is_array(trend))
        json_array_foreach(trend, i, f)
        {
            const char *l = json_string_value(json_object_get(f, "label"));
            json_t *pts = json_object_get(f, "points"), *pt;
            size_t k;
            if (!l || !*l || strlen(l) > 60 || !json_is_array(pts) || json_array_size(pts) > 60)
                return false;
            json_array_foreach(pts, k, pt)
            {
                const char *pd = json_string_value(json_object_get(pt, "date"));
                if (!pd || !china_date_day(pd, &day) ||
                    !json_is_integer(json_object_get(pt, "value")))
                    return false;
            }
        }
    return true;
}

static err store(db *d, int64_t peer_id, json_t *o, int64_t now)
{
    json_t *keep = json_pack(
        "{s:O,s:O}", "figures", json_object_get(o, "figures"), "trend",
        json_is_array(json_object_get(o, "trend")) ? json_object_get(o, "trend") : json_array());
    char *text = keep ? json_dumps(keep, JSON_COMPACT) : NULL;
    json_decref(keep);
    if (!text)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO platform_situation (peer_id, day, platform, region_name, "
                       "data, fetched_at) VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (peer_id, day) DO UPDATE SET platform = excluded.platform, "
                       "region_name = excluded.region_name, data = excluded.data, "
                       "fetched_at = excluded.fetched_at",
                       &s);
    if (!e) {
        db_bind_int64(s, 1, peer_id);
        db_bind_text(s, 2, json_string_value(json_object_get(o, "date")));
        db_bind_text(s, 3, json_string_value(json_object_get(o, "platform")));
        db_bind_text(s, 4, json_string_value(json_object_get(o, "region_name")));
        db_bind_text(s, 5, text);
        db_bind_int64(s, 6, now);
        e = db_run(s, NULL);
    }
    free(text);
    return e;
}

/* ---- one exchange with every platform ------------------------------------------------------ */

err platform_sync(db *d, arena *a, int64_t now, int64_t *synced_r, int64_t *failed_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id FROM exchange_peers WHERE kind = ? AND enabled = 1 ORDER BY id "
                       "LIMIT 32",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, CONNECT_PLATFORM);
    int64_t ids[32];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < 32)
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    *synced_r = *failed_r = 0;
    if (e || !n)
        return e;
    json_t *body;
    if ((e = platform_share_body(d, a, now, &body)))
        return e;
    for (size_t i = 0; i < n; i++) {
        /* one platform failing does not keep the others waiting: its
         * failure is in its peer state (the peers page) and counted */
        json_t *ans = NULL;
        /* the key persons (masked) leave the platform: the disclosure is
         * audited before it is made, or not made */
        struct audit_entry ae = {
            .username = "system",
            .role = "",
            .ip = "",
            .action = "platform.share",
            .object_type = "exchange_peer",
            .object_id = ids[i],
            .result = "ok",
            .detail = arena_printf(a, "figures=%zu key_persons=%zu masked=1",
                                   json_array_size(json_object_get(body, "figures")),
                                   json_array_size(json_object_get(body, "key_persons")))};
        err pe = audit_log(d, &ae);
        if (!pe)
            pe = connect_call_peer(d, a, ids[i], LABEL, "POST", "/platform/v1/situation", body,
                                   &ans);
        json_decref(ans);
        if (!pe)
            pe =
                connect_call_peer(d, a, ids[i], LABEL, "GET", "/platform/v1/situation", NULL, &ans);
        if (!pe && !platform_answer_ok(ans))
            pe = err_set(E_UNAVAILABLE, "peer_refused", NULL, LABEL "的应答格式不正确，结果未采用");
        if (!pe) {
            if (!(pe = db_begin(d)) && !(pe = store(d, ids[i], ans, now)) && (pe = db_commit(d)))
                db_rollback(d);
            else if (pe)
                db_rollback(d);
        }
        json_decref(ans);
        if (pe) {
            ++*failed_r;
            err_clear();
        } else {
            ++*synced_r;
        }
    }
    json_decref(body);
    return E_OK;
}

static err sync_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    /* the periodic thread\'s own: a sweep has no request */
    arena *a = arena_new(256 * 1024);
    if (!a)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    int64_t failed = 0;
    err e = platform_sync(d, a, now, n_r, &failed);
    arena_free(&a);
    if (!e && failed)
        e = err_set(E_UNAVAILABLE, "platform_sync_partial", NULL, "部分疫情平台交换失败");
    return e;
}

static struct periodic syncer = PERIODIC_INIT("platform_sync", sync_run, NULL);

err platform_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&syncer, db_url, every_s);
}

void platform_worker_stop(void)
{
    periodic_stop(&syncer);
}

/* ---- reading ------------------------------------------------------------------------------- */

err platform_situation_json(db *d, json_t **out_r)
{
    /* each platform's latest day */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT p.platform, p.region_name, p.day, p.data, p.fetched_at, e.name "
                       "FROM platform_situation p JOIN exchange_peers e ON e.id = p.peer_id "
                       "WHERE p.day = (SELECT MAX(day) FROM platform_situation x "
                       "WHERE x.peer_id = p.peer_id) ORDER BY e.name",
                       &s);
    if (e)
        return e;
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *data = json_loads(db_col_text(s, 3), 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s}", "platform", db_col_text(s, 0), "region_name",
                              db_col_text(s, 1), "date", db_col_text(s, 2), "fetched_at",
                              (json_int_t)db_col_int64(s, 4), "peer", db_col_text(s, 5));
        json_object_set(o, "figures", data ? json_object_get(data, "figures") : json_array());
        json_object_set(o, "trend", data ? json_object_get(data, "trend") : json_array());
        json_decref(data);
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

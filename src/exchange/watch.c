/*
 * Exchange monitoring (contract in exchange.h, "monitoring"; docs/exchange.md
 * "Monitoring"): the observer that counts every call into /metrics and into
 * per-minute aggregates in memory, the thread that adds those to the
 * database (exchange_minutes, sql/057), the anomaly rule and its sweep, and
 * the summary the console page reads.
 *
 * Observers run on the event loops, so counting is a short mutex over a
 * fixed table in memory; the database is written by the flusher alone. The
 * table is double-buffered: a flush swaps the buffers under the mutex and
 * writes the full one at leisure, so a loop never waits for the database.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "db/periodic.h"
#include "db/query.h"
#include "exchange/exchange.h"
#include "http/http.h"

_Static_assert(HTTP_LATENCY_BOUNDS + 1 == EXCHANGE_LAT_BUCKETS,
               "exchange_minutes has a column per latency bucket of /metrics");

/* ---- counting in memory ------------------------------------------------------------ */

#define PARTY_MAX  64
#define RESULT_MAX 48
#define AGG_SLOTS  4096 /* distinct (minute, direction, party, dataset, result) between flushes */

struct agg {
    bool used;
    int64_t minute;
    bool outbound;
    int64_t caller_id;
    char party[PARTY_MAX];
    int dataset; /* -1 none */
    char result[RESULT_MAX];
    int64_t region_code;
    int64_t calls, records, latency_us, last_at;
    int64_t b[EXCHANGE_LAT_BUCKETS];
};

struct agg_table {
    int n;
    struct agg slot[AGG_SLOTS];
};

static struct agg_table tables[2];
static int active; /* the table observers add to; the other is the flusher's */
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER; /* one flush at a time */
static atomic_bool dropped_logged;

static struct http_metric_family *calls_family, *records_family;

static uint32_t agg_hash(int64_t minute, bool outbound, int64_t caller_id, const char *party,
                         int dataset, const char *result)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the key */
    uint64_t nums[4] = {(uint64_t)minute, outbound, (uint64_t)caller_id, (uint64_t)dataset};
    for (size_t i = 0; i < sizeof nums; i++)
        h = (h ^ ((const uint8_t *)nums)[i]) * 1099511628211ull;
    for (const char *p = party; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = result; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static int lat_bucket(int64_t latency_us)
{
    double ms = (double)latency_us / 1000.0;
    int b = 0;
    while (b < HTTP_LATENCY_BOUNDS && ms > http_latency_bounds_ms[b])
        b++;
    return b;
}

/* Add rec to the active table (under count_mu). False when the table is full. */
static bool agg_add(const struct exchange_call_record *rec, const char *party, const char *result,
                    int64_t now)
{
    int64_t minute = now / 60000;
    int64_t caller_id = rec->outbound ? 0 : rec->caller_id;
    int dataset = rec->dataset >= 0 && rec->dataset < DS__COUNT ? rec->dataset : -1;
    struct agg_table *t = &tables[active];
    uint32_t i = agg_hash(minute, rec->outbound, caller_id, party, dataset, result) % AGG_SLOTS;
    for (;; i = (i + 1) % AGG_SLOTS) {
        struct agg *g = &t->slot[i];
        if (!g->used) {
            if (t->n >= AGG_SLOTS * 3 / 4) /* keep probes short */
                return false;
            *g = (struct agg){.used = true,
                              .minute = minute,
                              .outbound = rec->outbound,
                              .caller_id = caller_id,
                              .dataset = dataset};
            snprintf(g->party, sizeof g->party, "%s", party);
            snprintf(g->result, sizeof g->result, "%s", result);
            t->n++;
        } else if (g->minute != minute || g->outbound != rec->outbound ||
                   g->caller_id != caller_id || g->dataset != dataset || strcmp(g->party, party) ||
                   strcmp(g->result, result))
            continue;
        if (!rec->outbound && rec->region_code > 0)
            g->region_code = rec->region_code;
        g->calls++;
        g->records += rec->records > 0 ? rec->records : 0;
        g->latency_us += rec->latency_us > 0 ? rec->latency_us : 0;
        g->b[lat_bucket(rec->latency_us)]++;
        g->last_at = now;
        return true;
    }
}

/* The observer (exchange_on_call): on event loops and workers alike. */
static void observe(const struct exchange_call_record *rec)
{
    /* a caller's name as sent in a header is not trusted to be bounded:
     * an unidentified caller is one party, "" */
    const char *party = rec->outbound                            ? (rec->peer ? rec->peer : "")
                        : rec->caller_id > 0 && rec->caller_name ? rec->caller_name
                                                                 : "";
    char idname[24];
    if (!rec->outbound && rec->caller_id > 0 && !*party) {
        snprintf(idname, sizeof idname, "#%lld", (long long)rec->caller_id);
        party = idname;
    }
    const char *result = rec->result && *rec->result ? rec->result : "unknown";
    const char *dataset = exchange_dataset_name((enum exchange_dataset)rec->dataset);
    const char *dir = rec->outbound ? "out" : "in";
    http_metric_add(calls_family, (const char *[]){dir, party, dataset, result},
                    (double)(rec->latency_us > 0 ? rec->latency_us : 0) / 1e6);
    if (rec->records > 0)
        http_metric_add(records_family, (const char *[]){dir, party, dataset},
                        (double)rec->records);
    int64_t now = now_ms();
    pthread_mutex_lock(&count_mu);
    bool kept = agg_add(rec, party, result, now);
    pthread_mutex_unlock(&count_mu);
    if (!kept) {
        http_metric_inc("fangkong_exchange_watch_dropped_total", "table_full");
        if (!atomic_exchange(&dropped_logged, true))
            log_event(LOG_ERROR, "exchange_watch_table_full", NULL);
    }
}

static const char *const call_labels[] = {"direction", "party", "dataset", "result", NULL};
static const char *const record_labels[] = {"direction", "party", "dataset", NULL};

err exchange_watch_register(void)
{
    if (!calls_family)
        calls_family = http_metric_family("fangkong_exchange_call_seconds",
                                          "Exchange calls by direction, caller or peer, dataset "
                                          "and result, and their latency.",
                                          HTTP_METRIC_HISTOGRAM, call_labels);
    if (!records_family)
        records_family = http_metric_family("fangkong_exchange_records_total",
                                            "Records carried by exchange calls.",
                                            HTTP_METRIC_COUNTER, record_labels);
    if (!calls_family || !records_family)
        return err_set(E_INTERNAL, "too_many_metric_families", NULL, "内部错误");
    return exchange_on_call(observe);
}

/* ---- flushing to the database ------------------------------------------------------ */

static err write_table(db *d, struct agg_table *t)
{
    if (!t->n)
        return E_OK;
    err e = db_begin(d);
    if (e)
        return e;
    for (int i = 0; i < AGG_SLOTS && !e; i++) {
        const struct agg *g = &t->slot[i];
        if (!g->used)
            continue;
        db_stmt *s;
        if ((e = db_prepare(
                 d,
                 "INSERT INTO exchange_minutes (minute, direction, caller_id, party, dataset, "
                 "result, region_code, calls, records, latency_us, b0, b1, b2, b3, b4, b5, b6, "
                 "b7, b8, b9, b10, b11, b12, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (minute, direction, caller_id, "
                 "party, dataset, result) DO UPDATE SET calls = exchange_minutes.calls + "
                 "excluded.calls, records = exchange_minutes.records + excluded.records, "
                 "latency_us = exchange_minutes.latency_us + excluded.latency_us, b0 = "
                 "exchange_minutes.b0 + excluded.b0, b1 = exchange_minutes.b1 + excluded.b1, b2 = "
                 "exchange_minutes.b2 + excluded.b2, b3 = exchange_minutes.b3 + excluded.b3, b4 = "
                 "exchange_minutes.b4 + excluded.b4, b5 = exchange_minutes.b5 + excluded.b5, b6 = "
                 "exchange_minutes.b6 + excluded.b6, b7 = exchange_minutes.b7 + excluded.b7, b8 = "
                 "exchange_minutes.b8 + excluded.b8, b9 = exchange_minutes.b9 + excluded.b9, b10 "
                 "= exchange_minutes.b10 + excluded.b10, b11 = exchange_minutes.b11 + "
                 "excluded.b11, b12 = exchange_minutes.b12 + excluded.b12, region_code = CASE "
                 "WHEN excluded.region_code > 0 THEN excluded.region_code ELSE "
                 "exchange_minutes.region_code END, last_at = CASE WHEN excluded.last_at > "
                 "exchange_minutes.last_at THEN excluded.last_at ELSE exchange_minutes.last_at "
                 "END",
                 &s)))
            break;
        int k = 1;
        db_bind_int64(s, k++, g->minute);
        db_bind_text(s, k++, g->outbound ? "out" : "in");
        db_bind_int64(s, k++, g->caller_id);
        db_bind_text(s, k++, g->party);
        db_bind_text(s, k++, g->dataset >= 0 ? exchange_dataset_name(g->dataset) : "");
        db_bind_text(s, k++, g->result);
        db_bind_int64(s, k++, g->region_code);
        db_bind_int64(s, k++, g->calls);
        db_bind_int64(s, k++, g->records);
        db_bind_int64(s, k++, g->latency_us);
        for (int b = 0; b < EXCHANGE_LAT_BUCKETS; b++)
            db_bind_int64(s, k++, g->b[b]);
        db_bind_int64(s, k++, g->last_at);
        e = db_run(s, NULL);
    }
    if (e) {
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

static void table_clear(struct agg_table *t)
{
    for (int i = 0; i < AGG_SLOTS; i++)
        t->slot[i].used = false;
    t->n = 0;
}

err exchange_watch_flush(db *d)
{
    pthread_mutex_lock(&flush_mu);
    /* a write that failed last time first: its counts are still the flusher's */
    struct agg_table *mine = &tables[1 - active]; /* active changes only under flush_mu */
    err e = write_table(d, mine);
    if (!e) {
        table_clear(mine);
        pthread_mutex_lock(&count_mu);
        active = 1 - active;
        pthread_mutex_unlock(&count_mu);
        mine = &tables[1 - active];
        if (!(e = write_table(d, mine)))
            table_clear(mine);
    }
    pthread_mutex_unlock(&flush_mu);
    return e;
}

static err flush_run(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)now;
    (void)ctx;
    (void)count_r; /* a flush every few seconds is not news for the log */
    return exchange_watch_flush(d);
}

/* ---- the anomaly rule -------------------------------------------------------------- */

const char *exchange_anomaly_name(enum exchange_anomaly_kind k)
{
    switch (k) {
    case EXCHANGE_ANOMALY_ERRORS:
        return "errors";
    case EXCHANGE_ANOMALY_VOLUME_HIGH:
        return "volume_high";
    case EXCHANGE_ANOMALY_VOLUME_LOW:
        return "volume_low";
    case EXCHANGE_ANOMALY_NONE:
        break;
    }
    return "";
}

enum exchange_anomaly_kind exchange_anomaly_judge(const struct exchange_anomaly_rule *r,
                                                  struct exchange_window now,
                                                  const struct exchange_window *hist, int nhist,
                                                  struct exchange_anomaly_verdict *v)
{
    *v = (struct exchange_anomaly_verdict){.history = nhist};
    if (nhist < 0)
        nhist = v->history = 0;
    if (nhist > EXCHANGE_BASELINE_WINDOWS)
        nhist = v->history = EXCHANGE_BASELINE_WINDOWS;
    int64_t calls = 0, errors = 0;
    double sum_rates = 0;
    int with_calls = 0;
    for (int i = 0; i < nhist; i++) {
        calls += hist[i].calls;
        errors += hist[i].errors;
        if (hist[i].calls > 0) {
            sum_rates += (double)hist[i].errors / (double)hist[i].calls;
            with_calls++;
        }
    }
    if (nhist > 0) {
        v->mean_calls = (double)calls / nhist;
        double ss = 0;
        for (int i = 0; i < nhist; i++)
            ss += ((double)hist[i].calls - v->mean_calls) * ((double)hist[i].calls - v->mean_calls);
        v->sd_calls = sqrt(ss / nhist);
    }
    v->base_rate = calls > 0 ? (double)errors / (double)calls : 0;
    if (with_calls > 0) {
        double mean_rate = sum_rates / with_calls, ss = 0;
        for (int i = 0; i < nhist; i++)
            if (hist[i].calls > 0) {
                double d = (double)hist[i].errors / (double)hist[i].calls - mean_rate;
                ss += d * d;
            }
        v->sd_rate = sqrt(ss / with_calls);
    }
    v->rate = now.calls > 0 ? (double)now.errors / (double)now.calls : 0;
    double scale = fmax(fmax(v->sd_calls, sqrt(v->mean_calls)), 1.0);
    v->z = ((double)now.calls - v->mean_calls) / scale;

    double rise = fmax(r->rate_rise, r->sigmas * v->sd_rate);
    if (now.calls >= r->min_calls && now.errors >= r->min_errors &&
        v->rate - v->base_rate >= rise - 1e-9) /* 0.5 - 0.3 is 0.19999…: at the edge is in */
        return v->kind = EXCHANGE_ANOMALY_ERRORS;
    if (nhist >= r->min_history && now.calls >= r->min_calls && v->z >= r->sigmas - 1e-9)
        return v->kind = EXCHANGE_ANOMALY_VOLUME_HIGH;
    if (nhist >= r->min_history && v->mean_calls >= (double)r->min_calls &&
        v->z <= -r->sigmas + 1e-9)
        return v->kind = EXCHANGE_ANOMALY_VOLUME_LOW;
    return v->kind = EXCHANGE_ANOMALY_NONE;
}

/* ---- the sweep ------------------------------------------------------------------------ */

/* One caller's day, minute by minute folded into windows. Window
 * EXCHANGE_BASELINE_WINDOWS is the current one; 0..143 the baseline. */
struct caller_day {
    int64_t caller_id, region_code;
    char name[PARTY_MAX];
    int first_window; /* the first window with a call */
    struct exchange_window w[EXCHANGE_BASELINE_WINDOWS + 1];
};

static err raise_anomaly(db *d, const struct caller_day *c, int64_t now,
                         const struct exchange_anomaly_verdict *v, bool *raised_r)
{
    *raised_r = false;
    const struct exchange_window *cur = &c->w[EXCHANGE_BASELINE_WINDOWS];
    int64_t id = id_new(), claimed = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO exchange_anomalies (id, caller_id, hour, region_code, kind, "
                       "calls, errors, mean_calls, sd_calls, base_rate, at) VALUES (?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (caller_id, hour) DO NOTHING",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, c->caller_id);
    db_bind_int64(s, 3, now / 3600000);
    db_bind_int64(s, 4, c->region_code);
    db_bind_text(s, 5, exchange_anomaly_name(v->kind));
    db_bind_int64(s, 6, cur->calls);
    db_bind_int64(s, 7, cur->errors);
    db_bind_double(s, 8, v->mean_calls);
    db_bind_double(s, 9, v->sd_calls);
    db_bind_double(s, 10, v->base_rate);
    db_bind_int64(s, 11, now);
    if ((e = db_run(s, &claimed)) || !claimed) /* this hour's alert is out already */
        return e;
    char msg[512];
    if (v->kind == EXCHANGE_ANOMALY_ERRORS)
        snprintf(msg, sizeof msg,
                 "数据交换调用方「%s」近%d分钟调用%lld次，失败%lld次（失败率%.1f%%），"
                 "明显高于近24小时的%.1f%%",
                 c->name, EXCHANGE_WINDOW_MIN, (long long)cur->calls, (long long)cur->errors,
                 v->rate * 100, v->base_rate * 100);
    else
        snprintf(msg, sizeof msg,
                 "数据交换调用方「%s」近%d分钟调用%lld次，明显%s近24小时每%d分钟平均%.1f次"
                 "（标准差%.1f）",
                 c->name, EXCHANGE_WINDOW_MIN, (long long)cur->calls,
                 v->kind == EXCHANGE_ANOMALY_VOLUME_HIGH ? "高于" : "低于", EXCHANGE_WINDOW_MIN,
                 v->mean_calls, v->sd_calls);
    char detail[512];
    snprintf(detail, sizeof detail,
             "{\"caller_id\":%lld,\"kind\":\"%s\",\"calls\":%lld,\"errors\":%lld,\"rate\":%.4f,"
             "\"base_rate\":%.4f,\"mean_calls\":%.2f,\"sd_calls\":%.2f,\"z\":%.2f,"
             "\"window_minutes\":%d,\"history_windows\":%d}",
             (long long)c->caller_id, exchange_anomaly_name(v->kind), (long long)cur->calls,
             (long long)cur->errors, v->rate, v->base_rate, v->mean_calls, v->sd_calls, v->z,
             EXCHANGE_WINDOW_MIN, v->history);
    struct alert_new al = {
        .kind = ALERT_EXCHANGE_ANOMALY,
        .level = ALERT_WARNING,
        .region_code = c->region_code,
        .message = msg,
        .detail = detail,
        .at = now,
    };
    int64_t alert_id;
    if ((e = alert_raise(d, &al, &alert_id)))
        return e;
    if ((e = db_prepare(d, "UPDATE exchange_anomalies SET alert_id = ? WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, alert_id);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)))
        return e;
    *raised_r = true;
    return E_OK;
}

/* Judge c and raise its alert in a transaction of its own. */
static err judge_caller(db *d, const struct caller_day *c, int64_t now,
                        const struct exchange_anomaly_rule *r, int64_t *raised_r)
{
    int nhist = EXCHANGE_BASELINE_WINDOWS - c->first_window;
    if (nhist < 0)
        nhist = 0;
    struct exchange_anomaly_verdict v;
    if (!exchange_anomaly_judge(r, c->w[EXCHANGE_BASELINE_WINDOWS],
                                c->w + EXCHANGE_BASELINE_WINDOWS - nhist, nhist, &v))
        return E_OK;
    if (c->region_code <= 0) { /* nobody to show it to: say so rather than drop it silently */
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)c->caller_id);
        log_event(LOG_WARN, "exchange_anomaly_no_region", "caller_id", id, NULL);
        return E_OK;
    }
    err e = db_begin(d);
    if (e)
        return e;
    bool raised = false;
    if ((e = raise_anomaly(d, c, now, &v, &raised))) {
        db_rollback(d);
        return e;
    }
    if ((e = db_commit(d)))
        return e;
    *raised_r += raised;
    return E_OK;
}

err exchange_anomaly_sweep(db *d, int64_t now, const struct exchange_anomaly_rule *r,
                           int64_t *raised_r)
{
    int64_t raised = 0;
    int64_t cur_min = now / 60000;
    /* the current window ends with the current minute (a burst shows at once) */
    int64_t first_min =
        cur_min - (int64_t)(EXCHANGE_BASELINE_WINDOWS + 1) * EXCHANGE_WINDOW_MIN + 1;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT caller_id, minute, SUM(calls), SUM(CASE WHEN result = 'ok' THEN 0 "
                       "ELSE calls END), MAX(region_code), MAX(party) FROM exchange_minutes WHERE "
                       "direction = 'in' AND caller_id > 0 AND minute >= ? AND minute <= ? GROUP "
                       "BY caller_id, minute ORDER BY caller_id, minute",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, first_min);
    db_bind_int64(s, 2, cur_min);
    struct caller_day c = {0};
    bool has;
    /* rows arrive by caller: judge each caller when the next one begins. The
     * statement is read to its end first on one connection, so judging (which
     * writes) waits: keep the callers read so far in a small list. */
    struct caller_day *days = NULL;
    size_t ndays = 0, capdays = 0;
    while (!(e = db_row(s, &has)) && has) {
        int64_t id = db_col_int64(s, 0), minute = db_col_int64(s, 1);
        if (!ndays || days[ndays - 1].caller_id != id) {
            if (!GROW(&days, &capdays, ndays, 1, 16)) {
                e = err_set(E_INTERNAL, "out_of_memory", NULL, "内部错误");
                break;
            }
            days[ndays] = c;
            days[ndays].caller_id = id;
            days[ndays].first_window = EXCHANGE_BASELINE_WINDOWS + 1;
            ndays++;
        }
        struct caller_day *cd = &days[ndays - 1];
        int w = (int)((minute - first_min) / EXCHANGE_WINDOW_MIN);
        if (w < 0 || w > EXCHANGE_BASELINE_WINDOWS)
            continue;
        cd->w[w].calls += db_col_int64(s, 2);
        cd->w[w].errors += db_col_int64(s, 3);
        if (w < cd->first_window)
            cd->first_window = w;
        int64_t region = db_col_int64(s, 4);
        if (region > 0)
            cd->region_code = region;
        const char *name = db_col_text(s, 5);
        if (*name)
            snprintf(cd->name, sizeof cd->name, "%s", name);
    }
    db_done(s);
    for (size_t i = 0; !e && i < ndays; i++)
        e = judge_caller(d, &days[i], now, r, &raised);
    free(days);
    if (raised_r)
        *raised_r = raised;
    return e;
}

/* ---- the threads --------------------------------------------------------------------- */

static struct exchange_anomaly_rule sweep_rule = {
    .min_calls = 20, .min_errors = 10, .min_history = 6, .sigmas = 4, .rate_rise = 0.2};

static err sweep_run(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    return exchange_anomaly_sweep(d, now, ctx, count_r);
}

static struct periodic flusher = PERIODIC_LOCAL("exchange_flush", flush_run, NULL);
static struct periodic sweeper = PERIODIC_INIT("exchange_anomaly", sweep_run, &sweep_rule);
static char *flush_url;

err exchange_watch_start(const char *db_url, int flush_s, int sweep_s, int min_calls)
{
    if (min_calls > 0) {
        sweep_rule.min_calls = min_calls;
        sweep_rule.min_errors = min_calls / 2 > 0 ? min_calls / 2 : 1;
    }
    err e = periodic_start(&flusher, db_url, flush_s);
    if (!e && !(e = periodic_start(&sweeper, db_url, sweep_s))) {
        free(flush_url);
        flush_url = strdup(db_url);
    }
    return e;
}

void exchange_watch_stop(void)
{
    periodic_stop(&sweeper);
    periodic_stop(&flusher);
    if (!flush_url)
        return;
    pthread_mutex_lock(&count_mu);
    bool counted = tables[0].n || tables[1].n;
    pthread_mutex_unlock(&count_mu);
    /* what the last period did not write: one more flush on a connection of
     * our own (none to open when nothing was counted since: most stops) */
    db *d;
    err e = counted ? db_open(flush_url, &d) : E_UNAVAILABLE;
    if (!e) {
        if ((e = exchange_watch_flush(d)))
            log_event(LOG_ERROR, "exchange_flush_failed", "error", err_slug(e), NULL);
        db_close(&d);
    }
    free(flush_url);
    flush_url = NULL;
}

/* ---- the summary --------------------------------------------------------------------- */

double exchange_p99_ms(const int64_t b[EXCHANGE_LAT_BUCKETS])
{
    int64_t total = 0;
    for (int i = 0; i < EXCHANGE_LAT_BUCKETS; i++)
        total += b[i];
    if (total <= 0)
        return 0;
    int64_t want = (total * 99 + 99) / 100; /* ceil(0.99 total) */
    int64_t cum = 0;
    for (int i = 0; i < HTTP_LATENCY_BOUNDS; i++) {
        cum += b[i];
        if (cum >= want)
            return http_latency_bounds_ms[i];
    }
    return -1;
}

/* The verification failures of exchange_handle (docs/exchange.md): "rejected". */
static const char *const rejected_slugs[] = {
    "signature_missing",       "unknown_caller", "caller_suspended",  "caller_expired",
    "timestamp_out_of_window", "nonce_replayed", "signature_invalid", NULL};

static bool is_rejected(const char *result)
{
    for (int i = 0; rejected_slugs[i]; i++)
        if (!strcmp(result, rejected_slugs[i]))
            return true;
    return false;
}

static json_t *p99_json(const int64_t b[EXCHANGE_LAT_BUCKETS])
{
    double p = exchange_p99_ms(b);
    return p < 0 ? json_null() : json_real(p);
}

#define PARTIES_MAX 256

struct party_sum {
    bool outbound;
    int64_t caller_id;
    char name[PARTY_MAX];
    int64_t calls, errors, rejected, records, last_at, last_ok_at;
    int64_t b[EXCHANGE_LAT_BUCKETS];
};

static struct party_sum *party_find(struct party_sum *ps, int *n, bool outbound, int64_t caller_id,
                                    const char *name)
{
    for (int i = 0; i < *n; i++)
        if (ps[i].outbound == outbound && ps[i].caller_id == caller_id && !strcmp(ps[i].name, name))
            return &ps[i];
    if (*n == PARTIES_MAX)
        return NULL;
    struct party_sum *p = &ps[(*n)++];
    *p = (struct party_sum){.outbound = outbound, .caller_id = caller_id};
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

static int party_cmp(const void *x, const void *y)
{
    const struct party_sum *p = x, *q = y;
    if (p->calls != q->calls)
        return p->calls > q->calls ? -1 : 1;
    return strcmp(p->name, q->name);
}

/* error codes of the window: slugs, a bounded set; past CODES_MAX "other" */
#define CODES_MAX 64

struct code_sum {
    char code[RESULT_MAX];
    int64_t calls;
};

static void code_add(struct code_sum *cs, int *n, const char *code, int64_t calls)
{
    int i;
    for (i = 0; i < *n && strcmp(cs[i].code, code); i++)
        ;
    if (i == *n) {
        if (*n == CODES_MAX)
            i = CODES_MAX - 1, code = "other";
        else
            cs[(*n)++].calls = 0;
        snprintf(cs[i].code, sizeof cs[i].code, "%s", code);
    }
    cs[i].calls += calls;
}

static int code_cmp(const void *x, const void *y)
{
    const struct code_sum *p = x, *q = y;
    if (p->calls != q->calls)
        return p->calls > q->calls ? -1 : 1;
    return strcmp(p->code, q->code);
}

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char t[CHINA_TIME_LEN];
    china_time(ms, t);
    return json_string(t);
}

/* The outbox's backlog of peer id for dataset ds: changes past its cursor (0
 * before the first delivery) inside the peer's region (0: all), and when the
 * oldest of them was logged. */
static err peer_backlog(db *d, int64_t peer_id, int ds, int64_t region, int64_t *n_r,
                        int64_t *oldest_r)
{
    struct scope r = region > 0 ? scope_of(region) : scope_all();
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*), MIN(c.at) FROM exchange_changes c WHERE c.dataset = ? "
                       "AND c.seq > COALESCE((SELECT o.sent_seq FROM exchange_outbox o WHERE "
                       "o.peer_id = ? AND o.dataset = ?), 0) AND c.region_code >= ? AND "
                       "c.region_code < ?",
                       &s);
    if (e)
        return e;
    const char *name = exchange_dataset_name((enum exchange_dataset)ds);
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, peer_id);
    db_bind_text(s, 3, name);
    db_bind_int64(s, 4, r.lo);
    db_bind_int64(s, 5, r.hi);
    bool has;
    if (!(e = db_row(s, &has)) && has) {
        *n_r += db_col_int64(s, 0);
        int64_t at = db_col_int64(s, 1);
        if (at > 0 && (!*oldest_r || at < *oldest_r))
            *oldest_r = at;
    }
    db_done(s);
    return e;
}

/*
 * The registered peers (exchange_peers, helper peer's registry) into
 * `peers`: each with its window's calls from the aggregates (ps, matched by
 * name, and marked taken), its state as the registry keeps it (last
 * success and failure, the reason, failing since) and the outbox backlog.
 * The deployment's, so shown whatever the reader's scope.
 */
static err peers_json(db *d, struct party_sum *ps, int nps, bool *taken, json_t *peers)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, name, kind, enabled, datasets, region_code, last_ok_at, "
                       "last_fail_at, last_error, failing_since FROM exchange_peers ORDER BY name",
                       &s);
    if (e)
        return e;
    bool has;
    while (!(e = db_row(s, &has)) && has) {
        int64_t id = db_col_int64(s, 0), datasets = db_col_int64(s, 4);
        const char *name = db_col_text(s, 1);
        const struct party_sum *p = NULL;
        for (int i = 0; i < nps && !p; i++)
            if (ps[i].outbound && !strcmp(ps[i].name, name)) {
                p = &ps[i];
                taken[i] = true;
            }
        int64_t last_ok = db_col_int64(s, 6);
        if (p && p->last_ok_at > last_ok)
            last_ok = p->last_ok_at;
        json_t *o = json_pack(
            "{s:s, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "name", name, "kind",
            db_col_text(s, 2), "enabled", db_col_int64(s, 3) != 0, "calls",
            (json_int_t)(p ? p->calls : 0), "errors", (json_int_t)(p ? p->errors : 0), "p99_ms",
            p ? p99_json(p->b) : json_real(0), "last_at", time_json(p ? p->last_at : 0),
            "last_ok_at", time_json(last_ok), "last_fail_at", time_json(db_col_int64(s, 7)),
            "failing_since", time_json(db_col_int64(s, 9)), "last_error", db_col_text(s, 8),
            "registered", json_true());
        int64_t backlog = 0, oldest = 0, region = db_col_int64(s, 5);
        for (int ds = 0; ds < DS__COUNT && !e; ds++)
            if (datasets & (1ll << ds))
                e = peer_backlog(d, id, ds, region, &backlog, &oldest);
        json_object_set_new(o, "backlog", json_integer(backlog));
        json_object_set_new(o, "oldest_pending_at", time_json(oldest));
        json_array_append_new(peers, o);
    }
    db_done(s);
    return e;
}

err exchange_monitor_summary(db *d, arena *a, const struct scope *sc, int64_t now, int minutes,
                             json_t **out_r)
{
    (void)a;
    if (minutes < 1 || minutes > 1440)
        return err_set(E_INPUT, "out_of_range", "minutes", "时间窗口应为 1 至 1440 分钟");
    int64_t last = now / 60000, first = last - minutes + 1;
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT minute, direction, caller_id, party, result, calls, records, last_at, b0, b1, "
        "b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12 FROM exchange_minutes WHERE minute >= ? "
        "AND minute <= ? AND (region_code = 0 OR (region_code >= ? AND region_code < ?))",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, first);
    db_bind_int64(s, 2, last);
    db_bind_int64(s, 3, sc->lo);
    db_bind_int64(s, 4, sc->hi);
    struct {
        int64_t calls, errors, rejected;
    } *per = calloc((size_t)minutes, sizeof *per);
    struct party_sum *ps = calloc(PARTIES_MAX, sizeof *ps);
    struct code_sum codes[CODES_MAX];
    int ncodes = 0, nps = 0;
    int64_t tot_calls = 0, tot_errors = 0, tot_rejected = 0, tot_records = 0;
    int64_t tb[EXCHANGE_LAT_BUCKETS] = {0};
    bool has;
    if (!per || !ps)
        e = err_set(E_INTERNAL, "out_of_memory", NULL, "内部错误");
    while (!e && !(e = db_row(s, &has)) && has) {
        int64_t minute = db_col_int64(s, 0), calls = db_col_int64(s, 5);
        bool outbound = !strcmp(db_col_text(s, 1), "out");
        const char *result = db_col_text(s, 4);
        bool ok = !strcmp(result, "ok"), rejected = is_rejected(result);
        int64_t lat_at = db_col_int64(s, 7);
        per[minute - first].calls += calls;
        per[minute - first].errors += ok ? 0 : calls;
        per[minute - first].rejected += rejected ? calls : 0;
        if (!outbound) { /* the totals are the calls made to us */
            tot_calls += calls;
            tot_errors += ok ? 0 : calls;
            tot_rejected += rejected ? calls : 0;
            tot_records += db_col_int64(s, 6);
            for (int b = 0; b < EXCHANGE_LAT_BUCKETS; b++)
                tb[b] += db_col_int64(s, 8 + b);
        }
        if (!ok)
            code_add(codes, &ncodes, result, calls);
        struct party_sum *p = party_find(ps, &nps, outbound, db_col_int64(s, 2), db_col_text(s, 3));
        if (!p)
            continue; /* more parties than a page shows: the totals still hold them */
        p->calls += calls;
        p->errors += ok ? 0 : calls;
        p->rejected += rejected ? calls : 0;
        p->records += db_col_int64(s, 6);
        if (lat_at > p->last_at)
            p->last_at = lat_at;
        if (ok && lat_at > p->last_ok_at)
            p->last_ok_at = lat_at;
        for (int b = 0; b < EXCHANGE_LAT_BUCKETS; b++)
            p->b[b] += db_col_int64(s, 8 + b);
    }
    db_done(s);
    if (e) {
        free(per);
        free(ps);
        return e;
    }
    json_t *series = json_array();
    for (int i = 0; i < minutes; i++) {
        char t[CHINA_TIME_LEN];
        china_time((first + i) * 60000, t);
        json_array_append_new(series, json_pack("{s:s, s:I, s:I, s:I}", "minute", t, "calls",
                                                (json_int_t)per[i].calls, "errors",
                                                (json_int_t)per[i].errors, "rejected",
                                                (json_int_t)per[i].rejected));
    }
    /* the busiest first */
    qsort(ps, (size_t)nps, sizeof *ps, party_cmp);
    qsort(codes, (size_t)ncodes, sizeof *codes, code_cmp);
    json_t *callers = json_array(), *peers = json_array();
    bool taken[PARTIES_MAX] = {0};
    if ((e = peers_json(d, ps, nps, taken, peers))) {
        json_decref(series);
        json_decref(callers);
        json_decref(peers);
        free(per);
        free(ps);
        return e;
    }
    for (int i = 0; i < nps; i++) {
        const struct party_sum *p = &ps[i];
        if (taken[i])
            continue;
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "name",
                              *p->name ? p->name : "（未识别的调用方）", "calls",
                              (json_int_t)p->calls, "errors", (json_int_t)p->errors, "rejected",
                              (json_int_t)p->rejected, "records", (json_int_t)p->records, "p99_ms",
                              p99_json(p->b), "last_at", time_json(p->last_at));
        if (p->outbound) { /* a peer the registry does not hold (a connector's own) */
            json_object_set_new(o, "last_ok_at", time_json(p->last_ok_at));
            json_object_set_new(o, "registered", json_false());
            json_array_append_new(peers, o);
        } else {
            json_object_set_new(o, "caller_id", json_integer(p->caller_id));
            json_array_append_new(callers, o);
        }
    }
    json_t *errors = json_array();
    for (int i = 0; i < ncodes; i++)
        json_array_append_new(errors, json_pack("{s:s, s:I}", "code", codes[i].code, "calls",
                                                (json_int_t)codes[i].calls));
    char from_t[CHINA_TIME_LEN], to_t[CHINA_TIME_LEN];
    china_time(first * 60000, from_t);
    china_time((last + 1) * 60000, to_t);
    *out_r =
        json_pack("{s:s, s:s, s:i, s:{s:I, s:I, s:I, s:I, s:o}, s:o, s:o, s:o, s:o}", "from",
                  from_t, "to", to_t, "minutes", minutes, "totals", "calls", (json_int_t)tot_calls,
                  "errors", (json_int_t)tot_errors, "rejected", (json_int_t)tot_rejected, "records",
                  (json_int_t)tot_records, "p99_ms", p99_json(tb), "series", series, "callers",
                  callers, "peers", peers, "errors", errors);
    free(per);
    free(ps);
    return E_OK;
}

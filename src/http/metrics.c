/*
 * Prometheus metrics: requests by route and status, a latency histogram and
 * the time spent in the database. Counters are atomics shared by all loops.
 */
#include "http/internal.h"

#include "base/log.h"
#include "security/crypto.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define NSTATUS 600

static const double bounds_ms[] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBOUNDS (sizeof bounds_ms / sizeof bounds_ms[0])

/* requests[route + 1][status]: route -1 (unmatched) lives in row 0. The
 * kernel maps the untouched (zero) pages lazily, so the size costs nothing. */
static _Atomic uint64_t requests[HTTP_ROUTES_MAX + 1][NSTATUS];
static _Atomic uint64_t buckets[NBOUNDS + 1];
static _Atomic uint64_t total_us_sum, db_us_sum, count;

/* Labelled counters (http_metric_inc): a small fixed table, found by a
 * linear scan under a lock; refusals are rare next to requests. */
#define NLABELLED 128
static struct {
    const char *family;
    char reason[48];
    uint64_t n;
} labelled[NLABELLED];
static int n_labelled;
static bool labelled_full; /* a counter was dropped (logged once) */
static pthread_mutex_t labelled_mu = PTHREAD_MUTEX_INITIALIZER;

void http_metric_inc(const char *family, const char *reason)
{
    pthread_mutex_lock(&labelled_mu);
    int i;
    for (i = 0; i < n_labelled; i++)
        if (labelled[i].family == family && !strcmp(labelled[i].reason, reason))
            break;
    if (i == n_labelled && n_labelled < NLABELLED) {
        labelled[i].family = family;
        snprintf(labelled[i].reason, sizeof labelled[i].reason, "%s", reason);
        n_labelled++;
    }
    bool dropped = i == NLABELLED && !labelled_full;
    if (i < NLABELLED)
        labelled[i].n++;
    else
        labelled_full = true;
    pthread_mutex_unlock(&labelled_mu);
    /* reasons are slugs, a fixed set, so this is a bug: say so once */
    if (dropped)
        log_event(LOG_ERROR, "metric_table_full", "family", family, "reason", reason, NULL);
}

void metrics_observe(int route_ix, int status, uint64_t total_us, uint64_t db_us)
{
    int row = route_ix + 1;
    assert(row >= 0 && row <= HTTP_ROUTES_MAX); /* router_match's index or -1 */
    if (row < 0 || row > HTTP_ROUTES_MAX || status < 100 || status >= NSTATUS)
        return;
    atomic_fetch_add_explicit(&requests[row][status], 1, memory_order_relaxed);
    double ms = (double)total_us / 1000.0;
    size_t b = 0;
    while (b < NBOUNDS && ms > bounds_ms[b])
        b++;
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&total_us_sum, total_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&db_us_sum, db_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
}

static const char *method_name(enum http_method m)
{
    switch (m) {
    case M_GET:
        return "GET";
    case M_POST:
        return "POST";
    case M_PATCH:
        return "PATCH";
    case M_PUT:
        return "PUT";
    case M_DELETE:
        return "DELETE";
    }
    return "";
}

char *metrics_render(arena *a)
{
    size_t n;
    const struct route *const *rs = router_all(&n);
    size_t cap = 1 << 16, len = 0;
    char *out = arena_alloc(a, cap);
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        if (len < cap)                                                                             \
            len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__);                            \
    } while (0)
    EMIT("# HELP fangkong_requests_total HTTP requests by route and status.\n"
         "# TYPE fangkong_requests_total counter\n");
    for (size_t row = 0; row <= n && row <= HTTP_ROUTES_MAX; row++) {
        _Atomic uint64_t *rowp = requests[row];
        for (int st = 100; st < NSTATUS; st++) {
            uint64_t v = atomic_load_explicit(&rowp[st], memory_order_relaxed);
            if (!v)
                continue;
            if (row == 0)
                EMIT("fangkong_requests_total{method=\"\",route=\"unmatched\",status=\"%d\"} "
                     "%llu\n",
                     st, (unsigned long long)v);
            else
                EMIT("fangkong_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                     method_name(rs[row - 1]->method), rs[row - 1]->pattern, st,
                     (unsigned long long)v);
        }
    }
    EMIT("# HELP fangkong_request_duration_seconds Request latency.\n"
         "# TYPE fangkong_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < NBOUNDS; b++) {
        cum += atomic_load(&buckets[b]);
        EMIT("fangkong_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds_ms[b] / 1000.0,
             (unsigned long long)cum);
    }
    cum += atomic_load(&buckets[NBOUNDS]);
    EMIT("fangkong_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    EMIT("fangkong_request_duration_seconds_sum %.6f\n", (double)atomic_load(&total_us_sum) / 1e6);
    EMIT("fangkong_request_duration_seconds_count %llu\n", (unsigned long long)atomic_load(&count));
    EMIT("# HELP fangkong_db_seconds_total Time spent in the database by request handlers.\n"
         "# TYPE fangkong_db_seconds_total counter\n"
         "fangkong_db_seconds_total %.6f\n",
         (double)atomic_load(&db_us_sum) / 1e6);
    pthread_mutex_lock(&labelled_mu);
    for (int i = 0; i < n_labelled; i++) {
        bool first = true;
        for (int k = 0; k < i; k++)
            first = first && labelled[k].family != labelled[i].family;
        if (first)
            EMIT("# TYPE %s counter\n", labelled[i].family);
        for (int k = i; first && k < n_labelled; k++)
            if (labelled[k].family == labelled[i].family)
                EMIT("%s{reason=\"%s\"} %llu\n", labelled[k].family, labelled[k].reason,
                     (unsigned long long)labelled[k].n);
    }
    pthread_mutex_unlock(&labelled_mu);
#undef EMIT
    return out;
}

/* ---- who may read /metrics -------------------------------------------------------- */

static bool loopback_peer(const struct req *r)
{
    return !strncmp(r->ip, "127.", 4) || !strcmp(r->ip, "::1");
}

/*
 * Loopback scrapers (Prometheus on the same host) are allowed unless
 * FK_METRICS_LOOPBACK=0; a request relayed by a proxy on the same host
 * (X-Forwarded-For, Forwarded) is not a loopback scraper. Anyone else
 * needs `Authorization: Bearer $FK_METRICS_TOKEN`, compared in constant
 * time through its hash (so neither content nor length leaks). Without a
 * token configured the path does not exist for them (404).
 */
err metrics_admit(struct req *r)
{
    const char *lb = getenv("FK_METRICS_LOOPBACK");
    bool relayed = req_header(r, "X-Forwarded-For") || req_header(r, "Forwarded");
    if (loopback_peer(r) && !relayed && !(lb && !strcmp(lb, "0")))
        return E_OK;
    const char *want = getenv("FK_METRICS_TOKEN");
    if (!want || !*want)
        return err_set(E_NOT_FOUND, "no_such_path", NULL, "请求的地址不存在");
    const char *auth = req_header(r, "Authorization");
    if (auth && !strncmp(auth, "Bearer ", 7)) {
        uint8_t a[SM3_LEN], b[SM3_LEN];
        sm3(auth + 7, strlen(auth + 7), a);
        sm3(want, strlen(want), b);
        if (ct_equal(a, b, SM3_LEN))
            return E_OK;
    }
    return err_set(E_AUTH, "metrics_token_required", NULL, "读取指标需要有效的访问令牌");
}

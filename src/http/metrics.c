/*
 * Prometheus metrics: requests by route and status, a latency histogram and
 * the time spent in the database. Counters are atomics shared by all loops.
 * Gauges (http_metric_gauge) are read when scraped: the writers' queues,
 * the data folder's free disk, replication lag, the certificate's expiry
 * (registered by doctor/gauges.c for the alert rules of deploy/prometheus).
 */
#include "http/internal.h"

#include "base/log.h"
#include "db/periodic.h"
#include "security/crypto.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define NSTATUS 600

const double http_latency_bounds_ms[HTTP_LATENCY_BOUNDS] = {0.5, 1,   2,   5,   10,   25,
                                                            50,  100, 250, 500, 1000, 5000};
#define bounds_ms http_latency_bounds_ms
#define NBOUNDS   ((size_t)HTTP_LATENCY_BOUNDS)

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

static char *families_render(arena *a, char *out, size_t *len_r, size_t *cap_r);
static char *gauges_render(arena *a, db *d, char *out, size_t *len_r, size_t *cap_r);

char *metrics_render(arena *a, db *d)
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
    if (len < cap) /* the sweeps' leases (db/periodic.h), whole lines */
        len += periodic_metrics(out + len, cap - len);
#undef EMIT
    if (len >= cap) /* the fixed part was cut: never append after a cut line */
        return out;
    out = families_render(a, out, &len, &cap);
    return gauges_render(a, d, out, &len, &cap);
}

/* ---- gauges (http_metric_gauge) ----------------------------------------------------- */

static struct {
    const char *name, *help, *labels;
    http_gauge_fn fn;
    void *ctx;
} gauges[HTTP_METRIC_GAUGES_MAX];
static int ngauges; /* written before serving, read-only afterwards */

err http_metric_gauge(const char *name, const char *help, const char *labels, http_gauge_fn fn,
                      void *ctx)
{
    if (ngauges == HTTP_METRIC_GAUGES_MAX)
        return err_set(E_INTERNAL, "metric_table_full", NULL, "指标表已满");
    gauges[ngauges].name = name;
    gauges[ngauges].help = help;
    gauges[ngauges].labels = labels;
    gauges[ngauges].fn = fn;
    gauges[ngauges].ctx = ctx;
    ngauges++;
    return E_OK;
}

/* Each name's HELP and TYPE once, then the values of every gauge of that
 * name (registered together or not); a name none of whose gauges has a
 * value is left out entirely. */
static char *gauges_render(arena *a, db *d, char *out, size_t *len_r, size_t *cap_r)
{
    size_t len = *len_r, cap = *cap_r;
    double v[HTTP_METRIC_GAUGES_MAX];
    bool has[HTTP_METRIC_GAUGES_MAX];
    size_t need = 0;
    for (int i = 0; i < ngauges; i++) {
        has[i] = gauges[i].fn(d, gauges[i].ctx, &v[i]);
        need += 2 * strlen(gauges[i].name) + strlen(gauges[i].help) +
                (gauges[i].labels ? strlen(gauges[i].labels) : 0) + 96;
    }
    if (cap - len < need + 1) {
        char *bigger = arena_alloc(a, len + need + 1);
        memcpy(bigger, out, len);
        out = bigger;
        cap = len + need + 1;
    }
    for (int i = 0; i < ngauges; i++) {
        bool first = true, any = false;
        for (int k = 0; k < i; k++)
            first = first && strcmp(gauges[k].name, gauges[i].name);
        for (int k = i; first && k < ngauges; k++)
            any = any || (has[k] && !strcmp(gauges[k].name, gauges[i].name));
        if (!first || !any)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s gauge\n",
                                gauges[i].name, gauges[i].help, gauges[i].name);
        for (int k = i; k < ngauges; k++) {
            if (!has[k] || strcmp(gauges[k].name, gauges[i].name))
                continue;
            const char *lab = gauges[k].labels;
            len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s ", gauges[k].name,
                                    lab ? "{" : "", lab ? lab : "", lab ? "}" : "");
            if (isinf(v[k])) /* the exposition format's spelling */
                len += (size_t)snprintf(out + len, cap - len, "%sInf\n", v[k] > 0 ? "+" : "-");
            else
                len += (size_t)snprintf(out + len, cap - len, "%.15g\n", v[k]);
        }
    }
    *len_r = len;
    *cap_r = cap;
    return out;
}

/* ---- labelled families (http_metric_family) ----------------------------------------- */

#define SERIES_KEY_MAX 256
#define SERIES_SLOTS   (2 * HTTP_METRIC_SERIES_MAX) /* open addressing, at most half full */

struct series {
    char key[SERIES_KEY_MAX]; /* the label values joined by \x1f */
    uint64_t buckets[NBOUNDS + 1];
    double sum; /* counter: the total; histogram: the seconds observed */
    uint64_t count;
};

struct http_metric_family {
    const char *name, *help;
    enum http_metric_kind kind;
    const char *const *labels;
    int nlabels;
    pthread_mutex_t mu;
    int nseries;
    int16_t slot[SERIES_SLOTS]; /* series index + 1, 0 free */
    struct series series[HTTP_METRIC_SERIES_MAX];
    struct series other; /* every value past the table: labels "_other" */
};

/* Zero pages until a family is used: the kernel maps them lazily. */
static struct http_metric_family families[HTTP_METRIC_FAMILIES_MAX];
static int nfamilies;

struct http_metric_family *http_metric_family(const char *name, const char *help,
                                              enum http_metric_kind kind, const char *const *labels)
{
    int n = 0;
    while (labels && labels[n])
        n++;
    if (nfamilies == HTTP_METRIC_FAMILIES_MAX || n > HTTP_METRIC_LABELS_MAX)
        return NULL;
    struct http_metric_family *f = &families[nfamilies++];
    f->name = name;
    f->help = help;
    f->kind = kind;
    f->labels = labels;
    f->nlabels = n;
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 16777619u;
    return h;
}

/* The series of key, made when new; &f->other when the table is full. */
static struct series *series_of(struct http_metric_family *f, const char *key)
{
    uint32_t i = key_hash(key) % SERIES_SLOTS;
    for (;; i = (i + 1) % SERIES_SLOTS) {
        int ix = f->slot[i];
        if (!ix)
            break;
        if (!strcmp(f->series[ix - 1].key, key))
            return &f->series[ix - 1];
    }
    if (f->nseries == HTTP_METRIC_SERIES_MAX)
        return &f->other;
    struct series *sr = &f->series[f->nseries++];
    snprintf(sr->key, sizeof sr->key, "%s", key);
    f->slot[i] = (int16_t)f->nseries;
    return sr;
}

void http_metric_add(struct http_metric_family *f, const char *const *values, double v)
{
    if (!f)
        return;
    char key[SERIES_KEY_MAX];
    size_t len = 0;
    bool fits = true;
    for (int i = 0; i < f->nlabels && fits; i++) {
        int w = snprintf(key + len, sizeof key - len, "%s%s", i ? "\x1f" : "",
                         values[i] ? values[i] : "");
        fits = w >= 0 && (size_t)w < sizeof key - len;
        len += fits ? (size_t)w : 0;
    }
    size_t b = 0;
    while (f->kind == HTTP_METRIC_HISTOGRAM && b < NBOUNDS && v * 1000.0 > bounds_ms[b])
        b++;
    pthread_mutex_lock(&f->mu);
    struct series *sr = fits ? series_of(f, key) : &f->other;
    sr->sum += v;
    sr->count++;
    if (f->kind == HTTP_METRIC_HISTOGRAM)
        sr->buckets[b]++;
    pthread_mutex_unlock(&f->mu);
}

/* Write the label set of key (values separated by \x1f) as name="value",…
 * escaping backslash, quote and newline; "_other" for every label of the
 * overflow series (key NULL). */
static size_t labels_text(const struct http_metric_family *f, const char *key, char *out,
                          size_t cap)
{
    size_t len = 0;
    const char *v = key;
    for (int i = 0; i < f->nlabels; i++) {
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s=\"", i ? "," : "",
                                f->labels[i]);
        const char *val = key ? v : "_other";
        for (; *val && *val != '\x1f'; val++) {
            const char *esc = *val == '\\'   ? "\\\\"
                              : *val == '"'  ? "\\\""
                              : *val == '\n' ? "\\n"
                                             : NULL;
            if (esc)
                len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s", esc);
            else if (len + 1 < cap)
                out[len++] = *val;
        }
        if (key)
            v = *val ? val + 1 : val;
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "\"");
    }
    if (len >= cap)
        len = cap - 1;
    out[len] = '\0';
    return len;
}

/* Render every family's series at the end of out (len, cap), growing it in a. */
static char *families_render(arena *a, char *out, size_t *len_r, size_t *cap_r)
{
    size_t len = *len_r, cap = *cap_r;
    for (int fi = 0; fi < nfamilies; fi++) {
        struct http_metric_family *f = &families[fi];
        pthread_mutex_lock(&f->mu);
        int n = f->nseries + (f->other.count ? 1 : 0);
        /* a series' lines stay under this: buckets, sum and count, each with its labels
         * (names, quotes and values escaped to at most twice their length) */
        size_t names = 0, need = strlen(f->name) * 2 + strlen(f->help) + 64;
        for (int i = 0; i < f->nlabels; i++)
            names += strlen(f->labels[i]) + 4;
        for (int i = 0; i < n; i++) {
            size_t key = i < f->nseries ? strlen(f->series[i].key) : (size_t)f->nlabels * 6;
            need += (NBOUNDS + 3) * (strlen(f->name) + names + 2 * key + 64);
        }
        if (cap - len < need) {
            char *bigger = arena_alloc(a, len + need);
            memcpy(bigger, out, len);
            out = bigger;
            cap = len + need;
        }
        bool hist = f->kind == HTTP_METRIC_HISTOGRAM;
        len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n", f->name,
                                f->help, f->name, hist ? "histogram" : "counter");
        char lab[SERIES_KEY_MAX * 2 + 512];
        for (int i = 0; i < n; i++) {
            const struct series *sr = i < f->nseries ? &f->series[i] : &f->other;
            labels_text(f, i < f->nseries ? sr->key : NULL, lab, sizeof lab);
            if (!hist) {
                len +=
                    (size_t)snprintf(out + len, cap - len, "%s{%s} %.15g\n", f->name, lab, sr->sum);
                continue;
            }
            uint64_t cum = 0;
            for (size_t b = 0; b <= NBOUNDS; b++) {
                cum += sr->buckets[b];
                char le[32];
                if (b < NBOUNDS)
                    snprintf(le, sizeof le, "%g", bounds_ms[b] / 1000.0);
                else
                    snprintf(le, sizeof le, "+Inf");
                len += (size_t)snprintf(out + len, cap - len, "%s_bucket{%s,le=\"%s\"} %llu\n",
                                        f->name, lab, le, (unsigned long long)cum);
            }
            len += (size_t)snprintf(out + len, cap - len, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n",
                                    f->name, lab, sr->sum, f->name, lab,
                                    (unsigned long long)sr->count);
        }
        pthread_mutex_unlock(&f->mu);
    }
    *len_r = len;
    *cap_r = cap;
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

/*
 * The operators' gauges of /metrics (doctor.h): what the alert rules of
 * deploy/prometheus/fangkong-rules.yml need beyond the request counters.
 * Each is read when scraped, on the scraping loop, from an atomic or a
 * lock-protected counter, a statvfs, one PEM file or one small query.
 */
#include "doctor/doctor.h"

#include <stdlib.h>
#include <time.h>

#include "access/access.h"
#include "code/code.h"
#include "device/device.h"
#include "http/http.h"
#include "security/audit.h"

static bool queue_access(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    *v = (double)access_writer_pending();
    return true;
}

static bool queue_audit(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    *v = (double)audit_queue_depth();
    return true;
}

static bool queue_code(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    *v = (double)code_worker_queued();
    return true;
}

/* ctx: 0 free bytes, 1 size, 2 the free ratio */
static const char *data_dir;
static bool disk(db *d, void *ctx, double *v)
{
    (void)d;
    uint64_t free_b, total;
    if (!doctor_disk(data_dir, &free_b, &total) || !total)
        return false;
    int what = *(const int *)ctx;
    *v = what == 0 ? (double)free_b : what == 1 ? (double)total : (double)free_b / (double)total;
    return true;
}

static bool cert(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    const char *file = getenv("FK_TLS_CERT");
    int64_t s;
    if (!file || !*file || doctor_cert_expiry(file, &s))
        return false;
    *v = (double)s;
    return true;
}

/* ctx: the role whose lag this line reports ("primary" or "standby") */
static bool replication(db *d, void *ctx, double *v)
{
    bool standby;
    double lag;
    int64_t n;
    if (!d || doctor_replication(d, &standby, &lag, &n))
        return false;
    bool want_standby = *(const char *)ctx == 's';
    if (standby != want_standby)
        return false;
    *v = lag;
    return true;
}

static bool standbys(db *d, void *ctx, double *v)
{
    (void)ctx;
    bool standby;
    double lag;
    int64_t n;
    if (!d || doctor_replication(d, &standby, &lag, &n) || standby)
        return false;
    *v = (double)n;
    return true;
}

static bool mqtt(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    int st = device_mqtt_state();
    *v = st;
    return st >= 0;
}

/* 1 while a write was refused for a full disk within the last minute (any
 * driver: SQLite's file, PostgreSQL's server, a journal, backup or export
 * file), else 0. The data folder's free ratio cannot see PostgreSQL's disk;
 * this sees every one the server writes to (FangkongDiskFull). */
static bool disk_full(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t last = err_disk_full_last(); /* monotonic second + 1; 0: never */
    *v = last && (int64_t)ts.tv_sec + 1 - last < 60 ? 1 : 0;
    return true;
}

static bool disk_full_writes(db *d, void *ctx, double *v)
{
    (void)d, (void)ctx;
    *v = (double)err_disk_full_count();
    return true;
}

err doctor_gauges_register(const char *dir)
{
    static const int free_b = 0, size = 1, ratio = 2;
    data_dir = dir;
    const char *q = "Items queued for a writer thread and not yet written.";
    const char *lag = "PostgreSQL replication lag in seconds: on a primary the largest replay "
                      "lag of its standbys, on a standby the age of what it has not replayed.";
    err e;
    if ((e = http_metric_gauge("fangkong_writer_queue_depth", q, "writer=\"access\"", queue_access,
                               NULL)) ||
        (e = http_metric_gauge("fangkong_writer_queue_depth", q, "writer=\"audit\"", queue_audit,
                               NULL)) ||
        (e = http_metric_gauge("fangkong_writer_queue_depth", q, "writer=\"code\"", queue_code,
                               NULL)) ||
        (e = http_metric_gauge("fangkong_disk_free_bytes",
                               "Bytes free for the server on the data folder's filesystem.", NULL,
                               disk, (void *)&free_b)) ||
        (e = http_metric_gauge("fangkong_disk_size_bytes", "Size of the data folder's filesystem.",
                               NULL, disk, (void *)&size)) ||
        (e = http_metric_gauge("fangkong_disk_free_ratio",
                               "Share of the data folder's filesystem free (0..1).", NULL, disk,
                               (void *)&ratio)) ||
        (e = http_metric_gauge("fangkong_tls_cert_expiry_seconds",
                               "Seconds until the certificate of FK_TLS_CERT expires.", NULL, cert,
                               NULL)) ||
        (e = http_metric_gauge("fangkong_pg_replication_lag_seconds", lag, "role=\"primary\"",
                               replication, "primary")) ||
        (e = http_metric_gauge("fangkong_pg_replication_lag_seconds", lag, "role=\"standby\"",
                               replication, "standby")) ||
        (e = http_metric_gauge("fangkong_pg_standbys", "Standbys streaming from this primary.",
                               NULL, standbys, NULL)) ||
        (e = http_metric_gauge("fangkong_mqtt_connected",
                               "1 while the device subscriber is connected to the broker.", NULL,
                               mqtt, NULL)) ||
        (e = http_metric_gauge("fangkong_disk_full",
                               "1 while a write was refused for a full disk in the last minute.",
                               NULL, disk_full, NULL)) ||
        (e = http_metric_gauge("fangkong_disk_full_writes",
                               "Writes refused for a full disk since the start (retries count).",
                               NULL, disk_full_writes, NULL)))
        return e;
    return E_OK;
}

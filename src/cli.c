/*
 * Configuration shared by the subcommands, and the commands that wire the
 * whole program together: serve, init, routes.
 */
#include "cli.h"
#include "http/http.h"
#include "http/static.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access.h"
#include "access/journal.h"
#include "alert/alert.h"
#include "app.h"
#include "attach/attach.h"
#include "case/case.h"
#include "base/id.h"
#include "base/log.h"
#include "code/code.h"
#include "device/device.h"
#include "exchange/exchange.h"
#include "exchange/connect.h"
#include "job/export.h"
#include "job/export_store.h"
#include "job/import.h"
#include "job/offload.h"
#include "job/job.h"
#include "db/lease.h"
#include "db/query.h"
#include "map/map.h"
#include "exchange/peer.h"
#include "keyrot/keyrot.h"
#include "monitor/monitor.h"
#include "nat/nat.h"
#include "person/person.h"
#include "publish/publish.h"
#include "security/audit.h"
#include "security/ratelimit.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "task/task.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"
#include "video/video.h"
#include "visitor/visitor.h"
#include "service/service.h" /* community services: the check-in sweep */
#include "notice/notice.h"   /* notices: live read receipts of other servers */
#include "face/face.h"       /* face terminals: resends, failures */
#include "doctor/doctor.h"   /* the operators' gauges of /metrics */
#include "retention/retention.h"
#include "backup/schedule.h" /* scheduled, verified SQLite backups */

static const struct {
    const char *flag;
    const char *env;
} flags[] = {
    {"--db", "FK_DB"},
    {"--port", "FK_PORT"},
    {"--bind", "FK_BIND"},
    {"--data-dir", "FK_DATA_DIR"},
    {"--key-file", "FK_KEY_FILE"},
    {"--threads", "FK_THREADS"},
    {"--node", "FK_NODE"},
};

/* Paths under the data dir live as long as the process: static buffers. */
static char db_path[4096], key_path[4096], sms_path[4096], anchor_path[4096];

static const char *join(char *buf, size_t size, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size) {
        fprintf(stderr, "fangkong: FK_DATA_DIR is too long\n");
        return NULL;
    }
    return buf;
}

static int env_int(const char *name, int dflt, int min, int max, int *v_r)
{
    const char *s = getenv(name);
    if (!s || !*s) {
        *v_r = dflt;
        return 0;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max) {
        fprintf(stderr, "fangkong: %s must be a number from %d to %d\n", name, min, max);
        return 1;
    }
    *v_r = (int)v;
    return 0;
}

int config_load(int *argc, char **argv, struct config *c)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        size_t k = 0;
        while (k < sizeof flags / sizeof flags[0] && strcmp(argv[i], flags[k].flag))
            k++;
        if (k == sizeof flags / sizeof flags[0]) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "fangkong: %s needs a value\n", argv[i]);
            return 1;
        }
        setenv(flags[k].env, argv[++i], 1);
    }
    *argc = out;
    const char *dd = getenv("FK_DATA_DIR");
    c->data_dir = dd && *dd ? dd : "./data";
    const char *dbu = getenv("FK_DB");
    c->db_url = dbu && *dbu ? dbu : join(db_path, sizeof db_path, c->data_dir, "fangkong.db");
    const char *kf = getenv("FK_KEY_FILE");
    c->key_file = kf && *kf ? kf : join(key_path, sizeof key_path, c->data_dir, "keys/master.key");
    if (!c->db_url || !c->key_file)
        return 1;
    /* the audit anchors live beside the master key: outside the database,
     * and as well protected as the key */
    const char *af = getenv("FK_AUDIT_ANCHORS");
    if (af && *af) {
        c->audit_anchors = af;
    } else {
        const char *slash = strrchr(c->key_file, '/');
        int dir = slash ? (int)(slash - c->key_file) : 1;
        if ((size_t)snprintf(anchor_path, sizeof anchor_path, "%.*s/audit-anchors.log", dir,
                             slash ? c->key_file : ".") >= sizeof anchor_path) {
            fprintf(stderr, "fangkong: FK_KEY_FILE is too long\n");
            return 1;
        }
        c->audit_anchors = anchor_path;
    }
    int checkpoint_s, audit_queue, pw_kib, pw_passes;
    if (env_int("FK_AUDIT_CHECKPOINT", 60, 1, 3600, &checkpoint_s) ||
        env_int("FK_AUDIT_QUEUE", 100000, 1, 10000000, &audit_queue) ||
        /* the argon2id cost of new password hashes (security/auth.h) */
        env_int("FK_PASSWORD_MEMORY_KIB", 19456, 8, 4 * 1024 * 1024, &pw_kib) ||
        env_int("FK_PASSWORD_PASSES", 2, 1, 100, &pw_passes))
        return 1;
    password_cost_set((unsigned)pw_kib, (unsigned)pw_passes);
    audit_configure(c->audit_anchors, checkpoint_s);
    audit_set_queue_max((size_t)audit_queue);
    const char *b = getenv("FK_BIND");
    c->bind = b && *b ? b : "127.0.0.1";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (env_int("FK_PORT", 8080, 0, 65535, &c->port) ||
        env_int("FK_THREADS", cores > 0 ? (int)cores : 2, 1, 256, &c->threads) ||
        env_int("FK_NODE", 0, 0, 1023, &c->node))
        return 1;
    id_set_node(c->node);

    struct auth_config ac = {0};
    int secure = 1, backoff = 1000;
    if (env_int("FK_SESSION_IDLE", 1800, 1, 86400, &ac.session_idle_s) ||
        env_int("FK_SESSION_MAX", 43200, 1, 30 * 86400, &ac.session_max_s) ||
        env_int("FK_LOCK_SECONDS", 1800, 1, 86400, &ac.lock_s) ||
        env_int("FK_LOGIN_FAILURES", 5, 1, 100, &ac.max_failures) ||
        env_int("FK_LOGIN_BACKOFF_MS", 1000, 0, 60000, &backoff) ||
        env_int("FK_LOGIN_IP_FAILURES", 100, 1, 1000000, &ac.ip_failures) ||
        env_int("FK_SMS_PHONE_DAY", 10, 1, 1000, &ac.sms_phone_day) ||
        env_int("FK_SMS_RESEND", 60, 1, 3600, &ac.sms_resend_s) ||
        env_int("FK_SMS_IP_DAY", 50, 1, 1000000, &ac.sms_ip_day) ||
        env_int("FK_COOKIE_SECURE", 1, 0, 1, &secure))
        return 1;
    ac.backoff_ms = backoff ? backoff : -1; /* 0 in auth_config means "the default" */
    ac.cookie_insecure = !secure;
    ac.sms_driver = getenv("FK_SMS_DRIVER");
    ac.sms_url = getenv("FK_SMS_URL");
    const char *sf = getenv("FK_SMS_FILE");
    ac.sms_file = sf && *sf ? sf : join(sms_path, sizeof sms_path, c->data_dir, "sms.log");
    if (!ac.sms_file)
        return 1;
    auth_configure(&ac);
    if (venue_set_public_origin(getenv("FK_PUBLIC_ORIGIN"))) {
        fprintf(stderr, "fangkong: %s\n", err_last()->message);
        return 1;
    }
    /* the camera ledger's stream check: the video network's CA */
    if (camera_check_set_ca_file(getenv("FK_VIDEO_CA_FILE"))) {
        fprintf(stderr, "fangkong: %s\n", err_last()->message);
        return 1;
    }
    /* the reverse proxies whose X-Forwarded-For names the client (docs/deploy.md) */
    if (http_set_trusted_proxies(getenv("FK_TRUSTED_PROXIES"))) {
        fprintf(stderr, "fangkong: %s\n", err_last()->message);
        return 1;
    }
    /* the video network's stream origins the console may play (CSP) */
    if (http_set_media_origins(getenv("FK_VIDEO_ORIGINS"))) {
        fprintf(stderr, "fangkong: %s\n", err_last()->message);
        return 1;
    }
    int search_limit;
    if (env_int("FK_EXACT_SEARCH_LIMIT", 60, 1, 1000000, &search_limit))
        return 1;
    person_search_limit_set(search_limit);
    int uploads, upload_mb;
    if (env_int("FK_ATTACH_UPLOADS_PER_HOUR", ATTACH_UPLOADS_PER_HOUR, 1, 1000000, &uploads) ||
        env_int("FK_ATTACH_MB_PER_HOUR", (int)(ATTACH_BYTES_PER_HOUR >> 20), 1, 1000000,
                &upload_mb))
        return 1;
    attach_limits_set(uploads, (int64_t)upload_mb << 20);
    return 0;
}

int cli_fail(err e, const char *what)
{
    const struct err_detail *d = err_last();
    fprintf(stderr, "fangkong: %s: %s\n", what,
            d->code == e && d->message[0] ? d->message : err_message(e));
    return 1;
}

int app_open(const struct config *c, db **d_r)
{
    err e = keys_load(c->key_file);
    if (e) {
        char what[4200];
        snprintf(what, sizeof what, "key file %s", c->key_file);
        return cli_fail(e, what);
    }
    if ((e = db_open(c->db_url, d_r)) || (e = db_cache_large(*d_r)))
        return cli_fail(e, "database");
    /* person_backfill: the blind indexes migration 012 added but SQL cannot
     * compute (the key is outside the database) */
    if ((e = db_migrate(*d_r)) || (e = rbac_seed(*d_r)) || (e = person_backfill(*d_r, NULL))) {
        db_close(d_r);
        return cli_fail(e, "migration");
    }
    /* rows from before plates were sealed (sql/013): sealed with the key,
     * which SQL migrations cannot reach */
    int64_t vehicles = 0, visitors = 0;
    if ((e = vehicle_plaintext_seal(*d_r, &vehicles)) ||
        (e = visitor_plaintext_seal(*d_r, &visitors))) {
        db_close(d_r);
        return cli_fail(e, "sealing plates");
    }
    if (vehicles + visitors) {
        char n[48];
        snprintf(n, sizeof n, "%lld", (long long)(vehicles + visitors));
        log_event(LOG_INFO, "plates_sealed", "rows", n, NULL);
    }
    if ((e = audit_upgrade(*d_r))) { /* key the chain of a database from before 009 */
        db_close(d_r);
        return cli_fail(e, "audit upgrade");
    }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong init: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    if (mkdir(c.data_dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "fangkong init: cannot create %s: %s\n", c.data_dir, strerror(errno));
        return 1;
    }
    if (access(c.key_file, F_OK) != 0) {
        char *dir = strdup(c.key_file);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            if (mkdir(dir, 0700) && errno != EEXIST) {
                fprintf(stderr, "fangkong init: cannot create %s: %s\n", dir, strerror(errno));
                free(dir);
                return 1;
            }
        }
        free(dir);
        err e = keys_create(c.key_file);
        if (e)
            return cli_fail(e, "key file");
        printf("created master key %s (mode 0600; back it up separately from the database)\n",
               c.key_file);
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    db_close(&d);
    printf("database ready\n");
    return 0;
}

/* FK_WEB_DIR, else web/dist under the working directory (make run), else
 * beside the binary (build/fangkong -> web/dist). */
static const char *web_dir(void)
{
    static char buf[4096];
    const char *v = getenv("FK_WEB_DIR");
    if (v && *v)
        return v;
    if (access("web/dist", R_OK) == 0)
        return "web/dist";
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return "web/dist";
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    size_t used = strlen(buf);
    snprintf(buf + used, sizeof buf - used, "/../web/dist");
    return buf;
}

/* Stop what cmd_serve started, in reverse order; each stop is a no-op for
 * what did not start. */
static void stop_workers(void)
{
    exchange_watch_stop(); /* the exchange's counts: the last flush */
    /* the connectors' schedules (exchange/connect_*.c) */
    platform_worker_stop();
    urban_worker_stop();
    situation_worker_stop();
    exchange_worker_stop(); /* the exchange's nonce and idempotency purge */
    map_live_stop();        /* the one-map's live updates */
    monitor_worker_stop();  /* the monitoring rules' evaluation */
    exchange_fed_stop();    /* the parent's zones and risk areas */
    exchange_outbox_stop(); /* the change log's delivery to peers */
    trace_worker_stop();    /* contact tracing's automatic warning */
    job_offload_stop();
    nat_worker_stop();
    nat_lookup_stop();
    device_mqtt_stop();
    device_worker_stop();
    attach_worker_stop();
    publish_worker_stop();
    check_worker_stop();
    task_worker_stop();
    import_worker_stop();
    case_release_worker_stop();
    export_jobs_stop();
    alert_live_stop();
    access_writer_stop();
    retention_stop(); /* months ahead, retention */
    static_free();
    code_worker_stop();
    service_worker_stop(); /* community services: the check-in sweep */
    face_worker_stop();    /* face terminals: resends, failures */
    job_orphans_stop();    /* the jobs dead servers left */
    lease_beat_stop();     /* this instance's heartbeat (db/lease.h) */
    keyrot_serve_stop();   /* master key rotation */
    backup_schedule_stop();
    rate_limit_stop(); /* the counted exact searches, written (security/ratelimit.h) */
    audit_stop();
}

int cmd_serve(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong serve: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    /* SIGTERM and SIGINT blocked before the first thread starts, so every
     * thread inherits the mask and http_serve's sigwait is their only
     * receiver: a signal that reached a background thread started here
     * unblocked killed the process without its graceful stop. One that
     * arrives during start-up waits, pending, for that sigwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    int idle_s, sweep_s, device_check_s, task_check_s, write_wait_ms, scan_queue, attach_purge_s;
    int check_sweep_s, escalate_min, release_check_s, export_sync, export_keep_s, export_purge_s;
    int trace_sweep_s;                    /* contact tracing's automatic warning */
    int exchange_purge_s;                 /* the exchange's old nonces and idempotent answers */
    int monitor_every_s;                  /* the monitoring rules' evaluation */
    int outbox_every_s, outbox_backoff_s; /* the outbox's rounds and its longest back-off */
    /* the connectors (exchange/connect.h): the situation feed, telecom queries */
    int situation_every_s, telecom_interval_s, urban_poll_s, platform_every_s;
    int exchange_flush_s, exchange_anomaly_s, exchange_min_calls; /* exchange counts; anomalies */
    int fed_pull_s;                    /* federation: the parent's zones and risk areas */
    int fed_rules;                     /* 1: the code rules follow the parent's */
    int fed_notices;                   /* 1: the parent's notices are published here */
    int share_cache_s;                 /* 共享互认: FK_SHARE_CACHE_S */
    int publish_render_s, public_rate; /* publishing: the figures' schedule, the public's limit */
    int care_sweep_s;                  /* community services: the missed check-in sweep */
    int face_sweep_s;                  /* face terminals: resends, failures */
    int keyrot_every_s, keyrot_batch, keyrot_batches; /* master key rotation's sweep */
    int backup_every_s, backup_keep;                  /* scheduled SQLite backups (docs/ha.md) */
    int nat_sweep_s, nat_radius_m, match_auto, match_margin, match_min, match_near, match_far,
        transit_min;
    int beat_s, orphan_check_s; /* the instance's heartbeat, the dead servers' jobs */
    /* the big lists' totals stop there: "10000+" (db/query.h) */
    int count_cap;
    if (env_int("FK_IDLE_TIMEOUT", 60, 1, 3600, &idle_s) ||
        env_int("FK_SCAN_QUEUE", 10000, 1, 1000000, &scan_queue) ||
        env_int("FK_WRITE_WAIT_MS", 2000, 10, 60000, &write_wait_ms) ||
        env_int("FK_CODE_SWEEP", 300, 0, 86400, &sweep_s) ||
        env_int("FK_DEVICE_CHECK", 30, 0, 86400, &device_check_s) ||
        env_int("FK_ATTACH_PURGE", 600, 0, 86400, &attach_purge_s) ||
        env_int("FK_CHECK_SWEEP", 300, 0, 86400, &check_sweep_s) ||
        env_int("FK_MESSAGE_ESCALATE", 30, 1, 1440, &escalate_min) ||
        env_int("FK_TASK_CHECK", 60, 0, 86400, &task_check_s) ||
        env_int("FK_RELEASE_CHECK", 300, 0, 86400, &release_check_s) ||
        env_int("FK_EXPORT_SYNC_MAX", EXPORT_SYNC_MAX_DEFAULT, 1, 100000000, &export_sync) ||
        env_int("FK_LIST_COUNT_CAP", QUERY_COUNT_CAP_DEFAULT, 1, 100000000, &count_cap) ||
        env_int("FK_EXPORT_KEEP", EXPORT_KEEP_DEFAULT, 1, 30 * 86400, &export_keep_s) ||
        env_int("FK_EXPORT_PURGE", EXPORT_PURGE_DEFAULT, 0, 86400, &export_purge_s) ||
        env_int("FK_NAT_SWEEP", 60, 0, 86400, &nat_sweep_s) ||
        env_int("FK_TRACE_SWEEP", 30, 0, 86400, &trace_sweep_s) ||
        env_int("FK_EXCHANGE_PURGE", 300, 0, 86400, &exchange_purge_s) ||
        env_int("FK_MONITOR_EVERY", 60, 0, 86400, &monitor_every_s) ||
        env_int("FK_FED_PULL", 60, 0, 86400, &fed_pull_s) ||
        env_int("FK_FED_RULES", 0, 0, 1, &fed_rules) ||
        env_int("FK_FED_NOTICES", 0, 0, 1, &fed_notices) ||
        env_int("FK_SHARE_CACHE_S", 60, 1, 3600, &share_cache_s) ||
        env_int("FK_OUTBOX_EVERY", 10, 0, 86400, &outbox_every_s) ||
        env_int("FK_OUTBOX_BACKOFF_MAX_S", 300, 1, 86400, &outbox_backoff_s) ||
        env_int("FK_SITUATION_EVERY", 3600, 0, 7 * 86400, &situation_every_s) ||
        env_int("FK_TELECOM_INTERVAL", TELECOM_INTERVAL_DEFAULT, 1, 30 * 86400,
                &telecom_interval_s) ||
        env_int("FK_URBAN_POLL", 300, 0, 86400, &urban_poll_s) ||
        env_int("FK_PLATFORM_EVERY", 3600, 0, 7 * 86400, &platform_every_s) ||
        env_int("FK_EXCHANGE_FLUSH", 5, 1, 3600, &exchange_flush_s) ||
        env_int("FK_EXCHANGE_ANOMALY_EVERY", 60, 0, 86400, &exchange_anomaly_s) ||
        env_int("FK_EXCHANGE_ANOMALY_MIN_CALLS", 20, 1, 1000000, &exchange_min_calls) ||
        env_int("FK_PUBLISH_RENDER", 3600, 0, 86400, &publish_render_s) ||
        env_int("FK_PUBLIC_RATE", 600, 1, 1000000, &public_rate) ||
        env_int("FK_NAT_CLOCKIN_RADIUS", NAT_RADIUS_DEFAULT, 10, 100000, &nat_radius_m) ||
        env_int("FK_NAT_TRANSIT_LIMIT", NAT_TRANSIT_LIMIT_DEFAULT, 1, 7 * 1440, &transit_min) ||
        env_int("FK_NAT_MATCH_AUTO", 85, 1, 100, &match_auto) ||
        env_int("FK_NAT_MATCH_MARGIN", 15, 0, 100, &match_margin) ||
        env_int("FK_NAT_MATCH_MIN", 40, 1, 100, &match_min) ||
        env_int("FK_NAT_MATCH_NEAR", 300, 10, 100000, &match_near) ||
        env_int("FK_NAT_MATCH_FAR", 2000, 20, 1000000, &match_far) ||
        env_int("FK_CARE_SWEEP", 3600, 0, 86400, &care_sweep_s) ||
        env_int("FK_FACE_SWEEP", 60, 0, 86400, &face_sweep_s) ||
        env_int("FK_INSTANCE_BEAT", LEASE_BEAT_DEFAULT, 0, 3600, &beat_s) ||
        env_int("FK_JOB_ORPHAN_CHECK", JOB_ORPHAN_CHECK_DEFAULT, 0, 86400, &orphan_check_s) ||
        env_int("FK_KEYROT_EVERY", 5, 0, 86400, &keyrot_every_s) ||
        env_int("FK_KEYROT_BATCH", 500, 1, 100000, &keyrot_batch) ||
        env_int("FK_KEYROT_BATCHES", 20, 1, 100000, &keyrot_batches) ||
        env_int("FK_BACKUP_EVERY", 0, 0, 7 * 86400, &backup_every_s) ||
        env_int("FK_BACKUP_KEEP", 24, 1, 10000, &backup_keep))
        return 2;
    if (match_min > match_auto || match_near >= match_far) {
        fprintf(stderr, "fangkong serve: FK_NAT_MATCH_MIN must not exceed FK_NAT_MATCH_AUTO, "
                        "and FK_NAT_MATCH_NEAR must be below FK_NAT_MATCH_FAR\n");
        return 2;
    }
    err e0;
    if ((e0 = retention_configure())) { /* audit at least 180 days: a lower value stops here */
        cli_fail(e0, "serve");
        return 2;
    }
    nat_match_configure(&(struct nat_match_params){.auto_score = match_auto / 100.0,
                                                   .margin = match_margin / 100.0,
                                                   .min_score = match_min / 100.0,
                                                   .near_m = match_near,
                                                   .far_m = match_far});
    if (password_cost_weak())
        log_event(
            LOG_WARN, "weak_password_hash", "detail",
            "FK_PASSWORD_MEMORY_KIB or FK_PASSWORD_PASSES below the default: test suites only",
            NULL);
    export_sync_max_set(export_sync);
    query_count_cap_set(count_cap);
    export_jobs_configure(c.data_dir, export_keep_s);
    exchange_fed_configure(getenv("FK_FED_PARENT")); /* the parent peer's name; unset: none */
    /* following needs a parent to follow */
    code_rules_set_followed(fed_rules == 1 && *exchange_fed_parent());
    exchange_fed_take_notices(fed_notices == 1);
    exchange_share_configure(share_cache_s); /* 共享互认: how long our answers may be cached */
    nat_lookup_configure(c.data_dir);
    nat_set_clockin_radius(nat_radius_m);
    nat_set_transit_limit(transit_min);
    publish_public_configure(public_rate);
    connect_telecom_interval_set(telecom_interval_s);
    access_writer_set_queue_max((size_t)scan_queue);
    if ((e0 = access_journal_configure(c.data_dir)) || /* SQLite: scans journalled (journal.h) */
        (e0 = export_store_configure())) {
        cli_fail(e0, "serve");
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    device_broker_sync(d); /* the broker's files match the registry from the start */
    db_close(&d);
    err e;
    if ((e = app_routes())) /* a route or hook that did not fit: refuse to start */
        return cli_fail(e, "routes");
    const char *what = NULL;
    if ((e = lease_beat_start(c.db_url, beat_s))) /* before any job names this instance */
        what = "instance heartbeat";
    else if ((e = audit_start(c.db_url)))
        what = "audit";
    else if ((e = rate_limit_start(c.db_url))) /* exact searches' batches, off the loops */
        what = "rate-limit writer";
    else if ((e = code_worker_start(c.db_url, sweep_s)))
        what = "code worker";
    else if ((e = access_writer_start(c.db_url))) /* scans: group commit, drained at stop */
        what = "access writer";
    else if ((e = retention_start(c.db_url, 86400))) /* months ahead, retention: daily */
        what = "retention";
    else if ((e = alert_live_start(c.db_url))) /* alerts of other servers on one PostgreSQL */
        what = "alert listener";
    else if ((e = device_worker_start(c.db_url, device_check_s)) ||
             (e = device_mqtt_start(getenv("FK_MQTT_URL"), c.db_url))) /* off without a URL */
        what = "devices";
    else if ((e = attach_worker_start(c.db_url, attach_purge_s)))
        what = "attachment purge";
    else if ((e = check_worker_start(c.db_url, check_sweep_s, escalate_min)))
        what = "check sweep";
    else if ((e = task_worker_start(c.db_url, task_check_s))) /* the overdue sweep */
        what = "task worker";
    else if ((e = import_worker_start(c.db_url))) /* Excel/CSV imports (job/import.h) */
        what = "import worker";
    else if ((e = case_release_worker_start(c.db_url, release_check_s))) /* release tasks */
        what = "release worker";
    else if ((e = export_jobs_start(c.db_url, export_purge_s))) /* export jobs, their purge */
        what = "export worker";
    else if ((e = nat_worker_start(c.db_url, nat_sweep_s))) /* unattended sites, overdue boxes */
        what = "nat worker";
    else if ((e = nat_lookup_start(c.db_url))) /* batch look-ups of test results */
        what = "nat look-up worker";
    else if ((e = job_offload_start(c.db_url))) /* batches of outside systems (job/offload.h) */
        what = "offload worker";
    else if ((e = export_store_start(c.db_url))) /* downloads fetched from the database */
        what = "fetch worker";
    else if ((e = exchange_worker_start(c.db_url, exchange_purge_s))) /* nonces, answers */
        what = "exchange purge";
    else if ((e = trace_worker_start(c.db_url, trace_sweep_s))) /* confirmations traced */
        what = "trace worker";
    else if ((e = monitor_worker_start(c.db_url, monitor_every_s))) /* monitoring rules */
        what = "monitor worker";
    else if ((e = exchange_fed_start(c.db_url, fed_pull_s))) /* off without FK_FED_PARENT */
        what = "federation puller";
    else if ((e = exchange_outbox_start(c.db_url, outbox_every_s, outbox_backoff_s)))
        what = "exchange outbox";
    else if ((e = situation_worker_start(c.db_url, situation_every_s))) /* situation feed */
        what = "situation worker";
    else if ((e = urban_worker_start(c.db_url, urban_poll_s))) /* 数字城管 cases' state */
        what = "urban poll";
    else if ((e = platform_worker_start(c.db_url, platform_every_s))) /* 其他疫情平台 */
        what = "platform exchange";
    else if ((e = publish_worker_start(c.db_url, publish_render_s))) /* published figures */
        what = "publish worker";
    else if ((e = map_live_start(c.db_url))) /* the one-map's changed areas, each second */
        what = "map live updates";
    else if ((e = exchange_watch_start(c.db_url, exchange_flush_s, exchange_anomaly_s,
                                       exchange_min_calls)))
        what = "exchange monitoring"; /* counts to the database, the anomaly sweep */
    else if ((e = service_worker_start(c.db_url, care_sweep_s))) /* missed check-ins */
        what = "care sweep";
    else if ((e = notice_live_start(c.db_url))) /* receipts read on other servers */
        what = "notice listener";
    else if ((e = face_worker_start(c.db_url, face_sweep_s))) /* resends, failed commands */
        what = "face sweep";
    else if ((e = job_orphans_start(c.db_url, orphan_check_s))) /* dead servers' jobs */
        what = "job orphans";
    else if ((e = keyrot_serve_start(c.db_url, c.node, keyrot_every_s, keyrot_batch,
                                     keyrot_batches)))
        what = "key rotation";                /* re-sealing, key file reloads (keyrot/keyrot.h) */
    else if ((e = auth_live_start(c.db_url))) /* sessions, roles changed on other servers */
        what = "auth listener";
    else if ((e = backup_schedule_start(c.db_url, backup_dir(&c), backup_every_s, backup_keep)))
        what = "backup schedule"; /* SQLite: verified online backups (docs/ha.md) */
    else if ((e = static_load(web_dir())))
        what = "web";
    else if ((e = http_on_stop(access_writer_stop)))
        what = "stop hooks";
    else if ((e = doctor_gauges_register(c.data_dir))) /* /metrics for the alert rules */
        what = "metrics";
    if (e) {
        stop_workers();
        return cli_fail(e, what);
    }
    struct server_config sc = {
        .db_url = c.db_url,
        .bind = c.bind,
        .port = c.port,
        .threads = c.threads,
        .idle_timeout_s = idle_s,
        .write_wait_ms = write_wait_ms,
        .max_body = 1 << 20,
        .max_url = 4096,
        .max_headers = 16 * 1024,
    };
    e = http_serve(&sc);
    stop_workers();
    return e ? cli_fail(e, "serve") : 0;
}

int cmd_routes(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    err e = app_routes();
    if (e)
        return cli_fail(e, "routes");
    size_t n;
    const struct route *const *rs = router_all(&n);
    static const char *names[] = {[M_GET] = "GET",
                                  [M_POST] = "POST",
                                  [M_PATCH] = "PATCH",
                                  [M_PUT] = "PUT",
                                  [M_DELETE] = "DELETE"};
    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", names[rs[i]->method], rs[i]->pattern);
    return 0;
}

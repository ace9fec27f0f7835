/*
 * Scheduled online backups of a SQLite database, each verified by a restore
 * into a temporary folder (schedule.h). Runs on a periodic thread
 * (db/periodic.h); the newest verified backup's time is kept for /metrics.
 */
#include "backup/schedule.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/journal.h"
#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "db/db.h"
#include "db/migrations.h"
#include "db/periodic.h"
#include "http/http.h"
#include "security/audit.h"

#define PREFIX       "fangkong-"
#define SUFFIX       ".fkb"
#define NAME_MAX_LEN 64
#define LIST_MAX     10000 /* backups looked at in one folder */

static struct {
    char url[PATH_MAX];
    char dir[PATH_MAX];
    int keep;
    bool on;
} cfg;

static _Atomic int64_t last_verified_ms = -1; /* the time in the newest verified backup's name */

/* Is `name` one of ours, fangkong-YYYYMMDDTHHMMSSmmmZ.fkb? Its time (ms) or -1. */
static int64_t name_time(const char *name)
{
    size_t n = strlen(name), p = strlen(PREFIX), s = strlen(SUFFIX);
    if (n != p + 19 + s || strncmp(name, PREFIX, p) || strcmp(name + n - s, SUFFIX))
        return -1;
    const char *t = name + p; /* YYYYMMDDTHHMMSSmmmZ */
    for (int i = 0; i < 18; i++)
        if (i != 8 && (t[i] < '0' || t[i] > '9'))
            return -1;
    if (t[8] != 'T' || t[18] != 'Z')
        return -1;
    struct tm tm = {0};
    tm.tm_year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0') - 1900;
    tm.tm_mon = (t[4] - '0') * 10 + (t[5] - '0') - 1;
    tm.tm_mday = (t[6] - '0') * 10 + (t[7] - '0');
    tm.tm_hour = (t[9] - '0') * 10 + (t[10] - '0');
    tm.tm_min = (t[11] - '0') * 10 + (t[12] - '0');
    tm.tm_sec = (t[13] - '0') * 10 + (t[14] - '0');
    int ms = (t[15] - '0') * 100 + (t[16] - '0') * 10 + (t[17] - '0');
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int newest_first(const void *a, const void *b)
{
    return strcmp(*(const char *const *)b, *(const char *const *)a);
}

/* Our backups in `dir`, newest first (names sort by time); caller frees
 * each and the array. -1 when the folder cannot be read. */
static int scan(const char *dir, char ***names_r)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0;
    size_t cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) && n < LIST_MAX) {
        if (name_time(ent->d_name) < 0)
            continue;
        if (!GROW(&names, &cap, (size_t)n, 1, 16))
            break;
        if (!(names[n] = strdup(ent->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof *names, newest_first);
    *names_r = names;
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The path dir/name[suffix] into out (PATH_MAX); false when too long. */
static bool path_of(char *out, const char *dir, const char *name, const char *suffix)
{
    return snprintf(out, PATH_MAX, "%s/%s%s", dir, name, suffix) < PATH_MAX;
}

static bool verified(const char *dir, const char *name)
{
    char ok[PATH_MAX];
    return path_of(ok, dir, name, ".ok") && !access(ok, F_OK);
}

static void remove_backup(const char *dir, const char *name)
{
    char p[PATH_MAX];
    if (path_of(p, dir, name, ""))
        unlink(p);
    if (path_of(p, dir, name, ".ok"))
        unlink(p);
}

/* Remove the temporary restore folder and the SQLite files in it. */
static void remove_scratch(const char *tmp)
{
    static const char *const files[] = {"fangkong.db", "fangkong.db-wal", "fangkong.db-shm",
                                        "fangkong.db-journal"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (path_of(p, tmp, files[i], ""))
            unlink(p);
    rmdir(tmp);
}

/* The copy restored from a backup: SQLite's integrity check, this build's
 * migrations all applied, the audit chain intact. *summary gets what was
 * checked (the sidecar's text). */
static err check_copy(db *v, char *summary, size_t size)
{
    db_stmt *s;
    err e = db_prepare(v, "PRAGMA integrity_check", &s);
    if (e)
        return e;
    bool row;
    e = db_row(s, &row);
    bool intact = !e && row && db_col_text(s, 0) && !strcmp(db_col_text(s, 0), "ok");
    db_done(s);
    if (e)
        return e;
    if (!intact)
        return err_set(E_DB, "backup_check", NULL, "备份校验失败: 完整性检查未通过");
    int64_t applied = 0, newest = 0;
    if ((e = db_query_int64(v, "SELECT COUNT(*) FROM schema_migrations", &applied)) ||
        (e = db_query_int64(v, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &newest)))
        return e;
    int known = migrations_count ? migrations[migrations_count - 1].version : 0;
    if (applied != migrations_count || newest != known)
        return err_set(E_DB, "backup_check", NULL, "备份校验失败: 数据库结构版本 %lld, 应为 %d",
                       (long long)newest, known);
    struct audit_verify_result r;
    if ((e = audit_verify(v, &r)))
        return e;
    /* checkpoints written after the backup was taken find its chains
     * "cut": expected of any copy of the past, and the only break allowed */
    if (r.code[0] && strcmp(r.code, "tail_cut"))
        return err_set(E_DB, "backup_check", NULL, "备份校验失败: 审计链 %s (%s)", r.code,
                       r.reason);
    snprintf(summary, size, "integrity=ok migrations=%lld audit_checked=%lld audit_chain=%s\n",
             (long long)applied, (long long)r.checked, r.code[0] ? r.code : "intact");
    return E_OK;
}

/* Restore `file` into a fresh folder of the backup folder and check it. */
static err verify(const char *file, char *summary, size_t size)
{
    char tmp[PATH_MAX], copy[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.verify-XXXXXX", cfg.dir) >= (int)sizeof tmp || !mkdtemp(tmp))
        return err_set(E_IO, "backup_io", NULL, "无法创建校验目录");
    err e = path_of(copy, tmp, "fangkong.db", "") ? db_restore(copy, file)
                                                  : err_set(E_IO, "backup_io", NULL, "路径过长");
    db *v = NULL;
    if (!e)
        e = db_open(copy, &v);
    if (!e)
        e = check_copy(v, summary, size);
    db_close(&v);
    remove_scratch(tmp);
    return e;
}

static err write_sidecar(const char *name, const char *summary)
{
    char p[PATH_MAX];
    if (!path_of(p, cfg.dir, name, ".ok"))
        return err_set(E_IO, "backup_io", NULL, "路径过长");
    FILE *f = fopen(p, "w");
    if (!f)
        return err_set(E_IO, "backup_io", NULL, "无法写入校验记录");
    bool ok = fputs(summary, f) >= 0;
    ok = !fclose(f) && ok;
    return ok ? E_OK : err_set(E_IO, "backup_io", NULL, "无法写入校验记录");
}

/* Keep the newest cfg.keep backups; the count removed. */
static int64_t prune(void)
{
    char **names;
    int n = scan(cfg.dir, &names);
    int64_t removed = 0;
    for (int i = cfg.keep; i < n; i++, removed++)
        remove_backup(cfg.dir, names[i]);
    if (n > 0)
        free_names(names, n);
    return removed;
}

/* Audited like `fangkong backup` (backup.create), as user "system". */
static void audit_backup(db *d, const char *result, const char *detail)
{
    struct audit_entry a = {
        .username = "system",
        .role = "system",
        .ip = "local",
        .action = "backup.create",
        .object_type = "backup",
        .result = result,
        .detail = detail,
    };
    if (audit_log(d, &a))
        log_event(LOG_ERROR, "backup_audit_failed", "result", result, NULL);
}

static err run(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)ctx;
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char name[NAME_MAX_LEN], file[PATH_MAX];
    snprintf(name, sizeof name, PREFIX "%04d%02d%02dT%02d%02d%02d%03dZ" SUFFIX, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000));
    if (!path_of(file, cfg.dir, name, ""))
        return err_set(E_IO, "backup_io", NULL, "路径过长");
    int64_t bytes = 0;
    /* scans acknowledged but still only in the access journal (its indexer lets them
     * gather) go into the database first, so the backup holds every scan answered
     * before it started; a reader of access_records does the same */
    access_journal_sync();
    err e = db_backup(cfg.url, file, &bytes);
    if (e) {
        audit_backup(d, err_last()->slug[0] ? err_last()->slug : err_slug(e), "scheduled");
        return e;
    }
    char summary[256];
    if ((e = verify(file, summary, sizeof summary)) || (e = write_sidecar(name, summary))) {
        remove_backup(cfg.dir, name); /* an unverified backup is not one to rely on */
        log_event(LOG_ERROR, "backup_unverified", "file", name, "detail", err_last()->message,
                  NULL);
        audit_backup(d, "backup_check", "scheduled, verification failed");
        return e;
    }
    atomic_store(&last_verified_ms, now);
    char size[24];
    snprintf(size, sizeof size, "%lld", (long long)bytes);
    log_event(LOG_INFO, "backup_verified", "file", name, "bytes", size, NULL);
    char detail[160];
    snprintf(detail, sizeof detail, "scheduled file=%s bytes=%s verified", name, size);
    audit_backup(d, "ok", detail);
    *count_r = 1 + prune();
    return E_OK;
}

static struct periodic backups = PERIODIC_INIT("backup", run, NULL);

/* /metrics: left out while the schedule is off; +Inf before the first
 * verified backup (an alert rule on age catches both a stalled schedule
 * and one that never succeeded). */
static bool age_gauge(db *d, void *ctx, double *v_r)
{
    (void)d;
    (void)ctx;
    int64_t age = backup_schedule_age_s();
    if (age == -2)
        return false;
    *v_r = age < 0 ? INFINITY : (double)age;
    return true;
}

err backup_schedule_start(const char *db_url, const char *dir, int every_s, int keep)
{
    if (every_s <= 0)
        return E_OK;
    if (strcmp(db_url_driver(db_url), "sqlite"))
        return err_set(E_INPUT, "backup_schedule_sqlite_only", "FK_BACKUP_EVERY",
                       "定时备份仅用于 SQLite; PostgreSQL 请使用基础备份和 WAL 归档 (docs/ha.md)");
    if (keep < 1 || snprintf(cfg.url, sizeof cfg.url, "%s", db_url) >= (int)sizeof cfg.url ||
        snprintf(cfg.dir, sizeof cfg.dir, "%s", dir) >= (int)sizeof cfg.dir)
        return err_set(E_INPUT, "bad_backup_schedule", "FK_BACKUP_DIR", "备份目录或保留数无效");
    if (mkdir(cfg.dir, 0700) && errno != EEXIST)
        return err_set(E_IO, "backup_io", "FK_BACKUP_DIR", "无法创建备份目录 %s", cfg.dir);
    cfg.keep = keep;
    char **names;
    int n = scan(cfg.dir, &names);
    if (n < 0)
        return err_set(E_IO, "backup_io", "FK_BACKUP_DIR", "无法读取备份目录 %s", cfg.dir);
    for (int i = 0; i < n; i++) {
        if (verified(cfg.dir, names[i])) {
            atomic_store(&last_verified_ms, name_time(names[i]));
            break;
        }
    }
    if (n > 0)
        free_names(names, n);
    static bool gauge;
    err e;
    if (!gauge && (e = http_metric_gauge("fangkong_backup_verified_age_seconds",
                                         "Seconds since the newest verified scheduled backup was "
                                         "taken.",
                                         NULL, age_gauge, NULL)))
        return e;
    gauge = true;
    e = periodic_start(&backups, db_url, every_s);
    if (!e)
        cfg.on = true;
    return e;
}

void backup_schedule_stop(void)
{
    periodic_stop(&backups);
    cfg.on = false;
}

int64_t backup_schedule_age_s(void)
{
    if (!cfg.on)
        return -2;
    int64_t at = atomic_load(&last_verified_ms);
    if (at < 0)
        return -1;
    int64_t age = (now_ms() - at) / 1000;
    return age < 0 ? 0 : age;
}

int backup_schedule_list(const char *dir)
{
    char **names;
    int n = scan(dir, &names);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        struct stat st;
        long long size =
            path_of(p, dir, names[i], "") && !stat(p, &st) ? (long long)st.st_size : -1;
        printf("%s\t%lld 字节\t%s\n", names[i], size,
               verified(dir, names[i]) ? "已校验" : "未校验");
    }
    if (n > 0)
        free_names(names, n);
    return n;
}

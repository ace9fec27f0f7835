/*
 * `fangkong doctor` (doctor.h): the checks an operator runs first when
 * something is wrong, or after an installation or an upgrade. Each check
 * prints one line: its level (正常/警告/失败, ok/warn/fail), its name and
 * what it found, in Chinese (default), English or both (--lang). It reads,
 * never repairs: no migration is applied, no file created, no key loaded
 * into a server. The exit status is the worst level: 0 ok, 1 warn, 2 fail.
 */
#include "doctor/doctor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db/migrations.h"
#include "device/device.h"
#include "security/crypto.h"

enum level { OK, WARN, FAIL };
enum lang { ZH, EN, BOTH };

static struct {
    enum lang lang;
    enum level worst;
} out;

/* Spaces that pad s to `width` terminal columns: a character of several
 * UTF-8 bytes (the Chinese names) takes two columns, ASCII one. */
static int pad(const char *s, int width)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80)
            cols++;
        else if (*p >= 0xC0)
            cols += 2;
    return cols < width ? width - cols : 1;
}

/* Print one check's line: level, name (中文/English), and what it found
 * in each language (printf formats; the English one may be NULL only when
 * the Chinese one holds nothing to translate). */
static void line(enum level lv, const char *name_zh, const char *name_en, const char *zh,
                 const char *en)
{
    static const char *lv_zh[] = {"正常", "警告", "失败"}, *lv_en[] = {"ok", "warn", "fail"};
    if (lv > out.worst)
        out.worst = lv;
    if (out.lang == ZH)
        printf("%s  %s%*s%s\n", lv_zh[lv], name_zh, pad(name_zh, 12), "", zh);
    else if (out.lang == EN)
        printf("%-4s  %-11s%s\n", lv_en[lv], name_en, en);
    else
        printf("%s %-4s  %s%*s%-11s%s | %s\n", lv_zh[lv], lv_en[lv], name_zh, pad(name_zh, 12), "",
               name_en, zh, en);
}

#define TEXT(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

/* ---- configuration ------------------------------------------------------------------ */

/* The edit distance of a and b (both short names), for "did you mean". */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static bool known_var(const char *name)
{
    for (int i = 0; i < doctor_known_vars_n; i++)
        if (!strcmp(doctor_known_vars[i], name))
            return true;
    return false;
}

/* Every FK_ variable of the environment that nothing reads: a typo keeps
 * the default silently, which is what an operator should hear about. */
static void check_unknown_vars(void)
{
    extern char **environ;
    int set = 0, unknown = 0;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "FK_", 3))
            continue;
        set++;
        char name[128];
        size_t n = strcspn(*e, "=");
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, *e, n);
        name[n] = '\0';
        if (known_var(name))
            continue;
        unknown++;
        const char *best = NULL;
        int best_d = 4; /* a suggestion only for a near miss */
        for (int i = 0; i < doctor_known_vars_n; i++) {
            int d = distance(name, doctor_known_vars[i]);
            if (d < best_d) {
                best_d = d;
                best = doctor_known_vars[i];
            }
        }
        char zh[256], en[256];
        if (best) {
            TEXT(zh, "未知变量 %s，程序不读取（是否应为 %s？）", name, best);
            TEXT(en, "unknown variable %s is not read (did you mean %s?)", name, best);
        } else {
            TEXT(zh, "未知变量 %s，程序不读取", name);
            TEXT(en, "unknown variable %s is not read", name);
        }
        line(WARN, "配置", "config", zh, en);
    }
    if (!unknown) {
        char zh[128], en[128];
        TEXT(zh, "已设置 %d 个 FK_ 变量，均可识别", set);
        TEXT(en, "%d FK_ variables set, all known", set);
        line(OK, "配置", "config", zh, en);
    }
}

/* Disk thresholds: percent free, warn above fail. */
static bool disk_thresholds(int *warn_r, int *fail_r)
{
    const char *names[] = {"FK_DISK_WARN_PCT", "FK_DISK_FAIL_PCT"};
    int *vals[] = {warn_r, fail_r};
    *warn_r = DOCTOR_DISK_WARN_PCT;
    *fail_r = DOCTOR_DISK_FAIL_PCT;
    for (int i = 0; i < 2; i++) {
        const char *s = getenv(names[i]);
        if (!s || !*s)
            continue;
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v < 0 || v > 100) {
            char zh[160], en[160];
            TEXT(zh, "%s 应为 0 到 100 的整数（剩余空间百分比）", names[i]);
            TEXT(en, "%s must be a whole number from 0 to 100 (percent free)", names[i]);
            line(FAIL, "配置", "config", zh, en);
            return false;
        }
        *vals[i] = (int)v;
    }
    if (*fail_r > *warn_r) {
        line(FAIL, "配置", "config", "FK_DISK_FAIL_PCT 不应大于 FK_DISK_WARN_PCT",
             "FK_DISK_FAIL_PCT must not exceed FK_DISK_WARN_PCT");
        return false;
    }
    return true;
}

/* ---- the key ------------------------------------------------------------------------ */

static void check_key(const char *file)
{
    char zh[4300], en[4300];
    struct stat st;
    if (stat(file, &st) != 0) {
        TEXT(zh, "主密钥文件 %s 不存在：从密钥备份恢复（见 docs/operations.md），切勿重新生成",
             file);
        TEXT(en,
             "master key file %s not found: restore it from the key backup "
             "(docs/operations.md); never create a new one",
             file);
        line(FAIL, "主密钥", "key", zh, en);
        return;
    }
    unsigned mode = (unsigned)(st.st_mode & 07777);
    if (st.st_mode & 077) {
        TEXT(zh, "主密钥文件 %s 权限为 %04o，过宽：应为 0600 或 0400（chmod 600）", file, mode);
        TEXT(en, "master key file %s has mode %04o, open to others: must be 0600 or 0400", file,
             mode);
        line(FAIL, "主密钥", "key", zh, en);
        return;
    }
    if (st.st_uid != geteuid()) {
        TEXT(zh, "主密钥文件 %s 的属主 (uid %u) 不是当前用户 (uid %u)：服务应以属主身份运行", file,
             (unsigned)st.st_uid, (unsigned)geteuid());
        TEXT(en, "master key file %s is owned by uid %u, not by the current user (uid %u)", file,
             (unsigned)st.st_uid, (unsigned)geteuid());
        line(WARN, "主密钥", "key", zh, en);
    }
    err e = keys_load(file);
    if (e) {
        TEXT(zh, "主密钥文件 %s 无法加载: %s", file, err_last()->message);
        TEXT(en, "master key file %s does not load: %s", file, err_last()->message);
        line(FAIL, "主密钥", "key", zh, en);
        return;
    }
    TEXT(zh, "%s 权限 %04o，已加载", file, mode);
    TEXT(en, "%s mode %04o, loads", file, mode);
    line(OK, "主密钥", "key", zh, en);
}

/* ---- the database ------------------------------------------------------------------- */

/* The name of a filesystem type SQLite's WAL cares about. */
static const char *fs_name(long type, enum level *lv)
{
    *lv = OK;
    switch (type) {
    case 0xEF53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case (long)0x9123683E:
        return "btrfs";
    case 0x01021994:
        *lv = WARN; /* lost at reboot */
        return "tmpfs";
    case 0x794c7630:
        return "overlayfs";
    case 0x6969:
        *lv = FAIL; /* WAL's shared memory needs a local filesystem */
        return "nfs";
    case (long)0xFF534D42:
    case (long)0xFE534D42:
        *lv = FAIL;
        return "cifs/smb";
    default:
        return "other";
    }
}

static void check_sqlite_file(db *d, const char *path)
{
    char zh[4300], en[4300];
    db_stmt *s;
    bool has = false;
    char mode[32] = "";
    if (!db_prepare(d, "PRAGMA journal_mode", &s)) {
        if (!db_row(s, &has) && has)
            snprintf(mode, sizeof mode, "%s", db_col_text(s, 0));
        db_done(s);
    }
    if (strcmp(mode, "wal")) {
        TEXT(zh, "SQLite 日志模式为 %s，应为 WAL（服务启动时设置）", mode[0] ? mode : "未知");
        TEXT(en, "SQLite journal mode is %s, not WAL (the server sets it)",
             mode[0] ? mode : "unknown");
        line(WARN, "数据库文件", "db file", zh, en);
    }
    struct statfs fs;
    if (statfs(path, &fs) != 0) {
        TEXT(zh, "无法查询 %s 所在的文件系统: %s", path, strerror(errno));
        TEXT(en, "cannot query the filesystem of %s: %s", path, strerror(errno));
        line(WARN, "数据库文件", "db file", zh, en);
        return;
    }
    enum level lv;
    const char *name = fs_name((long)fs.f_type, &lv);
    if (lv == FAIL) {
        TEXT(zh, "%s 位于网络文件系统 (%s)：SQLite 的 WAL 需要本地文件系统", path, name);
        TEXT(en, "%s is on a network filesystem (%s): SQLite's WAL needs a local one", path, name);
    } else if (lv == WARN) {
        TEXT(zh, "%s 位于 %s，重启后数据丢失", path, name);
        TEXT(en, "%s is on %s: lost at reboot", path, name);
    } else if (!strcmp(mode, "wal")) {
        TEXT(zh, "WAL 模式，文件系统 %s", name);
        TEXT(en, "WAL mode, filesystem %s", name);
    } else {
        return;
    }
    line(lv, "数据库文件", "db file", zh, en);
}

static void check_pg_server(db *d)
{
    char zh[512], en[512];
    db_stmt *s;
    bool has = false;
    char version[64] = "?";
    if (!db_prepare(d, "SELECT current_setting('server_version')", &s)) {
        if (!db_row(s, &has) && has)
            snprintf(version, sizeof version, "%s", db_col_text(s, 0));
        db_done(s);
    }
    bool standby = false;
    double lag = 0;
    int64_t standbys = 0;
    if (doctor_replication(d, &standby, &lag, &standbys)) {
        TEXT(zh, "PostgreSQL %s，无法查询复制状态", version);
        TEXT(en, "PostgreSQL %s, replication state unreadable", version);
        line(WARN, "数据库角色", "db role", zh, en);
        return;
    }
    if (standby) {
        TEXT(zh,
             "PostgreSQL %s 是备库（只读，回放延迟 %.1f 秒）：服务需要主库，"
             "连接串应带 target_session_attrs=read-write",
             version, lag);
        TEXT(en,
             "PostgreSQL %s is a standby (read-only, replay %.1f s behind): the server "
             "needs the primary (target_session_attrs=read-write)",
             version, lag);
        line(FAIL, "数据库角色", "db role", zh, en);
        return;
    }
    TEXT(zh, "PostgreSQL %s 主库，%lld 个备库，最大回放延迟 %.1f 秒", version, (long long)standbys,
         lag);
    TEXT(en, "PostgreSQL %s primary, %lld standbys, largest replay lag %.1f s", version,
         (long long)standbys, lag);
    line(lag > 30 ? WARN : OK, "数据库角色", "db role", zh, en);
}

static void check_migrations(db *d)
{
    char zh[256], en[256];
    int known = 0;
    for (int i = 0; i < migrations_count; i++)
        if (migrations[i].version > known)
            known = migrations[i].version;
    db_stmt *s;
    bool has = false;
    int64_t applied = 0, newest = 0;
    err e = db_prepare(d, "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations", &s);
    if (!e && !(e = db_row(s, &has)) && has) {
        applied = db_col_int64(s, 0);
        newest = db_col_int64(s, 1);
    }
    db_done(s);
    if (e || !has) {
        line(FAIL, "迁移", "migrations", "数据库没有迁移记录：先运行 fangkong init",
             "no migration table: run fangkong init first");
        return;
    }
    if (newest > known) {
        TEXT(zh, "数据库已迁移到 %lld，比本程序 (%d) 新：请使用新版程序", (long long)newest, known);
        TEXT(en, "database migrated to %lld, newer than this program (%d): run the newer build",
             (long long)newest, known);
        line(FAIL, "迁移", "migrations", zh, en);
    } else if (applied < migrations_count) {
        TEXT(zh, "%lld 个迁移待执行（fangkong serve 或 init 启动时执行；先备份）",
             (long long)(migrations_count - applied));
        TEXT(en, "%lld migrations pending (serve or init applies them; back up first)",
             (long long)(migrations_count - applied));
        line(WARN, "迁移", "migrations", zh, en);
    } else {
        TEXT(zh, "已是最新（%d）", known);
        TEXT(en, "up to date (%d)", known);
        line(OK, "迁移", "migrations", zh, en);
    }
}

/* How far the database server's clock is from ours (PostgreSQL): the
 * session expiries, lock-outs and TOTP windows of servers sharing it. */
static void check_db_clock(db *d)
{
    char zh[256], en[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    int64_t server_ms = 0;
    err e = db_query_int64(d, "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
                           &server_ms);
    clock_gettime(CLOCK_REALTIME, &t1);
    if (e) {
        line(WARN, "时钟", "clock", "无法读取数据库服务器的时钟", "cannot read the database clock");
        return;
    }
    double mid = ((double)t0.tv_sec + (double)t1.tv_sec) * 500.0 +
                 ((double)t0.tv_nsec + (double)t1.tv_nsec) / 2e6;
    double skew = ((double)server_ms - mid) / 1000.0;
    double abs_skew = skew < 0 ? -skew : skew;
    TEXT(zh, "与数据库服务器相差 %.3f 秒", skew);
    TEXT(en, "%.3f s from the database server", skew);
    line(abs_skew > 30 ? FAIL : abs_skew > 2 ? WARN : OK, "时钟", "clock", zh, en);
}

static void check_database(const struct config *c)
{
    char zh[4300], en[4300];
    bool sqlite = !strcmp(db_url_driver(c->db_url), "sqlite");
    /* db_open would create a missing SQLite file: the doctor only looks */
    if (sqlite && access(c->db_url, F_OK) != 0) {
        TEXT(zh, "数据库文件 %s 不存在：先运行 fangkong init", c->db_url);
        TEXT(en, "database file %s not found: run fangkong init first", c->db_url);
        line(FAIL, "数据库", "database", zh, en);
        return;
    }
    /* an unreachable PostgreSQL answers within seconds, not a TCP timeout */
    if (!getenv("PGCONNECT_TIMEOUT"))
        setenv("PGCONNECT_TIMEOUT", "5", 1);
    db *d;
    err e = db_open(c->db_url, &d);
    if (e) {
        TEXT(zh, "无法连接数据库 (%s)", sqlite ? c->db_url : "PostgreSQL");
        TEXT(en, "cannot connect to the database (%s)", sqlite ? c->db_url : "PostgreSQL");
        line(FAIL, "数据库", "database", zh, en);
        return;
    }
    int64_t one = 0;
    if (db_query_int64(d, "SELECT 1", &one) || one != 1) {
        line(FAIL, "数据库", "database", "数据库连接后无法查询", "connected but cannot query");
        db_close(&d);
        return;
    }
    TEXT(zh, "%s 可连接", sqlite ? "SQLite" : "PostgreSQL");
    TEXT(en, "%s reachable", sqlite ? "SQLite" : "PostgreSQL");
    line(OK, "数据库", "database", zh, en);
    check_migrations(d);
    if (sqlite) {
        check_sqlite_file(d, c->db_url);
    } else {
        check_pg_server(d);
        check_db_clock(d);
    }
    db_close(&d);
}

/* ---- disk, clock, broker, certificate ----------------------------------------------- */

static void check_disk(const char *dir, int warn_pct, int fail_pct)
{
    char zh[4300], en[4300];
    uint64_t free_b, total;
    if (!doctor_disk(dir, &free_b, &total) || !total) {
        TEXT(zh, "无法查询数据目录 %s 的磁盘: %s", dir, strerror(errno));
        TEXT(en, "cannot measure the disk of the data folder %s: %s", dir, strerror(errno));
        line(FAIL, "磁盘", "disk", zh, en);
        return;
    }
    double pct = 100.0 * (double)free_b / (double)total;
    double gib = (double)free_b / (1024.0 * 1024 * 1024);
    enum level lv = pct < fail_pct ? FAIL : pct < warn_pct ? WARN : OK;
    TEXT(zh, "数据目录剩余 %.1f GiB（%.1f%%；警告线 %d%%，失败线 %d%%）", gib, pct, warn_pct,
         fail_pct);
    TEXT(en, "%.1f GiB free in the data folder (%.1f%%; warn below %d%%, fail below %d%%)", gib,
         pct, warn_pct, fail_pct);
    line(lv, "磁盘", "disk", zh, en);
}

/* NTP: the kernel's view (adjtimex, what timedatectl's "synchronized" reads). */
static void check_ntp(void)
{
    struct timex tx = {0};
    int st = adjtimex(&tx);
    if (st < 0) {
        line(WARN, "时间同步", "ntp", "无法读取内核的时间同步状态",
             "cannot read the kernel's sync state");
        return;
    }
    if (st == TIME_ERROR || (tx.status & STA_UNSYNC)) {
        line(WARN, "时间同步", "ntp", "系统时钟未与 NTP 同步（安装 systemd-timesyncd 或 chrony）",
             "the system clock is not NTP-synchronised (install systemd-timesyncd or chrony)");
        return;
    }
    char zh[128], en[128];
    TEXT(zh, "已与 NTP 同步，估计误差 %ld 微秒", (long)tx.esterror);
    TEXT(en, "NTP-synchronised, estimated error %ld us", (long)tx.esterror);
    line(OK, "时间同步", "ntp", zh, en);
}

static void check_broker(void)
{
    const char *url = getenv("FK_MQTT_URL");
    if (!url || !*url) {
        line(OK, "MQTT 代理", "mqtt", "未配置（FK_MQTT_URL 未设置，设备只走 HTTP）",
             "not configured (FK_MQTT_URL unset: devices use HTTP only)");
        return;
    }
    char zh[512], en[512];
    err e = device_mqtt_probe(url, 3000);
    if (e) {
        TEXT(zh, "%s", err_last()->message);
        TEXT(en, "the broker does not accept the server's account: %s",
             strstr(err_last()->message, ": ") ? strstr(err_last()->message, ": ") + 2
                                               : err_last()->message);
        line(FAIL, "MQTT 代理", "mqtt", zh, en);
        return;
    }
    line(OK, "MQTT 代理", "mqtt", "连接并断开成功", "connected and disconnected");
}

static void check_cert(void)
{
    const char *file = getenv("FK_TLS_CERT");
    if (!file || !*file) {
        line(OK, "TLS 证书", "tls cert", "未配置（FK_TLS_CERT 未设置）",
             "not configured (FK_TLS_CERT unset)");
        return;
    }
    char zh[4300], en[4300];
    int64_t s;
    if (doctor_cert_expiry(file, &s)) {
        TEXT(zh, "%s", err_last()->message);
        TEXT(en, "cannot read the certificate %s", file);
        line(FAIL, "TLS 证书", "tls cert", zh, en);
        return;
    }
    double days = (double)s / 86400.0;
    if (s < 0) {
        TEXT(zh, "%s 已于 %.0f 天前过期", file, -days);
        TEXT(en, "%s expired %.0f days ago", file, -days);
    } else {
        TEXT(zh, "%s 剩余 %.0f 天到期", file, days);
        TEXT(en, "%s expires in %.0f days", file, days);
    }
    line(days < DOCTOR_CERT_FAIL_DAYS   ? FAIL
         : days < DOCTOR_CERT_WARN_DAYS ? WARN
                                        : OK,
         "TLS 证书", "tls cert", zh, en);
}

int cmd_doctor(int argc, char **argv)
{
    out.lang = ZH;
    out.worst = OK;
    struct config c;
    /* config_load prints what is wrong with a variable itself */
    if (config_load(&argc, argv, &c)) {
        line(FAIL, "配置", "config", "配置无效（原因见上一行）",
             "the configuration is invalid (see the line above)");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--lang") && i + 1 < argc) {
            const char *l = argv[++i];
            if (!strcmp(l, "zh"))
                out.lang = ZH;
            else if (!strcmp(l, "en"))
                out.lang = EN;
            else if (!strcmp(l, "both"))
                out.lang = BOTH;
            else {
                fprintf(stderr, "fangkong doctor: --lang 应为 zh、en 或 both\n");
                return 2;
            }
        } else {
            fprintf(stderr, "fangkong doctor: 未知参数 '%s'\n", argv[i]);
            return 2;
        }
    }
    int warn_pct, fail_pct;
    check_unknown_vars();
    bool thresholds = disk_thresholds(&warn_pct, &fail_pct);
    check_key(c.key_file);
    check_database(&c);
    if (thresholds)
        check_disk(c.data_dir, warn_pct, fail_pct);
    check_ntp();
    check_broker();
    check_cert();
    return out.worst == FAIL ? 2 : out.worst == WARN ? 1 : 0;
}

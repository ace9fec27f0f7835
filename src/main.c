/*
 * fangkong: the command-line entry. Parses the subcommand and its options,
 * nothing else; each command is a function of the module that owns it.
 *
 * Options may also come from the environment (FK_DB, FK_PORT, FK_DATA_DIR,
 * FK_KEY_FILE, …); a flag overrides its variable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "base/log.h"
#include "cli.h"
#include "doctor/doctor.h"

static const struct command {
    const char *name;
    const char *sub;
    int (*fn)(int argc, char **argv);
    const char *summary;
    const char *usage;
} commands[] = {
    {"serve", NULL, cmd_serve, "启动服务 (start the server)",
     "fangkong serve [--port N] [--bind ADDR] [--db URL] [--data-dir DIR] [--key-file F] "
     "[--threads N]\n"
     "  Applies pending migrations, then serves HTTP until SIGTERM/SIGINT.\n"},
    {"init", NULL, cmd_init, "创建数据库和密钥 (create the database and keys)",
     "fangkong init [--db URL] [--data-dir DIR] [--key-file F]\n"
     "  Creates the data directory, a master key file (mode 0600) if missing,\n"
     "  the database schema and the built-in roles.\n"},
    {"demo", NULL, cmd_demo, "生成演示城区 (build a synthetic district)",
     "fangkong demo [--persons N] [--seed S] [--password P]\n"
     "  Builds streets, communities, grids and buildings with polygons, N people,\n"
     "  places, enterprises and one account for every role. Deterministic per seed.\n"},
    {"user", "add", cmd_user_add, "新增用户 (add a user)",
     "fangkong user add --username U --password P|- --role ROLE[,ROLE2] --region CODE\n"
     "                  [--name NAME] [--department ID]\n"
     "  --password - reads the password from standard input.\n"
     "  Prints a TOTP secret for roles that require a second factor.\n"},
    {"import", "regions", cmd_import_regions, "导入区划 (import regions from CSV or GeoJSON)",
     "fangkong import regions FILE\n"
     "  CSV columns: code,name,level,parent_code[,center_lng,center_lat]; or a GeoJSON\n"
     "  FeatureCollection whose features carry code/name/level properties.\n"
     "  Prints a row-level error report; valid rows are imported.\n"},
    {"audit", "verify", cmd_audit_verify, "校验审计日志 (verify the audit chain)",
     "fangkong audit verify\n"
     "  Walks every keyed hash chain against the signed checkpoints and retention markers\n"
     "  of the anchor file (FK_AUDIT_ANCHORS) and reports the first break. Exit status 1\n"
     "  if broken.\n"},
    {"audit", "prune", cmd_audit_prune, "清理过期审计记录 (prune old audit entries)",
     "fangkong audit prune --before YYYY-MM-DD\n"
     "  Removes the entries older than the date (China time), after verifying the chain,\n"
     "  and writes signed retention markers. Keeps at least FK_AUDIT_RETENTION_DAYS (180).\n"},
    {"backup", NULL, cmd_backup, "在线备份 (online, consistent backup)",
     "fangkong backup FILE\n"
     "  Writes a consistent copy while the server runs; encrypted fields stay encrypted.\n"
     "fangkong backup --list\n"
     "  Lists the scheduled backups in FK_BACKUP_DIR, newest first, verified or not.\n"},
    {"restore", NULL, cmd_restore, "从备份恢复 (restore a backup)",
     "fangkong restore FILE\n"
     "  Replaces the database with the backup. Stop the server first.\n"},
    {"code", "recompute", cmd_code_recompute, "重新计算全部健康码 (recompute every health code)",
     "fangkong code recompute\n"
     "  Recomputes every person's health code with the rules in force, as a rule edit\n"
     "  does in the background; prints the count, the changed codes and the time.\n"},
    {"code", "tokens", cmd_code_tokens,
     "为抽样人员签发健康码令牌 (health-code tokens for a sample)",
     "fangkong code tokens --sample N [--minutes M]\n"
     "  Prints the health-code tokens of N people picked at random, valid for M minutes\n"
     "  (default 30): the load the scan benchmark sends, as residents' phones would.\n"},
    {"devices", "broker-config", cmd_devices_broker_config,
     "生成 MQTT 代理的账号和权限文件 (write the mosquitto broker files)",
     "fangkong devices broker-config DIR\n"
     "  Writes DIR/passwd (the server account of FK_MQTT_URL and every enabled device),\n"
     "  DIR/acl (each device publishes only under fk/devices/<id>/) and DIR/mosquitto.conf\n"
     "  (a listener on FK_MQTT_URL's host and port). A broker whose pid is in\n"
     "  DIR/mosquitto.pid is sent SIGHUP to reload them. With FK_MQTT_BROKER_DIR=DIR the\n"
     "  server rewrites them after every device change.\n"},
    {"attach", "purge", cmd_attach_purge, "清理无人认领的附件 (purge unclaimed attachments)",
     "fangkong attach purge\n"
     "  Deletes the uploads no report or check claimed within 24 hours, as the server\n"
     "  does every FK_ATTACH_PURGE seconds (default 600; 0: never).\n"},
    {"stats", "verify", cmd_stats_verify, "核对统计计数 (check the counters against a recount)",
     "fangkong stats verify [--fix]\n"
     "  Recounts every statistics measure from its source tables and prints each counter\n"
     "  that differs (measure, region, day, counter, recount). --fix rewrites them from the\n"
     "  recount in one transaction. Exit status 1 when any differed, 0 when all agree.\n"},
    {"case", "sweep", cmd_case_sweep, "生成解除隔离任务 (make the due release tasks)",
     "fangkong case sweep\n"
     "  Makes a release task (解除隔离) for every active observation whose planned end\n"
     "  has passed and that has none open, as the server does every FK_RELEASE_CHECK\n"
     "  seconds (default 300; 0: never).\n"},
    /* contact tracing */
    {"trace", "sweep", cmd_trace_sweep, "密接自动追踪 (trace new confirmations once)",
     "fangkong trace sweep\n"
     "  Traces each confirmation of the last days without a run (degree 2) and raises its\n"
     "  alert, as the server does every FK_TRACE_SWEEP seconds (default 30; 0: never).\n"},
    {"trace", "load-access", cmd_trace_load_access,
     "导入历史出入记录 (append access records from CSV)",
     "fangkong trace load-access FILE.csv\n"
     "  Appends access records (header, then venue_id,person_id,direction,at with at in epoch\n"
     "  ms) in one transaction: past passages for a tracing scenario or an imported log.\n"},
    {"check", "sweep", cmd_check_sweep,
     "体征核查巡检 (due check tasks, missed checks, unanswered messages)",
     "fangkong check sweep\n"
     "  Creates the check tasks that are due, raises one alert per missed check period and\n"
     "  per message unanswered after FK_MESSAGE_ESCALATE minutes (default 30), as the server\n"
     "  does every FK_CHECK_SWEEP seconds (default 300; 0: never).\n"},
    /* publishing */
    {"publish", "render", cmd_publish_render, "刷新已发布的数据 (render live publications again)",
     "fangkong publish render\n"
     "  Renders every live publication's figures again from the counters (its text unchanged),\n"
     "  as the server does every FK_PUBLISH_RENDER seconds (default 3600; 0: never).\n"},
    /* the data exchange */
    {"exchange", "caller", cmd_exchange_caller, "登记数据交换调用方 (register an exchange caller)",
     "fangkong exchange caller add --name NAME --org ORG --region CODE[,CODE] [--read DS,...]\n"
     "       [--write DS,...] [--rate N] [--contact NAME] [--phone PHONE] [--expires MS]\n"
     "       --key-out FILE\n"
     "  Registers a caller of the signed exchange interface (docs/exchange.md) with a new\n"
     "  SM2 key pair: prints the caller id (its X-Fk-Caller) and writes the private key PEM\n"
     "  to FILE (mode 0600, never overwritten; the server keeps only the public key).\n"},
    {"routes", NULL, cmd_routes, "列出 API 路由 (list API routes)",
     "fangkong routes\n  Prints METHOD PATH for every route the server answers.\n"},
    /* operations (docs/operations.md) */
    {"doctor", NULL, cmd_doctor, "运行检查 (check configuration, key, database, disk, clock)",
     "fangkong doctor [--lang zh|en|both]\n"
     "  Checks the FK_ variables (unknown ones named), the master key file (present, mode\n"
     "  0600/0400, loads), the database (reachable, migrations, PostgreSQL's role and clock,\n"
     "  SQLite's WAL and filesystem), the data folder's free disk (FK_DISK_WARN_PCT,\n"
     "  FK_DISK_FAIL_PCT), NTP, the MQTT broker (FK_MQTT_URL) and the certificate's expiry\n"
     "  (FK_TLS_CERT). One line per check: 正常/警告/失败 (ok/warn/fail), Chinese by default.\n"
     "  Exit status 0 all ok, 1 a warning, 2 a failure. Changes nothing.\n"},
    /* retention */
    {"retention", NULL, cmd_retention, "按保留期清理数据 (remove data past its retention)",
     "fangkong retention [--dry-run]\n"
     "  Makes the months ahead (PostgreSQL) and removes what is past each dataset's retention:\n"
     "  access records (FK_RETAIN_ACCESS_DAYS, default 90), samples (FK_RETAIN_SAMPLES_DAYS,\n"
     "  180), the audit log (FK_RETAIN_AUDIT_DAYS, 180, at least 180), as the server does\n"
     "  daily: whole months dropped on PostgreSQL, rows deleted on SQLite (docs/retention.md).\n"
     "  --dry-run lists what would go and changes nothing.\n"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fputs("用法: fangkong <command> [options]\n\n多级防控平台 (fangkong) commands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "");
        fprintf(f, "  %-16s %s\n", name, commands[i].summary);
    }
    fputs(
        "\nRun `fangkong <command> --help` for a command's options.\n"
        "Environment: FK_DB, FK_PORT, FK_BIND, FK_DATA_DIR, FK_KEY_FILE, FK_THREADS, FK_NODE,\n"
        "FK_SESSION_IDLE, FK_SESSION_MAX, FK_COOKIE_SECURE, FK_IDLE_TIMEOUT, FK_SMS_DRIVER, "
        "FK_SMS_URL, FK_LOG,\n"
        "FK_AUDIT_ANCHORS, FK_AUDIT_CHECKPOINT, FK_AUDIT_RETENTION_DAYS, FK_PASSWORD_MEMORY_KIB,\n"
        "FK_PASSWORD_PASSES.\n",
        f);
}

int main(int argc, char **argv)
{
    /* the database, its WAL, backups and logs hold personal data: no file
     * this process creates is readable by anyone but its owner */
    umask(077);
    const char *lv = getenv("FK_LOG");
    if (lv && !strcmp(lv, "debug"))
        log_set_level(LOG_DEBUG);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct command *c = &commands[i];
        if (strcmp(argv[1], c->name))
            continue;
        int skip = 2;
        if (c->sub) {
            if (argc < 3 || strcmp(argv[2], c->sub)) {
                if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
                    fputs(c->usage, stdout);
                    return 0;
                }
                continue;
            }
            skip = 3;
        }
        for (int k = skip; k < argc; k++) {
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                printf("用法: %s", c->usage);
                return 0;
            }
        }
        return c->fn(argc - skip, argv + skip);
    }
    fprintf(stderr, "fangkong: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}

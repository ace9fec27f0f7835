/*
 * The `fangkong backup FILE` and `fangkong restore FILE` commands: argument
 * checks, the audit entries (backup.create, backup.restore, user "cli"),
 * and what the operator is told, around db_backup()/db_restore().
 *
 * The master key is never in a backup, so both commands say so; restore
 * proves that the key it was given opens the restored data (one sealed name)
 * and fails loudly when it does not, instead of leaving the operator to find
 * out from a server that cannot show anyone's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/schedule.h"
#include "cli.h"
#include "db/db.h"
#include "security/audit.h"
#include "security/crypto.h"

/* Exit status of a restore whose data the configured key cannot open. */
#define EXIT_KEY_MISMATCH 3

/* Is the database a file here (SQLite), rather than a server's? */
static bool is_file_db(const char *url)
{
    return !strcmp(db_url_driver(url), "sqlite");
}

/* The one FILE argument, or NULL after printing why not. */
static const char *file_arg(const char *cmd, int argc, char **argv)
{
    if (argc != 1 || !argv[0][0]) {
        fprintf(stderr, "用法: fangkong %s FILE\n", cmd);
        return NULL;
    }
    if (argv[0][0] == '-') {
        fprintf(stderr, "fangkong %s: 未知选项 '%s'\n", cmd, argv[0]);
        return NULL;
    }
    return argv[0];
}

/* Is `file` the live SQLite database itself? */
static bool is_database_file(const struct config *c, const char *file)
{
    struct stat fs, ds;
    return is_file_db(c->db_url) && !stat(file, &fs) && !stat(c->db_url, &ds) &&
           fs.st_dev == ds.st_dev && fs.st_ino == ds.st_ino;
}

static void audit_cli(db *d, const char *action, const char *result, const char *detail)
{
    struct audit_entry a = {
        .username = "cli",
        .role = "cli",
        .ip = "local",
        .action = action,
        .object_type = "backup",
        .result = result,
        .detail = detail,
    };
    if (audit_log(d, &a)) /* the operation itself is done: say so, and go on */
        fprintf(stderr, "fangkong backup: the audit entry of %s was not written: %s\n", action,
                err_last()->message);
}

static void key_reminder(const char *key_file)
{
    printf("注意: 备份中不包含主密钥 %s。请另行安全保存密钥文件; 恢复时必须使用同一密钥,\n"
           "否则加密的人员信息无法读取。\n",
           key_file);
}

const char *backup_dir(const struct config *c)
{
    static char buf[4096];
    const char *v = getenv("FK_BACKUP_DIR");
    if (v && *v)
        return v;
    snprintf(buf, sizeof buf, "%s/backups", c->data_dir);
    return buf;
}

/* `fangkong backup --list`: the scheduled backups, newest first. */
static int list_backups(const struct config *c)
{
    const char *dir = backup_dir(c);
    int n = backup_schedule_list(dir);
    if (n < 0) {
        fprintf(stderr, "fangkong backup: 无法读取备份目录 %s: %s\n", dir, strerror(errno));
        return 1;
    }
    printf("%s: %d 份定时备份\n", dir, n);
    return 0;
}

int cmd_backup(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc == 1 && !strcmp(argv[0], "--list"))
        return list_backups(&c);
    const char *file = file_arg("backup", argc, argv);
    if (!file)
        return 2;
    if (is_database_file(&c, file)) {
        fprintf(stderr, "fangkong backup: 备份文件不能是数据库文件本身 (%s)\n", file);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t bytes = 0;
    err e = db_backup(c.db_url, file, &bytes);
    char detail[64];
    if (e) {
        audit_cli(d, "backup.create", err_last()->slug[0] ? err_last()->slug : err_slug(e), "");
        db_close(&d);
        return cli_fail(e, "备份失败");
    }
    snprintf(detail, sizeof detail, "driver=%s bytes=%lld", db_url_driver(c.db_url),
             (long long)bytes);
    audit_cli(d, "backup.create", "ok", detail);
    db_close(&d);
    printf("备份完成: %s (%lld 字节, 一致性快照; 加密字段仍为密文, 文件权限 0600)\n", file,
           (long long)bytes);
    key_reminder(c.key_file);
    return 0;
}

static int64_t count_of(db *d, const char *sql)
{
    int64_t n = -1;
    /* a count that cannot be read is reported as -1 */
    err_ignore(db_query_int64(d, sql, &n));
    return n;
}

/* KEY_UNREAD: the database could not be read, which says nothing about the
 * key (never a "mismatch"). */
enum key_check { KEY_NO_DATA, KEY_OPENS, KEY_FAILS, KEY_UNREAD };

/* Unseal one person's name with the loaded key; the plaintext is wiped
 * at once and never printed. */
static enum key_check check_key(db *d)
{
    db_stmt *s;
    if (db_prepare(d, "SELECT name_enc FROM persons LIMIT 1", &s))
        return KEY_UNREAD;
    bool row;
    enum key_check r = db_row(s, &row) ? KEY_UNREAD : row ? KEY_FAILS : KEY_NO_DATA;
    if (row) {
        size_t n;
        const void *ct = db_col_blob(s, 0, &n);
        char *plain = n >= SEAL_OVERHEAD ? malloc(n - SEAL_OVERHEAD + 1) : NULL;
        size_t len = 0;
        if (plain && ct && unseal_buf("persons.name", ct, n, plain, &len) == E_OK)
            r = KEY_OPENS;
        if (plain) {
            explicit_bzero(plain, n - SEAL_OVERHEAD + 1);
            free(plain);
        }
    }
    db_done(s);
    return r;
}

int cmd_restore(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    const char *file = file_arg("restore", argc, argv);
    if (!file)
        return 2;
    if (access(file, R_OK)) {
        fprintf(stderr, "fangkong restore: 无法读取 %s: %s\n", file, strerror(errno));
        return 1;
    }
    if (is_database_file(&c, file)) {
        fprintf(stderr, "fangkong restore: %s 就是数据库文件本身, 不是备份\n", file);
        return 2;
    }
    /* The key comes first: data restored without the key it was sealed
     * with is unreadable, so there is nothing to gain by restoring. */
    err e = keys_load(c.key_file);
    if (e) {
        cli_fail(e, "密钥文件");
        fprintf(stderr, "恢复需要备份时所用的主密钥: 请先把它放到 %s (权限 0600)\n", c.key_file);
        return 1;
    }
    e = db_restore(c.db_url, file);
    db *d = NULL;
    if (e) {
        int status = cli_fail(e, "恢复失败");
        /* record the refused attempt in the untouched database, if there is one */
        const struct err_detail *why = err_last();
        char slug[sizeof why->slug];
        snprintf(slug, sizeof slug, "%s", why->slug[0] ? why->slug : err_slug(e));
        if ((!is_file_db(c.db_url) || !access(c.db_url, F_OK)) && !db_open(c.db_url, &d)) {
            audit_cli(d, "backup.restore", slug, "");
            db_close(&d);
        }
        return status;
    }
    if ((e = db_open(c.db_url, &d)))
        return cli_fail(e, "打开恢复后的数据库");
    int64_t persons = count_of(d, "SELECT COUNT(*) FROM persons");
    int64_t users = count_of(d, "SELECT COUNT(*) FROM users");
    int64_t audits = count_of(d, "SELECT COUNT(*) FROM audit_log");
    enum key_check key = check_key(d);
    static const char *const key_words[] = {"none", "ok", "mismatch", "unread"};
    char detail[128];
    snprintf(detail, sizeof detail, "persons=%lld users=%lld audit=%lld key=%s", (long long)persons,
             (long long)users, (long long)audits, key_words[key]);
    /* the chains now end at the backup's heads: anchor that, so the
     * checkpoints of entries written after the backup are not taken for a
     * cut tail */
    if ((e = audit_restored(d)))
        cli_fail(e, "审计锚点");
    audit_cli(d, "backup.restore", "ok", detail);
    db_close(&d);

    printf("已从 %s 恢复: 人员 %lld 条, 用户 %lld 个, 审计记录 %lld 条\n", file, (long long)persons,
           (long long)users, (long long)audits);
    printf("数据库结构的升级 (如有) 将在下次 fangkong serve 启动时进行。\n");
    key_reminder(c.key_file);
    switch (key) {
    case KEY_OPENS:
        printf("密钥校验通过: 当前密钥可以解开备份中的加密数据。\n");
        return 0;
    case KEY_NO_DATA:
        printf("备份中没有人员记录, 未能校验密钥。\n");
        return 0;
    case KEY_UNREAD:
        fprintf(stderr, "\n警告: 读取恢复后的数据库失败, 未能校验密钥 (详见日志)。\n");
        return 1;
    case KEY_FAILS:
        break;
    }
    fprintf(stderr,
            "\n警告: 当前密钥 %s 解不开备份中的加密数据!\n"
            "这份备份是用另一把密钥加密的: 人员的姓名、证件号码、电话在服务中将无法读取。\n"
            "请换回备份时所用的密钥文件后再启动服务 (数据已恢复, 不必重新恢复)。\n",
            c.key_file);
    return EXIT_KEY_MISMATCH;
}

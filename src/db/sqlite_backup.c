/*
 * SQLite's backup and restore (db.h, "backup and restore").
 *
 * SQLite's online backup API copies every page of the live file inside one
 * read transaction, so the copy is one consistent snapshot; in WAL mode that
 * read transaction does not block the server's writers. The copy goes to
 * FILE.tmp (created 0600 before SQLite opens it, so the bytes are never
 * readable by others), is switched to a rollback journal so it is one
 * self-contained file, checked, synced and renamed over FILE. Restore is the
 * same API in reverse, into the live file, after checking that FILE is a
 * fangkong database and that no other process has the live file open.
 *
 * This file opens its own SQLite handles by path rather than borrowing a
 * driver connection: the backup API wants a source and a destination
 * connection of its own, and a command-line tool has no other use for them.
 */
#include "db/db_private.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "db/migrations.h"

#define BUSY_MS      10000
#define BUSY_RETRIES 50

static err lite_fail(sqlite3 *h, const char *what)
{
    const char *msg = h ? sqlite3_errmsg(h) : "out of memory";
    log_event(LOG_ERROR, "backup_sqlite", "op", what, "detail", msg, NULL);
    return err_set(E_DB, "backup_sqlite", NULL, "%s失败: %s", what, msg);
}

/* Copy every page of `src` into `dst` in one step: one read transaction on
 * the source, hence one snapshot. A step that finds a lock retries. */
static err lite_copy(sqlite3 *src, sqlite3 *dst, const char *what)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return lite_fail(dst, what);
    int rc, tries = 0;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (++tries > BUSY_RETRIES)
            break;
        sqlite3_sleep(100);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        log_event(LOG_ERROR, "backup_sqlite", "op", what, "detail", sqlite3_errstr(rc), NULL);
        return err_set(E_DB, "backup_sqlite", NULL, "%s失败: %s", what, sqlite3_errstr(rc));
    }
    return E_OK;
}

/* Whether a statement's first row's first column is the text `want`. */
static bool lite_text_is(sqlite3 *h, const char *sql, const char *want, char *got, size_t cap)
{
    sqlite3_stmt *s;
    got[0] = '\0';
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        return false;
    bool ok = false;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        snprintf(got, cap, "%s", (const char *)sqlite3_column_text(s, 0));
        ok = !strcmp(got, want);
    }
    sqlite3_finalize(s);
    return ok;
}

/* As lite_text_is, failing with E_DB and the reason when it is not. */
static err lite_expect(sqlite3 *h, const char *sql, const char *want, const char *what)
{
    char got[128];
    if (lite_text_is(h, sql, want, got, sizeof got))
        return E_OK;
    if (!got[0])
        return lite_fail(h, what);
    log_event(LOG_ERROR, "backup_sqlite", "op", what, "detail", got, NULL);
    return err_set(E_DB, "backup_check", NULL, "%s失败: %s", what, got);
}

err db_sqlite_backup(const char *path, const char *file, int64_t *bytes_r)
{
    sqlite3 *src = NULL, *dst = NULL;
    char *tmp = backup_concat(file, ".tmp");
    if (!tmp)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e;
    /* read-write without CREATE: a missing database is an error, not a new
     * empty file, and a WAL left by a crash can be recovered */
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        e = lite_fail(src, "打开数据库");
        goto out;
    }
    sqlite3_busy_timeout(src, BUSY_MS);
    if ((e = backup_create_private(tmp)))
        goto out;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        e = lite_fail(dst, "打开备份文件");
        goto out_tmp;
    }
    sqlite3_busy_timeout(dst, BUSY_MS);
    if ((e = lite_copy(src, dst, "复制数据库")))
        goto out_tmp;
    /* the copy carries the source's WAL flag; a backup is one plain file */
    if ((e = lite_expect(dst, "PRAGMA journal_mode=DELETE", "delete", "设置备份日志模式")) ||
        (e = lite_expect(dst, "PRAGMA quick_check", "ok", "校验备份")))
        goto out_tmp;
    sqlite3_close_v2(dst);
    dst = NULL;
    if ((e = backup_finish_file(tmp, file)))
        goto out_tmp;
    *bytes_r = backup_file_size(file);
    goto out;
out_tmp:
    sqlite3_close_v2(dst);
    dst = NULL;
    unlink(tmp);
out:
    sqlite3_close_v2(dst);
    sqlite3_close_v2(src);
    free(tmp);
    return e;
}

/* Check that `h` is a fangkong database this program can serve: it has
 * schema_migrations, and no migration newer than the ones built in. */
static err lite_check_ours(sqlite3 *h)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &s,
                           NULL) != SQLITE_OK)
        return err_set(E_INPUT, "not_a_backup", NULL,
                       "该文件不是 fangkong 的备份 (不是 SQLite 数据库或缺少 schema_migrations)");
    int rc = sqlite3_step(s);
    int64_t version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return lite_fail(h, "读取备份");
    if (version == 0)
        return err_set(E_INPUT, "not_a_backup", NULL,
                       "该文件不是 fangkong 的备份 (schema_migrations 为空)");
    int known = migrations_count ? migrations[migrations_count - 1].version : 0;
    if (version > known)
        return err_set(E_CONFLICT, "backup_too_new", NULL,
                       "备份来自更新的版本 (结构版本 %lld，本程序只认识到 %d)，请用新版本恢复",
                       (long long)version, known);
    return E_OK;
}

err db_sqlite_restore(const char *path, const char *file)
{
    sqlite3 *src = NULL, *dst = NULL;
    err e;
    if (access(file, R_OK))
        return backup_io_fail("读取", file);
    if (sqlite3_open_v2(file, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        e = lite_fail(src, "打开备份文件");
        goto out;
    }
    if ((e = lite_check_ours(src)))
        goto out;
    /* a database created here by the restore is private like the backup */
    if (access(path, F_OK)) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            e = backup_io_fail("创建数据库", path);
            goto out;
        }
        close(fd);
    }
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        e = lite_fail(dst, "打开数据库");
        goto out;
    }
    /* Leaving WAL mode needs every other connection to the file closed (each
     * holds a lock while open, even when idle), so this both detects a
     * running server and lets a backup of any page size be copied in. */
    sqlite3_busy_timeout(dst, 2000);
    char mode[32];
    if (!lite_text_is(dst, "PRAGMA journal_mode=DELETE", "delete", mode, sizeof mode)) {
        if ((sqlite3_errcode(dst) & 0xff) == SQLITE_BUSY)
            e = err_set(E_CONFLICT, "database_in_use", NULL,
                        "数据库 %s 正在被其他进程使用: 请先停止 fangkong serve 再恢复", path);
        else
            e = lite_fail(dst, "打开数据库");
        goto out;
    }
    sqlite3_busy_timeout(dst, BUSY_MS);
    if ((e = lite_copy(src, dst, "恢复数据库")) ||
        (e = lite_expect(dst, "PRAGMA journal_mode=WAL", "wal", "恢复 WAL 模式")))
        goto out;
out:
    sqlite3_close_v2(dst);
    sqlite3_close_v2(src);
    return e;
}

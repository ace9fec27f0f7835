/*
 * Whole-database backup and restore (db.h, "backup and restore").
 *
 * SQLite: SQLite's online backup API copies every page of the live file
 * inside one read transaction, so the copy is one consistent snapshot; in
 * WAL mode that read transaction does not block the server's writers. The
 * copy goes to FILE.tmp (created 0600 before SQLite opens it, so the bytes
 * are never readable by others), is switched to a rollback journal so it is
 * one self-contained file, checked, synced and renamed over FILE. Restore is
 * the same API in reverse, into the live file, after checking that FILE is a
 * fangkong database and that no other process has the live file open.
 *
 * PostgreSQL: Debian's pg_dump (custom format, which runs in one
 * repeatable-read snapshot) and pg_restore, executed with an argv and no
 * shell; their own messages go to the caller's stderr.
 *
 * Both copy rows as they are stored, so sealed fields stay ciphertexts; the
 * master key is never part of a backup.
 *
 * This file opens its own SQLite handles by path rather than borrowing a
 * driver connection: the backup API wants a source and a destination
 * connection of its own, and a command-line tool has no other use for them.
 */
#include "db/db_private.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "db/migrations.h"

#define BUSY_MS      10000
#define BUSY_RETRIES 50
#define TOOL_OUT_MAX (8u << 20) /* bound on a captured tool output (a listing) */
#define PG_TOOL_GLOB "/usr/lib/postgresql/*/bin/"

static bool is_pg_url(const char *url)
{
    return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

static err io_fail(const char *what, const char *path)
{
    int saved = errno;
    log_event(LOG_ERROR, "backup_io", "op", what, "path", path, "detail", strerror(saved), NULL);
    return err_set(E_IO, "backup_io", NULL, "%s %s 失败: %s", what, path, strerror(saved));
}

static err lite_fail(sqlite3 *h, const char *what)
{
    const char *msg = h ? sqlite3_errmsg(h) : "out of memory";
    log_event(LOG_ERROR, "backup_sqlite", "op", what, "detail", msg, NULL);
    return err_set(E_DB, "backup_sqlite", NULL, "%s失败: %s", what, msg);
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 1);
    if (p) {
        memcpy(p, a, na);
        memcpy(p + na, b, nb + 1);
    }
    return p;
}

/* fsync the directory holding `path`, so a rename into it is durable. */
static void sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Create `path` empty with mode 0600, replacing a leftover from an earlier
 * failed run; the caller's umask cannot widen the mode afterwards. */
static err create_private(const char *path)
{
    if (unlink(path) && errno != ENOENT)
        return io_fail("删除旧的临时文件", path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail("创建", path);
    (void)fchmod(fd, 0600);
    close(fd);
    return E_OK;
}

static err finish_file(const char *tmp, const char *file)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail("打开", tmp);
    if (fchmod(fd, 0600) || fsync(fd)) {
        err e = io_fail("同步", tmp);
        close(fd);
        return e;
    }
    close(fd);
    if (rename(tmp, file))
        return io_fail("重命名为", file);
    sync_dir_of(file);
    return E_OK;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? 0 : (int64_t)st.st_size;
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

static err lite_backup(const char *path, const char *file, int64_t *bytes_r)
{
    sqlite3 *src = NULL, *dst = NULL;
    char *tmp = concat(file, ".tmp");
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
    if ((e = create_private(tmp)))
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
    if ((e = finish_file(tmp, file)))
        goto out_tmp;
    *bytes_r = file_size(file);
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

static err lite_restore(const char *path, const char *file)
{
    sqlite3 *src = NULL, *dst = NULL;
    err e;
    if (access(file, R_OK))
        return io_fail("读取", file);
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
            e = io_fail("创建数据库", path);
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

/* The path of a PostgreSQL client program: PATH first (Debian's wrappers in
 * /usr/bin), then the newest /usr/lib/postgresql/N/bin. Caller frees. */
static char *pg_tool(const char *name)
{
    const char *path = getenv("PATH");
    if (path) {
        char *dirs = strdup(path), *save = NULL;
        for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d;
             d = strtok_r(NULL, ":", &save)) {
            char *dir = concat(d, "/");
            char *p = dir ? concat(dir, name) : NULL;
            free(dir);
            if (p && !access(p, X_OK)) {
                free(dirs);
                return p;
            }
            free(p);
        }
        free(dirs);
    }
    char *pattern = concat(PG_TOOL_GLOB, name);
    glob_t g;
    char *best = NULL;
    long best_v = -1;
    if (pattern && glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
            if (v > best_v && !access(g.gl_pathv[i], X_OK)) {
                free(best);
                best = strdup(g.gl_pathv[i]);
                best_v = v;
            }
        }
        globfree(&g);
    }
    free(pattern);
    return best;
}

/*
 * Run a PostgreSQL client program with `argv` (argv[0] is its name), no
 * shell. Files it creates get mode 0600. With out_r, its stdout is captured
 * (NUL-terminated, at most TOOL_OUT_MAX bytes, caller frees); otherwise it
 * goes to ours. Its stderr is always the caller's, so the operator sees
 * pg_dump's own explanation of a failure.
 */
static err run_pg_tool(char *const argv[], char **out_r)
{
    char *path = pg_tool(argv[0]);
    if (!path)
        return err_set(E_UNAVAILABLE, "pg_tool_missing", NULL,
                       "找不到 %s (请安装 postgresql-client)", argv[0]);
    int pipefd[2] = {-1, -1};
    if (out_r && pipe2(pipefd, O_CLOEXEC)) {
        free(path);
        return io_fail("创建管道", argv[0]);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        err e = io_fail("启动", path);
        free(path);
        if (out_r) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return e;
    }
    if (pid == 0) {
        umask(077);
        if (out_r)
            dup2(pipefd[1], STDOUT_FILENO);
        execv(path, argv);
        _exit(127);
    }
    free(path);
    char *out = NULL;
    err e = E_OK;
    if (out_r) {
        close(pipefd[1]);
        size_t n = 0, cap = 0;
        for (;;) {
            if (n + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 16384;
                char *grown = cap <= TOOL_OUT_MAX ? realloc(out, cap) : NULL;
                if (!grown) {
                    e = err_set(E_TOO_LARGE, "pg_tool_output", NULL, "%s 的输出过大", argv[0]);
                    break;
                }
                out = grown;
            }
            ssize_t got = read(pipefd[0], out + n, cap - n - 1);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            n += (size_t)got;
        }
        if (out)
            out[n] = '\0';
        close(pipefd[0]);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!e && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        e = err_set(E_UNAVAILABLE, "pg_tool_failed", NULL, "%s 执行失败 (退出状态 %d)", argv[0],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (e || !out_r)
        free(out);
    else
        *out_r = out;
    return e;
}

static err pgsql_backup(const char *url, const char *file, int64_t *bytes_r)
{
    char *tmp = concat(file, ".tmp");
    char *file_arg = tmp ? concat("--file=", tmp) : NULL;
    char *db_arg = concat("--dbname=", url);
    err e;
    if (!tmp || !file_arg || !db_arg) {
        e = err_set(E_NOMEM, NULL, NULL, NULL);
        goto out;
    }
    /* created here, 0600, so a bad directory is our clear error and the
     * dump is private before pg_dump writes a byte into it */
    if ((e = create_private(tmp)))
        goto out;
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", file_arg, db_arg, NULL};
    if ((e = run_pg_tool(argv, NULL)) || (e = finish_file(tmp, file))) {
        unlink(tmp);
        goto out;
    }
    *bytes_r = file_size(file);
out:
    free(db_arg);
    free(file_arg);
    free(tmp);
    return e;
}

/* A line of `pg_restore --list` naming our schema_migrations table. */
static bool listing_has_migrations(const char *listing)
{
    for (const char *line = listing; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (line[0] != ';' && memmem(line, n, " TABLE ", 7) &&
            memmem(line, n, " schema_migrations ", 19))
            return true;
        line = end ? end + 1 : NULL;
    }
    return false;
}

/* Refuse while other sessions use the database: a server would keep its
 * cached state (the audit chain head, sessions) across the restore. */
static err pg_check_idle(const char *url)
{
    db *d;
    err e = db_open(url, &d);
    if (e)
        return e;
    int64_t others = 0;
    e = db_query_int64(d,
                       "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()",
                       &others);
    db_close(&d);
    if (e)
        return e;
    if (others > 0)
        return err_set(E_CONFLICT, "database_in_use", NULL,
                       "数据库正被 %lld 个其他连接使用: 请先停止所有 fangkong serve 再恢复",
                       (long long)others);
    return E_OK;
}

static err pgsql_restore(const char *url, const char *file)
{
    if (access(file, R_OK))
        return io_fail("读取", file);
    char *listing = NULL;
    char *list_argv[] = {"pg_restore", "--list", (char *)file, NULL};
    err e = run_pg_tool(list_argv, &listing);
    if (e || !listing_has_migrations(listing)) {
        free(listing);
        return err_set(E_INPUT, "not_a_backup", NULL,
                       "该文件不是 fangkong 的 PostgreSQL 备份 (不是 pg_dump 自定义格式或缺少 "
                       "schema_migrations)");
    }
    free(listing);
    if ((e = pg_check_idle(url)))
        return e;
    char *db_arg = concat("--dbname=", url);
    if (!db_arg)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    /* one transaction: a restore that fails part-way leaves the database as
     * it was instead of half dropped */
    char *argv[] = {"pg_restore",           "--clean",    "--if-exists", "--no-owner", db_arg,
                    "--single-transaction", (char *)file, NULL};
    e = run_pg_tool(argv, NULL);
    free(db_arg);
    return e;
}

err db_backup(const char *url, const char *file, int64_t *bytes_r)
{
    int64_t bytes = 0;
    err e = is_pg_url(url) ? pgsql_backup(url, file, &bytes) : lite_backup(url, file, &bytes);
    if (!e && bytes_r)
        *bytes_r = bytes;
    return e;
}

err db_restore(const char *url, const char *file)
{
    return is_pg_url(url) ? pgsql_restore(url, file) : lite_restore(url, file);
}

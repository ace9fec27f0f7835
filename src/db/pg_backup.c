/*
 * PostgreSQL's backup and restore (db.h, "backup and restore"): Debian's
 * pg_dump (custom format, which runs in one repeatable-read snapshot) and
 * pg_restore, executed with an argv and no shell; their own messages go to
 * the caller's stderr.
 */
#include "db/db_private.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL_OUT_MAX (8u << 20) /* bound on a captured tool output (a listing) */
#define PG_TOOL_GLOB "/usr/lib/postgresql/*/bin/"

/* The path of a PostgreSQL client program: PATH first (Debian's wrappers in
 * /usr/bin), then the newest /usr/lib/postgresql/N/bin. Caller frees. */
static char *pg_tool(const char *name)
{
    const char *path = getenv("PATH");
    if (path) {
        char *dirs = strdup(path), *save = NULL;
        for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d;
             d = strtok_r(NULL, ":", &save)) {
            char *dir = backup_concat(d, "/");
            char *p = dir ? backup_concat(dir, name) : NULL;
            free(dir);
            if (p && !access(p, X_OK)) {
                free(dirs);
                return p;
            }
            free(p);
        }
        free(dirs);
    }
    char *pattern = backup_concat(PG_TOOL_GLOB, name);
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
        return backup_io_fail("创建管道", argv[0]);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        err e = backup_io_fail("启动", path);
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

err db_pg_backup(const char *url, const char *file, int64_t *bytes_r)
{
    char *tmp = backup_concat(file, ".tmp");
    char *file_arg = tmp ? backup_concat("--file=", tmp) : NULL;
    char *db_arg = backup_concat("--dbname=", url);
    err e;
    if (!tmp || !file_arg || !db_arg) {
        e = err_set(E_NOMEM, NULL, NULL, NULL);
        goto out;
    }
    /* created here, 0600, so a bad directory is our clear error and the
     * dump is private before pg_dump writes a byte into it */
    if ((e = backup_create_private(tmp)))
        goto out;
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", file_arg, db_arg, NULL};
    if ((e = run_pg_tool(argv, NULL)) || (e = backup_finish_file(tmp, file))) {
        unlink(tmp);
        goto out;
    }
    *bytes_r = backup_file_size(file);
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

err db_pg_restore(const char *url, const char *file)
{
    if (access(file, R_OK))
        return backup_io_fail("读取", file);
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
    char *db_arg = backup_concat("--dbname=", url);
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

/*
 * SQLite driver: one file, WAL journal, foreign keys on, a busy timeout so
 * several connections (one per event loop) can share the file.
 *
 * Connections of this process to the same file share a writer lock (a
 * mutex) that db_begin takes before BEGIN IMMEDIATE. SQLite's own busy
 * handler polls with sleeps of 1 to 100 ms, so two writer threads (the scan
 * writer and the audit writer, say) lost milliseconds to each other on
 * every collision; the mutex hands the lock over the moment it is free.
 * The busy timeout still covers other processes (a CLI command beside the
 * server).
 */
#include "db/db_private.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct lite {
    struct db base;
    sqlite3 *h;
};

struct lite_stmt {
    struct db_stmt base;
    sqlite3_stmt *h;
    int64_t changes;
};

static sqlite3 *H(db *d)
{
    return ((struct lite *)d)->h;
}

static sqlite3_stmt *S(db_stmt *s)
{
    return ((struct lite_stmt *)s)->h;
}

/* The disk is full: SQLITE_FULL (the VFS's answer to ENOSPC on the
 * database, its WAL or a journal; also max_page_count reached), or an I/O
 * error whose system errno says the same (growing the WAL index, an fsync
 * of a file the filesystem could not extend). */
static bool lite_full(sqlite3 *h, int code)
{
    if ((code & 0xff) == SQLITE_FULL)
        return true;
    return (code & 0xff) == SQLITE_IOERR && err_errno_disk_full(sqlite3_system_errno(h));
}

static err lite_err(db *d, const char *what)
{
    int code = sqlite3_extended_errcode(H(d));
    if ((code & 0xff) == SQLITE_CONSTRAINT &&
        (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY))
        return err_set(E_CONFLICT, "duplicate", NULL, "记录已存在");
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        return err_set(E_CONFLICT, "constraint", NULL, "操作与已有记录冲突");
    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
        return db_busy(); /* another process held the file past the wait */
    if (lite_full(H(d), code))
        return err_disk_full(what); /* SQLite rolled the statement or transaction back */
    return db_fail("sqlite", what, sqlite3_errmsg(H(d)));
}

static err lite_prepare(db *d, const char *sql, db_stmt **r)
{
    struct lite_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    if (sqlite3_prepare_v3(H(d), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->h, NULL) != SQLITE_OK) {
        free(s);
        return lite_err(d, "prepare");
    }
    *r = &s->base;
    return E_OK;
}

static void lite_finalize(db_stmt *s)
{
    sqlite3_finalize(S(s));
    free(s);
}

/* The writer locks, one per file path, shared by that path's connections. */
struct wlock {
    pthread_mutex_t mu;
    char *path;
    int refs;
    struct wlock *next;
};
static pthread_mutex_t wlocks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wlock *wlocks;

static pthread_mutex_t *wlock_get(const char *path)
{
    if (!*path || !strcmp(path, ":memory:"))
        return NULL; /* a private database: no one to wait for */
    pthread_mutex_lock(&wlocks_mu);
    struct wlock *w = wlocks;
    while (w && strcmp(w->path, path))
        w = w->next;
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path))) {
            free(w); /* out of memory: the busy handler alone, as before */
            pthread_mutex_unlock(&wlocks_mu);
            return NULL;
        }
        /* error-checking: a thread beginning twice fails at once, not after 10 s */
        pthread_mutexattr_t at;
        pthread_mutexattr_init(&at);
        pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
        pthread_mutex_init(&w->mu, &at);
        pthread_mutexattr_destroy(&at);
        w->next = wlocks;
        wlocks = w;
    }
    w->refs++;
    pthread_mutex_unlock(&wlocks_mu);
    return &w->mu;
}

static void wlock_put(pthread_mutex_t *mu)
{
    if (!mu)
        return;
    pthread_mutex_lock(&wlocks_mu);
    for (struct wlock **p = &wlocks; *p; p = &(*p)->next) {
        struct wlock *w = *p;
        if (&w->mu != mu)
            continue;
        if (--w->refs == 0) {
            *p = w->next;
            pthread_mutex_destroy(&w->mu);
            free(w->path);
            free(w);
        }
        break;
    }
    pthread_mutex_unlock(&wlocks_mu);
}

static void lite_close(db *d)
{
    sqlite3_close_v2(H(d));
    wlock_put(d->wlock);
    free(d);
}

static void lite_bind_int64(db_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(S(s), i, v);
}

static void lite_bind_double(db_stmt *s, int i, double v)
{
    sqlite3_bind_double(S(s), i, v);
}

static void lite_bind_text(db_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(S(s), i, v, -1, SQLITE_TRANSIENT);
}

static void lite_bind_blob(db_stmt *s, int i, const void *v, size_t n)
{
    sqlite3_bind_blob64(S(s), i, v, n, SQLITE_TRANSIENT);
}

static void lite_bind_null(db_stmt *s, int i)
{
    sqlite3_bind_null(S(s), i);
}

static int lite_step(db_stmt *s)
{
    int rc = sqlite3_step(S(s));
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE) {
        ((struct lite_stmt *)s)->changes = sqlite3_changes64(H(s->db));
        return DB_DONE;
    }
    s->error = lite_err(s->db, "step");
    return -1;
}

static int lite_column_count(db_stmt *s)
{
    return sqlite3_column_count(S(s));
}

static bool lite_col_null(db_stmt *s, int i)
{
    return sqlite3_column_type(S(s), i) == SQLITE_NULL;
}

static int64_t lite_col_int64(db_stmt *s, int i)
{
    return sqlite3_column_int64(S(s), i);
}

static double lite_col_double(db_stmt *s, int i)
{
    return sqlite3_column_double(S(s), i);
}

static const char *lite_col_text(db_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(S(s), i);
}

static const void *lite_col_blob(db_stmt *s, int i, size_t *n_r)
{
    const void *p = sqlite3_column_blob(S(s), i);
    *n_r = (size_t)sqlite3_column_bytes(S(s), i);
    return p;
}

static int64_t lite_changes(db_stmt *s)
{
    return ((struct lite_stmt *)s)->changes;
}

static void lite_reset(db_stmt *s)
{
    sqlite3_reset(S(s));
    sqlite3_clear_bindings(S(s));
}

static err lite_exec(db *d, const char *sql)
{
    /* SQLite rolled the transaction back by itself (after SQLITE_FULL or an
     * I/O error): the ROLLBACK has nothing to do, not an error to log */
    if (!strcmp(sql, "ROLLBACK") && sqlite3_get_autocommit(H(d)))
        return E_OK;
    char *msg = NULL;
    if (sqlite3_exec(H(d), sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return lite_err(d, "exec");
    }
    return E_OK;
}

/* sql with every `from` replaced by `to`; malloc'd. */
static char *replace_all(const char *sql, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), n = 0, len = strlen(sql);
    for (const char *p = sql; (p = strstr(p, from)); p += nf)
        n++;
    char *out = malloc(len + n * nt + 1), *o = out; /* nt per match: enough either way */
    if (!out)
        return NULL;
    for (const char *p = sql, *q; *p; p = q + nf) {
        if (!(q = strstr(p, from))) {
            memcpy(o, p, strlen(p) + 1);
            return out;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, nt);
        o += nt;
    }
    *o = '\0';
    return out;
}

/*
 * The script as SQLite should run it; malloc'd. A column declared "BIGINT
 * PRIMARY KEY" is created as "INTEGER PRIMARY KEY": only that spelling makes
 * the key the table's rowid. Every id here is a positive 64-bit integer, so
 * nothing changes for the code, but a table is one B-tree instead of two (the
 * rows and a separate key index): a look-up by id is one descent and an
 * insert writes one page fewer, which the scan path (docs/benchmarks.md) and
 * every list feel.
 *
 * The same for a table whose key is not one integer: "/\*sqlite: WITHOUT
 * ROWID*\/" after its closing parenthesis is a comment to PostgreSQL (whose
 * tables are heaps either way) and "WITHOUT ROWID" here, the table stored
 * in its key's B-tree (sql/025: the name tokens).
 */
static char *sqlite_dialect(const char *sql)
{
    char *a = replace_all(sql, "BIGINT PRIMARY KEY", "INTEGER PRIMARY KEY");
    if (!a)
        return NULL;
    char *b = replace_all(a, "/*sqlite: WITHOUT ROWID*/", "WITHOUT ROWID");
    free(a);
    return b;
}

/* A migration script: in SQLite's dialect, every statement at once. */
static err lite_exec_script(db *d, const char *sql)
{
    char *lite = sqlite_dialect(sql);
    if (!lite)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = lite_exec(d, lite);
    free(lite);
    return e;
}

static void lite_set_wait(db *d, int ms)
{
    sqlite3_busy_timeout(H(d), ms);
}

static const struct db_ops lite_ops = {
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .close = lite_close,
    .bind_int64 = lite_bind_int64,
    .bind_double = lite_bind_double,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .column_count = lite_column_count,
    .col_null = lite_col_null,
    .col_int64 = lite_col_int64,
    .col_double = lite_col_double,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .changes = lite_changes,
    .reset = lite_reset,
    .exec = lite_exec,
    .exec_script = lite_exec_script,
    /* take the write lock now: a deferred transaction that reads first and
     * writes later fails with SQLITE_BUSY instead of waiting */
    .begin_sql = "BEGIN IMMEDIATE",
    /* the memory map only for the length of a long read (see db_sqlite_open) */
    .begin_read_sql = "PRAGMA mmap_size=2147418112; BEGIN DEFERRED",
    .end_read_sql = "PRAGMA mmap_size=0",
    .notify = NULL, /* one server per file: nobody else to tell */
    .set_wait = lite_set_wait,
    .cache_large_sql = "PRAGMA cache_size=-32768",
};

/* Before the first connection: no global memory statistics, whose mutex
 * every allocation of every connection would otherwise take. */
static pthread_once_t lite_once = PTHREAD_ONCE_INIT;
static void lite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static bool lite_claims(const char *url)
{
    (void)url;
    return true; /* any path; the default driver */
}

static err db_sqlite_open(const char *path, db **r);

const struct db_driver db_sqlite_driver = {
    .name = "sqlite",
    .claims = lite_claims,
    .open = db_sqlite_open,
    .backup = db_sqlite_backup,
    .restore = db_sqlite_restore,
};

static err db_sqlite_open(const char *path, db **r)
{
    pthread_once(&lite_once, lite_configure);
    struct lite *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    d->base.ops = &lite_ops;
    d->base.kind = DB_SQLITE;
    const char *vfs;
    err te = db_sqlite_test_vfs(path, &vfs);
    if (te) {
        free(d);
        return te;
    }
    if (sqlite3_open_v2(path, &d->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        vfs) != SQLITE_OK) {
        err e = db_fail("sqlite", "open", d->h ? sqlite3_errmsg(d->h) : "out of memory");
        sqlite3_close_v2(d->h);
        free(d);
        return e;
    }
    d->base.wait_ms = DB_WAIT_DEFAULT_MS;
    sqlite3_busy_timeout(d->h, DB_WAIT_DEFAULT_MS);
    d->base.wlock = wlock_get(path);
    /* synchronous=FULL: an acknowledged write survives power loss, which the
     * scan path (issue 4) and the audit chain rely on.
     *
     * No memory map (mmap_size=0) except inside db_begin_read's long reads
     * (lite_ops.begin_read_sql maps the file's first 2 GiB, the library's
     * cap, and end_read_sql unmaps it). A mapped read costs no system call
     * and no copy of the page: at 10,000,000 people a trace's residence
     * look-ups spent more in those copies than in the b-tree. But SQLite
     * unmaps the whole file at the start of any read transaction that finds
     * another connection's commit in the WAL, and every page is faulted in
     * again (with a TLB shoot-down across the process's threads): the audit
     * writer commits every 20 ms while people are looked up, so every
     * short request paid the unmap and the faults. The look-up served
     * 2-3 times as many requests per CPU second without the map
     * (docs/benchmarks.md, issue 15); a long read pays one map for
     * millions of pages.
     *
     * A small page cache (4 MB) until db_cache_large asks for 32 MB: only
     * the event loops' and the command line's connections do (db.h). */
    err e = lite_exec(&d->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                "PRAGMA cache_size=-4096; PRAGMA mmap_size=0;");
    if (e) {
        lite_close(&d->base);
        return e;
    }
    *r = &d->base;
    return E_OK;
}

/*
 * What a database driver implements. Only db.c and the drivers include this.
 *
 * A driver's connection struct starts with `struct db`, its statement struct
 * with `struct db_stmt`; db.c owns the statement cache and the dispatch.
 */
#ifndef FK_DB_PRIVATE_H
#define FK_DB_PRIVATE_H

#include <pthread.h>

#include "db/db.h"

struct db_ops {
    err (*prepare)(db *d, const char *sql, db_stmt **r); /* a new statement */
    void (*finalize)(db_stmt *s);
    void (*close)(db *d);
    void (*bind_int64)(db_stmt *s, int i, int64_t v);
    void (*bind_double)(db_stmt *s, int i, double v);
    void (*bind_text)(db_stmt *s, int i, const char *v);
    void (*bind_blob)(db_stmt *s, int i, const void *v, size_t n);
    void (*bind_null)(db_stmt *s, int i);
    int (*step)(db_stmt *s); /* DB_ROW, DB_DONE or -1 with s->error set */
    int (*column_count)(db_stmt *s);
    bool (*col_null)(db_stmt *s, int i);
    int64_t (*col_int64)(db_stmt *s, int i);
    double (*col_double)(db_stmt *s, int i);
    const char *(*col_text)(db_stmt *s, int i);
    const void *(*col_blob)(db_stmt *s, int i, size_t *n_r);
    int64_t (*changes)(db_stmt *s);
    void (*reset)(db_stmt *s); /* clear bindings and results */
    err (*exec)(db *d, const char *sql);
    err (*exec_script)(db *d, const char *sql); /* in the driver's dialect (migrations) */
    const char *begin_sql;                      /* how a write transaction starts */
    /* how a read-only transaction (db_begin_read) starts, and what runs
     * after it ended (NULL: nothing) */
    const char *begin_read_sql, *end_read_sql;
    /* send a notification at commit (PostgreSQL); NULL: nobody else to tell */
    err (*notify)(db *d, const char *channel, const char *payload);
    void (*set_wait)(db *d, int ms); /* how long a statement waits for a lock */
    /* what gives a connection the large page cache (db_cache_large);
     * NULL: the driver keeps no page cache in the process */
    const char *cache_large_sql;
};

/*
 * A database driver: the URLs it serves and what works on a URL rather than
 * a connection. db.c keeps the one list of drivers (db_driver_for); no other
 * code asks which database it runs on.
 */
struct db_driver {
    const char *name;
    bool (*claims)(const char *url);
    err (*open)(const char *url, db **r);
    err (*backup)(const char *url, const char *file, int64_t *bytes_r);
    err (*restore)(const char *url, const char *file);
};

extern const struct db_driver db_sqlite_driver, db_pg_driver;

/* The driver for `url` (SQLite for anything that is not a PostgreSQL URL). */
const struct db_driver *db_driver_for(const char *url);

#define DB_CACHE_SLOTS 512
#define DB_TX_DEPTH    8 /* savepoints inside one transaction */

struct db_stmt {
    db *db;
    char *sql; /* owned copy, the cache key */
    uint32_t hash;
    bool cached; /* lives in the cache; otherwise finalized by db_done */
    bool in_use;
    err error; /* the err of a failed step */
};

struct db_hook {
    void (*fn)(void *ctx, bool committed);
    void *ctx;
    struct db_hook *next;
};

struct db {
    const struct db_ops *ops;
    enum db_kind kind;
    bool in_tx;
    bool read_tx;  /* db_begin_read: no writer lock held */
    int wait_ms;   /* db_set_wait; DB_WAIT_DEFAULT_MS */
    bool poisoned; /* db_tx_poison: the transaction must not commit */
    /* SQLite: the file's in-process writer lock, held from db_begin to the
     * end of the transaction (see sqlite.c); NULL for PostgreSQL. */
    pthread_mutex_t *wlock;
    struct db_hook *hooks, **hooks_tail; /* db_after_commit, in order */
    size_t nhooks;
    /* db_begin inside a transaction opens a savepoint: how many are open,
     * and how many hooks were registered when each was opened */
    int depth;
    size_t marks[DB_TX_DEPTH];
    /* db_hold: the next transaction stays open past its db_commit
     * (committed_held) until db_release */
    bool hold, committed_held;
    db_stmt *cache[DB_CACHE_SLOTS]; /* open addressing by hash of the SQL */
    int cached;
};

/* The drivers' backup and restore (sqlite_backup.c, pg_backup.c). */
err db_sqlite_backup(const char *path, const char *file, int64_t *bytes_r) MUST_USE;
err db_sqlite_restore(const char *path, const char *file) MUST_USE;
err db_pg_backup(const char *url, const char *file, int64_t *bytes_r) MUST_USE;
err db_pg_restore(const char *url, const char *file) MUST_USE;

/* File steps both backups share (backup.c). backup_io_fail logs errno's
 * reason and returns E_IO; backup_create_private makes `path` empty with
 * mode 0600; backup_finish_file syncs `tmp` and renames it over `file`
 * durably; backup_concat is a malloc'd a+b (NULL when out of memory). */
err backup_io_fail(const char *what, const char *path) MUST_USE;
char *backup_concat(const char *a, const char *b);
err backup_create_private(const char *path) MUST_USE;
err backup_finish_file(const char *tmp, const char *file) MUST_USE;
int64_t backup_file_size(const char *path);

/* E_UNAVAILABLE "database_busy": a lock was not free within the wait. */
err db_busy(void) MUST_USE;

/* Log a driver failure (never sent to a client) and return E_DB. */
err db_fail(const char *driver, const char *what, const char *detail) MUST_USE;

/* Account time spent in the database. */
void db_time_add(uint64_t us);
uint64_t db_now_us(void);

/*
 * PostgreSQL's spelling of a statement: each `?` marker becomes $1, $2, …
 * except inside quotes and comments; *n_r is the number of markers. Returns
 * a malloc'd string, or NULL when out of memory. (Exposed for the fuzzer.)
 */
char *db_pg_renumber(const char *sql, int *n_r);

/*
 * The SQLite VFS a database at `path` opens with: NULL (the default),
 * or, with FK_TEST_DISK_FULL set, the tests' full-disk VFS
 * (sqlite_testfull.c). E_INPUT "test_flag_refused" when the flag is set
 * and the database is not in the temporary folder.
 */
err db_sqlite_test_vfs(const char *path, const char **vfs_r) MUST_USE;

/*
 * The class of a PostgreSQL SQLSTATE that says the server lacks a resource
 * (class 53): 'd' disk full (53100), 'r' another resource (out of memory,
 * too many connections, a configured limit), 0 anything else or NULL.
 * (Exposed for the unit test of pg_err's mapping.)
 */
char db_pg_sqlstate_resource(const char *state);

#endif

/*
 * The driver-independent half of db.h: opening by URL, the prepared
 * statement cache, transactions, migrations and time accounting.
 */
#include "db/db_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"

static _Thread_local uint64_t time_us;

uint64_t db_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void db_time_add(uint64_t us)
{
    time_us += us;
}

uint64_t db_time_us(void)
{
    return time_us;
}

err db_fail(const char *driver, const char *what, const char *detail)
{
    log_event(LOG_ERROR, "db_error", "driver", driver, "op", what, "detail", detail, NULL);
    return err_set(E_DB, NULL, NULL, NULL);
}

/* Every driver, the default (SQLite: any path) last. */
static const struct db_driver *const drivers[] = {&db_pg_driver, &db_sqlite_driver};

const struct db_driver *db_driver_for(const char *url)
{
    for (size_t i = 0; i + 1 < sizeof drivers / sizeof *drivers; i++)
        if (drivers[i]->claims(url))
            return drivers[i];
    return drivers[sizeof drivers / sizeof *drivers - 1];
}

const char *db_url_driver(const char *url)
{
    return db_driver_for(url)->name;
}

err db_open(const char *url, db **r)
{
    return db_driver_for(url)->open(url, r);
}

void db_close(db **dbp)
{
    db *d = *dbp;
    if (!d)
        return;
    db_rollback(d); /* a transaction left open: its hooks learn it did not commit */
    for (int i = 0; i < DB_CACHE_SLOTS; i++) {
        if (d->cache[i]) {
            db_stmt *s = d->cache[i];
            free(s->sql);
            d->ops->finalize(s);
        }
    }
    d->ops->close(d);
    *dbp = NULL;
}

enum db_kind db_kind(const db *d)
{
    return d->kind;
}

/* Every db_prepare hashes its SQL, often a kilobyte: eight bytes a step
 * (a byte-wise FNV-1a was a tenth of a bulk import's CPU). Only this
 * process's cache sees the value. */
static uint32_t hash_sql(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0x9E3779B97F4A7C15u ^ n, w;
    for (; n >= 8; n -= 8, s += 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDu;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
    return (uint32_t)(h ^ (h >> 32));
}

err db_prepare(db *d, const char *sql, db_stmt **r)
{
    uint32_t h = hash_sql(sql);
    unsigned slot = h % DB_CACHE_SLOTS;
    bool busy = false;
    for (unsigned probe = 0; probe < DB_CACHE_SLOTS; probe++) {
        db_stmt *s = d->cache[(slot + probe) % DB_CACHE_SLOTS];
        if (!s)
            break;
        if (s->hash == h && !strcmp(s->sql, sql)) {
            if (s->in_use) {
                busy = true; /* nested use of the same SQL: an uncached statement */
                break;
            }
            s->in_use = true;
            s->error = E_OK;
            *r = s;
            return E_OK;
        }
    }
    db_stmt *s;
    uint64_t t0 = db_now_us();
    err e = d->ops->prepare(d, sql, &s);
    db_time_add(db_now_us() - t0);
    if (e)
        return e;
    s->db = d;
    s->sql = strdup(sql);
    s->hash = h;
    s->in_use = true;
    s->error = E_OK;
    s->cached = false;
    if (!s->sql) {
        d->ops->finalize(s);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (!busy && d->cached < DB_CACHE_SLOTS / 2) {
        for (unsigned probe = 0; probe < DB_CACHE_SLOTS; probe++) {
            unsigned k = (slot + probe) % DB_CACHE_SLOTS;
            if (!d->cache[k]) {
                d->cache[k] = s;
                d->cached++;
                s->cached = true;
                break;
            }
        }
    }
    *r = s;
    return E_OK;
}

void db_bind_int64(db_stmt *s, int i, int64_t v)
{
    s->db->ops->bind_int64(s, i, v);
}

void db_bind_double(db_stmt *s, int i, double v)
{
    s->db->ops->bind_double(s, i, v);
}

void db_bind_text(db_stmt *s, int i, const char *v)
{
    if (v)
        s->db->ops->bind_text(s, i, v);
    else
        s->db->ops->bind_null(s, i);
}

void db_bind_blob(db_stmt *s, int i, const void *v, size_t n)
{
    if (v)
        s->db->ops->bind_blob(s, i, v, n);
    else
        s->db->ops->bind_null(s, i);
}

void db_bind_null(db_stmt *s, int i)
{
    s->db->ops->bind_null(s, i);
}

/* Does the statement change rows? (its first word) */
static bool is_write(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    return !strncasecmp(sql, "INSERT", 6) || !strncasecmp(sql, "UPDATE", 6) ||
           !strncasecmp(sql, "DELETE", 6);
}

int db_step(db_stmt *s)
{
    db *d = s->db;
    if (d->hold && !d->in_tx && is_write(s->sql)) {
        /* a held callee writing without a transaction of its own: its
         * writes go into one, held for db_release like a committed one */
        err e = db_begin(d);
        if (e) {
            s->error = e; /* busy stays busy (503), not a database failure */
            return -1;
        }
        d->committed_held = true;
    }
    uint64_t t0 = db_now_us();
    int rc = s->db->ops->step(s);
    db_time_add(db_now_us() - t0);
    if (rc != DB_ROW && rc != DB_DONE && s->error == E_OK)
        s->error = E_DB;
    return rc;
}

err db_step_err(db_stmt *s)
{
    return s->error;
}

int db_column_count(db_stmt *s)
{
    return s->db->ops->column_count(s);
}

bool db_col_null(db_stmt *s, int i)
{
    return s->db->ops->col_null(s, i);
}

int64_t db_col_int64(db_stmt *s, int i)
{
    return s->db->ops->col_int64(s, i);
}

double db_col_double(db_stmt *s, int i)
{
    return s->db->ops->col_double(s, i);
}

const char *db_col_text(db_stmt *s, int i)
{
    const char *t = s->db->ops->col_text(s, i);
    return t ? t : "";
}

const void *db_col_blob(db_stmt *s, int i, size_t *n_r)
{
    return s->db->ops->col_blob(s, i, n_r);
}

int64_t db_changes(db_stmt *s)
{
    return s->db->ops->changes(s);
}

void db_done(db_stmt *s)
{
    if (!s)
        return;
    s->db->ops->reset(s);
    s->in_use = false;
    if (!s->cached) {
        free(s->sql);
        s->db->ops->finalize(s);
    }
}

err db_exec(db *d, const char *sql)
{
    uint64_t t0 = db_now_us();
    err e = d->ops->exec(d, sql);
    db_time_add(db_now_us() - t0);
    return e;
}

err db_exec_script(db *d, const char *sql)
{
    uint64_t t0 = db_now_us();
    err e = d->ops->exec_script(d, sql);
    db_time_add(db_now_us() - t0);
    return e;
}

/* Run and free the hooks of the transaction that just ended. */
static void run_hooks(db *d, bool committed)
{
    struct db_hook *h = d->hooks;
    d->hooks = NULL;
    d->hooks_tail = NULL;
    d->nhooks = 0;
    while (h) {
        struct db_hook *next = h->next;
        h->fn(h->ctx, committed);
        free(h);
        h = next;
    }
}

err db_after_commit(db *d, void (*fn)(void *ctx, bool committed), void *ctx)
{
    if (!d->in_tx) {
        fn(ctx, true);
        return E_OK;
    }
    struct db_hook *h = malloc(sizeof *h);
    if (!h)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    *h = (struct db_hook){fn, ctx, NULL};
    if (d->hooks_tail)
        *d->hooks_tail = h;
    else
        d->hooks = h;
    d->hooks_tail = &h->next;
    d->nhooks++;
    return E_OK;
}

err db_busy(void)
{
    return err_set(E_UNAVAILABLE, "database_busy", NULL, "系统繁忙，请稍后重试");
}

void db_set_wait(db *d, int ms)
{
    d->wait_ms = ms > 0 ? ms : 1;
    if (d->ops->set_wait)
        d->ops->set_wait(d, d->wait_ms);
}

err db_cache_large(db *d)
{
    return d->ops->cache_large_sql ? d->ops->exec(d, d->ops->cache_large_sql) : E_OK;
}

bool db_in_tx(const db *d)
{
    return d->in_tx;
}

/* The work of a savepoint was undone: so are the hooks registered since
 * it was opened (they run now, as after a rollback). */
static void run_hooks_after(db *d, size_t keep)
{
    struct db_hook **link = &d->hooks;
    for (size_t i = 0; i < keep && *link; i++)
        link = &(*link)->next;
    struct db_hook *h = *link;
    *link = NULL;
    d->hooks_tail = keep ? link : NULL;
    d->nhooks = keep;
    while (h) {
        struct db_hook *next = h->next;
        h->fn(h->ctx, false);
        free(h);
        h = next;
    }
}

static err savepoint(db *d, const char *verb)
{
    char sql[48];
    snprintf(sql, sizeof sql, "%s fk_sp%d", verb, d->depth - 1);
    return db_exec(d, sql);
}

/* A transaction ended: the writer lock released, or a long read's settings
 * undone (SQLite: its memory map, db_sqlite_open). */
static void end_tx_locks(db *d)
{
    if (d->read_tx && d->ops->end_read_sql)
        err_ignore(db_exec(d, d->ops->end_read_sql));
    else if (d->wlock && !d->read_tx)
        pthread_mutex_unlock(d->wlock);
    d->read_tx = false;
}

err db_begin_read(db *d)
{
    const char *driver = d->kind == DB_SQLITE ? "sqlite" : "pg";
    if (d->in_tx)
        return db_fail(driver, "begin_read", "inside a transaction");
    err e = db_exec(d, d->ops->begin_read_sql);
    if (!e)
        d->in_tx = d->read_tx = true;
    else if (d->ops->end_read_sql) /* the settings it made are undone */
        err_ignore(db_exec(d, d->ops->end_read_sql));
    return e;
}

err db_begin(db *d)
{
    if (d->read_tx)
        return db_fail(d->kind == DB_SQLITE ? "sqlite" : "pg", "begin",
                       "inside a read-only transaction");
    if (d->in_tx) { /* nested: a savepoint inside the caller's transaction */
        if (d->depth >= DB_TX_DEPTH)
            return db_fail(d->kind == DB_SQLITE ? "sqlite" : "pg", "begin",
                           "transactions nested too deep");
        d->depth++;
        err e = savepoint(d, "SAVEPOINT");
        if (e)
            d->depth--;
        else
            d->marks[d->depth - 1] = d->nhooks;
        return e;
    }
    if (d->wlock) {
        /* as long as SQLite's busy timeout (db_set_wait), and failing the
         * same way; a thread that already holds the lock through another
         * connection would wait for itself: that is a bug, E_DB at once */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += d->wait_ms / 1000;
        until.tv_nsec += (long)(d->wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_mutex_timedlock(d->wlock, &until);
        if (rc == ETIMEDOUT)
            return db_busy();
        if (rc)
            return db_fail("sqlite", "begin", "writer lock not acquired");
    }
    err e = db_exec(d, d->ops->begin_sql);
    if (!e)
        d->in_tx = true;
    else if (d->wlock)
        pthread_mutex_unlock(d->wlock);
    return e;
}

void db_hold(db *d)
{
    if (!d->in_tx) {
        d->hold = true;
        d->committed_held = false;
    }
}

err db_release(db *d, bool commit)
{
    bool held = d->hold && d->committed_held && d->in_tx;
    d->hold = false;
    d->committed_held = false;
    if (!held) {
        db_rollback(d); /* a callee that left its transaction open */
        return E_OK;
    }
    if (!commit) {
        db_rollback(d);
        return E_OK;
    }
    return db_commit(d);
}

void db_tx_poison(db *d)
{
    if (d->in_tx)
        d->poisoned = true;
}

err db_commit(db *d)
{
    if (d->in_tx && d->depth > 0) {
        err e = d->poisoned ? db_fail(d->kind == DB_SQLITE ? "sqlite" : "pg", "commit",
                                      "transaction poisoned: a part of it failed (audit entry)")
                            : savepoint(d, "RELEASE SAVEPOINT");
        if (e) {
            /* undo the savepoint's work; the outer transaction must not
             * commit without it */
            db_rollback(d);
            d->poisoned = true;
            return e;
        }
        d->depth--;
        return E_OK;
    }
    if (d->in_tx && d->hold && !d->committed_held) {
        if (d->poisoned) {
            db_rollback(d);
            return db_fail(d->kind == DB_SQLITE ? "sqlite" : "pg", "commit",
                           "transaction poisoned: a part of it failed (audit entry)");
        }
        d->committed_held = true; /* stays open for db_release */
        return E_OK;
    }
    if (d->poisoned) {
        db_rollback(d);
        return db_fail(d->kind == DB_SQLITE ? "sqlite" : "pg", "commit",
                       "transaction poisoned: a part of it failed (audit entry)");
    }
    err e = db_exec(d, "COMMIT");
    if (e) {
        db_rollback(d);
    } else {
        d->in_tx = false;
        end_tx_locks(d);
        run_hooks(d, true);
    }
    return e;
}

void db_rollback(db *d)
{
    if (!d->in_tx || (d->hold && d->committed_held && d->depth == 0))
        return;         /* ended already, or committed and held for db_release */
    if (d->depth > 0) { /* back to the savepoint; the outer transaction goes on */
        (void)savepoint(d, "ROLLBACK TO SAVEPOINT");
        (void)savepoint(d, "RELEASE SAVEPOINT");
        d->depth--;
        run_hooks_after(d, d->marks[d->depth]);
        return;
    }
    d->in_tx = false;
    d->poisoned = false;
    d->depth = 0;
    /* ending the transaction regardless: a failed ROLLBACK leaves nothing to
     * undo (SQLite rolls back by itself after SQLITE_FULL, and the ROLLBACK
     * then finds no transaction); the error the caller reports stays the
     * one that made it roll back (disk_full, not the ROLLBACK's) */
    struct err_detail kept = *err_last();
    err_ignore(db_exec(d, "ROLLBACK"));
    err_restore(&kept);
    end_tx_locks(d);
    run_hooks(d, false);
}

err db_run(db_stmt *s, int64_t *changes_r)
{
    int rc = db_step(s);
    err e = rc == DB_ROW || rc == DB_DONE ? E_OK : db_step_err(s);
    if (!e && changes_r)
        *changes_r = db_changes(s);
    db_done(s);
    return e;
}

err db_row(db_stmt *s, bool *has_row_r)
{
    int rc = db_step(s);
    *has_row_r = rc == DB_ROW;
    return rc == DB_ROW || rc == DB_DONE ? E_OK : db_step_err(s);
}

err db_query_int64(db *d, const char *sql, int64_t *v_r)
{
    db_stmt *s;
    err e = db_prepare(d, sql, &s);
    if (e)
        return e;
    int rc = db_step(s);
    if (rc == DB_ROW)
        *v_r = db_col_int64(s, 0);
    e = rc == DB_ROW ? E_OK : rc == DB_DONE ? E_NOT_FOUND : db_step_err(s);
    db_done(s);
    return e;
}

err db_notify(db *d, const char *channel, const char *payload)
{
    return d->ops->notify ? d->ops->notify(d, channel, payload) : E_OK;
}

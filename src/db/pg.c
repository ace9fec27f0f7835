/*
 * PostgreSQL driver (libpq): renumbers `?` parameter markers to $n, prepares each
 * statement once per connection under a generated name, sends parameters as
 * text (blobs as binary), reads results as text and decodes BYTEA columns.
 * A dropped connection is re-established on its next use outside a
 * transaction; its statements are then prepared again on their next step.
 *
 * High availability (docs/ha.md): the URL may name several hosts with
 * target_session_attrs=read-write, so a reconnection finds whichever of them
 * is the primary now. While no primary answers, every use fails at once with
 * 503 database_down; tries to reconnect are spaced by a bounded back-off
 * (PG_RETRY_MIN_MS doubling to PG_RETRY_MAX_MS), so a loop answers its
 * clients instead of blocking on connection attempts.
 */
#include "db/db_private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/grow.h"
#include "base/log.h"

#define BOOLOID  16
#define BYTEAOID 17

/* Reconnection back-off: the first try at the next use, then 50 ms doubling
 * up to 1 s between tries (so a promoted standby is found within about a
 * second of accepting writes). */
#define PG_RETRY_MIN_MS 50
#define PG_RETRY_MAX_MS 1000

/* Defaults a URL may override: a host that does not answer is given up after
 * connect_timeout seconds (then the next host of the list is tried), and
 * keepalives notice a primary that vanished without closing its sockets. */
static const char *const pg_default_keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                                              "keepalives_interval", "keepalives_count"};
static const char *const pg_default_values[] = {"5", "1", "10", "5", "3"};
#define PG_NDEFAULTS (sizeof pg_default_keys / sizeof *pg_default_keys)

struct pg_name {
    char s[24];
};

struct pg {
    struct db base;
    PGconn *h;
    uint64_t names;       /* statement names are "s1", "s2", … */
    uint64_t gen;         /* bumped by each reconnect; 0 is "never prepared" */
    struct pg_name *dead; /* to DEALLOCATE once the failed transaction ends */
    size_t ndead, capdead;
    bool stale;           /* connected to a server that no longer takes writes */
    int retry_ms;         /* the back-off after the last failed reconnection */
    uint64_t retry_at_us; /* no reconnection before this (db_now_us) */
};

struct pg_param {
    char *buf;
    size_t cap;
};

struct pg_blob {
    unsigned char *p; /* NUL-terminated, so col_text of a BYTEA works too */
    size_t n;
};

struct pg_stmt {
    struct db_stmt base;
    struct pg_name name;
    char *sql; /* with $n parameter markers */
    uint64_t gen;
    int nparams;
    const char **values;
    int *lengths;
    int *formats;
    struct pg_param *params;
    bool bind_failed;
    PGresult *res;
    int row, nrows, ncols;
    struct pg_blob *blobs; /* per column, decoded for the current row */
    int64_t changes;
};

static struct pg *PG(db *d)
{
    return (struct pg *)d;
}

static struct pg_stmt *S(db_stmt *s)
{
    return (struct pg_stmt *)s;
}

/* 503 database_down, the answer while no primary is reachable (the same as
 * /healthz gives). Nothing was written: a statement that failed this way is
 * part of a transaction the server rolls back. */
static err pg_unavailable(void)
{
    return err_set(E_UNAVAILABLE, "database_down", NULL, "数据库不可用");
}

/* The connection is gone or no longer fit for writes: the socket broke
 * (class 08 or a bad status), the server is shutting down or starting
 * (57P01-57P03), or it answered as a read-only standby (25006: a former
 * primary that was demoted). The last two mark the session stale, so the
 * next use reconnects to the current primary. */
static bool pg_lost(struct pg *c, const char *state)
{
    if (PQstatus(c->h) != CONNECTION_OK)
        return true;
    if (state && (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
                  !strcmp(state, "57P03") || !strcmp(state, "25006"))) {
        c->stale = true;
        return true;
    }
    return false;
}

/* Logged once per loss: later uses fail in pg_ready without a word until a
 * reconnection is tried. */
static err pg_down(struct pg *c, const char *what)
{
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(PQerrorMessage(c->h), "\n"),
             PQerrorMessage(c->h));
    log_event(LOG_WARN, "db_connection_lost", "driver", "pg", "op", what, "detail", line, NULL);
    return pg_unavailable();
}

char db_pg_sqlstate_resource(const char *state)
{
    if (!state || strncmp(state, "53", 2) || strlen(state) != 5)
        return 0;
    return !strcmp(state, "53100") ? 'd' : 'r';
}

/* Personal data reaches the server only as bound values, and data exceptions
 * (class 22) quote them in the message: log only their SQLSTATE. */
static err pg_err(struct pg *c, const PGresult *res, const char *what, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (pg_lost(c, state))
        return pg_down(c, what);
    if (state && !strcmp(state, "23505"))
        return err_set(E_CONFLICT, "duplicate", NULL, "记录已存在");
    if (state && !strncmp(state, "23", 2))
        return err_set(E_CONFLICT, "constraint", NULL, "操作与已有记录冲突");
    if (state && !strcmp(state, "55P03"))
        return db_busy(); /* lock_timeout: another writer held the row */
    /* Class 53, insufficient resources: the statement failed and the
     * transaction is aborted (the caller rolls back), nothing written.
     * 53100 is the database server's disk full (its data or WAL folder):
     * 503 disk_full, as SQLite's SQLITE_FULL. The others (out of memory,
     * too many connections, a configured limit) pass with load: 503
     * database_busy, logged for the operator. */
    char res_class = db_pg_sqlstate_resource(state);
    if (res_class == 'd')
        return err_disk_full(what);
    if (res_class == 'r') {
        log_event(LOG_WARN, "db_resources", "driver", "pg", "sqlstate", state, "what", what, NULL);
        return db_busy();
    }
    /* A deadlock or a serialization failure aborts this transaction and lets
     * the other one go on: the caller may retry, as after a lock timeout.
     * Logged, since a deadlock is a lock-order bug to find. */
    if (state && (!strcmp(state, "40P01") || !strcmp(state, "40001"))) {
        log_event(LOG_WARN, "db_retryable", "driver", "pg", "sqlstate", state, "what", what, NULL);
        return db_busy();
    }
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(c->h);
    if (state && !strncmp(state, "22", 2))
        msg = "data exception";
    char detail[512];
    snprintf(detail, sizeof detail, "%s %.*s; sql: %.200s", state ? state : "-",
             (int)strcspn(msg, "\n"), msg, sql);
    return db_fail("pg", what, detail);
}

static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(msg, "\n"), msg);
    log_event(LOG_WARN, "db_notice", "driver", "pg", "detail", line, NULL);
}

static err pg_session(struct pg *c)
{
    char sql[128]; /* the wait is an int of ours, not a value from outside */
    snprintf(sql, sizeof sql,
             "SET client_min_messages TO warning; SET TIME ZONE 'UTC'; SET lock_timeout = %d",
             c->base.wait_ms);
    PGresult *res = PQexec(c->h, sql);
    err e = PQresultStatus(res) == PGRES_COMMAND_OK ? E_OK : pg_err(c, res, "open", "SET");
    PQclear(res);
    return e;
}

static void deallocate(struct pg *c, const char *name)
{
    char sql[64];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
    PQclear(PQexec(c->h, sql));
}

/*
 * Reconnect a dropped connection, except inside a transaction: its work is
 * gone, and every statement fails until the caller rolls back. Statements
 * finalized while a transaction was failed are deallocated here.
 */
static err pg_ready(struct pg *c)
{
    if (PQstatus(c->h) != CONNECTION_OK || c->stale) {
        if (c->base.in_tx)
            return pg_unavailable(); /* its work is gone: the caller rolls back */
        uint64_t now = db_now_us();
        if (now < c->retry_at_us)
            return pg_unavailable();
        PQreset(c->h);
        if (PQstatus(c->h) != CONNECTION_OK) {
            c->retry_ms = c->retry_ms ? c->retry_ms * 2 : PG_RETRY_MIN_MS;
            if (c->retry_ms > PG_RETRY_MAX_MS)
                c->retry_ms = PG_RETRY_MAX_MS;
            c->retry_at_us = db_now_us() + (uint64_t)c->retry_ms * 1000u;
            char line[256];
            snprintf(line, sizeof line, "%.*s", (int)strcspn(PQerrorMessage(c->h), "\n"),
                     PQerrorMessage(c->h));
            log_event(LOG_WARN, "db_reconnect_failed", "driver", "pg", "detail", line, NULL);
            return pg_unavailable();
        }
        c->stale = false;
        c->retry_ms = 0;
        c->retry_at_us = 0;
        c->gen++;
        c->ndead = 0;
        log_event(LOG_WARN, "db_reconnected", "driver", "pg", NULL);
        err e = pg_session(c);
        if (e)
            return e;
    }
    if (c->ndead && PQtransactionStatus(c->h) != PQTRANS_INERROR) {
        for (size_t i = 0; i < c->ndead; i++)
            deallocate(c, c->dead[i].s);
        c->ndead = 0;
    }
    return E_OK;
}

char *db_pg_renumber(const char *sql, int *n_r)
{
    size_t len = strlen(sql), marks = 0;
    for (const char *p = sql; *p; p++)
        marks += *p == '?';
    size_t cap = len + marks * 11 + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    enum { CODE, QUOTED, LINE_COMMENT, BLOCK_COMMENT } state = CODE;
    char quote = 0;
    size_t o = 0;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        char ch = *p;
        switch (state) {
        case CODE:
            if (ch == '\'' || ch == '"') {
                state = QUOTED;
                quote = ch;
            } else if (ch == '-' && p[1] == '-') {
                state = LINE_COMMENT;
            } else if (ch == '/' && p[1] == '*') {
                state = BLOCK_COMMENT;
                out[o++] = *p++;
            } else if (ch == '?') {
                o += (size_t)snprintf(out + o, cap - o, "$%d", ++n);
                continue;
            }
            break;
        case QUOTED:
            if (ch == quote)
                state = CODE;
            break;
        case LINE_COMMENT:
            if (ch == '\n')
                state = CODE;
            break;
        case BLOCK_COMMENT:
            if (ch == '*' && p[1] == '/') {
                state = CODE;
                out[o++] = *p++;
            }
            break;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    *n_r = n;
    return out;
}

static void free_blobs(struct pg_stmt *s)
{
    if (!s->blobs)
        return;
    for (int i = 0; i < s->ncols; i++) {
        free(s->blobs[i].p);
        s->blobs[i].p = NULL;
    }
}

static void clear_result(struct pg_stmt *s)
{
    free_blobs(s);
    free(s->blobs);
    s->blobs = NULL;
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = s->ncols = 0;
}

static void free_stmt(struct pg_stmt *s)
{
    clear_result(s);
    for (int i = 0; i < s->nparams && s->params; i++)
        free(s->params[i].buf);
    free(s->params);
    free(s->values);
    free(s->lengths);
    free(s->formats);
    free(s->sql);
    free(s);
}

static err server_prepare(struct pg *c, struct pg_stmt *s)
{
    PGresult *res = PQprepare(c->h, s->name.s, s->sql, 0, NULL);
    err e = PQresultStatus(res) == PGRES_COMMAND_OK ? E_OK : pg_err(c, res, "prepare", s->sql);
    PQclear(res);
    if (!e)
        s->gen = c->gen;
    return e;
}

static err pg_prepare(db *d, const char *sql, db_stmt **r)
{
    struct pg *c = PG(d);
    struct pg_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    s->row = -1;
    s->sql = db_pg_renumber(sql, &s->nparams);
    size_t n = s->nparams ? (size_t)s->nparams : 1;
    s->values = calloc(n, sizeof *s->values);
    s->lengths = calloc(n, sizeof *s->lengths);
    s->formats = calloc(n, sizeof *s->formats);
    s->params = calloc(n, sizeof *s->params);
    if (!s->sql || !s->values || !s->lengths || !s->formats || !s->params) {
        free_stmt(s);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    snprintf(s->name.s, sizeof s->name.s, "s%" PRIu64, ++c->names);
    err e = pg_ready(c);
    if (!e)
        e = server_prepare(c, s);
    if (e) {
        free_stmt(s);
        return e;
    }
    *r = &s->base;
    return E_OK;
}

/* DEALLOCATE fails in a failed transaction: defer it (if memory allows). */
static void forget(struct pg *c, const struct pg_name *name)
{
    if (PQtransactionStatus(c->h) != PQTRANS_INERROR) {
        deallocate(c, name->s);
        return;
    }
    if (!GROW(&c->dead, &c->capdead, c->ndead, 1, 8))
        return;
    c->dead[c->ndead++] = *name;
}

/* Cached statements are finalized only by db_close, right before PQfinish
 * drops every prepared statement of the session: no DEALLOCATE for them. */
static void pg_finalize(db_stmt *st)
{
    struct pg_stmt *s = S(st);
    struct pg *c = PG(st->db);
    if (!st->cached && s->gen == c->gen && PQstatus(c->h) == CONNECTION_OK)
        forget(c, &s->name);
    free_stmt(s);
}

static void pg_close(db *d)
{
    PQfinish(PG(d)->h);
    free(PG(d)->dead);
    free(d);
}

/* The buffer of parameter i (1-based) with room for n bytes, or NULL. */
static char *param(struct pg_stmt *s, int i, size_t n, int format)
{
    if (i < 1 || i > s->nparams)
        return NULL;
    struct pg_param *p = &s->params[i - 1];
    if (p->cap < n) {
        char *b = realloc(p->buf, n);
        if (!b) {
            s->bind_failed = true;
            return NULL;
        }
        p->buf = b;
        p->cap = n;
    }
    s->values[i - 1] = p->buf;
    s->formats[i - 1] = format;
    s->lengths[i - 1] = 0;
    return p->buf;
}

static void pg_bind_int64(db_stmt *st, int i, int64_t v)
{
    char *b = param(S(st), i, 24, 0);
    if (b)
        snprintf(b, 24, "%" PRId64, v);
}

static void pg_bind_double(db_stmt *st, int i, double v)
{
    char *b = param(S(st), i, 32, 0);
    if (!b)
        return;
    if (isnan(v))
        snprintf(b, 32, "NaN");
    else if (isinf(v))
        snprintf(b, 32, "%s", v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(b, 32, "%.17g", v);
}

static void pg_bind_text(db_stmt *st, int i, const char *v)
{
    size_t n = strlen(v) + 1;
    char *b = param(S(st), i, n, 0);
    if (b)
        memcpy(b, v, n);
}

static void pg_bind_blob(db_stmt *st, int i, const void *v, size_t n)
{
    struct pg_stmt *s = S(st);
    if (n > INT_MAX) {
        s->bind_failed = true;
        return;
    }
    char *b = param(s, i, n ? n : 1, 1);
    if (!b)
        return;
    memcpy(b, v, n);
    s->lengths[i - 1] = (int)n;
}

static void pg_bind_null(db_stmt *st, int i)
{
    struct pg_stmt *s = S(st);
    if (i >= 1 && i <= s->nparams) {
        s->values[i - 1] = NULL;
        s->formats[i - 1] = 0;
    }
}

static int pg_step(db_stmt *st)
{
    struct pg_stmt *s = S(st);
    struct pg *c = PG(st->db);
    free_blobs(s);
    if (!s->res) {
        if (s->bind_failed) {
            st->error = err_set(E_NOMEM, NULL, NULL, NULL);
            return -1;
        }
        err e = pg_ready(c);
        if (!e && s->gen != c->gen)
            e = server_prepare(c, s);
        if (e) {
            st->error = e;
            return -1;
        }
        s->res = PQexecPrepared(c->h, s->name.s, s->nparams, s->values, s->lengths, s->formats, 0);
        ExecStatusType t = PQresultStatus(s->res);
        if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
            st->error = pg_err(c, s->res, "step", s->sql);
            clear_result(s);
            return -1;
        }
        s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
        s->nrows = PQntuples(s->res);
        s->ncols = PQnfields(s->res);
    }
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? DB_ROW : DB_DONE;
}

static int pg_column_count(db_stmt *st)
{
    return S(st)->ncols;
}

/* Column i of the current row exists and is not NULL. */
static bool cell(struct pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < s->ncols &&
           !PQgetisnull(s->res, s->row, i);
}

static bool pg_col_null(db_stmt *st, int i)
{
    return !cell(S(st), i);
}

static int64_t pg_col_int64(db_stmt *st, int i)
{
    struct pg_stmt *s = S(st);
    if (!cell(s, i))
        return 0;
    const char *t = PQgetvalue(s->res, s->row, i);
    if (PQftype(s->res, i) == BOOLOID)
        return t[0] == 't';
    char *end;
    long long v = strtoll(t, &end, 10);
    if (*end != '.' && *end != 'e' && *end != 'E')
        return v;
    double x = strtod(t, NULL); /* a float or numeric column, truncated like SQLite */
    if (isnan(x))
        return 0;
    if (x >= 0x1p63)
        return INT64_MAX;
    if (x < -0x1p63)
        return INT64_MIN;
    return (int64_t)x;
}

static double pg_col_double(db_stmt *st, int i)
{
    struct pg_stmt *s = S(st);
    return cell(s, i) ? strtod(PQgetvalue(s->res, s->row, i), NULL) : 0;
}

static const struct pg_blob *bytea(struct pg_stmt *s, int i)
{
    if (!s->blobs && !(s->blobs = calloc((size_t)s->ncols, sizeof *s->blobs)))
        return NULL;
    struct pg_blob *b = &s->blobs[i];
    if (!b->p) {
        size_t n;
        unsigned char *raw =
            PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i), &n);
        if (!raw)
            return NULL;
        if ((b->p = malloc(n + 1))) {
            memcpy(b->p, raw, n);
            b->p[n] = '\0';
            b->n = n;
        }
        PQfreemem(raw);
    }
    return b->p ? b : NULL;
}

static const char *pg_col_text(db_stmt *st, int i)
{
    struct pg_stmt *s = S(st);
    if (!cell(s, i))
        return NULL;
    if (PQftype(s->res, i) == BYTEAOID) {
        const struct pg_blob *b = bytea(s, i);
        return b ? (const char *)b->p : NULL;
    }
    return PQgetvalue(s->res, s->row, i);
}

static const void *pg_col_blob(db_stmt *st, int i, size_t *n_r)
{
    struct pg_stmt *s = S(st);
    *n_r = 0;
    if (!cell(s, i))
        return NULL;
    if (PQftype(s->res, i) == BYTEAOID) {
        const struct pg_blob *b = bytea(s, i);
        if (b)
            *n_r = b->n;
        return b ? b->p : NULL;
    }
    *n_r = (size_t)PQgetlength(s->res, s->row, i);
    return PQgetvalue(s->res, s->row, i);
}

static int64_t pg_changes(db_stmt *st)
{
    return S(st)->changes;
}

static void pg_reset(db_stmt *st)
{
    struct pg_stmt *s = S(st);
    clear_result(s);
    for (int i = 0; i < s->nparams; i++) {
        s->values[i] = NULL;
        s->formats[i] = 0;
    }
    s->bind_failed = false;
}

/* A COMMIT of a transaction that already failed answers "ROLLBACK". */
static err pg_exec(db *d, const char *sql)
{
    struct pg *c = PG(d);
    err e = pg_ready(c);
    if (e)
        return e;
    PGresult *res = PQexec(c->h, sql);
    ExecStatusType t = PQresultStatus(res);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        e = pg_err(c, res, "exec", sql);
    else if (!strcasecmp(sql, "COMMIT") && !strcmp(PQcmdStatus(res), "ROLLBACK"))
        e = db_fail("pg", "commit", "the transaction had failed and was rolled back");
    PQclear(res);
    return e;
}

/* Kept for reconnections too: pg_session sets it on every new session. */
static void pg_set_wait(db *d, int ms)
{
    (void)ms;
    struct pg *c = PG(d);
    if (PQstatus(c->h) == CONNECTION_OK)
        (void)pg_session(c);
}

/* NOTIFY is transactional: listeners hear it when the transaction commits. */
static err pg_notify_at_commit(db *d, const char *channel, const char *payload)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT pg_notify(?, ?)", &s);
    if (e)
        return e;
    db_bind_text(s, 1, channel);
    db_bind_text(s, 2, payload);
    return db_run(s, NULL);
}

static const struct db_ops pg_ops = {
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .close = pg_close,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .column_count = pg_column_count,
    .col_null = pg_col_null,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .changes = pg_changes,
    .reset = pg_reset,
    .exec = pg_exec,
    .exec_script = pg_exec, /* the simple query protocol runs every statement */
    .begin_sql = "BEGIN",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .notify = pg_notify_at_commit,
    .set_wait = pg_set_wait,
};

static bool pg_claims(const char *url)
{
    return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

static err db_pg_open(const char *url, db **r);

const struct db_driver db_pg_driver = {
    .name = "postgres",
    .claims = pg_claims,
    .open = db_pg_open,
    .backup = db_pg_backup,
    .restore = db_pg_restore,
};

static err db_pg_open(const char *url, db **r)
{
    struct pg *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    c->base.ops = &pg_ops;
    c->base.kind = DB_POSTGRES;
    c->base.wait_ms = DB_WAIT_DEFAULT_MS;
    c->gen = 1;
    /* the defaults first: a later value of the same key (from the URL) wins */
    const char *keys[PG_NDEFAULTS + 2], *values[PG_NDEFAULTS + 2];
    for (size_t i = 0; i < PG_NDEFAULTS; i++) {
        keys[i] = pg_default_keys[i];
        values[i] = pg_default_values[i];
    }
    keys[PG_NDEFAULTS] = "dbname";
    values[PG_NDEFAULTS] = url;
    keys[PG_NDEFAULTS + 1] = values[PG_NDEFAULTS + 1] = NULL;
    if (!(c->h = PQconnectdbParams(keys, values, 1))) {
        free(c);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    if (PQstatus(c->h) != CONNECTION_OK) {
        err e = db_fail("pg", "open", PQerrorMessage(c->h));
        pg_close(&c->base);
        return e;
    }
    PQsetNoticeProcessor(c->h, pg_notice, NULL);
    err e = pg_session(c);
    if (e) {
        pg_close(&c->base);
        return e;
    }
    *r = &c->base;
    return E_OK;
}

/* ---- LISTEN: notifications from other processes --------------------------------- */

/*
 * One listener per process: one thread and one connection that LISTENs on
 * every registered channel (a server of N costs PostgreSQL one connection
 * for all its channels, not one per channel). Channels registered while it
 * runs are LISTENed at once (the wake pipe says so). A connection lost is
 * made again a second later; what was notified meanwhile is not heard, so
 * after every (re)connection the gap callbacks run: caches that rely on
 * notifications drop everything they hold.
 */
struct channel {
    char name[64];
    bool listened; /* on the current connection */
    void (*fn)(const char *payload, void *ctx);
    void *ctx;
};

static struct {
    pthread_mutex_t mu; /* channels, n, gaps, n_gaps */
    struct channel channels[DB_LISTEN_MAX];
    size_t n;
    void (*gaps[DB_LISTEN_MAX])(void);
    size_t n_gaps;
    pthread_t thread;
    bool running;
    _Atomic bool stop;
    int wake[2]; /* 's': stop; 'a': a channel was added */
    char *url;
} ln = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* LISTEN on the channels not yet listened on c; false when the connection failed. */
static bool listen_channels(PGconn *c)
{
    pthread_mutex_lock(&ln.mu);
    bool ok = true;
    for (size_t i = 0; i < ln.n && ok; i++) {
        struct channel *ch = &ln.channels[i];
        if (ch->listened)
            continue;
        char sql[96];
        snprintf(sql, sizeof sql, "LISTEN %s", ch->name); /* a checked identifier */
        PGresult *res = PQexec(c, sql);
        ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (ok)
            ch->listened = true;
        else
            log_event(LOG_WARN, "listen_failed", "channel", ch->name, "detail", PQerrorMessage(c),
                      NULL);
    }
    pthread_mutex_unlock(&ln.mu);
    return ok;
}

static PGconn *listen_connect(void)
{
    PGconn *c = PQconnectdb(ln.url);
    if (!c)
        return NULL;
    pthread_mutex_lock(&ln.mu);
    for (size_t i = 0; i < ln.n; i++)
        ln.channels[i].listened = false;
    pthread_mutex_unlock(&ln.mu);
    if (PQstatus(c) != CONNECTION_OK || !listen_channels(c)) {
        if (PQstatus(c) != CONNECTION_OK)
            log_event(LOG_WARN, "listen_failed", "detail", PQerrorMessage(c), NULL);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, pg_notice, NULL);
    /* whatever was notified before this connection listened was not heard */
    pthread_mutex_lock(&ln.mu);
    size_t n = ln.n_gaps;
    void (*gaps[DB_LISTEN_MAX])(void);
    memcpy(gaps, ln.gaps, sizeof gaps);
    pthread_mutex_unlock(&ln.mu);
    for (size_t i = 0; i < n; i++)
        gaps[i]();
    return c;
}

/* Wait up to ms for fd (or only for the wake pipe when fd < 0); false when
 * told to stop. *added_r: a channel was registered meanwhile. */
static bool listen_wait(int fd, int ms, bool *added_r)
{
    struct pollfd p[2] = {{ln.wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    while (poll(p, fd >= 0 ? 2 : 1, ms) < 0 && errno == EINTR) {
    }
    *added_r = false;
    if (p[0].revents & POLLIN) {
        char buf[16];
        ssize_t n = read(ln.wake[0], buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++)
            *added_r |= buf[i] == 'a';
    }
    return !ln.stop;
}

/* The callback of a channel, looked up under the lock (the table only grows). */
static struct channel *channel_of(const char *name)
{
    pthread_mutex_lock(&ln.mu);
    struct channel *ch = NULL;
    for (size_t i = 0; i < ln.n && !ch; i++)
        if (!strcmp(ln.channels[i].name, name))
            ch = &ln.channels[i];
    pthread_mutex_unlock(&ln.mu);
    return ch;
}

static void *listener_main(void *arg)
{
    (void)arg;
    PGconn *c = NULL;
    bool added;
    while (!ln.stop) {
        if (!c && !(c = listen_connect())) {
            if (!listen_wait(-1, 1000, &added)) /* the database is away: try again in a second */
                break;
            continue;
        }
        if (!listen_wait(PQsocket(c), -1, &added))
            break;
        if (added && !listen_channels(c)) {
            PQfinish(c);
            c = NULL;
            continue;
        }
        if (!PQconsumeInput(c)) {
            /* what is notified while reconnecting is not delivered: streams'
             * clients find it in the lists and on resume (Last-Event-ID), caches
             * are dropped by the gap callbacks once connected again */
            log_event(LOG_WARN, "listen_lost", "detail", PQerrorMessage(c), NULL);
            PQfinish(c);
            c = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c))) {
            struct channel *ch = channel_of(n->relname);
            if (ch)
                ch->fn(n->extra, ch->ctx);
            PQfreemem(n);
        }
    }
    PQfinish(c);
    return NULL;
}

static bool is_postgres(const char *url)
{
    return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

/* The thread, started once with the first channel. Called under ln.mu. */
static err listener_start(const char *url)
{
    if (ln.running)
        return E_OK;
    if (pipe2(ln.wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return err_set(E_IO, NULL, NULL, "pipe");
    ln.url = strdup(url);
    ln.stop = false;
    if (!ln.url || pthread_create(&ln.thread, NULL, listener_main, NULL)) {
        free(ln.url);
        ln.url = NULL;
        close(ln.wake[0]);
        close(ln.wake[1]);
        return err_set(E_INTERNAL, NULL, NULL, "listener");
    }
    pthread_setname_np(ln.thread, "fk-listen");
    ln.running = true;
    return E_OK;
}

err db_listen_start(const char *url, const char *channel,
                    void (*fn)(const char *payload, void *ctx), void *ctx)
{
    if (!is_postgres(url))
        return E_OK; /* SQLite: one server per file, nobody else to hear from */
    size_t n = strlen(channel);
    if (!n || n > 63 || strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != n)
        return err_set(E_INTERNAL, NULL, NULL, "invalid channel");
    pthread_mutex_lock(&ln.mu);
    err e = E_OK;
    for (size_t i = 0; i < ln.n && !e; i++)
        if (!strcmp(ln.channels[i].name, channel))
            e = err_set(E_INTERNAL, NULL, NULL, "already listening");
    if (!e && ln.n == DB_LISTEN_MAX)
        e = err_set(E_INTERNAL, NULL, NULL, "too many listeners");
    if (!e && !(e = listener_start(url))) {
        struct channel *ch = &ln.channels[ln.n++];
        *ch = (struct channel){.fn = fn, .ctx = ctx};
        snprintf(ch->name, sizeof ch->name, "%s", channel);
    }
    pthread_mutex_unlock(&ln.mu);
    if (!e)
        (void)!write(ln.wake[1], "a", 1);
    return e;
}

err db_listen_on_gap(const char *url, void (*fn)(void))
{
    if (!is_postgres(url))
        return E_OK;
    pthread_mutex_lock(&ln.mu);
    err e =
        ln.n_gaps == DB_LISTEN_MAX ? err_set(E_INTERNAL, NULL, NULL, "too many gap hooks") : E_OK;
    if (!e)
        ln.gaps[ln.n_gaps++] = fn;
    pthread_mutex_unlock(&ln.mu);
    return e;
}

void db_listen_stop(void)
{
    pthread_mutex_lock(&ln.mu);
    bool running = ln.running;
    pthread_mutex_unlock(&ln.mu);
    if (!running)
        return;
    ln.stop = true;
    (void)!write(ln.wake[1], "s", 1);
    pthread_join(ln.thread, NULL);
    close(ln.wake[0]);
    close(ln.wake[1]);
    free(ln.url);
    ln.url = NULL;
    pthread_mutex_lock(&ln.mu);
    ln.running = false;
    ln.n = 0;
    ln.n_gaps = 0;
    pthread_mutex_unlock(&ln.mu);
}

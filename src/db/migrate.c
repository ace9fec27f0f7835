/*
 * Applies the embedded migrations that a database has not seen, each in its
 * own transaction, recording them in schema_migrations.
 *
 * On SQLite a column declared "BIGINT PRIMARY KEY" is created as "INTEGER
 * PRIMARY KEY": only that spelling makes the key the table's rowid. Every
 * id here is a positive 64-bit integer, so nothing changes for the code,
 * but a table is one B-tree instead of two (the rows and a separate key
 * index): a look-up by id is one descent and an insert writes one page
 * fewer, which the scan path (docs/benchmarks.md) and every list feel.
 */
#include "db/db_private.h"
#include "db/migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/* The script as SQLite should run it (see the header comment); malloc'd. */
static char *sqlite_dialect(const char *sql)
{
    static const char from[] = "BIGINT PRIMARY KEY", to[] = "INTEGER PRIMARY KEY";
    size_t n = 0, len = strlen(sql);
    for (const char *p = sql; (p = strstr(p, from)); p += sizeof from - 1)
        n++;
    char *out = malloc(len + n * (sizeof to - sizeof from) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = sql, *q; *p; p = q + sizeof from - 1) {
        if (!(q = strstr(p, from))) {
            memcpy(o, p, strlen(p) + 1);
            return out;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, sizeof to - 1);
        o += sizeof to - 1;
    }
    *o = '\0';
    return out;
}

static err run_script(db *d, const char *sql)
{
    if (d->kind != DB_SQLITE)
        return db_exec_script(d, sql);
    char *lite = sqlite_dialect(sql);
    if (!lite)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = db_exec_script(d, lite);
    free(lite);
    return e;
}

err db_migrate(db *d)
{
    err e =
        db_exec(d, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    if (e)
        return e;
    for (int i = 0; i < migrations_count; i++) {
        const struct migration *m = &migrations[i];
        db_stmt *s;
        if ((e = db_prepare(d, "SELECT 1 FROM schema_migrations WHERE version = ?", &s)))
            return e;
        db_bind_int64(s, 1, m->version);
        int rc = db_step(s);
        db_done(s);
        if (rc == DB_ROW)
            continue;
        if (rc != DB_DONE)
            return E_DB;
        if ((e = db_begin(d)))
            return e;
        if ((e = run_script(d, m->sql))) {
            db_rollback(d);
            return e;
        }
        if ((e = db_prepare(d,
                            "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (?, ?, ?)",
                            &s))) {
            db_rollback(d);
            return e;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        db_bind_int64(s, 1, m->version);
        db_bind_text(s, 2, m->name);
        db_bind_int64(s, 3, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        rc = db_step(s);
        e = rc == DB_DONE ? E_OK : db_step_err(s);
        db_done(s);
        if (e || (e = db_commit(d))) {
            db_rollback(d);
            return e;
        }
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        log_event(LOG_INFO, "migration_applied", "version", v, "name", m->name, NULL);
    }
    return E_OK;
}

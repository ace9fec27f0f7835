/*
 * Applies the embedded migrations that a database has not seen, each in its
 * own transaction, recording them in schema_migrations. Scripts are
 * written once; each driver's exec_script speaks its own dialect (a
 * driver-only step: db/migrations.h).
 */
#include "db/db_private.h"
#include "db/migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

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
        /* a step for another driver only is recorded as seen, not run */
        bool ours =
            !m->driver || !strcmp(m->driver, db_kind(d) == DB_POSTGRES ? "postgres" : "sqlite");
        if (ours && (e = db_exec_script(d, m->sql))) {
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
        e = db_run(s, NULL);
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

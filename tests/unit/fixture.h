/*
 * The database a unit-test program runs against: a temporary SQLite file,
 * removed with its WAL at the end, and, when FK_DB names one
 * (scripts/with-postgres.sh), a PostgreSQL database for the same tests.
 * Header-only: each test program is one translation unit. The functions
 * return 0 or -1, cmocka's convention for group setups.
 */
#ifndef FK_TESTS_FIXTURE_H
#define FK_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/regcode.h"
#include "db/db.h"

struct fixture_db {
    char dir[64];  /* the temporary directory */
    char path[96]; /* the SQLite file in it */
};

/* Does FK_DB name a PostgreSQL database (run the PostgreSQL group too)? */
static inline bool fixture_pg_wanted(void)
{
    const char *u = getenv("FK_DB");
    return u && (!strncmp(u, "postgres://", 11) || !strncmp(u, "postgresql://", 13));
}

/* A fresh directory /tmp/fk-test-<name>.XXXXXX and a SQLite database in it. */
static inline int fixture_sqlite_open(struct fixture_db *f, const char *name, db **d_r)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/fk-test-%s.XXXXXX", name);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    return db_open(f->path, d_r) == E_OK ? 0 : -1;
}

/* Close *d and remove the file, its WAL and shared memory, and the
 * directory (after the caller removed whatever else it put there). */
static inline void fixture_sqlite_close(struct fixture_db *f, db **d)
{
    db_close(d);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static inline int fixture_pg_open(db **d_r)
{
    return db_open(getenv("FK_DB"), d_r) == E_OK ? 0 : -1;
}

/* Regions by their codes as text (12, 15 or 18 digits), named after the
 * code, without parents: what a scope check needs. */
static inline int fixture_regions(db *d, const char *const *codes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum region_level lv;
        int64_t c = regcode_parse(codes[i], &lv);
        db_stmt *s;
        if (c <= 0 || db_prepare(d,
                                 "INSERT INTO regions (code, parent_code, level, name, created_at, "
                                 "updated_at) VALUES (?, 0, ?, ?, 0, 0)",
                                 &s) != E_OK)
            return -1;
        db_bind_int64(s, 1, c);
        db_bind_int64(s, 2, regcode_level(c));
        db_bind_text(s, 3, codes[i]);
        int rc = db_step(s);
        db_done(s);
        if (rc != DB_DONE)
            return -1;
    }
    return 0;
}

#endif

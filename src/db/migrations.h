/*
 * The numbered migrations from sql/, embedded at build time
 * (scripts/embed-sql.sh). Applied in order by db_migrate().
 *
 * A migration is written once for both drivers (each driver's exec_script
 * speaks its own dialect), except a step only one of them has a use for:
 * sql/NNN_name.pg.sql (driver "postgres", e.g. partitioning) runs on
 * PostgreSQL and is recorded as seen, without running, on SQLite.
 */
#ifndef FK_DB_MIGRATIONS_H
#define FK_DB_MIGRATIONS_H

struct migration {
    int version;
    const char *name;
    const char *driver; /* NULL: every driver; "postgres": PostgreSQL only */
    const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

#endif

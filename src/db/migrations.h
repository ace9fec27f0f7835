/*
 * The numbered migrations from sql/, embedded at build time
 * (scripts/embed-sql.sh). Applied in order by db_migrate().
 */
#ifndef FK_DB_MIGRATIONS_H
#define FK_DB_MIGRATIONS_H

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

#endif

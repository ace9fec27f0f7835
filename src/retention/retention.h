/*
 * Retention of the large datasets (docs/retention.md): access records,
 * nucleic-acid samples and the audit log are kept for a configurable number
 * of days and then removed — personal data when its purpose ends (PIPL),
 * the audit log no sooner than 180 days.
 *
 * On PostgreSQL the three tables are partitioned by China month (sql/042,
 * sql/094): the months ahead are made in advance, and a month whose whole
 * range lies before a dataset's cutoff is DROPPED, in one transaction with
 * its audit entry (the audit log's own months under signed retention
 * markers: audit_prune_partitions). On SQLite (no partitions) the rows
 * before the cutoff are deleted in batches.
 *
 *     retention_configure()                       // at start: the env, checked
 *     retention_start(db_url, 86400)              // `fangkong serve`: ahead + run, daily
 *     retention_pass(d, now, true, res)           // `fangkong retention --dry-run`
 */
#ifndef FK_RETENTION_H
#define FK_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

/* How far ahead the months are made (from now). */
#define RETENTION_AHEAD_MS (92 * 86400000LL)

/* What a dataset's partition column holds. */
enum retention_unit {
    RETAIN_MS = 1, /* epoch milliseconds */
    RETAIN_DAY     /* China day numbers (base/time.h china_day) */
};

struct retention_dataset {
    const char *name;   /* the dataset, as the CLI, the log and the audit name it */
    const char *table;  /* its table (partitioned on PostgreSQL) */
    const char *column; /* the partition column */
    enum retention_unit unit;
    const char *env; /* the variable that sets its days */
    int default_days, min_days;
    const char *label; /* Chinese, for operators */
};

enum { RETENTION_ACCESS, RETENTION_SAMPLES, RETENTION_AUDIT, RETENTION_N };

/* The three datasets, in the order above. */
extern const struct retention_dataset retention_datasets[RETENTION_N];

/*
 * Read each dataset's days from its variable (unset or empty: the
 * default). E_INPUT "retention_days" with a Chinese message naming the
 * variable when a value is not a whole number or lies below the dataset's
 * minimum (or above 36,500): `fangkong serve` then refuses to start.
 */
err retention_configure(void) MUST_USE;

/* A dataset's days (the default before retention_configure). */
int retention_days(int dataset);

/* The first instant kept of a dataset at `now`: the start of the China day
 * `days` before today, in the dataset's unit. */
int64_t retention_cutoff(int dataset, int64_t now);

/* PostgreSQL: make the missing China months covering [from_ms, to_ms] of
 * every dataset's table (sql/094 fk_partitions; rows the default partition
 * caught move into them); *made_r: months made. SQLite: nothing (0). */
err retention_partitions_ensure(db *d, int64_t from_ms, int64_t to_ms, int64_t *made_r) MUST_USE;

/* What a pass removed (or, dry, would remove) from one dataset. */
struct retention_result {
    int64_t cutoff;  /* in the dataset's unit */
    int64_t rows;    /* rows removed (dry: that would go) */
    int months;      /* partitions dropped (PostgreSQL) */
    char names[512]; /* their months, "202401,202402" ("…" past the room) */
    bool by_rows;    /* removed by DELETE (SQLite; the audit log after a clock skew) */
};

/*
 * One pass over the datasets at `now`. PostgreSQL: every month partition
 * whose whole range is before the cutoff is dropped, with the rows of the
 * default partition before it, in one transaction with a 'retention.run'
 * audit entry (dataset, months, rows); the audit log through
 * audit_prune_partitions. SQLite: rows before the cutoff deleted in batches
 * (each its own transaction), one 'retention.run' entry per dataset; the
 * audit log through audit_prune. Serialised across servers by an advisory
 * lock (PostgreSQL). dry_run: counts what would go, changes nothing.
 * Errors: the database's; audit_prune's E_CONFLICT "audit_broken".
 */
err retention_pass(db *d, int64_t now, bool dry_run,
                   struct retention_result res[RETENTION_N]) MUST_USE;

/* retention_pass, not dry; *removed_r: rows removed over all datasets. */
err retention_run(db *d, int64_t now, int64_t *removed_r) MUST_USE;

/* Ensure the months ahead (now to now + RETENTION_AHEAD_MS) once, then
 * every every_s seconds on a periodic thread: the months ahead, then a
 * retention pass. Errors: periodic_start's, the first ensure's. */
err retention_start(const char *db_url, int every_s) MUST_USE;
void retention_stop(void);

#endif

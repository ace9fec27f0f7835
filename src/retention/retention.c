/*
 * Retention of access records, samples and the audit log (retention.h,
 * docs/retention.md): the months ahead on PostgreSQL, and the daily pass
 * that drops the months past each dataset's cutoff (PostgreSQL) or deletes
 * the rows before it (SQLite), each removal audited and logged.
 */
#include "retention/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/id.h"
#include "base/log.h"
#include "base/time.h"
#include "db/periodic.h"
#include "security/audit.h"
#include "trace/trace.h"

/* The minimum of access records: the longest window contact tracing reads
 * them over (trace.h TRACE_WINDOW_MAX_DAYS): a shorter retention would make
 * a trace of that window silently miss contacts. */
const struct retention_dataset retention_datasets[RETENTION_N] = {
    [RETENTION_ACCESS] = {"access_records", "access_records", "at", RETAIN_MS,
                          "FK_RETAIN_ACCESS_DAYS", 90, TRACE_WINDOW_MAX_DAYS, "场所通行记录"},
    [RETENTION_SAMPLES] = {"nat_samples", "nat_samples", "round_day", RETAIN_DAY,
                           "FK_RETAIN_SAMPLES_DAYS", 180, 30, "核酸采样记录"},
    [RETENTION_AUDIT] = {"audit_log", "audit_log", "at", RETAIN_MS, "FK_RETAIN_AUDIT_DAYS", 180,
                         180, "审计日志"},
};

/* Each dataset's statements, literal (the table and column are not
 * parameters): rows in a range, rows before a cutoff, the same in the
 * default partition (PostgreSQL), and a batch of the rows before a cutoff
 * deleted (SQLite). */
struct ds_sql {
    const char *range, *before, *default_before, *default_delete, *delete_batch;
};
#define DS_SQL(t, c)                                                                               \
    {                                                                                              \
        "SELECT COUNT(*) FROM " t " WHERE " c " >= ? AND " c " < ?",                               \
            "SELECT COUNT(*) FROM " t " WHERE " c " < ?",                                          \
            "SELECT COUNT(*) FROM " t "_default WHERE " c " < ?",                                  \
            "DELETE FROM " t "_default WHERE " c " < ?",                                           \
            "DELETE FROM " t " WHERE id IN (SELECT id FROM " t " WHERE " c " < ? LIMIT 5000)"      \
    }
#define DELETE_BATCH 5000 /* SQLite: rows per transaction, so writers wait little (DS_SQL) */
static const struct ds_sql ds_sql[RETENTION_N] = {
    [RETENTION_ACCESS] = DS_SQL("access_records", "at"),
    [RETENTION_SAMPLES] = DS_SQL("nat_samples", "round_day"),
    [RETENTION_AUDIT] = DS_SQL("audit_log", "at"),
};

#define RETENTION_DAYS_MAX 36500

static int days_of[RETENTION_N] = {90, 180, 180};

err retention_configure(void)
{
    for (int i = 0; i < RETENTION_N; i++) {
        const struct retention_dataset *ds = &retention_datasets[i];
        const char *v = getenv(ds->env);
        if (!v || !*v) {
            days_of[i] = ds->default_days;
            continue;
        }
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < ds->min_days || n > RETENTION_DAYS_MAX)
            return err_set(E_INPUT, "retention_days", ds->env,
                           "%s 应为 %d 到 %d 之间的天数（%s至少保留 %d 天），而不是“%s”", ds->env,
                           ds->min_days, RETENTION_DAYS_MAX, ds->label, ds->min_days, v);
        days_of[i] = (int)n;
    }
    return E_OK;
}

int retention_days(int dataset)
{
    return days_of[dataset];
}

int64_t retention_cutoff(int dataset, int64_t now)
{
    int64_t day = china_day(now) - days_of[dataset];
    return retention_datasets[dataset].unit == RETAIN_DAY ? day : day * DAY_MS - CHINA_OFFSET_MS;
}

err retention_partitions_ensure(db *d, int64_t from_ms, int64_t to_ms, int64_t *made_r)
{
    if (made_r)
        *made_r = 0;
    if (db_kind(d) != DB_POSTGRES)
        return E_OK;
    for (int i = 0; i < RETENTION_N; i++) {
        db_stmt *s;
        err e = db_prepare(d, "SELECT fk_partitions(?, ?, ?)", &s);
        if (e)
            return e;
        db_bind_text(s, 1, retention_datasets[i].table);
        db_bind_int64(s, 2, from_ms);
        db_bind_int64(s, 3, to_ms);
        bool row;
        if (!(e = db_row(s, &row)) && row && made_r)
            *made_r += db_col_int64(s, 0);
        db_done(s);
        if (e)
            return e;
    }
    return E_OK;
}

/* ---- PostgreSQL: months dropped ------------------------------------------ */

/* A partition's name as fk_partitions makes it: <table>_YYYYMM. Anything
 * else under the table (an operator's own partition) is left alone, and the
 * name is safe to put in DDL. */
static bool month_name(const struct retention_dataset *ds, const char *name)
{
    size_t n = strlen(ds->table);
    if (strncmp(name, ds->table, n) || name[n] != '_' || strlen(name + n + 1) != 6)
        return false;
    for (const char *p = name + n + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

struct months {
    int ds;
    struct retention_result *r;
    bool dry;
    int64_t below; /* drop the months whose upper bound is at or below this */
    bool called;   /* months_drop ran (the audit log: no clock-skew fallback) */
};

/* Append a month's YYYYMM to r->names. */
static void name_add(struct retention_result *r, const char *part, size_t skip)
{
    size_t n = strlen(r->names);
    if (n + 12 >= sizeof r->names) {
        if (!strstr(r->names, "…"))
            snprintf(r->names + n, sizeof r->names - n, ",…");
        return;
    }
    snprintf(r->names + n, sizeof r->names - n, "%s%s", n ? "," : "", part + skip);
}

struct month {
    char part[64];
    int64_t lo, hi;
};

/* Drop (or, dry, count) the months of m->ds below m->below, counting their
 * rows, in d's transaction. */
static err months_drop(db *d, void *ctx)
{
    struct months *m = ctx;
    const struct retention_dataset *ds = &retention_datasets[m->ds];
    m->called = true;
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT part, lo, hi FROM fk_partitions_list(?) WHERE hi <= ? ORDER BY hi", &s);
    if (e)
        return e;
    db_bind_text(s, 1, ds->table);
    db_bind_int64(s, 2, m->below);
    struct month *v = NULL;
    size_t n = 0, cap = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *p = db_col_text(s, 0);
        if (!month_name(ds, p))
            continue;
        if (!GROW(&v, &cap, n, 1, 16)) {
            e = err_set(E_NOMEM, NULL, NULL, NULL);
            break;
        }
        snprintf(v[n].part, sizeof v[n].part, "%s", p);
        v[n].lo = db_col_int64(s, 1);
        v[n++].hi = db_col_int64(s, 2);
    }
    db_done(s);
    for (size_t i = 0; !e && i < n; i++) {
        int64_t rows = 0;
        if (!(e = db_prepare(d, ds_sql[m->ds].range, &s))) { /* pruned to the one month */
            db_bind_int64(s, 1, v[i].lo);
            db_bind_int64(s, 2, v[i].hi);
            if (!(e = db_row(s, &row)) && row)
                rows = db_col_int64(s, 0);
            db_done(s);
        }
        if (!e && !m->dry && !(e = db_prepare(d, "SELECT fk_partition_drop(?, ?)", &s))) {
            db_bind_text(s, 1, ds->table);
            db_bind_text(s, 2, v[i].part);
            e = db_run(s, NULL);
        }
        if (e)
            break;
        m->r->rows += rows;
        m->r->months++;
        name_add(m->r, v[i].part, strlen(ds->table) + 1);
    }
    free(v);
    return e;
}

/* The rows before the cutoff that no month partition holds (the default
 * partition's: a month never made, rows older than the migration's two
 * years), deleted (or counted) in d's transaction. */
static err default_rows(db *d, int i, int64_t cutoff, bool dry, int64_t *n_r)
{
    db_stmt *s;
    err e = db_prepare(d, dry ? ds_sql[i].default_before : ds_sql[i].default_delete, &s);
    if (e)
        return e;
    db_bind_int64(s, 1, cutoff);
    if (!dry)
        return db_run(s, n_r);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        *n_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* The 'retention.run' entry of a dataset's removal, in d's transaction. */
static err audit_run(db *d, const struct retention_dataset *ds, const struct retention_result *r)
{
    char detail[700];
    snprintf(detail, sizeof detail, "dataset=%s cutoff=%lld rows=%lld months=%s by=%s", ds->name,
             (long long)r->cutoff, (long long)r->rows, r->months ? r->names : "-",
             r->by_rows ? "delete" : "partitions");
    struct audit_entry a = {.username = "system",
                            .role = "system",
                            .ip = "local",
                            .action = "retention.run",
                            .object_type = "retention",
                            .result = "ok",
                            .detail = detail};
    return audit_log(d, &a);
}

static err pg_dataset(db *d, int i, bool dry, struct retention_result *r)
{
    const struct retention_dataset *ds = &retention_datasets[i];
    struct months m = {.ds = i, .r = r, .dry = dry, .below = r->cutoff};
    err e = db_begin(d);
    if (e)
        return e;
    int64_t left = 0;
    if (!(e = months_drop(d, &m)) && !(e = default_rows(d, i, r->cutoff, dry, &left))) {
        r->rows += left;
        if (!dry && r->rows)
            e = audit_run(d, ds, r);
    }
    if (e || dry || (e = db_commit(d))) {
        db_rollback(d);
        return e;
    }
    return E_OK;
}

/* The audit log's boundary: the upper bound of its newest month wholly
 * before the cutoff, so that the signed markers cover exactly what the
 * dropped months and the default partition hold; without such a month,
 * the lower bound of its oldest month (only the default's rows go). */
static err audit_boundary(db *d, int64_t cutoff, int64_t *b_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COALESCE(MAX(CASE WHEN hi <= ? THEN hi END), LEAST(MIN(lo), ?)) "
                       "FROM fk_partitions_list('audit_log')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, cutoff);
    db_bind_int64(s, 2, cutoff);
    bool row;
    *b_r = cutoff;
    if (!(e = db_row(s, &row)) && row && !db_col_null(s, 0))
        *b_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

/* Whether the audit log holds an entry older than `before`: the chain is
 * verified (a walk of the whole log) only on a day something goes. */
static err audit_due(db *d, int64_t before, bool *due_r)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT 1 FROM audit_log WHERE at < ? LIMIT 1", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, before);
    e = db_row(s, due_r);
    db_done(s);
    return e;
}

static err pg_audit(db *d, bool dry, struct retention_result *r)
{
    int64_t b;
    bool due;
    err e = audit_boundary(d, r->cutoff, &b);
    if (e || (e = audit_due(d, b, &due)) || !due)
        return e;
    struct months m = {.ds = RETENTION_AUDIT, .r = r, .dry = dry, .below = b};
    if (dry) { /* what would go: the months and the default's rows below b */
        if ((e = db_begin(d)))
            return e;
        int64_t left = 0;
        if (!(e = months_drop(d, &m)) && !(e = default_rows(d, RETENTION_AUDIT, b, true, &left)))
            r->rows += left;
        db_rollback(d);
        return e;
    }
    int64_t removed = 0;
    if ((e = audit_prune_partitions(d, b, months_drop, &m, &removed)))
        return e;
    r->by_rows = removed && !m.called; /* the clock-skew fallback: no drop */
    r->rows = removed;
    return E_OK;
}

/* ---- SQLite: rows deleted ------------------------------------------------ */

static err sqlite_dataset(db *d, int i, bool dry, struct retention_result *r)
{
    const struct retention_dataset *ds = &retention_datasets[i];
    r->by_rows = true;
    if (dry) {
        db_stmt *s;
        err e = db_prepare(d, ds_sql[i].before, &s);
        if (e)
            return e;
        db_bind_int64(s, 1, r->cutoff);
        bool row;
        if (!(e = db_row(s, &row)) && row)
            r->rows = db_col_int64(s, 0);
        db_done(s);
        return e;
    }
    if (i == RETENTION_AUDIT) { /* under signed markers, the chain verified first */
        bool due;
        err e = audit_due(d, r->cutoff, &due);
        return e || !due ? e : audit_prune(d, r->cutoff, &r->rows);
    }
    for (;;) {
        err e = db_begin(d);
        if (e)
            return e;
        db_stmt *s;
        int64_t n = 0;
        if (!(e = db_prepare(d, ds_sql[i].delete_batch, &s))) {
            db_bind_int64(s, 1, r->cutoff);
            e = db_run(s, &n);
        }
        r->rows += n;
        /* the entry with the last batch: every removal of a run is audited */
        if (!e && n < DELETE_BATCH && r->rows)
            e = audit_run(d, ds, r);
        if (e || (e = db_commit(d))) {
            db_rollback(d);
            r->rows -= n;
            return e;
        }
        if (n < DELETE_BATCH)
            return E_OK;
    }
}

/* ---- the pass ------------------------------------------------------------ */

err retention_pass(db *d, int64_t now, bool dry_run, struct retention_result res[RETENTION_N])
{
    memset(res, 0, RETENTION_N * sizeof *res);
    bool pg = db_kind(d) == DB_POSTGRES;
    err e;
    /* one pass at a time across the servers on one database: the second
     * finds the months gone */
    if (pg && (e = db_exec(d, "SELECT pg_advisory_lock(hashtext('fk_retention'))")))
        return e;
    e = E_OK;
    for (int i = 0; !e && i < RETENTION_N; i++) {
        res[i].cutoff = retention_cutoff(i, now);
        if (!pg)
            e = sqlite_dataset(d, i, dry_run, &res[i]);
        else if (i == RETENTION_AUDIT)
            e = pg_audit(d, dry_run, &res[i]);
        else
            e = pg_dataset(d, i, dry_run, &res[i]);
        if (!e && !dry_run && res[i].rows) {
            char rows[24], months[12];
            snprintf(rows, sizeof rows, "%lld", (long long)res[i].rows);
            snprintf(months, sizeof months, "%d", res[i].months);
            log_event(LOG_INFO, "retention_removed", "dataset", retention_datasets[i].name, "rows",
                      rows, "months", months, "names", res[i].months ? res[i].names : "", NULL);
        }
    }
    if (pg) {
        err u = db_exec(d, "SELECT pg_advisory_unlock(hashtext('fk_retention'))");
        if (!e)
            e = u;
    }
    return e;
}

err retention_run(db *d, int64_t now, int64_t *removed_r)
{
    struct retention_result res[RETENTION_N];
    *removed_r = 0;
    err e = retention_pass(d, now, false, res);
    for (int i = 0; i < RETENTION_N; i++)
        *removed_r += res[i].rows;
    return e;
}

/* ---- the daily thread ---------------------------------------------------- */

static err daily(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    int64_t made = 0;
    err e = retention_partitions_ensure(d, now, now + RETENTION_AHEAD_MS, &made);
    if (e)
        return e;
    e = retention_run(d, now, n_r);
    *n_r += made;
    return e;
}

static struct periodic retention_thread = PERIODIC_INIT("retention", daily, NULL);

err retention_start(const char *db_url, int every_s)
{
    db *d;
    err e = db_open(db_url, &d);
    if (e)
        return e;
    int64_t now = now_ms();
    e = retention_partitions_ensure(d, now, now + RETENTION_AHEAD_MS, NULL);
    db_close(&d);
    return e ? e : periodic_start(&retention_thread, db_url, every_s);
}

void retention_stop(void)
{
    periodic_stop(&retention_thread);
}

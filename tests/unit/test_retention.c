/*
 * Unit tests of retention (src/retention/, sql/093, sql/094,
 * docs/retention.md), both drivers through fixture.h.
 *
 * SQLite: the rows before each dataset's cutoff are deleted (the audit log
 * under signed markers) and the rest kept; the settings below a minimum are
 * refused. PostgreSQL (FK_DB): the months ahead are made for the three
 * tables and rows land in their month; a pass drops only the months wholly
 * before the cutoff, keeps the rest, and leaves an audit chain that
 * verifies with its markers; a clock that went back on one node makes that
 * pass delete the audit prefixes row by row instead; the migration over
 * unpartitioned tables with rows keeps every row and index.
 *
 * Times: entries of the audit log take their time from their id, which only
 * moves forward in a process, so the tests write at real time and later
 * (clock_shift) and run the passes at a "now" in the future. The clock that
 * went back is a child process forked before any id was made: its ids start
 * from the real clock while the parent's are already months ahead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/id.h"
#include "base/time.h"
#include "fixture.h"
#include "nat/nat.h"
#include "retention/retention.h"
#include "security/audit.h"
#include "security/crypto.h"

#define DAY DAY_MS

static struct fixture_db F;
static db *D;
static int64_t T0; /* the real time at start */
static int child_go[2] = {-1, -1}, child_done[2] = {-1, -1};
static pid_t child = -1;

static int64_t count(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(db_query_int64(D, sql, &n), E_OK);
    return n;
}

static int64_t count_at(const char *sql, int64_t v)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    db_bind_int64(s, 1, v);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    int64_t n = db_col_int64(s, 0);
    db_done(s);
    return n;
}

static void add_access(int64_t id, int64_t at)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO access_records (id, venue_id, region_code, person_id, "
                                "direction, at, verdict, method, created_at) "
                                "VALUES (?, 1, 440305001001, 7, 'in', ?, 'pass', 'manual', ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, at);
    db_bind_int64(s, 3, at);
    assert_int_equal(db_run(s, NULL), E_OK);
}

static void add_sample(int64_t id, int64_t at, int64_t plan)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO nat_samples (id, person_id, tube_id, site_id, "
                                "region_code, plan_id, street_code, staff_id, method, at, day, "
                                "round_day) VALUES (?, 7, 1, 1, 440305001001, ?, 440305001, 1, "
                                "'code', ?, ?, ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, plan);
    db_bind_int64(s, 3, at);
    db_bind_int64(s, 4, china_day(at));
    db_bind_int64(s, 5, nat_sample_round_day(plan, at));
    assert_int_equal(db_run(s, NULL), E_OK);
}

static void log_entries(int node, int64_t shift, int n)
{
    id_set_node(node);
    clock_shift(shift);
    for (int i = 0; i < n; i++) {
        struct audit_entry a = {.username = "tester",
                                .role = "admin",
                                .ip = "127.0.0.1",
                                .action = "person.read",
                                .object_type = "person",
                                .object_id = 100 + i,
                                .result = "ok"};
        assert_int_equal(audit_log(D, &a), E_OK);
    }
    clock_shift(0);
    id_set_node(0);
}

static void verify_intact(int64_t pruned)
{
    struct audit_verify_result v;
    assert_int_equal(audit_verify(D, &v), E_OK);
    assert_string_equal(v.code, "");
    if (pruned >= 0)
        assert_int_equal(v.pruned, pruned);
}

/* The table a row of `table` with id lives in (PostgreSQL). */
static void where(const char *table, int64_t id, const char *want)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT tableoid::regclass::text FROM %s WHERE id = ?", table);
    db_stmt *s;
    assert_int_equal(db_prepare(D, sql, &s), E_OK);
    db_bind_int64(s, 1, id);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    assert_string_equal(db_col_text(s, 0), want);
    db_done(s);
}

/* <table>_YYYYMM of the China month of `at`. */
static const char *month(const char *table, int64_t at)
{
    static char name[64];
    time_t t = (time_t)((at + CHINA_OFFSET_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(name, sizeof name, "%s_%04d%02d", table, tm.tm_year + 1900, tm.tm_mon + 1);
    return name;
}

static bool exists(const char *rel)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, "SELECT to_regclass(?) IS NOT NULL", &s), E_OK);
    db_bind_text(s, 1, rel);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    bool yes = row && db_col_int64(s, 0);
    db_done(s);
    return yes;
}

/* ---- settings ------------------------------------------------------------ */

static void settings(void **state)
{
    (void)state;
    assert_int_equal(retention_configure(), E_OK);
    assert_int_equal(retention_days(RETENTION_ACCESS), 90);
    assert_int_equal(retention_days(RETENTION_SAMPLES), 180);
    assert_int_equal(retention_days(RETENTION_AUDIT), 180);
    setenv("FK_RETAIN_AUDIT_DAYS", "179", 1); /* below the minimum: refused */
    assert_int_equal(retention_configure(), E_INPUT);
    assert_string_equal(err_last()->field, "FK_RETAIN_AUDIT_DAYS");
    assert_non_null(strstr(err_last()->message, "180"));
    setenv("FK_RETAIN_AUDIT_DAYS", "365", 1);
    setenv("FK_RETAIN_ACCESS_DAYS", "20", 1); /* shorter than a trace window */
    assert_int_equal(retention_configure(), E_INPUT);
    setenv("FK_RETAIN_ACCESS_DAYS", "90x", 1);
    assert_int_equal(retention_configure(), E_INPUT);
    setenv("FK_RETAIN_ACCESS_DAYS", "120", 1);
    assert_int_equal(retention_configure(), E_OK);
    assert_int_equal(retention_days(RETENTION_ACCESS), 120);
    assert_int_equal(retention_days(RETENTION_AUDIT), 365);
    /* the cutoff: the start of the China day `days` before today */
    int64_t now = 1796054400000LL + 5 * 3600000LL;
    assert_int_equal(retention_cutoff(RETENTION_ACCESS, now), china_day_start(now) - 120 * DAY);
    assert_int_equal(retention_cutoff(RETENTION_SAMPLES, now), china_day(now) - 180);
    unsetenv("FK_RETAIN_AUDIT_DAYS");
    unsetenv("FK_RETAIN_ACCESS_DAYS");
    assert_int_equal(retention_configure(), E_OK);
    assert_int_equal(retention_days(RETENTION_ACCESS), 90);
}

/* ---- SQLite: rows deleted ------------------------------------------------ */

static void sqlite_rows(void **state)
{
    (void)state;
    if (db_kind(D) == DB_POSTGRES)
        skip();
    int64_t now = T0 + 400 * DAY; /* the pass's now: everything before T0 + 220 d goes */
    int64_t cut = retention_cutoff(RETENTION_ACCESS, now);
    add_access(1, cut - 1);
    add_access(2, cut - 300 * DAY);
    add_access(3, cut); /* the cutoff's first ms: kept */
    add_sample(11, now - 181 * DAY, 0);
    add_sample(12, now - 10 * DAY, 0);
    log_entries(0, 0, 4);
    int64_t before = count("SELECT COUNT(*) FROM audit_log");
    struct retention_result r[RETENTION_N];
    assert_int_equal(retention_pass(D, now, true, r), E_OK); /* dry: nothing changes */
    assert_int_equal(r[RETENTION_ACCESS].rows, 2);
    assert_int_equal(r[RETENTION_SAMPLES].rows, 1);
    assert_int_equal(r[RETENTION_AUDIT].rows, before);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log"), before);
    int64_t removed = 0;
    assert_int_equal(retention_run(D, now, &removed), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records WHERE id = 3"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples WHERE id = 12"), 1);
    /* the audit log under markers, then the run's entries: 2 'retention.run'
     * and the 'audit.prune' */
    /* access 2, samples 1, then the audit log up to the pass: what was
     * there and the two 'retention.run' entries just written */
    assert_int_equal(removed, 2 + 1 + before + 2);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run'"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.prune'"), 1);
    verify_intact(-1);
    /* a second pass finds only the first one's 'audit.prune' (written at
     * the real clock: before this future cutoff) */
    assert_int_equal(retention_run(D, now, &removed), E_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), 1);
    verify_intact(-1);
}

/* ---- PostgreSQL ---------------------------------------------------------- */

static void months_ahead(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    int64_t made = -1;
    assert_int_equal(retention_partitions_ensure(D, T0, T0 + RETENTION_AHEAD_MS, &made), E_OK);
    assert_in_range(made, 0, 3 * 4);
    const char *tables[] = {"access_records", "nat_samples", "audit_log"};
    for (int i = 0; i < 3; i++) {
        assert_true(exists(month(tables[i], T0)));
        assert_true(exists(month(tables[i], T0 + 80 * DAY)));
        assert_false(exists(month(tables[i], T0 + 200 * DAY)));
    }
    assert_int_equal(retention_partitions_ensure(D, T0, T0 + RETENTION_AHEAD_MS, &made), E_OK);
    assert_int_equal(made, 0);
    /* the months the passes below need: a year back to 400 days ahead */
    assert_int_equal(retention_partitions_ensure(D, T0 - 365 * DAY, T0 + 400 * DAY, &made), E_OK);
    assert_in_range(made, 45, 80);
    add_access(21, T0);
    add_access(22, T0 + 80 * DAY);
    where("access_records", 21, month("access_records", T0));
    where("access_records", 22, month("access_records", T0 + 80 * DAY));
    /* a sample's month is its round day's: the day its plan was made */
    int64_t plan = id_min_at(T0 - 70 * DAY) + 3;
    add_sample(31, T0, plan);
    add_sample(32, T0, 0);
    where("nat_samples", 31, month("nat_samples", T0 - 70 * DAY));
    where("nat_samples", 32, month("nat_samples", T0));
    log_entries(0, 0, 1);
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "SELECT tableoid::regclass::text FROM audit_log WHERE id = "
                                "(SELECT MAX(id) FROM audit_log)",
                                &s),
                     E_OK);
    bool row;
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    assert_string_equal(db_col_text(s, 0), month("audit_log", T0));
    db_done(s);
}

static void drops_months(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    /* a pass 150 days ahead: access records before T0 + 60 d go, samples
     * before T0 - 30 d (whole months only) */
    int64_t now = T0 + 150 * DAY;
    int64_t acut = retention_cutoff(RETENTION_ACCESS, now);
    add_access(23, T0 - 200 * DAY);
    add_access(24, acut + 1); /* in the cutoff's month: kept */
    add_sample(33, T0 - 300 * DAY, 0);
    int64_t before = count("SELECT COUNT(*) FROM access_records");
    struct retention_result r[RETENTION_N];
    assert_int_equal(retention_pass(D, now, true, r), E_OK);
    int64_t would = r[RETENTION_ACCESS].rows;
    int would_months = r[RETENTION_ACCESS].months;
    assert_true(exists(month("access_records", T0))); /* dry: nothing dropped */
    assert_int_equal(retention_pass(D, now, false, r), E_OK);
    assert_int_equal(r[RETENTION_ACCESS].rows, would);
    assert_int_equal(r[RETENTION_ACCESS].months, would_months);
    assert_false(r[RETENTION_ACCESS].by_rows);
    /* ids 21 (T0) and 23 (T0 - 200 d) were in dropped months */
    assert_false(exists(month("access_records", T0)));
    assert_false(exists(month("access_records", T0 - 200 * DAY)));
    assert_true(exists(month("access_records", acut)));
    assert_int_equal(count("SELECT COUNT(*) FROM access_records WHERE id IN (21, 23)"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records WHERE id IN (22, 24)"), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM access_records"), before - 2);
    assert_int_equal(r[RETENTION_ACCESS].rows, 2);
    assert_in_range(r[RETENTION_ACCESS].months, 12, 17);
    assert_non_null(strstr(r[RETENTION_ACCESS].names, month("access_records", T0) + 15));
    /* samples: the plan's (its round day 70 days back) and 33 gone, today's kept */
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples WHERE id IN (31, 33)"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples WHERE id = 32"), 1);
    assert_true(exists(month("nat_samples", T0)));
    /* each dataset's removal audited with its months */
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run' AND "
                           "detail LIKE 'dataset=access_records %rows=2 months=%'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run' AND "
                           "detail LIKE 'dataset=nat_samples %'"),
                     1);
    verify_intact(-1);
    /* again: nothing more */
    int64_t removed = -1;
    assert_int_equal(retention_run(D, now, &removed), E_OK);
    assert_int_equal(removed, 0);
}

/* The audit boundary a pass at `now` uses: the newest month wholly before
 * the cutoff. */
static int64_t audit_boundary(int64_t now)
{
    return count_at("SELECT MAX(hi) FROM fk_partitions_list('audit_log') WHERE hi <= ?",
                    retention_cutoff(RETENTION_AUDIT, now));
}

static void child_write(void)
{
    char c = 'q';
    if (write(child_go[1], "w", 1) != 1 || read(child_done[0], &c, 1) != 1)
        fail();
    assert_int_equal(c, 'k');
}

static void audit_skew_then_drop(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    /* node 0: entries now; node 7: one 100 days ahead, one back at the real
     * clock (the child: a clock that went back), one ahead again */
    log_entries(0, 0, 3);
    log_entries(7, 100 * DAY, 1);
    child_write();
    log_entries(7, 100 * DAY, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE node = 7"), 3);
    verify_intact(0);
    int64_t now = T0 + 215 * DAY; /* cutoff T0 + 35 d: between the two clocks */
    int64_t b = audit_boundary(now);
    assert_true(b > T0 && b < T0 + 100 * DAY);
    int64_t old0 = count_at("SELECT COUNT(*) FROM audit_log WHERE node = 0 AND at < ?", b);
    assert_true(old0 >= 3);
    struct retention_result r[RETENTION_N];
    assert_int_equal(retention_pass(D, now, false, r), E_OK);
    /* node 7's entry from the real clock is older than the boundary after
     * a newer one: no month dropped, node 0's prefix deleted row by row */
    assert_true(r[RETENTION_AUDIT].by_rows);
    assert_int_equal(r[RETENTION_AUDIT].months, 0);
    assert_int_equal(r[RETENTION_AUDIT].rows, old0);
    assert_true(exists(month("audit_log", T0)));
    assert_int_equal(count_at("SELECT COUNT(*) FROM audit_log WHERE node = 0 AND at < ?", b), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE node = 7"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.prune' AND "
                           "detail LIKE '%by=delete:clock_skew'"),
                     1);
    verify_intact(old0);

    /* later: everything of node 7 is old, node 0 has entries 300 days ahead */
    log_entries(0, 300 * DAY, 2);
    now = T0 + 380 * DAY; /* cutoff T0 + 200 d */
    b = audit_boundary(now);
    assert_true(b > T0 + 100 * DAY && b < T0 + 300 * DAY);
    int64_t old = count_at("SELECT COUNT(*) FROM audit_log WHERE at < ?", b);
    int64_t kept = count_at("SELECT COUNT(*) FROM audit_log WHERE at >= ?", b);
    assert_true(old >= 5);
    assert_int_equal(retention_pass(D, now, false, r), E_OK);
    assert_false(r[RETENTION_AUDIT].by_rows);
    assert_int_equal(r[RETENTION_AUDIT].rows, old);
    assert_in_range(r[RETENTION_AUDIT].months, 15, 22);
    assert_false(exists(month("audit_log", T0)));
    assert_false(exists(month("audit_log", T0 + 100 * DAY)));
    assert_true(exists(month("audit_log", T0 + 300 * DAY)));
    assert_int_equal(count_at("SELECT COUNT(*) FROM audit_log WHERE at < ?", b), 0);
    /* the kept entries, the 'retention.run' entries and the 'audit.prune' */
    assert_true(count("SELECT COUNT(*) FROM audit_log") >= kept + 1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.prune' AND "
                           "detail LIKE '%by=partitions'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_marker WHERE node = 7"), 1);
    verify_intact(old0 + old);
}

/* The migration over unpartitioned audit_log and nat_samples with rows (as
 * every database before sql/094 has them): the rows and the indexes
 * survive, the chain still verifies. */
static void migration_keeps_rows(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    add_sample(36, T0, 0); /* its month was dropped above: in the default */
    int64_t audit = count("SELECT COUNT(*) FROM audit_log");
    int64_t samples = count("SELECT COUNT(*) FROM nat_samples");
    assert_true(audit > 0 && samples > 0);
    assert_int_equal(
        db_exec_script(D, "ALTER TABLE audit_log RENAME TO al_p;"
                          "CREATE TABLE audit_log (LIKE al_p INCLUDING DEFAULTS);"
                          "INSERT INTO audit_log SELECT * FROM al_p;"
                          "DROP TABLE al_p;"
                          "ALTER TABLE audit_log ADD PRIMARY KEY (id);"
                          "ALTER TABLE audit_log ADD UNIQUE (node, seq);"
                          "CREATE INDEX audit_log_at ON audit_log (at);"
                          "CREATE INDEX audit_log_user ON audit_log (user_id, id);"
                          "CREATE INDEX audit_log_object ON audit_log (object_id) "
                          "WHERE object_id <> 0;"
                          "ALTER TABLE nat_samples RENAME TO ns_p;"
                          "CREATE TABLE nat_samples (LIKE ns_p INCLUDING DEFAULTS,"
                          " PRIMARY KEY (id));"
                          "INSERT INTO nat_samples SELECT * FROM ns_p;"
                          "DROP TABLE ns_p;"
                          "CREATE INDEX nat_samples_tube ON nat_samples (tube_id, at);"
                          "CREATE UNIQUE INDEX nat_samples_first ON nat_samples (person_id, "
                          "visitor_id, plan_id, round_day) WHERE duplicate = 0;"
                          "DELETE FROM schema_migrations WHERE version = 94;"),
        E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_class WHERE relname IN ('audit_log', "
                           "'nat_samples') AND relkind = 'p'"),
                     0);
    assert_int_equal(db_migrate(D), E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM audit_log"), audit);
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples"), samples);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_class WHERE relname IN ('audit_log', "
                           "'nat_samples') AND relkind = 'p'"),
                     2);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'audit_log' AND "
                           "indexname IN ('audit_log_at', 'audit_log_user', 'audit_log_object',"
                           " 'audit_log_pkey', 'audit_log_node_seq_key')"),
                     5);
    /* the unique key of the chain holds the partition key: (node, seq, at) */
    assert_int_equal(count("SELECT COUNT(*) FROM pg_indexes WHERE indexname = "
                           "'audit_log_node_seq_key' AND indexdef LIKE '%UNIQUE%(node, seq, at)'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'nat_samples' AND "
                           "indexname IN ('nat_samples_tube', 'nat_samples_first', "
                           "'nat_samples_pkey')"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM pg_indexes WHERE indexname = "
                           "'nat_samples_first' AND indexdef LIKE '%UNIQUE%round_day) WHERE%'"),
                     1);
    /* rows in their months, the chain intact, new entries and samples land */
    where("nat_samples", 36, month("nat_samples", T0));
    verify_intact(-1);
    log_entries(0, 0, 1);
    add_sample(34, T0 + DAY, 0);
    verify_intact(-1);
    /* the first-sample rule still has its conflict target */
    assert_int_equal(db_exec(D, "INSERT INTO nat_samples (id, person_id, tube_id, site_id, "
                                "region_code, street_code, staff_id, method, at, day, round_day) "
                                "SELECT 35, person_id, 2, 1, region_code, street_code, 1, 'code', "
                                "at, day, round_day FROM nat_samples WHERE id = 34 "
                                "ON CONFLICT (person_id, visitor_id, plan_id, round_day) "
                                "WHERE duplicate = 0 DO NOTHING"),
                     E_OK);
    assert_int_equal(count("SELECT COUNT(*) FROM nat_samples WHERE id = 35"), 0);
}

/* ---- groups ---------------------------------------------------------------- */

static int reset_tables(void)
{
    return db_exec(D, "DELETE FROM access_records") || db_exec(D, "DELETE FROM nat_samples") ? -1
                                                                                             : 0;
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "retention", &D) || db_migrate(D))
        return -1;
    return reset_tables();
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    if (fixture_pg_open(&D) || db_migrate(D))
        return -1;
    return reset_tables();
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

/* The child: a process whose ids start from the real clock, forked before
 * the parent made any; on 'w' it appends one entry to node 7's chain. */
static void child_main(void)
{
    char c;
    while (read(child_go[0], &c, 1) == 1 && c == 'w') {
        db *d;
        char ok = 'f';
        if (!db_open(getenv("FK_DB"), &d)) {
            id_set_node(7);
            struct audit_entry a = {.username = "tester",
                                    .role = "admin",
                                    .ip = "127.0.0.1",
                                    .action = "person.read",
                                    .object_type = "person",
                                    .result = "ok"};
            if (!audit_log(d, &a))
                ok = 'k';
            db_close(&d);
        }
        if (write(child_done[1], &ok, 1) != 1)
            break;
    }
    _exit(0);
}

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x3C ^ i);
    keys_set_master(master);
    audit_configure(NULL, 60);
    T0 = now_ms();
    if (fixture_pg_wanted()) {
        if (pipe(child_go) || pipe(child_done))
            return 1;
        if ((child = fork()) == 0) {
            close(child_go[1]); /* so that the parent's close ends it */
            close(child_done[0]);
            child_main();
        }
        close(child_go[0]);
        close(child_done[1]);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings),
        cmocka_unit_test(sqlite_rows),
        cmocka_unit_test(months_ahead),
        cmocka_unit_test(drops_months),
        cmocka_unit_test(audit_skew_then_drop),
        cmocka_unit_test(migration_keeps_rows),
    };
    int failed = cmocka_run_group_tests_name("retention/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted()) {
        failed += cmocka_run_group_tests_name("retention/postgres", tests, open_pg, close_pg);
        close(child_go[1]);
        waitpid(child, NULL, 0);
    }
    return failed ? 1 : 0;
}

/*
 * Unit tests of leases (db/lease.h, sql/086) on both drivers: the one
 * statement that takes a free, expired or own lease and leaves a live one
 * of another instance alone; the generation a takeover bumps; the fence
 * that refuses work after a takeover (and, on PostgreSQL, holds a takeover
 * back until the work commits); the release; a periodic sweep that skips
 * while another instance holds its lease and takes it once expired; and
 * the sweep of the jobs a dead server left (job/job.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/id.h"
#include "db/lease.h"
#include "db/periodic.h"
#include "fixture.h"
#include "job/job.h"

static struct fixture_db F;
static db *D;
static const char *URL;

static void sql(const char *text)
{
    assert_int_equal(db_exec(D, text), E_OK);
}

static int64_t count(const char *text)
{
    int64_t v = -1;
    assert_int_equal(db_query_int64(D, text, &v), E_OK);
    return v;
}

/* Make lease `name` another instance's, live until `expires_at`. */
static void foreign(const char *name, int64_t expires_at, int64_t generation)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "UPDATE leases SET holder = 'other', host = 'elsewhere', pid = 1, "
                                "expires_at = ?, generation = ? WHERE name = ?",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, expires_at);
    db_bind_int64(s, 2, generation);
    db_bind_text(s, 3, name);
    int64_t n = 0;
    assert_int_equal(db_run(s, &n), E_OK);
    assert_int_equal(n, 1);
}

static void identity(void **state)
{
    (void)state;
    const char *id = lease_instance();
    assert_int_equal(strlen(id), 32);
    assert_true(strspn(id, "0123456789abcdef") == 32);
    assert_ptr_equal(lease_instance(), id); /* one per process */
    assert_true(*lease_host());
    assert_string_equal(lease_beating(), ""); /* no heartbeat here */
}

static void acquire_renew_takeover(void **state)
{
    (void)state;
    sql("DELETE FROM leases");
    int64_t now = now_ms(), gen = -1;
    /* free: taken at generation 1 */
    assert_int_equal(lease_acquire(D, "sweep_a", now, 3000, &gen), E_OK);
    assert_int_equal(gen, 1);
    /* ours: renewed, same generation, later expiry, acquired_at kept */
    assert_int_equal(lease_acquire(D, "sweep_a", now + 1000, 3000, &gen), E_OK);
    assert_int_equal(gen, 1);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT expires_at FROM leases WHERE name = 'sweep_a' AND acquired_at = %lld AND "
             "renewed_at = %lld",
             (long long)now, (long long)now + 1000);
    assert_int_equal(count(q), now + 4000);
    /* another instance's live lease: left alone (the positive control:
     * the same call took it while it was ours) */
    foreign("sweep_a", now + 10000, 1);
    assert_int_equal(lease_acquire(D, "sweep_a", now + 2000, 3000, &gen), E_OK);
    assert_int_equal(gen, 0);
    assert_int_equal(count("SELECT COUNT(*) FROM leases WHERE name = 'sweep_a' AND holder = "
                           "'other' AND host = 'elsewhere' AND pid = 1"),
                     1);
    /* expired: taken over, generation bumped, our host and pid */
    assert_int_equal(lease_acquire(D, "sweep_a", now + 10001, 3000, &gen), E_OK);
    assert_int_equal(gen, 2);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM leases WHERE name = 'sweep_a' AND holder = '%s' "
             "AND generation = 2 AND pid > 1 AND acquired_at = %lld",
             lease_instance(), (long long)now + 10001);
    assert_int_equal(count(q), 1);
    /* leases are independent */
    assert_int_equal(lease_acquire(D, "sweep_b", now, 3000, &gen), E_OK);
    assert_int_equal(gen, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM leases"), 2);
}

static void fence(void **state)
{
    (void)state;
    sql("DELETE FROM leases");
    sql("CREATE TABLE IF NOT EXISTS lease_work (n BIGINT NOT NULL)");
    sql("DELETE FROM lease_work");
    int64_t gen = 0;
    assert_int_equal(lease_acquire(D, "fenced", now_ms(), 60000, &gen), E_OK);
    assert_int_equal(gen, 1);
    /* held: the work commits */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(lease_fence(D, "fenced", gen), E_OK);
    sql("INSERT INTO lease_work (n) VALUES (1)");
    assert_int_equal(db_commit(D), E_OK);
    /* taken over (generation 2, another holder): the old holder's fence fails */
    foreign("fenced", now_ms() + 60000, 2);
    assert_int_equal(db_begin(D), E_OK);
    err e = lease_fence(D, "fenced", gen);
    assert_int_equal(e, E_CONFLICT);
    assert_string_equal(err_last()->slug, "lease_lost");
    db_rollback(D);
    /* our own id at a stale generation is refused too */
    assert_int_equal(lease_acquire(D, "fenced", now_ms() + 60001, 60000, &gen), E_OK);
    assert_int_equal(gen, 3);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(lease_fence(D, "fenced", 1), E_CONFLICT);
    assert_int_equal(lease_fence(D, "fenced", 3), E_OK);
    db_rollback(D);
    assert_int_equal(count("SELECT COUNT(*) FROM lease_work"), 1);
    assert_int_equal(lease_fence(D, "nothing", 1), E_CONFLICT);
}

/* PostgreSQL: the fence's FOR SHARE holds a takeover back until the
 * work's transaction ends. */
static void fence_blocks_takeover(void **state)
{
    (void)state;
    if (db_kind(D) != DB_POSTGRES)
        skip();
    sql("DELETE FROM leases");
    int64_t gen = 0;
    assert_int_equal(lease_acquire(D, "held", now_ms(), 60000, &gen), E_OK);
    db *d2;
    assert_int_equal(db_open(URL, &d2), E_OK);
    db_set_wait(d2, 300);
    const char *take = "UPDATE leases SET holder = 'other', generation = generation + 1 WHERE "
                       "name = 'held'";
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(lease_fence(D, "held", gen), E_OK);
    err e = db_exec(d2, take); /* waits for the fence's lock, gives up */
    assert_int_equal(e, E_UNAVAILABLE);
    assert_int_equal(db_commit(D), E_OK);
    assert_int_equal(db_exec(d2, take), E_OK); /* free once the work committed */
    db_close(&d2);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(lease_fence(D, "held", gen), E_CONFLICT);
    db_rollback(D);
}

static void release(void **state)
{
    (void)state;
    sql("DELETE FROM leases");
    int64_t gen = 0, now = now_ms();
    assert_int_equal(lease_acquire(D, "mine", now, 60000, &gen), E_OK);
    assert_int_equal(lease_acquire(D, "theirs", now, 60000, &gen), E_OK);
    foreign("theirs", now + 60000, 1);
    assert_int_equal(lease_release(D, "mine"), E_OK);
    assert_int_equal(lease_release(D, "theirs"), E_OK); /* not ours: untouched */
    assert_int_equal(count("SELECT expires_at FROM leases WHERE name = 'mine'"), 0);
    assert_int_equal(count("SELECT expires_at FROM leases WHERE name = 'theirs'"), now + 60000);
    /* a released lease is free for anyone at once */
    foreign("mine", 0, 1);
    assert_int_equal(lease_acquire(D, "mine", now, 60000, &gen), E_OK);
    assert_int_equal(gen, 2);
}

static _Atomic int runs;

static err counted(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)now;
    (void)ctx;
    (void)n_r;
    atomic_fetch_add(&runs, 1);
    /* a leased run passes its fence */
    return periodic_fence(d);
}

static void wait_ms(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void periodic_leased(void **state)
{
    (void)state;
    sql("DELETE FROM leases");
    atomic_store(&runs, 0);
    int64_t gen = 0;
    /* another live instance holds the sweep's lease */
    assert_int_equal(lease_acquire(D, "lease_test", now_ms(), 60000, &gen), E_OK);
    foreign("lease_test", now_ms() + 60000, 5);
    static struct periodic p = PERIODIC_INIT("lease_test", counted, NULL);
    assert_int_equal(periodic_start(&p, URL, 1), E_OK);
    char m[4096];
    periodic_metrics(m, sizeof m);
    assert_non_null(strstr(m, "fangkong_lease_held{lease=\"lease_test\"} 0\n"));
    wait_ms(2300); /* two ticks, both skipped */
    assert_int_equal(atomic_load(&runs), 0);
    assert_false(atomic_load(&p.held));
    /* its holder died: the lease expires, the next tick takes it */
    foreign("lease_test", 0, 5);
    for (int i = 0; i < 50 && atomic_load(&runs) < 2; i++)
        wait_ms(100);
    assert_true(atomic_load(&runs) >= 2); /* taken, then renewed */
    assert_true(atomic_load(&p.held));
    char q[256];
    snprintf(q, sizeof q,
             "SELECT generation FROM leases WHERE name = 'lease_test' AND holder = '%s' AND "
             "expires_at > %lld",
             lease_instance(), (long long)now_ms());
    assert_int_equal(count(q), 6);
    periodic_metrics(m, sizeof m);
    assert_non_null(strstr(m, "fangkong_lease_held{lease=\"lease_test\"} 1\n"));
    assert_non_null(strstr(m, "# TYPE fangkong_lease_runs_total counter\n"));
    assert_non_null(strstr(m, "fangkong_lease_runs_total{lease=\"lease_test\"} "));
    /* a tiny buffer is cut at a line's end, never mid-line */
    size_t n = periodic_metrics(m, 40);
    assert_true(n < 40 && (n == 0 || m[n - 1] == '\n'));
    /* a clean stop gives it up */
    periodic_stop(&p);
    assert_int_equal(count("SELECT expires_at FROM leases WHERE name = 'lease_test'"), 0);
    periodic_metrics(m, sizeof m);
    assert_null(strstr(m, "lease_test"));
    /* a per-server sweep runs with no lease at all */
    atomic_store(&runs, 0);
    static struct periodic l = PERIODIC_LOCAL("lease_local", counted, NULL);
    assert_int_equal(periodic_start(&l, URL, 1), E_OK);
    for (int i = 0; i < 30 && atomic_load(&runs) < 1; i++)
        wait_ms(100);
    periodic_stop(&l);
    assert_true(atomic_load(&runs) >= 1);
    assert_int_equal(count("SELECT COUNT(*) FROM leases WHERE name = 'lease_local'"), 0);
}

/* The connection is made at the first tick, not at the start: a sweep
 * stopped before its first period never connected; one whose database
 * cannot be opened starts, runs nothing, and stops cleanly. */
static void periodic_connects_at_first_tick(void **state)
{
    (void)state;
    atomic_store(&runs, 0);
    static struct periodic p = PERIODIC_LOCAL("lease_lazy", counted, NULL);
    assert_int_equal(periodic_start(&p, URL, 1), E_OK);
    assert_null(p.d);
    for (int i = 0; i < 30 && atomic_load(&runs) < 1; i++)
        wait_ms(100);
    assert_true(atomic_load(&runs) >= 1);
    assert_non_null(p.d);
    periodic_stop(&p);
    assert_null(p.d);
    atomic_store(&runs, 0);
    static struct periodic q = PERIODIC_LOCAL("lease_nodb", counted, NULL);
    assert_int_equal(periodic_start(&q, "/nonexistent/fangkong/test.db", 1), E_OK);
    wait_ms(1300); /* a tick: the open fails, nothing runs */
    assert_int_equal(atomic_load(&runs), 0);
    assert_null(q.d);
    periodic_stop(&q);
}

static void job_row(int64_t id, const char *status, const char *instance)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D,
                                "INSERT INTO jobs (id, kind, status, user_id, region_code, "
                                "created_at, updated_at, instance) VALUES (?, 'code.recompute', ?, "
                                "1, 110101000000, 0, 0, ?)",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, status);
    db_bind_text(s, 3, instance);
    assert_int_equal(db_run(s, NULL), E_OK);
}

static void orphans(void **state)
{
    (void)state;
    sql("DELETE FROM leases");
    sql("DELETE FROM jobs");
    int64_t now = now_ms(), gen = 0;
    char beat[48];
    snprintf(beat, sizeof beat, "server.%s", lease_instance());
    assert_int_equal(lease_acquire(D, beat, now, 30000, &gen), E_OK); /* we are alive */
    assert_int_equal(lease_acquire(D, "server.gone", now - 200000000, 30000, &gen), E_OK);
    assert_int_equal(lease_acquire(D, "server.late", now - 60000, 30000, &gen), E_OK);
    job_row(1, "running", "gone");           /* its server died two days ago */
    job_row(2, "queued", "late");            /* its heartbeat expired 30 s ago */
    job_row(3, "running", "never");          /* no heartbeat ever */
    job_row(4, "running", lease_instance()); /* ours, alive */
    job_row(5, "queued", "");                /* a tool's, or from before 086 */
    job_row(6, "done", "gone");              /* finished: left alone */
    int64_t n = -1;
    assert_int_equal(job_sweep_orphans(D, now, &n), E_OK);
    assert_int_equal(n, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE status = 'failed' AND result = "
                           "'{\"error\":\"server_lost\"}' AND id IN (1, 2, 3)"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE id = 4 AND status = 'running'"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE id = 5 AND status = 'queued'"), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM jobs WHERE id = 6 AND status = 'done'"), 1);
    /* the heartbeat of a server dead a day ago is gone, the others stay */
    assert_int_equal(count("SELECT COUNT(*) FROM leases WHERE name = 'server.gone'"), 0);
    assert_int_equal(count("SELECT COUNT(*) FROM leases WHERE name LIKE 'server.%'"), 2);
    /* again: nothing more to do */
    assert_int_equal(job_sweep_orphans(D, now, &n), E_OK);
    assert_int_equal(n, 0);
    /* our heartbeat lapses too: our running job is now an orphan */
    assert_int_equal(job_sweep_orphans(D, now + 31000, &n), E_OK);
    assert_int_equal(n, 1);
}

static int open_sqlite(void **state)
{
    (void)state;
    if (fixture_sqlite_open(&F, "lease", &D))
        return -1;
    URL = F.path;
    return db_migrate(D) == E_OK ? 0 : -1;
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
    URL = getenv("FK_DB");
    return fixture_pg_open(&D) || db_migrate(D) ? -1 : 0;
}

static int close_pg(void **state)
{
    (void)state;
    if (D) {
        err_ignore(db_exec(D, "DROP TABLE IF EXISTS lease_work"));
        err_ignore(db_exec(D, "DELETE FROM leases"));
        err_ignore(db_exec(D, "DELETE FROM jobs"));
    }
    db_close(&D);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity),
        cmocka_unit_test(acquire_renew_takeover),
        cmocka_unit_test(fence),
        cmocka_unit_test(fence_blocks_takeover),
        cmocka_unit_test(release),
        cmocka_unit_test(periodic_leased),
        cmocka_unit_test(periodic_connects_at_first_tick),
        cmocka_unit_test(orphans),
    };
    int failed = cmocka_run_group_tests_name("lease/sqlite", tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("lease/postgres", tests, open_pg, close_pg);
    return failed ? 1 : 0;
}

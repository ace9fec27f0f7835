/*
 * The scan policy (access_evaluate): colours, fever threshold, the
 * per-person limit, and the alerts each implies. The group-commit writer's
 * queue cap (access_submit answers "queue_full" when the writer is behind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "access/access.h"
#include "venue/venue.h"

static const struct access_policy gate = {VENUE_GREEN, 2, 24, 37.3};

static void green_passes(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, -1, 0);
    assert_true(d.pass);
    assert_int_equal(d.deny, 0);
    assert_int_equal(d.alerts, 0);
    d = access_evaluate(&gate, CODE_GREEN, 37.2, 1);
    assert_true(d.pass);
}

static void colour_denied_and_alerted(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_YELLOW, -1, 0);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_COLOUR);
    assert_int_equal(d.alerts, ACCESS_ALERT_COLOUR);
    /* a venue letting yellow through still alerts */
    struct access_policy market = {VENUE_GREEN | VENUE_YELLOW, 0, 0, 37.3};
    d = access_evaluate(&market, CODE_YELLOW, -1, 100);
    assert_true(d.pass);
    assert_int_equal(d.alerts, ACCESS_ALERT_COLOUR);
    d = access_evaluate(&market, CODE_RED, -1, 0);
    assert_false(d.pass);
}

static void fever_at_threshold(void **state)
{
    (void)state;
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, 37.3, 0);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_FEVER);
    assert_int_equal(d.alerts, ACCESS_ALERT_FEVER);
}

static void limit_counts(void **state)
{
    (void)state;
    assert_true(access_evaluate(&gate, CODE_GREEN, -1, 1).pass);
    struct access_decision d = access_evaluate(&gate, CODE_GREEN, -1, 2);
    assert_false(d.pass);
    assert_int_equal(d.deny, ACCESS_DENY_LIMIT);
    assert_int_equal(d.alerts, ACCESS_ALERT_LIMIT);
    struct access_policy none = {VENUE_GREEN, 0, 0, 37.3};
    assert_true(access_evaluate(&none, CODE_GREEN, -1, 1000).pass);
    /* several reasons at once, first one names the record */
    d = access_evaluate(&gate, CODE_RED, 39.0, 5);
    assert_int_equal(d.deny, ACCESS_DENY_COLOUR | ACCESS_DENY_FEVER | ACCESS_DENY_LIMIT);
    assert_string_equal(access_deny_slug(ACCESS_DENY_COLOUR), "colour_not_allowed");
}

static void names(void **state)
{
    (void)state;
    assert_int_equal(access_method_parse("self_scan"), ACCESS_SELF_SCAN);
    assert_int_equal(access_method_parse("x"), 0);
    assert_string_equal(access_method_name(ACCESS_DEVICE), "device");
}

/* ---- the writer's queue cap --------------------------------------------------- */

static atomic_int done_n;

static void count_done(const struct access_scan *s, err e, void *ctx)
{
    (void)s;
    (void)e; /* the test database has no tables: every scan fails, and is answered */
    (void)ctx;
    atomic_fetch_add(&done_n, 1);
}

static err submit_one(db *d)
{
    struct access_scan s = {.venue_id = 1, .person_id = 2, .temperature = -1, .record_id = 0};
    return access_submit(d, &s, count_done, NULL);
}

static void wait_done(int n)
{
    for (int i = 0; i < 2000 && atomic_load(&done_n) < n; i++) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&done_n), n);
}

/*
 * With the writer stalled (another connection holds SQLite's write lock),
 * scans are queued up to the cap, the next one is refused with
 * E_UNAVAILABLE "queue_full" and never answered through done (nothing was
 * queued); once the writer has caught up there is room again.
 */
static void writer_queue_cap(void **state)
{
    (void)state;
    enum { CAP = 2 };
    struct fixture_db f;
    db *holder;
    assert_int_equal(fixture_sqlite_open(&f, "access-writer", &holder), 0);
    access_writer_set_queue_max(CAP);
    assert_int_equal(access_writer_start(f.path), E_OK);
    atomic_store(&done_n, 0);
    assert_int_equal(db_begin(holder), E_OK); /* the writer's batch waits for this */
    for (int i = 0; i < CAP; i++)
        assert_int_equal(submit_one(holder), E_OK);
    assert_true(access_writer_full());
    assert_int_equal(submit_one(holder), E_UNAVAILABLE);
    assert_string_equal(err_last()->slug, "queue_full");
    db_rollback(holder);
    wait_done(CAP); /* the two queued are answered; the refused one never is */
    assert_false(access_writer_full());
    assert_int_equal(submit_one(holder), E_OK);
    wait_done(CAP + 1);
    access_writer_stop();
    access_writer_set_queue_max(0);
    fixture_sqlite_close(&f, &holder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(green_passes),
        cmocka_unit_test(colour_denied_and_alerted),
        cmocka_unit_test(fever_at_threshold),
        cmocka_unit_test(limit_counts),
        cmocka_unit_test(names),
        cmocka_unit_test(writer_queue_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

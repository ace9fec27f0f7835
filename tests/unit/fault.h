/*
 * A fault-injecting database driver for unit tests: it wraps a real
 * connection's driver and makes the Nth database operation fail (a
 * statement that will not prepare, a step that fails, a BEGIN or COMMIT
 * that fails), so a test can walk every failure point of an operation and
 * check what the caller does with it. Header-only, like fixture.h.
 *
 * Faults are E_DB ("the database failed") by default, or E_NOMEM at prepare
 * time. ROLLBACK never fails: a connection whose rollback fails is gone.
 */
#ifndef FK_TESTS_FAULT_H
#define FK_TESTS_FAULT_H

#include <string.h>

#include "db/db_private.h"

static struct {
    const struct db_ops *real;
    struct db_ops ops;
    long countdown; /* > 0: fail when it reaches 0; 0: disarmed */
    long calls;     /* operations seen since fault_arm */
    bool fired;
    err kind;
} fault;

static bool fault_fire(void)
{
    fault.calls++;
    if (fault.countdown > 0 && --fault.countdown == 0) {
        fault.fired = true;
        return true;
    }
    return false;
}

static err fault_err(const char *what)
{
    if (fault.kind == E_NOMEM)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    return db_fail("fault", what, "injected");
}

static err fault_prepare(db *d, const char *sql, db_stmt **r)
{
    if (fault_fire())
        return fault_err("prepare");
    return fault.real->prepare(d, sql, r);
}

static int fault_step(db_stmt *s)
{
    if (fault_fire()) {
        s->error = db_fail("fault", "step", "injected");
        return -1;
    }
    return fault.real->step(s);
}

static err fault_exec(db *d, const char *sql)
{
    if (strcmp(sql, "ROLLBACK") != 0 && fault_fire())
        return fault_err("exec");
    return fault.real->exec(d, sql);
}

/* Wrap d's driver (once per connection). */
static inline void fault_install(db *d)
{
    fault.real = d->ops;
    fault.ops = *d->ops;
    fault.ops.prepare = fault_prepare;
    fault.ops.step = fault_step;
    fault.ops.exec = fault_exec;
    d->ops = &fault.ops;
}

/* Fail the nth operation from now (n >= 1) with `kind`. */
static inline void fault_arm(long n, err kind)
{
    fault.countdown = n;
    fault.calls = 0;
    fault.fired = false;
    fault.kind = kind;
}

/* Stop failing; true when the armed fault fired. */
static inline bool fault_disarm(void)
{
    fault.countdown = 0;
    return fault.fired;
}

#endif

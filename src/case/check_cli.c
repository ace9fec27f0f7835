/*
 * `fangkong check sweep`: what the server's check sweep does every
 * FK_CHECK_SWEEP seconds, once, now (check_sweep in case.h): the check
 * tasks that are due, the missed-check alerts, the unanswered messages.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/id.h"
#include "case/case.h"
#include "cli.h"

int cmd_check_sweep(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong check sweep: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    const char *v = getenv("FK_MESSAGE_ESCALATE");
    long minutes = v && *v ? strtol(v, NULL, 10) : 30;
    if (minutes < 1 || minutes > 1440) {
        fprintf(stderr, "fangkong check sweep: FK_MESSAGE_ESCALATE must be 1..1440 minutes\n");
        return 2;
    }
    /* the kinds of the tasks the sweep makes (the server registers them in app.c) */
    err e = check_register();
    if (e)
        return cli_fail(e, "check sweep");
    db *d;
    if (app_open(&c, &d))
        return 1;
    struct check_sweep_result r;
    e = check_sweep(d, now_ms(), minutes, &r);
    db_close(&d);
    if (e)
        return cli_fail(e, "check sweep");
    printf("check tasks %lld, missed checks %lld, unanswered messages %lld\n", (long long)r.tasks,
           (long long)r.missed, (long long)r.escalated);
    return 0;
}

/*
 * `fangkong case sweep`: make the release tasks of the observations whose
 * period is over, once, as the server's release thread does every
 * FK_RELEASE_CHECK seconds (case.h, docs/cases.md).
 */
#include <stdio.h>

#include "app.h"
#include "base/id.h"
#include "case/case.h"
#include "cli.h"

int cmd_case_sweep(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong case sweep: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    err e = app_routes(); /* the task kinds and hooks the server has */
    if (e)
        return cli_fail(e, "routes");
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t n = 0;
    e = case_release_sweep(d, now_ms(), &n);
    db_close(&d);
    if (e)
        return cli_fail(e, "case sweep");
    printf("created %lld release task(s)\n", (long long)n);
    return 0;
}

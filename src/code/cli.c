/*
 * `fangkong code recompute`: recompute every health code with the rules in
 * force, in the foreground, and print how long it took (the benchmark of a
 * rule edit on a demo city).
 */
#include <stdio.h>

#include "base/id.h"
#include "cli.h"
#include "code/code.h"

int cmd_code_recompute(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong code recompute: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t total = 0, changed = 0;
    uint64_t t0 = mono_us();
    err e = code_recompute_all(d, 0, NULL, NULL, &changed);
    double s = (double)(mono_us() - t0) / 1e6;
    db_query_int64(d, "SELECT COUNT(*) FROM persons WHERE deleted_at = 0", &total);
    db_close(&d);
    if (e)
        return cli_fail(e, "code recompute");
    printf("recomputed %lld persons in %.2f s (%lld codes changed)\n", (long long)total, s,
           (long long)changed);
    return 0;
}

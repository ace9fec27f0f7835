/*
 * `fangkong stats verify [--fix]`: recount every registered measure from
 * its source tables and compare with the maintained counters; print each
 * difference, and with --fix rewrite the counters from the recounts.
 * Exit status 0 when every counter agrees, 1 when any differed (repaired
 * with --fix) or on an error, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "base/regcode.h"
#include "base/time.h"
#include "cli.h"
#include "stats/stats.h"

static void print_diff(const char *measure, int64_t region, int64_t day, int64_t have, int64_t want,
                       void *ctx)
{
    (void)ctx;
    char code[19], date[16] = "now";
    regcode_format(region, code);
    if (day != STATS_NOW) {
        int32_t ymd = china_date(day * DAY_MS); /* 08:00 China time of that day */
        snprintf(date, sizeof date, "%04d-%02d-%02d", ymd / 10000 % 10000, ymd / 100 % 100,
                 ymd % 100);
    }
    printf("%s\t%s\t%s\tcounter %lld\trecount %lld\n", measure, code, date, (long long)have,
           (long long)want);
}

int cmd_stats_verify(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    bool fix = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--fix")) {
            fix = true;
        } else {
            fprintf(stderr, "usage: fangkong stats verify [--fix]\n");
            return 2;
        }
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    /* the measures are registered where the server registers them */
    err e = app_routes();
    int64_t diff = 0;
    if (!e)
        e = stats_verify(d, fix, print_diff, NULL, &diff);
    db_close(&d);
    if (e)
        return cli_fail(e, "stats verify");
    if (!diff) {
        printf("stats verify: every counter agrees with its recount\n");
        return 0;
    }
    printf("stats verify: %lld counter(s) differ from the recount%s\n", (long long)diff,
           fix ? "; rewritten from the recount" : " (run with --fix to rewrite them)");
    return 1;
}

/*
 * `fangkong retention [--dry-run]`: the server's daily retention pass run
 * once by an operator (retention.h, docs/retention.md): the months ahead,
 * then per dataset what is past its days, removed (whole months on
 * PostgreSQL, rows on SQLite) or, with --dry-run, listed. Exit status 0
 * done, 1 failed, 2 usage or a retention setting out of range.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/id.h"
#include "base/time.h"
#include "cli.h"
#include "retention/retention.h"
#include "security/audit.h"

/* A cutoff in the dataset's unit as a China date, YYYY-MM-DD. */
static void cutoff_date(int i, int64_t cutoff, char out[16])
{
    int64_t day = retention_datasets[i].unit == RETAIN_DAY ? cutoff : china_day(cutoff);
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

int cmd_retention(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    bool dry = argc == 1 && !strcmp(argv[0], "--dry-run");
    if (argc && !dry) {
        fprintf(stderr, "usage: fangkong retention [--dry-run]\n");
        return 2;
    }
    err e = retention_configure();
    if (e) {
        cli_fail(e, "retention");
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t now = now_ms(), made = 0;
    struct retention_result res[RETENTION_N];
    if (!dry)
        e = retention_partitions_ensure(d, now, now + RETENTION_AHEAD_MS, &made);
    if (!e)
        e = retention_pass(d, now, dry, res);
    db_close(&d);
    audit_checkpoint(); /* the entries this tool wrote, anchored */
    if (e)
        return cli_fail(e, "retention");
    if (!dry && made)
        printf("months made ahead: %lld\n", (long long)made);
    for (int i = 0; i < RETENTION_N; i++) {
        char date[16];
        cutoff_date(i, res[i].cutoff, date);
        printf("%s (%s): keep %d days, before %s: %s %lld rows", retention_datasets[i].name,
               retention_datasets[i].label, retention_days(i), date,
               dry ? "would remove" : "removed", (long long)res[i].rows);
        if (res[i].months)
            printf(", months %s %s", res[i].names, dry ? "would be dropped" : "dropped");
        else if (res[i].rows)
            printf(", by row");
        printf("\n");
    }
    return 0;
}

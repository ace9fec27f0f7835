/*
 * `fangkong audit verify`: walk every node's audit hash chain in the
 * configured database against the signed anchors (docs/audit.md) and report
 * the first break, for operators and for scripts (exit status 0 intact, 1
 * broken or not verifiable, 2 usage). It only reads: a check run on a
 * tampered log must not extend the chain.
 *
 * `fangkong audit prune --before DATE`: remove the entries older than DATE
 * (YYYY-MM-DD or "YYYY-MM-DD HH:MM:SS", China time), keeping at least FK_AUDIT_RETENTION_DAYS (180)
 * days, with signed retention markers; refused while the chain does not verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "cli.h"
#include "security/audit.h"

/* One line per chain segment (docs/audit.md, "Rotating the audit key"),
 * printed after the summary line only when there is more than one audit
 * key version to tell apart. */
static void print_segments(const struct audit_verify_result *v)
{
    bool versions = false;
    for (size_t i = 0; i < v->nsegments; i++)
        versions |= v->segments[i].key_version != 1;
    if (!versions)
        return;
    for (size_t i = 0; i < v->nsegments; i++) {
        const struct audit_segment_result *g = &v->segments[i];
        char last[24] = "end";
        if (g->last_seq >= 0)
            snprintf(last, sizeof last, "%lld", (long long)g->last_seq);
        printf("segment node %d audit key %d: seq %lld-%s, %lld entries, %lld pruned: %s\n",
               g->node, g->key_version, (long long)g->first_seq, last, (long long)g->entries,
               (long long)g->purged, g->state);
    }
    if (v->segments_more)
        printf("(more segments not listed)\n");
}

int cmd_audit_verify(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong audit verify: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    struct audit_verify_result v;
    err e = audit_verify(d, &v);
    db_close(&d);
    if (e)
        return cli_fail(e, "audit verify");
    if (!v.code[0]) {
        printf("audit chain intact: %lld entries checked, %lld signed checkpoints matched, "
               "%lld entries pruned under signed retention markers\n",
               (long long)v.checked, (long long)v.anchored, (long long)v.pruned);
        print_segments(&v);
        return 0;
    }
    if (v.broken_id > 0)
        printf("audit chain BROKEN at entry %lld (node %d): %s [%s]\n", (long long)v.broken_id,
               v.node, v.reason, v.code);
    else /* not at an entry: an empty chain, the anchor file, a marker */
        printf("audit chain BROKEN (node %d): %s [%s]\n", v.node, v.reason, v.code);
    printf("%lld entries checked before the break\n", (long long)v.checked);
    print_segments(&v);
    return 1;
}

/* "YYYY-MM-DD" (midnight) or "YYYY-MM-DD HH:MM:SS", China time (UTC+8, no
 * daylight saving), as epoch milliseconds; -1 if not a real date. */
static int64_t parse_china_time(const char *s)
{
    int y, m, dd, hh = 0, mi = 0, ss = 0, used = 0;
    size_t n = strlen(s);
    if (n == 10) {
        if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &dd, &used) != 3)
            return -1;
    } else if (n == 19) {
        if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &m, &dd, &hh, &mi, &ss, &used) != 6)
            return -1;
    } else {
        return -1;
    }
    if ((size_t)used != n || y < 2000 || m < 1 || m > 12 || dd < 1 || dd > 31 || hh > 23 ||
        mi > 59 || ss > 59 || hh < 0 || mi < 0 || ss < 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = m - 1,
                    .tm_mday = dd,
                    .tm_hour = hh,
                    .tm_min = mi,
                    .tm_sec = ss};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != dd || back.tm_mon != m - 1) /* 2026-02-30 */
        return -1;
    return (int64_t)t * 1000 - CHINA_OFFSET_MS;
}

int cmd_audit_prune(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc != 2 || strcmp(argv[0], "--before")) {
        fprintf(stderr, "usage: fangkong audit prune --before YYYY-MM-DD[\" HH:MM:SS\"]\n");
        return 2;
    }
    int64_t before = parse_china_time(argv[1]);
    if (before < 0) {
        fprintf(stderr,
                "fangkong audit prune: --before 应为日期 YYYY-MM-DD 或 \"YYYY-MM-DD HH:MM:SS\"，"
                "而不是 '%s'\n",
                argv[1]);
        return 2;
    }
    const char *rd = getenv("FK_AUDIT_RETENTION_DAYS");
    char *end = NULL;
    long days = rd && *rd ? strtol(rd, &end, 10) : 180;
    if ((rd && *rd && *end) || days < 0 || days > 36500) {
        fprintf(stderr, "fangkong: FK_AUDIT_RETENTION_DAYS must be a number from 0 to 36500\n");
        return 2;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t newest_allowed = (int64_t)now.tv_sec * 1000 - days * DAY_MS;
    if (before > newest_allowed) {
        fprintf(stderr,
                "fangkong audit prune: 审计记录至少保留 %ld 天（FK_AUDIT_RETENTION_DAYS），"
                "%s 太近\n",
                days, argv[1]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t removed;
    err e = audit_prune(d, before, &removed);
    db_close(&d);
    if (e)
        return cli_fail(e, "audit prune");
    printf("pruned %lld audit entries older than %s; signed retention markers written to %s\n",
           (long long)removed, argv[1], c.audit_anchors);
    return 0;
}

/*
 * `fangkong code recompute`: recompute every health code with the rules in
 * force, in the foreground, and print how long it took (the benchmark of a
 * rule edit on a demo city). `fangkong code tokens`: health-code tokens for
 * a random sample of people, the input of the scan benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "cli.h"
#include "code/code.h"
#include "security/token.h"

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
    /* the count is only for the summary line: 0 if it cannot be read */
    err_ignore(db_query_int64(d, "SELECT COUNT(*) FROM persons WHERE deleted_at = 0", &total));
    db_close(&d);
    if (e)
        return cli_fail(e, "code recompute");
    printf("recomputed %lld persons in %.2f s (%lld codes changed)\n", (long long)total, s,
           (long long)changed);
    return 0;
}

int cmd_code_tokens(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    long sample = 0, minutes = 30;
    for (int i = 0; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long *dst = !strcmp(argv[i], "--sample")    ? &sample
                    : !strcmp(argv[i], "--minutes") ? &minutes
                                                    : NULL;
        if (!dst || !v || (*dst = strtol(v, &end, 10), *end) || *dst < 1 || *dst > 1000000) {
            fprintf(stderr, "fangkong code tokens: --sample N (1..1000000) [--minutes M]\n");
            return 2;
        }
    }
    if (!sample) {
        fprintf(stderr, "fangkong code tokens: --sample N is required\n");
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    db_stmt *s;
    err e =
        db_prepare(d, "SELECT id FROM persons WHERE deleted_at = 0 ORDER BY random() LIMIT ?", &s);
    if (e) {
        db_close(&d);
        return cli_fail(e, "code tokens");
    }
    db_bind_int64(s, 1, sample);
    int64_t now = now_ms();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        struct token t = {.kind = TOKEN_HEALTH,
                          .subject = db_col_int64(s, 0),
                          .issued_at = now,
                          .expires_at = now + minutes * 60000};
        char out[TOKEN_MAX];
        if ((e = token_issue(&t, out)))
            break;
        printf("%s\n", out);
    }
    db_done(s);
    db_close(&d);
    return e ? cli_fail(e, "code tokens") : 0;
}

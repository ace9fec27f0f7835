/*
 * Command-line tools of contact tracing (docs/tracing.md "Contact tracing"):
 *
 *   fangkong trace sweep         the automatic warning's pass, once (as the
 *                                server does every FK_TRACE_SWEEP seconds)
 *   fangkong trace load-access F  append access records from a CSV file
 *                                (venue_id,person_id,direction,at_ms; a
 *                                header line first): past passages for a
 *                                hand-built scenario or an imported log.
 *                                Never reachable by a client: scans through
 *                                the API are always "now".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/id.h"
#include "cli.h"
#include "trace/trace.h"

int cmd_trace_sweep(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong trace sweep: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t n = 0;
    err e = trace_warn_sweep(d, now_ms(), &n);
    db_close(&d);
    if (e)
        return cli_fail(e, "trace sweep");
    printf("traced %lld confirmation(s)\n", (long long)n);
    return 0;
}

/* One line "venue_id,person_id,direction,at": false when malformed. */
static bool parse_line(char *line, int64_t *venue, int64_t *person, bool *in, int64_t *at)
{
    char *f[4], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, ",\r\n", &save); t && n < 4; t = strtok_r(NULL, ",\r\n", &save))
        f[n++] = t;
    if (n != 4)
        return false;
    char *end;
    *venue = strtoll(f[0], &end, 10);
    if (*end || *venue <= 0)
        return false;
    *person = strtoll(f[1], &end, 10);
    if (*end || *person < 0)
        return false;
    if (strcmp(f[2], "in") && strcmp(f[2], "out"))
        return false;
    *in = !strcmp(f[2], "in");
    *at = strtoll(f[3], &end, 10);
    return !*end && *at > 0;
}

static err load(db *d, FILE *in, int64_t *n_r)
{
    char line[256];
    err e = db_begin(d);
    if (e)
        return e;
    long lineno = 0;
    int64_t now = now_ms();
    while (!e && fgets(line, sizeof line, in)) {
        if (++lineno == 1)
            continue; /* the header */
        int64_t venue, person, at;
        bool dir_in;
        if (!parse_line(line, &venue, &person, &dir_in, &at)) {
            fprintf(stderr,
                    "fangkong trace load-access: line %ld is not "
                    "venue_id,person_id,direction,at\n",
                    lineno);
            e = E_INPUT;
            break;
        }
        db_stmt *s;
        if ((e = db_prepare(d,
                            "INSERT INTO access_records (id, venue_id, region_code, person_id, "
                            "direction, at, colour, verdict, method, created_at) SELECT ?, v.id, "
                            "v.region_code, ?, ?, ?, 'green', 'pass', 'manual', ? FROM venues v "
                            "WHERE v.id = ?",
                            &s)))
            break;
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, person);
        db_bind_text(s, 3, dir_in ? "in" : "out");
        db_bind_int64(s, 4, at);
        db_bind_int64(s, 5, now);
        db_bind_int64(s, 6, venue);
        int64_t changed = 0;
        if (!(e = db_run(s, &changed)) && !changed) {
            fprintf(stderr, "fangkong trace load-access: line %ld: no venue %lld\n", lineno,
                    (long long)venue);
            e = E_INPUT;
        }
        if (!e)
            ++*n_r;
    }
    if (!e)
        e = db_commit(d);
    if (e)
        db_rollback(d);
    return e;
}

int cmd_trace_load_access(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc != 1) {
        fprintf(stderr, "用法: fangkong trace load-access FILE.csv\n");
        return 2;
    }
    FILE *in = fopen(argv[0], "r");
    if (!in) {
        fprintf(stderr, "fangkong trace load-access: cannot open %s\n", argv[0]);
        return 1;
    }
    db *d;
    if (app_open(&c, &d)) {
        fclose(in);
        return 1;
    }
    int64_t n = 0;
    err e = load(d, in, &n);
    fclose(in);
    db_close(&d);
    if (e)
        return cli_fail(e, "trace load-access");
    printf("loaded %lld access record(s)\n", (long long)n);
    return 0;
}

/*
 * `fangkong demo`: options, then demo_build(). The accounts table goes to
 * standard output and to <data dir>/demo-accounts.txt (mode 0600: it holds
 * the passwords), which `make run` shows again at every start.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "base/id.h"
#include "cli.h"
#include "demo/demo.h"
#include "nat/nat.h"

int cmd_demo(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    struct demo_config dc = {.persons = 20000, .seed = 1, .password = "Fk@Demo2024"};
    for (int i = 0; i < argc; i += 2) { /* every option takes a value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(argv[i], "--persons") && v) {
            dc.persons = strtol(v, &end, 10);
            if (*end || dc.persons < 1 || dc.persons > 20000000) {
                fprintf(stderr, "fangkong demo: --persons must be 1 to 20000000\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && v) {
            dc.seed = strtoull(v, &end, 10);
            if (*end) {
                fprintf(stderr, "fangkong demo: --seed must be a number\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--password") && v) {
            dc.password = v;
        } else if (!strcmp(argv[i], "--sample-ids") && v) {
            dc.sample_ids = v;
        } else {
            fprintf(stderr, "fangkong demo: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/demo-accounts.txt", c.data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *file = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!file) {
        fprintf(stderr, "fangkong demo: cannot write %s\n", path);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    /* the task kinds, counters and hooks the server has: the demo's case
     * week completes tasks and moves counters as the API would */
    err re = app_routes();
    if (re) {
        fclose(file);
        return cli_fail(re, "routes");
    }
    nat_lookup_configure(c.data_dir); /* the demo's batch look-up writes its workbooks */
    db *d;
    if (app_open(&c, &d)) {
        fclose(file);
        return 1;
    }
    uint64_t t0 = mono_us();
    FILE *const outs[] = {stdout, file};
    err e = demo_build(d, &dc, outs, 2);
    db_close(&d);
    if (fclose(file) && !e) {
        fprintf(stderr, "fangkong demo: cannot write %s\n", path);
        return 1;
    }
    if (e)
        return cli_fail(e, "demo");
    fprintf(stderr, "demo: accounts written to %s\n", path);
    fprintf(stderr, "demo: %ld people in %.1f s\n", dc.persons, (double)(mono_us() - t0) / 1e6);
    return 0;
}

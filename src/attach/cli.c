/*
 * `fangkong attach purge`: delete the uploads nobody claimed within
 * ATTACH_UNCLAIMED_MS now, as the server's purge thread does every
 * FK_ATTACH_PURGE seconds (attach.h).
 */
#include <stdio.h>

#include "attach/attach.h"
#include "base/id.h"
#include "cli.h"

int cmd_attach_purge(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong attach purge: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    int64_t n = 0;
    err e = attach_purge(d, now_ms(), &n);
    db_close(&d);
    if (e)
        return cli_fail(e, "attach purge");
    printf("purged %lld unclaimed attachment(s)\n", (long long)n);
    return 0;
}

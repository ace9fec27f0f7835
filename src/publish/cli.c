/*
 * `fangkong publish render`: render every live publication's snapshot
 * again with the figures of now, as the server does every
 * FK_PUBLISH_RENDER seconds (docs/publish.md). Exit status 0, 1 on an
 * error, 2 on bad usage.
 */
#include <stdio.h>

#include "app.h"
#include "base/id.h"
#include "cli.h"
#include "publish/publish.h"

int cmd_publish_render(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "usage: fangkong publish render\n");
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    /* the measures the blocks name are registered where the server registers them */
    err e = app_routes();
    int64_t n = 0;
    if (!e)
        e = publish_rerender(d, now_ms(), &n);
    db_close(&d);
    if (e)
        return cli_fail(e, "publish render");
    printf("publish render: %lld live version(s) rendered\n", (long long)n);
    return 0;
}

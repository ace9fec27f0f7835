/*
 * The purge of unclaimed uploads (attach.h) every few minutes, on a
 * periodic thread (db/periodic.h). An upload nobody claimed within
 * ATTACH_UNCLAIMED_MS is a form the phone never sent; keeping it would
 * keep personal data without a purpose.
 */
#include "attach/attach.h"
#include "db/periodic.h"

static err purge_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return attach_purge(d, now, n_r);
}

static struct periodic purger = PERIODIC_INIT("attach_purged", purge_run, NULL);

err attach_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&purger, db_url, every_s);
}

void attach_worker_stop(void)
{
    periodic_stop(&purger);
}

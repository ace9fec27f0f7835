/*
 * The months of access_records ahead of time (access.h "monthly
 * partitions"; sql/042 makes the table and the function that creates a
 * month): once at start and then daily on a periodic thread, so a passage
 * always finds its month's table, and a month the default partition caught
 * in the meantime moves to its own table.
 */
#include "access/access.h"
#include "base/id.h"
#include "db/periodic.h"

err access_partitions_ensure(db *d, int64_t from, int64_t to, int64_t *made_r)
{
    if (made_r)
        *made_r = 0;
    if (db_kind(d) != DB_POSTGRES)
        return E_OK;
    db_stmt *s;
    err e = db_prepare(d, "SELECT access_records_partitions(?, ?)", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, from);
    db_bind_int64(s, 2, to);
    bool row;
    if (!(e = db_row(s, &row)) && row && made_r)
        *made_r = db_col_int64(s, 0);
    db_done(s);
    return e;
}

static err ahead_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return access_partitions_ensure(d, now, now + ACCESS_PARTITIONS_AHEAD_MS, n_r);
}

static struct periodic ahead = PERIODIC_INIT("access_partitions", ahead_run, NULL);

err access_partitions_start(const char *db_url, int every_s)
{
    db *d;
    err e = db_open(db_url, &d);
    if (e)
        return e;
    int64_t n;
    e = ahead_run(d, now_ms(), NULL, &n);
    db_close(&d);
    return e ? e : periodic_start(&ahead, db_url, every_s);
}

void access_partitions_stop(void)
{
    periodic_stop(&ahead);
}

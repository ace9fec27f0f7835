/*
 * The counters of the observation list and the status machine (case.h,
 * "measures"): kept by stats_add in the transaction of the change.
 */
#include "case/internal.h"

err case_count(db *d, const char *measure, int64_t region, int64_t day, int64_t delta)
{
    (void)d;
    (void)measure;
    (void)region;
    (void)day;
    (void)delta;
    return E_OK; /* until h9-stats is merged: stats_add */
}

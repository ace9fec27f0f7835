/*
 * Parcels and take-away notices (快递外卖, issue 14; seed 002 二(七);
 * docs/community-life.md).
 *
 * A delivery account (role `delivery` 快递外卖员, perm parcel.record; not the
 * `courier` of nucleic-acid boxes) records an arrival at a region of its
 * scope (a building, or the community's collection point): parcel or
 * take-away, carrier, locker number and pick-up code, and the recipient's
 * mobile phone. The phone and the code are sealed (labels parcels.phone,
 * parcels.code); the phone's blind index is computed under the label of
 * users.phone, so the resident account signed in with that phone finds it
 * by one index probe, also one recorded before the resident signed up.
 *
 * The resident sees their waiting parcels (locker and code) and confirms
 * the pick-up; staff (parcel.read) see per-region counts of uncollected
 * parcels and those older than N days, and the list, phones masked. Nothing
 * here knows HTTP; strings come from the caller's arena.
 */
#ifndef FK_PARCEL_PARCEL_H
#define FK_PARCEL_PARCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define PARCEL_CARRIER_MAX  20 /* characters */
#define PARCEL_LOCKER_MAX   20
#define PARCEL_CODE_MAX     20
#define PARCEL_OVERDUE_DAYS 3 /* default of the staff's "older than N days" */
#define PARCEL_DAYS_MAX     30
#define PARCEL_EXPORT_MAX   10000

enum parcel_kind { PARCEL_PARCEL = 1, PARCEL_TAKEAWAY, PARCEL_KIND__COUNT };
extern const struct vocab parcel_kind_vocab; /* parcel 快递, takeaway 外卖 */

enum parcel_status { PARCEL_WAITING = 1, PARCEL_PICKED, PARCEL_STATUS__COUNT };
extern const struct vocab parcel_status_vocab; /* waiting 待取, picked 已取 */

struct parcel {
    int64_t id;
    int64_t region_code;
    const char *region_name; /* reads only */
    enum parcel_kind kind;
    const char *carrier, *locker, *code;
    const char *phone; /* unsealed; masked by the API for staff */
    enum parcel_status status;
    int64_t recorded_by;
    int64_t created_at, picked_at;
};

/*
 * Record arrival p (fields checked by the caller; phone a mainland mobile)
 * at p->region_code, which must lie inside sc and exist (E_INPUT
 * "invalid_region" on region_code otherwise). p gets id, status, time.
 */
err parcel_record(db *d, arena *a, const struct scope *sc, int64_t by, struct parcel *p) MUST_USE;

/* Who reads parcels: exactly one member set. */
struct parcel_viewer {
    int64_t resident_user_id;  /* the resident whose account phone it was sent to */
    int64_t recorder_id;       /* the delivery account that recorded it */
    const struct scope *scope; /* staff */
};

struct parcel_filter {
    enum parcel_status status; /* 0: any */
    int64_t older_than;        /* > 0: waiting and recorded before this instant (ms) */
    int64_t page, page_size;   /* page_size <= 0: an export */
};

/* Parcels `v` may read, newest first. */
err parcel_list(db *d, arena *a, const struct parcel_viewer *v, const struct parcel_filter *f,
                struct parcel **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* The resident `user_id` picks up parcel `id`: E_NOT_FOUND "parcel_not_found"
 * when it is not theirs, E_CONFLICT "parcel_picked" when already picked. */
err parcel_pickup(db *d, arena *a, int64_t user_id, int64_t id, int64_t now,
                  struct parcel *p_r) MUST_USE;

struct parcel_count {
    int64_t region_code;
    const char *region_name;
    int64_t waiting, overdue;
};

/* Per region inside sc, the waiting parcels and those recorded before
 * `overdue_before` (ms), regions with any waiting only, most first. */
err parcel_counts(db *d, arena *a, const struct scope *sc, int64_t overdue_before,
                  struct parcel_count **items_r, size_t *n_r) MUST_USE;

#endif

/*
 * Private to nat/: the field table of the testing site, shared by the
 * storage (site.c) and the HTTP handlers (api.c).
 */
#ifndef FK_NAT_INTERNAL_H
#define FK_NAT_INTERNAL_H

#include <stddef.h>

#include "db/fields.h"
#include "db/query.h"
#include "nat/nat.h"

/*
 * THE field table of the site record (db/fields.h, the pattern of
 * docs/architecture.md): one row per client-settable field in the API's
 * order; row i is bit 1u << i of nat_site_input.set (NSF_*, nat.h). What is
 * the site's own stays by hand: the region reference (site.c), the
 * position pair and the opening hours (nat_site_input_check).
 *
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 */
#define NAT_SITE_FIELDS(X)                                                                         \
    X(name, FD_TEXT, J_STRING, 0, 100, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,            \
      "点位名称", "name", NULL)                                                                    \
    X(kind, FD_ENUM, J_STRING, 0, 0, FL_REQUIRED | FL_BY_NAME, &nat_site_kind_vocab, MK_NONE,      \
      "点位类型", "kind", NULL)                                                                    \
    X(region_code, FD_REGION, J_STRING, 0, 18, FL_REQUIRED, NULL, MK_NONE, "所属区划",             \
      "region_code", NULL)                                                                         \
    X(address, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE, "地址", \
      "address", NULL)                                                                             \
    X(lng, FD_REAL, J_NUMBER, 0, 0, JF_NULLABLE, NULL, MK_NONE, "经度", "lng", NULL)               \
    X(lat, FD_REAL, J_NUMBER, 0, 0, JF_NULLABLE, NULL, MK_NONE, "纬度", "lat", NULL)               \
    X(hours, FD_TEXT, J_STRING, 0, 100, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,           \
      "开放时间", "hours", NULL)                                                                   \
    X(state, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME, &nat_site_state_vocab, MK_NONE, "点位状态",      \
      "state", NULL)                                                                               \
    X(capacity, FD_INT, J_INT, 0, NAT_SITE_CAPACITY_MAX, 0, NULL, MK_NONE, "每小时采样能力",       \
      "capacity", NULL)

enum {
    NAT_SITE_FIELD_COUNT = 0
#define NSF_ONE(...) +1
    NAT_SITE_FIELDS(NSF_ONE)
#undef NSF_ONE
};

/* The table over struct nat_site (replies, row reads) and over struct
 * nat_site_input (bodies, binds). */
extern const struct field nat_site_rows[NAT_SITE_FIELD_COUNT];
extern const struct field nat_site_input_rows[NAT_SITE_FIELD_COUNT];

/* Re-evaluate the unattended flag of site `id` at `now` inside the
 * caller's transaction; *flagged_r (may be NULL) says whether it was newly
 * flagged (and an alert raised). */
err nat_site_attend(db *d, int64_t id, int64_t now, bool *flagged_r) MUST_USE;

/* Run `sql` with its n integer parameters (sample.c, transport.c);
 * *changed_r (may be NULL) gets the rows changed. */
err nat_run_ints(db *d, const char *sql, const int64_t *args, int n, int64_t *changed_r) MUST_USE;

/* nat_clock_in and nat_clock_out at time `at` (0: now); the clock-in with
 * its source (ingest: an outside system's record, 'ingest', else 'phone';
 * the clock-out keeps it); a clock-out before its clock-in is E_INPUT
 * "invalid_time" on "at". */
err nat_clock_in_from(db *d, const struct scope *scope, int64_t site_id, int64_t user_id,
                      double lng, double lat, int64_t at, bool ingest, int64_t *id_r) MUST_USE;
err nat_clock_out_from(db *d, int64_t user_id, double lng, double lat, int64_t at,
                       int64_t *id_r) MUST_USE;

/* Who a sample names (sample_api.c, ingest_api.c): a person or a visitor. */
struct nat_sampled {
    int64_t person_id, visitor_id;
    enum nat_sample_method method;
    const char *name; /* in full; masked in a reply */
};
/* A code: a resident's health code, else a confirmed visitor's code in its
 * window (E_NOT_FOUND "unknown_person" on "code", ...). */
err nat_sampled_by_code(db *d, arena *a, const char *code, struct nat_sampled *w) MUST_USE;
/* An identity number (type_name NULL: resident id) of a registered person
 * (E_INPUT on "id_number", E_NOT_FOUND "unknown_person" on "id_number"). */
err nat_sampled_by_id_number(db *d, arena *a, const char *typed, const char *type_name,
                             struct nat_sampled *w) MUST_USE;

/* Count the outcome of sample `id` (lab.c: the stats flow and the plan's
 * outcome figures, as a sample not marked duplicate) by `delta`: a sample
 * becoming the first of its round (nat_sample_delete). */
err nat_sample_outcome_count(db *d, int64_t id, int64_t delta) MUST_USE;

/* Publish `o` (consumed) as `event` on the alert stream to `region` when
 * the current transaction commits (nat.site, nat.box): a fresh event id,
 * not the record's, since a stream resumed with Last-Event-ID skips
 * smaller ids. E_NOMEM. */
err nat_publish(db *d, int64_t region, const char *event, json_t *o) MUST_USE;

/* The statistics' handlers (stats_api.c), routed in nat_routes (api.c). */
struct req;
err nat_get_stats_streets(struct req *r) MUST_USE;
err nat_get_stats_districts(struct req *r) MUST_USE;
err nat_get_stats_industries(struct req *r) MUST_USE;
err nat_get_stats_scans(struct req *r) MUST_USE;
err nat_get_bureau_streets(struct req *r) MUST_USE;
err nat_get_bureau_industries(struct req *r) MUST_USE;

#endif

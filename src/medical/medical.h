/*
 * Medical resources (医疗卫生资源, seed 003 "医疗卫生资源可视化监测和调度";
 * issue 14; docs/supplies.md "Medical resources"; tables in
 * sql/069_medical.sql).
 *
 * An institution is a place of the registry (src/place) registered with a
 * medical kind: a designated hospital (定点医院), a fever clinic (发热门诊)
 * or a fangcang hospital (方舱医院). Its staff (role hospital_staff, perm
 * medical.report) report its figures: beds total and occupied, ICU beds
 * total and free, testing capacity per day. Each report is kept (the
 * history) and becomes the institution's current figures.
 *
 * The free-bed ratio (free / total, percent rounded down) gives the
 * institution a level the one-map colours it by: "ample" at 30 % or more,
 * "tight" below that with a bed still free, "full" with none, "unknown"
 * before the first report or without beds.
 *
 * Proposals: when staff transfer a person to hospital (the case
 * workflow's hospital observation), the institutions with a free bed in
 * the district of the person's region are proposed, nearest first (the
 * straight distance from the region's centre to the institution's
 * position), the most free first at equal distance. A transfer does not
 * occupy a bed by itself: the hospital's next report carries the
 * admission (the hospital, not the sender, knows whom it admitted).
 * Proposals reach beyond the caller's own community into its district:
 * institutions are no personal data, and a community's patients go to
 * the district's hospitals.
 *
 * Scope: the list, the history and the reports go by the institution's
 * region; an institution outside is E_NOT_FOUND.
 */
#ifndef FK_MEDICAL_MEDICAL_H
#define FK_MEDICAL_MEDICAL_H

#include <jansson.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* designated_hospital, fever_clinic, fangcang */
extern const struct vocab medical_kind_vocab;
/* ample, tight, full, unknown: the free-bed level */
extern const struct vocab medical_level_vocab;

#define MEDICAL_BEDS_MAX    100000   /* beds or ICU beds of one institution */
#define MEDICAL_TESTING_MAX 10000000 /* tests per day */
#define MEDICAL_NOTE_MAX    200
#define MEDICAL_AMPLE_PCT   30  /* free-bed ratio from which an institution is "ample" */
#define MEDICAL_PROPOSALS   10  /* proposals returned at most */
#define MEDICAL_HISTORY_MAX 200 /* reports of one institution returned at most */

/* The level name of `free` of `total` beds ("unknown" when total is 0). */
const char *medical_level(int64_t total, int64_t free);

/* Register place_id (a place inside sc, not deleted) as an institution of
 * `kind`. E_NOT_FOUND for a place outside sc, E_CONFLICT "duplicate" when
 * it is one already. */
err medical_institution_add(db *d, const struct scope *sc, int64_t place_id, const char *kind,
                            int64_t user_id) MUST_USE;

struct medical_figures {
    int64_t beds_total, beds_occupied, icu_total, icu_free, testing_per_day;
    const char *note; /* may be NULL */
};
/* Record a report of place_id's figures inside the caller's transaction:
 * a history row and the current figures. E_NOT_FOUND outside sc; E_INPUT
 * "out_of_range" on beds_occupied (more than beds_total) or icu_free (more
 * than icu_total). *id_r the report's id. */
err medical_report(db *d, const struct scope *sc, int64_t place_id, const struct medical_figures *f,
                   int64_t user_id, int64_t *id_r) MUST_USE;

/* The institutions in sc (kind NULL: every kind), by region and name:
 * [{id (the place's), name, kind, kind_name, region_code, region_name,
 * address, beds_total, beds_occupied, beds_free, icu_total, icu_free,
 * testing_per_day, free_ratio (percent, null without beds), level,
 * level_name, reported_at (null before the first report),
 * reported_today (a report since China midnight)}]. E_DB. */
err medical_institutions(db *d, const struct scope *sc, const char *kind,
                         json_t **items_r) MUST_USE;

/* place_id's reports, newest first (at most MEDICAL_HISTORY_MAX), each
 * with the reporter's display name. E_NOT_FOUND outside sc. */
err medical_history(db *d, const struct scope *sc, int64_t place_id, json_t **items_r) MUST_USE;

/* The proposals for a person of `region_code` (padded, inside sc: else
 * E_NOT_FOUND): the institutions with a free bed in the region's
 * district, nearest first, then the most free; each item as in
 * medical_institutions plus distance_km (null when a position is
 * missing: those come last). E_DB. */
err medical_proposals(db *d, const struct scope *sc, int64_t region_code,
                      json_t **items_r) MUST_USE;

#endif

/*
 * Private to case/ (the observation list, status and timeline part; the
 * incident part keeps its own): the field table of the observation record,
 * the record, and the helpers observe.c, status.c, timeline.c and
 * observe_api.c share. Other capabilities use case.h only.
 */
#ifndef FK_CASE_INTERNAL_H
#define FK_CASE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "case/case.h"
#include "db/fields.h"

/*
 * THE field table of the observation's §5.1 fields (db/fields.h), the
 * ones a create may give and a PATCH may change; row i is bit 1u << i.
 * How, where and since when (kind, source, start, site, room, hospital)
 * are not here: they are set by the create, a move or the end.
 *
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 *
 * Sealed (SM4, "observations.<column without _enc>"): text with a mask rule.
 */
#define OBS_FIELDS(X)                                                                              \
    X(release_status, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME | JF_NULLABLE, &release_status_vocab,    \
      MK_NONE, "解除隔离后状态", "release_status", NULL)                                           \
    X(confirmed_start_at, FD_TIME, J_INT, 0, 0, JF_NULLABLE, NULL, MK_NONE, "隔离起始时间确认",    \
      "confirmed_start_at", NULL)                                                                  \
    X(home_start_at, FD_TIME, J_INT, 0, 0, JF_NULLABLE, NULL, MK_NONE, "居家观察开始时间",         \
      "home_start_at", NULL)                                                                       \
    X(home_end_at, FD_TIME, J_INT, 0, 0, JF_NULLABLE, NULL, MK_NONE, "居家观察结束时间",           \
      "home_end_at", NULL)                                                                         \
    X(arrived_at, FD_TIME, J_INT, 0, 0, JF_NULLABLE, NULL, MK_NONE, "何时来市", "arrived_at",      \
      NULL)                                                                                        \
    X(arrival_transport, FD_TEXT, J_STRING, 0, 20, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL,         \
      MK_NONE, "来市交通方式", "arrival_transport", NULL)                                          \
    X(transport_no, FD_TEXT, J_STRING, 0, 30, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,     \
      "航班/火车班次", "transport_no", NULL)                                                       \
    X(risk_area_stay, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "中高风险地区旅居史",               \
      "risk_area_stay", NULL)                                                                      \
    X(risk_contact, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "接触过中高风险地区旅居或有症状人员", \
      "risk_contact", NULL)                                                                        \
    X(wildlife_contact, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "野生动物接触史",                 \
      "wildlife_contact", NULL)                                                                    \
    X(market_visit, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "农贸生鲜市场活动史", "market_visit", \
      NULL)                                                                                        \
    X(notice_signed, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "已签署告知书", "notice_signed",     \
      NULL)                                                                                        \
    X(home_guide_issued, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "已发放居家指引",                \
      "home_guide_issued", NULL)                                                                   \
    X(enterprise_managed, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "企业管辖人员",                 \
      "enterprise_managed", NULL)                                                                  \
    X(handover, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME,                    \
      "隔离人员移交确认交接人", "handover_enc", NULL)                                              \
    X(evidence, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM, NULL, MK_ADDRESS,                \
      "隔离起始时间确定凭证", "evidence_enc", NULL)                                                \
    X(place, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM, NULL, MK_ADDRESS, "隔离观察地点",   \
      "place_enc", NULL)                                                                           \
    X(housing_type, FD_TEXT, J_STRING, 0, 20, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,     \
      "房屋类型", "housing_type", NULL)                                                            \
    X(co_residents, FD_INT, J_INT, 0, 50, 0, NULL, MK_NONE, "同住人数", "co_residents", NULL)      \
    X(co_residents_info, FD_TEXT, J_STRING, 0, 500, JF_NULLABLE | FL_TRIM, NULL, MK_ADDRESS,       \
      "同住人信息及关系", "co_residents_info_enc", NULL)                                           \
    X(inspections, FD_TEXT, J_STRING, 0, 500, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,     \
      "检查督查人员到岗记录", "inspections", NULL)                                                 \
    X(visit_contact, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME,               \
      "上门排查联系人", "visit_contact_enc", NULL)                                                 \
    X(contact_notice_issued, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "已发放接触隔离通知书",      \
      "contact_notice_issued", NULL)                                                               \
    X(release_notice_issued, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "已发放解除隔离通知书",      \
      "release_notice_issued", NULL)                                                               \
    X(note, FD_TEXT, J_STRING, 0, 500, JF_NULLABLE | FL_TRIM, NULL, MK_ADDRESS,                    \
      "后续行为动态记录", "note_enc", NULL)

enum {
    OBS_FIELD_COUNT = 0
#define OBS_ONE(...) +1
    OBS_FIELDS(OBS_ONE)
#undef OBS_ONE
};

struct observation {
    int64_t id, person_id, region_code, incident_id;
    enum observe_kind kind;
    enum case_source source;
    enum observe_state state;
    int64_t start_at, planned_end_at, ended_at;
    const char *end_reason;
    int64_t site_id;
    const char *room_no, *hospital;
    int64_t isolation_id;
    /* the table's rows */
    enum release_status release_status;
    int64_t confirmed_start_at, home_start_at, home_end_at, arrived_at;
    const char *arrival_transport, *transport_no;
    bool risk_area_stay, risk_contact, wildlife_contact, market_visit;
    bool notice_signed, home_guide_issued, enterprise_managed;
    const char *handover, *evidence, *place, *housing_type;
    int64_t co_residents;
    const char *co_residents_info, *inspections, *visit_contact;
    bool contact_notice_issued, release_notice_issued;
    const char *note;
    int64_t version, created_by, created_at, updated_at;
    /* joined, read-only */
    const char *person_name;   /* plain: the caller masks */
    const char *person_status; /* person_status name */
    const char *region_name, *site_name;
};

/* Row numbers of the table by member name: OBS_BIT(note) is note's bit. */
enum {
#define OBS_IDX(m, ...) OBSF_##m,
    OBS_FIELDS(OBS_IDX)
#undef OBS_IDX
};
#define OBS_BIT(m) (1u << OBSF_##m)

extern const struct field obs_rows[OBS_FIELD_COUNT];

/* The person person_id, live and inside sc: its region and status
 * (either pointer may be NULL). E_NOT_FOUND otherwise. */
err case_person_in_scope(db *d, const struct scope *sc, int64_t person_id, int64_t *region_r,
                         int *status_r) MUST_USE;

/* The Chinese label of a timeline action ("observed" -> 纳入隔离观察);
 * the action itself when unknown. */
const char *case_action_label(const char *action);

/*
 * Who did a step, by name (a list never shows a raw user id): the columns
 * to select from `users u` LEFT JOINed on the row's user_id, and the name
 * from them at column `col` — the display name, else the account name;
 * "系统规则" for a step of a rule (user_id 0). Every case list that names
 * its actor reads it this way (timelines, status changes).
 */
#define CASE_ACTOR_COLS "COALESCE(u.display_name, ''), COALESCE(u.username, '')"
const char *case_actor_name(db_stmt *s, int col, int64_t user_id);

/* A person's timeline inside sc, newest first: JSON items with actor
 * names. E_NOT_FOUND when the person is not in scope. */
err case_person_timeline(db *d, const struct scope *sc, int64_t person_id, int64_t page,
                         int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* Is s (enum person_status) one of the observation states? */
bool case_status_is_observation(int s);

/* Add delta to a counter (src/stats) at region and day: the measures of
 * case.h, registered by case_register. */
err case_count(db *d, const char *measure, int64_t region, int64_t day, int64_t delta) MUST_USE;

/* Move the levels of an active observation of `kind` from `source` at
 * region (case.observing.<kind>, case.contacts) by delta. */
err case_observing_count(db *d, enum observe_kind kind, enum case_source source, int64_t region,
                         int64_t delta) MUST_USE;

/* The observations of the region range [lo, hi) from the counters: all
 * of them (case.observe.new's total), the active ones (the sum of
 * case.observing.<kind>) and the released (case.release.new's total);
 * exact, as every counter moves in the transaction of the change. */
err case_observations_counted(db *d, int64_t lo, int64_t hi, int64_t *all_r, int64_t *active_r,
                              int64_t *released_r) MUST_USE;

/* Move the levels of a room of site_id in `state` at region
 * (case.rooms.<state> and the site's case.site.<state>.<site>) by delta. */
err case_room_count(db *d, int64_t site_id, enum room_state state, int64_t region,
                    int64_t delta) MUST_USE;

/* ---- status (status.c) --------------------------------------------------------- */

/* Is from -> to allowed by the state machine (docs/cases.md)? Pure. */
bool case_status_allowed(int from, int to);

/*
 * The statuses person_id (inside sc, else E_NOT_FOUND) may change to from
 * the current one, from the table case_status_allowed reads (the one
 * truth the console's status form follows):
 * {"status", "status_name", "targets": [{"status", "name"}, …]} in the
 * vocabulary's order.
 */
err case_status_targets_json(db *d, const struct scope *sc, int64_t person_id,
                             json_t **o_r) MUST_USE;

/* struct case_status_in and case_status_set are in case.h (the exchange
 * writes a whole status change through them). */

/* case_status_changes (a person's status changes) is in case.h. */

/* One status change as JSON (the POST's reply): case_status_change_json, case.h. */

/* Move the counters of a status change from -> to at region, at time
 * `at` (measures.c): the status levels, the flow of entering `to`, and a
 * new confirmed case by its route. */
err case_status_count(db *d, int64_t region, int from, int to, enum infection_route route,
                      int64_t at) MUST_USE;

/* ---- observations (observe.c) --------------------------------------------------- */

/* case_observe with every §5.1 field of the table: the rows in `set`
 * of `fields` (may be NULL when set is 0) beside the create's own. */
err case_observe_full(db *d, arena *a, const struct principal *who,
                      const struct case_observe_in *in, const struct observation *fields,
                      unsigned set, int64_t *observation_id_r) MUST_USE;

/* Close the person's active observation, if any, as `state` (a status
 * change released the person or made them a case). */
err case_observe_close_open(db *d, arena *a, const struct principal *who, int64_t person_id,
                            enum observe_state state) MUST_USE;

/* One observation inside sc (plain texts; the caller masks). */
err case_observation_find(db *d, arena *a, const struct scope *sc, int64_t id,
                          struct observation *o_r) MUST_USE;

/* Update the table's rows in `set` from `in` (version check: E_CONFLICT
 * "version_conflict"). Inside the caller's transaction. */
err case_observation_update(db *d, arena *a, const struct principal *who, int64_t id,
                            int64_t version, const struct observation *in, unsigned set) MUST_USE;

struct case_observe_filter {
    enum observe_state state; /* 0: any */
    enum observe_kind kind;
    enum case_source source;
    int64_t site_id;
    int person_status;          /* 0: any */
    int64_t planned_end_before; /* 0: any */
    const char *q;              /* the person's name (blind-indexed tokens, as the person list) */
    int64_t person_id;          /* 0: any; one person's observations, open and closed */
    int64_t page, page_size;    /* page_size 0: export, up to 10000 */
};

err case_observation_list(db *d, arena *a, const struct scope *sc,
                          const struct case_observe_filter *f, struct observation **items_r,
                          size_t *n_r, int64_t *total_r, json_t **counts_r) MUST_USE;

/*
 * Every observation of the list's filter (paging ignored), in id order,
 * read in keyset pages of 1000 into `scratch`, which is reset between
 * pages: fn sees each row once and must not keep it. Memory stays flat
 * however many rows match (the xlsx export). *n_r: the rows seen. Stops
 * at fn's first error and returns it.
 */
err case_observation_each(db *d, arena *scratch, const struct scope *sc,
                          const struct case_observe_filter *f,
                          err (*fn)(void *ctx, const struct observation *o), void *ctx,
                          int64_t *n_r) MUST_USE;

/* Move an active central observation to a free room (site_id, room_no). */
err case_observe_move(db *d, arena *a, const struct principal *who, int64_t id, int64_t site_id,
                      const char *room_no) MUST_USE;

/* Rooms: add (bulk), list, close / reopen, and the occupancy of the sites in scope. */
err case_rooms_add(db *d, arena *a, const struct scope *sc, int64_t site_id,
                   const char *const *rooms, size_t n, int64_t *added_r) MUST_USE;
err case_rooms_list(db *d, arena *a, const struct scope *sc, int64_t site_id,
                    json_t **items_r) MUST_USE;
err case_room_set_closed(db *d, const struct scope *sc, int64_t site_id, const char *room_no,
                         bool closed) MUST_USE;
err case_sites(db *d, arena *a, const struct scope *sc, json_t **items_r) MUST_USE;

/* Tell the subscriber of case_on_write (case's own files). */
err case_written(db *d, enum case_record kind, int64_t id, int64_t person_id,
                 int64_t region_code) MUST_USE;

/* Periods: the days of each kind (14 by default; hospital 0). */
err case_period_days(db *d, enum observe_kind kind, int64_t *days_r) MUST_USE;
err case_periods_json(db *d, json_t **o_r) MUST_USE;
err case_periods_save(db *d, json_t *periods, int64_t user_id) MUST_USE;

#endif

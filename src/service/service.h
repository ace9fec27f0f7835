/*
 * Community services for residents (居民服务, issue 14, seed 002 二(五)-二(六);
 * docs/community-services.md): the emergency call of the elderly and other
 * vulnerable residents, and the duty roster it reads.
 *
 * Emergency call (紧急呼叫): a resident presses the button on the phone; the
 * call raises an alert of kind "emergency_call" (ALERT_CRITICAL) on the
 * resident's community, carrying where (region names and the address,
 * masked) and whom to call (the emergency contact, masked) and naming the
 * staff on duty now. With nobody on duty a second alert is raised on the
 * street, so the street's staff see it too. The call has no state of its
 * own: it is open while none of its alerts is acknowledged, and handled by
 * whoever acknowledged one first (their name, time and note are the
 * outcome the resident sees). One open call per person: a second press
 * while one is open returns the open one.
 *
 * Duty roster (值班表): per community, staff accounts whose scope holds the
 * community, each with a from/to window.
 *
 * Scope: calls by the person's residence, duty by the community, bound in
 * the same statement as every other regional record.
 */
#ifndef FK_SERVICE_SERVICE_H
#define FK_SERVICE_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/time.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* ---- duty roster ------------------------------------------------------------ */

#define SERVICE_DUTY_MAX_MS (31LL * 24 * 3600 * 1000) /* one entry covers at most a month */

struct service_duty_new {
    int64_t region_code; /* padded; a community inside the caller's scope */
    int64_t user_id;     /* an enabled staff account whose scope holds it */
    int64_t from_at, to_at;
    int64_t created_by;
};

/*
 * Add an entry. E_INPUT "invalid_region" (field region_code) unless a
 * community inside sc; "invalid_user" (user_id) for no such enabled staff
 * account or one whose scope does not hold the community; "invalid_period"
 * (to) when to <= from, to is past, or longer than SERVICE_DUTY_MAX_MS.
 * *id_r the new id.
 */
err service_duty_add(db *d, const struct scope *sc, const struct service_duty_new *n,
                     int64_t *id_r) MUST_USE;

/* Delete entry id inside sc; E_NOT_FOUND otherwise. */
err service_duty_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

/* Entries inside sc (region_code > 0: that community only) whose window
 * ends after `after` (0: all), soonest first, as JSON objects {id,
 * region_code, region_name, user_id, user_name, from, to, on_duty}. */
err service_duty_list(db *d, const struct scope *sc, int64_t region_code, int64_t after,
                      int64_t now, json_t **items_r) MUST_USE;

/* The staff who may be put on duty for `community` (inside sc): enabled
 * staff accounts whose region is the community or one of its ancestors, as
 * {id, name, region_name}, by name; E_INPUT "invalid_region" (field
 * "region") unless a community inside sc. */
err service_duty_candidates(db *d, const struct scope *sc, int64_t community,
                            json_t **items_r) MUST_USE;

/* ---- emergency call ------------------------------------------------------------ */

/*
 * Resident `who` calls for help. Inside one transaction (the person's row
 * locked first, so two presses are one call): an open call of the person
 * is returned as it is (*created_r false); else the call and its alerts
 * are written (*created_r true). E_NOT_FOUND "person_not_registered" when
 * the account is bound to no live record. *id_r the call's id.
 */
err service_emergency_call(db *d, arena *a, const struct principal *who, int64_t now, int64_t *id_r,
                           bool *created_r) MUST_USE;

/* The newest call of resident `who` as the resident sees it (no personal
 * data but their own state): {id, at, state, on_duty, handled_by_name,
 * handled_at, note}, or NULL when none. */
err service_emergency_mine(db *d, const struct principal *who, json_t **item_r) MUST_USE;

struct emergency_filter {
    int state; /* -1 any, 0 open, 1 handled */
    int64_t page, page_size;
};

/* Calls inside sc, newest first, as JSON objects with the person's name,
 * address and emergency contact masked unless `reveal`. */
err service_emergency_list(db *d, arena *a, const struct scope *sc,
                           const struct emergency_filter *f, bool reveal, json_t **items_r,
                           int64_t *total_r) MUST_USE;

/* One call inside sc as in the list; E_NOT_FOUND outside it. */
err service_emergency_get(db *d, arena *a, const struct scope *sc, int64_t id, bool reveal,
                          json_t **item_r) MUST_USE;

/*
 * Handle call id inside sc: acknowledge its community alert with `note`
 * (the outcome, 1..ALERT_NOTE_MAX characters) by user_id, and its street
 * alert too when one is open, in one transaction. E_NOT_FOUND outside sc,
 * E_CONFLICT "already_handled" when it was, E_INPUT "invalid_note".
 */
err service_emergency_handle(db *d, arena *a, const struct scope *sc, int64_t id, int64_t user_id,
                             const char *note) MUST_USE;

/* ---- elderly health monitoring (checkin.c) ------------------------------------ */

/*
 * Enrolled (纳入健康监测): every live person flagged elderly_alone, unless
 * staff removed them, and whoever staff added. Each enrolled person checks
 * in once a China day (今日平安, optionally a temperature and how they
 * feel), on their phone or through staff recording it for them. A day that
 * ends without a check-in becomes a task "care_missed" for the grid
 * workers of the person's region (one per person and day), made by the
 * sweep (service_care_sweep) that the server runs periodically over the
 * previous day.
 */
#define SERVICE_TASK_CARE_MISSED "care_missed"

/* Register the task kinds of this capability (app.c, at start-up). */
err service_task_kinds_register(void) MUST_USE;

enum care_feeling { CARE_GOOD = 1, CARE_FAIR, CARE_UNWELL };
extern const struct vocab care_feeling_vocab; /* "good" 良好, "fair" 一般, "unwell" 不适 */

struct care_checkin_new {
    int64_t person_id;  /* staff: the person; residents: 0 (their own record) */
    double temperature; /* °C in [35, 42], or 0: not taken */
    int feeling;        /* enum care_feeling; 0: good */
    int64_t by_user;
    bool by_staff;
};

/*
 * Record today's check-in of the person (inside sc for staff; the
 * resident's own record for residents, sc NULL). E_NOT_FOUND for a person
 * outside sc (residents: "person_not_registered"), E_CONFLICT
 * "not_enrolled" for one not enrolled, E_INPUT "invalid_temperature".
 * Already checked in today: *created_r false and nothing changes. *item_r
 * the day's check-in as JSON.
 */
err service_care_checkin(db *d, arena *a, const struct scope *sc, const struct principal *who,
                         const struct care_checkin_new *n, int64_t now, json_t **item_r,
                         bool *created_r) MUST_USE;

/* The resident's own state: {enrolled, today (check-in or null), recent
 * (the last 7 check-ins)}. */
err service_care_mine(db *d, const struct principal *who, int64_t now, json_t **o_r) MUST_USE;

struct care_filter {
    int state;   /* -1 any, 0 not checked in on `day`, 1 checked in */
    int64_t day; /* China day number */
    int64_t page, page_size;
};

/* Enrolled people inside sc with their check-in of f->day, names and
 * addresses masked, by region then id. */
err service_care_people(db *d, arena *a, const struct scope *sc, const struct care_filter *f,
                        json_t **items_r, int64_t *total_r) MUST_USE;

/* Enrol (active) or remove person_id inside sc, by user_id. E_NOT_FOUND
 * outside sc. */
err service_care_enrol(db *d, const struct scope *sc, int64_t person_id, bool active,
                       int64_t user_id) MUST_USE;

/* Per community inside sc on `day`: {region_code, region_name, enrolled,
 * checked, missing}. */
err service_care_stats(db *d, arena *a, const struct scope *sc, int64_t day,
                       json_t **items_r) MUST_USE;

/*
 * Make the tasks of `day` (a China day number, not after today's): one
 * "care_missed" task per enrolled person enrolled before the day ended
 * with no check-in that day and no task for it yet, for the grid workers
 * of their region, due a day later. One transaction; *n_r the tasks made.
 */
err service_care_sweep(db *d, int64_t day, int64_t now, int64_t *n_r) MUST_USE;

/* China day number `day` as "YYYY-MM-DD" (CHINA_TIME_LEN bytes). */
void service_day_text(int64_t day, char out[CHINA_TIME_LEN]);

/* The thread that sweeps the previous day every `every_s` seconds (0: never). */
err service_worker_start(const char *db_url, int every_s) MUST_USE;
void service_worker_stop(void);

/* ---- help requests (help.c) ------------------------------------------------------ */

/*
 * Help requests (求助): a resident asks the community for help of a kind
 * (help_kind_vocab) in their own words, with photos (src/attach, owner
 * kind "help_request"). The request has its own state:
 *
 *   submitted --assign--> assigned --start--> in_progress --done--> done
 *   submitted/assigned/in_progress --cancel (staff, with a reason)--> cancelled
 *   submitted/assigned --cancel (the resident)--> cancelled
 *   assigned/in_progress --assign--> the same state, another handler
 *
 * Staff with service.manage assign it to a staff account that holds
 * assist.work and whose region is the request's community or one of its
 * ancestors, or to an approved volunteer of that community (the role
 * `volunteer` grants assist.work; volunteer_region() says where they
 * belong), who works it from the phone (service_help_volunteer_*); start and done are the handler's
 * (or a manager's), each with an optional note (done and a staff cancel need one) that the resident
 * reads. Scope is the person's residence when they asked, bound in the
 * same statement; the text is sealed.
 */
#define HELP_TEXT_MAX 500 /* characters */
#define HELP_NOTE_MAX 200

enum help_kind {
    HELP_MEDICINE = 1,
    HELP_GOODS,
    HELP_DOCTOR,
    HELP_COUNSEL,
    HELP_CHILDCARE,
    HELP_OTHER
};
extern const struct vocab help_kind_vocab;  /* medicine 药品, goods 生活物资, … */
extern const struct vocab help_state_vocab; /* submitted 待受理, assigned 已指派, … */

enum help_state { HELP_SUBMITTED = 1, HELP_ASSIGNED, HELP_IN_PROGRESS, HELP_DONE, HELP_CANCELLED };

/*
 * Resident `who` asks for help: kind (enum help_kind), text (1..HELP_TEXT_MAX
 * characters), attachments (a JSON array of their own upload ids, or NULL).
 * One transaction: the request and its photos, or nothing (a photo not
 * theirs: E_INPUT "invalid_attachment"). E_NOT_FOUND "person_not_registered"
 * for an account bound to no live record. *id_r the new id.
 */
err service_help_submit(db *d, arena *a, const struct principal *who, int kind, const char *text,
                        json_t *attachments, int64_t now, int64_t *id_r) MUST_USE;

/* The resident's own requests, newest first ({id, kind, kind_label, text,
 * state, state_label, assignee_name, note, created_at, updated_at}), or
 * one of them with its attachments (E_NOT_FOUND when it is not theirs). */
err service_help_mine(db *d, arena *a, const struct principal *who, int64_t page, int64_t page_size,
                      json_t **items_r, int64_t *total_r) MUST_USE;
err service_help_mine_get(db *d, arena *a, const struct principal *who, int64_t id,
                          json_t **item_r) MUST_USE;

struct help_filter {
    int state;        /* enum help_state, 0 any; -1 open (submitted, assigned, in_progress) */
    int kind;         /* enum help_kind, 0 any */
    int64_t region;   /* padded region inside the scope (its subtree), 0 the whole scope */
    int64_t assignee; /* a user id, 0 anyone */
    bool vulnerable;  /* only requesters in a vulnerable group (persons.vulnerable) */
    bool observed;    /* only requesters on the observation list now (an active observation) */
    int64_t page, page_size;
};

/* One row of the staff list or export (help_each's callback). */
struct help_row {
    int64_t id, person_id, region_code, assignee_id, created_at, updated_at, closed_at;
    const char *person_name; /* masked unless reveal */
    const char *phone;       /* masked unless reveal */
    const char *region_name, *kind, *state, *text, *assignee_name, *note;
    bool vulnerable, observed; /* the requester in a vulnerable group / on observation now */
};

/* Requests inside sc matching f, newest first, page by page, each handed to
 * fn (stops at its first error). *total_r the number matching. */
err service_help_each(db *d, arena *a, const struct scope *sc, const struct help_filter *f,
                      bool reveal, err (*fn)(void *ctx, const struct help_row *h), void *ctx,
                      int64_t *total_r) MUST_USE;

/* A row as the JSON object the staff list and detail show. */
json_t *service_help_json(const struct help_row *h);

/* One request inside sc with its attachments; E_NOT_FOUND outside it. */
err service_help_get(db *d, arena *a, const struct scope *sc, int64_t id, bool reveal,
                     json_t **item_r) MUST_USE;

/*
 * Change request id inside sc (E_NOT_FOUND outside it) by user `by`:
 * action "assign" (assignee: an enabled staff account holding assist.work
 * whose region holds the request's community, else E_INPUT "invalid_user"
 * on "assignee_id"; needs `manage`), "start", "done", "cancel". start and
 * done are the assignee's or a manager's (E_FORBIDDEN "forbidden").
 * A change the state forbids: E_CONFLICT "invalid_transition". done and
 * cancel need a note (E_INPUT "required" on "note"). One statement guarded
 * by the state read, so two staff acting at once change it once.
 */
err service_help_act(db *d, const struct scope *sc, int64_t id, const char *action,
                     int64_t assignee, const char *note, int64_t by, bool manage,
                     int64_t now) MUST_USE;

/* The resident cancels their own request while nobody has started it
 * (E_CONFLICT "invalid_transition" after; E_NOT_FOUND when not theirs). */
err service_help_cancel_mine(db *d, const struct principal *who, int64_t id, int64_t now) MUST_USE;

/* Who may be assigned requests of `community` (inside sc): staff as
 * service_duty_candidates holding assist.work, then the community's approved
 * volunteers; items {id, name, kind "staff"|"volunteer", region_name}, a
 * volunteer named 「志愿者 张*」 (masked, never a phone). */
err service_help_assignees(db *d, arena *a, const struct scope *sc, int64_t community,
                           json_t **items_r) MUST_USE;

/*
 * The volunteer's side: the requests assigned to approved volunteer `who`
 * inside their community (volunteer_region()), open first then newest:
 * {id, person_name (masked), building_name, kind, kind_label, text, state,
 * state_label, note, created_at, updated_at, closed_at}. A staff account:
 * E_FORBIDDEN "residents_only"; a resident who is not an approved volunteer:
 * E_FORBIDDEN "volunteer_not_approved"; a request not assigned to them:
 * E_NOT_FOUND "not_found" (never told apart from an absent one).
 * volunteer_act: action "start" or "done" through service_help_act.
 */
err service_help_volunteer_list(db *d, arena *a, const struct principal *who, int64_t page,
                                int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;
err service_help_volunteer_get(db *d, arena *a, const struct principal *who, int64_t id,
                               json_t **item_r) MUST_USE;
err service_help_volunteer_act(db *d, arena *a, const struct principal *who, int64_t id,
                               const char *action, const char *note, int64_t now) MUST_USE;

/* ---- environment clues (clue.c) --------------------------------------------------- */

/*
 * Environment clues (线索): a resident reports a problem they saw — a
 * category (clue_category_vocab), text, photos (owner kind "env_clue"), the
 * phone's position (optional) — and the clue becomes a task of kind
 * "env_clue" for the community staff (role community_staff) of the
 * resident's region, due in SERVICE_CLUE_DUE_MS. Completing the task with
 * {result: {text}} records the result on the clue (state done), which the
 * resident reads; a cancelled task closes it (state cancelled).
 */
#define SERVICE_TASK_ENV_CLUE "env_clue"
#define SERVICE_CLUE_DUE_MS   (3LL * 24 * 3600 * 1000)
#define CLUE_TEXT_MAX         500

extern const struct vocab clue_category_vocab; /* road 公共道路, space 公共空间, … */

struct clue_new {
    int category; /* index into clue_category_vocab */
    const char *text;
    bool has_pos;
    double lat, lng;
    json_t *attachments; /* the resident's upload ids, or NULL */
};

/* Register the "env_clue" task kind (service_task_kinds_register). */
err service_clue_task_kind_register(void) MUST_USE;

/* File resident who's clue and its task in one transaction. E_INPUT
 * "invalid_value" (category), "invalid_position" (lat/lng), "invalid_attachment";
 * E_NOT_FOUND "person_not_registered". *id_r the clue. */
err service_clue_submit(db *d, arena *a, const struct principal *who, const struct clue_new *n,
                        int64_t now, int64_t *id_r) MUST_USE;

/* The resident's own clues, newest first ({id, category, category_label,
 * text, state, state_label, result, result_at, created_at}); one with
 * attachments (E_NOT_FOUND when not theirs). */
err service_clue_mine(db *d, arena *a, const struct principal *who, int64_t page, int64_t page_size,
                      json_t **items_r, int64_t *total_r) MUST_USE;
err service_clue_mine_get(db *d, arena *a, const struct principal *who, int64_t id,
                          json_t **item_r) MUST_USE;

/* Clues inside sc (state "" any, else open|done|cancelled; category 0 any),
 * newest first, with the reporter masked, the task id and its state. */
err service_clue_list(db *d, arena *a, const struct scope *sc, const char *state, int category,
                      int64_t page, int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* ---- disinfection and inspection records (inspect.c) ------------------------------ */

/*
 * Disinfection and inspection (消杀与巡查): the objects a community looks
 * after on a schedule (a public space, a market, a group of stalls), each
 * with one schedule — every N hours or days a record of one kind (消杀
 * disinfect | 巡查 patrol) is due. Staff holding assist.work (community
 * staff, grid workers) record one with a result, notes and photos (owner
 * kind "inspect_record"); the next due time is the record's time plus the
 * period. service.manage adds objects. A periodic sweep raises one task
 * "inspect_overdue" (role community_staff, the object's community) per
 * object past due and none while that task is open (to the object's
 * responsible staff account instead when it has one); the next record
 * completes it. service.manage edits an object (optimistic "version") and
 * retires it (停用): a retired object leaves the sweep, the counts and the
 * default list, its open task is cancelled, its records stay readable.
 * Objects are places, not people: nothing here is sealed.
 */
#define SERVICE_TASK_INSPECT "inspect_overdue"
#define INSPECT_NAME_MAX     40 /* characters: the overdue task's title holds it */
#define INSPECT_NOTES_MAX    500
#define INSPECT_HOURS_MAX    168 /* every 1..168 hours */
#define INSPECT_DAYS_MAX     90  /* every 1..90 days */
#define INSPECT_SWEEP_MAX    200 /* objects one sweep raises tasks for; the next run goes on */
#define INSPECT_RECENT       20  /* records the detail shows */

extern const struct vocab inspect_object_kind_vocab; /* space 公共空间, market 集贸市场, … */
extern const struct vocab inspect_record_kind_vocab; /* disinfect 消杀, patrol 巡查 */
extern const struct vocab inspect_result_vocab;      /* ok 正常, issue 发现问题 */
extern const struct vocab inspect_unit_vocab;        /* hour 小时, day 天 */

struct inspect_object_new {
    int64_t region; /* padded community code, inside the caller's scope */
    const char *name;
    int kind, record_kind, unit; /* indexes into the vocabularies above */
    int every_n;
    int64_t place_id; /* a place inside the community, 0 none */
    bool has_pos;
    double lat, lng;
    int64_t last_at;        /* when it was last done before being entered, 0 unknown */
    int64_t responsible_id; /* a staff account in charge (task.work, scope holds region), 0 none */
};

/* Add an object inside sc. E_INPUT on "region" (not a community in scope),
 * "name", "kind", "record_kind", "every_unit", "every_n" (out of range),
 * "place_id" (no such place in the community), "lat" (position),
 * "last_at" (in the future or over a year ago), "responsible_id" (no
 * enabled staff account holding task.work whose scope holds the region). */
err service_inspect_object_add(db *d, const struct scope *sc, const struct inspect_object_new *n,
                               int64_t by, int64_t now, int64_t *id_r) MUST_USE;

struct inspect_filter {
    int64_t region; /* padded region inside sc (its subtree), 0 the whole scope */
    int kind;       /* inspect_object_kind_vocab index, 0 any */
    bool overdue;   /* only those past due at `now` */
    int retired;    /* enum inspect_retired */
    int64_t page, page_size;
};
enum inspect_retired { INSPECT_IN_SERVICE, INSPECT_RETIRED, INSPECT_ANY };

/* Objects inside sc, the most overdue first ({id, name, kind, kind_label,
 * record_kind(_label), every_n, every_unit, every_label, region_code,
 * region_name, place_name, lat, lng, last_at, last_result(_label),
 * last_by_name, due_at, overdue, task_id, version, responsible_id,
 * responsible_name, retired, retired_at}). */
err service_inspect_objects(db *d, const struct scope *sc, const struct inspect_filter *f,
                            int64_t now, json_t **items_r, int64_t *total_r) MUST_USE;

/* One object inside sc (E_NOT_FOUND outside it) with its latest
 * INSPECT_RECENT records, each with its photos ("records"). */
err service_inspect_object_get(db *d, const struct scope *sc, int64_t id, int64_t now,
                               json_t **item_r) MUST_USE;

struct inspect_record_new {
    int kind;   /* inspect_record_kind_vocab index; 0: the schedule's kind */
    int result; /* inspect_result_vocab index, required */
    const char *notes;
    json_t *attachments; /* the recorder's upload ids, or NULL */
};

/* Record one for object id inside who's scope (E_NOT_FOUND outside it), in
 * one transaction: the record, its photos, the object's last/due times,
 * and the open overdue task completed. E_INPUT on "result", "kind",
 * "notes" (an issue needs notes), "attachments". */
err service_inspect_record(db *d, arena *a, const struct principal *who, int64_t id,
                           const struct inspect_record_new *n, int64_t now,
                           int64_t *record_r) MUST_USE;

/* A change of an object: NULL/0 fields stay as they are. */
struct inspect_object_patch {
    int64_t version; /* the version read, 0: no check */
    const char *name;
    int kind, record_kind, unit; /* vocabulary indexes, 0 unchanged */
    int every_n;                 /* 0 unchanged */
    bool set_responsible;        /* responsible_id given (0 clears it) */
    int64_t responsible_id;
};

/* Change object id inside who's scope in one transaction (E_NOT_FOUND
 * outside it; E_CONFLICT "version_conflict" when it changed since
 * `version`, "object_retired" once retired). A new period moves the next
 * due time to the last record (or the start) plus the new period; when
 * that leaves the object no longer overdue its open overdue task is
 * cancelled. E_INPUT as service_inspect_object_add on the fields given,
 * "empty_update" when none is. */
err service_inspect_object_update(db *d, arena *a, const struct principal *who, int64_t id,
                                  const struct inspect_object_patch *p, int64_t now) MUST_USE;

/* Retire (停用) object id inside who's scope in one transaction: it leaves
 * the sweep and the counts, its open overdue task is cancelled, its
 * records stay. E_NOT_FOUND outside the scope, E_CONFLICT
 * "version_conflict" (version > 0 and stale) or "object_retired". */
err service_inspect_object_retire(db *d, arena *a, const struct principal *who, int64_t id,
                                  int64_t version, int64_t now) MUST_USE;

/* Per community inside sc with objects in service: the counts at `now`. */
struct inspect_stat {
    int64_t region_code;
    const char *region_name;
    int64_t objects, records_week, overdue; /* records: today and the six China days before */
};
err service_inspect_stats(db *d, const struct scope *sc, int64_t now,
                          err (*fn)(void *ctx, const struct inspect_stat *st), void *ctx) MUST_USE;

/* Raise an "inspect_overdue" task for each object past due at `now` with
 * none open (at most INSPECT_SWEEP_MAX a run), claiming each row first so
 * that servers sweeping one database raise it once. *n_r the tasks. */
err service_inspect_sweep(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* Register the "inspect_overdue" task kind (service_task_kinds_register). */
err service_inspect_task_kind_register(void) MUST_USE;

/* The sweep's thread every every_s seconds (0: none); stopped at shutdown
 * (service_worker_start / service_worker_stop start and stop it). */
err service_inspect_worker_start(const char *db_url, int every_s) MUST_USE;
void service_inspect_worker_stop(void);

#endif

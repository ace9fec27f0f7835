/*
 * Enterprises resuming work (复工复产, issue 14 "Enterprises", seed 001
 * §4.1.5, seed 003; docs/enterprise.md): the employees of an enterprise,
 * their returning-staff declarations (返岗申报) and the enterprise's
 * resume-work applications (复工申请) reviewed by its street.
 *
 * The enterprise record is place.h's (enterprises); this capability hangs
 * its records on it. Who may act on an enterprise (ent_reach):
 *   - an account bound to an enterprise (enterprise_accounts; role
 *     `enterprise` 企事业单位) reaches exactly that enterprise, wherever its
 *     scope is: another enterprise is answered E_NOT_FOUND, like an unknown
 *     one, and the API audits the refusal;
 *   - any other account reaches the enterprises inside its scope (the
 *     street's staff: the enterprises of their street).
 *
 * Employees are people of the registry (person.h): adding one finds the
 * holder of the identity document deployment-wide or creates the person in
 * the enterprise's region, so names, numbers and phones stay sealed in
 * persons and leave the server masked. Every function here takes the
 * enterprise already reached, and binds its id in the same statement.
 *
 * Nothing here knows HTTP (api.c). Strings returned come from the arena.
 */
#ifndef FK_ENTERPRISE_ENTERPRISE_H
#define FK_ENTERPRISE_ENTERPRISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "enterprise/vocab.h"
#include "place/place.h"
#include "security/auth.h"

/* ---- who acts for an enterprise ---------------------------------------------------------- */

/*
 * Bind account user_id (an existing account holding the role `enterprise`)
 * to enterprise_id, a live enterprise inside `scope`; a new binding
 * replaces the old. E_INPUT "invalid_user" (field user_id) for an unknown
 * account or one without that role, E_NOT_FOUND for the enterprise.
 */
err ent_account_bind(db *d, arena *a, const struct scope *scope, int64_t by, int64_t user_id,
                     int64_t enterprise_id) MUST_USE;

/* The enterprise account user_id acts for; 0 when none. */
err ent_account_of(db *d, int64_t user_id, int64_t *enterprise_id_r) MUST_USE;

/*
 * The enterprise `who` may act on (see the top): E_NOT_FOUND for another
 * enterprise of a bound account, or one outside a staff account's scope.
 * enterprise_id 0 asks for a bound account's own (E_INPUT "required",
 * field enterprise_id, for staff).
 */
err ent_reach(db *d, arena *a, const struct principal *who, int64_t enterprise_id,
              struct enterprise *e_r) MUST_USE;

/* ---- employees --------------------------------------------------------------------------- */

#define EMPLOYEE_TEXT_MAX 50 /* department, post, shift: characters */
#define EMPLOYEE_LIST_MAX 10000

struct employee {
    int64_t id;
    int64_t enterprise_id;
    int64_t person_id;
    const char *name, *phone, *id_number; /* plain (the API masks them) */
    const char *department, *post, *shift;
    const char *code_colour; /* the person's health code now ("green" when none) */
    int64_t created_at, updated_at;
};

/* What an add or a change writes. An add needs id_number and name (phone
 * optional, a mainland mobile); a change sets department, post and shift
 * only (the person's own fields are the registry's). */
struct employee_input {
    const char *id_number, *name, *phone;
    const char *department, *post, *shift;
};

/* Check the input without the database; E_INPUT naming the field
 * ("required", "too_long", "invalid_id_number", "invalid_phone"). */
err employee_input_check(const struct employee_input *in, bool add) MUST_USE;

/*
 * Add an employee to ent: the live holder of the resident id (anywhere),
 * whose name must be `name` (E_INPUT "name_mismatch" on name otherwise:
 * a typo must not link a stranger), or a new person created in ent's
 * region with this name and phone, by `who`. E_CONFLICT
 * "duplicate_employee" when the person already works there. Inside the
 * caller's transaction.
 */
err employee_add(db *d, arena *a, const struct principal *who, const struct enterprise *ent,
                 const struct employee_input *in, int64_t *id_r) MUST_USE;

/* One live employee of ent; E_NOT_FOUND otherwise. */
err employee_find(db *d, arena *a, int64_t enterprise_id, int64_t id, struct employee *x) MUST_USE;

/* The enterprise of live employee id (before ent_reach decides whether the
 * caller may see it); E_NOT_FOUND. */
err employee_enterprise(db *d, int64_t id, int64_t *enterprise_id_r) MUST_USE;

/* The live employee row of person_id at enterprise_id (0: any enterprise,
 * the oldest); E_NOT_FOUND when the person works at none. */
err employee_of_person(db *d, arena *a, int64_t person_id, int64_t enterprise_id,
                       struct employee *x) MUST_USE;

/* Set department, post and shift (NULL: unchanged). E_NOT_FOUND. */
err employee_update(db *d, int64_t enterprise_id, int64_t id,
                    const struct employee_input *in) MUST_USE;

/* The employee leaves (soft delete). E_NOT_FOUND. */
err employee_remove(db *d, int64_t enterprise_id, int64_t id) MUST_USE;

struct employee_filter {
    const char *department;  /* exact, NULL: any */
    int64_t page, page_size; /* page_size 0: all up to EMPLOYEE_LIST_MAX */
};
err employee_list(db *d, arena *a, int64_t enterprise_id, const struct employee_filter *f,
                  struct employee **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* ---- the employee import (员工导入) ------------------------------------------------------------
 */

#define EMPLOYEE_IMPORT_SHEET    "员工"
#define EMPLOYEE_IMPORT_MAX_ROWS 5000

/* The import template (xlsx: 姓名, 证件类型, 证件号码, 手机号码, 部门, 岗位,
 * 班次, with hints) to a temporary file (job/import.h import_template). */
err employee_import_template(int *fd_r, int64_t *size_r) MUST_USE;

/* The upload's whole-file check in the request (header, rows, at most
 * EMPLOYEE_IMPORT_MAX_ROWS; E_INPUT "empty" without a row); *rows_r the
 * data rows. */
err employee_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;

/*
 * Queue job job_id (kind "employee.import"): each row as employee_add for
 * enterprise enterprise_id (already reached by `who`), in a savepoint; a
 * bad field, a duplicate (also twice in the file) or a person employed by
 * another enterprise is a failed row of the job's error report, and the
 * rest go on. The result: {total, written, failed, report}.
 */
err employee_import_submit(db *d, int64_t job_id, const struct principal *who,
                           int64_t enterprise_id, const void *data, size_t n, bool csv,
                           long rows) MUST_USE;

/* ---- returning-staff declarations (返岗申报, seed 001 §4.1.5) ------------------------------- */

#define DECL_TRAVEL_MAX   20  /* places of a travel history */
#define DECL_PLACE_MAX    100 /* characters of a place */
#define DECL_TEXT_MAX     50  /* native place, school, grade, class */
#define DECL_TRANSPORT_NO 30  /* characters of a train or flight number, a plate */

/* decl_transport_vocab: enterprise/vocab.h */

struct declaration {
    int64_t id, enterprise_id, employee_id, person_id;
    const char *name, *id_number; /* the person's, plain (the API masks them) */
    const char *phone;            /* the phone checked by SMS, plain */
    const char *travel;           /* JSON [{place, from, to}] (dates YYYY-MM-DD) */
    const char *native_place;
    int32_t return_date; /* yyyymmdd */
    const char *transport_kind, *transport_no;
    const char *school, *grade, *class_name; /* the school variant; "" otherwise */
    const char *code_colour;                 /* the person's code when declaring */
    const char *flag_reasons;                /* "", "risk_area", "code_colour" or both */
    int64_t created_at;
    const char *enterprise_name; /* read back by decl_list */
};

/*
 * Check a declaration body (the API's JSON, already json_check'ed for
 * types) into x: travel (at most DECL_TRAVEL_MAX objects {place, from,
 * to}, place 1..DECL_PLACE_MAX characters, dates YYYY-MM-DD, from <= to:
 * E_INPUT on "travel[i].<member>"), return_date (YYYY-MM-DD,
 * "invalid_date"), transport_kind (decl_transport_vocab), grade and class
 * only with a school ("required" on school). Pure; strings from a.
 */
err decl_parse(arena *a, json_t *body, struct declaration *x) MUST_USE;

/*
 * Record declaration x of employee emp (its phone proven by SMS by the
 * caller): flagged "risk_area" when a travel place names a risk area in
 * force now (code.h), "code_colour" when the person's code is not green.
 * Inside the caller's transaction; *id_r the new id.
 */
err decl_create(db *d, arena *a, int64_t by, const struct enterprise *ent,
                const struct employee *emp, struct declaration *x, int64_t *id_r) MUST_USE;

enum decl_flagged { DECL_ANY = 0, DECL_FLAGGED, DECL_UNFLAGGED };
struct decl_filter {
    int64_t enterprise_id; /* 0: every enterprise in scope */
    int64_t id;            /* 0: any; else that one declaration (the detail) */
    enum decl_flagged flagged;
    int64_t page, page_size;
};
/* Declarations of enterprises whose region is inside sc, newest first. */
err decl_list(db *d, arena *a, const struct scope *sc, const struct decl_filter *f,
              struct declaration **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* ---- staff health clock-in (员工健康打卡) -----------------------------------------------------
 */

#define CLOCKIN_FEVER    37.3 /* °C: at or above is a fever */
#define CLOCKIN_TEMP_MIN 34.0
#define CLOCKIN_TEMP_MAX 43.0

/* clockin_symptom_vocab: enterprise/vocab.h */
#define CLOCKIN_SYMPTOMS 6 /* its words */

struct clockin {
    int64_t id, employee_id;
    double temperature;
    const char *symptoms; /* comma-separated names, "" for none */
    const char *code_colour;
    bool abnormal;
    int64_t created_at;
};

/*
 * Employee emp of ent clocks in for today (China day): temperature
 * CLOCKIN_TEMP_MIN..MAX (E_INPUT "out_of_range"), symptoms already checked
 * against clockin_symptom_vocab. The person's code colour now is recorded
 * with it; a fever or a non-green code makes it abnormal and raises one
 * alert clockin_abnormal at the enterprise's region (the street and the
 * enterprise's daily view see it). E_CONFLICT "already_clocked_in" the
 * second time a day. Inside the caller's transaction.
 */
err clockin_create(db *d, arena *a, const struct enterprise *ent, const struct employee *emp,
                   double temperature, const char *symptoms, struct clockin *x) MUST_USE;

/* The clock-in of employee_id on China day `day`; E_NOT_FOUND when none. */
err clockin_of(db *d, arena *a, int64_t employee_id, int64_t day, struct clockin *x) MUST_USE;

/* The enterprise's day: every live employee hired by the end of China day
 * `day` (masked by the API) with its clock-in of that day (id 0: none), by
 * department and id. */
struct clockin_row {
    struct employee emp;
    struct clockin ci;
};
err clockin_day(db *d, arena *a, int64_t enterprise_id, int64_t day, struct clockin_row **rows_r,
                size_t *n_r) MUST_USE;

/* ---- shifts (排班) and the enterprise pass (通行证) ----------------------------------------- */

#define SHIFT_NAME_MAX  20             /* characters */
#define SHIFTS_MAX      50             /* live shifts of an enterprise */
#define ROSTER_BATCH    500            /* employees one roster call may assign */
#define PASS_EARLY_MS   (60 * 60000LL) /* a pass opens an hour before its shift */
#define MINUTES_PER_DAY 1440

/* A shift: start_min and end_min are minutes after China midnight; an end
 * at or before the start runs past midnight. */
struct shift {
    int64_t id, enterprise_id;
    const char *name;
    int32_t start_min, end_min;
    int64_t created_at;
};

/* "HH:MM" (00:00..23:59) as minutes after midnight; -1 otherwise. */
int32_t shift_minutes(const char *hhmm);

/* A new shift of enterprise_id: name 1..SHIFT_NAME_MAX characters (E_INPUT
 * "required"/"too_long" on name), start and end 0..MINUTES_PER_DAY-1 and
 * different ("invalid_value" on end). E_CONFLICT "duplicate_shift" for a
 * live shift of that name, E_INPUT "too_many" past SHIFTS_MAX. */
err shift_create(db *d, int64_t by, int64_t enterprise_id, const char *name, int32_t start_min,
                 int32_t end_min, int64_t *id_r) MUST_USE;

/* Retire a shift and its rosters from today on. E_NOT_FOUND. */
err shift_remove(db *d, int64_t enterprise_id, int64_t id, int64_t today) MUST_USE;

/* The live shifts of an enterprise, by start and name. */
err shift_list(db *d, arena *a, int64_t enterprise_id, struct shift **items_r,
               size_t *n_r) MUST_USE;

/*
 * Roster employees (ids of enterprise_id's live employees; E_INPUT
 * "not_employee" on "employee_ids[i]" otherwise) on shift_id for China day
 * `day`, replacing their shift of that day; shift_id 0 takes them off.
 * E_NOT_FOUND "shift_not_found" (field shift_id) for a shift not the
 * enterprise's. Inside the caller's transaction.
 */
err roster_assign(db *d, arena *a, int64_t by, int64_t enterprise_id, int64_t day, int64_t shift_id,
                  const int64_t *employee_ids, size_t n) MUST_USE;

/* The enterprise's live employees with their shift on `day` (shift.id 0:
 * none), by department and id. */
struct roster_row {
    struct employee emp;
    struct shift shift;
};
err roster_day(db *d, arena *a, int64_t enterprise_id, int64_t day, struct roster_row **rows_r,
               size_t *n_r) MUST_USE;

/* Whether employee emp may pass the gate at `now`: */
struct pass_check {
    struct shift shift;          /* the shift the pass is for */
    int64_t day;                 /* its roster day */
    int64_t opens_at, closes_at; /* epoch ms: PASS_EARLY_MS before its start, its end */
    const char *code_colour;     /* the person's code now */
};
/*
 * E_OK and *c when emp is rostered on a shift whose window contains now
 * (today's, or yesterday's running past midnight), clocked in that day
 * without anything abnormal, and their code is green now. Otherwise
 * E_CONFLICT, slug and Chinese message saying which: "not_on_shift" (no
 * shift today), "off_shift_hours" (outside its hours), "pass_not_clocked_in",
 * "clockin_abnormal", "code_not_green".
 */
err pass_check(db *d, arena *a, const struct employee *emp, int64_t now,
               struct pass_check *c) MUST_USE;

/* ---- resume-work applications (复工申请) --------------------------------------------------- */

enum resume_status {
    RESUME_NONE = 0, /* 未申请: no application */
    RESUME_PENDING,  /* 审核中 */
    RESUME_RETURNED, /* 已退回 */
    RESUME_APPROVED, /* 已复工 */
};
/* resume_status_vocab: enterprise/vocab.h */

#define RESUME_PLAN_MAX    5000 /* characters of the prevention plan */
#define RESUME_REASONS_MAX 500
#define RESUME_STAFF_MAX   1000000

struct application {
    int64_t id, enterprise_id;
    const char *enterprise_name, *region_name, *industry;
    const char *plan;
    int64_t staff_count;
    int32_t resume_date; /* yyyymmdd */
    enum resume_status status;
    const char *reasons;
    int64_t submitted_by, submitted_at, reviewed_by, reviewed_at;
};

/*
 * Submit an application for ent (plan 1..RESUME_PLAN_MAX characters, staff
 * 0..RESUME_STAFF_MAX, resume_date yyyymmdd): E_CONFLICT "already_pending"
 * while one is under review, "already_approved" once approved. Inside the
 * caller's transaction; the attachments are the caller's (attach_claim_all
 * with owner "enterprise_application").
 */
err app_submit(db *d, int64_t by, const struct enterprise *ent, const char *plan,
               int64_t staff_count, int32_t resume_date, int64_t *id_r) MUST_USE;

/*
 * Review a pending application inside `scope`: approve, or return with
 * reasons (1..RESUME_REASONS_MAX characters, E_INPUT "required" on reasons
 * without). E_NOT_FOUND outside scope; E_CONFLICT "not_pending" when it
 * was decided already. *enterprise_id_r: whose it is.
 */
err app_review(db *d, const struct scope *scope, int64_t by, int64_t id, bool approve,
               const char *reasons, int64_t *enterprise_id_r) MUST_USE;

/* One application inside scope; E_NOT_FOUND. */
err app_find(db *d, arena *a, const struct scope *scope, int64_t id,
             struct application *x) MUST_USE;

struct app_filter {
    int64_t enterprise_id;     /* 0: any */
    enum resume_status status; /* 0: any */
    int64_t page, page_size;
};
/* Applications inside scope, newest first (an enterprise's: its history). */
err app_list(db *d, arena *a, const struct scope *scope, const struct app_filter *f,
             struct application **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* The resume-work status of an enterprise: its newest application's. */
err resume_status_of(db *d, int64_t enterprise_id, enum resume_status *st_r) MUST_USE;

/* ---- resume-work monitoring (复工复产监测, seed 003) ----------------------------------------- */

#define MONITOR_ENTERPRISES_MAX 50000 /* enterprises one monitoring answer may cover */

/* The figures of a group of enterprises (or of one) for China day `day`:
 * `returned` counts the live employees with a returning-staff declaration
 * whose planned return date is today or earlier. */
struct resume_figures {
    int64_t enterprises, resumed; /* resumed: newest application approved */
    int64_t staff, returned;      /* live employees; of them, returned */
    int64_t clocked_in, abnormal; /* clock-ins of the day; abnormal ones */
};

/* One row: a street, an industry, or (drilled down) an enterprise. */
struct resume_monitor_row {
    int64_t code;        /* the street's padded code, the enterprise's id; 0 for an industry */
    const char *label;   /* street name, industry ("" for none), enterprise name */
    int64_t street_code; /* an enterprise row's street (padded) */
    const char *industry, *street_name; /* an enterprise row's */
    enum resume_status status;          /* an enterprise row's */
    struct resume_figures f;
};

enum resume_monitor_by {
    MONITOR_BY_STREET = 1,
    MONITOR_BY_INDUSTRY,
    MONITOR_BY_ENTERPRISE, /* the drill-down */
};

struct resume_monitor_query {
    enum resume_monitor_by by;
    int64_t street_code;  /* padded street code: only its enterprises (0: any) */
    const char *industry; /* only this industry ("": none given; NULL: any) */
    int64_t day;          /* China day number of the clock-ins */
    int32_t today;        /* its yyyymmdd, for the planned return dates */
};

/*
 * Monitoring of the enterprises whose region is inside sc, grouped by q->by
 * (streets in code order, industries by name, enterprises by street and
 * name), with the totals of every row in *total_r. E_INPUT "too_many" when
 * more than MONITOR_ENTERPRISES_MAX enterprises match (narrow by street).
 */
err resume_monitor(db *d, arena *a, const struct scope *sc, const struct resume_monitor_query *q,
                   struct resume_monitor_row **rows_r, size_t *n_r,
                   struct resume_figures *total_r) MUST_USE;

#endif

/*
 * The case workflow (issue 9; docs/cases.md), seed 001 §3.2:
 *
 *   report (疫情上报) --routing--> observation list            (checkpoint, patrol)
 *                    \-----------> home-verification task ----> false: closed
 *                                  (grid worker + doctor)  \--> confirmed: observation list
 *                                                           \-> abnormal: hospital
 *   observation list --checks--> abnormal: alert, doctor task, transfer proposal
 *                    --status changes (state machine, code recomputed)--
 *                    --period over, no abnormal check--> release task --> certificate
 *
 * An incident (事件) is a report's case file; the observation list (隔离观察
 * 名单) holds one open observation per person with the management, health
 * and trajectory fields of seed 001 §5.1; a person's epidemic status
 * (persons.status) changes only here, through the state machine, and each
 * change recomputes the health code in the same transaction (code_refresh),
 * as does every observation that starts or ends (the isolations rows the
 * code engine reads are written here).
 *
 * Every list is scoped by region_code (the person's residence, or the
 * reported address while the person is unknown); every read of personal
 * data is audited; texts about people are SM4-encrypted.
 *
 * The parts, each with its own file and section below:
 *   incident.c  reports, routing rules, verification (kind "verify" tasks)
 *   observe.c   the observation list, quarantine sites' rooms, transfers
 *   status.c    the status state machine
 *   timeline.c  one timeline per incident and per person
 */
#ifndef FK_CASE_CASE_H
#define FK_CASE_CASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/token.h"

/* ---- the timeline (timeline.c) --------------------------------------------- */

/*
 * Append one step to the timeline inside the caller's transaction: the
 * incident it belongs to (0 none), the person (0 unknown yet), the region,
 * an action ("reported", "routed", "task_created", "verified",
 * "observed", "check", "status", "released", …), a JSON object as text
 * with what the step needs to be read back (never plaintext personal data:
 * ids and vocab names), and who (0: a rule).
 */
err case_event_add(db *d, int64_t incident_id, int64_t person_id, int64_t region_code,
                   const char *action, const char *detail, int64_t user_id) MUST_USE;

/* The step kinds (action) a timeline holds, with their Chinese labels. */
extern const struct vocab case_action_vocab;

/* ---- the observation list (observe.c) ------------------------------------- */

/* How a person is observed (隔离观察方式). */
enum observe_kind {
    OBSERVE_HOME_ISOLATION = 1, /* 居家隔离 */
    OBSERVE_HOME_OBSERVATION,   /* 居家医学观察 */
    OBSERVE_CENTRAL,            /* 集中隔离 (a quarantine site's room) */
    OBSERVE_HOSPITAL,           /* 定点医院 */
};
extern const struct vocab observe_kind_vocab;

/* Where the observation came from (隔离信息报送来源, seed 001 §5.1 row 27). */
enum case_source {
    SOURCE_RESIDENT = 1, /* 市民上报 */
    SOURCE_SELF_CHECK,   /* 隔离居民自查 */
    SOURCE_GRID_PATROL,  /* 网格排查 */
    SOURCE_CANVASS,      /* 街道社区摸排 (three-person team, 三人小组) */
    SOURCE_DOCTOR,       /* 基层医生 */
    SOURCE_CHECKPOINT,   /* 卡口排查 */
    SOURCE_CDC,          /* 疾控中心 */
    SOURCE_ENTERPRISE,   /* 企业自主申报 */
    SOURCE_CONTACT,      /* 确诊病例密切接触者 */
    SOURCE_IMPORT,       /* 批量导入 */
};
extern const struct vocab case_source_vocab;

/* The state of an observation: open, or how it ended. */
enum observe_state {
    OBS_ACTIVE = 1,  /* 观察中 */
    OBS_RELEASED,    /* 已解除 */
    OBS_TRANSFERRED, /* 已转送 (hospital, another site, …) */
    OBS_ENDED,       /* 已结束 (other reasons: a status change to a case, death) */
};
extern const struct vocab observe_state_vocab;

/* Quarantine room states. */
extern const struct vocab room_state_vocab; /* free | occupied | closed */
/* Indexed like room_state_vocab. */
enum room_state { ROOM_FREE = 1, ROOM_OCCUPIED, ROOM_CLOSED };

struct case_observe_in {
    int64_t person_id;   /* a live person inside who's scope */
    int64_t incident_id; /* 0: none (a direct entry or an import) */
    enum observe_kind kind;
    enum case_source source;
    int64_t start_at;     /* 0: now */
    const char *evidence; /* 隔离起始时间确定凭证, or NULL */
    const char *handover; /* 移交确认交接人, or NULL */
    int64_t site_id;      /* OBSERVE_CENTRAL: a quarantine site (place) in scope */
    const char *room_no;  /* OBSERVE_CENTRAL: a free room of it */
    const char *hospital; /* OBSERVE_HOSPITAL: the designated hospital's name */
    const char *note;     /* or NULL */
};

/*
 * Put a person on the observation list inside the caller's transaction: the
 * observation row (planned end from the kind's period rule), the isolations
 * row the code engine reads, the person's status (observation / home
 * isolation / central quarantine; left as it is when already suspected or
 * worse), counters, the timeline, and the code recomputed. E_CONFLICT
 * "already_observed" when the person has an open observation; E_INPUT with
 * the field for a bad kind, site or room; E_NOT_FOUND outside scope.
 */
err case_observe(db *d, arena *a, const struct principal *who, const struct case_observe_in *in,
                 int64_t *observation_id_r) MUST_USE;

/* How an observation ends (case_observe_end). */
enum observe_end {
    OBSERVE_RELEASED = 1, /* 解除隔离: the period is over */
    OBSERVE_TRANSFERRED,  /* 转送: to a hospital or another authority */
};

/* 解除隔离后状态 (seed 001 §5.1 row 15). */
enum release_status { RELEASE_TREATMENT = 1 /* 集中治疗 */, RELEASE_FREE /* 自由 */ };
extern const struct vocab release_status_vocab;

/*
 * End the active observation observation_id (inside who's scope) inside
 * the caller's transaction: its state (released or transferred), the
 * release status, the reason (1..200 characters, sealed); the room freed,
 * the isolations row closed, the person's status back to normal when
 * released from an observation state (through the state machine), the
 * counters, the timeline, the code recomputed. E_NOT_FOUND outside scope;
 * E_CONFLICT "observation_closed" when it has already ended. For the
 * release task and the certificate as for the API.
 */
err case_observe_end(db *d, arena *a, const struct principal *who, int64_t observation_id,
                     enum observe_end how, enum release_status release_status,
                     const char *reason) MUST_USE;

/*
 * A whole observation as another system sends it (the exchange's batch
 * write of isolations), inside the caller's transaction. observation_id 0
 * puts person_id (inside who's scope) on the list as case_observe does,
 * from body's kind, source, start_at, hospital and §5.1 fields (the
 * observation API's names); otherwise the §5.1 fields body carries update
 * observation_id (its version not checked: the sender's word; kind,
 * source, start and hospital stay as they started). body's "state"
 * (active | released | transferred | ended; default active, end_reason
 * 1..200 required otherwise) ends an active observation as the sender
 * did: released or transferred through case_observe_end, ended as a
 * status change ends one. A central quarantine is refused (E_INPUT
 * "not_allowed", kind): its site and room are the sender's. E_INPUT with
 * the member for bad input; case_observe's and case_observe_end's errors.
 * *id_r the observation.
 */
err case_observation_put(db *d, arena *a, const struct principal *who, int64_t person_id,
                         int64_t observation_id, json_t *body, int64_t *id_r) MUST_USE;

/* ---- status (status.c) ------------------------------------------------------ */

/* Severity of a confirmed case (轻症 / 重症 / 危重); 0 none. */
enum case_severity { SEVERITY_MILD = 1, SEVERITY_SEVERE, SEVERITY_CRITICAL };
extern const struct vocab case_severity_vocab;

/* 感染途径 (seed 001 §4.1.9): asked when a person becomes confirmed or asymptomatic. */
enum infection_route {
    ROUTE_LOCAL = 1,       /* 本地感染 */
    ROUTE_IMPORTED,        /* 境外输入 */
    ROUTE_DOMESTIC_IMPORT, /* 外地输入 */
    ROUTE_CLUSTER,         /* 聚集性 */
    ROUTE_UNKNOWN,         /* 不明 */
};
extern const struct vocab infection_route_vocab;

/*
 * Change person_id's status to `to` (enum person_status) with a reason,
 * inside the caller's transaction: refused with E_CONFLICT
 * "invalid_transition" when the state machine (docs/cases.md) does not
 * allow from -> to; records who, when and why; moves the counters;
 * recomputes the code.
 */
err case_status_change(db *d, arena *a, const struct principal *who, int64_t person_id, int to,
                       enum case_severity severity, const char *reason) MUST_USE;

struct case_status_in {
    int64_t person_id;
    int to;                      /* enum person_status */
    enum case_severity severity; /* confirmed: required; else 0 */
    enum infection_route route;  /* entering confirmed / asymptomatic: required */
    const char *reason;          /* 1..200 characters */
    int64_t observation_id;      /* the observation this change comes from, 0 none */
};

/* case_status_change with the infection route; *change_id_r (may be
 * NULL) gets the status_changes row. Inside the caller's transaction.
 * For the status API and for a whole status change another system sends
 * (the exchange's batch write of cases). */
err case_status_set(db *d, arena *a, const struct principal *who, const struct case_status_in *in,
                    int64_t *change_id_r) MUST_USE;

/* The body of a status change (to, severity, infection_route, reason), the
 * status API's and the exchange's. */
extern const struct jfield case_status_body[];

/* ---- a change of residence (residence.c) ------------------------------------ */

/*
 * person_on_move's subscriber (src/app.c): inside the transaction of a
 * person's change of region_code from `from` to `to`, move the open
 * observation (with its checks, messages, notes and isolations row), the
 * newest status change and the open verify / follow_up tasks kept at the
 * old residence to the new one, with the flow counters they carry, a
 * timeline step "residence_moved" and an audit entry
 * "case.residence_move".
 */
err case_person_moved(db *d, arena *a, const struct principal *who, int64_t person_id, int64_t from,
                      int64_t to) MUST_USE;

/* ---- following writes -------------------------------------------------------- */

/*
 * Every committed write of an observation (居家隔离 / 集中隔离 records: the
 * create, a change of its fields, its room, its end, its release notice,
 * its move with the person's residence) or of a case status change (a row
 * of status_changes, which also changes the person's status), for a
 * capability that follows them (the exchange's change log, subscribed in
 * src/app.c): called inside the writing transaction with the record's id,
 * its person and its region after the write. One subscriber, set at
 * start-up (another function is E_INTERNAL; NULL clears).
 */
enum case_record { CASE_REC_OBSERVATION = 1, CASE_REC_STATUS };

/* The records case_on_write names, as the case API writes them and
 * unmasked, for a capability that sends them on (the exchange, which
 * audits the read): an observation, a status change. E_NOT_FOUND when
 * there is none. */
err case_observation_record(db *d, arena *a, int64_t id, json_t **o_r) MUST_USE;
err case_status_change_json(db *d, arena *a, int64_t change_id, json_t **o_r) MUST_USE;
/* The person's status changes inside sc, newest first, as JSON items;
 * reasons masked unless `reveal`. */
err case_status_changes(db *d, arena *a, const struct scope *sc, int64_t person_id, bool reveal,
                        int64_t page, int64_t page_size, json_t **items_r,
                        int64_t *total_r) MUST_USE;
typedef err (*case_write_fn)(db *d, enum case_record kind, int64_t id, int64_t person_id,
                             int64_t region_code);
err case_on_write(case_write_fn fn) MUST_USE;

/* ---- measures (stats) ------------------------------------------------------ */

/*
 * Counters this capability keeps (src/stats): the level per status is the
 * person registry's "person.status.<person_status name>" (person/, at the
 * person's region), which status changes here move too (one figure, one
 * measure); daily flows "case.enter.<person_status name>" (people who
 * entered a status that day), "case.incident.new" (reports, incident.c),
 * "case.observe.new", "case.release.new", "case.confirmed_by.<infection
 * route>" (seed 001 §4.1.9 感染途径). Registered by case_register (app.c);
 * docs/cases.md lists them.
 */
err case_register(void) MUST_USE;

/* The place_on_delete hook (app.c): a deleted quarantine site's rooms
 * leave the room counters, in the deletion's transaction. */
struct place;
err case_site_deleted(db *d, const struct place *p) MUST_USE;

/* ---- reports and routing (incident.c; docs/cases.md "Reports and routing") -- */

/* What a report is about (上报类别). */
enum incident_category {
    INCIDENT_SYMPTOMS = 1, /* 疑似症状 */
    INCIDENT_RISK_AREA,    /* 中高风险地区旅居 */
    INCIDENT_CONTACT,      /* 密切接触 */
    INCIDENT_FEVER,        /* 发热 */
    INCIDENT_OTHER,        /* 其他 */
};
extern const struct vocab incident_category_vocab;

/*
 * Where a report stands:
 *   reported --route verify--> verifying --false_report--> closed
 *      |                           |------confirmed-----> observed
 *      |                           \------abnormal------> transferred
 *      |--route observe--> observed
 *   reported/verifying --close (duplicate, false)--> closed
 * A report stays reported when its source's rule is disabled, or its
 * verification task was cancelled: the command centre routes it by hand.
 */
enum incident_state {
    INCIDENT_REPORTED = 1, /* 已上报 */
    INCIDENT_VERIFYING,    /* 核实中 */
    INCIDENT_OBSERVED,     /* 已纳入观察 */
    INCIDENT_TRANSFERRED,  /* 已转送医院 */
    INCIDENT_CLOSED,       /* 已结案 */
};
extern const struct vocab incident_state_vocab;

/* A home verification's result (核实结果). */
enum incident_outcome { OUTCOME_FALSE_REPORT = 1, OUTCOME_CONFIRMED, OUTCOME_ABNORMAL };
extern const struct vocab incident_outcome_vocab;

/* What a routing rule does with a new report of its source. */
enum routing_action { ROUTING_OBSERVE = 1, ROUTING_VERIFY };
extern const struct vocab routing_action_vocab;

#define INCIDENT_TEXT_MAX           500  /* characters of a description */
#define INCIDENT_REASON_MAX         200  /* characters of a closing reason */
#define INCIDENT_TEMP_MIN           34.0 /* °C a reporter may enter */
#define INCIDENT_TEMP_MAX           43.0
#define INCIDENT_FEVER_C            37.3 /* a temperature at or above makes the task urgent */
#define INCIDENT_DEADLINE_HOURS_MAX (24 * 14)

/* The subject of a report when it is not (yet) a registered person. */
struct incident_subject {
    const char *name, *phone;
    int id_type;           /* enum id_type; 0 none */
    const char *id_number; /* NULL: none */
    int gender;            /* enum person_gender */
    const char *address;   /* the reported address */
};

/* A report, checked by the caller's handler (the fields' shapes); the
 * capability checks what needs the database (scope, regions, persons). */
struct incident_new {
    enum case_source source;
    enum incident_category category;
    int64_t person_id;   /* the subject when known (in who's scope), 0 unknown */
    int64_t region_code; /* the address's region (unknown subject), padded */
    struct incident_subject subject;
    unsigned symptoms;       /* health/health.h enum symptom bits */
    double temperature;      /* < 0: not given */
    const char *description; /* NULL: none */
    bool has_position;
    double lat, lng;
    bool about_self;             /* a resident about their own record */
    bool any_region;             /* the address may lie anywhere in the tree (a resident's or a
                                  * unit's report about someone living elsewhere) */
    int64_t reporter_person_id;  /* the resident reporter's record, 0 staff */
    int64_t venue_id, access_id; /* checkpoint one-tap */
    const char *detail;          /* enterprise form as JSON text, or NULL (sealed) */
    json_t *attachments;         /* the body's "attachments" (ids), or NULL */
};

/*
 * File a report inside one transaction (a savepoint of the caller's): the
 * incident row, its attachments claimed (attach_claim_all), the timeline,
 * the counter "case.incident.new", then routing by the source's rule:
 * observe puts the person on the observation list (an unknown subject is
 * matched by id number or registered first: E_INPUT "subject_required"
 * without name and id number); verify creates a "verify" task for the
 * grid workers of the grid holding the region. *id_r gets the incident,
 * *state_r (may be NULL) its state after routing.
 * E_INPUT with the field for bad input; E_NOT_FOUND for a person or
 * region outside who's scope; E_CONFLICT "already_observed" from
 * case_observe.
 */
err incident_report(db *d, arena *a, const struct principal *who, struct incident_new *in,
                    int64_t *id_r, enum incident_state *state_r) MUST_USE;

/*
 * Fill in's person, venue and region from the scan record access_id (a
 * refused or feverish scan of a venue inside who's scope). The region is
 * the person's residence even outside who's scope (a visitor): the report
 * is filed and routed there, and the reporter cannot read it. E_NOT_FOUND
 * "unknown_access" outside scope or unknown; E_INPUT "access_not_reportable"
 * for a passed scan without fever or without a person; E_CONFLICT
 * "already_reported" when the scan was reported already.
 */
err incident_from_access(db *d, const struct principal *who, int64_t access_id,
                         struct incident_new *in) MUST_USE;

struct incident {
    int64_t id, region_code, person_id, reporter_user_id, reporter_person_id, venue_id, access_id,
        task_id, observation_id, created_at, updated_at, version;
    enum case_source source;
    enum incident_category category;
    enum incident_state state;
    int outcome; /* enum incident_outcome, 0 none */
    struct incident_subject subject;
    unsigned symptoms;
    double temperature;                              /* < 0 none */
    const char *description, *detail, *close_reason; /* NULL none */
    bool has_position, about_self;
    double lat, lng;
    const char *region_name;   /* filled by reads */
    int64_t attachments;       /* how many (lists) */
    const char *reporter_name; /* staff display name, a resident's masked name, "" none */
};

struct incident_filter {
    int source, category, state; /* 0: any */
    int64_t from, to;            /* created_at in [from, to); 0 open */
    const char *q;               /* exact name or phone of the subject, or NULL */
    int64_t reporter_user_id;    /* 0: any (my reports: the resident's own) */
    int64_t page, page_size;     /* page_size <= 0: an export (INCIDENT_EXPORT_MAX) */
};
#define INCIDENT_EXPORT_MAX 10000

/* Incidents inside sc (my reports: scope_all with reporter_user_id),
 * newest first; strings in a. */
err incident_list(db *d, arena *a, const struct scope *sc, const struct incident_filter *f,
                  struct incident **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* One incident inside sc; E_NOT_FOUND otherwise. reporter_user_id not 0:
 * only that reporter's (my reports). */
err incident_find(db *d, arena *a, const struct scope *sc, int64_t reporter_user_id, int64_t id,
                  struct incident *r_r) MUST_USE;

/*
 * Route a reported incident by hand (its rule was disabled, or its
 * verification task was cancelled): as its rule would, with `action`
 * instead of the rule's. E_CONFLICT "incident_routed" unless reported;
 * the errors of incident_report's routing otherwise.
 */
err incident_route(db *d, arena *a, const struct principal *who, int64_t id,
                   enum routing_action action, enum incident_state *state_r) MUST_USE;

/* Close a reported or verifying incident without a visit (a duplicate, a
 * false report), cancelling its verification task: E_CONFLICT
 * "incident_closed" when already past verification. */
err incident_close(db *d, arena *a, const struct principal *who, int64_t id,
                   const char *reason) MUST_USE;

struct routing_rule {
    enum case_source source;
    enum routing_action action;
    int priority; /* enum task_priority */
    int deadline_hours;
    bool enabled;
    int64_t updated_by, updated_at;
};

/* Every rule, by source; *n_r of at most 16. */
err routing_rules_list(db *d, struct routing_rule out[16], size_t *n_r) MUST_USE;
/* Replace the rule of r->source (E_INPUT with the field for bad values). */
err routing_rule_set(db *d, const struct routing_rule *r, int64_t user_id) MUST_USE;

/* The timeline of incident id (checked in scope by the caller) as JSON
 * [{action, detail, at, actor}], oldest first. */
err incident_timeline(db *d, int64_t id, json_t **items_r) MUST_USE;

/* Register the "verify" task kind and the report counter (app.c, once). */
err incident_register(void) MUST_USE;

/* ---- import and export (import.c; docs/cases.md "Import and export") -------- */

/* Observation imports (jobs "case.import") run on the import worker of
 * job/import.h, which the server starts. */

/* ---- release and certificates (release.c) --------------------------------- */

/*
 * Release (解除隔离, seed 001 §3.2) and the release certificate (解除隔离
 * 通知书, §5.1 row 41), docs/cases.md "Release and certificates".
 *
 * case_release_sweep finds the active observations whose planned end has
 * passed (a hospital stay has none) without an open release task and makes
 * one (kind "release", role community_staff in the person's community,
 * 24 h) in one transaction per batch; *n_r (may be NULL) counts them. The
 * server runs it every FK_RELEASE_CHECK seconds (default 300; 0 never),
 * `fangkong case sweep` once. The task's completion {release_status, note}
 * releases as case_release does.
 */
err case_release_sweep(db *d, int64_t now, int64_t *n_r) MUST_USE;
err case_release_worker_start(const char *db_url, int check_s) MUST_USE;
void case_release_worker_stop(void);

/* Register the "release" task kind (app.c, before serving). */
err case_release_register(void) MUST_USE;

/*
 * Release observation_id (in who's scope) inside the caller's transaction:
 * case_observe_end(OBSERVE_RELEASED, release_status, reason), a certificate
 * issued (observations.release_notice_issued set), the open release task
 * cancelled unless `from_task` (its completion is this call). Errors as
 * case_observe_end; release_status is required (E_INPUT "required").
 */
err case_release(db *d, arena *a, const struct principal *who, int64_t observation_id,
                 enum release_status release_status, const char *reason, bool from_task,
                 int64_t *certificate_id_r) MUST_USE;

struct certificate {
    int64_t id, observation_id, person_id, region_code, unit_code;
    const char *number;
    enum release_status release_status;
    int64_t issued_at, issued_by, version, revoked_at, revoked_by;
    const char *revoke_reason; /* plain; NULL when not revoked */
    /* joined */
    enum observe_kind kind;
    int64_t start_at, ended_at;
    const char *person_name, *id_number; /* plain: the caller masks */
    const char *unit_name;               /* the issuing community's name */
};

/* A certificate inside sc, or (person_id != 0) the person's own whatever
 * the scope. E_NOT_FOUND otherwise. Strings in a. */
err case_certificate_find(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t id,
                          struct certificate *c_r) MUST_USE;

/* The token of the certificate's QR (TOKEN_CERT, key id = version). */
err case_certificate_token(const struct certificate *c, char out[TOKEN_MAX]) MUST_USE;

/*
 * Verify a certificate's token at `now`: token_verify's errors (field
 * "token": token_malformed, token_forged, token_wrong_kind), E_INPUT
 * "unknown_certificate" when no such certificate, E_INPUT
 * "certificate_revoked" when revoked or the token's version is not the
 * current one. *c_r gets the certificate (its id is set, > 0, when the
 * token named one: the caller audits it).
 */
err case_certificate_verify(db *d, arena *a, const char *token, int64_t now,
                            struct certificate *c_r) MUST_USE;

/* Revoke a certificate in who's scope with a reason (1..200): the version
 * bumps so every printed QR fails. E_CONFLICT "already_revoked". */
err case_certificate_revoke(db *d, arena *a, const struct principal *who, int64_t id,
                            const char *reason) MUST_USE;

/* Certificates of one person (residents: their own), newest first. */
err case_certificates_of(db *d, arena *a, int64_t person_id, struct certificate **items_r,
                         size_t *n_r) MUST_USE;

/* Follow-up notes after a release (后续行为动态记录, row 42): add one
 * (1..500 characters, sealed; a "note" timeline event) to an observation
 * in who's scope; list them (JSON items, newest first, author names). */
err case_note_add(db *d, arena *a, const struct principal *who, int64_t observation_id,
                  const char *text, int64_t *note_id_r) MUST_USE;
err case_notes(db *d, arena *a, const struct scope *sc, int64_t observation_id,
               json_t **items_r) MUST_USE;
/* ---- checks (check.c; docs/cases.md "Checks") --------------------------------- */

/*
 * A check (体征核查) of a person on the observation list: a doctor's (a
 * visit, or the completion of a task of kind "check" or "follow_up") or
 * the resident's own (自查). One body for all of them, checked by
 * check_parse: symptoms (health/health.h names), temperature 34..43 °C,
 * description (<= 500), door_no (<= 50; self-checks), lat/lng (together),
 * attachments (upload ids, claimed with owner "check").
 *
 * A check is abnormal when the temperature reaches the rule's fever
 * threshold or any symptom is present: then an alert "check_abnormal" in
 * the person's region, an urgent "check" task for the community's doctors
 * (unless one is open), and, after the rule's abnormal_limit abnormal checks
 * or a fever of threshold + transfer_delta, a "transfer" task (转送定点医院
 * 建议) for the community staff, whose completion ends the observation as
 * transferred and starts a hospital one, or keeps it.
 */
enum check_by { CHECK_BY_DOCTOR = 1, CHECK_BY_SELF };
extern const struct vocab check_by_vocab; /* "check_methods": doctor 医生核查, self 本人自查 */

#define CHECK_TEXT_MAX 500 /* characters: a description, a message */

struct check_in {
    unsigned symptoms; /* enum symptom bits */
    double temperature;
    const char *description, *door_no; /* or NULL */
    bool has_position;
    double lat, lng;
    json_t *attachments; /* borrowed: the body's array, or NULL */
};

/* The body of a check (already checked against its schema when it came
 * through the router, checked again here for a task's result) into *in.
 * E_INPUT with the field ("symptoms[1]", "temperature", …). */
err check_parse(json_t *body, struct check_in *in) MUST_USE;

/*
 * Record a check of the active observation observation_id inside the
 * caller's transaction and everything an abnormal one sets off (above).
 * Doctors: the observation must be in who's scope (E_NOT_FOUND); self: the
 * caller's own. E_CONFLICT "observation_closed" when it has ended.
 */
err check_record(db *d, arena *a, const struct principal *who, int64_t observation_id,
                 enum check_by by, const struct check_in *in, int64_t task_id,
                 int64_t *check_id_r) MUST_USE;

/* What one sweep did (check_sweep). */
struct check_sweep_result {
    int64_t tasks, missed, escalated;
};

/*
 * The periodic duties, each at most once per occasion however many servers
 * sweep: a "check" task for every active observation whose next check is
 * due by its rule (never two open); one "check_missed" alert per missed
 * period (no check within the interval + grace); one "message_unanswered"
 * alert per resident's message unanswered after `escalate_min` minutes.
 */
err check_sweep(db *d, int64_t now, int64_t escalate_min, struct check_sweep_result *r) MUST_USE;

/* The sweep every `every_s` seconds (0: never) on its own connection
 * (FK_CHECK_SWEEP, FK_MESSAGE_ESCALATE). */
err check_worker_start(const char *db_url, int every_s, int escalate_min) MUST_USE;
void check_worker_stop(void);

/* Register the task kinds "check", "transfer" and "follow_up" (app.c). */
err check_register(void) MUST_USE;

/*
 * Follow-up of a discharged patient (seed 002 二(一)2 c): the "follow_up"
 * tasks for the community doctors at the days after `discharged_at` of
 * the hospital rule's follow_up_days, about observation_id (0: the
 * person's latest; none at all: no follow-up, as a check needs one),
 * inside the caller's transaction; none when follow-ups of that
 * observation are already open. case_observe_end calls it when a hospital
 * observation is released, case_status_set when a person is cured.
 */
err check_follow_up_plan(db *d, arena *a, int64_t person_id, int64_t region_code,
                         int64_t observation_id, int64_t discharged_at) MUST_USE;

#endif

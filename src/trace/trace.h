/*
 * Tracing (流调溯源, issue 11; docs/tracing.md): this part holds the trips
 * of key persons (重点人员出行记录, seed 000 §6.6; seed 001 rows 20-26):
 * when a person left and came back, the transport each way (a flight or a
 * train with its number, a coach, a car with its plate, a ship, other) and
 * the places passed on the way (途径点: bus stops, malls, parks,
 * restaurants, … or a venue of the registry) with the arrival time and the
 * stay. Later parts add contacts and itineraries to this folder.
 *
 * Rules:
 *   - A trip belongs to a person; its region is the person's residence,
 *     copied when the trip is written, and every read and write binds the
 *     caller's scope to it: another region's person or trip is E_NOT_FOUND.
 *   - returned_on, when recorded, is never before departed_on
 *     ("invalid_range" on returned_on).
 *   - A flight number is a two-character airline code with a letter and
 *     one to four digits, optionally one letter (CA1234, MU5101, 3U8888);
 *     a train number is one of G D C Z T K Y L S and one to four digits, or
 *     one to four digits (G123, D7, K1234, 1461). Stored upper-cased.
 *     Anything else is "invalid_number" on "<leg>.number".
 *   - A car's plate is checked and normalised as the vehicle registry
 *     does (vehicle.h plate_normalise), stored sealed.
 *   - At most TRIP_WAYPOINTS_MAX waypoints, each with a kind and a place
 *     (text) or a venue id of a live venue ("unknown_venue"), a stay of
 *     0..1440 minutes.
 *
 * Storage: sql/038_trips.sql (trips, trip_waypoints). Names and id numbers
 * come from persons (sealed); the caller masks them (security/mask.h).
 */
#ifndef FK_TRACE_TRACE_H
#define FK_TRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define TRIP_WAYPOINTS_MAX 50
#define TRIP_NUMBER_MAX    8  /* "CA1234A" or "G1234" and the NUL */
#define TRIP_NUMBER_TEXT   20 /* characters of another mode's number (a coach's "京沪线 08:30") */
/* trip_number_normalise's output: TRIP_NUMBER_TEXT characters of up to
 * four bytes each, and the NUL */
#define TRIP_NUMBER_OUT (TRIP_NUMBER_TEXT * 4 + 1)
#define TRIP_TEXT_MAX   100
#define TRIP_SEAT_MAX   16
#define TRIP_NOTE_MAX   200
#define TRIP_STAY_MAX   1440
#define TRIP_EXPORT_MAX 10000

enum trip_mode {
    TRIP_MODE_NONE = 0, /* the return leg not recorded */
    TRIP_FLIGHT,
    TRIP_TRAIN,
    TRIP_COACH,
    TRIP_CAR,
    TRIP_SHIP,
    TRIP_OTHER,
    TRIP_MODE__COUNT
};

enum trip_waypoint_kind {
    TRIP_WP_NONE = 0,
    TRIP_WP_BUS_STOP,
    TRIP_WP_MALL,
    TRIP_WP_PARK,
    TRIP_WP_RESTAURANT,
    TRIP_WP_STATION,
    TRIP_WP_HOSPITAL,
    TRIP_WP_VENUE,
    TRIP_WP_OTHER,
    TRIP_WP__COUNT
};

enum trip_source { TRIP_SOURCE_NONE = 0, TRIP_STAFF, TRIP_SELF, TRIP_IMPORT, TRIP_SOURCE__COUNT };

/* The vocabularies (GET /api/v1/vocabularies: trip_modes,
 * trip_waypoint_kinds, trip_sources). */
extern const struct vocab trip_mode_vocab;
extern const struct vocab trip_waypoint_kind_vocab;
extern const struct vocab trip_source_vocab;

/* One way of the journey. Text members are "" when not recorded. */
struct trip_leg {
    enum trip_mode mode;
    const char *number; /* flights and trains: normalised */
    const char *seat;
    const char *plate; /* cars: normalised, unmasked */
    const char *note;
};

struct trip_waypoint {
    enum trip_waypoint_kind kind;
    const char *place;      /* "" with a venue */
    int64_t venue_id;       /* 0: a place named in text */
    const char *venue_name; /* read back from venues */
    int64_t arrived_at;     /* epoch ms, 0 not known */
    int stay_minutes;
};

struct trip {
    int64_t id, person_id, region_code;
    const char *region_name;
    const char *person_name, *id_number; /* unmasked: the caller masks */
    int32_t departed_on, returned_on;    /* yyyymmdd; returned_on 0 not recorded */
    const char *origin, *destination;
    struct trip_leg out, back;
    struct trip_waypoint *waypoints; /* only trip_find fills them */
    size_t n_waypoints;              /* trip_list: the count, waypoints NULL */
    enum trip_source source;
    const char *note;
    int64_t created_by;
    int64_t version, created_at, updated_at;
};

/*
 * Check a flight (TRIP_FLIGHT) or train (TRIP_TRAIN) number and write it
 * upper-cased into out; other modes take any one-line text up to
 * TRIP_NUMBER_TEXT characters as it is. "" is fine (not recorded) for every mode. E_INPUT
 * "invalid_number" on `field` otherwise; out is then untouched. Pure.
 */
err trip_number_normalise(enum trip_mode mode, const char *in, const char *field,
                          char out[TRIP_NUMBER_OUT]) MUST_USE;

/*
 * Apply the members present in a request body (POST or PATCH of a trip)
 * onto t: person_id, departed_on, returned_on (null clears), origin,
 * destination, out, back (null clears; an object replaces the leg),
 * waypoints (an array replaces them all), note. Texts come from a.
 * Shapes and values are checked here, at once: E_INPUT with the field
 * ("out.number", "waypoints[2].stay_minutes"). Venues are checked by
 * trip_create / trip_update.
 */
err trip_apply_json(arena *a, json_t *body, struct trip *t) MUST_USE;

/* The whole trip's rules (required members, the range, legs, waypoints)
 * on an applied record; E_INPUT naming the field. Pure. */
err trip_check(const struct trip *t) MUST_USE;

/*
 * Write a new trip of t->person_id (a live person inside scope, else
 * E_NOT_FOUND), source and creator as given, inside the caller's
 * transaction. Checks t (trip_check) and the venues; *id_r the new id.
 */
err trip_create(db *d, arena *a, const struct scope *sc, struct trip *t, enum trip_source source,
                int64_t user_id, int64_t *id_r) MUST_USE;

/*
 * Apply `body` to the stored trip `id` (inside scope) and write it back,
 * waypoints replaced when given. `version` 0: not checked, else
 * E_CONFLICT "version_conflict" when it is not the stored one. The person
 * cannot change ("invalid_value" on person_id). Inside the caller's
 * transaction.
 */
err trip_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version,
                json_t *body) MUST_USE;

/* Mark the trip deleted; E_NOT_FOUND outside scope. */
err trip_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

/* One live trip inside scope with its waypoints; E_NOT_FOUND otherwise. */
err trip_find(db *d, arena *a, const struct scope *sc, int64_t id, struct trip *t_r) MUST_USE;

struct trip_filter {
    int64_t person_id;       /* 0: any */
    int64_t region_code;     /* 0: the whole scope; else narrows it (must lie inside) */
    int32_t from, to;        /* departed_on between, inclusive; 0 open */
    enum trip_mode mode;     /* either leg; 0 any */
    const char *number;      /* either leg, normalised; NULL any */
    int64_t page, page_size; /* page_size 0: all, up to TRIP_EXPORT_MAX */
};

/* Trips in scope matching f, newest departure first; waypoints not read
 * (n_waypoints is their count). E_INPUT "invalid_region" on region_code
 * outside scope. */
err trip_list(db *d, arena *a, const struct scope *sc, const struct trip_filter *f,
              struct trip **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* The trip as the API writes it: name and id number masked unless
 * `reveal` (plates are shown as the vehicle registry shows them). A new
 * reference. */
json_t *trip_json(arena *a, const struct trip *t, bool reveal);

/* ---- import (import.c; docs/tracing.md "Import") ------------------------------------ */

#define TRIP_IMPORT_SHEET    "出行记录"
#define TRIP_IMPORT_MAX_ROWS 100000

/* The import template (xlsx: header, hints) as an open temporary file;
 * the caller sends and closes it. E_IO, E_NOMEM. */
err trip_import_template(int *fd_r, int64_t *size_r) MUST_USE;

/* The upload's shape before a job is queued: readable, the template's
 * header, at least one data row; *rows_r the data rows. E_INPUT. */
err trip_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;

/*
 * Queue the import of an upload (copied) as job job_id on the import
 * worker: each row is a trip of a person named by resident id number in
 * who's scope, checked as a POST /api/v1/trips body is; valid rows are
 * written (source import) in one transaction with the audit entry
 * "trace.trip.import", failed rows go to the job's error report with the
 * column at fault. E_NOMEM.
 */
err trip_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                       size_t n, bool csv, long rows) MUST_USE;

/* ---- contact tracing (contact.c, run.c, contact_api.c, warn.c; docs/tracing.md
 *      "Contact tracing") -------------------------------------------------------------
 *
 * For a case (a person suspected, confirmed or asymptomatic) and a window
 * [from, to], the people with a possible exposure, each once with every
 * reason and a proposed class:
 *
 *   degree 1  co-visitors: a passage at a venue of the case's visit within
 *             [t_in - w, t_out + w]; the overlap with the visit decides:
 *             >= close_overlap_minutes close (密接), else general (一般接触);
 *             household (same persons.household): close;
 *             building co-residents (rule `building`): general;
 *             fellow travellers (same flight/train number and day): general,
 *             close when both seats are known and their rows lie within
 *             seat_rows;
 *             passengers: an access record at the venue of a plate read of
 *             the case's vehicle within ± passenger_minutes: close.
 *   degree 2  from each degree-1 close contact, from their first exposure to
 *             `to`: co-visitors with a close overlap and the household:
 *             secondary (次密接). The case and degree-1 people are never
 *             repeated.
 *
 * A visit is an `in` with the next `out` at the same venue, else the `in`
 * plus w (window_minutes); a lone `out` is [out - w, out]. Degree 2 merges
 * the degree-1 contacts' visits per venue into disjoint intervals and reads
 * each once: the cost is bounded by the rows of those intervals, never by
 * contacts × visits. All reads of a run share one read-only snapshot
 * (db_begin_read).
 */

enum trace_class {
    TRACE_CLASS_NONE = 0,
    TRACE_CLOSE,
    TRACE_SECONDARY,
    TRACE_GENERAL,
    TRACE_CLASS__COUNT
};
/* close 密接, secondary 次密接, general 一般接触 (GET /api/v1/vocabularies: trace_classes) */
extern const struct vocab trace_class_vocab;

enum trace_reason_kind {
    TRACE_R_NONE = 0,
    TRACE_R_VENUE,     /* 同场所停留 */
    TRACE_R_HOUSEHOLD, /* 同户 */
    TRACE_R_BUILDING,  /* 同楼栋 */
    TRACE_R_TRAVEL,    /* 同航班/车次 */
    TRACE_R_VEHICLE,   /* 同车 */
    TRACE_R_NAMED,     /* 病例自述 (the investigation record's named contacts) */
    TRACE_R__COUNT
};
extern const struct vocab trace_reason_vocab; /* trace_reason_kinds */

enum trace_trigger { TRACE_MANUAL = 1, TRACE_AUTO };

#define TRACE_WINDOW_MAX_DAYS 60     /* to - from */
#define TRACE_CONTACTS_MAX    200000 /* people kept per run; beyond: truncated */
#define TRACE_GRAPH_NODES     500
#define TRACE_COMMIT_MAX      1000 /* contact ids per commit */

/* The editable rules (GET/PUT /api/v1/trace/rules); ranges in contact.c's
 * table (trace_rules_apply_json answers 400 with the field outside them). */
struct trace_rules {
    int lookback_days;         /* 1..21: the window opens this long before onset */
    int window_minutes;        /* 1..240: w, the co-presence window */
    int close_overlap_minutes; /* 1..240: an overlap from this long is close */
    int seat_rows;             /* 0..30: fellow travellers within this many rows are close */
    int passenger_minutes;     /* 1..60: a passage this close to a plate read is a passenger */
    bool building;             /* building co-residents are general contacts */
    bool automatic;            /* a confirmation starts a run (the warning) */
};

/* The rules stored (defaults seeded by sql/040). E_DB. */
err trace_rules_load(db *d, struct trace_rules *r_r) MUST_USE;
/* Members present in body replace r's, each range-checked: E_INPUT
 * "out_of_range" / "invalid_type" with the member's name; r untouched then. */
err trace_rules_apply_json(json_t *body, struct trace_rules *r) MUST_USE;
/* Store every rule (inside the caller's transaction). */
err trace_rules_save(db *d, const struct trace_rules *r, int64_t user_id) MUST_USE;
json_t *trace_rules_json(const struct trace_rules *r);

/* ---- pure parts (unit-tested) ---- */

struct trace_interval {
    int64_t lo, hi;
};
/* Sort iv by lo and merge overlapping or touching intervals in place; the
 * number left. */
size_t trace_intervals_merge(struct trace_interval *iv, size_t n);
/* The row of a seat: "12A" → 12, "03F" → 3, "12" → 12; 0 when it does not
 * start with digits (unknown: never close by seat). */
int trace_seat_row(const char *seat);
/* The length in ms that [lo1, hi1] and [lo2, hi2] share, 0 when apart. */
int64_t trace_overlap_ms(int64_t lo1, int64_t hi1, int64_t lo2, int64_t hi2);

/* ---- a run ---- */

struct trace_request {
    int64_t person_id;
    int64_t from, to;   /* epoch ms; 0: the default */
    int degree;         /* 1 or 2 */
    int window_minutes; /* 0: the rule */
};

/* A request resolved: the window decided, the rules read. */
struct trace_plan {
    int64_t person_id, region_code;
    int64_t from, to;
    int degree, window_minutes;
    struct trace_rules rules;
};

/*
 * Resolve `in` for a case inside sc at time now: the person live inside sc
 * (else E_NOT_FOUND), a case (else E_CONFLICT "not_a_case"); default from =
 * lookback_days before the first positive test's sampled_at, else before
 * the first change into a case status; default to = the start of the first
 * isolation or observation after from, else now. E_INPUT "invalid_degree"
 * (degree), "invalid_range" (from after to), "invalid_window" (to - from
 * over TRACE_WINDOW_MAX_DAYS), "out_of_range" (window_minutes).
 */
err trace_plan(db *d, const struct scope *sc, const struct trace_request *in, int64_t now,
               struct trace_plan *p_r) MUST_USE;

struct trace_reason {
    enum trace_reason_kind kind;
    int64_t venue_id, from, to;
    int overlap_minutes;
    char number[TRIP_NUMBER_MAX];
    char seat[TRIP_SEAT_MAX + 1];
};

struct trace_contact {
    int64_t person_id, region_code, via_person_id, first_at;
    int degree;
    enum trace_class cls;
    int overlap_minutes; /* the sum over venue reasons */
    struct trace_reason *reasons;
    size_t n_reasons, cap_reasons;
};

/* A run's findings, heap-owned (trace_result_free). */
struct trace_result {
    struct trace_contact *items;
    size_t n, cap;
    bool truncated;
    int64_t counts[TRACE_CLASS__COUNT]; /* per class */
    int64_t rows_read;                  /* access records read: the cost */
};

/* Find the contacts of plan p on d in one read-only snapshot (begun and
 * ended here: call outside a transaction). E_DB, E_NOMEM; r is empty then. */
err trace_compute(db *d, const struct trace_plan *p, struct trace_result *r_r) MUST_USE;
void trace_result_free(struct trace_result *r);

/*
 * Store a computed run inside the caller's transaction: run_id 0 inserts a
 * new run (status done), else completes the queued run run_id. The contacts
 * are written in the order they will be listed. *id_r the run.
 */
err trace_run_store(db *d, const struct trace_plan *p, const struct trace_result *res,
                    enum trace_trigger trigger, int64_t run_id, int64_t user_id, int64_t elapsed_ms,
                    int64_t *id_r) MUST_USE;

/* ---- reading runs (run.c) ---- */

struct trace_run {
    int64_t id, person_id, region_code, from, to, created_by, created_at, finished_at;
    int degree, window_minutes;
    const char *status, *trigger, *rules;
    int64_t counts[TRACE_CLASS__COUNT];
    bool truncated;
    int64_t elapsed_ms;
    const char *person_name; /* masked */
    const char *region_name, *creator_name;
};

/* A run of a case inside sc; E_NOT_FOUND otherwise. */
err trace_run_find(db *d, arena *a, const struct scope *sc, int64_t id,
                   struct trace_run *r_r) MUST_USE;
/* Runs of cases inside sc (person_id 0: any), newest first. */
err trace_run_list(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                   int64_t page_size, struct trace_run **items_r, size_t *n_r,
                   int64_t *total_r) MUST_USE;
json_t *trace_run_json(const struct trace_run *r);

struct trace_contact_filter {
    int degree;                  /* 0 any */
    enum trace_class cls;        /* 0 any */
    enum trace_reason_kind kind; /* 0 any */
    int64_t page, page_size;     /* page_size 0: all */
};

/*
 * The run's contacts whose residence lies inside sc, as the API lists them
 * ({id, person {id, name, id_number, region_name, grid_name}, degree, via,
 * class, class_label, reasons, incident_id}), names masked unless reveal;
 * *outside_r [{name, count}] the contacts outside sc per district (all
 * filters applied). Sorted by degree, class, first_at.
 */
err trace_contacts_read(db *d, arena *a, const struct scope *sc, int64_t run_id,
                        const struct trace_contact_filter *f, bool reveal, json_t **items_r,
                        int64_t *total_r, json_t **outside_r) MUST_USE;
/* {nodes, links, truncated}: the case and up to TRACE_GRAPH_NODES contacts
 * inside sc, the others merged into one node per district. */
err trace_graph(db *d, arena *a, const struct scope *sc, const struct trace_run *run,
                json_t **graph_r) MUST_USE;
/* [{region_code, name, level, center, close, secondary, general}] per grid
 * (or the deepest region above it) inside sc. */
err trace_grid_counts(db *d, arena *a, const struct scope *sc, int64_t run_id,
                      json_t **items_r) MUST_USE;
/* The xlsx (sheets 密接人员, 传播关系) of the contacts inside sc, masked
 * unless reveal; an open temporary file the caller sends and closes. */
err trace_export(db *d, arena *a, const struct scope *sc, const struct trace_run *run, bool reveal,
                 int *fd_r, int64_t *size_r) MUST_USE;

/*
 * Turn contacts of run_id into reports of the case workflow inside the
 * caller's transaction: each not yet committed becomes an incident
 * (SOURCE_CONTACT, INCIDENT_CONTACT, a description of why) routed by its
 * rule, a `contacts` code input and its code recomputed (deferred: once
 * per person), incident_id recorded. E_NOT_FOUND "unknown_contact" when an
 * id is not a contact of the run inside who's scope (nothing written).
 * *reply_r {committed, incidents [ids], skipped [{id, reason}]}.
 */
err trace_commit(db *d, arena *a, const struct principal *who, const struct trace_run *run,
                 const int64_t *ids, size_t n, json_t **reply_r) MUST_USE;

/* ---- the automatic warning (warn.c) ---- */

/*
 * One pass: each confirmation (status_changes to confirmed, the last
 * TRACE_WARN_LOOKBACK_DAYS) without a run gets one (claimed by its
 * status_change_id, so several servers run it once), degree 2 with the
 * default window, and an alert "trace_contacts" at the case's region with
 * the counts per community. *n_r the runs made.
 */
#define TRACE_WARN_LOOKBACK_DAYS 3
err trace_warn_sweep(db *d, int64_t now, int64_t *n_r) MUST_USE;
/* The worker running trace_warn_sweep every every_s seconds (0: off). */
err trace_worker_start(const char *db_url, int every_s) MUST_USE;
void trace_worker_stop(void);

#endif

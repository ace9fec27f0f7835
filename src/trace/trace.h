/*
 * Tracing (流调溯源, issue 11; docs/tracing.md): this part holds the trips
 * of key persons (重点人员出行记录, seed 000 §6.6; seed 001 rows 20-26):
 * when a person left and came back, the transport each way (a flight or a
 * train with its number, a coach, a car with its plate, a ship, other) and
 * the places passed on the way (途径点: bus stops, malls, parks,
 * restaurants, … or a venue of the registry) with the arrival time and the
 * stay; and contact tracing (its own section at the end). Later parts add
 * itineraries to this folder.
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

/*
 * Every committed write of a trace record, for a capability that follows
 * them (the exchange's change log, subscribed in src/app.c): a trip's
 * create, change and delete (trip.c) and a stored contact-tracing run
 * (trace_run_store), called inside the writing transaction with the
 * record's region after the write, so what the subscriber records commits
 * with the write or not at all. One subscriber, set at start-up (a second,
 * other function is E_INTERNAL; NULL clears).
 */
enum trace_record { TRACE_REC_TRIP = 1, TRACE_REC_RUN };
typedef err (*trace_write_fn)(db *d, enum trace_record kind, int64_t id, int64_t region_code,
                              bool deleted);
err trace_on_write(trace_write_fn fn) MUST_USE;
/* Tell the subscriber (trace's own files). */
err trace_written(db *d, enum trace_record kind, int64_t id, int64_t region_code,
                  bool deleted) MUST_USE;

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

/* ---- the 14-day itinerary (itinerary.c; docs/tracing.md "The 14-day itinerary") ------ */

/*
 * Where a person was over the last N days (行程卡, seed 003): the places
 * where they stayed, at city level everywhere, and at district and street
 * level inside the region tree (the platform's own city).
 *
 * The evidence (struct itinerary_span) comes from four sources:
 *   - access records: an "in" and the next "out" at the same venue within
 *     ITINERARY_PAIR_MAX_MS are a visit with its duration; an "in" or "out"
 *     without its pair is a passage (no duration); the venue's region;
 *   - trips: the destination (a city outside the tree, by its name) from the
 *     departure day to the return day (today when not back), always a
 *     stay; a waypoint at a venue is a visit of its stay_minutes there;
 *   - declarations: each region the person declared passing through
 *     (途经地区), a passage at the instant of the declaration;
 *   - nucleic-acid samples: a passage at the testing site's region;
 *   - the telecom operator's answer to the resident's own query (运营商到访地
 *     查询, itinerary_telecom_store): each place named (outside the tree,
 *     like a trip's destination) over the days the operator gives, a stay
 *     (the operator lists only places where the phone stayed).
 *
 * The stay rule: a place is a stay when one China day holds at least
 * stay_hours of visits in it (summed over its venues; a visit crossing
 * midnight counts on each day for its part), or when a span that is a stay
 * by its source (a trip) lies in it. Everything else is a
 * passage (途经): the staff's reply lists passages apart, the card shows
 * stays only, as the 通信行程卡 does.
 *
 * Risk: a place is marked with the risk area (the highest level, then the
 * latest start) whose window overlaps a span of the place that lies inside
 * the area: by the tree for an area with a region (the span's region inside
 * the area's), by name for an area without one and a place outside the tree
 * (one name contains the other: "上海市" and "上海市浦东新区张江镇").
 */

#include "base/regcode.h"
#include "security/token.h"

#define ITINERARY_DAYS_DEFAULT   14
#define ITINERARY_DAYS_MAX       30
#define ITINERARY_STAY_HOURS     4 /* the setting's default */
#define ITINERARY_STAY_HOURS_MIN 1
#define ITINERARY_STAY_HOURS_MAX 24
#define ITINERARY_PAIR_MAX_MS    (24 * 3600 * 1000LL) /* an "out" later than this is another visit */
#define ITINERARY_SPANS_MAX      20000                /* evidence read for one person and window */

enum itinerary_source {
    ITIN_ACCESS = 1,
    ITIN_TRIP = 2,
    ITIN_DECLARATION = 4,
    ITIN_NAT = 8,
    ITIN_TELECOM = 16, /* the operator's visited places (exchange/connect_telecom.c) */
};

/* One piece of evidence: a presence in a region of the tree (region_code)
 * or in a place outside it named by text (region_code 0). */
struct itinerary_span {
    int64_t region_code;
    const char *place;
    int64_t from, to; /* epoch ms; to == from: a passage of unknown length */
    unsigned source;  /* one enum itinerary_source */
    bool stay;        /* a stay whatever its length (a trip's destination) */
};

/* A risk area as the engine reads it (code.h has the whole record). */
struct itinerary_area {
    int64_t id, region_code; /* 0: outside the tree, matched by name */
    const char *name;
    int level;                    /* 1 medium, 2 high */
    int64_t valid_from, valid_to; /* valid_to 0: open */
};

struct itinerary_place {
    enum region_level level; /* LEVEL_CITY, LEVEL_DISTRICT or LEVEL_STREET */
    int64_t region_code;     /* 0: a city outside the tree, named by `name` */
    const char *name;        /* outside: the place's text; inside: "" until named */
    int64_t city_code;       /* the city the place lies in (0 outside the tree) */
    bool stay;               /* false: a passage (途经) */
    int64_t first_at, last_at;
    int64_t longest_ms;                /* the most time on one China day (0 when only passages) */
    int days;                          /* China days with a presence */
    unsigned sources;                  /* enum itinerary_source bits */
    const struct itinerary_area *risk; /* NULL: none */
};

/*
 * Pair one person's access records, given in time order, into spans:
 * venues[i], regions[i], in[i] (true: "in"), at[i]. An "in" followed by
 * the next record of the person at the same venue being an "out" within
 * ITINERARY_PAIR_MAX_MS gives [in, out]; any other record is a passage
 * [at, at]. Writes at most n spans into out (an array of n), returns how
 * many. Pure but for scratch memory from `a`.
 */
size_t itinerary_pair(arena *a, size_t n, const int64_t *venues, const int64_t *regions,
                      const bool *in, const int64_t *at, struct itinerary_span *out);

/*
 * The stay rule and the risk marks over `spans` clipped to [from, to)
 * (spans wholly outside are ignored), stay_ms the rule's threshold. The
 * places (names of tree regions left "" for the caller) in *places_r
 * (arena array of *n_r), cities first then districts then streets, each
 * level by first presence. Marks point into `areas`. Pure but for the
 * arena (which aborts rather than fail), so it cannot fail.
 */
void itinerary_compute(arena *a, const struct itinerary_span *spans, size_t n, int64_t from,
                       int64_t to, int64_t stay_ms, const struct itinerary_area *areas,
                       size_t n_areas, struct itinerary_place **places_r, size_t *n_r);

/* The stay rule's hours (settings "itinerary_stay_hours"; the default when
 * never set). */
err itinerary_stay_hours(db *d, int *hours_r) MUST_USE;

/* Change the stay rule (ITINERARY_STAY_HOURS_MIN..MAX, else E_INPUT
 * "invalid_value" on stay_hours), inside the caller's transaction. */
err itinerary_stay_hours_set(db *d, int hours) MUST_USE;

struct itinerary {
    int64_t person_id;
    int days;
    int64_t from, to; /* epoch ms: [from, to) */
    int stay_hours;
    struct itinerary_place *places;
    size_t n_places;
    struct itinerary_area *areas; /* the risk areas the marks point into */
    size_t n_areas;
};

/*
 * The itinerary of person_id over the `days` (1..ITINERARY_DAYS_MAX) days
 * ending at `now`: the evidence read, the rule applied, the tree places
 * named. The person is the caller's to check (scope, existence). From `a`.
 */
err itinerary_build(db *d, arena *a, int64_t person_id, int days, int64_t now,
                    struct itinerary *it_r) MUST_USE;

/*
 * Keep the telecom operator's answer to query query_id of person_id as
 * evidence: spans[i].place (non-empty), .from, .to (from <= to); the other
 * fields are ignored. Inside the caller's transaction.
 */
err itinerary_telecom_store(db *d, int64_t query_id, int64_t person_id,
                            const struct itinerary_span *spans, size_t n) MUST_USE;

/* The card's token (security/token.h TOKEN_ITINERARY) of person_id issued
 * at now, valid to the end of that China day; *valid_until_r its expiry. */
err itinerary_token(int64_t person_id, int64_t now, char out[TOKEN_MAX],
                    int64_t *valid_until_r) MUST_USE;

/* The itinerary as the API writes it for staff: {days, from, to,
 * stay_hours, stays: [...], passages: [...], cities: [...]}. */
json_t *itinerary_json(const struct itinerary *it);

/* The card's cities (14天内到访的城市): the cities with a stay, each
 * {name, risk (the * mark), risk_level, risk_area}, by first presence;
 * *risky_r true when one is marked. */
json_t *itinerary_cities_json(const struct itinerary *it, bool *risky_r);
/* ---- investigations (investigation.c; docs/tracing.md "Investigations") ------------ */

/*
 * An epidemiological investigation record (流调记录) of a case person
 * (suspected, confirmed or asymptomatic; cured or dead: a past case): the
 * onset date, the symptoms (health.h's bit set), when and by whom it was
 * investigated (the investigator is the user who records it), the
 * institution, a summary (sealed), the places and times as the case tells
 * them, and the contacts the case names.
 *
 * Rules:
 *   - The person is a case inside the caller's scope (another region's
 *     person is E_NOT_FOUND, a non-case E_INPUT "not_a_case" on
 *     person_id); region_code is the person's residence, copied when the
 *     record is written, and bound to the caller's scope on every read
 *     and write.
 *   - onset_on is never after the China date of investigated_at
 *     ("invalid_range" on onset_on).
 *   - A place: text (1..INV_TEXT_MAX), from_at required, to_at 0 or not
 *     before from_at ("invalid_range" on "places[i].to_at"), venue_id 0
 *     or a live venue of any region ("unknown_venue"). The venue is only
 *     ever what the user accepted: investigation_venue_matches offers
 *     candidates, nothing is matched silently.
 *   - A contact: a name; a phone (check_phone) and a resident id number
 *     (check_resident_id, "invalid_id_number" on "contacts[i].id_number")
 *     when given; sealed, both with blind indexes. person_id is the
 *     registered person inside the caller's scope with that id number,
 *     else with that phone (only when exactly one has it), else 0; it is
 *     recomputed on every write.
 */
#define INV_PLACES_MAX   100
#define INV_CONTACTS_MAX 200
#define INV_TEXT_MAX     100  /* a place, the institution, a relation */
#define INV_NOTE_MAX     200  /* a place's note */
#define INV_SUMMARY_MAX  2000 /* the summary */
#define INV_EXPORT_MAX   10000
#define INV_MATCHES_MAX  5 /* venue candidates offered for one place */

struct inv_place {
    const char *place;
    int64_t venue_id;       /* 0: none accepted */
    const char *venue_name; /* read back from venues */
    int64_t from_at, to_at; /* epoch ms; to_at 0 not known */
    const char *note;
};

struct inv_contact {
    const char *name, *phone, *id_number; /* unmasked; "" when not given */
    const char *relation;
    int64_t last_contact_at; /* epoch ms, 0 not known */
    int64_t person_id;       /* the matched registered person, 0 none */
};

struct investigation {
    int64_t id, person_id, region_code;
    const char *region_name;
    const char *person_name, *id_number; /* unmasked: the caller masks */
    int person_status;                   /* enum person_status */
    int32_t onset_on;                    /* yyyymmdd, 0 not known */
    unsigned symptoms;                   /* health.h enum symptom bits */
    int64_t investigated_at;             /* epoch ms */
    int64_t investigator_id;
    const char *investigator_name;
    const char *institution, *summary;
    struct inv_place *places; /* only investigation_find fills them */
    size_t n_places;          /* investigation_list: the count, places NULL */
    struct inv_contact *contacts;
    size_t n_contacts;
    int64_t version, created_at, updated_at;
};

/*
 * Is person `id` a case (suspected, confirmed, asymptomatic; cured or dead:
 * a past case) inside sc? *region_r (may be NULL) its residence.
 * E_NOT_FOUND "not_found" or E_INPUT "not_a_case", both naming `field`.
 * Investigations, links and cluster members all take cases through it.
 */
err trace_case_region(db *d, const struct scope *sc, int64_t id, const char *field,
                      int64_t *region_r) MUST_USE;

/*
 * Apply the members present in a body (POST or PATCH) onto v: person_id,
 * onset_on (null clears), symptoms (an array of names), investigated_at,
 * institution, summary, places and contacts (an array replaces them all).
 * Shapes are checked here (E_INPUT naming the field, "places[1].from_at");
 * texts come from a.
 */
err investigation_apply_json(arena *a, json_t *body, struct investigation *v) MUST_USE;

/* The record's rules on an applied record (required members, the onset
 * before the investigation, every place's range, every contact's phone
 * and id number); E_INPUT naming the field. Pure. */
err investigation_check(const struct investigation *v) MUST_USE;

/*
 * A name as the venue match compares it: ASCII letters lower-cased,
 * full-width ASCII folded to half-width, white space and punctuation
 * (ASCII and the CJK ones) dropped. Writes at most size - 1 bytes and the
 * NUL; returns the length written. Pure.
 */
size_t investigation_name_normalise(const char *in, char *out, size_t size);

/*
 * Write a new investigation (investigator user_id) inside the caller's
 * transaction; checks v, the person (a case in sc), the venues, and
 * matches the contacts in sc. *id_r the new id.
 */
err investigation_create(db *d, arena *a, const struct scope *sc, struct investigation *v,
                         int64_t user_id, int64_t *id_r) MUST_USE;

/* Apply body to the stored record `id` in sc and write it back (places and
 * contacts replaced when given, contacts re-matched). version 0 not
 * checked, else E_CONFLICT "version_conflict"; the person cannot change
 * ("invalid_value" on person_id). Inside the caller's transaction. */
err investigation_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version,
                         json_t *body) MUST_USE;

/* Mark it deleted; E_NOT_FOUND outside scope. */
err investigation_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

/* One live record in sc with its places and contacts; E_NOT_FOUND otherwise. */
err investigation_find(db *d, arena *a, const struct scope *sc, int64_t id,
                       struct investigation *v_r) MUST_USE;

struct investigation_filter {
    int64_t person_id;        /* 0 any */
    int64_t region_code;      /* 0: the whole scope; else narrows it (must lie inside) */
    int64_t from_day, to_day; /* China day numbers (china_date_day) of investigated_at,
                                 inclusive; 0 open */
    int64_t page, page_size;  /* page_size 0: all, up to INV_EXPORT_MAX */
};

/* Records in sc matching f, newest investigation first; places and
 * contacts not read (n_places, n_contacts their counts). E_INPUT
 * "invalid_region" for a region_code outside scope. */
err investigation_list(db *d, arena *a, const struct scope *sc,
                       const struct investigation_filter *f, struct investigation **items_r,
                       size_t *n_r, int64_t *total_r) MUST_USE;

/* The record as the API writes it: the case's name and id number, the
 * contacts' names, phones and id numbers masked unless `reveal`; the
 * summary and the places' texts are shown (trace.read reads them). */
json_t *investigation_json(arena *a, const struct investigation *v, bool reveal);

struct venue_match {
    int64_t id;
    const char *name, *region_name;
    bool exact; /* the same text; else the same normalised name, or one holds the other */
};

/* Live venues in sc whose name matches `text` (exact first, then the
 * normalised name equal, then one containing the other), at most
 * INV_MATCHES_MAX. None is not an error (*n_r 0). */
err investigation_venue_matches(db *d, arena *a, const struct scope *sc, const char *text,
                                struct venue_match **items_r, size_t *n_r) MUST_USE;

/* What the contact-tracing engine takes from a case's investigations
 * (every live record of the person, whatever the caller's scope: the
 * engine has checked the case). */
struct investigation_visit {
    int64_t venue_id;
    int64_t from_at, to_at; /* to_at 0 not known */
};
struct investigation_inputs {
    int32_t onset_on; /* the newest record's onset (by investigated_at), 0 none */
    struct investigation_visit *visits;
    size_t n_visits;   /* the named places with a venue */
    int64_t *contacts; /* the named contacts' registered person ids, distinct */
    size_t n_contacts;
};

/* The onset of the newest record (by investigated_at) of the person that
 * has one, yyyymmdd; 0 none. */
err investigation_onset(db *d, int64_t case_person_id, int32_t *onset_r) MUST_USE;

/* The inputs of person_id's investigations, from a. */
err investigation_inputs(db *d, arena *a, int64_t case_person_id,
                         struct investigation_inputs *r) MUST_USE;

/* ---- transmission chains and clusters (cluster.c; docs/tracing.md) ------------------ */

/*
 * A case link (传播链): person_id was infected by source_id, kind certain
 * (明确) or possible (可能). Both are cases (as for investigations) inside
 * the caller's scope; a person is never its own source and a link never
 * closes a cycle (E_INPUT "link_cycle" on source_id); a pair is linked
 * once (E_CONFLICT "duplicate_link"). A cluster (聚集性疫情) has a name, a
 * region in scope, the first case's date, a status (open/closed), a note
 * and member cases in the caller's scope.
 */
enum case_link_kind { CASE_LINK_NONE = 0, CASE_LINK_CERTAIN, CASE_LINK_POSSIBLE, CASE_LINK__COUNT };
extern const struct vocab case_link_kind_vocab;

enum cluster_status { CLUSTER_NONE = 0, CLUSTER_OPEN, CLUSTER_CLOSED, CLUSTER_STATUS__COUNT };
extern const struct vocab cluster_status_vocab;

#define CLUSTER_NAME_MAX    50
#define CLUSTER_NOTE_MAX    500
#define CASE_LINK_NOTE_MAX  200
#define CASE_CHAIN_MAX      10000 /* cases a cycle check or a graph walks at most */
#define CLUSTER_MEMBERS_MAX 2000

struct case_link {
    int64_t id, person_id, source_id, region_code;
    enum case_link_kind kind;
    const char *note;
    const char *person_name, *source_name; /* unmasked: the caller masks */
    int64_t created_by, created_at;
};

/*
 * Does walking from `from` to its sources, their sources, … reach `to`?
 * sources(ctx, id, ids_r, n_r) gives a case's sources (from the caller's
 * arena). E_CONFLICT "chain_too_long" past CASE_CHAIN_MAX cases. Pure but
 * for what `sources` does.
 */
typedef err (*case_sources_fn)(void *ctx, int64_t id, int64_t **ids_r, size_t *n_r);
err case_link_reaches(arena *a, case_sources_fn sources, void *ctx, int64_t from, int64_t to,
                      bool *r) MUST_USE;

/* Write a link (checks above) inside the caller's transaction; *id_r. */
err case_link_create(db *d, arena *a, const struct scope *sc, const struct case_link *l,
                     int64_t user_id, int64_t *id_r) MUST_USE;

/* Remove a link of sc (its case inside sc); E_NOT_FOUND otherwise. */
err case_link_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

/* The links touching person_id (as case or source) inside sc, or all of sc
 * when person_id is 0 (at most CASE_CHAIN_MAX). */
err case_link_list(db *d, arena *a, const struct scope *sc, int64_t person_id,
                   struct case_link **items_r, size_t *n_r) MUST_USE;

struct cluster {
    int64_t id, region_code;
    const char *name, *region_name, *note;
    int32_t first_case_on; /* yyyymmdd, 0 not known */
    enum cluster_status status;
    int64_t member_count, created_by, version, created_at, updated_at;
};

/* Apply name, region_code, first_case_on (null clears), status, note; shapes
 * and values checked (E_INPUT with the field). */
err cluster_apply_json(arena *a, json_t *body, struct cluster *c) MUST_USE;

err cluster_create(db *d, arena *a, const struct scope *sc, struct cluster *c, int64_t user_id,
                   int64_t *id_r) MUST_USE;
err cluster_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t version,
                   json_t *body) MUST_USE;
/* Mark deleted with its members removed; E_NOT_FOUND outside scope. */
err cluster_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;
err cluster_find(db *d, arena *a, const struct scope *sc, int64_t id, struct cluster *c_r) MUST_USE;

struct cluster_filter {
    int64_t region_code; /* 0: the whole scope */
    enum cluster_status status;
    int64_t person_id; /* clusters having this member; 0 any */
    int64_t page, page_size;
};
err cluster_list(db *d, arena *a, const struct scope *sc, const struct cluster_filter *f,
                 struct cluster **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* Add a case of sc to the cluster (E_CONFLICT "already_member"), remove one
 * (E_NOT_FOUND when not a member). Inside the caller's transaction. */
err cluster_member_add(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                       int64_t person_id, int64_t user_id) MUST_USE;
err cluster_member_remove(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                          int64_t person_id) MUST_USE;

json_t *cluster_json(const struct cluster *c);

/* A case as a graph node (names unmasked: the caller masks). */
struct case_node {
    int64_t person_id, region_code;
    const char *name, *region_name;
    int status;       /* enum person_status */
    int32_t onset_on; /* the newest investigation's onset, 0 none */
    int64_t added_at; /* a cluster's member: when added */
};
struct case_graph {
    struct case_node *nodes;
    size_t n_nodes;
    struct case_link *links; /* between the nodes */
    size_t n_links;
};

/* A cluster's members living inside sc and the links between them;
 * E_NOT_FOUND for a cluster outside sc. */
err cluster_graph(db *d, arena *a, const struct scope *sc, int64_t cluster_id,
                  struct case_graph *g_r) MUST_USE;

/* The links of sc narrowed to region_code (0: all of sc; E_INPUT
 * "invalid_region" outside) with the cases they join (those inside sc). */
err case_link_graph(db *d, arena *a, const struct scope *sc, int64_t region_code,
                    struct case_graph *g_r) MUST_USE;

/* {nodes: [{id, name (masked), status, status_label, onset_on, region}],
 *  links: [{id, source, target, kind, kind_label}]} (source: the source
 * case, target: the case it infected). */
json_t *case_graph_json(arena *a, const struct case_graph *g);

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
 *             but where others passed the venue's door more than
 *             close_crowd_max times during the visit (a station, a mall),
 *             co-presence says nothing of proximity: general (时空伴随)
 *             whatever the overlap;
 *             household (same persons.household): close;
 *             building co-residents (rule `building`): general;
 *             fellow travellers (same flight/train number and day): general,
 *             close when both seats are known and their rows lie within
 *             seat_rows;
 *             passengers: an access record at the venue of a plate read of
 *             the case's vehicle within ± passenger_minutes: close.
 *   degree 2  from each degree-1 close contact, from their first exposure to
 *             `to`: co-visitors with a close overlap (the same crowd rule,
 *             counted around the contact's visit) and the household:
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
    int close_crowd_max;       /* 0..100000: above this many others' passages in a visit, general */
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
    int crowd; /* venue: others' passages at the venue during the visit (the crowd rule) */
    char number[TRIP_NUMBER_MAX];
    char seat[TRIP_SEAT_MAX + 1];
    /* a venue known by its name only (a run received from another
     * instance, whose venue ids are not ours): NULL otherwise; not owned */
    const char *place;
};
#define TRACE_PLACE_MAX 100 /* characters of a place */

/* The reasons a run stored (trace_contacts.reasons) as the API's objects:
 * {kind, venue_id (with a venue), from, to, overlap_minutes, number, seat,
 * crowd (a venue), place (a venue known by name only)}. A new array, never NULL (empty for text
 * that is not the stored form). */
json_t *trace_reasons_parse(const char *text);

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
 * new run (status done), else completes the queued run run_id or replaces
 * the findings of run run_id (its contacts before deleted: a run received
 * again from another instance). The contacts are written in the order they
 * will be listed. *id_r the run.
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
/* Delete run id of a case inside sc with its contacts, inside the caller's
 * transaction (a run deleted at the instance that sent it); E_NOT_FOUND
 * otherwise. */
err trace_run_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

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

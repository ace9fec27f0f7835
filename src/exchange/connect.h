/*
 * The connectors of the data exchange (issue 13 "Connectors", "Two more
 * feeds"; docs/exchange.md "Connectors"): fangkong calling outside systems
 * for one purpose each. A connector is enabled by configuring a peer of its
 * kind (exchange_peers, peer.c); without one its features answer 503
 * "connector_not_configured" in Chinese. Every call to the outside goes
 * through exchange_peer_call() (signed with our key, the answer verified
 * under the peer's) and blocks its thread, so connectors run only on the
 * offload worker (job/offload.h) or a periodic sweep (db/periodic.h),
 * never on an event loop.
 *
 *   connect.c            the peer of a kind, the call and its answer's JSON
 *   connect_police.c     公安 identity verification: name + id number, face
 *   connect_telecom.c    运营商到访地查询: a resident's own visited places
 *   connect_situation.c  全国/各省疫情数据: daily figures on a schedule
 *   connect_platform.c   其他疫情平台: our situation, trends and key persons
 *                        (masked) sent, theirs fetched, on a schedule
 *   connect_urban.c      数字城管: incidents sent as the city's cases, their
 *                        state polled back onto the incident's timeline
 *   connect_api.c        the HTTP routes of all of them
 */
#ifndef FK_EXCHANGE_CONNECT_H
#define FK_EXCHANGE_CONNECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "exchange/exchange.h"
#include "security/auth.h"
#include "region/region.h"
#include "trace/trace.h"

/* The peer kinds the connectors use (exchange_peers.kind). */
#define CONNECT_POLICE    "police"
#define CONNECT_TELECOM   "telecom"
#define CONNECT_SITUATION "situation"
#define CONNECT_URBAN     "urban"
#define CONNECT_PLATFORM  "platform"

/* ---- connect.c ------------------------------------------------------------------ */

/* True when an enabled peer of `kind` is configured (a cheap read, fit for
 * an event loop: a handler decides with it whether to offload). */
bool connect_configured(db *d, const char *kind);

/*
 * One signed call to the enabled peer of `kind`, its 2xx answer parsed as
 * a JSON object into *out_r (a new reference). Errors, each with a Chinese
 * message naming the connector's `label` (公安核验服务, ...):
 *   E_UNAVAILABLE "connector_not_configured"  no enabled peer of the kind
 *   E_UNAVAILABLE "peer_unreachable"          no answer in the peer's timeout
 *   E_UNAVAILABLE "peer_signature_invalid"    the answer's signature fails
 *   E_UNAVAILABLE "peer_refused"              a non-2xx answer, or a body
 *                                             that is not a JSON object
 * so a connector's user is told the outside service is at fault, never us.
 */
err connect_call(db *d, arena *a, const char *kind, const char *label, const char *method,
                 const char *path_query, json_t *body, json_t **out_r) MUST_USE;

/* The same with peer peer_id (any kind: a connector with several peers of
 * its kind, the platforms); "connector_not_configured" when it is gone or
 * disabled. */
err connect_call_peer(db *d, arena *a, int64_t peer_id, const char *label, const char *method,
                      const char *path_query, json_t *body, json_t **out_r) MUST_USE;

/* ---- police identity verification (connect_police.c) ------------------------------ */

enum police_kind { POLICE_IDENTITY, POLICE_FACE };

struct police_answer {
    bool match;
    double score; /* face: the peer's similarity 0..100; identity: -1 */
};

#define POLICE_PHOTO_MAX (2 * 1024 * 1024) /* bytes of the decoded photo */

/*
 * Ask the police peer whether `name` and `id_number` belong together
 * (POST /police/v1/identity), or whether `photo` (a JPEG or PNG, base64)
 * is that person's face (POST /police/v1/face). connect_call's errors;
 * an answer without a boolean "match" is "peer_refused".
 */
err police_check(db *d, arena *a, enum police_kind kind, const char *name, const char *id_number,
                 const char *photo_b64, struct police_answer *ans_r) MUST_USE;

/* Record a check of person_id (inside the caller's transaction). via:
 * "staff" or "binding". */
err police_check_store(db *d, int64_t person_id, enum police_kind kind,
                       const struct police_answer *ans, const char *via, int64_t by_user) MUST_USE;

/* The latest checks of a person, newest first, at most `limit`: [{kind,
 * result, score, via, at}]. The person is the caller's to scope. */
err police_checks_json(db *d, int64_t person_id, int limit, json_t **out_r) MUST_USE;

/*
 * The real-name binding's identity check (person_on_identity_check, wired in
 * app.c): E_OK with *match_r, or connect_call's E_UNAVAILABLE errors (the
 * binding then proceeds unverified, as without a police peer).
 */
err police_binding_check(db *d, arena *a, const char *name, const char *id_number,
                         bool *match_r) MUST_USE;
bool police_configured(db *d);

/* ---- telecom visited places (connect_telecom.c) ------------------------------------ */

#define TELECOM_DAYS             14
#define TELECOM_INTERVAL_DEFAULT 3600 /* s between two queries of one resident */
#define TELECOM_PLACES_MAX       64
#define TELECOM_CONSENT_VERSION  "2026-12"

/* The consent text the resident agrees to before a query (shown by the
 * mobile page, its version stored with each query). */
const char *telecom_consent_text(void);

struct telecom_answer {
    struct itinerary_span *spans; /* place, from, to (in a) */
    size_t n;
    int64_t at;
};

/*
 * The resident `who` (bound to a person) asks the operator for the places
 * their own phone visited in the last TELECOM_DAYS days (POST
 * /telecom/v1/visited {"phone", "days"}); nothing is written. E_RATE
 * "telecom_rate_limited" within interval_s of the resident's previous
 * stored query, E_NOT_FOUND "person_not_registered" for an unbound account,
 * connect_call's errors, "peer_refused" for an answer that is not a list
 * of at most TELECOM_PLACES_MAX places {name, from, to} (dates
 * "YYYY-MM-DD", China days) inside the window.
 */
/* The operator's answer's "places" checked and read (pure; the fuzzer's):
 * at most TELECOM_PLACES_MAX of {name (1..100 bytes), from, to} with dates
 * "YYYY-MM-DD" (China days, to inclusive, from <= to) touching [win_from,
 * now]. False for anything else: the answer is then not used at all. */
bool telecom_places_parse(arena *a, json_t *places, int64_t win_from, int64_t now,
                          struct itinerary_span **spans_r, size_t *n_r);

err telecom_fetch(db *d, arena *a, const struct principal *who, int64_t interval_s, int64_t now,
                  struct telecom_answer *ans_r) MUST_USE;

/* Keep the answer: the query (telecom_queries) and its places as itinerary
 * evidence (itinerary_telecom_store), inside the caller's transaction.
 * *out_r: {query_id, at, places: [{name, from, to}]}. */
err telecom_store(db *d, const struct principal *who, const struct telecom_answer *ans,
                  int64_t *id_r, json_t **out_r) MUST_USE;

/* The interval between two queries of one resident (FK_TELECOM_INTERVAL;
 * set before serving). */
void connect_telecom_interval_set(int64_t s);

/* The resident's latest query ({at, places: [...]}) or JSON null. */
err telecom_latest_json(db *d, int64_t user_id, json_t **out_r) MUST_USE;

/* ---- national and provincial situation (connect_situation.c) ------------------------ */

#define SITUATION_NATIONAL "000000"
#define SITUATION_ROWS_MAX 4000 /* rows taken from one answer */

#define SITUATION_COUNTS 6 /* confirmed, suspected, cured, deaths, asymptomatic, new_confirmed */

/* One row of the source's answer (pointers into r). */
struct situation_row {
    const char *area, *day, *area_name;
    int64_t v[SITUATION_COUNTS];
};

/* Check and read one row (pure; the fuzzer's): area "000000" or a
 * province "NN0000", day "YYYY-MM-DD", area_name 1..60 bytes, each count a
 * non-negative integer. */
bool situation_row_parse(json_t *r, struct situation_row *row_r);

/*
 * Fetch GET /situation/v1/daily?since=YYYY-MM-DD from the situation peer
 * and upsert each {area, area_name, day, confirmed, suspected, cured,
 * deaths, asymptomatic, new_confirmed} by (area, day). A row with a bad
 * field is skipped and counted in *skipped_r; *stored_r counts the rows
 * written. connect_call's errors.
 */
err situation_import(db *d, arena *a, int64_t now, int64_t *stored_r, int64_t *skipped_r) MUST_USE;

/* The periodic import (FK_SITUATION_EVERY seconds; 0 off). */
err situation_worker_start(const char *db_url, int every_s) MUST_USE;
void situation_worker_stop(void);

/* The figures of `area` (SITUATION_NATIONAL, a province, or NULL: the
 * country and every province) over [from, to] (YYYY-MM-DD), by day. */
err situation_json(db *d, const char *area, const char *from, const char *to,
                   json_t **out_r) MUST_USE;

/* ---- digital urban management (connect_urban.c) -------------------------------------- */

#define URBAN_NOTE_MAX 500 /* characters of the text sent with an incident */

/* E_CONFLICT "urban_already_pushed" when incident_id was sent already. */
err urban_push_check(db *d, int64_t incident_id) MUST_USE;

/*
 * Send incident incident_id (inside who's scope, else E_NOT_FOUND) as a
 * case of the city's system (POST /urban/v1/cases {ref, category,
 * category_label, region_code, region_name, description: note, reported_at,
 * lat?, lng?} → {case_no, state?, state_label?}). On success a transaction
 * is left OPEN holding the urban_cases row and the timeline step
 * "urban_pushed": the caller adds its audit entry and commits (or rolls
 * back). *out_r: urban_case_find's object. connect_call's errors;
 * "peer_refused" for an answer without a usable case_no.
 */
err urban_push(db *d, arena *a, const struct principal *who, int64_t incident_id, const char *note,
               json_t **out_r) MUST_USE;

/* The incident's city case {case_no, state, state_label, done, pushed_at,
 * polled_at, updated_at}, or JSON null when it was never sent. */
err urban_case_find(db *d, arena *a, int64_t incident_id, json_t **out_r) MUST_USE;

/*
 * Ask the city's system about each open case (GET /urban/v1/cases/{case_no}
 * → {state, state_label}), oldest asked first, at most 100 a run; a new
 * state is stored and put on the incident's timeline ("urban_state"); the
 * states closed, rejected and cancelled end the asking. *changed_r counts
 * the cases whose state changed.
 */
err urban_poll(db *d, arena *a, int64_t now, int64_t *changed_r) MUST_USE;

#define URBAN_GRIDS_MAX 20000 /* grids one listing may carry */

/*
 * The city's grid division into the region tree: GET /urban/v1/grids → a
 * GeoJSON FeatureCollection whose features carry properties {code, name,
 * community_code (or parent_code): the community the grid lies in} and a
 * Polygon/MultiPolygon geometry (or null). Each becomes a region of level
 * grid through region_import (scope sc: each grid strictly inside it;
 * upsert by code, so a repeated import updates names and boundaries). apply
 * false: a preview — the same checks and report, nothing kept. *rep_r:
 * region_import's report. connect_call's errors; "peer_refused" for a body
 * that is not a list of features; region_import's E_INPUT for a document
 * it cannot read.
 */
err urban_grids(db *d, arena *a, const struct scope *sc, bool apply,
                struct region_import_report *rep_r) MUST_USE;

/* The periodic poll (FK_URBAN_POLL seconds; 0 off). */
err urban_worker_start(const char *db_url, int every_s) MUST_USE;
void urban_worker_stop(void);

/* ---- other epidemic platforms (connect_platform.c) ------------------------------------ */

#define PLATFORM_TREND_DAYS  14
#define PLATFORM_PERSONS_MAX 1000

/* What we send each platform: {date, generated_at, figures: [{measure,
 * label, value}], trend: [{measure, label, points: [{date, value}]}],
 * key_persons: [{name (masked), kind, kind_label, region_name, since}]}. */
err platform_share_body(db *d, arena *a, int64_t now, json_t **body_r) MUST_USE;

/*
 * With every enabled platform peer: POST /platform/v1/situation (our
 * platform_share_body), then GET /platform/v1/situation → {platform,
 * region_name, date, figures: [{label, value}], trend?: [{label, points:
 * [{date, value}]}]} kept per (peer, date) in platform_situation. A
 * platform failing is counted in *failed_r (its reason is in its peer
 * state), the others go on.
 */
/* A platform's answer checked (pure; the fuzzer's): {platform (1..100
 * bytes), region_name, date, figures: [{label, value}] (at most 100),
 * trend?: [{label, points: [{date, value}]}] (at most 100 of 60)}. */
bool platform_answer_ok(json_t *o);

err platform_sync(db *d, arena *a, int64_t now, int64_t *synced_r, int64_t *failed_r) MUST_USE;

/* The periodic exchange (FK_PLATFORM_EVERY seconds; 0 off). */
err platform_worker_start(const char *db_url, int every_s) MUST_USE;
void platform_worker_stop(void);

/* Each platform's latest situation: [{peer, platform, region_name, date,
 * fetched_at, figures, trend}]. */
err platform_situation_json(db *d, json_t **out_r) MUST_USE;

#endif

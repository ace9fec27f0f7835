/*
 * Visitors at community gates (issue 4; seed 002 二(二)2).
 *
 * A resident (the host) submits a visitor for the community they live in:
 * name, document, phone, purpose, an optional vehicle plate and a time
 * window. Community staff (visitor.confirm, scope over the host's region)
 * confirm or refuse it with a reason. A confirmed visitor holds a visitor
 * code: a signed token (security/token.h, TOKEN_VISITOR, key id =
 * code_version, expiry = the window's end) that checkpoint staff scan; it
 * is accepted only inside the window, only at venues of the host's area
 * (visitor_area) and only while the record is confirmed. Every scan that
 * reaches a visitor record is a row of visitor_passages.
 *
 * A visitor may also be registered for an enterprise (issue 14, seed 003:
 * enterprise_id, the host kind "enterprise"): its region is the
 * enterprise's, the enterprise's account decides it
 * (visitor_enterprise_decide), and its code is checked at the enterprise's
 * gate (visitor_gate), never at a community venue.
 *
 * The visitor's name, document and phone are sealed at rest (labels
 * "visitors.name", "visitors.id_number", "visitors.phone") and the document
 * has a blind index. Nothing here knows HTTP; returned strings are
 * allocated from the caller's arena.
 */
#ifndef FK_VISITOR_VISITOR_H
#define FK_VISITOR_VISITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "base/validate.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/crypto.h"
#include "security/token.h"

#define VISITOR_WINDOW_MAX_MS (7 * 86400000LL)  /* a visit lasts at most 7 days */
#define VISITOR_AHEAD_MAX_MS  (30 * 86400000LL) /* and starts within 30 days */
#define VISITOR_PURPOSE_MAX   100
#define VISITOR_REASON_MAX    200

enum visitor_status { VISITOR_PENDING = 1, VISITOR_CONFIRMED, VISITOR_REFUSED, VISITOR_CANCELLED };
extern const struct vocab visitor_status_vocab; /* pending … cancelled */
enum visitor_status visitor_status_parse(const char *s);
const char *visitor_status_name(enum visitor_status s);
const char *visitor_status_label(enum visitor_status s);

struct visitor {
    int64_t id;
    int64_t region_code; /* padded: the host's residence */
    int64_t host_user_id, host_person_id;
    const char *name;
    enum id_type id_type;
    const char *id_number; /* normalised */
    const char *phone;
    const char *purpose;
    const char *plate; /* "" when none */
    int64_t valid_from, valid_to;
    enum visitor_status status;
    const char *reason;
    int64_t decided_by, decided_at;
    int64_t code_version;
    int64_t created_at, updated_at;
    int64_t enterprise_id; /* the host enterprise; 0: a community visitor */
    /* the host as staff read them, masked; filled by visitor_list only */
    const char *host_name, *host_address;
    const char *enterprise_name; /* visitor_list and visitor_day ("" for none) */
};

/*
 * The area a venue or residence belongs to for visitors and vehicles: the
 * community of a code at or below community level, else the code itself.
 */
int64_t visitor_area(int64_t region_code);

/*
 * A submitted window at instant `now`: from < to (E_INPUT "invalid_time"
 * on valid_to), at most VISITOR_WINDOW_MAX_MS long ("window_too_long"),
 * ending after now ("window_ended") and starting within
 * VISITOR_AHEAD_MAX_MS ("window_too_far" on valid_from).
 */
err visitor_window_check(int64_t from, int64_t to, int64_t now) MUST_USE;

/*
 * May a code of window [from, to] be used at `now`? E_CONFLICT
 * "visitor_window_not_started" before from, "visitor_window_ended" after
 * to (field token).
 */
err visitor_window_admit(int64_t from, int64_t to, int64_t now) MUST_USE;

/*
 * Check the fields of `v` (name, id_type + id_number with the registry's
 * checks, phone, purpose, optional plate, window) and normalise them.
 * E_INPUT naming the field.
 */
err visitor_check(arena *a, struct visitor *v, int64_t now) MUST_USE;

/*
 * Submit checked visitor `v` for the resident `host` whose bound person
 * lives at `host_region` (padded). v gets id, region, status pending,
 * times. With v->enterprise_id set, the enterprise is the host and
 * host_region is its region (the resident is who registered it).
 */
err visitor_submit(db *d, arena *a, const struct principal *host, int64_t host_person_id,
                   int64_t host_region, struct visitor *v) MUST_USE;

/* A visitor inside sc (staff) or, with host_user_id > 0, of that host
 * only; E_NOT_FOUND otherwise. */
err visitor_find(db *d, arena *a, const struct scope *sc, int64_t host_user_id, int64_t id,
                 struct visitor *v_r) MUST_USE;

/* Visitors inside sc (or of host_user_id when > 0; invited by the person
 * host_person_id when > 0, a person's page), newest first; status 0: any;
 * community_only: not the visitors of enterprises (community staff's
 * queue of pending visitors: an enterprise decides its own). */
err visitor_list(db *d, arena *a, const struct scope *sc, int64_t host_user_id,
                 int64_t host_person_id, bool community_only, enum visitor_status status,
                 int64_t page, int64_t page_size, struct visitor **items_r, size_t *n_r,
                 int64_t *total_r) MUST_USE;

/*
 * Confirm (reason may be NULL) or refuse (reason required, 1..200
 * characters: E_INPUT "required" on reason) a pending visitor inside sc,
 * by user `by`. E_CONFLICT "visitor_not_pending" when already decided,
 * "visitor_window_ended" when confirming a window that is over.
 */
err visitor_decide(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by, bool confirm,
                   const char *reason) MUST_USE;

/* visitor_decide for the visitors of enterprise enterprise_id only
 * (another's, or a community visitor, is E_NOT_FOUND): the enterprise
 * account's decision, whatever its scope. visitor_decide itself decides
 * community visitors only. */
err visitor_enterprise_decide(db *d, arena *a, int64_t enterprise_id, int64_t id, int64_t by,
                              bool confirm, const char *reason) MUST_USE;

/* Where a visitor of an enterprise is on a day (visitor_day). */
enum visitor_presence {
    VISITOR_UNDECIDED = 1, /* pending or refused: not expected */
    VISITOR_EXPECTED,      /* confirmed, not come in that day */
    VISITOR_ARRIVED,       /* let in, not gone out since */
    VISITOR_LEFT,          /* gone out after coming in */
};
extern const struct vocab visitor_presence_vocab; /* undecided … left */

struct visitor_day_row {
    struct visitor v;
    enum visitor_presence presence;
    int64_t arrived_at, left_at; /* the day's first allowed in and last out after it; 0: none */
};

/*
 * The visitors of enterprise enterprise_id whose window meets [from, to)
 * (a China day), not cancelled, by window start; at most
 * VISITOR_DAY_MAX (E_INPUT "too_many" beyond). Their presence is read from
 * the gate's passages of that day in the same statement.
 */
#define VISITOR_DAY_MAX 5000
err visitor_day(db *d, arena *a, int64_t enterprise_id, int64_t from, int64_t to,
                struct visitor_day_row **rows_r, size_t *n_r) MUST_USE;

/* The host cancels a visitor of theirs (pending or confirmed): its code
 * stops working (the version is bumped). E_CONFLICT "visitor_not_active". */
err visitor_cancel(db *d, arena *a, int64_t host_user_id, int64_t id) MUST_USE;

/*
 * The visitor code of a confirmed visitor (the same text for the same
 * version). E_CONFLICT "visitor_not_confirmed", "visitor_window_ended".
 */
err visitor_code(const struct visitor *v, int64_t now, char out[TOKEN_MAX]) MUST_USE;

struct visitor_scan {
    /* in */
    int64_t venue_id;
    const char *token;
    const char *direction; /* in | out */
    bool has_temperature;
    double temperature;
    int64_t operator_id;
    /* out */
    int64_t passage_id, at;
    bool allowed;
    const char *reason; /* ok | fever */
    double fever_threshold;
    const char *venue_name;
    int64_t venue_region;
    struct visitor v;
};

/*
 * A checkpoint scans a visitor code at a venue inside sc (E_NOT_FOUND
 * otherwise). Token errors (token_verify's), then E_NOT_FOUND
 * "unknown_visitor", E_INPUT "visitor_code_revoked" (older version),
 * E_CONFLICT "visitor_not_confirmed", the window (visitor_window_admit),
 * "visitor_wrong_area" (a venue outside the host's area): each changes
 * nothing. A temperature out of 30-45 °C is E_INPUT "out_of_range". Else the
 * passage is logged with the verdict: denied at or above the venue's fever
 * threshold (reason "fever"), allowed otherwise.
 */
err visitor_scan(db *d, arena *a, const struct scope *sc, struct visitor_scan *s) MUST_USE;

#define VISITOR_GATE_FEVER 37.3 /* °C: an enterprise gate's threshold */

/*
 * An enterprise's gate checks a visitor code: s->venue_id is unused, the
 * token's visitor must be a visitor of enterprise `enterprise_id` (region
 * `region`), else E_CONFLICT "visitor_wrong_area"; then as visitor_scan
 * (token, revoked, confirmed, window, temperature) with VISITOR_GATE_FEVER
 * as the threshold. The passage (venue 0, method enterprise_gate) and a
 * fever's alert commit together.
 */
err visitor_gate(db *d, arena *a, int64_t enterprise_id, int64_t region,
                 struct visitor_scan *s) MUST_USE;

/*
 * The visitor the token names, before any gate decides (so the caller can
 * tell which enterprise it is for): token_verify's errors, E_NOT_FOUND
 * "unknown_visitor".
 */
err visitor_of_token(db *d, arena *a, const char *token, struct visitor *v_r) MUST_USE;

/*
 * A confirmed visitor bringing the plate whose blind index (vehicle.h:
 * plate_blind) is `plate_bidx`, whose host lives in `area` and whose window
 * holds `at`: *visitor_id_r gets its id, or 0.
 */
err visitor_plate_find(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t area, int64_t at,
                       int64_t *visitor_id_r) MUST_USE;

/* visitor_plate_find for a gate in `region` (its visitor area): the
 * vehicle gate's question, wired by app.c (vehicle_on_visitor_plate). */
err visitor_plate_admitted(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t region, int64_t at,
                           int64_t *visitor_id_r) MUST_USE;

/*
 * Seal the plates of visitors written before plates were sealed (sql/013)
 * and empty the clear column; *n_r gets the rows sealed. Run at every start
 * (app_open) like vehicle_plaintext_seal.
 */
err visitor_plaintext_seal(db *d, int64_t *n_r) MUST_USE;

#endif

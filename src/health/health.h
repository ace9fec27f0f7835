/*
 * Health declarations (健康申报) and temperatures (测温): what residents
 * declare each day (seed 001 §4.1.3, §4.1.6; seed 000 §6.2.5) and what
 * checkpoints, devices and staff measure.
 *
 * Every write recomputes the person's health code in the same transaction
 * (code/code.h: code_refresh), so a fever turns the code yellow the moment
 * it is recorded. A declaration's temperature is also stored as a reading
 * (source "declaration"): the fever rule reads one table.
 *
 * Scope: every function takes the caller's scope and binds it in the
 * statement that finds the person; a person outside it is E_NOT_FOUND.
 * Free texts of declarations are SM4-sealed (sensitive health information).
 */
#ifndef FK_HEALTH_HEALTH_H
#define FK_HEALTH_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* Symptoms of seed 001 §4.1.6 and the common list, a bit set. A bit is
 * never reused: stored rows keep their meaning. */
enum symptom {
    SYM_FEVER = 1u << 0,               /* 发热 */
    SYM_COUGH = 1u << 1,               /* 咳嗽 */
    SYM_FATIGUE = 1u << 2,             /* 乏力 */
    SYM_SHORTNESS_OF_BREATH = 1u << 3, /* 气促 */
    SYM_VOMITING = 1u << 4,            /* 呕吐 */
    SYM_DIARRHOEA = 1u << 5,           /* 腹泻 */
    SYM_RASH = 1u << 6,                /* 皮疹 */
    SYM_HEADACHE = 1u << 7,            /* 头痛 */
    SYM_OTHER = 1u << 8,               /* 其他 (with symptom_other) */
};
#define SYM_ALL 0x1FFu

/* "shortness_of_breath" <-> SYM_SHORTNESS_OF_BREATH; 0 when unknown. */
unsigned symptom_parse(const char *s);
const char *symptom_name(unsigned bit);
const char *symptom_label(unsigned bit);
/* The same names and labels as a vocabulary ("symptoms", slot i is bit
 * 1u << i), for GET /api/v1/vocabularies. */
extern const struct vocab symptom_vocab;

/* A declared temperature: 35.0-42.0 °C with at most one decimal. */
#define DECLARED_MIN 35.0
#define DECLARED_MAX 42.0
/* A measured one: physically plausible on a person. */
#define READING_MIN 30.0
#define READING_MAX 45.0

bool health_declared_valid(double celsius);
bool health_reading_valid(double celsius);
/* E_OK, or the one refusal of a measured temperature out of
 * READING_MIN..READING_MAX wherever it is entered (gates, visitor and
 * access scans, devices, readings): E_INPUT "out_of_range" on `field`. */
err health_reading_check(double celsius, const char *field) MUST_USE;

#define HEALTH_TEXT_MAX     200
#define HEALTH_TRAVEL_CODES 20

struct declaration {
    int64_t id, person_id, at;
    double temperature;
    unsigned symptoms;
    const char *symptom_other;                   /* NULL: none */
    const char *travel;                          /* places visited, free text */
    int64_t travel_regions[HEALTH_TRAVEL_CODES]; /* padded region codes */
    int n_travel_regions;
    bool contact; /* contact with a case */
    const char *contact_text;
    const char *source; /* self | staff */
    int64_t user_id;
};

/*
 * Record declaration `dc` (at = now) for person dc->person_id inside sc, by
 * user_id, and refresh the code, in one transaction. The values are
 * assumed checked at the edge (api.c). dc gets id and at.
 */
err health_declare(db *d, arena *a, const struct scope *sc, struct declaration *dc,
                   int64_t user_id) MUST_USE;

/* A person's declarations inside the scope, newest first, paged. */
err health_declarations(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                        int64_t page_size, struct declaration **items_r, size_t *n_r,
                        int64_t *total_r) MUST_USE;

/* Where a reading came from. */
extern const char *const reading_sources[]; /* checkpoint, device, manual, NULL */

struct reading {
    int64_t id, person_id, at;
    double celsius;
    const char *source; /* checkpoint | device | manual | declaration */
    int64_t venue_id, device_id, user_id;
};

/*
 * Record a measured temperature and refresh the person's code, in one
 * transaction: the call checkpoints and devices make. r->at 0 is now; a
 * time more than 5 minutes ahead is E_INPUT "invalid_time" on "at".
 * Out of READING_MIN..READING_MAX: E_INPUT "out_of_range" on "value". The
 * person must be inside sc (E_NOT_FOUND). r gets id and at.
 */
err health_reading_record(db *d, arena *a, const struct scope *sc, struct reading *r) MUST_USE;

/* health_reading_record inside the caller's open transaction (the scan
 * writer and device workers batch several writes in one commit). */
err health_reading_record_tx(db *d, arena *a, const struct scope *sc, struct reading *r) MUST_USE;

/*
 * Whether `device_id` names a live thermometer inside sc (E_OK), or not
 * (E_NOT_FOUND; a database failure is its own error); `a` is the caller's. The device registry
 * depends on health (its readings become temperatures), so the application
 * hands its look-up in (app.c) rather than health including device.h.
 * Until one is set, every device id is refused.
 * One subscriber: registering another function while one is set fails
 * (E_INTERNAL; the server refuses to start) rather than silently replacing
 * it; the same function again is a no-op, and NULL clears the slot.
 */
typedef err (*health_device_check_fn)(db *d, arena *a, const struct scope *sc, int64_t device_id);
err health_on_device_check(health_device_check_fn fn) MUST_USE;

/*
 * The references of a reading entered by staff: r->venue_id (when not 0)
 * must be a live venue inside sc, E_NOT_FOUND "unknown_venue" on venue_id;
 * r->device_id (when not 0) a live thermometer inside sc, E_NOT_FOUND
 * "unknown_device" on device_id. An id from elsewhere would tie a person's
 * temperature to a place or device the caller cannot see.
 */
err health_reading_refs_check(db *d, arena *a, const struct scope *sc,
                              const struct reading *r) MUST_USE;

/* A person's readings inside the scope, newest first, paged. */
err health_readings(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                    int64_t page_size, struct reading **items_r, size_t *n_r,
                    int64_t *total_r) MUST_USE;

#endif

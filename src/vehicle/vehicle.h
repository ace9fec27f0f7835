/*
 * Vehicles at community gates (issue 4; seed 002 二(二)3): vehicles
 * registered to households, plate reads posted by gate camera systems and
 * the passages they produce.
 *
 * A vehicle belongs to an owner (a person of the registry) and lives where
 * the owner lives: its region_code is the owner's residence, so a
 * community's staff see its vehicles through their scope. A plate read at
 * a gate is let in when the plate is registered inside the gate's area
 * (visitor.h: visitor_area) or belongs to a visitor confirmed for that
 * area whose window holds the time; leaving is always allowed. Every read
 * is a row of vehicle_passages. Nothing here knows HTTP; strings returned
 * are allocated from the caller's arena.
 */
#ifndef FK_VEHICLE_VEHICLE_H
#define FK_VEHICLE_VEHICLE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/crypto.h"

/* A plate in UTF-8: one CJK character (3 bytes) and up to 7 ASCII
 * characters, or a trailing special character (3 more). */
#define PLATE_MAX 24

enum vehicle_kind {
    VEHICLE_CAR = 1,    /* 小型汽车 */
    VEHICLE_NEW_ENERGY, /* 新能源汽车 (8-character plate) */
    VEHICLE_TRUCK,      /* 货车 */
    VEHICLE_MOTORCYCLE, /* 摩托车 */
    VEHICLE_OTHER,      /* 其他 */
    VEHICLE_KIND__COUNT
};
extern const struct vocab vehicle_kind_vocab; /* indexed by enum vehicle_kind */
enum vehicle_kind vehicle_kind_parse(const char *s);
const char *vehicle_kind_name(enum vehicle_kind k);
const char *vehicle_kind_label(enum vehicle_kind k); /* Chinese; "" when invalid */

/*
 * Check and normalise a mainland plate (GA 36): a province abbreviation
 * (京, 沪, 粤 …), an issuing-authority letter, then either five characters
 * of digits and letters other than I and O, the last possibly 挂 学 警 港 澳
 * 领 (7 characters), or a new-energy plate of six: D or F then a letter or
 * digit and four digits (small), or five digits then D or F (large) (8
 * characters). Spaces, '·', '-' and '.' are dropped and ASCII letters
 * upper-cased first. On success `out` holds the plate and *nev_r (may be
 * NULL) says whether it is a new-energy plate. E_INPUT "invalid_plate" on
 * `field` otherwise.
 */
err plate_normalise(const char *in, const char *field, char out[PLATE_MAX], bool *nev_r) MUST_USE;

/*
 * Plates and notes are personal data (who passed which gate when): they are
 * stored sealed (SM4, security/crypto.h) and a plate is matched by the keyed
 * blind index of its normalised form, one label for vehicles, passages and
 * visitors, so the gate computes it once and each match is an index look-up.
 */
#define PLATE_BLIND_LABEL "plate"

/* The blind index of a normalised plate (plate_normalise). */
void plate_blind(const char *plate, uint8_t out[BLIND_LEN]);

/*
 * Who answers whether an unregistered plate belongs to an admitted visitor
 * at a gate in `region` at `at` (*visitor_id_r: the visitor, or 0). The
 * visitor module does (app.c wires visitor_plate_admitted), so vehicle does
 * not depend on visitor, which depends on vehicle for plates. Without a
 * hook no plate is a visitor's. Call before serving.
 * One subscriber: registering another function while one is set fails
 * (E_INTERNAL; the server refuses to start) rather than silently replacing
 * it; the same function again is a no-op, and NULL clears the slot.
 */
typedef err (*vehicle_visitor_fn)(db *d, const uint8_t plate_bidx[BLIND_LEN], int64_t region,
                                  int64_t at, int64_t *visitor_id_r);
err vehicle_on_visitor_plate(vehicle_visitor_fn fn) MUST_USE;

/*
 * Seal the plates and notes of vehicles and passages written before they
 * were sealed (sql/013) and empty their clear columns, in transactions of
 * a few hundred rows; *n_r gets the rows sealed. Every start runs it
 * (app_open) after the migrations, with the key loaded: on a clean
 * database it is one look-up in an empty partial index.
 */
err vehicle_plaintext_seal(db *d, int64_t *n_r) MUST_USE;

struct vehicle {
    int64_t id;
    int64_t region_code; /* padded: the owner's residence */
    const char *plate;
    enum vehicle_kind kind;
    int64_t owner_person_id;
    const char *household_no;
    const char *note;
    int64_t created_by, created_at, updated_at;
    const char *owner_name;  /* masked; filled by vehicle_list only, NULL elsewhere */
    const char *region_name; /* the region's name; vehicle_list only, NULL elsewhere */
};

/*
 * Register vehicle `v` (plate normalised, kind given, owner_person_id set)
 * for an owner inside `sc`; the region is the owner's. E_INPUT
 * "invalid_plate", "invalid_kind" (new_energy with a 7-character plate or
 * the reverse), E_NOT_FOUND "unknown_owner" (field owner_person_id) when the
 * owner is not a live person in scope, E_CONFLICT "duplicate_plate". v gets
 * id, region and times.
 */
err vehicle_register(db *d, arena *a, const struct scope *sc, int64_t user_id,
                     struct vehicle *v) MUST_USE;

/* One live vehicle inside sc; E_NOT_FOUND otherwise. */
err vehicle_find(db *d, arena *a, const struct scope *sc, int64_t id, struct vehicle *v_r) MUST_USE;

/* Live vehicles inside sc, newest first; owner 0: any; plate (normalised)
 * NULL: any, else the one vehicle with that plate (by its blind index). */
err vehicle_list(db *d, arena *a, const struct scope *sc, int64_t owner_person_id,
                 const char *plate, int64_t page, int64_t page_size, struct vehicle **items_r,
                 size_t *n_r, int64_t *total_r) MUST_USE;

/* What a change sets (vehicle_change.set). */
enum { VEH_PLATE = 1, VEH_KIND = 2, VEH_OWNER = 4, VEH_HOUSEHOLD = 8, VEH_NOTE = 16 };

struct vehicle_change {
    unsigned set; /* VEH_* */
    const char *plate;
    enum vehicle_kind kind;
    int64_t owner_person_id;
    const char *household_no, *note;
};

/*
 * Change what c->set names of a live vehicle inside sc (owner not 0: only
 * that owner's vehicle, as a resident edits their own). The result is
 * checked as vehicle_register checks a new vehicle, with its errors; a new
 * owner (inside sc) takes the vehicle to their residence. E_INPUT
 * "empty_update"; E_NOT_FOUND; E_CONFLICT "version_conflict" when another edit
 * landed between reading and writing. *v_r gets the vehicle as it is now.
 */
err vehicle_update(db *d, arena *a, const struct scope *sc, int64_t id, int64_t owner,
                   const struct vehicle_change *c, struct vehicle *v_r) MUST_USE;

/* Soft-delete (E_NOT_FOUND outside sc); owner 0: any owner. */
err vehicle_delete(db *d, const struct scope *sc, int64_t id, int64_t owner_person_id) MUST_USE;

enum vehicle_verdict { VEHICLE_ALLOW = 1, VEHICLE_DENY };

struct vehicle_passage {
    int64_t id, venue_id, region_code, at;
    const char *plate;
    const char *direction; /* in | out */
    enum vehicle_verdict verdict;
    const char *reason; /* registered | visitor | exit | unregistered */
    int64_t vehicle_id, visitor_id, reader_user_id, device_id;
};

/*
 * Decide and log a plate read at venue `venue_id` (which must be a live,
 * enabled venue inside `sc`: E_NOT_FOUND otherwise; E_CONFLICT
 * "venue_disabled"): p->plate (normalised), p->direction, p->at (0: now; not
 * more than 5 minutes ahead nor 7 days back: E_INPUT "invalid_time" on
 * "at"), p->reader_user_id or p->device_id. Fills verdict, reason, ids and
 * p->id of the passage row, written in one transaction. `a` holds the
 * venue looked up on the way (the caller's: the request's arena).
 */
err vehicle_read(db *d, arena *a, const struct scope *sc, struct vehicle_passage *p) MUST_USE;

/* Passages inside sc, newest first; venue 0: any. */
err vehicle_passages(db *d, arena *a, const struct scope *sc, int64_t venue_id, int64_t page,
                     int64_t page_size, struct vehicle_passage **items_r, size_t *n_r,
                     int64_t *total_r) MUST_USE;

const char *vehicle_reason_label(const char *reason); /* Chinese */

/*
 * Who else acts on a plate read: called inside vehicle_read's transaction
 * after the passage row was written, with the plate's blind index (the
 * parking garages count cars in and out at their gates: parking.h). An
 * error refuses the read and undoes it (a read against a garage gate's
 * direction). One subscriber, as vehicle_on_visitor_plate; app.c wires
 * parking_on_plate_read.
 */
typedef err (*vehicle_passage_fn)(db *d, arena *a, const struct vehicle_passage *p,
                                  const uint8_t plate_bidx[BLIND_LEN]);
err vehicle_on_passage(vehicle_passage_fn fn) MUST_USE;

#endif

/*
 * Parking guidance and garage monitoring (停车引导, seed 002 二(二)3; issue
 * 14; docs/parking.md). A garage belongs to a community (region_code: the
 * community or a place below it), has spaces (total, reserved for fixed
 * holders) and gates: venues whose plate reads (vehicle.h, vehicle_read)
 * move its occupancy — an allowed read "in" at an in-gate parks the car, an
 * "out" at an out-gate takes it away — so free = total - reserved -
 * occupied (never below 0) is live. The cars inside are kept by the plate's
 * blind index with the plate sealed (shown masked); every move is a row of
 * parking_moves (the occupancy over the day). Staff correct the count by a
 * recount. A garage's free count is public at /public/parking/{token} (a
 * display at the gate: counts only) and shown to the community's residents.
 */
#ifndef FK_PARKING_PARKING_H
#define FK_PARKING_PARKING_H

#include <jansson.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"
#include "vehicle/vehicle.h"

#define PARKING_SPACES_MAX 100000
#define PARKING_GATES_MAX  8
#define PARKING_TOKEN_HEX  32

struct parking_gate {
    int64_t venue_id;
    const char *direction; /* in | out | both */
};

struct parking_garage {
    int64_t id, region_code;
    const char *name;
    int64_t total, reserved, occupied, free;
    const char *token;
    int64_t updated_at;
};

/*
 * Create garage g (name, region_code inside sc and at community level or
 * below, total 1..PARKING_SPACES_MAX, reserved 0..total) with its gates
 * (1..PARKING_GATES_MAX venues inside the garage's community). E_INPUT
 * "invalid_region" (field region_code), "reserved_over_total" (reserved),
 * "invalid_gates" / "unknown_venue" (gates[i]); E_CONFLICT "gate_taken"
 * when a venue is already another garage's gate. g gets id and token. In
 * the caller's transaction.
 */
err parking_create(db *d, arena *a, const struct scope *sc, int64_t user_id,
                   struct parking_garage *g, const struct parking_gate *gates,
                   size_t n_gates) MUST_USE;

/* Change name (non-NULL), total and reserved (>= 0; -1 keep) of a live garage
 * inside sc; the same checks. */
err parking_update(db *d, arena *a, const struct scope *sc, int64_t id, const char *name,
                   int64_t total, int64_t reserved) MUST_USE;

/* Replace the gates of a live garage inside sc by `gates` (the checks of
 * parking_create; a venue may stay a gate of this garage). E_CONFLICT
 * "gate_taken" for another garage's gate. In the caller's transaction. */
err parking_set_gates(db *d, arena *a, const struct scope *sc, int64_t id,
                      const struct parking_gate *gates, size_t n_gates) MUST_USE;

/* Delete a live garage inside sc: its gates are detached (the venues may
 * be another garage's gates; their reads move nothing), the cars inside
 * (sealed plates) deleted, the public display gone (404); the moves stay.
 * In the caller's transaction. */
err parking_delete(db *d, arena *a, const struct scope *sc, int64_t id) MUST_USE;

/* Set the occupancy to `occupied` (0..total) as staff counted it; a move
 * "recount" with the difference. */
err parking_recount(db *d, arena *a, const struct scope *sc, int64_t id, int64_t occupied) MUST_USE;

/* A live garage inside sc; E_NOT_FOUND otherwise. */
err parking_find(db *d, arena *a, const struct scope *sc, int64_t id,
                 struct parking_garage *g_r) MUST_USE;
/* A live garage by its public token (no scope: the token is the key). */
err parking_by_token(db *d, arena *a, const char *token, struct parking_garage *g_r) MUST_USE;

/* The garage as JSON: counts, community name, gates (with venue names);
 * with_token adds the public token (staff). */
err parking_json(db *d, arena *a, const struct parking_garage *g, bool with_token,
                 json_t **o_r) MUST_USE;
/* Live garages inside sc, by name; as parking_json. */
err parking_list(db *d, arena *a, const struct scope *sc, bool with_token,
                 json_t **items_r) MUST_USE;
/* Today's occupancy (China day) per hour [{hour, occupied (the highest),
 * moves}] and the cars inside now [{plate (masked), entered_at}]. */
err parking_today(db *d, arena *a, const struct parking_garage *g, json_t **hours_r,
                  json_t **cars_r) MUST_USE;

/* vehicle_on_passage's subscriber: a read at a garage's gate against its
 * direction is refused (E_INPUT "wrong_direction"); an allowed one moves
 * the garage's count. */
err parking_on_plate_read(db *d, arena *a, const struct vehicle_passage *p,
                          const uint8_t plate_bidx[BLIND_LEN]) MUST_USE;

#endif

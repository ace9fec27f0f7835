/*
 * The synthetic district for demonstrations, tests and benchmarks: Nanshan
 * district of Shenzhen (seed 000 is a Shenzhen standard) with its eight
 * streets, communities, grids and buildings with polygons, N people with
 * valid identity numbers and plausible fields, places, enterprises, and one
 * account for every role.
 *
 * The same seed gives the same regions, people, places and accounts on
 * every machine; record ids are time-ordered (base/id.h) and so differ
 * between runs.
 */
#ifndef FK_DEMO_DEMO_H
#define FK_DEMO_DEMO_H

#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "db/db.h"

struct demo_config {
    long persons; /* people to create */
    uint64_t seed;
    const char *password;   /* for every demo account */
    const char *sample_ids; /* if set, write 1,000 id numbers here (benchmarks) */
};

/* The demo district's code, written form. */
#define DEMO_DISTRICT "440305000000"
/* The phone of the demo resident, who signs in by SMS code. */
#define DEMO_RESIDENT_PHONE "13800138000"
/* The days of case workflow the demo lives through before now (demo_case.c):
 * the district is built that long ago, on the process's shifted clock. */
#define DEMO_DAYS 7

/*
 * Build the district into an initialised database that has no demo yet
 * (E_CONFLICT "demo_exists" otherwise). Writes the accounts table
 * ("role username password region [TOTP secret]", columns as wide as
 * their longest value) to each of the n_out streams.
 */
err demo_build(db *d, const struct demo_config *c, FILE *const *out, size_t n_out) MUST_USE;

/* Places and enterprises for the regions already built (demo_places.c).
 * community_places_r[i] gets the residential compound of communities[i],
 * market_places_r[s] the market of streets[s]. */
err demo_places(db *d, uint64_t seed, long persons, const int64_t *communities, long ncomm,
                const int64_t *streets, long nstreets, int64_t *community_places_r,
                int64_t *market_places_r) MUST_USE;

/* The district as built so far, for demo_activity. */
struct demo_world {
    const int64_t *communities, *community_places; /* ncomm each */
    long ncomm;
    const int64_t *streets, *market_places; /* nstreets each */
    long nstreets;
    const int64_t *buildings; /* in code order */
    long nbuildings;
    int64_t command_user, checkpoint_user, community_user; /* who acts */
    int64_t doctor_user, district_doctor_user, grid_user;
    int64_t street_user, site_user, courier_user, lab_user;
};

/*
 * What the district has been doing (demo_activity.c): departments, risk
 * areas, zones, venues, devices and readings, scans, alerts, visitors,
 * vehicles and passages, declarations, people of every code colour, all
 * through the capabilities' own functions.
 */
err demo_activity(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/* Nucleic-acid testing (demo_nat.c): sites of every kind with queues, the
 * demo site worker clocked in at one, and a running plan with targets
 * derived and entered, counted actual figures and a street's correction. */
err demo_nat(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/* The hotline's work orders of the last week (demo_hotline.c), imported
 * through the hotline's import: some name the demo's testing sites, some
 * match the seeded rules, some none. */
err demo_hotline(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/*
 * The case workflow of the last DEMO_DAYS days (demo_case.c), lived through
 * on the process's clock from DEMO_DAYS China days ago to now: rooms in
 * quarantine sites, reports of every source with their verification tasks
 * (pending, accepted, done, overdue), 0.5 % of the people on the
 * observation list, their checks (some abnormal, some missed), suspected,
 * confirmed and cured cases, releases with certificates; all through the
 * capabilities' functions and the sweeps the server runs. Leaves the clock
 * at the real time.
 */
err demo_case(db *d, const struct demo_world *w, uint64_t seed, long persons) MUST_USE;

/* Tracing (demo_trace.c), after the case week and today's activity: the
 * confirmed cases' exposures at a restaurant (close, general and, through
 * a close contact, secondary co-visitors) as access records on their
 * times, an investigation of each case, case links and one cluster of
 * them, and trips of people on the observation list (three fellow
 * travellers on one train). */
err demo_trace(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

#endif

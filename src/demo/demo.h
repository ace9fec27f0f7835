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

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "db/db.h"
#include "demo/rng.h"

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
    /* community life (demo_life.c): the parcels' recorder, and the demo
     * password the shop's own account is created with */
    int64_t delivery_user;
    const char *password;
    int64_t enterprise_user; /* the demo `enterprise` account */
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

/* Cameras of the video network (demo_video.c), after the sites and places
 * they watch: one at each testing site, quarantine site, market and
 * health centre, a public toilet and a street corner in every street. */
err demo_video(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/* Supplies (demo_supply.c): warehouses with stock, one street short of
 * masks, three communities' requests (received, shipped, waiting). */
err demo_supply(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/* Community life (demo_life.c): a shop with goods and its account `shop`,
 * parcels (one for the demo resident, one overdue), volunteer projects. */
err demo_life(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;
/* Medical resources (demo_medical.c): a designated hospital (tight), a
 * fangcang hospital (ample) and the first streets' fever clinics (the
 * first full), registered and reported. */
err demo_medical(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;
/* Enterprises resuming work (demo_enterprise.c): the `enterprise` account
 * bound to its community's first enterprise, employees (demo persons),
 * shifts and today's roster, clock-ins (one abnormal, one missing),
 * declarations (one flagged), resume-work applications in three streets
 * (approved, submitted, returned). */
err demo_enterprise(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;
/* Content (demo_content.c), after demo_enterprise: disinfection and
 * inspection objects in two communities (one overdue, its task raised),
 * notices with read receipts, articles, an open poll with answers, an
 * electronic order placed with the demo supplier. */
err demo_content(db *d, const struct demo_world *w, uint64_t seed) MUST_USE;

/* ---- the geography (demo_geo.c) ---------------------------------------------------- */

/* Vertices of one polygon the demo draws. */
#define DEMO_POLY_MAX 256

/* A convex polygon, counter-clockwise, not closed (the first vertex is not
 * repeated); x is the longitude, y the latitude. */
struct demo_poly {
    int n;
    double x[DEMO_POLY_MAX], y[DEMO_POLY_MAX];
};

/* The district's outline. */
void demo_geo_district(struct demo_poly *p);

/* Split `parent` into n convex cells (out[0..n-1]) that tile it exactly:
 * the Voronoi cells of n random sites, evened out by Lloyd steps, ordered
 * south to north and west to east. */
void demo_poly_split(const struct demo_poly *parent, int n, struct rng *r, struct demo_poly *out);

/* Whether (x, y) lies strictly inside p. */
bool demo_poly_contains(const struct demo_poly *p, double x, double y);

/* A random point inside p with a square of half-side `margin` (degrees)
 * around it inside too (the centroid when no such point is found). */
void demo_poly_point(const struct demo_poly *p, struct rng *r, double margin, double *x_r,
                     double *y_r);

/* Remember the polygon of region `code`; codes are put in code order. */
void demo_geo_put(int64_t code, const struct demo_poly *p);
/* The polygon of `code`, or NULL. */
const struct demo_poly *demo_geo_find(int64_t code);
/* A random point inside region `code` (a building: inside its grid), false
 * when the demo drew no polygon for it. */
bool demo_geo_point(int64_t code, struct rng *r, double *lng_r, double *lat_r);
/* Forget every polygon (the end of demo_build). */
void demo_geo_reset(void);

#endif

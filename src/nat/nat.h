/*
 * Nucleic-acid testing (核酸检测, issue 10; seed 004 一, 二1, 二2, 二4): the
 * testing sites (核酸点位), the clock-ins of the staff on duty there (打卡),
 * the industries (行业) and the mass-testing plans (大规模核酸应检计划) with
 * their planned (应检) and actual (实检) figures per street and industry.
 *
 * The parts that follow (sampling with pooled tubes, transport, laboratory
 * results, look-up) live in this folder too and hang off these records: a
 * sample is taken at a site (nat_site.id) for a plan (nat_plan.id), and the
 * sampling transaction calls nat_plan_count to add to the plan's actual
 * figure of the person's street (and industry), so the figures are kept,
 * never recounted from samples.
 *
 * Sites, clock-ins and plans are regional records: every function takes
 * the caller's scope and binds it in the same statement; a record outside
 * it is answered like an unknown one (E_NOT_FOUND). A plan's figures are
 * keyed by street region code: a street sees its own rows. Nothing here
 * knows HTTP; strings a function returns are allocated from its arena.
 * Writes that change what the one-map and statistics show are pushed on
 * the live channel at commit (event "nat.site"; nat_site_push).
 */
#ifndef FK_NAT_NAT_H
#define FK_NAT_NAT_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* ---- sites ------------------------------------------------------------------------ */

#define NAT_SITE_CAPACITY_MAX 100000 /* people per hour */
#define NAT_QUEUE_MAX         100000 /* people waiting */
#define NAT_HOURS_RANGES_MAX  6      /* ranges in an opening-hours text */
#define NAT_EXPORT_MAX        10000

enum nat_site_kind {
    NAT_SITE_FIXED = 1,  /* 固定 */
    NAT_SITE_TEMPORARY,  /* 临时 */
    NAT_SITE_MOBILE,     /* 流动 */
    NAT_SITE_COMMUNITY,  /* 社区内 */
    NAT_SITE_KIND__COUNT /* the next free value */
};
extern const struct vocab nat_site_kind_vocab; /* fixed, temporary, mobile, community */

enum nat_site_state {
    NAT_OPEN = 1, /* 开放 */
    NAT_PAUSED,   /* 暂停 */
    NAT_CLOSED,   /* 关闭 */
    NAT_SITE_STATE__COUNT
};
extern const struct vocab nat_site_state_vocab; /* open, paused, closed */

struct nat_site {
    int64_t id;
    int64_t region_code; /* padded */
    const char *region_name;
    const char *name;
    enum nat_site_kind kind;
    const char *address;
    double lng, lat;   /* NAN: no position */
    const char *hours; /* "" all day */
    enum nat_site_state state;
    int64_t capacity; /* per hour, 0 not set */
    int64_t queue_length, queue_at, queue_by;
    const char *queue_by_name; /* the reporter's display name, "" when none */
    int64_t on_duty;           /* staff clocked in now */
    int64_t unattended_since;  /* 0: not flagged (无人值守) */
    int64_t version, created_at, updated_at;
    const char *city_code;  /* the city's code matched to it (东软匹配), "" none */
    int64_t scans;          /* samples taken there, all time (点位扫码人数) */
    const char *source_key; /* an outside system's key (接口接入), "" none */
};

enum {
    NSF_NAME = 1 << 0,
    NSF_KIND = 1 << 1,
    NSF_REGION = 1 << 2,
    NSF_ADDRESS = 1 << 3,
    NSF_LNG = 1 << 4,
    NSF_LAT = 1 << 5,
    NSF_HOURS = 1 << 6,
    NSF_STATE = 1 << 7,
    NSF_CAPACITY = 1 << 8,
};

/* The fields whose NSF_ bit is in `set`. A create needs name, kind and
 * region; address "", no position, all day, open, no capacity otherwise.
 * lng and lat go together (both or neither; NAN clears the position). */
struct nat_site_input {
    unsigned set;
    const char *name;
    enum nat_site_kind kind;
    int64_t region_code; /* padded */
    const char *address;
    double lng, lat;
    const char *hours;
    enum nat_site_state state;
    int64_t capacity;
};

/*
 * Parse opening hours "08:00-12:00,14:00-18:00" into minute ranges of the
 * day [from, to) (to may be 24:00 = 1440), ascending and not overlapping,
 * at most NAT_HOURS_RANGES_MAX; "" is all day (one range 0-1440). *n_r
 * gets the count. E_INPUT "invalid_hours" on field "hours" otherwise.
 */
err nat_hours_parse(const char *s, int from_r[NAT_HOURS_RANGES_MAX], int to_r[NAT_HOURS_RANGES_MAX],
                    size_t *n_r) MUST_USE;

/* Whether China time `ms` falls inside hours `s` (false when malformed). */
bool nat_hours_open_at(const char *s, int64_t ms);

/*
 * Check the fields `in` sets without the database: name (1-100 characters),
 * kind, region (> 0), address (<= 200), lng (73..136) and lat (3..54)
 * together (China), hours (nat_hours_parse), state, capacity
 * (0..NAT_SITE_CAPACITY_MAX). E_INPUT naming every field at fault.
 */
err nat_site_input_check(const struct nat_site_input *in, bool create) MUST_USE;

/* Create a site inside scope: E_INPUT "invalid_region" (field region_code)
 * when the region does not exist or lies outside scope. *id_r: the new id. */
err nat_site_create(db *d, arena *a, const struct scope *scope, const struct nat_site_input *in,
                    int64_t *id_r) MUST_USE;

/* One live site inside scope; E_NOT_FOUND otherwise. */
err nat_site_find(db *d, arena *a, const struct scope *scope, int64_t id,
                  struct nat_site *s_r) MUST_USE;

/* Update the fields `in` sets (E_INPUT "empty_update", errors as create,
 * E_NOT_FOUND, E_CONFLICT "version_conflict" when `version` > 0 and the
 * row moved on). Re-evaluates the unattended flag. */
err nat_site_update(db *d, arena *a, const struct scope *scope, int64_t id, int64_t version,
                    const struct nat_site_input *in) MUST_USE;

/*
 * Delete a site: a soft delete that also sets its state to closed, so its
 * clock-ins (and later its samples) keep naming it; E_CONFLICT
 * "site_on_duty" while staff are clocked in there; E_NOT_FOUND.
 */
err nat_site_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;

/* Record the queue length reported by `user_id` now (0..NAT_QUEUE_MAX,
 * else E_INPUT "out_of_range" on "queue_length"); E_NOT_FOUND; E_CONFLICT
 * "site_closed" for a closed site. */
err nat_site_queue(db *d, const struct scope *scope, int64_t id, int64_t length,
                   int64_t user_id) MUST_USE;

/* Sort keys: "name", "kind", "state", "region_code", "queue_length",
 * "created_at", "updated_at", optionally prefixed with "-". */
struct nat_site_filter {
    int64_t region_code; /* 0: the whole scope, else its subtree */
    enum nat_site_kind kind;
    enum nat_site_state state;
    int unattended; /* -1 any, 1 flagged only, 0 not flagged */
    const char *q;  /* name or address contains, literally */
    const char *sort;
    int64_t page, page_size; /* page_size 0: all up to NAT_EXPORT_MAX */
};

err nat_site_list(db *d, arena *a, const struct scope *scope, const struct nat_site_filter *f,
                  struct nat_site **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* The site as the API writes it (names, never codes). A new reference. */
json_t *nat_site_json(const struct nat_site *s);

/*
 * Push site `id` as it is inside the caller's transaction (or now when none
 * is open) to the live streams whose scope holds its region, once the
 * transaction commits: event "nat.site" on the alert channel, data the
 * site's JSON plus "change" ("create", "update", "delete", "queue",
 * "clock_in", "clock_out", "unattended"). Best effort: a push that cannot
 * be read back is dropped (the lists are the truth).
 */
err nat_site_push(db *d, arena *a, int64_t id, const char *change) MUST_USE;

/* ---- clock-ins ------------------------------------------------------------------- */

#define NAT_RADIUS_DEFAULT 500 /* metres; FK_NAT_CLOCKIN_RADIUS */

/* Positions farther than `metres` from the site are marked far (set once
 * before serving; 10..100000). */
void nat_set_clockin_radius(int metres);
int nat_clockin_radius(void);

/* Great-circle distance in metres between two positions. */
double nat_distance_m(double lng1, double lat1, double lng2, double lat2);

struct nat_clockin {
    int64_t id, site_id;
    const char *site_name;
    int64_t region_code; /* the site's */
    const char *region_name;
    int64_t user_id;
    const char *user_name; /* display name */
    int64_t in_at;
    double in_lng, in_lat; /* NAN: none sent */
    int64_t in_distance;   /* metres, -1 unknown */
    int64_t out_at;        /* 0: on duty */
    double out_lng, out_lat;
    int64_t out_distance;
    bool in_far, out_far;
    bool ingest; /* sent by an outside system (来源 接口接入), else the phone's */
};

/*
 * Clock `user_id` in at site `site_id` (inside scope) with the phone's
 * position (NAN, NAN when the phone gave none: distance unknown). A site
 * that is closed refuses (E_CONFLICT "site_closed"); a user already on duty
 * anywhere refuses (E_CONFLICT "already_clocked_in"). A position beyond the
 * radius is recorded as far, not refused. Clears the unattended flag.
 * *id_r gets the clock-in's id.
 */
err nat_clock_in(db *d, const struct scope *scope, int64_t site_id, int64_t user_id, double lng,
                 double lat, int64_t *id_r) MUST_USE;

/* Clock `user_id` out of their open clock-in (E_CONFLICT "not_clocked_in"
 * when none). *id_r gets its id. */
err nat_clock_out(db *d, int64_t user_id, double lng, double lat, int64_t *id_r) MUST_USE;

/* The open clock-in of `user_id`, if any: *found_r says. */
err nat_clockin_current(db *d, arena *a, int64_t user_id, struct nat_clockin *c_r,
                        bool *found_r) MUST_USE;

err nat_clockin_find(db *d, arena *a, const struct scope *scope, int64_t id,
                     struct nat_clockin *c_r) MUST_USE;

struct nat_clockin_filter {
    int64_t region_code; /* 0: the scope; a street: its sites */
    int64_t site_id, user_id;
    int open;         /* -1 any, 1 on duty, 0 clocked out */
    int far;          /* -1 any, 1 far in or out */
    int64_t from, to; /* in_at in [from, to); 0 open */
    int64_t page, page_size;
};

/* Newest first. */
err nat_clockin_list(db *d, arena *a, const struct scope *scope, const struct nat_clockin_filter *f,
                     struct nat_clockin **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

json_t *nat_clockin_json(const struct nat_clockin *c);

/*
 * The unattended sweep (无人值守): every live open site inside its opening
 * hours at `now` with nobody on duty is flagged (unattended_since = now)
 * and an alert ALERT_NAT_UNATTENDED raised in its region, once per
 * episode; a flagged site that is attended, out of hours or not open is
 * cleared. Each site in its own transaction, claimed by its UPDATE (safe
 * with several servers). *n_r counts the sites newly flagged.
 */
err nat_sweep_unattended(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* Run the sweeps of what time alone changes every `every_s` seconds (0:
 * off; FK_NAT_SWEEP): unattended sites, then overdue boxes
 * (nat_sweep_transit). One worker, one connection, for both. */
err nat_worker_start(const char *db_url, int every_s) MUST_USE;
void nat_worker_stop(void);

/* ---- industries ------------------------------------------------------------------ */

#define NAT_INDUSTRY_NAME_MAX 30

struct nat_industry {
    int64_t id;
    const char *name;
    int64_t sort;
    int64_t enterprises; /* live enterprises naming it */
};

/* Every live industry, by sort then name. */
err nat_industry_list(db *d, arena *a, struct nat_industry **items_r, size_t *n_r) MUST_USE;
err nat_industry_find(db *d, arena *a, int64_t id, struct nat_industry *i_r) MUST_USE;

/* Name 1..NAT_INDUSTRY_NAME_MAX characters, unique among live ones
 * (E_CONFLICT "duplicate_industry"). */
err nat_industry_create(db *d, const char *name, int64_t sort, int64_t *id_r) MUST_USE;
/* Rename (also in the enterprises naming the old name) and/or re-sort; a
 * NULL name keeps it, sort < 0 keeps it. Industries are one list for the
 * deployment (not regional): enterprises name theirs in their own
 * `industry` text, which is what the registry derivation matches. */
err nat_industry_update(db *d, int64_t id, const char *name, int64_t sort) MUST_USE;
/* E_CONFLICT "industry_in_use" when a plan has figures for it. */
err nat_industry_delete(db *d, int64_t id) MUST_USE;

/* ---- plans ----------------------------------------------------------------------- */

#define NAT_PLAN_NUMBER_MAX  40
#define NAT_PLAN_FIGURES_MAX 2000 /* rows in one PUT of targets */
#define NAT_REASON_MAX       200

struct nat_plan {
    int64_t id;
    const char *number, *name;
    int64_t region_code; /* the plan's region: its creator's scope */
    const char *region_name;
    int64_t starts_at, ends_at;
    int64_t created_by;
    int64_t planned, actual, effective; /* totals over its industry-0 rows */
    int64_t version, created_at, updated_at;
};

struct nat_plan_input {
    const char *number, *name;  /* NULL: unchanged (update) */
    int64_t starts_at, ends_at; /* 0: unchanged (update) */
};

/* number 1..40 of [A-Za-z0-9-_], unique across the deployment (E_CONFLICT
 * "duplicate_plan_number"); name 1..100; starts_at < ends_at (E_INPUT
 * naming the field). The plan's region is `region_code`, its creator's. */
err nat_plan_create(db *d, int64_t region_code, int64_t user_id, const struct nat_plan_input *in,
                    int64_t *id_r) MUST_USE;
/* Change the members `in` sets; only a scope holding the plan's region
 * (E_NOT_FOUND otherwise); errors as create, "empty_update". */
err nat_plan_update(db *d, const struct scope *scope, int64_t id,
                    const struct nat_plan_input *in) MUST_USE;
/* A live plan whose region overlaps scope (a street sees its district's
 * plans), with planned, actual and effective (corrected where corrected)
 * summed over the residents' rows of the streets inside scope. */
err nat_plan_find(db *d, arena *a, const struct scope *scope, int64_t id,
                  struct nat_plan *p_r) MUST_USE;
/* Soft delete by a scope holding it; E_CONFLICT "plan_counted" once any
 * actual figure is above 0 (samples name it). */
err nat_plan_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;
/* Newest start first; q matches number or name. */
err nat_plan_list(db *d, arena *a, const struct scope *scope, const char *q, int64_t page,
                  int64_t page_size, struct nat_plan **items_r, size_t *n_r,
                  int64_t *total_r) MUST_USE;

struct nat_figure {
    int64_t region_code; /* a street */
    const char *region_name;
    int64_t industry_id; /* 0: residents */
    const char *industry_name;
    int64_t planned;
    const char *planned_source; /* "entered" | "registry" */
    int64_t actual;             /* counted from samples */
    bool corrected_set;
    int64_t corrected; /* the street's figure when corrected_set */
    const char *reason;
    int64_t corrected_by, corrected_at;
    const char *corrected_by_name;
    /* the laboratory's outcomes of the counted samples (laboratory results,
     * below); pending = actual - the four */
    int64_t negative, positive, retest, invalid;
    /* the actual figure an outside system reported (实检报送), beside the
     * counted one: reported_set false until one is reported */
    bool reported_set;
    int64_t reported, reported_at;
};

/*
 * Set planned figures of plan `id` (a scope holding it): 1..NAT_PLAN_FIGURES_MAX
 * rows, each a street inside scope and the plan's region (E_INPUT
 * "invalid_region" on "targets[i].region_code") and an industry (0 or a
 * live one, else "invalid_industry"), planned 0..10^9, no two rows alike
 * ("duplicate_target"). All rows or none are written; rows not named stay. With
 * `derive`, planned is left out of the rows and taken from the registry
 * instead: industry 0 = live persons residing in the street; an industry =
 * the sum of `employees` of the live enterprises of that street whose
 * industry text is the industry's name (planned_source "registry").
 */
struct nat_target {
    int64_t region_code, industry_id, planned;
};
err nat_plan_set_targets(db *d, const struct scope *scope, int64_t id, const struct nat_target *t,
                         size_t n, bool derive) MUST_USE;

/* The figures of plan `id` inside scope, by street then industry. */
err nat_plan_figures(db *d, arena *a, const struct scope *scope, int64_t id,
                     struct nat_figure **items_r, size_t *n_r) MUST_USE;

/* A plan as the API writes it (its state at the present time, totals,
 * difference). A new reference. */
json_t *nat_plan_json(const struct nat_plan *p);

/* A figure row as the API writes it: names, the counted, corrected and
 * effective figures, the difference (planned - effective), the outcomes and
 * pending. Industry 0 is named 居民. A new reference. */
json_t *nat_figure_json(const struct nat_figure *f);

/*
 * The industries' rows of `in` (n figures of nat_plan_figures) summed over
 * the streets: one row per industry, in order of first appearance, region
 * ""; `corrected` is the sum of what each street stands by (corrected where
 * corrected, else counted) and corrected_set says whether any street
 * corrected. *out_r (n + 1 rows from `a`) gets them; returns their count.
 */
size_t nat_figures_by_industry(arena *a, const struct nat_figure *in, size_t n,
                               struct nat_figure **out_r);

/*
 * Add `delta` to the actual figure of (plan, street, industry) inside the
 * caller's transaction, creating the row (planned 0) when missing: what
 * the sampling part calls for every person sampled (industry 0 always,
 * and the person's industry when known). No scope: the caller's checks
 * placed the sample.
 */
err nat_plan_count(db *d, int64_t plan_id, int64_t street_code, int64_t industry_id,
                   int64_t delta) MUST_USE;

/* Set the reported actual figure (实检报送, an outside system's) of
 * (plan, street, industry) in the caller's transaction, creating the row
 * (planned 0) when missing; the counted `actual` is not touched. The
 * caller checked the plan, the street and the industry. */
err nat_plan_report(db *d, int64_t plan_id, int64_t street_code, int64_t industry_id,
                    int64_t reported) MUST_USE;

/* A street's corrected actual figure with its reason (1..NAT_REASON_MAX):
 * the counted figure is kept beside it, and *actual_r (may be NULL) gets it
 * for the caller's audit entry. E_NOT_FOUND for a row outside scope. */
err nat_plan_correct(db *d, const struct scope *scope, int64_t plan_id, int64_t street_code,
                     int64_t industry_id, int64_t corrected, const char *reason, int64_t user_id,
                     int64_t *actual_r) MUST_USE;

/* ---- the city's site list (东软匹配) ---- */

/*
 * The city's testing-site list (东软核酸数据匹配, seed 004 二2(2)): the city
 * names its sites by its own codes; each city site is mapped to one
 * district site (nat_sites) so that the city's data can later be ingested
 * against the district's sites. The list is imported from the city's
 * xlsx or CSV (re-import updates by code); every city site that is not
 * decided by a person is matched by machine: a score from the names and
 * the distance (nat_match_score), auto-accepted when clearly best, else
 * left to review with its best three candidates. A confirm or a reject by
 * a person is never overwritten by a later run.
 *
 * Scope: a city site belongs to the region of its matched district site
 * (auto, confirmed) or of its best candidate (to review); one with no
 * candidate belongs to no region and is seen by district-wide scopes
 * only (the command centre). docs/nat.md "The city's site list".
 */

#define NAT_CITY_ROWS_MAX   10000 /* rows of one upload: the city lists a few thousand */
#define NAT_CITY_CANDIDATES 3
#define NAT_CITY_CODE_MAX   40

enum nat_match_state {
    NAT_MATCH_AUTO = 1,  /* 自动匹配: clearly best, by machine */
    NAT_MATCH_CONFIRMED, /* 已确认: a person confirmed or picked the site */
    NAT_MATCH_TO_REVIEW, /* 待审核: candidates, none clearly best */
    NAT_MATCH_UNMATCHED, /* 未匹配: no candidate at the last run */
    NAT_MATCH_REJECTED,  /* 无对应点位: a person said none of the district's */
    NAT_MATCH_STATE__COUNT
};
extern const struct vocab
    nat_match_state_vocab; /* auto, confirmed, to_review, unmatched, rejected */

/* The thresholds (docs/nat.md; FK_NAT_MATCH_* in percent and metres). */
struct nat_match_params {
    double auto_score; /* the best is auto-accepted at or above this (0.85) */
    double margin;     /* ... and at least this far ahead of the second (0.15) */
    double min_score;  /* a candidate scores at least this (0.40) */
    int near_m;        /* within: the position supports the match (300) */
    int far_m;         /* beyond: the position rules the site out (2000) */
};
/* Set once before serving; values out of order are the caller's bug. */
void nat_match_configure(const struct nat_match_params *p);
struct nat_match_params nat_match_params_get(void);

/*
 * A site name as compared: full-width forms folded to ASCII, ASCII
 * lower-cased, spaces, punctuation and brackets dropped (their contents
 * kept), then the generic suffixes (核酸检测点, 采样点, 点位…) taken off the
 * end while something is left. Writes at most `cap` code points to out;
 * returns how many. Invalid UTF-8 bytes are dropped.
 */
size_t nat_name_normalise(const char *name, uint32_t *out, size_t cap);

/* The names' similarity, 0..1: the Dice coefficient of the character
 * bigrams of the normalised names (of the single characters when either
 * has one); 1 for equal normalised names, 0 when either is empty. */
double nat_name_score(const char *a, const char *b);

/*
 * The combined score, 0..1, of a name score and a distance in metres
 * (negative: unknown, the name alone decides): within near_m the position
 * adds 0.15 (at most 1); between near_m and far_m the name score is
 * lowered by up to a quarter, linearly; beyond far_m the site is ruled
 * out and the result is -1.
 */
double nat_match_score(double name_score, double distance_m);

struct nat_city_candidate {
    int64_t site_id;
    const char *site_name, *region_name;
    int64_t region_code;
    double score, name_score;
    int64_t distance; /* metres, -1 unknown */
};

struct nat_city_site {
    int64_t id;
    const char *code, *name, *area, *address;
    double lng, lat; /* NAN: none */
    enum nat_match_state state;
    int64_t site_id; /* auto, confirmed: the district site; else 0 */
    const char *site_name;
    int64_t region_code; /* see above; 0 none */
    const char *region_name;
    double score;
    int64_t matched_at, reviewed_by, reviewed_at;
    const char *reviewed_by_name;
    int64_t version, created_at, updated_at;
    bool with_candidates; /* nat_city_find: cand holds the last run's best */
    struct nat_city_candidate cand[NAT_CITY_CANDIDATES];
    size_t n_cand;
};

/* Counts of a matching run. */
struct nat_match_counts {
    int64_t matched, auto_n, to_review, unmatched;
};

/*
 * The re-run after the district's sites changed: every city site that is
 * to review, unmatched, or auto with its district site since deleted is
 * matched again by machine against the district's live sites (in one
 * transaction, a savepoint of the caller's). Confirmed and rejected ones
 * are never touched. Candidates replaced, state, site and region set. The
 * district's sites are read into `a` (about half a kilobyte each). *c_r
 * (may be NULL) gets the counts.
 */
err nat_city_match(db *d, arena *a, struct nat_match_counts *c_r) MUST_USE;

/* The import template (xlsx, sheet 城市点位), to an unlinked temporary
 * file: *fd_r at offset 0. */
err nat_city_template(int *fd_r, int64_t *size_r) MUST_USE;

/*
 * Import the city's list: `n` bytes of xlsx (sheet 城市点位 or the first)
 * or CSV (UTF-8, the template's header) inside the caller's transaction.
 * Whole-file faults are E_INPUT with no change ("empty", "invalid_xlsx"…,
 * "invalid_encoding", "invalid_header", "too_many_rows"). Each row is
 * checked (code 1..40 of [A-Za-z0-9-_.], unique in the file; name 1..100;
 * area <= 100; address <= 200; lng/lat together, in China); a bad row is
 * reported, not written, and the others are. Rows upsert by code: a new
 * code is created, a known one updated (its decided match kept), and
 * every created or updated one not decided by a person is matched.
 * *result_r: {"total","created","updated","failed","auto","to_review",
 * "unmatched","errors":[{"row","field","column","code","message"}]} (the
 * first 500 errors), a new reference.
 */
err nat_city_import(db *d, arena *a, const void *data, size_t n, json_t **result_r) MUST_USE;

/* The upload's structure before a job is queued: nat_city_import's
 * whole-file faults (the rows are read into `a`, nothing is written);
 * *rows_r the data rows. */
err nat_city_import_check(arena *a, const void *data, size_t n, long *rows_r) MUST_USE;

/* Queue nat_city_import (job "nat.city_import"; the bytes are copied) on
 * the import worker (job/import.h), with the audit entry nat.city.import
 * in its transaction; the job's result is nat_city_import's. */
err nat_city_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                           size_t n, long rows) MUST_USE;

struct nat_city_filter {
    enum nat_match_state state; /* 0 any */
    const char *q;              /* code, name or address contains */
    int64_t page, page_size;
};

/* City sites in scope, by code. */
err nat_city_list(db *d, arena *a, const struct scope *scope, const struct nat_city_filter *f,
                  struct nat_city_site **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* One city site in scope with its candidates; E_NOT_FOUND. */
err nat_city_find(db *d, arena *a, const struct scope *scope, int64_t id,
                  struct nat_city_site *c_r) MUST_USE;

/* The city site of city code `code` in scope (the look-up the ingestion of
 * the city's data uses); E_NOT_FOUND. */
err nat_city_find_code(db *d, arena *a, const struct scope *scope, const char *code,
                       struct nat_city_site *c_r) MUST_USE;

/*
 * A person's decision on city site `id` (in scope; E_NOT_FOUND): with
 * site_id > 0, confirm that district site (a candidate or any live site in
 * scope, else E_INPUT "invalid_site" on "site_id"); with 0, no district
 * site corresponds (rejected). `version` > 0 must be the current one
 * (E_CONFLICT "version_conflict"). Either is final for later runs.
 */
err nat_city_review(db *d, arena *a, const struct scope *scope, int64_t id, int64_t version,
                    int64_t site_id, int64_t user_id) MUST_USE;

/* The city site as the API writes it, with "candidates" after a find. */
json_t *nat_city_json(const struct nat_city_site *c);
/* ---- tubes and samples (part 2) ------------------------------------------------- */

#define NAT_BARCODE_MIN 6
#define NAT_BARCODE_MAX 32

enum nat_tube_kind {
    NAT_TUBE_SINGLE = 1, /* 单管 */
    NAT_TUBE_POOL5,      /* 混采 5:1 */
    NAT_TUBE_POOL10,     /* 混采 10:1 */
    NAT_TUBE_POOL20,     /* 混采 20:1 */
    NAT_TUBE_KIND__COUNT
};
extern const struct vocab nat_tube_kind_vocab; /* single, pool5, pool10, pool20 */
int nat_tube_size(enum nat_tube_kind k);       /* 1, 5, 10, 20 */

/* A tube moves forward only: open → closed (full or 封管) → packed → in_transit
 * → received (transport, nat.h "transport") → resulted (the laboratory). */
enum nat_tube_state {
    NAT_TUBE_OPEN = 1,   /* 采样中 */
    NAT_TUBE_CLOSED,     /* 已封管 */
    NAT_TUBE_PACKED,     /* 已装箱: in a box at the site (transport) */
    NAT_TUBE_IN_TRANSIT, /* 转运中: its box handed to a courier */
    NAT_TUBE_RECEIVED,   /* 已签收: its box signed for by the laboratory */
    NAT_TUBE_RESULTED,   /* 已出结果: the laboratory recorded its result */
    NAT_TUBE_STATE__COUNT
};
extern const struct vocab nat_tube_state_vocab;

/* A barcode is 6..32 of [0-9A-Za-z-]. */
bool nat_barcode_valid(const char *s);

struct nat_tube {
    int64_t id;
    const char *barcode;
    enum nat_tube_kind kind;
    int64_t size, filled;
    int64_t site_id;
    const char *site_name;
    int64_t region_code; /* the site's */
    const char *region_name;
    int64_t plan_id; /* 0: none */
    const char *plan_name;
    int64_t opened_by;
    const char *opened_by_name;
    enum nat_tube_state state;
    int64_t opened_at, closed_at, closed_by;
    int result; /* enum nat_result (laboratory results, below); 0 none yet */
    int64_t resulted_at;
    const char *institution; /* the laboratory's name; "" none yet */
};

/*
 * The rule of a sample meeting an existing tube (pure; nat_sample_take
 * applies it to the row it read): E_OK when `t` (its site_id, plan_id,
 * size, filled and state) takes a sample at `site_id` for `plan_id` (0:
 * none). Otherwise E_CONFLICT, checked in this order: "tube_used" on
 * "barcode" (another site's tube), "tube_full" on "barcode" (filled to its
 * size), "tube_used" on "barcode" (closed before it was full),
 * "tube_plan_mismatch" on "plan_id" (opened for another plan, or for none).
 */
err nat_tube_admit(const struct nat_tube *t, int64_t site_id, int64_t plan_id) MUST_USE;

/*
 * The duplicate rule (重复采样), pure: two samples of one person are in the
 * same round when they share a plan, whatever the days; without a plan,
 * when they fall on the same China day. This answers the day a sample taken
 * at `at` for `plan_id` must share with an earlier one: for a plan's
 * sample the China day the plan's id was made (the plan alone decides: the
 * day is constant per plan; it is also the day nat_samples is partitioned
 * and retained by, docs/retention.md), else china_day(at).
 */
int64_t nat_sample_round_day(int64_t plan_id, int64_t at);

/* How the person was named at sampling. */
enum nat_sample_method { NAT_BY_CODE = 1, NAT_BY_ID_NUMBER, NAT_BY_VISITOR };

struct nat_sample_input {
    int64_t person_id;  /* resolved by the caller (code or id number), or 0 */
    int64_t visitor_id; /* a checked visitor code's visitor, or 0 */
    enum nat_sample_method method;
    const char *barcode;
    enum nat_tube_kind kind;        /* used when the barcode opens a new tube; 0: single */
    int64_t plan_id;                /* 0: none */
    int64_t staff_id;               /* the caller: must be clocked in (unless site_id) */
    int64_t site_id;                /* 0: the staff's clock-in names the site; else this live site
                                       (an outside system's sample: the caller checked its scope) */
    int64_t at;                     /* 0: now; else the sample's time (the ingest's `at`) */
    bool ingest;                    /* source 'ingest' (接口接入), else 'scan' */
    struct nat_sample_defer *defer; /* NULL: counts and push now; else added up there */
};

/*
 * The counts of a batch of samples, added up and written once by
 * nat_sample_flush (the ingest's): on PostgreSQL a row updated once per
 * sample in one transaction keeps every version until it ends, so the
 * plan's figure, the site's scans and its hour, written 10,000 times,
 * cost quadratic time. The sums and the end state are the same.
 */
struct nat_sample_defer {
    struct nat_defer_item *v;
    size_t n, cap;
};
/* Write the counts added up (nat_plan_count, the site's hour and scans),
 * push each site once ("sample"), and empty df, in the caller's transaction. */
err nat_sample_flush(db *d, arena *a, struct nat_sample_defer *df) MUST_USE;
void nat_sample_defer_free(struct nat_sample_defer *df);

struct nat_sample_result {
    int64_t id, tube_id, site_id;
    int64_t filled, size;
    bool opened;    /* this sample opened the tube */
    bool closed;    /* this sample filled the tube and closed it */
    bool duplicate; /* the person was already sampled in the plan (or day) */
    int64_t scans;  /* the site's scans this hour, this one included */
};

/*
 * Take a sample inside the caller's transaction: the staff's open
 * clock-in names the site (E_CONFLICT "not_clocked_in"; "site_closed"
 * when the site is closed or deleted). The barcode (E_INPUT
 * "invalid_barcode" on "barcode") names an open tube of this site or a new
 * one (opened with `kind` and the plan); E_CONFLICT "tube_used" when it
 * belongs to another site or was closed before it was full, "tube_full"
 * when it is full, "tube_plan_mismatch" (field plan_id) when it was opened
 * for another plan. The plan: a live plan whose region overlaps the site's
 * and running now (E_NOT_FOUND "unknown_plan" / E_CONFLICT
 * "plan_not_running" on "plan_id"). A person sampled again in the same
 * plan (the same China day without one) is accepted with duplicate set and
 * not counted again; otherwise nat_plan_count adds 1 to the person's street
 * (a visitor's: the site's) with industry 0 and with their employer's
 * industry when the registry links one. Every sample adds 1 to the site's
 * scans and to its hour, and the site is pushed ("sample").
 */
err nat_sample_take(db *d, arena *a, const struct nat_sample_input *in,
                    struct nat_sample_result *r) MUST_USE;

/*
 * Delete sample `id` (inside scope, else E_NOT_FOUND) and take it out of
 * every counter it added to, in the caller's transaction: the plan's
 * actual (nat_plan_count -1, street and industry) when it was counted, the
 * site's scans and its hour, the tube's `filled` (a tube left empty is
 * deleted, its barcode free again; a closed tube stays closed). When it was
 * the first of its round, the next sample of the same round (by time)
 * becomes the first and is counted instead (with its outcome, if any).
 * E_CONFLICT "tube_packed" on "sample" when its tube is packed or later
 * (in a box, in transit, received or resulted). The site is pushed
 * ("sample"). *site_r (may be NULL) gets the sample's site.
 */
err nat_sample_delete(db *d, arena *a, const struct scope *scope, int64_t id,
                      int64_t *site_r) MUST_USE;

/* Close an open tube of a site inside scope early (E_NOT_FOUND; E_CONFLICT
 * "tube_closed" when not open). A tube is never empty: its first sample
 * opens it. *t_r (may be NULL) gets the tube as it was before closing. */
err nat_tube_close(db *d, arena *a, const struct scope *scope, const char *barcode, int64_t user_id,
                   struct nat_tube *t_r) MUST_USE;

err nat_tube_find(db *d, arena *a, const struct scope *scope, const char *barcode,
                  struct nat_tube *t_r) MUST_USE;

struct nat_tube_filter {
    int64_t region_code, site_id, plan_id;
    int64_t box_id;            /* 0 any (transport) */
    enum nat_tube_state state; /* 0 any */
    int64_t from, to;          /* opened_at in [from, to) */
    int64_t resulted_from;     /* resulted_at >= it; 0 any (the laboratory's day) */
    int64_t page, page_size;
    bool awaiting; /* the laboratory's inbox: closed, packed, in transit or received */
};
err nat_tube_list(db *d, arena *a, const struct scope *scope, const struct nat_tube_filter *f,
                  struct nat_tube **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
json_t *nat_tube_json(const struct nat_tube *t);

struct nat_sample {
    int64_t id, person_id, visitor_id, tube_id;
    const char *barcode;
    enum nat_tube_kind tube_kind;
    const char *name; /* the person's or visitor's, decrypted: mask before replying */
    const char *id_number;
    int64_t site_id;
    const char *site_name;
    int64_t region_code; /* the site's */
    const char *region_name;
    int64_t plan_id;
    const char *plan_name;
    int64_t staff_id;
    const char *staff_name;
    enum nat_sample_method method;
    int64_t at;
    bool duplicate;
    int result;  /* enum nat_result of its tube; 0 pending */
    int outcome; /* enum nat_outcome: the person's result in the round; 0 pending */
    bool ingest; /* sent by an outside system (source 接口接入), else scanned */
};

struct nat_sample_filter {
    int64_t region_code, site_id, plan_id, tube_id, person_id;
    int duplicate;    /* -1 any */
    int64_t from, to; /* at in [from, to) */
    int64_t page, page_size;
};
/* Newest first; names and id numbers decrypted (the caller masks). */
err nat_sample_list(db *d, arena *a, const struct scope *scope, const struct nat_sample_filter *f,
                    struct nat_sample **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
/* reveal: names and id numbers in full, else masked. */
json_t *nat_sample_json(arena *a, const struct nat_sample *s, bool reveal);

struct nat_site_hour {
    int64_t site_id;
    const char *site_name;
    int64_t region_code;
    const char *region_name;
    int64_t hour; /* epoch ms of the hour's start */
    int64_t n;
};
/* Scan counts per site and hour inside scope, newest hour first. */
err nat_site_hours(db *d, arena *a, const struct scope *scope, int64_t region_code, int64_t site_id,
                   int64_t from, int64_t to, int64_t page, int64_t page_size,
                   struct nat_site_hour **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
/* ---- result look-up (个人及批量查询) ---- */

/*
 * Results (test_results, written by the laboratory part) looked up by id
 * number for one person, for a resident's own page, and in batches of up
 * to NAT_LOOKUP_MAX_ROWS id numbers (lookup.c, docs/nat.md "Result
 * look-up"). Only resident ids (GB 11643, checksum validated) are looked
 * up. A person is found only inside the caller's scope (a batch: its
 * region's, the creator's); outside it an id reads as not found.
 */
#define NAT_LOOKUP_MAX_ROWS    1000000
#define NAT_LOOKUP_UPLOAD_MAX  (128u * 1024 * 1024) /* bytes of an upload */
#define NAT_RECENT_DAYS        3   /* 近3天的核查次数: today and the two China days before */
#define NAT_PERSON_RESULTS_MAX 200 /* newest first: a person's history shown */
#define NAT_ID_NORMAL          19  /* an 18-character id and its NUL */

enum nat_id_check { NAT_ID_OK, NAT_ID_EMPTY, NAT_ID_MALFORMED };

/* An uploaded id number normalised into out (blanks dropped, letters
 * upper-cased) and checked as a resident id; out holds at most 18
 * characters and is undefined unless NAT_ID_OK. Pure; no error detail. */
enum nat_id_check nat_lookup_id_check(const char *raw, char out[NAT_ID_NORMAL]);

/* The epoch ms from which a test counts as recent at `now`: the start of
 * the China day NAT_RECENT_DAYS - 1 days before now's. */
int64_t nat_recent_since(int64_t now);

/* "阴性" / "阳性" / "混管阳性待复核" for a stored result; the value itself otherwise. */
const char *nat_result_label(const char *result);

struct nat_lookup_result {
    const char *result; /* negative | positive */
    int64_t sampled_at, reported_at;
    const char *institution; /* "" when the writer did not say */
};

struct nat_person_results {
    int64_t person_id;
    const char *name;                /* masked unless reveal */
    const char *id_number;           /* masked unless reveal */
    struct nat_lookup_result *items; /* newest first, at most NAT_PERSON_RESULTS_MAX */
    size_t n;
};

/*
 * The results of the person with resident id `id_number` inside sc.
 * E_INPUT "invalid_id_number" (field id_number) for a malformed id,
 * E_NOT_FOUND "not_found" when nobody in scope has it; E_DB, E_CRYPTO.
 */
err nat_lookup_person(db *d, arena *a, const struct scope *sc, const char *id_number, bool reveal,
                      struct nat_person_results *r_r) MUST_USE;

/* A resident's own results (the caller has checked who it is). */
err nat_lookup_own(db *d, arena *a, int64_t person_id, struct nat_lookup_result **items_r,
                   size_t *n_r) MUST_USE;

/* r as a workbook in an unlinked temporary file: *fd_r at offset 0. */
err nat_lookup_person_xlsx(const struct nat_person_results *r, int *fd_r, int64_t *size_r) MUST_USE;

/*
 * The cheap checks of an upload before a batch is made: E_INPUT "empty"
 * (no bytes), "invalid_xlsx" (xlsx that is not a zip), "too_many_rows"
 * (a CSV of more than NAT_LOOKUP_MAX_ROWS data lines). An xlsx's rows are
 * counted by the run, which fails with "too_many_rows" as soon as the
 * reader passes the cap.
 */
err nat_lookup_probe(const void *data, size_t n, bool xlsx) MUST_USE;

/* A batch's files under the batch directory. */
enum nat_batch_file { NAT_FILE_RESULT, NAT_FILE_NOT_FOUND, NAT_FILE_MALFORMED, NAT_FILE_UPLOAD };
void nat_batch_path(const char *dir, int64_t id, enum nat_batch_file f, char out[600]);

struct nat_batch_counts {
    int64_t rows, found, not_found, malformed;
};
struct nat_batch_timing {
    int64_t read_ms, lookup_ms, write_ms;
};

/*
 * One run of batch `id` from its uploaded file in dir: read, check, look
 * up in sc, write the result, not-found and malformed workbooks (replacing
 * the previous run's). `progress` (may be NULL) is called once the rows are
 * read (done 0) and now and then after with the entries looked up and the
 * rows (total). *t_r may be NULL. E_INPUT (the
 * upload: "empty", "invalid_xlsx", "too_many_rows", …), E_IO, E_NOMEM, E_DB.
 */
err nat_batch_run_file(db *d, const char *dir, int64_t id, const struct scope *sc, bool xlsx,
                       bool reveal, int64_t now,
                       void (*progress)(void *ctx, size_t done, size_t total), void *pctx,
                       struct nat_batch_counts *c_r, struct nat_batch_timing *t_r) MUST_USE;

struct nat_batch {
    int64_t id, region_code, user_id;
    const char *region_name;        /* the creator's region, as people read it */
    const char *user_name;          /* the creator's display name */
    const char *file_name, *format; /* xlsx | csv */
    bool reveal;
    const char *state; /* queued | running | done | failed */
    int64_t rows, done, found, not_found, malformed, runs, elapsed_ms;
    const char *error; /* a failed run's message, else "" */
    int64_t created_at, updated_at;
};

/* Where batch files go (<data_dir>/exports/nat-lookup, made 0700); before
 * the worker starts. Then the worker, with its own connection. */
void nat_lookup_configure(const char *data_dir);
const char *nat_lookup_dir(void);
err nat_lookup_start(const char *db_url) MUST_USE;
void nat_lookup_stop(void);

/*
 * A new batch of who's region from an upload already probed: the bytes are
 * written to its file, the row is inserted queued (in d's transaction if
 * one is held) and *id_r gets its id. The caller queues it with
 * nat_batch_submit after commit. E_IO, E_DB.
 */
err nat_batch_create(db *d, const struct principal *who, const char *file_name, bool xlsx,
                     bool reveal, const void *data, size_t n, int64_t *id_r) MUST_USE;

/* Queue a run of batch id (state queued) for who; without a worker or with
 * a full queue it runs here. The run writes one audit entry with the counts
 * ("nat.lookup.batch_run"). */
err nat_batch_submit(db *d, int64_t id, const struct principal *who, const char *ip) MUST_USE;

/* Batches in sc, newest first; page is 1-based. */
err nat_batch_list(db *d, arena *a, const struct scope *sc, int64_t page, int64_t page_size,
                   struct nat_batch **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
/* One batch in sc; E_NOT_FOUND outside it. */
err nat_batch_find(db *d, arena *a, const struct scope *sc, int64_t id,
                   struct nat_batch *b_r) MUST_USE;
/* Mark a finished batch queued again (迭代); E_CONFLICT "job_not_done" while
 * it is queued or running, E_NOT_FOUND outside sc. */
err nat_batch_requeue(db *d, arena *a, const struct scope *sc, int64_t id) MUST_USE;
/* Delete a finished batch's row and files; the same errors. */
err nat_batch_delete(db *d, arena *a, const struct scope *sc, int64_t id) MUST_USE;

/* ---- transport (转运) ---- */

/*
 * A box (转运箱) carries closed tubes of one site to a laboratory. It is
 * packed at the site (tubes go packed), sealed (封箱), handed to a courier
 * (转运人员: the box and its tubes go in_transit) and signed for by the
 * laboratory (签收: received). Each hand-over (交接) is a row of the box's
 * chain (交接链): from whom, to whom, when, where. A box is a regional
 * record by its site's region: every function takes the caller's scope; a
 * box outside it is answered like an unknown one (E_NOT_FOUND). Each
 * change is pushed on the alert stream at commit (event "nat.box").
 */
enum nat_box_state {
    NAT_BOX_PACKED = 1, /* 已装箱: at the site (sealed or not) */
    NAT_BOX_IN_TRANSIT, /* 转运中 */
    NAT_BOX_RECEIVED,   /* 已签收 */
    NAT_BOX_STATE__COUNT
};
extern const struct vocab nat_box_state_vocab; /* packed, in_transit, received */

#define NAT_TRANSIT_LIMIT_DEFAULT 240   /* minutes; FK_NAT_TRANSIT_LIMIT */
#define NAT_BATCH_MAX             10000 /* hand-over records in one ingest */
#define NAT_PERSON_NAME_MAX       50    /* characters of a hand-over's from/to name */
void nat_set_transit_limit(int minutes);
int nat_transit_limit(void); /* minutes */

struct nat_box {
    int64_t id;
    const char *barcode;
    int64_t site_id;
    const char *site_name;
    int64_t region_code; /* the site's */
    const char *region_name;
    enum nat_box_state state;
    int64_t tubes;
    const char *packed_by_name;
    int64_t packed_at;
    const char *sealed_by_name;
    int64_t sealed_at; /* 0: open for tubes */
    int64_t holder_id; /* 0: an outside person (or none before the courier) */
    const char *holder_name;
    int64_t transit_at, received_at;
    int64_t overdue_at; /* the overdue alert was raised then (0: not) */
    bool overdue;       /* in transit longer than the limit now */
};

struct nat_handover {
    int64_t id;
    enum nat_box_state state; /* in_transit or received: what it made the box */
    int64_t from_id, to_id;   /* users.id; 0: an outside person */
    const char *from_name, *to_name;
    int64_t at;
    double lng, lat; /* NAN: no position */
    bool batch;      /* recorded by an outside system (转运数据接入) */
};

/*
 * Is a box overdue at `now` (pure)? In transit since `transit_at` for longer
 * than `limit_min` minutes: strictly more, so a box is due at exactly the
 * limit and overdue one millisecond after.
 */
bool nat_box_overdue(enum nat_box_state state, int64_t transit_at, int64_t now, int limit_min);

/*
 * Start a box `barcode` at a site inside scope (0: the user's open
 * clock-in's). E_INPUT "invalid_barcode" on "barcode"; E_CONFLICT
 * "box_used" on "barcode" (a box's barcode is unique for ever; the barcode
 * of a tube is refused too, "tube_used"); E_NOT_FOUND "unknown_site" on
 * "site_id"; E_CONFLICT "not_clocked_in" without a site and a clock-in.
 */
err nat_box_create(db *d, arena *a, const struct scope *scope, const char *barcode, int64_t site_id,
                   int64_t user_id, int64_t *id_r) MUST_USE;

/*
 * Pack the tube `tube` into the box (E_NOT_FOUND for a box outside scope).
 * E_CONFLICT on field "tube": "box_sealed" (the box is sealed or gone),
 * "tube_open" (still being filled: 封管 first), "tube_other_site" (of
 * another site than the box's), "tube_packed" (in a box already, this one
 * or another); E_NOT_FOUND "unknown_tube" on "tube". The tube goes packed.
 */
err nat_box_pack(db *d, arena *a, const struct scope *scope, const char *box,
                 const char *tube) MUST_USE;

/* Seal the box (封箱): E_CONFLICT "box_empty" without tubes, "box_sealed"
 * when already sealed. */
err nat_box_seal(db *d, arena *a, const struct scope *scope, const char *box,
                 int64_t user_id) MUST_USE;

/* A hand-over as nat_box_handover applies it. */
struct nat_handover_input {
    enum nat_box_state to_state; /* in_transit: to a courier; received: to the laboratory */
    int64_t from_id;             /* 0: the box's holder (the sealer for a courier) */
    const char *from_name;       /* NULL: the holder's */
    int64_t to_id;               /* the receiving user; 0: an outside person */
    const char *to_name;         /* required when to_id is 0 */
    int64_t at;                  /* 0: now */
    double lng, lat;             /* NAN: none */
    int64_t recorded_by;
    bool batch;
};

/*
 * The rule of a hand-over meeting a box (pure; nat_box_handover applies it
 * to the row it read): E_OK when box `b` may go to state `to`, else
 * E_CONFLICT on "barcode", checked in this order: "box_received" (signed
 * for already, whatever `to`); to in_transit: "box_in_transit" (handed
 * over already), "box_not_sealed"; to received: "box_not_in_transit".
 */
err nat_box_admit(const struct nat_box *b, enum nat_box_state to) MUST_USE;

/*
 * Record a hand-over of the box inside the caller's transaction. To a
 * courier: the box must be sealed and at its site (E_CONFLICT
 * "box_not_sealed"; "box_in_transit" when handed over already, the double
 * hand-over; "box_received"); to the laboratory: the box must be in
 * transit (E_CONFLICT "box_not_in_transit"; "box_received" when signed for
 * already). The box is claimed by a conditional UPDATE first, so a refusal
 * or a racing second hand-over writes nothing. Its tubes follow. The field
 * of these errors is "barcode". *id_r (may be NULL) gets the hand-over.
 */
err nat_box_handover(db *d, arena *a, const struct scope *scope, const char *box,
                     const struct nat_handover_input *in, int64_t *id_r) MUST_USE;

err nat_box_find(db *d, arena *a, const struct scope *scope, const char *barcode,
                 struct nat_box *b_r) MUST_USE;

/* The box's chain, oldest first. */
err nat_box_chain(db *d, arena *a, int64_t box_id, struct nat_handover **items_r,
                  size_t *n_r) MUST_USE;
/* The box's tubes: nat_tube_list with nat_tube_filter.box_id. */

struct nat_box_filter {
    int64_t region_code, site_id;
    enum nat_box_state state; /* 0 any */
    int overdue;              /* 1: in transit over the limit now; 0 any */
    int64_t from, to;         /* packed_at in [from, to) */
    int64_t page, page_size;
};
err nat_box_list(db *d, arena *a, const struct scope *scope, const struct nat_box_filter *f,
                 struct nat_box **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
json_t *nat_box_json(const struct nat_box *b);
json_t *nat_handover_json(const struct nat_handover *h);

/* Push the box on the alert stream at commit (event "nat.box", the box's
 * JSON with "change": "create", "pack", "seal", "in_transit", "received",
 * "overdue"). */
err nat_box_push(db *d, arena *a, int64_t id, const char *change) MUST_USE;

/*
 * The overdue sweep: every box in transit longer than the limit at `now`
 * and not yet alerted raises one alert (nat_transit_overdue) on it; the
 * claiming UPDATE (overdue_at = 0 → now) makes it once among several
 * servers. *n_r (may be NULL) gets how many were raised.
 */
err nat_sweep_transit(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* One record of an outside system's batch (转运数据接入). */
struct nat_transport_record {
    size_t index;          /* its place in the caller's batch, for its errors */
    const char *record_id; /* the caller's, 1..64 characters: once per caller */
    const char *box;       /* barcode */
    enum nat_box_state to_state;
    const char *from_name, *to_name;
    int64_t at;
    double lng, lat;
};

struct nat_batch_result {
    int64_t applied, repeated; /* repeated: a record id already applied, unchanged */
    json_t *errors;            /* [{index, record_id, code, field, message}] */
};

/*
 * Apply a batch of already-shaped records for caller `client_id` in one
 * transaction of the caller's: each record is checked (a record id seen
 * before is skipped as repeated) and applied with nat_box_handover, or its
 * error appended to r->errors (a record's refusal writes nothing of it).
 * Only a database failure fails the whole.
 */
err nat_transport_batch(db *d, arena *a, const struct scope *scope, int64_t client_id,
                        const struct nat_transport_record *recs, size_t n,
                        struct nat_batch_result *r) MUST_USE;
/* The same for hand-over records as JSON (POST /api/v1/nat/transport/batch
 * and the exchange's nat.transport operation), inside the caller's open
 * transaction, in who's scope. */
err nat_transport_json(db *d, arena *a, const struct principal *who, json_t *records,
                       json_t **reply_r, const char **detail_r) MUST_USE;

/* ---- ingest of outside systems (数据接入: sites, plans, samples, clock-ins) ---- */

/*
 * Batches of up to NAT_BATCH_MAX records, as the transport's: each record
 * is applied in a savepoint of the batch's one transaction through the
 * functions the console and the phone use (counters, scope, the live
 * push); a refused record is reported {index, record_id, code, field,
 * message} and leaves nothing; a record id already applied for this
 * caller and kind is `repeated` and changes nothing (nat_ingest_records).
 * An outside record's `at` lies within NAT_INGEST_PAST_DAYS before now and
 * five minutes after (E_INPUT "invalid_time" on "at").
 */
#define NAT_INGEST_PAST_DAYS 7

enum nat_ingest_kind {
    NAT_INGEST_SITE = 1,
    NAT_INGEST_PLAN,
    NAT_INGEST_SAMPLE,
    NAT_INGEST_CLOCKIN
};

/* The first member of every record below. */
struct nat_ingest_head {
    size_t index;          /* its place in the caller's batch, for its errors */
    const char *record_id; /* the caller's, 1..64 characters: once per caller and kind */
};

#define NAT_SOURCE_KEY_MAX 64 /* characters of an outside system's site key */

/* A site by its outside key (nat_sites.source_key, unique among live
 * sites): upsert creates it (name, kind and region needed) or changes the
 * fields `in` sets; remove deletes it (nat_site_delete). */
struct nat_site_record {
    struct nat_ingest_head h;
    bool remove;
    const char *key;
    struct nat_site_input in;
};

/* One (street, industry) row of a plan record: planned (应检) always, the
 * outside system's actual (实检报送) when reported_set. */
struct nat_report_row {
    int64_t region_code, industry_id, planned;
    bool reported_set;
    int64_t reported;
};

/* A plan by its number: created (the caller's region) or changed (the
 * members `in` sets), then its rows (nat_plan_set_targets for planned,
 * nat_plan_report for reported). */
struct nat_plan_record {
    struct nat_ingest_head h;
    struct nat_plan_input in; /* number always */
    const struct nat_report_row *rows;
    size_t n;
};

/* A sample added (the person by identity number, or a visitor's code; the
 * site by its key; the plan by its number) or deleted (by the record id of
 * its add, or by the sample's id): nat_sample_take / nat_sample_delete. */
struct nat_sample_record {
    struct nat_ingest_head h;
    bool remove;
    const char *site_key;
    const char *id_number, *id_type, *visitor_code; /* one of id_number and visitor_code */
    const char *barcode;
    enum nat_tube_kind kind;
    const char *plan_number; /* NULL: none */
    int64_t at;
    const char *of_record; /* remove: the add's record id, or NULL */
    int64_t sample_id;     /* remove: the sample's id, or 0 */
};

/* A staff member (a staff user by login name, inside scope) clocked in at a
 * site (by key) or out of their open shift there, at `at`:
 * nat_clock_in / nat_clock_out with source 'ingest'. */
struct nat_clockin_record {
    struct nat_ingest_head h;
    bool out;
    const char *site_key;
    const char *staff;
    int64_t at;
    double lng, lat; /* NAN, NAN: none */
};

/* Apply the n records of `kind` at recs (each `size` bytes, starting with
 * its nat_ingest_head) for client `who` (its scope; its region makes new
 * plans). Only errors of the database end the batch. */
err nat_ingest_batch(db *d, arena *a, const struct principal *who, enum nat_ingest_kind kind,
                     const void *recs, size_t size, size_t n, struct nat_batch_result *r) MUST_USE;

/*
 * A batch given as JSON records (the body of POST /api/v1/nat/<kind>/batch
 * and of the exchange's nat operations): each record shaped (a malformed
 * one reported with its index, the others go on), the good ones applied by
 * nat_ingest_batch inside the caller's open transaction. *reply_r:
 * {received, applied, repeated, rejected, errors}; *detail_r: the counts,
 * for the caller's audit entry (in a).
 */
err nat_ingest_json(db *d, arena *a, const struct principal *who, enum nat_ingest_kind kind,
                    json_t *records, json_t **reply_r, const char **detail_r) MUST_USE;

/* ---- laboratory results (检测结果) ---- */

/*
 * The laboratory (检测机构, role lab) records a result per tube: negative,
 * positive or invalid (无效, 需重采). A tube takes a result when it is
 * closed, packed, in transit or received (a laboratory's system may report
 * before any box scan) and moves to resulted; an open tube is refused, a
 * resulted one takes the same result again as a no-op and refuses another.
 *
 * In the same transaction (nat_result_record):
 *   - every sample of the tube gets the result, and its outcome (the
 *     person's result in the round): a single tube's result; 'retest' for a
 *     sample of a positive pool; 'invalid' for an invalid tube;
 *   - every person (not a visitor) of a negative or positive tube gets a
 *     test_results row (negative; positive for a single tube;
 *     "pool_positive" for a pool: the health-code rule pool_positive reads
 *     it as yellow) with the sample's time and the institution, and their
 *     code is recomputed (code_refresh);
 *   - a positive pool marks each person for a single-tube retest (复核): a
 *     nat_retests row and an urgent task of kind "nat_retest" for the grid
 *     workers of the person's community; an invalid tube a resample (重采),
 *     task "nat_resample";
 *   - a person's later result closes their open retest (a single tube's
 *     only) or resample (any tube's): its task done, the original sample's
 *     outcome set to the result; a positive single tube files a report in
 *     the case workflow (incident_report, source cdc) and the rule
 *     positive_test makes the code red;
 *   - the plan's figures per street (and industry) and the counters
 *     nat.outcome.* move with every outcome.
 * The institution is the recording user's department name (users'
 * department, set by the administrator), else their display name.
 */

enum nat_result {
    NAT_RESULT_NEGATIVE = 1, /* 阴性 */
    NAT_RESULT_POSITIVE,     /* 阳性 */
    NAT_RESULT_INVALID,      /* 无效（需重采） */
    NAT_RESULT__COUNT
};
extern const struct vocab nat_result_vocab; /* negative, positive, invalid */

enum nat_outcome {
    NAT_OUTCOME_NEGATIVE = 1, /* 阴性 */
    NAT_OUTCOME_POSITIVE,     /* 阳性 */
    NAT_OUTCOME_RETEST,       /* 混管阳性待复核 */
    NAT_OUTCOME_INVALID,      /* 无效待重采 */
    NAT_OUTCOME__COUNT
};
extern const struct vocab nat_outcome_vocab; /* negative, positive, retest, invalid */

/*
 * The outcome of a sample whose tube of `size` got `result` (pure): the
 * result for a single tube; a positive pool's is NAT_OUTCOME_RETEST; an
 * invalid tube's NAT_OUTCOME_INVALID; a negative pool's negative.
 */
enum nat_outcome nat_outcome_of(enum nat_result result, int64_t size);

/*
 * The rule of a result meeting a tube (pure): E_OK to record `result` on a
 * tube in `state` whose current result is `current` (0 none); *repeat_r
 * set when the tube already has that very result (nothing to do).
 * E_CONFLICT "tube_open" (field barcode) for an open tube,
 * "result_conflict" (field result) for a resulted tube with another.
 */
err nat_result_admit(enum nat_tube_state state, int current, enum nat_result result,
                     bool *repeat_r) MUST_USE;

#define NAT_RESULTS_MAX 10000 /* records of one batch or upload */
/* Records of one batch on PostgreSQL: the batch runs on the offload worker
 * while its client waits for the report (about 10 ms a tube there), so the
 * reply comes within 10 s, well inside the connection's idle timeout; an
 * upload runs on the import worker and keeps NAT_RESULTS_MAX. */
#define NAT_RESULTS_MAX_PG    1000
#define NAT_RESULT_ERRORS_MAX 500 /* errors a report lists (the count covers all) */

struct nat_result_input {
    const char *barcode;
    enum nat_result result;
    int64_t at; /* the laboratory's reporting time; 0: now */
};

struct nat_result_outcome {
    int64_t tube_id;
    bool repeated;   /* the tube had this result already: nothing written */
    int64_t samples; /* samples given the result */
    int64_t retests; /* retests and resamples opened */
    int64_t closed;  /* retests closed by this result */
    int64_t reports; /* case reports filed (positive single tubes) */
};

/* The institution recorded for user_id's results (see above), into a. */
err nat_lab_institution(db *d, arena *a, int64_t user_id, const char **name_r) MUST_USE;

/*
 * Record one result inside a savepoint of the caller's transaction, by
 * `who` (the laboratory user: their scope holds the tube, their id is
 * recorded, their principal files the case report) for `institution`.
 * E_NOT_FOUND "unknown_tube" (field barcode) for a tube outside scope or
 * none; E_INPUT "invalid_time" (field at) for a time after now plus five
 * minutes or before the tube was opened; nat_result_admit's conflicts.
 * Nothing is written on failure. *o_r (may be NULL) gets what it did.
 */
err nat_result_record(db *d, arena *a, const struct principal *who, const char *institution,
                      const struct nat_result_input *in, struct nat_result_outcome *o_r) MUST_USE;

/*
 * Record up to NAT_RESULTS_MAX results, each alone (a failing one is
 * reported and the others applied), inside the caller's transaction; with
 * dry_run everything is rolled back after the report is made. rows (may be
 * NULL) are the records' row numbers for the report (an upload's sheet
 * rows), else their 1-based positions. prior (may be NULL, stolen) holds
 * errors found before (an upload's unreadable rows) to merge by row.
 * *report_r: {"total","applied","repeated","failed","retests","reports",
 * "dry_run","errors":[{"row","barcode","code","field","message"}]} (the
 * first 500 errors), a new reference.
 */
err nat_result_batch(db *d, arena *a, const struct principal *who, const char *institution,
                     const struct nat_result_input *in, const long *rows, size_t n, bool dry_run,
                     json_t *prior, int64_t prior_failed, json_t **report_r) MUST_USE;

#define NAT_RESULT_SHEET "检测结果"

/*
 * An upload of results (xlsx: sheet 检测结果 or the first): columns
 * 试管条码, 检测结果 (阴性/阳性/无效 or negative/positive/invalid), 报告时间
 * (optional: a date-time cell or "YYYY-MM-DD HH:MM[:SS]", China time).
 *
 * nat_result_upload_check: the structure, before a job is queued. Whole-
 * file faults are E_INPUT ("empty", "invalid_xlsx"…, also for a first row
 * that is not the template's header, "too_many_rows" past
 * NAT_RESULTS_MAX); *rows_r the data rows.
 *
 * nat_result_upload_submit: queue the upload (job "nat.result_upload"; the
 * bytes are copied) on the import worker (job/import.h). A malformed row
 * is reported with its row number and the others recorded as by
 * nat_result_batch, with the audit entry nat.result.upload in the same
 * transaction (a dry run rolls the results back). The job's result is
 * the batch's report with "report": true when the failed rows, marked,
 * are at GET /api/v1/jobs/{id}/errors.xlsx.
 */
err nat_result_upload_check(const void *data, size_t n, long *rows_r) MUST_USE;
err nat_result_upload_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                             size_t n, long rows, bool dry_run) MUST_USE;

#define NAT_WITHDRAW_REASON_MAX 200 /* characters */

struct nat_withdraw_outcome {
    int64_t tube_id, withdrawal_id;
    const char *result; /* the withdrawn result's name */
    int64_t samples;    /* samples whose result and outcome were undone */
    int64_t tests;      /* persons' test results taken back */
    int64_t retests;    /* open retests and resamples it opened, withdrawn (tasks cancelled) */
    int64_t reports;    /* case reports noted (left in place) */
};

/*
 * Withdraw (撤回) the result of the tube `barcode` inside a savepoint of
 * the caller's transaction, by `who` for `reason` (1 to
 * NAT_WITHDRAW_REASON_MAX characters, checked by the caller): the tube
 * goes back to received with no result; its samples lose their result and
 * outcome (counters and plan figures moved back); the persons' test
 * results it wrote move to test_results_withdrawn and their codes are
 * recomputed; the open retests and resamples it opened are marked
 * withdrawn and their tasks cancelled; the case report of a positive
 * single tube is left in place with a note on its timeline. The bound: a
 * result whose retests were answered, or that answered retests, is final
 * (E_CONFLICT "result_final"). E_NOT_FOUND "unknown_tube" outside scope;
 * E_CONFLICT "no_result" for a tube without a result.
 */
err nat_result_withdraw(db *d, arena *a, const struct principal *who, const char *barcode,
                        const char *reason, struct nat_withdraw_outcome *o_r) MUST_USE;

/* The upload template (xlsx, sheet 检测结果) to an unlinked temporary file. */
err nat_result_template(int *fd_r, int64_t *size_r) MUST_USE;

enum nat_retest_kind { NAT_RETEST = 1, NAT_RESAMPLE };
extern const struct vocab nat_retest_kind_vocab; /* retest 单管复核, resample 重新采样 */
enum nat_retest_state {
    NAT_RETEST_OPEN = 1,
    NAT_RETEST_NEGATIVE,
    NAT_RETEST_POSITIVE,
    NAT_RETEST_WITHDRAWN /* the result that opened it was withdrawn */
};
extern const struct vocab nat_retest_state_vocab; /* open, negative, positive, withdrawn */

struct nat_retest {
    int64_t id;
    enum nat_retest_kind kind;
    enum nat_retest_state state;
    int64_t person_id;
    int64_t visitor_id; /* a visitor's (person_id 0): routed to the site's community */
    const char *name;   /* decrypted: mask before replying */
    const char *phone;  /* a visitor's, decrypted ("" a person): mask before replying */
    int64_t region_code;
    const char *region_name;
    int64_t tube_id;
    const char *barcode;        /* the pool's (or invalid tube's) */
    const char *result_barcode; /* the tube that closed it; "" open */
    int64_t plan_id;
    const char *plan_name;
    int64_t task_id;
    int task_state; /* enum task_state; 0 no task */
    int64_t incident_id, created_at, closed_at;
};

struct nat_retest_filter {
    int64_t region_code, plan_id;
    enum nat_retest_kind kind;   /* 0 any */
    enum nat_retest_state state; /* 0 any */
    int64_t page, page_size;
};
/* Retests of people in scope (by residence), newest first. */
err nat_retest_list(db *d, arena *a, const struct scope *scope, const struct nat_retest_filter *f,
                    struct nat_retest **items_r, size_t *n_r, int64_t *total_r) MUST_USE;
json_t *nat_retest_json(arena *a, const struct nat_retest *r, bool reveal);

/* The task kinds nat_retest and nat_resample (app.c, before serving). */
err nat_task_kinds_register(void) MUST_USE;
/* The counters nat.outcome.{negative,positive,retest,invalid} (flows per
 * street and sampling day, non-duplicate samples; docs/stats.md). */
err nat_stats_register(void) MUST_USE;

/* Register the testing sites' measures ("nat.site.<state>": live sites by
 * state, docs/stats.md); nat_stats_register does, and the writes too. */
err nat_site_measures_register(void) MUST_USE;

/* ---- statistics (点位核酸街道统计、区级统计; 应急局) ------------------------------------------
 */

/*
 * Read only from what the writes keep (site rows, the site-hour scan
 * counters, the day's clock-ins, nat_plan_figures), never from the samples,
 * so every answer costs the same with ten or ten million samples. The
 * streets are those whose subtree meets scope (a street: itself; a
 * district: all of its streets); every count is bound to scope.
 */
#define NAT_STATS_STREETS_MAX 2000
#define NAT_BUREAU_PLANS_MAX  20

struct nat_street_stats {
    int64_t street_code; /* a district's code in a district row */
    const char *street_name;
    int64_t district_code;
    const char *district_name;
    int64_t streets;                                       /* district rows: streets summed */
    int64_t sites, sites_open, sites_paused, sites_closed; /* live sites by state */
    int64_t unattended;                                    /* flagged now (无人值守) */
    int64_t on_duty;                                       /* staff clocked in now */
    int64_t scans;                                         /* the day's, from nat_site_hours */
    int64_t clockins;                                      /* clock-ins begun that day */
    bool figured;             /* the plan has a residents' row for it */
    struct nat_figure figure; /* that row (industry 0); zeros when !figured */
};

/*
 * Per street inside scope, by code: sites, unattended, on duty now, the
 * scans and clock-ins of China day `day` (china_day), and with plan_id > 0
 * the plan's residents' figures (the caller has found the plan with
 * nat_plan_find: E_NOT_FOUND otherwise). At most NAT_STATS_STREETS_MAX.
 */
err nat_stats_streets(db *d, arena *a, const struct scope *scope, int64_t plan_id, int64_t day,
                      struct nat_street_stats **items_r, size_t *n_r) MUST_USE;

/* The street rows summed per district (street_code = district_code,
 * `streets` counted; figures summed as nat_figures_by_industry does).
 * *out_r from `a`; returns the count. */
size_t nat_stats_districts(arena *a, const struct nat_street_stats *in, size_t n,
                           struct nat_street_stats **out_r);

/* The plan's industries' rows summed over the streets inside scope: one
 * row per live industry (zeros when the plan has none for it), in the
 * list's order, then any deleted industry that still has figures. */
err nat_stats_industries(db *d, arena *a, const struct scope *scope, int64_t plan_id,
                         struct nat_figure **items_r, size_t *n_r) MUST_USE;

struct nat_scan_stats {
    int64_t id; /* the site's id, or the street's code */
    const char *name;
    int64_t region_code; /* the site's region, or the street's district */
    const char *region_name;
    int64_t n;
};

/* Scans with hours in [from, to) summed per site (by_site) or per street
 * inside scope, most first. E_INPUT "export_too_large" past NAT_EXPORT_MAX
 * sites. */
err nat_stats_scans(db *d, arena *a, const struct scope *scope, bool by_site, int64_t from,
                    int64_t to, struct nat_scan_stats **items_r, size_t *n_r) MUST_USE;

/* One plan for the emergency bureau's screen (应急局): the plan with its
 * totals, every figure row inside scope (streets x industries) and the
 * newest change of them or of the plan (updated_at). */
struct nat_bureau_plan {
    struct nat_plan plan;
    struct nat_figure *figures;
    size_t n;
    int64_t updated_at;
};

/* Plan `plan_id` (E_NOT_FOUND outside scope) or, with 0, every plan
 * visible to scope running at `now` (newest start first, at most
 * NAT_BUREAU_PLANS_MAX). */
err nat_bureau_plans(db *d, arena *a, const struct scope *scope, int64_t plan_id, int64_t now,
                     struct nat_bureau_plan **items_r, size_t *n_r) MUST_USE;
/* ---- historical rounds (历史轮次; docs/nat.md "Historical rounds") ---------------------------
 *
 * Rounds held before the system or outside it (seed 004 二2(2): 中小学核酸检测,
 * 街道轮次), with their figures per unit: a street (a street round) or a
 * school of a street (a school round). A round is city-wide; its figures
 * are scoped by their street, so a street's staff see their own rows and
 * the totals of those rows. Figures are aggregates, not personal data:
 * writes are audited, reads are not.
 *
 * A unit's figures are refused (never written) when a count is negative,
 * tested > planned, positive > tested or untested > planned: historical
 * figures that contradict themselves are corrected at the source rather
 * than kept with a warning nobody reads. A unit is written once per round
 * (street, school): importing or entering it again replaces its figures.
 */
enum nat_round_kind { NAT_ROUND_SCHOOL = 1, NAT_ROUND_STREET, NAT_ROUND_KIND__COUNT };
extern const struct vocab nat_round_kind_vocab;

#define NAT_ROUND_ROWS_MAX 10000 /* figures in one import */
#define NAT_ROUND_SHEET    "历史轮次"

struct nat_round_input {
    const char *name;
    enum nat_round_kind kind;
    int64_t first_day, last_day; /* China day numbers, first <= last */
    const char *source;          /* "" none */
};

struct nat_round {
    int64_t id;
    const char *name;
    enum nat_round_kind kind;
    int64_t first_day, last_day;
    const char *source;
    int64_t units; /* figures rows in the caller's scope */
    int64_t created_at, updated_at;
};

/* One unit's figures. street_name is filled by reads only. */
struct nat_round_figure {
    int64_t street_code;
    const char *street_name;
    const char *school; /* "" for a street round */
    int64_t planned, tested, positive;
    int64_t untested; /* -1: not given */
};

/*
 * The counts of f alone, the pure rules above: E_OK, or E_INPUT naming
 * the field ("out_of_range" for a negative count, "tested_over_planned",
 * "positive_over_tested", "untested_over_planned").
 */
err nat_round_figure_check(const struct nat_round_figure *f) MUST_USE;

/* Create a round (validated by the caller: name, kind, days); *id_r. */
err nat_round_create(db *d, const struct principal *who, const struct nat_round_input *in,
                     int64_t *id_r) MUST_USE;

/* Round `id` (E_NOT_FOUND "unknown_round"), its units counted in sc. */
err nat_round_find(db *d, arena *a, const struct scope *sc, int64_t id,
                   struct nat_round *r) MUST_USE;

struct nat_round_filter {
    enum nat_round_kind kind; /* 0 any */
    int64_t from, to;         /* China days the round touches; 0 open */
    int64_t page, page_size;
};
/* Rounds, newest first (by first day). */
err nat_round_list(db *d, arena *a, const struct scope *sc, const struct nat_round_filter *f,
                   struct nat_round **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * Write f into round r (replacing the unit's figures): the street must be
 * a street-level region in sc (E_INPUT "unknown_region" on field
 * "region_code" otherwise), the school given for a school round and absent
 * for a street round (E_INPUT "required" / "invalid_value" on "school"),
 * the counts pass nat_round_figure_check. *created_r (may be NULL): a new
 * unit rather than a replaced one.
 */
err nat_round_figure_put(db *d, const struct principal *who, const struct nat_round *r,
                         const struct nat_round_figure *f, bool *created_r) MUST_USE;

/* Mark round `id` changed now (its updated_at): once per entry or import,
 * after its figures, not once per unit. */
err nat_round_touch(db *d, int64_t id) MUST_USE;

/*
 * The street of `text` for an import row: a region code, or the name of a
 * street-level region in sc. E_INPUT "unknown_region", or "ambiguous_street"
 * when two streets of the scope have that name.
 */
err nat_round_street(db *d, const struct scope *sc, const char *text, int64_t *code_r) MUST_USE;

/* Round r's figures in sc, by street then school; by_street sums a school
 * round's schools per street (school ""). *total_r the sum of every row. */
err nat_round_figures(db *d, arena *a, const struct scope *sc, int64_t round_id, bool by_street,
                      struct nat_round_figure **items_r, size_t *n_r,
                      struct nat_round_figure *total_r) MUST_USE;

/* One street in two rounds (a and b summed per street; a street absent
 * from one round has planned -1 there). */
struct nat_round_pair {
    int64_t street_code;
    const char *street_name;
    struct nat_round_figure a, b;
};
err nat_round_compare(db *d, arena *a, const struct scope *sc, int64_t round_a, int64_t round_b,
                      struct nat_round_pair **items_r, size_t *n_r) MUST_USE;

/* An upload of figures for round r: checked in the request (whole-file
 * faults: E_INPUT "empty", "invalid_xlsx", "invalid_csv", "too_many_rows"),
 * then applied on the import worker as job job_id (rows refused one by one
 * with their row numbers, the rest written). */
err nat_round_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;
/* The import template (an xlsx: header, a hints row the import skips) as
 * a temporary file: *fd_r (the caller's) and its size. E_IO, E_NOMEM. */
err nat_round_template(int *fd_r, int64_t *size_r) MUST_USE;
err nat_round_import_submit(db *d, int64_t job_id, const struct principal *who,
                            const struct nat_round *r, const void *data, size_t n, bool csv,
                            long rows) MUST_USE;

#endif

/*
 * Health codes (健康码): green, yellow or red for every person, with the
 * reasons, computed by an ordered list of editable rules (docs/health-code.md).
 *
 * Three layers, each usable alone:
 *   - the engine (engine.c): a pure function from a person's loaded inputs
 *     and the rules to a colour and reasons; no database, unit-tested;
 *   - the store (store.c): loads the rules and one person's inputs, keeps
 *     health_codes and code_history, recomputes one person inside the
 *     caller's transaction (code_refresh) or everyone (code_recompute_all);
 *   - the inputs (input.c): isolations, contacts, risk areas and stays, test
 *     results and zones, the records later capabilities will own, set
 *     through the API now so the rules run on real data.
 *
 * A person without a health_codes row is green with no reasons.
 */
#ifndef FK_CODE_CODE_H
#define FK_CODE_CODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "base/json.h"
#include "db/db.h"
#include "security/auth.h"

/* ---- the engine ------------------------------------------------------------- */

enum code_colour { CODE_GREEN = 0, CODE_YELLOW = 1, CODE_RED = 2 };

/* "green" | "yellow" | "red"; parse gives -1 for anything else. */
const char *code_colour_name(enum code_colour c);
const char *code_colour_label(enum code_colour c); /* 绿码 … */
int code_colour_parse(const char *s);
/* The table behind the three, indexed by enum code_colour. */
extern const struct vocab code_colour_vocab;

/* The built-in predicates a rule may use. */
enum code_kind {
    CK_CASE_STATUS = 1,  /* persons.status in a set */
    CK_IN_ISOLATION,     /* an isolation open now */
    CK_CONTACT_DEGREE,   /* a contact of this degree, not released, within days */
    CK_FEVER,            /* a reading >= threshold within hours, no later normal one */
    CK_RISK_AREA_STAY,   /* a stay in an area of level >= L within days */
    CK_NO_NEGATIVE_TEST, /* no negative test sampled within hours */
    CK_LIVES_IN_ZONE,    /* the residence lies in a zone of this kind, valid now */
    CK_POSITIVE_TEST,    /* a positive test sampled within days */
    CK_POOL_POSITIVE,    /* the newest test within days is a positive pool's, not retested yet */
    CK__COUNT
};

const char *code_kind_name(enum code_kind k);  /* "case_status", … */
enum code_kind code_kind_parse(const char *s); /* 0 when unknown */

enum zone_kind { ZONE_SEALED = 1, ZONE_CONTROLLED, ZONE_PREVENTION };
const char *zone_kind_name(enum zone_kind k);
const char *zone_kind_label(enum zone_kind k); /* 封控区 …; "" when invalid */
extern const struct vocab zone_kind_vocab;
enum zone_kind zone_kind_parse(const char *s); /* 0 when unknown */

#define CODE_RULE_KEY_MAX   32
#define CODE_RULE_LABEL_MAX 60
#define CODE_RULES_MAX      32

struct code_rule {
    char key[CODE_RULE_KEY_MAX + 1]; /* [a-z0-9_], unique */
    enum code_kind kind;
    enum code_colour colour; /* the colour when it matches; never green */
    bool enabled;
    char label[3 * CODE_RULE_LABEL_MAX + 1]; /* Chinese reason text; "" for the default */
    /* parameters; which ones a kind uses is in code_rule_from_json */
    unsigned statuses; /* CK_CASE_STATUS: bit (1 << enum person_status) */
    int degree;        /* CK_CONTACT_DEGREE: 1 or 2 */
    int hours;         /* CK_FEVER, CK_NO_NEGATIVE_TEST */
    int days;         /* CK_CONTACT_DEGREE, CK_RISK_AREA_STAY, CK_POSITIVE_TEST, CK_POOL_POSITIVE */
    int level;        /* CK_RISK_AREA_STAY: 1 medium, 2 high (and above) */
    double threshold; /* CK_FEVER: °C, a reading at or above is fever */
    enum zone_kind zone;
};

/* The rules a new deployment starts with (the defaults), in order. */
const struct code_rule *code_rules_default(size_t *n_r);

/* The fever threshold of the enabled fever rule, else 37.3. */
double code_fever_threshold(const struct code_rule *rules, size_t n);

/* Inputs of one person, newest first where it matters. Each array holds
 * at most CODE_INPUT_MAX rows (the loader keeps the newest). */
#define CODE_INPUT_MAX 16

struct code_span {
    int64_t from, to; /* to 0: open */
};
struct code_contact {
    int degree;
    int64_t at, end_at;
};
struct code_reading {
    int64_t at;
    double celsius;
};
struct code_stay {
    int64_t arrived_at, left_at;
    int level;                    /* of the area */
    int64_t valid_from, valid_to; /* of the area's risk level */
};
/* A test result as test_results.result holds it: "negative", "positive", or
 * "pool_positive" (the person's pooled tube was positive and their
 * single-tube retest has no result yet, nat.h "laboratory results"). */
enum code_test_result { CODE_TEST_NEGATIVE = 1, CODE_TEST_POSITIVE, CODE_TEST_POOL_POSITIVE };
/* The result's name parsed; 0 for anything else. */
enum code_test_result code_test_result_parse(const char *s);

struct code_test {
    enum code_test_result result;
    int64_t sampled_at;
};
struct code_zone {
    enum zone_kind kind;
    int64_t valid_from, valid_to;
};

struct code_input {
    int64_t now;
    int status; /* enum person_status */
    size_t n_isolations, n_contacts, n_readings, n_stays, n_tests, n_zones;
    struct code_span isolations[CODE_INPUT_MAX];
    struct code_contact contacts[CODE_INPUT_MAX];
    struct code_reading readings[CODE_INPUT_MAX];
    struct code_stay stays[CODE_INPUT_MAX];
    struct code_test tests[CODE_INPUT_MAX];
    struct code_zone zones[CODE_INPUT_MAX];
};

/* How far back the loader must read so every rule sees its window. */
int64_t code_inputs_window_ms(const struct code_rule *rules, size_t n);

/*
 * Evaluate the enabled rules, in order, on `in`. Every matching rule adds
 * its index to match_r (room for CODE_RULES_MAX); the worst colour wins
 * (green when none matches). Pure: no I/O, no allocation.
 */
enum code_colour code_eval(const struct code_rule *rules, size_t n, const struct code_input *in,
                           uint8_t *match_r, size_t *n_match_r);

/* The Chinese explanation of a rule: its label, else one made from the
 * kind and parameters ("14天内到过中风险及以上地区"). Into out. */
void code_rule_text(const struct code_rule *r, char *out, size_t size);

/*
 * The reasons as stored and sent: a JSON array [{"rule","colour","text"}]
 * in rule order, as compact text from the arena ("[]" for none).
 */
const char *code_reasons_text(arena *a, const struct code_rule *rules, const uint8_t *match,
                              size_t n_match);

/* A rule as JSON {key, kind, params, colour, enabled, label}; new reference. */
json_t *code_rule_json(const struct code_rule *r);

/*
 * A rule from its JSON form (the PUT body's items). Checks the kind, the
 * colour (yellow or red), the key's form and every parameter the kind
 * needs (unknown parameters refused). E_INPUT naming "rules[i].field".
 */
err code_rule_from_json(json_t *o, size_t i, struct code_rule *r) MUST_USE;

/* ---- the store ------------------------------------------------------------- */

/* The rules in force (the defaults while none were saved), into a[].
 * *n_r <= CODE_RULES_MAX. */
err code_rules_load(db *d, struct code_rule *rules_r, size_t *n_r) MUST_USE;

/* Replace the rules (the whole ordered list, keys unique: E_INPUT
 * "duplicate_rule"). Own transaction. */
err code_rules_save(db *d, const struct code_rule *rules, size_t n, int64_t user_id) MUST_USE;

/* The version of the rules in force: the time (epoch ms) they were last
 * saved, 0 while the defaults are in force. A parent publishes it with its
 * rules (GET /exchange/v1/code_rules) so a child saves them only when they
 * changed. */
err code_rules_version(db *d, int64_t *version_r) MUST_USE;

/*
 * Following the parent's rules (docs/exchange.md "Federation": FK_FED_RULES=1
 * with a parent, FK_FED_PARENT). While on, the federation's puller saves the
 * parent's rules here, and the rules API refuses edits (409
 * "rules_follow_parent"; GET answers "followed": true so the console shows
 * the editor read-only). Set before serving.
 */
void code_rules_set_followed(bool on);
bool code_rules_followed(void);

/*
 * Recompute person `person_id` now, inside the caller's transaction, after
 * `cause` ("declaration", "temperature", "status", …) was recorded by
 * user_id: when the colour or the reasons changed, health_codes is updated
 * and a code_history row written. A deleted or missing person: nothing.
 */
err code_refresh(db *d, arena *a, int64_t person_id, const char *cause, int64_t user_id) MUST_USE;

/*
 * Deferred refreshes, for a writer of many people in one transaction (the
 * observation import, docs/cases.md): between code_defer_begin(d) and
 * code_defer_end(d) on this thread, code_refresh(d, …) only notes the
 * person. code_defer_flush recomputes every noted person once, as
 * code_refresh would at that moment (a person noted twice is computed once
 * and written with the last note's cause and user), with the rules and
 * zones loaded once and the inputs of people with neighbouring ids read in
 * one batch. The caller flushes before the transaction (or the savepoint
 * the notes were taken in) commits; notes not flushed are dropped by
 * code_defer_end, which a rollback of that work calls for.
 */
err code_defer_begin(db *d) MUST_USE;
err code_defer_flush(db *d, arena *a) MUST_USE;
void code_defer_end(db *d);

/* A range of padded region codes, [lo, hi): a subtree, or one building. */
struct code_range {
    int64_t lo, hi;
};

/* code_refresh for every live person whose residence is in any of
 * ranges[0..n) (a zone changed), each person once, the rules and zones
 * loaded once. Inside the caller's transaction. */
err code_refresh_ranges(db *d, arena *a, const struct code_range *ranges, size_t n,
                        const char *cause, int64_t user_id) MUST_USE;

/* What a zone change would do to the codes of the people it covers,
 * residence by residence. */
struct code_effect_region {
    int64_t region_code; /* the residence (padded) */
    int64_t people, changed;
    int64_t changes[3][3]; /* [from][to] by enum code_colour */
};
struct code_zone_effect {
    int64_t total, changed, reasons_only;
    int64_t changes[3][3];
    struct code_effect_region *regions; /* in the arena, by region code; NULL when none */
    size_t n_regions;
};

/*
 * The codes of the live people living in ranges[0..n) evaluated now with
 * the zones in force, less every range of zone `drop_zone` (0: none; a lift
 * previewed) and plus a zone `draft` over the ranges (NULL: none; a new
 * zone previewed), compared with their stored codes as code_rules_dry_run
 * does. Writes nothing. *r's arrays live in `a`.
 */
err code_zone_effect(db *d, arena *a, const struct code_range *ranges, size_t n,
                     const struct code_zone *draft, int64_t drop_zone,
                     struct code_zone_effect *r) MUST_USE;

/*
 * The same comparison for the people a statement selects: `people_sql`
 * reads (id, region_code, status) of live persons and binds `param` once.
 * Inside a transaction that has changed an input and will be rolled back,
 * this is the preview of that change (a risk area's new level). Writes
 * nothing.
 */
err code_effect_of(db *d, arena *a, const char *people_sql, int64_t param,
                   struct code_zone_effect *r) MUST_USE;

/* An effect as the previews answer it: {total, changed, reasons_only,
 * transitions: [{from, to, count}], by_residence, by_community: [{region_code,
 * region_name, people, changed, transitions}] (the 200 with most changes)}. */
err code_effect_json(db *d, arena *a, struct code_zone_effect *x, json_t **o_r) MUST_USE;

struct code_current {
    enum code_colour colour;
    const char *reasons; /* JSON text */
    int64_t updated_at;
};

/* A person's current code inside the scope; E_NOT_FOUND otherwise. */
err code_find(db *d, arena *a, const struct scope *sc, int64_t person_id,
              struct code_current *c_r) MUST_USE;

/* The code of a person the caller has already found (a gate's scan), read
 * by key alone: no scope and no check that the person exists. A person
 * without a code row is green, updated_at 0. */
err code_of(db *d, arena *a, int64_t person_id, struct code_current *c_r) MUST_USE;

struct code_change {
    int64_t id, at, user_id;
    enum code_colour colour;
    const char *reasons, *cause;
};

/* The history of a person's code inside the scope, newest first. */
err code_history(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t page,
                 int64_t page_size, struct code_change **items_r, size_t *n_r,
                 int64_t *total_r) MUST_USE;

/*
 * Recompute every live person with the rules in force, in person-id order,
 * batches read and written in large transactions; only changed codes are
 * written. progress(done, total, ctx) is called after each batch (may be
 * NULL). *changed_r (may be NULL) counts the codes that changed.
 */
err code_recompute_all(db *d, int64_t user_id, void (*progress)(int64_t, int64_t, void *),
                       void *ctx, int64_t *changed_r) MUST_USE;

/* What saving `rules` would do to the codes (the dry run before a rule
 * change): everyone evaluated with the proposed rules against the current
 * inputs, as code_recompute_all would, writing nothing. changes[from][to]
 * counts the codes whose colour would change (indexed by enum code_colour);
 * reasons_only those whose colour stays but whose reasons change. */
struct code_dry_run {
    int64_t total, changed, reasons_only;
    int64_t changes[3][3];
};
err code_rules_dry_run(db *d, const struct code_rule *rules, size_t n_rules,
                       struct code_dry_run *r) MUST_USE;

/* The hook person_update/person_create call when status or residence
 * changed (registered by app_routes). */
err code_person_changed(db *d, arena *a, int64_t person_id, int64_t user_id) MUST_USE;

/* ---- the background recomputation (worker.c) ------------------------------- */

/* Start / stop the worker thread that runs recompute jobs on its own
 * connection; without it (tests, tools) jobs run at once in the caller.
 * Codes also depend on time (a fever is 24 hours old, an isolation or a
 * zone ends, a negative test grows stale) with no event to mark it, so a
 * sweep recomputes everyone every `sweep_s` seconds (0: never; a pass over
 * 1,000,000 people that changes nothing takes under a second), once across
 * the servers of one database (its lease "code_sweep", db/periodic.h). */
err code_worker_start(const char *db_url, int sweep_s) MUST_USE;
void code_worker_stop(void);
/* Recompute jobs queued for the worker and not yet started (/metrics). */
size_t code_worker_queued(void);

/* Queue the recomputation of every person as job `job_id` (jobs row made
 * by the caller). */
void code_worker_submit(db *d, int64_t job_id, int64_t user_id);

/* ---- inputs (input.c) -------------------------------------------------------- */

/*
 * The inputs about one person (isolations, contacts, stays in risk areas,
 * test results) share one shape: a row keyed by person_id with the
 * person's region_code copied onto it, a few typed columns, a create that
 * refreshes the code in the same transaction, and a scoped list. Each is
 * described by a struct code_input_kind (input.c) rather than written out
 * four times.
 */
enum code_col_type { CC_INT = 1, CC_TEXT, CC_ID };

struct code_col {
    const char *name; /* JSON member and column */
    enum code_col_type type;
};

#define CODE_COLS_MAX 6

struct code_input_kind {
    const char *name;   /* "isolations": table and URL segment */
    const char *object; /* "isolation": audit action prefix and refresh cause */
    struct code_col cols[CODE_COLS_MAX + 1]; /* NULL-terminated */
    /* INSERT binding id, person_id, region_code, user_id, created_at, cols…;
     * SELECT id, user_id, created_at, cols… for person_id and a scope range,
     * LIMIT, OFFSET; COUNT(*) for person_id and the range */
    const char *insert_sql, *list_sql, *count_sql;
    /* checks beyond the jfield table (order of times, a referenced row:
     * a person must be inside sc, E_NOT_FOUND with the field otherwise) */
    err (*check)(db *d, const struct scope *sc, json_t *body);
};

extern const struct code_input_kind code_isolations, code_contacts, code_stays, code_tests;

/* The body of a test result (POST /api/v1/persons/{id}/test-results, and a
 * record of the exchange's results batch): checked with json_check before
 * code_input_add(code_tests). */
extern const struct jfield code_test_body[];

/* One test result (a row of code_tests' table, whoever wrote it: the
 * input API or the laboratory) as {id, person_id, region_code, result,
 * sampled_at, reported_at, institution, created_at}, for a capability that
 * sends it on (the exchange). E_NOT_FOUND when there is none. */
err code_test_result_json(db *d, int64_t id, json_t **o_r) MUST_USE;

/* Delete test result id inside sc (a result withdrawn by the system that
 * sent it: the exchange's deletion of a results record), tell the
 * followers (code_written, deleted) and recompute the person's code, in
 * one transaction. E_NOT_FOUND outside sc or when gone. */
err code_test_result_delete(db *d, arena *a, const struct scope *sc, int64_t id,
                            int64_t user_id) MUST_USE;

/*
 * Add a row of `k` for person_id inside who's scope from the checked body
 * (values of the columns, absent ones 0 or ""), then refresh the code, in
 * one transaction. *id_r gets the new row's id. E_NOT_FOUND outside scope.
 */
err code_input_add(db *d, arena *a, const struct principal *who, const struct code_input_kind *k,
                   int64_t person_id, json_t *body, int64_t *id_r) MUST_USE;

/* The rows of `k` for a person inside the scope, newest first, as JSON
 * objects {id, person_id, <cols>, user_id, created_at}; *total_r counts all. */
err code_input_list(db *d, const struct scope *sc, const struct code_input_kind *k,
                    int64_t person_id, int64_t page, int64_t page_size, json_t **items_r,
                    int64_t *total_r) MUST_USE;

/* ---- risk areas (risk.c) ------------------------------------------------------ */

/*
 * Designated risk areas (中高风险地区): a published list, not scoped (any
 * caller with code.read reads all of it, zone.write writes). JSON in and out
 * as the API has them: {id, name, level: medium|high, region_code|null,
 * region_name, valid_from, valid_to (0: open), state, created_at, updated_at}.
 * An area is in force at t when valid_from <= t and (valid_to = 0 or t <
 * valid_to); state is "active" (in force now), "ended" (valid_to set and
 * past) or "pending" (valid_from still ahead).
 *
 * Every change of level or window recomputes, in the same transaction, the
 * code of every person with a stay in the area (code_defer: one batch), so
 * the risk_area_* rules see the new list at once. Creating an area needs no
 * recompute: no stay can name it yet.
 */
/* The latest instant a time field accepts (2100-01-01), as the API's validators. */
#define CODE_TIME_MAX 4102444800000LL

enum code_risk_state { CODE_RISK_ALL = 0, CODE_RISK_ACTIVE, CODE_RISK_ENDED };

struct code_risk_filter {
    int level;           /* 0 any, 1 medium, 2 high */
    const char *q;       /* part of the name */
    int64_t region_code; /* 0 any; else the area's region is in this subtree */
    int64_t active_at;   /* 0 any; else in force at that instant (ms) */
    enum code_risk_state state;
    int64_t page, page_size; /* page_size 0: every row (an export) */
};

/* Create from the checked POST body (region_code must be a region of the
 * tree: E_INPUT "invalid_region"; valid_to >= valid_from: "invalid_time"). */
err code_risk_area_add(db *d, const struct principal *who, json_t *body, int64_t *id_r) MUST_USE;
err code_risk_areas(db *d, arena *a, const struct code_risk_filter *f, json_t **items_r,
                    int64_t *total_r) MUST_USE;
/* One area; E_NOT_FOUND. */
err code_risk_area_get(db *d, int64_t id, json_t **o_r) MUST_USE;
/*
 * Apply the checked PATCH body {name?, level?, region_code?, valid_from?,
 * valid_to? (0 reopens)} and recompute the people with a stay in the area
 * when level or window changed, in one transaction. *changed_r: what
 * changed, "field=old->new …" for the audit ("" when nothing did).
 */
err code_risk_area_update(db *d, arena *a, const struct principal *who, int64_t id, json_t *body,
                          const char **changed_r) MUST_USE;
/* What the PATCH body would do to the codes of the people with a stay in
 * the area: the change is applied in a transaction that is rolled back,
 * and the effect answered as code_effect_json (the same 400s as the
 * update; *changed_r as there). Writes nothing. */
err code_risk_area_preview(db *d, arena *a, const struct principal *who, int64_t id, json_t *body,
                           const char **changed_r, json_t **o_r) MUST_USE;
/* Delete an area no stay names (E_CONFLICT "risk_area_in_use" otherwise:
 * lift it instead). *detail_r: the area's name and level for the audit. */
err code_risk_area_delete(db *d, arena *a, int64_t id, const char **detail_r) MUST_USE;

/* The import template (sheet 中高风险地区: 地区名称*, 风险等级*, 所在区划代码,
 * 生效时间*, 解除时间) as a temporary file. */
err code_risk_template(int *fd_r, int64_t *size_r) MUST_USE;
/* The request's check of an upload (xlsx, or CSV when csv): the header and
 * the row count; whole-file faults E_INPUT. */
err code_risk_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;
/* Queue the import as job job_id on the import worker (job/import.h): each
 * good row creates an area, a row naming an area already listed (same name,
 * level and valid_from) changes nothing, bad rows are reported with their
 * row numbers (result errors, and the report GET /api/v1/jobs/{id}/errors.xlsx). */
err code_risk_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                            size_t n, bool csv, long rows) MUST_USE;

/* ---- zones (zone.c) ------------------------------------------------------------- */

/*
 * Sealed, controlled and prevention zones (封控区/管控区/防范区), docs/zones.md.
 * A zone covers either a region's subtree (`region_code`) or what lies
 * inside a polygon drawn on the map (`boundary`, GeoJSON Polygon or
 * MultiPolygon in lng/lat, checked for closed rings, range, simplicity and
 * holes by base/geo.h): the buildings whose
 * centre and the places whose position are inside, looked up when the zone
 * is saved, within the caller's scope (and within `region_code`'s subtree
 * when both are given). Either way what it covers is stored as code ranges
 * (zone_regions), which the engine reads, so people living there get the
 * zone's effect through the lives_in_zone rules. A zone is scoped by its
 * anchor region (the region given, else the lowest region holding all
 * that a polygon covers).
 *
 * JSON in and out as the API has them. Bodies reach these functions
 * checked against the route's jfield table (types, lengths, kinds); the
 * rules below are checked here, each refusal E_INPUT naming its field.
 */

/* Buildings a drawn zone may cover (E_INPUT "zone_too_large" past it). */
#define ZONE_BUILDINGS_MAX 20000
/* Features in one GeoJSON import. */
#define ZONE_IMPORT_MAX 200

/*
 * Create from the body {kind, name?, region_code?, boundary?, valid_from?
 * (default now), valid_to? (0: open)}: region_code (a region inside who's
 * scope, else "invalid_region"), boundary ("invalid_boundary"; nothing
 * inside: "zone_empty") or both; neither is "required" on region_code.
 * Refreshes everyone living in what it covers, in the same transaction.
 */
err code_zone_add(db *d, arena *a, const struct principal *who, json_t *body,
                  int64_t *id_r) MUST_USE;

/* What code_zone_add of `body` would do: the same checks, nothing written.
 * *o_r {total, changed, reasons_only, transitions: [{from, to, count}],
 * buildings, places, regions: [{region_code, name, people, changed,
 * transitions}]} (new reference). */
err code_zone_preview(db *d, arena *a, const struct principal *who, json_t *body,
                      json_t **o_r) MUST_USE;

/*
 * End a zone at `valid_to` (0: now; a zone not started yet then ends at
 * its start, so it never takes effect) inside who's scope (E_NOT_FOUND
 * otherwise); refreshes everyone living in what it covers. With a
 * `reason` (the lift) a zone already ended is E_CONFLICT "zone_ended";
 * without one (the older PATCH) any end may be set again. An end before
 * the zone's start is "invalid_time".
 */
err code_zone_end(db *d, arena *a, const struct principal *who, int64_t id, int64_t valid_to,
                  const char *reason) MUST_USE;

/* What lifting zone `id` now would do (the preview's reply shape). */
err code_zone_lift_preview(db *d, arena *a, const struct principal *who, int64_t id,
                           json_t **o_r) MUST_USE;

/* A page of the zones inside the scope, newest first: {id, kind,
 * kind_label, name, region_code, region_name, drawn, valid_from, valid_to,
 * state: active|ended|pending, buildings, places, people, lift_reason,
 * created_at}; `state` filters when not NULL; page_size 0: every zone. */
err code_zones(db *d, arena *a, const struct scope *sc, const char *state, int64_t page,
               int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* One zone inside the scope, as a list item plus boundary (GeoJSON or
 * null), buildings [{region_code, name, people}] (the first 2,000, by
 * code), places [{id, name, kind}] and lifted_by; E_NOT_FOUND. People are
 * counted inside the scope. */
err code_zone_get(db *d, arena *a, const struct scope *sc, int64_t id, json_t **o_r) MUST_USE;

/* The people living in zone `id` inside the scope, by residence then id:
 * {id, name (masked), region_code, region_name, colour}. E_NOT_FOUND for a
 * zone outside the scope. Personal data: the caller audits. */
err code_zone_people(db *d, arena *a, const struct scope *sc, int64_t id, int64_t page,
                     int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/*
 * Create the zones of a GeoJSON FeatureCollection (`fc`), each feature
 * {geometry: Polygon|MultiPolygon, properties: {name, kind, valid_from?,
 * valid_to?, region_code?}} at most ZONE_IMPORT_MAX: every feature is
 * checked first, and one at fault is E_INPUT naming "features[i].…" with
 * nothing saved; else all are created in one transaction and *items_r gets
 * [{index, id, name, kind, buildings, places}] (new reference).
 */
err code_zone_import(db *d, arena *a, const struct principal *who, json_t *fc,
                     json_t **items_r) MUST_USE;

/* The newest test result of a person ({result, sampled_at, reported_at},
 * the caller's reference) into *test_r, or NULL when there is none (no
 * scope check: the caller has found the person). E_DB or E_NOMEM, *test_r
 * untouched: a failed read is never "no result". */
err code_latest_test(db *d, int64_t person_id, json_t **test_r) MUST_USE;

/*
 * Who says whether a resident holds a pass for their community's gates
 * (shown on the resident's code page): the access module (app.c wires
 * access_pass), so code does not depend on access, which depends on code
 * for colours. Arguments and results as access_pass. Call before serving.
 */
/* Why a pass does not hold with a code of colour c (Chinese), or NULL for
 * green: a pass is valid only while the code is green. */
const char *code_pass_refusal(enum code_colour c);

/*
 * Every committed write of a zone (add, import, end or lift: zone.c), a
 * risk area (add, change, delete, import: risk.c) or a test result entered
 * as a code input (code_input_add of code_tests), for a capability that
 * follows them (the exchange's change log, subscribed in src/app.c):
 * called inside the writing transaction with the record's region (a
 * zone's anchor; a risk area's region, 0 for one outside the tree), so
 * what the subscriber records commits with the write or not at all. One
 * subscriber, rules as for code_on_pass.
 */
enum code_record { CODE_REC_ZONE = 1, CODE_REC_RISK_AREA, CODE_REC_TEST_RESULT };
typedef err (*code_write_fn)(db *d, enum code_record kind, int64_t id, int64_t region_code,
                             bool deleted);
err code_on_write(code_write_fn fn) MUST_USE;
/* Tell the subscriber (code's own files). */
err code_written(db *d, enum code_record kind, int64_t id, int64_t region_code,
                 bool deleted) MUST_USE;

/*
 * The electronic pass of a person, answered by access (app.c wires
 * access_pass), so code does not include access.
 * One subscriber: registering another function while one is set fails
 * (E_INTERNAL; the server refuses to start) rather than silently replacing
 * it; the same function again is a no-op, and NULL clears the slot.
 */
typedef err (*code_pass_fn)(db *d, int64_t person_id, int64_t person_region, int person_status,
                            bool *valid_r, int64_t *community_r, const char **reason_r);
err code_on_pass(code_pass_fn fn) MUST_USE;

#endif

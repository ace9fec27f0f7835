/*
 * People (人员): the registry of everyone a deployment looks after, with
 * the identity and contact groups of the person record (seed 000 §6.2.1,
 * seed 001 §5.1 rows 1-10), the vulnerable-group flags (seed 002 二(一)1),
 * the person's current epidemic status, and a sealed change history.
 *
 * The health, trajectory and management groups of seed 001 §5.1 (rows
 * 11-44: monitoring records, isolation times, travel, reporting source,
 * isolation place, …) are NOT columns here: each arrives with the issue
 * that owns it as its own table keyed by person_id (declarations, case
 * workflow, trace), so this record stays small and every such table can be
 * scoped by joining persons.region_code.
 *
 * Storage (sql/001_foundation.sql, tables persons, person_name_tokens,
 * person_history): names, identity numbers, phones, addresses and the
 * emergency contact are sealed with SM4 (security/crypto.h, labels
 * "persons.<column>"); the identity number, phone and name also have keyed
 * blind indexes for exact search (the phone's last four digits too,
 * sql/012), and the name has blind-indexed tokens
 * (full name, surname, every bigram) for substring search without
 * decrypting the table; docs/security.md explains the trade.
 *
 * Scope: every function that reads or writes a stored person takes the
 * caller's scope and binds it in the same SQL statement; a person outside
 * it is E_NOT_FOUND, exactly like a missing one. The one deliberate
 * exception is the uniqueness of (id_type, id_number), which holds across
 * the whole deployment (see person_create). Residents' self-service
 * (self.c, at the end of this header) reaches exactly one record, the one
 * their account is bound to, wherever it is.
 *
 * Strings in struct person: NULL and "" both mean "not recorded"; functions
 * that fill a struct person give NULL for those. Everything returned is
 * allocated from the arena passed in.
 */
#ifndef FK_PERSON_PERSON_H
#define FK_PERSON_PERSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/jsonw.h"
#include "base/vocab.h"
#include "base/validate.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/crypto.h"

/* ---- vocabularies ---------------------------------------------------------- */

/*
 * The epidemic status of a person. The case workflow (a later issue) will
 * own the transitions between them; until then any role with person.write
 * may set any of them through PATCH.
 */
enum person_status {
    PERSON_NORMAL = 1,         /* 正常 */
    PERSON_OBSERVATION,        /* 隔离观察 */
    PERSON_HOME_ISOLATION,     /* 居家隔离 */
    PERSON_CENTRAL_QUARANTINE, /* 集中隔离 */
    PERSON_SUSPECTED,          /* 疑似 */
    PERSON_CONFIRMED,          /* 确诊 */
    PERSON_ASYMPTOMATIC,       /* 无症状 */
    PERSON_CURED,              /* 治愈 */
    PERSON_DEAD,               /* 死亡 */
};

/* 常住 / 外来 / 返回 / 过境 (seed 000 §6.2.1). */
enum person_category {
    PERSON_RESIDENT = 1,
    PERSON_VISITOR,
    PERSON_RETURNEE,
    PERSON_TRANSIT,
};

/* Stored as 0/1/2 (persons.gender). */
enum person_gender { GENDER_UNKNOWN = 0, GENDER_MALE = 1, GENDER_FEMALE = 2 };

/*
 * Vulnerable-group flags (重点人群, seed 002 二(一)1 "孕产妇等重点人群"), a bit
 * set in persons.vulnerable. New flags take the next bit; a bit is never
 * reused, as stored rows keep their meaning.
 */
enum vulnerable {
    VULN_PREGNANT = 1u << 0,        /* 孕产妇 */
    VULN_ELDERLY_ALONE = 1u << 1,   /* 独居老人 */
    VULN_CHRONIC_DISEASE = 1u << 2, /* 慢性病患者 */
    VULN_DISABLED = 1u << 3,        /* 残疾人 */
    VULN_CHILD = 1u << 4,           /* 儿童 */
};
#define VULN_ALL 0x1Fu

/* The vocabularies' tables (base/vocab.h): statuses, categories and
 * genders indexed by their enum, vulnerable flags by bit position, sources
 * in the order below. GET /api/v1/vocabularies and the JSON checks read
 * these; nothing else spells a value. */
extern const struct vocab person_status_vocab;
extern const struct vocab person_category_vocab;
extern const struct vocab person_gender_vocab;
extern const struct vocab vulnerable_vocab;
extern const struct vocab person_source_vocab;

/* Names as the API writes them ("home_isolation", "visitor", "male",
 * "elderly_alone", "grid") and their Chinese labels; parse returns 0 for
 * an unknown name. The vulnerable functions take and give a single bit. */
const char *person_status_name(enum person_status s);
const char *person_status_label(enum person_status s);
enum person_status person_status_parse(const char *s);
const char *person_category_name(enum person_category c);
const char *person_category_label(enum person_category c);
enum person_category person_category_parse(const char *s);
const char *person_gender_name(enum person_gender g);
const char *person_gender_label(enum person_gender g);
/* "unknown" parses to GENDER_UNKNOWN; -1 for anything else unknown. */
int person_gender_parse(const char *s);
const char *vulnerable_name(unsigned bit);
const char *vulnerable_label(unsigned bit);
unsigned vulnerable_parse(const char *s);

/* Where a record came from (seed 001 §5.1 row 27 "隔离信息报送来源"): staff,
 * self, cdc, community_team, grid, checkpoint, import, exchange
 * (person_source_vocab). */
bool person_source_valid(const char *source);
const char *person_source_label(const char *source);

/* ---- the record ---------------------------------------------------------- */

struct person {
    int64_t id;
    int64_t region_code; /* residence region, padded (base/regcode.h); the scope key */
    enum id_type id_type;
    const char *id_number; /* normalised (person_id_normalise) */
    const char *name;
    const char *native_place; /* 籍贯, to the prefecture-level city */
    enum person_gender gender;
    int32_t birth_date; /* yyyymmdd, 0 unknown; derived from a resident id */
    enum person_category category;
    bool inbound;                   /* 入境人员 */
    const char *address;            /* 现住址 */
    const char *household;          /* 户号 */
    const char *household_relation; /* 与户主关系 */
    const char *phone;              /* mainland mobile */
    const char *emergency_contact_name;
    const char *emergency_contact_phone;
    bool employed;
    const char *employer;
    const char *work_address;
    const char *current_location; /* 目前所在地 */
    unsigned vulnerable;          /* enum vulnerable bits */
    enum person_status status;
    const char *source; /* a name of person_source_vocab */
    int64_t consent_at; /* when the person agreed to the collection (ms), 0 not recorded */
    /* the identity rests only on what a resident typed (a self-registration,
     * or a binding to a staff record without a phone to compare): no pass,
     * no vehicle registration, no visitor invitations until staff verify
     * (person_verify). Never set by a client's JSON. */
    bool unverified;
    int64_t version;                /* bumped by every change; optimistic concurrency */
    int64_t created_by, updated_by; /* user ids */
    int64_t created_at, updated_at; /* epoch ms */
    /* read only, from health_codes (the code capability's table): the
     * current code's colour name, "green" when the person has no stored
     * code; filled by every read of a stored person, ignored by writes */
    const char *code_colour;
};

/*
 * The fields a client sets, in the order of the API; a person_fields bit
 * set says which fields a request carried (PATCH) or which changed.
 */
enum person_field {
    PF_NAME,
    PF_ID_TYPE,
    PF_ID_NUMBER,
    PF_NATIVE_PLACE,
    PF_GENDER,
    PF_BIRTH_DATE,
    PF_CATEGORY,
    PF_INBOUND,
    PF_REGION_CODE,
    PF_ADDRESS,
    PF_HOUSEHOLD,
    PF_HOUSEHOLD_RELATION,
    PF_PHONE,
    PF_EMERGENCY_CONTACT_NAME,
    PF_EMERGENCY_CONTACT_PHONE,
    PF_EMPLOYED,
    PF_EMPLOYER,
    PF_WORK_ADDRESS,
    PF_CURRENT_LOCATION,
    PF_VULNERABLE,
    PF_STATUS,
    PF_SOURCE,
    PF_CONSENT_AT,
    PF__COUNT
};
typedef uint32_t person_fields;
#define PF_BIT(f) ((person_fields)1 << (f))

/* The JSON name ("emergency_contact_phone") and Chinese label of a field;
 * parse gives PF__COUNT for an unknown name. */
const char *person_field_name(enum person_field f);
const char *person_field_label(enum person_field f);
/* Is the field masked for callers without person.reveal? */
bool person_field_masked(enum person_field f);
enum person_field person_field_parse(const char *s);

/* Limits, in characters. */
#define PERSON_NAME_MAX    50
#define PERSON_ADDRESS_MAX 200

/* ---- validation ------------------------------------------------------------ */

/*
 * Normalise an identity number in place: drop spaces (people copy numbers
 * in groups), upper-case ASCII letters (a resident id's lower-case x, a
 * passport typed in lower case). The stored value and the blind index are
 * of this form, so both spellings find the same person. Returns s.
 */
char *person_id_normalise(char *s);

/*
 * Check every field of `p` and complete it: normalise the identity number
 * (a copy from `a`), derive birth date and gender from a resident id, turn
 * "" into NULL. `given` names the fields the client supplied: a supplied
 * birth_date or gender that disagrees with the resident id is E_INPUT
 * "birth_date_mismatch"/"gender_mismatch" (a supplied "unknown" gender is
 * not a claim and is replaced). Does not look at the database (the region's
 * existence is person_region_check). Errors are E_INPUT naming the field.
 */
err person_check(arena *a, struct person *p, person_fields given) MUST_USE;

/*
 * A staff body (the JSON of POST /api/v1/persons, or of a PATCH when `cur`
 * is the stored record) checked in one pass, every field at fault
 * reported at once (base/error.h collect mode): the JSON checks generated
 * from the field table, what only the resident may set (consent_at, source
 * "self": "not_allowed"), the conversion into *p with the fields present
 * in *set_r, and the record's own rules (person_check; a new region inside
 * sc, person_region_check). A change is checked as cur with it applied.
 * The people API and the exchange's batch writes both take bodies here.
 */
err person_body_check(db *d, arena *a, const struct scope *sc, json_t *body,
                      const struct person *cur, struct person *p, person_fields *set_r) MUST_USE;

/*
 * Is `code` an existing region inside the caller's scope? E_INPUT
 * "invalid_region" on field `field` otherwise.
 */
err person_region_check(db *d, const struct scope *sc, int64_t code, const char *field) MUST_USE;

/* Age in whole years on `today` (both yyyymmdd); -1 when birth is 0. */
int person_age(int32_t birth, int32_t today);
/* Today's date in China (UTC+8), yyyymmdd. */
int32_t person_today(void);

/*
 * The keyed blind index of a phone's last four digits (label
 * "persons.phone_last4"), for the search by 尾号. False, out untouched,
 * when the phone is NULL or does not end in four ASCII digits.
 */
bool person_phone_last4_index(const char *phone, uint8_t out[BLIND_LEN]);

/* ---- name tokens (names.c) ----------------------------------------------- */

/*
 * The search tokens of a name, as text, before blind indexing: "f:" + the
 * whole name, "s:" + its first character (the surname), and "b:" + every
 * distinct pair of adjacent characters. Characters are UTF-8 code points;
 * ASCII letters are folded to lower case, so "Tom" and "tom" share tokens.
 * Tokens are written NUL-terminated into buf and pointed to by tok_r; at
 * most `max` are written (PERSON_TOKENS_MAX and PERSON_TOKEN_BUF always
 * suffice for a name of PERSON_NAME_MAX characters). Returns the count, or
 * 0 for an empty name or when buf cannot hold them.
 */
#define PERSON_TOKENS_MAX (PERSON_NAME_MAX + 1)
#define PERSON_TOKEN_BUF  1024
size_t person_name_tokens(const char *name, char *buf, size_t bufsize, const char **tok_r,
                          size_t max);

/*
 * The tokens a name query must all match: the surname token for a
 * one-character query, otherwise its distinct bigrams, at most `max` of
 * them spread evenly over the query (the candidates are confirmed by
 * decrypting, so a subset never changes the answer, only the number of
 * candidates). Returns the count (0: empty query or buffer too small).
 */
size_t person_name_query_tokens(const char *query, char *buf, size_t bufsize, const char **tok_r,
                                size_t max);

/*
 * For other capabilities' lists that search their people by name (the
 * observation list), and the person list: the blind indexes of query's
 * tokens (at most 8), as person_name_tokens stores them: k->n tokens,
 * k->nd digests (n, or 2n while a key rotation re-indexes: the previous
 * version's follow the current ones, security/crypto.h blind_search). The
 * count, 0 for an empty query. A person matches when all n are among their
 * tokens; *confirm_r says whether such a match must still be confirmed with
 * person_name_matches on the decrypted name (3 characters or more: several
 * bigrams can all occur without the query occurring).
 * person_name_query_where appends " AND <column> IN (SELECT person_id FROM
 * person_name_tokens …)" requiring all n tokens under one version (a
 * person's tokens are re-indexed together).
 */
#define PERSON_QUERY_TOKENS_MAX 8
struct person_name_keys {
    size_t n, nd;
    uint8_t k[BLIND_MAX * PERSON_QUERY_TOKENS_MAX][BLIND_LEN];
};
struct query;
size_t person_name_query_keys(const char *query, struct person_name_keys *k, bool *confirm_r);
void person_name_query_where(struct query *q, const char *column, const struct person_name_keys *k);

/* Does `name` contain `query` (ASCII letters compared without case)? */
bool person_name_matches(const char *name, const char *query);

/* ---- stored persons ------------------------------------------------------ */

/*
 * Register a person. `p` is checked (person_check with `given`), its region
 * must exist inside who's scope, and no other person that is not deleted
 * may have the same id_type and id_number anywhere in the deployment:
 * E_CONFLICT "duplicate_person", carrying the existing id (err_set_ref) only
 * when that person is inside who's scope, so ids outside it never leak. On
 * success p is completed (id, version, times) and a "create" history entry
 * is written, all in one transaction.
 *
 * The one exception to the duplicate rule: when the only holder of the
 * document is an unverified self-registration (source "self"), staff take
 * it over instead (a resident's claim cannot block the community's record):
 * that record gets every field of `p` (consent_at kept unless given), is
 * verified, keeps its id and history ("update" entry), and a resident
 * account bound to it stays bound only when the staff-entered phone is the
 * account's (the phone the self-registration recorded); otherwise it is
 * unbound and the resident must bind again. *taken_over_r (may be NULL) is
 * set true in that case. p->unverified is ignored (staff records are
 * verified).
 */
err person_create(db *d, arena *a, const struct principal *who, struct person *p,
                  person_fields given, bool *taken_over_r) MUST_USE;

/*
 * person_create inside a transaction the caller owns, without a savepoint
 * of its own: a bulk writer (the observation import, docs/cases.md) that
 * already wraps a batch of rows in one savepoint and rolls it all back when
 * a row fails, so a failure here may leave part of the person written until
 * the caller's rollback. The same checks, writes, history and change hook;
 * E_INTERNAL outside a transaction.
 */
err person_create_in_tx(db *d, arena *a, const struct principal *who, struct person *p,
                        person_fields given, bool *taken_over_r) MUST_USE;

/*
 * The live person holding document (type, id_number), deployment-wide:
 * *id_r its id, *region_r its region, 0 and 0 when none (one look-up, the
 * identity index is unique). Unscoped like the duplicate rule: the caller
 * decides with scope_has, and must not reveal an id outside the scope.
 * `id_number` is normalised here.
 */
err person_document_holder(db *d, arena *a, enum id_type type, const char *id_number, int64_t *id_r,
                           int64_t *region_r) MUST_USE;

/*
 * person_create_in_tx for a bulk writer that already did what it checks:
 * p passed person_check with `given`, its region passed
 * person_region_check for who, and person_document_holder found no holder
 * of the document in this transaction (so no self-registration to take
 * over, no duplicate: the unique index still answers a race with
 * E_CONFLICT "duplicate_person"). Neither the checks nor the three
 * look-ups by document are repeated (docs/cases.md "Batches"). `sealed`:
 * person_seal_ahead's work for this p, or NULL to seal here.
 */
struct person_sealed;
err person_create_in_tx_new(db *d, arena *a, const struct principal *who, struct person *p,
                            person_fields given, const struct person_sealed *sealed) MUST_USE;

/*
 * The cryptography of a new person's insert done ahead, on another thread
 * than the one writing: the sealed fields, the blind indexes and the name's
 * search tokens of p (checked), allocated in a; p's strings are not kept.
 * with the "create" history entry's changes sealed as well (they are p's
 * fields alone). The import seals the next batch's rows while the batch
 * before is written (docs/cases.md "The import"): about a fifth of the
 * writing thread's work taken off it. E_INPUT "too_long" as the insert
 * would refuse; E_NOMEM.
 */
err person_seal_ahead(arena *a, const struct person *p,
                      const struct person_sealed **sealed_r) MUST_USE;

/* person_document_holder of the document person_seal_ahead sealed (its
 * blind index computed once). */
err person_sealed_holder(db *d, const struct person_sealed *sealed, int64_t *id_r,
                         int64_t *region_r) MUST_USE;

/*
 * Staff confirm they saw the identity document of person `id` (inside who's
 * scope): clears `unverified`, bumps the version, writes an "update" history
 * entry {verified: [false, true]}. E_CONFLICT "already_verified" when it was
 * not unverified; E_NOT_FOUND outside the scope. *p_r gets the record.
 */
err person_verify(db *d, arena *a, const struct principal *who, int64_t id,
                  struct person *p_r) MUST_USE;

/*
 * Staff checked person `id`'s record with the resident (核验无误, seed 002
 * 二(一)1): nothing changes but a history entry, action "confirm" with no
 * changes, who and when. `version` is the version the staff member saw:
 * another version is E_CONFLICT "version_conflict" (they confirmed a record
 * that has since changed). E_NOT_FOUND outside the scope. Identity is
 * person_verify's (it needs the document); this does not clear `unverified`.
 * *p_r gets the record, *at_r the entry's time.
 */
err person_confirm(db *d, arena *a, const struct principal *who, int64_t id, int64_t version,
                   struct person *p_r, int64_t *at_r) MUST_USE;

/*
 * E_OK when person `id` (any region: callers have already resolved it from
 * their own scope or the resident's binding) is verified; E_FORBIDDEN
 * "identity_unverified" (a Chinese message telling the resident to show the
 * document at the community) when not; E_NOT_FOUND when no live person.
 * The pass, vehicle registration and visitor invitations call this.
 */
err person_require_verified(db *d, int64_t id) MUST_USE;

/*
 * Fill phone_last4_bidx of rows written before migration 012 (SQL cannot
 * compute a keyed index), in batches of 500 until none is left; run at
 * start-up after the migrations (app_open), a no-op afterwards. *n_r (may
 * be NULL) gets the number of rows filled.
 */
err person_backfill(db *d, int64_t *n_r) MUST_USE;

/*
 * Insert one person as person_create stores it (sealed fields, blind
 * indexes, name tokens) with no validation, duplicate pre-check, history
 * or audit: the bulk path of the demo generator and imports, meant to be
 * called many times inside one transaction the caller owns. `p` must
 * already satisfy person_check; p->created_by is used for both created_by
 * and updated_by, p->version is ignored (1). Allocates nothing but stack
 * buffers; statements come from the connection's cache. Errors: E_INPUT
 * "too_long" when a field exceeds its limit (nothing written), E_CONFLICT
 * "duplicate" from the unique index, E_DB.
 */
err person_insert_prepared(db *d, const struct person *p, int64_t id, int64_t now) MUST_USE;

/*
 * Register the person registry's counters with stats/ (measures.c):
 * "person.status.<status name>", a level per epidemic status at the
 * person's region, kept by every write here. Called at start-up
 * (app_routes); E_INTERNAL when the registry refuses one.
 */
err person_measures_register(void) MUST_USE;

/*
 * A capability that derives state from a person's status or residence (the
 * health code) registers one function, called inside the transaction of
 * person_create and of a person_update that changed status or region_code,
 * so the derived state commits with the change or not at all. Set once at
 * start-up (app_routes), before any request.
 * One subscriber: registering another function while one is set fails
 * (E_INTERNAL; the server refuses to start) rather than silently replacing
 * it; the same function again is a no-op, and NULL clears the slot.
 */
typedef err (*person_change_fn)(db *d, arena *a, int64_t person_id, int64_t user_id);
err person_on_change(person_change_fn fn) MUST_USE;

/*
 * A capability whose records about a person are kept at the person's
 * residence (the case workflow's open observation and tasks) registers one
 * function, called inside the transaction of a person_update that changed
 * region_code, before the person_on_change hook, so the records move with
 * the person or not at all: `from` and `to` are the old and the new
 * region, `who` made the change (for its audit entry). Rules as for
 * person_on_change: one subscriber, set at start-up.
 */
typedef err (*person_move_fn)(db *d, arena *a, const struct principal *who, int64_t person_id,
                              int64_t from, int64_t to);
err person_on_move(person_move_fn fn) MUST_USE;

/*
 * Every write of a person record, whatever changed (person_create and its
 * in-transaction forms, person_update, person_consent_set, person_delete;
 * not the demo generator's bulk person_insert_prepared): called inside the
 * writing transaction with the record's region after the write and
 * whether it was a deletion, so what it records commits with the write or
 * not at all. The exchange's change log subscribes (src/app.c); one
 * subscriber, rules as for person_on_change.
 */
typedef err (*person_write_fn)(db *d, int64_t person_id, int64_t region_code, bool deleted);
err person_on_write(person_write_fn fn) MUST_USE;

/*
 * The whole record as the API replies it, masked unless `reveal` (the
 * caller audits a revealed read), with the computed age: for another
 * capability that sends a person on (the exchange). A new reference.
 */
json_t *person_json(arena *a, const struct person *p, bool reveal);

/* The members of person_json written into w's open object (the look-up's
 * reply, written without a tree): person_json is this, parsed. */
void person_jsonw(struct jsonw *w, arena *a, const struct person *p, bool reveal);

/*
 * An outside identity authority consulted by the real-name binding (POST
 * /api/v1/me/person) when configured: the police identity service
 * (exchange/connect_police.c), registered at start-up (app_routes) so that
 * person does not depend on the exchange. configured() is a cheap read the
 * handler makes on its event loop; when true the binding runs on the
 * offload worker, because check() waits for the outside service:
 *   - check E_OK and no match: the binding is refused (400
 *     "police_identity_mismatch" on id_number), nothing changes;
 *   - check E_OK and a match: the binding proceeds, record() keeps the check
 *     and the person is verified through person_verify, all in one
 *     transaction;
 *   - check failing (the service unreachable, misconfigured): the binding
 *     proceeds as without one (unverified, the community checks) and the
 *     reply says why in "identity_check".
 * Rules as for person_on_change: one subscriber, set at start-up.
 */
struct person_identity_check {
    bool (*configured)(db *d);
    err (*check)(db *d, arena *a, const char *name, const char *id_number, bool *match_r);
    err (*record)(db *d, int64_t person_id, bool match, int64_t by_user);
};
err person_on_identity_check(const struct person_identity_check *c) MUST_USE;
/* The registered check, or NULL. */
const struct person_identity_check *person_identity_check(void);

/* A person by id inside the scope; E_NOT_FOUND (no detail set) otherwise. */
err person_find(db *d, arena *a, const struct scope *sc, int64_t id, struct person *p_r) MUST_USE;

/* The same, for hot paths that show who it is (a gate's scan): only id,
 * region_code, name and status are filled, so one field is decrypted
 * instead of seven. */
err person_find_brief(db *d, arena *a, const struct scope *sc, int64_t id,
                      struct person *p_r) MUST_USE;

/*
 * The masked name of a person from a persons.name_enc column that another
 * capability's list selected by joining persons (one statement for a page,
 * no query per row). A NULL column (no such person, or a visitor's record
 * with no person) gives "". Lists show names masked; the full name goes
 * through person_find and its reveal audit. On error (a column that does
 * not decrypt: E_CRYPTO) *name_r is untouched, never "" read as no name.
 */
err person_name_masked_col(arena *a, db_stmt *s, int col, const char **name_r) MUST_USE;

/* The same for a persons.address_enc column: the address masked, "" for none. */
err person_address_masked_col(arena *a, db_stmt *s, int col, const char **address_r) MUST_USE;

/* The residence (padded) of a live person inside sc; E_NOT_FOUND otherwise. */
err person_region(db *d, const struct scope *sc, int64_t id, int64_t *region_r) MUST_USE;

/*
 * As person_region, and inside a write transaction it takes the person's
 * row lock (a no-op UPDATE; SQLite's BEGIN IMMEDIATE holds the database
 * lock already), so two events about one person (a reading, an isolation)
 * recompute the code one after the other. Make it the transaction's first
 * statement.
 */
err person_lock(db *d, const struct scope *sc, int64_t id, int64_t *region_r) MUST_USE;

/*
 * The live person inside the scope whose phone is `phone`, found through
 * the phone's blind index (one index look-up, nothing decrypted): for
 * another capability linking its records by a phone it holds (a hotline
 * caller). *id_r the lowest such id and *n_r how many there are, 1 or 2
 * (2: more than one share the phone; the caller decides whether that is a
 * link); E_NOT_FOUND (no detail, outputs untouched) when none.
 */
err person_find_id_by_phone(db *d, const struct scope *sc, const char *phone, int64_t *id_r,
                            int64_t *n_r) MUST_USE;

/* A person by identity document inside the scope; E_NOT_FOUND otherwise.
 * `id_number` is normalised here. */
err person_find_by_id_number(db *d, arena *a, const struct scope *sc, enum id_type type,
                             const char *id_number, struct person *p_r) MUST_USE;

/*
 * A change: the fields of `v` named in `set` replace the stored ones.
 * `version` (0: not checked) must equal the stored version, else
 * E_CONFLICT "version_conflict"; a concurrent change between reading and
 * writing gives the same error. The merged record is checked like a new
 * one (given = set); a new region must be inside the scope; a new identity
 * number must not be another person's (E_CONFLICT "duplicate_person" as in
 * person_create). When something changed, version is bumped and one history
 * entry with the changed fields' old and new values is written; *p_r gets
 * the stored record and *changed_r (may be NULL) the changed fields.
 */
struct person_patch {
    struct person v;
    person_fields set;
    int64_t version;
    int verified; /* 0 unchanged; 1 verified, -1 unverified (self.c, person_verify):
                     history {verified: [old, new]} */
};
err person_update(db *d, arena *a, const struct principal *who, int64_t id,
                  const struct person_patch *patch, struct person *p_r,
                  person_fields *changed_r) MUST_USE;

/*
 * Set consent_at (0: withdrawn) of person `id` inside who's scope, as part
 * of a transaction the CALLER owns (the resident capability records the
 * consent itself in the same transaction). Bumps the version and writes an
 * "update" history entry {consent_at: [old, new]}; nothing when unchanged.
 * E_NOT_FOUND (no detail) when no such person in the scope.
 */
err person_consent_set(db *d, arena *a, const struct principal *who, int64_t id,
                       int64_t consent_at) MUST_USE;

/* Soft-delete a person inside the scope (deleted_at), drop its name
 * tokens, write a "delete" history entry. E_NOT_FOUND otherwise. */
err person_delete(db *d, arena *a, const struct principal *who, int64_t id) MUST_USE;

/* ---- lists ---------------------------------------------------------------- */

enum person_sort { PERSON_SORT_CREATED = 0, PERSON_SORT_UPDATED, PERSON_SORT_BIRTH };

struct person_filter {
    const char *name;      /* substring, 1-PERSON_NAME_MAX characters */
    const char *id_number; /* exact; with id_type (default resident id) */
    enum id_type id_type;
    const char *phone;             /* exact */
    const char *phone_last4;       /* exactly four digits: the phone's last four */
    int64_t region_code;           /* subtree; 0 = the whole scope (checked by the caller) */
    enum person_category category; /* 0 any */
    enum person_status status;     /* 0 any */
    unsigned vulnerable;           /* one flag, 0 any */
    int inbound;                   /* -1 any, 0, 1 */
    const char *code_colour;       /* a name of person_code_colours(), NULL any */
    enum person_sort sort;
    bool desc;
    int64_t page, page_size; /* page_size 0: every match, up to PERSON_EXPORT_MAX */
};

/*
 * The health-code colours (code/code.h's code_colour_vocab), for the list's
 * code_color filter and column: person never includes code (code depends
 * on person), so app.c hands the table over once at start-up, before any
 * request. NULL until then.
 */
void person_code_colours_set(const struct vocab *v);
const struct vocab *person_code_colours(void);

/* An export beyond this many rows is refused; narrow the filter. */
#define PERSON_EXPORT_MAX 10000

/*
 * Parse "created_at", "-updated_at", "birth_date" …; E_INPUT
 * "invalid_parameter" on field "sort" otherwise. NULL keeps the default
 * (newest first).
 */
err person_sort_parse(const char *s, struct person_filter *f) MUST_USE;

/*
 * The persons inside the scope that match the filter, sorted and paged;
 * *total_r counts every match. A name query of three or more characters
 * confirms its candidates by decrypting their names (only those names);
 * more than PERSON_EXPORT_MAX candidates is E_INPUT "name_too_broad", and
 * an export (page_size 0) of more than PERSON_EXPORT_MAX matches is E_INPUT
 * "export_too_large". The filter's values are assumed checked (api.c);
 * its region must already be inside the scope (person_region_check).
 */
err person_list(db *d, arena *a, const struct scope *sc, const struct person_filter *f,
                struct person **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* ---- exact searches -------------------------------------------------------- */

/*
 * The filters that single out a person from a masked value (id number,
 * phone, last four of the phone, name): each request that carries one
 * counts against the caller's hourly limit, shared by every server
 * (security/ratelimit.h, key "exact_search:<user id>").
 */
bool person_filter_exact(const struct person_filter *f);
/* "id_number,phone" … of the exact filters present, for the audit detail
 * (the field searched, never the value). */
const char *person_filter_exact_fields(arena *a, const struct person_filter *f);

/* The hourly limit (FK_EXACT_SEARCH_LIMIT, default 60); set once at
 * start-up. */
void person_search_limit_set(int per_hour);
int person_search_limit(void);

/*
 * Count one exact search by `who`. Over the limit: E_RATE
 * "search_rate_limited" (HTTP 429); the first refusal in a window also
 * raises a "security" alert in who's region for the security administrator
 * (and is the caller's to audit). *first_over_r (may be NULL) tells that
 * first refusal apart.
 */
err person_search_hit(db *d, const struct principal *who, bool *first_over_r) MUST_USE;

/* ---- history ----------------------------------------------------------- */

struct person_change {
    int64_t id;
    int64_t at;
    int64_t user_id;
    const char *user_name; /* "display name（username）" of who made it; "" if gone */
    const char *action;    /* create | update | delete | confirm (person_confirm) */
    const char *changes;   /* JSON object {field: [old, new]}, masked unless revealed */
};

/*
 * The history of a person inside the scope (not deleted), newest first,
 * paged. Values of personal fields are masked unless `reveal`.
 */
err person_history(db *d, arena *a, const struct scope *sc, int64_t person_id, bool reveal,
                   int64_t page, int64_t page_size, struct person_change **items_r, size_t *n_r,
                   int64_t *total_r) MUST_USE;

/* ---- residents' own record (self.c) ---------------------------------------- */

/*
 * Residents' self-service (居民自助): consent to the collection of their
 * personal information, real-name binding of their account to a person
 * record, self-registration, and reading and changing their own record.
 *
 * A resident account (users.kind 'resident', created at the first SMS
 * sign-in) acts only on the one record its users.person_id names; no
 * function here takes a person id from the caller, so a resident's reads
 * and writes cannot reach another person's record.
 *
 * Consent (seed 002 三(三)): the purpose statement is shown before anything
 * is collected; consenting appends a row with the statement's version and
 * the time to the table `consents` (sql/003), and so does a withdrawal. A
 * resident writes their own record only with current consent (to the
 * current version, not withdrawn). Withdrawal stops self-service and clears
 * persons.consent_at but deletes nothing: records kept for epidemic
 * prevention have their own legal basis (the statement says so).
 */

/* The statement a resident consents to. A changed text is a new version:
 * earlier consents then count as outdated and are asked for again. */
struct person_purpose {
    const char *version; /* "v1" */
    const char *title;
    const char *text; /* paragraphs separated by "\n" */
};

const struct person_purpose *person_purpose(void);

enum person_consent_state {
    CONSENT_NONE = 0,  /* never given */
    CONSENT_GIVEN,     /* given to the current version */
    CONSENT_OUTDATED,  /* given to an earlier version: ask again */
    CONSENT_WITHDRAWN, /* withdrawn after it was given */
};

struct person_consent {
    enum person_consent_state state;
    const char *version;  /* of the newest consent row, NULL when none */
    int64_t given_at;     /* time of the newest consent given, 0 none */
    int64_t withdrawn_at; /* time of the withdrawal when WITHDRAWN, else 0 */
};

/* "none" | "given" | "outdated" | "withdrawn". */
const char *person_consent_state_name(enum person_consent_state s);

/* The consent state of an account, from its newest rows. */
err person_consent_find(db *d, arena *a, int64_t user_id, struct person_consent *c_r) MUST_USE;

/*
 * Consent to purpose statement `version`, which must be the current one
 * (E_CONFLICT "consent_version_mismatch" on field "version"). Already given
 * to it: nothing is written and *changed_r is false. Else a "given" row is
 * appended and the bound person's consent_at set to its time, in one
 * transaction. *c_r gets the new state.
 */
err person_consent_give(db *d, arena *a, const struct principal *who, const char *version,
                        struct person_consent *c_r, bool *changed_r) MUST_USE;

/*
 * Withdraw consent: a "withdrawn" row and the bound person's consent_at
 * back to 0, in one transaction; nothing else changes. E_CONFLICT
 * "consent_not_given" when there is no consent to withdraw.
 */
err person_consent_withdraw(db *d, arena *a, const struct principal *who,
                            struct person_consent *c_r) MUST_USE;

/* E_OK when the account holds current consent, else E_FORBIDDEN
 * "consent_required" (never given, outdated or withdrawn). *c_r (may be
 * NULL) gets the state either way. */
err person_consent_require(db *d, arena *a, int64_t user_id, struct person_consent *c_r) MUST_USE;

/* The fields a resident may change on their own record: where they live
 * and work, and whom to call. Name, document, region and the rest need
 * community staff, who can check them. */
#define PERSON_SELF_EDITABLE                                                                       \
    (PF_BIT(PF_ADDRESS) | PF_BIT(PF_EMERGENCY_CONTACT_NAME) | PF_BIT(PF_EMERGENCY_CONTACT_PHONE) | \
     PF_BIT(PF_EMPLOYED) | PF_BIT(PF_EMPLOYER) | PF_BIT(PF_WORK_ADDRESS) |                         \
     PF_BIT(PF_CURRENT_LOCATION))

/* The fields a resident may give when registering; phone, source, status
 * and consent time are the program's. */
#define PERSON_SELF_REGISTRABLE                                                                    \
    (PERSON_SELF_EDITABLE | PF_BIT(PF_NAME) | PF_BIT(PF_ID_TYPE) | PF_BIT(PF_ID_NUMBER) |          \
     PF_BIT(PF_NATIVE_PLACE) | PF_BIT(PF_GENDER) | PF_BIT(PF_BIRTH_DATE) | PF_BIT(PF_CATEGORY) |   \
     PF_BIT(PF_INBOUND) | PF_BIT(PF_REGION_CODE) | PF_BIT(PF_HOUSEHOLD) |                          \
     PF_BIT(PF_HOUSEHOLD_RELATION) | PF_BIT(PF_VULNERABLE))

enum person_self_result { PERSON_SELF_CREATED = 1, PERSON_SELF_BOUND };

/*
 * Register resident `who` as person `p` (fields named in `given`, within
 * PERSON_SELF_REGISTRABLE, else E_INPUT "field_not_editable"). Needs current
 * consent (E_FORBIDDEN "consent_required") and an account not bound to a
 * live record yet (E_CONFLICT "already_registered"). The record is checked
 * like a staff entry (E_INPUT naming the field); its region must be a
 * community, grid or building of the tree (E_INPUT "invalid_region"). The
 * phone is the account's own, the source "self", consent_at the consent's
 * time.
 *
 * Nobody holds the document: a new person is created. Someone does: the
 * account is bound to that record only if its name equals p's, its phone is
 * empty (then filled in with the account's) or the account's, and no other
 * account is bound to it; otherwise E_CONFLICT "identity_mismatch", one
 * answer whatever the reason, carrying nothing of the record. A bound
 * record keeps its other fields. *p_r gets the stored record, *how_r how it
 * was obtained.
 *
 * A new record, and a record bound on an empty phone, is `unverified`
 * (only the resident's word says who they are) until staff verify it
 * (person_verify); a record bound on a matching phone keeps its state.
 */
err person_self_register(db *d, arena *a, const struct principal *who, struct person *p,
                         person_fields given, struct person *p_r,
                         enum person_self_result *how_r) MUST_USE;

/* The phone resident account user_id signed in with (unsealed, in a): the
 * number that is the resident's own (the telecom query asks about it). */
err person_account_phone(db *d, arena *a, int64_t user_id, const char **phone_r) MUST_USE;

/* The resident's own record; E_NOT_FOUND "person_not_registered" when the
 * account is not bound to a live record. */
err person_self_find(db *d, arena *a, const struct principal *who, struct person *p_r) MUST_USE;

/*
 * Change the resident's own record: PERSON_SELF_EDITABLE fields only
 * (E_INPUT "field_not_editable" naming the first other one), with current
 * consent, through person_update (checks, version, history).
 */
err person_self_update(db *d, arena *a, const struct principal *who,
                       const struct person_patch *patch, struct person *p_r,
                       person_fields *changed_r) MUST_USE;

#endif

/*
 * The place capability (seed 000 §6.2.2, §6.2.3, §7.2): the registry of
 * places (场所: communities, urban villages, parks, factories, rental
 * housing, dormitories, quarantine sites, …) and of enterprises (企业), the
 * organisations identified by their unified social credit code. A place may
 * name the enterprise or organisation that runs it; a community's venue code
 * (seed 002 二(一)1) carries that organisation's credit code, which
 * place_find returns with the place.
 *
 * Both are regional records: every function takes the caller's scope and
 * binds it in the same SQL statement, and a record outside the scope is
 * answered exactly like an unknown one (E_NOT_FOUND). Callers without a
 * principal (command-line tools, the demo) pass scope_all().
 *
 * Contact names and phones, legal representatives and their phones are
 * personal data: they are sealed at rest (crypto.h, labels
 * "places.contact_name", "enterprises.legal_rep", …) and these functions
 * hand out the plain text; masking for replies is the caller's business.
 * Deletion is soft (deleted_at); a deleted record is never returned again.
 *
 * Nothing here knows HTTP: api.c translates between JSON and these
 * functions. Every string a function returns is allocated from its arena.
 */
#ifndef FK_PLACE_PLACE_H
#define FK_PLACE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

/* Bounds of the numeric fields (checked by place_create and friends). */
#define PLACE_AREA_MAX           1e10     /* m² */
#define PLACE_HOUSEHOLDS_MAX     10000000 /* 户 */
#define PLACE_BUILDINGS_MAX      100000   /* 栋 */
#define ENTERPRISE_EMPLOYEES_MAX 10000000
#define LIST_EXPORT_MAX          10000 /* rows of one CSV export */

/* ---- places ---------------------------------------------------------------- */

enum place_kind {
    PLACE_COMMUNITY = 1,       /* 小区 */
    PLACE_URBAN_VILLAGE,       /* 城中村 */
    PLACE_PARK,                /* 园区 */
    PLACE_PROPERTY_COMPANY,    /* 物业公司 */
    PLACE_FACTORY,             /* 工厂/厂房 */
    PLACE_RENTAL_HOUSING,      /* 出租屋 */
    PLACE_APARTMENT,           /* 公寓楼 */
    PLACE_DORMITORY,           /* 集体宿舍 */
    PLACE_MARKET,              /* 农贸市场 */
    PLACE_QUARANTINE_SITE,     /* 隔离点 */
    PLACE_OFFICE,              /* 写字楼 */
    PLACE_SCHOOL,              /* 学校 */
    PLACE_HOSPITAL,            /* 医院 */
    PLACE_FEVER_CLINIC,        /* 发热门诊 */
    PLACE_DESIGNATED_HOSPITAL, /* 定点医院 */
    PLACE_CDC,                 /* 疾控机构 */
    PLACE_TOILET,              /* 公共厕所 (cameras watch them: docs/video.md) */
    PLACE_OTHER,               /* 其他 */
    PLACE_KIND__COUNT
};

/* The API names of the kinds ("community", …), NULL-terminated, in enum
 * order: usable as a jfield `oneof`. */
extern const struct vocab place_kind_vocab;

/* "community" -> PLACE_COMMUNITY; 0 for NULL or an unknown name. */
enum place_kind place_kind_parse(const char *s);
/* The API name and the Chinese label ("小区"); "" for an invalid kind. */
const char *place_kind_name(enum place_kind k);
const char *place_kind_label(enum place_kind k);

struct place {
    int64_t id;
    int64_t region_code;     /* padded */
    const char *region_name; /* "" when the region row is gone */
    enum place_kind kind;
    const char *name;
    const char *address;
    double area;               /* 物业面积, m² */
    int64_t households;        /* 户数 */
    int64_t buildings;         /* 楼栋数 */
    const char *contact_name;  /* plain text, NULL when not recorded */
    const char *contact_phone; /* plain text, NULL when not recorded */
    bool has_position;
    double lng, lat; /* WGS-84 degrees when has_position, NAN otherwise */
    /* The linked enterprise as the caller may see it: 0 / NULL when there is
     * none, it was deleted, or it lies outside the caller's scope. */
    int64_t enterprise_id;
    const char *enterprise_name;
    const char *credit_code;
    int64_t version; /* +1 on every update */
    int64_t created_at, updated_at;
};

/* Which fields a place_input sets. */
enum {
    PL_NAME = 1 << 0,
    PL_KIND = 1 << 1,
    PL_REGION = 1 << 2,
    PL_ADDRESS = 1 << 3,
    PL_AREA = 1 << 4,
    PL_HOUSEHOLDS = 1 << 5,
    PL_BUILDINGS = 1 << 6,
    PL_CONTACT_NAME = 1 << 7,
    PL_CONTACT_PHONE = 1 << 8,
    PL_POSITION = 1 << 9 | 1 << 10, /* lng and lat (place/internal.h) */
    PL_ENTERPRISE = 1 << 11,
};

/*
 * What a create or an update writes: the fields whose PF_ bit is in `set`.
 * A create needs PL_NAME, PL_KIND and PL_REGION; the other fields default
 * to empty / zero / none. NULL contact strings (with their bit set) clear
 * them; has_position false (with PL_POSITION) clears the position;
 * enterprise_id 0 (with PL_ENTERPRISE) unlinks.
 */
struct place_input {
    unsigned set;
    const char *name;
    enum place_kind kind;
    int64_t region_code; /* padded */
    const char *address;
    double area;
    int64_t households, buildings;
    const char *contact_name, *contact_phone;
    bool has_position;
    double lng, lat;
    int64_t enterprise_id;
};

/*
 * Check the fields of `in` that are set, without the database: name
 * (1-100 characters after trimming), address (<= 200), area (0 ..
 * PLACE_AREA_MAX, finite), households and buildings (0 .. their maxima),
 * contact name (<= 50), contact phone (mainland mobile), position (lng
 * -180..180, lat -90..90), kind. E_INPUT naming the field: "required",
 * "too_long", "out_of_range", "invalid_phone", "invalid_value",
 * "invalid_position". `create` also demands name, kind and region.
 */
err place_input_check(const struct place_input *in, bool create) MUST_USE;

/*
 * Create a place inside `scope`, after place_input_check. E_INPUT
 * "invalid_region" (field region_code) when the region does not exist or is
 * outside scope; E_INPUT "invalid_enterprise" (field enterprise_id) when the
 * enterprise is unknown, deleted or outside scope. *id_r gets the new id.
 * One transaction with its counters: nothing is written when it fails.
 */
err place_create(db *d, arena *a, const struct scope *scope, const struct place_input *in,
                 int64_t *id_r) MUST_USE;

/* One live place inside `scope`, contacts unsealed; E_NOT_FOUND otherwise. */
err place_find(db *d, arena *a, const struct scope *scope, int64_t id, struct place *p_r) MUST_USE;

/*
 * Update the fields `in->set` names (errors as place_create; E_INPUT
 * "empty_update" when nothing is set). E_NOT_FOUND when the place is not a
 * live one inside scope; E_CONFLICT "version_conflict" when another update
 * landed between the read and the write (nothing is written then).
 */
err place_update(db *d, arena *a, const struct scope *scope, int64_t id,
                 const struct place_input *in) MUST_USE;

/* Soft-delete a live place inside `scope`; E_NOT_FOUND otherwise,
 * E_CONFLICT "version_conflict" when an update landed meanwhile. */
err place_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;

/*
 * A capability whose records hang on a place (the case workflow's rooms of
 * a quarantine site, and their counters) registers one function, called
 * inside the transaction of place_delete once the row is marked deleted,
 * with the place as it was. One subscriber, set at start-up.
 */
typedef err (*place_delete_fn)(db *d, const struct place *p);
err place_on_delete(place_delete_fn fn) MUST_USE;

/* Register the places' measures ("place.kind.<kind>", docs/stats.md), at
 * start-up; the writes register them too. */
err place_measures_register(void) MUST_USE;

/* The sort keys of place_list: "name", "kind", "region_code", "area",
 * "households", "buildings", "created_at", "updated_at", each optionally
 * prefixed with "-" for descending. */
struct place_filter {
    int64_t region_code;   /* padded; 0: the whole scope, else its subtree */
    enum place_kind kind;  /* 0: any */
    const char *q;         /* name contains (literally: % and _ match only
                              themselves), NULL or "": any */
    int64_t enterprise_id; /* 0: any */
    const char *sort;      /* NULL: newest first */
    int64_t page;          /* 1.. */
    int64_t page_size;     /* 1.., or 0 for every match up to LIST_EXPORT_MAX */
};

/*
 * Live places inside `scope` matching `f`. E_INPUT "invalid_region" (field
 * region_code) when f->region_code is not an existing region inside scope;
 * E_INPUT "invalid_parameter" (field sort) for an unknown sort key; E_INPUT
 * "export_too_large" when page_size is 0 and more than LIST_EXPORT_MAX match.
 * *items_r (from `a`) gets *n_r places; *total_r the number of matches.
 */
err place_list(db *d, arena *a, const struct scope *scope, const struct place_filter *f,
               struct place **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* ---- enterprises ------------------------------------------------------------ */

struct enterprise {
    int64_t id;
    int64_t region_code; /* padded */
    const char *region_name;
    const char *name;
    const char *credit_code;     /* 18 characters, upper case, GB 32100-valid */
    const char *contact_name;    /* plain text or NULL */
    const char *contact_phone;   /* plain text or NULL */
    const char *legal_rep;       /* 法定代表人, plain text or NULL */
    const char *legal_rep_phone; /* plain text or NULL */
    int64_t employees;
    const char *address;  /* 办公地址 */
    const char *industry; /* 所属行业 */
    int64_t version;
    int64_t created_at, updated_at;
};

enum {
    EF_NAME = 1 << 0,
    EF_CREDIT_CODE = 1 << 1,
    EF_REGION = 1 << 2,
    EF_CONTACT_NAME = 1 << 3,
    EF_CONTACT_PHONE = 1 << 4,
    EF_LEGAL_REP = 1 << 5,
    EF_LEGAL_REP_PHONE = 1 << 6,
    EF_EMPLOYEES = 1 << 7,
    EF_ADDRESS = 1 << 8,
    EF_INDUSTRY = 1 << 9,
};

/* As place_input: the fields whose EF_ bit is in `set`; NULL personal
 * fields clear them. A create needs EF_NAME, EF_CREDIT_CODE and EF_REGION. */
struct enterprise_input {
    unsigned set;
    const char *name;
    const char *credit_code; /* any case: upper-cased before the check */
    int64_t region_code;
    const char *contact_name, *contact_phone;
    const char *legal_rep, *legal_rep_phone;
    int64_t employees;
    const char *address;
    const char *industry;
};

/*
 * Check the fields of `in` that are set, without the database: name
 * (1-100 characters after trimming), credit code (GB 32100, slug
 * "invalid_credit_code"), names (<= 50), phones (mainland mobile, slug
 * "invalid_phone"), employees (0 .. ENTERPRISE_EMPLOYEES_MAX), address
 * (<= 200), industry (<= 50). `create` also demands name, credit code and
 * region.
 */
err enterprise_input_check(const struct enterprise_input *in, bool create) MUST_USE;

/*
 * Create an enterprise inside `scope`. E_INPUT "invalid_region" as for
 * places; E_CONFLICT "duplicate_enterprise" when a live enterprise already
 * has the credit code: the error's ref is its id when it lies inside
 * `scope`, 0 otherwise (its existence is all the caller learns). *id_r gets
 * the new id. Nothing is written when it fails.
 */
err enterprise_create(db *d, arena *a, const struct scope *scope, const struct enterprise_input *in,
                      int64_t *id_r) MUST_USE;

/* One live enterprise inside `scope`, personal fields unsealed;
 * E_NOT_FOUND otherwise. */
err enterprise_find(db *d, arena *a, const struct scope *scope, int64_t id,
                    struct enterprise *e_r) MUST_USE;

/* The live enterprise with this credit code (upper-cased first) inside
 * `scope`; E_NOT_FOUND otherwise. */
err enterprise_find_by_credit_code(db *d, arena *a, const struct scope *scope,
                                   const char *credit_code, struct enterprise *e_r) MUST_USE;

/* Update the fields `in->set` names; errors as enterprise_create and
 * place_update ("empty_update", "version_conflict", E_NOT_FOUND). */
err enterprise_update(db *d, arena *a, const struct scope *scope, int64_t id,
                      const struct enterprise_input *in) MUST_USE;

/*
 * Soft-delete a live enterprise inside `scope`; E_NOT_FOUND otherwise. Its
 * credit code becomes free for a new registration. Places that named it
 * keep the link in storage but no longer show it (place.enterprise_id 0).
 */
err enterprise_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;

/* The sort keys of enterprise_list: "name", "credit_code", "region_code",
 * "employees", "created_at", "updated_at", optionally prefixed with "-". */
struct enterprise_filter {
    int64_t region_code;     /* padded; 0: the whole scope */
    const char *q;           /* name contains (literally), NULL or "": any */
    const char *credit_code; /* exact (upper-cased first), NULL: any */
    const char *industry;    /* 所属行业 contains (literally), NULL or "": any */
    const char *sort;        /* NULL: newest first */
    int64_t page;
    int64_t page_size; /* 0: every match up to LIST_EXPORT_MAX */
};

/* Live enterprises inside `scope` matching `f`; errors as place_list, and
 * E_INPUT "invalid_credit_code" (field credit_code) for a malformed code. */
err enterprise_list(db *d, arena *a, const struct scope *scope, const struct enterprise_filter *f,
                    struct enterprise **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

#endif

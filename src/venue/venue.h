/*
 * The venue capability (issue 4; seed 002 二(一)1, 二(二)1): the points
 * where people pass — community gates, buildings, markets, shops, offices,
 * testing sites — each under a place (place.h) and a region, with its
 * passage policy (colours allowed through, a per-person limit of passages
 * over a period, the fever threshold), and its printed venue code: a signed
 * token (security/token.h, kind TOKEN_VENUE) carrying the venue id and the
 * unified social credit code of the organisation that runs the place.
 *
 * Venue codes are printed and stay on walls, so they are signed with a
 * fixed key and never expire; the key id is the venue's code_version, and
 * venue_code_regenerate bumps it, revoking every earlier code.
 *
 * Venues are regional records: every function but venue_code_verify takes
 * the caller's scope and binds it in the same statement; a venue outside it
 * is answered like an unknown one (E_NOT_FOUND). Nothing here knows HTTP.
 * Strings a function returns are allocated from its arena.
 */
#ifndef FK_VENUE_VENUE_H
#define FK_VENUE_VENUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/token.h"

#define VENUE_LIMIT_COUNT_MAX 1000 /* passages per period */
#define VENUE_LIMIT_HOURS_MAX 720  /* 30 days */
#define VENUE_FEVER_MIN       35.0 /* °C: a threshold outside 35-42 is a typo */
#define VENUE_FEVER_MAX       42.0
#define VENUE_FEVER_DEFAULT   37.3
#define VENUE_EXPORT_MAX      10000

enum venue_kind {
    VENUE_COMMUNITY_GATE = 1, /* 小区出入口 */
    VENUE_BUILDING,           /* 楼栋 */
    VENUE_MARKET,             /* 市场/商超 */
    VENUE_SHOP,               /* 商铺 */
    VENUE_OFFICE,             /* 办公场所 */
    VENUE_TESTING_SITE,       /* 核酸采样点 */
    VENUE_TRANSPORT,          /* 交通场站 */
    VENUE_SCHOOL,             /* 学校 */
    VENUE_HOSPITAL,           /* 医疗机构 */
    VENUE_RESTAURANT,         /* 餐饮场所 */
    VENUE_PUBLIC,             /* 公共场所 */
    VENUE_CHECKPOINT,         /* 卡口 */
    VENUE_OTHER,              /* 其他 */
    VENUE_KIND__COUNT
};

/* API names in enum order, NULL-terminated (a jfield `oneof`). */
extern const struct vocab venue_kind_vocab;
enum venue_kind venue_kind_parse(const char *s); /* 0 when unknown */
const char *venue_kind_name(enum venue_kind k);  /* "" when invalid */
const char *venue_kind_label(enum venue_kind k); /* Chinese */

enum venue_direction { VENUE_IN = 1, VENUE_OUT, VENUE_BOTH };
extern const struct vocab venue_direction_vocab; /* in, out, both */
enum venue_direction venue_direction_parse(const char *s);
const char *venue_direction_name(enum venue_direction d);
const char *venue_direction_label(enum venue_direction d); /* 进 / 出 / 进出 */

/* Health-code colours a venue lets through, as a bit set. */
enum { VENUE_GREEN = 1, VENUE_YELLOW = 2, VENUE_RED = 4, VENUE_COLORS_ALL = 7 };

struct venue {
    int64_t id;
    int64_t region_code; /* padded */
    const char *region_name;
    int64_t place_id;
    const char *place_name;
    const char *credit_code; /* the place's organisation, NULL when none */
    enum venue_kind kind;
    const char *name;
    const char *address;
    enum venue_direction direction;
    unsigned allowed_colors; /* VENUE_GREEN | … */
    int64_t limit_count;     /* 0: no limit */
    int64_t limit_hours;
    double fever_threshold;
    bool enabled;
    int64_t code_version, code_issued_at;
    int64_t version;
    int64_t created_at, updated_at;
};

enum {
    VF_NAME = 1 << 0,
    VF_KIND = 1 << 1,
    VF_PLACE = 1 << 2,
    VF_REGION = 1 << 3,
    VF_ADDRESS = 1 << 4,
    VF_DIRECTION = 1 << 5,
    VF_COLORS = 1 << 6,
    VF_LIMIT = 1 << 7 | 1 << 8, /* limit_count and limit_hours together */
    VF_FEVER = 1 << 9,
    VF_ENABLED = 1 << 10,
};

/*
 * The fields whose VF_ bit is in `set`. A create needs name, kind and
 * place; the region defaults to the place's; direction to both, colours to
 * green, no limit, fever threshold 37.3, enabled.
 */
struct venue_input {
    unsigned set;
    const char *name;
    enum venue_kind kind;
    int64_t place_id;
    int64_t region_code; /* padded */
    const char *address;
    enum venue_direction direction;
    unsigned allowed_colors;
    int64_t limit_count, limit_hours;
    double fever_threshold;
    bool enabled;
};

/*
 * Check the fields `in` sets without the database: name (1-100
 * characters), kind, place id (> 0), address (<= 200), direction, colours
 * (a non-empty subset), limit count (0..VENUE_LIMIT_COUNT_MAX) with hours
 * (1..VENUE_LIMIT_HOURS_MAX when the count is not 0), fever threshold
 * (VENUE_FEVER_MIN..MAX). E_INPUT naming the field: "required", "too_long",
 * "invalid_value", "out_of_range", "invalid_place".
 */
err venue_input_check(const struct venue_input *in, bool create) MUST_USE;

/*
 * Create a venue inside `scope`. E_INPUT "invalid_place" (field place_id)
 * when the place is not a live one inside scope; "invalid_region" (field
 * region_code) when the region does not exist, is outside scope or outside
 * the place's region subtree. *id_r gets the new id.
 */
err venue_create(db *d, arena *a, const struct scope *scope, const struct venue_input *in,
                 int64_t *id_r) MUST_USE;

/* One live venue inside scope; E_NOT_FOUND otherwise. */
err venue_find(db *d, arena *a, const struct scope *scope, int64_t id, struct venue *v_r) MUST_USE;

/* As venue_find with what a gate needs (id, region, name, direction,
 * policy, enabled, code version) from the venue's row alone, without the
 * joins for its region, place and organisation names: the scan path. */
err venue_find_gate(db *d, arena *a, const struct scope *scope, int64_t id,
                    struct venue *v_r) MUST_USE;

/* Update the fields `in` sets; errors as venue_create, E_INPUT
 * "empty_update", E_NOT_FOUND, E_CONFLICT "version_conflict". */
err venue_update(db *d, arena *a, const struct scope *scope, int64_t id,
                 const struct venue_input *in) MUST_USE;

/* Soft-delete; E_NOT_FOUND when not a live venue inside scope. Its codes
 * stop verifying (unknown venue). */
err venue_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;

/* Register the venues' measures ("venue.kind.<kind>": live venues by kind,
 * docs/stats.md), at start-up; the writes register them too. */
err venue_measures_register(void) MUST_USE;

/* Sort keys: "name", "kind", "region_code", "created_at", "updated_at",
 * optionally prefixed with "-". */
struct venue_filter {
    int64_t region_code; /* 0: the whole scope, else its subtree */
    enum venue_kind kind;
    int64_t place_id; /* 0: any */
    int enabled;      /* -1: any, 0 or 1 */
    const char *q;    /* name contains, literally */
    /* only the venues whose code was issued before the token key's current
     * version became current: the printed copies a destruction of the old
     * version will refuse (docs/keys.md "Printed venue codes") */
    bool needs_reprint;
    const char *sort;
    int64_t page, page_size; /* page_size 0: all up to VENUE_EXPORT_MAX */
};

/* Live venues inside scope matching `f` (errors as place_list). */
err venue_list(db *d, arena *a, const struct scope *scope, const struct venue_filter *f,
               struct venue **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * The venue code of `v` (as venue_find returned it) into `out`: the same
 * text for the same code version, so every copy printed of one version is
 * identical.
 */
err venue_code(const struct venue *v, char out[TOKEN_MAX]) MUST_USE;

/* True when the code of `v` was issued before the token key's current
 * version became current (security/crypto.h keys_current_since): its
 * printed copies stop scanning once the previous version is destroyed. */
bool venue_code_needs_reprint(const struct venue *v);

/*
 * The code of `v` is about to be given out (shown, downloaded, printed): when
 * it needs a reprint, its issue time moves to now in the record (and in *v),
 * so the copy given out, signed under the current version, is told from the
 * copies printed before. The code version stays: those copies keep scanning
 * until the previous version is destroyed. *reissued_r: whether it moved.
 */
err venue_code_reissue(db *d, struct venue *v, bool *reissued_r) MUST_USE;

/* The public origin venue codes point at, from FK_PUBLIC_ORIGIN (its first
 * comma-separated entry, "https://fk.example.gov.cn"; no scheme: https):
 * their QR encodes <origin>/mobile/#/scan?v=<token> (venue/api.c). NULL or
 * "": each request's Host. E_INPUT for anything but [http(s)://]host[:port].
 * Called once before serving. */
err venue_set_public_origin(const char *origin) MUST_USE;

/* Revoke the venue's codes: code_version + 1 (E_NOT_FOUND as venue_find).
 * *v_r gets the venue as it is afterwards. */
err venue_code_regenerate(db *d, arena *a, const struct scope *scope, int64_t id,
                          struct venue *v_r) MUST_USE;

/*
 * Verify a scanned venue code, whatever the caller's scope (a resident
 * scans the codes of venues anywhere): token_verify's errors, then
 * E_NOT_FOUND "unknown_venue" when no live venue has its id, E_INPUT
 * "venue_code_revoked" (field token) when its version is not the current
 * one, E_CONFLICT "venue_disabled" when the venue is disabled. *v_r gets
 * the venue, *t_r (may be NULL) the decoded token.
 */
err venue_code_verify(db *d, arena *a, const char *token, struct venue *v_r,
                      struct token *t_r) MUST_USE;

#endif

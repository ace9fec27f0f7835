/*
 * Regions: the multi-level grid (province > city > district > street >
 * community > grid > building), its boundaries, and the scope rules every
 * other capability's data hangs from.
 *
 * A region is keyed by its division code (base/regcode.h): padded int64 here
 * and in the database, written form ("110101001001") in JSON and files. Its
 * parent is derived from the code, never stored independently of it, so a
 * region's subtree is always the code range [code, regcode_end(code)).
 *
 * Scope. Every function takes the caller's scope (the subtree of the
 * caller's own region) and binds it in the same SQL statement as the query:
 *   - reads see the scope's root and its descendants; ancestors and
 *     siblings of the root do not exist for the caller (E_NOT_FOUND, exactly
 *     as for a code nobody created);
 *   - writes (create, update, delete, import) need the target strictly inside
 *     the scope: the caller's own region is readable but is maintained by
 *     someone above it (E_FORBIDDEN "scope_root" when the caller tries).
 * The command-line tools pass scope_all(), which covers every code.
 *
 * Roots. The parent of a new region must exist, with these exceptions for
 * the top of a deployment (a district instance need not hold its city):
 *   - a province has no parent;
 *   - the very first region of an empty table may be at any level;
 *   - an unscoped caller (the CLI: scope_all) may add a city without
 *     its province.
 * Everything else without its parent is E_INPUT "parent_not_found".
 *
 * Moving a region changes its code, and so its parent, the codes of its whole
 * subtree and those of every record that hangs from them: region_move does
 * all of it in one transaction; region_update never changes a code.
 *
 * Strings in results are allocated from the arena the caller passes.
 */
#ifndef FK_REGION_REGION_H
#define FK_REGION_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/regcode.h"
#include "db/db.h"
#include "security/auth.h"

/* Bounds checked by this module (documented for the API and the UI). */
#define REGION_NAME_MAX          64    /* characters */
#define REGION_BOUNDARY_POINTS   10000 /* positions in one boundary */
#define REGION_TREE_MAX_NODES    20000 /* nodes in one tree reply */
#define REGION_IMPORT_MAX_ERRORS 1000  /* error rows kept in an import report */

struct region {
    int64_t code;        /* padded */
    int64_t parent_code; /* padded, 0 for a province */
    enum region_level level;
    const char *name;
    const char *boundary; /* compact GeoJSON geometry; NULL when none or not loaded */
    bool has_center;
    double center_lng, center_lat;
    bool has_children;
};

/* The scope covering every code (command-line tools). */

/*
 * Check a GeoJSON geometry given as text: a Polygon or MultiPolygon whose
 * rings are closed, have at least 4 positions each, hold [lng, lat] numbers
 * in range (a third number, an altitude, is allowed and dropped), with at
 * most REGION_BOUNDARY_POINTS positions in all. On success *norm_r gets the
 * geometry rewritten as compact {"type","coordinates"} text (other members
 * such as bbox dropped) and *lng_r, *lat_r its area centroid (the vertex
 * average for a degenerate polygon of zero area). Errors: E_INPUT
 * "invalid_boundary" on `field` with a Chinese message saying what is wrong.
 */
err region_boundary_check(const char *text, const char *field, arena *a, const char **norm_r,
                          double *lng_r, double *lat_r) MUST_USE;

/* A centre: lng in [-180, 180], lat in [-90, 90], finite.
 * E_INPUT "invalid_center" on `field`. */
err region_center_check(double lng, double lat, const char *field) MUST_USE;

/*
 * One region inside `sc` (the scope root included). E_NOT_FOUND when the
 * code does not exist or lies outside the scope. The boundary is loaded only
 * when `with_boundary`.
 */
err region_find(db *d, const struct scope *sc, int64_t code, bool with_boundary, arena *a,
                struct region *r_r) MUST_USE;

/*
 * The names of `code` and its ancestors from level `from` down, joined by
 * " · " ("沙河街道 · 前海社区 · 2栋"): how a person reads where something is.
 * Region names are public administrative facts, so no scope applies.
 * Ancestors missing from the tree are left out; "" when none is known.
 * The text lives in `a`.
 */
err region_path(db *d, int64_t code, enum region_level from, arena *a,
                const char **path_r) MUST_USE;

enum region_sort { REGION_SORT_CODE, REGION_SORT_NAME, REGION_SORT_LEVEL };

struct region_filter {
    int64_t parent_code;     /* padded; 0: any parent */
    enum region_level level; /* 0: any level */
    const char *q;           /* a substring of the name, or NULL */
    enum region_sort sort;
    bool desc;
    bool with_boundary;
    int64_t page, page_size; /* page from 1 */
};

/*
 * Regions inside `sc` matching `f`, one page of them in *items_r (arena
 * array of *n_r) and the count of all matches in *total_r.
 */
err region_list(db *d, const struct scope *sc, const struct region_filter *f, arena *a,
                struct region **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * The subtree of `root` (inside `sc`, else E_NOT_FOUND) down to `depth`
 * levels below it (0: the root alone), in code order, which is depth-first
 * order with parents before children: (*items_r)[0] is the root. More than
 * REGION_TREE_MAX_NODES nodes is E_INPUT "tree_too_large" on field "depth".
 */
err region_tree(db *d, const struct scope *sc, int64_t root, int depth, bool with_boundary,
                arena *a, struct region **items_r, size_t *n_r) MUST_USE;

/* A new region, or the changes to one. */
struct region_input {
    int64_t code;            /* padded, a valid code */
    enum region_level level; /* must be the code's level */
    int64_t parent_code;     /* -1: not given; else must equal regcode_parent(code) */
    const char *name;        /* 1..REGION_NAME_MAX characters, not blank */
    const char *boundary;    /* GeoJSON geometry text, or NULL */
    bool has_center;         /* else computed from the boundary, if any */
    double center_lng, center_lat;
};

/*
 * Create a region strictly inside `sc`. Errors (E_INPUT unless noted, each
 * naming its field): "invalid_region" on code (outside the scope),
 * E_FORBIDDEN "scope_root", "level_mismatch" on level, "parent_mismatch" and
 * "parent_not_found" on parent_code, "required"/"too_long" on name,
 * "invalid_boundary", "invalid_center", and E_CONFLICT "duplicate_region"
 * whose ref is the existing code in written form read as a number. The new
 * region (without boundary) is stored in *r_r.
 */
err region_create(db *d, const struct scope *sc, const struct region_input *in, arena *a,
                  struct region *r_r) MUST_USE;

struct region_patch {
    const char *name; /* NULL: unchanged */
    bool set_boundary;
    const char *boundary; /* with set_boundary: new geometry text, or NULL to clear */
    bool set_center;
    bool has_center; /* with set_center: false clears it */
    double center_lng, center_lat;
};

/*
 * Change the name, boundary or centre of a region strictly inside `sc`
 * (E_NOT_FOUND outside it, E_FORBIDDEN "scope_root" for the scope's root).
 * A new boundary without a new centre recomputes the centre; clearing the
 * boundary keeps the centre. *changed_r (may be NULL) gets the changed
 * field names ("name,boundary,center") for the audit detail.
 */
err region_update(db *d, const struct scope *sc, int64_t code, const struct region_patch *p,
                  arena *a, struct region *r_r, const char **changed_r) MUST_USE;

/*
 * Delete a region strictly inside `sc`. E_CONFLICT "region_in_use" when it
 * has children, or when live persons, places or enterprises, or users or
 * departments, have a region_code inside its subtree.
 */
err region_delete(db *d, const struct scope *sc, int64_t code) MUST_USE;

/*
 * Move the region `code` (strictly inside `sc`) to `new_code`: the same
 * level under another parent, which must exist inside `sc` (it may be the
 * scope's root). The subtree keeps its shape: every descendant's code, and
 * the region_code of every person, place, enterprise, user, department and
 * job under it, shift by new_code - code, in one transaction.
 * *moved_r (may be NULL) gets the number of records that changed region.
 * Errors: E_NOT_FOUND (no such region in scope), E_FORBIDDEN "scope_root",
 * E_INPUT "invalid_region_code" (field "code": malformed, another level, the
 * same code, or outside the scope), "parent_not_found" (field "code"),
 * E_CONFLICT "region_exists" (the new code, or a code under it, is taken).
 */
err region_move(db *d, const struct scope *sc, int64_t code, int64_t new_code, arena *a,
                struct region *r_r, int64_t *moved_r) MUST_USE;

/* Import formats. */
enum region_format { REGION_CSV = 1, REGION_GEOJSON };

struct region_import_error {
    long row; /* CSV: line where the record starts (the header is line 1);
               * GeoJSON: the feature's position, from 1 */
    const char *field;
    const char *code; /* the error slug */
    const char *message;
};

struct region_import_report {
    int64_t imported; /* new regions */
    int64_t updated;  /* existing regions whose name/boundary/centre were rewritten */
    int64_t error_count;
    struct region_import_error *errors; /* the first REGION_IMPORT_MAX_ERRORS, by row */
    size_t n_errors;
};

/*
 * Import regions from a CSV or GeoJSON document, upserting by code inside
 * `sc` (each row strictly inside it). Rows may come in any order (they are
 * applied level by level, so parents precede children). Valid rows are
 * stored in one transaction; each invalid row is reported once, with its
 * first fault and the same slugs as region_create ("scope_root" included)
 * plus "invalid_level", "invalid_region_code", "duplicate_in_file" (the
 * later occurrence), "invalid_row" (CSV quoting, too many cells; a GeoJSON
 * feature that is not one), "invalid_type", "invalid_encoding". An update
 * rewrites the name, and the boundary and centre only when the row gives
 * them. New rows are looked up and inserted in batches, so an import costs
 * a few statements per batch of rows; updates cost one statement per row.
 *
 * CSV: a header row naming columns code, name, level and optionally
 * parent_code, center_lng, center_lat, boundary (or 区划代码, 名称, 层级,
 * 上级代码, 经度, 纬度, 边界); levels in English or Chinese (省, 市, 区县, 街道,
 * 社区, 网格, 楼栋 and the aliases 区, 县, 乡镇, 村). GeoJSON: a
 * FeatureCollection whose features' properties carry code, name, level and
 * optionally parent_code and center [lng, lat]; the geometry (or null) is
 * the boundary.
 *
 * A document that cannot be read at all (not UTF-8, no or bad header, not
 * a FeatureCollection) is an E_INPUT error and imports nothing.
 */
err region_import(db *d, const struct scope *sc, enum region_format fmt, const char *data, size_t n,
                  arena *a, struct region_import_report *rep_r) MUST_USE;

/* Parse a level written in English or Chinese; 0 if unknown. */
enum region_level region_level_parse_any(const char *s);

#endif

/*
 * Private to place/: the helpers place.c and enterprise.c share (sealed
 * columns, the region check, text checks, sort keys and LIKE patterns).
 * Other capabilities use place.h only.
 */
#ifndef FK_PLACE_INTERNAL_H
#define FK_PLACE_INTERNAL_H

#include "place/place.h"

/*
 * Is `code` an existing region inside `scope`? E_INPUT "invalid_region"
 * (field region_code) when not; E_DB when the query fails.
 */
err pl_region_check(db *d, const struct scope *scope, int64_t code) MUST_USE;

/*
 * Bind parameter i to the sealed form of `plain` under `label`
 * ("places.contact_name"), or to NULL when `plain` is NULL or "". The
 * ciphertext comes from `a`.
 */
err pl_bind_sealed(db_stmt *s, int i, arena *a, const char *label, const char *plain) MUST_USE;

/* Column `col` of the current row unsealed under `label` into *plain_r
 * (from `a`), or NULL when the column is NULL. E_CRYPTO when it does not
 * open. */
err pl_col_unsealed(db_stmt *s, int col, arena *a, const char *label,
                    const char **plain_r) MUST_USE;

/* `s` without leading and trailing ASCII white space, from `a`; NULL stays
 * NULL. */
const char *pl_trim(arena *a, const char *s);

/* A sort key of an allow-list: `key` is the API name; `asc` and `desc` are
 * the ORDER BY fragments it stands for (query_sql, db/query.h), fixed at
 * compile time. The list ends with a NULL key. */
struct pl_sort {
    const char *key;
    const char *asc, *desc;
};

/*
 * The ORDER BY fragment for `sort` ("name" or "-name" for descending; NULL
 * or "": `dflt`). E_INPUT "invalid_parameter" (field sort) for a key not in
 * the list.
 */
err pl_sort_sql(const struct pl_sort *keys, const char *sort, const char *dflt,
                const char **sql_r) MUST_USE;

/* The LIKE pattern matching names that contain `q` literally: %, _ and the
 * escape character \ are escaped, the text is lower-cased (ASCII, as SQL
 * lower() on both databases) and wrapped in %…%. "" for NULL or "". */
const char *pl_like_contains(arena *a, const char *q);

/* Upper-case ASCII letters of `s` into a copy from `a`; NULL stays NULL. */
char *pl_upper(arena *a, const char *s);

#endif

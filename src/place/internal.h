/*
 * Private to place/: the field tables of places and enterprises, and the
 * helpers place.c and enterprise.c share (the region check, sort keys and
 * LIKE patterns). Other capabilities use place.h only.
 */
#ifndef FK_PLACE_INTERNAL_H
#define FK_PLACE_INTERNAL_H

#include <stddef.h>

#include "db/fields.h"
#include "place/place.h"

/*
 * THE field table of the place record (db/fields.h): one row per
 * client-settable field, in the API's order; row i is bit 1u << i of
 * place_input.set (PL_*, place.h: the position is the two rows lng and
 * lat). It generates the body checks (api.c), the body -> place_input
 * conversion, the reply's fields and their masking, the overlay of an
 * update, and the INSERT/UPDATE/SELECT columns, binds and row reads
 * (place.c). The record's own rules (ranges with their messages, the
 * position pair, references) stay in place_input_check and api.c.
 *
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 *
 * Sealed (SM4, "places.<column without _enc>"): text with a mask rule.
 */
#define PLACE_FIELDS(X)                                                                            \
    X(name, FD_TEXT, J_STRING, 0, 100, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,            \
      "场所名称", "name", NULL)                                                                    \
    X(kind, FD_ENUM, J_STRING, 0, 0, FL_REQUIRED | FL_BY_NAME, &place_kind_vocab, MK_NONE,         \
      "场所类型", "kind", NULL)                                                                    \
    X(region_code, FD_REGION, J_STRING, 0, 18, FL_REQUIRED, NULL, MK_NONE, "所属区划",             \
      "region_code", NULL)                                                                         \
    X(address, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE, "地址", \
      "address", NULL)                                                                             \
    X(area, FD_REAL, J_NUMBER, 0, 10000000000LL, 0, NULL, MK_NONE, "物业面积", "area", NULL)       \
    X(households, FD_INT, J_INT, 0, PLACE_HOUSEHOLDS_MAX, 0, NULL, MK_NONE, "户数", "households",  \
      NULL)                                                                                        \
    X(buildings, FD_INT, J_INT, 0, PLACE_BUILDINGS_MAX, 0, NULL, MK_NONE, "楼栋数", "buildings",   \
      NULL)                                                                                        \
    X(contact_name, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME, "联系人",      \
      "contact_name_enc", NULL)                                                                    \
    X(contact_phone, FD_TEXT, J_STRING, 0, 0, JF_NULLABLE | FL_TRIM, NULL, MK_PHONE, "联系人手机", \
      "contact_phone_enc", NULL)                                                                   \
    X(lng, FD_REAL, J_NUMBER, -180, 180, JF_NULLABLE, NULL, MK_NONE, "经度", "lng", NULL)          \
    X(lat, FD_REAL, J_NUMBER, -90, 90, JF_NULLABLE, NULL, MK_NONE, "纬度", "lat", NULL)            \
    X(enterprise_id, FD_ID, J_STRING, 0, 20, JF_NULLABLE, NULL, MK_NONE, "所属企业",               \
      "enterprise_id", "invalid_enterprise")

enum {
    PLACE_FIELD_COUNT = 0
#define PL_ONE(...) +1
    PLACE_FIELDS(PL_ONE)
#undef PL_ONE
};

/* The table over struct place (replies, row reads) and over struct
 * place_input (bodies, binds): the same rows, two structs. */
extern const struct field place_rows[PLACE_FIELD_COUNT];
extern const struct field place_input_rows[PLACE_FIELD_COUNT];

/*
 * THE field table of the enterprise record, as PLACE_FIELDS: row i is bit
 * 1u << i of enterprise_input.set (EF_*, place.h). The credit code is
 * upper-cased before it is checked and stored (enterprise.c).
 */
#define ENTERPRISE_FIELDS(X)                                                                       \
    X(name, FD_TEXT, J_STRING, 0, 100, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,            \
      "企业名称", "name", NULL)                                                                    \
    X(credit_code, FD_TEXT, J_STRING, 0, 0, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,       \
      "统一社会信用代码", "credit_code", NULL)                                                     \
    X(region_code, FD_REGION, J_STRING, 0, 18, FL_REQUIRED, NULL, MK_NONE, "所属区划",             \
      "region_code", NULL)                                                                         \
    X(contact_name, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME, "联系人",      \
      "contact_name_enc", NULL)                                                                    \
    X(contact_phone, FD_TEXT, J_STRING, 0, 0, JF_NULLABLE | FL_TRIM, NULL, MK_PHONE, "联系人手机", \
      "contact_phone_enc", NULL)                                                                   \
    X(legal_rep, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM, NULL, MK_NAME, "法定代表人",     \
      "legal_rep_enc", NULL)                                                                       \
    X(legal_rep_phone, FD_TEXT, J_STRING, 0, 0, JF_NULLABLE | FL_TRIM, NULL, MK_PHONE,             \
      "法定代表人手机", "legal_rep_phone_enc", NULL)                                               \
    X(employees, FD_INT, J_INT, 0, ENTERPRISE_EMPLOYEES_MAX, 0, NULL, MK_NONE, "员工人数",         \
      "employees", NULL)                                                                           \
    X(address, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,         \
      "办公地址", "address", NULL)                                                                 \
    X(industry, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,         \
      "所属行业", "industry", NULL)

enum {
    ENTERPRISE_FIELD_COUNT = 0
#define EF_ONE(...) +1
    ENTERPRISE_FIELDS(EF_ONE)
#undef EF_ONE
};

extern const struct field enterprise_rows[ENTERPRISE_FIELD_COUNT];
extern const struct field enterprise_input_rows[ENTERPRISE_FIELD_COUNT];

/*
 * Is `code` an existing region inside `scope`? E_INPUT "invalid_region"
 * (field region_code) when not; E_DB when the query fails.
 */
err pl_region_check(db *d, const struct scope *scope, int64_t code) MUST_USE;

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

/* Upper-case ASCII letters of `s` into a copy from `a`; NULL stays NULL. */
char *pl_upper(arena *a, const char *s);

/* Move the counter of places of `kind` at region_code by delta, inside
 * the write's transaction (measures.c). */
err pl_count(db *d, enum place_kind kind, int64_t region_code, int64_t delta) MUST_USE;

#endif

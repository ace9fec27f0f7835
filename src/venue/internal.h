/*
 * Private to venue/: the field table of the venue record, shared by the
 * storage (venue.c) and the HTTP handlers (api.c).
 */
#ifndef FK_VENUE_INTERNAL_H
#define FK_VENUE_INTERNAL_H

#include <stddef.h>

#include "code/code.h"
#include "db/fields.h"
#include "venue/venue.h"

/*
 * THE field table of the venue record (db/fields.h, the pattern of
 * docs/architecture.md): one row per client-settable field in the API's
 * order; row i is bit 1u << i of venue_input.set (VF_*, venue.h: the limit
 * is the two rows limit_count and limit_hours). It generates the body
 * checks, the body -> venue_input conversion, the reply's fields, the
 * update's overlay and the INSERT/UPDATE/SELECT columns, binds and row
 * reads. What is the venue's own stays by hand: the place and region
 * references (venue.c check_refs), the limit pair and the colour list's
 * message (api.c), the rules across fields (venue_input_check).
 *
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 *
 * allowed_colors: bit c is health-code colour c (code/code.h).
 */
#define VENUE_FIELDS(X)                                                                            \
    X(name, FD_TEXT, J_STRING, 0, 100, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,            \
      "点位名称", "name", NULL)                                                                    \
    X(kind, FD_ENUM, J_STRING, 0, 0, FL_REQUIRED | FL_BY_NAME, &venue_kind_vocab, MK_NONE,         \
      "点位类型", "kind", NULL)                                                                    \
    X(place_id, FD_ID, J_STRING, 0, 20, FL_REQUIRED, NULL, MK_NONE, "所属场所", "place_id",        \
      "invalid_place")                                                                             \
    X(region_code, FD_REGION, J_STRING, 0, 18, JF_NULLABLE, NULL, MK_NONE, "所属区划",             \
      "region_code", NULL)                                                                         \
    X(address, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE, "地址", \
      "address", NULL)                                                                             \
    X(direction, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME, &venue_direction_vocab, MK_NONE, "通行方向", \
      "direction", NULL)                                                                           \
    X(allowed_colors, FD_BITS, J_ARRAY, 0, 0, 0, &code_colour_vocab, MK_NONE,                      \
      "可通行的健康码颜色", "allowed_colors", NULL)                                                \
    X(limit_count, FD_INT, J_INT, 0, VENUE_LIMIT_COUNT_MAX, 0, NULL, MK_NONE, "通行次数上限",      \
      "limit_count", NULL)                                                                         \
    X(limit_hours, FD_INT, J_INT, 0, VENUE_LIMIT_HOURS_MAX, 0, NULL, MK_NONE, "限制周期（小时）",  \
      "limit_hours", NULL)                                                                         \
    X(fever_threshold, FD_REAL, J_NUMBER, 0, 0, 0, NULL, MK_NONE, "发热阈值", "fever_threshold",   \
      NULL)                                                                                        \
    X(enabled, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "启用", "enabled", NULL)

enum {
    VENUE_FIELD_COUNT = 0
#define VF_ONE(...) +1
    VENUE_FIELDS(VF_ONE)
#undef VF_ONE
};

/* The table over struct venue (replies, row reads) and over struct
 * venue_input (bodies, binds). */
extern const struct field venue_rows[VENUE_FIELD_COUNT];
extern const struct field venue_input_rows[VENUE_FIELD_COUNT];

#endif

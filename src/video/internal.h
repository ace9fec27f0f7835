/*
 * Private to video/: the field table of the camera record, shared by the
 * storage (video.c) and the HTTP handlers (api.c).
 */
#ifndef FK_VIDEO_INTERNAL_H
#define FK_VIDEO_INTERNAL_H

#include <stddef.h>

#include "db/fields.h"
#include "video/video.h"

/*
 * THE field table of the camera record (db/fields.h): one row per
 * client-settable column in the API's order; row i is bit 1u << i of
 * camera_input.set (CF_*, video.h). CAMERA_BINDING_FIELDS follow it in the
 * input table only: the first watched object a create (or an import row)
 * may name, stored in camera_objects, not in the cameras row.
 *
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 */
#define CAMERA_FIELDS(X)                                                                           \
    X(name, FD_TEXT, J_STRING, 0, 100, FL_REQUIRED | FL_TRIM | FL_EMPTY, NULL, MK_NONE,            \
      "摄像头名称", "name", NULL)                                                                  \
    X(code, FD_TEXT, J_STRING, 0, 64, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,             \
      "视频网编号", "code", NULL)                                                                  \
    X(kind, FD_ENUM, J_STRING, 0, 0, FL_REQUIRED | FL_BY_NAME, &camera_kind_vocab, MK_NONE,        \
      "摄像头类型", "kind", NULL)                                                                  \
    X(region_code, FD_REGION, J_STRING, 0, 18, FL_REQUIRED, NULL, MK_NONE, "所属区划",             \
      "region_code", NULL)                                                                         \
    X(lng, FD_REAL, J_NUMBER, 0, 0, FL_REQUIRED, NULL, MK_NONE, "经度", "lng", NULL)               \
    X(lat, FD_REAL, J_NUMBER, 0, 0, FL_REQUIRED, NULL, MK_NONE, "纬度", "lat", NULL)               \
    X(stream_url, FD_TEXT, J_STRING, 0, CAMERA_URL_MAX, FL_REQUIRED | FL_TRIM, NULL, MK_NONE,      \
      "视频流地址", "stream_url", NULL)

#define CAMERA_BINDING_FIELDS(X)                                                                   \
    X(object_kind, FD_ENUM, J_STRING, 0, 0, JF_NULLABLE | FL_BY_NAME, &camera_object_vocab,        \
      MK_NONE, "监控对象类型", "object_kind", NULL)                                                \
    X(object_id, FD_ID, J_STRING, 0, 20, JF_NULLABLE, NULL, MK_NONE, "监控对象", "object_id",      \
      NULL)                                                                                        \
    X(object_name, FD_TEXT, J_STRING, 0, 100, JF_NULLABLE | FL_TRIM | FL_EMPTY, NULL, MK_NONE,     \
      "监控对象名称", "object_name", NULL)

enum {
    CAMERA_FIELD_COUNT = 0
#define CF_ONE(...) +1
    CAMERA_FIELDS(CF_ONE),
    CAMERA_INPUT_COUNT = CAMERA_FIELD_COUNT CAMERA_BINDING_FIELDS(CF_ONE)
#undef CF_ONE
};

/* The record's columns (storage, replies), and the input's rows (bodies,
 * import rows): the columns, then the first binding's. */
extern const struct field camera_rows[CAMERA_FIELD_COUNT];
extern const struct field camera_input_rows[CAMERA_INPUT_COUNT];

#endif

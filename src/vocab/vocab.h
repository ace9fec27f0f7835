/*
 * Vocabularies (词表): every enumerated value the web pages show, each
 * with its Chinese name, served as one document so that the pages hold no
 * copy of them:
 *
 *   GET /api/v1/vocabularies  (any signed-in user; no personal data)
 *   {"person_statuses": {"label": "人员状态",
 *                        "items": [{"value": "normal", "label": "正常"}, …]},
 *    "permissions": {"label": "权限",
 *                    "items": [{"value": "person.read", "label": "查看人员",
 *                               "group": "person"}, …]},
 *    "person_fields": {"label": "人员信息字段",
 *                      "items": [{"value": "name", "label": "姓名",
 *                                 "masked": true}, …]},
 *    …}
 *
 * Each vocabulary is generated from the one C table its capability holds
 * (base/vocab.h: person/fields.c, base/validate.c, code/engine.c,
 * place/place.c, venue/venue.c, device/device.c, visitor/visitor.c,
 * vehicle/vehicle.c, alert/alert.c, security/rbac.c, case/, task/task.c;
 * task_kinds lists the kinds registered at start-up): adding a value there
 * adds it here, in the API's checks and in the pages at once.
 */
#ifndef FK_VOCAB_VOCAB_H
#define FK_VOCAB_VOCAB_H

#include <jansson.h>

/* The whole document above. A new reference. */
json_t *vocab_document(void);

#endif

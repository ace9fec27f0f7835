/*
 * Private to person/: the JSON form of a person's fields, shared by the
 * replies (api.c) and the history entries (person.c), so a field is written
 * the same way in both and masked by one rule.
 */
#ifndef FK_PERSON_INTERNAL_H
#define FK_PERSON_INTERNAL_H

#include <jansson.h>

#include "base/json.h"
#include "db/fields.h"
#include "person/person.h"

/*
 * THE field table of the person record: one row per client-settable field
 * (enum person_field), in the API's order. Everything field-wise is
 * generated from it: the JSON checks of the request bodies (api.c), the
 * conversion between struct person and JSON both ways, the copy of a
 * patch's fields and the diff for the history (fields.c, person.c), the
 * masking of replies, CSV and history, and the field names and labels the
 * vocabulary document serves. A new field is one row here (and its column
 * in sql/ and in person.c's INSERT/UPDATE).
 *
 *   X(field, member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column)
 *
 * member: the struct person member, which is also the JSON name; kind: how
 * the member is held (enum field_kind, db/fields.h); min/max: characters of a string,
 * the range of an integer (0, 0: none), as struct jfield; flags:
 * FL_REQUIRED (a create needs it), JF_NULLABLE, FL_BY_NAME (an enum
 * stored as its name, not its number); vocabulary: the names a string or
 * each array element must be one of (NULL: any); column: its column of
 * persons, sealed (SM4, "persons.<column without _enc>") exactly when the
 * field is text with a mask rule.
 */
#define PERSON_FIELDS(X)                                                                           \
    X(PF_NAME, name, FD_TEXT, J_STRING, 1, PERSON_NAME_MAX, FL_REQUIRED, NULL, MK_NAME, "姓名",    \
      "name_enc")                                                                                  \
    X(PF_ID_TYPE, id_type, FD_ENUM, J_STRING, 0, 0, 0, &id_type_vocab, MK_NONE, "证件类型",        \
      "id_type")                                                                                   \
    X(PF_ID_NUMBER, id_number, FD_TEXT, J_STRING, 1, 40, FL_REQUIRED, NULL, MK_ID, "证件号码",     \
      "id_number_enc")                                                                             \
    X(PF_NATIVE_PLACE, native_place, FD_TEXT, J_STRING, 0, 50, JF_NULLABLE, NULL, MK_NONE, "籍贯", \
      "native_place")                                                                              \
    X(PF_GENDER, gender, FD_ENUM, J_STRING, 0, 0, 0, &person_gender_vocab, MK_NONE, "性别",        \
      "gender")                                                                                    \
    X(PF_BIRTH_DATE, birth_date, FD_DATE, J_STRING, 0, 10, JF_NULLABLE, NULL, MK_BIRTH,            \
      "出生日期", "birth_date")                                                                    \
    X(PF_CATEGORY, category, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME, &person_category_vocab, MK_NONE, \
      "人员类型", "category")                                                                      \
    X(PF_INBOUND, inbound, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "是否入境人员", "inbound")     \
    X(PF_REGION_CODE, region_code, FD_REGION, J_STRING, 0, 18, FL_REQUIRED, NULL, MK_NONE,         \
      "所属区划", "region_code")                                                                   \
    X(PF_ADDRESS, address, FD_TEXT, J_STRING, 0, PERSON_ADDRESS_MAX, JF_NULLABLE, NULL,            \
      MK_ADDRESS, "现住址", "address_enc")                                                         \
    X(PF_HOUSEHOLD, household, FD_TEXT, J_STRING, 0, 64, JF_NULLABLE, NULL, MK_NONE, "户号",       \
      "household")                                                                                 \
    X(PF_HOUSEHOLD_RELATION, household_relation, FD_TEXT, J_STRING, 0, 20, JF_NULLABLE, NULL,      \
      MK_NONE, "与户主关系", "household_relation")                                                 \
    X(PF_PHONE, phone, FD_TEXT, J_STRING, 0, 0, JF_NULLABLE, NULL, MK_PHONE, "手机号码",           \
      "phone_enc")                                                                                 \
    X(PF_EMERGENCY_CONTACT_NAME, emergency_contact_name, FD_TEXT, J_STRING, 0, PERSON_NAME_MAX,    \
      JF_NULLABLE, NULL, MK_NAME, "紧急联系人", "emergency_name_enc")                              \
    X(PF_EMERGENCY_CONTACT_PHONE, emergency_contact_phone, FD_TEXT, J_STRING, 0, 0, JF_NULLABLE,   \
      NULL, MK_PHONE, "紧急联系人电话", "emergency_phone_enc")                                     \
    X(PF_EMPLOYED, employed, FD_BOOL, J_BOOL, 0, 0, 0, NULL, MK_NONE, "是否在职", "employed")      \
    X(PF_EMPLOYER, employer, FD_TEXT, J_STRING, 0, 100, JF_NULLABLE, NULL, MK_NONE, "工作单位",    \
      "employer")                                                                                  \
    X(PF_WORK_ADDRESS, work_address, FD_TEXT, J_STRING, 0, PERSON_ADDRESS_MAX, JF_NULLABLE, NULL,  \
      MK_ADDRESS, "工作地址", "work_address_enc")                                                  \
    X(PF_CURRENT_LOCATION, current_location, FD_TEXT, J_STRING, 0, 200, JF_NULLABLE, NULL,         \
      MK_NONE, "目前所在地", "current_location")                                                   \
    X(PF_VULNERABLE, vulnerable, FD_BITS, J_ARRAY, 0, 0, JF_NULLABLE, &vulnerable_vocab, MK_NONE,  \
      "重点人群", "vulnerable")                                                                    \
    X(PF_STATUS, status, FD_ENUM, J_STRING, 0, 0, FL_BY_NAME, &person_status_vocab, MK_NONE,       \
      "状态", "status")                                                                            \
    X(PF_SOURCE, source, FD_TEXT, J_STRING, 0, 0, 0, &person_source_vocab, MK_NONE, "信息来源",    \
      "source")                                                                                    \
    X(PF_CONSENT_AT, consent_at, FD_TIME, J_INT, 0, PERSON_CONSENT_MAX, JF_NULLABLE, NULL,         \
      MK_NONE, "同意采集时间", "consent_at")

/* The row of a field (db/fields.h): kinds FD_*, flags FL_REQUIRED,
 * FL_BY_NAME and JF_NULLABLE, masks MK_*; sealed = FIELD_SEALED. */
const struct field *person_field_desc(enum person_field f);
#define PERSON_FIELD_COUNT PF__COUNT

/* The consent time may not be later than 2100-01-01. */
#define PERSON_CONSENT_MAX 4102444800000LL

/* A request body's jfield row of a field (JF_REQUIRED when the field is
 * required on create; PATCH bodies are checked as partial). */
#define PERSON_JFIELD(f, m, kind, jt, min, max, flags, vocab, mask, label, column)                 \
    {#m,   jt,   ((flags)&FL_REQUIRED ? JF_REQUIRED : 0) | ((flags)&JF_NULLABLE), min, max, label, \
     NULL, vocab},

/* The longest a text field may be, in characters (0: checked otherwise). */
size_t person_field_max(enum person_field f);

/* Copy the fields named in `set` from src into dst. */
void person_fields_copy(struct person *dst, const struct person *src, person_fields set);

/*
 * A field's value as the API writes it, unmasked: strings, booleans,
 * integers, "1990-01-01" for the birth date, the written region code, an
 * array of names for the vulnerable flags, null when not recorded. A new
 * reference.
 */
json_t *person_field_json(const struct person *p, enum person_field f);

/*
 * A new person's history entry: the JSON text of {field: [null, value]}
 * for every field whose value differs from an empty record's, keys in name
 * order, compact (what json_dumps of that object with JSON_SORT_KEYS |
 * JSON_COMPACT writes), written straight into the arena; its length in
 * *n_r. NULL when out of memory.
 */
char *person_created_changes(arena *a, const struct person *p, size_t *n_r);

/*
 * The masked form of a field's JSON value `v` (borrowed): personal fields
 * by security/mask.h, the birth date to "****-**-**" (the reply shows the
 * age, and age plus year can give away the exact date that a masked
 * resident id hides); other fields and null unchanged. A new reference.
 */
json_t *person_value_mask(arena *a, enum person_field f, json_t *v);

/* person_json (the whole record as the API replies) is in person.h. */

/* The bodies of a create and of a change (PATCH, with the version read),
 * generated from the field table: person_body_check's checks and the
 * routes' documentation. */
extern const struct jfield person_create_fields[];
extern const struct jfield person_patch_fields[];

/*
 * The members of a request body `b` into *p; *set_r names the fields
 * present. Members of the wrong JSON type are skipped (the jfield check
 * reports them, in the same pass when the caller collects errors,
 * base/error.h). E_INPUT for values the jfield table cannot express (a
 * malformed birth date or region code, an unknown vulnerable flag), every
 * such field at once in collect mode.
 */
err person_from_json(json_t *b, struct person *p, person_fields *set_r) MUST_USE;

/* "<prefix>fields=address,employer" of a field set, in field order, for an
 * audit entry's detail (names only, never values), in arena a. */
const char *person_fields_detail(arena *a, const char *prefix, person_fields set);

/* "1990-01-01" from 19900101 into out (11 bytes); "" for 0. */
void person_birth_format(int32_t birth, char out[11]);
/* 19900101 from "1990-01-01"; 0 when malformed. */
int32_t person_birth_parse(const char *s);

/*
 * Count person p (its status, category, vulnerable groups, region_code and
 * created_at) in the registry's counters (measures.c) by delta, inside the
 * caller's write transaction: +1 for a person who appears (created, or
 * moved in), -1 for one who disappears. `what` says which counters: the
 * status level, the registration flow, the category and group levels (a
 * create, a delete or a move counts all three). Errors: stats_add's.
 */
enum {
    PERSON_COUNT_STATUS = 1u << 0,
    PERSON_COUNT_REGISTERED = 1u << 1,
    PERSON_COUNT_GROUPS = 1u << 2,
    PERSON_COUNT_ALL = 7u,
};
err person_count(db *d, const struct person *p, unsigned what, int64_t delta) MUST_USE;

#endif

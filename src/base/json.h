/*
 * Declarative checking of JSON request bodies (validate at the edge).
 *
 * A route names a NULL-terminated array of jfield; the router checks the body
 * against it before the handler runs: the body must be an object, every
 * member must be a declared field (unknown fields are refused, so a typo
 * never silently does nothing), of the declared type and bounds, and the
 * required fields must be present. The same descriptors produce the request
 * schemas of the OpenAPI document.
 */
#ifndef FK_BASE_JSON_H
#define FK_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/vocab.h"

enum jtype { J_STRING = 1, J_INT, J_NUMBER, J_BOOL, J_OBJECT, J_ARRAY };

enum {
    JF_REQUIRED = 1, /* must be present (for POST; PATCH bodies make all optional) */
    JF_NULLABLE = 2, /* null is accepted (clears the value) */
};

struct jfield {
    const char *name;
    enum jtype type;
    unsigned flags;
    int64_t min, max;         /* strings: length in characters; ints: value; 0,0 = no bound */
    const char *label;        /* Chinese name for messages: "证件号码" */
    const char *const *oneof; /* strings: the allowed values, NULL-terminated */
    /* strings: the allowed values are the names of this vocabulary (the
     * capability's one table of them, base/vocab.h) */
    const struct vocab *vocab;
};

/*
 * Check `obj` against `fields`. `partial` makes every field optional (PATCH).
 * Errors are E_INPUT with slugs "invalid_json" (not an object),
 * "unknown_field", "invalid_type", "required", "too_long", "out_of_range",
 * "invalid_value", each naming the field.
 */
err json_check(json_t *obj, const struct jfield *fields, bool partial) MUST_USE;

/* Parse a request body; E_INPUT "invalid_json" with line and column. */
err json_parse_body(const char *data, size_t n, json_t **r) MUST_USE;

/* Members by type, or the default when absent or null. */
const char *json_str(json_t *obj, const char *key); /* NULL if absent */
int64_t json_int(json_t *obj, const char *key, int64_t dflt);
double json_num(json_t *obj, const char *key, double dflt);
bool json_bool(json_t *obj, const char *key, bool dflt);
bool json_has(json_t *obj, const char *key);

/* The length of a UTF-8 string in characters. */
size_t utf8_len(const char *s);

/* Is the string valid UTF-8 without control characters other than \t\n\r? */
bool utf8_valid_text(const char *s);

/* Add an int64 as a JSON string (ids exceed JavaScript's 2^53). */
void json_set_id(json_t *obj, const char *key, int64_t id);
/* The same, or null when id is 0: an optional reference (a report's task,
 * a user's person) says "none" as null, never as the id "0". */
void json_set_id_or_null(json_t *obj, const char *key, int64_t id);
/* A record's region as every reply shows it: "region_code", the code as
 * regcode_format writes it, and "region_name" unless name is NULL. */
void json_set_region(json_t *obj, int64_t code, const char *name);
/* Parse an id given as a string of digits; 0 if malformed. */
int64_t id_parse(const char *s);

/*
 * The batch interfaces' refused record (nat transport and ingest, the
 * commission's): {index, record_id, code, field, message} appended to
 * errors for error e, from the last error's detail when it is e's (else,
 * or without a slug or message, e's own); `field` overrides the detail's
 * when not NULL.
 */
void json_batch_error(json_t *errors, err e, size_t index, const char *record_id,
                      const char *field);
/* errors (consumed) as a new array in the records' order ("index"). */
json_t *json_batch_errors_sorted(json_t *errors);

#endif

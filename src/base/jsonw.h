/*
 * A JSON writer into one growing buffer: the reply of a hot path written
 * as it is computed, without building a jansson tree, dumping it to a
 * string and copying that string again (docs/benchmarks.md, issue 15).
 *
 * The text is exactly what json_dumps(tree, JSON_COMPACT) gives for the
 * tree with the same members in the same order (tests/unit/test_jsonw.c,
 * tests/fuzz/fuzz_jsonw.c compare the two):
 *   - strings must be valid UTF-8 (jansson's rules: no overlong forms, no
 *     surrogates, nothing above U+10FFFF); '"', '\\' and the control
 *     characters below 0x20 are escaped (\b \f \n \r \t, else \u00XX in
 *     capitals); '/', DEL, U+2028 and U+2029 are written as they are, as
 *     jansson writes them without JSON_ESCAPE_SLASH or JSON_ENSURE_ASCII
 *     (a reply is never embedded in a script, so JavaScript's line
 *     separators need no escape);
 *   - integers as "%lld"; reals as jansson's "%.17g" with ".0" added when
 *     neither '.' nor 'e' appears and the exponent without '+' or leading
 *     zeros; a real that is not finite is a failure (json_real refuses it);
 *   - no white space.
 *
 * Errors are sticky: a string that is not valid UTF-8 (jansson's dump fails
 * on it too), a non-finite real, a NULL string, a call out of place (a
 * value where a key is due, a key in an array, a second top-level value,
 * more than JSONW_DEPTH_MAX levels) or text beyond the writer's bound
 * marks the writer failed, later calls do nothing and jsonw_finish gives
 * NULL: the caller answers 500 as it does when json_dumps fails. Duplicate
 * keys are the caller's to avoid (a tree would keep the last one).
 *
 * The writer owns its buffer until jsonw_finish hands it over (malloc'd)
 * or jsonw_free drops it. Not thread-safe; one writer per reply.
 */
#ifndef FK_BASE_JSONW_H
#define FK_BASE_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_DEPTH_MAX 64

struct jsonw {
    char *p;
    size_t n, cap, max;
    uint64_t objects; /* bit d: the container at depth d is an object */
    unsigned depth;
    bool comma;  /* a member was written at this level: the next needs ',' */
    bool keyed;  /* in an object: a key was written, its value is due */
    bool done;   /* the top-level value is complete */
    bool failed; /* sticky */
};

/* Start an empty writer whose text may grow to `max` bytes (0: 64 MiB). */
void jsonw_init(struct jsonw *w, size_t max);

/* Containers: begin, then members (a key and a value each in an object),
 * then end. */
void jsonw_object(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);

/* An object's key (NUL-terminated UTF-8, escaped as a string). */
void jsonw_key(struct jsonw *w, const char *k);

/* Values. jsonw_string(NULL) fails; jsonw_string_or_null writes null. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_stringn(struct jsonw *w, const char *s, size_t n);
void jsonw_string_or_null(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_real(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* An id as a string of digits, as json_set_id writes it (ids exceed
 * JavaScript's 2^53); jsonw_id_or_null writes null for 0. */
void jsonw_id(struct jsonw *w, int64_t id);
void jsonw_id_or_null(struct jsonw *w, int64_t id);

/* A jansson value (borrowed) written as json_dumps would write it: the
 * parts of a reply still built as trees by shared code. NULL fails. */
void jsonw_json(struct jsonw *w, const json_t *v);

/* Has the writer failed (the caller may stop early)? */
bool jsonw_failed(const struct jsonw *w);

/*
 * The text (malloc'd, NUL-terminated, the caller frees it) and its length
 * in *len_r; NULL when the writer failed or the value is not complete. The
 * writer is empty afterwards either way (no jsonw_free needed).
 */
char *jsonw_finish(struct jsonw *w, size_t *len_r);

/* The writer's value as a jansson tree (a new reference), for a caller
 * that needs the tree of a shape written with the writer; NULL as
 * jsonw_finish. The writer is empty afterwards. */
json_t *jsonw_parse(struct jsonw *w);

/* Drop the writer's text (a reply abandoned half-way). */
void jsonw_free(struct jsonw *w);

#endif

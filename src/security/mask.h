/*
 * Masking of personal data in replies (脱敏), by the shapes people in the
 * field recognise:
 *   name       张*  /  张*丰  /  欧**娜   (1 char: "*"; 2: first + "*";
 *                                        3+: first, a star each, last)
 *   id number  11***************4  (14+ characters: first 2, last 1, so
 *              that a resident id keeps >= 100,000 candidates even with
 *              the age and gender shown beside it, docs/security.md;
 *              E******78  6-13: first 1, last 2;  1-5: all stars)
 *   phone      138****5678  (11 digits: first 3, last 4, 10^4 candidates; any other shape:
 *              "****" + last 4, or just "****" when shorter than 7)
 *   address    the first 6 characters, then ****  (6 or fewer: the first
 *              half, rounded down, then ****)
 * Stars stand one per hidden character except in the fixed "****" forms.
 * All functions count UTF-8 characters, never bytes, and allocate from `a`.
 * A byte that is not part of well-formed UTF-8 counts as one character and,
 * when kept, comes out as U+FFFD. NULL gives NULL; "" gives "".
 */
#ifndef FK_SECURITY_MASK_H
#define FK_SECURITY_MASK_H

#include <jansson.h>

#include "base/arena.h"
#include "base/jsonw.h"
#include "db/fields.h"

char *mask_id_number(arena *a, const char *s);
char *mask_phone(arena *a, const char *s);
char *mask_name(arena *a, const char *s);
char *mask_address(arena *a, const char *s);

/*
 * The masked form of a field's JSON value `v` (borrowed) by its rule
 * (db/fields.h): the shapes above, a date to "****-**-**" (a reply that
 * shows the age would give the exact day away with the year); MK_NONE,
 * null and non-strings unchanged. A new reference.
 */
json_t *mask_field_json(arena *a, enum field_mask m, json_t *v);

/* Every field of table t (n rows) of record `rec` into object o, masked by
 * its rule unless `reveal`: a record's reply, generated from its table. */
void mask_fields_json(arena *a, const struct field *t, size_t n, const void *rec, bool reveal,
                      json_t *o);
/* The same members written into w's open object (a hot reply written
 * without a tree, base/jsonw.h): the same values, in the same order. */
void mask_fields_jsonw(struct jsonw *w, arena *a, const struct field *t, size_t n, const void *rec,
                       bool reveal);

#endif

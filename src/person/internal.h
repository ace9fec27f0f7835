/*
 * Private to person/: the JSON form of a person's fields, shared by the
 * replies (api.c) and the history entries (person.c), so a field is written
 * the same way in both and masked by one rule.
 */
#ifndef FK_PERSON_INTERNAL_H
#define FK_PERSON_INTERNAL_H

#include <jansson.h>

#include "person/person.h"

/*
 * A field's value as the API writes it, unmasked: strings, booleans,
 * integers, "1990-01-01" for the birth date, the written region code, an
 * array of names for the vulnerable flags, null when not recorded. A new
 * reference.
 */
json_t *person_field_json(const struct person *p, enum person_field f);

/*
 * The masked form of a field's JSON value `v` (borrowed): personal fields
 * by security/mask.h, the birth date to "****-**-**" (the reply shows the
 * age, and age plus year can give away the exact date that a masked
 * resident id hides); other fields and null unchanged. A new reference.
 */
json_t *person_value_mask(arena *a, enum person_field f, json_t *v);

/* The whole record as the API replies, masked unless `reveal`, with the
 * computed age. A new reference. */
json_t *person_json(arena *a, const struct person *p, bool reveal);

/*
 * The members of a request body `b`, already checked against a jfield
 * table by the router, into *p; *set_r names the fields present. E_INPUT
 * for values the table cannot express (a malformed birth date or region
 * code, an unknown vulnerable flag). Defined in api.c; self_api.c uses it.
 */
err person_from_json(json_t *b, struct person *p, person_fields *set_r) MUST_USE;

/* "1990-01-01" from 19900101 into out (11 bytes); "" for 0. */
void person_birth_format(int32_t birth, char out[11]);
/* 19900101 from "1990-01-01"; 0 when malformed. */
int32_t person_birth_parse(const char *s);

#endif

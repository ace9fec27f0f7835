/*
 * Field tables: one row per client-settable field of a record, from which
 * everything field-wise is generated instead of being written out per
 * field (docs/architecture.md, "Field tables"): the jfield rows of the
 * request bodies, the conversion between the record's struct and JSON both
 * ways, the copy of a patch's fields, and the INSERT / UPDATE / SELECT
 * column lists, binds and row reads.
 *
 * A capability keeps its table as an X-macro (PERSON_FIELDS, PLACE_FIELDS,
 * …) expanded into an array of struct field with offsetof into its struct;
 * a field's number is its row, and a set of fields is a bit mask of rows
 * (1u << row). The table names columns, never values: SQL assembled from it
 * holds fixed text only.
 *
 * Sealed fields (text with a mask rule, stored under SM4) are bound and
 * read through the functions the caller passes (security/crypto.h's
 * seal_bind and unseal_col): this layer does not know the keys. Masking
 * is security/mask.h's mask_field_json.
 */
#ifndef FK_DB_FIELDS_H
#define FK_DB_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"
#include "base/vocab.h"
#include "db/db.h"

/*
 * How a member is held, and so how it is written as JSON and bound:
 *   FD_TEXT    const char *, NULL when not recorded (JSON null, column ''
 *              or the vocabulary's first word; FL_EMPTY: "" both ways)
 *   FD_ENUM    an int-sized enum, JSON its vocabulary name; the column is
 *              the number, or the name with FL_BY_NAME
 *   FD_BOOL    bool
 *   FD_TIME    int64_t epoch ms, 0 (JSON null) when not recorded
 *   FD_REGION  int64_t padded region code, JSON the written code
 *   FD_DATE    int32_t yyyymmdd, JSON "1990-01-01", 0 when unknown
 *   FD_BITS    unsigned, bit i = word i of the vocabulary; JSON an array
 *   FD_INT     int64_t
 *   FD_REAL    double; JF_NULLABLE: NAN is JSON null and SQL NULL
 *   FD_ID      int64_t id of another record, JSON its string form, 0 is
 *              null both ways
 */
enum field_kind {
    FD_TEXT,
    FD_ENUM,
    FD_BOOL,
    FD_TIME,
    FD_REGION,
    FD_DATE,
    FD_BITS,
    FD_INT,
    FD_REAL,
    FD_ID
};

/* How a sealed field leaves the server (security/mask.h applies it). */
enum field_mask { MK_NONE, MK_NAME, MK_ID, MK_PHONE, MK_ADDRESS, MK_BIRTH };

/* Flags beside JF_NULLABLE (base/json.h). */
#define FL_REQUIRED 0x100u /* a create needs it */
#define FL_BY_NAME  0x200u /* an FD_ENUM stored as its vocabulary name */
#define FL_TRIM     0x400u /* FD_TEXT: leading and trailing white space dropped from bodies */
#define FL_EMPTY    0x800u /* FD_TEXT: not recorded is "" (JSON and column), not null */

struct field {
    const char *name;  /* the JSON name, also the struct member's name */
    const char *label; /* Chinese, for messages and documents */
    enum field_kind kind;
    enum jtype jtype; /* the JSON type a body's member must have */
    int64_t min, max; /* as struct jfield: characters or the value range */
    unsigned flags;   /* FL_*, JF_NULLABLE */
    const struct vocab *vocab;
    enum field_mask mask;
    const char *column; /* sealed columns end in "_enc" */
    const char *bad;    /* slug of a malformed value; NULL: the kind's */
    size_t off, size;   /* the member */
};

/* Is the field stored sealed: text with a mask rule. Its seal label is
 * "<table>.<column without _enc>" (field_seal_label). */
#define FIELD_SEALED(d) ((d)->kind == FD_TEXT && (d)->mask != MK_NONE)

/* The seal label of a sealed field of `table` into out. */
void field_seal_label(const char *table, const struct field *d, char out[64]);

/* How sealed columns are written and read: security/crypto.h's seal_bind
 * and unseal_col. */
typedef err (*field_seal_fn)(arena *a, db_stmt *s, int i, const char *label, const char *text);
typedef err (*field_unseal_fn)(arena *a, db_stmt *s, int i, const char *label, const char **text_r);

/* A body's jfield row of a field (JF_REQUIRED when FL_REQUIRED). */
struct jfield field_jfield(const struct field *d);

/*
 * The two expansions of a capability's X-macro table whose rows are
 *   X(member, kind, JSON type, min, max, flags, vocabulary, mask, 中文名, column, bad slug)
 * FIELD_ROW_OF(struct …, row…): its struct field over that struct;
 * FIELD_JFIELD(row…): its jfield row, for the route's static array.
 */
#define FIELD_ROW_OF(strct, m, k, jt, min_, max_, fl, voc, mk, lab, col, bad_)                     \
    {#m,                                                                                           \
     lab,                                                                                          \
     k,                                                                                            \
     jt,                                                                                           \
     min_,                                                                                         \
     max_,                                                                                         \
     fl,                                                                                           \
     voc,                                                                                          \
     mk,                                                                                           \
     col,                                                                                          \
     bad_,                                                                                         \
     offsetof(strct, m),                                                                           \
     sizeof(((strct *)0)->m)},
#define FIELD_JFIELD(m, kind, jt, min, max, flags, vocab, mask, label, column, bad)                \
    {#m,   jt,   ((flags)&FL_REQUIRED ? JF_REQUIRED : 0) | ((flags)&JF_NULLABLE), min, max, label, \
     NULL, vocab},

/* The field's value in record `rec`, as the API writes it, unmasked. A new
 * reference. */
json_t *field_json(const struct field *d, const void *rec);

/* Every field of the table (n rows) of `rec` into object o, unmasked
 * (records without personal fields; the others use mask_fields_json). */
void fields_json(const struct field *t, size_t n, const void *rec, json_t *o);

/*
 * The members of body `b` named in the table into `rec`; *set_r gets the
 * rows present. Members of the wrong JSON type are skipped (the jfield
 * check reports them). E_INPUT for values jfield cannot express (an
 * unknown vocabulary word, a malformed region code, date or id), every
 * such field at once in collect mode. Trimmed text comes from `a`.
 */
err fields_from_json(const struct field *t, size_t n, json_t *b, arena *a, void *rec,
                     unsigned *set_r) MUST_USE;

/* Copy the rows in `set` from src (described by ts) into dst (described
 * by td, a table of the same rows over another struct, or ts itself). */
void fields_copy(const struct field *td, void *dst, const struct field *ts, const void *src,
                 size_t n, unsigned set);

/*
 * SQL fragments of the table's columns, fixed text: "a, b, c" (each with
 * `prefix`, "p." or ""), "a = ?, b = ?" and "?, ?, ?". Into buf; the
 * fragments are fixed, so one that does not fit is a bug (assert).
 */
void fields_sql_cols(const struct field *t, size_t n, const char *prefix, char *buf, size_t size);
void fields_sql_assign(const struct field *t, size_t n, char *buf, size_t size);
void fields_sql_params(size_t n, char *buf, size_t size);
/* Append s to the string in buf (asserting that it fits). */
void fields_sql_put(char *buf, size_t size, const char *s);

/*
 * The INSERT and UPDATE of a versioned, soft-deleted record kept in a
 * region (places, enterprises, venues):
 *   INSERT INTO table (id, <fields><extra_cols>, version, created_at,
 *     updated_at, deleted_at) VALUES (?, <?...><extra_vals>, 1, ?, ?, 0)
 *   UPDATE table SET <field = ?...>, version = version + 1, updated_at = ?
 *     WHERE id = ? AND version = ? AND deleted_at = 0
 *     AND region_code >= ? AND region_code < ?
 * extra_cols/extra_vals are fixed fragments starting with ", " (or "").
 */
void fields_sql_versioned(const char *table, const struct field *t, size_t n,
                          const char *extra_cols, const char *extra_vals, char *insert,
                          size_t insert_size, char *update, size_t update_size);

/*
 * Run `update` (the UPDATE of fields_sql_versioned) for record rec of the
 * table: its fields from parameter 1 (sealed ones through seal, under
 * `table`'s labels; NULL for a table without sealed fields), then
 * updated_at = now, the id, the version read and the range [lo, hi) the row
 * must lie in. E_CONFLICT "version_conflict" when no row changed (changed or
 * deleted since it was read, or outside the range); db_run's errors as they
 * come (a unique index refusing the row: E_CONFLICT with another slug).
 */
err fields_update_versioned(db *d, arena *a, const char *update, const char *table,
                            const struct field *t, size_t n, const void *rec, field_seal_fn seal,
                            int64_t now, int64_t id, int64_t version, int64_t lo,
                            int64_t hi) MUST_USE;

/* Bind a field that is not sealed as parameter i. */
void field_bind(db_stmt *s, int i, const struct field *d, const void *rec);
/* Read column c into a field that is not sealed (text from `a`). */
void field_read(db_stmt *s, int c, arena *a, const struct field *d, void *rec);

/* Bind every row of the table from parameter i, sealed fields through
 * `seal` under `table`'s labels (NULL for a table without sealed fields);
 * *next_r gets the next parameter. */
err fields_bind(db_stmt *s, int i, arena *a, const char *table, const struct field *t, size_t n,
                const void *rec, field_seal_fn seal, int *next_r) MUST_USE;
/* Read every row of the table from column c on (as fields_sql_cols). */
err fields_read(db_stmt *s, int c, arena *a, const char *table, const struct field *t, size_t n,
                void *rec, field_unseal_fn unseal) MUST_USE;

/* `s` without leading and trailing ASCII white space, from `a` (FL_TRIM;
 * also for query parameters); NULL stays NULL. */
const char *field_trim(arena *a, const char *s);

/* "1990-01-01" from 19900101 into out (11 bytes); "" for 0. */
void field_date_format(int32_t date, char out[11]);
/* 19900101 from "1990-01-01"; 0 when malformed. */
int32_t field_date_parse(const char *s);

#endif

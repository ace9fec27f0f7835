/*
 * Custom reports (自定义报表, issue 12, docs/reports.md).
 *
 * A report definition names a dataset and chooses from that dataset's
 * whitelist, a table of struct field rows (db/fields.h) whose `column` is
 * the fixed SQL fragment of the column:
 *   fields    the columns of a listing, in order, each with an optional
 *             title and format (decimals of a number, date or date and time)
 *   filters   field, op (eq ne lt le gt ge, within for a region), value
 *   group_by  a region field at a level (district street community grid),
 *             a time field by day, week or month (China time), or a category field
 *   measures  count, or sum / avg of a numeric field
 * With measures or group_by the run is one row per group (count when no
 * measure is given); without, a listing of the fields.
 *
 * Nothing from a definition reaches SQL text: report_check resolves every
 * name to a row of the whitelist (E_INPUT on the member's path,
 * "fields[2].name", otherwise), and a run assembles only the rows' column
 * fragments, fixed operator and level fragments and bindings
 * (db/query.h). Every run reads the caller's scope only: the dataset's
 * scope column is bound to the scope's range in every statement.
 *
 * Datasets hold no sealed column: a report never lists names, numbers or
 * addresses of people, so it has nothing to mask; runs are audited all the
 * same (a listing of persons is person-level data).
 */
#ifndef FK_REPORT_REPORT_H
#define FK_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "db/fields.h"
#include "security/auth.h"

#define REPORT_NAME_MAX    64
#define REPORT_COLUMNS_MAX 16 /* fields, or group_by + measures */
#define REPORT_FILTERS_MAX 8

/* A dataset: its table and whitelist. */
struct report_dataset {
    const char *name, *label;
    const char *from;  /* " FROM persons x" (fixed) */
    const char *where; /* " WHERE x.region_code >= ? AND x.region_code < ? AND ..." */
    const struct field *fields;
    size_t n;
};

extern const struct report_dataset report_datasets[];
extern const size_t report_datasets_n;
const struct report_dataset *report_dataset_find(const char *name);

enum report_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_WITHIN };
enum report_by {
    BY_VALUE,
    BY_DISTRICT,
    BY_STREET,
    BY_COMMUNITY,
    BY_GRID,
    BY_DAY,
    BY_WEEK,
    BY_MONTH
};
enum report_fn { FN_COUNT, FN_SUM, FN_AVG };

/* A column of the result: a field of a listing, a group or a measure. */
struct report_col {
    const struct field *f; /* NULL for count */
    const char *title;     /* the user's, or the field's label */
    enum report_by by;     /* group_by only */
    enum report_fn fn;     /* measures only */
    bool measure;
    int decimals;   /* -1: as the value is */
    bool with_time; /* a time field shown with its time of day */
};

struct report_filter {
    const struct field *f;
    enum report_op op;
    int64_t i, hi; /* integer values (times, regions: [i, hi)), enum numbers */
    double d;
    const char *text;
};

struct report_def {
    int64_t id;
    const char *name;
    const struct report_dataset *ds;
    struct report_col cols[REPORT_COLUMNS_MAX];
    size_t ncols;
    bool grouped; /* cols are group_by then measures */
    size_t ngroups;
    struct report_filter filters[REPORT_FILTERS_MAX];
    size_t nfilters;
    json_t *json; /* the definition as accepted (borrowed from the caller or the arena) */
    int64_t version, created_by, created_at, updated_at;
    /* read from storage, it no longer checks: name, json (as stored) and
     * ds (NULL when the dataset is gone) only; report_run refuses it
     * (E_CONFLICT "report_broken") */
    bool broken;
};

/*
 * Check definition `body` (name, dataset, fields, filters, group_by,
 * measures) against the whitelist into *d (strings from the arena). E_INPUT
 * with the member's path as field: "unknown_dataset", "unknown_field",
 * "invalid_operator", "invalid_value", "not_groupable", "not_numeric",
 * "too_many_columns".
 */
err report_check(json_t *body, arena *a, struct report_def *d) MUST_USE;

/* CRUD. A definition is stored as the JSON report_check accepted. */
err report_create(db *d, arena *a, json_t *body, int64_t user_id, struct report_def *r) MUST_USE;
err report_find(db *d, arena *a, int64_t id, struct report_def *r) MUST_USE;
/* Replace the members of `patch` (any of the definition's) and check the
 * whole again. */
err report_update(db *d, arena *a, int64_t id, json_t *patch, int64_t user_id,
                  struct report_def *r) MUST_USE;
err report_delete(db *d, int64_t id) MUST_USE;
err report_list(db *d, arena *a, int64_t page, int64_t size, struct report_def **items_r,
                size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * A run: for each result row, row() gets the cells as JSON values (a new
 * array, strings for names and dates, numbers), rendered for people: region
 * names, vocabulary labels, China dates. page_size <= 0 runs every row
 * (an export), refused beyond `max` (E_TOO_LARGE "export_too_large"; 0: no
 * cap). *total_r gets the number of rows before the first row() call.
 */
typedef err (*report_row_fn)(void *ctx, json_t *cells);
err report_run(db *d, arena *a, const struct scope *sc, const struct report_def *r, int64_t page,
               int64_t page_size, int64_t max, report_row_fn row, void *ctx,
               int64_t *total_r) MUST_USE;

#endif

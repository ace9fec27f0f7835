/*
 * What task's HTTP handlers (api.c) need beyond the contract of task.h:
 * tasks as replies show them, the board and "my tasks", and the state
 * changes people make. Only src/task/ includes this.
 */
#ifndef FK_TASK_INTERNAL_H
#define FK_TASK_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task/task.h"

#define TASK_RESULT_TEXT_MAX 500 /* characters of a general task's result text */
#define TASK_EXPORT_MAX      10000
#define TASK_DEADLINE_MAX_MS (366LL * 86400 * 1000) /* a deadline at most a year ahead */

/* The label of kind `name` (the name itself when no capability registered
 * it: a task of a kind whose owner is not linked still lists). */
const char *task_kind_label(const char *name);

/* A task as lists and replies show it: the record, the names it refers to
 * and its sealed fields opened (in the arena). */
struct task_row {
    struct task t;
    const char *region_name, *assignee_name, *role_name, *created_by_name;
    const char *address, *phone; /* NULL: none */
    const char *person_name;     /* the person concerned (full: mask it), NULL none */
    double lat, lng;             /* both 0: none */
    const char *result;          /* the completion's JSON object as text, "" none */
    int64_t version;
};

/* Whose view a task is looked up in. */
enum task_view {
    TASK_VIEW_SCOPE, /* its region inside who->scope (task.read, task.dispatch) */
    /* assigned to who, or to a role who holds, in a region of who->scope,
     * and not yet taken by another holder (task.work) */
    TASK_VIEW_MINE,
    /* MINE, or a task of such a role another holder already took: accept
     * answers "already_taken" rather than 404 */
    TASK_VIEW_CLAIM,
};

/* Task id in view v of who: E_NOT_FOUND "not_found" otherwise. */
err task_load(db *d, arena *a, const struct principal *who, enum task_view v, int64_t id,
              struct task_row *row_r) MUST_USE;

struct task_filter {
    enum task_state state;    /* 0: any */
    const char *kind;         /* NULL: any */
    int64_t assignee_user_id; /* 0: any */
    int overdue;              /* -1 any, 1 overdue (marked, or open past its deadline), 0 not */
    const char *q;            /* title contains */
    const char *sort;         /* deadline, priority, created_at, state; "-" for descending */
    int64_t page, page_size;  /* page_size <= 0: every match (export), at most TASK_EXPORT_MAX */
    int64_t count_cap;        /* > 0: the total stops there (query_page's count_cap) */
};

/* The board: tasks inside sc matching f; *total_r counts them, or stops at
 * f->count_cap (*capped_r true, when not NULL). E_INPUT "invalid_parameter"
 * on "sort" for an unknown key. */
err task_board(db *d, arena *a, const struct scope *sc, const struct task_filter *f, int64_t now,
               struct task_row **items_r, size_t *n_r, int64_t *total_r, bool *capped_r) MUST_USE;

/* My tasks (TASK_VIEW_MINE): the open ones (pending, accepted, overdue)
 * overdue first, then by priority, then by deadline; or, with `done`, the
 * ones done, the latest first. */
err task_mine(db *d, arena *a, const struct principal *who, bool done, int64_t now, int64_t page,
              int64_t page_size, struct task_row **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* The timeline of task id, oldest first: [{at, action, action_label,
 * user_name, note}]. */
err task_timeline(db *d, int64_t id, json_t **arr_r) MUST_USE;

/*
 * The state changes (each in its own transaction, a savepoint of a held
 * one, with an event and a live push at commit). E_NOT_FOUND outside the
 * view; E_CONFLICT "invalid_transition" when the state forbids it,
 * "already_taken" when another holder of the role accepted first,
 * "conflict" when the task changed meanwhile; E_INPUT for a bad argument.
 */
err task_accept(db *d, arena *a, const struct principal *who, int64_t id) MUST_USE;
err task_complete(db *d, arena *a, const struct principal *who, int64_t id,
                  json_t *result) MUST_USE;
err task_return(db *d, arena *a, const struct principal *who, int64_t id,
                const char *reason) MUST_USE;
/* A new assignee (user_id, or role) and, when deadline > 0, a new deadline;
 * the task is pending again. */
err task_reassign(db *d, arena *a, const struct principal *who, int64_t id, int64_t user_id,
                  const char *role, int64_t deadline) MUST_USE;
err task_cancel(db *d, arena *a, const struct principal *who, int64_t id,
                const char *reason) MUST_USE;

#endif

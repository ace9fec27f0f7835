/*
 * Tasks (任务, issue 9; docs/tasks.md): a piece of work the command centre
 * (网格化服务管理中心) or a rule gives to a person or to every holder of a
 * role in a region — a home verification, a doctor's check, a release, a
 * follow-up, later retests, environment clues, supplies.
 *
 * A task belongs to a region (region_code, padded) and is scoped like every
 * regional record. Its assignee is one user, or a role in a region: then
 * every user holding that role whose scope holds the task's region sees it
 * under 我的任务 and the first to accept takes it.
 *
 *   pending --accept--> accepted --complete--> done
 *      |                    |----return-----> returned   (back to the dispatcher)
 *      +--(deadline passes, not done)--> overdue  (still accept/complete-able;
 *                                                 an alert is raised once)
 *   pending/accepted/overdue/returned --reassign--> pending (new assignee)
 *   pending/accepted/overdue/returned --cancel--> cancelled
 *
 * What "complete" means belongs to the capability that made the task: it
 * registers a struct task_kind whose complete() checks the result body and
 * applies it inside the same transaction (case records a verification,
 * a check, a release), so task never includes the capabilities above it.
 *
 * A task may carry where to go and whom to call (address, position, phone),
 * stored SM4-encrypted like other personal data; lists show the address and
 * phone masked, and revealing the phone is a separate, audited call.
 */
#ifndef FK_TASK_TASK_H
#define FK_TASK_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

enum task_state {
    TASK_PENDING = 1, /* 待接收 */
    TASK_ACCEPTED,    /* 处理中 */
    TASK_DONE,        /* 已完成 */
    TASK_RETURNED,    /* 已退回 */
    TASK_OVERDUE,     /* 已超时 */
    TASK_CANCELLED,   /* 已撤销 */
};
extern const struct vocab task_state_vocab; /* "pending", … by enum */

/* Urgency: 1 is the most urgent. My tasks sort overdue first, then by
 * priority, then by deadline. */
enum task_priority { TASK_URGENT = 1, TASK_HIGH = 2, TASK_NORMAL = 3 };
extern const struct vocab task_priority_vocab; /* "urgent", "high", "normal" */

struct task; /* below */

/*
 * A kind of task, registered at start-up by the capability that owns it
 * (app.c calls the owners' *_task_kinds_register before serving).
 */
struct task_kind {
    const char *name;  /* "verify": stable, [a-z_], stored in tasks.kind */
    const char *label; /* 入户核实 */
    /*
     * Apply a completion inside the caller's transaction: check `result`
     * (the request body's "result" object, may be NULL) and write what it
     * means. E_INPUT with a field for a bad result rolls the whole
     * completion back. NULL: a completion needs no result.
     */
    err (*complete)(db *d, arena *a, const struct principal *who, const struct task *t,
                    json_t *result);
    /* Called inside the transaction in which a dispatcher cancels the task
     * (may be NULL); not by task_cancel_for, whose caller is the owner. */
    err (*cancelled)(db *d, arena *a, const struct principal *who, const struct task *t);
    /* The command centre may create it by hand (POST /api/v1/tasks); other
     * kinds are made only by their owner's rules. */
    bool dispatchable;
};

/* Register kind k (static storage). E_INTERNAL for a duplicate name or a
 * full table; the server refuses to start. */
err task_kind_register(const struct task_kind *k) MUST_USE;
const struct task_kind *task_kind_find(const char *name);

/* The registered kinds as a vocabulary ("task_kinds", 任务类型: name and
 * label of each, in the order they were registered), for GET
 * /api/v1/vocabularies; complete once start-up has registered them. */
const struct vocab *task_kind_vocab(void);

#define TASK_TITLE_MAX 60 /* characters; no personal data beyond a masked name */
#define TASK_NOTE_MAX  200

struct task_new {
    const char *kind;          /* a registered kind */
    int64_t region_code;       /* padded; required */
    int64_t assignee_user_id;  /* one user, or 0 and: */
    const char *assignee_role; /* a role key ("grid_worker") for every holder in region */
    enum task_priority priority;
    int64_t deadline;    /* epoch ms; required, in the future */
    const char *title;   /* Chinese, required */
    int64_t person_id;   /* the person concerned, 0 none */
    int64_t subject_id;  /* the owner's record (an incident, an observation), 0 none */
    const char *address; /* where to go, or NULL (stored encrypted) */
    const char *phone;   /* whom to call, or NULL (stored encrypted) */
    double lat, lng;     /* navigation position; both 0: none */
    const char *detail;  /* a JSON object as text for the kind, or NULL */
    int64_t created_by;  /* 0: the system (a rule) */
    const char *note;    /* the dispatcher's instructions (说明), up to TASK_NOTE_MAX, or NULL */
};

struct task {
    int64_t id, region_code, assignee_user_id, person_id, subject_id, deadline, created_by,
        created_at, accepted_by, accepted_at, done_by, done_at;
    const char *kind, *assignee_role, *title, *detail, *note;
    enum task_state state;
    enum task_priority priority;
};

/*
 * Create a task inside the caller's transaction (or alone when none is
 * open), with a "created" event; a live push to the assignees' streams at
 * commit. E_INPUT with the field for anything invalid (unknown kind, role or
 * user; a user whose scope does not hold the region; a deadline in the past).
 */
err task_create(db *d, const struct task_new *t, int64_t *id_r) MUST_USE;

/* A task inside the scope (E_NOT_FOUND otherwise), strings from a. */
err task_find(db *d, arena *a, const struct scope *sc, int64_t id, struct task *t_r) MUST_USE;

/* Cancel the open tasks of `kind` about subject_id (the owner closed the
 * record they served) inside the caller's transaction. */
err task_cancel_for(db *d, arena *a, const struct principal *who, const char *kind,
                    int64_t subject_id, const char *note) MUST_USE;

/* Complete the open tasks of `kind` about subject_id (the owner's record
 * reached the outcome they served, e.g. a retest's result arrived) inside
 * the caller's transaction, done by who (NULL: the system), with the note
 * on their timeline; no completion hook runs. */
err task_done_for(db *d, arena *a, const struct principal *who, const char *kind,
                  int64_t subject_id, const char *note) MUST_USE;

/* Whether an open task of `kind` about subject_id exists (rules that must
 * not make a second one). */
err task_open_exists(db *d, const char *kind, int64_t subject_id, bool *yes_r) MUST_USE;

/*
 * Mark every pending/accepted task past its deadline overdue and raise one
 * alert each (alert kind "task_overdue", the task's region), in one
 * transaction; *n_r (may be NULL) counts them. The server runs it every
 * minute; tests run it through the CLI/API hook.
 */
err task_sweep_overdue(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* The thread that runs task_sweep_overdue every `check_s` seconds on its
 * own connection (0: never), like the device silence check. */
err task_worker_start(const char *db_url, int check_s) MUST_USE;
void task_worker_stop(void);

#endif

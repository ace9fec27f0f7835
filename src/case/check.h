/*
 * Private to case/: what check_api.c needs of check.c (the lists, the
 * rules, messages, the resident's observation). Other capabilities use the
 * "checks" section of case.h.
 */
#ifndef FK_CASE_CHECK_H
#define FK_CASE_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "case/case.h"

/* The one schema of a check body (routes, and the result of a task). */
extern const struct jfield check_fields[];

struct check_filter {
    int64_t id;              /* one check (the reply to its POST), 0: any */
    int64_t observation_id;  /* 0: any */
    int64_t person_id;       /* 0: any (a resident's own history) */
    int abnormal;            /* -1 any, 0 normal, 1 abnormal */
    enum check_by by;        /* 0: any */
    int64_t from, to;        /* at in [from, to); 0: open */
    int64_t page, page_size; /* page_size 0: export, up to 10000 */
    bool plain;              /* the texts unmasked (the resident's own) */
};

/* Checks inside sc as JSON items (masked names and texts, region names,
 * attachments), newest first; *total_r counts every match. */
err check_list(db *d, arena *a, const struct scope *sc, const struct check_filter *f,
               json_t **items_r, int64_t *total_r) MUST_USE;

/* The rules as {"rules":[…]}; save replaces the given kinds' rules. */
err check_rules_json(db *d, json_t **o_r) MUST_USE;
err check_rules_save(db *d, json_t *rules, int64_t user_id) MUST_USE;

/* The active observation of the resident's person (E_NOT_FOUND
 * "not_observed" when none). */
err check_own_observation(db *d, int64_t person_id, int64_t *observation_id_r) MUST_USE;

/* The resident's observation for the mobile page (observed false when none). */
err check_me_json(db *d, int64_t person_id, json_t **o_r) MUST_USE;

/* An active observation inside sc: its person and region (E_NOT_FOUND
 * outside; E_CONFLICT "observation_closed" when ended and !allow_closed). */
err check_observation(db *d, const struct scope *sc, int64_t id, bool allow_closed,
                      int64_t *person_r, int64_t *region_r) MUST_USE;

/*
 * The doctor's round of today (巡查与体征检查, the phone's /staff/patrol):
 * the active observations inside sc that expect checks (home and central;
 * a hospital's rule checks none), split into "due" (no check since China
 * midnight of `now`) and "checked" (checked today). Due ones sorted by
 * urgency: a fever or symptom at the last check, then overdue (past the
 * interval and its grace: the missed-check alert's test), then due by
 * their rule, then the rest, each by due time; checked ones newest first.
 * Names and addresses masked. At most ROUND_MAX rows ("truncated": true).
 * {"day", "due": [...], "checked": [...], "counts": {"due", "checked"},
 * "truncated"}.
 */
#define ROUND_MAX 2000
err check_round(db *d, arena *a, const struct scope *sc, int64_t now, json_t **o_r) MUST_USE;

enum msg_from { MSG_FROM_PERSON = 1, MSG_FROM_STAFF };

/* A message of the observation inside the caller's transaction; a staff
 * message answers the person's earlier ones. Attachments claimed "message". */
err check_message_add(db *d, arena *a, const struct principal *who, int64_t observation_id,
                      int64_t person_id, int64_t region_code, enum msg_from from, const char *text,
                      json_t *attachments, int64_t *id_r) MUST_USE;

/* The messages of an observation, oldest first, as JSON items. */
err check_messages_json(db *d, arena *a, int64_t observation_id, json_t **items_r) MUST_USE;

#endif

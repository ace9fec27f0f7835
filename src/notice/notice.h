/*
 * Notices to residents with read receipts (通知, seed 002 二(四), issue 14;
 * docs/community.md "Notices").
 *
 * Staff (notice.write) publish a notice to the residents of a region in
 * their scope, to an audience:
 *   all          every registered person living in the region's subtree;
 *   building     the same, the region being a building (level 7);
 *   vulnerable   those of one vulnerable group (person.h's flags);
 *   observation  those on the observation list now (an active
 *                observation, src/case).
 * The audience is resolved AT PUBLICATION into one recipient row per
 * person (notice_recipients), so the receipts are exact: who was told, who
 * opened it and when, who was reminded. A resident reads only the notices
 * addressed to them (any other is 404, as if it did not exist); opening
 * one marks it read once (later openings keep the first time).
 *
 * The body is rich text sanitised on the server (base/html.h) before it is
 * stored; what the client sent is never kept. A notice can be edited
 * (title, body, pinned) only while nobody has read it (409
 * "notice_already_read": the readers would have read another text), and
 * withdrawn (residents no longer see it; its receipts stay for staff).
 * "Remind the rest" stamps reminded_at on every unread recipient; the
 * resident's list marks those notices 再次提醒.
 *
 * Every staff query is bounded by the caller's scope in the same statement
 * (a notice of another region is 404, refusal audited by the handler).
 * Recipients' names are read sealed and shown masked.
 */
#ifndef FK_NOTICE_NOTICE_H
#define FK_NOTICE_NOTICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

enum notice_audience {
    NOTICE_ALL = 1,     /* 全体居民 */
    NOTICE_BUILDING,    /* 指定楼栋 */
    NOTICE_VULNERABLE,  /* 重点人群 */
    NOTICE_OBSERVATION, /* 隔离观察人员 */
    NOTICE_AUDIENCE__COUNT
};

/* "all", "building", "vulnerable", "observation" (slot 0 a hole). */
extern const struct vocab notice_audience_vocab;

#define NOTICE_TITLE_MAX           100   /* characters */
#define NOTICE_BODY_MAX            65536 /* bytes of the sanitised body */
#define NOTICE_RECEIPTS_EXPORT_MAX 50000

/* A notice as written (the checked input of a publication or an edit). */
struct notice_input {
    int64_t region_code; /* padded; inside the author's scope */
    enum notice_audience audience;
    unsigned vulnerable; /* one enum vulnerable bit for NOTICE_VULNERABLE, else 0 */
    const char *title;   /* 1..NOTICE_TITLE_MAX characters, trimmed */
    const char *body;    /* sanitised (notice_body_clean) */
    bool pinned;
};

struct notice {
    int64_t id;
    int64_t region_code;
    const char *region_name;
    enum notice_audience audience;
    unsigned vulnerable;
    const char *title, *body;
    bool pinned;
    bool withdrawn;
    int64_t recipients, read;
    const char *author_name;
    int64_t published_at, updated_at, withdrawn_at, reminded_at;
    /* a resident's view */
    int64_t read_at, my_reminded_at;
};

/* The body the client sent, sanitised (base/html.h) into *out_r; E_INPUT
 * "too_long" on "body" past NOTICE_BODY_MAX, "required" when nothing but
 * markup remains. */
err notice_body_clean(arena *a, const char *raw, const char **out_r) MUST_USE;

/*
 * Publish: the notice and its recipients in the caller's transaction.
 * E_NOT_FOUND "not_found" on region_code when the region does not exist or
 * lies outside who's scope; E_INPUT "invalid_value" on audience when a
 * building audience names a region that is not a building; E_CONFLICT
 * "no_recipients" when the audience holds nobody (nothing written).
 * *n_r the notice with its counts (allocated from a).
 */
err notice_publish(db *d, arena *a, const struct principal *who, const struct notice_input *in,
                   struct notice *n_r) MUST_USE;

/* One notice in sc with its counts: E_NOT_FOUND otherwise. */
err notice_find(db *d, arena *a, const struct scope *sc, int64_t id, struct notice *n_r) MUST_USE;

struct notice_filter {
    bool with_withdrawn;
    int64_t page, page_size;
};

/* Notices in sc, newest first, with their counts. */
err notice_list(db *d, arena *a, const struct scope *sc, const struct notice_filter *f,
                struct notice **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* Edit title, body and pinned (in->region/audience ignored) in the
 * caller's transaction: E_NOT_FOUND outside sc; E_CONFLICT
 * "notice_withdrawn", "notice_already_read". */
err notice_edit(db *d, const struct scope *sc, int64_t id, const struct notice_input *in,
                int64_t now) MUST_USE;

/* Withdraw: E_NOT_FOUND outside sc; E_CONFLICT "notice_withdrawn" twice. */
err notice_withdraw(db *d, const struct scope *sc, int64_t id, int64_t now) MUST_USE;

/* Stamp `now` on every unread recipient; *n_r how many. E_NOT_FOUND
 * outside sc; E_CONFLICT "notice_withdrawn". */
err notice_remind(db *d, const struct scope *sc, int64_t id, int64_t now, int64_t *n_r) MUST_USE;

enum notice_receipt_state { RECEIPT_ANY = 0, RECEIPT_READ, RECEIPT_UNREAD };

struct notice_receipt {
    int64_t person_id;
    const char *name; /* unsealed; the caller masks it */
    int64_t region_code;
    const char *building; /* the region's name */
    int64_t read_at, reminded_at;
};

struct notice_receipt_filter {
    enum notice_receipt_state state;
    int64_t building;        /* a region code (padded) the recipient's lies in; 0 any */
    int64_t page, page_size; /* page_size <= 0: all, up to NOTICE_RECEIPTS_EXPORT_MAX */
};

/* The recipients of notice id (already found in scope), by building then
 * name order of insertion. */
err notice_receipts(db *d, arena *a, int64_t id, const struct notice_receipt_filter *f,
                    struct notice_receipt **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* ---- the resident's side ---- */

/* The published notices addressed to person_id: pinned first, newest
 * first; *unread_r the unread ones among them. */
err notice_mine(db *d, arena *a, int64_t person_id, struct notice **items_r, size_t *n_r,
                int64_t *unread_r) MUST_USE;

/* Open one: E_NOT_FOUND unless it is published and addressed to
 * person_id; marks it read at `now` the first time (*first_r true). */
err notice_open(db *d, arena *a, int64_t person_id, int64_t id, int64_t now, struct notice *n_r,
                bool *first_r) MUST_USE;

/* A notice as staff see it (body, counts, audience labels). */
json_t *notice_json(const struct notice *n, bool with_body);
/* As a resident sees it: no counts, read and reminded flags. */
json_t *notice_mine_json(arena *a, const struct notice *n, bool with_body);

#endif

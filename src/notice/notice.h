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
 *                observation, src/case);
 *   volunteers   the approved volunteers living there (src/volunteer);
 *                the platform itself tells them of their community's
 *                projects (notice_system_publish).
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
    NOTICE_VOLUNTEERS,  /* 社区志愿者 */
    NOTICE_AUDIENCE__COUNT
};

/* "all", "building", "vulnerable", "observation", "volunteers" (slot 0 a
 * hole). */
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

/* A notice the platform publishes itself (author "系统通知", no author
 * account, no scope check: the caller has acted in its own), in the
 * caller's transaction: title (trimmed to NOTICE_TITLE_MAX characters) and
 * plain text (each line a paragraph, escaped) to audience au of
 * region_code. An audience of nobody publishes nothing: E_OK, *id_r 0. */
err notice_system_publish(db *d, arena *a, int64_t region_code, enum notice_audience au,
                          const char *title, const char *text, int64_t *id_r) MUST_USE;

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

/* ---- the exchange's change log (federation downward; docs/exchange.md
 * "Notices downward") ---- */

/* Told, inside the writing transaction, of every publication and
 * withdrawal of a notice to ALL residents of its region (the other
 * audiences name groups resolved from this instance's records, so they
 * stay here): the exchange logs it as dataset "notices" (src/app.c). One
 * subscriber. */
typedef err (*notice_write_fn)(db *d, int64_t id, int64_t region_code);
err notice_on_write(notice_write_fn fn) MUST_USE;

/* The notice as the exchange sends it: {id, region_code, audience, title,
 * body, pinned, state, published_at, withdrawn_at} (no counts, no author,
 * no attachments); E_NOT_FOUND. */
err notice_exchange_json(db *d, arena *a, int64_t id, json_t **out_r) MUST_USE;

/* A parent platform's notice copied here by the federation puller, in its
 * transaction: published by `who` to all residents of region_code (the
 * root it covers); title and body of the sizes the API takes (the caller
 * checks them), the title trimmed, the body sanitised again here.
 * E_INPUT on a bad field, E_CONFLICT "no_recipients". *id_r the copy. */
err notice_fed_publish(db *d, arena *a, const struct principal *who, int64_t region_code,
                       const char *title, const char *raw_body, bool pinned,
                       int64_t *id_r) MUST_USE;

/* Withdraw the copy id (any scope); already withdrawn is no change. */
err notice_fed_withdraw(db *d, int64_t id, int64_t now) MUST_USE;

/* ---- live receipts (live.c) ---- */

/* The SSE channel of receipt events (GET /api/v1/notices/stream). */
#define NOTICE_STREAM "notices"

/* A first reading of notice id, in the reader's transaction: after the
 * commit, `event: receipt` {"notice_id","read","recipients"} (counts only)
 * to the streams whose scope holds the notice's region, on every server
 * (NOTIFY fk_notices on PostgreSQL). notice_open calls it. */
err notice_live_read(db *d, int64_t id) MUST_USE;

/* Hear the other servers' readings (cmd_serve; ended by db_listen_stop). */
err notice_live_start(const char *db_url) MUST_USE;

/* E_NOT_FOUND "not_found" unless notice id is published and addressed to
 * person_id (reading its attachments; the reading itself is not marked). */
err notice_addressed(db *d, int64_t person_id, int64_t id) MUST_USE;

/* A notice as staff see it (body, counts, audience labels). */
json_t *notice_json(const struct notice *n, bool with_body);
/* As a resident sees it: no counts, read and reminded flags. */
json_t *notice_mine_json(arena *a, const struct notice *n, bool with_body);

/* ---- the audience, shared by notices and polls ---- */

/* The target of a publication: E_NOT_FOUND "not_found" on region_code
 * when the region does not exist or lies outside who's scope; E_INPUT
 * "invalid_value" on audience when a building audience names a region
 * that is not a building. */
err notice_target_check(db *d, const struct principal *who, int64_t region_code,
                        enum notice_audience au) MUST_USE;

enum notice_rcpt_table { RCPT_NOTICE, RCPT_POLL };

/* Resolve the audience into one row per person of `table`
 * (notice_recipients or poll_recipients) for record id, in the caller's
 * transaction; *n_r how many (0: the caller refuses "no_recipients"). */
err notice_audience_fill(db *d, enum notice_rcpt_table table, int64_t id, int64_t region_code,
                         enum notice_audience au, unsigned vulnerable, int64_t *n_r) MUST_USE;

/* ================================================================
 * Articles: knowledge, propaganda, news, self-check guide (article.c;
 * docs/community.md "Knowledge and news").
 *
 * Staff with notice.write write articles of a kind for the residents of a
 * region's subtree in their scope; a draft is seen by staff only, a
 * published article by every resident living in that subtree (news, kind
 * "news", is the carousel of the resident's home; the others are the list
 * by kind). The body is sanitised like a notice's; the cover an image
 * attachment the author uploaded (owner_kind "article"), served to
 * residents by the article's own route. Staff queries are scoped in the
 * statement; a resident's query is bounded by their own region.
 * ================================================================ */

enum article_kind {
    ARTICLE_KNOWLEDGE = 1, /* 防疫知识 */
    ARTICLE_SCIENCE,       /* 医疗科普 */
    ARTICLE_HOME,          /* 居家隔离防护 */
    ARTICLE_PREVENTION,    /* 个人预防 */
    ARTICLE_POLICY,        /* 政策措施 */
    ARTICLE_NEWS,          /* 要闻播报 */
    ARTICLE_GUIDE,         /* 自查指引 */
    ARTICLE_KIND__COUNT
};
extern const struct vocab article_kind_vocab; /* "article_kinds" */

#define ARTICLE_TITLE_MAX 100
#define ARTICLE_BODY_MAX  131072

struct article {
    int64_t id;
    int64_t region_code;
    const char *region_name;
    enum article_kind kind;
    const char *title, *body;
    int64_t cover_id;
    bool published;
    const char *author_name;
    int64_t created_at, updated_at, published_at;
};

/* The checked input of a creation or an edit. */
struct article_input {
    int64_t region_code; /* inside the author's scope */
    enum article_kind kind;
    const char *title; /* trimmed, 1..ARTICLE_TITLE_MAX characters */
    const char *body;  /* sanitised (article_body_clean) */
    int64_t cover_id;  /* 0 none; claimed by the caller (attach_claim) */
    bool published;
};

/* notice_body_clean with ARTICLE_BODY_MAX. */
err article_body_clean(arena *a, const char *raw, const char **out_r) MUST_USE;

/* Create in the caller's transaction; E_NOT_FOUND "not_found" on
 * region_code outside who's scope or unknown. *id_r the new id. */
err article_create(db *d, const struct principal *who, const struct article_input *in,
                   int64_t *id_r) MUST_USE;

/* Replace every field (region inside sc) in the caller's transaction;
 * E_NOT_FOUND outside sc. published_at is set on the first publication. */
err article_update(db *d, const struct scope *sc, int64_t id, const struct article_input *in,
                   int64_t now) MUST_USE;

/* Delete (staff, scope): E_NOT_FOUND outside sc. */
err article_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

err article_find(db *d, arena *a, const struct scope *sc, int64_t id, struct article *a_r) MUST_USE;

struct article_filter {
    enum article_kind kind; /* 0 any */
    int state;              /* 0 any, 1 published, 2 draft */
    int64_t page, page_size;
};

/* Staff: articles in sc, newest change first. */
err article_list(db *d, arena *a, const struct scope *sc, const struct article_filter *f,
                 struct article **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* A resident: the published articles whose region holds person_id's
 * region, newest first; kind 0 any. */
err article_mine(db *d, arena *a, int64_t person_id, enum article_kind kind, int64_t page,
                 int64_t page_size, struct article **items_r, size_t *n_r,
                 int64_t *total_r) MUST_USE;

/* One published article for person_id; E_NOT_FOUND otherwise. */
err article_mine_one(db *d, arena *a, int64_t person_id, int64_t id, struct article *a_r) MUST_USE;

json_t *article_json(arena *a, const struct article *x, bool with_body);

/* ================================================================
 * Polls and surveys (协商; poll.c; docs/community.md "Polls").
 *
 * Staff with notice.write publish a poll to an audience like a notice's
 * (resolved at publication into poll_recipients), with questions of three
 * types (single, multiple, text) and a closing time. A recipient answers
 * once: the answer is every question's at once; a second is 409
 * "already_voted", an answer after closing 409 "poll_closed", and neither
 * changes anything. The answers are stored without the person (only their
 * building), so the results per option and per building cannot name a
 * resident. Residents see the results after answering, or after closing,
 * when the poll says so.
 * ================================================================ */

enum poll_qtype { POLL_SINGLE = 1, POLL_MULTIPLE, POLL_TEXT, POLL_QTYPE__COUNT };
extern const struct vocab poll_qtype_vocab; /* "poll_question_types" */

#define POLL_TITLE_MAX     100
#define POLL_DESC_MAX      2000
#define POLL_QUESTIONS_MAX 20
#define POLL_OPTIONS_MAX   20
#define POLL_TEXT_MAX      500 /* characters of a text answer, of a question, of an option */

struct poll_input {
    int64_t region_code;
    enum notice_audience audience;
    unsigned vulnerable;
    const char *title, *description;
    json_t *questions; /* checked by poll_questions_check; borrowed */
    int64_t closes_at;
    bool show_results;
};

struct poll {
    int64_t id;
    int64_t region_code;
    const char *region_name;
    enum notice_audience audience;
    unsigned vulnerable;
    const char *title, *description;
    json_t *questions; /* owned: json_decref by poll_free */
    bool show_results;
    bool closed; /* closed early, or closes_at passed */
    bool closed_early;
    int64_t recipients, answered;
    const char *author_name;
    int64_t created_at, closes_at, closed_at;
    int64_t my_answered_at; /* a resident's view */
};
void poll_free(struct poll *p);

/* The questions as sent, checked: E_INPUT on "questions[i].text" etc.
 * *clean_r a new array with only the known members, trimmed. */
err poll_questions_check(json_t *q, json_t **clean_r) MUST_USE;

/* Publish in the caller's transaction (notice_target_check first);
 * E_CONFLICT "no_recipients" on an empty audience. */
err poll_publish(db *d, const struct principal *who, const struct poll_input *in, int64_t now,
                 int64_t *id_r, int64_t *recipients_r) MUST_USE;

err poll_find(db *d, arena *a, const struct scope *sc, int64_t id, int64_t now,
              struct poll *p_r) MUST_USE;

/* Staff: polls in sc, newest first (the items' questions not loaded). */
err poll_list(db *d, arena *a, const struct scope *sc, int64_t now, int64_t page, int64_t page_size,
              struct poll **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/* Close now: E_NOT_FOUND outside sc, E_CONFLICT "poll_closed" twice. */
err poll_close(db *d, const struct scope *sc, int64_t id, int64_t now) MUST_USE;

/* The polls addressed to person_id, open first, newest first (no questions). */
err poll_mine(db *d, arena *a, int64_t person_id, int64_t now, struct poll **items_r,
              size_t *n_r) MUST_USE;

/* One poll addressed to person_id, with its questions; E_NOT_FOUND. */
err poll_mine_one(db *d, arena *a, int64_t person_id, int64_t id, int64_t now,
                  struct poll *p_r) MUST_USE;

/* Answer poll p (found by poll_mine_one) in the caller's transaction:
 * answers the body's array, one item per question: a number (single), an
 * array of numbers (multiple), a string (text). E_INPUT on "answers[i]";
 * E_CONFLICT "poll_closed", "already_voted". */
err poll_answer(db *d, int64_t person_id, const struct poll *p, json_t *answers,
                int64_t now) MUST_USE;

/* The results: {questions:[{text,type,answered,options:[{label,count}],
 * texts:[..]}], buildings:[{region_code,region_name,answered,questions:
 * [[count per option]]}]} (texts only when with_texts). */
err poll_results(db *d, arena *a, const struct poll *p, bool with_texts, json_t **out_r) MUST_USE;

json_t *poll_json(const struct poll *p, bool with_questions);

/* ================================================================
 * Images in a body (body_image.c; docs/community.md "Images in a body").
 *
 * The editors insert an image as the author's fresh upload,
 * <img src="/api/v1/attachments/N">, the only src the sanitiser keeps; the
 * body is stored so. Saving takes those uploads for the record (owner_kind
 * "article_image" / "notice_image", apart from the cover and the notice's
 * attachments) and lets go of the ones the body no longer shows. No reply
 * shows the stored form (only the uploader may read /api/v1/attachments/N):
 * it is rebased onto the record's route, {route}/{id}/images/N, which
 * serves N only while the record holds it and its body names it; a body
 * sent back in that form is turned back before sanitising.
 * ================================================================ */

#define BODY_IMAGE_SRC "/api/v1/attachments/"

/* The distinct attachment ids the sanitised body's images name, in order,
 * at most max in ids; *bad_r when one is not an id or there are more. */
size_t body_image_ids(const char *body, int64_t *ids, size_t max, bool *bad_r);

/* Whether the sanitised body shows attachment aid. */
bool body_image_has(const char *body, int64_t aid);

/* The sanitised body with its images under route/id/images/ (route e.g.
 * "/api/v1/me/articles"). */
const char *body_image_rebase(arena *a, const char *body, const char *route, int64_t id);

/* A body as a client sent it back, route/id/images/ turned into the stored
 * form (before sanitising: the sanitiser keeps only the stored form). */
const char *body_image_unbase(arena *a, const char *raw, const char *route, int64_t id);

/* In the caller's transaction: record owner_kind/owner_id holds exactly
 * the images its body shows; a new one must be who's own unclaimed image
 * upload (E_INPUT "invalid_attachment" on "body", as is a body with more
 * than ATTACH_PER_OWNER_MAX images). */
err body_image_sync(db *d, const struct principal *who, const char *body, const char *owner_kind,
                    int64_t owner_id, int64_t region_code) MUST_USE;

/* The body of notice id (any scope: the caller has checked who may read
 * it); E_NOT_FOUND. */
err notice_body_of(db *d, arena *a, int64_t id, const char **body_r) MUST_USE;

#endif

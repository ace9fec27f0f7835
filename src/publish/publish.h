/*
 * Publishing (疫情发布, seed 000 §6.5; issue 12; docs/publish.md): what the
 * public page /public/ shows to anyone, without sign-in.
 *
 * A publication belongs to a region (its figures are the counters over the
 * region's code range, stats/stats.h) and is made of blocks, a JSON array
 * of objects with a "kind":
 *
 *   {"kind":"title",   "text"}                        a heading
 *   {"kind":"text",    "text"}                        plain text; blank lines
 *                                                     separate paragraphs
 *   {"kind":"figures", "measures":[name…]}            1..12 figures
 *   {"kind":"trend",   "measure", "days", "cumulative"} a flow's daily (or
 *                                                     cumulative) values,
 *                                                     7..90 days
 *   {"kind":"regions", "measures":[name…]}            1..6 figures per child
 *                                                     region
 *   {"kind":"map",     "measure"}                     child regions coloured
 *                                                     by a figure (a table
 *                                                     when none has a
 *                                                     boundary)
 *
 * Measures are those of the statistics registry (families left out). A
 * template (overview 疫情概况, local 本地情况, map 疫情地图, trends 趋势,
 * regions 分区数据) is the set of blocks a new publication starts with.
 *
 * Workflow: draft → (submit) pending → (approve, by a user other than the
 * submitter) published, which adds version n+1 with the blocks as they were
 * approved (never changed afterwards) and their snapshot; pending →
 * (reject) draft. Editing a published publication makes it a draft again;
 * the public keeps its last approved version. Withdrawing takes the newest
 * live version off: the public then sees the one before it (if any is not
 * withdrawn) or nothing. Every change of state is audited by the handlers.
 *
 * Snapshots (publish_render) hold the blocks with their figures filled in:
 * labels, numbers, dates, region names and map outlines; never a record of
 * a person. They are rendered at approval and again every period by the
 * worker (publish_worker_start): figures regenerated, text unchanged.
 *
 * Feeds (最新动态 news, 舆情 opinion): items imported as JSON or from an RSS
 * 2.0 / Atom document, pending until a publish.approve user approves them;
 * one item per guid (Atom id) or else link, however often it is imported.
 *
 * Scope: a user sees and acts on the publications and feed items whose
 * region lies in their scope; the public reads every live version.
 * Strings in results come from the arena given.
 */
#ifndef FK_PUBLISH_PUBLISH_H
#define FK_PUBLISH_PUBLISH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define PUBLISH_TITLE_MAX      100  /* characters of a title */
#define PUBLISH_TEXT_MAX       5000 /* characters of a text block */
#define PUBLISH_BLOCKS_MAX     30
#define PUBLISH_FIGURES_MAX    12
#define PUBLISH_REGION_COLUMNS 6
#define PUBLISH_TREND_MIN      7 /* days */
#define PUBLISH_TREND_MAX      90
#define PUBLISH_NOTE_MAX       200
#define FEED_BATCH_MAX         500 /* items in one import */
#define FEED_TITLE_MAX         200
#define FEED_SUMMARY_MAX       2000
#define FEED_LINK_MAX          2000
#define FEED_SOURCE_MAX        100

enum publish_template {
    PUBLISH_OVERVIEW = 1,
    PUBLISH_LOCAL,
    PUBLISH_MAP,
    PUBLISH_TRENDS,
    PUBLISH_REGIONS,
};
extern const struct vocab publish_template_vocab;

enum publish_block {
    PUBLISH_BLOCK_TITLE = 1,
    PUBLISH_BLOCK_TEXT,
    PUBLISH_BLOCK_FIGURES,
    PUBLISH_BLOCK_TREND,
    PUBLISH_BLOCK_REGIONS,
    PUBLISH_BLOCK_MAP,
};
extern const struct vocab publish_block_vocab;

enum publish_state { PUBLISH_DRAFT = 1, PUBLISH_PENDING, PUBLISH_PUBLISHED };
extern const struct vocab publish_state_vocab;

enum feed_kind { FEED_NEWS = 1, FEED_OPINION };
extern const struct vocab feed_kind_vocab;

enum feed_state { FEED_PENDING = 1, FEED_APPROVED, FEED_REJECTED };
extern const struct vocab feed_state_vocab;

/* ---- blocks and snapshots ---------------------------------------------------------------- */

/*
 * Check blocks (a JSON array) as described above: 1..PUBLISH_BLOCKS_MAX
 * objects, each of a known kind with exactly its members. E_INPUT with the
 * field "blocks[i]" or "blocks[i].member": "unknown_block" (a kind not
 * listed), "unknown_measure" (a name the statistics registry does not
 * hold), "invalid_block" (anything else, with a Chinese message).
 */
err publish_blocks_check(json_t *blocks) MUST_USE;

/* The blocks a new publication of template t starts with (a new
 * reference), titled `title`. */
json_t *publish_template_blocks(enum publish_template t, const char *title);

/*
 * Render blocks (checked) of a publication of region_code into a snapshot
 * (a new reference in *snapshot_r), with the figures as of `now`:
 *   {"title", "region_name", "date": "yyyy-mm-dd", "rendered_at": "China time",
 *    "blocks": [{"kind":"title","text"} | {"kind":"text","paragraphs":[…]} |
 *               {"kind":"figures","items":[{"label","value","today"?}]} |
 *               {"kind":"trend","label","cumulative","points":[{"date","value"}]} |
 *               {"kind":"regions","columns":[label…],"rows":[{"name","values":[…]}]} |
 *               {"kind":"map","label","items":[{"name","value","path"?}],"box":[w,h]}]}
 * `path` is the child region's outline as an SVG path in a box of w×h.
 * Only labels, numbers, dates and region names: nothing of a person.
 */
err publish_render(db *d, arena *a, int64_t region_code, const char *title, json_t *blocks,
                   int64_t now, json_t **snapshot_r) MUST_USE;

/* ---- publications ------------------------------------------------------------------------ */

struct publication {
    int64_t id;
    int64_t region_code;
    const char *region_name;
    enum publish_template template_;
    const char *title;
    json_t *blocks; /* a new reference: the caller's to release */
    enum publish_state state;
    int64_t submitted_by, submitted_at;
    const char *note;
    int64_t created_by, created_at, updated_at;
    int64_t live_version; /* the version the public sees, 0 none */
    int64_t versions;     /* how many were approved */
};

/* A new draft in `region_code` (inside who's scope, else E_NOT_FOUND
 * "region" as for a region that does not exist) of template t, with
 * `blocks` (checked by the caller; NULL: the template's). */
err publish_create(db *d, arena *a, const struct principal *who, int64_t region_code,
                   enum publish_template t, const char *title, json_t *blocks,
                   int64_t *id_r) MUST_USE;

/* Change the draft's title and/or blocks (NULL: unchanged); a pending or
 * published publication becomes a draft again (the public keeps its live
 * version). E_NOT_FOUND outside the scope. */
err publish_update(db *d, const struct principal *who, int64_t id, const char *title,
                   json_t *blocks) MUST_USE;

/* One publication in sc. E_NOT_FOUND when none. */
err publish_find(db *d, arena *a, const struct scope *sc, int64_t id,
                 struct publication *p_r) MUST_USE;

/* The publications of sc, newest first, one page; state 0: any. items is an
 * array of publication objects (publish_json). */
err publish_list(db *d, arena *a, const struct scope *sc, enum publish_state state, int64_t page,
                 int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* The JSON of p for the console (blocks borrowed: a new reference taken). */
json_t *publish_json(const struct publication *p);

/* draft → pending. E_CONFLICT "invalid_transition" from another state. */
err publish_submit(db *d, arena *a, const struct principal *who, int64_t id) MUST_USE;

/*
 * pending → published: renders the snapshot and stores version n+1.
 * E_FORBIDDEN "self_approval" when who submitted it; E_CONFLICT
 * "invalid_transition" when it is not pending. *version_r: the new number.
 */
err publish_approve(db *d, arena *a, const struct principal *who, int64_t id,
                    int64_t *version_r) MUST_USE;

/* pending → draft with the reason. E_CONFLICT "invalid_transition". */
err publish_reject(db *d, arena *a, const struct principal *who, int64_t id,
                   const char *note) MUST_USE;

/* Withdraw the live version (the newest not withdrawn). *version_r: the one
 * withdrawn. E_CONFLICT "invalid_transition" when none is live. */
err publish_withdraw(db *d, arena *a, const struct principal *who, int64_t id,
                     int64_t *version_r) MUST_USE;

/* Delete a publication the public does not see (never approved, or every
 * version withdrawn): it leaves every list; its versions stay stored for the
 * record. E_CONFLICT "invalid_transition" while a version is live. */
err publish_delete(db *d, arena *a, const struct principal *who, int64_t id) MUST_USE;

/* Every version of a publication in sc, newest first: [{version, title,
 * blocks, snapshot, date, approved_by, approved_by_name, approved_at,
 * submitted_by_name, withdrawn_at, live}]. */
err publish_versions(db *d, arena *a, const struct scope *sc, int64_t id,
                     json_t **items_r) MUST_USE;

/* The draft of a publication in sc rendered as the public would see it
 * (nothing stored). */
err publish_preview(db *d, arena *a, const struct scope *sc, int64_t id,
                    json_t **snapshot_r) MUST_USE;

/* ---- the public ---------------------------------------------------------------------------- */

/* Every live version, newest approval first: [{id, version, approved_at,
 * snapshot}]. */
err publish_public_list(db *d, arena *a, json_t **items_r) MUST_USE;

/* Approved feed items, newest first, at most `max`: [{kind, kind_label,
 * title, link, summary, source, published_at}]. */
err feed_public_list(db *d, arena *a, int64_t max, json_t **items_r) MUST_USE;

/* Re-render the snapshot of every live version with the figures of `now`;
 * *n_r counts them. For the worker and `fangkong publish render`. */
err publish_rerender(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* Requests a minute one address may make to the public page and its API
 * (FK_PUBLIC_RATE, default 600). Before the server starts. */
void publish_public_configure(int per_minute);

/* The worker re-rendering every every_s seconds (0: none), and its stop. */
err publish_worker_start(const char *db_url, int every_s) MUST_USE;
void publish_worker_stop(void);

/* ---- feeds ------------------------------------------------------------------------------- */

struct feed_input {
    enum feed_kind kind;
    const char *title;    /* required */
    const char *link;     /* http(s) URL or "" */
    const char *guid;     /* or "": the link is the dedupe key */
    const char *summary;  /* plain text (markup of a feed removed) */
    const char *source;   /* or "" */
    int64_t published_at; /* epoch ms, 0 unknown */
};

/* Check one item (title, lengths, a link of http or https, a key to dedupe
 * by): E_INPUT naming `field_prefix`.member. */
err feed_input_check(const struct feed_input *in, const char *field_prefix, arena *a) MUST_USE;

/*
 * Parse an RSS 2.0 or Atom document into items of `kind` (in the arena),
 * at most FEED_BATCH_MAX. A document with a DOCTYPE (and so any entity
 * declaration) is refused before anything of it is used: E_INPUT
 * "feed_doctype". Not well-formed, or neither rss/channel/item nor
 * feed/entry: E_INPUT "invalid_feed". Field "file".
 */
err feed_parse(const char *xml, size_t n, enum feed_kind kind, arena *a,
               struct feed_input **items_r, size_t *n_r) MUST_USE;

/* Store checked items as pending in who's scope root; items whose key is
 * already stored are skipped (*dup_r). One transaction. */
err feed_import(db *d, const struct principal *who, const struct feed_input *items, size_t n,
                int64_t *created_r, int64_t *dup_r) MUST_USE;

/* Feed items in sc, newest first, one page; state 0: any. */
err feed_list(db *d, arena *a, const struct scope *sc, enum feed_state state, int64_t page,
              int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* pending → approved or rejected. E_CONFLICT "invalid_transition" when
 * already decided; E_NOT_FOUND outside sc. */
err feed_decide(db *d, const struct principal *who, int64_t id, bool approve) MUST_USE;

#endif

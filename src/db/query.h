/*
 * A bounded builder for SQL assembled from fixed fragments plus bindings:
 * the one way to write a query whose WHERE clause depends on the filters a
 * caller gave (lists, searches, exports).
 *
 * Fragments are string literals of the caller's (never values): a value is
 * always a binding, added in the order of its `?` in the text. The text and
 * the bindings have fixed bounds; going past either marks the query full,
 * and query_prepare then refuses it with E_INTERNAL (the fragments a caller
 * can add are known at compile time, so a full query is a bug, found by the
 * caller's tests, not a condition to handle). So is a number of bindings
 * other than the number of `?` in the text outside quotes. Text and blob
 * bindings are
 * not copied: they must live until query_prepare returns (binding copies
 * them into the statement).
 *
 *     struct query w = QUERY_INIT;
 *     query_sql(&w, " FROM vehicles WHERE region_code >= ? AND region_code < ?");
 *     query_int(&w, sc->lo);
 *     query_int(&w, sc->hi);
 *     if (f->kind) { query_sql(&w, " AND kind = ?"); query_text(&w, f->kind); }
 *     struct query q = QUERY_INIT;
 *     query_sql(&q, "SELECT COUNT(*)");
 *     query_append(&q, &w);
 *     e = query_prepare(d, &q, &s);
 */
#ifndef FK_DB_QUERY_H
#define FK_DB_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"

#define QUERY_SQL_MAX   4096
#define QUERY_BINDS_MAX 48

struct query {
    char sql[QUERY_SQL_MAX];
    size_t len;
    bool full; /* a fragment or a binding did not fit */
    int nb;
    struct query_bind {
        char kind; /* 'i' int64, 'd' double, 't' text, 'b' blob, 'n' null */
        int64_t i;
        double f;
        const void *p;
        size_t n;
    } b[QUERY_BINDS_MAX];
};

#define QUERY_INIT                                                                                 \
    {                                                                                              \
        .len = 0                                                                                   \
    }

/* Append a fixed fragment of SQL (a literal; never a value). */
void query_sql(struct query *q, const char *frag);

/* Append a binding for the next `?`. */
void query_int(struct query *q, int64_t v);
void query_double(struct query *q, double v);
void query_text(struct query *q, const char *s); /* NULL binds SQL NULL */
void query_blob(struct query *q, const void *p, size_t n);

/* Append src's text and bindings to dst (a WHERE clause reused by a COUNT
 * and a page). */
void query_append(struct query *dst, const struct query *src);

/* A LIKE pattern matching values that contain `text`: its wildcards and the
 * escape character escaped (the fragment says ESCAPE '\'), between %; ASCII
 * letters lower-cased when `fold` (for a fragment comparing lower(col)). */
const char *query_like_contains(arena *a, const char *text, bool fold);

/* Prepare q on d and bind its values. E_INTERNAL when q is full. */
err query_prepare(db *d, const struct query *q, db_stmt **s_r) __attribute__((warn_unused_result));

/* Prepare q, step once and read column 0 as an int64 (a COUNT(*), or the id
 * a probe finds): 0 when there is no row or on an error. */
err query_count(db *d, const struct query *q, int64_t *n_r) __attribute__((warn_unused_result));

/*
 * One page of a list (or a whole export) of the rows `from_where` selects:
 * its FROM, JOINs and WHERE with their bindings, shared by two statements.
 *
 *  1. `count` + from_where: the number of matches, *total_r.
 *  2. paging_window(total, page, page_size, max): page_size > 0 asks for
 *     page `page` (from 1); page_size <= 0 for every match, refused beyond
 *     `max` (E_INPUT "export_too_large", base/paging.h).
 *  3. Unless that window is empty (a page past the end): `select` +
 *     from_where + `order` + " LIMIT ? OFFSET ?", each row read by read()
 *     into the next of the window's items of `size` bytes, zeroed, from the
 *     arena. read() returns E_OK or the error that stops the list.
 *
 * `count` and `select` are literals; `count` usually names only the table
 * the WHERE needs, `select` adds the columns and the JOINs only the page
 * needs. `select_q` and `order_q` stand instead of `select` and `order`
 * when that part binds values (a scope bound among the columns, the time
 * in an ORDER BY): their bindings go before and after from_where's.
 *
 *     void *items;
 *     e = query_page(d, a, w, &(struct query_page){
 *             .count = "SELECT COUNT(*) FROM trips t", .select = TRIP_SELECT TRIP_FROM,
 *             .order = " ORDER BY t.departed_on DESC, t.id DESC", .page = f->page,
 *             .page_size = f->page_size, .max = TRIP_EXPORT_MAX,
 *             .size = sizeof(struct trip), .read = trip_read}, &items, n_r, total_r);
 *     if (!e)
 *         *items_r = items;
 *
 * On success *items_r (never NULL, even for no rows), *n_r (the rows read:
 * the window's, or fewer when rows went between the two statements) and
 * *total_r; on any error (the count, the window, the page, read()) they
 * are untouched. It takes one struct query from the arena, none from the
 * stack.
 *
 * Three options for a big list's first pages (docs/benchmarks.md "At
 * 10,000,000 people"); each needs `count` written "SELECT COUNT(*) FROM
 * ...", whose FROM they reuse (any other count is E_INTERNAL, a bug):
 *
 *  - count_cap > 0, for a page (page_size > 0; an export always counts
 *    exactly): the count stops after count_cap + 1 matches ("SELECT
 *    COUNT(*) FROM (SELECT 1 FROM ... LIMIT ?)"); more is reported as
 *    *total_r = count_cap with *capped_r true, and the page is read
 *    whatever its number (the pages past the cap are still there).
 *    capped_r may be NULL; it is false when the count was exact.
 *  - walk: from_where written for walking `order`'s index, the region range
 *    as +region_code so no index serves it (src/person/person.c where_of
 *    explains why SQLite needs this). Used for the page only, and only when
 *    the count reached count_cap: then at least count_cap matches are
 *    spread over the index, and the walk stops after the page; below the
 *    cap, from_where's region index reads fewer rows than that and sorts
 *    them. Same conditions and bindings as from_where, or the pages differ.
 *  - key ("t.id"): a deferred join. The page's keys are chosen with the
 *    count's FROM alone, the JOINs of `select` made for those rows only:
 *    select + " WHERE key IN (SELECT key FROM ... WHERE ... order LIMIT ?
 *    OFFSET ?)" + order.
 *
 *     e = query_page(d, a, w, &(struct query_page){
 *             .count = "SELECT COUNT(*) FROM tasks t", .select = ROW_COLS ROW_FROM,
 *             .order = " ORDER BY t.created_at DESC, t.id DESC", .key = "t.id",
 *             .count_cap = f->count_cap, .capped_r = capped_r, .walk = walk, ...}, ...);
 */
typedef err (*query_row_fn)(db_stmt *s, arena *a, void *item, void *ctx);
struct query_page {
    const char *count;            /* "SELECT COUNT(*) FROM t x" */
    const char *select;           /* "SELECT cols FROM t x JOIN ..." */
    const struct query *select_q; /* instead of select, when it binds values */
    const char *order;            /* " ORDER BY ..." (unique, so pages do not overlap) */
    const struct query *order_q;  /* instead of order, when it binds values */
    int64_t page, page_size, max; /* paging_window's */
    size_t size;                  /* of an item */
    query_row_fn read;
    void *ctx;                /* read()'s */
    int64_t count_cap;        /* > 0: count at most this many (a page only) */
    bool *capped_r;           /* out, may be NULL: the count stopped at count_cap */
    const struct query *walk; /* from_where for the page once the count is capped */
    const char *key;          /* "t.id": the page's keys first, then the JOINs */
};

/* The cap of the lists' totals (FK_LIST_COUNT_CAP, default
 * QUERY_COUNT_CAP_DEFAULT): what the lists that opt in pass as count_cap for
 * a page. Set once at start-up, before serving. */
#define QUERY_COUNT_CAP_DEFAULT 10000
void query_count_cap_set(int64_t cap);
int64_t query_count_cap(void);
err query_page(db *d, arena *a, const struct query *from_where, const struct query_page *p,
               void **items_r, size_t *n_r, int64_t *total_r) __attribute__((warn_unused_result));

/*
 * query_page for a list whose rows become JSON objects as they are read (a
 * resident's own requests, a volunteer's work): `p` as for query_page but
 * for size, read and ctx (its own), each row by json() appended to a new
 * array, *items_r (empty past the end). On any error (query_page's,
 * json()'s) nothing is kept and *items_r and *total_r are untouched.
 *
 *     e = query_page_json(d, a, w, &(struct query_page){
 *             .count = "SELECT COUNT(*) FROM env_clues c", .select = "SELECT " MINE_COLS
 *             " FROM env_clues c", .order = " ORDER BY c.id DESC", .page = page,
 *             .page_size = page_size}, mine_json, items_r, total_r);
 */
typedef err (*query_json_fn)(arena *a, db_stmt *s, json_t **o_r);
err query_page_json(db *d, arena *a, const struct query *from_where, const struct query_page *p,
                    query_json_fn json, json_t **items_r, int64_t *total_r)
    __attribute__((warn_unused_result));

/*
 * The one row of a look-up by id in scope (a record's page, the check
 * before a change), read by read() into *item_r: `size` bytes, zeroed
 * before read() fills them.
 *
 * `select` is a literal whose `?` are the id and the scope's bounds, in
 * that order (the scope in the same statement, never checked after):
 *
 *     "SELECT " NOTICE_COLS NOTICE_FROM
 *     " WHERE n.id = ? AND n.region_code >= ? AND n.region_code < ?"
 *
 * `q` stands instead of select, id, lo and hi when the look-up binds other
 * values. Extra rows are not read (the id is a key).
 *
 *     return query_one(d, a, &(struct query_one){
 *             .select = ..., .id = id, .lo = sc->lo, .hi = sc->hi,
 *             .size = sizeof *n_r, .read = notice_read, .missing = "通知不存在"}, n_r);
 *
 * No row: E_NOT_FOUND "not_found" on the field "id" with the message
 * `missing`, or not_found()'s error where the module has its own refusal
 * ("project_not_found"). On any error (that, the statement's, read()'s) *item_r is
 * untouched. It takes at most one struct query from the arena, none from
 * the stack.
 */
struct query_one {
    const char *select;    /* "SELECT cols FROM t x ... WHERE x.id = ? AND <scope>" */
    int64_t id, lo, hi;    /* select's bindings */
    const struct query *q; /* instead of select, id, lo, hi */
    size_t size;           /* of *item_r */
    query_row_fn read;
    void *ctx;              /* read()'s */
    const char *missing;    /* the message of E_NOT_FOUND: "通知不存在" */
    err (*not_found)(void); /* instead of missing: the module's refusal */
};
err query_one(db *d, arena *a, const struct query_one *p, void *item_r)
    __attribute__((warn_unused_result));

/* " = ?" with one binding when n is 1, else " IN (?, ?, …)" with n: the n
 * values of `size` bytes each, contiguous at v (the digests of a blind
 * index during a key rotation, security/crypto.h blind_search). The caller
 * writes the column before it. */
void query_blobs(struct query *q, const void *v, size_t size, int n);

#endif

/*
 * What the files of src/exchange/ share and nothing else includes: the
 * settings of verification, the pure parsers of a call, the region list
 * of a caller row, and the sweep.
 */
#ifndef FK_EXCHANGE_INTERNAL_H
#define FK_EXCHANGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "exchange/exchange.h"

/* The signing window either side of now, ms (FK_EXCHANGE_SKEW_S, 300 s). */
int64_t exchange_skew_ms(void);

/* Whether X-Fk-Timestamp `ts` (decimal epoch ms) lies within skew_ms of
 * now, both edges included. */
bool exchange_timestamp_ok(const char *ts, int64_t now, int64_t skew_ms);

/* A read's query (as sent) as a JSON object of strings, percent-decoded
 * ('+' a space; the last of a repeated name wins; empty names dropped).
 * E_INPUT "invalid_parameter" for a value that is not UTF-8. */
err exchange_query_object(arena *a, const char *q, json_t **out_r) MUST_USE;

/* Parse "code,code,..." into out (at most max); the count. */
int exchange_regions_parse(const char *text, int64_t *out, int max);

/* The names of n regions (one statement each: at most
 * EXCHANGE_REGIONS_MAX), "（已删除的区划）" for one gone. */
err exchange_region_names(db *d, const int64_t *codes, int n, json_t **out_r) MUST_USE;
/* Dataset names of a grant's bits. */
json_t *exchange_sets_json(uint32_t sets);

/* How long an idempotent write's first answer is kept. */
#define EXCHANGE_IDEMPOTENCY_DAYS 7

/* Remove nonces older than the window and idempotency rows older than
 * EXCHANGE_IDEMPOTENCY_DAYS (a db/periodic.h run). */
err exchange_purge(db *d, int64_t now, void *ctx, int64_t *count_r) MUST_USE;

/*
 * exchange_fed_map: another instance's record id -> our copy's id, keyed
 * by who sent it. Downward (federation.c) `owner` is the parent peer and
 * `ds` the dataset; upward (datasets.c) `owner` is the sending child's
 * caller id and `ds` "in:<dataset>" (peer and caller ids never collide:
 * both come from id_next). find: *local_r 0 when not mapped.
 */
err exchange_idmap_find(db *d, int64_t owner, const char *ds, int64_t remote,
                        int64_t *local_r) MUST_USE;
err exchange_idmap_put(db *d, int64_t owner, const char *ds, int64_t remote,
                       int64_t local) MUST_USE;
/* Forget remote's entry (the record was deleted). */
err exchange_idmap_drop(db *d, int64_t owner, const char *ds, int64_t remote) MUST_USE;

/* The writer of the signed front (api.c), started and stopped with the
 * purge by exchange_worker_start/stop. */
err exchange_writer_start(const char *db_url) MUST_USE;
void exchange_writer_stop(void);

/* Hand a signed write to that writer, which answers r itself: E_OK when it
 * will (r is then not answered here). `soap`: 0 for the JSON front, else
 * the envelope's enum soap_version, the answer being an envelope for `op`.
 * Anything else (no writer, no memory, its queue full) leaves the call to
 * the loop: slower, never refused for being busy. */
struct req;
err exchange_writer_submit(struct req *r, const struct exchange_request *rq, int soap,
                           const struct exchange_op *op) MUST_USE;
/* 共享互认's answer cache (share.c), open to its unit test: a copy of the
 * answer kept for token and valid at now, or NULL; keep one until `until`
 * (evicting the least recently used of its set). */
json_t *exchange_share_cache_get(const char *token, int64_t now);
void exchange_share_cache_put(const char *token, json_t *answer, int64_t until);

#endif

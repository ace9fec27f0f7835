/*
 * Peers (对接系统): the systems we call, and the outbox that delivers our
 * change log to them (peer.c, outbox.c, api_peer.c; docs/exchange.md
 * "Peers and the outbox"). exchange.h declares exchange_peer_call, the one
 * call the connectors and the outbox make; this header holds what a peer
 * is, how to load one, and the outbox's worker.
 */
#ifndef FK_EXCHANGE_PEER_H
#define FK_EXCHANGE_PEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "base/vocab.h"
#include "exchange/exchange.h"

/* The kinds of peer (vocabulary "exchange_peer_kind"): fangkong (a parent
 * or sibling instance), gov 政务, police 公安, platform 其他疫情平台,
 * urban 数字城管, telecom 运营商, situation 疫情数据源. */
extern const struct vocab exchange_peer_kind_vocab;

#define PEER_NAME_MAX 60 /* characters */

/* What a government-affairs peer (kind gov) is subscribed to when created
 * without a choice: persons, returns, contacts, itineraries, isolations. */
#define EXCHANGE_GOV_DATASETS                                                                      \
    ((1u << DS_PERSONS) | (1u << DS_RETURNS) | (1u << DS_CONTACTS) | (1u << DS_ITINERARIES) |      \
     (1u << DS_ISOLATIONS))

struct exchange_peer {
    int64_t id;
    char name[4 * PEER_NAME_MAX + 1];
    char kind[16];
    const char *base_url; /* http(s)://host[:port][/prefix], no trailing '/' */
    const char *caller;   /* our caller id at the peer (X-Fk-Caller) */
    const char *key_pem;  /* the private key we sign with there; NULL: the server's key */
    const char *peer_key; /* the peer's public key PEM: its answers must verify */
    const char *ca_file;  /* https trust bundle; NULL: the system store */
    int timeout_s;
    bool enabled;
    uint32_t datasets;   /* the outbox's subscriptions, bit (1u << dataset) */
    int64_t region_code; /* changes inside this subtree are sent; alerts go here */
    int fail_after_s;    /* ALERT_EXCHANGE_PEER_FAILING after failing this long */
    int stale_after_s;   /* ALERT_EXCHANGE_OUTBOX_STALE for a change unsent this long */
    /* how exchange_peer_call reports calls (exchange_call_record): the
     * loaders set "connector"; the outbox sets "outbox" and the batch size */
    const char *front;
    int64_t call_records;
};

/* Load peer id / the peer named name / the first enabled peer of a kind
 * (by id), allocated in a with its private key unsealed. E_NOT_FOUND
 * "peer_not_found" when there is none. */
err exchange_peer_load(db *d, arena *a, int64_t id, struct exchange_peer **p_r) MUST_USE;
err exchange_peer_named(db *d, arena *a, const char *name, struct exchange_peer **p_r) MUST_USE;
err exchange_peer_of_kind(db *d, arena *a, const char *kind, struct exchange_peer **p_r) MUST_USE;

/* Record the outcome of a call in the peer's state (last success, last
 * failure and its reason, failing since): exchange_peer_call does it for
 * every call; the outbox also when a 2xx batch answer is unusable. */
err exchange_peer_mark(db *d, int64_t peer_id, bool ok, const char *reason) MUST_USE;

/* ---- the outbox (outbox.c) ------------------------------------------------------- */

/* Deliver the change log to subscribed peers every every_s seconds on a
 * thread of its own (0: off), and watch the peers' alert thresholds. */
err exchange_outbox_start(const char *db_url, int every_s, int backoff_max_s) MUST_USE;
void exchange_outbox_stop(void);

/* One round now on d: every due (peer, dataset) sends its batches, then
 * the alerts are checked. *sent_r: records delivered. For the sweep and
 * the tests' "send now" (POST /api/v1/exchange/peers/{id}/flush). */
err exchange_outbox_run(db *d, int64_t now, int64_t only_peer, int64_t *sent_r) MUST_USE;

/* The state of peer id's outbox for the console: per subscribed dataset
 * {dataset, sent_seq, backlog, oldest_at, attempts, next_at, last_error}. */
err exchange_outbox_state(db *d, const struct exchange_peer *p, json_t **items_r) MUST_USE;

#endif

/* ---- the registry (peer_admin.c; API in api_peer.c) -------------------------------- */

/* The request fields of a peer (create: name, kind, base_url, caller,
 * peer_key required). */
extern const struct jfield exchange_peer_fields[];

/*
 * Create a peer from a checked body (exchange_peer_fields) in scope sc
 * (its region defaults to `home`, the administrator's region, and must lie
 * in sc), or update peer id with the members present. Every field is
 * checked and every field at fault answered at once (E_INPUT with field):
 * an unknown kind or dataset, a URL that is not http(s), a key that is not
 * an SM2 key of the right half, a CA file that cannot be read, a region
 * outside sc. A gov peer created without datasets gets EXCHANGE_GOV_DATASETS. E_CONFLICT
 * "peer_name_taken". Runs in the caller's transaction.
 */
err exchange_peer_create(db *d, arena *a, const struct scope *sc, int64_t home, json_t *in,
                         int64_t user_id, int64_t *id_r) MUST_USE;
err exchange_peer_update(db *d, arena *a, const struct scope *sc, int64_t id, json_t *in) MUST_USE;
/* Delete peer id (in sc) with its outbox cursors. */
err exchange_peer_delete(db *d, const struct scope *sc, int64_t id) MUST_USE;

/* The peers in sc, each as exchange_peer_get answers, by name. */
err exchange_peer_list(db *d, arena *a, const struct scope *sc, json_t **items_r) MUST_USE;
/* One peer in sc, without its private key: {id, name, kind, kind_label,
 * base_url, caller, key: "uploaded"|"server", peer_key, ca_file, timeout_s,
 * enabled, datasets, region_code, region_name, fail_after_s, stale_after_s,
 * last_ok_at, last_fail_at, last_error, failing, failing_since, backlog,
 * outbox: [...] (exchange_outbox_state), rejects (the last 20)}. */
err exchange_peer_get(db *d, arena *a, const struct scope *sc, int64_t id, json_t **out_r) MUST_USE;

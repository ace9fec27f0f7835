/*
 * Data exchange (数据共享交换, seed 000 §6.3, §7.6; issue 13): the signed
 * interface other systems call, the change cursors they read by, the
 * outbox that delivers our changes to peers, the connectors, and the
 * federation between fangkong instances. docs/exchange.md is the
 * integrator's side of this contract.
 *
 * One call, whatever carries it (HTTP/JSON under /exchange/v1/, SOAP at
 * /exchange/soap, MQTT for devices stays in device/):
 *
 *   front (api.c, soap.c)        parses its envelope into an exchange_request
 *   exchange_handle()            verifies caller, key, timestamp, nonce and
 *                                signature; rate limit; dataset and region
 *                                grants; replays an idempotent write's first
 *                                answer; runs the operation; counts the call;
 *                                signs the answer
 *   exchange_op.run()            the dataset's work, through the capability's
 *                                own contract, in the caller's scope
 *
 * Signatures (sign.c). A call is signed with the caller's SM2 key over the
 * canonical text of exchange_canonical(); the answer is signed with the
 * server's own SM2 key over exchange_canonical_reply(), bound to the
 * request's nonce so an answer cannot be replayed to another request. The
 * seed's "encrypt the parameters with the public key to make the
 * signature, verify with the private key" describes exactly this with the
 * roles of the keys named loosely; docs/exchange.md gives the mapping.
 */
#ifndef FK_EXCHANGE_EXCHANGE_H
#define FK_EXCHANGE_EXCHANGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"
#include "security/crypto.h"

/* ---- signatures (sign.c) ----------------------------------------------------- */

/* The headers of a signed HTTP call, and the SOAP header fields of the same
 * names without the prefix (Caller, Timestamp, Nonce, Signature,
 * IdempotencyKey). */
#define EXCHANGE_H_CALLER      "X-Fk-Caller"
#define EXCHANGE_H_TIMESTAMP   "X-Fk-Timestamp"  /* epoch milliseconds, decimal */
#define EXCHANGE_H_NONCE       "X-Fk-Nonce"      /* 16..64 of [A-Za-z0-9_-] */
#define EXCHANGE_H_SIGNATURE   "X-Fk-Signature"  /* base64 of the DER SM2 signature */
#define EXCHANGE_H_IDEMPOTENCY "Idempotency-Key" /* writes: 1..64 of [A-Za-z0-9_.:-] */

#define EXCHANGE_NONCE_MIN 16
#define EXCHANGE_NONCE_MAX 64

/*
 * The canonical text a caller signs (lines joined by "\n", no final
 * newline):
 *
 *     FK-SM2-SM3
 *     <METHOD>            upper case: GET, POST, PUT
 *     <path>              as sent, without the query: /exchange/v1/persons
 *     <query>             the query's name=value pairs exactly as sent
 *                         (percent-encoding untouched), sorted bytewise and
 *                         joined by "&"; empty when there is none
 *     <body hash>         lower-case hex SM3 of the body's bytes (of the
 *                         empty string when there is no body)
 *     <caller>            the X-Fk-Caller value
 *     <timestamp>         the X-Fk-Timestamp value
 *     <nonce>             the X-Fk-Nonce value
 *
 * query may be NULL or "". The text is allocated in a.
 */
err exchange_canonical(arena *a, const char *method, const char *path, const char *query,
                       const void *body, size_t body_len, const char *caller, const char *timestamp,
                       const char *nonce, char **text_r, size_t *len_r) MUST_USE;

/*
 * The canonical text of an answer, signed by the server:
 *
 *     FK-SM2-SM3-REPLY
 *     <status>            the HTTP status, decimal (SOAP: the status the
 *                         same call would have had over HTTP)
 *     <body hash>         lower-case hex SM3 of the reply body's bytes
 *     <nonce>             the request's nonce ("" when the request had none)
 *     <timestamp>         the reply's X-Fk-Timestamp
 */
err exchange_canonical_reply(arena *a, int status, const void *body, size_t body_len,
                             const char *nonce, const char *timestamp, char **text_r,
                             size_t *len_r) MUST_USE;

/* ---- datasets ------------------------------------------------------------------ */

/* What a caller may read or write, granted per caller and per direction.
 * Names (exchange_dataset_name) are stable: they are stored, and they are
 * the path segment /exchange/v1/<name>. */
enum exchange_dataset {
    DS_PERSONS,     /* persons: the registry record */
    DS_RETURNS,     /* 返程信息: a person's return journey */
    DS_CONTACTS,    /* 接触信息: close contacts of a case */
    DS_ITINERARIES, /* 行程信息 */
    DS_ISOLATIONS,  /* 居家隔离 and centralised quarantine records */
    DS_CASES,       /* case status (read) */
    DS_RESULTS,     /* nucleic-acid test results */
    DS_NAT,         /* the nucleic-acid ingest: sites, plans, samples, transport, clock-ins */
    DS_ZONES,       /* sealed and controlled zones */
    DS_RISK_AREAS,  /* risk areas */
    DS_STATS,       /* statistics (read) */
    DS_CODES, /* 共享互认: a health code issued here, verified for another instance's gate */
    DS_CODE_RULES, /* the health-code rules a parent publishes to its children (read) */
    DS_NOTICES,    /* notices to all residents of a region, for the children below it (read) */
    DS__COUNT
};

const char *exchange_dataset_name(enum exchange_dataset ds);
/* -1 for an unknown name. */
int exchange_dataset_of(const char *name);

/* ---- callers -------------------------------------------------------------------- */

#define EXCHANGE_REGIONS_MAX 8

/* A verified caller, for the length of one call. */
struct exchange_caller {
    int64_t id;
    int64_t user_id; /* its account (role exchange_client): audit entries name it */
    char name[64];
    int nregions;
    int64_t regions[EXCHANGE_REGIONS_MAX]; /* padded codes of the granted subtrees */
    /* subtrees granted for reading only, besides regions (a street child
     * reading its district's zones): every read path reads in regions and
     * read_regions, every write checks regions alone */
    int nread_regions;
    int64_t read_regions[EXCHANGE_REGIONS_MAX];
    uint32_t read_sets, write_sets; /* bit (1u << dataset) */
};

/* True when region_code lies in one of the caller's granted subtrees (the
 * write grant: regions). */
bool exchange_caller_has_region(const struct exchange_caller *c, int64_t region_code);
/* True when region_code lies in a subtree the caller may read: regions or
 * read_regions. */
bool exchange_caller_reads_region(const struct exchange_caller *c, int64_t region_code);

/* ---- the registry of callers (caller.c) --------------------------------------------
 *
 * Registered by the security administrator (exchange.admin), within the
 * administrator's scope (a caller is listed by its first region). Each
 * caller has an account of role exchange_client (no usable password; its
 * sign-in is refused) that audit entries name, and at most
 * EXCHANGE_KEYS_MAX valid SM2 keys: fangkong makes each pair, answers the
 * private PEM once (never stored) and keeps the public one. A rotation
 * makes a new pair and keeps the old one valid for an overlap of 0..30
 * days (valid_until); a revocation ends a key at once.
 */
#define EXCHANGE_KEYS_MAX     2
#define EXCHANGE_OVERLAP_DAYS 7   /* a rotation's default overlap */
#define EXCHANGE_OVERLAP_MAX  30  /* days */
#define EXCHANGE_RATE_DEFAULT 600 /* calls per minute */
#define EXCHANGE_RATE_MAX     1000000
#define EXCHANGE_NAME_MAX     64 /* characters of a caller's name or organisation */

/* What the administrator gives (create: every member; update: the set ones). */
enum {
    EXCHANGE_SET_NAME = 1,
    EXCHANGE_SET_ORG = 2,
    EXCHANGE_SET_CONTACT = 4, /* contact_name */
    EXCHANGE_SET_REGIONS = 8,
    EXCHANGE_SET_SETS = 16, /* read_sets and write_sets */
    EXCHANGE_SET_RATE = 32,
    EXCHANGE_SET_EXPIRES = 64,
    EXCHANGE_SET_PHONE = 128,        /* contact_phone */
    EXCHANGE_SET_READ_REGIONS = 256, /* read_regions */
};
struct exchange_caller_input {
    unsigned set;
    const char *name, *organisation, *contact_name, *contact_phone;
    int nregions;
    int64_t regions[EXCHANGE_REGIONS_MAX]; /* padded codes */
    int nread_regions;                     /* 0..EXCHANGE_REGIONS_MAX */
    int64_t read_regions[EXCHANGE_REGIONS_MAX];
    uint32_t read_sets, write_sets;
    int64_t rate_per_min;
    int64_t expires_at; /* epoch ms, 0: never */
};

/*
 * Parse a caller's JSON ({name, organisation, contact_name, contact_phone,
 * regions: [codes], read_regions: [codes] (optional, may be empty: the
 * subtrees granted for reading only), read: [dataset names], write: [...],
 * rate_per_min, expires_at}) into *in (strings point into `b`), checking every field at
 * once (E_INPUT with every field at fault). partial: an update (absent
 * members are left unset).
 */
err exchange_caller_parse(json_t *b, bool partial, struct exchange_caller_input *in) MUST_USE;

/* Create a caller, its account and its first key, in one transaction, in
 * by's scope (NULL: the command line, any region). E_INPUT
 * "invalid_region" (field regions or read_regions) for a region unknown or
 * out of scope,
 * E_CONFLICT "duplicate_name". *priv_pem_r: the private key (in a). */
err exchange_caller_create(db *d, arena *a, const struct principal *by,
                           const struct exchange_caller_input *in, int64_t *id_r,
                           char **priv_pem_r) MUST_USE;
err exchange_caller_update(db *d, arena *a, const struct principal *by, int64_t id,
                           const struct exchange_caller_input *in) MUST_USE;
/* active <-> suspended (reason for the list); a deleted caller cannot come
 * back (E_CONFLICT "caller_deleted"). */
err exchange_caller_set_state(db *d, const struct principal *by, int64_t id, bool suspended,
                              const char *reason) MUST_USE;
/* Delete: the caller is disabled for good, its keys revoked and its
 * account disabled; the rows stay for the audit log. */
err exchange_caller_delete(db *d, arena *a, const struct principal *by, int64_t id) MUST_USE;
/* A new key; the valid keys other than the newest are revoked, the newest
 * stays valid for overlap_days (0..EXCHANGE_OVERLAP_MAX). */
err exchange_caller_rotate(db *d, arena *a, const struct principal *by, int64_t id,
                           int overlap_days, int64_t *key_id_r, char **priv_pem_r) MUST_USE;
/* Revoke key key_id of caller id at once (E_NOT_FOUND "key_not_found"). */
err exchange_caller_revoke_key(db *d, const struct principal *by, int64_t id,
                               int64_t key_id) MUST_USE;

struct exchange_caller_filter {
    const char *q;     /* name or organisation contains */
    const char *state; /* active | suspended | expired | NULL: any but deleted */
    int64_t page, page_size;
};
/* The callers in by's scope as JSON objects for the console (regions and
 * datasets by name, the phone masked unless reveal). */
err exchange_caller_list(db *d, arena *a, const struct principal *by,
                         const struct exchange_caller_filter *f, json_t **items_r,
                         int64_t *total_r) MUST_USE;
/* One caller with its keys (E_NOT_FOUND "caller_not_found" outside scope). */
err exchange_caller_get(db *d, arena *a, const struct principal *by, int64_t id,
                        json_t **out_r) MUST_USE;

/* ---- operations ------------------------------------------------------------------ */

/* Records in one batch write ({"records": [...]}), 413 batch_too_large beyond. */
#define EXCHANGE_BATCH_MAX 1000
/* The dataset of an operation that touches none (ping): never granted or
 * refused. */
#define EXCHANGE_DS_NONE DS__COUNT

/* What an operation runs with. */
struct exchange_ctx {
    db *d;
    arena *a;
    const struct exchange_caller *caller;
    /* a principal standing for the caller inside capability contracts:
     * user_id = caller->user_id, scope = the subtree of `region` (below),
     * perms = those the operation needs */
    struct principal who;
    /* the region the call is about: the "region" parameter when given
     * (it must lie in a granted subtree: 403 region_not_granted), else the
     * caller's first region */
    int64_t region_code;
    const char *idempotency_key; /* writes; NULL on reads */
};

/*
 * One operation, the same over HTTP and SOAP. `name` is the SOAP
 * operation and the metrics label ("persons.put"); method and path are its
 * HTTP form. `in` is the JSON body for writes, or for reads an object of
 * the query parameters (strings); the operation answers a JSON object
 * (stolen by the caller) or an err with its detail, like a handler.
 */
struct exchange_op {
    const char *name;
    const char *method; /* "GET", "POST", "PUT" */
    const char *path;   /* "/exchange/v1/persons" */
    enum exchange_dataset dataset;
    bool write;
    err (*run)(struct exchange_ctx *x, json_t *in, json_t **out_r);
    const char *summary; /* Chinese, for the OpenAPI document and the WSDL */
    /* a read that takes a JSON body (`in`) and may call another instance
     * (共享互认's verify): run on the exchange worker like a write, never on
     * an event loop, without an idempotency key */
    bool offload;
};

/* Register operations (before serving; the table must outlive the server). */
err exchange_ops_add(const struct exchange_op *ops, size_t n) MUST_USE;
/* Every registered operation, in registration order. */
const struct exchange_op *const *exchange_ops_all(size_t *n_r);
const struct exchange_op *exchange_op_find(const char *method, const char *path);
const struct exchange_op *exchange_op_named(const char *name);

/* A call as a front received it. */
struct exchange_request {
    const char *front; /* "http" or "soap", for metrics */
    const char *method, *path, *query;
    const void *body;
    size_t body_len;
    const char *caller, *timestamp, *nonce, *signature, *idempotency_key;
    const char *ip;
};

/* The answer: status, JSON body text (malloc'd in a), and the server's
 * signature of it with its timestamp. */
struct exchange_response {
    int status;
    char *body;
    size_t body_len;
    char timestamp[24];
    char signature[4 * ((SM2_SIG_MAX + 2) / 3) + 1];
    bool replayed; /* an idempotent write's first answer, replayed (Idempotency-Replayed) */
};

/*
 * Handle one call end to end (see the file comment). Never fails as a C
 * function: every refusal is a signed answer with its status and the
 * usual {"error":{code,message,field}} body, and each verification failure
 * has its own 401 code (docs/exchange.md lists them).
 */
void exchange_handle(db *d, arena *a, const struct exchange_request *rq,
                     struct exchange_response *rs);

/* ---- wiring (app.c) ----------------------------------------------------------------- */

/* Register the exchange's own operations (ping, the nucleic-acid ingest). */
err exchange_register(void) MUST_USE;
/* Add a route of the signed front for every operation registered so far,
 * and GET /exchange/v1/server-key: call once, after every capability
 * registered its operations. */
err exchange_front_routes(void) MUST_USE;

/* The purge of nonces past the window and idempotent answers past
 * EXCHANGE_IDEMPOTENCY_DAYS every every_s seconds (FK_EXCHANGE_PURGE,
 * 300; 0: never), on its own thread (db/periodic.h); and the writer: the
 * signed writes of the HTTP front run on a thread of their own with its own
 * connection (a batch of 1,000 records would otherwise hold an event loop,
 * and every connection on it, for the batch's time), answered by the
 * request's loop. Without it (tools, unit tests) they run on the loop. */
err exchange_worker_start(const char *db_url, int every_s) MUST_USE;
void exchange_worker_stop(void);

/* ---- the server's own key --------------------------------------------------------- */

/* Sign msg with the server's SM2 key (made on first use, kept sealed in the
 * database so every server of a deployment signs with the same key). */
err exchange_server_sign(db *d, const void *msg, size_t n, char *sig_b64, size_t cap) MUST_USE;
/* The server's public key as PEM in a (GET /exchange/v1/server-key). */
err exchange_server_public_pem(db *d, arena *a, char **pem_r) MUST_USE;

/* ---- change log (changes.c) -------------------------------------------------------- */

/*
 * Record, inside the writer's transaction, that object_id of dataset ds in
 * region_code changed (op "upsert" or "delete"). The change gets the next
 * sequence number of its dataset; numbers of one dataset become visible in
 * increasing order with no gaps, so a reader that has seen up to n never
 * misses a change above n (on PostgreSQL the per-dataset counter row is
 * locked until the writer commits). The outbox and the change cursors of
 * /exchange/v1/<dataset>/changes read this log.
 */
err exchange_change(db *d, enum exchange_dataset ds, int64_t object_id, int64_t region_code,
                    const char *op) MUST_USE;

/*
 * The change log's tables (made by the migration of changes.c):
 *   exchange_changes(dataset TEXT, seq BIGINT, object_id BIGINT,
 *                    region_code BIGINT, op TEXT, at BIGINT,
 *                    PRIMARY KEY (dataset, seq))
 *   exchange_seq(dataset TEXT PRIMARY KEY, seq BIGINT)  -- last number given
 * Readers page by (dataset, seq > cursor) in seq order.
 */

/*
 * The current state of one record of a dataset as the exchange sends it
 * (the same JSON the changes cursor and the outbox send; personal fields in
 * full, since the receiving system is entitled to them by its grant, and
 * each read is audited by the caller of this function). E_NOT_FOUND when
 * the record is gone (a delete is sent as {"id", "deleted": true}).
 */
err exchange_record_json(db *d, arena *a, enum exchange_dataset ds, int64_t id,
                         json_t **out_r) MUST_USE;

/* ---- dataset operations (datasets.c) ---------------------------------------------- */

/*
 * The dataset operations (docs/exchange.md "Datasets and cursors"): the
 * change cursor GET /exchange/v1/<dataset>/changes of every logged
 * dataset, the batch writes POST /exchange/v1/<dataset>, and the reads of
 * cases, zones, risk areas and statistics. A static table: src/app.c
 * registers it with exchange_ops_add.
 */
const struct exchange_op *exchange_data_ops(size_t *n_r);

/* ---- observing calls (observe.c) ---------------------------------------------------- */

/* What one call did, inbound (a peer called us) or outbound (we called a
 * peer: the outbox, a connector, the federation). */
struct exchange_call_record {
    const char *front; /* "http", "soap", "outbox", "connector" */
    bool outbound;
    int64_t caller_id;       /* inbound: the caller, 0 when unidentified */
    const char *caller_name; /* inbound: the caller's name (monitoring shows names), NULL or ""
                                when unidentified */
    int64_t region_code;     /* inbound: the caller's first granted region (who sees its
                                figures, where its anomaly alerts go); 0 unidentified/outbound */
    const char *peer;        /* outbound: the peer's name */
    const char *op;          /* the operation name, "" when none was reached */
    int dataset;             /* enum exchange_dataset, -1 for none */
    int status;              /* HTTP status (0: no answer) */
    const char *result;      /* "ok" or the error slug */
    int64_t records;         /* records in the batch, 0 for none */
    int64_t latency_us;
};

/* Register an observer of every call (before serving; at most 8). */
err exchange_on_call(void (*fn)(const struct exchange_call_record *rec)) MUST_USE;
/* Tell every observer; from any thread. */
void exchange_record_call(const struct exchange_call_record *rec);

/* ---- monitoring (watch.c; docs/exchange.md "Monitoring") ------------------------------ */

/*
 * Every call reported to exchange_record_call() is counted, by the observer
 * exchange_watch_register() installs, in two places, never blocking the
 * event loop that reports it (a short mutex over memory):
 *   /metrics     fangkong_exchange_call_seconds{direction,party,dataset,result}
 *                (histogram: _count is the calls) and
 *                fangkong_exchange_records_total{direction,party,dataset}; party is the
 *                caller's name inbound (or "" unidentified), the peer's outbound;
 *   the database per-minute aggregates (exchange_minutes, sql/057), written
 *                by a thread every flush period and ADDED to the rows, so
 *                several servers on one database sum up. The console page,
 *                its API and the anomaly baselines read them.
 * Rejected calls count like the others, under their error slug as result
 * (a bad signature of a known caller under that caller).
 */
err exchange_watch_register(void) MUST_USE;

/* Start the flusher (every flush_s seconds, default 5; FK_EXCHANGE_FLUSH) and
 * the anomaly sweep (every sweep_s seconds, default 60; FK_EXCHANGE_ANOMALY_EVERY;
 * 0: off) with the rule's min_calls (default 20, FK_EXCHANGE_ANOMALY_MIN_CALLS;
 * min_errors is half of it), each on a thread and connection of its own. Stop
 * flushes what memory still holds. */
err exchange_watch_start(const char *db_url, int flush_s, int sweep_s, int min_calls) MUST_USE;
void exchange_watch_stop(void);

/* Write the counts held in memory to the aggregates now (the flusher's work;
 * tests). Counts a failed write could not store stay in memory for the
 * next flush. E_DB. */
err exchange_watch_flush(db *d) MUST_USE;

/* The p99 of latency bucket counts b[0..EXCHANGE_LAT_BUCKETS) over the bounds
 * of /metrics (http_latency_bounds_ms; the last bucket is "above the last
 * bound"): the upper bound of the bucket holding the 99th percentile, 0 with
 * no calls, -1 when it lies above the last bound. */
#define EXCHANGE_LAT_BUCKETS 13
double exchange_p99_ms(const int64_t b[EXCHANGE_LAT_BUCKETS]);

/*
 * The anomaly rule (a pure function, unit-tested at its edges). A caller's
 * last window (EXCHANGE_WINDOW_MIN minutes, the current one included) is
 * compared with its baseline: the EXCHANGE_BASELINE_WINDOWS windows before
 * it (24 hours), counted from the first window the caller was seen in (a new
 * caller has a short baseline; windows without calls count as 0 calls).
 *
 *   errors       calls >= min_calls, errors >= min_errors, and the window's
 *                error rate above the baseline's pooled rate (errors / calls,
 *                0 without calls) by at least max(rate_rise, sigmas x the
 *                deviation of the per-window rates of windows with calls);
 *   volume_high  at least min_history baseline windows, calls >= min_calls,
 *                and z = (calls - mean) / max(sd, sqrt(mean), 1) >= sigmas
 *                (the square root: a count's own noise, so a steady caller's
 *                sd of 0 does not make every wobble an anomaly);
 *   volume_low   at least min_history windows, mean >= min_calls, z <= -sigmas.
 * The first that holds, in that order. The figures go to *v either way.
 */
#define EXCHANGE_WINDOW_MIN       10
#define EXCHANGE_BASELINE_WINDOWS 144

enum exchange_anomaly_kind {
    EXCHANGE_ANOMALY_NONE,
    EXCHANGE_ANOMALY_ERRORS,      /* "errors": 失败率异常升高 */
    EXCHANGE_ANOMALY_VOLUME_HIGH, /* "volume_high": 调用量异常升高 */
    EXCHANGE_ANOMALY_VOLUME_LOW   /* "volume_low": 调用量异常下降 */
};

struct exchange_anomaly_rule {
    int64_t min_calls;  /* 20 (FK_EXCHANGE_ANOMALY_MIN_CALLS) */
    int64_t min_errors; /* 10 */
    int min_history;    /* 6 windows: an hour */
    double sigmas;      /* 4 */
    double rate_rise;   /* 0.2: twenty points of error rate */
};

struct exchange_window {
    int64_t calls, errors;
};

struct exchange_anomaly_verdict {
    enum exchange_anomaly_kind kind;
    double mean_calls, sd_calls; /* over the baseline windows */
    double base_rate, sd_rate;   /* the baseline's pooled error rate, per-window deviation */
    double rate, z;              /* the window's error rate and volume z */
    int history;                 /* baseline windows */
};

/* Judge `now` against hist[0..nhist) (oldest first, nhist <= EXCHANGE_BASELINE_WINDOWS). */
enum exchange_anomaly_kind exchange_anomaly_judge(const struct exchange_anomaly_rule *r,
                                                  struct exchange_window now,
                                                  const struct exchange_window *hist, int nhist,
                                                  struct exchange_anomaly_verdict *v);
const char *exchange_anomaly_name(enum exchange_anomaly_kind k); /* "" for none */

/*
 * The sweep at `now` (epoch ms): judge every inbound caller seen in the last
 * day, and raise ALERT_EXCHANGE_ANOMALY (warning, at the caller's region, the
 * figures in the message and detail) for a caller judged anomalous, at most
 * once per caller and hour whichever server sweeps first (exchange_anomalies'
 * unique key), each in its own transaction. *raised_r (may be NULL) counts
 * the alerts raised. E_DB.
 */
err exchange_anomaly_sweep(db *d, int64_t now, const struct exchange_anomaly_rule *r,
                           int64_t *raised_r) MUST_USE;

/*
 * The monitoring summary of the last `minutes` minutes before now (1..1440)
 * inside scope sc (inbound rows of callers in sc, and the deployment's rows:
 * outbound and unidentified), as GET /api/v1/exchange/monitor answers it:
 * totals, a per-minute series, callers, peers, error codes (docs/exchange.md).
 */
err exchange_monitor_summary(db *d, arena *a, const struct scope *sc, int64_t now, int minutes,
                             json_t **out_r) MUST_USE;

/* ---- calling peers (peer.c) ------------------------------------------------------------ */

/*
 * A system we call: another fangkong instance, a government platform, a
 * police service, ... Stored in exchange_peers (name, kind, base URL, our
 * caller id at the peer, the private key we sign with there — sealed, or
 * none to sign with the server's own key — and the peer's public key that
 * its answers must verify under).
 */
struct exchange_peer;

struct exchange_peer_reply {
    int status; /* 0: no answer (connection refused, timeout) */
    char *body; /* NUL-terminated, in a */
    size_t len;
    bool verified; /* the answer carried a valid signature of the peer */
};

/*
 * One signed call to a peer (blocking the calling thread for at most the
 * peer's timeout: call it from a background thread, never an event loop):
 * method and path+query relative to the peer's base URL, a JSON body or
 * NULL, an idempotency key or NULL. E_UNAVAILABLE "peer_unreachable" when
 * no answer came; an answer whose signature does not verify is E_CRYPTO
 * "peer_signature_invalid". Every call is recorded (exchange_record_call).
 */
err exchange_peer_call(db *d, arena *a, const struct exchange_peer *p, const char *method,
                       const char *path_query, const char *body, const char *idempotency_key,
                       struct exchange_peer_reply *reply_r) MUST_USE;

/* ---- federation (federation.c; docs/exchange.md "Federation") ---------------------------- */

/*
 * Four-level federation (四级数据联通): an instance's parent is a peer of
 * kind fangkong named by FK_FED_PARENT. Upward, the outbox delivers the
 * subscribed datasets to it like to any peer. Downward, the puller reads
 * the parent's zones and risk areas by change cursor
 * (/exchange/v1/<dataset>/changes?since=) and applies each change here
 * through code's zone and risk-area contracts, so the parent's zones move
 * the codes of the people living here. A zone anchored above this
 * instance's root (the parent peer's region: a district-wide zone at a
 * street) is copied anchored at the root, keeping its name, kind, window
 * and boundary. With code_rules_followed() (FK_FED_RULES=1) the puller
 * then reads the parent's rules (GET /exchange/v1/code_rules) and, when
 * their version changed, saves them with code_rules_save and queues the
 * recompute of everyone. The cursor and the map from the
 * parent's record ids to ours (exchange_fed_cursors, exchange_fed_map)
 * are written in the transaction that applies the page, with a
 * compare-and-set on the cursor: a change is applied once, whichever
 * server of a deployment pulls first, and again never after a crash.
 */

/* Name the parent peer (NULL or "": none; the puller then does nothing).
 * Before serving. */
void exchange_fed_configure(const char *parent_name);
/* The configured parent's name, "" when none. */
const char *exchange_fed_parent(void);

/* Take the parent's notices (FK_FED_NOTICES=1; before serving): the
 * puller then reads dataset "notices" after the risk areas and publishes
 * here the parent's notices to all residents of a region covering this
 * instance's root (docs/exchange.md "Notices downward"). Off by default:
 * the parent's caller must also grant read "notices". */
void exchange_fed_take_notices(bool on);

/*
 * One pull now on d: for zones then risk areas, page through the parent's
 * changes after the stored cursor and apply them; then, when following,
 * the code rules (a version taken counts as one applied change). *applied_r: changes
 * applied (a change whose record we refuse, e.g. a region unknown here, is
 * counted in the cursor's `rejected`, logged with its reason and passed).
 * E_NOT_FOUND "fed_no_parent" without a parent; the peer's errors
 * (E_UNAVAILABLE "peer_unreachable", E_CRYPTO "peer_signature_invalid") or
 * E_UNAVAILABLE "fed_parent_refused" / "fed_bad_answer" when the parent
 * answered but not with a page: the cursor stays, the reason is stored.
 */
err exchange_fed_pull(db *d, arena *a, int64_t *applied_r) MUST_USE;

/* The puller's thread: a pull every every_s seconds (0: none) on its own
 * connection (db/periodic.h). */
err exchange_fed_start(const char *db_url, int every_s) MUST_USE;
void exchange_fed_stop(void);

/* {parent: {id, name, base_url} | null, rules_followed, notices_taken, cursors: [{dataset,
 * seq, pulled_at, applied, rejected, last_error}]} for the console and the
 * tests (code_rules' seq: the version of the parent's rules taken, -1
 * before the first). */
err exchange_fed_state(db *d, arena *a, json_t **out_r) MUST_USE;

/* ---- shared recognition, 共享互认 (share.c; docs/exchange.md "Shared recognition") ---------
 *
 * A health code issued by another instance of the federation is verified by
 * its issuer: a token that fails token_verify here as "token_forged" names
 * (untrusted, token_decode_untrusted) a subject whose id carries the
 * issuer's node (base/id.h); the call goes to the child peer whose `nodes`
 * hold that node, else up to the parent (FK_FED_PARENT), at most
 * SHARE_HOPS_MAX hops and never back to an instance it came through. Each
 * hop signs the issuer's answer again (exchange_handle) and caches it until
 * its valid_until. The operation is POST /exchange/v1/codes/verify (dataset
 * codes, read grant), body {token, hops?, via?: [nodes passed]}; it answers
 * {person_id, name (masked), colour, label, reasons, region_name (the
 * person's street), issuer (node), valid_until}.
 */
#define SHARE_HOPS_MAX     4
#define SHARE_CACHE_MAX    4096 /* answers kept in memory per instance */
#define EXCHANGE_NODES_MAX 120  /* characters of a peer's node list */

/*
 * Check and normalise a node list: FK_NODE numbers (0..1023) and ranges,
 * comma-separated ("32", "32,40-47"; spaces ignored; "" none). E_INPUT
 * "invalid_nodes" (field "nodes") for anything else, a range running
 * backwards, or more than EXCHANGE_NODES_MAX characters. Pure.
 */
err exchange_nodes_parse(const char *s, char out[EXCHANGE_NODES_MAX + 1]) MUST_USE;
/* Does a list exchange_nodes_parse accepted hold node? Pure. */
bool exchange_nodes_has(const char *list, int node);

/* How long an answer of ours may be cached (FK_SHARE_CACHE_S, default 60;
 * a code turning red here is seen at another gate within this). Before
 * serving. */
void exchange_share_configure(int cache_s);

/* The operation (registered by exchange_register). */
err exchange_share_register(void) MUST_USE;

/* Can this instance ask anyone (a parent, or a child peer with nodes)? */
bool exchange_share_enabled(db *d);

/*
 * What a gate asks for a token it cannot verify: the issuer's answer (as
 * above), from the cache or by calling a peer. Blocking: never on an event
 * loop. Errors: the issuer's token_* refusals (E_INPUT, field "token"),
 * E_NOT_FOUND "share_issuer_unknown" / "unknown_person", E_CONFLICT
 * "share_too_many_hops", E_UNAVAILABLE "share_unavailable" (no answer, an
 * unsigned or unusable one). *out_r is the caller's (json_decref).
 */
err exchange_share_lookup(db *d, arena *a, const char *token, json_t **out_r) MUST_USE;

/* Remember a remote person an answer named (exchange_share_people), so
 * the access lists show "张*（外区：某某街道）"; in the caller's transaction. */
err exchange_share_seen(db *d, json_t *answer) MUST_USE;

/* The cache (for the tests and the bench): drop every entry / count them. */
void exchange_share_cache_clear(void);
size_t exchange_share_cache_size(void);

#endif

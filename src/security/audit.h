/*
 * The audit log: every write, and every read of personal data, with who,
 * from where, what, on which record, and the result.
 *
 * Tamper evidence against whoever can write the database (docs/audit.md):
 * - Entries form one keyed hash chain per writing node: hash =
 *   HMAC-SM3(KEY_AUDIT, prev_hash || canonical text of the entry). The key
 *   derives from the master key, which is outside the database, so an entry
 *   cannot be rewritten and its chain recomputed without the key.
 * - The chain is anchored outside the database: signed checkpoints (node,
 *   seq, hash, count, time; HMAC-SM3 under KEY_AUDIT_ANCHOR) are appended to
 *   the anchor file beside the master key and sent to syslog, at start,
 *   every FK_AUDIT_CHECKPOINT seconds while the chain grows, at shutdown,
 *   and when a command-line tool that wrote entries exits. A cut tail or a
 *   wiped table is found against them.
 * - Pruning (audit_prune) writes a signed retention marker (database and
 *   anchor file), so a verified removal of the oldest entries is told apart
 *   from deletion.
 * - The chain head (last seq and hash) is also kept in settings, which
 *   catches a cut tail newer than the last checkpoint by a careless editor.
 *
 * Writing. Inside an open transaction on d, audit_log() appends the entry
 * in that transaction: it is durable with the write it describes or not at
 * all (a failed append poisons the transaction). Outside a transaction
 * (reads of personal data, the hot path) it queues the entry for a writer
 * thread (audit_start) that appends in group commits every few
 * milliseconds. Without a writer thread (command-line tools) it writes
 * synchronously. Every append reads the chain head from the database inside
 * its transaction (SQLite: under the write lock; PostgreSQL: with the head
 * row locked FOR UPDATE), so appenders of one node — threads, servers,
 * tools — interleave without forking the chain.
 */
#ifndef FK_SECURITY_AUDIT_H
#define FK_SECURITY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

struct audit_entry {
    int64_t user_id;
    const char *username;
    const char *role;
    const char *ip;
    const char *action;      /* "person.read", "person.create", "auth.login", … */
    const char *object_type; /* "person", "user", … */
    int64_t object_id;
    const char *result; /* "ok", or an error slug */
    const char *detail; /* no personal data: field names, counts */
};

/*
 * Where signed checkpoints and retention markers go (NULL or "": nowhere,
 * and verification checks the chain only), and how often the writer
 * thread writes a checkpoint while the chain grows (seconds). Call before
 * audit_start and before any entry is written.
 */
void audit_configure(const char *anchor_file, int checkpoint_s);

/* Start the writer thread with its own connection to db_url; it writes a
 * checkpoint of the chain head it finds at once. */
err audit_start(const char *db_url) MUST_USE;
/* Flush what is queued, stop the writer and write a last checkpoint. */
void audit_stop(void);
/* Wait until every entry queued so far is durable. */
void audit_flush(void);

/*
 * Append one entry in d's open transaction, or else queue it (or, without
 * a writer, write it at once). Strings are copied.
 *
 * Errors: the append's (E_DB…; the transaction is then poisoned, so the
 * write it describes cannot commit without it), or E_UNAVAILABLE
 * "queue_full" when the writer thread's queue holds its cap
 * (audit_set_queue_max) of entries not yet written. The caller must then
 * not serve what the entry describes: an access that cannot be audited is
 * refused (503), never served unaudited.
 */
err audit_log(db *d, const struct audit_entry *e) MUST_USE;

/* The cap on entries queued for the writer thread and not yet written
 * (FK_AUDIT_QUEUE; 0: the default, 100,000). Any time. */
void audit_set_queue_max(size_t n);

/* Entries queued for the writer thread and not yet written (/metrics). */
size_t audit_queue_depth(void);

/* Write a checkpoint of the head this process last committed, if it wrote
 * entries since the last checkpoint (command-line tools call this at exit;
 * the writer thread on its timer). */
void audit_checkpoint(void);

/*
 * Key an existing database's chain (databases from before migration 009
 * hold plain SM3 chains). Once, when settings lack 'audit_chain' and the
 * anchor file has no checkpoint yet: the old chain is checked, every entry
 * re-hashed with the key in one transaction, and an 'audit.rekey' entry
 * records how many entries were re-keyed and whether the old chain was
 * intact. Never again after that: a database whose flag was removed is not
 * re-keyed once anchors exist (that would launder edits).
 */
err audit_upgrade(db *d) MUST_USE;

/*
 * Remove the entries of every chain older than before_ms (epoch ms): the
 * longest prefix of each chain whose entries are all older. Refuses
 * (E_CONFLICT "audit_broken") when the chain does not verify, so pruning
 * never hides tampering. For each chain shortened, a signed retention
 * marker goes to the anchor file and to audit_marker, and an 'audit.prune'
 * entry is logged, all in one transaction. *removed_r: entries removed.
 */
err audit_prune(db *d, int64_t before_ms, int64_t *removed_r) MUST_USE;

/*
 * Append the entries queued so far inside the caller's open transaction on
 * d (a connection to the audit log's database): they become durable with
 * it, or go back to the queue if it rolls back. A busy group-commit writer
 * (the scan path) calls this once per batch, so the audit log shares its
 * commit instead of contending with it for SQLite's single write lock and
 * paying a second disk flush. Does nothing without a writer thread, outside
 * a transaction, or while the writer thread is appending.
 */
err audit_join(db *d) MUST_USE;

/* After a restore: the chains were rewound to the backup's heads. Appends a
 * signed 'restore' anchor per chain, so checkpoints of entries written
 * after the backup no longer count as a cut tail (docs/audit.md). */
err audit_restored(db *d) MUST_USE;

/* One chain segment as verification saw it: node's entries first_seq..
 * last_seq (-1: to the chain's end) are chained under audit key version
 * key_version. */
struct audit_segment_result {
    int node, key_version;
    int64_t first_seq, last_seq;
    int64_t entries; /* of it left in the table (all verified when state is "verified") */
    int64_t purged;  /* of it removed under a signed retention marker */
    /* verified, purged (every entry removed under a retention marker, the
     * key perhaps destroyed since: not a break), broken (the finding is in
     * it), unchecked (after the finding) */
    char state[12];
};

#define AUDIT_SEGMENTS_MAX 32

struct audit_verify_result {
    int64_t checked;   /* entries whose links were verified */
    int64_t anchored;  /* signed checkpoints matched */
    int64_t pruned;    /* entries removed under signed retention markers */
    int64_t broken_id; /* id of the first entry whose link is broken, 0 if none,
                          -1 when the break is not at an entry (an empty chain) */
    int node;          /* the chain it belongs to */
    /* the kind of break, one word (docs/audit.md): edited, gap, link,
     * renumbered, checkpoint, tail_cut, head, oldest_removed, wiped, marker,
     * anchor_file, switch, key_destroyed, key_missing; "" when intact */
    char code[16];
    char reason[160]; /* English, for the command line */
    /* per node, its segments by audit key version (docs/audit.md,
     * "Rotating the audit key"), in node then seq order */
    struct audit_segment_result segments[AUDIT_SEGMENTS_MAX];
    size_t nsegments;
    bool segments_more; /* more than AUDIT_SEGMENTS_MAX: the first are listed */
    int64_t skipped;    /* anchors signed under a destroyed audit key version: ignored */
};

/* Walk every node's chain against the anchor file and the retention
 * markers; fills *r. Returns E_OK even when broken. */
err audit_verify(db *d, struct audit_verify_result *r) MUST_USE;

/* ---- audit key rotation (docs/audit.md, "Rotating the audit key") ---------- */

/*
 * Start a new audit key version after a suspected leak of the audit key, in
 * d's open transaction: a new random audit key is added to the key file
 * (crypto.h keys_audit_add_version; taken out again if the transaction does
 * not commit), recorded in audit_key_versions, and every chain (every node
 * with entries or a retention marker) continues under it from a switch
 * entry 'audit.key_switch' by `who` (user_id, username, role, ip), chained
 * under the new key, whose detail records the old head's tag under the old
 * key (old_tag=…), and a segment row (audit_segments). Other servers pick
 * the key up from the shared key file when they meet the segment. *from_r,
 * *to_r: the versions; *nodes_r: the chains switched. E_CONFLICT
 * "audit_key_file_stale" when this server's key file lacks the newest
 * version, "audit_key_versions_full".
 */
err audit_key_rotate(db *d, const struct audit_entry *who, int *from_r, int *to_r,
                     int *nodes_r) MUST_USE;

/*
 * Destroy audit key version `version`, in d's open transaction, once every
 * entry it verifies has passed retention and been pruned: the row is marked
 * destroyed, and the key leaves the key file when the transaction commits.
 * Verification then reports its segments as purged. E_NOT_FOUND
 * "audit_key_unknown"; E_CONFLICT "audit_key_current" (the newest),
 * "audit_key_in_master" (version 1 while the master it derives from is
 * held), "audit_key_not_purged" (entries under it remain: node and count in
 * the message), "audit_key_destroyed".
 */
err audit_key_destroy(db *d, int version, int64_t user_id) MUST_USE;

struct audit_key_version {
    int version;
    int64_t created_by, created_at;     /* 0 for version 1 */
    int64_t destroyed_by, destroyed_at; /* 0 while held */
    int64_t segments;                   /* chain segments it opened */
    bool held;                          /* in this server's key file */
};

/* The audit key versions, newest first (up to cap; *n_r how many). */
err audit_key_status(db *d, struct audit_key_version *out, size_t cap, size_t *n_r) MUST_USE;

/* ---- refusals (security/audit_refusal.c) ------------------------------------ */

struct principal;

/*
 * The one policy for auditing a refusal: a request that was understood and
 * then refused because of who asked or what they asked for. When `e` is
 * E_AUTH, E_FORBIDDEN (403), E_NOT_FOUND (404: no such record, or one
 * outside the caller's scope: the two are one answer on purpose), E_CONFLICT,
 * E_LOCKED or E_RATE, an entry is queued for `who` (NULL: anonymous) from
 * `ip` with `action`, `object_type` and `object_id` and, as its result, the
 * error's slug (the thread's detail when it belongs to `e`, else the code's
 * default slug). So is a wrong credential answered as a form error (E_INPUT
 * "bad_password" or "bad_totp": an attempt at a password or second factor).
 * Other codes are not refusals: E_INPUT changes and reveals nothing, and
 * 5xx failures are logged, not audited. Returns `e` with the
 * thread's error detail as it was, so a handler can
 * `return audit_refusal(…, e, NULL);`. `detail` follows audit_entry's rule
 * (no personal data).
 */
err audit_refusal(db *d, const struct principal *who, const char *ip, const char *action,
                  const char *object_type, int64_t object_id, err e, const char *detail) MUST_USE;

/* Whether audit_refusal would audit `e` (with the thread's error detail) as
 * a refusal: a held write that was refused keeps what the refusal itself
 * writes (a failure count, a spent try) with its entry, where a failure
 * rolls back. */
bool audit_is_refusal(err e);

/* ---- retention by partitions (src/retention/, docs/retention.md) ---------- */

/*
 * audit_prune for a partitioned audit log (PostgreSQL): the entries older
 * than boundary_ms go by dropping the partitions that hold them. Verifies
 * the chain first (E_CONFLICT "audit_broken" when it does not verify), then
 * in one transaction: every node's signed retention marker for its prefix
 * older than boundary_ms (as audit_prune), drop(d, ctx) (the caller drops
 * the partitions wholly below boundary_ms on d, in that transaction), a
 * DELETE of any entry older than boundary_ms still left (rows outside the
 * dropped partitions), and the 'audit.prune' entry. When some node has an
 * entry older than boundary_ms after a newer one (the clock went back), the
 * prefix is not all that is older and a drop would cut the chain: that run
 * deletes the prefixes row by row (audit_prune's way), drop is not called,
 * and "audit_prune_clock_skew" is logged. *removed_r: entries removed.
 */
err audit_prune_partitions(db *d, int64_t boundary_ms, err (*drop)(db *d, void *ctx), void *ctx,
                           int64_t *removed_r) MUST_USE;

#endif

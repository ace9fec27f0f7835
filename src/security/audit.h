/*
 * The audit log: every write, and every read of personal data, with who,
 * from where, what, on which record, and the result.
 *
 * Entries form one hash chain per writing node: hash = SM3(prev_hash ||
 * canonical text of the entry), and the chain's head (last seq and hash) is
 * kept in settings in the same transaction, so an edited, deleted or
 * truncated entry is found by audit_verify().
 *
 * Writing is asynchronous: audit_log() queues the entry and returns; a
 * writer thread (audit_start) appends queued entries in group commits every
 * few milliseconds, so reads of personal data on the hot path cost a queue
 * push, not a disk flush. Without a writer thread (command-line tools)
 * audit_log() writes synchronously through the given connection.
 */
#ifndef FK_SECURITY_AUDIT_H
#define FK_SECURITY_AUDIT_H

#include <stdbool.h>
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

/* Start the writer thread with its own connection to db_url. */
err audit_start(const char *db_url);
/* Flush what is queued and stop the writer. */
void audit_stop(void);
/* Wait until every entry queued so far is durable. */
void audit_flush(void);

/* Queue (or, without a writer, write) one entry. Strings are copied. */
void audit_log(db *d, const struct audit_entry *e);

/*
 * Append the entries queued so far inside the caller's open transaction on
 * d (a connection to the audit log's database): they become durable with
 * it, or go back to the queue if it rolls back. A busy group-commit writer
 * (the scan path) calls this once per batch, so the audit log shares its
 * commit instead of contending with it for SQLite's single write lock and
 * paying a second disk flush. Does nothing without a writer thread, outside
 * a transaction, or while the writer thread is appending.
 */
err audit_join(db *d);

struct audit_verify_result {
    int64_t checked;   /* entries whose links were verified */
    int64_t broken_id; /* id of the first entry whose link is broken, 0 if none */
    int node;          /* the chain it belongs to */
    char reason[128];
};

/* Walk every node's chain; fills *r. Returns E_OK even when broken. */
err audit_verify(db *d, struct audit_verify_result *r);

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
 * default slug). Other codes are not refusals: E_INPUT changes and reveals
 * nothing, and 5xx failures are logged, not audited. Returns `e` with the
 * thread's error detail as it was, so a handler can
 * `return audit_refusal(…, e, NULL);`. `detail` follows audit_entry's rule
 * (no personal data).
 */
err audit_refusal(db *d, const struct principal *who, const char *ip, const char *action,
                  const char *object_type, int64_t object_id, err e, const char *detail);

#endif

/*
 * The steps every write handler repeats (docs/architecture.md, "a write and
 * its audit in one transaction"): the handler holds the request's
 * connection (db_hold) so its audit entry commits with the write, runs the
 * write in a transaction, and ends with the entry:
 *
 *     db_hold(r->db);
 *     if (!e && !(e = db_begin(r->db)))
 *         e = req_tx_end(r, case_observe_full(r->db, ...));
 *     if ((e = req_write_done(r, e, "observation.create", "observation", id,
 *                             req_body_fields(r))))
 *         return e;
 */
#ifndef FK_HTTP_WRITE_H
#define FK_HTTP_WRITE_H

#include <stdint.h>

#include "base/error.h"
#include "http/http.h"

/* Commit the request's open transaction when `e` is E_OK (returning the
 * commit's error), else roll it back and return e. */
err req_tx_end(struct req *r, err e) MUST_USE;

/*
 * End a write held with db_hold: on error, release the connection without
 * committing and record the refusal (audit_refusal: its rules say which
 * errors are audited) and return e; on success, record `action` "ok" with
 * `detail` and commit the entry with the write (db_release).
 */
err req_write_done(struct req *r, err e, const char *action, const char *type, int64_t id,
                   const char *detail) MUST_USE;

/* "fields=a,b" of the JSON body's member names, for an audit entry's
 * detail (names only, never values: no personal data). */
const char *req_body_fields(struct req *r);

#endif

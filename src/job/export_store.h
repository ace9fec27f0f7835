/*
 * Finished files of background jobs in the database (docs/cluster.md
 * "Export files"): a list's export (job/export.h) and a NAT batch look-up's
 * workbooks are written by the server whose worker ran the job, but the
 * download may reach any server behind nginx. So the worker, once the file
 * is complete, copies it into table export_files (sql/096): chunks of
 * EXPORT_STORE_CHUNK bytes, each SM4-sealed (the files hold names and,
 * revealed, full personal data). The job is "done" only after that.
 *
 * The local file stays as this server's cache: a download first opens it,
 * and a server that lacks it fetches it from the database into its own
 * folder once (export_store_get, on the fetch worker: export_store_serve)
 * and serves it like its own. Rows expire
 * with the file (expires_at, swept once across servers by
 * export_store_purge) and go with their job (export_store_delete).
 */
#ifndef FK_JOB_EXPORT_STORE_H
#define FK_JOB_EXPORT_STORE_H

#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "http/http.h"

/* 64 KiB: a key rotation re-seals 500 rows a batch (FK_KEYROT_BATCH), and
 * holds each row three times, so ~100 MB at most, not gigabytes */
#define EXPORT_STORE_CHUNK (64 << 10)

/*
 * Copy the finished file at `path` into the database as job_id's file
 * `slot` (0..99), to be deleted at expires_at (ms), replacing any rows of
 * that file. Commits every 16 chunks, so SQLite's one writer is not held
 * for a whole large file; a job's file is read only once the job is done,
 * which the caller marks after this returned. E_IO, E_DB, E_CRYPTO.
 */
err export_store_put(db *d, int64_t job_id, int slot, const char *path,
                     int64_t expires_at) MUST_USE;

/*
 * Make `path` hold job_id's file `slot` from the database (a server that
 * did not run the job): written to a temporary file beside it and renamed,
 * so a reader never sees half of it; its reads are one snapshot (a
 * read-only transaction of its own unless d is in one). E_NOT_FOUND when
 * the database has no such file (expired, deleted, or from before 096),
 * E_CRYPTO when a chunk does not open, E_IO.
 */
err export_store_get(db *d, int64_t job_id, int slot, const char *path) MUST_USE;

/* How a download is answered once its file is on this server: the handler
 * made every check before (scope, owner, state, expiry, reveal). */
struct export_download {
    const char *ctype;       /* static */
    const char *disposition; /* the Content-Disposition (in r->a) */
    /* the 404 when the database has no such file (static) */
    const char *missing_slug, *missing_message;
    /* the download's audit entry (in r->a), written once the file is open */
    const char *action, *object_type, *detail;
    int64_t expires_at; /* ms; past it a file fetched meanwhile is gone (0: never) */
};

/*
 * Answer r with job_id's file `slot` at `path`. This server's copy is sent
 * at once. Without one, the fetch from the database (export_store_get: a
 * read of the whole file, 0.2-0.7 s for 4-15 MB) runs on the fetch worker
 * and the reply is deferred, so the request's event loop serves its other
 * connections meanwhile (E_OK either way). Errors answered now: E_NOT_FOUND
 * with dl's slug when no file is left, E_UNAVAILABLE "queue_full" when
 * EXPORT_FETCH_QUEUE_MAX fetches wait, E_IO, E_NOMEM; a fetch's own failure
 * (E_CRYPTO, E_IO) is the deferred reply. Without the worker (the tools)
 * the fetch runs here.
 */
#define EXPORT_FETCH_QUEUE_MAX 64
err export_store_serve(struct req *r, int64_t job_id, int slot, const char *path,
                       const struct export_download *dl) MUST_USE;

/*
 * FK_TEST_EXPORT_FETCH_STALL=FILE (test suites only): while FILE exists,
 * export_store_get waits before reading (at most 60 s), so a test holds a
 * fetch and sees the loop answer others. E_INPUT "invalid_config" unless
 * the test suites' password cost is set too (password_cost_weak: call
 * after password_cost_set).
 */
err export_store_configure(void) MUST_USE;

/* Start the fetch worker (a thread with its own connection) and register
 * its stop with http_on_stop; the fetches queued at stop still run, so
 * their clients get their files. E_DB, E_NOMEM, E_INTERNAL. */
err export_store_start(const char *db_url) MUST_USE;
void export_store_stop(void);

/* Delete job_id's files, in the caller's transaction (its job is deleted). */
err export_store_delete(db *d, int64_t job_id) MUST_USE;

/* Delete the files whose expires_at has passed; *n_r counts chunks. The
 * sweep "export_files" runs it once across servers (export_jobs_start). */
err export_store_purge(db *d, int64_t now, int64_t *n_r) MUST_USE;

#endif

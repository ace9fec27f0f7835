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
 * folder once (export_store_get) and serves it like its own. Rows expire
 * with the file (expires_at, swept once across servers by
 * export_store_purge) and go with their job (export_store_delete).
 */
#ifndef FK_JOB_EXPORT_STORE_H
#define FK_JOB_EXPORT_STORE_H

#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

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
 * so a reader never sees half of it. E_NOT_FOUND when the database has no
 * such file (expired, deleted, or from before 096), E_CRYPTO when a chunk
 * does not open, E_IO.
 */
err export_store_get(db *d, int64_t job_id, int slot, const char *path) MUST_USE;

/* Delete job_id's files, in the caller's transaction (its job is deleted). */
err export_store_delete(db *d, int64_t job_id) MUST_USE;

/* Delete the files whose expires_at has passed; *n_r counts chunks. The
 * sweep "export_files" runs it once across servers (export_jobs_start). */
err export_store_purge(db *d, int64_t now, int64_t *n_r) MUST_USE;

#endif

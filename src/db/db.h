/*
 * The database contract: one interface, two drivers (SQLite, PostgreSQL).
 *
 * SQL is written once, in the subset both databases run, with `?`
 * parameter markers; the PostgreSQL driver renumbers them to $1.. itself. Values
 * are always bound, never spliced into the text. Integers are 64-bit, times
 * are epoch milliseconds in BIGINT columns, booleans are INTEGER 0/1, binary
 * values (ciphertexts, hashes) are BYTEA columns.
 *
 * A `db` is one connection, used by one thread at a time (each event loop,
 * background job and the audit writer open their own). It caches prepared
 * statements keyed by the SQL text, so a hot path prepares once per
 * connection. Statements come from db_prepare() already reset and unbound;
 * db_done() returns one to the cache. Preparing SQL whose cached statement is
 * still in use (nesting) gives a separate statement, finalized by db_done().
 *
 * Transactions: on PostgreSQL any failed statement aborts the transaction,
 * so after an error inside db_begin()..db_commit() the only valid next step
 * is db_rollback(); code must not catch an error mid-transaction and go on.
 *
 * Every function returns an err; database failures are E_DB (the detail goes
 * to the log, never to the client), a unique-constraint violation is
 * E_CONFLICT with slug "duplicate".
 */
#ifndef FK_DB_DB_H
#define FK_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct db db;
typedef struct db_stmt db_stmt;

enum db_kind { DB_SQLITE, DB_POSTGRES };

/* db_step results besides errors. */
enum { DB_ROW = 1, DB_DONE = 2 };

/*
 * Open a connection. `url` is "postgres://…" / "postgresql://…" for
 * PostgreSQL, otherwise a SQLite file path (created if missing; WAL mode).
 * *r is set only on success.
 */
err db_open(const char *url, db **r) MUST_USE;

/* The driver that serves `url`: "postgres", or "sqlite" (a file path). */
const char *db_url_driver(const char *url);

/* Close the connection and its cached statements; sets *dbp to NULL. */
void db_close(db **dbp);

enum db_kind db_kind(const db *d);

/* Prepare (or take from the cache) a statement for `sql`. */
err db_prepare(db *d, const char *sql, db_stmt **r) MUST_USE;

/* Bind parameter `i` (1-based). Text is copied; NULL text binds SQL NULL. */
void db_bind_int64(db_stmt *s, int i, int64_t v);
void db_bind_double(db_stmt *s, int i, double v);
void db_bind_text(db_stmt *s, int i, const char *v);
void db_bind_blob(db_stmt *s, int i, const void *v, size_t n);
void db_bind_null(db_stmt *s, int i);

/*
 * Run the statement or fetch its next row. Returns DB_ROW when a row is
 * available, DB_DONE when there are no more, and -1 on failure, whose err
 * db_step_err() gives (E_CONFLICT for constraint violations, else E_DB).
 */
int db_step(db_stmt *s);
err db_step_err(db_stmt *s) MUST_USE;

/*
 * The two ways to step, which every caller uses instead of comparing
 * db_step's result by hand (a database error must never read as "no row"):
 *
 * db_run: run a statement that returns no rows (INSERT, UPDATE, DELETE, or a
 * SELECT whose rows are not wanted) to completion and give it back to the
 * cache (db_done), whatever the outcome. *changes_r (may be NULL) gets the
 * rows changed, and is untouched on failure. Errors: db_step_err's.
 *
 * db_row: fetch the next row: E_OK with *has_row_r true when one is there,
 * E_OK with false at the end, or the step's error (*has_row_r false). The
 * statement stays the caller's (db_done when finished).
 */
err db_run(db_stmt *s, int64_t *changes_r) __attribute__((warn_unused_result));
err db_row(db_stmt *s, bool *has_row_r) __attribute__((warn_unused_result));

/* Columns of the current row (0-based). Pointers live until the next step. */
int db_column_count(db_stmt *s);
bool db_col_null(db_stmt *s, int i);
int64_t db_col_int64(db_stmt *s, int i);
double db_col_double(db_stmt *s, int i);
const char *db_col_text(db_stmt *s, int i); /* "" for NULL */
const void *db_col_blob(db_stmt *s, int i, size_t *n_r);

/* Rows changed by the last completed INSERT/UPDATE/DELETE of this statement. */
int64_t db_changes(db_stmt *s);

/* Return the statement to the cache (reset, bindings cleared). NULL is fine. */
void db_done(db_stmt *s);

/* Run one statement without parameters or results (DDL, pragmas). */
err db_exec(db *d, const char *sql) MUST_USE;

/* Run a script of several statements separated by semicolons (migrations). */
err db_exec_script(db *d, const char *sql) MUST_USE;

/*
 * Transactions. db_rollback is safe to call twice outside nesting.
 * db_begin inside an open transaction opens a savepoint instead (up to
 * DB_TX_DEPTH deep): its db_commit releases it into the outer transaction,
 * its db_rollback undoes only its own work (and runs, with false, the
 * db_after_commit hooks registered since it opened). So a caller can wrap a
 * capability's own transaction in one of its own, to add work that must be
 * durable with it (its audit entry). A savepoint whose release fails is
 * undone and poisons the outer transaction.
 */
err db_begin(db *d) MUST_USE;
err db_commit(db *d) MUST_USE;

/*
 * A read-only transaction, for long readers (a batch look-up): its reads
 * see one snapshot and it holds no lock against writers. db_begin would
 * hold the database's write lock for as long (SQLite: every other writer of
 * the process waits, and a writer's connection reads no page through its
 * memory map). SQLite: a deferred BEGIN without the writer lock, the
 * snapshot taken at the first read, and the file memory-mapped until the
 * transaction ends (only long reads map it: db/sqlite.c says why);
 * PostgreSQL: REPEATABLE READ, READ ONLY.
 * Ended by db_rollback or db_commit. It does not nest: db_begin_read inside
 * a transaction, or db_begin inside it, is E_DB; nothing may be written.
 */
err db_begin_read(db *d) MUST_USE;
void db_rollback(db *d);

/*
 * Run fn(ctx, committed) once the current transaction ends: committed true
 * after a successful db_commit, false after a rollback (or a failed
 * commit), so fn can free ctx either way. Outside a transaction fn runs at
 * once with true (an autocommitted statement is already durable). Hooks run
 * in registration order on the thread that ends the transaction. E_NOMEM
 * (fn not called).
 */
err db_after_commit(db *d, void (*fn)(void *ctx, bool committed), void *ctx) MUST_USE;

/*
 * How long a write on this connection waits for the database to be free:
 * SQLite's single writer (the in-process writer lock and the busy timeout),
 * PostgreSQL's row and table locks (lock_timeout). Past it db_begin, or the
 * statement that waited, fails with E_UNAVAILABLE "database_busy" (503:
 * retry later), never E_DB; so does a PostgreSQL deadlock or serialization
 * failure (40P01, 40001), whose transaction the server has aborted.
 * Default DB_WAIT_DEFAULT_MS, for background threads and commands; the
 * event loops set a short wait (FK_WRITE_WAIT_MS) so a loop is never held
 * for long behind another writer.
 */
#define DB_WAIT_DEFAULT_MS 10000
void db_set_wait(db *d, int ms);

/*
 * The page cache of a connection (SQLite's; a PostgreSQL connection keeps
 * none in this process). Every connection opens with a small one, 4 MB:
 * a background writer or worker (jobs, codes, the access writer and
 * journal, audit, the device queue, exchange, ...) touches few pages, and
 * the server opens about ten of them, so the caches stay bounded however
 * many there are (docs/scaling.md "Memory"). The connections that answer
 * requests (one per event loop) and the command line's ask for the large
 * one, 32 MB, with db_cache_large: the pages a list or a look-up reads
 * again stay in memory.
 */
err db_cache_large(db *d) MUST_USE;

/* Is a transaction open on this connection? */
bool db_in_tx(const db *d);

/*
 * Keep the next transaction open past its db_commit, for the caller to add
 * work that must be durable with it (the write's audit entry: audit_log
 * appends inside an open transaction) and then end it with db_release.
 * The transaction still begins where the callee begins it, so what the
 * callee does before (argon2 password hashing) stays outside it; a second
 * transaction of the callee becomes a savepoint of the held one; a
 * db_rollback of the callee after its held commit is ignored; a callee
 * that writes without a transaction of its own (INSERT, UPDATE, DELETE)
 * has one begun at its first write, held the same way.
 * db_release(d, true) commits a held transaction (E_DB and nothing
 * committed after db_tx_poison); db_release(d, false) rolls it back (the
 * callee failed after its commit). Either does nothing when the callee
 * rolled back or began no transaction. Call outside a transaction.
 */
void db_hold(db *d);
err db_release(db *d, bool commit) MUST_USE;

/* Make the open transaction unable to commit: db_commit rolls it back and
 * fails with E_DB. For work that must be durable with the transaction or
 * not at all (its audit entry) and failed where the caller cannot be told.
 * No-op outside a transaction. */
void db_tx_poison(db *d);

/*
 * Notifications between servers sharing one PostgreSQL database (LISTEN /
 * NOTIFY). db_notify sends `payload` (under 8000 bytes) on `channel` when
 * the current transaction commits, or at once outside one; every listener
 * hears it, this process's own included. db_listen_start registers `channel`
 * (lower-case letters and '_') with the process's one listener: one thread
 * and one connection LISTENing on every channel registered, started with
 * the first, which calls fn(payload, ctx) for each notification on it and
 * reconnects a second after the database went away. What was sent while it
 * was not connected is not heard: db_listen_on_gap registers fn, called
 * (on the listener's thread) each time the listener has connected and
 * LISTENs, so that caches kept right by notifications can drop what they
 * hold. All are no-ops on SQLite: one server per file, nobody else to tell.
 * Up to DB_LISTEN_MAX channels and as many gap hooks (E_INTERNAL for one
 * more, or for a channel already heard); db_listen_stop ends the listener
 * and forgets them all.
 */
#define DB_LISTEN_MAX 8
err db_notify(db *d, const char *channel, const char *payload) MUST_USE;
err db_listen_start(const char *url, const char *channel,
                    void (*fn)(const char *payload, void *ctx), void *ctx) MUST_USE;
err db_listen_on_gap(const char *url, void (*fn)(void)) MUST_USE;
void db_listen_stop(void);

/*
 * Convenience: prepare, bind nothing, step once and read an int64 from
 * column 0 of the first row. *v_r is untouched when there is no row
 * (returns E_NOT_FOUND without setting a detail).
 */
err db_query_int64(db *d, const char *sql, int64_t *v_r) MUST_USE;

/* Apply numbered migrations from sql/ that are not yet applied. */
err db_migrate(db *d) MUST_USE;

/* Time spent inside the database by this thread, in microseconds (metrics). */
uint64_t db_time_us(void);

/* backup and restore */

/*
 * Write one consistent snapshot of the database at `url` into `file`, while
 * servers keep reading and writing it. SQLite: the online backup API copies
 * the live file inside one read transaction (writers are not blocked) into
 * `file`.tmp, which is switched to a rollback journal, quick-checked, synced
 * and renamed over `file`. PostgreSQL: `pg_dump --format=custom` (one
 * snapshot) into `file`.tmp, renamed likewise. The file has mode 0600 from
 * its creation on; an existing `file` is replaced only by a complete backup.
 * Rows are copied as stored, so sealed fields stay ciphertexts; the master
 * key is not included. *bytes_r (may be NULL) gets the size on success.
 * Errors: E_IO (files), E_DB (SQLite), E_UNAVAILABLE (pg_dump missing or
 * failed; its own message went to stderr), each with a Chinese message.
 */
err db_backup(const char *url, const char *file, int64_t *bytes_r) MUST_USE;

/*
 * Replace the database at `url` with the backup in `file`. Every server
 * using the database must be stopped first: the restore refuses (E_CONFLICT
 * "database_in_use") while another process has the SQLite file open or
 * another session is connected to the PostgreSQL database. The file must be
 * a fangkong backup of the same driver (E_INPUT "not_a_backup": SQLite
 * without schema_migrations, or a pg_dump archive without it) and not newer
 * than this program's migrations (E_CONFLICT "backup_too_new"). SQLite:
 * the backup API copies `file` into the live file (created 0600 if missing),
 * which stays in WAL mode. PostgreSQL: `pg_restore --clean --if-exists
 * --no-owner --single-transaction`, so a failed restore changes nothing.
 * Migrations are not applied here; `fangkong serve` applies them.
 */
err db_restore(const char *url, const char *file) MUST_USE;

#endif

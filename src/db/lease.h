/*
 * Leases: background work done exactly once across the servers that share
 * one database (docs/cluster.md "Background work across servers").
 *
 * A lease is a row of table leases (sql/086) named after the work
 * ("task_overdue", "code_sweep"). Its holder is one server instance: a
 * random id made once per process (lease_instance), with the host name and
 * pid beside it for the operator. The holder renews the lease's expiry
 * before each run; any server may take a lease that is free or expired,
 * in one statement that both SQLite and PostgreSQL run:
 *
 *     int64_t gen;
 *     if ((e = lease_acquire(d, "task_overdue", now, ttl_ms, &gen))) …
 *     if (!gen) return E_OK;            // another live server holds it: skip
 *     … db_begin(d); lease_fence(d, "task_overdue", gen); work; db_commit(d);
 *
 * Every change of holder bumps the lease's generation. lease_fence, called
 * inside the transaction of the work, fails unless the lease still has this
 * instance as holder at that generation; on PostgreSQL it also locks the
 * row FOR SHARE, so a server taking the lease over waits until that
 * transaction ends: a holder that lost its lease (it hung past the expiry
 * and another server took over) cannot commit work afterwards. On SQLite
 * one writer at a time gives the same order.
 *
 * Why a table rather than PostgreSQL session advisory locks: an advisory
 * lock is released when the connection of a killed server drops, but a
 * hung process (stopped, swapping, stuck on a disk) keeps its connection
 * and so its lock forever, and a network partition holds it until TCP
 * gives up; it has no fencing generation, and SQLite has no such lock. A
 * lease expires on its own, is the same SQL on both drivers, and its rows
 * show the operator who holds what (host, pid, since when).
 */
#ifndef FK_DB_LEASE_H
#define FK_DB_LEASE_H

#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

/* This process's instance id: 32 hex digits, random, made at the first call
 * (thread-safe); host and pid as stored beside it. */
const char *lease_instance(void);
const char *lease_host(void);

/*
 * Take or renew lease `name` for this instance until now + ttl_ms, in one
 * statement: it is taken when free (no row), expired (expires_at < now) or
 * already ours. *generation_r gets the lease's generation when this
 * instance holds it after the call (>= 1), 0 when another instance holds a
 * live one. Errors: E_DB, E_UNAVAILABLE (database busy); *generation_r 0.
 */
err lease_acquire(db *d, const char *name, int64_t now, int64_t ttl_ms,
                  int64_t *generation_r) MUST_USE;

/*
 * Inside the transaction of the work done under lease `name`: E_OK when
 * this instance still holds it at `generation`, else E_CONFLICT
 * "lease_lost" (roll the work back). PostgreSQL: the row is locked FOR
 * SHARE until the transaction ends, so a takeover waits for it.
 */
err lease_fence(db *d, const char *name, int64_t generation) MUST_USE;

/* Give lease `name` up if this instance holds it (it expires at once, so
 * another server takes it at its next try): at a clean stop. */
err lease_release(db *d, const char *name) MUST_USE;

/*
 * The heartbeat of this instance: lease "server.<instance>", renewed every
 * every_s seconds (ttl 3 * every_s) on its own thread and connection, so
 * what this instance left behind (queued jobs) can be told from the work of
 * a live server (job/job.h, job_sweep_orphans). Taken once before the
 * thread starts; every_s <= 0: no heartbeat at all. E_DB, E_INTERNAL.
 */
#define LEASE_BEAT_DEFAULT 10 /* s, FK_INSTANCE_BEAT */
err lease_beat_start(const char *db_url, int every_s) MUST_USE;
void lease_beat_stop(void);

/* The instance id while the heartbeat runs, else "" (a tool, a test, a
 * server with FK_INSTANCE_BEAT 0): what a job row names as its holder, ""
 * being a job nobody sweeps as an orphan. */
const char *lease_beating(void);

#endif

/*
 * Background jobs (table jobs, sql/001): long work that runs off the event
 * loops (recomputing every health code, later imports and exports) and
 * reports its progress for the console's progress bar.
 *
 * A job belongs to the user who started it and to their region: it is
 * visible to its owner and to users whose scope holds that region, if they
 * hold the permission of its kind.
 */
#ifndef FK_JOB_JOB_H
#define FK_JOB_JOB_H

#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

struct job {
    int64_t id;
    const char *kind;   /* "code.recompute" */
    const char *status; /* queued | running | done | failed */
    int64_t done, total;
    const char *result; /* JSON text set when done or failed, "" before */
    int64_t user_id, region_code;
    int64_t created_at, updated_at;
};

/* A new queued job of `kind` for who; *id_r gets its id. The row names
 * this server instance (db/lease.h lease_beating: "" in a tool), whose
 * queue holds the job. */
err job_create(db *d, const struct principal *who, const char *kind, int64_t *id_r) MUST_USE;

/* Set status and progress (result may be NULL: unchanged). */
err job_update(db *d, int64_t id, const char *status, int64_t done, int64_t total,
               const char *result) MUST_USE;

/*
 * A job visible to who (see above); E_NOT_FOUND otherwise. E_FORBIDDEN
 * when who lacks the permission of the job's kind (the one that starts
 * it, e.g. code.rules for "code.recompute"): a job's result may describe
 * people, so being in scope is not enough. *j_r is filled either way.
 */
err job_find(db *d, arena *a, const struct principal *who, int64_t id, struct job *j_r) MUST_USE;

/*
 * What a dead server leaves: its queued and running jobs, whose queue died
 * with it. Each server renews its heartbeat lease "server.<instance>"
 * (lease_beat_start, every FK_INSTANCE_BEAT seconds, ttl 3 beats); this
 * sweep marks failed, with result {"error":"server_lost"}, every queued or
 * running job whose instance's heartbeat expired (or was never taken), so
 * the console stops waiting and the user starts it again. Jobs are not
 * taken over: their input (an upload's bytes, the principal) lived in the
 * dead server's memory. Heartbeat leases expired a day ago are deleted.
 * The sweep runs once across servers (lease "job_orphans"), every
 * FK_JOB_ORPHAN_CHECK seconds; *n_r gets the jobs marked.
 */
err job_sweep_orphans(db *d, int64_t now, int64_t *n_r) MUST_USE;
#define JOB_ORPHAN_CHECK_DEFAULT 60 /* s */
err job_orphans_start(const char *db_url, int every_s) MUST_USE;
void job_orphans_stop(void);

#endif

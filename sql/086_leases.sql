-- Leases (docs/cluster.md "Background work across servers"): a named piece
-- of background work (a periodic sweep) is done by the one server instance
-- that holds its lease. The holder renews expires_at before each run; a
-- server that finds the lease free or expired takes it in one statement and
-- bumps generation, the fence a run checks in its own transaction
-- (db/lease.h). holder is the instance's random id, host and pid say which
-- process it is to an operator. Each server also holds "server.<instance>"
-- as its heartbeat: a job row whose instance's heartbeat lease expired was
-- left by a dead server (job/job.h, job_sweep_orphans).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    generation  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    renewed_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- The server instance whose worker queue holds the job ('' before 086).
ALTER TABLE jobs ADD COLUMN instance TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_unfinished ON jobs (status, instance);

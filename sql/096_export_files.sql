-- Finished export files in the database (job/export_store.h, docs/cluster.md
-- "Export files"): a list's export or a NAT batch look-up's workbook is
-- written on the server that ran the job and downloaded through whichever
-- server nginx picks, so the bytes live here, not on one server's disk.
-- A file is cut into chunks of EXPORT_STORE_CHUNK bytes (one row each, in
-- order of seq), each SM4-sealed under "export_files.data_enc#<id>" (the
-- files hold names and, revealed, full personal data; the rotation re-seals
-- them, keyrot/registry.c). slot tells a job's files apart (an export has
-- one; a look-up its results and its report). Rows go at expires_at (the
-- once-across sweep "export_files"), or with their job.
CREATE TABLE export_files (
    id         BIGINT PRIMARY KEY,
    job_id     BIGINT NOT NULL,
    slot       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    data_enc   BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX export_files_chunk ON export_files (job_id, slot, seq);
CREATE INDEX export_files_expiry ON export_files (expires_at);

-- Batch look-ups of nucleic-acid results (批量查询, issue 10, seed 004 二4):
-- a street's uploaded list of id numbers, looked up against test_results by
-- a background worker (src/nat/lookup.c). The uploaded file and the result,
-- not-found and malformed workbooks live under <data>/exports/nat-lookup/,
-- named by the batch id; this row holds who, when, the counts and the state.
-- region_code is the creator's region: the batch is seen in that scope.
CREATE TABLE nat_batches (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    file_name     TEXT NOT NULL,
    format        TEXT NOT NULL,                -- xlsx | csv
    reveal        INTEGER NOT NULL DEFAULT 0,   -- names written in full (nat.lookup + person.reveal)
    state         TEXT NOT NULL,                -- queued | running | done | failed
    rows_total    BIGINT NOT NULL DEFAULT 0,    -- data rows of the upload
    done          BIGINT NOT NULL DEFAULT 0,    -- rows looked up so far (progress)
    found         BIGINT NOT NULL DEFAULT 0,
    not_found     BIGINT NOT NULL DEFAULT 0,
    malformed     BIGINT NOT NULL DEFAULT 0,
    runs          INTEGER NOT NULL DEFAULT 0,   -- 迭代: how many times it was run
    elapsed_ms    BIGINT NOT NULL DEFAULT 0,    -- the last run's
    error         TEXT NOT NULL DEFAULT '',     -- a failed run's message
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX nat_batches_region ON nat_batches (region_code, id);

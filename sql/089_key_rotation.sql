-- Master key rotation (docs/keys.md): one row per rotation, and its
-- progress per sealed column, so a rotation interrupted by a crash resumes
-- from its cursors. Several servers: the rotation row is the claim
-- (claimed_by, claim_until), taken with one UPDATE whose WHERE says it is
-- free or expired, so one server re-seals at a time.
--
-- state: running (re-sealing under to_version), resealed (every column
-- done; waiting for the administrator to confirm the destruction),
-- verifying (confirmed: a last pass re-seals whatever a server sealed
-- under the old version meanwhile, then the old key is destroyed),
-- destroyed (the end), failed (a value did not open: error says which;
-- nothing is skipped, the administrator retries after repairing it).
CREATE TABLE key_rotations (
    id            BIGINT PRIMARY KEY,
    from_version  INTEGER NOT NULL,
    to_version    INTEGER NOT NULL,
    state         TEXT NOT NULL,
    started_by    BIGINT NOT NULL,
    started_at    BIGINT NOT NULL,
    resealed_at   BIGINT,
    destroyed_by  BIGINT,
    finished_at   BIGINT,
    error         TEXT,
    claimed_by    TEXT,
    claim_until   BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX key_rotations_state ON key_rotations (state, id);

-- cursor: the last primary key (first column of it) done in this pass;
-- done: values visited in this pass; resealed: values re-sealed in it;
-- total: values present when the pass began (rows written later under the
-- new version need nothing).
CREATE TABLE key_rotation_progress (
    rotation_id   BIGINT NOT NULL REFERENCES key_rotations (id),
    column_name   TEXT NOT NULL,
    pass          INTEGER NOT NULL DEFAULT 1,
    cursor        BIGINT NOT NULL DEFAULT 0,
    done          BIGINT NOT NULL DEFAULT 0,
    resealed      BIGINT NOT NULL DEFAULT 0,
    total         BIGINT NOT NULL DEFAULT 0,
    finished      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rotation_id, column_name)
);

-- Audit key versions and the chain segments they key (docs/keys.md, "The
-- audit key"; docs/audit.md, "Rotating the audit key"). After a suspected
-- leak of the audit key the security administrator starts a new audit key
-- version: every node's chain continues under it from a switch entry
-- (audit.key_switch) chained under the new key that records the old head's
-- tag under the old key. A node's entries before its first segment row are
-- under version 1; from first_seq on, under key_version, until the next row.
-- The keys themselves are in the key file, never here.
CREATE TABLE audit_key_versions (
    version      INTEGER PRIMARY KEY,
    created_by   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    destroyed_by BIGINT,
    destroyed_at BIGINT
);
INSERT INTO audit_key_versions (version, created_at) VALUES (1, 0);

CREATE TABLE audit_segments (
    node        INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    first_seq   BIGINT NOT NULL,
    first_id    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (node, key_version)
);

-- The anchor key version a retention marker is signed with (1: the
-- markers written before audit key versions existed).
ALTER TABLE audit_marker ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;

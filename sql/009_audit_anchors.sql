-- Retention markers of the audit log (issue 8, security 1). Pruning removes
-- the oldest entries of a node's chain up to and including `seq`; `hash` is
-- the removed entry's chain hash, which the first remaining entry must name
-- as its prev_hash. `mac` is HMAC-SM3 under a key derived from the master
-- key (outside the database), so a marker cannot be forged to excuse a
-- deletion; the same marker is also appended to the anchor file beside the
-- key. The chain itself becomes keyed (HMAC-SM3) when the program first
-- opens a database of this version: security/audit.c audit_upgrade().
CREATE TABLE audit_marker (
    node  INTEGER NOT NULL,
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    count BIGINT NOT NULL,
    at    BIGINT NOT NULL,
    mac   BYTEA NOT NULL,
    PRIMARY KEY (node, seq)
);

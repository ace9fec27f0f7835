-- Attachments (附件, issue 9; src/attach/attach.h, docs/attachments.md): the
-- photos, voice notes and videos that come with a report or a check. An
-- upload belongs to its uploader alone until a record claims it: owner_kind
-- '' and region_code 0 until then; claimed_at is 0 until then too, and
-- created_at of an unclaimed row is what the purge looks at.
-- data_enc is the file SM4-encrypted like other personal data
-- (security/crypto.h, the row's id bound into the tag, so a ciphertext
-- copied onto another row does not open); sm3 is the hash of the plaintext,
-- kept as the record of what was uploaded (integrity, evidence).
CREATE TABLE attachments (
    id          BIGINT PRIMARY KEY,
    uploader_id BIGINT NOT NULL,
    region_code BIGINT NOT NULL DEFAULT 0,
    owner_kind  TEXT NOT NULL DEFAULT '',
    owner_id    BIGINT NOT NULL DEFAULT 0,
    mime        TEXT NOT NULL,
    class       INTEGER NOT NULL,  -- 1 image | 2 audio | 3 video (enum attach_class)
    size        BIGINT NOT NULL,
    sm3         BYTEA NOT NULL,
    data_enc    BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    claimed_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX attachments_owner ON attachments (owner_kind, owner_id, id);
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
CREATE INDEX attachments_region ON attachments (region_code);

-- Release certificates (解除隔离通知书) and the follow-up notes after a
-- release (后续行为动态记录), issue 9, docs/cases.md "Release and
-- certificates"; src/case/release.c.
--
-- A certificate is issued when an observation is released (the release
-- task's completion or a direct release). Its QR carries a TOKEN_CERT
-- token (security/token.h): subject = the certificate's id, key id = its
-- version, so revoking (which bumps the version) makes every printed QR
-- fail verification. region_code is the person's (the scope key);
-- unit_code the issuing community's. Times are epoch ms, 0 "not yet".
CREATE TABLE certificates (
    id                  BIGINT PRIMARY KEY,
    observation_id      BIGINT NOT NULL,
    person_id           BIGINT NOT NULL,
    region_code         BIGINT NOT NULL,
    unit_code           BIGINT NOT NULL,
    number              TEXT NOT NULL,                 -- "JC" yyyymmdd 6 digits, China date
    release_status      TEXT NOT NULL,                 -- release_status name: free | treatment
    issued_at           BIGINT NOT NULL,
    issued_by           BIGINT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    revoked_at          BIGINT NOT NULL DEFAULT 0,
    revoked_by          BIGINT NOT NULL DEFAULT 0,
    revoke_reason_enc   BYTEA
);
CREATE UNIQUE INDEX certificates_number ON certificates (number);
CREATE INDEX certificates_region ON certificates (region_code, issued_at);
CREATE INDEX certificates_person ON certificates (person_id, issued_at);
CREATE INDEX certificates_observation ON certificates (observation_id);

-- The last sequence number given out per China day (yyyymmdd): one upsert
-- per certificate, whose row lock makes concurrent issues (PostgreSQL)
-- take numbers one after the other instead of colliding on the index.
CREATE TABLE certificate_numbers (
    day     INTEGER PRIMARY KEY,
    last    INTEGER NOT NULL
);

-- Follow-up notes about a released person, one row each (the timeline
-- holds a "note" event that points here; the text is SM4-sealed,
-- label "observation_notes.text").
CREATE TABLE observation_notes (
    id              BIGINT PRIMARY KEY,
    observation_id  BIGINT NOT NULL,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    text_enc        BYTEA NOT NULL
);
CREATE INDEX observation_notes_observation ON observation_notes (observation_id, at);

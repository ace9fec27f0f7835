-- Face access with consent (人脸识别通行, seed 002 二(二)1; issue 14;
-- docs/face.md, src/face/). One enrolment per person at a time: from the
-- consent (the version of the text the resident read, when, by which
-- account) through the photo (an attachment, owner_kind 'face', sealed)
-- to its withdrawal and the deletion every terminal acknowledged.
-- region_code is the person's residence (the scope key); community the
-- 12-digit community whose face terminals were sent the photo.
CREATE TABLE face_enrolments (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    community       BIGINT NOT NULL,
    consent_user    BIGINT NOT NULL,
    consent_version TEXT NOT NULL,
    consent_at      BIGINT NOT NULL,
    state           TEXT NOT NULL,          -- consented | enrolled | withdrawing | deleted
    photo_id        BIGINT NOT NULL DEFAULT 0, -- the attachment; 0 none or deleted
    enrolled_by     BIGINT NOT NULL DEFAULT 0,
    enrolled_at     BIGINT NOT NULL DEFAULT 0,
    withdrawn_at    BIGINT NOT NULL DEFAULT 0,
    deleted_at      BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL
);
-- at most one live enrolment per person, in the index itself
CREATE UNIQUE INDEX face_enrolments_live ON face_enrolments (person_id) WHERE state <> 'deleted';
CREATE INDEX face_enrolments_region ON face_enrolments (region_code, id);

-- The commands sent to terminals, one per enrolment, terminal and
-- operation; a terminal's state for an enrolment is its latest command:
-- enrol pending (下发中), enrol acked (已下发), delete pending (删除中),
-- delete acked (已删除). sent_at: the last send (0: never reached the
-- broker), so a terminal heard from again gets it once more.
CREATE TABLE face_commands (
    id           BIGINT PRIMARY KEY,
    enrolment_id BIGINT NOT NULL,
    device_id    BIGINT NOT NULL,
    op           TEXT NOT NULL,             -- enrol | delete
    state        TEXT NOT NULL,             -- pending | acked
    attempts     INTEGER NOT NULL DEFAULT 0,
    sent_at      BIGINT NOT NULL DEFAULT 0,
    acked_at     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX face_commands_enrolment ON face_commands (enrolment_id, device_id, id);
CREATE INDEX face_commands_pending ON face_commands (device_id, state, sent_at);

-- A terminal that reported a passage of a person whose consent was
-- withdrawn: it still recognises a face it was told to delete.
CREATE TABLE face_flags (
    id           BIGINT PRIMARY KEY,
    enrolment_id BIGINT NOT NULL,
    device_id    BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,
    alert_id     BIGINT NOT NULL DEFAULT 0,
    at           BIGINT NOT NULL
);
CREATE INDEX face_flags_enrolment ON face_flags (enrolment_id, id);

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
    state        TEXT NOT NULL,             -- pending | acked | cancelled (an enrol dropped by a withdrawal)
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

-- Parking guidance and garage monitoring (停车引导, seed 002 二(二)3;
-- docs/parking.md, src/parking/). A garage of a community: its spaces
-- (total, reserved for fixed holders), the cars inside now (occupied,
-- moved by plate reads at its gates, corrected by a recount), and the
-- token of its public display page.
CREATE TABLE parking_garages (
    id          BIGINT PRIMARY KEY,
    region_code BIGINT NOT NULL,
    name        TEXT NOT NULL,
    total       BIGINT NOT NULL,
    reserved    BIGINT NOT NULL DEFAULT 0,
    occupied    BIGINT NOT NULL DEFAULT 0,
    token       TEXT NOT NULL,
    created_by  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX parking_garages_token ON parking_garages (token);
CREATE INDEX parking_garages_region ON parking_garages (region_code, id);

-- A garage's gates: venues whose plate reads move its count; a venue is
-- the gate of one garage at most.
CREATE TABLE parking_gates (
    venue_id   BIGINT PRIMARY KEY,
    garage_id  BIGINT NOT NULL,
    direction  TEXT NOT NULL            -- in | out | both
);
CREATE INDEX parking_gates_garage ON parking_gates (garage_id);

-- The cars inside now, by the plate's blind index (the plate sealed).
CREATE TABLE parking_cars (
    garage_id  BIGINT NOT NULL,
    plate_bidx BYTEA NOT NULL,
    plate_enc  BYTEA NOT NULL,
    entered_at BIGINT NOT NULL,
    PRIMARY KEY (garage_id, plate_bidx)
);

-- Every change of a garage's count: in, out, recount; `occupied` after it.
CREATE TABLE parking_moves (
    id         BIGINT PRIMARY KEY,
    garage_id  BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    delta      BIGINT NOT NULL,
    occupied   BIGINT NOT NULL,
    reason     TEXT NOT NULL            -- in | out | recount
);
CREATE INDEX parking_moves_garage ON parking_moves (garage_id, at);

-- The health commission's data (卫健数据; issue 10, seed 004 二2(2)
-- "卫健相关的疫情数据的接入，包括医生信息，流调信息等"), received from its
-- systems through batch ingest (docs/commission.md). Personal fields are
-- SM4-sealed; identity numbers and phones carry blind indexes as persons'
-- do. A record is its sender's (client_id) record_id, once: digest is the
-- SM3 of the record as sent, so a repeat changes nothing and a change
-- updates the row.
CREATE TABLE commission_doctors (
    id              BIGINT PRIMARY KEY,
    client_id       BIGINT NOT NULL,            -- users.id of the sender
    record_id       TEXT NOT NULL,
    digest          TEXT NOT NULL,
    region_code     BIGINT NOT NULL,            -- padded, for scope
    name_enc        BYTEA NOT NULL,
    id_number_enc   BYTEA NOT NULL,
    id_number_bidx  BYTEA NOT NULL,
    phone_enc       BYTEA,
    phone_bidx      BYTEA,
    institution     TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    licence_no      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX commission_doctors_record ON commission_doctors (client_id, record_id);
CREATE INDEX commission_doctors_region ON commission_doctors (region_code, id);
CREATE INDEX commission_doctors_id_number ON commission_doctors (id_number_bidx);

-- An epidemiological investigation (流调) of a person: person_id NULL until
-- the registry holds a person of that identity number within the record's
-- region (linked at ingest, or later by the relink action).
CREATE TABLE commission_investigations (
    id              BIGINT PRIMARY KEY,
    client_id       BIGINT NOT NULL,
    record_id       TEXT NOT NULL,
    digest          TEXT NOT NULL,
    region_code     BIGINT NOT NULL,            -- padded: where the record says the person lives
    person_id       BIGINT,
    id_type         INTEGER NOT NULL,
    id_number_enc   BYTEA NOT NULL,
    id_number_bidx  BYTEA NOT NULL,
    name_enc        BYTEA NOT NULL,
    investigated_at BIGINT NOT NULL,
    investigator    TEXT NOT NULL DEFAULT '',
    institution     TEXT NOT NULL DEFAULT '',
    onset_day       BIGINT NOT NULL DEFAULT 0,  -- China day number, 0 none
    exposure_enc    BYTEA,
    places_enc      BYTEA,
    close_contacts  BIGINT NOT NULL DEFAULT 0,
    classification  TEXT NOT NULL,
    notes_enc       BYTEA,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX commission_investigations_record ON commission_investigations (client_id, record_id);
CREATE INDEX commission_investigations_region ON commission_investigations (region_code, investigated_at);
CREATE INDEX commission_investigations_person ON commission_investigations (person_id);
CREATE INDEX commission_investigations_id_number ON commission_investigations (id_number_bidx);

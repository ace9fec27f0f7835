-- Visitors and vehicles at community gates (issue 4; seed 002 二(二)2-3).
--
-- A visitor is submitted by a resident (the host) for their community, with
-- a time window; community staff confirm or refuse it. A confirmed visitor
-- holds a visitor code (security/token.h kind 3) signed over code_version
-- and valid only inside the window. The visitor's name, document and phone
-- are sealed like a person's (SM4 + HMAC-SM3, label "visitors.<column>").
-- region_code is the host's residence, so staff scope is one range.
-- A visitor may bring a vehicle (plate): once confirmed, that plate is let
-- in at the community's gates inside the same window.
CREATE TABLE visitors (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    host_user_id    BIGINT NOT NULL,
    host_person_id  BIGINT NOT NULL,
    name_enc        BYTEA NOT NULL,
    id_type         TEXT NOT NULL,
    id_number_enc   BYTEA NOT NULL,
    id_number_bidx  BYTEA NOT NULL,
    phone_enc       BYTEA NOT NULL,
    purpose         TEXT NOT NULL,
    plate           TEXT NOT NULL DEFAULT '',
    valid_from      BIGINT NOT NULL,
    valid_to        BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | confirmed | refused | cancelled
    reason          TEXT NOT NULL DEFAULT '',
    decided_by      BIGINT NOT NULL DEFAULT 0,
    decided_at      BIGINT NOT NULL DEFAULT 0,
    code_version    INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX visitors_region ON visitors (region_code, status, id);
CREATE INDEX visitors_host ON visitors (host_user_id, id);
CREATE INDEX visitors_plate ON visitors (plate, valid_to) WHERE plate <> '';

-- Every visitor scan that reached a visitor record, allowed or not
-- (append-only). Kept apart from residents' access records because a
-- visitor is not a person of the registry (no person_id).
CREATE TABLE visitor_passages (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,  -- the venue's
    venue_id        BIGINT NOT NULL,
    visitor_id      BIGINT NOT NULL,
    direction       TEXT NOT NULL,    -- in | out
    at              BIGINT NOT NULL,
    temperature     DOUBLE PRECISION,
    verdict         TEXT NOT NULL,    -- allow | deny
    reason          TEXT NOT NULL,
    method          TEXT NOT NULL,    -- staff_scan
    operator_id     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX visitor_passages_region ON visitor_passages (region_code, at);
CREATE INDEX visitor_passages_visitor ON visitor_passages (visitor_id, at);

-- Vehicles registered to households: the owner is a person of the registry
-- and region_code is the owner's residence (household's community or
-- below). A plate is registered once among live vehicles.
CREATE TABLE vehicles (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    plate           TEXT NOT NULL,
    kind            TEXT NOT NULL,    -- car | new_energy | truck | motorcycle | other
    owner_person_id BIGINT NOT NULL,
    household_no    TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    created_by      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX vehicles_plate ON vehicles (plate) WHERE deleted_at = 0;
CREATE INDEX vehicles_region ON vehicles (region_code, id);
CREATE INDEX vehicles_owner ON vehicles (owner_person_id);

-- Every plate read at a gate and its verdict (append-only).
CREATE TABLE vehicle_passages (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,  -- the venue's
    venue_id        BIGINT NOT NULL,
    plate           TEXT NOT NULL,
    direction       TEXT NOT NULL,
    at              BIGINT NOT NULL,
    verdict         TEXT NOT NULL,    -- allow | deny
    reason          TEXT NOT NULL,    -- registered | visitor | exit | unregistered
    vehicle_id      BIGINT NOT NULL DEFAULT 0,
    visitor_id      BIGINT NOT NULL DEFAULT 0,
    reader_user_id  BIGINT NOT NULL DEFAULT 0,
    device_id       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX vehicle_passages_region ON vehicle_passages (region_code, at);
CREATE INDEX vehicle_passages_plate ON vehicle_passages (plate, at);

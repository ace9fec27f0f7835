-- The observation list, quarantine rooms, status changes and the case
-- timeline (issue 9, docs/cases.md; src/case/).
--
-- Every table about a person carries the person's region_code, copied when
-- the row is written, so a scoped read is one range on the row's own index.
-- Times are epoch ms, 0 "not recorded". Texts about people are SM4
-- ciphertexts (labels "observations.<column without _enc>").

-- One observation (隔离观察) of a person: how, where, since when, and the
-- health, trajectory and management fields of seed 001 §5.1 rows 15-42.
CREATE TABLE observations (
    id                  BIGINT PRIMARY KEY,
    person_id           BIGINT NOT NULL,
    region_code         BIGINT NOT NULL,
    incident_id         BIGINT NOT NULL DEFAULT 0,
    kind                TEXT NOT NULL,                 -- observe_kind name
    source              TEXT NOT NULL,                 -- case_source name
    state               TEXT NOT NULL,                 -- active | released | transferred | ended
    start_at            BIGINT NOT NULL,
    planned_end_at      BIGINT NOT NULL DEFAULT 0,     -- 0: no planned end (hospital)
    ended_at            BIGINT NOT NULL DEFAULT 0,
    end_reason_enc      BYTEA,
    site_id             BIGINT NOT NULL DEFAULT 0,     -- central: the quarantine site (place)
    room_no             TEXT NOT NULL DEFAULT '',
    hospital            TEXT NOT NULL DEFAULT '',
    isolation_id        BIGINT NOT NULL DEFAULT 0,     -- the isolations row the code engine reads
    -- health (rows 15-19; the duration is derived)
    release_status      TEXT NOT NULL DEFAULT '',      -- '' | treatment | free
    confirmed_start_at  BIGINT NOT NULL DEFAULT 0,
    home_start_at       BIGINT NOT NULL DEFAULT 0,
    home_end_at         BIGINT NOT NULL DEFAULT 0,
    -- trajectory (rows 20-26)
    arrived_at          BIGINT NOT NULL DEFAULT 0,
    arrival_transport   TEXT NOT NULL DEFAULT '',
    transport_no        TEXT NOT NULL DEFAULT '',
    risk_area_stay      INTEGER NOT NULL DEFAULT 0,
    risk_contact        INTEGER NOT NULL DEFAULT 0,
    wildlife_contact    INTEGER NOT NULL DEFAULT 0,
    market_visit        INTEGER NOT NULL DEFAULT 0,
    -- management (rows 27-42)
    notice_signed       INTEGER NOT NULL DEFAULT 0,
    home_guide_issued   INTEGER NOT NULL DEFAULT 0,
    enterprise_managed  INTEGER NOT NULL DEFAULT 0,
    handover_enc        BYTEA,
    evidence_enc        BYTEA,
    place_enc           BYTEA,
    housing_type        TEXT NOT NULL DEFAULT '',
    co_residents        INTEGER NOT NULL DEFAULT 0,
    co_residents_info_enc BYTEA,
    inspections         TEXT NOT NULL DEFAULT '',
    visit_contact_enc   BYTEA,
    contact_notice_issued INTEGER NOT NULL DEFAULT 0,
    release_notice_issued INTEGER NOT NULL DEFAULT 0,
    note_enc            BYTEA,
    version             INTEGER NOT NULL DEFAULT 1,
    created_by          BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX observations_region ON observations (region_code, state, start_at);
CREATE INDEX observations_person ON observations (person_id, start_at);
CREATE INDEX observations_site ON observations (site_id, state);
-- one open observation per person (also checked in code, for the message)
CREATE UNIQUE INDEX observations_open ON observations (person_id) WHERE state = 'active';

-- How long each kind of observation lasts (editable, case.rules); a
-- missing row is the default of 14 days; days 0: no planned end.
CREATE TABLE observation_periods (
    kind        TEXT PRIMARY KEY,
    days        INTEGER NOT NULL,
    updated_by  BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

-- The rooms of quarantine sites (places of kind quarantine_site).
CREATE TABLE quarantine_rooms (
    id              BIGINT PRIMARY KEY,
    site_id         BIGINT NOT NULL,
    room_no         TEXT NOT NULL,
    region_code     BIGINT NOT NULL,               -- the site's
    state           TEXT NOT NULL,                 -- free | occupied | closed
    observation_id  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX quarantine_rooms_no ON quarantine_rooms (site_id, room_no);
CREATE INDEX quarantine_rooms_region ON quarantine_rooms (region_code, site_id);

-- Every change of a person's epidemic status (the state machine), with the
-- severity of a confirmed case: the newest row's severity is the person's
-- current one.
CREATE TABLE status_changes (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    from_status     TEXT NOT NULL,
    to_status       TEXT NOT NULL,
    severity        TEXT NOT NULL DEFAULT '',      -- '' | mild | severe | critical
    infection_route TEXT NOT NULL DEFAULT '',      -- '' | local | imported | domestic_import | cluster | unknown
    at              BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    reason_enc      BYTEA
);
CREATE INDEX status_changes_person ON status_changes (person_id, at);
CREATE INDEX status_changes_region ON status_changes (region_code, at);

-- The timeline: one row per step of an incident or of a person's case.
CREATE TABLE case_events (
    id          BIGINT PRIMARY KEY,
    incident_id BIGINT NOT NULL DEFAULT 0,
    person_id   BIGINT NOT NULL DEFAULT 0,
    region_code BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    user_id     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX case_events_incident ON case_events (incident_id, at);
CREATE INDEX case_events_person ON case_events (person_id, at);

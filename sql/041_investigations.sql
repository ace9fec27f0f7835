-- Epidemiological investigation records (流调记录) and transmission chains
-- (传播链, 聚集性疫情), issue 11; docs/tracing.md "Investigations" and
-- "Transmission chains".
--
-- An investigation belongs to a case person (suspected, confirmed,
-- asymptomatic); region_code is the person's residence when it was
-- written, copied for scope. onset_on is a China date (yyyymmdd, 0 not
-- known); symptoms the health capability's bit set (health.h). The summary
-- is free text about the person: sealed (SM4).
CREATE TABLE investigations (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    onset_on        INTEGER NOT NULL DEFAULT 0,
    symptoms        INTEGER NOT NULL DEFAULT 0,
    investigated_at BIGINT NOT NULL,                 -- epoch ms
    investigator_id BIGINT NOT NULL,                 -- the user who recorded it
    institution     TEXT NOT NULL DEFAULT '',
    summary_enc     BYTEA,
    place_count     INTEGER NOT NULL DEFAULT 0,      -- kept with investigation_places
    contact_count   INTEGER NOT NULL DEFAULT 0,      -- kept with investigation_contacts
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX investigations_region ON investigations (region_code, investigated_at);
CREATE INDEX investigations_person ON investigations (person_id, investigated_at);

-- The places and times as the case tells them, in order. The text and the
-- note say where a case was: sealed. venue_id is the registry's venue the
-- user accepted (0: none), indexed with the time for the co-visitor search.
CREATE TABLE investigation_places (
    investigation_id BIGINT NOT NULL,
    seq              INTEGER NOT NULL,
    place_enc        BYTEA NOT NULL,
    venue_id         BIGINT NOT NULL DEFAULT 0,
    from_at          BIGINT NOT NULL,                -- epoch ms
    to_at            BIGINT NOT NULL DEFAULT 0,      -- 0: not known
    note_enc         BYTEA,
    PRIMARY KEY (investigation_id, seq)
);
CREATE INDEX investigation_places_venue ON investigation_places (venue_id, from_at);

-- The contacts the case names: name, phone and id number sealed, the phone
-- and the id number with blind indexes as persons' (so "who named this
-- person" is one index read); person_id the registered person matched by
-- id number or phone (0: none).
CREATE TABLE investigation_contacts (
    investigation_id BIGINT NOT NULL,
    seq              INTEGER NOT NULL,
    name_enc         BYTEA NOT NULL,
    phone_enc        BYTEA,
    phone_bidx       BYTEA,
    id_number_enc    BYTEA,
    id_number_bidx   BYTEA,
    relation         TEXT NOT NULL DEFAULT '',
    last_contact_at  BIGINT NOT NULL DEFAULT 0,      -- epoch ms, 0 not known
    person_id        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (investigation_id, seq)
);
CREATE INDEX investigation_contacts_person ON investigation_contacts (person_id);
CREATE INDEX investigation_contacts_identity ON investigation_contacts (id_number_bidx);

-- A case's source case (传播链): person_id was infected by source_id,
-- kind certain (明确) or possible (可能). region_code is the case's
-- residence, for scope. The note is about people: sealed. No self-link and
-- no cycle (checked by the writer, trace.h).
CREATE TABLE case_links (
    id          BIGINT PRIMARY KEY,
    person_id   BIGINT NOT NULL,
    source_id   BIGINT NOT NULL,
    region_code BIGINT NOT NULL,
    kind        TEXT NOT NULL,                       -- certain | possible
    note_enc    BYTEA,
    created_by  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX case_links_pair ON case_links (person_id, source_id);
CREATE INDEX case_links_source ON case_links (source_id);
CREATE INDEX case_links_region ON case_links (region_code);

-- A cluster (聚集性疫情) and its member cases.
CREATE TABLE clusters (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    region_code   BIGINT NOT NULL,
    first_case_on INTEGER NOT NULL DEFAULT 0,        -- yyyymmdd, 0 not known
    status        TEXT NOT NULL,                     -- open | closed
    note          TEXT NOT NULL DEFAULT '',
    member_count  INTEGER NOT NULL DEFAULT 0,
    created_by    BIGINT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX clusters_region ON clusters (region_code, created_at);

CREATE TABLE cluster_members (
    cluster_id BIGINT NOT NULL,
    person_id  BIGINT NOT NULL,
    added_by   BIGINT NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, person_id)
);
CREATE INDEX cluster_members_person ON cluster_members (person_id);

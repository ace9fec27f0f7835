-- Health declarations, temperatures, the inputs of the health-code rules
-- and the codes themselves (issue 4, docs/health-code.md).
--
-- Every table about a person carries the person's region_code, copied when
-- the row is written, so the scope of a read is one range on the row's own
-- index. Times are epoch ms; 0 means "not set" for optional ends.

-- A resident's daily declaration (seed 001 §4.1.3, §4.1.6), by the
-- resident or by staff on their behalf. Free texts are SM4 ciphertexts
-- (health information is sensitive personal information).
CREATE TABLE declarations (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    temperature   DOUBLE PRECISION NOT NULL,
    symptoms      INTEGER NOT NULL DEFAULT 0,   -- bit set, health/health.h
    symptom_other_enc BYTEA,
    travel_enc    BYTEA,
    travel_regions TEXT NOT NULL DEFAULT '',    -- comma-separated region codes
    contact       INTEGER NOT NULL DEFAULT 0,
    contact_text_enc BYTEA,
    source        TEXT NOT NULL,                -- self | staff
    user_id       BIGINT NOT NULL
);
CREATE INDEX declarations_person ON declarations (person_id, at);
CREATE INDEX declarations_region ON declarations (region_code, at);

-- Measured temperatures: checkpoints, devices, manual entry.
CREATE TABLE temperatures (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    celsius       DOUBLE PRECISION NOT NULL,
    source        TEXT NOT NULL,                -- checkpoint | device | manual | declaration
    venue_id      BIGINT NOT NULL DEFAULT 0,
    device_id     BIGINT NOT NULL DEFAULT 0,
    user_id       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX temperatures_person ON temperatures (person_id, at);
CREATE INDEX temperatures_region ON temperatures (region_code, at);

-- Inputs owned by later capabilities (case workflow, trace, NAT, map),
-- set through the API until those capabilities write them.
CREATE TABLE isolations (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    kind          TEXT NOT NULL,                -- home | central
    start_at      BIGINT NOT NULL,
    end_at        BIGINT NOT NULL DEFAULT 0,    -- 0: open
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX isolations_person ON isolations (person_id, start_at);

CREATE TABLE contacts (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    degree        INTEGER NOT NULL,             -- 1 close contact, 2 contact of a contact
    case_person_id BIGINT NOT NULL DEFAULT 0,
    at            BIGINT NOT NULL,              -- time of the contact
    end_at        BIGINT NOT NULL DEFAULT 0,    -- released from management, 0: not yet
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX contacts_person ON contacts (person_id, at);

-- Medium and high risk areas: a published, public list (not personal
-- data), valid from .. to (0: until withdrawn).
CREATE TABLE risk_areas (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL DEFAULT 0,    -- where it is, when in the tree
    name          TEXT NOT NULL,
    level         INTEGER NOT NULL,             -- 1 medium, 2 high
    valid_from    BIGINT NOT NULL,
    valid_to      BIGINT NOT NULL DEFAULT 0,
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE stays (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    area_id       BIGINT NOT NULL,
    arrived_at    BIGINT NOT NULL,
    left_at       BIGINT NOT NULL DEFAULT 0,    -- 0: still there / not known
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX stays_person ON stays (person_id, arrived_at);

CREATE TABLE test_results (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    result        TEXT NOT NULL,                -- negative | positive
    sampled_at    BIGINT NOT NULL,
    reported_at   BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX test_results_person ON test_results (person_id, sampled_at);

-- Sealed / controlled / prevention zones: each covers a region's subtree.
CREATE TABLE zones (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,              -- covers [region_code, region_code + span):
    span          BIGINT NOT NULL,              -- the subtree, so a region move shifts one column
    kind          TEXT NOT NULL,                -- sealed | controlled | prevention
    name          TEXT NOT NULL DEFAULT '',
    valid_from    BIGINT NOT NULL,
    valid_to      BIGINT NOT NULL DEFAULT 0,
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX zones_region ON zones (region_code);

-- The ordered, editable rules of the engine (code/code.h).
CREATE TABLE code_rules (
    key           TEXT PRIMARY KEY,
    position      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    params        TEXT NOT NULL DEFAULT '{}',
    colour        TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    label         TEXT NOT NULL DEFAULT '',
    updated_by    BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

-- Current codes. A person without a row is green with no reasons: a bulk
-- recomputation then writes only the people the rules mark.
CREATE TABLE health_codes (
    person_id     BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,
    colour        TEXT NOT NULL,                -- green | yellow | red
    reasons       TEXT NOT NULL,                -- JSON [{rule, colour, text}]
    updated_at    BIGINT NOT NULL
);
CREATE INDEX health_codes_region ON health_codes (region_code, colour);

CREATE TABLE code_history (
    id            BIGINT PRIMARY KEY,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    colour        TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    cause         TEXT NOT NULL,                -- what was recorded: declaration, rules, …
    user_id       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX code_history_person ON code_history (person_id, at);

CREATE INDEX jobs_region ON jobs (region_code, id);

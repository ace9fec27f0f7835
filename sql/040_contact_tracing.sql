-- Contact tracing (issue 11; docs/tracing.md "Contact tracing").
--
-- Covering indexes for the two reads tracing is made of: who passed venue v
-- between t1 and t2 (venue_id, at → person_id, direction), and where did
-- person p pass between t1 and t2 (person_id, at → venue_id, direction).
-- Each is one index range read with no table look-up per row. The first
-- supersedes access_records_venue (venue_id, at), dropped; the
-- per-person entry limit keeps access_records_person (person_id, venue_id,
-- at): it counts one person's passages at one venue.
CREATE INDEX access_records_venue_at ON access_records (venue_id, at, person_id, direction);
CREATE INDEX access_records_person_at ON access_records (person_id, at, venue_id, direction);
DROP INDEX access_records_venue;

-- household members (the same household text in the same residence region):
-- one index read per household
CREATE INDEX persons_household ON persons (household, region_code) WHERE household <> '';

-- the automatic warning finds new confirmations without a run
CREATE INDEX status_changes_to ON status_changes (to_status, at);

-- One tracing run of a case (the person, region_code the case's residence:
-- scope). status queued | running | done | failed; trigger manual | auto
-- (status_change_id: the confirmation that queued an automatic run, 0 for a
-- manual one; unique, so one run per confirmation whichever server claims
-- it). rules: the rules in force, as JSON text.
CREATE TABLE trace_runs (
    id               BIGINT PRIMARY KEY,
    person_id        BIGINT NOT NULL,
    region_code      BIGINT NOT NULL,
    from_at          BIGINT NOT NULL,
    to_at            BIGINT NOT NULL,
    degree           INTEGER NOT NULL,
    window_minutes   INTEGER NOT NULL,
    status           TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,
    status_change_id BIGINT NOT NULL DEFAULT 0,
    close_count      BIGINT NOT NULL DEFAULT 0,
    secondary_count  BIGINT NOT NULL DEFAULT 0,
    general_count    BIGINT NOT NULL DEFAULT 0,
    truncated        INTEGER NOT NULL DEFAULT 0,
    elapsed_ms       BIGINT NOT NULL DEFAULT 0,
    rules            TEXT NOT NULL DEFAULT '{}',
    created_by       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX trace_runs_region ON trace_runs (region_code, id);
CREATE INDEX trace_runs_person ON trace_runs (person_id, id);
CREATE UNIQUE INDEX trace_runs_auto ON trace_runs (status_change_id) WHERE status_change_id <> 0;

-- The people a run found, once each with all their reasons. class_rank
-- orders the list (1 close, 2 secondary, 3 general); region_code is the
-- contact's residence (the caller's scope decides who is listed).
-- reasons: a JSON array of {kind, venue_id, from, to, overlap_minutes,
-- number, seat}. incident_id: the report committed from it, 0 until then.
CREATE TABLE trace_contacts (
    id              BIGINT PRIMARY KEY,
    run_id          BIGINT NOT NULL,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    degree          INTEGER NOT NULL,
    via_person_id   BIGINT NOT NULL DEFAULT 0,
    class           TEXT NOT NULL,
    class_rank      INTEGER NOT NULL,
    first_at        BIGINT NOT NULL,
    overlap_minutes INTEGER NOT NULL DEFAULT 0,
    reasons         TEXT NOT NULL DEFAULT '[]',
    kinds           INTEGER NOT NULL DEFAULT 0,   -- bit (1 << kind) per reason kind (the filter)
    incident_id     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX trace_contacts_run ON trace_contacts (run_id, degree, class_rank, first_at);

-- The rules (key → integer value); every key has a row, seeded here with
-- the defaults.
CREATE TABLE trace_rules (
    key        TEXT PRIMARY KEY,
    value      BIGINT NOT NULL,
    updated_by BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO trace_rules (key, value) VALUES ('lookback_days', 4);
INSERT INTO trace_rules (key, value) VALUES ('window_minutes', 30);
INSERT INTO trace_rules (key, value) VALUES ('close_overlap_minutes', 15);
INSERT INTO trace_rules (key, value) VALUES ('seat_rows', 3);
INSERT INTO trace_rules (key, value) VALUES ('passenger_minutes', 5);
INSERT INTO trace_rules (key, value) VALUES ('building', 0);
INSERT INTO trace_rules (key, value) VALUES ('auto', 1);

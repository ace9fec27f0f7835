-- Reports (疫情上报) and their routing (issue 9; docs/cases.md "Reports and
-- routing"; seed 001 §3.2, §4.1.4, §4.1.5, §4.1.7).
--
-- An incident is a report's case file. region_code is the subject's
-- residence, or the reported address's region while the subject is unknown
-- (person_id 0); it is the scope key of every read. Texts about people are
-- SM4-sealed (*_enc); name_bidx and phone_bidx are blind indexes so the
-- inbox can find a report by the exact name or phone without decrypting.
-- symptoms is the bit set of health/health.h (enum symptom). detail_enc is
-- the enterprise declaration's form (seed 001 §4.1.5) as sealed JSON.
-- access_id is unique among reports: one scan gives at most one one-tap
-- report. task_id is the home-verification task while one exists.
CREATE TABLE incidents (
    id                 BIGINT PRIMARY KEY,
    region_code        BIGINT NOT NULL,
    source             TEXT NOT NULL,      -- case_source_vocab name
    category           TEXT NOT NULL,      -- symptoms | risk_area | contact | fever | other
    state              TEXT NOT NULL,      -- reported | verifying | observed | transferred | closed
    person_id          BIGINT NOT NULL DEFAULT 0,
    name_enc           BYTEA,
    name_bidx          BYTEA,
    phone_enc          BYTEA,
    phone_bidx         BYTEA,
    id_type            TEXT NOT NULL DEFAULT '',
    id_number_enc      BYTEA,
    symptoms           INTEGER NOT NULL DEFAULT 0,
    temperature        DOUBLE PRECISION,   -- NULL: not given
    description_enc    BYTEA,
    address_enc        BYTEA,
    lat                DOUBLE PRECISION,   -- NULL: no position
    lng                DOUBLE PRECISION,
    about_self         INTEGER NOT NULL DEFAULT 0,
    reporter_user_id   BIGINT NOT NULL,
    reporter_person_id BIGINT NOT NULL DEFAULT 0,
    venue_id           BIGINT NOT NULL DEFAULT 0,
    access_id          BIGINT NOT NULL DEFAULT 0,
    detail_enc         BYTEA,
    task_id            BIGINT NOT NULL DEFAULT 0,
    outcome            TEXT NOT NULL DEFAULT '', -- false_report | confirmed | abnormal
    close_reason_enc   BYTEA,
    observation_id     BIGINT NOT NULL DEFAULT 0,
    day                BIGINT NOT NULL,    -- china_day(created_at): the counter's day
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX incidents_region ON incidents (region_code, created_at);
CREATE INDEX incidents_reporter ON incidents (reporter_user_id, created_at);
CREATE INDEX incidents_name ON incidents (name_bidx);
CREATE INDEX incidents_phone ON incidents (phone_bidx);
CREATE UNIQUE INDEX incidents_access ON incidents (access_id) WHERE access_id <> 0;

-- Where a report goes first, by its source (seed 001 §3.2), editable by the
-- command centre (case.rules, audited). action observe puts the person on
-- the observation list at once; verify sends a home-verification task to
-- the grid workers of the grid; enabled 0 leaves the report in the inbox
-- (state reported) for the command centre. The defaults:
--   checkpoint, grid_patrol -> observe: staff saw the person and the
--     refused or feverish scan, or the grid worker stood at the door: a
--     visit would only repeat what they saw;
--   resident, enterprise, contact -> verify: seed 001 §3.2 and §4.1.4
--     ("收到上报后派遣网格员入户核实"): what a citizen, a unit or a trace
--     says is checked at the door before anyone is isolated;
--   self_check, canvass, doctor, cdc -> verify: a report from afar (a
--     phone, a list, a telephone call) still needs the grid worker and the
--     community doctor to see the person; the command centre may turn
--     them to observe.
-- priority is task_priority_vocab's name (a fever makes it urgent).
CREATE TABLE routing_rules (
    source         TEXT PRIMARY KEY,
    action         TEXT NOT NULL,          -- observe | verify
    priority       TEXT NOT NULL,          -- urgent | high | normal
    deadline_hours INTEGER NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1,
    updated_by     BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('checkpoint', 'observe', 'high', 24);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('grid_patrol', 'observe', 'high', 24);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('resident', 'verify', 'high', 12);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('self_check', 'verify', 'urgent', 6);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('contact', 'verify', 'urgent', 6);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('enterprise', 'verify', 'normal', 24);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('canvass', 'verify', 'high', 12);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('doctor', 'verify', 'high', 12);
INSERT INTO routing_rules (source, action, priority, deadline_hours) VALUES ('cdc', 'verify', 'urgent', 6);

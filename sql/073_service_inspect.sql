-- 073: community services, third wave: disinfection and inspection records
-- (消杀与巡查; issue 14, seed 002 二(五); docs/community-services.md
-- "Disinfection and inspection").
--
-- inspect_objects: what a community disinfects or patrols on a schedule —
-- a public space, a market, a group of stalls — with its one schedule:
-- every every_n hours or days (every_unit) a record of record_kind
-- (disinfect 消杀 | patrol 巡查) is due. due_at is the last record's time
-- plus the period (or, before any record, the time it was last done as
-- entered, else its entry, plus the period). The periodic sweep raises one
-- task "inspect_overdue" for the community staff per object past due_at;
-- task_id holds that task while it is open (-1 while a sweep claims the
-- row), 0 otherwise, so no second task is raised. Nothing here is
-- personal data (places, not people).
CREATE TABLE inspect_objects (
    id           BIGINT PRIMARY KEY,
    region_code  BIGINT NOT NULL,              -- the community (padded): the scope key
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,                -- space | market | stall | other
    record_kind  TEXT NOT NULL,                -- disinfect | patrol: the record the schedule wants
    every_n      INTEGER NOT NULL,             -- the period's length …
    every_unit   TEXT NOT NULL,                -- … in hour | day
    place_id     BIGINT NOT NULL DEFAULT 0,    -- a place (places.id) in the community, 0 none
    lat          DOUBLE PRECISION,             -- where it is, optional
    lng          DOUBLE PRECISION,
    last_at      BIGINT NOT NULL DEFAULT 0,    -- the latest record's time (0: none yet)
    due_at       BIGINT NOT NULL,              -- the next record is due then
    task_id      BIGINT NOT NULL DEFAULT 0,    -- the open overdue task, 0 none
    created_at   BIGINT NOT NULL,
    created_by   BIGINT NOT NULL
);
CREATE INDEX inspect_objects_region ON inspect_objects (region_code, id);
CREATE INDEX inspect_objects_due ON inspect_objects (due_at, task_id);

-- inspect_records: one disinfection or patrol done, by a staff account,
-- with its result (ok | issue), notes and photos (src/attach, owner kind
-- "inspect_record").
CREATE TABLE inspect_records (
    id           BIGINT PRIMARY KEY,
    object_id    BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,              -- the object's community (scope, statistics)
    kind         TEXT NOT NULL,                -- disinfect | patrol
    result       TEXT NOT NULL,                -- ok | issue
    notes        TEXT NOT NULL DEFAULT '',
    done_at      BIGINT NOT NULL,              -- when it was done (the server's time of the record)
    done_by      BIGINT NOT NULL               -- the staff account
);
CREATE INDEX inspect_records_object ON inspect_records (object_id, done_at);
CREATE INDEX inspect_records_region ON inspect_records (region_code, done_at);

-- Nucleic-acid testing, laboratory results (issue 10; seed 004 二1): the
-- result a laboratory records per tube, what it means for each sample and
-- person in the tube, and the single-tube retests (复核) and resamples (重采)
-- that follow a positive pool or an invalid tube. docs/nat.md "Laboratory".

-- The tube's result: '' until resulted; negative | positive | invalid.
-- resulted_at is the laboratory's reporting time, institution its name
-- (the recording user's department, docs/nat.md).
ALTER TABLE nat_tubes ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE nat_tubes ADD COLUMN resulted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nat_tubes ADD COLUMN resulted_by BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nat_tubes ADD COLUMN institution TEXT NOT NULL DEFAULT '';
-- The laboratory's inbox: tubes by state (closed, received) and time.
CREATE INDEX nat_tubes_state ON nat_tubes (state, closed_at);

-- A sample's `result` is its tube's; its `outcome` is what the round
-- (plan, or day) says of the person: the single tube's result, or for a
-- positive pool 'retest' until the person's single-tube retest answers,
-- then that answer; an invalid tube's 'invalid' until the resample answers.
-- '' while pending. The plan figures and the counters count outcomes.
ALTER TABLE nat_samples ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE nat_samples ADD COLUMN outcome TEXT NOT NULL DEFAULT '';

-- The plan's outcomes per (street, industry), kept with `actual` (the
-- counted samples): pending = actual - negative - positive - retest - invalid.
ALTER TABLE nat_plan_figures ADD COLUMN negative BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nat_plan_figures ADD COLUMN positive BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nat_plan_figures ADD COLUMN retest BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nat_plan_figures ADD COLUMN invalid BIGINT NOT NULL DEFAULT 0;

-- One person to be tested again: kind 'retest' (a positive pool: a single
-- tube, 单管复核) or 'resample' (an invalid tube: any tube, 重新采样). Open
-- until a later result of the person closes it (negative | positive); the
-- task (kind nat_retest | nat_resample) goes to the person's community.
CREATE TABLE nat_retests (
    id           BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,                 -- retest | resample
    person_id    BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,               -- the person's residence, for scope
    sample_id    BIGINT NOT NULL,               -- the sample of the pool (or invalid tube)
    tube_id      BIGINT NOT NULL,               -- that tube
    plan_id      BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'open',  -- open | negative | positive
    task_id      BIGINT NOT NULL DEFAULT 0,
    result_tube_id BIGINT NOT NULL DEFAULT 0,   -- the tube whose result closed it
    incident_id  BIGINT NOT NULL DEFAULT 0,     -- the report a positive retest filed
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX nat_retests_person ON nat_retests (person_id, state);
CREATE INDEX nat_retests_region ON nat_retests (region_code, created_at);
CREATE INDEX nat_retests_tube ON nat_retests (tube_id);

-- test_results.result (sql/004) now also holds 'pool_positive': the person's
-- pooled tube was positive and the single-tube retest has not answered (the
-- health-code rule pool_positive reads it). No schema change.

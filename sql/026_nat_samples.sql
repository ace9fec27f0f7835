-- Nucleic-acid testing, part 2 (issue 10; seed 004 二1, 二2): tubes (试管,
-- single or pooled 5/10/20:1) and samples (采样) taken at a site by its staff,
-- and the scan counts per site and hour (点位扫码人数). Later parts move a
-- tube on through packed, in_transit, received and resulted.
CREATE TABLE nat_tubes (
    id           BIGINT PRIMARY KEY,
    barcode      TEXT NOT NULL,                    -- [0-9A-Za-z-]{6,32}, unique for ever
    kind         TEXT NOT NULL,                    -- single | pool5 | pool10 | pool20
    size         INTEGER NOT NULL,                 -- 1, 5, 10, 20
    filled       INTEGER NOT NULL DEFAULT 0,       -- samples in it
    site_id      BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,                  -- the site's, for scope
    plan_id      BIGINT NOT NULL DEFAULT 0,        -- 0: no plan
    opened_by    BIGINT NOT NULL,                  -- users.id
    state        TEXT NOT NULL DEFAULT 'open',     -- open | closed (| packed | in_transit | received | resulted)
    opened_at    BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL DEFAULT 0,
    closed_by    BIGINT NOT NULL DEFAULT 0         -- 0 when it closed itself (full)
);
CREATE UNIQUE INDEX nat_tubes_barcode ON nat_tubes (barcode);
CREATE INDEX nat_tubes_region ON nat_tubes (region_code, opened_at);
CREATE INDEX nat_tubes_site ON nat_tubes (site_id, opened_at);

-- One sample: a person (or a visitor) into a tube at a site. `street_code`
-- and `industry_id` are what the plan's actual figure was counted under;
-- `duplicate` marks a second sample of the same person in the same plan (or
-- day without a plan): accepted, warned, not counted again.
CREATE TABLE nat_samples (
    id           BIGINT PRIMARY KEY,
    person_id    BIGINT NOT NULL DEFAULT 0,        -- 0 for a visitor
    visitor_id   BIGINT NOT NULL DEFAULT 0,
    tube_id      BIGINT NOT NULL,
    site_id      BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,                  -- the site's, for scope
    plan_id      BIGINT NOT NULL DEFAULT 0,
    street_code  BIGINT NOT NULL,
    industry_id  BIGINT NOT NULL DEFAULT 0,
    staff_id     BIGINT NOT NULL,
    method       TEXT NOT NULL,                    -- code | id_number | visitor
    at           BIGINT NOT NULL,
    day          INTEGER NOT NULL,                 -- china_day(at)
    round_day    INTEGER NOT NULL,                 -- the duplicate rule's day: 0 in a plan, else day
    duplicate    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX nat_samples_tube ON nat_samples (tube_id, at);
CREATE INDEX nat_samples_region ON nat_samples (region_code, at);
CREATE INDEX nat_samples_person ON nat_samples (person_id, plan_id, day);
CREATE INDEX nat_samples_visitor ON nat_samples (visitor_id, plan_id, day);
-- The first sample of a person (or visitor) in a round (a plan, or a China
-- day without one) is the only one not marked duplicate: the sampling
-- INSERT's ON CONFLICT target, so two phones sampling one person at once
-- count them once.
CREATE UNIQUE INDEX nat_samples_first ON nat_samples (person_id, visitor_id, plan_id, round_day)
    WHERE duplicate = 0;

-- Scans per site and hour (the hour's first epoch ms): kept with every sample.
CREATE TABLE nat_site_hours (
    site_id      BIGINT NOT NULL,
    hour         BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,                  -- the site's, for scope
    n            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, hour)
);
CREATE INDEX nat_site_hours_region ON nat_site_hours (region_code, hour);

-- The site's scans over all time, pushed live with each sample.
ALTER TABLE nat_sites ADD COLUMN scans BIGINT NOT NULL DEFAULT 0;

-- A sample counts its person under their employer's industry: the employer
-- text names an enterprise, looked up by name in the sampling transaction.
CREATE INDEX enterprises_name ON enterprises (name) WHERE deleted_at = 0;

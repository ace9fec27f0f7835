-- Nucleic-acid testing, part 1 (issue 10; seed 004 二1, 二2): testing sites
-- (核酸点位), the clock-ins of their staff (打卡), the industries (行业) and
-- the mass-testing plans (大规模核酸应检计划) with their planned and actual
-- figures per street and industry. Samples, tubes, transport and results
-- (later parts) belong to a site and a plan: they reference these ids.
CREATE TABLE nat_sites (
    id               BIGINT PRIMARY KEY,
    region_code      BIGINT NOT NULL,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,                   -- fixed | temporary | mobile | community
    address          TEXT NOT NULL DEFAULT '',
    lng              DOUBLE PRECISION,                -- NULL: no position recorded
    lat              DOUBLE PRECISION,
    hours            TEXT NOT NULL DEFAULT '',        -- "08:00-12:00,14:00-18:00"; '' all day
    state            TEXT NOT NULL DEFAULT 'open',    -- open | paused | closed
    capacity         INTEGER NOT NULL DEFAULT 0,      -- people per hour, 0 not set
    queue_length     INTEGER NOT NULL DEFAULT 0,      -- as last reported by site staff
    queue_at         BIGINT NOT NULL DEFAULT 0,
    queue_by         BIGINT NOT NULL DEFAULT 0,       -- users.id
    on_duty          INTEGER NOT NULL DEFAULT 0,      -- staff clocked in now (kept with clock-ins)
    unattended_since BIGINT NOT NULL DEFAULT 0,       -- open, in hours, nobody on duty; 0 not flagged
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX nat_sites_region ON nat_sites (region_code, id);

-- One shift of one staff member at one site: in, and out (0 while on duty).
-- The distance from the site is kept (metres, -1 unknown) and `far` marks a
-- position beyond the configured radius: a warning, never a refusal.
CREATE TABLE nat_clockins (
    id           BIGINT PRIMARY KEY,
    site_id      BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,                    -- the site's, for scope
    user_id      BIGINT NOT NULL,
    in_at        BIGINT NOT NULL,
    in_lng       DOUBLE PRECISION,
    in_lat       DOUBLE PRECISION,
    in_distance  INTEGER NOT NULL DEFAULT -1,
    out_at       BIGINT NOT NULL DEFAULT 0,
    out_lng      DOUBLE PRECISION,
    out_lat      DOUBLE PRECISION,
    out_distance INTEGER NOT NULL DEFAULT -1,
    far          INTEGER NOT NULL DEFAULT 0          -- bit 1: in far, bit 2: out far
);
CREATE INDEX nat_clockins_site ON nat_clockins (site_id, in_at);
CREATE INDEX nat_clockins_region ON nat_clockins (region_code, in_at);
-- one open shift per person, whatever two requests race to do
CREATE UNIQUE INDEX nat_clockins_open ON nat_clockins (user_id) WHERE out_at = 0;
CREATE INDEX nat_clockins_user ON nat_clockins (user_id, in_at);

-- Industries: a maintained list; enterprises name theirs in their existing
-- `industry` text column (renaming an industry renames it there too).
CREATE TABLE nat_industries (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    sort        INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX nat_industries_name ON nat_industries (name) WHERE deleted_at = 0;
INSERT INTO nat_industries (id, name, sort, created_at, updated_at) VALUES
    (1, '教育', 1, 0, 0), (2, '医疗', 2, 0, 0), (3, '快递外卖', 3, 0, 0), (4, '商超', 4, 0, 0),
    (5, '建筑工地', 5, 0, 0), (6, '机关事业单位', 6, 0, 0), (7, '餐饮', 7, 0, 0),
    (8, '交通运输', 8, 0, 0), (9, '其他', 9, 0, 0);

-- Plans: a round of mass testing over a region (the creator's). A plan is
-- seen by every scope that overlaps its region (a street sees its district's).
CREATE TABLE nat_plans (
    id          BIGINT PRIMARY KEY,
    number      TEXT NOT NULL,
    name        TEXT NOT NULL,
    region_code BIGINT NOT NULL,
    region_end  BIGINT NOT NULL,                      -- regcode_end(region_code): overlap tests
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  BIGINT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX nat_plans_number ON nat_plans (number);
CREATE INDEX nat_plans_region ON nat_plans (region_code, starts_at);

-- A plan's figures per (street, industry): industry_id 0 is the street's
-- residents; > 0 the employees of that industry in the street. `planned`
-- (应检) is entered or derived; `actual` (实检) is the counter the sampling
-- part increments in its own transaction (nat_plan_count); `corrected` is
-- the street's own figure (街道修改后的实检), NULL until corrected, kept
-- beside the counted one.
CREATE TABLE nat_plan_figures (
    plan_id        BIGINT NOT NULL,
    region_code    BIGINT NOT NULL,
    industry_id    BIGINT NOT NULL,
    planned        BIGINT NOT NULL DEFAULT 0,
    planned_source TEXT NOT NULL DEFAULT 'entered',   -- entered | registry
    actual         BIGINT NOT NULL DEFAULT 0,
    corrected      BIGINT,
    reason         TEXT NOT NULL DEFAULT '',
    corrected_by   BIGINT NOT NULL DEFAULT 0,
    corrected_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_id, region_code, industry_id)
);

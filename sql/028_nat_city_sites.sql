-- The city's testing-site list (东软核酸数据匹配, issue 10; seed 004 二2(2)):
-- each city site, imported from the city's list, mapped to one district site
-- (nat_sites) by name and position. docs/nat.md "The city's site list".
CREATE TABLE nat_city_sites (
    id           BIGINT PRIMARY KEY,
    code         TEXT NOT NULL,                      -- the city's site code
    name         TEXT NOT NULL,
    area         TEXT NOT NULL DEFAULT '',           -- district/street as the city wrote it
    address      TEXT NOT NULL DEFAULT '',
    lng          DOUBLE PRECISION,                   -- NULL: no position given
    lat          DOUBLE PRECISION,
    state        TEXT NOT NULL DEFAULT 'unmatched',  -- auto | confirmed | to_review | unmatched | rejected
    site_id      BIGINT NOT NULL DEFAULT 0,          -- the district site (auto, confirmed), else 0
    -- for scope: the matched site's region (auto, confirmed), the best
    -- candidate's (to_review), 0 when none (seen by district-wide scopes only)
    region_code  BIGINT NOT NULL DEFAULT 0,
    score        DOUBLE PRECISION NOT NULL DEFAULT 0, -- the best candidate's score at the last run
    matched_at   BIGINT NOT NULL DEFAULT 0,          -- the last matching run
    reviewed_by  BIGINT NOT NULL DEFAULT 0,          -- users.id of a confirm or reject
    reviewed_at  BIGINT NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX nat_city_sites_code ON nat_city_sites (code);
CREATE INDEX nat_city_sites_site ON nat_city_sites (site_id);
CREATE INDEX nat_city_sites_region ON nat_city_sites (region_code, id);
CREATE INDEX nat_city_sites_state ON nat_city_sites (state, id);

-- The best candidates of the last matching run (at most 3), pos 1 first:
-- what the review page shows. Replaced at every run of the city site.
CREATE TABLE nat_city_candidates (
    city_id     BIGINT NOT NULL,
    pos         INTEGER NOT NULL,
    site_id     BIGINT NOT NULL,
    score       DOUBLE PRECISION NOT NULL,           -- the combined score, 0..1
    name_score  DOUBLE PRECISION NOT NULL,           -- the names' alone
    distance    INTEGER NOT NULL DEFAULT -1,         -- metres, -1 when either has no position
    PRIMARY KEY (city_id, pos)
);

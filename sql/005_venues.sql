-- Venues (场所码点位, issue 4): the gates, buildings, markets, shops, offices
-- and testing sites where people pass, each under a place and a region, with
-- its passage policy on the same row (the scan path reads one row). The
-- printed venue code is signed over code_version (security/token.h):
-- regenerating bumps it, which revokes every poster printed before.
CREATE TABLE venues (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    place_id        BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    direction       TEXT NOT NULL DEFAULT 'both',     -- in | out | both
    allowed_colors  INTEGER NOT NULL DEFAULT 1,       -- bits: 1 green, 2 yellow, 4 red
    limit_count     INTEGER NOT NULL DEFAULT 0,       -- passages per person per period, 0 none
    limit_hours     INTEGER NOT NULL DEFAULT 0,       -- the period
    fever_threshold DOUBLE PRECISION NOT NULL DEFAULT 37.3,
    enabled         INTEGER NOT NULL DEFAULT 1,
    code_version    INTEGER NOT NULL DEFAULT 1,
    code_issued_at  BIGINT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX venues_region ON venues (region_code, id);
CREATE INDEX venues_place ON venues (place_id);

-- Key-person travel records (重点人员出行记录, issue 11 part 1; seed 000
-- §6.6, seed 001 rows 20-26; docs/tracing.md "Key-person trips"): a
-- person's trip with its transport out and back and the places passed on
-- the way (途径点) with how long the person stayed.
--
-- region_code is the person's residence when the trip was written, copied
-- for scope (a community sees the trips of its residents). Days are China
-- dates as yyyymmdd. The flight or train numbers are kept upper-cased and
-- indexed with the day, for the fellow-traveller search of the tracing
-- (a later part of issue 11). A car's plate is personal: sealed (SM4) as
-- the vehicle registry keeps plates (sql/013).
CREATE TABLE trips (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    departed_on     INTEGER NOT NULL,                -- yyyymmdd, China date
    returned_on     INTEGER NOT NULL DEFAULT 0,      -- 0: not back yet / not known
    origin          TEXT NOT NULL DEFAULT '',
    destination     TEXT NOT NULL,
    out_mode        TEXT NOT NULL,                   -- flight | train | coach | car | ship | other
    out_number      TEXT NOT NULL DEFAULT '',
    out_seat        TEXT NOT NULL DEFAULT '',
    out_plate_enc   BYTEA,
    out_note        TEXT NOT NULL DEFAULT '',
    back_mode       TEXT NOT NULL DEFAULT '',        -- '' when the return is not recorded
    back_number     TEXT NOT NULL DEFAULT '',
    back_seat       TEXT NOT NULL DEFAULT '',
    back_plate_enc  BYTEA,
    back_note       TEXT NOT NULL DEFAULT '',
    waypoint_count  INTEGER NOT NULL DEFAULT 0,      -- kept with trip_waypoints (the list shows it)
    source          TEXT NOT NULL,                   -- staff | self | import
    note            TEXT NOT NULL DEFAULT '',
    created_by      BIGINT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX trips_region ON trips (region_code, departed_on);
CREATE INDEX trips_person ON trips (person_id, departed_on);
CREATE INDEX trips_out_number ON trips (out_number, departed_on);
CREATE INDEX trips_back_number ON trips (back_number, returned_on);

-- The waypoints of a trip in their order; a place named in free text, or a
-- venue of the registry (its name read from venues).
CREATE TABLE trip_waypoints (
    trip_id      BIGINT NOT NULL,
    seq          INTEGER NOT NULL,
    kind         TEXT NOT NULL,      -- bus_stop | mall | park | restaurant | station | hospital | venue | other
    place        TEXT NOT NULL DEFAULT '',
    venue_id     BIGINT NOT NULL DEFAULT 0,
    arrived_at   BIGINT NOT NULL DEFAULT 0,          -- epoch ms, 0 not known
    stay_minutes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (trip_id, seq)
);
CREATE INDEX trip_waypoints_venue ON trip_waypoints (venue_id, arrived_at);

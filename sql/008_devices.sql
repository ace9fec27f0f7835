-- Temperature devices, gates and cameras (issue 4; seed 002 二(一)3,
-- seed 000 §7.6.2). Each device authenticates with its id and a random
-- secret shown once at creation: secret_sm3 is SM3 of the secret (a
-- 192-bit random value needs no slow hash) for the HTTP path, broker_hash
-- the same secret in mosquitto's PBKDF2-SHA512 format for the broker's
-- password file, so the file is regenerated without any secret stored.
-- last_seen_at starts at creation; silent_alert_id is the device_silent
-- alert raised for the current silence (0: none), cleared by a heartbeat.
CREATE TABLE devices (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    venue_id        BIGINT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,    -- thermometer | gate | camera
    heartbeat_s     INTEGER NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    secret_sm3      BYTEA NOT NULL,
    broker_hash     TEXT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    silent_alert_id BIGINT NOT NULL DEFAULT 0,
    readings        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_region ON devices (region_code, id);
CREATE INDEX devices_seen ON devices (enabled, last_seen_at) WHERE deleted_at = 0;

-- Readings as devices sent them (append-only); a reading of a known person
-- is also a temperature of health/ (source "device").
CREATE TABLE device_readings (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    device_id       BIGINT NOT NULL,
    venue_id        BIGINT NOT NULL,
    person_id       BIGINT NOT NULL DEFAULT 0,
    temperature     DOUBLE PRECISION NOT NULL,
    fever           INTEGER NOT NULL DEFAULT 0,
    at              BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    via             TEXT NOT NULL     -- http | mqtt
);
CREATE INDEX device_readings_device ON device_readings (device_id, at);
CREATE INDEX device_readings_region ON device_readings (region_code, at);

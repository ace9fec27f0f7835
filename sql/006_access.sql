-- Access records and alerts (issue 4): every passage through a venue and
-- every alert a gate, a device or a rule raises. Both carry the venue's (or
-- device's) region_code, so scope is one range on an index leading on it.
--
-- access_records is append-only. person_id 0: a passage without a person
-- record (visitors and plates, recorded by their own capability).
CREATE TABLE access_records (
    id               BIGINT PRIMARY KEY,
    venue_id         BIGINT NOT NULL,
    region_code      BIGINT NOT NULL,
    person_id        BIGINT NOT NULL DEFAULT 0,
    direction        TEXT NOT NULL,                 -- in | out
    at               BIGINT NOT NULL,
    temperature      DOUBLE PRECISION,              -- NULL: not measured
    colour           TEXT NOT NULL DEFAULT '',      -- green | yellow | red | '' unknown
    verdict          TEXT NOT NULL,                 -- pass | deny
    reason           TEXT NOT NULL DEFAULT '',      -- slug of the first refusal reason
    method           TEXT NOT NULL,                 -- staff_scan | self_scan | manual | device
    operator_user_id BIGINT NOT NULL DEFAULT 0,
    device_id        BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE INDEX access_records_region ON access_records (region_code, at);
CREATE INDEX access_records_venue ON access_records (venue_id, at);
-- the per-person limit counts one person's passages at one venue over a period
CREATE INDEX access_records_person ON access_records (person_id, venue_id, at);

CREATE TABLE alerts (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,       -- fever | entry_limit | code_colour | device_silent | device_fever
    level       TEXT NOT NULL,       -- info | warning | critical
    region_code BIGINT NOT NULL,
    venue_id    BIGINT NOT NULL DEFAULT 0,
    person_id   BIGINT NOT NULL DEFAULT 0,
    device_id   BIGINT NOT NULL DEFAULT 0,
    message     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    at          BIGINT NOT NULL,
    acked_at    BIGINT NOT NULL DEFAULT 0,
    acked_by    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_region ON alerts (region_code, id);
CREATE INDEX alerts_open ON alerts (region_code, acked_at, id);

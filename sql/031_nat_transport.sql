-- Nucleic-acid testing, part 3 (issue 10; seed 004 二2): transport (转运).
-- A box (转运箱) is packed with closed tubes at one site, sealed (封箱),
-- handed to a courier (in transit) and signed for by a laboratory
-- (received); every hand-over (交接) is a row of its chain.
CREATE TABLE nat_boxes (
    id            BIGINT PRIMARY KEY,
    barcode       TEXT NOT NULL,                  -- [0-9A-Za-z-]{6,32}, unique for ever
    site_id       BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,                -- the site's, for scope
    state         TEXT NOT NULL DEFAULT 'packed', -- packed | in_transit | received
    tubes         INTEGER NOT NULL DEFAULT 0,     -- tubes in it
    packed_by     BIGINT NOT NULL,                -- users.id
    packed_at     BIGINT NOT NULL,
    sealed_by     BIGINT NOT NULL DEFAULT 0,
    sealed_at     BIGINT NOT NULL DEFAULT 0,      -- 0: still open for tubes
    holder_id     BIGINT NOT NULL DEFAULT 0,      -- users.id of who holds it now (0: an outside person)
    holder_name   TEXT NOT NULL DEFAULT '',       -- their name, as the chain shows it
    transit_at    BIGINT NOT NULL DEFAULT 0,      -- handed to the courier
    received_at   BIGINT NOT NULL DEFAULT 0,
    overdue_at    BIGINT NOT NULL DEFAULT 0,      -- the overdue alert raised (claimed once)
    version       BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX nat_boxes_barcode ON nat_boxes (barcode);
CREATE INDEX nat_boxes_region ON nat_boxes (region_code, packed_at);
CREATE INDEX nat_boxes_transit ON nat_boxes (state, transit_at);

-- A tube is in one box only, for ever.
ALTER TABLE nat_tubes ADD COLUMN box_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX nat_tubes_box ON nat_tubes (box_id);

-- One hand-over: from whom to whom, when, where, and the state it put the
-- box in. The names are kept as they were (an outside courier has no user).
CREATE TABLE nat_handovers (
    id            BIGINT PRIMARY KEY,
    box_id        BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,                -- the box's, for scope
    state         TEXT NOT NULL,                  -- in_transit | received
    from_id       BIGINT NOT NULL DEFAULT 0,
    from_name     TEXT NOT NULL,
    to_id         BIGINT NOT NULL DEFAULT 0,
    to_name       TEXT NOT NULL,
    at            BIGINT NOT NULL,
    lng           DOUBLE PRECISION,
    lat           DOUBLE PRECISION,
    source        TEXT NOT NULL DEFAULT 'scan',   -- scan | batch
    recorded_by   BIGINT NOT NULL                 -- users.id of the caller
);
CREATE INDEX nat_handovers_box ON nat_handovers (box_id, at);
-- A box takes each state once: a second hand-over into it loses the race here.
CREATE UNIQUE INDEX nat_handovers_once ON nat_handovers (box_id, state);

-- The records an outside system sent (转运数据接入): its own id, once.
CREATE TABLE nat_transport_records (
    client_id     BIGINT NOT NULL,                -- users.id of the exchange account
    record_id     TEXT NOT NULL,
    handover_id   BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (client_id, record_id)
);

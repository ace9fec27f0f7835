-- The exchange's change log (issue 13; src/exchange/changes.c,
-- docs/exchange.md "Datasets and cursors"): one row per write of a record
-- of an exchanged dataset, numbered per dataset in commit order, read by
-- the change cursors of /exchange/v1/<dataset>/changes and by the outbox
-- that delivers our changes to peers.

-- The last number given per dataset. A writer takes the next one with
-- UPDATE ... RETURNING inside its own transaction: on PostgreSQL the row
-- stays locked until that transaction ends, so the numbers of a dataset
-- become visible in increasing order with no gaps (a reader that saw n
-- never finds a change below n appear later); SQLite writers are serial.
-- One row per dataset name of exchange_dataset_name(), made here so the
-- hot path never inserts.
CREATE TABLE exchange_seq (
    dataset TEXT PRIMARY KEY,
    seq     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO exchange_seq (dataset, seq) VALUES ('persons', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('returns', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('contacts', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('itineraries', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('isolations', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('cases', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('results', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('nat', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('zones', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('risk_areas', 0);
INSERT INTO exchange_seq (dataset, seq) VALUES ('stats', 0);

-- One change: record object_id of the dataset, in region region_code (the
-- padded code the record is scoped by, after the write), was written
-- ("upsert") or removed ("delete") at `at` (epoch ms). The record itself is
-- not copied: readers serialise its current state (exchange_record_json),
-- so a record changed twice is sent twice with its latest state.
CREATE TABLE exchange_changes (
    dataset     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    object_id   BIGINT NOT NULL,
    region_code BIGINT NOT NULL,
    op          TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (dataset, seq)
);

-- Nucleic-acid testing (issue 10; seed 004 二2(1)): the ingest interfaces
-- of outside systems (点位、应检/实检报送、取样、打卡数据接入).

-- An outside system names its sites by its own key (one key, one live
-- site across the deployment): upserts and deletes find the site by it.
ALTER TABLE nat_sites ADD COLUMN source_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX nat_sites_source_key ON nat_sites (source_key)
    WHERE source_key <> '' AND deleted_at = 0;

-- Where a sample or a clock-in came from: a phone, or an outside system.
ALTER TABLE nat_samples ADD COLUMN source TEXT NOT NULL DEFAULT 'scan';     -- scan | ingest
ALTER TABLE nat_clockins ADD COLUMN source TEXT NOT NULL DEFAULT 'phone';   -- phone | ingest

-- The actual figure an outside system reports (实检报送), kept beside the
-- counted one (`actual`, from samples) and the street's `corrected`.
ALTER TABLE nat_plan_figures ADD COLUMN reported BIGINT;                   -- NULL: none reported
ALTER TABLE nat_plan_figures ADD COLUMN reported_at BIGINT NOT NULL DEFAULT 0;

-- The records an outside system sent, by kind (site, plan, sample,
-- clockin): its own id, once per caller. target_id: the row it made or
-- changed (the sample of an add, the site of a site record, ...).
CREATE TABLE nat_ingest_records (
    client_id     BIGINT NOT NULL,                -- users.id of the exchange account
    kind          TEXT NOT NULL,                  -- site | plan | sample | clockin
    record_id     TEXT NOT NULL,
    target_id     BIGINT NOT NULL DEFAULT 0,
    at            BIGINT NOT NULL,
    PRIMARY KEY (client_id, kind, record_id)
);
CREATE INDEX nat_ingest_records_target ON nat_ingest_records (kind, target_id);

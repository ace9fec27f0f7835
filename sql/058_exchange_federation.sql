-- Federation between fangkong instances (issue 13; docs/exchange.md
-- "Federation"; src/exchange/federation.c): what a child pulls from its
-- parent.

-- The puller's cursor per (parent peer, dataset): every change of the
-- parent's dataset with seq <= this has been applied here (or refused and
-- counted in rejected). Moved by compare-and-set in the transaction that
-- applies the page, so a change is applied once. last_error: why the last
-- pull failed (Chinese), '' after a good one.
CREATE TABLE exchange_fed_cursors (
    peer_id     BIGINT NOT NULL,
    dataset     TEXT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT 0,
    pulled_at   BIGINT NOT NULL DEFAULT 0,
    applied     BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (peer_id, dataset)
);

-- The parent's record id -> our copy's id: a change of a zone or risk
-- area already copied updates (or ends) that copy instead of adding one.
CREATE TABLE exchange_fed_map (
    peer_id    BIGINT NOT NULL,
    dataset    TEXT NOT NULL,
    remote_id  BIGINT NOT NULL,
    local_id   BIGINT NOT NULL,
    PRIMARY KEY (peer_id, dataset, remote_id)
);

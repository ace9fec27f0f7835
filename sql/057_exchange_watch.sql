-- Exchange monitoring (交换监控, issue 13 "Monitoring and alerts";
-- src/exchange/watch.c, docs/exchange.md "Monitoring"): per-minute
-- aggregates of the calls of the exchange, and the anomaly alerts raised
-- from them.

-- One minute of calls of one party, dataset and result. Every server adds
-- its own counts to the row (INSERT … ON CONFLICT DO UPDATE SET calls =
-- calls + excluded.calls), so several servers on one database sum up.
-- direction: 'in' (caller_id called us; party its name, '' and 0 when the
-- call named no known caller) or 'out' (we called the peer named party,
-- caller_id 0). region_code: the caller's region (who may see the row;
-- 0 for outbound calls, which are the deployment's). result: 'ok' or the
-- error slug. b0..b12: the latency histogram over the bounds of /metrics
-- (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000 ms, above).
CREATE TABLE exchange_minutes (
    minute      BIGINT NOT NULL,            -- epoch minute (epoch ms / 60000)
    direction   TEXT NOT NULL,
    caller_id   BIGINT NOT NULL,
    party       TEXT NOT NULL,
    dataset     TEXT NOT NULL,              -- exchange_dataset_name, '' for none
    result      TEXT NOT NULL,
    region_code BIGINT NOT NULL DEFAULT 0,
    calls       BIGINT NOT NULL DEFAULT 0,
    records     BIGINT NOT NULL DEFAULT 0,
    latency_us  BIGINT NOT NULL DEFAULT 0,  -- the sum
    b0 BIGINT NOT NULL DEFAULT 0, b1 BIGINT NOT NULL DEFAULT 0, b2 BIGINT NOT NULL DEFAULT 0,
    b3 BIGINT NOT NULL DEFAULT 0, b4 BIGINT NOT NULL DEFAULT 0, b5 BIGINT NOT NULL DEFAULT 0,
    b6 BIGINT NOT NULL DEFAULT 0, b7 BIGINT NOT NULL DEFAULT 0, b8 BIGINT NOT NULL DEFAULT 0,
    b9 BIGINT NOT NULL DEFAULT 0, b10 BIGINT NOT NULL DEFAULT 0, b11 BIGINT NOT NULL DEFAULT 0,
    b12 BIGINT NOT NULL DEFAULT 0,
    last_at     BIGINT NOT NULL DEFAULT 0,  -- epoch ms of the latest call counted
    PRIMARY KEY (minute, direction, caller_id, party, dataset, result)
);
-- the anomaly sweep reads one caller's day; the page reads a window by minute (the key)
CREATE INDEX exchange_minutes_caller ON exchange_minutes (caller_id, minute);

-- An anomaly alert: one per caller and hour (the unique key: of several
-- servers sweeping, the first claims it), with what was judged.
CREATE TABLE exchange_anomalies (
    id          BIGINT PRIMARY KEY,
    caller_id   BIGINT NOT NULL,
    hour        BIGINT NOT NULL,            -- epoch hour of the sweep
    region_code BIGINT NOT NULL,
    kind        TEXT NOT NULL,              -- errors | volume_high | volume_low
    calls       BIGINT NOT NULL,
    errors      BIGINT NOT NULL,
    mean_calls  DOUBLE PRECISION NOT NULL,
    sd_calls    DOUBLE PRECISION NOT NULL,
    base_rate   DOUBLE PRECISION NOT NULL,
    alert_id    BIGINT NOT NULL DEFAULT 0,
    at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX exchange_anomalies_once ON exchange_anomalies (caller_id, hour);

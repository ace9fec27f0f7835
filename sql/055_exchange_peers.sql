-- Data exchange: the systems we call (对接系统) and the outbox that delivers
-- our change log to them (issue 13; docs/exchange.md "Peers and the
-- outbox"; src/exchange/peer.c, src/exchange/outbox.c).

-- A peer: another fangkong instance, a government platform, a police
-- service, ... kind is one of fangkong, gov, police, platform, urban,
-- telecom, situation. caller is our caller id at the peer (its
-- X-Fk-Caller); key_enc the sealed private key PEM we sign with there
-- (NULL: the server's own key); peer_key the peer's public key PEM its
-- answers must verify under; ca_file an https trust bundle (NULL: the
-- system store). datasets: the outbox's subscriptions, bit (1 << dataset).
-- region_code: only changes inside this subtree are sent (0: all).
-- fail_after_s / stale_after_s: the alert thresholds. The state columns
-- are written by every call: last_ok_at, last_fail_at, last_error (the
-- reason, Chinese), failing_since (0 while healthy), and the two alert
-- episodes (1 once raised, back to 0 when the condition ends).
CREATE TABLE exchange_peers (
    id             BIGINT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    base_url       TEXT NOT NULL,
    caller         TEXT NOT NULL,
    key_enc        BYTEA,
    peer_key       TEXT NOT NULL,
    ca_file        TEXT,
    timeout_s      INTEGER NOT NULL DEFAULT 10,
    enabled        INTEGER NOT NULL DEFAULT 1,
    datasets       BIGINT NOT NULL DEFAULT 0,
    region_code    BIGINT NOT NULL DEFAULT 0,
    fail_after_s   INTEGER NOT NULL DEFAULT 600,
    stale_after_s  INTEGER NOT NULL DEFAULT 1800,
    last_ok_at     BIGINT NOT NULL DEFAULT 0,
    last_fail_at   BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    failing_since  BIGINT NOT NULL DEFAULT 0,
    fail_alerted   INTEGER NOT NULL DEFAULT 0,
    stale_alerted  INTEGER NOT NULL DEFAULT 0,
    created_by     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- The outbox's cursor per (peer, dataset): every change of the dataset
-- with seq <= sent_seq has been delivered (or permanently rejected). A
-- server sends only while it holds the lease (lease_until in the future,
-- taken with UPDATE ... WHERE lease_until < now), so two servers never send
-- the same batch at once. attempts / next_at: the back-off after a failed
-- batch.
CREATE TABLE exchange_outbox (
    peer_id      BIGINT NOT NULL,
    dataset      TEXT NOT NULL,
    sent_seq     BIGINT NOT NULL DEFAULT 0,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (peer_id, dataset)
);

-- Records a peer rejected for good (its per-record result was a
-- permanent refusal): kept for the operator, the cursor moves past them.
CREATE TABLE exchange_outbox_rejects (
    id         BIGINT PRIMARY KEY,
    peer_id    BIGINT NOT NULL,
    dataset    TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    object_id  BIGINT NOT NULL,
    code       TEXT NOT NULL,
    message    TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX exchange_outbox_rejects_peer ON exchange_outbox_rejects (peer_id, at);

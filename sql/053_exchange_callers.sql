-- Data exchange: the callers (调用方) other systems sign in as, their SM2
-- public keys, the nonces seen within the signing window, the first answers
-- of idempotent writes, and the server's own SM2 key (issue 13; seed 000
-- §7.6.1 j; docs/exchange.md, src/exchange/).

-- A caller: who it is (name, organisation, contact; the phone sealed),
-- the subtrees it may act in (regions: padded codes joined by ','; the
-- first also in region_code, the scope the console lists it by), the
-- datasets it may read and write (bit 1 << enum exchange_dataset), its
-- rate limit (calls per minute), its state (active, suspended, disabled:
-- deleted, kept so the audit log keeps naming it) and expiry (0: none).
-- user_id: its account (role exchange_client), which audit entries name.
CREATE TABLE exchange_callers (
    id                BIGINT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    organisation      TEXT NOT NULL,
    contact_name      TEXT NOT NULL DEFAULT '',
    contact_phone_enc BYTEA,
    region_code       BIGINT NOT NULL,
    regions           TEXT NOT NULL,
    read_sets         BIGINT NOT NULL DEFAULT 0,
    write_sets        BIGINT NOT NULL DEFAULT 0,
    rate_per_min      INTEGER NOT NULL,
    state             TEXT NOT NULL DEFAULT 'active',
    state_reason      TEXT NOT NULL DEFAULT '',
    expires_at        BIGINT NOT NULL DEFAULT 0,
    user_id           BIGINT NOT NULL,
    created_by        BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX exchange_callers_region ON exchange_callers (region_code);

-- A caller's public key. Valid while revoked_at = 0 and (valid_until = 0
-- or valid_until > now): a rotation sets the old key's valid_until to the
-- end of its overlap; a revocation sets revoked_at. The private half is
-- never stored.
CREATE TABLE exchange_caller_keys (
    id          BIGINT PRIMARY KEY,
    caller_id   BIGINT NOT NULL,
    public_pem  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    valid_until BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX exchange_caller_keys_caller ON exchange_caller_keys (caller_id);

-- Nonces of verified calls, kept for the signing window (both sides) and
-- then purged: the primary key refuses a replay on every server at once.
CREATE TABLE exchange_nonces (
    caller_id BIGINT NOT NULL,
    nonce     TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (caller_id, nonce)
);
CREATE INDEX exchange_nonces_at ON exchange_nonces (at);

-- The first answer of each idempotent write: the row is inserted in the
-- write's own transaction, so of two concurrent duplicates one waits for
-- the other and replays its answer. request_hash: SM3 of the signed
-- request's method, path, query and body. Kept EXCHANGE_IDEMPOTENCY_DAYS.
CREATE TABLE exchange_idempotency (
    caller_id    BIGINT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (caller_id, idem_key)
);
CREATE INDEX exchange_idempotency_at ON exchange_idempotency (at);

-- The server's own SM2 key (one row, id 1): made by the first server that
-- needs it, the private PEM sealed, so every server of a deployment signs
-- its answers alike.
CREATE TABLE exchange_server_keys (
    id          INTEGER PRIMARY KEY,
    public_pem  TEXT NOT NULL,
    private_enc BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Foundation schema: regions, identity, audit, the registry of people,
-- places and enterprises. Portable subset of SQLite and PostgreSQL:
-- BIGINT ids made by the application (base/id.h), times in epoch ms,
-- booleans as INTEGER 0/1, ciphertexts and blind indexes as BYTEA.
--
-- Region codes are stored as BIGINT in 18-digit padded form (see
-- region/region.h): a region's subtree is the integer range
-- [code, code + 10^(18 - significant digits)), so every scope filter is a
-- range condition on an indexed column of the same table.

CREATE TABLE regions (
    code        BIGINT PRIMARY KEY,
    parent_code BIGINT,
    level       INTEGER NOT NULL,   -- 1 province .. 7 building
    name        TEXT NOT NULL,
    boundary    TEXT,               -- GeoJSON Polygon/MultiPolygon geometry
    center_lng  DOUBLE PRECISION,
    center_lat  DOUBLE PRECISION,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE departments (
    id          BIGINT PRIMARY KEY,
    parent_id   BIGINT REFERENCES departments (id),
    region_code BIGINT NOT NULL REFERENCES regions (code),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX departments_region ON departments (region_code);

CREATE TABLE roles (
    id          BIGINT PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,  -- glossary role name for built-ins
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     INTEGER NOT NULL DEFAULT 0,
    require_totp INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE role_permissions (
    role_id     BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission  TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

-- Staff sign in with username and password; residents with phone and SMS
-- code (username NULL, phone_bidx set).
CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT 'staff',   -- staff | resident
    password_hash TEXT,
    region_code   BIGINT NOT NULL REFERENCES regions (code),
    department_id BIGINT REFERENCES departments (id),
    phone_enc     BYTEA,
    phone_bidx    BYTEA UNIQUE,
    person_id     BIGINT,
    totp_secret_enc BYTEA,
    totp_enabled  INTEGER NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,      -- refuses a replayed code
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    password_changed_at BIGINT NOT NULL DEFAULT 0,
    last_login_at BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_region ON users (region_code);

CREATE TABLE user_roles (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id     BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id);

-- Session tokens are stored as SM3 hashes: a stolen database holds no
-- usable token.
CREATE TABLE sessions (
    token_hash  BYTEA PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    ip          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Fixed-window counters shared by every server: sign-in attempts per
-- address, SMS codes per phone and per address.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL
);

CREATE TABLE sms_codes (
    phone_bidx  BYTEA PRIMARY KEY,
    code_hash   BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL,
    tries       INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

-- The audit log: one hash chain per writing node, so several servers on one
-- PostgreSQL each append to their own chain without coordination.
-- hash = SM3(prev_hash || canonical row text).
CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,
    node        INTEGER NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    user_id     BIGINT NOT NULL DEFAULT 0,
    username    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   BIGINT NOT NULL DEFAULT 0,
    result      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    UNIQUE (node, seq)
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

-- People. Name, id number, phone, addresses and emergency contact are SM4
-- ciphertexts (security/crypto.h); *_bidx are keyed blind indexes for exact
-- search. Columns for the health, trajectory and management groups of seed
-- 001 §5.1 arrive with the issues that own them (declarations, cases,
-- trace), in their own tables keyed by person_id.
CREATE TABLE persons (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,           -- residence region (scope)
    id_type         INTEGER NOT NULL,
    id_number_enc   BYTEA NOT NULL,
    id_number_bidx  BYTEA NOT NULL,
    name_enc        BYTEA NOT NULL,
    name_bidx       BYTEA NOT NULL,
    phone_enc       BYTEA,
    phone_bidx      BYTEA,
    gender          INTEGER NOT NULL DEFAULT 0, -- 0 unknown, 1 male, 2 female
    birth_date      INTEGER NOT NULL DEFAULT 0, -- yyyymmdd
    native_place    TEXT NOT NULL DEFAULT '',
    category        TEXT NOT NULL DEFAULT 'resident',
    inbound         INTEGER NOT NULL DEFAULT 0,
    address_enc     BYTEA,
    household       TEXT NOT NULL DEFAULT '',
    household_relation TEXT NOT NULL DEFAULT '',
    emergency_name_enc  BYTEA,
    emergency_phone_enc BYTEA,
    employed        INTEGER NOT NULL DEFAULT 0,
    employer        TEXT NOT NULL DEFAULT '',
    work_address_enc BYTEA,
    current_location TEXT NOT NULL DEFAULT '',
    vulnerable      INTEGER NOT NULL DEFAULT 0, -- bit set, person/person.h
    status          TEXT NOT NULL DEFAULT 'normal',
    source          TEXT NOT NULL DEFAULT 'staff',
    consent_at      BIGINT NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    created_by      BIGINT NOT NULL DEFAULT 0,
    updated_by      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX persons_identity ON persons (id_number_bidx, id_type) WHERE deleted_at = 0;
CREATE INDEX persons_region ON persons (region_code, id);
CREATE INDEX persons_phone ON persons (phone_bidx);

-- Name search without decrypting: keyed blind indexes of the full name, the
-- surname and every character bigram (docs/security.md explains the trade).
CREATE TABLE person_name_tokens (
    token       BYTEA NOT NULL,
    person_id   BIGINT NOT NULL,
    PRIMARY KEY (token, person_id)
);

CREATE TABLE person_history (
    id          BIGINT PRIMARY KEY,
    person_id   BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    action      TEXT NOT NULL,           -- create | update | delete
    changes_enc BYTEA NOT NULL           -- sealed JSON {field: [old, new]}
);
CREATE INDEX person_history_person ON person_history (person_id, at);

CREATE TABLE enterprises (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    name            TEXT NOT NULL,
    credit_code     TEXT NOT NULL,
    contact_name_enc  BYTEA,
    contact_phone_enc BYTEA,
    legal_rep_enc     BYTEA,
    legal_rep_phone_enc BYTEA,
    employees       INTEGER NOT NULL DEFAULT 0,
    address         TEXT NOT NULL DEFAULT '',
    industry        TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX enterprises_credit ON enterprises (credit_code) WHERE deleted_at = 0;
CREATE INDEX enterprises_region ON enterprises (region_code, id);

CREATE TABLE places (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    area            DOUBLE PRECISION NOT NULL DEFAULT 0,
    households      INTEGER NOT NULL DEFAULT 0,
    buildings       INTEGER NOT NULL DEFAULT 0,
    contact_name_enc  BYTEA,
    contact_phone_enc BYTEA,
    lng             DOUBLE PRECISION,
    lat             DOUBLE PRECISION,
    enterprise_id   BIGINT,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX places_region ON places (region_code, id);

-- Background jobs (imports, recomputation, exports) and their progress.
CREATE TABLE jobs (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,          -- queued | running | done | failed
    done        BIGINT NOT NULL DEFAULT 0,
    total       BIGINT NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',
    user_id     BIGINT NOT NULL,
    region_code BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

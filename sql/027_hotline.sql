-- Hotline tickets (接诉即办, issue 10 "Other data"; seed 004 二2(2);
-- docs/hotline.md): the 12345 hotline's work orders imported from its
-- exports, the extraction rules the command centre keeps, and which rules
-- each ticket matches. The counters (hotline.tickets, hotline.matched,
-- hotline.rule.<rule id>) are kept in `counters` (sql/018).

-- One work order, keyed by the hotline's number: a re-import updates it.
-- The caller's name and phone are sealed (SM4, "hotline.caller_name",
-- "hotline.caller_phone"); the phone has a blind index.
CREATE TABLE hotline_tickets (
    id                BIGINT PRIMARY KEY,
    ticket_no         TEXT NOT NULL,
    region_code       BIGINT NOT NULL,              -- padded: street, community or below
    street_code       BIGINT NOT NULL,              -- the street at or above region_code
    received_at       BIGINT NOT NULL,
    caller_name_enc   BYTEA,
    caller_phone_enc  BYTEA,
    caller_phone_bidx BYTEA,
    address           TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT '',     -- the hotline's 问题分类
    content           TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT '',     -- the hotline's own state, free text
    site_id           BIGINT NOT NULL DEFAULT 0,    -- nat_sites.id named by the text, 0 none
    person_id         BIGINT NOT NULL DEFAULT 0,    -- persons.id with the caller's phone, 0 none
    matched           INTEGER NOT NULL DEFAULT 0,   -- how many rules match
    job_id            BIGINT NOT NULL DEFAULT 0,    -- the import that wrote it last
    imported_at       BIGINT NOT NULL,
    imported_by       BIGINT NOT NULL               -- users.id
);
CREATE UNIQUE INDEX hotline_tickets_no ON hotline_tickets (ticket_no);
CREATE INDEX hotline_tickets_region ON hotline_tickets (region_code, received_at);
-- the list's order (newest received first): a page of a district's tickets
-- reads the newest rows instead of sorting them all
CREATE INDEX hotline_tickets_received ON hotline_tickets (received_at, id);
CREATE INDEX hotline_tickets_phone ON hotline_tickets (caller_phone_bidx);

-- Extraction rules (抽取规则): lists as JSON arrays of strings.
CREATE TABLE hotline_rules (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    categories  TEXT NOT NULL DEFAULT '[]',   -- none: any category
    keywords    TEXT NOT NULL,                -- any of
    excludes    TEXT NOT NULL DEFAULT '[]',   -- none of
    enabled     INTEGER NOT NULL DEFAULT 1,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  BIGINT NOT NULL DEFAULT 0,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX hotline_rules_name ON hotline_rules (name) WHERE deleted_at = 0;

-- A ticket matching a rule, with the ticket's region and China day of
-- receipt (the counters' keys, so a re-match takes back what it added).
CREATE TABLE hotline_matches (
    ticket_id   BIGINT NOT NULL,
    rule_id     BIGINT NOT NULL,
    region_code BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, rule_id)
);
CREATE INDEX hotline_matches_rule ON hotline_matches (rule_id, region_code);

-- The rules the seed's examples name, enabled, for the command centre to edit.
INSERT INTO hotline_rules (id, name, categories, keywords, excludes, enabled, version,
                           created_at, updated_at)
VALUES (1, '核酸排队', '[]', '["排队","人太多","等了很久","队伍"]', '[]', 1, 1, 0, 0),
       (2, '核酸结果查询', '[]', '["核酸结果","检测结果","查不到结果","结果未出"]', '[]', 1, 1, 0, 0),
       (3, '隔离管控诉求', '[]', '["隔离","封控","管控","健康码"]', '["解除隔离证明已收到"]', 1, 1, 0, 0);

-- Publishing (疫情发布, seed 000 §6.5; issue 12; docs/publish.md): what the
-- public page /public/ shows without sign-in.
--
-- A publication is a draft of blocks (title, text, figures, trend, per-region
-- table, map) for a region: its figures are the counters over that region's
-- code range. It is submitted for approval, approved by a second person,
-- and every approval makes a numbered version whose blocks never change;
-- the public sees the newest version not withdrawn. A version's snapshot is
-- what the public page renders: the blocks with their figures filled in
-- from the counters (aggregates and region names only, never a person),
-- rendered at approval and again on a schedule.
CREATE TABLE publications (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,            -- padded: whose figures, and scope
    template        TEXT NOT NULL,              -- overview | local | map | trends | regions
    title           TEXT NOT NULL,
    blocks          TEXT NOT NULL,              -- the draft's blocks (JSON array)
    state           TEXT NOT NULL,              -- draft | pending | published
    submitted_by    BIGINT NOT NULL DEFAULT 0,  -- users.id of the last submission
    submitted_at    BIGINT NOT NULL DEFAULT 0,
    note            TEXT NOT NULL DEFAULT '',   -- the reason of the last rejection
    created_by      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deleted_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX publications_region ON publications (region_code, id);

CREATE TABLE publication_versions (
    id              BIGINT PRIMARY KEY,
    publication_id  BIGINT NOT NULL,
    version         BIGINT NOT NULL,            -- 1, 2, … per publication
    title           TEXT NOT NULL,
    blocks          TEXT NOT NULL,              -- as approved: never updated
    snapshot        TEXT NOT NULL,              -- rendered figures (JSON), re-rendered on schedule
    data_day        BIGINT NOT NULL,            -- China day number of the figures
    rendered_at     BIGINT NOT NULL,
    submitted_by    BIGINT NOT NULL,
    approved_by     BIGINT NOT NULL,
    approved_at     BIGINT NOT NULL,
    withdrawn_by    BIGINT NOT NULL DEFAULT 0,
    withdrawn_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX publication_versions_number ON publication_versions (publication_id, version);
CREATE INDEX publication_versions_live ON publication_versions (withdrawn_at, publication_id, version);
-- the public replies' stamp (src/publish/public.c): the newest render
CREATE INDEX publication_versions_rendered ON publication_versions (rendered_at);

-- News and public-opinion items (最新动态, 舆情), imported by API or from an
-- RSS 2.0 / Atom file, shown on the public page once approved. One item per
-- dedupe key (its guid or Atom id, else its link), whoever imports it again.
CREATE TABLE feed_items (
    id              BIGINT PRIMARY KEY,
    region_code     BIGINT NOT NULL,            -- padded: the importer's scope root
    kind            TEXT NOT NULL,              -- news | opinion
    dedupe_key      TEXT NOT NULL,
    title           TEXT NOT NULL,
    link            TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT '',
    published_at    BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,              -- pending | approved | rejected
    created_by      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    decided_by      BIGINT NOT NULL DEFAULT 0,
    decided_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX feed_items_dedupe ON feed_items (dedupe_key);
CREATE INDEX feed_items_region ON feed_items (region_code, state, id);
CREATE INDEX feed_items_public ON feed_items (state, published_at);
CREATE INDEX feed_items_decided ON feed_items (decided_at);

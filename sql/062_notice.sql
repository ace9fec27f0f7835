-- Notices to residents with read receipts (通知, seed 002 二(四); issue 14;
-- docs/community.md "Notices", src/notice/).

-- A notice: written by staff for the residents of a region inside their
-- scope, to an audience (notice_audience vocabulary: all, building,
-- vulnerable, observation); vulnerable holds the one flag (person.h bit)
-- of a vulnerable audience. body is sanitised HTML (base/html.h), never
-- what the browser sent. state: published | withdrawn. The author's name
-- is kept as written so a list needs no join to users.
CREATE TABLE notices (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,
    audience      TEXT NOT NULL,
    vulnerable    INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    pinned        INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'published',
    recipients    BIGINT NOT NULL DEFAULT 0,
    author_id     BIGINT NOT NULL,
    author_name   TEXT NOT NULL DEFAULT '',
    published_at  BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    withdrawn_at  BIGINT NOT NULL DEFAULT 0,
    reminded_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notices_region ON notices (region_code, published_at);

-- The audience resolved at publication: one row per person, so the
-- receipts are exact whoever moves or registers later. region_code is the
-- person's (a building) at publication: the receipts' building column.
-- read_at 0 unread; reminded_at 0 never reminded (再次提醒).
CREATE TABLE notice_recipients (
    notice_id     BIGINT NOT NULL,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    read_at       BIGINT NOT NULL DEFAULT 0,
    reminded_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (notice_id, person_id)
);
CREATE INDEX notice_recipients_person ON notice_recipients (person_id, notice_id);

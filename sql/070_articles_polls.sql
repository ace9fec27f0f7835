-- Knowledge, propaganda, news and the self-check guide (articles), and
-- polls and surveys (协商) for residents (seed 002 二(四), seed 001
-- §4.1.4; issue 14; docs/community.md "Knowledge and news", "Polls";
-- src/notice/article.c, src/notice/poll.c).

-- An article: kind (article_kinds vocabulary: knowledge, science, home,
-- prevention, policy, news, guide), for the residents of the region's
-- subtree [region_code, region_hi) (kept so the resident's query is one
-- range test). body is sanitised HTML (base/html.h). cover_id an
-- attachment (owner_kind "article") or 0. state: draft | published.
CREATE TABLE articles (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,
    region_hi     BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    cover_id      BIGINT NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'draft',
    author_id     BIGINT NOT NULL,
    author_name   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    published_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX articles_region ON articles (region_code, updated_at);
CREATE INDEX articles_kind ON articles (kind, state, published_at);

-- A poll: an audience like a notice's (notice_audiences), resolved at
-- publication into poll_recipients; questions the checked JSON array
-- [{text, type: single|multiple|text, options: [..]}] (at most 20, each at
-- most 20 options), fixed once published. closes_at the closing time (ms);
-- state: open | closed (closed early by staff). show_results: residents
-- see the results after answering or closing.
CREATE TABLE polls (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,
    audience      TEXT NOT NULL,
    vulnerable    INTEGER NOT NULL DEFAULT 0,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    questions     TEXT NOT NULL,
    show_results  INTEGER NOT NULL DEFAULT 1,
    state         TEXT NOT NULL DEFAULT 'open',
    recipients    BIGINT NOT NULL DEFAULT 0,
    author_id     BIGINT NOT NULL,
    author_name   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    closes_at     BIGINT NOT NULL,
    closed_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX polls_region ON polls (region_code, created_at);

-- Who may answer: one row per person at publication; answered_at 0 until
-- they answer, then the one answer (the UPDATE ... WHERE answered_at = 0
-- is what makes a second one 409 already_voted).
CREATE TABLE poll_recipients (
    poll_id       BIGINT NOT NULL,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    answered_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, person_id)
);
CREATE INDEX poll_recipients_person ON poll_recipients (person_id, poll_id);

-- The answers: one row per option chosen (choice questions: option >= 0,
-- text '') or per text answer (option -1). region_code is the resident's
-- building, for the results per building; no person id, so the results
-- cannot be traced back to a resident.
CREATE TABLE poll_answers (
    poll_id       BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    question      INTEGER NOT NULL,
    choice        INTEGER NOT NULL,
    text          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX poll_answers_poll ON poll_answers (poll_id, question, choice);

-- The connectors of the data exchange (issue 13 "Connectors", "Two more
-- feeds"; docs/exchange.md "Connectors"; src/exchange/connect_*.c): what
-- fangkong keeps of its calls to the police identity service, the telecom
-- operators' visited-place service and the national/provincial situation
-- source. The peers themselves (URL, keys) are exchange_peers (055).

-- One police identity check (公安核验) of a person: the outcome only; the
-- face photo sent with a face comparison is never stored. kind: identity
-- (name + id number) or face; result: match, no_match; score: the peer's
-- face similarity 0..100 (NULL for identity checks). via: staff (the
-- 公安核验 button, by_user the staff member) or binding (a resident's
-- real-name binding, by_user the resident's account).
CREATE TABLE police_checks (
    id         BIGINT PRIMARY KEY,
    person_id  BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    result     TEXT NOT NULL,
    score      DOUBLE PRECISION,
    via        TEXT NOT NULL,
    by_user    BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX police_checks_person ON police_checks (person_id, at);

-- A resident's authorised visited-place query (运营商到访地查询, seed 002
-- 二(一)1): who asked, when, for which days, under which consent text
-- version, and how many places the operator answered. The rate limit
-- (one query per resident per interval) reads the latest row.
CREATE TABLE telecom_queries (
    id          BIGINT PRIMARY KEY,
    person_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    days        INTEGER NOT NULL,
    consent     TEXT NOT NULL,
    places      INTEGER NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX telecom_queries_user ON telecom_queries (user_id, at);

-- The operator's answer as itinerary evidence (trace/itinerary.c, source
-- "telecom"): each place visited, by name (a city or province, outside the
-- region tree like a trip's destination), over [from_at, to_at].
CREATE TABLE itinerary_telecom (
    query_id   BIGINT NOT NULL,
    seq        INTEGER NOT NULL,
    person_id  BIGINT NOT NULL,
    place      TEXT NOT NULL,
    from_at    BIGINT NOT NULL,
    to_at      BIGINT NOT NULL,
    PRIMARY KEY (query_id, seq)
);
CREATE INDEX itinerary_telecom_person ON itinerary_telecom (person_id, to_at);

-- National and provincial situation figures per day (全国疫情实时数据, seed
-- 001 §5.2), imported from the configured source (peer kind "situation").
-- area: "000000" the whole country, else a province's 6-digit code; one
-- row per (area, day): a later import of the same day replaces its figures.
CREATE TABLE situation_daily (
    area          TEXT NOT NULL,
    day           TEXT NOT NULL,
    area_name     TEXT NOT NULL,
    confirmed     BIGINT NOT NULL,
    suspected     BIGINT NOT NULL,
    cured         BIGINT NOT NULL,
    deaths        BIGINT NOT NULL,
    asymptomatic  BIGINT NOT NULL,
    new_confirmed BIGINT NOT NULL,
    source        TEXT NOT NULL,
    fetched_at    BIGINT NOT NULL,
    PRIMARY KEY (area, day)
);

-- An incident sent to the city's digital urban management system (数字城管,
-- seed 000 §6.3.4; peer kind "urban") as one of its cases: the case number
-- it answered, its last known state (the peer's code and Chinese label),
-- when it was pushed and by whom, and when it was last asked. done: the
-- peer reported a final state; the poll stops asking.
CREATE TABLE urban_cases (
    incident_id  BIGINT PRIMARY KEY,
    region_code  BIGINT NOT NULL,
    case_no      TEXT NOT NULL,
    state        TEXT NOT NULL,
    state_label  TEXT NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    pushed_by    BIGINT NOT NULL,
    pushed_at    BIGINT NOT NULL,
    polled_at    BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX urban_cases_open ON urban_cases (done, polled_at);

-- Another epidemic platform's situation (其他疫情平台, seed 000 §6.3.3; peer
-- kind "platform") as it answered, per (peer, its date): its name and
-- region, and data, the JSON {figures: [{label, value}], trend: [{label,
-- points: [{date, value}]}]} shown as 外部平台疫情. Figures only: a
-- platform's answer carries no personal data we keep.
CREATE TABLE platform_situation (
    peer_id      BIGINT NOT NULL,
    day          TEXT NOT NULL,
    platform     TEXT NOT NULL,
    region_name  TEXT NOT NULL,
    data         TEXT NOT NULL,
    fetched_at   BIGINT NOT NULL,
    PRIMARY KEY (peer_id, day)
);

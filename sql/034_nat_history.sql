-- Historical testing rounds (历史轮次; issue 10, seed 004 二2(2)
-- "历史数据对接，包括中小学核酸检测及对轮街道核酸检测数据"): rounds held before
-- the system (or outside it) and their figures per unit, imported from a
-- spreadsheet or entered in the console. A round is city-wide; its figures
-- are scoped by their street.
CREATE TABLE nat_rounds (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,                  -- school | street
    first_day     BIGINT NOT NULL,                -- China day numbers (china_day)
    last_day      BIGINT NOT NULL,                -- >= first_day; a one-day round: equal
    source        TEXT NOT NULL DEFAULT '',       -- where the figures came from
    created_by    BIGINT NOT NULL,                -- users.id
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX nat_rounds_day ON nat_rounds (first_day, id);

-- One unit's figures in a round: a street (school = '') or a school of a
-- street. untested -1: not given.
CREATE TABLE nat_round_figures (
    id            BIGINT PRIMARY KEY,
    round_id      BIGINT NOT NULL,
    street_code   BIGINT NOT NULL,                -- padded region code, level street
    school        TEXT NOT NULL DEFAULT '',
    planned       BIGINT NOT NULL,
    tested        BIGINT NOT NULL,
    positive      BIGINT NOT NULL,
    untested      BIGINT NOT NULL DEFAULT -1,
    updated_by    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX nat_round_figures_unit ON nat_round_figures (round_id, street_code, school);
CREATE INDEX nat_round_figures_street ON nat_round_figures (street_code, round_id);

-- 068: community services, second wave: help requests (求助) and environment clues (线索)
-- (issue 14, seed 002 二(五)-二(六); docs/community-services.md "Help requests", "Environment clues").
--
-- help_requests: a resident (a vulnerable person, or one on home
-- observation) asks the community for help: medicine, daily goods, a
-- doctor, someone to talk to, child care. The request carries its own
-- state: submitted -> assigned -> in_progress -> done, or cancelled (by
-- the resident before work starts, or by staff with a reason). Staff with
-- service.manage assign it to a staff account holding assist.work whose
-- region holds the request's community; the handler's note is what the
-- resident reads on the phone. The text is personal (health, family):
-- sealed like the person's own fields (field "help_requests.text").
CREATE TABLE help_requests (
    id           BIGINT PRIMARY KEY,
    person_id    BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,            -- the resident's account
    region_code  BIGINT NOT NULL,            -- the person's residence then (padded): the scope key
    kind         TEXT NOT NULL,              -- medicine | goods | doctor | counselling | childcare | other
    text_enc     BYTEA NOT NULL,             -- what they need, SM4-sealed
    state        TEXT NOT NULL DEFAULT 'submitted',
    assignee_id  BIGINT NOT NULL DEFAULT 0,  -- the staff account handling it (0: none yet)
    note         TEXT NOT NULL DEFAULT '',   -- the handler's latest note, shown to the resident
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    updated_by   BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL DEFAULT 0   -- done or cancelled
);
CREATE INDEX help_requests_region ON help_requests (region_code, id);
CREATE INDEX help_requests_person ON help_requests (person_id, id);
CREATE INDEX help_requests_assignee ON help_requests (assignee_id, state);

-- env_clues: a resident reports an environment problem (线索: litter on a
-- public road, a market's hygiene, a broken facility) with photos and where
-- the phone was. Each clue becomes a task "env_clue" for the community
-- staff of the resident's region (src/task); completing the task records
-- the result here, which the resident reads.
CREATE TABLE env_clues (
    id           BIGINT PRIMARY KEY,
    person_id    BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,             -- the person's residence then (padded): scope
    category     TEXT NOT NULL,               -- road | space | facility | market | stall | other
    text_enc     BYTEA NOT NULL,              -- what they saw, sealed (field "env_clues.text")
    lat          DOUBLE PRECISION,            -- the phone's position, optional
    lng          DOUBLE PRECISION,
    task_id      BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'open', -- open | done | cancelled
    result       TEXT NOT NULL DEFAULT '',     -- what the staff did, shown to the resident
    result_by    BIGINT NOT NULL DEFAULT 0,
    result_at    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX env_clues_region ON env_clues (region_code, id);
CREATE INDEX env_clues_person ON env_clues (person_id, id);

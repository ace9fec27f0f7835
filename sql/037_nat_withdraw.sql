-- Nucleic-acid results, issue 10's loose ends (docs/nat.md "Laboratory"):
-- a visitor's retest and the withdrawal (撤回) of a wrongly entered result.

-- A visitor in a positive pool (a sample with visitor_id, no person) gets a
-- retest too: person_id 0, visitor_id set, region_code the site's community
-- (the tube's region), whose community staff follow up by phone.
ALTER TABLE nat_retests ADD COLUMN visitor_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX nat_retests_visitor ON nat_retests (visitor_id, state);

-- A withdrawn result: what the tube carried, why, by whom. The tube goes
-- back to received with no result; its retests opened by it are marked
-- 'withdrawn' (nat_retests.state) and their tasks cancelled.
CREATE TABLE nat_withdrawals (
    id           BIGINT PRIMARY KEY,
    tube_id      BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,               -- the tube's, for scope
    result       TEXT NOT NULL,                 -- the withdrawn result
    resulted_at  BIGINT NOT NULL,
    resulted_by  BIGINT NOT NULL,
    institution  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    incident_id  BIGINT NOT NULL DEFAULT 0,     -- the report noted (left in place)
    user_id      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX nat_withdrawals_tube ON nat_withdrawals (tube_id);

-- The persons' test results the withdrawn result wrote, moved out of
-- test_results (which the code engine and the look-ups read) and kept here.
CREATE TABLE test_results_withdrawn (
    id            BIGINT PRIMARY KEY,           -- the test_results row's id
    withdrawal_id BIGINT NOT NULL,
    person_id     BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    result        TEXT NOT NULL,
    sampled_at    BIGINT NOT NULL,
    reported_at   BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    institution   TEXT NOT NULL
);
CREATE INDEX test_results_withdrawn_person ON test_results_withdrawn (person_id);

-- The case report a positive single tube filed (0 none), so that a
-- withdrawal can note it on the report's timeline (the report stays).
ALTER TABLE nat_tubes ADD COLUMN incident_id BIGINT NOT NULL DEFAULT 0;

-- Checks (体征核查) of people on the observation list, their rules, the
-- residents' messages to their doctor, and the marks that make the sweep's
-- alerts happen once (issue 9, docs/cases.md "Checks"; src/case/check.c).
-- Times are epoch ms; texts about people are SM4 ciphertexts (labels
-- "checks.<column without _enc>", "check_messages.text").

-- One rule per observe_kind name: how often someone must be checked, what
-- is abnormal, when a transfer is proposed, the follow-up after discharge.
CREATE TABLE check_rules (
    kind                TEXT PRIMARY KEY,              -- observe_kind name
    every_hours         INTEGER NOT NULL,              -- 0: no scheduled checks
    grace_hours         INTEGER NOT NULL DEFAULT 2,    -- late by more: a missed check
    symptoms            TEXT NOT NULL DEFAULT 'fever,cough,fatigue,shortness_of_breath',
    fever_threshold     DOUBLE PRECISION NOT NULL DEFAULT 37.3,
    transfer_delta      DOUBLE PRECISION NOT NULL DEFAULT 1.0, -- fever >= threshold + delta: transfer
    abnormal_limit      INTEGER NOT NULL DEFAULT 3,    -- abnormal checks that propose a transfer
    self_check_expected INTEGER NOT NULL DEFAULT 1,
    follow_up_days      TEXT NOT NULL DEFAULT '7,14',  -- days after discharge (hospital)
    updated_by          BIGINT NOT NULL DEFAULT 0,
    updated_at          BIGINT NOT NULL DEFAULT 0
);
INSERT INTO check_rules (kind, every_hours) VALUES ('home_isolation', 12);
INSERT INTO check_rules (kind, every_hours) VALUES ('home_observation', 12);
INSERT INTO check_rules (kind, every_hours) VALUES ('central', 12);
INSERT INTO check_rules (kind, every_hours, self_check_expected) VALUES ('hospital', 0, 0);

-- One check: a doctor's (by 'doctor', maybe completing task_id) or the
-- resident's own (by 'self'). symptoms: health/health.h's bit set.
CREATE TABLE checks (
    id              BIGINT PRIMARY KEY,
    observation_id  BIGINT NOT NULL,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    by_whom         TEXT NOT NULL,                 -- doctor | self
    user_id         BIGINT NOT NULL,
    symptoms        INTEGER NOT NULL DEFAULT 0,
    temperature     DOUBLE PRECISION NOT NULL,
    abnormal        INTEGER NOT NULL DEFAULT 0,
    lat             DOUBLE PRECISION NOT NULL DEFAULT 0,
    lng             DOUBLE PRECISION NOT NULL DEFAULT 0,
    door_no_enc     BYTEA,
    description_enc BYTEA,
    task_id         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX checks_observation ON checks (observation_id, at);
CREATE INDEX checks_region ON checks (region_code, at);

-- The missed periods the sweep has alerted: (observation, the due time of
-- the missed period); the primary key makes the alert happen once.
CREATE TABLE check_missed (
    observation_id  BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    alerted_at      BIGINT NOT NULL,
    PRIMARY KEY (observation_id, due_at)
);

-- Messages between an observed resident and the community doctors
-- (二(一)2 b). from_whom: person | staff. A person's message is answered
-- by the next staff message; escalated_at: the unanswered alert was raised.
CREATE TABLE check_messages (
    id              BIGINT PRIMARY KEY,
    observation_id  BIGINT NOT NULL,
    person_id       BIGINT NOT NULL,
    region_code     BIGINT NOT NULL,
    from_whom       TEXT NOT NULL,
    user_id         BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    text_enc        BYTEA,
    answered_at     BIGINT NOT NULL DEFAULT 0,
    escalated_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX check_messages_observation ON check_messages (observation_id, at);
CREATE INDEX check_messages_open ON check_messages (from_whom, answered_at, escalated_at, at);

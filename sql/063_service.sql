-- 063: community services, assistance part (issue 14; docs/community-services.md):
-- the duty roster of community staff and residents' emergency calls.
--
-- service_duty: who is on duty for a community and when (the emergency
-- call names them; with nobody on duty the street is alerted too).
CREATE TABLE service_duty (
    id          BIGINT PRIMARY KEY,
    region_code BIGINT NOT NULL,  -- the community (padded): the scope key
    user_id     BIGINT NOT NULL,  -- a staff account whose scope holds the community
    from_at     BIGINT NOT NULL,  -- epoch ms, inclusive
    to_at       BIGINT NOT NULL,  -- epoch ms, exclusive
    created_by  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX service_duty_region ON service_duty (region_code, to_at);

-- emergency_calls: a resident pressed 紧急呼叫. The call's state is its
-- alerts' (alert/alert.h): open while neither the community's alert nor the
-- street's (raised when nobody was on duty) is acknowledged; who handled it
-- and the outcome are the acknowledgement's, so handling it on the alert
-- page or on the service page is one and the same.
CREATE TABLE emergency_calls (
    id              BIGINT PRIMARY KEY,
    person_id       BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,          -- the resident's account
    region_code     BIGINT NOT NULL,          -- the person's residence then (padded): scope
    community_code  BIGINT NOT NULL,          -- the region alerted (padded)
    place           TEXT NOT NULL DEFAULT '', -- region names, community down: public facts
    alert_id        BIGINT NOT NULL,
    street_alert_id BIGINT NOT NULL DEFAULT 0,
    on_duty         TEXT NOT NULL DEFAULT '', -- display names of the staff on duty, "、"-joined
    created_at      BIGINT NOT NULL
);
CREATE INDEX emergency_calls_person ON emergency_calls (person_id, id);
CREATE INDEX emergency_calls_region ON emergency_calls (region_code, id);

-- Elderly health monitoring (健康监测): who is enrolled beyond the default
-- (every person flagged elderly_alone, persons.vulnerable bit 2, is
-- enrolled unless a row here says active = 0), daily check-ins (今日平安)
-- by the resident or by staff on their behalf, and the missed days a sweep
-- turned into tasks (one per person and day, whoever sweeps first).
CREATE TABLE care_enrolments (
    person_id   BIGINT PRIMARY KEY,
    region_code BIGINT NOT NULL,       -- the person's residence when changed (scope of the row)
    active      INTEGER NOT NULL,      -- 1 enrolled by staff, 0 removed by staff
    updated_by  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE care_checkins (
    id          BIGINT PRIMARY KEY,
    person_id   BIGINT NOT NULL,
    region_code BIGINT NOT NULL,       -- the person's residence then (scope)
    day         BIGINT NOT NULL,       -- China day number (base/time.h china_day)
    at          BIGINT NOT NULL,
    by_user     BIGINT NOT NULL,
    by_staff    INTEGER NOT NULL DEFAULT 0,
    temperature DOUBLE PRECISION,      -- °C, optional
    feeling     TEXT NOT NULL DEFAULT 'good'  -- good | fair | unwell
);
CREATE UNIQUE INDEX care_checkins_day ON care_checkins (person_id, day);
CREATE INDEX care_checkins_region ON care_checkins (region_code, day);
CREATE TABLE care_missed (
    person_id   BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    task_id     BIGINT NOT NULL,
    PRIMARY KEY (person_id, day)
);

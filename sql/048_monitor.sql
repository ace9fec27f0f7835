-- Automatic monitoring and warning (自动监测预警, seed 000 §6.7.1; issue 12;
-- docs/monitor.md, src/monitor/): editable rules over figures the platform
-- already keeps, and the breaches they found, one per rule, object and
-- China day, each with the alert it raised.

-- A rule: its kind (monitor_kind vocabulary: reports, occupancy, unchecked,
-- fever), the threshold in the kind's unit, the level of the alert it
-- raises, from which hour of the China day it is evaluated, and a label.
CREATE TABLE monitor_rules (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    label       TEXT NOT NULL,
    threshold   BIGINT NOT NULL,
    level       TEXT NOT NULL,              -- alert_level name: info | warning | critical
    enabled     INTEGER NOT NULL DEFAULT 1,
    from_hour   INTEGER NOT NULL DEFAULT 0, -- 0..23, China time
    updated_by  BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
-- The four rules of the issue, enabled: a community with more than 5 new
-- reports today, a quarantine site at 90 % of its rooms, a grid with one
-- person on home isolation or observation not checked by 18:00, a venue with
-- 3 fever alerts today.
INSERT INTO monitor_rules (id, kind, label, threshold, level, enabled, from_hour, updated_at)
    VALUES (1, 'reports', '社区新增上报超限', 5, 'warning', 1, 0, 0);
INSERT INTO monitor_rules (id, kind, label, threshold, level, enabled, from_hour, updated_at)
    VALUES (2, 'occupancy', '隔离点入住率超限', 90, 'warning', 1, 0, 0);
INSERT INTO monitor_rules (id, kind, label, threshold, level, enabled, from_hour, updated_at)
    VALUES (3, 'unchecked', '网格居家隔离人员当日未核查', 1, 'warning', 1, 18, 0);
INSERT INTO monitor_rules (id, kind, label, threshold, level, enabled, from_hour, updated_at)
    VALUES (4, 'fever', '场所当日发热告警超限', 3, 'critical', 1, 0, 0);

-- A breach: rule `rule_id` held for object `object_id` (a region code for
-- reports and unchecked, a quarantine site's place id, a venue id) on China
-- day `day`. The unique key makes the alert happen once per rule, object
-- and day whichever server evaluates first. figure / base: what was read
-- (occupancy: occupied rooms / rooms not closed); seen_at: the last
-- evaluation that found it; cleared_at: the first that no longer did (0
-- while it holds).
CREATE TABLE monitor_breaches (
    id          BIGINT PRIMARY KEY,
    rule_id     BIGINT NOT NULL,
    object_id   BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    region_code BIGINT NOT NULL,            -- the object's: who sees it
    object_name TEXT NOT NULL,
    figure      BIGINT NOT NULL,
    base        BIGINT NOT NULL DEFAULT 0,
    threshold   BIGINT NOT NULL,
    alert_id    BIGINT NOT NULL DEFAULT 0,
    raised_at   BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    cleared_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX monitor_breaches_once ON monitor_breaches (rule_id, object_id, day);
CREATE INDEX monitor_breaches_day ON monitor_breaches (day, region_code);

-- What the evaluation reads, each from an index alone:
-- fever alerts of a day per venue (kind, at, venue_id);
CREATE INDEX alerts_kind_at ON alerts (kind, at, venue_id);
-- the open home observations and their regions (their checks of the day
-- through checks_observation): the open ones are one range of state;
CREATE INDEX observations_state_kind ON observations (state, kind, region_code, id);
-- the rooms of each site by state.
CREATE INDEX quarantine_rooms_state ON quarantine_rooms (site_id, state);

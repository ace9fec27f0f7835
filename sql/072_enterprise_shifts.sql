-- Shifts (排班) of an enterprise and the employees rostered on them per
-- China day (issue 14 "Enterprises", seed 003; src/enterprise/shift.c,
-- docs/enterprise.md "Shifts and the enterprise pass"). The enterprise
-- pass (通行证) is a signed token (security/token.h, TOKEN_STAFF_PASS)
-- computed from these rows and today's clock-in, so it has no table.

-- A named shift with its hours in minutes after China midnight; an end at
-- or before the start runs past midnight (夜班 22:00-06:00).
CREATE TABLE enterprise_shifts (
    id            BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    name          TEXT NOT NULL,
    start_min     INTEGER NOT NULL,
    end_min       INTEGER NOT NULL,
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX enterprise_shifts_name ON enterprise_shifts (enterprise_id, name)
    WHERE deleted_at = 0;

-- One shift per employee and day (day: China day number, base/time.h).
CREATE TABLE enterprise_rosters (
    id            BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    employee_id   BIGINT NOT NULL,
    shift_id      BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX enterprise_rosters_day ON enterprise_rosters (employee_id, day);
CREATE INDEX enterprise_rosters_enterprise ON enterprise_rosters (enterprise_id, day);
CREATE INDEX enterprise_rosters_shift ON enterprise_rosters (shift_id, day);

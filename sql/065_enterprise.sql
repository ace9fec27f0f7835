-- Enterprises resuming work (issue 14 "Enterprises", seed 001 §4.1.5, seed
-- 003; docs/enterprise.md, src/enterprise/): the accounts that act for an
-- enterprise, its employees (people of the registry), returning-staff
-- declarations and resume-work applications. The enterprise record itself
-- is enterprises (001); personal data stays in persons (sealed there), so
-- these tables hold ids, and sealed columns only for what a form adds.

-- Which enterprise an account of role `enterprise` acts for: one enterprise
-- per account. An account without a row acts for none (employee.* routes
-- refuse it); staff accounts never have one.
CREATE TABLE enterprise_accounts (
    user_id       BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX enterprise_accounts_enterprise ON enterprise_accounts (enterprise_id);

-- An employee: a person of the registry working for an enterprise.
-- region_code is the enterprise's (the scope key for street staff), not the
-- person's residence. One live row per enterprise and person.
CREATE TABLE enterprise_employees (
    id            BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    person_id     BIGINT NOT NULL,
    department    TEXT NOT NULL DEFAULT '',
    post          TEXT NOT NULL DEFAULT '',
    shift         TEXT NOT NULL DEFAULT '',
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX enterprise_employees_person ON enterprise_employees (enterprise_id, person_id)
    WHERE deleted_at = 0;
CREATE INDEX enterprise_employees_of_person ON enterprise_employees (person_id);
CREATE INDEX enterprise_employees_region ON enterprise_employees (region_code, enterprise_id);

-- A returning-staff declaration (返岗申报, seed 001 §4.1.5) of an employee:
-- the phone it was checked with by SMS (sealed), the travel history as a
-- JSON array of {place, from, to} (sealed: where a person was), native
-- place, planned return date (yyyymmdd) and transport; the school variant's
-- school, grade and class. flag_reasons: comma-separated reasons the
-- declaration was flagged (risk_area, code_colour), '' when not flagged;
-- code_colour: the person's code when declaring.
CREATE TABLE enterprise_declarations (
    id             BIGINT PRIMARY KEY,
    enterprise_id  BIGINT NOT NULL,
    region_code    BIGINT NOT NULL,
    employee_id    BIGINT NOT NULL,
    person_id      BIGINT NOT NULL,
    phone_enc      BYTEA NOT NULL,
    travel_enc     BYTEA NOT NULL,
    native_place   TEXT NOT NULL DEFAULT '',
    return_date    INTEGER NOT NULL,
    transport_kind TEXT NOT NULL,
    transport_no   TEXT NOT NULL DEFAULT '',
    school         TEXT NOT NULL DEFAULT '',
    grade          TEXT NOT NULL DEFAULT '',
    class_name     TEXT NOT NULL DEFAULT '',
    code_colour    TEXT NOT NULL,
    flag_reasons   TEXT NOT NULL DEFAULT '',
    created_by     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX enterprise_declarations_enterprise ON enterprise_declarations (enterprise_id, id);
CREATE INDEX enterprise_declarations_region ON enterprise_declarations (region_code, id);

-- Resume-work applications (复工申请): one row per submission, so the
-- history is the rows of an enterprise in order. status: pending
-- (审核中), returned (已退回, with reasons), approved (已复工). The
-- enterprise's status is its newest row's, 未申请 without one.
CREATE TABLE enterprise_applications (
    id            BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    plan          TEXT NOT NULL,
    staff_count   BIGINT NOT NULL,
    resume_date   INTEGER NOT NULL,
    status        TEXT NOT NULL,
    reasons       TEXT NOT NULL DEFAULT '',
    submitted_by  BIGINT NOT NULL,
    submitted_at  BIGINT NOT NULL,
    reviewed_by   BIGINT NOT NULL DEFAULT 0,
    reviewed_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX enterprise_applications_enterprise ON enterprise_applications (enterprise_id, id);
CREATE INDEX enterprise_applications_region ON enterprise_applications (region_code, status, id);

-- Staff health clock-in (员工健康打卡): one per employee and China day
-- (day: days since 1970-01-01 in China time). The temperature, the symptoms
-- (comma-separated names), the person's code colour at the clock-in, and
-- whether it was abnormal (a fever >= 37.3 or a non-green code), with the
-- alert that raised.
CREATE TABLE enterprise_clockins (
    id            BIGINT PRIMARY KEY,
    enterprise_id BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    employee_id   BIGINT NOT NULL,
    person_id     BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    temperature   DOUBLE PRECISION NOT NULL,
    symptoms      TEXT NOT NULL DEFAULT '',
    code_colour   TEXT NOT NULL,
    abnormal      INTEGER NOT NULL DEFAULT 0,
    alert_id      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX enterprise_clockins_day ON enterprise_clockins (employee_id, day);
CREATE INDEX enterprise_clockins_enterprise ON enterprise_clockins (enterprise_id, day);

-- Volunteers (志愿者, issue 14, seed 002 二(七); docs/community-life.md,
-- src/volunteer/): online recruitment with real-name binding, service
-- projects with a fixed number of places, and the service hours staff
-- record per sign-up.

-- An application of a resident (user_id), bound to their person record
-- (person_id); region_code is the person's residence when applying, the scope
-- key for staff. status: pending -> approved (the user gains role volunteer)
-- | rejected (the resident may apply again: the row is reused).
CREATE TABLE volunteers (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    person_id    BIGINT NOT NULL,
    region_code  BIGINT NOT NULL,
    skills       TEXT NOT NULL DEFAULT '',
    availability TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',   -- the reviewer's reason
    reviewed_by  BIGINT NOT NULL DEFAULT 0,
    reviewed_at  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX volunteers_user ON volunteers (user_id);
CREATE INDEX volunteers_region ON volunteers (region_code, status);

-- A service project published by staff for a region of their scope (a
-- community or lower); volunteers living there sign up. taken counts the
-- sign-ups: a conditional UPDATE (taken < places) reserves a place, the CHECK
-- is the last guard against overbooking.
CREATE TABLE volunteer_projects (
    id          BIGINT PRIMARY KEY,
    region_code BIGINT NOT NULL,
    title       TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    content     TEXT NOT NULL DEFAULT '',
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    places      BIGINT NOT NULL,
    taken       BIGINT NOT NULL DEFAULT 0,
    created_by  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK (taken >= 0 AND taken <= places)
);
CREATE INDEX volunteer_projects_region ON volunteer_projects (region_code, starts_at);

-- A volunteer's sign-up for a project, and the service time staff record
-- for it (minutes; 0 until recorded).
CREATE TABLE volunteer_signups (
    id           BIGINT PRIMARY KEY,
    project_id   BIGINT NOT NULL,
    volunteer_id BIGINT NOT NULL,
    minutes      BIGINT NOT NULL DEFAULT 0,
    recorded_by  BIGINT NOT NULL DEFAULT 0,
    recorded_at  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX volunteer_signups_once ON volunteer_signups (project_id, volunteer_id);
CREATE INDEX volunteer_signups_volunteer ON volunteer_signups (volunteer_id, created_at);

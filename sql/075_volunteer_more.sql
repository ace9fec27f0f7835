-- Volunteers, continued (issue 14; docs/community-life.md "Volunteers",
-- src/volunteer/): staff cancel a project with a reason (its sign-ups are
-- marked cancelled, kept as history); volunteers.status gains 'revoked'
-- (撤销志愿者资格: the reason in volunteers.note), which needs no column.
ALTER TABLE volunteer_projects ADD COLUMN cancelled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteer_projects ADD COLUMN cancelled_by BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteer_projects ADD COLUMN cancel_note TEXT NOT NULL DEFAULT '';
ALTER TABLE volunteer_signups ADD COLUMN cancelled_at BIGINT NOT NULL DEFAULT 0;

-- 082: disinfection and inspection objects can be edited and retired
-- (issue 14, wave 5; docs/community-services.md "Disinfection and
-- inspection", "Editing and retiring an object").
--
-- version: the optimistic-edit counter (a PATCH that names another version
-- is 409 version_conflict, as on every other resource). responsible_id: the
-- staff account in charge (users.id, 0 none): its overdue task goes to that
-- account rather than to every community_staff holder of the community.
-- retired_at/retired_by: 停用 — a retired object leaves the overdue sweep
-- and the counts, its open overdue task is cancelled, its records stay
-- readable; 0 while in service.
ALTER TABLE inspect_objects ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE inspect_objects ADD COLUMN responsible_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inspect_objects ADD COLUMN retired_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inspect_objects ADD COLUMN retired_by BIGINT NOT NULL DEFAULT 0;

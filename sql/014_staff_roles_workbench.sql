-- Community and street staff, and the workbench's counts (issue 8).
--
-- community_staff (社区工作人员) and street_staff (街道工作人员) are built-in
-- roles: security/rbac.c creates them and fixes their permissions at every
-- start, like the other built-in roles. A custom role that already uses
-- one of these keys is renamed (<key>_custom), keeping its users and its
-- rights, rather than being silently turned into the built-in role.
UPDATE roles SET key = key || '_custom'
 WHERE key IN ('community_staff', 'street_staff') AND builtin = 0;

-- "People not declared today" (workbench/workbench.c) walks the live people
-- of a scope and probes declarations_person for each. persons_region gains
-- deleted_at as a last column: the walk then reads the index alone, never a
-- person's row (about 0.2 s for a million people), every existing plan on
-- (region_code, id) stays as it was, and inserts maintain no extra index.
DROP INDEX persons_region;
CREATE INDEX persons_region ON persons (region_code, id, deleted_at);

-- Test results recorded today in a scope (the testing staff's entry).
CREATE INDEX test_results_region ON test_results (region_code, created_at);

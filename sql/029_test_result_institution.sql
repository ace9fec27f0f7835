-- The testing institution (检测机构) of a result: the laboratory's name, shown by
-- the personal and batch look-ups (issue 10, seed 004 二4). '' when the writer
-- did not say (results entered before this column, or without one).
ALTER TABLE test_results ADD COLUMN institution TEXT NOT NULL DEFAULT '';

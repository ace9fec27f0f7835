-- The first pages of the access-record list and the task board at
-- 10,000,000 people (docs/benchmarks.md "At 10,000,000 people"): both open
-- newest first (ORDER BY at / created_at DESC, id DESC) over the caller's
-- region range. With only the region indexes the engine read every row of
-- a district's range and sorted them (seconds). When the capped count finds
-- the range holds at least the cap's matches, query_page (src/db/query.c,
-- its `walk`) walks these indexes newest first and stops after the page,
-- region_code in them so the range is checked without reading the rows.
-- Appended at their right edge (a scan's `at` is now), so a write touches
-- the pages it already holds.
CREATE INDEX access_records_at ON access_records (at, id, region_code);
CREATE INDEX tasks_created ON tasks (created_at, id, region_code);

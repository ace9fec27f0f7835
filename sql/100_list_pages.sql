-- The first page of the person list at 10,000,000 people (docs/benchmarks.md
-- "At 10,000,000 people (bench-large)"): the list opens newest first
-- (ORDER BY created_at DESC, id DESC) over the caller's region range. With
-- only persons_region the engine read and sorted every person of a
-- district (seconds); person_list (src/person/person.c, opening_page) walks
-- this index newest first instead when that reads fewer entries, region_code
-- in the index so the range is checked without reading the rows. Partial
-- on the live people, as the list's WHERE says deleted_at = 0 word for word.
CREATE INDEX persons_created ON persons (created_at, id, region_code) WHERE deleted_at = 0;

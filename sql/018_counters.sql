-- Maintained counters (统计, issue 9; docs/stats.md): one row per measure,
-- leaf region and China day (day 0: a level's value, or a flow's total
-- over all its days), kept by the change that moves it in its own
-- transaction (stats_add, an upsert). Every dashboard figure is a range
-- sum on counters_by_day below.
CREATE TABLE counters (
    measure TEXT NOT NULL,
    region_code BIGINT NOT NULL,
    day BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (measure, region_code, day)
);
-- Every read is one range of this index, which holds n so no row is
-- visited: a level's value or a flow's total (day 0) and a flow's day are
-- (measure, day) fixed and region_code in a subtree's range, whatever the
-- history of other days; a trend is a window of days. The primary key
-- serves the upsert and the recount's comparison.
CREATE INDEX counters_by_day ON counters (measure, day, region_code, n);

-- The first measures (src/person/measures.c), for the people registered
-- before this migration; person writes keep them from here on: people per
-- epidemic status now at their region of residence, and people registered
-- per China day (created_at in China time: UTC+8).
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.status.' || status, region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 GROUP BY status, region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.registered', region_code, (created_at + 28800000) / 86400000, COUNT(*)
FROM persons WHERE deleted_at = 0
GROUP BY region_code, (created_at + 28800000) / 86400000;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.registered', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 GROUP BY region_code;

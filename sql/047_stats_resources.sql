-- Statistics across the platform (issue 12, docs/stats.md "Measures so
-- far"): the counters of prevention resources, checkpoints, people under
-- observation and key persons, filled here for what the database already
-- holds from the same SQL as each measure's recount; the writes keep them
-- from here on (place/measures.c, venue/venue.c, nat/site.c,
-- case/measures.c, person/measures.c). All are levels (day 0).
--
-- And the street rollup of every counter (stats/stats.h): each counter
-- summed at its street (the ancestor at the street level, or the counter's
-- own region when it lies at the street or above), kept by stats_add beside
-- the leaf counter, so a figure of a street, a district or the city reads a
-- row per street instead of one per building (a city of 10,000,000 people
-- has some 127,000 buildings and a few hundred streets).
CREATE TABLE street_counters (
    measure     TEXT NOT NULL,
    region_code BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (measure, region_code, day)
);
CREATE INDEX street_counters_by_day ON street_counters (measure, day, region_code, n);

-- live places by kind, at the place's region
INSERT INTO counters (measure, region_code, day, n)
SELECT 'place.kind.' || kind, region_code, 0, COUNT(*) FROM places
WHERE deleted_at = 0 GROUP BY kind, region_code;

-- live venues by kind (卡口 among them), at the venue's region
INSERT INTO counters (measure, region_code, day, n)
SELECT 'venue.kind.' || kind, region_code, 0, COUNT(*) FROM venues
WHERE deleted_at = 0 GROUP BY kind, region_code;

-- live testing sites by state
INSERT INTO counters (measure, region_code, day, n)
SELECT 'nat.site.' || state, region_code, 0, COUNT(*) FROM nat_sites
WHERE deleted_at = 0 GROUP BY state, region_code;

-- active observations by kind, and those of close contacts, at the
-- person's residence
INSERT INTO counters (measure, region_code, day, n)
SELECT 'case.observing.' || kind, region_code, 0, COUNT(*) FROM observations
WHERE state = 'active' GROUP BY kind, region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'case.contacts', region_code, 0, COUNT(*) FROM observations
WHERE state = 'active' AND source = 'contact' GROUP BY region_code;

-- rooms of live quarantine sites by state, in all and per site
INSERT INTO counters (measure, region_code, day, n)
SELECT 'case.rooms.' || q.state, q.region_code, 0, COUNT(*) FROM quarantine_rooms q
JOIN places p ON p.id = q.site_id AND p.deleted_at = 0
GROUP BY q.state, q.region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'case.site.' || q.state || '.' || CAST(q.site_id AS TEXT), q.region_code, 0, COUNT(*)
FROM quarantine_rooms q JOIN places p ON p.id = q.site_id AND p.deleted_at = 0
GROUP BY q.state, q.site_id, q.region_code;

-- live people by category and by vulnerable group, at their residence
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.category.' || category, region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 GROUP BY category, region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.vulnerable.pregnant', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 AND (vulnerable & 1) <> 0 GROUP BY region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.vulnerable.elderly_alone', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 AND (vulnerable & 2) <> 0 GROUP BY region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.vulnerable.chronic_disease', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 AND (vulnerable & 4) <> 0 GROUP BY region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.vulnerable.disabled', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 AND (vulnerable & 8) <> 0 GROUP BY region_code;
INSERT INTO counters (measure, region_code, day, n)
SELECT 'person.vulnerable.child', region_code, 0, COUNT(*) FROM persons
WHERE deleted_at = 0 AND (vulnerable & 16) <> 0 GROUP BY region_code;

-- the street rollup of every counter, the new ones above included (the
-- street's digits: the first 9 of the padded 18; a code at the street or
-- above has no digits below them)
INSERT INTO street_counters (measure, region_code, day, n)
SELECT measure, region_code / 1000000000 * 1000000000, day, SUM(n) FROM counters
GROUP BY measure, region_code / 1000000000 * 1000000000, day;

-- The drill-down from a status figure to its people (GET /api/v1/stats/list,
-- the person list filtered by status): the people of one status in a region
-- range without reading every person of the region (a street of a city of
-- 10,000,000 holds 1,250,000 people, of whom some 1,250 confirmed).
CREATE INDEX persons_status ON persons (status, region_code) WHERE deleted_at = 0;

-- Designated risk areas managed end to end (docs/health-code.md "Risk areas"):
-- when an area last changed, the look-up of the people with a stay in an area
-- (a change of its level or window recomputes them), and the import's test
-- for an area already listed (same name, level and start).
ALTER TABLE risk_areas ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE risk_areas SET updated_at = created_at;
CREATE INDEX stays_area ON stays (area_id, person_id);
CREATE INDEX risk_areas_name ON risk_areas (name, level, valid_from);
CREATE INDEX risk_areas_from ON risk_areas (valid_from);

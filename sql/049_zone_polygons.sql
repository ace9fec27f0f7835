-- Zones drawn as polygons (docs/zones.md). A zone still has its anchor
-- region (region_code, span: the scope its writers and readers are checked
-- against), and now what it covers is a list of code ranges: one range, the
-- anchor's subtree, for a zone over a region; the buildings whose centre
-- lies inside the polygon, one range each, for a drawn zone. The code
-- engine reads zones through these ranges only.
ALTER TABLE zones ADD COLUMN boundary TEXT;                 -- GeoJSON Polygon/MultiPolygon, NULL for a region zone
ALTER TABLE zones ADD COLUMN lifted_by BIGINT NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN lift_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE zones ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE zones SET updated_at = created_at;

CREATE TABLE zone_regions (
    zone_id     BIGINT NOT NULL,
    region_code BIGINT NOT NULL,   -- covers [region_code, region_code + span)
    span        BIGINT NOT NULL,
    PRIMARY KEY (zone_id, region_code)
);
CREATE INDEX zone_regions_region ON zone_regions (region_code);
INSERT INTO zone_regions (zone_id, region_code, span) SELECT id, region_code, span FROM zones;

-- The places (venues, sites …) whose position lies inside a drawn zone.
CREATE TABLE zone_places (
    zone_id     BIGINT NOT NULL,
    place_id    BIGINT NOT NULL,
    PRIMARY KEY (zone_id, place_id)
);

-- The bounding-box prefilter of the point-in-polygon test: buildings by
-- their centre, places by their position.
CREATE INDEX regions_center ON regions (center_lng, center_lat);
CREATE INDEX places_position ON places (lng, lat);

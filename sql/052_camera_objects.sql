-- Several watched objects per camera (docs/video.md "Watched objects"): a
-- camera watches any number of testing sites, venues, places, zones, public
-- toilets or other objects, each bound by id (a record of the platform, its
-- name stored so lists show names) or by name alone. The one object a
-- camera held until now becomes its first binding.
CREATE TABLE camera_objects (
    id           BIGINT PRIMARY KEY,
    camera_id    BIGINT NOT NULL,
    object_kind  TEXT NOT NULL,            -- nat_site | venue | place | zone | toilet | other
    object_id    BIGINT NOT NULL DEFAULT 0, -- 0: bound by name
    object_name  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX camera_objects_binding ON camera_objects (camera_id, object_kind, object_id, object_name);
CREATE INDEX camera_objects_object ON camera_objects (object_kind, object_id);

-- a carried-over binding takes its camera's id (ids are unique, and new bindings take fresh ones)
INSERT INTO camera_objects (id, camera_id, object_kind, object_id, object_name, created_at)
SELECT id, id, object_kind, COALESCE(object_id, 0), object_name, updated_at
FROM cameras WHERE object_kind <> '';

DROP INDEX cameras_object;
ALTER TABLE cameras DROP COLUMN object_kind;
ALTER TABLE cameras DROP COLUMN object_id;
ALTER TABLE cameras DROP COLUMN object_name;

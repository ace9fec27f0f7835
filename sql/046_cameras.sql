-- The camera ledger (视频监控台账, docs/video.md): cameras of the video
-- network with their position, the stream the network serves and the object
-- they watch; state is the last stream check's (unknown until checked).
CREATE TABLE cameras (
    id           BIGINT PRIMARY KEY,
    region_code  BIGINT NOT NULL,
    name         TEXT NOT NULL,
    code         TEXT NOT NULL DEFAULT '',        -- the video network's id
    kind         TEXT NOT NULL,                   -- bullet | dome | mini_dome | other
    lng          DOUBLE PRECISION NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    stream_url   TEXT NOT NULL,                   -- http(s) HLS or rtsp
    object_kind  TEXT NOT NULL DEFAULT '',        -- '' none | nat_site | venue | place | zone | toilet | other
    object_id    BIGINT,                          -- NULL: bound by name
    object_name  TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'unknown', -- unknown | online | offline | unchecked
    checked_at   BIGINT NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    deleted_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cameras_region ON cameras (region_code, id);
CREATE INDEX cameras_position ON cameras (lat, lng);
CREATE INDEX cameras_object ON cameras (object_kind, object_id);

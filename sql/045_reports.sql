-- Custom reports (自定义报表, docs/reports.md): a definition names a dataset
-- and, from that dataset's whitelist (src/report/report.c), the fields shown,
-- the filters, the grouping and the measures. The definition is stored as
-- the JSON the API accepted after validation; it never holds SQL. A
-- definition holds no data, so every staff member with report.run sees
-- every definition; a run reads only the caller's scope.
CREATE TABLE reports (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created_by  BIGINT NOT NULL,
    updated_by  BIGINT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reports_live ON reports (deleted_at, id);

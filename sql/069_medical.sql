-- Medical resources (医疗卫生资源, seed 003 "医疗卫生资源可视化监测和调度";
-- issue 14; docs/supplies.md "Medical resources", src/medical/): the
-- institutions (定点医院, 发热门诊, 方舱医院) with their current beds, ICU
-- beds and daily testing capacity, and every report of those figures.
--
-- An institution is a place of the registry (places) with a medical kind:
-- no second list of names, addresses or positions, and its region (the
-- scope filters') is the place's own, so moving the place moves it.
CREATE TABLE medical_institutions (
    place_id        BIGINT PRIMARY KEY,
    kind            TEXT NOT NULL,            -- designated_hospital | fever_clinic | fangcang
    beds_total      INTEGER NOT NULL DEFAULT 0,
    beds_occupied   INTEGER NOT NULL DEFAULT 0,
    icu_total       INTEGER NOT NULL DEFAULT 0,
    icu_free        INTEGER NOT NULL DEFAULT 0,
    testing_per_day INTEGER NOT NULL DEFAULT 0,
    reported_at     BIGINT NOT NULL DEFAULT 0, -- 0: never reported
    reported_by     BIGINT NOT NULL DEFAULT 0,
    created_by      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- The history: one row per report, the figures as reported.
CREATE TABLE medical_reports (
    id              BIGINT PRIMARY KEY,
    place_id        BIGINT NOT NULL,
    beds_total      INTEGER NOT NULL,
    beds_occupied   INTEGER NOT NULL,
    icu_total       INTEGER NOT NULL,
    icu_free        INTEGER NOT NULL,
    testing_per_day INTEGER NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    user_id         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX medical_reports_place ON medical_reports (place_id, created_at);

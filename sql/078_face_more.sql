-- Face access, wave 3 (docs/face.md "Terminals that join or leave",
-- "Resends and failures"; src/face/). face_commands.state gains two
-- values, no schema change: 'failed' (still unacknowledged after the last
-- resend: the console shows it, the enrolment's one alert is raised) and
-- 'dropped' (its terminal was deleted). failed_alert_id: the face_failed
-- alert raised for the enrolment (0 none), so a stuck enrolment raises one
-- alert whichever server's sweep finds it.
ALTER TABLE face_enrolments ADD COLUMN failed_alert_id BIGINT NOT NULL DEFAULT 0;

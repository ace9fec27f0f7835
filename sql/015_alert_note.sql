-- An acknowledgement says what was done (处理说明, issue 8): staff write a
-- note of 1..200 characters when they handle an alert. Alerts handled
-- before this migration keep an empty note.
ALTER TABLE alerts ADD COLUMN ack_note TEXT NOT NULL DEFAULT '';

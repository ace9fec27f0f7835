-- Alerts addressed to an enterprise's accounts (docs/supplies.md "Telling
-- the supplier"): an alert may name the enterprise whose bound accounts
-- (role enterprise) are told of it besides the staff of its region; 0 for
-- every alert before and for the regional ones.
ALTER TABLE alerts ADD COLUMN enterprise_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX alerts_enterprise ON alerts (enterprise_id, id);

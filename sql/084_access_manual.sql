-- 出入登记 by hand (POST /api/v1/scans/manual, docs/access.md "Manual
-- entry"): checkpoint staff record a passage of a person without a phone
-- by name and id number; the record keeps what the seed's register asks
-- beside the passage, SM4-sealed: the contact phone given at the gate
-- (access_records.phone) and the reason or destination
-- (access_records.note). NULL on every other record.
ALTER TABLE access_records ADD COLUMN phone_enc BYTEA;
ALTER TABLE access_records ADD COLUMN note_enc BYTEA;

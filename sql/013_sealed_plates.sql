-- Plates and vehicle notes sealed like other personal data (issue 8,
-- security item 10). A plate says whose car passed which gate when, and a
-- note is free text about a household: both are personal data.
--
-- <table>.plate_enc and vehicles.note_enc hold SM4 ciphertexts (security/
-- crypto.h seal, labels "vehicles.plate", "vehicles.note",
-- "vehicle_passages.plate", "visitors.plate"); plate_bidx holds the keyed
-- blind index of the normalised plate (label "plate", the same in the
-- three tables), so the gate's exact match is one index look-up. NULL
-- plate_enc/plate_bidx: no plate (a visitor without a vehicle).
--
-- Rows written before this migration still hold their plate and note in the
-- clear: the plaintext columns cannot be sealed in SQL (the key lives
-- outside the database), so every start (app_open, vehicle_plaintext_seal)
-- seals such rows and empties the clear columns, which stay only as ''.
ALTER TABLE vehicles ADD COLUMN plate_enc BYTEA;
ALTER TABLE vehicles ADD COLUMN plate_bidx BYTEA;
ALTER TABLE vehicles ADD COLUMN note_enc BYTEA;
DROP INDEX vehicles_plate;
CREATE UNIQUE INDEX vehicles_plate_bidx ON vehicles (plate_bidx) WHERE deleted_at = 0;
CREATE INDEX vehicles_clear ON vehicles (id) WHERE plate <> '' OR note <> '';

ALTER TABLE vehicle_passages ADD COLUMN plate_enc BYTEA;
ALTER TABLE vehicle_passages ADD COLUMN plate_bidx BYTEA;
DROP INDEX vehicle_passages_plate;
CREATE INDEX vehicle_passages_plate_bidx ON vehicle_passages (plate_bidx, at);
CREATE INDEX vehicle_passages_clear ON vehicle_passages (id) WHERE plate <> '';

ALTER TABLE visitors ADD COLUMN plate_enc BYTEA;
ALTER TABLE visitors ADD COLUMN plate_bidx BYTEA;
DROP INDEX visitors_plate;
CREATE INDEX visitors_plate_bidx ON visitors (plate_bidx, valid_to) WHERE plate_bidx IS NOT NULL;
CREATE INDEX visitors_clear ON visitors (id) WHERE plate <> '';

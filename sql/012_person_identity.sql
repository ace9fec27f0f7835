-- Self-service identity (issue 8, security item 5) and the search by the
-- last four digits of a phone (issue 8, console).
--
-- unverified: 1 while a person's identity rests only on what a resident
-- typed (a self-registration, or a binding to a staff record that had no
-- phone to compare); community staff clear it after seeing the document
-- (POST /api/v1/persons/{id}/verify). Such a person has a health code but
-- no pass, no vehicle registration and no visitor invitations. Existing
-- self-registrations start unverified: nobody has checked them either.
ALTER TABLE persons ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
UPDATE persons SET unverified = 1 WHERE source = 'self';

-- phone_last4_bidx: keyed blind index (security/crypto.h, label
-- "persons.phone_last4") of the last four digits of the phone. SQL cannot
-- compute it (the key is outside the database): rows written before this
-- migration are filled at start-up by person_backfill (person.h), in
-- batches, until none with a phone lacks it.
ALTER TABLE persons ADD COLUMN phone_last4_bidx BYTEA;
CREATE INDEX persons_phone_last4 ON persons (phone_last4_bidx, region_code);

-- The elderly check-in sweep (src/service/checkin.c service_care_sweep)
-- reads the persons flagged as living alone (persons.vulnerable bit 2)
-- every hour: a partial index holds just them, so the sweep no longer reads
-- every person. Both SQLite and PostgreSQL use it when the query repeats
-- the index's condition word for word.
CREATE INDEX persons_elderly_alone ON persons (id) WHERE (vulnerable & 2) <> 0 AND deleted_at = 0;

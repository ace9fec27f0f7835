-- The start-up backfill of phone_last4_bidx (person.c person_backfill)
-- looks for rows with a phone and no index yet. It walked the people
-- without a phone at every start (their phone_last4_bidx is NULL too, and
-- the last-four index, holding every NULL, was the planner's choice):
-- seconds for 10,000,000 people, long enough for a supervisor to think the
-- server had failed to start. The last-four index now holds only values
-- (a search by `= ?` implies NOT NULL, so it still serves), and a partial
-- index holds only the rows still to do: normally none.
DROP INDEX persons_phone_last4;
CREATE INDEX persons_phone_last4 ON persons (phone_last4_bidx, region_code)
    WHERE phone_last4_bidx IS NOT NULL;
CREATE INDEX persons_phone_backfill ON persons (id)
    WHERE phone_enc IS NOT NULL AND phone_last4_bidx IS NULL;

-- The first pages of the observation, care and hotline lists at 10,000,000
-- people (docs/benchmarks.md "At 10,000,000 people (bench-large)"). SQLite
-- (no STAT4) prices any two-sided region range as selective, so a list
-- sorted by time read and sorted every row of a district; the lists write a
-- wide range so that no index serves it and walk these in the list's order,
-- stopping after the page (region_code in them to check the scope without
-- reading the rows).

-- The observation list newest first (src/case/observe.c opening_counts);
-- state in it for the list opened on one state.
CREATE INDEX observations_started ON observations (start_at, id, region_code, state);

-- The care list (src/service/checkin.c): the people flagged elderly_alone
-- in region order, partial as persons_elderly_alone (sql/080) and with its
-- condition word for word; the check-ins of one day (the checked counts).
CREATE INDEX persons_elderly_region ON persons (region_code, id)
    WHERE (vulnerable & 2) <> 0 AND deleted_at = 0;
CREATE INDEX care_checkins_of_day ON care_checkins (day, person_id);

-- The hotline tickets newest first (src/hotline/hotline.c): the time index
-- of sql/027 with the region added, so the walk and its count read no rows.
DROP INDEX hotline_tickets_received;
CREATE INDEX hotline_tickets_received ON hotline_tickets (received_at, id, region_code);

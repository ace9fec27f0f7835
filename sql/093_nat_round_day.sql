-- A plan's samples get a real round day: the China day the plan's id was
-- made (nat_sample_round_day, src/nat/sample.c), instead of 0. The
-- first-sample rule is unchanged (the day is constant per plan, so the
-- unique index nat_samples_first still holds one first per person, visitor
-- and plan), and the day is what sql/094 partitions nat_samples by on
-- PostgreSQL: a plan's samples then belong to the month its plan was made
-- (docs/retention.md). An id's time is (id >> 22) + the id epoch
-- (base/id.c, 2024-01-01T00:00:00Z = 1704067200000 ms); the day is
-- CHINA_DAY_SQL's arithmetic (base/time.h). Runs before 094 rebuilds the
-- table, so no plan sample is left in day 0's partition.
UPDATE nat_samples SET round_day = ((plan_id / 4194304) + 1704067200000 + 28800000) / 86400000
    WHERE plan_id <> 0;

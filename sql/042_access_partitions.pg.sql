-- PostgreSQL only (a .pg.sql step: SQLite records it as seen and runs
-- nothing; docs/tracing.md "Benchmark" says why SQLite does without).
--
-- access_records partitioned by month of `at` (China months, range on the
-- epoch ms), so that the reads of contact tracing over a 14-day window touch
-- one or two months' tables and their indexes, and a month can later be
-- detached or dropped whole. The primary key includes the partition key:
-- (id, at). access_records_default catches a passage whose month has no
-- table yet (a clock far off, the periodic job late); creating the month
-- moves such rows into it.

-- Create the months covering [from_ms, to_ms] that do not exist yet, each
-- access_records_YYYYMM; the number created. Serialised by an advisory
-- lock: several servers on one database run it (access_partitions_ensure).
CREATE OR REPLACE FUNCTION access_records_partitions(from_ms BIGINT, to_ms BIGINT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    m    TIMESTAMP := date_trunc('month', to_timestamp(from_ms / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours');
    last TIMESTAMP := date_trunc('month', to_timestamp(to_ms / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours');
    lo   BIGINT;
    hi   BIGINT;
    part TEXT;
    made INTEGER := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('access_records_partitions'));
    WHILE m <= last LOOP
        part := 'access_records_' || to_char(m, 'YYYYMM');
        IF to_regclass(part) IS NULL THEN
            lo := (extract(epoch FROM m - INTERVAL '8 hours') * 1000)::BIGINT;
            hi := (extract(epoch FROM m + INTERVAL '1 month' - INTERVAL '8 hours') * 1000)::BIGINT;
            IF EXISTS (SELECT 1 FROM access_records_default WHERE at >= lo AND at < hi) THEN
                CREATE TEMP TABLE access_records_moving (LIKE access_records) ON COMMIT DROP;
                WITH gone AS (DELETE FROM access_records_default WHERE at >= lo AND at < hi RETURNING *)
                INSERT INTO access_records_moving SELECT * FROM gone;
                EXECUTE format('CREATE TABLE %I PARTITION OF access_records FOR VALUES FROM (%s) TO (%s)',
                               part, lo, hi);
                INSERT INTO access_records SELECT * FROM access_records_moving;
                DROP TABLE access_records_moving;
            ELSE
                EXECUTE format('CREATE TABLE %I PARTITION OF access_records FOR VALUES FROM (%s) TO (%s)',
                               part, lo, hi);
            END IF;
            made := made + 1;
        END IF;
        m := m + INTERVAL '1 month';
    END LOOP;
    RETURN made;
END $$;

-- The table rebuilt partitioned, its rows and its indexes (whatever the
-- earlier migrations made them) kept: months from the oldest row (at most
-- two years back; older rows stay in the default) to three months ahead.
DO $$
DECLARE
    defs  TEXT[];
    def   TEXT;
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    lo    BIGINT;
BEGIN
    ALTER TABLE access_records RENAME TO access_records_unpartitioned;
    SELECT conname FROM pg_constraint WHERE conrelid = 'access_records_unpartitioned'::regclass
        AND contype = 'p' INTO def;
    EXECUTE format('ALTER TABLE access_records_unpartitioned RENAME CONSTRAINT %I TO %I', def,
                   'access_records_unpartitioned_pkey');
    SELECT array_agg(indexdef) FROM pg_indexes
        WHERE tablename = 'access_records_unpartitioned' AND indexname <> 'access_records_unpartitioned_pkey'
        INTO defs;
    FOR def IN SELECT indexname FROM pg_indexes WHERE tablename = 'access_records_unpartitioned'
               AND indexname <> 'access_records_unpartitioned_pkey' LOOP
        EXECUTE format('DROP INDEX %I', def);
    END LOOP;
    CREATE TABLE access_records (LIKE access_records_unpartitioned INCLUDING DEFAULTS,
                                 PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE access_records_default PARTITION OF access_records DEFAULT;
    SELECT GREATEST(COALESCE(MIN(at), now_ms), now_ms - 2 * 366 * 86400000::BIGINT) INTO lo
        FROM access_records_unpartitioned;
    PERFORM access_records_partitions(lo, now_ms + 92 * 86400000::BIGINT);
    INSERT INTO access_records SELECT * FROM access_records_unpartitioned;
    FOREACH def IN ARRAY COALESCE(defs, '{}') LOOP
        EXECUTE regexp_replace(def, ' ON (\S+\.)?access_records_unpartitioned ', ' ON access_records ');
    END LOOP;
    DROP TABLE access_records_unpartitioned;
END $$;

-- PostgreSQL only (a .pg.sql step: SQLite records it as seen and runs
-- nothing; on SQLite retention deletes rows, docs/retention.md).
--
-- The three large tables partitioned by China month, so that retention
-- (src/retention/) drops a month whole instead of deleting its rows:
--   access_records  by `at` (epoch ms; partitioned since sql/042)
--   audit_log       by `at` (epoch ms)
--   nat_samples     by `round_day` (China day number; sql/093 gave plan
--                   samples a real day)
-- Each has a <table>_default partition that catches a row whose month has
-- no table yet (a clock far off, the periodic job late); creating the month
-- moves such rows into it.

-- The partition column and its unit of one of the three tables: 'ms' (epoch
-- milliseconds) or 'day' (china_day numbers). One place for both the month
-- maker and the rebuild below; src/retention/retention.c's table says the
-- same for the C side.
CREATE OR REPLACE FUNCTION fk_partition_key(tbl TEXT, OUT col TEXT, OUT unit TEXT)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE tbl
        WHEN 'access_records' THEN col := 'at'; unit := 'ms';
        WHEN 'audit_log' THEN col := 'at'; unit := 'ms';
        WHEN 'nat_samples' THEN col := 'round_day'; unit := 'day';
        ELSE RAISE EXCEPTION 'fk_partitions: % is not partitioned by month', tbl;
    END CASE;
END $$;

-- Create the China months of tbl covering [from_ms, to_ms] that do not exist
-- yet, each <tbl>_YYYYMM, its bounds in the table's unit (a month of
-- nat_samples runs from the china_day of its first midnight to the next
-- month's); the number created. Rows the default partition caught for a
-- month move into it. Serialised per table by an advisory lock: several
-- servers on one database run it (retention_partitions_ensure).
CREATE OR REPLACE FUNCTION fk_partitions(tbl TEXT, from_ms BIGINT, to_ms BIGINT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    k    RECORD;
    m    TIMESTAMP := date_trunc('month', to_timestamp(from_ms / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours');
    last TIMESTAMP := date_trunc('month', to_timestamp(to_ms / 1000.0) AT TIME ZONE 'UTC' + INTERVAL '8 hours');
    lo   BIGINT;
    hi   BIGINT;
    part TEXT;
    dflt TEXT := tbl || '_default';
    moved BOOLEAN;
    made INTEGER := 0;
BEGIN
    SELECT * INTO k FROM fk_partition_key(tbl);
    PERFORM pg_advisory_xact_lock(hashtext('fk_partitions ' || tbl));
    WHILE m <= last LOOP
        part := tbl || '_' || to_char(m, 'YYYYMM');
        IF to_regclass(part) IS NULL THEN
            lo := (extract(epoch FROM m - INTERVAL '8 hours') * 1000)::BIGINT;
            hi := (extract(epoch FROM m + INTERVAL '1 month' - INTERVAL '8 hours') * 1000)::BIGINT;
            IF k.unit = 'day' THEN
                lo := (lo + 28800000) / 86400000;
                hi := (hi + 28800000) / 86400000;
            END IF;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %s AND %I < %s)',
                           dflt, k.col, lo, k.col, hi) INTO moved;
            IF moved THEN
                EXECUTE format('CREATE TEMP TABLE fk_partitions_moving (LIKE %I) ON COMMIT DROP', tbl);
                EXECUTE format('WITH gone AS (DELETE FROM %I WHERE %I >= %s AND %I < %s RETURNING *) '
                               'INSERT INTO fk_partitions_moving SELECT * FROM gone',
                               dflt, k.col, lo, k.col, hi);
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                               part, tbl, lo, hi);
                EXECUTE format('INSERT INTO %I SELECT * FROM fk_partitions_moving', tbl);
                DROP TABLE fk_partitions_moving;
            ELSE
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                               part, tbl, lo, hi);
            END IF;
            made := made + 1;
        END IF;
        m := m + INTERVAL '1 month';
    END LOOP;
    RETURN made;
END $$;

-- sql/042's function, now one call of the generic one (one copy of the
-- month logic; bench/ and older callers keep working).
CREATE OR REPLACE FUNCTION access_records_partitions(from_ms BIGINT, to_ms BIGINT)
RETURNS INTEGER LANGUAGE sql AS $$ SELECT fk_partitions('access_records', from_ms, to_ms) $$;

-- The month partitions of tbl with their upper bounds, in the table's unit
-- (the default partition left out): what retention may drop is every one
-- whose upper bound is at or below its cutoff.
CREATE OR REPLACE FUNCTION fk_partitions_list(tbl TEXT)
RETURNS TABLE (part TEXT, lo BIGINT, hi BIGINT) LANGUAGE sql STABLE AS $$
    SELECT c.relname::TEXT,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?(-?\d+)''?\) TO'))[1]::BIGINT,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(-?\d+)''?\)'))[1]::BIGINT
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = tbl::regclass
       AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
     ORDER BY 3
$$;

-- Drop the month partition `part` of tbl (retention.c: the names come from
-- fk_partitions_list; anything else is refused, so no caller can drop
-- another table through it). The rows it held: counted by the caller first.
CREATE OR REPLACE FUNCTION fk_partition_drop(tbl TEXT, part TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM fk_partitions_list(tbl) l WHERE l.part = fk_partition_drop.part) THEN
        RAISE EXCEPTION 'fk_partition_drop: % is not a month of %', part, tbl;
    END IF;
    EXECUTE format('DROP TABLE %I', part);
END $$;

-- Rebuild tbl partitioned by month of its partition column, its rows and
-- its indexes (whatever the earlier migrations made them) kept: the primary
-- key becomes (id, col), a unique index or constraint without col gets col
-- appended (a partitioned table's unique keys must hold the partition key;
-- audit_log's UNIQUE (node, seq) becomes (node, seq, at): the chain
-- verification finds a duplicate seq on its own, docs/audit.md). Months
-- from the oldest row (at most two years back; older rows stay in the
-- default) to three months ahead. A table already partitioned is left as it
-- is. sql/042's DO block, generalised.
CREATE OR REPLACE FUNCTION fk_partition_rebuild(tbl TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    k      RECORD;
    old    TEXT := tbl || '_unpartitioned';
    defs   TEXT[];
    def    TEXT;
    now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    lo     BIGINT;
BEGIN
    SELECT * INTO k FROM fk_partition_key(tbl);
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = tbl AND relkind = 'p') THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
    -- every index but the primary key's, unique ones completed with col
    SELECT array_agg(CASE WHEN x.indisunique AND NOT (a.attnum = ANY (x.indkey::INT2[]))
                          THEN regexp_replace(pg_get_indexdef(x.indexrelid),
                                              '^(.* USING \w+ \([^)]*)\)', '\1, ' || quote_ident(k.col) || ')')
                          ELSE pg_get_indexdef(x.indexrelid) END)
      FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attname = k.col
     WHERE x.indrelid = old::regclass AND NOT x.indisprimary
      INTO defs;
    -- constraints (primary key, unique) first: their indexes go with them
    FOR def IN SELECT conname FROM pg_constraint WHERE conrelid = old::regclass
               AND contype IN ('p', 'u') LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', old, def);
    END LOOP;
    FOR def IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
               WHERE x.indrelid = old::regclass LOOP
        EXECUTE format('DROP INDEX %I', def);
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS, PRIMARY KEY (id, %I)) '
                   'PARTITION BY RANGE (%I)', tbl, old, k.col, k.col);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
    EXECUTE format('SELECT MIN(%I) FROM %I', k.col, old) INTO lo;
    IF lo IS NOT NULL AND k.unit = 'day' THEN
        lo := lo * 86400000 - 28800000;
    END IF;
    lo := GREATEST(COALESCE(lo, now_ms), now_ms - 2 * 366 * 86400000::BIGINT);
    PERFORM fk_partitions(tbl, lo, now_ms + 92 * 86400000::BIGINT);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
    FOREACH def IN ARRAY COALESCE(defs, '{}') LOOP
        EXECUTE regexp_replace(def, ' ON (\S+\.)?' || old || ' ', ' ON ' || quote_ident(tbl) || ' ');
    END LOOP;
    EXECUTE format('DROP TABLE %I', old);
END $$;

SELECT fk_partition_rebuild('audit_log');
SELECT fk_partition_rebuild('nat_samples');

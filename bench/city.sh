# The synthetic city of the benches at scale (sourced, POSIX sh), shared by
# bench/stats.sh (the leaders' dashboard) and bench/large.sh (memory and
# first pages at 10,000,000 people), so both measure the same city:
#
#   a city sized as `fangkong demo` sizes one for PERSONS people: the demo's
#   regions extended by SQL to its streets, communities (up to 199 a
#   street), grids and buildings (up to 99 a grid), the people written by
#   build/bench_trace_fill (sealed as person.c stores them, in the
#   buildings, with RECORDS access records at VENUES venues over
#   the last 14 days), then spread by
#   SQL over the epidemic statuses, categories and vulnerable groups, 40% of
#   them registered over the last 366 days; a confirmed case's status change
#   for each confirmed person and an observation for one person in 68 (the
#   last 14 days' still active); the counters and their street rollups
#   written by `fangkong stats verify --fix` from the recount.
#
# city_build BIN PERSONS RECORDS VENUES: into FK_DATA_DIR (and FK_DB when set),
# with the caller's `sql` (one statement through sqlite3 or psql), `say`,
# `calc`, `mono` and $work (logs; accounts.txt, the demo's accounts, is
# written there). Sets buildings, fill_s, spread_s, counters_s, leaf_rows,
# street_rows.
city_build() {
    _bin=$1 _persons=$2 _records=$3 _venues=$4
    _fill=$(dirname "$_bin")/bench_trace_fill
    [ -x "$_fill" ] || make -s "$_fill" >&2
    "$_bin" init >/dev/null 2>"$work/init.log"
    "$_bin" demo --persons 10 --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
    # the demo's layout for PERSONS people (src/demo/demo.c build_regions): 8
    # streets, C communities a street, 4 grids a community, B buildings a grid
    C=$((_persons / 8 / 4000 + 1))
    [ "$C" -ge 2 ] || C=2
    [ "$C" -le 199 ] || C=199
    B=$((_persons / (8 * C * 4 * 80) + 1))
    [ "$B" -ge 2 ] || B=2
    [ "$B" -le 99 ] || B=99
    _district=$(sql "SELECT code FROM regions WHERE level = 3 ORDER BY code LIMIT 1")
    _now=$(($(date +%s) * 1000))
    say "$driver: $_persons people in 8 streets x $C communities x 4 grids x $B buildings (load $(cut -d' ' -f1-3 /proc/loadavg))"
    _t0=$(mono)
    sql "WITH RECURSIVE s(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < 8),
  c(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM c WHERE i < $C),
  g(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM g WHERE i < 4),
  b(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM b WHERE i < $B)
  INSERT INTO regions (code, parent_code, level, name, created_at, updated_at)
  SELECT $_district + s.i * 1000000000 + c.i * 1000000, $_district + s.i * 1000000000, 5,
    '压测社区' || s.i || '-' || c.i, $_now, $_now FROM s, c
  UNION ALL
  SELECT $_district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000,
    $_district + s.i * 1000000000 + c.i * 1000000, 6, '第' || g.i || '网格', $_now, $_now FROM s, c, g
  UNION ALL
  SELECT $_district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000 + b.i,
    $_district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000, 7, b.i || '栋', $_now, $_now
  FROM s, c, g, b WHERE 1 = 1
  ON CONFLICT (code) DO NOTHING"
    buildings=$(sql "SELECT COUNT(*) FROM regions WHERE level = 7")
    say "filling $_persons people and $_records access records..."
    "$_fill" "$FK_DATA_DIR/keys/master.key" "$DB" "$_persons" "$_records" "$_venues" 14 >"$work/cases.txt" 2>"$work/fill.log" ||
        { tail -5 "$work/fill.log" >&2; return 1; }
    _t1=$(mono)
    fill_s=$(calc "$_t1 - $_t0" 1)

    # the people spread over statuses, categories, groups and registration days
    # (by their id: the same city every run), a status change for each
    # confirmed person and an observation for one in 68
    _day=86400000
    _t0=$(mono)
    sql "UPDATE persons SET
  status = CASE WHEN id % 1000 = 1 THEN 'confirmed' WHEN id % 1000 = 2 THEN 'suspected'
    WHEN id % 1000 IN (3, 4) THEN 'cured' WHEN id % 1000 = 5 THEN 'asymptomatic'
    WHEN id % 10000 = 6 THEN 'dead' WHEN id % 1000 BETWEEN 10 AND 19 THEN 'home_isolation'
    WHEN id % 1000 BETWEEN 20 AND 24 THEN 'central_quarantine'
    WHEN id % 1000 BETWEEN 25 AND 44 THEN 'observation' ELSE status END,
  category = CASE id % 20 WHEN 0 THEN 'visitor' WHEN 1 THEN 'returnee' WHEN 2 THEN 'transit'
    ELSE category END,
  vulnerable = (CASE WHEN id % 50 = 3 THEN 1 ELSE 0 END) + (CASE WHEN id % 25 = 4 THEN 6 ELSE 0 END)
    + (CASE WHEN id % 100 = 5 THEN 8 ELSE 0 END) + (CASE WHEN id % 10 = 6 THEN 16 ELSE 0 END),
  created_at = CASE WHEN id % 5 IN (0, 1) THEN $_now - (id / 5 % 366) * $_day ELSE created_at END
  WHERE id % 1000 < 45 OR id % 20 < 3 OR id % 50 = 3 OR id % 25 = 4 OR id % 10 = 6 OR id % 5 < 2"
    sql "INSERT INTO status_changes (id, person_id, region_code, from_status, to_status, infection_route,
    at, user_id)
  SELECT id + 900000000000, id, region_code, 'normal', 'confirmed',
    CASE id / 1000 % 5 WHEN 0 THEN 'local' WHEN 1 THEN 'imported' WHEN 2 THEN 'domestic_import'
      WHEN 3 THEN 'cluster' ELSE 'unknown' END, $_now - (id / 1000 % 366) * $_day, 1
  FROM persons WHERE status = 'confirmed' AND id % 1000 = 1"
    sql "INSERT INTO observations (id, person_id, region_code, kind, source, state, start_at,
    planned_end_at, ended_at, created_by, created_at, updated_at)
  SELECT id + 800000000000, id, region_code,
    CASE id / 68 % 4 WHEN 0 THEN 'home_isolation' WHEN 1 THEN 'home_observation'
      WHEN 2 THEN 'central' ELSE 'hospital' END,
    CASE WHEN id / 68 % 3 = 0 THEN 'contact' ELSE 'grid_patrol' END,
    CASE WHEN id / 68 % 366 < 14 THEN 'active' ELSE 'released' END,
    $_now - (id / 68 % 366) * $_day, $_now - (id / 68 % 366) * $_day + 14 * $_day,
    CASE WHEN id / 68 % 366 < 14 THEN 0 ELSE $_now - (id / 68 % 366) * $_day + 14 * $_day END, 1,
    $_now - (id / 68 % 366) * $_day, $_now
  FROM persons WHERE id % 68 = 0"
    sql "ANALYZE"
    _t1=$(mono)
    spread_s=$(calc "$_t1 - $_t0" 1)

    # the counters, from the recount
    say "counters from the recount (stats verify --fix)..."
    sql "DELETE FROM counters"
    sql "DELETE FROM street_counters"
    _t0=$(mono)
    "$_bin" stats verify --fix >"$work/fix.txt" 2>&1 || true
    _t1=$(mono)
    grep -q 'rewritten from the recount' "$work/fix.txt" || { tail -3 "$work/fix.txt" >&2; return 1; }
    counters_s=$(calc "$_t1 - $_t0" 1)
    leaf_rows=$(sql "SELECT COUNT(*) FROM counters")
    street_rows=$(sql "SELECT COUNT(*) FROM street_counters")
}

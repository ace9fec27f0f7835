#!/bin/sh
# The leaders' dashboard at scale (docs/benchmarks.md "Statistics dashboard";
# issue 12: any dashboard answers in <= 20 ms with 10,000,000 people), one
# script for `make bench` and for a run of its own:
#
#   a city sized as `fangkong demo` sizes one for BENCH_STATS_PERSONS people
#   (default 1,000,000; 10,000,000 for the issue's figure): the demo's
#   regions extended by SQL to its streets, communities (up to 199 a
#   street), grids and buildings (up to 99 a grid), the people written by
#   build/bench_trace_fill (sealed as person.c stores them, in the
#   buildings), then spread by SQL over the epidemic statuses, categories
#   and vulnerable groups, 40% of them registered over the last 366 days;
#   a confirmed case's status change for each confirmed person and an
#   observation for one person in 68 (the last 14 days' still active); the
#   counters and their street rollups written by `fangkong stats verify
#   --fix` from the recount (timed: the first run writes them all, a second
#   finds every counter equal);
#
#   then BENCH_STATS_REQUESTS requests (default 200) of each dashboard call
#   over one kept-alive connection as the command centre (the district),
#   warm, the median and 99th percentile, each as a ratio to GET /api/v1/me
#   measured the same way in the same run.
#
# Usage:
#   bench/stats.sh [BIN]                      SQLite in a temporary directory
#   scripts/with-postgres.sh bench/stats.sh   PostgreSQL (FK_DB set)
# BENCH_QUICK=1: 100,000 people; BENCH_STATS_RECORD=1 appends the row to
# docs/benchmarks.md; BENCH_STATS_LABEL=text goes into its driver column.
# The last line of stdout: "stats key=value ..." for bench/run.sh.
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
say() { echo "bench: $*" >&2; }
mono() { date +%s.%N; }

BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
. bench/lib.sh # freeport, bench_serve, bench_login
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    PERSONS=${BENCH_STATS_PERSONS:-100000}
else
    PERSONS=${BENCH_STATS_PERSONS:-1000000}
fi
REQUESTS=${BENCH_STATS_REQUESTS:-200}
work=$(mktemp -d "${BENCH_STATS_TMP:-/tmp}/fk-bench-stats.XXXXXX")
log="$work/serve.log"
cleanup() {
    st=$?
    [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$log" >&2 || true; }
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"
DB=${FK_DB:-$FK_DATA_DIR/fangkong.db}
if [ -n "${FK_DB:-}" ]; then
    driver=postgres
    sql() { psql -Atq "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
else
    driver=sqlite
    sql() { sqlite3 "$DB" ".timeout 60000" "$1"; }
fi
FILL=$(dirname "$BIN")/bench_trace_fill
[ -x "$FILL" ] || make -s "$FILL" >&2
load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the city ----------------------------------------------------------------------------------
"$BIN" init >/dev/null 2>"$work/init.log"
"$BIN" demo --persons 10 --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
# the demo's layout for PERSONS people (src/demo/demo.c build_regions): 8
# streets, C communities a street, 4 grids a community, B buildings a grid
C=$((PERSONS / 8 / 4000 + 1))
[ "$C" -ge 2 ] || C=2
[ "$C" -le 199 ] || C=199
B=$((PERSONS / (8 * C * 4 * 80) + 1))
[ "$B" -ge 2 ] || B=2
[ "$B" -le 99 ] || B=99
district=$(sql "SELECT code FROM regions WHERE level = 3 ORDER BY code LIMIT 1")
now=$(($(date +%s) * 1000))
say "$driver: $PERSONS people in 8 streets x $C communities x 4 grids x $B buildings (load $load)"
t0=$(mono)
sql "WITH RECURSIVE s(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < 8),
  c(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM c WHERE i < $C),
  g(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM g WHERE i < 4),
  b(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM b WHERE i < $B)
  INSERT INTO regions (code, parent_code, level, name, created_at, updated_at)
  SELECT $district + s.i * 1000000000 + c.i * 1000000, $district + s.i * 1000000000, 5,
    '压测社区' || s.i || '-' || c.i, $now, $now FROM s, c
  UNION ALL
  SELECT $district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000,
    $district + s.i * 1000000000 + c.i * 1000000, 6, '第' || g.i || '网格', $now, $now FROM s, c, g
  UNION ALL
  SELECT $district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000 + b.i,
    $district + s.i * 1000000000 + c.i * 1000000 + g.i * 1000, 7, b.i || '栋', $now, $now
  FROM s, c, g, b WHERE 1 = 1
  ON CONFLICT (code) DO NOTHING"
buildings=$(sql "SELECT COUNT(*) FROM regions WHERE level = 7")
say "filling $PERSONS people..."
"$FILL" "$FK_DATA_DIR/keys/master.key" "$DB" "$PERSONS" 2 1100 14 >"$work/cases.txt" 2>"$work/fill.log" ||
    { tail -5 "$work/fill.log" >&2; exit 1; }
t1=$(mono)
fill_s=$(calc "$t1 - $t0" 1)

# the people spread over statuses, categories, groups and registration days
# (by their id: the same city every run), a status change for each
# confirmed person and an observation for one in 68
day=86400000
t0=$(mono)
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
  created_at = CASE WHEN id % 5 IN (0, 1) THEN $now - (id / 5 % 366) * $day ELSE created_at END
  WHERE id % 1000 < 45 OR id % 20 < 3 OR id % 50 = 3 OR id % 25 = 4 OR id % 10 = 6 OR id % 5 < 2"
sql "INSERT INTO status_changes (id, person_id, region_code, from_status, to_status, infection_route,
    at, user_id)
  SELECT id + 900000000000, id, region_code, 'normal', 'confirmed',
    CASE id / 1000 % 5 WHEN 0 THEN 'local' WHEN 1 THEN 'imported' WHEN 2 THEN 'domestic_import'
      WHEN 3 THEN 'cluster' ELSE 'unknown' END, $now - (id / 1000 % 366) * $day, 1
  FROM persons WHERE status = 'confirmed' AND id % 1000 = 1"
sql "INSERT INTO observations (id, person_id, region_code, kind, source, state, start_at,
    planned_end_at, ended_at, created_by, created_at, updated_at)
  SELECT id + 800000000000, id, region_code,
    CASE id / 68 % 4 WHEN 0 THEN 'home_isolation' WHEN 1 THEN 'home_observation'
      WHEN 2 THEN 'central' ELSE 'hospital' END,
    CASE WHEN id / 68 % 3 = 0 THEN 'contact' ELSE 'grid_patrol' END,
    CASE WHEN id / 68 % 366 < 14 THEN 'active' ELSE 'released' END,
    $now - (id / 68 % 366) * $day, $now - (id / 68 % 366) * $day + 14 * $day,
    CASE WHEN id / 68 % 366 < 14 THEN 0 ELSE $now - (id / 68 % 366) * $day + 14 * $day END, 1,
    $now - (id / 68 % 366) * $day, $now
  FROM persons WHERE id % 68 = 0"
sql "ANALYZE"
t1=$(mono)
spread_s=$(calc "$t1 - $t0" 1)

# ---- the counters, from the recount ------------------------------------------------------------
say "counters from the recount (stats verify --fix)..."
sql "DELETE FROM counters"
sql "DELETE FROM street_counters"
t0=$(mono)
"$BIN" stats verify --fix >"$work/fix.txt" 2>&1 || true
t1=$(mono)
grep -q 'rewritten from the recount' "$work/fix.txt" || { tail -3 "$work/fix.txt" >&2; exit 1; }
counters_s=$(calc "$t1 - $t0" 1)
t0=$(mono)
"$BIN" stats verify >"$work/verify.txt" 2>&1 || { say "counters differ after the fill: $(tail -2 "$work/verify.txt")"; exit 1; }
t1=$(mono)
verify_s=$(calc "$t1 - $t0" 1)
sql "ANALYZE"
leaf_rows=$(sql "SELECT COUNT(*) FROM counters")
street_rows=$(sql "SELECT COUNT(*) FROM street_counters")

# ---- the server ----------------------------------------------------------------------------------
bench_serve "$BIN" "$log" FK_NAT_SWEEP=0
t=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
    t=$((t + 1))
    [ "$t" -lt 3000 ] || { say "the server did not answer in 300 s"; exit 1; }
    sleep 0.1
done
cookie=$(bench_login "$work/accounts.txt" command_center)
[ -n "$cookie" ] || { say "could not sign in"; exit 1; }
base="http://127.0.0.1:$port"

# REQUESTS requests of one URL over one kept-alive connection (after 10 to
# warm up): "median p99" in ms
timeit() {
    _urls=""
    for _k in $(seq 1 10); do _urls="$_urls -o /dev/null $1"; done
    # shellcheck disable=SC2086
    curl -s -H "Cookie: $cookie" $_urls
    _urls=""
    for _k in $(seq 1 "$REQUESTS"); do _urls="$_urls -o /dev/null $1"; done
    # shellcheck disable=SC2086
    curl -s -H "Cookie: $cookie" -w '%{http_code} %{time_total}\n' $_urls >"$work/t.txt"
    awk '$1 != 200 { bad++ } END { exit bad > 0 }' "$work/t.txt" ||
        { say "$1 answered $(awk '$1 != 200' "$work/t.txt" | head -1)"; curl -s -H "Cookie: $cookie" "$1" | head -c 300 >&2; exit 1; }
    awk '{ print $2 * 1000 }' "$work/t.txt" | sort -n |
        awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; printf "%.2f %.2f", v[int((NR + 1) / 2)], v[i] }'
}
street=$(sql "SELECT code FROM regions WHERE level = 4 ORDER BY code LIMIT 1")
street2=$(sql "SELECT code FROM regions WHERE level = 4 ORDER BY code LIMIT 1 OFFSET 1")
community=$(sql "SELECT code FROM regions WHERE level = 5 ORDER BY code LIMIT 1")
street=$(printf '%.12s' "$street") street2=$(printf '%.12s' "$street2") community=$(printf '%.12s' "$community")
S10=person.status.normal,person.status.observation,person.status.home_isolation,person.status.central_quarantine,person.status.suspected,person.status.confirmed,person.status.asymptomatic,person.status.cured,person.status.dead,person.registered
S20=$S10,person.category.visitor,person.category.returnee,person.category.transit,person.vulnerable.pregnant,person.vulnerable.elderly_alone,case.observing.home_isolation,case.observing.central,case.contacts,case.observe.new,case.enter.confirmed
today=$(TZ=Asia/Shanghai date +%Y-%m-%d)
d29=$(TZ=Asia/Shanghai date -d '29 days ago' +%Y-%m-%d)
d59=$(TZ=Asia/Shanghai date -d '59 days ago' +%Y-%m-%d)
d30=$(TZ=Asia/Shanghai date -d '30 days ago' +%Y-%m-%d)
d365=$(TZ=Asia/Shanghai date -d '365 days ago' +%Y-%m-%d)

# the figures read once against the recount: confirmed people of the city
confirmed=$(curl -s -H "Cookie: $cookie" "$base/api/v1/stats/summary?measures=person.status.confirmed" |
    sed -n 's/.*"value":\([0-9]*\).*/\1/p')
rc_confirmed=$(sql "SELECT COUNT(*) FROM persons WHERE deleted_at = 0 AND status = 'confirmed'")
[ "$confirmed" = "$rc_confirmed" ] || { say "confirmed: API $confirmed, recount $rc_confirmed"; exit 1; }

set -- $(timeit "$base/api/v1/me")
ref_med=$1 ref_p99=$2
# NAME URL: "NAME=median/p99"
measure() {
    set -- "$1" $(timeit "$2")
    echo "$1=$2/$3"
}
kv=""
kv="$kv $(measure summary20 "$base/api/v1/stats/summary?measures=$S20")"
kv="$kv $(measure summary10 "$base/api/v1/stats/summary?measures=$S10")"
kv="$kv $(measure regions_district "$base/api/v1/stats/regions?measures=$S10")"
kv="$kv $(measure regions_street "$base/api/v1/stats/regions?measures=$S10&region=$street")"
kv="$kv $(measure regions_community "$base/api/v1/stats/regions?measures=$S10&region=$community")"
kv="$kv $(measure series30 "$base/api/v1/stats/series?measure=person.registered&from=$d29&to=$today&cumulative=1")"
kv="$kv $(measure series366 "$base/api/v1/stats/series?measure=person.registered&from=$d365&to=$today&cumulative=1")"
kv="$kv $(measure series366_street "$base/api/v1/stats/series?measure=person.registered&from=$d365&to=$today&cumulative=1&within=$street")"
kv="$kv $(measure compare_regions "$base/api/v1/stats/compare/regions?measures=$S10&regions=$street,$street2")"
kv="$kv $(measure compare_periods "$base/api/v1/stats/compare/periods?measure=case.observe.new&from=$d59&to=$d30&from2=$d29&to2=$today")"
kv="$kv $(measure trends "$base/api/v1/stats/trends?prefix=case.confirmed_by&from=$d29&to=$today")"
kv="$kv $(measure list "$base/api/v1/stats/list?measure=person.status.confirmed&region=$street")"
results=""
row=""
for x in $kv; do
    name=${x%%=*} v=${x#*=}
    med=${v%/*} p99=${v#*/}
    results="$results
  $(printf '%-18s median %7s ms  p99 %7s ms  %5sx /me' "$name" "$med" "$p99" "$(calc "$med / $ref_med" 1)")"
    row="$row | $med / $p99"
done
rss_mb=$(awk '/RssAnon/ { printf "%.0f", $2 / 1024 }' /proc/$srv/status)
cat >&2 <<EOF
== statistics dashboard ($driver), $PERSONS people, $buildings buildings, load $load
  data:       regions and people ${fill_s}s, spread ${spread_s}s; counters from the recount ${counters_s}s
              ($leaf_rows leaf rows, $street_rows street rows); verify agrees in ${verify_s}s
  reference:  GET /api/v1/me  median ${ref_med} ms, p99 ${ref_p99} ms ($REQUESTS requests each, one connection, warm)$results
  server:     ${rss_mb} MB private memory after the run (goal for every call: <= 20 ms)
EOF
if [ "${BENCH_STATS_RECORD:-0}" = 1 ]; then
    label=${BENCH_STATS_LABEL:-$driver}
    printf '| %s | %s | %s | %s | %s | %s / %s%s | %s |\n' "$(date -u +%Y-%m-%d)" "$label" "$PERSONS" \
        "$buildings" "$load" "$ref_med" "$ref_p99" "$row" "$counters_s / $verify_s" >"$work/row.txt"
    sed -i "/^<!-- stats runs end -->/e cat $work/row.txt" docs/benchmarks.md
fi
echo "stats persons=$PERSONS buildings=$buildings ref_ms=$ref_med$kv counters_s=$counters_s verify_s=$verify_s"

#!/bin/sh
# The monitoring rules' evaluation (docs/monitor.md "Cost"): what one run of
# the four rules costs when the platform holds a city's worth of what they
# read, timed through POST /api/v1/monitor/run one request at a time, as a
# ratio to GET /api/v1/me (session, principal, JSON reply) measured the same
# way in the same run.
#
# The city: `fangkong demo` for the region tree and the accounts, then, by
# SQL into the SQLite file (what the rules read, not how it got there):
#   - case.incident.new counters of today on BENCH_MON_LEAVES leaf regions
#     (default 12,800: 200 buildings under each of the demo's 64 grids);
#   - BENCH_MON_SITES quarantine sites (default 200) of 100 rooms each, a
#     third of them 95 % full;
#   - BENCH_MON_OBS open home observations (default 20,000) and 100,000
#     closed ones, three checks each on earlier days, today's check on half
#     of the open ones;
#   - BENCH_MON_ALERTS alerts over 30 days (default 300,000), of which 5,000
#     device fevers today at 500 venues.
# The first run raises the day's alerts (one per breaching object); the
# steady state, every run after it, is what the worker pays each minute.
#
# Usage: bench/monitor.sh [BIN]   (prints the figures and one line
# "monitor first_ms=… run_ms=… me_ms=… ratio=… breaches=…")
set -eu
BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
LEAVES=${BENCH_MON_LEAVES:-12800}
SITES=${BENCH_MON_SITES:-200}
OBS=${BENCH_MON_OBS:-20000}
ALERTS=${BENCH_MON_ALERTS:-300000}
RUNS=${BENCH_MON_RUNS:-20}
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
say() { echo "bench: $*" >&2; }

work=$(mktemp -d /tmp/fk-bench-monitor.XXXXXX)
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"
unset FK_DB
. bench/lib.sh # freeport, bench_serve, bench_login

"$BIN" init >/dev/null 2>&1
"$BIN" demo --persons 1000 --seed 1 >"$work/accounts.txt" 2>/dev/null
db="$FK_DATA_DIR/fangkong.db"
now=$(($(date +%s) * 1000))
day_start=$(((now + 28800000) / 86400000 * 86400000 - 28800000))
today=$(((now + 28800000) / 86400000))
say "filling: $LEAVES leaves, $SITES sites, $OBS open observations, $ALERTS alerts"
t0=$(date +%s.%N)
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TEMP TABLE seq AS WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400000) SELECT i FROM s;
CREATE TEMP TABLE grids (k INTEGER PRIMARY KEY, code INTEGER);
INSERT INTO grids (k, code) SELECT ROW_NUMBER() OVER (ORDER BY code), code FROM regions WHERE level = 6;
CREATE TEMP TABLE leaves (k INTEGER PRIMARY KEY, code INTEGER);
INSERT INTO leaves (k, code) SELECT ROW_NUMBER() OVER (), g.code + s.i FROM grids g JOIN seq s ON s.i <= 200;
-- reports: 1..3 of today on each leaf
INSERT OR REPLACE INTO counters (measure, region_code, day, n)
  SELECT 'case.incident.new', code, $today, k % 3 + 1 FROM leaves WHERE k <= $LEAVES;
-- quarantine sites and their rooms; every third site 95 % full, the others 40 %
INSERT INTO places (id, region_code, kind, name, created_at, updated_at)
  SELECT 9000000 + s.i, (SELECT code FROM grids WHERE k = s.i % 64 + 1), 'quarantine_site', '压测隔离点' || s.i, $now, $now
  FROM seq s WHERE s.i <= $SITES;
INSERT INTO quarantine_rooms (id, site_id, room_no, region_code, state, created_at, updated_at)
  SELECT 9100000 + p.id % 1000 * 100 + r.i, p.id, CAST(r.i AS TEXT), p.region_code,
         CASE WHEN r.i <= (CASE WHEN p.id % 3 = 0 THEN 95 ELSE 40 END) THEN 'occupied' ELSE 'free' END, $now, $now
  FROM places p JOIN seq r ON r.i <= 100 WHERE p.id > 9000000 AND p.id <= 9000000 + $SITES;
-- observations: open home ones, and closed ones
INSERT INTO observations (id, person_id, region_code, kind, source, state, start_at, created_by, created_at, updated_at)
  SELECT 10000000 + s.i, 20000000 + s.i, (SELECT code FROM leaves WHERE k = s.i % $LEAVES + 1),
         CASE WHEN s.i % 2 THEN 'home_isolation' ELSE 'home_observation' END, 'grid_patrol',
         CASE WHEN s.i <= $OBS THEN 'active' ELSE 'released' END, $now - 5 * 86400000, 1, $now, $now
  FROM seq s WHERE s.i <= $OBS + 100000;
INSERT INTO checks (id, observation_id, person_id, region_code, at, by_whom, user_id, temperature)
  SELECT 30000000 + o.id % 10000000 * 4 + d.i, o.id, o.person_id, o.region_code, $day_start - d.i * 86400000 + 36000000, 'doctor', 1, 36.5
  FROM observations o JOIN seq d ON d.i <= 3 WHERE o.id > 10000000;
INSERT INTO checks (id, observation_id, person_id, region_code, at, by_whom, user_id, temperature)
  SELECT 30000000 + o.id % 10000000 * 4, o.id, o.person_id, o.region_code, $day_start + 3600000, 'doctor', 1, 36.5
  FROM observations o WHERE o.id > 10000000 AND o.state = 'active' AND o.id % 2 = 0;
-- venues and alerts: 5,000 device fevers today at 500 venues, the rest other kinds over 30 days
INSERT INTO venues (id, region_code, place_id, kind, name, code_issued_at, created_at, updated_at)
  SELECT 40000000 + s.i, (SELECT code FROM grids WHERE k = s.i % 64 + 1), 9000001, 'community_gate', '压测点位' || s.i, $now, $now, $now
  FROM seq s WHERE s.i <= 500;
INSERT INTO alerts (id, kind, level, region_code, venue_id, message, at)
  SELECT 50000000 + s.i, 'device_fever', 'critical', v.region_code, v.id, '压测', $day_start + s.i * 1000
  FROM seq s JOIN venues v ON v.id = 40000000 + s.i % 500 + 1 WHERE s.i <= 5000;
INSERT INTO alerts (id, kind, level, region_code, venue_id, message, at)
  SELECT 50000000 + s.i, CASE s.i % 3 WHEN 0 THEN 'device_fever' WHEN 1 THEN 'code_colour' ELSE 'check_missed' END,
         'warning', 440305001001000000, 40000000 + s.i % 500 + 1, '压测', $day_start - (s.i % 30 + 1) * 86400000
  FROM seq s WHERE s.i > 5000 AND s.i <= $ALERTS;
COMMIT;
ANALYZE;
SQL
t1=$(date +%s.%N)
say "filled in $(calc "$t1 - $t0")s"

bench_serve "$BIN" "$work/serve.log" FK_MONITOR_EVERY=0 FK_CHECK_SWEEP=0 FK_TASK_CHECK=0
cookie=$(bench_login "$work/accounts.txt" command_center)
[ -n "$cookie" ] || { say "could not sign in"; cat "$work/serve.log" >&2; exit 1; }
url="http://127.0.0.1:$port/api/v1"
# the median of RUNS requests, in ms
timed() {
    for _i in $(seq 1 "$RUNS"); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: $cookie" "$@"
    done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}
first=$(curl -s -o "$work/first.json" -w '%{time_total}' -X POST -H 'Content-Type: application/json' -H "Cookie: $cookie" "$url/monitor/run")
grep -q '"raised"' "$work/first.json" || { say "the run failed: $(cat "$work/first.json")"; exit 1; }
first_ms=$(calc "$first * 1000")
raised=$(sed -n 's/.*"raised":\([0-9]*\).*/\1/p' "$work/first.json")
breaches=$(sed -n 's/.*"breaches":\([0-9]*\).*/\1/p' "$work/first.json")
run_ms=$(timed -X POST -H 'Content-Type: application/json' "$url/monitor/run")
list_ms=$(timed "$url/monitor/breaches")
me_ms=$(timed "$url/me")
ratio=$(calc "$run_ms / $me_ms")
echo "bench: monitoring, first run (raises $raised alerts for $breaches breaches): ${first_ms} ms"
echo "bench: monitoring, a run in the steady state (median of $RUNS): ${run_ms} ms = ${ratio}x GET /me (${me_ms} ms)"
echo "bench: monitoring, the breaches list of the district: ${list_ms} ms"
echo "monitor first_ms=$first_ms run_ms=$run_ms me_ms=$me_ms ratio=$ratio breaches=$breaches list_ms=$list_ms"

#!/bin/sh
# The testing statistics (docs/benchmarks.md "Testing statistics"; issue 10:
# the street and district pages answer in <= 20 ms with 10,000,000 samples),
# one script for `make bench` and for a run of its own:
#
#   BENCH_NATSTATS_SITES sites (default 600) spread over the city's
#   communities, BENCH_NATSTATS_SAMPLES samples (default 10,000,000) of the
#   running plan over the last three days written by SQL in bulk (one in 100
#   a duplicate, one in 7 counted under an industry), then the counters as
#   the sampling transaction keeps them (nat_site_hours, nat_sites.scans,
#   nat_plan_figures with planned figures beside), summed from the samples
#   by SQL, and a few thousand clock-ins; the counters are checked against
#   the API once (the street endpoint's scans and actual equal the recount);
#   then BENCH_NATSTATS_REQUESTS requests (default 200) of each endpoint
#   over one kept-alive connection, the median and 95th percentile, against
#   GET /api/v1/me measured the same way in the same run.
#
# Usage:
#   bench/natstats.sh BIN PORT COOKIE SERVER_PID WORKDIR   from bench/run.sh
#   bench/natstats.sh [BIN]                                alone: its own server
# BENCH_QUICK=1 makes a quick run (1,000,000 samples).
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
say() { echo "bench: $*" >&2; }

. "$(dirname "$0")/lib.sh" # bench_serve, bench_login
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    SAMPLES=${BENCH_NATSTATS_SAMPLES:-1000000}
else
    SAMPLES=${BENCH_NATSTATS_SAMPLES:-10000000}
fi
SITES=${BENCH_NATSTATS_SITES:-600}
REQUESTS=${BENCH_NATSTATS_REQUESTS:-200}
if [ $# -ge 5 ]; then
    BIN=$1 port=$2 cookie=$3 srv=$4 work=$5
    log="$work/serve.log"
else
    BIN=$(readlink -f "${1:-build/fangkong}")
    cd "$(dirname "$0")/.."
    work=$(mktemp -d /tmp/fk-bench-natstats.XXXXXX)
    log="$work/serve.log"
    cleanup() {
        st=$?
        [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$log" >&2; }
        [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
        rm -rf "$work"
    }
    trap cleanup EXIT INT TERM
    export FK_DATA_DIR="$work/data"
    unset FK_DB
    "$BIN" init >/dev/null 2>&1
    "$BIN" demo --persons 10 --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
    bench_serve "$BIN" "$log" FK_NAT_SWEEP=0
    cookie=$(bench_login "$work/accounts.txt" command_center)
    [ -n "$cookie" ] || { say "could not sign in"; exit 1; }
fi
DB="$FK_DATA_DIR/fangkong.db"
base="http://127.0.0.1:$port"
mono() { date +%s.%N; }
q() { sqlite3 "$DB" ".timeout 60000" "$@"; }

# ---- the data ------------------------------------------------------------------------------
plan=$(q "SELECT id FROM nat_plans WHERE deleted_at = 0 ORDER BY starts_at DESC LIMIT 1")
[ -n "$plan" ] || { say "no plan in the demo"; exit 1; }
now=$(($(date +%s) * 1000))
SITE0=3000000000000
today=$(TZ=Asia/Shanghai date +%Y-%m-%d)
# the street endpoint's scans of today and actual summed: "scans actual streets"
api_sums() {
    curl -s -H "Cookie: $cookie" "$base/api/v1/nat/stats/streets?plan_id=$plan&day=$today" >"$work/streets.json"
    node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
let scans = 0, actual = 0;
for (const s of j.items) { scans += s.scans; actual += s.figures ? s.figures.actual : 0; }
console.log(`${scans} ${actual} ${j.items.length}`);' "$work/streets.json"
}
set -- $(api_sums)
base_scans=$1 base_actual=$2
say "$SITES sites, $SAMPLES samples of plan $plan by SQL..."
t0=$(mono)
q "CREATE TEMP TABLE c AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, code FROM regions
     WHERE level = 5" \
  "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $SITES - 1)
   INSERT INTO nat_sites (id, region_code, name, kind, state, created_at, updated_at)
   SELECT $SITE0 + i, c.code, '压测点位' || i, 'fixed',
     CASE WHEN i % 10 = 9 THEN 'paused' ELSE 'open' END, $now, $now
   FROM n JOIN c ON c.k = n.i % (SELECT COUNT(*) FROM c)"
q "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $SAMPLES - 1)
   INSERT INTO nat_samples (id, person_id, visitor_id, tube_id, site_id, region_code, plan_id,
     street_code, industry_id, staff_id, method, at, day, round_day, duplicate)
   SELECT 4000000000000 + i, 1000000000000 + i - (i % 100 = 99), 0, 5000000000000 + i / 10,
     s.id, s.region_code, $plan, s.region_code / 1000000000 * 1000000000,
     CASE WHEN i % 7 = 0 THEN 1 + (i / 7) % 9 ELSE 0 END, 1, 'code', $now - (i * 26) % 259200000,
     ($now - (i * 26) % 259200000 + 28800000) / 86400000, 0, i % 100 = 99
   FROM n JOIN nat_sites s ON s.id = $SITE0 + n.i % $SITES"
t1=$(mono)
fill_s=$(calc "$t1 - $t0" 1)
say "samples written in ${fill_s}s; the counters..."
t0=$(mono)
q "BEGIN" \
  "INSERT INTO nat_site_hours (site_id, hour, region_code, n)
   SELECT site_id, at - at % 3600000, region_code, COUNT(*) FROM nat_samples
   WHERE site_id >= $SITE0 GROUP BY 1, 2, 3 ON CONFLICT (site_id, hour) DO UPDATE SET
   n = nat_site_hours.n + excluded.n" \
  "UPDATE nat_sites SET scans = scans + (SELECT COALESCE(SUM(n), 0) FROM nat_site_hours h
   WHERE h.site_id = nat_sites.id) WHERE id >= $SITE0" \
  "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, actual, updated_at)
   SELECT plan_id, street_code, 0, COUNT(*), $now FROM nat_samples WHERE site_id >= $SITE0
   AND duplicate = 0 GROUP BY 1, 2 ON CONFLICT (plan_id, region_code, industry_id) DO UPDATE
   SET actual = nat_plan_figures.actual + excluded.actual, updated_at = excluded.updated_at" \
  "INSERT INTO nat_plan_figures (plan_id, region_code, industry_id, actual, updated_at)
   SELECT plan_id, street_code, industry_id, COUNT(*), $now FROM nat_samples WHERE site_id >=
   $SITE0 AND duplicate = 0 AND industry_id > 0 GROUP BY 1, 2, 3 ON CONFLICT (plan_id,
   region_code, industry_id) DO UPDATE SET actual = nat_plan_figures.actual + excluded.actual,
   updated_at = excluded.updated_at" \
  "UPDATE nat_plan_figures SET planned = actual + actual / 10 WHERE plan_id = $plan" \
  "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 3 * $SITES - 1)
   INSERT INTO nat_clockins (id, site_id, region_code, user_id, in_at, out_at)
   SELECT 6000000000000 + i, s.id, s.region_code, 7000000000000 + i,
     $now - (i % 3) * 86400000 - 3600000, $now - (i % 3) * 86400000
   FROM n JOIN nat_sites s ON s.id = $SITE0 + n.i % $SITES" \
  "COMMIT" "ANALYZE"
t1=$(mono)
counters_s=$(calc "$t1 - $t0" 1)

# ---- the counters against a recount, once ------------------------------------------------
# what the API added since the fill equals a recount of the samples written
set -- $(api_sums)
api_scans=$(($1 - base_scans)) api_actual=$(($2 - base_actual)) streets=$3
day=$(q "SELECT ($now + 28800000) / 86400000")
rc_scans=$(q "SELECT COUNT(*) FROM nat_samples WHERE site_id >= $SITE0 AND day = $day")
rc_actual=$(q "SELECT COUNT(*) FROM nat_samples WHERE site_id >= $SITE0 AND plan_id = $plan AND duplicate = 0")
[ "$api_scans" = "$rc_scans" ] || { say "scans today: API $api_scans, recount $rc_scans"; exit 1; }
[ "$api_actual" = "$rc_actual" ] || { say "actual: API $api_actual, recount $rc_actual"; exit 1; }

# ---- the timing ----------------------------------------------------------------------------
# REQUESTS requests of one URL over one kept-alive connection: "median p95" in ms
timeit() {
    _urls=""
    for _k in $(seq 1 "$REQUESTS"); do _urls="$_urls -o /dev/null $1"; done
    # shellcheck disable=SC2086
    curl -s -H "Cookie: $cookie" -w '%{http_code} %{time_total}\n' $_urls >"$work/t.txt"
    awk '$1 != 200 { bad++ } END { exit bad > 0 }' "$work/t.txt" ||
        { say "$1 answered $(awk '$1 != 200' "$work/t.txt" | head -1)"; exit 1; }
    awk '{ print $2 * 1000 }' "$work/t.txt" | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[int((NR + 1) / 2)], v[int(NR * 0.95)] }'
}
set -- $(timeit "$base/api/v1/me")
ref_med=$1 ref_p95=$2
set -- $(timeit "$base/api/v1/nat/stats/streets?plan_id=$plan")
st_med=$1 st_p95=$2
set -- $(timeit "$base/api/v1/nat/stats/districts?plan_id=$plan")
di_med=$1 di_p95=$2
set -- $(timeit "$base/api/v1/nat/stats/industries?plan_id=$plan")
in_med=$1 in_p95=$2
set -- $(timeit "$base/api/v1/nat/bureau/streets")
bu_med=$1 bu_p95=$2
set -- $(timeit "$base/api/v1/nat/stats/scans?by=site")
sc_med=$1 sc_p95=$2
hours=$(q "SELECT COUNT(*) FROM nat_site_hours")
figs=$(q "SELECT COUNT(*) FROM nat_plan_figures WHERE plan_id = $plan")

cat >&2 <<EOF
== testing statistics, $SAMPLES samples at $SITES sites ($streets streets, $hours site-hour rows, $figs figure rows)
  data:       samples by SQL ${fill_s}s, counters ${counters_s}s; API = recount (scans today $api_scans, actual $api_actual)
  reference:  GET /api/v1/me                     median ${ref_med} ms, p95 ${ref_p95} ms
  streets:    GET /nat/stats/streets?plan_id     median ${st_med} ms, p95 ${st_p95} ms (goal <= 20 ms)
  districts:  GET /nat/stats/districts?plan_id   median ${di_med} ms, p95 ${di_p95} ms
  industries: GET /nat/stats/industries?plan_id  median ${in_med} ms, p95 ${in_p95} ms
  bureau:     GET /nat/bureau/streets            median ${bu_med} ms, p95 ${bu_p95} ms
  scans:      GET /nat/stats/scans?by=site       median ${sc_med} ms, p95 ${sc_p95} ms
EOF
echo "natstats samples=$SAMPLES sites=$SITES ref_ms=$ref_med streets_ms=$st_med districts_ms=$di_med industries_ms=$in_med bureau_ms=$bu_med scans_ms=$sc_med fill_s=$fill_s counters_s=$counters_s"

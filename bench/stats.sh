#!/bin/sh
# The leaders' dashboard at scale (docs/benchmarks.md "Statistics dashboard";
# issue 12: any dashboard answers in <= 20 ms with 10,000,000 people), one
# script for `make bench` and for a run of its own:
#
#   bench/city.sh's city of BENCH_STATS_PERSONS people (default 1,000,000;
#   10,000,000 for the issue's figure): regions, people sealed as person.c
#   stores them, spread over statuses, categories, groups and 366 days of
#   registrations, status changes and observations; the counters and their
#   street rollups written by `fangkong stats verify --fix` from the
#   recount (timed: the first run writes them all, a second finds every
#   counter equal);
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
. bench/city.sh # city_build
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
load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the city (bench/city.sh), the counters from the recount timed: the
# first run writes them all, a second finds every counter equal ----------------------------------
city_build "$BIN" "$PERSONS" 2 1100
t0=$(mono)
"$BIN" stats verify >"$work/verify.txt" 2>&1 || { say "counters differ after the fill: $(tail -2 "$work/verify.txt")"; exit 1; }
t1=$(mono)
verify_s=$(calc "$t1 - $t0" 1)
sql "ANALYZE"

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

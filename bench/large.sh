#!/bin/sh
# Memory and first pages at 10,000,000 people (issue 15 "The hot paths":
# the server's memory <= 256 MB, the first page of any scoped list <= 50 ms;
# docs/benchmarks.md "At 10,000,000 people (bench-large)"). `make
# bench-large`, not part of `make test`:
#
#   the city of bench/city.sh at BENCH_LARGE_PERSONS people (default
#   10,000,000; BENCH_QUICK=1 200,000), with half as many access records at
#   2,000 venues over 14 days, and by SQL a task for one person in 20 and a
#   hotline ticket for one in 50 (the bigger lists); on SQLite kept in
#   BENCH_LARGE_CACHE (default /tmp/fk-large-city-PERSONS) so a second run
#   starts at once (PostgreSQL, FK_DB set, builds it every run);
#
#   the server started on it; its memory (VmRSS, VmHWM, RssAnon from
#   /proc) after the start, after the first pages below (every list
#   touched) and after a burst of BENCH_LARGE_BURST (2,000) look-ups by id
#   number and BENCH_LARGE_PAGES (10) pages deep (2 to 201) into the person
#   and access-record lists;
#
#   every list: the GET routes of the OpenAPI document (the route table, so
#   a new list is measured without touching this script) without a path
#   parameter, outside /me and /public, that answer the district's command
#   centre with a page ("items"); page 1 with its default sort as the
#   district, a street and a community user (the demo's, the community user
#   moved into one of the bench's communities): cold (the first request of
#   that list and user after the start) and warm (median of the next 5),
#   over one kept-alive connection. A list that needs a parameter (400) is
#   printed as such.
#
# Usage:
#   bench/large.sh [BIN]                      SQLite
#   scripts/with-postgres.sh bench/large.sh   PostgreSQL (FK_DB set)
# BENCH_LARGE_LISTS=regex measures only the lists whose path matches;
# BENCH_LARGE_RECORD=1 appends the run to docs/benchmarks.md;
# BENCH_LARGE_LABEL=text goes into its driver column. Exit status 0 when the
# run completed, whatever the figures (they are the report).
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
say() { echo "bench: $*" >&2; }
mono() { date +%s.%N; }

BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
. bench/lib.sh  # freeport, bench_serve, bench_login
. bench/city.sh # city_build
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    PERSONS=${BENCH_LARGE_PERSONS:-200000}
else
    PERSONS=${BENCH_LARGE_PERSONS:-10000000}
fi
BURST=${BENCH_LARGE_BURST:-2000}
PAGES=${BENCH_LARGE_PAGES:-10}
MEM_GOAL=256 PAGE_GOAL=50
work=$(mktemp -d /tmp/fk-bench-large.XXXXXX)
log="$work/serve.log"
cleanup() {
    st=$?
    [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$log" >&2 || true; }
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
if [ -n "${FK_DB:-}" ]; then
    driver=postgres
    DB=$FK_DB
    cache=$work/city
    sql() { psql -Atq "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
else
    driver=sqlite
    cache=${BENCH_LARGE_CACHE:-/tmp/fk-large-city-$PERSONS}
    DB=$cache/data/fangkong.db
    sql() { sqlite3 "$DB" ".timeout 60000" "$1"; }
fi
export FK_DATA_DIR="$cache/data"
load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the city, built once ----------------------------------------------------------------------
if [ ! -f "$cache/city.done" ]; then
    rm -rf "$cache"
    mkdir -p "$cache"
    t0=$(mono)
    city_build "$BIN" "$PERSONS" $((PERSONS / 2)) 2000
    cp "$work/accounts.txt" "$cache/accounts.txt"
    say "people and access records ${fill_s}s, spread ${spread_s}s, counters ${counters_s}s"
    # the other big lists: a task for one person in 20 (a release from
    # isolation, a third each pending, accepted, done), a hotline ticket for
    # one in 50 (no caller: the sealed columns may be empty)
    now=$(($(date +%s) * 1000)) day=86400000
    sql "INSERT INTO tasks (id, kind, region_code, state, priority, deadline, title, person_id,
      created_at)
      SELECT id + 700000000000, 'release', region_code,
        CASE id / 20 % 3 WHEN 0 THEN 'pending' WHEN 1 THEN 'accepted' ELSE 'done' END, 2,
        $now + (id / 20 % 7) * $day, '解除隔离', id, $now - (id / 20 % 30) * $day
      FROM persons WHERE id % 20 = 7"
    sql "INSERT INTO hotline_tickets (id, ticket_no, region_code, street_code, received_at, content,
      state, imported_at, imported_by)
      SELECT id + 600000000000, 'BL' || id, region_code, region_code - region_code % 1000000000,
        $now - (id / 50 % 60) * $day, '压测工单：咨询核酸检测点位', '已办结', $now, 1
      FROM persons WHERE id % 50 = 9"
    # their counters (the hotline's list reads its total from them) from
    # the recount, as city_build wrote the others
    "$BIN" stats verify --fix >"$work/fix.txt" 2>&1 || true
    sql "ANALYZE"
    t1=$(mono)
    calc "$t1 - $t0" 0 >"$cache/build_s"
    touch "$cache/city.done"
fi
build_s=$(cat "$cache/build_s")
db_mb=$(du -sm "$cache/data" | cut -f1)
[ "$driver" = sqlite ] || db_mb=$(sql "SELECT pg_database_size(current_database()) / 1048576")
records=$(sql "SELECT COUNT(*) FROM access_records")
say "$driver: $PERSONS people, $records access records, database ${db_mb} MB (built in ${build_s} s; load $load)"

# the community user into one of the bench's communities (the demo's own
# hold a handful of people); the street user's street holds an eighth of the city
community=$(sql "SELECT MIN(code) FROM regions WHERE level = 5 AND name LIKE '压测社区%'")
sql "UPDATE users SET region_code = $community WHERE username = 'community'"

# ---- the server ----------------------------------------------------------------------------------
# VmRSS VmHWM RssAnon of the server, in MB
mem() { awk '/^(VmRSS|VmHWM|RssAnon):/ { v[$1] = $2 } END { printf "%.0f %.0f %.0f", v["VmRSS:"] / 1024, v["VmHWM:"] / 1024, v["RssAnon:"] / 1024 }' "/proc/$srv/status"; }
# the look-ups of the burst are all by one user: its exact-search limit
# (still counted) above the burst
bench_serve "$BIN" "$log" FK_NAT_SWEEP=0 FK_EXACT_SEARCH_LIMIT=1000000
t=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
    t=$((t + 1))
    [ "$t" -lt 3000 ] || { say "the server did not answer in 300 s"; exit 1; }
    sleep 0.1
done
base="http://127.0.0.1:$port"
mem_start=$(mem)
c_district=$(bench_login "$cache/accounts.txt" command_center)
c_street=$(bench_login "$cache/accounts.txt" street_staff)
c_community=$(bench_login "$cache/accounts.txt" community_staff)
[ -n "$c_district" ] && [ -n "$c_street" ] && [ -n "$c_community" ] || { say "could not sign in"; exit 1; }

# the lists: GET routes without a path parameter, outside the resident's
# /me, the public pages, event streams and files
curl -s "$base/api/v1/openapi.json" >"$work/openapi.json"
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const [p, ops] of Object.entries(d.paths))
  if (ops.get && !p.includes("{") && !/^\/api\/v1\/(me|public)(\/|$)/.test(p) &&
      !/(stream|\.xlsx|\.svg|\.png|\.json|verify)$/.test(p)) console.log(p);
' "$work/openapi.json" | sort | grep -E -- "${BENCH_LARGE_LISTS:-.}" >"$work/routes.txt"

# URL COOKIE: "status cold_ms warm_ms": the first request (the first of this
# list and user since the start; its body in $work/body), then the median
# of 5 more over one kept-alive connection (of 2 when the first took over a
# second: the figure is then far past the goal and more would only take time)
page() {
    curl -s -m 120 -H "Cookie: $2" -o "$work/body" -w '%{http_code} %{time_total}\n' "$1" >"$work/t.txt" || true
    _n=5
    awk '{ exit !($2 > 1) }' "$work/t.txt" && _n=2
    _urls=""
    for _k in $(seq 1 $_n); do _urls="$_urls -o /dev/null $1"; done
    # shellcheck disable=SC2086
    curl -s -m 300 -H "Cookie: $2" -w '%{http_code} %{time_total}\n' $_urls >>"$work/t.txt" || true
    _warm=$(tail -n +2 "$work/t.txt" | awk '{ print $2 * 1000 }' | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }')
    awk -v w="$_warm" 'NR == 1 { printf "%s %.1f %s", $1, $2 * 1000, w }' "$work/t.txt"
}
: >"$work/lists.txt"
over=0 lists=0
while read -r route; do
    set -- $(page "$base$route" "$c_district")
    st=$1
    if [ "$st" != 200 ]; then
        [ "$st" = 400 ] && echo "$route needs-parameters" >>"$work/skipped.txt"
        continue
    fi
    grep -q '"items":\[' "$work/body" || continue
    total=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$work/body" | head -1)
    line="$route ${total:--} $2 $3"
    worst=$3
    for c in "$c_street" "$c_community"; do
        set -- $(page "$base$route" "$c")
        if [ "$1" = 200 ]; then
            line="$line $2 $3"
            worst=$(awk -v a="$worst" -v b="$3" 'BEGIN { print (b > a) ? b : a }')
        else
            line="$line ($1) -"
        fi
    done
    lists=$((lists + 1))
    awk -v w="$worst" -v g="$PAGE_GOAL" 'BEGIN { exit !(w > g) }' && over=$((over + 1))
    echo "$line" >>"$work/lists.txt"
done <"$work/routes.txt"
mem_warm=$(mem)

# the burst: look-ups by id number (the city's people, as bench_trace_fill
# numbers them) and pages deep into the two biggest lists
awk -v n="$BURST" -v p="$PERSONS" 'BEGIN {
  split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", wt, " "); ck = "10X98765432"
  for (k = 0; k < n; k++) {
    i = int(k * (p / n)); d = 1 + i % 28; m = 1 + int(i / 28) % 12; y = 1950 + int(i / 336) % 60
    s = sprintf("440305%04d%02d%02d%03d", y, m, d, int(i / 20160) % 1000); sum = 0
    for (j = 1; j <= 17; j++) sum += substr(s, j, 1) * wt[j]
    print "url = \"'"$base"'/api/v1/persons?id_number=" s substr(ck, sum % 11 + 1, 1) "\""
    print "output = /dev/null"
  } }' >"$work/lookups.cfg"
t0=$(mono)
curl -s -H "Cookie: $c_district" -K "$work/lookups.cfg" -w '%{http_code}\n' >"$work/lookups.txt"
t1=$(mono)
found=$(grep -c '^200$' "$work/lookups.txt" || true)
lookup_ms=$(calc "($t1 - $t0) * 1000 / $BURST")
: >"$work/scans.cfg"
for k in $(seq 1 $((PAGES / 2))); do
    printf 'url = "%s"\noutput = /dev/null\nurl = "%s"\noutput = /dev/null\n' \
        "$base/api/v1/persons?page=$((k * 7 % 200 + 2))" "$base/api/v1/access-records?page=$((k * 3 % 200 + 2))" >>"$work/scans.cfg"
done
t0=$(mono)
[ ! -s "$work/scans.cfg" ] || curl -s -H "Cookie: $c_district" -K "$work/scans.cfg" -w '%{http_code}\n' >"$work/scans.txt"
t1=$(mono)
scans_ok=$(cat "$work/scans.txt" 2>/dev/null | grep -c '^200$' || true)
scan_ms=-
[ "$PAGES" = 0 ] || scan_ms=$(calc "($t1 - $t0) * 1000 / $PAGES")
mem_burst=$(mem)

# ---- the report ---------------------------------------------------------------------------------
set -- $mem_start
m1="$1 / $2 / $3"
set -- $mem_warm
m2="$1 / $2 / $3"
set -- $mem_burst
m3="$1 / $2 / $3" hwm=$2
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "== at $PERSONS people ($driver), $records access records, database $db_mb MB, load $load -> $load_end"
    echo "  memory (VmRSS / VmHWM / RssAnon MB; goal VmHWM <= $MEM_GOAL):"
    echo "    after start $m1; after the first pages $m2; after the burst $m3"
    echo "  burst: $BURST look-ups by id number ($found found) ${lookup_ms} ms each;" \
        "$PAGES deep pages of persons and access records ($scans_ok answered) ${scan_ms} ms each"
    echo "  first pages, ms cold / warm (goal warm <= $PAGE_GOAL); $lists lists, $over over the goal:"
    printf '    %-40s %10s %17s %17s %17s\n' list total district street community
    awk '{ printf "    %-40s %10s %8s / %6s %8s / %6s %8s / %6s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$work/lists.txt"
    [ ! -s "$work/skipped.txt" ] || echo "  not measured (need parameters): $(cut -d' ' -f1 "$work/skipped.txt" | tr '\n' ' ')"
} >&2
if [ "${BENCH_LARGE_RECORD:-0}" = 1 ]; then
    label=${BENCH_LARGE_LABEL:-$driver}
    {
        printf '| %s | %s | %s | %s | memory MB (VmRSS / VmHWM / RssAnon) | start %s | first pages %s | burst %s |\n' \
            "$(date -u +%Y-%m-%d)" "$label" "$PERSONS" "$load" "$m1" "$m2" "$m3"
        awk -v d="$(date -u +%Y-%m-%d)" -v l="$label" -v p="$PERSONS" -v ld="$load" \
            '{ printf "| %s | %s | %s | %s | %s (%s) | %s / %s | %s / %s | %s / %s |\n", d, l, p, ld, $1, $2, $3, $4, $5, $6, $7, $8 }' "$work/lists.txt"
    } >"$work/rows.txt"
    sed -i "/^<!-- large runs end -->/e cat $work/rows.txt" docs/benchmarks.md
fi
echo "large persons=$PERSONS driver=$driver hwm_mb=$hwm lists=$lists over=$over lookup_ms=$lookup_ms scan_ms=$scan_ms"

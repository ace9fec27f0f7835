#!/bin/sh
# make bench: person look-up by id number over HTTP against a database of
# BENCH_PERSONS people (default 1,000,000), as a ratio to nginx serving a
# static file of the same size, measured in the same run with the same wrk
# settings. Also prints the demo build time and the server's resident memory,
# runs the staff scan and the health-code recompute, then the case workflow
# (bench/cases.sh: Excel import, xlsx export, a custom report of every person
# exported by a job, leaders' statistics), the batch
# look-up of nucleic-acid results (bench/lookup.sh), the testing statistics
# (bench/natstats.sh), the export files kept in the database
# (bench/export-store.mjs, BENCH_EXPORT_STORE_ROWS, default 100,000), and
# appends the figures to docs/benchmarks.md; then the leaders' dashboard in
# a city of its own (bench/stats.sh: BENCH_STATS_PERSONS people, default
# 1,000,000) and last contact tracing in another (bench/trace.sh: 10,000,000
# people, 100,000,000 passages), which append their rows themselves.
set -eu
BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
PERSONS=${BENCH_PERSONS:-1000000}
BENCH_IMPORT_ROWS_SHOWN=${BENCH_IMPORT_ROWS:-100000}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-64}
work=$(mktemp -d /tmp/fk-bench.XXXXXX)
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"
unset FK_DB

. bench/lib.sh # freeport, bench_serve, bench_login
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

"$BIN" init >/dev/null
echo "bench: building the demo city with $PERSONS people..."
t0=$(date +%s.%N)
"$BIN" demo --persons "$PERSONS" --seed 1 --sample-ids "$work/ids.txt" >"$work/accounts.txt"
t1=$(date +%s.%N)
demo_s=$(calc "$t1 - $t0" 1)
echo "bench: demo build took ${demo_s}s"

# the bench signs in as one account and looks up people by id number as fast
# as it can: far beyond the hourly exact-search limit (docs/security.md §2),
# which would answer 429. The counter itself is still hit on every request.
bench_serve "$BIN" "$work/serve.log" FK_EXACT_SEARCH_LIMIT=1000000

# sign in as the demo command centre account (no second factor)
cookie=$(bench_login "$work/accounts.txt" command_center)
[ -n "$cookie" ] || { echo "bench: could not sign in" >&2; cat "$work/serve.log" >&2; exit 1; }

first=$(head -n 1 "$work/ids.txt")
curl -s -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/persons?id_number=$first" >"$work/reply.json"
size=$(wc -c <"$work/reply.json")
grep -q '"total":1' "$work/reply.json" || { echo "bench: look-up did not find the person" >&2; cat "$work/reply.json" >&2; exit 1; }

# wrk picks a random id number from the sample for every request
{
    echo 'local ids = {}'
    echo "for line in io.lines(\"$work/ids.txt\") do ids[#ids + 1] = line end"
    echo 'request = function()'
    echo '  return wrk.format("GET", "/api/v1/persons?id_number=" .. ids[math.random(#ids)])'
    echo 'end'
} >"$work/lookup.lua"

parse() { # wrk output -> "rps p99_ms"
    rps=$(awk '/Requests\/sec/ {print $2}' "$1")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$1")
    echo "$rps $p99"
}

wrk -t2 -c"$CONNS" -d2s -H "Cookie: $cookie" -s "$work/lookup.lua" "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: $cookie" -s "$work/lookup.lua" \
    "http://127.0.0.1:$port" >"$work/fk.txt"
set -- $(parse "$work/fk.txt")
fk_rps=$1 fk_p99=$2
fk_load=$(cut -d' ' -f1-3 /proc/loadavg) # the machine is shared: the ratio is read beside it
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
errors=$(awk '/Non-2xx/ {print $NF}' "$work/fk.txt")

# nginx serving a static file of the same size, same wrk settings
mkdir -p "$work/www" "$work/nginx"
head -c "$size" /dev/zero | tr '\0' 'x' >"$work/www/reply.json"
bench_nginx_static "$work"
sleep 0.5
wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$nport/reply.json" >/dev/null
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$nport/reply.json" >"$work/nginx.txt"
set -- $(parse "$work/nginx.txt")
ng_rps=$1 ng_p99=$2

# The staff scan path: verify the resident's token, look up the code, apply
# the venue's policy and append the durable access record (group commit),
# for a random token of a sample of 1,000 people on every request.
cp_region=$(awk '$1=="checkpoint_staff" {print $4}' "$work/accounts.txt")
cp_cookie=$(bench_login "$work/accounts.txt" checkpoint_staff)
api() { # METHOD PATH [BODY] as the command centre
    curl -s -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' ${3:+-d "$3"} \
        "http://127.0.0.1:$port$2"
}
jsonfield() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=process.argv[1].split(".").reduce((o,k)=>o&&o[k],j);console.log(v??"")})' "$1"; }
place=$(api GET "/api/v1/places?region_code=$cp_region&page_size=1" | jsonfield items.0.id)
[ -n "$place" ] || place=$(api POST /api/v1/places "{\"name\":\"压测小区\",\"kind\":\"community\",\"region_code\":\"$cp_region\"}" | jsonfield id)
venue=$(api POST /api/v1/venues "{\"name\":\"压测出入口\",\"kind\":\"community_gate\",\"place_id\":\"$place\"}" | jsonfield id)
[ -n "$venue" ] && [ -n "$cp_cookie" ] || { echo "bench: no venue or checkpoint session for the scan" >&2; exit 1; }
"$BIN" code tokens --sample 1000 --minutes 30 >"$work/tokens.txt" 2>/dev/null
curl -s -H "Cookie: $cp_cookie" -H 'Content-Type: application/json' \
    -d "{\"venue_id\":\"$venue\",\"token\":\"$(head -n 1 "$work/tokens.txt")\",\"direction\":\"in\"}" \
    "http://127.0.0.1:$port/api/v1/scans" >"$work/scan.json"
grep -q '"verdict":"pass"' "$work/scan.json" || { echo "bench: the scan did not pass" >&2; cat "$work/scan.json" >&2; exit 1; }
scan_size=$(wc -c <"$work/scan.json")
{
    echo 'local t = {}'
    echo "for line in io.lines(\"$work/tokens.txt\") do t[#t + 1] = line end"
    echo 'request = function()'
    # headers given to wrk.format replace wrk.headers: the cookie goes here too
    echo "  return wrk.format(\"POST\", \"/api/v1/scans\", {[\"Content-Type\"] = \"application/json\", [\"Cookie\"] = \"$cp_cookie\"}, '{\"venue_id\":\"$venue\",\"direction\":\"in\",\"token\":\"' .. t[math.random(#t)] .. '\"}')"
    echo 'end'
} >"$work/scan.lua"
wrk -t2 -c"$CONNS" -d2s -H "Cookie: $cp_cookie" -s "$work/scan.lua" "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: $cp_cookie" -s "$work/scan.lua" \
    "http://127.0.0.1:$port" >"$work/scan.txt"
set -- $(parse "$work/scan.txt")
scan_rps=$1 scan_p99=$2
scan_errors=$(awk '/Non-2xx/ {print $NF}' "$work/scan.txt")
if [ -n "$scan_errors" ]; then # show what a refused scan said
    curl -s -H "Cookie: $cp_cookie" -H 'Content-Type: application/json' \
        -d "{\"venue_id\":\"$venue\",\"token\":\"$(tail -n 1 "$work/tokens.txt")\",\"direction\":\"in\"}" \
        "http://127.0.0.1:$port/api/v1/scans" >&2
    echo >&2
fi

# the health-code recomputation a rule edit queues, on the same database
set -- $(node bench/recompute.mjs "http://127.0.0.1:$port" "$cookie")
rc_people=$1 rc_on_changed=$2 rc_on_s=$3 rc_off_changed=$4 rc_off_s=$5

# the nginx reference for the scan: a static file of the scan reply's size
head -c "$scan_size" /dev/zero | tr '\0' 'x' >"$work/www/scan.json"
wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$nport/scan.json" >/dev/null
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$nport/scan.json" >"$work/nginx-scan.txt"
set -- $(parse "$work/nginx-scan.txt")
ngs_rps=$1 ngs_p99=$2
scan_ratio=$(calc "$scan_rps / $ngs_rps" 3)

# the case workflow last: its import and bulk observations change the city
cases=$(sh bench/cases.sh "$BIN" "$port" "$cookie" "$srv" "$work" | sed -n 's/^cases //p' || true)
[ -n "$cases" ] || { echo "bench: the case workflow bench failed" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
for kv in $cases; do eval "case_${kv%%=*}=\${kv#*=}"; done

# the batch look-up of nucleic-acid results (bench/lookup.sh): its own registry and results
lookup=$(sh bench/lookup.sh "$BIN" "$port" "$cookie" "$srv" "$work" | sed -n 's/^lookup //p' || true)
[ -n "$lookup" ] || { echo "bench: the batch look-up bench failed" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
for kv in $lookup; do eval "lookup_${kv%%=*}=\${kv#*=}"; done

# the testing statistics (bench/natstats.sh): 10,000,000 samples and their counters
natstats=$(sh bench/natstats.sh "$BIN" "$port" "$cookie" "$srv" "$work" | sed -n 's/^natstats //p' || true)
[ -n "$natstats" ] || { echo "bench: the testing statistics bench failed" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
for kv in $natstats; do eval "natstats_${kv%%=*}=\${kv#*=}"; done

ratio=$(calc "$fk_rps / $ng_rps" 3)
# a run with refused requests measured something else: say so, record nothing
if [ "${errors:-0}" != 0 ] || [ "${scan_errors:-0}" != 0 ]; then
    echo "bench: $errors look-ups and $scan_errors scans were refused (non-2xx); not recorded" >&2
    norecord=1
fi
rss_mb=$(calc "$rss_kb / 1024" 1)
date=$(date -u +%Y-%m-%d)
cat <<OUT

== person look-up by id number (GET /api/v1/persons?id_number=), $PERSONS people, reply $size bytes
fangkong   ${fk_rps} req/s   p99 ${fk_p99} ms   non-2xx: ${errors:-0}
nginx      ${ng_rps} req/s   p99 ${ng_p99} ms   (static file of the same size)
ratio      ${ratio}   (goal >= 0.5; load average ${fk_load}; builds compared: bench/lookup-hot.sh)
memory     ${rss_mb} MB resident after the run (goal < 200 MB)
demo       ${demo_s} s to build $PERSONS people (goal < 300 s)

== staff scan (POST /api/v1/scans: token, code, policy, durable access record), reply $scan_size bytes
fangkong   ${scan_rps} scans/s   p99 ${scan_p99} ms   non-2xx: ${scan_errors:-0}   (goal >= 20000/s)
nginx      ${ngs_rps} req/s   p99 ${ngs_p99} ms   (static file of the same size)
ratio      ${scan_ratio}   (goal >= 0.5)

== health codes recomputed after a rule edit (background job), $rc_people people
rule on    ${rc_on_s} s, ${rc_on_changed} codes changed (goal < 10 s)
rule off   ${rc_off_s} s, ${rc_off_changed} codes changed
OUT
[ -n "${norecord:-}" ] && exit 1
# the case workflow's row goes into its own table (docs/benchmarks.md)
row=$(printf '| %s | %s | %s | %s | %s (CPU %s) / %s | %s | %s | %s | %s | %s / %s | %s | %s |' "$date" \
    "$case_people" "$case_workflow" "$BENCH_IMPORT_ROWS_SHOWN" "$case_import_s" "$case_import_cpu_s" "$case_csv_s" \
    "$case_import_ratio" "$case_export_rows" "$case_export_s" "$case_export_rss_mb" \
    "$case_summary_ms" "$case_series_ms" "$case_me_ms" "$case_stats_ratio")
sed -i "/^<!-- case workflow runs end -->/i\\$row" docs/benchmarks.md
# the custom report's export (bench/cases.sh section report), its own table
row=$(printf '| %s | %s | %s | %s | %s | %s |' "$date" "$case_report_rows" "$case_report_s" \
    "$case_report_ref_s" "$(calc "$case_report_s / $case_report_ref_s" 1)" "$case_report_anon_mb")
sed -i "/^<!-- report export runs end -->/i\\$row" docs/benchmarks.md
# the batch look-up's row, in its table
row=$(printf '| %s | %s | %s | %s | %s (CPU %s) | %s / %s / %s | %s | %s | %s | %s |' "$date" \
    "$lookup_rows" "$lookup_persons" "$lookup_results" "$lookup_batch_s" "$lookup_cpu_s" \
    "$lookup_read_ms" "$lookup_lookup_ms" "$lookup_write_ms" "$lookup_rss_mb" "$lookup_seed_ratio" \
    "$lookup_ref_s" "$lookup_ratio")
sed -i "/^<!-- lookup runs end -->/i\\$row" docs/benchmarks.md
# the testing statistics' row, in its table
row=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$date" "$natstats_samples" \
    "$natstats_ref_ms" "$natstats_streets_ms" "$natstats_districts_ms" "$natstats_industries_ms" \
    "$natstats_bureau_ms" "$natstats_scans_ms" "$natstats_fill_s / $natstats_counters_s")
sed -i "/^<!-- natstats runs end -->/i\\$row" docs/benchmarks.md
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s |\n' "$date" "$PERSONS" \
    "$fk_rps" "$fk_p99" "$ng_rps" "$ratio" "$rss_mb" "$demo_s" "$rc_on_s" "$rc_off_s" \
    "$scan_rps" "$scan_p99" "$scan_ratio" >>docs/benchmarks.md
# the public page against nginx (bench/publish.mjs) and the monitoring rules'
# evaluation (bench/monitor.sh), each with its own city and server; the
# look-up's server stopped first, so they do not share the machine
kill "$srv" 2>/dev/null || true
srv=
pub=$(FK_BIN="$BIN" node bench/publish.mjs | sed -n 's/^publish //p')
[ -n "$pub" ] || { echo "bench: the public page bench failed" >&2; exit 1; }
for kv in $pub; do eval "pub_${kv%%=*}=\${kv#*=}"; done
row=$(printf '| %s | %s | %s | %s | %s | %s |' "$date" "$pub_nginx_rps" "$pub_public_rps" \
    "$pub_api_rps" "$pub_revalidate_rps" "$pub_public_ratio")
sed -i "/^<!-- public page runs end -->/i\\$row" docs/benchmarks.md
mon=$(sh bench/monitor.sh "$BIN" | sed -n 's/^monitor //p')
[ -n "$mon" ] || { echo "bench: the monitoring bench failed" >&2; exit 1; }
for kv in $mon; do eval "mon_${kv%%=*}=\${kv#*=}"; done
row=$(printf '| %s | %s | %s | %s | %s | %s | %s |' "$date" "$mon_breaches" "$mon_first_ms" \
    "$mon_run_ms" "$mon_me_ms" "$mon_ratio" "$mon_list_ms")
sed -i "/^<!-- monitor runs end -->/i\\$row" docs/benchmarks.md
# the data exchange (bench/exchange.mjs): signed batch writes from 32 callers
# against the staff API, and a signed no-op against /healthz
xch=$(FK_BIN="$BIN" node bench/exchange.mjs | sed -n 's/^exchange //p')
[ -n "$xch" ] || { echo "bench: the exchange bench failed" >&2; exit 1; }
for kv in $xch; do eval "xch_${kv%%=*}=\${kv#*=}"; done
row=$(printf '| %s | %s x %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$date" "$xch_callers" \
    "$xch_batch" "$xch_x_rps" "$xch_x_p99_ms" "$xch_staff_rps" "$xch_staff_p99_ms" \
    "$xch_write_ratio" "$xch_ping_rps" "$xch_health_rps" "$xch_verify_ratio")
sed -i "/^<!-- exchange runs end -->/i\\$row" docs/benchmarks.md
# 共享互认 at the gate (bench/share.mjs): a street's code scanned at another
# street's gate through the district, cold and cached, against a local scan
shr=$(FK_BIN="$BIN" node bench/share.mjs | sed -n 's/^share //p')
[ -n "$shr" ] || { echo "bench: the shared recognition bench failed" >&2; exit 1; }
for kv in $shr; do eval "shr_${kv%%=*}=\${kv#*=}"; done
row=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$date" "$shr_cold" \
    "$shr_local_p50_ms" "$shr_local_p99_ms" "$shr_cold_p50_ms" "$shr_cold_p99_ms" \
    "$shr_cached_p50_ms" "$shr_cached_p99_ms" "$shr_cold_ratio" "$shr_cached_ratio")
sed -i "/^<!-- share runs end -->/i\\$row" docs/benchmarks.md
# finished export files in the database (bench/export-store.mjs, its own city and
# server with one event loop): a job's cost of storing its file, and a first
# download on a server without it, fetched off the loop while /healthz is pinged
exs=$(FK_BIN="$BIN" BENCH_EXPORT_ROWS=${BENCH_EXPORT_STORE_ROWS:-100000} node bench/export-store.mjs |
    sed -n 's/^export_store //p')
[ -n "$exs" ] || { echo "bench: the export store bench failed" >&2; exit 1; }
for kv in $exs; do eval "exs_${kv%%=*}=\${kv#*=}"; done
row=$(printf '| %s (load %s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$date" "$exs_load" \
    "$exs_driver" "$exs_rows" "$exs_csv_bytes" "$exs_csv_store_share" "$exs_csv_local_ms" \
    "$exs_csv_fetch_ms" "$exs_csv_ping_fetch_max_ms" "$exs_xlsx_fetch_ms" "$exs_xlsx_ping_fetch_max_ms")
sed -i "/^<!-- export store runs end -->/i\\$row" docs/benchmarks.md
# zones drawn as polygons (bench/zones.sh, its own city of 100,000 people):
# the all-buildings polygon against the same people as a region zone
zon=$(sh bench/zones.sh "$BIN")
echo "$zon" | grep '^zones ' >&2
zon_all=$(echo "$zon" | sed -n 's/^zones drawn-all: .*preview=\([0-9.]*\)s create=\([0-9.]*\)s .* lift=\([0-9.]*\)s$/\1 \2 \3/p')
zon_ratio=$(echo "$zon" | sed -n 's/^zones ratio.*: //p')
[ -n "$zon_all" ] && [ -n "$zon_ratio" ] || { echo "bench: the zones bench failed" >&2; exit 1; }
set -- $zon_all
row=$(printf '| %s | %s | %s | %s | %s |' "$date" "$1" "$2" "$3" "$zon_ratio")
sed -i "/^<!-- zones runs end -->/i\\$row" docs/benchmarks.md
# the statistics dashboard at BENCH_STATS_PERSONS (bench/stats.sh, its own city)
BENCH_STATS_RECORD=1 sh bench/stats.sh "$BIN" | grep -q '^stats ' ||
    { echo "bench: the statistics dashboard bench failed" >&2; exit 1; }
# contact tracing last (bench/trace.sh): its own city, database and server; the
# look-up's server stopped first, so the two do not share the machine
BENCH_TRACE_RECORD=1 sh bench/trace.sh "$BIN" | grep -q '^trace ' ||
    { echo "bench: the contact-tracing bench failed" >&2; exit 1; }

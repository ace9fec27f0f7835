#!/bin/sh
# The staff scan alone (issue 15), for comparing builds and settings on a
# shared, loaded machine: a smaller city built once (SCAN_PERSONS, default
# 100,000), and for every run a fresh copy of its data folder, a server, the
# scan under wrk, then nginx serving a static file of the scan reply's size
# with the same wrk settings, interleaved: variant A, nginx, variant B,
# nginx, ... SCAN_RUNS times. Prints one line per measurement with the ratio
# to the nginx run that follows it and the load average, then the median
# ratio per variant.
#
#   sh bench/scan-hot.sh [BIN ...]
#
# Each BIN is measured once per entry of SCAN_ENVS (space-separated
# VAR=value settings joined by commas, "-" for none; default "-"), e.g.
#   SCAN_ENVS="- FK_ACCESS_JOURNAL=0" sh bench/scan-hot.sh build/fangkong
# compares the access journal with the group-commit path on one build.
# SCAN_PERF=PREFIX records the server's profile during each measured run
# (perf record -g at 499 Hz into PREFIX.N.data, N the measurement's number).
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- build/fangkong
PERSONS=${SCAN_PERSONS:-100000}
RUNS=${SCAN_RUNS:-3}
DURATION=${SCAN_DURATION:-8}
CONNS=${BENCH_CONNS:-64}
ENVS=${SCAN_ENVS:--}
work=$(mktemp -d /tmp/fk-scanhot.XXXXXX)
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
unset FK_DB
. bench/lib.sh # freeport, bench_serve, bench_login
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
parse() { awk '/Requests\/sec/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {print $NF}' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU time (clock ticks, user + system) of the processes given by pid; the
# machine is shared, so CPU per request is the steadier figure beside req/s
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0; done | awk '{s += $1} END {print s + 0}'; }
requests() { awk '/requests in/ {print $1}' "$1"; }
HZ=$(getconf CLK_TCK)
# microseconds of CPU per request: TICKS REQUESTS
us_per() { calc "$1 * 1000000 / $HZ / ($2 + 0.000001)" 0; }
nginx_workers() { echo "$(cat "$work/nginx.pid") $(ps -o pid= --ppid "$(cat "$work/nginx.pid")")"; }

# the city, its venue and tokens, once (the first binary builds it)
BIN1=$(readlink -f "$1")
export FK_DATA_DIR="$work/master"
"$BIN1" init >/dev/null 2>&1
echo "scan-hot: building a city of $PERSONS people..." >&2
"$BIN1" demo --persons "$PERSONS" --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
bench_serve "$BIN1" "$work/setup.log"
cookie=$(bench_login "$work/accounts.txt" command_center)
cp_region=$(awk '$1=="checkpoint_staff" {print $4}' "$work/accounts.txt")
api() { curl -s -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://127.0.0.1:$port$2"; }
jsonfield() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=process.argv[1].split(".").reduce((o,k)=>o&&o[k],j);console.log(v??"")})' "$1"; }
place=$(api GET "/api/v1/places?region_code=$cp_region&page_size=1" | jsonfield items.0.id)
[ -n "$place" ] || place=$(api POST /api/v1/places "{\"name\":\"压测小区\",\"kind\":\"community\",\"region_code\":\"$cp_region\"}" | jsonfield id)
venue=$(api POST /api/v1/venues "{\"name\":\"压测出入口\",\"kind\":\"community_gate\",\"place_id\":\"$place\"}" | jsonfield id)
[ -n "$venue" ] || { echo "scan-hot: no venue" >&2; exit 1; }
kill "$srv"
wait "$srv" 2>/dev/null || true
srv=
"$BIN1" code tokens --sample 1000 --minutes 60 >"$work/tokens.txt" 2>/dev/null

# nginx, started once; its file is written after the first scan reply
mkdir -p "$work/www" "$work/nginx"
bench_nginx_static "$work"

# one measurement of BIN with the settings ENV ("-" none): sets rps, bad (non-2xx), size
measure() {
    rm -rf "$work/run"
    cp -a "$work/master" "$work/run"
    export FK_DATA_DIR="$work/run"
    # shellcheck disable=SC2046
    bench_serve "$1" "$work/serve.log" $( [ "$2" = - ] || echo "$2" | tr ',' ' ')
    cp_cookie=$(bench_login "$work/accounts.txt" checkpoint_staff)
    [ -n "$cp_cookie" ] || { echo "scan-hot: no checkpoint session" >&2; cat "$work/serve.log" >&2; exit 1; }
    curl -s -H "Cookie: $cp_cookie" -H 'Content-Type: application/json' \
        -d "{\"venue_id\":\"$venue\",\"token\":\"$(head -n 1 "$work/tokens.txt")\",\"direction\":\"in\"}" \
        "http://127.0.0.1:$port/api/v1/scans" >"$work/scan.json"
    grep -q '"verdict":"pass"' "$work/scan.json" || { echo "scan-hot: the scan did not pass" >&2; cat "$work/scan.json" >&2; exit 1; }
    {
        echo 'local t = {}'
        echo "for line in io.lines(\"$work/tokens.txt\") do t[#t + 1] = line end"
        echo 'request = function()'
        echo "  return wrk.format(\"POST\", \"/api/v1/scans\", {[\"Content-Type\"] = \"application/json\", [\"Cookie\"] = \"$cp_cookie\"}, '{\"venue_id\":\"$venue\",\"direction\":\"in\",\"token\":\"' .. t[math.random(#t)] .. '\"}')"
        echo 'end'
    } >"$work/scan.lua"
    wrk -t2 -c"$CONNS" -d2s -s "$work/scan.lua" "http://127.0.0.1:$port" >/dev/null
    t0=$(ticks "$srv")
    perf_pid=
    if [ -n "${SCAN_PERF:-}" ]; then
        nperf=$((${nperf:-0} + 1))
        perf record -q -F 499 -g -o "$SCAN_PERF.$nperf.data" -p "$srv" -- sleep "$DURATION" 2>/dev/null &
        perf_pid=$!
    fi
    wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$work/scan.lua" "http://127.0.0.1:$port" >"$work/scan.txt"
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    cpu=$(us_per "$(($(ticks "$srv") - t0))" "$(requests "$work/scan.txt")")
    kill "$srv"
    wait "$srv" 2>/dev/null || true
    srv=
    rps=$(parse "$work/scan.txt") bad=$(non2xx "$work/scan.txt") size=$(wc -c <"$work/scan.json")
}

nginx_rps() {
    head -c "$1" /dev/zero | tr '\0' 'x' >"$work/www/scan.json"
    wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$nport/scan.json" >/dev/null
    t0=$(ticks $(nginx_workers))
    wrk -t2 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$nport/scan.json" >"$work/nginx.txt"
    ng=$(parse "$work/nginx.txt")
    ngcpu=$(us_per "$(($(ticks $(nginx_workers)) - t0))" "$(requests "$work/nginx.txt")")
}

printf '%-4s %-36s %9s %9s %6s %7s %7s %6s  %s\n' run variant scans/s nginx/s ratio us/scan us/ngx cpu-r load >&2
: >"$work/ratios"
i=1
while [ "$i" -le "$RUNS" ]; do
    for bin in "$@"; do
        for env in $ENVS; do
            la=$(load)
            measure "$(readlink -f "$bin")" "$env"
            nginx_rps "$size"
            ratio=$(calc "$rps / $ng" 3)
            cpur=$(calc "$ngcpu / ($cpu + 0.000001)" 3)
            label="$bin $env"
            [ -n "$bad" ] && label="$label (non-2xx $bad)"
            printf '%-4s %-36s %9s %9s %6s %7s %7s %6s  %s\n' "$i" "$label" "$rps" "$ng" "$ratio" "$cpu" "$ngcpu" "$cpur" "$la" >&2
            echo "$bin|$env|$ratio|$cpur" >>"$work/ratios"
        done
    done
    i=$((i + 1))
done
echo "medians per variant (ratio: scans/s over nginx req/s; cpu_ratio: nginx CPU per request over fangkong's):" >&2
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cut -d'|' -f1,2 "$work/ratios" | sort -u | while IFS='|' read -r b e; do
    m=$(grep -F "$b|$e|" "$work/ratios" | cut -d'|' -f3 | median)
    c=$(grep -F "$b|$e|" "$work/ratios" | cut -d'|' -f4 | median)
    echo "scan-hot $b $e median_ratio=$m median_cpu_ratio=$c"
done

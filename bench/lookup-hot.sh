#!/bin/sh
# The person look-up's quick harness (issue 15, docs/benchmarks.md "The
# look-up at half of nginx"): GET /api/v1/persons?id_number= against nginx
# serving a static file of the same size, in the same run, for one or more
# builds, interleaved.
#
#   sh bench/lookup-hot.sh BIN [BIN...]
#
# The city (BENCH_PERSONS people, default 200,000) is built once by the first
# binary into BENCH_CITY (default /tmp/fk-lookup-city-PERSONS) and copied
# fresh for every measurement, so no run reads a database another run wrote.
# Each round measures nginx, then every build in turn, then nginx again
# (BENCH_ROUNDS rounds, BENCH_DURATION seconds each, BENCH_CONNS
# connections); every line gives the ratio to the mean of the two nginx runs
# around it and the load average, because the machine is shared and figures
# move by ±20% from minute to minute: compare builds within one round only.
# Prints "lookup-hot BIN rps ratio load=L cpu_us/req=U audit_us/req=A" lines
# (U: the server's CPU time per request, all threads, which moves less than
# req/s on a busy machine; A: the audit writer thread's share of it).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BIN [BIN...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
PERSONS=${BENCH_PERSONS:-200000}
DURATION=${BENCH_DURATION:-8}
CONNS=${BENCH_CONNS:-64}
ROUNDS=${BENCH_ROUNDS:-2}
CITY=${BENCH_CITY:-/tmp/fk-lookup-city-$PERSONS}
work=$(mktemp -d /tmp/fk-lookup-hot.XXXXXX)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
. bench/lib.sh # freeport, bench_serve, bench_login
unset FK_DB
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
load() { cut -d' ' -f1 /proc/loadavg; }

if [ ! -f "$CITY/ids.txt" ]; then
    echo "lookup-hot: building a city of $PERSONS people in $CITY..." >&2
    rm -rf "$CITY"
    mkdir -p "$CITY"
    FK_DATA_DIR="$CITY/data" "$(readlink -f "$1")" init >/dev/null
    FK_DATA_DIR="$CITY/data" "$(readlink -f "$1")" demo --persons "$PERSONS" --seed 1 \
        --sample-ids "$CITY/ids.txt.tmp" >"$CITY/accounts.txt"
    mv "$CITY/ids.txt.tmp" "$CITY/ids.txt"
fi

bench_lookup_lua "$CITY" "$work/lookup.lua"
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
reqs() { awk '/requests in/ {print $1}' "$1"; }
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
audticks() { # the audit writer thread's
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm")" = fk-audit ] && awk '{print $14 + $15}' "$t/stat" && return
    done
    echo 0
}

# one build: a fresh copy of the city, the server, a session, one checked
# reply (its size for nginx), warm-up and the measured run; prints req/s
measure() {
    rm -rf "$work/data"
    cp -r "$CITY/data" "$work/data"
    FK_DATA_DIR="$work/data" bench_serve "$1" "$work/serve.log" FK_EXACT_SEARCH_LIMIT=1000000
    cookie=$(bench_login "$CITY/accounts.txt" command_center)
    [ -n "$cookie" ] || { echo "lookup-hot: could not sign in" >&2; cat "$work/serve.log" >&2; exit 1; }
    curl -s -H "Cookie: $cookie" \
        "http://127.0.0.1:$port/api/v1/persons?id_number=$(head -n 1 "$CITY/ids.txt")" >"$work/reply.json"
    grep -q '"total":1' "$work/reply.json" ||
        { echo "lookup-hot: the look-up found nobody" >&2; cat "$work/reply.json" >&2; exit 1; }
    wrk -t2 -c"$CONNS" -d2s -H "Cookie: $cookie" -s "$work/lookup.lua" "http://127.0.0.1:$port" >/dev/null
    c0=$(cputicks "$srv") a0=$(audticks "$srv")
    wrk -t2 -c"$CONNS" -d"${DURATION}s" -H "Cookie: $cookie" -s "$work/lookup.lua" \
        "http://127.0.0.1:$port" >"$work/fk.txt"
    c1=$(cputicks "$srv") a1=$(audticks "$srv")
    ! grep -q Non-2xx "$work/fk.txt" ||
        { echo "lookup-hot: refused look-ups" >&2; cat "$work/fk.txt" >&2; exit 1; }
    kill "$srv"
    wait "$srv" 2>/dev/null || true
    srv=
    # the server's CPU time per request (user + system, all threads): on a
    # shared machine it moves far less than req/s does
    n=$(reqs "$work/fk.txt") hz=$(getconf CLK_TCK)
    echo "$(rps "$work/fk.txt")/$(calc "($c1 - $c0) * 1000000 / $hz / $n" 1),$(calc "($a1 - $a0) * 1000000 / $hz / $n" 1)"
}

nginx_rps() {
    wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$nport/reply.json" >/dev/null
    wrk -t2 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$nport/reply.json" >"$work/ng.txt"
    rps "$work/ng.txt"
}

# the reply's size comes from the first build's first reply
first=$(measure "$(readlink -f "$1")")
size=$(wc -c <"$work/reply.json")
echo "lookup-hot: $PERSONS people, reply $size bytes, $CONNS connections, ${DURATION}s runs" >&2
mkdir -p "$work/www" "$work/nginx"
head -c "$size" /dev/zero | tr '\0' 'x' >"$work/www/reply.json"
bench_nginx_static "$work"
sleep 0.3

r=1
while [ "$r" -le "$ROUNDS" ]; do
    ng0=$(nginx_rps)
    results=
    for b in "$@"; do
        v=$(measure "$(readlink -f "$b")")
        results="$results $b=$v@$(load)"
    done
    ng1=$(nginx_rps)
    ng=$(calc "($ng0 + $ng1) / 2" 0)
    echo "round $r: nginx $ng0 / $ng1 req/s (load $(load))"
    for kv in $results; do
        b=${kv%%=*}
        v=${kv#*=}
        l=${v#*@}
        v=${v%@*}
        us=${v#*/}
        v=${v%/*}
        echo "lookup-hot $b $v $(calc "$v / $ng" 3) load=$l cpu_us/req=${us%,*} audit_us/req=${us#*,}"
    done
    r=$((r + 1))
done

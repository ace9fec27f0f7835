#!/bin/sh
# System calls per look-up (issue 15, docs/benchmarks.md "The reply in one
# buffer; the epoll change list again"): `strace -c -f` attached to the
# server over a short wrk run of GET /api/v1/persons?id_number= on a copy
# of bench/lookup-hot.sh's city (build it first with that script), the
# calls of each kind divided by the requests served.
#
#   sh bench/lookup-syscalls.sh BIN [VAR=value...]
#
# The VAR=value settings go to the server, e.g. EVENT_EPOLL_USE_CHANGELIST=1
# (libevent's epoll change list). Counts, not timings: strace slows the
# server, so req/s here mean nothing, but the calls a request makes do not
# depend on the load.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BIN [VAR=value...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
. bench/lib.sh # freeport, bench_serve, bench_login
unset FK_DB
BIN=$(readlink -f "$1")
shift
PERSONS=${BENCH_PERSONS:-200000}
CITY=${BENCH_CITY:-/tmp/fk-lookup-city-$PERSONS}
[ -f "$CITY/ids.txt" ] || { echo "no city in $CITY: run bench/lookup-hot.sh first" >&2; exit 1; }
work=$(mktemp -d /tmp/fk-lookup-sys.XXXXXX)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cp -r "$CITY/data" "$work/data"
FK_DATA_DIR="$work/data" bench_serve "$BIN" "$work/serve.log" FK_EXACT_SEARCH_LIMIT=1000000 "$@"
cookie=$(bench_login "$CITY/accounts.txt" command_center)
[ -n "$cookie" ] || { echo "lookup-syscalls: could not sign in" >&2; exit 1; }
bench_lookup_lua "$CITY" "$work/lookup.lua"
wrk -t2 -c64 -d2s -H "Cookie: $cookie" -s "$work/lookup.lua" "http://127.0.0.1:$port" >/dev/null
strace -c -f -p "$srv" -o "$work/strace.txt" 2>/dev/null &
st=$!
sleep 1
wrk -t2 -c64 -d5s -H "Cookie: $cookie" -s "$work/lookup.lua" "http://127.0.0.1:$port" >"$work/wrk.txt"
kill -INT "$st"
wait "$st" 2>/dev/null || true
n=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
! grep -q Non-2xx "$work/wrk.txt" || { echo "lookup-syscalls: refused look-ups" >&2; exit 1; }
echo "lookup-syscalls $BIN $* requests=$n"
# strace -c's table: % time, seconds, usecs/call, calls, [errors], syscall
awk -v n="$n" '$NF != "total" && $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {
    c[$NF] = $4; t += $4 }
    END { for (k in c) printf "  %-16s %6.2f per request\n", k, c[k] / n
          printf "  %-16s %6.2f per request\n", "all", t / n }' "$work/strace.txt" |
    sort -k2 -rn | head -14

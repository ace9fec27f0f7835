#!/bin/sh
# Zones drawn as polygons (docs/zones.md "Performance"): a demo city of
# BENCH_PERSONS people (default 100,000; 1,280 buildings with centres), the
# server on it, and bench/zones.mjs: preview, create and lift of a polygon
# over a quarter and over all of the buildings, and the same people as a
# region zone for reference. SQLite by default; run under
# scripts/with-postgres.sh for PostgreSQL (FK_DB set).
#   bench/zones.sh [BIN]
set -eu
BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
PERSONS=${BENCH_PERSONS:-100000}
work=$(mktemp -d /tmp/fk-bench-zones.XXXXXX)
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"
. bench/lib.sh # freeport, bench_serve, bench_login

"$BIN" init >/dev/null
echo "bench: building the demo city with $PERSONS people..."
"$BIN" demo --persons "$PERSONS" --seed 1 >"$work/accounts.txt"
bench_serve "$BIN" "$work/serve.log" FK_CODE_SWEEP=0
cookie=$(bench_login "$work/accounts.txt" command_center)
district=$(awk '$1=="command_center" {print $4}' "$work/accounts.txt")
node bench/zones.mjs "http://127.0.0.1:$port" "$cookie" "$district"

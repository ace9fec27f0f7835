#!/bin/sh
# make bench-scale (also the last part of `make bench`): the person look-up,
# the staff scan and the testing site's sample through nginx with one and then two `fangkong serve` on
# one PostgreSQL, on this machine, with PostgreSQL durable (fsync and
# synchronous_commit on). Besides requests per second and p99 it measures
# what each request costs in CPU, per process kind (fangkong, nginx,
# PostgreSQL), from /proc before and after each run: the inputs of the
# city model in docs/scaling.md. Appends a row per run to docs/benchmarks.md
# ("Scale-out").
#
#   scripts/with-postgres.sh bench/scale.sh build/fangkong
#
# SCALE_PERSONS people (default 20,000: the demo on PostgreSQL writes its
# week row by row); BENCH_DURATION seconds per run (default 10).
set -eu
BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
[ -n "${FK_DB:-}" ] || { echo "bench/scale.sh: run under scripts/with-postgres.sh" >&2; exit 2; }
PERSONS=${SCALE_PERSONS:-20000}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-64}
work=$(mktemp -d /tmp/fk-scale.XXXXXX)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"

. bench/lib.sh # freeport, bench_login
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
parse() { # wrk output -> "rps p99_ms"
    rps=$(awk '/Requests\/sec/ {print $2}' "$1")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$1")
    echo "$rps $p99"
}

# durable PostgreSQL: with-postgres.sh starts it with fsync off for the tests
psql -q -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null

"$BIN" init >/dev/null
echo "bench-scale: building the demo city with $PERSONS people on PostgreSQL..."
"$BIN" demo --persons "$PERSONS" --seed 1 --sample-ids "$work/ids.txt" >"$work/accounts.txt"
"$BIN" code tokens --sample 1000 --minutes 60 >"$work/tokens.txt" 2>/dev/null

# CPU seconds (utime + stime, all threads) of every process whose command is
# $1, from /proc (ps rounds to whole seconds)
HZ=$(getconf CLK_TCK)
ticks() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v c="($1)" -v hz="$HZ" \
        '{ i = index($0, ") "); split(substr($0, i + 2), f, " "); if (substr($0, index($0, "("), i - index($0, "(") + 1) == c) t += f[12] + f[13] } END { printf "%.2f", t / hz }'
}

# The servers: $1 of them, each on its own port and node number
serve_n() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    pids= ports=
    i=0
    while [ "$i" -lt "$1" ]; do
        i=$((i + 1))
        p=$(freeport)
        FK_NODE=$((900 + i)) FK_EXACT_SEARCH_LIMIT=1000000 FK_IDLE_TIMEOUT=900 \
            "$BIN" serve --port "$p" 2>"$work/serve$i.log" &
        pids="$pids $!" ports="$ports $p"
        for _i in $(seq 1 300); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
        curl -sf "http://127.0.0.1:$p/healthz" >/dev/null || { echo "bench-scale: server $i did not start:" >&2; tail -n 5 "$work/serve$i.log" >&2; exit 1; }
    done
    # nginx in front, one upstream per server, keep-alive to them
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null && sleep 0.5
    mkdir -p "$work/nginx"
    nport=$(freeport)
    {
        echo "worker_processes 2; pid $work/nginx.pid; error_log $work/nginx/error.log;"
        echo "events { worker_connections 4096; }"
        echo "http { access_log off;"
        echo "  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;"
        echo "  fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;"
        echo "  upstream fk { keepalive 128;"
        for p in $ports; do echo "    server 127.0.0.1:$p;"; done
        echo "  }"
        echo "  server { listen 127.0.0.1:$nport;"
        echo "    location / { proxy_pass http://fk; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
        echo "  }"
        echo "}"
    } >"$work/nginx.conf"
    nginx -c "$work/nginx.conf" -p "$work"
    sleep 0.3
    port=$nport # bench_login signs in through nginx
}

# run NAME SCRIPT COOKIE: wrk through nginx; prints "rps p99 fk_ms nginx_ms pg_ms
# wal_bytes db_bytes" (CPU milliseconds per request of each process kind, and
# the WAL and the database's growth per request in bytes)
pgnum() { psql -Atc "$1"; }
run() {
    wrk -t2 -c"$CONNS" -d2s -H "Cookie: $3" -s "$2" "http://127.0.0.1:$nport" >/dev/null
    f0=$(ticks fangkong) n0=$(ticks nginx) g0=$(ticks postgres)
    w0=$(pgnum "SELECT wal_bytes FROM pg_stat_wal") d0=$(pgnum "SELECT pg_database_size(current_database())")
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Cookie: $3" -s "$2" "http://127.0.0.1:$nport" >"$work/$1.txt"
    f1=$(ticks fangkong) n1=$(ticks nginx) g1=$(ticks postgres)
    w1=$(pgnum "SELECT wal_bytes FROM pg_stat_wal") d1=$(pgnum "SELECT pg_database_size(current_database())")
    if grep -q Non-2xx "$work/$1.txt"; then
        echo "bench-scale: $1 had errors:" >&2
        cat "$work/$1.txt" >&2
        exit 1
    fi
    set -- $(parse "$work/$1.txt")
    reqs=$(calc "$1 * $DURATION" 0)
    echo "$1 $2 $(calc "($f1 - $f0) * 1000 / $reqs" 3) $(calc "($n1 - $n0) * 1000 / $reqs" 3) $(calc "($g1 - $g0) * 1000 / $reqs" 3)" \
        "$(calc "($w1 - $w0) / $reqs" 0) $(calc "($d1 - $d0) / $reqs" 0)"
}

{
    echo 'local ids = {}'
    echo "for line in io.lines(\"$work/ids.txt\") do ids[#ids + 1] = line end"
    echo 'request = function()'
    echo '  return wrk.format("GET", "/api/v1/persons?id_number=" .. ids[math.random(#ids)])'
    echo 'end'
} >"$work/lookup.lua"

date=$(date -u +%Y-%m-%d)
for n in 1 2; do
    serve_n "$n"
    cookie=$(bench_login "$work/accounts.txt" command_center)
    cp_cookie=$(bench_login "$work/accounts.txt" checkpoint_staff)
    if [ -z "$cookie" ] || [ -z "$cp_cookie" ]; then
        echo "bench-scale: could not sign in through nginx:" >&2
        curl -s -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$nport/api/v1/auth/login" >&2
        tail -n 5 "$work/serve1.log" "$work/nginx/error.log" >&2
        exit 1
    fi
    if [ "$n" = 1 ]; then # the scan's venue, made once
        cp_region=$(awk '$1=="checkpoint_staff" {print $4}' "$work/accounts.txt")
        api() { curl -s -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://127.0.0.1:$nport$2"; }
        field() { sed -n "s/.*\"$1\":\"\\([0-9]*\\)\".*/\\1/p" | head -n 1; }
        place=$(api GET "/api/v1/places?region_code=$cp_region&page_size=1" | field id)
        [ -n "$place" ] || place=$(api POST /api/v1/places "{\"name\":\"压测小区\",\"kind\":\"community\",\"region_code\":\"$cp_region\"}" | field id)
        venue=$(api POST /api/v1/venues "{\"name\":\"压测出入口\",\"kind\":\"community_gate\",\"place_id\":\"$place\"}" | field id)
        [ -n "$venue" ] || { echo "bench-scale: no venue" >&2; exit 1; }
    fi
    {
        echo 'local t = {}'
        echo "for line in io.lines(\"$work/tokens.txt\") do t[#t + 1] = line end"
        echo 'request = function()'
        echo "  return wrk.format(\"POST\", \"/api/v1/scans\", {[\"Content-Type\"] = \"application/json\", [\"Cookie\"] = \"$cp_cookie\"}, '{\"venue_id\":\"$venue\",\"direction\":\"in\",\"token\":\"' .. t[math.random(#t)] .. '\"}')"
        echo 'end'
    } >"$work/scan.lua"
    # the testing site's sample (POST /api/v1/nat/samples): a sampler clocked in at a
    # site takes a code into a single tube (opened and sealed by the one sample) under a
    # barcode no earlier request used (os.time(), the thread, a counter). Not 10-in-1:
    # wrk's 64 connections would put a tube's samples in flight at once, and two servers
    # opening one tube answer 409 tube_used, which a real sampler never meets; a single
    # tube costs at least what a pooled sample does
    site_cookie=$(bench_login "$work/accounts.txt" site_staff)
    if [ "$n" = 1 ]; then
        sapi() { curl -s -X "$1" -H "Cookie: $site_cookie" -H 'Content-Type: application/json' ${3:+-d "$3"} "http://127.0.0.1:$nport$2"; }
        site=$(sapi GET "/api/v1/nat/sites?page_size=1" | field id)
        [ -n "$site" ] || { echo "bench-scale: no testing site" >&2; exit 1; }
        sapi POST "/api/v1/nat/sites/$site/clock-in" '{}' | grep -qE '"id"|already_clocked_in' ||
            { echo "bench-scale: the sampler could not clock in" >&2; exit 1; }
    fi
    {
        echo 'local t = {}'
        echo "for line in io.lines(\"$work/tokens.txt\") do t[#t + 1] = line end"
        echo 'local threads = 0'
        echo 'function setup(thread) threads = threads + 1; thread:set("tid", threads) end'
        echo 'local run, n = os.time(), 0'
        echo 'request = function()'
        echo '  n = n + 1'
        echo '  local tube = string.format("S%d-%d-%d", run, tid, n)'
        echo "  return wrk.format(\"POST\", \"/api/v1/nat/samples\", {[\"Content-Type\"] = \"application/json\", [\"Cookie\"] = \"$site_cookie\"}, '{\"code\":\"' .. t[math.random(#t)] .. '\",\"barcode\":\"' .. tube .. '\",\"tube_kind\":\"single\"}')"
        echo 'end'
    } >"$work/sample.lua"
    set -- $(run lookup$n "$work/lookup.lua" "$cookie")
    l_rps=$1 l_p99=$2 l_fk=$3 l_ng=$4 l_pg=$5 l_wal=$6
    set -- $(run scan$n "$work/scan.lua" "$cp_cookie")
    s_rps=$1 s_p99=$2 s_fk=$3 s_ng=$4 s_pg=$5 s_wal=$6 s_db=$7
    set -- $(run sample$n "$work/sample.lua" "$site_cookie")
    t_rps=$1 t_p99=$2 t_fk=$3 t_ng=$4 t_pg=$5 t_wal=$6 t_db=$7
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "bench-scale: $n server(s): look-up $l_rps/s p99 $l_p99 ms (CPU ms fangkong $l_fk, nginx $l_ng, PostgreSQL $l_pg; WAL $l_wal B); scan $s_rps/s p99 $s_p99 ms (CPU ms $s_fk, $s_ng, $s_pg; WAL $s_wal B, database +$s_db B); sample $t_rps/s p99 $t_p99 ms (CPU ms $t_fk, $t_ng, $t_pg; WAL $t_wal B, database +$t_db B); load $load"
    row=$(printf '| %s | %s | %s | %s | %s / %s | %s / %s / %s | %s | %s / %s | %s / %s / %s | %s / %s | %s / %s | %s / %s / %s | %s / %s | %s |' "$date" "$PERSONS" "$n" \
        "$(nproc)" "$l_rps" "$l_p99" "$l_fk" "$l_ng" "$l_pg" "$l_wal" "$s_rps" "$s_p99" "$s_fk" "$s_ng" "$s_pg" "$s_wal" "$s_db" \
        "$t_rps" "$t_p99" "$t_fk" "$t_ng" "$t_pg" "$t_wal" "$t_db" "$load")
    sed -i "/^<!-- scale runs end -->/i\\$row" docs/benchmarks.md
done

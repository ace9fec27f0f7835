#!/bin/bash
# scripts/drill.sh [REPORT_DIR]: the emergency drill (`make drill`; seed 004
# 五: plans are practised, not only written). On loopback, in a temporary
# folder of its own, it stages four failures one after the other and writes
# what happened to REPORT_DIR/YYYY-MM-DD.md (default docs/drills):
#   1. PostgreSQL killed (-m immediate) under a running server, then started;
#   2. a small disk filled (a tmpfs of 48 MiB as root; else the step says why
#      it did not run) under a SQLite server, then freed;
#   3. the MQTT broker killed under a subscribed server, then started;
#   4. a flood of wrong passwords against one account from one address.
# Each step records what was done, what the platform answered (statuses and
# measured times), what `fangkong doctor` said, and how it recovered. Not
# part of `make test`: it takes about a minute and needs PostgreSQL,
# mosquitto and curl (scripts/deps.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FK_BIN:-$ROOT/build/fangkong}
OUT=${1:-$ROOT/docs/drills}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PASSWORD='Drill-Pass-2026!'
[ -x "$BIN" ] || { echo "drill: $BIN not built (make build/fangkong)" >&2; exit 1; }
for t in curl mosquitto mosquitto_pub sqlite3 psql; do
    command -v "$t" >/dev/null || { echo "drill: $t missing (scripts/deps.sh)" >&2; exit 1; }
done

D=$(mktemp -d /tmp/fk-drill.XXXXXX)
chmod 755 "$D" # the PostgreSQL server user must reach its folder
PIDS=()
MOUNTED=
PGUSER_OS=
[ "$(id -u)" -eq 0 ] && PGUSER_OS=postgres

pg() {
    local prog=$1
    shift
    if [ -n "$PGUSER_OS" ]; then
        (cd "$D/pg" && runuser -u "$PGUSER_OS" -- "$PGBIN/$prog" "$@")
    else
        (cd "$D/pg" && "$PGBIN/$prog" "$@")
    fi
}
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -d "$D/pg/data" ]; then
        pg pg_ctl -D "$D/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$MOUNTED" ]; then umount "$MOUNTED" 2>/dev/null || true; fi
    rm -rf "$D"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# status code of a request: code URL [curl args…]
code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" || true; }
login() { # login URL USER PASSWORD [SOURCE_IP]: the status
    code "$1/api/v1/auth/login" ${4:+--interface "$4"} -H 'Content-Type: application/json' \
        -d "{\"username\":\"$2\",\"password\":\"$3\"}"
}
# wait_for CMD…: poll every 100 ms (up to 60 s) until CMD succeeds; prints the ms waited
wait_for() {
    local t0
    t0=$(now_ms)
    for _ in $(seq 1 600); do
        if "$@" >/dev/null 2>&1; then
            echo $(($(now_ms) - t0))
            return 0
        fi
        sleep 0.1
    done
    echo "timeout (60 s)"
}
healthy() { [ "$(code "$1/healthz")" = 200 ]; }
metric() { { curl -s -m 5 "$1/metrics" || true; } | awk -v n="$2" '$1 == n {print $2}'; }
pct() { awk -v r="$1" 'BEGIN { printf "%.1f %%", r * 100 }'; }
doctor_lines() { # the doctor's lines matching a pattern, as a Markdown quote
    env "${@:2}" "$BIN" doctor 2>/dev/null | grep -E "$1" | sed 's/^/    /' || true
}
# start_server NAME ENV…: a server with its own port, log $D/NAME.log; sets URL
start_server() {
    local name=$1 port
    shift
    port=$(free_port)
    env "$@" FK_PORT="$port" "$BIN" serve 2>>"$D/$name.log" &
    PIDS+=($!)
    SERVER_PID=$!
    URL="http://127.0.0.1:$port"
    if [ "$(wait_for healthy "$URL")" = "timeout (60 s)" ]; then
        tail -20 "$D/$name.log" >&2
        exit 1
    fi
}
stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

COMMON=(FK_PASSWORD_MEMORY_KIB=64 FK_PASSWORD_PASSES=1 FK_COOKIE_SECURE=0 FK_THREADS=2)
REPORT=$D/report.md
FINDINGS=()
say() { printf '%s\n' "$*" >>"$REPORT"; }
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# Drill report $(date -u +%Y-%m-%d)"
    echo
    echo "Written by \`make drill\` (scripts/drill.sh) on $(hostname), $(nproc) cores, load average"
    echo "$LOAD at the start, fangkong $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
    echo "PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}'), $(mosquitto -h 2>/dev/null | head -1 | awk '{print $1, $2, $3}')."
    echo "Everything ran on loopback in a temporary folder; times are wall-clock on a shared,"
    echo "loaded machine (the order of magnitude is the point, not the digits)."
    echo "The plan each step practises: docs/operations.md, \"Emergency plan\"."
} >"$REPORT"

# ---- 1. PostgreSQL killed --------------------------------------------------------------
mkdir -p "$D/pg" "$D/s1"
[ -n "$PGUSER_OS" ] && chown "$PGUSER_OS" "$D/pg"
pg initdb -D "$D/pg/data" -E UTF8 --locale=C -A trust -U fangkong >/dev/null
PGPORT=$(free_port)
pg_start() {
    pg pg_ctl -D "$D/pg/data" -l "$D/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $D/pg -c max_connections=200" start >/dev/null
}
pg_start
pg createdb -h "$D/pg" -p "$PGPORT" -U fangkong fangkong
DB="postgres://fangkong@127.0.0.1:$PGPORT/fangkong"
E1=("${COMMON[@]}" FK_DATA_DIR="$D/s1" FK_DB="$DB")
env "${E1[@]}" "$BIN" init >/dev/null 2>&1
env "${E1[@]}" "$BIN" demo --persons 50 --password "$PASSWORD" >/dev/null 2>&1
start_server s1 "${E1[@]}"
before_login=$(login "$URL" community "$PASSWORD")
t0=$(now_ms)
pg pg_ctl -D "$D/pg/data" -m immediate -w stop >/dev/null
killed_ms=$(($(now_ms) - t0))
t0=$(now_ms)
down_health=$(code "$URL/healthz")
health_ms=$(($(now_ms) - t0))
t0=$(now_ms)
down_login=$(login "$URL" community "$PASSWORD")
login_ms=$(($(now_ms) - t0))
down_doctor=$(doctor_lines '数据库' "${E1[@]}")
sleep 5 # down for a while, as a real outage would be
t0=$(now_ms)
pg_start
pg_up_ms=$(($(now_ms) - t0))
recover_ms=$(wait_for healthy "$URL")
wait_login_ok() { [ "$(login "$URL" community "$PASSWORD")" = 200 ]; }
login_back_ms=$(wait_for wait_login_ok)
up_doctor=$(doctor_lines '数据库|迁移' "${E1[@]}")
{
    echo
    echo "## 1. PostgreSQL killed"
    echo
    echo "**Done.** A server on PostgreSQL, the demo district loaded, a sign-in answered $before_login."
    echo "PostgreSQL was stopped with \`pg_ctl -m immediate\` (a crash: no checkpoint; ${killed_ms} ms),"
    echo "left down 5 s, then started again."
    echo
    echo "**What the platform did.**"
    echo
    echo "| while down | answer | time |"
    echo "|---|---|---|"
    echo "| GET /healthz | $down_health | ${health_ms} ms |"
    echo "| POST /api/v1/auth/login (right password) | $down_login | ${login_ms} ms |"
    echo
    echo "The server stayed up (no crash, no restart by systemd needed); \`fangkong doctor\` said:"
    echo
    echo "$down_doctor"
    echo
    echo "**Recovery.** PostgreSQL took ${pg_up_ms} ms to start (crash recovery from its WAL). The"
    echo "server reconnected on its own: /healthz answered 200 ${recover_ms} ms after PostgreSQL was"
    echo "up, a sign-in answered 200 after ${login_back_ms} ms more. Nothing was restarted by hand. Then"
    echo "the doctor said:"
    echo
    echo "$up_doctor"
} >>"$REPORT"
if [ "$down_login" != 503 ]; then
    FINDINGS+=("Database down: a sign-in answered $down_login, not 503 database_busy/unavailable; /healthz answered $down_health. Clients cannot tell an outage from a defect by the status (a change in src/db, owned by the HA work).")
fi
FINDINGS+=("Database down: the server reconnected by itself ${recover_ms} ms after PostgreSQL was back; no restart.")
stop_server "$SERVER_PID"

# ---- 2. a small disk filled ------------------------------------------------------------
{
    echo
    echo "## 2. A small disk filled"
    echo
} >>"$REPORT"
mkdir -p "$D/small"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=48m,mode=0700 tmpfs "$D/small" 2>/dev/null; then
    MOUNTED=$D/small
    E2=("${COMMON[@]}" FK_DATA_DIR="$D/small" FK_DB=)
    env "${E2[@]}" "$BIN" init >/dev/null 2>&1
    env "${E2[@]}" "$BIN" demo --persons 50 --password "$PASSWORD" >/dev/null 2>&1
    start_server s2 "${E2[@]}"
    ok_before=$(login "$URL" community "$PASSWORD")
    # a session signed in before the disk fills: its reads go on after
    curl -s -o /dev/null -c "$D/s2.jar" -H 'Content-Type: application/json' \
        -d "{\"username\":\"community\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" || true
    ratio_before=$(metric "$URL" fangkong_disk_free_ratio)
    # fill to the last block: what a runaway export or log does
    dd if=/dev/zero of="$D/small/fill" bs=1M 2>/dev/null || true
    ratio_full=$(metric "$URL" fangkong_disk_free_ratio)
    statuses=()
    t0=$(now_ms)
    for _ in 1 2 3 4 5; do statuses+=("$(login "$URL" community "$PASSWORD")"); done
    full_ms=$((($(now_ms) - t0) / 5))
    full_body=$(curl -s -m 10 -H 'Content-Type: application/json' \
        -d "{\"username\":\"community\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" || true)
    bad_pw=$(login "$URL" grid wrong-password)
    full_health=$(code "$URL/healthz")
    full_read=$(code -b "$D/s2.jar" "$URL/api/v1/persons?page_size=5")
    full_gauge=$(metric "$URL" fangkong_disk_full)
    full_writes=$(metric "$URL" fangkong_disk_full_writes)
    full_lines=$(grep -c '"event":"disk_full"' "$D/s2.log" || true)
    failed_lines=$(grep -c '"event":"request_failed"' "$D/s2.log" || true)
    full_doctor=$(doctor_lines '磁盘' "${E2[@]}")
    alive=no
    kill -0 "$SERVER_PID" 2>/dev/null && alive=yes
    t0=$(now_ms)
    rm -f "$D/small/fill"
    wait_login_ok2() { [ "$(login "$URL" community "$PASSWORD")" = 200 ]; }
    back_ms=$(wait_for wait_login_ok2)
    stop_server "$SERVER_PID"
    integrity=$(sqlite3 "$D/small/fangkong.db" 'PRAGMA integrity_check' 2>&1 | head -3)
    audit=$(env "${E2[@]}" "$BIN" audit verify 2>&1 | grep -v '^{' | tail -2 || true)
    {
        echo "**Done.** A SQLite server with its data folder on a 48 MiB tmpfs (its database, WAL,"
        echo "key and exports); a sign-in answered $ok_before; free $(pct "$ratio_before") (fangkong_disk_free_ratio). The disk was"
        echo "filled with \`dd\` to the last block (free $(pct "$ratio_full")), then freed."
        echo
        echo "**What the platform did.** The server stayed up (alive: $alive). /healthz answered"
        echo "$full_health (it reads, it does not write). Five sign-ins with the right password (each"
        echo "writes a session and an audit entry) answered ${statuses[*]} in ${full_ms} ms each on"
        echo "average; a wrong password answered $bad_pw. The reply of a sign-in:"
        echo
        echo "    $full_body"
        echo
        echo "A session signed in before the disk filled read the list of persons: $full_read."
        echo "/metrics said fangkong_disk_full $full_gauge (the FangkongDiskFull alert) and"
        echo "fangkong_disk_full_writes $full_writes; the server's log held $full_lines \`disk_full\` line(s)"
        echo "(one a minute at most) and $failed_lines \`request_failed\` line(s). The doctor said:"
        echo
        echo "$full_doctor"
        echo
        echo "**Recovery.** The fill file removed, a sign-in answered 200 after ${back_ms} ms, with no"
        echo "restart. Nothing corrupted: \`PRAGMA integrity_check\` said \`$integrity\`;"
        echo "\`fangkong audit verify\` said: $audit"
    } >>"$REPORT"
    verdict="Disk full: writes answered ${statuses[*]} (503 disk_full, 服务器存储空间不足), reads went on ($full_read), $full_lines log line(s); nothing was corrupted and it recovered without a restart."
    for st in "${statuses[@]}"; do
        if [ "$st" != 503 ] || ! grep -q '"disk_full"' <<<"$full_body"; then
            verdict="Disk full: writes answered ${statuses[*]}, not 503 disk_full; see docs/operations.md \"Disk full\"."
            break
        fi
    done
    FINDINGS+=("$verdict")
    umount "$D/small" && MOUNTED=
else
    {
        echo "Not run: mounting a small tmpfs needs root (\`id -u\` is $(id -u)) or the mount was"
        echo "refused. Run the drill as root in a throwaway VM or container to stage this step."
    } >>"$REPORT"
fi

# ---- 3. the broker broken --------------------------------------------------------------
BPORT=$(free_port)
SERVER_PASS=srv-$RANDOM$RANDOM
mkdir -p "$D/s3"
E3=("${COMMON[@]}" FK_DATA_DIR="$D/s3" FK_DB=
    FK_MQTT_URL="mqtt://fangkong-server:$SERVER_PASS@127.0.0.1:$BPORT" FK_MQTT_BROKER_DIR="$D/s3/broker")
env "${E3[@]}" "$BIN" init >/dev/null 2>&1
env "${E3[@]}" "$BIN" devices broker-config "$D/s3/broker" >/dev/null
broker_start() {
    mosquitto -c "$D/s3/broker/mosquitto.conf" 2>>"$D/broker.log" &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
}
broker_start
wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$BPORT" >/dev/null
start_server s3 "${E3[@]}"
linked() { [ "$(metric "$URL" fangkong_mqtt_connected)" = "$1" ]; }
link_ms=$(wait_for linked 1)
t0=$(now_ms)
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
lost_ms=$(wait_for linked 0)
pub_rc=0
mosquitto_pub -h 127.0.0.1 -p "$BPORT" -u fangkong-server -P "$SERVER_PASS" -t fk/devices/1/heartbeat -m '{}' \
    2>/dev/null || pub_rc=$?
down_health=$(code "$URL/healthz")
down_doctor=$(doctor_lines 'MQTT' "${E3[@]}")
sleep 3
t0=$(now_ms)
broker_start
back_ms=$(wait_for linked 1)
up_doctor=$(doctor_lines 'MQTT' "${E3[@]}")
{
    echo
    echo "## 3. The MQTT broker broken"
    echo
    echo "**Done.** mosquitto with the files \`fangkong devices broker-config\` writes; a server"
    echo "subscribed to it (fangkong_mqtt_connected 1 after ${link_ms} ms). The broker was killed,"
    echo "left down 3 s, then started again."
    echo
    echo "**What the platform did.** The server noticed within ${lost_ms} ms (the gauge fell to 0,"
    echo "which the FangkongBrokerDisconnected alert watches). A device publishing meanwhile fails at"
    echo "the device (mosquitto_pub exit status $pub_rc): devices keep their readings or send them"
    echo "over HTTP (POST /api/v1/devices/{id}/readings, docs/devices.md). Everything else went on:"
    echo "/healthz $down_health. The doctor said:"
    echo
    echo "$down_doctor"
    echo
    echo "**Recovery.** The library reconnects on its own (back-off 1 s doubling to 30 s): the"
    echo "server was subscribed again ${back_ms} ms after the broker started, with no restart. The"
    echo "doctor said:"
    echo
    echo "$up_doctor"
} >>"$REPORT"
stop_server "$SERVER_PID"
kill "$BROKER_PID" 2>/dev/null || true

# ---- 4. a flood of sign-ins ------------------------------------------------------------
start_server s1b "${E1[@]}"
N=200
flood_start=$(now_ms)
t0=$flood_start
seq 1 "$N" | xargs -P 8 -I{} curl -s -o /dev/null -m 20 -w '%{http_code}\n' --interface 127.0.0.2 \
    -H 'Content-Type: application/json' -d '{"username":"grid","password":"guess-{}"}' \
    "$URL/api/v1/auth/login" >"$D/flood.txt" || true
flood_ms=$(($(now_ms) - t0))
counts=$(sort "$D/flood.txt" | uniq -c | awk '{printf "%s × %s, ", $1, $2}' | sed 's/, $//')
t0=$(now_ms)
other=$(login "$URL" community "$PASSWORD" 127.0.0.3)
other_ms=$(($(now_ms) - t0))
same_ip=$(login "$URL" community "$PASSWORD" 127.0.0.2)
victim=$(login "$URL" grid "$PASSWORD" 127.0.0.4)
audited=$(psql -X -At -h 127.0.0.1 -p "$PGPORT" -U fangkong -d fangkong \
    -c "SELECT result, COUNT(*) FROM audit_log WHERE action = 'auth.login' AND at >= $flood_start GROUP BY result ORDER BY 2 DESC" |
    awk -F'|' '{printf "%s × %s, ", $2, $1}' | sed 's/, $//')
stop_server "$SERVER_PID"
verify=$(env "${E1[@]}" "$BIN" audit verify 2>&1 | grep -v '^{' | tail -1 || true)
{
    echo
    echo "## 4. A flood of sign-ins"
    echo
    echo "**Done.** $N sign-ins with wrong passwords for one account (\`grid\`) from one address"
    echo "(127.0.0.2), 8 at a time, in ${flood_ms} ms."
    echo
    echo "**What the platform did.** Answers: $counts (401 wrong password, 423 account locked"
    echo "after FK_LOGIN_FAILURES, 429 throttled or the address over its limit). Meanwhile:"
    echo
    echo "| request | answer |"
    echo "|---|---|"
    echo "| another user (\`community\`) from another address, right password | $other (${other_ms} ms) |"
    echo "| the same user from the flooding address | $same_ip |"
    echo "| the flooded account from a new address, right password | $victim |"
    echo
    echo "Audit entries auth.login written during the flood and these three, by result: $audited."
    echo "\`fangkong audit verify\` afterwards: $verify"
    echo
    if [ "$other" = 200 ]; then
        echo "**Recovery.** Another user from another address was not affected."
    else
        echo "**Recovery.** Another user from another address was affected ($other): see Findings."
    fi
    if [ "$victim" = 423 ]; then
        echo "The flooded account is locked for FK_LOCK_SECONDS (30 min) or until an administrator"
        echo "unlocks it in the console."
    elif grep -q '^423$' "$D/flood.txt"; then
        echo "The flooded account was locked for the flooding address only (423: the lock-out is per"
        echo "account and address, docs/security.md) and its owner signed in from another address"
        echo "($victim): a flood cannot lock a user out."
    else
        echo "The flooded account was not locked ($victim from a new address): the address limits and"
        echo "the back-off stopped the guesses before FK_LOGIN_FAILURES wrong passwords were checked,"
        echo "so its owner can still sign in from elsewhere."
    fi
    echo "The flooding address stays limited for the hour; block it at nginx (deploy/nginx) for a"
    echo "longer flood."
} >>"$REPORT"
if [ "$victim" = 423 ]; then
    FINDINGS+=("Sign-in flood: the account was locked everywhere; its owner needs an unlock.")
else
    FINDINGS+=("Sign-in flood: throttled, then limited per address; the account locked for the flooding address only and usable from elsewhere; other users unaffected; every attempt audited.")
fi

{
    echo
    echo "## Findings"
    echo
    for f in "${FINDINGS[@]}"; do echo "- $f"; done
} >>"$REPORT"

mkdir -p "$OUT"
dest=$OUT/$(date -u +%Y-%m-%d).md
cp "$REPORT" "$dest"
echo "drill: report written to $dest"

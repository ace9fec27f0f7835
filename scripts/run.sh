#!/bin/sh
# `make run`: create ./data with a demo city on SQLite if there is none, then
# serve on http://127.0.0.1:8080 (FK_PORT to change) and print how to sign in.
set -eu
BIN=${1:-build/fangkong}
DATA=${FK_DATA_DIR:-./data}
export FK_DATA_DIR="$DATA"
PORT=${FK_PORT:-8080}

if [ ! -f "$DATA/fangkong.db" ] && [ -z "${FK_DB:-}" ]; then
    "$BIN" init
    echo "building the demo city (this takes a few seconds)..."
    # the demo writes $DATA/demo-accounts.txt itself (shown below)
    "$BIN" demo --persons "${FK_DEMO_PERSONS:-20000}" --seed 1 >/dev/null
fi

# Devices publish over MQTT to a mosquitto broker on loopback, with the
# password and ACL files the server generates from its device registry (and
# rewrites, with a SIGHUP to the broker, whenever a device changes).
MQTT_PORT=${FK_MQTT_PORT:-1883}
if [ -z "${FK_MQTT_URL:-}" ] && command -v mosquitto >/dev/null 2>&1; then
    BROKER_DIR="$DATA/mqtt"
    mkdir -p "$BROKER_DIR" && chmod 700 "$BROKER_DIR"
    [ -f "$BROKER_DIR/server.pass" ] || (umask 077; od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$BROKER_DIR/server.pass")
    export FK_MQTT_URL="mqtt://fangkong-server:$(cat "$BROKER_DIR/server.pass")@127.0.0.1:$MQTT_PORT"
    export FK_MQTT_BROKER_DIR="$BROKER_DIR"
    "$BIN" devices broker-config "$BROKER_DIR" >/dev/null
    if [ -f "$BROKER_DIR/mosquitto.pid" ] && kill -0 "$(cat "$BROKER_DIR/mosquitto.pid")" 2>/dev/null; then
        kill "$(cat "$BROKER_DIR/mosquitto.pid")" 2>/dev/null || true
        sleep 0.5
    fi
    mosquitto -c "$BROKER_DIR/mosquitto.conf" -d
fi

cat <<MSG

fangkong 多级防控平台 is starting on http://127.0.0.1:$PORT

  console (PC)   http://127.0.0.1:$PORT/console/
  mobile pages   http://127.0.0.1:$PORT/mobile/   (residents: phone 13800138000, code from the SMS log)
  API document   http://127.0.0.1:$PORT/api/v1/openapi.json
  health         http://127.0.0.1:$PORT/healthz
  metrics        http://127.0.0.1:$PORT/metrics
  SMS codes      $DATA/sms.log (the demo SMS gateway writes codes here)
  MQTT broker    127.0.0.1:$MQTT_PORT (devices: docs/devices.md)

The demo's last seven days of the case workflow (docs/cases.md "The demo's week"):
  command        reports inbox, observation list, quarantine sites, certificates, statistics
  grid           我的任务 on the mobile page: home verifications pending, accepted, overdue
  doctor         check tasks of the first community (cdcdoctor: of the others)
  community      release and transfer tasks of the first community

Nucleic-acid testing today (docs/nat.md "The demo's round"):
  site           on duty at 南头街道核酸采样点（固定）; samples, tubes, boxes of three sites
  courier        the box still on the road past the transit limit (转运超时 alert)
  lab            results: one positive pool, its ten retests, one positive (a red code)
  command        plan NS-2026-R1 figures, the city's site list to review, hotline tickets

Demo accounts (also in $DATA/demo-accounts.txt):
MSG
cat "$DATA/demo-accounts.txt" 2>/dev/null || true
echo
exec "$BIN" serve --port "$PORT"

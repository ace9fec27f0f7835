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
    "$BIN" demo --persons "${FK_DEMO_PERSONS:-20000}" --seed 1 > "$DATA/demo-accounts.txt"
fi

cat <<MSG

fangkong 多级防控平台 is starting on http://127.0.0.1:$PORT

  console (PC)   http://127.0.0.1:$PORT/console/
  mobile pages   http://127.0.0.1:$PORT/mobile/   (residents: phone 13800138000, code from the SMS log)
  API document   http://127.0.0.1:$PORT/api/v1/openapi.json
  health         http://127.0.0.1:$PORT/healthz
  metrics        http://127.0.0.1:$PORT/metrics
  SMS codes      $DATA/sms.log (the demo SMS gateway writes codes here)

Demo accounts (also in $DATA/demo-accounts.txt):
MSG
cat "$DATA/demo-accounts.txt" 2>/dev/null || true
echo
exec "$BIN" serve --port "$PORT"

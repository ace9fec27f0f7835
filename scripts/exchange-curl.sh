#!/bin/sh
# One signed call to fangkong's data exchange with curl and the openssl
# command line (OpenSSL 3: SM2 and SM3), and the server's signature of the
# answer checked (docs/exchange.md, "curl and openssl").
#
# Usage: scripts/exchange-curl.sh BASE_URL CALLER_ID KEY.pem METHOD PATH[?QUERY] [BODY_FILE [IDEMPOTENCY_KEY]]
#   scripts/exchange-curl.sh http://127.0.0.1:8080 1234 caller.pem GET /exchange/v1/ping
#   scripts/exchange-curl.sh http://127.0.0.1:8080 1234 caller.pem POST /exchange/v1/nat/sites batch.json batch-1
#
# Prints the answer's body on stdout and "HTTP <status> signature ok" on
# stderr. Exit status 0 for a 2xx answer whose signature verifies under the
# server's key (FK_SERVER_KEY: a PEM file; else fetched once from
# /exchange/v1/server-key), 1 otherwise.
set -eu

[ $# -ge 5 ] || { sed -n '6,8p' "$0" >&2; exit 2; }
base=$1 caller=$2 key=$3 method=$4 target=$5 body=${6:-} idem=${7:-}
case $target in *\?*) path=${target%%\?*} query=${target#*\?} ;; *) path=$target query= ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$body" ] || : >"$tmp/empty"
bodyfile=${body:-$tmp/empty}

ts=$(($(date +%s) * 1000))
nonce=$(openssl rand -hex 16)
hash=$(openssl dgst -sm3 -hex <"$bodyfile" | sed 's/.*= *//')
# the query's pairs as sent, sorted bytewise, empty pairs dropped
sorted=$(printf '%s' "$query" | tr '&' '\n' | grep -v '^$' | LC_ALL=C sort | paste -sd '&' - || true)

printf 'FK-SM2-SM3\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$method" "$path" "$sorted" "$hash" "$caller" "$ts" "$nonce" >"$tmp/canonical"
sig=$(openssl pkeyutl -sign -rawin -digest sm3 -inkey "$key" -in "$tmp/canonical" | openssl base64 -A)

set -- -sS -X "$method" -D "$tmp/headers" -o "$tmp/reply" -w '%{http_code}' \
    -H "X-Fk-Caller: $caller" -H "X-Fk-Timestamp: $ts" -H "X-Fk-Nonce: $nonce" -H "X-Fk-Signature: $sig"
[ -z "$body" ] || set -- "$@" -H 'Content-Type: application/json' --data-binary "@$body"
[ -z "$idem" ] || set -- "$@" -H "Idempotency-Key: $idem"
status=$(curl "$@" "$base$target")

# the server's key: given, or fetched (its PEM is a JSON string)
if [ -n "${FK_SERVER_KEY:-}" ]; then
    cp "$FK_SERVER_KEY" "$tmp/server.pem"
else
    curl -sS "$base/exchange/v1/server-key" | sed 's/.*"public_key_pem":"\([^"]*\)".*/\1/' |
        sed 's/\\n/\n/g' >"$tmp/server.pem"
fi

header() { tr -d '\r' <"$tmp/headers" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*: *//'; }
rts=$(header X-Fk-Timestamp)
header X-Fk-Signature | openssl base64 -d -A >"$tmp/reply.sig"
rhash=$(openssl dgst -sm3 -hex <"$tmp/reply" | sed 's/.*= *//')
printf 'FK-SM2-SM3-REPLY\n%s\n%s\n%s\n%s' "$status" "$rhash" "$nonce" "$rts" >"$tmp/reply.canonical"

cat "$tmp/reply"
echo
if openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey "$tmp/server.pem" \
    -in "$tmp/reply.canonical" -sigfile "$tmp/reply.sig" >/dev/null 2>&1; then
    echo "HTTP $status signature ok" >&2
    case $status in 2??) exit 0 ;; *) exit 1 ;; esac
fi
echo "HTTP $status signature INVALID" >&2
exit 1

#!/bin/sh
# deploy/nginx/make-test-cert.sh DIR [NAME]: a self-signed ECDSA P-256
# certificate for tests and trials, valid 7 days, for NAME (default
# localhost) and 127.0.0.1: DIR/fullchain.pem and DIR/privkey.pem (0600).
# Never for production, and no key is ever committed: tests make theirs in
# a temporary folder.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [NAME]" >&2
    exit 2
fi
dir=$1
name=${2:-localhost}
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name,IP:127.0.0.1" \
    -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
echo "$dir/fullchain.pem"

#!/bin/sh
# Install what fangkong needs on Debian 12, once. Uses sudo when not root.
# Re-running is cheap: it checks before it installs.
set -eu
cd "$(dirname "$0")/.."

APT_PKGS="build-essential pkg-config xxd libevent-dev libjansson-dev libsqlite3-dev sqlite3
 libpq-dev libssl-dev libargon2-dev liboath-dev libqrencode-dev libcmocka-dev
 postgresql nginx-light wrk clang-format zbar-tools clang libclang-rt-14-dev chromium
 fonts-wqy-microhei poppler-utils poppler-data
 mosquitto mosquitto-clients libmosquitto-dev
 libxlsxwriter-dev libzip-dev libexpat1-dev python3-openpyxl
 libxml2-dev libxml2-utils python3-zeep
 ffmpeg openssl chromium-headless-shell"

# Node.js 18+ with npm (Debian's nodejs, unless a newer one is already there)
command -v node >/dev/null 2>&1 || APT_PKGS="$APT_PKGS nodejs npm"

missing=""
for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "deps: installing$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# The front end's and the browser tests' npm packages, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

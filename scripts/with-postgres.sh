#!/bin/sh
# scripts/with-postgres.sh CMD [ARGS...]: run CMD against a throwaway
# PostgreSQL 15 (Debian's postgresql package) with FK_DB pointing at an empty
# database `fangkong`. The cluster lives in a fresh temporary directory,
# listens on a free loopback port and a socket in that directory, and is
# removed afterwards. Exits with CMD's status. WITH_PG_OPTS adds server
# options (e.g. "-c jit=off", to measure a setting).
#
# initdb refuses to run as root; as root the server runs as the `postgres`
# system user (created if missing).
set -eu

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
    echo "with-postgres: $PGBIN/initdb not found (scripts/deps.sh installs postgresql)" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    PGUSER_OS=postgres
    if ! id -u "$PGUSER_OS" >/dev/null 2>&1; then
        group=--user-group
        getent group "$PGUSER_OS" >/dev/null && group="--gid $PGUSER_OS"
        # shellcheck disable=SC2086 # $group is two words or one
        useradd --system $group --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin "$PGUSER_OS"
    fi
    dir=$(mktemp -d /tmp/fk-pg.XXXXXX) # the server user must reach it
    chown "$PGUSER_OS": "$dir"
else
    PGUSER_OS=
    dir=$(mktemp -d "${TMPDIR:-/tmp}/fk-pg.XXXXXX")
fi

# Run a PostgreSQL program as the server user, from the cluster directory
# (the caller's directory may be unreadable to that user).
pg() {
    prog=$1
    shift
    if [ -n "$PGUSER_OS" ]; then
        (cd "$dir" && runuser -u "$PGUSER_OS" -- "$PGBIN/$prog" "$@")
    else
        (cd "$dir" && "$PGBIN/$prog" "$@")
    fi
}

started=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$started" ]; then
        pg pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg initdb -D "$dir/data" -E UTF8 --locale=C -A trust -U fangkong >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}

# A random port; if another process holds it, the start fails and the next
# one is tried. max_connections: a fangkong server holds 13 connections at
# its start (its loops and the workers' own) and up to ~40 once its sweeps
# have run (each connects at its first tick), and the API tests run four
# files at once, some with two or three servers: PostgreSQL's default of 100
# is not enough. autovacuum off: the API suite leaves a database per server
# (a few hundred by the end of a pass), and the launcher starts a worker in
# each in turn, every minute, for tables a test never grows enough to need it.
# (wal_level minimal, jit off: no CPU measured saved; docs/benchmarks.md,
# "What make test costs".)
port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 20000 ))
tries=0
while :; do
    if pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500 -c autovacuum=off${WITH_PG_OPTS:+ $WITH_PG_OPTS}" \
        start >/dev/null 2>&1; then
        started=1
        break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 10 ] || ! grep -q "could not \(bind\|create\)" "$dir/server.log" 2>/dev/null; then
        echo "with-postgres: the server did not start:" >&2
        cat "$dir/server.log" >&2 2>/dev/null || true
        exit 1
    fi
    : >"$dir/server.log"
    port=$((port + 1))
done

pg createdb -h "$dir" -p "$port" -U fangkong fangkong

FK_DB="postgres://fangkong@127.0.0.1:$port/fangkong"
PGHOST=127.0.0.1 PGPORT=$port PGUSER=fangkong PGDATABASE=fangkong
export FK_DB PGHOST PGPORT PGUSER PGDATABASE
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') at 127.0.0.1:$port (socket in $dir), FK_DB=$FK_DB" >&2

status=0
"$@" || status=$?
exit "$status"

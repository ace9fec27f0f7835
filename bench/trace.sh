#!/bin/sh
# The contact-tracing bench (docs/tracing.md "Benchmark"; issue 11 "Scale":
# one case traced to degree 1+2 over 14 days in <= 1 s with 100,000,000
# access records and 10,000,000 people), one script for `make bench` and for
# a run of its own:
#
#   a synthetic city (build/bench_trace_fill: BENCH_TRACE_PERSONS people,
#   default 10,000,000, in households; BENCH_TRACE_VENUES venues, default
#   50,000, of Zipf popularity; BENCH_TRACE_RECORDS access records, default
#   100,000,000, over the 30 days before today) in a fresh database with the
#   demo's regions and accounts; three confirmed cases (typical, busy: one
#   evening at the busiest venue, commuter: the busiest station twice a
#   working day); the fill's records per second and the database's size;
#
#   for each case, POST /api/v1/traces over the 14 days before today: degree
#   1+2 cold (server restarted, the database's pages evicted from the page
#   cache), then warm degree 1 and degree 1+2 (the best of three); the
#   contacts per class, the wall time of the request and the engine's own
#   elapsed_ms; the server's peak private memory over the traces (RssAnon,
#   sampled every 20 ms: VmHWM also counts the pages of the database file
#   SQLite maps, which are the page cache's, not the server's);
#
#   the reference, measured the same way on the same database: the plain SQL
#   a report writer would run for the same question, degree 1 (the case's
#   visits joined to the passages at those venues within the window) and
#   degree 2 (the same from each degree-1 person's visits: contacts × visits),
#   through sqlite3 / psql, cold and warm; degree 2 stopped after
#   BENCH_TRACE_REF_MAX seconds (default 120).
#
# Usage:
#   bench/trace.sh [BIN]                    SQLite in a temporary directory
#   scripts/with-postgres.sh bench/trace.sh  PostgreSQL (FK_DB set)
# BENCH_QUICK=1: 100,000 people and 1,000,000 records (a minute);
# BENCH_TRACE_RECORD=1 appends the row to docs/benchmarks.md ("Contact
# tracing"); BENCH_TRACE_KEEP=1 keeps the data directory (printed);
# BENCH_TRACE_SKIP_INDEXES=name,... leaves those indexes out after the load
# (the ones tracing never reads, for a full-size run on a busy machine);
# BENCH_TRACE_LABEL=text goes into the row's driver column (e.g. the engine's commit).
# BENCH_TRACE_REUSE=DIR traces again on a city a run kept (BENCH_TRACE_KEEP=1): no fill,
# the fill's figures those of the run that made it; DIR is kept.
# The last line of stdout: "trace key=value ..." for bench/run.sh.
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
say() { echo "bench: $*" >&2; }
mono() { date +%s.%N; }
jsonget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let j;try{j=JSON.parse(s)}catch{j={}};console.log(process.argv.slice(1).map(k=>k.split(".").reduce((o,x)=>o&&o[x],j)??"").join(" "))})' "$@"; }

BIN=$(readlink -f "${1:-build/fangkong}")
cd "$(dirname "$0")/.."
. bench/lib.sh # freeport, bench_serve, bench_login
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    PERSONS=${BENCH_TRACE_PERSONS:-100000} RECORDS=${BENCH_TRACE_RECORDS:-1000000}
else
    PERSONS=${BENCH_TRACE_PERSONS:-10000000} RECORDS=${BENCH_TRACE_RECORDS:-100000000}
fi
VENUES=${BENCH_TRACE_VENUES:-50000}
REF_MAX=${BENCH_TRACE_REF_MAX:-120}
if [ -n "${BENCH_TRACE_REUSE:-}" ]; then
    work=$BENCH_TRACE_REUSE BENCH_TRACE_KEEP=1
else
    work=$(mktemp -d "${BENCH_TRACE_TMP:-/tmp}/fk-bench-trace.XXXXXX")
fi
log="$work/serve.log"
cleanup() {
    st=$?
    [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$log" >&2 || true; }
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
    if [ "${BENCH_TRACE_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
export FK_DATA_DIR="$work/data"
DB=${FK_DB:-$FK_DATA_DIR/fangkong.db}
if [ -n "${FK_DB:-}" ]; then driver=postgres; else driver=sqlite; fi
FILL=$(dirname "$BIN")/bench_trace_fill
[ -x "$FILL" ] || make -s "$FILL" >&2

# ---- the city ----------------------------------------------------------------------------------
if [ -z "${BENCH_TRACE_REUSE:-}" ]; then
    "$BIN" init >/dev/null 2>"$work/init.log"
    "$BIN" demo --persons 10 --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
    say "$driver: filling $PERSONS people, $VENUES venues, $RECORDS access records..."
    FK_FILL_SKIP_INDEXES=${BENCH_TRACE_SKIP_INDEXES:-} "$FILL" "$FK_DATA_DIR/keys/master.key" "$DB" "$PERSONS" "$RECORDS" "$VENUES" >"$work/cases.txt" 2>"$work/fill.log" ||
        { tail -5 "$work/fill.log" >&2; exit 1; }
fi # (reused: the server migrates the city to this binary's schema when it starts)
fill=$(sed -n 's/^fill persons=/persons=/p' "$work/fill.log")
for kv in $fill; do eval "fill_${kv%%=*}=\${kv#*=}"; done
if [ "$driver" = sqlite ]; then
    size_b=$(stat -c %s "$DB")
    db_files=$DB
    sql() { sqlite3 "$DB" ".timeout 60000" "$1"; }
else
    size_b=$(psql -Atq "$DB" -c "SELECT pg_database_size(current_database())")
    pgdata=$(psql -Atq "$DB" -c "SHOW data_directory" 2>/dev/null || true)
    db_files=$(find "$pgdata/base" -type f 2>/dev/null | tr '\n' ' ')
    sql() { psql -Atq "$DB" -c "$1"; }
fi
size_gb=$(calc "$size_b / 1073741824" 2)
say "fill: persons ${fill_persons_s}s, records ${fill_records_s}s (${fill_records_per_s}/s), indexes ${fill_index_s}s; $size_gb GB"

# The 14 China days before today: the cases' deliberate visits
day=86400000
today0=$(( ($(date +%s) * 1000 + 8 * 3600000) / day * day - 8 * 3600000 ))
from=$((today0 - 14 * day)) to=$today0

# the pages of the database dropped from the page cache (cold), ours only
evict() { python3 -c 'import os,sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
    except OSError: pass' $db_files "$DB-wal" "$DB-shm"; }

start() {
    bench_serve "$BIN" "$log"
    # a start reads the people's table once (person.c's backfill of phone
    # indexes scans it): at 10,000,000 people more than bench_serve waits
    t=0
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
        t=$((t + 1))
        [ "$t" -lt 3000 ] || { say "the server did not answer in 300 s"; exit 1; }
        sleep 0.1
    done
    cookie=$(bench_login "$work/accounts.txt" command_center)
    [ -n "$cookie" ] || { say "could not sign in"; exit 1; }
}
stop() { kill "$srv"; wait "$srv" 2>/dev/null || true; srv=; }

# trace PERSON DEGREE: POST a run and wait until it is done; prints
# "wall_ms elapsed_ms close secondary general truncated"
trace() {
    t0=$(mono)
    curl -s -X POST -H "Cookie: $cookie" -H 'Content-Type: application/json' \
        -d "{\"person_id\":\"$1\",\"degree\":$2,\"from\":$from,\"to\":$to}" \
        "http://127.0.0.1:$port/api/v1/traces" >"$work/run.json"
    t1=$(mono)
    id=$(jsonget run.id <"$work/run.json")
    [ -n "$id" ] || { say "trace refused: $(head -c 300 "$work/run.json")"; exit 1; }
    st=$(jsonget run.status <"$work/run.json")
    if [ "$st" != done ] && [ "$st" != failed ]; then
        st=$(bench_poll "http://127.0.0.1:$port/api/v1/traces/$id?page_size=1" "$cookie" status 'done|failed' "$work/run.json")
        t1=$(mono)
    fi
    [ "$st" = done ] || { say "trace $id: $st"; exit 1; }
    # the counts: the run's own (its first page is the contacts)
    set -- $(jsonget run.counts.close run.counts.secondary run.counts.general run.truncated run.elapsed_ms <"$work/run.json")
    echo "$(calc "($t1 - $t0) * 1000" 0) ${5:-0} ${1:-0} ${2:-0} ${3:-0} ${4:-false}"
}

# The reference: the plain joins (same window, same w = 30 minutes). A visit:
# an `in` and the person's next `out` at that venue that day, else in + w.
W=1800000
visits() { # the visits of the people in the set $1 (SQL) from $2 (SQL per person) to $to
    echo "SELECT i.person_id AS pid, i.venue_id AS venue, i.at AS t_in, COALESCE((SELECT MIN(o.at)
      FROM access_records o WHERE o.person_id = i.person_id AND o.venue_id = i.venue_id
      AND o.direction = 'out' AND o.at >= i.at AND o.at <= i.at + $day), i.at + $W) AS t_out
      FROM access_records i JOIN ($1) s ON i.person_id = s.pid
      WHERE i.direction = 'in' AND i.at BETWEEN $2 AND $to"
}
ref1() { # the distinct co-visitors of case $1
    echo "WITH v AS ($(visits "SELECT $1 AS pid, $from AS since" s.since))
      SELECT COUNT(DISTINCT r.person_id) FROM v JOIN access_records r ON r.venue_id = v.venue
      AND r.at BETWEEN v.t_in - $W AND v.t_out + $W WHERE r.person_id <> $1"
}
ref2() { # degree 2: from every degree-1 person's first passage, their co-visitors
    echo "WITH v AS ($(visits "SELECT $1 AS pid, $from AS since" s.since)),
      c1 AS (SELECT r.person_id AS pid, MIN(r.at) AS since FROM v JOIN access_records r
        ON r.venue_id = v.venue AND r.at BETWEEN v.t_in - $W AND v.t_out + $W
        WHERE r.person_id <> $1 GROUP BY r.person_id),
      v2 AS ($(visits "SELECT pid, since FROM c1" s.since))
      SELECT COUNT(DISTINCT r.person_id) FROM v2 JOIN access_records r ON r.venue_id = v2.venue
      AND r.at BETWEEN v2.t_in - $W AND v2.t_out + $W"
}
# timed SQL: prints "ms result" ("- -" when stopped after REF_MAX s)
timed() {
    t0=$(mono)
    if out=$(timeout "$REF_MAX" sh -c "$(if [ "$driver" = sqlite ]; then echo 'sqlite3 "$0" "$1"'; else echo 'psql -Atq "$0" -c "$1"'; fi)" "$DB" "$1"); then
        t1=$(mono)
        echo "$(calc "($t1 - $t0) * 1000" 0) $out"
    else
        echo "- -"
    fi
}

skipped=
[ -z "${BENCH_TRACE_SKIP_INDEXES:-}" ] ||
    skipped=" ($(echo "$BENCH_TRACE_SKIP_INDEXES" | tr ',' '\n' | wc -l) unused indexes left out)"

# anon_watch: samples the server's RssAnon (kB) every 20 ms into $work/anon (its peak) until
# $work/watching goes; shell builtins only, so the sampling costs the server nothing
anon_watch() {
    : >"$work/watching"
    echo 0 >"$work/anon"
    (
        m=0
        while [ -f "$work/watching" ]; do
            while read -r k v _; do
                [ "$k" = RssAnon: ] && [ "$v" -gt "$m" ] && m=$v && echo "$m" >"$work/anon"
            done <"/proc/$srv/status" 2>/dev/null || true
            sleep 0.02
        done
    ) &
    watcher=$!
}
anon_peak_mb() { rm -f "$work/watching"; wait "$watcher" 2>/dev/null || true; calc "$(cat "$work/anon") / 1024" 0; }

# ---- the traces --------------------------------------------------------------------------------
: >"$work/results.txt"
start
while read -r _ kind pid; do
    # cold: a fresh server, our pages out of the page cache
    stop
    evict
    start
    anon_watch
    set -- $(trace "$pid" 2)
    cold_ms=$1 cold_engine=$2
    set -- $(trace "$pid" 1)
    d1_ms=$1 d1_engine=$2 d1_close=$3 d1_general=$5
    best=
    for _r in 1 2 3; do
        set -- $(trace "$pid" 2)
        if [ -z "$best" ] || [ "$1" -lt "$best" ]; then best=$1 best_engine=$2; fi
        d2_close=$3 d2_secondary=$4 d2_general=$5 d2_trunc=$6
    done
    rss_mb=$(anon_peak_mb)
    # the reference, cold then warm, the server stopped meanwhile (not competing)
    stop
    evict
    set -- $(timed "$(ref1 "$pid")")
    ref1_cold=$1 ref1_n=$2
    set -- $(timed "$(ref1 "$pid")")
    ref1_warm=$1
    set -- $(timed "$(ref2 "$pid")")
    ref2_warm=$1 ref2_n=$2
    start
    say "$kind $pid: degree 1 ${d1_ms} ms (engine $d1_engine): close $d1_close general $d1_general; degree 1+2 cold ${cold_ms} ms (engine $cold_engine), warm ${best} ms (engine $best_engine): close $d2_close secondary $d2_secondary general $d2_general truncated $d2_trunc; peak private memory ${rss_mb} MB"
    say "  reference SQL: degree 1 cold ${ref1_cold} ms warm ${ref1_warm} ms ($ref1_n people), degree 2 warm ${ref2_warm} ms ($ref2_n people)"
    echo "$kind $pid $d1_ms $cold_ms $best $best_engine $d1_close $d1_general $d2_close $d2_secondary $d2_trunc $rss_mb $ref1_cold $ref1_warm $ref1_n $ref2_warm $ref2_n" >>"$work/results.txt"
    # each case's row as soon as it is measured (a long run stopped keeps the others)
    if [ "${BENCH_TRACE_RECORD:-0}" = 1 ]; then
        [ "$d2_trunc" = true ] && d2_secondary="$d2_secondary (truncated)"
        row=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s / %s | %s | %s / %s (%s) | %s (%s) | %s |' \
            "$(date -u +%Y-%m-%d)" "$driver${BENCH_TRACE_LABEL:+ ($BENCH_TRACE_LABEL)}$skipped" "$PERSONS" "$fill_records" "$fill_records_per_s" "$size_gb" \
            "$kind" "$d1_ms" "$cold_ms" "$best" "$best_engine" "$d1_close" "$d1_general" "$d2_secondary" \
            "$ref1_cold" "$ref1_warm" "$ref1_n" "$ref2_warm" "$ref2_n" "$rss_mb")
        sed -i "/^<!-- trace runs end -->/i\\$row" docs/benchmarks.md
    fi
done <"$work/cases.txt"

# ---- the figures -------------------------------------------------------------------------------
records=$fill_records
worst=$(awk 'BEGIN { m = 0 } $5 > m { m = $5 } END { print m }' "$work/results.txt")
worst_cold=$(awk 'BEGIN { m = 0 } $4 > m { m = $4 } END { print m }' "$work/results.txt")
rss=$(awk 'BEGIN { m = 0 } $12 > m { m = $12 } END { print m }' "$work/results.txt")
cat >&2 <<EOF
== contact tracing (POST /api/v1/traces, 14 days), $driver, $PERSONS people, $records access records, $VENUES venues
  fill:       ${fill_records_per_s} records/s (persons ${fill_persons_s}s, records ${fill_records_s}s, indexes ${fill_index_s}s); database $size_gb GB
  worst case: degree 1+2 warm ${worst} ms, cold ${worst_cold} ms (goal <= 1000 ms); peak private memory $rss MB
EOF
cases=$(awk '{ printf "%s%s:d1=%s/cold=%s/warm=%s/close=%s/secondary=%s/ref1=%s/ref2=%s", (NR > 1 ? "," : ""), $1, $3, $4, $5, $9, $10, $14, $16 }' "$work/results.txt")
line="trace driver=$driver persons=$PERSONS records=$records venues=$VENUES records_per_s=$fill_records_per_s index_s=$fill_index_s size_gb=$size_gb warm_ms=$worst cold_ms=$worst_cold rss_mb=$rss cases=$cases"
echo "$line"

#!/bin/sh
# The batch look-up of nucleic-acid results (docs/benchmarks.md "Result
# look-up"; issue 10: 1,000,000 ids looked up and exported in <= 10 s), one
# script for `make bench` and for a run of its own:
#
#   a registry of BENCH_LOOKUP_PERSONS people (default 1,000,000) written
#   into the server's database as person.c stores them (sealed id and name,
#   keyed blind index: build/bench_lookup_fill), BENCH_LOOKUP_RESULTS test
#   results (default 10,000,000) written by SQL in bulk, and an upload of
#   BENCH_LOOKUP_ROWS ids (default 1,000,000; 90% of them in the registry,
#   in random order, one malformed in 100,000) as xlsx; timed from the
#   upload (POST /api/v1/nat/batches) until the batch is done, its result
#   workbook written; the job's own timing line (read, look-up, write), the
#   server's peak RSS during the run (VmHWM reset at the upload) and the
#   server's CPU time. Ratios: against the seed's 10,000 ids a minute, and
#   against a reference in the same run: `sqlite3` importing the same ids as
#   CSV and joining them against a plaintext id index and test_results
#   (latest result and 3-day count), writing CSV.
#
# Usage:
#   bench/lookup.sh BIN PORT COOKIE SERVER_PID WORKDIR   from bench/run.sh
#   bench/lookup.sh [BIN]                                alone: its own server
# BENCH_QUICK=1 makes a quick run (100,000 people, 1,000,000 results, 100,000
# ids); BENCH_PERF=FILE records the server with `perf record` during the run.
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
say() { echo "bench: $*" >&2; }
jsonfield() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j[process.argv[1]]??"")})' "$1"; }

. "$(dirname "$0")/lib.sh" # bench_serve, bench_login
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    PERSONS=${BENCH_LOOKUP_PERSONS:-100000} RESULTS=${BENCH_LOOKUP_RESULTS:-1000000}
    ROWS=${BENCH_LOOKUP_ROWS:-100000}
else
    PERSONS=${BENCH_LOOKUP_PERSONS:-1000000} RESULTS=${BENCH_LOOKUP_RESULTS:-10000000}
    ROWS=${BENCH_LOOKUP_ROWS:-1000000}
fi
if [ $# -ge 5 ]; then
    BIN=$1 port=$2 cookie=$3 srv=$4 work=$5
    log="$work/serve.log"
else
    BIN=$(readlink -f "${1:-build/fangkong}")
    cd "$(dirname "$0")/.."
    work=$(mktemp -d /tmp/fk-bench-lookup.XXXXXX)
    log="$work/serve.log"
    cleanup() {
        st=$?
        [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$log" >&2; }
        [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
        rm -rf "$work"
    }
    trap cleanup EXIT INT TERM
    export FK_DATA_DIR="$work/data"
    unset FK_DB
    "$BIN" init >/dev/null
    "$BIN" demo --persons 10 --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
    bench_serve "$BIN" "$log"
    cookie=$(bench_login "$work/accounts.txt" command_center)
    [ -n "$cookie" ] || { say "could not sign in"; exit 1; }
fi
FILL=$(dirname "$BIN")/bench_lookup_fill
[ -x "$FILL" ] || make -s "$FILL" >&2
DB="$FK_DATA_DIR/fangkong.db"
KEY=${FK_KEY_FILE:-$FK_DATA_DIR/keys/master.key}
base="http://127.0.0.1:$port"
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$srv/stat; }
mono() { date +%s.%N; }
majflt() { awk '{ print $12 }' /proc/$srv/stat; } # pages read from disk, not found in the page cache
lw="$work/lookup"
mkdir -p "$lw"

# ---- the data ------------------------------------------------------------------------------
region=$(sqlite3 "$DB" "SELECT code FROM regions WHERE level = 6 ORDER BY code LIMIT 1")
say "registry: $PERSONS people in region $region, upload of $ROWS ids..."
t0=$(mono)
"$FILL" "$KEY" "$DB" "$region" "$PERSONS" "$ROWS" "$lw"
t1=$(mono)
fill_s=$(calc "$t1 - $t0" 1)
per=$((RESULTS / PERSONS))
[ "$per" -ge 1 ] || per=1
now=$(($(date +%s) * 1000))
say "writing $((per * PERSONS)) test results by SQL ($per a person)..."
t0=$(mono)
sqlite3 "$DB" ".timeout 60000" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
    WHERE i < $((per * PERSONS - 1))) INSERT INTO test_results (id, person_id, region_code, result,
    sampled_at, reported_at, user_id, created_at, institution) SELECT 2000000000000 + i,
    1000000000000 + i / $per, $region, CASE WHEN i % 997 = 0 THEN 'positive' ELSE 'negative' END,
    $now - 3600000 - (i % $per) * 43200000, $now - (i % $per) * 43200000, 1, $now,
    CASE i % 3 WHEN 0 THEN '第一检测所' WHEN 1 THEN '第二检测所' ELSE '市疾控中心检验科' END FROM n"
t1=$(mono)
results_s=$(calc "$t1 - $t0" 1)
xsize=$(wc -c <"$lw/ids.xlsx")

# ---- the batch -----------------------------------------------------------------------------
say "batch of $ROWS ids ($(calc "$xsize / 1048576" 1) MB xlsx)..."
echo 5 >/proc/$srv/clear_refs 2>/dev/null || true
if [ -n "${BENCH_PERF:-}" ]; then
    # shellcheck disable=SC2086
    perf record ${BENCH_PERF_OPTS:-} -o "$BENCH_PERF" -p "$srv" 2>/dev/null &
    perf_pid=$!
fi
c0=$(cpu_s)
f0=$(majflt)
t0=$(mono)
curl -s -X POST -H "Cookie: $cookie" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$lw/ids.xlsx" "$base/api/v1/nat/batches?file_name=ids.xlsx" >"$lw/post.json"
id=$(jsonfield id <"$lw/post.json")
[ -n "$id" ] || { say "upload refused: $(cat "$lw/post.json")"; exit 1; }
state=$(bench_poll "$base/api/v1/nat/batches/$id" "$cookie" state 'done|failed' "$lw/batch.json")
t1=$(mono)
c1=$(cpu_s)
faults=$(($(majflt) - f0))
[ -n "${perf_pid:-}" ] && { kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" || true; }
[ "$state" = done ] || { say "batch failed: $(cat "$lw/batch.json")"; exit 1; }
batch_s=$(calc "$t1 - $t0" 2)
cpu=$(calc "$c1 - $c0" 2)
rss_mb=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' /proc/$srv/status)
# of which anonymous memory now (the rest of the peak: the database's pages
# the worker maps, shared with the page cache)
anon_mb=$(awk '/RssAnon/ { printf "%.0f", $2 / 1024 }' /proc/$srv/status)
found=$(jsonfield found <"$lw/batch.json")
notfound=$(jsonfield not_found <"$lw/batch.json")
malformed=$(jsonfield malformed <"$lw/batch.json")
timing=$(grep '"nat_lookup_timing"' "$log" | tail -1 |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(`${j.read_ms} ${j.lookup_ms} ${j.write_ms}`)})')
set -- $timing
read_ms=$1 lookup_ms=$2 write_ms=$3
curl -s -o "$lw/result.xlsx" -H "Cookie: $cookie" "$base/api/v1/nat/batches/$id/result.xlsx"
rsize=$(wc -c <"$lw/result.xlsx")

# ---- the reference: sqlite3 joining the same ids from a CSV --------------------------------
sqlite3 "$lw/ref.db" "CREATE TABLE ids (idn TEXT PRIMARY KEY, person_id INTEGER)" \
    ".import --csv $lw/ref.csv ids"
since=$(($(date +%s) * 1000 - 2 * 86400000))
t0=$(mono)
sqlite3 "$DB" ".timeout 60000" "ATTACH '$lw/ref.db' AS ref" "CREATE TEMP TABLE q (idn TEXT)" \
    ".import --csv $lw/ids.csv q" ".headers off" ".mode csv" ".once $lw/ref-out.csv" \
    "SELECT q.rowid, q.idn, r.person_id, (SELECT result || ',' || sampled_at || ',' ||
     reported_at || ',' || institution FROM test_results t WHERE t.person_id = r.person_id
     ORDER BY sampled_at DESC LIMIT 1), (SELECT COUNT(*) FROM test_results t WHERE
     t.person_id = r.person_id AND t.sampled_at >= $since) FROM q LEFT JOIN ref.ids r
     ON r.idn = q.idn ORDER BY q.rowid"
t1=$(mono)
ref_s=$(calc "$t1 - $t0" 2)
ratio=$(calc "$batch_s / $ref_s" 2)
# the same answer: as many ids found as the reference found
ref_found=$(awk -F, '$3 != ""' "$lw/ref-out.csv" | wc -l)
[ "$ref_found" = "$found" ] || { say "found $found ids, the reference $ref_found"; exit 1; }
per_min=$(calc "$ROWS / $batch_s * 60" 0)
seed_ratio=$(calc "$per_min / 10000" 0)

cat >&2 <<EOF
== batch look-up (POST /api/v1/nat/batches, xlsx), $ROWS ids, $PERSONS people, $((per * PERSONS)) results
  data:       registry and files ${fill_s}s, results by SQL ${results_s}s
  batch:      ${batch_s}s wall from the upload to done (goal <= 10 s), server CPU ${cpu}s, $faults major page faults
              job: read ${read_ms} ms, look-up ${lookup_ms} ms, write ${write_ms} ms
              found $found, not found $notfound, malformed $malformed; result ${rsize} bytes
  peak RSS:   ${rss_mb} MB (server, VmHWM reset at the upload; anonymous after the run ${anon_mb} MB)
  vs seed:    $per_min ids/min = ${seed_ratio}x the seed's 10,000/min
  reference:  sqlite3 CSV import + join, plaintext ids, CSV out: ${ref_s}s; ratio ${ratio}
EOF
echo "lookup rows=$ROWS persons=$PERSONS results=$((per * PERSONS)) batch_s=$batch_s cpu_s=$cpu majflt=$faults read_ms=$read_ms lookup_ms=$lookup_ms write_ms=$write_ms rss_mb=$rss_mb anon_mb=$anon_mb per_min=$per_min seed_ratio=$seed_ratio ref_s=$ref_s ratio=$ratio"

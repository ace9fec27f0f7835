#!/bin/sh
# The case workflow's benches (docs/benchmarks.md "The case workflow"), one
# script for `make bench` and for a run of its own:
#
#   import  the Excel import of BENCH_IMPORT_ROWS people (default 100,000;
#           goal <= 10 s) through POST /api/v1/observations/import, timed
#           from the upload to the job's end (wall) and by the server's CPU
#           time over the same span (utime + stime of the process, from
#           /proc: the machine is shared, the CPU is the cost), as a ratio to
#           `sqlite3 .import` of the same rows as CSV into a bare table, in
#           the same run; with the job's own `import_timing` line and the
#           server's peak RSS during the import;
#   export  the xlsx export of the observation list: up to BENCH_EXPORT_ROWS
#           rows (goal <= 60 s at 1,000,000), released observations of people
#           not on the list written in bulk by SQL to reach it (0: the list as
#           it is); with the server's peak RSS during the export (VmHWM reset
#           just before: constant memory);
#   report  a custom report listing every person (8 columns) exported to
#           xlsx by an export job (goal <= 60 s at 1,000,000), as a ratio to
#           sqlite3 -csv of the same raw columns, with the server's peak
#           private memory (RssAnon sampled) during the export;
#   stats   the leaders' statistics (GET /api/v1/stats/summary with every
#           measure the page may show, /stats/series of a month, cumulative;
#           goal <= 20 ms a request) one request at a time, as a ratio to GET
#           /api/v1/me (session, principal, JSON reply) measured the same way.
#
# Usage:
#   bench/cases.sh BIN PORT COOKIE SERVER_PID WORKDIR
#       from bench/run.sh, on its demo city and server (FK_DATA_DIR set,
#       SQLite): every section (BENCH_EXPORT_ROWS default 1,000,000); prints
#       the figures, then one line "cases <key>=<value>..." for run.sh.
#   bench/cases.sh [BIN]
#       alone: its own server on a new city of BENCH_PERSONS people (default
#       10), the import and the export of the list it made (BENCH_EXPORT_ROWS
#       default 0).
# BENCH_CASES=import,export,report,stats picks the sections; BENCH_PERF=FILE
# records the server with `perf record` during the import (a flat profile;
# BENCH_PERF_OPTS="--call-graph dwarf" adds the callers).
set -eu
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
jsonfield() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=process.argv[1].split(".").reduce((o,k)=>o&&o[k],j);console.log(typeof v==="object"?JSON.stringify(v):v??"")})' "$1"; }
say() { echo "bench: $*" >&2; }

. "$(dirname "$0")/lib.sh" # bench_serve, bench_login
if [ $# -ge 5 ]; then
    BIN=$1 port=$2 cookie=$3 srv=$4 work=$5
    SECTIONS=${BENCH_CASES:-import,export,report,stats}
    EXPORT_ROWS=${BENCH_EXPORT_ROWS:-1000000}
else
    BIN=$(readlink -f "${1:-build/fangkong}")
    cd "$(dirname "$0")/.."
    SECTIONS=${BENCH_CASES:-import,export,report}
    EXPORT_ROWS=${BENCH_EXPORT_ROWS:-0}
    work=$(mktemp -d /tmp/fk-bench-cases.XXXXXX)
    cleanup() {
        st=$?
        [ "$st" = 0 ] || { say "failed ($st); the server's log ends:"; tail -5 "$work/serve.log" >&2; }
        [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
        rm -rf "$work"
    }
    trap cleanup EXIT INT TERM
    export FK_DATA_DIR="$work/data"
    unset FK_DB
    "$BIN" init >/dev/null
    "$BIN" demo --persons "${BENCH_PERSONS:-10}" --seed 1 >"$work/accounts.txt" 2>"$work/demo.log"
    bench_serve "$BIN" "$work/serve.log"
    cookie=$(bench_login "$work/accounts.txt" command_center)
    [ -n "$cookie" ] || { say "could not sign in"; exit 1; }
fi
ROWS=${BENCH_IMPORT_ROWS:-100000}
PY=${FK_PYTHON:-/usr/bin/python3}
DB="$FK_DATA_DIR/fangkong.db"
base="http://127.0.0.1:$port"
api() { curl -s -X "$1" -H "Cookie: $cookie" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"; }
has() { case ",$SECTIONS," in *",$1,"*) return 0 ;; esac; return 1; }
# the server's CPU time so far (every thread's user + system), in seconds
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$srv/stat; }
people=$(sqlite3 "$DB" "SELECT COUNT(*) FROM persons WHERE deleted_at = 0")
out="" # the "cases" line's pairs
report="" # the figures, printed at the end

# ---- import ----------------------------------------------------------------------------------
if has import; then
    # the rows go to the first 100 communities in scope, as a city's would
    communities=$(api GET "/api/v1/regions?level=community&page_size=100" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items.map(i=>i.code).join(",")))')
    [ -n "$communities" ] || { say "no community in scope"; exit 1; }
    say "writing $ROWS rows with openpyxl..."
    "$PY" bench/obs_rows.py "$ROWS" "$communities" "$work/up.xlsx" "$work/up.csv"

    t0=$(date +%s.%N)
    sqlite3 "$work/plain.db" "CREATE TABLE t (name TEXT, id_type TEXT, id_number TEXT, gender TEXT, phone TEXT, address TEXT, region TEXT, kind TEXT, start TEXT);" \
        ".mode csv" ".import $work/up.csv t"
    t1=$(date +%s.%N)
    csv_s=$(calc "$t1 - $t0" 3)

    if [ -n "${BENCH_PERF:-}" ]; then
        perf record -q -F 999 ${BENCH_PERF_OPTS:-} -p "$srv" -o "$BENCH_PERF" 2>/dev/null &
        perf=$!
        sleep 0.5
    fi
    echo 5 >/proc/$srv/clear_refs # VmHWM from here: the import's peak
    c0=$(cpu_s)
    t0=$(date +%s.%N)
    job=$(curl -s -H "Cookie: $cookie" -H "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" \
        --data-binary @"$work/up.xlsx" "$base/api/v1/observations/import" | jsonfield job_id)
    [ -n "$job" ] || { say "upload refused"; exit 1; }
    s=$(bench_poll "$base/api/v1/jobs/$job" "$cookie" status 'done|failed' "$work/job.json")
    st=$(cat "$work/job.json")
    t1=$(date +%s.%N)
    c1=$(cpu_s)
    imp_hwm=$(awk '/VmHWM/ {print $2}' /proc/$srv/status)
    [ -n "${perf:-}" ] && { kill -INT "$perf"; wait "$perf" || true; }
    imp_s=$(calc "$t1 - $t0")
    imp_cpu=$(calc "$c1 - $c0")
    result=$(echo "$st" | jsonfield result)
    say "import job $s: $result"
    echo "$result" | grep -q "\"written\":$ROWS," || { say "the import did not write every row"; exit 1; }
    timing=$(grep -h '"import_timing"' "$work/serve.log" | tail -1 |
        sed 's/.*"read_ms":"\([^"]*\)","write_ms":"\([^"]*\)","commit_ms":"\([^"]*\)".*"reader_writer_wait_ms":"\([^"]*\)".*/read \1, write \2 (both threads), commit \3 ms wall\/cpu; the reader and the writer waited \4 ms/')
    report="$report
== Excel import (POST /api/v1/observations/import), $ROWS rows into a city of $people people
fangkong   ${imp_s} s wall from the upload to the job's end, ${imp_cpu} s of the server's CPU (goal <= 10 s)
job        ${timing}; the server's peak RSS $((imp_hwm / 1024)) MB
sqlite3    ${csv_s} s (.import of the same rows as CSV into a bare table)
ratio      $(calc "$imp_s / $csv_s" 0)x wall, $(calc "$imp_cpu / $csv_s" 0)x CPU
"
    out="$out import_s=$imp_s import_cpu_s=$imp_cpu csv_s=$csv_s import_ratio=$(calc "$imp_s / $csv_s" 0)"
fi

# ---- export ----------------------------------------------------------------------------------
if has export; then
    # released observations of people not on the list, up to EXPORT_ROWS rows
    have=$(sqlite3 "$DB" "SELECT COUNT(*) FROM observations")
    more=$((EXPORT_ROWS - have))
    if [ "$more" -gt 0 ]; then
        t0=$(date +%s.%N)
        now=$(($(date +%s) * 1000))
        day=86400000
        sqlite3 "$DB" ".timeout 60000" "INSERT INTO observations (id, person_id, region_code, kind, source,
            state, start_at, planned_end_at, ended_at, created_by, created_at, updated_at)
            SELECT p.id, p.id, p.region_code, 'home_observation', 'grid_patrol', 'released',
                   $now - 30 * $day, $now - 16 * $day, $now - 16 * $day, 0, $now - 30 * $day,
                   $now - 16 * $day
            FROM persons p WHERE p.deleted_at = 0
              AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.person_id = p.id)
            ORDER BY p.id LIMIT $more"
        t1=$(date +%s.%N)
        say "$(sqlite3 "$DB" "SELECT COUNT(*) FROM observations") observations ($more written by SQL in $(calc "$t1 - $t0" 1) s)"
    fi
    exp_rows=$(sqlite3 "$DB" "SELECT COUNT(*) FROM observations")
    rss0=$(awk '/VmRSS/ {print $2}' /proc/$srv/status)
    echo 5 >/proc/$srv/clear_refs # VmHWM from here: the export's peak
    t0=$(date +%s.%N)
    code=$(curl -s -H "Cookie: $cookie" -o "$work/export.xlsx" -w '%{http_code}' --max-time 900 \
        "$base/api/v1/observations/export.xlsx") || code="curl failed ($?)"
    t1=$(date +%s.%N)
    exp_s=$(calc "$t1 - $t0" 1)
    hwm=$(awk '/VmHWM/ {print $2}' /proc/$srv/status)
    [ "$code" = 200 ] || { say "export answered $code"; exit 1; }
    exp_mb=$(ls -l "$work/export.xlsx" | awk '{printf "%.1f", $5/1048576}')
    rm -f "$work/export.xlsx"
    report="$report
== xlsx export of the observation list (GET /api/v1/observations/export.xlsx), $exp_rows rows
fangkong   ${exp_s} s, ${exp_mb} MB (goal <= 60 s at 1,000,000)
memory     server RSS $((rss0 / 1024)) MB before, peak $((hwm / 1024)) MB during the export
"
    out="$out export_rows=$exp_rows export_s=$exp_s export_rss_mb=$((hwm / 1024))"
fi

# ---- a custom report's export ------------------------------------------------------------------
if has report; then
    # a listing of every person (docs/reports.md) written by an export job:
    # the path a report of a million rows takes. RssAnon is sampled (the
    # file's mapped pages would count in VmHWM): flat memory is the goal.
    def=$(api POST /api/v1/custom-reports '{"name":"人员明细","dataset":"persons","fields":[{"name":"region_code"},{"name":"gender"},{"name":"birth_date"},{"name":"category"},{"name":"status"},{"name":"source"},{"name":"inbound"},{"name":"created_at"}]}' | jsonfield id)
    [ -n "$def" ] || { say "the report was not defined"; exit 1; }
    rep_rows=$(sqlite3 "$DB" "SELECT COUNT(*) FROM persons WHERE deleted_at = 0")
    # the reference: sqlite3 writing the same rows' raw columns as CSV
    t0=$(date +%s.%N)
    sqlite3 -csv "$DB" "SELECT region_code, gender, birth_date, category, status, source, inbound, created_at
        FROM persons WHERE deleted_at = 0 ORDER BY id" >"$work/report-ref.csv"
    t1=$(date +%s.%N)
    ref_s=$(calc "$t1 - $t0" 2)
    rm -f "$work/report-ref.csv"
    anon0=$(awk '/RssAnon/ {print $2}' /proc/$srv/status)
    (peak=0; while kill -0 "$srv" 2>/dev/null && [ ! -e "$work/report.stop" ]; do
        v=$(awk '/RssAnon/ {print $2}' /proc/$srv/status 2>/dev/null || echo 0)
        [ "${v:-0}" -gt "$peak" ] && peak=$v && echo "$peak" >"$work/report.peak"
        sleep 0.05; done) &
    sampler=$!
    t0=$(date +%s.%N)
    job=$(api POST /api/v1/exports "{\"list\":\"custom_reports\",\"format\":\"xlsx\",\"filters\":{\"id\":\"$def\"}}" | jsonfield job_id)
    [ -n "$job" ] || { say "the export job was not started"; touch "$work/report.stop"; exit 1; }
    while :; do
        st=$(api GET "/api/v1/jobs/$job" | jsonfield status)
        [ "$st" = done ] || [ "$st" = failed ] && break
        sleep 0.2
    done
    t1=$(date +%s.%N)
    touch "$work/report.stop"
    wait "$sampler" 2>/dev/null || true
    rep_s=$(calc "$t1 - $t0" 1)
    [ "$st" = done ] || { say "the report's export job $st"; exit 1; }
    curl -s -H "Cookie: $cookie" -o "$work/report.xlsx" "$base/api/v1/jobs/$job/file"
    rep_mb=$(ls -l "$work/report.xlsx" | awk '{printf "%.1f", $5/1048576}')
    rm -f "$work/report.xlsx"
    peak=$(cat "$work/report.peak" 2>/dev/null || echo "$anon0")
    report="$report
== custom report (persons, 8 columns) exported to xlsx by an export job, $rep_rows rows
fangkong   ${rep_s} s, ${rep_mb} MB (goal <= 60 s at 1,000,000)
reference  ${ref_s} s (sqlite3 -csv of the same columns, raw)
ratio      $(calc "$rep_s / $ref_s" 1)x
memory     server private memory $((anon0 / 1024)) MB before, peak $((peak / 1024)) MB during the export
"
    out="$out report_rows=$rep_rows report_s=$rep_s report_ref_s=$ref_s report_anon_mb=$((peak / 1024))"
fi

# ---- the leaders' statistics -----------------------------------------------------------------
if has stats; then
    measures=$(api GET /api/v1/stats/measures |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).items.slice(0,20).map(i=>i.name).join(",")))')
    people=$(sqlite3 "$DB" "SELECT COUNT(*) FROM persons WHERE deleted_at = 0")
    workflow=$(sqlite3 "$DB" "SELECT COUNT(*) FROM persons WHERE deleted_at = 0 AND status <> 'normal'")
    sum_path="/api/v1/stats/summary?measures=$measures"
    ser_path="/api/v1/stats/series?measure=case.observe.new&cumulative=1"
    for p in "$sum_path" "$ser_path"; do
        api GET "$p" | grep -q '"error"' && { say "$p answered an error: $(api GET "$p")"; exit 1; }
    done
    observed=$(api GET "/api/v1/stats/summary?measures=case.observe.new" | jsonfield items.0.value)
    lat() { # PATH -> "avg_ms p99_ms": one connection, one request at a time
        wrk -t1 -c1 -d1s -H "Cookie: $cookie" "$base$1" >/dev/null
        wrk -t1 -c1 -d"${BENCH_STATS_SECONDS:-5}s" --latency -H "Cookie: $cookie" "$base$1" >"$work/lat.txt"
        ! grep -q Non-2xx "$work/lat.txt" || { say "$1: non-2xx replies"; exit 1; }
        awk 'function ms(v) { if (v ~ /us$/) { sub(/us/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms/, "", v); return v } sub(/s/, "", v); return v * 1000 }
             $1 == "Latency" && !a { a = ms($2) } $1 == "99%" { p = ms($2) } END { printf "%.2f %.2f\n", a, p }' "$work/lat.txt"
    }
    set -- $(lat "$sum_path")
    sum_ms=$1 sum_p99=$2
    set -- $(lat "$ser_path")
    ser_ms=$1 ser_p99=$2
    set -- $(lat /api/v1/me)
    me_ms=$1 me_p99=$2
    report="$report
== leaders' statistics, $people people of whom $workflow in the workflow ($observed observations opened), one request at a time
summary    ${sum_ms} ms mean, p99 ${sum_p99} ms ($(echo "$measures" | tr ',' '\n' | wc -l) measures; goal <= 20 ms)
series     ${ser_ms} ms mean, p99 ${ser_p99} ms (30 days, cumulative)
reference  ${me_ms} ms mean, p99 ${me_p99} ms (GET /api/v1/me)
ratio      $(calc "$sum_ms / $me_ms" 1)x / $(calc "$ser_ms / $me_ms" 1)x
"
    out="$out people=$people workflow=$workflow summary_ms=$sum_ms series_ms=$ser_ms me_ms=$me_ms stats_ratio=$(calc "$sum_ms / $me_ms" 1)"
fi

echo "$report" >&2
echo "cases${out}"

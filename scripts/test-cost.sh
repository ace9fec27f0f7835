#!/bin/sh
# scripts/test-cost.sh SUITE [FILE...]: what each test file of a suite costs,
# in CPU time rather than wall time (the CI machine and the development
# machine are shared and loaded, so a file's wall time is mostly noise).
#
#   SUITE  api       tests/api on the release build (build/fangkong)
#          api-san   tests/api on the sanitizer build (build-san/fangkong, FK_SAN=1)
#          api-pg    tests/api on the release build against PostgreSQL: run the
#                    script itself under scripts/with-postgres.sh; the cluster's
#                    CPU (its postmaster's reaped backends) is added per file
#                    when JOBS=1
#          browser   tests/browser (build/fangkong, web/dist), Chromium included
#   FILE   test files (default: every *.test.mjs of the suite's folder)
#   JOBS   files measured at a time (default 1; CPU figures stay exact at
#          any JOBS, the wall and wait columns do not)
#   OUT    the table's file (default /tmp/test-cost-SUITE.tsv)
#
# Every file runs under /usr/bin/time, which counts the user and system time
# of the whole process tree it waited for: node, the fangkong servers and CLI
# commands the file started, Chromium. One line per file, tab-separated:
#   file  tests  wall_s  user_s  sys_s  cpu_s  wait_s  status
# wait_s = wall - cpu: for a file run alone on an idle machine, the time it
# spent waiting (timers, sleeps, polls); on a loaded machine it also holds the
# time spent queued for a core. The table ends with the sums and is printed
# sorted by CPU, then by wait.
set -eu

suite=${1:-}
[ -n "$suite" ] || { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

case $suite in
api) dir=tests/api bin=build/fangkong san= ;;
api-san) dir=tests/api bin=build-san/fangkong san=1 ;;
api-pg)
    dir=tests/api bin=build/fangkong san=
    [ -n "${FK_DB:-}" ] || { echo "test-cost: api-pg runs under scripts/with-postgres.sh" >&2; exit 2; }
    ;;
browser) dir=tests/browser bin=build/fangkong san= ;;
*) echo "test-cost: unknown suite $suite (api, api-san, api-pg, browser)" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "test-cost: $bin missing (make${san:+ SAN=1} $bin)" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$dir"/*.test.mjs

out=${OUT:-/tmp/test-cost-$suite.tsv}
jobs=${JOBS:-1}
# one work folder for the run; the per-file workers (--one) inherit it (not an
# FK_ name: `fangkong doctor` reports FK_ variables it does not know)
if [ -z "${TEST_COST_WORK:-}" ]; then
    TEST_COST_WORK=$(mktemp -d "${TMPDIR:-/tmp}/fk-cost.XXXXXX")
    export TEST_COST_WORK
    trap 'rm -rf "$TEST_COST_WORK"' EXIT
fi
work=$TEST_COST_WORK

# The PostgreSQL cluster's CPU so far, in clock ticks: its postmaster's own
# and its reaped children's (the backends of closed connections), plus the
# children alive now (checkpointer, WAL writer, open backends).
pg_ticks() {
    if [ "$suite" != api-pg ] || [ "$jobs" != 1 ]; then
        echo 0
        return
    fi
    data=$(psql -X -tA -d postgres -c 'SHOW data_directory' 2>/dev/null) || { echo 0; return; }
    pid=$(head -1 "$data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    [ -r "/proc/$pid/stat" ] || { echo 0; return; }
    {
        cat "/proc/$pid/stat"
        # shellcheck disable=SC2013 # the children files hold pids separated by spaces
        for c in $(cat /proc/"$pid"/task/*/children); do cat "/proc/$c/stat" 2>/dev/null || true; done
    } | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t }'
}

# measure FILE: one table line into $work/<n>.line
measure() {
    f=$1
    key=$(echo "$f" | tr '/' '_')
    before=$(pg_ticks)
    status=0
    env FK_BIN="$root/$bin" ${san:+FK_SAN=1} /usr/bin/time -f '%e %U %S' -o "$work/$key.time" \
        node --test --test-reporter=tap "$f" >"$work/$key.log" 2>&1 || status=$?
    after=$(pg_ticks)
    tests=$(sed -n 's/^# tests \([0-9]*\)$/\1/p' "$work/$key.log" | tail -1)
    # the time line is the file's last (a non-zero exit adds one before it)
    read -r wall user sys <<EOF
$(tail -1 "$work/$key.time")
EOF
    pg=$(awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
    awk -v f="$f" -v n="${tests:-0}" -v e="$wall" -v u="$user" -v s="$sys" -v p="$pg" -v st="$status" \
        'BEGIN { c = u + s + p; w = e - c; if (w < 0) w = 0;
                 printf "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n", f, n, e, u, s + p, c, w, st }' \
        >"$work/$key.line"
    [ "$status" = 0 ] || { echo "test-cost: $f failed (log kept in $out.$key.log)" >&2; cp "$work/$key.log" "$out.$key.log"; }
    cat "$work/$key.line" >&2
}

if [ "${1:-}" = --one ]; then
    shift
    measure "$1"
    exit 0
fi

for f in "$@"; do echo "$f"; done |
    xargs -P "$jobs" -I{} "$root/scripts/test-cost.sh" "$suite" --one {} || true

{
    printf 'file\ttests\twall_s\tuser_s\tsys_s\tcpu_s\twait_s\tstatus\n'
    cat "$work"/*.line | sort -t "$(printf '\t')" -k6,6nr -k7,7nr
    cat "$work"/*.line | awk -F '\t' '{ n += $2; e += $3; u += $4; s += $5; c += $6; w += $7 }
        END { printf "TOTAL %d files\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t-\n", NR, n, e, u, s, c, w }'
} >"$out"
column -t -s "$(printf '\t')" "$out"
echo "test-cost: $out (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2

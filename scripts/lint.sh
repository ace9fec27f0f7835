#!/bin/sh
# Mechanical style checks run by `make test`: banned functions, SQL built
# with printf, and clang-format conformance.
set -eu
cd "$(dirname "$0")/.."
status=0
# functions that have bitten C programs for decades; use the bounded ones
banned='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|strtok|tmpnam|mktemp)\s*\('
if grep -rnE "$banned" src --include='*.[ch]'; then
    echo "lint: banned function (use snprintf, memcpy with a length, strtol, strtok_r)" >&2
    status=1
fi
if grep -rnE '(s?n?printf|strcat|asprintf)\s*\(.*"[^"]*\b(SELECT|INSERT|UPDATE|DELETE)\b[^"]*%' src; then
    echo "lint: SQL built with printf: bind parameters instead" >&2
    status=1
fi
# Stepping is db_run/db_row (db/db.h): only the drivers compare db_step's
# results, so a database error is never read as "no row".
if grep -rnE '\b(db_step|DB_ROW|DB_DONE)\b' src --include='*.c' |
    grep -vE '^src/db/'; then
    echo "lint: step results compared by hand: use db_run or db_row (db/db.h)" >&2
    status=1
fi
# Paging is written once (base/paging.h): a list binds paging_offset's
# OFFSET, never its own "(page - 1) * size".
if grep -rnE '\bpage\s*-\s*1\b' src --include='*.c' | grep -v '^src/base/paging.c:'; then
    echo "lint: OFFSET computed by hand: use paging_offset or paging_window (base/paging.h)" >&2
    status=1
fi
# China time is written once (base/time.h): no other file adds the offset.
if grep -rnE '8 \* 3600|28800' src --include='*.c' | grep -v '^src/base/time.c:'; then
    echo "lint: China time computed by hand: use base/time.h" >&2
    status=1
fi
# The request arena is passed down (issue 8): a function inside a request
# takes its caller's arena. A private one is for work that outlives a
# request or has none (threads, jobs, start-up batches, commands), and the
# comment just above it (or on its line) says which.
for f in $(grep -rl 'arena_new(' src --include='*.c'); do
    [ "$f" = src/base/arena.c ] && continue
    if awk -v f="$f" '/arena_new\(/ && !/\/\*/ && prev !~ /\*\/[ \t]*$/ { print f ":" NR ": " $0; bad = 1 }
                      { prev = $0 } END { exit bad }' "$f"; then :; else
        echo "lint: a private arena without a comment saying why (take the caller's arena)" >&2
        status=1
    fi
done
# Layers depend one way (../shared/DESIGN.md §3): base < db < security < http
# < capabilities. Infrastructure never includes a capability's header, nor a
# layer above its own.
layer_rank() {
    case $1 in base) echo 0 ;; db) echo 1 ;; security) echo 2 ;; http) echo 3 ;; *) echo 4 ;; esac
}
for f in $(find src -mindepth 2 -name '*.[ch]'); do
    from=$(echo "$f" | cut -d/ -f2)
    rf=$(layer_rank "$from")
    [ "$rf" -lt 4 ] || continue
    for inc in $(grep -hoE '^#include "[a-z_]+(/|\.h")' "$f" | sed -E 's/#include "([a-z_]+)(\/|\.h")/\1/'); do
        [ "$inc" = "$from" ] && continue
        if [ "$(layer_rank "$inc")" -ge "$rf" ]; then
            echo "$f: includes $inc/, a layer at or above $from/" >&2
            status=1
        fi
    done
done
# No cycles between capabilities: where two need each other, one offers a
# hook that src/app.c wires (person_on_change, code_on_pass, …).
edges=$(for f in $(find src -mindepth 2 -name '*.[ch]'); do
    from=$(echo "$f" | cut -d/ -f2)
    for inc in $(grep -hoE '^#include "[a-z_]+/' "$f" | sed -E 's/#include "([a-z_]+)\//\1/'); do
        [ "$inc" != "$from" ] && echo "$from $inc"
    done
done | sort -u)
if ! echo "$edges" | tsort >/dev/null 2>/tmp/fk-lint-tsort.$$; then
    echo "lint: capabilities include each other in a cycle (use a hook wired in src/app.c):" >&2
    grep -v 'input contains a loop' /tmp/fk-lint-tsort.$$ >&2 || true
    status=1
fi
rm -f /tmp/fk-lint-tsort.$$
# Every err a header declares is MUST_USE (base/error.h): a dropped error
# is a write that did not happen with nobody told.
unmarked=$(find src -name '*.h' -exec perl -0ne \
    'while (/^err \w+\([^;{]*;/mg) { my $d = $&; print "$ARGV: ", (split /\n/, $d)[0], "\n" unless $d =~ /MUST_USE|warn_unused_result/ }' {} +)
if [ -n "$unmarked" ]; then
    echo "lint: err declarations without MUST_USE:" >&2
    echo "$unmarked" >&2
    status=1
fi
# Every error code raised in src/ is in the table of src/http/errors.c (which
# the OpenAPI document lists) and vice versa, and docs/errors.md is current.
if ! scripts/error-codes.sh --check; then
    echo "lint: error codes and their table disagree (see docs/errors.md)" >&2
    status=1
fi
# Written once (issue 8): a refusal is audited by audit_refusal, whose one
# policy reads the error's slug; a CSV export is sent by reply_csv and a
# page of a list by reply_page (http/http.h). No handler restates them.
once() { # pattern, the one file that may hold it, what to use instead
    hits=$(grep -rnE "$1" src --include='*.c' | grep -v "^$2:" || true)
    if [ -n "$hits" ]; then
        echo "$hits" >&2
        echo "lint: $3" >&2
        status=1
    fi
}
once 'req_audit\([^;]*(err_last\(\)|err_slug\()' none 'audit a refusal with audit_refusal (security/audit.h)'
once '"text/csv; charset=utf-8"' src/http/server.c 'send a CSV export with reply_csv (http/http.h)'
once '"page_size", \(json_int_t\)' src/http/server.c 'send a page of a list with reply_page (http/http.h)'
if command -v clang-format >/dev/null 2>&1; then
    # one process for every file (one per file cost most of lint's time);
    # its diagnostics name the files
    bad=$(find src tests/unit tests/fuzz -name '*.[ch]' | xargs clang-format --dry-run --Werror 2>&1 |
        sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*-Wclang-format-violations.*/\1/p' | sort -u)
    if [ -n "$bad" ]; then
        echo "lint: not clang-formatted (run make fmt):" >&2
        echo "$bad" >&2
        status=1
    fi
fi
exit $status

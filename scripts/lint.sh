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
if command -v clang-format >/dev/null 2>&1; then
    bad=$(for f in $(find src tests/unit tests/fuzz -name '*.[ch]'); do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
    done)
    if [ -n "$bad" ]; then
        echo "lint: not clang-formatted (run make fmt):" >&2
        echo "$bad" >&2
        status=1
    fi
fi
exit $status

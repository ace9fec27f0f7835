#!/bin/sh
# Every error code ("slug") the server can send, extracted from the source.
#
# Prints one line per (slug, err class, file, message), tab-separated:
#   slug  E_CLASS  file  message
# sorted and unique. Sources, in src/**/*.c:
#   - the first string argument after the err class in err_set(),
#     err_set_ref() and err_add() (every literal of a `c ? "a" : "b"`);
#   - a SLUG_* macro in that position, resolved by its #define in the file;
#   - a wrapper `static err NAME(..., const char *slug, ...)` that passes its
#     `slug` parameter on: the literals at that position in calls of NAME
#     in the same file;
#   - the default of each class in src/base/error.c.
# A call whose slug argument is none of these (a variable re-raising a saved
# detail) adds nothing: it sends a slug raised elsewhere.
#
# Usage: scripts/error-codes.sh [--all|--slugs|--table|--markdown|--check]
#   (none)      the codes sent to clients, one line per raising site kind
#   --all       also the slugs of 500s, which the reply replaces
#   --slugs     the unique codes sent to clients
#   --table     the codes of the hand-written table src/http/errors.c
#   --markdown  docs/errors.md
#   --check     the source and the table agree, docs/errors.md is current
# POSIX sh and awk only: the build and lint must not need Python.
set -eu
cd "$(dirname "$0")/.."

extract() {
    # one awk over every file (a process per file cost seconds): each file
    # is read whole, then scanned on its own when the next one starts
    find src -name '*.c' | sort | xargs awk '
        FNR == 1 && NR > 1 { whole() }
        FNR == 1 { file = FILENAME; text = ""; incomment = 0 }
        # blank out comments line by line (string literals kept intact;
        # a C string does not span lines)
        {
            line = $0; out = ""; n = length(line); i = 1
            while (i <= n) {
                if (incomment) {
                    j = index(substr(line, i), "*/")
                    if (!j) { i = n + 1; break }
                    i += j + 1; incomment = 0; out = out " "; continue
                }
                c = substr(line, i, 1)
                if (c == "\"" || c == "\047") {
                    j = i + 1
                    while (j <= n && substr(line, j, 1) != c) {
                        if (substr(line, j, 1) == "\\") j++
                        j++
                    }
                    out = out substr(line, i, j - i + 1); i = j + 1; continue
                }
                if (substr(line, i, 2) == "/*") { incomment = 1; i += 2; continue }
                if (substr(line, i, 2) == "//") break
                out = out c; i++
            }
            text = text out "\n"
        }
        END { if (NR) whole() }
        # the slugs of one file: its macros and wrappers are its own
        function whole(    m, d, w, v, name, ps, np, pa, k, nw, b, p, cc) {
            split("", macro); split("", wslug); split("", wmsg); split("", wcode)
            # SLUG_* macros
            m = text
            while (match(m, /#define[ \t]+SLUG_[A-Z0-9_]+[ \t]+"[a-z0-9_]+"/)) {
                d = substr(m, RSTART, RLENGTH)
                split(d, w, /[ \t]+/)
                v = w[3]; gsub(/"/, "", v); macro[w[2]] = v
                m = substr(m, RSTART + RLENGTH)
            }
            # wrappers: static err NAME(params with const char *slug)
            m = text; nw = 0
            while (match(m, /static err [a-z_0-9]+\([^)]*const char \*slug[^)]*\)/)) {
                d = substr(m, RSTART, RLENGTH)
                name = d; sub(/^static err /, "", name); sub(/\(.*/, "", name)
                ps = d; sub(/^[^(]*\(/, "", ps); sub(/\)$/, "", ps)
                np = split(ps, pa, ",")
                for (k = 1; k <= np; k++) {
                    if (pa[k] ~ /\*slug$/) wslug[name] = k
                    if (pa[k] ~ /\*msg$/) wmsg[name] = k
                }
                wcode[name] = "E_INPUT"
                wname[++nw] = name
                m = substr(m, RSTART + RLENGTH)
            }
            scan(text, "err_set", 2, 4, 1)
            scan(text, "err_set_ref", 2, 4, 1)
            scan(text, "err_add", 3, 5, 2)
            for (k = 1; k <= nw; k++) {
                name = wname[k]
                # the code of a wrapper is the one its body raises
                b = text; p = index(b, "static err " name "(")
                if (p && match(substr(b, p), /err_set\([ \t\n]*E_[A-Z_]+/)) {
                    cc = substr(b, p + RSTART - 1, RLENGTH); sub(/^err_set\([ \t\n]*/, "", cc)
                    wcode[name] = cc
                }
                scan(text, name, wslug[name], wmsg[name] ? wmsg[name] : 0, 0)
            }
        }
        # split the arguments of the call starting at s (just after "(")
        function args(s,    depth, i, c, a, q) {
            nargs = 1; arg[1] = ""; depth = 0
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == "\"") {
                    q = i + 1
                    while (q <= length(s) && substr(s, q, 1) != "\"") {
                        if (substr(s, q, 1) == "\\") q++
                        q++
                    }
                    arg[nargs] = arg[nargs] substr(s, i, q - i + 1); i = q; continue
                }
                if (c == "(") depth++
                if (c == ")") { if (depth == 0) return; depth-- }
                if (c == "," && depth == 0) { arg[++nargs] = ""; continue }
                arg[nargs] = arg[nargs] c
            }
        }
        function literals(a,    r, lit) {
            r = ""
            while (match(a, /"([^"\\]|\\.)*"/)) {
                lit = substr(a, RSTART + 1, RLENGTH - 2)
                r = r (r == "" ? "" : " ") lit
                a = substr(a, RSTART + RLENGTH)
            }
            return r
        }
        function concat(a,    r) {
            r = ""
            while (match(a, /"([^"\\]|\\.)*"/)) {
                r = r substr(a, RSTART + 1, RLENGTH - 2)
                a = substr(a, RSTART + RLENGTH)
            }
            gsub(/\t/, " ", r)
            return r
        }
        # calls of fn: slug in argument si, message in mi, class in ci (0:
        # the wrapper s own class)
        function scan(t, fn, si, mi, ci,    p, pre, s, code, sl, k, nl, ls, msg) {
            while ((p = index(t, fn "(")) > 0) {
                pre = p > 1 ? substr(t, p - 1, 1) : " "
                s = substr(t, p + length(fn) + 1)
                t = s
                if (pre ~ /[A-Za-z0-9_>.]/) continue
                if (fn != "err_set" && fn != "err_set_ref" && fn != "err_add" \
                    && substr(s, 1, 200) ~ /^[^)]*const char \*slug/) continue
                args(s)
                if (nargs < si) continue
                if (ci) {
                    code = arg[ci]
                    if (!match(code, /E_[A-Z_]+/)) continue
                    code = substr(code, RSTART, RLENGTH)
                } else code = wcode[fn]
                sl = arg[si]; gsub(/^[ \t\n]+|[ \t\n]+$/, "", sl)
                ls = literals(sl)
                if (ls == "" && (sl in macro)) ls = macro[sl]
                if (ls == "") continue
                msg = mi && nargs >= mi ? concat(arg[mi]) : ""
                if (msg == "%s" && nargs > mi) msg = concat(arg[mi + 1])
                nl = split(ls, L, " ")
                for (k = 1; k <= nl; k++)
                    if (L[k] ~ /^[a-z][a-z0-9_]*$/)
                        printf "%s\t%s\t%s\t%s\n", L[k], code, file, msg
            }
        }
        '
    # the default of each class
    sed -n 's/^ *\[\(E_[A-Z_]*\)\] = {"\([a-z_]*\)", "\(.*\)"},$/\2\t\1\tsrc\/base\/error.c\t\3/p' \
        src/base/error.c | grep -v '^ok	'
}

# Server-side failures (500 other than 503) never reach the client with
# their own slug: http_error_body() sends "internal_error" instead.
# Extracted once per run: --check reads it three times.
sent() {
    [ -f "$tmp.sent" ] ||
        extract | awk -F'\t' '$1 == "internal_error" || $2 !~ /^E_(NOMEM|DB|CRYPTO|IO|INTERNAL)$/' |
        sort -u >"$tmp.sent"
    cat "$tmp.sent"
}

# The slugs of the hand-written table in src/http/errors.c.
table() {
    sed -n 's/^ *{"\([a-z0-9_]*\)", ".*"},$/\1/p' src/http/errors.c | sort -u
}

# docs/errors.md: the table of codes, from the source and src/http/errors.c.
markdown() {
    cat <<'HEAD'
# Error codes

Every error reply is `{"error":{"code","message","field"}}` (see DESIGN.md).
`code` is one of the slugs below; `message` is the Chinese text a user
reads (the one shown here is a sample: several call sites word it for their
case, `%s` and `%d` are filled in). Server-side failures answer 500 with
`internal_error` whatever their cause; their detail is logged, never sent.

The list is generated: `scripts/error-codes.sh --markdown > docs/errors.md`.
The meanings live in `src/http/errors.c`, which the OpenAPI document
(`GET /api/v1/openapi.json`, `components/schemas/Error`) lists as the
`enum` of `code`; `make lint` fails when a slug raised in `src/` has no
entry there, when an entry is no longer raised, or when this file is stale.

One condition, one code: a stale edit (the record changed since it was read)
is `version_conflict` everywhere.

| code | HTTP | meaning | message (sample) | raised by |
|---|---|---|---|---|
HEAD
    # the status of each class, from the one table in src/http/status.c
    sed -n 's/^ *\[\(E_[A-Z_]*\)\] = \([0-9]*\),$/status\t\1\t\2/p' src/http/status.c >"$tmp.status"
    sed -n 's/^ *{"\([a-z0-9_]*\)", "\(.*\)"},$/meaning\t\1\t\2/p' src/http/errors.c >"$tmp.meaning"
    sent >"$tmp.sent2"
    cat "$tmp.status" "$tmp.meaning" "$tmp.sent2" | awk -F'\t' '
        $1 == "status" { st[$2] = $3; next }
        $1 == "meaning" { mean[$2] = $3; next }
        {
            s = $1; if (!(s in seen)) { seen[s] = 1; order[++n] = s }
            code = st[$2] ? st[$2] : 500
            if (index(" " codes[s] " ", " " code " ") == 0)
                codes[s] = codes[s] (codes[s] == "" ? "" : " ") code
            split($3, p, "/"); cap = (p[2] ~ /\.c$/) ? "-" : p[2]
            if (index(", " caps[s] ", ", ", " cap ", ") == 0)
                caps[s] = caps[s] (caps[s] == "" ? "" : ", ") cap
            if (msg[s] == "" && $4 != "") { m = $4; gsub(/\|/, "\\|", m); msg[s] = m }
        }
        END {
            for (i = 1; i <= n; i++) {
                s = order[i]
                printf "| `%s` | %s | %s | %s | %s |\n", s, codes[s], mean[s], msg[s], caps[s]
            }
        }'
}

tmp=${TMPDIR:-/tmp}/fk-error-codes.$$
trap 'rm -f "$tmp".*' EXIT
case "${1:-}" in
--all) extract | sort -u ;;
--slugs) sent | cut -f1 | sort -u ;;
--table) table ;;
--markdown) markdown ;;
--check)
    # the table and the source name the same codes; docs/errors.md is current
    sent | cut -f1 | sort -u >"$tmp.src"
    table >"$tmp.tab"
    st=0
    dups=$(sed -n 's/^ *{"\([a-z0-9_]*\)", ".*"},$/\1/p' src/http/errors.c | sort | uniq -d)
    if [ -n "$dups" ]; then
        echo "error codes listed twice in src/http/errors.c (one row each, one meaning):" $dups >&2
        st=1
    fi
    missing=$(comm -23 "$tmp.src" "$tmp.tab")
    extra=$(comm -13 "$tmp.src" "$tmp.tab")
    if [ -n "$missing" ]; then
        echo "error codes raised in src/ but missing from src/http/errors.c:" >&2
        for s in $missing; do
            echo "  $s ($(sent | awk -F'\t' -v s="$s" '$1 == s { print $3 }' | sort -u | tr '\n' ' '))" >&2
        done
        st=1
    fi
    if [ -n "$extra" ]; then
        echo "error codes in src/http/errors.c that nothing in src/ raises:" $extra >&2
        st=1
    fi
    if [ $st = 0 ] && ! markdown | cmp -s - docs/errors.md; then
        echo "docs/errors.md is stale: scripts/error-codes.sh --markdown > docs/errors.md" >&2
        st=1
    fi
    exit $st
    ;;
*) sent ;;
esac

# fangkong build. `make run` and `make test` are the two commands a newcomer
# needs; both install what a fresh Debian 12 machine lacks (scripts/deps.sh).

SAN      ?= 0
FUZZ     ?= 0
BUILD    ?= build$(if $(filter 1,$(SAN)),-san,)$(if $(filter 1,$(FUZZ)),-fuzz,)
PKGS     := libevent libevent_pthreads libevent_openssl libssl jansson sqlite3 libpq libcrypto liboath libqrencode libmosquitto xlsxwriter libzip expat libxml-2.0
CC       ?= cc
ifeq ($(FUZZ),1)
# The fuzz build's objects: OSS-Fuzz's optimisation and debug flags (its
# CFLAGS: -O1 -fno-omit-frame-pointer -gline-tables-only), cheaper to compile
# than -O2 -g; a crash's stack still names each function and line
# (docs/benchmarks.md, "What make test costs").
CFLAGS   ?= -O1 -gline-tables-only
else
CFLAGS   ?= -O2 -g
endif
CFLAGS   += -std=c11 -D_GNU_SOURCE -Isrc -I$(BUILD)/gen -MMD -MP \
            -Wall -Wextra -Werror -Wformat-security -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -largon2 -lpthread -lm
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CC       := clang
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
endif
FUZZERS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 5

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJ      := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o $(BUILD)/gen/fk_vars.o
UNIT     := $(wildcard tests/unit/test_*.c)
# the longest unit programs, longest first (`make -j unit` starts them first)
UNITLONG := test_xlsx test_lease test_auth test_http_client test_user
UNITBIN  := $(UNITLONG:%=$(BUILD)/tests/%) \
            $(filter-out $(UNITLONG:%=$(BUILD)/tests/%),$(UNIT:tests/unit/%.c=$(BUILD)/tests/%))
# the unit programs with a PostgreSQL group (tests/unit/fixture.h)
UNITPG   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(shell grep -l fixture_pg_wanted $(UNIT)))

.PHONY: all deps run test unit unit-pg api api-sqlite api-pg fuzz fuzz-run bench bench-scale lint fmt clean san web browser api-sqlite-san

all: $(BUILD)/fangkong web/dist/.built

# The web front end (web/, one Vite project), built into web/dist with a
# gzip twin of every text file over 1 KiB that fangkong serves as is.
WEB_SRC := package.json package-lock.json $(shell find web -path web/dist -prune -o -type f -print)
web/dist/.built: $(WEB_SRC)
	npm run --silent build
	find web/dist -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \
	  -o -name '*.json' \) -size +1k -exec gzip -9 -k -f {} +
	@touch $@

web: web/dist/.built

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/migrations.c: $(sort $(wildcard sql/*.sql)) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	scripts/embed-sql.sh $(sort $(wildcard sql/*.sql)) > $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CFLAGS) -c $< -o $@

# the FK_ variables the sources name, for `fangkong doctor` (src/doctor)
$(BUILD)/gen/fk_vars.c: $(SRC) src/main.c scripts/fk-vars.sh
	@mkdir -p $(dir $@)
	scripts/fk-vars.sh $(SRC) src/main.c > $@

$(BUILD)/gen/fk_vars.o: $(BUILD)/gen/fk_vars.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libfk.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fangkong: $(BUILD)/src/main.o $(BUILD)/libfk.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the batch look-up bench's registry and upload (bench/lookup.sh)
$(BUILD)/bench_lookup_fill: bench/lookup_fill.c $(BUILD)/libfk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfk.a $(LDLIBS)

# the contact-tracing bench's synthetic city (bench/trace.sh)
$(BUILD)/bench_trace_fill: bench/trace_fill.c $(BUILD)/libfk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfk.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfk.a $(LDLIBS) -lcmocka

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libfk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libfk.a $(LDLIBS)

# A short run of every libFuzzer harness from its committed seed corpus
# (tests/fuzz/corpus/NAME); crashes, leaks and UB fail the target. One target
# per harness, so `make -j` runs them side by side (libFuzzer uses one core).
fuzz:
	$(MAKE) FUZZ=1 fuzz-run
fuzz-run: $(FUZZERS:%=%.run)
$(FUZZERS:%=%.run): %.run: %
	@n=$(notdir $<); mkdir -p $(BUILD)/corpus/$$n; \
	if ! $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=$<- \
	    $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n > $<.log 2>&1; then \
	  echo "== $$n failed"; tail -60 $<.log; exit 1; fi; \
	echo "== $$n ($(FUZZ_SECONDS) s): $$(grep -E '^#[0-9]+.*DONE' $<.log | tail -1)"
.PHONY: $(FUZZERS:%=%.run)

# Every unit program is a target of its own, so `make -j` runs them side by
# side (they were run one at a time, on one of the two cores); a program's
# output is printed when it ends, a failing one's too, and fails the phase.
# UNITBIN starts with the longest programs so that the tail is short.
unit: $(UNITBIN:%=%.run)
$(UNITBIN:%=%.run): %.run: %
	@if $< > $<.log 2>&1; then echo "== $<"; cat $<.log; \
	else echo "== $< FAILED"; cat $<.log; exit 1; fi
.PHONY: $(UNITBIN:%=%.run)

# The same programs against PostgreSQL too: one throwaway cluster for all of
# them (a cluster per program was 18 initdb+start+stop, ~2 CPU s and 2-3 s of
# wall each), every program on an empty database of its own, `make -j` runs
# them side by side; a program's output is printed when it ends.
unit-pg: $(UNITPG)
	scripts/with-postgres.sh $(MAKE) unit-pg-run
unit-pg-run: $(UNITPG:%=%.pgrun)
$(UNITPG:%=%.pgrun): %.pgrun: %
	@n=$$(basename $<); createdb "u_$$n"; \
	if FK_DB="postgres://$$PGUSER@$$PGHOST:$$PGPORT/u_$$n" $< > $<.pglog 2>&1; then \
	  echo "== $< (PostgreSQL)"; cat $<.pglog; \
	else echo "== $< (PostgreSQL) FAILED"; cat $<.pglog; exit 1; fi
.PHONY: unit-pg-run $(UNITPG:%=%.pgrun)

# The black-box suite, once per database driver, API_JOBS files at a time (each file
# has its own server, data directory and database: tests/api/lib.mjs). `make test` runs
# the SQLite pass only against the sanitizer build (api-sqlite-san): the same suite on the
# same driver, plus ASan/UBSan, and eight minutes less of CI. `make api-sqlite` stays for
# a quick run on the release build.
# Three files at a time on the release build (PostgreSQL pass: 723 s at two,
# 597 s at three); two on the sanitizer build, whose servers use several
# times the CPU. What each file costs in CPU: scripts/test-cost.sh SUITE
# (the release SQLite pass is ~490 CPU s for 117 files, i.e. bound by the two
# cores at three files at a time; the PostgreSQL cluster adds ~3 s per file).
# The PostgreSQL pass runs PG_API_JOBS files at a time, four: it was only
# ~60-65 % busy at three (733 s in the last fresh-clone run), and a sweep now
# connects at its first tick (db/periodic.h), so a test server costs 1.5 CPU s
# on PostgreSQL instead of 2.6, cluster included (13 connections, not 39).
# Measured at four: 595 s in the last fresh-clone run; on the shared machine
# (load 25) 1,318 CPU s, nearly half of it the cluster's (its backends: a
# server's 13 connections), and no cluster setting tried saved any
# (docs/benchmarks.md, "What make test costs"). Five or six at a time is
# untried; it would want with-postgres.sh's max_connections (500: four files of
# up to three servers of up to ~40 connections) raised.
API_JOBS ?= 3
PG_API_JOBS ?= 4
SAN_API_JOBS ?= 2
api-sqlite: $(BUILD)/fangkong
	FK_BIN=$(abspath $(BUILD)/fangkong) node --test --test-concurrency=$(API_JOBS) tests/api/

api-pg: $(BUILD)/fangkong
	FK_BIN=$(abspath $(BUILD)/fangkong) scripts/with-postgres.sh node --test --test-concurrency=$(PG_API_JOBS) tests/api/

api: api-sqlite api-pg

# Real Chromium (Debian's) driven by playwright-core against a real server.
# Two files at a time. The suite is CPU-bound (vmstat in CI: 2 % idle,
# 28 % in the kernel; Chromium's processes, not node's): a third file at a
# time gained nothing. Chromium is Debian's old headless shell
# (chromium-headless-shell) when installed: 20-40 % less CPU per file than
# the full browser's headless mode (tests/browser/lib.mjs). Most of it is the
# renderers drawing the console: a page load signed in is 1-2 CPU s, so
# files reuse a signed-in page through the router where a test does not need
# a load of its own (docs/benchmarks.md). `scripts/test-cost.sh browser`
# misses the renderers' CPU (orphaned when the browser exits, never reaped
# under /usr/bin/time): it counts a third to two thirds of what is spent.
BROWSER_JOBS ?= 2
browser: $(BUILD)/fangkong web/dist/.built
	FK_BIN=$(abspath $(BUILD)/fangkong) node --test --test-concurrency=$(BROWSER_JOBS) tests/browser/

lint:
	@scripts/lint.sh

# The unit programs again on the ASan/UBSan build, side by side as in `unit`.
san:
	$(MAKE) SAN=1 unit

# Builds, the unit programs (unit, san) and the fuzz runs use every core; the API suites run API_JOBS (PG_API_JOBS,
# SAN_API_JOBS) files at a time, the browser suite BROWSER_JOBS (run beside the PostgreSQL suite on two cores
# it saved nothing and made timing-bound tests flaky: the phases stay in sequence).
# Each phase prints its start time, so a slow run says where it went.
# The last fresh-clone run (2-core machine, quiet, 2026-12-06 after the h32
# wave): 1,891 s = build 59, lint 20, unit 38, san 149, browser 420, api-pg 498,
# unit-pg 27, api-sqlite-san 533, fuzz 147 (the run before it: 2,321 s;
# docs/benchmarks.md, "What make test costs").
NPROC    := $(shell nproc 2>/dev/null || echo 2)
STAMP     = @date -u '+== %T $(1)'
test: deps
	$(call STAMP,build)
	$(MAKE) -j$(NPROC) all
	$(call STAMP,lint)
	$(MAKE) lint
	$(call STAMP,unit)
	$(MAKE) -j$(NPROC) unit
	$(call STAMP,san)
	$(MAKE) -j$(NPROC) san
	$(call STAMP,browser)
	$(MAKE) browser
	$(call STAMP,api-pg)
	$(MAKE) api-pg
	$(call STAMP,unit-pg)
	$(MAKE) -j$(NPROC) unit-pg
	$(call STAMP,api-sqlite-san)
	$(MAKE) SAN=1 api-sqlite-san
	$(call STAMP,fuzz)
	$(MAKE) -j$(NPROC) fuzz
	$(call STAMP,done)

# ASan's allocation and free stacks 5 frames deep (not 30) and 16 MB of freed
# memory held back (not 256): 8-12 % less CPU per file of the suite
# (scripts/test-cost.sh api-san: articles 5.71 -> 5.25 s, vocab 3.82 -> 3.37,
# health 5.75 -> 5.14), which runs a few hundred sanitizer processes. Every
# error is still reported, with its own full stack; for the deeper
# allocation stacks of one report run `make SAN=1 api-sqlite-san SAN_ASAN_OPTIONS=`.
# LeakSanitizer stays on: ~0.1 of the ~0.2 CPU s every sanitizer process costs
# to start and exit (the pass runs ~200 servers and their CLI commands). A
# server's stop no longer waits a fixed second (src/http/server.c) and its job
# workers connect at their first task: ~1.1 s less wall per stop, ~0.06 CPU s
# less per server (docs/benchmarks.md, "The sanitizer pass's servers").
SAN_ASAN_OPTIONS ?= malloc_context_size=5:quarantine_size_mb=16
api-sqlite-san: $(BUILD)/fangkong
	FK_BIN=$(abspath $(BUILD)/fangkong) FK_SAN=1 ASAN_OPTIONS=$(SAN_ASAN_OPTIONS) node --test --test-concurrency=$(SAN_API_JOBS) tests/api/

run: deps
	$(MAKE) all
	@scripts/run.sh $(BUILD)/fangkong

bench: deps
	$(MAKE) all
	bench/run.sh $(BUILD)/fangkong
	scripts/with-postgres.sh bench/scale.sh $(BUILD)/fangkong

# the look-up and the scan through nginx with one and two servers on one
# PostgreSQL (docs/scaling.md's inputs)
bench-scale: deps
	$(MAKE) all
	scripts/with-postgres.sh bench/scale.sh $(BUILD)/fangkong

fmt:
	clang-format -i $$(find src tests/unit tests/fuzz -name '*.[ch]')

clean:
	rm -rf build build-san

-include $(OBJ:.o=.d) $(BUILD)/src/main.d

# the emergency drill: stages failures on loopback, writes docs/drills/DATE.md (not in test)
drill: $(BUILD)/fangkong
	FK_BIN=$(abspath $(BUILD)/fangkong) scripts/drill.sh

.PHONY: drill

# memory and the first page of every list at 10,000,000 people (bench/large.sh;
# not in test; BENCH_QUICK=1 for 200,000; the city is kept in /tmp/fk-large-city-N)
bench-large: $(BUILD)/fangkong $(BUILD)/bench_trace_fill
	bench/large.sh $(BUILD)/fangkong

.PHONY: bench-large

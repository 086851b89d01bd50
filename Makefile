# Parley build. `make` builds build/parley-server; `make run`, `make test`,
# `make bench` install what is missing first (scripts/deps.sh).
# Sources are discovered: every src/*/*.c is part of libparley except
# src/server/main.c; every tests/unit/test_*.c is one cmocka test binary.
# `make examples` builds the client examples (examples/, hiredis).

CC      ?= cc
PKGS    := raft libuv libxxhash zlib liblz4 lua5.1 openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -Isrc $(WARN) $(PKG_CFLAGS)
RELEASE_CFLAGS := $(BASE_CFLAGS) -O2
# The sanitizer build also has the test hooks (src/cmds/testhooks.c): commands
# that make a node misbehave on purpose, for the tests of divergence checks and
# poisoned entries (`make integration-san` runs them; the release run skips them).
SAN_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -DPARLEY_TEST_HOOKS
# src/base/mem.c counts every allocation of Parley's own code (used_memory,
# maxmemory): the link routes src/'s malloc, calloc, realloc and free
# through its wrappers. Every binary that links libparley needs these.
MEM_WRAP := -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=free
# Lua's bundled libraries (src/cmds/lua_libs.c): LuaBitOp links as Debian
# ships it; lua-cjson is linked from a copy of Debian's static archive whose
# malloc, realloc and free are renamed lua_ext_*, so that its buffers live in
# the script sandbox's arena (lua_libs.c says why).
CJSON_SYSTEM_A := $(shell $(CC) -print-file-name=liblua5.1-cjson.a)
CJSON_A := build/ext/liblua5.1-cjson-sandbox.a
LIBS    := $(CJSON_A) $(PKG_LIBS) -llua5.1-bitop -lm $(MEM_WRAP)
PREFIX  ?= /usr/local
PYTHON  := /usr/bin/python3

LIB_SRC  := $(filter-out src/server/main.c,$(wildcard src/*/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

REL_OBJ  := $(LIB_SRC:src/%.c=build/obj/%.o)
SAN_OBJ  := $(LIB_SRC:src/%.c=build/san/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/unit/%)
SAN_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/unit/%)

.PHONY: redis-suite all deps run test upgrade-test unit unit-san integration integration-san chaos chaos-short chaos-checker bench bench-etcd bench-tools examples install clean
all: build/parley-server

deps:
	@scripts/deps.sh

build/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(RELEASE_CFLAGS) -MMD -MP -c $< -o $@
build/san/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC (san) $<"; $(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

$(CJSON_A): $(CJSON_SYSTEM_A)
	@mkdir -p $(dir $@)
	objcopy --redefine-sym malloc=lua_ext_malloc --redefine-sym realloc=lua_ext_realloc \
	  --redefine-sym free=lua_ext_free $< $@

# Every program linking libparley also links $(CJSON_A) (in LIBS).
build/libparley.a: $(REL_OBJ) $(CJSON_A)
	@rm -f $@; ar rcs $@ $(filter %.o,$^)
build/san/libparley.a: $(SAN_OBJ) $(CJSON_A)
	@rm -f $@; ar rcs $@ $(filter %.o,$^)

# -rdynamic: the crash report's backtrace (repl/poison.c) names our functions.
build/parley-server: build/obj/server/main.o build/libparley.a
	$(CC) $(RELEASE_CFLAGS) -rdynamic $< build/libparley.a $(LIBS) -o $@
build/san/parley-server: build/san/obj/server/main.o build/san/libparley.a
	$(CC) $(SAN_CFLAGS) -rdynamic $< build/san/libparley.a $(LIBS) -o $@

build/unit/%: tests/unit/%.c build/libparley.a
	@mkdir -p $(dir $@)
	$(CC) $(RELEASE_CFLAGS) -Itests/unit $< build/libparley.a $(LIBS) -lcmocka -o $@
build/san/unit/%: tests/unit/%.c build/san/libparley.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests/unit $< build/san/libparley.a $(LIBS) -lcmocka -o $@

# Client programs (examples, benchmark clients): plain hiredis, nothing of libparley.
HIREDIS_CFLAGS := $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS   := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
EXAMPLE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O2 $(WARN) $(HIREDIS_CFLAGS)
EXAMPLE_LIBS := $(HIREDIS_LIBS) -lpthread -lm
REQREP_SRC := examples/request_reply.c examples/reqrep_pattern.c examples/reqrep_bench.c \
              examples/reqrep_conn.c
# The scenario examples: one file each, plus the connection of reqrep_conn.c.
SCENARIOS := bank workqueue mapreduce taskqueue fanout
EXAMPLES := build/examples/request_reply $(SCENARIOS:%=build/examples/%)
examples: $(EXAMPLES)
build/examples/request_reply: $(REQREP_SRC) $(wildcard examples/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) $(REQREP_SRC) $(EXAMPLE_LIBS) -o $@
$(SCENARIOS:%=build/examples/%): build/examples/%: examples/%.c examples/reqrep_conn.c $(wildcard examples/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) $< examples/reqrep_conn.c $(EXAMPLE_LIBS) -o $@

run: deps
	@$(MAKE) --no-print-directory all
	./build/parley-server $(ARGS)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done
unit-san: $(SAN_UNIT_BIN)
	@for t in $(SAN_UNIT_BIN); do echo "== $$t (asan+ubsan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(LSAN_ENV) UBSAN_OPTIONS=print_stacktrace=1 $$t || exit 1; done
integration: build/parley-server $(EXAMPLES)
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)
# The same suite against the AddressSanitizer/UBSan server: a memory error or
# a leak at a clean exit makes the server exit non-zero, which tests notice.
# Leaks inside libraft that Parley cannot free: tests/lsan.supp.
LSAN_ENV = LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp
integration-san: build/san/parley-server $(EXAMPLES)
	PARLEY_SERVER=build/san/parley-server ASAN_OPTIONS=detect_leaks=1 $(LSAN_ENV) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# A rolling upgrade (tests/integration/test_upgrade.py, README "Upgrades"): a
# 3-node cluster of the previous build, built from git into
# build/upgrade-base/<commit>/ the first time (a minute or two on two cores,
# reused after), takes writes while each node is replaced with this build;
# then the cluster's protocol version rises. Seconds once the base is built.
# The integration runs skip it. UPGRADE_SERVER=build/san/parley-server runs
# the new nodes under ASan.
UPGRADE_SERVER ?= build/parley-server
upgrade-test: $(UPGRADE_SERVER)
	PARLEY_UPGRADE_TEST=1 PARLEY_SERVER=$(UPGRADE_SERVER) ASAN_OPTIONS=detect_leaks=1 $(LSAN_ENV) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration/test_upgrade.py $(PYTEST_ARGS)

test: deps
	@$(MAKE) --no-print-directory all unit unit-san
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory integration integration-san
	@$(MAKE) --no-print-directory fuzz-diff-short
	@$(MAKE) --no-print-directory chaos-short

# The fault-injection suite (chaos/, needs root for network namespaces): the
# checker's own tests, a self-test (a client writes without recording it: the
# checker must notice), then a three-node cluster through leader kills,
# leader partitions and leader pauses, a follower kill, a split and a bridge
# node (about a minute and a half). `make chaos` is the
# long form (3 and 5 nodes, every fault class, about 9 minutes), which
# rewrites chaos/RESULTS.md.
chaos-checker:
	$(PYTHON) -m pytest -q -p no:cacheprovider chaos/test_checker.py
chaos-short: build/parley-server chaos-checker
	$(PYTHON) chaos/run.py selftest
	$(PYTHON) chaos/run.py short $(CHAOS_ARGS)
chaos: deps
	@$(MAKE) --no-print-directory all chaos-checker
	$(PYTHON) chaos/run.py selftest
	$(PYTHON) chaos/run.py long $(CHAOS_ARGS)

# The differential fuzzer (tests/fuzz/differential.py): random command
# sequences sent to a parley-server and a redis-server side by side, every
# reply compared. `make fuzz-diff` runs seeds from a random start for
# FUZZ_DIFF_SECONDS (FUZZ_DIFF_ARGS="--start 1" for fixed ones), going on
# after a difference; `fuzz-diff-short` (part of `make test`) runs 250 fixed
# seeds, at most 30 s, and fails on any difference.
.PHONY: fuzz-diff fuzz-diff-short
FUZZ_DIFF_SECONDS ?= 600
fuzz-diff: deps
	@$(MAKE) --no-print-directory all
	nice -n 10 $(PYTHON) tests/fuzz/differential.py --seconds $(FUZZ_DIFF_SECONDS) --keep-going $(FUZZ_DIFF_ARGS)
fuzz-diff-short: build/parley-server
	$(PYTHON) tests/fuzz/differential.py --seeds 1-250 --max-seconds 30

# The benchmark's own clients (hiredis): BLPOP latency, counting subscribers,
# XREADGROUP latency and XREADGROUP + XACK consumer throughput.
BENCH_TOOLS := build/bench/blpop-latency build/bench/subscribers \
	build/bench/xreadgroup-latency build/bench/xreadgroup-consume
bench-tools: $(BENCH_TOOLS)
build/bench/blpop-latency: bench/blpop_latency.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(HIREDIS_CFLAGS) $< $(HIREDIS_LIBS) -o $@
build/bench/subscribers: bench/subscribers.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(HIREDIS_CFLAGS) $< $(HIREDIS_LIBS) -o $@
build/bench/xreadgroup-latency: bench/xreadgroup_latency.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(HIREDIS_CFLAGS) $< $(HIREDIS_LIBS) -o $@
build/bench/xreadgroup-consume: bench/xreadgroup_consume.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(HIREDIS_CFLAGS) $< $(HIREDIS_LIBS) -lpthread -o $@

# Redis 7.0.15's own Tcl suite against a fresh node per unit (REDIS_TESTS:
# the suite's folder, ../shared/redis-tests by default; SUITE_UNITS: a few
# units instead of all). Not part of `make test`: the suite is not in this
# repository.
redis-suite: deps
	@$(MAKE) --no-print-directory all
	scripts/redis-suite.sh $(SUITE_UNITS)

bench: deps
	@$(MAKE) --no-print-directory all bench-tools examples
	bench/run.sh $(BENCH_ARGS)

# Parley next to a 3-member etcd cluster (bench/etcd.py, bench/README.md):
# durable writes, locks, election failover. Not part of `make bench`; about
# two minutes. BENCH_ETCD_ARGS=--write-results updates bench/RESULTS.md.
bench-etcd:
	@scripts/deps.sh etcd
	@$(MAKE) --no-print-directory all
	timeout -k 10 600 bench/etcd.py $(BENCH_ETCD_ARGS)

# The binary, a commented parley.conf (every directive and its default), the
# manual page and a systemd unit whose ExecStart names this PREFIX.
INSTALL_BINARY ?= build/parley-server
install: $(INSTALL_BINARY)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/parley \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(INSTALL_BINARY) $(DESTDIR)$(PREFIX)/bin/parley-server
	install -m 644 contrib/parley.conf $(DESTDIR)$(PREFIX)/etc/parley/parley.conf
	install -m 644 contrib/parley-server.1 $(DESTDIR)$(PREFIX)/share/man/man1/parley-server.1
	sed -e 's|/usr/local/bin/parley-server /etc/parley/|$(PREFIX)/bin/parley-server $(PREFIX)/etc/parley/|' \
	  contrib/parley.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/parley.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/parley.service

clean:
	rm -rf build

# Fuzzing (tests/fuzz/README.md): clang's libFuzzer with ASan and UBSan, one
# binary per tests/fuzz/fuzz_<target>.c, against libparley built again with
# clang in build/fuzz/. `make fuzz` runs every target for FUZZ_SECONDS
# (300) each, one after the other under nice, and prints executions per
# target; `make fuzz-short` (part of `make test`) replays each target's
# corpus (tests/fuzz/corpus/<target>/) and fuzzes on for a few seconds,
# failing on any crash; `make fuzz-merge` minimizes what `make fuzz` found
# into that corpus; `make fuzz-seeds` writes the seeds again (seeds.c).
FUZZ_CC := clang
FUZZ_TARGETS := resp entry apply snapshot cmds lua
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 9
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_OBJ := $(LIB_SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_UTIL := tests/fuzz/fuzz_util.c tests/fuzz/fuzz.h

.PHONY: fuzz fuzz-short fuzz-merge fuzz-seeds fuzz-build
build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC (fuzz) $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build/fuzz/libparley.a: $(FUZZ_OBJ) $(CJSON_A)
	@rm -f $@; ar rcs $@ $(filter %.o,$^)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_UTIL) build/fuzz/libparley.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz $< tests/fuzz/fuzz_util.c \
	  build/fuzz/libparley.a $(LIBS) -o $@
build/fuzz/seeds: tests/fuzz/seeds.c $(FUZZ_UTIL) build/libparley.a
	$(CC) $(RELEASE_CFLAGS) -Itests/fuzz $< tests/fuzz/fuzz_util.c build/libparley.a $(LIBS) -o $@
fuzz-build: $(FUZZ_BIN)
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-short: $(FUZZ_BIN)
	tests/fuzz/run.sh short $(FUZZ_SHORT_SECONDS) $(FUZZ_TARGETS)
fuzz-merge: $(FUZZ_BIN)
	tests/fuzz/run.sh merge 0 $(FUZZ_TARGETS)
fuzz-seeds: build/fuzz/seeds
	mkdir -p tests/fuzz/corpus && build/fuzz/seeds tests/fuzz/corpus

-include $(FUZZ_OBJ:.o=.d)

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) build/obj/server/main.d build/san/obj/server/main.d

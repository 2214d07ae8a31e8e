# tarn - a data lake in one C binary.
#
#   make            build build/tarn (optimised, with debug info)
#   make deps       install missing Debian packages, fetch the pinned DuckDB
#   make test       build with ASan+UBSan and run unit + integration tests
#   make run        deps, build, start a demo lake in ./lake
#   make bench      run the benchmarks, write docs/benchmarks.md
#   make check      style and banned-function checks
#   make fuzz       run the fuzz targets, bounded
#
# BUILD=dir puts objects elsewhere (several builds can share the tree).

BUILD     ?= build
SANITIZE  ?=
CC        ?= cc
CXX       ?= c++
DUCKDB_DIR := $(CURDIR)/deps/duckdb

WARN      := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
             -Wno-format-truncation
CFLAGS    ?= -O2 -g
CXXFLAGS  ?= -O2 -g
CPPFLAGS  += -Isrc -isystem $(DUCKDB_DIR)/include -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
ALLCFLAGS := -std=c11 $(WARN) $(CFLAGS) -pthread -MMD -MP
ALLCXXFLAGS := -std=c++17 -Wall -Wextra -Werror $(CXXFLAGS) -pthread -MMD -MP
LDFLAGS   += -pthread -Wl,-rpath,$(DUCKDB_DIR)/lib -L$(DUCKDB_DIR)/lib
LDLIBS    += -lsqlite3 -lssl -lcrypto -lyaml -lcurl -ljansson \
             -lsimdjson -lexpat -llz4 -lduckdb -lstdc++ -lm

ifneq ($(SANITIZE),)
ALLCFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALLCXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS     += -fsanitize=$(SANITIZE)
endif

LIB_C   := $(filter-out src/main.c,$(wildcard src/*/*.c))
LIB_CXX := $(wildcard src/*/*.cc)
LIB_OBJ := $(LIB_C:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cc=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test unit run bench bench-ingest bench-crawl bench-query bench-govern bench-s3 bench-pg crash-test check fuzz clean
all: $(BUILD)/tarn

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(ALLCXXFLAGS) -c $< -o $@

$(BUILD)/libtarn.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tarn: $(BUILD)/src/main.o $(BUILD)/libtarn.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/harness.o $(BUILD)/libtarn.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libtarn.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)

deps:
	@scripts/deps.sh

# The test build lives apart from the release build so both stay valid.
test: deps
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=address,undefined \
		CFLAGS="-O1 -g" CXXFLAGS="-O1 -g" all unit
	@TARN_BIN=$(CURDIR)/build/san/tarn TARN_UNIT_DIR=$(CURDIR)/build/san/tests \
		tests/run.sh

run: deps all
	@scripts/run-demo.sh $(CURDIR)/build/tarn

bench: bench-ingest bench-crawl bench-query bench-govern bench-s3 bench-pg

bench-ingest: deps all $(BENCH_BIN)
	@TARN_BIN=$(CURDIR)/build/tarn TARN_BENCH_DIR=$(CURDIR)/build/bench bench/ingest.sh

bench-crawl: deps all $(BENCH_BIN)
	@TARN_BENCH_DIR=$(CURDIR)/build/bench bench/crawl.sh

# BENCH_QUERY_EVENTS (default 10M, ~9.4 GB), BENCH_QUERY_DIR (keep the data): bench/README.md
bench-query: deps all $(BENCH_BIN)
	@TARN_BIN=$(CURDIR)/$(BUILD)/tarn TARN_BENCH_DIR=$(CURDIR)/$(BUILD)/bench bench/query.sh

# BENCH_GOVERN_EVENTS (default 10M), BENCH_GOVERN_DIR (keep the data): bench/README.md
bench-govern: deps all $(BENCH_BIN)
	@TARN_BIN=$(CURDIR)/$(BUILD)/tarn TARN_BENCH_DIR=$(CURDIR)/$(BUILD)/bench bench/govern.sh

# BENCH_S3_SECONDS (per phase, default 10), BENCH_S3_THREADS, object counts: bench/README.md
bench-s3: deps all $(BENCH_BIN)
	@TARN_BIN=$(CURDIR)/$(BUILD)/tarn TARN_BENCH_DIR=$(CURDIR)/$(BUILD)/bench bench/s3.sh

# BENCH_PG_ROWS (default 5M), BENCH_PG_ROUNDS (default 5), BENCH_PG_TIMEOUT: bench/README.md
bench-pg: deps all $(BENCH_BIN)
	@TARN_BIN=$(CURDIR)/$(BUILD)/tarn TARN_BENCH_DIR=$(CURDIR)/$(BUILD)/bench bench/pg.sh

crash-test: deps
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=address,undefined \
		CFLAGS="-O1 -g" CXXFLAGS="-O1 -g" all
	@TARN_BIN=$(CURDIR)/build/san/tarn TARN_UNIT_DIR=/nonexistent TARN_CRASH_CYCLES=200 \
		TARN_TESTS=test_crash tests/run.sh

check:
	@scripts/check.sh

fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

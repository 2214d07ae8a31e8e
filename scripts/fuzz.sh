#!/usr/bin/env bash
# make fuzz: builds every fuzz/fuzz_*.c with clang's libFuzzer, ASan and
# UBSan, and runs each for FUZZ_SECONDS (default 60) on its corpus in
# build/fuzz/corpus-<name>.  Bounded in time; exits non-zero on a finding
# (the crashing input is left in build/fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: installing clang and its libFuzzer runtime"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
B=build/fuzz
# The library, instrumented for coverage (clang's warnings differ from gcc's: not fatal here).
make --no-print-directory BUILD=$B CC=clang CXX=clang++ WARN="-Wall" \
  SANITIZE=address,undefined CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" \
  CXXFLAGS="-O1 -g -fsanitize=fuzzer-no-link" $B/libtarn.a >/dev/null
LIBS="-lsqlite3 -lssl -lcrypto -lyaml -lcurl -ljansson -lsimdjson -lexpat -llz4 -lduckdb -lstdc++ -lm -pthread"
rc=0
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  # clang++ links UBSan's C++ runtime, which the simdjson shim needs.
  clang++ -x c -O1 -g -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined "$src" -x none $B/libtarn.a \
    -Ldeps/duckdb/lib -Wl,-rpath,$PWD/deps/duckdb/lib $LIBS -o "$B/$name"
  mkdir -p "$B/corpus-$name"
  dict=""
  [ -f "fuzz/$name.dict" ] && dict="-dict=$PWD/fuzz/$name.dict"
  echo "fuzz: $name for ${SECS}s"
  if ! (cd $B && "./$name" -max_total_time="$SECS" -max_len=8192 $dict "corpus-$name" \
        > "$name.log" 2>&1); then
    echo "fuzz: $name found a problem: see $B/$name.log and $B/crash-*"
    tail -20 "$B/$name.log"
    rc=1
  else
    grep -E "^Done|stat::number_of_executed_units" "$B/$name.log" | tail -1
  fi
done
exit $rc

#!/usr/bin/env bash
# tests/run.sh - runs every unit test binary and every integration test,
# prints one line per test, and ends with "N passed, N failed".
#
# Unit binaries print "ok NAME" / "FAIL NAME: why" per test.  Integration
# tests are tests/integration/test_*.py (run with Debian's python3) and
# test_*.sh (bash); each prints its own "ok NAME" / "FAIL NAME" lines and
# exits non-zero if any failed.  TARN_TESTS=pattern runs only matching files.
set -u
cd "$(dirname "$0")/.."
: "${TARN_BIN:?TARN_BIN must name the tarn binary}"
: "${TARN_UNIT_DIR:?TARN_UNIT_DIR must name the unit test directory}"
export TARN_BIN
export PATH=/usr/bin:/bin:$PATH   # Debian's python3, aws: what CI has
export PYTHONPATH="$PWD/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pattern=${TARN_TESTS:-}

count() {  # count "ok"/"FAIL" lines of one test program's output
  local out=$1 rc=$2 name=$3 p f
  p=$(grep -c '^ok ' "$out" || true)
  f=$(grep -c '^FAIL ' "$out" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: exited $rc"
    f=1
  fi
  pass=$((pass + p))
  fail=$((fail + f))
}

start=$(date +%s)
for t in "$TARN_UNIT_DIR"/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  [ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && continue
  echo "# unit $name"
  "$t" > "$log" 2>&1
  rc=$?
  grep -E '^(ok|FAIL) ' "$log"
  grep -qE '^FAIL ' "$log" && grep -vE '^(ok|FAIL) ' "$log" | tail -40
  count "$log" "$rc" "$name"
done
for t in tests/integration/test_*.py tests/integration/test_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t")
  # Run by interpreter: a test that lost its executable bit must not be skipped.
  case "$t" in *.py) run=(/usr/bin/python3 "$t") ;; *) run=(bash "$t") ;; esac
  [ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && continue
  echo "# integration $name"
  t0=$(date +%s)
  timeout 900 "${run[@]}" > "$log" 2>&1
  rc=$?
  grep -E '^(ok|FAIL) ' "$log"
  if [ "$rc" -ne 0 ]; then grep -vE '^(ok|FAIL) ' "$log" | tail -60; fi
  echo "# $name took $(( $(date +%s) - t0 ))s"
  count "$log" "$rc" "$name"
done
echo "# total time $(( $(date +%s) - start ))s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

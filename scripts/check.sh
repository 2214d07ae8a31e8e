#!/usr/bin/env bash
# make check: the rules of CONVENTIONS.md a script can see.
#   - every .c under src/ includes "core/banned.h", as its last include;
#   - core/ includes nothing above core/;
#   - edges (http/, s3/, pg/) do not include each other, except that the
#     HTTP listener, which serves the S3 API, uses the S3 protocol library
#     (s3/op.h, s3/xml.h: pure, no I/O);
#   - no source file passes 1,500 lines without saying why (a "size:" comment);
#   - no unfinished-work markers in src/.
set -u
cd "$(dirname "$0")/.."
fail=0
say() { echo "check: $*"; fail=1; }
for f in $(find src -name '*.c'); do
  last=$(grep -n '^#include' "$f" | tail -1 | cut -d: -f2-)
  [ "$last" = '#include "core/banned.h"' ] || say "$f: last include must be \"core/banned.h\""
done
for f in src/core/*.[ch] src/core/*.cc; do
  grep -Hn '^#include "' "$f" | grep -v '"core/' && say "$f: core/ includes something above core/"
done
for e in http s3 pg; do
  [ -d "src/$e" ] || continue
  for o in http s3 pg; do
    [ "$e" = "$o" ] && continue
    grep -Hn "#include \"$o/" src/$e/* 2>/dev/null |
      grep -vE '^src/http/api_s3\.c:[0-9]+:#include "s3/(op|xml)\.h"' &&
      say "src/$e includes src/$o internals"
  done
done
for f in $(find src -name '*.[ch]' -o -name '*.cc'); do
  n=$(wc -l < "$f")
  if [ "$n" -gt 1500 ] && ! grep -q 'size:' "$f"; then say "$f: $n lines (split it, or say why)"; fi
done
grep -rnE '\b(TODO|FIXME|XXX)\b' src && say "unfinished-work markers in src/"
[ $fail -eq 0 ] && echo "check: ok"
exit $fail

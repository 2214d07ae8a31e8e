#!/usr/bin/env bash
# make bench-crawl: the crawler over 10,000 small NDJSON files: first crawl
# (files/s) and re-crawl of the unchanged tree (target: under 1 s).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
D=$(mktemp -d /tmp/tarn-crawl-bench.XXXXXX)
trap 'rm -rf "$D"' EXIT
"$BENCH/crawl_bench" "${CRAWL_FILES:-10000}" 10 30 "$D/lake" > "$D/out"
cat "$D/out"
cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
{
  echo "## Crawl (issue: catalog, crawler and SQL)"
  echo
  echo "Machine: $cpu, $(nproc) cores, $(df -T /tmp | awk 'NR==2{print $2}'), run $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "\`bench/crawl_bench.c\`: files as the flusher names them, 10 events each, over 30 days."
  echo "Target: re-crawl of the unchanged tree under 1 s, reading no file."
  echo
  cat "$D/out"
} | /usr/bin/python3 bench/section.py crawl docs/benchmarks.md

#!/usr/bin/env bash
# make bench-query: the same SQL through tarn (POST /v1/query) and through
# DuckDB's C API directly (bench/query_direct.c) on the same files, in the
# same run; writes the "query" section of docs/benchmarks.md.
#
# Data: BENCH_QUERY_EVENTS sample events (default 10,000,000, ~9.4 GB) as
# NDJSON in the raw zone, one folder per day (YYYY/MM/DD), files of at most
# BENCH_QUERY_FILE_MB MiB; the same rows as zstd Parquet in the mart; a
# vaccine reference table (CSV) in the master zone.  The files are written
# straight into the lake folders (no HTTP ingest), then crawled.
#
# BENCH_QUERY_DIR keeps the lake between runs (it lives in $DIR/lake and is
# reused when it was made with the same parameters); without it the lake is
# made in a temporary folder and removed at the end.
# Other knobs: BENCH_QUERY_REPS (timed runs per query, default 5),
# BENCH_QUERY_SMALL (runs of each small query, default 200),
# BENCH_QUERY_DAYS (default 120 days from 2026-01-01), BENCH_QUERY_SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
TARN=${TARN_BIN:-$PWD/build/tarn}
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
EVENTS=${BENCH_QUERY_EVENTS:-10000000}
REPS=${BENCH_QUERY_REPS:-5}
SMALL=${BENCH_QUERY_SMALL:-200}
DAYS=${BENCH_QUERY_DAYS:-120}
FILE_MB=${BENCH_QUERY_FILE_MB:-64}
SEED=${BENCH_QUERY_SEED:-1}
START=2026-01-01
OUT=${BENCH_QUERY_OUT:-docs/benchmarks.md}   # a test run can write elsewhere
export TARN_ROOT_USER=bench TARN_ROOT_PASSWORD=bench-password-1
AUTH=bench:bench-password-1

if [ -n "${BENCH_QUERY_DIR:-}" ]; then
  D=$BENCH_QUERY_DIR; keep=1
  mkdir -p "$D"
else
  D=$(mktemp -d /tmp/tarn-query-bench.XXXXXX); keep=0
fi
D=$(cd "$D" && pwd)
W=$(mktemp -d /tmp/tarn-query-work.XXXXXX)   # logs, column lists, report
tarn_pid=
cleanup() {
  if [ -n "$tarn_pid" ]; then kill -TERM "$tarn_pid" 2>/dev/null || true; wait "$tarn_pid" 2>/dev/null || true; fi
  rm -rf "$W"
  if [ "$keep" = 0 ]; then rm -rf "$D"; fi
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
say() { echo "bench-query: $*" >&2; }

port=$(free_port)
URL=http://127.0.0.1:$port
serve() {
  # No background crawls during the timings; long crawls and queries keep their connection.
  "$TARN" serve "$D/lake" --http "127.0.0.1:$port" --s3 "" --pg "" --log-level warn \
    --set catalog.crawl_interval=0 --set http.timeout=1h 2>> "$W/tarn.log" &
  tarn_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "$URL/healthz" > /dev/null && return 0
    kill -0 "$tarn_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$W/tarn.log" >&2; echo "bench-query: tarn did not start" >&2; exit 1
}
crawl() { # crawl everything; a crawl already running answers 409: wait for it (bounded)
  local code
  for _ in $(seq 1 600); do
    code=$(curl -s -o "$W/crawl.json" -w '%{http_code}' --max-time 7200 -u "$AUTH" \
      -X POST "$URL/v1/crawl" -H 'Content-Type: application/json' -d '{}')
    [ "$code" = 200 ] && return 0
    [ "$code" = 409 ] || { echo "bench-query: crawl failed: HTTP $code $(cat "$W/crawl.json")" >&2; exit 1; }
    sleep 1
  done
  echo "bench-query: crawl still busy after 10 minutes" >&2; exit 1
}
columns() { # DB.TABLE -> DuckDB struct literal of its data columns, from tarn's catalog
  curl -fsS -u "$AUTH" "$URL/v1/catalog/tables/$1" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)
q = lambda s: "'"'"'" + s.replace("'"'"'", "'"''"'") + "'"'"'"
print("{" + ", ".join(q(c["name"]) + ": " + q(c["type"]) for c in t["columns"]
                      if c["depth"] == 0 and not c["partition"]) + "}")'
}

# --- data: reuse when made with the same parameters ------------------------
params="events=$EVENTS seed=$SEED start=$START days=$DAYS file_mb=$FILE_MB layout=2"
if [ -d "$D/lake" ] && [ "$(cat "$D/lake.params" 2>/dev/null)" = "$params" ]; then
  say "reusing the lake in $D/lake ($params)"
  serve
  crawl
else
  rm -rf "$D/lake" "$D/lake.params"
  "$TARN" init "$D/lake" > /dev/null
  say "writing $EVENTS events into $D/lake/01-raw-data-zone ($DAYS days)"
  t0=$(date +%s)
  "$BENCH/query_direct" prepare "$D/lake" "$EVENTS" "$SEED" "$START" "$DAYS" "$FILE_MB" > "$W/prepare.out"
  serve
  say "crawling the raw zone"
  crawl
  columns raw.immunizations > "$W/raw.cols"
  say "writing the mart (Parquet) and master (CSV) tables"
  "$BENCH/query_direct" derive "$D/lake" "$W/raw.cols"
  crawl
  say "data ready in $(( $(date +%s) - t0 )) s"
  echo "$params" > "$D/lake.params"
fi
mkdir -p "$W/cols"
columns raw.immunizations > "$W/cols/raw.cols"
columns master.vaccines > "$W/cols/master.cols"
read -r rows raw_files raw_bytes < <(curl -fsS -u "$AUTH" "$URL/v1/catalog/tables/raw.immunizations" |
  /usr/bin/python3 -c 'import json,sys;t=json.load(sys.stdin);print(t["rows"],t["files"],t["bytes"])')
read -r mart_files mart_bytes < <(curl -fsS -u "$AUTH" "$URL/v1/catalog/tables/mart.immunizations" |
  /usr/bin/python3 -c 'import json,sys;t=json.load(sys.stdin);print(t["files"],t["bytes"])')
[ "$rows" = "$EVENTS" ] || say "warning: the catalog counts $rows rows in raw.immunizations, not $EVENTS"

# tarn's query engine settings, applied to the direct DuckDB too ("-": DuckDB's default).
"$TARN" config show "$D/lake" > "$W/config" 2>/dev/null || true
qthreads=$(awk '/^query:/{q=1;next} /^[^ ]/{q=0} q && $1 ~ /^threads:/{print $2}' "$W/config")
qmemory=$(awk '/^query:/{q=1;next} /^[^ ]/{q=0} q && $1 ~ /^memory/{print $2}' "$W/config")
case "${qthreads:-0}" in 0|"") qthreads=- ;; esac
case "${qmemory:-0}" in 0|"") qmemory=- ;; esac
qsettings=$(awk '/^query:/{q=1;next} /^[^ ]/{q=0} q && NF{sub(/^ +/,""); printf "%s`%s`", sep, $0; sep=", "}' "$W/config")

# The filter day: the middle of the window.
DAY=$(date -u -d "$START + $((DAYS / 2)) days" +%Y-%m-%d)

# Page cache: read every data file once, then see how much of it stays resident.
data_files() { find "$D/lake/01-raw-data-zone/immunizations" "$D/lake/warehouse/mart/immunizations" \
  "$D/lake/03-master-data-zone/vaccines" -type f ! -name '.*'; }
resident() { data_files | xargs -r fincore --bytes --noheadings --output RES,SIZE |
  awk '{r+=$1; s+=$2} END{printf "%.0f%%", s ? 100*r/s : 0}'; }
say "reading the data files once (page cache)"
data_files | xargs -r cat > /dev/null
res_before=$(resident)

say "running the queries ($REPS runs each after a warm-up; $SMALL runs of the small ones)"
"$BENCH/query_direct" bench "$D/lake" "$W/cols" "$URL" bench bench-password-1 "$DAY" \
  "$REPS" "$SMALL" "$qthreads" "$qmemory" > "$W/bench.out"
res_after=$(resident)
tarn_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status" 2>/dev/null || echo 0)

cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
fs=$(df -T "$D" | awk 'NR==2{print $2" on "$1}')
gb() { awk -v b="$1" 'BEGIN{printf "%.2f GB", b/1e9}'; }
{
cat <<MD
## Query (issue 3: catalog, crawler and SQL)

Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $fs,
Linux $(uname -r). Run: $(date -u +%Y-%m-%dT%H:%MZ). $("$TARN" version 2>/dev/null | head -n 1).

Data: $rows immunization events (\`tarn gen immunizations --seed $SEED --start $START --days $DAYS\`),
written straight into the lake folders and crawled. raw.immunizations: NDJSON, $(gb "$raw_bytes")
in $raw_files files, one folder per day (\`YYYY/MM/DD\`, partition columns year, month, day),
files of at most $FILE_MB MiB. mart.immunizations: the same rows plus year, month, day as
Parquet (zstd), $(gb "$mart_bytes") in $mart_files files (one per month, rows in day order). master.vaccines: one CSV
row per CVX code with a derived category. Page cache: every data file was read once
before the runs, and each query ran once on each side before its timed runs;
resident in the page cache: $res_before of the data files before the runs, $res_after after.

Both sides run the same SQL text. tarn: \`POST /v1/query\` with HTTP Basic auth, one
keep-alive connection (libcurl), timed from the request to the last byte of the JSON
answer (guard, catalog, views, DuckDB, JSON rows, the result file in the transient
zone). tarn's query settings: ${qsettings:-none listed by \`tarn config show\` (defaults)}.
Direct: \`bench/query_direct.c\`, one in-memory DuckDB through the C API with the same
thread and memory settings, views over the same files as a DuckDB user writes them
(\`read_json\` with the catalog's column types, year/month/day parsed from the path,
which DuckDB turns into file pruning; \`read_csv\`; \`read_parquet\`), timed around
\`duckdb_query\` and the walk over its result. Runs alternate tarn / direct. tarn's
peak RSS over the run: $((tarn_rss_kb / 1024)) MiB. Both views are one read over the
files; tarn's takes the partition values from the catalog (a list indexed by each row's
\`file_index\`, after leaving out the files its pruning excludes), the direct one parses
them from the path.

Targets: tarn within 5 % of direct DuckDB on queries over 1 s; fixed overhead per
small query ≤ 3 ms at p50 (tarn p50 minus direct p50 of the same query).

MD
cat "$W/bench.out"
} > "$W/report.md"
cat "$W/report.md"
/usr/bin/python3 bench/section.py query "$OUT" < "$W/report.md"

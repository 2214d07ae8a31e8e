#!/usr/bin/env bash
# make bench-govern: what governance costs.  The same SQL as the root user
# (an admin: no policy, real values) and as a governed user (secured view:
# granted columns, PII masked, a row filter), against one tarn server, in
# the same run; writes the "govern" section of docs/benchmarks.md.
#
# Data: BENCH_GOVERN_EVENTS immunization events (default 10,000,000) made
# by bench/query_direct.c as bench-query makes them (raw NDJSON, crawled,
# then copied to zstd Parquet in mart.immunizations and a vaccine table in
# master.vaccines), then the raw NDJSON is deleted: the scan runs on the
# Parquet table, where a 10M-row scan takes 0.2-0.8 s (the same scan of
# the NDJSON takes 5.7 s or more, mostly JSON parsing, which would drown the
# overhead in noise).  A 1,000-row table with PII,
# mart.govern_patients, is made with CREATE TABLE AS through tarn.
#
# BENCH_GOVERN_DIR keeps the lake between runs (in $DIR/lake, reused when
# made with the same parameters); without it the lake is made in a
# temporary folder and removed at the end.  Other knobs:
# BENCH_GOVERN_SMALL (rounds of each small query, default 400),
# BENCH_GOVERN_REPS (timed runs of each scan per side, default 7),
# BENCH_GOVERN_DAYS (default 120), BENCH_GOVERN_SEED (default 1),
# BENCH_GOVERN_OUT (write the section elsewhere, for test runs).
set -euo pipefail
cd "$(dirname "$0")/.."
TARN=${TARN_BIN:-$PWD/build/tarn}
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
EVENTS=${BENCH_GOVERN_EVENTS:-10000000}
SMALL=${BENCH_GOVERN_SMALL:-400}
REPS=${BENCH_GOVERN_REPS:-7}
DAYS=${BENCH_GOVERN_DAYS:-120}
SEED=${BENCH_GOVERN_SEED:-1}
FILE_MB=64
START=2026-01-01
OUT=${BENCH_GOVERN_OUT:-docs/benchmarks.md}
export TARN_ROOT_USER=bench TARN_ROOT_PASSWORD=bench-password-1
ROOT=bench:bench-password-1
ANALYST=analyst:analyst-password-1     # masked PII, row filters
CLEARED=cleared:cleared-password-1     # the same grants plus the pii clearance

if [ -n "${BENCH_GOVERN_DIR:-}" ]; then
  D=$BENCH_GOVERN_DIR; keep=1
  mkdir -p "$D"
else
  D=$(mktemp -d /tmp/tarn-govern-bench.XXXXXX); keep=0
fi
D=$(cd "$D" && pwd)
W=$(mktemp -d /tmp/tarn-govern-work.XXXXXX)
tarn_pid=
cleanup() {
  if [ -n "$tarn_pid" ]; then kill -TERM "$tarn_pid" 2>/dev/null || true; wait "$tarn_pid" 2>/dev/null || true; fi
  rm -rf "$W"
  if [ "$keep" = 0 ]; then rm -rf "$D"; fi
}
trap cleanup EXIT
say() { echo "bench-govern: $*" >&2; }
fail() { echo "bench-govern: $*" >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

port=$(free_port)
URL=http://127.0.0.1:$port
serve() {
  # No background crawls during the timings; long crawls keep their connection.
  "$TARN" serve "$D/lake" --http "127.0.0.1:$port" --s3 "" --pg "" --log-level warn \
    --set catalog.crawl_delay=3600000ms --set catalog.crawl_interval=0 \
    --set http.timeout=1h 2>> "$W/tarn.log" &
  tarn_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "$URL/healthz" > /dev/null && return 0
    kill -0 "$tarn_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$W/tarn.log" >&2; fail "tarn did not start"
}
# api METHOD PATH [BODY] -> the HTTP status; the answer in $W/answer.json (as root)
api() {
  curl -s -o "$W/answer.json" -w '%{http_code}' --max-time 3600 -u "$ROOT" -X "$1" "$URL$2" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}
expect() { # expect "STATUS..." METHOD PATH [BODY]
  local want=$1 code; shift
  code=$(api "$@")
  case " $want " in *" $code "*) return 0 ;; esac
  fail "$1 $2: HTTP $code $(cat "$W/answer.json")"
}
crawl() { # a crawl already running answers 409: wait for it (bounded)
  local code
  for _ in $(seq 1 600); do
    code=$(api POST /v1/crawl '{}')
    [ "$code" = 200 ] && return 0
    [ "$code" = 409 ] || fail "crawl failed: HTTP $code $(cat "$W/answer.json")"
    sleep 1
  done
  fail "crawl still busy after 10 minutes"
}
json() { /usr/bin/python3 -c "import json,sys; t=json.load(open('$W/answer.json')); $1"; }

# --- data: reuse when made with the same parameters ------------------------
params="events=$EVENTS seed=$SEED start=$START days=$DAYS layout=govern-1"
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
  expect 200 GET /v1/catalog/tables/raw.immunizations
  json 'q=lambda s: "'"'"'"+s.replace("'"'"'","'"''"'")+"'"'"'"
print("{"+", ".join(q(c["name"])+": "+q(c["type"]) for c in t["columns"] if c["depth"]==0 and not c["partition"])+"}")' > "$W/raw.cols"
  say "writing the mart (Parquet) and master (CSV) tables"
  "$BENCH/query_direct" derive "$D/lake" "$W/raw.cols"
  # The raw NDJSON has served its purpose: the benchmark reads the Parquet.
  rm -rf "$D/lake/01-raw-data-zone/immunizations"
  crawl
  say "making mart.govern_patients (1,000 rows with PII) with CREATE TABLE AS"
  expect 200 POST /v1/query '{"sql": "CREATE TABLE mart.govern_patients AS SELECT patient_id, first_name, last_name, ssn, date_of_birth, state FROM mart.immunizations ORDER BY event_id LIMIT 1000"}'
  say "data ready in $(( $(date +%s) - t0 )) s"
  echo "$params" > "$D/lake.params"
fi

# --- the tables: rows, size, PII tags ----------------------------------------
expect 200 GET /v1/catalog/tables/mart.immunizations
read -r rows mart_files mart_bytes < <(json 'print(t["rows"], t["files"], t["bytes"])')
pii=$(json 'print(", ".join(c["name"] for c in t["columns"] if c.get("pii")))')
[ "$rows" = "$EVENTS" ] || say "warning: the catalog counts $rows rows in mart.immunizations, not $EVENTS"
for c in ssn last_name; do
  case ", $pii, " in *", $c, "*) ;; *) fail "mart.immunizations.$c is not tagged pii (pii columns: $pii)" ;; esac
done
expect 200 GET /v1/catalog/tables/mart.govern_patients
read -r prow pcols < <(json 'print(t["rows"], ",".join(c["name"] for c in t["columns"] if c.get("pii")))')
case ",$pcols," in *,ssn,*last_name,*|*,last_name,*ssn,*) ;; *) fail "mart.govern_patients: ssn and last_name are not both pii ($pcols)" ;; esac
expect 200 GET /v1/catalog/tables/master.vaccines
read -r vrows vpii < <(json 'print(t["rows"], sum(1 for c in t["columns"] if c.get("pii")))')

# --- principals and grants (made again on every run) -------------------------
FILTER="state <> 'ZZ'"   # keeps every row: both sides scan the same data
for up in "$ANALYST" "$CLEARED"; do
  u=${up%%:*} pw=${up#*:}
  code=$(api POST /v1/users "{\"name\": \"$u\", \"password\": \"$pw\"}")
  case $code in
    201) ;;
    409) expect "200 204" PUT "/v1/users/$u" "{\"password\": \"$pw\"}" ;;
    *) fail "POST /v1/users: HTTP $code $(cat "$W/answer.json")" ;;
  esac
  expect 200 GET "/v1/grants?principal=$u"
  for id in $(json 'print(" ".join(str(g["id"]) for g in (t["grants"] if isinstance(t, dict) else t)))'); do
    expect "200 204" DELETE "/v1/grants/$id"
  done
  expect 201 POST /v1/grants "{\"principal\": \"$u\", \"select\": \"mart.immunizations\", \"row_filter\": \"$FILTER\"}"
  expect 201 POST /v1/grants "{\"principal\": \"$u\", \"select\": \"mart.govern_patients\", \"row_filter\": \"$FILTER\"}"
  expect 201 POST /v1/grants "{\"principal\": \"$u\", \"select\": \"master.vaccines\", \"row_filter\": \"cvx_code <> 'ZZ'\"}"
done
expect 201 POST /v1/grants '{"principal": "cleared", "clearance": "pii"}'
expect "200 204" PUT /v1/masks/pii '{"mask": "redact"}'

# Governance really applies: the analyst reads '***', the cleared user the SSN.
probe() { curl -fsS -u "$1" -H 'Content-Type: application/json' "$URL/v1/query" \
  -d '{"sql": "SELECT ssn FROM mart.govern_patients ORDER BY patient_id LIMIT 1"}' |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0][0])'; }
[ "$(probe "$ANALYST")" = "***" ] || fail "the analyst does not read the SSN masked"
[ "$(probe "$CLEARED")" != "***" ] || fail "the cleared user reads the SSN masked"

# --- page cache ------------------------------------------------------------
data_files() { find "$D/lake/warehouse/mart" "$D/lake/03-master-data-zone/vaccines" -type f ! -name '.*'; }
resident() { data_files | xargs -r fincore --bytes --noheadings --output RES,SIZE |
  awk '{r+=$1; s+=$2} END{printf "%.0f%%", s ? 100*r/s : 0}'; }
data_files | xargs -r cat > /dev/null
res_before=$(resident)

# --- the runs -----------------------------------------------------------------
SMALL_HEAD="| query | SQL | root p50 / p99 ms | governed p50 / p99 ms | added p50 ms | median of paired differences ms | root planning / execution ms | governed planning / execution ms | root's first row | governed first row | added ≤ 1 ms |
|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"
SCAN_HEAD="| query | SQL | root s | governed s | governed / root | added ms | median of paired differences ms | root planning / execution ms | governed planning / execution ms | root's answer | governed answer | bytes scanned | ≤ 10 % |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|"
PATIENT=$(curl -fsS -u "$ROOT" -H 'Content-Type: application/json' "$URL/v1/query" \
  -d '{"sql": "SELECT patient_id FROM mart.govern_patients ORDER BY patient_id LIMIT 1 OFFSET 500"}' |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0][0])')
Q_MASTER="SELECT vaccine_name, category FROM master.vaccines WHERE cvx_code = '208'"
Q_LOOKUP="SELECT patient_id, ssn, last_name, state FROM mart.govern_patients WHERE patient_id = '$PATIENT'"
Q_DISTINCT="SELECT count(DISTINCT ssn) AS ssns, count(DISTINCT last_name) AS last_names, count(*) AS events FROM mart.immunizations"
Q_MINMAX="SELECT min(ssn) AS ssn_min, max(last_name) AS last_name_max, count(*) AS events FROM mart.immunizations"
small() { "$BENCH/govern_client" small "$URL" "$ROOT" "$1" "$SMALL" "$2" "$3" >> "$W/small.md"; }
scan() { "$BENCH/govern_client" scan "$URL" "$ROOT" "$1" "$REPS" "$2" "$3" >> "$W/scan.md"; }
echo "$SMALL_HEAD" > "$W/small.md"
echo "$SCAN_HEAD" > "$W/scan.md"
t_runs=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

say "small queries: $SMALL rounds each (mask redact)"
small "$ANALYST" "master lookup (22-row CSV, no PII), row filter" "$Q_MASTER"
small "$ANALYST" "PII lookup (1,000-row Parquet), 2 columns redacted + row filter" "$Q_LOOKUP"
small "$CLEARED" "PII lookup, row filter only (pii clearance)" "$Q_LOOKUP"
say "scans: $REPS runs each per side (mask redact)"
scan "$ANALYST" "distinct counts, 2 columns redacted + row filter" "$Q_DISTINCT"
scan "$ANALYST" "min / max, 2 columns redacted + row filter" "$Q_MINMAX"
scan "$CLEARED" "distinct counts, row filter only (pii clearance)" "$Q_DISTINCT"
scan "$CLEARED" "min / max, row filter only (pii clearance)" "$Q_MINMAX"
expect "200 204" PUT /v1/masks/pii '{"mask": "hash"}'
say "the same with the hash mask"
small "$ANALYST" "PII lookup, 2 columns hashed + row filter" "$Q_LOOKUP"
scan "$ANALYST" "distinct counts, 2 columns hashed + row filter" "$Q_DISTINCT"
scan "$ANALYST" "min / max, 2 columns hashed + row filter" "$Q_MINMAX"
expect "200 204" PUT /v1/masks/pii '{"mask": "redact"}'
t_runs=$(( $(date +%s) - t_runs ))
res_after=$(resident)
tarn_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status" 2>/dev/null || echo 0)

# --- report ---------------------------------------------------------------------
met() { grep -c '| met |$' "$1" || true; }
total() { grep -c '| \(met\|\*\*missed\*\*\|\*\*error\*\*\) |$' "$1" || true; }
cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
fs=$(df -T "$D" | awk 'NR==2{print $2" on "$1}')
"$TARN" config show "$D/lake" > "$W/config" 2>/dev/null || true
qsettings=$(awk '/^query:/{q=1;next} /^[^ ]/{q=0} q && NF{sub(/^ +/,""); printf "%s`%s`", sep, $0; sep=", "}' "$W/config")
{
cat <<MD
## Governance (issue 4: principals, grants, masks, row filters)

Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $fs,
Linux $(uname -r). Run: $(date -u +%Y-%m-%dT%H:%MZ). $("$TARN" version 2>/dev/null | head -n 1).
Load average when the runs started: $load0.

What is compared: the same SQL text through \`POST /v1/query\` as the root user (an
admin: tarn builds no policy, reads the real values) and as a governed user, on one
server, in the same run. Each user has its own keep-alive connection (libcurl, HTTP
Basic: the password is checked once, then cached). Rounds alternate the two users and
swap which goes first every other round, so both share the machine's noise; timed from
the request to the last byte of the JSON answer (guard, catalog, policy, views, DuckDB,
rows, the result file). The governed users: \`analyst\` has SELECT grants on the three
tables with a row filter each (\`$FILTER\`; \`cvx_code <> 'ZZ'\` on master.vaccines),
which keep every row, so both sides read the same rows; it has no \`pii\` clearance,
so it reads the PII columns masked: redacted (\`'***'\`, the default) in the first part,
HMAC-SHA256 hashed (\`PUT /v1/masks/pii {"mask": "hash"}\`) in the second. \`cleared\`
has the same grants plus the \`pii\` clearance: its lines isolate the secured view and
the row filter from the masks. tarn's query settings: ${qsettings:-defaults}. tarn's
peak RSS over the run: $((tarn_rss_kb / 1024)) MiB.

Data: mart.immunizations, $rows immunization events (\`tarn gen immunizations --seed
$SEED --start $START --days $DAYS\`) as zstd Parquet, $(awk -v b="$mart_bytes" 'BEGIN{printf "%.2f GB", b/1e9}') in $mart_files files
(made as for the query section); PII columns tagged by the crawler: $pii.
The scans run on the Parquet table: scans of the same rows as NDJSON take 5.7-14 s
in the query section, nearly all JSON parsing, with run-to-run noise larger than
the overhead to measure. mart.govern_patients: $prow rows (patient_id, names, ssn, date_of_birth,
state) made with \`CREATE TABLE AS\` through tarn; PII columns: $pcols.
master.vaccines: $vrows rows (CSV), $vpii PII columns. Page cache: the data files were
read once before the runs; resident: $res_before before the runs, $res_after after.

Targets (issue 4): added latency at p50 on a small query ≤ 1 ms; on a 10-million-row
scan with two masked columns and a row filter, ≤ 10 %.

### Small queries ($SMALL rounds each after 10 warm-ups per user)

MD
cat "$W/small.md"
cat <<MD

### Scans of mart.immunizations (median of $REPS runs per user after one warm-up)

MD
cat "$W/scan.md"
cat <<MD

What the scan lines compare: with the redact mask the analyst's
\`count(DISTINCT ssn)\` is 1, so DuckDB's distinct aggregation has one value to keep
where the root's has millions: the work differs, and the analyst's line can be faster
than the root's. The min / max lines do nearly the same work on either side (one
comparison per row and column; the analyst's compare \`'***'\` with itself). The
\`cleared\` lines are the secured view and the row filter alone (the filter reads
\`state\`, one more column). With the hash mask the distinct counts stay equal (the
hash is stable) and the difference is the cost of the mask: HMAC-SHA256 in
\`tarn_mask_hash\`, a C function inside DuckDB (src/query/udf.c), which DuckDB runs
once per entry of a Parquet dictionary. A line marked **error** is a query tarn refused:
its message is in the row.

Summary: small queries with added p50 ≤ 1 ms: $(met "$W/small.md") of $(total "$W/small.md");
scans within 10 %: $(met "$W/scan.md") of $(total "$W/scan.md"). Runs took $t_runs s.
MD
} > "$W/report.md"
cat "$W/report.md"
/usr/bin/python3 bench/section.py govern "$OUT" < "$W/report.md"

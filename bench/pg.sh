#!/usr/bin/env bash
# make bench-pg: stream BENCH_PG_ROWS rows (default 5,000,000) x 6 columns of
# sample events out of tarn's PostgreSQL endpoint and, in the same run, out of
# Debian's PostgreSQL 15 serving the same rows from a table, to the same
# clients; writes the "pg" section of docs/benchmarks.md.
#
# Data: bench/pg_data.c generates the events (src/cli/gen.c, as `tarn gen
# immunizations`) and keeps six fields: event_id (uuid), administered_at
# (timestamp), state, cvx_code, vaccine_name (text), dose_number (integer).
# tarn: the NDJSON file goes into the drop zone (04-user-drop-zone/pgbench/),
# is crawled, and `CREATE TABLE mart.pg_events AS SELECT CAST(...) ...` makes
# the zstd Parquet table the runs read.  PostgreSQL: a table mart.pg_events
# of the same column types, loaded with COPY from the CSV file of the same
# rows, then VACUUM ANALYZE.  Before the timings, both sides' psql output of
# the query is sorted and hashed: the runs go on only if the two are the same
# bytes (same rows, same text of every value).
#
# Clients (bench/pg_client.py), each reading the whole result of
#   SELECT event_id, administered_at, state, cvx_code, vaccine_name,
#          dose_number FROM mart.pg_events
#   psql       psql -X -A -t -c '...' > /dev/null (FETCH_COUNT unset)
#   named      psycopg2, named (server-side) cursor, itersize 10000
#   fetchmany  psycopg2, plain cursor, fetchmany(10000)
# BENCH_PG_ROUNDS rounds (default 5); in each, every client runs once
# against each server, back to back, which server goes first swapping every
# round.  Reported: median rows/s and range per client and server, the
# median of the rounds' paired ratios tarn / PostgreSQL, the CPU each server
# burnt per run, tarn's peak RSS over the runs (tarn is restarted after the
# data is made, so the peak is the serving's alone).
#
# Bounds: every client run is killed after BENCH_PG_TIMEOUT seconds (default
# 900); a run that fails is reported as an error in its row, and the
# benchmark goes on.  BENCH_PG_ROWS scales the data down for a quick try.
# BENCH_PG_OUT writes the section elsewhere (test runs).  Everything listens
# on 127.0.0.1 ports that were free; the lake, PostgreSQL's data directory and
# the generated files live in a folder under TARN_BENCH_DIR (build/bench),
# PostgreSQL's data directory in one under /tmp; both are removed on exit,
# with every process started here.
set -euo pipefail
cd "$(dirname "$0")/.."
TARN=${TARN_BIN:-$PWD/build/tarn}
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
ROWS=${BENCH_PG_ROWS:-5000000}
ROUNDS=${BENCH_PG_ROUNDS:-5}
TIMEOUT=${BENCH_PG_TIMEOUT:-900}
OUT=${BENCH_PG_OUT:-docs/benchmarks.md}
SEED=1
START=2026-01-01
DAYS=120
say() { echo "bench-pg: $*" >&2; }
fail() { echo "bench-pg: $*" >&2; exit 1; }
case $ROWS in ''|*[!0-9]*) fail "BENCH_PG_ROWS '$ROWS': a whole number, 1000 to 100000000" ;; esac
[ "$ROWS" -ge 1000 ] && [ "$ROWS" -le 100000000 ] || fail "BENCH_PG_ROWS '$ROWS': 1000 to 100000000"
case $ROUNDS in ''|*[!0-9]*) fail "BENCH_PG_ROUNDS '$ROUNDS': 1 to 15" ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 15 ] || fail "BENCH_PG_ROUNDS '$ROUNDS': 1 to 15"
case $TIMEOUT in ''|*[!0-9]*) fail "BENCH_PG_TIMEOUT '$TIMEOUT': whole seconds" ;; esac
[ -x "$BENCH/pg_data" ] || fail "$BENCH/pg_data is missing: run make bench-pg"
PGBIN=
for v in 15 16 17; do
  [ -x "/usr/lib/postgresql/$v/bin/postgres" ] && { PGBIN=/usr/lib/postgresql/$v/bin; break; }
done
[ -n "$PGBIN" ] || fail "PostgreSQL's server is not installed (Debian: postgresql)"
command -v psql > /dev/null || fail "psql is not installed (Debian: postgresql-client)"
/usr/bin/python3 -c 'import psycopg2' 2>/dev/null || fail "psycopg2 is missing (Debian: python3-psycopg2)"

export TARN_ROOT_USER=bench TARN_ROOT_PASSWORD=bench-password-1
PG_USER=bench PG_PASSWORD=pg-bench-password-1
SQL="SELECT event_id, administered_at, state, cvx_code, vaccine_name, dose_number FROM mart.pg_events"

mkdir -p "$BENCH"
D=$(mktemp -d "$BENCH/pg-bench.XXXXXX")
D=$(cd "$D" && pwd)
W=$D/work
mkdir -p "$W"
tarn_pid='' pg_started=0
# PostgreSQL's data directory: its own folder under /tmp, which the postgres
# user can reach (PostgreSQL refuses to run as root: as root, it runs as postgres).
PGD=$(mktemp -d /tmp/tarn-pg-bench.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres > /dev/null 2>&1 || fail "running as root needs the postgres user (Debian: postgresql)"
  AS=(runuser -u postgres --)
  chown postgres "$PGD"
fi
cleanup() {
  if [ -n "$tarn_pid" ]; then kill -TERM "$tarn_pid" 2>/dev/null || true; wait "$tarn_pid" 2>/dev/null || true; fi
  if [ "$pg_started" = 1 ]; then "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate -w stop > /dev/null 2>&1 || true; fi
  rm -rf "$D" "$PGD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the rows ------------------------------------------------------------------
say "generating $ROWS events (seed $SEED)"
t0=$(date +%s)
"$BENCH/pg_data" "$W/events.csv" "$W/events.json" "$ROWS" "$SEED" "$START" "$DAYS" > /dev/null
t_gen=$(( $(date +%s) - t0 ))

# --- tarn: drop zone, crawl, CREATE TABLE AS -------------------------------------
"$TARN" init "$D/lake" > /dev/null
DB=$("$TARN" config show "$D/lake" | awk '/^lake:/{l=1; next} /^[^ ]/{l=0} l && $1=="name:"{print $2; exit}')
[ -n "$DB" ] || fail "cannot read lake.name from tarn config show"
hport=$(free_port); tport=$(free_port)
URL=http://127.0.0.1:$hport
serve() {
  "$TARN" serve "$D/lake" --http "127.0.0.1:$hport" --s3 "" --pg "127.0.0.1:$tport" --log-level warn \
    --set catalog.crawl_delay=3600000ms --set catalog.crawl_interval=0 --set http.timeout=1h \
    2>> "$W/tarn.log" &
  tarn_pid=$!
  for _ in $(seq 1 300); do
    if curl -fs "$URL/healthz" > /dev/null &&
       /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $tport), 1).close()" 2>/dev/null; then
      return 0
    fi
    kill -0 "$tarn_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$W/tarn.log" >&2; fail "tarn did not start (HTTP $hport, PostgreSQL $tport)"
}
stop_tarn() { kill -TERM "$tarn_pid" 2>/dev/null || true; wait "$tarn_pid" 2>/dev/null || true; tarn_pid=; }
api() { # METHOD PATH [BODY] -> HTTP status; the answer in $W/answer.json
  curl -s -o "$W/answer.json" -w '%{http_code}' --max-time 3600 -u "$TARN_ROOT_USER:$TARN_ROOT_PASSWORD" \
    -X "$1" "$URL$2" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
expect() { local want=$1 code; shift; code=$(api "$@"); [ "$code" = "$want" ] || fail "$1 $2: HTTP $code $(head -c 600 "$W/answer.json")"; }
serve
say "tarn: loading the events through the drop zone"
t0=$(date +%s)
mkdir -p "$D/lake/04-user-drop-zone/pgbench"
mv "$W/events.json" "$D/lake/04-user-drop-zone/pgbench/.events.json.tmp"
mv "$D/lake/04-user-drop-zone/pgbench/.events.json.tmp" "$D/lake/04-user-drop-zone/pgbench/events.json"
expect 200 POST /v1/crawl '{"target": "drop"}'
expect 200 POST /v1/query "{\"sql\": \"CREATE TABLE mart.pg_events AS SELECT CAST(event_id AS UUID) AS event_id, CAST(administered_at AS TIMESTAMP) AS administered_at, CAST(state AS VARCHAR) AS state, CAST(cvx_code AS VARCHAR) AS cvx_code, CAST(vaccine_name AS VARCHAR) AS vaccine_name, CAST(dose_number AS INTEGER) AS dose_number FROM drop.pgbench\"}"
rm -f "$D/lake/04-user-drop-zone/pgbench/events.json"
expect 200 GET /v1/catalog/tables/mart.pg_events
read -r t_rows t_files t_bytes < <(/usr/bin/python3 -c "import json; t=json.load(open('$W/answer.json')); print(t['rows'], t['files'], t['bytes'])")
[ "$t_rows" = "$ROWS" ] || fail "mart.pg_events has $t_rows rows in tarn's catalog, want $ROWS"
t_tarn_load=$(( $(date +%s) - t0 ))
stop_tarn

# --- PostgreSQL: initdb, COPY --------------------------------------------------
say "PostgreSQL: initdb and COPY"
t0=$(date +%s)
pport=$(free_port)
printf '%s\n' "$PG_PASSWORD" > "$PGD/pw"
[ ${#AS[@]} -gt 0 ] && chown postgres "$PGD/pw"
"${AS[@]}" "$PGBIN/initdb" -D "$PGD/data" -U "$PG_USER" -A scram-sha-256 --pwfile="$PGD/pw" \
  -E UTF8 --locale=C.UTF-8 > "$W/initdb.log" 2>&1 || { cat "$W/initdb.log" >&2; fail "initdb failed"; }
# fsync and the WAL settings only speed up the load; the runs read.
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -t 60 \
  -o "-p $pport -k $PGD -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=8GB" \
  start > /dev/null || { cat "$PGD/log" >&2; fail "PostgreSQL did not start"; }
pg_started=1
pg_pid=$(head -n 1 "$PGD/data/postmaster.pid")
export PGPASSWORD=$PG_PASSWORD
pq() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U "$PG_USER" -d "$DB" "$@"; }
PGDATABASE=postgres psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U "$PG_USER" -d postgres \
  -c "CREATE DATABASE \"$DB\""
pq -c "CREATE SCHEMA mart" \
   -c "CREATE TABLE mart.pg_events (event_id uuid, administered_at timestamp, state text, cvx_code text, vaccine_name text, dose_number integer)" \
   -c "\\copy mart.pg_events FROM '$W/events.csv' WITH (FORMAT csv, HEADER true)" \
   -c "VACUUM ANALYZE mart.pg_events"
p_rows=$(pq -A -t -c "SELECT count(*) FROM mart.pg_events")
[ "$p_rows" = "$ROWS" ] || fail "PostgreSQL's mart.pg_events has $p_rows rows, want $ROWS"
p_bytes=$(pq -A -t -c "SELECT pg_total_relation_size('mart.pg_events')")
t_pg_load=$(( $(date +%s) - t0 ))
rm -f "$W/events.csv"

# --- tarn again, fresh: its peak RSS is the serving's ------------------------------
serve
TARN_PW=$TARN_ROOT_PASSWORD
tarn_rss0_kb=$(awk '/VmRSS/{print $2}' "/proc/$tarn_pid/status" 2>/dev/null || echo 0)

# --- the same bytes from both --------------------------------------------------------
say "checking that both servers send the same rows"
PGPASSWORD=$TARN_PW timeout "$TIMEOUT" /usr/bin/python3 bench/pg_client.py checksum 127.0.0.1 "$tport" "$DB" "$TARN_ROOT_USER" "$SQL" > "$W/sum.tarn" ||
  { tail -n 20 "$W/tarn.log" >&2; fail "tarn: the checksum query failed"; }
PGPASSWORD=$PG_PASSWORD timeout "$TIMEOUT" /usr/bin/python3 bench/pg_client.py checksum 127.0.0.1 "$pport" "$DB" "$PG_USER" "$SQL" > "$W/sum.pg" ||
  fail "PostgreSQL: the checksum query failed"
sum_tarn=$(awk '{print $1, $2}' "$W/sum.tarn"); sum_pg=$(awk '{print $1, $2}' "$W/sum.pg")
[ "$sum_tarn" = "$sum_pg" ] || fail "the servers send different rows: tarn $(cat "$W/sum.tarn"); PostgreSQL $(cat "$W/sum.pg")"
say "same rows: $sum_pg"

# --- CPU accounting ------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
# utime + stime (+ cutime + cstime: PostgreSQL's backends are the postmaster's
# children, their CPU lands there when they exit) of one process
ticks() { awk -v all="$2" '{sub(/^.*\) /, ""); print $12 + $13 + (all ? $14 + $15 : 0)}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat; }

# run SIDE CLIENT: one timed run; its figures go to $W/runs
round=0
run_one() {
  local side=$1 client=$2 port user pw pid all line rc=0 c0 c1 m0 i0 m1 i1
  if [ "$side" = tarn ]; then port=$tport user=$TARN_ROOT_USER pw=$TARN_PW pid=$tarn_pid all=0
  else port=$pport user=$PG_USER pw=$PG_PASSWORD pid=$pg_pid all=1; fi
  c0=$(ticks "$pid" "$all"); read -r m0 i0 < <(machine_ticks)
  line=$(PGPASSWORD=$pw BENCH_PG_EXPECT_ROWS=$ROWS BENCH_PG_TIMEOUT=$TIMEOUT timeout "$TIMEOUT" \
    /usr/bin/python3 bench/pg_client.py "$client" 127.0.0.1 "$port" "$DB" "$user" "$SQL" 2>> "$W/$side-$client.err") || rc=$?
  sleep 0.2   # the backend's exit reaches the postmaster's cutime
  c1=$(ticks "$pid" "$all"); read -r m1 i1 < <(machine_ticks)
  kill -0 "$tarn_pid" 2>/dev/null || { tail -n 20 "$W/tarn.log" >&2; fail "tarn is gone"; }
  if [ "$rc" != 0 ] || [ -z "$line" ]; then
    say "round $round $side $client: failed (exit $rc): $(tail -c 300 "$W/$side-$client.err" | tr '\n' ' ')"
    echo "$side-$client r$round error=1" >> "$W/runs"
    return 0
  fi
  echo "$side-$client r$round $line server_cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN{printf "%.2f", t/hz}') busy=$(awk -v t=$((m1 - m0)) -v i=$((i1 - i0)) 'BEGIN{printf "%.0f", t ? 100*(t-i)/t : 0}')" >> "$W/runs"
  say "round $round $side $client: $line"
}
CLIENTS="psql named fetchmany"
t_runs=$(date +%s)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for c in $CLIENTS; do
    if [ $((round % 2)) = 1 ]; then run_one tarn "$c"; run_one pg "$c"
    else run_one pg "$c"; run_one tarn "$c"; fi
  done
done
t_runs=$(( $(date +%s) - t_runs ))
tarn_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status" 2>/dev/null || echo 0)

# --- figures ---------------------------------------------------------------------------
val() { # NAME ROUND KEY
  awk -v n="$1" -v r="r$2" -v k="$3" '$1==n && $2==r{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]==k){print kv[2]; exit}}}' "$W/runs"
}
stats() { # NAME KEY -> "median lo hi n" over the rounds without an error
  awk -v n="$1" -v k="$2" '$1==n{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]==k) print kv[2]}}' "$W/runs" |
    sort -g | awk '{v[NR]=$1} END{ if (NR) printf "%s %s %s %d\n", v[int((NR+1)/2)], v[1], v[NR], NR; else print "0 0 0 0" }'
}
errors() { awk -v n="$1" '$1==n && /error=1/{e++} END{print e+0}' "$W/runs"; }
paired() { # CLIENT -> "median lo hi" of tarn / PostgreSQL rows/s over the rounds
  local r a b out=
  for r in $(seq 1 "$ROUNDS"); do
    a=$(val "tarn-$1" "$r" rows_s); b=$(val "pg-$1" "$r" rows_s)
    [ -n "$a" ] && [ -n "$b" ] && out="$out $(awk -v a="$a" -v b="$b" 'BEGIN{ if (b > 0) printf "%.4f", a / b; else print 0 }')"
  done
  tr ' ' '\n' <<< "$out" | sed '/^$/d' | sort -g |
    awk '{v[NR]=$1} END{ if (NR) printf "%.2f %.2f %.2f\n", v[int((NR+1)/2)], v[1], v[NR]; else print "- - -" }'
}
k() { awk -v v="$1" 'BEGIN{ printf "%.0f", v / 1000 }'; }  # rows/s in thousands
per_mrow() { awk -v c="$1" -v r="$ROWS" 'BEGIN{ printf "%.2f", c * 1e6 / r }'; }
label() { case $1 in psql) echo "psql, plain SELECT to /dev/null" ;; named) echo "psycopg2, named cursor, itersize 10000" ;; fetchmany) echo "psycopg2, fetchmany(10000)" ;; esac; }
table=
met=0 total=0
for c in $CLIENTS; do
  read -r tm tlo thi tn < <(stats "tarn-$c" rows_s)
  read -r pm plo phi _ < <(stats "pg-$c" rows_s)
  read -r rm rlo rhi < <(paired "$c")
  read -r tcpu _ _ _ < <(stats "tarn-$c" server_cpu_s)
  read -r pcpu _ _ _ < <(stats "pg-$c" server_cpu_s)
  read -r ccpu_t _ _ _ < <(stats "tarn-$c" client_cpu_s)
  read -r ccpu_p _ _ _ < <(stats "pg-$c" client_cpu_s)
  read -r busy_t _ _ _ < <(stats "tarn-$c" busy)
  read -r busy_p _ _ _ < <(stats "pg-$c" busy)
  te=$(errors "tarn-$c"); pe=$(errors "pg-$c")
  total=$((total + 1))
  if [ "$rm" != "-" ] && awk -v r="$rm" 'BEGIN{exit !(r >= 1.0)}'; then verdict=met; met=$((met + 1)); else verdict="**missed**"; fi
  [ "$tn" = 0 ] && verdict="**error**"
  table="$table
| $(label "$c") | $(k "$tm") ($(k "$tlo")–$(k "$thi")) | $(k "$pm") ($(k "$plo")–$(k "$phi")) | $rm ($rlo–$rhi) | $(per_mrow "$tcpu") / $(per_mrow "$pcpu") | $(per_mrow "$ccpu_t") / $(per_mrow "$ccpu_p") | $busy_t / $busy_p | $te / $pe | $verdict |"
done

# --- report ---------------------------------------------------------------------------
cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
fs=$(df -T "$D" | awk 'NR==2{print $2" on "$1}')
pgver=$("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')
psqlver=$(psql --version | sed 's/^psql (PostgreSQL) //')
pyver=$(/usr/bin/python3 -c 'import psycopg2, sys; print(psycopg2.__version__.split()[0], "on Python", sys.version.split()[0])')
num() { LC_ALL=C printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }  # 5000000 -> 5,000,000
mb() { awk -v b="$1" 'BEGIN{ printf "%.0f MB", b / 1e6 }'; }
{
cat <<MD
## PostgreSQL wire protocol (issue 6: streaming rows to clients)

Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $fs,
Linux $(uname -r). Run: $(date -u +%Y-%m-%dT%H:%MZ). $("$TARN" version 2>/dev/null | head -n 1);
PostgreSQL $pgver; psql $psqlver; psycopg2 $pyver.
Load average when the runs started: $load1 (at the start of the benchmark: $load0).

What is compared: the same query,
\`$SQL\`,
read whole by the same clients from tarn's PostgreSQL endpoint and from PostgreSQL on the same
machine, both over TCP on 127.0.0.1 without TLS, logged in with SCRAM-SHA-256, one connection
per run (the login is inside the timing). Data: $(num "$ROWS") sample events (\`bench/pg_data\`, the
events of \`tarn gen immunizations --seed $SEED\`, $DAYS days from $START), six columns:
event_id uuid, administered_at timestamp, state, cvx_code and vaccine_name text, dose_number
integer. In tarn: mart.pg_events, made from the events' NDJSON in the drop zone by
\`CREATE TABLE AS\` with those types, zstd Parquet, $(mb "$t_bytes") in $t_files file(s)
(loaded in $t_tarn_load s). In PostgreSQL: a table of the same types loaded with COPY and
VACUUM ANALYZE, $(mb "$p_bytes") (loaded in $t_pg_load s; shared_buffers 1 GB; fsync,
synchronous_commit and full_page_writes off, which only speeds up the load). Both sides'
psql output of the query, sorted, is the same bytes ($(num "$(awk '{sub(/^rows=/, "", $1); print $1}' <<< "$sum_pg")") lines, SHA-256
$(awk '{sub(/^sha256=/, "", $2); printf "%.16s…", $2}' <<< "$sum_pg"),
checked before the runs).

Clients (\`bench/pg_client.py\`): **psql** \`psql -X -A -t -c '...' > /dev/null\`, FETCH_COUNT
unset (psql takes the whole result, then prints it unaligned); **psycopg2 named cursor**: a
server-side cursor (DECLARE, then FETCH 10000 rows at a time), every row made into Python
objects; **psycopg2 fetchmany**: a plain cursor, the whole result received by libpq, then
fetchmany(10000) until empty. $ROUNDS round(s); in each, every client runs once against each
server, back to back, the first server swapping every round; the ratio is the median of the
rounds' paired ratios. The machine has $(nproc) cores for client and server together: a
client that is busy converting rows slows the server it reads from, on both sides alike.

| client | tarn k rows/s (range) | PostgreSQL k rows/s (range) | tarn / PostgreSQL (range) | server CPU s per M rows, tarn / PostgreSQL | client CPU s per M rows, tarn / PostgreSQL | machine busy %, tarn / PostgreSQL | failed runs, tarn / PostgreSQL | ≥ 1.0× |
|---|---:|---:|---:|---:|---:|---:|---:|---|$table

tarn's peak RSS while serving these runs (VmHWM, tarn restarted after the data was made):
$((tarn_rss_kb / 1024)) MiB ($((tarn_rss0_kb / 1024)) MiB when it had started). Server CPU: tarn's process (all
threads); PostgreSQL's postmaster with its exited children (the backend of each run). Machine
busy: the share of all cores' time not idle during a run (median), everything on the machine
included; near 100 % the runs queued for CPU and the wall times say as much about the
machine's other load as about the servers. Target (issue 6): tarn ≥ 1.0× PostgreSQL:
met by $met of $total clients. Data made in $t_gen s (generation) + $t_tarn_load s (tarn) +
$t_pg_load s (PostgreSQL); the timed runs took $t_runs s.
MD
} > "$W/report.md"
cat "$W/report.md"
/usr/bin/python3 bench/section.py pg "$OUT" < "$W/report.md"

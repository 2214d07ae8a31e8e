#!/usr/bin/env bash
# make bench-ingest: durable ingest against its ceilings and a durable peer,
# all measured in the same run on this machine; writes docs/benchmarks.md.
#
# Ceilings: nginx answering 204 to the same requests (HTTP), a loop that
# appends the same bytes with one fdatasync per batch (disk).  Peer:
# PostgreSQL 15 taking the same single records as one-row INSERTs from 32
# clients (synchronous_commit on).  Load: wrk, bounded by time.
set -euo pipefail
cd "$(dirname "$0")/.."
TARN=${TARN_BIN:-$PWD/build/tarn}
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
SECS=${BENCH_SECONDS:-10}
OUT=docs/benchmarks.md
D=$(mktemp -d /tmp/tarn-bench.XXXXXX)
chmod 755 "$D"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [ -f "$D/nginx/nginx.pid" ] && kill "$(cat "$D/nginx/nginx.pid")" 2>/dev/null || true
  [ -d "$D/pg" ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$D/pg" stop -m immediate >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wrk_run() { # conns body_file auth url -> prints "ok_rps p50 p99 non2xx"
  # Only acknowledged (2xx) requests count: a 503 under backpressure is not ingest.
  BODY_FILE=$2 AUTH=$3 wrk -t2 -c"$1" -d"${SECS}s" --latency -s bench/post.lua "$4" > "$D/wrk.out" 2>&1
  awk '/requests in/{n=$1; t=$4; sub(/s,?$/,"",t)} /^ +50%/{p50=$2} /^ +99%/{p99=$2} /Non-2xx/{bad=$NF}
       END{printf "%.1f %s %s %d\n", (n-bad)/t, p50, p99, bad+0}' "$D/wrk.out"
}
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }
echo "bench: working in $D"

# Request bodies: 500 records of ~1 KiB, and one record.
"$TARN" gen immunizations --count 500 --seed 7 > "$D/batch.ndjson"
head -n 1 "$D/batch.ndjson" > "$D/single.json"
batch_bytes=$(stat -c %s "$D/batch.ndjson")
avg_rec=$((batch_bytes / 500))

# --- disk ceiling ------------------------------------------------------
"$BENCH/disk_ceiling" "$D" "$batch_bytes" 5 > "$D/disk.out"
disk_mbs=$(awk '/mb_per_s/{print $2}' "$D/disk.out")
disk_1k=$("$BENCH/disk_ceiling" "$D" "$avg_rec" 5 | awk '/batches_per_s/{print $2}')

# --- nginx ceiling -----------------------------------------------------
mkdir -p "$D/nginx/logs"
ng_port=$(free_port)
cat > "$D/nginx/nginx.conf" <<NG
worker_processes 2;
pid $D/nginx/nginx.pid;
error_log $D/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  server { listen 127.0.0.1:$ng_port; location / { return 204; } }
}
NG
nginx -p "$D/nginx" -c "$D/nginx/nginx.conf"
sleep 0.5
read -r ng_b_rps _ _ _ < <(wrk_run 8 "$D/batch.ndjson" "" "http://127.0.0.1:$ng_port/")
read -r ng_s_rps _ _ _ < <(wrk_run 32 "$D/single.json" "" "http://127.0.0.1:$ng_port/")
kill "$(cat "$D/nginx/nginx.pid")"; rm -f "$D/nginx/nginx.pid"

# --- tarn --------------------------------------------------------------
export TARN_ROOT_USER=bench TARN_ROOT_PASSWORD=bench-password-1
"$TARN" init "$D/lake" > /dev/null
port=$(free_port)
"$TARN" serve "$D/lake" --http "127.0.0.1:$port" --s3 "" --pg "" --set streams.buffer_size=8MiB \
  --set streams.buffer_interval=1s --log-level warn 2> "$D/tarn.log" &
tarn_pid=$!; pids+=("$tarn_pid")
until curl -fs "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.1; done
auth="Basic $(printf 'bench:bench-password-1' | base64)"
# Quiet figures first: the batched run leaves the flusher a backlog to drain.
read -r t_s_rps t_s_p50 t_s_p99 t_s_bad < <(wrk_run 32 "$D/single.json" "$auth" "http://127.0.0.1:$port/v1/streams/single/records")
vis=$(/usr/bin/python3 bench/visibility.py "http://127.0.0.1:$port" "$auth" "$D/lake" visible 10 200)
vis_p50=$(awk '/p50_ms/{print $2}' <<< "$vis"); vis_p99=$(awk '/p99_ms/{print $2}' <<< "$vis")
vis_missing=$(awk '/not_visible/{print $2}' <<< "$vis")
read -r t_b_rps t_b_p50 t_b_p99 t_b_bad < <(wrk_run 8 "$D/batch.ndjson" "$auth" "http://127.0.0.1:$port/v1/streams/bench/records")
backlog_end=$(curl -fs -u bench:bench-password-1 "http://127.0.0.1:$port/v1/streams/bench" |
  /usr/bin/python3 -c 'import json,sys;i=json.load(sys.stdin);print("%.0f MB accepted, %.0f MB waiting in the WAL, %.1f s of flush lag" % (i["bytes"]/1e6, i["wal_bytes"]/1e6, i["flush_lag_ms"]/1000))')
rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status")
kill -TERM "$tarn_pid"; wait "$tarn_pid" || true
# Backlog: the flusher waits (900 s), ingest runs on: memory must not grow with it.
"$TARN" serve "$D/lake" --http "127.0.0.1:$port" --s3 "" --pg "" --set streams.buffer_size=64MiB \
  --set streams.buffer_interval=900s --set streams.wal_max_size=64GiB \
  --set streams.max_flush_lag=1h --log-level warn 2>> "$D/tarn.log" &
tarn_pid=$!; pids+=("$tarn_pid")
until curl -fs "http://127.0.0.1:$port/healthz" > /dev/null; do sleep 0.1; done
SECS=5 wrk_run 8 "$D/batch.ndjson" "$auth" "http://127.0.0.1:$port/v1/streams/backlog/records" > /dev/null
backlog_mb=$(curl -fs -u bench:bench-password-1 "http://127.0.0.1:$port/v1/streams/backlog" |
  /usr/bin/python3 -c 'import json,sys;print(round(json.load(sys.stdin)["bytes"]/1e6))')
backlog_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status")
kill -TERM "$tarn_pid"; wait "$tarn_pid" || true

# --- PostgreSQL 15, one-row INSERTs from 32 clients ---------------------
PGBIN=/usr/lib/postgresql/15/bin
pg_port=$(free_port)
mkdir -p "$D/pg" && chown postgres "$D/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$D/pg" -A trust -U postgres > /dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/pg" -l "$D/pg/log" -w -o \
  "-p $pg_port -k $D/pg -c listen_addresses=127.0.0.1 -c max_connections=64 -c synchronous_commit=on -c fsync=on" start > /dev/null
psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE TABLE events(id bigserial PRIMARY KEY, doc jsonb NOT NULL)"
printf "INSERT INTO events(doc) VALUES ('%s');\n" "$(sed "s/'/''/g" "$D/single.json")" > "$D/insert.sql"
pg_tps=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -c 32 -j 2 -T "$SECS" -f "$D/insert.sql" postgres 2>/dev/null |
  awk '/^tps/{print $3; exit}')
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/pg" stop -m fast > /dev/null

# --- report --------------------------------------------------------------
t_b_mbs=$(awk -v r="$t_b_rps" -v b="$batch_bytes" 'BEGIN{printf "%.1f", r*b/1e6}')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a" }'; }
verdict() { awk -v a="$1" -v t="$2" -v le="${3:-}" 'BEGIN{ ok = le ? (a<=t) : (a>=t); print ok ? "met" : "**missed**" }'; }
r_disk=$(ratio "$t_b_mbs" "$disk_mbs"); r_ng=$(ratio "$t_s_rps" "$ng_s_rps"); r_pg=$(ratio "$t_s_rps" "$pg_tps")
cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
fs=$(df -T "$D" | awk 'NR==2{print $2" on "$1}')
{
cat <<MD
## Ingest (issue: foundation and streaming ingestion)

Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $fs,
Linux $(uname -r). Run: $(date -u +%Y-%m-%dT%H:%MZ). Load: wrk, 2 threads, ${SECS} s per figure.

Records: synthetic immunization events (\`tarn gen immunizations\`), ${avg_rec} bytes
on average. Batched: 500 records (${batch_bytes} bytes) per request, 8 concurrent
clients. Single: one record per request, 32 concurrent clients. Every request
is acknowledged only after fdatasync (group commit). HTTP Basic auth on every request.

| measure | tarn | ceiling / peer (same run) | ratio | target | |
|---|---|---|---|---|---|
| batched ingest, MB/s | $t_b_mbs | disk: append + fdatasync per batch, $disk_mbs MB/s | $r_disk | ≥ 0.50 | $(verdict "$r_disk" 0.5) |
| batched ingest, records/s | $(awk -v r="$t_b_rps" 'BEGIN{printf "%.0f", r*500}') | | | | |
| batched ack latency p50 / p99 | $(to_ms "$t_b_p50") / $(to_ms "$t_b_p99") ms | | | | |
| single-record requests/s | $t_s_rps | nginx returning 204: $ng_s_rps | $r_ng | ≥ 0.50 | $(verdict "$r_ng" 0.5) |
| single-record requests/s vs PostgreSQL | $t_s_rps | PostgreSQL 15 one-row INSERT, 32 clients: $pg_tps tps | $r_pg | ≥ 3 | $(verdict "$r_pg" 3) |
| single-record ack latency p50 / p99 | $(to_ms "$t_s_p50") / $(to_ms "$t_s_p99") ms | | | | |
| ack → object visible, p50 / p99 (1 s / 8 MiB hints) | $vis_p50 / $vis_p99 ms | | | p99 ≤ 1500 | $(verdict "${vis_p99:-99999}" 1500 le) |
| peak RSS (all runs above) | $((rss_kb / 1024)) MiB | | | < 256 | $(verdict "$((rss_kb / 1024))" 255 le) |
| peak RSS with a ${backlog_mb} MB unflushed backlog | $((backlog_rss_kb / 1024)) MiB | | | < 256 | $(verdict "$((backlog_rss_kb / 1024))" 255 le) |

Requests answered 503 (backpressure) are not counted in the figures above:
batched $t_b_bad, single $t_s_bad. At the end of the batched run: $backlog_end.
Every byte is written twice (WAL, then object), so sustained ingest is bounded by
half the disk's bandwidth; the WAL absorbs bursts above that until its bound
(\`streams.wal_max_size\`), then writers get 503 with Retry-After.

Other figures of the same run: nginx on the batched requests $ng_b_rps requests/s
($(awk -v r="$ng_b_rps" -v b="$batch_bytes" 'BEGIN{printf "%.0f", r*b/1e6}') MB/s of bodies); the disk loop with one
${avg_rec}-byte record per fdatasync: $disk_1k syncs/s. Records not visible by the
end of the visibility run: ${vis_missing:-?}.
MD
} > "$D/report.md"
cat "$D/report.md"
/usr/bin/python3 bench/section.py ingest "$OUT" < "$D/report.md"

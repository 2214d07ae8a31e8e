#!/usr/bin/env bash
# make bench-s3: GET and PUT of 4 KiB and 1 MiB objects through tarn's S3
# API, 8 concurrent clients, against nginx serving the same files (the GET
# ceiling) and the disk writing them as the store does (the PUT ceiling),
# all in the same run; writes the "s3" section of docs/benchmarks.md.
#
# The load tool is bench/s3_load.c: one keep-alive connection per client,
# every S3 request SigV4-signed by tarn's own signer (UNSIGNED-PAYLOAD; the
# PUTs once more with the body's SHA-256 signed), one line of figures per
# phase.  Phases, each bounded by BENCH_S3_SECONDS (default 5, at most 60)
# and by a count of operations:
#   disk  4 KiB and 1 MiB: temp file, write, fsync, rename, fsync of the
#         folder, 8 threads, on the file system of the lake
#   tarn  PUT 4 KiB, PUT 1 MiB (unsigned payload), the same with a signed
#         payload, then GET of the objects just written
#   nginx GET of the same files (the lake folder as its root)
# Each comparison runs BENCH_S3_ROUNDS times (default 5), tarn and its
# ceiling back to back, which goes first swapping every round; the table
# shows the round with the median ops/s, a target's ratio is the median of
# the rounds' paired ratios (this machine's disk and CPUs are shared, and
# drift between minutes more than between neighbouring phases).
# Objects: BENCH_S3_SMALL_OBJECTS distinct 4 KiB keys (default 2000),
# BENCH_S3_BIG_OBJECTS distinct 1 MiB keys (default 256); operation i uses
# key i mod N, so PUTs past N overwrite.  Counts: BENCH_S3_MAX_OPS per 4 KiB
# phase (default 1000000), BENCH_S3_MAX_OPS_BIG per 1 MiB phase (default
# 100000).  BENCH_S3_THREADS (default 8).  BENCH_S3_PERF=DIR records
# `perf record -g` of tarn during each tarn phase into DIR (it slows tarn:
# for finding where the time goes, not for the figures).
# BENCH_S3_OUT writes the section elsewhere (test runs).
#
# Everything listens on 127.0.0.1 ports that were free; the lake, nginx and
# the disk files live in a folder under TARN_BENCH_DIR (build/bench), removed
# on exit with every process started here.
set -euo pipefail
cd "$(dirname "$0")/.."
TARN=${TARN_BIN:-$PWD/build/tarn}
BENCH=${TARN_BENCH_DIR:-$PWD/build/bench}
SECS=${BENCH_S3_SECONDS:-5}
ROUNDS=${BENCH_S3_ROUNDS:-5}
THREADS=${BENCH_S3_THREADS:-8}
SMALL_N=${BENCH_S3_SMALL_OBJECTS:-2000}
BIG_N=${BENCH_S3_BIG_OBJECTS:-256}
MAX_OPS=${BENCH_S3_MAX_OPS:-1000000}
MAX_OPS_BIG=${BENCH_S3_MAX_OPS_BIG:-100000}
PERF=${BENCH_S3_PERF:-}
OUT=${BENCH_S3_OUT:-docs/benchmarks.md}
SMALL=4096
BIG=1048576
say() { echo "bench-s3: $*" >&2; }
fail() { echo "bench-s3: $*" >&2; exit 1; }
case $SECS in ''|*[!0-9]*) fail "BENCH_S3_SECONDS '$SECS': whole seconds, 1 to 60" ;; esac
[ "$SECS" -ge 1 ] && [ "$SECS" -le 60 ] || fail "BENCH_S3_SECONDS '$SECS': whole seconds, 1 to 60"
case $ROUNDS in ''|*[!0-9]*) fail "BENCH_S3_ROUNDS '$ROUNDS': 1 to 9" ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 9 ] || fail "BENCH_S3_ROUNDS '$ROUNDS': 1 to 9"
[ -x "$BENCH/s3_load" ] || fail "$BENCH/s3_load is missing: run make bench-s3"
command -v nginx > /dev/null || fail "nginx is not installed (Debian: nginx-light)"

export TARN_ROOT_USER=bench TARN_ROOT_PASSWORD=bench-password-1
# root's S3 access key pair, for s3_load (the environment, not argv)
export AWS_ACCESS_KEY_ID=$TARN_ROOT_USER AWS_SECRET_ACCESS_KEY=$TARN_ROOT_PASSWORD
export AWS_DEFAULT_REGION=us-east-1

mkdir -p "$BENCH"
D=$(mktemp -d "$BENCH/s3-bench.XXXXXX")
D=$(cd "$D" && pwd)
W=$D/work
mkdir -p "$W" "$D/disk" "$D/nginx/tmp"
tarn_pid='' nginx_pid='' perf_pid=''
cleanup() {
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  if [ -n "$nginx_pid" ]; then kill -QUIT "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  if [ -n "$tarn_pid" ]; then kill -TERM "$tarn_pid" 2>/dev/null || true; wait "$tarn_pid" 2>/dev/null || true; fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# --- CPU accounting: what each side burns during a phase ---------------------
HZ=$(getconf CLK_TCK)
proc_ticks() { # PID... -> utime + stime of those processes (all their threads)
  local t=0 p v
  for p in "$@"; do
    v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit}' /proc/stat; }
nginx_pids() { echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; }

# phase NAME SERVER_PIDS s3_load-args...: one run; its line (NAME rROUND figures...)
# goes to $W/runs.  A perf recording (BENCH_S3_PERF) covers tarn's phases.
round=0
phase() {
  local name=$1 pids=$2 line rc=0 c0 c1 t0 i0 t1 i1 p
  shift 2
  if [ -n "$PERF" ] && [ -n "$tarn_pid" ] && [ "$pids" = "$tarn_pid" ]; then
    perf record -q -g -p "$tarn_pid" -o "$PERF/$name.r$round.perf.data" 2> /dev/null &
    perf_pid=$!
    sleep 0.3
  fi
  c0=$(proc_ticks $pids); read -r t0 i0 < <(machine_ticks)
  line=$("$BENCH/s3_load" "$@" 2>> "$W/$name.err") || rc=$?
  c1=$(proc_ticks $pids); read -r t1 i1 < <(machine_ticks)
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; perf_pid=; fi
  [ -n "$line" ] || { cat "$W/$name.err" >&2; fail "$name: s3_load gave no figures (exit $rc)"; }
  for p in $pids; do kill -0 "$p" 2>/dev/null || { tail -n 20 "$W/tarn.log" >&2; fail "$name: the server (pid $p) is gone"; }; done
  [ "$rc" = 0 ] || { say "$name: some operations failed:"; tail -c 2000 "$W/$name.err" >&2; echo >&2; }
  echo "$name r$round $line server_cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN{printf "%.2f", t/hz}') busy=$(awk -v t=$((t1 - t0)) -v i=$((i1 - i0)) 'BEGIN{printf "%.0f", t ? 100*(t-i)/t : 0}')" >> "$W/runs"
  say "round $round $name: $line"
}
# pair A B: runs the functions A and B, in this order in odd rounds, swapped in even ones
pair() { if [ $((round % 2)) = 1 ]; then "$1"; "$2"; else "$2"; "$1"; fi; }
# val NAME ROUND KEY -> a figure of one run
val() {
  awk -v n="$1" -v r="r$2" -v k="$3" '$1==n && $2==r{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]==k){print kv[2]; exit}}}' "$W/runs"
}
# settle NAME: the run with the median ops/s becomes NAME's line in $W/results,
# with the range of ops/s over the rounds (lo=, hi=)
settle() {
  local pick
  pick=$(awk -v n="$1" '$1==n{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]=="ops_s") print kv[2], $2}}' "$W/runs" |
    sort -g | awk '{v[NR]=$1; r[NR]=$2} END{printf "%s lo=%s hi=%s\n", r[int((NR+1)/2)], v[1], v[NR]}')
  set -- "$1" $pick
  awk -v n="$1" -v r="$2" -v extra="$3 $4" '$1==n && $2==r{$2=""; print $0, extra}' "$W/runs" >> "$W/results"
}
get() { # NAME KEY -> a figure of NAME's median run
  awk -v n="$1" -v k="$2" '$1==n{for(i=2;i<=NF;i++){split($i,kv,"="); if(kv[1]==k){print kv[2]; exit}}}' "$W/results"
}
# paired TARN CEILING KEY -> "median lo hi" of TARN/CEILING over the rounds
paired() {
  local r out=
  for r in $(seq 1 "$ROUNDS"); do
    out="$out $(awk -v a="$(val "$1" "$r" "$3")" -v b="$(val "$2" "$r" "$3")" 'BEGIN{ if (b > 0) printf "%.4f", a / b; else print 0 }')"
  done
  tr ' ' '\n' <<< "$out" | sed '/^$/d' | sort -g |
    awk '{v[NR]=$1} END{printf "%.2f %.2f %.2f\n", v[int((NR+1)/2)], v[1], v[NR]}'
}

say "working in $D"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- tarn --------------------------------------------------------------------
"$TARN" init "$D/lake" > /dev/null
bucket=$("$TARN" config show "$D/lake" | awk '/^lake:/{l=1; next} /^[^ ]/{l=0} l && $1=="name:"{print $2; exit}')
[ -n "$bucket" ] || fail "cannot read lake.name from tarn config show"
hport=$(free_port); sport=$(free_port)
# No crawls during the timings: the uploads would schedule one after crawl_delay.
"$TARN" serve "$D/lake" --http "127.0.0.1:$hport" --s3 "127.0.0.1:$sport" --pg "" --log-level warn \
  --set catalog.crawl_delay=3600000ms --set catalog.crawl_interval=0 2>> "$W/tarn.log" &
tarn_pid=$!
up=0
for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$hport/healthz" > /dev/null &&
     [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sport/")" != 000 ]; then up=1; break; fi
  kill -0 "$tarn_pid" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] || { cat "$W/tarn.log" >&2; fail "tarn did not start"; }
S3=127.0.0.1:$sport
K4=04-user-drop-zone/bench/s4k/obj-
K1=04-user-drop-zone/bench/s1m/obj-

disk_small() { phase disk-4k "" disk "$D/disk" --threads "$THREADS" --objects "$SMALL_N" \
  --size $SMALL --seconds "$SECS" --max-ops "$MAX_OPS"; }
disk_big() { phase disk-1m "" disk "$D/disk" --threads "$THREADS" --objects "$BIG_N" \
  --size $BIG --seconds "$SECS" --max-ops "$MAX_OPS_BIG"; }
put_small() {
  phase put-4k "$tarn_pid" put "$S3" "/$bucket/$K4" --threads "$THREADS" --objects "$SMALL_N" \
    --size $SMALL --seconds "$SECS" --max-ops "$MAX_OPS" --sign unsigned
  phase put-4k-signed "$tarn_pid" put "$S3" "/$bucket/$K4" --threads "$THREADS" --objects "$SMALL_N" \
    --size $SMALL --seconds "$SECS" --max-ops "$MAX_OPS" --sign signed
}
put_big() {
  phase put-1m "$tarn_pid" put "$S3" "/$bucket/$K1" --threads "$THREADS" --objects "$BIG_N" \
    --size $BIG --seconds "$SECS" --max-ops "$MAX_OPS_BIG" --sign unsigned
  phase put-1m-signed "$tarn_pid" put "$S3" "/$bucket/$K1" --threads "$THREADS" --objects "$BIG_N" \
    --size $BIG --seconds "$SECS" --max-ops "$MAX_OPS_BIG" --sign signed
}
say "PUT: tarn's S3 and the disk, $ROUNDS rounds of ${SECS} s phases, $THREADS clients"
for round in $(seq 1 "$ROUNDS"); do
  pair disk_small put_small
  pair disk_big put_big
done
rm -rf "$D/disk"
for n in disk-4k put-4k put-4k-signed disk-1m put-1m put-1m-signed; do settle "$n"; done
# GET only keys a PUT phase wrote (a short phase may not have reached all N)
written() { # NAME N -> keys 0..k-1 written by every PUT run of NAME: min(N, most ops of a run)
  awk -v n="$1" -v N="$2" '$1==n{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]=="ops" && kv[2]>m) m=kv[2]}} END{print m<N?m+0:N}' "$W/runs"
}
small_get=$(written put-4k "$SMALL_N")
big_get=$(written put-1m "$BIG_N")
[ "$small_get" -ge 1 ] && [ "$big_get" -ge 1 ] || fail "the PUT phases wrote nothing to GET"
small_files=$(find "$D/lake/04-user-drop-zone/bench/s4k" -name 'obj-*.bin' | wc -l)
big_files=$(find "$D/lake/04-user-drop-zone/bench/s1m" -name 'obj-*.bin' | wc -l)

# --- nginx: the same files, the lake folder as its root ------------------------
nport=$(free_port)
ncpu=$(nproc)
{
  [ "$(id -u)" = 0 ] && echo "user root;   # the lake's files are 0640 root"
  cat <<NG
worker_processes $ncpu;
pid $D/nginx/nginx.pid;
error_log $D/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path $D/nginx/tmp;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nport;
    root $D/lake;
    location / { }
  }
}
NG
} > "$D/nginx/nginx.conf"
nginx -p "$D/nginx" -c "$D/nginx/nginx.conf" -g 'daemon off;' 2>> "$W/nginx.log" &
nginx_pid=$!
up=0
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/${K4}000000.bin")" = 200 ] && { up=1; break; }
  kill -0 "$nginx_pid" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] || { cat "$W/nginx.log" "$D/nginx/error.log" >&2 2>/dev/null; fail "nginx did not start"; }

get_small() { phase get-4k "$tarn_pid" get "$S3" "/$bucket/$K4" --threads "$THREADS" \
  --objects "$small_get" --size $SMALL --seconds "$SECS" --max-ops "$MAX_OPS" --sign unsigned; }
nginx_small() { phase nginx-4k "$(nginx_pids)" get "127.0.0.1:$nport" "/$K4" --threads "$THREADS" \
  --objects "$small_get" --size $SMALL --seconds "$SECS" --max-ops "$MAX_OPS" --sign none; }
get_big() { phase get-1m "$tarn_pid" get "$S3" "/$bucket/$K1" --threads "$THREADS" \
  --objects "$big_get" --size $BIG --seconds "$SECS" --max-ops "$MAX_OPS_BIG" --sign unsigned; }
nginx_big() { phase nginx-1m "$(nginx_pids)" get "127.0.0.1:$nport" "/$K1" --threads "$THREADS" \
  --objects "$big_get" --size $BIG --seconds "$SECS" --max-ops "$MAX_OPS_BIG" --sign none; }
say "GET: tarn's S3 and nginx on the same files, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  pair nginx_small get_small
  pair nginx_big get_big
done
for n in get-4k nginx-4k get-1m nginx-1m; do settle "$n"; done
tarn_rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$tarn_pid/status" 2>/dev/null || echo 0)

# --- report ---------------------------------------------------------------------
verdict() { awk -v r="$1" -v t="$2" 'BEGIN{ print (r + 0 >= t) ? "met" : "**missed**" }'; }
read -r r_get4 r_get4_lo r_get4_hi < <(paired get-4k nginx-4k ops_s)
read -r r_get1 r_get1_lo r_get1_hi < <(paired get-1m nginx-1m mb_s)
read -r r_put1 r_put1_lo r_put1_hi < <(paired put-1m disk-1m mb_s)
read -r r_put1s _ _ < <(paired put-1m-signed disk-1m mb_s)
read -r r_put4 _ _ < <(paired put-4k disk-4k ops_s)
read -r r_put4s _ _ < <(paired put-4k-signed disk-4k ops_s)
per_op() { awk -v c="$(get "$1" "$2")" -v o="$(get "$1" ops)" 'BEGIN{printf "%.0f", o ? c*1e6/o : 0}'; }
row() { # NAME LABEL: one table row, NAME's median run
  local n=$1 ops
  ops=$(get "$n" ops)
  printf '| %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s%% |\n' "$2" \
    "$(awk -v v="$(get "$n" ops_s)" 'BEGIN{printf "%.0f", v}')" \
    "$(awk -v a="$(get "$n" lo)" -v b="$(get "$n" hi)" 'BEGIN{printf "%.0f–%.0f", a, b}')" \
    "$(get "$n" mb_s)" "$(get "$n" p50_ms)" "$(get "$n" p99_ms)" "$ops" \
    "$(awk -v n="$n" '$1==n{for(i=3;i<=NF;i++){split($i,kv,"="); if(kv[1]=="errors") e+=kv[2]}} END{print e+0}' "$W/runs")" \
    "$(awk -v c="$(get "$n" server_cpu_s)" -v o="$ops" -v s="$n" 'BEGIN{ if (s ~ /^disk/) print "—"; else printf "%.0f", o ? c*1e6/o : 0 }')" \
    "$(awk -v c="$(get "$n" client_cpu_s)" -v o="$ops" 'BEGIN{printf "%.0f", o ? c*1e6/o : 0}')" \
    "$(get "$n" busy)"
}
cpu=$(lscpu | awk -F: '/Model name/{gsub(/^ +/,"",$2); print $2; exit}')
fs=$(df -T "$D" | awk 'NR==2{print $2" on "$1}')
{
cat <<MD
## S3 API (issue: S3 API)

Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $fs (the lake,
the disk ceiling's files and nginx's root all on it), Linux $(uname -r).
Run: $(date -u +%Y-%m-%dT%H:%MZ). $("$TARN" version 2>/dev/null | head -n 1); $(nginx -v 2>&1 | sed 's/^nginx version: //').
Load average when the runs started: $load0.

What runs: \`bench/s3_load\` (C, plain sockets), $THREADS client threads, each with its own
keep-alive HTTP/1.1 connection and one request in flight; a phase stops starting requests
after ${SECS} s (or $MAX_OPS operations at 4 KiB, $MAX_OPS_BIG at 1 MiB). Every S3 request is signed with
SigV4 by tarn's own signer (\`sigv4_sign\`) as root, over host, x-amz-content-sha256 and
x-amz-date, path-style (\`/$bucket/<key>\`), with \`UNSIGNED-PAYLOAD\`, except the "signed
payload" PUT rows, which sign the body's hex SHA-256 (the server hashes every byte and
compares). Objects: $SMALL_N keys of 4 KiB and $BIG_N keys of 1 MiB under
\`04-user-drop-zone/bench/\`; a PUT phase's operation i writes key i mod N (past N it
overwrites); the GET phases read the $small_get and $big_get keys written ($small_files and $big_files files
on disk), all in the page cache, for tarn and nginx alike.
Ceilings, same run: **nginx** ($ncpu workers, sendfile, access log off, keep-alive) serving
the lake folder itself, so the same files by the same paths, read by the same tool without
signing; **disk**: $THREADS threads writing objects as tarn's store does (temp file in the target
folder, write in 256 KiB pieces, fsync, rename, fsync of the folder) in a folder beside the
lake. tarn: crawler held off (\`catalog.crawl_delay=3600000ms\`, \`catalog.crawl_interval=0\`),
everything else as configured by default (grants checked, every access in the audit trail);
peak RSS over the run $((tarn_rss_kb / 1024)) MiB.

Each comparison ran $ROUNDS rounds, tarn and its ceiling back to back (which one first
alternating). A row is the round with the median ops/s (the range over the rounds beside
it); a target's ratio is the median of the rounds' paired ratios (the range in brackets).
Latency: from the first byte of the request sent to the last byte of the answer read (disk:
open to the folder's fsync); p50 / p99 by nearest rank. MB/s: 10^6 bytes of object per second.
"server CPU": CPU time (user + system, all threads) of tarn, or of nginx's workers, per
operation; "client CPU": s3_load's own (for the disk rows, the writing itself, fsync included);
"machine busy": the share of both cores in use: client and server share them.

| phase | ops/s | ops/s range | MB/s | p50 / p99 ms | operations | errors | server CPU µs/op | client CPU µs/op | machine busy |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(row disk-4k "disk ceiling, 4 KiB")
$(row put-4k "tarn PUT 4 KiB")
$(row put-4k-signed "tarn PUT 4 KiB, signed payload")
$(row disk-1m "disk ceiling, 1 MiB")
$(row put-1m "tarn PUT 1 MiB")
$(row put-1m-signed "tarn PUT 1 MiB, signed payload")
$(row nginx-4k "nginx GET 4 KiB")
$(row get-4k "tarn GET 4 KiB")
$(row nginx-1m "nginx GET 1 MiB")
$(row get-1m "tarn GET 1 MiB")

| target (issue: S3 API) | tarn (median run) | ceiling (median run) | ratio [range] | target | |
|---|---:|---:|---:|---:|---|
| GET 4 KiB, ops/s vs nginx | $(get get-4k ops_s) | $(get nginx-4k ops_s) | $r_get4 [$r_get4_lo–$r_get4_hi] | ≥ 0.80 | $(verdict "$r_get4" 0.80) |
| GET 1 MiB, MB/s vs nginx | $(get get-1m mb_s) | $(get nginx-1m mb_s) | $r_get1 [$r_get1_lo–$r_get1_hi] | ≥ 0.80 | $(verdict "$r_get1" 0.80) |
| PUT 1 MiB, MB/s vs the disk | $(get put-1m mb_s) | $(get disk-1m mb_s) | $r_put1 [$r_put1_lo–$r_put1_hi] | ≥ 0.70 | $(verdict "$r_put1" 0.70) |

Not targets, same run: PUT 1 MiB with a signed payload reaches $r_put1s of the disk ceiling;
PUT 4 KiB $r_put4 of the disk's 4 KiB writes per second ($r_put4s with a signed payload). The
client is not what limits tarn: the same client drives nginx $(awk -v r="$r_get4" 'BEGIN{printf "%.1f", (r > 0 ? 1/r : 0)}')x harder at 4 KiB, spending
$(per_op nginx-4k client_cpu_s) µs of CPU per GET there against $(per_op get-4k client_cpu_s) µs per signed GET to tarn, where tarn itself spends
$(per_op get-4k server_cpu_s) µs per GET (nginx: $(per_op nginx-4k server_cpu_s) µs).
MD
} > "$W/report.md"
if [ -n "$(cat "$W"/*.err 2>/dev/null)" ]; then
  { echo; echo "Errors reported by s3_load (first lines):"; echo; echo '```'
    cat "$W"/*.err | head -n 10 | cut -c1-300; echo '```'; } >> "$W/report.md"
fi
cat "$W/report.md"
/usr/bin/python3 bench/section.py s3 "$OUT" < "$W/report.md"

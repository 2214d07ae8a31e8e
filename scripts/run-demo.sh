#!/usr/bin/env bash
# make run: create ./lake if absent, serve it in the foreground, stream
# synthetic immunization events into it, and print how to connect.
# Ctrl-C stops the server gracefully (the WAL is flushed into objects).
#
#   TARN_LAKE   lake directory (default ./lake)
#   TARN_HTTP   listen address (default 127.0.0.1:7070)
#   TARN_ROOT_USER / TARN_ROOT_PASSWORD  root credentials (generated once if unset)
set -euo pipefail
TARN=${1:?usage: run-demo.sh PATH-TO-TARN}
LAKE=${TARN_LAKE:-./lake}
HTTP=${TARN_HTTP:-127.0.0.1:7070}
CREDS="$LAKE/.tarn/demo.env"

if [ ! -e "$LAKE" ]; then
  user=${TARN_ROOT_USER:-admin}
  pw=${TARN_ROOT_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}
  TARN_ROOT_USER=$user TARN_ROOT_PASSWORD=$pw "$TARN" init "$LAKE" >/dev/null
  # A demo wants objects to appear quickly: flush every 10 seconds.
  sed -i 's/^  buffer_interval: .*/  buffer_interval: 10s/' "$LAKE/tarn.yaml"
  umask 077
  printf 'TARN_ROOT_USER=%q\nTARN_ROOT_PASSWORD=%q\n' "$user" "$pw" > "$CREDS"
  echo "created a new lake in $LAKE"
fi
if [ -z "${TARN_ROOT_PASSWORD:-}" ]; then
  if [ ! -f "$CREDS" ]; then
    echo "make run: $LAKE exists but has no $CREDS; set TARN_ROOT_USER and TARN_ROOT_PASSWORD" >&2
    exit 1
  fi
  # shellcheck disable=SC1090
  . "$CREDS"
fi
export TARN_ROOT_USER TARN_ROOT_PASSWORD

"$TARN" serve "$LAKE" --http "$HTTP" &
server=$!
feeder=
stop() {
  [ -n "$feeder" ] && kill "$feeder" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null || true
}
trap stop INT TERM

url="http://$HTTP"
for _ in $(seq 1 100); do
  curl -fs "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit 1; }
  sleep 0.1
done

export TARN_URL=$url TARN_USER=$TARN_ROOT_USER TARN_PASSWORD=$TARN_ROOT_PASSWORD
bucket=$("$TARN" config show "$LAKE" | awk '$1 == "name:" {print $2; exit}')
cat <<MSG

  tarn is serving the lake in $LAKE
    REST, Kinesis, Firehose:  $url          (health: $url/healthz)
    S3 (bucket '$bucket'):    http://127.0.0.1:9000
    PostgreSQL (db '$bucket'):   127.0.0.1:5433
    root user:                $TARN_ROOT_USER
    root password:            $TARN_ROOT_PASSWORD
    raw zone:                 $LAKE/01-raw-data-zone/

  Send a record:
    curl -u $TARN_ROOT_USER:$TARN_ROOT_PASSWORD -X POST $url/v1/streams/immunizations/records \\
         --data-binary '{"patient_id":"P00000001","cvx_code":"208"}'
    AWS_ACCESS_KEY_ID=$TARN_ROOT_USER AWS_SECRET_ACCESS_KEY=$TARN_ROOT_PASSWORD AWS_DEFAULT_REGION=us-east-1 \\
      aws --endpoint-url $url kinesis put-record --stream-name immunizations \\
          --partition-key p1 --cli-binary-format raw-in-base64-out --data '{"patient_id":"P1"}'

  Browse it with any S3 tool:
    AWS_ACCESS_KEY_ID=$TARN_ROOT_USER AWS_SECRET_ACCESS_KEY=$TARN_ROOT_PASSWORD AWS_DEFAULT_REGION=us-east-1 \\
      aws --endpoint-url http://127.0.0.1:9000 s3 ls s3://$bucket/

  Query it with SQL, from psql or any PostgreSQL driver or BI tool (the table appears
  once the crawler has seen the first objects, within a minute):
    PGPASSWORD=$TARN_ROOT_PASSWORD psql "host=127.0.0.1 port=5433 dbname=$bucket user=$TARN_ROOT_USER" \\
      -c 'SELECT vaccine_name, count(*) FROM raw.immunizations GROUP BY 1 ORDER BY 2 DESC'

  Streaming synthetic immunization events into 'immunizations' (1,000 now, then 20 every 2 s).
  Ctrl-C stops the server; every acknowledged record is flushed first.

MSG

(
  "$TARN" gen immunizations --count 1000 --seed 1 | "$TARN" ingest immunizations - || true
  seed=2
  while kill -0 "$server" 2>/dev/null; do
    sleep 2
    "$TARN" gen immunizations --count 20 --seed "$seed" 2>/dev/null |
      "$TARN" ingest immunizations - >/dev/null 2>&1 || true
    seed=$((seed + 1))
  done
) &
feeder=$!

set +e
wait "$server"
rc=$?
if [ $rc -gt 128 ]; then
  # Interrupted by Ctrl-C: the trap asked the server to stop; take its own status.
  stop
  wait "$server"
  rc=$?
fi
[ -n "$feeder" ] && kill "$feeder" 2>/dev/null
exit $rc

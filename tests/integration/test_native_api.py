#!/usr/bin/env python3
"""Native stream API driven by curl: formats, validation, auth, options,
flush, and every acknowledged record exactly once in the raw zone."""
import json
import os
import subprocess
import time

from tarnlib import (KEY_RE, ROOT_PASSWORD, ROOT_USER, Lake, check, eq, run, test)


def curl(lake, method, path, data=None, user=f"{ROOT_USER}:{ROOT_PASSWORD}", headers=(),
         data_file=None):
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method]
    if user:
        args += ["-u", user]
    for h in headers:
        args += ["-H", h]
    if data is not None:
        args += ["--data-binary", "@-"]
    if data_file:
        args += ["--data-binary", "@" + data_file]
    args.append(lake.url + path)
    out = subprocess.run(args, input=data.encode() if isinstance(data, str) else data,
                         capture_output=True, check=True)
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code), body


@test
def ndjson_array_and_object_bodies():
    lake = Lake().start()
    nd = "".join(json.dumps({"id": i, "kind": "nd"}) + "\n" for i in range(100))
    st, body = curl(lake, "POST", "/v1/streams/events/records", nd,
                    headers=["Content-Type: application/x-ndjson"])
    eq(st, 200, "ndjson status")
    r = json.loads(body)
    eq((r["count"], r["first_seq"], r["last_seq"]), (100, "1", "100"), "ndjson result")
    arr = json.dumps([{"id": 100 + i, "kind": "arr"} for i in range(10)])
    st, body = curl(lake, "POST", "/v1/streams/events/records", arr,
                    headers=["Content-Type: application/json"])
    eq(st, 200, "array status")
    eq(json.loads(body)["count"], 10, "array count")
    pretty = json.dumps({"id": 110, "kind": "obj", "nested": {"a": [1, 2]}}, indent=2)
    st, body = curl(lake, "POST", "/v1/streams/events/records", pretty)
    eq(st, 200, "object status")
    eq(json.loads(body)["last_seq"], "111", "object seq")
    st, body = curl(lake, "POST", "/v1/streams/events/flush")
    eq(st, 200, "flush")
    info = json.loads(body)
    eq(info["flushed_seq"], "111", "flushed")
    keys = lake.objects("events")
    check(keys, "no objects written")
    for k in keys:
        m = KEY_RE.match(k)
        check(m, f"object key {k!r} does not match <raw>/<stream>/YYYY/MM/DD/HHMMSS-<seq>.json")
    ids = sorted(r["id"] for r in lake.records("events"))
    eq(ids, list(range(111)), "records in the raw zone")
    # Each object is NDJSON: one record per line, the pretty one minified.
    for k in keys:
        with open(os.path.join(lake.dir, k)) as f:
            for line in f:
                check(line.endswith("\n") and "\n" not in line[:-1], "one record per line")


@test
def bad_record_rejects_whole_batch():
    lake = Lake().start()
    nd = '{"ok":1}\n{"ok":2}\n{"ok":3,}\n{"ok":4}\n'
    st, body = curl(lake, "POST", "/v1/streams/s/records", nd,
                    headers=["Content-Type: application/x-ndjson"])
    eq(st, 400, "status")
    err = json.loads(body)["error"]
    eq(err.get("index"), 2, "index of the bad record")
    check("record 2" in err["message"] and "byte" in err["message"], err["message"])
    # Not an object, and an empty body.
    st, body = curl(lake, "POST", "/v1/streams/s/records", '{"a":1}\n[1,2]\n')
    eq(st, 400, "array record")
    check("JSON object" in json.loads(body)["error"]["message"], body)
    st, body = curl(lake, "POST", "/v1/streams/s/records", "")
    eq(st, 400, "empty body")
    # Nothing was appended by the failures.
    curl(lake, "POST", "/v1/streams/s/records", '{"ok":5}\n')
    st, body = curl(lake, "GET", "/v1/streams/s")
    eq(json.loads(body)["records"], 1, "records after failures")


@test
def authentication_required_and_tokens():
    lake = Lake().start()
    st, body = curl(lake, "GET", "/healthz", user=None)
    eq(st, 200, "healthz needs no auth")
    st, body = curl(lake, "GET", "/v1/streams", user=None)
    eq(st, 401, "no credentials")
    check(json.loads(body)["error"]["code"], "error code")
    st, _ = curl(lake, "GET", "/v1/streams", user=f"{ROOT_USER}:wrong")
    eq(st, 401, "bad password")
    st, _ = curl(lake, "GET", "/v1/streams", user="nobody:x")
    eq(st, 401, "unknown user")
    st, body = curl(lake, "POST", "/v1/tokens", '{"ttl_seconds": 3600}')
    eq(st, 201, "token created")
    tok = json.loads(body)["token"]
    st, body = curl(lake, "GET", "/v1/streams", user=None,
                    headers=[f"Authorization: Bearer {tok}"])
    eq(st, 200, "bearer works")
    st, _ = curl(lake, "GET", "/v1/streams", user=None,
                 headers=[f"Authorization: Bearer {tok[:-2]}xx"])
    eq(st, 401, "tampered token")
    st, _ = curl(lake, "POST", "/v1/tokens", '{"ttl_seconds": 99999999999}')
    eq(st, 400, "ttl over the maximum")
    # The token survives a restart (stored hashed in the metastore).
    lake.stop()
    lake.start()
    st, _ = curl(lake, "GET", "/v1/streams", user=None, headers=[f"Authorization: Bearer {tok}"])
    eq(st, 200, "token after restart")
    with open(os.path.join(lake.dir, ".tarn", "meta.db"), "rb") as f:
        check(tok.encode() not in f.read(), "token stored in the clear")


@test
def stream_options_required_fields_and_partitioning():
    lake = Lake().start()
    opts = {"required_fields": ["patient_id"], "timestamp_field": "administered_at",
            "buffer_seconds": 1, "buffer_bytes": 1 << 20}
    st, body = curl(lake, "PUT", "/v1/streams/imm", json.dumps(opts))
    check(st in (200, 201), f"PUT status {st}: {body!r}")
    info = json.loads(body)
    eq(info["options"]["partition_by"], "field", "partition_by")
    st, body = curl(lake, "POST", "/v1/streams/imm/records",
                    '{"patient_id":"P1","administered_at":"2025-03-04T05:06:07Z"}\n'
                    '{"administered_at":"2025-03-04T05:06:07Z"}\n')
    eq(st, 400, "missing required field")
    check("record 1" in body.decode() and "patient_id" in body.decode(), body)
    st, body = curl(lake, "POST", "/v1/streams/imm/records",
                    '{"patient_id":"P1","administered_at":"2025-03-04T05:06:07Z"}\n'
                    '{"patient_id":"P2","administered_at":"2024-07-01T23:00:00+00:00"}\n')
    eq(st, 200, "good batch")
    # No explicit flush: the 1 s buffer interval makes the objects appear.
    deadline = time.time() + 10
    while time.time() < deadline and len(lake.objects("imm")) < 2:
        time.sleep(0.1)
    keys = lake.objects("imm")
    eq(keys, ["01-raw-data-zone/imm/2024/07/01/230000-2.json",
              "01-raw-data-zone/imm/2025/03/04/050607-1.json"], "partitioned by the field")
    st, body = curl(lake, "PUT", "/v1/streams/imm", '{"buffer_bytes": 12}')
    eq(st, 400, "bad option value")
    st, body = curl(lake, "PUT", "/v1/streams/imm", '{"colour": "blue"}')
    eq(st, 400, "unknown option")


@test
def listing_limits_and_names():
    lake = Lake().start()
    curl(lake, "POST", "/v1/streams/a1/records", '{"x":1}')
    curl(lake, "POST", "/v1/streams/b2/records", '{"x":1}')
    st, body = curl(lake, "GET", "/v1/streams")
    eq(st, 200, "list")
    names = [s["name"] for s in json.loads(body)["streams"]]
    eq(names, ["a1", "b2"], "stream names")
    st, body = curl(lake, "GET", "/v1/streams/a1")
    info = json.loads(body)
    for k in ("records", "bytes", "wal_bytes", "flush_lag_ms", "last_object"):
        check(k in info, f"stream info lacks {k}")
    st, _ = curl(lake, "GET", "/v1/streams/nope")
    eq(st, 404, "unknown stream")
    st, _ = curl(lake, "POST", "/v1/streams/bad%20name/records", '{"x":1}')
    eq(st, 400, "invalid stream name")
    big = '{"x":"' + "a" * (1 << 20) + '"}'
    st, body = curl(lake, "POST", "/v1/streams/a1/records", big)
    check(st in (400, 413), f"record over 1 MiB: {st}")
    check("1 MiB" in body.decode() or "limit" in body.decode(), body[:200])
    huge = os.path.join(lake.tmp, "huge.ndjson")
    with open(huge, "w") as f:
        line = '{"x":"' + "b" * 1000 + '"}\n'
        for _ in range(17 * 1024):
            f.write(line)
    st, body = curl(lake, "POST", "/v1/streams/a1/records", data_file=huge)
    eq(st, 413, "body over the batch limit")
    st, body = curl(lake, "GET", "/v1/streams/a1")
    eq(json.loads(body)["records"], 1, "nothing appended by refused requests")


@test
def auto_create_off():
    lake = Lake(settings={"streams.auto_create": "false"}).start()
    st, body = curl(lake, "POST", "/v1/streams/new/records", '{"x":1}')
    eq(st, 404, "unknown stream with auto-create off")
    st, _ = curl(lake, "PUT", "/v1/streams/new", '{}')
    check(st in (200, 201), "explicit create")
    st, _ = curl(lake, "POST", "/v1/streams/new/records", '{"x":1}')
    eq(st, 200, "write after create")


@test
def graceful_shutdown_flushes_everything():
    lake = Lake(settings={"streams.buffer_interval": "900s"}).start()
    nd = "".join(json.dumps({"n": i}) + "\n" for i in range(500))
    st, _ = curl(lake, "POST", "/v1/streams/g/records", nd)
    eq(st, 200, "ingest")
    eq(lake.objects("g"), [], "nothing flushed yet (900 s interval)")
    eq(lake.stop(), 0, "exit status after SIGTERM")
    eq(sorted(r["n"] for r in lake.records("g")), list(range(500)), "flushed at shutdown")
    # A second server cannot open a lake that is being served.
    lake.start()
    other = subprocess.run([os.environ["TARN_BIN"], "serve", lake.dir, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0", "--pg", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, TARN_ROOT_USER=ROOT_USER,
                                    TARN_ROOT_PASSWORD=ROOT_PASSWORD))
    check(other.returncode != 0 and "in use" in other.stderr, other.stderr)


run()

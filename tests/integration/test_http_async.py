#!/usr/bin/env python3
"""Suspended requests at the HTTP edge: concurrency, clients that leave,
stop under load.  Run: TARN_BIN=... PYTHONPATH=tests/integration python3 this."""
import http.client
import json
import base64
import signal
import socket
import threading
import time

import boto3
from botocore.config import Config

from tarnlib import Lake, test, run, check, eq, ROOT_USER, ROOT_PASSWORD, Failure

AUTH = "Basic " + base64.b64encode(f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()


def post_loop(port, stream, n, per, tag, acks, errors, stop=None):
    """n requests of `per` records on one keep-alive connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(n):
            if stop is not None and stop.is_set():
                return
            body = "\n".join(json.dumps({"tag": tag, "i": i, "j": j}) for j in range(per))
            try:
                c.request("POST", f"/v1/streams/{stream}/records", body=body,
                          headers={"Authorization": AUTH, "Content-Type": "application/x-ndjson"})
                r = c.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:
                if stop is not None and stop.is_set():
                    return
                errors.append(f"{tag}/{i}: {e!r}")
                return
            if r.status == 200:
                d = json.loads(data)
                acks.append((int(d["first_seq"]), int(d["last_seq"]), d["count"], tag, i, per))
            elif r.status == 503 and stop is not None:
                return
            else:
                errors.append(f"{tag}/{i}: {r.status} {data[:200]!r}")
    finally:
        c.close()


def check_acks(acks, want_records):
    seqs = []
    for first, last, count, *_ in acks:
        eq(last - first + 1, count, "count vs seq range")
        seqs.extend(range(first, last + 1))
    eq(len(seqs), want_records, "acknowledged records")
    eq(len(set(seqs)), len(seqs), "distinct sequence numbers")


@test
def concurrent_keepalive_appends():
    lake = Lake().start()
    acks, errors = [], []
    ts = [threading.Thread(target=post_loop,
                           args=(lake.port, "c", 150, 1 + (k % 3) * 7, f"t{k}", acks, errors))
          for k in range(24)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, f"errors: {errors[:5]}")
    want = sum(150 * (1 + (k % 3) * 7) for k in range(24))
    check_acks(acks, want)
    lake.json("POST", "/v1/streams/c/flush")
    recs = lake.records("c")
    eq(len(recs), want, "records in objects")
    eq(lake.stop(), 0, "clean stop")


@test
def aws_puts_concurrent():
    lake = Lake().start()
    cfg = Config(retries={"max_attempts": 1})
    kw = dict(endpoint_url=f"http://127.0.0.1:{lake.port}", region_name="us-east-1",
              aws_access_key_id=ROOT_USER, aws_secret_access_key=ROOT_PASSWORD, config=cfg)
    errors, seqs, lock = [], [], threading.Lock()

    def kin(k):
        cl = boto3.session.Session().client("kinesis", **kw)
        for i in range(15):
            recs = [{"Data": json.dumps({"k": k, "i": i, "j": j}).encode(), "PartitionKey": "p"}
                    for j in range(50)]
            r = cl.put_records(StreamName="ks", Records=recs)
            if r["FailedRecordCount"]:
                errors.append(r["Records"][0])
            with lock:
                seqs.extend(int(x["SequenceNumber"]) for x in r["Records"])
            r = cl.put_record(StreamName="ks", Data=b'{"single":1}', PartitionKey="p")
            with lock:
                seqs.append(int(r["SequenceNumber"]))

    def fh(k):
        cl = boto3.session.Session().client("firehose", **kw)
        for i in range(15):
            recs = [{"Data": json.dumps({"k": k, "i": i, "j": j}).encode()} for j in range(40)]
            r = cl.put_record_batch(DeliveryStreamName="fs", Records=recs)
            if r["FailedPutCount"]:
                errors.append(r["RequestResponses"][0])
            r = cl.put_record(DeliveryStreamName="fs", Record={"Data": b"not json"})
            check(len(r["RecordId"]) == 20, "firehose record id")

    def guard(fn, k):
        try:
            fn(k)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=guard, args=(kin, k)) for k in range(6)]
    ts += [threading.Thread(target=guard, args=(fh, k)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, f"errors: {errors[:3]}")
    eq(len(seqs), 6 * 15 * 51, "kinesis acks")
    eq(len(set(seqs)), len(seqs), "distinct kinesis seqs")
    eq(lake.json("GET", "/v1/streams/fs")["quarantined"], 6 * 15, "firehose quarantined")
    eq(lake.stop(), 0, "clean stop")


@test
def clients_leave_while_suspended():
    lake = Lake().start()
    body = json.dumps({"x": 1}).encode()
    req = (f"POST /v1/streams/d/records HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    acks, errors = [], []
    load = [threading.Thread(target=post_loop, args=(lake.port, "d", 200, 1, f"l{k}", acks, errors))
            for k in range(8)]
    for t in load:
        t.start()
    # a big batch keeps its request suspended for a while (its fdatasync):
    # the client leaves meanwhile, by FIN or by RST
    big = "\n".join(json.dumps({"pad": "x" * 1000, "i": i}) for i in range(4000)).encode()
    big_req = (f"POST /v1/streams/d/records HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
               f"Content-Type: application/x-ndjson\r\nContent-Length: {len(big)}\r\n\r\n"
               ).encode() + big
    for k in range(60):
        s = socket.create_connection(("127.0.0.1", lake.port))
        try:
            s.sendall(big_req if k % 2 else req)
        except OSError as e:
            time.sleep(0.5)
            raise Failure(f"send: {e!r}; server {'died: ' + lake.tail() if lake.proc.poll() is not None else 'alive'}")
        time.sleep((k % 7) * 0.002)
        if k % 3 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    for t in load:
        t.join()
    check(not errors, f"errors: {errors[:5]}")
    eq(lake.request("GET", "/healthz", auth=None)[0], 200, "healthz after")
    eq(lake.stop(), 0, "clean stop")
    check("BUG" not in open(lake.log).read(), "no BUG in the log")


@test
def stop_under_load_keeps_every_ack():
    lake = Lake().start()
    acks, errors, stop = [], [], threading.Event()
    ts = [threading.Thread(target=post_loop,
                           args=(lake.port, "s", 100000, 3, f"t{k}", acks, errors, stop))
          for k in range(16)]
    for t in ts:
        t.start()
    time.sleep(1.5)
    t0 = time.time()
    lake.proc.send_signal(signal.SIGTERM)
    stop.set()
    rc = lake.proc.wait(60)
    for t in ts:
        t.join()
    eq(rc, 0, "exit status after SIGTERM under load")
    check(time.time() - t0 < 15, "stop took too long")
    lake.proc = None
    lake.logf.close()
    check(len(acks) > 50, f"too few acks: {len(acks)}")
    lake.start()
    lake.json("POST", "/v1/streams/s/flush")
    have = {(r["tag"], r["i"], r["j"]) for r in lake.records("s")}
    for first, last, count, tag, i, per in acks:
        for j in range(per):
            check((tag, i, j) in have, f"acknowledged record {(tag, i, j)} lost")
    eq(lake.stop(), 0, "clean stop")


@test
def flush_and_delete_during_appends():
    lake = Lake().start()
    acks, errors = [], []
    ts = [threading.Thread(target=post_loop, args=(lake.port, "f", 300, 2, f"t{k}", acks, errors))
          for k in range(6)]
    for t in ts:
        t.start()
    for _ in range(10):
        info = lake.json("POST", "/v1/streams/f/flush")
        check(int(info["flushed_seq"]) >= 0, "flush answer")
    for t in ts:
        t.join()
    check(not errors, f"errors: {errors[:5]}")
    lake.json("PUT", "/v1/streams/gone", {}, want=201)
    lake.json("POST", "/v1/streams/gone/records", {"a": 1})
    st, _, _ = lake.request("DELETE", "/v1/streams/gone")
    eq(st, 204, "delete")
    st, _, _ = lake.request("DELETE", "/v1/streams/gone")
    eq(st, 404, "delete again")
    eq(lake.stop(), 0, "clean stop")


@test
def tiny_connection_limit():
    lake = Lake(settings={"http.max_connections": 1}).start()
    for _ in range(5):
        lake.json("POST", "/v1/streams/t/records", {"a": 1})
    eq(lake.stop(), 0, "clean stop")


if __name__ == "__main__":
    run()

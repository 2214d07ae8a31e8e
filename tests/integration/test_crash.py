#!/usr/bin/env python3
"""Crash test: clients ingest while the server is killed with SIGKILL at
random moments.  After a restart and a flush, every acknowledged record is
in the raw zone exactly once, and no record is there twice.  A reader
fetches an object meanwhile: every read answered is in the audit trail, and
its chain verifies.

TARN_CRASH_CYCLES sets the number of kill cycles (20 in make test, 200 in
make crash-test)."""
import base64
import http.client
import json
import os
import random
import subprocess
import threading
import time

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test

CYCLES = int(os.environ.get("TARN_CRASH_CYCLES", "20"))
CLIENTS = 4
AUTH = "Basic " + base64.b64encode(f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()
OBJECT = "/v1/objects/04-user-drop-zone/crash/o.csv"


def client(lake_port, stream, tag, acked, lock, stop, rng):
    n = 0
    while not stop.is_set():
        size = rng.randint(1, 60)
        ids = [f"{tag}-{n + i}" for i in range(size)]
        n += size
        body = "".join(json.dumps({"id": i, "pad": "x" * rng.randint(10, 400)}) + "\n"
                       for i in ids)
        try:
            c = http.client.HTTPConnection("127.0.0.1", lake_port, timeout=10)
            c.request("POST", f"/v1/streams/{stream}/records", body=body,
                      headers={"Authorization": AUTH, "Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                with lock:
                    acked.update(ids)
            elif r.status != 503:
                raise AssertionError(f"unexpected status {r.status}")
        except (OSError, http.client.HTTPException):
            time.sleep(0.01)  # the server is gone: this batch is not acknowledged


def reader(lake_port, answered, lock, stop):
    """GETs the object until stopped; counts the reads answered 200."""
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", lake_port, timeout=10)
            c.request("GET", OBJECT, headers={"Authorization": AUTH})
            r = c.getresponse()
            r.read()
            if r.status == 200:
                with lock:
                    answered[0] += 1
        except (OSError, http.client.HTTPException):
            c = None
            time.sleep(0.01)


@test
def kill_minus_nine_loses_and_duplicates_nothing():
    rng = random.Random(int(os.environ.get("TARN_CRASH_SEED", "20261122")))
    lake = Lake(settings={"streams.buffer_interval": "1s", "streams.buffer_size": "64KiB",
                          "streams.wal_segment_size": "2MiB"})
    acked = set()
    answered = [0]
    lock = threading.Lock()
    for cycle in range(CYCLES):
        lake.start()
        if cycle == 0:
            st, _, _ = lake.request("PUT", OBJECT, body=b"a,b\n1,2\n")
            eq(st, 201, "the object to read")
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(
            lake.port, "crash" if k % 2 == 0 else "crash2", f"c{cycle}k{k}", acked, lock, stop,
            random.Random(rng.random()))) for k in range(CLIENTS)]
        threads.append(threading.Thread(target=reader, args=(lake.port, answered, lock, stop)))
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.1, 1.2))
        lake.kill()
        stop.set()
        for t in threads:
            t.join()
    lake.start()
    for s in ("crash", "crash2"):
        lake.json("POST", f"/v1/streams/{s}/flush")
    eq(lake.stop(), 0, "clean stop")
    ids = [r["id"] for s in ("crash", "crash2") for r in lake.records(s)]
    dupes = len(ids) - len(set(ids))
    eq(dupes, 0, "records written twice")
    missing = acked - set(ids)
    eq(len(missing), 0, f"acknowledged records lost (e.g. {sorted(missing)[:3]})")
    check(len(acked) > CYCLES * 10, f"too little was ingested to mean much ({len(acked)})")
    reads = [a for a in lake.audit_lines() if a.get("event") == "object" and
             a.get("action") == "read" and a.get("outcome") == "ok"]
    check(len(reads) >= answered[0], f"{answered[0]} reads answered, {len(reads)} audited")
    out = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True, text=True)
    eq(out.returncode, 0, f"the audit chain verifies: {out.stdout}{out.stderr}")
    print(f"# {CYCLES} kill cycles, {len(acked)} acknowledged records, {len(ids)} stored, "
          f"{answered[0]} reads answered, {len(reads)} audited")


run()

#!/usr/bin/env python3
"""Crash test: clients ingest while the server is killed with SIGKILL at
random moments.  After a restart and a flush, every acknowledged record is
in the raw zone exactly once, and no record is there twice.

TARN_CRASH_CYCLES sets the number of kill cycles (20 in make test, 200 in
make crash-test)."""
import http.client
import json
import os
import random
import threading
import time

from tarnlib import Lake, check, eq, run, test

CYCLES = int(os.environ.get("TARN_CRASH_CYCLES", "20"))
CLIENTS = 4


def client(lake_port, stream, tag, acked, lock, stop, rng):
    import base64
    auth = "Basic " + base64.b64encode(b"admin:integration-test-pw-1").decode()
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
                      headers={"Authorization": auth, "Content-Type": "application/x-ndjson"})
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


@test
def kill_minus_nine_loses_and_duplicates_nothing():
    rng = random.Random(int(os.environ.get("TARN_CRASH_SEED", "20261122")))
    lake = Lake(settings={"streams.buffer_interval": "1s", "streams.buffer_size": "64KiB",
                          "streams.wal_segment_size": "2MiB"})
    acked = set()
    lock = threading.Lock()
    for cycle in range(CYCLES):
        lake.start()
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(
            lake.port, "crash" if k % 2 == 0 else "crash2", f"c{cycle}k{k}", acked, lock, stop,
            random.Random(rng.random()))) for k in range(CLIENTS)]
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
    print(f"# {CYCLES} kill cycles, {len(acked)} acknowledged records, {len(ids)} stored")


run()

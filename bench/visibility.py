#!/usr/bin/env python3
"""Time from acknowledgement to visibility: records are posted one at a
time at a steady rate; a watcher polls the stream's raw-zone folder and
notes when each record's object appears.  Prints p50/p99/max in ms.

    visibility.py URL AUTH LAKE_DIR STREAM SECONDS RATE
"""
import http.client
import json
import os
import sys
import threading
import time

url, auth, lake, stream, seconds, rate = sys.argv[1:7]
seconds, rate = float(seconds), float(rate)
host, port = url.split("//")[1].split(":")
acked, seen = {}, {}
done = threading.Event()


def sender():
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    i, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        body = json.dumps({"vid": i, "pad": "v" * 700})
        c.request("POST", f"/v1/streams/{stream}/records", body=body,
                  headers={"Authorization": auth})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            acked[i] = time.time()
        i += 1
        next_t = t0 + i / rate
        if next_t > time.time():
            time.sleep(next_t - time.time())
    done.set()


def watcher():
    base = os.path.join(lake, "01-raw-data-zone", stream)
    known = set()
    end = None
    while True:
        now = time.time()
        for d, _, files in os.walk(base):
            for f in files:
                p = os.path.join(d, f)
                if f.startswith(".") or p in known:
                    continue
                known.add(p)
                with open(p) as fh:
                    for line in fh:
                        seen.setdefault(json.loads(line)["vid"], now)
        if done.is_set():
            end = end or now + 3
            if now > end or len(seen) >= len(acked):
                return
        time.sleep(0.005)


ts = [threading.Thread(target=sender), threading.Thread(target=watcher)]
for t in ts:
    t.start()
for t in ts:
    t.join()
lat = sorted((seen[i] - acked[i]) * 1000 for i in acked if i in seen)
missing = len([i for i in acked if i not in seen])
print(f"records {len(acked)}")
print(f"not_visible {missing}")
if lat:
    print(f"p50_ms {lat[len(lat) // 2]:.0f}")
    print(f"p99_ms {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.0f}")
    print(f"max_ms {lat[-1]:.0f}")

#!/usr/bin/env python3
"""Disk full: a lake on a small tmpfs.  Ingest until the disk is full:
writers get 503 with Retry-After and the server stays up; once space
returns, ingest resumes; nothing acknowledged is lost or duplicated."""
import base64
import http.client
import json
import os
import subprocess
import tempfile
import time

from tarnlib import Lake, check, eq, run, test, _cleanups

AUTH = "Basic " + base64.b64encode(b"admin:integration-test-pw-1").decode()


def post(port, stream, ids):
    body = "".join(json.dumps({"id": i, "pad": "p" * 900}) + "\n" for i in ids)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", f"/v1/streams/{stream}/records", body=body,
              headers={"Authorization": AUTH})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


@test
def full_disk_gives_503_then_recovers():
    mnt = tempfile.mkdtemp(prefix="tarn-full-")
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt],
                         capture_output=True, text=True)
    check(out.returncode == 0, f"cannot mount a 40 MiB tmpfs (needs root): {out.stderr}")
    _cleanups.append(lambda: subprocess.run(["umount", "-l", mnt]))
    lake = Lake(path=os.path.join(mnt, "lake"), settings={
        "streams.wal_segment_size": "2MiB", "streams.buffer_size": "256KiB",
        "streams.buffer_interval": "0s", "streams.min_free_disk": "1MiB"}).start()
    # Leave about 12 MiB free.
    st = os.statvfs(mnt)
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (12 << 20)))
    acked, n, refused = [], 0, 0
    deadline = time.time() + 120
    while refused < 5 and time.time() < deadline:
        ids = list(range(n, n + 200))
        n += 200
        status, headers, data = post(lake.port, "full", ids)
        if status == 200:
            acked += ids
        else:
            eq(status, 503, f"status when full ({data[:200]!r})")
            check(int(headers.get("Retry-After", "0")) >= 1, "Retry-After on 503")
            check(b"disk" in data or b"space" in data or b"retry" in data, data)
            refused += 1
    check(refused >= 5, f"the disk never filled ({len(acked)} records acknowledged)")
    check(len(acked) > 1000, f"too little went in before the disk filled ({len(acked)})")
    st_, _, _ = lake.request("GET", "/healthz", auth=None)
    eq(st_, 200, "server alive while the disk is full")
    # Space returns: ingest resumes (the flusher catches up, then writers pass).
    os.unlink(filler)
    resumed = False
    deadline = time.time() + 60
    while time.time() < deadline:
        ids = list(range(n, n + 50))
        n += 50
        status, _, _ = post(lake.port, "full", ids)
        if status == 200:
            acked += ids
            resumed = True
            break
        time.sleep(0.5)
    check(resumed, "ingest did not resume after space came back")
    lake.json("POST", "/v1/streams/full/flush")
    eq(lake.stop(), 0, "clean stop")
    got = [r["id"] for r in lake.records("full")]
    eq(len(got), len(set(got)), "no record twice")
    missing = set(acked) - set(got)
    eq(len(missing), 0, "acknowledged records lost")
    print(f"# {len(acked)} acknowledged, {refused} refusals while full")


run()

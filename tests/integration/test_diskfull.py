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


@test
def s3_uploads_on_a_full_disk():
    """S3 PUTs (held in memory until their commit, and streamed) on a small tmpfs: once
    the disk is full they get InsufficientStorage, nothing partial is visible, no temp
    file is left, the server stays up; once space returns uploads pass again."""
    import hashlib
    import boto3
    from botocore.config import Config
    import botocore
    mnt = tempfile.mkdtemp(prefix="tarn-full-s3-")
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt],
                         capture_output=True, text=True)
    check(out.returncode == 0, f"cannot mount a 40 MiB tmpfs (needs root): {out.stderr}")
    _cleanups.append(lambda: subprocess.run(["umount", "-l", mnt]))
    lake = Lake(path=os.path.join(mnt, "lake")).start()
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{lake.s3_port}",
                      aws_access_key_id="admin", aws_secret_access_key="integration-test-pw-1",
                      region_name="us-east-1",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                    retries={"max_attempts": 1}))
    st = os.statvfs(mnt)
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (12 << 20)))
    acked, refused, i = {}, 0, 0
    while refused < 3 and i < 100:
        body = os.urandom((1 << 20) if i % 3 else (9 << 20))
        key = f"04-user-drop-zone/full/o{i}.bin"
        i += 1
        try:
            s3.put_object(Bucket="lake", Key=key, Body=body)
            acked[key] = hashlib.md5(body).hexdigest()
        except botocore.exceptions.ClientError as e:
            eq(e.response["Error"]["Code"], "InsufficientStorage", f"{key}: error when full")
            refused += 1
            check(not os.path.exists(os.path.join(lake.dir, key)), f"{key}: nothing visible")
    check(refused >= 3, f"the disk never filled ({len(acked)} uploads acknowledged)")
    st_, _, _ = lake.request("GET", "/healthz", auth=None)
    eq(st_, 200, "server alive while the disk is full")
    left = [n for n in os.listdir(os.path.join(lake.dir, "04-user-drop-zone/full"))
            if n.startswith(".tarn-tmp")]
    eq(left, [], "no temp file left by the refused uploads")
    os.unlink(filler)
    body = os.urandom(1 << 20)
    r = s3.put_object(Bucket="lake", Key="04-user-drop-zone/full/after.bin", Body=body)
    eq(r["ETag"].strip('"'), hashlib.md5(body).hexdigest(), "an upload passes once space returns")
    for key, md5 in acked.items():
        got = s3.get_object(Bucket="lake", Key=key)["Body"].read()
        eq(hashlib.md5(got).hexdigest(), md5, f"{key}: acknowledged, whole")
    eq(lake.stop(), 0, "clean stop")


run()

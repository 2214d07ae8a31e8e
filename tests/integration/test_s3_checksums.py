#!/usr/bin/env python3
"""S3 over HTTPS with the checksums newer clients send: boto3 puts with
ChecksumAlgorithm (CRC32, CRC32C, SHA1, SHA256) go as aws-chunked bodies
with a trailing x-amz-checksum-* (STREAMING-UNSIGNED-PAYLOAD-TRAILER);
the same for parts of a multipart upload; a checksum header on a plain
body is verified; a wrong one is BadDigest and leaves nothing."""
import base64
import hashlib
import os
import subprocess
import zlib

import boto3
import botocore
from botocore.config import Config

from tarnlib import (Failure, Lake, ROOT_PASSWORD, ROOT_USER, TARN, check, eq, run, tarn_env,
                     test)

B = "tlslake"
QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


class TlsLake(Lake):
    def __init__(self):
        super().__init__(settings=QUIET)
        self.dir = os.path.join(self.tmp, "tlslake")
        out = subprocess.run([TARN, "init", self.dir, "--tls"], env=tarn_env(),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise Failure(f"tarn init --tls failed: {out.stderr.strip()}")
        self.cert = os.path.join(self.dir, ".tarn/tls/server.crt")

    def wait_ready(self, timeout=60):
        import time
        import urllib.request
        import ssl
        ctx = ssl.create_default_context(cafile=self.cert)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"server exited: {self.tail()}")
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{self.port}/healthz", context=ctx)
                return
            except OSError:
                time.sleep(0.05)
        raise Failure("server did not become ready")


def client(lake):
    return boto3.client("s3", endpoint_url=f"https://127.0.0.1:{lake.s3_port}",
                        aws_access_key_id=ROOT_USER, aws_secret_access_key=ROOT_PASSWORD,
                        region_name="us-east-1", verify=lake.cert,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def b64(d):
    return base64.b64encode(d).decode()


@test
def trailing_checksums_over_https():
    lake = TlsLake().start()
    try:
        s3 = client(lake)
        seen = []
        s3.meta.events.register("before-send.s3.*",
                                lambda request, **kw: seen.append(dict(request.headers)))
        body = os.urandom(200_000)
        want = {"CRC32": b64(zlib.crc32(body).to_bytes(4, "big")),
                "SHA1": b64(hashlib.sha1(body).digest()),
                "SHA256": b64(hashlib.sha256(body).digest())}
        for algo in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            key = f"04-user-drop-zone/sum/{algo}.bin"
            r = s3.put_object(Bucket=B, Key=key, Body=body, ChecksumAlgorithm=algo)
            sha = {k.lower(): v for k, v in seen[-1].items()}.get("x-amz-content-sha256", b"")
            sha = sha.decode() if isinstance(sha, bytes) else sha
            eq(sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", f"{algo}: boto3 sent a trailer")
            if algo in want:
                eq(r.get(f"Checksum{algo}"), want[algo], f"{algo} given back")
            with open(os.path.join(lake.dir, key), "rb") as f:
                eq(f.read(), body, f"{algo}: the bytes, decoded from aws-chunked")
            eq(s3.head_object(Bucket=B, Key=key)["ContentLength"], len(body), "size")
        # a checksum header on a plain body, right and wrong
        s3.put_object(Bucket=B, Key="04-user-drop-zone/sum/h.bin", Body=b"abc",
                      ChecksumCRC32=b64(zlib.crc32(b"abc").to_bytes(4, "big")))
        try:
            s3.put_object(Bucket=B, Key="04-user-drop-zone/sum/bad.bin", Body=b"abc",
                          ChecksumCRC32=b64((zlib.crc32(b"abc") ^ 1).to_bytes(4, "big")))
            check(False, "a wrong checksum must fail")
        except botocore.exceptions.ClientError as e:
            eq(e.response["Error"]["Code"], "BadDigest", "wrong checksum")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/sum/bad.bin")),
              "nothing written")
        # parts with checksums
        key = "04-user-drop-zone/sum/mp.bin"
        up = s3.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm="CRC32")
        p1 = os.urandom(5 << 20)
        e1 = s3.upload_part(Bucket=B, Key=key, UploadId=up["UploadId"], PartNumber=1,
                            Body=p1, ChecksumAlgorithm="CRC32")["ETag"]
        e2 = s3.upload_part(Bucket=B, Key=key, UploadId=up["UploadId"], PartNumber=2,
                            Body=b"end", ChecksumAlgorithm="CRC32")["ETag"]
        s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [
                                         {"PartNumber": 1, "ETag": e1},
                                         {"PartNumber": 2, "ETag": e2}]})
        with open(os.path.join(lake.dir, key), "rb") as f:
            eq(f.read(), p1 + b"end", "multipart with trailing checksums")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

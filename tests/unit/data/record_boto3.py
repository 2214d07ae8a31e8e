#!/usr/bin/python3
"""record_boto3.py - records real boto3 upload requests as test fixtures.

Run with Debian's /usr/bin/python3 (boto3/botocore 1.26/1.29):
    /usr/bin/python3 tests/unit/data/record_boto3.py tests/unit/data

botocore sends flexible-checksum uploads as aws-chunked bodies with a
checksum trailer (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER)
only over https, so this starts a throwaway TLS server on 127.0.0.1 (a
self-signed certificate made with the openssl CLI), points a boto3 client
at it (verify=False) and saves each PUT it receives as <case>.http: the
request headers ("Name: value" lines, a blank line), then the body after
HTTP Transfer-Encoding: chunked has been undone -- exactly what the S3
edge hands to the aws-chunked decoder.  One plain-http case records a
header checksum on an ordinary body.  The payload is PAYLOAD_LINES lines
of "line NNNN of the tarn aws-chunked fixture\\n" (test_chunked.c builds
the same bytes); a reader that returns short reads makes botocore cut it
into several chunks.
"""
import io
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore
from botocore.config import Config
import urllib3

urllib3.disable_warnings()

PAYLOAD_LINES = 100
PAYLOAD = b"".join(b"line %04d of the tarn aws-chunked fixture\n" % i
                   for i in range(PAYLOAD_LINES))
recorded = []


class ShortReads(io.BytesIO):
    """A body whose reads return at most 1000 bytes (so: several chunks)."""
    def read(self, n=-1):
        if n is None or n < 0 or n > 1000:
            n = 1000
        return super().read(n)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self):
        body = self.read_body()
        recorded.append((list(self.headers.items()), body))
        self.send_response(200)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(tls, tmp):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key,
                        "-out", cert], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def client(srv, tls):
    scheme = "https" if tls else "http"
    return boto3.client(
        "s3", endpoint_url="%s://127.0.0.1:%d" % (scheme, srv.server_address[1]),
        aws_access_key_id="AKIDFIXTURE", aws_secret_access_key="fixture-secret",
        region_name="us-east-1", verify=False,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def save(outdir, name):
    headers, body = recorded.pop()
    with open(os.path.join(outdir, name + ".http"), "wb") as f:
        for k, v in headers:
            f.write(("%s: %s\r\n" % (k, v)).encode())
        f.write(b"\r\n")
        f.write(body)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        tls = serve(True, tmp)
        s3 = client(tls, True)
        for algo in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            s3.put_object(Bucket="lake", Key="fixture.txt", Body=ShortReads(PAYLOAD),
                          ChecksumAlgorithm=algo)
            save(outdir, "boto3_trailer_" + algo.lower())
        s3.put_object(Bucket="lake", Key="empty.txt", Body=b"", ChecksumAlgorithm="CRC32")
        save(outdir, "boto3_trailer_empty")
        plain = serve(False, tmp)
        client(plain, False).put_object(Bucket="lake", Key="fixture.txt", Body=PAYLOAD,
                                        ChecksumAlgorithm="CRC32")
        save(outdir, "boto3_header_crc32")
    print("boto3 %s botocore %s: fixtures in %s" % (boto3.__version__,
                                                     botocore.__version__, outdir))


if __name__ == "__main__":
    main()

"""tarnlib - start real tarn servers for integration tests, and check results.

Each test file is a program: it defines functions decorated with @test and
calls run().  Every test prints "ok NAME" or "FAIL NAME: why" (the lines
tests/run.sh counts); the program exits 1 if any failed.  Servers listen on
127.0.0.1 on free ports, in lakes under a temporary directory, and are
stopped (SIGTERM, then SIGKILL) when the test ends.
"""
import base64
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TARN = os.environ.get("TARN_BIN", "build/tarn")
ROOT_USER = "admin"
ROOT_PASSWORD = "integration-test-pw-1"
KEY_RE = re.compile(r"^01-raw-data-zone/([^/]+)/(\d{4})/(\d{2})/(\d{2})/(\d{6})-(\d+)\.json$")

_tests = []
_cleanups = []


def test(fn):
    _tests.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tarn_env(**extra):
    env = dict(os.environ)
    env.update(TARN_ROOT_USER=ROOT_USER, TARN_ROOT_PASSWORD=ROOT_PASSWORD)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Lake:
    """A lake directory and, once start()ed, a server over it."""

    def __init__(self, path=None, settings=None):
        self.tmp = tempfile.mkdtemp(prefix="tarn-it-")
        _cleanups.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.dir = path or os.path.join(self.tmp, "lake")
        self.settings = dict(settings or {})
        self.proc = None
        self.port = None
        self.log = os.path.join(self.tmp, "server.log")
        self.log_start = None  # offset of this run's lines in self.log, once start()ed
        out = subprocess.run([TARN, "init", self.dir], env=tarn_env(), capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise Failure(f"tarn init failed: {out.stderr.strip()}")
        _cleanups.append(self.stop)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait=True, env=None):
        self.port = free_port()
        self.s3_port = free_port()
        self.pg_port = free_port()
        args = [TARN, "serve", self.dir, "--http", f"127.0.0.1:{self.port}",
                "--s3", f"127.0.0.1:{self.s3_port}", "--pg", f"127.0.0.1:{self.pg_port}"]
        for k, v in self.settings.items():
            args += ["--set", f"{k}={v}"]
        self.logf = open(self.log, "ab")
        self.log_start = self.logf.tell()  # this run's lines start here
        self.proc = subprocess.Popen(args, env=tarn_env(**(env or {})), stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"server exited with {self.proc.returncode}: {self.tail()}")
            try:
                st, _, _ = self.request("GET", "/healthz", auth=None)
                # HTTP answers first; the S3 listener starts after it, and the
                # "ready" line is logged once every listener is up (known when
                # start() owns the log)
                if st == 200 and (self.log_start is None or self.logged(") ready: ")):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Failure("server did not become ready: " + self.tail())

    def logged(self, text):
        """Whether this run of the server has logged text."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_start or 0)
                return text in f.read().decode(errors="replace")
        except OSError:
            return False

    def tail(self, n=20):
        try:
            with open(self.log, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def request(self, method, path, body=None, headers=None, auth="basic", timeout=60):
        h = dict(headers or {})
        if auth == "basic":
            tok = base64.b64encode(f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()
            h["Authorization"] = "Basic " + tok
        elif auth:
            h["Authorization"] = auth
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def json(self, method, path, body=None, want=200, **kw):
        st, h, data = self.request(method, path, body, **kw)
        if st != want:
            raise Failure(f"{method} {path}: status {st}, want {want}: {data[:300]!r}")
        return json.loads(data) if data else None

    def files(self, rel_base):
        """Keys (relative to the lake) of every .json object under rel_base."""
        keys = []
        pattern = os.path.join(self.dir, rel_base, "**", "*.json")
        for p in glob.glob(pattern, recursive=True):
            if not os.path.basename(p).startswith(".tarn-tmp-"):
                keys.append(os.path.relpath(p, self.dir))
        return sorted(keys)

    def objects(self, stream):
        return self.files("01-raw-data-zone/" + stream)

    def lines(self, keys):
        out = []
        for k in keys:
            with open(os.path.join(self.dir, k), "rb") as f:
                out += [json.loads(line) for line in f.read().splitlines()]
        return out

    def records(self, stream):
        """Every record of every raw object of the stream, parsed."""
        return self.lines(self.objects(stream))

    def quarantined(self, stream):
        return self.lines(self.files("02-transient-zone/quarantine/" + stream))

    def audit_lines(self):
        """Every line of the audit trail, parsed.  The server's writer appends
        lines to the day files within milliseconds of the access (the journal
        holds them before): read until two reads 20 ms apart agree."""
        last = None
        for _ in range(100):
            out = []
            for p in sorted(glob.glob(os.path.join(self.dir, "log", "audit", "*", "*", "*",
                                                   "audit.jsonl"))):
                with open(p) as f:
                    out += [json.loads(line) for line in f if line.endswith("\n")]
            if out == last:
                return out
            last = out
            time.sleep(0.02)
        return last

    def ingest_sample(self, count, seed, stream="immunizations", crawl=True):
        """`tarn gen immunizations` events posted to stream, flushed, then crawled."""
        data = subprocess.run([TARN, "gen", "immunizations", "--count", str(count), "--seed",
                               str(seed)], capture_output=True, check=True).stdout
        self.json("POST", f"/v1/streams/{stream}/records", data,
                  headers={"Content-Type": "application/x-ndjson"})
        self.json("POST", f"/v1/streams/{stream}/flush")
        if crawl:
            self.json("POST", "/v1/crawl")


def aws_env(lake, secret=None, **extra):
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=ROOT_USER, AWS_SECRET_ACCESS_KEY=secret or ROOT_PASSWORD,
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               AWS_PAGER="")
    env.update(extra)
    return env


def run():
    failed = 0
    only = sys.argv[1:]
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        t0 = time.time()
        try:
            fn()
            print(f"ok {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            print(f"FAIL {fn.__name__}: {detail}", flush=True)
        finally:
            while _cleanups:
                try:
                    _cleanups.pop()()
                except Exception:  # noqa: BLE001
                    pass
    sys.exit(1 if failed else 0)

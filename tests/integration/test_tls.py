#!/usr/bin/env python3
"""HTTPS on the HTTP listener: `tarn init --tls`, serving with the generated
pair to curl, Python's ssl and the tarn CLI (TARN_CACERT), and the pairs a
server must refuse to start with (a key that does not match, a key others
can read, half a configuration)."""
import base64
import http.client
import json
import os
import re
import ssl
import stat
import subprocess
import urllib.error
import urllib.request

from tarnlib import (ROOT_PASSWORD, ROOT_USER, TARN, Failure, Lake, check, eq, free_port, run,
                     tarn_env, test)

CERT = ".tarn/tls/server.crt"
KEY = ".tarn/tls/server.key"


class TlsLake(Lake):
    """A lake made by `tarn init --tls`, served over HTTPS."""

    def __init__(self, tls=True):
        super().__init__(path=None)  # a plain lake in self.dir, replaced below
        self.init_out = ""
        if tls:
            self.dir = os.path.join(self.tmp, "tlslake")
            out = subprocess.run([TARN, "init", self.dir, "--tls"], env=tarn_env(),
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise Failure(f"tarn init --tls failed: {out.stderr.strip()}")
            self.init_out = out.stdout
        self.cert = os.path.join(self.dir, CERT)
        self.key = os.path.join(self.dir, KEY)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def context(self):
        return ssl.create_default_context(cafile=self.cert)

    def request(self, method, path, body=None, headers=None, auth="basic", timeout=60):
        h = dict(headers or {})
        if auth == "basic":
            tok = base64.b64encode(f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()
            h["Authorization"] = "Basic " + tok
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                        context=self.context())
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True,
                          text=True)


def cli(lake, *args, env=None, stdin=None):
    e = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD,
             TARN_CACERT=lake.cert)
    e.pop("TARN_TOKEN", None)
    e.update(env or {})
    return subprocess.run([TARN, *args], capture_output=True, text=True, env=e, input=stdin,
                          timeout=300)


def serve_fails(lake_dir, *extra):
    """Runs tarn serve expecting it to refuse to start; returns its stderr."""
    out = subprocess.run([TARN, "serve", lake_dir, "--http", f"127.0.0.1:{free_port()}", "--s3", "127.0.0.1:0", "--pg", "127.0.0.1:0",
                          *extra], env=tarn_env(), capture_output=True, text=True, timeout=120)
    eq(out.returncode, 1, f"tarn serve exit status (stderr: {out.stderr.strip()})")
    return out.stderr


def set_yaml(lake_dir, key, value):
    path = os.path.join(lake_dir, "tarn.yaml")
    with open(path) as f:
        text = f.read()
    text, n = re.subn(rf"^(  {key}:).*$", rf'\1 "{value}"', text, flags=re.M)
    eq(n, 1, f"'{key}' lines in tarn.yaml")
    with open(path, "w") as f:
        f.write(text)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@test
def init_tls_makes_a_private_pair():
    lake = TlsLake()
    eq(mode(os.path.join(lake.dir, ".tarn/tls")), 0o700, ".tarn/tls mode")
    eq(mode(lake.key), 0o600, "key mode")
    umask = os.umask(0)
    os.umask(umask)
    eq(mode(lake.cert), 0o644 & ~umask, "certificate mode")
    with open(os.path.join(lake.dir, "tarn.yaml")) as f:
        yaml = f.read()
    check(f"  tls_cert: {CERT}\n" in yaml, yaml)
    check(f"  tls_key: {KEY}\n" in yaml, yaml)
    # How to use it, with the real paths.
    check(f"curl --cacert {lake.cert} https://127.0.0.1:7070/healthz" in lake.init_out,
          lake.init_out)
    check("TARN_CACERT=" in lake.init_out, lake.init_out)
    out = subprocess.run(["openssl", "x509", "-in", lake.cert, "-noout", "-text"],
                         capture_output=True, text=True)
    eq(out.returncode, 0, "openssl x509")
    for want in ("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                 "CA:FALSE", "TLS Web Server Authentication", "prime256v1"):
        check(want in out.stdout, f"certificate lacks {want}")
    # Without --tls nothing changes: no pair, empty settings, the same output.
    plain = TlsLake(tls=False)
    check(not os.path.exists(os.path.join(plain.dir, ".tarn/tls")), "plain lake has no tls/")
    with open(os.path.join(plain.dir, "tarn.yaml")) as f:
        yaml = f.read()
    check('  tls_cert: ""\n' in yaml and '  tls_key: ""\n' in yaml, yaml)
    d = os.path.join(plain.tmp, "again")
    out = subprocess.run([TARN, "init", d], env=tarn_env(), capture_output=True, text=True)
    eq(out.returncode, 0, "plain init")
    eq(out.stdout, f"created lake in {d}\n", "plain init output")
    for args in (["init"], ["init", d + "2", "--tls", "--tls"], ["init", d + "3", "--tsl"]):
        out = subprocess.run([TARN, *args], env=tarn_env(), capture_output=True, text=True)
        eq(out.returncode, 2, f"tarn {' '.join(args)}")
    # `tarn config show` reads both back.
    for lk in (lake, plain):
        out = subprocess.run([TARN, "config", "show", lk.dir], capture_output=True, text=True)
        eq(out.returncode, 0, f"config show: {out.stderr}")


@test
def curl_over_https():
    lake = TlsLake().start()
    log = lake.tail(50)
    check(f"listening on https://127.0.0.1:{lake.port}" in log, log)
    check(f"ready: https://127.0.0.1:{lake.port}" in log, log)
    for host in ("127.0.0.1", "localhost"):
        out = curl("--cacert", lake.cert, "-o", "/dev/null", "-w", "%{http_code}",
                   f"https://{host}:{lake.port}/healthz")
        eq((out.returncode, out.stdout), (0, "200"), f"curl --cacert https://{host}: {out.stderr}")
    # Authenticated, and a request that suspends on the WAL's group commit.
    out = curl("--cacert", lake.cert, "-u", f"{ROOT_USER}:{ROOT_PASSWORD}",
               "-X", "POST", "--data-binary", '{"a":1}\n{"a":2}\n',
               "-H", "Content-Type: application/x-ndjson", "-w", "\n%{http_code}",
               f"{lake.url}/v1/streams/tls_events/records")
    eq(out.stdout.splitlines()[-1], "200", f"records over https: {out.stdout} {out.stderr}")
    out = curl("--cacert", lake.cert, "-u", f"{ROOT_USER}:{ROOT_PASSWORD}",
               f"{lake.url}/v1/streams/tls_events")
    eq(json.loads(out.stdout)["records"], 2, "records in the stream")
    out = curl("--cacert", lake.cert, "-o", "/dev/null", "-w", "%{http_code}",
               f"{lake.url}/v1/streams")
    eq(out.stdout, "401", "unauthenticated over https")
    # Without the certificate as trust anchor, curl refuses the server (exit 60).
    out = curl(f"{lake.url}/healthz")
    eq(out.returncode, 60, f"curl without --cacert: {out.stderr}")
    # Another name than the certificate's.
    out = curl("--cacert", lake.cert, "--resolve", f"tarn.example:{lake.port}:127.0.0.1",
               f"https://tarn.example:{lake.port}/healthz")
    eq(out.returncode, 60, f"curl with a wrong host name: {out.stderr}")
    # Plain HTTP to the TLS port: 400 saying to use https://, and the connection closes.
    out = curl("-sS", "-w", "\n%{http_code}", f"http://127.0.0.1:{lake.port}/healthz")
    body, _, code = out.stdout.rpartition("\n")
    eq(code, "400", f"plain http: {out.stdout!r} {out.stderr}")
    check("https://" in json.loads(body)["error"]["message"], body)
    # The server is still fine after the failed handshakes.
    st, _, _ = lake.request("GET", "/healthz", auth=None)
    eq(st, 200, "healthz after bad clients")
    eq(lake.stop(), 0, "clean stop")


@test
def python_ssl_and_protocol_versions():
    lake = TlsLake().start()
    ctx = lake.context()
    with urllib.request.urlopen(f"{lake.url}/healthz", context=ctx, timeout=30) as r:
        eq(r.status, 200, "urllib /healthz")
        eq(json.loads(r.read())["status"], "ok", "healthz body")
    # Strict X.509 checking (Python 3.13's default) accepts the certificate too.
    strict = lake.context()
    strict.verify_flags |= ssl.VERIFY_X509_STRICT
    req = urllib.request.Request(f"{lake.url}/v1/streams", headers={
        "Authorization": "Basic " + base64.b64encode(
            f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(req, context=strict, timeout=30) as r:
        eq(r.status, 200, "urllib authenticated")
    # The system's CAs do not vouch for a self-signed certificate.
    try:
        urllib.request.urlopen(f"{lake.url}/healthz", context=ssl.create_default_context(),
                               timeout=30)
        raise Failure("default context trusted the self-signed certificate")
    except urllib.error.URLError as e:
        check(isinstance(e.reason, ssl.SSLCertVerificationError), repr(e.reason))
    # TLS 1.3 and 1.2 are served; 1.1 is not (even to a client that would accept it).
    for v in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        c = lake.context()
        c.minimum_version = c.maximum_version = v
        with urllib.request.urlopen(f"{lake.url}/healthz", context=c, timeout=30) as r:
            eq(r.status, 200, f"{v.name}")
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lake.port}",
                          "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], input="",
                         capture_output=True, text=True, timeout=30)
    check("Cipher is (NONE)" in out.stdout, f"TLS 1.1 handshake: {out.stdout[-400:]}")
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lake.port}",
                          "-tls1_2", "-CAfile", lake.cert, "-verify_return_error"], input="",
                         capture_output=True, text=True, timeout=30)
    check("Verify return code: 0 (ok)" in out.stdout, f"TLS 1.2 handshake: {out.stdout[-400:]}")


@test
def cli_over_https_with_tarn_cacert():
    lake = TlsLake().start()
    out = cli(lake, "sql", "--format", "csv", "SELECT 41 + 1 AS answer")
    eq(out.returncode, 0, f"tarn sql over https: {out.stderr}")
    check("42" in out.stdout, out.stdout)
    out = cli(lake, "ingest", "cli_tls", stdin='{"a":1}\n{"a":2}\n{"a":3}\n')
    eq(out.returncode, 0, f"tarn ingest over https: {out.stderr}")
    out = cli(lake, "streams", "cli_tls", "--json")
    eq(json.loads(out.stdout)["records"], 3, "records ingested over https")
    # Many connections at once (curl multi), each appending and suspending over TLS.
    data = cli(lake, "gen", "immunizations", "--count", "20000", "--seed", "5").stdout
    out = cli(lake, "ingest", "imm_tls", "--batch-records", "200", "--parallel", "8",
              stdin=data)
    eq(out.returncode, 0, f"parallel ingest over https: {out.stderr}")
    out = cli(lake, "streams", "imm_tls", "--json")
    eq(json.loads(out.stdout)["records"], 20000, "records of the parallel ingest")
    # Without TARN_CACERT: refused, with a hint naming the variable.
    out = cli(lake, "streams", env={"TARN_CACERT": ""})
    eq(out.returncode, 1, "no TARN_CACERT")
    check(out.stderr.startswith("tarn: ") and "not trusted" in out.stderr and
          "TARN_CACERT" in out.stderr and len(out.stderr.splitlines()) == 1, out.stderr)
    # Another lake's certificate is no anchor for this one.
    other = TlsLake()
    out = cli(lake, "streams", env={"TARN_CACERT": other.cert})
    eq(out.returncode, 1, "wrong TARN_CACERT")
    check("not trusted" in out.stderr and other.cert in out.stderr, out.stderr)
    out = cli(lake, "streams", env={"TARN_CACERT": lake.cert + ".missing"})
    eq(out.returncode, 1, "missing TARN_CACERT")
    check("TARN_CACERT" in out.stderr and "No such file" in out.stderr, out.stderr)
    # http:// to the HTTPS port says what to do.
    out = cli(lake, "streams", env={"TARN_URL": f"http://127.0.0.1:{lake.port}"})
    eq(out.returncode, 1, "http:// to https")
    check("https://" in out.stderr, out.stderr)


@test
def serve_flags_name_the_pair():
    """tarn serve --tls-cert/--tls-key (relative to the current directory)."""
    src = TlsLake()
    plain = TlsLake(tls=False)
    port = free_port()
    proc = subprocess.Popen([TARN, "serve", plain.dir, "--http", f"127.0.0.1:{port}", "--s3", "127.0.0.1:0", "--pg", "127.0.0.1:0",
                             "--tls-cert", os.path.relpath(src.cert, src.dir),
                             "--tls-key", os.path.relpath(src.key, src.dir)],
                            cwd=src.dir, env=tarn_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    plain.proc, plain.port, plain.cert = proc, port, src.cert
    plain.logf = open(os.devnull, "ab")
    try:
        plain.wait_ready()
        st, _, _ = plain.request("GET", "/v1/streams")
        eq(st, 200, "https via flags")
    finally:
        eq(plain.stop(), 0, "clean stop")


@test
def mismatched_key_refused():
    a, b = TlsLake(), TlsLake()
    set_yaml(a.dir, "tls_key", b.key)
    err = serve_fails(a.dir)
    eq(err.strip(), f"tarn: tls: key '{b.key}' does not match certificate '{a.cert}'",
       "message")
    # The same through the flags.
    err = serve_fails(b.dir, "--tls-cert", a.cert, "--tls-key", b.key)
    check(f"tls: key '{b.key}' does not match certificate '{a.cert}'" in err, err)


@test
def readable_key_refused():
    lake = TlsLake()
    for m in (0o644, 0o640):
        os.chmod(lake.key, m)
        err = serve_fails(lake.dir)
        check(f"tls: key '{lake.key}' is open to other users (mode 0{m:o}): chmod 600"
              in err, err)
    os.chmod(lake.key, 0o600)
    lake.start()
    st, _, _ = lake.request("GET", "/healthz", auth=None)
    eq(st, 200, "starts once the key is private again")


@test
def broken_configurations_refused():
    lake = TlsLake()
    # Half a configuration.
    set_yaml(lake.dir, "tls_key", "")
    err = serve_fails(lake.dir)
    check("'http.tls_cert' is set but 'http.tls_key' is not" in err, err)
    set_yaml(lake.dir, "tls_key", KEY)
    # A missing certificate, and garbage in its place.
    os.rename(lake.cert, lake.cert + ".bak")
    err = serve_fails(lake.dir)
    check(f"tls: certificate '{lake.cert}' does not exist" in err, err)
    with open(lake.cert, "w") as f:
        f.write("not a certificate\n")
    err = serve_fails(lake.dir)
    check(f"tls: certificate '{lake.cert}' holds no PEM certificate" in err, err)
    os.replace(lake.cert + ".bak", lake.cert)
    # A path with a space and a '#' survives tarn.yaml's quoting.
    odd = os.path.join(lake.tmp, "my certs #1")
    os.mkdir(odd)
    for f in (lake.cert, lake.key):
        os.link(f, os.path.join(odd, os.path.basename(f)))
    set_yaml(lake.dir, "tls_cert", os.path.join(odd, "server.crt"))
    set_yaml(lake.dir, "tls_key", os.path.join(odd, "server.key"))
    lake.start()
    st, _, _ = lake.request("GET", "/healthz", auth=None)
    eq(st, 200, "odd paths")


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""The tarn CLI as a client of a real server: gen | ingest, streams, flush,
token, --help everywhere, and one clear line on stderr for failures."""
import json
import os
import subprocess

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test


def cli(lake, *args, stdin=None, env=None, ok=True):
    e = dict(os.environ, TARN_URL=lake.url if lake else "http://127.0.0.1:9",
             TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    e.pop("TARN_TOKEN", None)
    e.update(env or {})
    out = subprocess.run([TARN, *args], input=stdin, capture_output=True, env=e, timeout=300)
    if ok and out.returncode != 0:
        raise AssertionError(f"tarn {' '.join(args)}: {out.stderr.decode()}")
    return out


@test
def gen_ingest_flush_exactly_once():
    lake = Lake().start()
    data = cli(None, "gen", "immunizations", "--count", "5000", "--seed", "3").stdout
    eq(len(data.splitlines()), 5000, "generated lines")
    first = json.loads(data.splitlines()[0])
    for f in ("event_id", "patient_id", "first_name", "last_name", "date_of_birth", "ssn",
              "cvx_code", "vaccine_name", "administered_at"):
        check(f in first, f"generated event lacks {f}")
    path = os.path.join(lake.tmp, "imm.ndjson")
    with open(path, "wb") as f:
        f.write(data)
    out = cli(lake, "ingest", "immunizations", path, "--batch-records", "700")
    check(b"5000" in out.stderr, out.stderr)
    out = cli(lake, "flush", "immunizations")
    check(b"01-raw-data-zone/immunizations/" in out.stdout, out.stdout)
    ids = [r["event_id"] for r in lake.records("immunizations")]
    eq(len(ids), 5000, "records in raw")
    eq(len(set(ids)), 5000, "distinct records")
    out = cli(lake, "streams")
    check(b"immunizations" in out.stdout and b"5000" in out.stdout, out.stdout)
    info = json.loads(cli(lake, "streams", "immunizations", "--json").stdout)
    eq(info["records"], 5000, "records in stream info")
    # stdin and a token instead of a password.
    tok = cli(lake, "token", "--ttl", "600").stdout.decode().strip()
    check(tok.startswith("tn_"), tok)
    cli(lake, "ingest", "other", stdin=b'{"a":1}\n{"a":2}\n',
        env={"TARN_TOKEN": tok, "TARN_USER": "", "TARN_PASSWORD": ""})
    eq(json.loads(cli(lake, "streams", "other", "--json").stdout)["records"], 2, "via token")


@test
def errors_are_one_clear_line():
    lake = Lake().start()
    bad = b'{"a":1}\n{"a":2}\n{"a":3\n{"a":4}\n'
    out = cli(lake, "ingest", "s", stdin=bad, ok=False)
    eq(out.returncode, 1, "exit status")
    err = out.stderr.decode()
    check("line 3" in err, err)
    out = cli(lake, "streams", ok=False, env={"TARN_PASSWORD": "wrong"})
    eq(out.returncode, 1, "bad password exit status")
    check(out.stderr.decode().startswith("tarn: "), out.stderr)
    out = cli(None, "streams", ok=False)
    eq(out.returncode, 1, "unreachable server")
    check(b"cannot reach the server" in out.stderr, out.stderr)
    out = subprocess.run([TARN, "frobnicate"], capture_output=True)
    eq(out.returncode, 2, "unknown command")
    for c in ("init", "serve", "ingest", "streams", "flush", "token", "gen", "config"):
        out = subprocess.run([TARN, c, "--help"], capture_output=True)
        eq(out.returncode, 0, f"tarn {c} --help")
        check(b"usage" in out.stdout.lower(), f"tarn {c} --help prints usage")
    out = subprocess.run([TARN, "--help"], capture_output=True)
    eq(out.returncode, 0, "tarn --help")


@test
def init_refuses_non_empty_directories():
    lake = Lake()
    d = os.path.join(lake.tmp, "notalake")
    os.makedirs(d)
    open(os.path.join(d, "file.txt"), "w").close()
    out = subprocess.run([TARN, "init", d], capture_output=True)
    eq(out.returncode, 1, "non-empty directory")
    check(b"not empty" in out.stderr, out.stderr)
    out = subprocess.run([TARN, "init", lake.dir], capture_output=True)
    eq(out.returncode, 1, "already a lake")
    fresh = os.path.join(lake.tmp, "fresh")
    env = dict(os.environ)
    env.pop("TARN_ROOT_USER", None)
    env.pop("TARN_ROOT_PASSWORD", None)
    out = subprocess.run([TARN, "init", fresh], capture_output=True, env=env)
    eq(out.returncode, 0, "init with generated credentials")
    check(b"root password:" in out.stdout, out.stdout)
    key = os.path.join(fresh, ".tarn", "master.key")
    eq(oct(os.stat(key).st_mode & 0o777), "0o600", "master key mode")
    for z in ("01-raw-data-zone", "02-transient-zone/01-athena", "02-transient-zone/02-glue",
              "02-transient-zone/quarantine", "03-master-data-zone", "04-user-drop-zone",
              "data/user", "log/audit", "warehouse/stage", "warehouse/cleanse",
              "warehouse/core", "warehouse/mart", "references"):
        check(os.path.isdir(os.path.join(fresh, z)), f"zone folder {z}")
    with open(os.path.join(fresh, "tarn.yaml")) as f:
        y = f.read()
    check("listen: 127.0.0.1:7070" in y and "#" in y, "commented tarn.yaml")
    out = subprocess.run([TARN, "config", "show", fresh], capture_output=True)
    eq(out.returncode, 0, "config show")


run()

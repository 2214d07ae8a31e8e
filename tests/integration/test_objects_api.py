#!/usr/bin/env python3
"""Objects over REST (/v1/objects) with curl: object grants by zone and
prefix (read, write, list, delete), own folders, raw immutability, the
audit trail append-only, bad keys, and one audit line per access."""
import hashlib
import json
import os
import subprocess

from tarnlib import (ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test)

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def cli(lake, *args, stdin=""):
    env = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    out = subprocess.run([TARN, *args], input=stdin, capture_output=True, env=env, timeout=60,
                         text=True)
    if out.returncode != 0:
        raise AssertionError(f"tarn {args}: exit {out.returncode}: {out.stderr}")
    return out


def curl(lake, user, pw, *args, data=None):
    """(status, headers text, body bytes) of one curl call."""
    cmd = ["curl", "-sS", "-u", f"{user}:{pw}", "-D", "-", "-o", "-", *args]
    out = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    check(out.returncode == 0, f"curl {args}: {out.stderr!r}")
    raw = out.stdout
    # the last header block (no 100-continue here), then the body
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode(), body


@test
def object_grants_over_rest():
    lake = Lake(settings=QUIET).start()
    try:
        u = lake.url + "/v1/objects/"
        cli(lake, "user", "add", "alice", stdin="alice-password\n")
        cli(lake, "user", "add", "bob", stdin="bob-password\n")
        data = b"id,name\n1,Ann\n2,Bo\n"
        # deny by default, with a message naming who, what and where
        st, _, body = curl(lake, "alice", "alice-password", "-X", "PUT", "--data-binary", "@-",
                           u + "04-user-drop-zone/team/a.csv", data=data)
        eq(st, 403, "write without a grant")
        check(b"alice may not write '04-user-drop-zone/team/a.csv'" in body, body)
        # a write grant on a prefix, given in folder form
        cli(lake, "grant", "alice", "write", "04-user-drop-zone/team/")
        st, h, body = curl(lake, "alice", "alice-password", "-X", "PUT", "-H",
                           "Content-Type: text/csv", "--data-binary", "@-",
                           u + "04-user-drop-zone/team/a.csv", data=data)
        eq(st, 201, "write under the granted prefix")
        eq(json.loads(body)["etag"], hashlib.md5(data).hexdigest(), "ETag is the MD5")
        st, _, _ = curl(lake, "alice", "alice-password", "-X", "PUT", "--data-binary", "x",
                        u + "04-user-drop-zone/teamx/a.csv")
        eq(st, 403, "a sibling folder is not the prefix 'team/'")
        # read needs read; the bytes and headers come back whole
        st, _, _ = curl(lake, "alice", "alice-password", u + "04-user-drop-zone/team/a.csv")
        eq(st, 403, "read without a grant")
        cli(lake, "grant", "alice", "read", "drop")
        st, h, body = curl(lake, "alice", "alice-password", u + "04-user-drop-zone/team/a.csv")
        eq((st, body), (200, data), "read back")
        check(f'ETag: "{hashlib.md5(data).hexdigest()}"' in h, h)
        check("Content-Type: text/csv" in h and "Last-Modified: " in h, h)
        st, h, body = curl(lake, "alice", "alice-password", "-I",
                           u + "04-user-drop-zone/team/a.csv")
        eq(st, 200, "HEAD")
        check(f"Content-Length: {len(data)}" in h, h)
        # listing shows only what list grants cover
        st, _, body = curl(lake, "alice", "alice-password",
                           lake.url + "/v1/objects?prefix=04-user-drop-zone/&delimiter=/")
        eq((st, json.loads(body)["prefixes"]), (200, []), "nothing listable yet")
        cli(lake, "grant", "alice", "list", "drop/team/")
        curl(lake, ROOT_USER, ROOT_PASSWORD, "-X", "PUT", "--data-binary", "s",
             u + "04-user-drop-zone/secret/s.csv")
        st, _, body = curl(lake, "alice", "alice-password",
                           lake.url + "/v1/objects?prefix=04-user-drop-zone/&delimiter=/")
        eq(json.loads(body)["prefixes"], ["04-user-drop-zone/team/"], "only team/ shows")
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD,
                           lake.url + "/v1/objects?prefix=04-user-drop-zone/&delimiter=/")
        eq(json.loads(body)["prefixes"], ["04-user-drop-zone/secret/", "04-user-drop-zone/team/"],
           "an admin sees every folder")
        # pagination: max_keys, truncated, next
        for i in range(5):
            curl(lake, "alice", "alice-password", "-X", "PUT", "--data-binary", str(i),
                 u + f"04-user-drop-zone/team/p{i}.csv")
        keys, after = [], ""
        while True:
            q = "?prefix=04-user-drop-zone/team/&max_keys=2" + (f"&start_after={after}" if after
                                                                  else "")
            st, _, body = curl(lake, "alice", "alice-password", lake.url + "/v1/objects" + q)
            doc = json.loads(body)
            keys += [o["key"] for o in doc["objects"]]
            if not doc["truncated"]:
                break
            after = doc["next"]
        eq(len(keys), 6, f"every key once across pages: {keys}")
        eq(keys, sorted(keys), "key order")
        # own folders: alice's sandbox is hers, not bob's
        st, _, _ = curl(lake, "alice", "alice-password", "-X", "PUT", "--data-binary", "n",
                        u + "data/user/alice/notes.txt")
        eq(st, 201, "own sandbox")
        st, _, _ = curl(lake, "bob", "bob-password", u + "data/user/alice/notes.txt")
        eq(st, 403, "another's sandbox")
        # raw: immutable for everyone, admins included
        st, _, _ = curl(lake, ROOT_USER, ROOT_PASSWORD, "-X", "PUT", "--data-binary", "{}",
                        u + "01-raw-data-zone/manual/1.json")
        eq(st, 201, "admin adds a raw object")
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, "-X", "PUT", "--data-binary", "{}",
                           u + "01-raw-data-zone/manual/1.json")
        eq(st, 409, "raw overwrite")
        check(b"immutable" in body, body)
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, "-X", "DELETE",
                           u + "01-raw-data-zone/manual/1.json")
        eq(st, 403, "raw delete")
        check(b"immutable" in body, body)
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, "-X", "PUT", "--data-binary", "{}",
                           u + "log/audit/2026/11/22/audit.jsonl")
        eq(st, 403, "the audit trail is append-only")
        # bad keys: each named, nothing written
        for bad in ["04-user-drop-zone//a", "04-user-drop-zone/%2E%2E/tarn.yaml", "tarn.yaml",
                    ".tarn/master.key", "04-user-drop-zone/" + "k" * 1100]:
            st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, "--path-as-is", u + bad)
            check(st in (400, 404), f"{bad}: {st} {body[:200]!r}")
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, u + "04-user-drop-zone/none.csv")
        eq(st, 404, "missing object")
        # delete needs delete
        st, _, _ = curl(lake, "alice", "alice-password", "-X", "DELETE",
                        u + "04-user-drop-zone/team/a.csv")
        eq(st, 403, "delete without a grant")
        cli(lake, "grant", "alice", "delete", "drop/team/")
        st, _, _ = curl(lake, "alice", "alice-password", "-X", "DELETE",
                        u + "04-user-drop-zone/team/a.csv")
        eq(st, 204, "delete")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/team/a.csv")),
              "gone from disk")
        # a revoke holds at once
        st, _, body = curl(lake, ROOT_USER, ROOT_PASSWORD, lake.url + "/v1/grants?principal=alice")
        rid = [g["id"] for g in json.loads(body)["grants"] if "read" in g][0]
        cli(lake, "revoke", str(rid))
        st, _, _ = curl(lake, "alice", "alice-password", u + "04-user-drop-zone/team/p1.csv")
        eq(st, 403, "read after revoke")
        # every access left an audit line: allowed and denied, with the source
        objs = [a for a in lake.audit_lines() if a["event"] == "object"]
        denied = [a for a in objs if a["outcome"] == "denied"]
        check(len(denied) >= 6, f"{len(denied)} denials audited")
        check(any(a["action"] == "read" and a["outcome"] == "ok" and a["principal"] == "alice"
                  and a["source"] == "127.0.0.1" and a["via"] == "rest" for a in objs),
              "reads audited with their source")
        check(any(a["action"] == "delete" and a["outcome"] == "ok" for a in objs), "deletes")
        out = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True, text=True)
        eq(out.returncode, 0, f"the chain verifies: {out.stdout}{out.stderr}")
    finally:
        lake.stop()


@test
def answered_reads_are_audited_through_kill_9():
    """Every answered access is in the trail after kill -9 (the journal keeps lines the
    writer had not written yet), and the chain verifies."""
    lake = Lake().start()
    try:
        u = "/v1/objects/04-user-drop-zone/k9/a.csv"
        st, _, _ = lake.request("PUT", u, body=b"x,y\n1,2\n")
        eq(st, 201, "put")
        for _ in range(300):
            st, _, _ = lake.request("GET", u)
            eq(st, 200, "read")
        lake.kill()  # at once after the last answer
        lake.start()
        reads = [a for a in lake.audit_lines() if a.get("event") == "object" and
                 a.get("action") == "read" and a.get("key") == "04-user-drop-zone/k9/a.csv"]
        eq(len(reads), 300, "answered reads in the trail")
        out = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True, text=True)
        eq(out.returncode, 0, f"the chain verifies: {out.stdout}{out.stderr}")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

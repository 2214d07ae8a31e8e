#!/usr/bin/env python3
"""The S3 API's object operations with real clients (boto3, the aws CLI,
curl on a presigned URL): put, get (ranges, conditions, response-*
overrides), head, delete, Content-MD5 and payload hashes checked, user
metadata and content type kept; governance through the same grants as
REST (raw immutable, sandboxes private, deny by default); bad signatures,
skewed clocks, expired presigned URLs."""
import base64
import datetime
import hashlib
import json
import os
import subprocess

import boto3
import botocore
from botocore.config import Config

from tarnlib import (ROOT_PASSWORD, ROOT_USER, TARN, Lake, aws_env, check, eq, run, test)

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def client(lake, key=ROOT_USER, secret=ROOT_PASSWORD):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{lake.s3_port}",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def cli(lake, *args, stdin=""):
    env = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    out = subprocess.run([TARN, *args], input=stdin, capture_output=True, env=env, timeout=60,
                         text=True)
    if out.returncode != 0:
        raise AssertionError(f"tarn {args}: exit {out.returncode}: {out.stderr}")
    return out


def code(fn):
    """The S3 error code fn raises, or None."""
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


@test
def objects_with_boto3_and_the_cli():
    lake = Lake(settings=QUIET).start()
    try:
        s3 = client(lake)
        b = "lake"
        body = os.urandom(300_000)
        r = s3.put_object(Bucket=b, Key="04-user-drop-zone/in/a.bin", Body=body,
                          ContentType="application/x-demo", Metadata={"owner": "ops"},
                          ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())
        eq(r["ETag"], '"' + hashlib.md5(body).hexdigest() + '"', "ETag is the MD5")
        with open(os.path.join(lake.dir, "04-user-drop-zone/in/a.bin"), "rb") as f:
            eq(f.read(), body, "the object is the file")
        g = s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin")
        eq(g["Body"].read(), body, "get")
        eq((g["ContentType"], g["Metadata"]), ("application/x-demo", {"owner": "ops"}),
           "content type and metadata kept")
        h = s3.head_object(Bucket=b, Key="04-user-drop-zone/in/a.bin")
        eq(h["ContentLength"], len(body), "head length")
        # ranges
        eq(s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                         Range="bytes=10-19")["Body"].read(), body[10:20], "range")
        eq(s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                         Range="bytes=-5")["Body"].read(), body[-5:], "suffix range")
        g = s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin", Range="bytes=299990-")
        eq((g["Body"].read(), g["ContentRange"]), (body[299990:], "bytes 299990-299999/300000"),
           "open range")
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                                      Range="bytes=400000-")), "InvalidRange", "past the end")
        # conditions
        etag = h["ETag"]
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                                      IfMatch='"nope"')), "PreconditionFailed", "If-Match")
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                                      IfNoneMatch=etag)), "304", "If-None-Match")
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                                      IfModifiedSince=later)), "304", "If-Modified-Since")
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                                      IfUnmodifiedSince=later - datetime.timedelta(days=2))),
           "PreconditionFailed", "If-Unmodified-Since")
        g = s3.get_object(Bucket=b, Key="04-user-drop-zone/in/a.bin",
                          ResponseContentType="text/plain",
                          ResponseContentDisposition="attachment; filename=a.bin")
        eq((g["ContentType"], g["ContentDisposition"]),
           ("text/plain", "attachment; filename=a.bin"), "response-* overrides")
        # a wrong Content-MD5 leaves nothing
        eq(code(lambda: s3.put_object(Bucket=b, Key="04-user-drop-zone/in/bad.bin", Body=b"x",
                                      ContentMD5=base64.b64encode(b"0" * 16).decode())),
           "BadDigest", "wrong Content-MD5")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/in/bad.bin")),
              "nothing written")
        # the same for a body held in memory until its commit (64 KiB to 8 MiB)
        held = os.urandom(300 << 10)
        eq(code(lambda: s3.put_object(Bucket=b, Key="04-user-drop-zone/in/bad-held.bin",
                                      Body=held,
                                      ContentMD5=base64.b64encode(b"0" * 16).decode())),
           "BadDigest", "wrong Content-MD5, held body")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/in/bad-held.bin")),
              "nothing written (held)")
        r = s3.put_object(Bucket=b, Key="04-user-drop-zone/in/held.bin", Body=held,
                          ContentMD5=base64.b64encode(hashlib.md5(held).digest()).decode())
        eq(r["ETag"], '"%s"' % hashlib.md5(held).hexdigest(), "held body: ETag is its MD5")
        eq(s3.get_object(Bucket=b, Key="04-user-drop-zone/in/held.bin")["Body"].read(), held,
           "held body read back")
        # missing, bad keys, other buckets
        eq(code(lambda: s3.get_object(Bucket=b, Key="04-user-drop-zone/none")), "NoSuchKey", "")
        eq(code(lambda: s3.get_object(Bucket="other", Key="x/y")), "NoSuchBucket", "")
        eq(code(lambda: s3.put_object(Bucket=b, Key="tarn.yaml", Body=b"x")), "InvalidArgument",
           "outside the zones")
        eq(code(lambda: s3.put_object(Bucket=b, Key="04-user-drop-zone/" + "k" * 1100,
                                      Body=b"x")), "KeyTooLongError", "long key")
        # delete
        s3.delete_object(Bucket=b, Key="04-user-drop-zone/in/a.bin")
        eq(code(lambda: s3.head_object(Bucket=b, Key="04-user-drop-zone/in/a.bin")), "404",
           "deleted")
        s3.head_bucket(Bucket=b)
        # the aws CLI: s3api put/get, and a presigned URL fetched with curl
        env = aws_env(lake)
        src = os.path.join(lake.tmp, "up.csv")
        with open(src, "w") as f:
            f.write("id,name\n1,Ann\n")
        ep = f"http://127.0.0.1:{lake.s3_port}"
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", ep, "s3api", "put-object",
                              "--bucket", b, "--key", "04-user-drop-zone/cli/up.csv", "--body",
                              src], capture_output=True, text=True, env=env, timeout=60)
        eq(out.returncode, 0, f"aws s3api put-object: {out.stderr}")
        dst = os.path.join(lake.tmp, "down.csv")
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", ep, "s3api", "get-object",
                              "--bucket", b, "--key", "04-user-drop-zone/cli/up.csv", dst],
                             capture_output=True, text=True, env=env, timeout=60)
        eq(out.returncode, 0, f"aws s3api get-object: {out.stderr}")
        eq(open(dst).read(), "id,name\n1,Ann\n", "round trip through the CLI")
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", ep, "s3", "presign",
                              f"s3://{b}/04-user-drop-zone/cli/up.csv", "--expires-in", "60"],
                             capture_output=True, text=True, env=env, timeout=60)
        url = out.stdout.strip()
        got = subprocess.run(["curl", "-sS", "-f", url], capture_output=True, timeout=60)
        eq(got.stdout, b"id,name\n1,Ann\n", f"presigned GET with curl: {got.stderr!r}")
        tampered = url.replace("up.csv", "up2.csv")
        got = subprocess.run(["curl", "-sS", tampered], capture_output=True, timeout=60)
        check(b"SignatureDoesNotMatch" in got.stdout, got.stdout)
    finally:
        lake.stop()


@test
def governance_and_bad_credentials():
    lake = Lake(settings=QUIET).start()
    try:
        cli(lake, "user", "add", "alice", stdin="alice-password\n")
        cli(lake, "user", "add", "bob", stdin="bob-password\n")
        keys = {}
        for u in ("alice", "bob"):
            out = cli(lake, "key", "create", u).stdout
            env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            kid, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
            keys[u] = client(lake, kid, secret)
        root = client(lake)
        alice, bob = keys["alice"], keys["bob"]
        b = "lake"
        # deny by default; a user without write on raw cannot upload there
        eq(code(lambda: alice.put_object(Bucket=b, Key="01-raw-data-zone/x/1.json", Body=b"{}")),
           "AccessDenied", "no write grant on raw")
        # nobody overwrites or deletes in raw
        root.put_object(Bucket=b, Key="01-raw-data-zone/x/1.json", Body=b"{}")
        try:
            root.put_object(Bucket=b, Key="01-raw-data-zone/x/1.json", Body=b"{}")
            check(False, "raw overwrite must fail")
        except botocore.exceptions.ClientError as e:
            eq(e.response["Error"]["Code"], "AccessDenied", "raw overwrite")
            check("immutable" in e.response["Error"]["Message"], e.response["Error"])
        eq(code(lambda: root.delete_object(Bucket=b, Key="01-raw-data-zone/x/1.json")),
           "AccessDenied", "raw delete")
        # a sandbox is its owner's
        alice.put_object(Bucket=b, Key="data/user/alice/notes.txt", Body=b"mine")
        eq(alice.get_object(Bucket=b, Key="data/user/alice/notes.txt")["Body"].read(), b"mine",
           "own sandbox")
        eq(code(lambda: bob.get_object(Bucket=b, Key="data/user/alice/notes.txt")),
           "AccessDenied", "another's sandbox")
        # grants given over REST hold over S3
        cli(lake, "grant", "bob", "read", "sandbox/alice/")
        eq(bob.get_object(Bucket=b, Key="data/user/alice/notes.txt")["Body"].read(), b"mine",
           "after a read grant")
        # bad credentials
        bad = client(lake, ROOT_USER, "wrong-secret")
        eq(code(lambda: bad.get_object(Bucket=b, Key="data/user/alice/notes.txt")),
           "SignatureDoesNotMatch", "bad secret")
        eq(code(lambda: client(lake, "TKNOSUCHKEY", "x").head_bucket(Bucket=b)), "403",
           "unknown key (HEAD has no body)")
        eq(code(lambda: client(lake, "TKNOSUCHKEY", "x").get_object(Bucket=b, Key="a/b")),
           "InvalidAccessKeyId", "unknown key")
        # a skewed clock: sign 20 minutes in the past
        import botocore.auth as ba
        real = ba.datetime.datetime

        class Skewed(real):
            @classmethod
            def utcnow(cls):
                return real.utcnow() - datetime.timedelta(minutes=20)
        ba.datetime.datetime = Skewed
        try:
            eq(code(lambda: root.get_object(Bucket=b, Key="data/user/alice/notes.txt")),
               "RequestTimeTooSkewed", "skewed clock")
        finally:
            ba.datetime.datetime = real
        # an expired presigned URL
        url = root.generate_presigned_url("get_object", Params={
            "Bucket": b, "Key": "data/user/alice/notes.txt"}, ExpiresIn=1)
        import time
        time.sleep(2)
        got = subprocess.run(["curl", "-sS", url], capture_output=True, timeout=60)
        check(b"<Code>AccessDenied</Code>" in got.stdout and b"expired" in got.stdout,
              got.stdout)
        # every access is in the audit trail
        out = subprocess.run([TARN, "audit", "tail", lake.dir, "-n", "400"], capture_output=True,
                             text=True)
        check('"via":"s3"' in out.stdout.replace(" ", ""), "S3 accesses audited")
    finally:
        lake.stop()


def audit_events(lake):
    """Every line of the lake's audit trail, parsed, in order."""
    import glob
    out = []
    for f in sorted(glob.glob(os.path.join(lake.dir, "log", "audit", "*", "*", "*",
                                           "audit.jsonl"))):
        with open(f) as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    return out


@test
def audit_lines_and_revoked_keys():
    """An object access over S3 leaves one line naming the principal, its source and how
    it authenticated (no separate auth line); a request refused before the object layer
    still leaves its auth line; the chain verifies; a disabled or deleted key is refused
    at once, however recently it signed."""
    lake = Lake(settings=QUIET).start()
    try:
        cli(lake, "user", "add", "carol", stdin="carol-password\n")
        out = cli(lake, "key", "create", "carol").stdout
        env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        kid, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        carol = client(lake, kid, secret)
        b = "lake"
        before = len(audit_events(lake))
        carol.put_object(Bucket=b, Key="data/user/carol/a.txt", Body=b"hello")
        eq(carol.get_object(Bucket=b, Key="data/user/carol/a.txt")["Body"].read(), b"hello",
           "own sandbox")
        eq(code(lambda: carol.get_object(Bucket=b, Key="data/user/carol/none.txt")),
           "NoSuchKey", "missing key")
        eq(code(lambda: carol.get_object(Bucket=b, Key="01-raw-data-zone/x.json")),
           "AccessDenied", "no grant")
        events = audit_events(lake)[before:]
        objs = [e for e in events if e["event"] == "object"]
        eq([(o["action"], o["outcome"]) for o in objs],
           [("write", "ok"), ("read", "ok"), ("read", "error"), ("read", "denied")],
           "one object line per access")
        for o in objs:
            check(o["principal"] == "carol" and o["source"] == "127.0.0.1" and
                  o["via"] == "s3" and o["auth"] == "sigv4" and o["request_id"], o)
        eq([e for e in events if e["event"] == "auth"], [],
           "no separate auth lines for object operations")
        # refused on its headers, before the object layer: the auth line is written
        before = len(audit_events(lake))
        bad = subprocess.run(
            ["curl", "-sS", "-X", "PUT", "--data-binary", "x", "-H", "Content-MD5: !!",
             "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{kid}:{secret}",
             "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
             f"http://127.0.0.1:{lake.s3_port}/{b}/data/user/carol/b.txt"],
            capture_output=True, timeout=60)
        check(b"InvalidDigest" in bad.stdout, bad.stdout)
        events = audit_events(lake)[before:]
        eq([(e["event"], e.get("outcome"), e.get("via"), e["principal"]) for e in events],
           [("auth", "ok", "sigv4-s3", "carol")], "an early refusal keeps its auth line")
        # listing is no object access: its auth line stays
        before = len(audit_events(lake))
        carol.list_objects_v2(Bucket=b, Prefix="data/user/carol/")
        check(any(e["event"] == "auth" and e["outcome"] == "ok" and e["principal"] == "carol"
                  for e in audit_events(lake)[before:]), "listing audited as before")
        # the chain still verifies
        v = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True, text=True)
        eq(v.returncode, 0, v.stdout + v.stderr)
        # revocation is immediate, whatever the caches hold
        for _ in range(3):
            carol.head_object(Bucket=b, Key="data/user/carol/a.txt")
        cli(lake, "key", "disable", kid)
        eq(code(lambda: carol.get_object(Bucket=b, Key="data/user/carol/a.txt")),
           "InvalidAccessKeyId", "a disabled key is refused at once")
        cli(lake, "key", "enable", kid)
        eq(carol.get_object(Bucket=b, Key="data/user/carol/a.txt")["Body"].read(), b"hello",
           "enabled again")
        cli(lake, "user", "disable", "carol")
        eq(code(lambda: carol.get_object(Bucket=b, Key="data/user/carol/a.txt")),
           "InvalidAccessKeyId", "its owner disabled")
        cli(lake, "user", "enable", "carol")
        eq(carol.get_object(Bucket=b, Key="data/user/carol/a.txt")["Body"].read(), b"hello",
           "owner enabled again")
        cli(lake, "key", "delete", kid)
        eq(code(lambda: carol.get_object(Bucket=b, Key="data/user/carol/a.txt")),
           "InvalidAccessKeyId", "a deleted key is refused at once")
        fails = [e for e in audit_events(lake) if e["event"] == "auth" and
                 e["outcome"] == "failed"]
        check(len(fails) >= 3, "every refused key audited")
    finally:
        lake.stop()


@test
def listing_copy_batch_delete_and_the_s3_commands():
    lake = Lake(settings=QUIET).start()
    try:
        s3 = client(lake)
        b = "lake"
        eq([x["Name"] for x in s3.list_buckets()["Buckets"]], [b], "one bucket: the lake")
        eq(s3.get_bucket_location(Bucket=b).get("LocationConstraint"), None, "us-east-1")
        # 2,500 keys through the paginator (pages of 1,000, continuation tokens)
        from concurrent.futures import ThreadPoolExecutor
        keys = [f"04-user-drop-zone/many/k{i:05d}.txt" for i in range(2500)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: s3.put_object(Bucket=b, Key=k, Body=k.encode()), keys))
        got, pages = [], 0
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=b, Prefix="04-user-drop-zone/many/"):
            pages += 1
            got += [o["Key"] for o in page.get("Contents", [])]
        eq((got, pages), (keys, 3), "every key once, in order, over 3 pages")
        got = []
        for page in s3.get_paginator("list_objects").paginate(
                Bucket=b, Prefix="04-user-drop-zone/many/", PaginationConfig={"PageSize": 700}):
            got += [o["Key"] for o in page.get("Contents", [])]
        eq(got, keys, "v1 listing with markers")
        r = s3.list_objects_v2(Bucket=b, Prefix="04-user-drop-zone/", Delimiter="/")
        eq([p["Prefix"] for p in r["CommonPrefixes"]], ["04-user-drop-zone/many/"], "folders")
        r = s3.list_objects_v2(Bucket=b, Prefix="04-user-drop-zone/many/k0000",
                               StartAfter="04-user-drop-zone/many/k00003.txt", MaxKeys=3)
        eq([o["Key"] for o in r["Contents"]], keys[4:7], "start-after and max-keys")
        eq(r["Contents"][0]["ETag"], '"' + hashlib.md5(keys[4].encode()).hexdigest() + '"',
           "ETags in listings")
        r = s3.list_objects_v2(Bucket=b, Prefix="04-user-drop-zone/many/k00001",
                               EncodingType="url")
        eq(r["Contents"][0]["Key"], keys[1], "encoding-type=url decoded by the client")
        # copy: metadata kept, or replaced
        s3.put_object(Bucket=b, Key="04-user-drop-zone/c/src.csv", Body=b"a,b\n",
                      ContentType="text/csv", Metadata={"k": "v"})
        s3.copy_object(Bucket=b, Key="04-user-drop-zone/c/dst.csv",
                       CopySource={"Bucket": b, "Key": "04-user-drop-zone/c/src.csv"})
        h = s3.head_object(Bucket=b, Key="04-user-drop-zone/c/dst.csv")
        eq((h["ContentType"], h["Metadata"]), ("text/csv", {"k": "v"}), "COPY directive")
        s3.copy_object(Bucket=b, Key="04-user-drop-zone/c/dst2.csv", MetadataDirective="REPLACE",
                       ContentType="text/plain", Metadata={"n": "2"},
                       CopySource={"Bucket": b, "Key": "04-user-drop-zone/c/src.csv"})
        h = s3.head_object(Bucket=b, Key="04-user-drop-zone/c/dst2.csv")
        eq((h["ContentType"], h["Metadata"]), ("text/plain", {"n": "2"}), "REPLACE directive")
        # batch delete: 1,000 keys, one of them in raw (refused, reported)
        s3.put_object(Bucket=b, Key="01-raw-data-zone/r/1.json", Body=b"{}")
        batch = [{"Key": k} for k in keys[:999]] + [{"Key": "01-raw-data-zone/r/1.json"}]
        r = s3.delete_objects(Bucket=b, Delete={"Objects": batch})
        eq(len(r.get("Deleted", [])), 999, "deleted")
        eq([(e["Key"], e["Code"]) for e in r.get("Errors", [])],
           [("01-raw-data-zone/r/1.json", "AccessDenied")], "raw refused in the batch")
        eq(len(os.listdir(os.path.join(lake.dir, "04-user-drop-zone/many"))), 1501, "on disk")
        # the aws s3 commands
        env = aws_env(lake)
        ep = ["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{lake.s3_port}", "s3"]
        src = os.path.join(lake.tmp, "tree")
        os.makedirs(os.path.join(src, "sub"))
        for name in ("a.csv", "sub/b.csv"):
            with open(os.path.join(src, name), "w") as f:
                f.write(name + "\n")

        def aws(*args):
            out = subprocess.run([*ep, *args], capture_output=True, text=True, env=env,
                                 timeout=120)
            eq(out.returncode, 0, f"aws s3 {args}: {out.stderr}")
            return out.stdout
        aws("sync", src, f"s3://{b}/04-user-drop-zone/tree/")
        out = aws("ls", "--recursive", f"s3://{b}/04-user-drop-zone/tree/")
        check("04-user-drop-zone/tree/a.csv" in out and "04-user-drop-zone/tree/sub/b.csv" in out,
              out)
        out = aws("ls", f"s3://{b}/04-user-drop-zone/")
        check("PRE tree/" in out, out)
        aws("mv", f"s3://{b}/04-user-drop-zone/tree/a.csv", f"s3://{b}/04-user-drop-zone/moved.csv")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/tree/a.csv")), "mv")
        aws("cp", f"s3://{b}/04-user-drop-zone/moved.csv", os.path.join(lake.tmp, "m.csv"))
        eq(open(os.path.join(lake.tmp, "m.csv")).read(), "a.csv\n", "cp down")
        aws("rm", "--recursive", f"s3://{b}/04-user-drop-zone/tree/")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/tree/sub/b.csv")),
              "rm --recursive")
    finally:
        lake.stop()


@test
def virtual_host_style_with_curls_own_sigv4():
    lake = Lake(settings=dict(QUIET, **{"s3.domain": "s3.test"})).start()
    try:
        host = f"lake.s3.test:{lake.s3_port}"
        base = ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                f"{ROOT_USER}:{ROOT_PASSWORD}", "--connect-to",
                f"lake.s3.test:{lake.s3_port}:127.0.0.1:{lake.s3_port}", "-w", "\n%{http_code}"]
        src = os.path.join(lake.tmp, "vh.txt")
        with open(src, "w") as f:
            f.write("hello\n")
        out = subprocess.run([*base, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", src,
                              f"http://{host}/04-user-drop-zone/vh.txt"], capture_output=True,
                             text=True, timeout=60)
        eq(out.stdout.strip().splitlines()[-1], "200", f"PUT by virtual host: {out.stdout}")
        with open(os.path.join(lake.dir, "04-user-drop-zone/vh.txt")) as f:
            eq(f.read(), "hello\n", "written where the path says, in the host's bucket")
        out = subprocess.run([*base, f"http://{host}/04-user-drop-zone/vh.txt"],
                             capture_output=True, text=True, timeout=60)
        eq(out.stdout, "hello\n\n200", "GET by virtual host")
        out = subprocess.run([*base, f"http://other.s3.test:{lake.s3_port}/x/y", "--connect-to",
                              f"other.s3.test:{lake.s3_port}:127.0.0.1:{lake.s3_port}"],
                             capture_output=True, text=True, timeout=60)
        check("NoSuchBucket" in out.stdout, out.stdout)
    finally:
        lake.stop()


def signed_headers(lake, method, path, body_len, payload="UNSIGNED-PAYLOAD"):
    """Headers of a SigV4-signed request (as boto3 would sign it), for raw sockets."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = f"http://127.0.0.1:{lake.s3_port}{path}"
    req = AWSRequest(method=method, url=url, headers={"x-amz-content-sha256": payload,
                                                      "Content-Length": str(body_len)})
    S3SigV4Auth(Credentials(ROOT_USER, ROOT_PASSWORD), "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def leftovers(lake):
    """Temp files anywhere under the zones (a failed upload must leave none)."""
    out = []
    for root, _, files in os.walk(lake.dir):
        if "/.tarn" in root:
            continue
        out += [os.path.join(root, f) for f in files if f.startswith(".tarn-tmp-")]
    return out


@test
def bad_keys_and_truncated_bodies_change_nothing():
    import http.client
    import socket
    lake = Lake(settings=QUIET).start()
    try:
        for key, want in (("04-user-drop-zone/a/../tarn.yaml", "InvalidArgument"),
                          ("04-user-drop-zone//a", "InvalidArgument"),
                          ("04-user-drop-zone/a%00b", "InvalidArgument"),
                          (".tarn/master.key", "InvalidArgument"),
                          ("04-user-drop-zone/" + "k" * 1020, "KeyTooLongError")):
            path = "/lake/" + key
            h = signed_headers(lake, "PUT", path, 1)
            c = http.client.HTTPConnection("127.0.0.1", lake.s3_port, timeout=30)
            c.request("PUT", path, body=b"x", headers=h)
            r = c.getresponse()
            body = r.read()
            c.close()
            check(r.status == 400 and f"<Code>{want}</Code>".encode() in body,
                  f"{key[:60]}: {r.status} {body[:300]!r}")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/a")), "nothing made")
        # a body cut short: the client promises 1 MiB, sends 1000 bytes and hangs up
        h = signed_headers(lake, "PUT", "/lake/04-user-drop-zone/cut.bin", 1 << 20)
        sock = socket.create_connection(("127.0.0.1", lake.s3_port))
        head = "PUT /lake/04-user-drop-zone/cut.bin HTTP/1.1\r\n" + \
            "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        sock.sendall(head.encode() + b"y" * 1000)
        sock.close()
        import time
        time.sleep(0.5)
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/cut.bin")),
              "a truncated upload is not an object")
        eq(leftovers(lake), [], "and leaves no temp file")
        # the server is still up and serves the next request
        s3 = client(lake)
        s3.put_object(Bucket="lake", Key="04-user-drop-zone/after.bin", Body=b"ok")
        eq(s3.get_object(Bucket="lake", Key="04-user-drop-zone/after.bin")["Body"].read(), b"ok",
           "still serving")
    finally:
        lake.stop()


@test
def concurrent_puts_to_one_key_and_the_s3api_commands():
    from concurrent.futures import ThreadPoolExecutor
    lake = Lake(settings=QUIET).start()
    try:
        s3 = client(lake)
        bodies = [bytes([65 + i]) * (256 << 10) for i in range(8)]
        with ThreadPoolExecutor(8) as ex:
            for _ in range(3):
                list(ex.map(lambda b: s3.put_object(Bucket="lake", Key="04-user-drop-zone/c/k",
                                                    Body=b), bodies))
                got = s3.get_object(Bucket="lake", Key="04-user-drop-zone/c/k")["Body"].read()
                check(got in bodies, "the object is one writer's bytes, whole")
        eq(leftovers(lake), [], "no temp files")
        # the aws s3api commands for the operations
        env = aws_env(lake)
        api = ["/usr/bin/aws", "--endpoint-url", f"http://127.0.0.1:{lake.s3_port}", "s3api"]

        def run_api(*args):
            out = subprocess.run([*api, *args], capture_output=True, text=True, env=env,
                                 timeout=120)
            eq(out.returncode, 0, f"aws s3api {args[0]}: {out.stderr}")
            return json.loads(out.stdout) if out.stdout.strip() else None
        eq([b["Name"] for b in run_api("list-buckets")["Buckets"]], ["lake"], "list-buckets")
        run_api("head-bucket", "--bucket", "lake")
        run_api("get-bucket-location", "--bucket", "lake")
        r = run_api("list-objects-v2", "--bucket", "lake", "--prefix", "04-user-drop-zone/")
        eq([o["Key"] for o in r["Contents"]], ["04-user-drop-zone/c/k"], "list-objects-v2")
        r = run_api("list-objects", "--bucket", "lake", "--prefix", "04-user-drop-zone/",
                    "--delimiter", "/")
        eq([p["Prefix"] for p in r["CommonPrefixes"]], ["04-user-drop-zone/c/"], "list-objects")
        eq(run_api("head-object", "--bucket", "lake", "--key",
                   "04-user-drop-zone/c/k")["ContentLength"], 256 << 10, "head-object")
        run_api("copy-object", "--bucket", "lake", "--key", "04-user-drop-zone/c/k2",
                "--copy-source", "lake/04-user-drop-zone/c/k")
        up = run_api("create-multipart-upload", "--bucket", "lake", "--key",
                     "04-user-drop-zone/c/mp")["UploadId"]
        part = os.path.join(lake.tmp, "part")
        with open(part, "wb") as f:
            f.write(b"p" * 1000)
        e = run_api("upload-part", "--bucket", "lake", "--key", "04-user-drop-zone/c/mp",
                    "--upload-id", up, "--part-number", "1", "--body", part)["ETag"]
        eq(len(run_api("list-parts", "--bucket", "lake", "--key", "04-user-drop-zone/c/mp",
                       "--upload-id", up)["Parts"]), 1, "list-parts")
        eq(len(run_api("list-multipart-uploads", "--bucket", "lake")["Uploads"]), 1,
           "list-multipart-uploads")
        mpu = os.path.join(lake.tmp, "mpu.json")
        with open(mpu, "w") as f:
            json.dump({"Parts": [{"PartNumber": 1, "ETag": e}]}, f)
        run_api("complete-multipart-upload", "--bucket", "lake", "--key",
                "04-user-drop-zone/c/mp", "--upload-id", up, "--multipart-upload",
                f"file://{mpu}")
        up = run_api("create-multipart-upload", "--bucket", "lake", "--key",
                     "04-user-drop-zone/c/gone")["UploadId"]
        run_api("abort-multipart-upload", "--bucket", "lake", "--key",
                "04-user-drop-zone/c/gone", "--upload-id", up)
        r = run_api("delete-objects", "--bucket", "lake", "--delete",
                    '{"Objects": [{"Key": "04-user-drop-zone/c/k2"}, '
                    '{"Key": "04-user-drop-zone/c/mp"}]}')
        eq(len(r["Deleted"]), 2, "delete-objects")
        run_api("delete-object", "--bucket", "lake", "--key", "04-user-drop-zone/c/k")
        check(not os.path.exists(os.path.join(lake.dir, "04-user-drop-zone/c")),
              "everything deleted, the folder too")
    finally:
        lake.stop()


@test
def an_upload_becomes_a_table():
    lake = Lake(settings={"catalog.crawl_delay": "200ms", "catalog.crawl_interval": "0"}).start()
    try:
        src = os.path.join(lake.tmp, "visits.csv")
        with open(src, "w") as f:
            f.write("id,clinic,visits\n1,north,3\n2,south,5\n")
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url",
                              f"http://127.0.0.1:{lake.s3_port}", "s3", "cp", src,
                              "s3://lake/04-user-drop-zone/visits/visits.csv"],
                             capture_output=True, text=True, env=aws_env(lake), timeout=60)
        eq(out.returncode, 0, f"aws s3 cp: {out.stderr}")
        import time
        deadline = time.time() + 30
        while time.time() < deadline:
            st, _, body = lake.request("POST", "/v1/query",
                                       {"sql": "SELECT sum(visits) FROM drop.visits"})
            if st == 200:
                break
            time.sleep(0.2)
        eq((st, json.loads(body)["rows"]), (200, [[8]]), f"the upload is a table: {body[:300]!r}")
    finally:
        lake.stop()


@test
def acknowledged_uploads_survive_kill_9():
    """Four clients upload bodies held in memory until their commit (64 KiB to 8 MiB)
    and streamed ones (smaller, larger) until the server is killed with SIGKILL; after a
    restart every acknowledged upload reads back whole with its ETag, an upload not
    acknowledged is there whole or not at all, and no temp file is listed."""
    import threading
    import time
    lake = Lake(settings=QUIET).start()
    acked, tried, stop = {}, {}, threading.Event()
    lock = threading.Lock()
    sizes = [100 << 10, 1 << 20, 3 << 20, 9 << 20, 5000]

    def upload(n, s3):
        i = 0
        while not stop.is_set():
            key = f"04-user-drop-zone/k9/c{n}-{i}.bin"
            body = os.urandom(sizes[(n + i) % len(sizes)])
            with lock:
                tried[key] = hashlib.md5(body).hexdigest()
            try:
                r = s3.put_object(Bucket="lake", Key=key, Body=body)
            except Exception:
                return  # the server is gone
            with lock:
                acked[key] = (hashlib.md5(body).hexdigest(), r["ETag"].strip('"'))
            i += 1

    try:
        # clients made here: making them in the threads races inside botocore
        threads = [threading.Thread(target=upload, args=(n, client(lake))) for n in range(4)]
        for t in threads:
            t.start()
        deadline = time.time() + 60
        while len(acked) < 40 and time.time() < deadline:
            time.sleep(0.05)
        lake.kill()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        check(len(acked) >= 40, f"uploads acknowledged before the kill: {len(acked)}")
        for key, (md5, etag) in acked.items():
            eq(etag, md5, f"{key}: the ETag answered is the body's MD5")
        lake.start()
        s3 = client(lake)
        for key, (md5, _) in acked.items():
            g = s3.get_object(Bucket="lake", Key=key)
            eq(hashlib.md5(g["Body"].read()).hexdigest(), md5, f"{key}: whole after the kill")
            eq(g["ETag"].strip('"'), md5, f"{key}: its ETag")
        listed = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lake",
                                                                 Prefix="04-user-drop-zone/k9/"):
            listed.update(o["Key"] for o in page.get("Contents", []))
        check(set(acked) <= listed, "every acknowledged upload is listed")
        for key in listed - set(acked):
            check(key in tried, f"{key}: listed but never sent")
            body = s3.get_object(Bucket="lake", Key=key)["Body"].read()
            eq(hashlib.md5(body).hexdigest(), tried[key], f"{key}: unacknowledged, but whole")
        check(not any(".tarn-tmp" in k for k in listed), "no temp file listed")
    finally:
        stop.set()
        lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""Users, roles and access keys through the CLI and REST, with real clients:
Basic and token logins of a new user, deny by default for non-admins (REST,
SQL, Kinesis through the aws CLI), admin through a nested role, a user's own
access key with the aws CLI, disable and delete taking effect at once."""
import base64
import json
import os
import subprocess

from tarnlib import (ROOT_PASSWORD, ROOT_USER, TARN, Lake, aws_env, check, eq, run, test)

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def cli(lake, *args, stdin=None, ok=True):
    env = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    out = subprocess.run([TARN, *args], input=stdin if stdin is not None else "",
                         capture_output=True, env=env, timeout=60, text=True)
    if ok and out.returncode != 0:
        raise AssertionError(f"tarn {args}: exit {out.returncode}: {out.stderr}")
    return out


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def kinesis(lake, key_id, secret, *args):
    env = aws_env(lake, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", lake.url, "kinesis", *args],
                          capture_output=True, text=True, env=env, timeout=60)


@test
def users_roles_keys_and_deny_by_default():
    lake = Lake(settings=QUIET).start()
    try:
        # a user with a password from stdin, another with a generated one
        cli(lake, "user", "add", "analyst", stdin="analyst-password\n")
        out = cli(lake, "user", "add", "epi")
        gen = out.stdout.strip().rsplit(" ", 1)[-1]
        check(len(gen) >= 20, out.stdout)
        an = basic("analyst", "analyst-password")
        st, _, body = lake.request("POST", "/v1/query", {"sql": "SELECT 1 AS x"}, auth=an)
        eq((st, json.loads(body)["rows"]), (200, [[1]]), "a user may query")
        st, _, _ = lake.request("POST", "/v1/query", {"sql": "SELECT 1"},
                                auth=basic("epi", gen))
        eq(st, 200, "generated password works")
        # deny by default: admin endpoints, other tables, streams
        st, _, body = lake.request("GET", "/v1/users", auth=an)
        eq(st, 403, "users list")
        check("only admins" in json.loads(body)["error"]["message"], body)
        lake.json("POST", "/v1/streams/events/records", '{"a":1}\n',
                  headers={"Content-Type": "application/x-ndjson"})
        lake.json("POST", "/v1/streams/events/flush")
        lake.json("POST", "/v1/crawl")
        st, _, body = lake.request("POST", "/v1/query", {"sql": "SELECT * FROM raw.events"},
                                   auth=an)
        eq(st, 403, "no grant to read raw")
        check("no grant to read table 'raw.events'" in json.loads(body)["error"]["message"],
              body)
        st, _, _ = lake.request("POST", "/v1/streams/events/records", '{"a":2}\n', auth=an,
                                headers={"Content-Type": "application/x-ndjson"})
        eq(st, 403, "no stream writes")
        # a token of the user works like its password
        tok = json.loads(lake.request("POST", "/v1/tokens", {}, auth=an)[2])["token"]
        eq(lake.request("POST", "/v1/query", {"sql": "SELECT 2"}, auth="Bearer " + tok)[0],
           200, "token")
        # roles: admin through a nested role, at once, and back
        cli(lake, "role", "add", "ops")
        cli(lake, "role", "grant", "admin", "ops")
        cli(lake, "role", "grant", "ops", "analyst")
        eq(lake.request("GET", "/v1/users", auth=an)[0], 200, "admin through ops")
        out = cli(lake, "role", "grant", "ops", "admin", ok=False)
        check(out.returncode == 1 and "cycle" in out.stderr, out.stderr)
        roles = {r["name"]: r for r in lake.json("GET", "/v1/roles")["roles"]}
        eq(sorted(roles), ["admin", "ops", "raw_reader"], "roles")
        eq(roles["ops"]["roles"], ["admin"], "ops holds admin")
        cli(lake, "role", "revoke", "ops", "analyst")
        eq(lake.request("GET", "/v1/users", auth=an)[0], 403, "revoked at once")
        # access keys: the aws CLI with the user's own key; denied streams; disable; delete
        out = cli(lake, "key", "create", "analyst")
        env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        kid, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        users = {u["name"]: u for u in lake.json("GET", "/v1/users")["users"]}
        eq(users["analyst"]["keys"], [kid], "key listed")
        check(secret not in json.dumps(users), "secret never listed")
        r = kinesis(lake, kid, secret, "put-record", "--stream-name", "events",
                    "--partition-key", "k", "--data", "eyJhIjoxfQ==", "--cli-binary-format",
                    "base64")
        check(r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr)
        # a stream grant: puts through any API, on that stream only; management stays admins'
        cli(lake, "grant", "analyst", "stream", "events")
        r = kinesis(lake, kid, secret, "put-record", "--stream-name", "events",
                    "--partition-key", "k", "--data", "eyJhIjoxfQ==", "--cli-binary-format",
                    "base64")
        eq(r.returncode, 0, r.stderr)
        r = kinesis(lake, kid, secret, "put-record", "--stream-name", "other",
                    "--partition-key", "k", "--data", "eyJhIjoxfQ==", "--cli-binary-format",
                    "base64")
        check(r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr)
        r = kinesis(lake, kid, secret, "list-streams")
        check(r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr)
        eq(lake.request("POST", "/v1/streams/events/records", '{"a":3}\n', auth=an,
                        headers={"Content-Type": "application/x-ndjson"})[0], 200, "native put")
        eq(lake.request("POST", "/v1/streams/other/records", '{"a":3}\n', auth=an,
                        headers={"Content-Type": "application/x-ndjson"})[0], 403, "other stream")
        # a write grant: tables in one warehouse zone
        st, _, body = lake.request("POST", "/v1/query",
                                   {"sql": "CREATE TABLE mart.mine AS SELECT 1 AS x"}, auth=an)
        eq(st, 403, body)
        cli(lake, "grant", "analyst", "write", "gold")
        st, _, body = lake.request("POST", "/v1/query",
                                   {"sql": "CREATE TABLE mart.mine AS SELECT 1 AS x"}, auth=an)
        eq(st, 200, body)
        eq(lake.request("POST", "/v1/query", {"sql": "CREATE TABLE core.mine AS SELECT 1"},
                        auth=an)[0], 403, "another zone")
        cli(lake, "role", "grant", "admin", "analyst")
        r = kinesis(lake, kid, secret, "put-record", "--stream-name", "events",
                    "--partition-key", "k", "--data", "eyJhIjoxfQ==", "--cli-binary-format",
                    "base64")
        eq(r.returncode, 0, r.stderr)
        cli(lake, "key", "disable", kid)
        r = kinesis(lake, kid, secret, "list-streams")
        check(r.returncode != 0, "disabled key refused at once")
        cli(lake, "key", "enable", kid)
        eq(kinesis(lake, kid, secret, "list-streams").returncode, 0, "enabled again")
        cli(lake, "key", "delete", kid)
        check(kinesis(lake, kid, secret, "list-streams").returncode != 0, "deleted key")
        # passwd revokes tokens; disable; remove
        cli(lake, "user", "passwd", "analyst", stdin="a-new-password\n")
        eq(lake.request("POST", "/v1/query", {"sql": "SELECT 2"}, auth="Bearer " + tok)[0],
           401, "token revoked by passwd")
        eq(lake.request("POST", "/v1/query", {"sql": "SELECT 2"},
                        auth=basic("analyst", "a-new-password"))[0], 200, "new password")
        cli(lake, "user", "disable", "analyst")
        eq(lake.request("POST", "/v1/query", {"sql": "SELECT 2"},
                        auth=basic("analyst", "a-new-password"))[0], 401, "disabled")
        cli(lake, "user", "remove", "analyst")
        names = [u["name"] for u in lake.json("GET", "/v1/users")["users"]]
        eq(sorted(names), sorted(["epi", ROOT_USER]), "users after remove")
        out = cli(lake, "user", "remove", ROOT_USER, ok=False)
        check(out.returncode == 1 and "root" in out.stderr, out.stderr)
        # bad input is refused with the reason
        st, _, body = lake.request("POST", "/v1/users", {"name": "x y", "password": "long-enough"})
        eq(st, 400, "bad name")
        st, _, body = lake.request("POST", "/v1/users", {"name": "shorty", "password": "short"})
        eq(st, 400, "short password")
        eq(lake.request("POST", "/v1/users", {"name": "epi"})[0], 409, "taken")
        # brute force: 10 failures lock the name (even with the right password), unlock lifts it
        for _ in range(10):
            eq(lake.request("POST", "/v1/query", {"sql": "SELECT 1"},
                            auth=basic("epi", "guess"))[0], 401, "wrong password")
        st, _, body = lake.request("POST", "/v1/query", {"sql": "SELECT 1"},
                                   auth=basic("epi", gen))
        eq(st, 401, "locked out")
        check("too many failed logins" in json.loads(body)["error"]["message"], body)
        cli(lake, "user", "unlock", "epi")
        eq(lake.request("POST", "/v1/query", {"sql": "SELECT 1"}, auth=basic("epi", gen))[0],
           200, "unlocked")
        # nothing of the secrets reached the server log
        with open(os.path.join(lake.dir, "log", "server", "tarn.log")) as f:
            logtext = f.read()
        for s in (secret, gen, "analyst-password", "a-new-password"):
            check(s not in logtext, f"secret in the log: {s[:4]}...")
    finally:
        lake.stop()


@test
def serve_refuses_a_world_readable_lake():
    lake = Lake(settings=QUIET)
    for name, mode, fix in (("tarn.yaml", 0o644, 0o600), (".tarn", 0o755, 0o700)):
        path = os.path.join(lake.dir, name)
        os.chmod(path, mode)
        out = subprocess.run([TARN, "serve", lake.dir, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0", "--pg", "127.0.0.1:0"],
                             capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, TARN_ROOT_USER=ROOT_USER,
                                      TARN_ROOT_PASSWORD=ROOT_PASSWORD))
        check(out.returncode != 0 and "open to every user" in out.stderr and name in out.stderr,
              out.stderr)
        os.chmod(path, fix)
    lake.start()
    lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""Grants, PII masking and row filters through REST, as the governance issue's
scenario: an admin, an analyst (SELECT on mart, no PII clearance), an
epidemiologist (raw, PII masked, rows of one state) and a steward (PII
clearance) each see exactly what they should; filters on masked columns
compare masked values; the hash mask is stable; revokes bite at once."""
import base64
import json
import os
import re
import subprocess

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def q(lake, sql, auth=None, want=200):
    st, _, body = lake.request("POST", "/v1/query", {"sql": sql},
                               **({"auth": auth} if auth else {}))
    doc = json.loads(body)
    if st != want:
        raise AssertionError(f"{sql}: status {st}, want {want}: {doc}")
    return doc


@test
def scenario_analyst_epi_steward():
    lake = Lake(settings=QUIET).start()
    try:
        lake.ingest_sample(600, 3)
        q(lake, "CREATE TABLE mart.doses AS SELECT state, cvx_code, ssn, first_name, "
                "dose_number FROM raw.immunizations")
        state = q(lake, "SELECT state, count(*) FROM raw.immunizations GROUP BY 1 "
                        "ORDER BY 2 DESC LIMIT 1")["rows"][0]
        ssn = q(lake, f"SELECT ssn FROM raw.immunizations WHERE state = '{state[0]}' "
                      "LIMIT 1")["rows"][0][0]
        for u in ("analyst", "epi", "steward"):
            lake.json("POST", "/v1/users", {"name": u, "password": u + "-password"}, want=201)
        an, epi, st = (basic(u, u + "-password") for u in ("analyst", "epi", "steward"))
        # nothing by default
        err = q(lake, "SELECT count(*) FROM mart.doses", auth=an, want=403)["error"]
        check("no grant" in err["message"], err)
        # grants: analyst on mart; epi (through a role) on raw, one state; steward cleared
        g_an = lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "gold"},
                         want=201)["id"]
        lake.json("POST", "/v1/roles", {"name": "epidemiology"}, want=201)
        lake.json("PUT", "/v1/roles/epidemiology/members/epi", want=204)
        lake.json("POST", "/v1/grants", {"principal": "epidemiology", "select": "raw",
                                         "row_filter": f"state = '{state[0]}'"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "steward", "select": "raw"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "steward", "clearance": "pii"}, want=201)
        # analyst: mart, PII redacted in every shape
        r = q(lake, "SELECT ssn, first_name, cvx_code FROM mart.doses LIMIT 3", auth=an)
        check(all(row[0] == "***" and row[1] == "***" for row in r["rows"]), r["rows"])
        check(all(row[2] != "***" for row in r["rows"]), "non-PII column in clear")
        r = q(lake, "SELECT count(*) FROM mart.doses WHERE ssn = '%s'" % ssn, auth=an)
        eq(r["rows"], [[0]], "a filter on a masked column compares masked values")
        r = q(lake, "WITH x AS (SELECT ssn AS s FROM mart.doses) "
                    "SELECT s, count(*) FROM x GROUP BY s", auth=an)
        eq([row[0] for row in r["rows"]], ["***"], "GROUP BY in a CTE sees the mask")
        r = q(lake, "SELECT max(ssn) OVER () FROM mart.doses LIMIT 1", auth=an)
        eq(r["rows"], [["***"]], "window function")
        r = q(lake, "SELECT (SELECT min(ssn) FROM mart.doses)", auth=an)
        eq(r["rows"], [["***"]], "subquery")
        q(lake, "SELECT * FROM raw.immunizations", auth=an, want=403)
        q(lake, "SELECT * FROM read_json('/etc/passwd')", auth=an, want=403)
        # epi: raw, one state, masked
        r = q(lake, "SELECT state, count(*), min(ssn) FROM raw.immunizations GROUP BY 1",
              auth=epi)
        eq(r["rows"], [[state[0], state[1], "***"]], "epi: one state, masked")
        r = q(lake, "SELECT count(*) FROM raw.immunizations WHERE state <> '%s'" % state[0],
              auth=epi)
        eq(r["rows"], [[0]], "other states invisible")
        # another tag masks once an admin sets a mask for it; its clearance lifts it
        lake.json("PUT", "/v1/catalog/tables/raw.immunizations/columns/county/tags",
                  {"tag": "geo"})
        r = q(lake, "SELECT county FROM raw.immunizations LIMIT 1", auth=epi)
        check(r["rows"][0][0] not in ("***", None), "no mask set for geo yet")
        lake.json("PUT", "/v1/masks/geo", {"mask": "null"}, want=204)
        r = q(lake, "SELECT DISTINCT county FROM raw.immunizations", auth=epi)
        eq(r["rows"], [[None]], "geo masked to null")
        lake.json("POST", "/v1/grants", {"principal": "epidemiology", "clearance": "geo"},
                  want=201)
        r = q(lake, "SELECT county FROM raw.immunizations LIMIT 1", auth=epi)
        check(r["rows"][0][0] is not None, "cleared for geo")
        # steward: everything in clear
        r = q(lake, "SELECT count(*) FROM raw.immunizations WHERE ssn = '%s'" % ssn, auth=st)
        check(r["rows"][0][0] >= 1, r)
        # hash mask: stable digests, joins on masked keys work
        lake.json("PUT", "/v1/masks/pii", {"mask": "hash"}, want=204)
        h1 = q(lake, "SELECT ssn FROM mart.doses ORDER BY cvx_code, dose_number LIMIT 1",
               auth=an)["rows"][0][0]
        h2 = q(lake, "SELECT ssn FROM mart.doses ORDER BY cvx_code, dose_number LIMIT 1",
               auth=an)["rows"][0][0]
        check(re.fullmatch(r"[0-9a-f]{64}", h1) and h1 == h2, (h1, h2))
        check(h1 != ssn, "not the value")
        r = q(lake, "SELECT count(*) FROM mart.doses a JOIN mart.doses b ON a.ssn = b.ssn "
                    "WHERE a.dose_number = b.dose_number AND a.cvx_code = b.cvx_code", auth=an)
        check(r["rows"][0][0] >= 600, r)
        lake.json("PUT", "/v1/masks/pii", {"mask": "partial"}, want=204)
        p = q(lake, "SELECT ssn FROM mart.doses WHERE ssn IS NOT NULL LIMIT 1",
              auth=an)["rows"][0][0]
        check(p.startswith("***") and len(p) == 7, p)
        # column grants
        lake.json("DELETE", f"/v1/grants/{g_an}", want=204)
        q(lake, "SELECT count(*) FROM mart.doses", auth=an, want=403)
        lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "mart.doses",
                                         "columns": ["state", "cvx_code"]}, want=201)
        r = q(lake, "SELECT * FROM mart.doses LIMIT 1", auth=an)
        eq([c["name"] for c in r["columns"]], ["state", "cvx_code"], "granted columns only")
        err = q(lake, "SELECT ssn FROM mart.doses", auth=an, want=400)["error"]
        check("ssn" in err["message"], err)
        # the catalog shows a user the tables and columns they may read, no others
        st_, _, body = lake.request("GET", "/v1/catalog/tables", auth=an)
        eq((st_, [(t["database"], t["name"]) for t in json.loads(body)["tables"]]),
           (200, [("mart", "doses")]), "catalog listing")
        st_, _, body = lake.request("GET", "/v1/catalog/tables/mart.doses", auth=an)
        eq((st_, [c["name"] for c in json.loads(body)["columns"]]), (200, ["state", "cvx_code"]),
           "described columns")
        eq(lake.request("GET", "/v1/catalog/tables/raw.immunizations", auth=an)[0], 404,
           "an unreadable table does not exist for them")
        st_, _, body = lake.request("GET", "/v1/catalog/tables", auth=epi)
        eq([(t["database"], t["name"]) for t in json.loads(body)["tables"]],
           [("raw", "immunizations")], "epi's catalog")
        # bad grants are refused with the reason
        for bad in ({"principal": "nobody", "select": "raw"},
                    {"principal": "epi", "select": "nosuchdb"},
                    {"principal": "epi", "select": "raw", "row_filter": "1=1; DROP TABLE x"},
                    {"principal": "epi", "select": "raw",
                     "row_filter": "ssn IN (SELECT ssn FROM raw.immunizations)"},
                    {"principal": "epi", "select": "raw", "row_filter": "state = 'x') OR (1=1"},
                    {"principal": "epi", "select": "raw", "row_filter": "1=1) GROUP BY (state"},
                    {"principal": "epi", "select": "raw", "row_filter": "1=1 -- comment"}):
            st_, _, body = lake.request("POST", "/v1/grants", bad)
            check(st_ in (400, 404), f"{bad}: {st_} {body}")
        # grants listing, and non-admins cannot manage them
        gl = lake.json("GET", "/v1/grants?principal=steward")["grants"]
        eq(sorted(g.get("select", g.get("clearance")) for g in gl), ["pii", "raw"], "listing")
        eq(lake.request("GET", "/v1/grants", auth=an)[0], 403, "grants are admins'")
        lake.request("POST", "/v1/query", {"sql": "SELECT 1"}, auth=basic("analyst", "wrong"))
        # the audit trail: every kind of event, chained; tampering is named
        env = dict(os.environ, TARN_ROOT_USER=ROOT_USER, TARN_ROOT_PASSWORD=ROOT_PASSWORD)
        out = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True,
                             text=True, env=env)
        eq(out.returncode, 0, out.stderr)
        tail = subprocess.run([TARN, "audit", "tail", lake.dir, "-n", "100000"],
                              capture_output=True, text=True, env=env).stdout
        events = [json.loads(line) for line in tail.splitlines()]
        kinds = {(e["event"], e.get("outcome", e.get("action", ""))) for e in events}
        for want in [("auth", "ok"), ("auth", "failed"), ("denied", ""), ("user", "add"),
                     ("role", "add"), ("role", "grant"), ("grant", "grant"), ("grant", "revoke"),
                     ("query", "SUCCEEDED"), ("query", "FAILED")]:
            check(want in kinds, f"no {want} event in {sorted(kinds)}")
        denied = [e for e in events if e["event"] == "query" and e["principal"] == "analyst"
                  and "no grant" in e.get("error", "")]
        check(denied and denied[0]["outcome"] == "FAILED", denied[:1])
        fails = [e for e in events if e["event"] == "auth" and e["outcome"] == "failed"]
        check(fails and fails[-1]["principal"] == "analyst" and fails[-1]["source"] == "127.0.0.1",
              fails[-1:])
        check("analyst-password" not in tail and "wrong" not in json.dumps(fails), "no secrets")
        # log.audit: a table for admins only
        lake.json("POST", "/v1/crawl", {"target": "log"})
        r = q(lake, "SELECT count(*) FROM log.audit WHERE event = 'grant'")
        check(r["rows"][0][0] >= 5, r)
        q(lake, "SELECT count(*) FROM log.audit", auth=an, want=403)
        # edit one line: verify names it
        path = subprocess.run(["bash", "-c", f"ls {lake.dir}/log/audit/*/*/*/audit.jsonl"],
                              capture_output=True, text=True).stdout.split()[-1]
        with open(path) as f:
            lines = f.readlines()
        lines[3] = lines[3].replace('"principal":"', '"principal":"x', 1)
        with open(path, "w") as f:
            f.writelines(lines)
        out = subprocess.run([TARN, "audit", "verify", lake.dir], capture_output=True,
                             text=True, env=env)
        check(out.returncode == 1 and "line 4:" in out.stderr, out.stderr)
    finally:
        lake.stop()


def tarn(lake, user, pw, *args, ok=True):
    env = dict(os.environ, TARN_URL=lake.url, TARN_USER=user, TARN_PASSWORD=pw)
    out = subprocess.run([TARN, *args], capture_output=True, env=env, timeout=60, text=True)
    if ok and out.returncode != 0:
        raise AssertionError(f"tarn {args}: exit {out.returncode}: {out.stderr}")
    return out


@test
def cli_grants_and_sql_as_users():
    lake = Lake(settings=QUIET).start()
    try:
        lake.ingest_sample(200, 5)
        root = (ROOT_USER, ROOT_PASSWORD)
        tarn(lake, *root, "user", "add", "ana", ok=True)  # generated password (not needed)
        subprocess.run([TARN, "user", "passwd", "ana"], input="ana-password\n", text=True,
                       env=dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER,
                                TARN_PASSWORD=ROOT_PASSWORD), check=True, capture_output=True)
        out = tarn(lake, "ana", "ana-password", "sql", "SELECT count(*) FROM raw.immunizations",
                   ok=False)
        check(out.returncode == 1 and "no grant" in out.stderr, out.stderr)
        gid = tarn(lake, *root, "grant", "ana", "select", "raw.immunizations", "--columns",
                   "ssn,state", "--where", "dose_number = 1").stdout.split()[-1]
        out = tarn(lake, "ana", "ana-password", "sql", "SELECT ssn, state FROM raw.immunizations "
                   "LIMIT 2")
        rows = out.stdout.splitlines()
        eq(rows[0], "ssn,state", "header")
        check(all(r.startswith("***,") for r in rows[1:]), rows)
        n_all = json.loads(tarn(lake, *root, "sql", "--format", "json",
                                "SELECT count(*) FROM raw.immunizations WHERE dose_number = 1"
                                ).stdout)["rows"][0][0]
        n_ana = json.loads(tarn(lake, "ana", "ana-password", "sql", "--format", "json",
                                "SELECT count(*) FROM raw.immunizations").stdout)["rows"][0][0]
        eq(n_ana, n_all, "row filter")
        listing = tarn(lake, *root, "grants", "ana").stdout
        check("raw.immunizations" in listing and "dose_number = 1" in listing, listing)
        tarn(lake, *root, "mask", "pii", "partial")
        out = tarn(lake, "ana", "ana-password", "sql", "SELECT ssn FROM raw.immunizations LIMIT 1")
        check(re.fullmatch(r"\*\*\*\d{4}", out.stdout.splitlines()[1]), out.stdout)
        tarn(lake, *root, "revoke", gid)
        out = tarn(lake, "ana", "ana-password", "sql", "SELECT 1 FROM raw.immunizations",
                   ok=False)
        eq(out.returncode, 1, "revoked")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

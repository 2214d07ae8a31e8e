#!/usr/bin/env python3
"""Grants, PII masking and row filters through REST, as the governance issue's
scenario: an admin, an analyst (SELECT on mart, no PII clearance), an
epidemiologist (raw, PII masked, rows of one state) and a steward (PII
clearance) each see exactly what they should; filters on masked columns
compare masked values; the hash mask is stable; revokes bite at once."""
import base64
import json
import re
import subprocess

from tarnlib import TARN, Lake, check, eq, run, test

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
        data = subprocess.run([TARN, "gen", "immunizations", "--count", "600", "--seed", "3"],
                              capture_output=True, check=True).stdout
        lake.json("POST", "/v1/streams/immunizations/records", data,
                  headers={"Content-Type": "application/x-ndjson"})
        lake.json("POST", "/v1/streams/immunizations/flush")
        lake.json("POST", "/v1/crawl")
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
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""The governance scenario through PostgreSQL and through REST side by side:
an analyst (mart, PII redacted), an epidemiologist (raw, PII masked, one
state) and a steward (PII clearance) get the same rows, value for value in
PostgreSQL's text form, from psycopg2 as from POST /v1/query; what one may
not read is 42501 over PostgreSQL (403 over REST) and in the audit trail."""
import base64
import json

import psycopg2
import psycopg2.extensions

from tarnlib import Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
USERS = ("analyst", "epi", "steward")


def basic(user):
    return "Basic " + base64.b64encode(f"{user}:{user}-password".encode()).decode()


def rest_rows(lake, sql, user=None, want=200):
    st, _, body = lake.request("POST", "/v1/query", {"sql": sql},
                               **({"auth": basic(user)} if user else {}))
    doc = json.loads(body)
    eq(st, want, f"REST {sql} as {user}: {doc}")
    if st != 200:
        return doc
    # the JSON numbers here are integers: their text is PostgreSQL's text
    return [tuple(None if v is None else str(v) for v in row) for row in doc["rows"]]


def pg_connect(lake, user):
    c = psycopg2.connect(host="127.0.0.1", port=lake.pg_port, user=user,
                         password=f"{user}-password", dbname="lake")
    # every value as the text the server sent, not converted by psycopg2
    raw = psycopg2.extensions.new_type((20, 21, 23, 25, 1043, 1082, 1700), "RAW",
                                       lambda v, cur: v)
    psycopg2.extensions.register_type(raw, c)
    c.autocommit = True
    return c


def pg_rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


@test
def same_rows_through_postgresql_and_rest():
    lake = Lake(settings=QUIET).start()
    try:
        lake.ingest_sample(400, 5)
        rest_rows(lake, "CREATE TABLE mart.doses AS SELECT state, cvx_code, ssn, first_name, "
                        "dose_number FROM raw.immunizations")
        state = rest_rows(lake, "SELECT state FROM raw.immunizations GROUP BY 1 "
                                "ORDER BY count(*) DESC, 1 LIMIT 1")[0][0]
        for u in USERS:
            lake.json("POST", "/v1/users", {"name": u, "password": u + "-password"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "gold"}, want=201)
        lake.json("POST", "/v1/roles", {"name": "epidemiology"}, want=201)
        lake.json("PUT", "/v1/roles/epidemiology/members/epi", want=204)
        lake.json("POST", "/v1/grants", {"principal": "epidemiology", "select": "raw",
                                         "row_filter": f"state = '{state}'"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "steward", "select": "raw"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "steward", "clearance": "pii"}, want=201)

        queries = {
            "analyst": [
                "SELECT state, cvx_code, ssn, first_name, dose_number FROM mart.doses "
                "ORDER BY ALL",
                "SELECT ssn, count(*) FROM mart.doses GROUP BY 1 ORDER BY 1",
                "SELECT count(*) FROM mart.doses WHERE ssn = '***'",
            ],
            "epi": [
                "SELECT state, ssn, cvx_code, date_of_birth FROM raw.immunizations ORDER BY ALL",
                "SELECT state, count(*) FROM raw.immunizations GROUP BY 1",
            ],
            "steward": [
                "SELECT ssn, first_name, state FROM raw.immunizations ORDER BY ALL",
                "SELECT state, count(*) FROM raw.immunizations GROUP BY 1 ORDER BY 1",
            ],
        }
        seen = {}
        for user, sqls in queries.items():
            conn = pg_connect(lake, user)
            try:
                for sql in sqls:
                    via_rest = rest_rows(lake, sql, user)
                    via_pg = pg_rows(conn, sql)
                    check(via_rest, f"{user}: {sql} returned rows")
                    eq(via_pg, via_rest, f"{user}: {sql}: PostgreSQL and REST")
                    seen[(user, sql)] = via_pg
            finally:
                conn.close()
        # the scenario really masks and filters, on both paths
        eq(seen[("analyst", queries["analyst"][2])], [("400",)],
           "a filter on a masked column compares the masked value")
        an = seen[("analyst", queries["analyst"][0])]
        check(all(r[2] == "***" and r[3] == "***" for r in an), "analyst: PII redacted")
        epi = seen[("epi", queries["epi"][1])]
        eq([r[0] for r in epi], [state], "epi: one state")
        check(all(r[1] == "***" for r in seen[("epi", queries["epi"][0])]), "epi: PII masked")
        check(any(r[0] not in (None, "***") for r in seen[("steward", queries["steward"][0])]),
              "steward: PII in clear")

        # denied: 42501 over PostgreSQL, 403 over REST, both audited
        conn = pg_connect(lake, "analyst")
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute("SELECT ssn FROM raw.immunizations")
                    raise AssertionError("analyst read raw.immunizations over PostgreSQL")
                except psycopg2.Error as e:
                    eq(e.pgcode, "42501", f"SQLSTATE: {e}")
            eq(pg_rows(conn, "SELECT count(*) FROM mart.doses"), [("400",)],
               "the session goes on after the refusal")
        finally:
            conn.close()
        rest_rows(lake, "SELECT ssn FROM raw.immunizations", "analyst", want=403)
        denied = [a for a in lake.audit_lines()
                  if a.get("event") == "query" and a.get("principal") == "analyst"
                  and "raw.immunizations" in a.get("sql", "") and a.get("outcome") == "FAILED"]
        eq(sorted(a.get("via") for a in denied), ["pg", "rest"], "both refusals audited")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""System catalogs per principal, through POST /v1/query, in the governance
scenario (an analyst with SELECT on gold, an epidemiologist through a role on
raw with a row filter, a steward with PII clearance): information_schema,
pg_catalog and duckdb_tables() list only the tables and columns each may
read, with the types their queries return; no view and no view SQL shows;
psql-style catalog queries work; two principals asking at once each see
their own catalog."""
import base64
import json
import threading

from tarnlib import Lake, check, eq, run, test

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


def rows(lake, sql, auth=None):
    return [tuple(r) for r in q(lake, sql, auth)["rows"]]


TABLES = "SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL"
COLUMNS = ("SELECT column_name, data_type FROM information_schema.columns "
           "WHERE table_schema = '{s}' AND table_name = '{t}' ORDER BY ordinal_position")
# what psql's \dt asks (without the functions DuckDB lacks)
PSQL_DT = ("SELECT n.nspname AS \"Schema\", c.relname AS \"Name\", "
           "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END AS \"Type\" "
           "FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n "
           "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', '') "
           "AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' "
           "AND n.nspname !~ '^pg_toast' ORDER BY 1, 2")
# what psql's \d TABLE asks for the columns, roughly
PSQL_D = ("SELECT a.attname, a.attnum FROM pg_catalog.pg_attribute a "
          "JOIN pg_catalog.pg_class c ON a.attrelid = c.oid "
          "JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid "
          "WHERE c.relname = '{t}' AND n.nspname = '{s}' AND a.attnum > 0 "
          "AND NOT a.attisdropped ORDER BY a.attnum")
# views, their SQL, other catalogs: never there for anyone
NOTHING = [
    "SELECT count(*) FROM information_schema.views",
    "SELECT count(*) FROM pg_catalog.pg_views",
    "SELECT count(*) FROM duckdb_views()",
    "SELECT count(*) FROM sqlite_master WHERE type <> 'table'",
    "SELECT count(pg_get_viewdef(o)) FROM (SELECT unnest(range(0, 20000)) AS o)",
    # the catalog is named after the lake ("lake", from its folder)
    "SELECT count(*) FROM duckdb_databases() WHERE database_name <> 'lake' OR path IS NOT NULL",
    "SELECT count(*) FROM information_schema.tables WHERE table_catalog <> 'lake' "
    "OR table_type <> 'BASE TABLE'",
    "SELECT count(*) FROM duckdb_tables() WHERE sql LIKE '%read_%' OR sql LIKE '%/%'",
]


def scenario(lake):
    lake.ingest_sample(300, 7)
    q(lake, "CREATE TABLE mart.doses AS SELECT state, cvx_code, ssn, first_name, "
            "dose_number FROM raw.immunizations")
    state = q(lake, "SELECT state FROM raw.immunizations GROUP BY 1 ORDER BY count(*) DESC "
                    "LIMIT 1")["rows"][0][0]
    for u in ("analyst", "epi", "steward"):
        lake.json("POST", "/v1/users", {"name": u, "password": u + "-password"}, want=201)
    lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "gold"}, want=201)
    lake.json("POST", "/v1/roles", {"name": "epidemiology"}, want=201)
    lake.json("PUT", "/v1/roles/epidemiology/members/epi", want=204)
    lake.json("POST", "/v1/grants", {"principal": "epidemiology", "select": "raw",
                                     "row_filter": f"state = '{state}'"}, want=201)
    lake.json("POST", "/v1/grants", {"principal": "steward", "select": "raw"}, want=201)
    lake.json("POST", "/v1/grants", {"principal": "steward", "clearance": "pii"}, want=201)
    return state, {u: basic(u, u + "-password") for u in ("analyst", "epi", "steward")}


@test
def catalogs_per_principal():
    lake = Lake(settings=QUIET).start()
    try:
        state, who = scenario(lake)
        an, epi, st = who["analyst"], who["epi"], who["steward"]
        # the admin reads raw.immunizations first: its unsecured view sits in a connection
        q(lake, "SELECT count(*) FROM raw.immunizations")
        admin_tables = rows(lake, TABLES)
        for t in [("raw", "immunizations"), ("bronze", "immunizations"), ("mart", "doses"),
                  ("gold", "doses")]:
            check(t in admin_tables, f"admin: {t} in {admin_tables}")
        # the analyst: mart (and its alias gold) only
        eq(rows(lake, TABLES, an), [("gold", "doses"), ("mart", "doses")], "analyst's tables")
        # PostgreSQL's catalogs list each table once, under its zone (not the alias)
        eq(rows(lake, PSQL_DT, an), [("mart", "doses", "table")], "analyst's \\dt")
        eq([r[0] for r in rows(lake, "SELECT tablename FROM pg_tables", an)], ["doses"],
           "analyst's pg_tables")
        eq(rows(lake, "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL", an),
           [("gold", "doses"), ("mart", "doses")], "analyst's duckdb_tables()")
        doses = rows(lake, COLUMNS.format(s="mart", t="doses"), an)
        eq([c[0] for c in doses], ["state", "cvx_code", "ssn", "first_name", "dose_number"],
           "analyst's columns")
        eq([r[0] for r in rows(lake, PSQL_D.format(s="mart", t="doses"), an)],
           [c[0] for c in doses], "analyst's \\d mart.doses")
        # the types are those the analyst's queries return
        got = q(lake, "SELECT * FROM mart.doses LIMIT 1", an)["columns"]
        eq([(c["name"], c["type"]) for c in got], doses, "types of the view")
        check(not any(r for r in rows(lake, "SELECT 1 FROM information_schema.columns WHERE "
                                            "table_name = 'immunizations'", an)), "no raw")
        # epi: raw (and bronze); every column, PII ones as the mask returns them
        eq(rows(lake, TABLES, epi), [("bronze", "immunizations"), ("raw", "immunizations")],
           "epi's tables")
        epi_cols = rows(lake, COLUMNS.format(s="raw", t="immunizations"), epi)
        admin_cols = rows(lake, COLUMNS.format(s="raw", t="immunizations"))
        eq([c[0] for c in epi_cols], [c[0] for c in admin_cols], "epi reads every column")
        got = q(lake, "SELECT * FROM raw.immunizations LIMIT 0", epi)["columns"]
        eq([(c["name"], c["type"]) for c in got], epi_cols, "epi's types are the view's")
        changed = [(a, e) for a, e in zip(admin_cols, epi_cols) if a != e]
        for a, e in changed:
            eq(e[1], "VARCHAR", f"masked column {a[0]} ({a[1]}) reads as VARCHAR")
        # the steward: raw, unmasked types (the admin's)
        eq(rows(lake, COLUMNS.format(s="raw", t="immunizations"), st), admin_cols, "steward")
        # schemas: the zones and their aliases, nothing else
        schemas = [r[0] for r in rows(lake, "SELECT schema_name FROM information_schema.schemata "
                                            "ORDER BY 1", an)]
        eq(schemas, sorted(["raw", "transient", "master", "drop", "sandbox", "log", "stage",
                            "cleanse", "core", "mart", "references", "bronze", "silver",
                            "gold"]), "schemata")
        # pg_namespace as PostgreSQL's: pg_catalog and information_schema too, no alias
        eq(rows(lake, "SELECT nspname FROM pg_namespace ORDER BY 1", epi),
           sorted([(s,) for s in schemas + ["pg_catalog", "information_schema"]
                   if s not in ("bronze", "silver", "gold")]), "pg_namespace")
        eq(rows(lake, "SELECT current_database(), datname FROM pg_database", an),
           [("lake", "lake")], "one catalog")
        for sql in NOTHING:
            for auth in (an, epi, st, None):
                eq(rows(lake, sql, auth), [(0,)], f"{sql} ({'admin' if auth is None else ''})")
        # a column grant narrows the catalog at once; a revoke empties it
        gid = [g["id"] for g in lake.json("GET", "/v1/grants?principal=analyst")["grants"]][0]
        lake.json("DELETE", f"/v1/grants/{gid}", want=204)
        eq(rows(lake, TABLES, an), [], "revoked")
        lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "mart.doses",
                                         "columns": ["state", "cvx_code"]}, want=201)
        eq(rows(lake, TABLES, an), [("gold", "doses"), ("mart", "doses")], "one table again")
        eq(rows(lake, COLUMNS.format(s="mart", t="doses"), an),
           [("state", "VARCHAR"), ("cvx_code", "VARCHAR")], "granted columns only")
        eq(rows(lake, "SELECT count(*) FROM pg_attribute WHERE attname IN ('ssn', "
                      "'first_name', 'dose_number')", an), [(0,)], "pg_attribute")
        # not offered: settings, logs, DuckDB's own lists, other catalogs
        for sql, word in [("SELECT * FROM pg_catalog.pg_settings", "pg_settings"),
                          ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
                          ("SELECT * FROM duckdb_functions()", "duckdb_functions"),
                          ("SELECT * FROM system.information_schema.tables", "system table"),
                          ("SELECT * FROM q0.raw.immunizations", "catalog-qualified"),
                          ("SELECT * FROM cat0.raw.immunizations", "catalog-qualified")]:
            err = q(lake, sql, an, want=403)["error"]
            check(word in err["message"], f"{sql}: {err}")
        # two principals asking at once each see their own catalog
        errors = []

        def ask(auth, want):
            try:
                for _ in range(15):
                    got_ = rows(lake, TABLES, auth)
                    if got_ != want:
                        errors.append((want, got_))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=ask, args=(an, [("gold", "doses"), ("mart", "doses")])),
                   threading.Thread(target=ask, args=(epi, [("bronze", "immunizations"),
                                                           ("raw", "immunizations")])),
                   threading.Thread(target=ask, args=(None, admin_tables))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eq(errors, [], "concurrent catalogs")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""The bypass corpus: statements a non-admin might try to reach unmasked PII or
rows outside their filter.  Each must be refused (4xx) or return only masked,
filtered data: no real SSN and no row of another state may appear in any
answer.  The user holds SELECT on raw.imm with the row filter state = 'DE'
and no PII clearance."""
import base64
import json
import os

from tarnlib import Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
SSNS = ["123-45-6789", "987-65-4321", "555-12-3456", "222-33-4444"]
ROWS = [(1, "DE", SSNS[0]), (2, "DE", SSNS[1]), (3, "NY", SSNS[2]), (4, "CA", SSNS[3])]
# markers only the other states' rows carry
FORBIDDEN_IDS = ["\"id\": 3", "\"id\": 4", "NY", "CA"]

CORPUS = [
    # file-reading and table functions
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_json('{d}/01-raw-data-zone/imm/a.json')",
    "SELECT * FROM read_json_auto('{d}/01-raw-data-zone/imm/a.json')",
    "SELECT * FROM read_ndjson_objects('{d}/01-raw-data-zone/imm/a.json')",
    "SELECT * FROM read_parquet('{d}/x.parquet')",
    "SELECT * FROM parquet_scan('{d}/x.parquet')",
    "SELECT * FROM parquet_metadata('{d}/x.parquet')",
    "SELECT * FROM read_text('{d}/01-raw-data-zone/imm/a.json')",
    "SELECT * FROM read_blob('{d}/.tarn/master.key')",
    "SELECT * FROM glob('{d}/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM query_table('raw.imm')",
    "SELECT * FROM query('SELECT 1')",
    "FROM read_text('/etc/passwd')",
    "SELECT * FROM '{d}/01-raw-data-zone/imm/a.json'",
    "SELECT * FROM \"{d}/01-raw-data-zone/imm/a.json\"",
    "SELECT * FROM raw.imm, LATERAL read_csv('/etc/passwd')",
    "SELECT * FROM raw.imm i JOIN read_json('{d}/01-raw-data-zone/imm/a.json') j ON true",
    # statements that are not queries
    "ATTACH '{d}/.tarn/meta.db' AS m (TYPE sqlite)",
    "ATTACH ':memory:' AS x",
    "DETACH q0",
    "USE q1",
    "COPY (SELECT * FROM raw.imm) TO '/tmp/bypass.csv'",
    "COPY raw.imm TO '/tmp/bypass.csv'",
    "COPY raw.imm FROM '/etc/passwd'",
    "EXPORT DATABASE '/tmp/bypass'",
    "IMPORT DATABASE '/tmp/bypass'",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "CREATE VIEW v AS SELECT 1",
    "CREATE MACRO m(x) AS x",
    "CREATE TABLE t AS SELECT * FROM raw.imm",
    "CREATE TABLE mart.leak AS SELECT ssn FROM raw.imm",
    "INSERT INTO raw.imm VALUES (9, 'DE', 'x')",
    "UPDATE raw.imm SET state = 'DE'",
    "DELETE FROM raw.imm",
    "DROP VIEW raw.imm",
    "DROP TABLE raw.imm",
    "ALTER VIEW raw.imm RENAME TO x",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN",
    "PREPARE p AS SELECT ssn FROM raw.imm",
    "EXECUTE p",
    "SUMMARIZE raw.imm",
    "DESCRIBE raw.imm",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    # several statements, comments and case tricks
    "SELECT 1; SELECT * FROM read_csv('/etc/passwd')",
    "SELECT 1; ATTACH ':memory:' AS x",
    "/* hi */ sElEcT * FrOm ReAd_CsV('/etc/passwd')",
    "SELECT 1 -- \n; COPY raw.imm TO '/tmp/x.csv'",
    "EXPLAIN SELECT * FROM read_csv('/etc/passwd')",
    "EXPLAIN ANALYZE SELECT * FROM read_csv('/etc/passwd')",
    # the unmasked sources: other connections' views, system catalogs
    "SELECT * FROM q0.raw.imm",
    "SELECT * FROM q1.raw.imm",
    "SELECT * FROM \"q0\".\"raw\".\"imm\"",
    "SELECT * FROM memory.main.imm",
    "SELECT * FROM system.main.duckdb_tables",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_views()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_functions()",
    "SELECT sql FROM duckdb_views() WHERE view_name = 'imm'",
    "SELECT 1 UNION ALL SELECT sql FROM duckdb_views()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM pragma_table_info('raw.imm')",
    "SELECT current_setting('allowed_directories')",
    # shadowing and every shape of reading the masked table
    "WITH imm AS (SELECT 1 AS ssn) SELECT * FROM raw.imm",
    "WITH raw AS (SELECT 1) SELECT * FROM raw.imm",
    "SELECT * FROM (SELECT * FROM raw.imm) AS imm",
    "SELECT * FROM raw.imm",
    "SELECT * FROM \"raw\".\"imm\"",
    "SELECT * FROM bronze.imm",
    "SELECT * FROM imm",
    "SELECT ssn FROM raw.imm WHERE ssn = '123-45-6789'",
    "SELECT count(*) FROM raw.imm WHERE ssn LIKE '123%'",
    "SELECT ssn, count(*) FROM raw.imm GROUP BY ssn",
    "SELECT a.ssn FROM raw.imm a JOIN raw.imm b ON a.ssn = b.ssn",
    "SELECT list(ssn) FROM raw.imm",
    "SELECT string_agg(ssn, ',') FROM raw.imm",
    "SELECT max(ssn) OVER (PARTITION BY state) FROM raw.imm",
    "SELECT (SELECT max(ssn) FROM raw.imm)",
    "SELECT unnest([ssn]) FROM raw.imm",
    "SELECT md5(ssn), length(ssn) FROM raw.imm",
    "SELECT * FROM raw.imm WHERE state = 'NY'",
    "SELECT * FROM raw.imm WHERE state <> 'DE' OR true",
    "SELECT state, count(*) FROM raw.imm GROUP BY state",
    "SELECT * FROM raw.imm USING SAMPLE 100%",
    "SELECT * FROM raw.imm TABLESAMPLE 100%",
    "PIVOT raw.imm ON state USING first(ssn)",
    "SELECT __tarn_file FROM raw.imm",
    "SELECT * FROM raw.imm AT (VERSION => 1)",
    "SELECT * FROM raw.imm, raw.imm x, raw.imm y",
    "SELECT getvariable('x')",
]


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


@test
def bypass_corpus():
    lake = Lake(settings=QUIET)
    folder = os.path.join(lake.dir, "01-raw-data-zone", "imm")
    os.makedirs(folder)
    with open(os.path.join(folder, "a.json"), "w") as f:
        for i, st, ssn in ROWS:
            f.write(json.dumps({"id": i, "state": st, "ssn": ssn}) + "\n")
    lake.start()
    try:
        lake.json("POST", "/v1/crawl")
        desc = lake.json("GET", "/v1/catalog/tables/raw.imm")
        check(any(c["name"] == "ssn" and c["pii"] for c in desc["columns"]), desc["columns"])
        lake.json("POST", "/v1/users", {"name": "eve", "password": "eve-password"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "eve", "select": "raw.imm",
                                         "row_filter": "state = 'DE'"}, want=201)
        auth = basic("eve", "eve-password")
        # the control: the grant works, masked and filtered
        st, _, body = lake.request("POST", "/v1/query", {"sql": "SELECT id, ssn FROM raw.imm "
                                                         "ORDER BY id"}, auth=auth)
        eq((st, json.loads(body)["rows"]), (200, [[1, "***"], [2, "***"]]), "control")
        refused = answered = 0
        statements = [s.replace("{d}", lake.dir) for s in CORPUS]
        statements.append("SELECT " + " + ".join(["1"] * 200000))           # very long
        statements.append("SELECT " + "(" * 3000 + "1" + ")" * 3000)        # deeply nested
        for sql in statements:
            st, _, body = lake.request("POST", "/v1/query", {"sql": sql}, auth=auth)
            text = body.decode("utf-8", "replace")
            if st == 200:
                doc = json.loads(body)
                text = json.dumps(doc["rows"])  # the answer echoes the SQL: judge the rows
            for secret in SSNS:
                if secret not in sql:
                    check(secret not in text, f"{sql!r} leaked {secret}: {text[:300]}")
            if st == 200:
                answered += 1
                for secret in SSNS:
                    check(secret not in text, f"{sql!r} leaked {secret}: {text[:300]}")
                for row in doc["rows"]:
                    rendered = json.dumps(row)
                    for m in ("NY", "CA"):
                        check(m not in rendered, f"{sql!r} showed a row of {m}: {rendered}")
                    check(3 not in row and 4 not in row or "count" in sql or "length" in sql
                          or "+" in sql, f"{sql!r}: {rendered}")
            else:
                check(400 <= st < 500 or st == 501, f"{sql!r}: status {st}: {text[:200]}")
                refused += 1
        check(len(statements) >= 60, len(statements))
        # invalid UTF-8, as raw bytes in a text/plain body
        st, _, body = lake.request("POST", "/v1/query", b"SELECT '\xff\xfe' FROM raw.imm",
                                   auth=auth, headers={"Content-Type": "text/plain"})
        eq(st, 400, "invalid UTF-8 is refused")
        check("UTF-8" in json.loads(body)["error"]["message"], body)
        # nothing was written by any of them
        check(not os.path.exists("/tmp/bypass.csv") and not os.path.exists("/tmp/x.csv"),
              "a file was written")
        check(not os.path.exists(os.path.join(lake.dir, "warehouse", "mart", "leak")), "leak")
        print(f"# {len(statements)} statements: {refused} refused, {answered} answered "
              "with masked, filtered rows")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

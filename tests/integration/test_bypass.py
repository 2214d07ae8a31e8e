#!/usr/bin/env python3
"""The bypass corpus: statements a non-admin might try to reach unmasked PII or
rows outside their filter.  Each must be refused (4xx) or return only masked,
filtered data: no real SSN and no row of another state may appear in any
answer.  The user holds SELECT on raw.imm with the row filter state = 'DE'
and no PII clearance."""
import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time

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

# tarn's own functions serve its secured views only.  tarn_mask_hash is the
# hash mask, keyed with the lake's secret: a user calling it could build the
# table of digests of every SSN and read any masked column back.  Each of
# these must be refused by the guard (403, naming the function).
KEYED = [
    "SELECT tarn_mask_hash('123-45-6789')",
    "SELECT TARN_MASK_HASH(ssn) FROM raw.imm",
    "SELECT Tarn_Mask_Hash(ssn) FROM raw.imm",
    "SELECT \"tarn_mask_hash\"(ssn) FROM raw.imm",
    "SELECT \"TARN_MASK_HASH\"('123-45-6789')",
    "SELECT main.tarn_mask_hash('123-45-6789')",
    "SELECT system.main.tarn_mask_hash('123-45-6789')",
    "SELECT ('123-45-6789').tarn_mask_hash()",
    "SELECT ssn.tarn_mask_hash() FROM raw.imm",
    "SELECT /* c */ tarn_mask_hash /* c */ ('1')",
    "SELECT tarn_mask_hash\n('1')",
    "WITH s AS (SELECT '123-45-6789' AS v) SELECT tarn_mask_hash(v) FROM s",
    "WITH s AS MATERIALIZED (SELECT tarn_mask_hash('1') AS h) SELECT h FROM s",
    "WITH RECURSIVE r(n, h) AS (SELECT 0, '' UNION ALL SELECT n + 1, tarn_mask_hash(n::VARCHAR) "
    "FROM r WHERE n < 3) SELECT * FROM r",
    "SELECT list_transform(['123-45-6789', '987-65-4321'], x -> tarn_mask_hash(x))",
    "SELECT list_transform(['1'], lambda x: tarn_mask_hash(x))",
    "SELECT [tarn_mask_hash(x) FOR x IN ['123-45-6789']]",
    "SELECT list_filter(['1'], x -> tarn_mask_hash(x) > '')",
    "SELECT list_reduce(['1', '2'], (a, b) -> tarn_mask_hash(a || b))",
    "SELECT * FROM raw.imm WHERE ssn = tarn_mask_hash('123-45-6789')",
    "SELECT id FROM raw.imm ORDER BY tarn_mask_hash(state)",
    "SELECT state FROM raw.imm GROUP BY state HAVING max(tarn_mask_hash(state)) > ''",
    "SELECT tarn_mask_hash(ssn) OVER () FROM raw.imm",
    "SELECT count(*) FILTER (WHERE tarn_mask_hash(ssn) > '') FROM raw.imm",
    "SELECT (SELECT tarn_mask_hash('1'))",
    "SELECT 1 WHERE EXISTS (SELECT tarn_mask_hash('1'))",
    "SELECT 'x' UNION ALL SELECT tarn_mask_hash('1')",
    "VALUES (tarn_mask_hash('1'))",
    "SELECT * FROM (VALUES (tarn_mask_hash('1'))) t(h)",
    "FROM raw.imm SELECT tarn_mask_hash(ssn)",
    "SELECT TRY(tarn_mask_hash('1'))",
    "SELECT coalesce(NULL, tarn_mask_hash('1'))",
    "SELECT CASE WHEN true THEN tarn_mask_hash('1') END",
    "SELECT tarn_mask_hash(COLUMNS('ssn')) FROM raw.imm",
    "SELECT tarn_mask_hash(CAST(123456789 AS VARCHAR))",
    "SELECT {'h': tarn_mask_hash('1')}",
    "SELECT * FROM raw.imm PIVOT (max(tarn_mask_hash(ssn)) FOR state IN ('DE'))",
    "EXPLAIN SELECT tarn_mask_hash('123-45-6789')",
    "EXPLAIN ANALYZE SELECT tarn_mask_hash('123-45-6789')",
    "SELECT tarn_mask_hash_v2('1')",
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
        statements = [s.replace("{d}", lake.dir) for s in CORPUS + KEYED]
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
                          or "+" in sql or CATALOG_SQL.search(sql), f"{sql!r}: {rendered}")
            else:
                check(400 <= st < 500 or st == 501, f"{sql!r}: status {st}: {text[:200]}")
                refused += 1
            if sql in KEYED:
                eq(st, 403, f"{sql!r} ({text[:200]})")
                check("tarn_mask_hash" in text and "internal functions" in text, text[:300])
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
        # the hash mask: eve reads HMAC-SHA256 digests under the key derived from the
        # lake's master key (never the plain SHA-256), stable across queries
        lake.json("PUT", "/v1/masks/pii", {"mask": "hash"}, want=204)
        with open(os.path.join(lake.dir, ".tarn", "master.key"), "rb") as f:
            k = hmac.new(f.read(), b"tarn mask key v1", hashlib.sha256).digest()
        sql = "SELECT id, ssn FROM raw.imm ORDER BY id"
        for _ in range(2):
            st, _, body = lake.request("POST", "/v1/query", {"sql": sql}, auth=auth)
            eq(st, 200, body[:200])
            rows = json.loads(body)["rows"]
            eq(rows, [[i, hmac.new(k, s.encode(), hashlib.sha256).hexdigest()]
                      for i, _, s in ROWS[:2]], "hashed")
            for _, h in rows:
                check(re.fullmatch(r"[0-9a-f]{64}", h), h)
                check(h not in [hashlib.sha256(s.encode()).hexdigest() for s in SSNS], h)
        # the keyed function stays refused while the mask uses it
        for sql in KEYED[:3]:
            eq(lake.request("POST", "/v1/query", {"sql": sql}, auth=auth)[0], 403, sql)
        # the corpus again under the hash mask: still no SSN, no other state's row
        for sql in statements:
            st, _, body = lake.request("POST", "/v1/query", {"sql": sql}, auth=auth)
            if st != 200:
                check(400 <= st < 500 or st == 501, f"hash mask: {sql!r}: status {st}")
                continue
            text = json.dumps(json.loads(body)["rows"])
            for secret in SSNS:
                check(secret not in text, f"hash mask: {sql!r} leaked {secret}: {text[:300]}")
            for m in ("NY", "CA"):
                check(m not in text, f"hash mask: {sql!r} showed a row of {m}: {text[:300]}")
        lake.json("PUT", "/v1/masks/pii", {"mask": "redact"}, want=204)
        print(f"# {len(statements)} statements: {refused} refused, {answered} answered "
              "with masked, filtered rows; again under the hash mask")
    finally:
        lake.stop()


# System catalogs: they show each principal only what it may read.  eve
# (raw.imm: id, state, ssn) must never see raw.hidden (column diagnosis),
# whose unsecured view the admin's queries leave in other connections'
# databases, nor any view's SQL (file paths, the row filter), nor tarn's
# internal names.  Each statement is refused or answers with eve's own catalog.
CATALOG_SQL = re.compile(r"information_schema|pg_|duckdb_|sqlite_|pragma_", re.I)
SYSCAT = [
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM INFORMATION_SCHEMA.TABLES",
    "SELECT * FROM \"information_schema\".\"tables\"",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM information_schema.schemata",
    "SELECT view_definition FROM information_schema.views",
    "SELECT * FROM system.information_schema.tables",
    "SELECT * FROM temp.information_schema.tables",
    "SELECT * FROM memory.information_schema.tables",
    "SELECT * FROM q0.information_schema.tables",
    "SELECT * FROM duckdb_tables()",
    "SELECT sql FROM duckdb_tables()",
    "SELECT sql FROM duckdb_views()",
    "SELECT * FROM duckdb_columns()",
    "SELECT * FROM duckdb_columns",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM duckdb_schemas()",
    "SELECT * FROM main.duckdb_tables()",
    "SELECT * FROM system.main.duckdb_tables()",
    "SELECT * FROM duckdb_tables(1)",
    "SELECT * FROM duckdb_functions()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_logs",
    "SELECT * FROM q0.raw.hidden",
    "SELECT * FROM q1.raw.hidden",
    "SELECT * FROM q3.raw.hidden",
    "SELECT * FROM cat0.raw.hidden",
    "SELECT * FROM cat1.raw.imm",
    "SELECT * FROM raw.hidden",
    "SELECT * FROM pg_class",
    "SELECT * FROM pg_catalog.pg_class",
    "SELECT * FROM pg_catalog.pg_attribute",
    "SELECT * FROM pg_namespace",
    "SELECT * FROM pg_views",
    "SELECT definition FROM pg_catalog.pg_views",
    "SELECT * FROM pg_tables",
    "SELECT * FROM pg_description",
    "SELECT * FROM pg_database",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT proname, prosqlbody FROM pg_catalog.pg_proc WHERE proname LIKE 'tarn%'",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM pragma_database_list",
    "SELECT relname FROM pg_class UNION ALL SELECT ssn FROM raw.imm",
    "SELECT table_name FROM information_schema.tables UNION SELECT table_name FROM duckdb_tables()",
    "SELECT * FROM raw.imm, information_schema.columns",
    "WITH t AS (SELECT * FROM information_schema.tables) SELECT * FROM t",
    "SELECT (SELECT string_agg(sql, ';') FROM duckdb_tables())",
    "SELECT * FROM (SELECT * FROM pg_catalog.pg_attribute) a WHERE attname <> ''",
    "SELECT pg_get_viewdef(o) FROM (SELECT unnest(range(0, 20000)) AS o) "
    "WHERE pg_get_viewdef(o) IS NOT NULL",
    "SELECT pg_get_viewdef(oid) FROM pg_class",
    "SELECT current_database(), current_catalog()",
    "EXPLAIN SELECT * FROM information_schema.tables",
    "DESCRIBE raw.hidden",
    "SHOW TABLES",
    # PostgreSQL's catalogs (query/pgcat.c): the rewrite, the series the guard allows,
    # the functions that read the catalog image
    "SELECT * FROM unnest((SELECT list(diagnosis) FROM raw.hidden))",
    "SELECT * FROM generate_series(1, (SELECT count(*) FROM raw.hidden))",
    "SELECT * FROM pg_catalog.generate_series(1, 2) s, raw.hidden",
    "SELECT * FROM range((SELECT pid FROM raw.hidden))",
    "SELECT * FROM unnest(['a']) u, LATERAL (SELECT diagnosis FROM raw.hidden) h",
    "SELECT relname, obj_description(oid), obj_description(oid, 'pg_class') "
    "FROM pg_catalog.pg_class",
    "SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, attnum) "
    "FROM pg_catalog.pg_attribute",
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) 'hid' "
    "COLLATE pg_catalog.default",
    "SELECT x::pg_catalog.regclass::pg_catalog.text FROM generate_series(1, 5) t(x)",
    "SELECT to_regclass('raw.hidden'), 'raw.hidden'::regclass, "
    "'raw.hidden'::pg_catalog.regclass",
    "SELECT * FROM pg_catalog /* c */ . pg_settings",
    "SELECT * FROM \"pg_catalog\".\"pg_settings\"",
    "SELECT * FROM pg_settings",
    "SELECT * FROM pg_catalog.pg_proc WHERE proname LIKE 'tarn%'",
    "SELECT rolname FROM pg_catalog.pg_roles UNION ALL SELECT usename FROM pg_catalog.pg_user",
    "SELECT * FROM pg_catalog.pg_description",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT datname FROM pg_catalog.pg_database",
    "SELECT version(), current_schema(), current_schemas(true), current_database()",
]


@test
def syscat_corpus():
    lake = Lake(settings=QUIET)
    for name, text in [("imm", "".join(json.dumps({"id": i, "state": st, "ssn": ssn}) + "\n"
                                       for i, st, ssn in ROWS)),
                       ("hidden", json.dumps({"pid": 1, "diagnosis": "flu"}) + "\n")]:
        os.makedirs(os.path.join(lake.dir, "01-raw-data-zone", name))
        with open(os.path.join(lake.dir, "01-raw-data-zone", name, "a.json"), "w") as f:
            f.write(text)
    lake.start()
    try:
        lake.json("POST", "/v1/crawl")
        lake.json("POST", "/v1/users", {"name": "eve", "password": "eve-password"}, want=201)
        lake.json("POST", "/v1/grants", {"principal": "eve", "select": "raw.imm",
                                         "row_filter": "state = 'DE'"}, want=201)
        auth = basic("eve", "eve-password")
        # the admin's views of raw.hidden in several connections: slow queries hold the
        # first ones while it is read on the next, and once more on the first
        slow = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r " \
               "WHERE i < 100000000) SELECT count(*) FROM r"
        threads = [threading.Thread(target=lake.request, args=("POST", "/v1/query",
                                                               {"sql": slow, "timeout": 2}))
                   for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        eq(lake.json("POST", "/v1/query", {"sql": "SELECT diagnosis FROM raw.hidden"})["rows"],
           [["flu"]], "admin reads raw.hidden")
        for t in threads:
            t.join()
        lake.json("POST", "/v1/query", {"sql": "SELECT * FROM raw.hidden"})
        forbidden = ["hidden", "diagnosis", "flu", lake.dir, "read_json", "'DE'", "__tarn",
                     "tarn_mask"] + SSNS
        refused = answered = 0
        for sql in SYSCAT:
            st, _, body = lake.request("POST", "/v1/query", {"sql": sql}, auth=auth)
            if st != 200:
                check(400 <= st < 500, f"{sql!r}: status {st}: {body[:200]}")
                refused += 1
                continue
            answered += 1
            text = json.dumps(json.loads(body)["rows"])
            for word in forbidden:
                check(word not in text, f"{sql!r} showed {word!r}: {text[:400]}")
        # what eve's catalog holds: raw.imm (and its alias), its three columns
        st, _, body = lake.request("POST", "/v1/query", {
            "sql": "SELECT DISTINCT table_name, column_name FROM information_schema.columns "
                   "ORDER BY ALL"}, auth=auth)
        eq((st, json.loads(body)["rows"]), (200, [["imm", "id"], ["imm", "ssn"],
                                                  ["imm", "state"]]), "eve's columns")
        # PostgreSQL's catalogs: raw.hidden's OID names nothing for eve, the roles are hers
        hidden = lake.json("POST", "/v1/query", {"sql": "SELECT 'raw.hidden'::regclass"})
        hidden = hidden["rows"][0][0]
        check(hidden, "the admin finds raw.hidden")
        for _ in range(3):
            lake.json("POST", "/v1/query", {"sql": "SELECT count(*) FROM pg_catalog.pg_class"})
            st, _, body = lake.request("POST", "/v1/query", {
                "sql": f"SELECT to_regclass('raw.hidden'), (SELECT count(*) FROM pg_attribute "
                       f"WHERE attrelid = {hidden}), col_description({hidden}, 1), "
                       "pg_get_userbyid(16385)"}, auth=auth)
            eq((st, json.loads(body)["rows"]), (200, [[None, 0, None, "eve"]]),
               "raw.hidden through PostgreSQL's catalogs")
        st, _, body = lake.request("POST", "/v1/query", {
            "sql": "SELECT rolname FROM pg_catalog.pg_roles ORDER BY 1"}, auth=auth)
        eq((st, json.loads(body)["rows"]), (200, [["eve"], ["tarn"]]), "eve's pg_roles")
        check(answered >= 25 and refused >= 20, (answered, refused))
        print(f"# {len(SYSCAT)} catalog statements: {refused} refused, {answered} answered "
              "with eve's own catalog")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

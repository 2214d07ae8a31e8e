#!/usr/bin/env python3
"""PostgreSQL's catalogs as clients read them (query/pgcat.c).

Every statement psql, pgjdbc, psqlODBC and Tableau were seen to send at
connect and while browsing (captured from the real clients against
PostgreSQL 15: pg_catalog_queries/*.sql) runs through POST /v1/query, the
core path the PostgreSQL endpoint uses, as the admin, an analyst (SELECT on
mart only) and a steward (raw, with PII clearance).  The rows must be
PostgreSQL's answers for what each principal may read and nothing else: no
other principal's tables or sandbox, no engine internals.  Then the real
clients run against `tarn serve --pg`: psql's \\dt and \\d, the JDBC program
(jdbc/TarnMeta.java, compiled here with javac), isql through psqlODBC, and
psycopg2, whose RowDescription OIDs must be the catalog's."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

from tarnlib import ROOT_PASSWORD, ROOT_USER, Lake, check, eq, run, test

HERE = os.path.dirname(os.path.abspath(__file__))
QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
# the zones, each once under its name: the aliases bronze, silver, gold are not listed
SCHEMAS = sorted(["raw", "transient", "master", "drop", "sandbox", "log", "stage", "cleanse",
                  "core", "mart", "references"])
# PostgreSQL's format_type() of the type tarn reports for a DuckDB type
PG_TYPE = {"VARCHAR": "character varying", "BIGINT": "bigint", "INTEGER": "integer",
           "SMALLINT": "smallint", "DATE": "date", "DOUBLE": "double precision",
           "FLOAT": "real", "BOOLEAN": "boolean", "UUID": "uuid", "JSON": "json",
           "TIMESTAMP": "timestamp without time zone",
           "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "BLOB": "bytea",
           "TIME": "time without time zone", "INTERVAL": "interval"}
INTERNALS = re.compile(r"\b(q|cat)\d+\b|duckdb_|tarn_mask")


def pg_type_of(duck):
    m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", duck)
    if m:
        return f"numeric({m.group(1)},{m.group(2)})"
    if duck.startswith(("STRUCT", "MAP", "UNION")) or duck.endswith("]"):
        return "json"
    return PG_TYPE[duck]


def load(name):
    """The statements of pg_catalog_queries/NAME.sql: {label: sql}."""
    out, label, lines = {}, None, []
    with open(os.path.join(HERE, "pg_catalog_queries", name + ".sql")) as f:
        for line in f:
            if line.startswith("-- name: "):
                if label:
                    out[label] = "".join(lines)
                label, lines = line[9:].strip(), []
            elif label:
                lines.append(line)
    if label:
        out[label] = "".join(lines)
    return out


CLIENTS = {c: load(c) for c in ("psql", "jdbc", "odbc", "tableau")}


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def q(lake, sql, auth=None, want=200):
    st, _, body = lake.request("POST", "/v1/query", {"sql": sql},
                               **({"auth": auth} if auth else {}))
    doc = json.loads(body)
    if st != want:
        raise AssertionError(f"{sql[:300]}: status {st}, want {want}: {doc}")
    return doc


def rows(lake, sql, auth=None):
    return [tuple(r) for r in q(lake, sql, auth)["rows"]]


def fill(sql, schema, table, oid):
    return sql.replace("{schema}", schema).replace("{table}", table).replace("{oid}", str(oid))


def scenario(lake):
    lake.ingest_sample(200, 3)
    q(lake, "CREATE TABLE mart.doses AS SELECT state, cvx_code, ssn, dose_number, "
            "administered_at FROM raw.immunizations")
    users = {"analyst": None, "steward": None, "other": None}
    for u in users:
        lake.json("POST", "/v1/users", {"name": u, "password": u + "-password"}, want=201)
        users[u] = basic(u, u + "-password")
    lake.json("POST", "/v1/grants", {"principal": "analyst", "select": "mart"}, want=201)
    lake.json("POST", "/v1/grants", {"principal": "steward", "select": "raw"}, want=201)
    lake.json("POST", "/v1/grants", {"principal": "steward", "clearance": "pii"}, want=201)
    # another user's sandbox table: only its owner and the admin see it
    q(lake, "CREATE TABLE sandbox.scratch AS SELECT 1 AS secret_column", users["other"])
    return users


def run_all(lake, auth, schema, table):
    """Every captured statement as one principal: {client: {label: doc}}."""
    found = rows(lake, fill(CLIENTS["psql"]["d_lookup"], schema, table, 0), auth)
    oid = found[0][0] if found else 0
    out = {}
    for client, stmts in CLIENTS.items():
        out[client] = {}
        for label, sql in stmts.items():
            out[client][label] = q(lake, fill(sql, schema, table, oid), auth)
    return oid, out


def r(docs, client, label):
    return [tuple(x) for x in docs[client][label]["rows"]]


@test
def catalog_queries_per_principal():
    lake = Lake(settings=QUIET).start()
    try:
        who = scenario(lake)
        an, st = who["analyst"], who["steward"]
        # the steward reads raw.immunizations, the analyst mart.doses
        s_oid, s = run_all(lake, st, "raw", "immunizations")
        a_oid, a = run_all(lake, an, "mart", "doses")
        d_oid, d = run_all(lake, None, "raw", "immunizations")
        check(s_oid and a_oid and d_oid, (s_oid, a_oid, d_oid))
        eq(s_oid, d_oid, "a table's OID is the same for every principal")
        check(a_oid != s_oid, "tables have their own OIDs")

        # psql \l, \dn: one database named after the lake; the zones (no alias)
        for docs in (s, a, d):
            eq([x[:3] for x in r(docs, "psql", "l")], [("lake", "tarn", "UTF8")], "\\l")
            eq([x[0] for x in r(docs, "psql", "dn")], SCHEMAS, "\\dn")
        # \dt: exactly what each may read, each table once (under its zone's name)
        eq(r(a, "psql", "dt"), [("mart", "doses", "table", "tarn")], "analyst's \\dt")
        eq(r(s, "psql", "dt"), [("raw", "immunizations", "table", "tarn")], "steward's \\dt")
        admin_dt = r(d, "psql", "dt")
        for t in [("raw", "immunizations"), ("mart", "doses"), ("sandbox", "other/scratch")]:
            check(t + ("table", "tarn") in admin_dt, f"admin's \\dt: {t} in {admin_dt}")
        eq(r(s, "psql", "dt_schema"), [("raw", "immunizations", "table", "tarn")], "\\dt raw.*")
        eq(rows(lake, fill(CLIENTS["psql"]["dt_schema"], "raw", "", 0), an), [],
           "analyst's \\dt raw.*")
        eq(rows(lake, fill(CLIENTS["psql"]["d_lookup"], "raw", "immunizations", 0), an), [],
           "analyst's \\d raw.immunizations finds nothing")

        # \d TABLE: columns and types are those the principal's SELECT returns
        for docs, auth, name in [(s, st, "raw.immunizations"), (a, an, "mart.doses"),
                                 (d, None, "raw.immunizations")]:
            cols = q(lake, f"SELECT * FROM {name} LIMIT 0", auth)["columns"]
            want = [(c["name"], pg_type_of(c["type"])) for c in cols]
            eq([x[:2] for x in r(docs, "psql", "d_columns")], want, f"\\d {name}")
            eq([x[:2] for x in r(docs, "psql", "dplus_columns")], want, f"\\d+ {name}")
            eq(r(docs, "psql", "d_table")[0][1], "r", "relkind")
            # pgjdbc's getColumns and psqlODBC's SQLColumns agree, with pg_type's names
            jc = r(docs, "jdbc", "getColumns")
            eq([x[2] for x in jc], [c[0] for c in want], "getColumns names")
            oc = r(docs, "odbc", "SQLColumns")
            eq([(x[2], x[3]) for x in oc], [(x[2], x[3]) for x in jc], "SQLColumns")
            typ = dict(r(docs, "jdbc", "getTypeInfo_types"))
            for x in oc:
                eq(typ[x[4]], x[3], f"pg_type names OID {x[3]} {x[4]}")
            # (pgjdbc asks for the attnums of the captured table's 9 columns)
            eq(len(r(docs, "jdbc", "rsmeta_columns")), min(9, len(want)), "ResultSetMetaData")
        check(("ssn", "character varying") in
              [x[:2] for x in r(s, "psql", "d_columns")], "the PII column is listed")

        # pgjdbc: getSchemas, getTables, getPrimaryKeys, getTypeInfo
        for docs in (s, a, d):
            eq(sorted(x[0] for x in r(docs, "jdbc", "getSchemas")),
               sorted(SCHEMAS + ["information_schema", "pg_catalog"]), "getSchemas")
            eq(r(docs, "jdbc", "getPrimaryKeys"), [], "no primary keys")
            types = dict(r(docs, "jdbc", "getTypeInfo_types"))
            for name, oid in [("int4", 23), ("int8", 20), ("varchar", 1043), ("numeric", 1700),
                              ("timestamptz", 1184), ("bool", 16), ("json", 114)]:
                eq(types.get(name), oid, f"pg_type {name}")
            arrays = {x[2]: x[0] for x in r(docs, "jdbc", "getTypeInfo_arrays")}
            check(arrays["_int4"] and not arrays["int4"], "typinput = array_in")
        eq([x[1:4] for x in r(a, "jdbc", "getTables")],
           [("mart", "doses", "TABLE")], "analyst's getTables")
        eq([x[1:4] for x in r(s, "jdbc", "getTables")],
           [("raw", "immunizations", "TABLE")], "steward's getTables")
        # psqlODBC's SQLTables
        eq(r(a, "odbc", "SQLTables"), [("doses", "mart", "r")], "analyst's SQLTables")
        eq(r(s, "odbc", "current_schema"), [("raw",)], "current_schema()")
        # Tableau's probes
        for docs in (s, a, d):
            check(r(docs, "tableau", "version")[0][0].startswith("PostgreSQL 15.0 (tarn"),
                  r(docs, "tableau", "version"))
            eq(r(docs, "tableau", "current_database"), [("lake",)], "current_database()")
        for docs, name in [(s, "steward"), (a, "analyst"), (d, ROOT_USER)]:
            eq(r(docs, "tableau", "current_user"), [(name,)], "current_user")
            eq(r(docs, "tableau", "current_schemas")[0][0][:2], ["pg_catalog", "raw"],
               "current_schemas(true)")
        eq(sorted({x[:2] for x in r(a, "tableau", "columns")}),
           [("gold", "doses"), ("mart", "doses")], "analyst's information_schema.columns")

        # nothing else shows: other principals' tables, sandboxes, engine internals
        for docs, auth, words in [(a, an, ["immunizations", "scratch", "secret_column"]),
                                  (s, st, ["doses", "scratch", "secret_column"])]:
            for client, labels in docs.items():
                for label, doc in labels.items():
                    text = json.dumps(doc["rows"])
                    for w in words:
                        check(w not in text, f"{client} {label} shows {w!r}: {text[:300]}")
                    check(not INTERNALS.search(text), f"{client} {label}: {text[:300]}")
        # the roles: the owner and the principal asking, no one else
        eq(rows(lake, "SELECT rolname FROM pg_catalog.pg_roles ORDER BY oid", an),
           [("tarn",), ("analyst",)], "pg_roles")
        eq(rows(lake, "SELECT pg_catalog.has_table_privilege('mart.doses', 'SELECT'), "
                      "has_table_privilege('raw.immunizations', 'SELECT'), "
                      f"has_table_privilege({a_oid}, 'SELECT'), "
                      "has_table_privilege('mart.doses', 'INSERT'), "
                      "pg_catalog.has_schema_privilege('mart', 'USAGE'), "
                      "pg_catalog.pg_encoding_to_char(6), pg_catalog.array_upper([4, 5], 1), "
                      "pg_catalog.pg_table_is_visible(1), pg_catalog.format_type(1700, 655366), "
                      "pg_catalog.format_type(1043, 14), pg_catalog.format_type(1184, -1), "
                      "pg_catalog.pg_get_expr('x', 1)", an),
           [(True, False, True, False, True, "UTF8", 2, True, "numeric(10,2)",
             "character varying(10)", "timestamp with time zone", None)], "functions")
        eq(rows(lake, f"SELECT pg_catalog.pg_get_userbyid(16385), "
                      f"to_regclass('raw.immunizations'), 'mart.doses'::regclass = {a_oid}",
                an), [("analyst", None, True)], "functions read the caller's catalog")
        # a name through an alias finds the zone's table; queries through it still work
        eq(rows(lake, f"SELECT 'gold.doses'::regclass = {a_oid}, "
                      "has_table_privilege('gold.doses', 'SELECT'), "
                      "(SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'gold')",
                an), [(True, True, 0)], "aliases")
        check(len(rows(lake, "SELECT * FROM gold.doses", an)) > 0, "a query through an alias")
    finally:
        lake.stop()


@test
def image_functions_follow_the_principal():
    """obj_description, to_regclass, ... read the catalog image: the guard makes
    it the caller's even when the statement names no catalog relation."""
    lake = Lake(settings=QUIET).start()
    try:
        who = scenario(lake)
        an = who["analyst"]
        oid = rows(lake, "SELECT 'raw.immunizations'::regclass")[0][0]
        check(oid, "admin's OID")
        for _ in range(5):
            # the admin's image (raw.immunizations) is the last built on the connections
            rows(lake, "SELECT count(*) FROM pg_catalog.pg_attribute")
            eq(rows(lake, "SELECT to_regclass('raw.immunizations'), pg_get_userbyid(16385), "
                          f"col_description({oid}, 1) IS NULL", an),
               [(None, "analyst", True)], "analyst")
            rows(lake, "SELECT count(*) FROM pg_catalog.pg_attribute")
            eq(rows(lake, "SELECT current_user, session_user", an), [("analyst", "analyst")],
               "current_user")
    finally:
        lake.stop()


def pg_env(user, pw):
    return dict(os.environ, PGPASSWORD=pw, PGCONNECT_TIMEOUT="10")


def psql(lake, user, pw, cmd):
    r_ = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(lake.pg_port), "-U", user,
                         "-d", "lake", "-c", cmd], env=pg_env(user, pw), capture_output=True,
                        text=True, timeout=60)
    return r_.returncode, r_.stdout, r_.stderr


@test
def real_clients():
    missing = [t for t in ("psql", "javac", "java", "isql") if not shutil.which(t)]
    jar = "/usr/share/java/postgresql.jar"
    odbc = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
    check(not missing and os.path.exists(jar) and os.path.exists(odbc),
          f"clients missing: {missing} {jar} {odbc} (make deps installs them)")
    lake = Lake(settings=QUIET).start()
    tmp = tempfile.mkdtemp(prefix="tarn-pgcat-")
    try:
        scenario(lake)
        # psql
        rc, out, err = psql(lake, "analyst", "analyst-password", "\\dt")
        eq(rc, 0, f"psql \\dt: {err}")
        got = [tuple(c.strip() for c in line.split("|")) for line in out.splitlines()
               if line.count("|") == 3 and "Schema" not in line]
        eq(got, [("mart", "doses", "table", "tarn")], "psql \\dt as the analyst: each table once")
        rc, out, err = psql(lake, "analyst", "analyst-password", "\\dn")
        eq(rc, 0, f"psql \\dn: {err}")
        got = sorted(line.split("|")[0].strip() for line in out.splitlines()
                     if line.count("|") == 1 and "Name" not in line)
        eq(got, SCHEMAS, "psql \\dn: the zones, no alias")
        rc, out, err = psql(lake, "steward", "steward-password", "\\d raw.immunizations")
        eq(rc, 0, f"psql \\d: {err}")
        check('Table "raw.immunizations"' in out, out[:300])
        cols = q(lake, "SELECT * FROM raw.immunizations LIMIT 0",
                 basic("steward", "steward-password"))["columns"]
        lines = {line.split("|")[0].strip(): line.split("|")[1].strip()
                 for line in out.splitlines() if line.count("|") >= 4}
        for c in cols:
            eq(lines.get(c["name"]), pg_type_of(c["type"]), f"\\d column {c['name']}")
        rc, out, err = psql(lake, "analyst", "analyst-password", "\\d raw.immunizations")
        check("Did not find any relation" in out + err, out + err)
        rc, out, err = psql(lake, "analyst", "analyst-password", "SELECT version()")
        eq(out.splitlines()[0].strip(), "version", f"the column of version(): {out} {err}")
        check(out.splitlines()[2].strip().startswith("PostgreSQL 15.0 (tarn"), out)
        rc, out, err = psql(lake, ROOT_USER, ROOT_PASSWORD, "\\l")
        check(rc == 0 and re.search(r"^\s*lake\s*\|\s*tarn\s*\|\s*UTF8", out, re.M), out + err)

        # psycopg2: RowDescription's OIDs are pg_attribute's
        import psycopg2
        con = psycopg2.connect(host="127.0.0.1", port=lake.pg_port, user="steward",
                               password="steward-password", dbname="lake")
        try:
            cur = con.cursor()
            cur.execute("SELECT * FROM raw.immunizations LIMIT 0")
            desc = [(c.name, c.type_code) for c in cur.description]
            cur.execute("SELECT a.attname, a.atttypid, t.typname FROM pg_catalog.pg_attribute a "
                        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid WHERE a.attrelid = "
                        "'raw.immunizations'::regclass AND a.attnum > 0 ORDER BY a.attnum")
            cat = cur.fetchall()
            eq([(n, o) for n, o, _ in cat], desc, "RowDescription OIDs = pg_attribute.atttypid")
            check(len(desc) > 10, desc)
        finally:
            con.close()

        # pgjdbc's DatabaseMetaData (the Java program the JDBC test uses too)
        src = os.path.join(HERE, "jdbc", "TarnMeta.java")
        subprocess.run(["javac", "-d", tmp, src], check=True, capture_output=True, timeout=300)
        url = f"jdbc:postgresql://127.0.0.1:{lake.pg_port}/lake"

        def meta(user, schema, table):
            r_ = subprocess.run(["java", "-cp", f"{jar}:{tmp}", "TarnMeta", url, user,
                                 user + "-password", schema, table], capture_output=True,
                                text=True, timeout=180)
            eq(r_.returncode, 0, f"TarnMeta as {user}: {r_.stderr[-2000:]}")
            out_ = {}
            for line in r_.stdout.splitlines():
                f = line.split("\t")
                out_.setdefault(f[0], []).append(tuple(f[1:]))
            return out_

        m = meta("analyst", "mart", "doses")
        eq(m["catalogs"], [("lake",)], "getCatalogs")
        check(("TABLE",) in m["tabletypes"], m["tabletypes"])
        eq([x[1:4] for x in m["tables"]], [("mart", "doses", "TABLE")], "getTables")
        eq(sorted(x[0] for x in m["schemas"]),
           sorted(SCHEMAS + ["information_schema", "pg_catalog"]), "getSchemas")
        dcols = q(lake, "SELECT * FROM mart.doses LIMIT 0",
                  basic("analyst", "analyst-password"))["columns"]
        eq([x[2] for x in m["columns"]], [c["name"] for c in dcols], "getColumns")
        eq([x[0] for x in m["rsmeta"]], [c["name"] for c in dcols], "ResultSetMetaData names")
        # java.sql.Types of getColumns and of the result set agree
        eq([x[3] for x in m["columns"]], [x[1] for x in m["rsmeta"]], "java.sql.Types")
        check(("int4", "4") in m["types"] and ("varchar", "12") in m["types"], m["types"][:5])
        eq(m.get("pkeys", []), [], "getPrimaryKeys")
        eq(m.get("prepared"), [("doses",)], "a catalog query with $1 parameters")
        s = meta("steward", "raw", "immunizations")
        eq([x[1:3] for x in s["tables"]], [("raw", "immunizations")], "steward's getTables")
        check(("raw", "immunizations", "ssn", "12", "varchar") in [x[:5] for x in s["columns"]],
              s["columns"][:3])
        m = meta("analyst", "raw", "immunizations")
        eq(m.get("columns", []), [], "the analyst's getColumns of raw.immunizations")
        check("rsmeta_error" in m, "the analyst's SELECT of raw.immunizations is refused")

        # psqlODBC through unixODBC's isql: SQLTables and SQLColumns
        with open(os.path.join(tmp, "odbcinst.ini"), "w") as f:
            f.write(f"[PostgreSQL Unicode]\nDriver={odbc}\n")
        with open(os.path.join(tmp, "odbc.ini"), "w") as f:
            f.write(f"[lake]\nDriver=PostgreSQL Unicode\nServername=127.0.0.1\n"
                    f"Port={lake.pg_port}\nDatabase=lake\n")
        env = dict(os.environ, ODBCSYSINI=tmp, ODBCINI=os.path.join(tmp, "odbc.ini"))
        r_ = subprocess.run(["isql", "-b", "-d|", "lake", "analyst", "analyst-password"],
                            input="help\nhelp doses\n", env=env, capture_output=True, text=True,
                            timeout=60)
        eq(r_.returncode, 0, f"isql: {r_.stdout[-500:]} {r_.stderr[-500:]}")
        out = [line.split("|") for line in r_.stdout.splitlines() if line.startswith("lake|")]
        eq([x[1:4] for x in out if len(x) == 5],
           [["mart", "doses", "TABLE"]], "SQLTables")
        # SQLColumns without a schema reads current_schema() (raw): nothing of mart there
        eq([x for x in out if len(x) > 5], [], "SQLColumns in raw")
        r_ = subprocess.run(["isql", "-b", "-d|", "lake", "steward", "steward-password"],
                            input="help immunizations\n", env=env, capture_output=True,
                            text=True, timeout=60)
        out = [line.split("|") for line in r_.stdout.splitlines() if line.startswith("lake|")]
        eq([x[3] for x in out], [c["name"] for c in cols], "SQLColumns of raw.immunizations")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        lake.stop()


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""SQL over the lake through REST and the CLI: POST /v1/query (JSON, CSV,
NDJSON), the Athena-style /v1/queries (start, state, paged results, cancel,
history), result files in the user's folder, partition pruning counted in
files, a raw-to-master join, refused statements, limits, and `tarn sql`."""
import csv
import io
import json
import os
import subprocess
import time

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
SLOW = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
        "WHERE i < 1000000000) SELECT count(*) FROM r")
VACCINES = "cvx_code,category\n03,viral\n08,viral\n20,bacterial\n"


def gen(count, seed, start, days=1):
    return subprocess.run([TARN, "gen", "immunizations", "--count", str(count), "--seed",
                           str(seed), "--start", start, "--days", str(days)],
                          capture_output=True, check=True).stdout


def lake_with_data(settings=None):
    """Three days of events laid out as the flusher names them, plus a master CSV."""
    s = dict(QUIET)
    s.update(settings or {})
    lake = Lake(settings=s)
    total = 0
    for day in (1, 2, 3):
        folder = os.path.join(lake.dir, "01-raw-data-zone", "imm", "2026", "04", f"{day:02d}")
        os.makedirs(folder)
        for part in range(2):
            data = gen(200, day * 10 + part, f"2026-04-{day:02d}")
            with open(os.path.join(folder, f"0{part}0000-{day}{part}.json"), "wb") as f:
                f.write(data)
            total += data.count(b"\n")
    master = os.path.join(lake.dir, "03-master-data-zone", "vaccines")
    os.makedirs(master)
    with open(os.path.join(master, "vaccines.csv"), "w") as f:
        f.write(VACCINES)
    lake.start()
    rep = lake.json("POST", "/v1/crawl")
    eq(rep["files_bad"], 0, "bad files")
    return lake, total


def query(lake, sql, want=200, headers=None, **body):
    body["sql"] = sql
    return lake.json("POST", "/v1/query", body, want=want, headers=headers)


def cli(lake, *args, ok=True):
    env = dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER, TARN_PASSWORD=ROOT_PASSWORD)
    out = subprocess.run([TARN, *args], capture_output=True, env=env, timeout=120, text=True)
    if ok and out.returncode != 0:
        raise AssertionError(f"tarn {args}: exit {out.returncode}: {out.stderr}")
    return out


@test
def sync_queries_pruning_and_join():
    lake, total = lake_with_data()
    try:
        r = query(lake, "SELECT count(*) AS n FROM raw.imm")
        eq(r["rows"], [[total]], "count")
        eq(r["columns"], [{"name": "n", "type": "BIGINT"}], "columns")
        eq(r["stats"]["files"], 6, "files read")
        eq(r["state"], "SUCCEEDED", "state")
        # a one-day predicate opens that day's files only
        r = query(lake, "SELECT count(*) FROM raw.imm WHERE year = 2026 AND month = 4 "
                        "AND day = 2")
        eq(r["rows"], [[400]], "one day")
        eq((r["stats"]["files"], r["stats"]["files_pruned"]), (2, 4), "pruned files")
        check(r["stats"]["bytes_scanned"] > 0, r["stats"])
        # the same answer without pruning (the predicate hidden in an expression)
        r2 = query(lake, "SELECT count(*) FROM raw.imm WHERE day + 0 = 2")
        eq(r2["rows"], [[400]], "unpruned")
        eq(r2["stats"]["files"], 6, "unpruned files")
        # raw joined to master data (NDJSON to CSV)
        r = query(lake, "SELECT v.category, count(*) FROM raw.imm i JOIN master.vaccines v "
                        "ON i.cvx_code = v.cvx_code GROUP BY 1 ORDER BY 1")
        got = dict(r["rows"])
        check(set(got) <= {"viral", "bacterial"} and sum(got.values()) > 0, r["rows"])
        # value rendering: nested as JSON, NULL as null, numbers bare
        r = query(lake, "SELECT address, NULL AS n, 1.5::DOUBLE AS d, true AS b "
                        "FROM raw.imm LIMIT 1")
        check(isinstance(r["rows"][0][0], dict) and "zip" in r["rows"][0][0], r["rows"])
        eq(r["rows"][0][1:], [None, 1.5, True], "scalars")
        # CSV and NDJSON answers
        st, h, data = lake.request("POST", "/v1/query",
                                   {"sql": "SELECT day, count(*) AS n FROM raw.imm "
                                           "GROUP BY 1 ORDER BY 1"},
                                   headers={"Accept": "text/csv"})
        eq(st, 200, "csv status")
        check(h["content-type"].startswith("text/csv"), h)
        eq(data.decode(), "day,n\n1,400\n2,400\n3,400\n", "csv")
        check(len(h.get("x-tarn-query-id", "")) == 36, h)
        st, h, data = lake.request("POST", "/v1/query", "SELECT 1 AS a, 'x' AS b",
                                   headers={"Accept": "application/x-ndjson",
                                            "Content-Type": "text/plain"})
        eq((st, data.decode()), (200, '{"a": 1, "b": "x"}\n'), "ndjson of text/plain SQL")
    finally:
        lake.stop()


@test
def result_files_history_async_and_paging():
    lake, total = lake_with_data()
    try:
        r = query(lake, "SELECT event_id, dose_number FROM raw.imm ORDER BY event_id")
        loc = r["result_location"]
        check(loc.startswith(f"02-transient-zone/01-athena/{ROOT_USER}/"), loc)
        eq(loc, f"02-transient-zone/01-athena/{ROOT_USER}/{r['query_id']}.csv", "location")
        with open(os.path.join(lake.dir, loc)) as f:
            rows = list(csv.reader(f))
        eq(rows[0], ["event_id", "dose_number"], "header")
        eq(len(rows) - 1, total, "rows in the result file")
        eq([[x[0], int(x[1])] for x in rows[1:]], r["rows"], "file equals answer")
        with open(os.path.join(lake.dir, loc + ".metadata")) as f:
            meta = json.load(f)
        eq((meta["query_id"], meta["state"]), (r["query_id"], "SUCCEEDED"), "metadata")

        # the same query in the background, paged
        st = lake.json("POST", "/v1/queries",
                       {"sql": "SELECT event_id, dose_number FROM raw.imm ORDER BY event_id"},
                       want=202)
        qid = st["query_id"]
        for _ in range(200):
            info = lake.json("GET", f"/v1/queries/{qid}")
            if info["state"] not in ("QUEUED", "RUNNING"):
                break
            time.sleep(0.05)
        eq(info["state"], "SUCCEEDED", "async state")
        eq(info["stats"]["rows"], total, "async rows")
        paged, token, pages = [], None, 0
        while True:
            path = f"/v1/queries/{qid}/results?max_results=333"
            if token:
                path += f"&next_token={token}"
            page = lake.json("GET", path)
            eq(page["columns"][0]["name"], "event_id", "page columns")
            paged += page["rows"]
            pages += 1
            token = page["next_token"]
            if not token:
                break
        eq(paged, r["rows"], "paged rows equal the synchronous answer")
        eq(pages, (total + 332) // 333, "pages")
        lake.json("GET", f"/v1/queries/{qid}/results?next_token=3", want=400)

        # history: newest first, both queries there
        hist = lake.json("GET", "/v1/queries?limit=5")["queries"]
        eq([h["query_id"] for h in hist[:2]], [qid, r["query_id"]], "history order")
        lake.json("GET", "/v1/queries/00000000-0000-4000-8000-000000000000", want=404)
        lake.json("DELETE", f"/v1/queries/{qid}", want=409)

        # history and result pages survive a restart
        lake.stop()
        lake.start()
        page = lake.json("GET", f"/v1/queries/{qid}/results?max_results=2")
        eq(page["rows"], r["rows"][:2], "pages after a restart")
    finally:
        lake.stop()


@test
def cancel_timeout_and_limits():
    lake, _ = lake_with_data({"query.max_result_size": "2KiB", "query.memory_limit": "256MiB"})
    try:
        qid = lake.json("POST", "/v1/queries", {"sql": SLOW}, want=202)["query_id"]
        time.sleep(0.5)
        eq(lake.json("GET", f"/v1/queries/{qid}")["state"], "RUNNING", "running")
        lake.json("DELETE", f"/v1/queries/{qid}", want=202)
        for _ in range(100):
            info = lake.json("GET", f"/v1/queries/{qid}")
            if info["state"] != "RUNNING":
                break
            time.sleep(0.05)
        eq(info["state"], "CANCELLED", "canceled")
        eq(info["result_location"], None, "no result file for a canceled query")
        check(not os.path.exists(os.path.join(lake.dir, "02-transient-zone", "01-athena",
                                              ROOT_USER, qid + ".csv")), "no file")
        # a deadline
        t0 = time.time()
        err = query(lake, SLOW, want=504, timeout=0.3)["error"]
        check(time.time() - t0 < 10, "timeout honoured")
        eq(err["code"], "timeout", err)
        # a result larger than query.max_result_size
        err = query(lake, "SELECT event_id FROM raw.imm", want=413)["error"]
        check("POST /v1/queries" in err["message"], err)
        # past query.memory_limit: a clear 413, and the server goes on
        err = query(lake, "WITH RECURSIVE r(i, s) AS (SELECT 1, repeat('x', 10000) UNION ALL "
                          "SELECT i + 1, s FROM r WHERE i < 40000) "
                          "SELECT length(string_agg(s, '')) FROM r", want=413)["error"]
        check("out of memory" in err["message"] and "query.memory_limit" in err["message"], err)
        # the server is fine afterwards
        eq(query(lake, "SELECT count(*) FROM raw.imm WHERE day = 1")["rows"], [[400]], "after")
    finally:
        lake.stop()


@test
def refused_statements_and_errors():
    lake, _ = lake_with_data()
    try:
        refused = {
            "SELECT * FROM read_csv('/etc/passwd')": "read_csv",
            "SELECT * FROM '/etc/passwd'": "file path",
            "SELECT * FROM glob('/*')": "glob",
            "ATTACH '/tmp/x.db' AS x": "ATTACH",
            "COPY (SELECT 1) TO '/tmp/x.csv'": "COPY",
            "SET enable_external_access = true": "SET",
            "PRAGMA version": "PRAGMA",
            "INSTALL httpfs": "INSTALL",
            "LOAD httpfs": "LOAD",
            "EXPORT DATABASE '/tmp/x'": "EXPORT",
            "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')": "SECRET",
            "SELECT 1; SELECT 2": "2 statements",
            "SELECT * FROM duckdb_settings()": "duckdb_settings",
            "SELECT * FROM pg_catalog.pg_settings": "pg_settings",
            "DROP TABLE raw.imm": "immutable",
            "CREATE TABLE master.x AS SELECT 1": "warehouse zones",
            "DELETE FROM raw.imm": "DELETE",
            "UPDATE raw.imm SET dose_number = 1": "UPDATE",
        }
        for sql, word in refused.items():
            err = query(lake, sql, want=403)["error"]
            check(word.lower() in err["message"].lower(), f"{sql}: {err}")
        err = query(lake, "SELECT * FROM raw.imn", want=404)["error"]
        check("did you mean raw.imm" in err["message"], err)
        err = query(lake, "SELECT nosuch FROM raw.imm", want=400)["error"]
        eq(err["position"], 7, "position")
        check(len(err["query_id"]) == 36, err)
        err = query(lake, "SELEC 1", want=400)["error"]
        check("syntax error" in err["message"], err)
        lake.json("POST", "/v1/query", {"nosql": 1}, want=400)
        lake.json("POST", "/v1/query", {"sql": "   "}, want=400)
        # the failed queries are in the history with their errors
        hist = lake.json("GET", "/v1/queries?limit=3")["queries"]
        eq(hist[0]["state"], "FAILED", "failed state")
        check("syntax error" in hist[0]["error"]["message"], hist[0])
    finally:
        lake.stop()


@test
def create_insert_drop_tables():
    lake, total = lake_with_data()
    try:
        r = query(lake, "CREATE TABLE mart.by_vaccine AS SELECT vaccine_name, count(*) AS n "
                        "FROM raw.imm GROUP BY 1")
        eq(r["columns"][0]["name"], "table", "answer columns")
        eq(r["rows"][0][:2], ["mart.by_vaccine", "CREATE"], "answer")
        eq(r["rows"][0][3], 1, "one file")
        path = os.path.join(lake.dir, "warehouse", "mart", "by_vaccine")
        files = [f for f in os.listdir(path) if not f.startswith(".")]
        eq(len(files), 1, files)
        with open(os.path.join(path, files[0]), "rb") as f:
            eq(f.read(4), b"PAR1", "a Parquet file")
        eq(os.listdir(path), files, "no temp folder left")
        desc = lake.json("GET", "/v1/catalog/tables/mart.by_vaccine")
        eq(desc["format"], "parquet", "format")
        r = query(lake, "SELECT sum(n) FROM mart.by_vaccine")
        eq(r["rows"], [[total]], "rows read back")
        query(lake, "CREATE TABLE mart.by_vaccine AS SELECT 1", want=409)
        r = query(lake, "CREATE TABLE IF NOT EXISTS mart.by_vaccine AS SELECT 1")
        eq(r["rows"][0][1], "CREATE (exists)", "if not exists")

        # partitioned: key=value folders the crawler reads as partitions
        r = query(lake, "CREATE TABLE gold.by_day PARTITION BY (day) AS "
                        "SELECT day, event_id, dose_number FROM raw.imm")
        eq(r["rows"][0][2], total, "rows written")
        eq(sorted(d for d in os.listdir(os.path.join(lake.dir, "warehouse", "mart", "by_day"))
                  if not d.startswith(".")), ["day=1", "day=2", "day=3"], "partition folders")
        desc = lake.json("GET", "/v1/catalog/tables/mart.by_day")
        eq([k["name"] for k in desc["partition_keys"]], ["day"], "partition keys")
        r = query(lake, "SELECT count(*) FROM mart.by_day WHERE day = 2")
        eq((r["rows"], r["stats"]["files"]), ([[400]], 1), "pruned partition")
        r = query(lake, "INSERT INTO mart.by_day SELECT day, event_id, dose_number "
                        "FROM raw.imm WHERE day = 2")
        eq(r["rows"][0][1:3], ["INSERT", 400], "insert")
        r = query(lake, "SELECT day, count(*) FROM mart.by_day GROUP BY 1 ORDER BY 1")
        eq(r["rows"], [[1, 400], [2, 800], [3, 400]], "after insert")
        # columns without the table's names go by position (SQL's rule), and must be as many
        r = query(lake, "INSERT INTO mart.by_day VALUES ('e-x', 7, 9), ('e-y', 8, 9)")
        eq(r["rows"][0][1:3], ["INSERT", 2], "insert by position")
        r = query(lake, "SELECT event_id, dose_number FROM mart.by_day WHERE day = 9 ORDER BY 1")
        eq(r["rows"], [["e-x", 7], ["e-y", 8]], "values landed in their columns")
        err = query(lake, "INSERT INTO mart.by_day SELECT 1, 2", want=400)["error"]
        check("fewer expressions than target columns" in err["message"], err)
        err = query(lake, "INSERT INTO mart.by_day SELECT 'a', 1, 2, 3", want=400)["error"]
        check("more expressions than target columns" in err["message"], err)
        # partition columns name folders: plain identifiers only
        err = query(lake, 'CREATE TABLE mart.q PARTITION BY ("a;b") AS SELECT 1 AS "a;b"',
                    want=400)["error"]
        check("partition column" in err["message"], err)
        # errors inside the query keep their position in the whole statement
        err = query(lake, "CREATE TABLE mart.bad AS SELECT nosuch FROM raw.imm", want=400)["error"]
        eq(err["position"], 32, "position in the CREATE")
        check(not os.path.exists(os.path.join(lake.dir, "warehouse", "mart", "bad")),
              "nothing left by a failed CREATE")
        # a folder holding files the catalog does not know is not taken over
        os.makedirs(os.path.join(lake.dir, "warehouse", "core", "stray"))
        with open(os.path.join(lake.dir, "warehouse", "core", "stray", "x.csv"), "w") as f:
            f.write("a\n1\n")
        err = query(lake, "CREATE TABLE core.stray AS SELECT 1 AS a", want=409)["error"]
        check("not in the catalog" in err["message"], err)
        # names fold case, as SQL's do
        eq(query(lake, "SELECT count(*) FROM RAW.IMM WHERE DAY = 1")["rows"], [[400]], "case")
        r = query(lake, "INSERT INTO MART.BY_DAY SELECT day, event_id, dose_number "
                        "FROM raw.imm WHERE day = 1")
        eq(r["rows"][0][2], 400, "insert through another case")
        check(not os.path.exists(os.path.join(lake.dir, "warehouse", "mart", "BY_DAY")),
              "no second folder")
        # DROP deletes the table's folder, never what a link inside it points at
        keep = os.path.join(lake.dir, "04-user-drop-zone", "keep")
        os.makedirs(keep)
        with open(os.path.join(keep, "precious.csv"), "w") as f:
            f.write("a\n1\n")
        os.symlink(keep, os.path.join(lake.dir, "warehouse", "mart", "by_day", "link"))
        r = query(lake, "DROP TABLE mart.by_day")
        eq(r["rows"][0][1], "DROP", "drop")
        check(not os.path.exists(os.path.join(lake.dir, "warehouse", "mart", "by_day")), "gone")
        check(os.path.exists(os.path.join(keep, "precious.csv")), "link target untouched")
        lake.json("GET", "/v1/catalog/tables/mart.by_day", want=404)
        query(lake, "SELECT * FROM mart.by_day", want=404)
        query(lake, "DROP TABLE mart.by_day", want=404)
        eq(query(lake, "DROP TABLE IF EXISTS mart.by_day")["rows"][0][3], 0, "if exists")
        query(lake, "CREATE OR REPLACE TABLE mart.x AS SELECT 1", want=501)
    finally:
        lake.stop()


@test
def sandbox_tables():
    lake, total = lake_with_data()
    try:
        # CREATE, query, DROP in the user's own sandbox: data/user/<user>/<table>
        r = query(lake, "CREATE TABLE sandbox.scratch AS SELECT day, count(*) AS n "
                        "FROM raw.imm GROUP BY 1")
        eq(r["rows"][0][:3], [f"sandbox.{ROOT_USER}/scratch", "CREATE", 3], "create")
        folder = os.path.join(lake.dir, "data", "user", ROOT_USER, "scratch")
        check(any(f.endswith(".parquet") for f in os.listdir(folder)), os.listdir(folder))
        eq(query(lake, "SELECT sum(n) FROM sandbox.scratch")["rows"], [[total]], "read back")
        eq(query(lake, f'SELECT sum(n) FROM sandbox."{ROOT_USER}/scratch"')["rows"], [[total]],
           "by its full name")
        # an uploaded file in the sandbox is a table once crawled
        with open(os.path.join(lake.dir, "data", "user", ROOT_USER, "notes.csv"), "w") as f:
            f.write("k,v\na,1\nb,2\n")
        lake.json("POST", "/v1/crawl", {"target": "sandbox"})
        eq(query(lake, "SELECT sum(v) FROM sandbox.notes")["rows"], [[3]], "uploaded file")
        eq(query(lake, "DROP TABLE sandbox.scratch")["rows"][0][1], "DROP", "drop")
        check(not os.path.exists(folder), "folder gone")
        query(lake, "SELECT * FROM sandbox.scratch", want=404)
        # a sandbox table of another user is not yours to write
        query(lake, 'CREATE TABLE sandbox."other/x" AS SELECT 1', want=400)
    finally:
        lake.stop()


@test
def cli_sql():
    lake, total = lake_with_data()
    try:
        out = cli(lake, "sql", "SELECT day, count(*) AS n FROM raw.imm GROUP BY 1 ORDER BY 1")
        eq(out.stdout, "day,n\n1,400\n2,400\n3,400\n", "csv when piped")
        out = cli(lake, "sql", "--format", "table", "SELECT 'a' AS x, NULL AS y, 10 AS z")
        lines = out.stdout.splitlines()
        eq(lines[0].split("|")[0].strip(), "x", "table header")
        check(set(lines[1]) <= {"-", "+"}, lines)
        eq([c.strip() for c in lines[2].split("|")], ["a", "NULL", "10"], "table row")
        check("(1 row)" in out.stderr, out.stderr)
        out = cli(lake, "sql", "--format", "json", "SELECT count(*) AS n FROM raw.imm")
        eq(json.loads(out.stdout)["rows"], [[total]], "json")
        out = cli(lake, "sql", "SELECT nosuch\nFROM raw.imm", ok=False)
        eq(out.returncode, 1, "exit code")
        check("nosuch" in out.stderr and "^" in out.stderr, out.stderr)
        out = subprocess.run([TARN, "sql", "-"], input="SELECT 42 AS answer;\n",
                             capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, TARN_URL=lake.url, TARN_USER=ROOT_USER,
                                      TARN_PASSWORD=ROOT_PASSWORD))
        eq((out.returncode, out.stdout), (0, "answer\n42\n"), "sql from stdin")
        rows = list(csv.reader(io.StringIO(cli(lake, "sql", "SELECT 'a,\"b' AS s").stdout)))
        eq(rows, [["s"], ['a,"b']], "csv quoting")
    finally:
        lake.stop()


if __name__ == "__main__":
    run()

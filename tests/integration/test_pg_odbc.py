#!/usr/bin/env python3
"""ODBC through tarn's PostgreSQL endpoint: Debian's psqlODBC driver
(odbc-postgresql, psqlodbcw.so) under unixODBC's isql and iusql, configured by a
temporary odbcinst.ini / odbc.ini (ODBCSYSINI, ODBCINI) with a DSN for a tarn
started here: connect, `help` (SQLTables: the tables the user may read), a
query whose rows are checked, a user who sees only the table granted to it,
and a wrong password refused."""
import glob
import os
import re
import shutil
import subprocess
import tempfile

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Failure, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
READER, READER_PW = "odbc_reader", "odbc-reader-password-1"
VISITS_SQL = ("CREATE TABLE mart.odbc_visits AS SELECT CAST(id AS INTEGER) AS id, "
              "CAST(name AS VARCHAR) AS name, CAST(day AS DATE) AS day, "
              "CAST(dose AS DECIMAL(5,2)) AS dose, CAST(note AS VARCHAR) AS note FROM (VALUES "
              "(1, 'Zoë', '2024-02-29', 2.5, NULL), (2, 'Bob', '1999-12-31', -1.25, 'x'), "
              "(3, '東京', '2026-12-07', 0, 'a b')) t(id, name, day, dose, note)")
VISITS_QUERY = "SELECT id, name, day, dose, note FROM mart.odbc_visits ORDER BY id"
VISITS_ROWS = [["1", "Zoë", "2024-02-29", "2.50", ""],
               ["2", "Bob", "1999-12-31", "-1.25", "x"],
               ["3", "東京", "2026-12-07", "0.00", "a b"]]


def tool(name, package):
    path = shutil.which(name, path="/usr/bin:/bin:" + os.environ.get("PATH", ""))
    if not path:
        raise Failure(f"'{name}' is not installed: install the Debian package {package} "
                      "(make deps)")
    return path


def driver():
    found = sorted(glob.glob("/usr/lib/*/odbc/psqlodbcw.so") + glob.glob("/usr/lib/odbc/psqlodbcw.so"))
    if not found:
        raise Failure("psqlodbcw.so is missing: install the Debian package odbc-postgresql "
                      "(make deps)")
    return found[0]


def lake_name(lake):
    out = subprocess.run([TARN, "config", "show", lake.dir], capture_output=True, text=True)
    m = re.search(r"(?m)^lake:\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*(\S+)", out.stdout)
    if out.returncode != 0 or not m:
        raise Failure(f"cannot read lake.name from tarn config show: {out.stderr}{out.stdout[:500]}")
    return m.group(1).strip("'\"")


def sql(lake, text):
    st, _, body = lake.request("POST", "/v1/query", {"sql": text})
    if st != 200:
        raise Failure(f"{text}: HTTP {st}: {body[:400]!r}")


class Odbc:
    """A tarn with mart.odbc_visits and mart.odbc_secret, a reader granted the
    first only, and an ODBC configuration naming it as DSN 'tarn'."""

    def __init__(self):
        self.isql = tool("isql", "unixodbc")
        self.iusql = tool("iusql", "unixodbc")
        drv = driver()
        self.lake = Lake(settings=QUIET).start()
        port, db = self.lake.pg_port, lake_name(self.lake)
        self.db = db
        sql(self.lake, VISITS_SQL)
        sql(self.lake, "CREATE TABLE mart.odbc_secret AS SELECT 1 AS x")
        self.lake.json("POST", "/v1/users", {"name": READER, "password": READER_PW}, want=201)
        self.lake.json("POST", "/v1/grants", {"principal": READER, "select": "mart.odbc_visits"},
                       want=201)
        self.dir = tempfile.mkdtemp(prefix="tarn-odbc-", dir=self.lake.tmp)
        with open(os.path.join(self.dir, "odbcinst.ini"), "w") as f:
            f.write(f"[PostgreSQL Unicode]\nDescription=psqlODBC\nDriver={drv}\n")
        with open(os.path.join(self.dir, "odbc.ini"), "w") as f:
            f.write(f"[tarn]\nDriver=PostgreSQL Unicode\nServername=127.0.0.1\nPort={port}\n"
                    f"Database={db}\nSSLmode=disable\n")
        self.env = dict(os.environ, ODBCSYSINI=self.dir,
                        ODBCINI=os.path.join(self.dir, "odbc.ini"), LC_ALL="C.UTF-8")

    def run(self, commands, user=ROOT_USER, pw=ROOT_PASSWORD, wide=False, ok=True):
        """isql (or iusql) in batch mode, '|'-delimited with headers: (rc, stdout bytes)."""
        prog = self.iusql if wide else self.isql
        try:
            out = subprocess.run([prog, "-b", "-v", "-d|", "-c", "tarn", user, pw],
                                 input="\n".join(commands).encode() + b"\n", env=self.env,
                                 capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise Failure(f"{os.path.basename(prog)} ran over 120 s: {commands}") from None
        text = out.stdout + out.stderr
        errors = [ln for ln in text.decode(errors="replace").splitlines()
                  if ln.startswith("[") and ("ERROR" in ln or "]" in ln[:12])]
        if ok and (out.returncode != 0 or errors):
            raise Failure(f"{os.path.basename(prog)} {commands}: exit {out.returncode}: "
                          f"{text.decode(errors='replace')[-1500:]}\nserver log:\n{self.lake.tail(20)}")
        return out.returncode, out.stdout, text.decode(errors="replace")


def blocks(stdout):
    """'|'-delimited isql output -> list of result sets, each [header, rows...]."""
    sets, cur = [], None
    for line in stdout.decode("utf-8", errors="replace").splitlines():
        fields = line.split("|")
        if line.startswith(("TABLE_QUALIFIER|", "TABLE_CAT|")) or line.startswith("id|"):
            cur = [fields]
            sets.append(cur)
        elif cur is not None and line:
            cur.append(fields)
    return sets


def tables_listed(result):
    head, rows = result[0], result[1:]
    s, t = head.index("TABLE_OWNER" if "TABLE_OWNER" in head else "TABLE_SCHEM"), head.index("TABLE_NAME")
    return {f"{r[s]}.{r[t]}" for r in rows}


@test
def odbc_isql_tables_and_query():
    o = Odbc()
    _, out, _ = o.run(["help", VISITS_QUERY])
    sets = blocks(out)
    eq(len(sets), 2, f"result sets of help + query in {out[:2000]!r}")
    tables = tables_listed(sets[0])
    check({"mart.odbc_visits", "mart.odbc_secret"} <= tables,
          f"help (SQLTables) lists {sorted(tables)}, want mart.odbc_visits and mart.odbc_secret")
    qual = sets[0][0].index("TABLE_QUALIFIER") if "TABLE_QUALIFIER" in sets[0][0] else 0
    for r in sets[0][1:]:
        if r[2] in ("odbc_visits", "odbc_secret"):
            eq(r[qual], o.db, f"catalog of {r[2]}")
            eq(r[3], "TABLE", f"type of {r[2]}")
    eq(sets[1][0], ["id", "name", "day", "dose", "note"], "query header")
    eq(sets[1][1:], VISITS_ROWS, "query rows through isql")
    # a filtered query, several statements on the connection
    _, out, _ = o.run(["SELECT id, name FROM mart.odbc_visits WHERE dose < 1 ORDER BY id",
                       "SELECT id, count(*) AS n FROM mart.odbc_visits GROUP BY id ORDER BY id"])
    sets = blocks(out)
    eq([s[1:] for s in sets], [[["2", "Bob"], ["3", "東京"]], [["1", "1"], ["2", "1"], ["3", "1"]]],
       "filtered and grouped queries")
    check(o.lake.proc.poll() is None, "the server died: " + o.lake.tail())


@test
def odbc_iusql_wide_calls():
    o = Odbc()
    _, out, _ = o.run(["help", VISITS_QUERY], wide=True)
    # iusql prints each UTF-16 code unit of a wide string as its low byte:
    # the bytes show which characters the driver handed over.
    want = [[bytes(ord(ch) & 0xFF for ch in v) for v in r] for r in VISITS_ROWS]
    lines = [ln for ln in out.split(b"\n") if ln]
    head = lines.index(b"id|name|day|dose|note") if b"id|name|day|dose|note" in lines else -1
    check(head >= 0, f"no query header in iusql output {out[:2000]!r}")
    eq([ln.split(b"|") for ln in lines[head + 1:head + 4]], want, "query rows through iusql")
    check(any(b"|mart|odbc_visits|TABLE|" in ln for ln in lines[:head]),
          f"iusql help does not list mart.odbc_visits: {out[:2000]!r}")


@test
def odbc_governed_user_and_bad_password():
    o = Odbc()
    _, out, _ = o.run(["help", VISITS_QUERY], user=READER, pw=READER_PW)
    sets = blocks(out)
    eq(len(sets), 2, f"result sets in {out[:2000]!r}")
    tables = tables_listed(sets[0])
    check("mart.odbc_visits" in tables, f"the reader's help lacks its granted table: {sorted(tables)}")
    check("mart.odbc_secret" not in tables,
          f"the reader's help lists a table it may not read: {sorted(tables)}")
    eq(sets[1][1:], VISITS_ROWS, "the reader's rows")
    rc, out, text = o.run(["SELECT x FROM mart.odbc_secret"], user=READER, pw=READER_PW, ok=False)
    check("42501" in text, f"a denied read through ODBC does not report 42501: {text[-800:]}")
    check(b"x\n1" not in out, "the denied table's rows came back")
    rc, out, text = o.run(["SELECT 1"], pw=ROOT_PASSWORD + "-wrong", ok=False)
    check(rc != 0 and "Could not SQLConnect" in text,
          f"a wrong password connected (exit {rc}): {text[-800:]}")
    check(o.lake.proc.poll() is None, "the server died: " + o.lake.tail())


if __name__ == "__main__":
    run()

#!/usr/bin/env python3
"""JDBC through tarn's PostgreSQL endpoint: tests/integration/jdbc/JdbcDriverTest.java,
compiled with the machine's JDK against Debian's pgjdbc (libpostgresql-jdbc-java),
runs against a tarn started here: SCRAM login (and a wrong password: 28P01),
PreparedStatement parameters of int, long, double, BigDecimal, boolean, String,
Date, Time, Timestamp, UUID and byte[] with their ResultSetMetaData, binary
transfer on server-prepared statements (prepareThreshold=1), setFetchSize with
autocommit off (Execute with a row limit, PortalSuspended), errors followed by
good statements on the same connection, and a user without a grant refused a
table with 42501 while reading the table it was granted.  The program runs
once; each of its checks is reported as a test of its own (jdbc_CHECK), its
output echoed as "# jdbc:" lines."""
import os
import re
import shutil
import subprocess
import tempfile

from tarnlib import ROOT_PASSWORD, ROOT_USER, TARN, Failure, Lake, check, run, test

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "jdbc", "JdbcDriverTest.java")
PGJDBC = "/usr/share/java/postgresql.jar"
QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
BIG_ROWS = 20000
READER, READER_PW = "jdbc_reader", "jdbc-reader-password-1"
CHECKS = ["scram_login", "wrong_password", "prepared_parameters", "binary_transfer",
          "table_parameters", "fetch_size_cursor", "error_then_good_statement",
          "denied_table_42501"]


def tool(name, package):
    path = shutil.which(name, path="/usr/bin:/bin:" + os.environ.get("PATH", ""))
    if not path:
        raise Failure(f"'{name}' is not installed: install the Debian package {package} "
                      "(make deps)")
    return path


def start_lake():
    lake = Lake(settings=QUIET).start()
    return lake, lake.pg_port, lake_name(lake)


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


def compile_program(tmp):
    javac = tool("javac", "openjdk-17-jdk-headless")
    if not os.path.exists(PGJDBC):
        raise Failure(f"{PGJDBC} is missing: install the Debian package libpostgresql-jdbc-java "
                      "(make deps)")
    out = subprocess.run([javac, "-d", tmp, "-cp", PGJDBC, SOURCE], capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        raise Failure("javac failed:\n" + out.stdout + out.stderr)


_result = {}


def program_output():
    """Runs the program once (compiled here, against a tarn started here) and
    keeps its output for every check's test."""
    if "error" in _result:
        raise Failure(_result["error"])
    if "out" in _result:
        return _result
    try:
        return run_program()
    except Exception as e:  # noqa: BLE001 - every later check reports the same cause
        _result["error"] = f"the JDBC run could not complete: {e}"
        raise


def run_program():
    tmp = tempfile.mkdtemp(prefix="tarn-jdbc-")
    try:
        java = tool("java", "openjdk-17-jdk-headless")
        compile_program(tmp)
        lake, port, db = start_lake()
        sql(lake, f"CREATE TABLE mart.jdbc_big AS SELECT CAST(i AS BIGINT) AS id, "
                  f"'row ' || CAST(i AS VARCHAR) AS label FROM (SELECT unnest(range({BIG_ROWS})) AS i)")
        sql(lake, "CREATE TABLE mart.jdbc_secret AS SELECT 1 AS x, 'secret' AS s")
        lake.json("POST", "/v1/users", {"name": READER, "password": READER_PW}, want=201)
        lake.json("POST", "/v1/grants", {"principal": READER, "select": "mart.jdbc_big"}, want=201)
        env = dict(os.environ, PG_URL=f"jdbc:postgresql://127.0.0.1:{port}/{db}",
                   PG_USER=ROOT_USER, PG_PASSWORD=ROOT_PASSWORD,
                   PG_DENIED_USER=READER, PG_DENIED_PASSWORD=READER_PW,
                   PG_BIG_TABLE="mart.jdbc_big", PG_BIG_ROWS=str(BIG_ROWS),
                   PG_DENIED_TABLE="mart.jdbc_secret")
        env.pop("JDBC_WIRE", None)
        try:
            out = subprocess.run([java, "-Duser.timezone=UTC", "-Xmx256m", "-cp",
                                  f"{tmp}:{PGJDBC}", "JdbcDriverTest"],
                                 env=env, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as e:
            raise Failure(f"the JDBC program ran over 600 s: {e.stdout!r}") from None
        # The program's own lines, set apart from this test's "ok" lines.
        for line in (out.stdout + out.stderr).splitlines():
            print("# jdbc: " + line, flush=True)
        check(lake.proc.poll() is None, "the server died: " + lake.tail())
        _result["log"] = lake.tail(30)
        _result["out"], _result["rc"] = out.stdout + out.stderr, out.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _result


def jdbc_check(name):
    r = program_output()
    out = r["out"]
    if re.search(rf"(?m)^ok {re.escape(name)}$", out):
        return
    bad = re.findall(r"(?m)^(?:MISMATCH|ERROR) .*$", out)
    raise Failure(f"JDBC check {name} did not pass (program exit {r['rc']}): "
                  f"{'; '.join(bad) or out[-2000:]}\nserver log:\n{r['log']}")


def make_test(name):
    def fn():
        jdbc_check(name)
    fn.__name__ = "jdbc_" + name
    return test(fn)


for _name in CHECKS:
    make_test(_name)


@test
def jdbc_program_completed():
    r = program_output()
    check(r["rc"] == 0 and re.search(r"(?m)^ALL OK$", r["out"]),
          f"the JDBC program exited {r['rc']}: {r['out'][-2000:]}")
    extra = set(re.findall(r"(?m)^ok (\S+)$", r["out"])) - set(CHECKS)
    check(not extra, f"checks the Python side does not know: {sorted(extra)}")


if __name__ == "__main__":
    run()

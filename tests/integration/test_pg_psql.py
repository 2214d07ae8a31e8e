#!/usr/bin/env python3
"""The PostgreSQL endpoint with Debian's psql (and psycopg2 for CancelRequest):
SCRAM login, statements, errors that leave the session usable, transactions,
SET/SHOW, wrong passwords, the database name, cancel, TLS, and governance
(a denied table is 42501 and audited)."""
import os
import subprocess
import threading
import time

import psycopg2

from tarnlib import (ROOT_PASSWORD, ROOT_USER, TARN, Failure, Lake, check, eq, run, tarn_env,
                     test)

PSQL = "/usr/bin/psql"
QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}
SLOW = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
        "WHERE i < 1000000000) SELECT count(*) FROM r")


def psql(lake, *args, user=ROOT_USER, password=ROOT_PASSWORD, db="lake", sslmode="disable",
         extra="", stdin=None, timeout=60):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    env.pop("PGSERVICEFILE", None)
    conn = (f"host=127.0.0.1 port={lake.pg_port} user={user} dbname={db} "
            f"sslmode={sslmode} {extra}")
    return subprocess.run([PSQL, "-X", "-v", "ON_ERROR_STOP=0", conn, *args],
                          capture_output=True, text=True, env=env, input=stdin,
                          timeout=timeout)


@test
def psql_queries_errors_transactions_settings():
    lake = Lake(settings=QUIET).start()
    r = psql(lake, "-At", "-c", "SELECT 1 + 1, 'tarn' || 'lake', 1.5::DOUBLE")
    eq(r.returncode, 0, r.stderr)
    eq(r.stdout.strip(), "2|tarnlake|1.5", "one query")
    # several statements in one -c (one Query message): psql 15 prints every result
    r = psql(lake, "-At", "-c", "SELECT 1; SELECT 2; SELECT 'three'")
    eq(r.returncode, 0, r.stderr)
    eq(r.stdout.split(), ["1", "2", "three"], "several statements")
    # an error, then good queries on the same connection (a script, ON_ERROR_STOP off)
    script = ("SELECT 'before';\n"
              "SELEC 1;\n"
              "SELECT * FROM no_such_table;\n"
              "SELECT 'after';\n"
              "BEGIN;\n"
              "SELECT 'in block';\n"
              "SELECT 1/;\n"
              "SELECT 'refused';\n"
              "ROLLBACK;\n"
              "SELECT 'recovered';\n"
              "BEGIN; SELECT 'committed'; COMMIT;\n")
    r = psql(lake, "-At", "-f", "-", stdin=script)
    eq(r.returncode, 0, r.stderr)
    lines = r.stdout.split()
    eq(lines, ["before", "after", "BEGIN", "in", "block", "ROLLBACK", "recovered", "BEGIN",
               "committed", "COMMIT"], "script output")
    check('syntax error at or near "SELEC"' in r.stderr, r.stderr)
    check("no_such_table" in r.stderr, r.stderr)
    check("current transaction is aborted" in r.stderr, r.stderr)
    check("LINE 1: SELEC 1" in r.stderr, "a position is reported: " + r.stderr)
    # SQLSTATEs as psql shows them with VERBOSITY verbose
    r = psql(lake, "-At", "-v", "VERBOSITY=verbose", "-c", "SELECT * FROM no_such_table",
             "-c", "SELEC 1")
    check("ERROR:  42P01" in r.stderr, r.stderr)
    check("ERROR:  42601" in r.stderr, r.stderr)
    # SET / SHOW / RESET, statement_timeout honoured
    r = psql(lake, "-At", "-c", "SET application_name = 'pgtest'", "-c", "SHOW application_name",
             "-c", "SET search_path TO raw, public", "-c", "SHOW search_path",
             "-c", "SET extra_float_digits = 3", "-c", "SHOW extra_float_digits",
             "-c", "SHOW TimeZone", "-c", "SHOW client_encoding", "-c", "SHOW server_version",
             "-c", "SET my.custom = 'kept'", "-c", "SHOW my.custom",
             "-c", "RESET application_name", "-c", "SHOW application_name")
    eq(r.returncode, 0, r.stderr)
    eq(r.stdout.split("\n")[:-1], ["SET", "pgtest", "SET", "raw, public", "SET", "3", "UTC",
                                   "UTF8", "15.0", "SET", "kept", "RESET", ""], "set/show")
    r = psql(lake, "-At", "-c", "SHOW no_such_parameter")
    check("unrecognized configuration parameter" in r.stderr, r.stderr)
    r = psql(lake, "-At", "-v", "VERBOSITY=verbose", "-c", "SET SESSION AUTHORIZATION carl",
             "-c", "SET ROLE carl", "-c", "SHOW session_authorization")
    eq(r.stderr.count("ERROR:  42501"), 2, r.stderr)
    eq(r.stdout.strip(), ROOT_USER, "the principal does not change")
    r = psql(lake, "-At", "-c", "SET client_encoding = 'LATIN1'")
    check("UTF8" in r.stderr, r.stderr)
    r = psql(lake, "-At", "-c", "SET TimeZone = 'Europe/Paris'", "-c", "SHOW TimeZone")
    eq(r.stdout.split("\n")[:-1], ["SET", "UTC"], "time zone stays UTC")
    check("WARNING" in r.stderr and "UTC" in r.stderr, r.stderr)
    t0 = time.time()
    r = psql(lake, "-At", "-v", "VERBOSITY=verbose", "-c", "SET statement_timeout = '1s'",
             "-c", SLOW, "-c", "SELECT 'alive'")
    check(time.time() - t0 < 30, "statement_timeout honoured")
    check("57014" in r.stderr, r.stderr)
    check(r.stdout.strip().endswith("alive"), r.stdout)
    # empty query and comments only
    r = psql(lake, "-At", "-c", "-- nothing\n;")
    eq(r.returncode, 0, r.stderr)


@test
def psql_authentication_and_database():
    lake = Lake(settings=QUIET).start()
    r = psql(lake, "-At", "-c", "SELECT 1", password="wrong-password")
    eq(r.returncode, 2, "exit code of a failed login")
    check('password authentication failed for user "admin"' in r.stderr, r.stderr)
    r = psql(lake, "-At", "-c", "SELECT 1", user="nobody", password="whatever-pw")
    eq(r.returncode, 2, "unknown user")
    check('password authentication failed for user "nobody"' in r.stderr, r.stderr)
    r = psql(lake, "-At", "-c", "SELECT 1", db="postgres")
    eq(r.returncode, 2, "wrong database")
    check('database "postgres" does not exist' in r.stderr and '"lake"' in r.stderr, r.stderr)
    r = psql(lake, "-At", "-c", "SELECT current_user")
    eq(r.returncode, 0, r.stderr)
    # audited: the failures and the success, with the source address
    auth = [a for a in lake.audit_lines() if a.get("event") == "auth" and a.get("scheme") == "pg"]
    failed = [a for a in auth if a.get("outcome") == "failed"]
    ok = [a for a in auth if a.get("outcome") == "ok"]
    check(any(a["principal"] == "admin" and a["why"] == "bad secret" for a in failed), auth)
    check(any(a["principal"] == "nobody" and a["why"] == "unknown" for a in failed), auth)
    check(ok and all(a.get("source") == "127.0.0.1" for a in auth), auth)
    # a user made through the REST API logs in with SCRAM; a disabled one does not
    lake.json("POST", "/v1/users", {"name": "carol", "password": "carol-password"}, want=201)
    r = psql(lake, "-At", "-c", "SELECT 7", user="carol", password="carol-password")
    eq((r.returncode, r.stdout.strip()), (0, "7"), r.stderr)
    # lockout after repeated failures, as for HTTP Basic
    for _ in range(10):
        psql(lake, "-At", "-c", "SELECT 1", user="carol", password="bad-password-x")
    r = psql(lake, "-At", "-c", "SELECT 1", user="carol", password="carol-password")
    eq(r.returncode, 2, "locked out")
    check("too many failed logins" in r.stderr, r.stderr)


@test
def psql_cancel_and_governance():
    lake = Lake(settings=QUIET).start()
    # a table only admins can read
    folder = os.path.join(lake.dir, "03-master-data-zone", "secrets")
    os.makedirs(folder)
    with open(os.path.join(folder, "s.csv"), "w") as f:
        f.write("id,code\n1,alpha\n2,beta\n")
    lake.json("POST", "/v1/crawl")
    r = psql(lake, "-At", "-c", "SELECT code FROM master.secrets ORDER BY id")
    eq(r.stdout.split(), ["alpha", "beta"], r.stderr)
    lake.json("POST", "/v1/users", {"name": "analyst", "password": "analyst-password"}, want=201)
    r = psql(lake, "-At", "-v", "VERBOSITY=verbose", "-c", "SELECT code FROM master.secrets",
             "-c", "SELECT 'still here'", user="analyst", password="analyst-password")
    check("ERROR:  42501" in r.stderr, r.stderr)
    eq(r.stdout.strip(), "still here", "session usable after a denial")
    denied = [a for a in lake.audit_lines() if a.get("principal") == "analyst" and
              a.get("event") == "query" and a.get("outcome") == "FAILED" and
              "master.secrets" in a.get("sql", "")]
    check(denied, "the denial is in the audit trail")

    # CancelRequest from a second connection (psycopg2's cancel)
    conn = psycopg2.connect(host="127.0.0.1", port=lake.pg_port, user=ROOT_USER,
                            password=ROOT_PASSWORD, dbname="lake")
    conn.autocommit = True
    cur = conn.cursor()
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    t0 = time.time()
    try:
        cur.execute(SLOW)
        raise Failure("the slow query was not canceled")
    except psycopg2.Error as e:
        eq(e.pgcode, "57014", str(e))
        check("cancel" in str(e), str(e))
    timer.join()
    check(time.time() - t0 < 30, f"canceled in {time.time() - t0:.1f}s")
    cur.execute("SELECT 'usable'")
    eq(cur.fetchone(), ("usable",), "session after cancel")
    conn.close()


@test
def psql_tls():
    # a lake made with --tls: sslmode=require works and is encrypted; with
    # pg.allow_cleartext the password is asked in clear, but only over TLS
    lake = Lake(settings=dict(QUIET, **{"pg.allow_cleartext": "true"}))
    tls_dir = os.path.join(lake.tmp, "tls", "lake")  # the lake (and database) is "lake"
    out = subprocess.run([TARN, "init", tls_dir, "--tls"], env=tarn_env(), capture_output=True,
                         text=True)
    eq(out.returncode, 0, out.stderr)
    lake.dir = tls_dir
    lake.start(wait=False)
    deadline = time.time() + 60
    while "ready: https://" not in lake.tail(50):
        check(time.time() < deadline and lake.proc.poll() is None, lake.tail())
        time.sleep(0.1)
    r = psql(lake, "-At", "-c", "SELECT 'over tls'", "-c", "\\conninfo", sslmode="require")
    eq(r.returncode, 0, r.stderr)
    check(r.stdout.startswith("over tls"), r.stdout)
    check("SSL connection (protocol: TLSv1." in r.stdout, r.stdout)
    cert = os.path.join(tls_dir, ".tarn", "tls", "server.crt")
    r = psql(lake, "-At", "-c", "SELECT 2", sslmode="verify-full", extra=f"sslrootcert={cert}")
    eq((r.returncode, r.stdout.strip()), (0, "2"), r.stderr)
    # plain connections are still served when the client does not ask for TLS
    r = psql(lake, "-At", "-c", "SELECT 3", sslmode="disable")
    eq((r.returncode, r.stdout.strip()), (0, "3"), r.stderr)
    vias = [a.get("via") for a in lake.audit_lines()
            if a.get("event") == "auth" and a.get("scheme") == "pg" and a.get("outcome") == "ok"]
    eq(vias, ["pg-password", "pg-password", "scram"], "cleartext over TLS only")
    r = psql(lake, "-At", "-c", "SELECT 1", sslmode="require", password="wrong-password")
    eq(r.returncode, 2, "wrong password in clear")
    check("password authentication failed" in r.stderr, r.stderr)
    # no certificate configured: sslmode=require fails, prefer falls back
    plain = Lake(settings=QUIET).start()
    r = psql(plain, "-At", "-c", "SELECT 1", sslmode="require")
    eq(r.returncode, 2, "require without TLS")
    check("server does not support SSL" in r.stderr, r.stderr)
    r = psql(plain, "-At", "-c", "SELECT 1", sslmode="prefer")
    eq((r.returncode, r.stdout.strip()), (0, "1"), r.stderr)


if __name__ == "__main__":
    run()

#!/usr/bin/python3
"""pg_client.py - `make bench-pg`: one timed run of one client reading one
query's whole result from a PostgreSQL-protocol server (tarn or PostgreSQL).

  pg_client.py MODE HOST PORT DB USER SQL

The password comes from PGPASSWORD (never argv).  MODE:
  psql       psql -X -A -t -c SQL, output to /dev/null (FETCH_COUNT unset:
             psql receives the whole result, then prints it)
  named      psycopg2, a named (server-side) cursor, itersize 10000: the rows
             come in FETCH batches of 10000, each row turned into Python
  fetchmany  psycopg2, a plain cursor: execute, then fetchmany(10000) until
             empty (libpq receives the whole result first)
  checksum   psql -X -A -t -c SQL, every output line sorted (LC_ALL=C):
             prints the line count and SHA-256 of the sorted text, to check
             that both servers send the same rows in the same text form

Prints one line of key=value figures: rows, seconds (wall, connect to last
row), rows_s, client_cpu_s (the client's user + system CPU; for psql, its
process's).  Exits non-zero with the error on stderr if the query fails or,
for the psycopg2 modes, if the row count differs from BENCH_PG_EXPECT_ROWS
(when set).  Runs bounded: psql is killed after BENCH_PG_TIMEOUT seconds
(default 900); bench/pg.sh bounds the psycopg2 modes with timeout(1).
"""
import hashlib
import os
import resource
import subprocess
import sys
import time


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def psql_args(host, port, db, user, sql):
    return ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port,
            "-U", user, "-d", db, "-c", sql]


def main():
    if len(sys.argv) != 7:
        sys.exit("usage: pg_client.py psql|named|fetchmany|checksum HOST PORT DB USER SQL")
    mode, host, port, db, user, sql = sys.argv[1:]
    timeout = int(os.environ.get("BENCH_PG_TIMEOUT", "900"))
    expect = int(os.environ.get("BENCH_PG_EXPECT_ROWS", "-1"))
    env = dict(os.environ, PGSSLMODE="disable", PGGSSENCMODE="disable",
               PGAPPNAME="tarn-bench-pg", PGCONNECT_TIMEOUT="20")
    env.pop("FETCH_COUNT", None)
    if mode == "psql":
        c0, t0 = cpu_children(), time.monotonic()
        with open(os.devnull, "wb") as null:
            p = subprocess.run(psql_args(host, port, db, user, sql), stdout=null,
                               stderr=subprocess.PIPE, env=env, timeout=timeout)
        secs, cpu = time.monotonic() - t0, cpu_children() - c0
        if p.returncode != 0:
            sys.exit(f"psql exited {p.returncode}: {p.stderr.decode(errors='replace')[-500:]}")
        rows = expect if expect >= 0 else 0
    elif mode == "checksum":
        p = subprocess.run(psql_args(host, port, db, user, sql), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=timeout)
        if p.returncode != 0:
            sys.exit(f"psql exited {p.returncode}: {p.stderr.decode(errors='replace')[-500:]}")
        lines = p.stdout.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        lines.sort()
        h = hashlib.sha256()
        for ln in lines:
            h.update(ln)
            h.update(b"\n")
        print(f"rows={len(lines)} sha256={h.hexdigest()} first={lines[0][:120].decode(errors='replace') if lines else ''}")
        return
    elif mode in ("named", "fetchmany"):
        import psycopg2
        os.environ.update(env)
        c0, t0 = cpu_self(), time.monotonic()
        conn = psycopg2.connect(host=host, port=int(port), dbname=db, user=user,
                                password=os.environ.get("PGPASSWORD", ""))
        rows = 0
        try:
            if mode == "named":
                cur = conn.cursor(name="bench_pg")
                cur.itersize = 10000
                cur.execute(sql)
                for _ in cur:
                    rows += 1
                cur.close()
            else:
                cur = conn.cursor()
                cur.execute(sql)
                while True:
                    batch = cur.fetchmany(10000)
                    if not batch:
                        break
                    rows += len(batch)
                cur.close()
            conn.rollback()
        finally:
            conn.close()
        secs, cpu = time.monotonic() - t0, cpu_self() - c0
        if expect >= 0 and rows != expect:
            sys.exit(f"{mode}: {rows} rows, want {expect}")
    else:
        sys.exit(f"unknown mode '{mode}'")
    print(f"rows={rows} seconds={secs:.3f} rows_s={rows / secs if secs > 0 else 0:.0f} "
          f"client_cpu_s={cpu:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The PostgreSQL endpoint with psycopg2 (Debian's python3-psycopg2): parameters
of every common type round-tripping Python values, a million rows through
fetchmany and through a named (server-side) cursor with the server's memory
bounded, and transactions."""
import datetime
import decimal
import os
import threading
import time
import uuid

import psycopg2
import psycopg2.extras

from tarnlib import ROOT_PASSWORD, ROOT_USER, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


def connect(lake, **kw):
    return psycopg2.connect(host="127.0.0.1", port=lake.pg_port, user=ROOT_USER,
                            password=ROOT_PASSWORD, dbname="lake", **kw)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def lake_with_thousand():
    """master.nums: 1000 rows (i = 0..999); its self cross join is a million rows."""
    # a sanitizer build keeps freed memory in quarantine (RSS would grow with the bytes
    # allocated, not with the bytes held): keep it small so RSS measures what is held
    asan = os.environ.get("ASAN_OPTIONS", "")
    lake = Lake(settings=QUIET).start(env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                                           "quarantine_size_mb=4"})
    folder = os.path.join(lake.dir, "03-master-data-zone", "nums")
    os.makedirs(folder)
    with open(os.path.join(folder, "nums.csv"), "w") as f:
        f.write("i\n" + "".join(f"{i}\n" for i in range(1000)))
    lake.json("POST", "/v1/crawl")
    return lake


@test
def psycopg2_parameters_of_every_type():
    lake = Lake(settings=QUIET).start()
    psycopg2.extras.register_uuid()
    conn = connect(lake)
    cur = conn.cursor()
    tz = datetime.timezone.utc
    values = [
        ("int2", 12345, "%s::int2", 21),
        ("int4", -2000000000, "%s::int4", 23),
        ("int8", 9000000000000000000, "%s::int8", 20),
        ("float4", 1.5, "%s::float4", 700),
        ("float8", 3.141592653589793, "%s::float8", 701),
        ("numeric", decimal.Decimal("12345.678"), "%s::numeric(12,3)", 1700),
        ("bool", True, "%s::bool", 16),
        # DuckDB has one string type: text is VARCHAR (1043) on the wire
        ("text", "héllo 'quoted' \\ back", "%s::text", 1043),
        ("varchar", "plain", "%s::varchar", 1043),
        ("date", datetime.date(1999, 12, 31), "%s::date", 1082),
        ("time", datetime.time(23, 59, 58, 123456), "%s::time", 1083),
        ("timestamp", datetime.datetime(2026, 11, 22, 5, 40, 39, 123000), "%s::timestamp",
         1114),
        ("timestamptz", datetime.datetime(2026, 11, 22, 5, 40, 39, tzinfo=tz),
         "%s::timestamptz", 1184),
        ("interval", datetime.timedelta(days=3, hours=4, seconds=5), "%s::interval", 1186),
        ("uuid", uuid.UUID("12345678-1234-5678-9abc-def012345678"), "%s::uuid", 2950),
        # psycopg2 writes bytes as PostgreSQL's hex form '\x..'::bytea
        ("bytea", bytes(range(256)) + b"'\\x41", "%s", 17),
        ("bytea cast", b"\x00\x01\xfe\xff'\\", "%s::bytea", 17),
        ("bytea empty", b"", "%s", 17),
    ]
    for name, v, expr, oid in values:
        cur.execute("SELECT " + expr + " AS v", (v,))
        got = cur.fetchone()[0]
        if isinstance(got, memoryview):
            got = bytes(got)
        eq(got, v, name)
        eq(cur.description[0].type_code, oid, name + " OID")
    # bytea results: psycopg2 decodes PostgreSQL's hex form
    cur.execute("SELECT from_hex('0001FEFF275C') AS b")
    eq(bytes(cur.fetchone()[0]), b"\x00\x01\xfe\xff'\\", "bytea")
    eq(cur.description[0].type_code, 17, "bytea OID")
    # several at once, NULLs, and json
    cur.execute("SELECT %s::int4 AS a, %s::text AS b, %s::json AS j",
                (None, None, psycopg2.extras.Json({"k": [1, 2, "x"]})))
    row = cur.fetchone()
    eq(row[:2], (None, None), "NULLs")
    eq(row[2], {"k": [1, 2, "x"]}, "json")
    eq(cur.description[2].type_code, 114, "json OID")
    # the parameter text is data, never SQL
    cur.execute("SELECT %s AS v", ("'); DROP TABLE x; --",))
    eq(cur.fetchone()[0], "'); DROP TABLE x; --", "quoting")
    conn.close()


@test
def psycopg2_million_rows_bounded_memory():
    lake = lake_with_thousand()
    sql = ("SELECT a.i * 1000 + b.i AS n, repeat('x', 200) AS pad "
           "FROM master.nums a CROSS JOIN master.nums b")
    pid = lake.proc.pid
    conn = connect(lake)
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM master.nums")
    eq(cur.fetchone()[0], 1000, "base table")
    conn.commit()
    base = rss_kib(pid)
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    th = threading.Thread(target=sample)
    th.start()
    try:
        # a named cursor: DECLARE / FETCH FORWARD n / CLOSE inside a transaction;
        # the query stays suspended on the server between FETCHes
        named = conn.cursor(name="big")
        named.itersize = 5000
        named.execute(sql)
        total = 0
        checksum = 0
        while True:
            rows = named.fetchmany(5000)
            if not rows:
                break
            total += len(rows)
            checksum += sum(r[0] for r in rows)
            check(all(len(r[1]) == 200 for r in rows), "pad")
        named.close()
        conn.commit()
        eq(total, 1000000, "rows through the named cursor")
        eq(checksum, sum(range(1000000)), "every row once")
        # a client-side cursor: psycopg2 reads the whole result; the server streams it
        cur = conn.cursor()
        cur.execute(sql)
        total = 0
        while True:
            rows = cur.fetchmany(100000)
            if not rows:
                break
            total += len(rows)
        eq(total, 1000000, "rows through fetchmany")
        conn.commit()
    finally:
        stop.set()
        th.join()
    grown_mib = (peak[0] - base) / 1024
    print(f"  server RSS {base // 1024} MiB before, peak {peak[0] // 1024} MiB "
          f"(+{grown_mib:.0f} MiB) for 1M rows (~215 MB of DataRows)", flush=True)
    # the result is ~215 MB of DataRows; a server that buffered it would grow by that
    check(grown_mib < 100, f"server memory grew by {grown_mib:.0f} MiB")
    conn.close()


@test
def psycopg2_named_cursor_and_transactions():
    lake = lake_with_thousand()
    conn = connect(lake)
    cur = conn.cursor(name="c1")
    cur.execute("SELECT i FROM master.nums ORDER BY i")
    eq(cur.fetchmany(3), [(0,), (1,), (2,)], "first fetch")
    cur.scroll(10)  # MOVE 10
    eq(cur.fetchone(), (13,), "after MOVE")
    eq(len(cur.fetchall()), 986, "the rest")
    cur.close()
    conn.commit()
    # a second named cursor in the same transaction, closed early
    c2 = conn.cursor(name="c2")
    c2.execute("SELECT i FROM master.nums")
    eq(len(c2.fetchmany(10)), 10, "partial")
    c2.close()
    conn.rollback()
    # DECLARE runs only reads
    cur = conn.cursor()
    try:
        cur.execute("DECLARE w CURSOR FOR CREATE TABLE mart.nope AS SELECT 1")
        raise AssertionError("DECLARE of a write accepted")
    except psycopg2.Error as e:
        eq(e.pgcode, "42601", str(e))
    conn.rollback()
    check(not os.path.exists(os.path.join(lake.dir, "warehouse", "mart", "nope")), "no write")
    # an error inside a transaction: the block is failed until ROLLBACK
    cur = conn.cursor()
    cur.execute("SELECT 1")
    try:
        cur.execute("SELECT * FROM master.no_such")
        raise AssertionError("no error")
    except psycopg2.Error as e:
        check(e.pgcode in ("42P01", "3F000"), e.pgcode)
    try:
        cur.execute("SELECT 2")
        raise AssertionError("no error in a failed block")
    except psycopg2.errors.InFailedSqlTransaction:
        pass
    eq(conn.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_INERROR,
       "failed block")
    conn.rollback()
    cur.execute("SELECT 3")
    eq(cur.fetchone(), (3,), "after rollback")
    eq(conn.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_INTRANS, "in block")
    conn.commit()
    eq(conn.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_IDLE, "idle")
    # writes through the endpoint: CREATE TABLE AS, INSERT, DROP with their tags
    conn.autocommit = True
    cur.execute("CREATE TABLE mart.evens AS SELECT i FROM master.nums WHERE i % 2 = 0")
    eq(cur.statusmessage, "SELECT 500", "CREATE TABLE AS tag")
    cur.execute("INSERT INTO mart.evens SELECT i FROM master.nums WHERE i < 10")
    eq(cur.statusmessage, "INSERT 0 10", "INSERT tag")
    cur.execute("SELECT count(*) FROM mart.evens")
    eq(cur.fetchone(), (510,), "rows written")
    blob = b"\x00\x01\x02\xff\\x30"
    cur.execute("CREATE TABLE mart.blobs AS SELECT 1 AS k, %s AS b", (blob,))
    cur.execute("INSERT INTO mart.blobs SELECT 2 AS k, %s AS b", (psycopg2.Binary(blob[::-1]),))
    cur.execute("SELECT k, b, octet_length(b) FROM mart.blobs ORDER BY k")
    eq([(k, bytes(b), n) for k, b, n in cur.fetchall()],
       [(1, blob, 8), (2, blob[::-1], 8)], "bytea written")
    cur.execute("DROP TABLE mart.blobs")
    cur.execute("DROP TABLE mart.evens")
    eq(cur.statusmessage, "DROP TABLE", "DROP tag")
    conn.close()


if __name__ == "__main__":
    run()

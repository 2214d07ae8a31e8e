#!/usr/bin/env python3
"""The PostgreSQL endpoint on raw sockets: the extended protocol message by
message (row limits and PortalSuspended, binary parameters and results,
discard until Sync), and bad input (malformed, truncated and oversized
messages, wrong lengths, unknown message types, protocol 2.0, a startup
packet flood), limits (max connections, idle timeout); the server keeps
serving a real psql afterwards."""
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import time

from tarnlib import ROOT_PASSWORD, ROOT_USER, Failure, Lake, check, eq, run, test

QUIET = {"catalog.crawl_delay": "3600000ms", "catalog.crawl_interval": "0"}


class Conn:
    """A raw protocol 3.0 connection."""

    def __init__(self, lake, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", lake.pg_port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def msg(self, t, body=b""):
        self.send(t + struct.pack("!I", len(body) + 4) + body)

    def startup(self, user=ROOT_USER, db="lake", version=196608):
        body = struct.pack("!I", version)
        for k, v in (("user", user), ("database", db)):
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        self.send(struct.pack("!I", len(body) + 4) + body)

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        t = self.recv_exact(1)
        n = struct.unpack("!I", self.recv_exact(4))[0]
        return t, self.recv_exact(n - 4)

    def until(self, want):
        """Messages up to and including the first of type want."""
        out = []
        while True:
            t, b = self.read()
            out.append((t, b))
            if t == want:
                return out

    def closed(self):
        """True if the server closed the connection (after any pending bytes)."""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, socket.timeout):
            return False

    def login(self, user=ROOT_USER, password=ROOT_PASSWORD):
        self.startup(user)
        t, b = self.read()
        eq(t, b"R", "authentication request")
        eq(struct.unpack("!I", b[:4])[0], 10, "AuthenticationSASL")
        check(b"SCRAM-SHA-256\0" in b, b)
        cnonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n=,r={cnonce}"
        first = ("n,," + first_bare).encode()
        self.msg(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
        t, b = self.read()
        eq((t, struct.unpack("!I", b[:4])[0]), (b"R", 11), "SASLContinue")
        server_first = b[4:].decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored = hashlib.sha256(client_key).digest()
        final_wo = f"c=biws,r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first},{final_wo}".encode()
        sig = hmac.new(stored, auth_msg, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        self.msg(b"p", f"{final_wo},p={base64.b64encode(proof).decode()}".encode())
        msgs = self.until(b"Z")
        types = [m[0] for m in msgs]
        check(b"E" not in types, msgs)
        check(b"K" in types and b"S" in types, types)
        return msgs

    def close(self):
        self.s.close()


def error_fields(body):
    out = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode()
    return out


def expect_error(c, code, fatal=True, what=""):
    t, b = c.read()
    eq(t, b"E", f"{what}: an ErrorResponse")
    f = error_fields(b)
    eq(f.get("C"), code, f"{what}: SQLSTATE ({f.get('M')})")
    if fatal:
        eq(f.get("S"), "FATAL", what)
        check(c.closed(), f"{what}: the connection is closed")
    return f


def psql_ok(lake):
    env = dict(os.environ, PGPASSWORD=ROOT_PASSWORD)
    r = subprocess.run(["/usr/bin/psql", "-X", "-At", f"host=127.0.0.1 port={lake.pg_port} "
                        f"user={ROOT_USER} dbname=lake sslmode=disable", "-c", "SELECT 40 + 2"],
                       capture_output=True, text=True, env=env, timeout=60)
    eq((r.returncode, r.stdout.strip()), (0, "42"), r.stderr)


def q(text):
    return text.encode() + b"\0"


@test
def extended_protocol_messages():
    lake = Lake(settings=QUIET).start()
    folder = os.path.join(lake.dir, "03-master-data-zone", "nums")
    os.makedirs(folder)
    with open(os.path.join(folder, "nums.csv"), "w") as f:
        f.write("i,s\n" + "".join(f"{i},s{i}\n" for i in range(10)))
    lake.json("POST", "/v1/crawl")
    c = Conn(lake)
    c.login()
    # Parse with a typed parameter, Describe the statement, Bind binary int4, ask binary results
    c.msg(b"P", q("s1") + q("SELECT i, s FROM master.nums WHERE i >= $1 ORDER BY i") +
          struct.pack("!HI", 1, 23))
    c.msg(b"D", b"S" + q("s1"))
    c.msg(b"B", q("p1") + q("s1") + struct.pack("!HH", 1, 1) + struct.pack("!H", 1) +
          struct.pack("!i", 4) + struct.pack("!i", 3) + struct.pack("!HH", 1, 1))
    c.msg(b"D", b"P" + q("p1"))
    c.msg(b"E", q("p1") + struct.pack("!i", 4))
    c.msg(b"S")
    msgs = c.until(b"Z")
    types = [m[0] for m in msgs]
    eq(types, [b"1", b"t", b"T", b"2", b"T", b"D", b"D", b"D", b"D", b"s", b"Z"], "messages")
    eq(struct.unpack("!HI", msgs[1][1]), (1, 23), "ParameterDescription")
    rows = [m[1] for m in msgs if m[0] == b"D"]
    # binary: int8 column (8 bytes big-endian) then text column in binary = its bytes
    ncol, l1 = struct.unpack("!Hi", rows[0][:6])
    eq((ncol, l1), (2, 8), "binary int8")
    eq(struct.unpack("!q", rows[0][6:14])[0], 3, "first row")
    eq(rows[3][14 + 4:], b"s6", "binary text")
    eq(msgs[-1][1], b"I", "idle")
    # a portal suspended inside a transaction block, resumed by the next Execute
    c.msg(b"Q", q("BEGIN"))
    c.until(b"Z")
    c.msg(b"B", q("p2") + q("s1") + struct.pack("!HH", 1, 0) + struct.pack("!H", 1) +
          struct.pack("!i", 1) + b"0" + struct.pack("!H", 0))
    c.msg(b"E", q("p2") + struct.pack("!i", 6))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"2"] + [b"D"] * 6 + [b"s", b"Z"], "first page")
    eq(msgs[-1][1], b"T", "in a block")
    c.msg(b"E", q("p2") + struct.pack("!i", 6))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"D"] * 4 + [b"C", b"Z"], "second page")
    eq(msgs[-2][1], q("SELECT 4"), "tag of the last Execute")
    eq(msgs[3][1], struct.pack("!Hi", 2, 1) + b"9" + struct.pack("!i", 2) + b"s9", "text row")
    c.msg(b"C", b"P" + q("p2"))
    c.msg(b"Q", q("COMMIT"))
    c.until(b"Z")
    # an error at Parse: messages are discarded until Sync, then the session goes on
    c.msg(b"P", q("") + q("SELEC 1") + struct.pack("!H", 0))
    c.msg(b"B", q("") + q("") + struct.pack("!HHH", 0, 0, 0))
    c.msg(b"E", q("") + struct.pack("!i", 0))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"E", b"Z"], "discard until Sync")
    eq(error_fields(msgs[0][1])["C"], "42601", "syntax error at Parse")
    # session commands through Parse/Bind/Execute (as pgjdbc sends them)
    for sql, tag in (("BEGIN", b"BEGIN"), ("SET extra_float_digits = 3", b"SET"),
                     ("COMMIT", b"COMMIT")):
        c.msg(b"P", q("") + q(sql) + struct.pack("!H", 0))
        c.msg(b"B", q("") + q("") + struct.pack("!HHH", 0, 0, 0))
        c.msg(b"D", b"P" + q(""))
        c.msg(b"E", q("") + struct.pack("!i", 0))
        c.msg(b"S")
        msgs = c.until(b"Z")
        eq([m[0] for m in msgs], [b"1", b"2", b"n", b"C", b"Z"], sql)
        eq(msgs[3][1], tag + b"\0", sql)
    # text parameters without declared types: the statement's inferred types
    c.msg(b"P", q("") + q("SELECT i * 2 AS n, upper($2) AS u FROM master.nums WHERE i = $1") +
          struct.pack("!H", 0))
    c.msg(b"B", q("") + q("") + struct.pack("!H", 0) + struct.pack("!H", 2) +
          struct.pack("!i", 1) + b"4" + struct.pack("!i", 2) + b"ab" + struct.pack("!H", 0))
    c.msg(b"E", q("") + struct.pack("!i", 0))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"1", b"2", b"D", b"C", b"Z"], f"inferred parameters {msgs}")
    eq(msgs[2][1], struct.pack("!Hi", 2, 1) + b"8" + struct.pack("!i", 2) + b"AB", "values")
    # a parameter whose type nothing gives: integer, as PostgreSQL infers for $1 + 1
    c.msg(b"P", q("inf") + q("SELECT $1 + 1 AS n") + struct.pack("!H", 0))
    c.msg(b"D", b"S" + q("inf"))
    c.msg(b"B", q("") + q("inf") + struct.pack("!H", 0) + struct.pack("!H", 1) +
          struct.pack("!i", 2) + b"41" + struct.pack("!H", 0))
    c.msg(b"E", q("") + struct.pack("!i", 0))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"1", b"t", b"T", b"2", b"D", b"C", b"Z"], f"$1 + 1 {msgs}")
    eq(struct.unpack("!HI", msgs[1][1]), (1, 23), "$1 + 1: $1 is int4")
    eq(msgs[2][1][-12:-8], struct.pack("!I", 23), "$1 + 1 is int4")
    eq(msgs[4][1], struct.pack("!Hi", 1, 2) + b"42", "$1 + 1 with 41")
    c.msg(b"C", b"S" + q("inf"))
    c.msg(b"S")
    c.until(b"Z")
    # ... while a statement wrong whatever the type still fails at Parse with its error
    c.msg(b"P", q("") + q("SELECT $1 + no_such_column") + struct.pack("!H", 0))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"E", b"Z"], "bad statement with an open parameter")
    eq(error_fields(msgs[0][1])["C"], "42703", "its own error")
    # bytea and other binary parameters, results in binary
    blob = bytes(range(256))
    c.msg(b"P", q("") + q("SELECT $1::BLOB AS b, octet_length($1::BLOB) AS n, $2 AS d") +
          struct.pack("!HII", 2, 17, 1082))
    c.msg(b"B", q("") + q("") + struct.pack("!HH", 1, 1) + struct.pack("!H", 2) +
          struct.pack("!i", 256) + blob + struct.pack("!i", 4) + struct.pack("!i", 9496) +
          struct.pack("!HH", 1, 1))
    c.msg(b"E", q("") + struct.pack("!i", 0))
    c.msg(b"S")
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"1", b"2", b"D", b"C", b"Z"], f"binary parameters {msgs}")
    row = msgs[2][1]
    eq(struct.unpack("!Hi", row[:6]), (3, 256), "bytea length")
    eq(row[6:262], blob, "bytea bytes")
    eq(struct.unpack("!iq", row[262:274]), (8, 256), "octet_length")
    eq(struct.unpack("!ii", row[274:282]), (4, 9496), "date (days since 2000-01-01)")
    c.close()
    psql_ok(lake)


def backend_key(msgs):
    """(pid, secret) of BackendKeyData among a login's messages."""
    return next(struct.unpack("!II", b) for t, b in msgs if t == b"K")


def cancel(lake, key):
    """A CancelRequest for key on a connection of its own."""
    s = socket.create_connection(("127.0.0.1", lake.pg_port), timeout=10)
    s.sendall(struct.pack("!IIII", 16, 80877102, *key))
    s.settimeout(10)
    check(s.recv(1) == b"", "the cancel connection is closed without an answer")
    s.close()


@test
def cancel_reaches_describe_and_paused_portal():
    # one engine connection: a paused portal holds it, so another session's Parse
    # (its describe) waits in the queue until canceled or the portal ends
    lake = Lake(settings=dict(QUIET, **{"query.max_running": "1"})).start()
    folder = os.path.join(lake.dir, "03-master-data-zone", "nums")
    os.makedirs(folder)
    with open(os.path.join(folder, "nums.csv"), "w") as f:
        f.write("i\n" + "".join(f"{i}\n" for i in range(100)))
    lake.json("POST", "/v1/crawl")
    a, b = Conn(lake, timeout=30), Conn(lake, timeout=30)
    ka, kb = backend_key(a.login()), backend_key(b.login())
    # a: a portal paused after 2 rows, inside a block so Sync keeps it
    a.msg(b"Q", q("BEGIN"))
    a.until(b"Z")
    a.msg(b"P", q("s") + q("SELECT i FROM master.nums ORDER BY i") + struct.pack("!H", 0))
    a.msg(b"B", q("p") + q("s") + struct.pack("!HHH", 0, 0, 0))
    a.msg(b"E", q("p") + struct.pack("!i", 2))
    a.msg(b"S")
    eq([m[0] for m in a.until(b"Z")], [b"1", b"2", b"D", b"D", b"s", b"Z"], "paused portal")
    # b: Parse waits for the engine connection in its describe; a cancel ends it
    b.msg(b"P", q("") + q("SELECT count(*) FROM master.nums") + struct.pack("!H", 0))
    b.msg(b"S")
    b.s.settimeout(1.5)
    try:
        b.read()
        raise Failure("the describe did not wait for the engine connection")
    except socket.timeout:
        pass
    b.s.settimeout(30)
    t0 = time.time()
    cancel(lake, kb)
    msgs = b.until(b"Z")
    eq([m[0] for m in msgs], [b"E", b"Z"], "canceled describe")
    eq(error_fields(msgs[0][1])["C"], "57014", "describe canceled at Parse")
    check(time.time() - t0 < 10, f"describe canceled in {time.time() - t0:.1f}s")
    # a: the cancel ends the paused portal's query, which gives the engine back ...
    cancel(lake, ka)
    b.msg(b"Q", q("SELECT count(*) FROM master.nums"))
    msgs = b.until(b"Z")
    eq([m[0] for m in msgs], [b"T", b"D", b"C", b"Z"], "the engine connection is free")
    eq(msgs[1][1], struct.pack("!Hi", 1, 3) + b"100", "count")
    # ... and its next Execute answers 57014; the session goes on
    a.msg(b"E", q("p") + struct.pack("!i", 2))
    a.msg(b"S")
    msgs = a.until(b"Z")
    eq([m[0] for m in msgs], [b"E", b"Z"], "Execute after the cancel")
    eq(error_fields(msgs[0][1])["C"], "57014", "canceled portal")
    a.msg(b"Q", q("ROLLBACK"))
    a.until(b"Z")
    a.msg(b"Q", q("SELECT 7"))
    eq([m[0] for m in a.until(b"Z")], [b"T", b"D", b"C", b"Z"], "session after the cancel")
    # a cancel with no query running changes nothing
    cancel(lake, ka)
    a.msg(b"Q", q("SELECT 8"))
    eq([m[0] for m in a.until(b"Z")], [b"T", b"D", b"C", b"Z"], "idle cancel")
    a.close()
    b.close()
    lake.stop()


@test
def startup_bad_input():
    lake = Lake(settings=QUIET).start()
    # protocol 2.0
    c = Conn(lake)
    c.startup(version=2 << 16)
    expect_error(c, "0A000", what="protocol 2.0")
    # a length below the minimum, and one past the startup cap
    c = Conn(lake)
    c.send(struct.pack("!II", 4, 196608))
    expect_error(c, "08P01", what="short startup length")
    c = Conn(lake)
    c.send(struct.pack("!II", 1000000, 196608))
    expect_error(c, "08P01", what="oversized startup packet")
    # an unknown request code
    c = Conn(lake)
    c.send(struct.pack("!II", 8, (1234 << 16) | 9999))
    expect_error(c, "0A000", what="unknown request code")
    # bytes after an SSLRequest, before the answer
    c = Conn(lake)
    c.send(struct.pack("!II", 8, 80877103) + b"junk")
    expect_error(c, "08P01", what="bytes buffered before TLS")
    # SSLRequest without TLS configured, and GSSENCRequest: 'N', then a normal startup
    c = Conn(lake)
    c.send(struct.pack("!II", 8, 80877103))
    eq(c.recv_exact(1), b"N", "SSLRequest answer")
    c.send(struct.pack("!II", 8, 80877104))
    eq(c.recv_exact(1), b"N", "GSSENCRequest answer")
    c.login()
    c.close()
    # no user; a startup packet without its terminator
    c = Conn(lake)
    body = struct.pack("!I", 196608) + b"database\0lake\0\0"
    c.send(struct.pack("!I", len(body) + 4) + body)
    expect_error(c, "28000", what="no user")
    c = Conn(lake)
    body = struct.pack("!I", 196608) + b"user\0admin"
    c.send(struct.pack("!I", len(body) + 4) + body)
    expect_error(c, "08P01", what="unterminated startup parameters")
    # a wrong database
    c = Conn(lake)
    c.startup(db="postgres")
    f = expect_error(c, "3D000", what="wrong database")
    check('"lake"' in f["M"], f)
    # a truncated startup packet then EOF: nothing to answer, the server goes on
    c = Conn(lake)
    c.send(struct.pack("!I", 40) + b"\0\3")
    c.close()
    psql_ok(lake)


@test
def session_bad_input():
    lake = Lake(settings=QUIET).start()
    # an unknown message type
    c = Conn(lake)
    c.login()
    c.msg(b"z", b"whatever")
    expect_error(c, "08P01", what="unknown message type")
    # a Query without its terminating NUL
    c = Conn(lake)
    c.login()
    c.msg(b"Q", b"SELECT 1")
    expect_error(c, "08P01", what="unterminated query")
    # a length below 4
    c = Conn(lake)
    c.login()
    c.send(b"Q" + struct.pack("!I", 2))
    expect_error(c, "08P01", what="length below 4")
    # an oversized message: refused from its header, before the body is sent
    c = Conn(lake)
    c.login()
    c.send(b"Q" + struct.pack("!I", 200 << 20))
    expect_error(c, "54000", what="oversized message")
    # a Bind whose counts pass the message's end
    c = Conn(lake)
    c.login()
    c.msg(b"B", q("") + q("") + struct.pack("!HH", 0, 5))
    expect_error(c, "08P01", what="Bind with a wrong count")
    # a Sync with a body, an Execute cut short
    c = Conn(lake)
    c.login()
    c.msg(b"S", b"x")
    expect_error(c, "08P01", what="Sync with a body")
    c = Conn(lake)
    c.login()
    c.msg(b"E", b"\0\0")
    expect_error(c, "08P01", what="truncated Execute")
    # a message cut short by the client's EOF: the server just closes
    c = Conn(lake)
    c.login()
    c.send(b"Q" + struct.pack("!I", 100) + b"SELECT")
    c.s.shutdown(socket.SHUT_WR)
    check(c.closed(), "closed at EOF")
    # ordinary errors keep the session: a bad statement, then a good one
    c = Conn(lake)
    c.login()
    c.msg(b"Q", q("SELECT * FROM nowhere; SELECT 1"))
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"E", b"Z"], "error stops the rest of the message")
    # the error's position counts in the whole message's text (characters, not bytes)
    c.msg(b"Q", q("SELECT 'é'; SELEC 2"))
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"T", b"D", b"C", b"E", b"Z"], "error in the second statement")
    eq(error_fields(msgs[3][1]).get("P"), "13", "position")
    c.msg(b"Q", q("SELECT 1; ;  -- x\n SELECT 'two'"))
    msgs = c.until(b"Z")
    eq([m[0] for m in msgs], [b"T", b"D", b"C", b"T", b"D", b"C", b"Z"], "two statements")
    c.msg(b"Q", q("  -- only a comment\n"))
    eq([m[0] for m in c.until(b"Z")], [b"I", b"Z"], "EmptyQueryResponse")
    c.msg(b"X")
    check(c.closed(), "Terminate")
    psql_ok(lake)


@test
def limits_flood_connections_idle():
    lake = Lake(settings=dict(QUIET, **{"pg.max_connections": "3", "pg.idle_timeout": "2s"}))
    lake.start()
    # a flood of half startup packets: the server keeps serving, then drops them
    flood = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", lake.pg_port), timeout=30)
        s.sendall(struct.pack("!I", 64) + b"\0\3\0\0user\0")
        flood.append(s)
    psql_ok(lake)
    # sessions past pg.max_connections: 53300
    held = []
    for _ in range(3):
        c = Conn(lake)
        c.login()
        held.append(c)
    extra = Conn(lake)
    extra.startup()
    expect_error(extra, "53300", what="too many connections")
    for c in held:
        c.close()
    time.sleep(0.5)
    # idle sessions are closed after pg.idle_timeout
    c = Conn(lake)
    c.login()
    t0 = time.time()
    f = expect_error(c, "57P05", what="idle timeout")
    check(1.5 < time.time() - t0 < 10, f"closed after {time.time() - t0:.1f}s")
    check("idle" in f["M"], f)
    # the flood's connections were answered and closed by the startup timeout
    for s in flood:
        s.settimeout(30)
        data = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
        except OSError as e:
            raise Failure(f"flood connection: {e}")
        check(data.startswith(b"E") and b"08006" in data, data)
        s.close()
    psql_ok(lake)


@test
def ipv6_and_port_zero():
    lake = Lake(settings=dict(QUIET, **{"pg.listen": "[::1]:0"})).start()
    m = None
    for line in lake.tail(50).splitlines():
        if "PostgreSQL: [::1]:" in line:
            m = line.split("PostgreSQL: [::1]:")[1].split()[0]
    check(m and int(m) > 0, "the log names the port chosen: " + lake.tail())
    env = dict(os.environ, PGPASSWORD=ROOT_PASSWORD)
    r = subprocess.run(["/usr/bin/psql", "-X", "-At", f"host=::1 port={m} user={ROOT_USER} "
                        "dbname=lake sslmode=disable", "-c", "SELECT 'v6'"],
                       capture_output=True, text=True, env=env, timeout=60)
    eq((r.returncode, r.stdout.strip()), (0, "v6"), r.stderr)


if __name__ == "__main__":
    run()

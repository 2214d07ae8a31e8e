#!/usr/bin/env python3
"""HTTP/1.1 on the wire, against the real server through raw sockets:
keep-alive, pipelining, chunked bodies, 100-continue, HTTP/1.0, malformed
heads and bodies, size limits, idle timeouts, one event loop.
Run: TARN_BIN=... PYTHONPATH=tests/integration python3 this."""
import base64
import json
import socket
import time

from tarnlib import Lake, test, run, check, eq, ROOT_USER, ROOT_PASSWORD

AUTH = "Basic " + base64.b64encode(f"{ROOT_USER}:{ROOT_PASSWORD}".encode()).decode()


def connect(lake):
    s = socket.create_connection(("127.0.0.1", lake.port), timeout=30)
    return s


def read_answer(s, buf=b""):
    """Reads one answer: (status, headers dict lowercased, body, rest of buffer)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed before an answer: {buf!r}")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside a body")
        buf += chunk
    return status, headers, buf[:n], buf[n:]


def closed_by_server(s):
    """True if the server closes the connection (EOF or reset) within 5 s."""
    s.settimeout(5)
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def post(stream, body, extra=""):
    return (f"POST /v1/streams/{stream}/records HTTP/1.1\r\nHost: t\r\nAuthorization: {AUTH}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


@test
def keepalive_and_pipelining():
    lake = Lake().start()
    s = connect(lake)
    # 20 requests on one connection, one at a time
    for i in range(20):
        s.sendall(post("p", json.dumps({"i": i}).encode()))
        status, h, body, rest = read_answer(s)
        eq(status, 200, f"request {i}: {body!r}")
        eq(rest, b"", "nothing after the answer")
        check("date" in h and "x-request-id" in h, h)
    # 10 requests pipelined in one write: 10 answers, in order
    s.sendall(b"".join(post("p", json.dumps({"j": j}).encode()) for j in range(10)))
    buf, seqs = b"", []
    for j in range(10):
        status, h, body, buf = read_answer(s, buf)
        eq(status, 200, f"pipelined {j}")
        seqs.append(json.loads(body)["first_seq"])
    eq(seqs, sorted(seqs), "pipelined answers in order")
    s.close()
    lake.json("POST", "/v1/streams/p/flush")
    eq(len(lake.records("p")), 30, "records")
    eq(lake.stop(), 0, "clean stop")


@test
def chunked_bodies_and_continue():
    lake = Lake().start()
    recs = [json.dumps({"k": k, "pad": "x" * 300}) for k in range(200)]
    body = ("\n".join(recs) + "\n").encode()
    # chunked, in uneven chunks with an extension and a trailer, sent in pieces
    chunks = b""
    pos, sizes = 0, [1, 7, 4096, 333, 65536]
    k = 0
    while pos < len(body):
        n = sizes[k % len(sizes)]
        part = body[pos:pos + n]
        chunks += f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
        pos += n
        k += 1
    chunks += b"0\r\nX-Trailer: yes\r\n\r\n"
    s = connect(lake)
    head = (f"POST /v1/streams/ch/records HTTP/1.1\r\nHost: t\r\nAuthorization: {AUTH}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    s.sendall(head)
    for i in range(0, len(chunks), 1000):
        s.sendall(chunks[i:i + 1000])
    status, h, answer, rest = read_answer(s)
    eq(status, 200, f"chunked: {answer!r}")
    eq(json.loads(answer)["count"], 200, "records of the chunked body")
    # Expect: 100-continue: the server says 100 before the body is sent
    one = b'{"c": 1}'
    s.sendall((f"POST /v1/streams/ch/records HTTP/1.1\r\nHost: t\r\nAuthorization: {AUTH}\r\n"
               f"Content-Length: {len(one)}\r\nExpect: 100-continue\r\n\r\n").encode())
    status, h, _, rest = read_answer(s)
    eq(status, 100, "100 Continue first")
    s.sendall(one)
    status, h, answer, rest = read_answer(s, rest)
    eq(status, 200, f"after 100: {answer!r}")
    # a malformed chunk size: 400, and the connection closes
    s.sendall(head + b"zz\r\n")
    status, h, answer, rest = read_answer(s)
    eq(status, 400, f"bad chunk: {answer!r}")
    check("chunk" in json.loads(answer)["error"]["message"], answer)
    eq(h.get("connection"), "close", "closes after a malformed body")
    check(closed_by_server(s), "connection closed")
    lake.json("POST", "/v1/streams/ch/flush")
    eq(len(lake.records("ch")), 201, "records")
    eq(lake.stop(), 0, "clean stop")


@test
def http10_and_connection_close():
    lake = Lake().start()
    s = connect(lake)
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    status, h, body, _ = read_answer(s)
    eq(status, 200, "HTTP/1.0")
    eq(h.get("connection"), "close", "1.0 without keep-alive closes")
    check(closed_by_server(s), "closed after a 1.0 answer")
    s = connect(lake)
    s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, h, body, _ = read_answer(s)
    eq(h.get("connection"), "keep-alive", "1.0 keep-alive")
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, h, body, _ = read_answer(s)
    eq(status, 200, "second request")
    eq(h.get("connection"), "close", "Connection: close honoured")
    check(closed_by_server(s), "closed after Connection: close")
    # HEAD: the length, no body
    s = connect(lake)
    s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    buf = b""
    while buf.count(b"\r\n\r\n") < 2 or not buf.endswith(b"\n"):
        buf += s.recv(65536)
    first, _, second = buf.partition(b"\r\n\r\n")
    check(second.startswith(b"HTTP/1.1 200"), f"HEAD sent no body: {buf!r}")
    eq(lake.stop(), 0, "clean stop")


@test
def malformed_requests_are_named():
    lake = Lake().start()
    cases = [
        (b"GARBAGE\r\n\r\n", 400, "request line"),
        (b"GET /healthz HTTP/2.0\r\n\r\n", 505, "version"),
        (b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "header"),
        (b"POST /v1/streams/x/records HTTP/1.1\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n", 400, "content-length"),
        (b"POST /v1/streams/x/records HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
         "transfer"),
        (b"POST /v1/streams/x/records HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400,
         "content-length"),
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431, "16 KiB"),
        # the list form of Content-Length is checked against the cap before 100 Continue
        (b"POST /v1/streams/x/records HTTP/1.1\r\nContent-Length: 900000000, 900000000\r\n"
         b"Expect: 100-continue\r\n\r\n", 413, "too large"),
    ]
    for raw, want, word in cases:
        s = connect(lake)
        s.sendall(raw)
        status, h, body, _ = read_answer(s)
        eq(status, want, f"{raw[:40]!r}: {body!r}")
        msg = json.loads(body)["error"]["message"]
        check(word.lower() in msg.lower(), f"{raw[:40]!r}: message {msg!r} names {word!r}")
        check(closed_by_server(s), f"{raw[:40]!r}: connection closed")
    # the server is still up and serving
    eq(lake.request("GET", "/healthz")[0], 200, "still serving")
    eq(lake.stop(), 0, "clean stop")


@test
def early_answer_before_a_large_body():
    """A 413 (announced length past the cap) and a 401 reach a client that is
    still sending: the server answers, lingers, and does not reset."""
    lake = Lake().start()
    for extra, want in (("", 413), ("bad", 401)):
        s = connect(lake)
        n = 64 << 20 if want == 413 else 1 << 20
        auth = AUTH if not extra else "Basic " + base64.b64encode(b"root:wrong").decode()
        s.sendall((f"POST /v1/streams/big/records HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n"
                   f"Content-Length: {n}\r\n\r\n").encode())
        sent = 0
        s.settimeout(5)
        try:
            while sent < (2 << 20):
                sent += s.send(b"{" * 65536)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        status, h, body, _ = read_answer(s)
        eq(status, want, f"early answer: {body!r}")
        eq(h.get("connection"), "close", "an early answer closes")
        s.close()
    eq(lake.stop(), 0, "clean stop")


@test
def idle_and_half_sent_connections_time_out():
    lake = Lake(settings={"http.timeout": "2s"}).start()
    idle = connect(lake)
    half = connect(lake)
    half.sendall(b"POST /v1/streams/t/records HTTP/1.1\r\nHost: t\r\n")
    body = connect(lake)
    body.sendall(post("t", b'{"a": 1}')[:-3])
    t0 = time.time()
    for s in (idle, half, body):
        s.settimeout(10)
        try:
            check(s.recv(100) == b"", "closed without an answer")
        except ConnectionResetError:
            pass
    check(time.time() - t0 < 8, "closed after about http.timeout")
    # a head that trickles in a byte at a time is cut after http.timeout too
    slow = connect(lake)
    t0 = time.time()
    closed = False
    for ch in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 100:
        try:
            slow.sendall(bytes([ch]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.25)
        if time.time() - t0 > 8:
            break
    if not closed:
        closed = closed_by_server(slow)
    check(closed and time.time() - t0 < 8, f"slow head closed after {time.time() - t0:.1f} s")
    eq(lake.request("GET", "/healthz")[0], 200, "still serving")
    eq(lake.stop(), 0, "clean stop")


@test
def one_event_loop_serves_many_connections():
    lake = Lake(settings={"http.threads": 1}).start()
    socks = [connect(lake) for _ in range(40)]
    for rnd in range(5):
        for k, s in enumerate(socks):
            s.sendall(post("one", json.dumps({"k": k, "r": rnd}).encode()))
        for s in socks:
            status, _, body, _ = read_answer(s)
            eq(status, 200, f"answer: {body!r}")
    for s in socks:
        s.close()
    lake.json("POST", "/v1/streams/one/flush")
    eq(len(lake.records("one")), 200, "records")
    eq(lake.stop(), 0, "clean stop")


if __name__ == "__main__":
    run()

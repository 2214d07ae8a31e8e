/*
 * test_wire.c - HTTP/1.1 request syntax (src/http/wire.c): the end of a
 * head, found the same whether the bytes come at once or one at a time;
 * request lines and header fields, accepted and refused with their
 * status; body framing (Content-Length, Transfer-Encoding, Connection,
 * Expect); the chunked decoder, which must decode a body split at any
 * byte (or every byte) exactly as in one piece, refuse bad framing and
 * leave the next request's bytes alone; request targets; percent-decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/wire.h"
#include "harness.h"

static bool has(const char *msg, const char *needle)
{
	if (strstr(msg, needle))
		return true;
	fprintf(stderr, "message '%s' lacks '%s'\n", msg, needle);
	return false;
}

/* ---- heads ---- */

static char hbuf[64 << 10];
static struct wire_head head;
static char err[TN_ERRLEN];

/* Copies s into hbuf, finds the end of the head (it must be there), parses it; returns the code. */
static int parse(const char *s)
{
	size_t n = strlen(s), scan = 0, len;

	CHECK(n < sizeof hbuf);
	memcpy(hbuf, s, n + 1);
	len = wire_head_end(hbuf, n, &scan);
	if (len == 0) {
		fprintf(stderr, "no end of head in '%s'\n", s);
		CHECK(len > 0);
	}
	err[0] = '\0';
	return wire_parse_head(hbuf, len, &head, err, sizeof err);
}

/* Parses s, expecting status code and a message holding needle. */
static void refused(const char *s, int code, const char *needle)
{
	int rc = parse(s);
	if (rc != code)
		fprintf(stderr, "head '%s': %d '%s', expected %d\n", s, rc, err, code);
	CHECK_INT(rc, code);
	CHECK(has(err, needle));
}

TEST(head_simple_get)
{
	const char *s = "GET /a%20b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
	size_t scan = 0;

	CHECK_INT(wire_head_end(s, strlen(s), &scan), strlen(s));
	CHECK_INT(parse(s), 0);
	CHECK_STR(head.method, "GET");
	CHECK_STR(head.target, "/a%20b?x=1");
	CHECK_INT(head.minor, 1);
	CHECK_INT(head.nheaders, 2);
	CHECK_STR(head.headers[0].name, "Host");
	CHECK_STR(head.headers[0].value, "example.com");
	CHECK_STR(head.headers[1].name, "Accept");
	CHECK_STR(head.headers[1].value, "*/*");
	CHECK_STR(wire_header(&head, "host"), "example.com");
	CHECK_STR(wire_header(&head, "ACCEPT"), "*/*");
	CHECK(wire_header(&head, "content-length") == NULL);
	/* everything points into the buffer */
	CHECK(head.method == hbuf);
	CHECK(head.headers[1].value > hbuf && head.headers[1].value < hbuf + strlen(s));
}

TEST(head_no_headers_http10)
{
	CHECK_INT(parse("DELETE /x HTTP/1.0\r\n\r\n"), 0);
	CHECK_STR(head.method, "DELETE");
	CHECK_STR(head.target, "/x");
	CHECK_INT(head.minor, 0);
	CHECK_INT(head.nheaders, 0);
	/* any token is a method: the router decides what it serves */
	CHECK_INT(parse("M-SEARCH! * HTTP/1.1\r\n\r\n"), 0);
	CHECK_STR(head.method, "M-SEARCH!");
	CHECK_STR(head.target, "*");
}

TEST(head_values_trimmed)
{
	CHECK_INT(parse("PUT / HTTP/1.1\r\nA:   v  a \t\r\nB:x\r\nC:\r\nD: \t \r\n"
			"E:\tcaf\xc3\xa9\t\r\n\r\n"), 0);
	CHECK_INT(head.nheaders, 5);
	CHECK_STR(wire_header(&head, "a"), "v  a");
	CHECK_STR(wire_header(&head, "b"), "x");
	CHECK_STR(wire_header(&head, "c"), "");
	CHECK_STR(wire_header(&head, "d"), "");
	/* obs-text (bytes >= 0x80) is allowed in values */
	CHECK_STR(wire_header(&head, "e"), "caf\xc3\xa9");
}

TEST(head_first_of_repeated)
{
	CHECK_INT(parse("GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n"), 0);
	CHECK_STR(wire_header(&head, "X-A"), "1");
	CHECK_STR(head.headers[1].value, "2");
}

TEST(head_bare_lf)
{
	const char *s = "GET /p HTTP/1.0\nHost: h\nX: y\r\n\nbody";
	size_t scan = 0;

	CHECK_INT(wire_head_end(s, strlen(s), &scan), strlen(s) - 4);
	CHECK_INT(parse(s), 0);
	CHECK_STR(head.target, "/p");
	CHECK_INT(head.minor, 0);
	CHECK_INT(head.nheaders, 2);
	CHECK_STR(wire_header(&head, "host"), "h");
	CHECK_STR(wire_header(&head, "x"), "y");
	/* the empty line may be CRLF after LF lines, and LF after CRLF lines */
	s = "GET / HTTP/1.1\r\nA: b\r\n\nX";
	scan = 0;
	CHECK_INT(wire_head_end(s, strlen(s), &scan), strlen(s) - 1);
	s = "GET / HTTP/1.1\nA: b\n\r\nX";
	scan = 0;
	CHECK_INT(wire_head_end(s, strlen(s), &scan), strlen(s) - 1);
}

TEST(head_leading_empty_lines)
{
	const char *s = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t scan = 0;

	CHECK_INT(wire_head_end(s, strlen(s), &scan), strlen(s));
	CHECK_INT(parse(s), 0);
	CHECK_STR(head.method, "GET");
	CHECK_STR(wire_header(&head, "host"), "h");
	/* empty lines alone are no head */
	scan = 0;
	CHECK_INT(wire_head_end("\r\n\r\n\n\n\r\n", 8, &scan), 0);
}

TEST(head_request_line_400)
{
	refused("GET  / HTTP/1.1\r\n\r\n", 400, "no target");
	refused("GET /  HTTP/1.1\r\n\r\n", 400, "invalid http version");
	refused("GET / HTTP/1.1 \r\n\r\n", 400, "invalid http version");
	refused("GET\t/ HTTP/1.1\r\n\r\n", 400, "method 'GET\\x09/' is not a token");
	refused("G(T / HTTP/1.1\r\n\r\n", 400, "method 'G(T' is not a token");
	refused(" GET / HTTP/1.1\r\n\r\n", 400, "no method");
	refused("GET\r\n\r\n", 400, "no target");
	refused("GET /\r\n\r\n", 400, "no http version");
	refused("GET /a\x01z HTTP/1.1\r\n\r\n", 400, "control character 0x01 in the target");
	refused("GET /a\x7fz HTTP/1.1\r\n\r\n", 400, "control character 0x7f in the target");
	refused("GET /a\tb HTTP/1.1\r\n\r\n", 400, "control character 0x09 in the target");
	refused("GET / HTTP/1.1\rX\r\n\r\n", 400, "invalid http version");
	refused("GET / http/1.1\r\n\r\n", 400, "invalid http version 'http/1.1'");
	refused("GET / HTTP/1\r\n\r\n", 400, "invalid http version");
	refused("GET / HTTP/1.10\r\n\r\n", 400, "invalid http version");
	refused("GET / HTTP/1.1x\r\n\r\n", 400, "invalid http version");
	refused("GET / HTTP/x.1\r\n\r\n", 400, "invalid http version");
}

TEST(head_header_400)
{
	refused("GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", 400, "header line 2: no ':'");
	refused("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400,
		"header line 1: whitespace between 'Host' and ':'");
	refused("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400, "whitespace between");
	refused("GET / HTTP/1.1\r\nA B: h\r\n\r\n", 400, "name 'A B' is not a token");
	refused("GET / HTTP/1.1\r\nA(B): h\r\n\r\n", 400, "name 'A(B)' is not a token");
	refused("GET / HTTP/1.1\r\n: h\r\n\r\n", 400, "header line 1: empty name");
	refused("GET / HTTP/1.1\r\nA: b\x01z\r\n\r\n", 400,
		"header line 1: control character 0x01 in the value of 'A'");
	refused("GET / HTTP/1.1\r\nA: b\rz\r\n\r\n", 400, "control character 0x0d");
	refused("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400, "control character 0x7f");
	refused("GET / HTTP/1.1\r\nA: b\r\r\n\r\n", 400, "control character 0x0d");
	/* obsolete line folding */
	refused("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400,
		"header line 2: starts with whitespace (obsolete line folding)");
	refused("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 400, "obsolete line folding");
	refused("GET / HTTP/1.1\r\n X: c\r\n\r\n", 400, "header line 1: starts with whitespace");
}

TEST(head_nul_bytes_refused)
{
	static const char s1[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
	static const char s2[] = "GET /\0 HTTP/1.1\r\n\r\n";
	static const char s3[] = "GET / HTTP/1.1\r\nA\0: b\r\n\r\n";
	const struct { const char *s; size_t n; const char *msg; } cases[] = {
		{ s1, sizeof s1 - 1, "control character 0x00 in the value of 'A'" },
		{ s2, sizeof s2 - 1, "control character 0x00 in the target" },
		{ s3, sizeof s3 - 1, "name 'A\\x00' is not a token" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t scan = 0, len;
		memcpy(hbuf, cases[i].s, cases[i].n);
		len = wire_head_end(hbuf, cases[i].n, &scan);
		CHECK_INT(len, cases[i].n);
		CHECK_INT(wire_parse_head(hbuf, len, &head, err, sizeof err), 400);
		CHECK(has(err, cases[i].msg));
	}
}

TEST(head_incomplete_refused)
{
	/* a len not from wire_head_end: no empty line, no line end at all */
	char s[] = "GET / HTTP/1.1\r\nHost: h\r\n";
	CHECK_INT(wire_parse_head(s, strlen(s), &head, err, sizeof err), 400);
	CHECK(has(err, "no empty line"));
	char t[] = "GET / HTTP/1.1";
	CHECK_INT(wire_parse_head(t, strlen(t), &head, err, sizeof err), 400);
	char u[] = "\r\n\r\n";
	CHECK_INT(wire_parse_head(u, strlen(u), &head, err, sizeof err), 400);
	CHECK_INT(wire_parse_head(u, 0, &head, err, sizeof err), 400);
	/* a NULL message buffer is allowed */
	CHECK_INT(wire_parse_head(t, strlen(t), &head, NULL, 0), 400);
}

TEST(head_431_too_many_headers)
{
	static char s[16 << 10];
	size_t o = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\n");

	for (int i = 0; i < WIRE_MAX_HEADERS; i++)
		o += (size_t)snprintf(s + o, sizeof s - o, "X-%d: %d\r\n", i, i);
	snprintf(s + o, sizeof s - o, "\r\n");
	CHECK_INT(parse(s), 0);
	CHECK_INT(head.nheaders, WIRE_MAX_HEADERS);
	CHECK_STR(head.headers[WIRE_MAX_HEADERS - 1].name, "X-127");
	CHECK_STR(head.headers[WIRE_MAX_HEADERS - 1].value, "127");
	snprintf(s + o, sizeof s - o, "One-More: x\r\n\r\n");
	refused(s, 431, "more than 128 header fields");
}

TEST(head_505_version)
{
	refused("GET / HTTP/2.0\r\n\r\n", 505, "http version 'HTTP/2.0' is not supported");
	refused("GET / HTTP/1.2\r\n\r\n", 505, "not supported");
	refused("GET / HTTP/0.9\r\n\r\n", 505, "not supported");
	refused("GET / HTTP/3.1\r\n\r\n", 505, "not supported");
}

TEST(head_message_escapes_request_bytes)
{
	/* the message goes back to the client and into logs: no raw control bytes, bounded */
	static char s[1024];
	memset(s, 'M', sizeof s);
	memcpy(s + 10, "\x1b[31m'", 6);
	memcpy(s + 600, " / HTTP/1.1\r\n\r\n", 16);
	s[616] = '\0';
	refused(s, 400, "is not a token");
	for (const char *e = err; *e; e++)
		CHECK((unsigned char)*e >= 0x20 && *e != 0x7f);
	CHECK(strlen(err) < 200);
	CHECK(has(err, "..."));
}

/* ---- the end of a head, byte by byte ---- */

/* Feeds s byte by byte: the end must appear exactly when its last byte does, as at once. */
static void head_end_pieces(const char *s, size_t n)
{
	size_t scan = 0, whole = wire_head_end(s, n, &scan);

	scan = 0;
	for (size_t k = 1; k <= n; k++) {
		size_t e = wire_head_end(s, k, &scan);
		if (e) {
			CHECK_INT(e, whole);
			CHECK_INT(k, e);
			return;
		}
		/* resumption: at most the last two bytes are looked at again */
		CHECK(scan <= k && scan + 2 >= k);
	}
	CHECK_INT(whole, 0);
}

/* Feeds s in pieces of lengths from a fixed pseudo-random sequence. */
static void head_end_random_pieces(const char *s, size_t n, unsigned seed)
{
	size_t scan = 0, whole = wire_head_end(s, n, &scan), k = 0, e = 0;

	scan = 0;
	while (k < n) {
		seed = seed * 1103515245u + 12345u;
		k += 1 + (seed >> 16) % 7;
		if (k > n)
			k = n;
		e = wire_head_end(s, k, &scan);
		if (e)
			break;
	}
	CHECK_INT(e, whole);
}

TEST(head_end_bytewise)
{
	static const char *heads[] = {
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nbody bytes\r\n\r\n",
		"\r\n\r\n\nGET / HTTP/1.1\r\n\r\n",
		"\r\r\nGET / HTTP/1.1\n\n",
		"GET / HTTP/1.0\nA: b\n\nrest",
		"GET / HTTP/1.1\r\nA: b\r\n\r\r\n\r\n",
		"GET / HTTP/1.1\r\nA: \r\r\n\n",
		"GET / HTTP/1.1\r\nA: b\n\rX: y\r\n\r\n",
		"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
		"\n\n\n\n\n",
		"GET / HTTP/1.1\r\nno end yet\r\n",
		"GET / HTTP/1.1\r\n\rX\r\n\n",
	};
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		head_end_pieces(heads[i], strlen(heads[i]));
		for (unsigned seed = 1; seed < 50; seed++)
			head_end_random_pieces(heads[i], strlen(heads[i]), seed);
	}
	size_t scan = 0;
	CHECK_INT(wire_head_end(heads[1], strlen(heads[1]), &scan), 27);
	scan = 0;
	CHECK_INT(wire_head_end(heads[5], strlen(heads[5]), &scan), strlen(heads[5]));
	scan = 0;
	CHECK_INT(wire_head_end(heads[6], strlen(heads[6]), &scan), strlen(heads[6]));
	scan = 0;
	CHECK_INT(wire_head_end(heads[10], strlen(heads[10]), &scan), 0);
	scan = 0;
	CHECK_INT(wire_head_end("", 0, &scan), 0);
	CHECK_INT(scan, 0);
}

TEST(head_end_long_line_once)
{
	/* a long header arriving one byte at a time is scanned in linear time */
	static char s[40000];
	size_t n = 0, scan = 0;

	n += (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\nX: ");
	memset(s + n, 'a', 30000);
	n += 30000;
	memcpy(s + n, "\r\n\r\n", 4);
	n += 4;
	for (size_t k = 1; k < n; k++)
		CHECK_INT(wire_head_end(s, k, &scan), 0);
	CHECK_INT(wire_head_end(s, n, &scan), n);
	CHECK_INT(parse(s), 0);
	CHECK_INT(strlen(wire_header(&head, "x")), 30000);
}

/* ---- framing ---- */

static struct wire_framing fr;

/* Parses s (must succeed) and computes its framing; returns the code. */
static int framing(const char *s)
{
	CHECK_INT(parse(s), 0);
	err[0] = '\0';
	return wire_framing(&head, &fr, err, sizeof err);
}

static void framing_refused(const char *s, int code, const char *needle)
{
	int rc = framing(s);
	if (rc != code)
		fprintf(stderr, "head '%s': %d '%s', expected %d\n", s, rc, err, code);
	CHECK_INT(rc, code);
	CHECK(has(err, needle));
}

TEST(framing_none)
{
	CHECK_INT(framing("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	CHECK(!fr.chunked);
	CHECK(!fr.has_length);
	CHECK_INT(fr.length, 0);
	CHECK(fr.keep_alive);
	CHECK(!fr.expect_continue);
}

TEST(framing_content_length)
{
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), 0);
	CHECK(fr.has_length && !fr.chunked);
	CHECK_INT(fr.length, 5);
	CHECK_INT(framing("PUT / HTTP/1.1\r\ncontent-length:0\r\n\r\n"), 0);
	CHECK(fr.has_length);
	CHECK_INT(fr.length, 0);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n"), 0);
	CHECK_INT(fr.length, 9223372036854775807LL);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 007\r\n\r\n"), 0);
	CHECK_INT(fr.length, 7);
	/* duplicates are fine when equal, as fields or as a list */
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
		  0);
	CHECK_INT(fr.length, 5);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), 0);
	CHECK_INT(fr.length, 5);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 5 ,5,\t5\r\n\r\n"), 0);
	CHECK_INT(fr.length, 5);
}

TEST(framing_content_length_400)
{
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400,
			"content-length 'abc' is not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400, "not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400,
			"content-length '' is not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", 400, "not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", 400, "not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400, "not a number");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", 400,
			"content-length '9223372036854775808' is too large");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
			400, "too large");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
			"content-length '5' and '6' differ");
	framing_refused("PUT / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", 400, "differ");
}

TEST(framing_chunked)
{
	CHECK_INT(framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	CHECK(fr.chunked && !fr.has_length);
	CHECK_INT(fr.length, 0);
	CHECK_INT(framing("POST / HTTP/1.1\r\ntransfer-encoding:  ChUnKeD \r\n\r\n"), 0);
	CHECK(fr.chunked);
	/* HTTP/1.0 with chunked: accepted (simplest; RFC 9112 lets a server refuse it) */
	CHECK_INT(framing("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	CHECK(fr.chunked);
	CHECK(!fr.keep_alive);
}

TEST(framing_transfer_encoding_refused)
{
	framing_refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
			"\r\n\r\n", 400, "content-length and transfer-encoding together");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5"
			"\r\n\r\n", 400, "together");
	/* smuggling first: even a bad coding with a length is a 400 */
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5"
			"\r\n\r\n", 400, "together");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
			"transfer-encoding 'gzip' is not supported (only 'chunked')");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
			"'gzip, chunked'");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501,
			"not supported");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip"
			"\r\n\r\n", 501, "'gzip'");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 501, "''");
	framing_refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			"Transfer-Encoding: chunked\r\n\r\n", 400, "sent 2 times");
}

TEST(framing_keep_alive)
{
	CHECK_INT(framing("GET / HTTP/1.1\r\n\r\n"), 0);
	CHECK(fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"), 0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"),
		  0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"), 0);
	CHECK(fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\n\r\n"), 0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
	CHECK(fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\nConnection: TE,keep-alive ,x\r\n\r\n"), 0);
	CHECK(fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"),
		  0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n"), 0);
	CHECK(!fr.keep_alive);
	CHECK_INT(framing("GET / HTTP/1.0\r\nX: keep-alive\r\n\r\n"), 0);
	CHECK(!fr.keep_alive);
}

TEST(framing_expect)
{
	CHECK_INT(framing("PUT / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
		  0);
	CHECK(fr.expect_continue);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n"), 0);
	CHECK(fr.expect_continue);
	CHECK_INT(framing("PUT / HTTP/1.1\r\nExpect:\r\n\r\n"), 0);
	CHECK(!fr.expect_continue);
	/* RFC 9110 section 10.1.1: ignored from an HTTP/1.0 client */
	CHECK_INT(framing("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0);
	CHECK(!fr.expect_continue);
	framing_refused("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417,
			"expect '200-ok' is not supported (only '100-continue')");
	framing_refused("PUT / HTTP/1.1\r\nExpect: 100-continue, x\r\n\r\n", 417, "expect");
	framing_refused("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: foo\r\n\r\n", 417,
			"'foo'");
}

/* ---- chunked ---- */

struct decoded {
	int rc;
	size_t used;        /* bytes consumed in all */
	size_t len;         /* decoded bytes */
	char data[8192];
	char err[TN_ERRLEN];
};

/* Runs the decoder over in[0..n) as far as it goes (several steps). */
static int feed(struct wire_chunked *c, const char *in, size_t n, struct decoded *d)
{
	size_t off = 0;

	while (off < n) {
		size_t used = 99, dlen = 99;
		const char *data = NULL;
		int rc = wire_chunked_step(c, in + off, n - off, &used, &data, &dlen, d->err,
					   sizeof d->err);
		CHECK(used <= n - off);
		CHECK(dlen <= used);
		if (dlen) {
			CHECK(data >= in + off && data + dlen <= in + off + used);
			CHECK(d->len + dlen <= sizeof d->data);
			memcpy(d->data + d->len, data, dlen);
			d->len += dlen;
		}
		off += used;
		d->used += used;
		if (rc)
			return d->rc = rc;
		CHECK(used > 0);  /* 0 only when n is 0 */
	}
	return d->rc = 0;
}

/* Decodes in[0..n) in pieces cut at the listed offsets (ascending; ncuts of them). */
static void decode_cuts(const char *in, size_t n, const size_t *cuts, size_t ncuts,
			struct decoded *d)
{
	struct wire_chunked c;
	size_t off = 0;

	memset(d, 0, sizeof *d);
	wire_chunked_init(&c);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		size_t before = d->used;
		if (feed(&c, in + off, end - off, d))
			return;
		CHECK_INT(d->used - before, end - off);
		off = end;
	}
}

static void decode(const char *in, size_t n, struct decoded *d)
{
	decode_cuts(in, n, NULL, 0, d);
}

static void same(const struct decoded *a, const struct decoded *b)
{
	CHECK_INT(a->rc, b->rc);
	CHECK_INT(a->used, b->used);
	CHECK_INT(a->len, b->len);
	CHECK(memcmp(a->data, b->data, a->len) == 0);
	if (a->rc < 0)
		CHECK_STR(a->err, b->err);
}

/* Decodes in whole, at every single split, at every pair of splits, byte by byte: all agree. */
static void every_split(const char *in, size_t n, struct decoded *whole)
{
	static struct decoded d;
	size_t cuts[2];

	decode(in, n, whole);
	for (size_t i = 0; i <= n; i++) {
		cuts[0] = i;
		decode_cuts(in, n, cuts, 1, &d);
		same(&d, whole);
		for (size_t j = i; j <= n; j++) {
			cuts[1] = j;
			decode_cuts(in, n, cuts, 2, &d);
			same(&d, whole);
		}
	}
	/* one byte per call */
	struct wire_chunked c;
	memset(&d, 0, sizeof d);
	wire_chunked_init(&c);
	for (size_t i = 0; i < n; i++)
		if (feed(&c, in + i, 1, &d))
			break;
	same(&d, whole);
}

TEST(chunked_simple)
{
	static const char body[] = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
	static struct decoded d;

	decode(body, sizeof body - 1, &d);
	CHECK_INT(d.rc, 1);
	CHECK_INT(d.len, 11);
	CHECK(memcmp(d.data, "hello world", 11) == 0);
	/* the next request's bytes are left alone */
	CHECK_INT(d.used, sizeof body - 1 - 4);
}

TEST(chunked_one_span_per_step)
{
	static const char body[] = "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
	struct wire_chunked c;
	const char *data;
	size_t used, dlen, off = 0;

	wire_chunked_init(&c);
	CHECK_INT(wire_chunked_step(&c, body, sizeof body - 1, &used, &data, &dlen, err,
				    sizeof err), 0);
	CHECK_INT(used, 8);
	CHECK_INT(dlen, 5);
	CHECK(data == body + 3);
	off += used;
	CHECK_INT(wire_chunked_step(&c, body + off, sizeof body - 1 - off, &used, &data, &dlen,
				    err, sizeof err), 0);
	CHECK_INT(dlen, 3);
	CHECK(memcmp(data, "abc", 3) == 0);
	off += used;
	CHECK_INT(wire_chunked_step(&c, body + off, sizeof body - 1 - off, &used, &data, &dlen,
				    err, sizeof err), 1);
	CHECK_INT(dlen, 0);
	off += used;
	CHECK_INT(off, sizeof body - 1);
	/* after the end: still the end, nothing consumed */
	CHECK_INT(wire_chunked_step(&c, "GET", 3, &used, &data, &dlen, err, sizeof err), 1);
	CHECK_INT(used, 0);
	CHECK_INT(dlen, 0);
	/* empty input: nothing consumed */
	wire_chunked_init(&c);
	CHECK_INT(wire_chunked_step(&c, body, 0, &used, &data, &dlen, err, sizeof err), 0);
	CHECK_INT(used, 0);
}

TEST(chunked_every_split)
{
	/* what clients send: extensions (quoted, with BWS), upper- and lower-case hex, a
	 * long chunk, a bare-LF line, trailers, and the next request behind it */
	static char body[2048];
	static struct decoded whole;
	size_t n = 0;

	n += (size_t)snprintf(body + n, sizeof body - n, "1A;name=\"v;al\\\"ue\"\r\n");
	for (int i = 0; i < 26; i++)
		body[n++] = (char)('a' + i);
	n += (size_t)snprintf(body + n, sizeof body - n, "\r\n3 \t; a=b ; c\r\nxyz\r\n"
			      "10\r\n0123456789ABCDEF\r\nf\nfifteen bytes!!\n"
			      "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\nGET / HTTP/1.1\r\n");
	every_split(body, n, &whole);
	CHECK_INT(whole.rc, 1);
	CHECK_INT(whole.len, 26 + 3 + 16 + 15);
	CHECK(memcmp(whole.data, "abcdefghijklmnopqrstuvwxyzxyz0123456789ABCDEFfifteen bytes!!",
		     whole.len) == 0);
	CHECK_INT(whole.used, n - strlen("GET / HTTP/1.1\r\n"));

	/* the shortest bodies */
	static const char empty[] = "0\r\n\r\n";
	every_split(empty, sizeof empty - 1, &whole);
	CHECK_INT(whole.rc, 1);
	CHECK_INT(whole.used, 5);
	CHECK_INT(whole.len, 0);
	static const char lf[] = "0\n\nX";
	every_split(lf, sizeof lf - 1, &whole);
	CHECK_INT(whole.rc, 1);
	CHECK_INT(whole.used, 3);

	/* malformed bodies fail at the same byte with the same message wherever split */
	static const char bad[] = "5\r\nhello\r\n5\r\nworldX\r\n0\r\n\r\n";
	every_split(bad, sizeof bad - 1, &whole);
	CHECK_INT(whole.rc, -1);
	CHECK_INT(whole.len, 10);
	CHECK_INT(whole.used, 18);
	CHECK(has(whole.err, "'X' where CRLF must end the chunk"));
}

/* Decodes s whole: expects -1 and a message holding needle. */
static void chunked_refused(const char *s, size_t n, const char *needle)
{
	static struct decoded d, w;

	decode(s, n, &d);
	if (d.rc != -1)
		fprintf(stderr, "body '%.60s': %d, expected -1\n", s, d.rc);
	CHECK_INT(d.rc, -1);
	CHECK(has(d.err, needle));
	/* split anywhere, it fails the same way */
	if (n < 400)
		every_split(s, n, &w);
}

#define REFUSED(lit, needle) chunked_refused(lit, sizeof(lit) - 1, needle)

TEST(chunked_malformed)
{
	REFUSED("g\r\n", "chunk size line: invalid hex digit 'g'");
	REFUSED("5g\r\n", "invalid hex digit 'g'");
	REFUSED("0x5\r\n", "invalid hex digit 'x'");
	REFUSED("+5\r\n", "invalid hex digit '+'");
	REFUSED("\r\n", "no hex digits");
	REFUSED("\n", "no hex digits");
	REFUSED(";ext\r\n", "no hex digits before ';'");
	REFUSED(" 5\r\n", "no hex digits");
	REFUSED("5 \r\n", "0x0d after the size and whitespace, not ';'");
	REFUSED("5 6\r\n", "'6' after the size");
	REFUSED("5\rX", "chunk size line: CR followed by 'X', not LF");
	REFUSED("5;a\rb\r\n", "CR followed by 'b'");
	REFUSED("5\r\nhelloX", "'X' where CRLF must end the chunk");
	REFUSED("5\r\nhello world", "0x20 where CRLF");
	REFUSED("5\r\nhello\rX", "chunk data: CR followed by 'X', not LF");
	REFUSED("5\r\nhello\r\n\r\n", "no hex digits");
	REFUSED("0\r\n\rX", "chunk trailers: CR followed by 'X', not LF");
	/* sizes past 2^63, or more than 16 digits */
	REFUSED("8000000000000000\r\n", "size past 2^63 bytes");
	REFUSED("ffffffffffffffff\r\n", "size past 2^63 bytes");
	REFUSED("10000000000000000\r\n", "more than 16 hex digits");
	REFUSED("00000000000000001\r\n", "more than 16 hex digits");
	/* after an error, every call is an error */
	struct wire_chunked c;
	const char *data;
	size_t used, dlen;
	wire_chunked_init(&c);
	CHECK_INT(wire_chunked_step(&c, "z", 1, &used, &data, &dlen, err, sizeof err), -1);
	CHECK_INT(used, 0);
	CHECK_INT(wire_chunked_step(&c, "0\r\n\r\n", 5, &used, &data, &dlen, NULL, 0), -1);
}

TEST(chunked_largest_size)
{
	static const char s[] = "7fffffffffffffff\r\nabc";
	static struct decoded d;

	decode(s, sizeof s - 1, &d);
	CHECK_INT(d.rc, 0);
	CHECK_INT(d.len, 3);
	CHECK_INT(d.used, sizeof s - 1);
	static const char z[] = "0000000000000003\r\nabc\r\n0\r\n\r\n";
	decode(z, sizeof z - 1, &d);
	CHECK_INT(d.rc, 1);
	CHECK_INT(d.len, 3);
}

TEST(chunked_line_bounds)
{
	static char s[3 * WIRE_MAX_CHUNK_LINE];
	static struct decoded d;
	size_t n;

	/* a size line of exactly WIRE_MAX_CHUNK_LINE bytes before its line end: fine */
	s[0] = '1';
	s[1] = ';';
	memset(s + 2, 'a', WIRE_MAX_CHUNK_LINE - 2);
	n = WIRE_MAX_CHUNK_LINE;
	memcpy(s + n, "\r\nx\r\n0\r\n\r\n", 10);
	decode(s, n + 10, &d);
	CHECK_INT(d.rc, 1);
	CHECK_INT(d.len, 1);
	memcpy(s + n, "\nx\n0\n\n", 6);
	decode(s, n + 6, &d);
	CHECK_INT(d.rc, 1);
	/* one more: refused, CRLF or LF, and before the line end arrives */
	s[n] = 'a';
	memcpy(s + n + 1, "\r\nx\r\n0\r\n\r\n", 10);
	chunked_refused(s, n + 11, "chunk size line: longer than 4096 bytes");
	memcpy(s + n + 1, "\nx\n0\n\n", 6);
	chunked_refused(s, n + 7, "longer than 4096 bytes");
	chunked_refused(s, n + 1, "longer than 4096 bytes");
	/* the bound is per line: many long lines are fine */
	size_t o = 0;
	for (int i = 0; i < 2; i++) {
		s[o++] = '1';
		s[o++] = ';';
		memset(s + o, 'e', WIRE_MAX_CHUNK_LINE - 100);
		o += WIRE_MAX_CHUNK_LINE - 100;
		memcpy(s + o, "\r\nz\r\n", 5);
		o += 5;
	}
	memcpy(s + o, "0\r\n\r\n", 5);
	decode(s, o + 5, &d);
	CHECK_INT(d.rc, 1);
	CHECK_INT(d.len, 2);
}

TEST(chunked_trailer_bounds)
{
	static char s[WIRE_MAX_TRAILERS + 4096];
	static struct decoded d;
	size_t o = 0;

	/* trailer section (after "0\r\n", line ends included) of exactly the limit: fine */
	o += (size_t)snprintf(s, sizeof s, "0\r\n");
	while (o + 99 + 5 <= 3 + WIRE_MAX_TRAILERS - 2)
		o += (size_t)snprintf(s + o, sizeof s - o, "X-Pad: %090d\r\n", 0);
	/* fill the rest with one line so that the section ends exactly at the limit */
	size_t left = 3 + WIRE_MAX_TRAILERS - 2 - o;
	CHECK(left >= 5);
	memcpy(s + o, "Y: ", 3);
	memset(s + o + 3, 'y', left - 5);
	memcpy(s + o + left - 2, "\r\n", 2);
	o += left;
	memcpy(s + o, "\r\n", 2);
	o += 2;
	CHECK_INT(o - 3, WIRE_MAX_TRAILERS);
	decode(s, o, &d);
	CHECK_INT(d.rc, 1);
	CHECK_INT(d.used, o);
	/* one byte more: refused */
	memmove(s + 4, s + 3, o - 3);
	s[3] = 'Z';
	chunked_refused(s, o + 1, "chunk trailers: longer than 16384 bytes");
	/* a trailer section that never ends is refused when it passes the bound */
	o = (size_t)snprintf(s, sizeof s, "0\r\n");
	memset(s + o, 'a', WIRE_MAX_TRAILERS + 10);
	chunked_refused(s, o + WIRE_MAX_TRAILERS + 10, "longer than 16384 bytes");
}

/* ---- request targets ---- */

static void split_ok(const char *t, const char *path, const char *query)
{
	const char *p, *q;
	size_t pl, ql;
	int rc = wire_target_split(t, &p, &pl, &q, &ql, err, sizeof err);

	if (rc)
		fprintf(stderr, "target '%s': %d '%s'\n", t, rc, err);
	CHECK_INT(rc, 0);
	CHECK_INT(pl, strlen(path));
	CHECK(memcmp(p, path, pl) == 0);
	CHECK_INT(ql, strlen(query));
	CHECK(memcmp(q, query, ql) == 0);
	/* the spans point into the target */
	CHECK(p >= t && p + pl <= t + strlen(t));
	CHECK(q >= t && q + ql <= t + strlen(t));
}

static void split_refused(const char *t, const char *needle)
{
	const char *p, *q;
	size_t pl, ql;

	CHECK_INT(wire_target_split(t, &p, &pl, &q, &ql, err, sizeof err), 400);
	CHECK(has(err, needle));
}

TEST(target_split)
{
	split_ok("/", "/", "");
	split_ok("/a/b?x=1&y", "/a/b", "x=1&y");
	split_ok("/a%20b", "/a%20b", "");
	split_ok("/a?", "/a", "");
	split_ok("/a?b?c", "/a", "b?c");
	split_ok("//double", "//double", "");
	split_ok("*", "*", "");
	split_ok("http://host:1/p?q", "/p", "q");
	split_ok("HTTP://host/p/q/", "/p/q/", "");
	split_ok("https://h.example", "/", "");
	split_ok("http://h?x=1", "/", "x=1");
	split_ok("http://user@h:8080/a?", "/a", "");
	split_refused("", "empty");
	split_refused("a/b", "neither a path");
	split_refused("host:443", "neither a path");
	split_refused("ftp://h/x", "neither a path");
	split_refused("http://", "no host");
	split_refused("http:///x", "no host");
	split_refused("/a#frag", "fragment");
	split_refused("/a b", "space or control character");
	split_refused("**", "neither a path");
}

/* ---- percent-decoding ---- */

static void unescape_ok(const char *in, const char *want)
{
	char out[256];
	long n = wire_unescape(in, strlen(in), out, sizeof out);

	CHECK_INT(n, strlen(want));
	CHECK_STR(out, want);
	CHECK(n <= (long)strlen(in));
}

TEST(unescape)
{
	char out[8];

	unescape_ok("", "");
	unescape_ok("a%20b", "a b");
	unescape_ok("%2F", "/");
	unescape_ok("%2f%2F", "//");
	unescape_ok("a+b", "a+b");
	unescape_ok("%e2%82%AC", "\xe2\x82\xac");
	/* a '%' without two hex digits is kept as is */
	unescape_ok("%", "%");
	unescape_ok("100%", "100%");
	unescape_ok("%2", "%2");
	unescape_ok("%zz", "%zz");
	unescape_ok("%2g", "%2g");
	unescape_ok("%%41", "%A");
	unescape_ok("%4%41", "%4A");
	/* a NUL in the result */
	CHECK_INT(wire_unescape("a%00b", 5, out, sizeof out), -1);
	CHECK_INT(wire_unescape("a\0b", 3, out, sizeof out), -1);
	/* it must fit, with its NUL */
	CHECK_INT(wire_unescape("abcdefg", 7, out, 8), 7);
	CHECK_STR(out, "abcdefg");
	CHECK_INT(wire_unescape("abcdefgh", 8, out, 8), -1);
	CHECK_INT(wire_unescape("%41%42%43%44%45%46%47", 21, out, 8), 7);
	CHECK_STR(out, "ABCDEFG");
	CHECK_INT(wire_unescape("", 0, out, 1), 0);
	CHECK_STR(out, "");
	CHECK_INT(wire_unescape("", 0, out, 0), -1);
	/* n bounds the input: a NUL-less span */
	CHECK_INT(wire_unescape("ab%41", 3, out, sizeof out), 3);
	CHECK_STR(out, "ab%");
}

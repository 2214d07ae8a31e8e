/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 request syntax
 * (src/http/wire.c): what every client can send before anything else
 * looks at it.
 *
 * The whole input is a request (head, then maybe a body), and also a
 * chunked body by itself.  Beyond "never crashes, never reads out of
 * bounds", it checks:
 *   - wire_head_end finds the same end whether the bytes come at once, in
 *     two pieces (split at a point derived from the input) or one by one;
 *   - a parsed head's method, target, names and values lie inside the
 *     head, names are tokens, values are trimmed and free of control
 *     characters, and wire_header finds each name; refusals are 400, 431
 *     or 505 with a printable message;
 *   - wire_framing answers 0, 400, 417 or 501, never chunked with a length;
 *   - wire_target_split's spans lie inside the target;
 *   - chunked decoding gives the same code, bytes, consumed length and
 *     message whole, split in two, and byte by byte, and never more bytes
 *     out than in;
 *   - wire_unescape never writes more than it read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/wire.h"
#include "fuzz.h"
#include "core/banned.h"

#define ERRLEN 512

/* A split point in [0, n] derived from the input (FNV-1a), so a finding replays. */
static size_t split_point(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return n ? (size_t)(h % (n + 1)) : 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool inside(const char *s, const char *base, size_t len)
{
	return s >= base && s < base + len && memchr(s, '\0', (size_t)(base + len - s) + 1);
}

/* ---- the head ---- */

static void check_head_end(const char *p, size_t n, size_t k, size_t whole)
{
	size_t scan = 0, e = wire_head_end(p, k, &scan);
	if (!e)
		e = wire_head_end(p, n, &scan);
	REQUIRE(e == whole);
	scan = 0;
	e = 0;
	for (size_t i = 1; i <= n && !e; i++) {
		e = wire_head_end(p, i, &scan);
		REQUIRE(!e || e == i);
		REQUIRE(scan <= i);
	}
	REQUIRE(e == whole);
	REQUIRE(whole <= n);
}

static void check_target(const char *t)
{
	const char *path, *query;
	size_t plen, qlen, tlen = strlen(t);
	char err[ERRLEN] = "";
	int rc = wire_target_split(t, &path, &plen, &query, &qlen, err, sizeof err);

	REQUIRE(rc == 0 || rc == 400);
	if (rc) {
		REQUIRE(*err && printable(err));
		return;
	}
	REQUIRE(path >= t && path + plen <= t + tlen && plen > 0);
	REQUIRE(query >= t && query + qlen <= t + tlen);
	REQUIRE(path[0] == '/' || (plen == 1 && path[0] == '*'));

	char out[8192 + 1];
	if (plen < sizeof out) {
		long u = wire_unescape(path, plen, out, sizeof out);
		REQUIRE(u <= (long)plen);
		if (u >= 0)
			REQUIRE(out[u] == '\0' && strlen(out) == (size_t)u);
	}
}

static void check_head(const char *in, size_t len)
{
	static struct wire_head h;
	struct wire_framing f;
	char err[ERRLEN] = "";
	char *p = malloc(len + 1);
	int rc;

	memcpy(p, in, len);
	p[len] = '\x55';  /* a canary: the parser must not touch p[len] */
	rc = wire_parse_head(p, len, &h, err, sizeof err);
	REQUIRE(p[len] == '\x55');
	if (rc) {
		REQUIRE(rc == 400 || rc == 431 || rc == 505);
		REQUIRE(*err && printable(err));
		free(p);
		return;
	}
	REQUIRE(inside(h.method, p, len) && inside(h.target, p, len));
	REQUIRE(*h.method && *h.target && h.minor <= 1);
	REQUIRE(h.nheaders <= WIRE_MAX_HEADERS);
	for (const char *m = h.method; *m; m++)
		REQUIRE(strchr("!#$%&'*+-.^_`|~", *m) || (*m >= '0' && *m <= '9') ||
			(*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z'));
	for (unsigned i = 0; i < h.nheaders; i++) {
		const char *name = h.headers[i].name, *value = h.headers[i].value;
		size_t vl;
		REQUIRE(inside(name, p, len) && inside(value, p, len));
		REQUIRE(*name && !strpbrk(name, " \t:\r\n"));
		vl = strlen(value);
		REQUIRE(!vl || (value[0] != ' ' && value[0] != '\t' && value[vl - 1] != ' ' &&
				value[vl - 1] != '\t'));
		for (const char *v = value; *v; v++)
			REQUIRE((unsigned char)*v >= 0x20 ? *v != 0x7f : *v == '\t');
		REQUIRE(wire_header(&h, name) != NULL);
	}

	rc = wire_framing(&h, &f, err, sizeof err);
	REQUIRE(rc == 0 || rc == 400 || rc == 417 || rc == 501);
	if (rc) {
		REQUIRE(*err && printable(err));
	} else {
		REQUIRE(!(f.chunked && f.has_length));
		REQUIRE(f.has_length || f.length == 0);
		REQUIRE(f.length <= (uint64_t)INT64_MAX);
		REQUIRE(!f.expect_continue || h.minor == 1);
	}
	check_target(h.target);
	free(p);
}

/* ---- chunked ---- */

struct run {
	int rc;
	size_t used, len;
	uint8_t *out;
	char err[ERRLEN];
};

/* Feeds in[0..n) to c as far as it goes; returns the last code. */
static int feed(struct wire_chunked *c, const uint8_t *in, size_t n, struct run *r)
{
	size_t off = 0;

	while (off < n) {
		const char *data;
		size_t used, dlen;
		int rc = wire_chunked_step(c, (const char *)in + off, n - off, &used, &data, &dlen,
					   r->err, sizeof r->err);
		REQUIRE(rc >= -1 && rc <= 1);
		REQUIRE(used <= n - off && dlen <= used);
		if (dlen) {
			REQUIRE(data >= (const char *)in + off &&
				data + dlen <= (const char *)in + off + used);
			memcpy(r->out + r->len, data, dlen);
			r->len += dlen;
		}
		off += used;
		r->used += used;
		if (rc)
			return r->rc = rc;
		REQUIRE(used > 0);
	}
	return r->rc = 0;
}

/* Decodes in[0..n) in the pieces [0, k) and [k, n); k == n means whole, SIZE_MAX one by one. */
static void decode(const uint8_t *in, size_t n, size_t k, struct run *r)
{
	struct wire_chunked c;

	r->rc = 0;
	r->used = r->len = 0;
	r->err[0] = '\0';
	wire_chunked_init(&c);
	if (k == SIZE_MAX) {
		for (size_t i = 0; i < n; i++)
			if (feed(&c, in + i, 1, r))
				break;
		return;
	}
	if (!feed(&c, in, k, r))
		feed(&c, in + k, n - k, r);
}

static void check_chunked(const uint8_t *in, size_t n, size_t k)
{
	struct run a, b;

	a.out = malloc(n + 1);
	b.out = malloc(n + 1);
	decode(in, n, n, &a);
	REQUIRE(a.len <= a.used && a.used <= n);
	REQUIRE(a.rc != -1 || (*a.err && printable(a.err)));
	for (int pass = 0; pass < 2; pass++) {
		decode(in, n, pass ? SIZE_MAX : k, &b);
		REQUIRE(b.rc == a.rc && b.used == a.used && b.len == a.len);
		REQUIRE(memcmp(a.out, b.out, a.len) == 0);
		REQUIRE(a.rc != -1 || strcmp(a.err, b.err) == 0);
	}
	free(a.out);
	free(b.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t k = split_point(data, size), scan = 0, end;

	end = wire_head_end(p, size, &scan);
	check_head_end(p, size, k, end);
	if (end) {
		check_head(p, end);
		if (end < size)
			check_chunked(data + end, size - end, (k - end) % (size - end + 1));
	}
	check_chunked(data, size, k);

	/* the input as a path to decode, into room for all of it and into little room */
	char *out = malloc(size + 1);
	long u = wire_unescape(p, size, out, size + 1);
	REQUIRE(u >= -1 && u <= (long)size);
	if (u >= 0)
		REQUIRE(out[u] == '\0' && !memchr(out, '\0', (size_t)u));
	u = wire_unescape(p, size, out, k);
	REQUIRE(u < (long)k || u == -1);
	free(out);
	return 0;
}

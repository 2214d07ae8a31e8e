/*
 * wire.c - HTTP/1.1 request syntax (RFC 9112): where a request head ends,
 * its request line and header fields, the framing of its body, the
 * chunked transfer coding, the request target and percent-decoding.
 *
 * Design.  Everything works on caller memory: the head is parsed in place
 * (NUL bytes written over the separators, struct wire_head points into
 * it), the chunked decoder hands back spans of its input, and the only
 * state that outlives a call is what the caller holds (*scan, struct
 * wire_chunked).  No allocation, no I/O, no globals but const tables, so
 * server.c's connections and fuzz/fuzz_http.c call it alike from any
 * thread.  Errors are the HTTP status to answer (or -1 for a broken
 * chunked body) and one lowercase line in the caller's buffer; bytes of
 * the request quoted in a message are escaped and cut short, since the
 * message goes back to the client and into the log.
 *
 * Strictness follows RFC 9112 where it says MUST, because a lenient
 * parser in front of a strict one (or the reverse) is how requests get
 * smuggled: method and field names are tokens; no whitespace between a
 * field name and its ':'; obsolete line folding is refused (400); field
 * values hold no control character but HTAB (obs-text, bytes >= 0x80, is
 * allowed); the request line is "METHOD SP target SP HTTP/1.x" with single
 * spaces; Content-Length and Transfer-Encoding together are refused.  The
 * one leniency is a bare LF accepted as a line end (RFC 9112 section 2.2),
 * in the head and in the chunked framing alike.  The request target may
 * hold bytes >= 0x80 (raw UTF-8 from careless clients; nginx accepts it
 * too); it never holds spaces or control characters.
 *
 * Invariants.
 *   - No function reads p[len] or in[n]: every scan is bounded by the
 *     length it was given, never by a NUL (the head may contain NULs; they
 *     are control characters and refused).
 *   - wire_head_end keeps only a position in *scan: the last position
 *     whose state is "at a line start, nothing but empty lines so far" or
 *     "inside a non-empty line".  The two are told apart by the byte
 *     before it (an LF, or nothing, for the first), so resuming costs at
 *     most two bytes re-read and a head arriving byte by byte is scanned
 *     once.
 *   - wire_chunked_step is a byte-wise state machine that keeps no input
 *     byte: the size accumulates in c->left as digits arrive, so framing
 *     may be split anywhere.  It never returns more data than the chunk
 *     size announced, and it stops after one data span so the caller can
 *     apply its body cap before reading on.
 *   - Chunk sizes and Content-Length values fit in an int64_t, so callers
 *     may add them to off_t counters without overflow.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/wire.h"

#include "core/banned.h"

/* tchar (RFC 9110 section 5.6.2): the bytes of a token. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Longest piece of request bytes quoted in a message. */
#define QUOTE_MAX 48
/* Room for a quoted piece: each byte may become "\xNN", plus "..." and NUL. */
#define QUOTE_BUF (QUOTE_MAX * 4 + 4)

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Copies s[0..n) into q for a message: non-printable bytes and '\'' as \xNN, cut at QUOTE_MAX. */
static const char *quote(char q[QUOTE_BUF], const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x20 && b < 0x7f && b != '\'' && b != '\\') {
			q[o++] = (char)b;
		} else {
			q[o++] = '\\';
			q[o++] = 'x';
			q[o++] = hex[b >> 4];
			q[o++] = hex[b & 15];
		}
	}
	if (n > QUOTE_MAX) {
		memcpy(q + o, "...", 3);
		o += 3;
	}
	q[o] = '\0';
	return q;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- the end of the head ---- */

size_t wire_head_end(const char *p, size_t n, size_t *scan)
{
	/* The states of the scan; see the invariants above for which one *scan may hold. */
	enum { LEAD, LEAD_CR, IN, NL, NL_CR } st;
	size_t i = *scan, keep;

	if (i > n)
		i = 0;  /* a caller that shrank its buffer: start over rather than read past it */
	st = i == 0 || p[i - 1] == '\n' ? LEAD : IN;
	keep = i;
	while (i < n) {
		char c = p[i];
		switch (st) {
		case LEAD:
			keep = i;
			st = c == '\n' ? LEAD : c == '\r' ? LEAD_CR : IN;
			break;
		case LEAD_CR:
			st = c == '\n' ? LEAD : IN;
			break;
		case IN: {
			/* the bulk of a head: jump to the next LF */
			const char *lf = memchr(p + i, '\n', n - i);
			if (!lf) {
				i = n;
				keep = n;
				continue;
			}
			i = (size_t)(lf - p);
			keep = i;
			st = NL;
			break;
		}
		case NL:
			if (c == '\n') {
				*scan = i + 1;
				return i + 1;
			}
			st = c == '\r' ? NL_CR : IN;
			break;
		case NL_CR:
			if (c == '\n') {
				*scan = i + 1;
				return i + 1;
			}
			st = IN;
			break;
		}
		i++;
		if (st == LEAD || st == IN)
			keep = i;
	}
	*scan = keep;
	return 0;
}

/* ---- the head ---- */

/* Parses "HTTP/1.x" (the rest of the request line, s[0..n)). */
static int parse_version(const char *s, size_t n, unsigned *minor, char *err, size_t errlen)
{
	char q[QUOTE_BUF];

	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
	    s[7] < '0' || s[7] > '9')
		return fail(err, errlen, 400, "request line: invalid http version '%s'",
			    quote(q, s, n));
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return fail(err, errlen, 505,
			    "http version '%s' is not supported (only HTTP/1.0 and HTTP/1.1)",
			    quote(q, s, n));
	*minor = (unsigned)(s[7] - '0');
	return 0;
}

/* The request line s[0..n) (without its line end): "METHOD SP target SP HTTP/1.x". */
static int parse_request_line(char *s, size_t n, struct wire_head *h, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	size_t i = 0, t;
	int rc;

	while (i < n && tchar[(unsigned char)s[i]])
		i++;
	if (i == n || s[i] != ' ') {
		size_t e = i;
		while (e < n && s[e] != ' ')
			e++;
		if (i == n)
			return fail(err, errlen, 400, "request line '%s': no target",
				    quote(q, s, n));
		return fail(err, errlen, 400, "request line: method '%s' is not a token",
			    quote(q, s, e));
	}
	if (i == 0)
		return fail(err, errlen, 400, "request line: no method");
	s[i++] = '\0';
	h->method = s;

	t = i;
	while (i < n && s[i] != ' ') {
		unsigned char b = (unsigned char)s[i];
		if (b < 0x20 || b == 0x7f)
			return fail(err, errlen, 400,
				    "request line: control character 0x%02x in the target", b);
		i++;
	}
	if (i == t)
		return fail(err, errlen, 400, "request line: no target (or two spaces)");
	if (i == n)
		return fail(err, errlen, 400, "request line: no http version after '%s'",
			    quote(q, s + t, i - t));
	s[i++] = '\0';
	h->target = s + t;

	rc = parse_version(s + i, n - i, &h->minor, err, errlen);
	if (rc)
		return rc;
	s[n] = '\0';
	return 0;
}

/* Header line number ln, s[0..n) without its line end: "name:" OWS value OWS. */
static int parse_field(char *s, size_t n, unsigned ln, struct wire_header *f, char *err,
		       size_t errlen)
{
	char q[QUOTE_BUF];
	size_t i = 0, v, e;

	if (is_ws(s[0]))
		return fail(err, errlen, 400,
			    "header line %u: starts with whitespace (obsolete line folding)", ln);
	while (i < n && tchar[(unsigned char)s[i]])
		i++;
	if (i == n || (s[i] != ':' && !memchr(s + i, ':', n - i)))
		return fail(err, errlen, 400, "header line %u: no ':'", ln);
	if (s[i] != ':') {
		if (is_ws(s[i]) && i > 0) {
			size_t w = i;
			while (w < n && is_ws(s[w]))
				w++;
			if (w < n && s[w] == ':')
				return fail(err, errlen, 400,
					    "header line %u: whitespace between '%s' and ':'", ln,
					    quote(q, s, i));
		}
		e = (size_t)((const char *)memchr(s, ':', n) - s);
		return fail(err, errlen, 400, "header line %u: name '%s' is not a token", ln,
			    quote(q, s, e));
	}
	if (i == 0)
		return fail(err, errlen, 400, "header line %u: empty name", ln);
	s[i] = '\0';

	v = i + 1;
	while (v < n && is_ws(s[v]))
		v++;
	for (e = v; e < n; e++) {
		unsigned char b = (unsigned char)s[e];
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return fail(err, errlen, 400,
				    "header line %u: control character 0x%02x in the value of '%s'",
				    ln, b, quote(q, s, i));
	}
	while (e > v && is_ws(s[e - 1]))
		e--;
	s[e] = '\0';  /* s[n] is the CR or LF ending the line: always ours to overwrite */
	f->name = s;
	f->value = s + v;
	return 0;
}

int wire_parse_head(char *p, size_t len, struct wire_head *h, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned ln = 0;
	bool first = true;
	int rc;

	memset(h, 0, sizeof *h);
	for (;;) {
		char *lf = memchr(p + pos, '\n', len - pos);
		size_t end, n;

		if (!lf)
			return fail(err, errlen, 400, "request head: no empty line at its end");
		end = (size_t)(lf - p);
		n = end - pos;
		if (n > 0 && p[end - 1] == '\r')
			n--;
		if (n == 0) {
			if (first) {
				/* empty lines before the request line: RFC 9112 section 2.2 */
				pos = end + 1;
				continue;
			}
			return 0;
		}
		if (first) {
			rc = parse_request_line(p + pos, n, h, err, errlen);
			if (rc)
				return rc;
			first = false;
		} else {
			ln++;
			if (h->nheaders == WIRE_MAX_HEADERS)
				return fail(err, errlen, 431, "more than %d header fields",
					    WIRE_MAX_HEADERS);
			rc = parse_field(p + pos, n, ln, &h->headers[h->nheaders], err, errlen);
			if (rc)
				return rc;
			h->nheaders++;
		}
		pos = end + 1;
	}
}

const char *wire_header(const struct wire_head *h, const char *name)
{
	for (unsigned i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

/* ---- framing ---- */

/*
 * Calls fn on each element of the comma-separated list s, with optional
 * whitespace around each element trimmed (empty elements included).
 * Stops at, and returns, the first non-zero fn result.
 */
static int each_element(const char *s, int (*fn)(const char *e, size_t n, void *arg), void *arg)
{
	for (;;) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		const char *e = s;
		int rc;

		while (n > 0 && is_ws(*e)) {
			e++;
			n--;
		}
		while (n > 0 && is_ws(e[n - 1]))
			n--;
		rc = fn(e, n, arg);
		if (rc || !c)
			return rc;
		s = c + 1;
	}
}

struct cl_state {
	uint64_t value;
	bool seen;
	const char *first;     /* the field value that set value, for the message */
	const char *field;     /* the field value being read */
	char *err;
	size_t errlen;
};

static int cl_element(const char *e, size_t n, void *arg)
{
	struct cl_state *st = arg;
	char q[QUOTE_BUF], q2[QUOTE_BUF];
	uint64_t v = 0;

	if (n == 0)
		return fail(st->err, st->errlen, 400, "content-length '%s' is not a number",
			    quote(q, st->field, strlen(st->field)));
	for (size_t i = 0; i < n; i++) {
		if (e[i] < '0' || e[i] > '9')
			return fail(st->err, st->errlen, 400,
				    "content-length '%s' is not a number",
				    quote(q, st->field, strlen(st->field)));
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(e[i] - '0')) / 10)
			return fail(st->err, st->errlen, 400, "content-length '%s' is too large",
				    quote(q, st->field, strlen(st->field)));
		v = v * 10 + (uint64_t)(e[i] - '0');
	}
	if (st->seen && v != st->value)
		return fail(st->err, st->errlen, 400,
			    "content-length '%s' and '%s' differ: send one length",
			    quote(q, st->first, strlen(st->first)),
			    quote(q2, st->field, strlen(st->field)));
	if (!st->seen) {
		st->seen = true;
		st->value = v;
		st->first = st->field;
	}
	return 0;
}

struct conn_state {
	bool close, keep_alive;
};

static int conn_element(const char *e, size_t n, void *arg)
{
	struct conn_state *st = arg;

	if (n == 5 && strncasecmp(e, "close", 5) == 0)
		st->close = true;
	else if (n == 10 && strncasecmp(e, "keep-alive", 10) == 0)
		st->keep_alive = true;
	return 0;
}

int wire_framing(const struct wire_head *h, struct wire_framing *f, char *err, size_t errlen)
{
	struct cl_state cl = { .err = err, .errlen = errlen };
	struct conn_state conn = { false, false };
	const char *bad_te = NULL, *bad_expect = NULL;
	unsigned nte = 0;
	bool cont = false;
	char q[QUOTE_BUF];
	int rc;

	memset(f, 0, sizeof *f);
	for (unsigned i = 0; i < h->nheaders; i++) {
		const char *name = h->headers[i].name, *value = h->headers[i].value;
		if (strcasecmp(name, "content-length") == 0) {
			cl.field = value;
			rc = each_element(value, cl_element, &cl);
			if (rc)
				return rc;
		} else if (strcasecmp(name, "transfer-encoding") == 0) {
			if (!bad_te && strcasecmp(value, "chunked") != 0)
				bad_te = value;
			nte++;
		} else if (strcasecmp(name, "connection") == 0) {
			each_element(value, conn_element, &conn);
		} else if (strcasecmp(name, "expect") == 0) {
			if (strcasecmp(value, "100-continue") == 0)
				cont = true;
			else if (*value && !bad_expect)
				bad_expect = value;
		}
	}
	if (nte && cl.seen)
		return fail(err, errlen, 400,
			    "content-length and transfer-encoding together: send one of them");
	if (bad_te)
		return fail(err, errlen, 501,
			    "transfer-encoding '%s' is not supported (only 'chunked')",
			    quote(q, bad_te, strlen(bad_te)));
	if (nte > 1)
		return fail(err, errlen, 400, "transfer-encoding 'chunked' sent %u times", nte);
	if (bad_expect)
		return fail(err, errlen, 417, "expect '%s' is not supported (only '100-continue')",
			    quote(q, bad_expect, strlen(bad_expect)));

	f->chunked = nte > 0;
	f->has_length = cl.seen;
	f->length = cl.seen ? cl.value : 0;
	f->keep_alive = !conn.close && (h->minor >= 1 || conn.keep_alive);
	/* RFC 9110 section 10.1.1: a 100-continue from an HTTP/1.0 client is ignored */
	f->expect_continue = cont && h->minor >= 1;
	return 0;
}

/* ---- chunked transfer coding ---- */

enum {
	CH_SIZE,       /* hex digits of the chunk size (c->digits so far, c->left the value) */
	CH_SIZE_WS,    /* whitespace after the digits: only ';' may follow */
	CH_EXT,        /* chunk extensions: skipped up to the line end */
	CH_SIZE_LF,    /* CR seen on the size line: LF must follow */
	CH_DATA,       /* c->left bytes of data */
	CH_DATA_END,   /* the CRLF after the data */
	CH_DATA_LF,    /* CR after the data seen: LF must follow */
	CH_TRAILER,    /* start of a trailer line, or the empty line ending the body */
	CH_TRAILER_LINE, /* inside a trailer line: skipped up to its LF */
	CH_TRAILER_LF, /* CR at the start of a trailer line: LF ends the body */
	CH_DONE,
	CH_ERROR,
};

void wire_chunked_init(struct wire_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CH_SIZE;
}

/* A byte for a message: 'g' when printable, else 0x07. */
static const char *show(char q[8], unsigned char b)
{
	if (b > 0x20 && b < 0x7f && b != '\'')
		snprintf(q, 8, "'%c'", b);
	else
		snprintf(q, 8, "0x%02x", b);
	return q;
}

/* Marks c malformed at byte i of this call's input, with a message; returns -1. */
static int fail_at(struct wire_chunked *c, size_t i, size_t *used, char *err, size_t errlen,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail_at(struct wire_chunked *c, size_t i, size_t *used, char *err, size_t errlen,
		   const char *fmt, ...)
{
	c->state = CH_ERROR;
	*used = i;
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The size line ended: on to the data, or to the trailers after the last chunk. */
static void size_line_done(struct wire_chunked *c)
{
	c->line = 0;
	c->digits = 0;
	c->state = c->left ? CH_DATA : CH_TRAILER;
}

/*
 * The state machine.  Each case consumes in[i] (or, for data, a span) and
 * either breaks to count it, or returns.  Bytes of a size line before its
 * line end count against WIRE_MAX_CHUNK_LINE (so CRLF and a bare LF allow
 * the same line); every byte after the last chunk's size line, line ends
 * included, counts against WIRE_MAX_TRAILERS.  On an error *used stops
 * before the offending byte, wherever the input was split.
 */
int wire_chunked_step(struct wire_chunked *c, const char *in, size_t n, size_t *used,
		      const char **data, size_t *dlen, char *err, size_t errlen)
{
	char q[8];
	size_t i = 0;
	int d;

	*used = 0;
	*data = in;
	*dlen = 0;
	if (c->state == CH_DONE)
		return 1;
	if (c->state == CH_ERROR)
		return fail(err, errlen, -1, "chunked body: already malformed");

	for (; i < n; i++) {
		unsigned char b = (unsigned char)in[i];
		bool size_byte = false;

		switch (c->state) {
		case CH_SIZE:
			d = hexval(b);
			if (d >= 0) {
				if (c->digits == 16)
					return fail_at(c, i, used, err, errlen,
						       "chunk size line: more than 16 hex digits");
				c->digits++;
				/* 15 digits fit in 60 bits: the shift never wraps */
				c->left = c->left << 4 | (uint64_t)d;
				if (c->left > (uint64_t)INT64_MAX)
					return fail_at(c, i, used, err, errlen,
						       "chunk size line: size past 2^63 bytes");
				size_byte = true;
				break;
			}
			if (b != ';' && b != '\r' && b != '\n' && !is_ws((char)b))
				return fail_at(c, i, used, err, errlen,
					       "chunk size line: invalid hex digit %s", show(q, b));
			if (c->digits == 0)
				return fail_at(c, i, used, err, errlen,
					       "chunk size line: no hex digits before %s",
					       show(q, b));
			if (b == '\n')
				size_line_done(c);
			else if (b == '\r')
				c->state = CH_SIZE_LF;
			else
				c->state = b == ';' ? CH_EXT : CH_SIZE_WS;
			size_byte = b == ';' || is_ws((char)b);
			break;
		case CH_SIZE_WS:
			if (b != ';' && !is_ws((char)b))
				return fail_at(c, i, used, err, errlen,
					       "chunk size line: %s after the size and whitespace"
					       ", not ';'", show(q, b));
			if (b == ';')
				c->state = CH_EXT;
			size_byte = true;
			break;
		case CH_EXT:
			if (b == '\n')
				size_line_done(c);
			else if (b == '\r')
				c->state = CH_SIZE_LF;
			else
				size_byte = true;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				return fail_at(c, i, used, err, errlen,
					       "chunk size line: CR followed by %s, not LF",
					       show(q, b));
			size_line_done(c);
			break;
		case CH_DATA: {
			size_t k = n - i < c->left ? n - i : (size_t)c->left;
			c->left -= k;
			if (!c->left)
				c->state = CH_DATA_END;
			*data = in + i;
			*dlen = k;
			*used = i + k;
			return 0;
		}
		case CH_DATA_END:
			if (b != '\r' && b != '\n')
				return fail_at(c, i, used, err, errlen,
					       "chunk data: %s where CRLF must end the chunk"
					       " (a wrong chunk size?)", show(q, b));
			c->state = b == '\r' ? CH_DATA_LF : CH_SIZE;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				return fail_at(c, i, used, err, errlen,
					       "chunk data: CR followed by %s, not LF", show(q, b));
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
		case CH_TRAILER_LINE:
		case CH_TRAILER_LF:
			if (++c->trailers > WIRE_MAX_TRAILERS)
				return fail_at(c, i, used, err, errlen,
					       "chunk trailers: longer than %u bytes",
					       WIRE_MAX_TRAILERS);
			if (c->state == CH_TRAILER_LINE) {
				c->line++;
				if (b == '\n') {
					c->line = 0;
					c->state = CH_TRAILER;
				}
				break;
			}
			if (c->state == CH_TRAILER && b != '\n') {
				c->state = b == '\r' ? CH_TRAILER_LF : CH_TRAILER_LINE;
				c->line = 1;
				break;
			}
			if (b != '\n')
				return fail_at(c, i, used, err, errlen,
					       "chunk trailers: CR followed by %s, not LF",
					       show(q, b));
			c->state = CH_DONE;
			*used = i + 1;
			return 1;
		default:
			return fail_at(c, i, used, err, errlen,
				       "chunked body: decoder state %d is corrupt", c->state);
		}
		if (size_byte && ++c->line > WIRE_MAX_CHUNK_LINE)
			return fail_at(c, i, used, err, errlen,
				       "chunk size line: longer than %d bytes",
				       WIRE_MAX_CHUNK_LINE);
	}
	*used = n;
	return 0;
}

/* ---- the request target ---- */

/* Splits s (a path with its query, no fragment) at '?'. */
static void split_query(const char *s, const char **path, size_t *path_len, const char **query,
			size_t *query_len)
{
	const char *qm = strchr(s, '?');

	*path = s;
	if (qm) {
		*path_len = (size_t)(qm - s);
		*query = qm + 1;
		*query_len = strlen(qm + 1);
	} else {
		*path_len = strlen(s);
		*query = s + *path_len;
		*query_len = 0;
	}
}

int wire_target_split(const char *target, const char **path, size_t *path_len,
		      const char **query, size_t *query_len, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	size_t tlen = strlen(target);
	const char *auth, *rest;

	*path = target;
	*path_len = 0;
	*query = target + tlen;
	*query_len = 0;
	if (tlen == 0)
		return fail(err, errlen, 400, "request target is empty");
	for (const unsigned char *s = (const unsigned char *)target; *s; s++)
		if (*s <= 0x20 || *s == 0x7f || *s == '#')
			return fail(err, errlen, 400,
				    "request target '%s': %s", quote(q, target, tlen),
				    *s == '#' ? "a fragment ('#') is never sent"
					      : "space or control character");
	if (strcmp(target, "*") == 0) {
		*path_len = 1;
		return 0;
	}
	if (target[0] == '/') {
		split_query(target, path, path_len, query, query_len);
		return 0;
	}
	if (strncasecmp(target, "http://", 7) == 0)
		auth = target + 7;
	else if (strncasecmp(target, "https://", 8) == 0)
		auth = target + 8;
	else
		return fail(err, errlen, 400,
			    "request target '%s' is neither a path ('/...'), an http url nor '*'",
			    quote(q, target, tlen));
	rest = auth + strcspn(auth, "/?");
	if (rest == auth)
		return fail(err, errlen, 400, "request target '%s': no host",
			    quote(q, target, tlen));
	if (*rest == '/') {
		split_query(rest, path, path_len, query, query_len);
	} else {
		/* "http://host?q": the path is "/", the last '/' of "://" */
		*path = auth - 1;
		*path_len = 1;
		*query = *rest ? rest + 1 : rest;
		*query_len = strlen(*query);
	}
	return 0;
}

/* ---- percent-decoding ---- */

long wire_unescape(const char *p, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)p[i];
		int hi, lo;

		if (b == '%' && i + 2 < n && (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)p[i + 2])) >= 0) {
			b = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (b == '\0' || o + 1 >= outsz)
			return -1;
		out[o++] = (char)b;
	}
	if (outsz == 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}

/*
 * wire.h - HTTP/1.1 request syntax (RFC 9112), pure: the request head, the
 * framing of the body, the chunked transfer coding and the request target.
 *
 * No I/O, no allocation, no global state: the connections of server.c
 * feed it the bytes they read, and fuzz/fuzz_http.c feeds it anything.
 * Every function may be called from any thread on its own data.
 *
 * Errors are answered by the caller with the HTTP status these functions
 * return (400, 431, 501, 505...) and the message they wrote: one line,
 * lowercase, naming what was wrong and where ("header line 3: no ':'").
 */
#ifndef TN_HTTP_WIRE_H
#define TN_HTTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header fields of one request; more is answered 431. */
#define WIRE_MAX_HEADERS 128
/* Bytes of one chunk-size line with its extensions; more is malformed. */
#define WIRE_MAX_CHUNK_LINE 4096
/* Bytes of the trailer section of a chunked body; more is malformed. */
#define WIRE_MAX_TRAILERS (16u << 10)

struct wire_header {
	const char *name;   /* NUL-terminated inside the parsed head */
	const char *value;  /* NUL-terminated, without leading and trailing spaces/tabs */
};

struct wire_head {
	const char *method;   /* "GET", "PUT"... as sent (a token) */
	const char *target;   /* the request-target as sent: "/a%20b?x=1", or absolute-form */
	unsigned minor;       /* HTTP/1.<minor>: 0 or 1 */
	unsigned nheaders;
	struct wire_header headers[WIRE_MAX_HEADERS];  /* in the order sent */
};

/*
 * Looks for the end of a request head in p[0..n): returns the length of
 * the head including the empty line that ends it (CRLF CRLF; a bare LF is
 * accepted for CRLF), or 0 if the end is not there yet.  *scan is where
 * the search resumes: 0 for a new head, then left as this call set it,
 * so bytes arriving in pieces are scanned once.
 */
size_t wire_head_end(const char *p, size_t n, size_t *scan);

/*
 * Parses a complete head p[0..len) (len from wire_head_end) in place:
 * method, target, header names and values are NUL-terminated inside p and
 * h points into p.  Empty lines before the request line are skipped
 * (RFC 9112 section 2.2).  Returns 0, or the status to answer with a
 * message in err (errlen bytes):
 *   400  malformed request line or header line (no ':', a space before
 *        the ':', a control character, obsolete line folding, a method
 *        or header name that is not a token, a target with spaces)
 *   431  more than WIRE_MAX_HEADERS header fields
 *   505  a version other than HTTP/1.0 or HTTP/1.1
 */
int wire_parse_head(char *p, size_t len, struct wire_head *h, char *err, size_t errlen);

/* The value of the first header field named name (case-insensitive); NULL if absent. */
const char *wire_header(const struct wire_head *h, const char *name);

/* How the body of a request is framed, and what the client asked of the connection. */
struct wire_framing {
	bool chunked;          /* Transfer-Encoding: chunked */
	uint64_t length;       /* Content-Length (0 when absent and not chunked) */
	bool has_length;       /* a Content-Length was sent */
	bool keep_alive;       /* HTTP/1.1 without "Connection: close", or HTTP/1.0 with
				  "Connection: keep-alive" (tokens, case-insensitive) */
	bool expect_continue;  /* "Expect: 100-continue" */
};

/*
 * The framing of h's body.  Returns 0, or the status to answer with a
 * message in err:
 *   400  a Content-Length that is not digits, overflows, or is sent twice
 *        with different values; Content-Length together with
 *        Transfer-Encoding (request smuggling: RFC 9112 section 6.3)
 *   501  a Transfer-Encoding other than "chunked" (alone)
 *   417  an Expect other than 100-continue (HTTP/1.0 clients' Expect is
 *        ignored, as RFC 9110 section 10.1.1 says)
 */
int wire_framing(const struct wire_head *h, struct wire_framing *f, char *err, size_t errlen);

/* Decoder state of a chunked body; zero it with wire_chunked_init. */
struct wire_chunked {
	int state;
	uint64_t left;      /* data bytes left in the current chunk */
	unsigned digits;    /* hex digits seen on the size line */
	size_t line;        /* bytes of the current size line or trailer line */
	size_t trailers;    /* bytes of trailer section so far */
};

void wire_chunked_init(struct wire_chunked *c);

/*
 * Decodes the next piece of a chunked body from in[0..n).  Consumes bytes
 * up to the end of one span of data or the end of the body: *used is the
 * number consumed (0 only when n is 0), *data and *dlen the body bytes
 * among them (a span of in; *dlen may be 0 when only framing was
 * consumed).  Framing may be split anywhere between calls: no byte has to
 * be kept by the caller.  Returns 1 when the body ended (the last chunk
 * and its trailers are consumed; bytes past *used belong to the next
 * request), 0 when more is to come (call again with in + *used), or -1
 * when the coding is malformed (err names what and where: "chunk size
 * line: invalid hex digit 'g'").  Trailer fields are read and dropped.
 * Once it returned 1 or -1 it returns the same again, consuming nothing.
 * Sizes past INT64_MAX are malformed.
 */
int wire_chunked_step(struct wire_chunked *c, const char *in, size_t n, size_t *used,
		      const char **data, size_t *dlen, char *err, size_t errlen);

/*
 * Splits a request-target into its path and query, as sent (still
 * percent-encoded): origin-form "/p?q" gives "/p" and "q"; absolute-form
 * "http://host:1/p?q" gives "/p" and "q" ("/" when it has no path);
 * "*" gives "*".  A target without '?' gives an empty query.  The spans
 * point into target.  Returns 0, or 400 (with err) when the target is
 * none of these forms.
 */
int wire_target_split(const char *target, const char **path, size_t *path_len,
		      const char **query, size_t *query_len, char *err, size_t errlen);

/*
 * Percent-decodes p[0..n) into out (outsz bytes, NUL-terminated): each
 * %XX with two hex digits becomes its byte; a '%' not followed by two hex
 * digits is kept as is; '+' is kept (it means space only in a query).
 * Returns the decoded length, or -1 when the result would hold a NUL byte
 * or not fit in outsz.
 */
long wire_unescape(const char *p, size_t n, char *out, size_t outsz);

#endif

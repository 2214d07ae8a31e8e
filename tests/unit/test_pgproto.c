/*
 * test_pgproto.c - PostgreSQL protocol framing and codec (src/pg/proto.c):
 * the reader at every split point of a stream, oversized, short and
 * truncated messages, each frontend parser on good and malformed input,
 * and the backend writers' exact bytes.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "pg/proto.h"
#include "core/banned.h"

/* ---- building frontend bytes ------------------------------------------------ */

static void be32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	buf_append(b, p, 4);
}

static void be16(struct buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	buf_append(b, p, 2);
}

static void cstr(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s) + 1);
}

/* Appends a typed message: type, length, body. */
static void typed(struct buf *out, char type, const struct buf *body)
{
	buf_putc(out, type);
	be32(out, (uint32_t)body->len + 4);
	buf_append(out, body->data, body->len);
}

/* An untyped packet: length, code, body. */
static void untyped(struct buf *out, uint32_t code, const struct buf *body)
{
	be32(out, (uint32_t)(body ? body->len : 0) + 8);
	be32(out, code);
	if (body)
		buf_append(out, body->data, body->len);
}

static void startup_body(struct buf *b)
{
	cstr(b, "user");
	cstr(b, "alice");
	cstr(b, "database");
	cstr(b, "lake");
	cstr(b, "application_name");
	cstr(b, "psql");
	buf_putc(b, 0);
}

/* A Bind of 3 params: text "42", NULL, binary int4 7; result formats [1]. */
static void bind_body(struct buf *b)
{
	cstr(b, "portal1");
	cstr(b, "stmt1");
	be16(b, 3);
	be16(b, 0);
	be16(b, 0);
	be16(b, 1);
	be16(b, 3);
	be32(b, 2);
	buf_append(b, "42", 2);
	be32(b, 0xffffffffu);
	be32(b, 4);
	be32(b, 7);
	be16(b, 1);
	be16(b, 1);
}

/* Parses one message of m's kind into a struct and returns it as a PG message. */
static struct pg_msg mk(char type, const struct buf *body)
{
	struct pg_msg m = { PG_MSG_TYPED, type, 0, (const uint8_t *)body->data, body->len };
	return m;
}

/* ---- the reader ---------------------------------------------------------------- */

/* A copy of a received message. */
struct got {
	enum pg_kind kind;
	char type;
	uint32_t code;
	char body[256];
	size_t len;
};

/* The whole stream used by the split tests, and the messages in it. */
static void stream(struct buf *s, struct got *want, int *nwant)
{
	struct buf b = BUF_INIT(0);
	int n = 0;
	startup_body(&b);
	untyped(s, PG_PROTOCOL_3_0, &b);
	want[n++] = (struct got){ PG_MSG_STARTUP, 0, PG_PROTOCOL_3_0, "", 0 };
	memcpy(want[n - 1].body, b.data, b.len);
	want[n - 1].len = b.len;
	struct {
		char type;
		const char *body;
		size_t len;
	} t[] = {
		{ 'Q', "SELECT 1\0", 9 },
		{ 'P', "s1\0SELECT $1\0\0\1\0\0\0\x17", 19 },
		{ 'S', "", 0 },
		{ 'D', "Ss1\0", 4 },
		{ 'E', "\0\0\0\0\x0a", 5 },
		{ 'H', "", 0 },
		{ 'X', "", 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_reset(&b);
		buf_append(&b, t[i].body, t[i].len);
		typed(s, t[i].type, &b);
		want[n] = (struct got){ PG_MSG_TYPED, t[i].type, 0, "", t[i].len };
		memcpy(want[n].body, t[i].body, t[i].len);
		n++;
	}
	buf_release(&b);
	*nwant = n;
}

/* Drains r into got[]; returns the count, or a negative code. */
static int drain(struct pg_reader *r, struct got *got, int *n)
{
	struct pg_msg m;
	char err[TN_ERRLEN];
	int rc;
	while ((rc = pg_reader_next(r, &m, err)) == 1) {
		CHECK(*n < 32);
		CHECK(m.len <= sizeof got[0].body);
		got[*n] = (struct got){ m.kind, m.type, m.code, "", m.len };
		memcpy(got[*n].body, m.body, m.len);
		(*n)++;
	}
	return rc;
}

static void same(const struct got *a, const struct got *b, int n)
{
	for (int i = 0; i < n; i++) {
		CHECK_INT(a[i].kind, b[i].kind);
		CHECK_INT(a[i].type, b[i].type);
		CHECK_INT(a[i].code, b[i].code);
		CHECK_INT(a[i].len, b[i].len);
		CHECK(memcmp(a[i].body, b[i].body, a[i].len) == 0);
	}
}

TEST(pgproto_reader_every_split)
{
	struct buf s = BUF_INIT(0);
	struct got want[16], got[32];
	int nwant = 0;
	stream(&s, want, &nwant);
	char err[TN_ERRLEN];
	/* two slices, cut at every point */
	for (size_t cut = 0; cut <= s.len; cut++) {
		struct pg_reader r;
		pg_reader_init(&r, 0);
		int n = 0;
		CHECK_INT(pg_reader_feed(&r, s.data, cut, err), 0);
		CHECK_INT(drain(&r, got, &n), 0);
		CHECK_INT(pg_reader_feed(&r, s.data + cut, s.len - cut, err), 0);
		CHECK_INT(drain(&r, got, &n), 0);
		CHECK_INT(n, nwant);
		same(got, want, n);
		CHECK_INT(pg_reader_buffered(&r), 0);
		pg_reader_release(&r);
	}
	/* three slices, every pair of cuts */
	for (size_t a = 0; a <= s.len; a += 3) {
		for (size_t b = a; b <= s.len; b += 5) {
			struct pg_reader r;
			pg_reader_init(&r, 0);
			int n = 0;
			size_t cuts[4] = { 0, a, b, s.len };
			for (int k = 0; k < 3; k++) {
				CHECK_INT(pg_reader_feed(&r, s.data + cuts[k], cuts[k + 1] - cuts[k], err), 0);
				CHECK_INT(drain(&r, got, &n), 0);
			}
			CHECK_INT(n, nwant);
			same(got, want, n);
			pg_reader_release(&r);
		}
	}
	/* byte by byte, through the zero-copy interface */
	struct pg_reader r;
	pg_reader_init(&r, 0);
	int n = 0;
	for (size_t i = 0; i < s.len; i++) {
		void *p;
		CHECK_INT(pg_reader_space(&r, 1, &p, err), 0);
		memcpy(p, s.data + i, 1);
		pg_reader_commit(&r, 1);
		CHECK_INT(drain(&r, got, &n), 0);
	}
	CHECK_INT(n, nwant);
	same(got, want, n);
	pg_reader_release(&r);
	buf_release(&s);
}

TEST(pgproto_reader_pipelined_messages_stay_valid)
{
	/* all messages of one feed are usable together (no feed in between) */
	struct buf s = BUF_INIT(0);
	struct got want[16];
	int nwant = 0;
	stream(&s, want, &nwant);
	struct pg_reader r;
	char err[TN_ERRLEN];
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len, err), 0);
	struct pg_msg m[16];
	int n = 0;
	while (pg_reader_next(&r, &m[n], err) == 1)
		n++;
	CHECK_INT(n, nwant);
	for (int i = 0; i < n; i++) {
		CHECK_INT(m[i].len, want[i].len);
		CHECK(memcmp(m[i].body, want[i].body, m[i].len) == 0);
	}
	pg_reader_release(&r);
	buf_release(&s);
}

TEST(pgproto_reader_requests)
{
	char err[TN_ERRLEN];
	struct pg_msg m;
	struct pg_reader r;
	struct buf s = BUF_INIT(0);
	/* SSLRequest, then GSSENCRequest: the reader stays in the startup phase */
	untyped(&s, PG_CODE_SSL, NULL);
	untyped(&s, PG_CODE_GSSENC, NULL);
	struct buf b = BUF_INIT(0);
	startup_body(&b);
	untyped(&s, PG_PROTOCOL_3_0 | 2, &b);  /* protocol 3.2: a 3.x startup */
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, 8, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.kind, PG_MSG_SSL);
	CHECK_INT(pg_reader_buffered(&r), 0);  /* nothing sent ahead of TLS */
	CHECK_INT(pg_reader_feed(&r, s.data + 8, s.len - 8, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.kind, PG_MSG_GSSENC);
	CHECK(pg_reader_buffered(&r) > 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.kind, PG_MSG_STARTUP);
	struct pg_startup st;
	CHECK_INT(pg_parse_startup(&m, &st, err), 0);
	CHECK_INT(st.major, 3);
	CHECK_INT(st.minor, 2);
	CHECK_STR(st.user, "alice");
	CHECK_STR(st.database, "lake");
	CHECK_STR(st.application_name, "psql");
	CHECK(st.options == NULL);
	CHECK_INT(st.nparams, 3);
	pg_reader_release(&r);

	/* CancelRequest */
	buf_reset(&s);
	buf_reset(&b);
	be32(&b, 1234);
	be32(&b, 0xdeadbeef);
	untyped(&s, PG_CODE_CANCEL, &b);
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.kind, PG_MSG_CANCEL);
	struct pg_cancel c;
	CHECK_INT(pg_parse_cancel(&m, &c, err), 0);
	CHECK_INT(c.pid, 1234);
	CHECK_INT(c.secret, 0xdeadbeef);
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_EINVAL);
	pg_reader_release(&r);

	/* a cancel request of the wrong length */
	buf_reset(&s);
	buf_reset(&b);
	be32(&b, 1234);
	untyped(&s, PG_CODE_CANCEL, &b);
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EINVAL);
	pg_reader_release(&r);

	/* an SSLRequest with a body */
	buf_reset(&s);
	buf_reset(&b);
	be32(&b, 0);
	untyped(&s, PG_CODE_SSL, &b);
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EINVAL);
	pg_reader_release(&r);

	/* protocol 2.0 */
	buf_reset(&s);
	buf_reset(&b);
	startup_body(&b);
	untyped(&s, 2u << 16, &b);
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EUNSUPPORTED);
	CHECK(strstr(err, "unsupported frontend protocol 2.0") != NULL);
	/* sticky: the connection is done */
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EUNSUPPORTED);
	CHECK_INT(pg_reader_feed(&r, "x", 1, err), TN_EUNSUPPORTED);
	pg_reader_release(&r);
	buf_release(&b);
	buf_release(&s);
}

TEST(pgproto_reader_bad_lengths)
{
	char err[TN_ERRLEN];
	struct pg_msg m;
	struct pg_reader r;
	/* startup packet: too short, too long (refused from the header alone) */
	static const uint8_t short_len[] = { 0, 0, 0, 7, 0, 3, 0, 0 };
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, short_len, sizeof short_len, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EINVAL);
	pg_reader_release(&r);
	static const uint8_t big[] = { 0, 0, 0x27, 0x11 };  /* 10001 */
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, big, sizeof big, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_ETOOBIG);
	pg_reader_release(&r);
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	pg_reader_init(&r, 0);
	CHECK_INT(pg_reader_feed(&r, huge, sizeof huge, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_ETOOBIG);
	pg_reader_release(&r);

	/* typed messages: length below 4, past the cap (refused before the body) */
	static const uint8_t neg[] = { 'Q', 0, 0, 0, 3 };
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	CHECK_INT(pg_reader_feed(&r, neg, sizeof neg, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_EINVAL);
	pg_reader_release(&r);
	static const uint8_t over[] = { 'Q', 0x40, 0, 0, 4 };  /* 1 GiB + 4: past PG_MAX_MESSAGE */
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	CHECK_INT(pg_reader_feed(&r, over, sizeof over, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_ETOOBIG);
	pg_reader_release(&r);
	/* a smaller cap (authentication): 65535 + 1 refused, 65535 waits for its body */
	static const uint8_t auth_over[] = { 'p', 0, 1, 0, 4 };
	static const uint8_t auth_ok[] = { 'p', 0, 1, 0, 3 };
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	pg_reader_set_max(&r, PG_MAX_AUTH_MESSAGE);
	CHECK_INT(pg_reader_feed(&r, auth_ok, sizeof auth_ok, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 0);
	pg_reader_release(&r);
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	pg_reader_set_max(&r, PG_MAX_AUTH_MESSAGE);
	CHECK_INT(pg_reader_feed(&r, auth_over, sizeof auth_over, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), TN_ETOOBIG);
	CHECK(strstr(err, "limit") != NULL);
	pg_reader_release(&r);

	/* truncated: a message cut short never comes out */
	struct buf s = BUF_INIT(0), b = BUF_INIT(0);
	cstr(&b, "SELECT 1");
	typed(&s, 'Q', &b);
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	CHECK_INT(pg_reader_feed(&r, s.data, s.len - 1, err), 0);
	CHECK_INT(pg_reader_next(&r, &m, err), 0);
	CHECK_INT(pg_reader_buffered(&r), s.len - 1);
	pg_reader_release(&r);

	/* a large message, then the buffer goes back to nothing once it is read */
	pg_reader_init(&r, 0);
	pg_reader_set_startup(&r, false);
	buf_reset(&b);
	buf_reset(&s);
	for (int i = 0; i < 300000; i++)
		buf_puts(&b, "SELECT 1234;");
	buf_putc(&b, 0);
	typed(&s, 'Q', &b);
	for (size_t off = 0; off < s.len; off += 65536) {
		size_t k = s.len - off < 65536 ? s.len - off : 65536;
		CHECK_INT(pg_reader_feed(&r, s.data + off, k, err), 0);
	}
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.len, b.len);
	CHECK(r.in.cap > 2 * PG_READER_MAX_FEED);
	CHECK_INT(pg_reader_feed(&r, "S\0\0\0\4", 5, err), 0);
	CHECK(r.in.cap < 4096);
	CHECK_INT(pg_reader_next(&r, &m, err), 1);
	CHECK_INT(m.type, 'S');
	pg_reader_release(&r);

	/* feeding past the buffer cap */
	pg_reader_init(&r, 16);
	pg_reader_set_startup(&r, false);
	char *lots = calloc(1, PG_MAX_STARTUP + 5 + PG_READER_MAX_FEED + 1);
	CHECK_INT(pg_reader_feed(&r, lots, PG_MAX_STARTUP + 5 + PG_READER_MAX_FEED + 1, err),
		  TN_ETOOBIG);
	free(lots);
	pg_reader_release(&r);
	buf_release(&s);
	buf_release(&b);
}

/* ---- parsers ------------------------------------------------------------------ */

TEST(pgproto_parse_startup_malformed)
{
	char err[TN_ERRLEN];
	struct pg_startup st;
	struct buf b = BUF_INIT(0);
	struct pg_msg m = { PG_MSG_STARTUP, 0, PG_PROTOCOL_3_0, NULL, 0 };
	/* no final terminator */
	cstr(&b, "user");
	cstr(&b, "alice");
	m.body = (const uint8_t *)b.data;
	m.len = b.len;
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_EINVAL);
	/* a value without its NUL */
	buf_reset(&b);
	cstr(&b, "user");
	buf_puts(&b, "alice");
	m.body = (const uint8_t *)b.data;
	m.len = b.len;
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_EINVAL);
	/* bytes after the terminator */
	buf_reset(&b);
	cstr(&b, "user");
	cstr(&b, "alice");
	buf_putc(&b, 0);
	buf_putc(&b, 'x');
	m.body = (const uint8_t *)b.data;
	m.len = b.len;
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_EINVAL);
	/* an empty packet is just the terminator missing */
	m.len = 0;
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_EINVAL);
	/* only the terminator: no parameters, no user (the server answers that) */
	buf_reset(&b);
	buf_putc(&b, 0);
	m.body = (const uint8_t *)b.data;
	m.len = b.len;
	CHECK_INT(pg_parse_startup(&m, &st, err), 0);
	CHECK_INT(st.nparams, 0);
	CHECK(st.user == NULL);
	/* too many parameters */
	buf_reset(&b);
	for (unsigned i = 0; i <= PG_MAX_STARTUP_PARAMS; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%u", i);
		cstr(&b, k);
		cstr(&b, "v");
	}
	buf_putc(&b, 0);
	m.body = (const uint8_t *)b.data;
	m.len = b.len;
	CHECK_INT(pg_parse_startup(&m, &st, err), TN_ETOOBIG);
	buf_release(&b);
}

TEST(pgproto_parse_query_parse_bind)
{
	char err[TN_ERRLEN];
	struct buf b = BUF_INIT(0);
	struct pg_msg m;

	/* Query */
	struct pg_query q;
	cstr(&b, "SELECT 1; SELECT 2");
	m = mk('Q', &b);
	CHECK_INT(pg_parse_query(&m, &q, err), 0);
	CHECK_STR(q.sql, "SELECT 1; SELECT 2");
	CHECK_INT(q.len, 18);
	buf_reset(&b);
	buf_puts(&b, "SELECT 1");  /* no NUL */
	m = mk('Q', &b);
	CHECK_INT(pg_parse_query(&m, &q, err), TN_EINVAL);
	CHECK(strstr(err, "Query") || strstr(err, "query"));
	buf_reset(&b);
	cstr(&b, "SELECT 1");
	buf_putc(&b, 'x');          /* trailing byte */
	m = mk('Q', &b);
	CHECK_INT(pg_parse_query(&m, &q, err), TN_EINVAL);
	m = mk('P', &b);            /* wrong type */
	CHECK_INT(pg_parse_query(&m, &q, err), TN_EINVAL);

	/* Parse */
	struct pg_parse p;
	buf_reset(&b);
	cstr(&b, "s1");
	cstr(&b, "SELECT $1, $2");
	be16(&b, 2);
	be32(&b, 23);
	be32(&b, 0);
	m = mk('P', &b);
	CHECK_INT(pg_parse_parse(&m, &p, err), 0);
	CHECK_STR(p.name, "s1");
	CHECK_STR(p.sql, "SELECT $1, $2");
	CHECK_INT(p.nparams, 2);
	CHECK_INT(pg_parse_oid(&p, 0), 23);
	CHECK_INT(pg_parse_oid(&p, 1), 0);
	CHECK_INT(pg_parse_oid(&p, 2), 0);
	/* a count that says more types than the message holds */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "SELECT $1");
	be16(&b, 3);
	be32(&b, 23);
	m = mk('P', &b);
	CHECK_INT(pg_parse_parse(&m, &p, err), TN_EINVAL);
	CHECK(strstr(err, "parameter types") != NULL);
	/* the query string without its NUL */
	buf_reset(&b);
	cstr(&b, "");
	buf_puts(&b, "SELECT 1");
	m = mk('P', &b);
	CHECK_INT(pg_parse_parse(&m, &p, err), TN_EINVAL);
	/* no count at all */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "SELECT 1");
	m = mk('P', &b);
	CHECK_INT(pg_parse_parse(&m, &p, err), TN_EINVAL);

	/* Bind */
	struct pg_bind bd;
	buf_reset(&b);
	bind_body(&b);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), 0);
	CHECK_STR(bd.portal, "portal1");
	CHECK_STR(bd.stmt, "stmt1");
	CHECK_INT(bd.nparams, 3);
	CHECK_INT(bd.params[0].len, 2);
	CHECK(memcmp(bd.params[0].p, "42", 2) == 0);
	CHECK_INT(bd.params[1].len, -1);
	CHECK(bd.params[1].p == NULL);
	CHECK_INT(bd.params[2].len, 4);
	CHECK_INT(pg_bind_param_format(&bd, 0), PG_FMT_TEXT);
	CHECK_INT(pg_bind_param_format(&bd, 2), PG_FMT_BINARY);
	int fmt;
	CHECK_INT(pg_bind_result_format(&bd, 0, 5, &fmt, err), 0);
	CHECK_INT(fmt, PG_FMT_BINARY);  /* one code applies to all columns */
	CHECK_INT(pg_bind_result_format(&bd, 4, 5, &fmt, err), 0);
	CHECK_INT(fmt, PG_FMT_BINARY);
	pg_bind_release(&bd);
	pg_bind_release(&bd);  /* twice is harmless */

	/* Bind: every truncation of a good message is refused */
	buf_reset(&b);
	bind_body(&b);
	for (size_t cut = 0; cut < b.len; cut++) {
		struct buf t = BUF_INIT(0);
		buf_append(&t, b.data, cut);
		m = mk('B', &t);
		CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
		CHECK(bd.params == NULL);
		buf_release(&t);
	}
	/* Bind: more parameters counted than bytes */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 0);
	be16(&b, 0xffff);
	be32(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
	CHECK(strstr(err, "more parameters") != NULL);
	/* a parameter longer than the message */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 0);
	be16(&b, 1);
	be32(&b, 1000);
	buf_puts(&b, "abc");
	be16(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
	/* a length below -1 */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 0);
	be16(&b, 1);
	be32(&b, 0xfffffffe);
	be16(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
	/* 2 format codes for 3 parameters */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 2);
	be16(&b, 0);
	be16(&b, 1);
	be16(&b, 3);
	for (int i = 0; i < 3; i++)
		be32(&b, 0xffffffffu);
	be16(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
	CHECK(strstr(err, "2 parameter formats but 3 parameters") != NULL);
	/* a format code of 2 */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 1);
	be16(&b, 2);
	be16(&b, 0);
	be16(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), TN_EINVAL);
	/* result formats: 2 codes for 3 columns refused at describe time */
	buf_reset(&b);
	cstr(&b, "");
	cstr(&b, "");
	be16(&b, 0);
	be16(&b, 0);
	be16(&b, 2);
	be16(&b, 1);
	be16(&b, 0);
	m = mk('B', &b);
	CHECK_INT(pg_parse_bind(&m, &bd, err), 0);
	CHECK_INT(pg_bind_result_format(&bd, 1, 2, &fmt, err), 0);
	CHECK_INT(fmt, PG_FMT_TEXT);
	CHECK_INT(pg_bind_result_format(&bd, 0, 2, &fmt, err), 0);
	CHECK_INT(fmt, PG_FMT_BINARY);
	CHECK_INT(pg_bind_result_format(&bd, 0, 3, &fmt, err), TN_EINVAL);
	pg_bind_release(&bd);
	buf_release(&b);
}

TEST(pgproto_parse_small_messages)
{
	char err[TN_ERRLEN];
	struct buf b = BUF_INIT(0);
	struct pg_msg m;
	struct pg_target t;

	cstr(&b, "s1");
	buf_reset(&b);
	buf_putc(&b, 'S');
	cstr(&b, "s1");
	m = mk('D', &b);
	CHECK_INT(pg_parse_describe(&m, &t, err), 0);
	CHECK_INT(t.kind, 'S');
	CHECK_STR(t.name, "s1");
	m = mk('C', &b);
	CHECK_INT(pg_parse_close(&m, &t, err), 0);
	buf_reset(&b);
	buf_putc(&b, 'X');  /* neither S nor P */
	cstr(&b, "s1");
	m = mk('D', &b);
	CHECK_INT(pg_parse_describe(&m, &t, err), TN_EINVAL);
	buf_reset(&b);
	buf_putc(&b, 'P');  /* name without NUL */
	buf_puts(&b, "p1");
	m = mk('C', &b);
	CHECK_INT(pg_parse_close(&m, &t, err), TN_EINVAL);
	m.len = 0;          /* nothing at all */
	CHECK_INT(pg_parse_close(&m, &t, err), TN_EINVAL);

	struct pg_execute e;
	buf_reset(&b);
	cstr(&b, "p1");
	be32(&b, 100);
	m = mk('E', &b);
	CHECK_INT(pg_parse_execute(&m, &e, err), 0);
	CHECK_STR(e.portal, "p1");
	CHECK_INT(e.max_rows, 100);
	m.len--;            /* row limit cut short */
	CHECK_INT(pg_parse_execute(&m, &e, err), TN_EINVAL);

	buf_reset(&b);
	m = mk('S', &b);
	CHECK_INT(pg_parse_empty(&m, err), 0);
	buf_putc(&b, 0);
	m = mk('S', &b);
	CHECK_INT(pg_parse_empty(&m, err), TN_EINVAL);

	struct pg_password pw;
	buf_reset(&b);
	cstr(&b, "secret");
	m = mk('p', &b);
	CHECK_INT(pg_parse_password(&m, &pw, err), 0);
	CHECK_STR(pw.password, "secret");
	CHECK_INT(pw.len, 6);

	struct pg_sasl_initial si;
	buf_reset(&b);
	cstr(&b, "SCRAM-SHA-256");
	be32(&b, 5);
	buf_puts(&b, "n,,xy");
	m = mk('p', &b);
	CHECK_INT(pg_parse_sasl_initial(&m, &si, err), 0);
	CHECK_STR(si.mechanism, "SCRAM-SHA-256");
	CHECK_INT(si.len, 5);
	CHECK(memcmp(si.data, "n,,xy", 5) == 0);
	m.len--;  /* the response cut short */
	CHECK_INT(pg_parse_sasl_initial(&m, &si, err), TN_EINVAL);
	buf_reset(&b);
	cstr(&b, "SCRAM-SHA-256");
	be32(&b, 0xffffffffu);  /* -1: no initial response */
	m = mk('p', &b);
	CHECK_INT(pg_parse_sasl_initial(&m, &si, err), 0);
	CHECK_INT(si.len, -1);
	CHECK(si.data == NULL);
	buf_reset(&b);
	buf_puts(&b, "SCRAM");  /* mechanism without NUL */
	m = mk('p', &b);
	CHECK_INT(pg_parse_sasl_initial(&m, &si, err), TN_EINVAL);

	struct pg_sasl_response sr;
	buf_reset(&b);
	buf_puts(&b, "c=biws,r=abc,p=xyz");
	m = mk('p', &b);
	CHECK_INT(pg_parse_sasl_response(&m, &sr, err), 0);
	CHECK_INT(sr.len, 18);

	const char *why;
	buf_reset(&b);
	cstr(&b, "client gave up");
	m = mk('f', &b);
	CHECK_INT(pg_parse_copy_fail(&m, &why, err), 0);
	CHECK_STR(why, "client gave up");
	buf_release(&b);
}

/* ---- writers ------------------------------------------------------------------ */

static char *hex(const struct buf *b)
{
	static char h[2048];
	CHECK(b->len * 2 < sizeof h);
	hex_encode(b->data, b->len, h);
	return h;
}

TEST(pgproto_writers_exact_bytes)
{
	struct buf b = BUF_INIT(0);
	CHECK_INT(pg_put_auth_ok(&b), 0);
	CHECK_STR(hex(&b), "520000000800000000");
	buf_reset(&b);
	CHECK_INT(pg_put_auth_cleartext(&b), 0);
	CHECK_STR(hex(&b), "520000000800000003");
	buf_reset(&b);
	const char *mechs[] = { "SCRAM-SHA-256" };
	CHECK_INT(pg_put_auth_sasl(&b, mechs, 1), 0);
	CHECK_STR(hex(&b), "52000000170000000a" "534352414d2d5348412d32353600" "00");
	buf_reset(&b);
	CHECK_INT(pg_put_auth_sasl_continue(&b, "r=x", 3), 0);
	CHECK_STR(hex(&b), "520000000b0000000b723d78");
	buf_reset(&b);
	CHECK_INT(pg_put_auth_sasl_final(&b, "v=y", 3), 0);
	CHECK_STR(hex(&b), "520000000b0000000c763d79");
	buf_reset(&b);
	CHECK_INT(pg_put_parameter_status(&b, "a", "b"), 0);
	CHECK_STR(hex(&b), "53000000086100" "6200");
	buf_reset(&b);
	CHECK_INT(pg_put_backend_key(&b, 1, 2), 0);
	CHECK_STR(hex(&b), "4b0000000c0000000100000002");
	buf_reset(&b);
	CHECK_INT(pg_put_ready(&b, PG_TX_IDLE), 0);
	CHECK_STR(hex(&b), "5a0000000549");
	buf_reset(&b);
	CHECK_INT(pg_put_command_complete(&b, "SELECT 1"), 0);
	CHECK_STR(hex(&b), "430000000d53454c454354203100");
	buf_reset(&b);
	CHECK_INT(pg_put_empty_query(&b), 0);
	CHECK_INT(pg_put_parse_complete(&b), 0);
	CHECK_INT(pg_put_bind_complete(&b), 0);
	CHECK_INT(pg_put_close_complete(&b), 0);
	CHECK_INT(pg_put_no_data(&b), 0);
	CHECK_INT(pg_put_portal_suspended(&b), 0);
	CHECK_STR(hex(&b), "4900000004" "3100000004" "3200000004" "3300000004" "6e00000004"
			   "7300000004");
	buf_reset(&b);
	CHECK_INT(pg_put_ssl_answer(&b, false), 0);
	CHECK_STR(b.data, "N");
	buf_reset(&b);
	const char *unknown[] = { "_pq_.x" };
	CHECK_INT(pg_put_negotiate_version(&b, 0, unknown, 1), 0);
	CHECK_STR(hex(&b), "760000001300000000" "00000001" "5f70715f2e7800");
	buf_reset(&b);
	uint32_t oids[] = { 23, 25 };
	CHECK_INT(pg_put_parameter_description(&b, oids, 2), 0);
	CHECK_STR(hex(&b), "740000000e0002" "00000017" "00000019");
	buf_reset(&b);
	struct pg_field f = { "n", 0, 0, 23, 4, -1, 0 };
	CHECK_INT(pg_put_row_description(&b, &f, 1), 0);
	CHECK_STR(hex(&b), "540000001a0001" "6e00" "00000000" "0000" "00000017" "0004" "ffffffff"
			   "0000");
	buf_reset(&b);
	struct pg_value v[2] = { { (const uint8_t *)"1", 1 }, { NULL, -1 } };
	CHECK_INT(pg_put_data_row(&b, v, 2), 0);
	CHECK_STR(hex(&b), "440000000f0002" "0000000131" "ffffffff");
	/* the same row piece by piece */
	struct buf p = BUF_INIT(0);
	size_t row = p.len;
	CHECK_INT(pg_put_row_begin(&p, 2), 0);
	size_t at = p.len;
	CHECK_INT(pg_put_value_open(&p), 0);
	buf_putc(&p, '1');
	CHECK_INT(pg_put_value_close(&p, at), 0);
	CHECK_INT(pg_put_null(&p), 0);
	CHECK_INT(pg_put_row_end(&p, row), 0);
	CHECK_STR(hex(&p), "440000000f0002" "0000000131" "ffffffff");
	buf_reset(&p);
	CHECK_INT(pg_put_row_begin(&p, 1), 0);
	CHECK_INT(pg_put_value(&p, "ab", 2), 0);
	CHECK_INT(pg_put_row_end(&p, 0), 0);
	CHECK_STR(hex(&p), "440000000c0001" "000000026162");
	buf_release(&p);

	buf_reset(&b);
	struct pg_error e = { "ERROR", "42P01", "relation \"x\" does not exist", NULL, NULL, 15,
			      NULL, NULL, 0 };
	CHECK_INT(pg_put_error(&b, &e), 0);
	/* E len S ERROR V ERROR C 42P01 M ... P 15 \0 */
	const char want[] = "SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0P15\0";
	CHECK_INT(b.len, 1 + 4 + sizeof want);
	CHECK_INT(b.data[0], 'E');
	CHECK_INT(((uint8_t)b.data[3] << 8 | (uint8_t)b.data[4]), 4 + sizeof want);
	CHECK(memcmp(b.data + 5, want, sizeof want) == 0);
	buf_reset(&b);
	struct pg_error full = { "WARNING", "01000", "m", "d", "h", 0, "r", "f.c", 7 };
	CHECK_INT(pg_put_notice(&b, &full), 0);
	const char want2[] = "SWARNING\0VWARNING\0C01000\0Mm\0Dd\0Hh\0Ff.c\0L7\0Rr\0";
	CHECK_INT(b.data[0], 'N');
	CHECK(memcmp(b.data + 5, want2, sizeof want2) == 0);
	buf_release(&b);

	CHECK_STR(pg_sqlstate(TN_EDENIED), "42501");
	CHECK_STR(pg_sqlstate(TN_EAUTH), "28P01");
	CHECK_STR(pg_sqlstate(TN_ECANCELED), "57014");
	CHECK_STR(pg_sqlstate(TN_EUNSUPPORTED), "0A000");
	CHECK_STR(pg_sqlstate(-999), "XX000");
}

TEST(pgproto_writers_cap_leaves_buf_whole)
{
	/* a message that does not fit leaves b as it was */
	struct buf b = BUF_INIT(20);
	CHECK_INT(pg_put_ready(&b, PG_TX_IDLE), 0);
	size_t before = b.len;
	CHECK_INT(pg_put_command_complete(&b, "SELECT 123456789012345"), TN_ETOOBIG);
	CHECK_INT(b.len, before);
	struct pg_field f = { "a long column name", 0, 0, 23, 4, -1, 0 };
	CHECK_INT(pg_put_row_description(&b, &f, 1), TN_ETOOBIG);
	CHECK_INT(b.len, before);
	buf_release(&b);
}

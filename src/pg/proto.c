/*
 * proto.c - PostgreSQL protocol 3.0 framing, frontend parsers, backend
 * writers (see proto.h).
 *
 * Design:
 *   - The reader keeps one struct buf of received bytes and an offset of
 *     the next unread message.  pg_reader_next hands out messages that
 *     point into the buffer, so several pipelined messages of one feed are
 *     all valid at once; the buffer is compacted (consumed bytes dropped)
 *     only when more bytes are added, which is why feeding invalidates.
 *   - A length is checked as soon as its header is in: an oversized
 *     message is refused before its body is buffered, so a hostile length
 *     costs nothing.
 *   - Parsers walk a cursor over the body (struct cur) whose every read
 *     checks the bytes remaining; a failed read poisons the cursor, and the
 *     parser checks once at the end that nothing failed and nothing is
 *     left over.
 *   - Writers append the type byte and a length placeholder, the fields,
 *     then patch the length; a failed append truncates back, so b never
 *     holds half a message.
 *
 * Invariants: no read past a message's body; every string handed out is
 * NUL-terminated inside its message; the reader never buffers more than
 * its cap (max message + header + PG_READER_MAX_FEED).
 */
#include "pg/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

/* ---- byte order ------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- the reader -------------------------------------------------------------- */

static size_t reader_cap(const struct pg_reader *r)
{
	size_t m = r->max_msg > PG_MAX_STARTUP ? r->max_msg : PG_MAX_STARTUP;
	return m + 5 + PG_READER_MAX_FEED;
}

void pg_reader_init(struct pg_reader *r, size_t max_msg)
{
	memset(r, 0, sizeof *r);
	r->max_msg = max_msg && max_msg <= PG_MAX_MESSAGE ? max_msg : PG_MAX_MESSAGE;
	buf_init(&r->in, reader_cap(r));
	r->startup = true;
}

void pg_reader_release(struct pg_reader *r)
{
	if (!r)
		return;
	buf_release(&r->in);
	r->off = 0;
}

void pg_reader_set_max(struct pg_reader *r, size_t max_msg)
{
	r->max_msg = max_msg && max_msg <= PG_MAX_MESSAGE ? max_msg : PG_MAX_MESSAGE;
	r->in.max = reader_cap(r);
	if (r->in.max < r->in.len)
		r->in.max = r->in.len;  /* never below what is buffered already */
}

void pg_reader_set_startup(struct pg_reader *r, bool startup)
{
	r->startup = startup;
}

/*
 * Drops consumed bytes so the buffer holds only unread ones.  An empty
 * buffer grown past PG_READER_MAX_FEED by one large message is freed, so
 * a connection's memory returns to its usual size.
 */
static void reader_compact(struct pg_reader *r)
{
	size_t rest = r->in.len - r->off;
	if (rest == 0 && r->in.cap > 2 * PG_READER_MAX_FEED) {
		buf_release(&r->in);
		r->off = 0;
		return;
	}
	if (r->off == 0)
		return;
	if (rest)
		memmove(r->in.data, r->in.data + r->off, rest);
	buf_truncate(&r->in, rest);
	r->off = 0;
}

int pg_reader_feed(struct pg_reader *r, const void *p, size_t n, char *err)
{
	if (r->failed)
		return tn_fail(err, r->failed, "connection: input refused after an earlier error");
	reader_compact(r);
	r->room = 0;
	if (buf_append(&r->in, p, n))
		return tn_fail(err, TN_ETOOBIG, "connection: more than %zu bytes buffered",
			       r->in.max);
	return 0;
}

int pg_reader_space(struct pg_reader *r, size_t want, void **p, char *err)
{
	if (r->failed)
		return tn_fail(err, r->failed, "connection: input refused after an earlier error");
	if (want > PG_READER_MAX_FEED)
		want = PG_READER_MAX_FEED;
	reader_compact(r);
	if (buf_grow(&r->in, want))
		return tn_fail(err, TN_ETOOBIG, "connection: more than %zu bytes buffered",
			       r->in.max);
	*p = r->in.data + r->in.len;
	r->room = want;
	return 0;
}

void pg_reader_commit(struct pg_reader *r, size_t got)
{
	/* buf_grow reserved the room; len moves over what recv() wrote. */
	if (got > r->room)
		TN_BUG("pg_reader_commit: %zu bytes past the %zu reserved", got, r->room);
	r->room = 0;
	r->in.len += got;
	r->in.data[r->in.len] = '\0';
}

size_t pg_reader_buffered(const struct pg_reader *r)
{
	return r->in.len - r->off;
}

static int reader_fail(struct pg_reader *r, int code)
{
	r->failed = code;
	return code;
}

static int next_untyped(struct pg_reader *r, struct pg_msg *m, char *err)
{
	const uint8_t *p = (const uint8_t *)r->in.data + r->off;
	size_t avail = r->in.len - r->off;
	if (avail < 4)
		return 0;
	uint32_t len = be32(p);
	if (len < 8) {
		tn_fail(err, TN_EINVAL, "startup packet: length %u is below 8", len);
		return reader_fail(r, TN_EINVAL);
	}
	if (len > PG_MAX_STARTUP) {
		tn_fail(err, TN_ETOOBIG, "startup packet: length %u is past the %u-byte limit", len,
			PG_MAX_STARTUP);
		return reader_fail(r, TN_ETOOBIG);
	}
	if (avail < len)
		return 0;
	uint32_t code = be32(p + 4);
	memset(m, 0, sizeof *m);
	m->code = code;
	m->body = p + 8;
	m->len = len - 8;
	size_t want = 0;  /* exact length of a request packet */
	if (code == PG_CODE_SSL) {
		m->kind = PG_MSG_SSL;
		want = 8;
	} else if (code == PG_CODE_GSSENC) {
		m->kind = PG_MSG_GSSENC;
		want = 8;
	} else if (code == PG_CODE_CANCEL) {
		m->kind = PG_MSG_CANCEL;
		want = 16;
	} else if (code >> 16 == 3) {
		m->kind = PG_MSG_STARTUP;
		r->startup = false;
	} else {
		tn_fail(err, TN_EUNSUPPORTED,
			"unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
			code >> 16, code & 0xffff);
		return reader_fail(r, TN_EUNSUPPORTED);
	}
	if (want && len != want) {
		tn_fail(err, TN_EINVAL, "%s: length %u, expected %zu",
			m->kind == PG_MSG_CANCEL ? "cancel request" : "encryption request", len, want);
		return reader_fail(r, TN_EINVAL);
	}
	r->off += len;
	return 1;
}

int pg_reader_next(struct pg_reader *r, struct pg_msg *m, char *err)
{
	if (r->failed)
		return tn_fail(err, r->failed, "connection: input refused after an earlier error");
	if (r->startup)
		return next_untyped(r, m, err);
	const uint8_t *p = (const uint8_t *)r->in.data + r->off;
	size_t avail = r->in.len - r->off;
	if (avail < 5)
		return 0;
	uint32_t len = be32(p + 1);
	if (len < 4) {
		tn_fail(err, TN_EINVAL, "message '%c': length %u is below 4",
			p[0] >= 0x20 && p[0] < 0x7f ? p[0] : '?', len);
		return reader_fail(r, TN_EINVAL);
	}
	if (len - 4 > r->max_msg) {
		tn_fail(err, TN_ETOOBIG, "message '%c': length %u is past the %zu-byte limit",
			p[0] >= 0x20 && p[0] < 0x7f ? p[0] : '?', len, r->max_msg);
		return reader_fail(r, TN_ETOOBIG);
	}
	if (avail - 1 < len)
		return 0;
	memset(m, 0, sizeof *m);
	m->kind = PG_MSG_TYPED;
	m->type = (char)p[0];
	m->body = p + 5;
	m->len = len - 4;
	r->off += 1 + (size_t)len;
	return 1;
}

/* ---- the parse cursor ---------------------------------------------------------- */

struct cur {
	const uint8_t *p;
	size_t n;       /* bytes left */
	bool bad;       /* a read failed */
	const char *why;
};

static void cur_init(struct cur *c, const struct pg_msg *m)
{
	c->p = m->body;
	c->n = m->len;
	c->bad = false;
	c->why = NULL;
}

static void cur_fail(struct cur *c, const char *why)
{
	if (!c->bad)
		c->why = why;
	c->bad = true;
	c->n = 0;
}

static uint8_t cur_u8(struct cur *c, const char *what)
{
	if (c->n < 1) {
		cur_fail(c, what);
		return 0;
	}
	uint8_t v = c->p[0];
	c->p++;
	c->n--;
	return v;
}

static uint16_t cur_u16(struct cur *c, const char *what)
{
	if (c->n < 2) {
		cur_fail(c, what);
		return 0;
	}
	uint16_t v = be16(c->p);
	c->p += 2;
	c->n -= 2;
	return v;
}

static uint32_t cur_u32(struct cur *c, const char *what)
{
	if (c->n < 4) {
		cur_fail(c, what);
		return 0;
	}
	uint32_t v = be32(c->p);
	c->p += 4;
	c->n -= 4;
	return v;
}

/* A NUL-terminated string inside the message; "" after a failure. */
static const char *cur_str(struct cur *c, size_t *len, const char *what)
{
	const uint8_t *z = c->n ? memchr(c->p, 0, c->n) : NULL;
	if (!z) {
		cur_fail(c, what);
		if (len)
			*len = 0;
		return "";
	}
	const char *s = (const char *)c->p;
	size_t l = (size_t)(z - c->p);
	c->p = z + 1;
	c->n -= l + 1;
	if (len)
		*len = l;
	return s;
}

/* n raw bytes; NULL after a failure. */
static const uint8_t *cur_bytes(struct cur *c, size_t n, const char *what)
{
	if (c->n < n) {
		cur_fail(c, what);
		return NULL;
	}
	const uint8_t *s = c->p;
	c->p += n;
	c->n -= n;
	return s;
}

/* The end of a parse: the first fault, or bytes left over. */
static int cur_end(const struct cur *c, const char *msg, char *err)
{
	if (c->bad)
		return tn_fail(err, TN_EINVAL, "invalid %s message: %s", msg, c->why);
	if (c->n)
		return tn_fail(err, TN_EINVAL, "invalid %s message: %zu bytes after the last field",
			       msg, c->n);
	return 0;
}

static int want_type(const struct pg_msg *m, char type, const char *msg, char *err)
{
	if (m->kind != PG_MSG_TYPED || m->type != type)
		return tn_fail(err, TN_EINVAL, "invalid %s message: wrong message type", msg);
	return 0;
}

/* ---- parsers ------------------------------------------------------------------ */

/* StartupMessage  int32 len, int32 196608, (name\0 value\0)*, \0 */
int pg_parse_startup(const struct pg_msg *m, struct pg_startup *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (m->kind != PG_MSG_STARTUP)
		return tn_fail(err, TN_EINVAL, "invalid startup packet: not a startup message");
	out->major = (uint16_t)(m->code >> 16);
	out->minor = (uint16_t)(m->code & 0xffff);
	struct cur c;
	cur_init(&c, m);
	for (;;) {
		size_t nl = 0;
		const char *name = cur_str(&c, &nl, "a parameter name without its NUL");
		if (c.bad || nl == 0)
			break;
		const char *value = cur_str(&c, NULL, "a parameter value without its NUL");
		if (c.bad)
			break;
		if (out->nparams == PG_MAX_STARTUP_PARAMS)
			return tn_fail(err, TN_ETOOBIG, "invalid startup packet: more than %u parameters",
				       PG_MAX_STARTUP_PARAMS);
		out->name[out->nparams] = name;
		out->value[out->nparams] = value;
		out->nparams++;
		if (!strcmp(name, "user"))
			out->user = value;
		else if (!strcmp(name, "database"))
			out->database = value;
		else if (!strcmp(name, "options"))
			out->options = value;
		else if (!strcmp(name, "application_name"))
			out->application_name = value;
		else if (!strcmp(name, "client_encoding"))
			out->client_encoding = value;
		else if (!strcmp(name, "replication"))
			out->replication = value;
	}
	if (c.bad)
		return tn_fail(err, TN_EINVAL,
			       "invalid startup packet layout: expected terminator as last byte");
	return cur_end(&c, "startup", err);
}

/* CancelRequest  int32 16, int32 80877102, int32 pid, int32 secret */
int pg_parse_cancel(const struct pg_msg *m, struct pg_cancel *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (m->kind != PG_MSG_CANCEL)
		return tn_fail(err, TN_EINVAL, "invalid cancel request: not a cancel request");
	struct cur c;
	cur_init(&c, m);
	out->pid = cur_u32(&c, "no process id");
	out->secret = cur_u32(&c, "no secret key");
	return cur_end(&c, "cancel", err);
}

/* Query 'Q'  sql\0 */
int pg_parse_query(const struct pg_msg *m, struct pg_query *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_QUERY, "query", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->sql = cur_str(&c, &out->len, "the query string has no NUL");
	return cur_end(&c, "query", err);
}

/* Parse 'P'  name\0 sql\0 int16 n, int32 oid[n] */
int pg_parse_parse(const struct pg_msg *m, struct pg_parse *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_PARSE, "Parse", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->name = cur_str(&c, NULL, "the statement name has no NUL");
	out->sql = cur_str(&c, &out->sql_len, "the query string has no NUL");
	out->nparams = cur_u16(&c, "no parameter count");
	out->oids = cur_bytes(&c, (size_t)out->nparams * 4,
			      "more parameter types counted than the message holds");
	if (c.bad)
		out->nparams = 0;
	return cur_end(&c, "Parse", err);
}

uint32_t pg_parse_oid(const struct pg_parse *p, size_t i)
{
	return i < p->nparams ? be32(p->oids + 4 * i) : 0;
}

static bool fmts_ok(const uint8_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t v = be16(f + 2 * i);
		if (v != PG_FMT_TEXT && v != PG_FMT_BINARY)
			return false;
	}
	return true;
}

/*
 * Bind 'B'  portal\0 stmt\0 int16 nfmt, int16 fmt[nfmt], int16 nparams,
 *           (int32 len | -1, bytes[len])[nparams], int16 nres, int16 res[nres]
 */
int pg_parse_bind(const struct pg_msg *m, struct pg_bind *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_BIND, "Bind", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->portal = cur_str(&c, NULL, "the portal name has no NUL");
	out->stmt = cur_str(&c, NULL, "the statement name has no NUL");
	out->nfmt = cur_u16(&c, "no parameter format count");
	out->fmts = cur_bytes(&c, (size_t)out->nfmt * 2,
			      "more parameter formats counted than the message holds");
	uint16_t np = cur_u16(&c, "no parameter count");
	if (!c.bad && np > c.n / 4)  /* each parameter takes 4 bytes at least */
		cur_fail(&c, "more parameters counted than the message holds");
	if (!c.bad && np) {
		out->params = xcalloc(np, sizeof *out->params);
		out->nparams = np;
	}
	for (size_t i = 0; i < np && !c.bad; i++) {
		int32_t len = (int32_t)cur_u32(&c, "a parameter without its length");
		if (len < -1) {
			cur_fail(&c, "a parameter length below -1");
			break;
		}
		out->params[i].len = len;
		out->params[i].p = len < 0 ? NULL
					   : cur_bytes(&c, (size_t)len,
						       "a parameter longer than the message");
	}
	out->nresfmt = cur_u16(&c, "no result format count");
	out->resfmts = cur_bytes(&c, (size_t)out->nresfmt * 2,
				 "more result formats counted than the message holds");
	rc = cur_end(&c, "Bind", err);
	if (!rc && out->nfmt > 1 && out->nfmt != out->nparams)
		rc = tn_fail(err, TN_EINVAL, "bind message has %u parameter formats but %u parameters",
			     out->nfmt, out->nparams);
	if (!rc && (!fmts_ok(out->fmts, out->nfmt) || !fmts_ok(out->resfmts, out->nresfmt)))
		rc = tn_fail(err, TN_EINVAL, "invalid Bind message: a format code other than 0 or 1");
	if (rc)
		pg_bind_release(out);
	return rc;
}

void pg_bind_release(struct pg_bind *b)
{
	if (!b)
		return;
	free(b->params);
	memset(b, 0, sizeof *b);
}

int pg_bind_param_format(const struct pg_bind *b, size_t i)
{
	if (b->nfmt == 0)
		return PG_FMT_TEXT;
	if (b->nfmt == 1)
		return be16(b->fmts);
	return i < b->nfmt ? be16(b->fmts + 2 * i) : PG_FMT_TEXT;
}

int pg_bind_result_format(const struct pg_bind *b, size_t col, size_t ncols, int *fmt,
			  char *err)
{
	*fmt = PG_FMT_TEXT;
	if (b->nresfmt > 1 && b->nresfmt != ncols)
		return tn_fail(err, TN_EINVAL, "bind message has %u result formats but query has %zu columns",
			       b->nresfmt, ncols);
	if (b->nresfmt == 1)
		*fmt = be16(b->resfmts);
	else if (b->nresfmt > 1 && col < b->nresfmt)
		*fmt = be16(b->resfmts + 2 * col);
	return 0;
}

/* Describe 'D' / Close 'C'  byte 'S'|'P', name\0 */
static int parse_target(const struct pg_msg *m, char type, const char *msg,
			struct pg_target *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, type, msg, err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->kind = (char)cur_u8(&c, "no target type");
	out->name = cur_str(&c, NULL, "the name has no NUL");
	rc = cur_end(&c, msg, err);
	if (!rc && out->kind != 'S' && out->kind != 'P')
		rc = tn_fail(err, TN_EINVAL, "invalid %s message subtype %d", msg, (unsigned char)out->kind);
	return rc;
}

int pg_parse_describe(const struct pg_msg *m, struct pg_target *out, char *err)
{
	return parse_target(m, PG_FE_DESCRIBE, "Describe", out, err);
}

int pg_parse_close(const struct pg_msg *m, struct pg_target *out, char *err)
{
	return parse_target(m, PG_FE_CLOSE, "Close", out, err);
}

/* Execute 'E'  portal\0 int32 max_rows */
int pg_parse_execute(const struct pg_msg *m, struct pg_execute *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_EXECUTE, "Execute", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->portal = cur_str(&c, NULL, "the portal name has no NUL");
	out->max_rows = (int32_t)cur_u32(&c, "no row limit");
	return cur_end(&c, "Execute", err);
}

/* Sync 'S', Flush 'H', Terminate 'X', CopyDone 'c'  (no body) */
int pg_parse_empty(const struct pg_msg *m, char *err)
{
	if (m->kind != PG_MSG_TYPED)
		return tn_fail(err, TN_EINVAL, "invalid message: not a typed message");
	if (m->len)
		return tn_fail(err, TN_EINVAL, "invalid '%c' message: %zu bytes where none belong",
			       m->type >= 0x20 && m->type < 0x7f ? m->type : '?', m->len);
	return 0;
}

/* PasswordMessage 'p'  password\0 */
int pg_parse_password(const struct pg_msg *m, struct pg_password *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_PASSWORD, "password", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->password = cur_str(&c, &out->len, "the password has no NUL");
	return cur_end(&c, "password", err);
}

/* SASLInitialResponse 'p'  mechanism\0 int32 len | -1, bytes[len] */
int pg_parse_sasl_initial(const struct pg_msg *m, struct pg_sasl_initial *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_PASSWORD, "SASLInitialResponse", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	out->mechanism = cur_str(&c, NULL, "the mechanism name has no NUL");
	out->len = (int32_t)cur_u32(&c, "no response length");
	if (!c.bad && out->len < -1)
		cur_fail(&c, "a response length below -1");
	if (!c.bad && out->len >= 0)
		out->data = cur_bytes(&c, (size_t)out->len, "a response longer than the message");
	rc = cur_end(&c, "SASLInitialResponse", err);
	if (rc) {
		out->data = NULL;
		out->len = -1;
	}
	return rc;
}

/* SASLResponse 'p'  bytes (the whole body) */
int pg_parse_sasl_response(const struct pg_msg *m, struct pg_sasl_response *out, char *err)
{
	memset(out, 0, sizeof *out);
	int rc = want_type(m, PG_FE_PASSWORD, "SASLResponse", err);
	if (rc)
		return rc;
	out->data = m->body;
	out->len = m->len;
	return 0;
}

/* CopyFail 'f'  reason\0 */
int pg_parse_copy_fail(const struct pg_msg *m, const char **reason, char *err)
{
	*reason = "";
	int rc = want_type(m, PG_FE_COPY_FAIL, "CopyFail", err);
	if (rc)
		return rc;
	struct cur c;
	cur_init(&c, m);
	*reason = cur_str(&c, NULL, "the reason has no NUL");
	return cur_end(&c, "CopyFail", err);
}

/* ---- writers ------------------------------------------------------------------ */

/*
 * A message under construction: msg_begin appends the type and a length
 * placeholder; the field appends OR their results into w.rc; msg_end
 * patches the length or, after any failure, truncates b back.
 */
struct wr {
	struct buf *b;
	size_t start;
	int rc;
};

static struct wr msg_begin(struct buf *b, char type)
{
	struct wr w = { b, b->len, 0 };
	static const char zero[4] = { 0, 0, 0, 0 };
	w.rc = buf_putc(b, type);
	if (!w.rc)
		w.rc = buf_append(b, zero, 4);
	return w;
}

static void w_bytes(struct wr *w, const void *p, size_t n)
{
	if (!w->rc && n)
		w->rc = buf_append(w->b, p, n);
}

static void w_u8(struct wr *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct wr *w, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	w_bytes(w, p, 2);
}

static void w_u32(struct wr *w, uint32_t v)
{
	uint8_t p[4];
	put32(p, v);
	w_bytes(w, p, 4);
}

static void w_str(struct wr *w, const char *s)
{
	w_bytes(w, s, strlen(s) + 1);
}

static int msg_end(struct wr *w)
{
	size_t len = w->b->len - w->start - 1;
	if (!w->rc && len > 0x7fffffffu)
		w->rc = TN_ETOOBIG;
	if (w->rc) {
		buf_truncate(w->b, w->start);
		return w->rc;
	}
	put32((uint8_t *)w->b->data + w->start + 1, (uint32_t)len);
	return 0;
}

int pg_put_ssl_answer(struct buf *b, bool yes)
{
	return buf_putc(b, yes ? 'S' : 'N');
}

/* Authentication 'R'  int32 code, ... */
static int put_auth(struct buf *b, uint32_t code, const void *data, size_t n)
{
	struct wr w = msg_begin(b, 'R');
	w_u32(&w, code);
	w_bytes(&w, data, n);
	return msg_end(&w);
}

int pg_put_auth_ok(struct buf *b)
{
	return put_auth(b, 0, NULL, 0);
}

int pg_put_auth_cleartext(struct buf *b)
{
	return put_auth(b, 3, NULL, 0);
}

/* AuthenticationSASL 'R'  int32 10, (mechanism\0)*, \0 */
int pg_put_auth_sasl(struct buf *b, const char *const *mechs, size_t n)
{
	struct wr w = msg_begin(b, 'R');
	w_u32(&w, 10);
	for (size_t i = 0; i < n; i++)
		w_str(&w, mechs[i]);
	w_u8(&w, 0);
	return msg_end(&w);
}

int pg_put_auth_sasl_continue(struct buf *b, const void *data, size_t n)
{
	return put_auth(b, 11, data, n);
}

int pg_put_auth_sasl_final(struct buf *b, const void *data, size_t n)
{
	return put_auth(b, 12, data, n);
}

/* NegotiateProtocolVersion 'v'  int32 minor, int32 n, option\0 * n */
int pg_put_negotiate_version(struct buf *b, uint32_t minor, const char *const *unknown,
			     size_t n)
{
	struct wr w = msg_begin(b, 'v');
	w_u32(&w, minor);
	w_u32(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		w_str(&w, unknown[i]);
	return msg_end(&w);
}

/* ParameterStatus 'S'  name\0 value\0 */
int pg_put_parameter_status(struct buf *b, const char *name, const char *value)
{
	struct wr w = msg_begin(b, 'S');
	w_str(&w, name);
	w_str(&w, value);
	return msg_end(&w);
}

/* BackendKeyData 'K'  int32 pid, int32 secret */
int pg_put_backend_key(struct buf *b, uint32_t pid, uint32_t secret)
{
	struct wr w = msg_begin(b, 'K');
	w_u32(&w, pid);
	w_u32(&w, secret);
	return msg_end(&w);
}

/* ReadyForQuery 'Z'  byte status */
int pg_put_ready(struct buf *b, char tx_status)
{
	struct wr w = msg_begin(b, 'Z');
	w_u8(&w, (uint8_t)tx_status);
	return msg_end(&w);
}

/*
 * RowDescription 'T'  int16 n, (name\0 int32 table, int16 attnum,
 *                     int32 type, int16 typlen, int32 typmod, int16 format)[n]
 */
int pg_put_row_description(struct buf *b, const struct pg_field *f, size_t n)
{
	if (n > 0xffff)
		return TN_ETOOBIG;
	struct wr w = msg_begin(b, 'T');
	w_u16(&w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		w_str(&w, f[i].name ? f[i].name : "");
		w_u32(&w, f[i].table_oid);
		w_u16(&w, (uint16_t)f[i].attnum);
		w_u32(&w, f[i].type_oid);
		w_u16(&w, (uint16_t)f[i].typlen);
		w_u32(&w, (uint32_t)f[i].typmod);
		w_u16(&w, (uint16_t)f[i].format);
	}
	return msg_end(&w);
}

/* ParameterDescription 't'  int16 n, int32 oid[n] */
int pg_put_parameter_description(struct buf *b, const uint32_t *oids, size_t n)
{
	if (n > 0xffff)
		return TN_ETOOBIG;
	struct wr w = msg_begin(b, 't');
	w_u16(&w, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		w_u32(&w, oids[i]);
	return msg_end(&w);
}

/* DataRow 'D'  int16 n, (int32 len | -1, bytes[len])[n] */
int pg_put_data_row(struct buf *b, const struct pg_value *v, size_t n)
{
	if (n > 0xffff)
		return TN_ETOOBIG;
	struct wr w = msg_begin(b, 'D');
	w_u16(&w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].len < 0 || !v[i].p) {
			w_u32(&w, 0xffffffffu);
			continue;
		}
		w_u32(&w, (uint32_t)v[i].len);
		w_bytes(&w, v[i].p, (size_t)v[i].len);
	}
	return msg_end(&w);
}

int pg_put_row_begin(struct buf *b, uint16_t ncols)
{
	uint8_t h[7] = { 'D', 0, 0, 0, 0, (uint8_t)(ncols >> 8), (uint8_t)ncols };
	return buf_append(b, h, sizeof h);
}

int pg_put_null(struct buf *b)
{
	static const uint8_t m1[4] = { 0xff, 0xff, 0xff, 0xff };
	return buf_append(b, m1, 4);
}

int pg_put_value(struct buf *b, const void *p, size_t n)
{
	if (n > 0x7fffffffu)
		return TN_ETOOBIG;
	int rc = buf_grow(b, 4 + n);  /* once: this runs for every value of every row */
	if (rc)
		return rc;
	uint8_t *d = (uint8_t *)b->data + b->len;
	put32(d, (uint32_t)n);
	if (n)
		memcpy(d + 4, p, n);
	b->len += 4 + n;
	b->data[b->len] = '\0';
	return 0;
}

int pg_put_value_open(struct buf *b)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	return buf_append(b, zero, 4);
}

int pg_put_value_close(struct buf *b, size_t at)
{
	size_t n = b->len - at - 4;
	if (n > 0x7fffffffu)
		return TN_ETOOBIG;
	put32((uint8_t *)b->data + at, (uint32_t)n);
	return 0;
}

int pg_put_row_end(struct buf *b, size_t row)
{
	size_t len = b->len - row - 1;
	if (len > 0x7fffffffu)
		return TN_ETOOBIG;
	put32((uint8_t *)b->data + row + 1, (uint32_t)len);
	return 0;
}

/* CommandComplete 'C'  tag\0 */
int pg_put_command_complete(struct buf *b, const char *tag)
{
	struct wr w = msg_begin(b, 'C');
	w_str(&w, tag);
	return msg_end(&w);
}

static int put_empty(struct buf *b, char type)
{
	struct wr w = msg_begin(b, type);
	return msg_end(&w);
}

int pg_put_empty_query(struct buf *b)
{
	return put_empty(b, 'I');
}

int pg_put_parse_complete(struct buf *b)
{
	return put_empty(b, '1');
}

int pg_put_bind_complete(struct buf *b)
{
	return put_empty(b, '2');
}

int pg_put_close_complete(struct buf *b)
{
	return put_empty(b, '3');
}

int pg_put_no_data(struct buf *b)
{
	return put_empty(b, 'n');
}

int pg_put_portal_suspended(struct buf *b)
{
	return put_empty(b, 's');
}

/* ErrorResponse 'E' / NoticeResponse 'N'  (byte code, string\0)*, \0 */
static int put_fields(struct buf *b, char type, const struct pg_error *e)
{
	struct wr w = msg_begin(b, type);
	const char *sev = e->severity ? e->severity : (type == 'E' ? "ERROR" : "NOTICE");
	char num[16];
	w_u8(&w, 'S');
	w_str(&w, sev);
	w_u8(&w, 'V');
	w_str(&w, sev);
	w_u8(&w, 'C');
	w_str(&w, e->sqlstate ? e->sqlstate : "XX000");
	w_u8(&w, 'M');
	w_str(&w, e->message ? e->message : "");
	if (e->detail) {
		w_u8(&w, 'D');
		w_str(&w, e->detail);
	}
	if (e->hint) {
		w_u8(&w, 'H');
		w_str(&w, e->hint);
	}
	if (e->position > 0) {
		snprintf(num, sizeof num, "%d", e->position);
		w_u8(&w, 'P');
		w_str(&w, num);
	}
	if (e->file) {
		w_u8(&w, 'F');
		w_str(&w, e->file);
	}
	if (e->line > 0) {
		snprintf(num, sizeof num, "%d", e->line);
		w_u8(&w, 'L');
		w_str(&w, num);
	}
	if (e->routine) {
		w_u8(&w, 'R');
		w_str(&w, e->routine);
	}
	w_u8(&w, 0);
	return msg_end(&w);
}

int pg_put_error(struct buf *b, const struct pg_error *e)
{
	return put_fields(b, 'E', e);
}

int pg_put_notice(struct buf *b, const struct pg_error *e)
{
	return put_fields(b, 'N', e);
}

/*
 * TN codes to SQLSTATEs (PostgreSQL's errcodes.txt names in comments).
 * The server may choose a more precise code where it knows more (53200
 * out_of_memory, 08P01 protocol_violation, 28000 for a missing user).
 */
const char *pg_sqlstate(int tn_code)
{
	switch (tn_code) {
	case TN_OK: return "00000";          /* successful_completion */
	case TN_EINVAL: return "42601";      /* syntax_error */
	case TN_ENOTFOUND: return "42P01";   /* undefined_table */
	case TN_EDENIED: return "42501";     /* insufficient_privilege */
	case TN_ETOOBIG: return "54000";     /* program_limit_exceeded */
	case TN_EIO: return "58030";         /* io_error */
	case TN_ENOSPC: return "53100";      /* disk_full */
	case TN_ECONFLICT: return "42710";   /* duplicate_object */
	case TN_EAGAIN: return "53000";      /* insufficient_resources */
	case TN_EAUTH: return "28P01";       /* invalid_password */
	case TN_ECORRUPT: return "XX001";    /* data_corrupted */
	case TN_EUNSUPPORTED: return "0A000"; /* feature_not_supported */
	case TN_ETIMEDOUT: return "57014";   /* query_canceled (statement_timeout) */
	case TN_ECANCELED: return "57014";   /* query_canceled */
	case TN_EINTERNAL:
	default: return "XX000";             /* internal_error */
	}
}

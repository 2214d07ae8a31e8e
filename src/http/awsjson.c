/*
 * awsjson.c - a single-pass scanner for the envelope of Kinesis and
 * Firehose put calls (PutRecord, PutRecords, PutRecordBatch).
 *
 * Why not jansson: a full PutRecords call is 5 MiB of record data, 6.7 MiB
 * of base64 inside JSON, and jansson builds it at about 75 MB/s (measured
 * here: 90 ms per call), which would make the envelope, not the WAL, the
 * bottleneck of the AWS ingest path.  This scanner walks the body once,
 * without allocating, and hands each record's fields to a callback as
 * spans of the body; base64 is then decoded straight from the body.
 *
 * What it accepts: one JSON object.  At the top level it picks out
 * StreamName, DeliveryStreamName and StreamARN (strings), Records (an
 * array of objects), Record (one object), and the members of a record
 * (Kinesis PutRecord has them at the top); in a record, Data,
 * PartitionKey and ExplicitHashKey.  Every other member, at any level, is
 * skipped with a lexical check: brackets must match (at most
 * AWSJ_MAX_DEPTH deep), strings must close and hold no raw control
 * characters or bad escapes, numbers and literals must be well formed.
 * UTF-8 is not validated and a lone surrogate escape is taken as U+FFFD:
 * the strings used are base64, stream names and partition keys, each
 * checked by its own rules afterwards, and partition keys are not stored.
 * Otherwise it accepts what jansson accepts (checked by mutation against
 * jansson while writing it).  A duplicate member overrides the earlier
 * one, except Records/Record, which may appear once.
 *
 * Pure and thread-safe: caller memory only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http_int.h"

#include "core/banned.h"

#define AWSJ_MAX_DEPTH 64

struct cur {
	const char *p, *end, *start;
};

static int fail_at(const struct cur *c, char *err, const char *what)
{
	return tn_fail(err, TN_EINVAL, "invalid JSON at byte %zu: %s",
		       (size_t)(c->p - c->start), what);
}

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* At '"': scans a string, filling *s with its raw content. */
static int scan_string(struct cur *c, struct awsj_str *s, char *err)
{
	const char *q;

	c->p++;  /* the opening quote */
	s->p = c->p;
	s->esc = false;
	for (q = c->p; q < c->end; q++) {
		unsigned char ch = (unsigned char)*q;

		if (ch == '"') {
			s->n = (size_t)(q - s->p);
			s->present = true;
			c->p = q + 1;
			return 0;
		}
		if (ch < 0x20) {
			c->p = q;
			return fail_at(c, err, "control character in string");
		}
		if (ch == '\\') {
			s->esc = true;
			if (q + 1 >= c->end)
				break;
			q++;
			switch (*q) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				break;
			case 'u':
				if (q + 4 >= c->end || !is_hex(q[1]) || !is_hex(q[2]) || !is_hex(q[3]) ||
				    !is_hex(q[4])) {
					c->p = q;
					return fail_at(c, err, "bad \\u escape");
				}
				q += 4;
				break;
			default:
				c->p = q;
				return fail_at(c, err, "bad escape in string");
			}
		}
	}
	c->p = c->end;
	return fail_at(c, err, "unterminated string");
}

static int scan_number(struct cur *c, char *err)
{
	const char *q = c->p;
	bool digits = false;

	if (q < c->end && *q == '-')
		q++;
	if (q < c->end && *q == '0') {
		q++;
		digits = true;
	} else {
		while (q < c->end && *q >= '0' && *q <= '9') {
			q++;
			digits = true;
		}
	}
	if (!digits)
		return fail_at(c, err, "bad number");
	if (q < c->end && *q == '.') {
		q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return fail_at(c, err, "bad number");
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < c->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < c->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return fail_at(c, err, "bad number");
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	c->p = q;
	return 0;
}

static int scan_literal(struct cur *c, char *err)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t i;

	for (i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);

		if ((size_t)(c->end - c->p) >= n && memcmp(c->p, lits[i], n) == 0) {
			c->p += n;
			return 0;
		}
	}
	return fail_at(c, err, "unexpected character");
}

/* Skips one value of any type (iterative; depth capped). */
static int skip_value(struct cur *c, char *err)
{
	uint64_t is_obj = 0;  /* bit d: level d is an object */
	int depth = 0, rc;
	struct awsj_str s;

	for (;;) {
		skip_ws(c);
		if (c->p >= c->end)
			return fail_at(c, err, "unexpected end of input");
		switch (*c->p) {
		case '{':
		case '[':
			if (depth >= AWSJ_MAX_DEPTH)
				return fail_at(c, err, "nested too deeply");
			if (*c->p == '{')
				is_obj |= (uint64_t)1 << depth;
			else
				is_obj &= ~((uint64_t)1 << depth);
			depth++;
			c->p++;
			skip_ws(c);
			if (c->p < c->end && (*c->p == '}' || *c->p == ']')) {
				if ((*c->p == '}') != ((is_obj >> (depth - 1)) & 1))
					return fail_at(c, err, "mismatched bracket");
				c->p++;
				depth--;
				goto after_value;
			}
			if (is_obj & ((uint64_t)1 << (depth - 1)))
				goto member_key;
			continue;
		case '"':
			if ((rc = scan_string(c, &s, err)) != 0)
				return rc;
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			if ((rc = scan_number(c, err)) != 0)
				return rc;
			break;
		default:
			if ((rc = scan_literal(c, err)) != 0)
				return rc;
			break;
		}
after_value:
		for (;;) {
			if (depth == 0)
				return 0;
			skip_ws(c);
			if (c->p >= c->end)
				return fail_at(c, err, "unexpected end of input");
			if (*c->p == ',') {
				c->p++;
				if (is_obj & ((uint64_t)1 << (depth - 1)))
					goto member_key;
				break;  /* next array element */
			}
			if (*c->p == (((is_obj >> (depth - 1)) & 1) ? '}' : ']')) {
				c->p++;
				depth--;
				continue;
			}
			return fail_at(c, err, "expected ',' or a closing bracket");
		}
		continue;
member_key:
		skip_ws(c);
		if (c->p >= c->end || *c->p != '"')
			return fail_at(c, err, "expected a member name");
		if ((rc = scan_string(c, &s, err)) != 0)
			return rc;
		skip_ws(c);
		if (c->p >= c->end || *c->p != ':')
			return fail_at(c, err, "expected ':'");
		c->p++;
	}
}

static bool key_is(const struct awsj_str *k, const char *name)
{
	size_t n = strlen(name);

	return !k->esc && k->n == n && memcmp(k->p, name, n) == 0;
}

/* A member that must be a string (or null, meaning absent). */
static int get_string(struct cur *c, const struct awsj_str *key, struct awsj_str *out, char *err)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == '"')
		return scan_string(c, out, err);
	if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "null", 4) == 0) {
		c->p += 4;
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return tn_fail(err, TN_EINVAL, "member '%.*s' must be a string", (int)key->n, key->p);
}

/*
 * Walks an object, calling member(arg, key) at each member with the cursor
 * after the ':'; member scans the value (returns 0) or fails.
 */
typedef int (*member_fn)(struct cur *c, const struct awsj_str *key, void *arg, char *err);

static int walk_object(struct cur *c, member_fn member, void *arg, char *err)
{
	struct awsj_str key;
	int rc;

	skip_ws(c);
	if (c->p >= c->end || *c->p != '{')
		return fail_at(c, err, "expected an object");
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		skip_ws(c);
		if (c->p >= c->end || *c->p != '"')
			return fail_at(c, err, "expected a member name");
		if ((rc = scan_string(c, &key, err)) != 0)
			return rc;
		skip_ws(c);
		if (c->p >= c->end || *c->p != ':')
			return fail_at(c, err, "expected ':'");
		c->p++;
		if ((rc = member(c, &key, arg, err)) != 0)
			return rc;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return 0;
		}
		return fail_at(c, err, "expected ',' or '}'");
	}
}

static int record_member(struct cur *c, const struct awsj_str *key, void *arg, char *err)
{
	struct awsj_record *r = arg;

	if (key_is(key, "Data"))
		return get_string(c, key, &r->data, err);
	if (key_is(key, "PartitionKey"))
		return get_string(c, key, &r->partition_key, err);
	if (key_is(key, "ExplicitHashKey"))
		return get_string(c, key, &r->explicit_hash_key, err);
	return skip_value(c, err);
}

struct top {
	struct awsj_put *doc;
	awsj_record_fn fn;
	void *arg;
};

static int one_record(struct cur *c, struct top *t, char *err)
{
	struct awsj_record r;
	int rc;

	memset(&r, 0, sizeof(r));
	skip_ws(c);
	if (c->p < c->end && *c->p != '{')
		return tn_fail(err, TN_EINVAL, "record %zu: expected an object", t->doc->nrecords);
	if ((rc = walk_object(c, record_member, &r, err)) != 0)
		return rc;
	rc = t->fn(t->arg, t->doc->nrecords, &r, err);
	t->doc->nrecords++;
	return rc;
}

static int top_member(struct cur *c, const struct awsj_str *key, void *arg, char *err)
{
	struct top *t = arg;
	int rc;

	if (key_is(key, "StreamName") || key_is(key, "DeliveryStreamName"))
		return get_string(c, key, &t->doc->name, err);
	if (key_is(key, "StreamARN"))
		return get_string(c, key, &t->doc->arn, err);
	if (key_is(key, "Data") || key_is(key, "PartitionKey") || key_is(key, "ExplicitHashKey"))
		return record_member(c, key, &t->doc->top, err);
	if (key_is(key, "Record")) {
		if (t->doc->has_records)
			return tn_fail(err, TN_EINVAL, "member 'Record' given twice");
		t->doc->has_records = true;
		return one_record(c, t, err);
	}
	if (!key_is(key, "Records"))
		return skip_value(c, err);
	if (t->doc->has_records)
		return tn_fail(err, TN_EINVAL, "member 'Records' given twice");
	t->doc->has_records = true;
	skip_ws(c);
	if (c->p >= c->end || *c->p != '[')
		return tn_fail(err, TN_EINVAL, "member 'Records' must be an array");
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 0;
	}
	for (;;) {
		if ((rc = one_record(c, t, err)) != 0)
			return rc;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return 0;
		}
		return fail_at(c, err, "expected ',' or ']'");
	}
}

int awsj_put_parse(const char *p, size_t n, struct awsj_put *doc, awsj_record_fn fn, void *arg,
		   char *err)
{
	struct cur c = { p, p + n, p };
	struct top t = { doc, fn, arg };
	int rc;

	memset(doc, 0, sizeof(*doc));
	if ((rc = walk_object(&c, top_member, &t, err)) != 0)
		return rc;
	skip_ws(&c);
	if (c.p != c.end)
		return fail_at(&c, err, "trailing characters");
	return 0;
}

/* Appends the UTF-8 of code point cp. */
static int put_utf8(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, u, n);
}

static uint32_t hex4(const char *p)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char ch = p[i];

		v = v << 4 | (uint32_t)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
	}
	return v;
}

int awsj_unescape(const struct awsj_str *s, struct buf *out)
{
	const char *p = s->p, *end = s->p + s->n;
	int rc = 0;

	if (!s->esc)
		return buf_append(out, s->p, s->n);
	while (p < end && rc == 0) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		uint32_t cp;

		if (!bs)
			return buf_append(out, p, (size_t)(end - p));
		if ((rc = buf_append(out, p, (size_t)(bs - p))) != 0)
			return rc;
		p = bs + 1;  /* scan_string checked every escape */
		switch (*p++) {
		case 'b': rc = buf_putc(out, '\b'); break;
		case 'f': rc = buf_putc(out, '\f'); break;
		case 'n': rc = buf_putc(out, '\n'); break;
		case 'r': rc = buf_putc(out, '\r'); break;
		case 't': rc = buf_putc(out, '\t'); break;
		case 'u':
			cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u') {
				uint32_t lo = hex4(p + 2);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;  /* a lone surrogate */
			rc = put_utf8(out, cp);
			break;
		default: rc = buf_putc(out, p[-1]); break;  /* " \ / */
		}
	}
	return rc;
}

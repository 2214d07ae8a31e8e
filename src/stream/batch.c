/*
 * batch.c - splits a native ingest body into records (see batch.h).
 *
 * Design: the batch is the cheap first pass over a request body.  NDJSON
 * (the common, fast case) costs one memchr per line and copies nothing:
 * records are slices of the body.  Arrays go through json_array_split,
 * which minifies every element into b->owned; a pretty-printed single
 * document is minified there too.  Full validation is left to
 * streams_append (json_check_record on each record), so nothing here
 * parses a record twice on the NDJSON path.
 *
 * Telling one pretty-printed document from NDJSON without a Content-Type:
 * if the first line is a complete JSON document, the body is NDJSON (a
 * prefix of a valid document that is itself complete can only be followed
 * by whitespace, so nothing is lost); if the first line is cut short, the
 * whole body is scanned as one document.  Both checks use the explainer,
 * which allocates nothing and stops at the first error, so a big NDJSON
 * body with a broken first line costs little.
 *
 * Invariants: on success 1 <= n <= TN_MAX_BATCH_RECORDS and every record
 * has 1..TN_MAX_RECORD bytes.  Records that point into b->owned are set
 * only once b->owned is complete (its data moves while it grows).  On
 * failure n == 0.
 */
#include "stream/batch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/banned.h"

void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->bad_index = -1;
	/* Minified copies are never longer than the body, which the HTTP
	 * edge caps at TN_MAX_BATCH_BODY: no cap of its own needed. */
	buf_init(&b->owned, 0);
}

void batch_release(struct batch *b)
{
	if (!b)
		return;
	free(b->recs);
	buf_release(&b->owned);
	batch_init(b);
}

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static struct str trim(const char *p, size_t n)
{
	while (n && is_ws(*p)) {
		p++;
		n--;
	}
	while (n && is_ws(p[n - 1]))
		n--;
	return str_make(p, n);
}

/* Appends one record (data NULL: an offset into b->owned, fixed later). */
static int add_record(struct batch *b, const char *data, size_t len, char *err)
{
	if (b->n >= TN_MAX_BATCH_RECORDS)
		return tn_fail(err, TN_ETOOBIG, "more than %u records in one batch",
			       TN_MAX_BATCH_RECORDS);
	if (len > TN_MAX_RECORD) {
		b->bad_index = (long)b->n;
		return tn_fail(err, TN_ETOOBIG, "record %zu: %zu bytes, over the %u MiB limit", b->n,
			       len, TN_MAX_RECORD >> 20);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->recs = xrealloc(b->recs, b->cap * sizeof(*b->recs));
	}
	b->recs[b->n].data = data;
	b->recs[b->n].len = len;
	b->n++;
	return 0;
}

static bool is_ndjson_type(const char *ct)
{
	static const char *const types[] = {
		"application/x-ndjson", "application/ndjson", "application/jsonl",
		"application/x-jsonlines",
	};
	if (!ct)
		return false;
	const char *semi = strchr(ct, ';');
	struct str t = trim(ct, semi ? (size_t)(semi - ct) : strlen(ct));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (str_ieq_cstr(t, types[i]))
			return true;
	return false;
}

static int parse_ndjson(struct batch *b, const char *p, size_t n, char *err)
{
	size_t pos = 0;
	int rc;

	b->format = BATCH_NDJSON;
	while (pos < n) {
		const char *nl = memchr(p + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - p) : n;
		struct str line = trim(p + pos, end - pos);
		if (line.n && (rc = add_record(b, line.p, line.n, err)))
			return rc;
		pos = end + 1;
	}
	return 0;
}

/* json_array_split's callback: the element's offset in b->owned is kept in
 * offs until the buffer is complete. */
struct split_ctx {
	struct batch *b;
	size_t *offs;
	size_t cap;
};

static int on_element(void *arg, const struct json_elem *e, char *err)
{
	struct split_ctx *c = arg;
	size_t i = c->b->n;
	int rc = add_record(c->b, NULL, e->len, err);

	if (rc)
		return rc;
	if (i == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->offs = xrealloc(c->offs, c->cap * sizeof(*c->offs));
	}
	c->offs[i] = e->off;
	return 0;
}

/* base: where p starts in the body as sent, for errors outside records. */
static int parse_array(struct batch *b, const char *p, size_t n, size_t base, char *err)
{
	struct split_ctx c = { b, NULL, 0 };
	struct json_error je;
	int rc;

	b->format = BATCH_ARRAY;
	rc = json_array_split(p, n, &b->owned, on_element, &c, &je, err);
	if (rc == TN_EINVAL && je.msg[0]) {
		/* word the splitter's error in records, offsets in the body */
		b->bad_index = je.index;
		if (je.index >= 0)
			tn_fail(err, rc, "record %ld: invalid JSON at byte %zu: %s", je.index, je.off,
				je.msg);
		else
			tn_fail(err, rc, "invalid JSON at byte %zu: %s", base + je.off, je.msg);
	}
	if (!rc)
		for (size_t i = 0; i < b->n; i++)
			b->recs[i].data = b->owned.data + c.offs[i];
	free(c.offs);
	return rc;
}

/* The body p[0..n) (trimmed, not starting with '[') held no Content-Type
 * hint: NDJSON, or one document (see the top of the file). */
static int parse_guess(struct batch *b, const char *p, size_t n, char *err)
{
	const char *nl = memchr(p, '\n', n);
	struct json_error je;
	int rc;

	if (!nl) {
		b->format = BATCH_OBJECT;
		return add_record(b, p, n, err);
	}
	struct str line0 = trim(p, (size_t)(nl - p));
	if (json_explain(line0.p, line0.n, &je) == 0 || je.off < line0.n)
		return parse_ndjson(b, p, n, err);
	/* The first line is the start of something longer. */
	if (json_explain(p, n, &je) != 0) {
		b->bad_index = 0;
		return tn_fail(err, TN_EINVAL, "record 0: invalid JSON at byte %zu: %s", je.off,
			       je.msg);
	}
	b->format = BATCH_OBJECT;
	if ((rc = json_minify(p, n, &b->owned)))
		return tn_fail(err, rc, "record 0: too big to minify");
	if ((rc = add_record(b, NULL, b->owned.len, err)))
		return rc;
	b->recs[0].data = b->owned.data;
	return 0;
}

int batch_parse(struct batch *b, const char *body, size_t len, const char *content_type,
		char *err)
{
	size_t bom = 0;
	int rc;

	batch_release(b);
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
		body += 3;
		len -= 3;
		bom = 3;
	}
	struct str t = trim(body, len);
	if (t.n == 0)
		rc = tn_fail(err, TN_EINVAL, "no records");
	else if (is_ndjson_type(content_type))
		rc = parse_ndjson(b, t.p, t.n, err);
	else if (t.p[0] == '[')
		rc = parse_array(b, t.p, t.n, (size_t)(t.p - body) + bom, err);
	else
		rc = parse_guess(b, t.p, t.n, err);
	if (!rc && b->n == 0)
		rc = tn_fail(err, TN_EINVAL, "no records");
	if (rc) {
		long bad = b->bad_index;
		enum batch_format f = b->format;
		batch_release(b);
		b->bad_index = bad;
		b->format = f;
	}
	return rc;
}

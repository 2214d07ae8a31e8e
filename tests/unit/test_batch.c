/*
 * test_batch.c - stream/batch.h: NDJSON, arrays, single documents, caps,
 * error messages with record indexes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/limits.h"
#include "stream/batch.h"
#include "harness.h"
#include "core/banned.h"

#define S(lit) lit, sizeof(lit) - 1

static char *rec(const struct batch *b, size_t i)
{
	static char out[4][256];
	char *o = out[i % 4];
	CHECK(i < b->n);
	CHECK(b->recs[i].len < sizeof(out[0]));
	memcpy(o, b->recs[i].data, b->recs[i].len);
	o[b->recs[i].len] = '\0';
	return o;
}

static bool points_into(const struct record *r, const char *body, size_t len)
{
	return r->data >= body && r->data + r->len <= body + len;
}

TEST(ndjson_crlf_and_blank_lines)
{
	struct batch b;
	char err[TN_ERRLEN];
	const char body[] = "{\"a\":1}\r\n\r\n  \n{\"b\":2}\n\t{\"c\":3}  \r\n\n";

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S(body), "application/x-ndjson", err), 0);
	CHECK_INT(b.format, BATCH_NDJSON);
	CHECK_INT(b.n, 3);
	CHECK_STR(rec(&b, 0), "{\"a\":1}");
	CHECK_STR(rec(&b, 1), "{\"b\":2}");
	CHECK_STR(rec(&b, 2), "{\"c\":3}");
	for (size_t i = 0; i < b.n; i++)
		CHECK(points_into(&b.recs[i], body, sizeof(body) - 1));  /* zero-copy */
	batch_release(&b);
}

TEST(ndjson_content_types)
{
	struct batch b;
	char err[TN_ERRLEN];
	/* with an NDJSON type, lines that are arrays stay lines */
	const char *types[] = { "application/x-ndjson", "application/jsonl",
				"Application/X-NDJSON ; charset=utf-8", "application/ndjson" };
	batch_init(&b);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT(batch_parse(&b, S("[1]\n[2]\n"), types[i], err), 0);
		CHECK_INT(b.n, 2);
		CHECK_STR(rec(&b, 1), "[2]");
	}
	/* without one, a leading '[' means an array */
	CHECK_INT(batch_parse(&b, S("[1]\n[2]\n"), "application/json", err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 4: trailing characters");
	CHECK_INT(b.bad_index, -1);
	batch_release(&b);
}

TEST(ndjson_guessed)
{
	struct batch b;
	char err[TN_ERRLEN];
	const char body[] = "{\"a\":1}\n{\"b\":2}\n";

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S(body), NULL, err), 0);
	CHECK_INT(b.format, BATCH_NDJSON);
	CHECK_INT(b.n, 2);
	CHECK_STR(rec(&b, 1), "{\"b\":2}");
	/* a bad line is still split: the stream core names it */
	CHECK_INT(batch_parse(&b, S("{\"a\":1}\n{\"b\" 2}\n{\"c\":3}"), NULL, err), 0);
	CHECK_INT(b.n, 3);
	CHECK_STR(rec(&b, 1), "{\"b\" 2}");
	/* a first line broken in its middle: NDJSON too */
	CHECK_INT(batch_parse(&b, S("{\"a\" 1}\n{\"b\":2}"), NULL, err), 0);
	CHECK_INT(b.format, BATCH_NDJSON);
	CHECK_INT(b.n, 2);
	batch_release(&b);
}

TEST(array_of_objects)
{
	struct batch b;
	char err[TN_ERRLEN];
	const char body[] = "[\n  {\"a\": 1, \"s\": \"x, y\\n\"},\n  {\"b\": [1, 2]}\n]\n";

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S(body), "application/json", err), 0);
	CHECK_INT(b.format, BATCH_ARRAY);
	CHECK_INT(b.n, 2);
	CHECK_STR(rec(&b, 0), "{\"a\":1,\"s\":\"x, y\\n\"}");
	CHECK_STR(rec(&b, 1), "{\"b\":[1,2]}");
	CHECK(!points_into(&b.recs[0], body, sizeof(body) - 1));  /* owned copies */
	for (size_t i = 0; i < b.n; i++)
		CHECK_INT(json_check_record(b.recs[i].data, b.recs[i].len, NULL, NULL, err), 0);
	batch_release(&b);
}

TEST(array_many_elements)
{
	/* enough elements that the owned buffer moves while it grows */
	struct buf body = BUF_INIT(0);
	struct batch b;
	char err[TN_ERRLEN];

	buf_putc(&body, '[');
	for (int i = 0; i < 5000; i++)
		buf_printf(&body, "%s{ \"i\" : %d, \"pad\" : \"%0*d\" }", i ? ",\n" : "", i, i % 50, 0);
	buf_putc(&body, ']');
	batch_init(&b);
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), 0);
	CHECK_INT(b.n, 5000);
	for (int i = 0; i < 5000; i += 499) {
		char want[128];
		snprintf(want, sizeof(want), "{\"i\":%d,\"pad\":\"%0*d\"}", i, i % 50, 0);
		CHECK_STR(rec(&b, (size_t)i), want);
	}
	batch_release(&b);
	buf_release(&body);
}

TEST(broken_array_names_the_record)
{
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	/* a bad element in a well-formed array is split; its check names it
	 * (offsets then count in the minified record) */
	CHECK_INT(batch_parse(&b, S("[{\"a\":1}, {\"b\":2}, {\"c\" 3}, {\"d\":4}]"), NULL, err), 0);
	CHECK_INT(b.n, 4);
	CHECK_INT(json_check_record(b.recs[2].data, b.recs[2].len, NULL, NULL, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 4: expected ':'");

	/* a broken array is not */
	CHECK_INT(batch_parse(&b, S("[{\"a\":1}, {\"b\":2}, {\"c\":[3}, {\"d\":4}]"), NULL, err),
		  TN_EINVAL);
	CHECK_STR(err, "record 2: invalid JSON at byte 7: expected ',' or ']'");
	CHECK_INT(b.bad_index, 2);
	CHECK_INT(b.n, 0);

	CHECK_INT(batch_parse(&b, S("[{\"a\":1},\n {\"b\":2}\n {\"c\":3}]"), NULL, err), TN_EINVAL);
	CHECK_STR(err, "record 1: invalid JSON at byte 9: expected ',' or ']'");
	CHECK_INT(b.bad_index, 1);

	/* bad UTF-8 is content: the record check finds it */
	CHECK_INT(batch_parse(&b, S("[{\"a\":1},{\"b\": \"\xff\"}]"), NULL, err), 0);
	CHECK_INT(json_check_record(b.recs[1].data, b.recs[1].len, NULL, NULL, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 6: invalid UTF-8");

	/* after the array: a byte of the body as sent (BOM and spaces included) */
	CHECK_INT(batch_parse(&b, S("\xEF\xBB\xBF  [{}] {}"), NULL, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 10: trailing characters");
	CHECK_INT(b.bad_index, -1);
	batch_release(&b);
}

TEST(single_object)
{
	struct batch b;
	char err[TN_ERRLEN];
	const char compact[] = "  {\"a\":1,\"b\":\"c\"}\n";
	const char pretty[] = "{\n  \"name\": \"Ann\",\r\n  \"note\": \"line1\\nline2\",\n"
			      "  \"nested\": {\n    \"x\": [1, 2]\n  }\n}\n";

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S(compact), "application/json", err), 0);
	CHECK_INT(b.format, BATCH_OBJECT);
	CHECK_INT(b.n, 1);
	CHECK_STR(rec(&b, 0), "{\"a\":1,\"b\":\"c\"}");
	CHECK(points_into(&b.recs[0], compact, sizeof(compact) - 1));

	CHECK_INT(batch_parse(&b, S(pretty), NULL, err), 0);
	CHECK_INT(b.format, BATCH_OBJECT);
	CHECK_INT(b.n, 1);
	CHECK_STR(rec(&b, 0), "{\"name\":\"Ann\",\"note\":\"line1\\nline2\",\"nested\":{\"x\":[1,2]}}");
	struct json_found f;
	CHECK_INT(json_check_record(b.recs[0].data, b.recs[0].len, NULL, &f, err), 0);
	CHECK(!f.multiline);
	batch_release(&b);
}

TEST(broken_pretty_object)
{
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S("{\n  \"name\": \"Ann\",\n  \"age\" 42\n}\n"), NULL, err),
		  TN_EINVAL);
	CHECK_STR(err, "record 0: invalid JSON at byte 27: expected ':'");
	CHECK_INT(b.bad_index, 0);
	CHECK_INT(b.n, 0);
	batch_release(&b);
}

TEST(no_records)
{
	struct batch b;
	char err[TN_ERRLEN];
	const char *bodies[] = { "", "   \n\r\n\t ", "[]", " [ ] \n", "\xEF\xBB\xBF" };

	batch_init(&b);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		CHECK_INT(batch_parse(&b, bodies[i], strlen(bodies[i]), NULL, err), TN_EINVAL);
		CHECK_STR(err, "no records");
		CHECK_INT(b.n, 0);
	}
	CHECK_INT(batch_parse(&b, S("\n\n"), "application/x-ndjson", err), TN_EINVAL);
	CHECK_STR(err, "no records");
	batch_release(&b);
}

TEST(bom_is_dropped)
{
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S("\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n"), NULL, err), 0);
	CHECK_INT(b.n, 2);
	CHECK_STR(rec(&b, 0), "{\"a\":1}");
	batch_release(&b);
}

/* A body of n records, record big_at being big bytes long (0: none). */
static void make_ndjson(struct buf *body, size_t n, size_t big_at, size_t big)
{
	buf_reset(body);
	for (size_t i = 0; i < n; i++) {
		if (big && i == big_at) {
			/* {"p":"xxx...x"} of exactly big bytes */
			buf_puts(body, "{\"p\":\"");
			for (size_t k = 0; k < big - 8; k++)
				buf_putc(body, 'x');
			buf_puts(body, "\"}\n");
		} else {
			buf_puts(body, "{}\n");
		}
	}
}

TEST(too_big_record)
{
	struct buf body = BUF_INIT(0);
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	make_ndjson(&body, 6, 4, TN_MAX_RECORD + 1);
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), TN_ETOOBIG);
	CHECK_STR(err, "record 4: 1048577 bytes, over the 1 MiB limit");
	CHECK_INT(b.bad_index, 4);
	CHECK_INT(b.n, 0);

	/* exactly the limit is fine */
	make_ndjson(&body, 6, 4, TN_MAX_RECORD);
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), 0);
	CHECK_INT(b.n, 6);
	CHECK_INT(b.recs[4].len, TN_MAX_RECORD);
	CHECK_INT(json_check_record(b.recs[4].data, b.recs[4].len, NULL, NULL, err), 0);

	/* in an array, the minified size counts */
	buf_reset(&body);
	buf_puts(&body, "[{},\n{\"p\":\"");
	for (size_t k = 0; k < TN_MAX_RECORD - 8 + 1; k++)
		buf_putc(&body, 'y');
	buf_puts(&body, "\"}]");
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), TN_ETOOBIG);
	CHECK_STR(err, "record 1: 1048577 bytes, over the 1 MiB limit");
	CHECK_INT(b.bad_index, 1);
	batch_release(&b);
	buf_release(&body);
}

TEST(record_count_cap)
{
	struct buf body = BUF_INIT(0);
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	make_ndjson(&body, TN_MAX_BATCH_RECORDS, 0, 0);
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), 0);
	CHECK_INT(b.n, TN_MAX_BATCH_RECORDS);
	make_ndjson(&body, TN_MAX_BATCH_RECORDS + 1, 0, 0);
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), TN_ETOOBIG);
	CHECK_STR(err, "more than 100000 records in one batch");
	CHECK_INT(b.bad_index, -1);
	CHECK_INT(b.n, 0);

	/* the same for an array */
	buf_reset(&body);
	buf_putc(&body, '[');
	for (size_t i = 0; i <= TN_MAX_BATCH_RECORDS; i++)
		buf_puts(&body, i ? ",{}" : "{}");
	buf_putc(&body, ']');
	CHECK_INT(batch_parse(&b, body.data, body.len, NULL, err), TN_ETOOBIG);
	CHECK_STR(err, "more than 100000 records in one batch");
	batch_release(&b);
	buf_release(&body);
}

TEST(reuse_and_release)
{
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	CHECK_INT(batch_parse(&b, S("[{\"a\": 1}]"), NULL, err), 0);
	CHECK_STR(rec(&b, 0), "{\"a\":1}");
	CHECK_INT(batch_parse(&b, S("{\"b\":2}\n{\"c\":3}"), NULL, err), 0);
	CHECK_INT(b.n, 2);
	CHECK_STR(rec(&b, 0), "{\"b\":2}");
	batch_release(&b);
	batch_release(&b);
	batch_release(NULL);
	CHECK_INT(b.n, 0);
}

TEST(every_record_validates)
{
	/* the split output of the three shapes passes the record check */
	const char *bodies[] = {
		"{\"id\":1,\"v\":\"a\"}\n{\"id\":2,\"v\":\"b\"}\n",
		"[ {\"id\": 1, \"v\": \"a\"} , {\"id\" : 2,\n \"v\": \"b\"} ]",
		"{\n \"id\": 1,\n \"v\": \"a b\"\n}",
	};
	const char *req[] = { "id", "v" };
	struct json_want w = { req, 2, NULL };
	struct batch b;
	char err[TN_ERRLEN];

	batch_init(&b);
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(batch_parse(&b, bodies[i], strlen(bodies[i]), NULL, err), 0);
		for (size_t k = 0; k < b.n; k++) {
			struct json_found f;
			CHECK_INT(json_check_record(b.recs[k].data, b.recs[k].len, &w, &f, err), 0);
			CHECK(!f.multiline);
		}
	}
	batch_release(&b);
}

/*
 * test_json.c - core/json.h: record checks, messages and offsets, fields,
 * minify, array split, and agreement of the explainer with simdjson.
 */
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "harness.h"
#include "core/banned.h"

#define S(lit) lit, sizeof(lit) - 1

/* Checks a record and returns the message ("" when valid). */
static const char *rec_msg(const char *p, size_t n, const struct json_want *w,
			   struct json_found *f)
{
	static char err[TN_ERRLEN];
	err[0] = '\0';
	int rc = json_check_record(p, n, w, f, err);
	if (rc == 0)
		return "";
	if (rc != TN_EINVAL)
		return "(not TN_EINVAL)";
	return err;
}

#define REC_ERR(lit, msg) CHECK_STR(rec_msg(S(lit), NULL, NULL), msg)

TEST(valid_record)
{
	struct json_found f;
	CHECK_STR(rec_msg(S("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"\\u00e9\"}}"), NULL, &f),
		  "");
	CHECK(!f.multiline);
	CHECK_INT(f.ts_kind, JSON_TS_NONE);
	CHECK_STR(rec_msg(S("  {}  "), NULL, NULL), "");
	CHECK_STR(rec_msg(S("{\"dup\":1,\"dup\":2}"), NULL, NULL), "");
}

TEST(error_messages_and_offsets)
{
	REC_ERR("{\"a\" 1}", "invalid JSON at byte 5: expected ':'");
	REC_ERR("{\"a\":1,}", "invalid JSON at byte 7: expected string key");
	REC_ERR("{\"a\":1 \"b\":2}", "invalid JSON at byte 7: expected ',' or '}'");
	REC_ERR("{1:2}", "invalid JSON at byte 1: expected string key or '}'");
	REC_ERR("{\"a\":[1,]}", "invalid JSON at byte 8: expected value");
	REC_ERR("{\"a\":[1 2]}", "invalid JSON at byte 8: expected ',' or ']'");
	REC_ERR("{\"a\":\"\\x\"}", "invalid JSON at byte 6: invalid escape '\\x'");
	REC_ERR("{\"a\":\"\\u12g4\"}",
		"invalid JSON at byte 6: invalid \\u escape: expected 4 hex digits");
	REC_ERR("{\"a\":\"\\ud800\"}",
		"invalid JSON at byte 6: invalid \\u escape: high surrogate without its low surrogate");
	REC_ERR("{\"a\":\"\\udc00\"}", "invalid JSON at byte 6: invalid \\u escape: lone low surrogate");
	REC_ERR("{\"a\":\"b\tc\"}",
		"invalid JSON at byte 7: unescaped control character 0x09 in string");
	REC_ERR("{\"a\":\"b\nc\"}",
		"invalid JSON at byte 7: unescaped control character 0x0a in string");
	REC_ERR("{\"a\":\"\xff\"}", "invalid JSON at byte 6: invalid UTF-8");
	REC_ERR("{\"a\":\"\xc3\"}", "invalid JSON at byte 6: invalid UTF-8");
	REC_ERR("{\"a\":\"\xed\xa0\x80\"}", "invalid JSON at byte 6: invalid UTF-8");
	REC_ERR("{\"a\":\"\xc0\xaf\"}", "invalid JSON at byte 6: invalid UTF-8");
	REC_ERR("{\"\xf4\x90\x80\x80\":1}", "invalid JSON at byte 2: invalid UTF-8");
	REC_ERR("{\"a\":01}", "invalid JSON at byte 5: invalid number: leading zero");
	REC_ERR("{\"a\":-}", "invalid JSON at byte 6: invalid number: expected a digit");
	REC_ERR("{\"a\":1.}", "invalid JSON at byte 7: invalid number: expected a digit after '.'");
	REC_ERR("{\"a\":1e+}",
		"invalid JSON at byte 8: invalid number: expected a digit in the exponent");
	REC_ERR("{\"a\":1x}", "invalid JSON at byte 6: invalid number: unexpected 'x'");
	REC_ERR("{\"a\":1e999}",
		"invalid JSON at byte 5: number out of range (infinite as a double)");
	REC_ERR("{\"a\":18446744073709551616}",
		"invalid JSON at byte 5: number out of range (integers must fit 64 bits)");
	REC_ERR("{\"a\":-9223372036854775809}",
		"invalid JSON at byte 5: number out of range (integers must fit 64 bits)");
	REC_ERR("{\"a\":tru}", "invalid JSON at byte 5: invalid literal, expected 'true'");
	REC_ERR("{\"a\":nulll}", "invalid JSON at byte 5: invalid literal, expected 'null'");
	REC_ERR("{\"a\":NaN}", "invalid JSON at byte 5: expected value");
	REC_ERR("{\"a\":1} x", "invalid JSON at byte 8: trailing characters");
	REC_ERR("{\"a\":1}{}", "invalid JSON at byte 7: trailing characters");
	REC_ERR("{\"a\":", "invalid JSON at byte 5: unexpected end of input");
	REC_ERR("{\"a\":\"xy", "invalid JSON at byte 8: unexpected end of input in string");
	REC_ERR("{\"a\":fa", "invalid JSON at byte 7: unexpected end of input");
	REC_ERR("", "invalid JSON at byte 0: unexpected end of input");
	REC_ERR("  \n ", "invalid JSON at byte 4: unexpected end of input");
	REC_ERR("\xEF\xBB\xBF{}", "invalid JSON at byte 0: unexpected byte order mark (BOM)");
	REC_ERR("\f{}", "invalid JSON at byte 0: expected value");
	/* a NUL ends nothing: it is just a bad byte */
	CHECK_STR(rec_msg("{\"a\":1}\0", 8, NULL, NULL),
		  "invalid JSON at byte 7: trailing characters");
	CHECK_STR(rec_msg("{\"a\":\"\0\"}", 9, NULL, NULL),
		  "invalid JSON at byte 6: unescaped control character 0x00 in string");
}

TEST(record_must_be_object)
{
	REC_ERR("[1,2]", "record must be a JSON object, got array");
	REC_ERR("\"x\"", "record must be a JSON object, got string");
	REC_ERR(" 12 ", "record must be a JSON object, got number");
	REC_ERR("-1.5", "record must be a JSON object, got number");
	REC_ERR("true", "record must be a JSON object, got boolean");
	REC_ERR("null", "record must be a JSON object, got null");
}

TEST(deep_nesting)
{
	/* 1024 levels are fine, 1025 are not: the same cap as simdjson */
	size_t depth = 1025;
	char *s = malloc(2 * depth + 16);
	size_t n = 0;
	s[n++] = '{';
	memcpy(s + n, "\"a\":", 4);
	n += 4;
	for (size_t i = 1; i < depth - 1; i++)
		s[n++] = '[';
	for (size_t i = 1; i < depth - 1; i++)
		s[n++] = ']';
	s[n++] = '}';
	CHECK_STR(rec_msg(s, n, NULL, NULL), "");  /* 1 + 1023 levels */

	n = 0;
	s[n++] = '{';
	memcpy(s + n, "\"a\":", 4);
	n += 4;
	for (size_t i = 1; i < depth; i++)
		s[n++] = '[';
	for (size_t i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	/* the 1025th opening bracket is at byte 5 + 1023 */
	CHECK_STR(rec_msg(s, n, NULL, NULL), "invalid JSON at byte 1028: nesting deeper than 1024");
	free(s);
}

TEST(required_fields)
{
	const char *req[] = { "patient_id", "vaccine" };
	struct json_want w = { req, 2, NULL };
	CHECK_STR(rec_msg(S("{\"patient_id\":\"p1\",\"vaccine\":{\"code\":207}}"), &w, NULL), "");
	CHECK_STR(rec_msg(S("{\"patient_id\":0,\"vaccine\":false}"), &w, NULL), "");
	CHECK_STR(rec_msg(S("{\"patient_id\":\"p1\"}"), &w, NULL),
		  "missing required field 'vaccine'");
	CHECK_STR(rec_msg(S("{\"patient_id\":null,\"vaccine\":1}"), &w, NULL),
		  "missing required field 'patient_id'");
	/* only top-level fields count */
	CHECK_STR(rec_msg(S("{\"x\":{\"patient_id\":1,\"vaccine\":1}}"), &w, NULL),
		  "missing required field 'patient_id'");
	/* a field name is matched exactly, after unescaping */
	CHECK_STR(rec_msg(S("{\"patient\\u005fid\":1,\"vaccine\":2}"), &w, NULL), "");
	CHECK_STR(rec_msg(S("{\"Patient_id\":1,\"vaccine\":2}"), &w, NULL),
		  "missing required field 'patient_id'");
	/* an invalid document is reported before missing fields */
	CHECK_STR(rec_msg(S("{\"vaccine\":2,}"), &w, NULL),
		  "invalid JSON at byte 13: expected string key");
}

TEST(timestamp_string)
{
	struct json_want w = { NULL, 0, "ts" };
	struct json_found f;
	int64_t ms = 0;

	CHECK_STR(rec_msg(S("{\"a\":1,\"ts\":\"2026-11-22T01:53:30Z\"}"), &w, &f), "");
	CHECK_INT(f.ts_kind, JSON_TS_STRING);
	CHECK_STR(f.ts, "2026-11-22T01:53:30Z");
	CHECK_INT(f.ts_len, 20);
	CHECK_INT(time_parse(f.ts, f.ts_len, &ms), 0);
	CHECK_INT(ms, 1795312410000LL);

	/* escapes are undone */
	CHECK_STR(rec_msg(S("{\"ts\":\"2026-11-22\\u005401:53:30Z\"}"), &w, &f), "");
	CHECK_STR(f.ts, "2026-11-22T01:53:30Z");

	/* absent and null are NONE; the caller decides */
	CHECK_STR(rec_msg(S("{\"a\":1}"), &w, &f), "");
	CHECK_INT(f.ts_kind, JSON_TS_NONE);
	CHECK_STR(rec_msg(S("{\"ts\":null}"), &w, &f), "");
	CHECK_INT(f.ts_kind, JSON_TS_NONE);

	CHECK_STR(rec_msg(S("{\"ts\":{\"s\":1}}"), &w, &f),
		  "timestamp field 'ts' must be a string or a number, got object");
	CHECK_STR(rec_msg(S("{\"ts\":true}"), &w, &f),
		  "timestamp field 'ts' must be a string or a number, got boolean");
	CHECK_STR(rec_msg(S("{\"ts\":\"0123456789012345678901234567890123456789"
			    "0123456789012345678901234\"}"), &w, &f),
		  "timestamp field 'ts' is 65 bytes, over the 63 byte limit");
	CHECK_STR(rec_msg(S("{\"ts\":\"012345678901234567890123456789012345678901234567890123456789012\"}"),
			  &w, &f), "");
	CHECK_INT(f.ts_len, 63);
}

TEST(timestamp_number)
{
	struct json_want w = { NULL, 0, "t" };
	struct json_found f;
	int64_t ms = 0;

	CHECK_STR(rec_msg(S("{\"t\":1732240410}"), &w, &f), "");
	CHECK_INT(f.ts_kind, JSON_TS_NUMBER);
	CHECK_STR(f.ts, "1732240410");
	CHECK(f.ts_num == 1732240410.0);
	CHECK_INT(time_parse(f.ts, f.ts_len, &ms), 0);
	CHECK_INT(ms, 1732240410000LL);

	CHECK_STR(rec_msg(S("{\"t\":1732240410123}"), &w, &f), "");
	CHECK_STR(f.ts, "1732240410123");
	CHECK_INT(time_parse(f.ts, f.ts_len, &ms), 0);
	CHECK_INT(ms, 1732240410123LL);

	CHECK_STR(rec_msg(S("{\"t\":18446744073709551615}"), &w, &f), "");
	CHECK_STR(f.ts, "18446744073709551615");

	CHECK_STR(rec_msg(S("{\"t\":1.7e9}"), &w, &f), "");
	CHECK_STR(f.ts, "1700000000");
	CHECK_STR(rec_msg(S("{\"t\":1732240410.5}"), &w, &f), "");
	CHECK_STR(f.ts, "1732240410.5");
	CHECK(f.ts_num == 1732240410.5);
	CHECK_STR(rec_msg(S("{\"t\":-5}"), &w, &f), "");
	CHECK_STR(f.ts, "-5");
}

TEST(multiline_detection)
{
	struct json_found f;
	CHECK_STR(rec_msg(S("{\n  \"a\": \"x\\ny\",\n  \"b\": 2\n}"), NULL, &f), "");
	CHECK(f.multiline);
	CHECK_STR(rec_msg(S("{\"a\":\"x\\ny\"}"), NULL, &f), "");
	CHECK(!f.multiline);
	CHECK_STR(rec_msg(S("{\"a\":1}\r"), NULL, &f), "");
	CHECK(f.multiline);
	CHECK_STR(rec_msg(S("{\"a\": 1,\t\"b\": 2}"), NULL, &f), "");
	CHECK(!f.multiline);
}

TEST(padded_variant)
{
	const char *doc = "{\"id\":7,\"ts\":\"2026-01-02\"}";
	size_t n = strlen(doc);
	char *p = malloc(n + JSON_PADDING);
	memcpy(p, doc, n);
	memset(p + n, 'x', JSON_PADDING);  /* padding content does not matter */
	const char *req[] = { "id" };
	struct json_want w = { req, 1, "ts" };
	struct json_found f;
	char err[TN_ERRLEN];
	CHECK_INT(json_check_record_padded(p, n, &w, &f, err), 0);
	CHECK_STR(f.ts, "2026-01-02");
	CHECK_INT(json_check_record_padded(p, n - 1, &w, &f, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 25: unexpected end of input");
	free(p);
}

TEST(big_inputs_use_their_own_parser)
{
	/* over JSON_TLS_CAPACITY: valid, then broken near the end */
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(buf_puts(&b, "{\"items\":["), 0);
	while (b.len < JSON_TLS_CAPACITY + 1000)
		CHECK_INT(buf_puts(&b, "{\"name\":\"a b c\",\"n\":12345.5,\"ok\":true},"), 0);
	CHECK_INT(buf_puts(&b, "null]}"), 0);
	CHECK_INT(json_check_record(b.data, b.len, NULL, NULL, err), 0);
	CHECK_INT(json_validate(b.data, b.len, err), 0);
	/* and the small parser still works afterwards */
	CHECK_INT(json_validate(S("[1]"), err), 0);
	b.data[b.len - 2] = ' ';  /* "null }" */
	CHECK_INT(json_validate(b.data, b.len, err), TN_EINVAL);
	char want[TN_ERRLEN];
	snprintf(want, sizeof(want), "invalid JSON at byte %zu: expected ',' or ']'", b.len - 1);
	CHECK_STR(err, want);
	buf_release(&b);
}

/* Each thread has its own parser: concurrent checks do not interfere. */
static void *check_many(void *arg)
{
	long id = (long)(intptr_t)arg;
	char doc[128], err[TN_ERRLEN];
	const char *req[] = { "id" };
	struct json_want w = { req, 1, "ts" };
	for (int i = 0; i < 20000; i++) {
		struct json_found f;
		int n = snprintf(doc, sizeof(doc), "{\"id\":%ld,\"ts\":%d,\"pad\":\"%*s\"}", id, i,
				 (int)(id * 7 + i % 13), "");
		if (json_check_record(doc, (size_t)n, &w, &f, err) != 0 || f.ts_num != i)
			return (void *)1;
		if (i % 1000 == 0 && json_check_record(doc, (size_t)n - 1, &w, &f, err) != TN_EINVAL)
			return (void *)1;
	}
	return NULL;
}

TEST(threads_have_their_own_parser)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, check_many, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++) {
		void *rv = (void *)1;
		CHECK_INT(pthread_join(t[i], &rv), 0);
		CHECK(rv == NULL);
	}
}

TEST(simd_kernel_named)
{
	const char *k = json_simd_kernel();
	CHECK(k && k[0]);
	CHECK(strcmp(k, "unsupported") != 0);
}

TEST(validate_any_type)
{
	char err[TN_ERRLEN];
	CHECK_INT(json_validate(S("[1,2]"), err), 0);
	CHECK_INT(json_validate(S("\"s\""), err), 0);
	CHECK_INT(json_validate(S("-0"), err), 0);
	CHECK_INT(json_validate(S("[1,2"), err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 4: unexpected end of input");
	CHECK_INT(json_validate(S("[1,2"), NULL), TN_EINVAL);
	CHECK_INT(json_validate(NULL, 0, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 0: unexpected end of input");
	CHECK_INT(json_check_record(NULL, 0, NULL, NULL, err), TN_EINVAL);
	struct buf b = BUF_INIT(0);
	CHECK_INT(json_minify(NULL, 0, &b), 0);
	CHECK_INT(b.len, 0);
}

static const char *minified(const char *p, size_t n)
{
	static struct buf b = BUF_INIT(0);
	buf_reset(&b);
	CHECK_INT(json_minify(p, n, &b), 0);
	return b.data;
}

TEST(minify)
{
	CHECK_STR(minified(S("{\n  \"a\" : \"x y\\n\\\"z\\\" \",\n\t\"b\": [ 1 , 2 ],\r\n  \"c\": {}\n}\n")),
		  "{\"a\":\"x y\\n\\\"z\\\" \",\"b\":[1,2],\"c\":{}}");
	/* backslash runs before a quote */
	CHECK_STR(minified(S("[ \"a\\\\\" , \"b\\\\\\\"\" ]")), "[\"a\\\\\",\"b\\\\\\\"\"]");
	/* tokens are never joined, so invalid stays invalid */
	CHECK_STR(minified(S("[1 2, tr ue, - 1, 1 .5, \"a\" \"b\"]")),
		  "[1 2,tr ue,- 1,1 .5,\"a\"\"b\"]");
	CHECK_STR(minified(S("  ")), "");
	/* an unclosed string is copied to the end */
	CHECK_STR(minified(S("{ \"a\" : \"b c")), "{\"a\":\"b c");

	/* a pretty document minifies to one valid line */
	struct json_found f;
	const char *pretty = "{\n  \"name\": \"Ann \\\"A\\\" Lee\",\n  \"tags\": [\n    \"x\",\n"
			     "    \"y z\"\n  ]\n}";
	const char *m = minified(pretty, strlen(pretty));
	CHECK_STR(m, "{\"name\":\"Ann \\\"A\\\" Lee\",\"tags\":[\"x\",\"y z\"]}");
	CHECK_STR(rec_msg(m, strlen(m), NULL, &f), "");
	CHECK(!f.multiline);

	/* past max: TN_ETOOBIG, buffer unchanged */
	struct buf small = BUF_INIT(8);
	CHECK_INT(buf_puts(&small, "ab"), 0);
	CHECK_INT(json_minify(S("{\"abcdefgh\":1}"), &small), TN_ETOOBIG);
	CHECK_STR(small.data, "ab");
	buf_release(&small);
}

/* ---- agreement of the explainer with simdjson --------------------------- */

struct verdict {
	const char *s;
	size_t n;   /* 0: strlen */
	int valid;  /* simdjson 3.0.1's verdict, observed */
};

static const struct verdict corpus[] = {
	{ "\"\\ud800\"", 0, 0 },
	{ "\"\\udc00\"", 0, 0 },
	{ "\"\\ud800\\udc00\"", 0, 1 },
	{ "\"\\uD83D\\uDE00\"", 0, 1 },
	{ "\"\\udbff\\udfff\"", 0, 1 },
	{ "\"\\ud800\\u0041\"", 0, 0 },
	{ "\"\\ud800x\"", 0, 0 },
	{ "\"\\ud800\\ud800\"", 0, 0 },
	{ "\"\\uDBFF\\uE000\"", 0, 0 },
	{ "\"\\udc00\\ud800\"", 0, 0 },
	{ "\"\\ud800\\\\\"", 0, 0 },
	{ "\"\\u00zz\"", 0, 0 },
	{ "\"\\u12\"", 0, 0 },
	{ "\"\\u0000\"", 0, 1 },
	{ "\"\\/\"", 0, 1 },
	{ "\"\\'\"", 0, 0 },
	{ "\"a\x01\"", 0, 0 },
	{ "\"a\x1f\"", 0, 0 },
	{ "\"a\x7f\"", 0, 1 },
	{ "\"a\tb\"", 0, 0 },
	{ "\"a\0b\"", 5, 0 },
	{ "01", 0, 0 },
	{ "-0", 0, 1 },
	{ "-01", 0, 0 },
	{ "[00]", 0, 0 },
	{ "[-00]", 0, 0 },
	{ "1e999", 0, 0 },
	{ "-1e999", 0, 0 },
	{ "1e-999", 0, 1 },
	{ "1.5e-400", 0, 1 },
	{ "0e999", 0, 1 },
	{ "0.0e999999", 0, 1 },
	{ "0e99999999999999999999999", 0, 1 },
	{ "1e-99999999999999999999", 0, 1 },
	{ "1e308", 0, 1 },
	{ "2e308", 0, 0 },
	{ "1e400", 0, 0 },
	{ "0.1e310", 0, 0 },
	{ "0.01e310", 0, 1 },
	{ "10E307", 0, 1 },
	{ "1.7976931348623157e308", 0, 1 },
	{ "1.7976931348623158e308", 0, 1 },
	{ "1.7976931348623159e308", 0, 0 },
	{ "18446744073709551615", 0, 1 },
	{ "18446744073709551616", 0, 0 },
	{ "9223372036854775808", 0, 1 },
	{ "-9223372036854775808", 0, 1 },
	{ "-9223372036854775809", 0, 0 },
	{ "-18446744073709551615", 0, 0 },
	{ "-9223372036854775809.0", 0, 1 },
	{ "123456789012345678901234567890", 0, 0 },
	{ "123456789012345678901e0", 0, 1 },
	{ "123456789012345678901.0", 0, 1 },
	{ "1.0", 0, 1 },
	{ "1.", 0, 0 },
	{ ".5", 0, 0 },
	{ "+1", 0, 0 },
	{ "1e", 0, 0 },
	{ "1e+", 0, 0 },
	{ "1E+2", 0, 1 },
	{ "-", 0, 0 },
	{ "0x10", 0, 0 },
	{ "1e2.5", 0, 0 },
	{ "[1ee2]", 0, 0 },
	{ "[0.e1]", 0, 0 },
	{ "[1true]", 0, 0 },
	{ "[1\"a\"]", 0, 0 },
	{ "[1\f]", 0, 0 },
	{ "-1.5E-3", 0, 1 },
	{ "[0.0e-0]", 0, 1 },
	{ "\xEF\xBB\xBF{}", 0, 0 },
	{ "NaN", 0, 0 },
	{ "Infinity", 0, 0 },
	{ "[1,]", 0, 0 },
	{ "{\"a\":1,}", 0, 0 },
	{ "{\"a\":1,\"a\":2}", 0, 1 },
	{ "", 0, 0 },
	{ " ", 0, 0 },
	{ "tru", 0, 0 },
	{ "true", 0, 1 },
	{ "truex", 0, 0 },
	{ "true x", 0, 0 },
	{ "nul", 0, 0 },
	{ "[true,false,null]", 0, 1 },
	{ "{} {}", 0, 0 },
	{ "{}\n", 0, 1 },
	{ "\f{}", 0, 0 },
	{ "\x0b{}", 0, 0 },
	{ "{}\0", 3, 0 },
	{ "\"\xc3\xa9\"", 0, 1 },
	{ "\"\xc3\"", 0, 0 },
	{ "\"\xed\xa0\x80\"", 0, 0 },
	{ "\"\xed\x9f\xbf\"", 0, 1 },
	{ "\"\xf4\x90\x80\x80\"", 0, 0 },
	{ "\"\xf4\x8f\xbf\xbf\"", 0, 1 },
	{ "\"\xf0\x8f\xbf\xbf\"", 0, 0 },
	{ "\"\xe0\x9f\xbf\"", 0, 0 },
	{ "\"\xc0\xaf\"", 0, 0 },
	{ "\"\xef\xbf\xbe\"", 0, 1 },
	{ "[\"\xff\"]", 0, 0 },
	{ "{\"\xc3\xa9\":1}", 0, 1 },
	{ "[\xc3\xa9]", 0, 0 },
	{ "{1:2}", 0, 0 },
	{ "{\"a\" 1}", 0, 0 },
	{ "[1 2]", 0, 0 },
	{ "[{}{}]", 0, 0 },
	{ "[[]]", 0, 1 },
	{ "\"abc", 0, 0 },
	{ "\"\\\"", 0, 0 },
	{ "\"\\\\\"", 0, 1 },
	{ "[", 0, 0 },
	{ "{", 0, 0 },
	{ "]", 0, 0 },
	{ "}", 0, 0 },
	{ ":", 0, 0 },
	{ "[}", 0, 0 },
	{ "{]", 0, 0 },
	{ "1 ", 0, 1 },
	{ " 1", 0, 1 },
	{ "[ ]", 0, 1 },
	{ "{ }", 0, 1 },
	{ "{\"a\" : 1 , \"b\" : [ ] }", 0, 1 },
	{ "[1,2]  x", 0, 0 },
	{ "{\"a\":{\"b\":[1,{\"c\":null}]}}", 0, 1 },
};

TEST(explainer_agrees_on_corpus)
{
	char err[TN_ERRLEN];
	struct json_error je;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		const struct verdict *v = &corpus[i];
		size_t n = v->n ? v->n : strlen(v->s);
		int simd = json_validate(v->s, n, err) == 0;
		int expl = json_explain(v->s, n, &je) == 0;
		if (simd != v->valid || expl != v->valid) {
			fprintf(stderr, "corpus %zu '%s': simdjson %d, explainer %d, expected %d (%s)\n",
				i, v->s, simd, expl, v->valid, je.msg);
			CHECK(0);
		}
	}
}

/* The largest double plus half an ulp, 2^1024 - 2^970, written out: the
 * exact point where rounding goes to infinity. */
TEST(explainer_agrees_at_dbl_max)
{
	/* digits of 2^1024 - 2^970 */
	static const char half[] =
		"17976931348623158079372897140530341507993413271003782693617377898044"
		"49682927647509466490179775872070963302864166928879109465555478519404"
		"02630657488671505820681908902000708383676273854845817711531764475730"
		"27006985557136695962284291481986083493647529271907416844436551070434"
		"2711559699508093042880177904174497792";
	char num[400];
	char err[TN_ERRLEN];
	struct json_error je;
	const char *suffix[] = { "", "1", "0" };
	const char *lead[] = { "", "-" };
	for (size_t s = 0; s < 3; s++) {
		for (size_t l = 0; l < 2; l++) {
			for (int below = 0; below < 2; below++) {
				/* as an integer part with ".0", below: the last digit minus one */
				snprintf(num, sizeof(num), "%s%s%s.0", lead[l], half, suffix[s]);
				if (below) {
					char *dot = strchr(num, '.');
					dot[-1] = '0' + (dot[-1] - '0' + 9) % 10;
				}
				int simd = json_validate(num, strlen(num), err) == 0;
				int expl = json_explain(num, strlen(num), &je) == 0;
				if (simd != expl) {
					fprintf(stderr, "%s: simdjson %d explainer %d\n", num, simd, expl);
					CHECK(0);
				}
			}
		}
	}
	/* and as scientific notation around 1.797693134862315807937e308 */
	for (int k = 0; k < 40; k++) {
		snprintf(num, sizeof(num), "1.%.*se308", 1 + k % 20, half + 1);
		num[2 + k % 20] = '0' + (num[2 + k % 20] - '0' + k / 20) % 10;
		int simd = json_validate(num, strlen(num), err) == 0;
		int expl = json_explain(num, strlen(num), &je) == 0;
		if (simd != expl) {
			fprintf(stderr, "%s: simdjson %d explainer %d\n", num, simd, expl);
			CHECK(0);
		}
	}
}

/* Long mantissas and big exponents take simdjson's slow path: the
 * explainer must still agree at the edge of the double range. */
TEST(explainer_agrees_on_long_numbers)
{
	static const int digits[] = { 1, 17, 19, 20, 21, 40, 300, 308, 309, 310, 400, 800 };
	static const int exps[] = { -1200, -400, -330, -308, -100, -1, 0, 1, 8, 100, 290, 299,
				    300, 307, 308, 309, 310, 320, 1000 };
	static const char *const shapes[] = { "1%s.0e%d", "9%s.9e%d", "0.%s1e%d", "-1%se%d",
					      "1.%se%d", "17976931348623158%se%d" };
	char err[TN_ERRLEN];
	struct json_error je;
	struct buf num = BUF_INIT(0);
	char zeros[1024], nines[1024];
	memset(zeros, '0', sizeof(zeros));
	memset(nines, '9', sizeof(nines));
	long checked = 0, valid = 0;

	for (size_t d = 0; d < sizeof(digits) / sizeof(digits[0]); d++) {
		for (size_t e = 0; e < sizeof(exps) / sizeof(exps[0]); e++) {
			for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++) {
				for (int fill = 0; fill < 2; fill++) {
					char mid[1024];
					memcpy(mid, fill ? nines : zeros, (size_t)digits[d]);
					mid[digits[d]] = '\0';
					buf_reset(&num);
					buf_printf(&num, shapes[sh], mid, exps[e]);
					int simd = json_validate(num.data, num.len, err) == 0;
					int expl = json_explain(num.data, num.len, &je) == 0;
					if (simd != expl) {
						fprintf(stderr, "%s: simdjson %d explainer %d\n", num.data,
							simd, expl);
						CHECK(0);
					}
					checked++;
					valid += simd;
				}
			}
		}
	}
	CHECK(valid > checked / 4 && valid < checked);
	buf_release(&num);
}

/* Deterministic mutations of valid documents: simdjson and the explainer
 * must give the same verdict on every one. */
static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

TEST(explainer_agrees_on_mutations)
{
	static const char *seeds[] = {
		"{\"id\":\"p-001\",\"name\":{\"given\":\"Ann\",\"family\":\"Lee\"},\"dob\":\"1990-01-02\","
		"\"doses\":[1,2.5,-3e2,0,true,false,null],\"note\":\"caf\xc3\xa9 \\u00e9\\n\\\"q\\\"\"}",
		"[{\"a\":[]},{\"b\":{}},\"\\ud83d\\ude00\",1e-3,18446744073709551615,-9223372036854775808]",
		"{\"x\":[[[[[[1]]]]]],\"y\":\"\xf0\x9f\x98\x80\xe2\x82\xac\",\"z\":1.7976931348623157e308}",
		" { \"k\" : [ 1 , 2 ] , \"\\/\" : \"\\\\\\b\\f\\r\\t\" } ",
	};
	static const char alphabet[] = "{}[],:\" \\ntrufalsenul0123456789-+.eE\xc3\xa9\xff\x01ud8dcDC";
	char err[TN_ERRLEN];
	struct json_error je;
	char doc[512];
	long disagree = 0, invalid = 0;

	for (int round = 0; round < 40000; round++) {
		const char *seed = seeds[round % 4];
		size_t n = strlen(seed);
		memcpy(doc, seed, n);
		int edits = 1 + (int)(next_rand() % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = next_rand() % (n ? n : 1);
			unsigned op = next_rand() % 3;
			char c = alphabet[next_rand() % (sizeof(alphabet) - 1)];
			if (op == 0 && n) {
				doc[at] = c;                             /* replace */
			} else if (op == 1 && n + 1 < sizeof(doc)) {
				memmove(doc + at + 1, doc + at, n - at); /* insert */
				doc[at] = c;
				n++;
			} else if (n) {
				memmove(doc + at, doc + at + 1, n - at - 1); /* delete */
				n--;
			}
		}
		int simd = json_validate(doc, n, err) == 0;
		int expl = json_explain(doc, n, &je) == 0;
		invalid += !simd;
		if (simd != expl) {
			fprintf(stderr, "disagree on '%.*s': simdjson %d explainer %d (%s)\n", (int)n, doc,
				simd, expl, expl ? "" : je.msg);
			disagree++;
		}
	}
	CHECK_INT(disagree, 0);
	CHECK(invalid > 1000);  /* the mutations did break documents */
	CHECK(invalid < 39000); /* and left some valid */
}

/* ---- array split -------------------------------------------------------- */

struct collected {
	struct buf *out;
	char items[16][128];
	size_t src_off[16];
	size_t n;
	size_t stop_at;  /* return TN_ETOOBIG at this index (SIZE_MAX: never) */
};

static int collect(void *arg, const struct json_elem *e, char *err)
{
	struct collected *c = arg;
	if (e->index == c->stop_at)
		return tn_fail(err, TN_ETOOBIG, "element %zu: stop", e->index);
	CHECK_INT(e->index, c->n);
	CHECK(e->len < sizeof(c->items[0]));
	memcpy(c->items[c->n], c->out->data + e->off, e->len);
	c->items[c->n][e->len] = '\0';
	c->src_off[c->n] = e->src_off;
	c->n++;
	return 0;
}

TEST(array_split)
{
	struct buf out = BUF_INIT(0);
	struct collected c = { &out, { { 0 } }, { 0 }, 0, SIZE_MAX };
	char err[TN_ERRLEN];
	const char *in = " [ {\"a\": [1, \"],[\"]},\n  \"s\\\"]\" , 12 ,{ }\n, [[],{}], null ] \n";

	CHECK_INT(json_array_split(in, strlen(in), &out, collect, &c, NULL, err), 0);
	CHECK_INT(c.n, 6);
	CHECK_STR(c.items[0], "{\"a\":[1,\"],[\"]}");
	CHECK_STR(c.items[1], "\"s\\\"]\"");
	CHECK_STR(c.items[2], "12");
	CHECK_STR(c.items[3], "{}");
	CHECK_STR(c.items[4], "[[],{}]");
	CHECK_STR(c.items[5], "null");
	CHECK_INT(c.src_off[0], 3);
	CHECK_INT(c.src_off[1], 24);
	CHECK_INT(c.src_off[2], 33);

	c.n = 0;
	CHECK_INT(json_array_split(S("[ ]"), &out, collect, &c, NULL, err), 0);
	CHECK_INT(c.n, 0);
	buf_release(&out);
}

static const char *split_err(const char *p, size_t n, struct json_error *je)
{
	static char err[TN_ERRLEN];
	struct buf out = BUF_INIT(0);
	struct collected c = { &out, { { 0 } }, { 0 }, 0, SIZE_MAX };
	int rc = json_array_split(p, n, &out, collect, &c, je, err);
	buf_release(&out);
	return rc == TN_EINVAL ? err : "(no TN_EINVAL)";
}

TEST(array_split_errors)
{
	struct json_error je;
	CHECK_STR(split_err(S("[{\"a\":1},{\"b\":2} {\"c\":3}]"), &je),
		  "element 1: invalid JSON at byte 8: expected ',' or ']'");
	CHECK_INT(je.index, 1);
	CHECK_INT(je.off, 8);
	CHECK_STR(je.msg, "expected ',' or ']'");
	CHECK_STR(split_err(S("[1,,2]"), &je), "element 1: invalid JSON at byte 0: expected value");
	CHECK_STR(split_err(S("[1,2,]"), &je), "element 2: invalid JSON at byte 0: expected value");
	CHECK_STR(split_err(S("[{\"a\":1},{\"b\":[}]"), &je),
		  "element 1: invalid JSON at byte 6: expected value");
	CHECK_STR(split_err(S("[{\"a\":1},\n {\"b\":\"x}]"), &je),
		  "element 1: invalid JSON at byte 9: unexpected end of input in string");
	CHECK_STR(split_err(S("[1, 2"), &je), "element 1: invalid JSON at byte 1: unexpected end of input");
	CHECK_STR(split_err(S("["), &je), "element 0: invalid JSON at byte 0: unexpected end of input");
	CHECK_STR(split_err(S("[1\"a\"]"), &je),
		  "element 0: invalid JSON at byte 1: expected ',' or ']'");
	CHECK_STR(split_err(S("[{\"a\":\"\\\"}]"), &je),
		  "element 0: invalid JSON at byte 10: unexpected end of input in string");
	CHECK_STR(split_err(S("[1,2] x"), &je), "invalid JSON at byte 6: trailing characters");
	CHECK_INT(je.index, -1);
	CHECK_STR(split_err(S("[1,2][3]"), &je), "invalid JSON at byte 5: trailing characters");
	/* the first real error wins, even inside an element the splitter passed */
	CHECK_STR(split_err(S("[{\"a\":tru},{\"b\" 2} 3]"), &je),
		  "element 0: invalid JSON at byte 5: invalid literal, expected 'true'");
	CHECK_STR(split_err(S("{\"a\":[1]}"), &je), "expected a JSON array, got object");
	CHECK_STR(split_err(S("  "), &je), "expected a JSON array, got nothing");
}

static int accept_any(void *arg, const struct json_elem *e, char *err)
{
	(void)arg;
	(void)e;
	(void)err;
	return 0;
}

TEST(array_split_depth)
{
	/* the array is level 1: an element may nest 1023 more */
	struct buf in = BUF_INIT(0);
	struct buf out = BUF_INIT(0);
	struct json_error je;
	char err[TN_ERRLEN];

	for (int depth = 1023; depth <= 1024; depth++) {
		buf_reset(&in);
		buf_putc(&in, '[');
		for (int i = 0; i < depth; i++)
			buf_putc(&in, '[');
		for (int i = 0; i < depth; i++)
			buf_putc(&in, ']');
		buf_putc(&in, ']');
		int rc = json_array_split(in.data, in.len, &out, accept_any, NULL, &je, err);
		if (depth == 1023) {
			CHECK_INT(rc, 0);
		} else {
			CHECK_INT(rc, TN_EINVAL);
			CHECK_STR(err, "element 0: invalid JSON at byte 1023: nesting deeper than 1024");
		}
	}
	buf_release(&in);
	buf_release(&out);
}

TEST(array_split_callback_stops)
{
	struct buf out = BUF_INIT(0);
	struct collected c = { &out, { { 0 } }, { 0 }, 0, 2 };
	struct json_error je;
	char err[TN_ERRLEN];
	CHECK_INT(json_array_split(S("[1,2,3,4]"), &out, collect, &c, &je, err), TN_ETOOBIG);
	CHECK_STR(err, "element 2: stop");
	CHECK_INT(je.index, 2);
	CHECK_INT(c.n, 2);
	buf_release(&out);
}

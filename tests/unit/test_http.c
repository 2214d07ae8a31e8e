/*
 * test_http.c - the pure helpers of the HTTP edge: route patterns, the
 * error table, request ids, X-Amz-Target and credential-scope parsing.
 * (The server itself is tested end to end by the integration tests.)
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http_int.h"
#include "harness.h"

TEST(path_literal)
{
	char p[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];

	CHECK_INT(http_path_match("/healthz", "/healthz", p, HTTP_MAX_PARAMS), 0);
	CHECK_INT(http_path_match("/healthz", "/healthz/", p, HTTP_MAX_PARAMS), 0);
	CHECK_INT(http_path_match("/healthz", "/healthzz", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/healthz", "/health", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/healthz", "/healthz//", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams", "/v1/streams", p, HTTP_MAX_PARAMS), 0);
	CHECK_INT(http_path_match("/v1/streams", "/v1", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams", "/v1/streams/x", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams", "v1/streams", p, HTTP_MAX_PARAMS), -1);
}

TEST(path_root)
{
	char p[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];

	CHECK_INT(http_path_match("/", "/", p, HTTP_MAX_PARAMS), 0);
	CHECK_INT(http_path_match("/", "//", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/", "/x", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/healthz", "/", p, HTTP_MAX_PARAMS), -1);
}

TEST(path_params)
{
	char p[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];

	CHECK_INT(http_path_match("/v1/streams/{name}", "/v1/streams/clicks", p, HTTP_MAX_PARAMS),
		  1);
	CHECK_STR(p[0], "clicks");
	CHECK_INT(http_path_match("/v1/streams/{name}/records", "/v1/streams/a.b-c_9/records", p,
				  HTTP_MAX_PARAMS), 1);
	CHECK_STR(p[0], "a.b-c_9");
	CHECK_INT(http_path_match("/v1/streams/{name}/records", "/v1/streams/x/records/", p,
				  HTTP_MAX_PARAMS), 1);
	CHECK_STR(p[0], "x");
	/* an empty segment is not a parameter */
	CHECK_INT(http_path_match("/v1/streams/{name}", "/v1/streams//", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams/{name}/records", "/v1/streams//records", p,
				  HTTP_MAX_PARAMS), -1);
	/* "/v1/streams/" is the list, not a stream named "" */
	CHECK_INT(http_path_match("/v1/streams/{name}", "/v1/streams/", p, HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams/{name}", "/v1/streams/x/records", p,
				  HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/v1/streams/{name}/records", "/v1/streams/x/flush", p,
				  HTTP_MAX_PARAMS), -1);
	CHECK_INT(http_path_match("/a/{x}/b/{y}", "/a/1/b/22", p, HTTP_MAX_PARAMS), 2);
	CHECK_STR(p[0], "1");
	CHECK_STR(p[1], "22");
	/* more captures than room: no match */
	CHECK_INT(http_path_match("/a/{x}/b/{y}", "/a/1/b/22", p, 1), -1);
}

TEST(path_param_too_long)
{
	char p[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];
	char path[HTTP_MAX_PARAM + 32];

	memcpy(path, "/v1/streams/", 12);
	memset(path + 12, 'a', HTTP_MAX_PARAM - 1);
	path[12 + HTTP_MAX_PARAM - 1] = '\0';
	CHECK_INT(http_path_match("/v1/streams/{name}", path, p, HTTP_MAX_PARAMS), 1);
	CHECK_INT((long long)strlen(p[0]), HTTP_MAX_PARAM - 1);
	path[12 + HTTP_MAX_PARAM - 1] = 'a';
	path[12 + HTTP_MAX_PARAM] = '\0';
	CHECK_INT(http_path_match("/v1/streams/{name}", path, p, HTTP_MAX_PARAMS), -1);
}

TEST(error_table)
{
	static const int codes[] = { TN_EINVAL, TN_ENOTFOUND, TN_EDENIED, TN_ETOOBIG, TN_EIO,
				     TN_ENOSPC, TN_ECONFLICT, TN_EAGAIN, TN_EAUTH, TN_ECORRUPT,
				     TN_EUNSUPPORTED, TN_EINTERNAL };
	size_t i;

	/* every code has its own row, with every column filled */
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const struct http_errmap *m = http_errmap(codes[i]);

		CHECK_INT(m->code, codes[i]);
		CHECK(m->status >= 400 && m->status <= 599);
		CHECK(m->name && *m->name);
		CHECK(m->kinesis && *m->kinesis && m->kinesis_status >= 400);
		CHECK(m->firehose && *m->firehose && m->firehose_status >= 400);
		CHECK(*http_status_text(m->status));
	}
	CHECK_INT(http_errmap(TN_EINVAL)->status, 400);
	CHECK_INT(http_errmap(TN_EAUTH)->status, 401);
	CHECK_INT(http_errmap(TN_EDENIED)->status, 403);
	CHECK_INT(http_errmap(TN_ENOTFOUND)->status, 404);
	CHECK_INT(http_errmap(TN_ECONFLICT)->status, 409);
	CHECK_INT(http_errmap(TN_ETOOBIG)->status, 413);
	CHECK_INT(http_errmap(TN_EINTERNAL)->status, 500);
	/* backpressure and a full disk both ask the client to retry */
	CHECK_INT(http_errmap(TN_EAGAIN)->status, 503);
	CHECK_INT(http_errmap(TN_ENOSPC)->status, 503);
	CHECK_STR(http_errmap(TN_EAGAIN)->kinesis, "ProvisionedThroughputExceededException");
	CHECK_STR(http_errmap(TN_EAGAIN)->firehose, "ServiceUnavailableException");
	CHECK_INT(http_errmap(TN_EAGAIN)->firehose_status, 503);
	CHECK_STR(http_errmap(TN_ENOTFOUND)->kinesis, "ResourceNotFoundException");
	CHECK_INT(http_errmap(TN_ENOTFOUND)->kinesis_status, 400);
	CHECK_STR(http_errmap(TN_ECONFLICT)->firehose, "ResourceInUseException");
	/* an unknown code is an internal error */
	CHECK_INT(http_errmap(-999)->code, TN_EINTERNAL);
	CHECK_INT(http_errmap(0)->status, 500);
}

TEST(request_id)
{
	char a[HTTP_REQUEST_ID_LEN + 1], b[HTTP_REQUEST_ID_LEN + 1];
	size_t i;

	http_request_id(a);
	http_request_id(b);
	CHECK_INT((long long)strlen(a), HTTP_REQUEST_ID_LEN);
	CHECK(strcmp(a, b) != 0);
	for (i = 0; i < HTTP_REQUEST_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			CHECK(a[i] == '-');
		else
			CHECK(isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
	}
	CHECK(a[14] == '4');
}

TEST(aws_target)
{
	const char *op = "x";

	CHECK_INT(aws_target_parse("Kinesis_20131202.PutRecords", &op), AWS_KINESIS);
	CHECK_STR(op, "PutRecords");
	CHECK_INT(aws_target_parse("Firehose_20150804.PutRecordBatch", &op), AWS_FIREHOSE);
	CHECK_STR(op, "PutRecordBatch");
	CHECK_INT(aws_target_parse("Kinesis_20131202.", &op), AWS_NONE);
	CHECK(op == NULL);
	CHECK_INT(aws_target_parse("Kinesis_20131202", &op), AWS_NONE);
	CHECK_INT(aws_target_parse("DynamoDB_20120810.GetItem", &op), AWS_NONE);
	CHECK_INT(aws_target_parse(NULL, &op), AWS_NONE);
	CHECK_STR(aws_service_name(AWS_KINESIS), "kinesis");
	CHECK_STR(aws_service_name(AWS_FIREHOSE), "firehose");
	CHECK(aws_service_name(AWS_NONE) == NULL);
}

TEST(aws_region)
{
	char r[32];

	aws_credential_region("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-3/kinesis/"
			      "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			      r, sizeof(r));
	CHECK_STR(r, "eu-west-3");
	aws_credential_region("AWS4-HMAC-SHA256 Credential=K/20150830/us-west-2/firehose/"
			      "aws4_request,SignedHeaders=host,Signature=abc",
			      r, sizeof(r));
	CHECK_STR(r, "us-west-2");
	aws_credential_region(NULL, r, sizeof(r));
	CHECK_STR(r, "us-east-1");
	aws_credential_region("Basic dXNlcjpwYXNz", r, sizeof(r));
	CHECK_STR(r, "us-east-1");
	aws_credential_region("AWS4-HMAC-SHA256 Credential=K/20150830", r, sizeof(r));
	CHECK_STR(r, "us-east-1");
	/* nothing but [a-z0-9-] makes it into an ARN */
	aws_credential_region("AWS4-HMAC-SHA256 Credential=K/20150830/us\"east/kinesis/aws4_request",
			      r, sizeof(r));
	CHECK_STR(r, "us-east-1");
	/* too long for the buffer: the default */
	aws_credential_region("AWS4-HMAC-SHA256 Credential=K/20150830/"
			      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/kinesis/aws4_request",
			      r, sizeof(r));
	CHECK_STR(r, "us-east-1");
}

TEST(trim_trailing_ws)
{
	CHECK_INT(http_trim_trailing_ws("{}\n", 3), 2);
	CHECK_INT(http_trim_trailing_ws("{}\r\n \t", 6), 2);
	CHECK_INT(http_trim_trailing_ws(" {}", 3), 3);
	CHECK_INT(http_trim_trailing_ws("\n\n", 2), 0);
	CHECK_INT(http_trim_trailing_ws("", 0), 0);
}

/* ---- awsjson.c ----------------------------------------------------------- */

struct seen {
	size_t n;
	char data[8][64];
	char pk[8][64];
	int stop_at;  /* fail at this index (-1: never) */
};

static void copy_str(const struct awsj_str *s, char *out, size_t n)
{
	struct buf b = BUF_INIT(0);

	if (!s->present) {
		snprintf(out, n, "(absent)");
		return;
	}
	CHECK(awsj_unescape(s, &b) == 0);
	snprintf(out, n, "%s", b.data);
	buf_release(&b);
}

static int on_rec(void *arg, size_t i, const struct awsj_record *r, char *err)
{
	struct seen *s = arg;

	if ((int)i == s->stop_at)
		return tn_fail(err, TN_ETOOBIG, "stop at %zu", i);
	CHECK(i == s->n && i < 8);
	copy_str(&r->data, s->data[i], sizeof(s->data[i]));
	copy_str(&r->partition_key, s->pk[i], sizeof(s->pk[i]));
	s->n++;
	return 0;
}

static int parse(const char *json, struct awsj_put *doc, struct seen *s, char *err)
{
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	return awsj_put_parse(json, strlen(json), doc, on_rec, s, err);
}

TEST(awsj_put_records)
{
	struct awsj_put doc;
	struct seen s;
	char err[TN_ERRLEN], name[64];
	const char *j =
		"{\"Records\": [{\"Data\":\"e30=\",\"PartitionKey\":\"a\"},\n"
		"  {\"PartitionKey\": \"b\\u00e9\", \"Data\": \"eyJhIjoxfQ==\", \"ExplicitHashKey\": \"7\"}],"
		" \"StreamName\": \"orders\", \"Extra\": {\"x\": [1, -2.5e3, true, null, {\"y\": \"\\\"\"}]}}";

	CHECK_INT(parse(j, &doc, &s, err), 0);
	CHECK_INT(doc.nrecords, 2);
	CHECK_INT(s.n, 2);
	CHECK(doc.has_records);
	CHECK_STR(s.data[0], "e30=");
	CHECK_STR(s.pk[0], "a");
	CHECK_STR(s.data[1], "eyJhIjoxfQ==");
	CHECK_STR(s.pk[1], "b\xc3\xa9");
	copy_str(&doc.name, name, sizeof(name));
	CHECK_STR(name, "orders");
	CHECK(!doc.arn.present);
}

TEST(awsj_single_records)
{
	struct awsj_put doc;
	struct seen s;
	char err[TN_ERRLEN], v[64];

	/* Kinesis PutRecord: the record's members at the top */
	CHECK_INT(parse("{\"StreamARN\":\"arn:aws:kinesis:r:1:stream\\/x\",\"Data\":\"e30=\","
			"\"PartitionKey\":\"k\"}", &doc, &s, err), 0);
	CHECK_INT(doc.nrecords, 0);
	CHECK(!doc.has_records);
	copy_str(&doc.top.data, v, sizeof(v));
	CHECK_STR(v, "e30=");
	copy_str(&doc.top.partition_key, v, sizeof(v));
	CHECK_STR(v, "k");
	copy_str(&doc.arn, v, sizeof(v));
	CHECK_STR(v, "arn:aws:kinesis:r:1:stream/x");
	/* Firehose PutRecord: one Record object */
	CHECK_INT(parse("{\"DeliveryStreamName\":\"logs\",\"Record\":{\"Data\":\"e\\/0=\"}}", &doc,
			&s, err), 0);
	CHECK_INT(doc.nrecords, 1);
	CHECK_STR(s.data[0], "e/0=");
	CHECK_STR(s.pk[0], "(absent)");
	/* null is absent; an empty array is no records */
	CHECK_INT(parse("{\"StreamName\":null,\"Records\":[]}", &doc, &s, err), 0);
	CHECK(!doc.name.present);
	CHECK(doc.has_records);
	CHECK_INT(doc.nrecords, 0);
	CHECK_INT(parse(" {} ", &doc, &s, err), 0);
}

TEST(awsj_callback_stops)
{
	struct awsj_put doc;
	struct seen s;
	char err[TN_ERRLEN];
	const char *j = "{\"Records\":[{\"Data\":\"a\"},{\"Data\":\"b\"},{\"Data\":\"c\"}]}";

	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	CHECK_INT(awsj_put_parse(j, strlen(j), &doc, on_rec, &s, err), TN_ETOOBIG);
	CHECK_STR(err, "stop at 1");
	CHECK_INT(s.n, 1);
}

TEST(awsj_rejects)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"Records\":[{\"Data\":\"e30=\"}]",            /* unclosed */
		"{\"Records\":[{\"Data\":\"e30=\"}]}}",          /* trailing */
		"{\"Records\":{\"Data\":\"e30=\"}}",             /* not an array */
		"{\"Records\":[1]}",                             /* record not an object */
		"{\"StreamName\":5}",                            /* wrong type */
		"{\"Data\":\"e30=\",}",                          /* trailing comma */
		"{\"x\":[1,}",                                   /* bad skip */
		"{\"x\":[1}",                                    /* mismatched bracket */
		"{\"x\":{\"a\"}}",                               /* member without value */
		"{\"x\":01}",                                    /* leading zero */
		"{\"x\":1.}",                                    /* bad fraction */
		"{\"x\":-}",
		"{\"x\":tru}",
		"{\"x\":\"a\\q\"}",                              /* bad escape */
		"{\"x\":\"\\u12g4\"}",
		"{\"x\":\"a\nb\"}",                              /* raw control character */
		"{\"Data\":\"abc",                               /* unterminated string */
		"{\"Records\":[],\"Records\":[]}",               /* given twice */
		"{\"a\" 1}",
	};
	struct awsj_put doc;
	struct seen s;
	char err[TN_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &doc, &s, err) != TN_EINVAL) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
	CHECK_INT(parse("{\"x\" 1}", &doc, &s, err), TN_EINVAL);
	CHECK_STR(err, "invalid JSON at byte 5: expected ':'");
}

TEST(awsj_depth)
{
	char j[400];
	struct awsj_put doc;
	struct seen s;
	char err[TN_ERRLEN];
	size_t i, n = 0;

	/* 64 levels of skipped arrays are fine, 65 are not */
	n += (size_t)snprintf(j + n, sizeof(j) - n, "{\"x\":");
	for (i = 0; i < 64; i++)
		j[n++] = '[';
	for (i = 0; i < 64; i++)
		j[n++] = ']';
	j[n++] = '}';
	j[n] = '\0';
	CHECK_INT(parse(j, &doc, &s, err), 0);
	n = 0;
	n += (size_t)snprintf(j + n, sizeof(j) - n, "{\"x\":");
	for (i = 0; i < 65; i++)
		j[n++] = '[';
	for (i = 0; i < 65; i++)
		j[n++] = ']';
	j[n++] = '}';
	j[n] = '\0';
	CHECK_INT(parse(j, &doc, &s, err), TN_EINVAL);
	CHECK(strstr(err, "nested too deeply") != NULL);
}

TEST(awsj_unescape_cases)
{
	struct awsj_str s = { "a\\n\\t\\\"\\\\\\/\\u0041\\ud83d\\ude00\\udc00z", 0, true, true };
	struct buf b = BUF_INIT(0);

	s.n = strlen(s.p);
	CHECK_INT(awsj_unescape(&s, &b), 0);
	/* a lone low surrogate becomes U+FFFD */
	CHECK_STR(b.data, "a\n\t\"\\/A\xf0\x9f\x98\x80\xef\xbf\xbdz");
	buf_release(&b);
}

TEST(utf8_copy)
{
	char out[16];

	http_utf8_copy("plain", out, sizeof(out));
	CHECK_STR(out, "plain");
	http_utf8_copy("a\xff" "b\xc3\xa9" "c", out, sizeof(out));
	CHECK_STR(out, "a?b\xc3\xa9" "c");
	/* overlong, surrogate, truncated sequences */
	http_utf8_copy("\xc0\xaf|\xed\xa0\x80|\xe2\x82", out, sizeof(out));
	CHECK_STR(out, "??|???|??");
	/* cut at a character boundary */
	http_utf8_copy("abc\xf0\x9f\x98\x80", out, 6);
	CHECK_STR(out, "abc");
	http_utf8_copy("abc\xf0\x9f\x98\x80", out, 8);
	CHECK_STR(out, "abc\xf0\x9f\x98\x80");
}

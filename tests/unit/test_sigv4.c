/*
 * test_sigv4.c - AWS Signature V4 against published answers and botocore.
 *
 * The vectors are AWS's own: the SigV4 test suite (as kept by
 * awslabs/aws-c-auth, tests/aws-signing-test-suite/v4, plus the original
 * suite's post-x-www-form-urlencoded), the IAM ListUsers example of the
 * AWS General Reference, and the S3 examples of "Authenticating Requests
 * (AWS Signature Version 4)" (GET object, PUT object, list objects,
 * presigned URL).  Each checks the canonical request byte for byte, that
 * the verifier accepts the published signature, and that the signer
 * reproduces the published Authorization header.  botocore then signs
 * requests the way boto3 and the aws CLI do, and the verifier must accept
 * them.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_KEY "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define S3_KEY "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_DATE "20130524T000000Z"
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define SKEW 900

#define MAXH 12

struct vec {
	const char *method, *path, *query;
	const char *h[MAXH][2]; /* {name, value}, ends at a NULL name */
	const char *body;
	const char *key, *secret, *region, *service;
	const char *signed_headers, *sig;
	const char *creq;
};

/* A request built from a vector, with room for an Authorization header. */
struct treq {
	struct sigv4_header h[MAXH + 2];
	struct sigv4_request r;
	char authz[1024];
};

static int64_t amz_ms(const char *s)
{
	int64_t ms = 0;
	CHECK(time_parse(s, strlen(s), &ms) == 0);
	return ms;
}

static const char *vec_header(const struct vec *v, const char *name)
{
	for (int i = 0; i < MAXH && v->h[i][0]; i++)
		if (strcasecmp(v->h[i][0], name) == 0)
			return v->h[i][1];
	return NULL;
}

static void treq_init(struct treq *t, const struct vec *v, bool with_authz)
{
	memset(t, 0, sizeof *t);
	size_t n = 0;
	for (int i = 0; i < MAXH && v->h[i][0]; i++) {
		t->h[n].name = v->h[i][0];
		t->h[n].value = v->h[i][1];
		n++;
	}
	if (with_authz) {
		const char *d = vec_header(v, "x-amz-date");
		CHECK(d != NULL);
		snprintf(t->authz, sizeof t->authz,
			 "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
			 "SignedHeaders=%s, Signature=%s",
			 v->key, d, v->region, v->service, v->signed_headers, v->sig);
		t->h[n].name = "Authorization";
		t->h[n].value = t->authz;
		n++;
	}
	t->r.method = v->method;
	t->r.path = v->path;
	t->r.query = v->query;
	t->r.headers = t->h;
	t->r.nheaders = n;
	t->r.body = v->body;
	t->r.body_len = v->body ? strlen(v->body) : 0;
}

/* Canonical request, verification and re-signing of one published vector. */
static void check_vector(const struct vec *v)
{
	struct treq t;
	struct sigv4_auth a;
	enum auth_fail why = AUTH_MISSING;
	char err[TN_ERRLEN] = "";
	treq_init(&t, v, true);

	int rc = sigv4_parse(&t.r, &a, &why, err);
	if (rc)
		fprintf(stderr, "parse: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_STR(a.key_id, v->key);
	CHECK_STR(a.service, v->service);
	CHECK_STR(a.signed_headers, v->signed_headers);

	struct buf creq = BUF_INIT(0);
	CHECK_INT(sigv4_canonical_request(&t.r, &a, &creq, err), 0);
	CHECK_STR(creq.data, v->creq);
	buf_release(&creq);

	int64_t now = amz_ms(vec_header(v, "x-amz-date"));
	rc = sigv4_verify(&t.r, &a, v->secret, strlen(v->secret), now + 1000, SKEW, &why, err);
	if (rc)
		fprintf(stderr, "verify: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(why, AUTH_OK);

	/* The signer, signing every header, must produce the same header. */
	struct treq u;
	struct buf out = BUF_INIT(0);
	treq_init(&u, v, false);
	rc = sigv4_sign(&u.r, v->key, v->secret, v->region, v->service, NULL, &out, err);
	if (rc)
		fprintf(stderr, "sign: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK_STR(out.data, t.authz);
	buf_release(&out);
}

#define SUITE(...) .key = SUITE_KEY, .secret = SUITE_SECRET, .region = "us-east-1", \
		   .service = "service", __VA_ARGS__
#define HOST_DATE { "Host", "example.amazonaws.com" }, { "X-Amz-Date", SUITE_DATE }
#define CREQ_TAIL(sh) "\n" sh "\n" EMPTY_SHA
#define VANILLA_HDRS "host:example.amazonaws.com\nx-amz-date:" SUITE_DATE "\n"

/* ---- the SigV4 test suite ------------------------------------------------ */

TEST(suite_get_vanilla)
{
	struct vec v = { SUITE(.method = "GET", .path = "/", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
			       .creq = "GET\n/\n\n" VANILLA_HDRS CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_vanilla_query_order_key_case)
{
	struct vec v = { SUITE(.method = "GET", .path = "/", .query = "Param2=value2&Param1=value1",
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
			       .creq = "GET\n/\nParam1=value1&Param2=value2\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_vanilla_query_order_encoded)
{
	struct vec v = { SUITE(.method = "GET", .path = "/",
			       .query = "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
			       .creq = "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"
				       VANILLA_HDRS CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_vanilla_utf8_query)
{
	struct vec v = { SUITE(.method = "GET", .path = "/", .query = "\xe1\x88\xb4=bar",
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
			       .creq = "GET\n/\n%E1%88%B4=bar\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_vanilla_query_unreserved)
{
#define UNRES "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	struct vec v = { SUITE(.method = "GET", .path = "/", .query = UNRES "=" UNRES,
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
			       .creq = "GET\n/\n" UNRES "=" UNRES "\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_unreserved)
{
	struct vec v = { SUITE(.method = "GET", .path = "/" UNRES, .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
			       .creq = "GET\n/" UNRES "\n\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_utf8)
{
	struct vec v = { SUITE(.method = "GET", .path = "/\xe1\x88\xb4", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
			       .creq = "GET\n/%E1%88%B4\n\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_space)
{
	struct vec v = { SUITE(.method = "GET", .path = "/example space/", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
			       .creq = "GET\n/example%20space/\n\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_slashes_normalized)
{
	struct vec v = { SUITE(.method = "GET", .path = "//example//", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
			       .creq = "GET\n/example/\n\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_relative_relative_normalized)
{
	struct vec v = { SUITE(.method = "GET", .path = "/example1/example2/../..",
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
			       .creq = "GET\n/\n\n" VANILLA_HDRS CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_slash_pointless_dot_normalized)
{
	struct vec v = { SUITE(.method = "GET", .path = "/./example", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
			       .creq = "GET\n/example\n\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_header_value_trim)
{
	struct vec v = { SUITE(.method = "GET", .path = "/",
			       .h = { { "Host", "example.amazonaws.com" },
				      { "My-Header1", " value1" },
				      { "My-Header2", " \"a   b   c\"" },
				      { "X-Amz-Date", SUITE_DATE } },
			       .signed_headers = "host;my-header1;my-header2;x-amz-date",
			       .sig = "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
			       .creq = "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
				       "my-header2:\"a b c\"\nx-amz-date:" SUITE_DATE "\n"
				       CREQ_TAIL("host;my-header1;my-header2;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_header_key_duplicate)
{
	struct vec v = { SUITE(.method = "GET", .path = "/",
			       .h = { { "Host", "example.amazonaws.com" },
				      { "My-Header1", "value2" },
				      { "My-Header1", "value2" },
				      { "My-Header1", "value1" },
				      { "X-Amz-Date", SUITE_DATE } },
			       .signed_headers = "host;my-header1;x-amz-date",
			       .sig = "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
			       .creq = "GET\n/\n\nhost:example.amazonaws.com\n"
				       "my-header1:value2,value2,value1\nx-amz-date:" SUITE_DATE "\n"
				       CREQ_TAIL("host;my-header1;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_header_value_order)
{
	struct vec v = { SUITE(.method = "GET", .path = "/",
			       .h = { { "Host", "example.amazonaws.com" },
				      { "My-Header1", "value4" },
				      { "My-Header1", "value1" },
				      { "My-Header1", "value3" },
				      { "My-Header1", "value2" },
				      { "X-Amz-Date", SUITE_DATE } },
			       .signed_headers = "host;my-header1;x-amz-date",
			       .sig = "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
			       .creq = "GET\n/\n\nhost:example.amazonaws.com\n"
				       "my-header1:value4,value1,value3,value2\nx-amz-date:" SUITE_DATE
				       "\n" CREQ_TAIL("host;my-header1;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_get_vanilla_with_session_token)
{
#define TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
	struct vec v = { SUITE(.method = "GET", .path = "/",
			       .h = { HOST_DATE, { "X-Amz-Security-Token", TOKEN } },
			       .signed_headers = "host;x-amz-date;x-amz-security-token",
			       .sig = "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
			       .creq = "GET\n/\n\n" VANILLA_HDRS "x-amz-security-token:" TOKEN "\n"
				       CREQ_TAIL("host;x-amz-date;x-amz-security-token")) };
	check_vector(&v);
}

TEST(suite_post_vanilla)
{
	struct vec v = { SUITE(.method = "POST", .path = "/", .h = { HOST_DATE },
			       .signed_headers = "host;x-amz-date",
			       .sig = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
			       .creq = "POST\n/\n\n" VANILLA_HDRS CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_post_vanilla_query)
{
	struct vec v = { SUITE(.method = "POST", .path = "/", .query = "Param1=value1",
			       .h = { HOST_DATE }, .signed_headers = "host;x-amz-date",
			       .sig = "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
			       .creq = "POST\n/\nParam1=value1\n" VANILLA_HDRS
				       CREQ_TAIL("host;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_post_header_key_sort)
{
	struct vec v = { SUITE(.method = "POST", .path = "/",
			       .h = { { "X-Amz-Date", SUITE_DATE }, { "My-Header1", "value1" },
				      { "Host", "example.amazonaws.com" } },
			       .signed_headers = "host;my-header1;x-amz-date",
			       .sig = "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
			       .creq = "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
				       "x-amz-date:" SUITE_DATE "\n"
				       CREQ_TAIL("host;my-header1;x-amz-date")) };
	check_vector(&v);
}

TEST(suite_post_header_value_case)
{
	struct vec v = { SUITE(.method = "POST", .path = "/",
			       .h = { HOST_DATE, { "My-Header1", "VALUE1" } },
			       .signed_headers = "host;my-header1;x-amz-date",
			       .sig = "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
			       .creq = "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\n"
				       "x-amz-date:" SUITE_DATE "\n"
				       CREQ_TAIL("host;my-header1;x-amz-date")) };
	check_vector(&v);
}

#define FORM_SHA "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"

/* The original suite: the body hash is computed, no x-amz-content-sha256 header. */
TEST(suite_post_x_www_form_urlencoded)
{
	struct vec v = { SUITE(.method = "POST", .path = "/",
			       .h = { { "Content-Type", "application/x-www-form-urlencoded" },
				      HOST_DATE },
			       .body = "Param1=value1",
			       .signed_headers = "content-type;host;x-amz-date",
			       .sig = "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
			       .creq = "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
				       VANILLA_HDRS "\ncontent-type;host;x-amz-date\n" FORM_SHA) };
	check_vector(&v);
}

/* aws-c-auth's version: the hash is declared in x-amz-content-sha256. */
TEST(suite_post_x_www_form_urlencoded_declared)
{
	struct vec v = { SUITE(.method = "POST", .path = "/",
			       .h = { { "Content-Type", "application/x-www-form-urlencoded" },
				      { "Host", "example.amazonaws.com" },
				      { "Content-Length", "13" },
				      { "X-Amz-Date", SUITE_DATE },
				      { "X-Amz-Content-Sha256", FORM_SHA } },
			       .body = "Param1=value1",
			       .signed_headers = "content-length;content-type;host;x-amz-content-sha256;"
						 "x-amz-date",
			       .sig = "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
			       .creq = "POST\n/\n\ncontent-length:13\n"
				       "content-type:application/x-www-form-urlencoded\n"
				       "host:example.amazonaws.com\nx-amz-content-sha256:" FORM_SHA "\n"
				       "x-amz-date:" SUITE_DATE "\n\n"
				       "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
				       FORM_SHA) };
	check_vector(&v);
}

TEST(suite_post_x_www_form_urlencoded_parameters)
{
	struct vec v = { SUITE(.method = "POST", .path = "/",
			       .h = { { "Content-Type",
					"application/x-www-form-urlencoded; charset=utf-8" },
				      { "Host", "example.amazonaws.com" },
				      { "Content-Length", "13" },
				      { "X-Amz-Date", SUITE_DATE },
				      { "X-Amz-Content-Sha256", FORM_SHA } },
			       .body = "Param1=value1",
			       .signed_headers = "content-length;content-type;host;x-amz-content-sha256;"
						 "x-amz-date",
			       .sig = "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
			       .creq = "POST\n/\n\ncontent-length:13\n"
				       "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
				       "host:example.amazonaws.com\nx-amz-content-sha256:" FORM_SHA "\n"
				       "x-amz-date:" SUITE_DATE "\n\n"
				       "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
				       FORM_SHA) };
	check_vector(&v);
}

/* ---- the AWS documentation examples ---------------------------------------- */

#define IAM_CREQ                                                                          \
	"GET\n/\nAction=ListUsers&Version=2010-05-08\n"                                   \
	"content-type:application/x-www-form-urlencoded; charset=utf-8\n"                 \
	"host:iam.amazonaws.com\nx-amz-date:" SUITE_DATE "\n\n"                           \
	"content-type;host;x-amz-date\n" EMPTY_SHA

TEST(iam_list_users_example)
{
	struct vec v = { .key = SUITE_KEY, .secret = SUITE_SECRET, .region = "us-east-1",
			 .service = "iam", .method = "GET", .path = "/",
			 .query = "Action=ListUsers&Version=2010-05-08",
			 .h = { { "Host", "iam.amazonaws.com" },
				{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
				{ "X-Amz-Date", SUITE_DATE } },
			 .signed_headers = "content-type;host;x-amz-date",
			 .sig = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
			 .creq = IAM_CREQ };
	check_vector(&v);

	/* The intermediate steps, as the documentation prints them. */
	struct sigv4_auth a;
	memset(&a, 0, sizeof a);
	snprintf(a.date, sizeof a.date, "20150830");
	snprintf(a.region, sizeof a.region, "us-east-1");
	snprintf(a.service, sizeof a.service, "iam");
	struct buf sts = BUF_INIT(0);
	CHECK_INT(sigv4_string_to_sign(&a, SUITE_DATE, IAM_CREQ, strlen(IAM_CREQ), &sts), 0);
	CHECK_STR(sts.data, "AWS4-HMAC-SHA256\n" SUITE_DATE "\n20150830/us-east-1/iam/aws4_request\n"
			    "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	buf_release(&sts);
	uint8_t key[32];
	char hex[65];
	sigv4_signing_key(SUITE_SECRET, strlen(SUITE_SECRET), "20150830", "us-east-1", "iam", key);
	hex_encode(key, sizeof key, hex);
	CHECK_STR(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

#define S3(...) .key = S3_KEY, .secret = S3_SECRET, .region = "us-east-1", .service = "s3", \
		__VA_ARGS__

TEST(s3_get_object_example)
{
	struct vec v = { S3(.method = "GET", .path = "/test.txt",
			    .h = { { "Host", S3_HOST }, { "Range", "bytes=0-9" },
				   { "x-amz-content-sha256", EMPTY_SHA }, { "x-amz-date", S3_DATE } },
			    .signed_headers = "host;range;x-amz-content-sha256;x-amz-date",
			    .sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			    .creq = "GET\n/test.txt\n\nhost:" S3_HOST "\nrange:bytes=0-9\n"
				    "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:" S3_DATE "\n\n"
				    "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA) };
	check_vector(&v);
}

#define PUT_SHA "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
#define PUT_CREQ                                                                             \
	"PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" S3_HOST "\n"   \
	"x-amz-content-sha256:" PUT_SHA "\nx-amz-date:" S3_DATE "\n"                          \
	"x-amz-storage-class:REDUCED_REDUNDANCY\n\n"                                         \
	"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" PUT_SHA

TEST(s3_put_object_example)
{
	/* "$" arrives encoded (SDKs) or not (hand-rolled clients): both sign the same. */
	const char *paths[] = { "/test%24file.text", "/test$file.text" };
	for (int i = 0; i < 2; i++) {
		struct vec v = { S3(.method = "PUT", .path = paths[i],
				    .h = { { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
					   { "Host", S3_HOST },
					   { "x-amz-content-sha256", PUT_SHA },
					   { "x-amz-date", S3_DATE },
					   { "x-amz-storage-class", "REDUCED_REDUNDANCY" } },
				    .body = "Welcome to Amazon S3.",
				    .signed_headers = "date;host;x-amz-content-sha256;x-amz-date;"
						      "x-amz-storage-class",
				    .sig = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
				    .creq = PUT_CREQ) };
		check_vector(&v);
	}
}

TEST(s3_list_objects_example)
{
	struct vec v = { S3(.method = "GET", .path = "/", .query = "max-keys=2&prefix=J",
			    .h = { { "Host", S3_HOST }, { "x-amz-content-sha256", EMPTY_SHA },
				   { "x-amz-date", S3_DATE } },
			    .signed_headers = "host;x-amz-content-sha256;x-amz-date",
			    .sig = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
			    .creq = "GET\n/\nmax-keys=2&prefix=J\nhost:" S3_HOST "\n"
				    "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:" S3_DATE "\n\n"
				    "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA) };
	check_vector(&v);
}

#define PRESIGN_Q                                                                        \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524" \
	"%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"   \
	"&X-Amz-SignedHeaders=host"
#define PRESIGN_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static int presigned_verify(const char *query, int64_t now, enum auth_fail *why)
{
	struct sigv4_header h[] = { { "Host", S3_HOST } };
	struct sigv4_request r = { .method = "GET", .path = "/test.txt", .query = query,
				   .headers = h, .nheaders = 1 };
	struct sigv4_auth a;
	char err[TN_ERRLEN] = "";
	int rc = sigv4_parse(&r, &a, why, err);
	if (rc == 0)
		rc = sigv4_verify(&r, &a, S3_SECRET, strlen(S3_SECRET), now, SKEW, why, err);
	if (rc)
		fprintf(stderr, "presigned: %s\n", err);
	return rc;
}

TEST(s3_presigned_url_example)
{
	struct sigv4_header h[] = { { "Host", S3_HOST } };
	struct sigv4_request r = { .method = "GET", .path = "/test.txt",
				   .query = PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG,
				   .headers = h, .nheaders = 1 };
	struct sigv4_auth a;
	enum auth_fail why;
	char err[TN_ERRLEN];
	CHECK_INT(sigv4_parse(&r, &a, &why, err), 0);
	CHECK(a.presigned);
	CHECK_INT(a.expires_s, 86400);
	CHECK_STR(a.key_id, S3_KEY);
	struct buf creq = BUF_INIT(0);
	CHECK_INT(sigv4_canonical_request(&r, &a, &creq, err), 0);
	CHECK_STR(creq.data, "GET\n/test.txt\n" PRESIGN_Q "\nhost:" S3_HOST "\n\nhost\n"
			     "UNSIGNED-PAYLOAD");
	buf_release(&creq);

	int64_t t0 = amz_ms(S3_DATE);
	CHECK_INT(presigned_verify(r.query, t0 + 3600 * 1000LL, &why), 0);
	CHECK_INT(why, AUTH_OK);
	/* Past X-Amz-Expires. */
	CHECK_INT(presigned_verify(r.query, t0 + 86401 * 1000LL, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_EXPIRED);
	/* Dated well in the future. */
	CHECK_INT(presigned_verify(r.query, t0 - 3600 * 1000LL, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_SKEWED);
	/* A longer life written into the URL breaks the signature. */
	const char *longer =
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
		"%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604800"
		"&X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGN_SIG;
	CHECK_INT(presigned_verify(longer, t0 + 3600 * 1000LL, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	/* Both forms at once are refused. */
	struct sigv4_header h2[] = { { "Host", S3_HOST }, { "Authorization", "AWS4-HMAC-SHA256 x" } };
	r.headers = h2;
	r.nheaders = 2;
	CHECK_INT(sigv4_parse(&r, &a, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
}

/* ---- verification rules (on a request signed here) --------------------------- */

#define KIN_BODY "{\"StreamName\":\"s\",\"Data\":\"aGk=\",\"PartitionKey\":\"p\"}"

struct signed_req {
	struct sigv4_header h[8];
	char date[17], hash[65];
	struct buf authz;
	struct sigv4_request r;
};

/* A Kinesis-like POST dated at, signed with secret, optionally declaring its hash. */
static void make_signed(struct signed_req *s, int64_t at, const char *secret, bool declare,
			const char *signed_headers)
{
	char err[TN_ERRLEN];
	uint8_t d[32];
	memset(s, 0, sizeof *s);
	time_format_amz(at, s->date, sizeof s->date);
	crypto_sha256(KIN_BODY, strlen(KIN_BODY), d);
	hex_encode(d, 32, s->hash);
	size_t n = 0;
	s->h[n++] = (struct sigv4_header){ "Host", "127.0.0.1:7070" };
	s->h[n++] = (struct sigv4_header){ "Content-Type", "application/x-amz-json-1.1" };
	s->h[n++] = (struct sigv4_header){ "X-Amz-Target", "Kinesis_20131202.PutRecord" };
	s->h[n++] = (struct sigv4_header){ "X-Amz-Date", s->date };
	if (declare)
		s->h[n++] = (struct sigv4_header){ "X-Amz-Content-Sha256", s->hash };
	s->r = (struct sigv4_request){ .method = "POST", .path = "/", .headers = s->h,
				       .nheaders = n, .body = KIN_BODY,
				       .body_len = strlen(KIN_BODY) };
	buf_init(&s->authz, 0);
	int rc = sigv4_sign(&s->r, "AKIDTEST", secret, "us-east-1", "kinesis", signed_headers,
			    &s->authz, err);
	if (rc)
		fprintf(stderr, "sign: %s\n", err);
	CHECK_INT(rc, 0);
	s->h[n++] = (struct sigv4_header){ "Authorization", s->authz.data };
	s->r.nheaders = n;
}

static int verify(const struct sigv4_request *r, const char *secret, int64_t now,
		  enum auth_fail *why)
{
	struct sigv4_auth a;
	char err[TN_ERRLEN] = "";
	int rc = sigv4_parse(r, &a, why, err);
	if (rc == 0)
		rc = sigv4_verify(r, &a, secret, strlen(secret), now, SKEW, why, err);
	fprintf(stderr, "verify: rc %d why %d: %s\n", rc, (int)*why, err);
	return rc;
}

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

TEST(verify_accepts_own_signature)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, NULL);
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), 0);
	make_signed(&s, T0, "sekrit", true, NULL);
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), 0);
	/* Unsigned headers may change freely. */
	s.h[s.r.nheaders++] = (struct sigv4_header){ "User-Agent", "anything" };
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), 0);
	buf_release(&s.authz);
}

TEST(verify_rejects_tampered_body)
{
	struct signed_req s;
	enum auth_fail why;
	const char *evil = "{\"StreamName\":\"s\",\"Data\":\"ZXZpbA==\",\"PartitionKey\":\"p\"}";
	/* Declared hash: the signature holds, the body does not match it. */
	make_signed(&s, T0, "sekrit", true, NULL);
	s.r.body = evil;
	s.r.body_len = strlen(evil);
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_PAYLOAD);
	/* A caller-computed hash is used the same way. */
	char hash[65];
	uint8_t d[32];
	crypto_sha256(evil, strlen(evil), d);
	hex_encode(d, 32, hash);
	s.r.payload_sha256 = hash;
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_PAYLOAD);
	buf_release(&s.authz);
	/* No declared hash: the body is part of the signature. */
	make_signed(&s, T0, "sekrit", false, NULL);
	s.r.body = evil;
	s.r.body_len = strlen(evil);
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
}

TEST(verify_deferred_payload)
{
	struct signed_req s;
	enum auth_fail why;
	struct sigv4_auth a;
	char err[TN_ERRLEN];
	make_signed(&s, T0, "sekrit", true, NULL);
	s.r.payload_deferred = true;
	s.r.body = NULL;
	s.r.body_len = 0;
	CHECK_INT(sigv4_parse(&s.r, &a, &why, err), 0);
	CHECK_INT(sigv4_verify(&s.r, &a, "sekrit", 6, T0, SKEW, &why, err), 0);
	uint8_t d[32];
	crypto_sha256(KIN_BODY, strlen(KIN_BODY), d);
	CHECK(sigv4_payload_ok(&a, d));
	d[0] ^= 1;
	CHECK(!sigv4_payload_ok(&a, d));
	buf_release(&s.authz);
	/* Deferred without a declared hash cannot be verified. */
	make_signed(&s, T0, "sekrit", false, NULL);
	s.r.payload_deferred = true;
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);
}

TEST(verify_rejects_tampered_header)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, NULL);
	s.h[2].value = "Kinesis_20131202.DeleteStream";
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
	/* Path and query are signed too. */
	make_signed(&s, T0, "sekrit", false, NULL);
	s.r.path = "/other";
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	s.r.path = "/";
	s.r.query = "a=b";
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	s.r.query = NULL;
	s.r.method = "PUT";
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
}

TEST(verify_rejects_wrong_secret)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, NULL);
	CHECK_INT(verify(&s.r, "sekriT", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	CHECK_INT(verify(&s.r, "", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
	buf_release(&s.authz);
}

TEST(verify_clock_skew)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, NULL);
	CHECK_INT(verify(&s.r, "sekrit", T0 + 14 * 60 * 1000LL, &why), 0);
	CHECK_INT(verify(&s.r, "sekrit", T0 - 14 * 60 * 1000LL, &why), 0);
	CHECK_INT(verify(&s.r, "sekrit", T0 + 16 * 60 * 1000LL, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_SKEWED);
	CHECK_INT(verify(&s.r, "sekrit", T0 - 16 * 60 * 1000LL, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_SKEWED);
	buf_release(&s.authz);
}

TEST(verify_rejects_wrong_scope_date)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, NULL);
	/* Re-date the credential scope to the previous day. */
	char *c = strstr(s.authz.data, "/20251124/");
	CHECK(c != NULL);
	memcpy(c + 1, "20251123", 8);
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);
}

TEST(verify_requires_host_and_date_signed)
{
	struct signed_req s;
	enum auth_fail why;
	make_signed(&s, T0, "sekrit", false, "content-type;host;x-amz-target");
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);
	make_signed(&s, T0, "sekrit", false, "content-type;x-amz-date;x-amz-target");
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);
	/* No date header at all. */
	make_signed(&s, T0, "sekrit", false, NULL);
	s.h[3].name = "X-Not-Date";
	CHECK_INT(verify(&s.r, "sekrit", T0, &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&s.authz);
}

TEST(verify_date_header_instead_of_x_amz_date)
{
	/* The S3 PUT example carries Date too; without x-amz-date, Date is the time. */
	struct sigv4_header h[] = { { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
				    { "Host", S3_HOST },
				    { "Authorization", NULL } };
	struct sigv4_request r = { .method = "GET", .path = "/k", .headers = h, .nheaders = 2 };
	/* Sign through a twin that has x-amz-date, but sign only date;host. */
	struct sigv4_header hs[] = { { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
				     { "Host", S3_HOST },
				     { "X-Amz-Date", S3_DATE } };
	struct sigv4_request rs = r;
	rs.headers = hs;
	rs.nheaders = 3;
	struct buf authz = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(sigv4_sign(&rs, S3_KEY, S3_SECRET, "us-east-1", "s3", "date;host", &authz, err),
		  0);
	h[2].value = authz.data;
	r.nheaders = 3;
	enum auth_fail why;
	CHECK_INT(verify(&r, S3_SECRET, amz_ms(S3_DATE), &why), 0);
	/* date must then be signed. */
	buf_reset(&authz);
	CHECK_INT(sigv4_sign(&rs, S3_KEY, S3_SECRET, "us-east-1", "s3", "host", &authz, err), 0);
	h[2].value = authz.data;
	CHECK_INT(verify(&r, S3_SECRET, amz_ms(S3_DATE), &why), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	buf_release(&authz);
}

TEST(verify_payload_keywords_s3_only)
{
	/* UNSIGNED-PAYLOAD is an S3 thing; for kinesis the body must be signed. */
	struct sigv4_header h[] = { { "Host", "h" }, { "X-Amz-Date", S3_DATE },
				    { "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD" },
				    { "Authorization", NULL } };
	struct sigv4_request r = { .method = "PUT", .path = "/b/k", .headers = h, .nheaders = 3,
				   .body = "x", .body_len = 1 };
	struct buf authz = BUF_INIT(0);
	char err[TN_ERRLEN];
	enum auth_fail why;
	CHECK_INT(sigv4_sign(&r, "K", "S", "us-east-1", "s3", NULL, &authz, err), 0);
	h[3].value = authz.data;
	r.nheaders = 4;
	CHECK_INT(verify(&r, "S", amz_ms(S3_DATE), &why), 0);
	buf_reset(&authz);
	r.nheaders = 3;
	CHECK_INT(sigv4_sign(&r, "K", "S", "us-east-1", "kinesis", NULL, &authz, err), TN_EINVAL);
	/* Garbage in the header is malformed everywhere. */
	h[2].value = "not-a-hash";
	CHECK_INT(sigv4_sign(&r, "K", "S", "us-east-1", "s3", NULL, &authz, err), TN_EINVAL);
	buf_release(&authz);
}

/* ---- Authorization header parsing ------------------------------------------------ */

#define SIG64 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

TEST(parse_tolerates_sdk_variants)
{
	const char *ok[] = {
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,"
		"SignedHeaders=host;x-amz-date,Signature=" SIG64,
		"AWS4-HMAC-SHA256   Credential=AKID/20150830/us-east-1/service/aws4_request ,  "
		"SignedHeaders=host;x-amz-date ,Signature=" SIG64 "  ",
		"AWS4-HMAC-SHA256 Signature=" SIG64 ", SignedHeaders=Host;X-Amz-Date, "
		"Credential=AKID/20150830/us-east-1/service/aws4_request",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct sigv4_auth a;
		char err[TN_ERRLEN] = "";
		int rc = sigv4_parse_authorization(ok[i], &a, err);
		if (rc)
			fprintf(stderr, "variant %zu: %s\n", i, err);
		CHECK_INT(rc, 0);
		CHECK_STR(a.key_id, "AKID");
		CHECK_STR(a.date, "20150830");
		CHECK_STR(a.region, "us-east-1");
		CHECK_STR(a.service, "service");
		CHECK_STR(a.signed_headers, "host;x-amz-date");
		CHECK_STR(a.signature, SIG64);
	}
}

TEST(parse_rejects_malformed)
{
	const char *bad[] = {
		"",
		"Basic dXNlcjpwYXNz",
		"AWS AKID:signature",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws5_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/2015083/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date",
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=abc",
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64 ", Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;;x-amz-date, Signature=" SIG64,
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG64 ", Extra=1",
		"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders, Signature=" SIG64,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sigv4_auth a;
		char err[TN_ERRLEN] = "";
		int rc = sigv4_parse_authorization(bad[i], &a, err);
		if (rc == 0)
			fprintf(stderr, "accepted bad header %zu: %s\n", i, bad[i]);
		CHECK_INT(rc, TN_EINVAL);
		CHECK(err[0] != '\0');
	}
	/* Through sigv4_parse: malformed vs missing. */
	struct sigv4_header h[] = { { "Host", "h" }, { "Authorization", "Basic dXNlcjpwYXNz" } };
	struct sigv4_request r = { .method = "GET", .path = "/", .headers = h, .nheaders = 2 };
	struct sigv4_auth a;
	enum auth_fail why = AUTH_OK;
	char err[TN_ERRLEN];
	CHECK_INT(sigv4_parse(&r, &a, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_MALFORMED);
	r.nheaders = 1;
	CHECK_INT(sigv4_parse(&r, &a, &why, err), TN_EAUTH);
	CHECK_INT(why, AUTH_MISSING);
}

/* ---- botocore, the signer of boto3 and the aws CLI --------------------------------- */

static const char botocore_script[] =
	"import sys\n"
	"from botocore.auth import SigV4Auth, S3SigV4Auth, S3SigV4QueryAuth\n"
	"from botocore.awsrequest import AWSRequest\n"
	"from botocore.credentials import Credentials\n"
	"creds = Credentials('AKIDBOTO', 'botocore/secret+key=')\n"
	"case = sys.argv[1]\n"
	"body = b''\n"
	"if case == 'kinesis':\n"
	"    body = b'{\"StreamName\":\"s\",\"Data\":\"aGk=\",\"PartitionKey\":\"p\"}'\n"
	"    req = AWSRequest(method='POST', url='http://127.0.0.1:7070/', data=body,\n"
	"        headers={'Content-Type': 'application/x-amz-json-1.1',\n"
	"                 'X-Amz-Target': 'Kinesis_20131202.PutRecord'})\n"
	"    SigV4Auth(creds, 'kinesis', 'us-east-1').add_auth(req)\n"
	"elif case == 'execute-api':\n"
	"    req = AWSRequest(method='GET',\n"
	"        url='http://127.0.0.1:7070/v1/a%20b/c%2Bd/./e?z=1&a=x%2Fy&a=%20')\n"
	"    SigV4Auth(creds, 'execute-api', 'eu-west-1').add_auth(req)\n"
	"elif case == 's3':\n"
	"    body = b'hello, lake'\n"
	"    req = AWSRequest(method='PUT',\n"
	"        url='http://127.0.0.1:9000/lake/01-raw-data-zone/a%20b%2Bc%24%C3%A9.json?x-id=PutObject',\n"
	"        data=body, headers={'Content-Type': 'application/json'})\n"
	"    S3SigV4Auth(creds, 's3', 'us-east-1').add_auth(req)\n"
	"elif case == 's3-presign':\n"
	"    req = AWSRequest(method='GET', url='http://127.0.0.1:9000/lake/k%20y.txt')\n"
	"    S3SigV4QueryAuth(creds, 's3', 'us-east-1', expires=600).add_auth(req)\n"
	"print(req.method)\n"
	"print(req.url.split('://', 1)[1].split('/', 1)[1])\n"
	"print(body.hex())\n"
	"for k, v in req.headers.items():\n"
	"    print(k + '\\t' + v)\n";

/* Runs the script for one case and verifies what botocore signed. */
static void botocore_case(const char *name, const char *host)
{
	char path[512], cmd[1024];
	snprintf(path, sizeof path, "%s/sign.py", test_tmpdir());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(botocore_script, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", path, name);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	static char lines[32][2048];
	int n = 0;
	while (n < 32 && fgets(lines[n], sizeof lines[n], p)) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		n++;
	}
	CHECK_INT(pclose(p), 0);
	CHECK(n >= 3);
	/* line 0: method, 1: path?query without the leading '/', 2: body hex, then headers */
	static char target[2100];
	snprintf(target, sizeof target, "/%s", lines[1]);
	char *q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	static uint8_t body[1024];
	size_t blen = 0;
	CHECK_INT(hex_decode(lines[2], strlen(lines[2]), body, sizeof body, &blen), 0);
	struct sigv4_header h[40];
	size_t nh = 0;
	h[nh++] = (struct sigv4_header){ "Host", host };
	for (int i = 3; i < n; i++) {
		char *tab = strchr(lines[i], '\t');
		CHECK(tab != NULL);
		*tab = '\0';
		h[nh++] = (struct sigv4_header){ lines[i], tab + 1 };
	}
	char clen[32];
	snprintf(clen, sizeof clen, "%zu", blen);
	h[nh++] = (struct sigv4_header){ "Content-Length", clen }; /* added by the HTTP client */
	struct sigv4_request r = { .method = lines[0], .path = target, .query = q, .headers = h,
				   .nheaders = nh, .body = body, .body_len = blen };
	struct sigv4_auth a;
	enum auth_fail why;
	char err[TN_ERRLEN] = "";
	int rc = sigv4_parse(&r, &a, &why, err);
	if (rc == 0)
		rc = sigv4_verify(&r, &a, "botocore/secret+key=", 20, time_now_ms(), SKEW, &why, err);
	if (rc) {
		struct buf c = BUF_INIT(0);
		sigv4_canonical_request(&r, &a, &c, err);
		fprintf(stderr, "botocore %s: %s\ncanonical:\n%s\n", name, err, c.data);
		buf_release(&c);
	}
	CHECK_INT(rc, 0);
	CHECK_STR(a.key_id, "AKIDBOTO");
	/* And a wrong secret must fail against the very same request. */
	CHECK_INT(sigv4_verify(&r, &a, "botocore/secret+kez=", 20, time_now_ms(), SKEW, &why, err),
		  TN_EAUTH);
	CHECK_INT(why, AUTH_BAD_SECRET);
}

TEST(botocore_kinesis_post)
{
	botocore_case("kinesis", "127.0.0.1:7070");
}

TEST(botocore_encoded_path_and_query)
{
	botocore_case("execute-api", "127.0.0.1:7070");
}

TEST(botocore_s3_put)
{
	botocore_case("s3", "127.0.0.1:9000");
}

TEST(botocore_s3_presigned)
{
	botocore_case("s3-presign", "127.0.0.1:9000");
}

/* ---- robustness: mutated input never crashes and never verifies ------------------- */

/*
 * True if a and b differ only in letter case, whitespace and commas: the
 * spellings the parser is meant to tolerate (field names, hex digits,
 * separators).
 */
static bool same_but_spelling(const char *a, const char *b)
{
	for (;;) {
		while (*a && (strchr(" \t\r\n\v\f,", *a)))
			a++;
		while (*b && (strchr(" \t\r\n\v\f,", *b)))
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		char x = (char)(*a >= 'A' && *a <= 'Z' ? *a + 32 : *a);
		char y = (char)(*b >= 'A' && *b <= 'Z' ? *b + 32 : *b);
		if (x != y)
			return false;
		a++;
		b++;
	}
}

TEST(mutations_survive)
{
	struct signed_req s;
	make_signed(&s, T0, "sekrit", true, NULL);
	const char *orig = s.authz.data;
	size_t n = strlen(orig);
	char *m = malloc(n + 1);
	char q[sizeof(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG)];
	unsigned seed = 12345;
	int accepted = 0;
	for (int i = 0; i < 20000; i++) {
		memcpy(m, orig, n + 1);
		snprintf(q, sizeof q, "%s", PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG);
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			m[at] = (char)(seed >> 16);
			if (m[at] == '\0')
				m[at] = '%';
			seed = seed * 1103515245u + 12345u;
			size_t qa = (seed >> 8) % (sizeof q - 1);
			q[qa] = (char)((seed >> 16) | 1);
		}
		struct sigv4_header h[8];
		memcpy(h, s.h, sizeof h);
		h[s.r.nheaders - 1].value = m;
		struct sigv4_request r = s.r;
		r.headers = h;
		if (i % 2) { /* the presigned form instead */
			r.nheaders--;
			r.query = q;
		}
		struct sigv4_auth a;
		enum auth_fail why;
		char err[TN_ERRLEN];
		if (sigv4_parse(&r, &a, &why, err) == 0 &&
		    sigv4_verify(&r, &a, "sekrit", 6, T0, SKEW, &why, err) == 0 &&
		    strcmp(a.key_id, "AKIDTEST") == 0) {
			/* (The key id is not signed: it only selects the secret.) */
			if (!same_but_spelling(i % 2 ? q : m,
					       i % 2 ? PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG
						     : orig)) {
				fprintf(stderr, "accepted: %s\n", i % 2 ? q : m);
				accepted++;
			}
		}
	}
	CHECK_INT(accepted, 0);
	free(m);
	buf_release(&s.authz);
}

/* HMAC-SHA-256 against RFC 4231: a short key and one longer than a block. */
TEST(hmac_sha256_rfc4231)
{
	uint8_t mac[32], k1[20], k6[131];
	char hex[65];
	memset(k1, 0x0b, sizeof k1);
	crypto_hmac_sha256(k1, sizeof k1, "Hi There", 8, mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k6, 0xaa, sizeof k6);
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	crypto_hmac_sha256(k6, sizeof k6, m6, strlen(m6), mac);
	hex_encode(mac, sizeof mac, hex);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/*
 * Signing keys are remembered per secret and scope: many secrets under
 * one scope, signed and verified in turn, never borrow each other's key,
 * and a secret that is a prefix of another stays apart from it.
 */
TEST(signing_keys_stay_apart)
{
	char secrets[40][48];
	for (int i = 0; i < 40; i++)
		snprintf(secrets[i], sizeof secrets[i], "secret-%d%s", i, i % 2 ? "x" : "");
	snprintf(secrets[1], sizeof secrets[1], "secret-0"); /* secrets[0] + "" */
	snprintf(secrets[0], sizeof secrets[0], "secret-");
	struct sigv4_header h[3] = { { "Host", "127.0.0.1:9000" },
				     { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" },
				     { "x-amz-date", "20261207T010000Z" } };
	int64_t now;
	CHECK_INT(time_parse("2026-12-07T01:00:00Z", 20, &now), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 40; i++) {
			struct sigv4_request req = { .method = "GET", .path = "/lake/a", .query = "",
						     .headers = h, .nheaders = 3 };
			struct buf auth = BUF_INIT(0);
			char err[TN_ERRLEN];
			CHECK_INT(sigv4_sign(&req, "AKID", secrets[i], "us-east-1", "s3", NULL, &auth,
					     err), 0);
			struct sigv4_header hv[4] = { h[0], h[1], h[2], { "Authorization", auth.data } };
			struct sigv4_request v = req;
			v.headers = hv;
			v.nheaders = 4;
			for (int j = i; j <= i + 1 && j < 40; j++) {
				struct sigv4_auth a;
				enum auth_fail why;
				CHECK_INT(sigv4_parse(&v, &a, &why, err), 0);
				int rc = sigv4_verify(&v, &a, secrets[j], strlen(secrets[j]), now, 900,
						      &why, err);
				CHECK_INT(rc, j == i ? 0 : TN_EAUTH);
			}
			buf_release(&auth);
		}
	}
}

/*
 * test_chunked.c - the aws-chunked decoder and S3 body checksums.
 *
 * Published answers first: AWS's chunked-upload example ("Signature
 * Calculations for the Authorization Header: Transferring Payload in
 * Multiple Chunks": 66560 bytes of 'a' in a 64 KiB chunk, a 1 KiB chunk
 * and the empty one, with its seed and chunk signatures) and its
 * trailing-header sibling (the same data with an x-amz-checksum-crc32c
 * trailer and x-amz-trailer-signature); the seed signatures are checked
 * through sigv4_verify, which must hand the decoder the signing key.  The
 * trailer-signature vector of awslabs' aws-crt test suite (trailers
 * first/second/third) pins the canonical trailer form.  CRC vectors are
 * the catalogue check values of "123456789".
 *
 * Then real SDK bytes: tests/unit/data/boto3_*.http are PUT requests
 * boto3 1.26 sent (recorded by tests/unit/data/record_boto3.py) with
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies and crc32 / crc32c / sha1 /
 * sha256 trailers, and one plain body with an x-amz-checksum-crc32 header.
 *
 * Then the decoder's own promises: every split of a body decodes the same,
 * truncation at every byte is "incomplete body", a bad signature names
 * its chunk, bad framing and lengths are refused, data streams through
 * without being held.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/crc32.h"
#include "core/crc32c.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE "20130524T000000Z"
#define EX_SCOPE "20130524/us-east-1/s3/aws4_request"
#define EX_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EX_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define EX_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define EX_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
/* The trailing-header example: same data, x-amz-trailer signed too. */
#define TR_SEED "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TR_SIG1 "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TR_SIG2 "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TR_SIG3 "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TR_TRAILER "x-amz-checksum-crc32c:sOO8/Q=="
#define TR_TSIG "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

/* ---- helpers ----------------------------------------------------------- */

struct sinkbuf {
	struct buf out;
	size_t calls;
};

static int to_buf(void *arg, const void *p, size_t n, char *err)
{
	struct sinkbuf *s = arg;
	s->calls++;
	CHECK(n > 0);
	if (buf_append(&s->out, p, n))
		return tn_fail(err, TN_ETOOBIG, "test sink full");
	return 0;
}

/* A sigv4_auth as sigv4_verify leaves it for a chunk-signed request. */
static void make_auth(struct sigv4_auth *a, const char *secret, const char *amz_date,
		      const char *seed, const char *payload)
{
	memset(a, 0, sizeof *a);
	memcpy(a->amz_date, amz_date, 16);
	memcpy(a->date, amz_date, 8);
	snprintf(a->region, sizeof a->region, "us-east-1");
	snprintf(a->service, sizeof a->service, "s3");
	snprintf(a->signature, sizeof a->signature, "%s", seed);
	snprintf(a->payload_hash, sizeof a->payload_hash, "%s", payload);
	sigv4_signing_key(secret, strlen(secret), a->date, a->region, a->service, a->signing_key);
	a->has_signing_key = true;
}

struct dec {
	struct chunked *c;
	struct sinkbuf sink;
	char err[TN_ERRLEN];
};

static void dec_open(struct dec *d, enum chunked_mode mode, const struct sigv4_auth *auth,
		     const char *trailer, int64_t decoded_length)
{
	memset(d, 0, sizeof *d);
	buf_init(&d->sink.out, 0);
	struct chunked_params p = { mode, auth, trailer, decoded_length, to_buf, &d->sink };
	int rc = chunked_new(&p, &d->c, d->err);
	if (rc)
		fprintf(stderr, "chunked_new: %s\n", d->err);
	CHECK_INT(rc, 0);
}

static void dec_close(struct dec *d)
{
	chunked_free(d->c);
	buf_release(&d->sink.out);
}

/* Feeds body in the given slice lengths (0-terminated list; rest at the end), then finishes. */
static int dec_run(struct dec *d, const void *body, size_t n, const size_t *cuts)
{
	const char *p = body;
	size_t off = 0;
	for (; cuts && *cuts && off < n; cuts++) {
		size_t k = *cuts < n - off ? *cuts : n - off;
		int rc = chunked_feed(d->c, p + off, k, d->err);
		if (rc)
			return rc;
		off += k;
	}
	if (off < n) {
		int rc = chunked_feed(d->c, p + off, n - off, d->err);
		if (rc)
			return rc;
	}
	return chunked_finish(d->c, d->err);
}

/* Decodes body in one piece; returns the code (message in d->err). */
static int decode_all(struct dec *d, enum chunked_mode mode, const struct sigv4_auth *auth,
		      const char *trailer, int64_t dlen, const void *body, size_t n)
{
	dec_open(d, mode, auth, trailer, dlen);
	return dec_run(d, body, n, NULL);
}

static bool has(const char *msg, const char *needle)
{
	if (strstr(msg, needle))
		return true;
	fprintf(stderr, "message '%s' lacks '%s'\n", msg, needle);
	return false;
}

/*
 * Builds a signed aws-chunked body: chunks of the given sizes from data,
 * then the final chunk, then (trailer mode) the trailer line (may be NULL)
 * and its signature.  blank adds "\r\n" after the final chunk header in
 * trailer mode (what some SDKs send).
 */
static void build_signed(const struct sigv4_auth *a, const char *data, const size_t *sizes,
			 size_t nsizes, bool trailer_mode, const char *trailer, bool blank,
			 struct buf *out)
{
	char prev[65], sig[65];
	snprintf(prev, sizeof prev, "%s", a->signature);
	char scope[160];
	snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", a->date, a->region, a->service);
	size_t off = 0;
	for (size_t i = 0; i <= nsizes; i++) {
		size_t n = i < nsizes ? sizes[i] : 0;
		chunked_chunk_signature(a->signing_key, a->amz_date, scope, prev, data + off, n,
					sig);
		CHECK_INT(buf_printf(out, "%zx;chunk-signature=%s\r\n", n, sig), 0);
		CHECK_INT(buf_append(out, data + off, n), 0);
		if (n || !trailer_mode || blank)
			CHECK_INT(buf_puts(out, "\r\n"), 0);
		off += n;
		memcpy(prev, sig, sizeof prev);
	}
	if (!trailer_mode)
		return;
	char canon[256] = "";
	if (trailer) {
		snprintf(canon, sizeof canon, "%s\n", trailer);
		CHECK_INT(buf_printf(out, "%s\r\n", trailer), 0);
	}
	chunked_trailer_signature(a->signing_key, a->amz_date, scope, prev, canon, strlen(canon),
				  sig);
	CHECK_INT(buf_printf(out, "x-amz-trailer-signature:%s\r\n\r\n", sig), 0);
}

/* An unsigned trailer body: chunks, "0", the trailer line (may be NULL), blank line. */
static void build_unsigned(const char *data, const size_t *sizes, size_t nsizes,
			   const char *trailer, struct buf *out)
{
	size_t off = 0;
	for (size_t i = 0; i < nsizes; i++) {
		CHECK_INT(buf_printf(out, "%zx\r\n", sizes[i]), 0);
		CHECK_INT(buf_append(out, data + off, sizes[i]), 0);
		CHECK_INT(buf_puts(out, "\r\n"), 0);
		off += sizes[i];
	}
	CHECK_INT(buf_puts(out, "0\r\n"), 0);
	if (trailer)
		CHECK_INT(buf_printf(out, "%s\r\n", trailer), 0);
	CHECK_INT(buf_puts(out, "\r\n"), 0);
}

static void b64_crc32(const char *p, size_t n, char out[CHECKSUM_B64_LEN])
{
	struct checksum *c = NULL;
	CHECK_INT(checksum_new(CHECKSUM_CRC32, NULL, &c, NULL), 0);
	checksum_update(c, p, n);
	CHECK_INT(checksum_finish(c, out, NULL), 0);
	checksum_free(c);
}

static const char small_data[] = "hello aws-chunked!";
static const size_t small_sizes[] = { 5, 5, 8 };

/* ---- checksums ---------------------------------------------------------- */

static uint32_t ref_crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static uint64_t ref_crc64(const unsigned char *p, size_t n)
{
	uint64_t c = ~0ull;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ull : c >> 1;
	}
	return ~c;
}

TEST(crc_check_values)
{
	CHECK(crc32_ieee(0, "123456789", 9) == 0xcbf43926u);
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(crc64_nvme(0, "123456789", 9) == 0xae8b14860a799888ull);
	CHECK(crc32_ieee(0, "", 0) == 0);
	CHECK(crc64_nvme(0, "", 0) == 0);
	/* Slicing-by-8 against the bitwise definition, every length and alignment. */
	static unsigned char buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n + off <= sizeof buf; n += 1 + n / 8) {
			CHECK(crc32_ieee(0, buf + off, n) == ref_crc32(buf + off, n));
			CHECK(crc64_nvme(0, buf + off, n) == ref_crc64(buf + off, n));
			/* running values extend across calls */
			size_t h = n / 3;
			CHECK(crc32_ieee(crc32_ieee(0, buf + off, h), buf + off + h, n - h) ==
			      ref_crc32(buf + off, n));
			CHECK(crc64_nvme(crc64_nvme(0, buf + off, h), buf + off + h, n - h) ==
			      ref_crc64(buf + off, n));
		}
}

TEST(checksum_s3_base64_forms)
{
	static const struct {
		const char *header, *b64;
	} v[] = {
		{ "x-amz-checksum-crc32", "y/Q5Jg==" },
		{ "x-amz-checksum-crc32c", "4waSgw==" },
		{ "x-amz-checksum-crc64nvme", "rosUhgp5mIg=" },
		{ "x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE=" },
		{ "x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=" },
		{ "Content-MD5", "JfnnlDI7RTiF9RgfG2JNCw==" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct checksum *c = NULL;
		char err[TN_ERRLEN], b64[CHECKSUM_B64_LEN];
		CHECK_INT(checksum_new_header(v[i].header, v[i].b64, &c, err), 0);
		/* fed in uneven pieces */
		checksum_update(c, "1", 1);
		checksum_update(c, "", 0);
		checksum_update(c, "2345", 4);
		checksum_update(c, "6789", 4);
		CHECK_INT(checksum_finish(c, b64, err), 0);
		CHECK_STR(b64, v[i].b64);
		checksum_free(c);
		enum checksum_algo a;
		CHECK_INT(checksum_algo_parse(v[i].header, &a, err), 0);
		CHECK(strcasecmp(checksum_algo_header(a), v[i].header) == 0);
		struct buf raw = BUF_INIT(64);
		CHECK_INT(base64_decode(v[i].b64, strlen(v[i].b64), &raw), 0);
		CHECK_INT(checksum_algo_len(a), raw.len);
		buf_release(&raw);
	}
}

TEST(checksum_mismatch_is_bad_digest)
{
	struct checksum *c = NULL;
	char err[TN_ERRLEN], b64[CHECKSUM_B64_LEN];
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", "AAAAAA==", &c, err), 0);
	checksum_update(c, "123456789", 9);
	CHECK_INT(checksum_finish(c, b64, err), TN_EINVAL);
	CHECK(has(err, "x-amz-checksum-crc32"));
	CHECK(has(err, "y/Q5Jg=="));
	CHECK(has(err, "AAAAAA=="));
	CHECK_STR(b64, "y/Q5Jg==");
	checksum_free(c);

	/* Content-MD5 of one byte more */
	CHECK_INT(checksum_new_header("content-md5", "JfnnlDI7RTiF9RgfG2JNCw==", &c, err), 0);
	checksum_update(c, "1234567890", 10);
	CHECK_INT(checksum_finish(c, NULL, err), TN_EINVAL);
	checksum_free(c);

	/* expected set later */
	CHECK_INT(checksum_new(CHECKSUM_SHA256, NULL, &c, err), 0);
	checksum_update(c, "123456789", 9);
	CHECK_INT(checksum_expect(c, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU", 43, err), 0);
	CHECK_INT(checksum_finish(c, NULL, err), 0);
	checksum_free(c);
}

TEST(checksum_bad_values)
{
	struct checksum *c = NULL;
	char err[TN_ERRLEN];
	enum checksum_algo a;
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", "not base64!", &c, err), TN_EINVAL);
	CHECK(c == NULL);
	CHECK(has(err, "x-amz-checksum-crc32"));
	/* right base64, wrong length: 8 bytes for a 4-byte crc */
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", "rosUhgp5mIg=", &c, err), TN_EINVAL);
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", "", &c, err), TN_EINVAL);
	CHECK_INT(checksum_new_header("content-md5", "y/Q5Jg==", &c, err), TN_EINVAL);
	/* long padding runs are not a 4-byte value */
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", "y/Q5Jg==========", &c, err),
		  TN_EINVAL);
	CHECK_INT(checksum_algo_parse("x-amz-checksum-xxhash64", &a, err), TN_EUNSUPPORTED);
	CHECK(has(err, "xxhash64"));
	CHECK_INT(checksum_algo_parse("content-type", &a, err), TN_EINVAL);
	CHECK_INT(checksum_algo_parse("X-Amz-Checksum-CRC32C", &a, err), 0);
	CHECK_INT(a, CHECKSUM_CRC32C);
}

/* ---- AWS's published examples ------------------------------------------ */

/* The AWS example body: 65536 and 1024 bytes of 'a', signatures as published. */
static void aws_example_body(struct buf *out, char **payload)
{
	*payload = malloc(66560);
	CHECK(*payload != NULL);
	memset(*payload, 'a', 66560);
	CHECK_INT(buf_puts(out, "10000;chunk-signature=" EX_SIG1 "\r\n"), 0);
	CHECK_INT(buf_append(out, *payload, 65536), 0);
	CHECK_INT(buf_puts(out, "\r\n400;chunk-signature=" EX_SIG2 "\r\n"), 0);
	CHECK_INT(buf_append(out, *payload, 1024), 0);
	CHECK_INT(buf_puts(out, "\r\n0;chunk-signature=" EX_SIG3 "\r\n\r\n"), 0);
}

/* Verifies the example's headers with sigv4_verify (payload deferred) into auth. */
static void aws_example_verify(struct sigv4_auth *auth, bool trailer)
{
	struct sigv4_header h[10];
	size_t n = 0;
	h[n++] = (struct sigv4_header){ "Host", "s3.amazonaws.com" };
	h[n++] = (struct sigv4_header){ "x-amz-date", EX_DATE };
	h[n++] = (struct sigv4_header){ "x-amz-storage-class", "REDUCED_REDUNDANCY" };
	h[n++] = (struct sigv4_header){ "Content-Encoding", "aws-chunked" };
	h[n++] = (struct sigv4_header){ "x-amz-decoded-content-length", "66560" };
	if (trailer) {
		h[n++] = (struct sigv4_header){ "x-amz-content-sha256",
						CHUNKED_SIGNED_PAYLOAD_TRAILER };
		h[n++] = (struct sigv4_header){ "x-amz-trailer", "x-amz-checksum-crc32c" };
		h[n++] = (struct sigv4_header){
			"Authorization",
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
			"aws4_request,SignedHeaders=content-encoding;host;x-amz-content-sha256;"
			"x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,"
			"Signature=" TR_SEED
		};
	} else {
		h[n++] = (struct sigv4_header){ "Content-Length", "66824" };
		h[n++] = (struct sigv4_header){ "x-amz-content-sha256", CHUNKED_SIGNED_PAYLOAD };
		h[n++] = (struct sigv4_header){
			"Authorization",
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
			"aws4_request,SignedHeaders=content-encoding;content-length;host;"
			"x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
			"x-amz-storage-class,Signature=" EX_SEED
		};
	}
	struct sigv4_request req = { 0 };
	req.method = "PUT";
	req.path = "/examplebucket/chunkObject.txt";
	req.headers = h;
	req.nheaders = n;
	req.payload_deferred = true;
	enum auth_fail why;
	char err[TN_ERRLEN];
	int64_t now = 0;
	CHECK_INT(time_parse(EX_DATE, 16, &now), 0);
	CHECK_INT(sigv4_parse(&req, auth, &why, err), 0);
	int rc = sigv4_verify(&req, auth, EX_SECRET, strlen(EX_SECRET), now, 900, &why, err);
	if (rc)
		fprintf(stderr, "sigv4_verify: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK(auth->has_signing_key);
}

TEST(aws_example_chunk_signatures)
{
	uint8_t key[32];
	char sig[65];
	sigv4_signing_key(EX_SECRET, strlen(EX_SECRET), "20130524", "us-east-1", "s3", key);
	char *a = malloc(65536);
	CHECK(a != NULL);
	memset(a, 'a', 65536);
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, EX_SEED, a, 65536, sig);
	CHECK_STR(sig, EX_SIG1);
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, EX_SIG1, a, 1024, sig);
	CHECK_STR(sig, EX_SIG2);
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, EX_SIG2, NULL, 0, sig);
	CHECK_STR(sig, EX_SIG3);
	/* the trailing-header example's chain and trailer signature */
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, TR_SEED, a, 65536, sig);
	CHECK_STR(sig, TR_SIG1);
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, TR_SIG1, a, 1024, sig);
	CHECK_STR(sig, TR_SIG2);
	chunked_chunk_signature(key, EX_DATE, EX_SCOPE, TR_SIG2, "", 0, sig);
	CHECK_STR(sig, TR_SIG3);
	chunked_trailer_signature(key, EX_DATE, EX_SCOPE, TR_SIG3, TR_TRAILER "\n",
				  strlen(TR_TRAILER "\n"), sig);
	CHECK_STR(sig, TR_TSIG);
	/* aws-crt's vector: three trailers after the first example's final chunk */
	static const char three[] = "first:1st\nsecond:2nd\nthird:3rd\n";
	chunked_trailer_signature(key, EX_DATE, EX_SCOPE, EX_SIG3, three, strlen(three), sig);
	CHECK_STR(sig, "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c");
	free(a);
}

TEST(aws_example_decodes)
{
	struct sigv4_auth auth;
	aws_example_verify(&auth, false);
	CHECK_STR(auth.signature, EX_SEED);
	struct buf body = BUF_INIT(0);
	char *payload;
	aws_example_body(&body, &payload);
	CHECK_INT(body.len, 66824); /* the example's Content-Length */

	/* whole, one byte at a time, and in 4 KiB slices */
	static const size_t one[] = { 0 };
	for (int mode = 0; mode < 3; mode++) {
		struct dec d;
		dec_open(&d, CHUNKED_SIGNED, &auth, NULL, 66560);
		int rc = 0;
		if (mode == 0) {
			rc = dec_run(&d, body.data, body.len, one);
		} else {
			size_t step = mode == 1 ? 1 : 4096;
			for (size_t off = 0; off < body.len && rc == 0; off += step)
				rc = chunked_feed(d.c, body.data + off,
						  step < body.len - off ? step : body.len - off,
						  d.err);
			if (rc == 0)
				rc = chunked_finish(d.c, d.err);
		}
		if (rc)
			fprintf(stderr, "decode: %s\n", d.err);
		CHECK_INT(rc, 0);
		CHECK_INT(d.sink.out.len, 66560);
		CHECK(memcmp(d.sink.out.data, payload, 66560) == 0);
		CHECK_INT(chunked_decoded(d.c), 66560);
		CHECK_INT(chunked_why(d.c), CHUNKED_OK);
		CHECK(!chunked_trailer_checksum(d.c, NULL, NULL));
		dec_close(&d);
	}

	/* one byte of chunk 2 changed: chunk 2's signature fails */
	body.data[65626 + 86 + 100] = 'b';
	struct dec d;
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &auth, NULL, 66560, body.data, body.len),
		  TN_EAUTH);
	CHECK_INT(chunked_why(d.c), CHUNKED_BAD_SIGNATURE);
	CHECK(has(d.err, "chunk 2 "));
	dec_close(&d);
	buf_release(&body);
	free(payload);
}

TEST(aws_trailer_example_decodes)
{
	struct sigv4_auth auth;
	aws_example_verify(&auth, true);
	char *payload;
	struct buf body = BUF_INIT(0);
	aws_example_body(&body, &payload); /* for the payload only */
	/* Without and with the blank line some SDKs put before the trailers. */
	for (int blank = 0; blank < 2; blank++) {
		buf_reset(&body);
		CHECK_INT(buf_puts(&body, "10000;chunk-signature=" TR_SIG1 "\r\n"), 0);
		CHECK_INT(buf_append(&body, payload, 65536), 0);
		CHECK_INT(buf_puts(&body, "\r\n400;chunk-signature=" TR_SIG2 "\r\n"), 0);
		CHECK_INT(buf_append(&body, payload, 1024), 0);
		CHECK_INT(buf_puts(&body, "\r\n0;chunk-signature=" TR_SIG3 "\r\n"), 0);
		if (blank)
			CHECK_INT(buf_puts(&body, "\r\n"), 0);
		CHECK_INT(buf_puts(&body, TR_TRAILER "\r\nx-amz-trailer-signature:" TR_TSIG
						     "\r\n\r\n"),
			  0);
		struct dec d;
		int rc = decode_all(&d, CHUNKED_SIGNED_TRAILER, &auth, "x-amz-checksum-crc32c",
				    66560, body.data, body.len);
		if (rc)
			fprintf(stderr, "decode: %s\n", d.err);
		CHECK_INT(rc, 0);
		CHECK_INT(d.sink.out.len, 66560);
		CHECK(memcmp(d.sink.out.data, payload, 66560) == 0);
		enum checksum_algo a;
		char b64[CHECKSUM_B64_LEN];
		CHECK(chunked_trailer_checksum(d.c, &a, b64));
		CHECK_INT(a, CHECKSUM_CRC32C);
		CHECK_STR(b64, "sOO8/Q==");
		dec_close(&d);
	}
	/* a forged trailer (another checksum, same signature) */
	char *t = strstr(body.data, "sOO8/Q==");
	CHECK(t != NULL);
	memcpy(t, "AAAAAA==", 8);
	struct dec d;
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED_TRAILER, &auth, "x-amz-checksum-crc32c", 66560,
			     body.data, body.len),
		  TN_EAUTH);
	CHECK_INT(chunked_why(d.c), CHUNKED_BAD_SIGNATURE);
	CHECK(has(d.err, "x-amz-trailer-signature"));
	dec_close(&d);
	buf_release(&body);
	free(payload);
}

/* ---- boto3's bytes ------------------------------------------------------ */

static char *slurp(const char *name, size_t *n)
{
	char path[512];
	const char *dir = getenv("TARN_SRC_DIR");
	snprintf(path, sizeof path, "%s/tests/unit/data/%s", dir ? dir : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fprintf(stderr, "cannot open %s (run from the repository root or set TARN_SRC_DIR)\n",
			path);
	CHECK(f != NULL);
	struct buf b = BUF_INIT(0);
	char tmp[4096];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		CHECK_INT(buf_append(&b, tmp, k), 0);
	fclose(f);
	return buf_detach(&b, n);
}

#define FIX_MAXH 24

struct fixture {
	char *raw;
	size_t rawlen;
	struct sigv4_header h[FIX_MAXH];
	size_t nh;
	const char *body;
	size_t body_len;
};

static void fixture_load(struct fixture *fx, const char *name)
{
	memset(fx, 0, sizeof *fx);
	fx->raw = slurp(name, &fx->rawlen);
	char *end = strstr(fx->raw, "\r\n\r\n");
	CHECK(end != NULL);
	fx->body = end + 4;
	fx->body_len = fx->rawlen - (size_t)(fx->body - fx->raw);
	end[2] = '\0';
	for (char *line = fx->raw; *line;) {
		char *eol = strstr(line, "\r\n");
		CHECK(eol != NULL);
		*eol = '\0';
		char *colon = strchr(line, ':');
		CHECK(colon != NULL && fx->nh < FIX_MAXH);
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		fx->h[fx->nh++] = (struct sigv4_header){ line, v };
		line = eol + 2;
	}
}

static const char *fixture_header(const struct fixture *fx, const char *name)
{
	for (size_t i = 0; i < fx->nh; i++)
		if (strcasecmp(fx->h[i].name, name) == 0)
			return fx->h[i].value;
	return NULL;
}

/* The payload record_boto3.py uploads. */
static void fixture_payload(struct buf *out)
{
	for (int i = 0; i < 100; i++)
		CHECK_INT(buf_printf(out, "line %04d of the tarn aws-chunked fixture\n", i), 0);
}

/* boto3 signed the request headers: the seed must verify, payload keyword and all. */
static void fixture_verify(const struct fixture *fx, const char *path)
{
	struct sigv4_request req = { 0 };
	req.method = "PUT";
	req.path = path;
	req.headers = fx->h;
	req.nheaders = fx->nh;
	req.payload_deferred = true;
	struct sigv4_auth auth;
	enum auth_fail why;
	char err[TN_ERRLEN];
	const char *date = fixture_header(fx, "x-amz-date");
	int64_t now = 0;
	CHECK(date != NULL);
	CHECK_INT(time_parse(date, strlen(date), &now), 0);
	CHECK_INT(sigv4_parse(&req, &auth, &why, err), 0);
	int rc = sigv4_verify(&req, &auth, "fixture-secret", 14, now, 900, &why, err);
	if (rc)
		fprintf(stderr, "sigv4_verify: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK(!auth.has_signing_key); /* unsigned chunks: no key needed */
}

static void boto3_trailer_case(const char *file, enum checksum_algo want_algo)
{
	struct fixture fx;
	fixture_load(&fx, file);
	fixture_verify(&fx, strstr(file, "empty") ? "/lake/empty.txt" : "/lake/fixture.txt");
	struct buf payload = BUF_INIT(0);
	if (!strstr(file, "empty"))
		fixture_payload(&payload);
	enum chunked_mode mode;
	char err[TN_ERRLEN];
	CHECK_INT(chunked_mode_parse(fixture_header(&fx, "x-amz-content-sha256"), &mode, err), 0);
	CHECK_INT(mode, CHUNKED_UNSIGNED_TRAILER);
	CHECK_STR(fixture_header(&fx, "Content-Encoding"), "aws-chunked");
	const char *trailer = fixture_header(&fx, "X-Amz-Trailer");
	const char *dlen = fixture_header(&fx, "X-Amz-Decoded-Content-Length");
	CHECK(trailer != NULL && dlen != NULL);
	int64_t declared = strtoll(dlen, NULL, 10);
	CHECK_INT(declared, payload.len);

	/* whole, then one byte at a time */
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct dec d;
		dec_open(&d, mode, NULL, trailer, declared);
		int rc = 0;
		if (bytewise) {
			for (size_t i = 0; i < fx.body_len && rc == 0; i++)
				rc = chunked_feed(d.c, fx.body + i, 1, d.err);
			if (rc == 0)
				rc = chunked_finish(d.c, d.err);
		} else {
			rc = dec_run(&d, fx.body, fx.body_len, NULL);
		}
		if (rc)
			fprintf(stderr, "%s: %s\n", file, d.err);
		CHECK_INT(rc, 0);
		CHECK_INT(d.sink.out.len, payload.len);
		CHECK(payload.len == 0 || memcmp(d.sink.out.data, payload.data, payload.len) == 0);
		enum checksum_algo a;
		char b64[CHECKSUM_B64_LEN];
		CHECK(chunked_trailer_checksum(d.c, &a, b64));
		CHECK_INT(a, want_algo);
		CHECK(strstr(fx.body, b64) != NULL); /* the value boto3 sent */
		dec_close(&d);
	}
	if (payload.len > 0) {
		/* a byte of data changed in transit: BadDigest */
		char *copy = malloc(fx.body_len);
		CHECK(copy != NULL);
		memcpy(copy, fx.body, fx.body_len);
		char *hit = strstr(copy, "line 0042");
		CHECK(hit != NULL);
		hit[5] = 'X';
		struct dec d;
		CHECK_INT(decode_all(&d, mode, NULL, trailer, declared, copy, fx.body_len),
			  TN_EINVAL);
		CHECK_INT(chunked_why(d.c), CHUNKED_BAD_DIGEST);
		CHECK(has(d.err, trailer));
		dec_close(&d);
		free(copy);
	}
	buf_release(&payload);
	free(fx.raw);
}

TEST(boto3_trailer_crc32)
{
	boto3_trailer_case("boto3_trailer_crc32.http", CHECKSUM_CRC32);
}

TEST(boto3_trailer_crc32c)
{
	boto3_trailer_case("boto3_trailer_crc32c.http", CHECKSUM_CRC32C);
}

TEST(boto3_trailer_sha1)
{
	boto3_trailer_case("boto3_trailer_sha1.http", CHECKSUM_SHA1);
}

TEST(boto3_trailer_sha256)
{
	boto3_trailer_case("boto3_trailer_sha256.http", CHECKSUM_SHA256);
}

TEST(boto3_trailer_empty_body)
{
	boto3_trailer_case("boto3_trailer_empty.http", CHECKSUM_CRC32);
}

TEST(boto3_header_checksum)
{
	struct fixture fx;
	fixture_load(&fx, "boto3_header_crc32.http");
	fixture_verify(&fx, "/lake/fixture.txt");
	struct buf payload = BUF_INIT(0);
	fixture_payload(&payload);
	CHECK_INT(fx.body_len, payload.len);
	CHECK(memcmp(fx.body, payload.data, payload.len) == 0);
	enum chunked_mode mode;
	CHECK_INT(chunked_mode_parse(fixture_header(&fx, "x-amz-content-sha256"), &mode, NULL),
		  TN_ENOTFOUND);
	const char *v = fixture_header(&fx, "x-amz-checksum-crc32");
	CHECK(v != NULL);
	struct checksum *c = NULL;
	char err[TN_ERRLEN], b64[CHECKSUM_B64_LEN];
	CHECK_INT(checksum_new_header("x-amz-checksum-crc32", v, &c, err), 0);
	for (size_t i = 0; i < fx.body_len; i += 77)
		checksum_update(c, fx.body + i, fx.body_len - i < 77 ? fx.body_len - i : 77);
	CHECK_INT(checksum_finish(c, b64, err), 0);
	CHECK_STR(b64, v);
	checksum_free(c);
	buf_release(&payload);
	free(fx.raw);
}

/* ---- every split -------------------------------------------------------- */

/* Decodes body split at i and j (0 <= i <= j <= n); must give want. */
static void split_ok(enum chunked_mode mode, const struct sigv4_auth *auth, const char *trailer,
		     const struct buf *body, const char *want, size_t wlen, size_t i, size_t j)
{
	struct dec d;
	size_t cuts[] = { i, j - i, 0 };
	dec_open(&d, mode, auth, trailer, (int64_t)wlen);
	/* a zero-length first piece is a zero-length feed, not "end of cuts" */
	int rc = 0;
	if (i == 0)
		rc = chunked_feed(d.c, body->data, 0, d.err);
	if (rc == 0)
		rc = dec_run(&d, body->data, body->len, i ? cuts : cuts + 1);
	if (rc)
		fprintf(stderr, "split %zu/%zu: %s\n", i, j, d.err);
	CHECK_INT(rc, 0);
	CHECK_INT(d.sink.out.len, wlen);
	CHECK(memcmp(d.sink.out.data, want, wlen) == 0);
	dec_close(&d);
}

static void every_split(enum chunked_mode mode, const struct sigv4_auth *auth,
			const char *trailer, const struct buf *body)
{
	size_t wlen = strlen(small_data);
	/* every split point, and every pair of nearby ones (a "\r" apart from its "\n") */
	for (size_t i = 0; i <= body->len; i++)
		for (size_t j = i; j <= body->len && j <= i + 5; j++)
			split_ok(mode, auth, trailer, body, small_data, wlen, i, j);
	for (size_t i = 0; i <= body->len; i++)
		split_ok(mode, auth, trailer, body, small_data, wlen, i, body->len);
	/* one byte at a time */
	struct dec d;
	dec_open(&d, mode, auth, trailer, -1);
	for (size_t i = 0; i < body->len; i++)
		CHECK_INT(chunked_feed(d.c, body->data + i, 1, d.err), 0);
	CHECK_INT(chunked_finish(d.c, d.err), 0);
	CHECK_INT(d.sink.out.len, wlen);
	dec_close(&d);
	/* random slices */
	srand(12345);
	for (int round = 0; round < 200; round++) {
		size_t cuts[64], k = 0, off = 0;
		while (off < body->len && k < 63) {
			cuts[k] = 1 + (size_t)rand() % 40;
			off += cuts[k++];
		}
		cuts[k] = 0;
		dec_open(&d, mode, auth, trailer, (int64_t)wlen);
		CHECK_INT(dec_run(&d, body->data, body->len, cuts), 0);
		CHECK(d.sink.out.len == wlen && memcmp(d.sink.out.data, small_data, wlen) == 0);
		dec_close(&d);
	}
}

TEST(every_split_signed)
{
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD);
	struct buf body = BUF_INIT(0);
	build_signed(&a, small_data, small_sizes, 3, false, NULL, false, &body);
	every_split(CHUNKED_SIGNED, &a, NULL, &body);
	buf_release(&body);
}

TEST(every_split_signed_trailer)
{
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		  CHUNKED_SIGNED_PAYLOAD_TRAILER);
	char b64[CHECKSUM_B64_LEN], line[80];
	b64_crc32(small_data, strlen(small_data), b64);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s", b64);
	struct buf body = BUF_INIT(0);
	build_signed(&a, small_data, small_sizes, 3, true, line, false, &body);
	every_split(CHUNKED_SIGNED_TRAILER, &a, "x-amz-checksum-crc32", &body);
	buf_release(&body);
}

TEST(every_split_unsigned_trailer)
{
	char b64[CHECKSUM_B64_LEN], line[80];
	b64_crc32(small_data, strlen(small_data), b64);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s", b64);
	struct buf body = BUF_INIT(0);
	build_unsigned(small_data, small_sizes, 3, line, &body);
	every_split(CHUNKED_UNSIGNED_TRAILER, NULL, "x-amz-checksum-crc32", &body);
	buf_release(&body);
}

/* ---- failures ----------------------------------------------------------- */

TEST(bad_chunk_signature_names_the_chunk)
{
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD);
	struct buf good = BUF_INIT(0);
	build_signed(&a, small_data, small_sizes, 3, false, NULL, false, &good);
	/* flip one hex digit of each chunk's signature in turn (4 chunks with the final) */
	const char *p = good.data;
	for (int k = 1; k <= 4; k++) {
		const char *s = strstr(p, "chunk-signature=");
		CHECK(s != NULL);
		size_t at = (size_t)(s - good.data) + 16 + 10;
		struct buf bad = BUF_INIT(0);
		CHECK_INT(buf_append(&bad, good.data, good.len), 0);
		bad.data[at] = bad.data[at] == '0' ? '1' : '0';
		struct dec d;
		CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &a, NULL, -1, bad.data, bad.len), TN_EAUTH);
		CHECK_INT(chunked_why(d.c), CHUNKED_BAD_SIGNATURE);
		char want[32];
		snprintf(want, sizeof want, "chunk %d ", k);
		CHECK(has(d.err, want));
		dec_close(&d);
		buf_release(&bad);
		p = s + 1;
	}
	/* the wrong secret fails at chunk 1 */
	struct sigv4_auth other;
	make_auth(&other, "other secret", a.amz_date, a.signature, CHUNKED_SIGNED_PAYLOAD);
	struct dec d;
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &other, NULL, -1, good.data, good.len), TN_EAUTH);
	CHECK(has(d.err, "chunk 1 "));
	/* the failure is sticky: same code, same message */
	char first[TN_ERRLEN], again[TN_ERRLEN];
	memcpy(first, d.err, sizeof first);
	CHECK_INT(chunked_feed(d.c, "0", 1, again), TN_EAUTH);
	CHECK_STR(again, first);
	CHECK_INT(chunked_finish(d.c, again), TN_EAUTH);
	CHECK_STR(again, first);
	dec_close(&d);
	/* chunks replayed from another request (another seed) fail at chunk 1 */
	make_auth(&other, "secret", a.amz_date,
		  "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD);
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &other, NULL, -1, good.data, good.len), TN_EAUTH);
	CHECK(has(d.err, "chunk 1 "));
	dec_close(&d);
	/* a missing signature or an uppercase one is malformed */
	static const char nosig[] = "5\r\nhello\r\n";
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &a, NULL, -1, nosig, strlen(nosig)), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	dec_close(&d);
	buf_release(&good);
}

TEST(truncated_body_is_incomplete)
{
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD_TRAILER);
	char b64[CHECKSUM_B64_LEN], line[80];
	b64_crc32(small_data, strlen(small_data), b64);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s", b64);
	struct buf bodies[3] = { BUF_INIT(0), BUF_INIT(0), BUF_INIT(0) };
	struct sigv4_auth s;
	make_auth(&s, "secret", a.amz_date, a.signature, CHUNKED_SIGNED_PAYLOAD);
	build_signed(&s, small_data, small_sizes, 3, false, NULL, false, &bodies[0]);
	build_signed(&a, small_data, small_sizes, 3, true, line, false, &bodies[1]);
	build_unsigned(small_data, small_sizes, 3, line, &bodies[2]);
	static const enum chunked_mode modes[3] = { CHUNKED_SIGNED, CHUNKED_SIGNED_TRAILER,
						    CHUNKED_UNSIGNED_TRAILER };
	const struct sigv4_auth *auths[3] = { &s, &a, NULL };
	const char *trailers[3] = { NULL, "x-amz-checksum-crc32", "x-amz-checksum-crc32" };
	for (int m = 0; m < 3; m++) {
		const struct buf *b = &bodies[m];
		for (size_t n = 0; n <= b->len; n++) {
			struct dec d;
			dec_open(&d, modes[m], auths[m], trailers[m], -1);
			CHECK_INT(chunked_feed(d.c, b->data, n, d.err), 0);
			int rc = chunked_finish(d.c, d.err);
			/* complete, or complete but for the closing empty line (tolerated) */
			if (n == b->len || n == b->len - 2) {
				if (rc)
					fprintf(stderr, "mode %d, %zu of %zu: %s\n", m, n, b->len,
						d.err);
				CHECK_INT(rc, 0);
			} else {
				if (rc != TN_EINVAL)
					fprintf(stderr, "mode %d, %zu of %zu bytes: rc %d\n", m, n,
						b->len, rc);
				CHECK_INT(rc, TN_EINVAL);
				CHECK_INT(chunked_why(d.c), CHUNKED_INCOMPLETE);
				CHECK(has(d.err, "incomplete body"));
			}
			dec_close(&d);
		}
		buf_release(&bodies[m]);
	}
}

static void expect_malformed(enum chunked_mode mode, const char *trailer, const char *body,
			     size_t n, const char *needle)
{
	struct dec d;
	int rc = decode_all(&d, mode, NULL, trailer, -1, body, n);
	if (rc != TN_EINVAL || chunked_why(d.c) != CHUNKED_MALFORMED)
		fprintf(stderr, "body '%.*s': rc %d why %d: %s\n", (int)n, body, rc,
			(int)chunked_why(d.c), d.err);
	CHECK_INT(rc, TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	CHECK(has(d.err, needle));
	dec_close(&d);
}

#define U CHUNKED_UNSIGNED_TRAILER

TEST(size_line_limits)
{
	/* longer than CHUNKED_MAX_LINE, with and without a line end in sight */
	struct buf b = BUF_INIT(0);
	CHECK_INT(buf_puts(&b, "5;ext="), 0);
	for (int i = 0; i < CHUNKED_MAX_LINE; i++)
		CHECK_INT(buf_putc(&b, 'x'), 0);
	CHECK_INT(buf_puts(&b, "\r\nhello\r\n0\r\n\r\n"), 0);
	expect_malformed(U, NULL, b.data, b.len, "longer than 256 bytes");
	struct dec d;
	dec_open(&d, U, NULL, NULL, -1);
	int rc = 0;
	size_t fed = 0;
	for (; fed < 100000 && rc == 0; fed++)
		rc = chunked_feed(d.c, "f", 1, d.err);
	CHECK_INT(rc, TN_EINVAL);
	CHECK(fed <= CHUNKED_MAX_LINE + 1);
	dec_close(&d);
	/* a line of exactly the cap (with its \r\n) is fine */
	buf_reset(&b);
	CHECK_INT(buf_puts(&b, "5;"), 0);
	while (b.len < CHUNKED_MAX_LINE - 2)
		CHECK_INT(buf_putc(&b, 'x'), 0);
	CHECK_INT(buf_puts(&b, "\r\nhello\r\n0\r\n\r\n"), 0);
	CHECK_INT(decode_all(&d, U, NULL, NULL, -1, b.data, b.len), 0);
	dec_close(&d);
	buf_release(&b);

	/* hex sizes that overflow, or are no hex at all */
	static const char *bad[] = {
		"10000000000000000\r\n",  /* 17 digits */
		"8000000000000000\r\n",   /* > INT64_MAX */
		"ffffffffffffffff\r\n",
		"00000000000000000\r\n",  /* 17 digits, even if zero */
		"zz\r\n",
		"\r\n",
		"-1\r\n",
		" 5\r\nhello\r\n",
		"5 \r\nhello\r\n",
		"0x5\r\nhello\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_malformed(U, NULL, bad[i], strlen(bad[i]), "chunk 1");
	/* the largest 16-digit size is accepted (and then runs short) */
	static const char big[] = "7fffffffffffffff\r\nabc";
	CHECK_INT(decode_all(&d, U, NULL, NULL, -1, big, strlen(big)), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_INCOMPLETE);
	CHECK(has(d.err, "after 3 of its 9223372036854775807 bytes"));
	dec_close(&d);
	/* uppercase hex sizes are hex */
	static const char upper[] = "A\r\n0123456789\r\n0\r\n\r\n";
	CHECK_INT(decode_all(&d, U, NULL, NULL, 10, upper, strlen(upper)), 0);
	dec_close(&d);
}

TEST(framing_errors)
{
	static const char bare_lf[] = "5\nhello\r\n0\r\n\r\n";
	expect_malformed(U, NULL, bare_lf, strlen(bare_lf), "bare \\n");
	static const char no_crlf[] = "5\r\nhelloX\r\n0\r\n\r\n";
	expect_malformed(U, NULL, no_crlf, strlen(no_crlf), "not followed by \\r\\n");
	static const char short_chunk[] = "6\r\nhello\r\n0\r\n\r\n";
	expect_malformed(U, NULL, short_chunk, strlen(short_chunk), "chunk 1");
	static const char garbage[] = "5\r\nhello\r\n0\r\n\r\nxyz";
	expect_malformed(U, NULL, garbage, strlen(garbage), "3 bytes after the end");
	/* garbage after the end arriving in a later feed */
	struct dec d;
	dec_open(&d, U, NULL, NULL, -1);
	CHECK_INT(chunked_feed(d.c, garbage, strlen(garbage) - 3, d.err), 0);
	CHECK_INT(chunked_feed(d.c, "\r\n", 2, d.err), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	dec_close(&d);
	/* signed mode: junk instead of the empty line after the final chunk */
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD);
	struct buf b = BUF_INIT(0);
	build_signed(&a, small_data, small_sizes, 3, false, NULL, false, &b);
	buf_truncate(&b, b.len - 2);
	CHECK_INT(buf_puts(&b, "x-amz-checksum-crc32:AAAAAA==\r\n\r\n"), 0);
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED, &a, NULL, -1, b.data, b.len), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	CHECK(has(d.err, "expected an empty line"));
	dec_close(&d);
	buf_release(&b);
}

TEST(trailer_errors)
{
	char b64[CHECKSUM_B64_LEN], line[96];
	size_t n = strlen(small_data);
	struct buf b = BUF_INIT(0);
	struct dec d;

	/* wrong checksum: BadDigest, naming the header and both values */
	build_unsigned(small_data, small_sizes, 3, "x-amz-checksum-crc32:AAAAAA==", &b);
	CHECK_INT(decode_all(&d, U, NULL, "x-amz-checksum-crc32", (int64_t)n, b.data, b.len),
		  TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_BAD_DIGEST);
	CHECK(has(d.err, "x-amz-checksum-crc32"));
	CHECK(has(d.err, "AAAAAA=="));
	CHECK(!chunked_trailer_checksum(d.c, NULL, NULL));
	dec_close(&d);

	/* the right value for another algorithm than announced */
	b64_crc32(small_data, n, b64);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s", b64);
	buf_reset(&b);
	build_unsigned(small_data, small_sizes, 3, line, &b);
	CHECK_INT(decode_all(&d, U, NULL, "x-amz-checksum-crc32c", (int64_t)n, b.data, b.len),
		  TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	CHECK(has(d.err, "not announced"));
	dec_close(&d);

	/* a trailer without x-amz-trailer */
	CHECK_INT(decode_all(&d, U, NULL, NULL, (int64_t)n, b.data, b.len), TN_EINVAL);
	CHECK(has(d.err, "not announced"));
	dec_close(&d);

	/* announced but missing */
	buf_reset(&b);
	build_unsigned(small_data, small_sizes, 3, NULL, &b);
	CHECK_INT(decode_all(&d, U, NULL, "x-amz-checksum-crc32", (int64_t)n, b.data, b.len),
		  TN_EINVAL);
	CHECK(has(d.err, "incomplete body"));
	dec_close(&d);
	buf_puts(&b, "\r\n"); /* an extra empty line ends the trailers: missing */
	CHECK_INT(decode_all(&d, U, NULL, "x-amz-checksum-crc32", (int64_t)n, b.data, b.len),
		  TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	CHECK(has(d.err, "is missing"));
	dec_close(&d);

	/* twice; not base64; no colon */
	buf_reset(&b);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s\r\nx-amz-checksum-crc32:%s", b64,
		 b64);
	build_unsigned(small_data, small_sizes, 3, line, &b);
	expect_malformed(U, "x-amz-checksum-crc32", b.data, b.len, "twice");
	buf_reset(&b);
	build_unsigned(small_data, small_sizes, 3, "x-amz-checksum-crc32:!!!!", &b);
	expect_malformed(U, "x-amz-checksum-crc32", b.data, b.len, "not the base64");
	buf_reset(&b);
	build_unsigned(small_data, small_sizes, 3, "x-amz-checksum-crc32", &b);
	expect_malformed(U, "x-amz-checksum-crc32", b.data, b.len, "name:value");

	/* whitespace around the value and an uppercase name are fine */
	buf_reset(&b);
	snprintf(line, sizeof line, "X-Amz-Checksum-CRC32: %s ", b64);
	build_unsigned(small_data, small_sizes, 3, line, &b);
	CHECK_INT(decode_all(&d, U, NULL, "X-Amz-Checksum-Crc32", (int64_t)n, b.data, b.len), 0);
	dec_close(&d);

	/* crc64nvme trailer */
	uint64_t v = crc64_nvme(0, small_data, n);
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	struct buf e = BUF_INIT(0);
	CHECK_INT(base64_encode(be, 8, &e), 0);
	snprintf(line, sizeof line, "x-amz-checksum-crc64nvme:%s", e.data);
	buf_reset(&b);
	build_unsigned(small_data, small_sizes, 3, line, &b);
	CHECK_INT(decode_all(&d, U, NULL, "x-amz-checksum-crc64nvme", (int64_t)n, b.data, b.len),
		  0);
	char got[CHECKSUM_B64_LEN];
	enum checksum_algo algo;
	CHECK(chunked_trailer_checksum(d.c, &algo, got));
	CHECK_INT(algo, CHECKSUM_CRC64NVME);
	CHECK_STR(got, e.data);
	dec_close(&d);
	buf_release(&e);

	/* signed trailer: missing signature; signature over other trailers */
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_SIGNED_PAYLOAD_TRAILER);
	snprintf(line, sizeof line, "x-amz-checksum-crc32:%s", b64);
	buf_reset(&b);
	build_signed(&a, small_data, small_sizes, 3, true, line, false, &b);
	char *sig = strstr(b.data, "x-amz-trailer-signature:");
	CHECK(sig != NULL);
	buf_truncate(&b, (size_t)(sig - b.data));
	CHECK_INT(buf_puts(&b, "\r\n"), 0);
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED_TRAILER, &a, "x-amz-checksum-crc32", (int64_t)n,
			     b.data, b.len),
		  TN_EINVAL);
	CHECK(has(d.err, "x-amz-trailer-signature is missing"));
	dec_close(&d);
	/* the same data, trailer signature present but the checksum is wrong and re-signed:
	 * the signature passes, the checksum does not */
	buf_reset(&b);
	build_signed(&a, small_data, small_sizes, 3, true, "x-amz-checksum-crc32:AAAAAA==", false,
		     &b);
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED_TRAILER, &a, "x-amz-checksum-crc32", (int64_t)n,
			     b.data, b.len),
		  TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_BAD_DIGEST);
	dec_close(&d);
	/* signed trailer mode without x-amz-trailer: only the signature line */
	buf_reset(&b);
	build_signed(&a, small_data, small_sizes, 3, true, NULL, false, &b);
	CHECK_INT(decode_all(&d, CHUNKED_SIGNED_TRAILER, &a, NULL, (int64_t)n, b.data, b.len), 0);
	dec_close(&d);
	buf_release(&b);
}

TEST(decoded_length_mismatch)
{
	struct buf b = BUF_INIT(0);
	build_unsigned(small_data, small_sizes, 3, NULL, &b);
	size_t n = strlen(small_data);
	struct dec d;
	/* the body is shorter than announced: incomplete */
	CHECK_INT(decode_all(&d, U, NULL, NULL, (int64_t)n + 1, b.data, b.len), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_INCOMPLETE);
	CHECK(has(d.err, "x-amz-decoded-content-length"));
	dec_close(&d);
	/* longer: refused at the chunk that passes it, before its data reaches the sink */
	CHECK_INT(decode_all(&d, U, NULL, NULL, 7, b.data, b.len), TN_EINVAL);
	CHECK_INT(chunked_why(d.c), CHUNKED_MALFORMED);
	CHECK(has(d.err, "chunk 2 "));
	CHECK(has(d.err, "x-amz-decoded-content-length 7"));
	CHECK_INT(d.sink.out.len, 5);
	dec_close(&d);
	CHECK_INT(decode_all(&d, U, NULL, NULL, 0, b.data, b.len), TN_EINVAL);
	CHECK_INT(d.sink.out.len, 0);
	dec_close(&d);
	/* exact, and not given */
	CHECK_INT(decode_all(&d, U, NULL, NULL, (int64_t)n, b.data, b.len), 0);
	dec_close(&d);
	CHECK_INT(decode_all(&d, U, NULL, NULL, -1, b.data, b.len), 0);
	dec_close(&d);
	buf_release(&b);
}

TEST(streams_without_buffering)
{
	/* a 64 MiB chunk: its data reaches the sink as it is fed */
	struct dec d;
	dec_open(&d, U, NULL, NULL, -1);
	CHECK_INT(chunked_feed(d.c, "4000000\r\n", 9, d.err), 0);
	static char block[4096];
	memset(block, 'z', sizeof block);
	CHECK_INT(chunked_feed(d.c, block, 1000, d.err), 0);
	CHECK_INT(d.sink.out.len, 1000);
	CHECK_INT(chunked_feed(d.c, block, 1, d.err), 0);
	CHECK_INT(d.sink.out.len, 1001);
	CHECK_INT(d.sink.calls, 2);
	CHECK_INT(chunked_decoded(d.c), 1001);
	CHECK_INT(chunked_finish(d.c, d.err), TN_EINVAL);
	CHECK(has(d.err, "chunk 1, after 1001 of its 67108864 bytes"));
	dec_close(&d);
}

static int refuse_sink(void *arg, const void *p, size_t n, char *err)
{
	size_t *seen = arg;
	*seen += n;
	return *seen > 6 ? tn_fail(err, TN_ENOSPC, "disk full after %zu bytes", *seen) : 0;
}

TEST(sink_error_stops_decoding)
{
	struct buf b = BUF_INIT(0);
	build_unsigned(small_data, small_sizes, 3, NULL, &b);
	size_t seen = 0;
	struct chunked *c = NULL;
	char err[TN_ERRLEN];
	struct chunked_params p = { U, NULL, NULL, -1, refuse_sink, &seen };
	CHECK_INT(chunked_new(&p, &c, err), 0);
	CHECK_INT(chunked_feed(c, b.data, b.len, err), TN_ENOSPC);
	CHECK_INT(chunked_why(c), CHUNKED_SINK);
	CHECK_STR(err, "disk full after 10 bytes");
	CHECK_INT(chunked_finish(c, err), TN_ENOSPC);
	CHECK_INT(seen, 10);
	chunked_free(c);
	/* no sink: decode and verify only */
	p.sink = NULL;
	CHECK_INT(chunked_new(&p, &c, err), 0);
	CHECK_INT(chunked_feed(c, b.data, b.len, err), 0);
	CHECK_INT(chunked_finish(c, err), 0);
	CHECK_INT(chunked_decoded(c), strlen(small_data));
	chunked_free(c);
	buf_release(&b);
}

TEST(mode_and_parameters)
{
	enum chunked_mode m;
	char err[TN_ERRLEN];
	CHECK_INT(chunked_mode_parse(CHUNKED_SIGNED_PAYLOAD, &m, err), 0);
	CHECK_INT(m, CHUNKED_SIGNED);
	CHECK_INT(chunked_mode_parse(CHUNKED_SIGNED_PAYLOAD_TRAILER, &m, err), 0);
	CHECK_INT(m, CHUNKED_SIGNED_TRAILER);
	CHECK_INT(chunked_mode_parse(CHUNKED_UNSIGNED_PAYLOAD_TRAILER, &m, err), 0);
	CHECK_INT(m, CHUNKED_UNSIGNED_TRAILER);
	CHECK_INT(chunked_mode_parse("UNSIGNED-PAYLOAD", &m, err), TN_ENOTFOUND);
	CHECK_INT(chunked_mode_parse(NULL, &m, err), TN_ENOTFOUND);
	CHECK_INT(chunked_mode_parse("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				     &m, err),
		  TN_ENOTFOUND);
	CHECK_INT(chunked_mode_parse("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", &m, err),
		  TN_EUNSUPPORTED);
	CHECK(has(err, "SigV4a"));

	struct chunked *c = NULL;
	struct chunked_params p = { CHUNKED_SIGNED, NULL, NULL, -1, NULL, NULL };
	CHECK_INT(chunked_new(&p, &c, err), TN_EINVAL); /* signed without credentials */
	CHECK(c == NULL);
	struct sigv4_auth a;
	make_auth(&a, "secret", "20260102T030405Z",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  CHUNKED_UNSIGNED_PAYLOAD_TRAILER);
	p.auth = &a;
	CHECK_INT(chunked_new(&p, &c, err), TN_EINVAL); /* the seed signed another payload */
	CHECK(has(err, CHUNKED_UNSIGNED_PAYLOAD_TRAILER));
	snprintf(a.payload_hash, sizeof a.payload_hash, "%s", CHUNKED_SIGNED_PAYLOAD);
	a.has_signing_key = false;
	CHECK_INT(chunked_new(&p, &c, err), TN_EINVAL); /* no signing key */
	a.has_signing_key = true;
	CHECK_INT(chunked_new(&p, &c, err), 0);
	chunked_free(c);
	p.trailer = "x-amz-checksum-crc32"; /* trailers need a trailer mode */
	CHECK_INT(chunked_new(&p, &c, err), TN_EINVAL);
	p.mode = U;
	p.auth = NULL;
	p.trailer = "x-amz-checksum-crc32,x-amz-checksum-sha256";
	CHECK_INT(chunked_new(&p, &c, err), TN_EUNSUPPORTED);
	p.trailer = "x-amz-meta-color";
	CHECK_INT(chunked_new(&p, &c, err), TN_EINVAL);
	p.trailer = "x-amz-checksum-xxhash3";
	CHECK_INT(chunked_new(&p, &c, err), TN_EUNSUPPORTED);
	p.trailer = " x-amz-checksum-sha256 ";
	CHECK_INT(chunked_new(&p, &c, err), 0);
	chunked_free(c);
	chunked_free(NULL);
	checksum_free(NULL);
}

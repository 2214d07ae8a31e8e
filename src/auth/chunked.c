/*
 * chunked.c - the aws-chunked body decoder and S3 body checksums.
 *
 * Purpose: let the S3 edge accept uploads from every AWS SDK exactly as
 * S3 does: signed chunked bodies (each chunk's signature chained to the
 * previous one, starting from the request's seed signature), unsigned
 * chunked bodies with a checksum trailer (what boto3 >= 1.36 sends by
 * default), and plain bodies with x-amz-checksum-* or Content-MD5.
 *
 * Design: the decoder is a push state machine (curl's http_chunks.c
 * shape).  Bytes arrive in slices of any size; the states that read a
 * line (chunk-size line, trailer lines, the empty line after the final
 * chunk) collect it into one fixed array of CHUNKED_MAX_LINE bytes; the
 * data state hands bytes straight from the caller's slice to the sink,
 * the chunk's SHA-256 and the trailer checksum, so memory stays constant
 * whatever the chunk size.  A chunk's signature is checked the moment its
 * last data byte has been seen, before its closing "\r\n".
 *
 * Invariants:
 *   - no allocation grows with the input: one line buffer, one SHA-256
 *     context, one checksum context;
 *   - the first failure is final: its code, reason and message are kept
 *     and every later feed/finish returns them;
 *   - signatures and checksums are compared in constant time, on raw
 *     bytes;
 *   - the decoded length never passes x-amz-decoded-content-length: a
 *     chunk that would pass it is refused at its size line, before any of
 *     its data reaches the sink;
 *   - the copy of the signing key is wiped when the decoder is freed.
 */
#include "auth/chunked.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * core/crypto.h offers MD5 and SHA-256 digests only; x-amz-checksum-sha1
 * needs SHA-1, taken from OpenSSL's EVP here until crypto.h grows a
 * CRYPTO_SHA1 (a change for its owner).  Nothing else of OpenSSL is used.
 */
#include <openssl/evp.h>

#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/crc32.h"
#include "core/crc32c.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CHECKSUM_PREFIX "x-amz-checksum-"
#define TRAILER_SIGNATURE "x-amz-trailer-signature"

/* ---- checksums --------------------------------------------------------- */

static const struct {
	const char *header;
	size_t len;
} algos[] = {
	[CHECKSUM_CRC32] = { "x-amz-checksum-crc32", 4 },
	[CHECKSUM_CRC32C] = { "x-amz-checksum-crc32c", 4 },
	[CHECKSUM_CRC64NVME] = { "x-amz-checksum-crc64nvme", 8 },
	[CHECKSUM_SHA1] = { "x-amz-checksum-sha1", 20 },
	[CHECKSUM_SHA256] = { "x-amz-checksum-sha256", 32 },
	[CHECKSUM_MD5] = { "content-md5", 16 },
};
#define NALGOS (sizeof algos / sizeof algos[0])

struct checksum {
	enum checksum_algo algo;
	uint32_t crc32;
	uint64_t crc64;
	struct crypto_digest *digest;  /* MD5, SHA-256 */
	EVP_MD_CTX *sha1;
	bool has_expected, finished;
	uint8_t expected[CHECKSUM_MAX_LEN];
};

int checksum_algo_parse(const char *name, enum checksum_algo *out, char *err)
{
	if (!name)
		name = "";
	for (size_t i = 0; i < NALGOS; i++)
		if (strcasecmp(name, algos[i].header) == 0) {
			*out = (enum checksum_algo)i;
			return 0;
		}
	if (strncasecmp(name, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX)) == 0)
		return tn_fail(err, TN_EUNSUPPORTED,
			       "checksum '%.64s' is not supported: use crc32, crc32c, crc64nvme, "
			       "sha1 or sha256",
			       name);
	return tn_fail(err, TN_EINVAL, "'%.64s' is not a checksum header", name);
}

const char *checksum_algo_header(enum checksum_algo a)
{
	return (size_t)a < NALGOS ? algos[a].header : "?";
}

size_t checksum_algo_len(enum checksum_algo a)
{
	return (size_t)a < NALGOS ? algos[a].len : 0;
}

int checksum_expect(struct checksum *c, const char *b64, size_t n, char *err)
{
	size_t want = algos[c->algo].len;
	struct buf raw = BUF_INIT(64);
	/* At most the padded length (44 for SHA-256): padding may be left out. */
	int rc = n <= (want + 2) / 3 * 4 ? base64_decode(b64, n, &raw) : TN_EINVAL;
	if (rc == 0 && raw.len != want)
		rc = TN_EINVAL;
	if (rc == 0) {
		memcpy(c->expected, raw.data, want);
		c->has_expected = true;
	}
	buf_release(&raw);
	if (rc)
		return tn_fail(err, TN_EINVAL, "%s '%.*s': not the base64 of a %zu-byte %s",
			       algos[c->algo].header, (int)(n > 64 ? 64 : n), b64, want,
			       c->algo == CHECKSUM_MD5 ? "md5" : "checksum");
	return 0;
}

int checksum_new(enum checksum_algo a, const char *expected_b64, struct checksum **out,
		 char *err)
{
	*out = NULL;
	if ((size_t)a >= NALGOS)
		return tn_fail(err, TN_EINVAL, "unknown checksum algorithm %d", (int)a);
	struct checksum *c = xcalloc(1, sizeof *c);
	c->algo = a;
	if (expected_b64) {
		int rc = checksum_expect(c, expected_b64, strlen(expected_b64), err);
		if (rc) {
			free(c);
			return rc;
		}
	}
	if (a == CHECKSUM_MD5 || a == CHECKSUM_SHA256) {
		c->digest = crypto_digest_new(a == CHECKSUM_MD5 ? CRYPTO_MD5 : CRYPTO_SHA256);
	} else if (a == CHECKSUM_SHA1) {
		c->sha1 = EVP_MD_CTX_new();
		if (!c->sha1 || !EVP_DigestInit_ex(c->sha1, EVP_sha1(), NULL))
			TN_BUG("sha-1 init failed");
	}
	*out = c;
	return 0;
}

int checksum_new_header(const char *name, const char *value, struct checksum **out, char *err)
{
	enum checksum_algo a;
	*out = NULL;
	int rc = checksum_algo_parse(name, &a, err);
	if (rc)
		return rc;
	return checksum_new(a, value ? value : "", out, err);
}

void checksum_update(struct checksum *c, const void *p, size_t n)
{
	if (c->finished)
		TN_BUG("checksum_update after checksum_finish");
	if (n == 0)
		return;
	switch (c->algo) {
	case CHECKSUM_CRC32:
		c->crc32 = crc32_ieee(c->crc32, p, n);
		break;
	case CHECKSUM_CRC32C:
		c->crc32 = crc32c(c->crc32, p, n);
		break;
	case CHECKSUM_CRC64NVME:
		c->crc64 = crc64_nvme(c->crc64, p, n);
		break;
	case CHECKSUM_SHA1:
		if (!EVP_DigestUpdate(c->sha1, p, n))
			TN_BUG("sha-1 update failed");
		break;
	case CHECKSUM_SHA256:
	case CHECKSUM_MD5:
		crypto_digest_update(c->digest, p, n);
		break;
	}
}

/* The raw checksum (big-endian for the CRCs) into out; returns its length. */
static size_t checksum_raw(struct checksum *c, uint8_t out[CHECKSUM_MAX_LEN])
{
	unsigned int len = 0;
	switch (c->algo) {
	case CHECKSUM_CRC32:
	case CHECKSUM_CRC32C:
		for (int i = 0; i < 4; i++)
			out[i] = (uint8_t)(c->crc32 >> (24 - 8 * i));
		break;
	case CHECKSUM_CRC64NVME:
		for (int i = 0; i < 8; i++)
			out[i] = (uint8_t)(c->crc64 >> (56 - 8 * i));
		break;
	case CHECKSUM_SHA1:
		if (!EVP_DigestFinal_ex(c->sha1, out, &len))
			TN_BUG("sha-1 final failed");
		break;
	case CHECKSUM_SHA256:
	case CHECKSUM_MD5:
		crypto_digest_final(c->digest, out);
		c->digest = NULL;
		break;
	}
	return algos[c->algo].len;
}

static void b64_into(const uint8_t *p, size_t n, char out[CHECKSUM_B64_LEN])
{
	struct buf b = BUF_INIT(CHECKSUM_B64_LEN - 1);
	if (base64_encode(p, n, &b))
		TN_BUG("base64 of a checksum does not fit");
	memcpy(out, b.data, b.len + 1);
	buf_release(&b);
}

int checksum_finish(struct checksum *c, char b64[CHECKSUM_B64_LEN], char *err)
{
	uint8_t raw[CHECKSUM_MAX_LEN];
	char got[CHECKSUM_B64_LEN], want[CHECKSUM_B64_LEN];
	if (c->finished)
		TN_BUG("checksum_finish called twice");
	size_t n = checksum_raw(c, raw);
	c->finished = true;
	b64_into(raw, n, got);
	if (b64)
		memcpy(b64, got, sizeof got);
	if (!c->has_expected || crypto_equal(raw, n, c->expected, n))
		return 0;
	b64_into(c->expected, n, want);
	return tn_fail(err, TN_EINVAL,
		       "%s: the body's value is '%s' but the client sent '%s': the body was "
		       "altered or truncated in transit",
		       algos[c->algo].header, got, want);
}

void checksum_free(struct checksum *c)
{
	if (!c)
		return;
	crypto_digest_free(c->digest);
	EVP_MD_CTX_free(c->sha1);
	free(c);
}

/* ---- signatures -------------------------------------------------------- */

/*
 * HMAC(key, kind "\n" amz_date "\n" scope "\n" prev "\n" tail): the string
 * to sign of a chunk (tail = empty hash "\n" data hash) or of a trailer
 * (tail = hash of the canonical trailers).
 */
static void sign_string(const uint8_t key[32], const char *kind, const char *amz_date,
			const char *scope, const char *prev, const char *tail, uint8_t mac[32])
{
	char s[640];
	int n = snprintf(s, sizeof s, "%s\n%s\n%s\n%s\n%s", kind, amz_date, scope, prev, tail);
	if (n < 0 || (size_t)n >= sizeof s)
		TN_BUG("chunk string to sign too long");
	crypto_hmac_sha256(key, 32, s, (size_t)n, mac);
}

static void chunk_mac(const uint8_t key[32], const char *amz_date, const char *scope,
		      const char *prev, const uint8_t data_sha[32], uint8_t mac[32])
{
	char tail[2 * 64 + 2];
	memcpy(tail, EMPTY_SHA256 "\n", 65);
	hex_encode(data_sha, 32, tail + 65);
	sign_string(key, "AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, tail, mac);
}

static void trailer_mac(const uint8_t key[32], const char *amz_date, const char *scope,
			const char *prev, const char *canonical, size_t n, uint8_t mac[32])
{
	uint8_t d[32];
	char tail[65];
	crypto_sha256(canonical, n, d);
	hex_encode(d, sizeof d, tail);
	sign_string(key, "AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, tail, mac);
}

void chunked_chunk_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			     const char *prev_sig, const void *data, size_t n, char out[65])
{
	uint8_t d[32], mac[32];
	crypto_sha256(n ? data : "", n, d);
	chunk_mac(key, amz_date, scope, prev_sig, d, mac);
	hex_encode(mac, sizeof mac, out);
}

void chunked_trailer_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			       const char *prev_sig, const char *canonical, size_t n,
			       char out[65])
{
	uint8_t mac[32];
	trailer_mac(key, amz_date, scope, prev_sig, canonical ? canonical : "", n, mac);
	hex_encode(mac, sizeof mac, out);
}

/* ---- the decoder ------------------------------------------------------- */

enum state {
	ST_SIZE,      /* reading a chunk-size line */
	ST_DATA,      /* passing chunk data through */
	ST_DATA_CR,   /* the "\r" after chunk data */
	ST_DATA_LF,   /* the "\n" after chunk data */
	ST_END_LINE,  /* signed, no trailers: the empty line after the final chunk */
	ST_TRAILER,   /* reading trailer lines up to an empty one */
	ST_DONE,      /* complete and verified */
	ST_FAILED,
};

/* "DATE/REGION/SERVICE/aws4_request" with the sizes of struct sigv4_auth. */
#define SCOPE_MAX (8 + 2 * SIGV4_MAX_SCOPE_PART + 16)

struct chunked {
	enum chunked_mode mode;
	bool is_signed;
	enum state st;
	char line[CHUNKED_MAX_LINE + 1];
	size_t line_len;
	uint64_t chunk_no;     /* 1-based number of the chunk being read */
	uint64_t chunk_size, remaining;
	uint64_t decoded;
	int64_t decoded_length;
	chunked_sink_fn sink;
	void *sink_arg;

	/* signed modes */
	uint8_t key[32];
	char amz_date[17];
	char scope[SCOPE_MAX];
	char prev_sig[65];           /* the last verified signature (the seed at first) */
	uint8_t want_sig[32];        /* the current chunk's declared signature */
	struct crypto_digest *sha;   /* the current chunk's data */

	/* trailers */
	bool has_trailer;            /* x-amz-trailer named a checksum */
	char trailer_name[48];       /* lowercase */
	struct checksum *sum;        /* of the decoded payload, for the trailer */
	bool trailer_lines, got_trailer, got_trailer_sig, skipped_blank;
	uint8_t trailer_sig[32];
	char trailer_b64[CHECKSUM_B64_LEN];
	char canonical[CHUNKED_MAX_LINE + 2];
	size_t canonical_len;

	/* the first failure, replayed by every later call */
	enum chunked_fail why;
	int code;
	char msg[TN_ERRLEN];
};

__attribute__((format(printf, 5, 6)))
static int fail(struct chunked *c, enum chunked_fail why, int code, char *err, const char *fmt,
		...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	c->why = why;
	c->code = code;
	c->st = ST_FAILED;
	if (err)
		memcpy(err, c->msg, sizeof c->msg);
	return code;
}

static int replay(const struct chunked *c, char *err)
{
	if (err)
		memcpy(err, c->msg, sizeof c->msg);
	return c->code;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int hexdigit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A printable excerpt of a line for messages (control bytes as '?'). */
static const char *excerpt(const char *s, size_t n, char out[40])
{
	size_t k = n < 32 ? n : 32;
	for (size_t i = 0; i < k; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	memcpy(out + k, n > 32 ? "..." : "", n > 32 ? 4 : 1);
	return out;
}

int chunked_mode_parse(const char *v, enum chunked_mode *out, char *err)
{
	if (!v || strncmp(v, "STREAMING-", 10) != 0)
		return TN_ENOTFOUND;
	if (strcmp(v, CHUNKED_SIGNED_PAYLOAD) == 0)
		*out = CHUNKED_SIGNED;
	else if (strcmp(v, CHUNKED_SIGNED_PAYLOAD_TRAILER) == 0)
		*out = CHUNKED_SIGNED_TRAILER;
	else if (strcmp(v, CHUNKED_UNSIGNED_PAYLOAD_TRAILER) == 0)
		*out = CHUNKED_UNSIGNED_TRAILER;
	else
		return tn_fail(err, TN_EUNSUPPORTED,
			       "x-amz-content-sha256 '%.64s' is not supported: sign with SigV4 "
			       "(not SigV4a), or send an unsigned or trailer payload",
			       v);
	return 0;
}

/* Parses the x-amz-trailer value into c (one x-amz-checksum-* name, or none). */
static int parse_trailer_header(struct chunked *c, const char *v, char *err)
{
	struct str s = str_trim(str_cstr(v ? v : ""));
	if (s.n == 0)
		return 0;
	if (c->mode == CHUNKED_SIGNED)
		return tn_fail(err, TN_EINVAL,
			       "x-amz-trailer '%.*s' needs x-amz-content-sha256 "
			       CHUNKED_SIGNED_PAYLOAD_TRAILER " or " CHUNKED_UNSIGNED_PAYLOAD_TRAILER,
			       (int)(s.n > 64 ? 64 : s.n), s.p);
	if (memchr(s.p, ',', s.n))
		return tn_fail(err, TN_EUNSUPPORTED,
			       "x-amz-trailer '%.*s': only one trailer (one x-amz-checksum-* "
			       "header) is supported",
			       (int)(s.n > 64 ? 64 : s.n), s.p);
	if (s.n >= sizeof c->trailer_name ||
	    strncasecmp(s.p, CHECKSUM_PREFIX, strlen(CHECKSUM_PREFIX)) != 0)
		return tn_fail(err, TN_EINVAL,
			       "x-amz-trailer '%.*s': the trailer must be an x-amz-checksum-* header",
			       (int)(s.n > 64 ? 64 : s.n), s.p);
	for (size_t i = 0; i < s.n; i++)
		c->trailer_name[i] = (char)tolower((unsigned char)s.p[i]);
	c->trailer_name[s.n] = '\0';
	enum checksum_algo a;
	int rc = checksum_algo_parse(c->trailer_name, &a, err);
	if (rc == 0)
		rc = checksum_new(a, NULL, &c->sum, err);
	if (rc == 0)
		c->has_trailer = true;
	return rc;
}

static int take_auth(struct chunked *c, const struct sigv4_auth *auth, char *err)
{
	const char *want = c->mode == CHUNKED_SIGNED ? CHUNKED_SIGNED_PAYLOAD
						     : CHUNKED_SIGNED_PAYLOAD_TRAILER;
	if (!auth || !auth->has_signing_key)
		return tn_fail(err, TN_EINVAL,
			       "a signed aws-chunked body needs the request's verified credentials "
			       "with their signing key");
	if (strcmp(auth->payload_hash, want) != 0)
		return tn_fail(err, TN_EINVAL,
			       "the request signed payload '%.72s', not '%s'", auth->payload_hash,
			       want);
	if (strlen(auth->signature) != 64 || !is_lower_hex(auth->signature, 64) ||
	    strlen(auth->amz_date) != 16)
		return tn_fail(err, TN_EINVAL, "the request's seed signature or date is malformed");
	memcpy(c->key, auth->signing_key, sizeof c->key);
	memcpy(c->amz_date, auth->amz_date, sizeof c->amz_date);
	memcpy(c->prev_sig, auth->signature, sizeof c->prev_sig);
	snprintf(c->scope, sizeof c->scope, "%s/%s/%s/aws4_request", auth->date, auth->region,
		 auth->service);
	return 0;
}

int chunked_new(const struct chunked_params *p, struct chunked **out, char *err)
{
	*out = NULL;
	struct chunked *c = xcalloc(1, sizeof *c);
	c->mode = p->mode;
	c->is_signed = p->mode == CHUNKED_SIGNED || p->mode == CHUNKED_SIGNED_TRAILER;
	c->st = ST_SIZE;
	c->chunk_no = 1;
	c->decoded_length = p->decoded_length < 0 ? -1 : p->decoded_length;
	c->sink = p->sink;
	c->sink_arg = p->sink_arg;
	int rc = 0;
	if (p->mode != CHUNKED_SIGNED && p->mode != CHUNKED_SIGNED_TRAILER &&
	    p->mode != CHUNKED_UNSIGNED_TRAILER)
		rc = tn_fail(err, TN_EINVAL, "unknown aws-chunked mode %d", (int)p->mode);
	if (rc == 0 && c->is_signed)
		rc = take_auth(c, p->auth, err);
	if (rc == 0)
		rc = parse_trailer_header(c, p->trailer, err);
	if (rc) {
		chunked_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void chunked_free(struct chunked *c)
{
	if (!c)
		return;
	crypto_digest_free(c->sha);
	checksum_free(c->sum);
	explicit_bzero(c->key, sizeof c->key);
	free(c);
}

enum chunked_fail chunked_why(const struct chunked *c)
{
	return c->st == ST_FAILED ? c->why : CHUNKED_OK;
}

uint64_t chunked_decoded(const struct chunked *c)
{
	return c->decoded;
}

bool chunked_trailer_checksum(const struct chunked *c, enum checksum_algo *algo,
			      char b64[CHECKSUM_B64_LEN])
{
	if (c->st != ST_DONE || !c->has_trailer || !c->got_trailer)
		return false;
	if (algo)
		*algo = c->sum->algo;
	if (b64)
		memcpy(b64, c->trailer_b64, CHECKSUM_B64_LEN);
	return true;
}

/* Payload bytes: to the chunk hash, the trailer checksum and the sink. */
static int emit(struct chunked *c, const void *p, size_t n, char *err)
{
	if (c->sha)
		crypto_digest_update(c->sha, p, n);
	if (c->sum)
		checksum_update(c->sum, p, n);
	c->decoded += n;
	if (!c->sink)
		return 0;
	char e[TN_ERRLEN];
	e[0] = '\0';
	int rc = c->sink(c->sink_arg, p, n, e);
	if (rc)
		return fail(c, CHUNKED_SINK, rc < 0 ? rc : TN_EINTERNAL, err, "%s",
			    e[0] ? e : "the body's writer failed");
	return 0;
}

/* Checks the current chunk's signature against data_sha and advances the chain. */
static int check_chunk(struct chunked *c, const uint8_t data_sha[32], char *err)
{
	uint8_t mac[32];
	chunk_mac(c->key, c->amz_date, c->scope, c->prev_sig, data_sha, mac);
	if (!crypto_equal(mac, sizeof mac, c->want_sig, sizeof c->want_sig))
		return fail(c, CHUNKED_BAD_SIGNATURE, TN_EAUTH, err,
			    "chunk %llu (%llu bytes at payload offset %llu): chunk-signature does "
			    "not match: check the secret key and the signing of each chunk",
			    (unsigned long long)c->chunk_no, (unsigned long long)c->chunk_size,
			    (unsigned long long)(c->decoded - c->chunk_size));
	hex_encode(mac, sizeof mac, c->prev_sig);
	return 0;
}

/* The last data byte of a chunk has been seen. */
static int data_end(struct chunked *c, char *err)
{
	if (!c->is_signed)
		return 0;
	uint8_t d[32];
	crypto_digest_final(c->sha, d);
	c->sha = NULL;
	return check_chunk(c, d, err);
}

/* Parses "<hex>[;chunk-signature=<64 hex>]" (signed) or "<hex>[;ext]" (unsigned). */
static int size_line(struct chunked *c, const char *s, size_t n, char *err)
{
	char ex[40];
	size_t i = 0;
	uint64_t v = 0;
	while (i < n && hexdigit(s[i]) >= 0) {
		if (i == 16)
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "chunk %llu: size '%s' is too large",
				    (unsigned long long)c->chunk_no, excerpt(s, n, ex));
		v = v << 4 | (uint64_t)hexdigit(s[i]);
		i++;
	}
	if (i == 0 || v > (uint64_t)INT64_MAX)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "chunk %llu: '%s' is not a hex chunk size%s",
			    (unsigned long long)c->chunk_no, excerpt(s, n, ex),
			    i ? " that fits" : "");
	static const char ext[] = ";chunk-signature=";
	size_t elen = sizeof ext - 1;
	if (c->is_signed) {
		if (n - i != elen + 64 || memcmp(s + i, ext, elen) != 0 ||
		    !is_lower_hex(s + i + elen, 64))
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "chunk %llu: header '%s' is not "
				    "'<hex-size>;chunk-signature=<64 lowercase hex>'",
				    (unsigned long long)c->chunk_no, excerpt(s, n, ex));
		hex_decode(s + i + elen, 64, c->want_sig, sizeof c->want_sig, NULL);
	} else if (i < n && s[i] != ';') {
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "chunk %llu: header '%s' is not '<hex-size>'",
			    (unsigned long long)c->chunk_no, excerpt(s, n, ex));
	}
	c->chunk_size = v;
	c->remaining = v;
	if (c->decoded_length >= 0 && v > (uint64_t)c->decoded_length - c->decoded)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "chunk %llu of %llu bytes takes the body past "
			    "x-amz-decoded-content-length %lld",
			    (unsigned long long)c->chunk_no, (unsigned long long)v,
			    (long long)c->decoded_length);
	if (v > 0) {
		if (c->is_signed)
			c->sha = crypto_digest_new(CRYPTO_SHA256);
		c->st = ST_DATA;
		return 0;
	}
	/* The final, empty chunk. */
	if (c->is_signed) {
		uint8_t d[32];
		crypto_sha256("", 0, d);
		int rc = check_chunk(c, d, err);
		if (rc)
			return rc;
	}
	if (c->decoded_length >= 0 && c->decoded != (uint64_t)c->decoded_length)
		return fail(c, CHUNKED_INCOMPLETE, TN_EINVAL, err,
			    "incomplete body: it decoded to %llu bytes but "
			    "x-amz-decoded-content-length is %lld",
			    (unsigned long long)c->decoded, (long long)c->decoded_length);
	c->st = c->mode == CHUNKED_SIGNED ? ST_END_LINE : ST_TRAILER;
	return 0;
}

/* Trailer lines still required before the body may end. */
static bool trailers_pending(const struct chunked *c)
{
	return (c->has_trailer && !c->got_trailer) ||
	       (c->mode == CHUNKED_SIGNED_TRAILER && !c->got_trailer_sig);
}

/* The empty line after the trailers (or the body's end): verify them. */
static int trailers_end(struct chunked *c, char *err)
{
	if (c->has_trailer && !c->got_trailer)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "the trailer '%s' that x-amz-trailer announced is missing",
			    c->trailer_name);
	if (c->mode == CHUNKED_SIGNED_TRAILER) {
		uint8_t mac[32];
		if (!c->got_trailer_sig)
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "the trailer " TRAILER_SIGNATURE " is missing");
		trailer_mac(c->key, c->amz_date, c->scope, c->prev_sig, c->canonical,
			    c->canonical_len, mac);
		if (!crypto_equal(mac, sizeof mac, c->trailer_sig, sizeof c->trailer_sig))
			return fail(c, CHUNKED_BAD_SIGNATURE, TN_EAUTH, err,
				    TRAILER_SIGNATURE " does not match the trailers: check the "
				    "secret key and the trailer signing");
	}
	if (c->has_trailer) {
		char e[TN_ERRLEN];
		if (checksum_finish(c->sum, c->trailer_b64, e))
			return fail(c, CHUNKED_BAD_DIGEST, TN_EINVAL, err, "trailer %s", e);
	}
	c->st = ST_DONE;
	return 0;
}

/* One "name:value" trailer line. */
static int trailer_line(struct chunked *c, const char *s, size_t n, char *err)
{
	char ex[40], name[48];
	const char *colon = memchr(s, ':', n);
	c->trailer_lines = true;
	if (!colon)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "trailer line '%s' is not 'name:value'", excerpt(s, n, ex));
	struct str nm = str_trim(str_make(s, (size_t)(colon - s)));
	struct str val = str_trim(str_make(colon + 1, n - (size_t)(colon - s) - 1));
	if (nm.n == 0 || nm.n >= sizeof name)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "trailer line '%s': bad name", excerpt(s, n, ex));
	for (size_t i = 0; i < nm.n; i++)
		name[i] = (char)tolower((unsigned char)nm.p[i]);
	name[nm.n] = '\0';
	if (c->mode == CHUNKED_SIGNED_TRAILER && strcmp(name, TRAILER_SIGNATURE) == 0) {
		if (c->got_trailer_sig)
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "trailer " TRAILER_SIGNATURE " appears twice");
		if (val.n != 64 || !is_lower_hex(val.p, 64))
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "trailer " TRAILER_SIGNATURE " '%s' is not 64 lowercase hex",
				    excerpt(val.p, val.n, ex));
		hex_decode(val.p, 64, c->trailer_sig, sizeof c->trailer_sig, NULL);
		c->got_trailer_sig = true;
		return 0;
	}
	if (!c->has_trailer || strcmp(name, c->trailer_name) != 0)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
			    "trailer '%s' was not announced in x-amz-trailer",
			    excerpt(name, nm.n, ex));
	if (c->got_trailer)
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err, "trailer '%s' appears twice",
			    name);
	char e[TN_ERRLEN];
	if (checksum_expect(c->sum, val.p, val.n, e))
		return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err, "trailer %s", e);
	/* checksum_expect refused values over 44 bytes: the line fits. */
	int k = snprintf(c->canonical, sizeof c->canonical, "%s:%.*s\n", name, (int)val.n,
			 val.p);
	c->canonical_len = (size_t)k;
	c->got_trailer = true;
	return 0;
}

/* A complete line (without its "\r\n") in the current line state. */
static int on_line(struct chunked *c, const char *s, size_t n, char *err)
{
	char ex[40];
	switch (c->st) {
	case ST_SIZE:
		return size_line(c, s, n, err);
	case ST_END_LINE:
		if (n)
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "after the final chunk: expected an empty line, got '%s'",
				    excerpt(s, n, ex));
		c->st = ST_DONE;
		return 0;
	case ST_TRAILER:
		if (n)
			return trailer_line(c, s, n, err);
		/* Some SDKs end the empty chunk with "\r\n" before the trailers. */
		if (!c->trailer_lines && !c->skipped_blank && trailers_pending(c)) {
			c->skipped_blank = true;
			return 0;
		}
		return trailers_end(c, err);
	default:
		TN_BUG("line in state %d", (int)c->st);
	}
}

static const char *line_what(const struct chunked *c)
{
	return c->st == ST_SIZE ? "chunk header" : c->st == ST_TRAILER ? "trailer line" : "line";
}

int chunked_feed(struct chunked *c, const void *p, size_t n, char *err)
{
	const unsigned char *s = p;
	int rc;
	if (c->st == ST_FAILED)
		return replay(c, err);
	while (n > 0) {
		switch (c->st) {
		case ST_DATA: {
			size_t k = (uint64_t)n < c->remaining ? n : (size_t)c->remaining;
			rc = emit(c, s, k, err);
			if (rc)
				return rc;
			s += k;
			n -= k;
			c->remaining -= k;
			if (c->remaining == 0) {
				rc = data_end(c, err);
				if (rc)
					return rc;
				c->st = ST_DATA_CR;
			}
			break;
		}
		case ST_DATA_CR:
		case ST_DATA_LF:
			if (*s != (c->st == ST_DATA_CR ? '\r' : '\n'))
				return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
					    "chunk %llu: its %llu data bytes are not followed by "
					    "\\r\\n: is the chunk size right?",
					    (unsigned long long)c->chunk_no,
					    (unsigned long long)c->chunk_size);
			s++;
			n--;
			if (c->st == ST_DATA_LF) {
				c->chunk_no++;
				c->st = ST_SIZE;
			} else {
				c->st = ST_DATA_LF;
			}
			break;
		case ST_DONE:
			return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
				    "%zu bytes after the end of the aws-chunked body", n);
		case ST_FAILED:
			return replay(c, err);
		default: {
			const unsigned char *nl = memchr(s, '\n', n);
			size_t take = nl ? (size_t)(nl - s) + 1 : n;
			if (take > CHUNKED_MAX_LINE - c->line_len)
				return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
					    "chunk %llu: %s longer than %d bytes",
					    (unsigned long long)c->chunk_no, line_what(c),
					    CHUNKED_MAX_LINE);
			memcpy(c->line + c->line_len, s, take);
			c->line_len += take;
			s += take;
			n -= take;
			if (!nl)
				break;
			size_t len = c->line_len;
			c->line_len = 0;
			if (len < 2 || c->line[len - 2] != '\r')
				return fail(c, CHUNKED_MALFORMED, TN_EINVAL, err,
					    "chunk %llu: %s ends with a bare \\n, not \\r\\n",
					    (unsigned long long)c->chunk_no, line_what(c));
			c->line[len - 2] = '\0';
			rc = on_line(c, c->line, len - 2, err);
			if (rc)
				return rc;
		}
		}
	}
	return 0;
}

int chunked_finish(struct chunked *c, char *err)
{
	switch (c->st) {
	case ST_DONE:
		return 0;
	case ST_FAILED:
		return replay(c, err);
	case ST_END_LINE:
		/* Everything is verified; only the closing empty line is missing. */
		if (c->line_len == 0) {
			c->st = ST_DONE;
			return 0;
		}
		return fail(c, CHUNKED_INCOMPLETE, TN_EINVAL, err,
			    "incomplete body: it ended inside the line after the final chunk");
	case ST_TRAILER:
		if (c->line_len == 0 && !trailers_pending(c))
			return trailers_end(c, err);
		return fail(c, CHUNKED_INCOMPLETE, TN_EINVAL, err,
			    "incomplete body: it ended inside the trailers");
	case ST_DATA:
		return fail(c, CHUNKED_INCOMPLETE, TN_EINVAL, err,
			    "incomplete body: it ended inside chunk %llu, after %llu of its "
			    "%llu bytes",
			    (unsigned long long)c->chunk_no,
			    (unsigned long long)(c->chunk_size - c->remaining),
			    (unsigned long long)c->chunk_size);
	default:
		break;
	}
	return fail(c, CHUNKED_INCOMPLETE, TN_EINVAL, err,
		    "incomplete body: it ended before the final (zero-size) chunk, after %llu "
		    "complete chunks and %llu bytes",
		    (unsigned long long)(c->chunk_no - 1), (unsigned long long)c->decoded);
}

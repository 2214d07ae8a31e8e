/*
 * sigv4.h - AWS Signature Version 4: parse, canonicalize, sign, verify.
 *
 * The request-signing scheme of every AWS SDK, CLI and S3 tool, in both
 * of its forms:
 *   - header form: "Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/
 *     REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex";
 *   - presigned URL: the same fields in the query (X-Amz-Algorithm,
 *     X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 *     X-Amz-Signature), as S3 clients hand out.
 *
 * The canonical request follows AWS's published algorithm and test suite:
 *   - path: for service "s3", the wire path decoded once and encoded once
 *     (RFC 3986, '/' kept), not normalized; for every other service the
 *     wire path with "." / ".." / empty segments removed and then encoded
 *     once more (so "%20" on the wire signs as "%2520", as botocore does);
 *   - query: each name and value decoded and re-encoded (RFC 3986, '+' is
 *     a literal plus), sorted by name then value, X-Amz-Signature left out
 *     in the presigned form;
 *   - headers: the signed ones, names lowercase, values trimmed with inner
 *     whitespace runs collapsed, repeated headers joined with ',';
 *   - payload: the x-amz-content-sha256 header's value when present (a hex
 *     hash, or for s3 UNSIGNED-PAYLOAD / STREAMING-...), UNSIGNED-PAYLOAD
 *     for an s3 presigned URL without it, else hex SHA-256 of the body.
 *
 * This file knows nothing of the metastore: auth.c finds the secret of an
 * access key and calls sigv4_verify().  Everything here is pure and
 * thread-safe; structures belong to the caller's thread.
 */
#ifndef TN_SIGV4_H
#define TN_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

struct buf;

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/*
 * Caps (module-local; they bound fixed-size fields of struct sigv4_auth).
 * Access key ids: AWS allows 16..128 characters.  Region and service
 * names are short words ("us-east-1", "kinesis").  The SignedHeaders list
 * of real SDKs is a few hundred bytes (botocore signs every header it
 * sends); 2 KiB leaves room for long x-amz-meta-* lists.  The canonical
 * request repeats the path, query and signed headers, which the HTTP
 * server bounds by TN_MAX_HEADER_BYTES (16 KiB): 256 KiB is far above any
 * real request.  Presigned URLs live at most 7 days (AWS's limit).
 */
#define SIGV4_MAX_KEY_ID 128
#define SIGV4_MAX_SCOPE_PART 63
#define SIGV4_MAX_SIGNED_HEADERS 2048
#define SIGV4_MAX_CANONICAL (256u << 10)
#define SIGV4_MAX_EXPIRES 604800
#define SIGV4_MAX_SECRET 1024

/* One request header as received: name in any case, value untrimmed. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * A request to sign or verify.  Every pointer is borrowed from the caller
 * and must stay valid for the call.
 */
struct sigv4_request {
	const char *method;  /* "GET", "POST", ... (as sent, uppercase) */
	/*
	 * The path exactly as on the wire, still percent-encoded, without the
	 * query: "/lake/a%20b.json" (the HTTP edge keeps it beside the
	 * decoded path).
	 */
	const char *path;
	/*
	 * The raw query string without '?', or NULL / "" for none.  If the
	 * HTTP library decoded it, rebuild it by percent-encoding each name
	 * and value again: decoding here makes both spellings sign the same.
	 */
	const char *query;
	const struct sigv4_header *headers;  /* every header, repeats kept in order */
	size_t nheaders;
	const void *body;  /* may be NULL when body_len is 0 */
	size_t body_len;
	/*
	 * Optional: lowercase hex SHA-256 of the body, already computed by the
	 * caller (e.g. while streaming it to disk); then body is not hashed.
	 */
	const char *payload_sha256;
	/*
	 * True when the body has not been read yet: the signature is checked
	 * against the hash the client declares in x-amz-content-sha256 (which
	 * is then required), and the caller must check the body later with
	 * sigv4_payload_ok().  body and payload_sha256 are ignored.
	 */
	bool payload_deferred;
};

/* The parsed credentials of one request (fixed size: no allocation). */
struct sigv4_auth {
	bool presigned;                          /* query form rather than header */
	char key_id[SIGV4_MAX_KEY_ID + 1];       /* access key id */
	char date[9];                            /* scope date YYYYMMDD */
	char region[SIGV4_MAX_SCOPE_PART + 1];
	char service[SIGV4_MAX_SCOPE_PART + 1];  /* "s3", "kinesis", "firehose", ... */
	char signed_headers[SIGV4_MAX_SIGNED_HEADERS + 1];  /* "host;x-amz-date", lowercase */
	char signature[65];                      /* 64 lowercase hex */
	/*
	 * Request time "YYYYMMDDTHHMMSSZ": the presigned X-Amz-Date from the
	 * parse; for the header form filled by sigv4_verify() from the
	 * x-amz-date (or Date) header.
	 */
	char amz_date[17];
	int64_t expires_s;                       /* presigned: X-Amz-Expires */
	/* Filled by sigv4_verify(): the payload line signed (hex hash or a keyword). */
	char payload_hash[72];
	int64_t time_ms;                         /* filled by sigv4_verify(): the request time */
	/*
	 * Filled by sigv4_verify() only when the body is signed chunk by chunk
	 * (x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
	 * the derived signing key (sigv4_signing_key() of the scope), which
	 * the chunk verifier of auth/chunked.h needs; all zero otherwise.  It
	 * is a secret for the day, region and service: wipe the struct
	 * (explicit_bzero) when the request is done.
	 */
	bool has_signing_key;
	uint8_t signing_key[32];
};

/*
 * Finds and parses the request's credentials: the Authorization header,
 * else the presigned query parameters.  Returns 0, or TN_EAUTH with *why
 * AUTH_MISSING (neither present) or AUTH_MALFORMED (unparsable, another
 * scheme, or both forms at once) and a message in err.
 */
int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *out, enum auth_fail *why,
		char *err);

/*
 * Parses one Authorization header value.  Tolerates what SDKs send:
 * "Credential=..., SignedHeaders=..., Signature=..." in any order, with
 * or without spaces after the commas.  TN_EINVAL + message if malformed.
 */
int sigv4_parse_authorization(const char *value, struct sigv4_auth *out, char *err);

/*
 * Appends the canonical request of req for auth's signed headers, scope
 * service and form to out (the payload line as documented above).
 * TN_EINVAL + message if a signed header is missing or the payload hash
 * cannot be determined; TN_ETOOBIG past SIGV4_MAX_CANONICAL.
 */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth,
			    struct buf *out, char *err);

/*
 * Appends the string to sign: algorithm, amz_date, scope and the hex
 * SHA-256 of the canonical request, separated by '\n'.
 */
int sigv4_string_to_sign(const struct sigv4_auth *auth, const char *amz_date,
			 const char *canonical, size_t n, struct buf *out);

/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request").  date is the 8-digit scope date.
 */
void sigv4_signing_key(const char *secret, size_t secret_len, const char *date,
		       const char *region, const char *service, uint8_t out[32]);

/*
 * Signs req as a client would and appends the Authorization header value
 * to out.  The request time is its x-amz-date header (required; the
 * caller adds it).  signed_headers is the lowercase ';'-separated list to
 * sign, or NULL for every header of req except authorization (sorted,
 * repeats once).  For tests, tools and the S3 client of a later backend.
 * TN_EINVAL + message on bad input.
 */
int sigv4_sign(const struct sigv4_request *req, const char *key_id, const char *secret,
	       const char *region, const char *service, const char *signed_headers,
	       struct buf *out, char *err);

/*
 * Verifies req against the parsed auth and the access key's secret.
 * Rules: the request time (presigned X-Amz-Date, else the x-amz-date
 * header, else Date) must parse, its day must equal the scope date, and
 * its header must be signed, as must host; header form: |now - time| <=
 * skew_s (AUTH_SKEWED); presigned: now within [time - skew_s, time +
 * expires] (AUTH_SKEWED / AUTH_EXPIRED); the signature must match,
 * compared in constant time (AUTH_BAD_SECRET); a hex x-amz-content-sha256
 * must equal the body's SHA-256 unless the payload is deferred
 * (AUTH_BAD_PAYLOAD).  Structural faults are AUTH_MALFORMED.
 * Returns 0, or TN_EAUTH with *why and a message.  Fills auth->amz_date,
 * auth->time_ms and auth->payload_hash, and for a chunk-signed body
 * auth->signing_key.
 */
int sigv4_verify(const struct sigv4_request *req, struct sigv4_auth *auth, const char *secret,
		 size_t secret_len, int64_t now_ms, int skew_s, enum auth_fail *why, char *err);

/*
 * For a verified request whose payload was deferred: true if the body's
 * SHA-256 (sha256, 32 bytes) is what the client signed, or the client
 * signed no hash (UNSIGNED-PAYLOAD, STREAMING-...: the S3 edge checks
 * chunk signatures itself).  Constant time.
 */
bool sigv4_payload_ok(const struct sigv4_auth *auth, const uint8_t sha256[32]);

#endif

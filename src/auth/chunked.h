/*
 * chunked.h - S3 streaming request bodies: the aws-chunked decoder, and
 * the checksums S3 clients attach to uploads.
 *
 * Two small modules the S3 edge uses on every PUT / UploadPart body:
 *
 * checksum_*  an incremental checker for one body checksum: the
 *     x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} headers (base64
 *     of the big-endian CRC or of the digest) and Content-MD5 (base64 of
 *     the MD5).  Fed the body, it says at the end whether the value the
 *     client sent matches (the edge answers BadDigest when not).
 *
 * chunked_*  an incremental decoder for "Content-Encoding: aws-chunked"
 *     bodies, chosen by the x-amz-content-sha256 value:
 *       STREAMING-AWS4-HMAC-SHA256-PAYLOAD          signed chunks
 *           <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n ...
 *           0;chunk-signature=<64 hex>\r\n\r\n
 *       STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  signed chunks, then
 *           trailer lines and x-amz-trailer-signature:<64 hex>\r\n\r\n
 *       STREAMING-UNSIGNED-PAYLOAD-TRAILER          <hex-size>\r\n<data>\r\n
 *           ... 0\r\n<trailer lines>\r\n (boto3 >= 1.36, recent aws CLI)
 *     A trailer line is "x-amz-checksum-crc32:<base64>\r\n", the header
 *     the request's x-amz-trailer names; it is checked against the
 *     decoded payload.  Chunk i's signature is
 *       HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope "\n"
 *                 prev_sig "\n" hex(sha256("")) "\n" hex(sha256(data_i)))
 *     with prev_sig the previous chunk's signature, the request's seed
 *     signature for the first; the trailer signature is
 *       HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" amz_date "\n" scope "\n"
 *                 final_chunk_sig "\n" hex(sha256(canonical trailers)))
 *     where the canonical trailers are "name:value\n" per trailer line
 *     (lowercase name, trimmed value) without the signature line.
 *
 * The decoder is fed slices of any size, split anywhere (inside a size
 * line, inside "\r\n"), holds at most one line (CHUNKED_MAX_LINE bytes,
 * a fixed array) and streams chunk data straight to a sink without
 * buffering it.  So a chunk's data reaches the sink before its signature
 * (which covers the whole chunk) can be checked: the caller must treat
 * everything it received as unverified until chunked_finish() returns 0
 * (write to a temporary object, publish only then).
 *
 * Tolerances, each harmless because what follows is verified: in the
 * trailer modes an empty line between the final chunk and the trailer
 * lines is skipped (some SDKs end the empty chunk with its own "\r\n"),
 * and the body may end without the last empty line once every expected
 * trailer (or, without trailers, the final chunk) has been read.
 * Not enforced: AWS's 8 KiB minimum for signed chunks other than the last.
 *
 * Threads: a struct chunked or struct checksum is used by one thread at
 * a time; the free functions (checksum_algo_*, chunked_mode_parse, the
 * signature helpers) are pure and thread-safe.
 */
#ifndef TN_CHUNKED_H
#define TN_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sigv4_auth;

/* ---- checksums --------------------------------------------------------- */

enum checksum_algo {
	CHECKSUM_CRC32,     /* x-amz-checksum-crc32: 4 bytes, big-endian */
	CHECKSUM_CRC32C,    /* x-amz-checksum-crc32c: 4 bytes, big-endian */
	CHECKSUM_CRC64NVME, /* x-amz-checksum-crc64nvme: 8 bytes, big-endian */
	CHECKSUM_SHA1,      /* x-amz-checksum-sha1: 20 bytes */
	CHECKSUM_SHA256,    /* x-amz-checksum-sha256: 32 bytes */
	CHECKSUM_MD5,       /* Content-MD5: 16 bytes */
};

/* The longest checksum (SHA-256), and room for its base64 with the NUL. */
#define CHECKSUM_MAX_LEN 32
#define CHECKSUM_B64_LEN 48

/*
 * Maps a header name (any case) to its algorithm: "x-amz-checksum-crc32"
 * -> CHECKSUM_CRC32, ..., "content-md5" -> CHECKSUM_MD5.  Returns 0;
 * TN_EUNSUPPORTED with a message for another x-amz-checksum-* name (the
 * edge answers InvalidRequest / NotImplemented); TN_EINVAL for a name that
 * is no checksum header at all.
 */
int checksum_algo_parse(const char *name, enum checksum_algo *out, char *err);
/* "x-amz-checksum-crc32", ..., "content-md5": lowercase, static. */
const char *checksum_algo_header(enum checksum_algo a);
/* Bytes of the raw checksum: 4, 8, 16, 20 or 32. */
size_t checksum_algo_len(enum checksum_algo a);

struct checksum;

/*
 * A checker for algorithm a.  expected_b64 (may be NULL: compute only, or
 * set later with checksum_expect) is the base64 value the client sent;
 * it must decode to exactly checksum_algo_len(a) bytes, else TN_EINVAL
 * with a message naming the header (the edge answers InvalidDigest for
 * Content-MD5, InvalidRequest for x-amz-checksum-*).  On success *out is
 * the caller's, freed with checksum_free().
 */
int checksum_new(enum checksum_algo a, const char *expected_b64, struct checksum **out,
		 char *err);
/* checksum_algo_parse(name) then checksum_new(algo, value): one request header. */
int checksum_new_header(const char *name, const char *value, struct checksum **out, char *err);
/* Sets (or replaces) the expected value: n bytes of base64.  Errors as checksum_new. */
int checksum_expect(struct checksum *c, const char *b64, size_t n, char *err);
/* Feeds n more bytes of the body. */
void checksum_update(struct checksum *c, const void *p, size_t n);
/*
 * Ends the body: writes the base64 of the computed checksum into b64 (if
 * not NULL; the form S3 echoes in x-amz-checksum-* response headers) and
 * compares it, in constant time, with the expected value if one was set.
 * Returns 0 (match, or nothing expected), or TN_EINVAL with a message
 * naming the header and both values: the body does not match (BadDigest).
 * Call once; afterwards only checksum_free().
 */
int checksum_finish(struct checksum *c, char b64[CHECKSUM_B64_LEN], char *err);
/* Frees c.  Accepts NULL. */
void checksum_free(struct checksum *c);

/* ---- the aws-chunked decoder ------------------------------------------ */

enum chunked_mode {
	CHUNKED_SIGNED,           /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	CHUNKED_SIGNED_TRAILER,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
	CHUNKED_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

#define CHUNKED_SIGNED_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define CHUNKED_SIGNED_PAYLOAD_TRAILER "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define CHUNKED_UNSIGNED_PAYLOAD_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/*
 * One line of the body: a chunk-size line, a trailer line.  The longest
 * real ones are a signed size line (16 hex digits, ";chunk-signature=",
 * 64 hex: 97 bytes) and "x-amz-trailer-signature:" + 64 hex (88 bytes);
 * 256 leaves room for chunk extensions an unsigned client might add while
 * keeping the line buffer a small fixed array in struct chunked.
 */
#define CHUNKED_MAX_LINE 256

/*
 * From the x-amz-content-sha256 value: 0 and *out for the three modes
 * above; TN_ENOTFOUND (no message) when the value is not STREAMING-*
 * (a plain body: no aws-chunked decoding); TN_EUNSUPPORTED with a message
 * for other STREAMING-* values (SigV4a's STREAMING-AWS4-ECDSA-P256-SHA256-
 * PAYLOAD[-TRAILER]): the edge answers NotImplemented.
 */
int chunked_mode_parse(const char *content_sha256, enum chunked_mode *out, char *err);

/*
 * Receives decoded payload bytes in order; p is borrowed for the call.
 * Returns 0, or a TN_E* code with a message in err (TN_ERRLEN bytes),
 * which stops the decoder: chunked_feed returns that code and message.
 */
typedef int (*chunked_sink_fn)(void *arg, const void *p, size_t n, char *err);

struct chunked_params {
	enum chunked_mode mode;
	/*
	 * Signed modes: the request's verified credentials (sigv4_verify() /
	 * auth_sigv4_ex() filled amz_date, payload_hash and signing_key; the
	 * seed signature is auth->signature).  Copied by chunked_new; NULL in
	 * the unsigned mode.
	 */
	const struct sigv4_auth *auth;
	/*
	 * The x-amz-trailer header value, or NULL / "" for none.  It may name
	 * one trailer, an x-amz-checksum-* header; only the trailer modes
	 * accept one.
	 */
	const char *trailer;
	/* x-amz-decoded-content-length, or -1 when the request has none. */
	int64_t decoded_length;
	chunked_sink_fn sink;  /* may be NULL: decode and verify, discard the data */
	void *sink_arg;
};

/* Why the decoder failed, for the edge to pick its S3 error. */
enum chunked_fail {
	CHUNKED_OK,
	CHUNKED_MALFORMED,     /* bad framing, a size line too long or overflowing, bytes
				  after the end, a body longer than x-amz-decoded-content-
				  length, a bad or undeclared trailer: InvalidRequest */
	CHUNKED_INCOMPLETE,    /* the body ended early, or decoded shorter than
				  x-amz-decoded-content-length: IncompleteBody */
	CHUNKED_BAD_SIGNATURE, /* a chunk or trailer signature does not match:
				  SignatureDoesNotMatch (the message names the chunk) */
	CHUNKED_BAD_DIGEST,    /* the trailer checksum does not match the payload: BadDigest */
	CHUNKED_SINK,          /* the sink refused: its code and message */
};

struct chunked;

/*
 * A decoder for one request body.  p is read during the call only (what
 * is needed is copied).  Returns 0 with *out the caller's (freed with
 * chunked_free), TN_EINVAL with a message for inconsistent parameters (a
 * signed mode without a signing key or whose auth->payload_hash is not
 * the mode's keyword; a trailer in a mode without trailers; a trailer
 * that is not an x-amz-checksum-* header), TN_EUNSUPPORTED for more than
 * one trailer or an unknown checksum trailer.
 */
int chunked_new(const struct chunked_params *p, struct chunked **out, char *err);
/*
 * Decodes n more body bytes (any split), passing payload bytes to the
 * sink and checking each chunk's signature as its data ends.  Returns 0,
 * or a negative code with a message (TN_EINVAL malformed / incomplete /
 * bad digest, TN_EAUTH bad signature, or the sink's code); chunked_why()
 * says which.  After a failure every call returns the same failure.
 */
int chunked_feed(struct chunked *c, const void *p, size_t n, char *err);
/*
 * The body ended: returns 0 if it was complete and every check passed
 * (chunk and trailer signatures, trailer checksum, decoded length);
 * otherwise as chunked_feed, "incomplete body: ..." when it stopped short.
 */
int chunked_finish(struct chunked *c, char *err);
/* CHUNKED_OK, or why the last chunked_feed / chunked_finish failed. */
enum chunked_fail chunked_why(const struct chunked *c);
/* Payload bytes passed to the sink so far. */
uint64_t chunked_decoded(const struct chunked *c);
/*
 * After chunked_finish returned 0: true if the body carried a checksum
 * trailer (verified), with its algorithm and base64 value (padded, for
 * the response's x-amz-checksum-* header and for storing).
 */
bool chunked_trailer_checksum(const struct chunked *c, enum checksum_algo *algo,
			      char b64[CHECKSUM_B64_LEN]);
/* Frees c and wipes its copy of the signing key.  Accepts NULL. */
void chunked_free(struct chunked *c);

/*
 * The signature of one chunk of n data bytes (n may be 0: the final
 * chunk), as 64 lowercase hex + NUL in out.  key: the signing key;
 * amz_date: "YYYYMMDDTHHMMSSZ"; scope: "DATE/REGION/SERVICE/aws4_request";
 * prev_sig: 64 hex, the seed signature for the first chunk.  For clients
 * (a later S3 backend) and tests; the decoder computes the same value
 * incrementally.
 */
void chunked_chunk_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			     const char *prev_sig, const void *data, size_t n, char out[65]);
/*
 * The x-amz-trailer-signature value for the canonical trailers (n bytes,
 * "name:value\n" per trailer line, names lowercase, sorted), chained to
 * prev_sig, the final chunk's signature.
 */
void chunked_trailer_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			       const char *prev_sig, const char *canonical, size_t n,
			       char out[65]);

#endif

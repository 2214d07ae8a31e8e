/*
 * api_s3.c - the S3 listener: SigV4, object operations over the lake's
 * single bucket, XML errors.
 *
 * Flow.  server.c hands every request of the S3 listener here twice:
 *   s3_begin   headers complete: classify (s3/op.h), authenticate SigV4
 *              with the payload check deferred, and for an upload open
 *              the object writer (store/objects.h checks the grant now,
 *              before a byte is read) and stream the body into it
 *              (r->body_fn) while hashing it;
 *   s3_finish  body complete: check the payload hash, then Content-MD5
 *              and the commit on a worker thread (the file system calls
 *              and the hashing of a held upload must not hold the loop
 *              thread), or run the operation and answer.
 * A request that ends early (client gone, truncated body) frees its state
 * through r->edge_free, which aborts the writer: nothing becomes visible.
 *
 * Every data operation goes through store/objects.h with the caller, so
 * grants, zone rules and the audit trail are the same as over REST.  The
 * bucket is the lake (lake.name); its keys are the lake's object keys
 * ("01-raw-data-zone/...").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "http/http_int.h"
#include "s3/op.h"
#include "s3/xml.h"
#include "store/objects.h"
#include "store/store.h"

#include "core/banned.h"

/* The largest body of one PutObject or UploadPart (S3's limit). */
#define S3_MAX_PUT (5ull << 30)

struct s3req {
	struct s3_target t;
	struct sigv4_auth sig;
	struct obj_caller c;
	char addr[64];
	struct crypto_digest *sha;   /* a signed payload: SHA-256 of the body so far */
	bool has_md5;
	uint8_t md5[MD5_LEN];        /* Content-MD5 */
	struct obj_writer *w;        /* an upload in progress */
	struct chunked *chunked;     /* an aws-chunked body's decoder */
	struct checksum *sum;        /* an x-amz-checksum-* header's check */
	enum checksum_algo sum_algo; /* the checksum given back (trailer or header) */
	char sum_b64[CHECKSUM_B64_LEN];
	char err[TN_ERRLEN];         /* the body's first error */
	struct http_req *r;          /* the request (s3req_free's auth line) */
	bool auth_owed;              /* authenticated, and no line says so yet (auth_line) */
};

/*
 * The audit line of a successful authentication.  For the object
 * operations (GET, HEAD, PUT, DELETE of an object) the object line
 * written by store/objects.c carries the principal, the source and how it
 * authenticated ("via":"s3", "auth":"sigv4"), so no separate line is
 * written: s->auth_owed stays set until the object layer is called
 * (object_called), and a request that never gets there (refused on its
 * headers, cut off) writes this line when it is answered with an error
 * or ends.
 */
static void auth_line(struct http_req *r, struct s3req *s)
{
	if (!s->auth_owed)
		return;
	s->auth_owed = false;
	http_audit(r, "auth", r->who.name,
		   json_pack("{s:s, s:s}", "outcome", "ok", "via", "sigv4-s3"));
}

/* The object layer is about to audit this request (its line names the caller). */
static void object_called(struct s3req *s)
{
	s->auth_owed = false;
}

/* Operations whose object line stands for the authentication line. */
static bool object_op(enum s3_op op)
{
	return op == S3_OP_GET_OBJECT || op == S3_OP_HEAD_OBJECT || op == S3_OP_PUT_OBJECT ||
	       op == S3_OP_DELETE_OBJECT;
}

static void s3req_free(void *p)
{
	struct s3req *s = p;
	if (!s)
		return;
	if (s->auth_owed && s->r)
		auth_line(s->r, s);
	obj_writer_abort(s->w, "the request ended before its body");
	crypto_digest_free(s->sha);
	chunked_free(s->chunked);
	checksum_free(s->sum);
	explicit_bzero(&s->sig, sizeof s->sig); /* it may hold a signing key */
	s3_target_release(&s->t);
	free(s);
}

/* ---- answers ---- */

/* An S3 error document; HEAD answers carry no body. */
static void s3_error(struct http_req *r, int status, const char *code, const char *msg)
{
	struct s3req *s = r->edge;
	if (s)
		auth_line(r, s);
	struct buf *b = http_reply_json_buf(r, status);
	r->content_type = "application/xml";
	snprintf(r->log_msg, sizeof r->log_msg, "%s: %s", code, msg);
	if (!strcmp(r->method, "HEAD") || status == 304)
		return;
	struct s3xml_error e = { .code = code, .message = msg,
				 .key = s ? s->t.key : NULL,
				 .bucket = s && s->t.bucket[0] ? s->t.bucket : NULL,
				 .resource = r->raw_path, .request_id = r->request_id };
	s3xml_write_error(b, &e, NULL);
}

/* An XML answer the caller wrote into the returned buffer. */
static struct buf *s3_xml(struct http_req *r, int status)
{
	struct buf *b = http_reply_json_buf(r, status);
	r->content_type = "application/xml";
	return b;
}

/* A core error as S3 speaks it. */
static void s3_fail(struct http_req *r, int rc, const char *msg)
{
	switch (rc) {
	case TN_ENOTFOUND:
		s3_error(r, 404, "NoSuchKey", msg);
		break;
	case TN_EDENIED:
	case TN_ECONFLICT:  /* raw-zone overwrite: AccessDenied naming the immutable zone */
		s3_error(r, 403, "AccessDenied", msg);
		break;
	case TN_EINVAL:
		s3_error(r, 400, "InvalidArgument", msg);
		break;
	case TN_ETOOBIG:
		s3_error(r, 400, "EntityTooLarge", msg);
		break;
	case TN_ENOSPC:
		s3_error(r, 507, "InsufficientStorage", msg);
		break;
	case TN_EUNSUPPORTED:
		s3_error(r, 501, "NotImplemented", msg);
		break;
	case TN_EAGAIN:
		s3_error(r, 503, "SlowDown", msg);
		break;
	default:
		s3_error(r, 500, "InternalError", msg);
	}
}

/* ---- authentication ---- */

static bool s3_authenticate(struct http_req *r, struct s3req *s)
{
	struct sigv4_header *hh = NULL;
	struct sigv4_request req;
	enum auth_fail why = AUTH_OK;
	char err[TN_ERRLEN] = "";
	memset(&req, 0, sizeof req);
	req.nheaders = http_sigv4_headers(r, &hh);
	req.method = r->method;
	req.path = r->raw_path;
	req.query = r->raw_query;
	req.headers = hh;
	/*
	 * A body is checked once it has streamed through (deferred); a request
	 * without one (GET, HEAD, DELETE) signs the hash of nothing, also when
	 * the client left out x-amz-content-sha256 (curl --aws-sigv4 does).
	 */
	req.payload_deferred = !strcmp(r->method, "PUT") || !strcmp(r->method, "POST");
	int rc = auth_sigv4_ex(r->deps->auth, &req, time_now_ms(), (int)r->deps->cfg->auth_clock_skew_s,
			       "s3", &r->who, &s->sig, &why, err);
	free(hh);
	if (rc == 0) {
		r->authed = true;
		s->auth_owed = true;
		if (!object_op(s->t.op))
			auth_line(r, s);
		return true;
	}
	http_audit(r, "auth", "", json_pack("{s:s, s:s, s:s}", "outcome", "failed", "scheme",
					    "sigv4-s3", "why", err));
	if (rc != TN_EAUTH) {
		s3_fail(r, rc, err);
		return false;
	}
	switch (why) {
	case AUTH_MISSING: {
		const char *h = http_req_header(r, "Authorization");
		bool v2 = (h && !strncmp(h, "AWS ", 4)) || strstr(r->raw_query, "AWSAccessKeyId=");
		s3_error(r, 403, "AccessDenied", v2 ? "Signature Version 2 is not supported: sign "
			 "requests with Signature Version 4 (AWS4-HMAC-SHA256)"
			 : "Access Denied: the request is not signed");
		break;
	}
	case AUTH_UNKNOWN:
		s3_error(r, 403, "InvalidAccessKeyId",
			 "The AWS Access Key Id you provided does not exist in our records.");
		break;
	case AUTH_BAD_SECRET:
		s3_error(r, 403, "SignatureDoesNotMatch",
			 "The request signature we calculated does not match the signature you "
			 "provided. Check your key and signing method.");
		break;
	case AUTH_SKEWED:
		s3_error(r, 403, "RequestTimeTooSkewed",
			 "The difference between the request time and the current time is too "
			 "large.");
		break;
	case AUTH_EXPIRED:
		s3_error(r, 403, "AccessDenied", "Request has expired");
		break;
	case AUTH_MALFORMED:
		s3_error(r, 400, "AuthorizationHeaderMalformed", err);
		break;
	default:
		s3_error(r, 403, "AccessDenied", err);
	}
	return false;
}

/* ---- keys and headers ---- */

static const char *bucket_name(struct http_req *r)
{
	return r->deps->cfg->lake_name;
}

static bool bucket_ok(struct http_req *r, struct s3req *s)
{
	if (!strcmp(s->t.bucket, bucket_name(r)))
		return true;
	char msg[200];
	snprintf(msg, sizeof msg, "The specified bucket does not exist (this lake's bucket is '%s')",
		 bucket_name(r));
	s3_error(r, 404, "NoSuchBucket", msg);
	return false;
}

/* x-amz-meta-* request headers as a JSON object text (NULL if none). */
static char *user_meta(struct http_req *r, bool *too_big)
{
	const struct wire_header *hs;
	size_t nh = http_req_headers(r, &hs), bytes = 0;
	json_t *o = json_object();

	for (size_t k = 0; k < nh; k++) {
		const char *key = hs[k].name;
		char name[256];
		size_t n;

		if (strncasecmp(key, "x-amz-meta-", 11) || !key[11])
			continue;
		n = strlen(key + 11);
		if (n >= sizeof name)
			n = sizeof name - 1;
		for (size_t i = 0; i < n; i++)
			name[i] = (char)(key[11 + i] >= 'A' && key[11 + i] <= 'Z'
						 ? key[11 + i] - 'A' + 'a' : key[11 + i]);
		name[n] = '\0';
		bytes += n + strlen(hs[k].value);
		json_object_set_new(o, name, json_string(hs[k].value));
	}
	*too_big = bytes > 2048; /* S3's limit on user metadata */
	char *s = json_object_size(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

static void meta_headers(struct http_req *r, const char *meta)
{
	json_t *o = meta ? json_loads(meta, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		char name[300];
		snprintf(name, sizeof name, "x-amz-meta-%s", k);
		if (r->nheaders < HTTP_MAX_RESP_HEADERS - 12)
			http_header_add(r, name, "%s", json_string_value(v) ? json_string_value(v) : "");
	}
	json_decref(o);
}

/* ---- uploads: PutObject, UploadPart ---- */

/* Decoded payload bytes (from the chunked decoder, or the body itself) into the writer. */
static int to_writer(void *arg, const void *p, size_t n, char *err)
{
	struct s3req *s = arg;
	/* a body without a length (chunked transfer) is held to the cap as it streams */
	if (obj_writer_size(s->w) + n > S3_MAX_PUT)
		return tn_fail(err, TN_ETOOBIG, "the upload passes %llu bytes, the largest object "
			       "of one PUT or part (larger: a multipart upload)",
			       (unsigned long long)S3_MAX_PUT);
	if (s->sum)
		checksum_update(s->sum, p, n);
	return obj_writer_write(s->w, p, n, err);
}

static int body_to_writer(struct http_req *r, const char *p, size_t n)
{
	struct s3req *s = r->edge;
	if (s->chunked)
		return chunked_feed(s->chunked, p, n, s->err);
	if (s->sha)
		crypto_digest_update(s->sha, p, n);
	return to_writer(s, p, n, s->err);
}

/*
 * Headers of an upload (PutObject, UploadPart): how the payload comes
 * (whole, hashed or not; aws-chunked, signed or with a trailer), its
 * digests, its size.  Then opens the writer (part > 0: a part) and
 * streams the body into it.  false: answered.
 */
static bool upload_begin(struct http_req *r, struct s3req *s, unsigned part, const char *id)
{
	char err[TN_ERRLEN];
	const char *md5 = http_req_header(r, "Content-MD5");
	const char *cl = http_req_header(r, "Content-Length");
	const char *dl = http_req_header(r, "x-amz-decoded-content-length");
	enum chunked_mode mode;
	int cm = chunked_mode_parse(s->sig.payload_hash, &mode, err);
	if (cm && cm != TN_ENOTFOUND) {
		s3_error(r, 400, "InvalidRequest", err);
		return false;
	}
	if (!cl && !http_req_header(r, "Transfer-Encoding")) {
		s3_error(r, 411, "MissingContentLength", "You must provide the Content-Length HTTP "
			 "header.");
		return false;
	}
	uint64_t size = strtoull(cm == 0 && dl ? dl : cl ? cl : "0", NULL, 10);
	if (size > S3_MAX_PUT) {
		s3_error(r, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed "
			 "size (5 GiB per PUT or part; larger objects: a multipart upload).");
		return false;
	}
	if (md5) {
		struct buf d = BUF_INIT(0);
		int bad = base64_decode(md5, strlen(md5), &d) || d.len != MD5_LEN;
		if (!bad)
			memcpy(s->md5, d.data, MD5_LEN);
		buf_release(&d);
		if (bad) {
			s3_error(r, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
			return false;
		}
		s->has_md5 = true;
	}
	/* an x-amz-checksum-* header (a trailer's value is checked by the chunked decoder) */
	static const char *const sums[] = { "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
					    "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1",
					    "x-amz-checksum-sha256" };
	for (size_t i = 0; i < sizeof sums / sizeof sums[0] && !s->sum; i++) {
		const char *v = http_req_header(r, sums[i]);
		if (v && checksum_new_header(sums[i], v, &s->sum, err)) {
			s3_error(r, 400, "InvalidRequest", err);
			return false;
		}
	}
	bool meta_big = false;
	char *meta = part ? NULL : user_meta(r, &meta_big);
	if (meta_big) {
		free(meta);
		s3_error(r, 400, "MetadataTooLarge", "Your metadata headers exceed the maximum "
			 "allowed metadata size (2 KB).");
		return false;
	}
	struct obj_put_opts opts = { .content_type = http_req_header(r, "Content-Type"),
				     .user_meta = meta, .size = size };
	object_called(s);
	int rc = part ? obj_part_open(r->deps->objects, &s->c, s->t.key, id, part, size, &s->w,
				      err)
		      : obj_writer_open(r->deps->objects, &s->c, s->t.key, &opts, &s->w, err);
	free(meta);
	if (rc) {
		if (rc == TN_ENOTFOUND && part)
			s3_error(r, 404, "NoSuchUpload", err);
		else
			s3_fail(r, rc, err);
		return false;
	}
	if (cm == 0) {
		struct chunked_params cp = { .mode = mode, .auth = &s->sig,
					     .trailer = http_req_header(r, "x-amz-trailer"),
					     .decoded_length = dl ? (int64_t)size : -1,
					     .sink = to_writer, .sink_arg = s };
		if (chunked_new(&cp, &s->chunked, err)) {
			s3_error(r, 400, "InvalidRequest", err);
			return false;
		}
	} else if (strcmp(s->sig.payload_hash, SIGV4_UNSIGNED_PAYLOAD)) {
		s->sha = crypto_digest_new(CRYPTO_SHA256);
	}
	r->body_fn = body_to_writer;
	return true;
}

/* Drops the upload and answers code. */
static void upload_refuse(struct http_req *r, struct s3req *s, int status, const char *code,
			  const char *msg)
{
	obj_writer_abort(s->w, msg);
	s->w = NULL;
	s3_error(r, status, code, msg);
}

/* Worker thread: Content-MD5 against the bytes, the commit's fsyncs, then the answer. */
static void upload_commit(struct http_req *r)
{
	struct s3req *s = r->edge;
	struct obj_info info;
	char err[TN_ERRLEN];
	memset(&info, 0, sizeof info);
	if (s->has_md5) {
		uint8_t got[MD5_LEN];
		obj_writer_md5(s->w, got);
		if (memcmp(got, s->md5, MD5_LEN)) {
			upload_refuse(r, s, 400, "BadDigest", "The Content-MD5 you specified did not "
				      "match what we received.");
			return;
		}
	}
	int rc = obj_writer_commit(s->w, &info, err);
	s->w = NULL;
	if (rc == TN_ENOTFOUND && s->t.op == S3_OP_UPLOAD_PART) {
		s3_error(r, 404, "NoSuchUpload", err); /* completed or aborted meanwhile */
		return;
	}
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	http_reply_empty(r, 200);
	http_header_add(r, "ETag", "\"%s\"", info.etag);
	if (s->sum_b64[0])
		http_header_add(r, checksum_algo_header(s->sum_algo), "%s", s->sum_b64);
	obj_info_release(&info);
}

static void upload_finish(struct http_req *r, struct s3req *s)
{
	if (r->body_rc) {
		if (s->chunked) {
			enum chunked_fail f = chunked_why(s->chunked);
			if (f == CHUNKED_BAD_SIGNATURE)
				upload_refuse(r, s, 403, "SignatureDoesNotMatch", s->err);
			else if (f == CHUNKED_BAD_DIGEST)
				upload_refuse(r, s, 400, "BadDigest", s->err);
			else if (f == CHUNKED_INCOMPLETE)
				upload_refuse(r, s, 400, "IncompleteBody", s->err);
			else if (f == CHUNKED_MALFORMED)
				upload_refuse(r, s, 400, "InvalidRequest", s->err);
			else
				goto core;
			return;
		}
core:
		obj_writer_abort(s->w, s->err);
		s->w = NULL;
		s3_fail(r, r->body_rc, s->err);
		return;
	}
	if (s->chunked && chunked_finish(s->chunked, s->err)) {
		enum chunked_fail f = chunked_why(s->chunked);
		upload_refuse(r, s, f == CHUNKED_BAD_SIGNATURE ? 403 : 400,
			      f == CHUNKED_BAD_SIGNATURE ? "SignatureDoesNotMatch"
			      : f == CHUNKED_BAD_DIGEST ? "BadDigest"
			      : f == CHUNKED_INCOMPLETE ? "IncompleteBody" : "InvalidRequest", s->err);
		return;
	}
	if (s->chunked)
		chunked_trailer_checksum(s->chunked, &s->sum_algo, s->sum_b64);
	if (s->sha) {
		uint8_t h[SHA256_LEN];
		crypto_digest_final(s->sha, h);
		s->sha = NULL;
		if (!sigv4_payload_ok(&s->sig, h)) {
			upload_refuse(r, s, 400, "XAmzContentSHA256Mismatch", "The provided "
				      "'x-amz-content-sha256' header does not match what was "
				      "computed.");
			return;
		}
	}
	if (s->sum) {
		char err[TN_ERRLEN];
		struct checksum *c = s->sum;
		s->sum = NULL;
		if (checksum_finish(c, s->sum_b64, err)) {
			checksum_free(c);
			upload_refuse(r, s, 400, "BadDigest", err);
			return;
		}
		checksum_free(c);
	}
	http_defer(r, upload_commit);
}

/* ---- reads: GetObject, HeadObject ---- */

/* Parses an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") or ISO 8601; false if neither. */
static bool http_time(const char *s, int64_t *ms)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char mon[4] = "";
	struct utc u = { 0 };
	const char *comma = strchr(s, ',');
	if (comma && sscanf(comma + 1, " %2d %3s %4d %2d:%2d:%2d GMT", &u.day, mon, &u.year, &u.hour,
			    &u.min, &u.sec) == 6) {
		for (int i = 0; i < 12; i++)
			if (!strcmp(mon, months[i]))
				u.month = i + 1;
		if (u.month == 0)
			return false;
		*ms = time_from_utc(&u);
		return true;
	}
	return time_parse(s, strlen(s), ms) == 0;
}

/* An ETag list ("\"a\", \"b\"" or "*") holds etag? */
static bool etag_matches(const char *list, const char *etag)
{
	if (!strcmp(list, "*"))
		return true;
	size_t el = strlen(etag);
	for (const char *p = list; (p = strstr(p, etag)) != NULL; p += el) {
		char before = p > list ? p[-1] : ' ', after = p[el];
		if ((before == '"' || before == ' ' || before == ',') &&
		    (after == '"' || after == ',' || after == ' ' || after == '\0'))
			return true;
	}
	return false;
}

/* Conditions of a read: 0 to go on, else the status answered (304, 412). */
static int conditions(struct http_req *r, const struct obj_info *info)
{
	const char *im = http_req_header(r, "If-Match");
	const char *inm = http_req_header(r, "If-None-Match");
	const char *ims = http_req_header(r, "If-Modified-Since");
	const char *ius = http_req_header(r, "If-Unmodified-Since");
	int64_t t, mtime_s = info->mtime_ns / 1000000000;
	if (im && !etag_matches(im, info->etag))
		return 412;
	if (!im && ius && http_time(ius, &t) && mtime_s > t / 1000)
		return 412;
	if (inm && etag_matches(inm, info->etag))
		return 304;
	if (!inm && ims && http_time(ims, &t) && mtime_s <= t / 1000)
		return 304;
	return 0;
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" of size: 1 (ranged), 0 (whole), -1 (unsatisfiable). */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0; /* absent, another unit or several ranges: the whole object, as S3 does */
	const char *p = h + 6;
	char *end;
	if (*p == '-') {
		unsigned long long n = strtoull(p + 1, &end, 10);
		if (end == p + 1 || *end)
			return 0;
		if (n == 0 || size == 0)
			return -1;
		*len = n < size ? n : size;
		*off = size - *len;
		return 1;
	}
	unsigned long long a = strtoull(p, &end, 10);
	if (end == p || *end != '-')
		return 0;
	p = end + 1;
	unsigned long long b = size ? size - 1 : 0;
	if (*p) {
		b = strtoull(p, &end, 10);
		if (*end || b < a)
			return 0;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

static void read_headers(struct http_req *r, const struct obj_info *info)
{
	char date[64];
	time_format_http(info->mtime_ns / 1000000, date, sizeof date);
	http_header_add(r, "ETag", "\"%s\"", info->etag);
	http_header_add(r, "Last-Modified", "%s", date);
	http_header_add(r, "Accept-Ranges", "bytes");
	meta_headers(r, info->user_meta);
	static const struct {
		const char *param, *header;
	} overrides[] = {
		{ "response-content-type", "Content-Type" },
		{ "response-content-language", "Content-Language" },
		{ "response-expires", "Expires" },
		{ "response-cache-control", "Cache-Control" },
		{ "response-content-disposition", "Content-Disposition" },
		{ "response-content-encoding", "Content-Encoding" },
	};
	bool type_set = false;
	for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
		char v[1024];
		if (http_query_param(r->raw_query, overrides[i].param, v, sizeof v) == 1) {
			http_header_add(r, overrides[i].header, "%s", v);
			type_set |= i == 0;
		}
	}
	if (!type_set)
		http_header_add(r, "Content-Type", "%s", info->content_type);
}

static void get_object(struct http_req *r, struct s3req *s, bool head)
{
	char err[TN_ERRLEN];
	struct obj_info info;
	int fd = -1;
	memset(&info, 0, sizeof info);
	object_called(s);
	int rc = obj_open(r->deps->objects, &s->c, s->t.key, UINT64_MAX, &fd, &info, err);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	int cond = conditions(r, &info);
	if (cond) {
		close(fd);
		if (cond == 304) {
			http_reply_empty(r, 304);
			http_header_add(r, "ETag", "\"%s\"", info.etag);
		} else {
			s3_error(r, 412, "PreconditionFailed", "At least one of the pre-conditions you "
				 "specified did not hold");
		}
		obj_info_release(&info);
		return;
	}
	uint64_t off = 0, len = info.size;
	int ranged = parse_range(http_req_header(r, "Range"), info.size, &off, &len);
	if (ranged < 0) {
		close(fd);
		s3_error(r, 416, "InvalidRange", "The requested range is not satisfiable");
		http_header_add(r, "Content-Range", "bytes */%" PRIu64, info.size);
		obj_info_release(&info);
		return;
	}
	if (head) {
		close(fd);
		fd = -1;
	}
	if (len == 0 && !head) {
		close(fd);
		http_reply_empty(r, 200);
	} else {
		http_reply_fd(r, ranged ? 206 : 200, fd, off, len, NULL);
	}
	if (ranged)
		http_header_add(r, "Content-Range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
				off + len - 1, info.size);
	read_headers(r, &info);
	obj_info_release(&info);
}

static void delete_object(struct http_req *r, struct s3req *s)
{
	char err[TN_ERRLEN];
	object_called(s);
	int rc = obj_delete(r->deps->objects, &s->c, s->t.key, err);
	if (rc && rc != TN_ENOTFOUND) { /* S3 answers 204 for a key that is not there */
		s3_fail(r, rc, err);
		return;
	}
	http_reply_empty(r, 204);
}

/* ---- the bucket: ListBuckets, GetBucketLocation, ListObjects(V2) ---- */

/* A query parameter (decoded) into out; "" when absent or empty; false if malformed. */
static bool qparam(struct http_req *r, const char *name, char *out, size_t n)
{
	int rc = http_query_param(r->raw_query, name, out, n);
	if (rc < 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "query parameter '%s' is too long or holds a NUL", name);
		s3_error(r, 400, "InvalidArgument", msg);
		return false;
	}
	if (rc == 0)
		out[0] = '\0';
	return true;
}

static void list_buckets(struct http_req *r, struct s3req *s)
{
	char path[4096];
	struct stat st;
	(void)s;
	snprintf(path, sizeof path, "%s/tarn.yaml", store_root(r->deps->store));
	int64_t created = stat(path, &st) == 0 ? (int64_t)st.st_mtime * 1000 : 0;
	struct s3xml_owner owner = { r->who.name, r->who.name };
	struct s3xml_bucket bk = { bucket_name(r), created };
	s3xml_write_list_buckets(s3_xml(r, 200), &owner, &bk, 1, NULL);
}

/* Continuation tokens: the key the next page starts after, base64 (opaque to clients). */
static void token_encode(const char *key, struct buf *out)
{
	base64_encode(key, strlen(key), out);
	buf_putc(out, '\0');
}

static void list_objects(struct http_req *r, struct s3req *s, int version)
{
	char prefix[TN_MAX_KEY + 1], delim[8], maxk[16], after[TN_MAX_KEY + 1], token[2048],
		marker[TN_MAX_KEY + 1], enc[16], owner_p[8], err[TN_ERRLEN];
	if (!qparam(r, "prefix", prefix, sizeof prefix) ||
	    !qparam(r, "delimiter", delim, sizeof delim) ||
	    !qparam(r, "max-keys", maxk, sizeof maxk) ||
	    !qparam(r, "start-after", after, sizeof after) ||
	    !qparam(r, "continuation-token", token, sizeof token) ||
	    !qparam(r, "marker", marker, sizeof marker) ||
	    !qparam(r, "encoding-type", enc, sizeof enc) ||
	    !qparam(r, "fetch-owner", owner_p, sizeof owner_p))
		return;
	char *end;
	long max = *maxk ? strtol(maxk, &end, 10) : 1000;
	if ((*maxk && *end) || max < 0) {
		s3_error(r, 400, "InvalidArgument", "max-keys must be a non-negative integer");
		return;
	}
	if (max > 1000)
		max = 1000;
	if (*enc && strcmp(enc, "url")) {
		s3_error(r, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
		return;
	}
	/* where the page starts: the token's key, else start-after (v2) or marker (v1) */
	struct buf from = BUF_INIT(0);
	if (version == 2 && *token) {
		if (base64_decode(token, strlen(token), &from) || memchr(from.data, 0, from.len)) {
			buf_release(&from);
			s3_error(r, 400, "InvalidArgument", "The continuation token provided is "
				 "incorrect");
			return;
		}
		buf_putc(&from, '\0');
	} else {
		buf_puts(&from, version == 2 ? after : marker);
		buf_putc(&from, '\0');
	}
	struct obj_list l;
	int rc = max == 0 ? (memset(&l, 0, sizeof l), 0)
			  : obj_list(r->deps->objects, &s->c, prefix, delim, from.data, (size_t)max,
				     true, &l, err);
	buf_release(&from);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	struct s3xml_object *objs = xcalloc(l.n + 1, sizeof *objs);
	const char **pre = xcalloc(l.n + 1, sizeof *pre);
	size_t no = 0, np = 0;
	struct s3xml_owner owner = { r->who.name, r->who.name };
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].dir) {
			pre[np++] = l.v[i].key;
			continue;
		}
		objs[no++] = (struct s3xml_object){ .key = l.v[i].key,
						    .mtime_ms = l.v[i].mtime_ns / 1000000,
						    .etag = l.v[i].etag, .size = l.v[i].size,
						    .owner = version == 1 || !strcmp(owner_p, "true")
								     ? &owner : NULL };
	}
	struct buf next = BUF_INIT(0);
	if (l.truncated && l.next && version == 2)
		token_encode(l.next, &next);
	struct s3xml_list x = {
		.version = version, .bucket = bucket_name(r), .prefix = prefix,
		.delimiter = *delim ? delim : NULL, .url_encode = !strcmp(enc, "url"),
		.max_keys = (uint32_t)max, .truncated = l.truncated,
		.marker = marker, .next_marker = l.next,
		.continuation_token = *token ? token : NULL,
		.next_continuation_token = next.len ? next.data : NULL,
		.start_after = *after ? after : NULL,
		.objects = objs, .nobjects = no, .prefixes = pre, .nprefixes = np,
	};
	struct buf *b = s3_xml(r, 200);
	if ((rc = s3xml_write_list_objects(b, &x, err)))
		s3_fail(r, rc, err); /* TN_EINVAL: a key XML cannot carry without encoding-type=url */
	buf_release(&next);
	free(objs);
	free(pre);
	obj_list_release(&l);
}

/* ---- DeleteObjects ---- */

static void delete_objects(struct http_req *r, struct s3req *s)
{
	const char *code = NULL;
	char err[TN_ERRLEN];
	struct s3xml_delete d;
	const char *md5 = http_req_header(r, "Content-MD5");
	if (md5) {
		struct buf want = BUF_INIT(0);
		uint8_t got[MD5_LEN];
		crypto_md5(r->body.data, r->body.len, got);
		bool ok = base64_decode(md5, strlen(md5), &want) == 0 && want.len == MD5_LEN &&
			  !memcmp(want.data, got, MD5_LEN);
		buf_release(&want);
		if (!ok) {
			s3_error(r, 400, "BadDigest", "The Content-MD5 you specified did not match what "
				 "we received.");
			return;
		}
	}
	if (s3xml_parse_delete(r->body.data ? r->body.data : "", r->body.len, &d, &code, err)) {
		s3xml_delete_release(&d);
		s3_error(r, s3xml_error_status(code) ? s3xml_error_status(code) : 400, code, err);
		return;
	}
	struct s3xml_delete_outcome *o = xcalloc(d.n, sizeof *o);
	char (*msgs)[TN_ERRLEN] = xcalloc(d.n, sizeof *msgs);
	for (size_t i = 0; i < d.n; i++) {
		int rc = obj_delete(r->deps->objects, &s->c, d.objects[i].key, msgs[i]);
		o[i].key = d.objects[i].key;
		o[i].version_id = d.objects[i].version_id;
		if (rc && rc != TN_ENOTFOUND) {
			o[i].code = rc == TN_EDENIED ? "AccessDenied"
				  : rc == TN_EINVAL ? "InvalidArgument" : "InternalError";
			o[i].message = msgs[i];
		}
	}
	s3xml_write_delete_result(s3_xml(r, 200), d.quiet, o, d.n, NULL);
	free(msgs);
	free(o);
	s3xml_delete_release(&d);
}

/* ---- CopyObject ---- */

/* x-amz-copy-source "[/]bucket/key[?versionId=..]" (URL-encoded): the key, owned; NULL if bad. */
static char *copy_source_key(struct http_req *r, char *msg, size_t n)
{
	const char *h = http_req_header(r, "x-amz-copy-source");
	char dec[TN_MAX_KEY + 128];
	if (!h)
		return NULL;
	size_t hl = strcspn(h, "?");
	size_t o = 0;
	for (size_t i = 0; i < hl && o + 1 < sizeof dec; i++) {
		if (h[i] == '%' && i + 2 < hl + 1 && h[i + 1] && h[i + 2]) {
			char hex[3] = { h[i + 1], h[i + 2], 0 };
			char *end;
			long v = strtol(hex, &end, 16);
			if (*end || v == 0) {
				snprintf(msg, n, "x-amz-copy-source: bad escape at byte %zu", i);
				return NULL;
			}
			dec[o++] = (char)v;
			i += 2;
		} else {
			dec[o++] = h[i];
		}
	}
	dec[o] = '\0';
	const char *p = dec[0] == '/' ? dec + 1 : dec;
	size_t bl = strcspn(p, "/");
	if (bl != strlen(bucket_name(r)) || strncmp(p, bucket_name(r), bl) || !p[bl] || !p[bl + 1]) {
		snprintf(msg, n, "x-amz-copy-source '%.200s': copy from this lake's bucket '%s' "
			 "(bucket/key)", h, bucket_name(r));
		return NULL;
	}
	return xstrdup(p + bl + 1);
}

/* Worker thread: the copy reads and writes the whole object, then fsyncs. */
static void copy_work(struct http_req *r)
{
	struct s3req *s = r->edge;
	char err[TN_ERRLEN], msg[TN_ERRLEN];
	struct obj_info info;
	memset(&info, 0, sizeof info);
	char *src = copy_source_key(r, msg, sizeof msg);
	if (!src) {
		s3_error(r, 400, "InvalidArgument", msg);
		return;
	}
	const char *dir = http_req_header(r, "x-amz-metadata-directive");
	bool replace = dir && !strcasecmp(dir, "REPLACE");
	if (dir && !replace && strcasecmp(dir, "COPY")) {
		free(src);
		s3_error(r, 400, "InvalidArgument", "Unknown metadata directive.");
		return;
	}
	bool big = false;
	char *meta = replace ? user_meta(r, &big) : NULL;
	struct obj_put_opts opts = { .content_type = http_req_header(r, "Content-Type"),
				     .user_meta = meta };
	int rc = big ? tn_fail(err, TN_EINVAL, "metadata over 2 KB")
		     : obj_copy(r->deps->objects, &s->c, src, s->t.key, replace ? &opts : NULL,
				&info, err);
	free(meta);
	free(src);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	s3xml_write_copy_result(s3_xml(r, 200), false, info.mtime_ns / 1000000, info.etag, NULL);
	obj_info_release(&info);
}

/* ---- multipart uploads ---- */

/* ?uploadId= and (for parts) ?partNumber=: false when answered. */
static bool upload_params(struct http_req *r, char *id, size_t n, unsigned *part)
{
	char num[16];
	if (!qparam(r, "uploadId", id, n))
		return false;
	if (!part)
		return true;
	if (!qparam(r, "partNumber", num, sizeof num))
		return false;
	char *end;
	unsigned long v = strtoul(num, &end, 10);
	if (!*num || *end || v < 1 || v > OBJ_MAX_PARTS) {
		s3_error(r, 400, "InvalidArgument", "Part number must be an integer between 1 and "
			 "10000, inclusive");
		return false;
	}
	*part = (unsigned)v;
	return true;
}

static bool part_begin(struct http_req *r, struct s3req *s)
{
	char id[80];
	unsigned part = 0;
	if (!upload_params(r, id, sizeof id, &part))
		return false;
	return upload_begin(r, s, part, id);
}

static void mpu_create(struct http_req *r, struct s3req *s)
{
	char err[TN_ERRLEN], id[OBJ_UPLOAD_ID_LEN + 1];
	bool big = false;
	char *meta = user_meta(r, &big);
	struct obj_put_opts opts = { .content_type = http_req_header(r, "Content-Type"),
				     .user_meta = meta };
	int rc = big ? tn_fail(err, TN_EINVAL, "metadata over 2 KB")
		     : obj_mpu_create(r->deps->objects, &s->c, s->t.key, &opts, id, err);
	free(meta);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	s3xml_write_initiate_upload(s3_xml(r, 200), bucket_name(r), s->t.key, id, NULL);
}

/* Worker thread: the parts are copied into the object, then fsync'd. */
static void mpu_complete(struct http_req *r)
{
	struct s3req *s = r->edge;
	char err[TN_ERRLEN], id[80];
	const char *code = NULL;
	struct s3xml_complete doc;
	if (!upload_params(r, id, sizeof id, NULL))
		return;
	if (s3xml_parse_complete(r->body.data ? r->body.data : "", r->body.len, &doc, &code, err)) {
		s3xml_complete_release(&doc);
		s3_error(r, s3xml_error_status(code) ? s3xml_error_status(code) : 400, code, err);
		return;
	}
	struct obj_part_ref *want = xcalloc(doc.n + 1, sizeof *want);
	for (size_t i = 0; i < doc.n; i++)
		want[i] = (struct obj_part_ref){ doc.parts[i].number, doc.parts[i].etag };
	struct obj_info info;
	enum obj_mpu_fail why;
	memset(&info, 0, sizeof info);
	int rc = obj_mpu_complete(r->deps->objects, &s->c, s->t.key, id, want, doc.n, &info, &why,
				  err);
	free(want);
	s3xml_complete_release(&doc);
	if (rc) {
		if (why == OBJ_MPU_NO_UPLOAD)
			s3_error(r, 404, "NoSuchUpload", err);
		else if (why == OBJ_MPU_BAD_PART)
			s3_error(r, 400, "InvalidPart", err);
		else if (why == OBJ_MPU_TOO_SMALL)
			s3_error(r, 400, "EntityTooSmall", err);
		else if (why == OBJ_MPU_ORDER)
			s3_error(r, 400, "InvalidPartOrder", err);
		else if (why == OBJ_MPU_TOO_BIG)
			s3_error(r, 400, "EntityTooLarge", err);
		else
			s3_fail(r, rc, err);
		return;
	}
	struct buf loc = BUF_INIT(0);
	const char *host = http_req_header(r, "Host");
	buf_printf(&loc, "http://%s/%s/", host ? host : "localhost", bucket_name(r));
	s3xml_urlencode(&loc, s->t.key, strlen(s->t.key));
	buf_putc(&loc, '\0');
	s3xml_write_complete_upload(s3_xml(r, 200), loc.data, bucket_name(r), s->t.key, info.etag,
				    NULL);
	buf_release(&loc);
	obj_info_release(&info);
}

static void mpu_abort(struct http_req *r, struct s3req *s)
{
	char err[TN_ERRLEN], id[80];
	if (!upload_params(r, id, sizeof id, NULL))
		return;
	int rc = obj_mpu_abort(r->deps->objects, &s->c, s->t.key, id, err);
	if (rc == TN_ENOTFOUND)
		s3_error(r, 404, "NoSuchUpload", err);
	else if (rc)
		s3_fail(r, rc, err);
	else
		http_reply_empty(r, 204);
}

static void mpu_list_parts(struct http_req *r, struct s3req *s)
{
	char err[TN_ERRLEN], id[80], marker[16], maxp[16];
	if (!upload_params(r, id, sizeof id, NULL) ||
	    !qparam(r, "part-number-marker", marker, sizeof marker) ||
	    !qparam(r, "max-parts", maxp, sizeof maxp))
		return;
	unsigned long after = strtoul(marker, NULL, 10), max = *maxp ? strtoul(maxp, NULL, 10)
								      : 1000;
	if (max > 1000)
		max = 1000;
	struct obj_part_list l;
	int rc = obj_mpu_parts(r->deps->objects, &s->c, s->t.key, id, &l, err);
	if (rc) {
		if (rc == TN_ENOTFOUND)
			s3_error(r, 404, "NoSuchUpload", err);
		else
			s3_fail(r, rc, err);
		return;
	}
	struct s3xml_part *v = xcalloc(l.n + 1, sizeof *v);
	size_t n = 0;
	bool more = false;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].number <= after)
			continue;
		if (n == max) {
			more = true;
			break;
		}
		v[n++] = (struct s3xml_part){ l.v[i].number, l.v[i].mtime_ns / 1000000, l.v[i].etag,
					      l.v[i].size };
	}
	struct s3xml_owner who = { l.initiator, l.initiator };
	struct s3xml_list_parts x = {
		.bucket = bucket_name(r), .key = s->t.key, .upload_id = id, .initiator = &who,
		.owner = &who, .part_number_marker = (uint32_t)after,
		.next_part_number_marker = n ? v[n - 1].number : 0, .max_parts = (uint32_t)max,
		.truncated = more, .parts = v, .nparts = n };
	s3xml_write_list_parts(s3_xml(r, 200), &x, NULL);
	free(v);
	obj_part_list_release(&l);
}

static void mpu_list(struct http_req *r, struct s3req *s)
{
	char err[TN_ERRLEN], prefix[TN_MAX_KEY + 1], kmark[TN_MAX_KEY + 1], umark[80], maxu[16],
		enc[16];
	if (!qparam(r, "prefix", prefix, sizeof prefix) ||
	    !qparam(r, "key-marker", kmark, sizeof kmark) ||
	    !qparam(r, "upload-id-marker", umark, sizeof umark) ||
	    !qparam(r, "max-uploads", maxu, sizeof maxu) ||
	    !qparam(r, "encoding-type", enc, sizeof enc))
		return;
	unsigned long max = *maxu ? strtoul(maxu, NULL, 10) : 1000;
	if (max == 0 || max > 1000)
		max = 1000;
	struct obj_upload_list l;
	int rc = obj_mpu_list(r->deps->objects, &s->c, prefix, &l, err);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	struct s3xml_upload *v = xcalloc(l.n + 1, sizeof *v);
	struct s3xml_owner *who = xcalloc(l.n + 1, sizeof *who);
	size_t n = 0;
	bool more = false;
	for (size_t i = 0; i < l.n; i++) {
		int c = strcmp(l.v[i].key, kmark);
		if (*kmark && (c < 0 || (c == 0 && (!*umark || strcmp(l.v[i].id, umark) <= 0))))
			continue;
		if (n == max) {
			more = true;
			break;
		}
		who[n] = (struct s3xml_owner){ l.v[i].initiator, l.v[i].initiator };
		v[n] = (struct s3xml_upload){ .key = l.v[i].key, .upload_id = l.v[i].id,
					      .initiator = &who[n], .owner = &who[n],
					      .initiated_ms = l.v[i].created_ns / 1000000 };
		n++;
	}
	struct s3xml_list_uploads x = {
		.bucket = bucket_name(r), .key_marker = kmark, .upload_id_marker = umark,
		.next_key_marker = more && n ? v[n - 1].key : NULL,
		.next_upload_id_marker = more && n ? v[n - 1].upload_id : NULL,
		.prefix = prefix, .url_encode = !strcmp(enc, "url"), .max_uploads = (uint32_t)max,
		.truncated = more, .uploads = v, .nuploads = n };
	s3xml_write_list_uploads(s3_xml(r, 200), &x, NULL);
	free(v);
	free(who);
	obj_upload_list_release(&l);
}

/* Worker thread: UploadPartCopy, a range of an object as one part. */
static void part_copy(struct http_req *r)
{
	struct s3req *s = r->edge;
	char err[TN_ERRLEN], msg[TN_ERRLEN], id[80];
	unsigned part = 0;
	if (!upload_params(r, id, sizeof id, &part))
		return;
	char *src = copy_source_key(r, msg, sizeof msg);
	if (!src) {
		s3_error(r, 400, "InvalidArgument", msg);
		return;
	}
	struct obj_info si;
	int fd = -1;
	memset(&si, 0, sizeof si);
	int rc = obj_open(r->deps->objects, &s->c, src, UINT64_MAX, &fd, &si, err);
	free(src);
	if (rc) {
		s3_fail(r, rc, err);
		return;
	}
	uint64_t off = 0, len = si.size;
	const char *range = http_req_header(r, "x-amz-copy-source-range");
	if (range && parse_range(range, si.size, &off, &len) != 1) {
		close(fd);
		obj_info_release(&si);
		s3_error(r, 400, "InvalidArgument", "The x-amz-copy-source-range value must be of "
			 "the form bytes=first-last where first and last are the zero-based offsets "
			 "of the first and last bytes to copy");
		return;
	}
	obj_info_release(&si);
	rc = obj_part_open(r->deps->objects, &s->c, s->t.key, id, part, 0, &s->w, err);
	uint8_t *chunk = xmalloc(1u << 20);
	while (rc == 0 && len > 0) {
		size_t want = len < (1u << 20) ? (size_t)len : (1u << 20), got = 0;
		if ((rc = os_pread(fd, chunk, want, off, &got, "copy source", err)) == 0) {
			if (got == 0)
				rc = tn_fail(err, TN_EIO, "the copy source shrank while copied");
			else
				rc = obj_writer_write(s->w, chunk, got, err);
		}
		off += got;
		len -= got;
	}
	free(chunk);
	close(fd);
	struct obj_info info;
	memset(&info, 0, sizeof info);
	if (rc == 0) {
		rc = obj_writer_commit(s->w, &info, err);
		s->w = NULL;
	}
	if (rc) {
		if (rc == TN_ENOTFOUND)
			s3_error(r, 404, "NoSuchUpload", err);
		else
			s3_fail(r, rc, err);
		return;
	}
	s3xml_write_copy_result(s3_xml(r, 200), true, info.mtime_ns ? info.mtime_ns / 1000000
								    : time_now_ms(),
				info.etag, NULL);
	obj_info_release(&info);
}

/* ---- the two entry points ---- */

bool s3_begin(struct http_req *r)
{
	struct s3req *s = xcalloc(1, sizeof *s);
	char msg[TN_ERRLEN];
	r->edge = s;
	r->edge_free = s3req_free;
	s->r = r;
	const char *code = s3_op_parse(r->method, r->path, r->raw_query,
				       http_req_header(r, "Host"), r->deps->cfg->s3_domain,
				       http_req_header(r, "x-amz-copy-source"), &s->t, msg,
				       sizeof msg);
	if (!code && s->t.key && strlen(s->t.key) > TN_MAX_KEY) {
		code = "KeyTooLongError";
		snprintf(msg, sizeof msg, "Your key is too long: %zu bytes, over the %u-byte limit",
			 strlen(s->t.key), TN_MAX_KEY);
	}
	if (!code && strstr(r->raw_path, "%00")) {
		/* the decoded path ends at the NUL: the key would silently be another one */
		code = "InvalidArgument";
		snprintf(msg, sizeof msg, "the key contains a NUL byte (%%00)");
	}
	if (code) {
		s3_error(r, !strcmp(code, "MethodNotAllowed") ? 405 : 400, code, msg);
		return false;
	}
	if (!s3_authenticate(r, s))
		return false;
	http_peer(r, s->addr, sizeof s->addr);
	s->c = (struct obj_caller){ .name = r->who.name, .admin = r->who.is_admin,
				    .source = s->addr, .request_id = r->request_id, .via = "s3",
				    .auth = "sigv4" };
	if (s->t.op == S3_OP_UNSUPPORTED) {
		snprintf(msg, sizeof msg, "%s %s with this query is not implemented", r->method,
			 s->t.key ? "on an object" : "on the bucket");
		s3_error(r, 501, "NotImplemented", msg);
		return false;
	}
	if (s->t.bucket[0] && !bucket_ok(r, s))
		return false;
	if (s->t.op == S3_OP_PUT_OBJECT)
		return upload_begin(r, s, 0, NULL);
	if (s->t.op == S3_OP_UPLOAD_PART)
		return part_begin(r, s);
	return true;
}

void s3_finish(struct http_req *r)
{
	struct s3req *s = r->edge;
	if (!r->body_fn) {
		/* a buffered body (XML, or none): check the hash the client signed */
		uint8_t h[SHA256_LEN];
		if (r->body_too_big) {
			s3_error(r, 400, "MaxMessageLengthExceeded", "Your request was too big.");
			return;
		}
		crypto_sha256(r->body.data ? r->body.data : "", r->body.len, h);
		if (!sigv4_payload_ok(&s->sig, h)) {
			s3_error(r, 400, "XAmzContentSHA256Mismatch", "The provided "
				 "'x-amz-content-sha256' header does not match what was computed.");
			return;
		}
	}
	switch (s->t.op) {
	case S3_OP_PUT_OBJECT:
	case S3_OP_UPLOAD_PART:
		upload_finish(r, s);
		break;
	case S3_OP_CREATE_MULTIPART_UPLOAD:
		mpu_create(r, s);
		break;
	case S3_OP_COMPLETE_MULTIPART_UPLOAD:
		http_defer(r, mpu_complete);
		break;
	case S3_OP_ABORT_MULTIPART_UPLOAD:
		mpu_abort(r, s);
		break;
	case S3_OP_LIST_PARTS:
		mpu_list_parts(r, s);
		break;
	case S3_OP_LIST_MULTIPART_UPLOADS:
		mpu_list(r, s);
		break;
	case S3_OP_UPLOAD_PART_COPY:
		http_defer(r, part_copy);
		break;
	case S3_OP_GET_OBJECT:
		get_object(r, s, false);
		break;
	case S3_OP_HEAD_OBJECT:
		get_object(r, s, true);
		break;
	case S3_OP_DELETE_OBJECT:
		delete_object(r, s);
		break;
	case S3_OP_HEAD_BUCKET:
		http_reply_empty(r, 200);
		http_header_add(r, "x-amz-bucket-region", "us-east-1");
		break;
	case S3_OP_LIST_BUCKETS:
		list_buckets(r, s);
		break;
	case S3_OP_GET_BUCKET_LOCATION:
		s3xml_write_location(s3_xml(r, 200), NULL, NULL);
		break;
	case S3_OP_LIST_OBJECTS:
		list_objects(r, s, 1);
		break;
	case S3_OP_LIST_OBJECTS_V2:
		list_objects(r, s, 2);
		break;
	case S3_OP_DELETE_OBJECTS:
		delete_objects(r, s);
		break;
	case S3_OP_COPY_OBJECT:
		http_defer(r, copy_work);
		break;
	default: {
		char msg[200];
		snprintf(msg, sizeof msg, "%s is not implemented yet", s3_op_name(s->t.op));
		s3_error(r, 501, "NotImplemented", msg);
	}
	}
}

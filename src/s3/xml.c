/*
 * xml.c - S3 XML documents: writers, request body parsers, error codes.
 *
 * Writers.  A document is built through a small sticky-error writer
 * (struct xw): each call appends one piece and does nothing once a call
 * has failed; xw_end closes the root and, on failure, truncates the buf
 * back to where the document began, so a caller never sends half a
 * document.  Text goes through one escaper that walks UTF-8 sequence by
 * sequence and decides per character: escape (& < > " ' CR), copy, or -
 * for what XML 1.0 cannot carry - fail (keys) or replace with U+FFFD
 * (messages).  URL encoding is the third text mode, for keys of listings
 * asked with encoding-type=url; its output is plain ASCII that needs no
 * escaping.
 *
 * Parsers.  expat does the XML; a table of rules (parent element, local
 * name -> element id, leaf or not) drives a stack of element ids, so each
 * document's grammar is a few lines of data plus start/end callbacks that
 * fill the result.  Elements no rule names are ignored with everything
 * inside them.  Text is collected only inside leaves, and a leaf may not
 * contain elements.  Invariants: a DOCTYPE stops the parser before any
 * declaration inside it is read (no entity can ever be defined, so no
 * expansion bombs and no external fetches); depth is capped; the body
 * size is checked before parsing; arrays grow only by appending complete,
 * validated entries, so a failure frees exactly what was appended.
 */
#include "s3/xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "core/banned.h"

/* ---- error codes ---------------------------------------------------- */

/*
 * To add a code: one line, with S3's status and its standard message
 * (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
static const struct {
	const char *code;
	int status;
	const char *message;
} error_codes[] = {
	{ "AccessDenied", 403, "Access Denied" },
	{ "AuthorizationHeaderMalformed", 400, "The authorization header is malformed." },
	{ "AuthorizationQueryParametersError", 400,
	  "Error parsing the query parameters of the presigned request." },
	{ "BadDigest", 400, "The Content-MD5 you specified did not match what we received." },
	{ "BucketAlreadyExists", 409, "The requested bucket name is not available." },
	{ "BucketAlreadyOwnedByYou", 409,
	  "Your previous request to create the named bucket succeeded and you already own it." },
	{ "BucketNotEmpty", 409, "The bucket you tried to delete is not empty." },
	{ "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size." },
	{ "EntityTooSmall", 400,
	  "Your proposed upload is smaller than the minimum allowed object size." },
	{ "ExpiredToken", 400, "The provided token has expired." },
	{ "IncompleteBody", 400,
	  "You did not provide the number of bytes specified by the Content-Length HTTP header." },
	{ "InternalError", 500, "We encountered an internal error. Please try again." },
	{ "InvalidAccessKeyId", 403,
	  "The AWS Access Key Id you provided does not exist in our records." },
	{ "InvalidArgument", 400, "Invalid Argument" },
	{ "InvalidBucketName", 400, "The specified bucket is not valid." },
	{ "InvalidDigest", 400, "The Content-MD5 you specified is not valid." },
	{ "InvalidObjectState", 403, "The operation is not valid for the current state of the object." },
	{ "InvalidPart", 400,
	  "One or more of the specified parts could not be found.  The part may not have been "
	  "uploaded, or the specified entity tag may not match the part's entity tag." },
	{ "InvalidPartOrder", 400,
	  "The list of parts was not in ascending order. Parts must be ordered by part number." },
	{ "InvalidRange", 416, "The requested range is not satisfiable" },
	{ "InvalidRequest", 400, "Invalid Request" },
	{ "InvalidSecurity", 403, "The provided security credentials are not valid." },
	{ "InvalidStorageClass", 400, "The storage class you specified is not valid." },
	{ "InvalidToken", 400, "The provided token is malformed or otherwise invalid." },
	{ "InvalidURI", 400, "Couldn't parse the specified URI." },
	{ "KeyTooLongError", 400, "Your key is too long." },
	{ "MalformedXML", 400,
	  "The XML you provided was not well-formed or did not validate against our published "
	  "schema." },
	{ "MaxMessageLengthExceeded", 400, "Your request was too big." },
	{ "MetadataTooLarge", 400,
	  "Your metadata headers exceed the maximum allowed metadata size." },
	{ "MethodNotAllowed", 405, "The specified method is not allowed against this resource." },
	{ "MissingContentLength", 411, "You must provide the Content-Length HTTP header." },
	{ "MissingRequestBodyError", 400, "Request Body is empty." },
	{ "MissingSecurityHeader", 400, "Your request is missing a required header." },
	{ "NoSuchBucket", 404, "The specified bucket does not exist" },
	{ "NoSuchKey", 404, "The specified key does not exist." },
	{ "NoSuchUpload", 404,
	  "The specified upload does not exist. The upload ID may be invalid, or the upload may "
	  "have been aborted or completed." },
	{ "NoSuchVersion", 404,
	  "The version ID specified in the request does not match an existing version." },
	{ "NotImplemented", 501,
	  "A header you provided implies functionality that is not implemented." },
	{ "NotModified", 304, "Not Modified" },
	{ "OperationAborted", 409,
	  "A conflicting conditional operation is currently in progress against this resource. "
	  "Please try again." },
	{ "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold" },
	{ "RequestTimeTooSkewed", 403,
	  "The difference between the request time and the current time is too large." },
	{ "RequestTimeout", 400,
	  "Your socket connection to the server was not read from or written to within the "
	  "timeout period." },
	{ "ServiceUnavailable", 503, "Please reduce your request rate." },
	{ "SignatureDoesNotMatch", 403,
	  "The request signature we calculated does not match the signature you provided. "
	  "Check your key and signing method." },
	{ "SlowDown", 503, "Please reduce your request rate." },
	{ "XAmzContentSHA256Mismatch", 400,
	  "The provided 'x-amz-content-sha256' header does not match what was computed." },
};

static int error_find(const char *code)
{
	if (!code)
		return -1;
	for (size_t i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++)
		if (strcmp(error_codes[i].code, code) == 0)
			return (int)i;
	return -1;
}

int s3xml_error_status(const char *code)
{
	int i = error_find(code);
	return i < 0 ? 0 : error_codes[i].status;
}

const char *s3xml_error_message(const char *code)
{
	int i = error_find(code);
	return i < 0 ? NULL : error_codes[i].message;
}

/* ---- text: escaping and URL encoding -------------------------------- */

enum txt {
	TXT_STRICT,   /* refuse what XML 1.0 cannot carry */
	TXT_REPLACE,  /* replace it with U+FFFD */
	TXT_URL,      /* percent-encode (encoding-type=url) */
};

static bool url_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

int s3xml_urlencode(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = b->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;
		if (url_safe(c)) {
			rc = buf_putc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			rc = buf_append(b, e, 3);
		}
		if (rc) {
			buf_truncate(b, start);
			return rc;
		}
	}
	return 0;
}

/* Code point of a valid UTF-8 sequence of len bytes. */
static uint32_t utf8_decode(const unsigned char *p, size_t len)
{
	if (len == 1)
		return p[0];
	uint32_t cp = p[0] & (0xff >> (len + 1));
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* Is cp a character of XML 1.0 (its production Char)? */
static bool xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * Appends s[0..n) as XML character data.  Returns 0, TN_ETOOBIG, or (in
 * TXT_STRICT mode) TN_EINVAL with *bad set to the offending byte offset.
 */
static int xml_escape(struct buf *b, const char *s, size_t n, enum txt mode, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;  /* s[run..i) is pending plain text */
	int rc = 0;
	while (i < n && rc == 0) {
		const char *rep = NULL;
		size_t len = utf8_seq_len(u + i, n - i);
		uint32_t cp = len ? utf8_decode(u + i, len) : 0;
		if (len == 0 || !xml_char(cp)) {
			if (mode == TXT_STRICT) {
				*bad = i;
				return TN_EINVAL;
			}
			rep = "\xef\xbf\xbd";
			if (len == 0)
				len = 1;
		} else if (len == 1) {
			switch (cp) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&apos;"; break;
			case '\r': rep = "&#13;"; break;  /* parsers would turn a raw CR into LF */
			default: break;
			}
		}
		if (rep) {
			rc = buf_append(b, s + run, i - run);
			if (rc == 0)
				rc = buf_puts(b, rep);
			run = i + len;
		}
		i += len;
	}
	if (rc == 0)
		rc = buf_append(b, s + run, n - run);
	return rc;
}

/* ---- the writer ------------------------------------------------------ */

struct xw {
	struct buf *b;
	size_t start;      /* len of the buf before this document */
	int rc;            /* first failure, sticky */
	char *err;
	const char *hint;  /* appended to "cannot be written" messages */
};

static void xw_fail_big(struct xw *w)
{
	if (w->rc == 0)
		w->rc = tn_fail(w->err, TN_ETOOBIG, "s3 xml document: larger than %zu bytes",
				w->b->max);
}

static void xw_raw(struct xw *w, const char *s)
{
	if (w->rc == 0 && buf_puts(w->b, s))
		xw_fail_big(w);
}

static void xw_open(struct xw *w, const char *tag)
{
	if (w->rc == 0 && buf_printf(w->b, "<%s>", tag))
		xw_fail_big(w);
}

static void xw_close(struct xw *w, const char *tag)
{
	if (w->rc == 0 && buf_printf(w->b, "</%s>", tag))
		xw_fail_big(w);
}

/* Starts a document whose root element is root, in the S3 namespace if ns. */
static void xw_begin(struct xw *w, struct buf *b, char *err, const char *root, bool ns)
{
	w->b = b;
	w->start = b->len;
	w->rc = 0;
	w->err = err;
	w->hint = "";
	xw_raw(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
	xw_raw(w, root);
	if (ns)
		xw_raw(w, " xmlns=\"" S3XML_NS "\"");
	xw_raw(w, ">");
}

/* Closes the root; on failure, the buf is back to where the document began. */
static int xw_end(struct xw *w, const char *root)
{
	xw_close(w, root);
	if (w->rc)
		buf_truncate(w->b, w->start);
	return w->rc;
}

/* Appends text (without tags) in the given mode. */
static void xw_chars(struct xw *w, const char *tag, const char *s, enum txt mode)
{
	if (w->rc || !s)
		return;
	size_t n = strlen(s), bad = 0;
	int rc = mode == TXT_URL ? s3xml_urlencode(w->b, s, n) : xml_escape(w->b, s, n, mode, &bad);
	if (rc == TN_EINVAL)
		w->rc = tn_fail(w->err, TN_EINVAL,
				"<%s> '%.*s...': the character at byte %zu cannot be written in XML "
				"1.0%s",
				tag, (int)bad, s, bad, w->hint);
	else if (rc)
		xw_fail_big(w);
}

/* <tag>text</tag>; NULL writes an empty element. */
static void xw_text(struct xw *w, const char *tag, const char *s, enum txt mode)
{
	xw_open(w, tag);
	xw_chars(w, tag, s, mode);
	xw_close(w, tag);
}

static void xw_str(struct xw *w, const char *tag, const char *s)
{
	xw_text(w, tag, s, TXT_STRICT);
}

/* A key or prefix: URL-encoded when the request asked for it. */
static void xw_key(struct xw *w, const char *tag, const char *s, bool url)
{
	xw_text(w, tag, s, url ? TXT_URL : TXT_STRICT);
}

static void xw_u64(struct xw *w, const char *tag, uint64_t v)
{
	if (w->rc == 0 && buf_printf(w->b, "<%s>%llu</%s>", tag, (unsigned long long)v, tag))
		xw_fail_big(w);
}

static void xw_bool(struct xw *w, const char *tag, bool v)
{
	xw_str(w, tag, v ? "true" : "false");
}

static void xw_time(struct xw *w, const char *tag, int64_t ms)
{
	char t[64];
	time_format_iso_ms(ms, t, sizeof t);
	xw_str(w, tag, t);
}

/* <ETag>&quot;hex&quot;</ETag>, whether or not etag came quoted. */
static void xw_etag(struct xw *w, const char *etag)
{
	xw_open(w, "ETag");
	if (etag) {
		size_t n = strlen(etag);
		if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
			etag++;
			n -= 2;
		}
		size_t bad = 0;
		xw_raw(w, "&quot;");
		if (w->rc == 0) {
			int rc = xml_escape(w->b, etag, n, TXT_STRICT, &bad);
			if (rc == TN_EINVAL)
				w->rc = tn_fail(w->err, rc, "<ETag>: the character at byte %zu "
							    "cannot be written in XML 1.0", bad);
			else if (rc)
				xw_fail_big(w);
		}
		xw_raw(w, "&quot;");
	}
	xw_close(w, "ETag");
}

static void xw_owner(struct xw *w, const char *tag, const struct s3xml_owner *o)
{
	if (!o)
		return;
	xw_open(w, tag);
	if (o->id)
		xw_str(w, "ID", o->id);
	if (o->display_name)
		xw_str(w, "DisplayName", o->display_name);
	xw_close(w, tag);
}

static void xw_common_prefixes(struct xw *w, const char *const *p, size_t n, bool url)
{
	for (size_t i = 0; i < n; i++) {
		xw_open(w, "CommonPrefixes");
		xw_key(w, "Prefix", p[i], url);
		xw_close(w, "CommonPrefixes");
	}
}

static const char *storage_class(const char *sc)
{
	return sc ? sc : "STANDARD";
}

/* ---- writers ---------------------------------------------------------- */

static bool field_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

int s3xml_write_error(struct buf *b, const struct s3xml_error *e, char *err)
{
	struct xw w;
	const char *code = e->code ? e->code : "InternalError";
	const char *msg = e->message ? e->message : s3xml_error_message(code);
	xw_begin(&w, b, err, "Error", false);
	xw_text(&w, "Code", code, TXT_REPLACE);
	xw_text(&w, "Message", msg ? msg : "", TXT_REPLACE);
	if (e->key)
		xw_text(&w, "Key", e->key, TXT_REPLACE);
	if (e->bucket)
		xw_text(&w, "BucketName", e->bucket, TXT_REPLACE);
	if (e->resource)
		xw_text(&w, "Resource", e->resource, TXT_REPLACE);
	for (size_t i = 0; i < e->nextra; i++)
		if (field_name_ok(e->extra[i].name))
			xw_text(&w, e->extra[i].name, e->extra[i].value, TXT_REPLACE);
	if (e->request_id)
		xw_text(&w, "RequestId", e->request_id, TXT_REPLACE);
	if (e->host_id)
		xw_text(&w, "HostId", e->host_id, TXT_REPLACE);
	return xw_end(&w, "Error");
}

int s3xml_write_list_buckets(struct buf *b, const struct s3xml_owner *owner,
			     const struct s3xml_bucket *buckets, size_t n, char *err)
{
	struct xw w;
	xw_begin(&w, b, err, "ListAllMyBucketsResult", true);
	xw_owner(&w, "Owner", owner);
	xw_open(&w, "Buckets");
	for (size_t i = 0; i < n; i++) {
		xw_open(&w, "Bucket");
		xw_str(&w, "Name", buckets[i].name);
		xw_time(&w, "CreationDate", buckets[i].created_ms);
		xw_close(&w, "Bucket");
	}
	xw_close(&w, "Buckets");
	return xw_end(&w, "ListAllMyBucketsResult");
}

int s3xml_write_location(struct buf *b, const char *region, char *err)
{
	struct xw w;
	if (!region || !*region || strcmp(region, "us-east-1") == 0) {
		/* S3's own answer for the default region: an empty element. */
		if (buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<LocationConstraint xmlns=\"" S3XML_NS "\"/>"))
			return tn_fail(err, TN_ETOOBIG, "s3 xml document: larger than %zu bytes",
				       b->max);
		return 0;
	}
	xw_begin(&w, b, err, "LocationConstraint", true);
	xw_chars(&w, "LocationConstraint", region, TXT_STRICT);
	return xw_end(&w, "LocationConstraint");
}

int s3xml_write_list_objects(struct buf *b, const struct s3xml_list *l, char *err)
{
	struct xw w;
	bool v2 = l->version == 2, url = l->url_encode;
	xw_begin(&w, b, err, "ListBucketResult", true);
	if (!url)
		w.hint = " (list with encoding-type=url)";
	xw_str(&w, "Name", l->bucket);
	xw_key(&w, "Prefix", l->prefix ? l->prefix : "", url);
	if (v2) {
		if (l->start_after)
			xw_key(&w, "StartAfter", l->start_after, url);
		if (l->continuation_token)
			xw_str(&w, "ContinuationToken", l->continuation_token);
		if (l->next_continuation_token)
			xw_str(&w, "NextContinuationToken", l->next_continuation_token);
		xw_u64(&w, "KeyCount", (uint64_t)l->nobjects + l->nprefixes);
	} else {
		xw_key(&w, "Marker", l->marker ? l->marker : "", url);
		if (l->truncated && l->delimiter && l->next_marker)
			xw_key(&w, "NextMarker", l->next_marker, url);
	}
	xw_u64(&w, "MaxKeys", l->max_keys);
	if (l->delimiter)
		xw_key(&w, "Delimiter", l->delimiter, url);
	if (url)
		xw_str(&w, "EncodingType", "url");
	xw_bool(&w, "IsTruncated", l->truncated);
	for (size_t i = 0; i < l->nobjects && w.rc == 0; i++) {
		const struct s3xml_object *o = &l->objects[i];
		xw_open(&w, "Contents");
		xw_key(&w, "Key", o->key, url);
		xw_time(&w, "LastModified", o->mtime_ms);
		xw_etag(&w, o->etag);
		xw_u64(&w, "Size", o->size);
		xw_owner(&w, "Owner", o->owner);
		xw_str(&w, "StorageClass", storage_class(o->storage_class));
		xw_close(&w, "Contents");
	}
	xw_common_prefixes(&w, l->prefixes, l->nprefixes, url);
	return xw_end(&w, "ListBucketResult");
}

int s3xml_write_copy_result(struct buf *b, bool part, int64_t mtime_ms, const char *etag,
			    char *err)
{
	struct xw w;
	const char *root = part ? "CopyPartResult" : "CopyObjectResult";
	xw_begin(&w, b, err, root, true);
	xw_time(&w, "LastModified", mtime_ms);
	xw_etag(&w, etag);
	return xw_end(&w, root);
}

int s3xml_write_initiate_upload(struct buf *b, const char *bucket, const char *key,
				const char *upload_id, char *err)
{
	struct xw w;
	xw_begin(&w, b, err, "InitiateMultipartUploadResult", true);
	xw_str(&w, "Bucket", bucket);
	xw_str(&w, "Key", key);
	xw_str(&w, "UploadId", upload_id);
	return xw_end(&w, "InitiateMultipartUploadResult");
}

int s3xml_write_complete_upload(struct buf *b, const char *location, const char *bucket,
				const char *key, const char *etag, char *err)
{
	struct xw w;
	xw_begin(&w, b, err, "CompleteMultipartUploadResult", true);
	xw_str(&w, "Location", location);
	xw_str(&w, "Bucket", bucket);
	xw_str(&w, "Key", key);
	xw_etag(&w, etag);
	return xw_end(&w, "CompleteMultipartUploadResult");
}

int s3xml_write_list_parts(struct buf *b, const struct s3xml_list_parts *l, char *err)
{
	struct xw w;
	xw_begin(&w, b, err, "ListPartsResult", true);
	xw_str(&w, "Bucket", l->bucket);
	xw_str(&w, "Key", l->key);
	xw_str(&w, "UploadId", l->upload_id);
	xw_owner(&w, "Initiator", l->initiator);
	xw_owner(&w, "Owner", l->owner);
	xw_str(&w, "StorageClass", storage_class(l->storage_class));
	xw_u64(&w, "PartNumberMarker", l->part_number_marker);
	xw_u64(&w, "NextPartNumberMarker", l->next_part_number_marker);
	xw_u64(&w, "MaxParts", l->max_parts);
	xw_bool(&w, "IsTruncated", l->truncated);
	for (size_t i = 0; i < l->nparts && w.rc == 0; i++) {
		const struct s3xml_part *p = &l->parts[i];
		xw_open(&w, "Part");
		xw_u64(&w, "PartNumber", p->number);
		xw_time(&w, "LastModified", p->mtime_ms);
		xw_etag(&w, p->etag);
		xw_u64(&w, "Size", p->size);
		xw_close(&w, "Part");
	}
	return xw_end(&w, "ListPartsResult");
}

int s3xml_write_list_uploads(struct buf *b, const struct s3xml_list_uploads *l, char *err)
{
	struct xw w;
	bool url = l->url_encode;
	xw_begin(&w, b, err, "ListMultipartUploadsResult", true);
	if (!url)
		w.hint = " (list with encoding-type=url)";
	xw_str(&w, "Bucket", l->bucket);
	xw_key(&w, "KeyMarker", l->key_marker ? l->key_marker : "", url);
	xw_str(&w, "UploadIdMarker", l->upload_id_marker ? l->upload_id_marker : "");
	xw_key(&w, "NextKeyMarker", l->next_key_marker ? l->next_key_marker : "", url);
	xw_str(&w, "NextUploadIdMarker", l->next_upload_id_marker ? l->next_upload_id_marker : "");
	if (l->delimiter)
		xw_key(&w, "Delimiter", l->delimiter, url);
	xw_key(&w, "Prefix", l->prefix ? l->prefix : "", url);
	if (url)
		xw_str(&w, "EncodingType", "url");
	xw_u64(&w, "MaxUploads", l->max_uploads);
	xw_bool(&w, "IsTruncated", l->truncated);
	for (size_t i = 0; i < l->nuploads && w.rc == 0; i++) {
		const struct s3xml_upload *u = &l->uploads[i];
		xw_open(&w, "Upload");
		xw_key(&w, "Key", u->key, url);
		xw_str(&w, "UploadId", u->upload_id);
		xw_owner(&w, "Initiator", u->initiator);
		xw_owner(&w, "Owner", u->owner);
		xw_str(&w, "StorageClass", storage_class(u->storage_class));
		xw_time(&w, "Initiated", u->initiated_ms);
		xw_close(&w, "Upload");
	}
	xw_common_prefixes(&w, l->prefixes, l->nprefixes, url);
	return xw_end(&w, "ListMultipartUploadsResult");
}

int s3xml_write_delete_result(struct buf *b, bool quiet, const struct s3xml_delete_outcome *o,
			      size_t n, char *err)
{
	struct xw w;
	xw_begin(&w, b, err, "DeleteResult", true);
	for (size_t i = 0; i < n && w.rc == 0; i++) {
		if (!o[i].code) {
			if (quiet)
				continue;
			xw_open(&w, "Deleted");
			xw_str(&w, "Key", o[i].key);
			if (o[i].version_id)
				xw_str(&w, "VersionId", o[i].version_id);
			xw_close(&w, "Deleted");
			continue;
		}
		const char *msg = o[i].message ? o[i].message : s3xml_error_message(o[i].code);
		xw_open(&w, "Error");
		xw_str(&w, "Key", o[i].key);
		if (o[i].version_id)
			xw_str(&w, "VersionId", o[i].version_id);
		xw_str(&w, "Code", o[i].code);
		xw_text(&w, "Message", msg ? msg : "", TXT_REPLACE);
		xw_close(&w, "Error");
	}
	return xw_end(&w, "DeleteResult");
}

/* ---- parsers ------------------------------------------------------------ */

/* Element ids of the request documents.  EL_TOP is the parent of the root. */
enum el {
	EL_IGNORED,
	EL_TOP,
	EL_DELETE,
	EL_QUIET,
	EL_OBJECT,
	EL_KEY,
	EL_VERSION_ID,
	EL_COMPLETE,
	EL_PART,
	EL_PART_NUMBER,
	EL_ETAG,
	EL_CHECKSUM,
};

struct rule {
	enum el parent;
	const char *name;  /* local name */
	enum el el;
	bool leaf;         /* collects text, may not contain elements */
};

static const struct rule delete_rules[] = {
	{ EL_TOP, "Delete", EL_DELETE, false },
	{ EL_DELETE, "Quiet", EL_QUIET, true },
	{ EL_DELETE, "Object", EL_OBJECT, false },
	{ EL_OBJECT, "Key", EL_KEY, true },
	{ EL_OBJECT, "VersionId", EL_VERSION_ID, true },
	{ EL_IGNORED, NULL, EL_IGNORED, false },
};

static const struct rule complete_rules[] = {
	{ EL_TOP, "CompleteMultipartUpload", EL_COMPLETE, false },
	{ EL_COMPLETE, "Part", EL_PART, false },
	{ EL_PART, "PartNumber", EL_PART_NUMBER, true },
	{ EL_PART, "ETag", EL_ETAG, true },
	{ EL_PART, "ChecksumCRC32", EL_CHECKSUM, true },
	{ EL_PART, "ChecksumCRC32C", EL_CHECKSUM, true },
	{ EL_PART, "ChecksumCRC64NVME", EL_CHECKSUM, true },
	{ EL_PART, "ChecksumSHA1", EL_CHECKSUM, true },
	{ EL_PART, "ChecksumSHA256", EL_CHECKSUM, true },
	{ EL_IGNORED, NULL, EL_IGNORED, false },
};

/* Separates a namespace URI from the local name; no XML name or URI holds it. */
#define NS_SEP '\x1f'

struct px;
/* name: the rule's local name (static). */
typedef void (*px_start_fn)(struct px *x, enum el el, const char *name);
typedef void (*px_end_fn)(struct px *x, enum el el, const char *text, size_t n);

struct px {
	XML_Parser parser;
	const char *what;            /* "delete body", for messages */
	const struct rule *rules;
	enum el stack[S3XML_MAX_DEPTH];
	bool leaf[S3XML_MAX_DEPTH];
	int depth;
	struct buf text;             /* text of the current leaf */
	px_start_fn on_start;
	px_end_fn on_end;
	void *ctx;
	int rc;                      /* first failure */
	const char *code;
	char *err;
};

static const char *local_name(const XML_Char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	return sep ? sep + 1 : name;
}

/* Records the first failure ("<what>: <message>") and stops the parser. */
static void px_fail(struct px *x, int rc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void px_fail(struct px *x, int rc, const char *code, const char *fmt, ...)
{
	if (x->rc)
		return;
	char msg[TN_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	x->rc = tn_fail(x->err, rc, "%s: %s", x->what, msg);
	x->code = code;
	XML_StopParser(x->parser, XML_FALSE);
}

static void XMLCALL px_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct px *x = ud;
	(void)attrs;
	if (x->rc)
		return;
	const char *local = local_name(name);
	if (x->depth >= S3XML_MAX_DEPTH) {
		px_fail(x, TN_EINVAL, "MalformedXML", "elements nested too deep at <%s>", local);
		return;
	}
	enum el parent = x->depth ? x->stack[x->depth - 1] : EL_TOP;
	if (x->depth && x->leaf[x->depth - 1]) {
		px_fail(x, TN_EINVAL, "MalformedXML", "unexpected element <%s> inside a value",
			local);
		return;
	}
	const struct rule *rule = NULL;
	if (parent != EL_IGNORED)
		for (const struct rule *r = x->rules; r->name && !rule; r++)
			if (r->parent == parent && strcmp(r->name, local) == 0)
				rule = r;
	enum el el = rule ? rule->el : EL_IGNORED;
	bool leaf = rule && rule->leaf;
	if (parent == EL_TOP && el == EL_IGNORED) {
		px_fail(x, TN_EINVAL, "MalformedXML", "unexpected root element <%s>", local);
		return;
	}
	x->stack[x->depth] = el;
	x->leaf[x->depth] = leaf;
	x->depth++;
	if (leaf)
		buf_reset(&x->text);
	if (rule && x->on_start)
		x->on_start(x, el, rule->name);
}

static void XMLCALL px_end(void *ud, const XML_Char *name)
{
	struct px *x = ud;
	(void)name;
	if (x->rc || x->depth == 0)
		return;
	x->depth--;
	enum el el = x->stack[x->depth];
	if (el != EL_IGNORED)
		x->on_end(x, el, x->text.data, x->leaf[x->depth] ? x->text.len : 0);
}

static void XMLCALL px_chars(void *ud, const XML_Char *s, int len)
{
	struct px *x = ud;
	if (x->rc || x->depth == 0 || !x->leaf[x->depth - 1])
		return;
	/* The text of one leaf is part of the body, which is capped: cannot pass max. */
	if (buf_append(&x->text, s, (size_t)len))
		px_fail(x, TN_ETOOBIG, "MaxMessageLengthExceeded", "a value too long");
}

static void XMLCALL px_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	struct px *x = ud;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	px_fail(x, TN_EINVAL, "MalformedXML", "DOCTYPE '%s' is not allowed (no DTDs or entities)",
		name);
}

static void XMLCALL px_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len, const XML_Char *base,
			      const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	struct px *x = ud;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	px_fail(x, TN_EINVAL, "MalformedXML", "entity declaration '%s' is not allowed", name);
}

/*
 * Runs the parser over the whole body.  Returns 0 or the first failure
 * (x->code and x->err set).
 */
static int px_run(struct px *x, const char *body, size_t n, size_t cap)
{
	if (n > cap) {
		x->code = "MaxMessageLengthExceeded";
		return tn_fail(x->err, TN_ETOOBIG, "%s: %zu bytes, more than the %zu allowed",
			       x->what, n, cap);
	}
	if (n == 0) {
		x->code = "MalformedXML";
		return tn_fail(x->err, TN_EINVAL, "%s: empty; expected an XML document", x->what);
	}
	x->parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (!x->parser)
		TN_BUG("XML_ParserCreateNS failed");
	buf_init(&x->text, cap);
	XML_SetUserData(x->parser, x);
	XML_SetElementHandler(x->parser, px_start, px_end);
	XML_SetCharacterDataHandler(x->parser, px_chars);
	XML_SetStartDoctypeDeclHandler(x->parser, px_doctype);
	XML_SetEntityDeclHandler(x->parser, px_entity);
	XML_SetParamEntityParsing(x->parser, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(x->parser, body, (int)n, XML_TRUE) != XML_STATUS_OK && x->rc == 0) {
		char where[64];
		snprintf(where, sizeof where, "line %lu, column %lu",
			 (unsigned long)XML_GetCurrentLineNumber(x->parser),
			 (unsigned long)XML_GetCurrentColumnNumber(x->parser) + 1);
		x->rc = tn_fail(x->err, TN_EINVAL, "%s: not well-formed XML at %s: %s", x->what,
				where, XML_ErrorString(XML_GetErrorCode(x->parser)));
		x->code = "MalformedXML";
	}
	XML_ParserFree(x->parser);
	x->parser = NULL;
	buf_release(&x->text);
	return x->rc;
}

/* The text without leading and trailing ASCII whitespace (a view into it). */
static struct str trimmed(const char *text, size_t n)
{
	return str_trim(str_make(text, n));
}

/* ---- Delete ---------------------------------------------------------- */

struct delete_ctx {
	struct s3xml_delete *out;
	size_t cap;
	struct s3xml_delete_object cur;
};

static void delete_start(struct px *x, enum el el, const char *name)
{
	struct delete_ctx *c = x->ctx;
	(void)name;
	if (el != EL_OBJECT)
		return;
	if (c->out->n >= S3XML_MAX_DELETE_OBJECTS) {
		px_fail(x, TN_EINVAL, "MalformedXML", "more than %u objects",
			S3XML_MAX_DELETE_OBJECTS);
		return;
	}
	free(c->cur.key);
	free(c->cur.version_id);
	c->cur.key = NULL;
	c->cur.version_id = NULL;
}

static void delete_end(struct px *x, enum el el, const char *text, size_t n)
{
	struct delete_ctx *c = x->ctx;
	struct s3xml_delete *d = c->out;
	switch (el) {
	case EL_QUIET: {
		struct str v = trimmed(text, n);
		if (str_eq_cstr(v, "true") || str_eq_cstr(v, "1"))
			d->quiet = true;
		else if (str_eq_cstr(v, "false") || str_eq_cstr(v, "0"))
			d->quiet = false;
		else
			px_fail(x, TN_EINVAL, "MalformedXML", "<Quiet> must be true or false");
		break;
	}
	case EL_KEY:
		if (c->cur.key) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Object> with two <Key>s");
			break;
		}
		c->cur.key = xstrndup(text, n);
		break;
	case EL_VERSION_ID:
		if (c->cur.version_id) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Object> with two <VersionId>s");
			break;
		}
		c->cur.version_id = xstrndup(text, n);
		break;
	case EL_OBJECT:
		if (!c->cur.key || !c->cur.key[0]) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Object> %s",
				c->cur.key ? "with an empty <Key>" : "without a <Key>");
			break;
		}
		if (d->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			d->objects = xrealloc(d->objects, c->cap * sizeof *d->objects);
		}
		d->objects[d->n++] = c->cur;
		c->cur.key = NULL;
		c->cur.version_id = NULL;
		break;
	default:
		break;
	}
}

int s3xml_parse_delete(const char *body, size_t n, struct s3xml_delete *out, const char **code,
		       char *err)
{
	struct delete_ctx c = { out, 0, { NULL, NULL } };
	struct px x = { 0 };
	memset(out, 0, sizeof *out);
	x.what = "delete body";
	x.rules = delete_rules;
	x.on_start = delete_start;
	x.on_end = delete_end;
	x.ctx = &c;
	x.err = err;
	int rc = px_run(&x, body, n, S3XML_MAX_DELETE_BODY);
	free(c.cur.key);
	free(c.cur.version_id);
	if (rc == 0 && out->n == 0) {
		x.code = "MalformedXML";
		rc = tn_fail(err, TN_EINVAL, "delete body: no <Object> to delete");
	}
	if (rc) {
		s3xml_delete_release(out);
		*code = x.code;
	} else {
		*code = NULL;
	}
	return rc;
}

void s3xml_delete_release(struct s3xml_delete *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->objects[i].key);
		free(d->objects[i].version_id);
	}
	free(d->objects);
	memset(d, 0, sizeof *d);
}

/* ---- CompleteMultipartUpload ----------------------------------------- */

struct complete_ctx {
	struct s3xml_complete *out;
	size_t cap;
	struct s3xml_complete_part cur;
	const char *checksum_name;  /* of the current checksum element ("CRC32"), static */
};

static void part_clear(struct s3xml_complete_part *p)
{
	free(p->etag);
	free(p->checksum_name);
	free(p->checksum);
	memset(p, 0, sizeof *p);
}

static void complete_start(struct px *x, enum el el, const char *name)
{
	struct complete_ctx *c = x->ctx;
	if (el == EL_PART)
		part_clear(&c->cur);
	else if (el == EL_CHECKSUM)
		c->checksum_name = name + strlen("Checksum");
}

/* Parses a part number: digits only; 0 when out of 1..S3XML_MAX_PART_NUMBER, -1 when not a number. */
static long part_number(struct str v)
{
	if (v.n == 0)
		return -1;
	long num = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		if (num <= (long)S3XML_MAX_PART_NUMBER)
			num = num * 10 + (v.p[i] - '0');
	}
	return num >= 1 && num <= (long)S3XML_MAX_PART_NUMBER ? num : 0;
}

static void complete_end(struct px *x, enum el el, const char *text, size_t n)
{
	struct complete_ctx *c = x->ctx;
	struct s3xml_complete *out = c->out;
	struct str v = trimmed(text, n);
	switch (el) {
	case EL_PART_NUMBER: {
		long num = part_number(v);
		if (num < 0) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<PartNumber> '%.*s' is not a number",
				(int)v.n, v.p);
		} else if (num == 0) {
			px_fail(x, TN_EINVAL, "InvalidArgument",
				"<PartNumber> '%.*s': part number must be an integer between 1 and "
				"%u, inclusive", (int)v.n, v.p, S3XML_MAX_PART_NUMBER);
		} else if (c->cur.number) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Part> with two <PartNumber>s");
		} else {
			c->cur.number = (uint32_t)num;
		}
		break;
	}
	case EL_ETAG:
		if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"') {
			v.p++;
			v.n -= 2;
		}
		if (v.n == 0)
			px_fail(x, TN_EINVAL, "MalformedXML", "<Part> with an empty <ETag>");
		else if (c->cur.etag)
			px_fail(x, TN_EINVAL, "MalformedXML", "<Part> with two <ETag>s");
		else
			c->cur.etag = xstrndup(v.p, v.n);
		break;
	case EL_CHECKSUM:
		if (c->cur.checksum) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Part> with two checksums");
			break;
		}
		c->cur.checksum_name = xstrdup(c->checksum_name);
		c->cur.checksum = xstrndup(v.p, v.n);
		break;
	case EL_PART:
		if (!c->cur.number || !c->cur.etag) {
			px_fail(x, TN_EINVAL, "MalformedXML", "<Part> %u without %s", c->cur.number,
				!c->cur.number ? "a <PartNumber>" : "an <ETag>");
			break;
		}
		if (out->n && out->parts[out->n - 1].number >= c->cur.number) {
			px_fail(x, TN_EINVAL, "InvalidPartOrder", "part %u after part %u: part numbers must be in strictly ascending order",
				c->cur.number, out->parts[out->n - 1].number);
			break;
		}
		if (out->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			out->parts = xrealloc(out->parts, c->cap * sizeof *out->parts);
		}
		out->parts[out->n++] = c->cur;
		memset(&c->cur, 0, sizeof c->cur);
		break;
	default:
		break;
	}
}

int s3xml_parse_complete(const char *body, size_t n, struct s3xml_complete *out,
			 const char **code, char *err)
{
	struct complete_ctx c = { 0 };
	struct px x = { 0 };
	memset(out, 0, sizeof *out);
	c.out = out;
	x.what = "complete body";
	x.rules = complete_rules;
	x.on_start = complete_start;
	x.on_end = complete_end;
	x.ctx = &c;
	x.err = err;
	int rc = px_run(&x, body, n, S3XML_MAX_COMPLETE_BODY);
	part_clear(&c.cur);
	if (rc == 0 && out->n == 0) {
		x.code = "MalformedXML";
		rc = tn_fail(err, TN_EINVAL, "complete body: no <Part> listed");
	}
	if (rc) {
		s3xml_complete_release(out);
		*code = x.code;
	} else {
		*code = NULL;
	}
	return rc;
}

void s3xml_complete_release(struct s3xml_complete *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		part_clear(&c->parts[i]);
	free(c->parts);
	memset(c, 0, sizeof *c);
}

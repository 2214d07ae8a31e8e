/*
 * op.c - S3 operations from method, path, query and headers.
 *
 * A sub-resource is a query parameter present with or without a value
 * ("?uploads", "?delete="), so presence is tested by name on the raw
 * query; values are read by the caller.  Unknown sub-resources that S3
 * defines (acl, tagging, ...) make the request S3_OP_UNSUPPORTED, never
 * the plain operation: a client setting an ACL must not get an object
 * overwritten or read instead.
 */
#include "s3/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/banned.h"

static const char *const op_names[] = {
	"Unsupported", "ListBuckets", "HeadBucket", "GetBucketLocation", "ListObjects",
	"ListObjectsV2", "ListMultipartUploads", "DeleteObjects", "GetObject", "HeadObject",
	"PutObject", "CopyObject", "DeleteObject", "CreateMultipartUpload", "UploadPart",
	"UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts",
};

const char *s3_op_name(enum s3_op op)
{
	return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "Unsupported";
}

/* Is parameter name in the raw query (with or without a value)? */
static bool has_param(const char *q, const char *name)
{
	size_t n = strlen(name);
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		if (len >= n && !memcmp(q, name, n) && (len == n || q[n] == '='))
			return true;
		q = amp ? amp + 1 : NULL;
	}
	return false;
}

/* The S3 sub-resources tarn does not serve. */
static bool unsupported_subresource(const char *q)
{
	static const char *const names[] = {
		"acl", "tagging", "versioning", "versions", "policy", "policyStatus", "cors",
		"lifecycle", "website", "logging", "notification", "replication", "encryption",
		"object-lock", "retention", "legal-hold", "torrent", "restore", "select",
		"accelerate", "requestPayment", "analytics", "inventory", "metrics",
		"ownershipControls", "publicAccessBlock", "intelligent-tiering", "attributes",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (has_param(q, names[i]))
			return true;
	return false;
}

bool s3_bucket_valid(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > S3_MAX_BUCKET)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '-')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
	}
	return true;
}

/* The bucket of a virtual-host request: Host "<bucket>.<domain>[:port]". */
static bool host_bucket(const char *host, const char *domain, char *out, size_t n)
{
	if (!host || !domain || !*domain)
		return false;
	size_t hl = strcspn(host, ":"), dl = strlen(domain);
	if (host[0] == '[' || hl <= dl + 1 || host[hl - dl - 1] != '.' ||
	    strncasecmp(host + hl - dl, domain, dl))
		return false;
	size_t bl = hl - dl - 1;
	if (bl >= n)
		return false;
	for (size_t i = 0; i < bl; i++)
		out[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] - 'A' + 'a' : host[i]);
	out[bl] = '\0';
	return true;
}

static const char *fail(char *msg, size_t n, const char *code, const char *fmt, const char *arg)
{
	snprintf(msg, n, fmt, arg);
	return code;
}

static enum s3_op bucket_op(const char *m, const char *q)
{
	if (!strcmp(m, "HEAD"))
		return S3_OP_HEAD_BUCKET;
	if (!strcmp(m, "POST"))
		return has_param(q, "delete") ? S3_OP_DELETE_OBJECTS : S3_OP_UNSUPPORTED;
	if (strcmp(m, "GET"))
		return S3_OP_UNSUPPORTED; /* PUT (CreateBucket), DELETE (DeleteBucket) */
	if (has_param(q, "location"))
		return S3_OP_GET_BUCKET_LOCATION;
	if (has_param(q, "uploads"))
		return S3_OP_LIST_MULTIPART_UPLOADS;
	if (has_param(q, "list-type")) {
		const char *v = strstr(q, "list-type=");
		return v && v[10] == '2' && (v[11] == '\0' || v[11] == '&') ? S3_OP_LIST_OBJECTS_V2
									  : S3_OP_UNSUPPORTED;
	}
	return S3_OP_LIST_OBJECTS;
}

static enum s3_op object_op(const char *m, const char *q, const char *copy_source)
{
	bool upload_id = has_param(q, "uploadId");
	if (!strcmp(m, "GET"))
		return upload_id ? S3_OP_LIST_PARTS : S3_OP_GET_OBJECT;
	if (!strcmp(m, "HEAD"))
		return S3_OP_HEAD_OBJECT;
	if (!strcmp(m, "PUT")) {
		if (upload_id || has_param(q, "partNumber")) {
			if (!upload_id || !has_param(q, "partNumber"))
				return S3_OP_UNSUPPORTED;
			return copy_source ? S3_OP_UPLOAD_PART_COPY : S3_OP_UPLOAD_PART;
		}
		return copy_source ? S3_OP_COPY_OBJECT : S3_OP_PUT_OBJECT;
	}
	if (!strcmp(m, "DELETE"))
		return upload_id ? S3_OP_ABORT_MULTIPART_UPLOAD : S3_OP_DELETE_OBJECT;
	if (!strcmp(m, "POST")) {
		if (has_param(q, "uploads"))
			return S3_OP_CREATE_MULTIPART_UPLOAD;
		if (upload_id)
			return S3_OP_COMPLETE_MULTIPART_UPLOAD;
	}
	return S3_OP_UNSUPPORTED;
}

const char *s3_op_parse(const char *method, const char *path, const char *raw_query,
			const char *host, const char *domain, const char *copy_source,
			struct s3_target *out, char *msg, size_t msglen)
{
	const char *q = raw_query ? raw_query : "";
	memset(out, 0, sizeof *out);
	if (!path || path[0] != '/')
		return fail(msg, msglen, "InvalidRequest", "path '%.200s' does not start with '/'",
			    path ? path : "");
	const char *rest = path + 1;
	if (host_bucket(host, domain, out->bucket, sizeof out->bucket)) {
		out->virtual_host = true;
	} else if (*rest) {
		size_t bl = strcspn(rest, "/");
		if (bl > S3_MAX_BUCKET)
			return fail(msg, msglen, "InvalidBucketName",
				    "bucket name '%.80s' is longer than 63 characters", rest);
		memcpy(out->bucket, rest, bl);
		out->bucket[bl] = '\0';
		rest += bl;
		if (*rest == '/')
			rest++;
	}
	if (!out->bucket[0]) {
		out->op = !strcmp(method, "GET") ? S3_OP_LIST_BUCKETS : S3_OP_UNSUPPORTED;
		return out->op == S3_OP_UNSUPPORTED
			       ? fail(msg, msglen, "MethodNotAllowed",
				      "%s is not allowed on the service (only GET: ListBuckets)", method)
			       : NULL;
	}
	if (!s3_bucket_valid(out->bucket))
		return fail(msg, msglen, "InvalidBucketName",
			    "'%.80s' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')",
			    out->bucket);
	if (unsupported_subresource(q)) {
		out->op = S3_OP_UNSUPPORTED;
		return NULL;
	}
	if (!*rest) {
		out->op = bucket_op(method, q);
		return NULL;
	}
	out->key = xstrdup(rest);
	out->op = object_op(method, q, copy_source);
	return NULL;
}

void s3_target_release(struct s3_target *t)
{
	free(t->key);
	t->key = NULL;
}

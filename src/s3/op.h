/*
 * op.h - which S3 operation a request is, on which bucket and key.
 *
 * S3 names operations by method, path and query, not by a header:
 *   GET  /                         ListBuckets
 *   HEAD /b                        HeadBucket
 *   GET  /b?location               GetBucketLocation
 *   GET  /b?list-type=2            ListObjectsV2 (GET /b alone: ListObjects v1)
 *   GET  /b?uploads                ListMultipartUploads
 *   POST /b?delete                 DeleteObjects
 *   GET  /b/k                      GetObject (?uploadId=: ListParts)
 *   HEAD /b/k                      HeadObject
 *   PUT  /b/k                      PutObject (x-amz-copy-source: CopyObject;
 *                                  ?partNumber&uploadId: UploadPart, with
 *                                  x-amz-copy-source: UploadPartCopy)
 *   DELETE /b/k                    DeleteObject (?uploadId=: AbortMultipartUpload)
 *   POST /b/k?uploads              CreateMultipartUpload
 *   POST /b/k?uploadId=            CompleteMultipartUpload
 * The bucket comes from the path (path style) or from the Host header
 * "<bucket>.<domain>" when a domain is configured (virtual-host style).
 * Sub-resources tarn does not serve (?acl, ?tagging, ?versioning, ...) are
 * S3_OP_UNSUPPORTED, so the edge answers NotImplemented rather than
 * treating them as the plain operation.
 *
 * Pure and thread-safe.
 */
#ifndef TN_S3_OP_H
#define TN_S3_OP_H

#include <stdbool.h>
#include <stddef.h>

enum s3_op {
	S3_OP_UNSUPPORTED,
	S3_OP_LIST_BUCKETS,
	S3_OP_HEAD_BUCKET,
	S3_OP_GET_BUCKET_LOCATION,
	S3_OP_LIST_OBJECTS,
	S3_OP_LIST_OBJECTS_V2,
	S3_OP_LIST_MULTIPART_UPLOADS,
	S3_OP_DELETE_OBJECTS,
	S3_OP_GET_OBJECT,
	S3_OP_HEAD_OBJECT,
	S3_OP_PUT_OBJECT,
	S3_OP_COPY_OBJECT,
	S3_OP_DELETE_OBJECT,
	S3_OP_CREATE_MULTIPART_UPLOAD,
	S3_OP_UPLOAD_PART,
	S3_OP_UPLOAD_PART_COPY,
	S3_OP_COMPLETE_MULTIPART_UPLOAD,
	S3_OP_ABORT_MULTIPART_UPLOAD,
	S3_OP_LIST_PARTS,
};
/* "ListObjectsV2", ... (the AWS operation name, for logs and the audit trail). */
const char *s3_op_name(enum s3_op op);

#define S3_MAX_BUCKET 63

struct s3_target {
	enum s3_op op;
	char bucket[S3_MAX_BUCKET + 1];  /* "" for ListBuckets */
	char *key;                       /* decoded, owned; NULL when the op has none */
	bool virtual_host;               /* the bucket came from Host */
};

/*
 * Classifies a request.  path: percent-decoded path ("/b/k/x"); raw_query:
 * as on the wire (may be NULL); host: the Host header (may be NULL);
 * domain: the configured virtual-host domain ("s3.local"), or NULL/"".
 * copy_source: the x-amz-copy-source header or NULL.  Returns 0, or an S3
 * error code (a static string: "InvalidBucketName", "MethodNotAllowed",
 * "InvalidRequest") with a message in msg (msglen bytes).
 */
const char *s3_op_parse(const char *method, const char *path, const char *raw_query,
			const char *host, const char *domain, const char *copy_source,
			struct s3_target *out, char *msg, size_t msglen);
void s3_target_release(struct s3_target *t);

/* Is name a valid bucket name (3..63 of [a-z0-9.-], starting and ending alphanumeric)? */
bool s3_bucket_valid(const char *name);

#endif

/*
 * test_s3op.c - S3 operations from method, path, query and Host.
 */
#include <string.h>

#include "s3/op.h"
#include "harness.h"

static enum s3_op op(const char *m, const char *path, const char *q, const char *copy)
{
	struct s3_target t;
	char msg[256];
	const char *code = s3_op_parse(m, path, q, "127.0.0.1:9000", NULL, copy, &t, msg,
				       sizeof msg);
	CHECK(code == NULL);
	s3_target_release(&t);
	return t.op;
}

TEST(operations_by_method_path_and_query)
{
	CHECK_INT(op("GET", "/", "", NULL), S3_OP_LIST_BUCKETS);
	CHECK_INT(op("HEAD", "/lake", "", NULL), S3_OP_HEAD_BUCKET);
	CHECK_INT(op("GET", "/lake", "location", NULL), S3_OP_GET_BUCKET_LOCATION);
	CHECK_INT(op("GET", "/lake", "list-type=2&prefix=a", NULL), S3_OP_LIST_OBJECTS_V2);
	CHECK_INT(op("GET", "/lake/", "prefix=a&delimiter=%2F", NULL), S3_OP_LIST_OBJECTS);
	CHECK_INT(op("GET", "/lake", "uploads", NULL), S3_OP_LIST_MULTIPART_UPLOADS);
	CHECK_INT(op("POST", "/lake", "delete", NULL), S3_OP_DELETE_OBJECTS);
	CHECK_INT(op("POST", "/lake", "delete=", NULL), S3_OP_DELETE_OBJECTS);
	CHECK_INT(op("GET", "/lake/a/b.csv", "", NULL), S3_OP_GET_OBJECT);
	CHECK_INT(op("HEAD", "/lake/a/b.csv", "", NULL), S3_OP_HEAD_OBJECT);
	CHECK_INT(op("PUT", "/lake/a/b.csv", "", NULL), S3_OP_PUT_OBJECT);
	CHECK_INT(op("PUT", "/lake/a/b.csv", "", "/lake/x"), S3_OP_COPY_OBJECT);
	CHECK_INT(op("DELETE", "/lake/a/b.csv", "", NULL), S3_OP_DELETE_OBJECT);
	CHECK_INT(op("POST", "/lake/a/b.csv", "uploads", NULL), S3_OP_CREATE_MULTIPART_UPLOAD);
	CHECK_INT(op("PUT", "/lake/a/b.csv", "partNumber=1&uploadId=u", NULL), S3_OP_UPLOAD_PART);
	CHECK_INT(op("PUT", "/lake/a/b.csv", "partNumber=1&uploadId=u", "/lake/x"),
		  S3_OP_UPLOAD_PART_COPY);
	CHECK_INT(op("POST", "/lake/a/b.csv", "uploadId=u", NULL), S3_OP_COMPLETE_MULTIPART_UPLOAD);
	CHECK_INT(op("DELETE", "/lake/a/b.csv", "uploadId=u", NULL), S3_OP_ABORT_MULTIPART_UPLOAD);
	CHECK_INT(op("GET", "/lake/a/b.csv", "uploadId=u&max-parts=2", NULL), S3_OP_LIST_PARTS);
	/* sub-resources tarn does not serve never fall back to the plain operation */
	CHECK_INT(op("PUT", "/lake/a/b.csv", "acl", NULL), S3_OP_UNSUPPORTED);
	CHECK_INT(op("GET", "/lake/a/b.csv", "tagging", NULL), S3_OP_UNSUPPORTED);
	CHECK_INT(op("GET", "/lake", "versioning", NULL), S3_OP_UNSUPPORTED);
	CHECK_INT(op("PUT", "/lake", "", NULL), S3_OP_UNSUPPORTED);
	CHECK_INT(op("PUT", "/lake/a", "partNumber=1", NULL), S3_OP_UNSUPPORTED);
	/* a parameter is matched by its whole name */
	CHECK_INT(op("GET", "/lake/a", "uploadIdx=1", NULL), S3_OP_GET_OBJECT);
	CHECK_INT(op("GET", "/lake", "list-type=1", NULL), S3_OP_UNSUPPORTED);
}

TEST(buckets_path_and_virtual_host)
{
	struct s3_target t;
	char msg[256];
	CHECK(s3_op_parse("GET", "/lake/a/b", "", "h", NULL, NULL, &t, msg, sizeof msg) == NULL);
	CHECK_STR(t.bucket, "lake");
	CHECK_STR(t.key, "a/b");
	CHECK(!t.virtual_host);
	s3_target_release(&t);
	CHECK(s3_op_parse("GET", "/a/b", "", "Lake.S3.local:9000", "s3.local", NULL, &t, msg,
			  sizeof msg) == NULL);
	CHECK_STR(t.bucket, "lake");
	CHECK_STR(t.key, "a/b");
	CHECK(t.virtual_host);
	s3_target_release(&t);
	/* the domain itself (no bucket label) is path style */
	CHECK(s3_op_parse("GET", "/lake/k", "", "s3.local", "s3.local", NULL, &t, msg,
			  sizeof msg) == NULL);
	CHECK_STR(t.bucket, "lake");
	s3_target_release(&t);
	CHECK_STR(s3_op_parse("GET", "/Bad_Name/k", "", "h", NULL, NULL, &t, msg, sizeof msg),
		  "InvalidBucketName");
	CHECK(strstr(msg, "Bad_Name"));
	CHECK_STR(s3_op_parse("DELETE", "/", "", "h", NULL, NULL, &t, msg, sizeof msg),
		  "MethodNotAllowed");
	CHECK(!s3_bucket_valid("ab") && !s3_bucket_valid("-ab") && s3_bucket_valid("my.lake-1"));
}

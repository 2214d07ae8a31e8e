/*
 * test_s3xml.c - the S3 XML documents: every writer against an exact
 * document, escaping and URL encoding, the Delete and Complete parsers on
 * good and hostile bodies, and the writers' output read back by botocore's
 * own S3 response parser (tests/unit/s3xml_botocore.py).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "s3/xml.h"
#include "harness.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* 2026-11-22T05:40:39.123Z and 2026-01-02T03:04:05.000Z */
#define T1 1795326039123LL
#define T2 1767323045000LL

static const struct s3xml_owner owner = { "75aa57f09aa0c8ca", "tarn" };

/* ---- error codes ------------------------------------------------------ */

TEST(error_codes_map_to_their_statuses)
{
	static const struct {
		const char *code;
		int status;
	} want[] = {
		{ "NoSuchKey", 404 }, { "NoSuchBucket", 404 }, { "NoSuchUpload", 404 },
		{ "AccessDenied", 403 }, { "SignatureDoesNotMatch", 403 },
		{ "InvalidAccessKeyId", 403 }, { "RequestTimeTooSkewed", 403 },
		{ "ExpiredToken", 400 }, { "InvalidRange", 416 }, { "EntityTooLarge", 400 },
		{ "EntityTooSmall", 400 }, { "InvalidPart", 400 }, { "InvalidPartOrder", 400 },
		{ "BadDigest", 400 }, { "InvalidDigest", 400 }, { "InvalidArgument", 400 },
		{ "InvalidRequest", 400 }, { "MalformedXML", 400 }, { "MissingContentLength", 411 },
		{ "PreconditionFailed", 412 }, { "NotModified", 304 }, { "MethodNotAllowed", 405 },
		{ "NotImplemented", 501 }, { "InternalError", 500 }, { "SlowDown", 503 },
		{ "IncompleteBody", 400 }, { "KeyTooLongError", 400 }, { "InvalidBucketName", 400 },
		{ "BucketAlreadyOwnedByYou", 409 }, { "XAmzContentSHA256Mismatch", 400 },
		{ "AuthorizationHeaderMalformed", 400 }, { "MissingSecurityHeader", 400 },
		{ "MaxMessageLengthExceeded", 400 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (s3xml_error_status(want[i].code) != want[i].status)
			fprintf(stderr, "code %s\n", want[i].code);
		CHECK_INT(s3xml_error_status(want[i].code), want[i].status);
		CHECK(s3xml_error_message(want[i].code) != NULL);
	}
	CHECK_INT(s3xml_error_status("NoSuchThing"), 0);
	CHECK_INT(s3xml_error_status(NULL), 0);
	CHECK(s3xml_error_message("NoSuchThing") == NULL);
	CHECK_STR(s3xml_error_message("NoSuchKey"), "The specified key does not exist.");
}

/* ---- writers ------------------------------------------------------------ */

TEST(error_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_error e = { .code = "NoSuchKey", .key = "a/b & <c>.csv",
				 .resource = "/lake/a/b%20%26%20%3Cc%3E.csv",
				 .request_id = "4442587FB7D0A2F9" };
	CHECK_INT(s3xml_write_error(&b, &e, NULL), 0);
	CHECK_STR(b.data, DECL "<Error><Code>NoSuchKey</Code>"
			       "<Message>The specified key does not exist.</Message>"
			       "<Key>a/b &amp; &lt;c&gt;.csv</Key>"
			       "<Resource>/lake/a/b%20%26%20%3Cc%3E.csv</Resource>"
			       "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
	buf_release(&b);
}

TEST(error_document_with_bucket_extra_fields_and_bad_characters)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_field extra[] = {
		{ "X-Amz-Expires", "60" },
		{ "Expires", "2026-11-22T05:40:39Z" },
		{ "bad name", "skipped" },
	};
	/* An expired presigned URL, as S3 answers it; a message holding a raw U+0001. */
	struct s3xml_error e = { .code = "AccessDenied", .message = "Request has expired",
				 .bucket = "lake", .extra = extra, .nextra = 3,
				 .request_id = "r1", .host_id = "h1" };
	CHECK_INT(s3xml_write_error(&b, &e, NULL), 0);
	CHECK_STR(b.data, DECL "<Error><Code>AccessDenied</Code><Message>Request has expired"
			       "</Message><BucketName>lake</BucketName>"
			       "<X-Amz-Expires>60</X-Amz-Expires>"
			       "<Expires>2026-11-22T05:40:39Z</Expires>"
			       "<RequestId>r1</RequestId><HostId>h1</HostId></Error>");
	buf_reset(&b);
	struct s3xml_error e2 = { .code = "InvalidArgument", .message = "key 'a\x01\xff' is bad" };
	CHECK_INT(s3xml_write_error(&b, &e2, NULL), 0);
	CHECK_STR(b.data, DECL "<Error><Code>InvalidArgument</Code>"
			       "<Message>key &apos;a\xef\xbf\xbd\xef\xbf\xbd&apos; is bad</Message>"
			       "</Error>");
	buf_reset(&b);
	struct s3xml_error e3 = { .code = "SomethingNew" };  /* not in the table: empty message */
	CHECK_INT(s3xml_write_error(&b, &e3, NULL), 0);
	CHECK_STR(b.data, DECL "<Error><Code>SomethingNew</Code><Message></Message></Error>");
	buf_release(&b);
}

TEST(list_buckets_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_bucket bk[] = { { "lake", T1 }, { "other", T2 } };
	CHECK_INT(s3xml_write_list_buckets(&b, &owner, bk, 2, NULL), 0);
	CHECK_STR(b.data, DECL "<ListAllMyBucketsResult" NS ">"
			       "<Owner><ID>75aa57f09aa0c8ca</ID><DisplayName>tarn</DisplayName></Owner>"
			       "<Buckets><Bucket><Name>lake</Name>"
			       "<CreationDate>2026-11-22T05:40:39.123Z</CreationDate></Bucket>"
			       "<Bucket><Name>other</Name>"
			       "<CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>"
			       "</Buckets></ListAllMyBucketsResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_list_buckets(&b, NULL, NULL, 0, NULL), 0);
	CHECK_STR(b.data, DECL "<ListAllMyBucketsResult" NS "><Buckets></Buckets>"
			       "</ListAllMyBucketsResult>");
	buf_release(&b);
}

TEST(location_document)
{
	struct buf b = BUF_INIT(0);
	CHECK_INT(s3xml_write_location(&b, "us-east-1", NULL), 0);
	CHECK_STR(b.data, DECL "<LocationConstraint" NS "/>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_location(&b, NULL, NULL), 0);
	CHECK_STR(b.data, DECL "<LocationConstraint" NS "/>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_location(&b, "eu-west-1", NULL), 0);
	CHECK_STR(b.data, DECL "<LocationConstraint" NS ">eu-west-1</LocationConstraint>");
	buf_release(&b);
}

static const struct s3xml_object objs[] = {
	{ "raw/a.json", T1, "d41d8cd98f00b204e9800998ecf8427e", 0, NULL, NULL },
	{ "raw/b.json", T2, "\"0cc175b9c0f1b6a831c399e269772661-2\"", 12345678901ULL, NULL,
	  NULL },
};
static const char *const prefixes[] = { "raw/2026/", "raw/x=1/" };

TEST(list_objects_v2_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_list l = {
		.version = 2, .bucket = "lake", .prefix = "raw/", .delimiter = "/",
		.max_keys = 4, .truncated = true, .continuation_token = "tok1",
		.next_continuation_token = "tok2", .start_after = "raw/0",
		.objects = objs, .nobjects = 2, .prefixes = prefixes, .nprefixes = 2,
	};
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListBucketResult" NS "><Name>lake</Name><Prefix>raw/</Prefix>"
		       "<StartAfter>raw/0</StartAfter><ContinuationToken>tok1</ContinuationToken>"
		       "<NextContinuationToken>tok2</NextContinuationToken><KeyCount>4</KeyCount>"
		       "<MaxKeys>4</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
		       "<Contents><Key>raw/a.json</Key>"
		       "<LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
		       "<StorageClass>STANDARD</StorageClass></Contents>"
		       "<Contents><Key>raw/b.json</Key>"
		       "<LastModified>2026-01-02T03:04:05.000Z</LastModified>"
		       "<ETag>&quot;0cc175b9c0f1b6a831c399e269772661-2&quot;</ETag>"
		       "<Size>12345678901</Size><StorageClass>STANDARD</StorageClass></Contents>"
		       "<CommonPrefixes><Prefix>raw/2026/</Prefix></CommonPrefixes>"
		       "<CommonPrefixes><Prefix>raw/x=1/</Prefix></CommonPrefixes>"
		       "</ListBucketResult>");
	buf_release(&b);
}

TEST(list_objects_v2_minimal_with_owner)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_object o = { "k", T1, "e", 1, "STANDARD_IA", &owner };
	struct s3xml_list l = { .version = 2, .bucket = "lake", .max_keys = 1000,
				.objects = &o, .nobjects = 1 };
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListBucketResult" NS "><Name>lake</Name><Prefix></Prefix>"
		       "<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
		       "<Contents><Key>k</Key><LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;e&quot;</ETag><Size>1</Size><Owner><ID>75aa57f09aa0c8ca</ID>"
		       "<DisplayName>tarn</DisplayName></Owner>"
		       "<StorageClass>STANDARD_IA</StorageClass></Contents></ListBucketResult>");
	buf_release(&b);
}

TEST(list_objects_v1_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_list l = {
		.version = 1, .bucket = "lake", .prefix = "raw/", .delimiter = "/",
		.max_keys = 3, .truncated = true, .marker = "raw/0", .next_marker = "raw/x=1/",
		.objects = objs, .nobjects = 1, .prefixes = prefixes, .nprefixes = 2,
		.next_continuation_token = "ignored in v1",
	};
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListBucketResult" NS "><Name>lake</Name><Prefix>raw/</Prefix>"
		       "<Marker>raw/0</Marker><NextMarker>raw/x=1/</NextMarker><MaxKeys>3</MaxKeys>"
		       "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
		       "<Contents><Key>raw/a.json</Key>"
		       "<LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
		       "<StorageClass>STANDARD</StorageClass></Contents>"
		       "<CommonPrefixes><Prefix>raw/2026/</Prefix></CommonPrefixes>"
		       "<CommonPrefixes><Prefix>raw/x=1/</Prefix></CommonPrefixes>"
		       "</ListBucketResult>");
	/* No delimiter: no NextMarker (the client continues from the last key). */
	buf_reset(&b);
	l.delimiter = NULL;
	l.nprefixes = 0;
	l.marker = NULL;
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK(strstr(b.data, "NextMarker") == NULL);
	CHECK(strstr(b.data, "<Marker></Marker><MaxKeys>3</MaxKeys><IsTruncated>true") != NULL);
	CHECK(strstr(b.data, "KeyCount") == NULL);
	buf_release(&b);
}

TEST(escaping_of_keys)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_object o[] = {
		{ "a<b>&c\"d'e", T1, "x", 1, NULL, NULL },
		{ "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80 z", T1, "x", 1, NULL, NULL },
		{ "tab\tnl\ncr\r", T1, "x", 1, NULL, NULL },
	};
	struct s3xml_list l = { .version = 2, .bucket = "lake", .max_keys = 3, .objects = o,
				.nobjects = 3 };
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK(strstr(b.data, "<Key>a&lt;b&gt;&amp;c&quot;d&apos;e</Key>") != NULL);
	CHECK(strstr(b.data, "<Key>caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80 z</Key>"));
	CHECK(strstr(b.data, "<Key>tab\tnl\ncr&#13;</Key>") != NULL);
	buf_release(&b);
}

TEST(url_encoded_listing)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_object o[] = {
		{ "dir one/a+b.csv", T1, "x", 1, NULL, NULL },
		{ "caf\xc3\xa9/ctl\x01", T1, "x", 1, NULL, NULL },
	};
	const char *cp[] = { "dir two/" };
	struct s3xml_list l = { .version = 2, .bucket = "lake", .prefix = "d r", .delimiter = "/",
				.url_encode = true, .start_after = "a b", .max_keys = 3,
				.objects = o, .nobjects = 2, .prefixes = cp, .nprefixes = 1 };
	CHECK_INT(s3xml_write_list_objects(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListBucketResult" NS "><Name>lake</Name><Prefix>d%20r</Prefix>"
		       "<StartAfter>a%20b</StartAfter><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
		       "<Delimiter>/</Delimiter><EncodingType>url</EncodingType>"
		       "<IsTruncated>false</IsTruncated>"
		       "<Contents><Key>dir%20one/a%2Bb.csv</Key>"
		       "<LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;x&quot;</ETag><Size>1</Size>"
		       "<StorageClass>STANDARD</StorageClass></Contents>"
		       "<Contents><Key>caf%C3%A9/ctl%01</Key>"
		       "<LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;x&quot;</ETag><Size>1</Size>"
		       "<StorageClass>STANDARD</StorageClass></Contents>"
		       "<CommonPrefixes><Prefix>dir%20two/</Prefix></CommonPrefixes>"
		       "</ListBucketResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_urlencode(&b, "a-z_A.Z~0/9 +%&=?", 17), 0);
	CHECK_STR(b.data, "a-z_A.Z~0/9%20%2B%25%26%3D%3F");
	buf_release(&b);
}

TEST(key_xml_cannot_carry_is_refused_without_url_encoding)
{
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN] = "";
	buf_puts(&b, "before");
	struct s3xml_object o[] = {
		{ "fine", T1, "x", 1, NULL, NULL },
		{ "ctl\x01", T1, "x", 1, NULL, NULL },
	};
	struct s3xml_list l = { .version = 2, .bucket = "lake", .max_keys = 3, .objects = o,
				.nobjects = 2 };
	CHECK_INT(s3xml_write_list_objects(&b, &l, err), TN_EINVAL);
	CHECK_STR(b.data, "before");  /* untouched */
	CHECK(strstr(err, "<Key> 'ctl...'") != NULL);
	CHECK(strstr(err, "byte 3") != NULL);
	CHECK(strstr(err, "encoding-type=url") != NULL);
	/* U+FFFE and invalid UTF-8 too. */
	o[1].key = "a\xef\xbf\xbe";
	CHECK_INT(s3xml_write_list_objects(&b, &l, err), TN_EINVAL);
	o[1].key = "a\xc3";
	CHECK_INT(s3xml_write_list_objects(&b, &l, err), TN_EINVAL);
	/* Multipart documents have no encoding-type: refused as well. */
	CHECK_INT(s3xml_write_initiate_upload(&b, "lake", "k\x1f", "u", err), TN_EINVAL);
	CHECK_STR(b.data, "before");
	buf_release(&b);
}

TEST(document_past_the_buf_max_fails_whole)
{
	struct buf b = BUF_INIT(200);
	char err[TN_ERRLEN] = "";
	struct s3xml_list l = { .version = 2, .bucket = "lake", .max_keys = 3, .objects = objs,
				.nobjects = 2 };
	CHECK_INT(s3xml_write_list_objects(&b, &l, err), TN_ETOOBIG);
	CHECK_INT(b.len, 0);
	CHECK(strstr(err, "larger than 200") != NULL);
	buf_release(&b);
}

TEST(copy_initiate_complete_documents)
{
	struct buf b = BUF_INIT(0);
	CHECK_INT(s3xml_write_copy_result(&b, false, T1, "abc", NULL), 0);
	CHECK_STR(b.data, DECL "<CopyObjectResult" NS "><LastModified>2026-11-22T05:40:39.123Z"
			       "</LastModified><ETag>&quot;abc&quot;</ETag></CopyObjectResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_copy_result(&b, true, T2, "\"abc\"", NULL), 0);
	CHECK_STR(b.data, DECL "<CopyPartResult" NS "><LastModified>2026-01-02T03:04:05.000Z"
			       "</LastModified><ETag>&quot;abc&quot;</ETag></CopyPartResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_initiate_upload(&b, "lake", "drop/big file.bin", "u-1", NULL), 0);
	CHECK_STR(b.data, DECL "<InitiateMultipartUploadResult" NS "><Bucket>lake</Bucket>"
			       "<Key>drop/big file.bin</Key><UploadId>u-1</UploadId>"
			       "</InitiateMultipartUploadResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_complete_upload(&b, "http://127.0.0.1:9000/lake/drop/big%20file.bin",
					      "lake", "drop/big file.bin", "abc-3", NULL),
		  0);
	CHECK_STR(b.data, DECL "<CompleteMultipartUploadResult" NS ">"
			       "<Location>http://127.0.0.1:9000/lake/drop/big%20file.bin</Location>"
			       "<Bucket>lake</Bucket><Key>drop/big file.bin</Key>"
			       "<ETag>&quot;abc-3&quot;</ETag></CompleteMultipartUploadResult>");
	buf_release(&b);
}

TEST(list_parts_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_part p[] = { { 2, T1, "aa", 5242880 }, { 3, T2, "bb", 7 } };
	struct s3xml_list_parts l = { .bucket = "lake", .key = "k", .upload_id = "u-1",
				      .initiator = &owner, .owner = &owner,
				      .part_number_marker = 1, .next_part_number_marker = 3,
				      .max_parts = 2, .truncated = true, .parts = p, .nparts = 2 };
	CHECK_INT(s3xml_write_list_parts(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListPartsResult" NS "><Bucket>lake</Bucket><Key>k</Key>"
		       "<UploadId>u-1</UploadId>"
		       "<Initiator><ID>75aa57f09aa0c8ca</ID><DisplayName>tarn</DisplayName></Initiator>"
		       "<Owner><ID>75aa57f09aa0c8ca</ID><DisplayName>tarn</DisplayName></Owner>"
		       "<StorageClass>STANDARD</StorageClass><PartNumberMarker>1</PartNumberMarker>"
		       "<NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts>"
		       "<IsTruncated>true</IsTruncated>"
		       "<Part><PartNumber>2</PartNumber>"
		       "<LastModified>2026-11-22T05:40:39.123Z</LastModified>"
		       "<ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>"
		       "<Part><PartNumber>3</PartNumber>"
		       "<LastModified>2026-01-02T03:04:05.000Z</LastModified>"
		       "<ETag>&quot;bb&quot;</ETag><Size>7</Size></Part></ListPartsResult>");
	buf_release(&b);
}

TEST(list_uploads_document)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_upload u[] = {
		{ "drop/a b", "u-1", &owner, &owner, NULL, T1 },
		{ "drop/c", "u-2", NULL, NULL, NULL, T2 },
	};
	const char *cp[] = { "drop/d/" };
	struct s3xml_list_uploads l = { .bucket = "lake", .key_marker = "drop/0",
					.next_key_marker = "drop/c", .next_upload_id_marker = "u-2",
					.prefix = "drop/", .delimiter = "/", .max_uploads = 2,
					.truncated = true, .uploads = u, .nuploads = 2,
					.prefixes = cp, .nprefixes = 1 };
	CHECK_INT(s3xml_write_list_uploads(&b, &l, NULL), 0);
	CHECK_STR(b.data,
		  DECL "<ListMultipartUploadsResult" NS "><Bucket>lake</Bucket>"
		       "<KeyMarker>drop/0</KeyMarker><UploadIdMarker></UploadIdMarker>"
		       "<NextKeyMarker>drop/c</NextKeyMarker>"
		       "<NextUploadIdMarker>u-2</NextUploadIdMarker><Delimiter>/</Delimiter>"
		       "<Prefix>drop/</Prefix><MaxUploads>2</MaxUploads>"
		       "<IsTruncated>true</IsTruncated>"
		       "<Upload><Key>drop/a b</Key><UploadId>u-1</UploadId>"
		       "<Initiator><ID>75aa57f09aa0c8ca</ID><DisplayName>tarn</DisplayName></Initiator>"
		       "<Owner><ID>75aa57f09aa0c8ca</ID><DisplayName>tarn</DisplayName></Owner>"
		       "<StorageClass>STANDARD</StorageClass>"
		       "<Initiated>2026-11-22T05:40:39.123Z</Initiated></Upload>"
		       "<Upload><Key>drop/c</Key><UploadId>u-2</UploadId>"
		       "<StorageClass>STANDARD</StorageClass>"
		       "<Initiated>2026-01-02T03:04:05.000Z</Initiated></Upload>"
		       "<CommonPrefixes><Prefix>drop/d/</Prefix></CommonPrefixes>"
		       "</ListMultipartUploadsResult>");
	buf_reset(&b);
	l.url_encode = true;
	CHECK_INT(s3xml_write_list_uploads(&b, &l, NULL), 0);
	CHECK(strstr(b.data, "<Key>drop/a%20b</Key>") != NULL);
	CHECK(strstr(b.data, "<EncodingType>url</EncodingType><MaxUploads>") != NULL);
	buf_release(&b);
}

TEST(delete_result_documents)
{
	struct buf b = BUF_INIT(0);
	struct s3xml_delete_outcome o[] = {
		{ "a", NULL, NULL, NULL },
		{ "raw/b", NULL, "AccessDenied", NULL },
		{ "c&d", "v1", NULL, NULL },
		{ "e", NULL, "InternalError", "disk 'x' failed" },
	};
	CHECK_INT(s3xml_write_delete_result(&b, false, o, 4, NULL), 0);
	CHECK_STR(b.data, DECL "<DeleteResult" NS "><Deleted><Key>a</Key></Deleted>"
			       "<Error><Key>raw/b</Key><Code>AccessDenied</Code>"
			       "<Message>Access Denied</Message></Error>"
			       "<Deleted><Key>c&amp;d</Key><VersionId>v1</VersionId></Deleted>"
			       "<Error><Key>e</Key><Code>InternalError</Code>"
			       "<Message>disk &apos;x&apos; failed</Message></Error></DeleteResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_delete_result(&b, true, o, 4, NULL), 0);
	CHECK_STR(b.data, DECL "<DeleteResult" NS ">"
			       "<Error><Key>raw/b</Key><Code>AccessDenied</Code>"
			       "<Message>Access Denied</Message></Error>"
			       "<Error><Key>e</Key><Code>InternalError</Code>"
			       "<Message>disk &apos;x&apos; failed</Message></Error></DeleteResult>");
	buf_reset(&b);
	CHECK_INT(s3xml_write_delete_result(&b, true, o, 1, NULL), 0);
	CHECK_STR(b.data, DECL "<DeleteResult" NS "></DeleteResult>");
	buf_release(&b);
}

/* ---- parsers ----------------------------------------------------------- */

static int parse_delete(const char *body, struct s3xml_delete *d, const char **code, char *err)
{
	return s3xml_parse_delete(body, strlen(body), d, code, err);
}

TEST(parse_delete_quiet_three_keys_with_namespace)
{
	struct s3xml_delete d;
	const char *code = "unset";
	char err[TN_ERRLEN] = "";
	const char *body =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Object><Key>a/b.csv</Key></Object>\n"
		"  <Object><Key> spaced &amp; &lt;escaped&gt; </Key><VersionId>v9</VersionId>"
		"</Object>"
		"<Object><ETag>\"x\"</ETag><Key>caf\xc3\xa9 &#x1F600;</Key><Unknown><Deep>1</Deep>"
		"</Unknown></Object>"
		"<Quiet>true</Quiet></Delete>";
	CHECK_INT(parse_delete(body, &d, &code, err), 0);
	CHECK(code == NULL);
	CHECK(d.quiet);
	CHECK_INT(d.n, 3);
	CHECK_STR(d.objects[0].key, "a/b.csv");
	CHECK(d.objects[0].version_id == NULL);
	CHECK_STR(d.objects[1].key, " spaced & <escaped> ");
	CHECK_STR(d.objects[1].version_id, "v9");
	CHECK_STR(d.objects[2].key, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	s3xml_delete_release(&d);
	CHECK_INT(d.n, 0);
	s3xml_delete_release(&d);  /* twice is harmless */
}

TEST(parse_delete_without_namespace_or_with_a_prefix)
{
	struct s3xml_delete d;
	const char *code;
	char err[TN_ERRLEN] = "";
	CHECK_INT(parse_delete("<Delete><Object><Key>k1</Key></Object><Object><Key>k2</Key>"
			       "</Object><Object><Key>k3</Key></Object></Delete>",
			       &d, &code, err),
		  0);
	CHECK(!d.quiet);
	CHECK_INT(d.n, 3);
	CHECK_STR(d.objects[2].key, "k3");
	s3xml_delete_release(&d);
	CHECK_INT(parse_delete("<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			       "<s3:Quiet> false </s3:Quiet><s3:Object><s3:Key>k</s3:Key>"
			       "</s3:Object></s3:Delete>",
			       &d, &code, err),
		  0);
	CHECK(!d.quiet);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.objects[0].key, "k");
	s3xml_delete_release(&d);
}

/* Expects the body to fail with code and a message containing want. */
static void delete_fails(const char *body, size_t n, int rc, const char *code, const char *want)
{
	struct s3xml_delete d;
	const char *got = NULL;
	char err[TN_ERRLEN] = "";
	int r = s3xml_parse_delete(body, n, &d, &got, err);
	if (r != rc || !got || strcmp(got, code) != 0 || !strstr(err, want))
		fprintf(stderr, "rc %d code %s err '%s' (want %s, '%s')\n", r, got ? got : "-",
			err, code, want);
	CHECK_INT(r, rc);
	CHECK_STR(got, code);
	CHECK(strstr(err, want) != NULL);
	CHECK_INT(d.n, 0);
	CHECK(d.objects == NULL);
	s3xml_delete_release(&d);
}

#define DELETE_FAILS(body, code, want) delete_fails(body, strlen(body), TN_EINVAL, code, want)

TEST(parse_delete_refuses_bad_bodies)
{
	DELETE_FAILS("this is not xml", "MalformedXML", "not well-formed");
	DELETE_FAILS("", "MalformedXML", "empty");
	DELETE_FAILS("<Delete></Delete>", "MalformedXML", "no <Object>");
	DELETE_FAILS("<Delete><Quiet>true</Quiet></Delete>", "MalformedXML", "no <Object>");
	DELETE_FAILS("<Delete><Object><VersionId>v</VersionId></Object></Delete>",
		     "MalformedXML", "without a <Key>");
	DELETE_FAILS("<Delete><Object><Key></Key></Object></Delete>", "MalformedXML",
		     "empty <Key>");
	DELETE_FAILS("<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
		     "MalformedXML", "two <Key>s");
	DELETE_FAILS("<Delete><Object><Key>a<b/></Key></Object></Delete>", "MalformedXML",
		     "inside a value");
	DELETE_FAILS("<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
		     "MalformedXML", "true or false");
	DELETE_FAILS("<Other><Object><Key>a</Key></Object></Other>", "MalformedXML",
		     "unexpected root element <Other>");
	/* truncated */
	DELETE_FAILS("<Delete><Object><Key>a</Key></Object><Obj", "MalformedXML",
		     "not well-formed");
	DELETE_FAILS("<Delete><Object><Key>a</Key></Object>", "MalformedXML", "not well-formed");
	/* characters XML 1.0 forbids, even as references */
	DELETE_FAILS("<Delete><Object><Key>a&#1;</Key></Object></Delete>", "MalformedXML",
		     "not well-formed");
	DELETE_FAILS("<Delete><Object><Key>a&undefined;</Key></Object></Delete>",
		     "MalformedXML", "not well-formed");
	static const char nul[] = "<Delete><Object><Key>a\0b</Key></Object></Delete>";
	delete_fails(nul, sizeof nul - 1, TN_EINVAL, "MalformedXML", "not well-formed");
}

TEST(parse_delete_refuses_doctype_and_entities)
{
	/* billion laughs */
	DELETE_FAILS("<?xml version=\"1.0\"?>\n"
		     "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		     "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
		     "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
		     "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
		     "]>\n<Delete><Object><Key>&lol4;</Key></Object></Delete>",
		     "MalformedXML", "DOCTYPE 'lolz' is not allowed");
	/* external entity */
	DELETE_FAILS("<!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
		     "<Delete><Object><Key>&xxe;</Key></Object></Delete>",
		     "MalformedXML", "DOCTYPE");
	DELETE_FAILS("<!DOCTYPE Delete SYSTEM \"http://127.0.0.1:1/x.dtd\">"
		     "<Delete><Object><Key>a</Key></Object></Delete>",
		     "MalformedXML", "DOCTYPE");
}

TEST(parse_delete_caps)
{
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "<Delete>");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "<Object><Key>k%d</Key></Object>", i);
	buf_puts(&b, "</Delete>");
	struct s3xml_delete d;
	const char *code;
	char err[TN_ERRLEN] = "";
	CHECK_INT(s3xml_parse_delete(b.data, b.len, &d, &code, err), 0);
	CHECK_INT(d.n, 1000);
	CHECK_STR(d.objects[999].key, "k999");
	s3xml_delete_release(&d);

	buf_truncate(&b, b.len - strlen("</Delete>"));
	buf_puts(&b, "<Object><Key>one-too-many</Key></Object></Delete>");
	delete_fails(b.data, b.len, TN_EINVAL, "MalformedXML", "more than 1000 objects");

	/* too deep, inside an ignored element */
	buf_reset(&b);
	buf_puts(&b, "<Delete><Object><Key>a</Key></Object>");
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "<x>");
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "</x>");
	buf_puts(&b, "</Delete>");
	delete_fails(b.data, b.len, TN_EINVAL, "MalformedXML", "nested too deep");

	/* over the body cap: refused before parsing */
	buf_reset(&b);
	buf_puts(&b, "<Delete><Object><Key>a</Key></Object>");
	while (b.len <= S3XML_MAX_DELETE_BODY)
		buf_puts(&b, "<!-- padding padding padding padding padding padding -->");
	buf_puts(&b, "</Delete>");
	delete_fails(b.data, b.len, TN_ETOOBIG, "MaxMessageLengthExceeded", "bytes, more than");
	buf_release(&b);
}

static int parse_complete(const char *body, struct s3xml_complete *c, const char **code,
			  char *err)
{
	return s3xml_parse_complete(body, strlen(body), c, code, err);
}

TEST(parse_complete_three_parts)
{
	struct s3xml_complete c;
	const char *code = "unset";
	char err[TN_ERRLEN] = "";
	const char *body =
		"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
		"  <Part><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag><PartNumber>1</PartNumber>"
		"</Part>\n"
		"  <Part><PartNumber> 2 </PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394"
		"&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
		"  <Part><PartNumber>10000</PartNumber><ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag>"
		"<Extra/></Part>\n"
		"</CompleteMultipartUpload>";
	CHECK_INT(parse_complete(body, &c, &code, err), 0);
	CHECK(code == NULL);
	CHECK_INT(c.n, 3);
	CHECK_INT(c.parts[0].number, 1);
	CHECK_STR(c.parts[0].etag, "a54357aff0632cce46d942af68356b38");
	CHECK(c.parts[0].checksum == NULL);
	CHECK_INT(c.parts[1].number, 2);
	CHECK_STR(c.parts[1].etag, "0c78aef83f66abc1fa1e8477f296d394");
	CHECK_STR(c.parts[1].checksum_name, "CRC32");
	CHECK_STR(c.parts[1].checksum, "AAAAAA==");
	CHECK_INT(c.parts[2].number, 10000);
	CHECK_STR(c.parts[2].etag, "acbd18db4cc2f85cedef654fccc4a4d8");
	s3xml_complete_release(&c);
	CHECK_INT(c.n, 0);
}

static void complete_fails(const char *body, const char *code, const char *want)
{
	struct s3xml_complete c;
	const char *got = NULL;
	char err[TN_ERRLEN] = "";
	int r = parse_complete(body, &c, &got, err);
	if (r == 0 || !got || strcmp(got, code) != 0 || !strstr(err, want))
		fprintf(stderr, "rc %d code %s err '%s' (want %s, '%s')\n", r, got ? got : "-",
			err, code, want);
	CHECK_INT(r, TN_EINVAL);
	CHECK_STR(got, code);
	CHECK(strstr(err, want) != NULL);
	CHECK_INT(c.n, 0);
	CHECK(c.parts == NULL);
}

#define P(n, e) "<Part><PartNumber>" n "</PartNumber><ETag>" e "</ETag></Part>"

TEST(parse_complete_refuses_bad_bodies)
{
	complete_fails("<CompleteMultipartUpload>" P("0", "x") "</CompleteMultipartUpload>",
		       "InvalidArgument", "between 1 and 10000");
	complete_fails("<CompleteMultipartUpload>" P("10001", "x") "</CompleteMultipartUpload>",
		       "InvalidArgument", "'10001'");
	complete_fails("<CompleteMultipartUpload>" P("99999999999999999999999", "x")
		       "</CompleteMultipartUpload>",
		       "InvalidArgument", "between 1 and 10000");
	complete_fails("<CompleteMultipartUpload>" P("-1", "x") "</CompleteMultipartUpload>",
		       "MalformedXML", "not a number");
	complete_fails("<CompleteMultipartUpload>" P("one", "x") "</CompleteMultipartUpload>",
		       "MalformedXML", "not a number");
	complete_fails("<CompleteMultipartUpload>" P("2", "x") P("1", "y")
		       "</CompleteMultipartUpload>",
		       "InvalidPartOrder", "ascending");
	complete_fails("<CompleteMultipartUpload>" P("2", "x") P("2", "y")
		       "</CompleteMultipartUpload>",
		       "InvalidPartOrder", "ascending");
	complete_fails("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
		       "</CompleteMultipartUpload>",
		       "MalformedXML", "without an <ETag>");
	complete_fails("<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
		       "</CompleteMultipartUpload>",
		       "MalformedXML", "without a <PartNumber>");
	complete_fails("<CompleteMultipartUpload>" P("1", "\"\"") "</CompleteMultipartUpload>",
		       "MalformedXML", "empty <ETag>");
	complete_fails("<CompleteMultipartUpload></CompleteMultipartUpload>", "MalformedXML",
		       "no <Part>");
	complete_fails("<CompleteMultipartUpload>" P("1", "x"), "MalformedXML", "not well-formed");
	complete_fails("<Delete>" P("1", "x") "</Delete>", "MalformedXML", "unexpected root");
	complete_fails("<!DOCTYPE c [<!ENTITY e \"x\">]><CompleteMultipartUpload>" P("1", "&e;")
		       "</CompleteMultipartUpload>",
		       "MalformedXML", "DOCTYPE");
}

TEST(parse_complete_ten_thousand_parts)
{
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "<CompleteMultipartUpload>");
	for (int i = 1; i <= 10000; i++)
		buf_printf(&b, "<Part><PartNumber>%d</PartNumber>"
			       "<ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>"
			       "<ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>"
			       "</Part>\n",
			   i);
	buf_puts(&b, "</CompleteMultipartUpload>");
	CHECK(b.len < S3XML_MAX_COMPLETE_BODY);
	struct s3xml_complete c;
	const char *code;
	char err[TN_ERRLEN] = "";
	CHECK_INT(s3xml_parse_complete(b.data, b.len, &c, &code, err), 0);
	CHECK_INT(c.n, 10000);
	CHECK_INT(c.parts[9999].number, 10000);
	CHECK_STR(c.parts[9999].checksum_name, "SHA256");
	s3xml_complete_release(&c);
	buf_release(&b);
}

/* ---- botocore reads what the writers write ------------------------------ */

static void write_doc(const char *dir, const char *name, const struct buf *b)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK_INT(fwrite(b->data, 1, b->len, f), b->len);
	CHECK_INT(fclose(f), 0);
}

/* The script sits next to this file; the binary may run from the repository root or not. */
static void find_script(char *out, size_t n)
{
	const char *src = __FILE__;
	const char *slash = strrchr(src, '/');
	snprintf(out, n, "%.*s/s3xml_botocore.py", slash ? (int)(slash - src) : 1,
		 slash ? src : ".");
	if (access(out, R_OK) == 0)
		return;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(len > 0);
	exe[len] = '\0';
	for (char *s = strrchr(exe, '/'); s; s = strrchr(exe, '/')) {
		*s = '\0';
		snprintf(out, n, "%s/tests/unit/s3xml_botocore.py", exe);
		if (access(out, R_OK) == 0)
			return;
	}
	fprintf(stderr, "s3xml_botocore.py not found\n");
	CHECK(0);
}

TEST(botocore_parses_the_documents)
{
	const char *dir = test_tmpdir();
	struct buf b = BUF_INIT(0);

	/* ListObjectsV2 with encoding-type=url (botocore asks for it and decodes) */
	struct s3xml_object o[] = {
		{ "dir one/a+b.csv", T1, "d41d8cd98f00b204e9800998ecf8427e", 0, NULL, NULL },
		{ "caf\xc3\xa9/<&>'\"", T2, "0cc175b9c0f1b6a831c399e269772661-2", 12345678901ULL,
		  NULL, &owner },
		{ "ctl\x01key", T2, "e", 3, NULL, NULL },
	};
	const char *cp[] = { "dir two/", "x+y/" };
	struct s3xml_list l2 = { .version = 2, .bucket = "lake", .prefix = "", .delimiter = "/",
				 .url_encode = true, .max_keys = 5, .truncated = true,
				 .next_continuation_token = "tok/2+=", .objects = o,
				 .nobjects = 3, .prefixes = cp, .nprefixes = 2 };
	CHECK_INT(s3xml_write_list_objects(&b, &l2, NULL), 0);
	write_doc(dir, "ListObjectsV2.xml", &b);
	buf_reset(&b);

	/* ListObjects v1 with url encoding */
	struct s3xml_list l1 = { .version = 1, .bucket = "lake", .prefix = "", .delimiter = "/",
				 .url_encode = true, .max_keys = 3, .truncated = true,
				 .marker = "a b", .next_marker = "x+y/", .objects = o,
				 .nobjects = 1, .prefixes = cp, .nprefixes = 2 };
	CHECK_INT(s3xml_write_list_objects(&b, &l1, NULL), 0);
	write_doc(dir, "ListObjects.xml", &b);
	buf_reset(&b);

	struct s3xml_bucket bk[] = { { "lake", T1 } };
	CHECK_INT(s3xml_write_list_buckets(&b, &owner, bk, 1, NULL), 0);
	write_doc(dir, "ListBuckets.xml", &b);
	buf_reset(&b);

	CHECK_INT(s3xml_write_location(&b, NULL, NULL), 0);
	write_doc(dir, "GetBucketLocation.xml", &b);
	buf_reset(&b);
	CHECK_INT(s3xml_write_location(&b, "eu-west-1", NULL), 0);
	write_doc(dir, "GetBucketLocation-eu.xml", &b);
	buf_reset(&b);

	CHECK_INT(s3xml_write_copy_result(&b, false, T1, "abc", NULL), 0);
	write_doc(dir, "CopyObject.xml", &b);
	buf_reset(&b);
	CHECK_INT(s3xml_write_copy_result(&b, true, T1, "abc", NULL), 0);
	write_doc(dir, "UploadPartCopy.xml", &b);
	buf_reset(&b);

	CHECK_INT(s3xml_write_initiate_upload(&b, "lake", "drop/big & file", "u-1", NULL), 0);
	write_doc(dir, "CreateMultipartUpload.xml", &b);
	buf_reset(&b);
	CHECK_INT(s3xml_write_complete_upload(&b, "http://127.0.0.1:9000/lake/drop/big%20%26%20file",
					      "lake", "drop/big & file", "abc-2", NULL),
		  0);
	write_doc(dir, "CompleteMultipartUpload.xml", &b);
	buf_reset(&b);

	struct s3xml_part p[] = { { 1, T1, "aa", 5242880 }, { 2, T2, "bb", 7 } };
	struct s3xml_list_parts lp = { .bucket = "lake", .key = "drop/big & file",
				       .upload_id = "u-1", .initiator = &owner, .owner = &owner,
				       .part_number_marker = 0, .next_part_number_marker = 2,
				       .max_parts = 2, .truncated = true, .parts = p, .nparts = 2 };
	CHECK_INT(s3xml_write_list_parts(&b, &lp, NULL), 0);
	write_doc(dir, "ListParts.xml", &b);
	buf_reset(&b);

	struct s3xml_upload u[] = { { "drop/a b", "u-1", &owner, &owner, NULL, T1 } };
	const char *ucp[] = { "drop/d/" };
	struct s3xml_list_uploads lu = { .bucket = "lake", .next_key_marker = "drop/a b",
					 .next_upload_id_marker = "u-1", .prefix = "drop/",
					 .delimiter = "/", .max_uploads = 1, .truncated = true,
					 .uploads = u, .nuploads = 1, .prefixes = ucp,
					 .nprefixes = 1 };
	CHECK_INT(s3xml_write_list_uploads(&b, &lu, NULL), 0);
	write_doc(dir, "ListMultipartUploads.xml", &b);
	buf_reset(&b);

	struct s3xml_delete_outcome dout[] = {
		{ "a & b", NULL, NULL, NULL },
		{ "raw/c", NULL, "AccessDenied", NULL },
	};
	CHECK_INT(s3xml_write_delete_result(&b, false, dout, 2, NULL), 0);
	write_doc(dir, "DeleteObjects.xml", &b);
	buf_reset(&b);

	struct s3xml_error e = { .code = "NoSuchKey", .key = "a <b>", .resource = "/lake/a%20%3Cb%3E",
				 .request_id = "req-1" };
	CHECK_INT(s3xml_write_error(&b, &e, NULL), 0);
	write_doc(dir, "Error-404.xml", &b);
	buf_reset(&b);
	struct s3xml_error e2 = { .code = "AccessDenied", .message = "Request has expired",
				  .request_id = "req-2" };
	CHECK_INT(s3xml_write_error(&b, &e2, NULL), 0);
	write_doc(dir, "Error-403.xml", &b);
	buf_release(&b);

	char script[PATH_MAX], cmd[2 * PATH_MAX + 64];
	find_script(script, sizeof script);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' 2>&1", script, dir);
	fflush(NULL);
	int rc = system(cmd);
	CHECK_INT(rc, 0);
}

/*
 * xml.h - the XML documents of the S3 API: response writers, request body
 * parsers, and the table of S3 error codes.
 *
 * Pure: no I/O, no store or policy; the S3 edge fills the small structs
 * below from its own listings and sends the buf.  Every function may be
 * called from any thread (no shared state; each call uses its own expat
 * parser).
 *
 * Writers append one complete document, starting with the XML declaration
 * and written on one line as S3 writes them, to a caller's struct buf.  On
 * failure they return a negative TN_E* code with a message in err (which
 * may be NULL) and leave the buf as it was.  Timestamps are epoch
 * milliseconds, written "2026-11-22T05:40:39.123Z".  ETags are passed
 * with or without their double quotes and always written quoted
 * (&quot;...&quot;).  Text is escaped (& < > " ' and CR).
 *
 * Characters XML 1.0 cannot carry, even escaped (U+0001..U+0008, U+000B,
 * U+000C, U+000E..U+001F, U+FFFE, U+FFFF, and invalid UTF-8):
 *   - keys and prefixes in documents that support encoding-type=url are
 *     percent-encoded when url_encode is set (the answer S3 recommends for
 *     such keys), so any key can be listed;
 *   - otherwise the writer refuses with TN_EINVAL, naming the element and
 *     the byte ("use encoding-type=url"): a replaced character would give
 *     the client a key that does not exist, and an escaped one (&#x1;)
 *     breaks every conforming parser.  The edge answers InvalidArgument.
 *   - free-form messages (Error Message, DeleteResult Error Message, and
 *     every field of the Error document) replace such characters with
 *     U+FFFD instead, so an error can always be written.
 * URL encoding keeps A-Z a-z 0-9 - . _ ~ and '/', and writes every other
 * byte as %XX (a space as %20, which both unquote and unquote_plus read
 * back; S3 writes '+', which only form decoders read back).
 */
#ifndef TN_S3_XML_H
#define TN_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define S3XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

/* ---- error codes ---------------------------------------------------- */

/*
 * HTTP status of an S3 error code ("NoSuchKey" -> 404), or 0 when the
 * code is not in the table (the edge then answers 500 InternalError).
 * NotModified is 304 and, like any answer to HEAD, has no body.  An
 * expired presigned URL is AccessDenied (403) with the message "Request
 * has expired"; ExpiredToken (400) is an expired session token.
 */
int s3xml_error_status(const char *code);
/* S3's standard message for code ("The specified key does not exist."), or NULL. */
const char *s3xml_error_message(const char *code);

/* ---- writers -------------------------------------------------------- */

/* An owner or initiator: <ID/> then <DisplayName/>. */
struct s3xml_owner {
	const char *id;
	const char *display_name;
};

/* An extra element of an Error document (<ServerTime>, <Expires>, ...). */
struct s3xml_field {
	const char *name;   /* [A-Za-z0-9_-]+, else the field is skipped */
	const char *value;
};

struct s3xml_error {
	const char *code;        /* required */
	const char *message;     /* NULL: the code's standard message */
	const char *key;         /* NULL: no <Key> */
	const char *bucket;      /* NULL: no <BucketName> */
	const char *resource;    /* NULL: no <Resource> ("/bucket/key") */
	const struct s3xml_field *extra;  /* written after Resource */
	size_t nextra;
	const char *request_id;  /* NULL: no <RequestId> */
	const char *host_id;     /* NULL: no <HostId> */
};

/*
 * <Error><Code/><Message/><Key/>?<BucketName/>?<Resource/>?extra...
 * <RequestId/>?<HostId/>?</Error> (no namespace, as S3 writes it).
 * Characters XML cannot carry become U+FFFD.  Fails only with TN_ETOOBIG.
 */
int s3xml_write_error(struct buf *b, const struct s3xml_error *e, char *err);

struct s3xml_bucket {
	const char *name;
	int64_t created_ms;
};

/* ListAllMyBucketsResult: Owner, then Buckets/Bucket{Name, CreationDate}. */
int s3xml_write_list_buckets(struct buf *b, const struct s3xml_owner *owner,
			     const struct s3xml_bucket *buckets, size_t n, char *err);

/*
 * GetBucketLocation: <LocationConstraint>region</LocationConstraint>,
 * empty for us-east-1, NULL or "" (S3's answer for the default region).
 */
int s3xml_write_location(struct buf *b, const char *region, char *err);

/* One object of a listing. */
struct s3xml_object {
	const char *key;
	int64_t mtime_ms;
	const char *etag;
	uint64_t size;
	const char *storage_class;        /* NULL: STANDARD */
	const struct s3xml_owner *owner;  /* NULL: no <Owner> (v2 without fetch-owner) */
};

struct s3xml_list {
	int version;                 /* 1: ListObjects, 2: ListObjectsV2 */
	const char *bucket;
	const char *prefix;          /* NULL: written empty */
	const char *delimiter;       /* NULL: omitted */
	bool url_encode;             /* the request had encoding-type=url */
	uint32_t max_keys;
	bool truncated;
	/* version 1 */
	const char *marker;          /* NULL: written empty */
	const char *next_marker;     /* written when truncated, a delimiter was given and non-NULL */
	/* version 2 */
	const char *continuation_token;       /* echoed when non-NULL */
	const char *next_continuation_token;  /* written when non-NULL */
	const char *start_after;              /* echoed when non-NULL */
	/* entries, in key order */
	const struct s3xml_object *objects;
	size_t nobjects;
	const char *const *prefixes;          /* CommonPrefixes */
	size_t nprefixes;
};

/*
 * ListBucketResult.  Version 2: Name, Prefix, StartAfter?,
 * ContinuationToken?, NextContinuationToken?, KeyCount (objects + common
 * prefixes), MaxKeys, Delimiter?, EncodingType?, IsTruncated, Contents*,
 * CommonPrefixes*.  Version 1: Name, Prefix, Marker, NextMarker?, MaxKeys,
 * Delimiter?, EncodingType?, IsTruncated, Contents*, CommonPrefixes*.
 * Contents: Key, LastModified, ETag, Size, Owner?, StorageClass.  With
 * url_encode, Prefix, Delimiter, Marker, NextMarker, StartAfter, Key and
 * CommonPrefixes/Prefix are URL-encoded (tokens are not: they are ours).
 * TN_EINVAL for a key XML cannot carry without url_encode; TN_ETOOBIG.
 */
int s3xml_write_list_objects(struct buf *b, const struct s3xml_list *l, char *err);

/* CopyObjectResult (part false) or CopyPartResult (part true): LastModified, ETag. */
int s3xml_write_copy_result(struct buf *b, bool part, int64_t mtime_ms, const char *etag,
			    char *err);

/* InitiateMultipartUploadResult: Bucket, Key, UploadId. */
int s3xml_write_initiate_upload(struct buf *b, const char *bucket, const char *key,
				const char *upload_id, char *err);

/*
 * CompleteMultipartUploadResult: Location, Bucket, Key, ETag.  location is
 * the object's URL, already percent-encoded by the caller (s3xml_urlencode).
 */
int s3xml_write_complete_upload(struct buf *b, const char *location, const char *bucket,
				const char *key, const char *etag, char *err);

struct s3xml_part {
	uint32_t number;
	int64_t mtime_ms;
	const char *etag;
	uint64_t size;
};

struct s3xml_list_parts {
	const char *bucket;
	const char *key;
	const char *upload_id;
	const struct s3xml_owner *initiator;  /* NULL: omitted */
	const struct s3xml_owner *owner;      /* NULL: omitted */
	const char *storage_class;            /* NULL: STANDARD */
	uint32_t part_number_marker;          /* 0 when the request had none */
	uint32_t next_part_number_marker;     /* the last part listed (0 if none) */
	uint32_t max_parts;
	bool truncated;
	const struct s3xml_part *parts;
	size_t nparts;
};

/*
 * ListPartsResult: Bucket, Key, UploadId, Initiator?, Owner?, StorageClass,
 * PartNumberMarker, NextPartNumberMarker, MaxParts, IsTruncated,
 * Part{PartNumber, LastModified, ETag, Size}*.
 */
int s3xml_write_list_parts(struct buf *b, const struct s3xml_list_parts *l, char *err);

struct s3xml_upload {
	const char *key;
	const char *upload_id;
	const struct s3xml_owner *initiator;  /* NULL: omitted */
	const struct s3xml_owner *owner;      /* NULL: omitted */
	const char *storage_class;            /* NULL: STANDARD */
	int64_t initiated_ms;
};

struct s3xml_list_uploads {
	const char *bucket;
	const char *key_marker;             /* NULL: written empty */
	const char *upload_id_marker;       /* NULL: written empty */
	const char *next_key_marker;        /* NULL: written empty */
	const char *next_upload_id_marker;  /* NULL: written empty */
	const char *prefix;                 /* NULL: written empty */
	const char *delimiter;              /* NULL: omitted */
	bool url_encode;
	uint32_t max_uploads;
	bool truncated;
	const struct s3xml_upload *uploads;
	size_t nuploads;
	const char *const *prefixes;
	size_t nprefixes;
};

/*
 * ListMultipartUploadsResult: Bucket, KeyMarker, UploadIdMarker,
 * NextKeyMarker, NextUploadIdMarker, Delimiter?, Prefix, EncodingType?,
 * MaxUploads, IsTruncated, Upload{Key, UploadId, Initiator?, Owner?,
 * StorageClass, Initiated}*, CommonPrefixes*.  With url_encode,
 * KeyMarker, NextKeyMarker, Delimiter, Prefix, Key and common prefixes
 * are URL-encoded.
 */
int s3xml_write_list_uploads(struct buf *b, const struct s3xml_list_uploads *l, char *err);

/* One outcome of DeleteObjects: deleted when code is NULL, else an error. */
struct s3xml_delete_outcome {
	const char *key;
	const char *version_id;  /* echoed when non-NULL */
	const char *code;        /* NULL: <Deleted>; else <Error> with Code */
	const char *message;     /* NULL: the code's standard message */
};

/*
 * DeleteResult: Deleted{Key, VersionId?} and Error{Key, VersionId?, Code,
 * Message} in the given order; quiet lists only the errors.
 */
int s3xml_write_delete_result(struct buf *b, bool quiet, const struct s3xml_delete_outcome *o,
			      size_t n, char *err);

/*
 * Appends s[0..n) URL-encoded as described above ('/' kept).  TN_ETOOBIG
 * past the buf's max.
 */
int s3xml_urlencode(struct buf *b, const char *s, size_t n);

/* ---- request body parsers ------------------------------------------- */

/*
 * Caps.  A Delete body names at most 1000 keys of at most 1 KiB: 2 MiB
 * holds them with their markup; a Complete body lists at most 10000
 * parts of about 100-250 bytes each (ETag, number, one checksum): 4 MiB.
 * The caller passes the whole body; larger bodies are refused before
 * parsing (the edge should stop reading at the cap too).
 */
#define S3XML_MAX_DELETE_BODY (2u << 20)
#define S3XML_MAX_DELETE_OBJECTS 1000u
#define S3XML_MAX_COMPLETE_BODY (4u << 20)
#define S3XML_MAX_PART_NUMBER 10000u
/* Element nesting: the documents need 3; 32 leaves room for ignored extensions. */
#define S3XML_MAX_DEPTH 32

/*
 * The parsers accept the elements with or without the S3 namespace (any
 * namespace: names are matched by local name), ignore unknown elements
 * and their content (S3 does), and refuse a DOCTYPE (so no entity
 * declarations, internal or external), elements nested deeper than
 * S3XML_MAX_DEPTH, and anything that is not well-formed.  On failure they
 * return TN_EINVAL or TN_ETOOBIG, set *code to a static S3 error code
 * (MalformedXML, MaxMessageLengthExceeded, InvalidArgument,
 * InvalidPartOrder) and write the message to err; *out is then empty.
 */

struct s3xml_delete_object {
	char *key;         /* as sent (not trimmed), non-empty */
	char *version_id;  /* NULL when absent */
};

struct s3xml_delete {
	bool quiet;
	struct s3xml_delete_object *objects;
	size_t n;          /* 1..S3XML_MAX_DELETE_OBJECTS */
};

/*
 * Parses <Delete><Quiet>true|false</Quiet>?<Object><Key/><VersionId/>?
 * </Object>+</Delete>.  No Object, an Object without a Key (or with an
 * empty one), a repeated Key, more than 1000 Objects or a Quiet other
 * than true/false/1/0: MalformedXML.  A body over S3XML_MAX_DELETE_BODY:
 * MaxMessageLengthExceeded.  The caller releases *out with
 * s3xml_delete_release (also after a failure, which is harmless).
 */
int s3xml_parse_delete(const char *body, size_t n, struct s3xml_delete *out, const char **code,
		       char *err);
/* Frees what s3xml_parse_delete allocated; accepts NULL. */
void s3xml_delete_release(struct s3xml_delete *d);

struct s3xml_complete_part {
	uint32_t number;        /* 1..S3XML_MAX_PART_NUMBER, strictly ascending */
	char *etag;             /* trimmed, without its surrounding quotes */
	char *checksum_name;    /* "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME" or NULL */
	char *checksum;         /* its value (base64), or NULL */
};

struct s3xml_complete {
	struct s3xml_complete_part *parts;
	size_t n;               /* 1..S3XML_MAX_PART_NUMBER */
};

/*
 * Parses <CompleteMultipartUpload><Part><PartNumber/><ETag/>
 * <ChecksumCRC32/>?</Part>+</CompleteMultipartUpload> (any one of the
 * Checksum* elements).  No Part, a Part
 * without PartNumber or ETag, a non-numeric PartNumber: MalformedXML; a
 * part number outside 1..10000: InvalidArgument; numbers not strictly
 * ascending: InvalidPartOrder.  Whether the parts exist and their ETags
 * match is the caller's check (InvalidPart).  A body over
 * S3XML_MAX_COMPLETE_BODY: MaxMessageLengthExceeded.  The caller
 * releases *out with s3xml_complete_release.
 */
int s3xml_parse_complete(const char *body, size_t n, struct s3xml_complete *out,
			 const char **code, char *err);
/* Frees what s3xml_parse_complete allocated; accepts NULL. */
void s3xml_complete_release(struct s3xml_complete *c);

#endif

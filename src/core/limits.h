/*
 * limits.h - every cap in tarn, each with the reason for its value.
 *
 * Hostile input can never make tarn allocate without bound: every growable
 * thing is checked against one of these, and past it the answer is
 * TN_ETOOBIG (HTTP 413 / an AWS ValidationException at the edges).
 */
#ifndef TN_LIMITS_H
#define TN_LIMITS_H

/* One record (one JSON event): Kinesis and Firehose allow 1 MiB of data. */
#define TN_MAX_RECORD (1u << 20)

/*
 * One native-API request body (a batch of records).  16 MiB holds 16,000
 * records of 1 KiB; with the connection cap below it bounds request memory
 * at 256 x 16 MiB worst case, which the backpressure of the WAL keeps far
 * from happening (a body is only held while it is validated and appended).
 */
#define TN_MAX_BATCH_BODY (16u << 20)

/* Records in one native batch (keeps per-request arrays small). */
#define TN_MAX_BATCH_RECORDS 100000u

/* Kinesis PutRecords: 500 records and 5 MiB of data per call (AWS limits). */
#define TN_MAX_KINESIS_RECORDS 500u
#define TN_MAX_KINESIS_DATA (5u << 20)
/* Firehose PutRecordBatch: 500 records and 4 MiB per call (AWS limits). */
#define TN_MAX_FIREHOSE_RECORDS 500u
#define TN_MAX_FIREHOSE_DATA (4u << 20)
/*
 * AWS JSON request body: base64 inflates data by 4/3, plus the JSON around
 * each record (partition keys, explicit hash keys).  8 MiB covers a
 * maximal PutRecords call.
 */
#define TN_MAX_AWS_BODY (8u << 20)

/* Small API documents (tokens, stream options, ...). */
#define TN_MAX_API_BODY (64u << 10)

/*
 * A query request body: the SQL guard parses at most 1 MiB of SQL
 * (GUARD_MAX_SQL); JSON escaping can double it.
 */
#define TN_MAX_SQL_BODY (2u << 20)

/* Body of PUT /v1/objects/KEY (held whole); larger objects go through the S3 API. */
#define TN_MAX_OBJECT_BODY (64u << 20)

/* Stream names: Kinesis allows 1..128 of [a-zA-Z0-9_.-]. */
#define TN_MAX_STREAM_NAME 128u

/* Object keys (S3's limit), in bytes of UTF-8. */
#define TN_MAX_KEY 1024u

/* Required fields per stream, and the length of one field name. */
#define TN_MAX_REQUIRED_FIELDS 32u
#define TN_MAX_FIELD_NAME 128u

/* Streams in one lake: each holds an open WAL segment and its buffers. */
#define TN_MAX_STREAMS 1024u

/*
 * Flusher object size: Firehose's buffering size hint ranges 1..128 MiB;
 * tarn keeps a flush range in memory while it is written, so the hint is
 * capped at 64 MiB to hold peak RSS well under 256 MiB.
 */
#define TN_MAX_BUFFER_BYTES (64u << 20)
#define TN_MIN_BUFFER_BYTES (64u << 10)

/*
 * HTTP request line and headers together.  nginx allows 4 x 8 KiB by
 * default and AWS SDKs send under 2 KiB.  A connection's read buffer
 * starts at 4 KiB and grows to this while a head is incomplete; past it
 * the answer is 431.
 */
#define TN_MAX_HEADER_BYTES (16u << 10)

/* Configuration file size: a tarn.yaml is a page or two. */
#define TN_MAX_CONFIG_BYTES (1u << 20)

#endif

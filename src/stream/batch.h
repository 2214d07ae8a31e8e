/*
 * batch.h - splitting a native ingest body into records.
 *
 * POST /v1/streams/{name}/records takes a body in one of three shapes:
 *   NDJSON        one JSON document per line; blank lines are skipped and
 *                 each line is trimmed of JSON whitespace (a CRLF's "\r")
 *   JSON array    [ {...}, {...} ]: each element is one record, minified
 *   one object    a single document, possibly pretty-printed: minified
 * Detection, in order: a Content-Type of application/x-ndjson,
 * application/ndjson, application/jsonl or application/x-jsonlines (any
 * parameters ignored) means NDJSON; else a body starting with '[' (after
 * whitespace) is an array; else a body that is one JSON document is one
 * record; else NDJSON.  A leading UTF-8 byte order mark is dropped.
 *
 * The batch only splits and minifies.  Validation of each record (a JSON
 * object, required fields, the timestamp) is streams_append's, through
 * json_check_record.  batch_parse itself fails only for what it cannot
 * split: a broken array, a multi-line document that is not valid JSON, no
 * records, or a cap of core/limits.h.
 *
 * Record indexes in messages and in bad_index are 0-based, in body order,
 * counting records only (blank lines are not records), as streams_append
 * counts them.
 *
 * A struct batch is owned by one thread (the request's).
 */
#ifndef TN_BATCH_H
#define TN_BATCH_H

#include <stddef.h>

#include "core/buf.h"
#include "stream/stream.h"

enum batch_format {
	BATCH_NDJSON,  /* one record per line */
	BATCH_ARRAY,   /* the elements of a top-level array */
	BATCH_OBJECT,  /* the whole body is one record */
};

struct batch {
	struct record *recs;      /* n records in body order */
	size_t n;
	enum batch_format format; /* what batch_parse took the body for */
	long bad_index;           /* after a failure: the record at fault, or -1 */
	/* private */
	size_t cap;
	struct buf owned;         /* minified copies the records may point into */
};

/* Initializes an empty batch. */
void batch_init(struct batch *b);

/* Frees what the batch owns and leaves it empty and reusable.  Accepts NULL. */
void batch_release(struct batch *b);

/*
 * Splits body[0..len) into b->recs (emptying b first).  content_type is the
 * request's Content-Type header, or NULL.
 *
 * Ownership: NDJSON records and an unminified single document point into
 * body, which must outlive the batch's use; array elements and a
 * pretty-printed document are minified copies owned by the batch, valid
 * until batch_release or the next batch_parse.
 *
 * Returns 0 with b->n >= 1, or, with b->n == 0 and err set:
 *   TN_EINVAL "no records"
 *   TN_EINVAL "record 2: invalid JSON at byte 5: expected ',' or ']'"
 *             (a broken array: byte is within that element as written)
 *   TN_EINVAL "invalid JSON at byte 812: trailing characters" (after the array)
 *   TN_EINVAL "record 0: invalid JSON at byte 57: expected ':'" (a body
 *             whose first line is the start of a larger document that is
 *             broken: taken for one pretty-printed record)
 *   TN_ETOOBIG "record 4: 1048577 bytes, over the 1 MiB limit"
 *             (TN_MAX_RECORD, measured after trimming or minifying)
 *   TN_ETOOBIG "more than 100000 records in one batch" (TN_MAX_BATCH_RECORDS)
 * b->bad_index names the record when the message does, else -1.
 */
int batch_parse(struct batch *b, const char *body, size_t len, const char *content_type,
		char *err);

#endif

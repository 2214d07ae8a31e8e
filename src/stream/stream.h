/*
 * stream.h - named durable streams: the ingest core of tarn.
 *
 * A record is accepted only once it is durable: streams_append() validates
 * the records, appends them to the stream's write-ahead log (wal.h) and
 * returns only after the group-committed fdatasync covering them.  A
 * flusher thread turns WAL ranges into NDJSON objects in the raw zone,
 *   <raw>/<stream>/YYYY/MM/DD/<HHMMSS>-<first-seq>.json
 * buffered by size and age (Firehose's buffering hints), with names made
 * from the range so a replay after a crash rewrites the same objects and
 * neither loses nor duplicates a record.  Records that fail validation in
 * quarantine mode (Kinesis/Firehose) are kept too, flushed with their
 * reason to <transient>/quarantine/<stream>/YYYY/MM/DD/...; nothing is
 * dropped silently.
 *
 * Sequence numbers are per stream, start at 1 and never repeat, also
 * across deletes and restarts.
 *
 * Thread-safety: every function may be called from any thread; a struct
 * streams is shared by the whole server.  Appends to one stream are
 * serialized only for the write() into the WAL; they share fdatasyncs.
 */
#ifndef TN_STREAM_H
#define TN_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

struct store;
struct meta;
struct buf;

enum stream_partition {
	PART_ARRIVAL, /* YYYY/MM/DD of the time the record arrived (default) */
	PART_FIELD,   /* YYYY/MM/DD of a timestamp field of the record */
};

struct stream_opts {
	uint64_t buffer_bytes;   /* flush when this many bytes wait (size hint) */
	uint32_t buffer_ms;      /* flush when the oldest waiting record is this old */
	enum stream_partition partition;
	char ts_field[TN_MAX_FIELD_NAME];  /* PART_FIELD: top-level field name */
	unsigned nrequired;
	char required[TN_MAX_REQUIRED_FIELDS][TN_MAX_FIELD_NAME];
};

/* Server-wide stream settings (from tarn.yaml). */
struct streams_config {
	bool auto_create;            /* create a stream on its first write */
	struct stream_opts defaults; /* options of a new stream */
	uint64_t segment_bytes;      /* WAL segment size (preallocated) */
	uint64_t wal_max_bytes;      /* backpressure: record bytes per stream waiting to be flushed */
	uint32_t max_lag_ms;         /* backpressure: age of the oldest unflushed record */
	uint64_t min_free_bytes;     /* backpressure: keep this much disk free */
	/*
	 * Called by the flusher after it wrote objects under key prefix
	 * (the stream's raw-zone folder), e.g. to schedule a crawl.  Runs on
	 * the flusher thread with no lock held; must not block.  May be NULL.
	 */
	void (*on_flush)(void *arg, const char *stream, const char *prefix);
	void *on_flush_arg;
};

/* What a stream says of itself (GET /v1/streams/{name}, DescribeStream). */
struct stream_info {
	char name[TN_MAX_STREAM_NAME + 1];
	char kind[16];            /* "native", "kinesis" or "firehose": who created it */
	int64_t created_ms;
	struct stream_opts opts;
	uint64_t records;         /* records accepted since creation (incl. quarantined) */
	uint64_t bytes;           /* bytes of record data accepted */
	uint64_t quarantined;     /* records routed to quarantine */
	uint64_t last_seq;        /* newest durable sequence number (0: none) */
	uint64_t flushed_seq;     /* every record <= this is in an object */
	uint64_t wal_bytes;       /* bytes of WAL segments on disk */
	uint64_t objects;         /* objects written by the flusher */
	int64_t flush_lag_ms;     /* age of the oldest unflushed record (0: none) */
	int64_t last_flush_ms;    /* when the flusher last wrote (0: never) */
	char last_object[TN_MAX_KEY + 1]; /* key of the newest object ("" if none) */
	char flush_error[TN_ERRLEN]; /* why the last flush failed ("" if it did not);
				      * the flusher retries every 2 s meanwhile */
};

/* One record's bytes: a JSON document (the caller keeps them alive). */
struct record {
	const char *data;
	size_t len;
};

enum stream_mode {
	STREAM_STRICT,      /* native API: any bad record rejects the whole batch */
	STREAM_QUARANTINE,  /* Kinesis/Firehose: bad records go to quarantine */
};

struct append_result {
	uint64_t first_seq, last_seq;  /* of this batch, inclusive */
	size_t count;                  /* records appended */
	size_t quarantined;            /* of which routed to quarantine */
	long bad_index;                /* STRICT failure: 0-based index, else -1 */
	uint32_t retry_after_s;        /* TN_EAGAIN: seconds to wait */
};

struct streams;

/*
 * Opens every stream of the lake: recovers each WAL (truncating a torn
 * tail), redoes an interrupted flush, and starts the flusher thread.
 * Caller frees with streams_close().
 */
int streams_open(const struct streams_config *cfg, struct store *store, struct meta *meta,
		 const char *wal_dir, struct streams **out, char *err);
/*
 * Stops the flusher, makes every WAL durable, flushes every durable record
 * into objects, and frees everything.  Accepts NULL.
 */
void streams_close(struct streams *s);

/* Checks a stream name: 1..128 of [A-Za-z0-9_.-], not starting with '.'. */
int stream_name_check(const char *name, char *err);
/* Checks options (ranges, field names). TN_EINVAL with a message. */
int stream_opts_check(const struct stream_opts *o, char *err);

/*
 * Creates a stream.  opts NULL takes the server defaults; kind is "native",
 * "kinesis" or "firehose".  TN_ECONFLICT if it exists (ok with
 * if_absent = true, which then changes nothing).
 */
int streams_create(struct streams *s, const char *name, const char *kind,
		   const struct stream_opts *opts, bool if_absent, char *err);
/* Replaces a stream's options (creating it if absent).  Takes effect for
 * records appended from now on. */
int streams_configure(struct streams *s, const char *name, const struct stream_opts *opts,
		      char *err);
/*
 * Deletes a stream: its durable records are flushed first, then the WAL
 * and the definition go.  Objects already written stay (raw is immutable).
 */
int streams_delete(struct streams *s, const char *name, char *err);

/*
 * Appends n records and returns once they are durable.  Each record must be
 * one JSON object; required fields must be present and non-null; with
 * PART_FIELD the timestamp field must parse (core/timeutil.h time_parse).
 * STRICT: the first bad record fails the call with TN_EINVAL, nothing is
 * appended, res->bad_index names it and err says
 *   "record 3: invalid JSON at byte 17: expected ':'".
 * QUARANTINE: bad records are appended for the quarantine zone with their
 * reason, and res->quarantined counts them.
 * Creates the stream if absent and auto_create is on (TN_ENOTFOUND if not).
 * TN_EAGAIN when the WAL or the flush lag passes its bound or the disk is
 * nearly full (res->retry_after_s set); TN_ENOSPC / TN_EIO if the WAL write
 * failed.  On any error nothing of the batch is acknowledged.
 */
int streams_append(struct streams *s, const char *name, const struct record *recs, size_t n,
		   enum stream_mode mode, struct append_result *res, char *err);

/*
 * Completion of streams_append_async: called exactly once, with rc 0 when
 * the batch is durable (res filled), or rc < 0 and a message when the
 * fdatasync covering it failed.  It runs on a sync thread (or, rarely, in
 * the thread that called streams_append_async, before that call returns):
 * it must be quick and must not block -- typically it records the outcome
 * and resumes a suspended connection.  res and err are valid only during
 * the call.
 */
typedef void (*stream_done_fn)(void *arg, int rc, const struct append_result *res,
			       const char *err);

/*
 * streams_append without the wait, for event-loop callers: validates and
 * writes the batch exactly as streams_append does, then returns 0 at once;
 * done(arg, ...) follows once the records are durable.  One group commit
 * (one fdatasync, on a sync thread) completes every batch written before
 * it started.  A negative return means the batch was refused (bad record,
 * backpressure, WAL write failure): nothing was appended, *res and err say
 * why as for streams_append, and done is never called.
 */
int streams_append_async(struct streams *s, const char *name, const struct record *recs,
			 size_t n, enum stream_mode mode, struct append_result *res,
			 stream_done_fn done, void *arg, char *err);

/* Flushes every durable record of the stream into objects, synchronously. */
int streams_flush(struct streams *s, const char *name, char *err);

/* Fills *out for one stream. TN_ENOTFOUND if absent. */
int streams_info(struct streams *s, const char *name, struct stream_info *out, char *err);
/* All streams, sorted by name; caller frees *out with free(). */
int streams_list(struct streams *s, struct stream_info **out, size_t *n, char *err);

/* Parses/prints options as the JSON of PUT/GET /v1/streams/{name}:
 *   {"buffer_bytes": N, "buffer_seconds": N, "partition_by": "arrival" |
 *    "field", "timestamp_field": "...", "required_fields": ["a", ...]}
 * Parsing starts from *o (fields absent keep their value). */
int stream_opts_from_json(const char *json, size_t n, struct stream_opts *o, char *err);
int stream_opts_to_json(const struct stream_opts *o, struct buf *out);

#endif

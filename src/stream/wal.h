/*
 * wal.h - the write-ahead log of one stream.
 *
 * A directory of segment files "<first-seq, 20 digits>.wal", each
 * preallocated to the segment size so appends inside it never need new
 * blocks (no ENOSPC, cheaper fdatasync).  A released segment is kept as
 * "recycled.seg" (one per WAL, beside the segments) and becomes the next
 * segment at rollover with a new header: its blocks are written already,
 * which spares each fdatasync a journal commit.  A segment starts with a 64-byte
 * header (magic, version, first sequence number, CRC) followed by frames:
 *
 *   u32 crc32c   of every byte after this field up to the end of the frame
 *   u32 len      data bytes
 *   u32 rlen     reason bytes (quarantined records; 0 otherwise)
 *   u8  flags    1 = quarantined, 2 = last frame of an append batch,
 *                4 = packed
 *   u8  pad[3]   zero
 *   u64 seq      sequence number (consecutive, starting at the segment's)
 *   i64 arrival  arrival time, ms since the epoch
 *   i64 part     partition time, ms since the epoch
 *   reason[rlen] data[len]
 *
 * A packed frame (flags 4|2, since version 2) holds a whole batch: its
 * data is u32 count, u32 raw bytes, then an LZ4 block that unpacks to
 * count plain frames whose crc, seq and arrival are zero (the packed
 * frame's seq is the first record's; the records follow on from it).
 * A batch is packed when its frames take 4 KiB or more and LZ4 saves at
 * least a tenth: JSON events shrink 4-6x, so the WAL writes (and the disk
 * the flusher shares) carry that much less.
 *
 * Integers are little-endian.  The data of a segment ends at a zeroed
 * frame header (a clean close writes one), at the end of the file, or at
 * a frame whose seq is below the segment's first (the old frames of a
 * recycled segment).  A batch is all-or-nothing: recovery keeps frames up
 * to the last one flagged as a batch end and zeroes the rest (a torn
 * tail).  Recovery unpacks every packed frame it keeps and checks
 * that it holds its count of well-formed records, so every record it
 * counts can be read back.  Durability is by group commit: wal_sync_to() returns
 * once one fdatasync has covered the caller's records, and one fdatasync
 * covers every writer waiting at that moment.
 *
 * Threads: wal_append and wal_sync_to from any thread; the cursor functions
 * and wal_release from one thread at a time (the flusher).
 */
#ifndef TN_WAL_H
#define TN_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_HEADER_BYTES 64u
#define WAL_FRAME_BYTES 40u
#define WAL_MAX_REASON 1024u

/* A record to append. */
struct wal_rec {
	const char *data;
	size_t len;
	const char *reason;  /* quarantined: why; NULL for a good record */
	size_t rlen;
	int64_t part_ms;     /* partition time */
};

/* A record read back; pointers valid until the next wal_cursor_next. */
struct wal_entry {
	uint64_t seq;
	int64_t arrival_ms;
	int64_t part_ms;
	bool quarantined;
	const char *reason;
	size_t rlen;
	const char *data;
	size_t len;
};

struct wal;
struct wal_cursor;

/*
 * Opens (creating) the WAL in dir and recovers it: scans every segment,
 * truncates a torn tail of the last one, deletes segments wholly at or
 * below flushed_seq.  The next sequence number is one past the last
 * recovered record, and never at or below flushed_seq.
 * TN_ECORRUPT if a segment other than the last is damaged.
 */
int wal_open(const char *dir, uint64_t flushed_seq, uint64_t segment_bytes, struct wal **out,
	     char *err);
/* Waits for pending notifications, syncs and closes. Accepts NULL. */
void wal_close(struct wal *w);

/*
 * Appends n records as one batch with arrival time arrival_ms; *first_seq
 * receives the sequence number of the first (the last is first + n - 1).
 * Not durable until wal_sync_to() returns.  On failure nothing of the batch
 * will be recovered and the WAL stays usable, except after a failed
 * fdatasync, which makes it refuse every later call (TN_EIO) until reopened.
 */
int wal_append(struct wal *w, const struct wal_rec *recs, size_t n, int64_t arrival_ms,
	       uint64_t *first_seq, char *err);
/* Waits until every record <= seq is durable (group commit). */
int wal_sync_to(struct wal *w, uint64_t seq, char *err);

/*
 * Completion of wal_notify: rc 0 once the records are durable, or the
 * error of the fdatasync that failed.  Runs on a sync thread (or inline in
 * wal_notify when already durable); must not block.
 */
typedef void (*wal_done_fn)(void *arg, int rc);
/*
 * Calls fn(arg, rc) once every record <= seq is durable, without waiting:
 * the group commit runs on a small pool of sync threads shared by all
 * WALs, and one fdatasync completes every waiter whose records it covers
 * (blocking waiters of wal_sync_to included).  Any thread.
 */
void wal_notify(struct wal *w, uint64_t seq, wal_done_fn fn, void *arg);

/* Newest durable sequence number (0 if none). */
uint64_t wal_durable_seq(struct wal *w);
/* Bytes of segment files in use (headers and frames, not preallocation). */
uint64_t wal_bytes(struct wal *w);
/* Live segment files. */
unsigned wal_segments(struct wal *w);

/* A reader positioned at from_seq (which must be > the released seq). */
int wal_cursor_open(struct wal *w, uint64_t from_seq, struct wal_cursor **out, char *err);
/*
 * Reads the next record if its seq <= max_seq: returns 1 and fills *e,
 * 0 when there is none, or a negative code (TN_ECORRUPT names the spot).
 */
int wal_cursor_next(struct wal_cursor *c, uint64_t max_seq, struct wal_entry *e, char *err);
void wal_cursor_close(struct wal_cursor *c);

/* Removes the WAL directory dir and its segments (after a stream is deleted). */
int wal_destroy(const char *dir, char *err);

/* Deletes segments whose records are all <= flushed_seq (never the current one). */
int wal_release(struct wal *w, uint64_t flushed_seq, char *err);

#endif

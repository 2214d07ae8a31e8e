/*
 * wal_int.h - internals shared by the files of the WAL (wal.c: appends,
 * group commit, recovery, cursors; wal_seg.c: segment files).  Nothing
 * outside src/stream/wal*.c includes this.
 */
#ifndef TN_WAL_INT_H
#define TN_WAL_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "stream/wal.h"

#define WAL_MAGIC "TARNWAL1"
#define WAL_VERSION 2u     /* 2: frames may be packed; segments of version 1 are still read */
#define F_QUARANTINE 1u
#define F_BATCH_END 2u
#define F_PACKED 4u

struct seg {
	uint64_t first_seq;
	uint64_t last_seq;  /* 0 while empty */
	uint64_t end;       /* bytes in use: header + frames */
	int fd;
	char *path;
	bool sealed;        /* recovered: appends go to a new segment (wal.c, recover) */
};

struct wal {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *dir;
	uint64_t segment_bytes;
	struct seg *segs;
	size_t nsegs, capsegs;
	uint64_t next_seq;
	uint64_t written_seq;
	_Atomic uint64_t durable_seq; /* written under mu; read anywhere */
	_Atomic uint32_t sync_gen;    /* futex word: bumped after every sync round */
	_Atomic uint32_t sleepers;    /* threads in (or entering) a wait on sync_gen */
	uint64_t bytes;       /* sum of seg.end */
	bool opened;          /* wal_open succeeded (a failed open writes nothing at close) */
	bool has_recycled;    /* RECYCLED_NAME holds a released segment for the next rollover */
	bool zeroing;         /* zero_main is writing a recycled segment */
	bool zero_started;    /* zero_thread was started and is not joined yet */
	pthread_t zero_thread;
	bool syncing;
	bool queued;          /* on the sync pool's queue */
	struct wal *next_queued;
	struct notify *waiters; /* wal_notify callbacks not yet durable */
	size_t nwaiters, capwaiters;
	int failed;           /* sticky error after a failed fdatasync */
	struct buf frames;    /* batch being built (under mu) */
	struct buf pend;      /* small batches' frames not yet written (under mu) */
	uint64_t pend_off;    /* their offset in the last segment */
	struct buf spare;     /* the round leader's: the pend it took */
	/*
	 * Where the last cursor stopped: the frame at hint_off of segment
	 * hint_seg starts with record hint_seq.  The flusher's next cursor
	 * starts there instead of scanning the segment from its header.
	 */
	uint64_t hint_seg, hint_off, hint_seq;
};

struct notify;

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- wal_seg.c: segment files ---------------------------------------------- */

/* "<dir>/<first, 20 digits>.wal" */
void seg_path(const char *dir, uint64_t first, char *out, size_t n);
/* "<dir>/recycled.seg": a written segment kept for the next rollover */
void recycled_path(const struct wal *w, char *out, size_t n);
/* 0 if h is a valid header of segment first_seq, else TN_ECORRUPT. */
int header_check(const uint8_t h[WAL_HEADER_BYTES], uint64_t first_seq);
/*
 * Under mu: creates segment first_seq (the recycled one if there is one,
 * else a fresh preallocated file, which starts a zeroed successor in the
 * background).  Returns 0 with *out filled, or a code with a message.
 */
int seg_create(struct wal *w, uint64_t first_seq, struct seg *out, char *err);
/* Closes the segment's file and frees its path. */
void seg_free(struct seg *s);
/* Recovery: zeroes the last segment after end (a torn tail) and syncs it. */
int seg_truncate(struct wal *w, struct seg *s, uint64_t end, char *err);

#endif

/*
 * stream_int.h - internals shared by stream.c and flusher.c only.
 */
#ifndef TN_STREAM_INT_H
#define TN_STREAM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "stream/stream.h"
#include "stream/wal.h"

/* Appended-but-unflushed batches, oldest first: for the flush lag. */
struct lag_ent {
	uint64_t last_seq;
	int64_t arrival_ms;
};

/*
 * One stream.  Owned by the registry; threads hold a reference (refs,
 * under streams.mu) while they use it.  Fields below mu are guarded by
 * it; wal is internally synchronized.
 */
struct stream {
	char name[TN_MAX_STREAM_NAME + 1];
	char kind[16];
	int64_t created_ms;
	struct wal *wal;
	_Atomic int refs;      /* taken under streams.mu (lookup), dropped anywhere */
	_Atomic bool removed;  /* set under streams.mu: out of the registry */

	pthread_mutex_t mu;
	struct stream_opts opts;
	uint64_t flushed_seq;  /* checkpointed in the metastore */
	uint64_t pending_end;  /* flush range in progress (0: none) */
	uint64_t records, bytes, quarantined, objects; /* flushed, from the metastore */
	uint64_t un_bytes, un_quarantined;             /* durable, not yet flushed */
	char last_object[TN_MAX_KEY + 1];
	int64_t last_flush_ms;
	struct lag_ent *lag;   /* ring of batches not yet flushed */
	size_t lag_head, lag_len, lag_cap;
	uint64_t flush_target; /* streams_flush(): flush at least up to here */
	int flush_rc;          /* last flush failure (0: fine) */
	char flush_msg[TN_ERRLEN];
	int64_t retry_at_ms;   /* after a failure, next attempt */
};

struct streams {
	struct streams_config cfg;
	struct store *store;
	struct meta *meta;
	char *wal_dir;

	pthread_mutex_t mu;    /* registry, refs, flusher wake-ups */
	pthread_cond_t cv;     /* refs dropping, flush progress */
	pthread_cond_t kick;   /* wakes the flusher */
	struct stream **all;
	size_t n, cap;
	bool stopping;
	bool kicked;
	pthread_t flusher;
	bool flusher_started;

	_Atomic int putting;     /* stream_put calls in progress: close waits them out */
	_Atomic int64_t free_checked_ms; /* disk-space check cache (races are harmless) */
	_Atomic int64_t free_bytes;
};

/* flusher.c */
void *flusher_main(void *arg);
/*
 * Flushes one range of st (the pending one if a flush was interrupted,
 * else up to its durable end, at most one buffer's worth).  Returns 1 if
 * it wrote something, 0 if nothing waited, or a negative code.
 * Called by one thread at a time per stream (the flusher, or close).
 */
int flush_once(struct streams *ss, struct stream *st, char *err);
/* Oldest unflushed arrival (0 if none); under st->mu. */
int64_t stream_oldest_ms(const struct stream *st);
/* Drops a reference taken by a lookup (any thread, no lock held). */
void stream_put(struct streams *ss, struct stream *st);
/* Metastore writes of the flusher's checkpoints. */
int meta_stream_pending(struct streams *ss, const char *name, uint64_t pending_end, char *err);

#endif

/*
 * wal.c - per-stream write-ahead log with group commit.
 *
 * See wal.h for the format.  Design:
 *   - Appends build the whole batch's frames in a buffer under w->mu, so
 *     frames of concurrent batches never interleave and sequence numbers
 *     are assigned in file order.  A large batch is written at once with
 *     one pwrite; small ones (single records) are gathered in w->pend and
 *     written by the next sync round with one pwrite for all of them,
 *     just before its fdatasync: a syscall and a page-cache write per
 *     round instead of per record, and no write while the lock is held.
 *   - Group commit: a writer that needs durability becomes the sync leader
 *     if nobody is syncing: it notes the newest written seq, drops the
 *     lock, fdatasyncs, and publishes that seq as durable.  Writers that
 *     arrive meanwhile wait for the next round, which one of them leads.
 *     One fdatasync thus covers every writer waiting when it starts.
 *     Waiters sleep on a futex word (sync_gen) and read durable_seq
 *     atomically: a finished round wakes them all at once without the
 *     lock convoy a condition variable would cause (each woken waiter
 *     re-taking the mutex in turn).
 *   - Event-loop callers do not block: wal_notify registers (seq, callback)
 *     and queues the WAL on a small pool of sync threads, which run the
 *     same rounds and call back every waiter a round made durable.  A
 *     round, whoever leads it, completes both kinds of waiters.
 *   - Segments are preallocated, so appends do not allocate blocks: a full
 *     disk shows up when a new segment is created, before anything of the
 *     batch is written, and acknowledged data is never at risk.  Released
 *     segments are recycled (RECYCLED_NAME), so most segments are written
 *     files and their fdatasyncs need no journal commit.
 *   - Rollover syncs the old segment before the first frame goes into the
 *     new one, so only the last segment can ever have a torn tail.
 *   - Recovery seals the last segment: the first append after an open
 *     starts a new one, so stale frames past a recovered end stay behind
 *     that end for good (see recover).
 *   - A failed write of a large batch zeroes what it may have written and
 *     leaves the WAL usable; a failed fdatasync leaves the kernel's page
 *     state unknown (fsyncgate), so the WAL refuses all later calls until
 *     reopened -- as it does after a failed write of gathered frames,
 *     whose sequence numbers are already taken.
 * Invariants: segments are sorted by first_seq and each holds consecutive
 * sequence numbers; durable_seq <= written_seq; every frame with seq <=
 * written_seq is completely in the file or in w->pend, which holds the
 * last segment's bytes [pend_off, end).
 */
#include "stream/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "stream/wal_int.h"
#include "core/banned.h"

#define READ_CHUNK (1u << 20)
/*
 * Packing: a batch whose frames take at least PACK_MIN_BYTES is written as
 * one packed frame when LZ4 shrinks it below PACK_MAX_RATIO percent; small
 * batches (single records) are not worth the CPU.  PACK_MAX_RAW caps what a
 * packed frame may unpack to (a batch body is at most 16 MiB).
 */
#define PACK_MIN_BYTES 4096u
#define PACK_MAX_RATIO 90u
#define PACK_PREFIX 8u
#define PACK_MAX_RAW (256u << 20)
/* Scratch a thread keeps between batches (a 16 MiB batch's is released after it). */
#define PACK_KEEP (4u << 20)
/*
 * LZ4's speed/ratio knob.  On 500 immunization events: 1 packs 5.6x at
 * 1.3 GB/s, 8 packs 4.9x at 1.9 GB/s, 32 only 2.6x.  Packing runs on the
 * request's thread, so its speed is ingest's CPU.
 */
#define PACK_ACCELERATION 8
/* Batches of at most PEND_BATCH bytes of frames are gathered, up to PEND_MAX at a time. */
#define PEND_BATCH (16u << 10)
#define PEND_MAX (256u << 10)

struct notify {
	uint64_t seq;
	wal_done_fn fn;
	void *arg;
};

struct wal_cursor {
	struct wal *w;
	uint64_t next_seq;
	uint64_t seg_first;   /* segment being read */
	uint64_t off;         /* offset of the next frame in it */
	int fd;
	char path[PATH_MAX];
	struct buf buf;       /* read-ahead */
	uint64_t buf_off;     /* file offset of buf.data[0] */
	/* The packed frame being read: records useq..uend-1 are left, from upos. */
	struct buf unpacked;
	size_t upos;
	uint64_t useq, uend;
	int64_t uarrival;
	uint64_t ufirst, uoff;  /* its first record and its offset in the segment */
};

static void segs_push(struct wal *w, struct seg s)
{
	if (w->nsegs == w->capsegs) {
		w->capsegs = w->capsegs ? w->capsegs * 2 : 8;
		w->segs = xrealloc(w->segs, w->capsegs * sizeof *w->segs);
	}
	w->segs[w->nsegs++] = s;
}

/*
 * Frame reader over one segment with read-ahead.  Returns 1 with *e filled
 * and the flags, frame length and record count set, 0 at a zeroed header or
 * end of file, TN_ECORRUPT for a frame that does not verify (torn or
 * damaged), another code on I/O.  A packed frame comes back whole: e->seq
 * is its first record's, e->data its payload, *nrec its record count.
 */
static int read_frame(int fd, const char *path, uint64_t off, uint64_t first_seq,
		      uint64_t expect_seq, struct buf *b, uint64_t *buf_off, struct wal_entry *e, unsigned *flags,
		      uint64_t *flen, uint64_t *nrec, char *err)
{
	uint64_t need = WAL_FRAME_BYTES;
	for (int pass = 0; pass < 2; pass++) {
		if (off < *buf_off || off + need > *buf_off + b->len) {
			size_t want = need > READ_CHUNK ? (size_t)need : READ_CHUNK;
			/* A frame larger than the read-ahead must fit in the file before we allocate it. */
			struct stat st;
			if (need > READ_CHUNK && (fstat(fd, &st) != 0 || (uint64_t)st.st_size < off + need))
				return 0;
			buf_reset(b);
			int rc = buf_grow(b, want);
			if (rc)
				return tn_fail(err, rc, "wal '%s': frame too large", path);
			size_t got = 0;
			rc = os_pread(fd, b->data, want, off, &got, path, err);
			if (rc)
				return rc;
			b->len = got;
			*buf_off = off;
			if (got < need)
				return 0; /* end of file */
		}
		const uint8_t *p = (const uint8_t *)b->data + (off - *buf_off);
		uint32_t crc = get32(p), len = get32(p + 4), rlen = get32(p + 8);
		uint64_t seq = get64(p + 16);
		unsigned f = p[12];
		if (pass == 0) {
			if (crc == 0 && len == 0 && rlen == 0 && seq == 0)
				return 0; /* zeroed: the end of the data */
			if (seq < first_seq)
				return 0; /* a recycled segment's old frames: the end of the data */
			bool packed = f & F_PACKED;
			if ((packed ? len < PACK_PREFIX || len > PACK_MAX_RAW || rlen ||
				      f != (F_PACKED | F_BATCH_END)
				    : len > TN_MAX_RECORD || rlen > WAL_MAX_REASON) ||
			    seq != expect_seq || (f & ~(F_QUARANTINE | F_BATCH_END | F_PACKED)) ||
			    p[13] || p[14] || p[15])
				return TN_ECORRUPT;
			need = WAL_FRAME_BYTES + (uint64_t)len + rlen;
			continue;
		}
		if (crc32c(0, p + 4, (size_t)need - 4) != crc)
			return TN_ECORRUPT;
		e->seq = seq;
		e->arrival_ms = (int64_t)get64(p + 24);
		e->part_ms = (int64_t)get64(p + 32);
		e->quarantined = f & F_QUARANTINE;
		e->rlen = rlen;
		e->reason = (const char *)p + WAL_FRAME_BYTES;
		e->len = len;
		e->data = (const char *)p + WAL_FRAME_BYTES + rlen;
		*nrec = 1;
		if (f & F_PACKED) {
			const uint8_t *q = p + WAL_FRAME_BYTES;
			uint32_t count = get32(q), raw = get32(q + 4);
			if (count == 0 || count > TN_MAX_BATCH_RECORDS || raw > PACK_MAX_RAW ||
			    raw < (uint64_t)count * WAL_FRAME_BYTES)
				return TN_ECORRUPT;
			*nrec = count;
		}
		*flags = f;
		*flen = need;
		return 1;
	}
	return TN_EINTERNAL;
}

/* Unpacks a packed frame's payload (u32 count, u32 raw bytes, LZ4 block) into out. */
static bool packed_unpack(const uint8_t *q, size_t len, struct buf *out)
{
	uint32_t raw = get32(q + 4);
	buf_reset(out);
	if (len < PACK_PREFIX || buf_grow(out, raw))
		return false;
	int got = LZ4_decompress_safe((const char *)q + PACK_PREFIX, out->data,
				      (int)(len - PACK_PREFIX), (int)raw);
	if (got < 0 || (uint32_t)got != raw)
		return false;
	out->len = raw;
	return true;
}

/* The length of the inner frame at p (left bytes to the end), or 0 if it is damaged. */
static size_t inner_frame(const uint8_t *p, size_t left)
{
	if (left < WAL_FRAME_BYTES)
		return 0;
	uint32_t len = get32(p + 4), rlen = get32(p + 8);
	if (len > TN_MAX_RECORD || rlen > WAL_MAX_REASON ||
	    left - WAL_FRAME_BYTES < (size_t)len + rlen || (p[12] & ~F_QUARANTINE))
		return 0;
	return WAL_FRAME_BYTES + (size_t)len + rlen;
}

/*
 * Recovery's check of a packed frame whose CRC holds: it unpacks to
 * exactly count well-formed records, so every record recovery counts can
 * be read back.
 */
static bool packed_valid(const struct wal_entry *e, uint64_t count, struct buf *scratch)
{
	if (!packed_unpack((const uint8_t *)e->data, e->len, scratch))
		return false;
	size_t off = 0;
	for (uint64_t i = 0; i < count; i++) {
		size_t f = inner_frame((const uint8_t *)scratch->data + off, scratch->len - off);
		if (!f)
			return false;
		off += f;
	}
	return off == scratch->len;
}

/*
 * Scans a segment from its header: *end is the offset after the last
 * frame that ends a batch, *last its seq (0 if none); *garbage is set when
 * anything but zeros follows *end.
 */
static int seg_scan(struct seg *s, uint64_t *end, uint64_t *last, bool *garbage, char *err)
{
	struct buf b = BUF_INIT(0), scratch = BUF_INIT(0);
	uint64_t buf_off = UINT64_MAX, off = WAL_HEADER_BYTES, seq = s->first_seq;
	*end = WAL_HEADER_BYTES;
	*last = 0;
	*garbage = false;
	int rc;
	for (;;) {
		struct wal_entry e;
		unsigned flags;
		uint64_t flen, nrec;
		rc = read_frame(s->fd, s->path, off, s->first_seq, seq, &b, &buf_off, &e, &flags,
				&flen, &nrec, err);
		if (rc == 0)
			break;
		if (rc == TN_ECORRUPT ||
		    (rc == 1 && (flags & F_PACKED) && !packed_valid(&e, nrec, &scratch))) {
			*garbage = true;
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		off += flen;
		seq += nrec;
		if (flags & F_BATCH_END) {
			*end = off;
			*last = seq - 1;
		}
	}
	if (rc == 0 && off != *end)
		*garbage = true; /* frames of an unfinished batch */
	buf_release(&b);
	buf_release(&scratch);
	return rc;
}

static int list_segments(struct wal *w, uint64_t **firsts, size_t *n, char *err)
{
	DIR *d = opendir(w->dir);
	if (!d)
		return tn_fail(err, tn_from_errno(errno), "wal '%s': %s", w->dir, strerror(errno));
	size_t cap = 16;
	*firsts = xmalloc(cap * sizeof **firsts);
	*n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strncmp(name, OS_TMP_PREFIX, strlen(OS_TMP_PREFIX))) {
			/* A segment whose creation was interrupted. */
			char p[PATH_MAX];
			snprintf(p, sizeof p, "%s/%s", w->dir, name);
			unlink(p);
			continue;
		}
		size_t len = strlen(name);
		if (len != 24 || strcmp(name + 20, ".wal") != 0)
			continue;
		char *end;
		uint64_t v = strtoull(name, &end, 10);
		if (end != name + 20)
			continue;
		if (*n == cap) {
			cap *= 2;
			*firsts = xrealloc(*firsts, cap * sizeof **firsts);
		}
		(*firsts)[(*n)++] = v;
	}
	closedir(d);
	/* Insertion sort: a stream has a handful of segments. */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && (*firsts)[j - 1] > (*firsts)[j]; j--) {
			uint64_t t = (*firsts)[j];
			(*firsts)[j] = (*firsts)[j - 1];
			(*firsts)[j - 1] = t;
		}
	return 0;
}

static int recover(struct wal *w, uint64_t flushed_seq, char *err)
{
	uint64_t *firsts = NULL;
	size_t n = 0;
	int rc = list_segments(w, &firsts, &n, err);
	if (rc)
		return rc;
	uint64_t last_seq = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool is_last = i == n - 1;
		struct seg s = { firsts[i], 0, 0, -1, NULL, false };
		char path[PATH_MAX];
		seg_path(w->dir, firsts[i], path, sizeof path);
		s.path = xstrdup(path);
		s.fd = os_open(path, O_RDWR, 0, err);
		if (s.fd < 0) {
			rc = s.fd;
			free(s.path);
			break;
		}
		uint8_t h[WAL_HEADER_BYTES];
		size_t got = 0;
		rc = os_pread(s.fd, h, sizeof h, 0, &got, path, err);
		if (rc == 0 && (got != sizeof h || header_check(h, s.first_seq) != 0)) {
			rc = tn_fail(err, TN_ECORRUPT, "wal segment '%s': bad header", path);
		}
		uint64_t end = 0, last = 0;
		bool garbage = false;
		if (rc == 0)
			rc = seg_scan(&s, &end, &last, &garbage, err);
		/* Every record after flushed_seq must be present: no gap before this segment. */
		uint64_t have = last_seq > flushed_seq ? last_seq : flushed_seq;
		if (rc == 0 && s.first_seq > have + 1)
			rc = tn_fail(err, TN_ECORRUPT,
				     "wal segment '%s': starts at %" PRIu64 ", expected %" PRIu64
				     " (records missing)", path, s.first_seq, have + 1);
		if (rc == 0 && garbage) {
			if (is_last)
				rc = seg_truncate(w, &s, end, err);
			else if (!last || last + 1 != firsts[i + 1])
				rc = tn_fail(err, TN_ECORRUPT,
					     "wal segment '%s': damaged at byte %" PRIu64, path, end);
		}
		if (rc) {
			seg_free(&s);
			break;
		}
		s.end = end;
		s.last_seq = last;
		if (last)
			last_seq = last;
		/*
		 * Nothing is appended to the last segment again.  After a power
		 * loss, frames written but never synced may lie past its end
		 * (the page at the end lost, a later one kept); a new frame
		 * ending exactly where such a frame starts would make the next
		 * recovery read it as a record.  New frames go to a new
		 * segment, and the end found here stays the end.  An empty last
		 * segment is removed: the new one takes its name.
		 */
		if (is_last && !last) {
			log_info("wal", "'%s': removing an empty last segment", path);
			rc = os_unlink(path, err);
			seg_free(&s);
			if (rc == 0)
				rc = os_fsync_dir(w->dir, err);
			break;
		}
		s.sealed = is_last;
		w->bytes += s.end;
		segs_push(w, s);
	}
	free(firsts);
	if (rc)
		return rc;
	w->next_seq = last_seq + 1;
	if (w->next_seq <= flushed_seq)
		w->next_seq = flushed_seq + 1;
	w->written_seq = w->next_seq - 1;
	atomic_store(&w->durable_seq, w->written_seq);
	/* Segments recovered are durable: they were synced, or are now after truncation. */
	return wal_release(w, flushed_seq, err);
}

int wal_open(const char *dir, uint64_t flushed_seq, uint64_t segment_bytes, struct wal **out,
	     char *err)
{
	int rc = os_mkdir_p(dir, 0750, err);
	if (rc)
		return rc;
	struct wal *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->dir = xstrdup(dir);
	w->segment_bytes = segment_bytes;
	buf_init(&w->frames, 0);
	buf_init(&w->pend, 0);
	buf_init(&w->spare, 0);
	rc = recover(w, flushed_seq, err);
	if (rc) {
		wal_close(w);
		return rc;
	}
	/* A recycled segment of another size (the setting changed) is not kept. */
	char rp[PATH_MAX];
	struct stat st;
	recycled_path(w, rp, sizeof rp);
	if (stat(rp, &st) == 0) {
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == segment_bytes)
			w->has_recycled = true;
		else
			unlink(rp);
	}
	w->opened = true;
	*out = w;
	return 0;
}

/*
 * Under mu: writes the gathered frames.  A failure fails the WAL: their
 * sequence numbers are taken, and a hole would cut recovery short.
 */
static int pend_write(struct wal *w, char *err)
{
	if (!w->pend.len)
		return 0;
	struct seg *cur = &w->segs[w->nsegs - 1];
	int rc = os_pwrite_all(cur->fd, w->pend.data, w->pend.len, w->pend_off, cur->path, err);
	if (rc) {
		w->failed = TN_EIO;
		log_error("wal", "'%s': writing gathered records failed; the WAL refuses further "
			  "appends until reopened", cur->path);
		return rc;
	}
	w->pend.len = 0;
	return 0;
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	/* zero_main takes mu at its end: wait for it without holding mu */
	if (w->zero_started) {
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->zero_thread, NULL);
		pthread_mutex_lock(&w->mu);
		w->zero_started = false;
	}
	/* The sync pool may still hold this WAL: let it finish with it. */
	while (w->syncing || w->queued || w->nwaiters)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->opened && w->nsegs && !w->failed && pend_write(w, NULL) == 0) {
		/*
		 * A zeroed frame header after the last frame ends the data for
		 * the next recovery: in a recycled segment old frames follow.
		 */
		static const char end_mark[WAL_FRAME_BYTES];
		struct seg *cur = &w->segs[w->nsegs - 1];
		if (cur->end + sizeof end_mark <= w->segment_bytes)
			os_pwrite_all(cur->fd, end_mark, sizeof end_mark, cur->end, cur->path, NULL);
		os_fdatasync(cur->fd, cur->path, NULL);
	}
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < w->nsegs; i++)
		seg_free(&w->segs[i]);
	free(w->segs);
	free(w->waiters);
	buf_release(&w->frames);
	buf_release(&w->pend);
	buf_release(&w->spare);
	free(w->dir);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void gen_bump(struct wal *w);

/* Under mu: makes sure the current segment can take need more bytes. */
static int ensure_room(struct wal *w, uint64_t need, char *err)
{
	if (need + WAL_HEADER_BYTES > w->segment_bytes)
		return tn_fail(err, TN_ETOOBIG, "batch of %" PRIu64 " bytes exceeds the WAL segment size",
			       need);
	/*
	 * Re-evaluated after every wait: while we wait, other appenders may
	 * fill the segment, roll over themselves (growing w->segs, so no
	 * pointer into it survives a wait), or make room obsolete.
	 */
	for (;;) {
		struct seg *cur = w->nsegs ? &w->segs[w->nsegs - 1] : NULL;
		/* A segment holds consecutive seqs: a gap (after release) needs a new one too. */
		bool fits = cur && !cur->sealed && cur->end + need <= w->segment_bytes &&
			    (cur->last_seq ? cur->last_seq + 1 : cur->first_seq) == w->next_seq;
		if (fits)
			return 0;
		if (w->failed)
			return tn_fail(err, w->failed, "wal '%s': an earlier write or fdatasync "
				       "failed", w->dir);
		if (cur && w->syncing) {
			/* The old segment must be durable before frames go to the next. */
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		if (cur && w->written_seq > atomic_load(&w->durable_seq)) {
			int rc = pend_write(w, err);
			if (rc)
				return rc;
			rc = os_fdatasync(cur->fd, cur->path, err);
			if (rc) {
				w->failed = TN_EIO;
				return rc;
			}
			atomic_store(&w->durable_seq, w->written_seq);
			pthread_cond_broadcast(&w->cv);
			/* Waiters sleep on the futex; they re-check once we unlock. */
			gen_bump(w);
		}
		struct seg s;
		int rc = seg_create(w, w->next_seq, &s, err);
		if (rc)
			return rc;
		w->bytes += s.end;
		segs_push(w, s);
		return 0;
	}
}

/* Bytes of r's reason as stored (cut at WAL_MAX_REASON). */
static size_t rec_rlen(const struct wal_rec *r)
{
	return r->reason ? (r->rlen < WAL_MAX_REASON ? r->rlen : WAL_MAX_REASON) : 0;
}

/* Writes r's frame at p, with its CRC if crc is set; returns its length. */
static size_t frame_put(uint8_t *p, const struct wal_rec *r, uint64_t seq, int64_t arrival_ms,
			bool last, bool crc)
{
	size_t rlen = rec_rlen(r);
	memset(p, 0, WAL_FRAME_BYTES);
	put32(p + 4, (uint32_t)r->len);
	put32(p + 8, (uint32_t)rlen);
	p[12] = (uint8_t)((r->reason ? F_QUARANTINE : 0) | (last ? F_BATCH_END : 0));
	put64(p + 16, seq);
	put64(p + 24, (uint64_t)arrival_ms);
	put64(p + 32, (uint64_t)r->part_ms);
	if (rlen)
		memcpy(p + WAL_FRAME_BYTES, r->reason, rlen);
	if (r->len)
		memcpy(p + WAL_FRAME_BYTES + rlen, r->data, r->len);
	size_t flen = WAL_FRAME_BYTES + rlen + r->len;
	if (crc)
		put32(p, crc32c(0, p + 4, flen - 4));
	return flen;
}

/* Per-thread scratch for packing, kept between batches (appenders are long-lived threads). */
struct pack_scratch {
	struct buf raw, out;
};

static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void pack_scratch_free(void *p)
{
	struct pack_scratch *ps = p;
	buf_release(&ps->raw);
	buf_release(&ps->out);
	free(ps);
}

/* A thread keeps its scratch for the next batch, unless an outsized one grew it. */
static void pack_trim(struct pack_scratch *ps)
{
	if (ps->raw.cap + ps->out.cap > PACK_KEEP) {
		buf_release(&ps->raw);
		buf_release(&ps->out);
	}
}

static void pack_key_make(void)
{
	if (pthread_key_create(&pack_key, pack_scratch_free) != 0)
		TN_BUG("cannot create the WAL packing key");
}

/*
 * Outside the lock: packs the batch into a frame whose header fields that
 * depend on the WAL's state (seq, CRC) are left for the caller.  Returns
 * the scratch holding it in out (header, prefix, LZ4 block), or NULL when
 * packing does not pay (the caller writes plain frames).
 */
static struct pack_scratch *pack(const struct wal_rec *recs, size_t n, uint64_t raw_need,
				 int64_t arrival_ms)
{
	if (raw_need < PACK_MIN_BYTES || raw_need > PACK_MAX_RAW || n < 2 ||
	    raw_need > (uint64_t)LZ4_MAX_INPUT_SIZE)
		return NULL;
	pthread_once(&pack_once, pack_key_make);
	struct pack_scratch *ps = pthread_getspecific(pack_key);
	if (!ps) {
		ps = xcalloc(1, sizeof *ps);
		buf_init(&ps->raw, 0);
		buf_init(&ps->out, 0);
		if (pthread_setspecific(pack_key, ps) != 0) {
			pack_scratch_free(ps);
			return NULL;
		}
	}
	int bound = LZ4_compressBound((int)raw_need);
	buf_reset(&ps->raw);
	buf_reset(&ps->out);
	if (buf_grow(&ps->raw, raw_need) ||
	    buf_grow(&ps->out, WAL_FRAME_BYTES + PACK_PREFIX + (size_t)bound)) {
		pack_trim(ps);
		return NULL;
	}
	/* Inner frames: plain frames with seq, arrival and CRC zero (the outer frame has them). */
	uint8_t *p = (uint8_t *)ps->raw.data;
	for (size_t i = 0; i < n; i++)
		p += frame_put(p, &recs[i], 0, 0, false, false);
	size_t raw = (size_t)(p - (uint8_t *)ps->raw.data);
	uint8_t *h = (uint8_t *)ps->out.data;
	int z = LZ4_compress_fast(ps->raw.data, (char *)h + WAL_FRAME_BYTES + PACK_PREFIX,
				  (int)raw, bound, PACK_ACCELERATION);
	if (z <= 0 || (uint64_t)z * 100 >= (uint64_t)raw * PACK_MAX_RATIO) {
		pack_trim(ps);
		return NULL;
	}
	memset(h, 0, WAL_FRAME_BYTES);
	put32(h + 4, PACK_PREFIX + (uint32_t)z);
	h[12] = F_PACKED | F_BATCH_END;
	put64(h + 24, (uint64_t)arrival_ms);
	put32(h + WAL_FRAME_BYTES, (uint32_t)n);
	put32(h + WAL_FRAME_BYTES + 4, (uint32_t)raw);
	ps->out.len = WAL_FRAME_BYTES + PACK_PREFIX + (size_t)z;
	return ps;
}

int wal_append(struct wal *w, const struct wal_rec *recs, size_t n, int64_t arrival_ms,
	       uint64_t *first_seq, char *err)
{
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "empty batch");
	uint64_t need = 0;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].len > TN_MAX_RECORD)
			return tn_fail(err, TN_ETOOBIG, "record %zu: over the 1 MiB limit", i);
		need += WAL_FRAME_BYTES + recs[i].len + rec_rlen(&recs[i]);
	}
	struct pack_scratch *ps = pack(recs, n, need, arrival_ms);
	pthread_mutex_lock(&w->mu);
	int rc = 0;
	if (w->failed) {
		rc = tn_fail(err, w->failed, "wal '%s': an earlier write or fdatasync failed; "
			     "restart needed", w->dir);
		goto out;
	}
	if ((rc = ensure_room(w, ps ? ps->out.len : need, err)))
		goto out;
	struct seg *cur = &w->segs[w->nsegs - 1];
	uint64_t seq = w->next_seq;
	/* A small batch joins the gathered frames; a large one goes after them, written now. */
	bool gather = !ps && need <= PEND_BATCH;
	if ((!gather || w->pend.len + need > PEND_MAX) && (rc = pend_write(w, err)))
		goto out;
	if (gather) {
		if (!w->pend.len)
			w->pend_off = cur->end;
		if ((rc = buf_grow(&w->pend, need))) {
			rc = tn_fail(err, rc, "batch too large");
			goto out;
		}
		uint8_t *p = (uint8_t *)w->pend.data + w->pend.len;
		for (size_t i = 0; i < n; i++, seq++)
			p += frame_put(p, &recs[i], seq, arrival_ms, i == n - 1, true);
		size_t total = (size_t)(p - (uint8_t *)w->pend.data) - w->pend.len;
		w->pend.len += total;
		*first_seq = w->next_seq;
		cur->end += total;
		cur->last_seq = seq - 1;
		w->bytes += total;
		w->next_seq = seq;
		w->written_seq = seq - 1;
		goto out;
	}
	struct buf *frames = ps ? &ps->out : &w->frames;
	if (ps) {
		uint8_t *h = (uint8_t *)frames->data;
		put64(h + 16, seq);
		put32(h, crc32c(0, h + 4, frames->len - 4));
		seq += n;
	} else {
		buf_reset(&w->frames);
		if ((rc = buf_grow(&w->frames, need))) {
			rc = tn_fail(err, rc, "batch too large");
			goto out;
		}
		uint8_t *p = (uint8_t *)w->frames.data;
		for (size_t i = 0; i < n; i++, seq++)
			p += frame_put(p, &recs[i], seq, arrival_ms, i == n - 1, true);
		w->frames.len = (size_t)(p - (uint8_t *)w->frames.data);
	}
	size_t total = frames->len;
	rc = os_pwrite_all(cur->fd, frames->data, total, cur->end, cur->path, err);
	if (rc) {
		/* Erase whatever part reached the file so recovery cannot find it. */
		memset(frames->data, 0, total);
		if (os_pwrite_all(cur->fd, frames->data, total, cur->end, cur->path, NULL))
			log_error("wal", "'%s': could not erase a failed write", cur->path);
		goto out;
	}
	*first_seq = w->next_seq;
	cur->end += total;
	cur->last_seq = seq - 1;
	w->bytes += total;
	w->next_seq = seq;
	w->written_seq = seq - 1;
out:
	pthread_mutex_unlock(&w->mu);
	if (ps)
		pack_trim(ps);
	return rc;
}

static void gen_wait(struct wal *w, uint32_t gen)
{
	atomic_fetch_add(&w->sleepers, 1);
	syscall(SYS_futex, &w->sync_gen, FUTEX_WAIT_PRIVATE, gen, NULL, NULL, 0);
	atomic_fetch_sub(&w->sleepers, 1);
}

/*
 * Ends a round for blocking waiters.  The wake syscall is skipped when
 * nobody waits (event-loop callers never do): a waiter counts itself
 * before its FUTEX_WAIT, which returns at once if the generation moved,
 * and both orders of the two atomics are covered (sequentially
 * consistent: a count we miss belongs to a wait that sees the new gen).
 */
static void gen_bump(struct wal *w)
{
	atomic_fetch_add(&w->sync_gen, 1);
	if (atomic_load(&w->sleepers))
		syscall(SYS_futex, &w->sync_gen, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* ---- the sync pool -------------------------------------------------- */

#define SYNC_THREADS 2

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wal *head, *tail;
} pool = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL };

static void *sync_main(void *arg);

static void pool_start(void)
{
	for (int i = 0; i < SYNC_THREADS; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sync_main, NULL) != 0)
			TN_BUG("cannot start a WAL sync thread");
		pthread_detach(t);
	}
}

/*
 * Under w->mu: puts w on the pool's queue unless it is there already;
 * returns whether it did.  The caller then wakes a sync thread with
 * pool_wake, after letting go of w->mu (a thread woken while w->mu is
 * held would block on it at once) -- unless the caller is a sync thread,
 * which takes the queue's head itself on its next turn.
 */
static bool pool_enqueue(struct wal *w)
{
	if (w->queued)
		return false;
	w->queued = true;
	pthread_once(&pool.once, pool_start);
	pthread_mutex_lock(&pool.mu);
	w->next_queued = NULL;
	if (pool.tail)
		pool.tail->next_queued = w;
	else
		pool.head = w;
	pool.tail = w;
	pthread_mutex_unlock(&pool.mu);
	return true;
}

/* After pool_enqueue, without w->mu: the enqueue happened under pool.mu, so no wake is lost. */
static void pool_wake(void)
{
	pthread_cond_signal(&pool.cv);
}

/*
 * Under w->mu, after a round: moves the waiters it completed (all of them
 * if the WAL failed) into *ready, and queues another round if some remain
 * (*queued says so: a caller that is not a sync thread must pool_wake).
 */
static size_t take_ready(struct wal *w, struct notify **ready, bool *queued)
{
	*queued = false;
	uint64_t durable = atomic_load(&w->durable_seq);
	size_t n = 0, keep = 0;
	*ready = NULL;
	for (size_t i = 0; i < w->nwaiters; i++)
		if (w->failed || w->waiters[i].seq <= durable)
			n++;
	if (n == 0)
		goto requeue;
	*ready = xmalloc(n * sizeof **ready);
	n = 0;
	for (size_t i = 0; i < w->nwaiters; i++) {
		if (w->failed || w->waiters[i].seq <= durable)
			(*ready)[n++] = w->waiters[i];
		else
			w->waiters[keep++] = w->waiters[i];
	}
	w->nwaiters = keep;
requeue:
	if (w->nwaiters && !w->syncing)
		*queued = pool_enqueue(w);
	return n;
}

static void call_ready(struct notify *ready, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++)
		ready[i].fn(ready[i].arg, rc);
	free(ready);
}

/*
 * One group-commit round, entered and left with w->mu held and syncing
 * set by the caller: syncs everything written so far and publishes it.
 * Returns the fdatasync's result.
 */
static int sync_round(struct wal *w, char *msg)
{
	uint64_t target = w->written_seq;
	struct seg *cur = &w->segs[w->nsegs - 1];
	int fd = cur->fd;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", cur->path);
	/*
	 * Take the gathered frames: appenders start a new pend after them
	 * while this round writes them.  No rollover can happen meanwhile
	 * (ensure_room waits for the round), so they stay in this segment.
	 */
	struct buf mine = w->pend;
	uint64_t off = w->pend_off;
	w->pend = w->spare;
	w->pend.len = 0;
	pthread_mutex_unlock(&w->mu);
	int src = mine.len ? os_pwrite_all(fd, mine.data, mine.len, off, path, msg) : 0;
	if (src == 0)
		src = os_fdatasync(fd, path, msg);
	pthread_mutex_lock(&w->mu);
	mine.len = 0;
	w->spare = mine;
	w->syncing = false;
	if (src) {
		w->failed = TN_EIO;
		log_error("wal", "%s", msg);
	} else if (target > atomic_load(&w->durable_seq)) {
		atomic_store(&w->durable_seq, target);
	}
	pthread_cond_broadcast(&w->cv);  /* rollover and close wait on cv */
	return src;
}

static void *sync_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&pool.mu);
		while (!pool.head)
			pthread_cond_wait(&pool.cv, &pool.mu);
		struct wal *w = pool.head;
		pool.head = w->next_queued;
		if (!pool.head)
			pool.tail = NULL;
		bool more = pool.head != NULL;
		pthread_mutex_unlock(&pool.mu);
		/* Other WALs waiting: another thread syncs them meanwhile. */
		if (more)
			pool_wake();

		pthread_mutex_lock(&w->mu);
		w->queued = false;
		int rc = 0;
		bool ran = false;
		/* A blocking leader's round in progress will complete the waiters. */
		if (!w->syncing && !w->failed && w->nwaiters &&
		    w->written_seq > atomic_load(&w->durable_seq)) {
			char msg[TN_ERRLEN];
			w->syncing = true;
			rc = sync_round(w, msg);
			ran = true;
		}
		struct notify *ready;
		bool queued;  /* this thread comes back for it: no wake */
		size_t n = take_ready(w, &ready, &queued);
		int frc = w->failed;
		/* Wake blocking waiters before letting go: once unlocked, w may be closed. */
		if (ran)
			gen_bump(w);
		pthread_cond_broadcast(&w->cv);  /* wal_close waits for the queue to let go */
		pthread_mutex_unlock(&w->mu);
		call_ready(ready, n, rc ? rc : frc);
	}
	return NULL;
}

void wal_notify(struct wal *w, uint64_t seq, wal_done_fn fn, void *arg)
{
	pthread_mutex_lock(&w->mu);
	if (w->failed || atomic_load(&w->durable_seq) >= seq) {
		int rc = w->failed;
		pthread_mutex_unlock(&w->mu);
		fn(arg, rc);
		return;
	}
	if (w->nwaiters == w->capwaiters) {
		w->capwaiters = w->capwaiters ? w->capwaiters * 2 : 64;
		w->waiters = xrealloc(w->waiters, w->capwaiters * sizeof *w->waiters);
	}
	w->waiters[w->nwaiters++] = (struct notify){ seq, fn, arg };
	bool wake = !w->syncing && pool_enqueue(w);
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pool_wake();
}

int wal_sync_to(struct wal *w, uint64_t seq, char *err)
{
	for (;;) {
		if (atomic_load(&w->durable_seq) >= seq)
			return 0;
		pthread_mutex_lock(&w->mu);
		if (w->failed) {
			pthread_mutex_unlock(&w->mu);
			return tn_fail(err, w->failed, "wal '%s': fdatasync failed", w->dir);
		}
		if (atomic_load(&w->durable_seq) >= seq) {
			pthread_mutex_unlock(&w->mu);
			return 0;
		}
		if (w->syncing) {
			/* Read the generation before unlocking: a bump after it wakes us. */
			uint32_t gen = atomic_load(&w->sync_gen);
			pthread_mutex_unlock(&w->mu);
			gen_wait(w, gen);
			continue;
		}
		/* Lead a round: everything written so far becomes durable. */
		char msg[TN_ERRLEN];
		w->syncing = true;
		int rc = sync_round(w, msg);
		struct notify *ready;
		bool queued;
		size_t n = take_ready(w, &ready, &queued);
		int frc = w->failed;
		pthread_mutex_unlock(&w->mu);
		if (queued)
			pool_wake();
		gen_bump(w);  /* the caller holds w open: safe after unlocking */
		call_ready(ready, n, rc ? rc : frc);
	}
}

uint64_t wal_durable_seq(struct wal *w)
{
	return atomic_load(&w->durable_seq);
}

uint64_t wal_bytes(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t v = w->bytes;
	pthread_mutex_unlock(&w->mu);
	return v;
}

unsigned wal_segments(struct wal *w)
{
	pthread_mutex_lock(&w->mu);
	unsigned v = (unsigned)w->nsegs;
	pthread_mutex_unlock(&w->mu);
	return v;
}

int wal_release(struct wal *w, uint64_t flushed_seq, char *err)
{
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	/* Segment i is wholly flushed when the next one starts at or below flushed+1. */
	size_t drop = 0;
	while (drop + 1 < w->nsegs && w->segs[drop + 1].first_seq <= flushed_seq + 1)
		drop++;
	for (size_t i = 0; i < drop; i++) {
		struct seg *s = &w->segs[i];
		struct stat st;
		/* The first full-size one is kept for the next rollover; the rest go. */
		if (!w->has_recycled && fstat(s->fd, &st) == 0 &&
		    (uint64_t)st.st_size == w->segment_bytes) {
			char to[PATH_MAX];
			recycled_path(w, to, sizeof to);
			rc = os_rename(s->path, to, err);
			if (rc == 0)
				w->has_recycled = true;
		} else {
			rc = os_unlink(s->path, err);
		}
		if (rc)
			break;
		w->bytes -= s->end;
		seg_free(s);
	}
	/* the segments gone so far leave the list even if a later one failed */
	size_t done = 0;
	while (done < drop && w->segs[done].fd < 0)
		done++;
	if (done) {
		memmove(w->segs, w->segs + done, (w->nsegs - done) * sizeof *w->segs);
		w->nsegs -= done;
	}
	pthread_mutex_unlock(&w->mu);
	if (done) {
		char why[TN_ERRLEN];
		int drc = os_fsync_dir(w->dir, rc ? why : err);
		if (rc == 0)
			rc = drc;
	}
	return rc;
}

int wal_cursor_open(struct wal *w, uint64_t from_seq, struct wal_cursor **out, char *err)
{
	struct wal_cursor *c = xcalloc(1, sizeof *c);
	c->w = w;
	c->next_seq = from_seq;
	c->fd = -1;
	c->buf_off = UINT64_MAX;
	buf_init(&c->buf, 0);
	buf_init(&c->unpacked, 0);
	*out = c;
	(void)err;
	return 0;
}

void wal_cursor_close(struct wal_cursor *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		/* Leave a hint for the next cursor: the frame holding next_seq. */
		bool inner = c->useq == c->next_seq && c->useq < c->uend;
		pthread_mutex_lock(&c->w->mu);
		c->w->hint_seg = c->seg_first;
		c->w->hint_off = inner ? c->uoff : c->off;
		c->w->hint_seq = inner ? c->ufirst : c->next_seq;
		pthread_mutex_unlock(&c->w->mu);
	}
	os_close(c->fd);
	buf_release(&c->buf);
	buf_release(&c->unpacked);
	free(c);
}

/* Unpacks the packed frame e (read_frame's view of it) into the cursor. */
static int unpack(struct wal_cursor *c, const struct wal_entry *e, uint64_t nrec, char *err)
{
	if (!packed_unpack((const uint8_t *)e->data, e->len, &c->unpacked))
		return tn_fail(err, TN_ECORRUPT, "wal '%s': packed frame at record %" PRIu64
			       " does not unpack", c->path, e->seq);
	c->upos = 0;
	c->useq = e->seq;
	c->uend = e->seq + nrec;
	c->uarrival = e->arrival_ms;
	c->ufirst = e->seq;
	return 0;
}

/* The next record of the unpacked frame (c->useq < c->uend). */
static int inner_next(struct wal_cursor *c, struct wal_entry *e, char *err)
{
	const uint8_t *p = (const uint8_t *)c->unpacked.data + c->upos;
	size_t flen = inner_frame(p, c->unpacked.len - c->upos);
	if (!flen)
		return tn_fail(err, TN_ECORRUPT, "wal '%s': packed record %" PRIu64 " is damaged",
			       c->path, c->useq);
	uint32_t len = get32(p + 4), rlen = get32(p + 8);
	e->seq = c->useq;
	e->arrival_ms = c->uarrival;
	e->part_ms = (int64_t)get64(p + 32);
	e->quarantined = p[12] & F_QUARANTINE;
	e->rlen = rlen;
	e->reason = (const char *)p + WAL_FRAME_BYTES;
	e->len = len;
	e->data = (const char *)p + WAL_FRAME_BYTES + rlen;
	c->upos += flen;
	c->useq++;
	return 1;
}

/*
 * Reads the frame at c->off, which starts with record seq: a plain record
 * comes back in *e (return 1); a packed frame is unpacked and its first
 * record comes back.  The cursor moves past the frame either way.
 */
static int frame_next(struct wal_cursor *c, uint64_t seq, struct wal_entry *e, char *err)
{
	unsigned flags;
	uint64_t flen, nrec;
	int rc = read_frame(c->fd, c->path, c->off, c->seg_first, seq, &c->buf, &c->buf_off, e,
			    &flags, &flen,
			    &nrec, err);
	if (rc == 0 || rc == TN_ECORRUPT)
		return tn_fail(err, TN_ECORRUPT, "wal '%s': record %" PRIu64 " unreadable at byte %" PRIu64,
			       c->path, seq, c->off);
	if (rc < 0)
		return rc;
	uint64_t at = c->off;
	c->off += flen;
	if (!(flags & F_PACKED))
		return 1;
	if ((rc = unpack(c, e, nrec, err)))
		return rc;
	c->uoff = at;
	return inner_next(c, e, err);
}

/*
 * Scans the open segment from the frame at off, which starts with record
 * seq, up to next_seq: whole frames are skipped by their record count; a
 * packed frame holding next_seq is unpacked and read up to it.
 */
static int scan_to(struct wal_cursor *c, uint64_t off, uint64_t seq, char *err)
{
	c->off = off;
	c->buf_off = UINT64_MAX;
	c->useq = c->uend = 0;
	buf_reset(&c->buf);
	while (seq < c->next_seq) {
		struct wal_entry e;
		unsigned flags;
		uint64_t flen, nrec;
		int rc = read_frame(c->fd, c->path, c->off, c->seg_first, seq, &c->buf, &c->buf_off,
				    &e, &flags,
				    &flen, &nrec, err);
		if (rc <= 0)
			return rc < 0 ? rc : tn_fail(err, TN_ECORRUPT,
						     "wal '%s': record %" PRIu64 " missing", c->path, seq);
		if (seq + nrec <= c->next_seq) {
			c->off += flen;
			seq += nrec;
			continue;
		}
		uint64_t at = c->off;
		c->off += flen;
		if ((rc = unpack(c, &e, nrec, err)))
			return rc;
		c->uoff = at;
		while (c->useq < c->next_seq)
			if ((rc = inner_next(c, &e, err)) < 0)
				return rc;
		break;
	}
	return 0;
}

/* Positions the cursor on the segment holding next_seq, scanning to it. */
static int cursor_seek(struct wal_cursor *c, char *err)
{
	struct wal *w = c->w;
	pthread_mutex_lock(&w->mu);
	ssize_t idx = -1;
	for (size_t i = 0; i < w->nsegs; i++)
		if (w->segs[i].first_seq <= c->next_seq &&
		    (i + 1 == w->nsegs || w->segs[i + 1].first_seq > c->next_seq))
			idx = (ssize_t)i;
	uint64_t first = idx >= 0 ? w->segs[idx].first_seq : 0;
	char path[PATH_MAX] = "";
	if (idx >= 0)
		snprintf(path, sizeof path, "%s", w->segs[idx].path);
	bool hint = idx >= 0 && w->hint_seg == first && w->hint_seq >= first &&
		    w->hint_seq <= c->next_seq && w->hint_off >= WAL_HEADER_BYTES;
	uint64_t hint_off = w->hint_off, hint_seq = w->hint_seq;
	pthread_mutex_unlock(&w->mu);
	if (idx < 0)
		return tn_fail(err, TN_ECORRUPT, "wal '%s': no segment holds record %" PRIu64,
			       w->dir, c->next_seq);
	os_close(c->fd);
	/* A separate descriptor: the cursor never shares offsets or lifetime with writers. */
	c->fd = os_open(path, O_RDONLY, 0, err);
	if (c->fd < 0)
		return c->fd;
	snprintf(c->path, sizeof c->path, "%s", path);
	c->seg_first = first;
	/* A hint that does not lead to next_seq is dropped: the header always does. */
	if (hint && scan_to(c, hint_off, hint_seq, NULL) == 0)
		return 0;
	return scan_to(c, WAL_HEADER_BYTES, first, err);
}

int wal_cursor_next(struct wal_cursor *c, uint64_t max_seq, struct wal_entry *e, char *err)
{
	if (c->next_seq > max_seq)
		return 0;
	struct wal *w = c->w;
	/*
	 * Move to the next segment when next_seq lies beyond the current one
	 * (never while a packed frame of the current one has records left).
	 */
	bool inner = c->useq == c->next_seq && c->useq < c->uend;
	bool reseek = c->fd < 0;
	if (!reseek && !inner) {
		pthread_mutex_lock(&w->mu);
		for (size_t i = 0; i < w->nsegs; i++)
			if (w->segs[i].first_seq > c->seg_first &&
			    w->segs[i].first_seq <= c->next_seq)
				reseek = true;
		pthread_mutex_unlock(&w->mu);
	}
	if (reseek) {
		int rc = cursor_seek(c, err);
		if (rc)
			return rc;
		inner = c->useq == c->next_seq && c->useq < c->uend;
	}
	int rc = inner ? inner_next(c, e, err) : frame_next(c, c->next_seq, e, err);
	if (rc == 1)
		c->next_seq++;
	return rc;
}

int wal_destroy(const char *dir, char *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : tn_fail(err, tn_from_errno(errno), "wal '%s': %s", dir,
						   strerror(errno));
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) && rc == 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		rc = os_unlink(p, err);
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) < 0)
		rc = tn_fail(err, tn_from_errno(errno), "wal '%s': %s", dir, strerror(errno));
	if (rc == 0)
		rc = os_fsync_parent(dir, err);
	return rc;
}

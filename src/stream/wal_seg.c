/*
 * wal_seg.c - the segment files of a WAL: names, headers, creation,
 * recycling, and cutting a torn tail.
 *
 * Design.  A segment is preallocated to the segment size.  Where it can,
 * it is a written file rather than a freshly allocated one: a released
 * segment is renamed to RECYCLED_NAME by wal_release and back to a
 * segment name at the next rollover (seg_reuse), and when a fresh one had
 * to be allocated, a zeroed successor is written in the background
 * (zero_main).  Invariants: a WAL has at most one recycled file and one
 * zeroing thread; every rename is followed by an fsync of the directory
 * before the segment takes frames; old frames in a recycled file carry
 * sequence numbers below its new first one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "stream/wal_int.h"
#include "core/banned.h"

void seg_path(const char *dir, uint64_t first, char *out, size_t n)
{
	snprintf(out, n, "%s/%020" PRIu64 ".wal", dir, first);
}

/*
 * A released segment kept for reuse (wal_release renames it here, the
 * next rollover renames it back with a new header).  Its blocks are
 * written already: ext4 preallocates with unwritten extents, and the
 * first write into one makes the fdatasync that covers it commit the
 * journal as well (measured on the benchmark disk: 205 against 155 us
 * per 16 KiB write + fdatasync, and in single-record ingest 29k against
 * 33k durable requests/s).  Its old frames stay behind the new header:
 * they carry sequence numbers below the segment's first, which
 * read_frame takes for the end of the data.
 */
#define RECYCLED_NAME "recycled.seg"

void recycled_path(const struct wal *w, char *out, size_t n)
{
	snprintf(out, n, "%s/" RECYCLED_NAME, w->dir);
}

/*
 * A WAL that must create a fresh segment (none released yet: a new
 * stream, or a flusher behind) has a written one made in the background
 * for its next rollover: zeros, fdatasync, rename to RECYCLED_NAME.  Only
 * with room to spare on the disk (ZERO_MIN_FREE segments), and only one
 * at a time per WAL; any failure just leaves the next rollover to
 * fallocate.  The pages are dropped from the cache once durable.
 */
#define ZERO_MIN_FREE 8
/* Zeroing threads in the process: one, so that many new streams at once
 * neither fill the disk together nor take its bandwidth. */
static atomic_int zeroers;

static void *zero_main(void *arg)
{
	struct wal *w = arg;
	static const char zeros[1 << 20];
	char tmp[PATH_MAX], to[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/" OS_TMP_PREFIX RECYCLED_NAME, w->dir);
	recycled_path(w, to, sizeof to);
	unlink(tmp);
	/*
	 * Plain calls, not core/os: this optional background work must not
	 * take the faults that tests inject into the WAL's own writes.
	 */
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	int rc = fd < 0 ? -1 : 0;
	for (uint64_t off = 0; rc == 0 && off < w->segment_bytes;) {
		size_t n = w->segment_bytes - off < sizeof zeros ? (size_t)(w->segment_bytes - off)
								  : sizeof zeros;
		ssize_t k = pwrite(fd, zeros, n, (off_t)off);
		if (k <= 0)
			rc = -1;
		else
			off += (uint64_t)k;
	}
	if (rc == 0)
		rc = fdatasync(fd);
	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	pthread_mutex_lock(&w->mu);
	/* A segment released meanwhile is the recycled one already. */
	if (rc == 0 && !w->has_recycled && rename(tmp, to) == 0)
		w->has_recycled = true;
	else
		unlink(tmp);
	w->zeroing = false;
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_sub(&zeroers, 1);
	return NULL;
}

/* Under mu, after creating a fresh segment: starts zero_main if it may run. */
static void zero_start(struct wal *w)
{
	struct statvfs vf;
	if (w->has_recycled || w->zeroing || w->failed)
		return;
	if (statvfs(w->dir, &vf) != 0 ||
	    (uint64_t)vf.f_bavail * vf.f_frsize < ZERO_MIN_FREE * w->segment_bytes)
		return;
	if (w->zero_started) {  /* the last one ended (zeroing is false): reap it */
		pthread_join(w->zero_thread, NULL);
		w->zero_started = false;
	}
	if (atomic_fetch_add(&zeroers, 1) >= 1) {
		atomic_fetch_sub(&zeroers, 1);
		return;
	}
	if (pthread_create(&w->zero_thread, NULL, zero_main, w) != 0) {
		atomic_fetch_sub(&zeroers, 1);
		return;
	}
	w->zero_started = true;
	w->zeroing = true;
}

static void header_build(uint8_t h[WAL_HEADER_BYTES], uint64_t first_seq)
{
	memset(h, 0, WAL_HEADER_BYTES);
	memcpy(h, WAL_MAGIC, 8);
	put32(h + 8, WAL_VERSION);
	put32(h + 12, WAL_HEADER_BYTES);
	put64(h + 16, first_seq);
	put64(h + 24, (uint64_t)time_now_ms());
	put32(h + 60, crc32c(0, h, 60));
}

int header_check(const uint8_t h[WAL_HEADER_BYTES], uint64_t first_seq)
{
	uint32_t version = get32(h + 8);
	if (memcmp(h, WAL_MAGIC, 8) != 0 || version < 1 || version > WAL_VERSION ||
	    get32(h + 12) != WAL_HEADER_BYTES || get64(h + 16) != first_seq ||
	    get32(h + 60) != crc32c(0, h, 60))
		return TN_ECORRUPT;
	return 0;
}

/*
 * Makes the open file fd (at from) segment first_seq: header and a zeroed
 * frame header after it (in a recycled file no old frame is read before
 * new ones), fsync, rename to the segment's name, fsync dir.  On failure
 * fd is closed and from removed.  Returns 0 with *out filled, or a code.
 */
static int seg_publish(struct wal *w, int fd, const char *from, uint64_t first_seq,
		       struct seg *out, char *err)
{
	char path[PATH_MAX];
	uint8_t hz[WAL_HEADER_BYTES + WAL_FRAME_BYTES] = { 0 };
	seg_path(w->dir, first_seq, path, sizeof path);
	header_build(hz, first_seq);
	int rc = os_pwrite_all(fd, hz, sizeof hz, 0, from, err);
	if (rc == 0)
		rc = os_fsync(fd, from, err);
	if (rc == 0)
		rc = os_rename(from, path, err);
	if (rc == 0)
		rc = os_fsync_dir(w->dir, err);
	if (rc) {
		os_close(fd);
		unlink(from);
		return rc;
	}
	out->first_seq = first_seq;
	out->last_seq = 0;
	out->end = WAL_HEADER_BYTES;
	out->fd = fd;
	out->path = xstrdup(path);
	out->sealed = false;
	return 0;
}

/*
 * Makes the recycled file segment first_seq.  Returns 0, or a code after
 * which the caller creates a fresh segment (the recycled file is gone).
 */
static int seg_reuse(struct wal *w, uint64_t first_seq, struct seg *out, char *err)
{
	char from[PATH_MAX];
	recycled_path(w, from, sizeof from);
	w->has_recycled = false;
	/*
	 * The rename that made it the recycled file (wal_release syncs the
	 * folder only after letting go of the lock) must be durable before
	 * its header changes: else a crash could leave the old segment's name
	 * on a file whose header says another segment.
	 */
	int rc = os_fsync_dir(w->dir, err);
	if (rc)
		return rc;
	int fd = os_open(from, O_RDWR, 0, err);
	if (fd < 0)
		return fd;
	return seg_publish(w, fd, from, first_seq, out, err);
}

/*
 * Creates segment first_seq from the recycled one if there is one, else
 * as a preallocated temp file (which starts a zeroed successor).
 */
int seg_create(struct wal *w, uint64_t first_seq, struct seg *out, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (w->has_recycled) {
		char why[TN_ERRLEN];
		if (seg_reuse(w, first_seq, out, why) == 0)
			return 0;
		log_warn("wal", "'%s': cannot reuse the recycled segment (%s): creating one", w->dir,
			 why);
	}
	seg_path(w->dir, first_seq, path, sizeof path);
	if (os_tmp_path(path, tmp, sizeof tmp))
		return tn_fail(err, TN_EINVAL, "wal '%s': path too long", path);
	int fd = os_open(tmp, O_RDWR | O_CREAT | O_EXCL, 0640, err);
	if (fd < 0)
		return fd;
	int rc = os_fallocate(fd, w->segment_bytes, tmp, err);
	if (rc) {
		os_close(fd);
		unlink(tmp);
		return rc;
	}
	rc = seg_publish(w, fd, tmp, first_seq, out, err);
	if (rc == 0)
		zero_start(w);
	return rc;
}

void seg_free(struct seg *s)
{
	os_close(s->fd);
	free(s->path);
	s->fd = -1;
	s->path = NULL;
}

/*
 * Cuts the last segment back to end: zeroes everything after it and
 * syncs.  Zeroes rather than ftruncate + fallocate: the blocks stay
 * allocated (nothing to fail on a full disk) and written (see
 * RECYCLED_NAME), and no byte of the torn batch can come back.
 */
int seg_truncate(struct wal *w, struct seg *s, uint64_t end, char *err)
{
	static const char zeros[1 << 16];
	struct stat st;
	log_warn("wal", "'%s': truncating a torn tail at byte %" PRIu64, s->path, end);
	uint64_t size = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : w->segment_bytes;
	int rc = 0;
	for (uint64_t off = end; rc == 0 && off < size; off += sizeof zeros) {
		size_t n = size - off < sizeof zeros ? (size_t)(size - off) : sizeof zeros;
		rc = os_pwrite_all(s->fd, zeros, n, off, s->path, err);
	}
	if (rc == 0 && size < w->segment_bytes)
		rc = os_fallocate(s->fd, w->segment_bytes, s->path, err);
	if (rc == 0)
		rc = os_fsync(s->fd, s->path, err);
	return rc;
}


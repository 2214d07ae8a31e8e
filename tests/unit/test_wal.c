/*
 * test_wal.c - framing, group commit, recovery of torn tails, rollover.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/os.h"
#include "stream/wal.h"
#include "harness.h"

static char walpath[512];

static const char *walp(void)
{
	snprintf(walpath, sizeof walpath, "%s/wal", test_tmpdir());
	return walpath;
}

static void append_n(struct wal *w, int n, int base, uint64_t *first)
{
	char err[TN_ERRLEN];
	struct wal_rec r[64];
	char data[64][32];
	for (int i = 0; i < n; i++) {
		int len = snprintf(data[i], sizeof data[i], "{\"i\":%d}", base + i);
		r[i] = (struct wal_rec){ data[i], (size_t)len, NULL, 0, 1000 + base + i };
	}
	CHECK_INT(wal_append(w, r, (size_t)n, 42, first, err), 0);
	CHECK_INT(wal_sync_to(w, *first + (uint64_t)n - 1, err), 0);
}

/* Reads every record from `from`, checking seqs and contents follow on. */
static int read_all(struct wal *w, uint64_t from, int base)
{
	char err[TN_ERRLEN];
	struct wal_cursor *c;
	CHECK_INT(wal_cursor_open(w, from, &c, err), 0);
	struct wal_entry e;
	int n = 0, rc;
	while ((rc = wal_cursor_next(c, UINT64_MAX, &e, err)) == 1) {
		char want[32];
		int len = snprintf(want, sizeof want, "{\"i\":%d}", base + n);
		CHECK_INT(e.seq, from + (uint64_t)n);
		CHECK_INT(e.len, len);
		CHECK(memcmp(e.data, want, e.len) == 0);
		CHECK_INT(e.arrival_ms, 42);
		n++;
		if (e.seq == wal_durable_seq(w))
			break;
	}
	CHECK(rc >= 0);
	wal_cursor_close(c);
	return n;
}

TEST(append_sync_read)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 10, 0, &first);
	CHECK_INT(first, 1);
	append_n(w, 5, 10, &first);
	CHECK_INT(first, 11);
	CHECK_INT(wal_durable_seq(w), 15);
	CHECK_INT(read_all(w, 1, 0), 15);
	CHECK_INT(read_all(w, 7, 6), 9);
	wal_close(w);
	/* Reopen: everything is still there, numbering goes on. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 15);
	append_n(w, 1, 15, &first);
	CHECK_INT(first, 16);
	CHECK_INT(read_all(w, 1, 0), 16);
	wal_close(w);
}

TEST(quarantine_reason_round_trips)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	struct wal_rec r = { "not json", 8, "invalid JSON at byte 0: expected a value", 40, 7 };
	uint64_t first;
	CHECK_INT(wal_append(w, &r, 1, 5, &first, err), 0);
	CHECK_INT(wal_sync_to(w, first, err), 0);
	struct wal_cursor *c;
	CHECK_INT(wal_cursor_open(w, 1, &c, err), 0);
	struct wal_entry e;
	CHECK_INT(wal_cursor_next(c, 1, &e, err), 1);
	CHECK(e.quarantined);
	CHECK_INT(e.rlen, 40);
	CHECK(memcmp(e.reason, "invalid JSON", 12) == 0);
	CHECK_INT(e.part_ms, 7);
	CHECK_INT(wal_cursor_next(c, 1, &e, err), 0);
	wal_cursor_close(c);
	wal_close(w);
}

TEST(torn_tail_is_truncated)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 3, 0, &first);
	append_n(w, 3, 3, &first);
	wal_close(w);
	/* Damage the last frame's data: that batch (records 4..6) is torn. */
	char seg[600];
	snprintf(seg, sizeof seg, "%s/%020d.wal", walp(), 1);
	int fd = open(seg, O_RDWR);
	CHECK(fd >= 0);
	/* 64-byte header, frames of 40 + 7 bytes: record 6 starts at 64 + 5*47. */
	CHECK_INT(pwrite(fd, "X", 1, 64 + 5 * 47 + 41), 1);
	close(fd);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 3);
	append_n(w, 2, 3, &first);
	CHECK_INT(first, 4);
	CHECK_INT(read_all(w, 1, 0), 5);
	wal_close(w);
	/* And again after reopening: the old torn bytes never come back. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 5);
	CHECK_INT(read_all(w, 1, 0), 5);
	wal_close(w);
}

TEST(rollover_and_release)
{
	char err[TN_ERRLEN];
	struct wal *w;
	/* Segments of 1 MiB; batches of ~64 x 48 bytes: many per segment. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first = 0;
	int total = 0;
	while (wal_segments(w) < 3) {
		append_n(w, 64, total, &first);
		total += 64;
	}
	CHECK_INT(read_all(w, 1, 0), total);
	/* Release what a flush up to the second segment's start covers. */
	unsigned before = wal_segments(w);
	CHECK_INT(wal_release(w, (uint64_t)total - 64, err), 0);
	CHECK(wal_segments(w) < before);
	CHECK_INT(read_all(w, (uint64_t)total - 63, total - 64), 64);
	wal_close(w);
	/* Recovery with that flushed position keeps numbering and content. */
	CHECK_INT(wal_open(walp(), (uint64_t)total - 64, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), total);
	append_n(w, 1, total, &first);
	CHECK_INT(first, (uint64_t)total + 1);
	wal_close(w);
}

/*
 * A recycled segment (here: a full segment of another WAL whose records
 * are numbered below this one's, as a released segment's always are)
 * becomes the next segment; its old frames behind the new ones are the
 * end of the data for recovery (no torn tail to cut: they are still
 * there after reopening) and for readers.
 */
TEST(recycled_segment_is_reused)
{
	char err[TN_ERRLEN], rp[600], dir2[600], path[600];
	struct wal *w;
	struct stat st;
	uint64_t first = 0;
	int total = 0;
	/* A full segment: records 1..K. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	while (wal_segments(w) < 2) {
		append_n(w, 64, total, &first);
		total += 64;
	}
	wal_close(w);
	snprintf(dir2, sizeof dir2, "%s/wal2", test_tmpdir());
	snprintf(rp, sizeof rp, "%s/recycled.seg", dir2);
	snprintf(path, sizeof path, "%s/%020d.wal", walp(), 1);
	CHECK_INT(mkdir(dir2, 0750), 0);
	struct buf seg = BUF_INIT(0);
	CHECK_INT(os_read_file(path, 2 << 20, &seg, err), 0);
	CHECK_INT(os_write_file_atomic(rp, seg.data, seg.len, 0640, err), 0);
	buf_release(&seg);
	CHECK_INT(stat(rp, &st), 0);
	ino_t ino = st.st_ino;

	/* A WAL past those numbers takes it for its (first) segment. */
	const uint64_t flushed = 100000;
	CHECK_INT(wal_open(dir2, flushed, 1 << 20, &w, err), 0);
	append_n(w, 5, 0, &first);
	CHECK_INT(first, flushed + 1);
	CHECK(stat(rp, &st) != 0);
	char newest[600];
	snprintf(newest, sizeof newest, "%s/%020llu.wal", dir2, (unsigned long long)first);
	CHECK_INT(stat(newest, &st), 0);
	CHECK_INT(st.st_ino, ino);
	CHECK_INT(read_all(w, flushed + 1, 0), 5);
	wal_close(w);
	/* Recovery: the old frames after the new ones are the end, not a torn tail. */
	CHECK_INT(wal_open(dir2, flushed, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), flushed + 5);
	append_n(w, 2, 5, &first);
	CHECK_INT(first, flushed + 6);
	wal_close(w);
	CHECK_INT(wal_open(dir2, flushed, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), flushed + 7);
	CHECK_INT(read_all(w, flushed + 1, 0), 7);
	wal_close(w);
	char tail[4096];
	int fd = open(newest, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_INT(pread(fd, tail, sizeof tail, (1 << 20) - 8192), (long)sizeof tail);
	close(fd);
	size_t nonzero = 0;
	for (size_t i = 0; i < sizeof tail; i++)
		nonzero += tail[i] != 0;
	CHECK(nonzero > 1000);
}

/*
 * A fresh segment has a zeroed one written for the next rollover, which
 * takes it; a released segment is kept as the recycled one.
 */
TEST(segments_are_prepared_and_recycled)
{
	char err[TN_ERRLEN], rp[600];
	struct wal *w;
	struct stat st;
	uint64_t first = 0;
	int total = 0;
	snprintf(rp, sizeof rp, "%s/recycled.seg", walp());
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	append_n(w, 64, total, &first);
	total += 64;
	int waited = 0;
	while (stat(rp, &st) != 0 && waited++ < 1000)
		usleep(10000);
	CHECK_INT(st.st_size, 1 << 20);
	ino_t ino = st.st_ino;
	struct buf b = BUF_INIT(0);
	CHECK_INT(os_read_file(rp, 2 << 20, &b, err), 0);
	size_t nonzero = 0;
	for (size_t i = 0; i < b.len; i++)
		nonzero += b.data[i] != 0;
	CHECK_INT(nonzero, 0);
	buf_release(&b);
	while (wal_segments(w) < 2) {
		append_n(w, 64, total, &first);
		total += 64;
	}
	char newest[600];
	snprintf(newest, sizeof newest, "%s/%020llu.wal", walp(), (unsigned long long)first);
	CHECK_INT(stat(newest, &st), 0);
	CHECK_INT(st.st_ino, ino);
	CHECK_INT(read_all(w, 1, 0), total);
	/* Releasing the first segment leaves a recycled one (it, or a zeroed one made meanwhile). */
	CHECK_INT(wal_release(w, (uint64_t)total - 64, err), 0);
	CHECK_INT(stat(rp, &st), 0);
	CHECK_INT(st.st_size, 1 << 20);
	wal_close(w);
	CHECK_INT(wal_open(walp(), (uint64_t)total - 64, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), total);
	CHECK_INT(read_all(w, (uint64_t)total - 63, total - 64), 64);
	wal_close(w);
}

/*
 * A release that fails part-way (the second segment cannot be removed)
 * drops the segments it did remove from the list, and a later release
 * goes on from there.
 */
TEST(release_that_fails_part_way_keeps_the_list_right)
{
	char err[TN_ERRLEN];
	struct wal *w;
	uint64_t first = 0;
	int total = 0;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	while (wal_segments(w) < 4) {
		append_n(w, 64, total, &first);
		total += 64;
	}
	unsigned before = wal_segments(w);
	/* the first released segment is recycled (a rename), the next ones unlinked */
	setenv("TARN_FAULT", "unlink:eio:1", 1);
	os_fault_reset();
	CHECK(wal_release(w, (uint64_t)total - 64, err) < 0);
	CHECK(strstr(err, "unlink") != NULL);
	CHECK_INT(wal_segments(w), before - 1);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	CHECK_INT(wal_release(w, (uint64_t)total - 64, err), 0);
	CHECK_INT(wal_segments(w), 1);
	CHECK_INT(read_all(w, (uint64_t)total - 63, total - 64), 64);
	wal_close(w);
	CHECK_INT(wal_open(walp(), (uint64_t)total - 64, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), total);
	wal_close(w);
}

TEST(numbering_continues_after_everything_is_flushed)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 4, 0, &first);
	wal_close(w);
	/* The checkpoint says 100 were flushed (e.g. segments deleted). */
	CHECK_INT(wal_open(walp(), 100, 1 << 20, &w, err), 0);
	append_n(w, 2, 0, &first);
	CHECK_INT(first, 101);
	wal_close(w);
	CHECK_INT(wal_open(walp(), 100, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 102);
	CHECK_INT(read_all(w, 101, 0), 2);
	wal_close(w);
}

struct writer_arg {
	struct wal *w;
	int id;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	for (int i = 0; i < 200; i++) {
		char data[64], err[TN_ERRLEN];
		int len = snprintf(data, sizeof data, "{\"w\":%d,\"i\":%d}", a->id, i);
		struct wal_rec r = { data, (size_t)len, NULL, 0, 0 };
		uint64_t first;
		if (wal_append(a->w, &r, 1, 1, &first, err) || wal_sync_to(a->w, first, err))
			return (void *)1;
	}
	return NULL;
}

TEST(group_commit_many_writers)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 4 << 20, &w, err), 0);
	pthread_t t[8];
	struct writer_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct writer_arg){ w, i };
		pthread_create(&t[i], NULL, writer, &a[i]);
	}
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	CHECK_INT(wal_durable_seq(w), 1600);
	/* Every writer's records are present, in its own order. */
	struct wal_cursor *c;
	CHECK_INT(wal_cursor_open(w, 1, &c, err), 0);
	int next[8] = { 0 };
	struct wal_entry e;
	while (wal_cursor_next(c, 1600, &e, err) == 1) {
		int wid, i;
		CHECK_INT(sscanf(e.data, "{\"w\":%d,\"i\":%d}", &wid, &i), 2);
		CHECK_INT(i, next[wid]);
		next[wid]++;
	}
	for (int i = 0; i < 8; i++)
		CHECK_INT(next[i], 200);
	wal_cursor_close(c);
	wal_close(w);
}

TEST(failed_write_is_not_recovered)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 2, 0, &first);
	/* A large batch is written at once; this write fails halfway, as on a full disk. */
	setenv("TARN_FAULT", "write:short:1", 1);
	os_fault_reset();
	static char lost[20000];
	memset(lost, 'x', sizeof lost);
	struct wal_rec r = { lost, sizeof lost, NULL, 0, 0 };
	CHECK(wal_append(w, &r, 1, 1, &first, err) != 0);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	append_n(w, 1, 2, &first);
	CHECK_INT(first, 3);
	wal_close(w);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 3);
	CHECK_INT(read_all(w, 1, 0), 3);
	wal_close(w);
}

TEST(failed_write_of_gathered_records_fails_the_wal)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 2, 0, &first);
	/* Small batches wait in memory: the sync round's write is the one that fails. */
	struct wal_rec r = { "{\"lost\":1}", 10, NULL, 0, 0 };
	CHECK_INT(wal_append(w, &r, 1, 1, &first, err), 0);
	CHECK_INT(first, 3);
	setenv("TARN_FAULT", "write:short:1", 1);
	os_fault_reset();
	CHECK(wal_sync_to(w, 3, err) != 0);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	CHECK_INT(wal_durable_seq(w), 2);
	/* Its sequence number is taken: nothing more goes in until the WAL is reopened. */
	CHECK(wal_append(w, &r, 1, 1, &first, err) != 0);
	CHECK(strstr(err, "restart needed") != NULL);
	wal_close(w);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 2);
	append_n(w, 1, 2, &first);
	CHECK_INT(first, 3);
	CHECK_INT(read_all(w, 1, 0), 3);
	wal_close(w);
}

TEST(full_disk_at_segment_creation_appends_nothing)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	setenv("TARN_FAULT", "fallocate:enospc:1", 1);
	os_fault_reset();
	struct wal_rec r = { "{}", 2, NULL, 0, 0 };
	uint64_t first;
	CHECK_INT(wal_append(w, &r, 1, 1, &first, err), TN_ENOSPC);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	CHECK_INT(wal_append(w, &r, 1, 1, &first, err), 0);
	CHECK_INT(first, 1);
	wal_close(w);
}

struct notified {
	struct wal *w;
	uint64_t seq;
	_Atomic int calls;
	_Atomic int rc;
	_Atomic int durable_ok;
};

static void on_durable(void *arg, int rc)
{
	struct notified *n = arg;
	/* At callback time the record must already be durable. */
	if (rc == 0 && wal_durable_seq(n->w) >= n->seq)
		atomic_store(&n->durable_ok, 1);
	atomic_store(&n->rc, rc);
	atomic_fetch_add(&n->calls, 1);
}

static void *notify_writer(void *p)
{
	struct writer_arg *a = p;
	struct notified *ns = calloc(200, sizeof *ns);
	for (int i = 0; i < 200; i++) {
		char data[64], err[TN_ERRLEN];
		int len = snprintf(data, sizeof data, "{\"w\":%d,\"i\":%d}", a->id, i);
		struct wal_rec r = { data, (size_t)len, NULL, 0, 0 };
		uint64_t first;
		if (wal_append(a->w, &r, 1, 1, &first, err))
			return (void *)1;
		/* Odd writers block, even ones are notified: one mechanism serves both. */
		if (a->id % 2) {
			if (wal_sync_to(a->w, first, err))
				return (void *)1;
			continue;
		}
		ns[i].w = a->w;
		ns[i].seq = first;
		wal_notify(a->w, first, on_durable, &ns[i]);
	}
	for (int i = 0; a->id % 2 == 0 && i < 200; i++) {
		for (int k = 0; k < 5000 && atomic_load(&ns[i].calls) == 0; k++)
			usleep(1000);
		if (atomic_load(&ns[i].calls) != 1 || !atomic_load(&ns[i].durable_ok))
			return (void *)2;
	}
	free(ns);
	return NULL;
}

TEST(notify_and_blocking_waiters_share_group_commit)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 4 << 20, &w, err), 0);
	pthread_t t[8];
	struct writer_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct writer_arg){ w, i };
		pthread_create(&t[i], NULL, notify_writer, &a[i]);
	}
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	CHECK_INT(wal_durable_seq(w), 1600);
	/* Already durable: the callback runs at once. */
	struct notified late = { w, 5, 0, 0, 0 };
	wal_notify(w, 5, on_durable, &late);
	CHECK_INT(atomic_load(&late.calls), 1);
	wal_close(w);
}

TEST(notified_writers_of_many_wals_all_complete)
{
	char err[TN_ERRLEN], dir[600];
	struct wal *w[6];
	pthread_t t[12];
	struct writer_arg a[12];
	/* More WALs than sync threads, every writer notified: none may wait forever. */
	for (int i = 0; i < 6; i++) {
		snprintf(dir, sizeof dir, "%s/wal%d", test_tmpdir(), i);
		CHECK_INT(wal_open(dir, 0, 4 << 20, &w[i], err), 0);
	}
	for (int i = 0; i < 12; i++) {
		a[i] = (struct writer_arg){ w[i % 6], 2 * i };  /* even ids: notified */
		pthread_create(&t[i], NULL, notify_writer, &a[i]);
	}
	for (int i = 0; i < 12; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	for (int i = 0; i < 6; i++) {
		CHECK_INT(wal_durable_seq(w[i]), 400);
		wal_close(w[i]);
	}
}

TEST(failed_fdatasync_fails_every_waiter)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 1, 0, &first);
	setenv("TARN_FAULT", "fsync:eio:1", 1);
	os_fault_reset();
	struct wal_rec r = { "{}", 2, NULL, 0, 0 };
	CHECK_INT(wal_append(w, &r, 1, 1, &first, err), 0);
	struct notified n = { w, first, 0, 0, 0 };
	wal_notify(w, first, on_durable, &n);
	for (int k = 0; k < 5000 && atomic_load(&n.calls) == 0; k++)
		usleep(1000);
	CHECK_INT(atomic_load(&n.calls), 1);
	CHECK(atomic_load(&n.rc) != 0);
	/* The WAL now refuses everything until it is reopened. */
	CHECK(wal_append(w, &r, 1, 1, &first, err) != 0);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	wal_close(w);
}

/* Records LZ4 cannot shrink: batches stay plain frames and fill segments. */
static char big[16][8192];

static void big_fill(void)
{
	uint32_t x = 2463534242u;
	for (size_t k = 0; k < 16; k++) {
		for (size_t i = 0; i < sizeof big[k]; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			big[k][i] = (char)('0' + x % 75);
		}
		big[k][0] = '"';
		big[k][sizeof big[k] - 1] = '"';
	}
}

static void *rollover_writer(void *p)
{
	struct writer_arg *a = p;
	for (int i = 0; i < 60; i++) {
		struct wal_rec r[16];
		for (int k = 0; k < 16; k++)
			r[k] = (struct wal_rec){ big[k], sizeof big[k], NULL, 0, 0 };
		uint64_t first;
		char err[TN_ERRLEN];
		if (wal_append(a->w, r, 16, 1, &first, err) || wal_sync_to(a->w, first + 15, err))
			return (void *)1;
	}
	return NULL;
}

/* Many writers rolling segments over at once (a use-after-free once lurked here). */
TEST(concurrent_rollover)
{
	char err[TN_ERRLEN];
	struct wal *w;
	big_fill();
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	pthread_t t[8];
	struct writer_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct writer_arg){ w, i };
		pthread_create(&t[i], NULL, rollover_writer, &a[i]);
	}
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	CHECK_INT(wal_durable_seq(w), 8 * 60 * 16);
	CHECK(wal_segments(w) > 8);
	wal_close(w);
	/* Every segment chains on from the one before: recovery agrees. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 8 * 60 * 16);
	wal_close(w);
}

/* ---- packed batches ------------------------------------------------------- */

/* The first segment of the test's WAL, open for reading and writing. */
static int first_segment(void)
{
	char seg[600];
	snprintf(seg, sizeof seg, "%s/%020d.wal", walp(), 1);
	int fd = open(seg, O_RDWR);
	CHECK(fd >= 0);
	return fd;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Record i of the packed tests: compressible JSON, quarantined every 7th. */
static int packed_rec(int i, char *out, size_t n)
{
	return snprintf(out, n, "{\"i\":%d,\"vaccine\":\"COVID-19 mRNA\",\"county\":\"King\","
			"\"state\":\"WA\",\"pad\":\"%0*d\"}", i, 20 + i % 50, i);
}

/* Appends records base..base+n-1 as one batch (arrival 42) and syncs them. */
static uint64_t append_packed(struct wal *w, int n, int base)
{
	char err[TN_ERRLEN];
	struct wal_rec *r = calloc((size_t)n, sizeof *r);
	char (*data)[160] = calloc((size_t)n, sizeof *data);
	for (int i = 0; i < n; i++) {
		int len = packed_rec(base + i, data[i], sizeof data[i]);
		bool q = (base + i) % 7 == 0;
		r[i] = (struct wal_rec){ data[i], (size_t)len, q ? "not what was asked" : NULL,
					 q ? 18 : 0, 1000 + base + i };
	}
	uint64_t first = 0;
	CHECK_INT(wal_append(w, r, (size_t)n, 42, &first, err), 0);
	CHECK_INT(wal_sync_to(w, first + (uint64_t)n - 1, err), 0);
	free(data);
	free(r);
	return first;
}

/* Reads records from..to (seq = record number + 1) and checks each one. */
static void read_packed(struct wal *w, uint64_t from, uint64_t to)
{
	char err[TN_ERRLEN];
	struct wal_cursor *c;
	CHECK_INT(wal_cursor_open(w, from, &c, err), 0);
	struct wal_entry e;
	for (uint64_t seq = from; seq <= to; seq++) {
		CHECK_INT(wal_cursor_next(c, to, &e, err), 1);
		int i = (int)seq - 1;
		char want[160];
		int len = packed_rec(i, want, sizeof want);
		CHECK_INT(e.seq, seq);
		CHECK_INT(e.len, len);
		CHECK(memcmp(e.data, want, e.len) == 0);
		CHECK_INT(e.arrival_ms, 42);
		CHECK_INT(e.part_ms, 1000 + i);
		CHECK_INT(e.quarantined, i % 7 == 0);
		CHECK_INT(e.rlen, i % 7 == 0 ? 18 : 0);
		if (e.rlen)
			CHECK(memcmp(e.reason, "not what was asked", 18) == 0);
	}
	CHECK_INT(wal_cursor_next(c, to, &e, err), 0);
	wal_cursor_close(c);
}

TEST(packed_batches_round_trip_from_any_record)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(append_packed(w, 300, 0), 1);
	CHECK_INT(append_packed(w, 1, 300), 301);     /* a single record: plain */
	CHECK_INT(append_packed(w, 200, 301), 302);
	/* 501 records of ~100 bytes take ~70 KB as frames; packed, far less. */
	CHECK(wal_bytes(w) < 30000);
	read_packed(w, 1, 501);
	read_packed(w, 150, 501);   /* inside the first packed batch */
	read_packed(w, 301, 320);   /* the plain frame, then into the next batch */
	read_packed(w, 450, 460);   /* inside the last one */
	wal_close(w);
	/* Recovery counts a packed frame's records: numbering goes on after them. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 501);
	CHECK_INT(append_packed(w, 100, 501), 502);
	read_packed(w, 1, 601);
	wal_close(w);
}

TEST(cursors_continue_where_the_last_stopped)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	for (int b = 0; b < 10; b++)
		append_packed(w, 100, b * 100);
	/* A flusher's pattern: each cursor starts where the one before stopped. */
	for (uint64_t from = 1; from <= 1000; from += 37)
		read_packed(w, from, from + 36 > 1000 ? 1000 : from + 36);
	/* A cursor behind the last one's stop scans from the segment's start. */
	read_packed(w, 5, 950);
	read_packed(w, 1, 1000);
	wal_close(w);
}

TEST(torn_packed_batch_is_dropped_whole)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	append_packed(w, 200, 0);
	uint64_t before = wal_bytes(w);
	append_packed(w, 200, 200);
	uint64_t after = wal_bytes(w);
	wal_close(w);
	/* Cut the second packed frame in half, as a crash during its write would. */
	int fd = first_segment();
	uint64_t mid = before + (after - before) / 2;
	char zeros[4096] = { 0 };
	for (uint64_t off = mid; off < after; off += sizeof zeros)
		CHECK(pwrite(fd, zeros, sizeof zeros, (off_t)off) == (ssize_t)sizeof zeros);
	close(fd);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 200);
	CHECK_INT(append_packed(w, 200, 200), 201);
	read_packed(w, 1, 400);
	wal_close(w);
}

TEST(segments_of_version_1_are_read)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	uint64_t first;
	append_n(w, 10, 0, &first);
	wal_close(w);
	/* Rewrite the header as version 1 wrote it: same fields, version 1, its CRC. */
	int fd = first_segment();
	uint8_t h[64];
	CHECK_INT(pread(fd, h, sizeof h, 0), 64);
	CHECK_INT(h[8], 2);
	h[8] = 1;
	put_le32(h + 60, crc32c(0, h, 60));
	CHECK_INT(pwrite(fd, h, sizeof h, 0), 64);
	close(fd);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 10);
	CHECK_INT(read_all(w, 1, 0), 10);
	wal_close(w);
}

TEST(packed_frame_that_does_not_unpack_is_cut_at_recovery)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(append_packed(w, 200, 0), 1);
	CHECK_INT(append_packed(w, 200, 200), 201);
	wal_close(w);
	/* Damage the second frame's LZ4 block and give it a CRC that matches the damage. */
	int fd = first_segment();
	uint8_t h[40];
	CHECK_INT(pread(fd, h, 8, 64), 8);
	uint32_t len1 = le32(h + 4);
	off_t at = 64 + 40 + (off_t)len1;
	CHECK_INT(pread(fd, h, sizeof h, at), 40);
	uint32_t len = le32(h + 4);
	uint8_t *frame = malloc(40 + len);
	CHECK_INT(pread(fd, frame, 40 + len, at), 40 + len);
	frame[40 + 8 + len / 2] ^= 0x5a;
	put_le32(frame, crc32c(0, frame + 4, 36 + len));
	CHECK_INT(pwrite(fd, frame, 40 + len, at), 40 + len);
	free(frame);
	close(fd);
	/* Recovery unpacks what it counts: the batch goes as a torn tail would. */
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 200);
	CHECK_INT(append_packed(w, 200, 200), 201);
	read_packed(w, 1, 400);
	wal_close(w);
}

TEST(frame_longer_than_its_file_is_an_end)
{
	char err[TN_ERRLEN];
	struct wal *w;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(append_packed(w, 200, 0), 1);
	uint64_t end = wal_bytes(w);
	wal_close(w);
	/* A packed frame header for record 201 claiming 200 MiB, in a 1 MiB file. */
	uint8_t h[48] = { 0 };
	put_le32(h + 4, 200u << 20);
	h[12] = 4 | 2;
	h[16] = 201;
	int fd = first_segment();
	CHECK_INT(pwrite(fd, h, sizeof h, (off_t)end), 48);
	close(fd);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 200);
	CHECK_INT(append_packed(w, 50, 200), 201);
	read_packed(w, 1, 250);
	wal_close(w);
}

/*
 * After a power loss the page of frame 4 is lost and frame 5's kept (never
 * synced, never acknowledged).  The next life must not append in place: a
 * new frame 4 of the same size would end where the old frame 5 starts, and
 * a crash after it would make recovery read the old 5 as a record.
 */
TEST(frames_past_a_recovered_end_never_come_back)
{
	char err[TN_ERRLEN];
	struct wal *w;
	uint64_t first;
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	append_n(w, 3, 0, &first);
	append_n(w, 1, 3, &first); /* batches of their own: 4 and 5 */
	append_n(w, 1, 4, &first);
	wal_close(w);
	/* 64-byte header, frames of 40 + 7 bytes: frame 4 at 64 + 3*47, lost */
	int fd = first_segment();
	static const char zeros[47];
	CHECK_INT(pwrite(fd, zeros, sizeof zeros, 64 + 3 * 47), 47);
	close(fd);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) { /* the next life: recovers to 3, appends a new 4, dies */
		struct wal *w2;
		uint64_t f2;
		if (wal_open(walp(), 0, 1 << 20, &w2, err) || wal_durable_seq(w2) != 3)
			_exit(3);
		append_n(w2, 1, 3, &f2);
		_exit(f2 == 4 ? 0 : 4);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(wal_open(walp(), 0, 1 << 20, &w, err), 0);
	CHECK_INT(wal_durable_seq(w), 4);
	CHECK_INT(read_all(w, 1, 0), 4);
	wal_close(w);
}

/*
 * test_stream.c - the stream core: validation, durable appends, flushing
 * into raw-zone objects, quarantine, partitioning, crash replay.
 */
#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "store/store.h"
#include "stream/stream.h"
#include "harness.h"

struct env {
	struct store *store;
	struct meta *meta;
	struct streams *ss;
};

static void env_open(struct env *e, uint64_t buffer_bytes, uint32_t buffer_ms)
{
	char err[TN_ERRLEN], p[600];
	CHECK_INT(store_open(test_tmpdir(), NULL, &e->store, err), 0);
	CHECK_INT(store_create_layout(e->store, err), 0);
	snprintf(p, sizeof p, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(p, &e->meta, err), 0);
	struct streams_config c = { 0 };
	c.auto_create = true;
	c.defaults.buffer_bytes = buffer_bytes;
	c.defaults.buffer_ms = buffer_ms;
	c.segment_bytes = 1 << 20;
	c.wal_max_bytes = 64 << 20;
	c.max_lag_ms = 300000;
	c.min_free_bytes = 0;
	snprintf(p, sizeof p, "%s/wal", test_tmpdir());
	int rc = streams_open(&c, e->store, e->meta, p, &e->ss, err);
	if (rc)
		fprintf(stderr, "streams_open: %s\n", err);
	CHECK_INT(rc, 0);
}

static void env_close(struct env *e)
{
	streams_close(e->ss);
	meta_close(e->meta);
	store_close(e->store);
}

/* Concatenates every object under dir (recursively) into out; returns the count. */
static int read_tree(const char *dir, struct buf *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	int n = 0;
	char names[256][256];
	int k = 0;
	while ((de = readdir(d)) && k < 256)
		if (de->d_name[0] != '.')
			snprintf(names[k++], 256, "%s", de->d_name);
	closedir(d);
	for (int i = 0; i < k; i++) {
		char p[1024];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		if (os_is_dir(p)) {
			n += read_tree(p, out);
		} else {
			CHECK_INT(os_read_file(p, 64 << 20, out, NULL), 0);
			n++;
		}
	}
	return n;
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(append_flush_lands_ndjson_objects)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct record r[3] = { { "{\"a\":1}", 7 }, { "{\"a\":2}", 7 },
			       { "{\n  \"a\": 3\n}", 12 } };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "imm", r, 3, STREAM_STRICT, &res, err), 0);
	CHECK_INT(res.first_seq, 1);
	CHECK_INT(res.last_seq, 3);
	struct stream_info info;
	CHECK_INT(streams_info(e.ss, "imm", &info, err), 0);
	CHECK_INT(info.records, 3);
	CHECK_INT(info.flushed_seq, 0);
	CHECK_INT(streams_flush(e.ss, "imm", err), 0);
	CHECK_INT(streams_info(e.ss, "imm", &info, err), 0);
	CHECK_INT(info.flushed_seq, 3);
	CHECK_INT(info.objects, 1);
	CHECK(strncmp(info.last_object, "01-raw-data-zone/imm/", 21) == 0);
	CHECK(strstr(info.last_object, "-1.json"));
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_get(e.store, info.last_object, 1 << 20, &b, err), 0);
	/* The pretty record was minified: one line per record. */
	CHECK_STR(b.data, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
	buf_release(&b);
	env_close(&e);
}

TEST(strict_batch_rejects_whole_and_names_index)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct record r[3] = { { "{\"a\":1}", 7 }, { "{\"a\":2}", 7 }, { "{\"a\" 3}", 7 } };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "s", r, 3, STREAM_STRICT, &res, err), TN_EINVAL);
	CHECK_INT(res.bad_index, 2);
	CHECK(strstr(err, "record 2: invalid JSON at byte 5"));
	struct record arr = { "[1,2]", 5 };
	CHECK_INT(streams_append(e.ss, "s", &arr, 1, STREAM_STRICT, &res, err), TN_EINVAL);
	CHECK(strstr(err, "must be a JSON object"));
	struct stream_info info;
	CHECK_INT(streams_info(e.ss, "s", &info, err), 0);
	CHECK_INT(info.records, 0);
	env_close(&e);
}

TEST(quarantine_keeps_bad_records_with_reason)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct stream_opts o;
	CHECK_INT(streams_create(e.ss, "k", "kinesis", NULL, false, err), 0);
	struct stream_info info;
	CHECK_INT(streams_info(e.ss, "k", &info, err), 0);
	o = info.opts;
	o.nrequired = 1;
	snprintf(o.required[0], sizeof o.required[0], "id");
	CHECK_INT(streams_configure(e.ss, "k", &o, err), 0);
	struct record r[3] = { { "{\"id\":1}", 8 }, { "hello", 5 }, { "{\"x\":1}", 7 } };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "k", r, 3, STREAM_QUARANTINE, &res, err), 0);
	CHECK_INT(res.count, 3);
	CHECK_INT(res.quarantined, 2);
	CHECK_INT(streams_flush(e.ss, "k", err), 0);
	char dir[600];
	struct buf b = BUF_INIT(0);
	snprintf(dir, sizeof dir, "%s/01-raw-data-zone/k", test_tmpdir());
	CHECK_INT(read_tree(dir, &b), 1);
	CHECK_STR(b.data, "{\"id\":1}\n");
	buf_reset(&b);
	snprintf(dir, sizeof dir, "%s/02-transient-zone/quarantine/k", test_tmpdir());
	CHECK_INT(read_tree(dir, &b), 1);
	CHECK(strstr(b.data, "\"reason\":\"invalid JSON at byte 0"));
	CHECK(strstr(b.data, "\"data\":\"hello\""));
	CHECK(strstr(b.data, "missing required field 'id'"));
	CHECK_INT(count_lines(b.data, "\n"), 2);
	CHECK_INT(streams_info(e.ss, "k", &info, err), 0);
	CHECK_INT(info.quarantined, 2);
	buf_release(&b);
	env_close(&e);
}

TEST(partition_by_timestamp_field)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct stream_opts o = { 0 };
	const char *oj = "{\"buffer_bytes\":1048576,\"timestamp_field\":\"ts\"}";
	CHECK_INT(stream_opts_from_json(oj, strlen(oj), &o, err), 0);
	CHECK_INT(o.partition, PART_FIELD);
	CHECK_INT(streams_configure(e.ss, "ev", &o, err), 0);
	struct record r[3] = { { "{\"ts\":\"2025-01-02T03:04:05Z\"}", 29 },
			       { "{\"ts\":\"2024-12-31T23:59:59Z\"}", 29 },
			       { "{\"ts\":\"2025-01-02T10:00:00Z\"}", 29 } };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "ev", r, 3, STREAM_STRICT, &res, err), 0);
	CHECK_INT(streams_flush(e.ss, "ev", err), 0);
	char p[700];
	snprintf(p, sizeof p, "%s/01-raw-data-zone/ev/2025/01/02/030405-1.json", test_tmpdir());
	CHECK(os_exists(p));
	snprintf(p, sizeof p, "%s/01-raw-data-zone/ev/2024/12/31/235959-2.json", test_tmpdir());
	CHECK(os_exists(p));
	struct record bad = { "{\"ts\":\"soon\"}", 13 };
	CHECK_INT(streams_append(e.ss, "ev", &bad, 1, STREAM_STRICT, &res, err), TN_EINVAL);
	CHECK(strstr(err, "is not a timestamp"));
	env_close(&e);
}

TEST(size_hint_splits_objects_and_age_flushes)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 64 << 10, 200);
	char rec[1100];
	memset(rec, 'x', sizeof rec);
	memcpy(rec, "{\"p\":\"", 6);
	memcpy(rec + 1098, "\"}", 2);
	struct record r[100];
	for (int i = 0; i < 100; i++)
		r[i] = (struct record){ rec, 1100 };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "big", r, 100, STREAM_STRICT, &res, err), 0);
	/* No explicit flush: the age bound (200 ms) and size hint do it. */
	struct stream_info info;
	for (int i = 0; i < 100; i++) {
		CHECK_INT(streams_info(e.ss, "big", &info, err), 0);
		if (info.flushed_seq == 100)
			break;
		usleep(50000);
	}
	CHECK_INT(info.flushed_seq, 100);
	CHECK(info.objects >= 2);
	env_close(&e);
}

/*
 * A child appends and flushes with a crash injected at the n-th rename
 * (inside the object writes); the parent reopens, and every record must be
 * in the raw zone exactly once.
 */
static void crash_child(int crash_at)
{
	struct env e;
	char err[TN_ERRLEN];
	char spec[64];
	snprintf(spec, sizeof spec, "rename:crash:%d", crash_at);
	setenv("TARN_FAULT", spec, 1);
	os_fault_reset();
	env_open(&e, 64 << 10, 60000);
	char rec[64];
	for (int b = 0; b < 20; b++) {
		struct record r[50];
		char data[50][400];
		for (int i = 0; i < 50; i++) {
			int len = snprintf(data[i], sizeof data[i], "{\"n\":%d,\"pad\":\"%0300d\"}",
					   b * 50 + i, 0);
			r[i] = (struct record){ data[i], (size_t)len };
		}
		struct append_result res;
		if (streams_append(e.ss, "c", r, 50, STREAM_STRICT, &res, err))
			_exit(3);
		/* Acknowledged: tell the parent (the page cache outlives SIGKILL). */
		char p[600], n[32];
		snprintf(p, sizeof p, "%s/acked", test_tmpdir());
		int len = snprintf(n, sizeof n, "%d", (b + 1) * 50);
		FILE *f = fopen(p, "w");  /* not through core/os: no fault counted here */
		CHECK(f && fwrite(n, 1, (size_t)len, f) == (size_t)len);
		fclose(f);
	}
	(void)rec;
	streams_flush(e.ss, "c", err);
	_exit(0);
}

TEST(crash_during_flush_neither_loses_nor_duplicates)
{
	/* Renames: WAL segment creation, then one per object (about 5). */
	int crashes = 0;
	for (int crash_at = 1; crash_at <= 7; crash_at++) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "rm -rf %s/*", test_tmpdir());
		CHECK_INT(system(cmd), 0);
		pid_t pid = fork();
		if (pid == 0)
			crash_child(crash_at);
		int st;
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			crashes++;
		else
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		struct env e;
		char err[TN_ERRLEN];
		env_open(&e, 64 << 10, 60000);
		int acked = 0;
		char p[600];
		struct buf a = BUF_INIT(0);
		snprintf(p, sizeof p, "%s/acked", test_tmpdir());
		if (os_read_file(p, 64, &a, NULL) == 0)
			acked = (int)strtol(a.data, NULL, 10);
		buf_release(&a);
		struct stream_info info;
		int have = streams_info(e.ss, "c", &info, err) == 0;
		CHECK(have || acked == 0);
		if (have) {
			CHECK_INT(streams_flush(e.ss, "c", err), 0);
			CHECK_INT(streams_info(e.ss, "c", &info, err), 0);
			CHECK(info.flushed_seq >= (uint64_t)acked);
			CHECK_INT(info.records, info.flushed_seq);
		}
		env_close(&e);
		char dir[600];
		snprintf(dir, sizeof dir, "%s/01-raw-data-zone/c", test_tmpdir());
		struct buf b = BUF_INIT(0);
		read_tree(dir, &b);
		/* Every acknowledged record exactly once; none twice. */
		int lines = count_lines(b.data, "\n");
		CHECK(lines >= acked);
		for (int n = 0; n < lines; n++) {
			char needle[32];
			snprintf(needle, sizeof needle, "{\"n\":%d,", n);
			CHECK_INT(count_lines(b.data, needle), 1);
		}
		buf_release(&b);
	}
	CHECK(crashes >= 5);
}

TEST(sequence_numbers_survive_delete_and_recreate)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct record r = { "{\"a\":1}", 7 };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "d", &r, 1, STREAM_STRICT, &res, err), 0);
	CHECK_INT(streams_delete(e.ss, "d", err), 0);
	CHECK_INT(streams_info(e.ss, "d", &res.count ? &(struct stream_info){ 0 } : NULL, err),
		  TN_ENOTFOUND);
	CHECK_INT(streams_append(e.ss, "d", &r, 1, STREAM_STRICT, &res, err), 0);
	CHECK_INT(res.first_seq, 2);
	env_close(&e);
	env_open(&e, 1 << 20, 60000);
	CHECK_INT(streams_append(e.ss, "d", &r, 1, STREAM_STRICT, &res, err), 0);
	CHECK_INT(res.first_seq, 3);
	CHECK_INT(stream_name_check("bad/name", err), TN_EINVAL);
	CHECK_INT(stream_name_check(".hidden", err), TN_EINVAL);
	CHECK_INT(stream_name_check("ok_name-1.x", err), 0);
	env_close(&e);
}

struct done_box {
	_Atomic int calls;
	int rc;
	struct append_result res;
};

static void on_done(void *arg, int rc, const struct append_result *res, const char *err)
{
	struct done_box *b = arg;
	(void)err;
	b->rc = rc;
	b->res = *res;
	atomic_fetch_add(&b->calls, 1);
}

TEST(async_append_completes_and_lands)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct done_box boxes[20];
	memset(boxes, 0, sizeof boxes);
	for (int i = 0; i < 20; i++) {
		char rec[32];
		int len = snprintf(rec, sizeof rec, "{\"i\":%d}", i);
		struct record r = { rec, (size_t)len };
		struct append_result res;
		CHECK_INT(streams_append_async(e.ss, "as", &r, 1, STREAM_STRICT, &res, on_done,
					       &boxes[i], err), 0);
		CHECK_INT(res.first_seq, (uint64_t)i + 1);
	}
	for (int i = 0; i < 20; i++) {
		for (int k = 0; k < 5000 && atomic_load(&boxes[i].calls) == 0; k++)
			usleep(1000);
		CHECK_INT(atomic_load(&boxes[i].calls), 1);
		CHECK_INT(boxes[i].rc, 0);
		CHECK_INT(boxes[i].res.last_seq, (uint64_t)i + 1);
	}
	/* A bad record is refused at once and the callback never comes. */
	struct record bad = { "{nope", 5 };
	struct done_box never = { 0 };
	struct append_result res;
	CHECK_INT(streams_append_async(e.ss, "as", &bad, 1, STREAM_STRICT, &res, on_done, &never,
				       err), TN_EINVAL);
	CHECK_INT(res.bad_index, 0);
	CHECK_INT(streams_flush(e.ss, "as", err), 0);
	char dir[600];
	snprintf(dir, sizeof dir, "%s/01-raw-data-zone/as", test_tmpdir());
	struct buf b = BUF_INIT(0);
	CHECK_INT(read_tree(dir, &b), 1);
	CHECK_INT(count_lines(b.data, "\n"), 20);
	buf_release(&b);
	usleep(10000);
	CHECK_INT(atomic_load(&never.calls), 0);
	env_close(&e);
}

TEST(failing_flush_is_reported_then_recovers)
{
	struct env e;
	char err[TN_ERRLEN];
	env_open(&e, 1 << 20, 60000);
	struct record r = { "{\"a\":1}", 7 };
	struct append_result res;
	CHECK_INT(streams_append(e.ss, "ff", &r, 1, STREAM_STRICT, &res, err), 0);
	/* Object writes fail as on a full disk: the flush fails and says why. */
	setenv("TARN_FAULT", "write:enospc:1", 1);
	os_fault_reset();
	CHECK_INT(streams_flush(e.ss, "ff", err), TN_ENOSPC);
	struct stream_info info;
	CHECK_INT(streams_info(e.ss, "ff", &info, err), 0);
	CHECK(strstr(info.flush_error, "No space left"));
	CHECK_INT(info.flushed_seq, 0);
	/* Space returns: the next flush writes the record and clears the error. */
	unsetenv("TARN_FAULT");
	os_fault_reset();
	CHECK_INT(streams_flush(e.ss, "ff", err), 0);
	CHECK_INT(streams_info(e.ss, "ff", &info, err), 0);
	CHECK_STR(info.flush_error, "");
	CHECK_INT(info.flushed_seq, 1);
	env_close(&e);
}

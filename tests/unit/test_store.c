/*
 * test_store.c - key validation, atomic puts, raw immutability, lazy writers,
 * temp files left by a crash.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "store/store.h"
#include "harness.h"

TEST(key_check_rules)
{
	char err[TN_ERRLEN];
	CHECK_INT(store_key_check("01-raw-data-zone/a/b.json", 25, err), 0);
	CHECK_INT(store_key_check("a/../b", 6, err), TN_EINVAL);
	CHECK(strstr(err, "'..'"));
	CHECK_INT(store_key_check("a//b", 4, err), TN_EINVAL);
	CHECK(strstr(err, "empty path segment"));
	CHECK_INT(store_key_check("/a", 2, err), TN_EINVAL);
	CHECK_INT(store_key_check("a/", 2, err), TN_EINVAL);
	CHECK_INT(store_key_check("a\0b", 3, err), TN_EINVAL);
	CHECK(strstr(err, "NUL"));
	CHECK_INT(store_key_check("a/\xff", 3, err), TN_EINVAL);
	CHECK(strstr(err, "UTF-8"));
	CHECK_INT(store_key_check(".tarn/meta.db", 13, err), TN_EINVAL);
	CHECK_INT(store_key_check("caf\xc3\xa9/x", 7, err), 0);
	char big[1100];
	memset(big, 'a', sizeof big);
	CHECK_INT(store_key_check(big, 1025, err), TN_EINVAL);
	CHECK_INT(store_key_check(big, 1024, err), 0);
}

TEST(put_get_and_raw_is_immutable)
{
	char err[TN_ERRLEN];
	struct store *s;
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	struct iovec v = { "{\"a\":1}\n", 8 };
	CHECK_INT(store_put(s, "01-raw-data-zone/t/2026/11/22/x.json", &v, 1, 0, err), 0);
	uint64_t size;
	CHECK_INT(store_head(s, "01-raw-data-zone/t/2026/11/22/x.json", &size, err), 0);
	CHECK_INT(size, 8);
	/* Raw refuses overwrite and delete, from every caller but a replay. */
	struct iovec w = { "other", 5 };
	CHECK_INT(store_put(s, "01-raw-data-zone/t/2026/11/22/x.json", &w, 1, 0, err), TN_ECONFLICT);
	CHECK(strstr(err, "immutable"));
	CHECK_INT(store_delete(s, "01-raw-data-zone/t/2026/11/22/x.json", err), TN_EDENIED);
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_get(s, "01-raw-data-zone/t/2026/11/22/x.json", 1 << 20, &b, err), 0);
	CHECK_STR(b.data, "{\"a\":1}\n");
	CHECK_INT(store_put(s, "01-raw-data-zone/t/2026/11/22/x.json", &v, 1, STORE_REPLAY, err), 0);
	/* Other zones allow replace and delete. */
	CHECK_INT(store_put(s, "04-user-drop-zone/f.csv", &v, 1, 0, err), 0);
	CHECK_INT(store_put(s, "04-user-drop-zone/f.csv", &w, 1, 0, err), 0);
	CHECK_INT(store_delete(s, "04-user-drop-zone/f.csv", err), 0);
	CHECK_INT(store_head(s, "04-user-drop-zone/f.csv", &size, err), TN_ENOTFOUND);
	/* Outside every zone: refused (tarn.yaml is not an object). */
	CHECK_INT(store_put(s, "tarn.yaml", &v, 1, 0, err), TN_EINVAL);
	CHECK_INT(store_zone_of(s, "warehouse/mart/x/y.parquet"), ZONE_MART);
	CHECK_INT(zone_by_name("gold"), ZONE_MART);
	CHECK_INT(zone_by_name("bronze"), ZONE_RAW);
	buf_release(&b);
	store_close(s);
}

TEST(failed_put_leaves_nothing)
{
	char err[TN_ERRLEN];
	struct store *s;
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	setenv("TARN_FAULT", "write:enospc:1", 1);
	os_fault_reset();
	struct iovec v = { "data", 4 };
	CHECK_INT(store_put(s, "04-user-drop-zone/full.json", &v, 1, 0, err), TN_ENOSPC);
	unsetenv("TARN_FAULT");
	os_fault_reset();
	uint64_t size;
	CHECK_INT(store_head(s, "04-user-drop-zone/full.json", &size, err), TN_ENOTFOUND);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/04-user-drop-zone)\"", test_tmpdir());
	CHECK_INT(system(cmd), 0);
	store_close(s);
}

/* A bulk (uncached) put goes to the disk in 1 MiB pieces: pieces across iovec bounds, bytes intact. */
TEST(uncached_put_writes_every_byte)
{
	char err[TN_ERRLEN];
	struct store *s;
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	size_t sizes[] = { 700u << 10, (3u << 20) / 2, (300u << 10) + 1, 1u << 20 };
	struct iovec v[4];
	size_t total = 0;
	for (int i = 0; i < 4; i++) {
		char *p = malloc(sizes[i]);
		for (size_t k = 0; k < sizes[i]; k++)
			p[k] = (char)(k * 7 + (size_t)i * 13);
		v[i] = (struct iovec){ p, sizes[i] };
		total += sizes[i];
	}
	CHECK_INT(store_put(s, "01-raw-data-zone/t/2026/11/22/big.json", v, 4, STORE_UNCACHED,
			    err), 0);
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_get(s, "01-raw-data-zone/t/2026/11/22/big.json", 8u << 20, &b, err), 0);
	CHECK(b.len == total);
	size_t off = 0;
	for (int i = 0; i < 4 && b.len == total; i++) {
		CHECK(memcmp(b.data + off, v[i].iov_base, sizes[i]) == 0);
		off += sizes[i];
	}
	for (int i = 0; i < 4; i++)
		free(v[i].iov_base);
	buf_release(&b);
	store_close(s);
}

/*
 * A lazy writer makes no file (nor folder) until its bytes reach the disk;
 * after store_writer_sync, a blob set is attached by the commit too.
 */
TEST(lazy_writer_creates_at_sync_and_attaches_a_later_blob)
{
	char err[TN_ERRLEN], dir[600];
	struct store *s;
	struct store_writer *w;
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	snprintf(dir, sizeof dir, "%s/04-user-drop-zone/lazy", test_tmpdir());
	CHECK_INT(store_writer_open(s, "04-user-drop-zone/lazy/a.txt", STORE_LAZY, &w, err), 0);
	CHECK_INT(store_writer_write(w, "hello", 5, err), 0); /* small: buffered */
	CHECK(!os_is_dir(dir));
	CHECK_INT(store_writer_set_attr(w, "one", 3, err), 0);
	CHECK_INT(store_writer_sync(w, err), 0);
	CHECK(os_is_dir(dir));
	CHECK_INT(store_writer_set_attr(w, "two", 3, err), 0);
	CHECK_INT(store_writer_commit(w, err), 0);
	CHECK_INT(store_get(s, "04-user-drop-zone/lazy/a.txt", 100, &b, err), 0);
	CHECK(b.len == 5 && !memcmp(b.data, "hello", 5));
	buf_reset(&b);
	CHECK_INT(store_attr_get(s, "04-user-drop-zone/lazy/a.txt", &b, err), 0);
	CHECK(b.len == 3 && !memcmp(b.data, "two", 3));
	/* aborted before any byte reached the disk: nothing at all */
	CHECK_INT(store_writer_open(s, "04-user-drop-zone/lazy2/b.txt", STORE_LAZY, &w, err), 0);
	CHECK_INT(store_writer_write(w, "x", 1, err), 0);
	store_writer_abort(w);
	snprintf(dir, sizeof dir, "%s/04-user-drop-zone/lazy2", test_tmpdir());
	CHECK(!os_is_dir(dir));
	buf_release(&b);
	store_close(s);
}

/* Only a temp-named regular file last written before the store's open goes. */
TEST(stale_temp_files_are_dropped)
{
	char err[TN_ERRLEN], p[4][600];
	struct store *s;
	const char *names[4] = { ".tarn-tmp-a.csv.1.1", ".tarn-tmp-b.csv.2.2", "c.csv",
				 ".tarn-tmp-dir" };
	struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(p[i], sizeof p[i], "%s/04-user-drop-zone/%s", test_tmpdir(), names[i]);
		if (i == 3) {
			CHECK_INT(mkdir(p[i], 0750), 0);
		} else {
			FILE *fp = fopen(p[i], "w");
			CHECK(fp != NULL);
			fclose(fp);
		}
		if (i != 1) /* b stays fresh */
			CHECK_INT(utimensat(AT_FDCWD, p[i], old, 0), 0);
	}
	CHECK(store_drop_stale_temp(s, p[0]));
	CHECK(!os_exists(p[0]));
	CHECK(!store_drop_stale_temp(s, p[1])); /* fresh: a write in progress */
	CHECK(!store_drop_stale_temp(s, p[2])); /* an object */
	CHECK(!store_drop_stale_temp(s, p[3])); /* a folder */
	CHECK(os_exists(p[1]) && os_exists(p[2]) && os_is_dir(p[3]));
	store_close(s);
}

/*
 * crawl_bench.c - the crawler on many small NDJSON files: the first crawl
 * (files/s) and the re-crawl of the unchanged tree (target under 1 s).
 *
 * Builds a lake in a fresh directory and lands N files of R immunization
 * events each (src/cli/gen.c, seed 1) the way the flusher names them,
 * spread over D days: 01-raw-data-zone/immunizations/YYYY/MM/DD/
 * <HHMMSS>-<seq>.json.  Then it times, each on a fresh catalog handle
 * over the same metastore:
 *   1. the first crawl (every file read, schema inferred, PII tagged,
 *      dictionary written);
 *   2. the re-crawl of the unchanged tree (stat only: must read 0 files);
 *   3. a re-crawl after one more file lands (reads 1 file);
 *   4. a full crawl (every file read again, schema merged, nothing new).
 * Usage: crawl_bench [files=10000] [records=10] [days=30] [dir]
 * With CRAWL_BENCH_REUSE=1 the files of an earlier run in dir are crawled
 * again with a new metastore (no landing; for profiling).
 * The lake stays in dir (default: a new /tmp/tarn-crawl-bench-PID) for
 * inspection; delete it afterwards.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "cli/gen.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "core/banned.h"

#define DAY_MS 86400000LL

static void die(const char *what, const char *err)
{
	fprintf(stderr, "crawl_bench: %s: %s\n", what, err);
	exit(1);
}

static long arg(int argc, char **argv, int i, long def)
{
	return argc > i ? strtol(argv[i], NULL, 10) : def;
}

static void run(struct store *s, struct meta *m, const char *label, int flags, long files)
{
	struct catalog *c;
	struct crawl_report r;
	struct crawl_opts o = { NULL, flags };
	char err[TN_ERRLEN];
	if (catalog_open(s, m, &c, err))
		die("catalog", err);
	int64_t t0 = time_mono_ns();
	if (catalog_crawl(c, &o, &r, err))
		die("crawl", err);
	double s_el = (double)(time_mono_ns() - t0) / 1e9;
	printf("| %s | %.3f s | %.0f files/s | %u | %u | %u | %u | %u |\n", label, s_el,
	       (double)files / s_el, r.files_seen, r.files_read, r.files_unchanged, r.files_bad,
	       r.dictionary_files);
	crawl_report_release(&r);
	catalog_close(c);
}

int main(int argc, char **argv)
{
	long nfiles = arg(argc, argv, 1, 10000), nrec = arg(argc, argv, 2, 10);
	long days = arg(argc, argv, 3, 30);
	char dir[512], path[600], key[256], err[TN_ERRLEN];
	struct store *s;
	struct meta *m;
	if (argc > 4)
		snprintf(dir, sizeof dir, "%s", argv[4]);
	else
		snprintf(dir, sizeof dir, "/tmp/tarn-crawl-bench-%d", (int)getpid());
	if (nfiles < 1 || nrec < 1 || days < 1 || days > 365)
		die("usage", "crawl_bench [files] [records] [days 1..365] [dir]");
	if (os_mkdir_p(dir, 0700, err) || store_open(dir, NULL, &s, err) ||
	    store_create_layout(s, err))
		die("lake", err);
	log_set_quiet(1);
	snprintf(path, sizeof path, "%s/.tarn", store_root(s));
	if (os_mkdir_p(path, 0700, err))
		die("lake", err);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", store_root(s));
	/* CRAWL_BENCH_REUSE=1: crawl the files of an earlier run with a new metastore. */
	bool reuse = getenv("CRAWL_BENCH_REUSE") != NULL;
	if (reuse) {
		char side[640];
		unlink(path);
		snprintf(side, sizeof side, "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", path);
		unlink(side);
	}
	if (meta_open(path, &m, err))
		die("metastore", err);

	/* Land the files as the flusher would. */
	struct gen g;
	int64_t start = time_from_utc(&(struct utc){ 2026, 3, 1, 0, 0, 0, 0 });
	gen_init(&g, 1, start, days * DAY_MS);
	uint64_t bytes = 0;
	int64_t t0 = time_mono_ns();
	for (long i = 0; i < nfiles && !reuse; i++) {
		struct buf b = BUF_INIT(0);
		for (long k = 0; k < nrec; k++)
			gen_immunization(&g, &b);
		struct utc u;
		int64_t at = start + (i * days / nfiles) * DAY_MS + (i % 86400) * 1000;
		time_utc(at, &u);
		snprintf(key, sizeof key,
			 "01-raw-data-zone/immunizations/%04d/%02d/%02d/%02d%02d%02d-%ld.json", u.year,
			 u.month, u.day, u.hour, u.min, u.sec, i * nrec);
		struct iovec v = { b.data, b.len };
		if (store_put(s, key, &v, 1, 0, err))
			die("put", err);
		bytes += b.len;
		buf_release(&b);
	}
	printf("lake %s: %ld files of %ld events (%.1f MB) over %ld days, landed in %.1f s\n\n",
	       dir, nfiles, nrec, (double)bytes / 1e6, days,
	       (double)(time_mono_ns() - t0) / 1e9);
	printf("| crawl | time | files/s | seen | read | unchanged | bad | dictionary |\n"
	       "|---|---|---|---|---|---|---|---|\n");
	run(s, m, "first crawl", 0, nfiles);
	run(s, m, "re-crawl, unchanged", 0, nfiles);
	struct buf b = BUF_INIT(0);
	gen_immunization(&g, &b);
	struct iovec v = { b.data, b.len };
	int rc = store_put(s, "01-raw-data-zone/immunizations/2026/03/01/235959-999999999.json", &v,
			   1, 0, err);
	if (rc && !(reuse && rc == TN_ECONFLICT)) /* a reused lake has it already */
		die("put", err);
	buf_release(&b);
	run(s, m, "re-crawl, one new file", 0, nfiles + 1);
	run(s, m, "full crawl", CRAWL_FULL, nfiles + 1);
	meta_close(m);
	store_close(s);
	return 0;
}

/*
 * query_direct.c - `make bench-query`: the same SQL through tarn's query
 * endpoint and through DuckDB's C API directly, over the same files.
 *
 * Sub-commands (bench/query.sh runs them in this order):
 *
 *   prepare LAKE EVENTS SEED START DAYS FILE_MB
 *       Generates EVENTS immunization events (src/cli/gen.c, the bytes of
 *       `tarn gen immunizations --seed SEED --start START --days DAYS`)
 *       and writes each into the raw zone by the day of its
 *       administered_at, the flusher's layout:
 *       LAKE/01-raw-data-zone/immunizations/YYYY/MM/DD/000000-<seq>.json,
 *       a new file once one passes FILE_MB MiB.  No HTTP: ingest is not
 *       what this benchmark measures.
 *
 *   derive LAKE RAW_COLUMNS
 *       Builds the mart and master tables from the raw files with DuckDB:
 *       LAKE/warehouse/mart/immunizations/data_YYYY_MM.parquet (zstd, one
 *       per month, every raw column plus year, month, day, in day order so
 *       that row groups cluster by date) and
 *       LAKE/03-master-data-zone/vaccines/vaccines.csv (cvx_code,
 *       vaccine_name, manufacturer, category).  Both are written
 *       under hidden names (the crawler skips them) and renamed when whole.
 *
 *   bench LAKE COLS_DIR URL USER PASSWORD DAY REPS SMALL_REPS THREADS MEMORY
 *       Defines the views a DuckDB user would write over the same files
 *       (raw.immunizations: read_json with the catalog's columns, year /
 *       month / day taken from the path; master.vaccines: read_csv with the
 *       catalog's columns; mart.immunizations: read_parquet).  First the
 *       fixed overhead: GET /healthz SMALL_REPS times (the floor), then
 *       each small query SMALL_REPS times on each side, alternating.  Then
 *       every large query once on each side (warm-up; a row count that
 *       differs between the sides is flagged in the table) and REPS times
 *       more alternating tarn / direct, so both share the machine's noise.
 *       All requests use one keep-alive connection.  Prints Markdown on
 *       stdout.  URL "-" runs the direct side alone (for testing).
 *       COLS_DIR holds raw.cols and master.cols: DuckDB struct literals
 *       {'name': 'TYPE', ...} taken from tarn's catalog by query.sh.
 *       DAY (YYYY-MM-DD) is the day of the one-day filter.  THREADS and
 *       MEMORY ("-": DuckDB's default) are tarn's query engine settings,
 *       applied to the direct DuckDB too.
 *
 * Timing: CLOCK_MONOTONIC around curl_easy_perform (request sent, query
 * run, whole JSON answer received) for tarn; around duckdb_query plus a
 * walk over every chunk of the materialized result for DuckDB.  Medians
 * for the large queries, p50 / p99 for the small ones.
 */
#include <curl/curl.h>
#include <duckdb.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/gen.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define DAY_MS 86400000LL
#define MAX_DAYS 3660          /* ten years of day files at most */
#define DAY_BUF (256 * 1024)   /* bytes buffered per day before a write */
#define MAX_REPS 1000
#define MAX_SMALL 100000

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "query_direct: %s: %s\n", what, msg);
	exit(1);
}

static long num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0)
		die(what, "expected a non-negative number");
	return v;
}

static double now_s(void)
{
	return (double)time_mono_ns() / 1e9;
}

/* ---- prepare: day files in the raw zone ------------------------------ */

struct dayfile {
	int fd;                /* -1: none open */
	uint64_t written;      /* bytes in the open file */
	struct buf pending;    /* bytes not yet written */
	char dir[512];
};

static unsigned file_seq;

static void day_flush(struct dayfile *d, uint64_t cap)
{
	char err[TN_ERRLEN], path[600];
	if (d->pending.len == 0)
		return;
	if (d->fd >= 0 && d->written + d->pending.len > cap && d->written > 0) {
		os_close(d->fd);
		d->fd = -1;
	}
	if (d->fd < 0) {
		snprintf(path, sizeof path, "%s/000000-%06u.json", d->dir, ++file_seq);
		if (os_mkdir_p(d->dir, 0755, err))
			die("mkdir", err);
		d->fd = os_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, err);
		if (d->fd < 0)
			die("open", err);
		d->written = 0;
	}
	if (os_write_all(d->fd, d->pending.data, d->pending.len, d->dir, err))
		die("write", err);
	d->written += d->pending.len;
	buf_reset(&d->pending);
}

/* Index of the day of administered_at in line, or -1. */
static long day_of(const char *line, size_t n, int64_t start_ms)
{
	static const char key[] = "\"administered_at\":\"";
	const char *p = memmem(line, n, key, sizeof key - 1);
	int64_t ms;
	if (!p || (size_t)(line + n - p) < sizeof key - 1 + 10)
		return -1;
	if (time_parse(p + sizeof key - 1, 10, &ms))
		return -1;
	return (long)((ms - start_ms) / DAY_MS);
}

static int cmd_prepare(int argc, char **argv)
{
	if (argc != 8)
		die("usage", "prepare LAKE EVENTS SEED START DAYS FILE_MB");
	const char *lake = argv[2];
	long events = num(argv[3], "EVENTS"), seed = num(argv[4], "SEED");
	long days = num(argv[6], "DAYS"), file_mb = num(argv[7], "FILE_MB");
	int64_t start_ms;
	if (time_parse(argv[5], strlen(argv[5]), &start_ms))
		die("START", "expected a date such as 2026-01-01");
	if (days < 1 || days > MAX_DAYS || file_mb < 1)
		die("usage", "DAYS must be 1..3660 and FILE_MB at least 1");
	uint64_t cap = (uint64_t)file_mb << 20;
	struct dayfile *d = xcalloc((size_t)days, sizeof *d);
	for (long i = 0; i < days; i++) {
		struct utc u;
		time_utc(start_ms + i * DAY_MS, &u);
		d[i].fd = -1;
		buf_init(&d[i].pending, 0);
		snprintf(d[i].dir, sizeof d[i].dir, "%s/01-raw-data-zone/immunizations/%04d/%02d/%02d",
			 lake, u.year, u.month, u.day);
	}
	struct gen g;
	struct buf line = BUF_INIT(0);
	uint64_t bytes = 0;
	gen_init(&g, (uint64_t)seed, start_ms, days * DAY_MS);
	for (long i = 0; i < events; i++) {
		buf_reset(&line);
		if (gen_immunization(&g, &line))
			die("gen", "event too big");
		long k = day_of(line.data, line.len, start_ms);
		if (k < 0 || k >= days)
			die("gen", "administered_at outside the window");
		buf_append(&d[k].pending, line.data, line.len);
		bytes += line.len;
		if (d[k].pending.len >= DAY_BUF)
			day_flush(&d[k], cap);
	}
	for (long i = 0; i < days; i++) {
		day_flush(&d[i], cap);
		if (d[i].fd >= 0)
			os_close(d[i].fd);
		buf_release(&d[i].pending);
	}
	buf_release(&line);
	free(d);
	printf("events %ld\nbytes %llu\nfiles %u\n", events, (unsigned long long)bytes, file_seq);
	return 0;
}

/* ---- DuckDB ----------------------------------------------------------- */

static duckdb_database db;
static duckdb_connection con;

static void db_open(void)
{
	if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess)
		die("duckdb", "cannot open an in-memory database");
}

static void db_close(void)
{
	duckdb_disconnect(&con);
	duckdb_close(&db);
}

/* Runs sql; dies on an error (set-up statements only). */
static void db_exec(const char *sql)
{
	duckdb_result r;
	if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
		fprintf(stderr, "query_direct: in: %.2000s\n", sql);
		die("duckdb", duckdb_result_error(&r));
	}
	duckdb_destroy_result(&r);
}

/* The first value of sql's result as text (caller frees), or NULL. */
static char *db_scalar(const char *sql)
{
	duckdb_result r;
	char *v = NULL;
	if (duckdb_query(con, sql, &r) != DuckDBSuccess)
		die("duckdb", duckdb_result_error(&r));
	if (duckdb_row_count(&r) > 0 && duckdb_column_count(&r) > 0) {
		char *s = duckdb_value_varchar(&r, 0, 0);
		if (s) {
			v = xstrdup(s);
			duckdb_free(s);
		}
	}
	duckdb_destroy_result(&r);
	return v;
}

/*
 * Runs a benchmarked statement and walks its result; returns the row
 * count, or -1 with msg set.
 */
static long db_run(const char *sql, char *msg, size_t n)
{
	duckdb_result r;
	long rows = 0;
	if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
		snprintf(msg, n, "%s", duckdb_result_error(&r));
		duckdb_destroy_result(&r);
		return -1;
	}
	for (;;) {
		duckdb_data_chunk c = duckdb_fetch_chunk(r);
		if (!c)
			break;
		rows += (long)duckdb_data_chunk_get_size(c);
		duckdb_destroy_data_chunk(&c);
	}
	duckdb_destroy_result(&r);
	return rows;
}

static char *read_text(const char *path)
{
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	if (os_read_file(path, 1 << 20, &b, err))
		die("read", err);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		buf_truncate(&b, b.len - 1);
	return buf_detach(&b, NULL);
}

/* The raw view: every day folder, year / month / day from the path. */
static void view_raw(const char *lake, const char *cols)
{
	struct buf b = BUF_INIT(0);
	db_exec("CREATE SCHEMA IF NOT EXISTS raw");
	buf_printf(&b,
		   "CREATE OR REPLACE VIEW raw.immunizations AS SELECT * EXCLUDE (filename), "
		   "CAST(regexp_extract(filename, '/(\\d{4})/\\d\\d/\\d\\d/[^/]*$', 1) AS INTEGER) AS year, "
		   "CAST(regexp_extract(filename, '/\\d{4}/(\\d\\d)/\\d\\d/[^/]*$', 1) AS INTEGER) AS month, "
		   "CAST(regexp_extract(filename, '/\\d{4}/\\d\\d/(\\d\\d)/[^/]*$', 1) AS INTEGER) AS day "
		   "FROM read_json('%s/01-raw-data-zone/immunizations/*/*/*/*.json', format='auto', "
		   "hive_partitioning=false, filename=true, columns=%s)",
		   lake, cols);
	db_exec(b.data);
	buf_release(&b);
}

/* ---- derive: mart (Parquet) and master (CSV) -------------------------- */

static int cmd_derive(int argc, char **argv)
{
	if (argc != 4)
		die("usage", "derive LAKE RAW_COLUMNS");
	const char *lake = argv[2];
	char *cols = read_text(argv[3]);
	char err[TN_ERRLEN];
	struct buf b = BUF_INIT(0);
	db_open();
	view_raw(lake, cols);

	/*
	 * Mart: one Parquet file per month, its rows in day order (the raw
	 * files' path order, which a COPY into one file keeps; FILE_SIZE_BYTES
	 * would interleave row groups and defeat their min/max statistics).
	 */
	char *tmp = xasprintf("%s/warehouse/mart/.tmp-immunizations", lake);
	char *mart = xasprintf("%s/warehouse/mart/immunizations", lake);
	if (os_exists(mart))
		die("derive", "the mart table exists already (start from a fresh lake)");
	if (os_mkdir_p(tmp, 0755, err))
		die("mkdir", err);
	buf_printf(&b,
		   "SELECT DISTINCT CAST(regexp_extract(file, '/(\\d{4})/\\d\\d/\\d\\d/[^/]*$', 1) "
		   "AS INTEGER) AS y, CAST(regexp_extract(file, '/\\d{4}/(\\d\\d)/\\d\\d/[^/]*$', 1) "
		   "AS INTEGER) AS m FROM glob('%s/01-raw-data-zone/immunizations/*/*/*/*.json') "
		   "ORDER BY y, m",
		   lake);
	duckdb_result months;
	if (duckdb_query(con, b.data, &months) != DuckDBSuccess)
		die("duckdb", duckdb_result_error(&months));
	double t0 = now_s();
	for (idx_t i = 0; i < duckdb_row_count(&months); i++) {
		int y = duckdb_value_int32(&months, 0, i), m = duckdb_value_int32(&months, 1, i);
		buf_reset(&b);
		buf_printf(&b,
			   "COPY (SELECT * FROM raw.immunizations WHERE year = %d AND month = %d) "
			   "TO '%s/data_%04d_%02d.parquet' (FORMAT parquet, COMPRESSION zstd)",
			   y, m, tmp, y, m);
		db_exec(b.data);
	}
	duckdb_destroy_result(&months);
	fprintf(stderr, "query_direct: mart written in %.1f s\n", now_s() - t0);
	if (os_rename(tmp, mart, err))
		die("rename", err);

	/* Master: one row per CVX code, with a category derived from the name. */
	char *mdir = xasprintf("%s/03-master-data-zone/vaccines", lake);
	char *mtmp = xasprintf("%s/.tmp-vaccines.csv", mdir);
	char *mcsv = xasprintf("%s/vaccines.csv", mdir);
	if (os_mkdir_p(mdir, 0755, err))
		die("mkdir", err);
	buf_reset(&b);
	buf_printf(&b,
		   "COPY (SELECT cvx_code, min(vaccine_name) AS vaccine_name, "
		   "min(manufacturer) AS manufacturer, CASE "
		   "WHEN min(vaccine_name) ILIKE '%%influenza%%' THEN 'influenza' "
		   "WHEN min(vaccine_name) ILIKE '%%covid%%' THEN 'covid-19' "
		   "WHEN min(vaccine_name) ILIKE '%%hpv%%' THEN 'hpv' "
		   "WHEN min(vaccine_name) ILIKE '%%zoster%%' THEN 'zoster' "
		   "WHEN min(vaccine_name) ILIKE '%%pneumococcal%%' THEN 'pneumococcal' "
		   "WHEN min(vaccine_name) ILIKE '%%meningococcal%%' THEN 'meningococcal' "
		   "WHEN min(vaccine_name) ILIKE '%%dtap%%' OR min(vaccine_name) ILIKE '%%tdap%%' "
		   "THEN 'diphtheria-tetanus-pertussis' "
		   "WHEN min(vaccine_name) ILIKE 'hep %%' THEN 'hepatitis' "
		   "ELSE 'other childhood' END AS category "
		   "FROM read_parquet('%s/*.parquet') GROUP BY cvx_code ORDER BY cvx_code) "
		   "TO '%s' (FORMAT csv, HEADER true, FORCE_QUOTE *)",
		   mart, mtmp);
	db_exec(b.data);
	if (os_rename(mtmp, mcsv, err))
		die("rename", err);
	db_close();
	buf_release(&b);
	free(cols);
	free(tmp);
	free(mart);
	free(mdir);
	free(mtmp);
	free(mcsv);
	return 0;
}

/* ---- tarn over HTTP ----------------------------------------------------- */

static CURL *http;
static const char *base_url;
static long http_connects;   /* new connections opened during measured calls */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static void http_open(const char *url, const char *user, const char *pw)
{
	static char userpwd[512];
	base_url = url;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		die("curl", "init failed");
	http = curl_easy_init();
	if (!http)
		die("curl", "init failed");
	snprintf(userpwd, sizeof userpwd, "%s:%s", user, pw);
	curl_easy_setopt(http, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(http, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(http, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(http, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(http, CURLOPT_TIMEOUT, 3600L);
	curl_easy_setopt(http, CURLOPT_NOSIGNAL, 1L);
}

/* One request on the shared handle; returns the HTTP status, body in out. */
static long http_do(const char *path, const char *post, struct buf *out, double *secs)
{
	static struct curl_slist *hdr;
	char url[1024];
	long status = 0, conns = 0;
	if (!hdr)
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(url, sizeof url, "%s%s", base_url, path);
	buf_reset(out);
	curl_easy_setopt(http, CURLOPT_URL, url);
	curl_easy_setopt(http, CURLOPT_WRITEDATA, out);
	if (post) {
		curl_easy_setopt(http, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(http, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(http, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(http, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(http, CURLOPT_HTTPGET, 1L);
	}
	double t0 = now_s();
	CURLcode rc = curl_easy_perform(http);
	*secs = now_s() - t0;
	if (rc != CURLE_OK)
		die("http", curl_easy_strerror(rc));
	curl_easy_getinfo(http, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(http, CURLINFO_NUM_CONNECTS, &conns);
	http_connects += conns;
	return status;
}

struct tarn_result {
	long rows;            /* -1 on an error */
	char msg[512];        /* the error */
	double files, files_pruned, bytes, planning_ms, execution_ms, queued_ms;
};

static double stat_num(json_t *stats, const char *k)
{
	json_t *v = json_object_get(stats, k);
	return json_is_number(v) ? json_number_value(v) : -1;
}

/* POST /v1/query {"sql": sql}: time in *secs, figures in res. */
static void tarn_query(const char *sql, struct tarn_result *res, double *secs)
{
	struct buf out = BUF_INIT(0);
	if (!http) {  /* direct-only run (URL "-") */
		memset(res, 0, sizeof *res);
		*secs = 0;
		return;
	}
	json_t *doc = json_pack("{s:s}", "sql", sql);
	char *req = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	long status = http_do("/v1/query", req, &out, secs);
	free(req);
	memset(res, 0, sizeof *res);
	json_error_t je;
	doc = json_loadb(out.data, out.len, 0, &je);
	if (status != 200 || !doc) {
		json_t *m = json_object_get(json_object_get(doc, "error"), "message");
		snprintf(res->msg, sizeof res->msg, "HTTP %ld: %.400s", status,
			 json_is_string(m) ? json_string_value(m) : out.data);
		res->rows = -1;
	} else {
		json_t *st = json_object_get(doc, "stats");
		res->rows = (long)json_array_size(json_object_get(doc, "rows"));
		res->files = stat_num(st, "files");
		res->files_pruned = stat_num(st, "files_pruned");
		res->bytes = stat_num(st, "bytes_scanned");
		res->planning_ms = stat_num(st, "planning_ms");
		res->execution_ms = stat_num(st, "execution_ms");
		res->queued_ms = stat_num(st, "queued_ms");
	}
	json_decref(doc);
	buf_release(&out);
}

/* ---- bench ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), nearest rank; sorts v. */
static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int i = (int)(q * n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int n_over1s, n_met5, n_small, n_met3;  /* for the summary line */

struct query {
	const char *label;
	char *sql;
};

static const char *fmt_bytes(double b, char *out, size_t n)
{
	if (b < 0)
		snprintf(out, n, "?");
	else if (b >= 1e9)
		snprintf(out, n, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(out, n, "%.1f MB", b / 1e6);
	else
		snprintf(out, n, "%.0f kB", b / 1e3);
	return out;
}

static void md_sql(const char *sql)
{
	for (const char *p = sql; *p; p++)
		if (*p == '|')
			fputs("\\|", stdout);
		else
			putchar(*p);
}

/*
 * Runs one large query: warm-up on both sides, then reps alternating.  A
 * side that fails is reported and the other is still timed.
 */
static void bench_large(const struct query *q, int reps)
{
	double *tt = xcalloc((size_t)reps, sizeof *tt), *dt = xcalloc((size_t)reps, sizeof *dt);
	double *tp = xcalloc((size_t)reps, sizeof *tp), *te = xcalloc((size_t)reps, sizeof *te);
	struct tarn_result tr, first;
	char msg[512] = "", b1[32];
	double secs;
	tarn_query(q->sql, &first, &secs);
	long drows = db_run(q->sql, msg, sizeof msg);
	bool t_ok = first.rows >= 0, d_ok = drows >= 0;
	fprintf(stderr, "query_direct: %s: warm-up tarn %.3f s (%ld rows), direct (%ld rows)\n",
		q->label, secs, first.rows, drows);
	tr = first;
	for (int r = 0; r < reps; r++) {
		if (t_ok) {
			tarn_query(q->sql, &tr, &tt[r]);
			if (tr.rows != first.rows)
				die(q->label, tr.rows < 0 ? tr.msg : "tarn's row count changed between runs");
			tp[r] = tr.planning_ms;
			te[r] = tr.execution_ms;
		}
		if (d_ok) {
			double t0 = now_s();
			long n = db_run(q->sql, msg, sizeof msg);
			dt[r] = now_s() - t0;
			if (n != drows)
				die(q->label, n < 0 ? msg : "DuckDB's row count changed between runs");
		}
	}
	double tm = median(tt, reps), dm = median(dt, reps), ratio = tm / dm;
	printf("| %s | `", q->label);
	md_sql(q->sql);
	printf("` | ");
	if (t_ok)
		printf("%.3f | ", tm);
	else
		printf("**error**: %s | ", first.msg);
	if (d_ok)
		printf("%.3f | ", dm);
	else
		printf("**error**: %s | ", msg);
	if (!t_ok || !d_ok) {
		printf("| | %ld | | | **error** |\n", t_ok ? first.rows : drows);
		goto out;
	}
	const char *verdict = dm >= 1.0 ? (ratio <= 1.05 ? "met" : "**missed**") : "n/a (< 1 s)";
	n_over1s += dm >= 1.0;
	n_met5 += dm >= 1.0 && ratio <= 1.05;
	printf("%.3f | %+.1f | %ld%s | %.0f of %.0f, %s | %.0f / %.0f | %s |\n", ratio,
	       (tm - dm) * 1000, first.rows,
	       first.rows == drows ? "" : " **(DuckDB: different)**", tr.files,
	       tr.files + (tr.files_pruned > 0 ? tr.files_pruned : 0),
	       fmt_bytes(tr.bytes, b1, sizeof b1), median(tp, reps), median(te, reps), verdict);
out:
	fflush(stdout);
	free(tt);
	free(dt);
	free(tp);
	free(te);
}

/* A small query n times on each side (alternating): p50 / p99 in ms. */
static void bench_small(const char *label, const char *sql, int n, double floor_p50)
{
	double *tt = xcalloc((size_t)n, sizeof *tt), *dt = xcalloc((size_t)n, sizeof *dt);
	double *tp = xcalloc((size_t)n, sizeof *tp), *te = xcalloc((size_t)n, sizeof *te);
	struct tarn_result tr;
	char msg[512];
	long before = http_connects;
	for (int i = 0; i < 10; i++) {  /* warm-up */
		double s;
		tarn_query(sql, &tr, &s);
		if (tr.rows < 0 || db_run(sql, msg, sizeof msg) < 0) {
			printf("| %s | `%s` | %s | | | | | **error** |\n", label, sql,
			       tr.rows < 0 ? tr.msg : msg);
			goto out;
		}
	}
	before = http_connects;
	for (int i = 0; i < n; i++) {
		tarn_query(sql, &tr, &tt[i]);
		if (tr.rows < 0)
			die(label, tr.msg);
		tp[i] = tr.planning_ms;
		te[i] = tr.execution_ms;
		double t0 = now_s();
		if (db_run(sql, msg, sizeof msg) < 0)
			die(label, msg);
		dt[i] = now_s() - t0;
	}
	double t50 = quantile(tt, n, 0.5) * 1000, t99 = quantile(tt, n, 0.99) * 1000;
	double d50 = quantile(dt, n, 0.5) * 1000, d99 = quantile(dt, n, 0.99) * 1000;
	double over = t50 - d50;
	n_small++;
	n_met3 += over <= 3.0;
	printf("| %s | `%s` | %.2f / %.2f | %.2f / %.2f | **%.2f** | %.2f | %.0f / %.0f | %s |\n",
	       label, sql, t50, t99, d50, d99, over, t50 - floor_p50, quantile(tp, n, 0.5),
	       quantile(te, n, 0.5), over <= 3.0 ? "met" : "**missed**");
	if (http_connects != before)
		printf("\n(%ld new connections were opened during these %d requests.)\n",
		       http_connects - before, n);
	fflush(stdout);
out:
	free(tt);
	free(dt);
	free(tp);
	free(te);
}

static int cmd_bench(int argc, char **argv)
{
	if (argc != 12)
		die("usage", "bench LAKE COLS_DIR URL USER PASSWORD DAY REPS SMALL_REPS THREADS MEMORY");
	const char *lake = argv[2], *cols_dir = argv[3], *day = argv[7];
	int reps = (int)num(argv[8], "REPS"), small = (int)num(argv[9], "SMALL_REPS");
	const char *threads = argv[10], *memory = argv[11];
	int y, m, dd;
	if (reps < 1 || reps > MAX_REPS || small < 1 || small > MAX_SMALL)
		die("usage", "REPS must be 1..1000, SMALL_REPS 1..100000");
	if (sscanf(day, "%d-%d-%d", &y, &m, &dd) != 3)
		die("DAY", "expected YYYY-MM-DD");
	struct buf b = BUF_INIT(0);
	char path[1024];

	db_open();
	if (strcmp(threads, "-")) {
		buf_printf(&b, "SET threads = %ld", num(threads, "THREADS"));
		db_exec(b.data);
	}
	if (strcmp(memory, "-")) {
		buf_reset(&b);
		buf_printf(&b, "SET memory_limit = '%s'", memory);
		db_exec(b.data);
	}
	snprintf(path, sizeof path, "%s/raw.cols", cols_dir);
	char *raw_cols = read_text(path);
	snprintf(path, sizeof path, "%s/master.cols", cols_dir);
	char *master_cols = read_text(path);
	view_raw(lake, raw_cols);
	db_exec("CREATE SCHEMA IF NOT EXISTS master");
	db_exec("CREATE SCHEMA IF NOT EXISTS mart");
	buf_reset(&b);
	buf_printf(&b,
		   "CREATE OR REPLACE VIEW master.vaccines AS SELECT * FROM read_csv("
		   "'%s/03-master-data-zone/vaccines/vaccines.csv', auto_detect=false, header=true, "
		   "delim=',', quote='\"', escape='\"', columns=%s)",
		   lake, master_cols);
	db_exec(b.data);
	buf_reset(&b);
	buf_printf(&b,
		   "CREATE OR REPLACE VIEW mart.immunizations AS SELECT * FROM read_parquet("
		   "'%s/warehouse/mart/immunizations/*.parquet')",
		   lake);
	db_exec(b.data);
	char *th = db_scalar("SELECT current_setting('threads')");
	char *ml = db_scalar("SELECT current_setting('memory_limit')");
	printf("Direct DuckDB %s: threads %s, memory_limit %s.\n\n", duckdb_library_version(), th, ml);
	free(th);
	free(ml);

	/* The patient of the lookups: the first event of the filter day. */
	buf_reset(&b);
	buf_printf(&b,
		   "SELECT patient_id FROM raw.immunizations WHERE year = %d AND month = %d AND "
		   "day = %d LIMIT 1",
		   y, m, dd);
	char *patient = db_scalar(b.data);
	if (!patient)
		die("bench", "no event on the filter day");

	struct buf out = BUF_INIT(0);
	double secs, h50 = 0, h99 = 0;
	double *hz = xcalloc((size_t)small, sizeof *hz);
	long before = 0;
	if (strcmp(argv[4], "-")) {
		http_open(argv[4], argv[5], argv[6]);
		if (http_do("/healthz", NULL, &out, &secs) != 200)
			die("healthz", out.data);
		/* The floor: the same connection, no query. */
		for (int i = 0; i < 10; i++)
			http_do("/healthz", NULL, &out, &secs);
		before = http_connects;
		for (int i = 0; i < small; i++)
			if (http_do("/healthz", NULL, &out, &hz[i]) != 200)
				die("healthz", out.data);
		h50 = quantile(hz, small, 0.5) * 1000;
		h99 = quantile(hz, small, 0.99) * 1000;
	}
	printf("### Fixed overhead per small query (%d runs each, alternating, one keep-alive "
	       "connection)\n\n",
	       small);
	printf("Floor: `GET /healthz` on the same connection, p50 %.2f ms, p99 %.2f ms%s.\n\n", h50,
	       h99, http_connects != before ? " (new connections were opened!)" : "");
	printf("| query | SQL | tarn p50 / p99 ms | direct p50 / p99 ms | overhead p50 ms (tarn - "
	       "direct) | tarn p50 - healthz p50 ms | tarn planning / execution ms (p50 of its stats) | "
	       "overhead ≤ 3 ms |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---|\n");
	bench_small("constant", "SELECT 1", small, h50);
	bench_small("master lookup (22-row CSV)",
		    "SELECT vaccine_name, category FROM master.vaccines WHERE cvx_code = '208'",
		    small, h50);
	printf("\n");

	/* Large queries. */
	struct query qs[] = {
		{ "count by vaccine and month, raw NDJSON",
		  "SELECT vaccine_name, month, count(*) AS events FROM raw.immunizations "
		  "GROUP BY vaccine_name, month ORDER BY vaccine_name, month" },
		{ "count by vaccine and month, mart Parquet",
		  "SELECT vaccine_name, month, count(*) AS events FROM mart.immunizations "
		  "GROUP BY vaccine_name, month ORDER BY vaccine_name, month" },
		{ "patient lookup, raw NDJSON", NULL },
		{ "patient lookup, mart Parquet", NULL },
		{ "one day (pruning), raw NDJSON", NULL },
		{ "one day (row groups), mart Parquet", NULL },
		{ "join with master, raw NDJSON",
		  "SELECT v.category, count(*) AS events, count(DISTINCT i.patient_id) AS patients "
		  "FROM raw.immunizations i JOIN master.vaccines v ON i.cvx_code = v.cvx_code "
		  "GROUP BY v.category ORDER BY v.category" },
		{ "join with master, mart Parquet",
		  "SELECT v.category, count(*) AS events, count(DISTINCT i.patient_id) AS patients "
		  "FROM mart.immunizations i JOIN master.vaccines v ON i.cvx_code = v.cvx_code "
		  "GROUP BY v.category ORDER BY v.category" },
	};
	size_t nq = sizeof qs / sizeof qs[0];
	for (size_t i = 0; i < nq; i++)
		qs[i].sql = qs[i].sql ? xstrdup(qs[i].sql) : NULL;
	qs[2].sql = xasprintf("SELECT * FROM raw.immunizations WHERE patient_id = '%s' "
			      "ORDER BY administered_at, event_id", patient);
	qs[3].sql = xasprintf("SELECT * FROM mart.immunizations WHERE patient_id = '%s' "
			      "ORDER BY administered_at, event_id", patient);
	qs[4].sql = xasprintf("SELECT count(*) AS events, count(DISTINCT patient_id) AS patients "
			      "FROM raw.immunizations WHERE year = %d AND month = %d AND day = %d",
			      y, m, dd);
	qs[5].sql = xasprintf("SELECT count(*) AS events, count(DISTINCT patient_id) AS patients "
			      "FROM mart.immunizations WHERE year = %d AND month = %d AND day = %d",
			      y, m, dd);
	printf("### Queries (median of %d runs after one warm-up, alternating tarn / direct)\n\n",
	       reps);
	printf("| query | SQL | tarn s | direct s | tarn / direct | difference ms | rows | files "
	       "read by tarn, bytes | tarn planning / execution ms (medians of its stats) | within 5%% (queries over 1 s) "
	       "|\n");
	printf("|---|---|---:|---:|---:|---:|---:|---|---:|---|\n");
	fflush(stdout);
	for (size_t i = 0; i < nq; i++)
		bench_large(&qs[i], reps);
	for (size_t i = 0; i < nq; i++)
		free(qs[i].sql);

	printf("\nSummary: queries over 1 s within 5%% of direct DuckDB: %d of %d; small queries "
	       "with overhead p50 ≤ 3 ms: %d of %d.\n",
	       n_met5, n_over1s, n_met3, n_small);
	if (http) {
		curl_easy_cleanup(http);
		curl_global_cleanup();
	}
	db_close();
	free(hz);
	free(patient);
	free(raw_cols);
	free(master_cols);
	buf_release(&out);
	buf_release(&b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "prepare"))
		return cmd_prepare(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "derive"))
		return cmd_derive(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc, argv);
	fprintf(stderr, "usage: query_direct prepare|derive|bench ... (see bench/query.sh)\n");
	return 2;
}

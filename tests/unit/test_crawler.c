/*
 * test_crawler.c - the crawler on real files: grouping into tables,
 * partitions of both styles, every format with and without compression,
 * bad files, schema evolution, incremental re-crawls that read nothing,
 * crawl targets, removed files, one crawl at a time.
 *
 * Files are written straight to disk (as an upload or the flusher would
 * leave them); compressed and Parquet files are made with DuckDB's COPY.
 */
#include <duckdb.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "store/store.h"
#include "harness.h"

struct fx {
	struct store *s;
	struct meta *m;
	struct catalog *c;
	char root[512];
};

static void fx_open(struct fx *f)
{
	char err[TN_ERRLEN], path[600];
	memset(f, 0, sizeof *f);
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(f->root, sizeof f->root, "%s", store_root(f->s));
	snprintf(path, sizeof path, "%s/.tarn", f->root);
	CHECK_INT(os_mkdir_p(path, 0700, err), 0);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", f->root);
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(catalog_open(f->s, f->m, &f->c, err), 0);
}

static void fx_close(struct fx *f)
{
	catalog_close(f->c);
	meta_close(f->m);
	store_close(f->s);
}

static void abs_path(const struct fx *f, const char *key, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", f->root, key);
}

/* Writes a file at key (folders created), as an upload would. */
static void put(const struct fx *f, const char *key, const void *p, size_t n)
{
	char path[1200], dir[1200], err[TN_ERRLEN];
	abs_path(f, key, path, sizeof path);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = 0;
	CHECK_INT(os_mkdir_p(dir, 0750, err), 0);
	CHECK_INT(os_write_file_atomic(path, p, n, 0640, err), 0);
}

static void puts_file(const struct fx *f, const char *key, const char *s)
{
	put(f, key, s, strlen(s));
}

/* Runs SQL in a scratch DuckDB (COPY ... TO makes Parquet and compressed files). */
static void duck(const char *sql)
{
	duckdb_database db;
	duckdb_connection con;
	duckdb_result r;
	CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
	CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
	if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
		fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&r));
		CHECK(0);
	}
	duckdb_destroy_result(&r);
	duckdb_disconnect(&con);
	duckdb_close(&db);
}

/* COPY (query) TO the file at key with options. */
static void copy_to(const struct fx *f, const char *key, const char *query, const char *opts)
{
	char path[1200], dir[1200], err[TN_ERRLEN];
	abs_path(f, key, path, sizeof path);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = 0;
	CHECK_INT(os_mkdir_p(dir, 0750, err), 0);
	char *sql = xasprintf("COPY (%s) TO '%s' (%s)", query, path, opts);
	duck(sql);
	free(sql);
}

static void crawl(struct fx *f, const char *target, int flags, struct crawl_report *r)
{
	char err[TN_ERRLEN];
	struct crawl_opts o = { target, flags };
	int rc = catalog_crawl(f->c, &o, r, err);
	if (rc)
		fprintf(stderr, "crawl: %s\n", err);
	CHECK_INT(rc, 0);
}

static void describe(struct fx *f, const char *db, const char *name, struct cat_table *t)
{
	char err[TN_ERRLEN];
	int rc = catalog_table_get(f->c, db, name, t, err);
	if (rc)
		fprintf(stderr, "describe: %s\n", err);
	CHECK_INT(rc, 0);
}

static const struct cat_column *col(const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return &t->cols[i];
	return NULL;
}

static const char *col_type(const struct cat_table *t, const char *name)
{
	const struct cat_column *c = col(t, name);
	return c ? c->type : "(missing)";
}

/* n NDJSON records {"id": base+i, "name": "x<i>", "score": i*1.5} */
static char *records(int base, int n)
{
	struct buf b = BUF_INIT(0);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "{\"id\":%d,\"name\":\"x%d\",\"score\":%d.5}\n", base + i, i, i);
	return buf_detach(&b, NULL);
}

static bool bad_has(const struct fx *f, const char *path, const char *reason_part)
{
	struct cat_bad_list l;
	char err[TN_ERRLEN];
	bool found = false;
	CHECK_INT(catalog_bad_files(f->c, NULL, &l, err), 0);
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].path, path)) {
			if (!strstr(l.v[i].reason, reason_part))
				fprintf(stderr, "reason of %s: %s\n", path, l.v[i].reason);
			found = strstr(l.v[i].reason, reason_part) != NULL;
		}
	cat_bad_list_release(&l);
	return found;
}

/* Counts rows of a table through catalog_scan_sql in a DuckDB of the test. */
static long long scan_count(struct fx *f, const struct cat_table *t, const char *extra_where)
{
	char err[TN_ERRLEN];
	struct cat_file_list fl;
	CHECK_INT(catalog_table_files(f->c, t, NULL, NULL, &fl, err), 0);
	struct buf sql = BUF_INIT(0);
	buf_puts(&sql, "SELECT count(*) FROM (");
	CHECK_INT(catalog_scan_sql(t, f->root, fl.v, fl.n, NULL, &sql, err), 0);
	buf_printf(&sql, ") %s", extra_where ? extra_where : "");
	duckdb_database db;
	duckdb_connection con;
	duckdb_result r;
	CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
	CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
	if (duckdb_query(con, sql.data, &r) != DuckDBSuccess) {
		fprintf(stderr, "scan: %s\nsql: %s\n", duckdb_result_error(&r), sql.data);
		CHECK(0);
	}
	long long n = duckdb_value_int64(&r, 0, 0);
	duckdb_destroy_result(&r);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	buf_release(&sql);
	cat_file_list_release(&fl);
	return n;
}

TEST(ndjson_date_partitions)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	for (int d = 14; d <= 16; d++) {
		char key[128], *rec = records(d * 100, 5);
		snprintf(key, sizeof key, "01-raw-data-zone/events/2026/04/%02d/120000-%d.json", d, d);
		puts_file(&f, key, rec);
		free(rec);
	}
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.tables_new, 1);
	CHECK_INT(r.files_seen, 3);
	CHECK_INT(r.files_read, 3);
	CHECK_INT(r.files_bad, 0);
	CHECK_INT(r.ntables, 1);
	CHECK_STR(r.tables[0].name, "events");
	crawl_report_release(&r);
	describe(&f, "bronze", "events", &t);
	CHECK_STR(t.db, "raw");
	CHECK_STR(t.format, "json");
	CHECK_STR(t.compression, "none");
	CHECK_STR(t.location, "01-raw-data-zone/events/");
	CHECK_INT(t.files, 3);
	CHECK_INT(t.rows, 15);
	CHECK_INT(t.partitions, 3);
	CHECK_INT(t.schema_version, 1);
	CHECK_INT(t.npkeys, 3);
	CHECK_STR(t.pkeys[0].name, "year");
	CHECK_STR(t.pkeys[1].name, "month");
	CHECK_STR(t.pkeys[2].name, "day");
	CHECK_STR(t.pkeys[2].type, "INTEGER");
	CHECK(t.pkeys[0].date);
	CHECK_STR(col_type(&t, "id"), "BIGINT");
	CHECK_STR(col_type(&t, "name"), "VARCHAR");
	CHECK_STR(col_type(&t, "score"), "DOUBLE");
	CHECK(col(&t, "day") && col(&t, "day")->partition);
	CHECK_INT(t.nversions, 1);
	CHECK(strstr(t.versions[0].changes, "created with 3 columns"));
	CHECK(strstr(t.versions[0].changes, "partitioned by year, month, day"));
	CHECK_INT(scan_count(&f, &t, NULL), 15);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(every_format_and_compression)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	char err[TN_ERRLEN];
	fx_open(&f);
	const char *q = "SELECT i AS id, 'n' || i AS name, DATE '2026-01-01' + CAST(i AS INTEGER) AS day FROM range(10) t(i)";
	/* JSON plain, gzip, zstd in one table */
	copy_to(&f, "01-raw-data-zone/j/a.json", q, "FORMAT json");
	copy_to(&f, "01-raw-data-zone/j/b.json.gz", q, "FORMAT json, COMPRESSION gzip");
	copy_to(&f, "01-raw-data-zone/j/c.json.zst", q, "FORMAT json, COMPRESSION zstd");
	copy_to(&f, "01-raw-data-zone/j/d.json", q, "FORMAT json, ARRAY true");
	/* CSV with a header, gzip and zstd, hive partitions; a TSV without a header */
	copy_to(&f, "04-user-drop-zone/c/region=eu/a.csv", q, "FORMAT csv, HEADER true");
	copy_to(&f, "04-user-drop-zone/c/region=us/b.csv.gz", q, "FORMAT csv, HEADER true, COMPRESSION gzip");
	copy_to(&f, "04-user-drop-zone/c/region=us/c.csv.zst", q, "FORMAT csv, HEADER true, COMPRESSION zstd");
	copy_to(&f, "04-user-drop-zone/t/x.tsv", "SELECT i, 'v' || i FROM range(7) t(i)",
		"FORMAT csv, HEADER false, DELIMITER '\t'");
	/* Parquet, zstd inside, hive partition with a string value */
	copy_to(&f, "warehouse/mart/p/kind=a/p1.parquet", q, "FORMAT parquet, COMPRESSION zstd");
	copy_to(&f, "warehouse/mart/p/kind=b/p2.parquet", q, "FORMAT parquet, COMPRESSION zstd");
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_bad, 0);
	CHECK_INT(r.tables_new, 4);
	CHECK_INT(r.files_read, 10);
	crawl_report_release(&r);

	describe(&f, "raw", "j", &t);
	CHECK_STR(t.format, "json");
	CHECK_STR(t.compression, "mixed");
	CHECK_INT(t.rows, 40);
	CHECK_STR(col_type(&t, "id"), "BIGINT");
	CHECK_STR(col_type(&t, "day"), "DATE");
	CHECK_INT(scan_count(&f, &t, NULL), 40);
	cat_table_release(&t);

	describe(&f, "drop", "c", &t);
	CHECK_STR(t.format, "csv");
	CHECK_INT(t.rows, 30);
	CHECK_INT(t.npkeys, 1);
	CHECK_STR(t.pkeys[0].name, "region");
	CHECK_STR(t.pkeys[0].type, "VARCHAR");
	CHECK(!t.pkeys[0].date);
	CHECK_STR(col_type(&t, "id"), "BIGINT");
	CHECK_STR(col_type(&t, "day"), "DATE");
	CHECK(strstr(t.options, "\"header\":true"));
	CHECK_INT(scan_count(&f, &t, NULL), 30);
	/* the partition filter sees one value per partition */
	struct cat_file_list fl;
	CHECK_INT(catalog_table_files(f.c, &t, NULL, NULL, &fl, err), 0);
	CHECK_INT(fl.n, 3);
	CHECK_STR(fl.v[0].pvals[0], "eu");
	CHECK_STR(fl.v[2].pvals[0], "us");
	cat_file_list_release(&fl);
	cat_table_release(&t);

	describe(&f, "drop", "t", &t);
	CHECK_INT(t.rows, 7);
	CHECK_STR(col_type(&t, "column0"), "BIGINT");
	CHECK(strstr(t.options, "\"header\":false"));
	CHECK_INT(scan_count(&f, &t, NULL), 7);
	cat_table_release(&t);

	describe(&f, "gold", "p", &t);
	CHECK_STR(t.db, "mart");
	CHECK_STR(t.format, "parquet");
	CHECK_STR(t.compression, "zstd");
	CHECK_INT(t.rows, 20);
	CHECK_STR(col_type(&t, "day"), "DATE");
	CHECK_STR(col_type(&t, "kind"), "VARCHAR");
	CHECK_INT(scan_count(&f, &t, NULL), 20);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(bad_files_are_recorded_and_skipped)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	char *good = records(0, 20);
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/good.json", good);
	/* truncated: cut in the middle of the last record */
	put(&f, "01-raw-data-zone/s/2026/04/16/trunc.json", good, strlen(good) - 9);
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/empty.json", "");
	unsigned char junk[3000];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 7919 + 13);
	put(&f, "01-raw-data-zone/s/2026/04/16/binary.json", junk, sizeof junk);
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/malformed.json", "{\"id\": 1}\n{\"id\" 2}\n");
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/notgzip.json.gz", "{\"id\":1}\n");
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/blank.json", "\n\n");
	put(&f, "01-raw-data-zone/s/2026/04/16/junk.parquet", junk, sizeof junk);
	put(&f, "01-raw-data-zone/s/2026/04/16/junk.csv", junk, sizeof junk);
	/* a file outside the table's partition layout */
	puts_file(&f, "01-raw-data-zone/s/stray.json", good);
	crawl(&f, "raw", 0, &r);
	CHECK_INT(r.files_seen, 10);
	CHECK_INT(r.files_bad, 9);
	CHECK_INT(r.nbad, 9);
	CHECK_INT(r.tables_new, 1);
	crawl_report_release(&r);
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/trunc.json", "invalid JSON"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/empty.json", "empty file"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/binary.json", "binary content"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/malformed.json", "Malformed JSON"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/notgzip.json.gz", "not gzip"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/blank.json", "no records"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/junk.parquet", "format parquet differs"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/2026/04/16/junk.csv", "format csv differs"));
	CHECK(bad_has(&f, "01-raw-data-zone/s/stray.json", "partition folders (none) differ"));
	describe(&f, "raw", "s", &t);
	CHECK_INT(t.files, 1);
	CHECK_INT(t.rows, 20);
	CHECK_INT(t.bad_files, 9);
	CHECK_INT(scan_count(&f, &t, NULL), 20);
	/* bad files leave nothing in the schema (a blank file reads as one "json" column) */
	CHECK_INT(t.ncols, 3 + 3);
	CHECK(!col(&t, "json"));
	cat_table_release(&t);
	/* A blank file on its own (a batch of one) adds no "json" column either. */
	puts_file(&f, "01-raw-data-zone/s/2026/04/17/blank2.json", "\n");
	crawl(&f, "raw", 0, &r);
	CHECK_INT(r.files_read, 1);
	CHECK_INT(r.files_bad, 1);
	crawl_report_release(&r);
	describe(&f, "raw", "s", &t);
	CHECK(!col(&t, "json"));
	CHECK_INT(t.schema_version, 1);
	cat_table_release(&t);
	/* Bad files are remembered: an incremental crawl does not read them again. */
	crawl(&f, "raw", 0, &r);
	CHECK_INT(r.files_read, 0);
	CHECK_INT(r.files_bad, 0);
	crawl_report_release(&r);
	/* A fixed file is read again and joins the table. */
	puts_file(&f, "01-raw-data-zone/s/2026/04/16/malformed.json", "{\"id\": 1}\n{\"id\": 2}\n");
	crawl(&f, "raw", 0, &r);
	CHECK_INT(r.files_read, 1);
	CHECK_INT(r.files_changed, 1);
	crawl_report_release(&r);
	CHECK(!bad_has(&f, "01-raw-data-zone/s/2026/04/16/malformed.json", ""));
	describe(&f, "raw", "s", &t);
	CHECK_INT(t.rows, 22);
	cat_table_release(&t);
	free(good);
	fx_close(&f);
}

TEST(bad_parquet_and_csv)
{
	struct fx f;
	struct crawl_report r;
	fx_open(&f);
	copy_to(&f, "warehouse/mart/p/ok.parquet", "SELECT 1 AS a", "FORMAT parquet");
	char path[1200];
	abs_path(&f, "warehouse/mart/p/ok.parquet", path, sizeof path);
	struct buf b = BUF_INIT(0);
	char err[TN_ERRLEN];
	CHECK_INT(os_read_file(path, 1 << 20, &b, err), 0);
	put(&f, "warehouse/mart/p/cut.parquet", b.data, b.len - 10);
	puts_file(&f, "warehouse/mart/p/fake.parquet", "PAR1 this is not parquet at all PAR1");
	buf_release(&b);
	puts_file(&f, "04-user-drop-zone/c/ok.csv", "a,b\n1,2\n3,4\n");
	unsigned char bin[64] = { 'a', ',', 'b', '\n', 0, 1, 2, 3 };
	put(&f, "04-user-drop-zone/c/nul.csv", bin, sizeof bin);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_bad, 3);
	crawl_report_release(&r);
	CHECK(bad_has(&f, "warehouse/mart/p/cut.parquet", "no PAR1 magic at its end"));
	CHECK(bad_has(&f, "warehouse/mart/p/fake.parquet", "invalid Parquet"));
	CHECK(bad_has(&f, "04-user-drop-zone/c/nul.csv", "NUL byte"));
	fx_close(&f);
}

TEST(schema_evolution_adds_and_widens_never_drops)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	puts_file(&f, "01-raw-data-zone/e/2026/04/01/a.json", "{\"a\":1,\"b\":2,\"s\":{\"x\":1}}\n");
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	/* a later file: new field c, b becomes a double, s gains a field */
	puts_file(&f, "01-raw-data-zone/e/2026/04/02/b.json",
		  "{\"a\":2,\"b\":2.5,\"c\":\"new\",\"s\":{\"x\":2,\"y\":\"q\"}}\n");
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_read, 1);
	CHECK_INT(r.tables_changed, 1);
	CHECK_INT(r.columns_added, 1);
	CHECK_INT(r.columns_widened, 2);
	CHECK_INT(r.tables[0].schema_version, 2);
	crawl_report_release(&r);
	describe(&f, "raw", "e", &t);
	CHECK_INT(t.schema_version, 2);
	CHECK_STR(col_type(&t, "b"), "DOUBLE");
	CHECK_STR(col_type(&t, "c"), "VARCHAR");
	CHECK_STR(col_type(&t, "s"), "STRUCT(\"x\" BIGINT, \"y\" VARCHAR)");
	CHECK(col(&t, "s.y") && col(&t, "s.y")->depth == 1);
	CHECK_INT(col(&t, "c")->added_version, 2);
	CHECK_INT(col(&t, "a")->added_version, 1);
	CHECK_INT(t.nversions, 2);
	CHECK(strstr(t.versions[1].changes, "added c VARCHAR"));
	CHECK(strstr(t.versions[1].changes, "widened b BIGINT -> DOUBLE"));
	CHECK(strstr(t.versions[1].changes, "added field s.y VARCHAR"));
	/* old rows read as null in the new column */
	CHECK_INT(scan_count(&f, &t, "WHERE c IS NULL"), 1);
	CHECK_INT(scan_count(&f, &t, "WHERE c = 'new'"), 1);
	cat_table_release(&t);
	/* a file without c and with b an integer: nothing is dropped or narrowed */
	puts_file(&f, "01-raw-data-zone/e/2026/04/03/c.json", "{\"a\":3,\"b\":7}\n");
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.tables_changed, 1); /* files changed */
	CHECK_INT(r.columns_added + r.columns_widened, 0);
	crawl_report_release(&r);
	describe(&f, "raw", "e", &t);
	CHECK_INT(t.schema_version, 2);
	CHECK_STR(col_type(&t, "b"), "DOUBLE");
	CHECK(col(&t, "c"));
	CHECK_INT(scan_count(&f, &t, NULL), 3);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(null_only_fields_take_a_later_type)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	puts_file(&f, "01-raw-data-zone/n/a.json", "{\"a\":1,\"maybe\":null}\n{\"a\":2,\"maybe\":null}\n");
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	describe(&f, "raw", "n", &t);
	CHECK_STR(col_type(&t, "maybe"), "JSON");
	cat_table_release(&t);
	puts_file(&f, "01-raw-data-zone/n/b.json", "{\"a\":3,\"maybe\":42}\n");
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	describe(&f, "raw", "n", &t);
	CHECK_STR(col_type(&t, "maybe"), "BIGINT");
	CHECK(strstr(t.versions[1].changes, "typed maybe BIGINT"));
	CHECK_INT(scan_count(&f, &t, "WHERE maybe = 42"), 1);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(recrawl_of_unchanged_tree_reads_no_file)
{
	struct fx f;
	struct crawl_report r;
	char key[128], path[1200], err[TN_ERRLEN];
	fx_open(&f);
	char *rec = records(0, 3);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof key, "01-raw-data-zone/many/2026/04/%02d/%03d.json", 1 + i % 28, i);
		puts_file(&f, key, rec);
	}
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_read, 200);
	CHECK_INT(r.files_new, 200);
	crawl_report_release(&r);
	struct cat_table t;
	describe(&f, "raw", "many", &t);
	int64_t first = t.last_crawl_ms;
	cat_table_release(&t);
	usleep(5000);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_seen, 200);
	CHECK_INT(r.files_read, 0);
	CHECK_INT(r.files_unchanged, 200);
	CHECK_INT(r.tables_changed, 0);
	CHECK_INT(r.dictionary_files, 0);
	crawl_report_release(&r);
	/* an unchanged table still records that it was crawled */
	describe(&f, "raw", "many", &t);
	CHECK(t.last_crawl_ms > first);
	cat_table_release(&t);
	/*
	 * Proof that nothing was read: overwrite a file with garbage of the
	 * same size and put its mtime back.  A crawler that read contents
	 * would find a bad file; this one must not notice.
	 */
	snprintf(key, sizeof key, "01-raw-data-zone/many/2026/04/%02d/%03d.json", 1 + 7 % 28, 7);
	abs_path(&f, key, path, sizeof path);
	struct stat st;
	CHECK_INT(stat(path, &st), 0);
	char *garbage = xmalloc(strlen(rec));
	memset(garbage, '#', strlen(rec));
	int fd = os_open(path, O_WRONLY, 0, err);
	CHECK(fd >= 0);
	CHECK_INT(os_pwrite_all(fd, garbage, strlen(rec), 0, path, err), 0);
	os_close(fd);
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	CHECK_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_read, 0);
	CHECK_INT(r.files_bad, 0);
	crawl_report_release(&r);
	/* Now its mtime moves: it is read, and it is bad. */
	struct timespec later[2] = { st.st_atim, { st.st_mtim.tv_sec + 5, 0 } };
	CHECK_INT(utimensat(AT_FDCWD, path, later, 0), 0);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_read, 1);
	CHECK_INT(r.files_changed, 1);
	CHECK_INT(r.files_bad, 1);
	crawl_report_release(&r);
	/* A full crawl reads everything again. */
	crawl(&f, NULL, CRAWL_FULL, &r);
	CHECK_INT(r.files_read, 200);
	crawl_report_release(&r);
	free(garbage);
	free(rec);
	fx_close(&f);
}

TEST(removed_files_are_forgotten)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	char path[1200], err[TN_ERRLEN];
	fx_open(&f);
	char *rec = records(0, 4);
	puts_file(&f, "01-raw-data-zone/r/2026/04/01/a.json", rec);
	puts_file(&f, "01-raw-data-zone/r/2026/04/02/b.json", rec);
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	abs_path(&f, "01-raw-data-zone/r/2026/04/02/b.json", path, sizeof path);
	CHECK_INT(os_unlink(path, err), 0);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_removed, 1);
	CHECK_INT(r.tables_changed, 1);
	crawl_report_release(&r);
	describe(&f, "raw", "r", &t);
	CHECK_INT(t.files, 1);
	CHECK_INT(t.rows, 4);
	CHECK_INT(t.partitions, 1);
	cat_table_release(&t);
	/* The whole folder goes: the table stays with no files (schema kept). */
	abs_path(&f, "01-raw-data-zone/r/2026/04/01/a.json", path, sizeof path);
	CHECK_INT(os_unlink(path, err), 0);
	char cmd[1300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/01-raw-data-zone/r'", f.root);
	CHECK_INT(system(cmd), 0);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_removed, 1);
	crawl_report_release(&r);
	describe(&f, "raw", "r", &t);
	CHECK_INT(t.files, 0);
	CHECK(col(&t, "id"));
	cat_table_release(&t);
	free(rec);
	fx_close(&f);
}

TEST(crawl_targets)
{
	struct fx f;
	struct crawl_report r;
	char err[TN_ERRLEN];
	fx_open(&f);
	char *rec = records(0, 2);
	puts_file(&f, "01-raw-data-zone/a/2026/04/01/x.json", rec);
	puts_file(&f, "01-raw-data-zone/a/2026/04/02/y.json", rec);
	puts_file(&f, "03-master-data-zone/m/x.json", rec);
	/* a zone by alias: only that zone */
	crawl(&f, "bronze", 0, &r);
	CHECK_INT(r.zones, 1);
	CHECK_INT(r.files_seen, 2);
	crawl_report_release(&r);
	struct cat_table_list l;
	CHECK_INT(catalog_tables(f.c, "master", &l, err), 0);
	CHECK_INT(l.n, 0);
	cat_table_list_release(&l);
	/* a key prefix: only that folder, the rest of the table is neither read nor forgotten */
	puts_file(&f, "01-raw-data-zone/a/2026/04/02/z.json", rec);
	puts_file(&f, "01-raw-data-zone/a/2026/04/03/w.json", rec);
	crawl(&f, "01-raw-data-zone/a/2026/04/02/", 0, &r);
	CHECK_INT(r.files_seen, 2);
	CHECK_INT(r.files_new, 1);
	CHECK_INT(r.files_unchanged, 1);
	CHECK_INT(r.files_removed, 0);
	crawl_report_release(&r);
	/* one file */
	crawl(&f, "01-raw-data-zone/a/2026/04/03/w.json", 0, &r);
	CHECK_INT(r.files_seen, 1);
	CHECK_INT(r.files_new, 1);
	crawl_report_release(&r);
	CHECK_INT(catalog_tables(f.c, NULL, &l, err), 0);
	CHECK_INT(l.n, 1);
	CHECK_INT(l.v[0].files, 4);
	cat_table_list_release(&l);
	/* everything: master now too */
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_read, 1);
	crawl_report_release(&r);
	struct crawl_opts o = { "nowhere", 0 };
	CHECK_INT(catalog_crawl(f.c, &o, &r, err), TN_EINVAL);
	crawl_report_release(&r);
	o.target = "01-raw-data-zone/none";
	CHECK_INT(catalog_crawl(f.c, &o, &r, err), TN_ENOTFOUND);
	crawl_report_release(&r);
	o.target = "01-raw-data-zone/../x";
	CHECK_INT(catalog_crawl(f.c, &o, &r, err), TN_EINVAL);
	crawl_report_release(&r);
	free(rec);
	fx_close(&f);
}

TEST(loose_files_hidden_files_and_odd_names)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	puts_file(&f, "04-user-drop-zone/patients.csv", "id,name\n1,Ann\n2,Bob\n");
	puts_file(&f, "04-user-drop-zone/visits.csv", "id\n1\n");
	puts_file(&f, "04-user-drop-zone/visits/a.csv", "id\n7\n"); /* the folder keeps the name */
	puts_file(&f, "04-user-drop-zone/notes.txt", "hello");
	puts_file(&f, "01-raw-data-zone/o/.tarn-tmp-x.json.1.2", "{\"a\":1}\n");
	puts_file(&f, "01-raw-data-zone/o/.hidden.json", "{\"a\":1}\n");
	puts_file(&f, "01-raw-data-zone/o/README.md", "# readme");
	puts_file(&f, "01-raw-data-zone/o/it's [1] *?.json", "{\"a\":1}\n{\"a\":2}\n");
	puts_file(&f, "01-raw-data-zone/o/1.json", "{\"a\":3}\n");
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_seen, 5);
	CHECK_INT(r.files_skipped, 2); /* notes.txt, README.md; hidden names are not even counted */
	CHECK_INT(r.files_bad, 1);
	crawl_report_release(&r);
	describe(&f, "drop", "patients", &t);
	CHECK_STR(t.location, "04-user-drop-zone/patients.csv");
	CHECK_INT(t.rows, 2);
	cat_table_release(&t);
	describe(&f, "drop", "visits", &t);
	CHECK_STR(t.location, "04-user-drop-zone/visits/");
	CHECK_INT(t.rows, 1);
	cat_table_release(&t);
	CHECK(bad_has(&f, "04-user-drop-zone/visits.csv", "is taken by"));
	/* The loose file goes, a folder of that name comes: the table moves to the folder. */
	char path[1200], err[TN_ERRLEN];
	abs_path(&f, "04-user-drop-zone/patients.csv", path, sizeof path);
	CHECK_INT(os_unlink(path, err), 0);
	puts_file(&f, "04-user-drop-zone/patients/2026.csv", "id,name\n3,Cy\n");
	crawl(&f, "drop", 0, &r);
	CHECK_INT(r.files_bad, 0);
	CHECK_INT(r.files_removed, 1);
	crawl_report_release(&r);
	describe(&f, "drop", "patients", &t);
	CHECK_STR(t.location, "04-user-drop-zone/patients/");
	CHECK_INT(t.files, 1);
	CHECK_INT(t.rows, 1);
	cat_table_release(&t);
	describe(&f, "raw", "O", &t); /* case-insensitive lookup */
	CHECK_INT(t.files, 2);
	CHECK_INT(t.rows, 3);
	CHECK_INT(scan_count(&f, &t, NULL), 3);
	cat_table_release(&t);
	/* the temp file is fresh: it could be a write in progress, so it stays; one
	 * last written before the lake was opened (a crash's) is removed by a crawl */
	abs_path(&f, "01-raw-data-zone/o/.tarn-tmp-x.json.1.2", path, sizeof path);
	CHECK(os_exists(path));
	struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	CHECK_INT(utimensat(AT_FDCWD, path, old, 0), 0);
	crawl(&f, "raw", 0, &r);
	crawl_report_release(&r);
	CHECK(!os_exists(path));
	fx_close(&f);
}

struct crawl_thread {
	struct fx *f;
	int rc;
	struct crawl_report r;
};

static void *crawl_main(void *arg)
{
	struct crawl_thread *ct = arg;
	char err[TN_ERRLEN];
	ct->rc = catalog_crawl(ct->f->c, NULL, &ct->r, err);
	return NULL;
}

TEST(one_crawl_at_a_time)
{
	struct fx f;
	struct crawl_report r;
	char key[128], err[TN_ERRLEN];
	fx_open(&f);
	char *rec = records(0, 2);
	for (int i = 0; i < 60; i++) {
		snprintf(key, sizeof key, "01-raw-data-zone/c/2026/04/01/%02d.json", i);
		puts_file(&f, key, rec);
	}
	/* Two threads at once: they run one after the other; each file is read once. */
	struct crawl_thread a = { &f, -1, { 0 } }, b = { &f, -1, { 0 } };
	pthread_t ta, tb;
	CHECK_INT(pthread_create(&ta, NULL, crawl_main, &a), 0);
	CHECK_INT(pthread_create(&tb, NULL, crawl_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_INT(a.rc, 0);
	CHECK_INT(b.rc, 0);
	CHECK_INT(a.r.files_read + b.r.files_read, 60);
	CHECK_INT(a.r.tables_new + b.r.tables_new, 1);
	crawl_report_release(&a.r);
	crawl_report_release(&b.r);
	/* While a crawl holds the lake's crawl lock, CRAWL_NOWAIT is refused. */
	pthread_mutex_lock(&f.c->crawl_mu);
	struct crawl_opts o = { NULL, CRAWL_NOWAIT };
	CHECK_INT(catalog_crawl(f.c, &o, &r, err), TN_EAGAIN);
	CHECK(strstr(err, "already running"));
	pthread_mutex_unlock(&f.c->crawl_mu);
	CHECK_INT(catalog_crawl(f.c, &o, &r, err), 0);
	crawl_report_release(&r);
	free(rec);
	fx_close(&f);
}

TEST(dictionary_is_written)
{
	struct fx f;
	struct crawl_report r;
	char err[TN_ERRLEN];
	fx_open(&f);
	puts_file(&f, "01-raw-data-zone/d/2026/04/01/a.json",
		  "{\"id\":1,\"ssn\":\"123-45-6789\",\"county\":\"Kings\"}\n");
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.dictionary_files, 2);
	crawl_report_release(&r);
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_get(f.s, "references/data-dictionary/index.md", 1 << 20, &b, err), 0);
	CHECK(strstr(b.data, "## raw"));
	CHECK(strstr(b.data, "[d](raw/d.md)"));
	buf_reset(&b);
	CHECK_INT(store_get(f.s, "references/data-dictionary/raw/d.md", 1 << 20, &b, err), 0);
	CHECK(strstr(b.data, "# raw.d"));
	CHECK(strstr(b.data, "| classification | pii |"));
	CHECK(strstr(b.data, "`ssn` | VARCHAR | pii: ssn (crawler, column name)"));
	CHECK(strstr(b.data, "`county` | VARCHAR |  |"));
	CHECK(strstr(b.data, "`year` (partition) | INTEGER"));
	CHECK(strstr(b.data, "created with 3 columns"));
	buf_release(&b);
	/* nothing changed: nothing rewritten; a tag changes one page */
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.dictionary_files, 0);
	crawl_report_release(&r);
	CHECK_INT(catalog_tag(f.c, "raw", "d", "county", "pii", CAT_TAG_SET, "admin", err), 0);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.dictionary_files, 1);
	crawl_report_release(&r);
	fx_close(&f);
}

TEST(partition_values_typed_and_widened)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	puts_file(&f, "03-master-data-zone/h/shard=1/a.json", "{\"v\":1}\n");
	puts_file(&f, "03-master-data-zone/h/shard=2/b.json", "{\"v\":2}\n");
	puts_file(&f, "03-master-data-zone/h/shard=__HIVE_DEFAULT_PARTITION__/c.json", "{\"v\":3}\n");
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	describe(&f, "master", "h", &t);
	CHECK_STR(t.pkeys[0].type, "BIGINT");
	CHECK_INT(t.partitions, 3);
	cat_table_release(&t);
	puts_file(&f, "03-master-data-zone/h/shard=x%2Fy/d.json", "{\"v\":4}\n");
	crawl(&f, NULL, 0, &r);
	crawl_report_release(&r);
	describe(&f, "master", "h", &t);
	CHECK_STR(t.pkeys[0].type, "VARCHAR");
	CHECK_INT(t.schema_version, 2);
	CHECK(strstr(t.versions[1].changes, "widened partition shard BIGINT -> VARCHAR"));
	char err[TN_ERRLEN];
	struct cat_file_list fl;
	CHECK_INT(catalog_table_files(f.c, &t, NULL, NULL, &fl, err), 0);
	CHECK_INT(fl.n, 4);
	CHECK_STR(fl.v[0].pvals[0], "1");
	CHECK(fl.v[2].pvals[0] == NULL); /* __HIVE_DEFAULT_PARTITION__ */
	CHECK_STR(fl.v[3].pvals[0], "x/y");
	cat_file_list_release(&fl);
	cat_table_release(&t);
	fx_close(&f);
}

TEST(large_file_sampled_then_read_whole)
{
	struct fx f;
	struct crawl_report r;
	struct cat_table t;
	fx_open(&f);
	/*
	 * Over CAT_SMALL_FILE, a JSON file is inferred from a sample of
	 * CAT_SAMPLE_ROWS records.  A value past the sample that does not fit
	 * the sampled type fails validation; the crawler then infers from the
	 * whole file instead of calling it bad.
	 */
	struct buf b = BUF_INIT(0);
	long n = 0;
	while (b.len < CAT_SMALL_FILE + (1u << 20) || n <= CAT_SAMPLE_ROWS)
		buf_printf(&b, "{\"id\":%ld,\"v\":%ld,\"pad\":\"abcdefghijklmnopqrstuvwxyz0123456789\"}\n", n, n), n++;
	buf_puts(&b, "{\"id\":-1,\"v\":\"late string\"}\n");
	put(&f, "01-raw-data-zone/big/x.json", b.data, b.len);
	buf_release(&b);
	crawl(&f, NULL, 0, &r);
	CHECK_INT(r.files_bad, 0);
	CHECK_INT(r.files_read, 1);
	crawl_report_release(&r);
	describe(&f, "raw", "big", &t);
	CHECK_INT(t.rows, n + 1);
	CHECK_STR(col_type(&t, "v"), "JSON"); /* DuckDB's type for numbers and strings mixed */
	CHECK_STR(col_type(&t, "id"), "BIGINT");
	CHECK_INT(scan_count(&f, &t, "WHERE id = -1 AND v IS NOT NULL"), 1);
	cat_table_release(&t);
	fx_close(&f);
}

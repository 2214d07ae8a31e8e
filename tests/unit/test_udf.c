/*
 * test_udf.c - tarn_mask_hash inside DuckDB: hex HMAC-SHA256 of the
 * value's bytes, checked against crypto_hmac_sha256 for ASCII, UTF-8, the
 * empty string, lengths around SHA-256's block boundaries and over 1 KiB,
 * NULL, constants, and 5,000 rows (more than one 2,048-row chunk).
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "query/udf.h"
#include "harness.h"

struct db {
	duckdb_database db;
	duckdb_connection con;
	uint8_t key[32];
};

static void db_open(struct db *d)
{
	char err[TN_ERRLEN];
	for (int i = 0; i < 32; i++)
		d->key[i] = (uint8_t)(0xa5 ^ (i * 13));
	CHECK(duckdb_open(NULL, &d->db) == DuckDBSuccess);
	CHECK(duckdb_connect(d->db, &d->con) == DuckDBSuccess);
	int rc = udf_register(d->con, d->key, err);
	if (rc)
		fprintf(stderr, "udf_register: %s\n", err);
	CHECK_INT(rc, 0);
}

static void db_close(struct db *d)
{
	duckdb_disconnect(&d->con);
	duckdb_close(&d->db);
}

/* The expected mask of p[0..n) under key, as hex. */
static void want(const uint8_t key[32], const void *p, size_t n, char hex[65])
{
	uint8_t mac[SHA256_LEN];
	crypto_hmac_sha256(key, 32, p, n, mac);
	hex_encode(mac, sizeof mac, hex);
}

/* tarn_mask_hash(?) with p[0..n) bound as VARCHAR; "NULL" for SQL NULL. */
static void mask_bound(struct db *d, const char *p, size_t n, char *out, size_t cap)
{
	duckdb_prepared_statement st;
	duckdb_result r;
	CHECK(duckdb_prepare(d->con, "SELECT tarn_mask_hash(?::VARCHAR)", &st) == DuckDBSuccess);
	if (p)
		CHECK(duckdb_bind_varchar_length(st, 1, p, n) == DuckDBSuccess);
	else
		CHECK(duckdb_bind_null(st, 1) == DuckDBSuccess);
	CHECK(duckdb_execute_prepared(st, &r) == DuckDBSuccess);
	CHECK_INT(duckdb_row_count(&r), 1);
	char *v = duckdb_value_varchar(&r, 0, 0);
	snprintf(out, cap, "%s", v ? v : "NULL");
	duckdb_free(v);
	duckdb_destroy_result(&r);
	duckdb_destroy_prepare(&st);
}

/* The first value of sql's first row as text ("NULL" for SQL NULL). */
static void eval(struct db *d, const char *sql, char *out, size_t cap)
{
	duckdb_result r;
	if (duckdb_query(d->con, sql, &r) != DuckDBSuccess)
		fprintf(stderr, "%s: %s\n", sql, duckdb_result_error(&r));
	CHECK(duckdb_row_count(&r) >= 1);
	char *v = duckdb_value_varchar(&r, 0, 0);
	snprintf(out, cap, "%s", v ? v : "NULL");
	duckdb_free(v);
	duckdb_destroy_result(&r);
}

TEST(ascii_utf8_empty_literals)
{
	struct db d;
	char out[200], hex[65];
	db_open(&d);
	eval(&d, "SELECT tarn_mask_hash('123-45-6789')", out, sizeof out);
	want(d.key, "123-45-6789", 11, hex);
	CHECK_STR(out, hex);
	CHECK_INT(strlen(out), 64);
	/* keyed: not the plain SHA-256 of the value */
	uint8_t h[SHA256_LEN];
	char plain[65];
	crypto_sha256("123-45-6789", 11, h);
	hex_encode(h, sizeof h, plain);
	CHECK(strcmp(out, plain) != 0);
	eval(&d, "SELECT tarn_mask_hash('Pe\xc3\xb1" "a')", out, sizeof out);
	want(d.key, "Pe\xc3\xb1" "a", 5, hex);
	CHECK_STR(out, hex);
	eval(&d, "SELECT tarn_mask_hash('')", out, sizeof out);
	want(d.key, "", 0, hex);
	CHECK_STR(out, hex);
	eval(&d, "SELECT tarn_mask_hash(NULL)", out, sizeof out);
	CHECK_STR(out, "NULL");
	eval(&d, "SELECT tarn_mask_hash(CAST(NULL AS VARCHAR)) IS NULL", out, sizeof out);
	CHECK_STR(out, "true");
	/* stable: the same value, the same digest, in another statement */
	eval(&d, "SELECT tarn_mask_hash('123-45-6789') = tarn_mask_hash('123-' || '45-6789')", out,
	     sizeof out);
	CHECK_STR(out, "true");
	db_close(&d);
}

TEST(lengths_and_bytes)
{
	struct db d;
	char out[200], hex[65];
	static const size_t lens[] = { 0, 1, 11, 12, 13, 31, 32, 55, 56, 57, 63, 64, 65,
				       119, 120, 128, 1023, 1024, 1025, 1500, 4096, 70000 };
	char *p = malloc(70000);
	CHECK(p != NULL);
	for (size_t i = 0; i < 70000; i++)
		p[i] = (char)(' ' + (i * 7 + i / 95) % 95);  /* printable, varied */
	db_open(&d);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		mask_bound(&d, p, lens[i], out, sizeof out);
		want(d.key, p, lens[i], hex);
		if (strcmp(out, hex))
			fprintf(stderr, "length %zu\n", lens[i]);
		CHECK_STR(out, hex);
	}
	/* a long UTF-8 value made in SQL: 600 x 'ñ' is 1,200 bytes */
	eval(&d, "SELECT tarn_mask_hash(repeat('\xc3\xb1', 600))", out, sizeof out);
	struct buf b = BUF_INIT(0);
	for (int i = 0; i < 600; i++)
		buf_puts(&b, "\xc3\xb1");
	want(d.key, b.data, b.len, hex);
	CHECK_STR(out, hex);
	buf_release(&b);
	mask_bound(&d, NULL, 0, out, sizeof out);
	CHECK_STR(out, "NULL");
	free(p);
	db_close(&d);
}

TEST(rows_across_chunks)
{
	struct db d;
	duckdb_result r;
	char hex[65], val[32];
	db_open(&d);
	/* every 7th row NULL; 5,000 rows cross DuckDB's 2,048-row chunks */
	CHECK(duckdb_query(d.con,
			   "SELECT i, tarn_mask_hash(CASE WHEN i % 7 = 0 THEN NULL ELSE 'v-' || i END) "
			   "FROM range(5000) t(i) ORDER BY i",
			   &r) == DuckDBSuccess);
	CHECK_INT(duckdb_row_count(&r), 5000);
	for (idx_t i = 0; i < 5000; i++) {
		char *v = duckdb_value_varchar(&r, 1, i);
		if (i % 7 == 0) {
			CHECK(v == NULL);
			continue;
		}
		int n = snprintf(val, sizeof val, "v-%llu", (unsigned long long)i);
		want(d.key, val, (size_t)n, hex);
		if (!v || strcmp(v, hex))
			fprintf(stderr, "row %llu\n", (unsigned long long)i);
		CHECK_STR(v, hex);
		duckdb_free(v);
	}
	duckdb_destroy_result(&r);
	/* joins and GROUP BY on masked values: distinct values stay distinct */
	char out[64];
	eval(&d, "SELECT count(DISTINCT tarn_mask_hash(CAST(i % 1000 AS VARCHAR))) FROM range(5000) "
		 "t(i)", out, sizeof out);
	CHECK_STR(out, "1000");
	/* a constant over many rows */
	eval(&d, "SELECT count(DISTINCT tarn_mask_hash('abc')) || '/' || count(*) FROM range(5000)",
	     out, sizeof out);
	CHECK_STR(out, "1/5000");
	db_close(&d);
}

/*
 * Parquet strings arrive as dictionary vectors, and DuckDB runs a function
 * once over the dictionary (TryExecuteDictionaryExpression), whose entries
 * include an invalid one for NULL: its bytes must never be read.
 */
TEST(parquet_dictionaries_with_nulls)
{
	struct db d;
	duckdb_result r;
	char sql[1400], hex[65], val[32];
	db_open(&d);
	snprintf(sql, sizeof sql,
		 "COPY (SELECT i, CASE WHEN i %% 5 = 0 THEN NULL ELSE 'name-' || (i %% 37) END AS v "
		 "FROM range(6000) t(i)) TO '%s/d.parquet' (FORMAT parquet)", test_tmpdir());
	CHECK(duckdb_query(d.con, sql, &r) == DuckDBSuccess);
	duckdb_destroy_result(&r);
	snprintf(sql, sizeof sql,
		 "SELECT i, tarn_mask_hash(v) FROM read_parquet('%s/d.parquet') WHERE i %% 3 <> 1 "
		 "ORDER BY i", test_tmpdir());
	if (duckdb_query(d.con, sql, &r) != DuckDBSuccess)
		fprintf(stderr, "%s\n", duckdb_result_error(&r));
	CHECK_INT(duckdb_row_count(&r), 4000);
	for (idx_t row = 0; row < 4000; row++) {
		int64_t i = duckdb_value_int64(&r, 0, row);
		char *v = duckdb_value_varchar(&r, 1, row);
		CHECK(i % 3 != 1);
		if (i % 5 == 0) {
			CHECK(v == NULL);
			continue;
		}
		int n = snprintf(val, sizeof val, "name-%lld", (long long)(i % 37));
		want(d.key, val, (size_t)n, hex);
		CHECK_STR(v, hex);
		duckdb_free(v);
	}
	duckdb_destroy_result(&r);
	db_close(&d);
}

TEST(one_registration_per_database)
{
	struct db d;
	duckdb_connection other;
	char err[TN_ERRLEN], out[200], hex[65];
	db_open(&d);
	/* the system catalog: another connection of the database sees it */
	CHECK(duckdb_connect(d.db, &other) == DuckDBSuccess);
	duckdb_result r;
	CHECK(duckdb_query(other, "SELECT tarn_mask_hash('x')", &r) == DuckDBSuccess);
	char *v = duckdb_value_varchar(&r, 0, 0);
	want(d.key, "x", 1, hex);
	CHECK_STR(v, hex);
	duckdb_free(v);
	duckdb_destroy_result(&r);
	/* a second registration is refused, and the first keeps working */
	uint8_t k2[32] = { 1 };
	CHECK_INT(udf_register(other, k2, err), TN_EINTERNAL);
	CHECK(strstr(err, "tarn_mask_hash") != NULL);
	eval(&d, "SELECT tarn_mask_hash('x')", out, sizeof out);
	CHECK_STR(out, hex);
	duckdb_disconnect(&other);
	/* another database, another key, another digest; NULL policy registers nothing */
	duckdb_database db2;
	duckdb_connection c2;
	CHECK(duckdb_open(NULL, &db2) == DuckDBSuccess);
	CHECK(duckdb_connect(db2, &c2) == DuckDBSuccess);
	CHECK_INT(udf_register_policy(c2, NULL, err), 0);
	CHECK(duckdb_query(c2, "SELECT tarn_mask_hash('x')", &r) == DuckDBError);
	duckdb_destroy_result(&r);
	CHECK_INT(udf_register(c2, k2, err), 0);
	CHECK(duckdb_query(c2, "SELECT tarn_mask_hash('x')", &r) == DuckDBSuccess);
	v = duckdb_value_varchar(&r, 0, 0);
	want(k2, "x", 1, hex);
	CHECK_STR(v, hex);
	CHECK(strcmp(v, out) != 0);
	duckdb_free(v);
	duckdb_destroy_result(&r);
	duckdb_disconnect(&c2);
	duckdb_close(&db2);
	db_close(&d);
}

/*
 * test_query_render.c - the text of values the engine renders itself
 * (stream_rows: integers, BOOLEAN, UUID, DATE, TIMESTAMP) is DuckDB's
 * CAST to VARCHAR, value for value, over wide ranges and the edges
 * (years 1 and 9999, BC, infinities, NULL, integer limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/os.h"
#include "policy/policy.h"
#include "query/query.h"
#include "store/store.h"
#include "harness.h"

struct fx {
	struct store *s;
	struct meta *m;
	struct catalog *c;
	struct policy *p;
	struct query_engine *e;
};

static void fx_open(struct fx *f)
{
	char err[TN_ERRLEN], path[600];
	uint8_t key[32];
	memset(f, 0, sizeof *f);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 5 + 3);
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(path, sizeof path, "%s/.tarn", store_root(f->s));
	CHECK_INT(os_mkdir_p(path, 0700, err), 0);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", store_root(f->s));
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(catalog_open(f->s, f->m, &f->c, err), 0);
	CHECK_INT(policy_open(f->m, key, &f->p, err), 0);
	struct query_limits lim = { 0, 256ll << 20, 2, 1, 4 };
	int rc = query_engine_open(f->s, f->c, f->p, &lim, &f->e, err);
	if (rc)
		fprintf(stderr, "engine: %s\n", err);
	CHECK_INT(rc, 0);
}

static void fx_close(struct fx *f)
{
	query_engine_close(f->e);
	policy_close(f->p);
	catalog_close(f->c);
	meta_close(f->m);
	store_close(f->s);
}

/* Rows of pairs (value, its CAST to VARCHAR): every pair must match. */
struct pairs {
	size_t rows, values, bad;
	struct buf types;
	struct buf first; /* the first row, "a|b|..." (NULL as "NULL") */
};

static int p_columns(void *arg, const struct query_column *cols, size_t n, char *err)
{
	struct pairs *g = arg;
	for (size_t i = 0; i < n; i++)
		buf_printf(&g->types, "%s%s", i ? "," : "", cols[i].type);
	return 0;
}

static int p_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	struct pairs *g = arg;
	CHECK_INT(n % 2, 0);
	for (size_t i = 0; g->rows == 0 && i < n; i++) {
		if (i)
			buf_putc(&g->first, '|');
		if (v[i].p)
			buf_append(&g->first, v[i].p, v[i].n);
		else
			buf_puts(&g->first, "NULL");
	}
	for (size_t i = 0; i < n; i += 2) {
		bool same = (!v[i].p && !v[i + 1].p) ||
			    (v[i].p && v[i + 1].p && v[i].n == v[i + 1].n &&
			     memcmp(v[i].p, v[i + 1].p, v[i].n) == 0);
		if (!same && g->bad++ < 5)
			fprintf(stderr, "row %zu column %zu: '%.*s' vs DuckDB's '%.*s'\n", g->rows,
				i + 1, v[i].p ? (int)v[i].n : 4, v[i].p ? v[i].p : "NULL",
				v[i + 1].p ? (int)v[i + 1].n : 4, v[i + 1].p ? v[i + 1].p : "NULL");
		g->values++;
	}
	g->rows++;
	return 0;
}

/* Runs sql as root; every pair of its rows must match; returns the row count. */
static size_t pairs_match(struct fx *f, const char *sql, const char *types, const char *first)
{
	struct pairs g = { 0 };
	struct query_stats st;
	char err[TN_ERRLEN];
	buf_init(&g.types, 0);
	buf_init(&g.first, 0);
	struct query_sink sink = { .columns = p_columns, .row = p_row, .arg = &g };
	struct query_req q = { .sql = sql, .user = "root", .admin = true };
	int rc = query_run(f->e, &q, &sink, &st, err);
	if (rc)
		fprintf(stderr, "%s\n-> %s\n", sql, err);
	CHECK_INT(rc, 0);
	CHECK_INT(g.bad, 0);
	CHECK_STR(g.types.data, types);
	if (first)
		CHECK_STR(g.first.data, first);
	CHECK_INT(st.rows, g.rows);
	buf_release(&g.types);
	buf_release(&g.first);
	return g.rows;
}

TEST(render_edges_match_duckdb_casts)
{
	struct fx f;
	fx_open(&f);
	/* every native type with its limits, NULL, and the values DuckDB renders for us */
	pairs_match(&f,
		    "SELECT a, CAST(a AS VARCHAR), b, CAST(b AS VARCHAR), c, CAST(c AS VARCHAR), "
		    "d, CAST(d AS VARCHAR), e, CAST(e AS VARCHAR), g, CAST(g AS VARCHAR), "
		    "h, CAST(h AS VARCHAR), i, CAST(i AS VARCHAR), j, CAST(j AS VARCHAR), "
		    "k, CAST(k AS VARCHAR), l, CAST(l AS VARCHAR), m, CAST(m AS VARCHAR) FROM (SELECT "
		    "CAST(-128 AS TINYINT) AS a, CAST(-32768 AS SMALLINT) AS b, "
		    "CAST(-2147483648 AS INTEGER) AS c, CAST(-9223372036854775808 AS BIGINT) AS d, "
		    "CAST(255 AS UTINYINT) AS e, CAST(65535 AS USMALLINT) AS g, "
		    "CAST(4294967295 AS UINTEGER) AS h, CAST(18446744073709551615 AS UBIGINT) AS i, "
		    "true AS j, uuid '7fffffff-0000-8000-0000-0000000000a1' AS k, "
		    "DATE '0001-01-01' AS l, TIMESTAMP '9999-12-31 23:59:59.999999' AS m)",
		    "TINYINT,VARCHAR,SMALLINT,VARCHAR,INTEGER,VARCHAR,BIGINT,VARCHAR,UTINYINT,VARCHAR,"
		    "USMALLINT,VARCHAR,UINTEGER,VARCHAR,UBIGINT,VARCHAR,BOOLEAN,VARCHAR,UUID,VARCHAR,"
		    "DATE,VARCHAR,TIMESTAMP,VARCHAR",
		    "-128|-128|-32768|-32768|-2147483648|-2147483648|-9223372036854775808|"
		    "-9223372036854775808|255|255|65535|65535|4294967295|4294967295|"
		    "18446744073709551615|18446744073709551615|true|true|"
		    "7fffffff-0000-8000-0000-0000000000a1|7fffffff-0000-8000-0000-0000000000a1|"
		    "0001-01-01|0001-01-01|9999-12-31 23:59:59.999999|9999-12-31 23:59:59.999999");
	/* outside years 1-9999, infinities and NULLs; a mixed statement keeps its wrapper */
	pairs_match(&f,
		    "SELECT d, CAST(d AS VARCHAR), t, CAST(t AS VARCHAR), n, CAST(n AS VARCHAR), "
		    "x, CAST(x AS VARCHAR), b, CAST(b AS VARCHAR) FROM (VALUES "
		    "(DATE '-0044-03-15', TIMESTAMP '0000-12-31 23:59:59.5', NULL::INTEGER, 1.5, false), "
		    "(DATE 'infinity', TIMESTAMP '-infinity', 7, NULL, NULL), "
		    "(DATE '10000-01-01', TIMESTAMP '12000-06-01 01:02:03', -1, 2.25, true)) v(d, t, n, x, b)",
		    "DATE,VARCHAR,TIMESTAMP,VARCHAR,INTEGER,VARCHAR,DECIMAL(3,2),VARCHAR,BOOLEAN,VARCHAR",
		    "0045-03-15 (BC)|0045-03-15 (BC)|0001-12-31 (BC) 23:59:59.5|0001-12-31 (BC) 23:59:59.5|"
		    "NULL|NULL|1.50|1.50|false|false");
	fx_close(&f);
}

TEST(render_ranges_match_duckdb_casts)
{
	struct fx f;
	fx_open(&f);
	/* 200k timestamps over years 1-9999 (every fraction length), dates, integers, UUIDs */
	size_t n = pairs_match(
		&f,
		"SELECT t, CAST(t AS VARCHAR), d, CAST(d AS VARCHAR), i, CAST(i AS VARCHAR), "
		"s, CAST(s AS VARCHAR), u, CAST(u AS VARCHAR), z, CAST(z AS VARCHAR) FROM ("
		"SELECT TIMESTAMP '0001-01-01' + to_microseconds(CAST(k * 7777777777771 % "
		"315000000000000000 AS BIGINT) // (10 ^ (k % 7))::BIGINT) AS t, "
		"DATE '1600-01-01' + CAST(k * 37 % 3000000 AS INTEGER) - 1500000 AS d, "
		"CAST(k * 2654435761 % 4000000000 - 2000000000 AS INTEGER) AS i, "
		"CAST(k * 2654435761 % 65536 - 32768 AS SMALLINT) AS s, gen_random_uuid() AS u, "
		"CAST(k * 2654435761 % 4000000000 AS UBIGINT) * 4000000000 AS z "
		"FROM (SELECT unnest(generate_series(0, 199999)) AS k))",
		"TIMESTAMP,VARCHAR,DATE,VARCHAR,INTEGER,VARCHAR,SMALLINT,VARCHAR,UUID,VARCHAR,UBIGINT,"
		"VARCHAR",
		NULL);
	CHECK_INT(n, 200000);
	/* timestamps around the epoch, to the microsecond */
	n = pairs_match(&f,
			"SELECT t, CAST(t AS VARCHAR) FROM (SELECT TIMESTAMP '1969-12-31 23:59:58' + "
			"to_microseconds(k * 37) AS t FROM (SELECT unnest(generate_series(0, 99999)) AS k))",
			"TIMESTAMP,VARCHAR", "1969-12-31 23:59:58|1969-12-31 23:59:58");
	CHECK_INT(n, 100000);
	fx_close(&f);
}

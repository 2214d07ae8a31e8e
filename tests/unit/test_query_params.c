/*
 * test_query_params.c - parameters ($1..$n) bound through DuckDB's
 * prepared statements for every type the PostgreSQL endpoint passes,
 * describe runs, SQLSTATEs of failures, and statement splitting
 * (query_next_statement).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
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
	struct auth *a;
	struct policy *p;
	struct query_engine *e;
};

static void put(struct fx *f, const char *key, const char *text)
{
	char path[1200], dir[1200], err[TN_ERRLEN];
	snprintf(path, sizeof path, "%s/%s", store_root(f->s), key);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = 0;
	CHECK_INT(os_mkdir_p(dir, 0750, err), 0);
	CHECK_INT(os_write_file_atomic(path, text, strlen(text), 0640, err), 0);
}

/* raw.ev: 6 rows (id 1..6, code "03"/"08", dose 1..3); user "ana" exists; a policy. */
static void fx_open(struct fx *f)
{
	char err[TN_ERRLEN], path[600];
	uint8_t key[32];
	memset(f, 0, sizeof *f);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(path, sizeof path, "%s/.tarn", store_root(f->s));
	CHECK_INT(os_mkdir_p(path, 0700, err), 0);
	snprintf(path, sizeof path, "%s/.tarn/meta.db", store_root(f->s));
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(catalog_open(f->s, f->m, &f->c, err), 0);
	put(f, "01-raw-data-zone/ev/2026/04/01/a.json",
	    "{\"id\":1,\"code\":\"03\",\"dose\":1,\"amount\":1.5}\n"
	    "{\"id\":2,\"code\":\"08\",\"dose\":2,\"amount\":2.5}\n"
	    "{\"id\":3,\"code\":\"03\",\"dose\":3,\"amount\":3.5}\n");
	put(f, "01-raw-data-zone/ev/2026/04/02/b.json",
	    "{\"id\":4,\"code\":\"08\",\"dose\":1,\"amount\":4.5}\n"
	    "{\"id\":5,\"code\":\"03\",\"dose\":2,\"amount\":5.5}\n"
	    "{\"id\":6,\"code\":\"08\",\"dose\":3,\"amount\":6.5}\n");
	struct crawl_opts o = { NULL, CRAWL_NO_DICTIONARY };
	struct crawl_report rep;
	CHECK_INT(catalog_crawl(f->c, &o, &rep, err), 0);
	crawl_report_release(&rep);
	CHECK_INT(auth_open(f->m, key, &f->a, err), 0);
	CHECK_INT(policy_open(f->m, key, &f->p, err), 0);
	CHECK_INT(auth_user_add(f->a, "ana", "ana-password-1", err), 0);
	struct query_limits lim = { 0, 256ll << 20, 2, 2, 4 };
	int rc = query_engine_open(f->s, f->c, f->p, &lim, &f->e, err);
	if (rc)
		fprintf(stderr, "engine: %s\n", err);
	CHECK_INT(rc, 0);
}

static void fx_close(struct fx *f)
{
	query_engine_close(f->e);
	policy_close(f->p);
	auth_close(f->a);
	catalog_close(f->c);
	meta_close(f->m);
	store_close(f->s);
}

/* What a run told its sink: "p:T1,T2" (params), "c:name:TYPE,..." and rows "a|b\n". */
struct got {
	struct buf params;
	struct buf cols;
	struct buf rows;
	int params_calls, cols_calls;
};

static int g_params(void *arg, const char *const *types, size_t n, char *err)
{
	struct got *g = arg;
	g->params_calls++;
	CHECK_INT(g->cols_calls, 0);  /* before columns() */
	for (size_t i = 0; i < n; i++)
		buf_printf(&g->params, "%s%s", i ? "," : "", types[i]);
	return 0;
}

static int g_columns(void *arg, const struct query_column *cols, size_t n, char *err)
{
	struct got *g = arg;
	g->cols_calls++;
	for (size_t i = 0; i < n; i++)
		buf_printf(&g->cols, "%s%s:%s", i ? "," : "", cols[i].name, cols[i].type);
	return 0;
}

static int g_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	struct got *g = arg;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&g->rows, '|');
		if (v[i].p)
			buf_append(&g->rows, v[i].p, v[i].n);
		else
			buf_puts(&g->rows, "NULL");
	}
	buf_putc(&g->rows, '\n');
	return 0;
}

static void got_init(struct got *g)
{
	memset(g, 0, sizeof *g);
	buf_init(&g->params, 0);
	buf_init(&g->cols, 0);
	buf_init(&g->rows, 0);
}

static void got_release(struct got *g)
{
	buf_release(&g->params);
	buf_release(&g->cols);
	buf_release(&g->rows);
}

static int run_full(struct fx *f, const char *user, bool admin, const char *sql,
		    const struct query_param *p, size_t n, bool describe, struct got *g,
		    struct query_stats *st, char *err)
{
	struct query_sink sink = { .columns = g_columns, .row = g_row, .arg = g,
				   .params = g_params };
	struct query_req q = { .sql = sql, .user = user, .admin = admin, .params = p,
			       .nparams = n, .describe_only = describe };
	got_init(g);
	return query_run(f->e, &q, &sink, st, err);
}

static int run_p(struct fx *f, const char *sql, const struct query_param *p, size_t n,
		 struct got *g, struct query_stats *st, char *err)
{
	return run_full(f, "root", true, sql, p, n, false, g, st, err);
}

/* Runs sql with params as root; the rows must be rows. */
static void expect(struct fx *f, const char *sql, const struct query_param *p, size_t n,
		   const char *rows)
{
	struct got g;
	struct query_stats st;
	char err[TN_ERRLEN];
	int rc = run_p(f, sql, p, n, &g, &st, err);
	if (rc)
		fprintf(stderr, "%s\n-> %s\n", sql, err);
	CHECK_INT(rc, 0);
	if (strcmp(g.rows.data, rows))
		fprintf(stderr, "%s\n-> rows:\n%s\nwanted:\n%s", sql, g.rows.data, rows);
	CHECK_STR(g.rows.data, rows);
	CHECK_STR(st.sqlstate, "");
	got_release(&g);
}

/* One parameter of type t with text v: `SELECT $1, typeof($1)` gives want. */
static void one(struct fx *f, const char *t, const char *v, const char *want)
{
	struct query_param p = { v, v ? strlen(v) : 0, t };
	expect(f, "SELECT $1, typeof($1)", &p, 1, want);
}

/* Runs sql with params as root; must fail with code, a message holding part, and state. */
static void fails(struct fx *f, const char *sql, const struct query_param *p, size_t n, int code,
		  const char *part, const char *state)
{
	struct got g;
	struct query_stats st;
	char err[TN_ERRLEN];
	int rc = run_p(f, sql, p, n, &g, &st, err);
	if (rc != code || !strstr(err, part) || strcmp(st.sqlstate, state))
		fprintf(stderr, "%s\n-> rc %d (%s): %s (wanted %d, '%s', %s)\n", sql, rc, st.sqlstate,
			rc ? err : g.rows.data, code, part, state);
	CHECK_INT(rc, code);
	CHECK(strstr(err, part) != NULL);
	CHECK_STR(st.sqlstate, state);
	CHECK_INT(g.rows.len, 0);
	got_release(&g);
}

#define P(t, v) { v, sizeof v - 1, t }

TEST(params_every_type)
{
	struct fx f;
	fx_open(&f);
	one(&f, "INTEGER", "42", "42|INTEGER\n");
	one(&f, "INTEGER", "-2147483648", "-2147483648|INTEGER\n");
	one(&f, "BIGINT", "9223372036854775807", "9223372036854775807|BIGINT\n");
	one(&f, "SMALLINT", "-32768", "-32768|SMALLINT\n");
	one(&f, "DOUBLE", "2.5e-3", "0.0025|DOUBLE\n");
	one(&f, "DOUBLE", "NaN", "nan|DOUBLE\n");
	one(&f, "REAL", "1.5", "1.5|FLOAT\n");
	one(&f, "DECIMAL(10,3)", "12.5", "12.500|DECIMAL(10,3)\n");
	one(&f, "DECIMAL(38,10)", "-12345678901234567890.5",
	    "-12345678901234567890.5000000000|DECIMAL(38,10)\n");
	one(&f, "DECIMAL(4,1)", "-3.2", "-3.2|DECIMAL(4,1)\n");
	/* a bare DECIMAL / NUMERIC (PostgreSQL's numeric) keeps every digit it is given */
	one(&f, "DECIMAL", "12.34567", "12.34567|DECIMAL(7,5)\n");
	one(&f, "NUMERIC", "-0.000000000000000000000000000000000001",
	    "-0.000000000000000000000000000000000001|DECIMAL(37,36)\n");
	one(&f, "NUMERIC", "1234567890123456789012345678901234567890", "1.2345678901234568e+39|DOUBLE\n");
	one(&f, "NUMERIC", "1E+5", "100000.0|DOUBLE\n");
	one(&f, "NUMERIC", "NaN", "nan|DOUBLE\n");
	one(&f, "NUMERIC", "42", "42|DECIMAL(2,0)\n");
	one(&f, "BOOLEAN", "t", "true|BOOLEAN\n");
	one(&f, "BOOLEAN", "false", "false|BOOLEAN\n");
	one(&f, "VARCHAR", "it's \"quoted\"; --", "it's \"quoted\"; --|VARCHAR\n");
	one(&f, "VARCHAR", "zürich ✓", "zürich ✓|VARCHAR\n");
	one(&f, "DATE", "2024-02-29", "2024-02-29|DATE\n");
	one(&f, "DATE", "infinity", "infinity|DATE\n");
	one(&f, "TIME", "23:59:58.25", "23:59:58.25|TIME\n");
	one(&f, "TIMESTAMP", "2024-05-06 07:08:09.123456", "2024-05-06 07:08:09.123456|TIMESTAMP\n");
	one(&f, "TIMESTAMPTZ", "2024-05-06 07:08:09.5+02",
	    "2024-05-06 05:08:09.5+00|TIMESTAMP WITH TIME ZONE\n");
	one(&f, "INTERVAL", "1 year 2 days 03:04:05.5", "1 year 2 days 03:04:05.5|INTERVAL\n");
	one(&f, "UUID", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
	    "6ba7b810-9dad-11d1-80b4-00c04fd430c8|UUID\n");
	one(&f, "UUID", "{00000000-0000-0000-0000-000000000001}",
	    "00000000-0000-0000-0000-000000000001|UUID\n");
	one(&f, "UUID", "ffffffff-ffff-ffff-ffff-fffffffffffe",
	    "ffffffff-ffff-ffff-ffff-fffffffffffe|UUID\n");
	one(&f, "JSON", "{\"a\": [1, 2]}", "{\"a\": [1, 2]}|VARCHAR\n");
	one(&f, NULL, "text", "text|VARCHAR\n");
	one(&f, "INTEGER", NULL, "NULL|\"NULL\"\n");
	one(&f, NULL, NULL, "NULL|\"NULL\"\n");
	/* BLOB: raw bytes, NUL and invalid UTF-8 included */
	{
		struct query_param p = { "A\0\xff" "B", 4, "BLOB" };
		expect(&f, "SELECT octet_length($1), hex($1), typeof($1)", &p, 1, "4|4100FF42|BLOB\n");
	}
	/* a JSON parameter is JSON to DuckDB's functions */
	{
		struct query_param p = P("JSON", "{\"a\": [1, 2]}");
		expect(&f, "SELECT json_extract($1, '$.a[1]')", &p, 1, "2\n");
	}
	/* several, in any order, reused */
	{
		struct query_param p[] = { P("INTEGER", "7"), P("VARCHAR", "x"), P("DATE", "2024-01-31") };
		expect(&f, "SELECT $3 + $1, $2 || $2, $1 * $1", p, 3, "2024-02-07|xx|49\n");
	}
	/* EXPLAIN of a statement with parameters */
	{
		struct got g;
		struct query_stats st;
		char err[TN_ERRLEN];
		struct query_param p = P("INTEGER", "3");
		int rc = run_p(&f, "EXPLAIN SELECT id FROM raw.ev WHERE id = $1", &p, 1, &g, &st, err);
		if (rc)
			fprintf(stderr, "explain: %s\n", err);
		CHECK_INT(rc, 0);
		CHECK(strstr(g.rows.data, "physical_plan") != NULL);
		got_release(&g);
	}
	/* ? parameters */
	{
		struct query_param p[] = { P("INTEGER", "2"), P(NULL, "08") };
		expect(&f, "SELECT id FROM raw.ev WHERE dose = ? AND code = ? ORDER BY id", p, 2, "2\n");
	}
	fx_close(&f);
}

TEST(params_compare_with_columns)
{
	struct fx f;
	fx_open(&f);
	/* untyped values take the type the statement infers */
	struct query_param three = P(NULL, "3");
	expect(&f, "SELECT id, code FROM raw.ev WHERE id = $1", &three, 1, "3|03\n");
	expect(&f, "SELECT count(*) FROM raw.ev WHERE id > $1", &three, 1, "3\n");
	struct query_param code = P(NULL, "08");
	expect(&f, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM raw.ev WHERE code = $1",
	       &code, 1, "2,4,6\n");
	/* typed values of another type compare as DuckDB compares them */
	struct query_param big = P("BIGINT", "4");
	expect(&f, "SELECT count(*) FROM raw.ev WHERE id >= $1", &big, 1, "3\n");
	struct query_param dbl = P("DOUBLE", "3.5");
	expect(&f, "SELECT id FROM raw.ev WHERE amount = $1", &dbl, 1, "3\n");
	struct query_param txt = P("VARCHAR", "5");
	expect(&f, "SELECT amount FROM raw.ev WHERE id::VARCHAR = $1", &txt, 1, "5.5\n");
	/* an injection attempt is a value */
	struct query_param inj = P(NULL, "03' OR '1'='1");
	expect(&f, "SELECT count(*) FROM raw.ev WHERE code = $1", &inj, 1, "0\n");
	/* partitioned by date folders: a parameter on a partition column filters, unpruned */
	struct query_param day = P("INTEGER", "2");
	expect(&f, "SELECT count(*) FROM raw.ev WHERE day = $1", &day, 1, "3\n");
	/* in a subquery, a CTE, a LIMIT */
	struct query_param lim = P("BIGINT", "2");
	expect(&f, "WITH t AS (SELECT id FROM raw.ev WHERE id > $1) SELECT id FROM t ORDER BY id "
	       "LIMIT $1", &lim, 1, "3\n4\n");
	fx_close(&f);
}

TEST(params_count_and_conversion_errors)
{
	struct fx f;
	fx_open(&f);
	struct query_param two[] = { P("INTEGER", "1"), P("INTEGER", "2") };
	fails(&f, "SELECT $1", two, 2, TN_EINVAL, "takes 1 parameter and 2 were given", "08P01");
	fails(&f, "SELECT $1 + $2", two, 1, TN_EINVAL, "takes 2 parameters and 1 was given", "08P01");
	fails(&f, "SELECT 1", two, 1, TN_EINVAL, "takes 0 parameters and 1 was given", "08P01");
	fails(&f, "SELECT $1, $2", NULL, 0, TN_EINVAL, "takes 2 parameters and 0 were given", "08P01");
	fails(&f, "SELECT $2", two, 2, TN_EINVAL, "without gaps", "42P02");
	fails(&f, "SELECT $name", two, 1, TN_EINVAL, "without gaps", "42P02");
	struct query_param bad[] = { P("INTEGER", "1"), P("INTEGER", "4x2") };
	fails(&f, "SELECT $1, $2", bad, 2, TN_EINVAL, "parameter $2: Conversion Error: Could not "
	      "convert string '4x2' to INT32", "22P02");
	struct query_param big = P("INTEGER", "99999999999");
	fails(&f, "SELECT $1", &big, 1, TN_EINVAL, "parameter $1: Conversion Error", "22P02");
	struct query_param date = P("DATE", "2024-13-01");
	fails(&f, "SELECT $1", &date, 1, TN_EINVAL, "parameter $1: Conversion Error: date field "
	      "value out of range", "22008");
	struct query_param nid = P(NULL, "abc");
	fails(&f, "SELECT id FROM raw.ev WHERE id = $1", &nid, 1, TN_EINVAL,
	      "parameter $1: Conversion Error", "22P02");
	struct query_param json = P("JSON", "{oops");
	fails(&f, "SELECT $1", &json, 1, TN_EINVAL, "parameter $1: Conversion Error: Malformed JSON",
	      "22P02");
	struct query_param utf = { "a\xff", 2, "VARCHAR" };
	fails(&f, "SELECT $1", &utf, 1, TN_EINVAL, "parameter $1: the value is not valid UTF-8",
	      "22021");
	struct query_param utf2 = { "a\xc3", 2, NULL };
	fails(&f, "SELECT $1", &utf2, 1, TN_EINVAL, "not valid UTF-8", "22021");
	/* a type name is a type name, never SQL */
	struct query_param evil = P("INTEGER) FROM raw.ev --", "1");
	fails(&f, "SELECT $1", &evil, 1, TN_EINVAL, "is not a type name", "42704");
	struct query_param unk = P("NOSUCHTYPE", "1");
	fails(&f, "SELECT $1", &unk, 1, TN_EINVAL, "parameter $1: Catalog Error: Type with name "
	      "NOSUCHTYPE does not exist", "42704");
	/* an unresolvable use: DuckDB's binder says why */
	struct query_param v = P(NULL, "41");
	fails(&f, "SELECT $1 + 1", &v, 1, TN_EINVAL, "best candidate", "42883");
	fx_close(&f);
}

/* A non-admin with a masked column and a row filter: parameters compare against what they read. */
TEST(params_governance_masks_and_row_filters)
{
	struct fx f;
	char err[TN_ERRLEN];
	fx_open(&f);
	CHECK_INT(catalog_tag(f.c, "raw", "ev", "code", "pii", CAT_TAG_SET, NULL, err), 0);
	struct grant gr = { .principal = "ana", .kind = GRANT_SELECT, .target = "raw.ev",
			    .row_filter = "dose > 1" };
	CHECK_INT(policy_grant(f.p, &gr, err), 0);
	struct got g;
	struct query_stats st;
	/* without parameters: code is redacted, rows with dose 1 are gone */
	CHECK_INT(run_full(&f, "ana", false, "SELECT id, code FROM raw.ev ORDER BY id", NULL, 0,
			   false, &g, &st, err), 0);
	CHECK_STR(g.rows.data, "2|***\n3|***\n5|***\n6|***\n");
	got_release(&g);
	/* the raw value of the masked column matches nothing */
	struct query_param raw = P(NULL, "03");
	CHECK_INT(run_full(&f, "ana", false, "SELECT id FROM raw.ev WHERE code = $1", &raw, 1, false,
			   &g, &st, err), 0);
	CHECK_STR(g.rows.data, "");
	got_release(&g);
	/* the masked value matches every row ana may read, the filter still applied */
	struct query_param masked = P("VARCHAR", "***");
	CHECK_INT(run_full(&f, "ana", false, "SELECT id FROM raw.ev WHERE code = $1 ORDER BY id",
			   &masked, 1, false, &g, &st, err), 0);
	CHECK_STR(g.rows.data, "2\n3\n5\n6\n");
	got_release(&g);
	/* a parameter cannot widen the row filter */
	struct query_param one_ = P("INTEGER", "1");
	CHECK_INT(run_full(&f, "ana", false, "SELECT count(*) FROM raw.ev WHERE dose = $1 OR TRUE",
			   &one_, 1, false, &g, &st, err), 0);
	CHECK_STR(g.rows.data, "4\n");
	got_release(&g);
	CHECK_INT(run_full(&f, "ana", false, "SELECT count(*) FROM raw.ev WHERE dose = $1", &one_, 1,
			   false, &g, &st, err), 0);
	CHECK_STR(g.rows.data, "0\n");
	got_release(&g);
	/* the admin reads the raw values with the same statement */
	CHECK_INT(run_full(&f, "root", true, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
			   "raw.ev WHERE code = $1", &raw, 1, false, &g, &st, err), 0);
	CHECK_STR(g.rows.data, "1,3,5\n");
	got_release(&g);
	/* a denied table stays denied with parameters */
	CHECK_INT(run_full(&f, "ana", false, "SELECT * FROM raw.nosuch WHERE 1 = $1", &one_, 1,
			   false, &g, &st, err), TN_ENOTFOUND);
	got_release(&g);
	fx_close(&f);
}

TEST(params_describe)
{
	struct fx f;
	struct got g;
	struct query_stats st;
	char err[TN_ERRLEN];
	fx_open(&f);
	/* without values: the types the statement infers, the columns, no rows */
	CHECK_INT(run_full(&f, "root", true, "SELECT id, code, amount FROM raw.ev WHERE id = $1 AND "
			   "code = $2 AND amount < $3", NULL, 0, true, &g, &st, err), 0);
	CHECK_STR(g.params.data, "BIGINT,VARCHAR,DOUBLE");
	CHECK_STR(g.cols.data, "id:BIGINT,code:VARCHAR,amount:DOUBLE");
	CHECK_INT(g.params_calls, 1);
	CHECK_INT(g.cols_calls, 1);
	CHECK_STR(g.rows.data, "");
	got_release(&g);
	/* a type the statement leaves open */
	CHECK_INT(run_full(&f, "root", true, "SELECT $1 AS a, id FROM raw.ev", NULL, 0, true, &g, &st,
			   err), 0);
	CHECK_STR(g.params.data, "UNKNOWN");
	CHECK_STR(g.cols.data, "a:VARCHAR,id:BIGINT");
	got_release(&g);
	/* with values: the columns the run will have */
	struct query_param i = P("INTEGER", "5");
	CHECK_INT(run_full(&f, "root", true, "SELECT $1 + 1 AS n", &i, 1, true, &g, &st, err), 0);
	CHECK_STR(g.params.data, "UNKNOWN");
	CHECK_STR(g.cols.data, "n:INTEGER");
	CHECK_STR(g.rows.data, "");
	got_release(&g);
	/* and the run agrees */
	CHECK_INT(run_full(&f, "root", true, "SELECT $1 + 1 AS n", &i, 1, false, &g, &st, err), 0);
	CHECK_STR(g.params.data, "UNKNOWN");
	CHECK_STR(g.cols.data, "n:INTEGER");
	CHECK_STR(g.rows.data, "6\n");
	got_release(&g);
	/* no parameters */
	CHECK_INT(run_full(&f, "root", true, "SELECT count(*) AS n FROM raw.ev", NULL, 0, true, &g,
			   &st, err), 0);
	CHECK_INT(g.params_calls, 1);
	CHECK_STR(g.params.data, "");
	CHECK_STR(g.cols.data, "n:BIGINT");
	got_release(&g);
	/* describe checks like a run: guard, catalog, grants, binding */
	CHECK_INT(run_full(&f, "root", true, "DROP TABLE raw.ev", NULL, 0, true, &g, &st, err),
		  TN_EDENIED);
	got_release(&g);
	CHECK_INT(run_full(&f, "root", true, "SELECT * FROM raw.nope", NULL, 0, true, &g, &st, err),
		  TN_ENOTFOUND);
	CHECK_STR(st.sqlstate, "42P01");
	got_release(&g);
	CHECK_INT(run_full(&f, "ana", false, "SELECT * FROM raw.ev", NULL, 0, true, &g, &st, err),
		  TN_EDENIED);
	CHECK_STR(st.sqlstate, "42501");
	got_release(&g);
	CHECK_INT(run_full(&f, "root", true, "SELECT nope FROM raw.ev WHERE id = $1", NULL, 0, true,
			   &g, &st, err), TN_EINVAL);
	CHECK_STR(st.sqlstate, "42703");
	got_release(&g);
	fx_close(&f);
}

/* Each failure's SQLSTATE, from a real statement. */
static void state_of(struct fx *f, const char *user, const char *sql, const char *state)
{
	struct got g;
	struct query_stats st;
	char err[TN_ERRLEN];
	int rc = run_full(f, user, !strcmp(user, "root"), sql, NULL, 0, false, &g, &st, err);
	if (rc == 0 || strcmp(st.sqlstate, state))
		fprintf(stderr, "%s\n-> rc %d %s: %s (wanted %s)\n", sql, rc, st.sqlstate,
			rc ? err : "ok", state);
	CHECK(rc != 0);
	CHECK_STR(st.sqlstate, state);
	got_release(&g);
}

TEST(sqlstates)
{
	struct fx f;
	fx_open(&f);
	state_of(&f, "root", "SELEC 1", "42601");
	state_of(&f, "root", "SELECT (1", "42601");
	state_of(&f, "root", "SELECT * FROM raw.nosuch", "42P01");
	state_of(&f, "root", "SELECT * FROM nosuchdb.t", "3F000");
	state_of(&f, "root", "SELECT nosuchcol FROM raw.ev", "42703");
	state_of(&f, "root", "SELECT nosuchfn(1)", "42883");
	state_of(&f, "root", "SELECT sum('a')", "42883");
	state_of(&f, "root", "SELECT 'abc'::INTEGER", "22P02");
	state_of(&f, "root", "SELECT CAST(1 AS INTEGER[])", "42846");
	state_of(&f, "root", "SELECT 99999999999::INTEGER", "22003");
	state_of(&f, "root", "SELECT 2147483647::INTEGER + 1", "22003");
	state_of(&f, "root", "SELECT x::nosuchtype FROM (SELECT 1 AS x)", "42704");
	state_of(&f, "root", "SELECT count(*) FROM raw.ev GROUP BY count(*)", "42803");
	state_of(&f, "root", "CREATE TABLE x (a INT)", "42501");
	state_of(&f, "ana", "SELECT * FROM raw.ev", "42501");
	state_of(&f, "root", "SELECT * FROM read_csv('/etc/passwd')", "42501");
	state_of(&f, "root", "SELECT error('boom')", "22023");
	{
		/* a deadline */
		struct got g;
		struct query_stats st;
		char err[TN_ERRLEN];
		struct query_sink sink = { .columns = g_columns, .row = g_row, .arg = &g };
		struct query_req q = { .sql = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT "
					       "i + 1 FROM r WHERE i < 100000000) SELECT count(*) FROM r",
				       .user = "root", .admin = true, .timeout_ms = 100 };
		got_init(&g);
		CHECK_INT(query_run(f.e, &q, &sink, &st, err), TN_ETIMEDOUT);
		CHECK_STR(st.sqlstate, "57014");
		got_release(&g);
		/* canceled */
		struct query_ctl *ctl = query_ctl_new();
		query_cancel(ctl);
		q.ctl = ctl;
		q.timeout_ms = 0;
		got_init(&g);
		CHECK_INT(query_run(f.e, &q, &sink, &st, err), TN_ECANCELED);
		CHECK_STR(st.sqlstate, "57014");
		got_release(&g);
		query_ctl_free(ctl);
		/* past a guard cap */
		struct buf b = BUF_INIT(0);
		buf_puts(&b, "SELECT 1");
		for (int i = 0; i < 2000; i++)
			buf_puts(&b, " + (((((((((1)))))))))");
		q.sql = b.data;
		q.ctl = NULL;
		got_init(&g);
		CHECK_INT(query_run(f.e, &q, &sink, &st, err), TN_EINVAL);
		CHECK_STR(st.sqlstate, "54001");
		got_release(&g);
		/* past the guard's cap on SQL text */
		buf_reset(&b);
		buf_puts(&b, "SELECT 1 -- ");
		while (b.len <= (1u << 20))
			buf_puts(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		q.sql = b.data;
		got_init(&g);
		CHECK_INT(query_run(f.e, &q, &sink, &st, err), TN_ETOOBIG);
		CHECK_STR(st.sqlstate, "54000");
		got_release(&g);
		buf_release(&b);
	}
	CHECK_STR(query_sqlstate(TN_EAGAIN, "too many queries"), "53300");
	CHECK_STR(query_sqlstate(TN_ETOOBIG, "query ran out of memory (query.memory_limit)"),
		  "53200");
	CHECK_STR(query_sqlstate(TN_ETOOBIG, "past a cap"), "54000");
	CHECK_STR(query_sqlstate(TN_EUNSUPPORTED, "x"), "0A000");
	CHECK_STR(query_sqlstate(TN_EINTERNAL, "x"), "XX000");
	fx_close(&f);
}

/* Splits text into "[stmt]" pieces by query_next_statement. */
static void split(const char *text, const char *want)
{
	struct buf b = BUF_INIT(0);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		size_t s, e;
		size_t next = query_next_statement(text + off, len - off, &s, &e);
		CHECK(next > 0 && next <= len - off);
		CHECK(s <= e && e <= next);
		buf_printf(&b, "[%.*s]", (int)(e - s), text + off + s);
		off += next;
	}
	if (strcmp(b.data, want))
		fprintf(stderr, "split %s\n-> %s\nwanted %s\n", text, b.data, want);
	CHECK_STR(b.data, want);
	buf_release(&b);
}

TEST(statement_splitting)
{
	split("SELECT 1", "[SELECT 1]");
	split("SELECT 1;", "[SELECT 1]");
	split("  SELECT 1 ;  SELECT 2;\n", "[SELECT 1][SELECT 2][]");
	split("SELECT 1;;SELECT 2", "[SELECT 1][][SELECT 2]");
	split("SELECT ';' AS a; SELECT 2", "[SELECT ';' AS a][SELECT 2]");
	split("SELECT 'it''s;'; SELECT 2", "[SELECT 'it''s;'][SELECT 2]");
	split("SELECT E'a\\';b'; SELECT 2", "[SELECT E'a\\';b'][SELECT 2]");
	split("SELECT 'a\\'; SELECT 2", "[SELECT 'a\\'][SELECT 2]");
	split("SELECT \"a;b\" FROM t; SELECT 2", "[SELECT \"a;b\" FROM t][SELECT 2]");
	split("SELECT $$a;b$$; SELECT $tag$x;$$;$tag$;", "[SELECT $$a;b$$][SELECT $tag$x;$$;$tag$]");
	split("SELECT $1; SELECT $2", "[SELECT $1][SELECT $2]");
	split("SELECT a$b$c FROM t; SELECT 2", "[SELECT a$b$c FROM t][SELECT 2]");
	split("-- a comment; still\nSELECT 1; -- trailing;\n", "[SELECT 1][]");
	split("/* a; /* nested; */ still; */ SELECT 1 /* x; */; SELECT 2",
	      "[SELECT 1][SELECT 2]");
	split("/* only a comment; */", "[]");
	split("   \n\t ", "[]");
	split(";", "[]");
	split("SELECT 'open;", "[SELECT 'open;]");
	split("SELECT 1 /* open;", "[SELECT 1]");
	/* the length bounds it: nothing past len is read */
	{
		size_t s, e;
		const char *t = "SELECT 1; SELECT 2";
		CHECK_INT(query_next_statement(t, 6, &s, &e), 6);
		CHECK_INT(s, 0);
		CHECK_INT(e, 6);
		CHECK_INT(query_next_statement("", 0, &s, &e), 0);
		CHECK_INT(s, e);
		CHECK_INT(query_next_statement("SELECT 'x;'", 9, &s, &e), 9);
	}
}

/* ---- qservice_exec: what a protocol session runs ---- */

#include "query/service.h"

static int exec_as(struct qservice *qs, const char *sql, const struct qservice_opts *o,
		   struct got *g, struct qinfo *info, char *err)
{
	struct qwho who = { "root", true };
	struct query_sink sink = { .columns = g_columns, .row = g_row, .arg = g,
				   .params = g_params };
	got_init(g);
	return qservice_exec(qs, &who, sql, o, &sink, info, err);
}

static size_t history_count(struct qservice *qs)
{
	struct qwho who = { "root", true };
	struct qinfo_list l;
	char err[TN_ERRLEN];
	CHECK_INT(qservice_list(qs, &who, 1000, &l, err), 0);
	size_t n = l.n;
	qinfo_list_release(&l);
	return n;
}

TEST(service_exec_for_sessions)
{
	struct fx f;
	struct qservice *qs;
	struct got g;
	struct qinfo info;
	char err[TN_ERRLEN];
	fx_open(&f);
	CHECK_INT(qservice_open(f.e, f.s, f.m, f.c, NULL, f.p, &qs, err), 0);

	/* a read with parameters, rows only to the sink */
	struct query_param p = P("BIGINT", "4");
	struct qservice_opts o = { .params = &p, .nparams = 1, .no_result_file = true, .via = "pg" };
	CHECK_INT(exec_as(qs, "SELECT id FROM raw.ev WHERE id >= $1 ORDER BY id", &o, &g, &info, err),
		  0);
	CHECK_STR(g.params.data, "BIGINT");
	CHECK_STR(g.rows.data, "4\n5\n6\n");
	CHECK_STR(info.command, "SELECT");
	CHECK_INT(info.affected, 3);
	CHECK_STR(info.result_key, "");
	CHECK_STR(info.stats.sqlstate, "");
	CHECK_INT(info.state, QSTATE_SUCCEEDED);
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(history_count(qs), 1);

	/* the REST API's run keeps its result file */
	{
		struct qwho who = { "root", true };
		struct query_sink sink = { .columns = g_columns, .row = g_row, .arg = &g };
		got_init(&g);
		CHECK_INT(qservice_run(qs, &who, "SELECT 1 AS a", 0, &sink, &info, err), 0);
		CHECK(strstr(info.result_key, "01-athena/root/") != NULL);
		CHECK_STR(info.command, "SELECT");
		CHECK_INT(info.affected, 1);
		got_release(&g);
		qinfo_release(&info);
	}

	/* describe: nothing runs, nothing is recorded */
	struct qservice_opts d = { .describe_only = true, .via = "pg" };
	CHECK_INT(exec_as(qs, "SELECT code FROM raw.ev WHERE dose = $1", &d, &g, &info, err), 0);
	CHECK_STR(g.params.data, "BIGINT");
	CHECK_STR(g.cols.data, "code:VARCHAR");
	CHECK_STR(g.rows.data, "");
	CHECK_STR(info.command, "SELECT");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "SELECT nope FROM raw.ev", &d, &g, &info, err), TN_EINVAL);
	CHECK_STR(info.stats.sqlstate, "42703");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(history_count(qs), 2);

	/* writes: no rows with write_no_rows, the tag and the count in info */
	struct qservice_opts w = { .params = &p, .nparams = 1, .no_result_file = true,
				   .write_no_rows = true, .via = "pg" };
	struct qservice_opts dw = { .describe_only = true, .write_no_rows = true };
	CHECK_INT(exec_as(qs, "CREATE TABLE mart.t AS SELECT id FROM raw.ev WHERE id >= $1", &dw,
			  &g, &info, err), 0);
	CHECK_STR(g.params.data, "BIGINT");
	CHECK_INT(g.cols_calls, 0);
	CHECK_STR(info.command, "SELECT");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "CREATE TABLE mart.t AS SELECT id FROM raw.ev WHERE id >= $1", &w, &g,
			  &info, err), 0);
	CHECK_INT(g.cols_calls, 0);
	CHECK_STR(g.rows.data, "");
	CHECK_STR(info.command, "SELECT");
	CHECK_INT(info.affected, 3);
	got_release(&g);
	qinfo_release(&info);
	struct query_param two = P(NULL, "2");
	w.params = &two;
	CHECK_INT(exec_as(qs, "INSERT INTO mart.t SELECT id FROM raw.ev WHERE id <= $1", &w, &g,
			  &info, err), 0);
	CHECK_STR(info.command, "INSERT");
	CHECK_INT(info.affected, 2);
	got_release(&g);
	qinfo_release(&info);
	w.params = NULL;
	w.nparams = 0;
	CHECK_INT(exec_as(qs, "SELECT count(*) FROM mart.t", &w, &g, &info, err), 0);
	CHECK_STR(g.rows.data, "5\n");  /* reads still send rows */
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "CREATE TABLE IF NOT EXISTS mart.t AS SELECT 1 AS id", &w, &g, &info,
			  err), 0);
	CHECK_STR(info.command, "CREATE TABLE AS");
	CHECK_INT(info.affected, 0);
	got_release(&g);
	qinfo_release(&info);
	/* without write_no_rows, the answer row as the REST API gives it */
	struct qservice_opts wr = { .no_result_file = true };
	CHECK_INT(exec_as(qs, "DROP TABLE mart.t", &wr, &g, &info, err), 0);
	CHECK_STR(info.command, "DROP TABLE");
	CHECK_STR(g.cols.data, "table:VARCHAR,operation:VARCHAR,rows:BIGINT,files:BIGINT");
	CHECK(strncmp(g.rows.data, "mart.t|DROP|0|", 14) == 0);
	got_release(&g);
	qinfo_release(&info);
	/* failures carry their SQLSTATE */
	CHECK_INT(exec_as(qs, "DROP TABLE mart.t", &w, &g, &info, err), TN_ENOTFOUND);
	CHECK_STR(info.stats.sqlstate, "42P01");
	CHECK_STR(info.command, "DROP TABLE");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "CREATE TABLE raw.t AS SELECT 1", &w, &g, &info, err), TN_EDENIED);
	CHECK_STR(info.stats.sqlstate, "42501");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "SELECT * FROM nosuchdb.t", &w, &g, &info, err), TN_ENOTFOUND);
	CHECK_STR(info.stats.sqlstate, "3F000");
	got_release(&g);
	qinfo_release(&info);
	CHECK_INT(exec_as(qs, "CREATE TABLE mart.u AS SELECT $1 AS x", &w, &g, &info, err),
		  TN_EINVAL);
	CHECK_STR(info.stats.sqlstate, "08P01");
	got_release(&g);
	qinfo_release(&info);
	/* EXPLAIN */
	CHECK_INT(exec_as(qs, "  EXPLAIN SELECT * FROM raw.ev", &wr, &g, &info, err), 0);
	CHECK_STR(info.command, "EXPLAIN");
	got_release(&g);
	qinfo_release(&info);
	qservice_close(qs);
	fx_close(&f);
}

/*
 * test_guard.c - the SQL guard, each case a real DuckDB parse.
 */
#include "query/guard.h"

#include <pthread.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "harness.h"

#define ANY_POS (-2L)

static struct guard *open_guard(void)
{
	char err[TN_ERRLEN] = "";
	struct guard *g = NULL;
	int rc = guard_new(&g, err);
	if (rc)
		fprintf(stderr, "guard_new: %s\n", err);
	CHECK_INT(rc, 0);
	CHECK(g != NULL);
	return g;
}

/* The tables of r as "db.name,name,..." (caller frees). */
static char *tables_of(const struct guard_result *r)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < r->ntables; i++) {
		char *n = xasprintf("%s%s%s%s%s", s, i ? "," : "",
				    r->tables[i].db ? r->tables[i].db : "",
				    r->tables[i].db ? "." : "", r->tables[i].name);
		free(s);
		s = n;
	}
	return s;
}

/* Checks that sql is accepted and references exactly tables (in order). */
static void expect_ok(const char *sql, const char *tables)
{
	struct guard *g = open_guard();
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	int rc = guard_check(g, sql, &r, err);
	char *got;
	if (rc)
		fprintf(stderr, "sql: %s\nrefused: %s\n", sql, err);
	CHECK_INT(rc, 0);
	CHECK_INT(r.error_pos, -1);
	got = tables_of(&r);
	CHECK_STR(got, tables);
	free(got);
	guard_result_release(&r);
	CHECK(r.tables == NULL && r.ntables == 0);
	guard_free(g);
}

/* Checks that sql is refused with code, a message holding msg, at pos. */
static void expect_fail(const char *sql, int code, const char *msg, long pos)
{
	struct guard *g = open_guard();
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	int rc = guard_check(g, sql, &r, err);
	if (rc != code || !strstr(err, msg))
		fprintf(stderr, "sql: %.200s\nrc %d, message: %s\n", sql, rc, err);
	CHECK_INT(rc, code);
	CHECK(strstr(err, msg) != NULL);
	if (pos != ANY_POS)
		CHECK_INT(r.error_pos, pos);
	CHECK(r.tables == NULL && r.ntables == 0);
	guard_result_release(&r);
	guard_free(g);
}

/* ---- accepted ---- */

TEST(guard_plain_select)
{
	expect_ok("SELECT vaccine, count(*) FROM raw.immunizations WHERE year = 2026 GROUP BY 1",
		  "raw.immunizations");
}

TEST(guard_join_raw_master)
{
	expect_ok("SELECT i.patient_id, v.name FROM raw.immunizations i "
		  "JOIN master.vaccines v ON v.code = i.vaccine_code "
		  "LEFT JOIN master.counties c USING (county)",
		  "raw.immunizations,master.vaccines,master.counties");
}

TEST(guard_cte)
{
	expect_ok("WITH recent AS (SELECT * FROM raw.immunizations WHERE year = 2026), "
		  "byv AS (SELECT vaccine, count(*) n FROM recent GROUP BY 1) "
		  "SELECT * FROM byv JOIN master.vaccines m ON m.code = byv.vaccine",
		  "raw.immunizations,master.vaccines");
}

TEST(guard_cte_scoping)
{
	/* A CTE body does not see its own name: the inner t is a table. */
	expect_ok("WITH t AS (SELECT * FROM t) SELECT * FROM t", "t");
	/* A CTE inside a subquery is not visible outside it. */
	expect_ok("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, x", "x");
	/* A qualified name is never a CTE. */
	expect_ok("WITH x AS (SELECT 1) SELECT * FROM x, raw.x", "raw.x");
	/* CTE names compare case-insensitively, as DuckDB binds them. */
	expect_ok("WITH Recent AS (SELECT * FROM raw.a) SELECT * FROM RECENT", "raw.a");
}

TEST(guard_cte_recursive_and_materialized)
{
	expect_ok("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
		  "SELECT * FROM r, raw.a", "raw.a");
	expect_ok("WITH m AS MATERIALIZED (SELECT * FROM raw.a) SELECT * FROM m JOIN m m2 USING (id)",
		  "raw.a");
	expect_ok("WITH m AS MATERIALIZED (SELECT * FROM m) SELECT * FROM m", "m");
}

TEST(guard_subqueries)
{
	expect_ok("SELECT * FROM raw.immunizations WHERE patient_id IN "
		  "(SELECT id FROM master.patients WHERE county = 'x')",
		  "raw.immunizations,master.patients");
	expect_ok("SELECT vaccine, (SELECT max(dose) FROM raw.doses d WHERE d.v = i.vaccine) "
		  "FROM raw.immunizations i",
		  "raw.doses,raw.immunizations");
	expect_ok("SELECT vaccine FROM raw.a GROUP BY 1 HAVING count(*) > "
		  "(SELECT count(*) FROM raw.b) AND EXISTS (SELECT 1 FROM master.c)",
		  "raw.a,raw.b,master.c");
	expect_ok("SELECT * FROM (SELECT * FROM (SELECT * FROM raw.deep) q1) q2", "raw.deep");
}

TEST(guard_set_operations)
{
	expect_ok("SELECT id FROM raw.a UNION SELECT id FROM raw.b "
		  "INTERSECT SELECT id FROM master.c EXCEPT SELECT id FROM raw.d",
		  "raw.a,raw.b,master.c,raw.d");
	expect_ok("SELECT id FROM raw.a UNION ALL SELECT id FROM raw.a", "raw.a");
}

TEST(guard_values)
{
	expect_ok("VALUES (1, 'a'), (2, 'b')", "");
	expect_ok("SELECT 1 + 2", "");
	expect_ok("SELECT * FROM (VALUES (1), (2)) v(x)", "");
}

TEST(guard_unqualified_and_quoted)
{
	expect_ok("SELECT * FROM immunizations", "immunizations");
	expect_ok("SELECT * FROM \"Raw\".\"My Table\"", "Raw.My Table");
	/* The same table twice, in two spellings, is reported once. */
	expect_ok("SELECT * FROM raw.a JOIN RAW.A b USING (id)", "raw.a");
}

TEST(guard_other_read_forms)
{
	expect_ok("FROM raw.a SELECT id", "raw.a");
	expect_ok("TABLE raw.a", "raw.a");
	expect_ok("SELECT * FROM raw.a PIVOT (sum(n) FOR k IN (1, 2))", "raw.a");
	expect_ok("SELECT * FROM raw.a POSITIONAL JOIN raw.b", "raw.a,raw.b");
	expect_ok("SELECT * FROM raw.a, LATERAL (SELECT * FROM raw.b WHERE b.id = a.id) l",
		  "raw.a,raw.b");
	expect_ok("-- a comment\nSELECT /* here */ * FROM raw.a", "raw.a");
}

TEST(guard_explain)
{
	expect_ok("EXPLAIN SELECT * FROM raw.a", "raw.a");
	expect_ok("  explain\n analyze  SELECT * FROM raw.a JOIN master.b USING (id)",
		  "raw.a,master.b");
	expect_fail("EXPLAIN ATTACH 'x.db'", TN_EDENIED, "'ATTACH' statements are not allowed", -1);
	expect_fail("EXPLAIN SELECT * FROM read_csv('x')", TN_EDENIED,
		    "table function 'read_csv' at byte 22", 22);
	/* Positions count from the start of the whole text. */
	expect_fail("EXPLAIN SELECT 1 FRM x", TN_EINVAL, "syntax error", 21);
	/* Only whitespace may come before EXPLAIN: a comment hides it. */
	expect_fail("/* c */ EXPLAIN SELECT 1", TN_EDENIED, "not a query", -1);
}

/* ---- refused statements ---- */

TEST(guard_refused_statement_kinds)
{
	static const struct { const char *sql, *kind; } cases[] = {
		{ "ATTACH 'other.db' AS o", "'ATTACH'" },
		{ "DETACH o", "'DETACH'" },
		{ "COPY raw.a TO '/tmp/out.csv'", "'COPY'" },
		{ "SET enable_external_access = true", "'SET'" },
		{ "RESET memory_limit", "'RESET'" },
		{ "PRAGMA database_list", "'PRAGMA'" },
		{ "INSTALL httpfs", "'INSTALL'" },
		{ "LOAD httpfs", "'LOAD'" },
		{ "EXPORT DATABASE '/tmp/x'", "'EXPORT'" },
		{ "CREATE TABLE t AS SELECT 1", "'CREATE TABLE'" },
		{ "CREATE OR REPLACE VIEW v AS SELECT 1", "'CREATE VIEW'" },
		{ "DROP TABLE raw.a", "'DROP TABLE'" },
		{ "INSERT INTO raw.a VALUES (1)", "'INSERT'" },
		{ "UPDATE raw.a SET x = 1", "'UPDATE'" },
		{ "DELETE FROM raw.a", "'DELETE'" },
		{ "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "'CREATE SECRET'" },
		{ "CREATE PERSISTENT SECRET s (TYPE s3)", "'CREATE SECRET'" },
		{ "DROP SECRET s", "'DROP SECRET'" },
		{ "CALL duckdb_tables()", "'CALL'" },
		{ "PIVOT raw.a ON k USING sum(n)", "'PIVOT'" },
		{ "checkpoint", "'CHECKPOINT'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_fail(cases[i].sql, TN_EDENIED, cases[i].kind, ANY_POS);
	}
	/* A statement in parentheses is not a query: DuckDB's parser says so. */
	expect_fail("  (ATTACH 'x')", TN_EINVAL, "syntax error", 3);
	expect_fail("ATTACH 'x.db'", TN_EDENIED,
		    "'ATTACH' statements are not allowed: only one read statement "
		    "(SELECT, WITH, VALUES or EXPLAIN) may run", -1);
}

TEST(guard_describe_show_summarize)
{
	expect_fail("DESCRIBE raw.a", TN_EDENIED, "DESCRIBE, SHOW or SUMMARIZE", ANY_POS);
	expect_fail("SHOW TABLES", TN_EDENIED, "DESCRIBE, SHOW or SUMMARIZE", ANY_POS);
	expect_fail("SUMMARIZE raw.a", TN_EDENIED, "DESCRIBE, SHOW or SUMMARIZE", ANY_POS);
}

TEST(guard_syntax_error)
{
	expect_fail("SELECT 1 FRM x", TN_EINVAL, "syntax error at or near \"x\" (at byte 13)", 13);
	expect_fail("selec 1", TN_EINVAL, "syntax error", 0);
	expect_fail("", TN_EINVAL, "sql is empty", -1);
	expect_fail("  -- only a comment\n", TN_EINVAL, "sql is empty", -1);
}

TEST(guard_multiple_statements)
{
	expect_fail("select 1; select 2", TN_EDENIED, "sql holds 2 statements", -1);
	expect_fail("SELECT * FROM raw.a; ATTACH 'x.db'", TN_EDENIED,
		    "sql holds a statement that is not a query", -1);
	/* A trailing semicolon is still one statement. */
	expect_ok("SELECT * FROM raw.a;", "raw.a");
}

/* ---- refused table references ---- */

TEST(guard_table_functions)
{
	expect_fail("SELECT * FROM read_csv('/etc/passwd')", TN_EDENIED,
		    "table function 'read_csv' at byte 14 is not allowed: query catalog tables by name",
		    14);
	expect_fail("SELECT * FROM raw.a JOIN read_parquet('s3://b/x.parquet') p ON p.id = a.id",
		    TN_EDENIED, "table function 'read_parquet' at byte 25", 25);
	expect_fail("SELECT * FROM glob('*')", TN_EDENIED, "table function 'glob'", 14);
	expect_fail("SELECT * FROM duckdb_tables()", TN_EDENIED, "table function 'duckdb_tables'",
		    ANY_POS);
	expect_fail("SELECT * FROM query('ATTACH ''x''')", TN_EDENIED, "table function 'query'",
		    ANY_POS);
	expect_fail("SELECT * FROM sniff_csv('/etc/passwd')", TN_EDENIED,
		    "table function 'sniff_csv'", ANY_POS);
	expect_fail("SELECT * FROM raw.a, LATERAL read_text(a.path)", TN_EDENIED,
		    "table function 'read_text'", ANY_POS);
}

TEST(guard_hidden_table_functions)
{
	expect_fail("SELECT * FROM raw.a WHERE id IN (SELECT id FROM (SELECT * FROM "
		    "(SELECT * FROM read_json('/x')) q1) q2)",
		    TN_EDENIED, "table function 'read_json'", ANY_POS);
	expect_fail("SELECT (SELECT count(*) FROM read_csv('/etc/shadow')) FROM raw.a",
		    TN_EDENIED, "table function 'read_csv'", ANY_POS);
	expect_fail("WITH x AS (SELECT * FROM read_blob('/etc/passwd')) SELECT * FROM x",
		    TN_EDENIED, "table function 'read_blob'", ANY_POS);
	expect_fail("SELECT * FROM raw.a UNION SELECT * FROM glob('/*')", TN_EDENIED,
		    "table function 'glob'", ANY_POS);
	expect_fail("SELECT * FROM raw.a GROUP BY 1 HAVING 1 < (SELECT count(*) FROM range(3))",
		    TN_EDENIED, "table function 'range'", ANY_POS);
}

TEST(guard_file_paths)
{
	expect_fail("SELECT * FROM 'x.csv'", TN_EDENIED,
		    "file path 'x.csv' used as a table at byte 14 is not allowed", 14);
	expect_fail("FROM \"data/y.parquet\"", TN_EDENIED, "file path 'data/y.parquet'", 5);
	/* Unquoted x.csv is schema x, table csv: DuckDB still reads 'x.csv'. */
	expect_fail("SELECT * FROM x.csv", TN_EDENIED, "file path 'x.csv'", ANY_POS);
	expect_fail("SELECT * FROM '/etc/passwd'", TN_EDENIED, "file path '/etc/passwd'", ANY_POS);
	expect_fail("SELECT * FROM raw.a JOIN 's3://bucket/*.json' j USING (id)", TN_EDENIED,
		    "file path 's3://bucket/*.json'", ANY_POS);
}

TEST(guard_system_tables)
{
	static const char *const sqls[] = {
		"SELECT * FROM information_schema.tables",
		"SELECT * FROM pg_catalog.pg_class",
		"SELECT * FROM pg_class",
		"SELECT * FROM duckdb_tables",
		"SELECT * FROM main.DuckDB_Settings",
		"SELECT * FROM sqlite_master",
		"SELECT * FROM pragma_database_list",
		"SELECT * FROM system.duckdb_tables",
		"SELECT * FROM system.main.duckdb_tables",
		"SELECT * FROM temp.main.x",
		"SELECT * FROM raw.a WHERE id IN (SELECT oid FROM pg_catalog.pg_namespace)",
	};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++)
		expect_fail(sqls[i], TN_EDENIED, "system table '", ANY_POS);
	expect_fail("SELECT * FROM information_schema.columns", TN_EDENIED,
		    "system table 'information_schema.columns' at byte 14 is not allowed", 14);
	expect_fail("SELECT * FROM memory.raw.a", TN_EDENIED,
		    "catalog-qualified table 'memory.raw.a'", 14);
	/* A zone table whose name merely starts like a system name is fine. */
	expect_ok("SELECT * FROM raw.duckdb_events", "raw.duckdb_events");
}

/* ---- caps ---- */

TEST(guard_too_long)
{
	size_t n = GUARD_MAX_SQL + 1;
	char *sql = xmalloc(n + 1);
	memset(sql, ' ', n);
	memcpy(sql, "SELECT 1", 8);
	sql[n] = '\0';
	expect_fail(sql, TN_ETOOBIG, "sql is longer than 1048576 bytes", -1);
	/* Just under the cap, a long statement is still checked. */
	sql[n - 1] = '\0';
	expect_ok(sql, "");
	free(sql);
}

/* head, then n times open, then mid, then n times close (caller frees). */
static char *nested(const char *head, const char *open, const char *mid, const char *close,
		    size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(buf_puts(&b, head), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(buf_puts(&b, open), 0);
	CHECK_INT(buf_puts(&b, mid), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(buf_puts(&b, close), 0);
	return b.data;  /* owned: the buf has grown past its static empty string */
}

TEST(guard_deep_nesting)
{
	char *sql;
	/* 300 nested scalar subqueries: DuckDB parses them, the walk stops. */
	sql = nested("SELECT ", "(SELECT ", "1", ")", 300);
	expect_fail(sql, TN_ETOOBIG, "sql is nested too deeply", -1);
	free(sql);
	/* 30 levels are fine, and the innermost table is found. */
	sql = nested("SELECT ", "(SELECT ", "x FROM raw.inner", ")", 30);
	expect_ok(sql, "raw.inner");
	free(sql);
	/*
	 * 100,000 levels (800 KB) and 200,000 NOTs: DuckDB's parser gives up
	 * ("memory exhausted", its depth limit) without crashing.
	 */
	sql = nested("SELECT ", "(SELECT ", "1", ")", 100000);
	expect_fail(sql, TN_EINVAL, "sql: ", ANY_POS);
	free(sql);
	sql = nested("SELECT ", "NOT ", "true", "", 200000);
	expect_fail(sql, TN_EINVAL, "sql: ", ANY_POS);
	free(sql);
}

TEST(guard_long_in_list)
{
	/* A 400 KB generated IN list is an ordinary query. */
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(buf_printf(&b, "SELECT * FROM raw.a WHERE id IN (0"), 0);
	for (int i = 1; i < 60000; i++)
		CHECK_INT(buf_printf(&b, ",%d", i), 0);
	CHECK_INT(buf_printf(&b, ")"), 0);
	CHECK(b.len > 300000);
	expect_ok(b.data, "raw.a");
	buf_release(&b);
}

/* "WITH c0 AS<sep>(SELECT 1), ... SELECT 1" with n CTEs (caller frees). */
static char *many_ctes(size_t n, const char *sep)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(buf_puts(&b, "WITH "), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(buf_printf(&b, "%sc%zu AS%s(SELECT %zu)", i ? ", " : "", i, sep, i), 0);
	CHECK_INT(buf_puts(&b, " SELECT * FROM c0, raw.a"), 0);
	return b.data;
}

TEST(guard_cte_caps)
{
	char *sql;
	sql = many_ctes(GUARD_MAX_CTES, " ");
	expect_ok(sql, "raw.a");
	free(sql);
	/* Past the cap, refused before DuckDB parses (its parser is quadratic). */
	sql = many_ctes(GUARD_MAX_CTES + 1, " ");
	expect_fail(sql, TN_ETOOBIG, "more than 100 common table expressions", -1);
	free(sql);
	/* A comment between AS and "(" does not hide a CTE from the count. */
	sql = many_ctes(GUARD_MAX_CTES + 1, "/* c */");
	expect_fail(sql, TN_ETOOBIG, "more than 100 common table expressions", -1);
	free(sql);
	sql = many_ctes(GUARD_MAX_CTES + 1, "\n--c\n");
	expect_fail(sql, TN_ETOOBIG, "common table expressions", -1);
	free(sql);
	sql = many_ctes(GUARD_MAX_MATERIALIZED, " MATERIALIZED ");
	expect_ok(sql, "raw.a");
	free(sql);
	sql = many_ctes(GUARD_MAX_MATERIALIZED + 1, " materialized ");
	expect_fail(sql, TN_ETOOBIG, "more than 16 materialized common table expressions", -1);
	free(sql);
	sql = many_ctes(GUARD_MAX_CTES + 1, " NOT MATERIALIZED ");
	expect_fail(sql, TN_ETOOBIG, "common table expressions", -1);
	free(sql);
}

TEST(guard_many_aliases)
{
	/* Column aliases are not CTEs: 500 of them pass the CTE count. */
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(buf_puts(&b, "SELECT 0 AS a0"), 0);
	for (int i = 1; i < 500; i++)
		CHECK_INT(buf_printf(&b, ", %d AS \"a%d\"", i, i), 0);
	CHECK_INT(buf_puts(&b, " FROM raw.a AS t"), 0);
	expect_ok(b.data, "raw.a");
	buf_release(&b);
}

/* ---- threads ---- */

static void *check_loop(void *arg)
{
	struct guard *g = arg;
	for (int i = 0; i < 50; i++) {
		struct guard_result r;
		char err[TN_ERRLEN];
		if (guard_check(g, "SELECT * FROM raw.a JOIN master.b USING (id)", &r, err) != 0 ||
		    r.ntables != 2)
			return (void *)1;
		guard_result_release(&r);
	}
	return NULL;
}

TEST(guard_shared_by_threads)
{
	struct guard *g = open_guard();
	pthread_t t[4];
	void *ret;
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, check_loop, g), 0);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(pthread_join(t[i], &ret), 0);
		CHECK(ret == NULL);
	}
	guard_free(g);
	guard_free(NULL);
	guard_result_release(NULL);
}

/* The predicates of every reference as "t:col op v1/v2;col op v;|t:..." */
static char *preds_of(const char *sql)
{
	static const char *const ops[] = { "=", "<>", "<", "<=", ">", ">=", "in", "between" };
	struct guard *g = open_guard();
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	int rc = guard_check(g, sql, &r, err);
	if (rc)
		fprintf(stderr, "sql: %s\nrefused: %s\n", sql, err);
	CHECK_INT(rc, 0);
	struct buf b = BUF_INIT(0);
	for (size_t i = 0; i < r.ntables; i++)
		for (size_t k = 0; k < r.tables[i].nrefs; k++) {
			const struct guard_ref *ref = &r.tables[i].refs[k];
			buf_printf(&b, "%s%s:", b.len ? "|" : "", r.tables[i].name);
			for (size_t p = 0; p < ref->npreds; p++) {
				const struct guard_pred *pr = &ref->preds[p];
				buf_printf(&b, "%s %s ", pr->column, ops[pr->op]);
				for (size_t v = 0; v < pr->nvals; v++)
					buf_printf(&b, "%s%s%s", v ? "/" : "",
						   pr->vals[v].number ? "" : "'", pr->vals[v].text);
				buf_putc(&b, ';');
			}
		}
	guard_result_release(&r);
	guard_free(g);
	return buf_detach(&b, NULL);
}

static void expect_preds(const char *sql, const char *want)
{
	char *got = preds_of(sql);
	if (strcmp(got, want))
		fprintf(stderr, "sql: %s\n got: %s\nwant: %s\n", sql, got, want);
	CHECK_STR(got, want);
	free(got);
}

TEST(guard_pruning_predicates)
{
	expect_preds("SELECT * FROM raw.t WHERE year = 2026 AND month IN (1, 2) AND "
		     "day BETWEEN 1 AND 3 AND 5 < hour AND region = 'x' AND other(day)",
		     "t:year = 2026;month in 1/2;day between 1/3;hour > 5;region = 'x;");
	/* qualified by alias or by name; the other table's columns stay its own */
	expect_preds("SELECT * FROM raw.t a JOIN master.m ON a.k = m.k WHERE a.day = 1 AND "
		     "m.code >= 2.5e0 AND day = 7",
		     "t:day = 1;|m:code >= 2.5;");
	expect_preds("SELECT * FROM raw.t WHERE raw.t.day = 1 AND t.month = 2",
		     "t:day = 1;month = 2;");
	/* not conjunctive, not constant, NULL, casts, decimals: nothing (the parser
	 * itself turns NOT (day = 1) into day <> 1) */
	expect_preds("SELECT * FROM raw.t WHERE day = 1 OR day = 2", "t:");
	expect_preds("SELECT * FROM raw.t WHERE day = month AND day = NULL AND "
		     "day = DATE '2026-01-01' AND day = 1.5 AND NOT (day = 1)", "t:day <> 1;");
	/* a reference per place, each with its own WHERE */
	expect_preds("SELECT (SELECT count(*) FROM raw.t WHERE day = 1), count(*) FROM raw.t "
		     "WHERE day = 2", "t:day = 1;|t:day = 2;");
	expect_preds("WITH c AS (SELECT * FROM raw.t WHERE day = 3) SELECT * FROM c WHERE day = 4",
		     "t:day = 3;");
	/* joins that pair rows by position or nearness, samples and renamed columns: nothing */
	expect_preds("SELECT * FROM raw.t a POSITIONAL JOIN raw.u b WHERE a.day = 1 AND b.day = 1",
		     "t:|u:");
	expect_preds("SELECT * FROM raw.t a ASOF JOIN raw.u b ON a.x >= b.x WHERE b.day = 1",
		     "t:|u:");
	expect_preds("SELECT * FROM raw.t TABLESAMPLE 10% WHERE day = 1", "t:");
	expect_preds("SELECT * FROM raw.t AS x(day) WHERE x.day = 1", "t:");
	/* an unqualified column with several tables in FROM is nobody's */
	expect_preds("SELECT * FROM raw.t, raw.u WHERE day = 1", "t:|u:");
	/* huge integers cannot be compared exactly as doubles: skipped */
	expect_preds("SELECT * FROM raw.t WHERE day = 99999999999999999", "t:");
}

TEST(guard_pruning_predicates_sampled_selects)
{
	expect_preds("SELECT count(*) FROM raw.t WHERE year = 2024 USING SAMPLE 100 ROWS", "t:");
	expect_preds("SELECT * FROM raw.t WHERE year = 9007199254740992", "t:");
	expect_preds("SELECT * FROM raw.t WHERE year = 9007199254740991", "t:year = 9007199254740991;");
}

TEST(guard_qualified_names_with_slashes_and_dots)
{
	/* catalog names: a sandbox table, a loose file's table with a dot */
	expect_ok("SELECT * FROM sandbox.\"alice/scratch\"", "sandbox.alice/scratch");
	expect_ok("SELECT * FROM drop.\"patients.v2\"", "drop.patients.v2");
	/* still paths */
	expect_fail("SELECT * FROM raw.\"/etc/passwd\"", TN_EDENIED, "file path", ANY_POS);
	expect_fail("SELECT * FROM raw.\"../x\"", TN_EDENIED, "file path", ANY_POS);
	expect_fail("SELECT * FROM raw.\"a.csv\"", TN_EDENIED, "file path", ANY_POS);
	expect_fail("SELECT * FROM raw.\"a//b\"", TN_EDENIED, "file path", ANY_POS);
	expect_fail("SELECT * FROM \"alice/scratch\"", TN_EDENIED, "file path", ANY_POS);
}

TEST(guard_invalid_utf8)
{
	expect_fail("SELECT '\xff' FROM raw.t", TN_EINVAL, "not valid UTF-8", 8);
	expect_fail("SELECT 1 -- \xc3", TN_EINVAL, "not valid UTF-8", 12);
}

TEST(guard_refuses_tarn_functions)
{
	const char *why = "tarn's internal functions";
	expect_fail("SELECT tarn_mask_hash('123-45-6789')", TN_EDENIED,
		    "function 'tarn_mask_hash' at byte 7 is not allowed", 7);
	expect_fail("SELECT TARN_MASK_HASH(ssn) FROM raw.patients", TN_EDENIED, why, 7);
	expect_fail("SELECT \"tarn_mask_hash\"(ssn) FROM raw.patients", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT \"TARN_Mask_Hash\"(ssn) FROM raw.patients", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT main.tarn_mask_hash('x')", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT system.main.tarn_mask_hash('x')", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT tarn_anything_else(1)", TN_EDENIED, "function 'tarn_anything_else'",
		    ANY_POS);
	/* method-call syntax, nested, in every clause */
	expect_fail("SELECT ('123-45-6789').tarn_mask_hash()", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT upper(lower(tarn_mask_hash(ssn))) FROM raw.patients", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("SELECT * FROM raw.patients WHERE tarn_mask_hash(ssn) = 'ab'", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("SELECT count(*) FROM raw.patients GROUP BY tarn_mask_hash(ssn)", TN_EDENIED,
		    why, ANY_POS);
	expect_fail("SELECT ssn FROM raw.patients ORDER BY tarn_mask_hash(ssn)", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("SELECT count(*) FILTER (WHERE tarn_mask_hash(ssn) > 'a') FROM raw.patients",
		    TN_EDENIED, why, ANY_POS);
	/* in a CTE, a subquery, a lambda, a window, a VALUES list */
	expect_fail("WITH d AS (SELECT tarn_mask_hash(ssn) AS h FROM raw.patients) SELECT * FROM d",
		    TN_EDENIED, why, ANY_POS);
	expect_fail("WITH d AS MATERIALIZED (SELECT tarn_mask_hash('a') AS h) SELECT * FROM d",
		    TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT (SELECT tarn_mask_hash('a'))", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT list_transform(['1', '2'], x -> tarn_mask_hash(x))", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("SELECT [tarn_mask_hash(x) FOR x IN ['1', '2']]", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT tarn_mask_hash(ssn) OVER () FROM raw.patients", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("VALUES (tarn_mask_hash('a'))", TN_EDENIED, why, ANY_POS);
	expect_fail("EXPLAIN SELECT tarn_mask_hash('a')", TN_EDENIED, why, 15);
	expect_fail("SELECT TRY(tarn_mask_hash('a'))", TN_EDENIED, why, ANY_POS);
	expect_fail("SELECT tarn_mask_hash(COLUMNS(*)) FROM raw.patients", TN_EDENIED, why,
		    ANY_POS);
	expect_fail("SELECT * REPLACE (tarn_mask_hash(ssn) AS ssn) FROM raw.patients", TN_EDENIED,
		    why, ANY_POS);
	expect_fail("SELECT * FROM raw.patients a JOIN raw.visits b ON tarn_mask_hash(a.ssn) = b.h",
		    TN_EDENIED, why, ANY_POS);
	/* other names are functions or text as usual */
	expect_ok("SELECT sha256(ssn), 'tarn_mask_hash(x)' AS tarn_mask_hash FROM raw.patients",
		  "raw.patients");
	expect_ok("SELECT ssn AS tarn_x, mytarn_fn FROM raw.patients", "raw.patients");
}

/*
 * test_pgcatalog.c - the PostgreSQL catalogs' pure parts: the rewrite of
 * PostgreSQL catalog SQL, table OIDs, and what the guard makes of the
 * rewritten statements (real DuckDB parses).
 */
#include "query/pgcat_int.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "query/guard.h"
#include "harness.h"

/* The rewrite of sql, or sql itself when it is left alone (caller frees). */
static char *rw(const char *sql)
{
	struct buf b = BUF_INIT(0);
	char *out = pgcat_rewrite(sql, &b) ? xstrdup(b.data) : xstrdup(sql);
	buf_release(&b);
	return out;
}

static void expect_rw(const char *sql, const char *want)
{
	char *got = rw(sql);
	CHECK_STR(got, want);
	free(got);
}

static void expect_same(const char *sql)
{
	struct buf b = BUF_INIT(0);
	CHECK(!pgcat_rewrite(sql, &b));
	buf_release(&b);
}

TEST(pgcat_qualifier_dropped)
{
	expect_rw("SELECT n.nspname FROM pg_catalog.pg_namespace n",
		  "SELECT n.nspname FROM pg_namespace n");
	expect_rw("SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a",
		  "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a");
	/* quoted, any case, spaces around the dot */
	expect_rw("SELECT * FROM \"pg_catalog\".\"pg_class\"", "SELECT * FROM \"pg_class\"");
	expect_rw("SELECT * FROM PG_CATALOG . pg_type", "SELECT * FROM pg_type");
	/* types */
	expect_rw("SELECT x::pg_catalog.int2[] FROM pg_catalog.pg_class",
		  "SELECT x::int2[] FROM pg_class");
	/* not a qualifier: a column alias, a three-part name, another quoted case */
	expect_rw("SELECT 1 AS pg_catalog FROM pg_class", "SELECT 1 AS pg_catalog FROM pg_class");
	expect_same("SELECT 1 AS pg_catalog FROM pg_class");
	expect_same("SELECT * FROM system.pg_catalog.pg_class");
	expect_same("SELECT * FROM \"PG_CATALOG\".pg_class");
}

TEST(pgcat_strings_comments_untouched)
{
	expect_rw("SELECT 'pg_catalog.x', \"a pg_catalog.y\" FROM pg_catalog.pg_class -- pg_catalog.z\n",
		  "SELECT 'pg_catalog.x', \"a pg_catalog.y\" FROM pg_class -- pg_catalog.z\n");
	expect_rw("SELECT E'it\\'s pg_catalog.x', $$pg_catalog.y$$, $t$ pg_catalog.z $t$ "
		  "/* pg_catalog.w /* nested */ pg_catalog.v */ FROM pg_catalog.pg_am",
		  "SELECT E'it\\'s pg_catalog.x', $$pg_catalog.y$$, $t$ pg_catalog.z $t$ "
		  "/* pg_catalog.w /* nested */ pg_catalog.v */ FROM pg_am");
	expect_rw("SELECT 'a''pg_catalog.b' FROM pg_catalog.pg_am",
		  "SELECT 'a''pg_catalog.b' FROM pg_am");
}

TEST(pgcat_only_catalog_statements)
{
	/* no catalog named: a user's ~, casts and COLLATE keep DuckDB's meaning */
	expect_same("SELECT * FROM raw.t WHERE name ~ 'a.c'");
	expect_rw("SELECT 'x'::regclass", "SELECT to_regclass('x')");
	expect_same("SELECT a COLLATE nocase FROM raw.t");
	expect_same("SELECT 'pg_catalog.pg_class' FROM raw.t");
	expect_same("SELECT \"pg_class\" FROM raw.t WHERE 1 = 0");  /* named, nothing to change */
}

TEST(pgcat_operator_collate)
{
	expect_rw("SELECT 1 FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) "
		  "'^(t)$' COLLATE pg_catalog.default",
		  "SELECT 1 FROM pg_class c WHERE c.relname  ~ '(?s:.*(?:^(t)$).*)'  ");
	expect_rw("SELECT 1 FROM pg_class WHERE relname COLLATE \"C\" = 'x'",
		  "SELECT 1 FROM pg_class WHERE relname   = 'x'");
	expect_rw("SELECT 1 FROM pg_class WHERE relname COLLATE pg_catalog.\"default\" = 'x'",
		  "SELECT 1 FROM pg_class WHERE relname   = 'x'");
	/* OPERATOR of something else is left as it is */
	expect_rw("SELECT 1 FROM pg_class WHERE a OPERATOR(x) b",
		  "SELECT 1 FROM pg_class WHERE a OPERATOR(x) b");
}

TEST(pgcat_regex_search)
{
	expect_rw("SELECT 1 FROM pg_namespace WHERE nspname !~ '^pg_'",
		  "SELECT 1 FROM pg_namespace WHERE nspname !~ '(?s:.*(?:^pg_).*)'");
	expect_rw("SELECT 1 FROM pg_namespace WHERE nspname~*'RAW'",
		  "SELECT 1 FROM pg_namespace WHERE nspname~ '(?si:.*(?:RAW).*)'");
	expect_rw("SELECT 1 FROM pg_namespace WHERE nspname !~* E'a\\\\b'",
		  "SELECT 1 FROM pg_namespace WHERE nspname !~ E'(?si:.*(?:a\\\\b).*)'");
	/* not a literal: left as DuckDB's */
	expect_rw("SELECT 1 FROM pg_namespace WHERE nspname ~ $1",
		  "SELECT 1 FROM pg_namespace WHERE nspname ~ $1");
}

TEST(pgcat_reg_casts)
{
	expect_rw("SELECT 1 FROM pg_description d WHERE d.classoid = 'pg_class'::regclass",
		  "SELECT 1 FROM pg_description d WHERE d.classoid = to_regclass('pg_class')");
	expect_rw("SELECT typinput='pg_catalog.array_in'::regproc FROM pg_catalog.pg_type",
		  "SELECT typinput=to_regproc('pg_catalog.array_in') FROM pg_type");
	expect_rw("SELECT 'raw.t' :: pg_catalog.regclass FROM pg_class",
		  "SELECT to_regclass('raw.t') FROM pg_class");
	/* a column cast keeps the cast (the type is an integer alias) */
	expect_rw("SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c",
		  "SELECT c.oid::regclass::text FROM pg_class c");
}

TEST(pgcat_series_alias)
{
	expect_rw("SELECT s FROM pg_catalog.generate_series(0, 3) s, pg_catalog.pg_am",
		  "SELECT s FROM generate_series(0, 3) s(s), pg_am");
	expect_rw("SELECT x FROM pg_class JOIN unnest(y) AS x ON true",
		  "SELECT x FROM pg_class JOIN unnest(y) AS x(x) ON true");
	/* column names given, no alias, or not in FROM: left alone */
	expect_same("SELECT r FROM pg_class, generate_series(1, 2) AS s(r)");
	expect_same("SELECT 1 FROM generate_series(1, 2) WHERE true AND 'pg_x' = ''");
	expect_same("SELECT generate_series(1, 2) s FROM pg_class");
}

TEST(pgcat_named_calls)
{
	expect_rw("SELECT version()", "SELECT version() AS version");
	expect_rw("select current_schema(), current_database() from x",
		  "select current_schema() AS current_schema, current_database() AS "
		  "current_database from x");
	expect_rw("SELECT current_schemas(true);", "SELECT current_schemas(true) AS current_schemas;");
	/* with an alias, in an expression, in a subquery: left alone */
	expect_same("SELECT version() AS v");
	expect_same("SELECT version() || 'x'");
	expect_same("SELECT (SELECT version())");
	expect_same("SELECT coalesce(x, version()) FROM t");
}

TEST(pgcat_expandarray)
{
	expect_rw("SELECT (information_schema._pg_expandarray(i.indkey)).n FROM pg_catalog.pg_index i",
		  "SELECT (_pg_expandarray(i.indkey)).n FROM pg_index i");
	/* other information_schema names stay qualified */
	expect_same("SELECT * FROM information_schema.tables");
}

TEST(pgcat_every_prefix)
{
	/* cut anywhere (an open string, comment, quote, dollar quote): no read past the text */
	const char *sql = "SELECT E'a\\'b', $q$ x $q$, \"n\"\"m\" /* c /* d */ */ -- e\n"
			  "FROM pg_catalog.generate_series(1, 2) s WHERE x OPERATOR(pg_catalog.~*) "
			  "'^y' COLLATE pg_catalog.\"default\" AND 'z'::pg_catalog.regclass = 1 "
			  "AND w !~ '' AND v ~ $1 AND information_schema._pg_expandarray(k) IS NULL";
	size_t n = strlen(sql);
	for (size_t i = 0; i <= n; i++) {
		char *p = xstrdup(sql);
		p[i] = '\0';
		char *got = rw(p);
		CHECK(got != NULL);
		free(got);
		free(p);
	}
	char *all = rw(sql);
	CHECK(strstr(all, "FROM generate_series(1, 2) s(s) WHERE") != NULL);
	CHECK(strstr(all, "~ '(?si:.*(?:^y).*)'") != NULL);
	CHECK(strstr(all, "to_regclass('z')") != NULL);
	CHECK(strstr(all, "!~ '(?s:.*(?:).*)'") != NULL);
	CHECK(strstr(all, " _pg_expandarray(k)") != NULL);
	CHECK(strstr(all, "E'a\\'b'") != NULL);
	free(all);
}

TEST(pgcat_table_oids)
{
	uint32_t a = pgcat_table_oid("raw", "immunizations");
	CHECK_INT(a, pgcat_table_oid("raw", "immunizations"));
	CHECK(a != pgcat_table_oid("bronze", "immunizations"));
	CHECK(a != pgcat_table_oid("raw", "immunization"));
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof name, "t%d", i);
		uint32_t o = pgcat_table_oid("mart", name);
		CHECK(o >= PGCAT_OID_TABLE_MIN && o < PGCAT_OID_TABLE_MIN + PGCAT_OID_TABLE_SPAN);
		CHECK(o <= 0x7fffffffu);  /* an INTEGER, as every OID column */
	}
}

TEST(pgcat_bytea_literals)
{
	/* PostgreSQL's hex form (psycopg2's bytes), in any statement */
	expect_rw("SELECT '\\x0102ff'::bytea", "SELECT unhex('0102ff')");
	expect_rw("INSERT INTO raw.t VALUES (1, '\\xDEADbeef'::pg_catalog.bytea)",
		  "INSERT INTO raw.t VALUES (1, unhex('deadbeef'))");
	expect_rw("SELECT CAST('\\x00 01' AS bytea), bytea '\\x7f', '\\x'::bytea",
		  "SELECT unhex('0001'), unhex('7f'), unhex('')");
	expect_rw("SELECT x FROM raw.t WHERE b = '\\x0a'::BYTEA AND c = 'y'",
		  "SELECT x FROM raw.t WHERE b = unhex('0a') AND c = 'y'");
	/* the escape form: \\ a backslash, \ooo an octal byte, '' a quote */
	expect_rw("SELECT '\\\\\\001a''b'::bytea", "SELECT unhex('5c01612762')");
	/* with a catalog named, both rules apply */
	expect_rw("SELECT '\\x01'::bytea FROM pg_catalog.pg_am", "SELECT unhex('01') FROM pg_am");
	/* left alone: no backslash (same bytes in both), a string or comment naming
	 * the cast, an E'' string, malformed hex or escapes, another type, arrays */
	expect_same("SELECT 'abc'::bytea");
	expect_same("SELECT '''\\x01''::bytea' AS s");
	expect_same("SELECT 1 -- '\\x01'::bytea\n");
	expect_same("SELECT 1 /* CAST('\\x01' AS bytea) */");
	expect_same("SELECT E'\\\\x01'::bytea");
	expect_same("SELECT '\\x0g'::bytea");
	expect_same("SELECT '\\x012'::bytea");
	expect_same("SELECT '\\q'::bytea");
	expect_same("SELECT '\\x01'::blob, '\\x01'::varchar");
	expect_same("SELECT '\\x01'::bytea[]");
	expect_same("SELECT CAST('\\x01' AS bytea[])");
}

/* The guard's answer for the rewrite of sql with GUARD_SYSCAT. */
static int guard_rw(const char *sql, struct guard_result *r, char *err)
{
	struct guard *g = NULL;
	CHECK_INT(guard_new(&g, err), 0);
	char *text = rw(sql);
	int rc = guard_check_ex(g, text, GUARD_SYSCAT, r, err);
	free(text);
	guard_free(g);
	return rc;
}

static bool has_sys(const struct guard_result *r, enum guard_sys_kind kind, const char *name)
{
	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i].kind == kind && !strcasecmp(r->sys[i].name, name))
			return true;
	return false;
}

TEST(pgcat_guard_sees_catalog_names)
{
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	/* psql's \d publications query: series, array_upper, pg_* relations */
	int rc = guard_rw("SELECT pubname, (SELECT string_agg(attname, ', ') FROM "
			  "pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::"
			  "pg_catalog.int2[], 1)) s, pg_catalog.pg_attribute WHERE attrelid = "
			  "pr.prrelid AND attnum = prattrs[s]) FROM pg_catalog.pg_publication p JOIN "
			  "pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid", &r, err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK_INT(rc, 0);
	CHECK_INT(r.ntables, 0);
	CHECK(has_sys(&r, GUARD_SYS_RELATION, "pg_attribute"));
	CHECK(has_sys(&r, GUARD_SYS_RELATION, "pg_publication_rel"));
	guard_result_release(&r);
	/* functions that read the image are reported, so it is refreshed first */
	CHECK_INT(guard_rw("SELECT obj_description(1), \"COL_DESCRIPTION\"(1, 2), "
			   "'raw.t'::regclass", &r, err), 0);
	CHECK(has_sys(&r, GUARD_SYS_SCALAR, "obj_description"));
	CHECK(has_sys(&r, GUARD_SYS_SCALAR, "COL_DESCRIPTION"));
	guard_result_release(&r);
	CHECK_INT(guard_rw("SELECT current_user, \"user\"()", &r, err), 0);
	CHECK(has_sys(&r, GUARD_SYS_SCALAR, "current_user"));
	CHECK(has_sys(&r, GUARD_SYS_SCALAR, "user"));
	guard_result_release(&r);
	CHECK_INT(guard_rw("SELECT t.user FROM raw.t", &r, err), 0);  /* a column */
	CHECK_INT(r.nsys, 0);
	guard_result_release(&r);
	CHECK_INT(guard_rw("SELECT 1 FROM pg_class WHERE oid = 'raw.t'::regclass", &r, err), 0);
	CHECK(has_sys(&r, GUARD_SYS_SCALAR, "to_regclass"));
	guard_result_release(&r);
}

TEST(pgcat_guard_parameters)
{
	/* pgjdbc sends catalog queries with $n parameters */
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	int rc = guard_rw("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
			  "n ON n.oid = c.relnamespace WHERE n.nspname LIKE $1 AND c.relname LIKE $2",
			  &r, err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK_INT(rc, 0);
	CHECK(has_sys(&r, GUARD_SYS_RELATION, "pg_class"));
	guard_result_release(&r);
}

TEST(pgcat_guard_series_do_not_hide_tables)
{
	/* a series or unnest is allowed; a table in its arguments is still a table */
	struct guard_result r;
	char err[TN_ERRLEN] = "";
	CHECK_INT(guard_rw("SELECT * FROM unnest((SELECT list(ssn) FROM raw.immunizations))", &r,
			   err), 0);
	CHECK_INT(r.ntables, 1);
	CHECK_STR(r.tables[0].db, "raw");
	CHECK_STR(r.tables[0].name, "immunizations");
	guard_result_release(&r);
	CHECK_INT(guard_rw("SELECT * FROM generate_series(1, (SELECT count(*) FROM mart.x))", &r,
			   err), 0);
	CHECK_INT(r.ntables, 1);
	guard_result_release(&r);
	/* other table functions are refused as before; qualified series too */
	CHECK_INT(guard_rw("SELECT * FROM read_csv('/etc/passwd')", &r, err), TN_EDENIED);
	guard_result_release(&r);
	CHECK_INT(guard_rw("SELECT * FROM main.unnest([1])", &r, err), TN_EDENIED);
	guard_result_release(&r);
	/* without GUARD_SYSCAT (row filters, ...) nothing changes */
	struct guard *g = NULL;
	CHECK_INT(guard_new(&g, err), 0);
	CHECK_INT(guard_check(g, "SELECT * FROM range(3)", &r, err), TN_EDENIED);
	guard_result_release(&r);
	guard_free(g);
}

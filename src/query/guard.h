/*
 * guard.h - the SQL guard: may this statement run, and which tables does it read?
 *
 * Before DuckDB executes a user's SQL, the guard parses it with DuckDB's own
 * parser (json_serialize_sql, on an in-memory connection the guard owns) and
 * walks the parse tree.  It accepts exactly one read statement and collects
 * every base table the statement references; the caller then checks those
 * names against the catalog (and, later, the principal's grants).  The guard
 * does not bind names: it cannot tell a catalog table from an unknown one,
 * so an accepted statement still needs that catalog check.
 *
 * The guard is a first line, not the only one: query connections also run
 * with external access off, extensions locked and configuration locked.
 */
#ifndef TN_GUARD_H
#define TN_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Longest SQL text the guard parses, in bytes.  A generated query with a
 * long IN list stays far below 1 MiB; the parse tree DuckDB returns as JSON
 * is some 20-50 times the text, so this keeps one check under ~50 MiB.
 * Past it: TN_ETOOBIG.
 */
#define GUARD_MAX_SQL (1u << 20)

/*
 * Deepest nesting of the parse tree (JSON objects and arrays) the guard
 * walks.  Each level of SQL nesting (a subquery, a parenthesised
 * expression) adds 2-4 levels; DuckDB's own parser stops at an expression
 * depth of 1000.  Past it: TN_ETOOBIG.
 */
#define GUARD_MAX_DEPTH 1000u

/* Distinct tables one statement may reference.  Past it: TN_ETOOBIG. */
#define GUARD_MAX_TABLES 1024u

/*
 * CTEs in one statement, counted in the text before DuckDB parses it.
 * DuckDB 1.4.4's parser is quadratic in the CTEs of a statement, and cubic
 * for MATERIALIZED ones: 13 KB of text holding 400 materialized CTEs made
 * json_serialize_sql take over 24 GB; 800 plain CTEs take 580 MB.  100
 * plain CTEs cost ~40 MB, 16 materialized ones ~36 MB.  Past either:
 * TN_ETOOBIG.  The count errs high (see guard.c), never low.
 */
#define GUARD_MAX_CTES 100u
#define GUARD_MAX_MATERIALIZED 16u

struct guard;

/*
 * Opens a guard: an in-memory DuckDB (external access off, no extension
 * autoloading) with one connection and a prepared json_serialize_sql.
 * Returns 0 and *out (free with guard_free), or TN_EINTERNAL with err.
 * A guard may be shared by threads: guard_check serialises them on a mutex.
 */
int guard_new(struct guard **out, char *err);

/* Closes the connection and frees g.  Accepts NULL.  No check may be running. */
void guard_free(struct guard *g);

/* Comparison of a column with constants, from a WHERE clause. */
enum guard_op {
	GUARD_EQ, GUARD_NE, GUARD_LT, GUARD_LE, GUARD_GT, GUARD_GE,
	GUARD_IN,       /* column IN (vals...) */
	GUARD_BETWEEN,  /* vals[0] <= column <= vals[1] */
};

/* A constant as the parser read it: a number or a string, never NULL. */
struct guard_const {
	char *text;     /* the number as written by DuckDB's serializer, or the string */
	bool number;
};

/*
 * `column op constants`, a conjunct at the top of a WHERE clause that
 * filters this reference's own rows (column names this reference:
 * qualified by its alias or name, or unqualified when the FROM holds only
 * this table).  Every such comparison is false on NULL.
 */
struct guard_pred {
	char *column;
	enum guard_op op;
	struct guard_const *vals;
	size_t nvals;
};

/*
 * One place the statement reads a table.  Rows of the table that fail
 * any pred never reach the rest of the query through this reference, so
 * files whose partition values fail a pred need not be read for it.
 * npreds 0: every row may be needed.
 */
struct guard_ref {
	struct guard_pred *preds;
	size_t npreds;
};

/*
 * A referenced base table, as written in the SQL (case kept, quotes
 * removed).  db is the schema part of db.table (a tarn database: a zone or
 * its alias), NULL when the name is unqualified.  refs: every reference to
 * it, at least one (the table is read where any reference needs it).
 */
struct guard_table {
	char *db;
	char *name;
	struct guard_ref *refs;
	size_t nrefs;
};

/* What a system catalog reference names (guard_check_ex with GUARD_SYSCAT). */
enum guard_sys_kind {
	GUARD_SYS_RELATION,  /* information_schema.x, pg_catalog.x, or an unqualified (or main.)
			      * duckdb_*, pg_*, sqlite_*, pragma_* name */
	GUARD_SYS_FUNCTION,  /* an unqualified duckdb_*() table function called without arguments */
	GUARD_SYS_SCALAR,    /* a call of a scalar function that reads the catalog image
			      * (obj_description, to_regclass, ...: query/pgcat_int.h) */
};

/*
 * A reference to DuckDB's system catalogs, as written (case kept).
 * schema: "information_schema", "pg_catalog", "main" or "" (unqualified);
 * "" for a function.  pos: byte offset in the SQL, or -1.
 */
struct guard_sysref {
	char *schema;
	char *name;
	enum guard_sys_kind kind;
	long pos;
};

/*
 * What guard_check found.  tables: each distinct table once (compared
 * case-insensitively, as DuckDB does), in the order of the parse tree.
 * sys: each distinct system catalog reference once (only with GUARD_SYSCAT;
 * empty otherwise).  error_pos: on a refusal or a syntax error, the byte
 * offset in the SQL of the offending part when DuckDB reports it, else -1.
 */
struct guard_result {
	struct guard_table *tables;
	size_t ntables;
	struct guard_sysref *sys;
	size_t nsys;
	long error_pos;
};

/*
 * Checks that sql is exactly one read statement and collects its tables.
 *
 * Accepted: SELECT, WITH ... SELECT (recursive and materialized CTEs), set
 * operations (UNION, INTERSECT, EXCEPT), VALUES, FROM-first queries, and
 * EXPLAIN [ANALYZE] <one of those>: json_serialize_sql cannot serialize
 * EXPLAIN, so the guard strips the keywords and checks the rest (positions
 * stay relative to the whole text).  Tables are collected from FROM, JOINs,
 * subqueries anywhere (select list, WHERE, HAVING, ...) and CTE bodies; a
 * name that refers to a CTE in scope is not a table.
 *
 * Refused with TN_EDENIED and a message naming what and where: any other
 * statement kind (ATTACH, COPY, SET, PRAGMA, INSTALL, LOAD, EXPORT, CREATE,
 * DROP, INSERT, UPDATE, DELETE, CREATE SECRET, ...), more than one
 * statement, table functions (read_csv, glob, duckdb_tables(), query(),
 * ...), DESCRIBE / SHOW / SUMMARIZE, file paths used as tables ('x.csv',
 * x.csv), three-part catalog.db.table names, and DuckDB's system tables
 * (information_schema, pg_catalog, the system and temp catalogs, duckdb_*,
 * sqlite_*, pragma_* and pg_* names in the default schema).
 * TN_EINVAL: a syntax error (error_pos set when DuckDB gives it), or an
 * empty statement.  TN_ETOOBIG: sql longer than GUARD_MAX_SQL, a tree deeper
 * than GUARD_MAX_DEPTH, more than GUARD_MAX_TABLES tables, GUARD_MAX_CTES
 * CTEs or GUARD_MAX_MATERIALIZED materialized ones.
 *
 * res is always filled (empty on failure); the caller releases it with
 * guard_result_release, whatever the return.  Any thread; checks on one
 * guard run one at a time.
 */
int guard_check(struct guard *g, const char *sql, struct guard_result *res,
		char *err);

/*
 * guard_check with flags:
 *   GUARD_SYSCAT  system catalog references are collected into res->sys
 *                 instead of refused: information_schema.x, pg_catalog.x,
 *                 unqualified or main. duckdb_* / pg_* / sqlite_* / pragma_*
 *                 names that are not CTEs in scope, and unqualified duckdb_*()
 *                 table functions called without arguments.  The caller
 *                 decides which of them it offers (and refuses the rest);
 *                 it must make them resolve to what the principal may see
 *                 (query/syscat.c).  Calls of the scalar functions that
 *                 read the catalog image are reported too (GUARD_SYS_SCALAR),
 *                 and the table functions generate_series(), range() and
 *                 unnest() (unqualified; they read no table) are allowed,
 *                 their arguments checked like the rest.  Still refused: the system and temp
 *                 catalogs and schemas, catalog-qualified names, qualified
 *                 or argument-taking table functions, every other table
 *                 function.
 * flags 0 is guard_check.
 */
#define GUARD_SYSCAT 1u
int guard_check_ex(struct guard *g, const char *sql, unsigned flags, struct guard_result *res,
		   char *err);

/* Frees what guard_check put in r and empties it.  Accepts NULL. */
void guard_result_release(struct guard_result *r);

#endif

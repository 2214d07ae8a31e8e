/*
 * guard.c - the SQL guard: one read statement, and the tables it reads.
 *
 * Design.  DuckDB parses: `SELECT json_serialize_sql(?)`, prepared once on
 * the guard's own in-memory connection, with the user's SQL bound as a
 * VARCHAR (never spliced into SQL text).  json_serialize_sql serializes
 * only SELECT statements; anything else comes back as
 * {"error": true, "error_message": "Only SELECT statements ..."}, so every
 * statement kind that is not a query is refused before the guard looks at
 * a tree.  A syntax error comes back as {"error": true, "error_type":
 * "parser", "position": "13"} (the position is a string).
 *
 * The parse tree is walked generically, every object and array, so a table
 * reference hidden anywhere (a subquery in the select list, an AT clause, a
 * PIVOT source) is seen without knowing every field name.  Table references
 * are the objects that have a "type" string and no "class" (expressions
 * carry a "class"):
 *   BASE_TABLE      collected, unless it names a CTE in scope; refused when
 *                   it is a file path, a system table or catalog-qualified;
 *   TABLE_FUNCTION  refused (read_csv, glob, query, duckdb_tables(), ...);
 *   SHOW_REF        refused (DESCRIBE, SHOW, SUMMARIZE).
 * With GUARD_SYSCAT, system tables (not the system or temp catalogs) and
 * unqualified duckdb_*() calls without arguments are collected into
 * res->sys instead: the engine decides which it offers and makes them
 * show only what the principal may read (query/syscat.c).  An unqualified
 * name that is a CTE in scope is then the CTE, as DuckDB binds it.
 * In the slots that hold a table reference (from_table, a JOIN's left and
 * right, a PIVOT's source) only the known kinds are allowed, so a kind a
 * later DuckDB adds is refused until it is looked at.
 * Expressions (objects with a "class") naming a function that starts with
 * "tarn_" are refused: those are tarn's own, keyed with the lake's secrets
 * (query/udf.h), for its secured views only.
 *
 * CTE scoping.  A query node's cte_map lists its CTEs in order; entry i's
 * body sees the CTEs before it (and the outer ones), the node's other parts
 * see all of them; a RECURSIVE_CTE_NODE also sees its own name.  A
 * materialized CTE becomes a CTE_NODE whose "query" is the body (walked
 * with the outer scope) and whose "child" repeats the cte_map.  Errors in
 * scoping go the safe way: a name wrongly taken for a table is reported and
 * then fails the caller's catalog check.
 *
 * EXPLAIN cannot be serialized: a leading `EXPLAIN [ANALYZE]` followed by
 * whitespace is stripped and the rest checked.  Only whitespace may precede
 * or separate the keywords: skipping comments would mean guessing how
 * DuckDB's lexer ends them, and a wrong guess would let the text DuckDB runs
 * differ from the text checked.
 *
 * DuckDB's parser itself is quadratic (cubic when MATERIALIZED) in the CTEs
 * of a statement, so before it runs, count_ctes bounds them from the raw
 * text: every CTE has the keyword AS followed, after whitespace or
 * comments, by "(", NOT or MATERIALIZED; a column alias has AS followed by
 * a name.  The scan ignores strings, quotes and comments, so anything
 * that could be a CTE is counted: the count errs high, never low.
 *
 * Invariants: the parsed JSON numbers are read as doubles
 * (JSON_DECODE_INT_AS_REAL), because DuckDB writes an unknown query_location
 * as 18446744073709551615, which jansson refuses as an integer.  On any
 * failure the result holds no tables.
 */
#include "query/guard.h"

#include <ctype.h>
#include <duckdb.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "query/pgcat_int.h"
#include "query/udf.h"
#include "core/banned.h"

struct guard {
	pthread_mutex_t mu;  /* held by guard_check around the prepared statement */
	duckdb_database db;
	duckdb_connection con;
	duckdb_prepared_statement st;
};

/* A CTE name visible where the walk is, linked to the outer ones. */
struct scope {
	const char *name;
	const struct scope *up;
};

/* One check in progress. */
struct walk {
	const char *sql;  /* the text handed to DuckDB (after EXPLAIN) */
	size_t sqllen;
	size_t off;       /* its offset in the caller's text */
	struct guard_result *res;
	char *err;
	/* the innermost SELECT_NODE being walked (for pruning predicates) */
	const json_t *sel_from;   /* its from_table */
	const json_t *sel_where;  /* its where_clause (NULL: none) */
	bool sel_sample;          /* it has USING SAMPLE (sampled before the WHERE) */
	unsigned flags;           /* GUARD_SYSCAT */
};

static const char *const read_hint =
	"only one read statement (SELECT, WITH, VALUES or EXPLAIN) may run";
static const char *const table_hint = "query catalog tables by name";

int guard_new(struct guard **out, char *err)
{
	struct guard *g = xcalloc(1, sizeof(*g));
	duckdb_config cfg = NULL;
	char *oerr = NULL;
	int rc = 0;
	*out = NULL;
	pthread_mutex_init(&g->mu, NULL);
	if (duckdb_create_config(&cfg) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot create a configuration");
		goto fail;
	}
	/* The guard only parses; it never needs files, extensions or threads. */
	if (duckdb_set_config(cfg, "enable_external_access", "false") != DuckDBSuccess ||
	    duckdb_set_config(cfg, "autoinstall_known_extensions", "false") != DuckDBSuccess ||
	    duckdb_set_config(cfg, "autoload_known_extensions", "false") != DuckDBSuccess ||
	    duckdb_set_config(cfg, "threads", "1") != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot set the configuration");
		goto fail;
	}
	if (duckdb_open_ext(NULL, &g->db, cfg, &oerr) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot open an in-memory database: %s",
			     oerr ? oerr : "unknown error");
		goto fail;
	}
	if (duckdb_connect(g->db, &g->con) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot connect");
		goto fail;
	}
	if (duckdb_prepare(g->con, "SELECT json_serialize_sql(?::VARCHAR)", &g->st) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot prepare json_serialize_sql: %s",
			     duckdb_prepare_error(g->st));
		goto fail;
	}
	duckdb_destroy_config(&cfg);
	*out = g;
	return 0;
fail:
	if (oerr)
		duckdb_free(oerr);
	if (cfg)
		duckdb_destroy_config(&cfg);
	guard_free(g);
	return rc;
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	if (g->st)
		duckdb_destroy_prepare(&g->st);
	if (g->con)
		duckdb_disconnect(&g->con);
	if (g->db)
		duckdb_close(&g->db);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void ref_release(struct guard_ref *ref)
{
	for (size_t i = 0; i < ref->npreds; i++) {
		struct guard_pred *p = &ref->preds[i];
		for (size_t k = 0; k < p->nvals; k++)
			free(p->vals[k].text);
		free(p->vals);
		free(p->column);
	}
	free(ref->preds);
}

void guard_result_release(struct guard_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntables; i++) {
		free(r->tables[i].db);
		free(r->tables[i].name);
		for (size_t k = 0; k < r->tables[i].nrefs; k++)
			ref_release(&r->tables[i].refs[k]);
		free(r->tables[i].refs);
	}
	free(r->tables);
	r->tables = NULL;
	r->ntables = 0;
	for (size_t i = 0; i < r->nsys; i++) {
		free(r->sys[i].schema);
		free(r->sys[i].name);
	}
	free(r->sys);
	r->sys = NULL;
	r->nsys = 0;
}

/* ---- reading the text: keywords for EXPLAIN and for messages ---- */

/* Whitespace as DuckDB's lexer sees it between tokens. */
static bool is_sql_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* If p starts with keyword kw followed by whitespace, returns its length. */
static size_t keyword_at(const char *p, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(p, kw, n) != 0 || !is_sql_space(p[n]))
		return 0;
	return n;
}

/*
 * Length of a leading `EXPLAIN [ANALYZE]` and the whitespace around it, or
 * 0.  Whitespace only: see the file comment.
 */
static size_t explain_prefix(const char *sql)
{
	size_t i = 0, n;
	while (is_sql_space(sql[i]))
		i++;
	if (!(n = keyword_at(sql + i, "explain")))
		return 0;
	i += n;
	while (is_sql_space(sql[i]))
		i++;
	if ((n = keyword_at(sql + i, "analyze"))) {
		i += n;
		while (is_sql_space(sql[i]))
			i++;
	}
	return i;
}

/* Skips whitespace, comments and opening parentheses (for messages only). */
static const char *skip_noise(const char *p)
{
	for (;;) {
		if (is_sql_space(*p) || *p == '(') {
			p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			if (!e)
				return p + strlen(p);
			p = e + 2;
		} else {
			return p;
		}
	}
}

/* Copies the word at p, upper-cased, into out; returns the end of the word. */
static const char *word_at(const char *p, char *out, size_t n)
{
	size_t k = 0;
	while (isalpha((unsigned char)*p) || *p == '_') {
		if (k + 1 < n)
			out[k++] = (char)toupper((unsigned char)*p);
		p++;
	}
	out[k] = '\0';
	return p;
}

/*
 * Names the kind of the statement sql starts with, for a message: "ATTACH",
 * "CREATE SECRET", "INSERT", ...; "" if sql does not start with a word.
 */
static void statement_kind(const char *sql, char *out, size_t n)
{
	static const char *const objects[] = {
		"SECRET", "TABLE", "VIEW", "MACRO", "FUNCTION", "SCHEMA",
		"SEQUENCE", "INDEX", "TYPE", "DATABASE",
	};
	char w[32];
	const char *p = word_at(skip_noise(sql), out, n);
	if (strcmp(out, "CREATE") != 0 && strcmp(out, "DROP") != 0 &&
	    strcmp(out, "ALTER") != 0)
		return;
	/* CREATE [OR REPLACE] [PERSISTENT|TEMP] SECRET: name the object. */
	for (int i = 0; i < 4; i++) {
		p = word_at(skip_noise(p), w, sizeof(w));
		if (!w[0])
			return;
		for (size_t j = 0; j < sizeof(objects) / sizeof(objects[0]); j++) {
			if (strcmp(w, objects[j]) == 0) {
				size_t len = strlen(out);
				snprintf(out + len, n - len, " %s", w);
				return;
			}
		}
	}
}

static bool is_read_kind(const char *kind)
{
	return !strcmp(kind, "SELECT") || !strcmp(kind, "WITH") ||
	       !strcmp(kind, "VALUES") || !strcmp(kind, "FROM") ||
	       !strcmp(kind, "TABLE") || !strcmp(kind, "EXPLAIN");
}

/* ---- bounding the parser's work ---- */

/*
 * ASCII identifier characters only: treating a non-ASCII byte as a word
 * boundary can only make the count higher.
 */
static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* Does the ASCII word w (lower case) stand alone at p, case-insensitively? */
static bool word_is(const char *sql, const char *p, const char *w)
{
	size_t n = strlen(w);
	if (p > sql && is_ident_char(p[-1]))
		return false;
	return strncasecmp(p, w, n) == 0 && !is_ident_char(p[n]);
}

/*
 * Counts what could be CTEs (AS not followed by a name, or followed by NOT
 * or MATERIALIZED) and every MATERIALIZED word, over the raw text.
 */
static void count_ctes(const char *sql, size_t *ctes, size_t *mat)
{
	*ctes = *mat = 0;
	for (const char *p = sql; *p; p++) {
		if (word_is(sql, p, "materialized")) {
			(*mat)++;
		} else if (word_is(sql, p, "as")) {
			const char *q = p + 2;
			while (is_sql_space(*q))
				q++;
			/* An alias: AS name or AS "name" (but not AS NOT / AS MATERIALIZED). */
			if ((is_ident_char(*q) || *q == '"') && !word_is(sql, q, "not") &&
			    !word_is(sql, q, "materialized"))
				continue;
			(*ctes)++;
		}
	}
}

/* ---- the parse tree ---- */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The byte offset of node o in the caller's text, or -1 if unknown. */
static long node_pos(const struct walk *w, const json_t *o)
{
	const json_t *v = json_object_get(o, "query_location");
	double d;
	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (d < 0 || d >= (double)w->sqllen)
		return -1;
	return (long)(w->off + (size_t)d);
}

/* Fails the check with code and a message, " at byte N" added when known. */
static int refuse(struct walk *w, int code, long pos, const char *what, const char *why)
{
	w->res->error_pos = pos;
	if (pos >= 0)
		return tn_fail(w->err, code, "%s at byte %ld is not allowed: %s", what, pos, why);
	return tn_fail(w->err, code, "%s is not allowed: %s", what, why);
}

/* Refuses a table reference of a kind the guard does not allow. */
static int refuse_ref(struct walk *w, const json_t *ref, const char *type)
{
	char what[160];
	long pos = node_pos(w, ref);
	if (!strcmp(type, "TABLE_FUNCTION")) {
		const json_t *fn = json_object_get(ref, "function");
		long fpos = node_pos(w, fn);
		snprintf(what, sizeof(what), "table function '%.100s'", jstr(fn, "function_name"));
		return refuse(w, TN_EDENIED, pos >= 0 ? pos : fpos, what, table_hint);
	}
	if (!strcmp(type, "SHOW_REF"))
		return refuse(w, TN_EDENIED, pos, "DESCRIBE, SHOW or SUMMARIZE",
			      "use the catalog commands (tarn tables, tarn describe)");
	snprintf(what, sizeof(what), "a table reference of kind '%.60s'", type);
	return refuse(w, TN_EDENIED, pos, what, table_hint);
}

/* The table-reference kinds allowed where a table reference belongs. */
static int check_slot(struct walk *w, const json_t *ref)
{
	const char *type;
	if (!ref || json_is_null(ref))
		return 0;
	type = json_string_value(json_object_get(ref, "type"));
	if (!type)
		return refuse(w, TN_EDENIED, -1, "an unrecognised table reference", table_hint);
	if (!strcmp(type, "BASE_TABLE") || !strcmp(type, "JOIN") ||
	    !strcmp(type, "SUBQUERY") || !strcmp(type, "EXPRESSION_LIST") ||
	    !strcmp(type, "EMPTY") || !strcmp(type, "PIVOT"))
		return 0;
	/* the walk checks it when it reaches it (add_sysfunc) */
	if ((w->flags & GUARD_SYSCAT) && !strcmp(type, "TABLE_FUNCTION"))
		return 0;
	return refuse_ref(w, ref, type);
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Names DuckDB would read as a file (a replacement scan), not a table. */
static bool is_file_name(const char *schema, const char *name)
{
	static const char *const exts[] = {
		"csv", "tsv", "txt", "json", "ndjson", "jsonl", "parquet", "gz",
		"zst", "zstd", "arrow", "avro", "xlsx", "db", "duckdb", "sqlite",
	};
	if (strpbrk(name, "\\:*?~[{"))
		return true;
	/*
	 * Unqualified, a name with '.' or '/' is read as a file path.  A
	 * qualified one (sandbox."alice/scratch", drop."patients.v2") names a
	 * table of that database: DuckDB reads a file only for a name it does
	 * not find, and the engine has every referenced name in the catalog
	 * before DuckDB binds.  Still refused: names that look like paths.
	 */
	if (!schema[0] && strpbrk(name, "./"))
		return true;
	if (schema[0] && (name[0] == '/' || name[0] == '.' || strstr(name, "..") ||
			  strstr(name, "//")))
		return true;
	/* x.csv unquoted parses as table "csv" in schema "x", read as 'x.csv'. */
	if (schema[0]) {
		const char *dot = strrchr(name, '.');
		for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
			if (!strcasecmp(name, exts[i]) || (dot && !strcasecmp(dot + 1, exts[i])))
				return true;
	}
	return false;
}

/* DuckDB's own catalog tables and views, which the lake does not expose. */
static bool is_system_table(const char *schema, const char *name)
{
	static const char *const schemas[] = {
		"information_schema", "pg_catalog", "system", "temp",
	};
	static const char *const prefixes[] = { "duckdb_", "sqlite_", "pragma_", "pg_" };
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (!strcasecmp(schema, schemas[i]))
			return true;
	/* Unqualified (or main.) duckdb_tables, pg_class, sqlite_master resolve to system views. */
	if (schema[0] && strcasecmp(schema, "main") != 0)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (has_prefix_ci(name, prefixes[i]))
			return true;
	return false;
}

static bool in_scope(const struct scope *sc, const char *name)
{
	for (; sc; sc = sc->up)
		if (!strcasecmp(sc->name, name))
			return true;
	return false;
}

/* ---- pruning predicates ---- */

/*
 * The predicates of a reference are the conjuncts at the top of the WHERE
 * clause of the SELECT whose FROM holds the reference directly (through
 * JOINs, not subqueries) that compare one of its columns with constants.
 * They are only ever used to leave out rows the WHERE would drop anyway,
 * so every rule below errs towards "no predicate":
 *   - only INNER/LEFT/RIGHT/FULL joins of the REGULAR, NATURAL or CROSS
 *     kind are looked through: a POSITIONAL join pairs rows by position
 *     and an ASOF join picks the nearest row, so fewer rows on one side
 *     would change the pairs;
 *   - a reference with a TABLESAMPLE or renamed columns (AS x(a, b)) gets
 *     none, nor does any reference of a SELECT with USING SAMPLE (DuckDB
 *     samples before it filters);
 *   - a column is this reference's when qualified by its alias (or, with
 *     no alias, its name or schema.name), or unqualified when the FROM is
 *     this one table;
 *   - constants are numbers (integers within 2^53, doubles) and strings;
 *     DECIMAL literals, casts, NULL and expressions are skipped.
 */

/* Can the join tree `from` hold ref directly, with pruning safe through it? */
static bool direct_member(const json_t *from, const json_t *ref)
{
	if (!from || !json_is_object(from))
		return false;
	if (from == ref)
		return true;
	if (strcmp(jstr(from, "type"), "JOIN"))
		return false;
	const char *kind = jstr(from, "ref_type");
	const char *jt = jstr(from, "join_type");
	if (strcmp(kind, "REGULAR") && strcmp(kind, "NATURAL") && strcmp(kind, "CROSS"))
		return false;
	if (strcmp(jt, "INNER") && strcmp(jt, "LEFT") && strcmp(jt, "RIGHT") && strcmp(jt, "OUTER"))
		return false;
	return direct_member(json_object_get(from, "left"), ref) ||
	       direct_member(json_object_get(from, "right"), ref);
}

/* The column of this reference named by a COLUMN_REF node, or NULL. */
static const char *ref_column(const json_t *col, const json_t *ref, bool single)
{
	const json_t *names = json_object_get(col, "column_names");
	const char *alias = jstr(ref, "alias");
	size_t n = json_array_size(names);
	if (strcmp(jstr(col, "class"), "COLUMN_REF") || n == 0 || n > 3)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!json_is_string(json_array_get(names, i)))
			return NULL;
	const char *last = json_string_value(json_array_get(names, n - 1));
	if (n == 1)
		return single ? last : NULL;
	const char *q = json_string_value(json_array_get(names, n - 2));
	if (n == 2)
		return !strcasecmp(q, alias[0] ? alias : jstr(ref, "table_name")) ? last : NULL;
	/* schema.table.column: only for a reference without an alias */
	if (alias[0] || strcasecmp(q, jstr(ref, "table_name")) ||
	    strcasecmp(json_string_value(json_array_get(names, 0)), jstr(ref, "schema_name")))
		return NULL;
	return last;
}

/* A CONSTANT node as a guard_const; false if it is not a usable one. */
static bool const_value(const json_t *e, struct guard_const *out)
{
	const json_t *v = json_object_get(e, "value");
	if (strcmp(jstr(e, "class"), "CONSTANT") || !json_is_object(v) ||
	    json_is_true(json_object_get(v, "is_null")))
		return false;
	const char *type = jstr(json_object_get(v, "type"), "id");
	const json_t *x = json_object_get(v, "value");
	char num[64];
	if (!strcmp(type, "VARCHAR") && json_is_string(x)) {
		out->text = xstrdup(json_string_value(x));
		out->number = false;
		return true;
	}
	if (!json_is_number(x))
		return false;
	double d = json_number_value(x);
	if (!strcmp(type, "DOUBLE") || !strcmp(type, "FLOAT")) {
		snprintf(num, sizeof num, "%.17g", d);
	} else if (!strcmp(type, "INTEGER") || !strcmp(type, "BIGINT") ||
		   !strcmp(type, "SMALLINT") || !strcmp(type, "TINYINT") ||
		   !strcmp(type, "HUGEINT") || !strcmp(type, "UBIGINT")) {
		if (d >= 9007199254740992.0 || d <= -9007199254740992.0)
			return false;
		snprintf(num, sizeof num, "%.0f", d);
	} else {
		return false;
	}
	out->text = xstrdup(num);
	out->number = true;
	return true;
}

static enum guard_op swap_op(enum guard_op op)
{
	switch (op) {
	case GUARD_LT: return GUARD_GT;
	case GUARD_LE: return GUARD_GE;
	case GUARD_GT: return GUARD_LT;
	case GUARD_GE: return GUARD_LE;
	default: return op;
	}
}

static bool comparison_op(const char *type, enum guard_op *op)
{
	static const struct { const char *name; enum guard_op op; } ops[] = {
		{ "COMPARE_EQUAL", GUARD_EQ }, { "COMPARE_NOTEQUAL", GUARD_NE },
		{ "COMPARE_LESSTHAN", GUARD_LT }, { "COMPARE_LESSTHANOREQUALTO", GUARD_LE },
		{ "COMPARE_GREATERTHAN", GUARD_GT }, { "COMPARE_GREATERTHANOREQUALTO", GUARD_GE },
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(type, ops[i].name)) {
			*op = ops[i].op;
			return true;
		}
	return false;
}

/* Predicates per reference, values per IN list: past these, the rest are skipped. */
#define GUARD_MAX_PREDS 64u
#define GUARD_MAX_IN 4096u

static void pred_free_vals(struct guard_const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

/* Adds the predicate of one conjunct e to ref, when it has the form. */
static void add_pred(struct guard_ref *out, const json_t *e, const json_t *ref, bool single)
{
	const char *cls = jstr(e, "class"), *type = jstr(e, "type");
	const char *col = NULL;
	enum guard_op op;
	struct guard_const *vals = NULL;
	size_t n = 0;
	if (out->npreds >= GUARD_MAX_PREDS)
		return;
	if (!strcmp(cls, "COMPARISON") && comparison_op(type, &op)) {
		const json_t *l = json_object_get(e, "left"), *r = json_object_get(e, "right");
		vals = xcalloc(1, sizeof *vals);
		if ((col = ref_column(l, ref, single)) && const_value(r, &vals[0])) {
			n = 1;
		} else if ((col = ref_column(r, ref, single)) && const_value(l, &vals[0])) {
			n = 1;
			op = swap_op(op);
		}
	} else if (!strcmp(cls, "OPERATOR") && !strcmp(type, "COMPARE_IN")) {
		const json_t *ch = json_object_get(e, "children");
		size_t m = json_array_size(ch);
		op = GUARD_IN;
		if (m >= 2 && m - 1 <= GUARD_MAX_IN &&
		    (col = ref_column(json_array_get(ch, 0), ref, single))) {
			vals = xcalloc(m - 1, sizeof *vals);
			for (n = 0; n < m - 1; n++)
				if (!const_value(json_array_get(ch, n + 1), &vals[n]))
					break;
			if (n < m - 1) {
				pred_free_vals(vals, n);
				return;
			}
		}
	} else if (!strcmp(cls, "BETWEEN")) {
		op = GUARD_BETWEEN;
		if ((col = ref_column(json_object_get(e, "input"), ref, single))) {
			vals = xcalloc(2, sizeof *vals);
			if (const_value(json_object_get(e, "lower"), &vals[0])) {
				if (const_value(json_object_get(e, "upper"), &vals[1]))
					n = 2;
				else
					free(vals[0].text);
			}
		}
	}
	if (n == 0 || !col) {
		pred_free_vals(vals, n);
		return;
	}
	out->preds = xrealloc(out->preds, (out->npreds + 1) * sizeof out->preds[0]);
	out->preds[out->npreds++] = (struct guard_pred){ xstrdup(col), op, vals, n };
}

/* Walks the AND tree of a WHERE clause. */
static void collect_preds(struct guard_ref *out, const json_t *e, const json_t *ref, bool single,
			  unsigned depth)
{
	if (!json_is_object(e) || depth > 64)
		return;
	if (!strcmp(jstr(e, "class"), "CONJUNCTION") && !strcmp(jstr(e, "type"), "CONJUNCTION_AND")) {
		size_t i;
		const json_t *c;
		json_array_foreach(json_object_get(e, "children"), i, c)
			collect_preds(out, c, ref, single, depth + 1);
		return;
	}
	add_pred(out, e, ref, single);
}

/* The predicates of base-table reference ref at this point of the walk. */
static void ref_preds(const struct walk *w, const json_t *ref, struct guard_ref *out)
{
	memset(out, 0, sizeof *out);
	if (!w->sel_where || w->sel_sample || !direct_member(w->sel_from, ref))
		return;
	if (!json_is_null(json_object_get(ref, "sample")) && json_object_get(ref, "sample"))
		return;
	if (json_array_size(json_object_get(ref, "column_name_alias")) > 0)
		return;
	collect_preds(out, w->sel_where, ref, w->sel_from == ref, 0);
}

/* Adds schema.name to the result (once; each reference adds its predicates). */
static int add_table(struct walk *w, const char *schema, const char *name, const json_t *ref)
{
	struct guard_result *r = w->res;
	struct guard_table *t = NULL;
	for (size_t i = 0; i < r->ntables && !t; i++) {
		const char *db = r->tables[i].db ? r->tables[i].db : "";
		if (!strcasecmp(db, schema) && !strcasecmp(r->tables[i].name, name))
			t = &r->tables[i];
	}
	if (!t) {
		if (r->ntables >= GUARD_MAX_TABLES)
			return tn_fail(w->err, TN_ETOOBIG, "sql references more than %u tables",
				       GUARD_MAX_TABLES);
		r->tables = xrealloc(r->tables, (r->ntables + 1) * sizeof(r->tables[0]));
		t = &r->tables[r->ntables++];
		memset(t, 0, sizeof *t);
		t->db = schema[0] ? xstrdup(schema) : NULL;
		t->name = xstrdup(name);
	}
	if (t->nrefs >= GUARD_MAX_TABLES)
		return tn_fail(w->err, TN_ETOOBIG, "sql references table '%.100s' more than %u times",
			       name, GUARD_MAX_TABLES);
	t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof t->refs[0]);
	ref_preds(w, ref, &t->refs[t->nrefs++]);
	return 0;
}

/* Adds a system catalog reference to the result (once per schema, name and kind). */
static int add_sysref(struct walk *w, const char *schema, const char *name,
		      enum guard_sys_kind kind, long pos)
{
	struct guard_result *r = w->res;
	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i].kind == kind && !strcasecmp(r->sys[i].schema, schema) &&
		    !strcasecmp(r->sys[i].name, name))
			return 0;
	if (r->nsys >= GUARD_MAX_TABLES)
		return tn_fail(w->err, TN_ETOOBIG, "sql references more than %u system tables",
			       GUARD_MAX_TABLES);
	r->sys = xrealloc(r->sys, (r->nsys + 1) * sizeof r->sys[0]);
	r->sys[r->nsys++] = (struct guard_sysref){ xstrdup(schema), xstrdup(name), kind, pos };
	return 0;
}

/*
 * GUARD_SYSCAT: a table function is collected when it is an unqualified
 * duckdb_*() called without arguments (the engine offers some of those,
 * filtered); every other one is refused as without the flag.
 */
static int add_sysfunc(struct walk *w, const json_t *ref)
{
	const json_t *fn = json_object_get(ref, "function");
	const char *name = jstr(fn, "function_name");
	long pos = node_pos(w, ref);
	/*
	 * Series and unnest read no table (PostgreSQL's catalog queries use
	 * them); their arguments, subqueries included, are walked as usual.
	 */
	if (!strcmp(jstr(fn, "class"), "FUNCTION") && !jstr(fn, "schema")[0] &&
	    !jstr(fn, "catalog")[0] &&
	    (!strcasecmp(name, "generate_series") || !strcasecmp(name, "range") ||
	     !strcasecmp(name, "unnest")))
		return 0;
	if (strcmp(jstr(fn, "class"), "FUNCTION") || jstr(fn, "schema")[0] ||
	    jstr(fn, "catalog")[0] || json_array_size(json_object_get(fn, "children")) > 0 ||
	    !has_prefix_ci(name, "duckdb_"))
		return refuse_ref(w, ref, "TABLE_FUNCTION");
	return add_sysref(w, "", name, GUARD_SYS_FUNCTION, pos >= 0 ? pos : node_pos(w, fn));
}

static int check_base_table(struct walk *w, const json_t *ref, const struct scope *sc)
{
	const char *catalog = jstr(ref, "catalog_name");
	const char *schema = jstr(ref, "schema_name");
	const char *name = jstr(ref, "table_name");
	long pos = node_pos(w, ref);
	char what[TN_ERRLEN / 2];
	if (schema[0])
		snprintf(what, sizeof(what), "'%.100s.%.100s'", schema, name);
	else
		snprintf(what, sizeof(what), "'%.200s'", name);
	if (catalog[0]) {
		char full[TN_ERRLEN / 2];
		snprintf(full, sizeof(full), "%s '%.60s.%.60s.%.60s'",
			 !strcasecmp(catalog, "system") || !strcasecmp(catalog, "temp")
				 ? "system table" : "catalog-qualified table",
			 catalog, schema, name);
		return refuse(w, TN_EDENIED, pos, full,
			      !strncmp(full, "system", 6)
				      ? "use the catalog commands (tarn tables, tarn describe)"
				      : "name lake tables as database.table");
	}
	if (is_file_name(schema, name)) {
		char full[TN_ERRLEN / 2];
		snprintf(full, sizeof(full), "file path %s used as a table", what);
		return refuse(w, TN_EDENIED, pos, full, table_hint);
	}
	if ((w->flags & GUARD_SYSCAT) && !schema[0] && in_scope(sc, name))
		return 0;
	if ((w->flags & GUARD_SYSCAT) && is_system_table(schema, name) &&
	    strcasecmp(schema, "system") && strcasecmp(schema, "temp"))
		return add_sysref(w, schema, name, GUARD_SYS_RELATION, pos);
	if (is_system_table(schema, name)) {
		char full[TN_ERRLEN / 2];
		snprintf(full, sizeof(full), "system table %s", what);
		return refuse(w, TN_EDENIED, pos, full,
			      "use the catalog commands (tarn tables, tarn describe)");
	}
	if (!name[0])
		return refuse(w, TN_EDENIED, pos, "a table without a name", table_hint);
	if (!schema[0] && in_scope(sc, name))
		return 0;
	return add_table(w, schema, name, ref);
}

/*
 * tarn's own functions (query/udf.h) serve its secured views only: a user
 * calling tarn_mask_hash would hash any value under the lake's mask key,
 * and could build the table of digests of every SSN that the keyed hash
 * exists to prevent.  Every expression naming one (a call, a method call,
 * a window, quoted, schema-qualified, any case) is refused.
 */
static int check_function(struct walk *w, const json_t *e)
{
	const char *fn = json_string_value(json_object_get(e, "function_name"));
	char what[160];
	/* the functions of the catalogs that read the image: it must be the caller's */
	if (fn && (w->flags & GUARD_SYSCAT) && pgcat_is_image_function(fn))
		return add_sysref(w, "", fn, GUARD_SYS_SCALAR, node_pos(w, e));
	if (!fn || !has_prefix_ci(fn, UDF_PREFIX))
		return 0;
	snprintf(what, sizeof(what), "function '%.100s'", fn);
	return refuse(w, TN_EDENIED, node_pos(w, e), what,
		      "tarn's internal functions serve its secured views only");
}

static int walk(struct walk *w, const json_t *v, unsigned depth, const struct scope *sc);

/* Walks the entries of a cte_map in order; *top gets the innermost scope. */
static int walk_ctes(struct walk *w, const json_t *map, unsigned depth,
		     const struct scope *sc, struct scope *frames, const struct scope **top)
{
	size_t i;
	const json_t *e;
	int rc;
	*top = sc;
	json_array_foreach(map, i, e) {
		const char *name = json_string_value(json_object_get(e, "key"));
		if ((rc = walk(w, json_object_get(e, "value"), depth + 1, *top)))
			return rc;
		if (!name)
			continue;
		frames[i].name = name;
		frames[i].up = *top;
		*top = &frames[i];
	}
	return 0;
}

static int walk_object(struct walk *w, const json_t *o, unsigned depth, const struct scope *sc)
{
	const char *type = NULL, *key;
	const json_t *map = json_object_get(json_object_get(o, "cte_map"), "map");
	const json_t *val;
	struct scope *frames = NULL, self;
	const struct scope *inner = sc;
	const json_t *saved_from = w->sel_from, *saved_where = w->sel_where;
	bool saved_sample = w->sel_sample;
	bool cte_node = false;
	int rc = 0;

	if (json_object_get(o, "class") && (rc = check_function(w, o)))
		return rc;
	/* current_user and the like: a name DuckDB binds to a function when no column has it */
	if ((w->flags & GUARD_SYSCAT) && !strcmp(jstr(o, "class"), "COLUMN_REF") &&
	    json_array_size(json_object_get(o, "column_names")) == 1) {
		const char *cn = json_string_value(
			json_array_get(json_object_get(o, "column_names"), 0));
		if (cn && pgcat_is_image_function(cn) &&
		    (rc = add_sysref(w, "", cn, GUARD_SYS_SCALAR, node_pos(w, o))))
			return rc;
	}
	if (!json_object_get(o, "class"))
		type = json_string_value(json_object_get(o, "type"));
	if (type) {
		if (!strcmp(type, "BASE_TABLE")) {
			if ((rc = check_base_table(w, o, sc)))
				return rc;
		} else if (!strcmp(type, "TABLE_FUNCTION") && (w->flags & GUARD_SYSCAT)) {
			if ((rc = add_sysfunc(w, o)))
				return rc;
		} else if (!strcmp(type, "TABLE_FUNCTION") || !strcmp(type, "SHOW_REF")) {
			return refuse_ref(w, o, type);
		} else if (!strcmp(type, "JOIN")) {
			if ((rc = check_slot(w, json_object_get(o, "left"))) ||
			    (rc = check_slot(w, json_object_get(o, "right"))))
				return rc;
		} else if (!strcmp(type, "PIVOT")) {
			if ((rc = check_slot(w, json_object_get(o, "source"))))
				return rc;
		}
		cte_node = !strcmp(type, "CTE_NODE");
		if (!strcmp(type, "SELECT_NODE")) {
			w->sel_from = json_object_get(o, "from_table");
			w->sel_where = json_object_get(o, "where_clause");
			if (json_is_null(w->sel_where))
				w->sel_where = NULL;
			const json_t *sample = json_object_get(o, "sample");
			w->sel_sample = sample && !json_is_null(sample);
		}
	}
	if ((rc = check_slot(w, json_object_get(o, "from_table"))))
		return rc;

	if (json_array_size(map) > 0) {
		frames = xcalloc(json_array_size(map), sizeof(*frames));
		if ((rc = walk_ctes(w, map, depth, sc, frames, &inner)))
			goto out;
	}
	if (type && !strcmp(type, "RECURSIVE_CTE_NODE") &&
	    json_string_value(json_object_get(o, "cte_name"))) {
		self.name = json_string_value(json_object_get(o, "cte_name"));
		self.up = inner;
		inner = &self;
	}
	json_object_foreach((json_t *)o, key, val) {
		if (!strcmp(key, "cte_map"))
			continue;
		/* A materialized CTE's body does not see the CTE itself. */
		rc = walk(w, val, depth + 1, cte_node && !strcmp(key, "query") ? sc : inner);
		if (rc)
			goto out;
	}
out:
	w->sel_from = saved_from;
	w->sel_where = saved_where;
	w->sel_sample = saved_sample;
	free(frames);
	return rc;
}

static int walk(struct walk *w, const json_t *v, unsigned depth, const struct scope *sc)
{
	size_t i;
	const json_t *e;
	int rc;
	if (depth > GUARD_MAX_DEPTH)
		return tn_fail(w->err, TN_ETOOBIG,
			       "sql is nested too deeply (over %u levels in the parse tree)",
			       GUARD_MAX_DEPTH);
	if (json_is_object(v))
		return walk_object(w, v, depth, sc);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if ((rc = walk(w, e, depth + 1, sc)))
				return rc;
		}
	}
	return 0;
}

/* ---- the check ---- */

/* Turns DuckDB's {"error": true, ...} into the guard's answer. */
static int parse_error(struct walk *w, const json_t *doc)
{
	const char *type = jstr(doc, "error_type");
	const char *msg = jstr(doc, "error_message");
	const char *ps = json_string_value(json_object_get(doc, "position"));
	char kind[48];
	if (!strcmp(type, "parser")) {
		char *end;
		long p = ps ? strtol(ps, &end, 10) : -1;
		if (ps && *end == '\0' && p >= 0 && (size_t)p <= w->sqllen) {
			w->res->error_pos = (long)w->off + p;
			return tn_fail(w->err, TN_EINVAL, "sql: %.300s (at byte %ld)", msg,
				       w->res->error_pos);
		}
		return tn_fail(w->err, TN_EINVAL, "sql: %.400s", msg);
	}
	if (strstr(msg, "Only SELECT statements")) {
		statement_kind(w->sql, kind, sizeof(kind));
		if (!kind[0] || is_read_kind(kind))
			return tn_fail(w->err, TN_EDENIED,
				       "sql holds a statement that is not a query: %s", read_hint);
		return tn_fail(w->err, TN_EDENIED, "'%s' statements are not allowed: %s", kind,
			       read_hint);
	}
	return tn_fail(w->err, TN_EDENIED, "sql cannot be checked (%.60s: %.300s): %s", type, msg,
		       read_hint);
}

/* Runs json_serialize_sql on text; returns the JSON (caller frees with duckdb_free). */
static int serialize(struct guard *g, const char *text, char **json, char *err)
{
	duckdb_result r;
	int rc = 0;
	*json = NULL;
	pthread_mutex_lock(&g->mu);
	if (duckdb_bind_varchar(g->st, 1, text) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: duckdb: cannot bind the statement");
		goto out;
	}
	if (duckdb_execute_prepared(g->st, &r) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINVAL, "sql cannot be parsed: %.400s", duckdb_result_error(&r));
		duckdb_destroy_result(&r);
		goto out;
	}
	if (duckdb_row_count(&r) == 1 && duckdb_column_count(&r) == 1)
		*json = duckdb_value_varchar(&r, 0, 0);
	duckdb_destroy_result(&r);
	if (!*json)
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: json_serialize_sql returned no row");
out:
	duckdb_clear_bindings(g->st);
	pthread_mutex_unlock(&g->mu);
	return rc;
}

int guard_check(struct guard *g, const char *sql, struct guard_result *res, char *err)
{
	return guard_check_ex(g, sql, 0, res, err);
}

int guard_check_ex(struct guard *g, const char *sql, unsigned flags, struct guard_result *res,
		   char *err)
{
	struct walk w = { .res = res, .err = err, .flags = flags };
	json_error_t jerr;
	json_t *doc = NULL;
	const json_t *stmts, *err_flag;
	char *text = NULL;
	size_t len;
	int rc;

	res->tables = NULL;
	res->ntables = 0;
	res->sys = NULL;
	res->nsys = 0;
	res->error_pos = -1;
	if (!g || !sql)
		return tn_fail(err, TN_EINVAL, "sql guard: no statement");
	len = strnlen(sql, (size_t)GUARD_MAX_SQL + 1);
	if (len > GUARD_MAX_SQL)
		return tn_fail(err, TN_ETOOBIG, "sql is longer than %u bytes", GUARD_MAX_SQL);
	if (!utf8_valid(sql, len)) {
		size_t at = 0;
		while (at < len) {
			size_t l = utf8_seq_len((const unsigned char *)sql + at, len - at);
			if (!l)
				break;
			at += l;
		}
		res->error_pos = (long)at;
		return tn_fail(err, TN_EINVAL, "sql is not valid UTF-8 (at byte %zu)", at);
	}
	{
		size_t ctes, mat;
		count_ctes(sql, &ctes, &mat);
		if (ctes > GUARD_MAX_CTES)
			return tn_fail(err, TN_ETOOBIG, "sql holds more than %u common table expressions",
				       GUARD_MAX_CTES);
		if (mat > GUARD_MAX_MATERIALIZED)
			return tn_fail(err, TN_ETOOBIG,
				       "sql holds more than %u materialized common table expressions",
				       GUARD_MAX_MATERIALIZED);
	}
	w.off = explain_prefix(sql);
	w.sql = sql + w.off;
	w.sqllen = len - w.off;

	if ((rc = serialize(g, w.sql, &text, err)))
		goto out;
	doc = json_loads(text, JSON_DECODE_INT_AS_REAL, &jerr);
	if (!doc) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: json_serialize_sql output: %.200s",
			     jerr.text);
		goto out;
	}
	err_flag = json_object_get(doc, "error");
	if (!json_is_boolean(err_flag)) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: json_serialize_sql output has no 'error'");
		goto out;
	}
	if (json_is_true(err_flag)) {
		rc = parse_error(&w, doc);
		goto out;
	}
	stmts = json_object_get(doc, "statements");
	if (json_array_size(stmts) == 0) {
		rc = tn_fail(err, TN_EINVAL, "sql is empty: %s", read_hint);
		goto out;
	}
	if (json_array_size(stmts) > 1) {
		rc = tn_fail(err, TN_EDENIED, "sql holds %zu statements: %s",
			     json_array_size(stmts), read_hint);
		goto out;
	}
	if (!json_is_object(json_object_get(json_array_get(stmts, 0), "node"))) {
		rc = tn_fail(err, TN_EINTERNAL, "sql guard: json_serialize_sql output has no 'node'");
		goto out;
	}
	rc = walk(&w, json_array_get(stmts, 0), 0, NULL);
out:
	if (rc)
		guard_result_release(res);
	json_decref(doc);
	if (text)
		duckdb_free(text);
	return rc;
}

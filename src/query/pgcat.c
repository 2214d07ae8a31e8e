/*
 * pgcat.c - PostgreSQL's catalogs as drivers and BI tools read them:
 * pg_catalog relations shaped like PostgreSQL 15's, the functions they
 * call (version(), current_schema(), format_type(), pg_get_expr(), ...)
 * and a rewrite of their SQL into what DuckDB parses.
 *
 * The problem.  psql, pgjdbc, psqlODBC and BI tools send PostgreSQL's
 * catalog queries (captured from the real clients: tests/integration/
 * pg_catalog_queries/).  DuckDB 1.4.4 has a pg_catalog, but a thin one:
 * pg_attribute.atttypid holds DuckDB's type ids, relations such as
 * pg_roles, pg_inherits, pg_policy are missing, columns such as
 * relforcerowsecurity too; pg_catalog.f(x) parses as a method call,
 * OPERATOR(pg_catalog.~) loses its operator, COLLATE pg_catalog.default
 * names no collation, pg_catalog.int2[] does not parse, `~` is a full
 * match where PostgreSQL's is a search, and 'pg_class'::regclass has no
 * type to cast to.  DuckDB's system schema pg_catalog cannot be changed,
 * nor shadowed by a schema of that name in another database.
 *
 * Design.  Unqualified names bind through the connection's search path,
 * whose first entry is the connection's own database q<i>: relations,
 * macros and types created in q<i>.main shadow DuckDB's pg_catalog ones
 * (syscat.c shadows DuckDB's catalog functions the same way).  So:
 *
 *   - The rewrite (pgcat_rewrite, before the guard) drops the pg_catalog
 *     qualifier, so every pg_catalog name binds to q<i>.main.  It works on
 *     tokens (strings, quoted names, comments and dollar quotes are
 *     skipped as DuckDB's lexer does) and only in statements that name a
 *     catalog (an identifier pg_catalog, information_schema, pg_*, a reg*
 *     type, or one of the functions named below):
 *       pg_catalog.x                 -> x
 *       information_schema._pg_x     -> _pg_x
 *       OPERATOR(pg_catalog.op)      -> op
 *       COLLATE pg_catalog.default   -> (nothing; also "C", "POSIX")
 *       a ~ 'p'  (!~, ~*, !~*)       -> a ~ '(?s:.*(?:p).*)'  (a search, as in PostgreSQL)
 *       'x'::regclass (regtype, ...) -> to_regclass('x')
 *       FROM generate_series(..) s   -> FROM generate_series(..) s(s)  (s names the column)
 *       SELECT version(), ...        -> SELECT version() AS version, ...  (also
 *                                       current_schema(s), current_database)
 *     The guard checks the rewritten text and DuckDB runs it, so the
 *     rewrite cannot let anything past the guard: at worst a statement
 *     means something else and fails or answers wrongly.
 *   - q<i>.main holds views named like PostgreSQL's relations with their
 *     columns (pg_class, pg_attribute, pg_namespace, pg_type, pg_database,
 *     pg_roles, pg_description, pg_index, pg_inherits, ...: pgcat_relations),
 *     macros (version, current_database, current_schema(s), current_user,
 *     format_type, pg_get_expr, pg_get_userbyid, obj/col_description,
 *     has_table_privilege, array_upper, to_regclass, ...) and types
 *     (regclass, regtype, name, ...).  pg_proc stays DuckDB's (filtered by
 *     syscat.c), pg_settings stays refused.
 *   - The tables and columns come from the catalog image (syscat.c): with
 *     its empty tables, the image fills cat<i>.main.pg_rel and pg_att with
 *     each table's OID, schema, columns, PostgreSQL type OIDs (those of
 *     pgtype_from_duckdb_name, so a column's OID is the one RowDescription
 *     gives for a SELECT of it), typmods and comments.  A table's OID is a
 *     hash of its schema and name: a client reads an OID in one statement
 *     and uses it in the next, maybe on another connection.
 *   - pg_type lists PostgreSQL's rows for the OIDs tarn reports (and their
 *     arrays), from a table cat<i>.main.pg_types filled once per
 *     connection (a VALUES list in the view cost its planning on every
 *     query); format_type names them as PostgreSQL does.
 *
 * What answers what: current_database() and pg_database the lake's name
 * (query_engine_set_name); pg_namespace, pg_class and the rest list each
 * zone once under its name (raw, not bronze; _pg_unalias maps a name
 * through an alias for to_regclass and has_table_privilege),
 * pg_catalog and information_schema; current_schema() "raw" (tarn has no
 * public schema; an unqualified table name is looked up in every zone, so
 * the search path, current_schemas(), is every zone, raw first); every
 * table is owned by role "tarn" (OID 10); pg_roles and pg_user hold it and
 * the principal asking; indexes, constraints, defaults, inheritance,
 * policies, triggers, publications: none.
 *
 * Invariants: every relation and function here that reads the image is
 * reached only through a name the guard reports as a system reference
 * (pg_* relations; pgcat_is_image_function), so the image is the
 * caller's before it runs.  Nothing here reads DuckDB's catalog functions
 * unfiltered.
 */
#include <ctype.h>
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "pg/types.h"
#include "query/guard.h"
#include "query/pgcat_int.h"
#include "query/query_int.h"
#include "store/store.h"
#include "core/banned.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the rewrite ---- */

enum tok_kind {
	TOK_SPACE,    /* whitespace and comments */
	TOK_IDENT,    /* a name or keyword */
	TOK_QIDENT,   /* "quoted name" */
	TOK_STRING,   /* 'string' or E'string' */
	TOK_DOLLAR,   /* $tag$ string $tag$ */
	TOK_NUMBER,
	TOK_PARAM,    /* $1 */
	TOK_OP,       /* operator characters */
	TOK_CAST,     /* :: */
	TOK_PUNCT,    /* one other character */
};

struct tok {
	enum tok_kind kind;
	const char *p;
	size_t n;
};

static bool is_op_char(char c)
{
	return c && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}

static bool is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || isdigit((unsigned char)c) || c == '$';
}

/* Length of the token at p (never 0 unless *p is NUL). */
static size_t lex_one(const char *p, enum tok_kind *kind)
{
	const char *q = p;
	if (isspace((unsigned char)*p) || (p[0] == '-' && p[1] == '-') ||
	    (p[0] == '/' && p[1] == '*')) {
		*kind = TOK_SPACE;
		for (;;) {
			if (isspace((unsigned char)*q)) {
				q++;
			} else if (q[0] == '-' && q[1] == '-') {
				while (*q && *q != '\n')
					q++;
			} else if (q[0] == '/' && q[1] == '*') {
				int depth = 1;
				q += 2;
				while (*q && depth > 0) {
					if (q[0] == '/' && q[1] == '*') {
						depth++;
						q += 2;
					} else if (q[0] == '*' && q[1] == '/') {
						depth--;
						q += 2;
					} else {
						q++;
					}
				}
			} else {
				break;
			}
		}
		return (size_t)(q - p);
	}
	if (*p == '\'' || ((*p == 'e' || *p == 'E') && p[1] == '\'')) {
		bool esc = *p != '\'';
		*kind = TOK_STRING;
		q += esc ? 2 : 1;
		while (*q) {
			if (esc && *q == '\\' && q[1]) {
				q += 2;
			} else if (*q == '\'' && q[1] == '\'') {
				q += 2;
			} else if (*q == '\'') {
				return (size_t)(q + 1 - p);
			} else {
				q++;
			}
		}
		return (size_t)(q - p);
	}
	if (*p == '"') {
		*kind = TOK_QIDENT;
		for (q++; *q; q++) {
			if (*q == '"' && q[1] == '"')
				q++;
			else if (*q == '"')
				return (size_t)(q + 1 - p);
		}
		return (size_t)(q - p);
	}
	if (*p == '$' && isdigit((unsigned char)p[1])) {
		*kind = TOK_PARAM;
		for (q++; isdigit((unsigned char)*q); q++)
			;
		return (size_t)(q - p);
	}
	if (*p == '$') {
		/* $tag$ ... $tag$ (the tag may be empty) */
		const char *t = p + 1;
		while (is_ident_start(*t) || isdigit((unsigned char)*t))
			t++;
		if (*t == '$') {
			size_t tl = (size_t)(t + 1 - p);
			*kind = TOK_DOLLAR;
			for (q = t + 1; *q; q++)
				if (!strncmp(q, p, tl))
					return (size_t)(q + tl - p);
			return (size_t)(q - p);
		}
		*kind = TOK_PUNCT;
		return 1;
	}
	if (is_ident_start(*p)) {
		*kind = TOK_IDENT;
		while (is_ident_char(*q))
			q++;
		return (size_t)(q - p);
	}
	if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
		*kind = TOK_NUMBER;
		while (isalnum((unsigned char)*q) || *q == '.' || *q == '_')
			q++;
		return (size_t)(q - p);
	}
	if (p[0] == ':' && p[1] == ':') {
		*kind = TOK_CAST;
		return 2;
	}
	if (is_op_char(*p)) {
		*kind = TOK_OP;
		while (is_op_char(*q) && !(q[0] == '-' && q[1] == '-') && !(q[0] == '/' && q[1] == '*'))
			q++;
		return (size_t)(q - p);
	}
	*kind = TOK_PUNCT;
	return 1;
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	if (t->kind == TOK_IDENT)
		return t->n == n && !strncasecmp(t->p, word, n);
	if (t->kind == TOK_QIDENT)
		return t->n == n + 2 && !strncmp(t->p + 1, word, n);
	return false;
}

static bool tok_punct(const struct tok *t, char c)
{
	return t->kind == TOK_PUNCT && t->n == 1 && t->p[0] == c;
}

/* Index of the next token after i that is not space (n if none). */
static size_t next_tok(const struct tok *v, size_t n, size_t i)
{
	for (i++; i < n && v[i].kind == TOK_SPACE; i++)
		;
	return i;
}

/* Index of the last token before i that is not space, or (size_t)-1. */
static size_t prev_tok(const struct tok *v, size_t i)
{
	while (i-- > 0)
		if (v[i].kind != TOK_SPACE)
			return i;
	return (size_t)-1;
}

/*
 * If token i is the qualifier `pg_catalog .` (not itself qualified),
 * returns the index of the token after the dot, else i.
 */
static size_t skip_pg_catalog(const struct tok *v, size_t n, size_t i)
{
	if (i >= n || !tok_is(&v[i], "pg_catalog"))
		return i;
	size_t pv = prev_tok(v, i);
	if (pv != (size_t)-1 && tok_punct(&v[pv], '.'))
		return i;
	size_t dot = next_tok(v, n, i);
	if (dot >= n || !tok_punct(&v[dot], '.'))
		return i;
	size_t after = next_tok(v, n, dot);
	return after < n ? after : i;
}

/* Functions whose result column PostgreSQL names after them ("version"). */
static const char *const named_functions[] = {
	"version", "current_schema", "current_database", "current_schemas",
};

/* The reg* types a string literal is cast to (each has its to_<type>() function). */
static const char *const reg_types[] = {
	"regclass", "regtype", "regnamespace", "regproc", "regprocedure", "regrole",
};
#define NREG_TYPES NELEM(reg_types)

/*
 * Does the statement name a catalog: an identifier pg_catalog,
 * information_schema, pg_*, or one of the reg* types?
 */
static bool names_catalog(const struct tok *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tok *t = &v[i];
		const char *p = t->p;
		size_t len = t->n;
		if (t->kind == TOK_QIDENT) {
			p++;
			len = len >= 2 ? len - 2 : 0;
		} else if (t->kind != TOK_IDENT) {
			continue;
		}
		if ((len >= 3 && !strncasecmp(p, "pg_", 3)) ||
		    (len == 18 && !strncasecmp(p, "information_schema", 18)))
			return true;
		for (size_t r = 0; r < NREG_TYPES; r++)
			if (t->kind == TOK_IDENT && tok_is(t, reg_types[r]))
				return true;
		for (size_t r = 0; r < NELEM(named_functions); r++)
			if (t->kind == TOK_IDENT && tok_is(t, named_functions[r]))
				return true;
	}
	return false;
}



static bool is_regex_op(const char *p, size_t n)
{
	return (n == 1 && p[0] == '~') || (n == 2 && !strncmp(p, "!~", 2)) ||
	       (n == 2 && !strncmp(p, "~*", 2)) || (n == 3 && !strncmp(p, "!~*", 3));
}

/*
 * Regular expression operator op before the token at s: if that is a
 * string literal, appends `~ '(?s:.*(?:literal).*)'` (!~ for a negation,
 * flag i for ~*), a search as PostgreSQL's ~ does, where DuckDB's ~
 * matches the whole text.  Returns whether it did.
 */
static bool put_regex(struct buf *out, const struct tok *op, const struct tok *v, size_t n,
		      size_t s)
{
	if (s >= n || v[s].kind != TOK_STRING)
		return false;
	bool neg = op->p[0] == '!', ci = op->p[op->n - 1] == '*';
	const struct tok *lit = &v[s];
	size_t pre = lit->p[0] == '\'' ? 1 : 2;
	if (lit->n < pre + 1 || lit->p[lit->n - 1] != '\'')
		return false;  /* not closed: DuckDB reports it */
	buf_puts(out, neg ? "!~ " : "~ ");
	buf_append(out, lit->p, pre);
	buf_puts(out, ci ? "(?si:.*(?:" : "(?s:.*(?:");
	buf_append(out, lit->p + pre, lit->n - pre - 1);
	buf_puts(out, ").*)'");
	return true;
}

/* Words that end a FROM item: not a table alias. */
static bool is_clause_word(const struct tok *t)
{
	static const char *const words[] = {
		"where", "join", "on", "left", "right", "inner", "outer", "cross", "full",
		"natural", "order", "group", "having", "limit", "offset", "union", "except",
		"intersect", "window", "qualify", "using", "fetch", "for", "with", "as",
		"lateral", "positional", "asof", "anti", "semi", "tablesample", "using",
	};
	if (t->kind != TOK_IDENT)
		return true;
	for (size_t i = 0; i < NELEM(words); i++)
		if (tok_is(t, words[i]))
			return true;
	return false;
}

/*
 * `FROM generate_series(...) s`: PostgreSQL names the one column of a
 * scalar function after the alias, DuckDB after the function (and the
 * alias names the row).  If token i starts such a call (after FROM or
 * JOIN) with an alias and no column names, returns the alias's index, to
 * be followed by "(alias)"; else 0.
 */
static size_t series_alias(const struct tok *v, size_t n, size_t i)
{
	if (!tok_is(&v[i], "generate_series") && !tok_is(&v[i], "unnest"))
		return 0;
	size_t pv = prev_tok(v, i);
	if (pv != (size_t)-1 && tok_punct(&v[pv], '.')) {
		size_t q = prev_tok(v, pv);
		if (q == (size_t)-1 || !tok_is(&v[q], "pg_catalog"))
			return 0;
		pv = prev_tok(v, q);
	}
	if (pv == (size_t)-1 || !(tok_is(&v[pv], "from") || tok_is(&v[pv], "join")))
		return 0;
	size_t lp = next_tok(v, n, i), m = lp;
	int depth = 0;
	if (lp >= n || !tok_punct(&v[lp], '('))
		return 0;
	for (; m < n; m++) {
		if (tok_punct(&v[m], '('))
			depth++;
		else if (tok_punct(&v[m], ')') && --depth == 0)
			break;
	}
	if (m >= n)
		return 0;
	size_t a = next_tok(v, n, m);
	if (a < n && tok_is(&v[a], "as"))
		a = next_tok(v, n, a);
	if (a >= n || is_clause_word(&v[a]))
		return 0;
	size_t after = next_tok(v, n, a);
	if (after < n && (tok_punct(&v[after], '(') || tok_punct(&v[after], '.')))
		return 0;
	return a;
}

/*
 * `SELECT version()`: PostgreSQL names the column "version", DuckDB
 * "version()".  If token i is such a call, alone as an item of the
 * top-level select list (after SELECT or a comma at depth 0, followed by
 * a comma, FROM, ';' or the end), returns the index of its closing
 * parenthesis, to be followed by " AS name"; else 0.
 */
static size_t named_call(const struct tok *v, size_t n, size_t i, int depth)
{
	bool named = false;
	for (size_t r = 0; r < NELEM(named_functions) && !named; r++)
		named = v[i].kind == TOK_IDENT && tok_is(&v[i], named_functions[r]);
	size_t pv = prev_tok(v, i);
	if (!named || depth != 0 || pv == (size_t)-1 ||
	    !(tok_is(&v[pv], "select") || tok_punct(&v[pv], ',')))
		return 0;
	size_t lp = next_tok(v, n, i), m = lp;
	int d = 0;
	if (lp >= n || !tok_punct(&v[lp], '('))
		return 0;
	for (; m < n; m++) {
		if (tok_punct(&v[m], '('))
			d++;
		else if (tok_punct(&v[m], ')') && --d == 0)
			break;
	}
	if (m >= n)
		return 0;
	size_t after = next_tok(v, n, m);
	if (after < n && !tok_punct(&v[after], ',') && !tok_punct(&v[after], ';') &&
	    !tok_is(&v[after], "from"))
		return 0;
	return m;
}

/*
 * A string literal meant as bytea, in one of PostgreSQL's two input forms
 * (standard_conforming_strings on: backslashes are the literal's own):
 * hex `\x` then pairs of hex digits (whitespace between pairs), or escape
 * (`\\` a backslash, `\ooo` an octal byte, any other character itself).
 * DuckDB's BLOB cast reads `\xHH` as one byte and the rest as characters,
 * so `'\x0102'::BLOB` is 0x01 then "02".  If lit is a plain '...' literal
 * holding a backslash in a valid form, appends its bytes as hex digits to
 * hex and returns true; else (no backslash: both read it the same; an
 * E'' string; a malformed one) false, and the literal keeps DuckDB's
 * meaning.
 */
static bool bytea_hex(const struct tok *lit, struct buf *hex)
{
	static const char digits[] = "0123456789abcdef";
	if (lit->kind != TOK_STRING || lit->p[0] != '\'' || lit->n < 2 ||
	    lit->p[lit->n - 1] != '\'' || !memchr(lit->p, '\\', lit->n))
		return false;
	const char *p = lit->p + 1, *end = lit->p + lit->n - 1;
	buf_reset(hex);
	if (end - p >= 2 && p[0] == '\\' && p[1] == 'x') {
		for (p += 2; p < end;) {
			if (isspace((unsigned char)*p)) {
				p++;
				continue;
			}
			if (end - p < 2 || !isxdigit((unsigned char)p[0]) ||
			    !isxdigit((unsigned char)p[1]))
				return false;
			buf_putc(hex, (char)tolower((unsigned char)p[0]));
			buf_putc(hex, (char)tolower((unsigned char)p[1]));
			p += 2;
		}
		return true;
	}
	while (p < end) {
		unsigned c = (unsigned char)*p;
		if (c == '\'') {
			p += 2;  /* '' inside the literal: one quote */
		} else if (c != '\\') {
			p++;
		} else if (end - p >= 2 && p[1] == '\\') {
			p += 2;
		} else if (end - p >= 4 && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
			   p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			c = (unsigned)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			return false;
		}
		buf_putc(hex, digits[c >> 4]);
		buf_putc(hex, digits[c & 15]);
	}
	return true;
}

/* Is token i the type name bytea (pg_catalog. skipped by the caller)? */
static bool is_bytea(const struct tok *v, size_t n, size_t i)
{
	return i < n && v[i].kind == TOK_IDENT && tok_is(&v[i], "bytea");
}

/*
 * A bytea literal starting at token i: `'…'::bytea`, `CAST('…' AS bytea)`
 * or `bytea '…'` (each with an optional pg_catalog.) whose literal
 * bytea_hex reads.  Returns the index of its last token and fills hex,
 * or returns 0.
 */
static size_t bytea_literal(const struct tok *v, size_t n, size_t i, struct buf *hex)
{
	if (v[i].kind == TOK_STRING) {
		size_t c = next_tok(v, n, i);
		if (c >= n || v[c].kind != TOK_CAST)
			return 0;
		size_t ty = skip_pg_catalog(v, n, next_tok(v, n, c));
		size_t after = next_tok(v, n, ty);
		if (!is_bytea(v, n, ty) || (after < n && tok_punct(&v[after], '[')))
			return 0;
		size_t pv = prev_tok(v, i);
		if (pv != (size_t)-1 && v[pv].kind == TOK_CAST)
			return 0;  /* x::'…'::bytea is not a literal's cast */
		return bytea_hex(&v[i], hex) ? ty : 0;
	}
	if (v[i].kind != TOK_IDENT)
		return 0;
	size_t pv = prev_tok(v, i);
	if (pv != (size_t)-1 && (tok_punct(&v[pv], '.') || v[pv].kind == TOK_CAST))
		return 0;
	if (tok_is(&v[i], "cast")) {
		size_t lp = next_tok(v, n, i), s = next_tok(v, n, lp);
		size_t as = next_tok(v, n, s);
		size_t ty = skip_pg_catalog(v, n, next_tok(v, n, as));
		size_t rp = next_tok(v, n, ty);
		if (rp >= n || !tok_punct(&v[lp], '(') || !tok_is(&v[as], "as") ||
		    !is_bytea(v, n, ty) || !tok_punct(&v[rp], ')'))
			return 0;
		return bytea_hex(&v[s], hex) ? rp : 0;
	}
	size_t ty = skip_pg_catalog(v, n, i);
	if (ty != i && pv != (size_t)-1 && tok_punct(&v[pv], '.'))
		return 0;
	if (!is_bytea(v, n, ty))
		return 0;
	if (pv != (size_t)-1 && tok_is(&v[pv], "as"))
		return 0;
	size_t s = next_tok(v, n, ty);
	return s < n && bytea_hex(&v[s], hex) ? s : 0;
}

bool pgcat_rewrite(const char *sql, struct buf *out)
{
	struct tok *v = NULL;
	size_t n = 0, cap = 0;
	bool changed = false, *aliases = NULL;
	const struct tok **names = NULL;  /* at a call's ')': the function it names */
	struct buf hex = BUF_INIT(0);     /* a bytea literal's bytes, in hex */
	/*
	 * Most statements name no catalog: a look for the words first.  Past
	 * the guard's cap the guard refuses the text anyway.
	 */
	if (strlen(sql) > GUARD_MAX_SQL ||
	    (!strcasestr(sql, "pg_") && !strcasestr(sql, "information_schema") &&
	     !strcasestr(sql, "reg") && !strcasestr(sql, "version") &&
	     !strcasestr(sql, "current_") && !strcasestr(sql, "bytea")))
		return false;
	for (const char *p = sql; *p;) {
		enum tok_kind k;
		size_t len = lex_one(p, &k);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n++] = (struct tok){ k, p, len };
		p += len;
	}
	/*
	 * Every rule but the bytea literals' applies only to a statement
	 * naming a catalog; the bytea rule to any.
	 */
	bool cat = names_catalog(v, n), bytea = false;
	for (size_t i = 0; i < n && !bytea; i++)
		bytea = bytea_literal(v, n, i, &hex) != 0;
	if (!cat && !bytea)
		goto out;
	buf_reset(out);
	aliases = xcalloc(n ? n : 1, sizeof *aliases);
	names = xcalloc(n ? n : 1, sizeof *names);
	for (size_t i = 0, depth = 0; cat && i < n; i++) {
		size_t a = series_alias(v, n, i), m = named_call(v, n, i, (int)depth);
		if (a)
			aliases[a] = true;
		if (m)
			names[m] = &v[i];
		if (tok_punct(&v[i], '('))
			depth++;
		else if (tok_punct(&v[i], ')') && depth > 0)
			depth--;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tok *t = &v[i];
		size_t last = bytea ? bytea_literal(v, n, i, &hex) : 0;
		if (last) {
			/* '\x0102'::bytea -> unhex('0102') */
			buf_puts(out, "unhex('");
			buf_append(out, hex.data, hex.len);
			buf_puts(out, "')");
			changed = true;
			i = last;
			continue;
		}
		if (!cat) {
			buf_append(out, t->p, t->n);
			continue;
		}
		if (names[i]) {
			/* SELECT version() -> SELECT version() AS version */
			buf_append(out, t->p, t->n);
			buf_puts(out, " AS ");
			buf_append(out, names[i]->p, names[i]->n);
			changed = true;
			continue;
		}
		if (aliases[i]) {
			/* FROM generate_series(...) s -> s(s) */
			buf_append(out, t->p, t->n);
			buf_putc(out, '(');
			buf_append(out, t->p, t->n);
			buf_putc(out, ')');
			changed = true;
			continue;
		}
		size_t j = skip_pg_catalog(v, n, i);
		if (j != i) {
			/* pg_catalog.x -> x */
			changed = true;
			i = j - 1;
			continue;
		}
		if (tok_is(t, "information_schema")) {
			size_t dot = next_tok(v, n, i), nm = next_tok(v, n, dot);
			size_t pv = prev_tok(v, i);
			if (nm < n && tok_punct(&v[dot], '.') && v[nm].kind == TOK_IDENT &&
			    v[nm].n > 4 && !strncasecmp(v[nm].p, "_pg_", 4) &&
			    !(pv != (size_t)-1 && tok_punct(&v[pv], '.'))) {
				changed = true;
				i = nm - 1;
				continue;
			}
		}
		if (tok_is(t, "operator") && t->kind == TOK_IDENT) {
			/* OPERATOR(pg_catalog.~) -> ~ */
			size_t lp = next_tok(v, n, i);
			if (lp < n && tok_punct(&v[lp], '(')) {
				size_t op = next_tok(v, n, lp);
				op = skip_pg_catalog(v, n, op);
				size_t rp = next_tok(v, n, op);
				if (rp < n && v[op].kind == TOK_OP && tok_punct(&v[rp], ')')) {
					size_t lit = next_tok(v, n, rp);
					buf_putc(out, ' ');
					changed = true;
					if (is_regex_op(v[op].p, v[op].n) &&
					    put_regex(out, &v[op], v, n, lit)) {
						i = lit;
						continue;
					}
					buf_append(out, v[op].p, v[op].n);
					buf_putc(out, ' ');
					i = rp;
					continue;
				}
			}
		}
		if (tok_is(t, "collate") && t->kind == TOK_IDENT) {
			/* COLLATE pg_catalog.default: DuckDB's default order is the bytes' */
			size_t c = skip_pg_catalog(v, n, next_tok(v, n, i));
			if (c < n && (tok_is(&v[c], "default") || tok_is(&v[c], "C") ||
				      tok_is(&v[c], "POSIX"))) {
				buf_putc(out, ' ');
				changed = true;
				i = c;
				continue;
			}
		}
		if (t->kind == TOK_OP && is_regex_op(t->p, t->n) &&
		    put_regex(out, t, v, n, next_tok(v, n, i))) {
			changed = true;
			i = next_tok(v, n, i);
			continue;
		}
		if (t->kind == TOK_STRING) {
			/* 'x'::regclass -> to_regclass('x') */
			size_t c = next_tok(v, n, i);
			if (c < n && v[c].kind == TOK_CAST) {
				size_t ty = skip_pg_catalog(v, n, next_tok(v, n, c));
				for (size_t r = 0; ty < n && r < NREG_TYPES; r++) {
					if (!tok_is(&v[ty], reg_types[r]))
						continue;
					buf_printf(out, "to_%s(", reg_types[r]);
					buf_append(out, t->p, t->n);
					buf_putc(out, ')');
					changed = true;
					i = ty;
					goto next;
				}
			}
		}
		buf_append(out, t->p, t->n);
next:;
	}
out:
	buf_release(&hex);
	free(names);
	free(aliases);
	free(v);
	return changed;
}

/* ---- what a connection holds ---- */

/* A row of PostgreSQL 15's pg_type, for the types tarn reports and their arrays. */
struct pg_type_row {
	uint32_t oid;
	const char *name;
	int len;
	bool byval;
	char type, category;
	bool preferred;
	uint32_t elem, array;
	const char *in, *out, *recv, *send;
	char align, storage;
	uint32_t collation;
	const char *format;  /* format_type(oid, NULL) */
};

static const struct pg_type_row pg_types[] = {
	{ 16, "bool", 1, true, 'b', 'B', true, 0, 1000, "boolin", "boolout", "boolrecv", "boolsend", 'c', 'p', 0, "boolean" },
	{ 17, "bytea", -1, false, 'b', 'U', false, 0, 1001, "byteain", "byteaout", "bytearecv", "byteasend", 'i', 'x', 0, "bytea" },
	{ 18, "char", 1, true, 'b', 'Z', false, 0, 1002, "charin", "charout", "charrecv", "charsend", 'c', 'p', 0, "\"char\"" },
	{ 19, "name", 64, false, 'b', 'S', false, 18, 1003, "namein", "nameout", "namerecv", "namesend", 'c', 'p', 950, "name" },
	{ 20, "int8", 8, true, 'b', 'N', false, 0, 1016, "int8in", "int8out", "int8recv", "int8send", 'd', 'p', 0, "bigint" },
	{ 21, "int2", 2, true, 'b', 'N', false, 0, 1005, "int2in", "int2out", "int2recv", "int2send", 's', 'p', 0, "smallint" },
	{ 23, "int4", 4, true, 'b', 'N', false, 0, 1007, "int4in", "int4out", "int4recv", "int4send", 'i', 'p', 0, "integer" },
	{ 24, "regproc", 4, true, 'b', 'N', false, 0, 1008, "regprocin", "regprocout", "regprocrecv", "regprocsend", 'i', 'p', 0, "regproc" },
	{ 25, "text", -1, false, 'b', 'S', true, 0, 1009, "textin", "textout", "textrecv", "textsend", 'i', 'x', 100, "text" },
	{ 26, "oid", 4, true, 'b', 'N', true, 0, 1028, "oidin", "oidout", "oidrecv", "oidsend", 'i', 'p', 0, "oid" },
	{ 114, "json", -1, false, 'b', 'U', false, 0, 199, "json_in", "json_out", "json_recv", "json_send", 'i', 'x', 0, "json" },
	{ 199, "_json", -1, false, 'b', 'A', false, 114, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "json[]" },
	{ 700, "float4", 4, true, 'b', 'N', false, 0, 1021, "float4in", "float4out", "float4recv", "float4send", 'i', 'p', 0, "real" },
	{ 701, "float8", 8, true, 'b', 'N', true, 0, 1022, "float8in", "float8out", "float8recv", "float8send", 'd', 'p', 0, "double precision" },
	{ 705, "unknown", -2, false, 'p', 'X', false, 0, 0, "unknownin", "unknownout", "unknownrecv", "unknownsend", 'c', 'p', 0, "unknown" },
	{ 1000, "_bool", -1, false, 'b', 'A', false, 16, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "boolean[]" },
	{ 1001, "_bytea", -1, false, 'b', 'A', false, 17, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "bytea[]" },
	{ 1002, "_char", -1, false, 'b', 'A', false, 18, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "\"char\"[]" },
	{ 1003, "_name", -1, false, 'b', 'A', false, 19, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 950, "name[]" },
	{ 1005, "_int2", -1, false, 'b', 'A', false, 21, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "smallint[]" },
	{ 1007, "_int4", -1, false, 'b', 'A', false, 23, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "integer[]" },
	{ 1009, "_text", -1, false, 'b', 'A', false, 25, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 100, "text[]" },
	{ 1014, "_bpchar", -1, false, 'b', 'A', false, 1042, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 100, "character[]" },
	{ 1015, "_varchar", -1, false, 'b', 'A', false, 1043, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 100, "character varying[]" },
	{ 1016, "_int8", -1, false, 'b', 'A', false, 20, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "bigint[]" },
	{ 1021, "_float4", -1, false, 'b', 'A', false, 700, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "real[]" },
	{ 1022, "_float8", -1, false, 'b', 'A', false, 701, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "double precision[]" },
	{ 1028, "_oid", -1, false, 'b', 'A', false, 26, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "oid[]" },
	{ 1042, "bpchar", -1, false, 'b', 'S', false, 0, 1014, "bpcharin", "bpcharout", "bpcharrecv", "bpcharsend", 'i', 'x', 100, "character" },
	{ 1043, "varchar", -1, false, 'b', 'S', false, 0, 1015, "varcharin", "varcharout", "varcharrecv", "varcharsend", 'i', 'x', 100, "character varying" },
	{ 1082, "date", 4, true, 'b', 'D', false, 0, 1182, "date_in", "date_out", "date_recv", "date_send", 'i', 'p', 0, "date" },
	{ 1083, "time", 8, true, 'b', 'D', false, 0, 1183, "time_in", "time_out", "time_recv", "time_send", 'd', 'p', 0, "time without time zone" },
	{ 1114, "timestamp", 8, true, 'b', 'D', false, 0, 1115, "timestamp_in", "timestamp_out", "timestamp_recv", "timestamp_send", 'd', 'p', 0, "timestamp without time zone" },
	{ 1115, "_timestamp", -1, false, 'b', 'A', false, 1114, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "timestamp without time zone[]" },
	{ 1182, "_date", -1, false, 'b', 'A', false, 1082, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "date[]" },
	{ 1183, "_time", -1, false, 'b', 'A', false, 1083, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "time without time zone[]" },
	{ 1184, "timestamptz", 8, true, 'b', 'D', true, 0, 1185, "timestamptz_in", "timestamptz_out", "timestamptz_recv", "timestamptz_send", 'd', 'p', 0, "timestamp with time zone" },
	{ 1185, "_timestamptz", -1, false, 'b', 'A', false, 1184, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "timestamp with time zone[]" },
	{ 1186, "interval", 16, false, 'b', 'T', true, 0, 1187, "interval_in", "interval_out", "interval_recv", "interval_send", 'd', 'p', 0, "interval" },
	{ 1187, "_interval", -1, false, 'b', 'A', false, 1186, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "interval[]" },
	{ 1231, "_numeric", -1, false, 'b', 'A', false, 1700, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "numeric[]" },
	{ 1266, "timetz", 12, false, 'b', 'D', false, 0, 1270, "timetz_in", "timetz_out", "timetz_recv", "timetz_send", 'd', 'p', 0, "time with time zone" },
	{ 1270, "_timetz", -1, false, 'b', 'A', false, 1266, 0, "array_in", "array_out", "array_recv", "array_send", 'd', 'x', 0, "time with time zone[]" },
	{ 1700, "numeric", -1, false, 'b', 'N', false, 0, 1231, "numeric_in", "numeric_out", "numeric_recv", "numeric_send", 'i', 'm', 0, "numeric" },
	{ 2205, "regclass", 4, true, 'b', 'N', false, 0, 2210, "regclassin", "regclassout", "regclassrecv", "regclasssend", 'i', 'p', 0, "regclass" },
	{ 2206, "regtype", 4, true, 'b', 'N', false, 0, 2211, "regtypein", "regtypeout", "regtyperecv", "regtypesend", 'i', 'p', 0, "regtype" },
	{ 2950, "uuid", 16, false, 'b', 'U', false, 0, 2951, "uuid_in", "uuid_out", "uuid_recv", "uuid_send", 'c', 'p', 0, "uuid" },
	{ 2951, "_uuid", -1, false, 'b', 'A', false, 2950, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "uuid[]" },
	{ 3802, "jsonb", -1, false, 'b', 'U', false, 0, 3807, "jsonb_in", "jsonb_out", "jsonb_recv", "jsonb_send", 'i', 'x', 0, "jsonb" },
	{ 3807, "_jsonb", -1, false, 'b', 'A', false, 3802, 0, "array_in", "array_out", "array_recv", "array_send", 'i', 'x', 0, "jsonb[]" },
	{ 4089, "regnamespace", 4, true, 'b', 'N', false, 0, 4090, "regnamespacein", "regnamespaceout", "regnamespacerecv", "regnamespacesend", 'i', 'p', 0, "regnamespace" },
};

/* Relations that hold no rows in tarn: name, then "column:TYPE,..." as in PostgreSQL 15. */
static const struct {
	const char *name;
	const char *cols;
} empty_relations[] = {
	{ "pg_attrdef", "oid:INTEGER,adrelid:INTEGER,adnum:SMALLINT,adbin:VARCHAR" },
	{ "pg_index", "indexrelid:INTEGER,indrelid:INTEGER,indnatts:SMALLINT,indnkeyatts:SMALLINT,"
		      "indisunique:BOOLEAN,indnullsnotdistinct:BOOLEAN,indisprimary:BOOLEAN,"
		      "indisexclusion:BOOLEAN,indimmediate:BOOLEAN,indisclustered:BOOLEAN,"
		      "indisvalid:BOOLEAN,indcheckxmin:BOOLEAN,indisready:BOOLEAN,indislive:BOOLEAN,"
		      "indisreplident:BOOLEAN,indkey:SMALLINT[],indcollation:INTEGER[],"
		      "indclass:INTEGER[],indoption:SMALLINT[],indexprs:VARCHAR,indpred:VARCHAR" },
	{ "pg_constraint", "oid:INTEGER,conname:VARCHAR,connamespace:INTEGER,contype:VARCHAR,"
			   "condeferrable:BOOLEAN,condeferred:BOOLEAN,convalidated:BOOLEAN,"
			   "conrelid:INTEGER,contypid:INTEGER,conindid:INTEGER,conparentid:INTEGER,"
			   "confrelid:INTEGER,confupdtype:VARCHAR,confdeltype:VARCHAR,"
			   "confmatchtype:VARCHAR,conislocal:BOOLEAN,coninhcount:INTEGER,"
			   "connoinherit:BOOLEAN,conkey:SMALLINT[],confkey:SMALLINT[],"
			   "conpfeqop:INTEGER[],conppeqop:INTEGER[],conffeqop:INTEGER[],"
			   "confdelsetcols:SMALLINT[],conexclop:INTEGER[],conbin:VARCHAR" },
	{ "pg_inherits", "inhrelid:INTEGER,inhparent:INTEGER,inhseqno:INTEGER,"
			 "inhdetachpending:BOOLEAN" },
	{ "pg_policy", "oid:INTEGER,polname:VARCHAR,polrelid:INTEGER,polcmd:VARCHAR,"
		       "polpermissive:BOOLEAN,polroles:INTEGER[],polqual:VARCHAR,"
		       "polwithcheck:VARCHAR" },
	{ "pg_statistic_ext", "oid:INTEGER,stxrelid:INTEGER,stxname:VARCHAR,stxnamespace:INTEGER,"
			      "stxowner:INTEGER,stxstattarget:INTEGER,stxkeys:SMALLINT[],"
			      "stxkind:VARCHAR[],stxexprs:VARCHAR" },
	{ "pg_publication", "oid:INTEGER,pubname:VARCHAR,pubowner:INTEGER,puballtables:BOOLEAN,"
			    "pubinsert:BOOLEAN,pubupdate:BOOLEAN,pubdelete:BOOLEAN,"
			    "pubtruncate:BOOLEAN,pubviaroot:BOOLEAN" },
	{ "pg_publication_namespace", "oid:INTEGER,pnpubid:INTEGER,pnnspid:INTEGER" },
	{ "pg_publication_rel", "oid:INTEGER,prpubid:INTEGER,prrelid:INTEGER,prqual:VARCHAR,"
				"prattrs:SMALLINT[]" },
	{ "pg_trigger", "oid:INTEGER,tgrelid:INTEGER,tgparentid:INTEGER,tgname:VARCHAR,"
			"tgfoid:INTEGER,tgtype:SMALLINT,tgenabled:VARCHAR,tgisinternal:BOOLEAN,"
			"tgconstrrelid:INTEGER,tgconstrindid:INTEGER,tgconstraint:INTEGER,"
			"tgdeferrable:BOOLEAN,tginitdeferred:BOOLEAN,tgnargs:SMALLINT,"
			"tgattr:SMALLINT[],tgargs:BLOB,tgqual:VARCHAR,tgoldtable:VARCHAR,"
			"tgnewtable:VARCHAR" },
	{ "pg_rewrite", "oid:INTEGER,rulename:VARCHAR,ev_class:INTEGER,ev_type:VARCHAR,"
			"ev_enabled:VARCHAR,is_instead:BOOLEAN,ev_qual:VARCHAR,ev_action:VARCHAR" },
	{ "pg_views", "schemaname:VARCHAR,viewname:VARCHAR,viewowner:VARCHAR,definition:VARCHAR" },
	{ "pg_matviews", "schemaname:VARCHAR,matviewname:VARCHAR,matviewowner:VARCHAR,"
			 "tablespace:VARCHAR,hasindexes:BOOLEAN,ispopulated:BOOLEAN,"
			 "definition:VARCHAR" },
	{ "pg_indexes", "schemaname:VARCHAR,tablename:VARCHAR,indexname:VARCHAR,"
			"tablespace:VARCHAR,indexdef:VARCHAR" },
	{ "pg_enum", "oid:INTEGER,enumtypid:INTEGER,enumsortorder:FLOAT,enumlabel:VARCHAR" },
	{ "pg_range", "rngtypid:INTEGER,rngsubtype:INTEGER,rngmultitypid:INTEGER,"
		      "rngcollation:INTEGER,rngsubopc:INTEGER,rngcanonical:VARCHAR,"
		      "rngsubdiff:VARCHAR" },
	{ "pg_depend", "classid:INTEGER,objid:INTEGER,objsubid:INTEGER,refclassid:INTEGER,"
		       "refobjid:INTEGER,refobjsubid:INTEGER,deptype:VARCHAR" },
	{ "pg_extension", "oid:INTEGER,extname:VARCHAR,extowner:INTEGER,extnamespace:INTEGER,"
			  "extrelocatable:BOOLEAN,extversion:VARCHAR,extconfig:INTEGER[],"
			  "extcondition:VARCHAR[]" },
	{ "pg_foreign_table", "ftrelid:INTEGER,ftserver:INTEGER,ftoptions:VARCHAR[]" },
	{ "pg_partitioned_table", "partrelid:INTEGER,partstrat:VARCHAR,partnatts:SMALLINT,"
				  "partdefid:INTEGER,partattrs:SMALLINT[],partclass:INTEGER[],"
				  "partcollation:INTEGER[],partexprs:VARCHAR" },
	{ "pg_sequence", "seqrelid:INTEGER,seqtypid:INTEGER,seqstart:BIGINT,seqincrement:BIGINT,"
			 "seqmax:BIGINT,seqmin:BIGINT,seqcache:BIGINT,seqcycle:BOOLEAN" },
	{ "pg_sequences", "schemaname:VARCHAR,sequencename:VARCHAR,sequenceowner:VARCHAR,"
			  "data_type:VARCHAR,start_value:BIGINT,min_value:BIGINT,max_value:BIGINT,"
			  "increment_by:BIGINT,cycle:BOOLEAN,cache_size:BIGINT,last_value:BIGINT" },
	{ "pg_auth_members", "roleid:INTEGER,member:INTEGER,grantor:INTEGER,admin_option:BOOLEAN" },
	{ "pg_shdescription", "objoid:INTEGER,classoid:INTEGER,description:VARCHAR" },
};

/*
 * Relations with rows, as SQL: @Q is the connection's database, @C its
 * catalog image.  OIDs are INTEGER (PostgreSQL's oid is 4 bytes).
 */
static const struct {
	const char *name;
	const char *sql;
} relations[] = {
	{ "pg_class",
	  "SELECT r.oid, r.relname, r.nspoid AS relnamespace, 0 AS reltype, 0 AS reloftype, "
	  "10 AS relowner, 2 AS relam, 0 AS relfilenode, 0 AS reltablespace, 0 AS relpages, "
	  "CAST(-1 AS FLOAT) AS reltuples, 0 AS relallvisible, 0 AS reltoastrelid, "
	  "false AS relhasindex, false AS relisshared, 'p' AS relpersistence, 'r' AS relkind, "
	  "CAST(r.relnatts AS SMALLINT) AS relnatts, CAST(0 AS SMALLINT) AS relchecks, "
	  "false AS relhasrules, false AS relhastriggers, false AS relhassubclass, "
	  "false AS relrowsecurity, false AS relforcerowsecurity, true AS relispopulated, "
	  "'d' AS relreplident, false AS relispartition, 0 AS relrewrite, 0 AS relfrozenxid, "
	  "0 AS relminmxid, CAST(NULL AS VARCHAR[]) AS relacl, "
	  "CAST(NULL AS VARCHAR[]) AS reloptions, CAST(NULL AS VARCHAR) AS relpartbound "
	  "FROM @C.main.pg_rel r" },
	{ "pg_attribute",
	  "SELECT a.attrelid, a.attname, a.atttypid, -1 AS attstattarget, "
	  "CAST(a.attlen AS SMALLINT) AS attlen, CAST(a.attnum AS SMALLINT) AS attnum, "
	  "0 AS attndims, -1 AS attcacheoff, a.atttypmod, a.attbyval, a.attalign, a.attstorage, "
	  "'' AS attcompression, false AS attnotnull, false AS atthasdef, "
	  "false AS atthasmissing, '' AS attidentity, '' AS attgenerated, "
	  "false AS attisdropped, true AS attislocal, 0 AS attinhcount, "
	  "a.attcollation, CAST(NULL AS VARCHAR[]) AS attacl, "
	  "CAST(NULL AS VARCHAR[]) AS attoptions, CAST(NULL AS VARCHAR[]) AS attfdwoptions, "
	  "CAST(NULL AS VARCHAR) AS attmissingval FROM @C.main.pg_att a" },
	{ "pg_database",
	  "SELECT 16384 AS oid, @Q.main.current_database() AS datname, 10 AS datdba, "
	  "6 AS encoding, 'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, "
	  "-1 AS datconnlimit, 0 AS datfrozenxid, 1 AS datminmxid, 1663 AS dattablespace, "
	  "'C.UTF-8' AS datcollate, 'C.UTF-8' AS datctype, CAST(NULL AS VARCHAR) AS daticulocale, "
	  "CAST(NULL AS VARCHAR) AS datcollversion, CAST(NULL AS VARCHAR[]) AS datacl" },
	{ "pg_roles",
	  "SELECT 'tarn' AS rolname, true AS rolsuper, true AS rolinherit, false AS rolcreaterole, "
	  "false AS rolcreatedb, false AS rolcanlogin, false AS rolreplication, "
	  "-1 AS rolconnlimit, '********' AS rolpassword, "
	  "CAST(NULL AS TIMESTAMPTZ) AS rolvaliduntil, false AS rolbypassrls, "
	  "CAST(NULL AS VARCHAR[]) AS rolconfig, 10 AS oid "
	  "UNION ALL SELECT usename, superuser, true, false, false, true, false, -1, '********', "
	  "NULL, false, NULL, 16385 FROM @C.main.pg_who" },
	{ "pg_user",
	  "SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, "
	  "rolsuper AS usesuper, false AS userepl, false AS usebypassrls, "
	  "'********' AS passwd, rolvaliduntil AS valuntil, rolconfig AS useconfig "
	  "FROM @Q.main.pg_roles WHERE rolcanlogin" },
	{ "pg_description",
	  "SELECT oid AS objoid, 1259 AS classoid, 0 AS objsubid, description "
	  "FROM @C.main.pg_rel WHERE description IS NOT NULL "
	  "UNION ALL SELECT attrelid, 1259, attnum, description "
	  "FROM @C.main.pg_att WHERE description IS NOT NULL" },
	{ "pg_tables",
	  "SELECT nspname AS schemaname, relname AS tablename, 'tarn' AS tableowner, "
	  "CAST(NULL AS VARCHAR) AS tablespace, false AS hasindexes, false AS hasrules, "
	  "false AS hastriggers, false AS rowsecurity FROM @C.main.pg_rel" },
	{ "pg_am",
	  "SELECT * FROM (VALUES (2, 'heap', 'heap_tableam_handler', 't'), "
	  "(403, 'btree', 'bthandler', 'i')) t(oid, amname, amhandler, amtype)" },
	{ "pg_collation",
	  "SELECT 100 AS oid, 'default' AS collname, 11 AS collnamespace, 10 AS collowner, "
	  "'d' AS collprovider, true AS collisdeterministic, -1 AS collencoding, "
	  "CAST(NULL AS VARCHAR) AS collcollate, CAST(NULL AS VARCHAR) AS collctype, "
	  "CAST(NULL AS VARCHAR) AS colliculocale, CAST(NULL AS VARCHAR) AS collversion" },
	{ "pg_tablespace",
	  "SELECT 1663 AS oid, 'pg_default' AS spcname, 10 AS spcowner, "
	  "CAST(NULL AS VARCHAR[]) AS spcacl, CAST(NULL AS VARCHAR[]) AS spcoptions" },
};

bool pgcat_is_relation(const char *name)
{
	if (!strcasecmp(name, "pg_namespace") || !strcasecmp(name, "pg_type"))
		return true;
	for (size_t i = 0; i < NELEM(relations); i++)
		if (!strcasecmp(relations[i].name, name))
			return true;
	for (size_t i = 0; i < NELEM(empty_relations); i++)
		if (!strcasecmp(empty_relations[i].name, name))
			return true;
	return false;
}

/* Functions that read the image (the guard reports their calls). */
static const char *const image_functions[] = {
	"obj_description", "col_description", "pg_get_userbyid", "to_regclass", "to_regrole",
	"current_user", "session_user", "user", "current_role", "has_table_privilege",
};

bool pgcat_is_image_function(const char *name)
{
	for (size_t i = 0; i < NELEM(image_functions); i++)
		if (!strcasecmp(image_functions[i], name))
			return true;
	return false;
}

/* Appends tmpl with @Q and @C replaced by the quoted names q and cat. */
static void put_tmpl(struct buf *b, const char *tmpl, const char *q, const char *cat)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '@' && (p[1] == 'Q' || p[1] == 'C')) {
			query_sql_ident(b, p[1] == 'Q' ? q : cat);
			p++;
		} else {
			buf_putc(b, *p);
		}
	}
}

/* Appends ";\nCREATE VIEW q.main.name AS " */
static void create_view(struct buf *b, const char *q, const char *name)
{
	buf_puts(b, ";\nCREATE VIEW ");
	query_sql_ident(b, q);
	buf_puts(b, ".main.");
	query_sql_ident(b, name);
	buf_puts(b, " AS ");
}

static void create_macro(struct buf *b, const char *q, bool or_replace, const char *name)
{
	buf_puts(b, or_replace ? ";\nCREATE OR REPLACE MACRO " : ";\nCREATE MACRO ");
	query_sql_ident(b, q);
	buf_printf(b, ".main.%s", name);
}

/*
 * Is this schema a zone's alias (bronze, silver, gold)?  The catalogs list
 * each zone once, under its name; a query may still use the alias.
 */
static bool is_zone_alias(const char *name)
{
	int z = zone_by_name(name);
	return z >= 0 && strcmp(zone_db_name((enum zone)z), name) != 0;
}

/* The zones as a SQL list, for current_schemas(). */
static void zone_list(struct buf *b, bool implicit)
{
	buf_putc(b, '[');
	if (implicit)
		buf_puts(b, "'pg_catalog', ");
	for (int z = 0; z < ZONE_COUNT; z++) {
		buf_puts(b, z ? ", " : "");
		query_sql_str(b, zone_db_name((enum zone)z));
	}
	buf_putc(b, ']');
}

void pgcat_name_sql(struct buf *b, const char *q, const char *dbname)
{
	create_macro(b, q, true, "current_database()");
	buf_puts(b, " AS ");
	query_sql_str(b, dbname);
}

void pgcat_slot_sql(struct buf *b, const char *q, const char *cat, const char *dbname)
{
	static const char *const int_types[] = {
		"regclass", "regtype", "regnamespace", "regrole", "regprocedure", "regoper",
		"regoperator", "xid", "cid",
	};
	static const char *const text_types[] = { "regproc", "name", "aclitem", "pg_node_tree" };
	/* the image's tables */
	buf_puts(b, ";\nCREATE TABLE ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_rel (oid INTEGER, nspoid INTEGER, nspname VARCHAR, relname VARCHAR, "
		    "relnatts INTEGER, description VARCHAR);\nCREATE TABLE ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_att (attrelid INTEGER, attnum INTEGER, attname VARCHAR, "
		    "atttypid INTEGER, atttypmod INTEGER, attlen INTEGER, attbyval BOOLEAN, "
		    "attalign VARCHAR, attstorage VARCHAR, attcollation INTEGER, "
		    "description VARCHAR);\n"
		    "CREATE TABLE ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_who (usename VARCHAR, superuser BOOLEAN)");
	/* types PostgreSQL's catalog queries cast to */
	for (size_t i = 0; i < NELEM(int_types) + NELEM(text_types); i++) {
		bool txt = i >= NELEM(int_types);
		buf_puts(b, ";\nCREATE TYPE ");
		query_sql_ident(b, q);
		buf_puts(b, ".main.");
		query_sql_ident(b, txt ? text_types[i - NELEM(int_types)] : int_types[i]);
		buf_puts(b, txt ? " AS VARCHAR" : " AS INTEGER");
	}
	buf_puts(b, ";\nCREATE TYPE ");
	query_sql_ident(b, q);
	buf_puts(b, ".main.int2vector AS SMALLINT[];\nCREATE TYPE ");
	query_sql_ident(b, q);
	buf_puts(b, ".main.oidvector AS INTEGER[]");

	/* current_database(): pg_database and syscat.c's shadows read it */
	pgcat_name_sql(b, q, dbname);

	/* pg_type (a table: planning a VALUES list per query costs) and format_type */
	buf_puts(b, ";\nCREATE TABLE ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_types AS SELECT oid, typname, 11 AS typnamespace, 10 AS typowner, "
		    "CAST(typlen AS SMALLINT) AS typlen, typbyval, typtype, typcategory, "
		    "typispreferred, true AS typisdefined, ',' AS typdelim, 0 AS typrelid, "
		    "CAST(NULL AS VARCHAR) AS typsubscript, typelem, typarray, typinput, typoutput, "
		    "typreceive, typsend, '-' AS typmodin, '-' AS typmodout, '-' AS typanalyze, "
		    "typalign, typstorage, false AS typnotnull, 0 AS typbasetype, -1 AS typtypmod, "
		    "0 AS typndims, typcollation, CAST(NULL AS VARCHAR) AS typdefaultbin, "
		    "CAST(NULL AS VARCHAR) AS typdefault, CAST(NULL AS VARCHAR[]) AS typacl FROM (VALUES ");
	for (size_t i = 0; i < NELEM(pg_types); i++) {
		const struct pg_type_row *t = &pg_types[i];
		buf_printf(b, "%s(%u, '%s', %d, %s, '%c', '%c', %s, %u, %u, '%s', '%s', '%s', '%s', "
			   "'%c', '%c', %u)", i ? ", " : "", t->oid, t->name, t->len,
			   t->byval ? "true" : "false", t->type, t->category,
			   t->preferred ? "true" : "false", t->elem, t->array, t->in, t->out,
			   t->recv, t->send, t->align, t->storage, t->collation);
	}
	buf_puts(b, ") t(oid, typname, typlen, typbyval, typtype, typcategory, typispreferred, "
		    "typelem, typarray, typinput, typoutput, typreceive, typsend, typalign, "
		    "typstorage, typcollation)");
	create_view(b, q, "pg_type");
	buf_puts(b, "SELECT * FROM ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_types");
	/*
	 * format_type(oid, typmod): PostgreSQL's names; a typmod gives numeric
	 * its precision and scale, the character types their length, the
	 * time types their fractional digits.
	 */
	create_macro(b, q, false, "format_type(t, m)");
	buf_puts(b, " AS CASE WHEN t IS NULL THEN NULL WHEN t = 1700 AND m >= 4 THEN "
		    "'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' "
		    "WHEN t IN (1042, 1043) AND m >= 4 THEN (CASE t WHEN 1042 THEN 'character' "
		    "ELSE 'character varying' END) || '(' || (m - 4) || ')' "
		    "WHEN t IN (1083, 1114, 1184, 1266) AND m >= 0 THEN (CASE t "
		    "WHEN 1083 THEN 'time(' || m || ') without time zone' "
		    "WHEN 1114 THEN 'timestamp(' || m || ') without time zone' "
		    "WHEN 1184 THEN 'timestamp(' || m || ') with time zone' "
		    "ELSE 'time(' || m || ') with time zone' END) ELSE CASE t");
	for (size_t i = 0; i < NELEM(pg_types); i++) {
		buf_printf(b, " WHEN %u THEN ", pg_types[i].oid);
		query_sql_str(b, pg_types[i].format);
	}
	buf_puts(b, " ELSE '?\?\?' END END");

	/* pg_namespace: the zone schemas (not their aliases), pg_catalog, information_schema */
	create_view(b, q, "pg_namespace");
	buf_printf(b, "SELECT * FROM (VALUES (%u, 'pg_catalog', 10, CAST(NULL AS VARCHAR[])), "
		   "(%u, 'information_schema', 10, NULL)", PGCAT_OID_PG_CATALOG,
		   PGCAT_OID_INFORMATION_SCHEMA);
	for (size_t i = 0; i < query_nschemas; i++) {
		if (is_zone_alias(query_schemas[i]))
			continue;
		buf_printf(b, ", (%u, ", (unsigned)(PGCAT_OID_SCHEMA0 + i));
		query_sql_str(b, query_schemas[i]);
		buf_puts(b, ", 10, NULL)");
	}
	buf_puts(b, ") t(oid, nspname, nspowner, nspacl)");

	for (size_t i = 0; i < NELEM(relations); i++) {
		create_view(b, q, relations[i].name);
		put_tmpl(b, relations[i].sql, q, cat);
	}
	for (size_t i = 0; i < NELEM(empty_relations); i++) {
		create_view(b, q, empty_relations[i].name);
		buf_puts(b, "SELECT ");
		const char *p = empty_relations[i].cols;
		bool first = true;
		while (*p) {
			const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
			size_t tl = comma ? (size_t)(comma - colon - 1) : strlen(colon + 1);
			buf_printf(b, "%sCAST(NULL AS %.*s) AS %.*s", first ? "" : ", ", (int)tl,
				   colon + 1, (int)(colon - p), p);
			first = false;
			p = comma ? comma + 1 : colon + 1 + tl;
		}
		buf_puts(b, " WHERE false");
	}

	/* functions */
	create_macro(b, q, false, "version()");
	buf_printf(b, " AS 'PostgreSQL 15.0 (tarn, DuckDB %s) on %s'", duckdb_library_version(),
#if defined(__x86_64__)
		   "x86_64-pc-linux-gnu"
#elif defined(__aarch64__)
		   "aarch64-unknown-linux-gnu"
#else
		   "unknown-linux-gnu"
#endif
	);
	create_macro(b, q, false, "current_schema()");
	buf_puts(b, " AS '" PGCAT_CURRENT_SCHEMA "'");
	create_macro(b, q, false, "current_schemas(implicit)");
	buf_puts(b, " AS CASE WHEN implicit THEN ");
	zone_list(b, true);
	buf_puts(b, " ELSE ");
	zone_list(b, false);
	buf_puts(b, " END");
	/* _pg_unalias('bronze.t') = 'raw.t': a name through an alias finds the zone's table */
	create_macro(b, q, false, "_pg_unalias(s)");
	buf_puts(b, " AS CASE");
	for (size_t i = 0; i < query_nschemas; i++) {
		if (!is_zone_alias(query_schemas[i]))
			continue;
		size_t len = strlen(query_schemas[i]);
		buf_puts(b, " WHEN lower(s) LIKE ");
		query_sql_str(b, query_schemas[i]);
		buf_puts(b, " || '.%' THEN ");
		query_sql_str(b, zone_db_name((enum zone)zone_by_name(query_schemas[i])));
		buf_printf(b, " || substr(s, %zu)", len + 1);
	}
	buf_puts(b, " ELSE s END");
	static const struct {
		const char *sig, *body;
	} macros[] = {
		{ "pg_get_expr(e, r)", "CAST(NULL AS VARCHAR), (e, r, p) AS CAST(NULL AS VARCHAR)" },
		{ "pg_get_userbyid(o)",
		  "CASE WHEN o = 10 THEN 'tarn' WHEN o = 16385 THEN (SELECT usename FROM "
		  "@C.main.pg_who) ELSE 'unknown (OID=' || o || ')' END" },
		{ "current_user()", "(SELECT usename FROM @C.main.pg_who)" },
		{ "session_user()", "(SELECT usename FROM @C.main.pg_who)" },
		{ "\"user\"()", "(SELECT usename FROM @C.main.pg_who)" },
		{ "current_role()", "(SELECT usename FROM @C.main.pg_who)" },
		/* SELECT on a table the principal may read (a name or an OID); nothing else */
		{ "has_table_privilege(t, p)",
		  "upper(p) LIKE '%SELECT%' AND EXISTS (SELECT 1 FROM @C.main.pg_rel r WHERE "
		  "CAST(r.oid AS VARCHAR) = CAST(t AS VARCHAR) OR r.nspname || '.' || r.relname = "
		  "@Q.main._pg_unalias(CAST(t AS VARCHAR)) OR r.relname = CAST(t AS VARCHAR)), (u, t, p) AS "
		  "upper(p) LIKE '%SELECT%' AND EXISTS (SELECT 1 FROM @C.main.pg_rel r WHERE "
		  "CAST(r.oid AS VARCHAR) = CAST(t AS VARCHAR) OR r.nspname || '.' || r.relname = "
		  "@Q.main._pg_unalias(CAST(t AS VARCHAR)) OR r.relname = CAST(t AS VARCHAR))" },
		{ "pg_encoding_to_char(e)", "CASE WHEN e = 6 THEN 'UTF8' ELSE '' END" },
		{ "array_upper(a, d)", "CASE WHEN d = 1 AND len(a) > 0 THEN len(a) END" },
		{ "array_lower(a, d)", "CASE WHEN d = 1 AND len(a) > 0 THEN 1 END" },
		{ "obj_description(o)",
		  "(SELECT min(description) FROM @C.main.pg_rel WHERE oid = o), (o, c) AS "
		  "CASE WHEN c = 'pg_class' THEN (SELECT min(description) FROM @C.main.pg_rel "
		  "WHERE oid = o) END" },
		{ "col_description(o, n)",
		  "(SELECT min(description) FROM @C.main.pg_att WHERE attrelid = o AND attnum = n)" },
		{ "shobj_description(o, c)", "CAST(NULL AS VARCHAR)" },
		{ "pg_table_is_visible(o)", "true" },
		{ "pg_type_is_visible(o)", "true" },
		{ "pg_relation_is_publishable(o)", "false" },
		{ "pg_get_statisticsobjdef_columns(o)", "CAST(NULL AS VARCHAR)" },
		{ "pg_get_indexdef(o)", "CAST(NULL AS VARCHAR), (o, c, p) AS CAST(NULL AS VARCHAR)" },
		{ "pg_get_triggerdef(o)", "CAST(NULL AS VARCHAR), (o, p) AS CAST(NULL AS VARCHAR)" },
		{ "pg_get_partkeydef(o)", "CAST(NULL AS VARCHAR)" },
		{ "pg_table_size(o)", "CAST(NULL AS BIGINT)" },
		{ "pg_relation_size(o)", "CAST(NULL AS BIGINT)" },
		{ "pg_total_relation_size(o)", "CAST(NULL AS BIGINT)" },
		{ "pg_indexes_size(o)", "CAST(NULL AS BIGINT)" },
		{ "pg_is_in_recovery()", "false" },
		{ "_pg_expandarray(a)", "{'x': a[1], 'n': 1}" },
		{ "to_regclass(s)",
		  "CASE replace(s, 'pg_catalog.', '') WHEN 'pg_class' THEN 1259 "
		  "WHEN 'pg_type' THEN 1247 WHEN 'pg_attribute' THEN 1249 WHEN 'pg_proc' THEN 1255 "
		  "WHEN 'pg_namespace' THEN 2615 WHEN 'pg_description' THEN 2609 "
		  "WHEN 'pg_database' THEN 1262 WHEN 'pg_constraint' THEN 2606 "
		  "ELSE (SELECT min(oid) FROM @C.main.pg_rel WHERE "
		  "nspname || '.' || relname = @Q.main._pg_unalias(s) "
		  "OR relname = s) END" },
		{ "to_regtype(s)",
		  "(SELECT min(oid) FROM @Q.main.pg_type WHERE typname = replace(s, 'pg_catalog.', '') "
		  "OR @Q.main.format_type(oid, NULL) = s)" },
		{ "to_regnamespace(s)", "(SELECT min(oid) FROM @Q.main.pg_namespace WHERE nspname = s)" },
		{ "to_regrole(s)", "(SELECT min(oid) FROM @Q.main.pg_roles WHERE rolname = s)" },
		{ "to_regproc(s)", "replace(s, 'pg_catalog.', '')" },
		{ "to_regprocedure(s)", "replace(s, 'pg_catalog.', '')" },
	};
	for (size_t i = 0; i < NELEM(macros); i++) {
		create_macro(b, q, false, macros[i].sig);
		buf_puts(b, " AS ");
		put_tmpl(b, macros[i].body, q, cat);
	}
}

/* ---- the image's rows ---- */

uint32_t pgcat_table_oid(const char *schema, const char *name)
{
	struct buf k = BUF_INIT(0);
	buf_puts(&k, schema);
	buf_putc(&k, '.');
	buf_puts(&k, name);
	uint64_t h = query_fnv1a(k.data, k.len);
	buf_release(&k);
	return PGCAT_OID_TABLE_MIN + (uint32_t)(h % PGCAT_OID_TABLE_SPAN);
}

void pgcat_image_reset_sql(struct buf *b, const char *cat, const char *user, bool admin)
{
	static const char *const tables[] = { "pg_rel", "pg_att", "pg_who" };
	for (size_t i = 0; i < NELEM(tables); i++) {
		buf_puts(b, "DELETE FROM ");
		query_sql_ident(b, cat);
		buf_printf(b, ".main.%s;\n", tables[i]);
	}
	buf_puts(b, "INSERT INTO ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_who VALUES (");
	query_sql_str(b, user ? user : "tarn");
	buf_printf(b, ", %s);\n", admin ? "true" : "false");
}

static void sql_str_or_null(struct buf *b, const char *s)
{
	if (s && s[0])
		query_sql_str(b, s);
	else
		buf_puts(b, "NULL");
}

void pgcat_image_table_sql(struct buf *b, const char *cat, size_t si, const char *name,
			   uint32_t oid, const char *comment, const struct pgcat_col *cols,
			   size_t ncols)
{
	if (is_zone_alias(query_schemas[si]))
		return;  /* listed once, under the zone's name */
	buf_puts(b, "INSERT INTO ");
	query_sql_ident(b, cat);
	buf_printf(b, ".main.pg_rel VALUES (%u, %u, ", oid, (unsigned)(PGCAT_OID_SCHEMA0 + si));
	query_sql_str(b, query_schemas[si]);
	buf_puts(b, ", ");
	query_sql_str(b, name);
	buf_printf(b, ", %zu, ", ncols);
	sql_str_or_null(b, comment);
	buf_puts(b, ");\n");
	if (ncols == 0)
		return;
	buf_puts(b, "INSERT INTO ");
	query_sql_ident(b, cat);
	buf_puts(b, ".main.pg_att VALUES ");
	for (size_t k = 0; k < ncols; k++) {
		struct pg_typeinfo ti;
		const struct pg_type_row *t = NULL;
		pgtype_from_duckdb_name(cols[k].type, &ti);
		for (size_t i = 0; i < NELEM(pg_types) && !t; i++)
			if (pg_types[i].oid == ti.oid)
				t = &pg_types[i];
		buf_printf(b, "%s(%u, %zu, ", k ? ", " : "", oid, k + 1);
		query_sql_str(b, cols[k].name);
		buf_printf(b, ", %u, %d, %d, %s, '%c', '%c', %u, ", ti.oid, (int)ti.typmod,
			   (int)ti.typlen, t && t->byval ? "true" : "false", t ? t->align : 'i',
			   t ? t->storage : 'x', t ? t->collation : 0u);
		sql_str_or_null(b, cols[k].comment);
		buf_putc(b, ')');
	}
	buf_puts(b, ";\n");
}

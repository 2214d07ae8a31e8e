/*
 * write.c - reading the head of CREATE TABLE AS, INSERT INTO, DROP TABLE.
 *
 * A small lexer over the start of the statement: whitespace and comments
 * (-- to the end of the line, non-nested block comments) are skipped,
 * words are [A-Za-z_][A-Za-z0-9_]* compared case-insensitively, names may
 * be "quoted" ("" for a quote).  Anything that does not start with CREATE
 * TABLE, CREATE OR REPLACE, INSERT INTO or DROP TABLE is not a write and
 * goes to the guard, which refuses it with its own message if it is not a
 * query.
 */
#include "query/write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

struct lex {
	const char *sql;
	const char *p;
};

static void skip(struct lex *l)
{
	for (;;) {
		while (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r' ||
		       *l->p == '\f' || *l->p == '\v')
			l->p++;
		if (l->p[0] == '-' && l->p[1] == '-') {
			while (*l->p && *l->p != '\n')
				l->p++;
		} else if (l->p[0] == '/' && l->p[1] == '*') {
			const char *e = strstr(l->p + 2, "*/");
			l->p = e ? e + 2 : l->p + strlen(l->p);
		} else {
			return;
		}
	}
}

static bool is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word_char(char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9');
}

/* Consumes keyword kw if it is next. */
static bool keyword(struct lex *l, const char *kw)
{
	skip(l);
	size_t n = strlen(kw);
	if (strncasecmp(l->p, kw, n) || is_word_char(l->p[n]))
		return false;
	l->p += n;
	return true;
}

static bool punct(struct lex *l, char c)
{
	skip(l);
	if (*l->p != c)
		return false;
	l->p++;
	return true;
}

/* Reads a name (bare word or "quoted") into out; false if none or too long. */
static bool name(struct lex *l, char *out, size_t n)
{
	size_t o = 0;
	skip(l);
	if (*l->p == '"') {
		const char *q = l->p + 1;
		for (;;) {
			if (!*q)
				return false;
			if (*q == '"') {
				if (q[1] != '"')
					break;
				q++;
			}
			if (o + 1 >= n)
				return false;
			out[o++] = *q++;
		}
		l->p = q + 1;
	} else {
		if (!is_word_start(*l->p))
			return false;
		while (is_word_char(*l->p)) {
			if (o + 1 >= n)
				return false;
			out[o++] = *l->p++;
		}
	}
	out[o] = 0;
	return o > 0;
}

static int qualified(struct lex *l, struct write_stmt *w, char *err)
{
	const char *at = l->p;
	if (!name(l, w->db, sizeof w->db) || !punct(l, '.') || !name(l, w->name, sizeof w->name))
		return tn_fail(err, TN_EINVAL,
			       "name the table as database.table (e.g. mart.vaccinations), "
			       "near byte %ld", (long)(at - l->sql));
	return 0;
}

void write_stmt_release(struct write_stmt *w)
{
	for (size_t i = 0; i < w->npart; i++)
		free(w->partition_by[i]);
	w->npart = 0;
}

int write_parse(const char *sql, struct write_stmt *w, char *err)
{
	struct lex l = { sql, sql };
	int rc;
	memset(w, 0, sizeof *w);
	if (keyword(&l, "DROP")) {
		if (!keyword(&l, "TABLE"))
			return 0;
		w->kind = WRITE_DROP;
		if (keyword(&l, "IF")) {
			if (!keyword(&l, "EXISTS"))
				return tn_fail(err, TN_EINVAL, "DROP TABLE IF needs EXISTS");
			w->if_exists = true;
		}
		if ((rc = qualified(&l, w, err)))
			return rc;
		punct(&l, ';');
		skip(&l);
		if (*l.p)
			return tn_fail(err, TN_EINVAL, "DROP TABLE takes one table: unexpected text "
				       "at byte %ld", (long)(l.p - sql));
		return 1;
	}
	if (keyword(&l, "INSERT")) {
		if (!keyword(&l, "INTO"))
			return 0;
		w->kind = WRITE_INSERT;
		if ((rc = qualified(&l, w, err)))
			return rc;
		skip(&l);
		if (*l.p == '(')
			return tn_fail(err, TN_EUNSUPPORTED, "INSERT INTO with a column list is not "
				       "supported: the query's columns are matched to the table's by name");
		w->query_off = (size_t)(l.p - sql);
		return 1;
	}
	if (!keyword(&l, "CREATE"))
		return 0;
	if (keyword(&l, "OR")) {
		if (keyword(&l, "REPLACE") && keyword(&l, "TABLE"))
			return tn_fail(err, TN_EUNSUPPORTED, "CREATE OR REPLACE TABLE is not supported: "
				       "DROP TABLE, then CREATE TABLE");
		return 0;
	}
	if (!keyword(&l, "TABLE"))
		return 0;
	w->kind = WRITE_CREATE;
	if (keyword(&l, "IF")) {
		if (!keyword(&l, "NOT") || !keyword(&l, "EXISTS"))
			return tn_fail(err, TN_EINVAL, "CREATE TABLE IF needs NOT EXISTS");
		w->if_not_exists = true;
	}
	if ((rc = qualified(&l, w, err)))
		return rc;
	if (keyword(&l, "PARTITION")) {
		if (!keyword(&l, "BY") || !punct(&l, '('))
			return tn_fail(err, TN_EINVAL, "PARTITION BY needs a list of columns: "
				       "PARTITION BY (a, b)");
		do {
			char col[129];
			if (!name(&l, col, sizeof col))
				return tn_fail(err, TN_EINVAL, "PARTITION BY: a column name was expected "
					       "at byte %ld", (long)(l.p - sql));
			if (w->npart >= WRITE_MAX_PARTITION)
				return tn_fail(err, TN_ETOOBIG, "PARTITION BY takes at most %u columns",
					       WRITE_MAX_PARTITION);
			w->partition_by[w->npart++] = xstrdup(col);
		} while (punct(&l, ','));
		if (!punct(&l, ')'))
			return tn_fail(err, TN_EINVAL, "PARTITION BY: ')' expected at byte %ld",
				       (long)(l.p - sql));
	}
	if (!keyword(&l, "AS")) {
		skip(&l);
		if (*l.p == '(')
			return tn_fail(err, TN_EUNSUPPORTED, "CREATE TABLE with a column list is not "
				       "supported in the lake: CREATE TABLE db.name AS SELECT ...");
		return tn_fail(err, TN_EINVAL, "CREATE TABLE needs AS <query> at byte %ld",
			       (long)(l.p - sql));
	}
	skip(&l);
	w->query_off = (size_t)(l.p - sql);
	return 1;
}

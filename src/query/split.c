/*
 * split.c - where a statement ends in a text of several (a PostgreSQL
 * simple Query), lexed as DuckDB's scanner (PostgreSQL's) lexes: quotes,
 * E-strings, quoted names, dollar quotes, line and nested block comments.
 * Pure; any thread.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "query/query.h"
#include "query/query_int.h"
#include "core/banned.h"

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

const char *query_lex_next(const char *sql, const char *p, const char *end, bool *tok)
{
	char c = *p;
	*tok = false;
	if (c == '-' && p + 1 < end && p[1] == '-') {
		while (p < end && *p != '\n')
			p++;
		return p;
	}
	if (c == '/' && p + 1 < end && p[1] == '*') {
		int depth = 0;
		while (p < end) {
			if (p + 1 < end && p[0] == '/' && p[1] == '*') {
				depth++;
				p += 2;
			} else if (p + 1 < end && p[0] == '*' && p[1] == '/') {
				p += 2;
				if (--depth == 0)
					return p;
			} else {
				p++;
			}
		}
		return p;
	}
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		return p + 1;
	*tok = true;
	if (c == '$' && !(p > sql && ident_char(p[-1]))) {
		/* $tag$ (tag: a letter or '_', then those and digits; or empty), else $1 */
		const char *t = p + 1;
		while (t < end && (isalpha((unsigned char)*t) || *t == '_' ||
				   (t > p + 1 && isdigit((unsigned char)*t))))
			t++;
		if (t >= end || *t != '$')
			return p + 1;
		size_t taglen = (size_t)(t - p) + 1;
		for (const char *q = t + 1; q + taglen <= end; q++)
			if (!memcmp(q, p, taglen))
				return q + taglen;
		return end;
	}
	if (c == '\'' || c == '"') {
		bool backslash = c == '\'' && p > sql && (p[-1] == 'e' || p[-1] == 'E') &&
				 (p - 1 == sql || !ident_char(p[-2]));
		const char *q = p + 1;
		while (q < end) {
			if (backslash && *q == '\\' && q + 1 < end) {
				q += 2;
				continue;
			}
			if (*q == c) {
				if (q + 1 < end && q[1] == c) {
					q += 2;
					continue;
				}
				return q + 1;
			}
			q++;
		}
		return end;
	}
	return p + 1;
}

size_t query_next_statement(const char *sql, size_t len, size_t *start, size_t *end)
{
	const char *p = sql, *e = sql + len;
	size_t first = (size_t)-1, last = 0;
	while (p < e && *p != ';') {
		bool tok;
		const char *q = query_lex_next(sql, p, e, &tok);
		if (tok) {
			if (first == (size_t)-1)
				first = (size_t)(p - sql);
			last = (size_t)(q - sql);
		}
		p = q;
	}
	size_t stop = (size_t)(p - sql);
	if (first == (size_t)-1)
		first = last = stop;
	*start = first;
	*end = last;
	return p < e ? stop + 1 : len;
}

/*
 * schema.c - column types as trees: parsing DuckDB's type syntax,
 * rendering it back, and widening two types to one.
 *
 * The crawler learns types from DuckDB's DESCRIBE (text such as
 * `STRUCT(street VARCHAR, "name" VARCHAR)[]`) and keeps a table's schema
 * in the metastore as text; merging needs the structure, so this file
 * parses the text into a struct ctype, merges trees, and renders them.
 *
 * Widening is a join in a small lattice: a value readable as one of the
 * inputs is readable as the result (JSON and CSV readers, and CASTs for
 * Parquet, convert the narrower value).  So files validated under an
 * older, narrower schema stay readable under every later one, which is
 * why columns are only ever added and types only ever widened:
 *   NULL (never seen) < anything
 *   TINYINT < SMALLINT < INTEGER < BIGINT < HUGEINT (unsigned: the next
 *   signed width), integers + FLOAT/DOUBLE/DECIMAL -> DOUBLE
 *   DATE < TIMESTAMP(_S|_MS|_NS) < TIMESTAMP WITH TIME ZONE
 *   STRUCT + STRUCT = union of fields by name (merged recursively),
 *   LIST + LIST, MAP + MAP element-wise
 *   JSON + anything = JSON; nested + other = JSON (JSON tables) or VARCHAR
 *   any other pair of scalars = VARCHAR
 * Rendering always quotes struct field names, so any name round-trips.
 */
#include "catalog/catalog_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

/* ---- file names ------------------------------------------------------ */

const char *cat_format_name(enum cat_format f)
{
	switch (f) {
	case FMT_JSON: return "json";
	case FMT_CSV: return "csv";
	case FMT_TSV: return "csv";
	case FMT_PARQUET: return "parquet";
	default: return "unknown";
	}
}

const char *cat_comp_name(enum cat_comp c)
{
	return c == COMP_GZIP ? "gzip" : c == COMP_ZSTD ? "zstd" : "none";
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && strncasecmp(s + n - k, suf, k) == 0;
}

enum cat_format cat_classify(const char *name, enum cat_comp *comp, size_t *stem_len)
{
	static const struct {
		const char *ext;
		enum cat_format f;
	} exts[] = {
		{ ".json", FMT_JSON }, { ".jsonl", FMT_JSON }, { ".ndjson", FMT_JSON },
		{ ".csv", FMT_CSV }, { ".tsv", FMT_TSV }, { ".tab", FMT_TSV },
		{ ".parquet", FMT_PARQUET }, { ".pq", FMT_PARQUET },
	};
	size_t n = strlen(name);
	*comp = COMP_NONE;
	if (ends_with(name, n, ".gz")) {
		*comp = COMP_GZIP;
		n -= 3;
	} else if (ends_with(name, n, ".zst")) {
		*comp = COMP_ZSTD;
		n -= 4;
	}
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		size_t k = strlen(exts[i].ext);
		if (n > k && ends_with(name, n, exts[i].ext)) {
			if (stem_len)
				*stem_len = n - k;
			return exts[i].f;
		}
	}
	if (stem_len)
		*stem_len = n;
	return FMT_NONE;
}

/* ---- SQL quoting ----------------------------------------------------- */

static int quoted(struct buf *b, const char *s, char q, bool glob)
{
	int rc = buf_putc(b, q);
	for (const char *p = s; rc == 0 && *p; p++) {
		if (*p == q)
			rc = buf_putc(b, q);
		/* DuckDB expands * ? [ in file names: a one-character class is literal. */
		if (glob && (*p == '*' || *p == '?' || *p == '[')) {
			char cls[4] = { '[', *p, ']', 0 };
			rc = buf_puts(b, cls);
			continue;
		}
		if (rc == 0)
			rc = buf_putc(b, *p);
	}
	return rc ? rc : buf_putc(b, q);
}

int sql_str(struct buf *b, const char *s)
{
	return quoted(b, s, '\'', false);
}

int sql_ident(struct buf *b, const char *s)
{
	return quoted(b, s, '"', false);
}

int sql_path(struct buf *b, const char *path)
{
	return quoted(b, path, '\'', true);
}

/* ---- types ------------------------------------------------------------ */

static struct ctype *ct_new(enum ct_kind k, const char *name)
{
	struct ctype *t = xcalloc(1, sizeof *t);
	t->kind = k;
	t->name = name ? xstrdup(name) : NULL;
	return t;
}

static void ct_push(struct ctype *t, const char *field, struct ctype *kid)
{
	t->kids = xrealloc(t->kids, (t->n + 1) * sizeof *t->kids);
	t->kids[t->n] = kid;
	if (t->kind == CT_STRUCT) {
		t->fields = xrealloc(t->fields, (t->n + 1) * sizeof *t->fields);
		t->fields[t->n] = xstrdup(field ? field : "");
	}
	t->n++;
}

void ctype_free(struct ctype *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		ctype_free(t->kids[i]);
		if (t->fields)
			free(t->fields[i]);
	}
	free(t->kids);
	free(t->fields);
	free(t->name);
	free(t);
}

struct ctype *ctype_dup(const struct ctype *t)
{
	struct ctype *d = ct_new(t->kind, t->name);
	for (size_t i = 0; i < t->n; i++)
		ct_push(d, t->fields ? t->fields[i] : NULL, ctype_dup(t->kids[i]));
	return d;
}

bool ctype_equal(const struct ctype *a, const struct ctype *b)
{
	if (a->kind != b->kind || a->n != b->n)
		return false;
	if (a->kind == CT_SCALAR && strcmp(a->name, b->name))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->fields && strcmp(a->fields[i], b->fields[i]))
			return false;
		if (!ctype_equal(a->kids[i], b->kids[i]))
			return false;
	}
	return true;
}

bool ctype_is_text(const struct ctype *t)
{
	return t->kind == CT_NULL ||
	       (t->kind == CT_SCALAR && (!strcmp(t->name, "VARCHAR") || !strcmp(t->name, "JSON")));
}

/* Parser: a cursor over the text. */
struct cur {
	const char *p;
	char *err;
	int failed;
};

static void skip_ws(struct cur *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n')
		c->p++;
}

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || (unsigned char)ch >= 0x80;
}

static void fail(struct cur *c, const char *what)
{
	if (!c->failed)
		tn_fail(c->err, TN_EINVAL, "type: %s at '%.20s'", what, c->p);
	c->failed = 1;
}

/* An identifier, bare or "quoted" ("" inside quotes is one quote). */
static char *parse_ident(struct cur *c)
{
	struct buf b = BUF_INIT(0);
	skip_ws(c);
	if (*c->p == '"') {
		c->p++;
		for (;;) {
			if (!*c->p) {
				fail(c, "unterminated quoted name");
				break;
			}
			if (*c->p == '"') {
				if (c->p[1] != '"') {
					c->p++;
					break;
				}
				c->p++;
			}
			buf_putc(&b, *c->p++);
		}
	} else {
		while (ident_char(*c->p))
			buf_putc(&b, *c->p++);
		if (!b.len)
			fail(c, "expected a name");
	}
	return buf_detach(&b, NULL);
}

/* Copies a balanced "( ... )" (quotes respected) onto b. */
static void copy_parens(struct cur *c, struct buf *b)
{
	int depth = 0;
	char q = 0;
	do {
		char ch = *c->p;
		if (!ch) {
			fail(c, "unbalanced parentheses");
			return;
		}
		if (q) {
			if (ch == q)
				q = 0;
		} else if (ch == '\'' || ch == '"') {
			q = ch;
		} else if (ch == '(') {
			depth++;
		} else if (ch == ')') {
			depth--;
		}
		buf_putc(b, ch);
		c->p++;
	} while (depth > 0);
}

static struct ctype *parse_type(struct cur *c, int depth);

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static struct ctype *parse_base(struct cur *c, int depth)
{
	skip_ws(c);
	const char *w = c->p;
	while (ident_char(*c->p))
		c->p++;
	size_t wn = (size_t)(c->p - w);
	if (!wn) {
		fail(c, "expected a type");
		return NULL;
	}
	skip_ws(c);
	if (word_is(w, wn, "STRUCT") && *c->p == '(') {
		struct ctype *t = ct_new(CT_STRUCT, NULL);
		c->p++;
		for (;;) {
			char *f = parse_ident(c);
			struct ctype *k = c->failed ? NULL : parse_type(c, depth + 1);
			if (!k) {
				free(f);
				ctype_free(t);
				return NULL;
			}
			ct_push(t, f, k);
			free(f);
			skip_ws(c);
			if (*c->p == ',') {
				c->p++;
				continue;
			}
			if (*c->p == ')') {
				c->p++;
				return t;
			}
			fail(c, "expected ',' or ')' in STRUCT");
			ctype_free(t);
			return NULL;
		}
	}
	if (word_is(w, wn, "MAP") && *c->p == '(') {
		struct ctype *t = ct_new(CT_MAP, NULL);
		c->p++;
		struct ctype *k = parse_type(c, depth + 1);
		skip_ws(c);
		if (k && *c->p == ',') {
			c->p++;
			struct ctype *v = parse_type(c, depth + 1);
			skip_ws(c);
			if (v && *c->p == ')') {
				c->p++;
				ct_push(t, NULL, k);
				ct_push(t, NULL, v);
				return t;
			}
			ctype_free(v);
		}
		ctype_free(k);
		ctype_free(t);
		fail(c, "bad MAP");
		return NULL;
	}
	if (word_is(w, wn, "NULL"))
		return ct_new(CT_NULL, NULL);
	/* A scalar: words ("TIMESTAMP WITH TIME ZONE"), then "(args)" as written. */
	struct buf b = BUF_INIT(0);
	for (size_t i = 0; i < wn; i++)
		buf_putc(&b, (char)toupper((unsigned char)w[i]));
	for (;;) {
		const char *save = c->p;
		skip_ws(c);
		if (!isalpha((unsigned char)*c->p)) {
			c->p = save;
			break;
		}
		buf_putc(&b, ' ');
		while (ident_char(*c->p))
			buf_putc(&b, (char)toupper((unsigned char)*c->p++));
	}
	skip_ws(c);
	if (*c->p == '(')
		copy_parens(c, &b);
	struct ctype *t = ct_new(CT_SCALAR, NULL);
	t->name = buf_detach(&b, NULL);
	/* Aliases DuckDB accepts but never prints: keep one spelling per type. */
	static const char *const alias[][2] = {
		{ "INT", "INTEGER" }, { "INT4", "INTEGER" }, { "INT8", "BIGINT" },
		{ "TEXT", "VARCHAR" }, { "STRING", "VARCHAR" }, { "BOOL", "BOOLEAN" },
		{ "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE" }, { "FLOAT8", "DOUBLE" },
	};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (!strcmp(t->name, alias[i][0])) {
			free(t->name);
			t->name = xstrdup(alias[i][1]);
			break;
		}
	return t;
}

static struct ctype *parse_type(struct cur *c, int depth)
{
	if (depth > 64) {
		fail(c, "nested too deeply");
		return NULL;
	}
	struct ctype *t = parse_base(c, depth);
	while (t) {
		skip_ws(c);
		if (*c->p != '[')
			break;
		c->p++;
		while (isdigit((unsigned char)*c->p))
			c->p++; /* fixed-size ARRAY: read as a list */
		if (*c->p != ']') {
			fail(c, "expected ']'");
			ctype_free(t);
			return NULL;
		}
		c->p++;
		struct ctype *l = ct_new(CT_LIST, NULL);
		ct_push(l, NULL, t);
		t = l;
	}
	return t;
}

struct ctype *ctype_parse(const char *s, char *err)
{
	struct cur c = { s, err, 0 };
	struct ctype *t = parse_type(&c, 0);
	skip_ws(&c);
	if (t && *c.p)
		fail(&c, "unexpected text after the type");
	if (t && c.failed) {
		ctype_free(t);
		return NULL;
	}
	return t;
}

int ctype_render(const struct ctype *t, bool duck, struct buf *out)
{
	int rc = 0;
	switch (t->kind) {
	case CT_NULL:
		return buf_puts(out, duck ? "JSON" : "NULL");
	case CT_SCALAR:
		return buf_puts(out, t->name);
	case CT_LIST:
		rc = ctype_render(t->kids[0], duck, out);
		return rc ? rc : buf_puts(out, "[]");
	case CT_MAP:
		rc = buf_puts(out, "MAP(");
		if (!rc)
			rc = ctype_render(t->kids[0], duck, out);
		if (!rc)
			rc = buf_puts(out, ", ");
		if (!rc)
			rc = ctype_render(t->kids[1], duck, out);
		return rc ? rc : buf_putc(out, ')');
	case CT_STRUCT:
		rc = buf_puts(out, "STRUCT(");
		for (size_t i = 0; rc == 0 && i < t->n; i++) {
			if (i)
				rc = buf_puts(out, ", ");
			if (!rc)
				rc = sql_ident(out, t->fields[i]);
			if (!rc)
				rc = buf_putc(out, ' ');
			if (!rc)
				rc = ctype_render(t->kids[i], duck, out);
		}
		return rc ? rc : buf_putc(out, ')');
	}
	return TN_EINTERNAL;
}

char *ctype_str(const struct ctype *t, bool duck)
{
	struct buf b = BUF_INIT(0);
	ctype_render(t, duck, &b);
	return buf_detach(&b, NULL);
}

/* ---- widening -------------------------------------------------------- */

/* Integer rank (signed width class), 0 if not an integer type. */
static int int_rank(const char *n)
{
	static const struct {
		const char *name;
		int rank;
	} r[] = {
		{ "TINYINT", 1 }, { "UTINYINT", 2 }, { "SMALLINT", 2 }, { "USMALLINT", 3 },
		{ "INTEGER", 3 }, { "UINTEGER", 4 }, { "BIGINT", 4 }, { "UBIGINT", 5 },
		{ "HUGEINT", 5 },
	};
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
		if (!strcmp(n, r[i].name))
			return r[i].rank;
	return 0;
}

static bool is_float(const char *n)
{
	return !strcmp(n, "FLOAT") || !strcmp(n, "DOUBLE") || !strncmp(n, "DECIMAL", 7) ||
	       !strcmp(n, "UHUGEINT");
}

/* 1 DATE, 2 TIMESTAMP family, 3 TIMESTAMP WITH TIME ZONE; 0 otherwise. */
static int time_rank(const char *n)
{
	if (!strcmp(n, "DATE"))
		return 1;
	if (!strcmp(n, "TIMESTAMP WITH TIME ZONE"))
		return 3;
	if (!strncmp(n, "TIMESTAMP", 9))
		return 2;
	return 0;
}

static const char *scalar_join(const char *a, const char *b)
{
	static const char *const by_rank[] = { NULL, "TINYINT", "SMALLINT", "INTEGER", "BIGINT",
					       "HUGEINT" };
	if (!strcmp(a, "JSON") || !strcmp(b, "JSON"))
		return "JSON";
	int ia = int_rank(a), ib = int_rank(b);
	if (ia && ib)
		return by_rank[ia > ib ? ia : ib];
	if ((ia || is_float(a)) && (ib || is_float(b)))
		return "DOUBLE";
	int ta = time_rank(a), tb = time_rank(b);
	if (ta && tb)
		return (ta > tb ? ta : tb) == 3 ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
	return "VARCHAR";
}

struct ctype *ctype_merge(const struct ctype *a, const struct ctype *b, bool json_top)
{
	if (a->kind == CT_NULL)
		return ctype_dup(b);
	if (b->kind == CT_NULL || ctype_equal(a, b))
		return ctype_dup(a);
	if (a->kind == CT_SCALAR && b->kind == CT_SCALAR)
		return ct_new(CT_SCALAR, scalar_join(a->name, b->name));
	if (a->kind != b->kind)
		return ct_new(CT_SCALAR, json_top ? "JSON" : "VARCHAR");
	struct ctype *t = ct_new(a->kind, NULL);
	if (a->kind == CT_STRUCT) {
		for (size_t i = 0; i < a->n; i++) {
			size_t j = 0;
			while (j < b->n && strcasecmp(a->fields[i], b->fields[j]))
				j++;
			ct_push(t, a->fields[i],
				j < b->n ? ctype_merge(a->kids[i], b->kids[j], json_top)
					 : ctype_dup(a->kids[i]));
		}
		for (size_t j = 0; j < b->n; j++) {
			size_t i = 0;
			while (i < a->n && strcasecmp(a->fields[i], b->fields[j]))
				i++;
			if (i == a->n)
				ct_push(t, b->fields[j], ctype_dup(b->kids[j]));
		}
	} else {
		for (size_t i = 0; i < a->n; i++)
			ct_push(t, NULL, ctype_merge(a->kids[i], b->kids[i], json_top));
	}
	return t;
}

/* ---- schemas ----------------------------------------------------------- */

void schema_release(struct schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->names[i]);
		ctype_free(s->types[i]);
	}
	free(s->names);
	free(s->types);
	memset(s, 0, sizeof *s);
}

/*
 * Column and field names match case-insensitively, as SQL identifiers do
 * in DuckDB: "Name" and "name" cannot be two columns of one view.
 */
int schema_find(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcasecmp(s->names[i], name))
			return (int)i;
	return -1;
}

void schema_add(struct schema *s, const char *name, struct ctype *t)
{
	s->names = xrealloc(s->names, (s->n + 1) * sizeof *s->names);
	s->types = xrealloc(s->types, (s->n + 1) * sizeof *s->types);
	s->names[s->n] = xstrdup(name);
	s->types[s->n] = t;
	s->n++;
}

void schema_copy(struct schema *dst, const struct schema *src)
{
	memset(dst, 0, sizeof *dst);
	for (size_t i = 0; i < src->n; i++)
		schema_add(dst, src->names[i], ctype_dup(src->types[i]));
}

static void note(struct buf *changes, const char *fmt, const char *path, const char *a,
		 const char *b)
{
	if (!changes)
		return;
	if (changes->len)
		buf_puts(changes, "; ");
	buf_printf(changes, fmt, path, a, b ? b : "");
}

/* Describes how old became new (new = merge of old and something) under path. */
static void diff(const struct ctype *old, const struct ctype *new, const char *path,
		 struct buf *changes, unsigned *widened)
{
	if (ctype_equal(old, new))
		return;
	if (old->kind == CT_STRUCT && new->kind == CT_STRUCT) {
		for (size_t j = 0; j < new->n; j++) {
			char *sub = xasprintf("%s.%s", path, new->fields[j]);
			size_t i = 0;
			while (i < old->n && strcasecmp(old->fields[i], new->fields[j]))
				i++;
			if (i == old->n) {
				char *ty = ctype_str(new->kids[j], true);
				note(changes, "added field %s %s%s", sub, ty, NULL);
				free(ty);
				(*widened)++;
			} else {
				diff(old->kids[i], new->kids[j], sub, changes, widened);
			}
			free(sub);
		}
		return;
	}
	char *a = ctype_str(old, true), *b = ctype_str(new, true);
	if (old->kind == CT_NULL)
		note(changes, "typed %s %s%s (was null in every record)", path, b, NULL);
	else
		note(changes, "widened %s %s -> %s", path, a, b);
	(*widened)++;
	free(a);
	free(b);
}

void schema_merge(struct schema *dst, const struct schema *src, bool json_top,
		  struct buf *changes, unsigned *added, unsigned *widened)
{
	unsigned dummy_a = 0, dummy_w = 0;
	if (!added)
		added = &dummy_a;
	if (!widened)
		widened = &dummy_w;
	for (size_t j = 0; j < src->n; j++) {
		int i = schema_find(dst, src->names[j]);
		if (i < 0) {
			schema_add(dst, src->names[j], ctype_dup(src->types[j]));
			char *ty = ctype_str(src->types[j], true);
			note(changes, "added %s %s%s", src->names[j], ty, NULL);
			free(ty);
			(*added)++;
			continue;
		}
		struct ctype *m = ctype_merge(dst->types[i], src->types[j], json_top);
		diff(dst->types[i], m, dst->names[i], changes, widened);
		ctype_free(dst->types[i]);
		dst->types[i] = m;
	}
}

int schema_to_json(const struct schema *s, struct buf *out)
{
	int rc = buf_putc(out, '[');
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		char *ty = ctype_str(s->types[i], false);
		rc = buf_puts(out, i ? ",[" : "[");
		if (!rc)
			rc = buf_json_str(out, s->names[i], strlen(s->names[i]));
		if (!rc)
			rc = buf_putc(out, ',');
		if (!rc)
			rc = buf_json_str(out, ty, strlen(ty));
		if (!rc)
			rc = buf_putc(out, ']');
		free(ty);
	}
	return rc ? rc : buf_putc(out, ']');
}

int schema_from_json(const char *json, struct schema *s, char *err)
{
	json_error_t je;
	memset(s, 0, sizeof *s);
	json_t *root = json_loads(json, 0, &je);
	if (!json_is_array(root)) {
		json_decref(root);
		return tn_fail(err, TN_ECORRUPT, "catalog: stored schema is not a JSON array");
	}
	size_t i;
	json_t *el;
	json_array_foreach(root, i, el) {
		const char *name = json_string_value(json_array_get(el, 0));
		const char *ty = json_string_value(json_array_get(el, 1));
		struct ctype *t = name && ty ? ctype_parse(ty, err) : NULL;
		if (!t) {
			json_decref(root);
			schema_release(s);
			return tn_fail(err, TN_ECORRUPT, "catalog: stored schema: bad column %zu", i);
		}
		schema_add(s, name, t);
	}
	json_decref(root);
	return 0;
}

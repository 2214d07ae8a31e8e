/*
 * result.c - query results as CSV, JSON and NDJSON; reading result CSV back.
 *
 * Invariants: writers append whole values or nothing useful (a failed
 * append past a buf's cap leaves a truncated row the caller discards with
 * the error); the reader never reads past n and copies only quoted
 * fields.
 */
#include "query/result.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

static bool csv_needs_quotes(const char *p, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
			return true;
	return false;
}

static int csv_field(struct buf *b, const char *p, size_t n)
{
	int rc = 0;
	if (!csv_needs_quotes(p, n))
		return buf_append(b, p, n);
	rc = buf_putc(b, '"');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (p[i] == '"')
			rc = buf_putc(b, '"');
		if (rc == 0)
			rc = buf_putc(b, p[i]);
	}
	return rc ? rc : buf_putc(b, '"');
}

int result_csv_header(struct buf *b, const struct query_column *cols, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_putc(b, ',');
		if (rc == 0)
			rc = csv_field(b, cols[i].name, strlen(cols[i].name));
	}
	return rc ? rc : buf_putc(b, '\n');
}

int result_csv_row(struct buf *b, const struct query_value *v, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_putc(b, ',');
		if (rc == 0 && v[i].p)
			rc = csv_field(b, v[i].p, v[i].n);
	}
	return rc ? rc : buf_putc(b, '\n');
}

int result_json_columns(struct buf *b, const struct query_column *cols, size_t n)
{
	int rc = buf_putc(b, '[');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = buf_puts(b, i ? ", {\"name\": " : "{\"name\": ");
		if (rc == 0)
			rc = buf_json_str(b, cols[i].name, strlen(cols[i].name));
		if (rc == 0)
			rc = buf_puts(b, ", \"type\": ");
		if (rc == 0)
			rc = buf_json_str(b, cols[i].type, strlen(cols[i].type));
		if (rc == 0)
			rc = buf_putc(b, '}');
	}
	return rc ? rc : buf_putc(b, ']');
}

/* Is p[0..n) a JSON number (RFC 8259 grammar)? */
static bool json_number(const char *p, size_t n)
{
	size_t i = 0;
	if (i < n && p[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (p[i] == '0') {
		i++;
	} else if (p[i] >= '1' && p[i] <= '9') {
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || p[i] < '0' || p[i] > '9')
			return false;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || p[i] < '0' || p[i] > '9')
			return false;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return i == n;
}

int result_json_value(struct buf *b, const struct query_column *col, const struct query_value *v)
{
	if (!v->p)
		return buf_puts(b, "null");
	switch (col->kind) {
	case QCOL_NUMBER:
		if (json_number(v->p, v->n))
			return buf_append(b, v->p, v->n);
		break; /* inf, nan: a string */
	case QCOL_BOOL:
		if ((v->n == 4 && !memcmp(v->p, "true", 4)) || (v->n == 5 && !memcmp(v->p, "false", 5)))
			return buf_append(b, v->p, v->n);
		break;
	case QCOL_JSON:
		if (v->n)
			return buf_append(b, v->p, v->n);
		break;
	case QCOL_TEXT:
		break;
	}
	return buf_json_str(b, v->p, v->n);
}

int result_json_row(struct buf *b, const struct query_column *cols, const struct query_value *v,
		    size_t n)
{
	int rc = buf_putc(b, '[');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_puts(b, ", ");
		if (rc == 0)
			rc = result_json_value(b, &cols[i], &v[i]);
	}
	return rc ? rc : buf_putc(b, ']');
}

int result_ndjson_row(struct buf *b, const struct query_column *cols, const struct query_value *v,
		      size_t n)
{
	int rc = buf_putc(b, '{');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_puts(b, ", ");
		if (rc == 0)
			rc = buf_json_str(b, cols[i].name, strlen(cols[i].name));
		if (rc == 0)
			rc = buf_puts(b, ": ");
		if (rc == 0)
			rc = result_json_value(b, &cols[i], &v[i]);
	}
	return rc ? rc : buf_puts(b, "}\n");
}

int result_csv_read(const char *p, size_t n, size_t *off, struct buf *scratch,
		    struct query_value *vals, size_t ncols, char *err)
{
	size_t i = *off, field = 0;
	size_t *soff = xcalloc(ncols ? ncols : 1, sizeof *soff);
	bool *quoted = xcalloc(ncols ? ncols : 1, sizeof *quoted);
	int rc = 1;
	if (i >= n) {
		rc = 0;
		goto out;
	}
	for (;;) {
		if (field >= ncols) {
			rc = tn_fail(err, TN_ECORRUPT, "result file: more than %zu fields at byte %zu",
				     ncols, i);
			goto out;
		}
		if (i < n && p[i] == '"') {
			size_t start = scratch->len;
			i++;
			for (;;) {
				if (i >= n) {
					rc = tn_fail(err, TN_ECORRUPT,
						     "result file: unterminated quote at byte %zu", i);
					goto out;
				}
				if (p[i] == '"') {
					if (i + 1 < n && p[i + 1] == '"') {
						buf_putc(scratch, '"');
						i += 2;
						continue;
					}
					i++;
					break;
				}
				buf_putc(scratch, p[i++]);
			}
			quoted[field] = true;
			soff[field] = start;
			vals[field].n = scratch->len - start;
		} else {
			size_t start = i;
			while (i < n && p[i] != ',' && p[i] != '\n')
				i++;
			vals[field].p = i > start ? p + start : NULL;
			vals[field].n = i - start;
		}
		field++;
		if (i >= n || p[i] == '\n') {
			if (i < n)
				i++;
			break;
		}
		if (p[i] != ',') {
			rc = tn_fail(err, TN_ECORRUPT, "result file: bad field end at byte %zu", i);
			goto out;
		}
		i++;
	}
	if (field != ncols) {
		rc = tn_fail(err, TN_ECORRUPT, "result file: %zu fields where %zu were expected",
			     field, ncols);
		goto out;
	}
	/* quoted fields point into scratch only now: it may have moved while growing */
	for (size_t k = 0; k < ncols; k++)
		if (quoted[k])
			vals[k].p = scratch->data + soff[k];
	*off = i;
out:
	free(soff);
	free(quoted);
	return rc;
}

enum qcol_kind result_kind_of(const char *type)
{
	static const char *const numbers[] = {
		"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "HUGEINT", "UHUGEINT", "FLOAT", "DOUBLE", "BIGNUM",
	};
	static const char *const nested[] = { "STRUCT", "LIST", "MAP", "ARRAY", "UNION", "JSON" };
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (!strcmp(type, numbers[i]))
			return QCOL_NUMBER;
	if (!strncmp(type, "DECIMAL", 7))
		return QCOL_NUMBER;
	if (!strcmp(type, "BOOLEAN"))
		return QCOL_BOOL;
	for (size_t i = 0; i < sizeof nested / sizeof nested[0]; i++)
		if (!strcmp(type, nested[i]))
			return QCOL_JSON;
	return QCOL_TEXT;
}

int result_columns_parse(const char *json, struct query_column **cols, size_t *n, char *err)
{
	json_t *a = json_loads(json, 0, NULL);
	size_t i;
	json_t *e;
	*cols = NULL;
	*n = 0;
	if (!json_is_array(a)) {
		json_decref(a);
		return tn_fail(err, TN_ECORRUPT, "result columns: not a JSON array");
	}
	*cols = xcalloc(json_array_size(a) ? json_array_size(a) : 1, sizeof **cols);
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *type = json_string_value(json_object_get(e, "type"));
		if (!name || !type) {
			json_decref(a);
			result_columns_free(*cols, *n);
			*cols = NULL;
			*n = 0;
			return tn_fail(err, TN_ECORRUPT, "result columns: entry %zu lacks a name or type", i);
		}
		(*cols)[i].name = xstrdup(name);
		(*cols)[i].type = xstrdup(type);
		(*cols)[i].kind = result_kind_of(type);
		*n = i + 1;
	}
	json_decref(a);
	return 0;
}

void result_columns_free(struct query_column *cols, size_t n)
{
	for (size_t i = 0; cols && i < n; i++) {
		free(cols[i].name);
		free(cols[i].type);
	}
	free(cols);
}

struct query_column *result_columns_dup(const struct query_column *cols, size_t n)
{
	struct query_column *c = xcalloc(n ? n : 1, sizeof *c);
	for (size_t i = 0; i < n; i++) {
		c[i].name = xstrdup(cols[i].name);
		c[i].type = xstrdup(cols[i].type);
		c[i].kind = cols[i].kind;
	}
	return c;
}

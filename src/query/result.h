/*
 * result.h - query results as bytes: CSV (the Athena result file and
 * text/csv answers), JSON rows and NDJSON, and reading a result CSV back
 * for paged answers.
 *
 * CSV is RFC 4180 with a header line: a field is quoted when it holds a
 * comma, a quote, CR or LF, or is empty; a NULL is an empty unquoted
 * field, so NULL and '' stay apart (as in Athena's result files).  JSON
 * renders each value by its column kind (query.h): numbers and booleans
 * bare, nested values as JSON, text as strings, NULL as null.
 *
 * Pure functions over struct buf; any thread.
 */
#ifndef TN_RESULT_H
#define TN_RESULT_H

#include <stddef.h>

#include "query/query.h"

struct buf;

/* The CSV header line (column names), with "\n". */
int result_csv_header(struct buf *b, const struct query_column *cols, size_t n);
/* One CSV record, with "\n". */
int result_csv_row(struct buf *b, const struct query_value *v, size_t n);
/* [{"name": "a", "type": "BIGINT"}, ...] */
int result_json_columns(struct buf *b, const struct query_column *cols, size_t n);
/* One JSON value of column col. */
int result_json_value(struct buf *b, const struct query_column *col, const struct query_value *v);
/* [v1, v2, ...] */
int result_json_row(struct buf *b, const struct query_column *cols, const struct query_value *v,
		    size_t n);
/* {"a": v1, "b": v2}\n */
int result_ndjson_row(struct buf *b, const struct query_column *cols, const struct query_value *v,
		      size_t n);

/* The kind of a column from DuckDB's type name (query_column.type). */
enum qcol_kind result_kind_of(const char *type);
/*
 * Parses result_json_columns' output back into *cols (names, types,
 * kinds); free with result_columns_free.  TN_ECORRUPT if it is not that.
 */
int result_columns_parse(const char *json, struct query_column **cols, size_t *n, char *err);
void result_columns_free(struct query_column *cols, size_t n);
/* A deep copy of n columns (free with result_columns_free). */
struct query_column *result_columns_dup(const struct query_column *cols, size_t n);

/*
 * Reads the CSV record starting at byte *off of p[0..n) into vals (ncols
 * fields; unquoted empty = NULL); quoted fields are unescaped into
 * scratch, which must not be reset until the values are used (values
 * point into p or scratch).  Advances *off past the record.  Returns 1
 * with a record, 0 at the end, TN_ECORRUPT for a malformed record or a
 * field count other than ncols.
 */
int result_csv_read(const char *p, size_t n, size_t *off, struct buf *scratch,
		    struct query_value *vals, size_t ncols, char *err);

#endif

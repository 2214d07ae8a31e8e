/*
 * params.c - values for a statement's parameters ($1..$n, ?), bound
 * through DuckDB's prepared statements, never put into SQL text.
 *
 * A value with a type is cast to it as DuckDB casts a string literal (a
 * `SELECT CAST($1 AS <type>)` on the query's own connection), then bound
 * as a DuckDB value of that type; a value without one takes the type the
 * statement infers for it, or stays VARCHAR.  The type name is checked to
 * be a type name before it is put into the cast.  Text that is not UTF-8
 * never reaches DuckDB (duckdb_create_varchar aborts the process on it).
 * Runs on the query's thread, which owns the slot.
 */
#include <ctype.h>
#include <duckdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "query/query.h"
#include "query/query_int.h"
#include "core/banned.h"

void query_bound_release(struct query_bound *b)
{
	for (size_t k = 0; k < b->np; k++)
		free(b->types[k]);
	free(b->types);
	for (size_t k = 0; k < b->n; k++)
		if (b->v[k])
			duckdb_destroy_value(&b->v[k]);
	free(b->v);
	memset(b, 0, sizeof *b);
}

/* Does the statement leave a parameter's type open (`SELECT $1`)? */
static bool type_open(duckdb_logical_type lt)
{
	if (!lt)
		return true;
	duckdb_type id = duckdb_get_type_id(lt);
	return id == DUCKDB_TYPE_INVALID || id == DUCKDB_TYPE_ANY || id == DUCKDB_TYPE_SQLNULL ||
	       id == DUCKDB_TYPE_STRING_LITERAL;
}

/* Types a parameter's text is cast to by name (nested, ENUM, ... are left to DuckDB). */
static bool castable(duckdb_type id)
{
	switch (id) {
	case DUCKDB_TYPE_BOOLEAN: case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT:
	case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT:
	case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
	case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_UHUGEINT: case DUCKDB_TYPE_FLOAT:
	case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL: case DUCKDB_TYPE_VARCHAR:
	case DUCKDB_TYPE_BLOB: case DUCKDB_TYPE_DATE: case DUCKDB_TYPE_TIME:
	case DUCKDB_TYPE_TIME_TZ: case DUCKDB_TYPE_TIMESTAMP: case DUCKDB_TYPE_TIMESTAMP_TZ:
	case DUCKDB_TYPE_TIMESTAMP_S: case DUCKDB_TYPE_TIMESTAMP_MS: case DUCKDB_TYPE_TIMESTAMP_NS:
	case DUCKDB_TYPE_INTERVAL: case DUCKDB_TYPE_UUID:
		return true;
	default:
		return false;
	}
}

/*
 * A type name that may go into `CAST($1 AS <name>)`: words of letters,
 * digits and '_' separated by single spaces, then at most one "(p)" or
 * "(p,s)".  Nothing else can reach the SQL text.
 */
static bool type_name_ok(const char *t)
{
	const char *p = t;
	if (strlen(t) > 64)
		return false;
	while (isalnum((unsigned char)*p) || *p == '_' || (*p == ' ' && p > t && p[-1] != ' '))
		p++;
	if (p == t || p[-1] == ' ')
		return false;
	if (*p == '(') {
		p++;
		for (int part = 0; part < 2; part++) {
			const char *d = p;
			while (*p >= '0' && *p <= '9')
				p++;
			if (p == d || p - d > 3)
				return false;
			if (*p != ',')
				break;
			p++;
		}
		if (*p++ != ')')
			return false;
	}
	return *p == 0;
}

/* A failure about parameter $k: DuckDB's message (its first line), or an interrupt. */
static int param_fail(struct slot *s, size_t k, duckdb_error_type et, const char *msg,
		      struct query_stats *st, char *err)
{
	int why = atomic_load(&s->interrupted);
	if (et == DUCKDB_ERROR_INVALID)
		et = query_duck_class(msg);
	if (why || et == DUCKDB_ERROR_INTERRUPT) {
		query_set_state(st, "57014");
		return tn_fail(err, why == TN_ETIMEDOUT ? TN_ETIMEDOUT : TN_ECANCELED,
			       why == TN_ETIMEDOUT ? "query timed out" : "query canceled");
	}
	query_set_state(st, query_duck_sqlstate(et, msg));
	const char *nl = strchr(msg, '\n');
	int len = nl ? (int)(nl - msg) : (int)strlen(msg);
	return tn_fail(err, TN_EINVAL, "parameter $%zu: %.*s", k, len > 400 ? 400 : len, msg);
}

/* The value in row 0 of a one-column chunk, or NULL for a type not handled here. */
static duckdb_value chunk_value(duckdb_data_chunk ch)
{
	duckdb_vector vec = duckdb_data_chunk_get_vector(ch, 0);
	duckdb_logical_type lt = duckdb_vector_get_column_type(vec);
	uint64_t *valid = duckdb_vector_get_validity(vec);
	void *d = duckdb_vector_get_data(vec);
	duckdb_value v = NULL;
	if (valid && !duckdb_validity_row_is_valid(valid, 0)) {
		duckdb_destroy_logical_type(&lt);
		return duckdb_create_null_value();
	}
	switch (duckdb_get_type_id(lt)) {
	case DUCKDB_TYPE_BOOLEAN: v = duckdb_create_bool(*(bool *)d); break;
	case DUCKDB_TYPE_TINYINT: v = duckdb_create_int8(*(int8_t *)d); break;
	case DUCKDB_TYPE_SMALLINT: v = duckdb_create_int16(*(int16_t *)d); break;
	case DUCKDB_TYPE_INTEGER: v = duckdb_create_int32(*(int32_t *)d); break;
	case DUCKDB_TYPE_BIGINT: v = duckdb_create_int64(*(int64_t *)d); break;
	case DUCKDB_TYPE_UTINYINT: v = duckdb_create_uint8(*(uint8_t *)d); break;
	case DUCKDB_TYPE_USMALLINT: v = duckdb_create_uint16(*(uint16_t *)d); break;
	case DUCKDB_TYPE_UINTEGER: v = duckdb_create_uint32(*(uint32_t *)d); break;
	case DUCKDB_TYPE_UBIGINT: v = duckdb_create_uint64(*(uint64_t *)d); break;
	case DUCKDB_TYPE_HUGEINT: v = duckdb_create_hugeint(*(duckdb_hugeint *)d); break;
	case DUCKDB_TYPE_UHUGEINT: v = duckdb_create_uhugeint(*(duckdb_uhugeint *)d); break;
	case DUCKDB_TYPE_FLOAT: v = duckdb_create_float(*(float *)d); break;
	case DUCKDB_TYPE_DOUBLE: v = duckdb_create_double(*(double *)d); break;
	case DUCKDB_TYPE_DATE: v = duckdb_create_date(*(duckdb_date *)d); break;
	case DUCKDB_TYPE_TIME: v = duckdb_create_time(*(duckdb_time *)d); break;
	case DUCKDB_TYPE_TIME_TZ: v = duckdb_create_time_tz_value(*(duckdb_time_tz *)d); break;
	case DUCKDB_TYPE_TIMESTAMP: v = duckdb_create_timestamp(*(duckdb_timestamp *)d); break;
	case DUCKDB_TYPE_TIMESTAMP_TZ: v = duckdb_create_timestamp_tz(*(duckdb_timestamp *)d); break;
	case DUCKDB_TYPE_INTERVAL: v = duckdb_create_interval(*(duckdb_interval *)d); break;
	case DUCKDB_TYPE_UUID: {
		/* stored with the top bit flipped (so that it sorts as a signed number) */
		duckdb_hugeint h = *(duckdb_hugeint *)d;
		duckdb_uhugeint u = { h.lower, (uint64_t)h.upper ^ (1ull << 63) };
		v = duckdb_create_uuid(u);
		break;
	}
	case DUCKDB_TYPE_DECIMAL: {
		duckdb_decimal dec = { duckdb_decimal_width(lt), duckdb_decimal_scale(lt), { 0, 0 } };
		int64_t x = 0;
		switch (duckdb_decimal_internal_type(lt)) {
		case DUCKDB_TYPE_SMALLINT: x = *(int16_t *)d; break;
		case DUCKDB_TYPE_INTEGER: x = *(int32_t *)d; break;
		case DUCKDB_TYPE_BIGINT: x = *(int64_t *)d; break;
		default: dec.value = *(duckdb_hugeint *)d; break;
		}
		if (duckdb_decimal_internal_type(lt) != DUCKDB_TYPE_HUGEINT) {
			dec.value.lower = (uint64_t)x;
			dec.value.upper = x < 0 ? -1 : 0;
		}
		v = duckdb_create_decimal(dec);
		break;
	}
	case DUCKDB_TYPE_VARCHAR: {
		duckdb_string_t *sv = d;
		v = duckdb_create_varchar_length(duckdb_string_t_data(sv), duckdb_string_t_length(*sv));
		break;
	}
	case DUCKDB_TYPE_BLOB: {
		duckdb_string_t *sv = d;
		v = duckdb_create_blob((const uint8_t *)duckdb_string_t_data(sv),
				       duckdb_string_t_length(*sv));
		break;
	}
	default:
		break;
	}
	duckdb_destroy_logical_type(&lt);
	return v;
}

/*
 * The value of parameter $k, text p[0..n) (valid UTF-8) cast to type as
 * DuckDB casts a string: `SELECT CAST($1 AS <type>)` on s, the text bound
 * as VARCHAR.  *out NULL (and 0) for a type chunk_value does not handle.
 */
static int param_cast(struct slot *s, size_t k, const char *type, const char *p, size_t n,
		      duckdb_value *out, struct query_stats *st, char *err)
{
	duckdb_prepared_statement ps = NULL;
	duckdb_result r;
	char sql[128];
	int rc = 0;
	*out = NULL;
	if (!type_name_ok(type)) {
		query_set_state(st, "42704");
		return tn_fail(err, TN_EINVAL, "parameter $%zu: '%.64s' is not a type name", k, type);
	}
	snprintf(sql, sizeof sql, "SELECT CAST($1 AS %s)", type);
	if (duckdb_prepare(s->con, sql, &ps) != DuckDBSuccess) {
		const char *m = duckdb_prepare_error(ps);
		rc = param_fail(s, k, DUCKDB_ERROR_INVALID, m ? m : "cannot prepare", st, err);
		duckdb_destroy_prepare(&ps);
		return rc;
	}
	if (duckdb_bind_varchar_length(ps, 1, p, n) != DuckDBSuccess) {
		duckdb_destroy_prepare(&ps);
		query_set_state(st, "22021");
		return tn_fail(err, TN_EINVAL, "parameter $%zu: DuckDB refuses the text", k);
	}
	if (duckdb_execute_prepared(ps, &r) != DuckDBSuccess) {
		rc = param_fail(s, k, duckdb_result_error_type(&r), duckdb_result_error(&r), st, err);
	} else {
		duckdb_data_chunk ch = duckdb_fetch_chunk(r);
		if (ch && duckdb_data_chunk_get_size(ch) == 1)
			*out = chunk_value(ch);
		if (ch)
			duckdb_destroy_data_chunk(&ch);
	}
	duckdb_destroy_result(&r);
	duckdb_destroy_prepare(&ps);
	return rc;
}

static bool named(const char *t, const char *a, const char *b, const char *c)
{
	return !strcasecmp(t, a) || (b && !strcasecmp(t, b)) || (c && !strcasecmp(t, c));
}

/*
 * The value of parameter $k given as prm, for a statement that infers
 * type want for it (NULL: none; cast: whether the text can be cast to it
 * by name).  Sets *rebind when the value's type is not want.
 */
static int param_value(struct slot *s, size_t k, const struct query_param *prm, const char *want,
		       bool cast, duckdb_value *out, bool *rebind, struct query_stats *st,
		       char *err)
{
	const char *t = prm->type;
	char dt[32];
	int rc;
	*out = NULL;
	if (t && prm->p && named(t, "DECIMAL", "NUMERIC", NULL)) {
		/*
		 * PostgreSQL's numeric has no fixed scale, DuckDB's bare DECIMAL is
		 * (18,3): the text's own digits make the type, exact up to 38 of
		 * them; beyond, or with an exponent or NaN, a DOUBLE.
		 */
		size_t i = 0, digits = 0, frac = 0;
		bool dot = false, plain = true;
		if (i < prm->n && (prm->p[i] == '-' || prm->p[i] == '+'))
			i++;
		for (; i < prm->n && plain; i++) {
			if (prm->p[i] >= '0' && prm->p[i] <= '9') {
				digits++;
				frac += dot;
			} else if (prm->p[i] == '.' && !dot) {
				dot = true;
			} else {
				plain = false;
			}
		}
		if (plain && digits > 0 && digits <= 38)
			snprintf(dt, sizeof dt, "DECIMAL(%zu,%zu)", digits, frac);
		else
			snprintf(dt, sizeof dt, "DOUBLE");
		t = dt;
	}
	if (!prm->p) {
		/* DuckDB's C API has no typed NULL: the statement is bound again with it */
		*out = duckdb_create_null_value();
		*rebind = true;
		return 0;
	}
	if (t && named(t, "BLOB", "BYTEA", NULL)) {
		*out = duckdb_create_blob((const uint8_t *)prm->p, prm->n);
		*rebind |= !want || strcmp(want, "BLOB");
		return 0;
	}
	/* DuckDB aborts the process on a VARCHAR that is not UTF-8 */
	if (!utf8_valid(prm->p, prm->n)) {
		query_set_state(st, "22021");
		return tn_fail(err, TN_EINVAL, "parameter $%zu: the value is not valid UTF-8", k);
	}
	const char *target = t ? t : cast ? want : NULL;
	if (!target || named(target, "VARCHAR", "TEXT", "STRING")) {
		*out = duckdb_create_varchar_length(prm->p, prm->n);
		*rebind |= !want || strcmp(want, "VARCHAR");
		return 0;
	}
	if ((rc = param_cast(s, k, target, prm->p, prm->n, out, st, err)))
		return rc;
	if (!*out) {
		/* a type without a C value here: the text, cast by DuckDB as it binds */
		*out = duckdb_create_varchar_length(prm->p, prm->n);
		*rebind = true;
		return 0;
	}
	char tb[64];
	*rebind |= !want || strcmp(query_type_name(duckdb_get_value_type(*out), tb, sizeof tb), want);
	return 0;
}

/*
 * Reads the parameters of the prepared user statement ust and makes the
 * values of q->params for them (b, released by the caller, even after a
 * failure).  Describe runs without values get placeholders where the
 * statement leaves a type open, so that a probe can tell the columns.
 */
int query_bind_params(struct slot *s, duckdb_prepared_statement ust, const struct query_req *q,
		       struct query_bound *b, struct query_stats *st, char *err)
{
	size_t np = duckdb_nparams(ust);
	bool open_any = false;
	int rc = 0;
	memset(b, 0, sizeof *b);
	for (size_t k = 1; k <= np; k++) {
		char want[24];
		const char *name = duckdb_parameter_name(ust, k);
		snprintf(want, sizeof want, "%zu", k);
		bool ok = name && !strcmp(name, want);
		duckdb_free((void *)name);
		if (!ok) {
			query_set_state(st, "42P02");
			return tn_fail(err, TN_EINVAL, "parameters are numbered $1, $2, ... without gaps "
				       "(or all written ?): the statement's %zu are not", np);
		}
	}
	if (q->nparams != np && !(q->describe_only && q->nparams == 0)) {
		query_set_state(st, "08P01");
		return tn_fail(err, TN_EINVAL, "the statement takes %zu parameter%s and %zu %s given",
			       np, np == 1 ? "" : "s", q->nparams, q->nparams == 1 ? "was" : "were");
	}
	b->np = np;
	b->types = xcalloc(np ? np : 1, sizeof *b->types);
	b->v = xcalloc(np ? np : 1, sizeof *b->v);
	b->n = np;
	for (size_t k = 0; k < np && rc == 0; k++) {
		duckdb_logical_type lt = duckdb_param_logical_type(ust, k + 1);
		bool open = type_open(lt);
		char tb[64], want[64] = "";
		if (!open)
			snprintf(want, sizeof want, "%s", query_type_name(lt, tb, sizeof tb));
		bool cast = !open && castable(duckdb_get_type_id(lt));
		if (lt)
			duckdb_destroy_logical_type(&lt);
		b->types[k] = xstrdup(open ? "UNKNOWN" : want);
		open_any |= open;
		if (q->nparams)
			rc = param_value(s, k + 1, &q->params[k], open ? NULL : want, cast, &b->v[k],
					 &b->rebind, st, err);
		else if (open)
			b->v[k] = duckdb_create_varchar("");
		else
			b->v[k] = duckdb_create_null_value();
	}
	if (rc == 0 && q->nparams == 0) {
		/* describe without values: placeholders only when a probe must tell the columns */
		b->rebind = open_any;
		if (!open_any) {
			for (size_t k = 0; k < b->n; k++)
				duckdb_destroy_value(&b->v[k]);
			b->n = 0;
		}
	}
	return rc;
}

/* Binds b's values to ps (a statement holding the user's with its parameters). */
int query_apply_params(duckdb_prepared_statement ps, const struct query_bound *b,
			struct query_stats *st, char *err)
{
	for (size_t k = 0; k < b->n; k++)
		if (duckdb_bind_value(ps, k + 1, b->v[k]) != DuckDBSuccess) {
			const char *m = duckdb_prepare_error(ps);
			query_set_state(st, "08P01");
			return tn_fail(err, TN_EINVAL, "parameter $%zu: cannot bind: %.300s", k + 1,
				       m ? m : "refused");
		}
	return 0;
}

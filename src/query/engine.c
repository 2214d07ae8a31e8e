/*
 * engine.c - DuckDB through its C API.
 */
#include "query/engine.h"

#include <duckdb.h>
#include <stdio.h>

#include "core/err.h"
#include "core/banned.h"

const char *engine_version(void)
{
	return duckdb_library_version();
}

int engine_eval(const char *sql, char *out, size_t n, char *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	int rc = 0;
	if (duckdb_open(NULL, &db) != DuckDBSuccess)
		return tn_fail(err, TN_EINTERNAL, "duckdb: cannot open an in-memory database");
	if (duckdb_connect(db, &con) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "duckdb: cannot connect");
		goto out;
	}
	if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINVAL, "duckdb: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto out;
	}
	if (duckdb_row_count(&res) < 1 || duckdb_column_count(&res) < 1) {
		rc = tn_fail(err, TN_ENOTFOUND, "duckdb: no result");
	} else {
		char *v = duckdb_value_varchar(&res, 0, 0);
		snprintf(out, n, "%s", v ? v : "");
		duckdb_free(v);
	}
	duckdb_destroy_result(&res);
out:
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}

/*
 * test_query.c - the pinned DuckDB library links, loads and runs SQL,
 * with the JSON and Parquet extensions built in (no download at run time).
 */
#include <string.h>

#include "core/err.h"
#include "query/engine.h"
#include "harness.h"

TEST(duckdb_runs_a_query)
{
	char out[64], err[TN_ERRLEN];
	CHECK_STR(engine_version(), "v1.4.4");
	CHECK_INT(engine_eval("SELECT 40 + 2", out, sizeof out, err), 0);
	CHECK_STR(out, "42");
	CHECK_INT(engine_eval("SELECT json_extract('{\"a\":[1,2]}', '$.a[1]')::INT", out, sizeof out,
			      err), 0);
	CHECK_STR(out, "2");
	CHECK_INT(engine_eval("SELECT count(*) FROM duckdb_extensions() WHERE loaded AND "
			      "extension_name IN ('json', 'parquet')", out, sizeof out, err), 0);
	CHECK_STR(out, "2");
	CHECK_INT(engine_eval("SELEC 1", out, sizeof out, err), TN_EINVAL);
	CHECK(strstr(err, "syntax error"));
}

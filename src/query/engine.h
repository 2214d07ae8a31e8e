/*
 * engine.h - the embedded DuckDB engine.
 *
 * This issue uses DuckDB only to prove that the pinned library links and
 * runs; the catalog and query issue builds the SQL engine on it.
 */
#ifndef TN_ENGINE_H
#define TN_ENGINE_H

#include <stddef.h>

/* The DuckDB library version ("v1.4.4"), borrowed static string. */
const char *engine_version(void);
/*
 * Opens an in-memory DuckDB, runs sql, and writes the first column of the
 * first row as text into out.  For `tarn version` and the tests.
 */
int engine_eval(const char *sql, char *out, size_t n, char *err);

#endif

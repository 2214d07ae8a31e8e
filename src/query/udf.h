/*
 * udf.h - tarn's own scalar functions inside DuckDB: the hash mask.
 *
 * tarn_mask_hash(VARCHAR) -> VARCHAR is the `hash` PII mask of
 * policy_mask_sql: the lowercase hex HMAC-SHA256 (64 characters) of the
 * value's bytes under the lake's mask key (policy_mask_key); NULL stays
 * NULL.  The key is held by the function inside DuckDB and never appears
 * in SQL text.  Users never call it: the SQL guard refuses every function
 * whose name starts with "tarn_" (UDF_PREFIX), because with it anyone could
 * build the table of digests of, say, every SSN.
 */
#ifndef TN_UDF_H
#define TN_UDF_H

#include <duckdb.h>
#include <stdint.h>

struct policy;

/* The names of tarn's functions start with this; the guard refuses them in user SQL. */
#define UDF_PREFIX "tarn_"
/* The hash mask's SQL name. */
#define UDF_MASK_HASH "tarn_mask_hash"

/*
 * Registers tarn_mask_hash with key (32 bytes, copied: the caller may wipe
 * its copy at once) in con's database.  DuckDB keeps scalar functions in
 * the database's system catalog: one call serves every connection of the
 * database, and DuckDB refuses a second one there.  Call before the
 * configuration is locked.  Returns 0, or TN_EINTERNAL with err set (also
 * when the function is registered in that database already).  Any
 * thread; one call per database.
 */
int udf_register(duckdb_connection con, const uint8_t key[32], char *err);

/*
 * udf_register with the mask key of policy p (policy_mask_key).  p NULL
 * (a lake without grants, where no view masks): registers nothing, returns 0.
 */
int udf_register_policy(duckdb_connection con, struct policy *p, char *err);

#endif

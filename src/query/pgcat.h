/*
 * pgcat.h - what the query engine's PostgreSQL-shaped catalogs need from
 * its owner (query/pgcat.c, query/syscat.c).
 */
#ifndef TN_PGCAT_H
#define TN_PGCAT_H

struct query_engine;

/*
 * Names the database the catalogs show: current_database(), pg_database,
 * information_schema's table_catalog and duckdb_databases() answer name
 * (the lake's name; "tarn" until this is called).  Call after
 * query_engine_open and before the first query (it changes every
 * connection of the engine, so none may be running).  Returns 0, or
 * TN_EINVAL for an empty name, TN_EINTERNAL from DuckDB, with err set.
 */
int query_engine_set_name(struct query_engine *e, const char *name, char *err);

#endif

/*
 * pgcat_int.h - the PostgreSQL-shaped catalogs (pgcat.c), shared with
 * syscat.c, guard.c and query.c; nothing outside src/query includes it.
 */
#ifndef TN_PGCAT_INT_H
#define TN_PGCAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* OIDs tarn gives what is not a table (tables: pgcat_table_oid). */
#define PGCAT_OID_SUPERUSER 10u       /* the role owning every table: "tarn" */
#define PGCAT_OID_PG_CATALOG 11u
#define PGCAT_OID_INFORMATION_SCHEMA 13000u
#define PGCAT_OID_DATABASE 16384u
#define PGCAT_OID_PRINCIPAL 16385u    /* the role of the principal asking */
#define PGCAT_OID_SCHEMA0 16400u      /* + index in query_schemas */
#define PGCAT_OID_TABLE_MIN 100000u   /* table OIDs: [MIN, MIN + SPAN) */
#define PGCAT_OID_TABLE_SPAN 2000000000u
#define PGCAT_OID_PG_CLASS 1259u      /* pg_description.classoid of tables and columns */

/* The schema the catalogs call current (current_schema()): the first zone. */
#define PGCAT_CURRENT_SCHEMA "raw"

/*
 * Rewrites a statement written for PostgreSQL's catalogs into one DuckDB
 * runs against tarn's (see pgcat.c, "The rewrite").  Only a statement that
 * names a catalog (an identifier pg_catalog, information_schema, pg_*, a
 * reg* type, or version, current_schema(s), current_database) is
 * rewritten, except bytea literals in PostgreSQL's hex or escape form
 * ('\x0102'::bytea, CAST(... AS bytea), bytea '...'), rewritten to
 * unhex('0102') in any statement.  Returns true and puts the new text in out (which it
 * resets) when the text changed; false (out untouched) otherwise.  The
 * rewritten text is what the guard checks and DuckDB runs.  Pure; any
 * thread.
 */
bool pgcat_rewrite(const char *sql, struct buf *out);

/*
 * True if a scalar function of this name (case-insensitive) reads the
 * principal's catalog image (obj_description, to_regclass, current_user,
 * ...): the guard reports a call (and a one-part column name such as
 * current_user, which DuckDB binds to the function when no column has
 * it) as a system reference, so the image is made the caller's before
 * the statement runs.
 */
bool pgcat_is_image_function(const char *name);

/* True if name (case-insensitive) is one of the pg_* relations pgcat offers. */
bool pgcat_is_relation(const char *name);

/*
 * Appends the statements (each preceded by ";\n") that set up connection
 * q's PostgreSQL catalogs: types, macros and views in q.main, the image's
 * tables in cat.main; current_database() answers dbname.
 */
void pgcat_slot_sql(struct buf *b, const char *q, const char *cat, const char *dbname);
/* Appends ";\n" and the statement that makes q's current_database() answer dbname. */
void pgcat_name_sql(struct buf *b, const char *q, const char *dbname);

/* One column of a table in the image: its name, DuckDB type, comment. */
struct pgcat_col {
	const char *name;
	const char *type;
	const char *comment;
};

/*
 * A table's OID: a hash of schema and name in [PGCAT_OID_TABLE_MIN, +SPAN),
 * the same for every connection and principal, so an OID a client read
 * names the same table in its next statement.  Pure.
 */
uint32_t pgcat_table_oid(const char *schema, const char *name);

/*
 * Appends the INSERTs that describe one table of the image (schema index
 * si in query_schemas) in cat.main's tables, with its OID (unique in the
 * image: the caller resolves hash collisions).  Nothing for a zone's alias
 * (bronze, ...): the catalogs list a table once, under its zone's name.
 */
void pgcat_image_table_sql(struct buf *b, const char *cat, size_t si, const char *name,
			   uint32_t oid, const char *comment, const struct pgcat_col *cols,
			   size_t ncols);

/* Appends the statements that empty cat.main's tables and name the principal. */
void pgcat_image_reset_sql(struct buf *b, const char *cat, const char *user, bool admin);

#endif

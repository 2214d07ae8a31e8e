/*
 * syscat.c - the system catalogs a principal sees: information_schema,
 * pg_catalog and DuckDB's duckdb_*() functions, showing exactly the
 * tables and columns that principal may read.
 *
 * The problem.  All connections of the engine share one DuckDB instance,
 * and DuckDB's catalog functions (duckdb_tables(), duckdb_columns(),
 * duckdb_views(), ...) list every attached database: q0..qN, with the
 * secured views other principals' queries left there, their column lists
 * and their SQL (file paths, row filters, mask expressions).  Every view
 * of information_schema and pg_catalog, and macros such as
 * pg_get_viewdef(oid), read those functions.
 *
 * Facts of DuckDB 1.4.4 this rests on (checked with a test program):
 *   - a schema named information_schema or pg_catalog cannot be created
 *     in an attached database ("already exists"; "cannot create entry in
 *     system catalog"), so qualified names cannot be shadowed;
 *   - but DuckDB's own system views bind the names inside them through the
 *     search path of the connection that runs the query (default database
 *     first, then system): a table macro q<i>.main.duckdb_tables() shadows
 *     the duckdb_tables() called by information_schema.tables, pg_class,
 *     pg_tables, sqlite_master, ... when they run on that connection, and
 *     a macro q<i>.main.current_database() shadows current_database()
 *     (pg_namespace filters on it);
 *   - other connections keep the unshadowed functions.
 *
 * Design.  Each connection i has, besides its query database q<i>, a
 * catalog image database "cat<i>": one schema per database name and alias
 * (raw ... references, bronze, silver, gold) holding one empty table per
 * catalog table the principal may read, with only the columns they read
 * and the types their secured view gives them (a masked DATE reads as
 * VARCHAR), and the catalog's comments.  Table macros in q<i>.main shadow
 * every duckdb_*() catalog function the system views read, each filtered
 * to cat<i>'s zone schemas (or to DuckDB's built-in entries for types and
 * functions, or to nothing for dependencies and prepared statements), with
 * the database shown as current_database() answers (the lake's name:
 * query_engine_set_name).  So on connection i, every system view (and
 * pg_get_viewdef) shows cat<i> and nothing else, whoever asks and however
 * they reach it.  pgcat.c adds PostgreSQL-shaped pg_* relations and
 * functions in q<i>.main, which read cat<i>.main's pg_rel, pg_att and
 * pg_who: the image fills them too.
 *
 * The guard (GUARD_SYSCAT) reports the system references of a statement;
 * syscat_check refuses those the engine does not offer (pg_settings,
 * duckdb_settings(), duckdb_logs, ..., which read no catalog function
 * this file filters), and before the statement runs syscat_refresh makes
 * cat<i> this principal's.  The image is rebuilt only when it changes (a
 * hash of its description: tables, columns, types, masks, comments), so a
 * connection serving one principal's catalog queries builds it once.
 * Queries that reference no system catalog do not touch any of this.
 *
 * Invariants: cat<i> is written only by the query that holds slot i, and
 * is never shown unfiltered (no raw duckdb_*() function is reachable:
 * the guard refuses qualified and argument-taking calls and every table
 * function not offered here).  An image that failed half-way is marked
 * absent (sys_image 0) and rebuilt by the next catalog query.
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "policy/policy.h"
#include "query/guard.h"
#include "query/pgcat.h"
#include "query/pgcat_int.h"
#include "query/query_int.h"
#include "store/store.h"
#include "core/banned.h"

/* information_schema views offered (all of DuckDB 1.4.4's). */
static const char *const is_views[] = {
	"character_sets", "check_constraints", "columns", "constraint_column_usage",
	"constraint_table_usage", "key_column_usage", "referential_constraints", "schemata",
	"tables", "table_constraints", "views",
};

/* pg_catalog views offered: all but pg_settings (duckdb_settings(): the engine's settings). */
static const char *const pg_views[] = {
	"pg_am", "pg_attrdef", "pg_attribute", "pg_class", "pg_constraint", "pg_database",
	"pg_depend", "pg_description", "pg_enum", "pg_index", "pg_indexes", "pg_namespace",
	"pg_prepared_statements", "pg_proc", "pg_sequence", "pg_sequences", "pg_tables",
	"pg_tablespace", "pg_type", "pg_views",
};

/*
 * Views of the system database's main schema offered: those of the
 * callable functions below, and the SQLite-style lists.
 */
static const char *const main_views[] = {
	"duckdb_columns", "duckdb_databases", "duckdb_schemas", "duckdb_tables", "duckdb_views",
	"pragma_database_list", "sqlite_master", "sqlite_schema", "sqlite_temp_master",
	"sqlite_temp_schema",
};

/* How a shadowed catalog function is filtered. */
enum shadow_filter {
	SHADOW_IMAGE,     /* rows of cat<i>'s zone schemas, database shown as the catalog name */
	SHADOW_DATABASE,  /* the row of cat<i>, shown as the catalog name, no path */
	SHADOW_BUILTIN,   /* DuckDB's built-in entries (internal): types and functions */
	SHADOW_NONE,      /* no rows */
};

/*
 * Every catalog function an offered view reads, shadowed on each
 * connection.  A view or macro of DuckDB reading a function not listed
 * here must not be offered.  callable: users may call it as name() (the
 * catalog's own functions; DuckDB's lists of types and functions are
 * reached through pg_type and pg_proc only).
 */
static const struct shadow {
	const char *name;
	enum shadow_filter filter;
	bool callable;
} shadows[] = {
	{ "duckdb_tables", SHADOW_IMAGE, true },
	{ "duckdb_columns", SHADOW_IMAGE, true },
	{ "duckdb_views", SHADOW_IMAGE, true },
	{ "duckdb_schemas", SHADOW_IMAGE, true },
	{ "duckdb_databases", SHADOW_DATABASE, true },
	{ "duckdb_indexes", SHADOW_IMAGE, false },
	{ "duckdb_sequences", SHADOW_IMAGE, false },
	{ "duckdb_constraints", SHADOW_IMAGE, false },
	{ "duckdb_types", SHADOW_BUILTIN, false },
	{ "duckdb_functions", SHADOW_BUILTIN, false },
	{ "duckdb_dependencies", SHADOW_NONE, false },
	{ "duckdb_prepared_statements", SHADOW_NONE, false },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(list[i], name))
			return true;
	return false;
}

/* Is a system reference one the engine offers (shadowed, filtered)? */
static bool offered(const struct guard_sysref *r)
{
	if (r->kind == GUARD_SYS_SCALAR)
		return pgcat_is_image_function(r->name);
	if (r->kind == GUARD_SYS_FUNCTION) {
		for (size_t i = 0; i < NELEM(shadows); i++)
			if (shadows[i].callable && !strcasecmp(shadows[i].name, r->name))
				return true;
		return false;
	}
	if (!strcasecmp(r->schema, "information_schema"))
		return in_list(is_views, NELEM(is_views), r->name);
	if (!strcasecmp(r->schema, "pg_catalog"))
		return in_list(pg_views, NELEM(pg_views), r->name);
	/*
	 * unqualified (or main.): q<i>.main's PostgreSQL relations (pgcat.c),
	 * else DuckDB's search path reaches system.main and system.pg_catalog
	 */
	return pgcat_is_relation(r->name) || in_list(main_views, NELEM(main_views), r->name) ||
	       in_list(pg_views, NELEM(pg_views), r->name);
}

int syscat_check(const struct guard_result *g, struct query_stats *st, char *err)
{
	for (size_t i = 0; i < g->nsys; i++) {
		const struct guard_sysref *r = &g->sys[i];
		if (offered(r))
			continue;
		char what[300], at[40] = "";
		if (r->kind == GUARD_SYS_FUNCTION)
			snprintf(what, sizeof what, "table function '%.100s'", r->name);
		else if (r->schema[0])
			snprintf(what, sizeof what, "system table '%.100s.%.100s'", r->schema, r->name);
		else
			snprintf(what, sizeof what, "system table '%.100s'", r->name);
		if (r->pos >= 0)
			snprintf(at, sizeof at, " at byte %ld", r->pos);
		st->error_pos = r->pos;
		return tn_fail(err, TN_EDENIED, "%s%s is not allowed: the catalog is offered as "
			       "information_schema (tables, columns, schemata, ...), pg_catalog "
			       "(pg_class, pg_attribute, pg_namespace, ...) and duckdb_tables(), "
			       "duckdb_columns(), duckdb_schemas(), duckdb_views(), "
			       "duckdb_databases()", what, at);
	}
	return 0;
}

static int exec(duckdb_connection con, const char *sql, char *err)
{
	duckdb_result r;
	int rc = 0;
	if (duckdb_query(con, sql, &r) != DuckDBSuccess)
		rc = tn_fail(err, TN_EINTERNAL, "system catalogs: duckdb: %.300s",
			     duckdb_result_error(&r));
	duckdb_destroy_result(&r);
	return rc;
}

/* The zone schemas of the image, as a SQL list: ('raw', 'transient', ...). */
static void schema_list(struct buf *b)
{
	buf_putc(b, '(');
	for (size_t i = 0; i < query_nschemas; i++) {
		buf_puts(b, i ? ", " : "");
		query_sql_str(b, query_schemas[i]);
	}
	buf_putc(b, ')');
}

int syscat_slot_init(struct query_engine *e, struct slot *s, char *err)
{
	char cat[32], q[32];
	struct buf b = BUF_INIT(0);
	int rc;
	(void)e;
	snprintf(cat, sizeof cat, "cat%u", s->index);
	snprintf(q, sizeof q, "q%u", s->index);
	buf_puts(&b, "ATTACH ':memory:' AS ");
	query_sql_ident(&b, cat);
	for (size_t i = 0; i < query_nschemas; i++) {
		buf_puts(&b, "; CREATE SCHEMA ");
		query_sql_ident(&b, cat);
		buf_putc(&b, '.');
		query_sql_ident(&b, query_schemas[i]);
	}
	/* PostgreSQL's catalogs, and current_database(), which the shadows call */
	pgcat_slot_sql(&b, q, cat, QUERY_CATALOG_NAME);
	for (size_t i = 0; i < NELEM(shadows); i++) {
		const struct shadow *sh = &shadows[i];
		buf_puts(&b, "; CREATE MACRO ");
		query_sql_ident(&b, q);
		buf_printf(&b, ".main.%s() AS TABLE SELECT * ", sh->name);
		if (sh->filter == SHADOW_IMAGE || sh->filter == SHADOW_DATABASE) {
			buf_puts(&b, "REPLACE (");
			query_sql_ident(&b, q);
			buf_puts(&b, ".main.current_database() AS database_name");
			if (sh->filter == SHADOW_DATABASE)
				buf_puts(&b, ", CAST(NULL AS VARCHAR) AS path");
			buf_puts(&b, ") ");
		}
		buf_printf(&b, "FROM system.main.%s() WHERE ", sh->name);
		switch (sh->filter) {
		case SHADOW_IMAGE:
			buf_puts(&b, "database_name = ");
			query_sql_str(&b, cat);
			buf_puts(&b, " AND schema_name IN ");
			schema_list(&b);
			break;
		case SHADOW_DATABASE:
			buf_puts(&b, "database_name = ");
			query_sql_str(&b, cat);
			break;
		case SHADOW_BUILTIN:
			/*
			 * Built-in types are listed once per database (only the
			 * first database's have oids, as pg_type wants); tarn's own
			 * functions (tarn_*) are engine internals.
			 */
			buf_puts(&b, "internal");
			if (!strcmp(sh->name, "duckdb_functions"))
				buf_puts(&b, " AND NOT starts_with(lower(function_name), 'tarn_')");
			break;
		case SHADOW_NONE:
			buf_puts(&b, "false");
			break;
		}
	}
	rc = exec(s->con, b.data, err);
	buf_release(&b);
	return rc;
}

/* ---- the image ---- */

/* One table of the image: the described table and the columns the principal reads. */
struct image_table {
	struct cat_table t;
	struct query_shape_col *cols;
	size_t ncols;
};

struct image {
	struct image_table *v;
	size_t n;
};

static void image_release(struct image *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->v[i].cols);
		cat_table_release(&im->v[i].t);
	}
	free(im->v);
	memset(im, 0, sizeof *im);
}

/*
 * Every catalog table user may read, with its readable columns.  Tables
 * that vanish meanwhile, or that they may not read, are left out; a name
 * that differs from an earlier one of its database only in case is left
 * out too (DuckDB names are case-insensitive: one schema cannot hold both).
 */
static int image_collect(struct query_engine *e, const char *user, bool admin, struct image *im,
			 char *err)
{
	struct cat_table_list l;
	char dummy[TN_ERRLEN];
	int rc = catalog_tables(e->catalog, NULL, &l, err);
	if (rc)
		return rc;
	im->v = xcalloc(l.n ? l.n : 1, sizeof *im->v);
	for (size_t i = 0; i < l.n; i++) {
		bool dup = false;
		for (size_t k = 0; k < im->n && !dup; k++)
			dup = !strcmp(im->v[k].t.db, l.v[i].db) &&
			      !strcasecmp(im->v[k].t.name, l.v[i].name);
		if (dup)
			continue;
		struct image_table *it = &im->v[im->n];
		if (catalog_table_get(e->catalog, l.v[i].db, l.v[i].name, &it->t, dummy))
			continue;
		rc = query_table_shape(e, &it->t, user, admin, &it->cols, &it->ncols, dummy);
		if (rc) {
			cat_table_release(&it->t);
			if (rc == TN_EDENIED) {
				rc = 0;
				continue;
			}
			tn_fail(err, rc, "system catalogs: table '%s.%s': %s", l.v[i].db,
				l.v[i].name, dummy);
			break;
		}
		im->n++;
	}
	cat_table_list_release(&l);
	return rc;
}

/* Appends a field of the description: the text and a separator no name holds. */
static void describe_field(struct buf *b, const char *s)
{
	buf_puts(b, s ? s : "");
	buf_putc(b, '\x1f');
}

/*
 * Everything the image shows, as text: its hash decides whether to
 * rebuild.  The principal is part of it (pg_roles names it).
 */
static void image_describe(const struct image *im, const char *user, bool admin, struct buf *b)
{
	describe_field(b, user);
	describe_field(b, admin ? "admin" : "");
	buf_putc(b, '\x1e');
	for (size_t i = 0; i < im->n; i++) {
		const struct image_table *it = &im->v[i];
		describe_field(b, it->t.db);
		describe_field(b, it->t.name);
		describe_field(b, it->t.comment);
		buf_putc(b, '\n');
		for (size_t k = 0; k < it->ncols; k++) {
			const struct query_shape_col *c = &it->cols[k];
			describe_field(b, c->col->name);
			describe_field(b, c->col->type);
			buf_printf(b, "%d\x1f", c->masked ? c->mask : -1);
			describe_field(b, c->col->comment);
			buf_putc(b, '\n');
		}
		buf_putc(b, '\x1e');
	}
}

/* A masked column's type: what DuckDB makes of the mask over the column's type. */
struct masked_type {
	int mask;
	const char *in;
	char *out;
};

/*
 * Finds the type of every distinct (mask, type) of the image in one
 * query: SELECT typeof(<mask over CAST(NULL AS type)>), ...  DuckDB types
 * expressions statically, so a NULL input gives the column's type.
 */
static int masked_types(struct query_engine *e, struct slot *s, const struct image *im,
			struct masked_type **out, size_t *nout, char *err)
{
	struct masked_type *v = NULL;
	size_t n = 0;
	struct buf b = BUF_INIT(0);
	int rc = 0;
	for (size_t i = 0; i < im->n; i++)
		for (size_t k = 0; k < im->v[i].ncols; k++) {
			const struct query_shape_col *c = &im->v[i].cols[k];
			bool seen = !c->masked;
			for (size_t j = 0; j < n && !seen; j++)
				seen = v[j].mask == c->mask && !strcmp(v[j].in, c->col->type);
			if (seen)
				continue;
			v = xrealloc(v, (n + 1) * sizeof *v);
			v[n++] = (struct masked_type){ c->mask, c->col->type, NULL };
		}
	*out = v;
	*nout = n;
	if (n == 0)
		return 0;
	buf_puts(&b, "SELECT ");
	for (size_t j = 0; j < n; j++) {
		struct buf in = BUF_INIT(0);
		buf_printf(&in, "CAST(NULL AS %s)", v[j].in);
		buf_puts(&b, j ? ", typeof(" : "typeof(");
		policy_mask_sql(e->policy, (enum mask_kind)v[j].mask, in.data, v[j].in, &b);
		buf_putc(&b, ')');
		buf_release(&in);
	}
	duckdb_result r;
	if (duckdb_query(s->con, b.data, &r) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "system catalogs: typing masked columns: %.300s",
			     duckdb_result_error(&r));
	} else if (duckdb_row_count(&r) != 1 || duckdb_column_count(&r) != n) {
		rc = tn_fail(err, TN_EINTERNAL, "system catalogs: typing masked columns: no row");
	} else {
		for (size_t j = 0; j < n && rc == 0; j++) {
			char *t = duckdb_value_varchar(&r, j, 0);
			if (!t) {
				rc = tn_fail(err, TN_EINTERNAL, "system catalogs: no type for a mask");
				break;
			}
			v[j].out = xstrdup(t);
			duckdb_free(t);
		}
	}
	duckdb_destroy_result(&r);
	buf_release(&b);
	return rc;
}

static const char *column_type(const struct query_shape_col *c, const struct masked_type *mt,
			       size_t nmt)
{
	if (!c->masked)
		return c->col->type;
	for (size_t j = 0; j < nmt; j++)
		if (mt[j].mask == c->mask && !strcmp(mt[j].in, c->col->type))
			return mt[j].out;
	return "VARCHAR";  /* not reached: masked_types typed every pair */
}

/* Appends "cat"."schema"."table" to b. */
static void qualified(struct buf *b, const char *cat, const char *schema, const char *table)
{
	query_sql_ident(b, cat);
	buf_putc(b, '.');
	query_sql_ident(b, schema);
	buf_putc(b, '.');
	query_sql_ident(b, table);
}

/*
 * Whether column k repeats an earlier column's name: DuckDB column names are
 * case-insensitive, so a second "ID" beside "id" cannot be in the image.
 */
static bool shadowed_column(const struct image_table *it, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (!strcasecmp(it->cols[j].col->name, it->cols[k].col->name))
			return true;
	return false;
}

/* CREATE TABLE (and COMMENT ON) statements of one table in one schema. */
static void table_ddl(struct buf *b, const char *cat, const char *schema,
		      const struct image_table *it, const struct masked_type *mt, size_t nmt)
{
	buf_puts(b, "CREATE TABLE ");
	qualified(b, cat, schema, it->t.name);
	buf_puts(b, " (");
	size_t shown = 0;
	for (size_t k = 0; k < it->ncols; k++) {
		const struct query_shape_col *c = &it->cols[k];
		if (shadowed_column(it, k))
			continue;
		buf_puts(b, shown++ ? ", " : "");
		query_sql_ident(b, c->col->name);
		buf_putc(b, ' ');
		buf_puts(b, column_type(c, mt, nmt));
	}
	if (shown == 0)
		buf_puts(b, "\"_\" INTEGER");
	buf_puts(b, ");\n");
	if (it->t.comment && it->t.comment[0]) {
		buf_puts(b, "COMMENT ON TABLE ");
		qualified(b, cat, schema, it->t.name);
		buf_puts(b, " IS ");
		query_sql_str(b, it->t.comment);
		buf_puts(b, ";\n");
	}
	for (size_t k = 0; k < it->ncols; k++) {
		const struct cat_column *c = it->cols[k].col;
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcasecmp(it->cols[j].col->name, c->name);
		if (dup || !c->comment || !c->comment[0])
			continue;
		buf_puts(b, "COMMENT ON COLUMN ");
		qualified(b, cat, schema, it->t.name);
		buf_putc(b, '.');
		query_sql_ident(b, c->name);
		buf_puts(b, " IS ");
		query_sql_str(b, c->comment);
		buf_puts(b, ";\n");
	}
}

/* Is oid taken by a table already described in this image? */
static bool oid_taken(const uint32_t *oids, size_t n, uint32_t oid)
{
	for (size_t i = 0; i < n; i++)
		if (oids[i] == oid)
			return true;
	return false;
}

/*
 * The rows of cat<i>.main's pg_rel and pg_att for one table in schema si
 * (pgcat.c): the columns table_ddl creates, with the types it gives them.
 * *oids (n of them) are the OIDs given so far; a hash collision takes the
 * next free one.
 */
static void table_pg_rows(struct buf *b, const char *cat, size_t si, const struct image_table *it,
			  const struct masked_type *mt, size_t nmt, uint32_t **oids, size_t *n)
{
	struct pgcat_col *cols = xcalloc(it->ncols ? it->ncols : 1, sizeof *cols);
	size_t nc = 0;
	for (size_t k = 0; k < it->ncols; k++) {
		const struct query_shape_col *c = &it->cols[k];
		if (shadowed_column(it, k))
			continue;
		cols[nc++] = (struct pgcat_col){ c->col->name, column_type(c, mt, nmt),
						 c->col->comment };
	}
	uint32_t oid = pgcat_table_oid(query_schemas[si], it->t.name);
	while (oid_taken(*oids, *n, oid))
		oid = oid + 1 < PGCAT_OID_TABLE_MIN + PGCAT_OID_TABLE_SPAN ? oid + 1
									 : PGCAT_OID_TABLE_MIN;
	*oids = xrealloc(*oids, (*n + 1) * sizeof **oids);
	(*oids)[(*n)++] = oid;
	pgcat_image_table_sql(b, cat, si, it->t.name, oid, it->t.comment, cols, nc);
	free(cols);
}

/*
 * Rebuilds cat<i> in one transaction: its schemas dropped and created
 * again, each table in its database's schema and in the aliases of that
 * database (bronze holds raw's tables).
 */
static int image_build(struct query_engine *e, struct slot *s, const struct image *im,
		       const char *user, bool admin, char *err)
{
	struct masked_type *mt = NULL;
	uint32_t *oids = NULL;
	size_t nmt = 0, noids = 0;
	struct buf b = BUF_INIT(0);
	char cat[32];
	int rc = masked_types(e, s, im, &mt, &nmt, err);
	if (rc)
		goto out;
	snprintf(cat, sizeof cat, "cat%u", s->index);
	buf_puts(&b, "BEGIN;\n");
	for (size_t i = 0; i < query_nschemas; i++) {
		buf_puts(&b, "DROP SCHEMA ");
		query_sql_ident(&b, cat);
		buf_putc(&b, '.');
		query_sql_ident(&b, query_schemas[i]);
		buf_puts(&b, " CASCADE;\nCREATE SCHEMA ");
		query_sql_ident(&b, cat);
		buf_putc(&b, '.');
		query_sql_ident(&b, query_schemas[i]);
		buf_puts(&b, ";\n");
	}
	pgcat_image_reset_sql(&b, cat, user, admin);
	for (size_t i = 0; i < query_nschemas; i++) {
		int z = zone_by_name(query_schemas[i]);
		const char *db = z >= 0 ? zone_db_name((enum zone)z) : NULL;
		for (size_t k = 0; db && k < im->n; k++) {
			if (strcmp(im->v[k].t.db, db))
				continue;
			table_ddl(&b, cat, query_schemas[i], &im->v[k], mt, nmt);
			table_pg_rows(&b, cat, i, &im->v[k], mt, nmt, &oids, &noids);
		}
	}
	buf_puts(&b, "COMMIT");
	duckdb_result r;
	if (duckdb_query(s->con, b.data, &r) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "system catalogs: cannot build the catalog: %.300s",
			     duckdb_result_error(&r));
		duckdb_destroy_result(&r);
		/* a statement that failed leaves the transaction open */
		duckdb_query(s->con, "ROLLBACK", &r);
		duckdb_destroy_result(&r);
		goto out;
	}
	duckdb_destroy_result(&r);
out:
	for (size_t j = 0; j < nmt; j++)
		free(mt[j].out);
	free(mt);
	free(oids);
	buf_release(&b);
	return rc;
}

int syscat_refresh(struct query_engine *e, struct slot *s, const char *user, bool admin,
		   char *err)
{
	struct image im = { NULL, 0 };
	struct buf desc = BUF_INIT(0);
	int rc = image_collect(e, user, admin, &im, err);
	if (rc)
		goto out;
	image_describe(&im, user, admin, &desc);
	uint64_t h = query_fnv1a(desc.data, desc.len) | 1;  /* never 0: 0 is "no image" */
	if (h == s->sys_image)
		goto out;
	s->sys_image = 0;
	if ((rc = image_build(e, s, &im, user, admin, err)) == 0)
		s->sys_image = h;
	else
		log_debug("query", "%s", err);
out:
	buf_release(&desc);
	image_release(&im);
	return rc;
}

int query_engine_set_name(struct query_engine *e, const char *name, char *err)
{
	int rc = 0;
	if (!name || !name[0])
		return tn_fail(err, TN_EINVAL, "the catalogs' database name is empty");
	for (unsigned i = 0; i < e->nslots && rc == 0; i++) {
		struct buf b = BUF_INIT(0);
		char q[32];
		snprintf(q, sizeof q, "q%u", e->slots[i].index);
		pgcat_name_sql(&b, q, name);
		rc = exec(e->slots[i].con, b.data + 2, err);  /* past the leading ";\n" */
		buf_release(&b);
	}
	return rc;
}

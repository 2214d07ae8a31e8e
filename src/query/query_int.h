/*
 * query_int.h - internals shared by query.c (the engine, running),
 * views.c (views, pruning, secured views) and syscat.c (the system
 * catalogs a principal sees); nothing else includes it.
 */
#ifndef TN_QUERY_INT_H
#define TN_QUERY_INT_H

#include <duckdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "query/query.h"

struct buf;
struct cat_column;
struct cat_table;
struct guard_result;

/* Views a connection remembers; past it the memory is cleared (views are rebuilt). */
#define QUERY_VIEW_CACHE 256u
/* How often the watchdog looks at deadlines and cancels. */
#define QUERY_WATCH_MS 50

/*
 * The catalog name the system catalogs show (table_catalog, pg_database,
 * current_database()) until query_engine_set_name (pgcat.h) gives the
 * lake's: one name for every connection and principal.
 */
#define QUERY_CATALOG_NAME "tarn"

/* Schemas every connection holds: each database name and alias (raw, bronze, ...). */
extern const char *const query_schemas[];
extern const size_t query_nschemas;

struct view_memo {
	char *name;         /* "schema.table", lowercase, as the SQL names it */
	uint64_t hash;      /* of the view's SQL */
};

struct slot {
	duckdb_connection con;
	unsigned index;
	bool busy;
	int64_t deadline_ns;        /* 0: none */
	struct query_ctl *ctl;      /* of the running query, or NULL */
	atomic_int interrupted;     /* why the watchdog interrupts: 0, TN_ETIMEDOUT, TN_ECANCELED */
	struct view_memo *views;
	size_t nviews;
	uint64_t sys_image;         /* hash of the catalog image in "cat<i>" (0: none) */
};

struct query_engine {
	struct store *store;
	struct catalog *catalog;
	struct policy *policy;      /* NULL: only admins and sandbox owners read */
	struct query_limits lim;
	duckdb_database db;
	struct guard *guard;
	struct slot *slots;
	unsigned nslots;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a slot was freed, a cancel happened, or closing */
	unsigned queued;
	unsigned active;            /* calls inside query_run / query_copy */
	bool closing;
	pthread_t watchdog;
	bool watchdog_started;
	pthread_cond_t watch_cv;
};

struct query_ctl {
	pthread_mutex_t mu;
	atomic_bool canceled;
	struct query_engine *e;     /* while a run uses it */
	struct slot *slot;          /* while it runs on a connection */
};


/* FNV-1a of p[0..n): the view memo's hash of a view's SQL. */
uint64_t query_fnv1a(const char *p, size_t n);
/* Appends s as a quoted SQL identifier / string literal. */
void query_sql_ident(struct buf *b, const char *s);
void query_sql_str(struct buf *b, const char *s);
/*
 * Resolves every table g references, checks that user may read it (admins
 * all; others their own sandbox and what grants allow), prunes its files
 * and creates (or keeps) its view on slot s; adds to st's counters.
 */
int query_build_views(struct query_engine *e, struct slot *s, const struct guard_result *g,
		      const char *user, bool admin, struct query_stats *st, char *err);

/* One top-level column of a table as a principal reads it. */
struct query_shape_col {
	const struct cat_column *col;  /* borrowed from the table */
	bool masked;
	int mask;                      /* enum mask_kind, when masked */
};

/*
 * The columns user reads of t (top-level, in table order, as the view
 * query_build_views makes has them): all for admins and the owner of a
 * sandbox table, else the granted ones with their masks.  t must come
 * from catalog_table_get.  TN_EDENIED when user may read none of it.
 * *cols (borrowing from t) is freed by the caller.
 */
int query_table_shape(struct query_engine *e, const struct cat_table *t, const char *user,
		      bool admin, struct query_shape_col **cols, size_t *n, char *err);

/* DuckDB's name of a type ("BIGINT", "DECIMAL(18,3)", an alias such as "JSON"). */
const char *query_type_name(duckdb_logical_type lt, char *buf, size_t n);

/* ---- sqlstate.c: SQLSTATEs ---- */

/* Sets st->sqlstate. */
void query_set_state(struct query_stats *st, const char *state);
/* The class of a DuckDB message that comes without one (a failed prepare). */
duckdb_error_type query_duck_class(const char *msg);
/* The SQLSTATE of a DuckDB error of class et with message msg (static string). */
const char *query_duck_sqlstate(duckdb_error_type et, const char *msg);

/* ---- params.c: parameters ---- */

/*
 * The parameters of a run: the type the statement infers for each, and
 * the values bound to every statement DuckDB runs for it (the user's, the
 * rendering wrapper, COPY, the probe).  DuckDB re-binds a statement whose
 * bound value types differ from the ones it inferred, and the result's
 * types may then differ from the prepared statement's: rebind says so,
 * and the columns then come from a probe (probe_columns).
 */
struct query_bound {
	char **types;         /* np names: "INTEGER", ..., "UNKNOWN" */
	size_t np;
	duckdb_value *v;      /* n values (n == np), or n 0: nothing to bind */
	size_t n;
	bool rebind;
};

/* Frees b's names and values; b may be zeroed or partly filled. */
void query_bound_release(struct query_bound *b);
/*
 * Reads the parameters of the prepared user statement ust (their count,
 * numbering and inferred types) and makes the values of q->params for
 * them on slot s, casting as q->params' types say (b released by the
 * caller, also after a failure).  A describe run without values gets
 * placeholders where the statement leaves a type open.  TN_EINVAL with
 * st->sqlstate for a wrong count, a value that does not cast, text that
 * is not UTF-8.
 */
int query_bind_params(struct slot *s, duckdb_prepared_statement ust, const struct query_req *q,
		      struct query_bound *b, struct query_stats *st, char *err);
/* Binds b's values to ps (a statement holding the user's, with its parameters). */
int query_apply_params(duckdb_prepared_statement ps, const struct query_bound *b,
		       struct query_stats *st, char *err);

/* ---- syscat.c: system catalogs ---- */

/*
 * Sets up slot s's filtered system catalogs: attaches its catalog image
 * database "cat<i>" (one schema per query_schemas name) and creates, in
 * q<i>.main, the table macros that shadow DuckDB's duckdb_*() catalog
 * functions (and current_database()).  Called once per connection, by
 * query_engine_open.
 */
int syscat_slot_init(struct query_engine *e, struct slot *s, char *err);
/*
 * Refuses (TN_EDENIED, st->error_pos set) the system references in g the
 * engine does not offer.  0 when every one is offered (or there are none).
 */
int syscat_check(const struct guard_result *g, struct query_stats *st, char *err);
/*
 * Makes "cat<i>" of slot s hold exactly what user may read (every table,
 * its readable columns with the types its view gives them), unless it
 * already does.  Runs on the query's thread, which owns s.
 */
int syscat_refresh(struct query_engine *e, struct slot *s, const char *user, bool admin,
		   char *err);

/*
 * split.c: past the token at p (p < end) of text sql[..end), lexed as
 * DuckDB's (PostgreSQL's) scanner does: a -- comment, a nested block
 * comment, a '...' / E'...' / "..." / $tag$...$tag$ quote (left open: to
 * end), or one byte.  *tok is false for whitespace and comments.
 */
const char *query_lex_next(const char *sql, const char *p, const char *end, bool *tok);

#endif

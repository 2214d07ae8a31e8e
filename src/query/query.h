/*
 * query.h - SQL over the lake (the Athena role): the query engine.
 *
 * A query runs as a principal through four steps:
 *   1. the SQL guard (guard.h) parses it with DuckDB's parser and accepts
 *      one read statement; it names every table read and, for each
 *      reference, the simple predicates of its WHERE clause;
 *   2. every table is looked up in the catalog (an unknown name is refused
 *      with the closest catalog names), and the predicates on partition
 *      columns choose the files to read (partition pruning);
 *   3. each table becomes a view on the query's connection, built from the
 *      catalog's schema (explicit columns and types, no inference): the
 *      files kept, read with the table's format and options, and the
 *      partition values as constant columns;
 *   4. DuckDB runs the statement as written, on a connection with external
 *      access off, reads allowed only under the lake's zones, extensions
 *      not loadable, configuration locked, a memory limit, and a deadline.
 * Rows stream to a sink as DuckDB produces them, every value as text
 * (DuckDB's own cast to VARCHAR; nested values as JSON), so memory stays
 * bounded whatever the result size.
 *
 * Concurrency: the engine owns a pool of connections (query.max_running);
 * a query waits in a bounded queue (query.max_queued) for a free one and is
 * refused with TN_EAGAIN past it.  Any thread may call query_run; it
 * blocks for the duration of the query.
 */
#ifndef TN_QUERY_H
#define TN_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct catalog;
struct policy;
struct query_engine;

struct query_limits {
	int64_t timeout_ms;      /* per-query deadline (0: none) */
	int64_t memory_bytes;    /* DuckDB memory limit of the engine */
	unsigned threads;        /* DuckDB worker threads (0: one per core) */
	unsigned max_running;    /* connections: queries that run at once */
	unsigned max_queued;     /* queries that may wait for a connection */
};

/*
 * Opens the engine: one in-memory DuckDB, max_running connections, each
 * with its own view schemas.  store, catalog and policy (the grants
 * non-admins read through; NULL: they read only their own sandbox) are
 * borrowed and must outlive the engine.  Caller frees with query_engine_close().
 */
int query_engine_open(struct store *s, struct catalog *c, struct policy *pol,
		      const struct query_limits *lim, struct query_engine **out, char *err);
/* Cancels running queries, waits for them, frees.  Accepts NULL. */
void query_engine_close(struct query_engine *e);

/* How a result column's text reads in JSON. */
enum qcol_kind {
	QCOL_TEXT,    /* a JSON string */
	QCOL_NUMBER,  /* a JSON number when it is a finite one (else a string) */
	QCOL_BOOL,    /* true / false */
	QCOL_JSON,    /* nested (STRUCT, LIST, MAP, JSON): the text is JSON */
};

struct query_column {
	char *name;
	char *type;             /* DuckDB's name of the type: "BIGINT", "VARCHAR", ... */
	enum qcol_kind kind;
};

/* One value of a row: p NULL is SQL NULL; else n bytes (not NUL-terminated). */
struct query_value {
	const char *p;
	size_t n;
};

/*
 * Where rows go.  columns() is called once before the first row; row() once
 * per row, with ncols values that are valid during the call.  A callback
 * returning non-zero (a TN code, err set) stops the query with that code.
 */
struct query_sink {
	int (*columns)(void *arg, const struct query_column *cols, size_t ncols, char *err);
	int (*row)(void *arg, const struct query_value *vals, size_t ncols, char *err);
	void *arg;
	/*
	 * Optional (NULL: not called).  Called once, before columns(), with
	 * the DuckDB type name of each parameter $1..$n as the statement
	 * infers it ("INTEGER", "DATE", ...; "UNKNOWN" when the statement
	 * does not tell, as in `SELECT $1`), whatever types the request
	 * binds; n is 0 for a statement without parameters.  Called in
	 * describe runs and in ordinary ones.
	 */
	int (*params)(void *arg, const char *const *types, size_t n, char *err);
};

/* A cancellation handle: created by the caller, passed in the request. */
struct query_ctl;
struct query_ctl *query_ctl_new(void);
void query_ctl_free(struct query_ctl *c);
/* Cancels the query (queued or running) of c; later runs with c fail at once. Any thread. */
void query_cancel(struct query_ctl *c);

/*
 * A value for a parameter $k of the statement (params[k - 1]).  p NULL is
 * SQL NULL; else n bytes: the value's text, or for type "BLOB" its raw
 * bytes.  type is the DuckDB type to bind as ("INTEGER", "BIGINT",
 * "SMALLINT", "DOUBLE", "REAL", "DECIMAL(p,s)", "BOOLEAN", "VARCHAR",
 * "DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL", "UUID", "BLOB",
 * "JSON", ...): the text is cast to it as DuckDB casts a string literal
 * (a bare "DECIMAL" / "NUMERIC", PostgreSQL's numeric, becomes
 * DECIMAL(digits, fraction digits) of the text, or DOUBLE past 38 digits).
 * type NULL: the type the statement infers for $k (the text cast to it),
 * or VARCHAR where it infers none.  Values are bound through DuckDB's
 * prepared statements, never put into SQL text.
 */
struct query_param {
	const char *p;
	size_t n;
	const char *type;
};

struct query_req {
	const char *sql;
	const char *user;        /* the principal */
	bool admin;              /* an admin reads every table; others only their sandbox's */
	int64_t timeout_ms;      /* 0: the engine's default; else min(this, default) */
	struct query_ctl *ctl;   /* may be NULL */
	/*
	 * Values of $1..$n (or ?), borrowed for the call.  A statement with
	 * parameters takes exactly as many as it names (TN_EINVAL otherwise),
	 * numbered from $1 without gaps.
	 */
	const struct query_param *params;
	size_t nparams;
	/*
	 * Guard, catalog, views and prepare run as for a run; then the sink's
	 * params() and columns() are called and nothing executes (row() is
	 * never called).  nparams may be 0 for a statement with parameters:
	 * the types then come from the statement alone.
	 */
	bool describe_only;
};

struct query_stats {
	double queued_ms;        /* waiting for a connection */
	double planning_ms;      /* guard, catalog, views, prepare */
	double execution_ms;     /* from execution start to the last row (sink included) */
	uint64_t rows;           /* rows handed to the sink */
	uint64_t files;          /* files the views read, after partition pruning */
	uint64_t files_pruned;   /* files of the tables left out by pruning */
	uint64_t bytes_scanned;  /* bytes of the files read */
	unsigned tables;         /* catalog tables referenced */
	long error_pos;          /* on an error: byte offset in sql, -1 if unknown */
	/*
	 * On an error: the PostgreSQL SQLSTATE that names it (five characters,
	 * NUL-terminated; see query_sqlstate and the README's table); "" on
	 * success.
	 */
	char sqlstate[6];
};

/*
 * Runs one query and streams its result into sink.  Returns 0, or:
 *   TN_EINVAL     syntax or binding error (st->error_pos when known)
 *   TN_EDENIED    not a read statement, a table function, a file, ...
 *   TN_ENOTFOUND  an unknown database or table (the message names the closest)
 *   TN_ETOOBIG    past a guard cap, or out of memory
 *   TN_EAGAIN     the queue is full
 *   TN_ETIMEDOUT  the deadline passed
 *   TN_ECANCELED  query_cancel was called
 *   the code a sink callback returned.
 * st is always filled (zeros on early failures).
 */
int query_run(struct query_engine *e, const struct query_req *q, const struct query_sink *sink,
	      struct query_stats *st, char *err);

/*
 * The SQLSTATE for a TN code returned without one (the table in the
 * README, "SQLSTATE"): "42601" for TN_EINVAL, "42501" for TN_EDENIED,
 * "XX000" for codes it does not know.  err (may be NULL) refines a few:
 * an unknown database is "3F000", not "42P01".  Static string.
 */
const char *query_sqlstate(int rc, const char *err);

/*
 * Finds the first statement of sql[0..len) as DuckDB's lexer (and
 * PostgreSQL's) splits statements: ';' ends a statement except inside
 * '...', E'...' (backslash escapes), "...", $tag$...$tag$, -- comments and
 * nested block comments.  Returns the offset just past the statement's
 * terminating ';' (or len when none), from which the next statement
 * starts; *start / *end delimit the statement's text without the
 * surrounding whitespace and comments and without the ';' (*start == *end:
 * an empty statement, only whitespace and comments).  A string or comment
 * left open runs to len.  Pure; any thread.
 */
size_t query_next_statement(const char *sql, size_t len, size_t *start, size_t *end);

/*
 * Checks a grant's row filter by parsing it with the guard as the WHERE of
 * a one-table query: one boolean expression, reading no other table, no
 * comments.  TN_EINVAL with the reason.
 */
int query_check_filter(struct query_engine *e, const char *filter, char *err);

/* Where query_copy writes. */
struct query_copy {
	const char *to;                   /* absolute: a file, or a folder with partition_by */
	const char *const *partition_by;  /* columns of key=value folders, or NULL */
	size_t npart;
	const char *file_pattern;         /* with partition_by: DuckDB's FILENAME_PATTERN ("part-x-{i}") */
	/*
	 * An INSERT's target columns in table order (partition columns too), or
	 * NULL.  The query must give exactly as many; they meet the table's by
	 * name when they carry the table's names (any order), else by position,
	 * as SQL's INSERT without a column list.
	 */
	const char *const *columns;
	size_t ncols;
};

/*
 * Runs q->sql (a read statement, checked and bound like query_run's) and
 * writes its result as Parquet (zstd) to c->to through DuckDB's COPY:
 * the CREATE TABLE AS / INSERT of the warehouse zones.  The target must
 * lie under a zone (the connection's allowed directories); the caller
 * chooses a hidden temp place and moves the files into view.  *rows gets
 * the rows written.  Same errors as query_run.
 */
int query_copy(struct query_engine *e, const struct query_req *q, const struct query_copy *c,
	       uint64_t *rows, struct query_stats *st, char *err);

#endif

/*
 * service.h - queries as the REST API and the CLI see them (Athena's
 * role): every query gets an id, its result file in the user's folder of
 * the transient zone, and a row of history; queries run synchronously or
 * in the background, can be looked up, paged through and canceled.
 *
 * Result location: 02-transient-zone/01-athena/<user>/<id>.csv (CSV with
 * a header, query.h / result.h), with <id>.csv.metadata beside it (JSON:
 * id, user, sql, state, columns, statistics), written through the store
 * (atomic: a result file is whole or absent).  A failed or canceled
 * query leaves no result file; its metadata and history say why.
 *
 * History: the metastore's query_history table; background queries are
 * also tracked in memory while they run.  A query found QUEUED or RUNNING
 * when the service opens was cut off by a restart: it is marked FAILED.
 *
 * Writing tables: CREATE TABLE db.name [PARTITION BY (cols)] AS <query>,
 * INSERT INTO db.name <query> and DROP TABLE db.name (write.h), in the
 * warehouse zones (stage, cleanse, core, mart), by admins and holders of a
 * write grant on the zone, and in each user's own sandbox.  Tables are Parquet (zstd) under the zone's folder, key=value
 * folders for PARTITION BY; the table is crawled before the answer, which
 * is one row (table, operation, rows, files).
 *
 * Threads: every function may be called from any thread; qservice_run
 * blocks for the query, the others return at once.
 */
#ifndef TN_SERVICE_H
#define TN_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

struct buf;
struct audit;
struct policy;
struct catalog;
struct meta;
struct store;
struct qservice;

#define QUERY_ID_LEN 36

/* Background queries tracked at once; past it qservice_start says TN_EAGAIN. */
#define QSERVICE_MAX_ASYNC 64u

/*
 * Opens the service over the engine, the store, the metastore (history)
 * the catalog (table writes), the audit trail (one event per query, may
 * be NULL) and the policy (write grants; NULL: admins only), all borrowed.
 */
int qservice_open(struct query_engine *e, struct store *s, struct meta *m, struct catalog *c,
		  struct audit *audit, struct policy *policy, struct qservice **out, char *err);
/* Cancels background queries, waits for them, frees.  Accepts NULL. */
void qservice_close(struct qservice *q);

enum qstate { QSTATE_QUEUED, QSTATE_RUNNING, QSTATE_SUCCEEDED, QSTATE_FAILED, QSTATE_CANCELLED };
const char *qstate_name(enum qstate s);

struct qinfo {
	char id[QUERY_ID_LEN + 1];
	char *user;
	char *sql;
	enum qstate state;
	bool async;
	int64_t submitted_ms, finished_ms;  /* wall clock; finished 0 while running */
	struct query_stats stats;
	double total_ms;                    /* from submission to the end, result file included */
	int error_rc;                       /* TN code of a failure, 0 */
	char *error;                        /* "" if none */
	char *result_key;                   /* "" if no result file */
	uint64_t result_bytes;
	char *columns;                      /* JSON [{"name","type"}...] ("[]" before known) */
	/*
	 * What ran, as PostgreSQL's command tag names it (qservice_exec fills
	 * it, also on failure and in describe runs; "" from history):
	 *   "SELECT"           a read (also VALUES, FROM-first, set operations),
	 *                      and CREATE TABLE ... AS (PostgreSQL tags it SELECT n)
	 *   "EXPLAIN"          EXPLAIN [ANALYZE]
	 *   "INSERT"           INSERT INTO ... <query>
	 *   "CREATE TABLE AS"  CREATE TABLE IF NOT EXISTS of a table that exists
	 *   "DROP TABLE"       DROP TABLE [IF EXISTS]
	 * affected: rows returned (SELECT, EXPLAIN) or written (CREATE, INSERT);
	 * 0 otherwise.  A session prints the tag as PostgreSQL does:
	 * "SELECT <affected>", "INSERT 0 <affected>", else command as is.
	 */
	char command[24];
	uint64_t affected;
};
void qinfo_release(struct qinfo *i);
/* Appends the info as one JSON object (GET /v1/queries/{id}). */
int qinfo_json(const struct qinfo *i, struct buf *out);

/* Who asks: a user sees their own queries, an admin every query. */
struct qwho {
	const char *user;
	bool admin;
};

/*
 * Runs a query now, as who: rows go to the result file and to sink (may be
 * NULL), then the history row is written.  info (released by the caller)
 * is filled whatever the outcome.  Returns what query_run returned, or the
 * store's code if the result file could not be written.
 */
int qservice_run(struct qservice *q, const struct qwho *who, const char *sql, int64_t timeout_ms,
		 const struct query_sink *sink, struct qinfo *info, char *err);

/* How qservice_exec runs a statement; zeros are the REST API's defaults. */
struct qservice_opts {
	int64_t timeout_ms;              /* 0: the engine's default; else min(this, default) */
	struct query_ctl *ctl;           /* cancel handle, may be NULL (borrowed) */
	const struct query_param *params;  /* values of $1..$n (query.h), borrowed */
	size_t nparams;
	bool no_result_file;             /* rows go only to the sink: no CSV in the transient zone */
	/*
	 * Guard, catalog, grants, views and prepare as for a run, then the
	 * sink's params() and columns() (query.h) and nothing else: no rows, no
	 * result file, no history, no audit.  A CREATE / INSERT describes its
	 * query's parameters; a write's answer columns are described unless
	 * write_no_rows (then columns() is not called: PostgreSQL's NoData).
	 */
	bool describe_only;
	/*
	 * A CREATE / INSERT / DROP sends nothing to the sink (neither
	 * columns() nor row()); info->command and info->affected tell the
	 * outcome.  Reads are unaffected.
	 */
	bool write_no_rows;
	const char *via;                 /* "pg", "rest", ...: recorded in the audit; NULL: "rest" */
};

/*
 * Runs sql now as who, as o says (NULL: defaults, as qservice_run): a
 * history row and an audit event (with "via") per statement, as for any
 * query, except in describe runs.  info (released by the caller) is filled
 * whatever the outcome, info->stats.sqlstate included on failure.  Returns
 * what query_run returned, or the store's code if the result file could
 * not be written.  Blocks for the query; any thread.
 */
int qservice_exec(struct qservice *q, const struct qwho *who, const char *sql,
		  const struct qservice_opts *o, const struct query_sink *sink, struct qinfo *info,
		  char *err);

/* Starts a query in the background; id receives its id.  TN_EAGAIN past QSERVICE_MAX_ASYNC. */
int qservice_start(struct qservice *q, const struct qwho *who, const char *sql,
		   int64_t timeout_ms, char id[QUERY_ID_LEN + 1], char *err);

/* A query's state.  TN_ENOTFOUND for an unknown id or another user's query. */
int qservice_get(struct qservice *q, const struct qwho *who, const char *id, struct qinfo *out,
		 char *err);

/* Cancels a queued or running query.  TN_ECONFLICT once it has finished. */
int qservice_cancel(struct qservice *q, const struct qwho *who, const char *id, char *err);

struct qinfo_list {
	struct qinfo *v;
	size_t n;
};
/* Newest first, at most limit (<= 1000); an admin's list holds everyone's. */
int qservice_list(struct qservice *q, const struct qwho *who, size_t limit,
		  struct qinfo_list *out, char *err);
void qinfo_list_release(struct qinfo_list *l);

/*
 * Reads a page of a finished query's result: up to max_rows rows from
 * byte offset *token of the result file (0 = the first row), handing
 * columns then rows to sink; *token becomes the offset of the next page,
 * or 0 when the result is exhausted.  TN_ECONFLICT while the query is not
 * SUCCEEDED; TN_EINVAL for a token that is not a row boundary.
 */
int qservice_results(struct qservice *q, const struct qwho *who, const char *id,
		     uint64_t *token, size_t max_rows, const struct query_sink *sink, char *err);

#endif

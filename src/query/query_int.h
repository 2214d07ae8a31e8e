/*
 * query_int.h - internals shared by query.c (the engine, running) and
 * views.c (views, pruning, secured views); nothing else includes it.
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
struct guard_result;

/* Views a connection remembers; past it the memory is cleared (views are rebuilt). */
#define QUERY_VIEW_CACHE 256u
/* How often the watchdog looks at deadlines and cancels. */
#define QUERY_WATCH_MS 50

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

#endif

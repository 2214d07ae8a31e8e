/*
 * query.c - the query engine: the guard, the catalog, views, DuckDB.
 *
 * Design.  One in-memory DuckDB per lake, opened with extension
 * autoloading off and spilling into .tarn/duckdb-tmp.  Each pooled
 * connection attaches its own in-memory database "q<i>" and makes it its
 * default (USE), with one schema per database name and alias (raw, bronze,
 * master, ...): a table reference `raw.immunizations` in a user's SQL
 * resolves to the view q<i>.raw.immunizations of the connection it runs
 * on, so concurrent queries with different file sets never see each
 * other's views.  Once every connection is set up the engine turns
 * external access off (files only under the zone folders, through
 * allowed_directories) and locks the configuration.  Users cannot reach
 * another connection's database: the guard refuses catalog-qualified
 * names, ATTACH, USE and every statement that is not a query.
 *
 * Views.  A view is rebuilt only when its SQL text changes (new files,
 * a new schema version, other partitions kept): each connection remembers
 * a hash of the SQL of the views it holds.  A partitioned table's view is
 * one read over its files with each row's file index, and the partition
 * values come from constant lists indexed by it (see view_sql).  The
 * engine's own pruning (the guard's predicates, evaluated on the catalog's
 * partition values) leaves the files of other partitions out of the view,
 * so they are never opened.  (A UNION ALL of one read per partition, with
 * the values as constants, was measured first: 120 partitions cost over
 * 100 ms of planning per query and scans ran 1.2-1.8x slower than one
 * read, as each branch is its own pipeline.)
 *
 * Results.  After preparing the user's statement (which gives its
 * errors, with positions in the user's text, and its column types), the
 * engine prepares `SELECT CAST(#1 AS VARCHAR), ... FROM (<sql>) q` so that
 * DuckDB renders every value (nested ones through to_json), and streams
 * chunks of the result to the sink.  DuckDB keeps the order of an ORDER BY
 * in a subquery under a projection.
 *
 * Deadlines and cancel.  A watchdog thread interrupts (duckdb_interrupt)
 * the connection of a query whose deadline passed or whose ctl was
 * canceled; query_cancel also interrupts at once.
 *
 * Invariants: a connection is used by one query at a time (the pool);
 * e->mu guards the pool, the slots' running state and the queue; a ctl's
 * mutex guards its link to the slot running it.
 */
#include "query/query.h"

#include <ctype.h>
#include <duckdb.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "query/guard.h"
#include "query/result.h"
#include "store/store.h"
#include "core/banned.h"

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

/* ---- small helpers ---- */

static double ms_since(int64_t t0_ns)
{
	return (double)(time_mono_ns() - t0_ns) / 1e6;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void sql_ident(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void sql_str(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_putc(b, '\'');
		buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

static int exec(duckdb_connection con, const char *sql, char *err)
{
	duckdb_result r;
	int rc = 0;
	if (duckdb_query(con, sql, &r) != DuckDBSuccess)
		rc = tn_fail(err, TN_EINTERNAL, "query engine: duckdb: %.300s (running: %.120s)",
			     duckdb_result_error(&r), sql);
	duckdb_destroy_result(&r);
	return rc;
}

/* ---- cancel handles ---- */

struct query_ctl *query_ctl_new(void)
{
	struct query_ctl *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	atomic_init(&c->canceled, false);
	return c;
}

void query_ctl_free(struct query_ctl *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void query_cancel(struct query_ctl *c)
{
	if (!c)
		return;
	atomic_store(&c->canceled, true);
	pthread_mutex_lock(&c->mu);
	if (c->slot)
		duckdb_interrupt(c->slot->con);
	if (c->e) {
		pthread_mutex_lock(&c->e->mu);
		pthread_cond_broadcast(&c->e->cv);
		pthread_mutex_unlock(&c->e->mu);
	}
	pthread_mutex_unlock(&c->mu);
}

/* ---- the engine ---- */

/*
 * Every QUERY_WATCH_MS: a busy slot whose query was canceled or passed its
 * deadline (or the engine is closing) gets a reason and an interrupt.  The
 * interrupt is repeated on every tick while the slot stays busy: DuckDB
 * drops an interrupt that arrives between statements (while the engine
 * builds views or prepares), so one signal is not enough.
 */
static void *watchdog_main(void *arg)
{
	struct query_engine *e = arg;
	pthread_mutex_lock(&e->mu);
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i < e->nslots; i++)
			busy |= e->slots[i].busy;
		if (e->closing && !busy && e->active == 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += QUERY_WATCH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->watch_cv, &e->mu, &ts);
		int64_t now = time_mono_ns();
		for (unsigned i = 0; i < e->nslots; i++) {
			struct slot *s = &e->slots[i];
			if (!s->busy)
				continue;
			int why = atomic_load(&s->interrupted);
			if (!why) {
				if (s->ctl && atomic_load(&s->ctl->canceled))
					why = TN_ECANCELED;
				else if (s->deadline_ns && now > s->deadline_ns)
					why = TN_ETIMEDOUT;
				else if (e->closing)
					why = TN_ECANCELED;
				atomic_store(&s->interrupted, why);
			}
			if (why)
				duckdb_interrupt(s->con);
		}
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Schemas every connection holds: each database name and alias. */
static const char *const view_schemas[] = {
	"raw", "transient", "master", "drop", "sandbox", "log", "stage", "cleanse", "core",
	"mart", "references", "bronze", "silver", "gold",
};

static int setup_slot(struct query_engine *e, struct slot *s, char *err)
{
	char sql[128];
	int rc;
	if (duckdb_connect(e->db, &s->con) != DuckDBSuccess)
		return tn_fail(err, TN_EINTERNAL, "query engine: duckdb: cannot connect");
	snprintf(sql, sizeof sql, "ATTACH ':memory:' AS q%u", s->index);
	if ((rc = exec(s->con, sql, err)))
		return rc;
	snprintf(sql, sizeof sql, "USE q%u", s->index);
	if ((rc = exec(s->con, sql, err)))
		return rc;
	for (size_t i = 0; i < sizeof view_schemas / sizeof view_schemas[0]; i++) {
		struct buf b = BUF_INIT(0);
		buf_puts(&b, "CREATE SCHEMA ");
		sql_ident(&b, view_schemas[i]);
		rc = exec(s->con, b.data, err);
		buf_release(&b);
		if (rc)
			return rc;
	}
	return 0;
}

/* Locks the engine down: files only under the zones, no configuration changes. */
static int lock_down(struct query_engine *e, char *err)
{
	struct buf b = BUF_INIT(0);
	int rc;
	buf_puts(&b, "SET allowed_directories = [");
	for (int z = 0; z < ZONE_COUNT; z++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%s/", store_root(e->store), store_zone_dir(e->store, z));
		if (z)
			buf_puts(&b, ", ");
		sql_str(&b, dir);
	}
	buf_puts(&b, "]");
	duckdb_connection con = e->slots[0].con;
	rc = exec(con, b.data, err);
	buf_release(&b);
	if (rc == 0)
		rc = exec(con, "SET enable_external_access = false", err);
	if (rc == 0)
		rc = exec(con, "SET lock_configuration = true", err);
	return rc;
}

int query_engine_open(struct store *s, struct catalog *c, const struct query_limits *lim,
		      struct query_engine **out, char *err)
{
	struct query_engine *e = xcalloc(1, sizeof *e);
	duckdb_config cfg = NULL;
	char *oerr = NULL, num[64], tmp[4096];
	int rc = 0;
	*out = NULL;
	e->store = s;
	e->catalog = c;
	e->lim = *lim;
	if (e->lim.max_running == 0)
		e->lim.max_running = 1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	pthread_cond_init(&e->watch_cv, NULL);

	snprintf(tmp, sizeof tmp, "%s/.tarn/duckdb-tmp", store_root(s));
	if (duckdb_create_config(&cfg) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "query engine: duckdb: cannot create a configuration");
		goto fail;
	}
	snprintf(num, sizeof num, "%lldB", (long long)e->lim.memory_bytes);
	if (duckdb_set_config(cfg, "autoinstall_known_extensions", "false") != DuckDBSuccess ||
	    duckdb_set_config(cfg, "autoload_known_extensions", "false") != DuckDBSuccess ||
	    duckdb_set_config(cfg, "temp_directory", tmp) != DuckDBSuccess ||
	    (e->lim.memory_bytes > 0 &&
	     duckdb_set_config(cfg, "memory_limit", num) != DuckDBSuccess)) {
		rc = tn_fail(err, TN_EINTERNAL, "query engine: duckdb: cannot set the configuration");
		goto fail;
	}
	if (e->lim.threads > 0) {
		snprintf(num, sizeof num, "%u", e->lim.threads);
		if (duckdb_set_config(cfg, "threads", num) != DuckDBSuccess) {
			rc = tn_fail(err, TN_EINVAL, "query engine: duckdb: bad thread count %u",
				     e->lim.threads);
			goto fail;
		}
	}
	if (duckdb_open_ext(NULL, &e->db, cfg, &oerr) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "query engine: duckdb: cannot open: %.300s",
			     oerr ? oerr : "unknown error");
		goto fail;
	}
	if ((rc = guard_new(&e->guard, err)))
		goto fail;
	e->nslots = e->lim.max_running;
	e->slots = xcalloc(e->nslots, sizeof *e->slots);
	for (unsigned i = 0; i < e->nslots; i++) {
		e->slots[i].index = i;
		if ((rc = setup_slot(e, &e->slots[i], err)))
			goto fail;
	}
	if ((rc = lock_down(e, err)))
		goto fail;
	if (pthread_create(&e->watchdog, NULL, watchdog_main, e) != 0) {
		rc = tn_fail(err, TN_EINTERNAL, "query engine: cannot start the watchdog thread");
		goto fail;
	}
	e->watchdog_started = true;
	duckdb_destroy_config(&cfg);
	*out = e;
	return 0;
fail:
	if (oerr)
		duckdb_free(oerr);
	if (cfg)
		duckdb_destroy_config(&cfg);
	query_engine_close(e);
	return rc;
}

void query_engine_close(struct query_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->closing = true;
	pthread_cond_broadcast(&e->cv);
	pthread_cond_broadcast(&e->watch_cv);
	/* Running queries get interrupted by the watchdog; wait for them and the queue. */
	for (;;) {
		bool busy = e->queued > 0 || e->active > 0;
		for (unsigned i = 0; i < e->nslots; i++)
			busy |= e->slots[i].busy;
		if (!busy)
			break;
		if (!e->watchdog_started)
			break;
		pthread_cond_wait(&e->cv, &e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	if (e->watchdog_started)
		pthread_join(e->watchdog, NULL);
	for (unsigned i = 0; i < e->nslots; i++) {
		struct slot *s = &e->slots[i];
		for (size_t k = 0; k < s->nviews; k++)
			free(s->views[k].name);
		free(s->views);
		if (s->con)
			duckdb_disconnect(&s->con);
	}
	free(e->slots);
	guard_free(e->guard);
	if (e->db)
		duckdb_close(&e->db);
	pthread_cond_destroy(&e->watch_cv);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* ---- the pool ---- */

static bool ctl_canceled(const struct query_ctl *c)
{
	return c && atomic_load(&c->canceled);
}

/* Waits for a free connection until deadline (0: none). */
static int acquire(struct query_engine *e, const struct query_req *q, int64_t deadline_ns,
		   struct slot **out, char *err)
{
	int rc = 0;
	*out = NULL;
	pthread_mutex_lock(&e->mu);
	bool waiting = false;
	for (;;) {
		if (e->closing) {
			rc = tn_fail(err, TN_EAGAIN, "the query engine is shutting down");
			break;
		}
		if (ctl_canceled(q->ctl)) {
			rc = tn_fail(err, TN_ECANCELED, "query canceled while queued");
			break;
		}
		for (unsigned i = 0; i < e->nslots && !*out; i++)
			if (!e->slots[i].busy)
				*out = &e->slots[i];
		if (*out)
			break;
		if (!waiting) {
			if (e->queued >= e->lim.max_queued) {
				rc = tn_fail(err, TN_EAGAIN,
					     "too many queries: %u running and %u queued; retry later",
					     e->nslots, e->queued);
				break;
			}
			e->queued++;
			waiting = true;
		}
		if (deadline_ns && time_mono_ns() >= deadline_ns) {
			rc = tn_fail(err, TN_ETIMEDOUT, "query timed out while queued");
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
	if (waiting) {
		e->queued--;
		pthread_cond_broadcast(&e->cv);  /* query_engine_close waits for the queue */
	}
	if (*out) {
		struct slot *s = *out;
		s->busy = true;
		s->deadline_ns = deadline_ns;
		s->ctl = q->ctl;
		atomic_store(&s->interrupted, 0);
	}
	pthread_mutex_unlock(&e->mu);
	if (*out && q->ctl) {
		pthread_mutex_lock(&q->ctl->mu);
		q->ctl->slot = *out;
		pthread_mutex_unlock(&q->ctl->mu);
		if (ctl_canceled(q->ctl))
			duckdb_interrupt((*out)->con);
	}
	return rc;
}

static void release(struct query_engine *e, const struct query_req *q, struct slot *s)
{
	if (q->ctl) {
		pthread_mutex_lock(&q->ctl->mu);
		q->ctl->slot = NULL;
		pthread_mutex_unlock(&q->ctl->mu);
	}
	pthread_mutex_lock(&e->mu);
	s->busy = false;
	s->ctl = NULL;
	s->deadline_ns = 0;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* ---- partition pruning ---- */

/* An integer literal as DuckDB would read it exactly: [+-]digits, within int64. */
static bool exact_int(const char *t, long long *out)
{
	char *end;
	if (!*t || strspn(t + (*t == '-' || *t == '+'), "0123456789") != strlen(t + (*t == '-' || *t == '+')))
		return false;
	errno = 0;
	*out = strtoll(t, &end, 10);
	return !errno && !*end;
}

/*
 * -1, 0, 1 comparing partition value v with constant c as DuckDB would;
 * 2 when tarn cannot tell how DuckDB compares them (then the file is kept).
 */
static int cmp_value(const struct cat_partition_key *k, const char *v, const struct guard_const *c)
{
	bool numeric = strcmp(k->type, "VARCHAR") != 0;
	if (numeric) {
		long long a, b;
		if (!exact_int(v, &a))
			return 2;
		if (exact_int(c->text, &b))
			return a < b ? -1 : a > b;
		if (!c->number)
			return 2;  /* '2024.5' against an integer: DuckDB casts and rounds */
		char *end;
		errno = 0;
		double d = strtod(c->text, &end);
		if (end == c->text || *end || errno || d > 9007199254740992.0 ||
		    d < -9007199254740992.0 || a > (1ll << 53) || a < -(1ll << 53))
			return 2;
		return (double)a < d ? -1 : (double)a > d;
	}
	if (c->number)
		return 2;  /* VARCHAR = 5: DuckDB decides the cast; keep */
	int r = strcmp(v, c->text);
	return r < 0 ? -1 : r > 0;
}

/* Does partition value v (NULL = SQL NULL) pass p?  Unknown -> true. */
static bool pred_holds(const struct cat_partition_key *k, const char *v, const struct guard_pred *p)
{
	if (!v)
		return false;  /* every guard comparison is false on NULL */
	int r;
	switch (p->op) {
	case GUARD_IN:
		for (size_t i = 0; i < p->nvals; i++) {
			r = cmp_value(k, v, &p->vals[i]);
			if (r == 0 || r == 2)
				return true;
		}
		return false;
	case GUARD_BETWEEN: {
		int lo = cmp_value(k, v, &p->vals[0]), hi = cmp_value(k, v, &p->vals[1]);
		if (lo == 2 || hi == 2)
			return true;
		return lo >= 0 && hi <= 0;
	}
	default:
		break;
	}
	r = cmp_value(k, v, &p->vals[0]);
	if (r == 2)
		return true;
	switch (p->op) {
	case GUARD_EQ: return r == 0;
	case GUARD_NE: return r != 0;
	case GUARD_LT: return r < 0;
	case GUARD_LE: return r <= 0;
	case GUARD_GT: return r > 0;
	case GUARD_GE: return r >= 0;
	default: return true;
	}
}

/* cat_partition_fn: keeps a partition some reference of the table may need. */
static bool keep_partition(void *arg, const struct cat_table *t, const char *const *vals)
{
	const struct guard_table *gt = arg;
	for (size_t r = 0; r < gt->nrefs; r++) {
		const struct guard_ref *ref = &gt->refs[r];
		bool ok = true;
		for (size_t i = 0; i < ref->npreds && ok; i++)
			for (size_t k = 0; k < t->npkeys && ok; k++)
				if (!strcasecmp(t->pkeys[k].name, ref->preds[i].column))
					ok = pred_holds(&t->pkeys[k], vals[k], &ref->preds[i]);
		if (ok)
			return true;
	}
	return false;
}

static bool refs_filter(const struct guard_table *gt)
{
	for (size_t r = 0; r < gt->nrefs; r++)
		if (gt->refs[r].npreds == 0)
			return false;
	return gt->nrefs > 0;
}

/* ---- views ---- */

/* A typed empty SELECT with the table's columns (a table without files). */
static void empty_view(const struct cat_table *t, struct buf *b)
{
	bool first = true;
	buf_puts(b, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->cols[i].depth)
			continue;
		buf_puts(b, first ? "" : ", ");
		first = false;
		buf_puts(b, "CAST(NULL AS ");
		buf_puts(b, t->cols[i].type);
		buf_puts(b, ") AS ");
		sql_ident(b, t->cols[i].name);
	}
	if (first)
		buf_puts(b, "NULL AS \"_\"");
	buf_puts(b, " LIMIT 0");
}

/* Column names the views use internally (not visible: excluded by the outer SELECT). */
#define VIEW_FILE_COL "__tarn_file"

/*
 * The view SQL of table t over files (kept by pruning).  A partitioned
 * table is one read over all its files (so DuckDB spreads the files over
 * its threads) with each row's file index, and each partition value is an
 * element of a constant list indexed by it: a list access per row.  (A
 * MAP keyed by the file's folder cost 25% more on a GROUP BY over a
 * partition column; one read per partition, a UNION ALL, far more.)
 */
static int view_sql(struct query_engine *e, const struct cat_table *t,
		    const struct cat_file_list *fl, struct buf *b, char *err)
{
	const char *root = store_root(e->store);
	if (fl->n == 0) {
		empty_view(t, b);
		return 0;
	}
	if (t->npkeys == 0)
		return catalog_scan_sql(t, root, fl->v, fl->n, NULL, b, err);
	buf_puts(b, "SELECT * EXCLUDE (\"" VIEW_FILE_COL "\")");
	for (size_t k = 0; k < t->npkeys; k++) {
		buf_puts(b, ", CAST([");
		for (size_t i = 0; i < fl->n; i++) {
			const char *v = fl->v[i].pvals[k];
			buf_puts(b, i ? ", " : "");
			if (v)
				sql_str(b, v);
			else
				buf_puts(b, "NULL");
		}
		buf_puts(b, "][\"" VIEW_FILE_COL "\" + 1] AS ");
		buf_puts(b, t->pkeys[k].type);
		buf_puts(b, ") AS ");
		sql_ident(b, t->pkeys[k].name);
	}
	buf_puts(b, " FROM (");
	int rc = catalog_scan_sql(t, root, fl->v, fl->n, VIEW_FILE_COL, b, err);
	buf_puts(b, ")");
	return rc;
}

/* Creates (or keeps) the view schema.name on slot s with the given SQL. */
static int put_view(struct slot *s, const char *schema, const char *name, const struct buf *sql,
		    char *err)
{
	char key[512];
	snprintf(key, sizeof key, "%s.%s", schema, name);
	for (char *p = key; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	uint64_t h = fnv1a(sql->data, sql->len);
	struct view_memo *m = NULL;
	for (size_t i = 0; i < s->nviews && !m; i++)
		if (!strcmp(s->views[i].name, key))
			m = &s->views[i];
	if (m && m->hash == h)
		return 0;
	struct buf b = BUF_INIT(0);
	buf_puts(&b, "CREATE OR REPLACE VIEW ");
	sql_ident(&b, schema);
	buf_putc(&b, '.');
	sql_ident(&b, name);
	buf_puts(&b, " AS ");
	buf_append(&b, sql->data, sql->len);
	duckdb_result r;
	int rc = 0;
	if (duckdb_query(s->con, b.data, &r) != DuckDBSuccess)
		rc = tn_fail(err, TN_EINTERNAL, "table '%s.%s': cannot build its view: %.300s", schema,
			     name, duckdb_result_error(&r));
	duckdb_destroy_result(&r);
	buf_release(&b);
	if (rc) {
		if (m)
			m->hash = 0;
		return rc;
	}
	if (!m) {
		if (s->nviews >= QUERY_VIEW_CACHE) {
			for (size_t i = 0; i < s->nviews; i++)
				free(s->views[i].name);
			s->nviews = 0;
		}
		s->views = xrealloc(s->views, (s->nviews + 1) * sizeof *s->views);
		m = &s->views[s->nviews++];
		m->name = xstrdup(key);
	}
	m->hash = h;
	return 0;
}

/* Edit distance of two short strings, case-insensitive (for suggestions). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 128 || lb > 128)
		return 1000;
	size_t prev[129], cur[129];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			char x = a[i - 1], y = b[j - 1];
			if (x >= 'A' && x <= 'Z')
				x = (char)(x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (char)(y - 'A' + 'a');
			size_t best = prev[j - 1] + (x != y);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb];
}

struct suggestion {
	size_t dist;
	size_t index;
};

static int cmp_suggestion(const void *a, const void *b)
{
	const struct suggestion *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* "table 'raw.immunisations' is not in the catalog; did you mean raw.immunizations?" */
static int unknown_table(struct query_engine *e, const char *db, const char *name, char *err)
{
	struct cat_table_list l;
	char ask[300], dummy[TN_ERRLEN];
	snprintf(ask, sizeof ask, "%s%s%s", db ? db : "", db ? "." : "", name);
	struct buf hint = BUF_INIT(0);
	if (catalog_tables(e->catalog, NULL, &l, dummy) == 0) {
		struct suggestion *sg = xcalloc(l.n ? l.n : 1, sizeof *sg);
		size_t n = 0, limit = strlen(ask) / 3 + 2;
		for (size_t i = 0; i < l.n; i++) {
			char full[300];
			snprintf(full, sizeof full, "%s.%s", l.v[i].db, l.v[i].name);
			size_t d = db ? edit_distance(ask, full) : edit_distance(name, l.v[i].name);
			if (d <= limit)
				sg[n++] = (struct suggestion){ d, i };
		}
		qsort(sg, n, sizeof *sg, cmp_suggestion);
		for (size_t k = 0; k < n && k < 3; k++)
			buf_printf(&hint, "%s%s.%s", k ? ", " : "", l.v[sg[k].index].db,
				   l.v[sg[k].index].name);
		free(sg);
		cat_table_list_release(&l);
	}
	int rc;
	if (hint.len)
		rc = tn_fail(err, TN_ENOTFOUND,
			     "table '%.200s' is not in the catalog; did you mean %.200s?", ask,
			     hint.data);
	else
		rc = tn_fail(err, TN_ENOTFOUND,
			     "table '%.200s' is not in the catalog (see tarn tables)", ask);
	buf_release(&hint);
	return rc;
}

/*
 * Finds the catalog table of a reference.  An unqualified name is looked
 * for in every database and must be unique.
 */
static int resolve(struct query_engine *e, const struct guard_table *gt, const char *user,
		   struct cat_table *t, char *err)
{
	char dummy[TN_ERRLEN], db[64];
	if (gt->db) {
		/* SQL folds the case of names: RAW.t is raw.t */
		snprintf(db, sizeof db, "%s", gt->db);
		for (char *p = db; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		int z = zone_by_name(db);
		if (z < 0)
			return tn_fail(err, TN_ENOTFOUND,
				       "database '%.100s' does not exist (databases are the zones: "
				       "raw, transient, master, drop, sandbox, log, stage, cleanse, "
				       "core, mart, references; aliases bronze, silver, gold)",
				       gt->db);
		/* sandbox.t is the user's own table "<user>/t" */
		if (z == ZONE_SANDBOX && user && !strchr(gt->name, '/')) {
			char own[300];
			snprintf(own, sizeof own, "%s/%s", user, gt->name);
			if (catalog_table_get(e->catalog, db, own, t, dummy) == 0)
				return 0;
		}
		if (catalog_table_get(e->catalog, db, gt->name, t, dummy) == 0)
			return 0;
		return unknown_table(e, db, gt->name, err);
	}
	struct cat_table_list l;
	int rc = catalog_tables(e->catalog, NULL, &l, err);
	if (rc)
		return rc;
	const char *found_db = NULL;
	size_t hits = 0;
	struct buf names = BUF_INIT(0);
	for (size_t i = 0; i < l.n; i++)
		if (!strcasecmp(l.v[i].name, gt->name)) {
			hits++;
			found_db = l.v[i].db;
			buf_printf(&names, "%s%s.%s", hits > 1 ? ", " : "", l.v[i].db, l.v[i].name);
		}
	if (hits == 1) {
		snprintf(db, sizeof db, "%s", found_db);
		rc = catalog_table_get(e->catalog, db, gt->name, t, err);
	} else if (hits > 1) {
		rc = tn_fail(err, TN_EINVAL, "table name '%.100s' is ambiguous: qualify it (%.300s)",
			     gt->name, names.data);
	}
	buf_release(&names);
	cat_table_list_release(&l);
	if (hits == 0)
		return unknown_table(e, NULL, gt->name, err);
	return rc;
}

/* Builds the view of every table the statement reads on slot s. */
static int build_views(struct query_engine *e, struct slot *s, const struct guard_result *g,
		       const char *user, bool admin, struct query_stats *st, char *err)
{
	int rc = 0;
	for (size_t i = 0; i < g->ntables && rc == 0; i++) {
		const struct guard_table *gt = &g->tables[i];
		struct cat_table t;
		struct cat_file_list all, kept;
		memset(&kept, 0, sizeof kept);
		memset(&all, 0, sizeof all);
		if ((rc = resolve(e, gt, user, &t, err)))
			break;
		/* deny by default: a user reads the tables of their own sandbox only */
		size_t ul = user ? strlen(user) : 0;
		if (!admin && !(strcmp(t.db, "sandbox") == 0 && ul && !strncmp(t.name, user, ul) &&
				t.name[ul] == '/')) {
			rc = tn_fail(err, TN_EDENIED, "user '%s' has no grant to read table '%s.%s'",
				     user ? user : "", t.db, t.name);
			cat_table_release(&t);
			break;
		}
		bool filter = t.npkeys > 0 && refs_filter(gt);
		rc = catalog_table_files(e->catalog, &t, filter ? keep_partition : NULL, (void *)gt,
					 &kept, err);
		if (rc == 0 && filter && (rc = catalog_table_files(e->catalog, &t, NULL, NULL, &all,
								   err)) == 0)
			st->files_pruned += all.n - kept.n;
		if (rc == 0) {
			struct buf sql = BUF_INIT(0);
			st->files += kept.n;
			for (size_t k = 0; k < kept.n; k++)
				st->bytes_scanned += kept.v[k].size;
			rc = view_sql(e, &t, &kept, &sql, err);
			if (rc == 0)
				rc = put_view(s, gt->db ? gt->db : "main", gt->name, &sql, err);
			buf_release(&sql);
		}
		st->tables++;
		cat_file_list_release(&all);
		cat_file_list_release(&kept);
		cat_table_release(&t);
	}
	return rc;
}

/* ---- running ---- */

/*
 * The byte offset in sql of a DuckDB error, from the "LINE n: excerpt"
 * and caret lines of its message; -1 if the message has none.
 */
static long error_position(const char *sql, const char *msg)
{
	const char *l = strstr(msg, "\nLINE ");
	if (!l)
		return -1;
	char *end;
	long line = strtol(l + 6, &end, 10);
	if (line < 1 || *end != ':' || end[1] != ' ')
		return -1;
	const char *ex = end + 2, *ex_end = strchr(ex, '\n');
	if (!ex_end)
		return -1;
	const char *caret = ex_end + 1;
	size_t col = 0;
	while (caret[col] == ' ')
		col++;
	if (caret[col] != '^')
		return -1;
	/* the caret counts from the start of "LINE n: " */
	size_t prefix = (size_t)(ex - (l + 1));
	if (col < prefix)
		return -1;
	col -= prefix;
	/* the line of sql */
	const char *p = sql;
	for (long k = 1; k < line && p; k++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	size_t exlen = (size_t)(ex_end - ex);
	size_t skip = 0;
	if (exlen > 3 && !strncmp(ex, "...", 3)) {
		ex += 3;
		exlen -= 3;
		skip = 3;
	}
	if (exlen > 3 && !strncmp(ex + exlen - 3, "...", 3))
		exlen -= 3;
	const char *lend = strchr(p, '\n');
	size_t llen = lend ? (size_t)(lend - p) : strlen(p);
	for (size_t off = 0; off + exlen <= llen; off++)
		if (!strncmp(p + off, ex, exlen)) {
			if (col < skip)
				return -1;
			long pos = (long)(p - sql) + (long)off + (long)(col - skip);
			return pos <= (long)strlen(sql) ? pos : -1;
		}
	return -1;
}

/* Past a block comment at p ("/" "*"), nested as DuckDB's lexer nests them. */
static const char *skip_block_comment(const char *p)
{
	int depth = 0;
	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			depth++;
			p += 2;
		} else if (p[0] == '*' && p[1] == '/') {
			p += 2;
			if (--depth == 0)
				return p;
		} else {
			p++;
		}
	}
	return p;
}

/* Past a quoted token at p: '...', "...", E'...' (backslash escapes), $tag$...$tag$. */
static const char *skip_quoted(const char *sql, const char *p)
{
	char c = *p;
	if (c == '$') {
		const char *t = p + 1;
		while ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || *t == '_' ||
		       (t > p + 1 && *t >= '0' && *t <= '9'))
			t++;
		if (*t != '$')
			return p + 1;   /* a parameter like $1, not a dollar quote */
		size_t taglen = (size_t)(t - p) + 1;
		const char *end = p + taglen;
		for (; *end; end++)
			if (!strncmp(end, p, taglen))
				return end + taglen;
		return end;
	}
	bool backslash = c == '\'' && p > sql && (p[-1] == 'e' || p[-1] == 'E') &&
			 (p - 1 == sql || !(isalnum((unsigned char)p[-2]) || p[-2] == '_'));
	const char *q = p + 1;
	while (*q) {
		if (backslash && *q == '\\' && q[1]) {
			q += 2;
			continue;
		}
		if (*q == c) {
			if (q[1] == c) {
				q += 2;
				continue;
			}
			return q + 1;
		}
		q++;
	}
	return q;
}

/*
 * Length of sql without trailing whitespace, comments and one final ';',
 * lexed as DuckDB does (strings of every kind, quoted names, nested
 * comments), so that the wrapper and COPY put their text after the
 * statement, never inside one of its strings.  A wrong cut cannot change
 * what runs: the wrapped text is prepared as one statement (and a COPY
 * checked to be one).
 */
static size_t trimmed_len(const char *sql)
{
	size_t last = 0, semi = (size_t)-1;  /* end of the last token; a ';' ending it */
	const char *p = sql;
	while (*p) {
		char c = *p;
		if (c == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (c == '/' && p[1] == '*') {
			p = skip_block_comment(p);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			p++;
			continue;
		}
		if (c == '\'' || c == '"' || c == '$') {
			p = skip_quoted(sql, p);
			last = (size_t)(p - sql);
			semi = (size_t)-1;
			continue;
		}
		semi = c == ';' ? (size_t)(p - sql) : (size_t)-1;
		p++;
		last = (size_t)(p - sql);
	}
	return semi != (size_t)-1 ? semi : last;
}

static const char *type_name(duckdb_logical_type lt, char *buf, size_t n)
{
	duckdb_type id = duckdb_get_type_id(lt);
	char *alias = duckdb_logical_type_get_alias(lt);
	if (alias) {
		snprintf(buf, n, "%s", alias);
		duckdb_free(alias);
		return buf;
	}
	switch (id) {
	case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
	case DUCKDB_TYPE_TINYINT: return "TINYINT";
	case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
	case DUCKDB_TYPE_INTEGER: return "INTEGER";
	case DUCKDB_TYPE_BIGINT: return "BIGINT";
	case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
	case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
	case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
	case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
	case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
	case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
	case DUCKDB_TYPE_FLOAT: return "FLOAT";
	case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
	case DUCKDB_TYPE_DECIMAL:
		snprintf(buf, n, "DECIMAL(%u,%u)", duckdb_decimal_width(lt), duckdb_decimal_scale(lt));
		return buf;
	case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
	case DUCKDB_TYPE_BLOB: return "BLOB";
	case DUCKDB_TYPE_DATE: return "DATE";
	case DUCKDB_TYPE_TIME: return "TIME";
	case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
	case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
	case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
	case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
	case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
	case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
	case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
	case DUCKDB_TYPE_UUID: return "UUID";
	case DUCKDB_TYPE_ENUM: return "ENUM";
	case DUCKDB_TYPE_LIST: return "LIST";
	case DUCKDB_TYPE_ARRAY: return "ARRAY";
	case DUCKDB_TYPE_STRUCT: return "STRUCT";
	case DUCKDB_TYPE_MAP: return "MAP";
	case DUCKDB_TYPE_UNION: return "UNION";
	case DUCKDB_TYPE_BIT: return "BIT";
	case DUCKDB_TYPE_BIGNUM: return "BIGNUM";
	case DUCKDB_TYPE_SQLNULL: return "NULL";
	default: return "UNKNOWN";
	}
}

/*
 * Maps a failed DuckDB call to a TN code, given why the watchdog
 * interrupted (if it did).  text is what DuckDB ran; the user's SQL is
 * text[user_off .. user_off + user_len).
 */
static int duck_error(struct slot *s, duckdb_error_type et, const char *msg, const char *text,
		      size_t user_off, size_t user_len, struct query_stats *st, char *err)
{
	int why = atomic_load(&s->interrupted);
	if (et == DUCKDB_ERROR_INTERRUPT || why) {
		if (why == TN_ETIMEDOUT)
			return tn_fail(err, TN_ETIMEDOUT, "query timed out");
		return tn_fail(err, TN_ECANCELED, "query canceled");
	}
	if (et == DUCKDB_ERROR_OUT_OF_MEMORY) {
		const char *eol = strchr(msg, '\n');
		return tn_fail(err, TN_ETOOBIG, "query ran out of memory (query.memory_limit): "
			       "%.*s; narrow the query or raise the limit",
			       eol ? (int)(eol - msg) > 300 ? 300 : (int)(eol - msg) : 300, msg);
	}
	if (et == DUCKDB_ERROR_PERMISSION)
		return tn_fail(err, TN_EDENIED, "sql: %.400s", msg);
	long pos = error_position(text, msg);
	st->error_pos = pos >= (long)user_off && pos <= (long)(user_off + user_len)
				? pos - (long)user_off : -1;
	/* the first line of DuckDB's message; the position is given apart */
	const char *nl = strchr(msg, '\n');
	int len = nl ? (int)(nl - msg) : (int)strlen(msg);
	if (len > 400)
		len = 400;
	if (st->error_pos >= 0)
		return tn_fail(err, TN_EINVAL, "sql: %.*s (at byte %ld)", len, msg, st->error_pos);
	return tn_fail(err, TN_EINVAL, "sql: %.*s", len, msg);
}

/*
 * Prepares text on s, mapping an error.  The user's SQL starts at byte
 * user_off of text (the rendering wrapper and COPY put text before it):
 * an error position is reported relative to user_sql, or -1 when it lies
 * outside it.
 */
static int prepare(struct slot *s, const char *text, size_t user_off, const char *user_sql,
		   duckdb_prepared_statement *out, struct query_stats *st, char *err)
{
	if (duckdb_prepare(s->con, text, out) == DuckDBSuccess)
		return 0;
	const char *msg = duckdb_prepare_error(*out);
	if (!msg)
		msg = "cannot prepare";
	/* prepare gives no error type: an interrupt or memory failure reads in the message */
	duckdb_error_type et = DUCKDB_ERROR_INVALID;
	if (strstr(msg, "INTERRUPT Error"))
		et = DUCKDB_ERROR_INTERRUPT;
	else if (strstr(msg, "Out of Memory Error"))
		et = DUCKDB_ERROR_OUT_OF_MEMORY;
	else if (strstr(msg, "Permission Error"))
		et = DUCKDB_ERROR_PERMISSION;
	int rc = duck_error(s, et, msg, text, user_off, strlen(user_sql), st, err);
	duckdb_destroy_prepare(out);
	return rc;
}

/* What DuckDB runs for a query: text, with the user's SQL at user_off. */
struct ran {
	const char *text;
	size_t user_off, user_len;
};

/* Turns the result's VARCHAR chunks into sink rows. */
static int stream_rows(struct slot *s, duckdb_result *res, size_t ncols,
		       const struct query_sink *sink, struct query_stats *st, const struct ran *ran,
		       char *err)
{
	struct query_value *vals = xcalloc(ncols ? ncols : 1, sizeof *vals);
	int rc = 0;
	for (;;) {
		duckdb_data_chunk ch = duckdb_fetch_chunk(*res);
		if (!ch) {
			const char *msg = duckdb_result_error(res);
			if (msg)
				rc = duck_error(s, duckdb_result_error_type(res), msg, ran->text,
						ran->user_off, ran->user_len, st, err);
			break;
		}
		idx_t n = duckdb_data_chunk_get_size(ch);
		duckdb_string_t *data[ncols ? ncols : 1];
		uint64_t *valid[ncols ? ncols : 1];
		for (size_t c = 0; c < ncols; c++) {
			duckdb_vector v = duckdb_data_chunk_get_vector(ch, c);
			data[c] = duckdb_vector_get_data(v);
			valid[c] = duckdb_vector_get_validity(v);
		}
		for (idx_t r = 0; r < n && rc == 0; r++) {
			for (size_t c = 0; c < ncols; c++) {
				if (valid[c] && !duckdb_validity_row_is_valid(valid[c], r)) {
					vals[c].p = NULL;
					vals[c].n = 0;
					continue;
				}
				duckdb_string_t *sv = &data[c][r];
				vals[c].n = duckdb_string_t_length(*sv);
				vals[c].p = duckdb_string_t_data(sv);
			}
			rc = sink->row(sink->arg, vals, ncols, err);
			if (rc == 0)
				st->rows++;
		}
		duckdb_destroy_data_chunk(&ch);
		if (rc)
			break;
	}
	free(vals);
	return rc;
}

/* Runs the prepared user statement st on s into sink. */
static int execute(struct slot *s, duckdb_prepared_statement ust, const char *user_sql,
		   const struct query_sink *sink, struct query_stats *st, char *err)
{
	size_t ncols = duckdb_prepared_statement_column_count(ust);
	struct query_column *cols = xcalloc(ncols ? ncols : 1, sizeof *cols);
	bool wrap = false;
	int rc = 0;
	for (size_t c = 0; c < ncols; c++) {
		duckdb_logical_type lt = duckdb_prepared_statement_column_logical_type(ust, c);
		char tb[64];
		const char *tn = type_name(lt, tb, sizeof tb);
		const char *name = duckdb_prepared_statement_column_name(ust, c);
		cols[c].name = xstrdup(name ? name : "");
		duckdb_free((void *)name);
		cols[c].type = xstrdup(tn);
		cols[c].kind = result_kind_of(tn);
		wrap |= duckdb_get_type_id(lt) != DUCKDB_TYPE_VARCHAR;
		duckdb_destroy_logical_type(&lt);
	}
	duckdb_prepared_statement run = ust, wst = NULL;
	struct buf b = BUF_INIT(0);
	struct ran ran = { user_sql, 0, strlen(user_sql) };
	if (wrap) {
		buf_puts(&b, "SELECT ");
		for (size_t c = 0; c < ncols; c++) {
			const char *fmt = cols[c].kind == QCOL_JSON && strcmp(cols[c].type, "JSON")
						  ? "CAST(to_json(#%zu) AS VARCHAR)"
						  : "CAST(#%zu AS VARCHAR)";
			buf_puts(&b, c ? ", " : "");
			buf_printf(&b, fmt, c + 1);
		}
		buf_puts(&b, " FROM (\n");
		ran.user_off = b.len;
		buf_append(&b, user_sql, trimmed_len(user_sql));
		buf_puts(&b, "\n) AS \"tarn_result\"");
		ran.text = b.data;
		/* duckdb_prepare takes one statement: a wrapper cut wrongly fails here */
		rc = prepare(s, b.data, ran.user_off, user_sql, &wst, st, err);
		run = wst;
	}
	if (rc == 0)
		rc = sink->columns(sink->arg, cols, ncols, err);
	if (rc == 0) {
		duckdb_result res;
		if (duckdb_execute_prepared_streaming(run, &res) != DuckDBSuccess) {
			rc = duck_error(s, duckdb_result_error_type(&res), duckdb_result_error(&res),
					ran.text, ran.user_off, ran.user_len, st, err);
		} else {
			rc = stream_rows(s, &res, ncols, sink, st, &ran, err);
		}
		duckdb_destroy_result(&res);
	}
	buf_release(&b);
	if (wst)
		duckdb_destroy_prepare(&wst);
	for (size_t c = 0; c < ncols; c++) {
		free(cols[c].name);
		free(cols[c].type);
	}
	free(cols);
	return rc;
}

/* Partition column names COPY takes: plain identifiers (they name folders). */
static bool plain_ident(const char *n)
{
	if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || n[0] == '_'))
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return false;
	return strlen(n) <= 128;
}

/*
 * Runs COPY (<the user's SELECT>) TO c->to (Parquet, zstd) on s.  The text
 * is prepared (one statement only) and must be a COPY, so that no cut of
 * the user's SQL can turn it into something else.
 */
static int copy_out(struct slot *s, const char *user_sql, const struct query_copy *c,
		    uint64_t *rows, struct query_stats *st, char *err)
{
	struct buf b = BUF_INIT(0);
	duckdb_prepared_statement ps = NULL;
	duckdb_result r;
	int rc = 0;
	for (size_t i = 0; i < c->npart; i++)
		if (!plain_ident(c->partition_by[i]))
			return tn_fail(err, TN_EINVAL, "partition column '%.100s': use letters, digits "
				       "and '_' (it names folders)", c->partition_by[i]);
	buf_puts(&b, "COPY (\n");
	size_t user_off = b.len;
	buf_append(&b, user_sql, trimmed_len(user_sql));
	buf_puts(&b, "\n) TO ");
	sql_str(&b, c->to);
	buf_puts(&b, " (FORMAT parquet, COMPRESSION zstd");
	if (c->npart) {
		buf_puts(&b, ", PARTITION_BY (");
		for (size_t i = 0; i < c->npart; i++) {
			buf_puts(&b, i ? ", " : "");
			sql_ident(&b, c->partition_by[i]);
		}
		buf_puts(&b, ")");
		if (c->file_pattern) {
			buf_puts(&b, ", FILENAME_PATTERN ");
			sql_str(&b, c->file_pattern);
		}
	}
	buf_puts(&b, ")");
	if ((rc = prepare(s, b.data, user_off, user_sql, &ps, st, err)))
		goto out;
	if (duckdb_prepared_statement_type(ps) != DUCKDB_STATEMENT_TYPE_COPY) {
		rc = tn_fail(err, TN_EINVAL, "the query of a table write must be one SELECT");
		goto out;
	}
	if (duckdb_execute_prepared(ps, &r) != DuckDBSuccess) {
		rc = duck_error(s, duckdb_result_error_type(&r), duckdb_result_error(&r), b.data,
				user_off, strlen(user_sql), st, err);
	} else {
		*rows = duckdb_row_count(&r) > 0 ? (uint64_t)duckdb_value_int64(&r, 0, 0) : 0;
		st->rows = *rows;
	}
	duckdb_destroy_result(&r);
out:
	if (ps)
		duckdb_destroy_prepare(&ps);
	buf_release(&b);
	return rc;
}

/* Has the query on s been canceled or passed its deadline?  The TN code, or 0. */
static int stopped(const struct slot *s, const struct query_req *q, int64_t deadline, char *err)
{
	int why = atomic_load(&s->interrupted);
	if (!why && ctl_canceled(q->ctl))
		why = TN_ECANCELED;
	if (!why && deadline && time_mono_ns() > deadline)
		why = TN_ETIMEDOUT;
	if (why == TN_ETIMEDOUT)
		return tn_fail(err, why, "query timed out");
	if (why)
		return tn_fail(err, why, "query canceled");
	return 0;
}

/* query_run and query_copy: one of sink and copy is set. */
static int run(struct query_engine *e, const struct query_req *q, const struct query_sink *sink,
	       const struct query_copy *copy, uint64_t *rows, struct query_stats *st, char *err)
{
	struct guard_result g;
	struct slot *s = NULL;
	int64_t t0 = time_mono_ns();
	int rc;
	memset(st, 0, sizeof *st);
	st->error_pos = -1;
	if (ctl_canceled(q->ctl))
		return tn_fail(err, TN_ECANCELED, "query canceled");
	pthread_mutex_lock(&e->mu);
	if (e->closing) {
		pthread_mutex_unlock(&e->mu);
		return tn_fail(err, TN_EAGAIN, "the query engine is shutting down");
	}
	e->active++;
	pthread_mutex_unlock(&e->mu);
	if (q->ctl) {
		pthread_mutex_lock(&q->ctl->mu);
		q->ctl->e = e;
		pthread_mutex_unlock(&q->ctl->mu);
	}
	int64_t timeout = e->lim.timeout_ms;
	if (q->timeout_ms > 0 && (timeout <= 0 || q->timeout_ms < timeout))
		timeout = q->timeout_ms;
	int64_t deadline = timeout > 0 ? t0 + timeout * 1000000 : 0;

	rc = guard_check(e->guard, q->sql, &g, err);
	if (rc) {
		st->error_pos = g.error_pos;
		goto out_guard;
	}
	if ((rc = acquire(e, q, deadline, &s, err)))
		goto out_guard;
	st->queued_ms = ms_since(t0);
	int64_t t1 = time_mono_ns();
	rc = build_views(e, s, &g, q->user, q->admin, st, err);
	/* an interrupt while building views shows as a failed CREATE VIEW */
	int why = stopped(s, q, deadline, err);
	if (why)
		rc = why;
	duckdb_prepared_statement ust = NULL;
	if (rc == 0)
		rc = prepare(s, q->sql, 0, q->sql, &ust, st, err);
	st->planning_ms = ms_since(t1);
	if (rc == 0 && (rc = stopped(s, q, deadline, err)) == 0) {
		int64_t t2 = time_mono_ns();
		rc = copy ? copy_out(s, q->sql, copy, rows, st, err)
			  : execute(s, ust, q->sql, sink, st, err);
		st->execution_ms = ms_since(t2);
	}
	if (ust)
		duckdb_destroy_prepare(&ust);
	/* a deadline that passed as the last row came: the answer is still late */
	if (rc == 0 && atomic_load(&s->interrupted) == TN_ETIMEDOUT)
		rc = tn_fail(err, TN_ETIMEDOUT, "query timed out");
	release(e, q, s);
out_guard:
	guard_result_release(&g);
	if (q->ctl) {
		pthread_mutex_lock(&q->ctl->mu);
		q->ctl->e = NULL;
		pthread_mutex_unlock(&q->ctl->mu);
	}
	pthread_mutex_lock(&e->mu);
	e->active--;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (rc)
		log_debug("query", "user %s: %s", q->user ? q->user : "-", err);
	return rc;
}

int query_run(struct query_engine *e, const struct query_req *q, const struct query_sink *sink,
	      struct query_stats *st, char *err)
{
	return run(e, q, sink, NULL, NULL, st, err);
}

int query_copy(struct query_engine *e, const struct query_req *q, const struct query_copy *c,
	       uint64_t *rows, struct query_stats *st, char *err)
{
	*rows = 0;
	return run(e, q, NULL, c, rows, st, err);
}

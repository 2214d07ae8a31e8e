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
 * names, ATTACH, USE and every statement that is not a query, and the
 * system catalogs show each connection only its own catalog image.
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
 * DuckDB renders the values (nested ones through to_json), and streams
 * chunks of the result to the sink.  Columns of the common scalar types
 * (integers, BOOLEAN, UUID, DATE, TIMESTAMP: native_text) pass through
 * the wrapper as they are and stream_rows writes their text itself, the
 * same text as DuckDB's cast (values outside years 1-9999 through DuckDB):
 * a cast builds a string per value in DuckDB's string heap, which the
 * streamed result then copies.  No wrapper when every column is such.
 * VARCHAR values go to the sink as pointers into the chunk.  DuckDB keeps
 * the order of an ORDER BY in a subquery under a projection.
 *
 * System catalogs (syscat.c).  DuckDB's catalog functions list every
 * attached database, so information_schema, pg_catalog and duckdb_*()
 * would show other connections' views and their SQL.  Each connection
 * also attaches "cat<i>", its catalog image: one empty table per catalog
 * table the principal of the last catalog query may read, with only the
 * columns they read and their secured types.  Table macros in q<i>.main
 * shadow DuckDB's duckdb_*() functions with versions filtered to cat<i>
 * (DuckDB's system views bind those names through the running
 * connection's search path, so information_schema.tables, pg_class, ...
 * and pg_get_viewdef() all read the filtered ones), and current_database()
 * answers the lake's name.  The guard (GUARD_SYSCAT) reports the system relations
 * a statement references; before it runs, syscat_refresh makes cat<i> this
 * principal's (rebuilt only when it differs).  A statement that references
 * no system catalog pays nothing for any of this.
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
#include "core/utf8.h"
#include "policy/policy.h"
#include "query/guard.h"
#include "query/pgcat_int.h"
#include "query/query_int.h"
#include "query/result.h"
#include "query/udf.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- small helpers ---- */

static double ms_since(int64_t t0_ns)
{
	return (double)(time_mono_ns() - t0_ns) / 1e6;
}

uint64_t query_fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

void query_sql_ident(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

void query_sql_str(struct buf *b, const char *s)
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
const char *const query_schemas[] = {
	"raw", "transient", "master", "drop", "sandbox", "log", "stage", "cleanse", "core",
	"mart", "references", "bronze", "silver", "gold",
};
const size_t query_nschemas = sizeof query_schemas / sizeof query_schemas[0];

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
	for (size_t i = 0; i < query_nschemas; i++) {
		struct buf b = BUF_INIT(0);
		buf_puts(&b, "CREATE SCHEMA ");
		query_sql_ident(&b, query_schemas[i]);
		rc = exec(s->con, b.data, err);
		buf_release(&b);
		if (rc)
			return rc;
	}
	return syscat_slot_init(e, s, err);
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
		query_sql_str(&b, dir);
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

int query_engine_open(struct store *s, struct catalog *c, struct policy *pol,
		      const struct query_limits *lim, struct query_engine **out, char *err)
{
	struct query_engine *e = xcalloc(1, sizeof *e);
	e->policy = pol;
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
	/* The hash mask's function: in the system catalog, one registration serves every slot. */
	if ((rc = udf_register_policy(e->slots[0].con, e->policy, err)))
		goto fail;
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
	const char *p = sql, *end = sql + strlen(sql);
	while (p < end) {
		bool tok;
		const char *q = query_lex_next(sql, p, end, &tok);
		if (tok) {
			semi = *p == ';' ? (size_t)(p - sql) : (size_t)-1;
			last = (size_t)(q - sql);
		}
		p = q;
	}
	return semi != (size_t)-1 ? semi : last;
}

const char *query_type_name(duckdb_logical_type lt, char *buf, size_t n)
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
	if (et == DUCKDB_ERROR_INVALID)
		et = query_duck_class(msg);
	query_set_state(st, query_duck_sqlstate(et, msg));
	if (et == DUCKDB_ERROR_INTERRUPT || why) {
		query_set_state(st, "57014");
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

static void columns_free(struct query_column *cols, size_t n)
{
	for (size_t c = 0; c < n; c++) {
		free(cols[c].name);
		free(cols[c].type);
	}
	free(cols);
}

/*
 * Types whose values stream_rows renders itself, with the text DuckDB's
 * CAST to VARCHAR gives (VARCHAR is passed as is).  The wrapper leaves
 * them alone: DuckDB's casts build a string per value in its string heap
 * and the streamed result copies it once more.
 */
static bool native_text(duckdb_type t)
{
	switch (t) {
	case DUCKDB_TYPE_VARCHAR:
	case DUCKDB_TYPE_BOOLEAN:
	case DUCKDB_TYPE_TINYINT:
	case DUCKDB_TYPE_SMALLINT:
	case DUCKDB_TYPE_INTEGER:
	case DUCKDB_TYPE_BIGINT:
	case DUCKDB_TYPE_UTINYINT:
	case DUCKDB_TYPE_USMALLINT:
	case DUCKDB_TYPE_UINTEGER:
	case DUCKDB_TYPE_UBIGINT:
	case DUCKDB_TYPE_UUID:
	case DUCKDB_TYPE_DATE:
	case DUCKDB_TYPE_TIMESTAMP:
		return true;
	default:
		return false;
	}
}

/* Whether a column of type name tn (query_type_name) is one of native_text's. */
static bool native_name(const char *tn)
{
	static const char *const names[] = {
		"VARCHAR",   "BOOLEAN",	 "TINYINT", "SMALLINT", "INTEGER",   "BIGINT", "UTINYINT",
		"USMALLINT", "UINTEGER", "UBIGINT", "UUID",	"DATE",	     "TIMESTAMP",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(tn, names[i]) == 0)
			return true;
	return false;
}

/* One result column; *wrap is set when the wrapper must render it (see native_text). */
static void column_set(struct query_column *col, const char *name, duckdb_logical_type lt,
		       bool *wrap)
{
	char tb[64];
	const char *tn = query_type_name(lt, tb, sizeof tb);
	col->name = xstrdup(name ? name : "");
	col->type = xstrdup(tn);
	col->kind = result_kind_of(tn);
	*wrap |= !native_text(duckdb_get_type_id(lt));
}

/*
 * The result columns of the user's statement with b's values bound:
 * `SELECT * FROM (<sql>) LIMIT 0` run with them (DuckDB plans it to an
 * empty result: nothing is read).
 */
static int probe_columns(struct slot *s, const char *user_sql, const struct query_bound *b,
			 struct query_column **out, size_t *nout, bool *wrap,
			 struct query_stats *st, char *err)
{
	struct buf t = BUF_INIT(0);
	duckdb_prepared_statement ps = NULL;
	duckdb_result r;
	int rc;
	buf_puts(&t, "SELECT * FROM (\n");
	size_t off = t.len;
	buf_append(&t, user_sql, trimmed_len(user_sql));
	buf_puts(&t, "\n) AS \"tarn_result\" LIMIT 0");
	if ((rc = prepare(s, t.data, off, user_sql, &ps, st, err)))
		goto out;
	if ((rc = query_apply_params(ps, b, st, err)))
		goto out;
	if (duckdb_execute_prepared(ps, &r) != DuckDBSuccess) {
		rc = duck_error(s, duckdb_result_error_type(&r), duckdb_result_error(&r), t.data, off,
				strlen(user_sql), st, err);
	} else {
		size_t n = duckdb_column_count(&r);
		struct query_column *cols = xcalloc(n ? n : 1, sizeof *cols);
		for (size_t c = 0; c < n; c++) {
			duckdb_logical_type lt = duckdb_column_logical_type(&r, c);
			column_set(&cols[c], duckdb_column_name(&r, c), lt, wrap);
			duckdb_destroy_logical_type(&lt);
		}
		*out = cols;
		*nout = n;
	}
	duckdb_destroy_result(&r);
out:
	if (ps)
		duckdb_destroy_prepare(&ps);
	buf_release(&t);
	return rc;
}

/* ---- rendering of native_text's types ---- */

/* Room for one rendered value: a UUID (36), a timestamp (26), a UBIGINT (20). */
#define NATIVE_MAX 48

static size_t put_u64(char *o, uint64_t v)
{
	char t[20];
	size_t n = 0, i = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		o[i++] = t[--n];
	return i;
}

static size_t put_i64(char *o, int64_t v)
{
	if (v >= 0)
		return put_u64(o, (uint64_t)v);
	o[0] = '-';
	return 1 + put_u64(o + 1, (uint64_t)0 - (uint64_t)v);
}

static void put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

/* First and last day (days since 1970-01-01) rendered here: years 1 to 9999. */
#define DAY_MIN (-719162)
#define DAY_MAX 2932896

/* YYYY-MM-DD of a day in [DAY_MIN, DAY_MAX] (proleptic Gregorian); 10 bytes. */
static size_t put_day(char *o, int64_t z)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	unsigned y = (unsigned)((int64_t)yoe + era * 400 + (m <= 2));
	put2(o, y / 100);
	put2(o + 2, y % 100);
	o[4] = '-';
	put2(o + 5, m);
	o[7] = '-';
	put2(o + 8, d);
	return 10;
}

/* DuckDB's text of v (duckdb_get_varchar) into o; for values outside the fast paths. */
static int put_duck(char *o, size_t *n, duckdb_value v, char *err)
{
	char *t = v ? duckdb_get_varchar(v) : NULL;
	size_t len = t ? strlen(t) : 0;
	if (v)
		duckdb_destroy_value(&v);
	if (!t || len >= NATIVE_MAX) {
		if (t)
			duckdb_free(t);
		return tn_fail(err, TN_EINTERNAL, "query engine: cannot render a value");
	}
	memcpy(o, t, len);
	duckdb_free(t);
	*n = len;
	return 0;
}

static const char hexd[] = "0123456789abcdef";

/* Renders row r of a vector of type t (native_text, not VARCHAR) into o. */
static int render(duckdb_type t, const void *data, idx_t r, char *o, size_t *n, char *err)
{
	switch (t) {
	case DUCKDB_TYPE_BOOLEAN:
		if (((const bool *)data)[r]) {
			memcpy(o, "true", 4);
			*n = 4;
		} else {
			memcpy(o, "false", 5);
			*n = 5;
		}
		return 0;
	case DUCKDB_TYPE_TINYINT: *n = put_i64(o, ((const int8_t *)data)[r]); return 0;
	case DUCKDB_TYPE_SMALLINT: *n = put_i64(o, ((const int16_t *)data)[r]); return 0;
	case DUCKDB_TYPE_INTEGER: *n = put_i64(o, ((const int32_t *)data)[r]); return 0;
	case DUCKDB_TYPE_BIGINT: *n = put_i64(o, ((const int64_t *)data)[r]); return 0;
	case DUCKDB_TYPE_UTINYINT: *n = put_u64(o, ((const uint8_t *)data)[r]); return 0;
	case DUCKDB_TYPE_USMALLINT: *n = put_u64(o, ((const uint16_t *)data)[r]); return 0;
	case DUCKDB_TYPE_UINTEGER: *n = put_u64(o, ((const uint32_t *)data)[r]); return 0;
	case DUCKDB_TYPE_UBIGINT: *n = put_u64(o, ((const uint64_t *)data)[r]); return 0;
	case DUCKDB_TYPE_UUID: {
		/* stored as a HUGEINT with the top bit flipped (so that it sorts as bytes) */
		const duckdb_hugeint *h = &((const duckdb_hugeint *)data)[r];
		uint64_t w[2] = { (uint64_t)h->upper ^ ((uint64_t)1 << 63), h->lower };
		size_t k = 0;
		for (int i = 0; i < 32; i++) {
			if (i == 8 || i == 12 || i == 16 || i == 20)
				o[k++] = '-';
			o[k++] = hexd[(w[i / 16] >> (60 - 4 * (i % 16))) & 15];
		}
		*n = k;
		return 0;
	}
	case DUCKDB_TYPE_DATE: {
		duckdb_date d = ((const duckdb_date *)data)[r];
		if (d.days < DAY_MIN || d.days > DAY_MAX)
			return put_duck(o, n, duckdb_create_date(d), err);
		*n = put_day(o, d.days);
		return 0;
	}
	case DUCKDB_TYPE_TIMESTAMP: {
		duckdb_timestamp ts = ((const duckdb_timestamp *)data)[r];
		int64_t day = ts.micros / 86400000000LL, us = ts.micros % 86400000000LL;
		if (us < 0) {
			us += 86400000000LL;
			day--;
		}
		if (day < DAY_MIN || day > DAY_MAX)
			return put_duck(o, n, duckdb_create_timestamp(ts), err);
		size_t k = put_day(o, day);
		int64_t sec = us / 1000000;
		unsigned frac = (unsigned)(us % 1000000);
		o[k++] = ' ';
		put2(o + k, (unsigned)(sec / 3600));
		o[k + 2] = ':';
		put2(o + k + 3, (unsigned)(sec / 60 % 60));
		o[k + 5] = ':';
		put2(o + k + 6, (unsigned)(sec % 60));
		k += 8;
		if (frac) {
			/* .ffffff without its trailing zeros */
			o[k++] = '.';
			size_t digits = 6;
			while (frac % 10 == 0) {
				frac /= 10;
				digits--;
			}
			for (size_t i = digits; i > 0; i--) {
				o[k + i - 1] = (char)('0' + frac % 10);
				frac /= 10;
			}
			k += digits;
		}
		*n = k;
		return 0;
	}
	default:
		return tn_fail(err, TN_EINTERNAL, "query engine: a result column of type %d is not rendered",
			       (int)t);
	}
}

/*
 * Turns the result's chunks into sink rows: VARCHAR values point into the
 * chunk (no copy), the other native_text types are rendered into one slot
 * of NATIVE_MAX bytes per column.
 */
static int stream_rows(struct slot *s, duckdb_result *res, size_t ncols,
		       const struct query_sink *sink, struct query_stats *st, const struct ran *ran,
		       char *err)
{
	size_t nc = ncols ? ncols : 1;
	struct query_value *vals = xcalloc(nc, sizeof *vals);
	duckdb_type *types = xcalloc(nc, sizeof *types);
	char *slots = xmalloc(nc * NATIVE_MAX);
	int rc = 0;
	for (size_t c = 0; c < ncols; c++) {
		types[c] = duckdb_column_type(res, c);
		if (!native_text(types[c]))
			rc = tn_fail(err, TN_EINTERNAL,
				     "query engine: result column %zu has type %d, not rendered", c + 1,
				     (int)types[c]);
	}
	while (rc == 0) {
		duckdb_data_chunk ch = duckdb_fetch_chunk(*res);
		if (!ch) {
			const char *msg = duckdb_result_error(res);
			if (msg)
				rc = duck_error(s, duckdb_result_error_type(res), msg, ran->text,
						ran->user_off, ran->user_len, st, err);
			break;
		}
		idx_t n = duckdb_data_chunk_get_size(ch);
		void *data[nc];
		uint64_t *valid[nc];
		for (size_t c = 0; c < ncols; c++) {
			duckdb_vector v = duckdb_data_chunk_get_vector(ch, c);
			data[c] = duckdb_vector_get_data(v);
			valid[c] = duckdb_vector_get_validity(v);
		}
		for (idx_t r = 0; r < n && rc == 0; r++) {
			for (size_t c = 0; c < ncols && rc == 0; c++) {
				if (valid[c] && !(valid[c][r >> 6] & ((uint64_t)1 << (r & 63)))) {
					vals[c].p = NULL;
					vals[c].n = 0;
				} else if (types[c] == DUCKDB_TYPE_VARCHAR) {
					duckdb_string_t *sv = &((duckdb_string_t *)data[c])[r];
					vals[c].n = duckdb_string_t_length(*sv);
					vals[c].p = duckdb_string_t_data(sv);
				} else {
					char *o = slots + c * NATIVE_MAX;
					rc = render(types[c], data[c], r, o, &vals[c].n, err);
					vals[c].p = o;
				}
			}
			if (rc == 0)
				rc = sink->row(sink->arg, vals, ncols, err);
			if (rc == 0)
				st->rows++;
		}
		duckdb_destroy_data_chunk(&ch);
	}
	free(slots);
	free(types);
	free(vals);
	return rc;
}

/*
 * Runs the prepared user statement ust on s into sink, with b's values
 * (or, for a describe run, tells the sink its parameters and columns).
 */
static int execute(struct slot *s, duckdb_prepared_statement ust, const struct query_req *q,
		   const struct query_bound *bp, const struct query_sink *sink, struct query_stats *st,
		   char *err)
{
	const char *user_sql = q->sql;
	size_t ncols = 0;
	struct query_column *cols = NULL;
	bool wrap = false;
	int rc = 0;
	if (sink->params &&
	    (rc = sink->params(sink->arg, (const char *const *)bp->types, bp->np, err)))
		return rc;
	if (bp->rebind && duckdb_prepared_statement_type(ust) == DUCKDB_STATEMENT_TYPE_EXPLAIN) {
		/* EXPLAIN cannot be a subquery to probe; its columns do not depend on values */
		ncols = 2;
		cols = xcalloc(2, sizeof *cols);
		for (size_t c = 0; c < 2; c++) {
			cols[c].name = xstrdup(c ? "explain_value" : "explain_key");
			cols[c].type = xstrdup("VARCHAR");
			cols[c].kind = QCOL_TEXT;
		}
	} else if (bp->rebind) {
		if ((rc = probe_columns(s, user_sql, bp, &cols, &ncols, &wrap, st, err)))
			return rc;
	} else {
		ncols = duckdb_prepared_statement_column_count(ust);
		cols = xcalloc(ncols ? ncols : 1, sizeof *cols);
		for (size_t c = 0; c < ncols; c++) {
			duckdb_logical_type lt = duckdb_prepared_statement_column_logical_type(ust, c);
			const char *name = duckdb_prepared_statement_column_name(ust, c);
			column_set(&cols[c], name, lt, &wrap);
			duckdb_free((void *)name);
			duckdb_destroy_logical_type(&lt);
		}
	}
	if (q->describe_only) {
		rc = sink->columns(sink->arg, cols, ncols, err);
		columns_free(cols, ncols);
		return rc;
	}
	duckdb_prepared_statement run = ust, wst = NULL;
	struct buf b = BUF_INIT(0);
	struct ran ran = { user_sql, 0, strlen(user_sql) };
	if (wrap) {
		buf_puts(&b, "SELECT ");
		for (size_t c = 0; c < ncols; c++) {
			const char *fmt = cols[c].kind == QCOL_JSON && strcmp(cols[c].type, "JSON")
						  ? "CAST(to_json(#%zu) AS VARCHAR)"
					  : native_name(cols[c].type) ? "#%zu"
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
		rc = query_apply_params(run, bp, st, err);
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
	columns_free(cols, ncols);
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
/*
 * How an INSERT's query meets the table: by name when its columns are the
 * table's, each once (any order, case folded: what tarn's INSERT always
 * did); else by position, as SQL's INSERT without a column list, which
 * needs exactly as many columns.  *by_pos tells which.
 */
static int insert_mapping(struct slot *s, const char *user_sql, const struct query_copy *c,
			  bool *by_pos, struct query_stats *st, char *err)
{
	duckdb_prepared_statement ps = NULL;
	int rc = prepare(s, user_sql, 0, user_sql, &ps, st, err);
	if (rc)
		return rc;
	size_t have = (size_t)duckdb_prepared_statement_column_count(ps);
	bool by_name = have == c->ncols;
	char **names = xcalloc(have ? have : 1, sizeof *names);
	for (size_t i = 0; i < have; i++)
		names[i] = (char *)duckdb_prepared_statement_column_name(ps, i);
	for (size_t i = 0; by_name && i < have; i++) {
		bool found = false;
		for (size_t k = 0; names[i] && k < c->ncols && !found; k++)
			found = !strcasecmp(names[i], c->columns[k]);
		for (size_t j = 0; found && j < i; j++)
			found = !(names[j] && !strcasecmp(names[j], names[i]));
		by_name = found;
	}
	for (size_t i = 0; i < have; i++)
		duckdb_free(names[i]);
	free(names);
	duckdb_destroy_prepare(&ps);
	*by_pos = !by_name;
	if (have != c->ncols)
		return tn_fail(err, TN_EINVAL, "INSERT has %s expressions than target columns: the "
			       "query gives %zu, the table has %zu", have > c->ncols ? "more" : "fewer",
			       have, c->ncols);
	return 0;
}

static int copy_out(struct slot *s, const char *user_sql, const struct query_bound *bp,
		    const struct query_copy *c, uint64_t *rows, struct query_stats *st, char *err)
{
	struct buf b = BUF_INIT(0);
	duckdb_prepared_statement ps = NULL;
	duckdb_result r;
	int rc = 0;
	for (size_t i = 0; i < c->npart; i++)
		if (!plain_ident(c->partition_by[i]))
			return tn_fail(err, TN_EINVAL, "partition column '%.100s': use letters, digits "
				       "and '_' (it names folders)", c->partition_by[i]);
	bool by_pos = false;
	if (c->ncols && (rc = insert_mapping(s, user_sql, c, &by_pos, st, err)))
		return rc;
	buf_puts(&b, by_pos ? "COPY (SELECT * FROM (\n" : "COPY (\n");
	size_t user_off = b.len;
	buf_append(&b, user_sql, trimmed_len(user_sql));
	if (by_pos) {
		/* the query's columns take the table's names, by position */
		buf_puts(&b, "\n) AS \"_insert\"(");
		for (size_t i = 0; i < c->ncols; i++) {
			buf_puts(&b, i ? ", " : "");
			query_sql_ident(&b, c->columns[i]);
		}
		buf_puts(&b, ")");
	}
	buf_puts(&b, "\n) TO ");
	query_sql_str(&b, c->to);
	buf_puts(&b, " (FORMAT parquet, COMPRESSION zstd");
	if (c->npart) {
		buf_puts(&b, ", PARTITION_BY (");
		for (size_t i = 0; i < c->npart; i++) {
			buf_puts(&b, i ? ", " : "");
			query_sql_ident(&b, c->partition_by[i]);
		}
		buf_puts(&b, ")");
		if (c->file_pattern) {
			buf_puts(&b, ", FILENAME_PATTERN ");
			query_sql_str(&b, c->file_pattern);
		}
	}
	buf_puts(&b, ")");
	if ((rc = prepare(s, b.data, user_off, user_sql, &ps, st, err)))
		goto out;
	if (duckdb_prepared_statement_type(ps) != DUCKDB_STATEMENT_TYPE_COPY) {
		rc = tn_fail(err, TN_EINVAL, "the query of a table write must be one SELECT");
		goto out;
	}
	if ((rc = query_apply_params(ps, bp, st, err)))
		goto out;
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

	/* PostgreSQL's catalog queries, in what DuckDB parses (pgcat.c): checked and run so */
	struct query_req pgq;
	struct buf pgsql = BUF_INIT(0);
	if (pgcat_rewrite(q->sql, &pgsql)) {
		pgq = *q;
		pgq.sql = pgsql.data;
		q = &pgq;
	}
	rc = guard_check_ex(e->guard, q->sql, GUARD_SYSCAT, &g, err);
	if (rc) {
		st->error_pos = g.error_pos;
		goto out_guard;
	}
	if ((rc = syscat_check(&g, st, err)))
		goto out_guard;
	if ((rc = acquire(e, q, deadline, &s, err)))
		goto out_guard;
	st->queued_ms = ms_since(t0);
	int64_t t1 = time_mono_ns();
	/* system catalogs: this connection's catalog image becomes this principal's */
	rc = g.nsys ? syscat_refresh(e, s, q->user, q->admin, err) : 0;
	if (rc == 0)
		rc = query_build_views(e, s, &g, q->user, q->admin, st, err);
	/* an interrupt while building views shows as a failed CREATE VIEW */
	int why = stopped(s, q, deadline, err);
	if (why)
		rc = why;
	duckdb_prepared_statement ust = NULL;
	struct query_bound bp = { 0 };
	if (rc == 0)
		rc = prepare(s, q->sql, 0, q->sql, &ust, st, err);
	if (rc == 0)
		rc = query_bind_params(s, ust, q, &bp, st, err);
	st->planning_ms = ms_since(t1);
	if (rc == 0 && (rc = stopped(s, q, deadline, err)) == 0) {
		int64_t t2 = time_mono_ns();
		rc = copy ? copy_out(s, q->sql, &bp, copy, rows, st, err)
			  : execute(s, ust, q, &bp, sink, st, err);
		st->execution_ms = ms_since(t2);
	}
	query_bound_release(&bp);
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
	buf_release(&pgsql);
	return rc;
}

int query_run(struct query_engine *e, const struct query_req *q, const struct query_sink *sink,
	      struct query_stats *st, char *err)
{
	int rc = run(e, q, sink, NULL, NULL, st, err);
	if (rc && !st->sqlstate[0])
		query_set_state(st, query_sqlstate(rc, err));
	return rc;
}

int query_copy(struct query_engine *e, const struct query_req *q, const struct query_copy *c,
	       uint64_t *rows, struct query_stats *st, char *err)
{
	*rows = 0;
	int rc = run(e, q, NULL, c, rows, st, err);
	if (rc && !st->sqlstate[0])
		query_set_state(st, query_sqlstate(rc, err));
	return rc;
}

/*
 * Does text stay inside the parentheses it is put in?  Lexed as
 * trimmed_len lexes (strings, quoted names, dollar quotes): no ')' may
 * close more than the text opened, and no ';' or comment outside a string.
 */
static bool one_expression(const char *text)
{
	int depth = 0;
	const char *end = text + strlen(text);
	for (const char *p = text; p < end;) {
		bool tok;
		const char *q = query_lex_next(text, p, end, &tok);
		if (!tok && (*p == '-' || *p == '/'))
			return false;  /* a comment */
		if (*p == ';')
			return false;
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return false;
		p = q;
	}
	return depth == 0;
}

int query_check_filter(struct query_engine *e, const char *filter, char *err)
{
	struct guard_result g;
	char sub[TN_ERRLEN];
	if (!filter || !*filter || strlen(filter) > 65536)
		return tn_fail(err, TN_EINVAL, "row filter: 1..65536 bytes of SQL");
	/* the filter alone, inside parentheses: one boolean expression over the table's columns */
	char *sql = xasprintf("SELECT 1 FROM \"__tarn_filter\" WHERE (%s\n)", filter);
	int rc = guard_check(e->guard, sql, &g, sub);
	if (rc == 0 && (g.ntables != 1 || g.tables[0].db || strcmp(g.tables[0].name, "__tarn_filter")))
		rc = tn_fail(sub, TN_EINVAL, "it may not read other tables");
	if (rc == 0 && !one_expression(filter))
		rc = tn_fail(sub, TN_EINVAL, "it must be one expression (balanced parentheses, no "
			     "';', no comments)");
	guard_result_release(&g);
	free(sql);
	if (rc)
		return tn_fail(err, rc == TN_EDENIED ? TN_EINVAL : rc, "row filter '%.200s': %s",
			       filter, sub);
	return 0;
}

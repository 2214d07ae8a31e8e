/*
 * portal.c - portals: a bound statement whose query runs on a thread of
 * its own and streams DataRows straight into the connection's output.
 *
 * Design.  pg_portal_start starts the thread, which runs the query
 * through the query service as the session's principal.  Its sink:
 *   columns()  records the result's columns and their PostgreSQL types,
 *              tells the connection thread (Describe may be waiting), and
 *              waits for an Execute;
 *   row()      waits while the current Execute's row budget is spent
 *              (the portal is suspended: the connection thread answers
 *              PortalSuspended and serves other messages), then converts
 *              the values into a DataRow in the connection's output and
 *              flushes it to the socket whenever PG_FLUSH_AT bytes wait.
 * So a result of any size costs one output buffer, and a suspended portal
 * (Execute with a row limit, psycopg2's named cursors, JDBC's fetchSize)
 * keeps its query open, paused inside the sink, until the next Execute,
 * Close, a CancelRequest or the end of the session (the last three make
 * the sink return TN_ECANCELED; after a cancel the next Execute answers
 * 57014).  A started portal is in its connection's live list until freed,
 * so a CancelRequest (server.c) reaches it running or paused; a describe
 * run at Parse is the connection's running portal, with its own query_ctl.
 *
 * Invariants: the connection's output is touched by the portal thread only
 * while the connection thread waits in pg_portal_execute (the hand-over is
 * under p->mu); a portal's thread is joined before the portal is freed.
 * A suspended portal holds one of the engine's connections
 * (query.max_running) until it finishes or is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "pg/pg_int.h"
#include "query/query.h"
#include "query/service.h"
#include "core/banned.h"

/* ---- the portal's thread ---------------------------------------------------------- */

struct pg_portal *pg_portal_new(struct pg_conn *c, const char *name, const char *sql)
{
	struct pg_portal *p = xcalloc(1, sizeof *p);
	p->c = c;
	p->name = xstrdup(name);
	p->sql = xstrdup(sql);
	p->error_pos = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->cancel, false);
	return p;
}

static int16_t result_format(const struct pg_portal *p, size_t col)
{
	if (p->text_only || p->nresfmt == 0)
		return PG_FMT_TEXT;
	return p->resfmt[p->nresfmt == 1 ? 0 : col];
}

static int sink_columns(void *arg, const struct query_column *cols, size_t ncols, char *err)
{
	struct pg_portal *p = arg;
	if (!p->text_only && p->nresfmt > 1 && p->nresfmt != ncols)
		return tn_fail(err, TN_EINVAL, "bind message has %u result formats but query has "
			       "%zu columns", p->nresfmt, ncols);
	p->cols = xcalloc(ncols ? ncols : 1, sizeof *p->cols);
	p->ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		p->cols[i].name = xstrdup(cols[i].name);
		pgtype_from_duckdb_name(cols[i].type, &p->cols[i].t);
		p->cols[i].format = result_format(p, i);
		p->cols[i].as_is = p->cols[i].format == PG_FMT_TEXT &&
				   pgtype_text_is_copy(p->cols[i].t.oid);
		if (p->cols[i].format == PG_FMT_BINARY && !pgtype_has_binary(p->cols[i].t.oid))
			return tn_fail(err, TN_EUNSUPPORTED, "no binary output function available "
				       "for type %s (column \"%s\")",
				       pgtype_name(p->cols[i].t.oid) ? pgtype_name(p->cols[i].t.oid)
								     : "text", cols[i].name);
	}
	pthread_mutex_lock(&p->mu);
	p->have_cols = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Waits for budget; 0 to send a row, or TN_ECANCELED. */
/* Rows a worker takes from an Execute's demand at once: one lock per piece, not per row. */
#define PG_ROW_CREDIT 256

/* Under p->mu: counts the rows the worker sent on its credit. */
static void settle(struct pg_portal *p)
{
	p->sent += p->used;
	p->total += p->used;
	p->used = 0;
}

static int wait_budget(struct pg_portal *p, char *err)
{
	if (atomic_load(&p->cancel))
		return tn_fail(err, TN_ECANCELED, "canceling statement due to user request");
	if (p->credit > 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	settle(p);
	while (p->demand == 0 && !p->abort && !atomic_load(&p->cancel)) {
		if (!p->suspended) {
			p->suspended = true;
			pthread_cond_broadcast(&p->cv);
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
	bool stop = p->abort;
	if (!stop) {
		p->credit = p->demand < PG_ROW_CREDIT ? p->demand : PG_ROW_CREDIT;
		p->demand -= p->credit;
	}
	pthread_mutex_unlock(&p->mu);
	if (stop)
		return tn_fail(err, TN_ECANCELED, "portal \"%s\" closed", p->name);
	if (atomic_load(&p->cancel))
		return tn_fail(err, TN_ECANCELED, "canceling statement due to user request");
	return 0;
}

static int sink_row(void *arg, const struct query_value *vals, size_t ncols, char *err)
{
	struct pg_portal *p = arg;
	struct pg_conn *c = p->c;
	int rc = wait_budget(p, err);
	if (rc)
		return rc;
	if (!p->io_failed && !p->discard) {
		struct buf *b = &c->out;
		size_t row = b->len;
		rc = pg_put_row_begin(b, (uint16_t)ncols);
		for (size_t i = 0; rc == 0 && i < ncols; i++) {
			const struct pg_col *col = &p->cols[i];
			if (!vals[i].p) {
				rc = pg_put_null(b);
			} else if (col->as_is) {
				rc = pg_put_value(b, vals[i].p, vals[i].n);
			} else {
				size_t at = b->len;
				rc = pg_put_value_open(b);
				if (rc == 0)
					rc = col->format == PG_FMT_BINARY
						     ? pgtype_binary_out(col->t.oid, vals[i].p, vals[i].n, b, err)
						     : pgtype_text_out(col->t.oid, vals[i].p, vals[i].n, b, err);
				if (rc == 0)
					rc = pg_put_value_close(b, at);
			}
		}
		if (rc == 0)
			rc = pg_put_row_end(b, row);
		if (rc) {
			buf_truncate(b, row);
			if (rc == TN_ETOOBIG)
				tn_fail(err, TN_ETOOBIG, "a row of the result passes %zu bytes", b->max);
			return rc;
		}
		if (b->len >= PG_FLUSH_AT && pg_conn_flush(c)) {
			p->io_failed = 1;
			return tn_fail(err, TN_EIO, "the client connection failed");
		}
	}
	p->credit--;
	p->used++;
	return 0;
}

static void *portal_main(void *arg)
{
	struct pg_portal *p = arg;
	struct pg_conn *c = p->c;
	struct qwho who = { c->who.name, c->who.is_admin };
	struct query_sink sink = { .columns = sink_columns, .row = sink_row, .arg = p };
	struct qservice_opts o = {
		.timeout_ms = c->stmt_timeout_ms,
		.ctl = p->ctl,
		.params = p->params,
		.nparams = p->nparams,
		.no_result_file = true,
		.write_no_rows = true,
		.via = "pg",
	};
	struct qinfo info;
	char err[TN_ERRLEN] = "";
	int rc = qservice_exec(c->srv->d.queries, &who, p->sql, &o, &sink, &info, err);
	pthread_mutex_lock(&p->mu);
	settle(p);
	p->rc = rc;
	if (rc) {
		snprintf(p->err, sizeof p->err, "%s", err);
		p->error_pos = info.stats.error_pos;
		snprintf(p->sqlstate, sizeof p->sqlstate, "%s", info.stats.sqlstate);
	}
	snprintf(p->command, sizeof p->command, "%s", info.command);
	p->affected = info.affected;
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	qinfo_release(&info);
	return NULL;
}

static int sink_params(void *arg, const char *const *types, size_t n, char *err)
{
	struct pg_portal *p = arg;
	for (size_t i = 0; i < p->ndescribed; i++)
		free(p->described[i]);
	free(p->described);
	p->described = xcalloc(n ? n : 1, sizeof *p->described);
	p->ndescribed = n;
	for (size_t i = 0; i < n; i++)
		p->described[i] = xstrdup(types[i] ? types[i] : "UNKNOWN");
	return 0;
}

int pg_portal_describe_only(struct pg_portal *p)
{
	struct pg_conn *c = p->c;
	struct qwho who = { c->who.name, c->who.is_admin };
	struct query_sink sink = { .columns = sink_columns, .row = sink_row, .arg = p,
				   .params = sink_params };
	if (!p->ctl)
		p->ctl = query_ctl_new();
	struct qservice_opts o = {
		.timeout_ms = c->stmt_timeout_ms,
		.ctl = p->ctl,
		.params = p->params,
		.nparams = p->nparams,
		.no_result_file = true,
		.describe_only = true,
		.write_no_rows = true,
		.via = "pg",
	};
	struct qinfo info;
	char err[TN_ERRLEN] = "";
	p->text_only = true;
	pg_conn_set_running(c, p);  /* planning can be long: a CancelRequest reaches it */
	int rc = qservice_exec(c->srv->d.queries, &who, p->sql, &o, &sink, &info, err);
	pg_conn_set_running(c, NULL);
	p->rc = rc;
	if (rc) {
		snprintf(p->err, sizeof p->err, "%s", err);
		p->error_pos = info.stats.error_pos;
		snprintf(p->sqlstate, sizeof p->sqlstate, "%s", info.stats.sqlstate);
	}
	snprintf(p->command, sizeof p->command, "%s", info.command);
	qinfo_release(&info);
	return rc;
}

void pg_portal_start(struct pg_portal *p)
{
	if (p->started)
		return;
	query_ctl_free(p->ctl);
	p->ctl = query_ctl_new();
	p->started = true;
	pg_conn_live_add(p->c, p);
	if (pthread_create(&p->th, NULL, portal_main, p)) {
		pg_conn_live_remove(p->c, p);
		p->started = false;
		p->done = true;
		p->rc = TN_EAGAIN;
		snprintf(p->err, sizeof p->err, "cannot start a thread for the query");
	}
}

int pg_portal_columns(struct pg_portal *p)
{
	pg_portal_start(p);
	pg_conn_set_running(p->c, p);  /* planning can be long: a CancelRequest reaches it */
	pthread_mutex_lock(&p->mu);
	while (!p->have_cols && !p->done)
		pthread_cond_wait(&p->cv, &p->mu);
	int rc = p->have_cols ? 0 : p->rc;
	pthread_mutex_unlock(&p->mu);
	pg_conn_set_running(p->c, NULL);
	return rc;
}

void pg_portal_describe(struct pg_portal *p)
{
	if (p->ncols == 0) {
		pg_put_no_data(&p->c->out);
		return;
	}
	struct pg_field *f = xcalloc(p->ncols, sizeof *f);
	for (size_t i = 0; i < p->ncols; i++) {
		f[i].name = p->cols[i].name;
		f[i].type_oid = p->cols[i].t.oid;
		f[i].typlen = p->cols[i].t.typlen;
		f[i].typmod = p->cols[i].t.typmod;
		f[i].format = p->cols[i].format;
	}
	pg_put_row_description(&p->c->out, f, p->ncols);
	free(f);
}

const char *pg_portal_sqlstate(const struct pg_portal *p)
{
	if (p->sqlstate[0])
		return p->sqlstate;
	if (p->rc == TN_ETOOBIG && strstr(p->err, "memory"))
		return "53200";
	if (p->rc == TN_EAGAIN)
		return "53300";
	if (p->rc == TN_ENOTFOUND && strstr(p->err, "column"))
		return "42703";
	return pg_sqlstate(p->rc);
}

/* Characters (UTF-8) in s[0..n). */
static int char_count(const char *s, size_t n)
{
	int k = 0;
	for (size_t i = 0; i < n && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

void pg_portal_error(struct pg_portal *p, size_t base_pos, const char *whole_sql)
{
	int pos = 0;
	if (p->error_pos >= 0 && (size_t)p->error_pos <= strlen(p->sql))
		pos = char_count(whole_sql, base_pos + (size_t)p->error_pos) + 1;
	const char *msg = p->err[0] ? p->err : "query failed";
	if (p->rc == TN_ECANCELED && atomic_load(&p->cancel))
		msg = "canceling statement due to user request";
	else if (p->rc == TN_ETIMEDOUT)
		msg = "canceling statement due to statement timeout";
	pg_conn_error(p->c, "ERROR", pg_portal_sqlstate(p), msg, pos);
}

/* The CommandComplete tag of a finished or suspended run. */
static void command_tag(struct pg_portal *p, int mode, char *tag, size_t n)
{
	if (mode != PG_TAG_QUERY) {
		snprintf(tag, n, "%s %llu", mode == PG_TAG_FETCH ? "FETCH" : "MOVE",
			 (unsigned long long)p->sent);
		return;
	}
	/* a read counts the rows this Execute sent; a write the rows it wrote */
	uint64_t k = p->have_cols ? p->sent : p->affected;
	if (!strcmp(p->command, "SELECT") || !p->command[0])
		snprintf(tag, n, "SELECT %llu", (unsigned long long)k);
	else if (!strcmp(p->command, "INSERT"))
		snprintf(tag, n, "INSERT 0 %llu", (unsigned long long)k);
	else
		snprintf(tag, n, "%s", p->command);
}

int pg_portal_execute(struct pg_portal *p, int64_t max_rows, int fetch_tag)
{
	p->discard = fetch_tag == PG_TAG_MOVE;
	pg_portal_start(p);
	pg_conn_set_running(p->c, p);
	pthread_mutex_lock(&p->mu);
	p->sent = 0;
	p->suspended = false;
	p->demand = max_rows > 0 ? max_rows : INT64_MAX;
	pthread_cond_broadcast(&p->cv);
	while (!p->done && !p->suspended)
		pthread_cond_wait(&p->cv, &p->mu);
	bool done = p->done, suspended = p->suspended && !done;
	p->demand = 0;
	pthread_mutex_unlock(&p->mu);
	pg_conn_set_running(p->c, NULL);
	if (p->io_failed)
		p->c->io_failed = true;
	if (done && p->rc) {
		pg_portal_error(p, p->whole ? p->base : 0, p->whole ? p->whole : p->sql);
		return p->rc;
	}
	char tag[64];
	if (suspended && !fetch_tag) {
		pg_put_portal_suspended(&p->c->out);
		return 0;
	}
	command_tag(p, fetch_tag, tag, sizeof tag);
	pg_put_command_complete(&p->c->out, tag);
	return 0;
}

void pg_portal_free(struct pg_portal *p)
{
	if (!p)
		return;
	pg_conn_live_remove(p->c, p);  /* no CancelRequest reaches it from here on */
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->abort = true;
		if (!p->done && p->ctl)
			query_cancel(p->ctl);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	query_ctl_free(p->ctl);
	for (size_t i = 0; i < p->ncols; i++)
		free(p->cols[i].name);
	free(p->cols);
	free(p->resfmt);
	for (size_t i = 0; i < p->nparams; i++)
		free((char *)p->params[i].p);
	for (size_t i = 0; i < p->ndescribed; i++)
		free(p->described[i]);
	free(p->described);
	free(p->params);
	free(p->name);
	free(p->sql);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

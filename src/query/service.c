/*
 * service.c - query ids, result files, history, background queries.
 *
 * Design.  A run tees the engine's rows into the result file (a store
 * writer: CSV, committed only when the query succeeds) and the caller's
 * sink.  The history row is written once per query state change by the
 * thread running it; background queries are also kept in an in-memory
 * list (id, ctl, live state) so GET and DELETE see a running query
 * without a metastore write per row.  A background query runs on its own
 * thread; the engine's pool and queue bound how many run at once.
 *
 * Invariants: q->mu guards the list of background queries and their live
 * fields; a list entry is removed (and its history row final) before its
 * thread ends; qservice_close waits for every thread.
 */
#include "query/service.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "policy/audit.h"
#include "policy/policy.h"
#include "query/result.h"
#include "query/write.h"
#include "store/store.h"
#include "core/banned.h"

struct bgq {
	char id[QUERY_ID_LEN + 1];
	char *user;
	struct query_ctl *ctl;
	enum qstate state;
	struct bgq *next;
};

struct qservice {
	struct query_engine *engine;
	struct store *store;
	struct meta *meta;
	struct catalog *catalog;
	struct audit *audit;
	struct policy *policy;
	pthread_mutex_t write_mu;   /* one table write at a time (CREATE checks, then writes) */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* a background query ended */
	struct bgq *bg;         /* running or queued background queries */
	unsigned nbg;
	bool closing;
};

const char *qstate_name(enum qstate s)
{
	switch (s) {
	case QSTATE_QUEUED: return "QUEUED";
	case QSTATE_RUNNING: return "RUNNING";
	case QSTATE_SUCCEEDED: return "SUCCEEDED";
	case QSTATE_FAILED: return "FAILED";
	case QSTATE_CANCELLED: return "CANCELLED";
	}
	return "FAILED";
}

static enum qstate qstate_parse(const char *s)
{
	static const enum qstate all[] = { QSTATE_QUEUED, QSTATE_RUNNING, QSTATE_SUCCEEDED,
					   QSTATE_FAILED, QSTATE_CANCELLED };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (!strcmp(s, qstate_name(all[i])))
			return all[i];
	return QSTATE_FAILED;
}

static void new_id(char out[QUERY_ID_LEN + 1])
{
	uint8_t r[16];
	char hex[33];
	crypto_random(r, sizeof r);
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);  /* a version 4 UUID */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(out, QUERY_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
}

static bool id_ok(const char *id)
{
	if (strlen(id) != QUERY_ID_LEN)
		return false;
	for (size_t i = 0; i < QUERY_ID_LEN; i++) {
		char c = id[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* A user name as a folder name: kept as is when it is a safe segment. */
static void result_key(const char *user, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/01-athena/%s/%s.csv", zone_default_dir(ZONE_TRANSIENT), user, id);
}

void qinfo_release(struct qinfo *i)
{
	if (!i)
		return;
	free(i->user);
	free(i->sql);
	free(i->error);
	free(i->result_key);
	free(i->columns);
	memset(i, 0, sizeof *i);
}

void qinfo_list_release(struct qinfo_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		qinfo_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void ms_iso(int64_t ms, char *out, size_t n)
{
	struct utc u;
	if (ms <= 0) {
		snprintf(out, n, "null");
		return;
	}
	time_utc(ms, &u);
	snprintf(out, n, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", u.year, u.month, u.day, u.hour,
		 u.min, u.sec, u.ms);
}

int qinfo_json(const struct qinfo *i, struct buf *b)
{
	char sub[48], fin[48];
	ms_iso(i->submitted_ms, sub, sizeof sub);
	ms_iso(i->finished_ms, fin, sizeof fin);
	buf_printf(b, "{\"query_id\": \"%s\", \"user\": ", i->id);
	buf_json_str(b, i->user, strlen(i->user));
	buf_puts(b, ", \"sql\": ");
	buf_json_str(b, i->sql, strlen(i->sql));
	buf_printf(b, ", \"state\": \"%s\", \"async\": %s, \"submitted\": %s, \"finished\": %s, ",
		   qstate_name(i->state), i->async ? "true" : "false", sub, fin);
	buf_printf(b, "\"stats\": {\"rows\": %llu, \"files\": %llu, \"files_pruned\": %llu, "
		      "\"bytes_scanned\": %llu, \"tables\": %u, \"queued_ms\": %.3f, "
		      "\"planning_ms\": %.3f, \"execution_ms\": %.3f, \"total_ms\": %.3f}, ",
		   (unsigned long long)i->stats.rows, (unsigned long long)i->stats.files,
		   (unsigned long long)i->stats.files_pruned,
		   (unsigned long long)i->stats.bytes_scanned, i->stats.tables,
		   i->stats.queued_ms, i->stats.planning_ms, i->stats.execution_ms, i->total_ms);
	buf_printf(b, "\"columns\": %s, ", i->columns && i->columns[0] ? i->columns : "[]");
	if (i->result_key && i->result_key[0]) {
		buf_puts(b, "\"result_location\": ");
		buf_json_str(b, i->result_key, strlen(i->result_key));
		buf_printf(b, ", \"result_bytes\": %llu", (unsigned long long)i->result_bytes);
	} else {
		buf_puts(b, "\"result_location\": null");
	}
	if (i->error && i->error[0]) {
		buf_printf(b, ", \"error\": {\"code\": \"%s\", \"message\": ",
			   tn_strerror(i->error_rc));
		buf_json_str(b, i->error, strlen(i->error));
		if (i->stats.error_pos >= 0)
			buf_printf(b, ", \"position\": %ld", i->stats.error_pos);
		buf_putc(b, '}');
	}
	return buf_putc(b, '}');
}

/* ---- history ---- */

static int db_fail(struct qservice *q, char *err, const char *what)
{
	return tn_fail(err, TN_EIO, "query history: %s: %s", what, sqlite3_errmsg(meta_db(q->meta)));
}

static int history_put(struct qservice *q, const struct qinfo *i, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(q->meta);
	if (sqlite3_prepare_v2(meta_db(q->meta),
			       "INSERT OR REPLACE INTO query_history(id, user, sql, state, async, "
			       "submitted_ms, finished_ms, rows, files, bytes_scanned, queued_ms, "
			       "planning_ms, execution_ms, error_code, error, error_pos, result_key, "
			       "result_bytes, columns, files_pruned, tables, total_ms) VALUES (?1, ?2, "
			       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
			       "?18, ?19, ?20, ?21, ?22)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(q, err, "prepare");
		goto out;
	}
	sqlite3_bind_text(st, 1, i->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, i->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, i->sql, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, qstate_name(i->state), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, i->async);
	sqlite3_bind_int64(st, 6, i->submitted_ms);
	sqlite3_bind_int64(st, 7, i->finished_ms);
	sqlite3_bind_int64(st, 8, (int64_t)i->stats.rows);
	sqlite3_bind_int64(st, 9, (int64_t)i->stats.files);
	sqlite3_bind_int64(st, 10, (int64_t)i->stats.bytes_scanned);
	sqlite3_bind_double(st, 11, i->stats.queued_ms);
	sqlite3_bind_double(st, 12, i->stats.planning_ms);
	sqlite3_bind_double(st, 13, i->stats.execution_ms);
	sqlite3_bind_int(st, 14, i->error_rc);
	sqlite3_bind_text(st, 15, i->error ? i->error : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 16, i->stats.error_pos);
	sqlite3_bind_text(st, 17, i->result_key ? i->result_key : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 18, (int64_t)i->result_bytes);
	sqlite3_bind_text(st, 19, i->columns ? i->columns : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 20, (int64_t)i->stats.files_pruned);
	sqlite3_bind_int(st, 21, (int)i->stats.tables);
	sqlite3_bind_double(st, 22, i->total_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(q, err, "insert");
out:
	sqlite3_finalize(st);
	meta_unlock(q->meta);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

#define HISTORY_COLS                                                                         \
	"id, user, sql, state, async, submitted_ms, finished_ms, rows, files, bytes_scanned, " \
	"queued_ms, planning_ms, execution_ms, error_code, error, error_pos, result_key, "     \
	"result_bytes, columns, files_pruned, tables, total_ms"

static void history_row(sqlite3_stmt *st, struct qinfo *i)
{
	memset(i, 0, sizeof *i);
	snprintf(i->id, sizeof i->id, "%s", (const char *)sqlite3_column_text(st, 0));
	i->user = col_dup(st, 1);
	i->sql = col_dup(st, 2);
	i->state = qstate_parse((const char *)sqlite3_column_text(st, 3));
	i->async = sqlite3_column_int(st, 4) != 0;
	i->submitted_ms = sqlite3_column_int64(st, 5);
	i->finished_ms = sqlite3_column_int64(st, 6);
	i->stats.rows = (uint64_t)sqlite3_column_int64(st, 7);
	i->stats.files = (uint64_t)sqlite3_column_int64(st, 8);
	i->stats.bytes_scanned = (uint64_t)sqlite3_column_int64(st, 9);
	i->stats.queued_ms = sqlite3_column_double(st, 10);
	i->stats.planning_ms = sqlite3_column_double(st, 11);
	i->stats.execution_ms = sqlite3_column_double(st, 12);
	i->error_rc = sqlite3_column_int(st, 13);
	i->error = col_dup(st, 14);
	i->stats.error_pos = (long)sqlite3_column_int64(st, 15);
	i->result_key = col_dup(st, 16);
	i->result_bytes = (uint64_t)sqlite3_column_int64(st, 17);
	i->columns = col_dup(st, 18);
	i->stats.files_pruned = (uint64_t)sqlite3_column_int64(st, 19);
	i->stats.tables = (unsigned)sqlite3_column_int(st, 20);
	i->total_ms = sqlite3_column_double(st, 21);
}

static int history_get(struct qservice *q, const char *id, struct qinfo *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(q->meta);
	if (sqlite3_prepare_v2(meta_db(q->meta),
			       "SELECT " HISTORY_COLS " FROM query_history WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = db_fail(q, err, "prepare");
	} else {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW)
			history_row(st, out);
		else if (s == SQLITE_DONE)
			rc = tn_fail(err, TN_ENOTFOUND, "query '%s' not found", id);
		else
			rc = db_fail(q, err, "select");
	}
	sqlite3_finalize(st);
	meta_unlock(q->meta);
	return rc;
}

/* ---- open / close ---- */

int qservice_open(struct query_engine *e, struct store *s, struct meta *m, struct catalog *c,
		  struct audit *audit, struct policy *policy, struct qservice **out, char *err)
{
	struct qservice *q = xcalloc(1, sizeof *q);
	q->audit = audit;
	q->policy = policy;
	q->engine = e;
	q->catalog = c;
	q->store = s;
	q->meta = m;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	/* Queries cut off by a restart. */
	meta_lock(m);
	int rc = meta_exec(m, "UPDATE query_history SET state = 'FAILED', "
			      "error = 'the server stopped before the query finished', "
			      "error_code = -14 WHERE state IN ('QUEUED', 'RUNNING')", err);
	meta_unlock(m);
	if (rc) {
		qservice_close(q);
		return rc;
	}
	*out = q;
	return 0;
}

void qservice_close(struct qservice *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->closing = true;
	for (struct bgq *b = q->bg; b; b = b->next)
		query_cancel(b->ctl);
	while (q->nbg > 0)
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->write_mu);
	free(q);
}

/* ---- running ---- */

/* The tee: rows into the result file and the caller's sink. */
struct tee {
	struct store_writer *w;
	const struct query_sink *next;
	struct buf line;
	struct buf columns;        /* JSON of the columns */
	int store_rc;              /* the writer failed: the query stops with this */
};

static int tee_params(void *arg, const char *const *types, size_t n, char *err)
{
	struct tee *t = arg;
	return t->next && t->next->params ? t->next->params(t->next->arg, types, n, err) : 0;
}

static int tee_columns(void *arg, const struct query_column *cols, size_t n, char *err)
{
	struct tee *t = arg;
	int rc;
	buf_reset(&t->columns);
	result_json_columns(&t->columns, cols, n);
	buf_reset(&t->line);
	result_csv_header(&t->line, cols, n);
	if (t->w && (rc = store_writer_write(t->w, t->line.data, t->line.len, err))) {
		t->store_rc = rc;
		return rc;
	}
	return t->next ? t->next->columns(t->next->arg, cols, n, err) : 0;
}

static int tee_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	struct tee *t = arg;
	int rc;
	if (!t->w)
		return t->next ? t->next->row(t->next->arg, v, n, err) : 0;
	buf_reset(&t->line);
	result_csv_row(&t->line, v, n);
	if ((rc = store_writer_write(t->w, t->line.data, t->line.len, err))) {
		t->store_rc = rc;
		return rc;
	}
	return t->next ? t->next->row(t->next->arg, v, n, err) : 0;
}

/* Writes <key>.metadata (JSON of the info). */
static void write_metadata(struct qservice *q, const struct qinfo *i, const char *key)
{
	char mkey[1200], err[TN_ERRLEN];
	struct buf b = BUF_INIT(0);
	qinfo_json(i, &b);
	buf_putc(&b, '\n');
	snprintf(mkey, sizeof mkey, "%s.metadata", key);
	struct iovec iov = { b.data, b.len };
	if (store_put(q->store, mkey, &iov, 1, STORE_NOSYNC, err))
		log_warn("query", "query %s: cannot write %s: %s", i->id, mkey, err);
	buf_release(&b);
}

static bool user_segment_ok(const char *user)
{
	if (!user[0] || !strcmp(user, ".") || !strcmp(user, ".."))
		return false;
	for (const char *p = user; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20)
			return false;
	return true;
}

/* ---- writing tables ---- */

static bool warehouse_zone(int z)
{
	return z == ZONE_STAGE || z == ZONE_CLEANSE || z == ZONE_CORE || z == ZONE_MART;
}

static bool table_name_ok(const char *n)
{
	if (!n[0] || n[0] == '.' || n[0] == '-')
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* The one-row answer of a write: table, operation, rows, files. */
static int write_answer(const struct query_sink *sink, const char *table, const char *op,
			uint64_t rows, unsigned files, char *err)
{
	static const struct query_column cols[] = {
		{ "table", "VARCHAR", QCOL_TEXT }, { "operation", "VARCHAR", QCOL_TEXT },
		{ "rows", "BIGINT", QCOL_NUMBER }, { "files", "BIGINT", QCOL_NUMBER },
	};
	char r[32], f[32];
	int rn = snprintf(r, sizeof r, "%llu", (unsigned long long)rows);
	int fn = snprintf(f, sizeof f, "%u", files);
	struct query_value v[] = { { table, strlen(table) }, { op, strlen(op) }, { r, (size_t)rn },
				   { f, (size_t)fn } };
	if (!sink)
		return 0;
	int rc = sink->columns(sink->arg, cols, 4, err);
	return rc ? rc : sink->row(sink->arg, v, 4, err);
}

/*
 * CREATE TABLE AS / INSERT INTO / DROP TABLE in a warehouse zone, for an
 * admin (until grants exist).  New files are written by DuckDB into a
 * hidden folder inside the table's folder, moved into place file by file
 * (each appears whole), and the table's folder is crawled at once, so the
 * answer comes back with the table registered.  A crash before the move
 * leaves only the hidden folder, which the crawler ignores.
 */
static int run_write(struct qservice *q, struct qinfo *info, const struct write_stmt *ws,
		     bool admin, const struct query_req *req, const struct query_sink *sink,
		     char *err)
{
	char table[256], folder[1024], tmpkey[1200], tmpabs[4096], target[4400], pattern[80];
	char dummy[TN_ERRLEN];
	char db[sizeof ws->db];
	for (size_t i = 0; i < sizeof db; i++) {
		char ch = ws->db[i];
		db[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		if (!ch)
			break;
	}
	int z = zone_by_name(db);
	int rc;
	bool sandbox = z == ZONE_SANDBOX;
	/* a sandbox table is the user's own: sandbox.t is "<user>/t" in data/user/<user>/t */
	char cname[300];
	snprintf(cname, sizeof cname, "%s%s%s", sandbox ? info->user : "", sandbox ? "/" : "",
		 ws->name);
	snprintf(table, sizeof table, "%s.%s", ws->db, cname);
	if (z < 0)
		return tn_fail(err, TN_ENOTFOUND, "database '%s' does not exist", ws->db);
	if (z == ZONE_RAW)
		return tn_fail(err, TN_EDENIED, "table '%s': the raw zone is immutable", table);
	if (!warehouse_zone(z) && !sandbox)
		return tn_fail(err, TN_EDENIED, "table '%s': tables are written and dropped only in "
			       "the warehouse zones (stage, cleanse, core, mart) and in your sandbox",
			       table);
	if (!admin && !sandbox &&
	    !policy_allows(q->policy, info->user, GRANT_WRITE, zone_db_name((enum zone)z)))
		return tn_fail(err, TN_EDENIED, "user '%s' has no grant to write tables in '%s' "
			       "(your sandbox is yours: sandbox.<table>)", info->user,
			       zone_db_name((enum zone)z));
	if (!table_name_ok(ws->name))
		return tn_fail(err, TN_EINVAL, "table name '%s': use letters, digits, '_', '-' and "
			       "'.' (it names a folder)", ws->name);
	snprintf(folder, sizeof folder, "%s/%s", store_zone_dir(q->store, z), cname);

	struct cat_table t;
	bool exists = catalog_table_get(q->catalog, db, cname, &t, dummy) == 0;
	if (exists && ws->kind == WRITE_INSERT) {
		/* the table's own folder (its name may differ in case from the statement's) */
		size_t n = strlen(t.location);
		if (n == 0 || t.location[n - 1] != '/') {
			cat_table_release(&t);
			return tn_fail(err, TN_EUNSUPPORTED, "table '%s' is one file: INSERT adds files "
				       "to tables that are folders", table);
		}
		snprintf(folder, sizeof folder, "%.*s", (int)(n - 1), t.location);
	}
	if (ws->kind == WRITE_DROP) {
		unsigned removed = 0;
		if (!exists) {
			if (ws->if_exists)
				return write_answer(sink, table, "DROP", 0, 0, err);
			return tn_fail(err, TN_ENOTFOUND, "table '%s' is not in the catalog", table);
		}
		char loc[1024], tname[256];
		snprintf(loc, sizeof loc, "%s", t.location);
		snprintf(tname, sizeof tname, "%s", t.name);  /* as catalogued (case) */
		size_t n = strlen(loc);
		if (n && loc[n - 1] == '/')
			loc[n - 1] = 0;
		cat_table_release(&t);
		rc = store_delete_tree(q->store, loc, &removed, err);
		if (rc == TN_ENOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = catalog_table_drop(q->catalog, db, tname, err);
		return rc ? rc : write_answer(sink, table, "DROP", 0, removed, err);
	}
	/* CREATE / INSERT: the partition columns */
	const char *const *part = (const char *const *)ws->partition_by;
	size_t npart = ws->npart;
	const char *keys[WRITE_MAX_PARTITION];
	if (ws->kind == WRITE_CREATE && exists) {
		cat_table_release(&t);
		if (ws->if_not_exists) {
			snprintf(info->command, sizeof info->command, "CREATE TABLE AS");
			return write_answer(sink, table, "CREATE (exists)", 0, 0, err);
		}
		return tn_fail(err, TN_ECONFLICT, "table '%s' exists: INSERT INTO it, or DROP TABLE "
			       "first", table);
	}
	if (ws->kind == WRITE_INSERT) {
		if (!exists)
			return tn_fail(err, TN_ENOTFOUND, "table '%s' is not in the catalog: CREATE "
				       "TABLE %s AS ... first", table, table);
		npart = 0;
		for (size_t k = 0; k < t.npkeys; k++) {
			if (t.pkeys[k].date || npart >= WRITE_MAX_PARTITION) {
				cat_table_release(&t);
				return tn_fail(err, TN_EUNSUPPORTED, "table '%s' is partitioned by date "
					       "folders: INSERT writes key=value partitions only", table);
			}
			keys[npart++] = t.pkeys[k].name;
		}
		part = keys;
		if (strcmp(t.format, "parquet")) {
			rc = tn_fail(err, TN_EUNSUPPORTED, "table '%s' is %s: INSERT adds Parquet files "
				     "to Parquet tables only", table, t.format);
			cat_table_release(&t);
			return rc;
		}
	}
	/* a new table's folder must not hold files already (uncatalogued data) */
	int fstate = ws->kind == WRITE_CREATE ? store_folder_state(q->store, folder, err) : 0;
	if (fstate < 0)
		return fstate;
	if (fstate == STORE_VISIBLE)
		return tn_fail(err, TN_ECONFLICT, "table '%s': folder '%s' already holds files "
			       "that are not in the catalog: crawl it, or remove them", table, folder);
	/* the table's files go to a hidden folder first */
	snprintf(tmpkey, sizeof tmpkey, "%s/.write-%s", folder, info->id);
	if ((rc = store_path(q->store, tmpkey, tmpabs, sizeof tmpabs, err)) ||
	    (rc = os_mkdir_p(tmpabs, 0750, err))) {
		if (exists)
			cat_table_release(&t);
		return rc;
	}
	snprintf(pattern, sizeof pattern, "part-%s-{i}", info->id);
	if (npart)
		snprintf(target, sizeof target, "%s", tmpabs);
	else
		snprintf(target, sizeof target, "%s/part-%s.parquet", tmpabs, info->id);
	/* INSERT: the query's columns go to the table's by position */
	const char **cols = NULL;
	size_t ncols = 0;
	if (ws->kind == WRITE_INSERT) {
		cols = xcalloc(t.ncols ? t.ncols : 1, sizeof *cols);
		for (size_t k = 0; k < t.ncols; k++)
			if (t.cols[k].depth == 0)
				cols[ncols++] = t.cols[k].name;
	}
	struct query_copy c = { .to = target, .partition_by = part, .npart = npart,
				.file_pattern = pattern, .columns = cols, .ncols = ncols };
	struct query_req inner = *req;
	inner.sql = info->sql + ws->query_off;
	uint64_t rows = 0;
	unsigned moved = 0;
	rc = query_copy(q->engine, &inner, &c, &rows, &info->stats, err);
	free(cols);
	if (exists)
		cat_table_release(&t);
	if (rc && info->stats.error_pos >= 0)
		info->stats.error_pos += (long)ws->query_off;
	if (rc == 0)
		rc = store_move_tree(q->store, tmpkey, folder, &moved, err);
	if (rc) {
		unsigned gone;
		store_delete_tree(q->store, tmpkey, &gone, dummy);
		/* a failed CREATE leaves no empty table folder behind */
		if (ws->kind == WRITE_CREATE && fstate == STORE_ABSENT &&
		    store_folder_state(q->store, folder, dummy) == STORE_EMPTY)
			store_delete_tree(q->store, folder, &gone, dummy);
		return rc;
	}
	/* register it now */
	struct crawl_opts o = { folder, 0 };
	struct crawl_report rep;
	rc = catalog_crawl(q->catalog, &o, &rep, err);
	crawl_report_release(&rep);
	if (rc)
		return rc;
	info->affected = rows;
	return write_answer(sink, table, ws->kind == WRITE_CREATE ? "CREATE" : "INSERT", rows,
			    moved, err);
}

/* Does sql start with EXPLAIN (after whitespace and comments)? */
static bool explain_stmt(const char *sql)
{
	size_t len = strlen(sql), s, e;
	query_next_statement(sql, len, &s, &e);
	return e - s >= 7 && !strncasecmp(sql + s, "EXPLAIN", 7) &&
	       (e - s == 7 || !((sql[s + 7] >= 'a' && sql[s + 7] <= 'z') ||
				(sql[s + 7] >= 'A' && sql[s + 7] <= 'Z') || sql[s + 7] == '_'));
}

static void set_command(struct qinfo *info, const struct write_stmt *ws, int wrc)
{
	const char *c = "SELECT";
	if (wrc == 1 && ws->kind == WRITE_INSERT)
		c = "INSERT";
	else if (wrc == 1 && ws->kind == WRITE_DROP)
		c = "DROP TABLE";
	else if (wrc != 1 && explain_stmt(info->sql))
		c = "EXPLAIN";
	snprintf(info->command, sizeof info->command, "%s", c);
}

/* A sink that keeps the parameters' types of a write's query and drops its columns. */
static int only_params_columns(void *arg, const struct query_column *c, size_t n, char *err)
{
	return 0;
}

static int only_params_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	return 0;
}

static int only_params(void *arg, const char *const *types, size_t n, char *err)
{
	const struct query_sink *next = arg;
	return next && next->params ? next->params(next->arg, types, n, err) : 0;
}

/*
 * A describe run: prepares as a run would, tells sink the parameters and
 * columns.  Writes describe their query (its parameters) and, unless
 * write_no_rows, the answer's columns.
 */
static int describe(struct qservice *q, struct qinfo *info, bool admin,
		    const struct qservice_opts *o, const struct query_sink *sink, char *err)
{
	struct write_stmt ws;
	struct query_req req = { .sql = info->sql, .user = info->user, .admin = admin,
				 .timeout_ms = o->timeout_ms, .ctl = o->ctl, .params = o->params,
				 .nparams = o->nparams, .describe_only = true };
	int rc, wrc = write_parse(info->sql, &ws, err);
	if (wrc < 0) {
		rc = wrc;
		goto out;
	}
	set_command(info, &ws, wrc);
	if (wrc == 0) {
		rc = query_run(q->engine, &req, sink, &info->stats, err);
		goto out;
	}
	if (ws.kind != WRITE_DROP) {
		struct query_sink ps = { .columns = only_params_columns, .row = only_params_row,
					 .arg = (void *)sink, .params = only_params };
		req.sql = info->sql + ws.query_off;
		rc = query_run(q->engine, &req, &ps, &info->stats, err);
		if (rc && info->stats.error_pos >= 0)
			info->stats.error_pos += (long)ws.query_off;
		if (rc)
			goto out;
	} else if (sink && sink->params && (rc = sink->params(sink->arg, NULL, 0, err))) {
		goto out;
	}
	rc = 0;
	if (!o->write_no_rows && sink) {
		static const struct query_column cols[] = {
			{ "table", "VARCHAR", QCOL_TEXT }, { "operation", "VARCHAR", QCOL_TEXT },
			{ "rows", "BIGINT", QCOL_NUMBER }, { "files", "BIGINT", QCOL_NUMBER },
		};
		rc = sink->columns(sink->arg, cols, 4, err);
	}
out:
	write_stmt_release(&ws);
	if (rc && !info->stats.sqlstate[0])
		snprintf(info->stats.sqlstate, sizeof info->stats.sqlstate, "%s",
			 query_sqlstate(rc, err));
	info->error_rc = rc;
	free(info->error);
	info->error = xstrdup(rc ? err : "");
	info->state = rc == 0 ? QSTATE_SUCCEEDED : rc == TN_ECANCELED ? QSTATE_CANCELLED
								     : QSTATE_FAILED;
	info->finished_ms = time_now_ms();
	return rc;
}

/* Runs info->sql for info->user (already registered), fills info, writes results and history. */
static int run_query(struct qservice *q, struct qinfo *info, bool admin,
		     const struct qservice_opts *o, const struct query_sink *sink, char *err)
{
	char key[1200];
	struct tee t = { .next = sink };
	int64_t t0 = time_mono_ns();
	bool file = !o->no_result_file;
	int rc;
	buf_init(&t.line, 0);
	buf_init(&t.columns, 0);
	key[0] = 0;
	if (admin && audit_flush(q->audit, err)) /* log.audit shows every event before this query */
		log_warn("query", "%s", err);
	if (file && !user_segment_ok(info->user)) {
		rc = tn_fail(err, TN_EINVAL, "user name '%s' cannot name a result folder", info->user);
		goto done;
	}
	if (file) {
		result_key(info->user, info->id, key, sizeof key);
		if ((rc = store_writer_open(q->store, key, STORE_NOSYNC, &t.w, err)))
			goto done;
	}
	struct query_sink tee_sink = { .columns = tee_columns, .row = tee_row, .arg = &t,
				       .params = tee_params };
	struct query_req req = { .sql = info->sql, .user = info->user, .admin = admin,
				 .timeout_ms = o->timeout_ms, .ctl = o->ctl, .params = o->params,
				 .nparams = o->nparams };
	struct write_stmt ws;
	int wrc = write_parse(info->sql, &ws, err);
	set_command(info, &ws, wrc);
	if (wrc < 0) {
		info->stats.error_pos = -1;
		rc = wrc;
	} else if (wrc == 1) {
		if (o->write_no_rows)
			t.next = NULL;
		pthread_mutex_lock(&q->write_mu);
		rc = run_write(q, info, &ws, admin, &req, &tee_sink, err);
		pthread_mutex_unlock(&q->write_mu);
	} else {
		rc = query_run(q->engine, &req, &tee_sink, &info->stats, err);
		if (rc == 0)
			info->affected = info->stats.rows;
	}
	write_stmt_release(&ws);
	if (!t.w) {
		/* no result file */
	} else if (rc == 0) {
		info->result_bytes = store_writer_size(t.w);
		rc = store_writer_commit(t.w, err);
		if (rc == 0) {
			free(info->result_key);
			info->result_key = xstrdup(key);
		}
	} else {
		store_writer_abort(t.w);
	}
done:
	if (rc && !info->stats.sqlstate[0])
		snprintf(info->stats.sqlstate, sizeof info->stats.sqlstate, "%s",
			 query_sqlstate(rc, err));
	info->finished_ms = time_now_ms();
	info->total_ms = (double)(time_mono_ns() - t0) / 1e6;
	free(info->columns);
	info->columns = xstrdup(t.columns.len ? t.columns.data : "[]");
	info->error_rc = rc;
	free(info->error);
	info->error = xstrdup(rc ? err : "");
	info->state = rc == 0 ? QSTATE_SUCCEEDED : rc == TN_ECANCELED ? QSTATE_CANCELLED
								     : QSTATE_FAILED;
	audit_log(q->audit, "query", info->user,
		  json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:s, s:s}", "query_id", info->id,
			    "sql", info->sql, "outcome", qstate_name(info->state),
			    "rows", (json_int_t)info->stats.rows, "tables", (json_int_t)info->stats.tables,
			    "files", (json_int_t)info->stats.files, "ms", info->total_ms,
			    "error", info->error ? info->error : "", "via", o->via ? o->via : "rest"));
	char herr[TN_ERRLEN];
	if (history_put(q, info, herr))
		log_warn("query", "query %s: %s", info->id, herr);
	if (file && user_segment_ok(info->user))
		write_metadata(q, info, key);
	buf_release(&t.line);
	buf_release(&t.columns);
	return rc;
}

static void info_init(struct qinfo *i, const struct qwho *who, const char *sql, bool async)
{
	memset(i, 0, sizeof *i);
	new_id(i->id);
	i->user = xstrdup(who->user);
	i->sql = xstrdup(sql);
	i->state = async ? QSTATE_QUEUED : QSTATE_RUNNING;
	i->async = async;
	i->submitted_ms = time_now_ms();
	i->error = xstrdup("");
	i->result_key = xstrdup("");
	i->columns = xstrdup("[]");
	i->stats.error_pos = -1;
}

int qservice_exec(struct qservice *q, const struct qwho *who, const char *sql,
		  const struct qservice_opts *o, const struct query_sink *sink, struct qinfo *info,
		  char *err)
{
	static const struct qservice_opts defaults = { 0 };
	if (!o)
		o = &defaults;
	info_init(info, who, sql, false);
	if (o->describe_only)
		return describe(q, info, who->admin, o, sink, err);
	return run_query(q, info, who->admin, o, sink, err);
}

int qservice_run(struct qservice *q, const struct qwho *who, const char *sql, int64_t timeout_ms,
		 const struct query_sink *sink, struct qinfo *info, char *err)
{
	struct qservice_opts o = { .timeout_ms = timeout_ms };
	return qservice_exec(q, who, sql, &o, sink, info, err);
}

struct bgrun {
	struct qservice *q;
	bool admin;
	struct bgq *entry;
	struct qinfo info;
	int64_t timeout_ms;
};

static void *bg_main(void *arg)
{
	struct bgrun *r = arg;
	struct qservice *q = r->q;
	char err[TN_ERRLEN];
	pthread_mutex_lock(&q->mu);
	r->entry->state = QSTATE_RUNNING;
	pthread_mutex_unlock(&q->mu);
	struct qservice_opts o = { .timeout_ms = r->timeout_ms, .ctl = r->entry->ctl };
	run_query(q, &r->info, r->admin, &o, NULL, err);
	/* the history row is final: forget the live entry */
	pthread_mutex_lock(&q->mu);
	for (struct bgq **pp = &q->bg; *pp; pp = &(*pp)->next)
		if (*pp == r->entry) {
			*pp = r->entry->next;
			break;
		}
	q->nbg--;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	query_ctl_free(r->entry->ctl);
	free(r->entry->user);
	free(r->entry);
	qinfo_release(&r->info);
	free(r);
	return NULL;
}

int qservice_start(struct qservice *q, const struct qwho *who, const char *sql,
		   int64_t timeout_ms, char id[QUERY_ID_LEN + 1], char *err)
{
	struct bgrun *r = xcalloc(1, sizeof *r);
	int rc;
	r->q = q;
	r->admin = who->admin;
	r->timeout_ms = timeout_ms;
	info_init(&r->info, who, sql, true);
	pthread_mutex_lock(&q->mu);
	if (q->closing || q->nbg >= QSERVICE_MAX_ASYNC) {
		pthread_mutex_unlock(&q->mu);
		qinfo_release(&r->info);
		free(r);
		return tn_fail(err, TN_EAGAIN,
			       "too many background queries (%u at most): retry later",
			       QSERVICE_MAX_ASYNC);
	}
	pthread_mutex_unlock(&q->mu);
	if ((rc = history_put(q, &r->info, err))) {
		qinfo_release(&r->info);
		free(r);
		return rc;
	}
	struct bgq *b = xcalloc(1, sizeof *b);
	memcpy(b->id, r->info.id, sizeof b->id);
	b->user = xstrdup(who->user);
	b->ctl = query_ctl_new();
	b->state = QSTATE_QUEUED;
	r->entry = b;
	pthread_mutex_lock(&q->mu);
	b->next = q->bg;
	q->bg = b;
	q->nbg++;
	pthread_mutex_unlock(&q->mu);
	memcpy(id, r->info.id, QUERY_ID_LEN + 1);

	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int prc = pthread_create(&t, &attr, bg_main, r);
	pthread_attr_destroy(&attr);
	if (prc != 0) {
		log_warn("query", "cannot start a thread (error %d): running query %s inline", prc,
			 id);
		bg_main(r);
	}
	return 0;
}

/* The live state of a background query, if it is still tracked. */
static bool live_state(struct qservice *q, const char *id, enum qstate *state)
{
	bool found = false;
	pthread_mutex_lock(&q->mu);
	for (struct bgq *b = q->bg; b && !found; b = b->next)
		if (!strcmp(b->id, id)) {
			*state = b->state;
			found = true;
		}
	pthread_mutex_unlock(&q->mu);
	return found;
}

static int get_checked(struct qservice *q, const struct qwho *who, const char *id,
		       struct qinfo *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (!id_ok(id))
		return tn_fail(err, TN_ENOTFOUND, "query '%.60s' not found (ids look like "
			       "8-4-4-4-12 hex digits)", id);
	int rc = history_get(q, id, out, err);
	if (rc)
		return rc;
	if (!who->admin && strcmp(out->user, who->user)) {
		qinfo_release(out);
		return tn_fail(err, TN_ENOTFOUND, "query '%s' not found", id);
	}
	enum qstate live;
	if (live_state(q, id, &live) && (out->state == QSTATE_QUEUED || out->state == QSTATE_RUNNING))
		out->state = live;
	return 0;
}

int qservice_get(struct qservice *q, const struct qwho *who, const char *id, struct qinfo *out,
		 char *err)
{
	return get_checked(q, who, id, out, err);
}

int qservice_cancel(struct qservice *q, const struct qwho *who, const char *id, char *err)
{
	struct qinfo i;
	int rc = get_checked(q, who, id, &i, err);
	if (rc)
		return rc;
	bool found = false;
	pthread_mutex_lock(&q->mu);
	for (struct bgq *b = q->bg; b && !found; b = b->next)
		if (!strcmp(b->id, id)) {
			query_cancel(b->ctl);
			found = true;
		}
	pthread_mutex_unlock(&q->mu);
	if (!found && (i.state == QSTATE_QUEUED || i.state == QSTATE_RUNNING))
		rc = tn_fail(err, TN_ECONFLICT, "query '%s' runs synchronously (POST /v1/query): "
			     "only background queries (POST /v1/queries) can be canceled", id);
	else if (!found)
		rc = tn_fail(err, TN_ECONFLICT, "query '%s' has already finished (%s)", id,
			     qstate_name(i.state));
	qinfo_release(&i);
	return rc;
}

int qservice_list(struct qservice *q, const struct qwho *who, size_t limit,
		  struct qinfo_list *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	memset(out, 0, sizeof *out);
	if (limit == 0 || limit > 1000)
		limit = 1000;
	meta_lock(q->meta);
	if (sqlite3_prepare_v2(meta_db(q->meta),
			       "SELECT " HISTORY_COLS " FROM query_history "
			       "WHERE ?1 OR user = ?2 ORDER BY submitted_ms DESC, id LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(q, err, "prepare");
	} else {
		sqlite3_bind_int(st, 1, who->admin);
		sqlite3_bind_text(st, 2, who->user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)limit);
		while (sqlite3_step(st) == SQLITE_ROW) {
			out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
			history_row(st, &out->v[out->n++]);
		}
	}
	sqlite3_finalize(st);
	meta_unlock(q->meta);
	for (size_t k = 0; k < out->n; k++) {
		enum qstate live;
		struct qinfo *i = &out->v[k];
		if ((i->state == QSTATE_QUEUED || i->state == QSTATE_RUNNING) &&
		    live_state(q, i->id, &live))
			i->state = live;
	}
	return rc;
}

/* Bytes of result file read per page at first; doubled while one row does not fit. */
#define RESULT_WINDOW (1u << 20)
#define RESULT_WINDOW_MAX (64u << 20)

/*
 * Reads up to max_rows CSV records of object key from byte *pos, calling
 * sink->row for each when sink is not NULL; *pos moves past them, and
 * *end tells whether the object is exhausted.  Reads in windows, keeping
 * only records that end inside the window (or at the object's end).
 */
static int read_rows(struct qservice *q, const char *key, uint64_t *pos, size_t max_rows,
		     size_t ncols, const struct query_sink *sink, bool *end, char *err)
{
	struct buf win = BUF_INIT(0), scratch = BUF_INIT(0);
	struct query_value *vals = xcalloc(ncols ? ncols : 1, sizeof *vals);
	size_t window = RESULT_WINDOW, rows = 0;
	int rc = 0;
	*end = false;
	while (rc == 0 && rows < max_rows && !*end) {
		uint64_t size = 0;
		buf_reset(&win);
		if ((rc = store_read_at(q->store, key, *pos, window, &win, &size, err)))
			break;
		bool at_end = *pos + win.len >= size;
		size_t off = 0, got = 0;
		while (rows < max_rows) {
			size_t before = off;
			buf_reset(&scratch);
			int r = result_csv_read(win.data, win.len, &off, &scratch, vals, ncols, err);
			if (r == 0)
				break;
			bool whole = r > 0 && (at_end || win.data[off - 1] == '\n');
			if (!whole) {
				if (r < 0 && at_end) {
					rc = tn_fail(err, TN_EINVAL, "page token %llu is not the start "
						     "of a row", (unsigned long long)*pos);
				}
				off = before;
				break;
			}
			if (sink && (rc = sink->row(sink->arg, vals, ncols, err)))
				break;
			rows++;
			got++;
		}
		if (rc)
			break;
		*pos += off;
		if (*pos >= size) {
			*end = true;
			break;
		}
		if (got == 0) {
			if (window >= RESULT_WINDOW_MAX) {
				rc = tn_fail(err, TN_EINVAL, "page token %llu is not the start of a row "
					     "(or a row is larger than %u bytes)",
					     (unsigned long long)*pos, RESULT_WINDOW_MAX);
				break;
			}
			window *= 2;
		}
	}
	free(vals);
	buf_release(&win);
	buf_release(&scratch);
	return rc;
}

int qservice_results(struct qservice *q, const struct qwho *who, const char *id,
		     uint64_t *token, size_t max_rows, const struct query_sink *sink, char *err)
{
	struct qinfo info;
	struct query_column *cols = NULL;
	size_t ncols = 0;
	bool end = false;
	int rc = get_checked(q, who, id, &info, err);
	if (rc)
		return rc;
	if (info.state != QSTATE_SUCCEEDED) {
		rc = tn_fail(err, TN_ECONFLICT, "query '%s' is %s: results exist only once it "
			     "has SUCCEEDED", id, qstate_name(info.state));
		goto out;
	}
	if ((rc = result_columns_parse(info.columns, &cols, &ncols, err)))
		goto out;
	uint64_t pos = *token;
	if (pos == 0 && (rc = read_rows(q, info.result_key, &pos, 1, ncols, NULL, &end, err)))
		goto out;  /* the header line */
	if ((rc = sink->columns(sink->arg, cols, ncols, err)))
		goto out;
	if (!end && max_rows > 0)
		rc = read_rows(q, info.result_key, &pos, max_rows, ncols, sink, &end, err);
	if (rc == 0)
		*token = end ? 0 : pos;
out:
	result_columns_free(cols, ncols);
	qinfo_release(&info);
	return rc;
}

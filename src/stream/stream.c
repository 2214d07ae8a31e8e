/*
 * stream.c - the stream registry, validation and durable appends.
 *
 * Data flow of an append (any connection thread, no global lock held):
 *   1. look the stream up (creating it if allowed) and take a reference;
 *   2. refuse with TN_EAGAIN if its WAL, its flush lag or the free disk
 *      passes a bound (backpressure: memory and disk stay bounded);
 *   3. validate every record with simdjson (json_check_record): one JSON
 *      object, required fields, the timestamp field when partitioning by
 *      field; pretty-printed records are minified so objects stay NDJSON;
 *   4. wal_append (one pwrite for the batch) then wal_sync_to (group
 *      commit) -- only then is the batch acknowledged;
 *   5. note the batch for the flush lag and wake the flusher if a buffer
 *      is full.
 * The registry (streams.mu) is held only to find a stream and count
 * references; a stream being deleted waits for its references to drain.
 * Metastore rows: see catalog/meta.c, table streams.
 */
#include "stream/stream.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/meta.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "stream/stream_int.h"
#include "core/banned.h"

/* ---- names and options ---------------------------------------------- */

int stream_name_check(const char *name, char *err)
{
	size_t n = strlen(name);
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "stream name is empty");
	if (n > TN_MAX_STREAM_NAME)
		return tn_fail(err, TN_EINVAL, "stream name '%.40s...': %zu characters, over %u",
			       name, n, TN_MAX_STREAM_NAME);
	if (name[0] == '.')
		return tn_fail(err, TN_EINVAL, "stream name '%s': must not start with '.'", name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return tn_fail(err, TN_EINVAL,
				       "stream name '%s': character %zu is not one of A-Z a-z 0-9 _ . -",
				       name, i + 1);
	}
	return 0;
}

static int field_name_check(const char *what, const char *f, char *err)
{
	size_t n = strlen(f);
	if (n == 0 || n >= TN_MAX_FIELD_NAME)
		return tn_fail(err, TN_EINVAL, "%s '%s': must be 1 to %u bytes", what, f,
			       TN_MAX_FIELD_NAME - 1);
	return 0;
}

int stream_opts_check(const struct stream_opts *o, char *err)
{
	if (o->buffer_bytes < TN_MIN_BUFFER_BYTES || o->buffer_bytes > TN_MAX_BUFFER_BYTES)
		return tn_fail(err, TN_EINVAL, "buffer_bytes %" PRIu64 ": must be %u to %u",
			       o->buffer_bytes, TN_MIN_BUFFER_BYTES, TN_MAX_BUFFER_BYTES);
	if (o->buffer_ms > 900000)
		return tn_fail(err, TN_EINVAL, "buffer_seconds %.3f: must be 0 to 900",
			       o->buffer_ms / 1000.0);
	if (o->partition == PART_FIELD) {
		int rc = field_name_check("timestamp_field", o->ts_field, err);
		if (rc)
			return rc;
	}
	if (o->nrequired > TN_MAX_REQUIRED_FIELDS)
		return tn_fail(err, TN_EINVAL, "required_fields: at most %u", TN_MAX_REQUIRED_FIELDS);
	for (unsigned i = 0; i < o->nrequired; i++) {
		int rc = field_name_check("required field", o->required[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

int stream_opts_from_json(const char *text, size_t n, struct stream_opts *o, char *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, n, 0, &je);
	if (!root)
		return tn_fail(err, TN_EINVAL, "options: invalid JSON at line %d: %s", je.line,
			       je.text);
	int rc = 0;
	struct stream_opts t = *o;
	const char *key;
	json_t *v;
	if (!json_is_object(root)) {
		rc = tn_fail(err, TN_EINVAL, "options: expected a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "buffer_bytes")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				rc = tn_fail(err, TN_EINVAL, "options: buffer_bytes must be a positive integer");
				goto out;
			}
			t.buffer_bytes = (uint64_t)json_integer_value(v);
		} else if (!strcmp(key, "buffer_seconds")) {
			if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 900) {
				rc = tn_fail(err, TN_EINVAL, "options: buffer_seconds must be 0 to 900");
				goto out;
			}
			t.buffer_ms = (uint32_t)(json_number_value(v) * 1000 + 0.5);
		} else if (!strcmp(key, "partition_by")) {
			const char *s = json_string_value(v);
			if (s && !strcmp(s, "arrival"))
				t.partition = PART_ARRIVAL;
			else if (s && !strcmp(s, "field"))
				t.partition = PART_FIELD;
			else {
				rc = tn_fail(err, TN_EINVAL,
					     "options: partition_by must be \"arrival\" or \"field\"");
				goto out;
			}
		} else if (!strcmp(key, "timestamp_field")) {
			const char *s = json_string_value(v);
			if (json_is_null(v)) {
				t.ts_field[0] = '\0';
			} else if (!s || strlen(s) >= sizeof t.ts_field) {
				rc = tn_fail(err, TN_EINVAL, "options: timestamp_field must be a short string");
				goto out;
			} else {
				snprintf(t.ts_field, sizeof t.ts_field, "%s", s);
				if (!json_object_get(root, "partition_by"))
					t.partition = PART_FIELD;
			}
		} else if (!strcmp(key, "required_fields")) {
			if (!json_is_array(v) || json_array_size(v) > TN_MAX_REQUIRED_FIELDS) {
				rc = tn_fail(err, TN_EINVAL,
					     "options: required_fields must be an array of at most %u names",
					     TN_MAX_REQUIRED_FIELDS);
				goto out;
			}
			size_t i;
			json_t *f;
			t.nrequired = 0;
			json_array_foreach(v, i, f) {
				const char *s = json_string_value(f);
				if (!s || strlen(s) == 0 || strlen(s) >= TN_MAX_FIELD_NAME) {
					rc = tn_fail(err, TN_EINVAL,
						     "options: required_fields[%zu] must be a field name", i);
					goto out;
				}
				snprintf(t.required[t.nrequired++], TN_MAX_FIELD_NAME, "%s", s);
			}
		} else {
			rc = tn_fail(err, TN_EINVAL,
				     "options: unknown option '%s' (buffer_bytes, buffer_seconds, "
				     "partition_by, timestamp_field, required_fields)", key);
			goto out;
		}
	}
	if ((rc = stream_opts_check(&t, err)))
		goto out;
	*o = t;
out:
	json_decref(root);
	return rc;
}

int stream_opts_to_json(const struct stream_opts *o, struct buf *out)
{
	int rc = buf_printf(out, "{\"buffer_bytes\":%" PRIu64 ",\"buffer_seconds\":%g,"
			    "\"partition_by\":\"%s\",\"timestamp_field\":",
			    o->buffer_bytes, o->buffer_ms / 1000.0,
			    o->partition == PART_FIELD ? "field" : "arrival");
	if (rc == 0)
		rc = o->ts_field[0] ? buf_json_str(out, o->ts_field, strlen(o->ts_field)) :
				      buf_puts(out, "null");
	rc = rc ? rc : buf_puts(out, ",\"required_fields\":[");
	for (unsigned i = 0; rc == 0 && i < o->nrequired; i++) {
		if (i)
			rc = buf_putc(out, ',');
		rc = rc ? rc : buf_json_str(out, o->required[i], strlen(o->required[i]));
	}
	return rc ? rc : buf_puts(out, "]}");
}

/* ---- metastore rows ------------------------------------------------- */

static int sql_err(struct streams *ss, char *err, const char *what)
{
	sqlite3 *db = meta_db(ss->meta);
	int code = sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO;
	return tn_fail(err, code, "metastore: %s: %s", what, sqlite3_errmsg(db));
}

/* Runs one statement with text/int64 arguments: fmt chars 't' and 'i'. */
static int meta_run(struct streams *ss, const char *sql, const char *fmt, char *err, ...)
{
	va_list ap;
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(ss->meta);
	if (sqlite3_prepare_v2(meta_db(ss->meta), sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(ss, err, "prepare");
		goto out;
	}
	va_start(ap, err);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_err(ss, err, "write");
out:
	sqlite3_finalize(st);
	meta_unlock(ss->meta);
	return rc;
}

int meta_stream_pending(struct streams *ss, const char *name, uint64_t pending_end, char *err)
{
	return meta_run(ss, "UPDATE streams SET pending_end = ? WHERE name = ?", "it", err,
			(int64_t)pending_end, name);
}

/* ---- registry ------------------------------------------------------- */

static struct stream *stream_new(const char *name, const char *kind, int64_t created_ms,
				 const struct stream_opts *opts)
{
	struct stream *st = xcalloc(1, sizeof *st);
	snprintf(st->name, sizeof st->name, "%s", name);
	snprintf(st->kind, sizeof st->kind, "%s", kind);
	st->created_ms = created_ms;
	st->opts = *opts;
	pthread_mutex_init(&st->mu, NULL);
	return st;
}

static void stream_free(struct stream *st)
{
	if (!st)
		return;
	wal_close(st->wal);
	free(st->lag);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

static int wal_path(struct streams *ss, const char *name, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s/%s", ss->wal_dir, name) >= n ? TN_EINVAL : 0;
}

/* Opens st's WAL and accounts for records recovered in it but not flushed. */
static int stream_attach_wal(struct streams *ss, struct stream *st, char *err)
{
	char dir[PATH_MAX];
	if (wal_path(ss, st->name, dir, sizeof dir))
		return tn_fail(err, TN_EINVAL, "stream '%s': path too long", st->name);
	int rc = wal_open(dir, st->flushed_seq, (uint64_t)ss->cfg.segment_bytes, &st->wal, err);
	if (rc)
		return rc;
	uint64_t durable = wal_durable_seq(st->wal);
	uint64_t from = st->flushed_seq + 1;
	if (durable < from)
		return 0;
	struct wal_cursor *c = NULL;
	rc = wal_cursor_open(st->wal, from, &c, err);
	struct wal_entry e;
	int64_t oldest = 0;
	while (rc == 0 && (rc = wal_cursor_next(c, durable, &e, err)) == 1) {
		if (!oldest)
			oldest = e.arrival_ms;
		st->un_bytes += e.len;
		st->un_quarantined += e.quarantined;
		rc = 0;
	}
	wal_cursor_close(c);
	if (rc < 0)
		return rc;
	st->lag = xmalloc(sizeof *st->lag * 4);
	st->lag_cap = 4;
	st->lag[0].last_seq = durable;
	st->lag[0].arrival_ms = oldest;
	st->lag_head = 0;
	st->lag_len = 1;
	log_info("stream", "'%s': recovered %" PRIu64 " unflushed records from the WAL", st->name,
		 durable - st->flushed_seq);
	return 0;
}

static void registry_add(struct streams *ss, struct stream *st)
{
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? ss->cap * 2 : 16;
		ss->all = xrealloc(ss->all, ss->cap * sizeof *ss->all);
	}
	size_t i = ss->n;
	while (i > 0 && strcmp(ss->all[i - 1]->name, st->name) > 0) {
		ss->all[i] = ss->all[i - 1];
		i--;
	}
	ss->all[i] = st;
	ss->n++;
}

/* Under ss->mu. */
static struct stream *registry_find(struct streams *ss, const char *name)
{
	size_t lo = 0, hi = ss->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ss->all[mid]->name, name);
		if (c == 0)
			return ss->all[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void registry_remove(struct streams *ss, struct stream *st)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->all[i] == st) {
			memmove(ss->all + i, ss->all + i + 1, (ss->n - i - 1) * sizeof *ss->all);
			ss->n--;
			atomic_store(&st->removed, true);
			return;
		}
}

static struct stream *stream_get(struct streams *ss, const char *name)
{
	pthread_mutex_lock(&ss->mu);
	struct stream *st = registry_find(ss, name);
	if (st)
		st->refs++;
	pthread_mutex_unlock(&ss->mu);
	return st;
}

void stream_put(struct streams *ss, struct stream *st)
{
	/*
	 * Read what we need before letting go: once the count is zero a
	 * deleter may free st.  Only a deleter waits for zero; the wake-up is
	 * a courtesy (it also polls), so reading `removed` early cannot hang it.
	 */
	atomic_fetch_add(&ss->putting, 1);
	bool removed = atomic_load(&st->removed);
	if (atomic_fetch_sub(&st->refs, 1) == 1 && removed) {
		pthread_mutex_lock(&ss->mu);
		pthread_cond_broadcast(&ss->cv);
		pthread_mutex_unlock(&ss->mu);
	}
	atomic_fetch_sub(&ss->putting, 1);
}

/* Under ss->mu, with st out of the registry: waits until nobody uses st. */
static void wait_unreferenced(struct streams *ss, struct stream *st)
{
	while (atomic_load(&st->refs) > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ss->cv, &ss->mu, &ts);
	}
}

static int load_streams(struct streams *ss, char *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;
	meta_lock(ss->meta);
	if (sqlite3_prepare_v2(meta_db(ss->meta),
			       "SELECT name, kind, created_ms, options, flushed_seq, pending_end, "
			       "records, bytes, quarantined, objects, last_object, last_flush_ms "
			       "FROM streams WHERE deleted = 0 ORDER BY name",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = sql_err(ss, err, "load streams");
		meta_unlock(ss->meta);
		return rc;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		const char *opts_json = (const char *)sqlite3_column_text(q, 3);
		struct stream_opts o = ss->cfg.defaults;
		char msg[TN_ERRLEN];
		if (stream_opts_from_json(opts_json, strlen(opts_json), &o, msg))
			log_warn("stream", "'%s': stored options ignored: %s", name, msg);
		struct stream *st = stream_new(name, (const char *)sqlite3_column_text(q, 1),
					       sqlite3_column_int64(q, 2), &o);
		st->flushed_seq = (uint64_t)sqlite3_column_int64(q, 4);
		st->pending_end = (uint64_t)sqlite3_column_int64(q, 5);
		st->records = (uint64_t)sqlite3_column_int64(q, 6);
		st->bytes = (uint64_t)sqlite3_column_int64(q, 7);
		st->quarantined = (uint64_t)sqlite3_column_int64(q, 8);
		st->objects = (uint64_t)sqlite3_column_int64(q, 9);
		snprintf(st->last_object, sizeof st->last_object, "%s",
			 (const char *)sqlite3_column_text(q, 10));
		st->last_flush_ms = sqlite3_column_int64(q, 11);
		registry_add(ss, st);
	}
	sqlite3_finalize(q);
	meta_unlock(ss->meta);
	for (size_t i = 0; i < ss->n && rc == 0; i++) {
		char msg[TN_ERRLEN];
		rc = stream_attach_wal(ss, ss->all[i], msg);
		if (rc)
			tn_fail(err, rc, "stream '%s': %s", ss->all[i]->name, msg);
	}
	return rc;
}

int streams_open(const struct streams_config *cfg, struct store *store, struct meta *meta,
		 const char *wal_dir, struct streams **out, char *err)
{
	struct streams *ss = xcalloc(1, sizeof *ss);
	ss->cfg = *cfg;
	ss->store = store;
	ss->meta = meta;
	ss->wal_dir = xstrdup(wal_dir);
	pthread_mutex_init(&ss->mu, NULL);
	pthread_cond_init(&ss->cv, NULL);
	pthread_cond_init(&ss->kick, NULL);
	int rc = os_mkdir_p(wal_dir, 0750, err);
	if (rc == 0)
		rc = load_streams(ss, err);
	/* Redo interrupted flushes before anything new arrives. */
	for (size_t i = 0; i < ss->n && rc == 0; i++) {
		struct stream *st = ss->all[i];
		if (st->pending_end) {
			log_info("stream", "'%s': redoing the flush of records %" PRIu64 "..%" PRIu64,
				 st->name, st->flushed_seq + 1, st->pending_end);
			rc = flush_once(ss, st, err);
			rc = rc > 0 ? 0 : rc;
		}
	}
	if (rc == 0) {
		if (pthread_create(&ss->flusher, NULL, flusher_main, ss) != 0)
			rc = tn_fail(err, TN_EINTERNAL, "cannot start the flusher thread");
		else
			ss->flusher_started = true;
	}
	if (rc) {
		streams_close(ss);
		return rc;
	}
	*out = ss;
	return 0;
}

void streams_close(struct streams *ss)
{
	if (!ss)
		return;
	pthread_mutex_lock(&ss->mu);
	ss->stopping = true;
	pthread_cond_broadcast(&ss->kick);
	pthread_mutex_unlock(&ss->mu);
	if (ss->flusher_started)
		pthread_join(ss->flusher, NULL);
	/* Asynchronous appends still waiting for their commit hold references. */
	pthread_mutex_lock(&ss->mu);
	for (size_t i = 0; i < ss->n; i++) {
		atomic_store(&ss->all[i]->removed, true);
		wait_unreferenced(ss, ss->all[i]);
	}
	pthread_mutex_unlock(&ss->mu);
	/* A put that dropped the last reference may still be about to lock ss->mu. */
	while (atomic_load(&ss->putting) > 0)
		sched_yield();
	/* Every durable record goes into an object before we exit. */
	for (size_t i = 0; i < ss->n; i++) {
		struct stream *st = ss->all[i];
		char msg[TN_ERRLEN];
		int rc;
		if (!st->wal)
			continue;
		while ((rc = flush_once(ss, st, msg)) > 0)
			;
		if (rc < 0)
			log_error("stream", "'%s': final flush failed, records stay in the WAL: %s",
				  st->name, msg);
	}
	for (size_t i = 0; i < ss->n; i++)
		stream_free(ss->all[i]);
	free(ss->all);
	free(ss->wal_dir);
	pthread_cond_destroy(&ss->kick);
	pthread_cond_destroy(&ss->cv);
	pthread_mutex_destroy(&ss->mu);
	free(ss);
}

/* Creates or revives the row and the in-memory stream; under nothing. */
static int stream_make(struct streams *ss, const char *name, const char *kind,
		       const struct stream_opts *opts, bool if_absent, struct stream **out,
		       char *err)
{
	int rc = stream_name_check(name, err);
	if (rc)
		return rc;
	if (opts && (rc = stream_opts_check(opts, err)))
		return rc;
	struct stream_opts o = opts ? *opts : ss->cfg.defaults;
	pthread_mutex_lock(&ss->mu);
	struct stream *st = registry_find(ss, name);
	if (st) {
		if (if_absent) {
			st->refs++;
			*out = st;
		}
		pthread_mutex_unlock(&ss->mu);
		return if_absent ? 0 : tn_fail(err, TN_ECONFLICT, "stream '%s' exists", name);
	}
	if (ss->n >= TN_MAX_STREAMS) {
		pthread_mutex_unlock(&ss->mu);
		return tn_fail(err, TN_ETOOBIG, "too many streams (limit %u)", TN_MAX_STREAMS);
	}
	/* Creation is rare: doing it under the registry lock keeps it simple and race-free. */
	struct buf oj = BUF_INIT(0);
	stream_opts_to_json(&o, &oj);
	int64_t now = time_now_ms();
	rc = meta_run(ss,
		      "INSERT INTO streams(name, kind, created_ms, options) VALUES(?, ?, ?, ?) "
		      "ON CONFLICT(name) DO UPDATE SET deleted = 0, kind = excluded.kind, "
		      "created_ms = excluded.created_ms, options = excluded.options, records = 0, "
		      "bytes = 0, quarantined = 0, objects = 0, last_object = '', last_flush_ms = 0",
		      "ttit", err, name, kind, now, oj.data);
	buf_release(&oj);
	if (rc == 0) {
		st = stream_new(name, kind, now, &o);
		/* A revived stream continues its sequence numbers. */
		sqlite3_stmt *q = NULL;
		meta_lock(ss->meta);
		if (sqlite3_prepare_v2(meta_db(ss->meta),
				       "SELECT flushed_seq FROM streams WHERE name = ?", -1, &q,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				st->flushed_seq = (uint64_t)sqlite3_column_int64(q, 0);
		}
		sqlite3_finalize(q);
		meta_unlock(ss->meta);
		rc = stream_attach_wal(ss, st, err);
		if (rc) {
			stream_free(st);
		} else {
			registry_add(ss, st);
			st->refs++;
			*out = st;
			log_info("stream", "'%s': created (%s)", name, kind);
		}
	}
	pthread_mutex_unlock(&ss->mu);
	return rc;
}

int streams_create(struct streams *ss, const char *name, const char *kind,
		   const struct stream_opts *opts, bool if_absent, char *err)
{
	struct stream *st = NULL;
	int rc = stream_make(ss, name, kind, opts, if_absent, &st, err);
	if (rc == 0)
		stream_put(ss, st);
	return rc;
}

int streams_configure(struct streams *ss, const char *name, const struct stream_opts *opts,
		      char *err)
{
	int rc = stream_opts_check(opts, err);
	if (rc)
		return rc;
	struct stream *st = NULL;
	if ((rc = stream_make(ss, name, "native", opts, true, &st, err)))
		return rc;
	struct buf oj = BUF_INIT(0);
	stream_opts_to_json(opts, &oj);
	rc = meta_run(ss, "UPDATE streams SET options = ? WHERE name = ?", "tt", err, oj.data,
		      name);
	buf_release(&oj);
	if (rc == 0) {
		pthread_mutex_lock(&st->mu);
		st->opts = *opts;
		pthread_mutex_unlock(&st->mu);
	}
	stream_put(ss, st);
	return rc;
}

int streams_delete(struct streams *ss, const char *name, char *err)
{
	pthread_mutex_lock(&ss->mu);
	struct stream *st = registry_find(ss, name);
	if (!st) {
		pthread_mutex_unlock(&ss->mu);
		return tn_fail(err, TN_ENOTFOUND, "stream '%s' not found", name);
	}
	registry_remove(ss, st);
	/* Wait for appends and the flusher to let go of it. */
	wait_unreferenced(ss, st);
	pthread_mutex_unlock(&ss->mu);
	int rc;
	while ((rc = flush_once(ss, st, err)) > 0)
		;
	if (rc == 0)
		rc = meta_run(ss, "UPDATE streams SET deleted = 1 WHERE name = ?", "t", err, name);
	if (rc) {
		/* Put it back: nothing is lost, the caller can retry. */
		pthread_mutex_lock(&ss->mu);
		registry_add(ss, st);
		atomic_store(&st->removed, false);
		pthread_mutex_unlock(&ss->mu);
		return rc;
	}
	char dir[PATH_MAX];
	wal_path(ss, name, dir, sizeof dir);
	wal_close(st->wal);
	st->wal = NULL;
	/* Every record is in an object now: the segments can go. */
	char msg[TN_ERRLEN];
	if (wal_destroy(dir, msg))
		log_warn("stream", "'%s': WAL not removed: %s", name, msg);
	stream_free(st);
	log_info("stream", "'%s': deleted", name);
	return 0;
}

/* ---- appends -------------------------------------------------------- */

/* Per-call scratch of an append: reasons and minified copies. */
struct scratch {
	struct buf arena;    /* reasons and minified records, by offset */
	size_t *data_off;    /* SIZE_MAX: the record's own bytes */
	size_t *reason_off;  /* SIZE_MAX: a good record */
	size_t *reason_len;
};

static int64_t free_bytes_cached(struct streams *ss, int64_t now)
{
	int64_t checked = atomic_load(&ss->free_checked_ms);
	if (now - checked >= 100 || now < checked) {
		atomic_store(&ss->free_bytes, os_free_bytes(store_root(ss->store)));
		atomic_store(&ss->free_checked_ms, now);
	}
	return atomic_load(&ss->free_bytes);
}

int64_t stream_oldest_ms(const struct stream *st)
{
	return st->lag_len ? st->lag[st->lag_head].arrival_ms : 0;
}

/* unflushed and oldest were read under st->mu by the caller. */
static int backpressure(struct streams *ss, struct stream *st, int64_t now, uint64_t unflushed,
			int64_t oldest, struct append_result *res, char *err)
{
	/* Records durable in the WAL but not yet in objects: what a slow flusher piles up. */
	if (unflushed > ss->cfg.wal_max_bytes) {
		res->retry_after_s = 1;
		return tn_fail(err, TN_EAGAIN,
			       "stream '%s': %" PRIu64 " bytes wait to be flushed, over the %" PRIu64
			       "-byte bound; retry later", st->name, unflushed, ss->cfg.wal_max_bytes);
	}
	if (oldest && now - oldest > (int64_t)ss->cfg.max_lag_ms) {
		res->retry_after_s = 5;
		return tn_fail(err, TN_EAGAIN,
			       "stream '%s': the flusher is %.1f s behind, over the %u s bound; "
			       "retry later", st->name, (now - oldest) / 1000.0,
			       ss->cfg.max_lag_ms / 1000);
	}
	int64_t fb = free_bytes_cached(ss, now);
	if (fb >= 0 && (uint64_t)fb < ss->cfg.min_free_bytes) {
		res->retry_after_s = 5;
		return tn_fail(err, TN_EAGAIN,
			       "disk nearly full: %" PRId64 " bytes free, %" PRIu64
			       " kept for flushing; retry later", fb, ss->cfg.min_free_bytes);
	}
	return 0;
}

/*
 * Checks record i; on success may minify it into the arena.  On a bad
 * record returns TN_EINVAL with msg set (without the "record i: " prefix).
 */
static int check_one(const struct stream_opts *o, const struct json_want *want,
		     const struct record *r, struct scratch *sc, size_t i, int64_t arrival,
		     int64_t *part_ms, char *msg)
{
	struct json_found found;
	*part_ms = arrival;
	if (r->len > TN_MAX_RECORD)
		return tn_fail(msg, TN_ETOOBIG, "%zu bytes, over the 1 MiB record limit", r->len);
	int rc = json_check_record(r->data, r->len, want, &found, msg);
	if (rc)
		return rc;
	if (o->partition == PART_FIELD) {
		if (found.ts_kind == JSON_TS_NONE)
			return tn_fail(msg, TN_EINVAL, "missing timestamp field '%s'", o->ts_field);
		if (time_parse(found.ts, found.ts_len, part_ms))
			return tn_fail(msg, TN_EINVAL, "timestamp field '%s': '%.*s' is not a timestamp",
				       o->ts_field, (int)found.ts_len, found.ts);
	}
	if (found.multiline) {
		sc->data_off[i] = sc->arena.len;
		if (json_minify(r->data, r->len, &sc->arena))
			return tn_fail(msg, TN_ETOOBIG, "record too large to store");
	}
	return 0;
}

static void lag_push(struct stream *st, uint64_t last_seq, int64_t arrival)
{
	/* Batches arriving within 10 ms share an entry: the ring stays small. */
	if (st->lag_len) {
		struct lag_ent *tail = &st->lag[(st->lag_head + st->lag_len - 1) % st->lag_cap];
		if (arrival - tail->arrival_ms < 10 && arrival >= tail->arrival_ms) {
			if (last_seq > tail->last_seq)
				tail->last_seq = last_seq;
			return;
		}
	}
	if (st->lag_len == st->lag_cap) {
		size_t cap = st->lag_cap ? st->lag_cap * 2 : 64;
		struct lag_ent *n = xmalloc(cap * sizeof *n);
		for (size_t i = 0; i < st->lag_len; i++)
			n[i] = st->lag[(st->lag_head + i) % st->lag_cap];
		free(st->lag);
		st->lag = n;
		st->lag_cap = cap;
		st->lag_head = 0;
	}
	st->lag[(st->lag_head + st->lag_len) % st->lag_cap] =
		(struct lag_ent){ .last_seq = last_seq, .arrival_ms = arrival };
	st->lag_len++;
}

/*
 * The part of an append both forms share: find or create the stream,
 * check backpressure, validate, write the batch to the WAL and account for
 * it.  On success *stp holds a reference (the caller drops it) and
 * res->first_seq..last_seq are written but not yet durable.
 */
static int append_write(struct streams *ss, const char *name, const struct record *recs,
			size_t n, enum stream_mode mode, struct append_result *res,
			struct stream **stp, char *err)
{
	memset(res, 0, sizeof *res);
	res->bad_index = -1;
	*stp = NULL;
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "no records");
	struct stream *st = stream_get(ss, name);
	int rc = 0;
	if (!st) {
		if (!ss->cfg.auto_create) {
			rc = stream_name_check(name, err);
			return rc ? rc : tn_fail(err, TN_ENOTFOUND,
						 "stream '%s' not found (auto-create is off)", name);
		}
		if ((rc = stream_make(ss, name, mode == STREAM_STRICT ? "native" : "kinesis", NULL,
				      true, &st, err)))
			return rc;
	}
	int64_t now = time_now_ms();
	struct scratch sc = { BUF_INIT(0), NULL, NULL, NULL };
	struct wal_rec *w = NULL;
	pthread_mutex_lock(&st->mu);
	struct stream_opts o = st->opts;
	uint64_t unflushed = st->un_bytes;
	int64_t oldest = stream_oldest_ms(st);
	pthread_mutex_unlock(&st->mu);
	if ((rc = backpressure(ss, st, now, unflushed, oldest, res, err)))
		goto out;
	const char *req[TN_MAX_REQUIRED_FIELDS];
	for (unsigned i = 0; i < o.nrequired; i++)
		req[i] = o.required[i];
	struct json_want want = { req, o.nrequired,
				  o.partition == PART_FIELD ? o.ts_field : NULL };
	w = xcalloc(n, sizeof *w);
	sc.data_off = xmalloc(n * sizeof *sc.data_off);
	sc.reason_off = xmalloc(n * sizeof *sc.reason_off);
	sc.reason_len = xmalloc(n * sizeof *sc.reason_len);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		char msg[TN_ERRLEN];
		sc.data_off[i] = sc.reason_off[i] = SIZE_MAX;
		int crc = check_one(&o, &want, &recs[i], &sc, i, now, &w[i].part_ms, msg);
		if (crc == TN_ETOOBIG || (crc && mode == STREAM_STRICT)) {
			res->bad_index = (long)i;
			rc = tn_fail(err, crc, "record %zu: %s", i, msg);
			goto out;
		}
		if (crc) {
			sc.reason_off[i] = sc.arena.len;
			sc.reason_len[i] = strlen(msg);
			buf_append(&sc.arena, msg, sc.reason_len[i]);
			res->quarantined++;
			w[i].part_ms = now;
		}
	}
	/* The arena is complete: now its addresses are stable. */
	for (size_t i = 0; i < n; i++) {
		if (sc.data_off[i] != SIZE_MAX) {
			w[i].data = sc.arena.data + sc.data_off[i];
			w[i].len = strlen(w[i].data);
		} else {
			w[i].data = recs[i].data;
			w[i].len = recs[i].len;
		}
		if (sc.reason_off[i] != SIZE_MAX) {
			w[i].reason = sc.arena.data + sc.reason_off[i];
			w[i].rlen = sc.reason_len[i];
		}
		bytes += w[i].len;
	}
	uint64_t first;
	if ((rc = wal_append(st->wal, w, n, now, &first, err))) {
		if (rc == TN_ENOSPC)
			res->retry_after_s = 5;
		goto out;
	}
	res->first_seq = first;
	res->last_seq = first + n - 1;
	res->count = n;
	/* Accounted now: the flusher only ever reads up to the durable position. */
	pthread_mutex_lock(&st->mu);
	st->un_bytes += bytes;
	st->un_quarantined += res->quarantined;
	lag_push(st, res->last_seq, now);
	bool full = st->un_bytes >= st->opts.buffer_bytes || st->opts.buffer_ms == 0;
	pthread_mutex_unlock(&st->mu);
	if (full) {
		pthread_mutex_lock(&ss->mu);
		ss->kicked = true;
		pthread_cond_signal(&ss->kick);
		pthread_mutex_unlock(&ss->mu);
	}
out:
	free(w);
	free(sc.data_off);
	free(sc.reason_off);
	free(sc.reason_len);
	buf_release(&sc.arena);
	if (rc)
		stream_put(ss, st);
	else
		*stp = st;
	return rc;
}

int streams_append(struct streams *ss, const char *name, const struct record *recs, size_t n,
		   enum stream_mode mode, struct append_result *res, char *err)
{
	struct stream *st;
	int rc = append_write(ss, name, recs, n, mode, res, &st, err);
	if (rc)
		return rc;
	rc = wal_sync_to(st->wal, res->last_seq, err);
	if (rc)
		res->count = 0;
	stream_put(ss, st);
	return rc;
}

/* An asynchronous append waiting for its group commit. */
struct pending_append {
	struct streams *ss;
	struct stream *st;
	struct append_result res;
	stream_done_fn done;
	void *arg;
};

static void append_durable(void *arg, int rc)
{
	struct pending_append *p = arg;
	char msg[TN_ERRLEN] = "";
	if (rc) {
		tn_fail(msg, rc, "stream '%s': the write-ahead log could not be made durable "
			"(fdatasync failed); the server must restart", p->st->name);
		p->res.count = 0;
	}
	/* Let go of the stream first: whoever done() wakes may close everything. */
	stream_put(p->ss, p->st);
	p->done(p->arg, rc, &p->res, msg);
	free(p);
}

int streams_append_async(struct streams *ss, const char *name, const struct record *recs,
			 size_t n, enum stream_mode mode, struct append_result *res,
			 stream_done_fn done, void *arg, char *err)
{
	struct stream *st;
	int rc = append_write(ss, name, recs, n, mode, res, &st, err);
	if (rc)
		return rc;
	struct pending_append *p = xmalloc(sizeof *p);
	*p = (struct pending_append){ ss, st, *res, done, arg };
	wal_notify(st->wal, res->last_seq, append_durable, p);
	return 0;
}

/* ---- flush requests and introspection ------------------------------- */

int streams_flush(struct streams *ss, const char *name, char *err)
{
	struct stream *st = stream_get(ss, name);
	if (!st)
		return tn_fail(err, TN_ENOTFOUND, "stream '%s' not found", name);
	uint64_t target = wal_durable_seq(st->wal);
	int rc = 0;
	pthread_mutex_lock(&st->mu);
	if (target > st->flush_target)
		st->flush_target = target;
	/* Try now, and judge by this attempt, not by an older failure. */
	st->retry_at_ms = 0;
	st->flush_rc = 0;
	pthread_mutex_unlock(&st->mu);
	pthread_mutex_lock(&ss->mu);
	ss->kicked = true;
	pthread_cond_signal(&ss->kick);
	for (;;) {
		pthread_mutex_lock(&st->mu);
		uint64_t flushed = st->flushed_seq;
		int frc = st->flush_rc;
		if (frc)
			tn_fail(err, frc, "stream '%s': flush failed: %s", name, st->flush_msg);
		pthread_mutex_unlock(&st->mu);
		if (flushed >= target)
			break;
		if (frc) {
			rc = frc;
			break;
		}
		if (ss->stopping) {
			rc = tn_fail(err, TN_EAGAIN, "server is shutting down");
			break;
		}
		pthread_cond_wait(&ss->cv, &ss->mu);
	}
	pthread_mutex_unlock(&ss->mu);
	stream_put(ss, st);
	return rc;
}

static void info_fill(struct stream *st, struct stream_info *out, int64_t now)
{
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", st->name);
	snprintf(out->kind, sizeof out->kind, "%s", st->kind);
	out->created_ms = st->created_ms;
	uint64_t durable = wal_durable_seq(st->wal);
	out->wal_bytes = wal_bytes(st->wal);
	pthread_mutex_lock(&st->mu);
	out->opts = st->opts;
	uint64_t unflushed = durable > st->flushed_seq ? durable - st->flushed_seq : 0;
	out->records = st->records + unflushed;
	out->bytes = st->bytes + st->un_bytes;
	out->quarantined = st->quarantined + st->un_quarantined;
	out->last_seq = durable;
	out->flushed_seq = st->flushed_seq;
	out->objects = st->objects;
	int64_t oldest = stream_oldest_ms(st);
	out->flush_lag_ms = oldest && now > oldest ? now - oldest : 0;
	out->last_flush_ms = st->last_flush_ms;
	snprintf(out->last_object, sizeof out->last_object, "%s", st->last_object);
	if (st->flush_rc)
		snprintf(out->flush_error, sizeof out->flush_error, "%s", st->flush_msg);
	pthread_mutex_unlock(&st->mu);
}

int streams_info(struct streams *ss, const char *name, struct stream_info *out, char *err)
{
	struct stream *st = stream_get(ss, name);
	if (!st)
		return tn_fail(err, TN_ENOTFOUND, "stream '%s' not found", name);
	info_fill(st, out, time_now_ms());
	stream_put(ss, st);
	return 0;
}

int streams_list(struct streams *ss, struct stream_info **out, size_t *n, char *err)
{
	(void)err;
	pthread_mutex_lock(&ss->mu);
	size_t cnt = ss->n;
	struct stream **sts = xmalloc((cnt ? cnt : 1) * sizeof *sts);
	for (size_t i = 0; i < cnt; i++) {
		sts[i] = ss->all[i];
		sts[i]->refs++;
	}
	pthread_mutex_unlock(&ss->mu);
	struct stream_info *infos = xcalloc(cnt ? cnt : 1, sizeof *infos);
	int64_t now = time_now_ms();
	for (size_t i = 0; i < cnt; i++) {
		info_fill(sts[i], &infos[i], now);
		stream_put(ss, sts[i]);
	}
	free(sts);
	*out = infos;
	*n = cnt;
	return 0;
}

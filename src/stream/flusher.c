/*
 * flusher.c - turns WAL ranges into objects in the raw zone.
 *
 * One thread wakes every 50 ms (or when an append fills a buffer, or a
 * flush is asked for) and flushes each stream whose buffer is full, whose
 * oldest waiting record is older than its interval, or that was asked to.
 *
 * A flush of stream S takes the records (flushed_seq, end] and:
 *   1. records end as pending_end in the metastore (a durable commit);
 *   2. groups the records, in sequence order, by (good|quarantined, day)
 *      and writes one object per group, atomically:
 *        <raw>/<S>/YYYY/MM/DD/<HHMMSS>-<first-seq>.json        (NDJSON)
 *        <transient>/quarantine/<S>/YYYY/MM/DD/<HHMMSS>-<first-seq>.json
 *      where the day and HHMMSS come from the partition time of the
 *      group's first record (arrival time, or the record's timestamp
 *      field) -- all of which is stored in the WAL frame;
 *   3. commits flushed_seq = end, pending_end = 0 and the counters;
 *   4. deletes WAL segments wholly at or below end.
 * If the process dies between 1 and 3, the next start redoes exactly the
 * range (flushed_seq, pending_end]: same records, same groups, same names,
 * same bytes -- so objects are replaced by identical copies and no record
 * is lost or written twice.  A range holds at most one buffer's worth of
 * bytes (plus one record), which bounds the flusher's memory.
 *
 * Quarantined records are written one JSON object per line:
 *   {"seq":"12","arrival":"2026-11-22T01:53:30.123Z","reason":"...","data":"<record as a JSON string>"}
 * (data is base64 in "data_base64" when it is not valid UTF-8).
 */
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "store/store.h"
#include "stream/stream_int.h"
#include "core/banned.h"

#define FLUSH_TICK_MS 50
#define RETRY_MS 2000

struct group {
	bool quarantine;
	int year, month, day;
	uint64_t first_seq;
	int64_t first_part_ms;
	struct buf data;
	uint64_t records;
};

struct groups {
	struct group *g;
	size_t n, cap;
};

static struct group *group_for(struct groups *gs, bool q, const struct utc *u, uint64_t seq,
			       int64_t part_ms)
{
	for (size_t i = 0; i < gs->n; i++) {
		struct group *g = &gs->g[i];
		if (g->quarantine == q && g->year == u->year && g->month == u->month &&
		    g->day == u->day)
			return g;
	}
	if (gs->n == gs->cap) {
		gs->cap = gs->cap ? gs->cap * 2 : 4;
		gs->g = xrealloc(gs->g, gs->cap * sizeof *gs->g);
	}
	struct group *g = &gs->g[gs->n++];
	memset(g, 0, sizeof *g);
	g->quarantine = q;
	g->year = u->year;
	g->month = u->month;
	g->day = u->day;
	g->first_seq = seq;
	g->first_part_ms = part_ms;
	buf_init(&g->data, 0);
	return g;
}

static void groups_release(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		buf_release(&gs->g[i].data);
	free(gs->g);
	gs->g = NULL;
	gs->n = gs->cap = 0;
}

static int add_entry(struct groups *gs, const struct wal_entry *e)
{
	struct utc u;
	time_utc(e->part_ms, &u);
	struct group *g = group_for(gs, e->quarantined, &u, e->seq, e->part_ms);
	g->records++;
	if (!e->quarantined) {
		int rc = buf_append(&g->data, e->data, e->len);
		return rc ? rc : buf_putc(&g->data, '\n');
	}
	char ts[40];
	time_format_iso_ms(e->arrival_ms, ts, sizeof ts);
	int rc = buf_printf(&g->data, "{\"seq\":\"%" PRIu64 "\",\"arrival\":\"%s\",\"reason\":",
			    e->seq, ts);
	rc = rc ? rc : buf_json_str(&g->data, e->reason, e->rlen);
	if (utf8_valid(e->data, e->len)) {
		rc = rc ? rc : buf_puts(&g->data, ",\"data\":");
		rc = rc ? rc : buf_json_str(&g->data, e->data, e->len);
	} else {
		rc = rc ? rc : buf_puts(&g->data, ",\"data_base64\":\"");
		rc = rc ? rc : base64_encode(e->data, e->len, &g->data);
		rc = rc ? rc : buf_putc(&g->data, '"');
	}
	return rc ? rc : buf_puts(&g->data, "}\n");
}

static void group_key(struct streams *ss, const char *stream, const struct group *g, char *out,
		      size_t n)
{
	struct utc u;
	time_utc(g->first_part_ms, &u);
	if (g->quarantine)
		snprintf(out, n, "%s/quarantine/%s/%04d/%02d/%02d/%02d%02d%02d-%" PRIu64 ".json",
			 store_zone_dir(ss->store, ZONE_TRANSIENT), stream, g->year, g->month,
			 g->day, u.hour, u.min, u.sec, g->first_seq);
	else
		snprintf(out, n, "%s/%s/%04d/%02d/%02d/%02d%02d%02d-%" PRIu64 ".json",
			 store_zone_dir(ss->store, ZONE_RAW), stream, g->year, g->month, g->day,
			 u.hour, u.min, u.sec, g->first_seq);
}

static int checkpoint(struct streams *ss, struct stream *st, uint64_t end, uint64_t records,
		      uint64_t bytes, uint64_t quarantined, uint64_t objects, const char *last,
		      int64_t now, char *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;
	meta_lock(ss->meta);
	sqlite3 *db = meta_db(ss->meta);
	if (sqlite3_prepare_v2(db,
			       "UPDATE streams SET flushed_seq = ?, pending_end = 0, "
			       "records = records + ?, bytes = bytes + ?, "
			       "quarantined = quarantined + ?, objects = objects + ?, "
			       "last_object = CASE WHEN ? = '' THEN last_object ELSE ? END, "
			       "last_flush_ms = ? WHERE name = ?",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = tn_fail(err, TN_EIO, "metastore: %s", sqlite3_errmsg(db));
	} else {
		sqlite3_bind_int64(q, 1, (int64_t)end);
		sqlite3_bind_int64(q, 2, (int64_t)records);
		sqlite3_bind_int64(q, 3, (int64_t)bytes);
		sqlite3_bind_int64(q, 4, (int64_t)quarantined);
		sqlite3_bind_int64(q, 5, (int64_t)objects);
		sqlite3_bind_text(q, 6, last, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, last, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 8, now);
		sqlite3_bind_text(q, 9, st->name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = tn_fail(err, sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO,
				     "metastore: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(q);
	meta_unlock(ss->meta);
	return rc;
}

int flush_once(struct streams *ss, struct stream *st, char *err)
{
	uint64_t durable = wal_durable_seq(st->wal);
	pthread_mutex_lock(&st->mu);
	uint64_t from = st->flushed_seq + 1;
	uint64_t pending = st->pending_end;
	uint64_t cap = st->opts.buffer_bytes;
	pthread_mutex_unlock(&st->mu);
	if (!pending && from > durable)
		return 0;
	uint64_t limit = pending ? pending : durable;

	struct groups gs = { 0 };
	struct wal_cursor *c = NULL;
	uint64_t end = from - 1, bytes = 0, quarantined = 0;
	int rc = wal_cursor_open(st->wal, from, &c, err);
	while (rc == 0) {
		struct wal_entry e;
		/* A redo takes exactly the pending range; a new flush stops at the size hint. */
		if (!pending && bytes >= cap)
			break;
		rc = wal_cursor_next(c, limit, &e, err);
		if (rc <= 0)
			break;
		rc = add_entry(&gs, &e);
		if (rc) {
			tn_fail(err, rc, "stream '%s': flush buffer too large", st->name);
			break;
		}
		end = e.seq;
		bytes += e.len;
		quarantined += e.quarantined;
	}
	wal_cursor_close(c);
	if (rc < 0)
		goto out;
	rc = 0;
	if (end < from)
		goto out;
	if (pending && end != pending) {
		rc = tn_fail(err, TN_ECORRUPT, "stream '%s': pending flush to %" PRIu64
			     " but the WAL ends at %" PRIu64, st->name, pending, end);
		goto out;
	}
	if (!pending) {
		if ((rc = meta_stream_pending(ss, st->name, end, err)))
			goto out;
		pthread_mutex_lock(&st->mu);
		st->pending_end = end;
		pthread_mutex_unlock(&st->mu);
	}
	char key[TN_MAX_KEY + 1] = "", last[TN_MAX_KEY + 1] = "";
	for (size_t i = 0; i < gs.n; i++) {
		struct group *g = &gs.g[i];
		group_key(ss, st->name, g, key, sizeof key);
		struct iovec iov = { g->data.data, g->data.len };
		if ((rc = store_put(ss->store, key, &iov, 1, STORE_REPLAY | STORE_UNCACHED, err)))
			goto out;
		if (!g->quarantine)
			snprintf(last, sizeof last, "%s", key);
	}
	int64_t now = time_now_ms();
	rc = checkpoint(ss, st, end, end - from + 1, bytes, quarantined, gs.n, last, now, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&st->mu);
	st->flushed_seq = end;
	st->pending_end = 0;
	st->records += end - from + 1;
	st->bytes += bytes;
	st->quarantined += quarantined;
	st->objects += gs.n;
	st->un_bytes = st->un_bytes > bytes ? st->un_bytes - bytes : 0;
	st->un_quarantined = st->un_quarantined > quarantined ? st->un_quarantined - quarantined : 0;
	if (last[0])
		snprintf(st->last_object, sizeof st->last_object, "%s", last);
	st->last_flush_ms = now;
	while (st->lag_len && st->lag[st->lag_head].last_seq <= end) {
		st->lag_head = (st->lag_head + 1) % st->lag_cap;
		st->lag_len--;
	}
	st->flush_rc = 0;
	pthread_mutex_unlock(&st->mu);
	char msg[TN_ERRLEN];
	if (wal_release(st->wal, end, msg))
		log_warn("flush", "'%s': %s", st->name, msg);
	if (ss->cfg.on_flush && last[0]) {
		char prefix[TN_MAX_KEY + 1];
		snprintf(prefix, sizeof prefix, "%s/%s", store_zone_dir(ss->store, ZONE_RAW),
			 st->name);
		ss->cfg.on_flush(ss->cfg.on_flush_arg, st->name, prefix);
	}
	log_debug("flush", "'%s': records %" PRIu64 "..%" PRIu64 " -> %zu object(s)", st->name,
		  from, end, gs.n);
	rc = 1;
out:
	groups_release(&gs);
	return rc;
}

/* Whether st should be flushed now; under st->mu. */
static bool flush_due(struct streams *ss, struct stream *st, int64_t now)
{
	(void)ss;
	if (st->retry_at_ms && now < st->retry_at_ms)
		return false;
	if (st->pending_end)
		return true;
	uint64_t durable = wal_durable_seq(st->wal);
	if (durable <= st->flushed_seq)
		return false;
	if (st->flush_target > st->flushed_seq)
		return true;
	if (st->un_bytes >= st->opts.buffer_bytes)
		return true;
	int64_t oldest = stream_oldest_ms(st);
	return oldest && now - oldest >= (int64_t)st->opts.buffer_ms;
}

static void flush_stream(struct streams *ss, struct stream *st)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		int64_t now = time_now_ms();
		pthread_mutex_lock(&st->mu);
		bool due = flush_due(ss, st, now);
		pthread_mutex_unlock(&st->mu);
		if (!due)
			return;
		char msg[TN_ERRLEN];
		int rc = flush_once(ss, st, msg);
		pthread_mutex_lock(&ss->mu);
		pthread_cond_broadcast(&ss->cv);  /* streams_flush() waiters */
		pthread_mutex_unlock(&ss->mu);
		if (rc > 0)
			continue;
		if (rc < 0) {
			pthread_mutex_lock(&st->mu);
			bool first = st->flush_rc == 0;
			st->flush_rc = rc;
			snprintf(st->flush_msg, sizeof st->flush_msg, "%s", msg);
			st->retry_at_ms = now + RETRY_MS;
			pthread_mutex_unlock(&st->mu);
			if (first)
				log_error("flush", "'%s': %s; retrying every %d s", st->name, msg,
					  RETRY_MS / 1000);
			pthread_mutex_lock(&ss->mu);
			pthread_cond_broadcast(&ss->cv);
			pthread_mutex_unlock(&ss->mu);
		}
		return;
	}
}

void *flusher_main(void *arg)
{
	struct streams *ss = arg;
	pthread_mutex_lock(&ss->mu);
	while (!ss->stopping) {
		size_t n = ss->n;
		struct stream **sts = xmalloc((n ? n : 1) * sizeof *sts);
		for (size_t i = 0; i < n; i++) {
			sts[i] = ss->all[i];
			sts[i]->refs++;
		}
		ss->kicked = false;
		pthread_mutex_unlock(&ss->mu);
		for (size_t i = 0; i < n; i++)
			flush_stream(ss, sts[i]);
		for (size_t i = 0; i < n; i++)
			stream_put(ss, sts[i]);
		pthread_mutex_lock(&ss->mu);
		free(sts);
		if (ss->stopping || ss->kicked)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ss->kick, &ss->mu, &ts);
	}
	pthread_mutex_unlock(&ss->mu);
	return NULL;
}

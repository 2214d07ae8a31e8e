/*
 * api_streams.c - the native stream API under /v1/streams.
 *
 * Thin translation onto stream.h: path parameters and small JSON documents
 * (jansson) in, core calls with the authenticated principal, JSON out.
 * The record path (POST .../records) never parses records with jansson:
 * batch.h splits the body into struct records pointing into it, and the
 * stream core validates each one with simdjson as it appends.
 *
 * Sequence numbers go out as strings, like Kinesis's, so clients whose JSON
 * numbers are doubles never round them.  An append is acknowledged only
 * once the records are durable: the handler suspends the connection, hands
 * the batch to streams_append_async, and answers when the completion has
 * resumed the request (records_answer, on the loop thread again).  Flush
 * and delete, which may take seconds, run on a worker thread (http_defer);
 * the other handlers are short blocking calls on the loop thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "http/http_int.h"
#include "policy/policy.h"
#include "stream/batch.h"
#include "stream/stream.h"

#include "core/banned.h"

/* The {name} of the path, checked.  Answers and returns NULL if invalid. */
static const char *stream_param(struct http_req *r)
{
	char err[TN_ERRLEN];

	if (stream_name_check(r->param[0], err) != 0) {
		http_reply_error(r, TN_EINVAL, err);
		return NULL;
	}
	return r->param[0];
}

static json_t *json_time_or_null(int64_t ms)
{
	char s[40];

	if (ms <= 0)
		return json_null();
	time_format_iso_ms(ms, s, sizeof(s));
	return json_string(s);
}

static json_t *json_seq(uint64_t seq)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)seq);
	return json_string(s);
}

/* The JSON of one stream (GET /v1/streams/{name}); NULL never. */
static json_t *info_json(const struct stream_info *in)
{
	struct buf opts = BUF_INIT(0);
	json_t *o, *jopts = NULL;

	if (stream_opts_to_json(&in->opts, &opts) == 0)
		jopts = json_loadb(opts.data, opts.len, 0, NULL);
	buf_release(&opts);
	o = json_pack("{s:s,s:s,s:o,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:o}",
		      "name", in->name,
		      "kind", in->kind,
		      "created_at", json_time_or_null(in->created_ms),
		      "records", (json_int_t)in->records,
		      "bytes", (json_int_t)in->bytes,
		      "quarantined", (json_int_t)in->quarantined,
		      "last_seq", json_seq(in->last_seq),
		      "flushed_seq", json_seq(in->flushed_seq),
		      "wal_bytes", (json_int_t)in->wal_bytes,
		      "objects", (json_int_t)in->objects,
		      "flush_lag_ms", (json_int_t)in->flush_lag_ms,
		      "last_flush_at", json_time_or_null(in->last_flush_ms),
		      "last_object", in->last_object[0] ? json_string(in->last_object) : json_null(),
		      "flush_error", in->flush_error[0] ? json_string(in->flush_error) : json_null(),
		      "options", jopts ? jopts : json_object());
	if (!o)
		TN_BUG("json_pack of stream '%s'", in->name);
	return o;
}

/* Answers 200 with the info of name (after a change), or the error. */
static void reply_info(struct http_req *r, const char *name, int status)
{
	struct stream_info info;
	char err[TN_ERRLEN];
	int rc = streams_info(r->deps->streams, name, &info, err);

	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_reply_json(r, status, info_json(&info));
}

/* GET /v1/streams  -> 200 {"streams": [{info}, ...]} */
void api_streams_list(struct http_req *r)
{
	struct stream_info *all = NULL;
	size_t n = 0, i;
	char err[TN_ERRLEN];
	json_t *arr;
	int rc = streams_list(r->deps->streams, &all, &n, err);

	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, info_json(&all[i]));
	free(all);
	http_reply_json(r, 200, json_pack("{s:o}", "streams", arr));
}

/* GET /v1/streams/{name}  -> 200 {info} | 404 */
void api_stream_get(struct http_req *r)
{
	const char *name = stream_param(r);

	if (name)
		reply_info(r, name, 200);
}

void http_stream_defaults(const struct tn_config *cfg, struct stream_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->buffer_bytes = (uint64_t)cfg->streams_buffer_bytes;
	o->buffer_ms = (uint32_t)(cfg->streams_buffer_s * 1000);
	o->partition = PART_ARRIVAL;
}

/*
 * PUT /v1/streams/{name}  body: options {"buffer_bytes": N, "buffer_seconds": N,
 *   "partition_by": "arrival"|"field", "timestamp_field": "...", "required_fields": [...]}
 *   -> 200 {info} (changed) | 201 {info} (created)
 * Members absent keep their current value (the defaults for a new stream).
 */
void api_stream_put(struct http_req *r)
{
	const char *name = stream_param(r);
	struct stream_info cur;
	struct stream_opts o;
	struct str body;
	char err[TN_ERRLEN];
	bool exists;
	int rc;

	if (!name)
		return;
	rc = streams_info(r->deps->streams, name, &cur, err);
	if (rc && rc != TN_ENOTFOUND) {
		http_reply_error(r, rc, err);
		return;
	}
	exists = rc == 0;
	if (exists)
		o = cur.opts;
	else
		http_stream_defaults(r->deps->cfg, &o);
	body = str_trim(str_make(r->body.data, r->body.len));
	if (body.n && (rc = stream_opts_from_json(body.p, body.n, &o, err)) != 0) {
		http_reply_error(r, rc, err);
		return;
	}
	if ((rc = stream_opts_check(&o, err)) != 0) {
		http_reply_error(r, rc, err);
		return;
	}
	if (!exists) {
		rc = streams_create(r->deps->streams, name, "native", &o, false, err);
		if (rc == 0) {
			reply_info(r, name, 201);
			return;
		}
		if (rc != TN_ECONFLICT) {
			http_reply_error(r, rc, err);
			return;
		}
		/* created by a concurrent request meanwhile: configure it */
	}
	rc = streams_configure(r->deps->streams, name, &o, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	reply_info(r, name, 200);
}

/* Worker thread of a delete (it flushes the stream's durable records first). */
static void delete_work(struct http_req *r)
{
	char err[TN_ERRLEN];
	int rc = streams_delete(r->deps->streams, r->param[0], err);

	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_reply_empty(r, 204);
}

/* DELETE /v1/streams/{name}  -> 204 | 404 */
void api_stream_delete(struct http_req *r)
{
	if (stream_param(r))
		http_defer(r, delete_work);
}

/* Worker thread of a flush. */
static void flush_work(struct http_req *r)
{
	char err[TN_ERRLEN];
	int rc = streams_flush(r->deps->streams, r->param[0], err);

	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	reply_info(r, r->param[0], 200);
}

/* POST /v1/streams/{name}/flush  -> 200 {info} once every durable record is in an object */
void api_stream_flush(struct http_req *r)
{
	if (stream_param(r))
		http_defer(r, flush_work);
}

/* The state of an append kept across the suspension: the records point into
 * the batch or into r->body, both alive until the request completes. */
struct append_call {
	struct batch b;
};

static void append_call_free(void *ctx)
{
	struct append_call *ac = ctx;

	batch_release(&ac->b);
	free(ac);
}

/* Loop thread, after the completion resumed the request: the answer. */
static void records_answer(struct http_req *r)
{
	const struct append_result *res = &r->append_res;
	int rc = r->async_rc;
	struct buf *out;

	if (rc) {
		json_t *extra = NULL;

		if (rc == TN_EINVAL && res->bad_index >= 0)
			extra = json_pack("{s:I}", "index", (json_int_t)res->bad_index);
		http_reply_error_ex(r, rc, r->async_err, extra, res->retry_after_s);
		return;
	}
	/* by hand, not jansson: this is the answer of every append */
	out = http_reply_json_buf(r, 200);
	buf_puts(out, "{\"stream\":");
	buf_json_str(out, r->param[0], strlen(r->param[0]));
	buf_puts(out, ",\"count\":");
	buf_put_u64(out, res->count);
	buf_puts(out, ",\"first_seq\":\"");
	buf_put_u64(out, res->first_seq);
	buf_puts(out, "\",\"last_seq\":\"");
	buf_put_u64(out, res->last_seq);
	buf_puts(out, "\"}\n");
}

/*
 * POST /v1/streams/{name}/records  body: NDJSON | JSON array | object
 *   -> 200 {"stream": "x", "count": N, "first_seq": "123", "last_seq": "130"}
 *      once the records are durable;
 *      400 {"error": {"code": "invalid", "message": "record 3: ...", "index": 3}}
 *      if any record is bad (nothing is appended); 404 if the stream does not
 *      exist and streams.auto_create is off; 503 + Retry-After under backpressure.
 */
void api_records_append(struct http_req *r)
{
	const char *name = stream_param(r);
	struct append_call *ac;
	char err[TN_ERRLEN];
	int rc;

	if (!name)
		return;
	/* admins put anywhere; other users where a stream grant lets them */
	if (!r->who.is_admin &&
	    !policy_allows(r->deps->policy, r->who.name, GRANT_STREAM, name)) {
		char msg[TN_ERRLEN];
		snprintf(msg, sizeof msg, "user '%s' has no grant to put records into stream '%s'",
			 r->who.name, name);
		http_audit(r, "denied", r->who.name, json_pack("{s:s}", "reason", msg));
		http_reply_error(r, TN_EDENIED, msg);
		return;
	}
	ac = xcalloc(1, sizeof(*ac));
	batch_init(&ac->b);
	rc = batch_parse(&ac->b, r->body.data, r->body.len,
			 http_req_header(r, "Content-Type"), err);
	if (rc) {
		http_reply_error_ex(r, rc, err,
				    ac->b.bad_index >= 0 ? json_pack("{s:I}", "index",
								     (json_int_t)ac->b.bad_index)
							 : NULL,
				    1);
		append_call_free(ac);
		return;
	}
	/* suspend first: the completion may come before streams_append_async returns */
	if (!http_suspend(r, records_answer, ac, append_call_free))
		return;
	memset(&r->append_res, 0, sizeof(r->append_res));
	r->append_res.bad_index = -1;
	rc = streams_append_async(r->deps->streams, name, ac->b.recs, ac->b.n, STREAM_STRICT,
				  &r->append_res, http_append_done, r, err);
	if (rc < 0)
		http_append_refused(r, rc, err);
	/* rc == 0: r belongs to the completion now; touch nothing */
}

/*
 * api_query.c - SQL over /v1 (the Athena API's role).
 *
 *   POST   /v1/query                 run now; the answer holds the rows
 *   POST   /v1/queries               start in the background -> 202 {"query_id"}
 *   GET    /v1/queries               history, newest first (?limit=)
 *   GET    /v1/queries/{id}          state, timings, bytes scanned, rows, error
 *   GET    /v1/queries/{id}/results  a page of rows (?max_results=, ?next_token=)
 *   DELETE /v1/queries/{id}          cancel a queued or running query
 *
 * A body is {"sql": "...", "timeout": seconds} or, with Content-Type
 * text/plain or application/sql, the SQL itself.  POST /v1/query answers
 * JSON ({"query_id", "columns", "rows", "stats", "result_location", ...}),
 * CSV with Accept: text/csv, or NDJSON (one object per row) with Accept:
 * application/x-ndjson; the query id is also in the X-Tarn-Query-Id
 * header.  A result larger than query.max_result_size stops the query
 * with 413: page through it with /v1/queries instead.  Every query, both
 * kinds, leaves its CSV in the user's result folder (query/service.h).
 * Errors carry the query id and, when known, the position in the SQL.
 *
 * Threads: queries and result pages read files, so they run on worker
 * threads (http_defer); starting, listing, looking up and canceling are
 * metastore calls on the loop thread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/mem.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http_int.h"
#include "query/result.h"
#include "query/service.h"

#include "core/banned.h"

/* Rows of one results page at most (Athena's MaxResults is 1000). */
#define RESULTS_PAGE_MAX 1000u

enum answer_format { ANSWER_JSON, ANSWER_CSV, ANSWER_NDJSON };

static bool body_is_sql(struct http_req *r)
{
	const char *ct = http_req_header(r, "Content-Type");
	return ct && (!strncasecmp(ct, "text/plain", 10) || !strncasecmp(ct, "application/sql", 15));
}

/*
 * The SQL and timeout of a query body (sql: caller frees).  Answers and
 * returns false when the body is bad.
 */
static bool query_body(struct http_req *r, char **sql, int64_t *timeout_ms)
{
	char err[TN_ERRLEN];
	*sql = NULL;
	*timeout_ms = 0;
	if (body_is_sql(r)) {
		if (memchr(r->body.data, 0, r->body.len)) {
			http_reply_error(r, TN_EINVAL, "the SQL holds a NUL byte");
			return false;
		}
		*sql = strndup(r->body.data, r->body.len);
	} else {
		json_t *doc = http_body_json(r, err);
		if (!doc) {
			http_reply_error(r, TN_EINVAL, err);
			return false;
		}
		json_t *s = json_object_get(doc, "sql"), *t = json_object_get(doc, "timeout");
		if (!json_is_string(s)) {
			json_decref(doc);
			http_reply_error(r, TN_EINVAL, "the body needs \"sql\": a string "
					 "(or send the SQL as text/plain)");
			return false;
		}
		if (t && !json_is_null(t)) {
			if (!json_is_number(t) || json_number_value(t) <= 0 ||
			    json_number_value(t) > 7 * 86400) {
				json_decref(doc);
				http_reply_error(r, TN_EINVAL, "\"timeout\" must be a number of seconds "
						 "between 0 and 604800");
				return false;
			}
			*timeout_ms = (int64_t)(json_number_value(t) * 1000);
			if (*timeout_ms < 1)
				*timeout_ms = 1;
		}
		*sql = strndup(json_string_value(s), json_string_length(s));
		json_decref(doc);
	}
	if (!*sql || !(*sql)[strspn(*sql, " \t\r\n")]) {
		free(*sql);
		*sql = NULL;
		http_reply_error(r, TN_EINVAL, "the SQL is empty");
		return false;
	}
	return true;
}

static void who_of(const struct http_req *r, struct qwho *w)
{
	w->user = r->who.name;
	w->admin = r->who.is_admin;
}

/* A query error: {"error": {"code", "message", "query_id", "position"}}. */
static void reply_query_error(struct http_req *r, int rc, const char *msg, const char *id,
			      long pos)
{
	json_t *extra = json_object();
	if (id && id[0])
		json_object_set_new(extra, "query_id", json_string(id));
	if (pos >= 0)
		json_object_set_new(extra, "position", json_integer(pos));
	http_reply_error_ex(r, rc, msg, extra, 1);
}

/* ---- POST /v1/query ---- */

struct sync_sink {
	enum answer_format fmt;
	struct buf rows;          /* capped at query.max_result_size */
	struct query_column *cols;
	size_t ncols;
	size_t nrows;
	int64_t cap;
};

static int sync_columns(void *arg, const struct query_column *cols, size_t n, char *err)
{
	struct sync_sink *s = arg;
	s->cols = result_columns_dup(cols, n);
	s->ncols = n;
	if (s->fmt == ANSWER_CSV && result_csv_header(&s->rows, cols, n))
		goto big;
	return 0;
big:
	return tn_fail(err, TN_ETOOBIG, "the result is larger than query.max_result_size "
		       "(%lld bytes): run it with POST /v1/queries and page through "
		       "GET /v1/queries/{id}/results", (long long)s->cap);
}

static int sync_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	struct sync_sink *s = arg;
	int rc;
	switch (s->fmt) {
	case ANSWER_CSV:
		rc = result_csv_row(&s->rows, v, n);
		break;
	case ANSWER_NDJSON:
		rc = result_ndjson_row(&s->rows, s->cols, v, n);
		break;
	default:
		rc = s->nrows ? buf_puts(&s->rows, ",\n  ") : 0;
		if (rc == 0)
			rc = result_json_row(&s->rows, s->cols, v, n);
		break;
	}
	s->nrows++;
	if (rc)
		return tn_fail(err, TN_ETOOBIG, "the result is larger than query.max_result_size "
			       "(%lld bytes): run it with POST /v1/queries and page through "
			       "GET /v1/queries/{id}/results", (long long)s->cap);
	return 0;
}

static enum answer_format answer_format(struct http_req *r)
{
	const char *a = http_req_header(r, "Accept");
	if (a && strstr(a, "text/csv"))
		return ANSWER_CSV;
	if (a && (strstr(a, "application/x-ndjson") || strstr(a, "application/jsonl")))
		return ANSWER_NDJSON;
	return ANSWER_JSON;
}

static void query_work(struct http_req *r)
{
	char *sql, err[TN_ERRLEN];
	int64_t timeout_ms;
	struct qwho who;
	struct qinfo info;
	if (!query_body(r, &sql, &timeout_ms))
		return;
	who_of(r, &who);
	struct sync_sink s = { .fmt = answer_format(r), .cap = r->deps->cfg->query_max_result_bytes };
	buf_init(&s.rows, (size_t)s.cap);
	struct query_sink sink = { .columns = sync_columns, .row = sync_row, .arg = &s };
	int rc = qservice_run(r->deps->queries, &who, sql, timeout_ms, &sink, &info, err);
	if (rc) {
		reply_query_error(r, rc, err, info.id, info.stats.error_pos);
	} else if (s.fmt == ANSWER_JSON) {
		struct buf *out = http_reply_json_buf(r, 200);
		qinfo_json(&info, out);
		buf_truncate(out, out->len - 1);  /* the closing brace */
		buf_puts(out, ", \"rows\": [\n  ");
		buf_append(out, s.rows.data, s.rows.len);
		buf_puts(out, "]}\n");
	} else {
		struct buf *out = http_reply_json_buf(r, 200);
		r->content_type = s.fmt == ANSWER_CSV ? "text/csv; charset=utf-8"
						      : "application/x-ndjson";
		buf_append(out, s.rows.data, s.rows.len);
	}
	if (info.id[0])
		http_header_add(r, "X-Tarn-Query-Id", "%s", info.id);
	qinfo_release(&info);
	result_columns_free(s.cols, s.ncols);
	buf_release(&s.rows);
	free(sql);
}

void api_query(struct http_req *r)
{
	http_defer(r, query_work);
}

/* ---- /v1/queries ---- */

void api_queries_start(struct http_req *r)
{
	char *sql, err[TN_ERRLEN], id[QUERY_ID_LEN + 1];
	int64_t timeout_ms;
	struct qwho who;
	if (!query_body(r, &sql, &timeout_ms))
		return;
	who_of(r, &who);
	int rc = qservice_start(r->deps->queries, &who, sql, timeout_ms, id, err);
	free(sql);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_header_add(r, "Location", "/v1/queries/%s", id);
	http_reply_json(r, 202, json_pack("{s:s, s:s}", "query_id", id, "state", "QUEUED"));
}

void api_queries_list(struct http_req *r)
{
	char lim[16], err[TN_ERRLEN];
	size_t limit = 100;
	int prc = http_query_param(r->raw_query, "limit", lim, sizeof lim);
	if (prc < 0 || (prc == 1 && (strspn(lim, "0123456789") != strlen(lim) ||
				     (limit = strtoul(lim, NULL, 10)) < 1 || limit > 1000))) {
		http_reply_error(r, TN_EINVAL, "query parameter 'limit' must be 1..1000");
		return;
	}
	struct qwho who;
	struct qinfo_list l;
	who_of(r, &who);
	int rc = qservice_list(r->deps->queries, &who, limit, &l, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	struct buf *out = http_reply_json_buf(r, 200);
	buf_puts(out, "{\"queries\": [");
	for (size_t i = 0; i < l.n; i++) {
		buf_puts(out, i ? ",\n  " : "\n  ");
		qinfo_json(&l.v[i], out);
	}
	buf_puts(out, "]}\n");
	qinfo_list_release(&l);
}

void api_queries_get(struct http_req *r)
{
	char err[TN_ERRLEN];
	struct qwho who;
	struct qinfo info;
	who_of(r, &who);
	int rc = qservice_get(r->deps->queries, &who, r->param[0], &info, err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	struct buf *out = http_reply_json_buf(r, 200);
	qinfo_json(&info, out);
	buf_putc(out, '\n');
	qinfo_release(&info);
}

void api_queries_cancel(struct http_req *r)
{
	char err[TN_ERRLEN];
	struct qwho who;
	who_of(r, &who);
	int rc = qservice_cancel(r->deps->queries, &who, r->param[0], err);
	if (rc) {
		http_reply_error(r, rc, err);
		return;
	}
	http_reply_json(r, 202, json_pack("{s:s, s:s}", "query_id", r->param[0], "state",
					  "CANCELLING"));
}

/*
 * Page tokens: "<offset>.<check>", the check being 8 hex digits of
 * SHA-256("<query id>:<offset>"), so a token that this API did not give
 * for this query (a typo, an offset inside a row) is refused instead of
 * yielding garbage rows.  Tokens stay valid across restarts.
 */
static void token_check(const char *id, uint64_t off, char out[9])
{
	char msg[80];
	uint8_t h[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	int n = snprintf(msg, sizeof msg, "%s:%llu", id, (unsigned long long)off);
	crypto_sha256(msg, (size_t)n, h);
	hex_encode(h, 4, hex);
	memcpy(out, hex, 9);
}

static bool token_parse(const char *id, const char *tok, uint64_t *off)
{
	char *end, check[9];
	if (tok[0] < '1' || tok[0] > '9')
		return false;
	unsigned long long v = strtoull(tok, &end, 10);
	if (*end != '.' || strlen(end + 1) != 8)
		return false;
	token_check(id, v, check);
	if (strcmp(check, end + 1))
		return false;
	*off = v;
	return true;
}

/* A results page: columns, then rows as JSON arrays. */
struct page_sink {
	struct buf *out;
	struct query_column *cols;
	size_t ncols, nrows;
};

static int page_columns(void *arg, const struct query_column *cols, size_t n, char *err)
{
	struct page_sink *p = arg;
	p->cols = result_columns_dup(cols, n);
	p->ncols = n;
	buf_puts(p->out, "\"columns\": ");
	result_json_columns(p->out, cols, n);
	buf_puts(p->out, ", \"rows\": [");
	return 0;
}

static int page_row(void *arg, const struct query_value *v, size_t n, char *err)
{
	struct page_sink *p = arg;
	buf_puts(p->out, p->nrows++ ? ",\n  " : "\n  ");
	return result_json_row(p->out, p->cols, v, n);
}

static void results_work(struct http_req *r)
{
	char tok[32], max[16], err[TN_ERRLEN];
	uint64_t token = 0;
	size_t max_rows = RESULTS_PAGE_MAX;
	int prc = http_query_param(r->raw_query, "next_token", tok, sizeof tok);
	if (prc < 0 || (prc == 1 && !token_parse(r->param[0], tok, &token))) {
		http_reply_error(r, TN_EINVAL, "query parameter 'next_token' is not a token "
				 "this API gave");
		return;
	}
	prc = http_query_param(r->raw_query, "max_results", max, sizeof max);
	if (prc < 0 || (prc == 1 && (strspn(max, "0123456789") != strlen(max) ||
				     (max_rows = strtoul(max, NULL, 10)) < 1 ||
				     max_rows > RESULTS_PAGE_MAX))) {
		http_reply_error(r, TN_EINVAL, "query parameter 'max_results' must be 1..1000");
		return;
	}
	struct qwho who;
	who_of(r, &who);
	struct buf body = BUF_INIT(0);
	struct page_sink p = { .out = &body };
	struct query_sink sink = { .columns = page_columns, .row = page_row, .arg = &p };
	buf_printf(&body, "{\"query_id\": \"%s\", ", r->param[0]);
	int rc = qservice_results(r->deps->queries, &who, r->param[0], &token, max_rows, &sink,
				  err);
	if (rc) {
		http_reply_error(r, rc, err);
	} else {
		struct buf *out = http_reply_json_buf(r, 200);
		buf_append(out, body.data, body.len);
		char check[9];
		token_check(r->param[0], token, check);
		if (token)
			buf_printf(out, "], \"next_token\": \"%llu.%s\"}\n",
				   (unsigned long long)token, check);
		else
			buf_puts(out, "], \"next_token\": null}\n");
	}
	result_columns_free(p.cols, p.ncols);
	buf_release(&body);
}

void api_queries_results(struct http_req *r)
{
	http_defer(r, results_work);
}

/*
 * server.c - the HTTP listener: daemon, request lifecycle, routing table,
 * body caps, Basic/Bearer authentication, suspended requests, and the
 * reply helpers.
 *
 * Design.  conn.c runs a small pool of event-loop threads (http.threads)
 * and moves the bytes; this file is what a request means.  A connection is
 * served by one loop thread for its whole life, and a request goes through
 * these steps, all on that thread:
 *
 *   req_new       conn.c found a request head: allocate struct http_req
 *   req_start     the head is parsed (raw path and query kept for SigV4):
 *                 route it, check Content-Length against the route's cap,
 *                 authenticate Basic or Bearer (the AWS route only checks
 *                 that credentials are present).  Any failure is answered
 *                 here, before the body is read; conn.c then closes the
 *                 connection once the answer is out.
 *   req_body      body pieces appended to r->body (capped per route), or
 *                 streamed to the edge's body_fn
 *   req_dispatch  body complete: call the route's handler, which fills the
 *                 answer through the http_reply_* helpers -- or suspends
 *   req_resumed   a suspended request is handed back: its resume function
 *                 builds the answer
 *   req_end       the answer is out (or the client left): log it, free it
 *
 * Suspended requests.  A handler must not block its loop thread on a
 * group commit (every other connection of the thread would wait), so the
 * record paths suspend the request (http_suspend) and hand it to the
 * stream core with streams_append_async; the core's sync thread calls
 * http_append_done once the records are durable, which stores the outcome
 * and resumes the request (conn_resume queues the connection on its loop
 * and wakes the loop through its eventfd, once per batch of resumes).  The
 * loop then calls req_resumed, and the resume function answers.  Order
 * matters: the request is marked suspended before the work is handed off,
 * because the completion may come at once -- even before the handler
 * returns.  The hand-over is r->async_state, stored with release by the
 * resumer before conn_resume and read with acquire by the loop thread.
 * Slow blocking calls (a commit's fsyncs, a query) use the same mechanism
 * on a worker thread (http_defer): an idle one of the server's pool, or a
 * new one, never queued behind other work (core/workers.h).
 *
 * Shutdown (http_stop): stop accepting, wait (bounded) for the requests
 * whose body is complete -- their handler is running, they are suspended
 * waiting for durability, or their answer is being sent -- then stop the
 * loops, which close idle and half-received connections.  A slow client
 * cannot hold the shutdown.  The loops must never stop with a request
 * suspended, so http_stop then closes suspension (http_suspend refuses
 * from that moment) and waits for every suspended request to be resumed,
 * without a bound: the stream core completes every batch it accepted.
 *
 * Body caps.  A Content-Length past the cap is refused with 413 before a
 * byte of the body is read.  A chunked body that grows past it is read and
 * dropped -- at most another cap's worth, after which the connection is
 * closed -- and 413 is the answer.
 *
 * Invariants: a struct http_req belongs to its connection's loop thread,
 * except while suspended (see http_int.h); the server struct is read-only
 * after http_start except the atomic counters and flags used by http_stop.
 * Every answer goes through send_answer(), so every response has a request
 * id and is logged once.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "auth/auth.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/tls.h"
#include "core/workers.h"
#include "http/http_int.h"
#include "policy/audit.h"

#include "core/banned.h"

/*
 * The routes.  To add one: write the handler in the api_*.c file of its
 * area, preceded by its wire syntax comment, declare it in http_int.h, and
 * add a row here: method, path pattern ({x} matches one segment and is
 * passed in r->param[]), flags (ROUTE_PUBLIC: no authentication;
 * ROUTE_AWS: AWS JSON 1.1 with SigV4 and AWS-style errors) and the body
 * cap.  The first row whose method and pattern match wins.
 */
static const struct route routes[] = {
	{ "GET",    "/healthz",                   ROUTE_PUBLIC, TN_MAX_API_BODY,   api_healthz },
	{ "POST",   "/v1/tokens",                 ROUTE_USER,   TN_MAX_API_BODY,   api_tokens_create },
	{ "GET",    "/v1/streams",                0,            TN_MAX_API_BODY,   api_streams_list },
	{ "GET",    "/v1/streams/{name}",         0,            TN_MAX_API_BODY,   api_stream_get },
	{ "PUT",    "/v1/streams/{name}",         0,            TN_MAX_API_BODY,   api_stream_put },
	{ "DELETE", "/v1/streams/{name}",         0,            TN_MAX_API_BODY,   api_stream_delete },
	{ "POST",   "/v1/streams/{name}/records", ROUTE_USER,   TN_MAX_BATCH_BODY, api_records_append },
	{ "POST",   "/v1/streams/{name}/flush",   0,            TN_MAX_API_BODY,   api_stream_flush },
	{ "POST",   "/v1/crawl",                  0,            TN_MAX_API_BODY,   api_crawl },
	{ "GET",    "/v1/catalog/tables",         ROUTE_USER,   TN_MAX_API_BODY,   api_catalog_tables },
	{ "GET",    "/v1/catalog/tables/{name}",  ROUTE_USER,   TN_MAX_API_BODY,   api_catalog_table },
	{ "PUT",    "/v1/catalog/tables/{name}/columns/{column}/tags",
						  0,            TN_MAX_API_BODY,   api_catalog_tag },
	{ "GET",    "/v1/catalog/errors",         0,            TN_MAX_API_BODY,   api_catalog_errors },
	{ "POST",   "/v1/query",                  ROUTE_USER,   TN_MAX_SQL_BODY,   api_query },
	{ "POST",   "/v1/queries",                ROUTE_USER,   TN_MAX_SQL_BODY,   api_queries_start },
	{ "GET",    "/v1/queries",                ROUTE_USER,   TN_MAX_API_BODY,   api_queries_list },
	{ "GET",    "/v1/queries/{id}",           ROUTE_USER,   TN_MAX_API_BODY,   api_queries_get },
	{ "DELETE", "/v1/queries/{id}",           ROUTE_USER,   TN_MAX_API_BODY,   api_queries_cancel },
	{ "GET",    "/v1/queries/{id}/results",   ROUTE_USER,   TN_MAX_API_BODY,   api_queries_results },
	{ "GET",    "/v1/users",                  0,            TN_MAX_API_BODY,   api_users_list },
	{ "POST",   "/v1/users",                  0,            TN_MAX_API_BODY,   api_users_add },
	{ "PUT",    "/v1/users/{name}",           0,            TN_MAX_API_BODY,   api_user_put },
	{ "DELETE", "/v1/users/{name}",           0,            TN_MAX_API_BODY,   api_user_delete },
	{ "POST",   "/v1/users/{name}/keys",      0,            TN_MAX_API_BODY,   api_user_key_create },
	{ "PUT",    "/v1/keys/{id}",              0,            TN_MAX_API_BODY,   api_key_put },
	{ "DELETE", "/v1/keys/{id}",              0,            TN_MAX_API_BODY,   api_key_delete },
	{ "GET",    "/v1/grants",                 0,            TN_MAX_API_BODY,   api_grants_list },
	{ "POST",   "/v1/grants",                 0,            TN_MAX_API_BODY,   api_grants_add },
	{ "DELETE", "/v1/grants/{id}",            0,            TN_MAX_API_BODY,   api_grant_delete },
	{ "PUT",    "/v1/masks/{tag}",            0,            TN_MAX_API_BODY,   api_mask_put },
	{ "GET",    "/v1/roles",                  0,            TN_MAX_API_BODY,   api_roles_list },
	{ "POST",   "/v1/roles",                  0,            TN_MAX_API_BODY,   api_roles_add },
	{ "DELETE", "/v1/roles/{name}",           0,            TN_MAX_API_BODY,   api_role_delete },
	{ "PUT",    "/v1/roles/{name}/members/{member}", 0,     TN_MAX_API_BODY,   api_role_member_put },
	{ "DELETE", "/v1/roles/{name}/members/{member}", 0,     TN_MAX_API_BODY,   api_role_member_delete },
	{ "GET",    "/v1/objects",                ROUTE_USER,   TN_MAX_API_BODY,   api_objects_list },
	{ "GET",    "/v1/objects/*",              ROUTE_USER,   TN_MAX_API_BODY,   api_object_get },
	{ "HEAD",   "/v1/objects/*",              ROUTE_USER,   TN_MAX_API_BODY,   api_object_head },
	{ "PUT",    "/v1/objects/*",              ROUTE_USER,   TN_MAX_OBJECT_BODY, api_object_put },
	{ "DELETE", "/v1/objects/*",              ROUTE_USER,   TN_MAX_API_BODY,   api_object_delete },
	{ "POST",   "/",                          ROUTE_AWS,    TN_MAX_AWS_BODY,   api_aws },
};

/* How long http_stop waits for requests in flight before closing anyway. */
#define DRAIN_TIMEOUT_MS 10000
/* How often http_stop says it is still waiting for suspended requests. */
#define SUSPENDED_WARN_MS 10000
/* An idle worker thread of http_defer waits this long for more work before it exits. */
#define DEFER_IDLE_MS 10000

struct http_server {
	struct http_engine *engine;
	SSL_CTX *ssl;            /* HTTPS: built from deps.tls */
	struct http_deps deps;
	int port;
	atomic_bool stopping;    /* answer new requests 503 */
	atomic_bool closing;     /* http_suspend refuses (the loops are about to stop) */
	atomic_uint inflight;    /* requests between body complete and completed */
	atomic_uint suspended;   /* requests suspended and not yet resumed */
	struct workers *workers; /* http_defer's threads */
};

/* ---- replies ------------------------------------------------------------- */

void http_header_add(struct http_req *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	struct http_resp_header *h;

	if (r->nheaders >= HTTP_MAX_RESP_HEADERS)
		TN_BUG("too many response headers (adding '%s')", name);
	h = &r->headers[r->nheaders++];
	h->name = xstrdup(name);
	va_start(ap, fmt);
	if (vasprintf(&h->value, fmt, ap) < 0)
		TN_BUG("out of memory");
	va_end(ap);
}

static void answer_begin(struct http_req *r, int status)
{
	if (r->answered)
		TN_BUG("request answered twice (%d, then %d)", r->status, status);
	r->answered = true;
	r->status = status;
	buf_reset(&r->resp);
}

void http_reply_json(struct http_req *r, int status, json_t *doc)
{
	if (!doc) {
		/* json_pack failed: a bug, or a string that is not UTF-8 */
		answer_begin(r, 500);
		r->content_type = "application/json";
		snprintf(r->log_msg, sizeof(r->log_msg), "could not encode the answer (%d)", status);
		buf_puts(&r->resp, "{\"error\":{\"code\":\"internal\",\"message\":"
				   "\"internal error: could not encode the answer\"}}\n");
		return;
	}
	answer_begin(r, status);
	r->content_type = "application/json";
	{
		char *s = json_dumps(doc, JSON_COMPACT);

		if (!s)
			TN_BUG("json_dumps failed");
		/* r->resp has no cap: the handler bounded what went into doc */
		if (buf_puts(&r->resp, s) != 0 || buf_putc(&r->resp, '\n') != 0)
			TN_BUG("response buffer");
		free(s);
	}
	json_decref(doc);
}

struct buf *http_reply_json_buf(struct http_req *r, int status)
{
	answer_begin(r, status);
	r->content_type = "application/json";
	return &r->resp;
}

void http_reply_empty(struct http_req *r, int status)
{
	answer_begin(r, status);
	r->content_type = NULL;
}

void http_reply_error_status(struct http_req *r, int status, const char *name, const char *msg)
{
	char m[TN_ERRLEN];
	json_t *doc;

	http_utf8_copy(msg, m, sizeof(m));
	doc = json_pack("{s:{s:s,s:s}}", "error", "code", name, "message", m);
	snprintf(r->log_msg, sizeof(r->log_msg), "%s", m);
	http_reply_json(r, status, doc);
}

void http_reply_error_ex(struct http_req *r, int code, const char *msg, json_t *extra,
			 uint32_t retry_after_s)
{
	const struct http_errmap *m = http_errmap(code);
	char text[TN_ERRLEN];
	json_t *e;

	http_utf8_copy(msg, text, sizeof(text));
	e = json_pack("{s:s,s:s}", "code", m->name, "message", text);

	if (extra) {
		json_object_update(e, extra);
		json_decref(extra);
	}
	snprintf(r->log_msg, sizeof(r->log_msg), "%s", text);
	http_reply_json(r, m->status, json_pack("{s:o}", "error", e));
	if (m->status == 401)
		http_header_add(r, "WWW-Authenticate", "Basic realm=\"tarn\"");
	if (m->status == 503)
		http_header_add(r, "Retry-After", "%u", retry_after_s ? retry_after_s : 1);
}

void http_reply_error(struct http_req *r, int code, const char *msg)
{
	http_reply_error_ex(r, code, msg, NULL, 1);
}

const char *http_req_header(struct http_req *r, const char *name)
{
	return wire_header(&r->head, name);
}

size_t http_req_headers(struct http_req *r, const struct wire_header **out)
{
	*out = r->head.headers;
	return r->head.nheaders;
}

json_t *http_body_json(struct http_req *r, char *err)
{
	json_error_t jerr;
	json_t *doc;
	struct str body = str_trim(str_make(r->body.data, r->body.len));

	if (body.n == 0)
		return json_object();
	doc = json_loadb(body.p, body.n, 0, &jerr);
	if (!doc) {
		tn_fail(err, TN_EINVAL, "request body: invalid JSON at byte %d: %s", jerr.position,
			jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		tn_fail(err, TN_EINVAL, "request body: expected a JSON object");
		return NULL;
	}
	return doc;
}

/*
 * A file answer this small is read into memory and sent from a buffer:
 * conn.c then sends the head and the bytes in one sendmsg (one TCP
 * segment), where a file answer costs a send for the head and a sendfile
 * for the bytes, and for a 4 KiB object that second round through the TCP
 * stack cost more than the read.
 */
#define HTTP_SMALL_FILE (64u << 10)

/* Reads a small file answer into r->resp and closes the descriptor; false: send the file. */
static bool small_file(struct http_req *r)
{
	size_t got = 0;
	char err[TN_ERRLEN];

	buf_reset(&r->resp);
	if (buf_grow(&r->resp, (size_t)r->resp_fd_len) != 0 ||
	    os_pread(r->resp_fd, r->resp.data, (size_t)r->resp_fd_len, r->resp_fd_off, &got,
		     "answer", err) != 0 ||
	    got != r->resp_fd_len)
		return false;
	r->resp.len = got;
	r->resp.data[got] = '\0';
	close(r->resp_fd);
	r->resp_fd = -1;
	r->resp_fd_len = 0;
	return true;
}

void req_answer_ready(struct http_req *r)
{
	if (!r->answered)
		http_reply_error(r, TN_EINTERNAL, "internal error: the handler gave no answer");
	if (r->resp_fd >= 0 && r->resp_fd_len <= HTTP_SMALL_FILE &&
	    !(r->method && strcmp(r->method, "HEAD") == 0))
		small_file(r);
}

const char *req_id_header(const struct http_req *r)
{
	return (r->route && (r->route->flags & ROUTE_AWS)) ? "x-amzn-RequestId" : "X-Request-Id";
}

/* ---- routing and authentication ------------------------------------------ */

static bool server_stopping(struct http_server *h)
{
	return atomic_load_explicit(&h->stopping, memory_order_relaxed);
}

/* The row for method + path; *path_known says if another method would match. */
static const struct route *route_find(struct http_req *r, bool *path_known)
{
	size_t i;
	int n;

	*path_known = false;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = http_path_match(routes[i].pattern, r->path, r->param, HTTP_MAX_PARAMS);
		if (n < 0)
			continue;
		*path_known = true;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->nparam = (unsigned)n;
			return &routes[i];
		}
	}
	return NULL;
}

static void reply_method_not_allowed(struct http_req *r)
{
	char allow[64] = "";
	size_t i, used = 0;
	char msg[TN_ERRLEN];
	char tmp[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (http_path_match(routes[i].pattern, r->path, tmp, HTTP_MAX_PARAMS) < 0)
			continue;
		used += (size_t)snprintf(allow + used, sizeof(allow) - used, "%s%s",
					 used ? ", " : "", routes[i].method);
		if (used >= sizeof(allow))
			break;
	}
	snprintf(msg, sizeof(msg), "method %s is not allowed on '%s' (allowed: %s)", r->method,
		 r->path, allow);
	http_reply_error_status(r, 405, "method_not_allowed", msg);
	http_header_add(r, "Allow", "%s", allow);
}

static void reply_too_big(struct http_req *r)
{
	char msg[TN_ERRLEN];
	size_t max = r->route->max_body;

	snprintf(msg, sizeof(msg), "request body too large: the limit of %s %s is %zu bytes (%zu KiB)",
		 r->method, r->route->pattern, max, max >> 10);
	if (r->route->flags & ROUTE_AWS) {
		const char *op;
		enum aws_service svc = aws_target_parse(http_req_header(r, "X-Amz-Target"), &op);
		const struct http_errmap *m = http_errmap(TN_ETOOBIG);

		aws_reply_error(r, svc, 413, svc == AWS_FIREHOSE ? m->firehose : m->kinesis, msg);
		return;
	}
	http_reply_error(r, TN_ETOOBIG, msg);
}

/* 503 + Retry-After, in the route's dialect. */
static void reply_shutting_down(struct http_req *r)
{
	if (r->route && (r->route->flags & ROUTE_AWS)) {
		aws_reply_error(r, AWS_NONE, 503, "ServiceUnavailableException",
				"server is shutting down");
		http_header_add(r, "Retry-After", "5");
		return;
	}
	http_reply_error_ex(r, TN_EAGAIN, "server is shutting down", NULL, 5);
}

void http_reply_fd(struct http_req *r, int status, int fd, uint64_t off, uint64_t len,
		   const char *content_type)
{
	answer_begin(r, status);
	r->resp_fd = fd;
	r->resp_fd_off = off;
	r->resp_fd_len = len;
	r->content_type = content_type;
}

void http_peer(struct http_req *r, char *out, size_t n)
{
	conn_peer(r->conn, out, n);
}

void http_audit(struct http_req *r, const char *event, const char *principal, json_t *fields)
{
	char addr[64];
	if (!r->deps->audit) {
		json_decref(fields);
		return;
	}
	if (!fields)
		fields = json_object();
	http_peer(r, addr, sizeof addr);
	json_object_set_new(fields, "source", json_string(addr));
	json_object_set_new(fields, "request_id", json_string(r->request_id));
	json_object_set_new(fields, "method", json_string(r->method ? r->method : ""));
	json_object_set_new(fields, "route", json_string(r->route ? r->route->pattern : ""));
	audit_log(r->deps->audit, event, principal, fields);
}

/* Basic or Bearer.  Answers and returns false when the caller is not authenticated. */
static bool authenticate(struct http_req *r)
{
	const char *h = http_req_header(r, "Authorization");
	enum auth_fail why = AUTH_OK;
	char err[TN_ERRLEN] = "", attempted[TN_MAX_PRINCIPAL + 1] = "";
	int rc;

	if (!h || !*h) {
		http_reply_error(r, TN_EAUTH,
				 "authentication required: use HTTP Basic (user and password) or "
				 "'Authorization: Bearer <token>' (POST /v1/tokens)");
		return false;
	}
	if (strncasecmp(h, "Basic ", 6) == 0) {
		struct buf dec = BUF_INIT(1024);
		struct str b64 = str_trim(str_cstr(h + 6));
		char *colon;

		if (base64_decode(b64.p, b64.n, &dec) != 0 ||
		    !(colon = memchr(dec.data, ':', dec.len)) || memchr(dec.data, '\0', dec.len)) {
			buf_release(&dec);
			http_reply_error(r, TN_EAUTH, "malformed Basic credentials: expected "
						      "base64 of 'user:password'");
			return false;
		}
		*colon = '\0';
		snprintf(attempted, sizeof attempted, "%.64s", dec.data);
		char addr[64];
		http_peer(r, addr, sizeof addr);
		rc = auth_login_check(r->deps->auth, dec.data, addr, err);
		if (rc == 0) {
			rc = auth_password(r->deps->auth, dec.data, colon + 1, &r->who, &why, err);
			auth_login_result(r->deps->auth, dec.data, addr, rc == 0);
		} else {
			explicit_bzero(dec.data, dec.len);
			buf_release(&dec);
			http_audit(r, "auth", attempted,
				   json_pack("{s:s, s:s, s:s}", "outcome", "failed", "why", "locked",
					     "scheme", "basic"));
			http_reply_error_ex(r, TN_EAUTH, err, NULL, 0);
			return false;
		}
		explicit_bzero(dec.data, dec.len);
		buf_release(&dec);
	} else if (strncasecmp(h, "Bearer ", 7) == 0) {
		struct str tok = str_trim(str_cstr(h + 7));
		char t[128];

		if (tok.n == 0 || tok.n >= sizeof(t)) {
			http_reply_error(r, TN_EAUTH, "malformed Bearer token");
			return false;
		}
		memcpy(t, tok.p, tok.n);
		t[tok.n] = '\0';
		rc = auth_token(r->deps->auth, t, &r->who, &why, err);
	} else {
		http_reply_error(r, TN_EAUTH, "unsupported authorization scheme: use Basic or Bearer");
		return false;
	}
	if (rc == 0) {
		r->authed = true;
		/*
		 * Every authentication is audited but those of record appends: on the
		 * ingest path (tens of thousands a second) the stream's own counters
		 * account for them, and a line per record would cost more than the
		 * append.  Failures are always audited.
		 */
		if (r->route->fn != api_records_append)
			http_audit(r, "auth", r->who.name,
				   json_pack("{s:s, s:s}", "outcome", "ok", "via", r->who.via));
		/* deny by default: admins only, but for the routes any user may call */
		if (!r->who.is_admin && !(r->route->flags & ROUTE_USER)) {
			char msg[TN_ERRLEN];
			snprintf(msg, sizeof msg, "user '%s' may not call %s %s: only admins may "
				 "(no grant allows it)", r->who.name, r->method, r->route->pattern);
			http_audit(r, "denied", r->who.name, json_pack("{s:s}", "reason", msg));
			http_reply_error(r, TN_EDENIED, msg);
			return false;
		}
		return true;
	}
	http_audit(r, "auth", attempted,
		   json_pack("{s:s, s:s, s:s}", "outcome", "failed", "why",
			     why == AUTH_EXPIRED ? "expired" : why == AUTH_MALFORMED ? "malformed"
			     : why == AUTH_UNKNOWN ? "unknown" : why == AUTH_BAD_SECRET ? "bad secret"
			     : "error", "scheme", strncasecmp(h, "Basic ", 6) ? "bearer" : "basic"));
	if (rc != TN_EAUTH) {
		http_reply_error(r, rc, err);
		return false;
	}
	switch (why) {
	case AUTH_EXPIRED:
		http_reply_error(r, TN_EAUTH, "token expired: create a new one with POST /v1/tokens");
		break;
	case AUTH_MALFORMED:
		http_reply_error(r, TN_EAUTH, "malformed credentials");
		break;
	default:
		/* one message for unknown user and wrong secret: no user enumeration */
		http_reply_error(r, TN_EAUTH, "invalid credentials");
		break;
	}
	return false;
}

/*
 * Headers are complete: route, check the announced body size, authenticate.
 * Returns false when the request was answered already.
 */
bool req_start(struct http_req *r)
{
	bool path_known;

	if (r->deps->s3) {
		/* the S3 listener: one route; the edge authenticates and streams */
		static const struct route s3_route = { "*", "/*", ROUTE_S3, HTTP_S3_XML_BODY,
						       s3_finish };
		r->route = &s3_route;
		buf_init(&r->body, s3_route.max_body);
		return s3_begin(r);
	}
	r->route = route_find(r, &path_known);
	if (!r->route) {
		if (path_known) {
			reply_method_not_allowed(r);
		} else {
			char msg[TN_ERRLEN];

			snprintf(msg, sizeof(msg), "no such endpoint: %s '%s'", r->method, r->path);
			http_reply_error_status(r, 404, "not_found", msg);
		}
		return false;
	}
	buf_init(&r->body, r->route->max_body);

	if (server_stopping(r->srv)) {
		reply_shutting_down(r);
		return false;
	}
	if (r->body_len >= 0 && (uint64_t)r->body_len > r->route->max_body) {
		reply_too_big(r);
		return false;
	}
	if (r->route->flags & ROUTE_PUBLIC)
		return true;
	if (r->route->flags & ROUTE_AWS) {
		const char *h = http_req_header(r, "Authorization");

		if (!h || !*h) {
			const char *op;

			aws_reply_error(r, aws_target_parse(http_req_header(r, "X-Amz-Target"), &op),
					403, "MissingAuthenticationTokenException",
					"Missing Authentication Token");
			return false;
		}
		return true;  /* SigV4 needs the body: api_aws checks it */
	}
	return authenticate(r);
}

/* ---- suspended requests ----------------------------------------------------- */

bool http_suspend(struct http_req *r, http_resume_fn fn, void *ctx, http_ctx_free_fn ctx_free)
{
	struct http_server *h = r->srv;

	if (r->suspended || r->answered)
		TN_BUG("request suspended twice or after its answer");
	r->on_resume = fn;
	r->async_ctx = ctx;
	r->async_free = ctx_free;
	/*
	 * Dekker-style with http_stop (both sequentially consistent): either
	 * http_stop sees this count and waits for the resume, or we see
	 * closing and do not suspend.
	 */
	atomic_fetch_add(&h->suspended, 1);
	if (atomic_load(&h->closing)) {
		atomic_fetch_sub(&h->suspended, 1);
		reply_shutting_down(r);
		return false;
	}
	r->suspended = true;
	atomic_store_explicit(&r->async_state, HTTP_ASYNC_WAITING, memory_order_relaxed);
	return true;
}

void http_resume(struct http_req *r)
{
	struct http_server *h = r->srv;
	struct http_conn *conn = r->conn;

	atomic_store_explicit(&r->async_state, HTTP_ASYNC_DONE, memory_order_release);
	/* from here the loop thread may answer and free r: only locals below */
	conn_resume(conn);
	atomic_fetch_sub(&h->suspended, 1);
}

void http_append_done(void *arg, int rc, const struct append_result *res, const char *err)
{
	struct http_req *r = arg;

	r->async_rc = rc;
	if (res && res != &r->append_res)
		r->append_res = *res;
	snprintf(r->async_err, sizeof(r->async_err), "%s", rc && err ? err : "");
	http_resume(r);
}

void http_append_refused(struct http_req *r, int rc, const char *err)
{
	r->async_rc = rc;
	snprintf(r->async_err, sizeof(r->async_err), "%s", err ? err : "");
	http_resume(r);
}

static void defer_main(void *arg)
{
	struct http_req *r = arg;

	r->defer_work(r);
	http_resume(r);
}

void http_defer(struct http_req *r, route_fn work)
{
	r->defer_work = work;
	if (!http_suspend(r, NULL, NULL, NULL))
		return;
	char err[TN_ERRLEN];
	if (workers_run(r->srv->workers, defer_main, r, err) != 0) {
		/* no thread to be had: do the work here, blocking this loop */
		log_warn("http", "%s: running %s %s inline", err, r->method, r->raw_path);
		defer_main(r);
	}
}

bool req_resumed(struct http_req *r)
{
	if (atomic_load_explicit(&r->async_state, memory_order_acquire) != HTTP_ASYNC_DONE)
		return false;
	r->suspended = false;
	atomic_store_explicit(&r->async_state, HTTP_ASYNC_NONE, memory_order_relaxed);
	if (r->on_resume)
		r->on_resume(r);
	return true;
}

/* ---- a request's life (called by conn.c) ------------------------------------ */

struct http_req *req_new(struct http_server *h, struct http_conn *c)
{
	struct http_req *r = xcalloc(1, sizeof(*r));

	r->resp_fd = -1;
	r->srv = h;
	r->deps = &h->deps;
	r->conn = c;
	r->start_ns = time_mono_ns();
	http_request_id(r->request_id);
	buf_init(&r->body, 0);
	buf_init(&r->resp, 0);
	return r;
}

int req_body(struct http_req *r, const char *p, size_t n)
{
	r->body_seen += n;
	if (r->body_fn) {
		/*
		 * A streamed body (the S3 edge): each piece goes to the edge as it
		 * arrives.  After its first error the rest is read and dropped, up
		 * to HTTP_STREAM_DRAIN more bytes, then the connection is closed.
		 */
		if (r->body_rc == 0) {
			r->body_rc = r->body_fn(r, p, n);
			if (r->body_rc)
				r->body_err_at = r->body_seen;
		} else if (r->body_seen - r->body_err_at > HTTP_STREAM_DRAIN) {
			return -1;
		}
		return 0;
	}
	if (!r->body_too_big && buf_append(&r->body, p, n) != 0) {
		r->body_too_big = true;
		buf_release(&r->body);
	}
	/* past twice the cap, stop reading and close */
	if (r->body_too_big && r->body_seen - r->route->max_body > r->route->max_body)
		return -1;
	return 0;
}

void req_dispatch(struct http_req *r)
{
	/* in flight from here: http_stop lets the answer go out */
	if (!r->counted) {
		atomic_fetch_add(&r->srv->inflight, 1);
		r->counted = true;
	}
	if (r->body_too_big)
		reply_too_big(r);
	else
		r->route->fn(r);
}

bool req_server_stopping(struct http_server *h)
{
	return server_stopping(h);
}

void req_end(struct http_req *r)
{
	struct http_server *h = r->srv;
	double ms = (double)(time_mono_ns() - r->start_ns) / 1e6;
	const char *method = r->method ? r->method : "?";
	const char *path = r->raw_path ? r->raw_path : "?";

	/*
	 * A resumed request can end without its answer: the client may be gone
	 * by the time it is written.  One still waiting for its resume cannot
	 * end: conn.c never closes a connection whose request is suspended.
	 */
	if (r->suspended &&
	    atomic_load_explicit(&r->async_state, memory_order_acquire) != HTTP_ASYNC_DONE)
		TN_BUG("request %s ended while suspended", r->request_id);
	if (!r->answered || r->suspended) {
		log_debug("http", "%s %s: connection ended before an answer (%zu body bytes)",
			  method, path, r->body_seen);
	} else if (r->status >= 500) {
		log_warn("http", "%s %s -> %d in %.1f ms (%s): %s", method, path, r->status, ms,
			 r->request_id, r->log_msg);
	} else {
		log_debug("http", "%s %s -> %d in %.1f ms, %zu bytes in, principal '%s' (%s)%s%s",
			  method, path, r->status, ms, r->body_seen, r->authed ? r->who.name : "",
			  r->request_id, r->log_msg[0] ? ": " : "", r->log_msg);
	}
	if (r->async_free)
		r->async_free(r->async_ctx);
	if (r->edge_free)
		r->edge_free(r->edge);
	for (unsigned i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	buf_release(&r->body);
	buf_release(&r->resp);
	if (r->resp_fd >= 0)
		close(r->resp_fd);
	free(r->head_buf);
	free(r->path_buf);
	free(r->raw_path);
	free(r->raw_query);
	if (r->counted)
		atomic_fetch_sub(&h->inflight, 1);
	free(r);
}

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * HTTPS (deps->tls): OpenSSL, TLS 1.2 and 1.3 only (tls_pair_server_ctx),
 * the same context builder as the PostgreSQL listener's.
 */
int http_start(const char *addr, const struct http_deps *deps, struct http_server **out,
	       char *err)
{
	char host[TN_MAX_ADDR], portstr[8];
	struct addrinfo hints, *ai = NULL;
	struct http_server *h;
	unsigned max_conns = (unsigned)deps->cfg->http_max_connections;
	/*
	 * Handlers that block (a first Basic login's PBKDF2, stream
	 * management) stall only their own loop's connections; the record
	 * paths never block.  No more loops than connections.
	 */
	unsigned threads = (unsigned)deps->cfg->http_threads;

	if (threads > max_conns)
		threads = max_conns;
	struct http_engine_cfg ec;
	int port, rc, grc;

	*out = NULL;
	rc = config_parse_addr(addr, host, sizeof(host), &port, err);
	if (rc)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	grc = getaddrinfo(host, portstr, &hints, &ai);
	if (grc != 0 || !ai)
		return tn_fail(err, TN_EINVAL, "http: cannot resolve '%s': %s", host,
			       gai_strerror(grc));

	h = xcalloc(1, sizeof(*h));
	h->deps = *deps;
	atomic_init(&h->stopping, false);
	atomic_init(&h->closing, false);
	atomic_init(&h->inflight, 0);
	atomic_init(&h->suspended, 0);
	h->workers = workers_new(DEFER_IDLE_MS);
	if (deps->tls && (rc = tls_pair_server_ctx(deps->tls, &h->ssl, err)) != 0)
		goto fail;
	ec = (struct http_engine_cfg){ .srv = h, .loops = threads, .max_conns = max_conns,
				       .timeout_s = (unsigned)deps->cfg->http_timeout_s,
				       .ssl = h->ssl };
	rc = engine_start(ai->ai_addr, ai->ai_addrlen, &ec, &h->engine, err);
	if (rc) {
		char why[TN_ERRLEN];

		snprintf(why, sizeof why, "%s", err);
		rc = tn_fail(err, rc, "http: cannot listen on '%s': %s", addr,
			     strncmp(why, "http: ", 6) == 0 ? why + 6 : why);
		goto fail;
	}
	freeaddrinfo(ai);
	h->port = engine_port(h->engine);
	log_info("http", "listening on %s://%s (port %d, %u event-loop threads)",
		 deps->tls ? "https" : "http", addr, h->port, threads);
	*out = h;
	return 0;
fail:
	freeaddrinfo(ai);
	workers_free(h->workers);
	SSL_CTX_free(h->ssl);
	free(h);
	return rc;
}

int http_port(const struct http_server *h)
{
	return h->port;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void http_stop(struct http_server *h)
{
	int64_t now, deadline, warn_at;
	unsigned n;

	if (!h)
		return;
	atomic_store(&h->stopping, true);
	engine_quiesce(h->engine);

	/* polling: the counters are touched on every request, a condition
	 * variable would put a lock there; a stop can afford 2 ms */
	deadline = time_mono_ns() / 1000000 + DRAIN_TIMEOUT_MS;
	while ((n = atomic_load(&h->inflight)) > 0) {
		if (time_mono_ns() / 1000000 >= deadline) {
			log_warn("http", "stopping with %u requests still in flight", n);
			break;
		}
		sleep_ms(2);
	}

	/* the loops must not stop with a suspended request; their resumes always come */
	atomic_store(&h->closing, true);
	warn_at = time_mono_ns() / 1000000 + SUSPENDED_WARN_MS;
	while ((n = atomic_load(&h->suspended)) > 0) {
		now = time_mono_ns() / 1000000;
		if (now >= warn_at) {
			log_warn("http", "stopping: still waiting for %u suspended requests "
					 "(durability or a flush)", n);
			warn_at = now + SUSPENDED_WARN_MS;
		}
		sleep_ms(2);
	}

	engine_stop(h->engine);
	workers_free(h->workers);
	SSL_CTX_free(h->ssl);
	free(h);
}

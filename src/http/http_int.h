/*
 * http_int.h - internals shared by the files of src/http/ (nothing outside
 * the folder includes this).
 *
 *   server.c     the daemon, the request lifecycle, body caps, the route
 *                table, Basic/Bearer authentication, reply helpers
 *   errors.c     the one table: TN_E* code -> HTTP status, error code name,
 *                Kinesis and Firehose error types
 *   util.c       pure helpers (path patterns, request ids, AWS targets and
 *                credential scopes): no I/O, no core services
 *   conn.c       the connection engine: event loops, sockets, TLS
 *   wire.c       HTTP/1.1 request syntax (wire.h), pure
 *   api_misc.c   GET /healthz, POST /v1/tokens
 *   api_streams.c  the native /v1/streams API
 *   api_catalog.c  /v1/crawl and /v1/catalog/... (catalog.h)
 *   api_query.c  /v1/query and /v1/queries/... (query/service.h)
 *   api_principals.c  /v1/users, /v1/roles, /v1/keys (auth.h), /v1/grants,
 *                /v1/masks (policy/policy.h)
 *   api_aws.c    Kinesis (Kinesis_20131202) and Firehose (Firehose_20150804)
 *                JSON 1.1 on POST /
 *
 * A struct http_req lives from the first callback of a request to its
 * completion.  It is owned by the event-loop thread that serves its
 * connection (conn.c: one connection is always served by the same
 * thread), so nothing in it needs a lock -- except while the
 * request is suspended (http_suspend): then the thread that will resume it
 * (a stream sync thread, a deferred worker) owns the async_* members and
 * the answer, until http_resume hands the request back to the loop.
 */
#ifndef TN_HTTP_INT_H
#define TN_HTTP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"
#include "http/wire.h"
#include "stream/stream.h"

struct http_conn;
struct http_req;

typedef void (*route_fn)(struct http_req *r);
/* Runs on the loop thread once a suspended request is resumed: builds the answer. */
typedef void (*http_resume_fn)(struct http_req *r);
/* Frees the state a handler kept across a suspension (http_suspend's ctx). */
typedef void (*http_ctx_free_fn)(void *ctx);

/* Flags of a route. */
#define ROUTE_PUBLIC 1  /* no authentication (health checks) */
#define ROUTE_AWS 2     /* AWS JSON 1.1: SigV4 after the body, AWS-style errors */
#define ROUTE_USER 4    /* any authenticated user (else admins only, until grants exist) */
#define ROUTE_S3 8      /* the S3 listener: the S3 edge authenticates, streams, answers XML */

/*
 * Takes one piece of a streamed request body (set by an edge at begin,
 * e.g. an upload going to an object writer).  Returns 0 or a TN_E* code;
 * after an error the rest of the body is dropped and the handler answers
 * from r->body_rc.
 */
typedef int (*http_body_fn)(struct http_req *r, const char *p, size_t n);
/* Bytes still read (and dropped) after a streamed body's error, before closing. */
#define HTTP_STREAM_DRAIN (8u << 20)
/* Cap of a buffered S3 request body (DeleteObjects, CompleteMultipartUpload XML). */
#define HTTP_S3_XML_BODY (4u << 20)

struct route {
	const char *method;   /* "GET", "POST", ... */
	const char *pattern;  /* "/v1/streams/{name}": {x} matches one segment */
	int flags;            /* ROUTE_* */
	size_t max_body;      /* cap on the request body; past it: 413 */
	route_fn fn;
};

#define HTTP_MAX_PARAMS 2
#define HTTP_MAX_PARAM 256        /* bytes of one {param} (names are <= 128) */
#define HTTP_MAX_RESP_HEADERS 40     /* S3 answers carry x-amz-meta-* and response-* overrides */
#define HTTP_REQUEST_ID_LEN 36    /* 8-4-4-4-12 hex, like a UUID */

struct http_resp_header {
	char *name;           /* owned copies */
	char *value;
};

struct http_req {
	struct http_server *srv;
	const struct http_deps *deps;
	struct http_conn *conn;           /* conn.c's connection, owned by the loop thread */
	bool counted;                     /* in the server's in-flight count */
	char *head_buf;                   /* the request head as read, parsed in place */
	struct wire_head head;            /* method, target, header fields (into head_buf) */
	const char *method;               /* head.method; NULL if the head was malformed */
	const char *path;                 /* percent-decoded (path_buf) */
	char *path_buf;
	char *raw_path;                   /* as on the wire (for SigV4), owned */
	char *raw_query;                  /* as on the wire without '?', owned */
	int64_t body_len;                 /* Content-Length as framed by wire.c; -1: chunked */
	const struct route *route;        /* NULL: no route (answered early) */
	char param[HTTP_MAX_PARAMS][HTTP_MAX_PARAM];
	unsigned nparam;

	struct buf body;                  /* max = route->max_body; unused when streamed */
	http_body_fn body_fn;             /* non-NULL: the body is streamed to it */
	int body_rc;                      /* its first error */
	uint64_t body_err_at;             /* body_seen at that error */
	void *edge;                       /* an edge's per-request state (S3) */
	http_ctx_free_fn edge_free;       /* frees it when the request ends */
	size_t body_seen;                 /* bytes received, kept or not */
	bool body_too_big;

	struct principal who;             /* valid once authed */
	bool authed;
	char request_id[HTTP_REQUEST_ID_LEN + 1];
	int64_t start_ns;

	/* the answer, built by a handler, sent by server.c */
	bool answered;
	int status;
	const char *content_type;         /* static string (or the handler's, alive until sent) */
	struct buf resp;
	int resp_fd;                      /* >= 0: answer with these file bytes (owned) */
	uint64_t resp_fd_off, resp_fd_len;
	unsigned nheaders;
	struct http_resp_header headers[HTTP_MAX_RESP_HEADERS];
	char log_msg[192];                /* error message, for the request log */

	/* suspension (server.c, "Suspended requests") */
	bool suspended;                   /* loop thread only: waiting for http_resume */
	atomic_int async_state;           /* HTTP_ASYNC_*: the resumer's hand-over */
	http_resume_fn on_resume;         /* NULL: the answer was built while suspended */
	void *async_ctx;                  /* the handler's state, freed at completion */
	http_ctx_free_fn async_free;
	route_fn defer_work;              /* http_defer: what the worker thread runs */
	int async_rc;                     /* http_append_done: the outcome */
	struct append_result append_res;  /* passed to streams_append_async, then the result */
	char async_err[TN_ERRLEN];
};

enum { HTTP_ASYNC_NONE, HTTP_ASYNC_WAITING, HTTP_ASYNC_DONE };

/* ---- errors.c --------------------------------------------------------- */

/* How one TN_E* code is spoken at the HTTP edge. */
struct http_errmap {
	int code;              /* TN_E* */
	int status;            /* HTTP status of the /v1 API */
	const char *name;      /* "code" of the /v1 error object */
	const char *kinesis;   /* __type of a Kinesis error */
	int kinesis_status;
	const char *firehose;  /* __type of a Firehose error */
	int firehose_status;
};

/* The row for code (an unknown code gets the TN_EINTERNAL row); static. */
const struct http_errmap *http_errmap(int code);
/* Reason phrase of a status ("Not Found"); "" if unknown. */
const char *http_status_text(int status);

/* ---- util.c (pure) ------------------------------------------------------ */

/*
 * Matches path against pattern ("/v1/streams/{name}/records"): literal
 * segments compare exactly, {x} takes one non-empty segment.  A single
 * trailing '/' on path is tolerated (except for "/").  On a match the
 * captured segments are copied NUL-terminated into params (at most maxp,
 * each < HTTP_MAX_PARAM bytes; a longer capture does not match) and the
 * count is returned; -1 if no match.
 */
int http_path_match(const char *pattern, const char *path, char params[][HTTP_MAX_PARAM],
		    unsigned maxp);
/*
 * The value of query parameter name in raw_query (as on the wire, without
 * '?'; may be NULL), %XX- and '+'-decoded into out (n bytes).  Returns 1 if
 * present (an empty value counts as absent: returns 0), 0 if absent,
 * TN_EINVAL if the value is too long or holds a NUL.
 */
int http_query_param(const char *raw_query, const char *name, char *out, size_t n);
/* Fills out with a random request id (8-4-4-4-12 lowercase hex). */
void http_request_id(char out[HTTP_REQUEST_ID_LEN + 1]);

enum aws_service { AWS_NONE, AWS_KINESIS, AWS_FIREHOSE };
/*
 * Splits an X-Amz-Target ("Kinesis_20131202.PutRecords") into its service
 * and operation (*op points into target).  AWS_NONE for any other prefix
 * or a missing '.'.
 */
enum aws_service aws_target_parse(const char *target, const char **op);
/* SigV4 credential-scope service name ("kinesis", "firehose"), or NULL. */
const char *aws_service_name(enum aws_service s);
/*
 * Copies the region of a SigV4 Authorization header's credential scope
 * (Credential=AKID/20260101/eu-west-1/kinesis/aws4_request) into out;
 * "us-east-1" when absent or unparsable.
 */
void aws_credential_region(const char *authorization, char *out, size_t n);
/*
 * Copies the C string in to out (n bytes, NUL included), replacing each
 * byte that is not part of valid UTF-8 with '?' and cutting at a character
 * boundary, so that client input echoed in a message can go into JSON.
 */
void http_utf8_copy(const char *in, char *out, size_t n);
/* Drops trailing ASCII whitespace (spaces, tabs, CR, LF) from a record. */
size_t http_trim_trailing_ws(const char *p, size_t n);

/* ---- awsjson.c (pure): the envelope of put calls, without jansson -------- */

/* A JSON string as it appears in the body: its raw content between the quotes. */
struct awsj_str {
	const char *p;  /* borrowed from the body */
	size_t n;
	bool esc;       /* holds escapes: read it through awsj_unescape */
	bool present;   /* false: absent or null */
};

/* The members of one record object that the put calls use. */
struct awsj_record {
	struct awsj_str data, partition_key, explicit_hash_key;
};

/* The top-level members of a put call. */
struct awsj_put {
	struct awsj_str name;   /* StreamName or DeliveryStreamName */
	struct awsj_str arn;    /* StreamARN */
	struct awsj_record top; /* Data, PartitionKey... at the top (Kinesis PutRecord) */
	bool has_records;       /* "Records" (array) or "Record" (object) was there */
	size_t nrecords;        /* records seen (callbacks made) */
};

/*
 * Called once per record, in order, with index 0, 1, ...; the spans point
 * into the body.  Return 0 to go on, or a negative code (with err set) to
 * stop the parse with that code.
 */
typedef int (*awsj_record_fn)(void *arg, size_t index, const struct awsj_record *rec,
			      char *err);

/*
 * Scans a PutRecord / PutRecords / PutRecordBatch body p[0..n): one JSON
 * object whose "Records" array (or "Record" object) holds the records.
 * Other members are skipped after a lexical check.  Returns 0, the code
 * fn returned, or TN_EINVAL with "invalid JSON at byte N: why" or a
 * message naming a member of the wrong type.  Fills *doc.
 */
int awsj_put_parse(const char *p, size_t n, struct awsj_put *doc, awsj_record_fn fn, void *arg,
		   char *err);
/* Appends the unescaped bytes of s (as scanned) to out.  TN_ETOOBIG past out's max. */
int awsj_unescape(const struct awsj_str *s, struct buf *out);

/* ---- server.c: replies -------------------------------------------------- */

/* Adds a response header (name and value copied). */
void http_header_add(struct http_req *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Answers status with doc serialized as JSON (steals the reference).  A
 * NULL doc (a json_pack that failed) answers 500 instead.
 */
void http_reply_json(struct http_req *r, int status, json_t *doc);
/*
 * Answers status with a JSON body that the caller writes into the returned
 * buffer (r->resp, no cap) -- for the fixed-shape answers of the record
 * path, where building a jansson tree costs more than the rest of the
 * answer.  Strings from clients go through buf_json_str.
 */
struct buf *http_reply_json_buf(struct http_req *r, int status);
/* Answers status with no body. */
void http_reply_empty(struct http_req *r, int status);
/*
 * Answers a /v1 error for TN code, status and name from errors.c:
 *   {"error": {"code": "not_found", "message": msg}}
 * 401 adds WWW-Authenticate; 503 adds Retry-After (retry_after_s, >= 1).
 */
void http_reply_error(struct http_req *r, int code, const char *msg);
/* Same with an explicit status and code name (routing errors, 405...). */
void http_reply_error_status(struct http_req *r, int status, const char *name,
			     const char *msg);
/* Same as http_reply_error, with extra members merged into the error object
 * (steals extra; NULL allowed) and a Retry-After value for 503. */
void http_reply_error_ex(struct http_req *r, int code, const char *msg, json_t *extra,
			 uint32_t retry_after_s);
/*
 * Appends an audit event for this request: fields (stolen, may be NULL)
 * plus the source address, request id, method and route.  principal may
 * be "" (not authenticated).  Any thread that owns r.
 */
void http_audit(struct http_req *r, const char *event, const char *principal, json_t *fields);
/*
 * Answers status with len bytes of the open file fd from off (takes fd,
 * closed once sent or when the request ends).  fd -1: the answer to a
 * HEAD, with Content-Length len and no body.  content_type must live
 * until the answer is sent (a static string or memory of the request).
 */
void http_reply_fd(struct http_req *r, int status, int fd, uint64_t off, uint64_t len,
		   const char *content_type);
/* The caller's numeric address ("127.0.0.1"), or "" if unknown. */
void http_peer(struct http_req *r, char *out, size_t n);
/* Request header value (case-insensitive name), borrowed; NULL if absent. */
const char *http_req_header(struct http_req *r, const char *name);
/* Every request header field in the order sent; borrowed, valid for the request. */
size_t http_req_headers(struct http_req *r, const struct wire_header **out);

/* ---- server.c: suspended requests ----------------------------------------- */

/*
 * Suspends the request's connection from inside a handler (loop thread), so
 * that the answer can wait for work done elsewhere without holding the loop
 * thread.  Exactly one http_resume() must follow (any thread, possibly
 * before the handler returns); then fn(r) runs on the loop thread and
 * builds the answer as a handler would (fn NULL: the answer was built while
 * suspended).  Takes ownership of ctx (may be NULL): ctx_free(ctx) runs
 * when the request completes, so ctx -- a parsed batch, the body it points
 * into is r->body -- stays valid until the answer is sent.
 * Returns false when the server is closing: then nothing is suspended, the
 * request is answered 503 already and the handler must just return.
 */
bool http_suspend(struct http_req *r, http_resume_fn fn, void *ctx, http_ctx_free_fn ctx_free);
/*
 * Hands a suspended request back to its loop thread.  Any thread, exactly
 * once per http_suspend.  Everything written to r before the call is seen
 * by fn; r may be freed by the time the call returns.
 */
void http_resume(struct http_req *r);
/*
 * stream_done_fn for streams_append_async with arg = the request: keeps rc,
 * *res (in r->append_res) and err (in r->async_err), then resumes.
 */
void http_append_done(void *arg, int rc, const struct append_result *res, const char *err);
/* For a refused streams_append_async (rc < 0): keeps rc and err (r->append_res
 * was filled by the call), then resumes.  Loop thread. */
void http_append_refused(struct http_req *r, int rc, const char *err);
/*
 * Runs work(r) on a new detached thread with the connection suspended, for
 * core calls that may take seconds (a stream flush); work answers with the
 * http_reply_* helpers, which do not touch the connection.  Loop thread,
 * from a handler.
 */
void http_defer(struct http_req *r, route_fn work);

/* ---- conn.c: the connection engine ---------------------------------------- */

struct http_engine;
struct ssl_ctx_st;

struct http_engine_cfg {
	struct http_server *srv;   /* passed to req_new */
	unsigned loops;            /* event-loop threads */
	unsigned max_conns;        /* open connections; more are closed at accept */
	unsigned timeout_s;        /* a connection without progress this long is closed */
	struct ssl_ctx_st *ssl;    /* HTTPS; NULL: plain HTTP.  Borrowed, outlives the engine */
};

/*
 * Listens on sa and starts the loops.  Returns 0 and *out, or
 * TN_ECONFLICT (address in use) / TN_EIO with a message.
 */
int engine_start(const struct sockaddr *sa, socklen_t salen, const struct http_engine_cfg *cfg,
		 struct http_engine **out, char *err);
/* The port listened on (the one the kernel chose for port 0). */
int engine_port(const struct http_engine *e);
/* Stops accepting: returns once no loop accepts and the listening socket is closed. */
void engine_quiesce(struct http_engine *e);
/*
 * Stops the loops, closes every connection and frees e.  No request may
 * be suspended (http_stop waits for them first).  Accepts NULL.
 */
void engine_stop(struct http_engine *e);
/* Hands a suspended request's connection back to its loop.  Any thread. */
void conn_resume(struct http_conn *c);
/* The client's numeric address ("127.0.0.1"), or "" if unknown.  Loop thread. */
void conn_peer(struct http_conn *c, char *out, size_t n);

/* ---- server.c: a request's life, called by conn.c on the loop thread ------ */

/* A new request on connection c (head not parsed yet). */
struct http_req *req_new(struct http_server *h, struct http_conn *c);
/* The head is parsed into r: route, cap, authenticate.  False: answered already. */
bool req_start(struct http_req *r);
/* A piece of the body.  Returns 0, or -1 when the connection should be closed. */
int req_body(struct http_req *r, const char *p, size_t n);
/* The body is complete: runs the handler, which answers or suspends the request. */
void req_dispatch(struct http_req *r);
/* A resumed request: builds its answer.  False if it was not resumed after all. */
bool req_resumed(struct http_req *r);
/* Before the answer is written: makes sure there is one (a small file is read in). */
void req_answer_ready(struct http_req *r);
/* The name of the header that carries r->request_id in the answer (static). */
const char *req_id_header(const struct http_req *r);
/* True once http_stop began: answers say "Connection: close". */
bool req_server_stopping(struct http_server *h);
/* The request is over (answered or not): logs it and frees it. */
void req_end(struct http_req *r);

/* ---- handlers ------------------------------------------------------------ */

void api_healthz(struct http_req *r);
void api_tokens_create(struct http_req *r);

void api_streams_list(struct http_req *r);
void api_stream_get(struct http_req *r);
void api_stream_put(struct http_req *r);
void api_stream_delete(struct http_req *r);
void api_stream_flush(struct http_req *r);
void api_records_append(struct http_req *r);

void api_crawl(struct http_req *r);
void api_catalog_tables(struct http_req *r);
void api_catalog_table(struct http_req *r);
void api_catalog_errors(struct http_req *r);
void api_catalog_tag(struct http_req *r);

void api_query(struct http_req *r);
void api_queries_start(struct http_req *r);
void api_queries_list(struct http_req *r);
void api_queries_get(struct http_req *r);
void api_queries_cancel(struct http_req *r);
void api_queries_results(struct http_req *r);

void api_users_list(struct http_req *r);
void api_users_add(struct http_req *r);
void api_user_put(struct http_req *r);
void api_user_delete(struct http_req *r);
void api_user_key_create(struct http_req *r);
void api_key_put(struct http_req *r);
void api_key_delete(struct http_req *r);
void api_grants_list(struct http_req *r);
void api_grants_add(struct http_req *r);
void api_grant_delete(struct http_req *r);
void api_mask_put(struct http_req *r);
void api_roles_list(struct http_req *r);
void api_roles_add(struct http_req *r);
void api_role_delete(struct http_req *r);
void api_role_member_put(struct http_req *r);
void api_role_member_delete(struct http_req *r);

void api_aws(struct http_req *r);

/* api_aws.c: every request header, for SigV4 (strings borrowed; free the array). */
struct sigv4_header;
size_t http_sigv4_headers(struct http_req *r, struct sigv4_header **out);

/* api_s3.c: the S3 listener's begin (headers complete; false if answered) and end */
bool s3_begin(struct http_req *r);
void s3_finish(struct http_req *r);

/* api_objects.c */
void api_objects_list(struct http_req *r);
void api_object_get(struct http_req *r);
void api_object_head(struct http_req *r);
void api_object_put(struct http_req *r);
void api_object_delete(struct http_req *r);
/* Answers an AWS-style authentication error (403) before any body is read. */
void aws_reply_error(struct http_req *r, enum aws_service svc, int status, const char *type,
		     const char *msg);

struct stream_opts;
struct tn_config;
/* The options of a new stream: the server defaults of tarn.yaml (api_streams.c). */
void http_stream_defaults(const struct tn_config *cfg, struct stream_opts *o);

/* Shared by api_streams.c and api_aws.c: parses a JSON body (NULL body: {}).
 * Returns NULL and fills err on a syntax error or a non-object. */
json_t *http_body_json(struct http_req *r, char *err);

#endif

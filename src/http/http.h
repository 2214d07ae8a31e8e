/*
 * http.h - the HTTP listener: REST API /v1/..., Kinesis and Firehose
 * (AWS JSON 1.1 on POST / with X-Amz-Target), /healthz.
 *
 * An edge: it parses, authenticates and translates, then calls the core
 * (streams, auth, store) with the authenticated principal.  It never
 * touches files, the metastore or DuckDB itself.
 *
 * Built on tarn's own HTTP/1.1 engine (conn.c, wire.c) with a small pool
 * of epoll event-loop threads: a request that appends records suspends
 * its connection until the group
 * commit (on the WAL's sync threads) makes them durable, so no thread
 * waits on an fsync and one fdatasync answers many connections.
 */
#ifndef TN_HTTP_H
#define TN_HTTP_H

#include <stdint.h>

struct streams;
struct auth;
struct store;
struct catalog;
struct qservice;
struct query_engine;
struct policy;
struct audit;
struct objects;
struct tn_config;
struct tls_pair;

struct http_deps {
	struct streams *streams;
	struct auth *auth;
	struct store *store;
	struct catalog *catalog;      /* /v1/crawl, /v1/catalog/... */
	struct qservice *queries;     /* /v1/query, /v1/queries/... */
	struct query_engine *engine;  /* checks grants' row filters */
	struct policy *policy;        /* /v1/grants, /v1/masks */
	struct audit *audit;          /* authentications, denials, changes */
	struct objects *objects;      /* /v1/objects (and S3): governed object operations */
	bool s3;                      /* this listener speaks the S3 API (api_s3.c) */
	const struct tn_config *cfg;
	const struct tls_pair *tls;   /* serve HTTPS with this pair (core/tls.h); NULL: HTTP */
	int64_t started_ms;
};

struct http_server;

/*
 * Starts listening on addr ("127.0.0.1:7070", "[::1]:0").  deps are
 * borrowed and must outlive the server (deps->tls too).  With deps->tls
 * the listener speaks only HTTPS (TLS 1.2 or 1.3, OpenSSL); plain HTTP
 * sent to it is answered 400 naming https://.  Errors: TN_ECONFLICT (the
 * address is in use), TN_EIO, TN_EINVAL (an address that does not
 * resolve).  Caller stops with http_stop().
 */
int http_start(const char *addr, const struct http_deps *deps, struct http_server **out,
	       char *err);
/* The port actually bound (useful with port 0). */
int http_port(const struct http_server *h);
/* Stops accepting, waits for requests in flight, frees. Accepts NULL. */
void http_stop(struct http_server *h);

#endif

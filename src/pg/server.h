/*
 * server.h - the PostgreSQL wire protocol endpoint (`tarn serve --pg`).
 *
 * A listener thread accepts on pg.listen; each connection gets a thread
 * (at most pg.max_connections sessions, plus a few threads that only
 * answer 53300 too_many_connections) that runs startup, TLS, SCRAM-SHA-256
 * authentication and then the session: simple and extended query
 * protocols, with every statement that is not a session command run
 * through the core's query service as the authenticated principal.
 * See src/pg/README.md.
 *
 * Threads: pg_server_start and pg_server_stop from the main thread.
 */
#ifndef TN_PG_SERVER_H
#define TN_PG_SERVER_H

#include <stdint.h>

struct auth;
struct qservice;
struct audit;
struct tn_config;
struct tls_pair;
struct pg_server;

/* What the endpoint uses; all borrowed, must outlive the server. */
struct pg_deps {
	struct auth *auth;
	struct qservice *queries;
	struct audit *audit;          /* may be NULL */
	const struct tn_config *cfg;  /* pg.*, lake.name, query.timeout */
	struct tls_pair *tls;         /* NULL: SSLRequest answered 'N' */
};

/*
 * Binds addr ("host:port", port 0 picks one; IPv4 or IPv6) and starts the
 * listener.  Returns 0 with *out set, or a TN code with a message.
 */
int pg_server_start(const char *addr, const struct pg_deps *d, struct pg_server **out,
		    char *err);
/* The port bound (the one chosen when 0 was asked). */
int pg_server_port(const struct pg_server *s);
/*
 * Stops accepting, cancels running queries, closes every session and
 * waits for its threads, frees.  Accepts NULL.
 */
void pg_server_stop(struct pg_server *s);

#endif

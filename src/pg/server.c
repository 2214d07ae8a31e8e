/*
 * server.c - the PostgreSQL endpoint's listener and connections: accept,
 * startup packets, TLS, authentication, CancelRequest, and the socket I/O
 * the session uses.
 *
 * Design.  One listener thread polls the listening socket (and a pipe
 * that wakes it to stop) and starts a detached thread per connection.
 * Sockets are blocking; reads wait in poll() with the phase's timeout
 * (PG_AUTH_TIMEOUT_MS during startup and authentication, pg.idle_timeout
 * between queries), writes have a send timeout.  A connection counts
 * against pg.max_connections from its StartupMessage on; past the limit
 * it is answered 53300 and closed.  pg_server_stop shuts every socket
 * down (which ends blocking reads and writes), cancels running queries
 * and waits for the threads.
 *
 * Invariants: srv->mu guards the connection list, the counts and each
 * connection's running portal; bytes received before a TLS handshake are
 * refused (CVE-2021-23214); every authentication outcome is audited with
 * the source address, and goes through the login throttle.
 */
#include "pg/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/tls.h"
#include "pg/pg_int.h"
#include "pg/scram.h"
#include "policy/audit.h"
#include "query/query.h"
#include "core/banned.h"

/* ---- I/O ------------------------------------------------------------------ */

static int send_all(struct pg_conn *c, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t k;
		if (c->ssl) {
			int w = SSL_write(c->ssl, s, n > (1u << 30) ? (1 << 30) : (int)n);
			if (w <= 0)
				return -1;
			k = w;
		} else {
			k = send(c->fd, s, n, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
		}
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

int pg_conn_flush(struct pg_conn *c)
{
	if (c->io_failed) {
		buf_reset(&c->out);
		return -1;
	}
	int rc = send_all(c, c->out.data, c->out.len);
	buf_reset(&c->out);
	/* a large result leaves a large buffer: give it back between statements */
	if (c->out.cap > 4 * PG_FLUSH_AT) {
		size_t max = c->out.max;
		buf_release(&c->out);
		buf_init(&c->out, max);
	}
	if (rc)
		c->io_failed = true;
	return rc;
}

/* Reads what is available (waiting up to timeout_ms): 1 bytes in, 0 timeout, PG_CONN_CLOSED. */
static int fill(struct pg_conn *c, int timeout_ms, char *err)
{
	if (!(c->ssl && SSL_pending(c->ssl) > 0)) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int n;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			return 0;
		if (n < 0)
			return PG_CONN_CLOSED;
	}
	void *p;
	int rc = pg_reader_space(&c->r, 64 << 10, &p, err);
	if (rc)
		return rc;
	ssize_t got;
	if (c->ssl) {
		int k = SSL_read(c->ssl, p, 64 << 10);
		got = k > 0 ? k : -1;
	} else {
		do
			got = recv(c->fd, p, 64 << 10, 0);
		while (got < 0 && errno == EINTR);
	}
	if (got <= 0) {
		pg_reader_commit(&c->r, 0);
		return PG_CONN_CLOSED;
	}
	pg_reader_commit(&c->r, (size_t)got);
	return 1;
}

int pg_conn_next(struct pg_conn *c, struct pg_msg *m, int timeout_ms, char *err)
{
	int64_t deadline = time_mono_ns() / 1000000 + timeout_ms;
	for (;;) {
		int rc = pg_reader_next(&c->r, m, err);
		if (rc != 0)
			return rc;
		int64_t left = deadline - time_mono_ns() / 1000000;
		if (left <= 0)
			return 0;
		rc = fill(c, left > 0x7fffffff ? 0x7fffffff : (int)left, err);
		if (rc <= 0)
			return rc;
	}
}

void pg_conn_error(struct pg_conn *c, const char *severity, const char *sqlstate,
		   const char *message, int position)
{
	struct pg_error e = { .severity = severity, .sqlstate = sqlstate, .message = message,
			      .position = position };
	pg_put_error(&c->out, &e);
}

void pg_conn_notice(struct pg_conn *c, const char *sqlstate, const char *message)
{
	struct pg_error e = { .severity = "WARNING", .sqlstate = sqlstate, .message = message };
	pg_put_notice(&c->out, &e);
}

void pg_conn_set_running(struct pg_conn *c, struct pg_portal *p)
{
	pthread_mutex_lock(&c->srv->mu);
	c->running = p;
	pthread_mutex_unlock(&c->srv->mu);
}

void pg_conn_live_add(struct pg_conn *c, struct pg_portal *p)
{
	pthread_mutex_lock(&c->srv->mu);
	if (!p->live) {
		p->live = true;
		p->live_next = c->live;
		c->live = p;
	}
	pthread_mutex_unlock(&c->srv->mu);
}

void pg_conn_live_remove(struct pg_conn *c, struct pg_portal *p)
{
	pthread_mutex_lock(&c->srv->mu);
	for (struct pg_portal **pp = &c->live; p->live && *pp; pp = &(*pp)->live_next) {
		if (*pp == p) {
			*pp = p->live_next;
			p->live = false;
			break;
		}
	}
	if (c->running == p)
		c->running = NULL;
	pthread_mutex_unlock(&c->srv->mu);
}

/* A FATAL error, sent at once; the caller closes. */
static void fatal(struct pg_conn *c, const char *sqlstate, const char *msg)
{
	pg_conn_error(c, "FATAL", sqlstate, msg, 0);
	pg_conn_flush(c);
}

/* ---- cancel ------------------------------------------------------------------ */

/*
 * Ends portal p's query: the flag the row callback checks, the engine's
 * interrupt, and a wake-up for a portal paused between Executes (its
 * thread returns TN_ECANCELED and gives its engine connection back; the
 * next Execute answers 57014).  Under srv->mu, so p is not freed meanwhile.
 */
static void cancel_portal(struct pg_portal *p)
{
	atomic_store(&p->cancel, true);
	if (p->ctl)
		query_cancel(p->ctl);
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * CancelRequest: cancels what the session with that key runs: the query
 * executing or being described at Parse, and the queries of its portals
 * paused between Executes.
 */
static void cancel_request(struct pg_server *s, const struct pg_cancel *k)
{
	pthread_mutex_lock(&s->mu);
	for (struct pg_conn *o = s->conns; o; o = o->next) {
		uint8_t a[4], b[4];
		memcpy(a, &o->secret, 4);
		memcpy(b, &k->secret, 4);
		if (o->pid == k->pid && o->pid != 0 && crypto_equal(a, 4, b, 4)) {
			if (o->running)
				cancel_portal(o->running);
			for (struct pg_portal *p = o->live; p; p = p->live_next)
				if (p != o->running)
					cancel_portal(p);
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- authentication ------------------------------------------------------- */

static void audit_auth(struct pg_conn *c, const char *user, bool ok, const char *why)
{
	if (!c->srv->d.audit)
		return;
	json_t *f = ok ? json_pack("{s:s, s:s, s:s}", "outcome", "ok", "via", c->who.via,
				   "scheme", "pg")
		       : json_pack("{s:s, s:s, s:s}", "outcome", "failed", "why", why, "scheme",
				   "pg");
	json_object_set_new(f, "source", json_string(c->peer));
	json_object_set_new(f, "endpoint", json_string("pg"));
	audit_log(c->srv->d.audit, "auth", user, f);
}

/* Reads one 'p' message of the authentication exchange: 1, or <= 0 (answered). */
static int auth_message(struct pg_conn *c, struct pg_msg *m, int64_t deadline_ms)
{
	char err[TN_ERRLEN];
	if (pg_conn_flush(c))
		return -1;
	int64_t left = deadline_ms - time_mono_ns() / 1000000;
	int rc = left > 0 ? pg_conn_next(c, m, (int)left, err) : 0;
	if (rc == 0) {
		fatal(c, "08006", "authentication timed out");
		return 0;
	}
	if (rc < 0) {
		if (rc != PG_CONN_CLOSED)
			fatal(c, "08P01", err);
		return -1;
	}
	if (m->type != PG_FE_PASSWORD) {
		fatal(c, "08P01", m->type == PG_FE_TERMINATE
					  ? "client ended the connection during authentication"
					  : "expected a password message during authentication");
		return -1;
	}
	return 1;
}

/* Runs SCRAM-SHA-256 (or cleartext over TLS when allowed).  0 when the user proved it. */
static int authenticate(struct pg_conn *c, const char *user, int64_t deadline_ms)
{
	struct pg_server *s = c->srv;
	char err[TN_ERRLEN] = "", verifier[AUTH_VERIFIER_MAX];
	char msg[TN_ERRLEN];
	struct pg_msg m;
	int rc;

	snprintf(msg, sizeof msg, "password authentication failed for user \"%.64s\"", user);
	if (auth_login_check(s->d.auth, user, c->peer, err)) {
		audit_auth(c, user, false, "locked");
		fatal(c, "28P01", err);
		return TN_EAUTH;
	}
	if (c->ssl && s->d.cfg->pg_allow_cleartext) {
		/* cleartext: only over TLS, and only when the configuration allows it */
		struct pg_password pw;
		enum auth_fail why = AUTH_OK;
		pg_put_auth_cleartext(&c->out);
		if ((rc = auth_message(c, &m, deadline_ms)) <= 0)
			return TN_EAUTH;
		if ((rc = pg_parse_password(&m, &pw, err))) {
			fatal(c, "08P01", err);
			return rc;
		}
		rc = auth_password(s->d.auth, user, pw.password, &c->who, &why, err);
		auth_login_result(s->d.auth, user, c->peer, rc == 0);
		if (rc) {
			audit_auth(c, user, false, why == AUTH_UNKNOWN ? "unknown" : "bad secret");
			fatal(c, "28P01", msg);
			return TN_EAUTH;
		}
		snprintf(c->who.via, sizeof c->who.via, "pg-password");
		audit_auth(c, user, true, NULL);
		return 0;
	}

	struct principal p;
	rc = auth_scram_verifier(s->d.auth, user, verifier, &p, err);
	if (rc && rc != TN_ENOTFOUND) {
		fatal(c, "58000", err);
		return rc;
	}
	bool known = rc == 0;
	struct pg_scram *sc = pg_scram_new();
	struct buf sm = BUF_INIT(4096);
	static const char *const mechs[] = { PG_SCRAM_MECH };
	pg_put_auth_sasl(&c->out, mechs, 1);
	if ((rc = auth_message(c, &m, deadline_ms)) <= 0) {
		rc = TN_EAUTH;
		goto out;
	}
	struct pg_sasl_initial ini;
	if ((rc = pg_parse_sasl_initial(&m, &ini, err))) {
		fatal(c, "08P01", err);
		goto out;
	}
	if (ini.len < 0) {
		rc = TN_EINVAL;
		fatal(c, "08P01", "SASL: the client sent no initial response");
		goto out;
	}
	rc = pg_scram_first(sc, ini.mechanism, ini.data, (size_t)ini.len, user,
			    known ? verifier : NULL, s->dummy_secret, sizeof s->dummy_secret, &sm,
			    err);
	if (rc) {
		fatal(c, rc == TN_EUNSUPPORTED ? "28000" : "08P01", err);
		goto out;
	}
	pg_put_auth_sasl_continue(&c->out, sm.data, sm.len);
	buf_reset(&sm);
	if ((rc = auth_message(c, &m, deadline_ms)) <= 0) {
		rc = TN_EAUTH;
		goto out;
	}
	struct pg_sasl_response resp;
	if ((rc = pg_parse_sasl_response(&m, &resp, err))) {
		fatal(c, "08P01", err);
		goto out;
	}
	rc = pg_scram_final(sc, resp.data, resp.len, &sm, err);
	auth_login_result(s->d.auth, user, c->peer, rc == 0);
	if (rc == TN_EAUTH) {
		audit_auth(c, user, false, known ? "bad secret" : "unknown");
		fatal(c, "28P01", msg);
		goto out;
	}
	if (rc) {
		audit_auth(c, user, false, "malformed");
		fatal(c, "08P01", err);
		goto out;
	}
	pg_put_auth_sasl_final(&c->out, sm.data, sm.len);
	c->who = p;
	audit_auth(c, user, true, NULL);
out:
	explicit_bzero(verifier, sizeof verifier);
	pg_scram_free(sc);
	buf_release(&sm);
	return rc;
}

/* ---- startup ----------------------------------------------------------------- */

static void put_status(struct pg_conn *c, const char *name, const char *value)
{
	pg_put_parameter_status(&c->out, name, value);
}

/* TLS handshake after 'S'.  0, or -1 (logged; the caller closes). */
static int start_tls(struct pg_conn *c)
{
	c->ssl = SSL_new(c->srv->ssl);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	if (SSL_accept(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		char buf[256];
		ERR_error_string_n(e, buf, sizeof buf);
		log_debug("pg", "%s: TLS handshake failed: %s", c->peer, buf);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/*
 * Startup phase: SSLRequest, GSSENCRequest, CancelRequest, StartupMessage.
 * Returns 1 with *st filled (borrowed from the reader), 0 when the
 * connection is done (answered or canceled).
 */
static int startup(struct pg_conn *c, struct pg_startup *st, int64_t deadline_ms)
{
	char err[TN_ERRLEN];
	struct pg_msg m;
	for (;;) {
		int64_t left = deadline_ms - time_mono_ns() / 1000000;
		int rc = left > 0 ? pg_conn_next(c, &m, (int)left, err) : 0;
		if (rc == 0) {
			fatal(c, "08006", "startup packet timed out");
			return 0;
		}
		if (rc == PG_CONN_CLOSED)
			return 0;
		if (rc < 0) {
			fatal(c, rc == TN_EUNSUPPORTED ? "0A000" : "08P01", err);
			return 0;
		}
		switch (m.kind) {
		case PG_MSG_SSL:
			if (c->ssl) {
				fatal(c, "08P01", "SSLRequest inside TLS");
				return 0;
			}
			if (pg_reader_buffered(&c->r) != 0) {
				fatal(c, "08P01", "received unencrypted data after SSL request");
				return 0;
			}
			pg_put_ssl_answer(&c->out, c->srv->ssl != NULL);
			if (pg_conn_flush(c))
				return 0;
			if (c->srv->ssl && start_tls(c))
				return 0;
			break;
		case PG_MSG_GSSENC:
			if (pg_reader_buffered(&c->r) != 0) {
				fatal(c, "08P01", "received unencrypted data after GSSENC request");
				return 0;
			}
			pg_put_ssl_answer(&c->out, false);
			if (pg_conn_flush(c))
				return 0;
			break;
		case PG_MSG_CANCEL: {
			struct pg_cancel k;
			if (pg_parse_cancel(&m, &k, err) == 0)
				cancel_request(c->srv, &k);
			return 0;
		}
		case PG_MSG_STARTUP:
			if (pg_parse_startup(&m, st, err)) {
				fatal(c, "08P01", err);
				return 0;
			}
			return 1;
		default:
			fatal(c, "08P01", "unexpected message during startup");
			return 0;
		}
	}
}

static void session_key(struct pg_conn *c)
{
	struct pg_server *s = c->srv;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint32_t pid;
		crypto_random(&pid, sizeof pid);
		pid = (pid & 0x3fffffffu) | 0x100u;
		bool taken = false;
		for (struct pg_conn *o = s->conns; o; o = o->next)
			taken |= o != c && o->pid == pid;
		if (!taken) {
			c->pid = pid;
			break;
		}
	}
	crypto_random(&c->secret, sizeof c->secret);
	pthread_mutex_unlock(&s->mu);
}

static void serve(struct pg_conn *c)
{
	struct pg_server *s = c->srv;
	const struct tn_config *cfg = s->d.cfg;
	struct pg_startup st;
	char msg[TN_ERRLEN];
	int64_t deadline = time_mono_ns() / 1000000 + PG_AUTH_TIMEOUT_MS;

	if (!startup(c, &st, deadline))
		return;
	pthread_mutex_lock(&s->mu);
	bool full = s->nsessions >= (unsigned)cfg->pg_max_connections;
	if (!full) {
		s->nsessions++;
		c->counted = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (full) {
		fatal(c, "53300", "sorry, too many clients already");
		return;
	}
	if (st.minor > 0 || st.nparams) {
		/* newer minor versions and unknown "_pq_." options: say what is supported */
		const char *unknown[PG_MAX_STARTUP_PARAMS];
		size_t nu = 0;
		for (size_t i = 0; i < st.nparams; i++)
			if (!strncmp(st.name[i], "_pq_.", 5))
				unknown[nu++] = st.name[i];
		if (st.minor > 0 || nu)
			pg_put_negotiate_version(&c->out, 0, unknown, nu);
	}
	if (!st.user || !*st.user) {
		fatal(c, "28000", "no PostgreSQL user name specified in startup packet");
		return;
	}
	if (st.replication && strcmp(st.replication, "false") && strcmp(st.replication, "0")) {
		fatal(c, "0A000", "replication connections are not supported");
		return;
	}
	const char *db = st.database && *st.database ? st.database : st.user;
	if (strcmp(db, cfg->lake_name)) {
		snprintf(msg, sizeof msg, "database \"%.64s\" does not exist (this lake's database "
			 "is \"%s\")", db, cfg->lake_name);
		fatal(c, "3D000", msg);
		return;
	}
	if (st.client_encoding && strcasecmp(st.client_encoding, "UTF8") &&
	    strcasecmp(st.client_encoding, "UTF-8") && strcasecmp(st.client_encoding, "unicode")) {
		snprintf(msg, sizeof msg, "client_encoding \"%.32s\" is not supported: use UTF8",
			 st.client_encoding);
		fatal(c, "22023", msg);
		return;
	}
	snprintf(c->user, sizeof c->user, "%.64s", st.user);
	char appname[128];
	snprintf(appname, sizeof appname, "%s", st.application_name ? st.application_name : "");
	if (authenticate(c, c->user, deadline))
		return;
	pg_put_auth_ok(&c->out);
	session_key(c);
	put_status(c, "server_version", "15.0");
	put_status(c, "server_encoding", "UTF8");
	put_status(c, "client_encoding", "UTF8");
	put_status(c, "DateStyle", "ISO, MDY");
	put_status(c, "TimeZone", "UTC");
	put_status(c, "integer_datetimes", "on");
	put_status(c, "standard_conforming_strings", "on");
	put_status(c, "IntervalStyle", "postgres");
	put_status(c, "is_superuser", c->who.is_admin ? "on" : "off");
	put_status(c, "session_authorization", c->who.name);
	put_status(c, "application_name", appname);
	put_status(c, "default_transaction_read_only", "off");
	put_status(c, "in_hot_standby", "off");
	pg_put_backend_key(&c->out, c->pid, c->secret);
	c->tx = PG_TX_IDLE;
	c->stmt_timeout_ms = cfg->pg_statement_timeout_ms;
	/* remember what the startup packet set (application_name, DateStyle, ...) */
	for (size_t i = 0; i < st.nparams && c->nset < PG_MAX_SETTINGS; i++) {
		if (!strcmp(st.name[i], "user") || !strcmp(st.name[i], "database") ||
		    !strncmp(st.name[i], "_pq_.", 5) || !strcmp(st.name[i], "options") ||
		    !strcmp(st.name[i], "replication"))
			continue;
		c->set_name[c->nset] = xstrdup(st.name[i]);
		c->set_value[c->nset] = xstrdup(st.value[i]);
		c->nset++;
	}
	pg_reader_set_max(&c->r, PG_SESSION_MAX_MESSAGE);
	pg_put_ready(&c->out, c->tx);
	if (pg_conn_flush(c))
		return;
	log_debug("pg", "%s: session %u for '%s'", c->peer, c->pid, c->who.name);
	pg_session_run(c);
}

/* ---- connection threads ------------------------------------------------------- */

static void *conn_main(void *arg)
{
	struct pg_conn *c = arg;
	struct pg_server *s = c->srv;
	serve(c);
	pg_session_release(c);
	if (c->ssl) {
		if (!c->io_failed)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	pthread_mutex_lock(&s->mu);
	for (struct pg_conn **pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->counted)
		s->nsessions--;
	s->nthreads--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	close(c->fd);
	pg_reader_release(&c->r);
	buf_release(&c->out);
	free(c);
	return NULL;
}

static void peer_name(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	out[0] = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		if (getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)n, NULL, 0,
				NI_NUMERICHOST) != 0)
			out[0] = 0;
}

static void accept_one(struct pg_server *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&s->mu);
	bool ok = !s->stopping &&
		  s->nthreads < (unsigned)s->d.cfg->pg_max_connections + PG_REJECT_SLOTS;
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int64_t idle = s->d.cfg->pg_idle_timeout_s;
	struct timeval tv = { .tv_sec = idle > 3600 ? 3600 : idle };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	/*
	 * Reads wait in poll(); this bounds the ones that do not: the TLS
	 * handshake and the rest of a TLS record whose first bytes arrived.
	 */
	struct timeval rtv = { .tv_sec = PG_AUTH_TIMEOUT_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);
	struct pg_conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->fd = fd;
	peer_name(fd, c->peer, sizeof c->peer);
	pg_reader_init(&c->r, PG_MAX_AUTH_MESSAGE);
	buf_init(&c->out, PG_MAX_OUT);
	c->tx = PG_TX_IDLE;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	s->conns = c;
	s->nthreads++;
	int rc = pthread_create(&c->th, &at, conn_main, c);
	if (rc) {
		s->conns = c->next;
		s->nthreads--;
	}
	pthread_mutex_unlock(&s->mu);
	pthread_attr_destroy(&at);
	if (rc) {
		close(fd);
		pg_reader_release(&c->r);
		buf_release(&c->out);
		free(c);
	}
}

static void *listener_main(void *arg)
{
	struct pg_server *s = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN },
				       { .fd = s->wake[0], .events = POLLIN } };
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(s);
	}
	return NULL;
}

int pg_server_start(const char *addr, const struct pg_deps *d, struct pg_server **out,
		    char *err)
{
	char host[TN_MAX_ADDR];
	int port = 0, rc;
	if ((rc = config_parse_addr(addr, host, sizeof host, &port, err)))
		return rc;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai) != 0 || !ai)
		return tn_fail(err, TN_EINVAL, "pg.listen '%s': cannot resolve '%s'", addr, host);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		rc = tn_fail(err, TN_EIO, "pg.listen '%s': %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	struct pg_server *s = xcalloc(1, sizeof *s);
	s->d = *d;
	s->lfd = fd;
	s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (d->tls && (rc = tls_pair_server_ctx(d->tls, &s->ssl, err))) {
		close(fd);
		free(s);
		return rc;
	}
	auth_scram_dummy_secret(d->auth, s->dummy_secret);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pipe2(s->wake, O_CLOEXEC) || pthread_create(&s->listener, NULL, listener_main, s)) {
		rc = tn_fail(err, TN_EIO, "pg: cannot start the listener: %s", strerror(errno));
		close(fd);
		if (s->ssl)
			SSL_CTX_free(s->ssl);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int pg_server_port(const struct pg_server *s)
{
	return s->port;
}

void pg_server_stop(struct pg_server *s)
{
	if (!s)
		return;
	char b = 1;
	if (write(s->wake[1], &b, 1) < 0)
		log_warn("pg", "cannot wake the listener: %s", strerror(errno));
	pthread_join(s->listener, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	for (struct pg_conn *c = s->conns; c; c = c->next) {
		if (c->running) {
			atomic_store(&c->running->cancel, true);
			if (c->running->ctl)
				query_cancel(c->running->ctl);
		}
		shutdown(c->fd, SHUT_RDWR);
	}
	while (s->nthreads > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	close(s->wake[0]);
	close(s->wake[1]);
	if (s->ssl)
		SSL_CTX_free(s->ssl);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/*
 * test_pglibpq.c - the pg/ protocol pieces against a real client: Debian's
 * psql and libpq (loaded with dlopen, so the build needs no -lpq).
 *
 * A TEST FIXTURE, not the product server: serve_one() below accepts one
 * connection on 127.0.0.1, runs startup and SCRAM-SHA-256 with
 * pg/proto.h and pg/scram.h against a verifier made by tarn's own
 * credential store, answers "SELECT 1" with hard-coded messages, and for
 * the extended protocol echoes each Bind parameter back as a column of
 * the parameter's type (decoded with pgtype_*_in, re-encoded with
 * pgtype_*_out in the format the client asked for).  No DuckDB, no
 * sessions, one connection, then it returns.
 *
 * Skipped (reported as passing, with a note) when psql or libpq.so.5 is
 * not installed.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "pg/proto.h"
#include "pg/scram.h"
#include "pg/types.h"
#include "core/banned.h"

#define USER "alice"
#define PASSWORD "correct horse 1"
#define MAX_PARAMS 16

static const uint8_t mock_secret[32] = "pg fixture secret for mock salts";

/* ---- the fixture server ---------------------------------------------------- */

struct fx {
	int fd;
	struct pg_reader r;
	struct buf out;
	const char *verifier;    /* USER's stored verifier */
	char startup[512];       /* the startup parameters seen, for the log */
	/* one prepared statement and one portal (enough for libpq's calls) */
	char stmt[64];
	uint16_t nparams;
	uint32_t oids[MAX_PARAMS];
	char *vals[MAX_PARAMS];  /* DuckDB text of each bound parameter; NULL = SQL NULL */
	int resfmt[MAX_PARAMS];
	bool failed;             /* an error: skip messages until Sync */
};

static int fx_flush(struct fx *f)
{
	size_t off = 0;
	while (off < f->out.len) {
		ssize_t n = write(f->fd, f->out.data + off, f->out.len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	buf_reset(&f->out);
	return 0;
}

/* The next message: 1, or -1 at EOF, error or timeout. */
static int fx_next(struct fx *f, struct pg_msg *m)
{
	char err[TN_ERRLEN];
	for (;;) {
		int rc = pg_reader_next(&f->r, m, err);
		if (rc == 1)
			return 1;
		if (rc < 0) {
			fprintf(stderr, "fixture: %s\n", err);
			return -1;
		}
		struct pollfd p = { f->fd, POLLIN, 0 };
		if (poll(&p, 1, 20000) <= 0)
			return -1;
		char tmp[4096];
		ssize_t n = read(f->fd, tmp, sizeof tmp);
		if (n <= 0 || pg_reader_feed(&f->r, tmp, (size_t)n, err))
			return -1;
	}
}

static void fx_error(struct fx *f, const char *severity, const char *sqlstate, const char *msg)
{
	struct pg_error e = { severity, sqlstate, msg, NULL, NULL, 0, NULL, NULL, 0 };
	pg_put_error(&f->out, &e);
	fx_flush(f);
	f->failed = true;
}

/* Startup phase up to AuthenticationOk and ReadyForQuery; 0 when in. */
static int fx_login(struct fx *f)
{
	struct pg_msg m;
	struct pg_startup st;
	char err[TN_ERRLEN] = "", user[128] = "";
	for (;;) {
		if (fx_next(f, &m) != 1)
			return -1;
		if (m.kind == PG_MSG_SSL || m.kind == PG_MSG_GSSENC) {
			pg_put_ssl_answer(&f->out, false);
			fx_flush(f);
			continue;
		}
		if (m.kind != PG_MSG_STARTUP || pg_parse_startup(&m, &st, err))
			return -1;
		break;
	}
	size_t o = 0;
	for (size_t i = 0; i < st.nparams && o < sizeof f->startup; i++)
		o += (size_t)snprintf(f->startup + o, sizeof f->startup - o, "%s%s=%s", i ? " " : "",
				      st.name[i], st.value[i]);
	snprintf(user, sizeof user, "%s", st.user ? st.user : "");

	/* SCRAM-SHA-256 */
	const char *mechs[] = { PG_SCRAM_MECH };
	pg_put_auth_sasl(&f->out, mechs, 1);
	fx_flush(f);
	pg_reader_set_max(&f->r, PG_MAX_AUTH_MESSAGE);
	struct pg_scram *s = pg_scram_new();
	struct pg_sasl_initial si;
	struct pg_sasl_response sr;
	struct buf b = BUF_INIT(0);
	int rc = -1;
	if (fx_next(f, &m) != 1 || pg_parse_sasl_initial(&m, &si, err) || si.len < 0)
		goto out;
	fprintf(stderr, "fixture: startup %s; SASL %s client-first '%.*s'\n", f->startup,
		si.mechanism, (int)si.len, (const char *)si.data);
	rc = pg_scram_first(s, si.mechanism, si.data, (size_t)si.len, user,
			    strcmp(user, USER) == 0 ? f->verifier : NULL, mock_secret,
			    sizeof mock_secret, &b, err);
	if (rc) {
		fx_error(f, "FATAL", rc == TN_EAUTH ? "28P01" : "08P01", err);
		goto out;
	}
	pg_put_auth_sasl_continue(&f->out, b.data, b.len);
	fx_flush(f);
	rc = -1;
	if (fx_next(f, &m) != 1 || pg_parse_sasl_response(&m, &sr, err))
		goto out;
	buf_reset(&b);
	rc = pg_scram_final(s, sr.data, sr.len, &b, err);
	if (rc) {
		char msg[256];
		snprintf(msg, sizeof msg, "password authentication failed for user \"%s\"", user);
		fx_error(f, "FATAL", rc == TN_EAUTH ? "28P01" : "08P01",
			 rc == TN_EAUTH ? msg : err);
		goto out;
	}
	pg_put_auth_sasl_final(&f->out, b.data, b.len);
	pg_put_auth_ok(&f->out);
	pg_put_parameter_status(&f->out, "server_version", "15.0 (tarn test fixture)");
	pg_put_parameter_status(&f->out, "client_encoding", "UTF8");
	pg_put_parameter_status(&f->out, "DateStyle", "ISO, MDY");
	pg_put_parameter_status(&f->out, "TimeZone", "UTC");
	pg_put_parameter_status(&f->out, "integer_datetimes", "on");
	pg_put_parameter_status(&f->out, "standard_conforming_strings", "on");
	pg_put_backend_key(&f->out, 4242, 0x5eed);
	pg_put_ready(&f->out, PG_TX_IDLE);
	pg_reader_set_max(&f->r, 0);
	rc = fx_flush(f);
out:
	pg_scram_free(s);
	buf_release(&b);
	return rc;
}

static void fx_clear_portal(struct fx *f)
{
	for (int i = 0; i < MAX_PARAMS; i++) {
		free(f->vals[i]);
		f->vals[i] = NULL;
	}
}

/* One column per parameter, named c1.., of the parameter's type. */
static void fx_row_description(struct fx *f, bool portal)
{
	struct pg_field fl[MAX_PARAMS];
	char names[MAX_PARAMS][8];
	for (int i = 0; i < f->nparams; i++) {
		snprintf(names[i], sizeof names[i], "c%d", i + 1);
		uint32_t oid = f->oids[i] ? f->oids[i] : PG_OID_TEXT;
		fl[i] = (struct pg_field){ names[i], 0, 0, oid, pgtype_len(oid), -1,
					   (int16_t)(portal ? f->resfmt[i] : 0) };
	}
	pg_put_row_description(&f->out, fl, f->nparams);
}

/* The extended protocol, echoing parameters; 0 at Terminate. */
static int fx_extended(struct fx *f, struct pg_msg *m)
{
	char err[TN_ERRLEN] = "";
	/* after an error the extended protocol skips everything up to Sync */
	if (f->failed && m->type != PG_FE_SYNC)
		return 1;
	switch (m->type) {
	case PG_FE_PARSE: {
		struct pg_parse p;
		if (pg_parse_parse(m, &p, err) || p.nparams > MAX_PARAMS)
			return -1;
		snprintf(f->stmt, sizeof f->stmt, "%s", p.name);
		f->nparams = p.nparams;
		for (int i = 0; i < p.nparams; i++)
			f->oids[i] = pg_parse_oid(&p, (size_t)i);
		pg_put_parse_complete(&f->out);
		return 1;
	}
	case PG_FE_BIND: {
		struct pg_bind bd;
		if (pg_parse_bind(m, &bd, err) || bd.nparams != f->nparams)
			return -1;
		fx_clear_portal(f);
		for (int i = 0; i < bd.nparams; i++) {
			int fmt;
			if (pg_bind_result_format(&bd, (size_t)i, f->nparams, &fmt, err))
				break;
			f->resfmt[i] = fmt;
			if (bd.params[i].len < 0)
				continue;
			struct buf v = BUF_INIT(0);
			int rc = pg_bind_param_format(&bd, (size_t)i) == PG_FMT_BINARY
					 ? pgtype_binary_in(f->oids[i], bd.params[i].p,
							    (size_t)bd.params[i].len, &v, err)
					 : pgtype_text_in(f->oids[i], (const char *)bd.params[i].p,
							  (size_t)bd.params[i].len, &v, err);
			if (rc) {
				buf_release(&v);
				pg_bind_release(&bd);
				fx_error(f, "ERROR", "22P02", err);
				return 1;
			}
			f->vals[i] = buf_detach(&v, NULL);
		}
		pg_bind_release(&bd);
		pg_put_bind_complete(&f->out);
		return 1;
	}
	case PG_FE_DESCRIBE: {
		struct pg_target t;
		if (pg_parse_describe(m, &t, err))
			return -1;
		if (t.kind == 'S')
			pg_put_parameter_description(&f->out, f->oids, f->nparams);
		fx_row_description(f, t.kind == 'P');
		return 1;
	}
	case PG_FE_EXECUTE: {
		struct pg_execute e;
		if (pg_parse_execute(m, &e, err))
			return -1;
		size_t row = f->out.len;
		pg_put_row_begin(&f->out, f->nparams);
		for (int i = 0; i < f->nparams; i++) {
			if (!f->vals[i]) {
				pg_put_null(&f->out);
				continue;
			}
			uint32_t oid = f->oids[i] ? f->oids[i] : PG_OID_TEXT;
			size_t at = f->out.len;
			pg_put_value_open(&f->out);
			int rc = f->resfmt[i] == PG_FMT_BINARY
					 ? pgtype_binary_out(oid, f->vals[i], strlen(f->vals[i]),
							     &f->out, err)
					 : pgtype_text_out(oid, f->vals[i], strlen(f->vals[i]),
							   &f->out, err);
			if (rc) {
				buf_truncate(&f->out, row);
				fx_error(f, "ERROR", "22P02", err);
				return 1;
			}
			pg_put_value_close(&f->out, at);
		}
		pg_put_row_end(&f->out, row);
		pg_put_command_complete(&f->out, "SELECT 1");
		return 1;
	}
	case PG_FE_SYNC:
		if (pg_parse_empty(m, err))
			return -1;
		f->failed = false;
		pg_put_ready(&f->out, PG_TX_IDLE);
		return fx_flush(f) ? -1 : 1;
	case PG_FE_FLUSH:
		return fx_flush(f) ? -1 : 1;
	case PG_FE_CLOSE: {
		struct pg_target t;
		if (pg_parse_close(m, &t, err))
			return -1;
		pg_put_close_complete(&f->out);
		return 1;
	}
	default:
		return -1;
	}
}

/* Serves one accepted connection to its end; 0 after a clean Terminate. */
static int fx_serve(struct fx *f)
{
	if (fx_login(f))
		return -1;
	struct pg_msg m;
	char err[TN_ERRLEN] = "";
	while (fx_next(f, &m) == 1) {
		if (m.type == PG_FE_TERMINATE)
			return pg_parse_empty(&m, err) ? -1 : 0;
		if (m.type == PG_FE_QUERY) {
			struct pg_query q;
			if (pg_parse_query(&m, &q, err))
				return -1;
			if (strcmp(q.sql, "SELECT 1") == 0) {
				struct pg_field fl = { "?column?", 0, 0, PG_OID_INT4, 4, -1, 0 };
				struct pg_value v = { (const uint8_t *)"1", 1 };
				pg_put_row_description(&f->out, &fl, 1);
				pg_put_data_row(&f->out, &v, 1);
				pg_put_command_complete(&f->out, "SELECT 1");
			} else {
				struct pg_error e = { "ERROR", "0A000", "the fixture only knows SELECT 1",
						      NULL, NULL, 1, NULL, NULL, 0 };
				pg_put_error(&f->out, &e);
			}
			pg_put_ready(&f->out, PG_TX_IDLE);
			f->failed = false;
			if (fx_flush(f))
				return -1;
			continue;
		}
		if (fx_extended(f, &m) < 0)
			return -1;
	}
	return -1;
}

/* Accepts one connection on lfd and serves it. */
static int serve_one(int lfd, const char *verifier, char *startup, size_t slen)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	if (poll(&p, 1, 30000) <= 0)
		return -1;
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	struct fx f;
	memset(&f, 0, sizeof f);
	f.fd = fd;
	f.verifier = verifier;
	pg_reader_init(&f.r, 0);
	buf_init(&f.out, 0);
	int rc = fx_serve(&f);
	if (startup)
		snprintf(startup, slen, "%s", f.startup);
	fx_clear_portal(&f);
	pg_reader_release(&f.r);
	buf_release(&f.out);
	close(fd);
	return rc;
}

/* ---- set-up ------------------------------------------------------------------ */

/* USER's verifier, made by tarn's credential store and read back from the metastore. */
static void tarn_verifier(char *out, size_t n)
{
	static char cached[256];  /* one metastore per test process */
	if (cached[0]) {
		snprintf(out, n, "%s", cached);
		return;
	}
	char err[TN_ERRLEN] = "", path[512];
	struct meta *m;
	struct auth *a;
	uint8_t key[32] = { 9 };
	snprintf(path, sizeof path, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(path, &m, err), 0);
	CHECK_INT(auth_open(m, key, &a, err), 0);
	CHECK_INT(auth_user_add(a, USER, PASSWORD, err), 0);
	sqlite3_stmt *st;
	meta_lock(m);
	CHECK_INT(sqlite3_prepare_v2(meta_db(m), "SELECT scram FROM principals WHERE name = ?1", -1,
				     &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, USER, -1, SQLITE_STATIC);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	snprintf(cached, sizeof cached, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(out, n, "%s", cached);
	sqlite3_finalize(st);
	meta_unlock(m);
	auth_close(a);
	meta_close(m);
}

/* A listening socket on 127.0.0.1 at a free port. */
static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_INT(listen(fd, 4), 0);
	socklen_t l = sizeof a;
	CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static bool have_psql(void)
{
	return access("/usr/bin/psql", X_OK) == 0;
}

/*
 * Runs psql -c sql as user/password against the fixture; out gets psql's
 * stdout and stderr, *status its exit status; returns the fixture's result.
 */
static int run_psql_ssl(const char *sslmode, const char *user, const char *password,
			const char *sql, char *out, size_t outlen, int *status, char *startup,
			size_t slen)
{
	char verifier[256];
	tarn_verifier(verifier, sizeof verifier);
	int port;
	int lfd = listen_any(&port);
	int pfd[2];
	CHECK_INT(pipe(pfd), 0);
	char conninfo[512];
	snprintf(conninfo, sizeof conninfo,
		 "host=127.0.0.1 port=%d user=%s dbname=lake password='%s' sslmode=%s "
		 "gssencmode=disable connect_timeout=20",
		 port, user, password, sslmode);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(lfd);
		unsetenv("PGSERVICE");
		unsetenv("PGPASSFILE");
		setenv("PGCONNECT_TIMEOUT", "20", 1);
		execl("/usr/bin/psql", "psql", "-X", "-A", "-t", "-c", sql, conninfo, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	int rc = serve_one(lfd, verifier, startup, slen);
	close(lfd);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < outlen && (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
	CHECK_INT(waitpid(pid, status, 0), pid);
	return rc;
}

static int run_psql(const char *user, const char *password, const char *sql, char *out,
		    size_t outlen, int *status, char *startup, size_t slen)
{
	return run_psql_ssl("disable", user, password, sql, out, outlen, status, startup, slen);
}

TEST(pglibpq_psql_scram_select_1)
{
	if (!have_psql()) {
		fprintf(stderr, "skipped: no /usr/bin/psql\n");
		return;
	}
	char out[4096], startup[512] = "";
	int status;
	int rc = run_psql(USER, PASSWORD, "SELECT 1", out, sizeof out, &status, startup,
			  sizeof startup);
	fprintf(stderr, "psql's startup packet: %s\npsql said: %s\n", startup, out);
	CHECK_INT(rc, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(out, "1\n");
	CHECK(strstr(startup, "user=alice") != NULL);
	CHECK(strstr(startup, "database=lake") != NULL);
}

TEST(pglibpq_psql_sslrequest_answered_no)
{
	/* sslmode=prefer: libpq asks for TLS first, takes the 'N' and goes on in the clear */
	if (!have_psql())
		return;
	char out[4096];
	int status;
	int rc = run_psql_ssl("prefer", USER, PASSWORD, "SELECT 1", out, sizeof out, &status, NULL,
			      0);
	CHECK_INT(rc, 0);
	CHECK_STR(out, "1\n");
	/* sslmode=require: libpq gives up after the 'N' */
	rc = run_psql_ssl("require", USER, PASSWORD, "SELECT 1", out, sizeof out, &status, NULL, 0);
	fprintf(stderr, "psql said: %s\n", out);
	CHECK(rc != 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CHECK(strstr(out, "server does not support SSL") != NULL);
}

TEST(pglibpq_psql_wrong_password)
{
	if (!have_psql())
		return;
	char out[4096];
	int status;
	int rc = run_psql(USER, "correct horse 2", "SELECT 1", out, sizeof out, &status, NULL, 0);
	fprintf(stderr, "psql said: %s\n", out);
	CHECK(rc != 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CHECK(strstr(out, "FATAL:  password authentication failed for user \"alice\"") != NULL);
}

TEST(pglibpq_psql_unknown_user_reads_the_same)
{
	if (!have_psql())
		return;
	char out[4096];
	int status;
	int rc = run_psql("ghost", PASSWORD, "SELECT 1", out, sizeof out, &status, NULL, 0);
	fprintf(stderr, "psql said: %s\n", out);
	CHECK(rc != 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CHECK(strstr(out, "FATAL:  password authentication failed for user \"ghost\"") != NULL);
}

TEST(pglibpq_psql_error_then_ready)
{
	/* an ErrorResponse with a position reaches psql intact */
	if (!have_psql())
		return;
	char out[4096];
	int status;
	run_psql(USER, PASSWORD, "SELECT 2", out, sizeof out, &status, NULL, 0);
	fprintf(stderr, "psql said: %s\n", out);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(strstr(out, "ERROR:  the fixture only knows SELECT 1") != NULL);
	CHECK(strstr(out, "LINE 1: SELECT 2") != NULL);  /* psql used the P field */
}

/* ---- libpq's extended protocol (dlopen) --------------------------------------- */

typedef void *(*connectdb_fn)(const char *);
typedef int (*status_fn)(const void *);
typedef char *(*errmsg_fn)(const void *);
typedef void *(*execparams_fn)(void *, const char *, int, const uint32_t *, const char *const *,
			       const int *, const int *, int);
typedef void *(*prepare_fn)(void *, const char *, const char *, int, const uint32_t *);
typedef void *(*execprepared_fn)(void *, const char *, int, const char *const *, const int *,
				 const int *, int);
typedef int (*resstatus_fn)(const void *);
typedef char *(*reserr_fn)(const void *);
typedef char *(*getvalue_fn)(const void *, int, int);
typedef int (*getint2_fn)(const void *, int, int);
typedef int (*getint1_fn)(const void *, int);
typedef uint32_t (*ftype_fn)(const void *, int);
typedef void (*void_fn)(void *);

struct libpq {
	connectdb_fn connectdb;
	status_fn status;
	errmsg_fn errmsg;
	execparams_fn execparams;
	prepare_fn prepare;
	execprepared_fn execprepared;
	resstatus_fn resstatus;
	reserr_fn reserr;
	getvalue_fn getvalue;
	getint2_fn getlength, getisnull;
	getint1_fn fformat;
	ftype_fn ftype;
	status_fn ntuples;
	void_fn clear, finish;
};

static bool load_libpq(struct libpq *l)
{
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false;
	l->connectdb = (connectdb_fn)dlsym(h, "PQconnectdb");
	l->status = (status_fn)dlsym(h, "PQstatus");
	l->errmsg = (errmsg_fn)dlsym(h, "PQerrorMessage");
	l->execparams = (execparams_fn)dlsym(h, "PQexecParams");
	l->prepare = (prepare_fn)dlsym(h, "PQprepare");
	l->execprepared = (execprepared_fn)dlsym(h, "PQexecPrepared");
	l->resstatus = (resstatus_fn)dlsym(h, "PQresultStatus");
	l->reserr = (reserr_fn)dlsym(h, "PQresultErrorMessage");
	l->getvalue = (getvalue_fn)dlsym(h, "PQgetvalue");
	l->getlength = (getint2_fn)dlsym(h, "PQgetlength");
	l->getisnull = (getint2_fn)dlsym(h, "PQgetisnull");
	l->fformat = (getint1_fn)dlsym(h, "PQfformat");
	l->ftype = (ftype_fn)dlsym(h, "PQftype");
	l->ntuples = (status_fn)dlsym(h, "PQntuples");
	l->clear = (void_fn)dlsym(h, "PQclear");
	l->finish = (void_fn)dlsym(h, "PQfinish");
	return l->connectdb && l->status && l->execparams && l->prepare && l->execprepared &&
	       l->getvalue && l->finish;
}

#define PGRES_TUPLES_OK 2
#define PGRES_COMMAND_OK 1

/* A binary parameter: its type, its bytes, and the text PostgreSQL would print. */
struct bparam {
	uint32_t oid;
	const char *bytes;
	int len;
	const char *text;
};

static const struct bparam bparams[] = {
	{ PG_OID_INT4, "\x00\x00\x00\x2a", 4, "42" },
	{ PG_OID_INT8, "\xff\xff\xff\xff\xff\xff\xff\xfe", 8, "-2" },
	{ PG_OID_FLOAT8, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8, "1.5" },
	{ PG_OID_NUMERIC, "\x00\x03\x00\x01\x00\x00\x00\x04\x00\x01\x09\x29\x1a\x85", 14,
	  "12345.6789" },
	{ PG_OID_BOOL, "\x01", 1, "t" },
	{ PG_OID_DATE, "\xff\xff\xfe\x93", 4, "1999-01-01" },
	{ PG_OID_TIMESTAMP, "\x00\x03\x03\xd5\xaf\x99\x84\x38", 8, "2026-11-22 05:40:39.123" },
	{ PG_OID_TIMESTAMPTZ, "\x00\x03\x03\xd5\xaf\x99\x84\x38", 8, "2026-11-22 05:40:39.123+00" },
	{ PG_OID_INTERVAL, "\x00\x00\x00\x03\x6c\x93\x61\xa0\x00\x00\x00\x03\x00\x00\x00\x0e", 16,
	  "1 year 2 mons 3 days 04:05:06.5" },
	{ PG_OID_UUID, "\x49\x92\xd4\x29\x36\xa1\x49\xa9\x8d\x43\x4b\xe8\x0d\x09\x45\xf9", 16,
	  "4992d429-36a1-49a9-8d43-4be80d0945f9" },
	{ PG_OID_BYTEA, "\xde\xad\x00\xef", 4, "\\xdead00ef" },
	{ PG_OID_TEXT, "h\xc3\xa9llo", 6, "h\xc3\xa9llo" },
};
#define NB (int)(sizeof bparams / sizeof bparams[0])

/* The client half: runs in the test process against a fixture in a child. */
static void libpq_client(struct libpq *l, int port)
{
	char conninfo[512];
	snprintf(conninfo, sizeof conninfo,
		 "host=127.0.0.1 port=%d user=%s dbname=lake password='%s' sslmode=disable "
		 "gssencmode=disable connect_timeout=20",
		 port, USER, PASSWORD);
	void *c = l->connectdb(conninfo);
	if (l->status(c) != 0)
		fprintf(stderr, "connect: %s\n", l->errmsg(c));
	CHECK_INT(l->status(c), 0);

	uint32_t oids[NB];
	const char *vals[NB];
	int lens[NB], fmts[NB];
	for (int i = 0; i < NB; i++) {
		oids[i] = bparams[i].oid;
		vals[i] = bparams[i].bytes;
		lens[i] = bparams[i].len;
		fmts[i] = 1;
	}
	/* binary in, binary out: every value comes back byte for byte */
	void *r = l->execparams(c, "SELECT echo", NB, oids, vals, lens, fmts, 1);
	if (l->resstatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "execparams: %s\n", l->reserr(r));
	CHECK_INT(l->resstatus(r), PGRES_TUPLES_OK);
	CHECK_INT(l->ntuples(r), 1);
	for (int i = 0; i < NB; i++) {
		CHECK_INT(l->ftype(r, i), bparams[i].oid);
		CHECK_INT(l->fformat(r, i), 1);
		CHECK_INT(l->getlength(r, 0, i), bparams[i].len);
		CHECK(memcmp(l->getvalue(r, 0, i), bparams[i].bytes, (size_t)bparams[i].len) == 0);
	}
	l->clear(r);
	/* binary in, text out: PostgreSQL's text forms */
	r = l->execparams(c, "SELECT echo", NB, oids, vals, lens, fmts, 0);
	CHECK_INT(l->resstatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < NB; i++) {
		CHECK_INT(l->fformat(r, i), 0);
		if (strcmp(l->getvalue(r, 0, i), bparams[i].text) != 0)
			fprintf(stderr, "column %d: '%s', expected '%s'\n", i, l->getvalue(r, 0, i),
				bparams[i].text);
		CHECK_STR(l->getvalue(r, 0, i), bparams[i].text);
	}
	l->clear(r);
	/* a named statement: Parse + Sync, then Bind/Describe/Execute; text params, a NULL */
	uint32_t toids[4] = { PG_OID_INTERVAL, PG_OID_BYTEA, PG_OID_DATE, PG_OID_INT4 };
	r = l->prepare(c, "s1", "SELECT echo", 4, toids);
	CHECK_INT(l->resstatus(r), PGRES_COMMAND_OK);
	l->clear(r);
	const char *tvals[4] = { "1 year 2 mons -3 days +04:05:06.5", "\\xdeadbeef", "0045-03-15 BC",
				 NULL };
	r = l->execprepared(c, "s1", 4, tvals, NULL, NULL, 0);
	CHECK_INT(l->resstatus(r), PGRES_TUPLES_OK);
	CHECK_STR(l->getvalue(r, 0, 0), "1 year 2 mons -3 days +04:05:06.5");
	CHECK_STR(l->getvalue(r, 0, 1), "\\xdeadbeef");
	CHECK_STR(l->getvalue(r, 0, 2), "0045-03-15 BC");
	CHECK_INT(l->getisnull(r, 0, 3), 1);
	l->clear(r);
	/* a bad parameter: an ErrorResponse, and the connection goes on */
	const char *badv[4] = { "1 fortnight", "x", "2026-01-01", "1" };
	r = l->execprepared(c, "s1", 4, badv, NULL, NULL, 0);
	CHECK(l->resstatus(r) != PGRES_TUPLES_OK);
	CHECK(strstr(l->reserr(r), "invalid input syntax for type interval") != NULL);
	l->clear(r);
	r = l->execprepared(c, "s1", 4, tvals, NULL, NULL, 0);
	CHECK_INT(l->resstatus(r), PGRES_TUPLES_OK);
	l->clear(r);
	l->finish(c);
}

TEST(pglibpq_extended_protocol_echo)
{
	struct libpq l;
	if (!load_libpq(&l)) {
		fprintf(stderr, "skipped: no libpq.so.5 (%s)\n", dlerror());
		return;
	}
	char verifier[256];
	tarn_verifier(verifier, sizeof verifier);
	int port;
	int lfd = listen_any(&port);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(60);
		int rc = serve_one(lfd, verifier, NULL, 0);
		_exit(rc == 0 ? 0 : 1);
	}
	close(lfd);
	libpq_client(&l, port);
	int status;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);  /* ended with a Terminate */
}

/*
 * pg_int.h - internals shared by the PostgreSQL endpoint's files
 * (server.c: listener, connections, startup, authentication; session.c:
 * the message loop and session commands; portal.c: statements, portals
 * and the threads that run their queries).  Nothing outside src/pg/
 * includes it.
 */
#ifndef TN_PG_INT_H
#define TN_PG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "pg/proto.h"
#include "pg/server.h"
#include "pg/types.h"

struct ssl_st;
struct ssl_ctx_st;
struct query_ctl;
struct query_param;

/*
 * Caps.  A typed message after authentication: 64 MiB holds any Bind a
 * BI tool or driver sends (PostgreSQL allows 1 GiB, which would let one
 * session pin that much).  Output is flushed to the socket once
 * PG_FLUSH_AT bytes wait, so a session's output buffer stays near that
 * size whatever the result; one row may pass it (up to PG_MAX_OUT).
 * Startup and authentication must finish within PG_AUTH_TIMEOUT_MS
 * (PostgreSQL's authentication_timeout is 60 s; a client that means it
 * takes milliseconds).  Threads answering 53300 past max_connections:
 * PG_REJECT_SLOTS more; past those the socket is closed at once.
 */
#define PG_SESSION_MAX_MESSAGE (64u << 20)
#define PG_FLUSH_AT (64u << 10)
#define PG_MAX_OUT ((size_t)1 << 30)
#define PG_AUTH_TIMEOUT_MS 10000
#define PG_REJECT_SLOTS 16u
#define PG_MAX_STMTS 1024u      /* prepared statements per session */
#define PG_MAX_PORTALS 256u     /* open portals and cursors per session */
#define PG_MAX_SETTINGS 128u    /* session parameters remembered (SET) */

struct pg_server {
	struct pg_deps d;
	int lfd;
	int port;
	int wake[2];                /* a byte here stops the listener's poll */
	pthread_t listener;
	struct ssl_ctx_st *ssl;     /* NULL: no TLS */
	uint8_t dummy_secret[32];   /* salts made-up verifiers of unknown users */
	pthread_mutex_t mu;         /* guards the list and counts below */
	pthread_cond_t cv;          /* a connection thread ended */
	struct pg_conn *conns;
	unsigned nthreads;          /* connection threads alive */
	unsigned nsessions;         /* connections counted against max_connections */
	bool stopping;
};

/* A prepared statement (Parse). */
struct pg_stmt {
	char *name;
	char *sql;
	uint16_t nparams;
	uint32_t *oids;             /* nparams OIDs: declared, else as described (0: unknown) */
	bool session_cmd;           /* a session command (not described) */
	bool described;             /* the describe run at Parse succeeded */
	struct pg_col *cols;        /* its result columns (text format); ncols 0: NoData */
	size_t ncols;
	struct pg_stmt *next;
};

struct pg_col {
	char *name;
	struct pg_typeinfo t;
	int16_t format;
	bool as_is;     /* text format, and the engine's text is PostgreSQL's: copied as it is */
};

/*
 * A portal: a bound statement whose query runs on its own thread, which
 * writes DataRows into the connection's output while the connection
 * thread waits, and blocks inside the row callback when the Execute's row
 * count is reached (PortalSuspended) until the next Execute or Close.
 * Exactly one of the two threads touches the connection's output at a
 * time: the hand-over is under mu.  Cursors (DECLARE) are portals too.
 */
struct pg_portal {
	char *name;
	char *sql;                  /* the statement as sent */
	struct query_param *params; /* bound values (heap copies), nparams */
	size_t nparams;
	char **described;           /* describe runs: DuckDB types of $1..$n */
	size_t ndescribed;
	struct pg_conn *c;
	bool cursor;                /* made by DECLARE (FETCH answers with a RowDescription) */
	bool hold;                  /* DECLARE ... WITH HOLD: outlives the transaction */
	bool discard;               /* MOVE: rows counted, not sent */
	bool text_only;             /* all results in text */
	uint16_t nresfmt;
	int16_t *resfmt;            /* result format codes as bound */
	bool session_cmd;           /* a session command: runs in the connection thread */
	const char *whole;          /* errors: positions count in this text (NULL: sql) ... */
	size_t base;                /* ... from this byte offset (a simple query's statement) */

	pthread_t th;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct query_ctl *ctl;
	atomic_bool cancel;         /* CancelRequest: the row callback stops */
	bool live;                  /* in c->live (under srv->mu) */
	struct pg_portal *live_next;
	/* under mu */
	bool have_cols, done, suspended, abort;
	int64_t demand;             /* rows the current Execute may still send */
	uint64_t sent;              /* rows sent by the current Execute */
	uint64_t total;             /* rows sent since the start */
	int io_failed;              /* the socket failed while writing rows */
	/* the worker's own: rows it may still send before it next takes mu (taken
	 * from demand in pieces of PG_ROW_CREDIT), and rows sent since then */
	int64_t credit;
	uint64_t used;
	/* set by the worker before have_cols / done */
	struct pg_col *cols;
	size_t ncols;
	int rc;
	char err[TN_ERRLEN];
	long error_pos;
	char sqlstate[6];
	char command[24];           /* the query layer's command tag word(s) */
	uint64_t affected;
	struct pg_portal *next;
};

/* One connection: its socket, reader, output, and the session on it. */
struct pg_conn {
	struct pg_server *srv;
	int fd;
	struct ssl_st *ssl;
	char peer[64];
	pthread_t th;
	struct pg_reader r;
	struct buf out;
	bool counted;               /* counted in srv->nsessions */
	bool io_failed;
	uint32_t pid, secret;
	struct principal who;
	char user[TN_MAX_PRINCIPAL + 1];
	/* session state (connection thread only) */
	char tx;                    /* PG_TX_IDLE / PG_TX_BLOCK / PG_TX_FAILED */
	bool skip_to_sync;          /* extended protocol error: discard until Sync */
	int64_t stmt_timeout_ms;    /* statement_timeout (0: the service's default) */
	char *set_name[PG_MAX_SETTINGS], *set_value[PG_MAX_SETTINGS];
	size_t nset;
	struct pg_stmt *stmts;
	size_t nstmts;
	struct pg_portal *portals;
	size_t nportals;
	struct pg_portal *running;  /* the portal executing or describing now (under srv->mu) */
	struct pg_portal *live;     /* started portals, till freed (under srv->mu): running
				     * or paused, a CancelRequest ends their queries */
	struct pg_conn *next;       /* srv->conns, under srv->mu */
};

/* ---- server.c: I/O ---------------------------------------------------------- */

/* Sends c->out and empties it.  0, or -1 when the socket failed (c->io_failed). */
int pg_conn_flush(struct pg_conn *c);
/*
 * The next message into *m: 1, 0 on timeout (timeout_ms passed with no
 * whole message), PG_CONN_CLOSED when the peer closed or the socket
 * failed, or a negative TN code from the reader (err set).
 */
#define PG_CONN_CLOSED (-1000)
int pg_conn_next(struct pg_conn *c, struct pg_msg *m, int timeout_ms, char *err);
/* Appends an ErrorResponse (severity ERROR or FATAL) for a TN code / SQLSTATE. */
void pg_conn_error(struct pg_conn *c, const char *severity, const char *sqlstate,
		   const char *message, int position);
void pg_conn_notice(struct pg_conn *c, const char *sqlstate, const char *message);
/* Sets and clears the portal a CancelRequest cancels. */
void pg_conn_set_running(struct pg_conn *c, struct pg_portal *p);
/*
 * Adds a started portal to c->live (a CancelRequest cancels every live
 * portal of the session, a paused one too) / takes it out before it is
 * freed.  Connection thread.
 */
void pg_conn_live_add(struct pg_conn *c, struct pg_portal *p);
void pg_conn_live_remove(struct pg_conn *c, struct pg_portal *p);

/* ---- session.c ---------------------------------------------------------------- */

/* Runs the session after authentication until the client leaves. */
void pg_session_run(struct pg_conn *c);
/* Frees the session's statements, portals and settings. */
void pg_session_release(struct pg_conn *c);
/* The value of a session parameter, or NULL. */
const char *pg_session_get(struct pg_conn *c, const char *name);

/* ---- portal.c ---------------------------------------------------------------- */

/* A new portal (not started) for sql (copied); params are set by the caller. */
struct pg_portal *pg_portal_new(struct pg_conn *c, const char *name, const char *sql);
/*
 * A describe run in the calling thread (nothing executes): fills
 * p->described (parameter types) and p->cols (have_cols false: NoData).
 * Returns 0 or the query's code (p->err; pg_portal_error writes it).
 */
int pg_portal_describe_only(struct pg_portal *p);
/* Starts its query thread. */
void pg_portal_start(struct pg_portal *p);
/*
 * Waits until the columns are known or the query ended.  Returns 0 with
 * p->cols set, or the query's code (p->err).
 */
int pg_portal_columns(struct pg_portal *p);
/* Appends the portal's RowDescription (or NoData when it has no columns). */
void pg_portal_describe(struct pg_portal *p);
/*
 * Runs the portal for up to max_rows rows (<= 0: all), writing DataRows,
 * then CommandComplete (the statement's tag; "FETCH n" / "MOVE n" for
 * cursors, whose rows MOVE discards), PortalSuspended or
 * an ErrorResponse.  Returns 0, or the query's code (the error was written).
 */
enum { PG_TAG_QUERY, PG_TAG_FETCH, PG_TAG_MOVE };
int pg_portal_execute(struct pg_portal *p, int64_t max_rows, int tag_mode);
/* Cancels its query if running, joins the thread, frees.  Accepts NULL. */
void pg_portal_free(struct pg_portal *p);
/* The SQLSTATE for a failed portal. */
const char *pg_portal_sqlstate(const struct pg_portal *p);
/* Writes the ErrorResponse of a failed portal (position relative to base_pos). */
void pg_portal_error(struct pg_portal *p, size_t base_pos, const char *whole_sql);

#endif

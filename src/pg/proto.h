/*
 * proto.h - the PostgreSQL frontend/backend protocol 3.0 as bytes: an
 * incremental message reader, parsers for the frontend messages and
 * writers for the backend messages.  Pure: no sockets, no clocks, no
 * globals; the server (listener, sessions) calls these.
 *
 * Framing.  Before the startup message a packet is untyped: int32 length
 * (itself included) + int32 code, where the code is the protocol version
 * (3.0 = 196608) or a request (SSLRequest 80877103, GSSENCRequest
 * 80877104, CancelRequest 80877102).  After it, every message is a type
 * byte + int32 length (itself included, not the type byte) + body.
 *
 * Ownership.  A struct pg_msg and everything a parser hands back (strings,
 * byte ranges) point into the reader's buffer: valid until the next
 * pg_reader_feed / pg_reader_space on that reader.  Strings handed back as
 * const char * are NUL-terminated inside the message (the parser checked
 * the terminator is within the message).  Only struct pg_bind owns heap
 * memory (pg_bind_release).
 *
 * Threads: a reader belongs to one thread at a time; the parsers and
 * writers are pure functions, callable from any thread.
 */
#ifndef TN_PG_PROTO_H
#define TN_PG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- caps --------------------------------------------------------------- */

/*
 * Startup-phase packets (StartupMessage, SSLRequest, CancelRequest):
 * PostgreSQL refuses startup packets over 10,000 bytes
 * (MAX_STARTUP_PACKET_LENGTH); a real one is a few hundred bytes.
 */
#define PG_MAX_STARTUP 10000u
/* Parameters of one StartupMessage (libpq sends 4-8; a BI tool a dozen). */
#define PG_MAX_STARTUP_PARAMS 64u
/*
 * One typed message: PostgreSQL allows 1 GiB - 1 (PQ_LARGE_MESSAGE_LIMIT),
 * the most a Bind of large parameters can need.  The server may pass a
 * smaller cap to pg_reader_init (memory per connection), and should pass
 * a small one (PG_MAX_AUTH_MESSAGE) while authenticating.
 */
#define PG_MAX_MESSAGE ((1u << 30) - 1)
/* Messages during authentication (password, SASL): PostgreSQL's 65535. */
#define PG_MAX_AUTH_MESSAGE 65535u
/*
 * Bytes one pg_reader_feed / pg_reader_space may add beyond one whole
 * message: a caller that drains the reader (pg_reader_next until 0)
 * before each feed, in slices of at most this, never hits the
 * reader's buffer cap (max message + header + this).
 */
#define PG_READER_MAX_FEED (1u << 20)

/* ---- startup-phase codes and message types -------------------------------- */

#define PG_PROTOCOL_3_0 196608u   /* major 3 << 16 | minor 0 */
#define PG_CODE_CANCEL 80877102u
#define PG_CODE_SSL 80877103u
#define PG_CODE_GSSENC 80877104u

/* Frontend (client to server) message types. */
#define PG_FE_QUERY 'Q'
#define PG_FE_PARSE 'P'
#define PG_FE_BIND 'B'
#define PG_FE_DESCRIBE 'D'
#define PG_FE_EXECUTE 'E'
#define PG_FE_SYNC 'S'
#define PG_FE_FLUSH 'H'
#define PG_FE_CLOSE 'C'
#define PG_FE_TERMINATE 'X'
#define PG_FE_PASSWORD 'p'        /* PasswordMessage, SASLInitialResponse, SASLResponse */
#define PG_FE_COPY_DATA 'd'
#define PG_FE_COPY_DONE 'c'
#define PG_FE_COPY_FAIL 'f'
#define PG_FE_FUNCTION_CALL 'F'

/* Transaction status of ReadyForQuery. */
#define PG_TX_IDLE 'I'
#define PG_TX_BLOCK 'T'
#define PG_TX_FAILED 'E'

/* Format codes. */
#define PG_FMT_TEXT 0
#define PG_FMT_BINARY 1

/* ---- the reader ------------------------------------------------------------ */

enum pg_kind {
	PG_MSG_TYPED,     /* a typed message: type byte + length + body */
	PG_MSG_STARTUP,   /* StartupMessage (protocol 3.x) */
	PG_MSG_SSL,       /* SSLRequest */
	PG_MSG_GSSENC,    /* GSSENCRequest */
	PG_MSG_CANCEL,    /* CancelRequest */
};

/* One whole message (borrowed from the reader: see the top comment). */
struct pg_msg {
	enum pg_kind kind;
	char type;            /* the type byte of a typed message; 0 otherwise */
	uint32_t code;        /* the code of an untyped packet; 0 otherwise */
	const uint8_t *body;  /* after the length (and the code, if untyped) */
	size_t len;           /* bytes of body */
};

/* One connection's incoming bytes.  Fields are private to proto.c. */
struct pg_reader {
	struct buf in;
	size_t off;         /* start of the next unread message in in */
	size_t max_msg;     /* cap on the body of a typed message */
	size_t room;        /* bytes reserved by pg_reader_space */
	bool startup;       /* the next packet is untyped */
	int failed;         /* sticky error code, 0 if none */
};

/*
 * Initializes r for a new connection: it expects an untyped startup-phase
 * packet first.  max_msg caps the body of typed messages (0: PG_MAX_MESSAGE).
 * Release with pg_reader_release.
 */
void pg_reader_init(struct pg_reader *r, size_t max_msg);
void pg_reader_release(struct pg_reader *r);
/* Changes the cap on typed messages (e.g. PG_MAX_AUTH_MESSAGE while authenticating). */
void pg_reader_set_max(struct pg_reader *r, size_t max_msg);
/*
 * Makes the next packet untyped again (or not).  The reader leaves the
 * startup phase by itself after a StartupMessage, and stays in it after
 * SSLRequest and GSSENCRequest (the client sends another packet).
 */
void pg_reader_set_startup(struct pg_reader *r, bool startup);
/*
 * Appends n received bytes.  Invalidates messages handed out before.
 * TN_ETOOBIG if the buffered bytes would pass the cap (see
 * PG_READER_MAX_FEED), with err set.
 */
int pg_reader_feed(struct pg_reader *r, const void *p, size_t n, char *err);
/*
 * Zero-copy feeding: *p receives room for want bytes (<= PG_READER_MAX_FEED)
 * to recv() into, then pg_reader_commit(r, got) adds the got bytes
 * written there.  Invalidates messages handed out before.
 */
int pg_reader_space(struct pg_reader *r, size_t want, void **p, char *err);
void pg_reader_commit(struct pg_reader *r, size_t got);
/*
 * The next whole message: 1 with *m set, 0 if more bytes are needed, or a
 * negative code with err set (then the connection must be closed; the
 * reader keeps returning that code):
 *   TN_ETOOBIG       a length past the cap (checked as soon as the header
 *                    is in, before the body is buffered);
 *   TN_EINVAL        a length below the minimum, a request packet of the
 *                    wrong length;
 *   TN_EUNSUPPORTED  a protocol version other than 3.x (e.g. 2.0).
 */
int pg_reader_next(struct pg_reader *r, struct pg_msg *m, char *err);
/*
 * Bytes received and not yet returned as messages.  After an SSLRequest
 * the server must see 0 here before starting TLS: bytes sent ahead of the
 * handshake were not protected by it (CVE-2021-23214).
 */
size_t pg_reader_buffered(const struct pg_reader *r);

/* ---- parsers: frontend messages -------------------------------------------- */
/*
 * Each parser checks the message's type and length exactly: every string
 * ends with a NUL inside the message, every count is covered by the bytes
 * that remain, and nothing is left over.  They return 0, or TN_EINVAL with
 * err naming the message and the fault (PostgreSQL answers such messages
 * with 08P01 protocol_violation and closes the connection).
 */

struct pg_startup {
	uint16_t major, minor;
	size_t nparams;
	const char *name[PG_MAX_STARTUP_PARAMS];
	const char *value[PG_MAX_STARTUP_PARAMS];
	/* Convenience copies of well-known parameters (NULL if absent). */
	const char *user, *database, *options, *application_name, *client_encoding,
		*replication;
};
/*
 * StartupMessage: name/value pairs ending with an empty name.  TN_ETOOBIG
 * past PG_MAX_STARTUP_PARAMS.  A missing user is not an error here: the
 * server answers it (28000).  Names starting "_pq_." are protocol options
 * the server lists in NegotiateProtocolVersion if it does not know them.
 */
int pg_parse_startup(const struct pg_msg *m, struct pg_startup *out, char *err);

struct pg_cancel {
	uint32_t pid;
	uint32_t secret;
};
int pg_parse_cancel(const struct pg_msg *m, struct pg_cancel *out, char *err);

/* Query: one string of SQL (maybe several statements); len excludes the NUL. */
struct pg_query {
	const char *sql;
	size_t len;
};
int pg_parse_query(const struct pg_msg *m, struct pg_query *out, char *err);

/* Parse: statement name ("" = unnamed), SQL, parameter type OIDs (0 = unspecified). */
struct pg_parse {
	const char *name;
	const char *sql;
	size_t sql_len;
	uint16_t nparams;
	const uint8_t *oids;   /* nparams big-endian uint32s: read with pg_parse_oid */
};
int pg_parse_parse(const struct pg_msg *m, struct pg_parse *out, char *err);
uint32_t pg_parse_oid(const struct pg_parse *p, size_t i);

/* A parameter or column value: len -1 is NULL. */
struct pg_value {
	const uint8_t *p;
	int32_t len;
};

/*
 * Bind: portal and statement names, parameter format codes (none = all
 * text, one = all alike, else one per parameter), parameter values,
 * result format codes (same rule, checked against the column count later
 * with pg_bind_result_format).  Format codes must be 0 or 1.
 */
struct pg_bind {
	const char *portal;
	const char *stmt;
	uint16_t nfmt;
	const uint8_t *fmts;      /* nfmt big-endian int16s */
	uint16_t nparams;
	struct pg_value *params;  /* heap (nparams entries), freed by pg_bind_release */
	uint16_t nresfmt;
	const uint8_t *resfmts;   /* nresfmt big-endian int16s */
};
int pg_parse_bind(const struct pg_msg *m, struct pg_bind *out, char *err);
void pg_bind_release(struct pg_bind *b);
/* Format code (PG_FMT_TEXT / PG_FMT_BINARY) of parameter i (< nparams). */
int pg_bind_param_format(const struct pg_bind *b, size_t i);
/*
 * Format code of result column col of ncols into *fmt, or TN_EINVAL (err
 * set) when the result format count is neither 0, 1 nor ncols.
 */
int pg_bind_result_format(const struct pg_bind *b, size_t col, size_t ncols, int *fmt,
			  char *err);

/* Describe and Close: 'S' (prepared statement) or 'P' (portal) and a name. */
struct pg_target {
	char kind;
	const char *name;
};
int pg_parse_describe(const struct pg_msg *m, struct pg_target *out, char *err);
int pg_parse_close(const struct pg_msg *m, struct pg_target *out, char *err);

/* Execute: portal name, row limit (<= 0: all rows). */
struct pg_execute {
	const char *portal;
	int32_t max_rows;
};
int pg_parse_execute(const struct pg_msg *m, struct pg_execute *out, char *err);

/* Sync, Flush, Terminate, CopyDone: a body must be empty. */
int pg_parse_empty(const struct pg_msg *m, char *err);

/* PasswordMessage ('p' answering AuthenticationCleartextPassword). */
struct pg_password {
	const char *password;
	size_t len;
};
int pg_parse_password(const struct pg_msg *m, struct pg_password *out, char *err);

/* SASLInitialResponse ('p' answering AuthenticationSASL). */
struct pg_sasl_initial {
	const char *mechanism;
	const uint8_t *data;   /* the client-first-message; NULL if len is -1 */
	int32_t len;           /* -1: no initial response */
};
int pg_parse_sasl_initial(const struct pg_msg *m, struct pg_sasl_initial *out, char *err);

/* SASLResponse ('p' answering AuthenticationSASLContinue): the bytes, whole body. */
struct pg_sasl_response {
	const uint8_t *data;
	size_t len;
};
int pg_parse_sasl_response(const struct pg_msg *m, struct pg_sasl_response *out, char *err);

/* CopyFail: the client's reason. */
int pg_parse_copy_fail(const struct pg_msg *m, const char **reason, char *err);

/* ---- writers: backend messages --------------------------------------------- */
/*
 * Each appends one whole message to b and returns 0, or TN_ETOOBIG (b's
 * max) leaving b as it was.  Strings are C strings (no NUL inside).
 */

/* The one-byte answer to SSLRequest / GSSENCRequest: 'S' (go ahead) or 'N'. */
int pg_put_ssl_answer(struct buf *b, bool yes);

int pg_put_auth_ok(struct buf *b);
int pg_put_auth_cleartext(struct buf *b);
/* AuthenticationSASL with the mechanisms offered (e.g. "SCRAM-SHA-256"). */
int pg_put_auth_sasl(struct buf *b, const char *const *mechs, size_t n);
int pg_put_auth_sasl_continue(struct buf *b, const void *data, size_t n);
int pg_put_auth_sasl_final(struct buf *b, const void *data, size_t n);

/*
 * NegotiateProtocolVersion: the newest minor version supported for the
 * client's major, and the protocol options ("_pq_.*") not recognized.
 */
int pg_put_negotiate_version(struct buf *b, uint32_t minor, const char *const *unknown,
			     size_t n);
int pg_put_parameter_status(struct buf *b, const char *name, const char *value);
int pg_put_backend_key(struct buf *b, uint32_t pid, uint32_t secret);
/* ReadyForQuery: PG_TX_IDLE, PG_TX_BLOCK or PG_TX_FAILED. */
int pg_put_ready(struct buf *b, char tx_status);

/* One column of a RowDescription. */
struct pg_field {
	const char *name;
	uint32_t table_oid;   /* 0: not a column of a table */
	int16_t attnum;       /* 0 likewise */
	uint32_t type_oid;
	int16_t typlen;       /* -1: variable length */
	int32_t typmod;       /* -1: none */
	int16_t format;       /* PG_FMT_TEXT / PG_FMT_BINARY */
};
int pg_put_row_description(struct buf *b, const struct pg_field *f, size_t n);
/* ParameterDescription: the parameters' type OIDs. */
int pg_put_parameter_description(struct buf *b, const uint32_t *oids, size_t n);

/* DataRow from n values (len -1: NULL). */
int pg_put_data_row(struct buf *b, const struct pg_value *v, size_t n);
/*
 * DataRow piece by piece, for values converted straight into b (no
 * intermediate copy):
 *     size_t row = b->len;  pg_put_row_begin(b, ncols);
 *     for each column:  pg_put_null(b)  or  pg_put_value(b, p, n)  or
 *         size_t at = b->len; pg_put_value_open(b); <append bytes>; pg_put_value_close(b, at);
 *     pg_put_row_end(b, row);
 * On any error the caller truncates b back to row (buf_truncate).
 */
int pg_put_row_begin(struct buf *b, uint16_t ncols);
int pg_put_null(struct buf *b);
int pg_put_value(struct buf *b, const void *p, size_t n);
int pg_put_value_open(struct buf *b);
/* TN_ETOOBIG if the value passed 2^31-1 bytes. */
int pg_put_value_close(struct buf *b, size_t at);
int pg_put_row_end(struct buf *b, size_t row);

/* CommandComplete with a tag ("SELECT 3", "BEGIN", "SET", ...). */
int pg_put_command_complete(struct buf *b, const char *tag);
int pg_put_empty_query(struct buf *b);
int pg_put_parse_complete(struct buf *b);
int pg_put_bind_complete(struct buf *b);
int pg_put_close_complete(struct buf *b);
int pg_put_no_data(struct buf *b);
int pg_put_portal_suspended(struct buf *b);

/*
 * ErrorResponse / NoticeResponse fields.  severity ("ERROR", "FATAL",
 * "WARNING", "NOTICE", ...) is sent as both S and V; sqlstate (5 chars)
 * and message are required; the rest are omitted when NULL / 0.
 * position is 1-based, in characters of the query string.
 */
struct pg_error {
	const char *severity;
	const char *sqlstate;
	const char *message;
	const char *detail;
	const char *hint;
	int position;
	const char *routine;
	const char *file;
	int line;
};
int pg_put_error(struct buf *b, const struct pg_error *e);
int pg_put_notice(struct buf *b, const struct pg_error *e);

/*
 * The SQLSTATE for a TN code (one table, as CONVENTIONS.md asks): e.g.
 * TN_EDENIED 42501, TN_ENOTFOUND 42P01, TN_EINVAL 42601, TN_EAUTH 28P01,
 * TN_ECANCELED and TN_ETIMEDOUT 57014, TN_EUNSUPPORTED 0A000.  Static string.
 */
const char *pg_sqlstate(int tn_code);

#endif

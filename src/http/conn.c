/*
 * conn.c - the HTTP/1.1 connection engine: event loops, connections,
 * reading requests, writing answers, TLS.
 *
 * Design.  A few event-loop threads (struct http_loop), each an epoll
 * set over its own connections; a connection stays on one loop for its
 * life, and everything about it -- its buffers, its request, its state --
 * belongs to that thread.  The one listening socket is in every loop's
 * set (EPOLLEXCLUSIVE: a new connection wakes one loop); the loop that
 * accepts hands the connection to the loop holding the fewest, so long
 * keep-alive connections spread evenly.
 *
 * A connection is registered once, edge-triggered, for input and output
 * (no epoll_ctl per request).  It keeps two flags, readable and writable,
 * set by events and cleared when a read or write comes up short; the
 * state machine (conn_run) makes all the progress it can whenever
 * something happened:
 *
 *   C_TLS     the TLS handshake (HTTPS only)
 *   C_HEAD    reading the request head (wire.h finds its end, parses it)
 *   C_BODY    reading the body (Content-Length or chunked) into the
 *             request, after "100 Continue" when the client asked
 *   C_WAIT    the handler suspended the request (a group commit, a
 *             worker): nothing is read until conn_resume hands it back
 *   C_SEND    writing the answer: head and buffer in one sendmsg, a
 *             file's bytes with sendfile (pread + SSL_write under TLS)
 *   C_LINGER  after an answer that closes the connection: our side is
 *             shut down and what the client still sends is read and
 *             dropped, so that it gets the answer and not a reset
 *
 * The request itself -- routing, authentication, body caps, handlers --
 * is server.c's (req_* in http_int.h); this file only moves bytes.
 *
 * Resumes.  conn_resume may run on any thread (a stream's sync thread
 * after fdatasync).  It pushes the connection on its loop's resumed list
 * and writes the loop's eventfd only when the list was not already
 * waiting to be drained: a group commit that completes forty requests of
 * one loop wakes it once.
 *
 * A short read (fewer bytes than asked) means the socket is drained, so
 * a request costs one recv and one sendmsg; epoll reports new bytes
 * arriving later as a new edge.  (Not under TLS, whose records may hide
 * bytes in the library; not after the peer's FIN was reported, which
 * would not be reported again.)
 *
 * Invariants.  A connection whose request is suspended (C_WAIT) is never
 * closed or freed until the request is resumed.  A closed connection is
 * freed at the end of the loop's turn, so an event already fetched for it
 * finds it marked closed.  Timeouts: a connection with no progress for
 * http.timeout is closed, but for one waiting on a resume; a lingering
 * close lasts at most LINGER_MS.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "http/http_int.h"
#include "http/wire.h"

#include "core/banned.h"

/* Read buffer of a connection at first; heads up to TN_MAX_HEADER_BYTES grow it. */
#define IN_START 4096u
/* Read buffer while a large body streams through (an S3 PUT, a batch of records). */
#define IN_BODY (256u << 10)
/*
 * IN_BODY buffers a loop keeps when their bodies are read, for the next
 * ones: fresh memory costs a page fault per 4 KiB, a quarter of the CPU of
 * receiving an upload on this kind of machine (virtual, paravirtualized).
 */
#define SPARE_BODIES 2
/* Connections accepted per wake-up of the listening socket. */
#define ACCEPT_BATCH 32
/* Events taken per epoll_wait. */
#define LOOP_EVENTS 64
/* The loop's clock for timeouts: at least this often. */
#define TICK_MS 1000
/* A lingering close ends after this long, or LINGER_BYTES read and dropped. */
#define LINGER_MS 2000
#define LINGER_BYTES (4u << 20)
/* Accepting pauses this long when the process is out of descriptors. */
#define ACCEPT_PAUSE_MS 100
/*
 * Bytes one connection may read in one turn of its loop: a fast upload
 * (or a pipelining client) that always has more must not keep the loop
 * from its other connections; it continues on the next turn.
 */
#define TURN_BUDGET (1u << 20)
/* File bytes read per SSL_write of a file answer under TLS. */
#define TLS_FILE_CHUNK (64u << 10)

enum cstate { C_TLS, C_HEAD, C_BODY, C_WAIT, C_SEND, C_LINGER, C_CLOSED };

/* What a step of the state machine did. */
enum step { STEP_GO, STEP_WAIT, STEP_GONE };

struct http_conn {
	struct http_loop *loop;
	int fd;
	SSL *ssl;
	enum cstate state;
	bool readable, writable;  /* edge-triggered readiness, cleared on a short read/write */
	bool rdhup;               /* the peer's FIN was reported: read to EAGAIN */
	bool close_after;         /* close once the answer is sent */
	bool tls_peeked;          /* the first byte was looked at (HTTPS) */
	bool plain_on_tls;        /* plain HTTP came to the HTTPS listener: answered 400 */
	bool again;               /* on the loop's again list: more to read next turn */
	size_t budget;            /* bytes it may still read this turn */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_text[64];       /* numeric address, filled on first use */

	char *in;                 /* bytes read: in[in_off..in_len) not consumed yet */
	size_t in_cap, in_len, in_off;
	size_t scan;              /* wire_head_end's resume point in in[in_off..] */

	struct http_req *r;       /* the request being read, handled or answered */
	struct wire_framing fr;
	uint64_t body_left;       /* Content-Length bytes still to read */
	struct wire_chunked ck;

	struct buf out;           /* head of the answer (or "100 Continue") */
	size_t out_off;
	const char *body_p;       /* buffered answer body still to send */
	size_t body_n;
	int body_fd;              /* file answer (borrowed from the request) */
	uint64_t body_off, body_left_fd;
	char *tls_chunk;          /* TLS: file bytes read, not yet written */
	size_t tls_chunk_off, tls_chunk_len;

	int64_t last_ms;          /* last progress, for http.timeout */
	int64_t head_ms;          /* when the first byte of the current head came */
	int64_t linger_until_ms;
	size_t linger_bytes;

	struct http_conn *prev, *next;  /* the loop's connections */
	struct http_conn *qnext;        /* resumed / incoming / closed lists */
	struct http_conn *again_next;   /* the loop's again list */
};

struct http_loop {
	struct http_engine *e;
	pthread_t thread;
	int epfd, efd;
	bool quiesced;           /* the listening socket is out of the set for good */
	bool listening;          /* the listening socket is in this loop's set */
	int64_t accept_paused_until_ms;
	pthread_mutex_t mu;      /* guards resumed, incoming, wake_pending */
	struct http_conn *resumed, *incoming;
	bool wake_pending;       /* the eventfd was written and not drained yet */
	atomic_uint nconns;      /* connections owned (or being handed over) */
	struct http_conn *conns; /* loop thread: every connection it owns */
	struct http_conn *closed;/* loop thread: freed at the end of the turn */
	struct http_conn *again; /* loop thread: out of budget, run again next turn */
	int64_t now_ms;
	int64_t date_s;
	char date[40];
	char *spare[SPARE_BODIES];/* loop thread: IN_BODY buffers kept for the next body */
	unsigned nspare;
};

struct http_engine {
	struct http_engine_cfg cfg;
	int lfd;
	int port;
	unsigned nloops;
	struct http_loop *loops;
	atomic_uint nconns;
	atomic_bool quiesce, stop;
	atomic_uint quiesced;    /* loops that took the listening socket out of their set */
	int64_t timeout_ms;
};

static int64_t mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

static void loop_wake(struct http_loop *l)
{
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("http", "cannot wake an event loop: %s", strerror(errno));
}

/* ---- connections: life and death ------------------------------------------ */

/* Makes the loop own c and watch its socket.  False: c must be closed. */
static bool conn_link(struct http_loop *l, struct http_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };

	c->loop = l;
	c->last_ms = l->now_ms;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		log_warn("http", "cannot watch a new connection: %s", strerror(errno));
		return false;
	}
	return true;
}

/* Drops c's input buffer: an IN_BODY one goes to the loop's spares if there is room. */
static void in_release(struct http_conn *c)
{
	struct http_loop *l = c->loop;

	if (c->in_cap == IN_BODY && l->nspare < SPARE_BODIES)
		l->spare[l->nspare++] = c->in;
	else
		free(c->in);
	c->in = NULL;
	c->in_cap = c->in_len = c->in_off = 0;
}

/* Frees a connection that is off every list but the closed one. */
static void conn_free(struct http_conn *c)
{
	struct http_engine *e = c->loop->e;

	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	in_release(c);
	free(c->tls_chunk);
	buf_release(&c->out);
	atomic_fetch_sub(&c->loop->nconns, 1);
	atomic_fetch_sub(&e->nconns, 1);
	free(c);
}

/*
 * Closes the connection: its request (if any) ends unanswered or
 * answered, the socket is closed, the memory freed at the end of the
 * turn.  Never for a suspended request (see the invariants).
 */
static void conn_close(struct http_conn *c)
{
	struct http_loop *l = c->loop;

	if (c->state == C_CLOSED)
		return;
	if (c->again) {  /* off the again list: it is freed at the end of this turn */
		struct http_conn **p = &l->again;
		while (*p && *p != c)
			p = &(*p)->again_next;
		if (*p)
			*p = c->again_next;
		c->again = false;
	}
	if (c->r) {
		if (c->r->suspended)
			TN_BUG("connection closed with its request suspended");
		req_end(c->r);
		c->r = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else if (l->conns == c)
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->ssl && (c->state == C_HEAD || c->state == C_BODY || c->state == C_SEND))
		SSL_shutdown(c->ssl);  /* best effort close_notify */
	/* the descriptor leaves the epoll set when it is closed, at conn_free */
	c->state = C_CLOSED;
	c->qnext = l->closed;
	l->closed = c;
}

void conn_peer(struct http_conn *c, char *out, size_t n)
{
	if (!c->peer_text[0] && c->peer_len) {
		if (getnameinfo((struct sockaddr *)&c->peer, c->peer_len, c->peer_text,
				sizeof c->peer_text, NULL, 0, NI_NUMERICHOST) != 0)
			c->peer_text[0] = 0;
	}
	snprintf(out, n, "%s", c->peer_text);
}

/* ---- I/O, plain or TLS ------------------------------------------------------ */

/* > 0 bytes read; 0 the peer closed; -1 nothing to read now; -2 a failure. */
static ssize_t conn_recv(struct http_conn *c, char *p, size_t n)
{
	ssize_t k;

	if (c->ssl) {
		int got;

		ERR_clear_error();
		got = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (got > 0)
			return got;
		switch (SSL_get_error(c->ssl, got)) {
		case SSL_ERROR_WANT_READ:
			c->readable = false;
			return -1;
		case SSL_ERROR_WANT_WRITE:
			c->writable = false;
			return -1;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_SYSCALL:
			return got == 0 ? 0 : -2;  /* EOF without close_notify */
		default:
			return -2;
		}
	}
	for (;;) {
		k = recv(c->fd, p, n, 0);
		if (k > 0) {
			if ((size_t)k < n && !c->rdhup)
				c->readable = false;
			return k;
		}
		if (k == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
			return -1;
		}
		return -2;
	}
}

/* > 0 bytes written; -1 the socket is full; -2 a failure (the peer left). */
static ssize_t conn_send(struct http_conn *c, const struct iovec *iov, int niov)
{
	if (c->ssl) {
		int put;

		ERR_clear_error();
		put = SSL_write(c->ssl, iov[0].iov_base,
				iov[0].iov_len > INT_MAX ? INT_MAX : (int)iov[0].iov_len);
		if (put > 0)
			return put;
		switch (SSL_get_error(c->ssl, put)) {
		case SSL_ERROR_WANT_WRITE:
			c->writable = false;
			return -1;
		case SSL_ERROR_WANT_READ:
			c->readable = false;
			return -1;
		default:
			return -2;
		}
	}
	for (;;) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov };
		size_t want = 0;
		ssize_t k;

		for (int i = 0; i < niov; i++)
			want += iov[i].iov_len;
		k = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (k >= 0) {
			if ((size_t)k < want)
				c->writable = false;
			return k;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->writable = false;
			return -1;
		}
		return -2;
	}
}

/* Room for at least one more byte at in[in_len], up to cap bytes in all. */
static bool in_room(struct http_conn *c, size_t cap)
{
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
		c->scan = 0;
	}
	if (c->in_len < c->in_cap)
		return true;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
		return true;
	}
	if (c->in_cap >= cap)
		return false;
	c->in_cap = c->in_cap * 2 > cap ? cap : c->in_cap * 2;
	c->in = xrealloc(c->in, c->in_cap);
	return true;
}

/* Reads what the socket holds into in[].  Returns like conn_recv. */
static ssize_t in_fill(struct http_conn *c, size_t cap)
{
	ssize_t k;

	if (!in_room(c, cap))
		return -3;
	if (c->budget == 0) {
		/* this turn's share is used: go on next turn (readable stays set) */
		if (!c->again) {
			c->again = true;
			c->again_next = c->loop->again;
			c->loop->again = c;
		}
		return -1;
	}
	k = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (k > 0) {
		if (c->in_len == c->in_off)
			c->head_ms = c->loop->now_ms;
		c->in_len += (size_t)k;
		c->last_ms = c->loop->now_ms;
		c->budget = (size_t)k < c->budget ? c->budget - (size_t)k : 0;
	}
	return k;
}

/* ---- answers ------------------------------------------------------------- */

static const char *loop_date(struct http_loop *l)
{
	int64_t now = time_now_ms();

	if (now / 1000 != l->date_s) {
		l->date_s = now / 1000;
		time_format_http(now, l->date, sizeof l->date);
	}
	return l->date;
}

/* Appends "name: value\r\n", dropping CR and LF from the value (no header injection). */
static void out_header(struct buf *b, const char *name, const char *value)
{
	buf_puts(b, name);
	buf_puts(b, ": ");
	if (strpbrk(value, "\r\n")) {
		for (const char *p = value; *p; p++)
			buf_putc(b, *p == '\r' || *p == '\n' ? ' ' : *p);
	} else {
		buf_puts(b, value);
	}
	buf_puts(b, "\r\n");
}

/* The request has its answer: render the head, point at the body, go to C_SEND. */
static void answer_prepare(struct http_conn *c)
{
	struct http_req *r = c->r;
	struct http_loop *l = c->loop;
	bool head_only, no_body;
	uint64_t len;

	req_answer_ready(r);
	if (req_server_stopping(l->e->cfg.srv))
		c->close_after = true;
	head_only = r->method && strcmp(r->method, "HEAD") == 0;
	no_body = r->status < 200 || r->status == 204 || r->status == 304;
	if (r->resp_fd >= 0 || r->resp_fd_len)
		len = r->resp_fd_len;  /* a file, or the length of one (HEAD) */
	else
		len = r->resp.len;

	buf_reset(&c->out);
	c->out_off = 0;
	buf_puts(&c->out, "HTTP/1.1 ");
	buf_put_u64(&c->out, (uint64_t)r->status);
	buf_putc(&c->out, ' ');
	buf_puts(&c->out, http_status_text(r->status));
	buf_puts(&c->out, "\r\n");
	out_header(&c->out, "Date", loop_date(l));
	if (!no_body) {
		buf_puts(&c->out, "Content-Length: ");
		buf_put_u64(&c->out, len);
		buf_puts(&c->out, "\r\n");
	}
	if (r->content_type)
		out_header(&c->out, "Content-Type", r->content_type);
	out_header(&c->out, req_id_header(r), r->request_id);
	for (unsigned i = 0; i < r->nheaders; i++)
		out_header(&c->out, r->headers[i].name, r->headers[i].value);
	if (c->close_after)
		out_header(&c->out, "Connection", "close");
	else if (r->head.minor == 0)
		out_header(&c->out, "Connection", "keep-alive");
	buf_puts(&c->out, "\r\n");

	c->body_p = NULL;
	c->body_n = 0;
	c->body_fd = -1;
	c->body_left_fd = 0;
	if (!head_only && !no_body) {
		if (r->resp_fd >= 0) {
			c->body_fd = r->resp_fd;
			c->body_off = r->resp_fd_off;
			c->body_left_fd = r->resp_fd_len;
		} else if (r->resp.len) {
			c->body_p = r->resp.data;
			c->body_n = r->resp.len;
			/* under TLS one record carries a small answer with its head */
			if (c->ssl && c->body_n <= TLS_FILE_CHUNK) {
				buf_append(&c->out, c->body_p, c->body_n);
				c->body_n = 0;
			}
		}
	}
	c->state = C_SEND;
}

/* Writes out[out_off..] and the buffered body.  STEP_GO when all is written. */
static enum step send_buffers(struct http_conn *c)
{
	while (c->out_off < c->out.len || c->body_n) {
		struct iovec iov[2];
		int n = 0;
		ssize_t k;

		if (!c->writable)
			return STEP_WAIT;
		if (c->out_off < c->out.len)
			iov[n++] = (struct iovec){ c->out.data + c->out_off, c->out.len - c->out_off };
		if (c->body_n && (n == 0 || !c->ssl))
			iov[n++] = (struct iovec){ (void *)c->body_p, c->body_n };
		k = conn_send(c, iov, n);
		if (k == -1)
			return STEP_WAIT;
		if (k < 0) {
			conn_close(c);
			return STEP_GONE;
		}
		c->last_ms = c->loop->now_ms;
		size_t done = (size_t)k, head = c->out.len - c->out_off;
		if (done <= head) {
			c->out_off += done;
		} else {
			c->out_off = c->out.len;
			c->body_p += done - head;
			c->body_n -= done - head;
		}
	}
	return STEP_GO;
}

/* Writes the file bytes of the answer.  STEP_GO when all are written. */
static enum step send_file(struct http_conn *c)
{
	while (c->body_left_fd || c->tls_chunk_off < c->tls_chunk_len) {
		ssize_t k;

		if (!c->writable)
			return STEP_WAIT;
		if (!c->ssl) {
			off_t off = (off_t)c->body_off;
			size_t want = c->body_left_fd > (1u << 30) ? (1u << 30) : c->body_left_fd;

			k = sendfile(c->fd, c->body_fd, &off, want);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				c->writable = false;
				return STEP_WAIT;
			}
			if (k <= 0) {  /* a failure, or the file shrank under the answer */
				log_debug("http", "file answer cut short: %s",
					  k < 0 ? strerror(errno) : "end of file");
				conn_close(c);
				return STEP_GONE;
			}
			/* a short count is not a full socket (the file may have shrunk): the
			 * next call says which, EAGAIN or 0 */
			c->body_off += (uint64_t)k;
			c->body_left_fd -= (uint64_t)k;
			c->last_ms = c->loop->now_ms;
			continue;
		}
		if (c->tls_chunk_off == c->tls_chunk_len) {
			size_t want = c->body_left_fd > TLS_FILE_CHUNK ? TLS_FILE_CHUNK
								       : c->body_left_fd;
			if (!c->tls_chunk)
				c->tls_chunk = xmalloc(TLS_FILE_CHUNK);
			k = pread(c->body_fd, c->tls_chunk, want, (off_t)c->body_off);
			if (k <= 0) {
				log_debug("http", "file answer cut short: %s",
					  k < 0 ? strerror(errno) : "end of file");
				conn_close(c);
				return STEP_GONE;
			}
			c->tls_chunk_off = 0;
			c->tls_chunk_len = (size_t)k;
			c->body_off += (uint64_t)k;
			c->body_left_fd -= (uint64_t)k;
		}
		struct iovec iov = { c->tls_chunk + c->tls_chunk_off,
				     c->tls_chunk_len - c->tls_chunk_off };
		k = conn_send(c, &iov, 1);
		if (k == -1)
			return STEP_WAIT;
		if (k < 0) {
			conn_close(c);
			return STEP_GONE;
		}
		c->tls_chunk_off += (size_t)k;
		c->last_ms = c->loop->now_ms;
	}
	return STEP_GO;
}

/* The answer is out: end the request, then read the next one or close. */
static enum step answer_sent(struct http_conn *c)
{
	req_end(c->r);
	c->r = NULL;
	c->tls_chunk_off = c->tls_chunk_len = 0;
	if (c->close_after) {
		if (c->ssl)
			SSL_shutdown(c->ssl);
		else
			shutdown(c->fd, SHUT_WR);
		c->linger_until_ms = c->loop->now_ms + LINGER_MS;
		c->linger_bytes = 0;
		c->state = C_LINGER;
		return STEP_GO;
	}
	/* an idle keep-alive connection keeps a small buffer */
	if (c->in_cap > IN_START && c->in_off == c->in_len)
		in_release(c);
	if (c->out.cap > (64u << 10))
		buf_release(&c->out);
	c->state = C_HEAD;
	return STEP_GO;
}

static enum step step_send(struct http_conn *c)
{
	enum step s = send_buffers(c);

	if (s != STEP_GO)
		return s;
	s = send_file(c);
	if (s != STEP_GO)
		return s;
	return answer_sent(c);
}

/* ---- reading requests ----------------------------------------------------- */

/* Answers a request that could not be parsed (status from wire.h), then closes. */
static enum step answer_malformed(struct http_conn *c, int status, const char *msg)
{
	static const struct { int status; const char *name; } names[] = {
		{ 400, "bad_request" }, { 413, "too_big" }, { 417, "expectation_failed" },
		{ 431, "headers_too_large" }, { 501, "not_implemented" },
		{ 505, "version_not_supported" },
	};
	const char *name = "bad_request";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].status == status)
			name = names[i].name;
	if (!c->r)
		c->r = req_new(c->loop->e->cfg.srv, c);
	c->close_after = true;
	if (c->r->answered)  /* answered at begin: the body was malformed after */
		TN_BUG("malformed request answered twice");
	http_reply_error_status(c->r, status, name, msg);
	answer_prepare(c);
	return STEP_GO;
}

/* A complete head is at in[in_off..in_off+len): make the request and start it. */
static enum step request_start(struct http_conn *c, size_t len)
{
	struct http_req *r = req_new(c->loop->e->cfg.srv, c);
	char err[TN_ERRLEN];
	const char *path, *query;
	size_t path_len, query_len;
	int rc;

	c->r = r;
	r->head_buf = xmalloc(len + 1);
	memcpy(r->head_buf, c->in + c->in_off, len);
	r->head_buf[len] = '\0';
	c->in_off += len;
	c->scan = 0;

	rc = wire_parse_head(r->head_buf, len, &r->head, err, sizeof err);
	if (rc)
		return answer_malformed(c, rc, err);
	if (c->plain_on_tls)
		return answer_malformed(c, 400, "this listener speaks HTTPS: send the request to "
					"https:// (TLS), not http://");
	r->method = r->head.method;
	rc = wire_target_split(r->head.target, &path, &path_len, &query, &query_len, err,
			       sizeof err);
	if (rc)
		return answer_malformed(c, rc, err);
	r->raw_path = xstrndup(path, path_len);
	r->raw_query = xstrndup(query, query_len);
	r->path_buf = xmalloc(path_len + 1);
	/* a %00 stays encoded: the edges refuse it in their own words (S3: InvalidArgument) */
	if (wire_unescape(path, path_len, r->path_buf, path_len + 1) < 0)
		memcpy(r->path_buf, path, path_len);
	r->path_buf[path_len] = '\0';
	r->path = r->path_buf;
	rc = wire_framing(&r->head, &c->fr, err, sizeof err);
	if (rc)
		return answer_malformed(c, rc, err);
	c->close_after = !c->fr.keep_alive;
	c->body_left = c->fr.length;
	r->body_len = c->fr.chunked ? -1 : (int64_t)c->fr.length;
	if (c->fr.chunked)
		wire_chunked_init(&c->ck);

	if (!req_start(r)) {
		/* answered before the body: what the client still sends is dropped */
		if (c->fr.chunked || c->fr.length)
			c->close_after = true;
		answer_prepare(c);
		return STEP_GO;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->fr.expect_continue && (c->fr.chunked || c->fr.length) && c->in_off == c->in_len)
		buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	c->state = C_BODY;
	return STEP_GO;
}

static enum step step_head(struct http_conn *c)
{
	size_t end;
	ssize_t k;

	end = wire_head_end(c->in + c->in_off, c->in_len - c->in_off, &c->scan);
	if (end)
		return request_start(c, end);
	if (c->in_len - c->in_off >= TN_MAX_HEADER_BYTES)
		return answer_malformed(c, 431, "request head larger than 16 KiB");
	if (!c->readable)
		return STEP_WAIT;
	if (!c->in) {
		c->in_cap = IN_START;
		c->in = xmalloc(c->in_cap);
	}
	k = in_fill(c, TN_MAX_HEADER_BYTES + 1);
	if (k > 0)
		return STEP_GO;
	if (k == -1)
		return STEP_WAIT;
	/* the peer closed (between requests: the normal end) or failed */
	conn_close(c);
	return STEP_GONE;
}

/* The body is complete: run the handler; its answer goes out now or after a resume. */
static enum step body_done(struct http_conn *c)
{
	struct http_req *r = c->r;

	buf_reset(&c->out);
	c->out_off = 0;
	req_dispatch(r);
	if (r->suspended) {
		c->state = C_WAIT;
		return STEP_WAIT;
	}
	answer_prepare(c);
	return STEP_GO;
}

static enum step step_body(struct http_conn *c)
{
	for (;;) {
		size_t avail;
		ssize_t k;

		if (c->out_off < c->out.len) {  /* "100 Continue" first */
			enum step s = send_buffers(c);
			if (s != STEP_GO)
				return s;
		}
		if (!c->fr.chunked && c->body_left == 0)
			return body_done(c);
		avail = c->in_len - c->in_off;
		if (avail) {
			const char *data = c->in + c->in_off;
			size_t dlen, used;
			int rc = 0;

			if (c->fr.chunked) {
				char err[TN_ERRLEN];

				rc = wire_chunked_step(&c->ck, data, avail, &used, &data, &dlen, err,
						       sizeof err);
				if (rc < 0)
					return answer_malformed(c, 400, err);
			} else {
				dlen = used = avail < c->body_left ? avail : (size_t)c->body_left;
				c->body_left -= used;
			}
			c->in_off += used;
			if (dlen && req_body(c->r, data, dlen) != 0) {
				/* past what a refused body may still send: give up on it */
				conn_close(c);
				return STEP_GONE;
			}
			if (rc == 1)
				return body_done(c);
			continue;
		}
		if (!c->readable)
			return STEP_WAIT;
		if (!c->in) {
			c->in_cap = IN_START;
			c->in = xmalloc(c->in_cap);
		}
		/* a body larger than the buffer streams through IN_BODY bytes at a time */
		if (c->in_cap < IN_BODY && (c->fr.chunked || c->body_left > c->in_cap)) {
			struct http_loop *l = c->loop;

			if (l->nspare) {
				char *in = l->spare[--l->nspare];

				memcpy(in, c->in, c->in_len);
				free(c->in);
				c->in = in;
			} else {
				c->in = xrealloc(c->in, IN_BODY);
			}
			c->in_cap = IN_BODY;
		}
		k = in_fill(c, c->in_cap);
		if (k > 0)
			continue;
		if (k == -1)
			return STEP_WAIT;
		conn_close(c);  /* the client left mid-body */
		return STEP_GONE;
	}
}

static enum step step_linger(struct http_conn *c)
{
	char sink[16384];

	for (;;) {
		ssize_t k;

		if (!c->readable)
			return STEP_WAIT;
		k = conn_recv(c, sink, sizeof sink);
		if (k == -1)
			return STEP_WAIT;
		if (k <= 0 || (c->linger_bytes += (size_t)k) > LINGER_BYTES) {
			conn_close(c);
			return STEP_GONE;
		}
	}
}

static enum step step_tls(struct http_conn *c)
{
	int rc;

	if (!c->tls_peeked) {
		/* a TLS connection opens with a handshake record (22); a letter is plain HTTP */
		unsigned char b;
		ssize_t k = recv(c->fd, &b, 1, MSG_PEEK);

		if (k < 0 && errno == EINTR)
			return STEP_GO;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->readable = false;
			return STEP_WAIT;
		}
		if (k <= 0) {
			conn_close(c);
			return STEP_GONE;
		}
		c->tls_peeked = true;
		if (b != 22) {
			SSL_free(c->ssl);
			c->ssl = NULL;
			c->plain_on_tls = true;
			c->state = C_HEAD;
			return STEP_GO;
		}
	}

	ERR_clear_error();
	rc = SSL_accept(c->ssl);
	if (rc == 1) {
		c->state = C_HEAD;
		c->last_ms = c->loop->now_ms;
		return STEP_GO;
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		c->readable = false;
		return STEP_WAIT;
	case SSL_ERROR_WANT_WRITE:
		c->writable = false;
		return STEP_WAIT;
	default: {
		char why[160];
		unsigned long e = ERR_peek_last_error();

		if (e)
			ERR_error_string_n(e, why, sizeof why);
		else
			snprintf(why, sizeof why, "connection closed");
		log_debug("http", "TLS handshake failed: %s", why);
		conn_close(c);
		return STEP_GONE;
	}
	}
}

/* Makes all the progress the connection allows now. */
static void conn_run(struct http_conn *c)
{
	enum step s = STEP_GO;

	c->budget = TURN_BUDGET;
	while (s == STEP_GO) {
		switch (c->state) {
		case C_TLS:
			s = step_tls(c);
			break;
		case C_HEAD:
			s = step_head(c);
			break;
		case C_BODY:
			s = step_body(c);
			break;
		case C_SEND:
			s = step_send(c);
			break;
		case C_LINGER:
			s = step_linger(c);
			break;
		case C_WAIT:
		case C_CLOSED:
			return;
		}
	}
}

/* ---- resumes and hand-overs ------------------------------------------------ */

/*
 * Any thread: pushes c on one of l's hand-over lists (resumed, incoming)
 * and writes l's eventfd unless a write is already waiting to be drained.
 */
static void loop_hand(struct http_loop *l, struct http_conn **list, struct http_conn *c)
{
	bool wake;

	pthread_mutex_lock(&l->mu);
	c->qnext = *list;
	*list = c;
	wake = !l->wake_pending;
	l->wake_pending = true;
	pthread_mutex_unlock(&l->mu);
	if (wake)
		loop_wake(l);
}

void conn_resume(struct http_conn *c)
{
	loop_hand(c->loop, &c->loop->resumed, c);
}

/* The eventfd fired: take the resumed and handed-over connections. */
static void loop_drain(struct http_loop *l)
{
	struct http_conn *res, *inc, *rev = NULL, *c;
	uint64_t v;

	if (read(l->efd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_warn("http", "event loop wake-up: %s", strerror(errno));
	pthread_mutex_lock(&l->mu);
	res = l->resumed;
	inc = l->incoming;
	l->resumed = l->incoming = NULL;
	l->wake_pending = false;
	pthread_mutex_unlock(&l->mu);

	while (inc) {
		c = inc;
		inc = c->qnext;
		c->qnext = NULL;
		if (!conn_link(l, c))
			conn_close(c);
	}
	/* oldest first */
	while (res) {
		c = res;
		res = c->qnext;
		c->qnext = rev;
		rev = c;
	}
	while (rev) {
		c = rev;
		rev = c->qnext;
		c->qnext = NULL;
		if (!req_resumed(c->r))
			continue;  /* not handed back yet (cannot happen: see req_resumed) */
		if (c->r->suspended)
			continue;  /* the resume function suspended it again: still C_WAIT */
		answer_prepare(c);
		conn_run(c);
	}
}

/* ---- accepting -------------------------------------------------------------- */

static struct http_loop *loop_pick(struct http_loop *self)
{
	struct http_engine *e = self->e;
	struct http_loop *best = self;
	unsigned least = atomic_load_explicit(&self->nconns, memory_order_relaxed);

	for (unsigned i = 0; i < e->nloops; i++) {
		unsigned n = atomic_load_explicit(&e->loops[i].nconns, memory_order_relaxed);
		if (n < least) {
			least = n;
			best = &e->loops[i];
		}
	}
	return best;
}

static void accept_some(struct http_loop *l)
{
	struct http_engine *e = l->e;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(e->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct http_conn *c;
		struct http_loop *to;
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("http", "cannot accept a connection: %s (pausing %d ms)",
					 strerror(errno), ACCEPT_PAUSE_MS);
				epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->lfd, NULL);
				l->listening = false;
				l->accept_paused_until_ms = l->now_ms + ACCEPT_PAUSE_MS;
			}
			return;
		}
		if (atomic_fetch_add(&e->nconns, 1) >= e->cfg.max_conns) {
			atomic_fetch_sub(&e->nconns, 1);
			log_debug("http", "connection refused: http.max_connections (%u) reached",
				  e->cfg.max_conns);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->body_fd = -1;
		memcpy(&c->peer, &ss, sl <= sizeof ss ? sl : sizeof ss);
		c->peer_len = sl;
		buf_init(&c->out, 0);
		c->writable = true;
		c->state = C_HEAD;
		if (e->cfg.ssl) {
			c->ssl = SSL_new(e->cfg.ssl);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				log_warn("http", "cannot start TLS on a connection");
				if (c->ssl)
					SSL_free(c->ssl);
				close(fd);
				buf_release(&c->out);
				free(c);
				atomic_fetch_sub(&e->nconns, 1);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			SSL_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION);
			SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
					     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			c->state = C_TLS;
		}
		to = loop_pick(l);
		atomic_fetch_add(&to->nconns, 1);
		c->loop = to;
		if (to == l) {
			if (!conn_link(l, c))
				conn_close(c);
			continue;
		}
		loop_hand(to, &to->incoming, c);
	}
}

static void listen_add(struct http_loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->e->lfd, &ev) == 0)
		l->listening = true;
	else
		log_warn("http", "cannot watch the listening socket: %s", strerror(errno));
}

/* ---- the loop ---------------------------------------------------------------- */

/* Closes the connections idle past http.timeout and the lingering ones past their end. */
static void loop_sweep(struct http_loop *l)
{
	struct http_conn *c = l->conns, *next;

	while (c) {
		next = c->next;
		if (c->state == C_LINGER) {
			if (l->now_ms >= c->linger_until_ms)
				conn_close(c);
		} else if (c->state == C_HEAD && c->in_len > c->in_off &&
			   l->now_ms - c->head_ms >= l->e->timeout_ms) {
			/* a head trickling in a byte at a time does not hold a connection */
			log_debug("http", "closing a connection whose request head took %lld s",
				  (long long)((l->now_ms - c->head_ms) / 1000));
			conn_close(c);
		} else if (c->state != C_WAIT && l->now_ms - c->last_ms >= l->e->timeout_ms) {
			log_debug("http", "closing a connection idle for %lld s",
				  (long long)((l->now_ms - c->last_ms) / 1000));
			conn_close(c);
		}
		c = next;
	}
}

static void loop_free_closed(struct http_loop *l)
{
	while (l->closed) {
		struct http_conn *c = l->closed;

		l->closed = c->qnext;
		conn_free(c);
	}
}

static void *loop_main(void *arg)
{
	struct http_loop *l = arg;
	struct http_engine *e = l->e;
	struct epoll_event ev[LOOP_EVENTS];
	int64_t next_sweep;

	l->now_ms = mono_ms();
	next_sweep = l->now_ms + TICK_MS;
	while (!atomic_load(&e->stop)) {
		int n = epoll_wait(l->epfd, ev, LOOP_EVENTS, l->again ? 0 : TICK_MS);
		bool want_accept = false;

		l->now_ms = mono_ms();
		for (int i = 0; i < n; i++) {
			struct http_conn *c = ev[i].data.ptr;

			if (!c) {
				want_accept = true;
				continue;
			}
			if (c == (struct http_conn *)l) {
				loop_drain(l);
				continue;
			}
			if (c->state == C_CLOSED)
				continue;
			if (ev[i].events & EPOLLRDHUP)
				c->rdhup = true;
			if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				c->readable = true;
			if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				c->writable = true;
			conn_run(c);
		}
		/* connections that used their budget go on (newest events first, then these) */
		struct http_conn *again = l->again;
		l->again = NULL;
		while (again) {
			struct http_conn *c = again;
			again = c->again_next;
			c->again_next = NULL;
			c->again = false;
			if (c->state != C_CLOSED)
				conn_run(c);
		}
		/*
		 * Accept after the other events and after freeing the connections
		 * they closed: a client that closes one connection and opens the
		 * next must find its slot free under http.max_connections.
		 */
		if (want_accept && l->listening) {
			loop_free_closed(l);
			accept_some(l);
		}
		if (atomic_load_explicit(&e->quiesce, memory_order_relaxed)) {
			if (l->listening || l->accept_paused_until_ms) {
				if (l->listening)
					epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->lfd, NULL);
				l->listening = false;
				l->accept_paused_until_ms = 0;
			}
			if (!l->quiesced) {
				l->quiesced = true;
				atomic_fetch_add(&e->quiesced, 1);
			}
		} else if (l->accept_paused_until_ms && l->now_ms >= l->accept_paused_until_ms) {
			l->accept_paused_until_ms = 0;
			listen_add(l);
		}
		if (l->now_ms >= next_sweep) {
			loop_sweep(l);
			next_sweep = l->now_ms + TICK_MS;
		}
		loop_free_closed(l);
	}
	/* stopping: answers already resumed go out if the socket takes them at once */
	loop_drain(l);
	while (l->conns) {
		if (l->conns->r && l->conns->r->suspended)
			TN_BUG("event loop stopped with a suspended request");
		conn_close(l->conns);
	}
	loop_free_closed(l);
	while (l->nspare)
		free(l->spare[--l->nspare]);
	return NULL;
}

/* ---- start and stop ----------------------------------------------------------- */

static int listen_open(const struct sockaddr *sa, socklen_t salen, int *port, char *err)
{
	int fd, one = 1, zero = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tn_fail(err, TN_EIO, "http: cannot create a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sa->sa_family == AF_INET6)  /* "[::]" serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, sa, salen) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		return tn_fail(err, e == EADDRINUSE ? TN_ECONFLICT : TN_EIO,
			       "http: cannot listen: %s", strerror(e));
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Connections handed to a loop that stopped before taking them. */
static void free_incoming(struct http_engine *e)
{
	for (unsigned i = 0; i < e->nloops; i++) {
		struct http_loop *l = &e->loops[i];
		while (l->incoming) {
			struct http_conn *c = l->incoming;
			l->incoming = c->qnext;
			c->loop = l;
			conn_free(c);
		}
	}
}

static void engine_free(struct http_engine *e)
{
	for (unsigned i = 0; i < e->nloops; i++) {
		struct http_loop *l = &e->loops[i];
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->efd >= 0)
			close(l->efd);
		pthread_mutex_destroy(&l->mu);
	}
	if (e->lfd >= 0)
		close(e->lfd);
	free(e->loops);
	free(e);
}

int engine_start(const struct sockaddr *sa, socklen_t salen, const struct http_engine_cfg *cfg,
		 struct http_engine **out, char *err)
{
	struct http_engine *e = xcalloc(1, sizeof *e);
	unsigned i;
	int rc;

	*out = NULL;
	e->cfg = *cfg;
	e->timeout_ms = (int64_t)cfg->timeout_s * 1000;
	e->nloops = cfg->loops ? cfg->loops : 1;
	e->loops = xcalloc(e->nloops, sizeof *e->loops);
	for (i = 0; i < e->nloops; i++) {
		e->loops[i].epfd = e->loops[i].efd = -1;
		pthread_mutex_init(&e->loops[i].mu, NULL);
	}
	e->lfd = listen_open(sa, salen, &e->port, err);
	if (e->lfd < 0) {
		rc = e->lfd;
		e->lfd = -1;
		engine_free(e);
		return rc;
	}
	for (i = 0; i < e->nloops; i++) {
		struct http_loop *l = &e->loops[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

		l->e = e;
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->epfd < 0 || l->efd < 0 ||
		    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->efd, &ev) != 0) {
			rc = tn_fail(err, TN_EIO, "http: cannot set up an event loop: %s",
				     strerror(errno));
			goto fail;
		}
		listen_add(l);
		if (!l->listening) {
			rc = tn_fail(err, TN_EIO, "http: cannot watch the listening socket");
			goto fail;
		}
	}
	for (i = 0; i < e->nloops; i++) {
		if (pthread_create(&e->loops[i].thread, NULL, loop_main, &e->loops[i]) != 0) {
			rc = tn_fail(err, TN_EIO, "http: cannot start an event-loop thread");
			atomic_store(&e->stop, true);
			while (i-- > 0) {
				loop_wake(&e->loops[i]);
				pthread_join(e->loops[i].thread, NULL);
			}
			free_incoming(e);
			goto fail;
		}
	}
	*out = e;
	return 0;
fail:
	engine_free(e);
	return rc;
}

int engine_port(const struct http_engine *e)
{
	return e->port;
}

void engine_quiesce(struct http_engine *e)
{
	struct timespec ts = { 0, 1000000 };

	atomic_store(&e->quiesce, true);
	for (unsigned i = 0; i < e->nloops; i++)
		loop_wake(&e->loops[i]);
	while (atomic_load(&e->quiesced) < e->nloops)
		nanosleep(&ts, NULL);
	close(e->lfd);
	e->lfd = -1;
}

void engine_stop(struct http_engine *e)
{
	if (!e)
		return;
	atomic_store(&e->stop, true);
	for (unsigned i = 0; i < e->nloops; i++)
		loop_wake(&e->loops[i]);
	for (unsigned i = 0; i < e->nloops; i++)
		pthread_join(e->loops[i].thread, NULL);
	free_incoming(e);
	engine_free(e);
}

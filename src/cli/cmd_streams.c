/*
 * cmd_streams.c - the stream commands of the CLI: ingest, streams, flush,
 * and token (which belongs with them as the way scripts get credentials
 * for ingest).
 *
 *   tarn ingest STREAM [FILE]   POST /v1/streams/{name}/records  (NDJSON batches)
 *   tarn streams [NAME]         GET  /v1/streams, GET /v1/streams/{name}
 *   tarn flush STREAM           POST /v1/streams/{name}/flush
 *   tarn token [--ttl SECONDS]  POST /v1/tokens
 *
 * Ingest design.  The input is streamed, never loaded: bytes are read in
 * chunks straight into the batch being filled, cut at line ends.  A batch
 * closes at --batch-records records, when the next line would pass
 * --batch-bytes (that line starts the next batch: lines are never split),
 * at the end of the input, or when the input has been idle for LINGER_MS
 * (so `tail -f log | tarn ingest s` delivers promptly).  There are
 * --parallel + 1 batch slots: up to --parallel requests in flight on a curl
 * multi handle, and one slot filling meanwhile; reading stops while every
 * slot is busy, so memory is bounded by (parallel + 1) x batch size.  With
 * --parallel 1 (the default) batches are sent one after the other in input
 * order, and the stream's sequence numbers follow the input.
 *
 * A batch answered 503 (or 429) waits Retry-After plus jitter in its slot
 * and is sent again, at most --retries times.  A 400 names the bad record's
 * index in the batch; each batch keeps the input line number of each of
 * its records, so the message names the input line.  After any failure no
 * new batch is sent; requests already in flight finish, so the summary
 * counts every record the server acknowledged.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define ENV_HELP                                                                   \
	"environment:\n"                                                           \
	"  TARN_URL        server address (default http://127.0.0.1:7070)\n"       \
	"  TARN_TOKEN      API token (see `tarn token`), or\n"                      \
	"  TARN_USER, TARN_PASSWORD   user name and password\n"

/* ---- tarn ingest --------------------------------------------------------- */

static const char ingest_usage[] =
	"usage: tarn ingest STREAM [FILE] [options]\n"
	"\n"
	"Sends records to STREAM: NDJSON, one JSON object per line, from FILE or from\n"
	"standard input (FILE absent or \"-\").  Blank lines are skipped; a line holds at\n"
	"most 1 MiB.  Records are sent in batches; each batch is acknowledged only once\n"
	"the server has made it durable.  A bad record stops the ingest with the number\n"
	"of its input line.\n"
	"\n"
	"options:\n"
	"  --batch-records N    records per request (default 500)\n"
	"  --batch-bytes SIZE   bytes per request, e.g. 1MiB (default 4MiB, at most 16MiB)\n"
	"  --parallel N         requests in flight at once (default 1: input order kept)\n"
	"  --retries N          times a batch is retried while the server is busy (503),\n"
	"                       waiting as its Retry-After says (default 20)\n"
	"  -h, --help           this help\n"
	"\n" ENV_HELP;

#define INGEST_CHUNK (256u << 10)
/* A partly filled batch is sent once the input has been idle this long. */
#define LINGER_MS 200
#define MAX_PARALLEL 64u
#define MAX_RETRIES 1000u

enum slot_state { S_FREE, S_FILLING, S_READY, S_SENDING, S_WAITING };

struct slot {
	enum slot_state state;
	struct buf body;        /* the batch: NDJSON lines, each ending in '\n' */
	uint64_t *lines;        /* input line number of each record */
	size_t nrec;
	uint64_t order;         /* batch number, from 1 */
	unsigned tries;         /* busy answers so far */
	int64_t due_ns;         /* S_WAITING: when to send again */
	int64_t opened_ns;      /* S_FILLING: when its first record came */
	CURL *easy;
	struct client_resp resp;
	char errbuf[CURL_ERROR_SIZE];
};

struct ingest {
	struct client *c;
	const char *stream;
	struct buf path;                /* /v1/streams/<name>/records */
	struct curl_slist *headers;
	CURLM *multi;
	uint64_t batch_records, batch_bytes;
	unsigned parallel, retries;
	struct slot *slots;
	unsigned nslots;
	unsigned active;                /* slots S_SENDING or S_WAITING */
	uint64_t batches;

	int fd;
	const char *input;              /* name for messages */
	bool eof;                       /* read() returned 0 */
	bool input_done;                /* every input byte is in a batch */
	char *in;
	size_t in_len, in_pos;
	uint64_t lineno;                /* lines completed so far */
	int filling;                    /* slot index, or -1 */
	size_t line_start;              /* start of the partial line in that slot */
	struct buf carry;               /* a whole line for the next batch */
	uint64_t carry_line;
	bool has_carry;

	uint64_t records, first_seq, last_seq;
	bool busy_told;
	bool failed;
	uint64_t fail_line;             /* lowest failing input line, for parallel */
	char err[TN_ERRLEN];
	uint64_t rnd;
};

static void ingest_fail(struct ingest *g, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ingest_fail(struct ingest *g, uint64_t line, const char *fmt, ...)
{
	/*
	 * With several requests in flight, report the earliest input line; a
	 * failure of no line in particular (line 0) is kept as it is.
	 */
	if (g->failed && (line == 0 || g->fail_line == 0 || g->fail_line <= line))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof g->err, fmt, ap);
	va_end(ap);
	g->failed = true;
	g->fail_line = line;
}

static uint64_t ingest_rand(struct ingest *g)
{
	uint64_t z = (g->rnd += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct slot *slot_free(struct ingest *g)
{
	for (unsigned i = 0; i < g->nslots; i++)
		if (g->slots[i].state == S_FREE)
			return &g->slots[i];
	return NULL;
}

static void slot_reset(struct slot *s)
{
	s->state = S_FREE;
	buf_reset(&s->body);
	s->nrec = 0;
	s->tries = 0;
}

static void batch_close(struct ingest *g)
{
	struct slot *s = &g->slots[g->filling];
	if (s->nrec == 0) {
		slot_reset(s);
	} else {
		s->state = S_READY;
		s->order = ++g->batches;
	}
	g->filling = -1;
	g->line_start = 0;
}

static void batch_add(struct ingest *g, struct slot *s, uint64_t line)
{
	s->lines[s->nrec++] = line;
	if (s->nrec == 1)
		s->opened_ns = time_mono_ns();
}

static bool is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* The partial line of the filling batch is complete (its '\n' was read, or EOF). */
static void line_done(struct ingest *g)
{
	struct slot *s = &g->slots[g->filling];
	g->lineno++;
	if (is_blank(s->body.data + g->line_start, s->body.len - g->line_start)) {
		buf_truncate(&s->body, g->line_start);
		return;
	}
	/* body's max leaves room for a maximal line past batch_bytes: cannot fail. */
	if (buf_putc(&s->body, '\n'))
		TN_BUG("batch buffer full");
	batch_add(g, s, g->lineno);
	if (s->nrec > 1 && s->body.len > g->batch_bytes) {
		/* This line would make the batch too big: it starts the next one. */
		buf_reset(&g->carry);
		if (buf_append(&g->carry, s->body.data + g->line_start, s->body.len - g->line_start))
			TN_BUG("carry buffer full");
		g->carry_line = g->lineno;
		g->has_carry = true;
		buf_truncate(&s->body, g->line_start);
		s->nrec--;
		batch_close(g);
		return;
	}
	if (s->nrec >= g->batch_records || s->body.len >= g->batch_bytes)
		batch_close(g);
	else
		g->line_start = s->body.len;
}

/* Moves input bytes into batches until input or free slots run out. */
static void ingest_feed(struct ingest *g)
{
	while (!g->failed && !g->input_done) {
		if (g->filling < 0) {
			bool pending = g->has_carry || g->in_pos < g->in_len || g->eof;
			if (!pending)
				return;
			struct slot *s = slot_free(g);
			if (!s)
				return;  /* every slot is busy: stop reading */
			g->filling = (int)(s - g->slots);
			s->state = S_FILLING;
			s->nrec = 0;
			buf_reset(&s->body);
			g->line_start = 0;
			if (g->has_carry) {
				g->has_carry = false;
				if (buf_append(&s->body, g->carry.data, g->carry.len))
					TN_BUG("batch buffer full");
				batch_add(g, s, g->carry_line);
				if (s->nrec >= g->batch_records || s->body.len >= g->batch_bytes)
					batch_close(g);
				else
					g->line_start = s->body.len;
			}
			continue;
		}
		struct slot *s = &g->slots[g->filling];
		if (g->in_pos == g->in_len) {
			if (!g->eof)
				return;  /* wait for input */
			if (s->body.len > g->line_start)  /* a last line without '\n' */
				line_done(g);
			if (g->filling >= 0)
				batch_close(g);
			if (!g->has_carry)
				g->input_done = true;
			continue;
		}
		const char *p = g->in + g->in_pos;
		size_t avail = g->in_len - g->in_pos;
		const char *nl = memchr(p, '\n', avail);
		size_t take = nl ? (size_t)(nl - p) : avail;
		if (s->body.len - g->line_start + take > TN_MAX_RECORD) {
			ingest_fail(g, g->lineno + 1,
				    "line %llu of %s: the record is longer than %u KiB (the limit per record)",
				    (unsigned long long)(g->lineno + 1), g->input, TN_MAX_RECORD >> 10);
			return;
		}
		if (buf_append(&s->body, p, take))
			TN_BUG("batch buffer full");
		g->in_pos += take + (nl ? 1 : 0);
		if (nl)
			line_done(g);
	}
}

static void ingest_send(struct ingest *g, struct slot *s)
{
	if (!s->easy) {
		s->easy = curl_easy_init();
		if (!s->easy) {
			ingest_fail(g, 0, "cannot create a libcurl handle");
			return;
		}
	}
	client_setup(g->c, s->easy, "POST", g->path.data, g->headers, s->body.data, s->body.len,
		     &s->resp, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (void *)s);
	if (curl_multi_add_handle(g->multi, s->easy) != CURLM_OK) {
		ingest_fail(g, 0, "cannot start a transfer (libcurl)");
		return;
	}
	if (s->state != S_WAITING)
		g->active++;
	s->state = S_SENDING;
}

/* Starts ready batches in input order, and due retries. */
static void ingest_dispatch(struct ingest *g)
{
	int64_t now = time_mono_ns();
	for (unsigned i = 0; i < g->nslots && !g->failed; i++) {
		struct slot *s = &g->slots[i];
		if (s->state == S_WAITING && now >= s->due_ns)
			ingest_send(g, s);
	}
	while (!g->failed && g->active < g->parallel) {
		struct slot *next = NULL;
		for (unsigned i = 0; i < g->nslots; i++) {
			struct slot *s = &g->slots[i];
			if (s->state == S_READY && (!next || s->order < next->order))
				next = s;
		}
		if (!next)
			break;
		ingest_send(g, next);
	}
}

/* "record 3: invalid JSON ..." -> "invalid JSON ...": the line replaces it. */
static const char *strip_record_prefix(const char *m)
{
	if (strncmp(m, "record ", 7) != 0)
		return m;
	const char *p = m + 7;
	if (*p < '0' || *p > '9')
		return m;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] == ':' && p[1] == ' ')
		return p + 2;
	return m;
}

static void ingest_done(struct ingest *g, struct slot *s, CURLcode rc)
{
	curl_multi_remove_handle(g->multi, s->easy);
	char err[TN_ERRLEN];
	long status = 0;
	if (client_transfer_error(g->c, rc, s->errbuf, &s->resp, err)) {
		ingest_fail(g, s->lines[0], "%s", err);
		goto release;
	}
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	s->resp.status = status;
	if (status >= 200 && status <= 299) {
		json_t *j = NULL;
		if (client_parse_json(s->resp.body.data, s->resp.body.len, &j, err)) {
			ingest_fail(g, s->lines[0], "%s", err);
			goto release;
		}
		uint64_t count = s->nrec, first, last;
		client_json_u64(j, "count", &count);
		g->records += count;
		if (client_json_u64(j, "first_seq", &first) && (!g->first_seq || first < g->first_seq))
			g->first_seq = first;
		if (client_json_u64(j, "last_seq", &last) && last > g->last_seq)
			g->last_seq = last;
		json_decref(j);
		goto release;
	}
	long index = -1;
	client_resp_error(g->c, &s->resp, &index, err);
	if (status == 503 || status == 429) {
		if (s->tries >= g->retries) {
			ingest_fail(g, s->lines[0], "the server is still busy after %u retries: %s",
				    g->retries, err);
			goto release;
		}
		s->tries++;
		long secs = s->resp.retry_after > 0 ? s->resp.retry_after : 1;
		if (secs > 300)
			secs = 300;
		/* Jitter of up to a quarter (at least 100 ms) spreads the clients apart. */
		uint64_t spread = (uint64_t)secs * 250 + 100;
		int64_t wait_ms = secs * 1000 + (int64_t)(ingest_rand(g) % spread);
		if (!g->busy_told) {
			fprintf(stderr, "tarn: the server is busy (%s); retrying\n", err);
			g->busy_told = true;
		}
		s->state = S_WAITING;
		s->due_ns = time_mono_ns() + wait_ms * 1000000LL;
		return;  /* still active */
	}
	if (index >= 0 && (size_t)index < s->nrec) {
		ingest_fail(g, s->lines[index], "line %llu of %s: %s",
			    (unsigned long long)s->lines[index], g->input, strip_record_prefix(err));
	} else if (status == 400 || status == 413) {
		ingest_fail(g, s->lines[0], "lines %llu-%llu of %s: %s",
			    (unsigned long long)s->lines[0], (unsigned long long)s->lines[s->nrec - 1],
			    g->input, err);
	} else {
		ingest_fail(g, s->lines[0], "%s", err);
	}
release:
	g->active--;
	slot_reset(s);
}

/* Reads one chunk of input (EOF sets g->eof; a read error fails g). */
static void ingest_read(struct ingest *g)
{
	ssize_t n;
	do {
		n = read(g->fd, g->in, INGEST_CHUNK);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		ingest_fail(g, 0, "cannot read %s: %s", g->input, strerror(errno));
		return;
	}
	g->in_len = (size_t)n;
	g->in_pos = 0;
	if (n == 0)
		g->eof = true;
}

static bool want_input(const struct ingest *g)
{
	if (g->failed || g->eof || g->input_done || g->has_carry || g->in_pos < g->in_len)
		return false;
	if (g->filling >= 0)
		return true;
	for (unsigned i = 0; i < g->nslots; i++)
		if (g->slots[i].state == S_FREE)
			return true;
	return false;
}

static int ingest_run(struct ingest *g)
{
	for (;;) {
		ingest_feed(g);
		if (!g->failed)
			ingest_dispatch(g);
		if (g->failed) {
			/* Batches waiting for a retry are not sent again. */
			for (unsigned i = 0; i < g->nslots; i++) {
				if (g->slots[i].state == S_WAITING) {
					g->active--;
					slot_reset(&g->slots[i]);
				}
			}
		}
		bool sending = false;
		for (unsigned i = 0; i < g->nslots; i++)
			sending |= g->slots[i].state == S_SENDING;
		if ((g->failed || g->input_done) && g->active == 0 && !sending)
			break;

		int running = 0;
		curl_multi_perform(g->multi, &running);
		CURLMsg *m;
		int left;
		bool finished = false;
		while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct slot *s = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			ingest_done(g, s, m->data.result);
			finished = true;
		}

		/* Progress possible without waiting? */
		bool input = want_input(g);
		int timeout = finished ? 0 : 1000;
		if (!g->failed && ((g->in_pos < g->in_len && slot_free(g)) ||
				   (g->eof && !g->input_done && (g->filling >= 0 || slot_free(g)))))
			timeout = 0;
		bool ready_batch = false;
		for (unsigned i = 0; i < g->nslots; i++)
			ready_batch |= g->slots[i].state == S_READY;
		if (ready_batch && g->active < g->parallel)
			timeout = 0;
		int64_t now = time_mono_ns();
		for (unsigned i = 0; i < g->nslots; i++) {
			struct slot *s = &g->slots[i];
			if (s->state == S_WAITING) {
				int64_t ms = (s->due_ns - now) / 1000000 + 1;
				if (ms < timeout)
					timeout = ms < 0 ? 0 : (int)ms;
			}
		}
		int64_t linger_due = 0;
		if (input && g->filling >= 0 && g->slots[g->filling].nrec > 0) {
			linger_due = g->slots[g->filling].opened_ns + LINGER_MS * 1000000LL;
			int64_t ms = (linger_due - now) / 1000000 + 1;
			if (ms < timeout)
				timeout = ms < 0 ? 0 : (int)ms;
		}
		struct curl_waitfd wfd = { g->fd, CURL_WAIT_POLLIN, 0 };
		curl_multi_poll(g->multi, input ? &wfd : NULL, input ? 1 : 0, timeout, NULL);
		/*
		 * curl reports only POLLIN for extra fds, not POLLHUP (a pipe
		 * whose writer is gone): ask poll(2) directly.
		 */
		struct pollfd pfd = { g->fd, POLLIN, 0 };
		if (input && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			ingest_read(g);
		else if (input && linger_due && time_mono_ns() >= linger_due && g->filling >= 0)
			batch_close(g);  /* the input is idle: send what we have */
	}
	return g->failed ? 1 : 0;
}

int cmd_ingest(int argc, char **argv)
{
	struct cli_args a;
	const char *stream = NULL, *file = NULL, *v;
	uint64_t batch_records = 500, batch_bytes = 4u << 20, parallel = 1, retries = 20;
	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(ingest_usage, stdout);
			return 0;
		} else if (cli_value(&a, "--batch-records", &v)) {
			if (cli_parse_u64(v, false, &batch_records) || batch_records < 1 ||
			    batch_records > TN_MAX_BATCH_RECORDS)
				return cli_usage_error(ingest_usage,
						       "--batch-records '%s': expected 1 to %u", v,
						       TN_MAX_BATCH_RECORDS);
		} else if (cli_value(&a, "--batch-bytes", &v)) {
			if (cli_parse_u64(v, true, &batch_bytes) || batch_bytes < 1 ||
			    batch_bytes > TN_MAX_BATCH_BODY)
				return cli_usage_error(ingest_usage,
						       "--batch-bytes '%s': expected a size up to 16MiB", v);
		} else if (cli_value(&a, "--parallel", &v)) {
			if (cli_parse_u64(v, false, &parallel) || parallel < 1 || parallel > MAX_PARALLEL)
				return cli_usage_error(ingest_usage, "--parallel '%s': expected 1 to %u",
						       v, MAX_PARALLEL);
		} else if (cli_value(&a, "--retries", &v)) {
			if (cli_parse_u64(v, false, &retries) || retries > MAX_RETRIES)
				return cli_usage_error(ingest_usage, "--retries '%s': expected 0 to %u",
						       v, MAX_RETRIES);
		} else if (a.positional && !stream) {
			stream = a.arg;
		} else if (a.positional && !file) {
			file = a.arg;
		} else {
			return cli_bad_arg(&a, ingest_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, ingest_usage);
	if (!stream || !*stream)
		return cli_usage_error(ingest_usage, "missing the STREAM to ingest into");

	char err[TN_ERRLEN];
	struct client c;
	struct ingest g;
	memset(&g, 0, sizeof g);
	g.fd = -1;
	g.filling = -1;
	buf_init(&g.path, 0);
	buf_init(&g.carry, TN_MAX_RECORD + 2);
	int rc = 1;
	if (client_init(&c, err)) {
		rc = cli_error("%s", err);
		goto out_client;
	}
	if (!file || !strcmp(file, "-")) {
		g.fd = STDIN_FILENO;
		g.input = "standard input";
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "tarn: reading records from the terminal, one JSON object "
					"per line (end with Ctrl-D)\n");
	} else {
		int fd = os_open(file, O_RDONLY, 0, err);
		if (fd < 0) {
			rc = cli_error("%s", err);
			goto out_client;
		}
		g.fd = fd;
		g.input = file;
	}

	g.c = &c;
	g.stream = stream;
	g.batch_records = batch_records;
	g.batch_bytes = batch_bytes;
	g.parallel = (unsigned)parallel;
	g.retries = (unsigned)retries;
	g.rnd = (uint64_t)time_mono_ns() ^ ((uint64_t)getpid() << 32);
	buf_puts(&g.path, "/v1/streams/");
	client_path_escape(&g.path, stream);
	buf_puts(&g.path, "/records");
	g.headers = client_headers(&c, "application/x-ndjson");
	g.multi = curl_multi_init();
	if (!g.multi) {
		rc = cli_error("cannot create a libcurl multi handle");
		goto out;
	}
	curl_multi_setopt(g.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
	g.in = xmalloc(INGEST_CHUNK);
	g.nslots = g.parallel + 1;
	g.slots = xcalloc(g.nslots, sizeof *g.slots);
	for (unsigned i = 0; i < g.nslots; i++) {
		/* Room for a batch at its byte limit plus one maximal line. */
		buf_init(&g.slots[i].body, batch_bytes + TN_MAX_RECORD + 2);
		g.slots[i].lines = xmalloc(batch_records * sizeof(uint64_t));
		client_resp_init(&g.slots[i].resp);
	}

	int64_t t0 = time_mono_ns();
	rc = ingest_run(&g);
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	if (rc)
		cli_error("%s", g.err);
	if (!rc || g.records > 0) {
		char seqs[96] = "";
		if (g.records > 0)
			snprintf(seqs, sizeof seqs, " (first seq %llu, last seq %llu)",
				 (unsigned long long)g.first_seq, (unsigned long long)g.last_seq);
		fprintf(stderr, "ingested %llu record%s into %s%s %s %.2f s\n",
			(unsigned long long)g.records, g.records == 1 ? "" : "s", stream, seqs,
			rc ? "before the error, in" : "in", secs);
	}

out:
	for (unsigned i = 0; g.slots && i < g.nslots; i++) {
		struct slot *s = &g.slots[i];
		if (s->easy) {
			if (g.multi)
				curl_multi_remove_handle(g.multi, s->easy);
			curl_easy_cleanup(s->easy);
		}
		buf_release(&s->body);
		free(s->lines);
		client_resp_release(&s->resp);
	}
	free(g.slots);
	free(g.in);
	if (g.multi)
		curl_multi_cleanup(g.multi);
	curl_slist_free_all(g.headers);
	if (g.fd > STDIN_FILENO)
		os_close(g.fd);
out_client:
	buf_release(&g.path);
	buf_release(&g.carry);
	client_release(&c);
	return rc;
}

/* ---- tarn streams -------------------------------------------------------- */

static const char streams_usage[] =
	"usage: tarn streams [NAME] [--json]\n"
	"\n"
	"Without NAME, lists the streams: records accepted, objects written, flush lag\n"
	"(age of the oldest record not yet in an object) and the newest object.  With\n"
	"NAME, shows everything the server knows of that stream.\n"
	"\n"
	"options:\n"
	"  --json        print the server's JSON as it came\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

static bool scalar_array(const json_t *v)
{
	if (!json_is_array(v))
		return false;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		if (json_is_array(e) || json_is_object(e))
			return false;
	}
	return true;
}

/* A value for a table cell or a details line ("-" for null and empty). */
static void fmt_value(const json_t *v, char *out, size_t n)
{
	if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0)) {
		snprintf(out, n, "-");
	} else if (json_is_string(v)) {
		snprintf(out, n, "%s", *json_string_value(v) ? json_string_value(v) : "-");
	} else if (json_is_integer(v)) {
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(out, n, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
	} else if (scalar_array(v)) {
		/* A list of scalars reads best as "a, b, c". */
		size_t k = 0;
		out[0] = 0;
		for (size_t i = 0; i < json_array_size(v) && k + 1 < n; i++) {
			char one[256];
			fmt_value(json_array_get(v, i), one, sizeof one);
			int w = snprintf(out + k, n - k, "%s%s", i ? ", " : "", one);
			if (w < 0)
				break;
			k += (size_t)w;
		}
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(out, n, "%s", s ? s : "?");
		free(s);
	}
}

static void fmt_lag(const json_t *v, char *out, size_t n)
{
	if (!json_is_integer(v)) {
		fmt_value(v, out, n);
		return;
	}
	long long ms = (long long)json_integer_value(v);
	if (ms <= 0)
		snprintf(out, n, "-");
	else if (ms < 1000)
		snprintf(out, n, "%lld ms", ms);
	else if (ms < 60000)
		snprintf(out, n, "%.1f s", (double)ms / 1000);
	else
		snprintf(out, n, "%lldm%02llds", ms / 60000, ms / 1000 % 60);
}

static void print_details(const json_t *obj, int indent)
{
	const char *key;
	json_t *v;
	int width = 0;
	json_object_foreach((json_t *)obj, key, v) {
		int k = (int)strlen(key);
		if (k > width)
			width = k;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (json_is_object(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_details(v, indent + 2);
			continue;
		}
		char val[TN_MAX_KEY + 64];
		fmt_value(v, val, sizeof val);
		printf("%*s%-*s  %s\n", indent, "", width, key, val);
	}
}

enum { COL_NAME, COL_RECORDS, COL_OBJECTS, COL_LAG, COL_LAST, NCOLS };

static void print_streams_table(const json_t *list)
{
	static const char *const heads[NCOLS] = { "NAME", "RECORDS", "OBJECTS", "FLUSH LAG",
						  "LAST OBJECT" };
	int width[NCOLS];
	for (int k = 0; k < NCOLS; k++)
		width[k] = (int)strlen(heads[k]);
	size_t n = json_array_size(list);
	char(*cells)[NCOLS][TN_MAX_KEY + 64] = xcalloc(n ? n : 1, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(list, i);
		fmt_value(json_object_get(s, "name"), cells[i][COL_NAME], sizeof cells[i][0]);
		fmt_value(json_object_get(s, "records"), cells[i][COL_RECORDS], sizeof cells[i][0]);
		fmt_value(json_object_get(s, "objects"), cells[i][COL_OBJECTS], sizeof cells[i][0]);
		fmt_lag(json_object_get(s, "flush_lag_ms"), cells[i][COL_LAG], sizeof cells[i][0]);
		fmt_value(json_object_get(s, "last_object"), cells[i][COL_LAST], sizeof cells[i][0]);
		for (int k = 0; k < NCOLS; k++) {
			int w = (int)strlen(cells[i][k]);
			if (w > width[k])
				width[k] = w;
		}
	}
	printf("%-*s  %*s  %*s  %*s  %s\n", width[0], heads[0], width[1], heads[1], width[2],
	       heads[2], width[3], heads[3], heads[4]);
	for (size_t i = 0; i < n; i++)
		printf("%-*s  %*s  %*s  %*s  %s\n", width[0], cells[i][0], width[1], cells[i][1],
		       width[2], cells[i][2], width[3], cells[i][3], cells[i][4]);
	free(cells);
}

/* Appends "/v1/streams/<escaped name><suffix>" to path. */
static void stream_path(struct buf *path, const char *name, const char *suffix)
{
	buf_puts(path, "/v1/streams/");
	client_path_escape(path, name);
	buf_puts(path, suffix);
}

static void print_raw(const struct buf *raw)
{
	fwrite(raw->data, 1, raw->len, stdout);
	if (raw->len == 0 || raw->data[raw->len - 1] != '\n')
		putchar('\n');
}

int cmd_streams(int argc, char **argv)
{
	const char *name = NULL;
	bool json = false;
	int done = cli_parse_arg_json(argc, argv, streams_usage, &name, &json);
	if (done >= 0)
		return done;

	char err[TN_ERRLEN];
	struct client c;
	struct buf path = BUF_INIT(0), raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *doc = NULL;
	int rc = 1;
	if (client_init(&c, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	if (name)
		stream_path(&path, name, "");
	else
		buf_puts(&path, "/v1/streams");
	if (client_json(&c, "GET", path.data, NULL, &doc, &raw, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	rc = 0;
	if (json) {
		print_raw(&raw);
	} else if (name) {
		if (!json_is_object(doc)) {
			rc = cli_error("the server sent an unexpected answer for stream '%s'", name);
			goto out;
		}
		print_details(doc, 0);
	} else {
		json_t *list = json_object_get(doc, "streams");
		if (!json_is_array(list)) {
			rc = cli_error("the server sent an unexpected answer: no \"streams\" list");
			goto out;
		}
		if (json_array_size(list) == 0)
			fprintf(stderr, "no streams yet: `tarn ingest STREAM FILE` creates one\n");
		else
			print_streams_table(list);
	}
out:
	json_decref(doc);
	buf_release(&path);
	buf_release(&raw);
	client_release(&c);
	return rc;
}

/* ---- tarn flush ---------------------------------------------------------- */

static const char flush_usage[] =
	"usage: tarn flush STREAM [--json]\n"
	"\n"
	"Writes every durable record of STREAM that is not yet in an object into the raw\n"
	"zone now, without waiting for the buffering hints, and prints the key of the\n"
	"newest object.\n"
	"\n"
	"options:\n"
	"  --json        print the stream's JSON after the flush\n"
	"  -h, --help    this help\n"
	"\n" ENV_HELP;

int cmd_flush(int argc, char **argv)
{
	const char *name = NULL;
	bool json = false;
	int done = cli_parse_arg_json(argc, argv, flush_usage, &name, &json);
	if (done >= 0)
		return done;
	if (!name || !*name)
		return cli_usage_error(flush_usage, "missing the STREAM to flush");

	char err[TN_ERRLEN];
	struct client c;
	struct buf path = BUF_INIT(0), raw = BUF_INIT(CLIENT_MAX_RESPONSE);
	json_t *doc = NULL;
	int rc = 1;
	if (client_init(&c, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	stream_path(&path, name, "/flush");
	if (client_json(&c, "POST", path.data, NULL, &doc, &raw, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	rc = 0;
	if (json) {
		print_raw(&raw);
		goto out;
	}
	const char *last = json_string_value(json_object_get(doc, "last_object"));
	if (last && *last)
		printf("%s\n", last);
	else
		fprintf(stderr, "stream '%s' has no objects yet: it holds no records\n", name);
out:
	json_decref(doc);
	buf_release(&path);
	buf_release(&raw);
	client_release(&c);
	return rc;
}

/* ---- tarn token ---------------------------------------------------------- */

static const char token_usage[] =
	"usage: tarn token [--ttl DURATION]\n"
	"\n"
	"Creates an API token for the user of TARN_USER / TARN_PASSWORD (or of the\n"
	"current TARN_TOKEN) and prints it alone on standard output, so that\n"
	"    export TARN_TOKEN=$(tarn token)\n"
	"works.  The token is shown only once; the server keeps only its hash.\n"
	"\n"
	"options:\n"
	"  --ttl DURATION   lifetime: seconds, or a number with s, m, h or d\n"
	"                   (default: the server's auth.token_ttl)\n"
	"  -h, --help       this help\n"
	"\n" ENV_HELP;

static int parse_duration(const char *s, uint64_t *secs)
{
	char digits[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof digits)
		return TN_EINVAL;
	uint64_t mult = 1;
	char last = s[n - 1];
	if (last == 's' || last == 'm' || last == 'h' || last == 'd') {
		mult = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600 : 86400;
		n--;
	}
	memcpy(digits, s, n);
	digits[n] = 0;
	uint64_t v;
	if (cli_parse_u64(digits, false, &v) || v == 0 || v > UINT64_MAX / mult / 2)
		return TN_EINVAL;
	*secs = v * mult;
	return 0;
}

int cmd_token(int argc, char **argv)
{
	struct cli_args a;
	const char *v;
	uint64_t ttl = 0;
	bool have_ttl = false;
	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(token_usage, stdout);
			return 0;
		} else if (cli_value(&a, "--ttl", &v)) {
			if (parse_duration(v, &ttl) || ttl > INT64_MAX / 4)
				return cli_usage_error(token_usage,
						       "--ttl '%s': expected seconds, or e.g. 30m, 12h, 7d", v);
			have_ttl = true;
		} else {
			return cli_bad_arg(&a, token_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, token_usage);

	char err[TN_ERRLEN];
	struct client c;
	json_t *doc = NULL;
	json_t *body = json_object();
	int rc = 1;
	if (have_ttl)
		json_object_set_new(body, "ttl_seconds", json_integer((json_int_t)ttl));
	if (client_init(&c, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	if (client_json(&c, "POST", "/v1/tokens", body, &doc, NULL, err)) {
		rc = cli_error("%s", err);
		goto out;
	}
	const char *token = json_string_value(json_object_get(doc, "token"));
	if (!token || !*token) {
		rc = cli_error("the server's answer holds no \"token\"");
		goto out;
	}
	printf("%s\n", token);
	const char *exp = json_string_value(json_object_get(doc, "expires_at"));
	if (exp && isatty(STDERR_FILENO))
		fprintf(stderr, "token for %s, expires %s\n",
			json_string_value(json_object_get(doc, "principal")) ?
				json_string_value(json_object_get(doc, "principal")) : "?",
			exp);
	rc = 0;
out:
	json_decref(doc);
	json_decref(body);
	client_release(&c);
	return rc;
}

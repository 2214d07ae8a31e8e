/*
 * s3_load.c - `make bench-s3`: a load tool for tarn's S3 API, the nginx
 * ceiling of its GETs and the disk ceiling of its PUTs.
 *
 *   s3_load get  ADDR PREFIX [options]   GET PREFIX<i>.bin from ADDR
 *   s3_load put  ADDR PREFIX [options]   PUT --size bytes to PREFIX<i>.bin
 *   s3_load disk DIR [options]           write DIR/obj-<i>.bin as the store does
 *
 * ADDR is 127.0.0.1:PORT; PREFIX the path of the objects on the wire, e.g.
 * "/lake/04-user-drop-zone/bench/s4k/obj-" (S3, path style) or
 * "/04-user-drop-zone/bench/s4k/obj-" (nginx over the lake folder); object i
 * is PREFIX + six digits + ".bin".  Options:
 *   --threads N    concurrent clients, each with its own connection (8)
 *   --objects N    distinct objects; operation i uses object i mod N (1000)
 *   --size BYTES   body of a PUT / disk write; a GET checks it (4096)
 *   --seconds S    stop starting operations after S seconds (10)
 *   --max-ops N    and after N operations in all (100000)
 *   --sign MODE    unsigned: SigV4 with x-amz-content-sha256 UNSIGNED-PAYLOAD
 *                  (default); signed: the hex SHA-256 of the body (the
 *                  server hashes every byte and compares); none: no
 *                  Authorization (nginx)
 *   --copy         copy GET bodies into the client's memory (default: the
 *                  client's kernel drops them, recv MSG_TRUNC: fewer client
 *                  cycles on a machine the server shares)
 * Access key: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the
 * environment (not argv, which ps shows); region AWS_DEFAULT_REGION or
 * us-east-1.
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   mode=get sign=unsigned size=4096 threads=8 objects=1000 ops=51234
 *   errors=0 seconds=10.00 ops_s=5123.4 mb_s=20.98 p50_ms=1.41 p99_ms=4.02
 *   connects=8 client_cpu_s=6.1
 * ops counts successful operations; MB/s is 10^6 body bytes per second;
 * latency is from the first byte sent to the last byte of the answer
 * (GET, PUT) or from open to the directory's fsync (disk), nearest rank;
 * client_cpu_s is this process's user + system CPU over the run, the
 * measure of what the client itself costs.  Errors go to stderr (the first
 * few answers in full); the exit status is 1 if any operation failed.
 *
 * The client.  Plain blocking sockets, HTTP/1.1 keep-alive, one request in
 * flight per connection: a request is one writev (headers, body), an
 * answer is read through one 256 KiB buffer per connection.  libcurl would
 * add a parser, callbacks and a header list per request; this is about
 * the least a client can do per request, so that the server is measured
 * rather than the client (both share the machine).  Every S3 request is
 * signed with the project's signer (auth/sigv4.h) over host,
 * x-amz-content-sha256 and x-amz-date, as SDKs do; the signing is part of
 * each operation's client cost but not of its latency.  A connection the
 * server closes is opened again (connects counts them).
 *
 * The disk mode does what store.c does for one object: a temp file in the
 * target folder (O_EXCL), the body in writes of at most 256 KiB (the
 * store's writer buffer), fsync, close, rename over the target, fsync of
 * the folder.  It is the ceiling of a durable PUT on this file system.
 *
 * Threads: main parses, starts the workers behind a barrier, joins them and
 * prints; the workers share only atomics and disjoint slots of lat[].
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "auth/sigv4.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define RBUF (256u << 10)       /* per-connection read buffer */
#define MAX_HEAD (16u << 10)    /* answer headers larger than this are an error */
#define WRITE_CHUNK (256u << 10) /* disk mode: the store's writer buffer */
#define MAX_THREADS 256
#define MAX_OPS_CAP 10000000ul  /* lat[] is 8 bytes per operation */
#define ERRORS_SHOWN 5

enum mode { M_GET, M_PUT, M_DISK };
enum sign { S_UNSIGNED, S_SIGNED, S_NONE };

struct opts {
	enum mode mode;
	enum sign sign;
	const char *target;      /* ADDR, or DIR for disk */
	const char *prefix;
	struct sockaddr_in sa;
	char host[64];           /* Host header */
	unsigned threads, objects;
	size_t size;
	double seconds;
	unsigned long max_ops;
	bool copy;
	const char *key, *secret, *region;
};

/* Shared by the workers. */
static struct opts O;
static char *body;                   /* --size bytes, the same for every PUT */
static char body_sha[65];            /* its hex SHA-256 (sign=signed) */
static double *lat;                  /* lat[i]: seconds of operation i, or -1 */
static atomic_ulong next_op, n_errors, n_connects, shown;
static double t_start;
static pthread_barrier_t start_line;

static double now_s(void)
{
	return (double)time_mono_ns() / 1e9;
}

static void usage(void)
{
	fputs("usage: s3_load get|put ADDR PREFIX [--threads N] [--objects N] [--size BYTES]\n"
	      "                [--seconds S] [--max-ops N] [--sign unsigned|signed|none] [--copy]\n"
	      "       s3_load disk DIR [--threads N] [--objects N] [--size BYTES] [--seconds S]\n"
	      "                [--max-ops N]\n", stderr);
	exit(2);
}

static void die(const char *msg)
{
	fprintf(stderr, "s3_load: %s\n", msg);
	exit(2);
}

/* One failed operation: counted; the first few said in full. */
static void op_error(const char *fmt, const char *a, const char *b)
{
	atomic_fetch_add(&n_errors, 1);
	if (atomic_fetch_add(&shown, 1) < ERRORS_SHOWN) {
		fputs("s3_load: ", stderr);
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

/* ---- the HTTP client ---- */

struct conn {
	int fd;
	char *rbuf;
	size_t rpos, rlen;    /* unread bytes: rbuf[rpos..rlen) */
};

static int conn_open(struct conn *c)
{
	int one = 1;
	c->rpos = c->rlen = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&O.sa, sizeof O.sa) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	atomic_fetch_add(&n_connects, 1);
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Reads more into rbuf (compacting it first); 0, or -1 on EOF / error. */
static int conn_fill(struct conn *c)
{
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rlen == RBUF) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	ssize_t n;
	do
		n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	c->rlen += (size_t)n;
	return 0;
}

/* Consumes n body bytes: from the buffer, then from the socket. */
static int conn_skip(struct conn *c, uint64_t n)
{
	size_t have = c->rlen - c->rpos;
	size_t take = have < n ? have : (size_t)n;
	c->rpos += take;
	n -= take;
	while (n > 0) {
		size_t want = n < RBUF ? (size_t)n : RBUF;
		ssize_t got = recv(c->fd, c->rbuf, want, O.copy ? 0 : MSG_TRUNC);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		n -= (uint64_t)got;
	}
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	return 0;
}

/* The next line (CRLF removed, NUL-terminated in place); NULL on EOF / too long. */
static char *conn_line(struct conn *c)
{
	for (;;) {
		char *p = c->rbuf + c->rpos;
		char *nl = memchr(p, '\n', c->rlen - c->rpos);
		if (nl) {
			c->rpos = (size_t)(nl - c->rbuf) + 1;
			if (nl > p && nl[-1] == '\r')
				nl--;
			*nl = '\0';
			return p;
		}
		if (c->rlen - c->rpos >= MAX_HEAD || conn_fill(c))
			return NULL;
	}
}

/* A small body (an error document) into out, for the message. */
static int conn_take(struct conn *c, uint64_t n, char *out, size_t cap)
{
	size_t o = 0;
	while (n > 0) {
		if (c->rpos == c->rlen && conn_fill(c))
			return -1;
		size_t have = c->rlen - c->rpos;
		size_t take = have < n ? have : (size_t)n;
		size_t keep = o + 1 < cap ? (take < cap - 1 - o ? take : cap - 1 - o) : 0;
		memcpy(out + o, c->rbuf + c->rpos, keep);
		o += keep;
		c->rpos += take;
		n -= take;
	}
	out[o] = '\0';
	return 0;
}

struct answer {
	int status;
	uint64_t body_len;     /* bytes of body read */
	bool close;            /* the server closes after it */
	char text[512];        /* the body of an error answer, cut */
};

/*
 * Reads one answer: status line, headers, body (Content-Length or chunked;
 * 204 / 304 / HEAD have none).  0, or -1 when the connection broke.
 */
static int read_answer(struct conn *c, struct answer *a)
{
	char *l = conn_line(c);
	long long cl = -1;
	bool chunked = false;
	memset(a, 0, sizeof *a);
	if (!l || strncmp(l, "HTTP/1.", 7) || strlen(l) < 12)
		return -1;
	a->status = (int)strtol(l + 9, NULL, 10);
	a->close = l[7] == '0';
	while ((l = conn_line(c)) != NULL && *l) {
		char *v = strchr(l, ':');
		if (!v)
			continue;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (!strcasecmp(l, "Content-Length"))
			cl = strtoll(v, NULL, 10);
		else if (!strcasecmp(l, "Transfer-Encoding"))
			chunked = strcasestr(v, "chunked") != NULL;
		else if (!strcasecmp(l, "Connection"))
			a->close = strcasestr(v, "close") != NULL;
	}
	if (!l)
		return -1;
	bool ok = a->status >= 200 && a->status < 300;
	if (a->status == 204 || a->status == 304)
		return 0;
	if (chunked) {
		for (;;) {
			if (!(l = conn_line(c)))
				return -1;
			uint64_t n = strtoull(l, NULL, 16);
			if (n == 0)
				break;
			if (ok ? conn_skip(c, n) : conn_take(c, n, a->text, sizeof a->text))
				return -1;
			a->body_len += n;
			if (!conn_line(c))
				return -1;
		}
		while ((l = conn_line(c)) != NULL && *l)
			;  /* trailers */
		return l ? 0 : -1;
	}
	if (cl < 0) {  /* the body runs to the close */
		a->close = true;
		while (conn_fill(c) == 0) {
			a->body_len += c->rlen - c->rpos;
			c->rpos = c->rlen;
		}
		return 0;
	}
	a->body_len = (uint64_t)cl;
	return ok ? conn_skip(c, (uint64_t)cl) : conn_take(c, (uint64_t)cl, a->text, sizeof a->text);
}

static int send_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * The request head of operation obj into head (signing it unless sign=none).
 * Returns its length, or -1 (message in err).
 */
static int build_head(unsigned obj, char *head, size_t cap, struct buf *authz, char *err)
{
	char path[1024], amz[32], cl[32] = "";
	bool put = O.mode == M_PUT;
	snprintf(path, sizeof path, "%s%06u.bin", O.prefix, obj);
	if (put)
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", O.size);
	if (O.sign == S_NONE)
		return snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", put ? "PUT" : "GET",
				path, O.host, cl);
	/* GET signs the hash of its empty body in the signed mode */
	const char *payload = O.sign == S_UNSIGNED ? SIGV4_UNSIGNED_PAYLOAD
			      : put ? body_sha
				    : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	time_format_amz(time_now_ms(), amz, sizeof amz);
	struct sigv4_header h[] = { { "Host", O.host },
				    { "x-amz-content-sha256", payload },
				    { "x-amz-date", amz } };
	struct sigv4_request req = { .method = put ? "PUT" : "GET", .path = path, .query = "",
				     .headers = h, .nheaders = 3 };
	buf_reset(authz);
	if (sigv4_sign(&req, O.key, O.secret, O.region, "s3", "host;x-amz-content-sha256;x-amz-date",
		       authz, err))
		return -1;
	int n = snprintf(head, cap,
			 "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-content-sha256: %s\r\n"
			 "x-amz-date: %s\r\nAuthorization: %s\r\n%s\r\n",
			 put ? "PUT" : "GET", path, O.host, payload, amz, authz->data, cl);
	return n > 0 && (size_t)n < cap ? n : -1;
}

/*
 * One GET or PUT on c; its latency in *secs.  0; -1, counted as an error;
 * -2 when no connection could be opened (also counted; the caller stops).
 */
static int http_op(struct conn *c, unsigned obj, struct buf *authz, double *secs)
{
	char head[4096], err[TN_ERRLEN] = "", what[64];
	int n = build_head(obj, head, sizeof head, authz, err);
	if (n < 0) {
		op_error("signing: %s%s", err, "");
		return -1;
	}
	snprintf(what, sizeof what, "%s object %u", O.mode == M_PUT ? "PUT" : "GET", obj);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && conn_open(c)) {
			op_error("%s: connect: %s", what, strerror(errno));
			return -2;  /* no server there: this client stops */
		}
		struct iovec iov[2] = { { head, (size_t)n }, { body, O.size } };
		struct answer a;
		double t0 = now_s();
		int rc = send_all(c->fd, iov, O.mode == M_PUT ? 2 : 1);
		if (rc == 0)
			rc = read_answer(c, &a);
		*secs = now_s() - t0;
		if (rc) {
			/* a keep-alive connection the server had closed: once more on a new one */
			conn_close(c);
			if (attempt == 0)
				continue;
			op_error("%s: the connection broke%s", what, "");
			return -1;
		}
		if (a.close)
			conn_close(c);
		if (a.status < 200 || a.status > 299) {
			char msg[640];
			snprintf(msg, sizeof msg, "HTTP %d %.500s", a.status, a.text);
			op_error("%s: %s", what, msg);
			return -1;
		}
		if (O.mode == M_GET && a.body_len != O.size) {
			char msg[96];
			snprintf(msg, sizeof msg, "%llu bytes, expected %zu",
				 (unsigned long long)a.body_len, O.size);
			op_error("%s: %s", what, msg);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* ---- the disk ceiling ---- */

/* One object written as store.c writes it.  0, or -1 (counted). */
static int disk_op(unsigned obj, unsigned tid, unsigned long i)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof path, "%s/obj-%06u.bin", O.target, obj);
	snprintf(tmp, sizeof tmp, "%s/.tmp-obj-%06u.bin.%u.%lu", O.target, obj, tid, i);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	for (size_t off = 0; off < O.size;) {
		size_t n = O.size - off < WRITE_CHUNK ? O.size - off : WRITE_CHUNK;
		ssize_t w = write(fd, body + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			goto fail_tmp;
		}
		off += (size_t)w;
	}
	if (fsync(fd)) {
		close(fd);
		goto fail_tmp;
	}
	close(fd);
	if (rename(tmp, path))
		goto fail_tmp;
	int dfd = open(O.target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	int rc = fsync(dfd);
	close(dfd);
	if (rc)
		goto fail;
	return 0;
fail_tmp:
	unlink(tmp);
fail:
	op_error("disk: '%s': %s", path, strerror(errno));
	return -1;
}

/* ---- workers ---- */

static void *worker(void *arg)
{
	unsigned tid = (unsigned)(uintptr_t)arg;
	struct conn c = { .fd = -1 };
	struct buf authz = BUF_INIT(0);
	if (O.mode != M_DISK) {
		c.rbuf = xmalloc(RBUF);
		if (conn_open(&c))
			fprintf(stderr, "s3_load: connect %s: %s\n", O.target, strerror(errno));
	}
	pthread_barrier_wait(&start_line);
	for (;;) {
		if (now_s() - t_start >= O.seconds)
			break;
		unsigned long i = atomic_fetch_add(&next_op, 1);
		if (i >= O.max_ops)
			break;
		unsigned obj = (unsigned)(i % O.objects);
		double secs = 0;
		int rc;
		if (O.mode == M_DISK) {
			double t0 = now_s();
			rc = disk_op(obj, tid, i);
			secs = now_s() - t0;
		} else {
			rc = http_op(&c, obj, &authz, &secs);
		}
		lat[i] = rc ? -1 : secs;
		if (rc == -2)
			break;
	}
	conn_close(&c);
	free(c.rbuf);
	buf_release(&authz);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank of the sorted v[0..n). */
static double rank(const double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(q * (double)n + 0.999999);
	return v[i == 0 ? 0 : i > n ? n - 1 : i - 1];
}

static unsigned long num_arg(const char *s, const char *name, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "s3_load: %s '%s': expected a whole number in [%lu, %lu]\n", name, s,
			lo, hi);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv)
{
	if (argc < 3)
		usage();
	O.threads = 8;
	O.objects = 1000;
	O.size = 4096;
	O.seconds = 10;
	O.max_ops = 100000;
	O.sign = S_UNSIGNED;
	if (!strcmp(argv[1], "get"))
		O.mode = M_GET;
	else if (!strcmp(argv[1], "put"))
		O.mode = M_PUT;
	else if (!strcmp(argv[1], "disk"))
		O.mode = M_DISK;
	else
		usage();
	O.target = argv[2];
	int i = 3;
	if (O.mode != M_DISK) {
		if (argc < 4)
			usage();
		O.prefix = argv[3];
		i = 4;
	}
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--copy")) {
			O.copy = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--threads"))
			O.threads = (unsigned)num_arg(v, a, 1, MAX_THREADS);
		else if (!strcmp(a, "--objects"))
			O.objects = (unsigned)num_arg(v, a, 1, 999999);
		else if (!strcmp(a, "--size"))
			O.size = num_arg(v, a, 0, 1ul << 30);
		else if (!strcmp(a, "--seconds"))
			O.seconds = (double)num_arg(v, a, 1, 3600);
		else if (!strcmp(a, "--max-ops"))
			O.max_ops = num_arg(v, a, 1, MAX_OPS_CAP);
		else if (!strcmp(a, "--sign") && !strcmp(v, "unsigned"))
			O.sign = S_UNSIGNED;
		else if (!strcmp(a, "--sign") && !strcmp(v, "signed"))
			O.sign = S_SIGNED;
		else if (!strcmp(a, "--sign") && !strcmp(v, "none"))
			O.sign = S_NONE;
		else
			usage();
	}
	if (O.mode == M_DISK)
		return;
	/* ADDR: an IPv4 address and a port; the benchmark only ever uses 127.0.0.1 */
	const char *colon = strrchr(O.target, ':');
	char ip[48];
	if (!colon || (size_t)(colon - O.target) >= sizeof ip)
		die("ADDR: expected IP:PORT");
	memcpy(ip, O.target, (size_t)(colon - O.target));
	ip[colon - O.target] = '\0';
	O.sa.sin_family = AF_INET;
	O.sa.sin_port = htons((uint16_t)num_arg(colon + 1, "port", 1, 65535));
	if (inet_pton(AF_INET, ip, &O.sa.sin_addr) != 1)
		die("ADDR: expected an IPv4 address");
	snprintf(O.host, sizeof O.host, "%s", O.target);
	if (O.sign != S_NONE) {
		O.key = getenv("AWS_ACCESS_KEY_ID");
		O.secret = getenv("AWS_SECRET_ACCESS_KEY");
		O.region = getenv("AWS_DEFAULT_REGION");
		if (!O.region || !*O.region)
			O.region = "us-east-1";
		if (!O.key || !*O.key || !O.secret)
			die("signing needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			    "(or --sign none)");
	}
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	body = xmalloc(O.size ? O.size : 1);
	for (size_t i = 0; i < O.size; i++)  /* not all zero: no file system shortcut */
		body[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	if (O.mode == M_PUT && O.sign == S_SIGNED) {
		uint8_t d[SHA256_LEN];
		crypto_sha256(body, O.size, d);
		hex_encode(d, sizeof d, body_sha);
	}
	lat = xmalloc(O.max_ops * sizeof *lat);
	for (unsigned long i = 0; i < O.max_ops; i++)
		lat[i] = -2;  /* not run */
	pthread_t th[MAX_THREADS];
	pthread_barrier_init(&start_line, NULL, O.threads + 1);
	for (unsigned t = 0; t < O.threads; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t))
			die("cannot start a thread");
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	t_start = now_s();
	pthread_barrier_wait(&start_line);
	for (unsigned t = 0; t < O.threads; t++)
		pthread_join(th[t], NULL);
	double elapsed = now_s() - t_start;
	getrusage(RUSAGE_SELF, &r1);
	double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
		     (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
		     (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		     (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
	/* the successful operations' latencies, packed to the front */
	size_t ok = 0;
	for (unsigned long i = 0; i < O.max_ops; i++)
		if (lat[i] >= 0)
			lat[ok++] = lat[i];
	qsort(lat, ok, sizeof *lat, cmp_double);
	static const char *const modes[] = { "get", "put", "disk" };
	static const char *const signs[] = { "unsigned", "signed", "none" };
	printf("mode=%s sign=%s size=%zu threads=%u objects=%u ops=%zu errors=%lu seconds=%.2f "
	       "ops_s=%.1f mb_s=%.2f p50_ms=%.3f p99_ms=%.3f connects=%lu client_cpu_s=%.2f\n",
	       modes[O.mode], O.mode == M_DISK ? "none" : signs[O.sign], O.size, O.threads,
	       O.objects, ok, atomic_load(&n_errors), elapsed, (double)ok / elapsed,
	       (double)ok * (double)O.size / elapsed / 1e6, rank(lat, ok, 0.50) * 1e3,
	       rank(lat, ok, 0.99) * 1e3, O.mode == M_DISK ? 0ul : atomic_load(&n_connects), cpu);
	free(lat);
	free(body);
	return atomic_load(&n_errors) ? 1 : 0;
}

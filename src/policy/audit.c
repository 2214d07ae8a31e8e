/*
 * audit.c - the hash-chained audit trail (audit.h).
 *
 * Files are found by walking the three date levels under the audit folder
 * in name order (YYYY, MM, DD sort as dates).  At open the last line of
 * the last file gives the chain's head (its SHA-256) and the next seq.
 *
 * The journal.  An append builds the line, hashes it for the next one and
 * copies it, framed (struct rec: seq, day, CRC-32C), into a file mapped
 * MAP_SHARED: no system call, and the kernel holds the bytes from the copy
 * on, so a killed process loses nothing it appended.  The journal has two
 * halves; appenders fill the active one while the writer thread appends
 * the other's lines to the day files with writev and then frees it.  The
 * writer drains as soon as lines arrive, then rests 1 ms when it found
 * more than one, so under load one writev carries a millisecond of lines.
 * At open, records the day files lack (seq from the next due on, each
 * carrying the hash of the one before) are appended from the journal, and
 * a torn last line is cut when the journal holds it whole; after a clean
 * close the journal is empty.
 *
 * Invariants: a->mu guards the head, seq, the halves' fill, active,
 * written and the flags; the open day file (fd, day) is the writer's alone
 * once it runs (audit_open's recovery uses it before).
 */
#include "policy/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/banned.h"

/* Longest line read back (verify, open); an event is far smaller. */
#define AUDIT_MAX_LINE (1u << 20)
/* The SQL of a query event is cut to this (the full text is in the query history). */
#define AUDIT_MAX_FIELD (16u << 10)

/* The journal: two halves of JOURNAL_HALF bytes, records at 8-byte offsets. */
#define JOURNAL_HALF (4u << 20)
#define JOURNAL_SIZE (2 * (size_t)JOURNAL_HALF)
#define REC_MAGIC 0x314a4154u /* "TAJ1" */
/* How long an append waits for a free half before the line is lost (counted). */
#define SPACE_WAIT_MS 1000
/* How long audit_flush waits for the writer. */
#define FLUSH_WAIT_MS 1000

struct rec {
	uint32_t magic;
	uint32_t len;  /* the line's bytes, its newline included; they follow */
	uint64_t seq;
	uint32_t day;  /* YYYYMMDD of the day file */
	uint32_t crc;  /* CRC-32C of the members above and the line */
};

struct audit {
	pthread_mutex_t mu;
	pthread_cond_t wake;            /* the writer waits for lines */
	pthread_cond_t space;           /* appenders and flushes wait for the writer */
	char *dir;
	char head[2 * SHA256_LEN + 1];  /* SHA-256 hex of the last line */
	uint64_t seq;                   /* of the next line */
	uint64_t written;               /* lines below this seq are in the day files */
	int fd;                         /* the open day file */
	uint32_t day;                   /* YYYYMMDD of fd */
	uint64_t failures;
	char *jpath;
	int jfd;
	char *map;                      /* the journal, JOURNAL_SIZE bytes */
	unsigned active;                /* the half appenders fill */
	size_t used[2];                 /* bytes of records in each half */
	unsigned lines[2];              /* records in each half */
	bool writer_idle, stop, hold, kept, running;
	pthread_t writer;
};

static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir that are all digits (dates), or files named audit.jsonl. */
static char **list_dir(const char *dir, bool files, size_t *n)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		bool ok = files ? !strcmp(e->d_name, "audit.jsonl")
				: e->d_name[0] && strspn(e->d_name, "0123456789") == strlen(e->d_name);
		if (!ok)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_names);
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Every audit file under dir, in date order (caller frees with free_list). */
static char **audit_files(const char *dir, size_t *count)
{
	char **out = NULL;
	size_t ny, nm, nd, nf;
	*count = 0;
	char **ys = list_dir(dir, false, &ny);
	for (size_t y = 0; y < ny; y++) {
		char ydir[PATH_MAX];
		snprintf(ydir, sizeof ydir, "%s/%s", dir, ys[y]);
		char **ms = list_dir(ydir, false, &nm);
		for (size_t m = 0; m < nm; m++) {
			char mdir[PATH_MAX];
			snprintf(mdir, sizeof mdir, "%s/%s", ydir, ms[m]);
			char **ds = list_dir(mdir, false, &nd);
			for (size_t d = 0; d < nd; d++) {
				char ddir[PATH_MAX];
				snprintf(ddir, sizeof ddir, "%s/%s", mdir, ds[d]);
				char **fs = list_dir(ddir, true, &nf);
				for (size_t f = 0; f < nf; f++) {
					out = xrealloc(out, (*count + 1) * sizeof *out);
					out[(*count)++] = xasprintf("%s/%s", ddir, fs[f]);
				}
				free_list(fs, nf);
			}
			free_list(ds, nd);
		}
		free_list(ms, nm);
	}
	free_list(ys, ny);
	return out;
}

static void sha_hex(const char *p, size_t n, char out[2 * SHA256_LEN + 1])
{
	uint8_t h[SHA256_LEN];
	crypto_sha256(p, n, h);
	hex_encode(h, sizeof h, out);
}

int audit_verify(const char *dir, uint64_t *lines, char *err)
{
	size_t nfiles;
	char **files = audit_files(dir, &nfiles);
	char prev[2 * SHA256_LEN + 1];
	int rc = 0;
	*lines = 0;
	snprintf(prev, sizeof prev, "%s", zero_hash);
	for (size_t f = 0; f < nfiles && rc == 0; f++) {
		struct buf b = BUF_INIT(0);
		const char *rel = files[f] + strlen(dir) + 1;
		if ((rc = os_read_file(files[f], (size_t)1 << 34, &b, err)))
			break;
		size_t off = 0, lineno = 0;
		while (off < b.len && rc == 0) {
			const char *nl = memchr(b.data + off, '\n', b.len - off);
			lineno++;
			if (!nl) {
				rc = tn_fail(err, TN_ECORRUPT, "%s line %zu: torn (no end of line)", rel,
					     lineno);
				break;
			}
			size_t len = (size_t)(nl - (b.data + off));
			json_t *o = json_loadb(b.data + off, len, 0, NULL);
			const char *p = json_string_value(json_object_get(o, "prev"));
			if (!o)
				rc = tn_fail(err, TN_ECORRUPT, "%s line %zu: not JSON", rel, lineno);
			else if (!p || strcmp(p, prev))
				rc = lineno > 1
					? tn_fail(err, TN_ECORRUPT, "%s line %zu: changed, or lines were "
						  "inserted or removed after it (line %zu does not carry "
						  "its hash)", rel, lineno - 1, lineno)
					: tn_fail(err, TN_ECORRUPT, "%s line 1: does not continue the "
						  "chain of the file before it (changed, or lines "
						  "inserted or removed)", rel);
			else if (json_integer_value(json_object_get(o, "seq")) != (json_int_t)*lines)
				rc = tn_fail(err, TN_ECORRUPT, "%s line %zu: seq %lld where %llu was due",
					     rel, lineno,
					     (long long)json_integer_value(json_object_get(o, "seq")),
					     (unsigned long long)*lines);
			json_decref(o);
			if (rc == 0) {
				sha_hex(b.data + off, len, prev);
				(*lines)++;
			}
			off += len + 1;
		}
		buf_release(&b);
	}
	free_list(files, nfiles);
	return rc;
}

/* Opens the day file of day (YYYYMMDD); the one open before is fsynced. */
static int day_file(struct audit *a, uint32_t day, char *err)
{
	char folder[PATH_MAX], path[PATH_MAX + 16];
	if (a->fd >= 0 && day == a->day)
		return 0;
	if (a->fd >= 0) {
		os_fsync(a->fd, "audit", err);
		os_close(a->fd);
		a->fd = -1;
	}
	snprintf(folder, sizeof folder, "%s/%04u/%02u/%02u", a->dir, day / 10000, day / 100 % 100,
		 day % 100);
	int rc = os_mkdir_p(folder, 0750, err);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/audit.jsonl", folder);
	int fd = os_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, err);
	if (fd < 0)
		return fd;
	a->fd = fd;
	a->day = day;
	return 0;
}

/* ---- the journal ---- */

static size_t rec_size(size_t len)
{
	return (sizeof(struct rec) + len + 7) & ~(size_t)7;
}

static uint32_t rec_crc(const struct rec *r)
{
	return crc32c(crc32c(0, r, offsetof(struct rec, crc)), r + 1, r->len);
}

/* The whole record at off of a half holding n bytes, or NULL. */
static const struct rec *rec_at(const char *half, size_t off, size_t n)
{
	if (off > n || n - off < sizeof(struct rec))
		return NULL;
	const struct rec *r = (const struct rec *)(const void *)(half + off);
	if (r->magic != REC_MAGIC || r->len == 0 || r->len > n - off - sizeof *r ||
	    rec_crc(r) != r->crc)
		return NULL;
	return r;
}

/*
 * Appends the lines of the records in [p + *done, p + n) to the day files
 * in order, a writev per run of one day; *done moves past each run
 * written.  A run that fails is cut back off its file, so a retry from
 * *done writes no line twice.
 */
static int write_records(struct audit *a, const char *p, size_t n, size_t *done, char *err)
{
	struct iovec iov[256];
	while (*done < n) {
		const struct rec *r = (const struct rec *)(const void *)(p + *done);
		uint32_t day = r->day;
		int rc = day_file(a, day, err);
		if (rc)
			return rc;
		int cnt = 0;
		size_t off = *done, bytes = 0;
		while (off < n && cnt < (int)(sizeof iov / sizeof *iov)) {
			r = (const struct rec *)(const void *)(p + off);
			if (r->day != day)
				break;
			iov[cnt].iov_base = (void *)(r + 1);
			iov[cnt++].iov_len = r->len;
			bytes += r->len;
			off += rec_size(r->len);
		}
		struct stat st;
		if (fstat(a->fd, &st) != 0)
			return tn_fail(err, TN_EIO, "audit: stat: %s", strerror(errno));
		int i = 0;
		size_t left = bytes;
		while (left > 0) {
			ssize_t w = writev(a->fd, iov + i, cnt - i);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				int e = w < 0 ? errno : ENOSPC;
				if (ftruncate(a->fd, st.st_size) != 0)
					log_warn("audit", "cannot cut a torn write: %s", strerror(errno));
				return tn_fail(err, e == ENOSPC ? TN_ENOSPC : TN_EIO,
					       "audit: write: %s", strerror(e));
			}
			left -= (size_t)w;
			while (w > 0 && (size_t)w >= iov[i].iov_len)
				w -= (ssize_t)iov[i++].iov_len;
			if (w > 0) {
				iov[i].iov_base = (char *)iov[i].iov_base + w;
				iov[i].iov_len -= (size_t)w;
			}
		}
		*done = off;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/*
 * The writer: takes the active half (appenders go on in the other), writes
 * its lines to the day files, frees it.  A failed write is retried every
 * 100 ms; lines that cannot be written by close stay in the journal, for
 * the next open.
 */
static void *writer_main(void *arg)
{
	struct audit *a = arg;
	char err[TN_ERRLEN];
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while ((!a->used[a->active] || a->hold) && !a->stop) {
			a->writer_idle = true;
			pthread_cond_wait(&a->wake, &a->mu);
		}
		a->writer_idle = false;
		if (!a->used[a->active] || a->hold)
			break; /* stopping */
		unsigned h = a->active, lines = a->lines[h];
		size_t n = a->used[h], done = 0;
		uint64_t upto = a->seq;
		a->active ^= 1;
		pthread_cond_broadcast(&a->space);
		pthread_mutex_unlock(&a->mu);
		const char *p = a->map + (size_t)h * JOURNAL_HALF;
		bool warned = false, stop = false;
		int rc;
		while ((rc = write_records(a, p, n, &done, err)) != 0) {
			if (!warned)
				log_warn("audit", "%s; retrying every 100 ms (lines stay in the "
					 "journal)", err);
			warned = true;
			pthread_mutex_lock(&a->mu);
			stop = a->stop;
			pthread_mutex_unlock(&a->mu);
			if (stop)
				break;
			sleep_ms(100);
		}
		pthread_mutex_lock(&a->mu);
		if (rc) {
			a->kept = true; /* closing: the rest waits in the journal */
			break;
		}
		a->used[h] = 0;
		a->lines[h] = 0;
		a->written = upto;
		pthread_cond_broadcast(&a->space);
		if (lines > 1 && !a->stop && !a->hold) {
			/* more than a line: under load, let a millisecond gather */
			pthread_mutex_unlock(&a->mu);
			sleep_ms(1);
			pthread_mutex_lock(&a->mu);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static int cmp_rec(const void *x, const void *y)
{
	uint64_t a = (*(const struct rec *const *)x)->seq, b = (*(const struct rec *const *)y)->seq;
	return a < b ? -1 : a > b;
}

/*
 * The journal's whole records from seq a->seq on, in seq order, into
 * *out (pointing into j); *n of them.
 */
static void journal_records(const char *j, size_t jlen, struct audit *a, const struct rec ***out,
			    size_t *n)
{
	*out = NULL;
	*n = 0;
	for (size_t h = 0; h < 2 && h * JOURNAL_HALF < jlen; h++) {
		const char *half = j + h * JOURNAL_HALF;
		size_t hl = jlen - h * JOURNAL_HALF < JOURNAL_HALF ? jlen - h * JOURNAL_HALF
								    : JOURNAL_HALF;
		const struct rec *r;
		for (size_t off = 0; (r = rec_at(half, off, hl)); off += rec_size(r->len)) {
			if (r->seq < a->seq)
				continue;
			*out = xrealloc(*out, (*n + 1) * sizeof **out);
			(*out)[(*n)++] = r;
		}
	}
	if (*n > 1)
		qsort(*out, *n, sizeof **out, cmp_rec);
}

/* True if the record's line continues the chain at a's head. */
static bool continues(const struct audit *a, const struct rec *r)
{
	char want[2 * SHA256_LEN + 16];
	int k = snprintf(want, sizeof want, ",\"prev\":\"%s\"}\n", a->head);
	const char *line = (const char *)(r + 1);
	return r->len >= (size_t)k && !memcmp(line + r->len - (size_t)k, want, (size_t)k);
}

/*
 * Appends to the day files the lines the journal at jpath holds past the
 * chain's head, then maps the journal afresh (empty).  torn: the bytes of
 * a torn last line in file last (0 if none); they are cut when the journal
 * holds that line whole, else the trail is refused.
 */
static int journal_open(struct audit *a, const char *last, size_t torn, char *err)
{
	struct buf j = BUF_INIT(0);
	int rc = 0;
	if (os_exists(a->jpath))
		rc = os_read_file(a->jpath, JOURNAL_SIZE, &j, err);
	const struct rec **recs = NULL;
	size_t n = 0, i = 0;
	if (rc == 0)
		journal_records(j.data, j.len, a, &recs, &n);
	if (rc == 0 && torn) {
		if (!n || recs[0]->seq != a->seq || !continues(a, recs[0])) {
			rc = tn_fail(err, TN_ECORRUPT, "audit file '%s' ends with a torn line: "
				     "run `tarn audit verify`", last);
		} else {
			struct stat st;
			if (stat(last, &st) != 0 || truncate(last, st.st_size - (off_t)torn) != 0)
				rc = tn_fail(err, TN_EIO, "cannot cut the torn line of '%s': %s",
					     last, strerror(errno));
			else
				log_warn("audit", "'%s': cut a torn last line of %zu bytes (the "
					 "journal holds it)", last, torn);
		}
	}
	for (; rc == 0 && i < n && recs[i]->seq == a->seq && continues(a, recs[i]); i++) {
		const struct rec *r = recs[i];
		if ((rc = day_file(a, r->day, err)) ||
		    (rc = os_write_all(a->fd, r + 1, r->len, "audit", err)))
			break;
		sha_hex((const char *)(r + 1), r->len - 1, a->head);
		a->seq++;
	}
	if (rc == 0 && i > 0) {
		log_info("audit", "%zu line(s) appended from the journal", i);
		rc = os_fsync(a->fd, "audit", err); /* before the journal forgets them */
	}
	if (rc == 0 && i < n)
		log_warn("audit", "the journal holds %zu record(s) past seq %" PRIu64
			 " that do not continue the chain: left out", n - i, a->seq);
	free(recs);
	buf_release(&j);
	if (rc)
		return rc;
	a->jfd = os_open(a->jpath, O_RDWR | O_CREAT, 0600, err);
	if (a->jfd < 0)
		return a->jfd;
	if (ftruncate(a->jfd, 0) != 0 || ftruncate(a->jfd, (off_t)JOURNAL_SIZE) != 0)
		return tn_fail(err, errno == ENOSPC ? TN_ENOSPC : TN_EIO, "audit journal '%s': %s",
			       a->jpath, strerror(errno));
	void *m = mmap(NULL, JOURNAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a->jfd, 0);
	if (m == MAP_FAILED)
		return tn_fail(err, TN_EIO, "audit journal '%s': mmap: %s", a->jpath,
			       strerror(errno));
	madvise(m, JOURNAL_SIZE, MADV_DONTFORK);
	a->map = m;
	a->written = a->seq;
	return 0;
}

int audit_open(const char *dir, const char *journal, struct audit **out, char *err)
{
	struct audit *a = xcalloc(1, sizeof *a);
	int rc;
	a->fd = a->jfd = -1;
	a->dir = xstrdup(dir);
	a->jpath = xstrdup(journal);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->space, NULL);
	snprintf(a->head, sizeof a->head, "%s", zero_hash);
	if ((rc = os_mkdir_p(dir, 0750, err)))
		goto fail;
	size_t nfiles, torn = 0;
	char **files = audit_files(dir, &nfiles);
	/*
	 * The chain's head: the last whole line, in the last file that has
	 * one (a kill during the first write of a day leaves that day's file
	 * with a torn line only).  Only the last file may end torn.
	 */
	bool found = false;
	for (size_t f = nfiles; f > 0 && rc == 0 && !found; f--) {
		struct buf b = BUF_INIT(0);
		rc = os_read_file(files[f - 1], (size_t)1 << 34, &b, err);
		size_t end = b.len;
		while (end > 0 && b.data[end - 1] != '\n')
			end--;
		if (rc == 0 && f == nfiles)
			torn = b.len - end;
		else if (rc == 0 && end < b.len)
			rc = tn_fail(err, TN_ECORRUPT, "audit file '%s' ends with a torn line: "
				     "run `tarn audit verify`", files[f - 1]);
		if (rc == 0 && end) {
			size_t start = end - 1;
			while (start > 0 && b.data[start - 1] != '\n')
				start--;
			json_t *o = json_loadb(b.data + start, end - 1 - start, 0, NULL);
			json_t *seq = json_object_get(o, "seq");
			if (!json_is_integer(seq))
				rc = tn_fail(err, TN_ECORRUPT, "audit file '%s': its last line has "
					     "no seq", files[f - 1]);
			else
				a->seq = (uint64_t)json_integer_value(seq) + 1;
			json_decref(o);
			sha_hex(b.data + start, end - 1 - start, a->head);
			found = true;
		}
		buf_release(&b);
	}
	if (rc == 0)
		rc = journal_open(a, nfiles ? files[nfiles - 1] : "", torn, err);
	free_list(files, nfiles);
	if (rc)
		goto fail;
	if (pthread_create(&a->writer, NULL, writer_main, a) != 0) {
		rc = tn_fail(err, TN_EINTERNAL, "cannot start the audit writer");
		goto fail;
	}
	a->running = true;
	*out = a;
	return 0;
fail:
	audit_close(a);
	return rc;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	char err[TN_ERRLEN];
	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		a->hold = false;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->writer, NULL);
	}
	bool clean = a->fd < 0 || os_fsync(a->fd, "audit", err) == 0;
	if (!clean)
		log_warn("audit", "%s", err);
	if (a->fd >= 0)
		os_close(a->fd);
	if (a->map)
		munmap(a->map, JOURNAL_SIZE);
	if (a->jfd >= 0) {
		/* every line is in a day file, fsynced: the journal has nothing more */
		if (clean && !a->kept && a->map && ftruncate(a->jfd, 0) != 0)
			log_warn("audit", "cannot empty the journal: %s", strerror(errno));
		os_close(a->jfd);
	}
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->space);
	pthread_mutex_destroy(&a->mu);
	free(a->jpath);
	free(a->dir);
	free(a);
}

uint64_t audit_failures(struct audit *a)
{
	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->failures;
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* The absolute CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

int audit_flush(struct audit *a, char *err)
{
	if (!a)
		return 0;
	int rc = 0;
	struct timespec until = deadline_in(FLUSH_WAIT_MS);
	pthread_mutex_lock(&a->mu);
	uint64_t want = a->seq;
	while (a->written < want && rc == 0) {
		if (a->writer_idle) {
			a->writer_idle = false;
			pthread_cond_signal(&a->wake);
		}
		if (pthread_cond_timedwait(&a->space, &a->mu, &until) == ETIMEDOUT &&
		    a->written < want)
			rc = tn_fail(err, TN_ETIMEDOUT, "audit: %" PRIu64 " line(s) not yet written "
				     "after %d ms", want - a->written, FLUSH_WAIT_MS);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void audit_hold(struct audit *a, bool hold)
{
	pthread_mutex_lock(&a->mu);
	a->hold = hold;
	if (!hold && a->writer_idle) {
		a->writer_idle = false;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->mu);
}

/* True if the n bytes at s are UTF-8 (what jansson demands of a string). */
static bool utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	while (p < e) {
		unsigned c = *p, len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
						       : (c >> 3) == 30 ? 4 : 0;
		if (!len || (size_t)(e - p) < len)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7f >> len);
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

/* "key":value, after a comma; a string value is cut to max bytes (at a character). */
static void put_member(struct buf *b, const char *key, json_t *v, size_t max)
{
	char num[32];
	buf_putc(b, ',');
	buf_json_str(b, key, strlen(key));
	buf_putc(b, ':');
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *p = json_string_value(v);
		size_t n = json_string_length(v);
		if (n > max) {
			n = max;
			while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
				n--; /* not in the middle of a character */
		}
		buf_json_str(b, p, n);
		break;
	}
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		buf_puts(b, num);
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	case JSON_NULL:
		buf_puts(b, "null");
		break;
	default: {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_puts(b, t ? t : "null");
		free(t);
	}
	}
}

/*
 * The line is rendered straight into a buffer (no second JSON tree): the
 * members ts, event, principal, the fields in their order, then seq and
 * prev, which are only known under a->mu.  Durability: the line is in the
 * journal's shared mapping before audit_log returns, so before the access
 * it records is answered; the kernel holds it from then on (a crash of
 * tarn loses nothing appended; the next open writes it to its day file).
 * Day files are fsynced when the day changes and at close, not per line.
 */
void audit_log(struct audit *a, const char *event, const char *principal, json_t *fields)
{
	if (!a) {
		json_decref(fields);
		return;
	}
	int64_t now = time_now_ms();
	struct utc u;
	char ts[40], err[TN_ERRLEN], tail[2 * SHA256_LEN + 48];
	time_utc(now, &u);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.year, u.month, u.day, u.hour,
		 u.min, u.sec, u.ms);
	struct buf line = BUF_INIT(0);
	buf_printf(&line, "{\"ts\":\"%s\"", ts);
	if (!event)
		event = "";
	if (utf8_ok(event, strlen(event))) {
		buf_puts(&line, ",\"event\":");
		buf_json_str(&line, event, strlen(event));
	}
	if (!principal)
		principal = "";
	if (utf8_ok(principal, strlen(principal))) {
		buf_puts(&line, ",\"principal\":");
		buf_json_str(&line, principal, strlen(principal));
	}
	if (json_is_object(fields)) {
		const char *k;
		json_t *v;
		json_object_foreach(fields, k, v) {
			if (strcmp(k, "ts") && strcmp(k, "event") && strcmp(k, "principal") &&
			    strcmp(k, "seq") && strcmp(k, "prev"))
				put_member(&line, k, v, AUDIT_MAX_FIELD);
		}
	}
	json_decref(fields);
	uint32_t day = (uint32_t)(u.year * 10000 + u.month * 100 + u.day);
	size_t need = rec_size(line.len + sizeof tail);
	int rc = 0;
	bool waited = false;
	struct timespec until;
	if (need > JOURNAL_HALF)
		rc = tn_fail(err, TN_ETOOBIG, "an event of %zu bytes, over %u", line.len,
			     JOURNAL_HALF / 2);
	pthread_mutex_lock(&a->mu);
	while (rc == 0 && a->used[a->active] + need > JOURNAL_HALF) {
		/* the writer is behind by a whole half: wait a while, then give up */
		if (a->writer_idle) {
			a->writer_idle = false;
			pthread_cond_signal(&a->wake);
		}
		if (!waited)
			until = deadline_in(SPACE_WAIT_MS);
		waited = true;
		if (pthread_cond_timedwait(&a->space, &a->mu, &until) == ETIMEDOUT &&
		    a->used[a->active] + need > JOURNAL_HALF)
			rc = tn_fail(err, TN_EAGAIN, "the audit writer is %u MiB behind",
				     JOURNAL_HALF >> 20);
	}
	if (rc == 0) {
		int n = snprintf(tail, sizeof tail, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"}\n",
				 a->seq, a->head);
		struct rec *r = (struct rec *)(void *)(a->map + (size_t)a->active * JOURNAL_HALF +
						      a->used[a->active]);
		char *dst = (char *)(r + 1);
		memcpy(dst, line.data, line.len);
		memcpy(dst + line.len, tail, (size_t)n);
		r->magic = REC_MAGIC;
		r->len = (uint32_t)(line.len + (size_t)n);
		r->seq = a->seq;
		r->day = day;
		r->crc = rec_crc(r);
		sha_hex(dst, r->len - 1, a->head);
		a->seq++;
		a->used[a->active] += rec_size(r->len);
		a->lines[a->active]++;
		if (a->writer_idle && !a->hold) {
			a->writer_idle = false;
			pthread_cond_signal(&a->wake);
		}
	} else {
		a->failures++;
	}
	pthread_mutex_unlock(&a->mu);
	if (rc)
		log_warn("audit", "event '%s' of '%s' not recorded: %s", event, principal, err);
	buf_release(&line);
}

int audit_tail(const char *dir, size_t n, struct buf *out, char *err)
{
	size_t nfiles;
	char **files = audit_files(dir, &nfiles);
	/* files from the newest back, read once each, until they hold n lines */
	struct buf *read = xcalloc(nfiles ? nfiles : 1, sizeof *read);
	size_t lines = 0, first = nfiles;
	int rc = 0;
	while (first > 0 && lines < n && rc == 0) {
		first--;
		buf_init(&read[first], 0);
		rc = os_read_file(files[first], (size_t)1 << 34, &read[first], err);
		for (size_t i = 0; i < read[first].len; i++)
			lines += read[first].data[i] == '\n';
	}
	size_t skip = lines > n ? lines - n : 0;
	for (size_t f = first; f < nfiles; f++) {
		const struct buf *b = &read[f];
		size_t off = 0;
		while (rc == 0 && off < b->len) {
			const char *nl = memchr(b->data + off, '\n', b->len - off);
			size_t len = nl ? (size_t)(nl - (b->data + off)) + 1 : b->len - off;
			if (skip)
				skip--;
			else
				buf_append(out, b->data + off, len);
			off += len;
		}
		buf_release(&read[f]);
	}
	free(read);
	free_list(files, nfiles);
	return rc;
}

/*
 * audit.c - the hash-chained audit trail (audit.h).
 *
 * Files are found by walking the three date levels under the audit folder
 * in name order (YYYY, MM, DD sort as dates).  At open the last line of
 * the last file gives the chain's head (its SHA-256) and the next seq.
 * Each append builds the line, hashes it for the next one, and writes it
 * with one write(2) on an O_APPEND descriptor, so a crash leaves at most a
 * torn last line, which verify reports and open refuses to chain from.
 *
 * Invariants: a->mu guards the head, seq, the open file and its date.
 */
#include "policy/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
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

struct audit {
	pthread_mutex_t mu;
	char *dir;
	char head[2 * SHA256_LEN + 1];  /* SHA-256 hex of the last line */
	uint64_t seq;                   /* of the next line */
	int fd;
	char day[16];                   /* "YYYY/MM/DD" of fd */
	uint64_t failures;
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

int audit_open(const char *dir, struct audit **out, char *err)
{
	struct audit *a = xcalloc(1, sizeof *a);
	int rc;
	a->fd = -1;
	a->dir = xstrdup(dir);
	pthread_mutex_init(&a->mu, NULL);
	snprintf(a->head, sizeof a->head, "%s", zero_hash);
	if ((rc = os_mkdir_p(dir, 0750, err)))
		goto fail;
	size_t nfiles;
	char **files = audit_files(dir, &nfiles);
	if (nfiles) {
		/* the chain's head: the last line of the last file */
		struct buf b = BUF_INIT(0);
		rc = os_read_file(files[nfiles - 1], (size_t)1 << 34, &b, err);
		if (rc == 0 && b.len) {
			size_t end = b.len;
			if (b.data[end - 1] != '\n') {
				rc = tn_fail(err, TN_ECORRUPT, "audit file '%s' ends with a torn line: "
					     "run `tarn audit verify`", files[nfiles - 1]);
			} else {
				size_t start = end - 1;
				while (start > 0 && b.data[start - 1] != '\n')
					start--;
				json_t *o = json_loadb(b.data + start, end - 1 - start, 0, NULL);
				json_t *seq = json_object_get(o, "seq");
				if (!json_is_integer(seq))
					rc = tn_fail(err, TN_ECORRUPT, "audit file '%s': its last line has "
						     "no seq", files[nfiles - 1]);
				else
					a->seq = (uint64_t)json_integer_value(seq) + 1;
				json_decref(o);
				sha_hex(b.data + start, end - 1 - start, a->head);
			}
		}
		buf_release(&b);
	}
	free_list(files, nfiles);
	if (rc)
		goto fail;
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
	if (a->fd >= 0) {
		char err[TN_ERRLEN];
		if (os_fsync(a->fd, "audit", err))
			log_warn("audit", "%s", err);
		os_close(a->fd);
	}
	pthread_mutex_destroy(&a->mu);
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

/* Opens the file of the day of now (a->mu held). */
static int day_file(struct audit *a, const struct utc *u, char *err)
{
	char day[16], path[PATH_MAX], folder[PATH_MAX];
	snprintf(day, sizeof day, "%04d/%02d/%02d", u->year, u->month, u->day);
	if (a->fd >= 0 && !strcmp(day, a->day))
		return 0;
	if (a->fd >= 0) {
		os_fsync(a->fd, "audit", err);
		os_close(a->fd);
		a->fd = -1;
	}
	snprintf(folder, sizeof folder, "%s/%s", a->dir, day);
	int rc = os_mkdir_p(folder, 0750, err);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/audit.jsonl", folder);
	int fd = os_open(path, O_WRONLY | O_CREAT | O_APPEND, 0640, err);
	if (fd < 0)
		return fd;
	a->fd = fd;
	snprintf(a->day, sizeof a->day, "%s", day);
	return 0;
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
 * prev, which are only known under a->mu.  Durability, unchanged: the line
 * is written with write(2) before audit_log returns, so before the access
 * it records is answered; the kernel holds it from then on (a crash of
 * tarn loses nothing written), and the file is fsynced when the day
 * changes and at close, not per line.
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
	pthread_mutex_lock(&a->mu);
	int n = snprintf(tail, sizeof tail, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"}\n", a->seq,
			 a->head);
	int rc = buf_append(&line, tail, (size_t)n);
	if (rc)
		rc = tn_fail(err, TN_EINTERNAL, "cannot render an event");
	else
		rc = day_file(a, &u, err);
	if (rc == 0) {
		rc = os_write_all(a->fd, line.data, line.len, "audit", err);
		if (rc == 0) {
			sha_hex(line.data, line.len - 1, a->head);
			a->seq++;
		}
	}
	if (rc)
		a->failures++;
	pthread_mutex_unlock(&a->mu);
	if (rc)
		log_warn("audit", "event '%s' of '%s' not written: %s", event, principal, err);
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

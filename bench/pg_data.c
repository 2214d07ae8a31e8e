/*
 * pg_data.c - `make bench-pg`: the sample events both servers stream, as
 * a CSV file (for PostgreSQL's COPY) and an NDJSON file (for tarn).
 *
 *   pg_data OUT.csv OUT.json ROWS SEED START DAYS
 *
 * Generates ROWS immunization events (src/cli/gen.c: the events of
 * `tarn gen immunizations --seed SEED` with administered_at in the DAYS
 * days from START) and writes six of their fields, in the same order, as
 * CSV with a header and as NDJSON (one object per line, the same keys):
 *
 *   event_id         the event's UUID
 *   administered_at  'YYYY-MM-DD HH:MM:SS' (UTC, no zone: a SQL TIMESTAMP)
 *   state            two letters, where the vaccine was given
 *   cvx_code         the vaccine's CVX code (digits, kept as text)
 *   vaccine_name     text, often with commas (quoted)
 *   dose_number      a small integer
 *
 * bench/pg.sh loads the NDJSON into tarn (drop zone, crawl, CREATE TABLE
 * AS with these types) and the CSV into PostgreSQL (COPY), so both serve
 * the same rows.  tarn gets JSON because its crawler reads a CSV column of
 * digits as a number, which would turn cvx_code '08' into 8; a JSON string
 * stays a string.  The fields are cut out of each generated JSON line by
 * key: the generator writes its keys in a fixed order, and the event's own
 * "state" is the one after "facility_id" (the address has one too).  A string
 * with an escape other than \" \\ \/ stops the program: the generator
 * writes none in these fields, and a wrong guess must not pass silently.
 * Each file is written under OUT.tmp and renamed when whole.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/gen.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define DAY_MS 86400000LL
#define OUT_BUF (1024 * 1024)   /* bytes buffered per file before a write */

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "pg_data: %s: %s\n", what, msg);
	exit(1);
}

static long num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0)
		die(what, "expected a non-negative number");
	return v;
}

/*
 * The value of "key": in line[from, n): *vp, *vn point at a string's
 * characters (between the quotes) or at a bare number.  Returns the
 * offset just past the value.
 */
static size_t field(const char *line, size_t n, size_t from, const char *key, const char **vp,
		    size_t *vn)
{
	char pat[64];
	int pn = snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = memmem(line + from, n - from, pat, (size_t)pn);
	if (!p)
		die("gen", key);
	p += pn;
	const char *end = line + n;
	if (p < end && *p == '"') {
		const char *q = ++p;
		while (q < end && *q != '"')
			q += *q == '\\' ? 2 : 1;
		if (q >= end)
			die("gen", "unterminated string");
		*vp = p;
		*vn = (size_t)(q - p);
		return (size_t)(q + 1 - line);
	}
	const char *q = p;
	while (q < end && *q != ',' && *q != '}')
		q++;
	*vp = p;
	*vn = (size_t)(q - p);
	return (size_t)(q - line);
}

/* Appends a JSON string's characters as one CSV field (quoted when needed). */
static void csv_text(struct buf *out, const char *s, size_t n)
{
	int quote = n == 0 || memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n);
	if (quote)
		buf_append(out, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\') {
			if (++i >= n)
				die("gen", "dangling escape");
			c = s[i];
			if (c != '"' && c != '\\' && c != '/')
				die("gen", "an escape this program does not decode");
		}
		if (c == '"')
			buf_append(out, "\"\"", 2);
		else
			buf_append(out, &c, 1);
	}
	if (quote)
		buf_append(out, "\"", 1);
}

struct out {
	const char *path;
	char *tmp;
	int fd;
	struct buf b;
};

static void out_open(struct out *o, const char *path)
{
	char err[TN_ERRLEN];
	o->path = path;
	o->tmp = xasprintf("%s.tmp", path);
	o->fd = os_open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, err);
	if (o->fd < 0)
		die("open", err);
	buf_init(&o->b, 0);
}

static void out_write(struct out *o)
{
	char err[TN_ERRLEN];
	if (os_write_all(o->fd, o->b.data, o->b.len, o->tmp, err))
		die("write", err);
	buf_reset(&o->b);
}

static void out_close(struct out *o)
{
	char err[TN_ERRLEN];
	out_write(o);
	if (os_fsync(o->fd, o->tmp, err))
		die("fsync", err);
	os_close(o->fd);
	if (os_rename(o->tmp, o->path, err))
		die("rename", err);
	buf_release(&o->b);
	free(o->tmp);
}

/* Appends "key":"chars" (chars already JSON-escaped: they come from JSON). */
static void json_str(struct buf *b, const char *key, const char *v, size_t n)
{
	buf_printf(b, "\"%s\":\"", key);
	buf_append(b, v, n);
	buf_append(b, "\"", 1);
}

int main(int argc, char **argv)
{
	if (argc != 7)
		die("usage", "pg_data OUT.csv OUT.json ROWS SEED START DAYS");
	long rows = num(argv[3], "ROWS"), seed = num(argv[4], "SEED"), days = num(argv[6], "DAYS");
	int64_t start_ms;
	if (time_parse(argv[5], strlen(argv[5]), &start_ms))
		die("START", "expected a date such as 2026-01-01");
	if (days < 1 || days > 3660)
		die("DAYS", "1 to 3660");
	struct out csv, js;
	out_open(&csv, argv[1]);
	out_open(&js, argv[2]);
	struct buf line = BUF_INIT(0);
	static const char head[] =
		"event_id,administered_at,state,cvx_code,vaccine_name,dose_number\n";
	buf_append(&csv.b, head, sizeof head - 1);
	struct gen g;
	gen_init(&g, (uint64_t)seed, start_ms, days * DAY_MS);
	for (long i = 0; i < rows; i++) {
		const char *id, *cvx, *name, *dose, *ts, *state;
		size_t idn, cvxn, namen, dosen, tsn, staten, at;
		buf_reset(&line);
		if (gen_immunization(&g, &line))
			die("gen", "event too big");
		const char *l = line.data;
		size_t n = line.len;
		field(l, n, 0, "event_id", &id, &idn);
		at = field(l, n, 0, "cvx_code", &cvx, &cvxn);
		at = field(l, n, at, "vaccine_name", &name, &namen);
		at = field(l, n, at, "dose_number", &dose, &dosen);
		at = field(l, n, at, "administered_at", &ts, &tsn);
		at = field(l, n, at, "facility_id", &state, &staten);
		field(l, n, at, "state", &state, &staten);
		/* 2026-04-16T15:55:40Z -> 2026-04-16 15:55:40 */
		if (tsn != 20 || ts[10] != 'T' || ts[19] != 'Z')
			die("gen", "administered_at is not YYYY-MM-DDTHH:MM:SSZ");
		char when[20];
		memcpy(when, ts, 10);
		when[10] = ' ';
		memcpy(when + 11, ts + 11, 8);

		struct buf *c = &csv.b;
		csv_text(c, id, idn);
		buf_append(c, ",", 1);
		buf_append(c, when, 19);
		buf_append(c, ",", 1);
		csv_text(c, state, staten);
		buf_append(c, ",", 1);
		csv_text(c, cvx, cvxn);
		buf_append(c, ",", 1);
		csv_text(c, name, namen);
		buf_append(c, ",", 1);
		buf_append(c, dose, dosen);
		buf_append(c, "\n", 1);

		struct buf *j = &js.b;
		buf_append(j, "{", 1);
		json_str(j, "event_id", id, idn);
		buf_append(j, ",", 1);
		json_str(j, "administered_at", when, 19);
		buf_append(j, ",", 1);
		json_str(j, "state", state, staten);
		buf_append(j, ",", 1);
		json_str(j, "cvx_code", cvx, cvxn);
		buf_append(j, ",", 1);
		json_str(j, "vaccine_name", name, namen);
		buf_printf(j, ",\"dose_number\":%.*s}\n", (int)dosen, dose);

		if (c->len >= OUT_BUF)
			out_write(&csv);
		if (j->len >= OUT_BUF)
			out_write(&js);
	}
	out_close(&csv);
	out_close(&js);
	printf("rows %ld\n", rows);
	buf_release(&line);
	return 0;
}

/*
 * probe.c - the crawler's DuckDB: reads files to learn their schema, row
 * count and sample values, and tells good files from bad ones.
 *
 * One in-memory DuckDB per crawl, opened only when a crawl has files to
 * read.  It may touch only the zone folders being crawled
 * (allowed_directories, enable_external_access=false, configuration
 * locked, no extension installing or loading); the metastore under .tarn/
 * is outside them.  File names reach SQL only through sql_path (quotes
 * doubled, glob characters escaped), never interpolated raw.
 *
 * JSON, the streaming case with many small files, is read in batches:
 *   1. DESCRIBE read_json([files], union_by_name) infers one schema from
 *      every record of every small file;
 *   2. one query with that schema as explicit columns counts rows per file
 *      and non-null values of every column (count(col) forces DuckDB to
 *      convert every value, so a truncated record, malformed JSON or a
 *      value that does not fit the type fails here), and finds fields that
 *      were null everywhere (DuckDB types those JSON; we keep them as
 *      CT_NULL so a later file can give them a real type);
 *   3. a LIMIT query on a few files samples text values for PII.
 * A failing batch is split in halves until the failing file stands alone;
 * its DuckDB message becomes the reason.  CSV and Parquet files are read
 * one by one (each CSV has its own sniffed dialect; Parquet has its
 * schema in its footer).
 *
 * Before DuckDB sees a file, a pre-check reads its first 4 KiB (and a
 * Parquet file's last 4 bytes): empty files, binary data in a text format,
 * wrong compression magic and non-Parquet files get a clear reason.
 *
 * Owned by the crawling thread.
 */
#include "catalog/catalog_int.h"

#include <duckdb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/os.h"
#include "core/utf8.h"
#include "core/banned.h"

struct probe {
	duckdb_database db;
	duckdb_connection con;
	unsigned reads;
};

/* Extra per-file state, parallel to the caller's probe_file array. */
#define FILE_COL "__tarn_file"
#define SAMPLE_ROWS_PER_QUERY 100
#define SAMPLE_FILES 4

int probe_open(const char *const *dirs, size_t ndirs, struct probe **out, char *err)
{
	struct probe *p = xcalloc(1, sizeof *p);
	duckdb_config cfg = NULL;
	char *open_err = NULL;
	int rc = 0;
	if (duckdb_create_config(&cfg) != DuckDBSuccess) {
		free(p);
		return tn_fail(err, TN_EINTERNAL, "crawler: duckdb: cannot create a configuration");
	}
	duckdb_set_config(cfg, "threads", "2");
	duckdb_set_config(cfg, "memory_limit", CAT_DUCKDB_MEMORY);
	duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
	duckdb_set_config(cfg, "autoload_known_extensions", "false");
	if (duckdb_open_ext(NULL, &p->db, cfg, &open_err) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "crawler: duckdb: %s", open_err ? open_err : "cannot open");
		duckdb_free(open_err);
		goto out;
	}
	if (duckdb_connect(p->db, &p->con) != DuckDBSuccess) {
		rc = tn_fail(err, TN_EINTERNAL, "crawler: duckdb: cannot connect");
		goto out;
	}
	/* allowed_directories only takes effect with external access off, set after it. */
	struct buf sql = BUF_INIT(0);
	buf_puts(&sql, "SET allowed_directories = [");
	for (size_t i = 0; i < ndirs; i++) {
		if (i)
			buf_putc(&sql, ',');
		struct buf d = BUF_INIT(0);
		buf_printf(&d, "%s/", dirs[i]);
		sql_str(&sql, d.data);
		buf_release(&d);
	}
	buf_puts(&sql, "]; SET enable_external_access = false; SET lock_configuration = true;");
	duckdb_result res;
	if (duckdb_query(p->con, sql.data, &res) != DuckDBSuccess)
		rc = tn_fail(err, TN_EINTERNAL, "crawler: duckdb: %s", duckdb_result_error(&res));
	duckdb_destroy_result(&res);
	buf_release(&sql);
out:
	duckdb_destroy_config(&cfg);
	if (rc) {
		probe_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

void probe_close(struct probe *p)
{
	if (!p)
		return;
	if (p->con)
		duckdb_disconnect(&p->con);
	if (p->db)
		duckdb_close(&p->db);
	free(p);
}

unsigned probe_reads(const struct probe *p)
{
	return p ? p->reads : 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void set_bad(struct probe_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_bad(struct probe_file *f, const char *fmt, ...)
{
	struct buf b = BUF_INIT(CAT_REASON_MAX);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(f->reason);
	f->reason = buf_detach(&b, NULL);
	f->bad = true;
	f->rows = -1;
}

/*
 * DuckDB's message, first line, without its "Invalid Input Error: " kind
 * prefix and with absolute paths cut to the file's base name: a reason
 * is shown to people next to the file's key already.
 */
static void clean_reason(const char *msg, const char *path, struct buf *out)
{
	const char *nl = strchr(msg, '\n');
	size_t n = nl ? (size_t)(nl - msg) : strlen(msg);
	static const char *const kinds[] = { "Invalid Input Error: ", "IO Error: ",
					     "Conversion Error: ", "Binder Error: ",
					     "Parser Error: ", "Invalid Error: " };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t k = strlen(kinds[i]);
		if (n >= k && !strncmp(msg, kinds[i], k)) {
			msg += k;
			n -= k;
			break;
		}
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t pl = strlen(path);
	for (size_t i = 0; i < n;) {
		if (pl && n - i >= pl && !strncmp(msg + i, path, pl)) {
			buf_puts(out, base);
			i += pl;
		} else {
			buf_putc(out, msg[i++]);
		}
	}
	while (out->len && (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '.'))
		buf_truncate(out, out->len - 1);
}

static void bad_from_duckdb(struct probe_file *f, const char *what, const char *msg)
{
	struct buf b = BUF_INIT(CAT_REASON_MAX);
	clean_reason(msg, f->path, &b);
	set_bad(f, "%s: %s", what, b.data);
	buf_release(&b);
}

/*
 * Runs sql.  0 on success (caller destroys res); 1 if the failure is the
 * data's (*msg points at DuckDB's message, valid until res is destroyed,
 * which the caller also does); a TN code if DuckDB itself failed.
 */
static int run(struct probe *p, const char *sql, duckdb_result *res, const char **msg, char *err)
{
	if (duckdb_query(p->con, sql, res) == DuckDBSuccess)
		return 0;
	duckdb_error_type t = duckdb_result_error_type(res);
	*msg = duckdb_result_error(res);
	if (!*msg)
		*msg = "unknown error";
	if (t == DUCKDB_ERROR_OUT_OF_MEMORY || t == DUCKDB_ERROR_INTERRUPT) {
		int rc = tn_fail(err, t == DUCKDB_ERROR_OUT_OF_MEMORY ? TN_ETOOBIG : TN_EINTERNAL,
				 "crawler: duckdb: %s", *msg);
		duckdb_destroy_result(res);
		return rc;
	}
	return 1;
}

static char *value_str(duckdb_result *r, idx_t col, idx_t row)
{
	if (duckdb_value_is_null(r, col, row))
		return NULL;
	char *v = duckdb_value_varchar(r, col, row);
	char *s = xstrdup(v ? v : "");
	duckdb_free(v);
	return s;
}

static void count_read(struct probe *p, struct probe_file *f)
{
	(void)f;
	p->reads++;
}

/*
 * Pre-check of a file before DuckDB: empty, compression magic, binary data
 * in a text format, Parquet magic.  Returns false (and marks f bad) if the
 * file cannot be what its name says.
 */
static bool precheck(struct probe *p, struct probe_file *f, enum cat_format fmt)
{
	unsigned char head[4096];
	size_t got = 0;
	char err[TN_ERRLEN];
	if (f->size == 0) {
		set_bad(f, "empty file");
		return false;
	}
	int fd = os_open(f->path, O_RDONLY, 0, err);
	if (fd < 0) {
		set_bad(f, "cannot open: %s", err);
		return false;
	}
	count_read(p, f);
	int rc = os_pread(fd, head, sizeof head, 0, &got, f->path, err);
	if (rc == 0 && fmt == FMT_PARQUET && got >= 4 && f->size >= 12) {
		unsigned char tail[4];
		size_t tgot = 0;
		rc = os_pread(fd, tail, 4, f->size - 4, &tgot, f->path, err);
		if (rc == 0 && (tgot != 4 || memcmp(tail, "PAR1", 4))) {
			os_close(fd);
			set_bad(f, "not a Parquet file, or truncated: no PAR1 magic at its end");
			return false;
		}
	}
	os_close(fd);
	if (rc) {
		set_bad(f, "cannot read: %s", err);
		return false;
	}
	if (f->comp == COMP_GZIP && (got < 2 || head[0] != 0x1f || head[1] != 0x8b)) {
		set_bad(f, "not gzip data (the name ends in .gz)");
		return false;
	}
	if (f->comp == COMP_ZSTD &&
	    (got < 4 || head[0] != 0x28 || head[1] != 0xb5 || head[2] != 0x2f || head[3] != 0xfd)) {
		set_bad(f, "not zstd data (the name ends in .zst)");
		return false;
	}
	if (fmt == FMT_PARQUET) {
		if (f->comp != COMP_NONE) {
			set_bad(f, "compressed Parquet cannot be read: Parquet compresses inside, "
				   "store it without .gz/.zst");
			return false;
		}
		if (got < 4 || memcmp(head, "PAR1", 4) || f->size < 12) {
			set_bad(f, "not a Parquet file: no PAR1 magic at its start");
			return false;
		}
		return true;
	}
	if (f->comp != COMP_NONE)
		return true;
	for (size_t i = 0; i < got; i++) {
		if (head[i] == 0) {
			set_bad(f, "binary content: a NUL byte at offset %zu of a %s file", i,
				fmt == FMT_JSON ? "JSON" : "CSV");
			return false;
		}
	}
	/* UTF-8 check of the head; a sequence cut by the 4 KiB boundary is fine. */
	for (size_t i = 0; i < got;) {
		size_t l = utf8_seq_len(head + i, got - i);
		if (l == 0) {
			if (got - i < 4 && got == sizeof head)
				break;
			set_bad(f, "binary content: invalid UTF-8 at offset %zu", i);
			return false;
		}
		i += l;
	}
	return true;
}

void sample_release(struct sample *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i].n; j++)
			free(s->v[i].vals[j]);
		free(s->v[i].vals);
		free(s->v[i].path);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

static struct sample_col *sample_col(struct sample *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return &s->v[i];
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	struct sample_col *c = &s->v[s->n++];
	memset(c, 0, sizeof *c);
	c->path = xstrdup(path);
	return c;
}

void sample_add(struct sample *s, const char *path, const char *val)
{
	struct sample_col *c = sample_col(s, path);
	if (c->n >= CAT_PII_SAMPLE)
		return;
	c->vals = xrealloc(c->vals, (c->n + 1) * sizeof *c->vals);
	c->vals[c->n++] = val ? xstrndup(val, strnlen(val, CAT_PII_VALUE_MAX)) : NULL;
}

static bool sample_full(struct sample *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return s->v[i].n >= CAT_PII_SAMPLE;
	return false;
}

/* Leaves of a schema reached through structs: SQL expression, dotted path, type. */
struct leaf {
	char *expr;
	char *path;
	struct ctype *type;  /* borrowed from the schema */
};

struct leaves {
	struct leaf *v;
	size_t n;
};

static void leaves_walk(struct leaves *l, struct ctype *t, const char *expr, const char *path)
{
	if (t->kind == CT_STRUCT) {
		for (size_t i = 0; i < t->n; i++) {
			struct buf e = BUF_INIT(0);
			buf_puts(&e, "struct_extract(");
			buf_puts(&e, expr);
			buf_puts(&e, ", ");
			sql_str(&e, t->fields[i]);
			buf_putc(&e, ')');
			char *sub = xasprintf("%s.%s", path, t->fields[i]);
			leaves_walk(l, t->kids[i], e.data, sub);
			free(sub);
			buf_release(&e);
		}
		return;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n].expr = xstrdup(expr);
	l->v[l->n].path = xstrdup(path);
	l->v[l->n].type = t;
	l->n++;
}

static void leaves_of(struct leaves *l, const struct schema *s)
{
	memset(l, 0, sizeof *l);
	for (size_t i = 0; i < s->n; i++) {
		struct buf e = BUF_INIT(0);
		sql_ident(&e, s->names[i]);
		leaves_walk(l, s->types[i], e.data, s->names[i]);
		buf_release(&e);
	}
}

static void leaves_release(struct leaves *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].expr);
		free(l->v[i].path);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Schema from a DESCRIBE result (column_name, column_type). */
static int schema_from_describe(duckdb_result *r, struct schema *s, char *err)
{
	memset(s, 0, sizeof *s);
	idx_t n = duckdb_row_count(r);
	for (idx_t i = 0; i < n; i++) {
		char *name = value_str(r, 0, i), *ty = value_str(r, 1, i);
		struct ctype *t = name && ty ? ctype_parse(ty, err) : NULL;
		if (!t) {
			free(name);
			free(ty);
			schema_release(s);
			return TN_EINTERNAL;
		}
		schema_add(s, name, t);
		free(name);
		free(ty);
	}
	return 0;
}

/* {"a": 'T', ...} for read_json / read_csv columns=. */
static void columns_arg(struct buf *b, const struct schema *s)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			buf_putc(b, ',');
		sql_str(b, s->names[i]);
		buf_putc(b, ':');
		char *ty = ctype_str(s->types[i], true);
		sql_str(b, ty);
		free(ty);
	}
	buf_putc(b, '}');
}

/* Runs a sample query (text leaves cast to VARCHAR) and adds its values. */
static int sample_query(struct probe *p, const struct leaves *lv, const char *from,
			struct sample *smp, char *err)
{
	struct buf sql = BUF_INIT(0);
	size_t *idx = xcalloc(lv->n ? lv->n : 1, sizeof *idx), k = 0;
	for (size_t i = 0; i < lv->n; i++) {
		struct ctype *t = lv->v[i].type;
		if (t->kind != CT_SCALAR || strcmp(t->name, "VARCHAR") || sample_full(smp, lv->v[i].path))
			continue;
		buf_puts(&sql, k ? ", " : "SELECT ");
		buf_printf(&sql, "CAST(%s AS VARCHAR)", lv->v[i].expr);
		idx[k++] = i;
	}
	int rc = 0;
	if (k) {
		buf_printf(&sql, " FROM %s LIMIT %d", from, SAMPLE_ROWS_PER_QUERY);
		duckdb_result res;
		const char *msg;
		rc = run(p, sql.data, &res, &msg, err);
		if (rc == 0) {
			idx_t rows = duckdb_row_count(&res);
			for (size_t c = 0; c < k; c++)
				for (idx_t r = 0; r < rows; r++) {
					char *v = value_str(&res, c, r);
					sample_add(smp, lv->v[idx[c]].path, v);
					free(v);
				}
		}
		if (rc >= 0)
			duckdb_destroy_result(&res);
		rc = rc < 0 ? rc : 0; /* a failed sample costs only the sample */
	}
	free(idx);
	buf_release(&sql);
	return rc;
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_source(struct buf *b, struct probe_file **f, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		sql_path(b, f[i]->path);
	}
	buf_putc(b, ']');
}

/*
 * One attempt over files f[0..n): 0 = all good (schema merged, rows set),
 * 1 = the batch failed on its data (msg copied to *fail_msg), < 0 = DuckDB failed.
 */
static int json_try(struct probe *p, struct probe_file **f, size_t n, long sample_size,
		    bool validate, struct schema *acc, struct sample *smp, char **fail_msg,
		    char *err)
{
	struct buf sql = BUF_INIT(0), src = BUF_INIT(0);
	struct schema bs = { 0 };
	struct leaves lv = { 0 };
	duckdb_result res;
	const char *msg = NULL;
	int rc;
	json_source(&src, f, n);
	buf_printf(&sql,
		   "DESCRIBE SELECT * FROM read_json(%s, union_by_name=true, format='auto', "
		   "hive_partitioning=false, "
		   "sample_size=%ld, map_inference_threshold=-1)",
		   src.data, sample_size);
	rc = run(p, sql.data, &res, &msg, err);
	if (rc >= 0) {
		if (rc == 1)
			*fail_msg = xstrdup(msg);
		else if (schema_from_describe(&res, &bs, err))
			rc = tn_fail(err, TN_EINTERNAL, "crawler: cannot parse a type DuckDB described");
		duckdb_destroy_result(&res);
	}
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++)
		f[i]->rows = validate ? 0 : -1;
	leaves_of(&lv, &bs);
	struct buf from = BUF_INIT(0);
	buf_printf(&from, "read_json(%s, format='auto', hive_partitioning=false, columns=",
		   src.data);
	columns_arg(&from, &bs);
	buf_putc(&from, ')');
	if (validate) {
		/* Rows per file, and every value converted: count(col) reads it. */
		buf_reset(&sql);
		buf_printf(&sql, "SELECT \"" FILE_COL "\", count(*)");
		for (size_t i = 0; i < bs.n; i++) {
			buf_puts(&sql, ", count(");
			sql_ident(&sql, bs.names[i]);
			buf_putc(&sql, ')');
		}
		for (size_t i = 0; i < lv.n; i++)
			buf_printf(&sql, ", count(%s)", lv.v[i].expr);
		buf_printf(&sql, " FROM %.*s, filename='" FILE_COL "') GROUP BY 1", (int)from.len - 1,
			   from.data);
		rc = run(p, sql.data, &res, &msg, err);
		if (rc == 1)
			*fail_msg = xstrdup(msg);
		if (rc == 0) {
			idx_t rows = duckdb_row_count(&res);
			int64_t *nonnull = xcalloc(lv.n ? lv.n : 1, sizeof *nonnull);
			size_t hint = 0;
			for (idx_t r = 0; r < rows; r++) {
				char *fn = value_str(&res, 0, r);
				for (size_t k = 0; fn && k < n; k++) {
					size_t j = (hint + k) % n;
					if (!strcmp(f[j]->path, fn)) {
						f[j]->rows = duckdb_value_int64(&res, 1, r);
						hint = j + 1;
						break;
					}
				}
				free(fn);
				for (size_t i = 0; i < lv.n; i++)
					nonnull[i] += duckdb_value_int64(&res, 2 + bs.n + i, r);
			}
			/* JSON-typed leaves with no value anywhere were nulls: unknown type. */
			for (size_t i = 0; i < lv.n; i++) {
				struct ctype *t = lv.v[i].type;
				if (nonnull[i] == 0 && t->kind == CT_SCALAR && !strcmp(t->name, "JSON")) {
					t->kind = CT_NULL;
					free(t->name);
					t->name = NULL;
				}
			}
			free(nonnull);
		}
		if (rc >= 0)
			duckdb_destroy_result(&res);
	}
	if (rc == 0) {
		/* Sample a few files spread over the batch. */
		struct buf few = BUF_INIT(0);
		struct probe_file *pick[SAMPLE_FILES];
		size_t np = 0;
		for (size_t i = 0; i < SAMPLE_FILES && i < n; i++)
			pick[np++] = f[i * n / (n < SAMPLE_FILES ? n : SAMPLE_FILES)];
		buf_puts(&few, "read_json(");
		json_source(&few, pick, np);
		buf_puts(&few, ", format='auto', hive_partitioning=false, columns=");
		columns_arg(&few, &bs);
		buf_putc(&few, ')');
		rc = sample_query(p, &lv, few.data, smp, err);
		buf_release(&few);
	}
	buf_release(&from);
	/* Files without records (blank, "[]") read as one "json" column: no schema. */
	bool records = false;
	for (size_t i = 0; i < n; i++)
		records |= f[i]->rows != 0;
	if (rc == 0 && records)
		schema_merge(acc, &bs, true, NULL, NULL, NULL);
out:
	leaves_release(&lv);
	schema_release(&bs);
	buf_release(&src);
	buf_release(&sql);
	return rc;
}

static int json_group(struct probe *p, struct probe_file **f, size_t n, bool small,
		      struct schema *acc, struct sample *smp, char *err)
{
	char *msg = NULL;
	bool validate = f[0]->size <= CAT_VALIDATE_MAX || n > 1;
	int rc = json_try(p, f, n, small ? -1 : CAT_SAMPLE_ROWS, validate, acc, smp, &msg, err);
	if (rc == 1 && n == 1 && !small && validate) {
		/* A value past the sample may not fit the sampled type: infer from all. */
		free(msg);
		msg = NULL;
		rc = json_try(p, f, n, -1, validate, acc, smp, &msg, err);
	}
	if (rc == 1) {
		if (n == 1) {
			bad_from_duckdb(f[0], "invalid JSON", msg);
			rc = 0;
		} else {
			rc = json_group(p, f, n / 2, small, acc, smp, err);
			if (rc == 0)
				rc = json_group(p, f + n / 2, n - n / 2, small, acc, smp, err);
		}
	}
	free(msg);
	if (rc == 0)
		for (size_t i = 0; i < n; i++)
			if (!f[i]->bad && f[i]->rows == 0)
				set_bad(f[i], "no records");
	return rc;
}

int probe_json(struct probe *p, struct probe_file *f, size_t n, struct schema *schema,
	       struct sample *smp, char *err)
{
	struct probe_file **batch = xmalloc((n ? n : 1) * sizeof *batch);
	size_t nb = 0;
	uint64_t bytes = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!precheck(p, &f[i], FMT_JSON))
			continue;
		if (f[i].size > CAT_SMALL_FILE) {
			struct probe_file *one = &f[i];
			rc = json_group(p, &one, 1, false, schema, smp, err);
			continue;
		}
		batch[nb++] = &f[i];
		bytes += f[i].size;
		if (nb == CAT_BATCH_FILES || bytes >= CAT_BATCH_BYTES) {
			rc = json_group(p, batch, nb, true, schema, smp, err);
			nb = 0;
			bytes = 0;
		}
	}
	if (rc == 0 && nb)
		rc = json_group(p, batch, nb, true, schema, smp, err);
	free(batch);
	return rc;
}

/* ---- CSV -------------------------------------------------------------------- */

static void dialect_field(char *dst, size_t n, const char *v)
{
	/* sniff_csv spells an empty option "(empty)". */
	snprintf(dst, n, "%s", !v || !strcmp(v, "(empty)") ? "" : v);
}

int csv_dialect_to_json(const struct csv_dialect *d, struct buf *out)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:s}", "delim", d->delim, "quote",
			      d->quote, "escape", d->escape, "comment", d->comment, "header",
			      d->header, "skip", d->skip, "dateformat", d->dateformat,
			      "timestampformat", d->tsformat);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = s ? buf_puts(out, s) : TN_EINTERNAL;
	free(s);
	json_decref(o);
	return rc;
}

int csv_dialect_from_json(const char *json, struct csv_dialect *d)
{
	memset(d, 0, sizeof *d);
	json_t *o = json_loads(json ? json : "", 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return TN_EINVAL;
	}
	dialect_field(d->delim, sizeof d->delim, json_string_value(json_object_get(o, "delim")));
	dialect_field(d->quote, sizeof d->quote, json_string_value(json_object_get(o, "quote")));
	dialect_field(d->escape, sizeof d->escape, json_string_value(json_object_get(o, "escape")));
	dialect_field(d->comment, sizeof d->comment,
		      json_string_value(json_object_get(o, "comment")));
	dialect_field(d->dateformat, sizeof d->dateformat,
		      json_string_value(json_object_get(o, "dateformat")));
	dialect_field(d->tsformat, sizeof d->tsformat,
		      json_string_value(json_object_get(o, "timestampformat")));
	d->header = json_is_true(json_object_get(o, "header"));
	d->skip = (int)json_integer_value(json_object_get(o, "skip"));
	d->set = d->delim[0] != 0;
	json_decref(o);
	return d->set ? 0 : TN_EINVAL;
}

int csv_dialect_sql(const struct csv_dialect *d, struct buf *out)
{
	buf_puts(out, ", auto_detect=false, delim=");
	sql_str(out, d->delim);
	buf_puts(out, ", quote=");
	sql_str(out, d->quote);
	buf_puts(out, ", escape=");
	sql_str(out, d->escape);
	buf_puts(out, ", comment=");
	sql_str(out, d->comment);
	buf_printf(out, ", header=%s, skip=%d", d->header ? "true" : "false", d->skip);
	if (d->dateformat[0]) {
		buf_puts(out, ", dateformat=");
		sql_str(out, d->dateformat);
	}
	if (d->tsformat[0]) {
		buf_puts(out, ", timestampformat=");
		return sql_str(out, d->tsformat);
	}
	return 0;
}

/* Per-file options: {"dialect": {...}, "columns": [...]} (csv) / {"columns": [...]}. */
static char *file_options(const struct csv_dialect *d, const struct schema *s)
{
	struct buf b = BUF_INIT(0);
	buf_putc(&b, '{');
	if (d) {
		buf_puts(&b, "\"dialect\":");
		csv_dialect_to_json(d, &b);
		buf_putc(&b, ',');
	}
	buf_puts(&b, "\"columns\":[");
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_json_str(&b, s->names[i], strlen(s->names[i]));
	}
	buf_puts(&b, "]}");
	return buf_detach(&b, NULL);
}

static int csv_sniff(struct probe *p, struct probe_file *f, bool tsv, long sample_size,
		     struct csv_dialect *d, struct schema *s, char **fail_msg, char *err)
{
	struct buf sql = BUF_INIT(0);
	duckdb_result res;
	const char *msg;
	buf_puts(&sql, "SELECT Delimiter, Quote, Escape, Comment, SkipRows, HasHeader, "
		       "CAST(to_json(Columns) AS VARCHAR), DateFormat, TimestampFormat "
		       "FROM sniff_csv(");
	sql_path(&sql, f->path);
	buf_printf(&sql, ", sample_size=%ld%s)", sample_size, tsv ? ", delim='\\t'" : "");
	int rc = run(p, sql.data, &res, &msg, err);
	buf_release(&sql);
	if (rc == 1)
		*fail_msg = xstrdup(msg);
	if (rc)
		goto out;
	memset(d, 0, sizeof *d);
	memset(s, 0, sizeof *s);
	char *v[9];
	for (int i = 0; i < 9; i++)
		v[i] = value_str(&res, (idx_t)i, 0);
	dialect_field(d->delim, sizeof d->delim, v[0]);
	dialect_field(d->quote, sizeof d->quote, v[1]);
	dialect_field(d->escape, sizeof d->escape, v[2]);
	dialect_field(d->comment, sizeof d->comment, v[3]);
	d->skip = v[4] ? (int)strtol(v[4], NULL, 10) : 0;
	d->header = v[5] && !strcmp(v[5], "true");
	dialect_field(d->dateformat, sizeof d->dateformat, v[7]);
	dialect_field(d->tsformat, sizeof d->tsformat, v[8]);
	d->set = true;
	json_t *cols = v[6] ? json_loads(v[6], 0, NULL) : NULL;
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *ty = json_string_value(json_object_get(c, "type"));
		struct ctype *t = name && ty ? ctype_parse(ty, NULL) : NULL;
		if (t)
			schema_add(s, name, t);
	}
	json_decref(cols);
	for (int k = 0; k < 9; k++)
		free(v[k]);
	if (!s->n) {
		*fail_msg = xstrdup("the sniffer found no columns");
		rc = 1;
	}
out:
	if (rc >= 0)
		duckdb_destroy_result(&res);
	return rc;
}

static int csv_one(struct probe *p, struct probe_file *f, bool tsv, struct schema *acc,
		   struct sample *smp, char *err)
{
	struct csv_dialect d;
	struct schema s = { 0 };
	struct buf from = BUF_INIT(0), sql = BUF_INIT(0);
	char *msg = NULL;
	bool validate = f->size <= CAT_VALIDATE_MAX;
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		free(msg);
		msg = NULL;
		schema_release(&s);
		rc = csv_sniff(p, f, tsv, attempt ? -1 : CAT_SAMPLE_ROWS, &d, &s, &msg, err);
		if (rc)
			break;
		buf_reset(&from);
		buf_puts(&from, "read_csv(");
		sql_path(&from, f->path);
		csv_dialect_sql(&d, &from);
		buf_puts(&from, ", hive_partitioning=false, columns=");
		columns_arg(&from, &s);
		buf_putc(&from, ')');
		if (!validate) {
			f->rows = -1;
			break;
		}
		buf_reset(&sql);
		buf_puts(&sql, "SELECT count(*)");
		for (size_t i = 0; i < s.n; i++) {
			buf_puts(&sql, ", count(");
			sql_ident(&sql, s.names[i]);
			buf_putc(&sql, ')');
		}
		buf_printf(&sql, " FROM %s", from.data);
		duckdb_result res;
		const char *m;
		rc = run(p, sql.data, &res, &m, err);
		if (rc == 0)
			f->rows = duckdb_value_int64(&res, 0, 0);
		if (rc == 1)
			msg = xstrdup(m);
		if (rc >= 0)
			duckdb_destroy_result(&res);
		if (rc != 1)
			break;
	}
	if (rc == 1) {
		bad_from_duckdb(f, "invalid CSV", msg);
		rc = 0;
	} else if (rc == 0 && f->rows == 0) {
		set_bad(f, "no records");
	} else if (rc == 0) {
		struct leaves lv;
		leaves_of(&lv, &s);
		rc = sample_query(p, &lv, from.data, smp, err);
		leaves_release(&lv);
		free(f->columns);
		f->columns = file_options(&d, &s);
		if (rc == 0)
			schema_merge(acc, &s, false, NULL, NULL, NULL);
	}
	free(msg);
	schema_release(&s);
	buf_release(&from);
	buf_release(&sql);
	return rc;
}

int probe_csv(struct probe *p, struct probe_file *f, size_t n, bool tsv, struct schema *schema,
	      struct sample *smp, char *err)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (precheck(p, &f[i], FMT_CSV))
			rc = csv_one(p, &f[i], tsv, schema, smp, err);
	return rc;
}

/* ---- Parquet ------------------------------------------------------------------ */

static int parquet_one(struct probe *p, struct probe_file *f, struct schema *acc,
		       struct sample *smp, char *err)
{
	struct buf src = BUF_INIT(0), sql = BUF_INIT(0), from = BUF_INIT(0);
	struct schema s = { 0 };
	duckdb_result res;
	const char *msg = NULL;
	sql_path(&src, f->path);
	buf_printf(&from, "read_parquet(%s, hive_partitioning=false)", src.data);
	buf_printf(&sql, "DESCRIBE SELECT * FROM %s", from.data);
	int rc = run(p, sql.data, &res, &msg, err);
	if (rc == 1)
		goto bad;
	if (rc == 0) {
		if (schema_from_describe(&res, &s, err))
			rc = tn_fail(err, TN_EINTERNAL, "crawler: cannot parse a type DuckDB described");
		duckdb_destroy_result(&res);
	}
	if (rc)
		goto out;
	buf_reset(&sql);
	buf_printf(&sql,
		   "SELECT (SELECT sum(num_rows) FROM parquet_file_metadata(%s)), "
		   "(SELECT string_agg(DISTINCT lower(compression), ',') FROM parquet_metadata(%s))",
		   src.data, src.data);
	rc = run(p, sql.data, &res, &msg, err);
	if (rc == 0) {
		f->rows = duckdb_value_is_null(&res, 0, 0) ? 0 : duckdb_value_int64(&res, 0, 0);
		free(f->codec);
		f->codec = value_str(&res, 1, 0);
		duckdb_destroy_result(&res);
	}
	if (rc == 1)
		goto bad;
	if (rc)
		goto out;
	if (f->size <= CAT_VALIDATE_MAX && s.n) {
		/* Decode every page: a corrupt page fails here, not in a user's query. */
		buf_reset(&sql);
		buf_puts(&sql, "SELECT count(*)");
		for (size_t i = 0; i < s.n; i++) {
			buf_puts(&sql, ", count(");
			sql_ident(&sql, s.names[i]);
			buf_putc(&sql, ')');
		}
		buf_printf(&sql, " FROM %s", from.data);
		rc = run(p, sql.data, &res, &msg, err);
		if (rc == 1)
			goto bad;
		if (rc)
			goto out;
		duckdb_destroy_result(&res);
	}
	struct leaves lv;
	leaves_of(&lv, &s);
	rc = sample_query(p, &lv, from.data, smp, err);
	leaves_release(&lv);
	free(f->columns);
	f->columns = file_options(NULL, &s);
	if (rc == 0)
		schema_merge(acc, &s, false, NULL, NULL, NULL);
	goto out;
bad:
	bad_from_duckdb(f, "invalid Parquet", msg);
	duckdb_destroy_result(&res);
	rc = 0;
out:
	schema_release(&s);
	buf_release(&src);
	buf_release(&sql);
	buf_release(&from);
	return rc;
}

int probe_parquet(struct probe *p, struct probe_file *f, size_t n, struct schema *schema,
		  struct sample *smp, char *err)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (precheck(p, &f[i], FMT_PARQUET))
			rc = parquet_one(p, &f[i], schema, smp, err);
	return rc;
}

/*
 * crawl_table.c - one unit of a crawl (a top-level folder or loose file of
 * a zone, which is one table): diff with the file memory, structural
 * checks, reading, and the write of everything in one transaction.
 *
 * Steps (crawl_unit):
 *   load     sort the walk by key, parse partition folders, read the
 *            unit's file memory and the table row (metastore lock held
 *            only for these reads);
 *   diff     merge-join walk and memory: new, changed (size or mtime
 *            differ, or a full crawl), unchanged, removed;
 *   layout   the table's format and partition keys: as stored, else the
 *            majority of the new files; new or changed files that do not
 *            fit (another format, other partition folders, a table name
 *            taken by another location) are bad without being read;
 *   read     the probe (probe.c) reads the rest: bad files, rows, the
 *            schema of what was read, value samples;
 *   write    one transaction: table row (created or widened, with a schema
 *            version naming each change), columns, crawler PII tags, file
 *            rows, partitions, statistics, classification.
 * A unit where nothing changed writes nothing now: its table id is kept
 * and every such table gets its last_crawl_ms in one statement at the end
 * (crawl_touch_flush), so a re-crawl of many unchanged tables costs one
 * commit, not one per table.
 *
 * Invariants: the stored schema only grows (schema.c); data columns named
 * like a partition key are left out (the partition column wins); a bad
 * file has no table id, no partition and counts in no statistic.
 */
#include "catalog/crawler_int.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "catalog/meta.h"
#include "catalog/pii.h"
#include "core/crypto.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "store/store.h"
#include "core/banned.h"

/* A partition key of a table. */
struct pkey {
	char *name;
	char *type;
	bool date;
};

/* ---- helpers -------------------------------------------------------------- */

static void pkeys_release(struct pkey *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(k[i].name);
		free(k[i].type);
	}
}

static void note_bad(struct crawl *cr, const struct cfile *f)
{
	struct crawl_report *r = cr->rep;
	r->files_bad++;
	if (r->nbad >= CRAWL_MAX_NOTES)
		return;
	r->bad = xrealloc(r->bad, (r->nbad + 1) * sizeof *r->bad);
	r->bad[r->nbad].path = xstrdup(f->key);
	r->bad[r->nbad].reason = xstrdup(f->reason ? f->reason : "");
	r->nbad++;
}

static void set_bad(struct cfile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_bad(struct cfile *f, const char *fmt, ...)
{
	struct buf b = BUF_INIT(CAT_REASON_MAX);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(f->reason);
	f->reason = buf_detach(&b, NULL);
	f->bad = true;
}

/* ---- partitions from folder names ---------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Hive escapes special characters in values as %XX. */
static char *url_decode(const char *s, size_t n)
{
	struct buf b = BUF_INIT(0);
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (s[i] == '%' && i + 2 < n && (h = hex_digit(s[i + 1])) >= 0 &&
		    (l = hex_digit(s[i + 2])) >= 0) {
			buf_putc(&b, (char)(h * 16 + l));
			i += 2;
		} else {
			buf_putc(&b, s[i]);
		}
	}
	return buf_detach(&b, NULL);
}

static void add_part(struct cfile *f, const char *key, size_t kn, char *val, bool date)
{
	for (size_t i = 0; i < f->np; i++)
		if (strlen(f->pkeys[i]) == kn && !strncmp(f->pkeys[i], key, kn)) {
			if (!f->perr)
				f->perr = xasprintf("partition key '%.*s' appears twice in its path",
						    (int)kn, key);
			free(val);
			return;
		}
	if (f->np == MAX_PKEYS) {
		if (!f->perr)
			f->perr = xasprintf("more than %d partition folders", MAX_PKEYS);
		free(val);
		return;
	}
	f->pkeys[f->np] = xstrndup(key, kn);
	f->pvals[f->np] = val;
	f->pdate[f->np] = date;
	f->np++;
}

/*
 * Parses the folders between the table folder and the file name (rel is
 * the key below the unit's folder, file name included).
 */
static void parse_partitions(struct cfile *f, const char *rel)
{
	static const char *const date_keys[] = { "year", "month", "day", "hour" };
	int stage = 0; /* date parts seen; 5 = a date run ended */
	const char *seg = rel;
	for (const char *slash; (slash = strchr(seg, '/')); seg = slash + 1) {
		size_t n = (size_t)(slash - seg);
		const char *eq = memchr(seg, '=', n);
		if (eq && eq > seg) {
			size_t vn = n - (size_t)(eq - seg) - 1;
			char *v = url_decode(eq + 1, vn);
			if (!*v || !strcmp(v, "__HIVE_DEFAULT_PARTITION__")) {
				free(v);
				v = NULL;
			}
			add_part(f, seg, (size_t)(eq - seg), v, false);
			if (stage)
				stage = 5;
			continue;
		}
		long v = all_digits(seg, n) && n <= 4 ? strtol(seg, NULL, 10) : -1;
		bool ok = (stage == 0 && n == 4 && v >= 1000) ||
			  (stage == 1 && n == 2 && v >= 1 && v <= 12) ||
			  (stage == 2 && n == 2 && v >= 1 && v <= 31) ||
			  (stage == 3 && n == 2 && v >= 0 && v <= 23);
		if (ok) {
			add_part(f, date_keys[stage], strlen(date_keys[stage]), xasprintf("%ld", v),
				 true);
			stage++;
		} else if (stage) {
			stage = 5; /* other folders below a date are transparent */
		}
	}
}

/* "year/month/day" - the key sequence of a file. */
static char *key_sig(const struct cfile *f)
{
	struct buf b = BUF_INIT(0);
	for (size_t i = 0; i < f->np; i++) {
		if (i)
			buf_putc(&b, '/');
		buf_puts(&b, f->pkeys[i]);
	}
	return buf_detach(&b, NULL);
}

static bool is_integer(const char *v)
{
	if (!v)
		return true; /* NULL fits any type */
	const char *p = v + (*v == '-');
	return all_digits(p, strlen(p)) && strlen(p) < 19;
}

/* ---- file memory ------------------------------------------------------------- */

struct mfile {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
};

struct memory {
	struct mfile *v;
	size_t n;
};

static void memory_release(struct memory *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* Loads the remembered files of a unit under its scope, ordered by key (caller locks). */
static int memory_load(struct crawl *cr, const struct unit *u, struct memory *m)
{
	memset(m, 0, sizeof *m);
	sqlite3_stmt *st = crawl_prep(cr, u->scope_exact
				    ? "SELECT path, size, mtime_ns FROM cat_files "
				      "WHERE db = ? AND unit = ? AND ? > 0 AND path = ?"
				    : "SELECT path, size, mtime_ns FROM cat_files "
				      "WHERE db = ? AND unit = ? AND substr(path, 1, ?) = ? "
				      "ORDER BY path");
	if (!st)
		return TN_EIO;
	sqlite3_bind_text(st, 1, zone_db_name(u->zone), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)strlen(u->scope));
	sqlite3_bind_text(st, 4, u->scope, -1, SQLITE_STATIC);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->n == cap) {
			cap = cap ? 2 * cap : 256;
			m->v = xrealloc(m->v, cap * sizeof *m->v);
		}
		m->v[m->n].path = xstrdup((const char *)sqlite3_column_text(st, 0));
		m->v[m->n].size = (uint64_t)sqlite3_column_int64(st, 1);
		m->v[m->n].mtime_ns = sqlite3_column_int64(st, 2);
		m->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return crawl_sql_err(cr, "read the file memory");
	return 0;
}

/* ---- the table row as stored ---------------------------------------------------- */

struct trow {
	bool exists;
	int64_t id;
	char *location;
	char *format;
	int version;
	struct schema schema;
	struct pkey keys[MAX_PKEYS];
	size_t nkeys;
	char *options;
};

static void trow_release(struct trow *t)
{
	free(t->location);
	free(t->format);
	free(t->options);
	schema_release(&t->schema);
	pkeys_release(t->keys, t->nkeys);
	memset(t, 0, sizeof *t);
}

static void keys_from_json(const char *js, struct pkey *k, size_t *n)
{
	json_t *a = json_loads(js ? js : "[]", 0, NULL);
	size_t i;
	json_t *e;
	*n = 0;
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *type = json_string_value(json_object_get(e, "type"));
		if (!name || !type || *n == MAX_PKEYS)
			continue;
		k[*n].name = xstrdup(name);
		k[*n].type = xstrdup(type);
		k[*n].date = json_is_true(json_object_get(e, "date"));
		(*n)++;
	}
	json_decref(a);
}

static char *keys_to_json(const struct pkey *k, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "name", k[i].name, "type",
						   k[i].type, "date", k[i].date));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static int trow_load(struct crawl *cr, enum zone z, const char *table, struct trow *t)
{
	memset(t, 0, sizeof *t);
	sqlite3_stmt *st = crawl_prep(cr, "SELECT id, location, format, schema_version, schema, "
				    "partition_keys, options FROM cat_tables WHERE db = ? AND name = ?");
	if (!st)
		return TN_EIO;
	sqlite3_bind_text(st, 1, zone_db_name(z), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t->exists = true;
		t->id = sqlite3_column_int64(st, 0);
		t->location = xstrdup((const char *)sqlite3_column_text(st, 1));
		t->format = xstrdup((const char *)sqlite3_column_text(st, 2));
		t->version = sqlite3_column_int(st, 3);
		t->options = xstrdup((const char *)sqlite3_column_text(st, 6));
		keys_from_json((const char *)sqlite3_column_text(st, 5), t->keys, &t->nkeys);
		rc = schema_from_json((const char *)sqlite3_column_text(st, 4), &t->schema, cr->err);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : crawl_sql_err(cr, "read a table");
}

/* ---- reading ------------------------------------------------------------------- */

static int ensure_probe(struct crawl *cr)
{
	if (cr->probe)
		return 0;
	return probe_open((const char *const *)cr->dirs, cr->ndirs, &cr->probe, cr->err);
}

/* Reads the files of u that need it; fills their results, the schema and the sample. */
static int read_files(struct crawl *cr, struct unit *u, enum cat_format fmt, struct schema *bs,
		      struct sample *smp)
{
	size_t n = 0;
	struct probe_file *pf = xcalloc(u->n ? u->n : 1, sizeof *pf);
	struct cfile **map = xcalloc(u->n ? u->n : 1, sizeof *map);
	char path[PATH_MAX];
	int rc = 0;
	for (size_t i = 0; i < u->n; i++) {
		struct cfile *f = &u->f[i];
		if (f->state == F_SAME || f->bad)
			continue;
		snprintf(path, sizeof path, "%s/%s", cr->root, f->key);
		pf[n].path = xstrdup(path);
		pf[n].size = f->size;
		pf[n].comp = f->comp;
		pf[n].rows = -1;
		map[n++] = f;
	}
	if (n == 0)
		goto out;
	if ((rc = ensure_probe(cr)))
		goto out;
	unsigned before = probe_reads(cr->probe);
	if (fmt == FMT_JSON) {
		rc = probe_json(cr->probe, pf, n, bs, smp, cr->err);
	} else if (fmt == FMT_PARQUET) {
		rc = probe_parquet(cr->probe, pf, n, bs, smp, cr->err);
	} else {
		/* CSV and TSV files of one table: each sniffed on its own. */
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = probe_csv(cr->probe, &pf[i], 1, map[i]->fmt == FMT_TSV, bs, smp,
				       cr->err);
	}
	cr->rep->files_read += probe_reads(cr->probe) - before;
	for (size_t i = 0; i < n; i++) {
		struct cfile *f = map[i];
		f->rows = pf[i].rows;
		if (pf[i].bad)
			set_bad(f, "%s", pf[i].reason ? pf[i].reason : "unreadable");
		f->options = pf[i].columns;
		pf[i].columns = NULL;
		f->codec = pf[i].codec;
		pf[i].codec = NULL;
	}
out:
	for (size_t i = 0; i < n; i++) {
		free((char *)pf[i].path);
		free(pf[i].reason);
		free(pf[i].columns);
		free(pf[i].codec);
	}
	free(pf);
	free(map);
	return rc;
}

/* ---- writing ---------------------------------------------------------------------- */

/* Column rows in describe order: each top-level column, then its struct fields. */
struct colrow {
	char *path;
	char *type;
	int depth;
	bool partition;
};

struct colrows {
	struct colrow *v;
	size_t n;
};

static void colrows_add(struct colrows *c, const char *path, const struct ctype *t, int depth)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n].path = xstrdup(path);
	c->v[c->n].type = ctype_str(t, true);
	c->v[c->n].depth = depth;
	c->v[c->n].partition = false;
	c->n++;
	if (t->kind == CT_STRUCT)
		for (size_t i = 0; i < t->n; i++) {
			char *sub = xasprintf("%s.%s", path, t->fields[i]);
			colrows_add(c, sub, t->kids[i], depth + 1);
			free(sub);
		}
}

static void colrows_release(struct colrows *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].type);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

static const struct sample_col *sample_find(const struct sample *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return &s->v[i];
	return NULL;
}

static int write_columns(struct crawl *cr, int64_t tid, int version, const struct schema *s,
			 const struct pkey *keys, size_t nkeys, const struct sample *smp)
{
	struct colrows cols = { 0 };
	for (size_t i = 0; i < s->n; i++)
		colrows_add(&cols, s->names[i], s->types[i], 0);
	sqlite3_stmt *st = crawl_prep(cr,
		"INSERT INTO cat_columns(table_id, path, position, depth, type, is_partition, "
		"added_version) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(table_id, path) DO UPDATE "
		"SET position = excluded.position, depth = excluded.depth, type = excluded.type, "
		"is_partition = excluded.is_partition");
	sqlite3_stmt *tag = crawl_prep(cr,
		"INSERT OR IGNORE INTO cat_tags(table_id, path, tag, source, state, detail, "
		"evidence, updated_ms) VALUES(?, ?, 'pii', 'crawler', 1, ?, ?, ?)");
	int rc = st && tag ? 0 : TN_EIO;
	size_t total = cols.n + nkeys;
	for (size_t i = 0; rc == 0 && i < total; i++) {
		bool part = i >= cols.n;
		const char *path = part ? keys[i - cols.n].name : cols.v[i].path;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
		sqlite3_bind_int(st, 4, part ? 0 : cols.v[i].depth);
		sqlite3_bind_text(st, 5, part ? keys[i - cols.n].type : cols.v[i].type, -1,
				  SQLITE_STATIC);
		sqlite3_bind_int(st, 6, part);
		sqlite3_bind_int(st, 7, version);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = crawl_sql_err(cr, "write a column");
			break;
		}
		if (part)
			continue;
		const struct sample_col *sc = sample_find(smp, path);
		struct pii_verdict v;
		pii_classify(path, sc ? (const char *const *)sc->vals : NULL, sc ? sc->n : 0, &v);
		if (v.kind == PII_NONE)
			continue;
		char evidence[96];
		if (v.by_name)
			snprintf(evidence, sizeof evidence, "column name");
		else
			snprintf(evidence, sizeof evidence, "%u%% of %zu sampled values", v.share,
				 sc ? sc->n : 0);
		sqlite3_reset(tag);
		sqlite3_bind_int64(tag, 1, tid);
		sqlite3_bind_text(tag, 2, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(tag, 3, pii_kind_name(v.kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(tag, 4, evidence, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(tag, 5, cr->now_ms);
		if (sqlite3_step(tag) != SQLITE_DONE)
			rc = crawl_sql_err(cr, "write a tag");
	}
	sqlite3_finalize(st);
	sqlite3_finalize(tag);
	colrows_release(&cols);
	return rc;
}

static char *pvals_json(const struct cfile *f)
{
	json_t *a = json_array();
	for (size_t i = 0; i < f->np; i++)
		json_array_append_new(a, f->pvals[i] ? json_string(f->pvals[i]) : json_null());
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static char *pspec(const struct cfile *f)
{
	struct buf b = BUF_INIT(0);
	for (size_t i = 0; i < f->np; i++)
		buf_printf(&b, "%s%s=%s", i ? "/" : "", f->pkeys[i],
			   f->pvals[i] ? f->pvals[i] : "NULL");
	return buf_detach(&b, NULL);
}

/* Writes file rows (new and changed) and deletes removed ones. */
static int write_files(struct crawl *cr, const struct unit *u, int64_t tid,
		       const struct memory *removed)
{
	sqlite3_stmt *ins = crawl_prep(cr,
		"INSERT OR REPLACE INTO cat_files(path, db, unit, table_name, table_id, "
		"partition_id, size, mtime_ns, etag, format, compression, rows, status, reason, "
		"options, crawled_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_stmt *pins = crawl_prep(cr, "INSERT OR IGNORE INTO cat_partitions(table_id, vals, spec) "
				      "VALUES(?, ?, ?)");
	sqlite3_stmt *psel = crawl_prep(cr, "SELECT id FROM cat_partitions WHERE table_id = ? AND vals = ?");
	sqlite3_stmt *del = crawl_prep(cr, "DELETE FROM cat_files WHERE path = ?");
	int rc = ins && pins && psel && del ? 0 : TN_EIO;
	char *last_vals = NULL;
	int64_t last_pid = 0;
	for (size_t i = 0; rc == 0 && i < u->n; i++) {
		const struct cfile *f = &u->f[i];
		if (f->state == F_SAME)
			continue;
		int64_t pid = 0;
		if (!f->bad && tid) {
			char *vals = pvals_json(f);
			if (last_vals && !strcmp(vals, last_vals)) {
				pid = last_pid;
				free(vals);
			} else {
				char *spec = pspec(f);
				sqlite3_reset(pins);
				sqlite3_bind_int64(pins, 1, tid);
				sqlite3_bind_text(pins, 2, vals, -1, SQLITE_STATIC);
				sqlite3_bind_text(pins, 3, spec, -1, SQLITE_STATIC);
				if (sqlite3_step(pins) != SQLITE_DONE)
					rc = crawl_sql_err(cr, "write a partition");
				sqlite3_reset(psel);
				sqlite3_bind_int64(psel, 1, tid);
				sqlite3_bind_text(psel, 2, vals, -1, SQLITE_STATIC);
				if (rc == 0 && sqlite3_step(psel) == SQLITE_ROW)
					pid = sqlite3_column_int64(psel, 0);
				free(spec);
				free(last_vals);
				last_vals = vals;
				last_pid = pid;
			}
		}
		char etag[64];
		snprintf(etag, sizeof etag, "%llx-%llx", (unsigned long long)f->mtime_ns,
			 (unsigned long long)f->size);
		const char *comp = f->codec && *f->codec ? f->codec : cat_comp_name(f->comp);
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, f->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, zone_db_name(u->zone), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, u->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, u->table, -1, SQLITE_STATIC);
		if (tid && !f->bad)
			sqlite3_bind_int64(ins, 5, tid);
		else
			sqlite3_bind_null(ins, 5);
		if (pid)
			sqlite3_bind_int64(ins, 6, pid);
		else
			sqlite3_bind_null(ins, 6);
		sqlite3_bind_int64(ins, 7, (sqlite3_int64)f->size);
		sqlite3_bind_int64(ins, 8, f->mtime_ns);
		sqlite3_bind_text(ins, 9, etag, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 10, cat_format_name(f->fmt), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 11, comp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 12, f->bad ? -1 : f->rows);
		sqlite3_bind_text(ins, 13, f->bad ? "bad" : "ok", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 14, f->bad && f->reason ? f->reason : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 15, f->options && !f->bad ? f->options : "{}", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(ins, 16, cr->now_ms);
		if (rc == 0 && sqlite3_step(ins) != SQLITE_DONE)
			rc = crawl_sql_err(cr, "write a file");
	}
	for (size_t i = 0; rc == 0 && i < removed->n; i++) {
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, removed->v[i].path, -1, SQLITE_STATIC);
		if (sqlite3_step(del) != SQLITE_DONE)
			rc = crawl_sql_err(cr, "forget a file");
	}
	free(last_vals);
	sqlite3_finalize(ins);
	sqlite3_finalize(pins);
	sqlite3_finalize(psel);
	sqlite3_finalize(del);
	return rc;
}

/* Recomputes partition and table statistics from the good files. */
static int write_stats(struct crawl *cr, int64_t tid, bool schema_changed)
{
	char sql[1536];
	snprintf(sql, sizeof sql,
		 "UPDATE cat_partitions SET (files, bytes, rows) = (SELECT count(*), "
		 "coalesce(sum(size), 0), CASE WHEN min(rows) < 0 THEN -1 ELSE coalesce(sum(rows), 0) "
		 "END FROM cat_files f WHERE f.partition_id = cat_partitions.id AND f.status = 'ok') "
		 "WHERE table_id = %lld;"
		 "DELETE FROM cat_partitions WHERE table_id = %lld AND files = 0;"
		 "UPDATE cat_tables SET (files, bytes, rows, compression) = (SELECT count(*), "
		 "coalesce(sum(size), 0), CASE WHEN min(rows) < 0 THEN -1 ELSE coalesce(sum(rows), 0) "
		 "END, CASE WHEN count(DISTINCT compression) = 0 THEN 'none' WHEN "
		 "count(DISTINCT compression) = 1 THEN min(compression) ELSE 'mixed' END "
		 "FROM cat_files WHERE table_id = %lld AND status = 'ok'), "
		 "partitions = (SELECT count(*) FROM cat_partitions WHERE table_id = %lld), "
		 "last_crawl_ms = %lld%s WHERE id = %lld;",
		 (long long)tid, (long long)tid, (long long)tid, (long long)tid,
		 (long long)cr->now_ms, schema_changed ? ", updated_ms = last_crawl_ms" : "",
		 (long long)tid);
	return meta_exec(cr->c->meta, sql, cr->err);
}

/* ---- one unit ---------------------------------------------------------------------- */

static void note_table(struct crawl *cr, const struct unit *u, bool is_new, int version,
		       unsigned added, unsigned widened, const unsigned counts[4])
{
	struct crawl_report *r = cr->rep;
	if (is_new)
		r->tables_new++;
	else
		r->tables_changed++;
	if (r->ntables >= CRAWL_MAX_NOTES)
		return;
	r->tables = xrealloc(r->tables, (r->ntables + 1) * sizeof *r->tables);
	struct crawl_table_note *n = &r->tables[r->ntables++];
	memset(n, 0, sizeof *n);
	n->db = xstrdup(zone_db_name(u->zone));
	n->name = xstrdup(u->table);
	n->is_new = is_new;
	n->schema_version = version;
	n->columns_added = added;
	n->columns_widened = widened;
	n->files_new = counts[0];
	n->files_changed = counts[1];
	n->files_removed = counts[2];
	n->files_bad = counts[3];
}

/*
 * The most frequent string of a list (ties: the first seen); NULL if
 * none.  Tables have one or two key layouts, so counting over the
 * distinct values is linear in practice.
 */
static const char *majority(char **v, size_t n)
{
	const char **dv = xmalloc((n ? n : 1) * sizeof *dv);
	size_t *cnt = xcalloc(n ? n : 1, sizeof *cnt), nd = 0, best = 0;
	for (size_t i = 0; i < n; i++) {
		size_t d = 0;
		while (d < nd && strcmp(dv[d], v[i]))
			d++;
		if (d == nd)
			dv[nd++] = v[i];
		cnt[d]++;
	}
	for (size_t d = 1; d < nd; d++)
		if (cnt[d] > cnt[best])
			best = d;
	const char *r = nd ? dv[best] : NULL;
	free(dv);
	free(cnt);
	return r;
}


static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct cfile *)a)->key, ((const struct cfile *)b)->key);
}

/* Everything crawl_unit learns about one unit. */
struct unit_ctx {
	struct crawl *cr;
	struct unit *u;
	struct memory mem, removed;
	struct trow t;
	enum cat_format fmt;
	struct pkey keys[MAX_PKEYS];
	size_t nkeys;
	struct schema bs;        /* what was read */
	struct schema ns;        /* the table's schema after this crawl */
	struct sample smp;
	struct buf changes;      /* "; "-separated schema changes */
	unsigned counts[4];      /* files new, changed, removed, bad */
	unsigned added, widened;
	bool any_ok;             /* a new or changed file is good */
	char *relocate;          /* the table moves here (its old location is gone) */
};

static void ctx_release(struct unit_ctx *x)
{
	pkeys_release(x->keys, x->nkeys);
	memory_release(&x->mem);
	memory_release(&x->removed);
	trow_release(&x->t);
	schema_release(&x->bs);
	schema_release(&x->ns);
	sample_release(&x->smp);
	buf_release(&x->changes);
	free(x->relocate);
}

static const char *zone_dir(const struct unit_ctx *x)
{
	return store_zone_dir(x->cr->c->store, x->u->zone);
}

/* Sorts and parses the walk; reads the memory and the table row. */
static int unit_load(struct unit_ctx *x)
{
	struct unit *u = x->u;
	struct crawl *cr = x->cr;
	size_t zl = strlen(zone_dir(x));
	if (u->n)
		qsort(u->f, u->n, sizeof *u->f, cmp_file);
	for (size_t i = 0; i < u->n && !u->loose; i++) /* key = <zone dir>/<unit>/<rel> */
		parse_partitions(&u->f[i], u->f[i].key + zl + 1 + strlen(u->name) + 1);
	meta_lock(cr->c->meta);
	int rc = memory_load(cr, u, &x->mem);
	if (rc == 0)
		rc = trow_load(cr, u->zone, u->table, &x->t);
	meta_unlock(cr->c->meta);
	if (rc)
		return rc;
	/*
	 * A table of this name at another location (a folder and a loose
	 * file): the first keeps it while its location exists; when that is
	 * gone, this unit takes the table over (its old files are forgotten
	 * when the vanished unit is crawled).
	 */
	if (x->t.exists && u->n) {
		char *want = u->loose ? xstrdup(u->f[0].key) : xasprintf("%s/%s/", zone_dir(x), u->name);
		if (strcmp(x->t.location, want) && !u->conflict) {
			char old[PATH_MAX];
			struct stat st;
			snprintf(old, sizeof old, "%s/%s", cr->root, x->t.location);
			if (lstat(old, &st) == 0)
				u->conflict = xasprintf("table name '%s' is taken by '%s'", u->table,
							x->t.location);
			else
				x->relocate = want, want = NULL;
		}
		free(want);
	}
	if (u->conflict)
		trow_release(&x->t);
	return 0;
}

/* Merge-joins the walk with the memory (both sorted by key). */
static void unit_diff(struct unit_ctx *x)
{
	struct unit *u = x->u;
	struct crawl_report *r = x->cr->rep;
	size_t i = 0, j = 0;
	while (i < u->n || j < x->mem.n) {
		int c = i == u->n ? 1 : j == x->mem.n ? -1 : strcmp(u->f[i].key, x->mem.v[j].path);
		if (c < 0) {
			u->f[i++].state = F_NEW;
			x->counts[0]++;
		} else if (c > 0) {
			struct memory *rm = &x->removed;
			rm->v = xrealloc(rm->v, (rm->n + 1) * sizeof *rm->v);
			rm->v[rm->n++] = x->mem.v[j];
			x->mem.v[j++].path = NULL;
			x->counts[2]++;
		} else {
			struct cfile *f = &u->f[i++];
			const struct mfile *m = &x->mem.v[j++];
			if (!x->cr->full && f->size == m->size && f->mtime_ns == m->mtime_ns) {
				f->state = F_SAME;
				r->files_unchanged++;
			} else {
				f->state = F_CHANGED;
				x->counts[1]++;
			}
		}
	}
	r->files_seen += (unsigned)u->n;
	r->files_new += x->counts[0];
	r->files_changed += x->counts[1];
	r->files_removed += x->counts[2];
	if (u->n)
		r->tables_seen++;
}

static enum cat_format format_of(const char *name)
{
	return !strcmp(name, "json") ? FMT_JSON : !strcmp(name, "csv") ? FMT_CSV : FMT_PARQUET;
}

/* The table's format and keys (stored, else the majority); bad files that do not fit. */
static void unit_layout(struct unit_ctx *x)
{
	struct unit *u = x->u;
	char **sigs = xcalloc(u->n ? u->n : 1, sizeof *sigs);
	size_t nsig = 0, fcount[3] = { 0 };
	if (x->t.exists) {
		x->fmt = format_of(x->t.format);
		for (size_t k = 0; k < x->t.nkeys; k++) {
			x->keys[k].name = xstrdup(x->t.keys[k].name);
			x->keys[k].type = xstrdup(x->t.keys[k].type);
			x->keys[k].date = x->t.keys[k].date;
		}
		x->nkeys = x->t.nkeys;
	}
	for (size_t k = 0; k < u->n; k++) {
		struct cfile *f = &u->f[k];
		if (f->state == F_SAME)
			continue;
		if (u->conflict) {
			set_bad(f, "%s", u->conflict);
			continue;
		}
		if (f->perr) {
			set_bad(f, "%s", f->perr);
			continue;
		}
		sigs[nsig++] = key_sig(f);
		fcount[f->fmt == FMT_JSON ? 0 : f->fmt == FMT_PARQUET ? 2 : 1]++;
	}
	if (!x->t.exists) {
		size_t best = 0;
		for (size_t k = 1; k < 3; k++)
			if (fcount[k] > fcount[best])
				best = k;
		x->fmt = best == 0 ? FMT_JSON : best == 1 ? FMT_CSV : FMT_PARQUET;
		const char *sig = majority(sigs, nsig);
		for (size_t k = 0; sig && k < u->n; k++) {
			struct cfile *f = &u->f[k];
			if (f->state == F_SAME || f->bad)
				continue;
			char *s = key_sig(f);
			bool same = !strcmp(s, sig);
			free(s);
			if (!same)
				continue;
			for (size_t p = 0; p < f->np; p++) {
				x->keys[p].name = xstrdup(f->pkeys[p]);
				x->keys[p].type = xstrdup(f->pdate[p] ? "INTEGER" : "BIGINT");
				x->keys[p].date = f->pdate[p];
			}
			x->nkeys = f->np;
			break;
		}
	}
	for (size_t k = 0; k < nsig; k++)
		free(sigs[k]);
	free(sigs);
	for (size_t k = 0; k < u->n; k++) {
		struct cfile *f = &u->f[k];
		if (f->state == F_SAME || f->bad)
			continue;
		if (f->fmt != x->fmt && !(x->fmt == FMT_CSV && f->fmt == FMT_TSV)) {
			set_bad(f, "format %s differs from the table's (%s)", cat_format_name(f->fmt),
				cat_format_name(x->fmt));
			continue;
		}
		bool keys_ok = f->np == x->nkeys;
		for (size_t p = 0; keys_ok && p < x->nkeys; p++)
			keys_ok = !strcmp(f->pkeys[p], x->keys[p].name);
		if (!keys_ok) {
			char *s = key_sig(f);
			struct buf want = BUF_INIT(0);
			for (size_t p = 0; p < x->nkeys; p++)
				buf_printf(&want, "%s%s", p ? "/" : "", x->keys[p].name);
			set_bad(f, "partition folders (%s) differ from the table's (%s)",
				*s ? s : "none", x->nkeys ? want.data : "none");
			free(s);
			buf_release(&want);
		}
	}
}

static void note_change(struct unit_ctx *x, const char *fmt, const char *arg)
{
	if (x->changes.len)
		buf_puts(&x->changes, "; ");
	buf_printf(&x->changes, fmt, arg);
}

/* Reads what is new or changed and works out the new schema and key types. */
static int unit_read(struct unit_ctx *x)
{
	struct unit *u = x->u;
	int rc = read_files(x->cr, u, x->fmt, &x->bs, &x->smp);
	if (rc)
		return rc;
	/* key=value columns stay BIGINT while every value is an integer */
	for (size_t p = 0; p < x->nkeys; p++) {
		if (x->keys[p].date || strcmp(x->keys[p].type, "BIGINT"))
			continue;
		for (size_t k = 0; k < u->n; k++) {
			struct cfile *f = &u->f[k];
			if (f->state == F_SAME || f->bad || is_integer(f->pvals[p]))
				continue;
			if (x->t.exists) {
				note_change(x, "widened partition %s BIGINT -> VARCHAR", x->keys[p].name);
				x->widened++;
			}
			free(x->keys[p].type);
			x->keys[p].type = xstrdup("VARCHAR");
			break;
		}
	}
	for (size_t k = 0; k < u->n; k++) {
		struct cfile *f = &u->f[k];
		if (f->state == F_SAME)
			continue;
		if (f->bad) {
			x->counts[3]++;
			note_bad(x->cr, f);
		} else {
			x->any_ok = true;
		}
	}
	/* the partition column wins over a data column of its name */
	struct schema *bs = &x->bs;
	for (size_t p = 0; p < x->nkeys; p++) {
		int k = schema_find(bs, x->keys[p].name);
		if (k < 0)
			continue;
		free(bs->names[k]);
		ctype_free(bs->types[k]);
		memmove(&bs->names[k], &bs->names[k + 1], (bs->n - (size_t)k - 1) * sizeof *bs->names);
		memmove(&bs->types[k], &bs->types[k + 1], (bs->n - (size_t)k - 1) * sizeof *bs->types);
		bs->n--;
	}
	schema_copy(&x->ns, &x->t.schema);
	schema_merge(&x->ns, bs, x->fmt == FMT_JSON, x->t.exists ? &x->changes : NULL, &x->added,
		     x->t.exists ? &x->widened : NULL);
	return 0;
}

/* A new table's reader options: a CSV table shows its first good file's dialect. */
static char *table_options(const struct unit_ctx *x)
{
	for (size_t k = 0; x->fmt == FMT_CSV && k < x->u->n; k++) {
		const struct cfile *f = &x->u->f[k];
		if (f->bad || !f->options)
			continue;
		json_t *o = json_loads(f->options, 0, NULL);
		char *dj = json_dumps(json_object_get(o, "dialect"), JSON_COMPACT);
		json_decref(o);
		if (dj)
			return dj;
		break;
	}
	return xstrdup("{}");
}

/* Inserts the table row (new) or updates its schema (changed); sets *tid. */
static int write_table(struct unit_ctx *x, bool create, int version, const char *schema_js,
		       const char *keys_js, int64_t *tid)
{
	struct crawl *cr = x->cr;
	struct unit *u = x->u;
	sqlite3_stmt *st;
	int rc = 0;
	if (create) {
		char *opts = table_options(x);
		char *loc = u->loose ? xstrdup(u->f[0].key) : xasprintf("%s/%s/", zone_dir(x), u->name);
		st = crawl_prep(cr, "INSERT INTO cat_tables(db, name, location, format, options, "
				    "partition_keys, schema, schema_version, created_ms, updated_ms, "
				    "last_crawl_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
		if (st) {
			sqlite3_bind_text(st, 1, zone_db_name(u->zone), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, u->table, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, loc, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, cat_format_name(x->fmt), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, opts, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, keys_js, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, schema_js, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 8, version);
			sqlite3_bind_int64(st, 9, cr->now_ms);
			sqlite3_bind_int64(st, 10, cr->now_ms);
			sqlite3_bind_int64(st, 11, cr->now_ms);
			if (sqlite3_step(st) == SQLITE_DONE)
				*tid = sqlite3_last_insert_rowid(meta_db(cr->c->meta));
			else
				rc = crawl_sql_err(cr, "create a table");
		}
		free(loc);
		free(opts);
		buf_reset(&x->changes);
		buf_printf(&x->changes, "created with %zu columns", x->ns.n);
		for (size_t p = 0; p < x->nkeys; p++)
			buf_printf(&x->changes, "%s%s", p ? ", " : ", partitioned by ", x->keys[p].name);
	} else {
		st = crawl_prep(cr, "UPDATE cat_tables SET schema = ?, schema_version = ?, "
				    "partition_keys = ? WHERE id = ?");
		if (st) {
			sqlite3_bind_text(st, 1, schema_js, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, version);
			sqlite3_bind_text(st, 3, keys_js, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, *tid);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = crawl_sql_err(cr, "update a table");
		}
	}
	if (!st)
		rc = TN_EIO;
	sqlite3_finalize(st);
	if (rc)
		return rc;
	st = crawl_prep(cr, "INSERT INTO cat_versions(table_id, version, created_ms, crawl_id, "
			    "changes, schema) VALUES(?,?,?,?,?,?)");
	if (!st)
		return TN_EIO;
	sqlite3_bind_int64(st, 1, *tid);
	sqlite3_bind_int(st, 2, version);
	sqlite3_bind_int64(st, 3, cr->now_ms);
	sqlite3_bind_int64(st, 4, cr->id);
	sqlite3_bind_text(st, 5, x->changes.data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, schema_js, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = crawl_sql_err(cr, "record a schema version");
	sqlite3_finalize(st);
	return rc;
}

/* Writes the unit in one transaction; *version gets the schema version after it. */
static int unit_write(struct unit_ctx *x, bool create, bool schema_changed, bool files_changed,
		      int *version)
{
	struct crawl *cr = x->cr;
	int64_t tid = x->t.exists ? x->t.id : 0;
	struct buf js = BUF_INIT(0);
	char *kjs = keys_to_json(x->keys, x->nkeys);
	*version = x->t.version;
	meta_lock(cr->c->meta);
	int rc = meta_exec(cr->c->meta, "BEGIN IMMEDIATE", cr->err);
	if (rc)
		goto out;
	if (schema_changed) {
		(*version)++;
		schema_to_json(&x->ns, &js);
		rc = write_table(x, create, *version, js.data, kjs, &tid);
	}
	if (rc == 0 && tid && x->relocate) {
		sqlite3_stmt *st = crawl_prep(cr, "UPDATE cat_tables SET location = ? WHERE id = ?");
		rc = st ? 0 : TN_EIO;
		if (st) {
			sqlite3_bind_text(st, 1, x->relocate, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, tid);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = crawl_sql_err(cr, "move a table");
		}
		sqlite3_finalize(st);
	}
	if (rc == 0 && tid && (schema_changed || x->smp.n))
		rc = write_columns(cr, tid, *version, &x->ns, x->keys, x->nkeys, &x->smp);
	if (rc == 0 && files_changed)
		rc = write_files(cr, x->u, tid, &x->removed);
	if (rc == 0 && tid)
		rc = write_stats(cr, tid, schema_changed);
	if (rc == 0 && tid && (schema_changed || x->smp.n))
		rc = cat_refresh_classification(cr->c, tid, cr->err);
	if (rc == 0)
		rc = meta_exec(cr->c->meta, "COMMIT", cr->err);
	if (rc)
		meta_exec(cr->c->meta, "ROLLBACK", NULL);
out:
	meta_unlock(cr->c->meta);
	free(kjs);
	buf_release(&js);
	return rc;
}

int crawl_unit(struct crawl *cr, struct unit *u)
{
	struct unit_ctx x = { .cr = cr, .u = u, .changes = BUF_INIT(0) };
	int version = 0;
	int rc = unit_load(&x);
	if (rc)
		goto out;
	unit_diff(&x);
	unit_layout(&x);
	if ((rc = unit_read(&x)))
		goto out;
	bool create = !x.t.exists && x.any_ok;
	bool schema_changed = create || x.changes.len > 0;
	bool files_changed = x.counts[0] || x.counts[1] || x.counts[2];
	if (!create && !schema_changed && !files_changed && x.smp.n == 0 && !x.relocate) {
		/* nothing to write: stamp the crawl time later, with the others */
		if (x.t.exists) {
			cr->touched = xrealloc(cr->touched, (cr->ntouched + 1) * sizeof *cr->touched);
			cr->touched[cr->ntouched++] = x.t.id;
		}
		goto out;
	}
	if ((rc = unit_write(&x, create, schema_changed, files_changed, &version)))
		goto out;
	cat_bump(cr->c);
	cr->rep->columns_added += x.added;
	cr->rep->columns_widened += x.widened;
	if (create || (x.t.exists && (schema_changed || files_changed)))
		note_table(cr, u, create, version, x.added, x.widened, x.counts);
out:
	ctx_release(&x);
	return rc;
}

int crawl_touch_flush(struct crawl *cr)
{
	int rc = 0;
	if (!cr->ntouched)
		return 0;
	meta_lock(cr->c->meta);
	sqlite3_stmt *st = crawl_prep(cr, "UPDATE cat_tables SET last_crawl_ms = ? WHERE id = ?");
	rc = st ? meta_exec(cr->c->meta, "BEGIN IMMEDIATE", cr->err) : TN_EIO;
	for (size_t i = 0; rc == 0 && i < cr->ntouched; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, cr->now_ms);
		sqlite3_bind_int64(st, 2, cr->touched[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = crawl_sql_err(cr, "stamp a table");
	}
	sqlite3_finalize(st);
	if (st && rc == 0)
		rc = meta_exec(cr->c->meta, "COMMIT", cr->err);
	else if (st)
		meta_exec(cr->c->meta, "ROLLBACK", NULL);
	meta_unlock(cr->c->meta);
	cr->ntouched = 0;
	return rc;
}

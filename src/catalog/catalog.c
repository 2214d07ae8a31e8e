/*
 * catalog.c - the read side of the catalog and the admin changes: list,
 * describe, files of a table, scans, bad files, tags, comments, drop,
 * and their JSON forms.
 *
 * Effective tags: a column's tag comes from its admin row if there is one
 * (set or cleared), else from its crawler row; a column with no pii
 * decision of its own is PII when one of its struct fields is (source
 * "nested").  The same function computes describe's tags and a table's
 * classification, so the two never disagree.
 *
 * Every function takes meta_lock for the statements it runs and never
 * calls out (callbacks, DuckDB) while holding it.
 */
#include "catalog/catalog_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "catalog/meta.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- lifecycle --------------------------------------------------------- */

int catalog_open(struct store *s, struct meta *m, struct catalog **out, char *err)
{
	if (!s || !m)
		return tn_fail(err, TN_EINVAL, "catalog: a store and a metastore are required");
	struct catalog *c = xcalloc(1, sizeof *c);
	c->store = s;
	c->meta = m;
	pthread_mutex_init(&c->crawl_mu, NULL);
	atomic_init(&c->generation, 1);
	*out = c;
	return 0;
}

void catalog_close(struct catalog *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->crawl_mu); /* a crawl in progress finishes first */
	pthread_mutex_unlock(&c->crawl_mu);
	pthread_mutex_destroy(&c->crawl_mu);
	free(c);
}

uint64_t catalog_generation(struct catalog *c)
{
	return atomic_load(&c->generation);
}

void cat_bump(struct catalog *c)
{
	atomic_fetch_add(&c->generation, 1);
}

int catalog_crawl(struct catalog *c, const struct crawl_opts *o, struct crawl_report *rep,
		  char *err)
{
	memset(rep, 0, sizeof *rep);
	if (o && (o->flags & CRAWL_NOWAIT)) {
		if (pthread_mutex_trylock(&c->crawl_mu) != 0)
			return tn_fail(err, TN_EAGAIN, "a crawl is already running; try again later");
	} else {
		pthread_mutex_lock(&c->crawl_mu);
	}
	int rc = crawler_run(c, o, rep, err);
	if (rc == 0 && !(o && (o->flags & CRAWL_NO_DICTIONARY)))
		rc = catalog_write_dictionary(c, &rep->dictionary_files, err);
	pthread_mutex_unlock(&c->crawl_mu);
	return rc;
}

void crawl_report_release(struct crawl_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntables; i++) {
		free(r->tables[i].db);
		free(r->tables[i].name);
	}
	for (size_t i = 0; i < r->nbad; i++) {
		free(r->bad[i].path);
		free(r->bad[i].reason);
	}
	free(r->tables);
	free(r->bad);
	memset(r, 0, sizeof *r);
}

/* ---- helpers ------------------------------------------------------------ */

const char *cat_db_canonical(const char *db)
{
	int z = db ? zone_by_name(db) : -1;
	return z < 0 ? NULL : zone_db_name((enum zone)z);
}

bool cat_tag_name_ok(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= '0' && tag[i] <= '9') ||
		      tag[i] == '_' || tag[i] == '-'))
			return false;
	return true;
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

static int db_err(struct catalog *c, char *err, const char *what)
{
	sqlite3 *db = meta_db(c->meta);
	return tn_fail(err, sqlite3_errcode(db) == SQLITE_FULL ? TN_ENOSPC : TN_EIO,
		       "catalog: %s: %s", what, sqlite3_errmsg(db));
}

static int unknown_db(const char *db, char *err)
{
	return tn_fail(err, TN_ENOTFOUND,
		       "database '%s' does not exist (databases are the zones: raw, transient, "
		       "master, drop, sandbox, log, stage, cleanse, core, mart, references; "
		       "aliases bronze, silver, gold)", db ? db : "");
}

int cat_table_id(struct catalog *c, const char *db, const char *name, int64_t *id,
		 char *name_out, size_t name_n, char *err)
{
	const char *cdb = cat_db_canonical(db);
	if (!cdb)
		return unknown_db(db, err);
	sqlite3_stmt *st = NULL;
	int rc = TN_ENOTFOUND;
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT id, name FROM cat_tables WHERE db = ?1 AND name = ?2 "
			       "UNION ALL SELECT id, name FROM cat_tables WHERE db = ?1 AND "
			       "name = ?2 COLLATE NOCASE AND name <> ?2 LIMIT 3",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "prepare");
	sqlite3_bind_text(st, 1, cdb, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int found = 0;
	char first[512] = "";
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 1);
		if (found == 0) {
			*id = sqlite3_column_int64(st, 0);
			snprintf(first, sizeof first, "%s", n);
		}
		found++;
		if (!strcmp(n, name)) { /* exact match comes first and wins */
			found = 1;
			break;
		}
	}
	sqlite3_finalize(st);
	if (found == 1) {
		if (name_out)
			snprintf(name_out, name_n, "%s", first);
		rc = 0;
	} else if (found > 1) {
		rc = tn_fail(err, TN_EINVAL, "table '%s.%s' is ambiguous: names differ only in case; "
					     "write the exact name", cdb, name);
	} else {
		rc = tn_fail(err, TN_ENOTFOUND, "table '%s.%s' does not exist (crawl first?)", cdb,
			     name);
	}
	return rc;
}

int catalog_split_name(const char *qualified, char *db, size_t dbn, char *table, size_t tablen,
		       char *err)
{
	const char *dot = qualified ? strchr(qualified, '.') : NULL;
	if (!dot || dot == qualified || !dot[1])
		return tn_fail(err, TN_EINVAL, "table name '%s': write it as DATABASE.TABLE",
			       qualified ? qualified : "");
	size_t n = (size_t)(dot - qualified);
	if (n >= dbn || strlen(dot + 1) >= tablen)
		return tn_fail(err, TN_EINVAL, "table name '%s': too long", qualified);
	memcpy(db, qualified, n);
	db[n] = 0;
	snprintf(table, tablen, "%s", dot + 1);
	return 0;
}

/* ---- columns and effective tags --------------------------------------------- */

static void tag_push(struct cat_column *col, const char *name, const char *detail,
		     const char *evidence, const char *source, bool cleared)
{
	col->tags = xrealloc(col->tags, (col->ntags + 1) * sizeof *col->tags);
	struct cat_tag *t = &col->tags[col->ntags++];
	t->name = xstrdup(name);
	t->detail = xstrdup(detail ? detail : "");
	t->evidence = xstrdup(evidence ? evidence : "");
	t->source = xstrdup(source);
	t->cleared = cleared;
	if (!strcmp(name, "pii") && !cleared)
		col->pii = true;
}

static struct cat_tag *tag_find(struct cat_column *col, const char *name)
{
	for (size_t i = 0; i < col->ntags; i++)
		if (!strcmp(col->tags[i].name, name))
			return &col->tags[i];
	return NULL;
}

static void column_release(struct cat_column *col)
{
	free(col->name);
	free(col->type);
	free(col->comment);
	for (size_t i = 0; i < col->ntags; i++) {
		free(col->tags[i].name);
		free(col->tags[i].detail);
		free(col->tags[i].evidence);
		free(col->tags[i].source);
	}
	free(col->tags);
}

/* Loads the columns of a table with their effective tags (caller holds meta_lock). */
static int load_columns(struct catalog *c, int64_t tid, struct cat_column **out, size_t *nout,
			char *err)
{
	sqlite3_stmt *st = NULL;
	struct cat_column *cols = NULL;
	size_t n = 0;
	*out = NULL;
	*nout = 0;
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT path, type, comment, depth, is_partition, added_version "
			       "FROM cat_columns WHERE table_id = ? ORDER BY is_partition, position",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, err, "prepare");
	sqlite3_bind_int64(st, 1, tid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cols = xrealloc(cols, (n + 1) * sizeof *cols);
		struct cat_column *col = &cols[n++];
		memset(col, 0, sizeof *col);
		col->name = col_text(st, 0);
		col->type = col_text(st, 1);
		col->comment = col_text(st, 2);
		col->depth = sqlite3_column_int(st, 3);
		col->partition = sqlite3_column_int(st, 4) != 0;
		col->added_version = sqlite3_column_int(st, 5);
	}
	sqlite3_finalize(st);
	/* Admin rows first: they decide; crawler rows fill tags the admin left alone. */
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT path, tag, source, state, detail, evidence FROM cat_tags "
			       "WHERE table_id = ? ORDER BY source = 'admin' DESC, path, tag",
			       -1, &st, NULL) != SQLITE_OK) {
		for (size_t i = 0; i < n; i++)
			column_release(&cols[i]);
		free(cols);
		return db_err(c, err, "prepare");
	}
	sqlite3_bind_int64(st, 1, tid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 0);
		const char *tag = (const char *)sqlite3_column_text(st, 1);
		const char *source = (const char *)sqlite3_column_text(st, 2);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(cols[i].name, path))
				continue;
			if (!tag_find(&cols[i], tag))
				tag_push(&cols[i], tag, (const char *)sqlite3_column_text(st, 4),
					 (const char *)sqlite3_column_text(st, 5), source,
					 sqlite3_column_int(st, 3) == 0);
			break;
		}
	}
	sqlite3_finalize(st);
	/*
	 * Nested: fields follow their struct (depth-first positions), so
	 * walking backwards sees every field before its parent.
	 */
	for (size_t i = n; i-- > 0;) {
		struct cat_column *col = &cols[i];
		if (col->partition || tag_find(col, "pii"))
			continue;
		size_t len = strlen(col->name);
		for (size_t j = i + 1; j < n && cols[j].depth > col->depth; j++) {
			if (cols[j].pii && !strncmp(cols[j].name, col->name, len) &&
			    cols[j].name[len] == '.') {
				tag_push(col, "pii", cols[j].name, "a field is PII", "nested", false);
				break;
			}
		}
	}
	*out = cols;
	*nout = n;
	return 0;
}

int cat_refresh_classification(struct catalog *c, int64_t table_id, char *err)
{
	struct cat_column *cols;
	size_t n;
	int rc = load_columns(c, table_id, &cols, &n, err);
	if (rc)
		return rc;
	bool pii = false;
	for (size_t i = 0; i < n; i++) {
		pii |= cols[i].pii && cols[i].depth == 0;
		column_release(&cols[i]);
	}
	free(cols);
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE cat_tables SET classification = '%s' WHERE id = %lld",
		 pii ? "pii" : "none", (long long)table_id);
	return meta_exec(c->meta, sql, err);
}

/* ---- tables --------------------------------------------------------------------- */

#define TABLE_COLS                                                                          \
	"t.id, t.db, t.name, t.location, t.format, t.compression, t.options, "                \
	"t.classification, t.comment, t.schema_version, t.files, t.bytes, t.rows, "           \
	"t.partitions, t.created_ms, t.updated_ms, t.last_crawl_ms, t.partition_keys, "       \
	"(SELECT count(*) FROM cat_files f WHERE f.db = t.db AND f.table_name = t.name AND "  \
	"f.status = 'bad')"

static int64_t table_row(sqlite3_stmt *st, struct cat_table *t, char **keys_json)
{
	memset(t, 0, sizeof *t);
	t->db = col_text(st, 1);
	t->name = col_text(st, 2);
	t->location = col_text(st, 3);
	t->format = col_text(st, 4);
	t->compression = col_text(st, 5);
	t->options = col_text(st, 6);
	t->classification = col_text(st, 7);
	t->comment = col_text(st, 8);
	t->schema_version = sqlite3_column_int(st, 9);
	t->files = sqlite3_column_int64(st, 10);
	t->bytes = sqlite3_column_int64(st, 11);
	t->rows = sqlite3_column_int64(st, 12);
	t->partitions = sqlite3_column_int64(st, 13);
	t->created_ms = sqlite3_column_int64(st, 14);
	t->updated_ms = sqlite3_column_int64(st, 15);
	t->last_crawl_ms = sqlite3_column_int64(st, 16);
	if (keys_json)
		*keys_json = col_text(st, 17);
	t->bad_files = sqlite3_column_int64(st, 18);
	return sqlite3_column_int64(st, 0);
}

void cat_table_release(struct cat_table *t)
{
	if (!t)
		return;
	free(t->db);
	free(t->name);
	free(t->location);
	free(t->format);
	free(t->compression);
	free(t->options);
	free(t->classification);
	free(t->comment);
	for (size_t i = 0; i < t->ncols; i++)
		column_release(&t->cols[i]);
	free(t->cols);
	for (size_t i = 0; i < t->npkeys; i++) {
		free(t->pkeys[i].name);
		free(t->pkeys[i].type);
	}
	free(t->pkeys);
	for (size_t i = 0; i < t->nversions; i++)
		free(t->versions[i].changes);
	free(t->versions);
	memset(t, 0, sizeof *t);
}

int catalog_tables(struct catalog *c, const char *db, struct cat_table_list *out, char *err)
{
	memset(out, 0, sizeof *out);
	const char *cdb = NULL;
	if (db && !(cdb = cat_db_canonical(db)))
		return unknown_db(db, err);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(c->meta);
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT " TABLE_COLS " FROM cat_tables t WHERE ?1 IS NULL OR t.db = ?1 "
			       "ORDER BY t.db, t.name",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		goto out;
	}
	if (cdb)
		sqlite3_bind_text(st, 1, cdb, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
		table_row(st, &out->v[out->n++], NULL);
	}
out:
	sqlite3_finalize(st);
	meta_unlock(c->meta);
	return rc;
}

void cat_table_list_release(struct cat_table_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		cat_table_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

int catalog_table_get(struct catalog *c, const char *db, const char *name, struct cat_table *out,
		      char *err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = NULL;
	int64_t id;
	char *keys = NULL;
	meta_lock(c->meta);
	int rc = cat_table_id(c, db, name, &id, NULL, 0, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(meta_db(c->meta), "SELECT " TABLE_COLS " FROM cat_tables t WHERE t.id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = tn_fail(err, TN_ENOTFOUND, "table '%s.%s' does not exist", db, name);
		goto out;
	}
	table_row(st, out, &keys);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = load_columns(c, id, &out->cols, &out->ncols, err)))
		goto out;
	json_t *a = json_loads(keys, 0, NULL);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		out->pkeys = xrealloc(out->pkeys, (out->npkeys + 1) * sizeof *out->pkeys);
		struct cat_partition_key *k = &out->pkeys[out->npkeys++];
		const char *kn = json_string_value(json_object_get(e, "name"));
		const char *kt = json_string_value(json_object_get(e, "type"));
		k->name = xstrdup(kn ? kn : "");
		k->type = xstrdup(kt ? kt : "VARCHAR");
		k->date = json_is_true(json_object_get(e, "date"));
	}
	json_decref(a);
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT version, created_ms, changes FROM cat_versions "
			       "WHERE table_id = ? ORDER BY version",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		out->versions = xrealloc(out->versions, (out->nversions + 1) * sizeof *out->versions);
		struct cat_version *v = &out->versions[out->nversions++];
		v->version = sqlite3_column_int(st, 0);
		v->created_ms = sqlite3_column_int64(st, 1);
		v->changes = col_text(st, 2);
	}
out:
	sqlite3_finalize(st);
	meta_unlock(c->meta);
	free(keys);
	if (rc)
		cat_table_release(out);
	return rc;
}

int catalog_databases(struct catalog *c, struct cat_database_list *out, char *err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(c->meta);
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT (SELECT count(*) FROM cat_tables WHERE db = ?1), "
			       "(SELECT last_crawl_ms FROM cat_databases WHERE name = ?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		goto out;
	}
	out->v = xcalloc(ZONE_COUNT, sizeof *out->v);
	for (int z = 0; z < ZONE_COUNT; z++) {
		struct cat_database *d = &out->v[out->n++];
		d->name = xstrdup(zone_db_name((enum zone)z));
		d->location = xstrdup(store_zone_dir(c->store, (enum zone)z));
		d->zone = z;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			d->tables = sqlite3_column_int64(st, 0);
			d->last_crawl_ms = sqlite3_column_int64(st, 1);
		}
	}
out:
	sqlite3_finalize(st);
	meta_unlock(c->meta);
	return rc;
}

void cat_database_list_release(struct cat_database_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].location);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ---- files ------------------------------------------------------------------------- */

struct part {
	int64_t id;
	char **vals;
	bool keep;
};

static void file_release(struct cat_file *f, size_t npk)
{
	free(f->path);
	free(f->options);
	for (size_t k = 0; f->pvals && k < npk; k++)
		free(f->pvals[k]);
	free(f->pvals);
}

void cat_file_list_release(struct cat_file_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		file_release(&l->v[i], l->npkeys);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct cat_file *)a)->path, ((const struct cat_file *)b)->path);
}

static int cmp_part(const void *a, const void *b)
{
	int64_t x = ((const struct part *)a)->id, y = ((const struct part *)b)->id;
	return x < y ? -1 : x > y;
}

int catalog_table_files(struct catalog *c, const struct cat_table *t, cat_partition_fn keep,
			void *arg, struct cat_file_list *out, char *err)
{
	struct part *parts = NULL;
	size_t np = 0, nkeep = 0;
	sqlite3_stmt *st = NULL;
	int64_t tid;
	memset(out, 0, sizeof *out);
	out->npkeys = t->npkeys;
	meta_lock(c->meta);
	int rc = cat_table_id(c, t->db, t->name, &tid, NULL, 0, err);
	if (rc == 0 && sqlite3_prepare_v2(meta_db(c->meta),
					  "SELECT id, vals FROM cat_partitions WHERE table_id = ?",
					  -1, &st, NULL) != SQLITE_OK)
		rc = db_err(c, err, "prepare");
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, tid);
		while (sqlite3_step(st) == SQLITE_ROW) {
			parts = xrealloc(parts, (np + 1) * sizeof *parts);
			struct part *p = &parts[np++];
			p->id = sqlite3_column_int64(st, 0);
			p->vals = xcalloc(t->npkeys ? t->npkeys : 1, sizeof *p->vals);
			json_t *a = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
			for (size_t k = 0; k < t->npkeys; k++) {
				const char *v = json_string_value(json_array_get(a, k));
				p->vals[k] = v ? xstrdup(v) : NULL;
			}
			json_decref(a);
			p->keep = true;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	meta_unlock(c->meta);
	if (rc)
		goto out;
	/* The filter runs without the lock: it is the caller's code. */
	for (size_t i = 0; i < np; i++) {
		if (keep)
			parts[i].keep = keep(arg, t, (const char *const *)parts[i].vals);
		nkeep += parts[i].keep;
	}
	if (np)
		qsort(parts, np, sizeof *parts, cmp_part);
	meta_lock(c->meta);
	const char *sql = nkeep == np
		? "SELECT path, size, rows, partition_id, options FROM cat_files "
		  "WHERE table_id = ?1 AND status = 'ok' AND ?2 IS NOT NULL"
		: "SELECT path, size, rows, partition_id, options FROM cat_files "
		  "WHERE partition_id = ?2 AND status = 'ok' AND table_id = ?1";
	if (sqlite3_prepare_v2(meta_db(c->meta), sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		meta_unlock(c->meta);
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		if (!parts[i].keep)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_int64(st, 2, parts[i].id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct part key = { .id = sqlite3_column_int64(st, 3) };
			struct part *p = bsearch(&key, parts, np, sizeof *parts, cmp_part);
			if (!p || !p->keep)
				continue;
			out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
			struct cat_file *f = &out->v[out->n++];
			f->path = col_text(st, 0);
			f->size = (uint64_t)sqlite3_column_int64(st, 1);
			f->rows = sqlite3_column_int64(st, 2);
			f->options = col_text(st, 4);
			f->pvals = xcalloc(t->npkeys ? t->npkeys : 1, sizeof *f->pvals);
			for (size_t k = 0; k < t->npkeys; k++)
				f->pvals[k] = p->vals[k] ? xstrdup(p->vals[k]) : NULL;
		}
		if (nkeep == np)
			break; /* one query returned every file */
	}
	meta_unlock(c->meta);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_path);
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < np; i++) {
		for (size_t k = 0; k < t->npkeys; k++)
			free(parts[i].vals[k]);
		free(parts[i].vals);
	}
	free(parts);
	if (rc)
		cat_file_list_release(out);
	return rc;
}

/* ---- scans ---------------------------------------------------------------------------- */

static const struct cat_column *data_col(const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].depth == 0 && !t->cols[i].partition && !strcmp(t->cols[i].name, name))
			return &t->cols[i];
	return NULL;
}

static void file_list_sql(struct buf *b, const char *root, const struct cat_file *const *f,
			  size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		struct buf p = BUF_INIT(0);
		buf_printf(&p, "%s/%s", root, f[i]->path);
		if (i)
			buf_putc(b, ',');
		sql_path(b, p.data);
		buf_release(&p);
	}
	buf_putc(b, ']');
}

/* The name of the file column a read adds when file_index is a data column. */
#define SCAN_FILENAME_COL "__tarn_filename"

/* Does t have a data column named file_index (hiding DuckDB's virtual column)? */
static bool file_index_hidden(const struct cat_table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!t->cols[i].depth && !t->cols[i].partition &&
		    !strcasecmp(t->cols[i].name, "file_index"))
			return true;
	return false;
}

/*
 * The file-index column of one read: the position in the caller's files[]
 * of each row's file, from DuckDB's file_index (the position in this read's
 * own list, idx[] mapping one to the other).  When a data column is named
 * file_index, DuckDB's is hidden: the read then adds its file name, looked
 * up in a MAP (slower, but only for such tables).
 */
static void file_index_col(struct buf *b, const struct cat_table *t, const char *root,
			   const struct cat_file *const *f, const size_t *idx, size_t m,
			   const char *file_col)
{
	if (file_index_hidden(t)) {
		buf_puts(b, "map_extract_value(MAP {");
		for (size_t i = 0; i < m; i++) {
			struct buf p = BUF_INIT(0);
			buf_printf(&p, "%s/%s", root, f[i]->path);
			buf_puts(b, i ? ", " : "");
			sql_str(b, p.data);
			buf_printf(b, ": %zu", idx[i]);
			buf_release(&p);
		}
		buf_puts(b, "}, \"" SCAN_FILENAME_COL "\")");
	} else {
		bool identity = true;
		for (size_t i = 0; i < m && identity; i++)
			identity = idx[i] == i;
		if (identity) {
			buf_puts(b, "CAST(file_index AS BIGINT)");
		} else {
			buf_putc(b, '[');
			for (size_t i = 0; i < m; i++)
				buf_printf(b, "%s%zu", i ? "," : "", idx[i]);
			buf_puts(b, "][CAST(file_index AS BIGINT) + 1]");
		}
	}
	buf_puts(b, " AS ");
	sql_ident(b, file_col);
}

/* The reader option that file_index_col needs, if any. */
static void file_index_option(struct buf *b, const struct cat_table *t, const char *file_col)
{
	if (file_col && file_index_hidden(t))
		buf_puts(b, ", filename='" SCAN_FILENAME_COL "'");
}

/* SELECT list of the table's data columns: present ones cast, absent ones NULL. */
static void select_list(struct buf *b, const struct cat_table *t, json_t *present, bool cast,
			const char *file_col, const char *root, const struct cat_file *const *f,
			const size_t *idx, size_t m)
{
	bool first = true;
	buf_puts(b, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *col = &t->cols[i];
		if (col->depth || col->partition)
			continue;
		bool here = !present;
		size_t k;
		json_t *e;
		json_array_foreach(present, k, e)
			here |= json_string_value(e) && !strcmp(json_string_value(e), col->name);
		if (!first)
			buf_puts(b, ", ");
		first = false;
		if (here && !cast) {
			sql_ident(b, col->name);
			continue;
		}
		buf_puts(b, "CAST(");
		if (here)
			sql_ident(b, col->name);
		else
			buf_puts(b, "NULL");
		buf_printf(b, " AS %s) AS ", col->type);
		sql_ident(b, col->name);
	}
	if (file_col) {
		buf_puts(b, first ? "" : ", ");
		file_index_col(b, t, root, f, idx, m, file_col);
	}
}

int catalog_scan_sql(const struct cat_table *t, const char *root, const struct cat_file *files,
		     size_t n, const char *file_col, struct buf *out, char *err)
{
	if (n == 0)
		return tn_fail(err, TN_EINVAL, "table '%s.%s': no files to scan", t->db, t->name);
	const struct cat_file **f = xmalloc(n * sizeof *f);
	size_t *idx = xmalloc(n * sizeof *idx);
	bool *done = xcalloc(n, sizeof *done);
	int rc = 0;
	if (!strcmp(t->format, "json")) {
		/* One read: explicit columns make absent fields NULL. */
		for (size_t i = 0; i < n; i++) {
			f[i] = &files[i];
			idx[i] = i;
		}
		select_list(out, t, NULL, false, file_col, root, f, idx, n);
		buf_puts(out, " FROM read_json(");
		file_list_sql(out, root, f, n);
		buf_puts(out, ", format='auto', hive_partitioning=false, columns={");
		bool first = true;
		for (size_t i = 0; i < t->ncols; i++) {
			if (t->cols[i].depth || t->cols[i].partition)
				continue;
			buf_puts(out, first ? "" : ", ");
			first = false;
			sql_str(out, t->cols[i].name);
			buf_putc(out, ':');
			sql_str(out, t->cols[i].type);
		}
		buf_putc(out, '}');
		file_index_option(out, t, file_col);
		buf_putc(out, ')');
		goto out;
	}
	/* CSV and Parquet: one read per group of files with the same options (columns, dialect). */
	bool csv = !strcmp(t->format, "csv");
	bool first_group = true;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (done[i])
			continue;
		size_t m = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && !strcmp(files[j].options, files[i].options)) {
				idx[m] = j;
				f[m++] = &files[j];
				done[j] = true;
			}
		json_t *o = json_loads(files[i].options, 0, NULL);
		json_t *present = json_object_get(o, "columns");
		if (!json_is_array(present)) {
			json_decref(o);
			rc = tn_fail(err, TN_ECORRUPT, "file '%s': no column list in the catalog",
				     files[i].path);
			break;
		}
		if (!first_group)
			buf_puts(out, " UNION ALL ");
		first_group = false;
		select_list(out, t, present, true, file_col, root, f, idx, m);
		if (csv) {
			struct csv_dialect d;
			char *dj = json_dumps(json_object_get(o, "dialect"), JSON_COMPACT);
			rc = dj && csv_dialect_from_json(dj, &d) == 0
				     ? 0
				     : tn_fail(err, TN_ECORRUPT, "file '%s': no CSV dialect in the catalog",
					       files[i].path);
			free(dj);
			if (rc == 0) {
				buf_puts(out, " FROM read_csv(");
				file_list_sql(out, root, f, m);
				csv_dialect_sql(&d, out);
				buf_puts(out, ", hive_partitioning=false, columns={");
				size_t k;
				json_t *e;
				json_array_foreach(present, k, e) {
					const char *name = json_string_value(e);
					const struct cat_column *col = name ? data_col(t, name) : NULL;
					buf_puts(out, k ? ", " : "");
					sql_str(out, name ? name : "");
					buf_putc(out, ':');
					sql_str(out, col ? col->type : "VARCHAR");
				}
				buf_putc(out, '}');
			}
		} else {
			buf_puts(out, " FROM read_parquet(");
			file_list_sql(out, root, f, m);
			buf_puts(out, ", union_by_name=true, hive_partitioning=false");
		}
		file_index_option(out, t, file_col);
		buf_putc(out, ')');
		json_decref(o);
	}
out:
	free(f);
	free(idx);
	free(done);
	return rc;
}

/* ---- bad files ------------------------------------------------------------------------ */

int catalog_bad_files(struct catalog *c, const char *db, struct cat_bad_list *out, char *err)
{
	memset(out, 0, sizeof *out);
	const char *cdb = NULL;
	if (db && !(cdb = cat_db_canonical(db)))
		return unknown_db(db, err);
	sqlite3_stmt *st = NULL;
	int rc = 0;
	meta_lock(c->meta);
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT path, db, table_name, reason, size, crawled_ms FROM cat_files "
			       "WHERE status = 'bad' AND (?1 IS NULL OR db = ?1) "
			       "ORDER BY crawled_ms DESC, path",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
	} else {
		if (cdb)
			sqlite3_bind_text(st, 1, cdb, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
			struct cat_bad_file *b = &out->v[out->n++];
			b->path = col_text(st, 0);
			b->db = col_text(st, 1);
			b->table = col_text(st, 2);
			b->reason = col_text(st, 3);
			b->size = (uint64_t)sqlite3_column_int64(st, 4);
			b->seen_ms = sqlite3_column_int64(st, 5);
		}
	}
	sqlite3_finalize(st);
	meta_unlock(c->meta);
	return rc;
}

void cat_bad_list_release(struct cat_bad_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].db);
		free(l->v[i].table);
		free(l->v[i].reason);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ---- admin changes ---------------------------------------------------------------------- */

static int column_exists(struct catalog *c, int64_t tid, const char *column, char *err,
			 const char *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "SELECT 1 FROM cat_columns WHERE table_id = ? AND path = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return db_err(c, err, "prepare");
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found ? 0
		     : tn_fail(err, TN_ENOTFOUND, "column '%s' of table '%s.%s' does not exist",
			       column, db, table);
}

int catalog_tag(struct catalog *c, const char *db, const char *table, const char *column,
		const char *tag, enum cat_tag_op op, const char *detail, char *err)
{
	if (!cat_tag_name_ok(tag))
		return tn_fail(err, TN_EINVAL, "tag '%s': use 1 to 32 of a-z, 0-9, '_' and '-'",
			       tag ? tag : "");
	if (!column || !*column)
		return tn_fail(err, TN_EINVAL, "a column is required to tag");
	int64_t tid;
	sqlite3_stmt *st = NULL;
	meta_lock(c->meta);
	int rc = cat_table_id(c, db, table, &tid, NULL, 0, err);
	if (rc == 0)
		rc = column_exists(c, tid, column, err, db, table);
	if (rc == 0)
		rc = meta_exec(c->meta, "BEGIN IMMEDIATE", err);
	if (rc)
		goto out;
	const char *sql = op == CAT_TAG_AUTO
		? "DELETE FROM cat_tags WHERE table_id = ?1 AND path = ?2 AND tag = ?3 "
		  "AND source = 'admin' AND ?4 IS NOT NULL AND ?5 IS NOT NULL AND ?6 IS NOT NULL"
		: "INSERT INTO cat_tags(table_id, path, tag, source, state, detail, updated_ms) "
		  "VALUES(?1, ?2, ?3, 'admin', ?4, ?5, ?6) ON CONFLICT(table_id, path, tag, source) "
		  "DO UPDATE SET state = excluded.state, detail = excluded.detail, "
		  "updated_ms = excluded.updated_ms";
	if (sqlite3_prepare_v2(meta_db(c->meta), sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
	} else {
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, op == CAT_TAG_SET);
		sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, time_now_ms());
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_err(c, err, "write a tag");
	}
	sqlite3_finalize(st);
	if (rc == 0)
		rc = cat_refresh_classification(c, tid, err);
	if (rc == 0)
		rc = meta_exec(c->meta, "COMMIT", err);
	if (rc)
		meta_exec(c->meta, "ROLLBACK", NULL);
	else
		cat_bump(c);
out:
	meta_unlock(c->meta);
	return rc;
}

int catalog_comment(struct catalog *c, const char *db, const char *table, const char *column,
		    const char *text, char *err)
{
	int64_t tid;
	sqlite3_stmt *st = NULL;
	meta_lock(c->meta);
	int rc = cat_table_id(c, db, table, &tid, NULL, 0, err);
	if (rc == 0 && column)
		rc = column_exists(c, tid, column, err, db, table);
	if (rc)
		goto out;
	const char *sql = column ? "UPDATE cat_columns SET comment = ?2 WHERE table_id = ?1 AND path = ?3"
				 : "UPDATE cat_tables SET comment = ?2 WHERE id = ?1 AND ?3 IS NULL";
	if (sqlite3_prepare_v2(meta_db(c->meta), sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_text(st, 2, text ? text : "", -1, SQLITE_STATIC);
	if (column)
		sqlite3_bind_text(st, 3, column, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_err(c, err, "write a comment");
	else
		cat_bump(c);
out:
	sqlite3_finalize(st);
	meta_unlock(c->meta);
	return rc;
}

int catalog_table_drop(struct catalog *c, const char *db, const char *table, char *err)
{
	int64_t tid;
	char name[512];
	meta_lock(c->meta);
	int rc = cat_table_id(c, db, table, &tid, name, sizeof name, err);
	if (rc == 0)
		rc = meta_exec(c->meta, "BEGIN IMMEDIATE", err);
	if (rc)
		goto out;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(meta_db(c->meta),
			       "DELETE FROM cat_files WHERE table_id = ?1 OR (db = ?2 AND "
			       "table_name = ?3)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, err, "prepare");
	} else {
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_text(st, 2, cat_db_canonical(db), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_err(c, err, "forget files");
	}
	sqlite3_finalize(st);
	if (rc == 0) {
		char sql[96];
		/* columns, tags, partitions, versions go by ON DELETE CASCADE */
		snprintf(sql, sizeof sql, "DELETE FROM cat_tables WHERE id = %lld", (long long)tid);
		rc = meta_exec(c->meta, sql, err);
	}
	if (rc == 0)
		rc = meta_exec(c->meta, "COMMIT", err);
	if (rc)
		meta_exec(c->meta, "ROLLBACK", NULL);
	else
		cat_bump(c);
out:
	meta_unlock(c->meta);
	return rc;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void jkey(struct buf *b, bool *first, const char *key)
{
	buf_puts(b, *first ? "\"" : ",\"");
	*first = false;
	buf_puts(b, key);
	buf_puts(b, "\":");
}

static void jstr(struct buf *b, bool *first, const char *key, const char *v)
{
	jkey(b, first, key);
	if (v)
		buf_json_str(b, v, strlen(v));
	else
		buf_puts(b, "null");
}

static void jint(struct buf *b, bool *first, const char *key, int64_t v)
{
	jkey(b, first, key);
	buf_printf(b, "%lld", (long long)v);
}

static void jbool(struct buf *b, bool *first, const char *key, bool v)
{
	jkey(b, first, key);
	buf_puts(b, v ? "true" : "false");
}

static void jtime(struct buf *b, bool *first, const char *key, int64_t ms)
{
	char iso[40];
	if (ms <= 0) {
		jstr(b, first, key, NULL);
		return;
	}
	time_format_iso_ms(ms, iso, sizeof iso);
	jstr(b, first, key, iso);
}

static void table_json(const struct cat_table *t, struct buf *b, bool full)
{
	bool f = true;
	buf_putc(b, '{');
	jstr(b, &f, "database", t->db);
	jstr(b, &f, "name", t->name);
	jstr(b, &f, "location", t->location);
	jstr(b, &f, "format", t->format);
	jstr(b, &f, "compression", t->compression);
	jstr(b, &f, "classification", t->classification);
	jstr(b, &f, "comment", t->comment);
	jint(b, &f, "schema_version", t->schema_version);
	jint(b, &f, "files", t->files);
	jint(b, &f, "bytes", t->bytes);
	jkey(b, &f, "rows");
	if (t->rows < 0)
		buf_puts(b, "null");
	else
		buf_printf(b, "%lld", (long long)t->rows);
	jint(b, &f, "partitions", t->partitions);
	jint(b, &f, "bad_files", t->bad_files);
	jtime(b, &f, "created", t->created_ms);
	jtime(b, &f, "updated", t->updated_ms);
	jtime(b, &f, "last_crawl", t->last_crawl_ms);
	if (!full) {
		buf_putc(b, '}');
		return;
	}
	jkey(b, &f, "options");
	buf_puts(b, t->options && *t->options ? t->options : "{}");
	jkey(b, &f, "partition_keys");
	buf_putc(b, '[');
	for (size_t i = 0; i < t->npkeys; i++) {
		bool g = true;
		buf_puts(b, i ? ",{" : "{");
		jstr(b, &g, "name", t->pkeys[i].name);
		jstr(b, &g, "type", t->pkeys[i].type);
		jstr(b, &g, "style", t->pkeys[i].date ? "date" : "hive");
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	jkey(b, &f, "columns");
	buf_putc(b, '[');
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *col = &t->cols[i];
		bool g = true;
		buf_puts(b, i ? ",{" : "{");
		jstr(b, &g, "name", col->name);
		jstr(b, &g, "type", col->type);
		jstr(b, &g, "comment", col->comment);
		jint(b, &g, "depth", col->depth);
		jbool(b, &g, "partition", col->partition);
		jint(b, &g, "added_version", col->added_version);
		jbool(b, &g, "pii", col->pii);
		jkey(b, &g, "tags");
		buf_putc(b, '[');
		for (size_t k = 0; k < col->ntags; k++) {
			bool h = true;
			buf_puts(b, k ? ",{" : "{");
			jstr(b, &h, "tag", col->tags[k].name);
			jstr(b, &h, "detail", col->tags[k].detail);
			jstr(b, &h, "evidence", col->tags[k].evidence);
			jstr(b, &h, "source", col->tags[k].source);
			jbool(b, &h, "cleared", col->tags[k].cleared);
			buf_putc(b, '}');
		}
		buf_puts(b, "]}");
	}
	buf_putc(b, ']');
	jkey(b, &f, "schema_history");
	buf_putc(b, '[');
	for (size_t i = 0; i < t->nversions; i++) {
		bool g = true;
		buf_puts(b, i ? ",{" : "{");
		jint(b, &g, "version", t->versions[i].version);
		jtime(b, &g, "at", t->versions[i].created_ms);
		jstr(b, &g, "changes", t->versions[i].changes);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

int catalog_table_json(const struct cat_table *t, struct buf *out)
{
	table_json(t, out, true);
	return 0;
}

int catalog_tables_json(const struct cat_table_list *l, struct buf *out)
{
	buf_puts(out, "{\"tables\":[");
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_putc(out, ',');
		table_json(&l->v[i], out, false);
	}
	return buf_puts(out, "]}");
}

int catalog_bad_files_json(const struct cat_bad_list *l, struct buf *out)
{
	buf_puts(out, "{\"errors\":[");
	for (size_t i = 0; i < l->n; i++) {
		bool f = true;
		buf_puts(out, i ? ",{" : "{");
		jstr(out, &f, "path", l->v[i].path);
		jstr(out, &f, "database", l->v[i].db);
		jstr(out, &f, "table", l->v[i].table);
		jstr(out, &f, "reason", l->v[i].reason);
		jint(out, &f, "size", (int64_t)l->v[i].size);
		jtime(out, &f, "seen", l->v[i].seen_ms);
		buf_putc(out, '}');
	}
	return buf_puts(out, "]}");
}

int crawl_report_json(const struct crawl_report *r, struct buf *out)
{
	bool f = true;
	buf_putc(out, '{');
	jint(out, &f, "id", r->id);
	jtime(out, &f, "started", r->started_ms);
	jint(out, &f, "duration_ms", r->duration_ms);
	jint(out, &f, "zones", r->zones);
	jint(out, &f, "tables_seen", r->tables_seen);
	jint(out, &f, "tables_new", r->tables_new);
	jint(out, &f, "tables_changed", r->tables_changed);
	jint(out, &f, "files_seen", r->files_seen);
	jint(out, &f, "files_new", r->files_new);
	jint(out, &f, "files_changed", r->files_changed);
	jint(out, &f, "files_unchanged", r->files_unchanged);
	jint(out, &f, "files_removed", r->files_removed);
	jint(out, &f, "files_read", r->files_read);
	jint(out, &f, "files_bad", r->files_bad);
	jint(out, &f, "files_skipped", r->files_skipped);
	jint(out, &f, "columns_added", r->columns_added);
	jint(out, &f, "columns_widened", r->columns_widened);
	jint(out, &f, "dictionary_files", r->dictionary_files);
	jkey(out, &f, "tables");
	buf_putc(out, '[');
	for (size_t i = 0; i < r->ntables; i++) {
		const struct crawl_table_note *n = &r->tables[i];
		bool g = true;
		buf_puts(out, i ? ",{" : "{");
		jstr(out, &g, "database", n->db);
		jstr(out, &g, "name", n->name);
		jbool(out, &g, "new", n->is_new);
		jint(out, &g, "schema_version", n->schema_version);
		jint(out, &g, "columns_added", n->columns_added);
		jint(out, &g, "columns_widened", n->columns_widened);
		jint(out, &g, "files_new", n->files_new);
		jint(out, &g, "files_changed", n->files_changed);
		jint(out, &g, "files_removed", n->files_removed);
		jint(out, &g, "files_bad", n->files_bad);
		buf_putc(out, '}');
	}
	buf_puts(out, "],\"bad_files\":[");
	for (size_t i = 0; i < r->nbad; i++) {
		bool g = true;
		buf_puts(out, i ? ",{" : "{");
		jstr(out, &g, "path", r->bad[i].path);
		jstr(out, &g, "reason", r->bad[i].reason);
		buf_putc(out, '}');
	}
	return buf_puts(out, "]}");
}
